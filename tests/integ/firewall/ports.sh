#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Published ports: TCP and UDP from another host (prerouting), from the
# host itself (localhost and its own address: output), from containers
# (hairpin), host-address-specific bindings, dynamic ports, ranges, IPv6,
# clashes with netd's own ports and with host processes, the held port,
# and the map elements following start/stop.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v socat >/dev/null || { echo "SKIP: socat not installed"; exit 77; }

nd_host h
nd_host c                                 # the outside world
nd_wire h c 10.99.0 fd99:0:0:1
ip -n "${ND_NSP}-h" addr add 10.99.0.11/24 dev to-c
nd_start h --published-port-range 40000-40009 || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create web (IPv4 + IPv6)" nd_ctl h network create --subnet 10.50.0.0/24 --ipv6 --subnet fd50::/64 web
t_ok "create other" nd_ctl h network create --subnet 10.51.0.0/24 other

t_ok "run a with five -p" nd_ctl h run -d --name a --network web -p 8080:80 -p 10.99.0.11:8081:80 -p 80 \
        -p 9000-9001:90-91/udp -p '[fd99:0:0:1::1]:8082:80' busybox httpd -f -p 80 -h /var/www
for p in 90 91; do
        nd_bg nd_ctns h a socat UDP6-RECVFROM:$p,ipv6only=0,fork SYSTEM:"echo pong-$p"
done
dyn=$(nd_ctl h port a 80/tcp | grep -v 8080 | grep -v 8081 | grep -v 8082 | head -1)
# a has IPv6: a binding on every address shows 0.0.0.0 and [::], as docker port does
t_match "netctl port lists every binding" "$(nd_ctl h port a | tr '\n' ' ')" \
        "80/tcp -> 0\.0\.0\.0:8080 80/tcp -> \[::\]:8080 80/tcp -> 10\.99\.0\.11:8081 80/tcp -> 0\.0\.0\.0:400[0-9][0-9] 80/tcp -> \[::\]:400[0-9][0-9] 90/udp -> 0\.0\.0\.0:9000 90/udp -> \[::\]:9000 91/udp -> 0\.0\.0\.0:9001 91/udp -> \[::\]:9001 80/tcp -> \[fd99:0:0:1::1\]:8082"
t_match "dynamic port from --published-port-range" "$dyn" "^0\.0\.0\.0:400[0-9][0-9]$"
t_match "inspect shows the bindings" "$(nd_ctl h inspect a | jq -c '.[0].PortBindings[0]')" \
        '"HostIp":"","HostPort":8080,"ContainerPort":80'

get() { nd_on "$1" curl -sf -m 3 -g "$2"; }
t_eq "TCP from another host" "$(get c http://10.99.0.1:8080/index.html)" "hello from netd"
t_eq "TCP from the host via localhost" "$(get h http://127.0.0.1:8080/index.html)" "hello from netd"
t_eq "TCP from the host via its own address" "$(get h http://10.99.0.1:8080/index.html)" "hello from netd"
t_eq "dynamic port from another host" "$(get c "http://10.99.0.1:${dyn##*:}/index.html")" "hello from netd"
t_eq "host-address binding on that address" "$(get c http://10.99.0.11:8081/index.html)" "hello from netd"
t_err "host-address binding not on another address" get c http://10.99.0.1:8081/index.html
t_eq "wildcard binding on every address" "$(get c http://10.99.0.11:8080/index.html)" "hello from netd"
t_eq "IPv6 wildcard binding" "$(get c 'http://[fd99:0:0:1::1]:8080/index.html')" "hello from netd"
t_eq "IPv6 address binding" "$(get c 'http://[fd99:0:0:1::1]:8082/index.html')" "hello from netd"
# UDP may lose a datagram: up to three tries
udp() {
        local i out
        for i in 1 2 3; do
                out=$(echo ping | nd_on "$1" socat -T 2 - "UDP:$2") && [ -n "$out" ] && { echo "$out"; return 0; }
        done
        return 1
}
t_eq "UDP range, first port" "$(udp c 10.99.0.1:9000)" "pong-90"
t_eq "UDP range, second port" "$(udp c 10.99.0.1:9001)" "pong-91"
t_eq "UDP from the host via localhost" "$(udp h 127.0.0.1:9001)" "pong-91"

# hairpin: containers reach published ports through the host's address
t_ok "run b on web" nd_ctl h run -d --name b --network web sleep 600
t_ok "run o on other" nd_ctl h run -d --name o --network other sleep 600
t_eq "hairpin: same network" "$(nd_wget h b http://10.99.0.1:8080/index.html)" "hello from netd"
t_eq "hairpin: the container itself" "$(nd_wget h a http://10.99.0.1:8080/index.html)" "hello from netd"
t_eq "another network via the published port" "$(nd_wget h o http://10.99.0.1:8080/index.html)" \
        "hello from netd"

# clashes
addrs=$(nd_ctl h ipam ls web | wc -l)
t_match "clash with netd's own port" "$(nd_ctl h run -d --name clash --network web -p 8080:80 sleep 60 2>&1)" \
        "host port 0\.0\.0\.0:8080/tcp is already published by container 'a'"
t_err "the refused container is not left behind" nd_ctl h inspect clash
t_eq "nor its address" "$(nd_ctl h ipam ls web | wc -l)" "$addrs"
t_match "clash: specific address vs wildcard" \
        "$(nd_ctl h run -d --network web -p 10.99.0.1:8080:80 sleep 60 2>&1)" "already published by container 'a'"
nd_bg nd_on h socat TCP-LISTEN:7000,bind=0.0.0.0 -
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-h ss -Htln | grep -q ':7000 '"
t_match "clash with a host process" "$(nd_ctl h run -d --name clash2 --network web -p 7000:80 sleep 60 2>&1)" \
        "host port 0\.0\.0\.0:7000/tcp is already in use by another process"
t_match "a host address that is not the host's" \
        "$(nd_ctl h run -d --name clash3 --network web -p 192.0.2.1:7001:80 sleep 60 2>&1)" \
        "host address 192\.0\.2\.1 is not an address of this host"
t_match "bad spec: sizes differ" "$(nd_ctl h run -d --network web -p 8000-8002:80-81 sleep 60 2>&1)" "differ in size"
t_match "bad spec: protocol" "$(nd_ctl h run -d --network web -p 80/icmp sleep 60 2>&1)" "tcp, udp or sctp"
t_match "bad spec: port 0" "$(nd_ctl h run -d --network web -p 0:80 sleep 60 2>&1)" "host port must be 1-65535"
t_match "no network: refused" "$(nd_ctl h run -d -p 80 sleep 60 2>&1)" "can only be published from a container on a network"
t_err "the held port cannot be taken by a host process" nd_on h busybox nc -l -p 8080 -w 1
t_err "nor a held UDP port" nd_on h socat -T 1 UDP-RECVFROM:9000 -

# a host range with one container port: any free port of that range
t_ok "run r with -p 8090-8091:80" nd_ctl h run -d --name r --network web -p 8090-8091:80 busybox httpd -f -p 80 -h /var/www
t_ok "run r2 with the same range" nd_ctl h run -d --name r2 --network web -p 8090-8091:80 busybox httpd -f -p 80 -h /var/www
t_eq "they got both ports" "$(nd_ctl h port r | head -1; nd_ctl h port r2 | head -1)" "80/tcp -> 0.0.0.0:8090
80/tcp -> 0.0.0.0:8091"
t_match "the range is exhausted" "$(nd_ctl h run -d --name r3 --network web -p 8090-8091:80 sleep 60 2>&1)" \
        "host port 0\.0\.0\.0:8091/tcp is already published|no free host port in 8090-8091"

# stop: elements and held ports go; start: they come back
elems() { nd_on h nft -j list map inet netd publish4 | jq '[.nftables[] | select(.map) | .map.elem // [] | .[]] | length'; }
before=$(elems)
t_ok "stop a" nd_ctl h stop -t 1 a
t_eq "a's four IPv4 wildcard elements are gone" "$(elems)" "$((before - 4))"
t_err "port 8080 answers no more" get c http://10.99.0.1:8080/index.html
t_ok "a host process may bind 8080 now" nd_on h sh -c 'busybox nc -l -p 8080 -w 1 & sleep 0.3; kill $! 2>/dev/null; wait $!; [ $? != 1 ]'
t_ok "start a again" nd_ctl h start a
t_eq "elements back" "$(elems)" "$before"
t_eq "8080 answers again" "$(get c http://10.99.0.1:8080/index.html)" "hello from netd"
t_ok "rm -f a" nd_ctl h rm -f a
t_eq "rm removed a's elements" "$(elems)" "$((before - 4))"
t_match "info reports the firewall" "$(nd_api h GET /v1/info)" '"Firewall":\{[^}]*"Enabled":true'
nd_done
