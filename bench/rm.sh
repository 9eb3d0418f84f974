#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/rm.sh BUILD_DIR [N]: what removing N (default 1000) running
# containers costs, in one throwaway host namespace.  N containers are
# created (`netctl run -d`, one network), then removed by one
# `netctl rm -f` of all N: requests side by side, each answered once the
# container is out of netd's view and its removal recorded, while veths,
# namespaces, cgroups and bundles go on netd's reaper thread.  The same N
# are created again and removed the old way for reference, in the same
# run: one request at a time (`netctl rm -f --wait` per container), each
# answered after its teardown.  Prints both times and their ratio, how long
# the teardown ran on after the fast rm returned, and whether the loop
# stalled meanwhile: bench-stall-probe (bench/stall.sh) asks the embedded
# DNS every 10 ms from a container that stays, through each removal and its
# teardown (p99 and worst answer).  Needs root and busybox.
set -u
. "$(dirname "$0")/lib.sh"
export LC_ALL=C # EPOCHREALTIME with a '.'
build=${1:?build dir}
n=${2:-1000}
[ "$(id -u)" = 0 ] || { echo "bench/rm: needs root"; exit 77; }
for t in busybox curl jq nsenter; do
        command -v $t >/dev/null || { echo "bench/rm: $t not installed"; exit 77; }
done
netctl=$build/netd/netctl
probe=$build/bench/bench-stall-probe
host="nd-rm-$$"
tmp=$(mktemp -d /tmp/nd-rm.XXXXXX)
sock=$tmp/run/netd.sock
pid="" probe_pid=""
cleanup() {
        for p in $probe_pid; do
                kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
        done
        nd_bench_stop_netd "$build" "$tmp" "$pid" rm
        ip netns del "$host" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
# a timeout sends SIGTERM: exit through the EXIT trap
trap 'exit 143' TERM INT
ip netns add "$host" || exit 1
ip -n "$host" link set lo up
nd_bench_netd_with_probe rm "$build" "$tmp" "$host" 10.93.0.0/16 rmnet || exit 1
ctl() { "$netctl" "$@"; }

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
secs() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1e6}'; }
names() { seq -f 'c%g' 1 "$n"; }
create() {
        local c
        for c in $(names); do
                ctl run -d --name "$c" --network rmnet sleep 100000 >/dev/null ||
                        { echo "bench/rm: run $c failed"; exit 1; }
        done
}
# netd's reaper idle: every removed container's teardown done
settled() { curl -sf --unix-socket "$sock" http://netd/metrics | grep -qx 'netd_reaper_pending 0'; }
wait_settled() {
        for _ in $(seq 1 1200); do
                settled && return 0
                sleep 0.05
        done
        echo "bench/rm: the teardown did not finish within 60 s"
        exit 1
}
# the veths of the N (target's and probe's stay)
left() { ip -n "$host" -o link show | grep -c ' vnd'; }
probe_start() {
        nsenter --net="$probe_ns" "$probe" 127.0.0.11 target 10 >"$tmp/$1" &
        probe_pid=$!
}
probe_stop() {
        kill -TERM "$probe_pid"
        wait "$probe_pid" || { echo "bench/rm: the probe failed"; exit 1; }
        probe_pid=""
}
field() { tr ' ' '\n' <"$tmp/$1" | sed -n "s/^$2=//p"; } # FILE KEY: a value of the probe's line

# ---- one netctl rm -f of all N ---------------------------------------------
create
probe_start dns-fast
t0=$(now_us)
ctl rm -f $(names) >/dev/null || { echo "bench/rm: rm -f failed"; exit 1; }
t1=$(now_us)
[ "$(ctl ps -a -q | wc -l)" = 2 ] || { echo "bench/rm: containers left after rm -f"; exit 1; }
wait_settled
t2=$(now_us)
probe_stop
[ "$(left)" = 2 ] || { echo "bench/rm: veths left after the teardown"; exit 1; }
fast=$((t1 - t0)) tail_us=$((t2 - t1))

# ---- the reference: one request at a time, each waiting for its teardown --
create
probe_start dns-ref
t0=$(now_us)
for c in $(names); do
        ctl rm -f --wait "$c" >/dev/null || { echo "bench/rm: rm -f --wait $c failed"; exit 1; }
done
t1=$(now_us)
probe_stop
[ "$(left)" = 2 ] || { echo "bench/rm: veths left after the one-at-a-time removal"; exit 1; }
ref=$((t1 - t0))

printf 'rm -f of %d containers: %s s (reference: one-at-a-time synchronous path %s s, ratio %s)\n' \
        "$n" "$(secs "$fast")" "$(secs "$ref")" "$(awk -v a="$fast" -v b="$ref" 'BEGIN {printf "%.3f", a / b}')"
printf 'rm: the teardown (veths, namespaces, cgroups, bundles) ran on %s s after rm -f returned\n' "$(secs "$tail_us")"
printf 'rm: DNS answers (every 10 ms) through rm -f and its teardown: p99 %s ms, worst %s ms, lost %s; through the one-at-a-time path: p99 %s ms, worst %s ms, lost %s\n' \
        "$(field dns-fast p99_ms)" "$(field dns-fast worst_ms)" "$(field dns-fast lost)" \
        "$(field dns-ref p99_ms)" "$(field dns-ref worst_ms)" "$(field dns-ref lost)"
