#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kill -9 of netd: containers and their connectivity keep running; a new
# netd finds them (ps), and stop/rm work.  A container that exits while
# netd is down is seen as exited.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
nd_rootfs h
nd_ctl h network create --subnet 10.63.0.0/24 net >/dev/null
nd_ctl h run -d --name web --network net busybox httpd -f -p 80 -h /var/www >/dev/null
nd_ctl h run -d --name client --network net sleep 600 >/dev/null
nd_ctl h run -d --name short --network net sleep 2 >/dev/null
kill -9 "$ND_PID"
wait "$ND_PID" 2>/dev/null
t_eq "web still serves without netd" "$(ip netns exec "${ND_NSP}-h" curl -s --max-time 5 http://10.63.0.2/index.html)" "hello from netd"
sleep 2.5 # 'short' exits while netd is down
nd_start h || exit 1
t_eq "ps after restart" "$(nd_ctl h ps | awk 'NR > 1 {print $2}' | sort | tr '\n' ' ')" "client web "
t_match "the one that exited meanwhile is exited" "$(nd_ctl h ps -a | awk '$2 == "short"')" "exited \(0\)"
t_eq "connectivity survived" "$(nd_in h client wget -qO- http://10.63.0.2/index.html)" "hello from netd"
t_ok "new containers get fresh addresses" nd_ctl h run -d --name late --network net sleep 600
# 'short' exited while netd was down: its dynamic address went back when
# the restarted netd recorded the exit, so the next run may take it
t_eq "the exited one gave its address back" "$(nd_ctl h inspect short | jq -r '.[0].Endpoints[0].IPAddress')" ""
t_eq "no duplicate address after restart" "$(nd_ctl h inspect late | jq -r '.[0].Endpoints[0].IPAddress')" "10.63.0.4"
# reconcile: an operator deletes a container's veth and the namespace bind
# while netd is down; the restarted netd repairs both from its record
cid=$(nd_ctl h inspect client | jq -r '.[0].Id')
kill -9 "$ND_PID"
wait "$ND_PID" 2>/dev/null
ip -n "${ND_NSP}-h" link del "vnd${cid:0:8}-0"
umount "$ND_TMP/h/run/netns/$cid" && rm -f "$ND_TMP/h/run/netns/$cid"
t_err "client cut off while netd is down" ip netns exec "${ND_NSP}-h" busybox ping -c 1 -W 1 10.63.0.3
nd_start h || exit 1
t_match "restart logged the repair" "$(cat "$ND_TMP/h/netd.log")" "endpoint re-created.*ct=client|ct=client.*endpoint re-created"
t_ok "namespace bind restored" test -e "$ND_TMP/h/run/netns/$cid"
t_eq "client reachable again" "$(nd_in h client wget -qO- http://10.63.0.2/index.html)" "hello from netd"
t_eq "same address as before" "$(nd_in h client ip -4 -o addr show eth0 | awk '{print $4}')" "10.63.0.3/24"

t_ok "stop after restart" nd_ctl h stop -t 1 client
t_ok "rm after restart" nd_ctl h rm -f web client short late
t_eq "all gone" "$(nd_ctl h ps -a -q | wc -l)" "0"
t_ok "their teardown finishes" nd_settled h
t_eq "no veths left" "$(ip -n "${ND_NSP}-h" -o link | grep -c vnd)" "0"
nd_stop "$ND_PID"
nd_done
