# SPDX-License-Identifier: Apache-2.0
# bench/lib.sh: what the benches share (sourced).

# nd_bench_stop_netd BUILD TMP PID [rm]: with "rm", remove every container
# the netd at TMP/run/netd.sock made first (their monitors stop); stop
# netd (PID, may be empty); unmount whatever is still mounted under TMP and
# remove the containers' cgroups.
nd_bench_stop_netd() {
        local build=$1 tmp=$2 pid=$3 sock=$2/run/netd.sock d
        if [ -n "$pid" ]; then
                [ "${4:-}" = rm ] &&
                        NETD_SOCKET=$sock "$build/netd/netctl" rm -f \
                                $(NETD_SOCKET=$sock "$build/netd/netctl" ps -a -q) >/dev/null 2>&1
                kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        fi
        grep " $tmp/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l 2>/dev/null
        for d in "$tmp"/state/containers/*/; do
                [ -d "$d" ] || continue
                d=$(basename "$d")
                rmdir /sys/fs/cgroup/netd/"$d" /sys/fs/cgroup/memory/netd/"$d" /sys/fs/cgroup/pids/netd/"$d" 2>/dev/null
        done
}

# nd_bench_netd_with_probe WHAT BUILD TMP HOST SUBNET NET: netd in the
# namespace HOST (made already, loopback up) with state under TMP and no
# upstream resolver (every query is an in-network name), the default
# rootfs, network NET on SUBNET, and two containers on it: "target", the
# name asked for, and "probe", where bench-stall-probe asks it.  Sets pid
# (netd's) and probe_ns (the probe's namespace); NETD_SOCKET exported.
# NETD_ARGS, when set, adds netd flags (e.g. "--dns-realtime off").
# Prints why and returns 1 when a step fails (WHAT names the bench).
nd_bench_netd_with_probe() {
        local what=$1 build=$2 tmp=$3 host=$4 subnet=$5 net=$6 c
        echo >"$tmp/empty-resolv.conf"
        # shellcheck disable=SC2086 # NETD_ARGS: words
        nsenter --net="/run/netns/$host" "$build/netd/netd" --state-dir "$tmp/state" --run-dir "$tmp/run" \
                --resolv-conf "$tmp/empty-resolv.conf" --log-level warning ${NETD_ARGS:-} 2>"$tmp/netd.log" &
        pid=$!
        for _ in $(seq 1 100); do
                [ -S "$tmp/run/netd.sock" ] && break
                sleep 0.05
        done
        export NETD_SOCKET=$tmp/run/netd.sock
        c=$build/netd/netctl
        "$c" version >/dev/null || { echo "bench/$what: netd did not start"; cat "$tmp/netd.log"; return 1; }
        "$c" rootfs init >/dev/null && "$c" network create --subnet "$subnet" "$net" >/dev/null &&
                "$c" run -d --name target --network "$net" sleep 100000 >/dev/null &&
                "$c" run -d --name probe --network "$net" sleep 100000 >/dev/null || return 1
        probe_ns=$tmp/run/netns/$("$c" inspect probe | jq -r '.[0].Id')
        nsenter --net="$probe_ns" "$build/bench/bench-stall-probe" 127.0.0.11 target 10 1 | grep -q ' errors=0 ' ||
                { echo "bench/$what: the probe gets no answer for 'target'"; return 1; }
}
