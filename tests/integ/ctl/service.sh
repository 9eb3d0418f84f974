#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# netctl service create/ls/inspect/rm and run/create --service against a
# stand-in for the daemon (fake-netd.py on a unix socket): the request
# bodies netctl sends, how it shows the replies, and its refusals.  Needs
# neither root nor netd, so it checks the client alone; the routes
# themselves are tested with the daemon.
set -u

ND_BUILD=${ND_BUILD:?ND_BUILD must point at the meson build dir}
ND_SRC=${ND_SRC:-$(cd "$(dirname "$0")/../../.." && pwd)}
NETCTL=$ND_BUILD/netd/netctl
command -v python3 >/dev/null && command -v jq >/dev/null || { echo "SKIP: needs python3 and jq"; exit 77; }

tmp=$(mktemp -d /tmp/nd-ctl-service.XXXXXX)
sock=$tmp/netd.sock
log=$tmp/requests.jsonl
fake=
cleanup() {
        [ -z "$fake" ] || { kill "$fake" 2>/dev/null; wait "$fake" 2>/dev/null; }
        rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
t_pass() { passed=$((passed + 1)); echo "ok - $1"; }
t_fail() { failed=$((failed + 1)); echo "not ok - $1"; }
t_eq() {
        if [ "$2" = "$3" ]; then t_pass "$1"; else t_fail "$1"; echo "    got:  $2"; echo "    want: $3"; fi
}
# t_code DESC WANT_EXIT CMD...: the exit code, output in $tmp/out
t_code() {
        local d=$1 want=$2 got
        shift 2
        "$@" >"$tmp/out" 2>&1
        got=$?
        if [ "$got" = "$want" ]; then t_pass "$d"; else t_fail "$d (exit $got, want $want)"; sed 's/^/    /' "$tmp/out"; fi
}
ctl() { "$NETCTL" --socket "$sock" "$@"; }
# the last request the daemon got, as jq sees it
last() { tail -n 1 "$log" | jq -c "$1"; }

# the process name carries the caller's prefix (ND_TEST_PREFIX)
(exec -a "${ND_TEST_PREFIX:-nd-$$}-fake-netd" python3 "$ND_SRC/tests/integ/ctl/fake-netd.py" "$sock" "$log") &
fake=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "fake daemon did not start"; exit 1; }

# create: every flag into the body
t_eq "create prints the id" "$(ctl service create --name web --network front --network back --endpoint-mode vip \
        -p 8080:80 --publish mode=host,53:53/udp --health-cmd 'wget -qO- localhost' --health-interval 5 \
        --health-timeout 500ms --health-retries 4 --label k=v --label a=b=c)" "$(printf '5e%.0s' $(seq 32))"
t_eq "create: method and path" "$(last '[.method, .path]')" '["POST","/v1/services"]'
t_eq "create: body" "$(last '.body | {Name, Networks, EndpointMode, Ports, Labels}')" \
        '{"Name":"web","Networks":["front","back"],"EndpointMode":"vip","Ports":["8080:80","mode=host,53:53/udp"],"Labels":{"k":"v","a":"b=c"}}'
t_eq "create: health check, durations in seconds" "$(last '.body.HealthCheck | [.Test, .Interval, .Timeout, .Retries]')" \
        '["wget -qO- localhost",5,0.5,4]'
ctl service create --name db --network back --health-cmd true --health-interval 2m >/dev/null
t_eq "create: minutes, no mode sent when not given" "$(last '.body | [.HealthCheck.Interval, has("EndpointMode")]')" '[120,false]'
ctl service create --name db --network back >/dev/null
t_eq "create: no HealthCheck without --health-cmd" "$(last '.body | has("HealthCheck")')" 'false'

n=$(wc -l <"$log")
t_code "create: the daemon's message, exit 1" 1 ctl service create --name taken --network front
t_eq "create: the message" "$(cat "$tmp/out")" "netctl: service name 'taken' is in use"
t_code "create: --name required (usage, exit 2)" 2 ctl service create --network front
t_code "create: --network required" 2 ctl service create --name web
t_code "create: a bad duration" 2 ctl service create --name web --network f --health-cmd t --health-interval 5x
t_eq "create: its message" "$(head -n 1 "$tmp/out")" \
        "netctl: invalid --health-interval '5x': want seconds, or a number with a unit (500ms, 30s, 2m, 1h)"
t_code "create: a bad retry count" 2 ctl service create --name web --network f --health-cmd t --health-retries x
t_code "create: health options need --health-cmd" 2 ctl service create --name web --network f --health-retries 2
t_code "create: a bad label" 2 ctl service create --name web --network f --label novalue
t_code "create: no positional arguments" 2 ctl service create --name web --network f extra
t_eq "usage errors send nothing" "$(wc -l <"$log")" "$((n + 1))"

# ls
ctl service ls >"$tmp/ls"
t_eq "ls: the table" "$(cat "$tmp/ls")" \
"NAME  ID            MODE   NETWORKS      VIPS               PORTS                           TASKS
db    dbdbdbdb1111  dnsrr  bb132da5d460  -                  -                               1/1
web   f00dfeed0000  vip    front,back    10.1.0.5,10.2.0.9  *:8080->80/tcp,host:53->53/udp  1/2"
t_eq "ls --format json: the daemon's array" "$(ctl service ls --format json | jq -c '[.[].Name]')" '["web","db"]'
t_eq "ls -q: ids" "$(ctl service ls -q | cut -c1-8 | tr '\n' ' ')" "f00dfeed dbdbdbdb "
t_code "ls: unknown format" 2 ctl service ls --format yaml

# inspect
t_eq "inspect: a JSON array of the objects" "$(ctl service inspect web db | jq -c '[.[] | .Name, (.Tasks | length)]')" \
        '["web",2,"db",1]'
t_eq "inspect: the path" "$(tail -n 2 "$log" | jq -r .path | tr '\n' ' ')" "/v1/services/web /v1/services/db "
t_code "inspect: unknown, exit 1" 1 ctl service inspect web nope
t_eq "inspect: the known ones still printed, the message on stderr" \
        "$(ctl service inspect web nope 2>"$tmp/err" | jq -c '[.[].Name]') $(cat "$tmp/err")" \
        "[\"web\"] netctl: no such service: 'nope'"
t_code "inspect: a reference that is no path segment" 1 ctl service inspect 'a/b'

# rm
t_code "rm" 0 ctl service rm web
t_eq "rm: DELETE" "$(last '[.method, .path]')" '["DELETE","/v1/services/web"]'
t_code "rm: unknown, exit 1" 1 ctl service rm nope
t_code "service: unknown command" 2 ctl service scale web=3
t_code "service --help" 0 ctl service --help

# run/create --service
t_code "create --service" 0 ctl create --network front --service web sleep 1
t_eq "create --service: the body" "$(last '[.path, .body.Service, .body.Networks[0].Network]')" \
        '["/v1/containers?start=0","web","front"]'
ctl create --network front sleep 1 >/dev/null
t_eq "no Service without --service" "$(last '.body | has("Service")')" 'false'
t_code "--service with --network host refused" 2 ctl run --network host --service web sleep 1

echo "# $passed passed, $failed failed"
[ "$failed" = 0 ]
