#!/bin/bash
# etcd with authentication enabled and one role per host, as
# docs/overlay.md sets it up: each host writes only its own live record and
# endpoint prefix (plus the shared prefixes for nodes, networks and block
# claims).  Two hosts work together through it; one host's credentials
# cannot overwrite or delete the other's records; a wrong password and a
# role without its own prefix are reported clearly.
. "$ND_SRC/tests/integ/lib/netns.sh"

nd_underlay h1 h2 h3
nd_etcd sw e1 10.99.0.254 || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
E="etcdctl --endpoints 10.99.0.254:2379"
ROOT="--user root:rootpw"
G=/netd/v1/global

# node ids first (netd --show-node-id makes one in the state dir), then
# one user and role per host
for h in h1 h2 h3; do
        mkdir -p "$ND_TMP/$h"
        ID[${h#h}]=$("$NETD" --state-dir "$ND_TMP/$h/state" --show-node-id) || exit 1
done
setup() {
        nd_on sw $E user add root --new-user-password=rootpw --interactive=false &&
                nd_on sw $E user grant-role root root || return 1
        local i
        for i in 1 2 3; do
                nd_on sw $E role add "netd-h$i" &&
                        nd_on sw $E role grant-permission "netd-h$i" read "$G/" --prefix=true || return 1
                if [ "$i" != 3 ]; then # h3's role lacks its own prefixes
                        nd_on sw $E role grant-permission "netd-h$i" readwrite "$G/live/${ID[$i]}" &&
                                nd_on sw $E role grant-permission "netd-h$i" readwrite "$G/endpoints/${ID[$i]}/" --prefix=true ||
                                return 1
                fi
                for p in nodes/ networks/ network-names/ vnis/ blocks/; do
                        nd_on sw $E role grant-permission "netd-h$i" readwrite "$G/$p" --prefix=true || return 1
                done
                nd_on sw $E user add "h$i" --new-user-password="pw$i" --interactive=false &&
                        nd_on sw $E user grant-role "h$i" "netd-h$i" || return 1
                echo "pw$i" >"$ND_TMP/h$i/pw"
        done
        nd_on sw $E auth enable
}
t_ok "etcd users and roles, auth enabled" setup
t_match "anonymous access is refused now" "$(nd_on sw $E get /x 2>&1)" "user name is empty|permission denied|invalid auth"

declare -A PID
for i in 1 2; do
        nd_start "h$i" --store "$ND_ETCD_URL" --etcd-insecure --etcd-user "h$i" --etcd-password-file "$ND_TMP/h$i/pw" \
                --advertise-addr "10.99.0.$i" --node-name "h$i" --dns 10.99.0.254 --node-ttl 3 || exit 1
        PID[h$i]=$ND_PID
        nd_rootfs "h$i"
done
t_eq "both hosts registered through their own users" "$(nd_ctl h1 node ls | awk '$4 == "live"' | wc -l)" "2"
t_ok "an overlay network" nd_ctl h1 network create -d overlay --subnet 10.72.0.0/24 ov
t_ok "h2 sees it" nd_eventually 3 env NETD_SOCKET="$(nd_sock h2)" "$NETCTL" network inspect ov
t_ok "run a on h1" nd_ctl h1 run -d --name a --network ov sleep 600
t_ok "run b on h2" nd_ctl h2 run -d --name b --network ov sleep 600
t_ok "b pings a by name across hosts" nd_eventually 3 nd_in h2 b ping -c 1 -W 1 a
t_ok "a pings b by name" nd_in h1 a ping -c 1 -W 2 b

H1="--user h1:pw1"
t_match "h1's user cannot overwrite h2's live record" \
        "$(nd_on sw $E $H1 put "$G/live/${ID[2]}" '{"Addr":"10.99.0.66"}' 2>&1)" "permission denied"
EP2=$(nd_on sw $E $ROOT get --prefix "$G/endpoints/${ID[2]}/" --keys-only | grep . | head -1)
t_match "h2 has an endpoint record" "$EP2" "^$G/endpoints/${ID[2]}/"
t_match "h1's user cannot delete it" "$(nd_on sw $E $H1 del "$EP2" 2>&1)" "permission denied"
t_match "nor write a record under h2's prefix" \
        "$(nd_on sw $E $H1 put "$G/endpoints/${ID[2]}/x" '{}' 2>&1)" "permission denied"
t_ok "h1's user writes its own prefix" nd_on sw $E $H1 put "$G/endpoints/${ID[1]}/probe" '{}'
nd_on sw $E $H1 del "$G/endpoints/${ID[1]}/probe" >/dev/null
t_ok "b still reaches a" nd_in h2 b ping -c 1 -W 2 a

# a wrong password, and a role without the host's own prefixes
echo wrong >"$ND_TMP/h3/bad"
nd_start h3 --store "$ND_ETCD_URL" --etcd-insecure --etcd-user h3 --etcd-password-file "$ND_TMP/h3/bad" \
        --advertise-addr 10.99.0.3 --node-name h3 --node-ttl 3 >/dev/null 2>&1
t_ok "a wrong password: netd does not start" nd_eventually 5 sh -c "! kill -0 $ND_PID 2>/dev/null"
t_match "and says the authentication failed" "$(grep 'level=error' "$ND_TMP/h3/netd.log" | head -1)" "authentication failed"
: >"$ND_TMP/h3/netd.log"
nd_start h3 --store "$ND_ETCD_URL" --etcd-insecure --etcd-user h3 --etcd-password-file "$ND_TMP/h3/pw" \
        --advertise-addr 10.99.0.3 --node-name h3 --node-ttl 3 >/dev/null 2>&1
t_ok "a role without its own prefix: netd does not start" nd_eventually 5 sh -c "! kill -0 $ND_PID 2>/dev/null"
t_match "and reports the permission error" "$(grep 'level=error' "$ND_TMP/h3/netd.log" | head -1)" "permission denied.*etcd user and role"

# etcd restarts (and forgets its tokens): netd authenticates again
kill -TERM "$ND_ETCD_PID"
wait "$ND_ETCD_PID" 2>/dev/null
nd_etcd sw e1 10.99.0.254 e1=http://10.99.0.254:2380 existing || exit 1
nd_etcd_ready sw 10.99.0.254 || exit 1
t_ok "after an etcd restart: a new container on h2" nd_ctl h2 run -d --name c --network ov sleep 600
t_ok "a reaches it by name (h2 published it again with a new token)" nd_eventually 10 nd_in h1 a ping -c 1 -W 1 c
t_eq "both hosts are still live" "$(nd_ctl h1 node ls | awk '$4 == "live"' | wc -l)" "2"
t_ok "netd stops cleanly (no leaks under ASan)" nd_stop "${PID[h1]}"
nd_done
