#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/memory.sh BUILD_DIR [N]: netd's memory per endpoint.  Inside a
# throwaway host namespace, netd's VmRSS (/proc/PID/status) and Pss
# (/proc/PID/smaps_rollup) are read with two networks created and nothing
# attached, then after N (default 1000) CNI sandboxes (netd-cni ADD, each
# into a namespace of its own), then after N containers more made with
# `netctl create` (created, not started: a created container holds its
# endpoint, its addresses and its namespace).  Prints the growth per
# endpoint of each kind.  N is at most 1023: each kind has a network (a
# bridge) of its own.  Needs root and busybox (for `netctl rootfs init`).
set -u
. "$(dirname "$0")/lib.sh"
build=${1:?build dir}
n=${2:-1000}
[ "$(id -u)" = 0 ] || { echo "bench/memory: needs root"; exit 77; }
for t in busybox nsenter unshare; do
        command -v $t >/dev/null || { echo "bench/memory: $t not installed"; exit 77; }
done
netctl=$build/netd/netctl
cni=$build/netd/netd-cni
host="nd-mem-$$"
tmp=$(mktemp -d /tmp/nd-mem.XXXXXX)
sock=$tmp/run/netd.sock
pid=""
cleanup() {
        nd_bench_stop_netd "$build" "$tmp" "$pid"
        ip netns del "$host" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
# a timeout sends SIGTERM: exit through the EXIT trap
trap 'exit 143' TERM INT
ip netns add "$host" || exit 1
ip -n "$host" link set lo up
nsenter --net="/run/netns/$host" "$build/netd/netd" --state-dir "$tmp/state" --run-dir "$tmp/run" \
        --log-level warning 2>"$tmp/netd.log" &
pid=$!
for _ in $(seq 1 100); do
        [ -S "$sock" ] && break
        sleep 0.05
done
export NETD_SOCKET=$sock
ctl() { "$netctl" "$@"; }
fail() { echo "bench/memory: $*"; tail -n 20 "$tmp/netd.log"; exit 1; }
ctl version >/dev/null || { echo "bench/memory: netd did not start"; cat "$tmp/netd.log"; exit 1; }
ctl rootfs init >/dev/null || exit 1
# a network per kind: a Linux bridge takes at most 1024 ports (BR_MAX_PORTS)
ctl network create --subnet 10.95.0.0/16 mem-cni >/dev/null || exit 1
ctl network create --subnet 10.96.0.0/16 mem >/dev/null || exit 1

# KiB of netd: "RSS PSS"
mem() {
        local rss pss
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
        pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
        echo "$rss $pss"
}
per() { awk -v a="$1" -v b="$2" -v n="$n" 'BEGIN {printf "%.1f", (b - a) / n}'; }

read -r rss0 pss0 < <(mem)

NCONF='{"cniVersion":"1.0.0","name":"mem-cni","type":"netd","socket":"'"$sock"'"}'
mkdir -p "$tmp/ns"
for i in $(seq 1 "$n"); do
        touch "$tmp/ns/cni$i"
        unshare --net="$tmp/ns/cni$i" true || fail "namespace cni$i failed"
        CNI_COMMAND=ADD CNI_CONTAINERID="cni$i" CNI_NETNS="$tmp/ns/cni$i" CNI_IFNAME=eth0 \
                CNI_PATH=/usr/lib/cni nsenter --net="/run/netns/$host" "$cni" <<<"$NCONF" >/dev/null ||
                fail "netd-cni ADD cni$i failed"
done
read -r rss1 pss1 < <(mem)

for i in $(seq 1 "$n"); do
        ctl create --name "c$i" --network mem sleep 100000 >/dev/null || fail "create c$i failed"
done
read -r rss2 pss2 < <(mem)

printf 'memory: N=%d CNI sandboxes: RSS %d KiB -> %d KiB, %s KiB each (Pss %d -> %d KiB, %s KiB each)\n' \
        "$n" "$rss0" "$rss1" "$(per "$rss0" "$rss1")" "$pss0" "$pss1" "$(per "$pss0" "$pss1")"
printf 'memory: N=%d containers (created): RSS %d KiB -> %d KiB, %s KiB each (Pss %d -> %d KiB, %s KiB each)\n' \
        "$n" "$rss1" "$rss2" "$(per "$rss1" "$rss2")" "$pss1" "$pss2" "$(per "$pss1" "$pss2")"
printf 'memory: both kinds, %d endpoints: RSS %d KiB -> %d KiB, %s KiB each\n' \
        "$((2 * n))" "$rss0" "$rss2" "$(awk -v a="$rss0" -v b="$rss2" -v n="$((2 * n))" 'BEGIN {printf "%.1f", (b - a) / n}')"
