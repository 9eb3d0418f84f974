#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Networks and allocations survive a restart, and the allocator continues
# without handing out an address that is still in use.
. "$(dirname "$0")/../lib/netns.sh"

nd_host h
nd_start h || exit 1
nd_ctl h network create --subnet 10.30.0.0/24 a >/dev/null
nd_ctl h network create --subnet fd00:30::/64 --ipv6 b >/dev/null
addrs=""
for i in 1 2 3 4 5; do addrs+="$(nd_ctl h ipam alloc --owner "c$i" a) "; done
nd_ctl h ipam alloc --ip 10.30.0.200 --owner static a >/dev/null
nd_ctl h ipam alloc --ipv6 b >/dev/null
nd_ctl h ipam release a 10.30.0.3
before=$(nd_ctl h network inspect a b | jq -S 'map(del(.AddressesInUse))')
alloc_before=$(nd_ctl h ipam ls a)
t_ok "SIGTERM" nd_stop "$ND_PID"

nd_start h || exit 1
after=$(nd_ctl h network inspect a b | jq -S 'map(del(.AddressesInUse))')
t_eq "networks identical after restart" "$after" "$before"
t_eq "allocations identical after restart" "$(nd_ctl h ipam ls a)" "$alloc_before"
t_eq "in-use count restored" "$(nd_ctl h network inspect a | jq '.[0].AddressesInUse')" "5"
t_match "static address still taken" "$(nd_ctl h ipam alloc --ip 10.30.0.200 a 2>&1)" "already in use"
next=$(nd_ctl h ipam alloc a)
t_match "next dynamic address is a free one" "$next" "^10\.30\.0\.[0-9]+$"
case " $addrs 10.30.0.200 " in
*" $next "*) if [ "$next" != 10.30.0.3 ]; then t_fail "allocated $next twice"; else t_pass "reuses only the released 10.30.0.3"; fi ;;
*) t_pass "fresh address $next" ;;
esac

# kill -9 loses nothing that was acknowledged
nd_ctl h network create --subnet 10.31.0.0/24 c >/dev/null
x=$(nd_ctl h ipam alloc c)
kill -9 "$ND_PID"
wait "$ND_PID" 2>/dev/null
nd_start h || exit 1
t_eq "acknowledged create survives kill -9" "$(nd_ctl h network inspect c | jq -r '.[0].IPAM.Config[0].Subnet')" "10.31.0.0/24"
t_eq "acknowledged allocation survives kill -9" "$(nd_ctl h ipam ls c | tail -n +2 | awk '{print $1}')" "$x"

# a stale allocation record (network gone from the store) is removed at start
nd_stop "$ND_PID"
nd_done
