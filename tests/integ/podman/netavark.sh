#!/bin/bash
# Podman (Debian's 4.3) on its netavark backend, with netd-netavark as the
# "netavark" of helper_binaries_dir: the netd network made from Podman's
# definition on first setup, two containers that reach and resolve each
# other, podman run -p reached from another namespace, a kill -9 of netd
# that the containers do not notice, the netd.network option, and nothing
# left in netd once Podman's last container goes.  Then the binary alone:
# teardown twice, teardown then setup at once (and a network's removal
# then its creation at once through netctl), the error form for bad
# input, update of a network's DNS servers, and a netd started on demand
# in a fresh namespace under --config that exits once idle.
. "$ND_SRC/tests/integ/lib/netns.sh"
command -v podman >/dev/null || { echo "SKIP: podman not installed"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_host x
nd_wire h x 10.97.0
nd_start h || exit 1
NDPID=$ND_PID
. "$(dirname "$0")/lib.sh"
pm_setup h
NV=$ND_BUILD/netd/netd-netavark
RUN=(run -d --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
sbx() { nd_api h GET /v1/sandboxes | cut -d' ' -f2-; }

pm_image
t_match "podman's backend is netd-netavark" "$(P info --format '{{.Host.NetworkBackend}}')" "netavark"
t_ok "podman network create pnv" P network create --subnet 10.89.7.0/24 pnv
t_eq "netd has no network before a container needs it" "$(nd_api h GET /v1/networks/pnv | cut -d' ' -f1)" "404"
t_ok "podman run a (httpd, -p 8092:80) on pnv" P "${RUN[@]}" --name a --network pnv -p 8092:80 \
        localhost/busybox:test httpd -f -p 80 -h /var/www
t_ok "podman run b on pnv" P "${RUN[@]}" --name b --network pnv localhost/busybox:test sleep 600
t_eq "netd made pnv from Podman's definition" "$(nd_api h GET /v1/networks/pnv | cut -d' ' -f2- |
        jq -r '[.IPAM.Config[0].Subnet, .Options["bridge.name"], (.Labels | has("netd.podman.network"))] | join(" ")')" \
        "10.89.7.0/24 podman1 true"
t_eq "netd wired both" "$(sbx | jq -r '[.[].Name] | sort | join(" ")')" "a b"
A=$(sbx | jq -r '.[] | select(.Name == "a") | .IPv4Address')
t_eq "a has the address Podman chose" "$(P inspect a --format '{{.NetworkSettings.Networks.pnv.IPAddress}}')" "$A"
t_match "b's resolv.conf points at netd's resolver" "$(P exec b cat /etc/resolv.conf)" "nameserver 127.0.0.11"
t_eq "b resolves a through netd" "$(P exec b nslookup a 127.0.0.11 | awk '/^Address: / {print $2}')" "$A"
t_eq "b reaches a by name" "$(P exec b wget -q -O- http://a/index.html)" "hello from netd"
t_ok "a reaches b by name" P exec a ping -c 1 -W 2 b
t_eq "podman's -p reaches a from another namespace" \
        "$(nd_on x curl -sf -m 3 http://10.97.0.1:8092/index.html)" "hello from netd"

# netd dies: the containers keep their wiring; names come back with netd.
# A bridge it had retired but not deleted yet (ndx...: down, of a network
# removed) goes when netd is back
ip -n "${ND_NSP}-h" link add ndx0123456789ab type bridge
kill -9 "$NDPID"
wait "$NDPID" 2>/dev/null
t_eq "after kill -9 of netd, b still reaches a" "$(P exec b timeout 5 wget -q -O- "http://$A/index.html")" "hello from netd"
t_eq "after kill -9 of netd, -p still reaches a" \
        "$(nd_on x curl -sf -m 3 http://10.97.0.1:8092/index.html)" "hello from netd"
nd_start h || exit 1
NDPID=$ND_PID
t_ok "after netd's restart, the retired bridge left behind goes" nd_eventually 5 \
        sh -c "! ip -n '${ND_NSP}-h' -o link show ndx0123456789ab"
t_ok "after netd's restart, b resolves a again" nd_eventually 5 \
        sh -c "nsenter --net=/run/netns/${ND_NSP}-h podman --root '$T/storage' --runroot '$T/run' --storage-driver vfs \
        exec b nslookup a 127.0.0.11 | grep -q '$A'"

# a Podman network naming an operator's netd network
t_ok "an operator's netd network" nd_ctl h network create --subnet 10.98.0.0/24 opnet
t_ok "podman network create ovl --label netd.network=opnet" P network create --label netd.network=opnet ovl
t_ok "podman run c on ovl" P "${RUN[@]}" --name c --network ovl localhost/busybox:test sleep 600
t_match "c got an address of opnet, chosen by netd" "$(sbx | jq -r '.[] | select(.Name == "c") | .IPv4Address')" \
        '^10\.98\.0\.[0-9]+$'
t_match "podman shows netd's address for c" "$(P inspect c --format '{{.NetworkSettings.Networks.ovl.IPAddress}}')" \
        '^10\.98\.0\.[0-9]+$'
t_ok "podman rm c" P rm -f -t 0 c
t_eq "opnet stays: the operator made it" "$(nd_api h GET /v1/networks/opnet | cut -d' ' -f1)" "200"

t_ok "podman rm a" P rm -f -t 0 a
t_eq "pnv stays while b uses it" "$(nd_api h GET /v1/networks/pnv | cut -d' ' -f1)" "200"
t_ok "podman rm b" P rm -f -t 0 b
t_eq "netd let go of every container" "$(sbx | jq length)" "0"
t_eq "the port is released" "$(nd_on h nft list table inet netd | grep -c 8092)" "0"
t_ok "podman network rm pnv" P network rm pnv
t_eq "netd removed pnv with Podman's last container" "$(nd_api h GET /v1/networks/pnv | cut -d' ' -f1)" "404"
t_eq "and its bridge" "$(ip -n "${ND_NSP}-h" -o link show podman1 2>/dev/null | wc -l)" "0"

# the binary alone
ip netns add "${ND_NSP}-c1"
ND_NS+=("${ND_NSP}-c1")
OPTS='{"container_id":"c0ffee","container_name":"solo","networks":{"n1":{"interface_name":"eth0"}},
 "network_info":{"n1":{"name":"n1","id":"n1id","driver":"bridge","network_interface":"pmnv0",
 "subnets":[{"subnet":"10.96.1.0/24","gateway":"10.96.1.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":false}}}'
t_match "setup prints netavark's status block" "$("$NV" setup "/run/netns/${ND_NSP}-c1" <<<"$OPTS")" \
        '^\{"n1":\{"interfaces":\{"eth0":\{"mac_address":"[0-9a-f:]{17}","subnets":\[\{"ipnet":"10\.96\.1\.[0-9]+/24","gateway":"10\.96\.1\.1"\}\]\}\},"dns_search_domains":\[\],"dns_server_ips":\[\]\}\}$'
t_ok "teardown" "$NV" teardown "/run/netns/${ND_NSP}-c1" <<<"$OPTS"
t_ok "setup with the container's DNS servers" "$NV" setup "/run/netns/${ND_NSP}-c1" \
        <<<"${OPTS/\"networks\"/\"dns_servers\":[\"10.97.0.2\"],\"networks\"}"
t_eq "netd's resolver in it forwards to them" "$(sbx | jq -r '.[0].DnsServers | join(" ")')" "10.97.0.2"
t_ok "teardown" "$NV" teardown "/run/netns/${ND_NSP}-c1" <<<"$OPTS"
t_match "netd refuses a DnsServers entry that is no address" "$(nd_api h POST /v1/sandboxes \
        '{"ContainerID":"c1","IfName":"eth0","Netns":"/run/netns/nd-'$$'-c1","Network":"opnet","DnsServers":["x"]}')" \
        "^400 .*DnsServers: 'x' is not an IP address"
t_ok "teardown again succeeds (idempotent)" "$NV" teardown "/run/netns/${ND_NSP}-c1" <<<"$OPTS"
t_eq "no sandbox, no network left" "$(sbx | jq length) $(nd_api h GET /v1/networks/n1 | cut -d' ' -f1)" "0 404"

# a teardown answers before the kernel deleted the veth and the bridge
# (the bridge is renamed at once, then deleted off netd's loop): the same
# container set up again at once, with the same namespace, interface,
# address and bridge name, gets all of them, each time
SOPTS=${OPTS/\"interface_name\":\"eth0\"/\"interface_name\":\"eth0\",\"static_ips\":[\"10.96.1.9\"]}
rerun() {
        local i
        "$NV" setup "/run/netns/${ND_NSP}-c1" <<<"$SOPTS" >/dev/null || return 1
        for i in 1 2 3; do
                "$NV" teardown "/run/netns/${ND_NSP}-c1" <<<"$SOPTS" >/dev/null &&
                        "$NV" setup "/run/netns/${ND_NSP}-c1" <<<"$SOPTS" | grep -q '"ipnet":"10.96.1.9/24"' || return 1
        done
}
t_ok "teardown then setup at once, 3 times: the same address each time" rerun
t_eq "one bridge pmnv0 with the gateway" "$(ip -n "${ND_NSP}-h" -o -4 addr show dev pmnv0 | awk '{print $4}')" \
        "10.96.1.1/24"
t_eq "and up" "$(ip -n "${ND_NSP}-h" -o link show pmnv0 | grep -c ',UP')" "1"
t_ok "the host reaches the container through it" nd_on h ping -c 1 -W 2 10.96.1.9
t_ok "teardown" "$NV" teardown "/run/netns/${ND_NSP}-c1" <<<"$SOPTS"
t_eq "the network goes with it" "$(nd_api h GET /v1/networks/n1 | cut -d' ' -f1)" "404"
t_ok "the retired bridges are deleted soon after" nd_eventually 10 \
        sh -c "! ip -n '${ND_NSP}-h' -o link show | grep -q ': ndx'"
# the same through netctl: a network removed while its last sandbox's veth
# is still going, then at once one with the same name, subnet and bridge
t_ok "netctl network create rc (bridge pmrc0)" nd_ctl h network create --subnet 10.96.3.0/24 -o bridge.name=pmrc0 rc
RCSBX='{"ContainerID":"rc1","IfName":"eth0","Netns":"/run/netns/nd-'$$'-c1","Network":"rc","IPv4Address":"10.96.3.5"}'
t_match "a sandbox on rc" "$(nd_api h POST /v1/sandboxes "$RCSBX")" '^201 '
rcagain() {
        nd_api h DELETE /v1/sandboxes/rc1/eth0 | grep -q '^204' && nd_ctl h network rm rc >/dev/null || return 1
        ! ip -n "${ND_NSP}-h" -o link show pmrc0 >/dev/null 2>&1 || { echo "pmrc0 still there after network rm"; return 1; }
        nd_ctl h network create --subnet 10.96.3.0/24 -o bridge.name=pmrc0 rc >/dev/null &&
                nd_api h POST /v1/sandboxes "$RCSBX" | grep -q '^201 '
}
t_ok "sandbox DEL, network rm (its bridge name free on the answer), create with the same name, subnet and \
bridge, the same sandbox: at once" rcagain
t_ok "the host reaches it on the new rc" nd_on h ping -c 1 -W 2 10.96.3.5
ip netns add "${ND_NSP}-c2"
ND_NS+=("${ND_NSP}-c2")
t_match "a second sandbox on rc" "$(nd_api h POST /v1/sandboxes \
        '{"ContainerID":"rc2","IfName":"eth0","Netns":"/run/netns/nd-'$$'-c2","Network":"rc"}')" '^201 '
t_eq "its DEL, then at once network rm: refused, the first one stays on rc" \
        "$(nd_api h DELETE /v1/sandboxes/rc2/eth0 | cut -d' ' -f1) $(nd_api h DELETE /v1/networks/rc | cut -d' ' -f1)" \
        "204 409"
t_match "DELETE ?label= refuses a network without the label" \
        "$(nd_api h DELETE '/v1/networks/rc?label=netd.podman.network')" "^409 .*does not carry label"
t_match "sandbox DEL" "$(nd_api h DELETE /v1/sandboxes/rc1/eth0)" '^204'
t_ok "netctl network rm rc" nd_ctl h network rm rc
OUT=$("$NV" setup "/run/netns/${ND_NSP}-c1" <<<'{"container_id": "x", "networks": ')
t_eq "bad JSON exits non-zero" "$?" "1"
t_match "bad JSON gives {\"error\": ...}" "$OUT" '^\{"error":"failed to load network options: malformed JSON'
t_match "an unknown driver is refused" "$("$NV" setup "/run/netns/${ND_NSP}-c1" <<<"${OPTS/bridge/macvlan}")" \
        '^\{"error":".*unknown network driver macvlan"\}$'
t_match "an unreachable netd is an error" "$(NETD_SOCKET=$T/none "$NV" setup "/run/netns/${ND_NSP}-c1" <<<"$OPTS")" \
        '^\{"error":"netd is not reachable: '

# netavark's bridge features that netd has: its default route metric
# (100) and the option metric, an IPv6-only network, IPAM driver none
t_ok "setup on n1 again" "$NV" setup "/run/netns/${ND_NSP}-c1" <<<"$OPTS"
t_eq "the default route has netavark's metric 100" \
        "$(ip -n "${ND_NSP}-c1" -j route show default | jq -r '.[0].metric')" "100"
t_ok "teardown" "$NV" teardown "/run/netns/${ND_NSP}-c1" <<<"$OPTS"
ip netns add "${ND_NSP}-c8"
ND_NS+=("${ND_NSP}-c8")
SIXOPTS='{"container_id":"six","container_name":"six","networks":{"n6":{"interface_name":"eth0","static_ips":["fd10:96:6::2"]}},
 "network_info":{"n6":{"name":"n6","id":"n6id","driver":"bridge","network_interface":"pmnv6","options":{"metric":"200"},
 "subnets":[{"subnet":"fd10:96:6::/64","gateway":"fd10:96:6::1"}],"ipv6_enabled":true,"internal":false,"dns_enabled":false}}}'
t_match "setup on an IPv6-only network" "$("$NV" setup "/run/netns/${ND_NSP}-c8" <<<"$SIXOPTS")" \
        '"subnets":\[\{"ipnet":"fd10:96:6::2/64","gateway":"fd10:96:6::1"\}\]'
t_eq "netd's network has no IPv4" "$(nd_api h GET /v1/networks/n6 | cut -d' ' -f2- |
        jq -r '[.EnableIPv4, (.IPAM.Config | length), .IPAM.Config[0].Subnet] | join(" ")')" "false 1 fd10:96:6::/64"
t_eq "nor has the container" "$(ip -n "${ND_NSP}-c8" -4 -o addr show eth0 | wc -l)" "0"
t_eq "its IPv6 default route has the option's metric" \
        "$(ip -n "${ND_NSP}-c8" -j -6 route show default | jq -r '.[0].metric')" "200"
t_ok "the host reaches it over IPv6" nd_on h ping -6 -c 1 -W 2 fd10:96:6::2
t_ok "teardown" "$NV" teardown "/run/netns/${ND_NSP}-c8" <<<"$SIXOPTS"
NONEOPTS='{"container_id":"bare","container_name":"bare","networks":{"nn":{"interface_name":"eth0"}},
 "network_info":{"nn":{"name":"nn","id":"nnid","driver":"bridge","network_interface":"pmnvn","subnets":[],
 "ipv6_enabled":false,"internal":false,"dns_enabled":false,"ipam_options":{"driver":"none"}}}}'
t_match "setup on a network with IPAM driver none" "$("$NV" setup "/run/netns/${ND_NSP}-c8" <<<"$NONEOPTS")" \
        '^\{"nn":\{"interfaces":\{"eth0":\{"mac_address":"[0-9a-f:]{17}"'
t_eq "netd's network has no subnet" "$(nd_api h GET /v1/networks/nn | cut -d' ' -f2- |
        jq -r '[.IPAM.Driver, (.IPAM.Config | length), .EnableIPv4] | join(" ")')" "none 0 false"
t_eq "the container's eth0 is up, with no address but its link-local one, and no route" \
        "$(ip -n "${ND_NSP}-c8" -o link show eth0 | grep -c 'state UP'; ip -n "${ND_NSP}-c8" -o addr show eth0 scope global | wc -l
           ip -n "${ND_NSP}-c8" route | wc -l)" "$(printf '1\n0\n0')"
t_ok "teardown" "$NV" teardown "/run/netns/${ND_NSP}-c8" <<<"$NONEOPTS"
t_eq "both networks gone with their last container" \
        "$(nd_api h GET /v1/networks/n6 | cut -d' ' -f1) $(nd_api h GET /v1/networks/nn | cut -d' ' -f1)" "404 404"

# update NETWORK --network-dns-servers: the sandboxes that took the
# network's servers switch, a container's own --dns stays
if command -v dnsmasq >/dev/null && command -v dig >/dev/null; then
        nd_bg ip netns exec "${ND_NSP}-x" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
                --listen-address=10.97.0.2 --address=/example.test/10.9.9.9 --pid-file=
        nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-x ss -Hlun | grep -q '10.97.0.2:53 '"
        ip netns add "${ND_NSP}-c3"
        ip netns add "${ND_NSP}-c4"
        ND_NS+=("${ND_NSP}-c3" "${ND_NSP}-c4")
        UOPTS='{"container_id":"d00d","container_name":"u3","networks":{"n3":{"interface_name":"eth0"}},
 "network_info":{"n3":{"name":"n3","id":"n3id","driver":"bridge","network_interface":"pmnv3",
 "subnets":[{"subnet":"10.96.3.0/24","gateway":"10.96.3.1"}],"ipv6_enabled":false,"internal":false,
 "dns_enabled":true,"network_dns_servers":["10.97.0.77"]}}}'
        t_ok "setup u3 on n3 (the network's DNS server: a silent one)" "$NV" setup "/run/netns/${ND_NSP}-c3" <<<"$UOPTS"
        t_ok "setup u4 on n3 with its own DNS server" "$NV" setup "/run/netns/${ND_NSP}-c4" \
                <<<"$(jq -c '.container_id = "d00e" | .container_name = "u4" | .dns_servers = ["10.97.0.78"]' <<<"$UOPTS")"
        dig3() { ip netns exec "${ND_NSP}-c3" dig +time=3 +tries=1 +short @127.0.0.11 example.test; }
        t_match "u3's resolver gets no answer from the silent server" \
                "$(ip netns exec "${ND_NSP}-c3" dig +time=3 +tries=1 @127.0.0.11 example.test)" "status: SERVFAIL"
        t_ok "update n3 --network-dns-servers 10.97.0.2,10.97.0.3" "$NV" update n3 --network-dns-servers 10.97.0.2,10.97.0.3
        t_eq "u3 forwards to the new servers" "$(dig3)" "10.9.9.9"
        t_eq "netd recorded them for u3; u4 keeps its own" \
                "$(sbx | jq -r '[.[] | select(.ContainerID | startswith("d00")) | .DnsServers | join(",")] | sort | join(" ")')" \
                "10.97.0.2,10.97.0.3 10.97.0.78"
        t_ok "update with repeated flags" "$NV" update n3 --network-dns-servers 10.97.0.2 --network-dns-servers 10.97.0.4
        t_eq "u3 has both" "$(sbx | jq -r '.[] | select(.ContainerID == "d00d") | .DnsServers | join(",")')" \
                "10.97.0.2,10.97.0.4"
        t_match "a bad server is refused" "$("$NV" update n3 --network-dns-servers 10.97.0.2,nope)" \
                "^\{\"error\":\"unable to modify network dns servers: DnsServers: 'nope' is not an IP address\"\}$"
        t_eq "update of a network netd does not have succeeds" "$("$NV" update nonet --network-dns-servers 10.97.0.2; echo $?)" "0"
        t_match "update without servers is a usage error" "$("$NV" update n3)" '^\{"error":"update: usage'
        t_match "PUT dns-servers on an unknown network: 404" "$(nd_api h PUT /v1/networks/nonet/dns-servers '{"DnsServers":[]}')" \
                "^404 "
        t_match "PUT dns-servers without DnsServers: 400" "$(nd_api h PUT /v1/networks/n3/dns-servers '{}')" \
                "^400 .*DnsServers .* is required"
        t_ok "netd stopped" nd_stop "$NDPID"
        nd_start h || exit 1
        NDPID=$ND_PID
        t_eq "after a restart u3 still forwards to them" "$(dig3)" "10.9.9.9"
        t_ok "teardown u3" "$NV" teardown "/run/netns/${ND_NSP}-c3" <<<"$UOPTS"
        t_ok "teardown u4" "$NV" teardown "/run/netns/${ND_NSP}-c4" \
                <<<"$(jq -c '.container_id = "d00e"' <<<"$UOPTS")"
else
        echo "SKIP: update's forwarding (dnsmasq or dig missing)"
fi
t_ok "netd stops cleanly" nd_stop "$NDPID"

# netd on demand: a fresh namespace with no netd in it, as netavark's own
# test suite runs the binary; --config DIR holds the netd started for it
if [ -e /run/netd/netd.sock ]; then
        echo "SKIP: on-demand netd (a netd socket exists at /run/netd/netd.sock)"
        nd_done
fi
unset NETD_SOCKET
nd_host q
ip netns add "${ND_NSP}-c5"
ip netns add "${ND_NSP}-c6"
ND_NS+=("${ND_NSP}-c5" "${ND_NSP}-c6")
CFG=$ND_TMP/nvconf
mkdir -p "$CFG"
# one netd per namespace: its files under DIR/netd/<the namespace's inode>
OD=$CFG/netd/$(stat -L -c %i "/run/netns/${ND_NSP}-q")
od_pid() { cat "$OD/run/netd.pid" 2>/dev/null; }
# the namespace's cookie (SO_NETNS_COOKIE), as netd-netavark reads it
od_cookie() { ip netns exec "${ND_NSP}-q" python3 -c 'import socket; print(int.from_bytes(socket.socket(socket.AF_UNIX).getsockopt(socket.SOL_SOCKET, 71, 8), "little"))'; }
od_gone() { local p=$1; [ ! -e "/proc/$p" ] || grep -q '^State:.*Z' "/proc/$p/status"; }
trap 'P rm -a -f -t 0 >/dev/null 2>&1; [ -n "$(od_pid)" ] && kill "$(od_pid)" 2>/dev/null; nd_cleanup' EXIT
QOPTS='{"container_id":"e1","container_name":"q1","networks":{"n5":{"interface_name":"eth0"}},
 "network_info":{"n5":{"name":"n5","id":"n5id","driver":"bridge","network_interface":"pmnv5",
 "subnets":[{"subnet":"10.96.5.0/24","gateway":"10.96.5.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":true}}}'
Q() { NETD_NETAVARK_IDLE_EXIT=1 ip netns exec "${ND_NSP}-q" "$NV" "$@"; }
t_match "setup with --config and no netd starts one and attaches" \
        "$(Q --config "$CFG" setup "/run/netns/${ND_NSP}-c5" <<<"$QOPTS")" '"ipnet":"10\.96\.5\.2/24"'
P1=$(od_pid)
t_ok "its socket is under --config" curl -sf --unix-socket "$OD/run/netd.sock" http://netd/v1/version
t_ok "its state and log are under --config" test -d "$OD/state" -a -s "$OD/netd.log"
t_eq "it runs in the caller's namespace" "$(ip -n "${ND_NSP}-q" -o link show pmnv5 | wc -l)" "1"
t_ok "it is detached: another session, not our child" test "$(ps -o sid= -p "$P1")" != "$(ps -o sid= -p $$)" -a \
        "$(ps -o ppid= -p "$P1" | tr -d ' ')" != "$$"
t_match "and holds no descriptor of the caller's" "$(ls -l /proc/"$P1"/fd | grep -c pipe)" "^0$"
t_match "q1 has its address" "$(ip -n "${ND_NSP}-c5" -o addr show eth0)" "inet 10\.96\.5\.2/24"
t_ok "a second setup with the same --config" Q --config "$CFG" setup "/run/netns/${ND_NSP}-c6" \
        <<<"$(jq -c '.container_id = "e2" | .container_name = "q2"' <<<"$QOPTS")"
t_eq "finds the same netd" "$(od_pid) $(curl -s --unix-socket "$OD/run/netd.sock" http://netd/v1/sandboxes | jq length)" \
        "$P1 2"
t_ok "teardown q1" Q --config "$CFG" teardown "/run/netns/${ND_NSP}-c5" <<<"$QOPTS"
sleep 1.5
t_ok "netd stays while q2 is attached" kill -0 "$P1"
t_ok "teardown q2" Q --config "$CFG" teardown "/run/netns/${ND_NSP}-c6" \
        <<<"$(jq -c '.container_id = "e2"' <<<"$QOPTS")"
t_ok "the idle netd exits on its own" nd_eventually 5 od_gone "$P1"
t_match "its log says why" "$(cat "$OD/netd.log")" 'msg="idle, exiting"'
t_eq "teardown again: success" "$(Q --config "$CFG" teardown "/run/netns/${ND_NSP}-c6" <<<"$QOPTS"; echo $?)" "0"
P3=$(od_pid)
t_ok "and the netd it started for it (its records) exits too" nd_eventually 5 od_gone "$P3"
t_eq "teardown with a --config that never had a netd: success, nothing started" \
        "$(Q --config "$ND_TMP/none" teardown "/run/netns/${ND_NSP}-c6" <<<"$QOPTS"; echo $?) $(ls "$ND_TMP/none" 2>/dev/null | wc -l)" "0 0"
t_match "NETD_SOCKET set: never a start" \
        "$(NETD_SOCKET=$ND_TMP/dead Q --config "$ND_TMP/cfg2" setup "/run/netns/${ND_NSP}-c5" <<<"$QOPTS")" \
        '^\{"error":"netd is not reachable: '
t_eq "and nothing under its --config" "$(ls "$ND_TMP/cfg2" 2>/dev/null | wc -l)" "0"
t_ok "setup again starts a new netd" Q --config "$CFG" setup "/run/netns/${ND_NSP}-c5" <<<"$QOPTS"
P2=$(od_pid)
t_match "it is a new one (a pid, not the old one)" "$P2 $P1" '^[0-9]+ [0-9]+$'
t_ok "... different" test "$P2" != "$P1"
rm -rf "$CFG"
t_ok "removing --config's directory ends it (as a test harness does)" nd_eventually 5 od_gone "$P2"
# the kernel reuses a namespace's inode number once it is gone: records
# left under that number by another namespace's netd are not this one's
stale() { mkdir -p "$OD/state" && echo 1 >"$OD/netns-cookie" && touch "$OD/state/stale-marker"; }
ip netns add "${ND_NSP}-c7"
ND_NS+=("${ND_NSP}-c7")
stale
t_eq "teardown over another namespace's leftovers: success, nothing started, they are gone" \
        "$(Q --config "$CFG" teardown "/run/netns/${ND_NSP}-c7" <<<"$QOPTS"; echo $?) $(ls "$OD" 2>/dev/null | wc -l)" "0 0"
stale
t_ok "setup over another namespace's leftovers starts a netd afresh" Q --config "$CFG" setup "/run/netns/${ND_NSP}-c7" <<<"$QOPTS"
t_eq "on an empty state, with this namespace's cookie" \
        "$(ls "$OD/state/stale-marker" 2>/dev/null | wc -l) $(cat "$OD/netns-cookie")" "0 $(od_cookie)"
P4=$(od_pid)
rm -rf "$CFG"
t_ok "and it ends with its directory" nd_eventually 5 od_gone "$P4"
t_match "netd refuses a bad --exit-when-idle" "$("$NETD" --exit-when-idle 0 2>&1; echo $?)" \
        "want 1..86400 seconds.*2$"
nd_done
