#!/bin/bash
# Three hosts on one underlay switch, etcd (Debian's etcd-server) on the
# switch, one netd per host: a VXLAN overlay network created on one host
# is seen by all; containers on different hosts ping each other, talk TCP,
# resolve each other by name and alias (round-robin across hosts) and by
# address; concurrent starts never collide on an address; a stopped
# container leaves its peers' FDB, neighbour table and DNS; a killed
# host's endpoints vanish after the lease TTL and come back when it
# returns; egress is masqueraded by the local host; removal is refused
# while in use and then leaves nothing behind.
. "$ND_SRC/tests/integ/lib/netns.sh"

nd_underlay h1 h2 h3
nd_etcd sw e1 10.99.0.254 || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
declare -A PID
for i in 1 2 3; do
        nd_start_node "h$i" "$i" --node-ttl 3 || exit 1
        PID[h$i]=$ND_PID
        nd_rootfs "h$i"
done

ip_of() { nd_ctl "$1" inspect "$2" | jq -r '.[0].Endpoints[0].IPAddress'; }
mac_of() { nd_ctl "$1" inspect "$2" | jq -r '.[0].Endpoints[0].MacAddress'; }
fdb() { bridge -n "${ND_NSP}-$1" fdb show | grep ' dst ' || true; }

t_ok "create an overlay network on h1" nd_ctl h1 network create -d overlay --subnet 10.60.0.0/24 ov1
t_ok "h2 and h3 see it" nd_eventually 3 sh -c "NETD_SOCKET=$(nd_sock h2) $NETCTL network inspect ov1 >/dev/null &&
        NETD_SOCKET=$(nd_sock h3) $NETCTL network inspect ov1 >/dev/null"
t_eq "its scope is global" "$(nd_ctl h3 network ls | awk '$2 == "ov1" {print $3, $4}')" "overlay global"
VNI=$(nd_ctl h1 network inspect ov1 | jq -r '.[0].Options.vni // .Options.vni')
t_match "a VNI was allocated" "$VNI" '^[0-9]+$'
t_match "the VXLAN device on h2 has that VNI, learning off, ARP proxy" \
        "$(ip -n "${ND_NSP}-h2" -d link show | grep -A2 ' vx-' | tr '\n' ' ')" "vxlan id $VNI local 10.99.0.2 .*dstport 4789 nolearning proxy"
t_match "MTU = underlay 1500 - 50" "$(ip -n "${ND_NSP}-h3" link show | grep ' vx-')" "mtu 1450"
t_match "a duplicate name is refused on another host" "$(nd_ctl h3 network create -d overlay ov1 2>&1)" "already exists"
t_eq "every host lists three nodes" "$(nd_ctl h2 node ls | tail -n +2 | wc -l)" "3"

t_ok "run a on h1 (alias web)" nd_ctl h1 run -d --name a --network ov1 --network-alias web busybox httpd -f -p 80 -h /var/www
t_ok "run b on h2 (alias web)" nd_ctl h2 run -d --name b --network ov1 --network-alias web busybox httpd -f -p 80 -h /var/www
t_ok "run c on h3" nd_ctl h3 run -d --name c --network ov1 sleep 600
A=$(ip_of h1 a) B=$(ip_of h2 b) C=$(ip_of h3 c)
t_match "a container's MTU is the overlay's" "$(nd_in h3 c ip link show eth0)" "mtu 1450"
t_ok "c (h3) pings a (h1) by name" nd_eventually 3 nd_in h3 c ping -c 1 -W 1 a
t_ok "c (h3) pings b (h2) by name" nd_in h3 c ping -c 2 -W 2 b
t_ok "a (h1) pings c (h3) by address" nd_in h1 a ping -c 2 -W 2 "$C"
t_eq "TCP: c fetches a page from a" "$(nd_wget h3 c http://a/index.html)" "hello from netd"
t_eq "TCP: a fetches a page from b" "$(nd_wget h1 a http://b/index.html)" "hello from netd"
t_eq "c resolves a to its address" "$(nd_in h3 c nslookup a 127.0.0.11 | awk '/^Address: / {print $2}')" "$A"
t_eq "the alias answers both hosts' containers" \
        "$(nd_in h3 c nslookup web 127.0.0.11 | awk '/^Address: / {print $2}' | sort | tr '\n' ' ')" \
        "$(printf '%s\n' "$A" "$B" | sort | tr '\n' ' ')"
firsts=$(for i in 1 2 3 4; do nd_ctns h3 c dig +short @127.0.0.11 web | head -1; done | sort -u | wc -l)
t_eq "round-robin across hosts" "$firsts" "2"
t_eq "reverse lookup of a remote container" "$(nd_ctns h3 c dig +short @127.0.0.11 -x "$A")" "a.ov1."
t_eq "no peer entry for a host's own containers" "$(fdb h1 | grep -c "$(mac_of h1 a)")" "0"

# no address is handed out twice, even when every host starts at once
RUNS=()
for h in h1 h2 h3; do
        for i in 1 2 3 4 5 6; do
                nd_ctl "$h" run -d --name "$h-x$i" --network ov1 sleep 600 >"$ND_TMP/run-$h-$i" 2>&1 &
                RUNS+=("$!")
        done
done
wait "${RUNS[@]}"
all=$(for h in h1 h2 h3; do for c in $(nd_ctl "$h" ps -q); do ip_of "$h" "$c"; done; done)
t_eq "21 containers started on three hosts at once" "$(echo "$all" | grep -c .)" "21"
t_eq "no address used twice" "$(echo "$all" | sort | uniq -d)" ""
blocks=$(nd_ctl h1 network inspect ov1 | jq -r '.[0].Overlay.Blocks[] | "\(.Node) \(.Block)"' | sort)
t_eq "each host allocates from its own blocks (3 hosts, 3+ blocks)" "$(echo "$blocks" | awk '{print $1}' | sort -u | wc -l)" "3"
t_ok "h1 reaches a container started concurrently on h3" nd_in h1 a ping -c 1 -W 2 h3-x6

# a stopped container leaves its peers
BMAC=$(mac_of h2 b)
t_match "h1 has b in its FDB" "$(fdb h1)" "$BMAC dev vx-.* dst 10.99.0.2 self permanent"
t_ok "stop b" nd_ctl h2 stop -t 1 b
t_ok "b leaves h1's FDB" nd_eventually 2 sh -c "! bridge -n ${ND_NSP}-h1 fdb show | grep -q '$BMAC.* dst '"
t_ok "and its neighbour table" nd_eventually 2 sh -c "! ip -n ${ND_NSP}-h1 neigh show | grep -q '^$B '"
t_eq "the alias now answers a only" "$(nd_in h3 c nslookup web 127.0.0.11 | awk '/^Address: / {print $2}')" "$A"
t_err "b no longer resolves" nd_in h3 c nslookup b 127.0.0.11

# egress: the local host masquerades
nd_bg nd_on sw socat TCP-LISTEN:7777,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-sw ss -Htln | grep -q ':7777 '"
t_eq "egress from an overlay container leaves through its host" \
        "$(NETD_SOCKET=$(nd_sock h3) timeout 5 "$NETCTL" exec c nc 10.99.0.254 7777 </dev/null)" "10.99.0.3"

# an internal dual-stack overlay: IPv6 across hosts (the vxlan proxy
# answers neighbour solicitations), a running container connected to it
# later, and no way out
t_ok "an internal dual-stack overlay network" \
        nd_ctl h2 network create -d overlay --internal --ipv6 --subnet 10.63.0.0/24 --subnet fd63::/64 priv
t_ok "h1 sees it" nd_eventually 3 env NETD_SOCKET="$(nd_sock h1)" "$NETCTL" network inspect priv
t_ok "run p on h2" nd_ctl h2 run -d --name p --network priv sleep 600
t_ok "connect the running a (h1) to it" nd_ctl h1 network connect priv a
P6=$(nd_ctl h2 inspect p | jq -r '.[0].Endpoints[0].GlobalIPv6Address')
t_ok "a reaches p over IPv6 across hosts" nd_eventually 3 nd_in h1 a ping -c 1 -W 1 "$P6"
t_ok "and over IPv4 by name" nd_in h1 a ping -c 1 -W 2 p.priv
t_eq "p's AAAA resolves from a" "$(nd_ctns h1 a dig +short @127.0.0.11 AAAA p)" "$P6"
t_err "no egress from the internal overlay" env NETD_SOCKET="$(nd_sock h2)" timeout 5 "$NETCTL" exec p nc 10.99.0.254 7777
t_ok "disconnect a again" nd_ctl h1 network disconnect priv a
t_ok "p no longer sees a's endpoint" nd_eventually 3 sh -c \
        "NETD_SOCKET=$(nd_sock h2) $NETCTL network inspect priv | jq -e '.[0].Overlay.Peers == 0'"

# a host that dies drops out after the lease TTL (3 s); back when it returns
t_match "h1 has h3's endpoints" "$(fdb h1)" "dst 10.99.0.3"
kill -9 "${PID[h3]}"
wait "${PID[h3]}" 2>/dev/null
t_ok "h3's endpoints vanish from h1 after the TTL" nd_eventually 10 sh -c "! bridge -n ${ND_NSP}-h1 fdb show | grep -q 'dst 10.99.0.3'"
t_err "and from its DNS" nd_in h1 a nslookup c 127.0.0.11
t_eq "h3 is no longer live" "$(nd_ctl h1 node ls | awk '$2 == "h3" && $4 == "live"' | wc -l)" "0"
t_eq "but still a member, down" "$(nd_ctl h1 node ls | awk '$2 == "h3" {print $4}')" "down"
nd_start_node h3 3 --node-ttl 3 >/dev/null || exit 1
t_ok "h3 comes back: its running containers are published again" nd_eventually 5 nd_in h1 a ping -c 1 -W 1 c
t_ok "and resolvable" nd_eventually 3 nd_in h1 a nslookup c 127.0.0.11

# removal: refused while in use, then nothing left anywhere
t_err "network rm is refused while another host has endpoints" nd_ctl h1 network rm ov1
for h in h1 h2 h3; do nd_ctl "$h" rm -f $(nd_ctl "$h" ps -aq) >/dev/null; done
t_ok "remove priv" nd_eventually 5 env NETD_SOCKET="$(nd_sock h1)" "$NETCTL" network rm priv
t_ok "after the containers are gone: rm on h2" nd_eventually 5 env NETD_SOCKET="$(nd_sock h2)" "$NETCTL" network rm ov1
t_ok "the network is gone on every host" nd_eventually 3 sh -c "for h in h1 h2 h3; do
        NETD_SOCKET=$ND_TMP/\$h/run/netd.sock $NETCTL network inspect ov1 >/dev/null 2>&1 && exit 1; done; exit 0"
t_ok "and so are the bridges and VXLAN devices" nd_eventually 3 sh -c "for h in h1 h2 h3; do
        ip -o -n ${ND_NSP}-\$h link show | grep -q -E '^[0-9]+: (vx|nd)-' && exit 1; done; exit 0"
t_eq "no keys of it are left in etcd" \
        "$(nd_on sw etcdctl --endpoints 10.99.0.254:2379 get --prefix /netd/v1/global/ --keys-only | grep -c -e networks/ -e blocks/ -e endpoints/ -e vnis/)" "0"
t_ok "netd stops cleanly (no leaks under ASan)" nd_stop "${PID[h1]}"
nd_done
