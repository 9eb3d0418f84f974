#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# netd --host-dns: the host resolves NAME.NETWORK (A, AAAA, PTR) of every
# container netd knows, at a loopback address of its own namespace, and
# forwards nothing: NXDOMAIN below a network, REFUSED for anything else
# (so a stub moves on to its next server).  On two hosts sharing etcd, a
# container of the other host resolves too.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dig >/dev/null && command -v dnsmasq >/dev/null || { echo "SKIP: dig or dnsmasq missing"; exit 77; }

# ---- bad flags: clear errors, no daemon ----
t_match "--host-dns without an address refused" "$("$NETD" --host-dns 53 2>&1)" "--host-dns: want IPV4\[:PORT\], got '53'"
t_match "--host-dns with a bad port refused" "$("$NETD" --host-dns 127.0.0.153:99999 2>&1)" "want IPV4\[:PORT\]"
t_match "--host-dns on IPv6 refused" "$("$NETD" --host-dns ::1 2>&1)" "want IPV4\[:PORT\]"

nd_host h
nd_host u                                   # an upstream that would answer example.test
nd_wire h u 10.96.0
nd_bg ip netns exec "${ND_NSP}-u" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
        --listen-address=10.96.0.2 --address=/example.test/10.9.9.9 --pid-file=
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-u ss -Hlun | grep -q '10.96.0.2:53 '"

mkdir -p "$ND_TMP/off"
t_match "--host-dns with --dns-server off refused" \
        "$(nsenter --net="/run/netns/${ND_NSP}-h" "$NETD" --state-dir "$ND_TMP/off/state" --run-dir "$ND_TMP/off/run" \
                --dns-server off --host-dns 127.0.0.153 2>&1)" "--host-dns needs the embedded DNS"

nd_start h --dns 10.96.0.2 --host-dns 127.0.0.153:53 || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "network create front (IPv4 + IPv6)" nd_ctl h network create --subnet 10.76.0.0/24 --ipv6 --subnet fd76::/64 front
t_ok "run web (alias www)" nd_ctl h run -d --name web --network front --network-alias www sleep 600
t_ok "run web2 (alias www)" nd_ctl h run -d --name web2 --network front --network-alias www sleep 600
WEB=$(nd_ctl h inspect web | jq -r '.[0].Endpoints[0].IPAddress')
WEB6=$(nd_ctl h inspect web | jq -r '.[0].Endpoints[0].GlobalIPv6Address')

q() { nd_on h dig +time=2 +tries=1 -p 53 @127.0.0.153 "$@"; }
t_ok "netd listens at 127.0.0.153:53 (UDP and TCP)" nd_on h sh -c \
        "ss -Hlun | grep -q '127.0.0.153:53 ' && ss -Hltn | grep -q '127.0.0.153:53 '"
t_eq "NAME.NETWORK: A" "$(q +short web.front)" "$WEB"
t_eq "NAME.NETWORK: A over TCP" "$(q +short +tcp web.front)" "$WEB"
t_eq "NAME.NETWORK: AAAA" "$(q +short AAAA web.front)" "$WEB6"
t_eq "an alias: both addresses" "$(q +short www.front | wc -l)" "2"
t_eq "PTR" "$(q +short -x "$WEB")" "web.front."
t_match "an unknown name below a network: NXDOMAIN" "$(q nope.front)" "status: NXDOMAIN"
t_match "a bare name: REFUSED" "$(q web)" "status: REFUSED"
t_match "a name the upstream knows: REFUSED, not forwarded" "$(q www.example.test)" "status: REFUSED"
t_match "an unknown reverse name: REFUSED" "$(q -x 10.9.9.9)" "status: REFUSED"
t_eq "the containers still forward to their upstream" \
        "$(nd_ctns h web dig +short +time=2 +tries=1 @127.0.0.11 www.example.test)" "10.9.9.9"

# networks made or removed later
t_ok "network create back" nd_ctl h network create --subnet 10.77.0.0/24 back
t_ok "run db on back" nd_ctl h run -d --name db --network back sleep 600
t_eq "a later network's names" "$(q +short db.back)" "$(nd_ctl h inspect db | jq -r '.[0].Endpoints[0].IPAddress')"
t_ok "rm db, network rm back" sh -c "NETD_SOCKET=$(nd_sock h) $NETCTL rm -f db >/dev/null && \
        NETD_SOCKET=$(nd_sock h) $NETCTL network rm back >/dev/null"
t_match "a removed network's names: REFUSED" "$(q db.back)" "status: REFUSED"

# a restart keeps serving
nd_stop "$ND_PID"
nd_start h --dns 10.96.0.2 --host-dns 127.0.0.153:53 || exit 1
t_eq "after a restart" "$(q +short web.front)" "$WEB"
t_ok "stop and remove" nd_ctl h rm -f web web2
nd_stop "$ND_PID"

# ---- two hosts on etcd: the other host's container resolves too ----
if ! command -v etcd >/dev/null; then
        echo "# etcd not installed: the cluster part skipped"
        nd_done
        exit $?
fi
nd_underlay h1 h2
nd_etcd h1 m1 10.99.0.1 || exit 1
ND_ETCD_URL=etcd://10.99.0.1:2379
nd_start_node h1 1 --host-dns 127.0.0.153 || exit 1
nd_start_node h2 2 || exit 1
nd_rootfs h1
nd_rootfs h2
t_ok "create an overlay network" nd_ctl h1 network create -d overlay --subnet 10.78.0.0/24 ov
t_ok "run far on h2" nd_ctl h2 run -d --name far --network ov sleep 600
FAR=$(nd_ctl h2 inspect far | jq -r '.[0].Endpoints[0].IPAddress')
t_ok "h1's host resolves h2's container" nd_eventually 10 sh -c \
        "ip netns exec ${ND_NSP}-h1 dig +short +time=1 +tries=1 @127.0.0.153 far.ov | grep -qx '$FAR'"
t_eq "and its PTR" "$(ip netns exec "${ND_NSP}-h1" dig +short +time=2 +tries=1 @127.0.0.153 -x "$FAR")" "far.ov."
nd_done
