#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A network's bridge keeps its own MAC.  Without one, Linux gives a
# bridge the lowest MAC of its ports and changes it when that port goes:
# every container's neighbour entry for the gateway (and for a service's
# VIP) then points at a MAC nobody answers to until it ages out, and
# traffic through the gateway stops for tens of seconds.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create net" nd_ctl h network create --subnet 10.72.0.0/24 net
for i in 1 2 3 4 5 6; do
        nd_ctl h run -d --name c$i --network net sleep 600 >/dev/null || t_fail "run c$i"
done
br=$(nd_on h ip -o link show type bridge | awk -F': ' '{print $2}')
mac() { nd_on h cat "/sys/class/net/$br/address"; }
t_eq "the bridge's MAC is its own (set, not inherited)" "$(nd_on h cat "/sys/class/net/$br/addr_assign_type")" "3"
before=$(mac)
t_ok "c6 reaches the gateway" nd_in h c6 ping -c1 -W2 10.72.0.1
for i in 1 2 3 4 5; do nd_ctl h rm -f c$i >/dev/null; done
t_eq "the bridge's MAC stays when its ports go" "$(mac)" "$before"
t_ok "c6 reaches the gateway at once (its neighbour entry is still right)" nd_in h c6 ping -c1 -W1 10.72.0.1
nd_done
