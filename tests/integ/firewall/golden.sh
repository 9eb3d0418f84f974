#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The ruleset netd generates, compared with golden files for a few
# scenarios: plain, internal network, port ranges, IPv6.  The listing is
# `nft -j list table inet netd` without handles and with sorted elements.
# Regenerate with ND_UPDATE_GOLDEN=1 (and review the diff).
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
GOLDEN=${ND_SRC:-$(dirname "$0")/../../..}/tests/golden/firewall

nd_host h
nd_host c
nd_wire h c 10.96.0 fd96:0:0:1
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h

listing() {
        nd_on h nft -j list table inet netd |
                jq -S '[.nftables[] | select(.metainfo | not) | walk(if type == "object" then del(.handle) else . end)
                        | walk(if type == "object" and has("elem") then .elem |= sort_by(tostring) else . end)]'
}
check() {
        local name=$1 got
        got=$(listing)
        if [ "${ND_UPDATE_GOLDEN:-}" = 1 ]; then
                printf '%s\n' "$got" >"$GOLDEN/$name.json"
        fi
        if diff -u "$GOLDEN/$name.json" <(printf '%s\n' "$got") >"$ND_TMP/diff"; then
                t_pass "golden: $name"
        else
                t_fail "golden: $name"
                sed 's/^/    /' "$ND_TMP/diff" | head -60
        fi
}
clear_all() {
        nd_ctl h rm -f $(nd_ctl h ps -a -q) >/dev/null 2>&1
        nd_ctl h network rm $(nd_ctl h network ls -q) >/dev/null 2>&1
}

check empty

t_ok "plain: network" nd_ctl h network create --subnet 10.80.0.0/24 -o bridge.name=br-plain plain
t_ok "plain: container" nd_ctl h run -d --name p --network plain --ip 10.80.0.10 -p 8080:80 \
        -p 10.96.0.1:8081:81 sleep 600
check plain
clear_all

t_ok "internal: internal network" nd_ctl h network create --internal --subnet 10.81.0.0/24 -o bridge.name=br-int int
t_ok "internal: external network" nd_ctl h network create --subnet 10.82.0.0/24 -o bridge.name=br-ext ext
t_ok "internal: container on both" nd_ctl h run -d --name i --network int --network ext --ip 10.81.0.10 sleep 600
check internal
clear_all

t_ok "ranges: network" nd_ctl h network create --subnet 10.83.0.0/24 -o bridge.name=br-range range
t_ok "ranges: container" nd_ctl h run -d --name r --network range --ip 10.83.0.10 -p 9000-9002:90-92/udp \
        -p 8000-8001:80-81 sleep 600
check ranges
clear_all

t_ok "ipv6: network" nd_ctl h network create --ipv6 --subnet 10.84.0.0/24 --subnet fd84::/64 -o bridge.name=br-v6 v6
t_ok "ipv6: container" nd_ctl h run -d --name s --network v6 --ip 10.84.0.10 --ip6 fd84::10 -p 8443:443 \
        -p '[fd96:0:0:1::1]:8444:443' sleep 600
check ipv6
clear_all
check empty
nd_done
