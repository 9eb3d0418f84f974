#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The embedded DNS answers at real-time priority while the host's tasks
# wait for a CPU and the DNS thread is light, so an answer does not wait
# for the time slices of whatever else the host runs (bench/stall.sh), and
# a container cannot use that priority to take a core (dns/rtbudget.h):
# - with more busy tasks than cores (nproc + 1) the DNS thread runs
#   SCHED_FIFO, and /v1/info says so;
# - a container flooding it with queries (dnsperf, as fast as it answers)
#   gets at most the budget's share of a CPU at real-time priority (the
#   thread's run time and policy sampled every 20 ms: about 25 ms of its
#   1.1 s here, where a build without the budget gave it 1.9 s), the drops
#   counted; a neighbour's names keep answering and the API keeps working;
# - once the flood is over it is real-time again, by itself;
# - `--dns-realtime off`: never real-time, and it still answers;
# - once the busy tasks are gone, and if nothing else keeps the machine
#   busy (tests run in parallel), it is back to normal priority, and
#   real-time again when busy tasks come back.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dnsperf >/dev/null || { echo "SKIP: dnsperf not installed"; exit 77; }
command -v dig >/dev/null || { echo "SKIP: dig not installed"; exit 77; }

nd_host h
nd_start h || exit 1
NPID=$ND_PID
t_ok "rootfs init" nd_rootfs h
info() { curl -s --unix-socket "$(nd_sock "${1:-h}")" http://netd/v1/info; }
# the DNS thread of netd PID, and its policy (/proc's stat field 41: 0
# normal, 1 SCHED_FIFO)
dns_tid() { grep -lx netd-dns /proc/"$1"/task/*/comm 2>/dev/null | head -1 | cut -d/ -f5; }
policy() { awk '{print $41}' "/proc/$1/task/$2/stat"; }
TID=$(dns_tid "$NPID")
t_match "netd has a DNS thread" "$TID" '^[0-9]+$'
# the host contended: more busy tasks than cores
HOGS=()
for _ in $(seq 1 $(($(nproc) + 1))); do
        sh -c 'while :; do :; done' &
        HOGS+=("$!")
        ND_PIDS+=("$!")
done
wait_policy() { # PID TID WANT: within 4 s
        for _ in $(seq 1 40); do
                [ "$(policy "$1" "$2")" = "$3" ] && return 0
                sleep 0.1
        done
        return 1
}
t_ok "the host contended: the DNS thread at real-time priority (SCHED_FIFO)" wait_policy "$NPID" "$TID" 1
t_eq "/v1/info says so" "$(info | jq -r '.Dns.Scheduling, .Dns.RealtimeDemotions' | paste -sd' ')" "realtime 0"
t_ok "a network" nd_ctl h network create --subnet 10.89.0.0/24 n
t_ok "the flooder" nd_ctl h run -d --name flood --network n sleep 600
t_ok "a neighbour" nd_ctl h run -d --name calm --network n sleep 600
t_eq "the neighbour's name answers" "$(nd_ctns h calm dig +short +time=1 +tries=1 @127.0.0.11 calm)" "10.89.0.3"

# local names only: every query is the thread's own work, none waits for an upstream
for _ in $(seq 1 100); do echo "calm A"; echo "flood A"; done >"$ND_TMP/queries"
nd_ctns h flood timeout 20 dnsperf -s 127.0.0.11 -d "$ND_TMP/queries" -l 6 -c 4 -q 200 >"$ND_TMP/dnsperf" 2>&1 &
FLOOD=$!
ND_PIDS+=("$FLOOD")
# sampled every 20 ms for 2 s of the flood: the policy and the thread's
# own run time (schedstat, ns).  Where the flood makes the thread heavy it
# may be real-time for one span (ND_RTB_SPAN, 50 ms) per drop and up to
# 25% of a CPU otherwise; without the budget it would be real-time and
# busy throughout (on a loaded machine the flooder itself may be too slow
# to make it heavy: then it stays real-time, and light).
runtime() { awk '{print $1}' "/proc/$NPID/task/$TID/schedstat"; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
: >"$ND_TMP/samples"
for _ in $(seq 1 100); do
        echo "$(now_us) $(policy "$NPID" "$TID") $(runtime)" >>"$ND_TMP/samples"
        sleep 0.02
done
dem=$(info | jq -r '.Dns.RealtimeDemotions')
# CPU (ms) in intervals that began real-time, all CPU, wall (ms)
read -r rt_ms all_ms wall_ms < <(awk 'NR > 1 { if (p == 1) rt += $3 - r; all += $3 - r }
        NR == 1 { t0 = $1 } { p = $2; r = $3; t = $1 }
        END { printf "%d %d %d\n", rt / 1e6, all / 1e6, (t - t0) / 1e3 }' "$ND_TMP/samples")
echo "# during the flood: the DNS thread ran $all_ms ms of $wall_ms ms, $rt_ms ms of it real-time; $dem drops"
bound=$((wall_ms / 4 + 50 * (dem + 1) + 50))
t_ok "during the flood: the thread's CPU at real-time priority stays within its budget ($rt_ms <= $bound ms)" \
        test "$rt_ms" -le "$bound"
t_eq "the drops are counted in /metrics too" \
        "$(curl -s --unix-socket "$(nd_sock h)" http://netd/metrics | awk '$1 == "netd_dns_realtime_demotions_total" {print $2}')" "$dem"
t_eq "during the flood: the neighbour's name answers" \
        "$(nd_ctns h calm dig +short +time=2 +tries=2 @127.0.0.11 calm)" "10.89.0.3"
t_ok "during the flood: the API works" nd_ctl h network ls
wait "$FLOOD"
t_match "the flood was answered (dnsperf)" "$(grep 'Queries completed' "$ND_TMP/dnsperf")" 'completed: *[1-9][0-9]{3,}'
back=""
for _ in $(seq 1 60); do
        [ "$(policy "$NPID" "$TID")" = 1 ] && { back=yes; break; }
        # the thread judges its use when it wakes: a query now and then
        nd_ctns h calm dig +short +time=1 +tries=1 @127.0.0.11 calm >/dev/null
        sleep 0.1
done
t_eq "after the flood: real-time again, by itself" "$back" "yes"
t_eq "after the flood: /v1/info says so" "$(info | jq -r '.Dns.Scheduling')" "realtime"

nd_host off
nd_start off --dns-realtime off || exit 1
OPID=$ND_PID
OTID=$(dns_tid "$OPID")
t_eq "--dns-realtime off: normal priority, the host contended" "$(policy "$OPID" "$OTID")" "0"
t_eq "--dns-realtime off: /v1/info says why" "$(info off | jq -r '.Dns.Scheduling')" "normal (--dns-realtime off)"
t_ok "--dns-realtime off: rootfs init" nd_rootfs off
t_ok "--dns-realtime off: a network" nd_ctl off network create --subnet 10.90.0.0/24 n
t_ok "--dns-realtime off: a container" nd_ctl off run -d --name c --network n sleep 600
t_eq "--dns-realtime off: it answers" "$(nd_ctns off c dig +short +time=1 +tries=1 @127.0.0.11 c)" "10.90.0.2"

# the busy tasks gone: normal again once the host has been calm for 2 s.
# Other tests may keep the machine busy, so it is checked only when the
# host's pressure says it was calm throughout: every 100 ms of the last
# 3 s under 1 ms of waiting (the thread's own spans, not aligned with
# these, then stayed under its 2%)
kill "${HOGS[@]}" 2>/dev/null
psi() { awk '/^some/ {sub("total=", "", $5); print $5}' /proc/pressure/cpu 2>/dev/null; }
calm_3s() { # 0 when 30 spans of 100 ms in a row were calm; gives up after 10 s
        local a b n=0
        a=$(psi)
        [ -n "$a" ] || return 1
        for _ in $(seq 1 100); do
                sleep 0.1
                b=$(psi)
                if [ $((b - a)) -lt 1000 ]; then n=$((n + 1)); else n=0; fi
                a=$b
                [ "$n" -ge 30 ] && return 0
        done
        return 1
}
if calm_3s; then
        t_ok "the host calm: back to normal priority" wait_policy "$NPID" "$TID" 0
        t_eq "the host calm: /v1/info says why" "$(info | jq -r '.Dns.Scheduling')" "normal (no CPU contention)"
        for _ in $(seq 1 $(($(nproc) + 1))); do
                sh -c 'while :; do :; done' &
                HOGS+=("$!")
                ND_PIDS+=("$!")
        done
        t_ok "contended again: real-time again" wait_policy "$NPID" "$TID" 1
        kill "${HOGS[@]}" 2>/dev/null
else
        echo "# the host was not calm for 3 s in 10 s (other tests): the return to normal is not checked"
fi
t_match "--dns-realtime: a bad value is refused" "$("$ND_BUILD/netd/netd" --dns-realtime maybe 2>&1; echo "exit $?")" \
        "--dns-realtime: want on or off.*exit 2"
nd_done
