#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Services on one host (docs/services.md): a VIP from the network's IPAM
# on the bridge, NAME / NAME.NETWORK / PTR / tasks.NAME in the embedded
# DNS, connections to the VIP spread over the tasks in the kernel, dnsrr,
# a removed task gone before rm returns, a VIP without tasks refusing
# (not a black hole), a rule count that does not grow with services,
# kill -9 and restart, and bad input.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dig >/dev/null && command -v nft >/dev/null || { echo "SKIP: dig or nft missing"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create front" nd_ctl h network create --subnet 10.70.0.0/24 front
t_ok "create other" nd_ctl h network create --subnet 10.71.0.0/24 other
rules() { nd_on h nft -a list table inet netd | grep -c '# handle'; }
rules0=$(rules)

t_ok "service create web" nd_ctl h service create --name web --network front
vip=$(nd_ctl h service inspect web | jq -r '.[0].VirtualIPs[0].Addr')
t_match "web has a VIP in front's subnet" "$vip" '^10\.70\.0\.[0-9]+$'
t_match "the VIP is on front's bridge" "$(nd_on h ip -4 addr show)" "inet $vip/32"
[ -n "$vip" ] || { nd_done; exit 1; }

serve() { # NAME: a task of web answering its own name on :80
        nd_ctl h run -d --name "$1" --network front --service web \
                sh -c "mkdir -p /tmp/w && echo $1 >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
}
t_ok "run web1 as a task" serve web1
t_ok "run web2 as a task" serve web2
t_ok "run web3 as a task" serve web3
t_ok "run cl (not a task)" nd_ctl h run -d --name cl --network front sleep 600
addr() { nd_ctl h inspect "$1" | jq -r '.[0].Endpoints[0].IPAddress'; }
w1=$(addr web1) w2=$(addr web2) w3=$(addr web3)
nd_eventually 5 nd_ctns h web3 sh -c "ss -Hltn | grep -q ':80 '"

dig_in() { nd_ctns h cl dig +time=3 +tries=1 @127.0.0.11 "$@"; }
short() { dig_in "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
t_eq "web resolves to the VIP" "$(short web)" "$vip"
t_eq "web.front resolves to the VIP" "$(short web.front)" "$vip"
t_eq "PTR of the VIP" "$(short -x "$vip")" "web.front."
t_eq "tasks.web: every task" "$(short tasks.web)" "$(printf '%s\n' "$w1" "$w2" "$w3" | sort | tr '\n' ' ' | sed 's/ $//')"
t_eq "tasks.web.front too" "$(short tasks.web.front | wc -w)" "3"
t_eq "service inspect lists 3 healthy tasks" "$(nd_ctl h service inspect web | jq -r '.[0].TasksHealthy')" "3"

hits() { # N URL: how many answers each task gave
        nd_ctns h cl sh -c "for i in \$(seq $1); do curl -s --max-time 2 $2; done" | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' '
}
spread=$(hits 300 "http://$vip/")
t_match "300 connections to the VIP reach all three tasks" "$spread" '^web1=[0-9]+ web2=[0-9]+ web3=[0-9]+ $'
ok=1
for kv in $spread; do v=${kv#*=}; [ "$v" -ge 70 ] && [ "$v" -le 130 ] || ok=0; done
t_eq "each task gets 100 +- 30 ($spread)" "$ok" 1
t_eq "the VIP by name from a container" "$(nd_in h cl wget -qO- http://web/ | grep -c '^web[123]$')" "1"
t_match "the host itself reaches the VIP" "$(nd_on h curl -s --max-time 2 "http://$vip/")" '^web[123]$'

# dnsrr
t_ok "service create db (dnsrr)" nd_ctl h service create --name db --endpoint-mode dnsrr --network front
t_ok "run db1" nd_ctl h run -d --name db1 --network front --service db sleep 600
t_ok "run db2" nd_ctl h run -d --name db2 --network front --service db sleep 600
t_eq "dnsrr: no VIP" "$(nd_ctl h service inspect db | jq -r '.[0].VirtualIPs | length')" "0"
t_eq "dnsrr: db answers both tasks" "$(short db)" "$(printf '%s\n' "$(addr db1)" "$(addr db2)" | sort | tr '\n' ' ' | sed 's/ $//')"
a1=$(dig_in db +short | tr '\n' ' '); a2=$(dig_in db +short | tr '\n' ' ')
t_ok "dnsrr: the order rotates" test "$a1" != "$a2"

# a removed task is gone before rm returns
t_ok "rm -f web3" nd_ctl h rm -f web3
t_eq "tasks.web has two right after rm" "$(short tasks.web | wc -w)" "2"
t_match "60 connections reach only web1 and web2" "$(hits 60 "http://$vip/")" '^web1=[0-9]+ web2=[0-9]+ $'
t_ok "stop web1 and web2" nd_ctl h stop -t 1 web1 web2
t_eq "no backend slots left for the VIP" "$(nd_on h nft list map inet netd svc_backends4 | grep -c "$vip . ")" "0"
t_match "the VIP without tasks refuses at once" "$(nd_ctns h cl curl -sS --max-time 3 "http://$vip/" 2>&1)" 'Connection refused|Couldn.t connect'
t_match "tasks.web without tasks: answered here, not forwarded" "$(dig_in tasks.web)" "status: NOERROR.*ANSWER: 0|status: NXDOMAIN"
t_ok "start web1 again" nd_ctl h start web1
nd_eventually 5 nd_ctns h web1 sh -c "ss -Hltn | grep -q ':80 '"
t_eq "web1 is back behind the VIP" "$(nd_ctns h cl curl -s --max-time 2 "http://$vip/")" "web1"

# the ruleset does not grow with services
for i in $(seq 1 20); do nd_ctl h service create --name s$i --network front >/dev/null || break; done
t_eq "20 more services: the same rule count" "$(rules)" "$rules0"
t_eq "service ls lists 22" "$(nd_ctl h service ls --format json | jq length)" "22"
for i in $(seq 1 20); do nd_ctl h service rm s$i >/dev/null; done

# bad input
t_match "unknown network" "$(nd_ctl h service create --name x --network nosuch 2>&1)" "network 'nosuch' not found"
t_match "duplicate name" "$(nd_ctl h service create --name web --network front 2>&1)" "already in use"
t_match "bad name" "$(nd_ctl h service create --name 'a_b' --network front 2>&1)" "not a valid"
t_match "a task on a network the service is not on" "$(nd_ctl h run -d --name bad --network other --service web sleep 1 2>&1)" "which service 'web' is not on"
t_err "that container was not made" nd_ctl h inspect bad
t_match "a task of an unknown service" "$(nd_ctl h run -d --name bad --network front --service nosuch sleep 1 2>&1)" "service 'nosuch' not found"
t_match "an empty health command" "$(nd_ctl h service create --name hc --network front --health-cmd '' 2>&1)" "[Hh]ealth"
t_match "network rm names the service" "$(nd_ctl h network rm front 2>&1)" "service 'web'"
t_eq "POST with malformed JSON: 400" "$(nd_api h POST /v1/services '{"Name":' | cut -d' ' -f1)" "400"
t_eq "unknown service: 404" "$(nd_api h GET /v1/services/nosuch | cut -d' ' -f1)" "404"

# kill -9 and restart: the VIP keeps working while netd is down, and is back after
clns=$ND_TMP/h/run/netns/$(nd_ctl h inspect cl | jq -r '.[0].Id')
kill -9 "$ND_PID"; wait "$ND_PID" 2>/dev/null
t_eq "the VIP works while netd is down" "$(nsenter --net="$clns" curl -s --max-time 2 "http://$vip/")" "web1"
nd_start h || exit 1
t_eq "after restart: the same VIP" "$(nd_ctl h service inspect web | jq -r '.[0].VirtualIPs[0].Addr')" "$vip"
t_eq "after restart: web1 is a task" "$(nd_ctl h service inspect web | jq -r '[.[0].Tasks[].Name] | join(",")')" "web1"
t_eq "after restart: the VIP answers" "$(nd_ctns h cl curl -s --max-time 2 "http://$vip/")" "web1"
t_eq "after restart: DNS" "$(short web)" "$vip"

t_ok "service rm web" nd_ctl h service rm web
t_match "the VIP is gone from the bridge" "$(nd_on h ip -4 addr show | grep -c "inet $vip/32")" '^0$'
t_match "web is no longer answered here (it goes upstream)" "$(dig_in web)" "status: (NXDOMAIN|REFUSED|SERVFAIL)"
# one address per container that holds one (a stopped one gave its back)
t_eq "the VIP's address is free again" "$(nd_ctl h network inspect front | jq -r '(if type=="array" then .[0] else . end).AddressesInUse')" \
        "$(nd_ctl h inspect $(nd_ctl h ps -aq) | jq '[.[] | select(.Endpoints[0].IPAddress != "")] | length')"
nd_done
