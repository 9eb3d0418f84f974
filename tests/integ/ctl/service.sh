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

# The clients start for every command: they link no libcurl (nor the TLS,
# LDAP and Kerberos stacks it brings) and no shared library but libc
# (jansson and libseccomp are linked in), sanitizer runtimes aside; built
# as static PIEs (meson.build, static_pie), not even libc.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -Ev '^lib(asan|ubsan|m|dl|pthread)\.' | sort | tr '\n' ' '; }
if command -v readelf >/dev/null; then
        for b in "$NETCTL" "$ND_BUILD/netd/netd-cni" "$ND_BUILD/netd/netd-netavark" "$ND_BUILD/runtime/netd-monitor"; do
                t_match "${b##*/} needs no shared library but libc" "$(needed "$b")" '^(libc\.so\.6 )?$'
        done
fi

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
t_code "create: task options need a command" 2 ctl service create --name web --network f --replicas 3
t_code "create: --env needs a command" 2 ctl service create --name web --network f -e A=1
t_code "create: a bad replica count" 2 ctl service create --name web --network f --replicas x true
t_code "create: a bad update delay" 2 ctl service create --name web --network f --update-delay 5x true
t_eq "usage errors send nothing" "$(wc -l <"$log")" "$((n + 1))"

# create with a command: the task template and its policies
t_code "create with a command" 0 ctl service create --name web --network front --replicas 3 --rootfs /nonexistent \
        -e A=1 --env B=2 -m 64m --pids-limit 20 --restart-condition on-failure --update-parallelism 2 \
        --update-delay 500ms --stop-grace-period 2 httpd -f -p 80
t_eq "create: the task" "$(last '.body.Task')" \
        '{"Env":["A=1","B=2"],"Rootfs":"/nonexistent","Memory":67108864,"PidsLimit":20,"StopGracePeriod":2,"Args":["httpd","-f","-p","80"]}'
t_eq "create: the policies" "$(last '.body | [.Replicas, .RestartCondition, .Update, has("Mode")]')" \
        '[3,"on-failure",{"Parallelism":2,"Delay":0.5},false]'
ctl service create --name agent --network front --mode global sleep 100 >/dev/null
t_eq "create: global mode, no Replicas sent" "$(last '.body | [.Mode, has("Replicas"), .Task.Args]')" \
        '["global",false,["sleep","100"]]'
t_eq "create: options after the command are its own" \
        "$(ctl service create --name x --network front sh -c 'echo --replicas' >/dev/null; last '.body | [.Task.Args, has("Replicas")]')" \
        '[["sh","-c","echo --replicas"],false]'

# ps, scale, update, rollback, logs
t_eq "ps: the table (spaces squeezed)" "$(ctl service ps web | sed 's/[0-9]*d ago/AGE/' | tr -s ' ')" \
"NAME CONTAINER HOST DESIRED STATE SINCE ERROR
web.1 c1c1c1c1c1c1 h1 running running (healthy) AGE -
web.2 c2c2c2c2c2c2 h1 running failed AGE task exited with code 1"
t_eq "ps: the path" "$(last '[.method, .path]')" '["GET","/v1/services/web/tasks"]'
t_eq "ps --format json: the daemon's array" "$(ctl service ps --format json web | jq -c '[.[].Name]')" '["web.1","web.2"]'
t_code "ps: unknown service, exit 1" 1 ctl service ps nope
t_code "ps: one service" 2 ctl service ps web db
t_eq "scale: each SERVICE=N" "$(ctl service scale web=5 db=2)" "web scaled to 5
db scaled to 2"
t_eq "scale: the requests" "$(tail -n 2 "$log" | jq -c '[.path, .body]' | tr '\n' ' ')" \
        '["/v1/services/web/scale",{"Replicas":5}] ["/v1/services/db/scale",{"Replicas":2}] '
t_code "scale: the daemon's refusal, exit 1" 1 ctl service scale web=0
t_eq "scale: its message" "$(cat "$tmp/out")" "netctl: web: scale: 'Replicas' must be an integer from 1 to 256"
t_code "scale: not SERVICE=N" 2 ctl service scale web
t_code "scale: not a number" 2 ctl service scale web=x
t_code "update" 0 ctl service update --env-add A=2 --env-rm B --replicas 4 --update-parallelism 1 web
t_eq "update: the body" "$(last '[.path, .body]')" \
        '["/v1/services/web/update",{"EnvAdd":["A=2"],"EnvRm":["B"],"Replicas":4,"Update":{"Parallelism":1}}]'
ctl service update --rootfs /nonexistent web >/dev/null
t_eq "update: only what is given" "$(last '.body')" '{"Rootfs":"/nonexistent"}'
t_code "update: one service" 2 ctl service update --replicas 2 web db
t_code "rollback" 0 ctl service rollback web
t_eq "rollback: the request" "$(last '[.method, .path]')" '["POST","/v1/services/web/rollback"]'
printf 'one\ntwo\n' >"$tmp/$(printf 'c1%.0s' $(seq 32)).log"
printf 'three' >"$tmp/$(printf 'c2%.0s' $(seq 32)).log"
t_eq "logs: each task's lines, prefixed" "$(ctl service logs web)" "web.1 | one
web.1 | two
web.2 | three"

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
t_code "service: unknown command" 2 ctl service frobnicate web
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
