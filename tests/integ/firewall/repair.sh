#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Self-repair and reconcile: a flushed ruleset, a deleted element or an
# added rule are undone within a second without any command; after
# kill -9 and restart the table equals the store; elements of containers
# that died while netd was down are removed.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_host c
nd_wire h c 10.97.0
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create net" nd_ctl h network create --subnet 10.44.0.0/24 net
t_ok "run a (-p 8080:80)" nd_ctl h run -d --name a --network net -p 8080:80 busybox httpd -f -p 80 -h /var/www
t_ok "run b (-p 8081:80, -p 53/udp)" nd_ctl h run -d --name b --network net -p 8081:80 -p 5353:53/udp \
        busybox httpd -f -p 80 -h /var/www
get() { ip netns exec "${ND_NSP}-c" curl -sf -m 2 "$1"; }
t_eq "published port answers" "$(get http://10.97.0.1:8080/index.html)" "hello from netd"

# the canonical listing: no handles, elements sorted
listing() {
        nd_on h nft -j list table inet netd |
                jq -S '[.nftables[] | select(.metainfo | not) | walk(if type == "object" then del(.handle) else . end)
                        | walk(if type == "object" and has("elem") then .elem |= sort_by(tostring) else . end)]'
}
before=$(listing)

t_ok "nft flush ruleset" nd_on h nft flush ruleset
t_ok "published port answers again within a second" nd_eventually 1 get http://10.97.0.1:8080/index.html
t_eq "the table is back exactly" "$(listing)" "$before"
t_match "netd logged the repair" "$(grep 'restored' "$ND_TMP/h/netd.log")" "by=nft\[[0-9]+\]"

t_ok "delete one map element" nd_on h nft delete element inet netd publish4 '{ tcp . 8080 }'
t_ok "restored within a second" nd_eventually 1 sh -c "[ \"\$(ip netns exec ${ND_NSP}-h nft -j list table inet netd | jq -S '[.nftables[] | select(.metainfo | not) | walk(if type == \"object\" then del(.handle) else . end) | walk(if type == \"object\" and has(\"elem\") then .elem |= sort_by(tostring) else . end)]')\" = '$before' ]"
t_ok "add a foreign rule to netd's chain" nd_on h nft add rule inet netd forward counter drop
t_ok "removed within a second" nd_eventually 1 sh -c "! ip netns exec ${ND_NSP}-h nft list chain inet netd forward | grep -q counter"
t_eq "repairs counted" "$(nd_api h GET /v1/info | cut -d' ' -f2- | jq '.Firewall.Repairs >= 3')" "true"

# kill -9 and restart: the table matches the store
t_ok "kill -9 netd" kill -9 "$ND_PID"
wait "$ND_PID" 2>/dev/null
t_eq "published port works while netd is dead" "$(get http://10.97.0.1:8081/index.html)" "hello from netd"
nd_on h nft add element inet netd publish4 '{ tcp . 9999 : 10.44.0.99 . 80 }'   # stale, not in the store
t_ok "restart netd" nd_start h
t_eq "after restart the table is what the store says" "$(listing)" "$before"

# a container that died while netd was down loses its elements
b_mon=$(nd_ctl h inspect b | jq -r '.[0].State.MonitorPid')
t_ok "kill -9 netd again" kill -9 "$ND_PID"
wait "$ND_PID" 2>/dev/null
b_pid=$(nd_ctl h inspect b 2>/dev/null | jq -r '.[0].State.Pid' || true)
for p in /proc/[0-9]*; do   # b's init is its monitor's child
        [ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$b_mon" ] && kill -9 "${p#/proc/}"
done
nd_eventually 3 sh -c "! kill -0 $b_mon 2>/dev/null"
t_ok "restart netd" nd_start h
t_eq "b is recorded as exited" "$(nd_ctl h inspect b | jq -r '.[0].State.Status')" "exited"
t_eq "only a's element is left" "$(nd_on h nft -j list map inet netd publish4 | jq -c '[.nftables[] | select(.map) | .map.elem[] | .[0].concat[1]]')" "[8080]"
t_err "b's port answers no more" get http://10.97.0.1:8081/index.html
t_eq "a's still does" "$(get http://10.97.0.1:8080/index.html)" "hello from netd"
nd_done
