#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# examples/multihost.sh as the README gives it: two hosts and etcd on one
# machine, a page fetched by name across the overlay; nothing left behind.
. "$(dirname "$0")/lib/netns.sh"

command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }
# with Graphviz, the same run also draws the picture
svg=
command -v dot >/dev/null && svg=$(mktemp /tmp/nd-mh-topology.XXXXXX)
out=$(NETD_TOPOLOGY_SVG=$svg bash "$ND_SRC/examples/multihost.sh" "$ND_BUILD" 2>&1)
rc=$?
t_eq "multihost exits 0" "$rc" "0"
t_match "both hosts are nodes" "$out" "host-a.*host-b"
t_match "host b sees the overlay network" "$out" "demo +overlay +global"
t_match "the client resolves the server on the other host" "$out" "Name:.web"
t_match "and fetches its page across the tunnel" "$out" "hello from netd"
t_match "a replicated service's 3 tasks run over both hosts" "$out" "hello.1 .*running.*hello.2 .*running.*hello.3 .*running"
t_match "... on host a and on host b" "$(echo "$out" | grep '^hello\.[0-9]* ' | awk '{print $3}' | sort -u | tr '\n' ' ')" "^host-a host-b $"
t_match "and answer through the VIP" "$out" "hello from hello\.[123]"
t_match "host a's topology: its web server" "$out" $'web\tcontainer\ton host-a\t10\\.211\\.0\\.[0-9]+'
t_match "host a's topology: the client on host b, through the cluster" "$out" $'client\tremote\ton host-b\t10\\.211\\.0\\.[0-9]+'
if [ -n "$svg" ]; then
        t_ok "and writes an SVG naming both hosts" sh -c "grep -q '<svg' '$svg' && grep -q 'host&#45;a' '$svg' && grep -q 'host&#45;b' '$svg'"
        rm -f "$svg"
fi
t_eq "its namespaces are gone" "$(ip netns list | grep -c "^mh[0-9]*-")" "0"
monitors() { # of the example's containers, still running
        local p argv n=0
        for p in /proc/[0-9]*; do
                mapfile -d '' -t argv 2>/dev/null <"$p/cmdline" || continue
                [ "${argv[0]:-}" = netd-monitor ] && [[ ${argv[1]:-} == /tmp/netd-multihost.* ]] && n=$((n + 1))
        done
        echo "$n"
}
t_eq "and no container of it runs on (the service's tasks included)" "$(monitors)" "0"
[ $rc = 0 ] || echo "$out" | tail -30
nd_done
