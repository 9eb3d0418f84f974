#!/bin/bash
# GRE encapsulation (-o encap=gre): this kernel has no GRE support, so
# netd carries the frames in userspace (TAP + raw IP protocol 47).  Two
# hosts: connectivity (ICMP, TCP, a 1 MB transfer at full MTU), DNS,
# departures, and the wire format checked by tshark: GRE with the key =
# VNI, protocol 0x6558 (transparent Ethernet bridging) carrying Ethernet
# frames between the containers' MACs.
. "$ND_SRC/tests/integ/lib/netns.sh"

nd_underlay h1 h2
nd_etcd sw e1 10.99.0.254 || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
for i in 1 2; do
        nd_start_node "h$i" "$i" --node-ttl 3 || exit 1
        nd_rootfs "h$i"
done
H2PID=$ND_PID
ip_of() { nd_ctl "$1" inspect "$2" | jq -r '.[0].Endpoints[0].IPAddress'; }
mac_of() { nd_ctl "$1" inspect "$2" | jq -r '.[0].Endpoints[0].MacAddress'; }

t_ok "create a GRE overlay network" nd_ctl h1 network create -d overlay -o encap=gre --subnet 10.61.0.0/24 --ipv6 --subnet fd61::/64 gre1
t_ok "h2 sees it" nd_eventually 3 env NETD_SOCKET="$(nd_sock h2)" "$NETCTL" network inspect gre1
VNI=$(nd_ctl h1 network inspect gre1 | jq -r '.[0].Options.vni')
t_eq "encapsulation reported" "$(nd_ctl h2 network inspect gre1 | jq -r '.[0].Overlay.Encap')" "gre (userspace)"
t_match "MTU = 1500 - 42" "$(ip -n "${ND_NSP}-h2" link show | grep ' gt-')" "mtu 1458"
t_ok "run a on h1" nd_ctl h1 run -d --name a --network gre1 busybox httpd -f -p 80 -h /var/www
t_ok "run b on h2" nd_ctl h2 run -d --name b --network gre1 sleep 600
A=$(ip_of h1 a) B=$(ip_of h2 b)
A6=$(nd_ctl h1 inspect a | jq -r '.[0].Endpoints[0].GlobalIPv6Address')

nd_on sw tcpdump -i p-h1 -U -w "$ND_TMP/gre.pcap" 'ip proto 47' >/dev/null 2>&1 &
TCPDUMP=$!
ND_PIDS+=("$TCPDUMP")
sleep 1
t_ok "b pings a across GRE (ARP answered by netd)" nd_eventually 3 nd_in h2 b ping -c 1 -W 1 "$A"
t_ok "by name" nd_in h2 b ping -c 2 -W 2 a
t_ok "IPv6 too (neighbour solicitation answered by netd)" nd_eventually 3 nd_in h2 b ping -c 1 -W 1 "$A6"
t_ok "a pings b" nd_in h1 a ping -c 2 -W 2 "$B"
t_ok "full-size packets pass (no fragmentation needed)" nd_in h2 b ping -c 1 -W 2 -s 1430 "$A"
t_eq "TCP: b fetches a page from a" "$(nd_wget h2 b http://a/index.html)" "hello from netd"
nd_in h1 a sh -c 'head -c 1048576 /dev/zero > /var/www/big' >/dev/null
t_eq "a 1 MiB transfer arrives whole" "$(nd_in h2 b sh -c 'wget -q -O- http://a/big | wc -c' | tr -d ' ')" "1048576"
sleep 0.5
kill "$TCPDUMP"
wait "$TCPDUMP" 2>/dev/null
fields=$(tshark -r "$ND_TMP/gre.pcap" -Y "gre && eth.src == $(mac_of h1 a)" -T fields -e gre.proto -e gre.key \
        -e eth.type 2>/dev/null | sort -u | head -3)
t_match "the wire: GRE, protocol 0x6558, key = VNI, Ethernet inside" "$fields" \
        "^0x6558	0x0*$(printf '%x' "$VNI")	"
t_eq "tshark sees IPv4 inside the Ethernet frames (outer host, inner container)" \
        "$(tshark -r "$ND_TMP/gre.pcap" -Y 'gre && eth && ip.dst == '"$B" -T fields -e ip.src 2>/dev/null | sort -u)" "10.99.0.1,$A"
stats=$(nd_ctl h2 network inspect gre1 | jq -c '.[0].Overlay.Frames')
t_match "frame counters move" "$stats" '"Tx":[1-9][0-9]*,"Rx":[1-9]'

t_ok "stop a" nd_ctl h1 stop -t 1 a
t_ok "h2 forgets it" nd_eventually 3 sh -c "NETD_SOCKET=$(nd_sock h2) $NETCTL network inspect gre1 | jq -e '.[0].Overlay.Peers == 0'"
t_err "b no longer reaches it" nd_in h2 b ping -c 1 -W 1 "$A"
t_ok "netd stops cleanly (TAP and raw socket closed; no leaks under ASan)" nd_stop "$H2PID" h2
t_err "the TAP went with it" ip -n "${ND_NSP}-h2" link show "gt-$(nd_ctl h1 network inspect gre1 | jq -r '.[0].Id' | cut -c1-12)"
nd_done
