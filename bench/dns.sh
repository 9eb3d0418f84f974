#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/dns.sh BUILD_DIR [SECONDS]: dnsperf from inside a sandbox against
# netd's embedded DNS (127.0.0.11) for in-network names, then the same
# query load against dnsmasq serving the same records, on this machine.
# Prints queries per second (a saturating run) and latency percentiles (a
# run at a fixed 2000 q/s with dnsperf -v), and the ratio netd/dnsmasq.
set -u
. "$(dirname "$0")/lib.sh"
build=${1:?build dir}
secs=${2:-10}
[ "$(id -u)" = 0 ] || { echo "bench/dns: needs root"; exit 77; }
for t in dnsperf dnsmasq busybox; do
        command -v $t >/dev/null || { echo "bench/dns: $t not installed"; exit 77; }
done
ns="nd-bench-dns-$$" dm="nd-bench-dm-$$"
tmp=$(mktemp -d /tmp/nd-bench-dns.XXXXXX)
pid="" dmpid=""
cleanup() {
        [ -n "$dmpid" ] && kill "$dmpid" 2>/dev/null && wait "$dmpid" 2>/dev/null
        nd_bench_stop_netd "$build" "$tmp" "$pid" rm
        ip netns del "$ns" 2>/dev/null
        ip netns del "$dm" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns add "$dm"
ip -n "$ns" link set lo up
ip -n "$dm" link set lo up
# no upstream at all: the load is in-network names only
echo > "$tmp/empty-resolv.conf"
nsenter --net="/run/netns/$ns" "$build/netd/netd" --state-dir "$tmp/state" --run-dir "$tmp/run" \
        --resolv-conf "$tmp/empty-resolv.conf" --log-level warning 2>"$tmp/netd.log" &
pid=$!
for _ in $(seq 1 100); do [ -S "$tmp/run/netd.sock" ] && break; sleep 0.05; done
export NETD_SOCKET=$tmp/run/netd.sock
ctl() { "$build/netd/netctl" "$@"; }
ctl rootfs init >/dev/null || exit 1
ctl network create --subnet 10.210.0.0/16 bench >/dev/null || exit 1
: >"$tmp/queries"
: >"$tmp/dnsmasq.conf"
for i in $(seq 0 19); do
        ctl run -d --name "svc$i" --network bench --network-alias pool sleep 3600 >/dev/null || exit 1
        ip=$(ctl inspect "svc$i" | jq -r '.[0].Endpoints[0].IPAddress')
        echo "svc$i A" >>"$tmp/queries"
        echo "svc$i.bench A" >>"$tmp/queries"
        echo "host-record=svc$i,svc$i.bench,$ip" >>"$tmp/dnsmasq.conf"
        echo "host-record=pool,$ip" >>"$tmp/dnsmasq.conf"
done
echo "pool A" >>"$tmp/queries"
ctl run -d --name perf --network bench sleep 3600 >/dev/null || exit 1
perf_ns=$tmp/run/netns/$(ctl inspect perf | jq -r '.[0].Id')
ip -n "$dm" addr add 127.0.0.11/8 dev lo 2>/dev/null
ip netns exec "$dm" dnsmasq --no-daemon --no-resolv --no-hosts --conf-file="$tmp/dnsmasq.conf" \
        --listen-address=127.0.0.11 --bind-interfaces --cache-size=10000 --pid-file= 2>"$tmp/dnsmasq.log" &
dmpid=$!
sleep 0.5

run() { # WHERE(nsenter arg) EXTRA...
        local where=$1
        shift
        nsenter --net="$where" dnsperf -s 127.0.0.11 -d "$tmp/queries" -l "$secs" -c 4 -q 200 "$@" 2>&1
}
qps() { awk '/Queries per second/ {print $4}'; }
pct() { # latencies in seconds on stdin -> "p50 p99 p99.9" in microseconds
        sort -g | awk '{v[NR]=$1} END {if (!NR) {print "n/a"; exit}
                printf "%.0f %.0f %.0f", v[int(NR*0.5)+1]*1e6, v[int(NR*0.99)+1]*1e6, v[int(NR*0.999)<NR?int(NR*0.999)+1:NR]*1e6}'
}
lat() { run "$1" -Q 2000 -v | awk '$1 == ">" && $2 == "NOERROR" {print $NF}' | pct; }

echo "bench/dns: dnsperf ${secs}s, 4 clients, 41 in-network names (20 containers, qualified names, a 20-address alias)"
n_qps=$(run "$perf_ns" | qps)
d_qps=$(run "/run/netns/$dm" | qps)
n_lat=$(lat "$perf_ns")
d_lat=$(lat "/run/netns/$dm")
printf '%-8s %10s q/s   latency at 2000 q/s: p50/p99/p99.9 %s us\n' netd "$n_qps" "$(tr ' ' / <<<"$n_lat")"
printf '%-8s %10s q/s   latency at 2000 q/s: p50/p99/p99.9 %s us\n' dnsmasq "$d_qps" "$(tr ' ' / <<<"$d_lat")"
awk -v a="$n_qps" -v b="$d_qps" 'BEGIN { if (b > 0) printf "ratio netd/dnsmasq (q/s): %.2f\n", a / b }'

# A neighbour's flood: another container sends names that are forwarded to
# an upstream that never answers (a sink in its own namespace), as fast as
# dnsperf goes; the in-network latency above is the reference.
ip link add "ndb$$a" netns "$ns" type veth peer name "ndb$$b" netns "$dm"
ip -n "$ns" addr add 10.211.0.1/24 dev "ndb$$a"
ip -n "$dm" addr add 10.211.0.2/24 dev "ndb$$b"
ip -n "$ns" link set "ndb$$a" up
ip -n "$dm" link set "ndb$$b" up
ip netns exec "$dm" socat -u UDP-RECV:53,bind=10.211.0.2 /dev/null &
sinkpid=$!
ctl run -d --name flood --network bench --dns 10.211.0.2 sleep 3600 >/dev/null || exit 1
flood_ns=$tmp/run/netns/$(ctl inspect flood | jq -r '.[0].Id')
for i in $(seq 1 5000); do echo "f$i.flood.example A"; done >"$tmp/flood-queries"
nsenter --net="$flood_ns" dnsperf -s 127.0.0.11 -d "$tmp/flood-queries" -l $((secs + 4)) -c 8 -q 2000 -t 2 \
        >"$tmp/flood.out" 2>&1 &
floodpid=$!
sleep 2
f_lat=$(lat "$perf_ns")
wait "$floodpid"
kill "$sinkpid" 2>/dev/null
wait "$sinkpid" 2>/dev/null
sent=$(awk '/Queries sent/ {print $3}' "$tmp/flood.out")
printf '%-8s latency at 2000 q/s while a neighbour floods %s forwarded queries at a silent upstream: p50/p99/p99.9 %s us\n' \
        netd "${sent:-?}" "$(tr ' ' / <<<"$f_lat")"
awk -v a="${f_lat%% *}" -v b="${n_lat%% *}" 'BEGIN { if (b > 0) printf "ratio flooded/unloaded (p50): %.2f (target <= 2)\n", a / b }'
curl -s --unix-socket "$NETD_SOCKET" http://netd/v1/info | jq -c '.Dns'
