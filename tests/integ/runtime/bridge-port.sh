#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A container's host-side port joins its bridge once: it comes up with its
# carrier, so the bridge never sees it without one (enabled, disabled,
# enabled again), each of which made the kernel recompute every port of
# the bridge and walk the host's IPv6 routes under the RTNL lock, and an
# attach grew with the containers on the host.  The port ends up
# forwarding, with hairpin mode on and without IPv6 of its own (a switch
# port; its link-local address and routes made every attach cost more),
# and carries IPv4 and IPv6 traffic.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v bridge >/dev/null || { echo "SKIP: iproute2's bridge not installed"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create net" nd_ctl h network create --subnet 10.73.0.0/24 --ipv6 --subnet fd73::/64 net
t_ok "run c1" nd_ctl h run -d --name c1 --network net sleep 600
# every change of a link of the host, from before c2's port exists
ip netns exec "${ND_NSP}-h" bridge monitor link >"$ND_TMP/mon" 2>&1 &
ND_PIDS+=("$!")
sleep 0.3
t_ok "run c2" nd_ctl h run -d --name c2 --network net sleep 600
id=$(nd_ctl h inspect c2 | jq -r '.[0].Id')
port=vnd${id:0:8}-0 # containers.c: the host end of its first endpoint
t_ok "c2 reaches c1" nd_in h c2 ping -c1 -W2 10.73.0.2
t_ok "c2 reaches c1 over IPv6" nd_in h c2 ping -c1 -W2 fd73::2
t_ok "c2 reaches the IPv6 gateway" nd_in h c2 ping -c1 -W2 fd73::1
sleep 0.5 # the kernel's carrier events are queued
kill "${ND_PIDS[-1]}" 2>/dev/null
mon=$(grep -F "$port" "$ND_TMP/mon")
t_match "the monitor saw c2's port ($port) come up" "$mon" "UP,LOWER_UP.*state forwarding"
# the carrier itself (LOWER_UP), not `ip`'s NO-CARRIER: that one shows the
# operstate, which the kernel's link watcher updates later, so it depends
# on the machine's load
t_eq "c2's port was never up without a carrier" \
        "$(awk -F'[<>]' '{n = split($2, f, ","); up = 0; lower = 0
                for (i = 1; i <= n; i++) { up += f[i] == "UP"; lower += f[i] == "LOWER_UP" }
                if (up && !lower) c++} END {print c + 0}' <<<"$mon")" "0"
t_eq "c2's port was never disabled once forwarding" \
        "$(awk '/state forwarding/ {f = 1} f && /state disabled/ {n++} END {print n + 0}' <<<"$mon")" "0"
t_match "c2's port: forwarding, hairpin on" "$(nd_on h bridge -d link show dev "$port")" \
        "state forwarding.*hairpin on"
t_eq "c2's port has no IPv6 of its own" "$(nd_on h cat "/proc/sys/net/ipv6/conf/$port/disable_ipv6")" "1"
t_eq "c2's port: no IPv6 address" "$(nd_on h ip -6 -o addr show dev "$port")" ""
nd_done
