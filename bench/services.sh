#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/services.sh BUILD_DIR [SERVICES] [TASKS] [CONNS] [SECONDS]: the
# figures of services with a VIP on one host (docs/services.md), each
# beside a reference measured in the same run, in one throwaway host
# namespace.
#  1. VIP overhead, one task behind the VIP so the same server answers
#     both ways: connections per second of a loop of CONNS (default 20000)
#     short TCP connections (bench-svc-conn) and iperf3 TCP throughput for
#     SECONDS (default 5), from another container, through the VIP against
#     straight to the task's address; 7 alternating rounds, medians, ratio
#     (goal >= 0.95), and the median time of one connection each way;
#  2. spread: 300 connections to a VIP over 3 tasks (goal: each 100 +- 30);
#  3. convergence: a task started with `netctl run -d --service` is in the
#     VIP's slots (nft map svc_backends4) and in tasks.NAME right after run
#     returns; a removed one is gone from both right after rm returns;
#  4. scale: SERVICES (default 200) services x TASKS (default 10) tasks:
#     `netctl run -d --service` wall time and netd's nftables time per run
#     (netd_nft_batch_duration_seconds from /metrics: the new endpoint's
#     and the VIP's slots' batches), with netd's request and attach times
#     beside them, medians of the first and the last tenth of the runs
#     (goal: last <= 1.2 x first), and the ruleset's rule count with no
#     service and with all of them (goal: equal).
# Sizes also from the environment: SERVICES, TASKS, CONNS, IPERF_SECONDS;
# SOCK_LB=off runs netd with --sock-lb off (VIPs through nftables' DNAT
# only, the reference for the socket balancer).  The client runs in the
# client container's network namespace and cgroup (nd_ctcg), as the
# container's own processes do.
# A missed goal is printed ("missed"), not an exit status: a bench reports.
# Needs root, busybox-static, iperf3, nft, dig, jq.
set -u
build=${1:?build dir}
services=${2:-${SERVICES:-200}}
tasks=${3:-${TASKS:-10}}
conns=${4:-${CONNS:-20000}}
secs=${5:-${IPERF_SECONDS:-5}}
sock_lb=${SOCK_LB:-on}
[ "$(id -u)" = 0 ] || { echo "bench/services: needs root"; exit 77; }
[ -x /bin/busybox ] || { echo "bench/services: busybox-static not installed"; exit 77; }
for t in iperf3 nft dig jq; do
        command -v "$t" >/dev/null || { echo "bench/services: $t not installed"; exit 77; }
done
export ND_BUILD=$build
ND_SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$ND_SRC/tests/integ/lib/netns.sh" >/dev/null
CONN=$build/bench/bench-svc-conn
[ -x "$CONN" ] || { echo "bench/services: $CONN not built"; exit 1; }

now_us() { echo $(( ${EPOCHREALTIME/./} )); }
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
# goal WHAT OK: "goal WHAT: met" or "MISSED"
goal() { if [ "$2" = 1 ]; then echo "  goal $1: met"; else echo "  goal $1: MISSED"; fi; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {print (a >= b) ? 1 : 0}'; }
rules() { nd_on h nft -j list table inet netd | jq '[.nftables[] | select(.rule)] | length'; }
addr() { nd_ctl h inspect "$1" | jq -r '.[0].Endpoints[0].IPAddress'; }
vip_of() { nd_ctl h service inspect "$1" | jq -r '.[0].VirtualIPs[0].Addr'; }
# listening CT PORT: a TCP listener on PORT in CT's namespace
# shellcheck disable=SC2317 # called through nd_eventually
listening() { nd_ctns h "$1" sh -c "ss -Hltn | grep -q ':$2 '"; }

# the scale part's networks: a bridge takes at most 1024 ports
per_net=$(( 1000 / tasks ))
[ "$per_net" -ge 1 ] || { echo "bench/services: at most 1000 tasks per service"; exit 1; }
nets=$(( (services + per_net - 1) / per_net ))
[ "$nets" -le 100 ] || { echo "bench/services: at most $((100 * per_net)) services of $tasks tasks"; exit 1; }

nd_host h >/dev/null || exit 1
nd_start h --log-level warning --sock-lb "$sock_lb" >/dev/null || exit 1
nd_rootfs h
nd_ctl h network create --subnet 10.80.0.0/16 front >/dev/null || exit 1
for k in $(seq 0 $((nets - 1))); do
        nd_ctl h network create --subnet "10.$((100 + k)).0.0/16" "sc$k" >/dev/null || exit 1
done
rules0=$(rules)
echo "bench/services: one host; services $services x tasks $tasks, $conns connections, iperf3 ${secs}s;" \
        "VIPs balanced by $(curl -s --unix-socket "$(nd_sock h)" http://netd/v1/info | jq -r .ServiceLB)"
if [ -e /proc/net/ip_vs ]; then
        echo "reference: IPVS is in this kernel, but no Docker swarm / kube-proxy here to compare with"
else
        echo "reference: Docker swarm (IPVS) and kube-proxy (IPVS or nftables mode) not comparable here:"
        echo "  this kernel has no IPVS and neither is installed; each figure is set against its own reference below"
fi

nd_ctl h run -d --name cl --network front sleep 100000 >/dev/null || exit 1

# ---- 1. VIP overhead
echo "== 1. VIP overhead (one task behind the VIP; client in another container on the same network)"
nd_ctl h service create --name one --network front >/dev/null || exit 1
nd_ctl h run -d --name one1 --network front --service one sleep 100000 >/dev/null || exit 1
vip1=$(vip_of one) a1=$(addr one1)
nd_bg nd_ctns h one1 "$CONN" serve 8080 one1
nd_bg nd_ctns h one1 iperf3 -s -p 5201
if ! nd_eventually 5 listening one1 8080 || ! nd_eventually 5 listening one1 5201; then
        echo "bench/services: servers in one1 did not start"
        exit 1
fi
# softnet_drops: packets the kernel dropped from its per-CPU backlog, machine
# wide (veth traffic goes through it): another process flooding veths
# drops SYNs here, each costing its connection a 1 s retransmission
softnet_drops() {
        local s=0 x
        while read -r _ x _; do s=$((s + 0x$x)); done </proc/net/softnet_stat
        echo "$s"
}
conn() { # ADDR PATH: one round, its summary line appended to $ND_TMP/conn.PATH
        nd_ctcg h cl "$CONN" connect "$1" 8080 "$conns" | head -1 >>"$ND_TMP/conn.$2"
}
field() { # NAME PATH -> that field of every round
        sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$ND_TMP/conn.$2"
}
tput() { # ADDR -> Gbit/s
        nd_ctcg h cl iperf3 -c "$1" -p 5201 -t "$secs" -J 2>/dev/null | jq -r '.end.sum_received.bits_per_second / 1e9'
}
# warm up both paths (ARP, conntrack, caches)
nd_ctcg h cl "$CONN" connect "$a1" 8080 200 >/dev/null
nd_ctcg h cl "$CONN" connect "$vip1" 8080 200 >/dev/null
: >"$ND_TMP/conn.direct" && : >"$ND_TMP/conn.vip"
tv=() td=()
drops0=$(softnet_drops)
for _ in 1 2 3 4 5 6 7; do
        conn "$a1" direct && conn "$vip1" vip
done
drops1=$(softnet_drops)
for _ in 1 2 3 4 5 6 7; do
        td+=("$(tput "$a1")") tv+=("$(tput "$vip1")")
done
rdm=$(field rate direct | median) rvm=$(field rate vip | median)
ldm=$(field p50_us direct | median) lvm=$(field p50_us vip | median)
sum() { awk '{s += $1} END {print s + 0}'; }
sd=$(field slow direct | sum) sv=$(field slow vip | sum)
tdm=$(printf '%s\n' "${td[@]}" | median) tvm=$(printf '%s\n' "${tv[@]}" | median)
printf 'short TCP connections, 7 alternating rounds of %d (conn/s per round, direct: %s; VIP: %s)\n' "$conns" \
        "$(field rate direct | tr '\n' ' ')" "$(field rate vip | tr '\n' ' ')"
printf '  direct to the task: %6.0f conn/s   through the VIP: %6.0f conn/s   VIP/direct: %s (medians)\n' "$rdm" "$rvm" \
        "$(ratio "$rvm" "$rdm")"
printf '  one connection, median: direct %d us, VIP %d us, direct/VIP: %s\n' "$ldm" "$lvm" "$(ratio "$ldm" "$lvm")"
printf '  connections of 0.5 s or more (a lost SYN): direct %d, VIP %d; softnet backlog drops meanwhile (machine-wide): %d\n' \
        "$sd" "$sv" $((drops1 - drops0))
goal "VIP/direct >= 0.95 (connections/s)" "$(ge "$(ratio "$rvm" "$rdm")" 0.95)"
# a round's rate moves with whatever else the machine runs; one
# connection's median time does not, and shows what the VIP adds to each
goal "VIP/direct >= 0.95 (one connection's median time, the steadier figure)" "$(ge "$(ratio "$ldm" "$lvm")" 0.95)"
[ $((sd + sv)) = 0 ] && [ $((drops1 - drops0)) = 0 ] ||
        echo "  (rounds disturbed: lost SYNs or the kernel's backlog dropping other traffic; the rates above are noisy)"
printf 'iperf3 TCP %ss, 7 alternating rounds (Gbit/s per round, direct: %s; VIP: %s)\n' "$secs" \
        "$(printf '%.2f ' "${td[@]}")" "$(printf '%.2f ' "${tv[@]}")"
printf '  direct to the task: %6.2f Gbit/s  through the VIP: %6.2f Gbit/s  VIP/direct: %s (medians)\n' "$tdm" "$tvm" \
        "$(ratio "$tvm" "$tdm")"
goal "VIP/direct >= 0.95 (throughput)" "$(ge "$(ratio "$tvm" "$tdm")" 0.95)"

# ---- 2. spread
echo "== 2. spread (300 connections to a VIP with 3 tasks)"
nd_ctl h service create --name three --network front >/dev/null || exit 1
for i in 1 2 3; do
        nd_ctl h run -d --name "three$i" --network front --service three sleep 100000 >/dev/null || exit 1
        nd_bg nd_ctns h "three$i" "$CONN" serve 8080 "three$i"
done
for i in 1 2 3; do
        nd_eventually 5 listening "three$i" 8080 || { echo "bench/services: server in three$i did not start"; exit 1; }
done
spread=$(nd_ctcg h cl "$CONN" connect "$(vip_of three)" 8080 300 | sed 1d | sort)
echo "  per task: $(awk '{printf "%s=%s ", $1, $2}' <<<"$spread")"
ok=$([ "$(echo "$spread" | wc -l)" = 3 ] && echo 1 || echo 0)
while read -r _ c; do
        [ "${c:-0}" -ge 70 ] && [ "${c:-0}" -le 130 ] || ok=0
done <<<"$spread"
goal "each task 100 +- 30" "$ok"

# ---- 3. convergence
echo "== 3. convergence (checked right after the command returns)"
nd_ctl h service create --name conv --network front >/dev/null || exit 1
vipc=$(vip_of conv)
k=10 in_map=0 in_dns=0 out_map=0 out_dns=0
# slots: the distinct backends of conv's VIP in the kernel's map
slots() {
        nd_on h nft -j list map inet netd svc_backends4 |
                jq -r --arg vip "$vipc" '.nftables[] | select(.map) | .map.elem // [] | .[] |
                                         select(.[0].concat[0] == $vip) | .[1]' | sort -u
}
tasks_dns() { nd_ctns h cl dig +time=2 +tries=1 +short @127.0.0.11 tasks.conv; }
for i in $(seq 1 $k); do
        nd_ctl h run -d --name "conv$i" --network front --service conv sleep 100000 >/dev/null || exit 1
        m=$(slots) d=$(tasks_dns) a=$(addr "conv$i")
        grep -qxF "$a" <<<"$m" && in_map=$((in_map + 1))
        grep -qxF "$a" <<<"$d" && in_dns=$((in_dns + 1))
done
# gone: $a not in LIST, and the next task (if any) still there, so that an
# empty answer does not count as a removal
gone() { ! grep -qxF "$a" <<<"$1" && { [ -z "$next" ] || grep -qxF "$next" <<<"$1"; }; }
for i in $(seq 1 $k); do
        a=$(addr "conv$i") next=""
        [ "$i" = $k ] || next=$(addr "conv$((i + 1))")
        nd_ctl h rm -f "conv$i" >/dev/null || exit 1
        m=$(slots) d=$(tasks_dns)
        gone "$m" && out_map=$((out_map + 1))
        gone "$d" && out_dns=$((out_dns + 1))
done
yn() { [ "$1" = "$2" ] && echo yes || echo "no ($1 of $2)"; }
echo "  backend before run returned: $(yn $in_map $k)   in tasks.conv before run returned: $(yn $in_dns $k)"
echo "  gone from the slots before rm returned: $(yn $out_map $k)   gone from tasks.conv before rm returned: $(yn $out_dns $k)"
goal "every task in before run, out before rm ($k tasks)" \
        "$([ $in_map$in_dns$out_map$out_dns = $k$k$k$k ] && echo 1 || echo 0)"
echo "  (across hosts: bench/overlay.sh)"

# ---- 4. scale
echo "== 4. scale ($services services x $tasks tasks, $nets networks)"
# snap: netd's own clocks from /metrics, in microseconds: the nftables
# batches' time and count, the POST /v1/containers requests' time (netd's
# side of `run`), the attaches' time (veth, addresses, routes)
snap() {
        curl -s --unix-socket "$(nd_sock h)" http://netd/metrics | awk '
                $1 == "netd_nft_batch_duration_seconds_sum" {n = $2}
                $1 == "netd_nft_batch_duration_seconds_count" {c = $2}
                $1 ~ /^netd_http_request_duration_seconds_sum\{.*method="POST",route="\/v1\/containers"\}$/ {r = $2}
                $1 == "netd_attach_duration_seconds_sum{owner=\"container\"}" {a = $2}
                END {printf "%.0f %d %.0f %.0f\n", n * 1e6, c, r * 1e6, a * 1e6}'
}
for s in $(seq 1 "$services"); do
        nd_ctl h service create --name "s$s" --network "sc$(( (s - 1) / per_net ))" >/dev/null ||
                { echo "bench/services: service s$s failed"; exit 1; }
done
rules1=$(rules)
# pairs TAG: the reference for the runs' wall time, whose growth with the
# host's endpoints is the containers' and the kernel's, not the services':
# 20 pairs, alternating, of a plain `run` and a `run --service` on the
# quiet network "front"; prints "PLAIN_US SERVICE_US", medians
nd_ctl h service create --name ref --network front >/dev/null || exit 1
pairs() {
        local i t0 t1 t2
        : >"$ND_TMP/plain" && : >"$ND_TMP/svc"
        for i in $(seq 1 20); do
                t0=$(now_us)
                nd_ctl h run -d --name "p$1$i" --network front sleep 100000 >/dev/null || return 1
                t1=$(now_us)
                nd_ctl h run -d --name "q$1$i" --network front --service ref sleep 100000 >/dev/null || return 1
                t2=$(now_us)
                echo $(( t1 - t0 )) >>"$ND_TMP/plain" && echo $(( t2 - t1 )) >>"$ND_TMP/svc"
        done
        nd_ctl h rm -f $(seq -f "p$1%g" 1 20) $(seq -f "q$1%g" 1 20) >/dev/null
        echo "$(median <"$ND_TMP/plain") $(median <"$ND_TMP/svc")"
}
read -r pf sf <<<"$(pairs a)" || exit 1
# one line per run: wall_us nft_us batches request_us attach_us
: >"$ND_TMP/runs"
read -r n0 c0 r0 a0 <<<"$(snap)"
for s in $(seq 1 "$services"); do
        for t in $(seq 1 "$tasks"); do
                t0=$(now_us)
                nd_ctl h run -d --name "s$s-$t" --network "sc$(( (s - 1) / per_net ))" --service "s$s" \
                        sleep 100000 >/dev/null || { echo "bench/services: run s$s-$t failed"; exit 1; }
                t1=$(now_us)
                read -r n1 c1 r1 a1 <<<"$(snap)"
                echo "$(( t1 - t0 )) $(( n1 - n0 )) $(( c1 - c0 )) $(( r1 - r0 )) $(( a1 - a0 ))" >>"$ND_TMP/runs"
                n0=$n1 c0=$c1 r0=$r1 a0=$a1
        done
done
read -r pl sl <<<"$(pairs b)" || exit 1
rules2=$(rules)
n=$(( services * tasks ))
# the windows: a tenth of the runs, at least 20 (whole services)
w=$(( n / 10 ))
[ "$w" -ge 20 ] || w=$(( (20 + tasks - 1) / tasks * tasks ))
[ $((2 * w)) -le "$n" ] || w=$(( n / 2 ))
col() { awk -v c="$1" -v f="$2" -v t="$3" 'NR >= f && NR <= t {print $c}' "$ND_TMP/runs" | median; }
ms() { awk -v v="$1" 'BEGIN {printf "%.3f", v / 1000}'; }
# line NAME COLUMN: first and last window, their ratio, and the median of
# every tenth of the runs (a trend, or the machine's noise?)
line() {
        local f l k tenths=""
        f=$(col "$2" 1 "$w") l=$(col "$2" $((n - w + 1)) "$n")
        if [ "$n" -ge 10 ]; then
                for k in $(seq 0 9); do
                        tenths+=" $(ms "$(col "$2" $((k * n / 10 + 1)) $(((k + 1) * n / 10)))")"
                done
        fi
        printf '    %-28s first %8s ms  last %8s ms  last/first %s   by tenths:%s\n' "$1" "$(ms "$f")" "$(ms "$l")" \
                "$(ratio "$l" "$f")" "$tenths"
}
printf '  netctl run -d --service, medians of the first %d and the last %d of %d runs (one service after another):\n' \
        "$w" "$w" "$n"
line "nftables (endpoint, slots):" 2
line "netd's attach (veth, addrs):" 5
line "netd's request (POST):" 4
line "netctl run, wall time:" 1
printf '    nftables batches per run: %s -> %s\n' "$(col 3 1 "$w")" "$(col 3 $((n - w + 1)) "$n")"
printf '  reference, a plain run beside a run --service on a quiet network (medians of 20 pairs):\n'
printf '    %-16s plain %8s ms  --service %8s ms  --service/plain %s\n' "before the tasks:" "$(ms "$pf")" "$(ms "$sf")" \
        "$(ratio "$sf" "$pf")"
printf '    %-16s plain %8s ms  --service %8s ms  --service/plain %s   (plain, after/before: %s)\n' \
        "after $n tasks:" "$(ms "$pl")" "$(ms "$sl")" "$(ratio "$sl" "$pl")" "$(ratio "$pl" "$pf")"
goal "last <= 1.2 x first (nftables time of a run: the new backend's batches)" \
        "$(ge 1.2 "$(ratio "$(col 2 $((n - w + 1)) "$n")" "$(col 2 1 "$w")")")"
goal "last <= 1.2 x first (netctl run wall time)" "$(ge 1.2 "$(ratio "$(col 1 $((n - w + 1)) "$n")" "$(col 1 1 "$w")")")"
elems=$(nd_on h nft -j list map inet netd svc_backends4 | jq '[.nftables[] | select(.map) | .map.elem // [] | length] | add')
printf '  rules in inet netd: %d with no service, %d with %d, %d with %d and %d tasks (slots in svc_backends4: %d)\n' \
        "$rules0" "$rules1" "$services" "$rules2" "$services" "$n" "$elems"
goal "the rule count does not grow with services" "$([ "$rules0" = "$rules1" ] && [ "$rules0" = "$rules2" ] && echo 1 || echo 0)"
exit 0
