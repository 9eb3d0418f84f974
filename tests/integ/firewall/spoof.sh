#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The data path's guards (docs/firewall.md, docs/security.md), each attack
# replayed from inside a container and shown to fail, next to the
# legitimate path it must leave alone:
#  - a container with NET_ADMIN takes its neighbour's address (ip addr add,
#    gratuitous ARP, ARP replies, unsolicited NA, its MAC) to get the
#    neighbour's published port;
#  - it sends with forged sources to the host, another network and the
#    outside (IPv4 and IPv6);
#  - a container on an --internal network goes out through its own gateway
#    to another network's published port, the host's other addresses and
#    the outside; nothing else reaches it;
#  - the reverse-path filter for what enters a bridge through a port netd
#    did not wire;
#  - CNI sandboxes get the same guard; the guard survives a restart, is
#    repaired, and netd --cleanup removes it.
# "Reached" is counted by an observer table on the host (after netd's
# guards) and on the outside server.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v socat >/dev/null || { echo "SKIP: socat not installed"; exit 77; }
CNI=$ND_BUILD/netd/netd-cni

nd_host h
nd_host s                                  # a server outside the host
nd_wire h s 10.97.0 fd97:0:0:1
nd_on s ip route add default via 10.97.0.1
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create net1" nd_ctl h network create --ipv6 --subnet 10.51.0.0/24 --subnet fd51::/64 -o bridge.name=br-s1 net1
t_ok "create net2" nd_ctl h network create --subnet 10.52.0.0/24 -o bridge.name=br-s2 net2
t_ok "create an internal network" nd_ctl h network create --internal --subnet 10.53.0.0/24 -o bridge.name=br-s3 priv

V4=10.51.0.10 V6=fd51::10 A4=10.51.0.20 A6=fd51::20
t_ok "victim v publishes 8080" nd_ctl h run -d --name v --network net1 --ip $V4 --ip6 $V6 -p 8080:80 \
        busybox httpd -f -p 80 -h /var/www
t_ok "attacker a, with NET_ADMIN, runs its own web server" nd_ctl h run -d --name a --cap-add NET_ADMIN \
        --network net1 --ip $A4 --ip6 $A6 \
        sh -c 'mkdir -p /tmp/w && echo pwned >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w'
t_ok "bystander b on net1" nd_ctl h run -d --name b --network net1 sleep 600
t_ok "o on net2 publishes 8082" nd_ctl h run -d --name o --network net2 -p 8082:80 busybox httpd -f -p 80 -h /var/www
t_ok "i on the internal network, with NET_ADMIN" nd_ctl h run -d --name i --cap-add NET_ADMIN --network priv \
        --ip 10.53.0.10 sleep 600
t_ok "i2 on the internal network" nd_ctl h run -d --name i2 --network priv --ip 10.53.0.11 \
        busybox httpd -f -p 80 -h /var/www

mac_of() { nd_ctl h inspect "$1" | jq -r '.[0].Endpoints[0].MacAddress'; }
VMAC=$(mac_of v) AMAC=$(mac_of a)
VPORT=$(nd_ctl h inspect v | jq -r '.[0].Id[0:8]' | sed 's/^/vnd/; s/$/-0/')
APORT=$(nd_ctl h inspect a | jq -r '.[0].Id[0:8]' | sed 's/^/vnd/; s/$/-0/')

# ---- the guard's elements ----
set_has() { nd_on h nft list set bridge netd "$1" | grep -q "$2"; }
t_ok "bridge netd: the victim's port is guarded" set_has ports "\"$VPORT\""
t_ok "bridge netd: its MAC" set_has port_mac "\"$VPORT\" . $VMAC"
t_ok "bridge netd: its IPv4 address" set_has port_ip4 "\"$VPORT\" . $V4"
t_ok "bridge netd: its IPv6 address" set_has port_ip6 "\"$VPORT\" . $V6"
t_ok "inet netd: the reverse-path filter" sh -c "ip netns exec ${ND_NSP}-h nft list chain inet netd rpfilter | grep -q 'fib saddr . iif oif missing drop'"

# ---- the observers: what reaches the host (after netd's guards) and s ----
nd_on h nft -f - <<EOF
table inet spy {
        counter forged { }
        counter forged6 { }
        counter rogue { }
        counter rogue_ok { }
        chain pre { type filter hook prerouting priority -250; policy accept;
                ether saddr $AMAC ip saddr != $A4 counter name forged
                ether saddr $AMAC ip6 saddr != { $A6, fe80::/10, :: } counter name forged6
                ip saddr 10.52.0.77 counter name rogue
                ip saddr 10.51.0.77 counter name rogue_ok
        }
}
EOF
nd_on s nft -f - <<EOF
table inet spy {
        counter forged { }
        chain in { type filter hook input priority 0; policy accept;
                ip saddr != 10.97.0.1 icmp type echo-request counter name forged
        }
}
EOF
count() { nd_on "$1" nft -j list counter inet spy "$2" | jq '.nftables[1].counter.packets'; }

# ---- legitimate paths first ----
# ip netns exec, not the nd_on function: $! is then socat itself (ip
# execs it), which the cleanup's kill reaches
nd_bg ip netns exec "${ND_NSP}-s" socat TCP-LISTEN:7777,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'
nd_bg ip netns exec "${ND_NSP}-h" socat TCP-LISTEN:7100,fork,reuseaddr SYSTEM:'echo host-service'
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-s ss -Htln | grep -q ':7777 '"
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-h ss -Htln | grep -q ':7100 '"
nc_from() { NETD_SOCKET=$(nd_sock h) timeout 5 "$NETCTL" exec "$1" nc "$2" "$3" </dev/null; }
web_from_s() { nd_on s curl -s -m 3 "http://10.97.0.1:$1/index.html"; }
t_ok "a pings its neighbour v" nd_in h a ping -c 1 -W 2 $V4
t_ok "a pings v over IPv6" nd_in h a ping6 -c 1 -W 2 $V6
t_ok "a pings its gateway" nd_in h a ping -c 1 -W 2 10.51.0.1
t_eq "a resolves v through netd's DNS" "$(nd_in h a nslookup v 127.0.0.11 2>/dev/null | grep -c "$V4")" "1"
t_eq "a leaves to the outside (masqueraded)" "$(nc_from a 10.97.0.2 7777)" "10.97.0.1"
t_eq "a reaches a host service at its gateway" "$(nc_from a 10.51.0.1 7100)" "host-service"
t_eq "the outside reaches v's published port" "$(web_from_s 8080)" "hello from netd"
t_eq "a reaches o's published port through the host" "$(nd_wget h a http://10.97.0.1:8082/index.html)" \
        "hello from netd"
t_eq "no forged packet counted yet" "$(count h forged) $(count h forged6) $(count s forged)" "0 0 0"

# ---- takeover of v's address and published port ----
t_ok "a (NET_ADMIN) adds v's IPv4 address" nd_in h a ip addr add $V4/32 dev eth0
# (busybox ip has no nodad, and DAD would find v: the host's ip, in a's namespace)
t_ok "a adds v's IPv6 address" nd_ctns h a ip -6 addr add $V6/128 dev eth0 nodad
t_ok "a sends gratuitous ARP for v's address" nd_in h a arping -U -c 2 -w 3 -I eth0 $V4
nd_in h a arping -A -c 2 -w 3 -I eth0 $V4 >/dev/null 2>&1
# the host and b ask again: v and a both answer, only v's answer passes
nd_on h ip neigh flush dev br-s1
nd_ctns h b ip neigh flush dev eth0
for _ in 1 2 3 4 5; do web_from_s 8080; done >"$ND_TMP/hijack"
t_eq "v's published port still leads to v" "$(sort -u "$ND_TMP/hijack")" "hello from netd"
t_eq "the host's ARP entry for v is v's MAC" \
        "$(nd_on h ip -j neigh show $V4 dev br-s1 | jq -r '.[0].lladdr')" "$VMAC"
nd_in h b ping -c 1 -W 2 $V4 >/dev/null
t_eq "b's ARP entry for v is v's MAC" "$(nd_ctns h b ip -j neigh show $V4 | jq -r '.[0].lladdr')" "$VMAC"
nd_on h ip neigh flush dev br-s1
nd_on h busybox ping6 -c 1 -W 2 $V6 >/dev/null
t_eq "the host's ND entry for v is v's MAC (a's NA is dropped)" \
        "$(nd_on h ip -j -6 neigh show $V6 dev br-s1 | jq -r '.[0].lladdr')" "$VMAC"
t_eq "nothing a sent as v reached the host" "$(count h forged) $(count h forged6)" "0 0"

# a takes v's MAC as well
t_ok "a (NET_ADMIN) sets v's MAC on its eth0" nd_in h a sh -c \
        "ip link set eth0 down && ip link set eth0 address $VMAC && ip link set eth0 up"
nd_in h a arping -U -c 2 -w 3 -I eth0 $V4 >/dev/null 2>&1
nd_in h a ping -c 2 -W 1 10.51.0.1 >/dev/null 2>&1
t_err "a with v's MAC cannot reach its gateway" nd_in h a ping -c 1 -W 1 10.51.0.1
t_eq "the bridge never learnt v's MAC on a's port" \
        "$(nd_on h bridge -j fdb show br br-s1 | jq -r --arg m "$VMAC" '[.[] | select(.mac == $m) | .ifname] | unique | join(",")')" \
        "$VPORT"
for _ in 1 2 3; do web_from_s 8080; done >"$ND_TMP/hijack"
t_eq "v's published port still leads to v" "$(sort -u "$ND_TMP/hijack")" "hello from netd"
t_ok "a puts its own MAC back" nd_in h a sh -c \
        "ip link set eth0 down && ip link set eth0 address $AMAC && ip link set eth0 up && ip route add default via 10.51.0.1 2>/dev/null; true"
nd_eventually 5 nd_in h a ping -c 1 -W 1 10.51.0.1
t_ok "a with its own MAC reaches its gateway again" nd_in h a ping -c 1 -W 2 10.51.0.1

# ---- forged sources: to the host, another network, the outside ----
nd_in h a ip addr add 10.52.0.5/32 dev eth0
nd_in h a ip addr add 192.0.2.7/32 dev eth0
t_err "a as v -> the host" nd_in h a ping -c 2 -W 1 -I $V4 10.51.0.1
t_err "a as v -> the outside" nd_in h a ping -c 2 -W 1 -I $V4 10.97.0.2
t_err "a as a net2 address -> the host" nd_in h a ping -c 2 -W 1 -I 10.52.0.5 10.97.0.1
t_err "a as a net2 address -> o on net2" nd_in h a ping -c 2 -W 1 -I 10.52.0.5 "$(nd_ctl h inspect o | jq -r '.[0].Endpoints[0].IPAddress')"
t_err "a as an outside address -> the outside" nd_in h a ping -c 2 -W 1 -I 192.0.2.7 10.97.0.2
t_err "a as v (IPv6) -> the host" nd_in h a ping6 -c 2 -W 1 -I $V6 fd51::1
t_eq "none of it reached the host" "$(count h forged) $(count h forged6)" "0 0"
t_eq "none of it reached the outside" "$(count s forged)" "0"
t_ok "a's own source still works" nd_in h a ping -c 1 -W 2 -I $A4 10.97.0.2
t_eq "and reaches the outside masqueraded" "$(count s forged)" "0"
nd_in h a ip addr del $V4/32 dev eth0
nd_in h a ip -6 addr del $V6/128 dev eth0
t_ok "v still pings a" nd_in h v ping -c 1 -W 2 $A4

# ---- the internal network ----
I2=10.53.0.11
nd_in h i ip route add default via 10.53.0.1
t_ok "i pings i2 (same internal network)" nd_in h i ping -c 1 -W 2 $I2
t_eq "i fetches from i2" "$(nd_wget h i "http://$I2/index.html")" "hello from netd"
t_eq "i resolves i2 through netd's DNS" "$(nd_in h i nslookup i2 127.0.0.11 2>/dev/null | grep -c "$I2")" "1"
t_eq "i reaches a host service at its own gateway" "$(nc_from i 10.53.0.1 7100)" "host-service"
t_err "i -> v's published port through its own gateway" nd_wget h i http://10.53.0.1:8080/index.html
t_err "i -> o's published port through its own gateway" nd_wget h i http://10.53.0.1:8082/index.html
t_err "i -> v's published port at the host's outside address" nd_wget h i http://10.97.0.1:8080/index.html
t_err "i -> the host's other addresses" nc_from i 10.97.0.1 7100
t_err "i -> net1's gateway" nc_from i 10.51.0.1 7100
t_err "i -> the outside" nc_from i 10.97.0.2 7777
t_err "i -> a container on net1" nd_in h i ping -c 1 -W 1 $V4
t_err "a container on net1 -> i2" nd_in h a ping -c 1 -W 1 $I2
t_err "the outside -> i2, routed through the host" sh -c \
        "ip -n ${ND_NSP}-s route add 10.53.0.0/24 via 10.97.0.1 && ip netns exec ${ND_NSP}-s curl -sf -m 2 http://$I2/index.html"

# ---- the reverse-path filter: a port netd did not wire ----
nd_host rogue
ip -n "${ND_NSP}-h" link add rg0 type veth peer name eth0 netns "${ND_NSP}-rogue"
ip -n "${ND_NSP}-h" link set rg0 master br-s1 up
ip -n "${ND_NSP}-rogue" link set eth0 up
ip -n "${ND_NSP}-rogue" addr add 10.52.0.77/16 dev eth0
ip -n "${ND_NSP}-rogue" addr add 10.51.0.77/16 dev eth0
nd_on rogue busybox ping -c 2 -W 1 -I 10.52.0.77 10.51.0.1 >/dev/null 2>&1
t_eq "a net2 source entering net1's bridge is dropped" "$(count h rogue)" "0"
t_ok "a net1 source entering net1's bridge passes" nd_on rogue busybox ping -c 1 -W 2 -I 10.51.0.77 10.51.0.1
t_match "and is counted" "$(count h rogue_ok)" '^[1-9]'
ip -n "${ND_NSP}-h" link del rg0

# ---- a CNI sandbox gets the same guard ----
CONF='{"cniVersion":"1.0.0","name":"net1","type":"netd","socket":"'"$(nd_sock h)"'"}'
cni() {
        CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$3 CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
                CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=$2" "$CNI" <<<"$CONF"
}
nd_host pod
cni ADD pod1 "${ND_NSP}-pod" >"$ND_TMP/pod.json"
t_eq "CNI ADD" "$?" "0"
P4=$(jq -r '.ips[0].address' "$ND_TMP/pod.json" | cut -d/ -f1)
PMAC=$(jq -r '.interfaces[0].mac' "$ND_TMP/pod.json")
t_ok "bridge netd: the pod's MAC" set_has port_mac " . $PMAC"
t_ok "bridge netd: the pod's address" set_has port_ip4 " . $P4"
t_ok "the pod pings v" nd_on pod busybox ping -c 1 -W 2 $V4
nd_on pod ip addr add $V4/32 dev eth0
nd_on pod ip neigh flush dev eth0
nd_on h ip neigh flush dev br-s1
nd_on pod busybox arping -U -c 2 -w 3 -I eth0 $V4 >/dev/null 2>&1
t_err "the pod as v -> the host" nd_on pod busybox ping -c 2 -W 1 -I $V4 10.51.0.1
for _ in 1 2 3; do web_from_s 8080; done >"$ND_TMP/hijack"
t_eq "v's published port still leads to v" "$(sort -u "$ND_TMP/hijack")" "hello from netd"
t_ok "CNI DEL" cni DEL pod1 "${ND_NSP}-pod"
# DEL answers before the pair is gone; its elements go with the pair
set_lacks() { ! set_has "$@"; }
t_ok "the pod's elements are gone" nd_eventually 3 set_lacks port_ip4 " . $P4"

# ---- lifetime: restart, repair, removal, cleanup ----
t_ok "stop netd" nd_stop "$ND_PID"
t_ok "the guard stays while netd is down" set_has port_ip4 "\"$VPORT\" . $V4"
nd_start h || exit 1
t_ok "after a restart: v's port is guarded" set_has port_ip4 "\"$VPORT\" . $V4"
t_ok "and a's" set_has port_mac "\"$APORT\" . $AMAC"
t_ok "someone deletes the bridge table" nd_on h nft delete table bridge netd
t_ok "netd restores it" nd_eventually 5 set_has port_ip4 "\"$VPORT\" . $V4"
t_ok "remove v" nd_ctl h rm -f v
t_ok "v's port leaves the set once its veth is gone" nd_eventually 5 set_lacks ports "\"$VPORT\""
t_ok "a still is" set_has ports "\"$APORT\""
t_ok "stop netd again" nd_stop "$ND_PID"
t_ok "netd --cleanup" nsenter --net="/run/netns/${ND_NSP}-h" "$NETD" --cleanup
t_err "the bridge table is gone" nd_on h nft list table bridge netd
t_err "the inet table is gone" nd_on h nft list table inet netd
nd_done
