#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/replicas.sh BUILD_DIR [N] [UPDATE_TASKS]: replicated services over
# two hosts on etcd (docs/services.md, "Across hosts"), each figure beside
# a reference measured in the same run:
#  1. `service create --replicas N` (default 20; 6 with CI=true): time
#     until all N tasks answer through the VIP, against the same N
#     containers started with `netctl run -d --service` (half on each
#     host, both hosts at once) for a network-only service;
#  2. host death: the second host's netd and its tasks killed; time until
#     all its slots run on the first host (`service ps`) and until every
#     task answers through the VIP again, against the node TTL (goal:
#     TTL + 2 s);
#  3. a rolling update of UPDATE_TASKS (default 10; 4 with CI=true) tasks
#     with --update-parallelism 2 and a health command, while a loop sends
#     requests through the routing mesh from outside: failed requests
#     (goal 0) out of those sent.
# Sizes also from the environment: REPLICAS, UPDATE_TASKS, NODE_TTL.
# A missed goal is printed, not an exit status.  Needs root,
# busybox-static, etcd, jq, curl.
set -u
build=${1:?build dir}
if [ "${CI:-}" = true ]; then n_def=6 u_def=4; else n_def=20 u_def=10; fi
n=${2:-${REPLICAS:-$n_def}}
nu=${3:-${UPDATE_TASKS:-$u_def}}
TTL=${NODE_TTL:-3}
[ "$(id -u)" = 0 ] || { echo "bench/replicas: needs root"; exit 77; }
[ -x /bin/busybox ] || { echo "bench/replicas: busybox-static not installed"; exit 77; }
for t in etcd jq curl; do
        command -v "$t" >/dev/null || { echo "bench/replicas: $t not installed"; exit 77; }
done
export ND_BUILD=$build
ND_SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$ND_SRC/tests/integ/lib/netns.sh" >/dev/null

now() { echo "${EPOCHREALTIME}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
goal() { if [ "$2" = 1 ]; then echo "  goal $1: met"; else echo "  goal $1: MISSED"; fi; }
srv='mkdir -p /w && echo "$HOSTNAME" >/w/index.html && exec httpd -f -p 80 -h /w'
declare -A PID
start() { nd_start_node "$1" "$2" --node-ttl "$TTL" --log-level warning >/dev/null || exit 1; PID[$1]=$ND_PID; }
# answered VIP WANT LIMIT: seconds until WANT distinct task names answered
# through VIP from the client (rounds of 2*WANT requests), or "timeout"
answered() {
        local vip=$1 want=$2 limit=$3 t0 seen
        t0=$(now)
        seen=$(mktemp -p "$ND_TMP")
        while :; do
                nd_ctns rxb1 rxbcl sh -c "for i in \$(seq $((2 * want))); do curl -s --max-time 0.3 http://$vip/; done" >>"$seen"
                [ "$(sort -u "$seen" | grep -c .)" -ge "$want" ] && { since "$t0"; return; }
                [ "$(awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN {print (b - a > l)}')" = 1 ] && { echo timeout; return; }
        done
}
kill_host() { # ROLE: its netd and its containers, as a host that dies
        kill -9 "${PID[$1]}"; wait "${PID[$1]}" 2>/dev/null
        nd_kill_containers "$ND_TMP/$1/"
}

nd_underlay rxb1 rxb2 >/dev/null || exit 1
nd_etcd sw rxbe 10.99.0.254 >/dev/null || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
start rxb1 1
start rxb2 2
nd_rootfs rxb1 >/dev/null && nd_rootfs rxb2 >/dev/null || exit 1
nd_ctl rxb1 network create -d overlay --subnet 10.67.0.0/22 ov >/dev/null || exit 1
nd_eventually 5 nd_ctl rxb2 network inspect ov || exit 1
nd_ctl rxb1 run -d --name rxbcl --network ov sleep 100000 >/dev/null || exit 1
echo "bench/replicas: two hosts on etcd, node TTL ${TTL}s; $n replicas, rolling update of $nu"

# 1. the reference: N containers of a network-only service, half per host
nd_ctl rxb1 service create --name ref --network ov >/dev/null || exit 1
vref=$(nd_ctl rxb1 service inspect ref | jq -r '.[0].VirtualIPs[0].Addr')
nd_eventually 5 nd_ctl rxb2 service inspect ref || exit 1
t0=$(now)
runners=()
for h in 1 2; do
        (for k in $(seq "$h" 2 "$n"); do
                nd_ctl "rxb$h" run -d --name "ref.$k" --hostname "ref.$k" --network ov --service ref sh -c "$srv" >/dev/null
        done) &
        runners+=("$!")
done
wait "${runners[@]}"
t_ref=$(awk -v a="$t0" -v b="$(now)" -v c="$(answered "$vref" "$n" 60)" 'BEGIN {if (c == "timeout") print c; else printf "%.2f", b - a + c}')
t0=$(now)
nd_ctl rxb1 service create --name rep --network ov --replicas "$n" --stop-grace-period 1 sh -c "$srv" >/dev/null || exit 1
vrep=$(nd_ctl rxb1 service inspect rep | jq -r '.[0].VirtualIPs[0].Addr')
t_rep=$(awk -v a="$t0" -v b="$(now)" -v c="$(answered "$vrep" "$n" 60)" 'BEGIN {if (c == "timeout") print c; else printf "%.2f", b - a + c}')
spread=$(nd_ctl rxb1 service ps --format json rep | jq -r '[.[] | .Host] | group_by(.) | map("\(.[0])=\(length)") | join(" ")')
echo "create --replicas $n, until all answer through the VIP: ${t_rep}s ($spread); reference, $n x 'run -d --service' on both hosts: ${t_ref}s"

# 2. host death
t0=$(now)
kill_host rxb2
t_ps=timeout
for _ in $(seq 1 400); do
        [ "$(nd_ctl rxb1 service ps --format json rep | jq '[.[] | select(.State == "running" and .Host == "rxb1")] | length')" = "$n" ] &&
                { t_ps=$(since "$t0"); break; }
        sleep 0.05
done
t_vip=$(awk -v a="$t0" -v b="$(now)" -v c="$(answered "$vrep" "$n" 60)" 'BEGIN {if (c == "timeout") print c; else printf "%.2f", b - a + c}')
echo "host death: its slots running on the survivor after ${t_ps}s, every task answering through the VIP after ${t_vip}s; node TTL ${TTL}s"
goal "slots elsewhere within TTL + 2 s" "$(awk -v a="$t_ps" -v t="$TTL" 'BEGIN {print (a != "timeout" && a <= t + 2) ? 1 : 0}')"
nd_ctl rxb1 service rm rep >/dev/null
start rxb2 2

# 3. rolling update through the routing mesh
nd_ctl rxb1 service create --name upd --network ov --replicas "$nu" -p 8090:80 --update-parallelism 2 \
        --stop-grace-period 1 -e V=1 --health-cmd 'wget -q -O /dev/null http://127.0.0.1/' \
        --health-interval 0.5 --health-retries 1 sh -c "$srv" >/dev/null || exit 1
ready() { [ "$(nd_ctl rxb1 service ps --format json upd | jq "[.[] | select(.State == \"running\" and .Health == \"healthy\" and .Version == $1)] | length")" = "$nu" ]; }
nd_eventually 60 ready 1 || { echo "bench/replicas: the update's service did not come up"; exit 1; }
nd_eventually 10 sh -c "ip netns exec $ND_NSP-sw curl -sf --max-time 1 http://10.99.0.1:8090/ >/dev/null"
# a request that fails prints 000 (one line per request)
log=$ND_TMP/mesh.log
nd_bg nd_on sw sh -c "while [ ! -e '$ND_TMP/stop' ]; do
        curl -s --max-time 2 -o /dev/null -w '%{http_code}\n' http://10.99.0.1:8090/
done >'$log' 2>/dev/null"
sleep 1
t0=$(now)
nd_ctl rxb2 service update --env-add V=2 upd >/dev/null || exit 1
nd_eventually 120 ready 2
t_upd=$(since "$t0")
sleep 1
touch "$ND_TMP/stop"
sleep 2.5
total=$(grep -c . "$log")
bad=$(grep -vc '^200$' "$log")
echo "rolling update of $nu tasks, parallelism 2: ${t_upd}s; requests through the mesh during it: $bad failed of $total"
goal "no failed request" "$([ "$bad" = 0 ] && echo 1 || echo 0)"
