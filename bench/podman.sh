#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/podman.sh BUILD_DIR [COUNT]: Podman's netavark backend served by
# netd against Debian's netavark, in throwaway host namespaces.
#  1. `podman run --rm` of a no-op (Debian's Podman 4.3) on a Podman
#     network with DNS, once with netd-netavark as the "netavark" of
#     helper_binaries_dir (a netd in the namespace), once with Debian's
#     netavark and aardvark-dns; alternating, medians over COUNT runs each
#     (default 20, 5 with CI=true), and the ratio (goal: no slower);
#  2. the backends' own part: `setup` then `teardown` of one fresh
#     namespace with the same network options JSON, calling each binary
#     directly; medians, ratio (goal: netd-netavark <= 0.2x netavark);
#     then the same less the `nsenter --net` wrapper both calls run
#     under (nsenter running /bin/true twice, timed in the same pair, as
#     bench/clients.sh does for CNI): the backends' own part.
# Needs root, podman, netavark (/usr/lib/podman), busybox-static; exit 77
# without them.
set -u
build=${1:?build dir}
if [ "${CI:-}" = true ]; then count=${2:-5}; else count=${2:-20}; fi
NV_REF=${NV_REF:-/usr/lib/podman/netavark}
[ "$(id -u)" = 0 ] || { echo "bench/podman: needs root"; exit 77; }
command -v podman >/dev/null || { echo "bench/podman: podman not installed"; exit 77; }
[ -x "$NV_REF" ] || { echo "bench/podman: netavark not installed ($NV_REF)"; exit 77; }
[ -x /bin/busybox ] || { echo "bench/podman: busybox-static not installed"; exit 77; }
export ND_BUILD=$build
ND_SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$ND_SRC/tests/integ/lib/netns.sh" >/dev/null
NV=$build/netd/netd-netavark

ms() { echo $(( $(date +%s%N) / 1000000 )); }
us() { echo $(( $(date +%s%N) / 1000 )); }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }

nd_host h >/dev/null || exit 1
nd_start h --log-level warning >/dev/null || exit 1
T=$ND_TMP/pm
mkdir -p "$T/bin" "$T/networks" "$T/rootfs" "$T/nvrun"
ln -s "$NV" "$T/bin/netavark"
export NETD_SOCKET
NETD_SOCKET=$(nd_sock h)
# one containers.conf per backend; the same storage and network
# definitions (both are Podman's netavark backend)
conf() {
        cat <<EOC
[network]
network_backend = "netavark"
network_config_dir = "$T/networks"
[engine]
helper_binaries_dir = [$1]
env = ["NETD_SOCKET=$NETD_SOCKET"]
events_logger = "file"
cgroup_manager = "cgroupfs"
EOC
}
conf "\"$T/bin\", \"$(dirname "$NV_REF")\"" >"$T/netd.conf"
conf "\"$(dirname "$NV_REF")\"" >"$T/netavark.conf"
P() {
        local c=$1
        shift
        CONTAINERS_CONF=$T/$c.conf nsenter --net="/run/netns/nd-$$-h" \
                podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs "$@"
}
# aardvark-dns, which netavark starts detached, stays after the bench
aardvark_stop() {
        local f p
        for f in "$T"/run/networks/aardvark-dns/aardvark.pid "$T"/nvrun/aardvark-dns/aardvark.pid; do
                p=$(cat "$f" 2>/dev/null) && kill "$p" 2>/dev/null
        done
}
trap 'P netd rm -a -f -t 0 >/dev/null 2>&1; aardvark_stop; nd_cleanup' EXIT

nd_ctl h rootfs init "$T/rootfs" >/dev/null
tar -C "$T/rootfs" -c . >"$T/busybox.tar" &&
        podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs import "$T/busybox.tar" \
                localhost/busybox:test >/dev/null 2>&1 || { echo "bench/podman: image import failed"; exit 1; }
P netd network create --subnet 10.89.60.0/24 bnd >/dev/null &&
        P netavark network create --subnet 10.89.61.0/24 bnv >/dev/null || exit 1
RUN=(run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# netavark writes "failed to connect to syslog" to stderr on every call
one() {
        P "$1" "${RUN[@]}" --network "$2" localhost/busybox:test true >/dev/null 2>"$ND_TMP/err" ||
                { cat "$ND_TMP/err"; return 1; }
}
# one run each first: image, caches, aardvark-dns started
one netd bnd && one netavark bnv || { echo "bench/podman: podman run failed"; exit 1; }
[ "$(nd_api h GET /v1/sandboxes | cut -d' ' -f2- | jq length)" = 0 ] ||
        { echo "bench/podman: netd still holds the no-op's sandbox"; exit 1; }

: >"$ND_TMP/run-netd" && : >"$ND_TMP/run-nv"
for _ in $(seq 1 "$count"); do
        t=$(ms); one netd bnd || exit 1; echo $(( $(ms) - t )) >>"$ND_TMP/run-netd"
        t=$(ms); one netavark bnv || exit 1; echo $(( $(ms) - t )) >>"$ND_TMP/run-nv"
done
rn=$(median <"$ND_TMP/run-netd")
rv=$(median <"$ND_TMP/run-nv")
printf 'podman run --rm (n=%d, medians)   netd-netavark: %d ms   Debian netavark %s: %d ms   ratio %s\n' \
        "$count" "$rn" "$("$NV_REF" version | jq -r .version)" "$rv" "$(ratio "$rn" "$rv")"

# the backends alone: the same options JSON, a fresh container namespace
# per call pair (netavark wants the address Podman chose: static_ips);
# netavark in a host namespace of its own, so neither sees the other's
# bridge
nd_host v >/dev/null || exit 1
OPTS='{"container_id":"b0b0","container_name":"bench","networks":{"bn":{"interface_name":"eth0","static_ips":["10.96.60.2"]}},
 "network_info":{"bn":{"name":"bn","id":"bnid","driver":"bridge","network_interface":"pzb0",
 "subnets":[{"subnet":"10.96.60.0/24","gateway":"10.96.60.1"}],"ipv6_enabled":false,"internal":false,
 "dns_enabled":true,"ipam_options":{"driver":"host-local"}}}}'
call() {
        local host=$1 bin=$2 cmd=$3 ns=$4 opts=${5:-$OPTS}
        nsenter --net="/run/netns/nd-$$-$host" "$bin" --config "$T/nvrun" "$cmd" "/run/netns/$ns" <<<"$opts" \
                >/dev/null 2>"$ND_TMP/err" || { echo "bench/podman: $bin $cmd:" >&2; cat "$ND_TMP/err" >&2; return 1; }
}
# pair HOST BIN: microseconds of setup+teardown, and of the wrapper alone
pair() {
        local host=$1 bin=$2 ns=nd-$$-c t w
        ip netns add "$ns" || return 1
        t=$(us)
        nsenter --net="/run/netns/nd-$$-$host" /bin/true && nsenter --net="/run/netns/nd-$$-$host" /bin/true
        w=$(( $(us) - t ))
        t=$(us)
        call "$host" "$bin" setup "$ns" && call "$host" "$bin" teardown "$ns" || { ip netns del "$ns"; return 1; }
        echo "$(( $(us) - t )) $w"
        ip netns del "$ns"
}
# COUNT pairs each, alternating; prints the two medians and the ratio
pairs() {
        : >"$ND_TMP/call-netd" && : >"$ND_TMP/call-nv"
        for _ in $(seq 1 "$count"); do
                pair h "$NV" >>"$ND_TMP/call-netd" || { echo "bench/podman: a pair failed" >&2; return 1; }
                pair v "$NV_REF" >>"$ND_TMP/call-nv" || { echo "bench/podman: a pair failed" >&2; return 1; }
        done
        local cn cv wr
        cn=$(cut -d' ' -f1 "$ND_TMP/call-netd" | median)
        cv=$(cut -d' ' -f1 "$ND_TMP/call-nv" | median)
        wr=$(cut -d' ' -f2 "$ND_TMP/call-netd" "$ND_TMP/call-nv" | median)
        printf '  netd-netavark: %.1f ms   netavark: %.1f ms   ratio %s\n' "$(msf "$cn")" "$(msf "$cv")" "$(ratio "$cn" "$cv")"
        printf '  less the wrapper (%.1f ms, two nsenter runs): netd-netavark %.1f ms   netavark %.1f ms   ratio %s (goal <= 0.20)\n' \
                "$(msf "$wr")" "$(msf $((cn - wr)))" "$(msf $((cv - wr)))" "$(ratio $((cn - wr)) $((cv - wr)))"
}
msf() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
ND_NS+=("nd-$$-c" "nd-$$-k" "nd-$$-kv")
pair h "$NV" >/dev/null && pair v "$NV_REF" >/dev/null || { echo "bench/podman: a direct setup failed"; exit 1; }
printf 'setup+teardown called directly, the same JSON (n=%d, medians)\n' "$count"
printf ' the only container on its network (each pair makes and removes the network: bridge, rules; DNS)\n'
pairs || exit 1
# a second container holds the network, as while other containers run
KOPTS=$(jq -c '.container_id = "k0k0" | .container_name = "keep" | .networks.bn.static_ips = ["10.96.60.3"]' <<<"$OPTS")
ip netns add "nd-$$-k" && ip netns add "nd-$$-kv" &&
        call h "$NV" setup "nd-$$-k" "$KOPTS" && call v "$NV_REF" setup "nd-$$-kv" "$KOPTS" || exit 1
printf ' another container on the network (per-container work only)\n'
pairs || exit 1
call h "$NV" teardown "nd-$$-k" "$KOPTS" && call v "$NV_REF" teardown "nd-$$-kv" "$KOPTS"
