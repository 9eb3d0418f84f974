#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The embedded DNS at 127.0.0.11, queried with dig from inside sandboxes:
# names, aliases, qualified names, round-robin, AAAA/NODATA, PTR, TCP,
# forwarding to a test upstream (dnsmasq in its own namespace), SERVFAIL
# when upstreams fail, no forwarding from internal networks, visibility
# per network, and changes seen on the next query.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dig >/dev/null && command -v dnsmasq >/dev/null || { echo "SKIP: dig or dnsmasq missing"; exit 77; }

nd_host h
nd_host u                                   # the upstream resolver's host
nd_wire h u 10.95.0
nd_bg ip netns exec "${ND_NSP}-u" dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
        --listen-address=10.95.0.2 --address=/example.test/10.9.9.9 --pid-file=
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-u ss -Hlun | grep -q '10.95.0.2:53 '"
nd_start h --dns 10.95.0.2 --dns-ttl 30 || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create front (IPv4 + IPv6)" nd_ctl h network create --subnet 10.60.0.0/24 --ipv6 --subnet fd60::/64 front
t_ok "create back" nd_ctl h network create --subnet 10.61.0.0/24 back
t_ok "create an internal network" nd_ctl h network create --internal --subnet 10.62.0.0/24 -o dns.ttl=5 priv
t_ok "run web1 (alias www)" nd_ctl h run -d --name web1 --hostname w1 --network front --network-alias www sleep 600
t_ok "run web2 (alias www)" nd_ctl h run -d --name web2 --network front --network-alias www sleep 600
t_ok "run db on back" nd_ctl h run -d --name db --network back sleep 600
t_ok "run cl on front" nd_ctl h run -d --name cl --network front --dns-search example.test --dns-option timeout:2 sleep 600
t_ok "run v4 (IPv4 only) on back and front" nd_ctl h run -d --name v4 --network back sleep 600
t_ok "run priv1 on the internal network" nd_ctl h run -d --name priv1 --network priv sleep 600

dig_in() { local ct=$1; shift; nd_ctns h "$ct" dig +time=3 +tries=1 @127.0.0.11 "$@"; }
short() { dig_in "$@" +short | tr '\n' ' ' | sed 's/ $//'; }
web1=$(nd_ctl h inspect web1 | jq -r '.[0].Endpoints[0].IPAddress')
web2=$(nd_ctl h inspect web2 | jq -r '.[0].Endpoints[0].IPAddress')

t_eq "resolv.conf points at the embedded DNS" "$(nd_in h cl cat /etc/resolv.conf)" "nameserver 127.0.0.11
search example.test
options ndots:0 timeout:2"
t_eq "container name" "$(short cl web1)" "$web1"
t_eq "hostname" "$(short cl w1)" "$web1"
t_eq "short id" "$(short cl "$(nd_ctl h inspect web1 | jq -r '.[0].Id[0:12]')")" "$web1"
t_eq "case-insensitive" "$(short cl WEB1)" "$web1"
t_eq "qualified NAME.NETWORK" "$(short cl web1.front)" "$web1"
t_match "the answer is authoritative, TTL from --dns-ttl" "$(dig_in cl web1 +noall +answer +comments)" "flags: qr aa.*web1\.[[:space:]]+30[[:space:]]+IN[[:space:]]+A"
a1=$(short cl www); a2=$(short cl www)
t_match "alias: both addresses, no duplicates" "$a1" "^(10\.60\.0\.[23] 10\.60\.0\.[23])$"
t_eq "alias: each address once" "$(tr ' ' '\n' <<<"$a1" | sort -u | wc -l)" "2"
t_ok "round-robin: the order rotates between queries" test "$a1" != "$a2"
t_eq "AAAA" "$(short cl web1 AAAA)" "fd60::2"
t_match "AAAA of an IPv4-only name: NOERROR, no answer" "$(dig_in cl v4.back AAAA; dig_in db v4 AAAA)" "status: NOERROR.*ANSWER: 0"
t_eq "PTR" "$(short cl -x "$web2")" "web2.front."
t_eq "PTR IPv6" "$(short cl -x fd60::2)" "web1.front."
t_eq "TCP query" "$(short cl +tcp web2)" "$web2"
t_eq "busybox nslookup inside the container" "$(nd_in h web1 nslookup web2 2>/dev/null | awk '/^Address/ && !/127.0.0.11/ {print $NF}' | head -1)" "$web2"

# visibility
t_match "a name on another network is not answered" "$(dig_in cl db)" "status: (NXDOMAIN|REFUSED)"
t_match "nor qualified with a network the asker is not on" "$(dig_in cl db.back)" "status: (NXDOMAIN|REFUSED)"
t_eq "db sees v4 on back" "$(short db v4)" "$(nd_ctl h inspect v4 | jq -r '.[0].Endpoints[0].IPAddress')"

# forwarding
t_eq "other names go to the upstream" "$(short cl example.test)" "10.9.9.9"
t_eq "search domain from --dns-search" "$(nd_in h cl nslookup www2 2>&1 | grep -c 10.9.9.9)" "1"
t_match "internal network: no forwarding (SERVFAIL)" "$(dig_in priv1 example.test)" "status: SERVFAIL"
t_eq "internal network: its own names still resolve" "$(short priv1 priv1)" "$(nd_ctl h inspect priv1 | jq -r '.[0].Endpoints[0].IPAddress')"
t_match "internal network TTL from -o dns.ttl" "$(dig_in priv1 priv1 +noall +answer)" "priv1\.[[:space:]]+5[[:space:]]"
t_ok "run bad with an upstream that refuses" nd_ctl h run -d --name bad --network front --dns 10.95.0.1 sleep 600
start=$(date +%s%N)
t_match "upstream refusing: SERVFAIL" "$(dig_in bad example.test)" "status: SERVFAIL"
t_ok "run slow with an upstream that never answers" nd_ctl h run -d --name slow --network front --dns 10.95.0.77 sleep 600
start=$(date +%s%N)
t_match "upstream silent: SERVFAIL" "$(dig_in slow example.test +time=5)" "status: SERVFAIL"
t_ok "within the 1 s upstream timeout (under 3 s)" test $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000

# legacy links
t_ok "run api with a port" nd_ctl h run -d --name api --network front -p 8081:80 sleep 600
api=$(nd_ctl h inspect api | jq -r '.[0].Endpoints[0].IPAddress')
t_ok "run lk --link api:backend" nd_ctl h run -d --name lk --network front --link api:backend sleep 600
t_match "the link alias is in /etc/hosts" "$(nd_in h lk cat /etc/hosts)" "$api	backend api"
t_match "and ALIAS_PORT_* variables in the environment" "$(nd_in h lk env | sort | tr '\n' ' ')" \
        "BACKEND_NAME=/lk/backend BACKEND_PORT=tcp://$api:80 BACKEND_PORT_80_TCP=tcp://$api:80 BACKEND_PORT_80_TCP_ADDR=$api BACKEND_PORT_80_TCP_PORT=80 BACKEND_PORT_80_TCP_PROTO=tcp"
t_match "a link to an unknown container is refused" "$(nd_ctl h run -d --network front --link nosuch sleep 1 2>&1)" \
        "linked container 'nosuch' not found"
t_match "a link across networks is refused" "$(nd_ctl h run -d --network back --link api sleep 1 2>&1)" \
        "must be running on a network this container joins"

# changes are seen on the next query
t_ok "connect db to front" nd_ctl h network connect --alias www front db
t_eq "db answers on front at once" "$(short cl db)" "$(nd_ctl h inspect db | jq -r '.[0].Endpoints[1].IPAddress')"
t_eq "and joins the alias" "$(short cl www | wc -w)" "3"
t_ok "disconnect it" nd_ctl h network disconnect front db
t_match "gone after disconnect" "$(dig_in cl db)" "status: (NXDOMAIN|REFUSED)"
t_ok "rm -f web2" nd_ctl h rm -f web2
t_eq "web2 gone right after rm" "$(short cl web2.front)" ""
t_eq "the alias keeps web1 only" "$(short cl www)" "$web1"
t_ok "stop web1" nd_ctl h stop -t 0 web1
t_eq "a stopped container is not answered" "$(short cl web1.front)" ""
t_ok "start web1" nd_ctl h start web1
# its stop gave back its dynamic address: the start brought a new one
new1=$(nd_ctl h inspect web1 | jq -r '.[0].Endpoints[0].IPAddress')
t_ok "a new address after the restart" test "$new1" != "$web1"
web1=$new1
t_eq "answered again after start, with it" "$(short cl web1)" "$web1"

# malformed input does not hurt
t_ok "garbage datagram" nd_ctns h cl sh -c 'head -c 700 /dev/urandom | socat -T1 - UDP:127.0.0.11:53; true'
t_eq "still answering" "$(short cl web1)" "$web1"
t_match "counters per network" "$(nd_ctl h network inspect front | jq -c '.[0].DNS')" '"Queries":[1-9][0-9]*.*"Forwarded":[1-9]'
t_match "upstream timeouts counted" "$(nd_ctl h network inspect front | jq -c '.[0].DNS.UpstreamTimeouts')" "^[1-9]"
nd_done
