#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Published ports of services on one host (docs/services.md, "Published
# ports"): from an outside host, a service's ingress port reaches its
# tasks spread over all three, each seeing the client's own address; UDP
# too; from the host itself and from a container (hairpin); IPv6 is
# reset; without a task the port stays held and a client is refused at
# once (TCP reset; UDP: silence); mode=host follows this host's tasks;
# clashes with a container, another service and a host process, both
# ways, with messages naming the holder; kill -9 and SIGTERM keep the port
# working and held; service rm frees it for a container.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v socat >/dev/null && command -v nft >/dev/null || { echo "SKIP: socat or nft missing"; exit 77; }

nd_host h
nd_host c                                 # the outside world
nd_wire h c 10.99.0 fd99:0:0:1           # h: 10.99.0.1, c: 10.99.0.2
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create front" nd_ctl h network create --subnet 10.74.0.0/24 front
rules() { nd_on h nft -a list table inet netd | grep -c '# handle'; }
rules0=$(rules)

# A task's server: httpd answering its name at / and "NAME CLIENT" at
# /cgi-bin/who (REMOTE_ADDR, an IPv4-mapped address: httpd listens on
# IPv6), put in the rootfs every container shares.
rootfs=$ND_TMP/h/state/rootfs/default
cat >"$rootfs/bin/nd-serve" <<'EOF'
#!/bin/sh
mkdir -p /tmp/w/cgi-bin
echo "$1" >/tmp/w/index.html
cat >/tmp/w/cgi-bin/who <<EOW
#!/bin/sh
a=\${REMOTE_ADDR#[}; a=\${a%]}; a=\${a#::ffff:}
printf 'Content-Type: text/plain\r\n\r\n%s %s\n' "$1" "\$a"
EOW
chmod +x /tmp/w/cgi-bin/who
exec httpd -f -p 80 -h /tmp/w
EOF
chmod +x "$rootfs/bin/nd-serve"

# mesh PORT: the mesh4 slots of a published port
mesh() {
        nd_on h nft -j list map inet netd mesh4 |
                jq --argjson p "$1" '[.nftables[] | select(.map) | .map.elem // [] | .[] | select(.[0].concat[1] == $p)] | length'
}
get() { nd_on c curl -s --max-time 3 "$1"; }
# refused ADDR PORT [CONTAINER]: what connect() says, from outside (or
# from CONTAINER), and how long it took: "MESSAGE NNNms"
refused() {
        local t0 out
        t0=$(date +%s%N)
        if [ -n "${3:-}" ]; then
                out=$(nd_ctns h "$3" timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>&1)
        else
                out=$(nd_on c timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>&1)
        fi
        echo "${out##*: } $((($(date +%s%N) - t0) / 1000000))ms"
}
# udp HOST:PORT: one datagram from outside, the answer (three tries: UDP)
udp() {
        local i out
        for i in 1 2 3; do
                out=$(echo ping | nd_on c socat -T 2 - "UDP:$1") && [ -n "$out" ] && { echo "$out"; return 0; }
        done
        return 1
}
# serve NAME SERVICE: a task answering its name on :80, and on :53/udp
# "NAME CLIENT:PORT" (socat in its namespace, bound to its address: the
# embedded DNS has 127.0.0.11:53)
serve() {
        local a
        nd_ctl h run -d --name "$1" --network front --service "$2" nd-serve "$1" || return 1
        a=$(nd_ctl h inspect "$1" | jq -r '.[0].Endpoints[0].IPAddress')
        nd_bg nd_ctns h "$1" socat UDP4-RECVFROM:53,bind="$a",fork SYSTEM:"echo $1 \$SOCAT_PEERADDR"
        nd_eventually 5 nd_ctns h "$1" sh -c "ss -Hltn | grep -q ':80 ' && ss -Hlun | grep -q '$a:53 '"
}

# ---- a service with an ingress port, no task yet ----
t_ok "service create web -p 8080:80 -p 5353:53/udp" \
        nd_ctl h service create --name web --network front -p 8080:80 -p 5353:53/udp
t_eq "inspect: the ports" "$(nd_ctl h service inspect web | jq -c '.[0].Ports')" \
        '["mode=ingress,8080:80/tcp","mode=ingress,5353:53/udp"]'
t_match "ls: the ports" "$(nd_ctl h service ls | grep '^web ')" '\*:8080->80/tcp,\*:5353->53/udp'
t_eq "no task: no mesh slots" "$(mesh 8080)/$(mesh 5353)" "0/0"
out=$(refused 10.99.0.1 8080)
echo "# TCP to the ingress port without a task: $out"
t_match "no task: TCP refused (reset)" "$out" "^Connection refused "
ms=${out##* }; ms=${ms%ms}
t_ok "no task: refused in < 1000 ms ($ms ms)" test "$ms" -lt 1000
t_err "no task: the port stays held (a host process cannot bind it)" nd_on h busybox nc -l -p 8080 -w 1
t_err "no task: nor the UDP port" nd_on h socat -T 1 UDP-RECVFROM:5353 -
# UDP: the held socket drops the datagram (no ICMP error): no answer
msg=$(nd_on c timeout 3 bash -c "exec 3<>/dev/udp/10.99.0.1/5353; echo x >&3; sleep 0.3; echo y >&3; echo sent" 2>&1)
echo "# UDP to the ingress port without a task: $msg"
t_eq "no task: UDP gets no answer and no error" "$msg" "sent"

# ---- three tasks ----
for i in 1 2 3; do t_ok "run web$i (task)" serve web$i web; done
t_eq "three tasks: 256 slots per port" "$(mesh 8080)/$(mesh 5353)" "256/256"
t_eq "the rules do not change with published ports" "$(rules)" "$rules0"
hits=$(nd_on c sh -c 'for i in $(seq 300); do curl -s --max-time 2 http://10.99.0.1:8080/ || echo FAIL; done' |
        sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
echo "# 300 connections from outside: $hits"
t_match "300 connections from outside reach all three tasks" "$hits" '^web1=[0-9]+ web2=[0-9]+ web3=[0-9]+ $'
ok=1
for kv in $hits; do v=${kv#*=}; [ "$v" -ge 70 ] && [ "$v" -le 130 ] || ok=0; done
t_eq "each task gets 100 +- 30 ($hits)" "$ok" 1
who=$(nd_on c sh -c 'for i in $(seq 20); do curl -s --max-time 2 http://10.99.0.1:8080/cgi-bin/who; done' | sort -u)
echo "# who answered, and whom it saw: $(echo $who)"
t_eq "every task sees the outside client's own address" "$(echo "$who" | awk '{print $2}' | sort -u)" "10.99.0.2"
t_match "UDP from outside, with the client's address" "$(udp 10.99.0.1:5353)" '^web[123] 10\.99\.0\.2$'
u=$(for i in $(seq 30); do udp 10.99.0.1:5353; done | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
echo "# 30 datagrams from outside: $u"
t_match "UDP: 30 datagrams reach all three tasks" "$u" '^web1=[0-9]+ web2=[0-9]+ web3=[0-9]+ $'
t_match "IPv6 (no mesh): the held socket resets" "$(refused fd99:0:0:1::1 8080)" "^Connection refused "
t_match "the host itself, at its address" "$(nd_on h curl -s --max-time 3 http://10.99.0.1:8080/)" '^web[123]$'
t_match "the host itself, at localhost" "$(nd_on h curl -s --max-time 3 http://127.0.0.1:8080/)" '^web[123]$'
t_ok "run cl (not a task)" nd_ctl h run -d --name cl --network front sleep 600
t_match "a container, through the host's address (hairpin)" "$(nd_wget h cl http://10.99.0.1:8080/)" '^web[123]$'
t_ok "stop web2" nd_ctl h stop -t 1 web2
hits=$(nd_on c sh -c 'for i in $(seq 30); do curl -s --max-time 2 http://10.99.0.1:8080/ || echo FAIL; done' | sort -u | tr '\n' ' ')
t_eq "a stopped task leaves the mesh" "$hits" "web1 web3 "
t_ok "start web2" nd_ctl h start web2

# ---- mode=host ----
t_ok "service create hs -p mode=host,9090:80" nd_ctl h service create --name hs --network front -p mode=host,9090:80
t_match "ls: a host port" "$(nd_ctl h service ls | grep '^hs ')" 'host:9090->80/tcp'
t_eq "host mode, no local task: no slots" "$(mesh 9090)" "0"
t_match "host mode, no local task: refused" "$(refused 10.99.0.1 9090)" "^Connection refused "
out=$(refused 10.99.0.1 9090 cl)
echo "# TCP from a container to a port without a task: $out"
# the host's input chain rejects a container's connection to a host port
# with ICMP admin-prohibited; this kernel reports it after the SYN's
# first retransmission (~1 s), not the client's connect timeout
t_match "from a container: no route to host, within 3 s" "$out" "^No route to host ([0-9]{1,3}|[12][0-9]{3})ms$"
t_err "host mode, no local task: the port stays held" nd_on h busybox nc -l -p 9090 -w 1
t_ok "run hs1 (task)" serve hs1 hs
t_eq "host mode, a local task: 256 slots" "$(mesh 9090)" "256"
t_eq "host mode: to the local task, client address kept" "$(get http://10.99.0.1:9090/cgi-bin/who)" "hs1 10.99.0.2"
t_ok "stop hs1" nd_ctl h stop -t 1 hs1
t_eq "host mode: the task gone, no slots" "$(mesh 9090)" "0"

# ---- clashes ----
t_match "a container publishing a service's port" \
        "$(nd_ctl h run -d --name clash --network front -p 8080:80 sleep 60 2>&1)" \
        "host port 0\.0\.0\.0:8080/tcp is already published by service 'web'"
t_err "the refused container is not left behind" nd_ctl h inspect clash
t_match "nor a UDP one" "$(nd_ctl h run -d --name clash --network front -p 5353:53/udp sleep 60 2>&1)" \
        "already published by service 'web'"
t_match "another service publishing it" "$(nd_ctl h service create --name web2 --network front -p 8080:80 2>&1)" \
        "port 8080/tcp is already published by service 'web'"
t_match "whatever the mode" "$(nd_ctl h service create --name web2 --network front -p mode=host,8080:81 2>&1)" \
        "port 8080/tcp is already published by service 'web'"
t_eq "POST: 409" "$(nd_api h POST /v1/services '{"Name":"web2","Networks":["front"],"Ports":["9090:80"]}')" \
        "409 {\"message\":\"port 9090/tcp is already published by service 'hs'\"}"
t_ok "run pc with -p 8081:80" nd_ctl h run -d --name pc --network front -p 8081:80 sleep 600
t_match "a service publishing a container's port" \
        "$(nd_ctl h service create --name web2 --network front -p 8081:80 2>&1)" \
        "port 8081/tcp is already published by container 'pc'"
nd_bg nd_on h socat TCP-LISTEN:7000,bind=0.0.0.0 -
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-h ss -Htln | grep -q ':7000 '"
addrs=$(nd_ctl h network inspect front | jq -r '(if type=="array" then .[0] else . end).AddressesInUse')
t_match "a service publishing a port a host process holds" \
        "$(nd_ctl h service create --name web2 --network front -p 7001:80 -p 7000:80 2>&1)" \
        "port 7000/tcp is in use on this host"
t_err "the refused service is not left behind" nd_ctl h service inspect web2
t_eq "nor its VIP" "$(nd_ctl h network inspect front | jq -r '(if type=="array" then .[0] else . end).AddressesInUse')" "$addrs"
t_ok "nor the port it took before the clash (7001)" nd_on h sh -c 'busybox nc -l -p 7001 -w 1 & sleep 0.3; kill $! 2>/dev/null; wait $!; [ $? != 1 ]'
t_ok "network create --internal sealed" nd_ctl h network create --internal --subnet 10.75.0.0/24 sealed
t_match "an internal first network: refused" \
        "$(nd_ctl h service create --name in --network sealed -p 7002:80 2>&1)" "first network 'sealed' is internal"

# ---- restarts: the mesh works while netd is down, the ports are held again ----
kill -9 "$ND_PID"; wait "$ND_PID" 2>/dev/null
t_match "kill -9: the port still leads to a task" "$(get http://10.99.0.1:8080/)" '^web[123]$'
nd_start h || exit 1
t_err "after kill -9: the port is held again" nd_on h busybox nc -l -p 8080 -w 1
t_err "and the UDP port" nd_on h socat -T 1 UDP-RECVFROM:5353 -
t_eq "after kill -9: the slots are there" "$(mesh 8080)/$(mesh 5353)/$(mesh 9090)" "256/256/0"
t_match "after kill -9: the port works" "$(get http://10.99.0.1:8080/cgi-bin/who)" '^web[123] 10\.99\.0\.2$'
t_match "after kill -9: still refused to a container" \
        "$(nd_ctl h run -d --name clash --network front -p 8080:80 sleep 60 2>&1)" "already published by service 'web'"
t_ok "stop web1 web2" nd_ctl h stop -t 1 web1 web2
t_eq "after kill -9: task changes rewrite the slots" \
        "$(nd_on c sh -c 'for i in $(seq 10); do curl -s --max-time 2 http://10.99.0.1:8080/; done' | sort -u)" "web3"
t_ok "SIGTERM: clean exit" nd_stop "$ND_PID"
t_eq "SIGTERM: the port still leads to the task" "$(get http://10.99.0.1:8080/)" "web3"
nd_start h || exit 1
t_err "after SIGTERM: the port is held again" nd_on h busybox nc -l -p 8080 -w 1
t_eq "after SIGTERM: the port works" "$(get http://10.99.0.1:8080/)" "web3"
t_ok "start hs1" nd_ctl h start hs1
t_eq "after SIGTERM: host mode follows its task" "$(get http://10.99.0.1:9090/)" "hs1"

# ---- service rm frees the ports ----
t_ok "service rm web" nd_ctl h service rm web
t_eq "rm: no slots left" "$(mesh 8080)/$(mesh 5353)" "0/0"
t_ok "rm: a container may publish 8080 now" nd_ctl h run -d --name after --network front -p 8080:80 nd-serve after
nd_eventually 5 nd_ctns h after sh -c "ss -Hltn | grep -q ':80 '"
t_eq "rm: and it answers there" "$(get http://10.99.0.1:8080/)" "after"
t_ok "service rm hs" nd_ctl h service rm hs
t_ok "rm: a host process may bind 9090 now" nd_on h sh -c 'busybox nc -l -p 9090 -w 1 & sleep 0.3; kill $! 2>/dev/null; wait $!; [ $? != 1 ]'
t_eq "the rules never changed" "$(rules)" "$rules0"
t_ok "SIGTERM at the end: clean exit" nd_stop "$ND_PID"
nd_done
