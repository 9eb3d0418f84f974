#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bridge networks and the bundled runtime on one host: containers reach
# each other, multiple networks, static addresses, network modes,
# connect/disconnect, exec/logs/exit codes, limits, clear errors.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create front" nd_ctl h network create --subnet 10.61.0.0/24 front
t_ok "create back" nd_ctl h network create --subnet 10.62.0.0/24 --ipv6 --subnet fd00:62::/64 back
br=$(nd_ctl h network inspect front | jq -r '.[0].Id[0:12]')
t_match "bridge exists with the gateway" "$(ip -n "${ND_NSP}-h" -4 -o addr show dev "nd-$br")" "10\.61\.0\.1/24"

# two containers on one network: ping and a TCP exchange
t_ok "run web (httpd)" nd_ctl h run -d --name web --network front busybox httpd -f -p 80 -h /var/www
t_ok "run client with a static address" nd_ctl h run -d --name client --network front --ip 10.61.0.50 sleep 600
web_ip=$(nd_ctl h inspect web | jq -r '.[0].Endpoints[0].IPAddress')
t_eq "web got the first address" "$web_ip" "10.61.0.2"
t_eq "client got its static address" "$(nd_in h client ip -4 -o addr show eth0 | awk '{print $4}')" "10.61.0.50/24"
t_ok "ping between containers" nd_in h client ping -c 2 -W 2 "$web_ip"
t_eq "TCP: wget from httpd" "$(nd_in h client wget -qO- "http://$web_ip/index.html")" "hello from netd"
t_eq "MAC derived from the IPv4 address" "$(nd_in h client cat /sys/class/net/eth0/address)" "02:42:0a:3d:00:32"
t_eq "default route via the gateway" "$(nd_in h client ip route | grep ^default)" "default via 10.61.0.1 dev eth0 "
t_match "/etc/hosts has its own name" "$(nd_in h client cat /etc/hosts)" "10\.61\.0\.50	[0-9a-f]{12} client"
t_eq "hostname defaults to the short id" "$(nd_in h client hostname)" "$(nd_ctl h inspect client | jq -r '.[0].Id[0:12]')"

# duplicate static address, unknown network, duplicate name, missing rootfs, bad command
t_match "duplicate static address refused" "$(nd_ctl h run -d --network front --ip 10.61.0.50 sleep 1 2>&1)" \
        "address 10\.61\.0\.50 is already in use on network 'front'"
t_match "unknown network" "$(nd_ctl h run -d --network nope sleep 1 2>&1)" "network 'nope' not found"
t_match "duplicate name" "$(nd_ctl h run -d --name web sleep 1 2>&1)" "container name 'web' is already in use"
t_match "missing rootfs" "$(nd_ctl h run -d --rootfs /nonexistent sleep 1 2>&1)" "root filesystem '/nonexistent' does not exist"
t_match "command not found" "$(nd_ctl h run -d --network front nosuchcmd 2>&1)" "command 'nosuchcmd' not found"
t_eq "failed runs leave no container" "$(nd_ctl h ps -a -q | wc -l)" "2"
t_eq "failed runs leave no address" "$(nd_ctl h network inspect front | jq '.[0].AddressesInUse')" "2"

# a container on two networks
t_ok "run multi on front and back" nd_ctl h run -d --name multi --network front --network back --hostname multi sleep 600
t_eq "multi: eth0 and eth1" "$(nd_in h multi ip -4 -o addr | awk '$2 != "lo" {print $2":"$4}' | tr '\n' ' ')" \
        "eth0:10.61.0.3/24 eth1:10.62.0.2/24 "
t_match "multi: IPv6 on eth1" "$(nd_in h multi ip -6 -o addr show dev eth1)" "fd00:62::2/64"
t_eq "multi: default route via the first network" "$(nd_in h multi ip route | grep ^default)" "default via 10.61.0.1 dev eth0 "
t_match "multi: route to back on eth1" "$(nd_in h multi ip route)" "10\.62\.0\.0/24 dev eth1"
t_eq "hostname option" "$(nd_in h multi hostname)" "multi"

# connect / disconnect on a running container
t_ok "connect client to back with a static address" nd_ctl h network connect --ip 10.62.0.77 back client
t_eq "client: eth1 appeared" "$(nd_in h client ip -4 -o addr show eth1 | awk '{print $4}')" "10.62.0.77/24"
t_ok "client reaches multi over back" nd_in h client ping -c 1 -W 2 10.62.0.2
t_ok "eth0 undisturbed" nd_in h client ping -c 1 -W 2 "$web_ip"
t_match "connect twice refused" "$(nd_ctl h network connect back client 2>&1)" "already connected"
t_ok "disconnect back" nd_ctl h network disconnect back client
t_err "eth1 gone" nd_in h client ip link show eth1
t_ok "eth0 still works after disconnect" nd_in h client ping -c 1 -W 2 "$web_ip"
t_match "address released on disconnect" "$(nd_ctl h ipam ls back)" "^ADDRESS +OWNER
10\.62\.0\.2 "
t_match "disconnect again: not connected" "$(nd_ctl h network disconnect back client 2>&1)" "not connected"

# network modes
t_ok "run --network none" nd_ctl h run -d --name nonet --network none sleep 600
t_eq "none: loopback only" "$(nd_in h nonet ip -o link | awk '{print $2}' | tr '\n' ' ')" "lo: "
t_ok "run --network container:nonet" nd_ctl h run -d --name joined --network container:nonet sleep 600
t_eq "container mode shares the namespace" "$(nd_in h joined readlink /proc/1/ns/net)" \
        "$(nd_in h nonet readlink /proc/1/ns/net)"
t_ok "run --network host" nd_ctl h run -d --name hostnet --network host sleep 600
t_match "host mode sees the host's bridge" "$(nd_in h hostnet ip -o link)" "nd-$br"
t_match "rm of a namespace owner in use refused" "$(nd_ctl h rm -f nonet 2>&1)" "shares its network with running container 'joined'"

# exec, logs, exit codes, --rm
t_eq "foreground run prints output" "$(nd_ctl h run --rm --network front sh -c 'echo out; echo err >&2')" "out
err"
nd_ctl h run --network front --name failing sh -c 'echo bye; exit 7' >/dev/null
t_eq "foreground run returns the exit code" "$?" "7"
t_eq "logs" "$(nd_ctl h logs failing)" "bye"
t_eq "ps -a shows the exit code" "$(nd_ctl h ps -a | awk '$2 == "failing" {print $3, $4}')" "exited (7)"
t_eq "exec exit code" "$(nd_in h client sh -c 'exit 5'; echo $?)" "5"
t_eq "exec sees the container env" "$(nd_in h client sh -c 'echo $HOSTNAME')" "$(nd_ctl h inspect client | jq -r '.[0].Config.Hostname')"
t_match "env passed with -e" "$(nd_ctl h run --rm -e FOO=bar sh -c 'echo $FOO')" "^bar$"
t_eq "pid namespace: init is pid 1" "$(nd_in h client cat /proc/1/cmdline | tr '\0' ' ')" "sleep 600 "
t_eq "root is read-write overlay, rootfs untouched" \
        "$(nd_in h client sh -c 'echo x > /written && cat /written'; test -e "$ND_TMP/h/state/rootfs/default/written" && echo leaked)" "x"

# limits
t_ok "run with memory and pids limits" nd_ctl h run -d --name limited --memory 64m --pids-limit 20 sleep 600
lid=$(nd_ctl h inspect limited | jq -r '.[0].Id')
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        t_eq "memory.max" "$(cat /sys/fs/cgroup/netd/$lid/memory.max)" "67108864"
        t_eq "pids.max" "$(cat /sys/fs/cgroup/netd/$lid/pids.max)" "20"
else
        t_eq "memory.limit_in_bytes" "$(cat /sys/fs/cgroup/memory/netd/$lid/memory.limit_in_bytes)" "67108864"
        t_eq "pids.max" "$(cat /sys/fs/cgroup/pids/netd/$lid/pids.max)" "20"
fi

# create / start / restart a stopped one
cid=$(nd_ctl h create --name later --network front --ip 10.61.0.60 busybox httpd -f -p 80 -h /var/www)
t_match "create prints the id" "$cid" "^[0-9a-f]{64}$"
t_match "created: status" "$(nd_ctl h ps -a | awk '$2 == "later"')" "created"
t_eq "created: the sandbox is wired already" "$(ip netns exec "${ND_NSP}-h" busybox ping -c 1 -W 2 10.61.0.60 >/dev/null && echo up)" "up"
t_ok "start" nd_ctl h start later
t_eq "started: serves" "$(nd_in h client wget -qO- http://10.61.0.60/index.html)" "hello from netd"
t_ok "stop it" nd_ctl h stop -t 0 later
t_ok "start it again" nd_ctl h start later
t_eq "restarted: serves again" "$(nd_in h client wget -qO- http://10.61.0.60/index.html)" "hello from netd"
t_ok "start of a running container is a no-op" nd_ctl h start later
t_ok "rm -f later" nd_ctl h rm -f later

# a stop without grace during a graceful one kills at once (a fenced task)
nd_ctl h run -d --name stubborn --network none sh -c 'trap "" TERM; while :; do sleep 1; done' >/dev/null
nd_ctl h stop -t 60 stubborn >/dev/null 2>&1 &
slow=$!
sleep 0.5
t0=$(date +%s)
t_ok "stop -t 0 during a stop -t 60" nd_ctl h stop -t 0 stubborn
t_ok "... kills it at once" test $(( $(date +%s) - t0 )) -le 3
t_ok "... and the graceful stop returns too" wait "$slow"
t_ok "rm stubborn" nd_ctl h rm stubborn

# stop / rm
t_ok "stop" nd_ctl h stop -t 1 limited
t_match "stopped shows exited" "$(nd_ctl h ps -a | awk '$2 == "limited"')" "exited"
t_match "rm of a running container refused" "$(nd_ctl h rm web 2>&1)" "is running: stop it first or use --force"
t_ok "rm -f" nd_ctl h rm -f web joined nonet hostnet failing limited multi client
t_eq "no containers left" "$(nd_ctl h ps -a -q | wc -l)" "0"
t_ok "their teardown finishes" nd_settled h
t_eq "no veths left" "$(ip -n "${ND_NSP}-h" -o link | grep -c vnd)" "0"
t_eq "no sandboxes left" "$(ls "$ND_TMP/h/run/netns" | wc -l)" "0"
t_eq "no addresses left" "$(nd_ctl h network inspect front back | jq '[.[].AddressesInUse] | add')" "0"
t_ok "network rm removes the bridge" nd_ctl h network rm front
t_err "bridge gone" ip -n "${ND_NSP}-h" link show "nd-$br"
nd_done
