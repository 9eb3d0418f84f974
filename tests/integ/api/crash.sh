#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kill -9 in the middle of a burst of creates: after a restart every
# acknowledged network is there, names and subnets are unique, and the
# daemon keeps working.
. "$(dirname "$0")/../lib/netns.sh"

nd_host h
nd_start h || exit 1
ok="$ND_TMP/acked"
: >"$ok"
burst() {
        local i
        for i in $(seq 1 400); do
                if [ $((i % 3)) = 0 ]; then
                        nd_ctl h network create "auto$i" >/dev/null 2>&1 && echo "auto$i" >>"$ok"
                else
                        nd_ctl h network create --subnet "10.$((i / 200)).$((i % 200)).0/24" "n$i" >/dev/null 2>&1 &&
                                echo "n$i" >>"$ok"
                fi
        done
}
burst &
bp=$!
# let some creates land, then pull the plug mid-burst
for _ in $(seq 1 200); do
        [ "$(wc -l <"$ok")" -ge 40 ] && break
        sleep 0.02
done
kill -9 "$ND_PID"
wait "$ND_PID" 2>/dev/null
wait "$bp"
acked=$(wc -l <"$ok")
[ "$acked" -ge 40 ] && t_pass "at least 40 acknowledged ($acked)" || t_fail "only $acked acknowledged"

nd_start h || exit 1
loaded=$(grep -o 'msg="networks loaded" count=[0-9]*' "$ND_TMP/h/netd.log" | tail -1 | grep -o '[0-9]*$')
[ "${loaded:-0}" -ge "$acked" ] && t_pass "restart loaded $loaded networks (>= $acked acknowledged)" ||
        t_fail "restart loaded ${loaded:-none} networks, fewer than $acked acknowledged"
ls_json=$(nd_ctl h network ls --format json)
missing=0
while read -r n; do
        jq -e --arg n "$n" 'map(.Name) | index($n)' <<<"$ls_json" >/dev/null || { missing=$((missing + 1)); echo "    missing: $n"; }
done <"$ok"
t_eq "every acknowledged network survived" "$missing" "0"
t_eq "names unique" "$(jq 'map(.Name) | length == (unique | length)' <<<"$ls_json")" "true"
t_eq "subnets unique" "$(jq '[.[].IPAM.Config[].Subnet] | length == (unique | length)' <<<"$ls_json")" "true"
total=$(jq length <<<"$ls_json")
[ "$total" -ge "$acked" ] && t_pass "$total networks >= $acked acknowledged" || t_fail "$total < $acked"
t_ok "creates work after the crash" nd_ctl h network create after-crash
t_ok "and survive a clean restart" nd_stop "$ND_PID"
nd_start h || exit 1
t_eq "count after clean restart" "$(nd_ctl h network ls -q | wc -l)" "$((total + 1))"
nd_stop "$ND_PID"
nd_done
