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
