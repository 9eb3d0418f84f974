#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's example, run as written (inside a throwaway namespace with
# its own state and run dirs).
. "$(dirname "$0")/lib/netns.sh"

[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
nd_host ex
out=$(nsenter --net="/run/netns/${ND_NSP}-ex" env NETD_STATE_DIR="$ND_TMP/ex/state" NETD_RUN_DIR="$ND_TMP/ex/run" \
        bash "$ND_SRC/examples/quickstart.sh" "$ND_BUILD" 2>&1)
rc=$?
t_eq "quickstart exits 0" "$rc" "0"
t_match "quickstart created, listed and inspected" "$out" "example-net.*bridge.*local"
t_match "quickstart allocated from the ip-range" "$out" "allocated 10\.123\.0\.64 on example-static"
t_match "quickstart: one container reaches the other" "$out" "hello from netd"
t_match "quickstart: ping went through" "$out" "2 packets received"
t_match "quickstart: a published port" "$out" "80/tcp -> 0\.0\.0\.0:[0-9]+"
t_eq "quickstart: the host fetched through it" "$(grep -c 'hello from netd' <<<"$out")" "2"
t_ok "quickstart stopped its netd" test ! -e "$ND_TMP/ex/run/netd.sock"
t_err "and removed its nftables table" ip netns exec "${ND_NSP}-ex" nft list table inet netd
# the alias answers with both containers' addresses, in turn
t_eq "quickstart: the alias has two addresses" \
        "$(grep -A 8 'nslookup example-api' <<<"$out" | grep -oE 'Address: 10\.[0-9.]+' | sort -u | wc -l)" "2"
t_eq "quickstart: their order rotates between the two lookups" \
        "$(awk '/nslookup example-api/ {n++} n && /^Address: 10\./ {a[n] = a[n] $2 " "} END {print (a[1] != a[2])}' <<<"$out")" "1"
[ $rc = 0 ] || echo "$out"

# a step that fails (curl missing, as on a fresh Debian without it):
# the example says so and leaves none of its containers or networks
mkdir -p "$ND_TMP/nocurl"
printf '#!/bin/sh\necho "curl: not installed" >&2\nexit 127\n' >"$ND_TMP/nocurl/curl"
chmod +x "$ND_TMP/nocurl/curl"
nsenter --net="/run/netns/${ND_NSP}-ex" env PATH="$ND_TMP/nocurl:$PATH" NETD_STATE_DIR="$ND_TMP/ex/state" \
        NETD_RUN_DIR="$ND_TMP/ex/run" bash "$ND_SRC/examples/quickstart.sh" "$ND_BUILD" >"$ND_TMP/nocurl.out" 2>&1
t_eq "without curl the quickstart fails" "$?" "127"
nd_start ex || exit 1
t_eq "and leaves no container" "$(nd_ctl ex ps -a -q | wc -l)" "0"
t_eq "and no network of its own" "$(nd_ctl ex network ls | grep -c example-)" "0"
nd_done
