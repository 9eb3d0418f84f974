#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Health checks of a service's tasks (docs/services.md): a task that has
# not passed its first check is not a backend; after `retries` failures
# it leaves the VIP's slots and tasks.NAME, and one success brings it
# back; a check past its timeout is killed and counts as a failure.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dig >/dev/null && command -v nft >/dev/null || { echo "SKIP: dig or nft missing"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create front" nd_ctl h network create --subnet 10.73.0.0/24 front
t_ok "service with a health check" nd_ctl h service create --name hc --network front \
        --health-cmd 'test -f /tmp/ok' --health-interval 1 --health-timeout 1 --health-retries 2
vip=$(nd_ctl h service inspect hc | jq -r '.[0].VirtualIPs[0].Addr')
serve() {
        nd_ctl h run -d --name "$1" --network front --service hc \
                sh -c "mkdir -p /tmp/w && echo $1 >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
}
t_ok "run t1" serve t1
t_ok "run t2" serve t2
t_ok "run cl" nd_ctl h run -d --name cl --network front sleep 600
dig_in() { nd_ctns h cl dig +time=3 +tries=1 @127.0.0.11 "$@"; }
health() { nd_ctl h service inspect hc | jq -r --arg n "$1" '.[0].Tasks[] | select(.Name == $n) | .Health'; }
slots() { nd_on h nft list map inet netd svc_backends4 | grep -c "$vip . " ; }

t_match "a new task is not a backend before its first check passes" "$(health t1)" "^(starting|unhealthy)$"
t_eq "no slots while no task is healthy" "$(slots)" "0"
t_match "tasks.hc: none healthy, answered here" "$(dig_in tasks.hc)" "status: NOERROR.*ANSWER: 0"
t_ok "t1 becomes unhealthy after 2 failures" nd_eventually 5 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service inspect hc | jq -r '.[0].Tasks[] | select(.Name == \"t1\") | .Health')\" = unhealthy ]"
t_eq "inspect shows the container's health" "$(nd_ctl h inspect t1 | jq -r '.[0].State.Health.Status')" "unhealthy"
t_ok "metrics count the unhealthy tasks (t1 and t2)" nd_eventually 5 sh -c \
        "curl -s --unix-socket '$(nd_sock h)' http://netd/metrics | grep -qx 'netd_service_tasks{health=\"unhealthy\",host=\"local\"} 2'"
if command -v promtool >/dev/null; then
        t_ok "the exposition with services passes promtool" sh -c "curl -s --unix-socket '$(nd_sock h)' http://netd/metrics | promtool check metrics"
fi
t_match "ps shows it beside the status" "$(nd_ctl h ps | grep ' t1 ')" "running \(unhealthy\)"

t_ok "make t1 pass" nd_in h t1 touch /tmp/ok
t_ok "t1 is healthy within an interval" nd_eventually 3 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service inspect hc | jq -r '.[0].Tasks[] | select(.Name == \"t1\") | .Health')\" = healthy ]"
t_eq "tasks.hc: t1 only" "$(dig_in tasks.hc +short)" "$(nd_ctl h inspect t1 | jq -r '.[0].Endpoints[0].IPAddress')"
t_eq "every slot points at t1" "$(slots)" "256"
hits=$(nd_ctns h cl sh -c "for i in \$(seq 20); do curl -s --max-time 2 http://$vip/; done" | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
t_eq "the VIP reaches only the healthy task" "$hits" "t1=20 "

t_ok "make t1 fail again" nd_in h t1 rm /tmp/ok
start=$(date +%s%N)
nd_eventually 6 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service inspect hc | jq -r '.[0].Tasks[] | select(.Name == \"t1\") | .Health')\" = unhealthy ]"
ms=$((($(date +%s%N) - start) / 1000000))
t_ok "t1 is out within interval x retries + 1 s (${ms} ms)" test "$ms" -le 3100
t_eq "no slots left" "$(slots)" "0"
t_match "the VIP refuses" "$(nd_ctns h cl curl -sS --max-time 3 "http://$vip/" 2>&1)" 'Connection refused|Couldn.t connect'

# a check that hangs is killed at its timeout and counts as a failure
t_ok "service whose check hangs" nd_ctl h service create --name slow --network front \
        --health-cmd 'sleep 30' --health-interval 1 --health-timeout 1 --health-retries 1
t_ok "run s1" nd_ctl h run -d --name s1 --network front --service slow sleep 600
t_ok "s1 is unhealthy after the timeout" nd_eventually 5 sh -c "NETD_SOCKET=$(nd_sock h) $NETCTL inspect s1 | jq -e '.[0].State.Health.Status == \"unhealthy\"'"
sleep 2
t_match "timed-out checks do not pile up in the task" "$(nd_in h s1 ps | grep -c 'sleep 30')" '^[01]$'
t_eq "the last exit code is the timeout's" "$(nd_ctl h inspect s1 | jq -r '.[0].State.Health.LastExitCode')" "124"

# bad input
t_match "retries 0 is refused" "$(nd_ctl h service create --name b1 --network front --health-cmd true --health-retries 0 2>&1)" "[Rr]etries"
t_match "a negative interval is refused" "$(nd_ctl h service create --name b2 --network front --health-cmd true --health-interval -1 2>&1)" "[Ii]nterval"
t_eq "a health command with a NUL-free control character: 400" "$(nd_api h POST /v1/services '{"Name":"b3","Networks":["front"],"HealthCheck":{"Test":"true\u0001"}}' | cut -d' ' -f1)" "400"

# stopping a task stops its check
t_ok "stop t1" nd_ctl h stop -t 1 t1
t_eq "t1 is no longer a task" "$(health t1)" ""
nd_done
