#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/engines.sh BUILD_DIR [COUNT]: what netd adds to other engines'
# container starts, in one throwaway host namespace.
#  1. dockerd (Debian's docker.io): `docker run --rm` of a no-op on a netd
#     network (the plugin: an address from netd's IPAM, the endpoint
#     record, a veth, Join, and the teardown) against the same run with
#     `--network none`, alternating; medians over COUNT (default 20) runs
#     each, and the difference;
#     and netd's own part: the same plugin calls made directly;
#  2. netd-cni: ADD and DEL of one namespace, as a runtime calls them;
#     medians over COUNT.
# Needs root, dockerd, busybox-static.
set -u
build=${1:?build dir}
count=${2:-20}
[ "$(id -u)" = 0 ] || { echo "bench/engines: needs root"; exit 77; }
command -v dockerd >/dev/null || { echo "bench/engines: dockerd not installed"; exit 77; }
[ -x /bin/busybox ] || { echo "bench/engines: busybox-static not installed"; exit 77; }
export ND_BUILD=$build
ND_SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$ND_SRC/tests/integ/lib/netns.sh" >/dev/null
[ -x /usr/bin/docker ] || ND_DOCKER_CLIENT=$(command -v docker)

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

nd_host h >/dev/null || exit 1
PSOCK=$ND_TMP/h/run/netd-plugin.sock
nd_start h --log-level warning --docker-plugin-socket "$PSOCK" >/dev/null || exit 1
nd_dockerd h "$PSOCK" >/dev/null || exit 1
nd_docker_image h || { echo "bench/engines: image import failed"; exit 1; }
nd_docker h network create -d netd --ipam-driver netd --subnet 10.90.0.0/24 bn >/dev/null || exit 1
# one run each first: image layers, caches
nd_docker h run --rm --network none bb:test true >/dev/null
nd_docker h run --rm --network bn bb:test true >/dev/null

: >"$ND_TMP/none" && : >"$ND_TMP/netd"
for _ in $(seq 1 "$count"); do
        t=$(ms); nd_docker h run --rm --network none bb:test true >/dev/null || exit 1; echo $(( $(ms) - t )) >>"$ND_TMP/none"
        t=$(ms); nd_docker h run --rm --network bn bb:test true >/dev/null || exit 1; echo $(( $(ms) - t )) >>"$ND_TMP/netd"
done
none=$(median <"$ND_TMP/none")
netd=$(median <"$ND_TMP/netd")
printf 'docker run --rm (n=%d, medians)   --network none: %d ms   on a netd network: %d ms\n' "$count" "$none" "$netd"
printf "netd network / none: %s   (+%d ms: dockerd's own network setup and netd's calls)\n" \
        "$(awk -v a="$netd" -v b="$none" 'BEGIN {printf "%.2f", a / b}')" $(( netd - none ))

# netd's own part of that: the plugin calls of one container's life
# (CreateEndpoint with an address from netd, Join, Leave, DeleteEndpoint)
# in one client process, each answered after its store write
DN=$(nd_docker h network inspect bn -f '{{.Id}}')
: >"$ND_TMP/calls"
for i in $(seq 1 "$count"); do
        E=$(printf '%064x' "$((0xbe00 + i))")
        b='{"NetworkID":"'"$DN"'","EndpointID":"'"$E"'"'
        t=$(ms)
        curl -sf --unix-socket "$PSOCK" -o /dev/null -d "$b"',"Interface":{}}' http://p/NetworkDriver.CreateEndpoint \
                --next -sf --unix-socket "$PSOCK" -o /dev/null -d "$b"',"SandboxKey":"/x"}' http://p/NetworkDriver.Join \
                --next -sf --unix-socket "$PSOCK" -o /dev/null -d "$b}" http://p/NetworkDriver.Leave \
                --next -sf --unix-socket "$PSOCK" -o /dev/null -d "$b}" http://p/NetworkDriver.DeleteEndpoint || exit 1
        echo $(( $(ms) - t )) >>"$ND_TMP/calls"
done
printf "netd's plugin calls per container (CreateEndpoint, Join, Leave, DeleteEndpoint; median): %d ms\n" \
        "$(median <"$ND_TMP/calls")"

nd_ctl h network create --subnet 10.91.0.0/24 cn >/dev/null || exit 1
CONF='{"cniVersion":"1.0.0","name":"cn","type":"netd","socket":"'"$(nd_sock h)"'"}'
ip netns add "nd-$$-bc" && ND_NS+=("nd-$$-bc")
: >"$ND_TMP/add" && : >"$ND_TMP/del"
for i in $(seq 1 "$count"); do
        t=$(ms)
        CNI_COMMAND=ADD CNI_CONTAINERID="b$i" CNI_NETNS="/run/netns/nd-$$-bc" CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
                "$build/netd/netd-cni" <<<"$CONF" >/dev/null || exit 1
        echo $(( $(ms) - t )) >>"$ND_TMP/add"
        t=$(ms)
        CNI_COMMAND=DEL CNI_CONTAINERID="b$i" CNI_NETNS="/run/netns/nd-$$-bc" CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
                "$build/netd/netd-cni" <<<"$CONF" >/dev/null || exit 1
        echo $(( $(ms) - t )) >>"$ND_TMP/del"
done
printf 'netd-cni (n=%d, medians, process start included)   ADD: %d ms   DEL: %d ms\n' "$count" \
        "$(median <"$ND_TMP/add")" "$(median <"$ND_TMP/del")"
