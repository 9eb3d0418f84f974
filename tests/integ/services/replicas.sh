#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Services whose tasks netd runs (docs/services.md, "Replicated
# services"): NAME.SLOT tasks behind the VIP, tasks.NAME and a published
# port; a killed task restarted; scale up and down touching only the
# slots that change; a rolling update and its rollback with no failed
# request through the routing mesh; a crashing task and a missing rootfs
# shown per task with a backoff; bad input; netd killed and restarted
# adopts the running tasks; service rm leaves nothing behind.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dig >/dev/null && command -v nft >/dev/null && command -v jq >/dev/null ||
        { echo "SKIP: dig, nft or jq missing"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create front" nd_ctl h network create --subnet 10.74.0.0/24 front
t_ok "a client" nd_ctl h run -d --name cl --network front sleep 600
inuse0=$(nd_ctl h network inspect front | jq -r '.[0].AddressesInUse')

ps_json() { nd_ctl h service ps --format json "$1"; }
# running SERVICE: the number of its tasks running (and healthy, when it has a check)
running() { ps_json "$1" | jq '[.[] | select(.State == "running" and (.Health == "" or .Health == "healthy"))] | length'; }
ids() { ps_json "$1" | jq -r '.[] | "\(.Name)=\(.Container[0:12])"' | tr '\n' ' '; }
pid_of() { nd_ctl h inspect "$1" | jq -r '.[0].State.Pid'; }
srv='mkdir -p /w && echo "$HOSTNAME $V" >/w/index.html && exec httpd -f -p 80 -h /w'

t0=$(date +%s)
t_ok "create web: 3 replicas of busybox httpd answering its name" nd_ctl h service create --name web \
        --network front -p 8080:80 --replicas 3 -e V=1 --stop-grace-period 1 \
        --health-cmd 'wget -q -O /dev/null http://127.0.0.1/' --health-interval 0.5 --health-retries 1 \
        sh -c "$srv"
t_ok "3 tasks running and healthy" nd_eventually 15 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web | jq '[.[] | select(.Health == \"healthy\")] | length')\" = 3 ]"
t_eq "named web.1..3, desired running" "$(ps_json web | jq -r '.[] | "\(.Name):\(.DesiredState)"' | tr '\n' ' ')" \
        "web.1:running web.2:running web.3:running "
t_match "service ps shows the table" "$(nd_ctl h service ps web)" "NAME +CONTAINER +HOST +DESIRED +STATE +SINCE +ERROR.*web.1 .*running +running \(healthy\)"
t_eq "the tasks are managed containers of the service" \
        "$(nd_ctl h inspect web.2 | jq -c '.[0].Config | [.Service, .Managed, .Hostname]')" '["web",true,"web.2"]'
vip=$(nd_ctl h service inspect web | jq -r '.[0].VirtualIPs[0].Addr')
hits=$(nd_on h sh -c "for i in \$(seq 30); do curl -s --max-time 2 http://$vip/; done" | sort -u | tr '\n' ' ')
t_eq "the VIP reaches every task" "$hits" "web.1 1 web.2 1 web.3 1 "
t_eq "tasks.web: three addresses" "$(nd_ctns h cl dig +short +time=2 +tries=1 @127.0.0.11 tasks.web | wc -l)" "3"
t_eq "a task resolves like a container" "$(nd_ctns h cl dig +short +time=2 +tries=1 @127.0.0.11 web.3)" \
        "$(nd_ctl h inspect web.3 | jq -r '.[0].Endpoints[0].IPAddress')"
t_match "rm of a task is refused" "$(nd_ctl h rm -f web.1 2>&1)" "task of service 'web'.*service scale"

# self-healing: kill -9 of a task's process from the host
id2=$(nd_ctl h inspect web.2 | jq -r '.[0].Id')
pid2=$(pid_of web.2)
kill -9 "$pid2"
t_ok "the killed task runs again" nd_eventually 10 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web | jq -r '.[] | select(.Name == \"web.2\") | \"\(.State) \(.Restarts)\"')\" = 'running 1' ]"
t_ok "... as the same container, another process" test "$(nd_ctl h inspect web.2 | jq -r '.[0].Id')" = "$id2" -a \
        "$(pid_of web.2)" != "$pid2"
t_ok "still 3 healthy" nd_eventually 5 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web | jq '[.[] | select(.Health == \"healthy\")] | length')\" = 3 ]"

# scale: only the slots that change
before=$(ids web)
t_ok "scale to 5" nd_ctl h service scale web=5
t_ok "5 running" nd_eventually 10 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web | jq '[.[] | select(.State == \"running\")] | length')\" = 5 ]"
t_eq "web.1..3 kept their containers" "$(ids web | cut -d' ' -f1-3) " "$before"
t_ok "scale to 2" nd_ctl h service scale web=2
t_ok "2 tasks left" nd_eventually 10 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web | jq length)\" = 2 ]"
t_eq "the highest slots went, web.1 and web.2 kept theirs" "$(ids web)" "$(echo "$before" | cut -d' ' -f1-2) "
t_err "web.5's container is gone" nd_ctl h inspect web.5
t_eq "scale 0 is refused" "$(nd_ctl h service scale web=0 2>&1)" \
        "netctl: web: scale: 'Replicas' must be an integer from 1 to 256"

# a rolling update, requests all along through the routing mesh and the VIP
t_ok "2 healthy before the update" nd_eventually 5 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web | jq '[.[] | select(.Health == \"healthy\")] | length')\" = 2 ]"
: >"$ND_TMP/mesh" >"$ND_TMP/vip"
nd_bg nd_on h sh -c "while :; do curl -s -o /dev/null -w '%{http_code}\n' --max-time 2 http://127.0.0.1:8080/ >>'$ND_TMP/mesh'; done"
mesh_loop=$!
nd_bg nd_on h sh -c "while :; do curl -s -o /dev/null -w '%{http_code}\n' --max-time 2 http://$vip/ >>'$ND_TMP/vip'; done"
vip_loop=$!
sleep 0.5
t_ok "update --env-add V=2 (parallelism 1)" nd_ctl h service update --env-add V=2 --update-parallelism 1 web
t_ok "both tasks replaced, healthy" nd_eventually 20 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web | jq '[.[] | select(.Version == 2 and .Health == \"healthy\")] | length')\" = 2 ]"
sleep 0.5
kill "$mesh_loop" "$vip_loop"
wait "$mesh_loop" "$vip_loop" 2>/dev/null
failed() { sort "$1" | uniq -c | awk '{print $2"="$1}' | grep -v '^200=' | tr '\n' ' '; }
t_match "requests were made throughout ($(wc -l <"$ND_TMP/mesh") + $(wc -l <"$ND_TMP/vip"))" \
        "$(wc -l <"$ND_TMP/mesh") $(wc -l <"$ND_TMP/vip")" '^([2-9][0-9]|[0-9]{3,}) ([2-9][0-9]|[0-9]{3,})$'
t_eq "no request failed through the routing mesh" "$(failed "$ND_TMP/mesh")" ""
t_eq "no request failed through the VIP" "$(failed "$ND_TMP/vip")" ""
t_eq "the new tasks have the new environment" \
        "$(nd_on h sh -c 'for i in $(seq 10); do curl -s --max-time 2 http://127.0.0.1:8080/; done' | awk '{print $2}' | sort -u)" "2"
t_ok "rollback" nd_ctl h service rollback web
t_ok "back to version 1" nd_eventually 20 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web | jq '[.[] | select(.Version == 1 and .Health == \"healthy\")] | length')\" = 2 ]"
t_eq "with the old environment" \
        "$(nd_on h sh -c 'for i in $(seq 10); do curl -s --max-time 2 http://127.0.0.1:8080/; done' | awk '{print $2}' | sort -u)" "1"
t_match "a second rollback is the update again" "$(nd_ctl h service inspect web | jq -c '[.[0].Version, .[0].Previous.Version]')" '^\[1,2\]$'

# a task that cannot run: shown per task, retried with a backoff
t_ok "a service whose command fails" nd_ctl h service create --name crash --network front false
t_ok "a service whose rootfs is missing" nd_ctl h service create --name nofs --network front --rootfs /nonexistent-$$ true
sleep 5
# one snapshot for both: the task starts again now and then
for _ in $(seq 40); do
        cr=$(ps_json crash)
        [ "$(echo "$cr" | jq -r '.[0].State')" = failed ] && break
        sleep 0.1
done
t_eq "crash: failed, with the exit code" "$(echo "$cr" | jq -r '.[0] | "\(.State): \(.Error)"')" "failed: task exited with code 1"
t_match "crash: restarted with a backoff, not in a loop ($(echo "$cr" | jq '.[0].Restarts') in 5 s)" \
        "$(echo "$cr" | jq '.[0].Restarts')" '^[1-3]$'
nf=$(ps_json nofs)
t_eq "nofs: rejected, with the reason" "$(echo "$nf" | jq -r '.[0] | "\(.State): \(.Error)"')" \
        "rejected: root filesystem '/nonexistent-$$' does not exist"
t_match "nofs: retried with a backoff ($(echo "$nf" | jq '.[0].Restarts') in 5 s)" "$(echo "$nf" | jq '.[0].Restarts')" '^[1-3]$'
t_ok "ps shows when it retries" nd_eventually 3 sh -c "NETD_SOCKET=$(nd_sock h) $NETCTL service ps nofs | grep -q 'rejected (retry in [0-9]*s)'"
t_ok "rm crash" nd_ctl h service rm crash
t_ok "rm nofs" nd_ctl h service rm nofs

# global mode: one task per host, named after it
t_ok "a global service" nd_ctl h service create --name agent --mode global --network front --stop-grace-period 0 sleep 1000
t_ok "one task, agent.HOST" nd_eventually 10 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json agent | jq -r '.[] | \"\(.Name) \(.State)\"')\" = 'agent.$(hostname -s | tr -c 'A-Za-z0-9-\n' -) running' ]"
t_ok "rm agent" nd_ctl h service rm agent

# bad input
t_match "replicas 0" "$(nd_ctl h service create --name b1 --network front --replicas 0 true 2>&1)" \
        "'Replicas' must be an integer from 1 to 256"
t_match "replicas -2" "$(nd_ctl h service create --name b1 --network front --replicas -2 true 2>&1)" \
        "'Replicas' must be an integer from 1 to 256"
t_match "replicas with mode global" "$(nd_ctl h service create --name b1 --network front --mode global --replicas 2 true 2>&1)" \
        "'Replicas' cannot be combined with mode global"
t_match "replicas without a command" "$(nd_ctl h service create --name b1 --network front --replicas 2 2>&1)" \
        "need a command"
t_match "a duplicate name" "$(nd_ctl h service create --name web --network front true 2>&1)" "service name 'web' is already in use"
t_match "an unknown network" "$(nd_ctl h service create --name b1 --network nope true 2>&1)" "network 'nope' not found"
t_eq "the API: Replicas without a Task" "$(nd_api h POST /v1/services '{"Name":"b2","Networks":["front"],"Replicas":2}' | cut -d' ' -f1)" "400"
t_match "scale of a global or network-only service" "$(nd_ctl h service create --name plain --network front >/dev/null; nd_ctl h service scale plain=2 2>&1)" \
        "runs no tasks of its own"
nd_ctl h service rm plain >/dev/null
t_eq "nothing was left of the refused ones" "$(nd_ctl h service ls -q | wc -l)" "1"

# netd killed: the tasks keep running and are adopted, not restarted
p1=$(pid_of web.1) p2=$(pid_of web.2)
kill -9 "$ND_PID"
wait "$ND_PID" 2>/dev/null
t_ok "restart netd" nd_start h
sleep 2
t_eq "the same processes after the restart" "$(pid_of web.1) $(pid_of web.2)" "$p1 $p2"
t_eq "both still running, nothing restarted" "$(ps_json web | jq -r '[.[] | "\(.State) \(.Restarts)"] | join(",")')" "running 0,running 0"
t_ok "the reconciler resumed: a killed task comes back" sh -c "kill -9 $p1 && NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web >/dev/null"
t_ok "... running again" nd_eventually 10 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service ps --format json web | jq -r '.[0] | \"\(.State) \(.Restarts)\"')\" = 'running 1' ]"

# logs, prefixed by the task
t_match "service logs: each task's lines with its name" "$(nd_ctl h service logs web; nd_ctl h exec web.1 sh -c 'echo hello >/proc/1/fd/1'; nd_ctl h service logs web)" "web.1 \| hello"

# service rm: every task, then the service; nothing left
t_ok "service rm web" nd_ctl h service rm web
t_eq "no task container left" "$(nd_ctl h ps -a --format json | jq -r '.[].Name' | grep -c '^web\.')" "0"
t_ok "their teardown finishes (addresses are held until their veths are gone)" nd_settled h
t_eq "no address left" "$(nd_ctl h network inspect front | jq -r '.[0].AddressesInUse')" "$inuse0"
t_match "no name left" "$(nd_ctns h cl dig +time=2 +tries=1 @127.0.0.11 web.1)" "status: (NXDOMAIN|SERVFAIL|REFUSED)"
t_eq "no VIP element left" "$(nd_on h nft list map inet netd svc_backends4 | grep -c "$vip")" "0"
t_eq "no mesh element left" "$(nd_on h nft list map inet netd mesh4 | grep -c ' 8080 ')" "0"
t_ok "the port is free again" nd_ctl h run -d --name p8080 --network front -p 8080:80 sleep 100
t_match "service ps: gone" "$(nd_ctl h service ps web 2>&1)" "not found"
echo "# took $(($(date +%s) - t0)) s"
nd_done
