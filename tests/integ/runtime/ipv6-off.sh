#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A container's interface on a network without IPv6 has no IPv6 either (as
# Docker's since CVE-2024-32473), set before the interface comes up.  The
# attack replayed: a rogue router on the network's bridge advertises a
# prefix and itself as the default router.  A namespace plugged into the
# same bridge with IPv6 on, as the container's interface was, takes both
# (so the advertisement works); the container takes neither.  The legitimate paths: a container on
# a dual-stack network keeps its IPv6 address and reaches its gateway, and
# one on an IPAM "none" network keeps its link-local address (its
# addresses are the operator's).
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
[ -d /proc/sys/net/ipv6 ] || { echo "SKIP: no IPv6 in this kernel"; exit 77; }

nd_host h
nd_host rogue
nd_host victim
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "an IPv4-only network" nd_ctl h network create --subnet 10.74.0.0/24 v4
t_ok "a dual-stack network" nd_ctl h network create --subnet 10.75.0.0/24 --ipv6 --subnet fd75::/64 v6
t_ok "an IPAM-none network" nd_ctl h network create --ipam-driver none bare
br=nd-$(nd_ctl h network inspect v4 | jq -r '.[0].Id[0:12]')
t_ok "c4 on the IPv4-only network" nd_ctl h run -d --name c4 --network v4 sleep 600
t_eq "c4's eth0: IPv6 disabled" "$(nd_ctns h c4 cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)" "1"
t_eq "c4's eth0: no IPv6 address" "$(nd_ctns h c4 ip -6 -o addr show dev eth0)" ""
t_eq "c4's loopback keeps ::1" "$(nd_ctns h c4 ip -6 -o addr show dev lo | awk '{print $4}')" "::1/128"
t_ok "c4 reaches its gateway over IPv4" nd_in h c4 ping -c1 -W2 10.74.0.1

# the rogue router and the control namespace, on the bridge of v4
plug() { # ROLE NAME: a veth from namespace ROLE into the bridge, up
        ip -n "${ND_NSP}-$1" link add "$2" type veth peer name "p-$2" netns "${ND_NSP}-h" || return 1
        nd_on h ip link set "p-$2" master "$br" up
        ip -n "${ND_NSP}-$1" link set "$2" up
}
t_ok "the rogue router's port" plug rogue rg
t_ok "the control's port (IPv6 on, as c4's was)" plug victim vc
nd_on rogue ip addr add fe80::66/64 dev rg nodad
cat >"$ND_TMP/ra.py" <<'PY'
import socket, struct, sys, time
ifname = sys.argv[1]
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
s.bind(("fe80::66", 0, 0, socket.if_nametoindex(ifname)))
# router advertisement: hop limit 64, router lifetime 1800 s; a prefix
# option for fd66::/64, on-link and autonomous
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
prefix = struct.pack("!BBBBIII16s", 3, 4, 64, 0xC0, 86400, 14400, 0, socket.inet_pton(socket.AF_INET6, "fd66::"))
for _ in range(int(sys.argv[2])):
    s.sendto(ra + prefix, ("ff02::1", 0, 0, socket.if_nametoindex(ifname)))
    time.sleep(0.2)
PY
t_ok "the rogue router advertises fd66::/64 and itself" nd_on rogue python3 "$ND_TMP/ra.py" rg 10
got=""
for _ in $(seq 1 30); do
        got=$(nd_on victim ip -6 -o addr show dev vc scope global | awk '{print $4}')
        [ -n "$got" ] && break
        sleep 0.1
done
t_match "the control took an address from the advertisement" "$got" '^fd66:'
t_match "the control took the rogue router as its default route" "$(nd_on victim ip -6 route show default)" \
        '^default via fe80::66 dev vc'
t_eq "c4 took no address" "$(nd_ctns h c4 ip -6 -o addr show dev eth0)" ""
t_eq "c4 took no IPv6 route" "$(nd_ctns h c4 ip -6 route show | grep -v '^::1 \|^local ::1\|^multicast\|^ff00')" ""

# the legitimate paths
t_ok "c6 on the dual-stack network" nd_ctl h run -d --name c6 --network v6 sleep 600
t_eq "c6's eth0: IPv6 on" "$(nd_ctns h c6 cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)" "0"
t_eq "c6 has its IPv6 address" "$(nd_ctns h c6 ip -6 -o addr show dev eth0 scope global | awk '{print $4}')" "fd75::2/64"
t_ok "c6 reaches its IPv6 gateway" nd_in h c6 ping -c1 -W2 fd75::1
t_ok "cb on the IPAM-none network" nd_ctl h run -d --name cb --network bare sleep 600
t_eq "cb's eth0: IPv6 left on" "$(nd_ctns h cb cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)" "0"
t_ok "c4 joins the dual-stack network too" nd_ctl h network connect v6 c4
t_eq "c4's eth0 stays without IPv6" "$(nd_ctns h c4 cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6)" "1"
t_match "c4's new interface has IPv6" "$(nd_ctns h c4 ip -6 -o addr show scope global)" 'fd75::'
nd_done
