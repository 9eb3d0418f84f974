#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The embedded DNS answers at real-time priority while the host's tasks
# wait for a CPU and the DNS thread is light, so an answer does not wait
# for the time slices of whatever else the host runs (bench/stall.sh), and
# a container cannot use that priority to take a core (dns/rtbudget.h):
# - with more busy tasks than cores the DNS thread runs SCHED_FIFO, and
#   /v1/info says so;
# - a container flooding it with queries (dnsperf, as fast as it answers)
#   puts it back to normal priority at once, where it stays for as long as
#   the flood lasts (sampled every 50 ms), counted; a neighbour's names
#   keep answering and the API keeps working;
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
for _ in $(seq 1 $(($(nproc) * 2))); do
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
for i in $(seq 1 100); do echo "calm A"; echo "flood A"; done >"$ND_TMP/queries"
nd_ctns h flood timeout 20 dnsperf -s 127.0.0.11 -d "$ND_TMP/queries" -l 4 -c 4 -q 200 >"$ND_TMP/dnsperf" 2>&1 &
FLOOD=$!
ND_PIDS+=("$FLOOD")
sleep 0.5
# sampled for 2.5 s of the flood: real-time in none of them
rt=0 n=0
for _ in $(seq 1 50); do
        [ "$(policy "$NPID" "$TID")" = 1 ] && rt=$((rt + 1))
        n=$((n + 1))
        sleep 0.05
done
t_eq "during the flood: the thread is at normal priority, in all of $n samples" "$rt" "0"
t_eq "during the flood: /v1/info says why" "$(info | jq -r '.Dns.Scheduling')" "normal (over its CPU budget)"
t_eq "during the flood: the neighbour's name answers" \
        "$(nd_ctns h calm dig +short +time=2 +tries=2 @127.0.0.11 calm)" "10.89.0.3"
t_ok "during the flood: the API works" nd_ctl h network ls
wait "$FLOOD"
t_match "the flood was answered (dnsperf)" "$(grep 'Queries completed' "$ND_TMP/dnsperf")" 'completed: *[1-9][0-9]{3,}'
dem=$(info | jq -r '.Dns.RealtimeDemotions')
# one when the flood started; another only if it came back meanwhile,
# which the samples above say it did not
t_eq "the drop was counted, once" "$dem" "1"
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

# the busy tasks gone: normal again once the host is calm for 2 s; other
# tests may keep it busy, so it is checked only when the host's pressure
# says it is calm
kill "${HOGS[@]}" 2>/dev/null
psi() { awk '/^some/ {sub("total=", "", $5); print $5}' /proc/pressure/cpu 2>/dev/null; }
a=$(psi)
sleep 3
b=$(psi)
if [ -n "$a" ] && [ $((b - a)) -lt 30000 ]; then # under 1% of 3 s
        t_ok "the host calm: back to normal priority" wait_policy "$NPID" "$TID" 0
        t_eq "the host calm: /v1/info says why" "$(info | jq -r '.Dns.Scheduling')" "normal (no CPU contention)"
        for _ in $(seq 1 $(($(nproc) * 2))); do
                sh -c 'while :; do :; done' &
                HOGS+=("$!")
                ND_PIDS+=("$!")
        done
        t_ok "contended again: real-time again" wait_policy "$NPID" "$TID" 1
        kill "${HOGS[@]}" 2>/dev/null
else
        echo "# the host is busy (tasks waited $(((b - a) / 1000)) ms of 3 s): the return to normal is not checked"
fi
t_match "--dns-realtime: a bad value is refused" "$("$ND_BUILD/netd/netd" --dns-realtime maybe 2>&1; echo "exit $?")" \
        "--dns-realtime: want on or off.*exit 2"
nd_done
