#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/cluster-scale.sh BUILD_DIR [HOSTS] [ENDPOINTS]: one real netd and
# HOSTS (default 49) simulated hosts that register in etcd and publish
# ENDPOINTS (default 200) endpoints each on one overlay network
# (bench-cluster-sim: etcd's API only, no kernel objects).  Prints:
#  - convergence: from the last simulated write to the real netd holding
#    every remote endpoint (FDB + neighbour entry + DNS name), for the first
#    fifth of the hosts and for the rest;
#  - netd's CPU time per applied event in both phases and their ratio (the
#    reference: the small cluster; 1.0 means the work per event does not
#    grow with the cluster);
#  - netd's RSS before and after, and per remote endpoint;
#  - the time a simulated host's death (its lease revoked) takes to be
#    withdrawn everywhere on the real host.
# Needs root, etcd, jq, dig.
set -u
build=${1:?build dir}
hosts=${2:-49}
eps=${3:-200}
[ "$(id -u)" = 0 ] || { echo "bench/cluster-scale: needs root"; exit 77; }
for t in etcd jq dig; do
        command -v "$t" >/dev/null || { echo "bench/cluster-scale: $t not installed"; exit 77; }
done
export ND_BUILD=$build
ND_SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$ND_SRC/tests/integ/lib/netns.sh" >/dev/null
SIM=$build/bench/bench-cluster-sim

nd_underlay h1 >/dev/null || exit 1
nd_etcd sw e1 10.99.0.254 >/dev/null || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
nd_start_node h1 1 --log-level info >/dev/null || exit 1
NPID=$ND_PID
nd_rootfs h1
nd_ctl h1 network create -d overlay --subnet 10.80.0.0/16 ov >/dev/null || exit 1
NET=$(nd_ctl h1 network inspect ov | jq -r '.[0].Id')
nd_ctl h1 run -d --name probe --network ov sleep 3600 >/dev/null || exit 1
probe=$(nd_ctl h1 inspect probe | jq -r '.[0].Id')
pns="$ND_TMP/h1/run/netns/$probe"
ETCD=http://10.99.0.254:2379

now_ns() { date +%s%N; }
remote() { curl -s --unix-socket "$(nd_sock h1)" http://netd/v1/info | jq -r '.Cluster.RemoteEndpoints'; }
events() { curl -s --unix-socket "$(nd_sock h1)" http://netd/v1/info | jq -r '.Cluster.Events'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$NPID/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$NPID/status"; }
fdb_count() { bridge -n "nd-$$-h1" fdb show dev "vx-${NET:0:12}" | grep -c ' dst '; }
# wait until netd holds N remote endpoints (10 ms polls, 60 s at most)
wait_remote() {
        local n=$1 end=$(($(date +%s) + 60))
        while [ "$(remote)" != "$n" ]; do
                [ "$(date +%s)" -lt "$end" ] || { echo "bench/cluster-scale: stuck at $(remote) of $n remote endpoints"; return 1; }
                sleep 0.01
        done
}
ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1000000 }'; }
hz=$(getconf CLK_TCK)

rss0=$(rss_kib)
small=$((hosts / 5 > 0 ? hosts / 5 : 1))
# phase 1: the small cluster (the reference)
c0=$(cpu_ticks) e0=$(events)
done1=$(nsenter --net="/run/netns/nd-$$-sw" "$SIM" "$ETCD" "$NET" 0 "$small" "$eps" 4 | awk '/^done/ {print $2}') || exit 1
wait_remote $((small * eps)) || exit 1
t1=$(now_ns)
c1=$(cpu_ticks) e1=$(events)
# phase 2: the rest
done2=$(nsenter --net="/run/netns/nd-$$-sw" "$SIM" "$ETCD" "$NET" "$small" $((hosts - small)) "$eps" 4 | awk '/^done/ {print $2}') || exit 1
wait_remote $((hosts * eps)) || exit 1
t2=$(now_ns)
c2=$(cpu_ticks) e2=$(events)
rss1=$(rss_kib)
total=$((hosts * eps))

fdb=$(fdb_count)
last="s$((hosts - 1))-$((eps - 1))"
want_ip=$(nsenter --net="$pns" dig +short @127.0.0.11 "$last")
neigh=$(ip -n "nd-$$-h1" neigh show dev "vx-${NET:0:12}" | grep -c PERMANENT)

us_per_event() { awk -v t="$1" -v hz="$hz" -v e="$2" 'BEGIN { printf "%.2f", t * 1000000 / hz / e }'; }
cpu1=$(us_per_event $((c1 - c0)) $((e1 - e0 > 0 ? e1 - e0 : 1)))
cpu2=$(us_per_event $((c2 - c1)) $((e2 - e1 > 0 ? e2 - e1 : 1)))
echo "bench/cluster-scale: 1 real netd + $hosts simulated hosts x $eps endpoints = $total remote endpoints"
echo "  convergence, last write -> every endpoint programmed: $(ms $((t1 - done1))) ms for $((small * eps)) ($small hosts), $(ms $((t2 - done2))) ms for $total ($hosts hosts)"
echo "  programmed: FDB entries $fdb, neighbour entries $neigh, DNS '$last' -> ${want_ip:-nothing}"
echo "  netd CPU per applied event: $cpu1 us with $small hosts (reference), $cpu2 us with $hosts hosts; ratio $(awk -v a="$cpu1" -v b="$cpu2" 'BEGIN { printf "%.2f", b / (a > 0 ? a : 0.01) }')"
echo "  netd RSS: $((rss0 / 1024)) MiB before, $((rss1 / 1024)) MiB after; $(((rss1 - rss0) * 1024 / total)) bytes per remote endpoint"

# a simulated host dies: its lease is revoked
gone=$(nsenter --net="/run/netns/nd-$$-sw" "$SIM" "$ETCD" revoke $((hosts - 1)) | awk '/^done/ {print $2}') || exit 1
wait_remote $(((hosts - 1) * eps)) || exit 1
t3=$(now_ns)
echo "  a host's death (lease revoked) withdrawn on the real host: $(ms $((t3 - gone))) ms for its $eps endpoints; FDB entries left $(fdb_count)"
[ "$fdb" = "$total" ] && [ "$neigh" = "$total" ] && [ -n "$want_ip" ] || { echo "bench/cluster-scale: not everything was programmed"; exit 1; }
