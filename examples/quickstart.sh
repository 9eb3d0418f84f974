#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# netd quickstart: start netd on its embedded store (unless one is already
# running), create a network, list and inspect it, run two containers from
# the default busybox root filesystem and show one reaching the other and
# the host reaching a published port, containers reaching each other by
# name and an alias answered by two containers, then clean up what the example
# created (including netd's nftables table when the example started netd).
#
#   sudo examples/quickstart.sh [BUILD_DIR]
#
# NETD_STATE_DIR and NETD_RUN_DIR choose other directories than
# /var/lib/netd and /run/netd.
set -euo pipefail

build=${1:-build}
netd=$build/netd/netd
netctl=$build/netd/netctl
state=${NETD_STATE_DIR:-/var/lib/netd}
run=${NETD_RUN_DIR:-/run/netd}
export NETD_SOCKET=$run/netd.sock
started=""

say() { printf '\n$ %s\n' "$*"; "$@"; }

stop() {
        local rc=$?
        # a step failed: what this example made goes, as its end does
        if [ "$rc" != 0 ]; then
                "$netctl" rm -f example-web example-client example-api1 example-api2 >/dev/null 2>&1
                "$netctl" network rm example-net example-static >/dev/null 2>&1
        fi
        if [ -n "$started" ]; then
                kill -TERM "$started"
                wait "$started" || true
                "$netd" --cleanup >/dev/null || true
        fi
}
trap stop EXIT

if ! "$netctl" version >/dev/null 2>&1; then
        echo "starting netd (state $state, run $run, log $run/quickstart.log)"
        mkdir -p "$run"
        "$netd" --state-dir "$state" --run-dir "$run" >"$run/quickstart.log" 2>&1 &
        started=$!
        for _ in $(seq 1 100); do
                "$netctl" version >/dev/null 2>&1 && break
                sleep 0.05
        done
fi

say "$netctl" version
rootfs=$("$netctl" rootfs init 2>&1) || { echo "$rootfs"; exit 1; }
echo "$rootfs"
say "$netctl" network create --label example=quickstart example-net
say "$netctl" network create --subnet 10.123.0.0/24 --ip-range 10.123.0.64/26 example-static
say "$netctl" network ls
say "$netctl" network inspect example-net
addr=$("$netctl" ipam alloc --owner quickstart example-static)
echo "allocated $addr on example-static"
say "$netctl" ipam release example-static "$addr"

# two containers on one network; one fetches a page from the other
say "$netctl" run -d --name example-web --network example-static -p 80 busybox httpd -f -p 80 -h /var/www
say "$netctl" run -d --name example-client --network example-static sleep 300
say "$netctl" ps
web=$("$netctl" inspect example-web | sed -n 's/.*"IPAddress": "\([0-9.]*\)".*/\1/p')
say "$netctl" exec example-client ping -c 2 "$web"
say "$netctl" exec example-client wget -qO- "http://$web/index.html"
# containers reach each other by name (netd's DNS at 127.0.0.11)
say "$netctl" exec example-client ping -c 1 example-web
# an alias shared by two containers: answered with both, round-robin
say "$netctl" run -d --name example-api1 --network example-static --network-alias example-api sleep 300
say "$netctl" run -d --name example-api2 --network example-static --network-alias example-api sleep 300
say "$netctl" exec example-client nslookup example-api
say "$netctl" exec example-client nslookup example-api
say "$netctl" exec example-client ping -c 1 example-api
# the published port (a free one from the dynamic range), from the host
say "$netctl" port example-web
hostport=$("$netctl" port example-web 80/tcp | sed 's/.*://')
say curl -sf "http://127.0.0.1:$hostport/index.html"

say "$netctl" rm -f example-web example-client example-api1 example-api2
say "$netctl" network rm example-net example-static

if command -v etcd >/dev/null; then
        echo
        echo "etcd is installed: examples/multihost.sh $build runs an overlay network across two hosts."
fi
