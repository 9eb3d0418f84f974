#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/reap.sh BUILD_DIR [COUNT]: what deleting COUNT (default 500) veth
# pairs costs the kernel, in one throwaway namespace.  (a) one RTM_DELLINK
# per pair, (b) each pair's end moved into one link group, then one
# RTM_DELLINK of the group: one RCU grace period instead of COUNT.  Both
# run through `ip -batch`, so no process is started per link.  Then, if
# BUILD_DIR/bench/bench-reap exists, netd's own reaper: the pairs deleted
# one at a time (each queued from the last one's callback), then all
# queued at once, with a link already in netd's first group that must
# survive.
set -u
build=${1:?build dir}
count=${2:-500}
[ "$(id -u)" = 0 ] || { echo "bench/reap: needs root"; exit 77; }
ns="nd-bench-reap-$$"
tmp=$(mktemp -d /tmp/nd-bench-reap.XXXXXX)
cleanup() { ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up
group=$((0x6e64ffff))

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }

make_pairs() {
        local i
        for ((i = 0; i < count; i++)); do
                echo "link add ra$i type veth peer name rb$i"
        done >"$tmp/add"
        ip -n "$ns" -batch "$tmp/add" || exit 1
}

links() { ip -n "$ns" -o link show | grep -c ': r[ab][0-9]*@'; }

make_pairs
for ((i = 0; i < count; i++)); do echo "link del ra$i"; done >"$tmp/del"
t0=$(now)
ip -n "$ns" -batch "$tmp/del" || exit 1
one=$(secs "$t0" "$(now)")
[ "$(links)" = 0 ] || { echo "bench/reap: pairs left after one by one"; exit 1; }

make_pairs
for ((i = 0; i < count; i++)); do echo "link set ra$i group $group"; done >"$tmp/group"
echo "link delete group $group" >>"$tmp/group"
t0=$(now)
ip -n "$ns" -batch "$tmp/group" || exit 1
batched=$(secs "$t0" "$(now)")
[ "$(links)" = 0 ] || { echo "bench/reap: pairs left after the group delete"; exit 1; }
echo "reap: $count veth pairs, one by one $one s, batched $batched s, ratio $(ratio "$one" "$batched")"

bin=$build/bench/bench-reap
[ -x "$bin" ] || exit 0
ip -n "$ns" link add ndkeep type veth peer name ndkeep1 && ip -n "$ns" link set ndkeep group $((0x6e640000)) || exit 1
make_pairs
read -r serial _ failed < <(ip netns exec "$ns" "$bin" ra "$count" serial) || { echo "bench/reap: reaper failed"; exit 1; }
make_pairs
read -r queued groups failed < <(ip netns exec "$ns" "$bin" ra "$count" queued) || { echo "bench/reap: reaper failed"; exit 1; }
[ "$(links)" = 0 ] || { echo "bench/reap: pairs left after the reaper"; exit 1; }
ip -n "$ns" link show ndkeep >/dev/null 2>&1 || { echo "bench/reap: the reaper deleted a link it was not given"; exit 1; }
echo "reap: netd's reaper, $count veth pairs, one at a time $serial s, all queued $queued s ($groups group deletes), ratio $(ratio "$serial" "$queued")"
