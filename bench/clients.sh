#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/clients.sh BUILD_DIR [COUNT]: what a client process costs, each
# figure against its reference measured in the same run, inside a
# throwaway host namespace.  COUNT (default 200) paired runs of each.
#  1. `netctl version`, process start to exit, against bench-trivial-client
#     (the same connect/write/read and nothing else), alternating; medians
#     and the ratio (goal: <= 2x);
#  2. netctl's CPU time per run (user + system, from getrusage of the
#     children over COUNT runs), the trivial client's beside it
#     (goal: <= 1.5 ms);
#  3. netd-cni ADD and DEL against the reference CNI bridge + host-local
#     plugins, alternating, every call under the same `nsenter --net`
#     wrapper, whose own cost (nsenter running /bin/true) is measured in the
#     same loop and subtracted from each median (goal: <= 0.2x each);
#  4. the network part of `netctl run -d` and of `netctl network connect`
#     on a bridge network: netd's own attach time (veth, addresses,
#     routes: GET /metrics, netd_attach_duration_seconds, mean) over
#     COUNT/4 (at most 50) of each, against the reference plugins' ADD
#     median of part 3 (goal: <= 0.15x).  Needs busybox (rootfs).
# Needs root and containernetworking-plugins.
set -u
export LC_ALL=C # EPOCHREALTIME with a '.'
build=${1:?build dir}
count=${2:-200}
[ "$(id -u)" = 0 ] || { echo "bench/clients: needs root"; exit 77; }
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] ||
        { echo "bench/clients: containernetworking-plugins not installed"; exit 77; }
command -v nsenter >/dev/null || { echo "bench/clients: nsenter not installed"; exit 77; }
netctl=$build/netd/netctl
trivial=$build/bench/bench-trivial-client
cni=$build/netd/netd-cni
host="nd-clients-$$"
tmp=$(mktemp -d /tmp/nd-clients.XXXXXX)
pid=""
pods=()
cleanup() {
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        grep " $tmp/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l 2>/dev/null
        for n in "$host" "$host-a" "$host-b" "${pods[@]}"; do
                ip netns del "$n" 2>/dev/null
        done
        rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$host" && ip netns add "$host-a" && ip netns add "$host-b" || exit 1
# each pod gets a namespace of its own, as runtimes make them: 8 for each
# plugin, taken in turn, so a namespace comes back only after 8 pods
for k in $(seq 0 7); do
        ip netns add "$host-a$k" && ip netns add "$host-b$k" || exit 1
        pods+=("$host-a$k" "$host-b$k")
done
ip -n "$host" link set lo up
nsenter --net="/run/netns/$host" "$build/netd/netd" --state-dir "$tmp/state" --run-dir "$tmp/run" \
        --log-level warning 2>"$tmp/netd.log" &
pid=$!
sock=$tmp/run/netd.sock
for _ in $(seq 1 100); do
        [ -S "$sock" ] && break
        sleep 0.05
done
export NETD_SOCKET=$sock
"$netctl" version >/dev/null || { echo "bench/clients: netd did not start"; cat "$tmp/netd.log"; exit 1; }
"$trivial" "$sock" | grep -q '^HTTP/1.1 200' || { echo "bench/clients: trivial client failed"; exit 1; }

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.3f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf (b > 0 ? "%.2f" : "n/a"), (b > 0 ? a / b : 0)}'; }
# cpu_us: the children's user + system CPU so far, in microseconds of
# millisecond resolution, from bash's `times` in this shell, parsed without
# a process (one would add its own CPU to the next reading)
cpu_mark() {
        local u s t=0 re='^([0-9]+)m([0-9]+)\.([0-9]{3})s$'
        times >"$tmp/times"
        { read -r _ _; read -r u s; } <"$tmp/times"
        for f in "$u" "$s"; do
                [[ $f =~ $re ]] || { echo "bench/clients: cannot read times: '$f'"; exit 1; }
                t=$(( t + (10#${BASH_REMATCH[1]} * 60 + 10#${BASH_REMATCH[2]}) * 1000000 + 10#${BASH_REMATCH[3]} * 1000 ))
        done
        cpu_us=$t
}

# ---- 1 and 2: netctl version --------------------------------------------------
: >"$tmp/netctl" && : >"$tmp/trivial"
for _ in $(seq 1 "$count"); do
        t=$EPOCHREALTIME; "$netctl" version >/dev/null || exit 1; u=$EPOCHREALTIME
        echo $(( ${u/./} - ${t/./} )) >>"$tmp/netctl"
        t=$EPOCHREALTIME; "$trivial" "$sock" >/dev/null || exit 1; u=$EPOCHREALTIME
        echo $(( ${u/./} - ${t/./} )) >>"$tmp/trivial"
done
n_med=$(median <"$tmp/netctl")
t_med=$(median <"$tmp/trivial")
printf 'netctl version, start to exit (n=%d, medians): netctl %s ms   trivial C client %s ms   ratio %sx (goal <= 2x)\n' \
        "$count" "$(ms "$n_med")" "$(ms "$t_med")" "$(ratio "$n_med" "$t_med")"

cpu_mark; c0=$cpu_us
for ((k = 0; k < count; k++)); do "$netctl" version >/dev/null; done
cpu_mark; c1=$cpu_us
for ((k = 0; k < count; k++)); do "$trivial" "$sock" >/dev/null; done
cpu_mark; c2=$cpu_us
printf 'CPU per run (user+sys, mean of %d): netctl version %s ms (goal <= 1.5 ms)   trivial C client %s ms\n' \
        "$count" "$(ms $(( (c1 - c0) / count )))" "$(ms $(( (c2 - c1) / count )))"

# ---- 3: netd-cni vs bridge + host-local ----------------------------------------
"$netctl" network create --subnet 10.92.0.0/16 cn >/dev/null || exit 1
NCONF='{"cniVersion":"1.0.0","name":"cn","type":"netd","socket":"'"$sock"'"}'
BCONF='{"cniVersion":"1.0.0","name":"bn","type":"bridge","bridge":"cnibench0","isGateway":true,'
BCONF+='"ipam":{"type":"host-local","subnet":"10.93.0.0/16","dataDir":"'"$tmp/cni-ipam"'"}}'
wrap=(nsenter --net="/run/netns/$host")
# one call, timed: CMD CONF [NETNS] -> microseconds on stdout
timed() {
        local plugin=$1 cmd=$2 id=$3 netns=$4 conf=$5 t u
        t=$EPOCHREALTIME
        CNI_COMMAND=$cmd CNI_CONTAINERID=$id CNI_NETNS=$netns CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
                "${wrap[@]}" "$plugin" <<<"$conf" >/dev/null || return 1
        u=$EPOCHREALTIME
        echo $(( ${u/./} - ${t/./} ))
}
for f in wrap nadd ndel badd bdel; do : >"$tmp/$f"; done
for i in $(seq 1 "$count"); do
        timed /bin/true ADD "w$i" "/run/netns/$host-a" "$NCONF" >>"$tmp/wrap" || exit 1
        # who goes first alternates, so neither always follows the other
        if (( i % 2 )); then
                timed "$cni" ADD "n$i" "/run/netns/$host-a$((i % 8))" "$NCONF" >>"$tmp/nadd" || { echo "netd-cni ADD failed"; exit 1; }
                timed /usr/lib/cni/bridge ADD "b$i" "/run/netns/$host-b$((i % 8))" "$BCONF" >>"$tmp/badd" || { echo "bridge ADD failed"; exit 1; }
                timed "$cni" DEL "n$i" "/run/netns/$host-a$((i % 8))" "$NCONF" >>"$tmp/ndel" || { echo "netd-cni DEL failed"; exit 1; }
                timed /usr/lib/cni/bridge DEL "b$i" "/run/netns/$host-b$((i % 8))" "$BCONF" >>"$tmp/bdel" || { echo "bridge DEL failed"; exit 1; }
        else
                timed /usr/lib/cni/bridge ADD "b$i" "/run/netns/$host-b$((i % 8))" "$BCONF" >>"$tmp/badd" || { echo "bridge ADD failed"; exit 1; }
                timed "$cni" ADD "n$i" "/run/netns/$host-a$((i % 8))" "$NCONF" >>"$tmp/nadd" || { echo "netd-cni ADD failed"; exit 1; }
                timed /usr/lib/cni/bridge DEL "b$i" "/run/netns/$host-b$((i % 8))" "$BCONF" >>"$tmp/bdel" || { echo "bridge DEL failed"; exit 1; }
                timed "$cni" DEL "n$i" "/run/netns/$host-a$((i % 8))" "$NCONF" >>"$tmp/ndel" || { echo "netd-cni DEL failed"; exit 1; }
        fi
done
# the worst case for a DEL that answers early: the next ADD into the very
# namespace (and interface name) the DEL left, right behind it; netd's ADD
# waits for the old pair to be gone
: >"$tmp/nre" && : >"$tmp/bre"
for i in $(seq 1 $(( count / 10 + 1 ))); do
        timed "$cni" ADD "r$i" "/run/netns/$host-a" "$NCONF" >/dev/null || exit 1
        timed "$cni" DEL "r$i" "/run/netns/$host-a" "$NCONF" >/dev/null || exit 1
        timed "$cni" ADD "s$i" "/run/netns/$host-a" "$NCONF" >>"$tmp/nre" || { echo "netd-cni re-ADD failed"; exit 1; }
        timed "$cni" DEL "s$i" "/run/netns/$host-a" "$NCONF" >/dev/null || exit 1
        timed /usr/lib/cni/bridge ADD "r$i" "/run/netns/$host-b" "$BCONF" >/dev/null || exit 1
        timed /usr/lib/cni/bridge DEL "r$i" "/run/netns/$host-b" "$BCONF" >/dev/null || exit 1
        timed /usr/lib/cni/bridge ADD "s$i" "/run/netns/$host-b" "$BCONF" >>"$tmp/bre" || exit 1
        timed /usr/lib/cni/bridge DEL "s$i" "/run/netns/$host-b" "$BCONF" >/dev/null || exit 1
done
w=$(median <"$tmp/wrap")
n=$(( $(median <"$tmp/nre") - w )) b=$(( $(median <"$tmp/bre") - w ))
printf 'CNI ADD right behind a DEL in the same namespace (n=%d, medians): netd-cni %s ms (waits for the old pair)   bridge+host-local %s ms   ratio %sx\n' \
        "$(( count / 10 + 1 ))" "$(ms "$n")" "$(ms "$b")" "$(ratio "$n" "$b")"
for op in add del; do
        n=$(( $(median <"$tmp/n$op") - w ))
        b=$(( $(median <"$tmp/b$op") - w ))
        printf 'CNI %s (n=%d, medians, wrapper %s ms subtracted): netd-cni %s ms   bridge+host-local %s ms   ratio %sx (goal <= 0.2x)\n' \
                "${op^^}" "$count" "$(ms "$w")" "$(ms "$n")" "$(ms "$b")" "$(ratio "$n" "$b")"
done
b_add=$(( $(median <"$tmp/badd") - w ))

# ---- 4: the network part of run -d and network connect -------------------------
command -v busybox >/dev/null || { echo "bench/clients: busybox not installed, part 4 skipped"; exit 0; }
"$netctl" rootfs init >/dev/null || exit 1
"$netctl" network create --subnet 10.94.0.0/16 cr >/dev/null || exit 1
"$netctl" network create --subnet 10.95.0.0/16 cx >/dev/null || exit 1
# attach_sum_count: the container owner's attach histogram, "SUM COUNT"
attach_sum_count() {
        curl -s --unix-socket "$sock" http://netd/metrics |
                awk '$1 == "netd_attach_duration_seconds_sum{owner=\"container\"}" {s = $2}
                     $1 == "netd_attach_duration_seconds_count{owner=\"container\"}" {c = $2}
                     END {print s + 0, c + 0}'
}
k=$(( count / 4 )); (( k > 50 )) && k=50; (( k < 1 )) && k=1
read -r s0 c0 < <(attach_sum_count)
for i in $(seq 1 "$k"); do
        "$netctl" run -d --name "r$i" --network cr sleep 600 >/dev/null || { echo "run -d r$i failed"; exit 1; }
done
read -r s1 c1 < <(attach_sum_count)
for i in $(seq 1 "$k"); do
        "$netctl" network connect cx "r$i" >/dev/null || { echo "network connect r$i failed"; exit 1; }
done
read -r s2 c2 < <(attach_sum_count)
"$netctl" rm -f $(seq -f 'r%g' 1 "$k") >/dev/null
part() { # SUM0 COUNT0 SUM1 COUNT1 -> microseconds, mean
        awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN {printf "%d", (d > b) ? (c - a) / (d - b) * 1e6 : 0}'
}
for what in "run -d" "network connect"; do
        if [ "$what" = "run -d" ]; then u=$(part "$s0" "$c0" "$s1" "$c1") nn=$((c1 - c0)); else u=$(part "$s1" "$c1" "$s2" "$c2") nn=$((c2 - c1)); fi
        printf 'netctl %s, the network part (netd attach, mean of %s): %s ms   CNI bridge+host-local ADD %s ms (part 3)   ratio %sx (goal <= 0.15x)\n' \
                "$what" "$nn" "$(ms "$u")" "$(ms "$b_add")" "$(ratio "$u" "$b_add")"
done
