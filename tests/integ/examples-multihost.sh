#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# examples/multihost.sh as the README gives it: two hosts and etcd on one
# machine, a page fetched by name across the overlay; nothing left behind.
. "$(dirname "$0")/lib/netns.sh"

command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }
out=$(bash "$ND_SRC/examples/multihost.sh" "$ND_BUILD" 2>&1)
rc=$?
t_eq "multihost exits 0" "$rc" "0"
t_match "both hosts are nodes" "$out" "host-a.*host-b"
t_match "host b sees the overlay network" "$out" "demo +overlay +global"
t_match "the client resolves the server on the other host" "$out" "Name:.web"
t_match "and fetches its page across the tunnel" "$out" "hello from netd"
t_eq "its namespaces are gone" "$(ip netns list | grep -c "^mh[0-9]*-")" "0"
[ $rc = 0 ] || echo "$out" | tail -30
nd_done
