#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/portmap.sh BUILD_DIR [COUNT]: publish COUNT (default 1000) ports
# with netd's nftables maps, then with the reference CNI portmap plugin
# (iptables), in one throwaway namespace.  Prints the median time per
# mapping of the first and the last 100 for each.
set -u
build=${1:?build dir}
count=${2:-1000}
[ "$(id -u)" = 0 ] || { echo "bench/portmap: needs root"; exit 77; }
plugin=/usr/lib/cni/portmap
ns="nd-bench-pm-$$"
cleanup() { ip netns del "$ns" 2>/dev/null; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
if [ -x "$plugin" ] && command -v iptables >/dev/null; then
        ip netns exec "$ns" "$build/bench/bench-portmap" "$count" "$plugin" "/run/netns/$ns"
else
        echo "bench/portmap: CNI portmap or iptables missing; netd only"
        ip netns exec "$ns" "$build/bench/bench-portmap" "$count"
fi
