#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# examples/multihost.sh BUILD_DIR: two netd hosts and an etcd on one
# machine, each "host" a network namespace joined by a switch namespace:
#
#   mh-sw    bridge sw0 10.210.0.254  + etcd (data on tmpfs)
#   mh-a     eth0 10.210.0.1          + netd --store etcd://10.210.0.254:2379
#   mh-b     eth0 10.210.0.2          + netd
#
# It creates an overlay network on host a, starts a web server container
# on a and a client on b, and the client fetches the page by name across
# the VXLAN tunnel; then a service with --replicas 3, whose tasks netd
# runs over both hosts, answers through its VIP, and host a draws the
# cluster (netctl topology; with NETD_TOPOLOGY_SVG=FILE also as an SVG,
# which needs Graphviz).  Everything it made is removed at the end,
# also on failure.  Needs root, etcd (Debian's etcd-server) and
# busybox-static.
set -u
build=${1:-build}
netd=$build/netd/netd
netctl=$build/netd/netctl
[ "$(id -u)" = 0 ] || { echo "multihost: run as root (it creates network namespaces)"; exit 1; }
command -v etcd >/dev/null || { echo "multihost: etcd is not installed (apt-get install etcd-server)"; exit 1; }
[ -x "$netd" ] || { echo "multihost: no $netd; build first (meson setup build && ninja -C build)"; exit 1; }

tag=mh$$
tmp=$(mktemp -d /tmp/netd-multihost.XXXXXX)
etcd_data=/dev/shm/netd-multihost-$$
pids=()
# hello_gone: no task of the service is left on either host.  `service rm`
# answers once the service is deleted; each host then stops its own
# tasks, and a netd stopped before that would leave them running.
hello_gone() {
        local h
        for h in a b; do
                [ -S "$tmp/$h/run/netd.sock" ] || continue
                NETD_SOCKET=$tmp/$h/run/netd.sock "$netctl" ps -a --format json 2>/dev/null |
                        jq -e 'any(.[]; .Name | startswith("hello."))' >/dev/null && return 1
        done
        return 0
}
wait_hello_gone() {
        for _ in $(seq 1 100); do hello_gone && return 0; sleep 0.1; done
        return 1
}
cleanup() {
        local p
        for h in a b; do
                [ -S "$tmp/$h/run/netd.sock" ] && NETD_SOCKET=$tmp/$h/run/netd.sock "$netctl" service rm hello >/dev/null 2>&1
                [ -S "$tmp/$h/run/netd.sock" ] && NETD_SOCKET=$tmp/$h/run/netd.sock "$netctl" rm -f web client >/dev/null 2>&1
        done
        wait_hello_gone
        for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
        grep " $tmp/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l 2>/dev/null
        for n in a b sw; do ip netns del "$tag-$n" 2>/dev/null; done
        rm -rf "$tmp" "$etcd_data"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

say() { printf '\n== %s\n' "$*"; }
ctl() { local h=$1; shift; NETD_SOCKET=$tmp/$h/run/netd.sock "$netctl" "$@"; }

say "an underlay: two hosts and a switch"
ip netns add "$tag-sw" && ip -n "$tag-sw" link set lo up
ip -n "$tag-sw" link add sw0 type bridge
ip -n "$tag-sw" addr add 10.210.0.254/24 dev sw0
ip -n "$tag-sw" link set sw0 up
i=0
for h in a b; do
        i=$((i + 1))
        ip netns add "$tag-$h" && ip -n "$tag-$h" link set lo up
        ip -n "$tag-sw" link add "p-$h" type veth peer name eth0 netns "$tag-$h"
        ip -n "$tag-sw" link set "p-$h" master sw0 up
        ip -n "$tag-$h" addr add "10.210.0.$i/24" dev eth0
        ip -n "$tag-$h" link set eth0 up
done

say "etcd on the switch"
mkdir -p "$tmp/etcd"
nsenter --net="/run/netns/$tag-sw" etcd --name sw --data-dir "$etcd_data" \
        --listen-client-urls http://10.210.0.254:2379 --advertise-client-urls http://10.210.0.254:2379 \
        --listen-peer-urls http://10.210.0.254:2380 --initial-advertise-peer-urls http://10.210.0.254:2380 \
        --initial-cluster sw=http://10.210.0.254:2380 >"$tmp/etcd/log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do
        ip netns exec "$tag-sw" curl -sf http://10.210.0.254:2379/health 2>/dev/null | grep -q true && break
        sleep 0.1
done

say "netd on each host"
i=0
for h in a b; do
        i=$((i + 1))
        nsenter --net="/run/netns/$tag-$h" "$netd" --state-dir "$tmp/$h/state" --run-dir "$tmp/$h/run" \
                --store etcd://10.210.0.254:2379 --etcd-insecure --advertise-addr eth0 --node-name "host-$h" \
                >"$tmp/$h.log" 2>&1 &
        pids+=("$!")
        for _ in $(seq 1 100); do [ -S "$tmp/$h/run/netd.sock" ] && break; sleep 0.05; done
        ctl "$h" rootfs init >/dev/null || { cat "$tmp/$h.log"; exit 1; }
done
ctl a node ls

say "an overlay network, created on host a, seen on host b"
ctl a network create -d overlay --subnet 10.211.0.0/24 demo
sleep 0.3
ctl b network ls

say "a web server on host a, a client on host b"
ctl a run -d --name web --network demo busybox httpd -f -p 80 -h /var/www >/dev/null
ctl b run -d --name client --network demo sleep 600 >/dev/null
ctl b exec client nslookup web 127.0.0.11 | grep -A1 '^Name'
echo "client on host b fetches http://web/ from host a:"
ctl b exec client wget -q -O- http://web/index.html || exit 1
ctl b network inspect demo | jq '.[0].Overlay | {Encap, VNI, Blocks, RemoteEndpoints}'

say "a replicated service: netd runs 3 tasks, spread over both hosts"
ctl a service create --name hello --network demo --replicas 3 \
        sh -c 'mkdir -p /w && echo "hello from $HOSTNAME" >/w/index.html && exec httpd -f -p 80 -h /w' >/dev/null || exit 1
for _ in $(seq 1 100); do
        [ "$(ctl b service ps --format json hello | jq '[.[] | select(.State == "running")] | length')" = 3 ] && break
        sleep 0.1
done
ctl b service ps hello
echo "client on host b fetches http://hello/ three times (the VIP balances over the hosts):"
for _ in 1 2 3; do ctl b exec client wget -q -O- http://hello/ || exit 1; done
ctl b service rm hello >/dev/null
wait_hello_gone || echo "warning: tasks of hello still there after 10 s" >&2

say "the cluster as host a sees it (netctl topology)"
ctl a topology --format json |
        jq -r '(.Hosts | map({key: .Id, value: .Name}) | from_entries) as $h |
               .Endpoints[] | "\(.Name)\t\(.Kind)\ton \($h[.Host])\t\([.Networks[].IPv4] | join(","))"'
# NETD_TOPOLOGY_SVG=FILE: also the picture (Graphviz), as docs/topology-example.svg was made
if [ -n "${NETD_TOPOLOGY_SVG:-}" ]; then
        ctl a topology | dot -Tsvg >"$NETD_TOPOLOGY_SVG" && echo "picture written to $NETD_TOPOLOGY_SVG"
fi
say "done; cleaning up"
