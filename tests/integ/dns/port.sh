#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The embedded DNS leaves port 53 to the container (Docker's behaviour):
# netd listens at 127.0.0.11 on ports the kernel picks and a table in the
# sandbox redirects 127.0.0.11:53 there.  A dnsmasq in the container binds
# 0.0.0.0:53 (UDP and TCP) and answers its own record while the container
# still resolves its neighbours through 127.0.0.11; a restarted netd binds
# the same ports again, and repairs a table removed while it was down.  The
# redirect rewrites ports in place: no NAT, so no conntrack in the sandbox,
# and replies come from 127.0.0.11:53 even to a socket that never connect()s.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dig >/dev/null && command -v dnsmasq >/dev/null || { echo "SKIP: dig or dnsmasq missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "network create front" nd_ctl h network create --subnet 10.74.0.0/24 front
# docker run -d --name dm --network front busybox sleep 600 (dnsmasq below, in its namespace)
t_ok "run dm" nd_ctl h run -d --name dm --network front sleep 600
t_ok "run web" nd_ctl h run -d --name web --network front sleep 600
WEB=$(nd_ctl h inspect web | jq -r '.[0].Endpoints[0].IPAddress')

# dnsmasq -k --host-record=own.test,10.9.9.9 (binds the wildcard, port 53)
nd_bg nd_ctns h dm dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --pid-file= --server=127.0.0.11 \
        --host-record=own.test,10.9.9.9
t_ok "dnsmasq binds 0.0.0.0:53 over UDP and TCP" nd_eventually 5 nd_ctns h dm sh -c \
        "ss -Hlun | grep -q '^UNCONN.* 0.0.0.0:53 ' && ss -Hltn | grep -q '^LISTEN.* 0.0.0.0:53 '"

dig_in() { local ct=$1; shift; nd_ctns h "$ct" dig +time=3 +tries=1 "$@"; }
check() { # WHEN
        t_eq "$1: dnsmasq answers its own record (UDP)" "$(dig_in dm +short @127.0.0.1 own.test)" "10.9.9.9"
        t_eq "$1: dnsmasq answers its own record (TCP)" "$(dig_in dm +short +tcp @127.0.0.1 own.test)" "10.9.9.9"
        t_eq "$1: the neighbour resolves through 127.0.0.11 (UDP)" "$(dig_in dm +short @127.0.0.11 web)" "$WEB"
        t_eq "$1: the neighbour resolves through 127.0.0.11 (TCP)" "$(dig_in dm +short +tcp @127.0.0.11 web)" "$WEB"
        t_eq "$1: dnsmasq forwards to 127.0.0.11:53" \
                "$(dig_in dm +short @127.0.0.1 web)" "$WEB"
        t_eq "$1: only netd's small table in the sandbox" "$(nd_ctns h dm nft list tables)" "table ip netd-dns"
        local table
        table=$(nd_ctns h dm nft list table ip netd-dns)
        t_match "$1: the table rewrites 127.0.0.11:53 (UDP)" "$table" "ip daddr 127.0.0.11 udp dport 53 udp dport set [0-9]+"
        t_match "$1: the table rewrites 127.0.0.11:53 (TCP)" "$table" "ip daddr 127.0.0.11 tcp dport 53 tcp dport set [0-9]+"
        t_match "$1: and the replies back to :53" "$table" "ip saddr 127.0.0.11 udp sport [0-9]+ udp sport set 53"
        t_err "$1: no NAT chain in the sandbox" grep -q "type nat" <<<"$table"
        t_eq "$1: an unconnected UDP socket gets the answer from 127.0.0.11:53" \
                "$(nd_ctns h dm python3 -c "$UNCONNECTED")" "127.0.0.11 53 rcode 0 answers 1"
        t_eq "$1: busybox nslookup resolves through 127.0.0.11" \
                "$(nd_ctns h dm busybox nslookup web 127.0.0.11 2>&1 | awk '/^Address: /{print $2}' | tail -1)" "$WEB"
        t_eq "$1: the queries left no conntrack entry in the sandbox" "$(conntrack_count dm)" "0"
}
# sendto()/recvfrom() on an unconnected socket: prints the reply's source
UNCONNECTED='
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(bytes.fromhex("abcd01000001000000000000") + b"\x03web\x00\x00\x01\x00\x01", ("127.0.0.11", 53))
d, a = s.recvfrom(512)
print(a[0], a[1], "rcode", d[3] & 15, "answers", int.from_bytes(d[6:8], "big"))
'
# entries in the sandbox's conntrack table (/proc/net is the reader's namespace)
conntrack_count() {
        nd_ctns h "$1" sh -c '[ -e /proc/net/nf_conntrack ] && wc -l </proc/net/nf_conntrack || echo 0'
}
check "running"
ports() { nd_ctns h dm ss -Hlnut src 127.0.0.11 | awk '{print $1, $5}' | sort; }
before=$(ports)
t_match "netd listens at 127.0.0.11, not on port 53" "$before" "127\.0\.0\.11:[0-9]+"
t_err "nothing of netd's on 127.0.0.11:53" sh -c "grep -q '127.0.0.11:53\$' <<<'$before'"

# a restart: the same ports again, and everything still answers
dmns=$ND_TMP/h/run/netns/$(nd_ctl h inspect dm | jq -r '.[0].Id')
nd_stop "$ND_PID"
# meanwhile the table sends queries to closed ports: the port unreachable
# (UDP) and the reset (TCP) reach the client as from 127.0.0.11:53
t_match "netd down: a UDP query is refused at once" \
        "$(nsenter --net="$dmns" dig +time=3 +tries=1 @127.0.0.11 web 2>&1)" "connection refused"
t_match "netd down: a TCP query is refused at once" \
        "$(nsenter --net="$dmns" dig +time=3 +tries=1 +tcp @127.0.0.11 web 2>&1)" "connection refused"
nd_start h || exit 1
t_ok "resolver back after a restart" nd_eventually 5 nd_ctns h dm dig +time=1 +tries=1 +short @127.0.0.11 web
t_eq "the same ports after a restart" "$(ports)" "$before"
check "after a restart"

# the table deleted while netd is down: the restart puts it back
nd_stop "$ND_PID"
t_ok "delete the table behind netd's back" nsenter --net="$dmns" nft delete table ip netd-dns
nd_start h || exit 1
t_ok "resolver back after a repair" nd_eventually 5 nd_ctns h dm dig +time=1 +tries=1 +short @127.0.0.11 web
check "after the repair"

# a port of the table taken by the container while netd was down: new ports
old_udp=$(ports | awk '$1 == "udp" {sub(/.*:/, "", $2); print $2}')
nd_stop "$ND_PID"
nd_bg nsenter --net="$dmns" socat -u "UDP4-RECV:$old_udp,bind=127.0.0.11" /dev/null
t_ok "the container binds the old UDP port" nd_eventually 3 sh -c \
        "nsenter --net='$dmns' ss -Hlun | grep -q '127.0.0.11:$old_udp '"
nd_start h || exit 1
t_ok "resolver back on other ports" nd_eventually 5 nd_ctns h dm dig +time=1 +tries=1 +short @127.0.0.11 web
t_err "netd moved off the taken port" sh -c "nsenter --net='$dmns' ss -Hlunp | grep '127.0.0.11:$old_udp ' | grep -q netd"
check "after a port was taken"

# a container started now gets the same: port 53 free, 127.0.0.11 answers
t_ok "run late" nd_ctl h run -d --name late --network front sleep 600
t_eq "a new container resolves its neighbour" "$(dig_in late +short @127.0.0.11 web)" "$WEB"
t_ok "and its port 53 is free" nd_ctns h late sh -c "! ss -Hlnu | grep -q ':53 '"
# a kernel that refuses the table (here: another process owns a table of
# that name, nft's "flags owner"): netd says so and holds 127.0.0.11:53
latens=$ND_TMP/h/run/netns/$(nd_ctl h inspect late | jq -r '.[0].Id')
nd_stop "$ND_PID"
nsenter --net="$latens" nft delete table ip netd-dns
mkfifo "$ND_TMP/nft-in"
exec 7<>"$ND_TMP/nft-in"
nsenter --net="$latens" nft -i <&7 >/dev/null 2>&1 &
ND_PIDS+=("$!")
echo 'add table ip netd-dns { flags owner; }' >&7
t_ok "another process owns the table's name" nd_eventually 3 sh -c \
        "nsenter --net='$latens' nft list tables | grep -q netd-dns"
nd_start h || exit 1
t_ok "without the redirect, the resolver still answers" \
        nd_eventually 5 nd_ctns h late dig +time=1 +tries=1 +short @127.0.0.11 web
t_ok "on port 53 itself" sh -c "nsenter --net='$latens' ss -Hlunp | grep '127.0.0.11:53 ' | grep -q netd"
t_match "and says why" "$(cat "$ND_TMP/h/netd.log")" "no DNS redirect in the sandbox"
t_ok "stop and remove" nd_ctl h rm -f dm web late
nd_done
