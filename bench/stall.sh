#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/stall.sh BUILD_DIR [N] [M]: does netd's event loop stall under
# churn?  Inside a throwaway host namespace, bench-stall-probe sends an A
# query for another container's name to the embedded DNS (127.0.0.11) every
# 10 ms from inside a long-running container, on schedule whether or not
# the last one was answered, and times every answer (monotonic clock; 1 s
# without an answer counts as lost and as 1000 ms).  First a quiet window
# of the same probe with nothing else going on (the reference), then a
# churn window: N containers (default 1000) created one after the other
# with `netctl run -d`, then removed with `netctl rm -f`, while M (default
# 200) CNI ADD/DEL pairs run through netd-cni beside them.  Prints the p99
# and worst answer time of each window, and how long the creations and
# the removals took.  NETD_ARGS adds flags to netd (e.g. "--dns-realtime
# off").  Needs root and busybox (for `netctl rootfs init`).
set -u
. "$(dirname "$0")/lib.sh"
export LC_ALL=C # EPOCHREALTIME with a '.'
build=${1:?build dir}
n=${2:-1000}
m=${3:-200}
quiet_secs=10
[ "$(id -u)" = 0 ] || { echo "bench/stall: needs root"; exit 77; }
for t in busybox curl jq nsenter; do
        command -v $t >/dev/null || { echo "bench/stall: $t not installed"; exit 77; }
done
netctl=$build/netd/netctl
cni=$build/netd/netd-cni
probe=$build/bench/bench-stall-probe
host="nd-stall-$$"
tmp=$(mktemp -d /tmp/nd-stall.XXXXXX)
sock=$tmp/run/netd.sock
pid="" probe_pid="" cni_pid=""
cleanup() {
        for p in $probe_pid $cni_pid; do
                kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
        done
        nd_bench_stop_netd "$build" "$tmp" "$pid" rm
        ip netns del "$host" 2>/dev/null
        ip netns del "$host-cni" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
# a timeout sends SIGTERM: exit through the EXIT trap
trap 'exit 143' TERM INT
ip netns add "$host" && ip netns add "$host-cni" || exit 1
ip -n "$host" link set lo up
nd_bench_netd_with_probe stall "$build" "$tmp" "$host" 10.94.0.0/16 st || exit 1
ctl() { "$netctl" "$@"; }

now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
secs() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1e6}'; }
field() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"; } # FILE KEY: a value of the probe's line

# ---- the reference: the same probe, nothing else going on ------------------
nsenter --net="$probe_ns" "$probe" 127.0.0.11 target 10 "$quiet_secs" >"$tmp/quiet" || exit 1

# ---- churn -------------------------------------------------------------------
nsenter --net="$probe_ns" "$probe" 127.0.0.11 target 10 >"$tmp/churn" &
probe_pid=$!
NCONF='{"cniVersion":"1.0.0","name":"st","type":"netd","socket":"'"$sock"'"}'
(
        for i in $(seq 1 "$m"); do
                for cmd in ADD DEL; do
                        CNI_COMMAND=$cmd CNI_CONTAINERID="cni$i" CNI_NETNS="/run/netns/$host-cni" CNI_IFNAME=eth0 \
                                CNI_PATH=/usr/lib/cni nsenter --net="/run/netns/$host" "$cni" <<<"$NCONF" >/dev/null ||
                                { echo "bench/stall: netd-cni $cmd cni$i failed"; exit 1; }
                done
        done
        now_us >"$tmp/cni-end"
) &
cni_pid=$!
t0=$(now_us)
for i in $(seq 1 "$n"); do
        ctl run -d --name "c$i" --network st sleep 100000 >/dev/null || { echo "bench/stall: run c$i failed"; exit 1; }
done
t1=$(now_us)
for i in $(seq 1 "$n"); do
        ctl rm -f "c$i" >/dev/null || { echo "bench/stall: rm c$i failed"; exit 1; }
done
t2=$(now_us)
wait "$cni_pid" || exit 1
cni_pid=""
kill -TERM "$probe_pid"
wait "$probe_pid" || exit 1
probe_pid=""
info=$(curl -s --unix-socket "$sock" http://netd/v1/info)
loop=$(jq -r '.Loop | "\(.LagMaxSeconds * 1000 | . * 100 | round / 100) ms over its last \(.WindowSeconds) s"' <<<"$info")
# an older netd has no such fields: "-"
sched=$(jq -r '.Dns | "\(.Scheduling // "-"), \(.RealtimeDemotions // "-") drops to normal priority"' <<<"$info")

cni_secs=$(secs $(( $(cat "$tmp/cni-end") - t0 )))
printf 'stall: N=%d M=%d DNS answer during churn: p99 %s ms, worst %s ms; quiet: p99 %s ms, worst %s ms\n' \
        "$n" "$m" "$(field "$tmp/churn" p99_ms)" "$(field "$tmp/churn" worst_ms)" \
        "$(field "$tmp/quiet" p99_ms)" "$(field "$tmp/quiet" worst_ms)"
printf 'stall: the same from the kernel'"'"'s receive time of each answer (without the probe'"'"'s own wake-up): churn p99 %s ms, worst %s ms; quiet p99 %s ms, worst %s ms\n' \
        "$(field "$tmp/churn" arr_p99_ms)" "$(field "$tmp/churn" arr_worst_ms)" \
        "$(field "$tmp/quiet" arr_p99_ms)" "$(field "$tmp/quiet" arr_worst_ms)"
printf 'stall: queries (answered, lost, errors): churn %s (%s, %s, %s), quiet %s (%s, %s, %s); medians: churn %s ms, quiet %s ms\n' \
        "$(field "$tmp/churn" queries)" "$(field "$tmp/churn" answered)" "$(field "$tmp/churn" lost)" \
        "$(field "$tmp/churn" errors)" "$(field "$tmp/quiet" queries)" "$(field "$tmp/quiet" answered)" \
        "$(field "$tmp/quiet" lost)" "$(field "$tmp/quiet" errors)" "$(field "$tmp/churn" p50_ms)" \
        "$(field "$tmp/quiet" p50_ms)"
printf 'stall: %d creations took %s s, %d removals %s s; the %d CNI ADD/DEL pairs beside them %s s\n' \
        "$n" "$(secs $(( t1 - t0 )))" "$n" "$(secs $(( t2 - t1 )))" "$m" "$cni_secs"
printf "stall: netd's own loop-lag gauge (/v1/info Loop.LagMaxSeconds, a 0.5 s timer): worst %s\n" "$loop"
printf "stall: the DNS thread (/v1/info Dns.Scheduling) at the end: %s\n" "$sched"
