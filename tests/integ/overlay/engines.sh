#!/bin/bash
# Other engines on netd's overlay: two hosts on one underlay switch with
# etcd.  On h1 a CNI sandbox (netd-cni, as a runtime drives it) and a
# dockerd container (the plugin, on a Docker network put on the overlay
# with --ipam-opt netd.network) join overlay network ov; on h2 a netd
# container.  They reach each other across the tunnel; the CNI sandbox's
# name resolves on h2 and vanishes with DEL; the Docker network goes
# without taking the overlay with it.  Also a Docker network sharing a
# local bridge network with a netd container.
. "$ND_SRC/tests/integ/lib/netns.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }
command -v dockerd >/dev/null || { echo "SKIP: dockerd (docker.io) not installed"; exit 77; }
[ -x /usr/bin/docker ] || ND_DOCKER_CLIENT=$(command -v docker)
CNI=$ND_BUILD/netd/netd-cni

nd_underlay h1 h2
nd_etcd sw e1 10.99.0.254 || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
PSOCK=$ND_TMP/h1/run/netd-plugin.sock
nd_start_node h1 1 --node-ttl 3 --docker-plugin-socket "$PSOCK" --docker-host "$ND_TMP/dk-h1/docker.sock" || exit 1
PID1=$ND_PID
nd_start_node h2 2 --node-ttl 3 || exit 1
PID2=$ND_PID
nd_rootfs h2
nd_rootfs h1

t_ok "an overlay network" nd_ctl h1 network create -d overlay --subnet 10.62.0.0/24 ov
t_ok "h2 has it" nd_eventually 3 nd_ctl h2 network inspect ov
t_ok "a netd container on h2" nd_ctl h2 run -d --name peer --network ov busybox httpd -f -p 80 -h /var/www
PEER=$(nd_ctl h2 inspect peer | jq -r '.[0].Endpoints[0].IPAddress')

# ---- CNI on the overlay ----
ip netns add "${ND_NSP}-s1"
ND_NS+=("${ND_NSP}-s1")
CONF='{"cniVersion":"1.0.0","name":"ov","type":"netd","socket":"'"$(nd_sock h1)"'"}'
cni() {
        CNI_COMMAND=$1 CNI_CONTAINERID=ctr-ov-1 CNI_NETNS="/run/netns/${ND_NSP}-s1" CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
                CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=podx" "$CNI" <<<"$CONF"
}
t_ok "CNI ADD on the overlay (h1)" cni ADD
S=$(nd_api h1 GET /v1/sandboxes | cut -d' ' -f2- | jq -r '.[0].IPv4Address')
t_match "the sandbox got an address of h1's block" "$S" '^10\.62\.0\.[0-9]+$'
t_match "with the overlay's MTU" "$(ip -n "${ND_NSP}-s1" link show eth0)" "mtu 1450"
t_ok "the sandbox (h1) reaches the netd container (h2)" ip netns exec "${ND_NSP}-s1" busybox ping -c 2 -W 2 "$PEER"
t_eq "and resolves it through netd's DNS" "$(ip netns exec "${ND_NSP}-s1" dig +short @127.0.0.11 peer)" "$PEER"
t_ok "h2's container resolves the sandbox by name" \
        nd_eventually 3 sh -c "NETD_SOCKET=$(nd_sock h2) $NETCTL exec peer nslookup podx 127.0.0.11 | grep -q '$S'"
t_ok "and pings it by name" nd_in h2 peer ping -c 1 -W 2 podx
t_ok "CNI CHECK" cni CHECK
t_ok "CNI DEL" cni DEL
t_ok "the name is gone on h2" nd_eventually 3 sh -c \
        "! NETD_SOCKET=$(nd_sock h2) $NETCTL exec peer nslookup podx 127.0.0.11 >/dev/null 2>&1"
t_eq "and the address is free again on h1" \
        "$(nd_ctl h1 ipam ls ov 2>/dev/null | grep -c "$S ")" "0"

# ---- dockerd on the overlay ----
nd_dockerd h1 "$PSOCK" || exit 1
D() { nd_docker h1 "$@"; }
t_ok "a busybox image" nd_docker_image h1
t_match "Docker's own IPAM on the overlay is refused with the way to do it" \
        "$(D network create -d netd -o netd.network=ov bad 2>&1)" "--ipam-opt netd.network=ov"
t_match "the overlay's subnet must be named (dockerd would check any other pool against the host's routes)" \
        "$(D network create -d netd --ipam-driver netd --ipam-opt netd.network=ov dov 2>&1)" "--subnet 10.62.0.0/24"
t_eq "and nothing is left of the attempt" "$(nd_api h1 GET /v1/docker | cut -d' ' -f2- | jq '.Pools | length')" "0"
t_ok "a Docker network on the overlay" \
        D network create -d netd --ipam-driver netd --ipam-opt netd.network=ov --subnet 10.62.0.0/24 dov
t_eq "docker sees the overlay's subnet" "$(D network inspect dov -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}')" \
        "10.62.0.0/24"
t_eq "netd made no network of its own for it" "$(nd_ctl h1 network ls | grep -c docker-)" "0"
t_ok "docker run web on it" D run -d --name web --network dov bb:test httpd -f -p 80 -h /var/www
W=$(D inspect web -f '{{.NetworkSettings.Networks.dov.IPAddress}}')
t_match "from h1's address block" "$W" '^10\.62\.0\.[0-9]+$'
t_eq "h2's netd container fetches a page from the Docker container" \
        "$(nd_wget h2 peer "http://$W/index.html")" "hello from netd"
t_ok "the Docker container pings h2's container" D exec web ping -c 1 -W 2 "$PEER"
t_ok "h2's container resolves the Docker container by name (h1 asked dockerd, published it)" nd_eventually 5 sh -c \
        "NETD_SOCKET=$(nd_sock h2) $NETCTL exec peer nslookup web 127.0.0.11 | grep -q '$W'"
t_eq "and fetches its page by name" "$(nd_wget h2 peer http://web/index.html)" "hello from netd"
WMAC=$(D inspect web -f '{{.NetworkSettings.Networks.dov.MacAddress}}')
t_match "h2 has its MAC in the VXLAN FDB, behind h1" "$(bridge -n "${ND_NSP}-h2" fdb show | grep ' dst 10.99.0.1')" "$WMAC"
t_ok "docker rm -f web" D rm -f web
t_ok "h2 drops its VXLAN FDB entry" nd_eventually 3 sh -c "! bridge -n ${ND_NSP}-h2 fdb show | grep ' dst ' | grep -q '$WMAC'"
t_ok "and the name" nd_eventually 3 sh -c "! NETD_SOCKET=$(nd_sock h2) $NETCTL exec peer nslookup web 127.0.0.11 >/dev/null 2>&1"
t_ok "docker network rm dov" D network rm dov
t_ok "the overlay stays, on both hosts" sh -c "NETD_SOCKET=$(nd_sock h1) $NETCTL network inspect ov >/dev/null &&
        NETD_SOCKET=$(nd_sock h2) $NETCTL network inspect ov >/dev/null"
t_eq "no binding, pool or endpoint left" \
        "$(nd_api h1 GET /v1/docker | cut -d' ' -f2- | jq -c '[(.Networks|length), (.Pools|length), (.Endpoints|length)]')" \
        "[0,0,0]"

# ---- a local network shared by netd and Docker ----
t_ok "a netd bridge network" nd_ctl h1 network create --subnet 10.64.0.0/24 shared
t_ok "a netd container on it" nd_ctl h1 run -d --name local --network shared busybox httpd -f -p 80 -h /var/www
t_ok "a Docker network on it" D network create -d netd --ipam-driver netd --ipam-opt netd.network=shared \
        --subnet 10.64.0.0/24 -o netd.network=shared dshared
t_match "a second Docker network on it is refused" \
        "$(D network create -d netd --ipam-driver netd --ipam-opt netd.network=shared --subnet 10.64.0.0/24 dshared2 2>&1)" \
        "already carries"
t_ok "a Docker container on it" D run -d --name dl --network dshared bb:test sleep 600
t_eq "it fetches the netd container's page" \
        "$(D exec dl wget -q -O- "http://$(nd_ctl h1 inspect local | jq -r '.[0].Endpoints[0].IPAddress')/index.html")" \
        "hello from netd"
t_eq "netd's IPAM lists both" "$(nd_ctl h1 ipam ls shared | tail -n +2 | wc -l)" "2"
t_match "netd refuses to remove the network under Docker's container" "$(nd_ctl h1 network rm shared 2>&1)" "in use"
shared_gone() { D rm -f dl >/dev/null && D network rm dshared >/dev/null; }
t_ok "docker rm dl; docker network rm dshared" shared_gone
t_eq "the netd container's address is all that is left" "$(nd_ctl h1 ipam ls shared | tail -n +2 | wc -l)" "1"

nd_dockerd_stop h1
nd_ctl h1 rm -f local >/dev/null
nd_ctl h2 rm -f peer >/dev/null
t_ok "h1's netd stops cleanly" nd_stop "$PID1"
t_ok "h2's netd stops cleanly" nd_stop "$PID2"
nd_done
