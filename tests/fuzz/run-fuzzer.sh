#!/bin/sh
# run-fuzzer.sh FUZZER CORPUS SECONDS: a bounded libFuzzer run seeded by the
# committed corpus; new inputs go to a temp dir, crashes fail the test
# (exit 1: libFuzzer's default 77 would read as "skipped" to meson).
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$1" -max_total_time="$3" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -error_exitcode=1 \
        -artifact_prefix="$out/" "$out" "$2"
