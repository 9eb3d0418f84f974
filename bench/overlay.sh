#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/overlay.sh BUILD_DIR [COUNT] [SECONDS]: two hosts on an underlay
# switch with etcd, netd on each.
#  1. convergence: from `netctl run` returning on host A to the container
#     being resolvable by name and answering ping from a container on host
#     B; median and p95 over COUNT (default 50) containers; the same for
#     tasks of a service joining and leaving tasks.SVC on B;
#  2. iperf3 TCP throughput container to container across the VXLAN
#     overlay, and in the same run across a VXLAN pair made by hand with
#     `ip link` between the two hosts (the kernel's own ceiling): the ratio;
#  3. the same over a GRE overlay network (userspace data path).
# Needs root, etcd, iperf3, dig.
set -u
build=${1:?build dir}
count=${2:-50}
secs=${3:-5}
[ "$(id -u)" = 0 ] || { echo "bench/overlay: needs root"; exit 77; }
for t in etcd iperf3 dig jq; do
        command -v "$t" >/dev/null || { echo "bench/overlay: $t not installed"; exit 77; }
done
export ND_BUILD=$build
ND_SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$ND_SRC/tests/integ/lib/netns.sh" >/dev/null

nd_underlay h1 h2 >/dev/null || exit 1
nd_etcd sw e1 10.99.0.254 >/dev/null || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
for i in 1 2; do
        nd_start_node "h$i" "$i" --log-level info >/dev/null || exit 1
        nd_rootfs "h$i"
done
nd_ctl h1 network create -d overlay --subnet 10.70.0.0/16 ov >/dev/null || exit 1
nd_ctl h1 network create -d overlay -o encap=gre --subnet 10.71.0.0/24 gre >/dev/null || exit 1
sleep 0.5
nd_ctl h2 run -d --name probe --network ov --network gre sleep 3600 >/dev/null || exit 1
probe=$(nd_ctl h2 inspect probe | jq -r '.[0].Id')
pns="$ND_TMP/h2/run/netns/$probe"

# 1. convergence, polled from inside the probe's sandbox by one process
echo "bench/overlay: convergence over $count containers (run returns on A -> resolvable and pingable on B):"
"$build/bench/bench-converge" --netns "$pns" --netctl "$NETCTL" --socket "$(nd_sock h1)" --network ov \
        --count "$count" || exit 1

# 1b. a service's tasks across hosts: a task started on A is in tasks.SVC on
# B (and so in B's VIP slots, rewritten in the same flush), and leaves them
# when it is removed on A
nd_ctl h1 service create --name svc --network ov >/dev/null || exit 1
echo "bench/overlay: service task convergence over $count tasks (run/rm returns on A -> tasks.svc on B; goal p95 <= 100 ms):"
"$build/bench/bench-converge" --netns "$pns" --netctl "$NETCTL" --socket "$(nd_sock h1)" --network ov \
        --count "$count" --service svc --prefix task || exit 1

# 2. throughput: the overlay, then a VXLAN pair by hand
iperf() { # iperf NETNS-OF-SERVER NETNS-OF-CLIENT ADDR -> Gbit/s
        nsenter --net="$1" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
        local s=$!
        sleep 0.3
        nsenter --net="$2" iperf3 -c "$3" -p 5201 -t "$secs" -J 2>/dev/null |
                jq -r '.end.sum_received.bits_per_second / 1e9'
        wait "$s" 2>/dev/null
}
nd_ctl h1 run -d --name sender --network ov --network gre sleep 3600 >/dev/null || exit 1
sender=$(nd_ctl h1 inspect sender | jq -r '.[0].Id')
sns="$ND_TMP/h1/run/netns/$sender"
paddr=$(nd_ctl h2 inspect probe | jq -r '.[0].Endpoints[] | select(.NetworkName == "ov") | .IPAddress')
gaddr=$(nd_ctl h2 inspect probe | jq -r '.[0].Endpoints[] | select(.NetworkName == "gre") | .IPAddress')
nd_on h1 busybox ping -c 1 -W 2 10.99.0.2 >/dev/null
for i in 1 2; do
        ip -n "nd-$$-h$i" link add vxref type vxlan id 4242 local "10.99.0.$i" remote "10.99.0.$((3 - i))" dstport 4799
        ip -n "nd-$$-h$i" link set vxref mtu 1450 up
        ip -n "nd-$$-h$i" addr add "192.168.242.$i/24" dev vxref
done
nd_on h1 busybox ping -c 1 -W 2 192.168.242.2 >/dev/null
# alternate the two, three rounds, and compare medians: two cores shared by
# both ends and the kernel make single runs noisy
ov=() rf=()
for round in 1 2 3; do
        ov+=("$(iperf "$pns" "$sns" "$paddr")")
        rf+=("$(iperf /run/netns/nd-$$-h2 /run/netns/nd-$$-h1 192.168.242.2)")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
overlay=$(median "${ov[@]}")
ref=$(median "${rf[@]}")
printf 'rounds (Gbit/s): overlay'; printf ' %.2f' "${ov[@]}"; printf '; by hand'; printf ' %.2f' "${rf[@]}"; echo
gre=$(iperf "$pns" "$sns" "$gaddr")
printf "iperf3 TCP %ss  netd VXLAN overlay (container to container): %6.2f Gbit/s (median of 3)\n" "$secs" "$overlay"
printf "iperf3 TCP %ss  VXLAN pair by hand (host to host, ip link):   %6.2f Gbit/s (median of 3)\n" "$secs" "$ref"
awk -v a="$overlay" -v b="$ref" 'BEGIN { if (b > 0) printf "ratio overlay/by-hand: %.2f (target >= 0.95)\n", a / b }'
printf "iperf3 TCP %ss  netd GRE overlay (userspace data path):    %6.2f Gbit/s\n" "$secs" "$gre"
awk -v a="$gre" -v b="$ref" 'BEGIN { if (b > 0) printf "ratio GRE-userspace/VXLAN-by-hand: %.2f\n", a / b }'
