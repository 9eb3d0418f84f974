#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Services on an overlay network across three hosts (docs/services.md,
# "Across hosts"): a service created on one host is served by all, with
# the same VIP; tasks on any host are backends everywhere (the VIP and
# tasks.NAME), reached from a host with no task through this host's
# address on the network (SNAT); a removed or unhealthy task leaves every
# host's slots; service rm on another host removes it everywhere and
# frees the VIP; names clash cluster-wide.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dig >/dev/null && command -v nft >/dev/null && command -v etcd >/dev/null ||
        { echo "SKIP: dig, nft or etcd missing"; exit 77; }

nd_underlay h1 h2 h3
nd_etcd h1 m1 10.99.0.1 || exit 1
ND_ETCD_URL=etcd://10.99.0.1:2379
for i in 1 2 3; do
        nd_start_node "h$i" "$i" || exit 1
        nd_rootfs "h$i"
done
t_ok "create an overlay network on h1" nd_ctl h1 network create -d overlay --subnet 10.64.0.0/24 ov
t_ok "h3 knows it" nd_eventually 5 nd_ctl h3 network inspect ov
t_ok "create service web on h2" nd_ctl h2 service create --name web --network ov \
        --health-cmd 'test -f /tmp/w/index.html' --health-interval 1 --health-retries 1
vip=$(nd_ctl h2 service inspect web | jq -r '.[0].VirtualIPs[0].Addr')
t_match "web has a VIP in the overlay's subnet" "$vip" '^10\.64\.0\.[0-9]+$'
[ -n "$vip" ] || { nd_done; exit 1; }
t_ok "h1 serves web with the same VIP" nd_eventually 5 sh -c \
        "NETD_SOCKET=$(nd_sock h1) $NETCTL service inspect web | jq -e '.[0].VirtualIPs[0].Addr == \"$vip\"'"
t_ok "h3 serves web too" nd_eventually 5 sh -c "NETD_SOCKET=$(nd_sock h3) $NETCTL service ls -q | grep -q ."
t_match "a service name is unique in the cluster" "$(nd_ctl h3 service create --name web --network ov 2>&1)" "already in use"

serve() { # HOST NAME
        nd_ctl "$1" run -d --name "$2" --network ov --service web \
                sh -c "mkdir -p /tmp/w && echo $2 >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
}
t_ok "run task a on h1" serve h1 a
t_ok "run task b on h2" serve h2 b
t_ok "run a client on h3 (no task there)" nd_ctl h3 run -d --name cl --network ov sleep 600
healthy() { nd_ctl "$1" service inspect web | jq -r '[.[0].Tasks[] | select(.Health == "healthy") | .Name] | sort | join(",")'; }
t_ok "h3 sees both tasks healthy" nd_eventually 10 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h3) $NETCTL service inspect web | jq -r '[.[0].Tasks[] | select(.Health == \"healthy\") | .Name] | sort | join(\",\")')\" = a,b ]"
t_eq "h1 sees both tasks healthy" "$(healthy h1)" "a,b"

dig3() { nd_ctns h3 cl dig +time=3 +tries=1 @127.0.0.11 "$@"; }
t_eq "web resolves to the VIP on h3" "$(dig3 +short web)" "$vip"
t_eq "tasks.web on h3 lists both" "$(dig3 +short tasks.web | wc -l)" "2"
hits=$(nd_ctns h3 cl sh -c "for i in \$(seq 100); do curl -s --max-time 2 http://$vip/; done" | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
t_match "100 connections from h3 reach both remote tasks ($hits)" "$hits" '^a=[0-9]+ b=[0-9]+ $'
t_match "from h1 (one task local, one remote)" "$(nd_ctns h1 a sh -c "for i in \$(seq 40); do curl -s --max-time 2 http://$vip/; done" | sort -u | tr '\n' ' ')" '^a b $'

# a task removed on h1 leaves h3's slots
t_ok "rm -f a on h1" nd_ctl h1 rm -f a
t_ok "h3: only b is left (within 2 s)" nd_eventually 2 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h3) $NETCTL service inspect web | jq -r '[.[0].Tasks[].Name] | join(\",\")')\" = b ]"
t_eq "h3: 30 connections all reach b" "$(nd_ctns h3 cl sh -c "for i in \$(seq 30); do curl -s --max-time 2 http://$vip/; done" | sort | uniq -c | awk '{print $2"="$1}')" "b=30"

# kill -9 of h3's netd: its slots stay in the kernel; a restart reads it all back
h3pid=$ND_PID
clns=$ND_TMP/h3/run/netns/$(nd_ctl h3 inspect cl | jq -r '.[0].Id')
kill -9 "$h3pid"; wait "$h3pid" 2>/dev/null
t_eq "h3's netd is down: the VIP still reaches b" "$(nsenter --net="$clns" curl -s --max-time 2 "http://$vip/")" "b"
nd_start_node h3 3 || exit 1
t_eq "h3 restarted: the VIP reaches b" "$(nd_ctns h3 cl curl -s --max-time 2 "http://$vip/")" "b"
t_eq "h3 restarted: b is a healthy task" "$(healthy h3)" "b"
t_eq "h3 restarted: web resolves" "$(dig3 +short web)" "$vip"

# an unhealthy remote task leaves too
t_ok "make b fail its check" nd_in h2 b rm /tmp/w/index.html
t_ok "h3: b unhealthy" nd_eventually 5 sh -c "NETD_SOCKET=$(nd_sock h3) $NETCTL service inspect web | jq -e '.[0].Tasks[0].Health == \"unhealthy\"'"
t_match "h3: the VIP refuses" "$(nd_ctns h3 cl curl -sS --max-time 3 "http://$vip/" 2>&1)" 'Connection refused|Couldn.t connect'

# the routing mesh: a port published by a cluster service is open on every
# host and reaches tasks on other hosts; mode=host only where a task runs
t_ok "service front with -p 8080:80 and -p mode=host,8081:80" nd_ctl h1 service create --name front --network ov \
        -p 8080:80 -p mode=host,8081:80
web() { # HOST NAME
        nd_ctl "$1" run -d --name "$2" --network ov --service front \
                sh -c "mkdir -p /tmp/w && echo $2 >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
}
t_ok "run f1 on h1" web h1 f1
t_ok "run f2 on h2" web h2 f2
t_ok "h3 knows both" nd_eventually 5 sh -c "[ \"\$(NETD_SOCKET=$(nd_sock h3) $NETCTL service inspect front | jq '.[0].Tasks | length')\" = 2 ]"
mesh=$(nd_on sw sh -c 'for i in $(seq 40); do curl -s --max-time 2 http://10.99.0.3:8080/; done' | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
t_match "from outside, h3 (no task) reaches the tasks on h1 and h2 ($mesh)" "$mesh" '^f1=[0-9]+ f2=[0-9]+ $'
t_eq "mode=host: h1 publishes 8081 to its own task" "$(nd_on sw curl -s --max-time 2 http://10.99.0.1:8081/)" "f1"
t_match "mode=host: h3 (no task) does not" "$(nd_on sw curl -sS --max-time 3 http://10.99.0.3:8081/ 2>&1)" 'refused|Couldn.t connect'
# a CNI pod on h2 is a task seen by the other hosts too
ip netns add "${ND_NSP}-pod" && ND_NS+=("${ND_NSP}-pod") && ip -n "${ND_NSP}-pod" link set lo up
t_ok "CNI ADD of a pod on h2 with NETD_SERVICE=front" bash -c "CNI_COMMAND=ADD CNI_CONTAINERID=cid-pod \
        CNI_NETNS=/run/netns/${ND_NSP}-pod CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
        CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAME=pod;NETD_SERVICE=front' $ND_BUILD/netd/netd-cni \
        <<<'{\"cniVersion\":\"1.0.0\",\"name\":\"ov\",\"type\":\"netd\",\"socket\":\"$(nd_sock h2)\"}' >/dev/null"
t_ok "h3 sees the pod as a task of front" nd_eventually 5 sh -c "NETD_SOCKET=$(nd_sock h3) $NETCTL service inspect front | jq -e '[.[0].Tasks[].Name] | index(\"pod\")'"
t_ok "service rm front" nd_ctl h2 service rm front
t_ok "h3 no longer publishes 8080" nd_eventually 3 sh -c "! ip netns exec ${ND_NSP}-sw curl -s --max-time 1 http://10.99.0.3:8080/"

# service rm on h3 removes it everywhere and frees the VIP on h2 (its creator)
inuse() { nd_ctl "$1" network inspect ov | jq -r '(if type == "array" then .[0] else . end).AddressesInUse'; }
used_h2=$(inuse h2)
t_ok "service rm web on h3" nd_ctl h3 service rm web
t_ok "gone on h1" nd_eventually 3 sh -c "[ -z \"\$(NETD_SOCKET=$(nd_sock h1) $NETCTL service ls -q)\" ]"
t_ok "gone on h2" nd_eventually 3 sh -c "[ -z \"\$(NETD_SOCKET=$(nd_sock h2) $NETCTL service ls -q)\" ]"
t_eq "the VIP is off h1's bridge" "$(nd_on h1 ip -4 addr show | grep -c "inet $vip/32")" "0"
t_eq "the VIP's address is free on h2 (one address fewer in use)" "$(inuse h2)" "$((used_h2 - 1))"
t_match "bad input: overlay and local networks mixed" "$(nd_ctl h1 network create --subnet 10.74.0.0/24 loc >/dev/null; nd_ctl h1 service create --name mix --network ov --network loc 2>&1)" "all overlay networks"
t_match "bad input: zero replicas on an overlay network" "$(nd_ctl h1 service create --name rep --network ov --replicas 0 sleep 100 2>&1)" "Replicas"
t_eq "... and nothing of it left" "$(nd_ctl h1 service ls -q | wc -l)" "0"
nd_done
