#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Networks without IPv4: an IPv6-only network (--ipv4=false) gives its
# containers an IPv6 address and default route and nothing of IPv4; one
# with --ipam-driver none gives interfaces without addresses or routes.
# The option metric sets the default routes' metric.  Bad combinations
# are refused with a message.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
NDPID=$ND_PID
t_ok "rootfs init" nd_rootfs h

t_ok "create an IPv6-only network with metric 300" \
        nd_ctl h network create --ipv4=false --ipv6 --subnet fd00:63::/64 -o metric=300 v6only
t_eq "it has no IPv4 subnet" "$(nd_ctl h network inspect v6only |
        jq -r '.[0] | [.EnableIPv4, .EnableIPv6, (.IPAM.Config | length), .IPAM.Config[0].Subnet] | join(" ")')" \
        "false true 1 fd00:63::/64"
br=$(nd_ctl h network inspect v6only | jq -r '.[0].Id[0:12]')
t_eq "its bridge has no IPv4 address" "$(ip -n "${ND_NSP}-h" -4 -o addr show dev "nd-$br" | wc -l)" "0"
t_ok "run a on it" nd_ctl h run -d --name a --network v6only sleep 600
t_ok "run b on it" nd_ctl h run -d --name b --network v6only sleep 600
t_eq "a has no IPv4 address" "$(nd_ctns h a ip -4 -o addr show eth0 | wc -l)" "0"
t_eq "a has the first IPv6 address" "$(nd_ctns h a ip -6 -o addr show eth0 scope global | awk '{print $4}')" \
        "fd00:63::2/64"
t_eq "a's default route is IPv6, via the gateway, with metric 300" \
        "$(nd_ctns h a ip -j -6 route show default | jq -r '.[0] | "\(.gateway) \(.metric)"') $(nd_ctns h a ip -4 route | wc -l)" \
        "fd00:63::1 300 0"
t_ok "a reaches b over IPv6" nd_in h a ping -c 1 -W 2 fd00:63::3
t_ok "a reaches the gateway" nd_in h a ping -c 1 -W 2 fd00:63::1
t_eq "b resolves a to its IPv6 address only" "$(nd_in h b nslookup a 2>/dev/null | grep -c 'fd00:63::2')" "1"

t_ok "create a network with IPAM driver none" nd_ctl h network create --ipam-driver none bare
t_eq "it has no subnet" "$(nd_ctl h network inspect bare |
        jq -r '.[0] | [.IPAM.Driver, (.IPAM.Config | length), .EnableIPv4, .EnableIPv6] | join(" ")')" "none 0 false false"
t_ok "run c on it" nd_ctl h run -d --name c --network bare sleep 600
t_eq "c's eth0 is up with no address but its link-local one, and c has no route" \
        "$(nd_ctns h c ip -o link show eth0 | grep -c 'state UP') $(nd_ctns h c ip -o addr show eth0 scope global | wc -l) $(nd_ctns h c ip route | wc -l) $(nd_ctns h c ip -6 route show default | wc -l)" \
        "1 0 0 0"
t_match "a static address on it is refused" "$(nd_ctl h run -d --network bare --ip 10.0.0.5 sleep 1 2>&1)" \
        "address 10\.0\.0\.5 is not in any subnet of network 'bare'"

t_ok "a network without the option has the kernel's metric" \
        nd_ctl h network create --subnet 10.64.0.0/24 plain
t_ok "run d on it" nd_ctl h run -d --name d --network plain sleep 600
t_eq "d's default route has metric 0" "$(nd_ctns h d ip -j route show default | jq -r '.[0].metric // 0')" "0"

t_match "no IPv4 and no IPv6 subnet is refused" "$(nd_ctl h network create --ipv4=false x1 2>&1)" \
        "a network without IPv4 needs an IPv6 subnet"
t_match "no IPv4 and an IPv4 subnet is refused" \
        "$(nd_ctl h network create --ipv4=false --subnet 10.65.0.0/24 --ipv6 --subnet fd00:65::/64 x2 2>&1)" \
        "subnet '10\.65\.0\.0/24' is IPv4, and IPv4 is disabled"
t_match "IPAM driver none with a subnet is refused" \
        "$(nd_ctl h network create --ipam-driver none --subnet 10.66.0.0/24 x3 2>&1)" "IPAM driver none takes no subnets"
t_match "a bad metric is refused" "$(nd_ctl h network create -o metric=-1 x4 2>&1)" "option metric='-1'"
t_match "a bad --ipv4 is refused" "$(nd_ctl h network create --ipv4=maybe x5 2>&1)" "--ipv4='maybe': want true or false"

t_ok "netd stops" nd_stop "$NDPID"
t_ok "and starts again" nd_start h
t_eq "the IPv6-only and address-less networks come back as they were" \
        "$(nd_ctl h network inspect v6only bare | jq -r '[.[] | .EnableIPv4, .IPAM.Driver, (.IPAM.Config | length)] | join(" ")')" \
        "false default 1 false none 0"
t_ok "a still reaches b" nd_in h a ping -c 1 -W 2 fd00:63::3
for ct in a b c d; do nd_ctl h rm -f "$ct" >/dev/null; done
nd_settled h
t_ok "the networks go" nd_ctl h network rm v6only bare plain
nd_done
