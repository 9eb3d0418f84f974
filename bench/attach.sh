#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/attach.sh BUILD_DIR [COUNT]: netd vs the reference CNI bridge +
# host-local plugins, attaching COUNT (default 200) sandboxes each, inside a
# throwaway host namespace.  Needs root and containernetworking-plugins.
set -u
build=${1:?build dir}
count=${2:-200}
[ "$(id -u)" = 0 ] || { echo "bench/attach: needs root"; exit 77; }
[ -x /usr/lib/cni/bridge ] || { echo "bench/attach: containernetworking-plugins not installed"; exit 77; }
ns="nd-bench-$$"
tmp=$(mktemp -d /tmp/nd-bench.XXXXXX)
pid=""
cleanup() {
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        grep " $tmp/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l 2>/dev/null
        ip netns del "$ns" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
# debug level: netd logs the kernel part of every attach ("sandbox wired"),
# which lets the breakdown below separate the kernel's cost from netd's own.
nsenter --net="/run/netns/$ns" "$build/netd/netd" --state-dir "$tmp/state" --run-dir "$tmp/run" \
        --log-level debug 2>"$tmp/netd.log" &
pid=$!
for _ in $(seq 1 100); do
        [ -S "$tmp/run/netd.sock" ] && break
        sleep 0.05
done
export NETD_SOCKET=$tmp/run/netd.sock
"$build/netd/netctl" rootfs init >/dev/null || exit 1
"$build/netd/netctl" network create --subnet 10.200.0.0/16 bench >/dev/null || exit 1
nsenter --net="/run/netns/$ns" "$build/bench/bench-attach" --socket "$NETD_SOCKET" --work "$tmp" --count "$count" \
        --out "$tmp/totals" || exit 1

# Breakdown: kernel = namespace + loopback + veth/addresses/routes (timed
# inside netd), netd's own = the rest of the request (validation, IPAM, the
# store's fdatasync, HTTP).  Medians of the first and the last 20.
grep -o 'netns_ms=[0-9.]* lo_ms=[0-9.]* endpoints_ms=[0-9.]*' "$tmp/netd.log" |
        awk -F'[= ]' '{print $2 + $4 + $6}' >"$tmp/kernel"
paste "$tmp/totals" "$tmp/kernel" | awk -v n="$count" '
function med(a, from, to,   k, m, i, j, t, b) {
        m = 0
        for (k = from; k <= to; k++) b[++m] = a[k]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
        return (b[int((m + 1) / 2)] + b[int(m / 2) + 1]) / 2
}
{ tot[NR] = $1; ker[NR] = $2; own[NR] = $1 - $2 }
END {
        printf "breakdown (median, first 20 -> last 20): kernel %.2f -> %.2f ms, netd own %.2f -> %.2f ms (%+.0f%%)\n",
                med(ker, 1, 20), med(ker, n - 19, n), med(own, 1, 20), med(own, n - 19, n),
                (med(own, n - 19, n) / med(own, 1, 20) - 1) * 100
}'
