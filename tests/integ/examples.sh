#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's example, run as written (inside a throwaway namespace with
# its own state and run dirs).
. "$(dirname "$0")/lib/netns.sh"

[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
nd_host ex
out=$(nsenter --net="/run/netns/nd-$$-ex" env NETD_STATE_DIR="$ND_TMP/ex/state" NETD_RUN_DIR="$ND_TMP/ex/run" \
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
t_err "and removed its nftables table" ip netns exec "nd-$$-ex" nft list table inet netd
[ $rc = 0 ] || echo "$out"
nd_done
