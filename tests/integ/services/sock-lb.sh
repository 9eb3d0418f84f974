#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The socket-level balancer of service VIPs (kernel/sock-lb.h,
# docs/services.md "Data path"): a container's connect() to VIP:port goes
# straight to a healthy task (no DNAT: no conntrack entry for the VIP),
# spread over the tasks; getpeername and UDP replies show the VIP; a
# removed, stopped or unhealthy task gets no more connections; UDP both
# connected and not; a process outside the containers' cgroups still
# takes DNAT; --sock-lb off, a clean stop and kill -9 with a restart.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v conntrack >/dev/null && command -v nft >/dev/null || { echo "SKIP: conntrack or nft missing"; exit 77; }
PROBE=$ND_BUILD/tests/integ/lb-probe

nd_host h
nd_start h || exit 1
mode=$(nd_api h GET /v1/info | cut -d' ' -f2- | jq -r .ServiceLB)
if [ "$mode" != socket ]; then
        echo "SKIP: no socket balancing here ($mode): $(grep -m1 'socket\|cgroup' "$ND_TMP/h/netd.log")"
        exit 77
fi
t_pass "GET /v1/info: ServiceLB socket"
t_ok "rootfs init" nd_rootfs h
t_ok "create front" nd_ctl h network create --subnet 10.72.0.0/24 front
t_ok "service create web" nd_ctl h service create --name web --network front
vip=$(nd_ctl h service inspect web | jq -r '.[0].VirtualIPs[0].Addr')
addr() { nd_ctl h inspect "$1" | jq -r '.[0].Endpoints[0].IPAddress'; }
task() { # NAME SERVICE [health file]: a task answering its name on tcp and udp 8080
        nd_ctl h run -d --name "$1" --network front --service "$2" sh -c "touch /tmp/ok; exec sleep 600" &&
                nd_bg nd_ctns h "$1" "$PROBE" tcp-serve 8080 "$1" &&
                nd_bg nd_ctns h "$1" "$PROBE" udp-serve 8080 "$1"
}
for i in 1 2 3; do
        t_ok "run web$i as a task" task "web$i" web
done
t_ok "run cl (a client, not a task)" nd_ctl h run -d --name cl --network front sleep 600
nd_eventually 5 nd_ctns h web3 sh -c "ss -Hltn | grep -q ':8080 '"

# probe MODE N: from inside cl (its netns and cgroup)
probe() { nd_ctcg h cl "$PROBE" "$1" "$vip" 8080 "$2"; }
dnat() { nd_on h conntrack -L -d "$vip" 2>/dev/null | grep -c .; }
spread() { sed 1d <<<"$1" | sort | awk '{printf "%s=%s ", $1, $2}'; }
nd_on h conntrack -F >/dev/null 2>&1
out=$(probe tcp 300)
t_match "300 connections to the VIP reach all three tasks" "$(spread "$out")" '^web1=[0-9]+ web2=[0-9]+ web3=[0-9]+ $'
ok=1
for kv in $(spread "$out"); do v=${kv#*=}; [ "$v" -ge 70 ] && [ "$v" -le 130 ] || ok=0; done
t_eq "each task gets 100 +- 30 ($(spread "$out"))" "$ok" 1
t_eq "getpeername shows the VIP, none failed" "$(head -1 <<<"$out")" "peers=$vip failed=0"
t_eq "no conntrack entry for the VIP: no DNAT on this path" "$(dnat)" "0"
out=$(nd_ctns h cl "$PROBE" tcp "$vip" 8080 20)
t_match "a process outside the containers' cgroups reaches the VIP" "$(head -1 <<<"$out")" "^peers=$vip failed=0$"
t_match "...through DNAT (conntrack entries for the VIP)" "$(dnat)" '^[1-9][0-9]*$'
nd_on h conntrack -F >/dev/null 2>&1

out=$(probe udpc 60)
t_eq "connected UDP: getpeername shows the VIP" "$(head -1 <<<"$out")" "peers=$vip failed=0"
t_match "connected UDP reaches the tasks" "$(spread "$out")" '^web1=[0-9]+ web2=[0-9]+ web3=[0-9]+ $'
out=$(probe udp 60)
t_eq "unconnected UDP: replies come from the VIP" "$(head -1 <<<"$out")" "peers=$vip failed=0"
t_match "unconnected UDP reaches the tasks" "$(spread "$out")" '^web1=[0-9]+ web2=[0-9]+ web3=[0-9]+ $'
t_eq "no conntrack entry for the VIP after UDP either" "$(dnat)" "0"
t_match "the VIP by name from a container's own process (busybox)" \
        "$(nd_in h cl sh -c 'echo | nc web 8080')" '^web[123]$'

t_ok "rm -f web3" nd_ctl h rm -f web3
t_match "60 connections reach only web1 and web2 right after rm" "$(spread "$(probe tcp 60)")" '^web1=[0-9]+ web2=[0-9]+ $'
t_ok "stop web2" nd_ctl h stop -t 1 web2
t_eq "a stopped task gets nothing" "$(spread "$(probe tcp 30)")" "web1=30 "

# health: an unhealthy task leaves the sockets' choice as it leaves the slots
t_ok "service with a health check" nd_ctl h service create --name hc --network front \
        --health-cmd 'test -f /tmp/ok' --health-interval 1 --health-timeout 3 --health-retries 1
hvip=$(nd_ctl h service inspect hc | jq -r '.[0].VirtualIPs[0].Addr')
t_ok "run h1" task h1 hc
t_ok "run h2" task h2 hc
health() { NETD_SOCKET=$(nd_sock h) "$NETCTL" service inspect hc | jq -r --arg n "$1" '.[0].Tasks[] | select(.Name == $n) | .Health'; }
t_ok "both healthy" nd_eventually 15 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service inspect hc | jq -r '.[0].TasksHealthy')\" = 2 ]"
nd_eventually 5 nd_ctns h h2 sh -c "ss -Hltn | grep -q ':8080 '"
t_match "both answer through the VIP" "$(spread "$(nd_ctcg h cl "$PROBE" tcp "$hvip" 8080 40)")" '^h1=[0-9]+ h2=[0-9]+ $'
t_ok "h2 fails its check" nd_in h h2 rm /tmp/ok
t_ok "h2 becomes unhealthy" nd_eventually 15 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h) $NETCTL service inspect hc | jq -r '.[0].Tasks[] | select(.Name == \"h2\") | .Health')\" = unhealthy ]"
t_eq "an unhealthy task gets no connection" "$(spread "$(nd_ctcg h cl "$PROBE" tcp "$hvip" 8080 30)")" "h1=30 "

# a clean stop detaches; --sock-lb off leaves VIPs to DNAT
t_ok "netd stops cleanly" nd_stop "$ND_PID" h
t_ok "start again with --sock-lb off" nd_start h --sock-lb off
t_eq "GET /v1/info: ServiceLB nftables" "$(nd_api h GET /v1/info | cut -d' ' -f2- | jq -r .ServiceLB)" "nftables"
nd_on h conntrack -F >/dev/null 2>&1
out=$(probe tcp 30)
t_eq "sock-lb off: the VIP still answers (DNAT), peer the VIP" "$(head -1 <<<"$out")" "peers=$vip failed=0"
t_eq "sock-lb off: from web1" "$(spread "$out")" "web1=30 "
t_match "sock-lb off: conntrack entries for the VIP" "$(dnat)" '^[1-9][0-9]*$'
t_ok "start web2 again (under --sock-lb off)" nd_ctl h start web2
nd_eventually 5 sh -c "NETD_SOCKET=$(nd_sock h) $NETCTL inspect web2 | jq -e '.[0].State.Running'" >/dev/null
nd_bg nd_ctns h web2 "$PROBE" tcp-serve 8080 web2
nd_eventually 5 nd_ctns h web2 sh -c "ss -Hltn | grep -q ':8080 '"

# on again: the running containers get the programs at start-up
t_ok "netd stops" nd_stop "$ND_PID" h
t_ok "start again, sock-lb on" nd_start h
t_eq "GET /v1/info: ServiceLB socket again" "$(nd_api h GET /v1/info | cut -d' ' -f2- | jq -r .ServiceLB)" "socket"
nd_on h conntrack -F >/dev/null 2>&1
out=$(probe tcp 60)
t_match "after the restart: both tasks, no failure" "$(head -1 <<<"$out") $(spread "$out")" "^peers=$vip failed=0 web1=[0-9]+ web2=[0-9]+ $"
t_eq "after the restart: no DNAT for the running client" "$(dnat)" "0"

# kill -9: the programs stay with their cgroups (the map as it was) until
# the next netd replaces them
# (nd_ctcg asks netd for the container's id: by hand while netd is dead)
id=$(nd_ctl h inspect cl | jq -r '.[0].Id')
cg=/sys/fs/cgroup
[ "$(stat -fc %T "$cg")" = cgroup2fs ] || cg=/sys/fs/cgroup/unified
kill -9 "$ND_PID"
wait "$ND_PID" 2>/dev/null
nd_on h conntrack -F >/dev/null 2>&1
out=$(sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg/netd/$id" \
        nsenter --net="$ND_TMP/h/run/netns/$id" "$PROBE" tcp "$vip" 8080 20)
t_eq "netd killed: connections to the VIP still work" "$(head -1 <<<"$out")" "peers=$vip failed=0"
t_eq "...at the socket still (the programs stay with the cgroup)" "$(dnat)" "0"
t_ok "start after kill -9" nd_start h
t_ok "rm -f web1 after the restart" nd_ctl h rm -f web1
nd_on h conntrack -F >/dev/null 2>&1
t_eq "the new netd's map: only web2" "$(spread "$(probe tcp 20)")" "web2=20 "
t_eq "...and still no DNAT" "$(dnat)" "0"
t_ok "service rm web" nd_ctl h service rm web
t_match "a removed service's VIP gives no socket rewrite (refused or unreachable)" \
        "$(probe tcp 1 2>&1 | head -1)" "failed=1"
nd_done
