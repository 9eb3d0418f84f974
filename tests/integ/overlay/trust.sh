#!/bin/bash
# A cluster that keeps its integrity (issue 12), replayed the way each
# failure was found:
# - two hosts with the same host name get distinct node ids and distinct
#   addresses, and see each other;
# - endpoint records injected into etcd (an unknown node, a live node's id
#   without its lease, addresses outside the node's blocks) are ignored and
#   counted; from a container, etcd and peers' tunnel ports are out of reach,
#   and a VXLAN port takes frames only from live peers;
# - a cloned state dir (same node id, other address) refuses to start;
# - restarts (SIGTERM and kill -9) of one host lose no ping between hosts;
# - a 30 s etcd outage: local attach/detach go on, and the other host
#   catches up afterwards;
# - a dead node: node rm refused while live, works when down; blocks
#   reclaimed after the grace period; network rm names the hosts in use.
. "$ND_SRC/tests/integ/lib/netns.sh"

nd_underlay h1 h2 h3 h4
nd_etcd sw e1 10.99.0.254 || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
ETCDCTL="etcdctl --endpoints 10.99.0.254:2379"
declare -A PID
# h1 and h2 share one node name, as two clones of one VM image would
for i in 1 2; do
        nd_start "h$i" --store "$ND_ETCD_URL" --etcd-insecure --advertise-addr "10.99.0.$i" --node-name twin \
                --dns 10.99.0.254 --node-ttl 3 || exit 1
        PID[h$i]=$ND_PID
        nd_rootfs "h$i"
done
rejected() { nd_ctl "$1" version >/dev/null; curl -s --unix-socket "$(nd_sock "$1")" http://netd/v1/info | jq -r '.Cluster.RejectedRecords'; }
ip_of() { nd_ctl "$1" inspect "$2" | jq -r '.[0].Endpoints[0].IPAddress'; }
fdb() { bridge -n "${ND_NSP}-$1" fdb show | grep ' dst ' || true; }
id_of() { cat "$ND_TMP/$1/state/node-id"; }

t_match "a node id was generated" "$(id_of h1)" '^[0-9a-f]{32}$'
t_ok "the two hosts have different ids" test "$(id_of h1)" != "$(id_of h2)"
t_eq "both are listed, live, under one name" "$(nd_ctl h1 node ls | awk 'NR > 1 {print $2, $4}' | sort | uniq -c | awk '{print $1, $2, $3}')" "2 twin live"
t_ok "an overlay network" nd_ctl h1 network create -d overlay --subnet 10.70.0.0/24 ov
t_ok "h2 sees it" nd_eventually 3 env NETD_SOCKET="$(nd_sock h2)" "$NETCTL" network inspect ov
for i in 1 2 3; do
        nd_ctl h1 run -d --name "a$i" --network ov --network-alias web sleep 600 >/dev/null
        nd_ctl h2 run -d --name "b$i" --network ov sleep 600 >/dev/null
done
all=$(for c in a1 a2 a3; do ip_of h1 $c; done; for c in b1 b2 b3; do ip_of h2 $c; done)
t_eq "six containers, six addresses" "$(echo "$all" | sort -u | wc -l)" "6"
t_eq "each twin holds its own block" \
        "$(nd_ctl h1 network inspect ov | jq -r '[.[0].Overlay.Blocks[].NodeId] | unique | length')" "2"
t_ok "b1 (h2) pings a1 (h1) by name" nd_eventually 3 nd_in h2 b1 ping -c 1 -W 1 a1
t_ok "a1 (h1) pings b3 (h2) by name" nd_in h1 a1 ping -c 1 -W 2 b3

# ---- injected records ----
NET=$(nd_ctl h1 network inspect ov | jq -r '.[0].Id')
ID1=$(id_of h1)
GHOST=0123456789abcdef0123456789abcdef
CT=$(printf 'f%.0s' $(seq 1 64))
rec() { printf '{"Node":"%s","Vtep":"%s","Mac":"02:42:0a:46:00:63","IPv4":"%s","Name":"evil","Hostname":"evil","Aliases":["web"]}' "$@"; }
base=$(rejected h2)
t_ok "etcd takes a ghost node's endpoint" nd_on sw $ETCDCTL put "/netd/v1/global/endpoints/$GHOST/$NET/$CT" "$(rec $GHOST 10.99.0.200 10.70.0.99)"
t_ok "h2 counts it as rejected" nd_eventually 3 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h2) $NETCTL version >/dev/null; curl -s --unix-socket $(nd_sock h2) http://netd/v1/info | jq -r .Cluster.RejectedRecords)\" -gt $base ]"
t_ok "a live node's id without its lease" nd_on sw $ETCDCTL put "/netd/v1/global/endpoints/$ID1/$NET/$CT" "$(rec "$ID1" 10.99.0.1 10.70.0.98)"
LEASE=$(printf '%x' "$(nd_on sw $ETCDCTL get -w fields "/netd/v1/global/live/$ID1" | awk '/"Lease"/ {print $3}')")
t_ok "a live node's id on its lease, with an address outside its blocks" \
        nd_on sw $ETCDCTL put --lease="$LEASE" "/netd/v1/global/endpoints/$ID1/$NET/$(printf 'e%.0s' $(seq 1 64))" "$(rec "$ID1" 10.99.0.1 10.70.0.200)"
t_ok "all three counted" nd_eventually 3 sh -c "[ \"\$(curl -s --unix-socket $(nd_sock h2) http://netd/v1/info | jq -r .Cluster.RejectedRecords)\" -ge $((base + 3)) ]"
t_match "the last reason is named" "$(curl -s --unix-socket "$(nd_sock h2)" http://netd/v1/info | jq -r .Cluster.LastRejected)" "not in an address block of its node"
t_eq "no FDB entry towards the attacker" "$(fdb h2 | grep -c -e 10.99.0.200 -e 02:42:0a:46:00:63)" "0"
t_eq "the alias still answers only h1's containers" \
        "$(nd_ctns h2 b1 dig +short @127.0.0.11 web | sort | tr '\n' ' ')" "$(for c in a1 a2 a3; do ip_of h1 $c; done | sort | tr '\n' ' ')"
t_err "the ghost's name does not resolve" nd_in h2 b1 nslookup evil 127.0.0.11
nd_on sw $ETCDCTL del --prefix "/netd/v1/global/endpoints/$GHOST/" >/dev/null
nd_on sw $ETCDCTL del "/netd/v1/global/endpoints/$ID1/$NET/$CT" >/dev/null

# from a container: no etcd, no tunnel ports; egress still works
nd_bg nd_on sw socat TCP-LISTEN:7777,fork,reuseaddr SYSTEM:'echo hello'
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-sw ss -Htln | grep -q ':7777 '"
t_eq "a container's egress works" "$(NETD_SOCKET=$(nd_sock h1) timeout 5 "$NETCTL" exec a1 nc 10.99.0.254 7777 </dev/null)" "hello"
t_err "a container cannot reach etcd" nd_ctns h1 a1 socat -u /dev/null TCP:10.99.0.254:2379,connect-timeout=2
t_ok "its host can" nd_on h1 curl -sf -m 2 -X POST -d '{"key":"AA=="}' http://10.99.0.254:2379/v3/kv/range
GW=$(nd_ctl h1 network inspect ov | jq -r '.[0].IPAM.Config[0].Gateway')
vx_rx() { ip -n "${ND_NSP}-$1" -s -j link show "vx-${NET:0:12}" | jq '.[0].stats64.rx.packets'; }
frame() {
        # VXLAN header (I flag, VNI) + an Ethernet broadcast frame
        local vni
        vni=$(nd_ctl h1 network inspect ov | jq -r '.[0].Options.vni')
        printf '\x08\x00\x00\x00'"$(printf '\\x%02x\\x%02x\\x%02x' $((vni >> 16 & 255)) $((vni >> 8 & 255)) $((vni & 255)))"'\x00'
        printf '\xff\xff\xff\xff\xff\xff\x02\x42\x0a\x46\x00\x63\x08\x06'
        head -c 46 /dev/zero
}
frame >"$ND_TMP/frame"
r0=$(vx_rx h2)
nd_on sw socat -u "OPEN:$ND_TMP/frame" UDP:10.99.0.2:4789
sleep 0.3
t_eq "h2's VXLAN port drops a frame from a host that is not a peer" "$(vx_rx h2)" "$r0"
nd_on h1 socat -u "OPEN:$ND_TMP/frame" UDP:10.99.0.2:4789
t_ok "and takes one from a live peer" nd_eventually 2 sh -c "[ \"\$(ip -n ${ND_NSP}-h2 -s -j link show vx-${NET:0:12} | jq '.[0].stats64.rx.packets')\" -gt $r0 ]"
r0=$(vx_rx h2)
nd_ctns h1 a1 socat -u "OPEN:$ND_TMP/frame" UDP:10.99.0.2:4789
sleep 0.3
t_eq "a container cannot send frames to a peer's tunnel port" "$(vx_rx h2)" "$r0"
# an etcd on the host itself, listening on every address, as in small setups
nd_bg nd_on h1 socat TCP-LISTEN:2379,fork,reuseaddr SYSTEM:'echo etcd'
nd_bg nd_on h1 socat TCP-LISTEN:7778,fork,reuseaddr SYSTEM:'echo host-service'
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-h1 ss -Htln | grep -q ':7778 '"
t_err "nor the store's port at its gateway" nd_ctns h1 a1 socat -u /dev/null TCP:"$GW":2379,connect-timeout=2
t_eq "while other host services at the gateway still answer" \
        "$(nd_ctns h1 a1 socat -u TCP:"$GW":7778,connect-timeout=2 - 2>&1)" "host-service"

# ---- a cloned state dir ----
mkdir -p "$ND_TMP/h3/state"
cp "$ND_TMP/h1/state/node-id" "$ND_TMP/h3/state/node-id"
nd_start h3 --store "$ND_ETCD_URL" --etcd-insecure --advertise-addr 10.99.0.3 --node-ttl 3 >/dev/null 2>&1
t_ok "a clone of h1's state dir refuses to start" nd_eventually 5 sh -c "! kill -0 $ND_PID 2>/dev/null"
t_match "and says why and what to do" "$(grep 'level=error' "$ND_TMP/h3/netd.log" | head -1)" "held by a live node at another address.*remove the node-id file"
t_eq "h1 is untouched" "$(nd_ctl h2 node ls | awk '$4 == "live"' | wc -l)" "2"
rm -rf "$ND_TMP/h3/state"
out=$(nsenter --net="/run/netns/${ND_NSP}-h3" "$NETD" --state-dir "$ND_TMP/h3/x" --run-dir "$ND_TMP/h3/xr" \
        --store "$ND_ETCD_URL" --advertise-addr 10.99.0.3 2>&1)
t_eq "a plain-http store without --etcd-insecure is refused (usage error)" "$?" "2"
t_match "and the message says what to give" "$out" "plain http.*--etcd-cacert.*--etcd-insecure"
t_match "netd warns about plain http at start" "$(grep -c 'plain http' "$ND_TMP/h1/netd.log")" '^[1-9]'

# ---- restarts lose no packet ----
A1=$(ip_of h1 a1)
pingrun() {
        local how=$1
        NETD_SOCKET=$(nd_sock h2) "$NETCTL" exec b1 ping -c 60 -i 0.05 -W 2 -q "$A1" >"$ND_TMP/ping-$how" 2>&1 &
        local p=$!
        sleep 0.5
        kill "-$how" "${PID[h1]}"
        wait "${PID[h1]}" 2>/dev/null
        nd_start h1 --store "$ND_ETCD_URL" --etcd-insecure --advertise-addr 10.99.0.1 --node-name twin \
                --dns 10.99.0.254 --node-ttl 3 >/dev/null || return 1
        PID[h1]=$ND_PID
        wait $p
}
pingrun TERM
t_eq "a SIGTERM restart of h1 loses no ping from h2 (60 at 20/s)" \
        "$(grep -o '[0-9]* packets received' "$ND_TMP/ping-TERM")" "60 packets received"
pingrun KILL
t_eq "a kill -9 restart of h1 loses none either" \
        "$(grep -o '[0-9]* packets received' "$ND_TMP/ping-KILL")" "60 packets received"
t_match "h1 kept its lease across the restart" "$(grep -c 'kept the node lease' "$ND_TMP/h1/netd.log")" '^[1-9]'
t_eq "h2 never dropped h1's endpoints" "$(grep -c 'node left' "$ND_TMP/h2/netd.log")" "0"
t_ok "names still resolve across hosts" nd_in h2 b1 ping -c 1 -W 2 a2

# ---- a 30 s etcd outage ----
kill -TERM "$ND_ETCD_PID"
wait "$ND_ETCD_PID" 2>/dev/null
t_ok "during the outage: a new container on h1" nd_ctl h1 run -d --name late --network ov sleep 600
t_ok "its local network works" nd_in h1 late ping -c 1 -W 2 a1
t_ok "a container removed on h2" nd_ctl h2 rm -f b3
t_ok "and a bridge network's attach and detach" sh -c "NETD_SOCKET=$(nd_sock h2) $NETCTL network create loc >/dev/null &&
        NETD_SOCKET=$(nd_sock h2) $NETCTL run --rm --network loc true"
sleep 27
nd_etcd sw e1 10.99.0.254 e1=http://10.99.0.254:2380 existing || exit 1
nd_etcd_ready sw 10.99.0.254 || exit 1
t_ok "after it: h2 reaches the container started during the outage, by name" nd_eventually 15 nd_in h2 b1 ping -c 1 -W 1 late
t_ok "and h1 no longer resolves the one removed" nd_eventually 10 sh -c "! NETD_SOCKET=$(nd_sock h1) $NETCTL exec a1 nslookup b3 127.0.0.11"
t_eq "both hosts are live" "$(nd_ctl h1 node ls | awk '$4 == "live"' | wc -l)" "2"

# ---- dead nodes ----
nd_start h3 --store "$ND_ETCD_URL" --etcd-insecure --advertise-addr 10.99.0.3 --node-name h3 --node-ttl 2 >/dev/null || exit 1
PID[h3]=$ND_PID
t_ok "an overlay network only h3 uses" nd_ctl h1 network create -d overlay --subnet 10.71.0.0/24 ov2
t_ok "h3 sees it" nd_eventually 3 env NETD_SOCKET="$(nd_sock h3)" "$NETCTL" network inspect ov2
t_ok "h3 takes an address (and so a block)" nd_ctl h3 ipam alloc ov2
t_err "node rm of a live node is refused" nd_ctl h1 node rm h3
t_match "with the reason" "$(nd_ctl h1 node rm h3 2>&1)" "is live at 10.99.0.3"
kill -9 "${PID[h3]}"
wait "${PID[h3]}" 2>/dev/null
t_ok "h3 goes down after its TTL" nd_eventually 8 sh -c "NETD_SOCKET=$(nd_sock h1) $NETCTL node ls | awk '\$2 == \"h3\" {print \$4}' | grep -qx down"
t_match "network rm names the host still holding addresses" "$(nd_ctl h1 network rm ov2 2>&1)" "on node 'h3' \(down\)"
t_ok "node rm of the dead h3" nd_ctl h1 node rm h3
t_ok "its block is gone" nd_eventually 3 sh -c "! NETD_SOCKET=$(nd_sock h1) $NETCTL network inspect ov2 | jq -e '.[0].Overlay.Blocks[] | select(.Node == \"h3\")'"
t_ok "and the network can go" nd_ctl h1 network rm ov2
t_eq "and so is the node" "$(nd_ctl h1 node ls | awk '$2 == "h3"' | wc -l)" "0"

# automatic reclaim after the grace period (h2 restarted with 3 s)
kill -TERM "${PID[h2]}"
wait "${PID[h2]}" 2>/dev/null
nd_start h2 --store "$ND_ETCD_URL" --etcd-insecure --advertise-addr 10.99.0.2 --node-name twin --dns 10.99.0.254 \
        --node-ttl 3 --node-grace 3 >/dev/null || exit 1
PID[h2]=$ND_PID
nd_start h4 --store "$ND_ETCD_URL" --etcd-insecure --advertise-addr 10.99.0.4 --node-name h4 --node-ttl 2 >/dev/null || exit 1
PID[h4]=$ND_PID
t_ok "h4 takes an address" nd_ctl h4 ipam alloc ov
t_ok "h4's block is seen" nd_eventually 3 sh -c "NETD_SOCKET=$(nd_sock h1) $NETCTL network inspect ov | jq -e '.[0].Overlay.Blocks[] | select(.Node == \"h4\")'"
kill -9 "${PID[h4]}"
wait "${PID[h4]}" 2>/dev/null
t_ok "h4's block is reclaimed after TTL + grace" nd_eventually 15 sh -c "! NETD_SOCKET=$(nd_sock h1) $NETCTL network inspect ov | jq -e '.[0].Overlay.Blocks[] | select(.Node == \"h4\")'"
t_eq "h4 is no longer a member" "$(nd_ctl h1 node ls | awk '$2 == "h4"' | wc -l)" "0"
t_eq "no keys of h4 are left in etcd" "$(nd_on sw $ETCDCTL get --prefix /netd/v1/global/ --keys-only | grep -c "$(cat "$ND_TMP/h4/state/node-id")")" "0"
t_ok "netd stops cleanly (no leaks under ASan)" nd_stop "${PID[h1]}"
nd_done
