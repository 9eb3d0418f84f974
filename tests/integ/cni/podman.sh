#!/bin/bash
# Podman (Debian's 4.3, CNI network backend) running its containers on a
# netd network through netd-cni: an image imported from a local busybox
# tarball, two containers that reach each other and resolve each other
# through netd's DNS, a container made a task of a service by CNI_ARGS,
# and nothing left in netd after podman removes them.
. "$ND_SRC/tests/integ/lib/netns.sh"
command -v podman >/dev/null || { echo "SKIP: podman not installed"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
NDPID=$ND_PID
T=$ND_TMP/pm
mkdir -p "$T/cni-conf" "$T/cni-bin" "$T/rootfs"
# CNI finds a plugin by its type: the binary is installed as "netd"
ln -s "$ND_BUILD/netd/netd-cni" "$T/cni-bin/netd"
cat >"$T/cni-conf/pnet.conflist" <<EOC
{"cniVersion": "1.0.0", "name": "pnet",
 "plugins": [{"type": "netd", "network": "pnet", "socket": "$(nd_sock h)",
              "capabilities": {"portMappings": true, "aliases": true}}]}
EOC
cat >"$T/containers.conf" <<EOC
[network]
network_backend = "cni"
cni_plugin_dirs = ["$T/cni-bin"]
network_config_dir = "$T/cni-conf"
[engine]
events_logger = "file"
cgroup_manager = "cgroupfs"
EOC
P() {
        CONTAINERS_CONF=$T/containers.conf nsenter --net="/run/netns/${ND_NSP}-h" \
                podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs "$@"
}
# podman's containers first (their conmon and processes), then the rest
trap 'P rm -a -f -t 0 >/dev/null 2>&1; nd_cleanup' EXIT
# this machine's hard limits are lower than podman's defaults
RUN=(run -d --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

t_ok "a netd network" nd_ctl h network create --subnet 10.81.0.0/24 pnet
nd_ctl h rootfs init "$T/rootfs" >/dev/null
nd_rootfs h
t_ok "a busybox image imported from a local tarball" sh -c "tar -C '$T/rootfs' -c . >'$T/busybox.tar' &&
        CONTAINERS_CONF=$T/containers.conf podman --root '$T/storage' --runroot '$T/run' --storage-driver vfs \
        import '$T/busybox.tar' localhost/busybox:test"
t_match "podman sees the network (driver netd)" "$(P network ls)" "pnet +netd"
t_ok "podman run a (httpd, -p 8091:80) on it" P "${RUN[@]}" --name a --network pnet -p 8091:80 localhost/busybox:test \
        httpd -f -p 80 -h /var/www
t_ok "podman run b on it" P "${RUN[@]}" --name b --network pnet localhost/busybox:test sleep 600
t_eq "netd wired both" "$(nd_api h GET /v1/sandboxes | cut -d' ' -f2- | jq -r '[.[].Name] | sort | join(" ")')" "a b"
A=$(nd_api h GET /v1/sandboxes | cut -d' ' -f2- | jq -r '.[] | select(.Name == "a") | .IPv4Address')
t_match "a got an address of the netd network" "$A" '^10\.81\.0\.[0-9]+$'
t_match "b's resolv.conf points at netd's DNS" "$(P exec b cat /etc/resolv.conf)" "nameserver 127.0.0.11"
t_eq "b resolves a through netd's DNS" "$(P exec b nslookup a 127.0.0.11 | awk '/^Address: / {print $2}')" "$A"
t_eq "b reaches a by name" "$(P exec b wget -q -O- http://a/index.html)" "hello from netd"
t_ok "a reaches b by name" P exec a ping -c 1 -W 2 b
t_ok "a netd container on the same network reaches podman's a" sh -c \
        "NETD_SOCKET=$(nd_sock h) $NETCTL run --network pnet --name probe sh -c 'wget -q -O- http://a/index.html' | grep -q hello"
t_eq "podman's -p reaches a through netd's nftables" "$(nd_on h curl -sf -m 3 http://127.0.0.1:8091/index.html)" \
        "hello from netd"
t_match "netd holds the port for pod 'a'" "$(nd_api h GET /v1/sandboxes | cut -d' ' -f2- |
        jq -c '.[] | select(.Name == "a") | .PortBindings')" '"HostPort":8091,"ContainerPort":80'
# a service's task from Podman: CNI_ARGS in podman's environment reaches
# the plugin (docs/cni.md)
t_ok "a service on pnet" nd_ctl h service create --name psvc --network pnet
t_ok "CNI_ARGS=NETD_SERVICE=psvc podman run c" env CNI_ARGS=NETD_SERVICE=psvc CONTAINERS_CONF="$T/containers.conf" \
        nsenter --net="/run/netns/${ND_NSP}-h" podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs \
        "${RUN[@]}" --name c --network pnet localhost/busybox:test httpd -f -p 80 -h /var/www
t_eq "c is a task of psvc" "$(nd_ctl h service inspect psvc | jq -r '[.[0].Tasks[].Name] | join(" ")')" "c"
t_eq "b reaches c through the service's VIP, by name" "$(P exec b wget -q -O- http://psvc/index.html)" "hello from netd"
t_match "podman run naming an unknown service fails with netd's message" \
        "$(env CNI_ARGS=NETD_SERVICE=nosuch CONTAINERS_CONF="$T/containers.conf" nsenter --net="/run/netns/${ND_NSP}-h" \
        podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs "${RUN[@]}" --name d --network pnet \
        localhost/busybox:test sleep 60 2>&1)" "service 'nosuch' not found"
P rm -f -t 0 d >/dev/null 2>&1
t_ok "podman rm c" P rm -f -t 0 c
t_eq "c is no task after podman rm" "$(nd_ctl h service inspect psvc | jq -r '.[0].TasksTotal')" "0"
t_ok "service rm psvc" nd_ctl h service rm psvc
t_ok "podman rm" P rm -f -t 0 a b
t_eq "the port is released" "$(nd_on h nft list table inet netd | grep -c 8091)" "0"
# Podman may run the DEL from conmon's cleanup process, after rm returns
sandboxes() { nd_api h GET /v1/sandboxes | cut -d' ' -f2- | jq length; }
t_ok "netd let go of both (CNI DEL)" nd_eventually 5 eval '[ "$(sandboxes)" = 0 ]'
nd_ctl h rm probe >/dev/null
t_ok "the network can be removed" nd_ctl h network rm pnet
t_ok "netd stops cleanly" nd_stop "$NDPID"
nd_done
