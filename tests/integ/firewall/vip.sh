#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Services in the kernel (docs/firewall.md, "Services"), without a daemon:
# fw-drive programs netd's tables with the firewall's builders in a "host"
# namespace whose bridge carries three backends (busybox httpd answering
# their name, and a CGI naming the client's address), a client, and an
# "outside" namespace behind a veth.  It shows:
#  - connections to a VIP spread over its backends (300 requests, 100 +- 30
#    each), from a container on the bridge and from the host itself;
#  - a VIP without backends refuses at once (TCP reset, ICMP port
#    unreachable for UDP) and keeps the rule count;
#  - 1 VIP and 50 VIPs have the same rules;
#  - the routing mesh on the host's address reaches a backend, which sees
#    the outside client's address; a remote backend sees this host's SNAT
#    address, and without a SNAT address for the bridge nothing changes;
#  - a VIP's backends re-pointed in one update batch (delete then add with
#    the same keys);
#  - nd_nl_addr_add / nd_nl_addr_del for the VIP, both idempotent;
#  - a batch the kernel refuses is reported, however long its messages.
# Namespaces and links are named hn-*, removed on exit.
set -u

ND_BUILD=${ND_BUILD:?ND_BUILD must point at the meson build dir}
FD=$ND_BUILD/tests/integ/fw-drive
if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root"
        exit 77
fi
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

P=hn-$$
TMP=$(mktemp -d /tmp/hn-vip.XXXXXX)
NSS=() PIDS=()
PASSED=0 FAILED=0
cleanup() {
        local p n
        for p in "${PIDS[@]}"; do
                kill "$p" 2>/dev/null
        done
        for p in "${PIDS[@]}"; do
                wait "$p" 2>/dev/null
        done
        for n in "${NSS[@]}"; do
                ip netns del "$n" 2>/dev/null
        done
        rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

t_pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
t_fail() { FAILED=$((FAILED + 1)); echo "not ok - $1"; }
t_ok() {
        local d=$1
        shift
        if "$@" >"$TMP/out" 2>&1; then t_pass "$d"; else t_fail "$d"; sed 's/^/    /' "$TMP/out"; fi
}
t_eq() {
        if [ "$2" = "$3" ]; then t_pass "$1"; else t_fail "$1"; echo "    got:  $2"; echo "    want: $3"; fi
}
t_match() {
        if [[ $2 =~ $3 ]]; then t_pass "$1"; else t_fail "$1"; echo "    got:  $2"; echo "    want: /$3/"; fi
}

on() {
        local ns=$1
        shift
        ip netns exec "$P-$ns" "$@"
}
ns() {
        ip netns add "$P-$1" || exit 1
        NSS+=("$P-$1")
        on "$1" ip link set lo up
}
# leaf NAME ADDR/LEN [GW]: a namespace on a veth whose host end is hn-NAME
leaf() {
        local name=$1 addr=$2 gw=${3:-}
        ns "$name"
        ip -n "$P-host" link add "hn-$name" type veth peer name hn-eth0 netns "$P-$name" || exit 1
        on "$name" ip addr add "$addr" dev hn-eth0
        on "$name" ip link set hn-eth0 up
        [ -z "$gw" ] || on "$name" ip route add default via "$gw"
        on host ip link set "hn-$name" up
}

# ---- the world ----
ns host
on host sysctl -qw net.ipv4.ip_forward=1
on host ip link add hn-br type bridge
on host ip addr add 10.77.0.1/24 dev hn-br
on host ip link set hn-br up
for i in 1 2 3; do
        leaf "b$i" "10.77.0.$((i + 1))/24" 10.77.0.1
        on host ip link set "hn-b$i" master hn-br
        mkdir -p "$TMP/b$i/cgi-bin"
        echo "b$i" >"$TMP/b$i/index.html"
        # httpd listens on IPv6: REMOTE_ADDR is [::ffff:a.b.c.d]
        cat >"$TMP/b$i/cgi-bin/who" <<-EOF
	#!/bin/sh
	a=\${REMOTE_ADDR#[}; a=\${a%]}; a=\${a#::ffff:}
	printf 'Content-Type: text/plain\\r\\n\\r\\nb$i %s\\n' "\$a"
	EOF
        chmod +x "$TMP/b$i/cgi-bin/who"
        # not through on(): a function runs in a subshell whose pid is no
        # the server's; ip netns exec execs it in the same process
        ip netns exec "$P-b$i" /bin/busybox httpd -f -p 80 -h "$TMP/b$i" &
        PIDS+=("$!")
done
leaf cli 10.77.0.50/24 10.77.0.1
on host ip link set hn-cli master hn-br
leaf out 10.78.0.2/24
on host ip addr add 10.78.0.1/24 dev hn-out
B="10.77.0.2 10.77.0.3 10.77.0.4"
NET="bridge hn-br 10.77.0.0/24 10.77.0.1"
VIP=10.77.0.100

drive() { on host "$FD" "$@"; }
rules() { on host nft -j list table inet netd | jq '[.nftables[] | select(.rule)] | length'; }
# elems SET: its element count
elems() { on host nft -j list table inet netd | jq --arg s "$1" '[.nftables[] | (.map // .set) | select(. != null and .name == $s) | .elem // [] | length] | add'; }
# get NS URL [N]: N fetches (busybox wget, bounded by timeout(1)), one
# answer a line
get() {
        on "$1" sh -c 'for i in $(seq "$2"); do timeout 3 /bin/busybox wget -qO- "$1" || echo FAIL; done' _ "$2" "${3:-1}"
}
# spread NS N: "b1 b2 b3 fail" counts of N fetches of the VIP
spread() {
        get "$1" "http://$VIP/" "$2" | sort | uniq -c | awk '{c[$2] = $1} END {printf "%d %d %d %d", c["b1"], c["b2"], c["b3"], c["FAIL"]}'
}
near() { [ "$1" -ge $(($2 - $3)) ] && [ "$1" -le $(($2 + $3)) ]; }

for i in 1 2 3; do
        for _ in $(seq 50); do on "b$i" /bin/busybox nc -z 127.0.0.1 80 2>/dev/null && break; sleep 0.05; done
done

# ---- the VIP address (nd_nl_addr_add / _del) ----
t_ok "VIP: address added" drive addr add hn-br $VIP/32
t_ok "VIP: added again (already there: success)" drive addr add hn-br $VIP/32
t_match "VIP: on the bridge" "$(on host ip -4 -o addr show dev hn-br)" "inet $VIP/32"
t_ok "VIP: removed" drive addr del hn-br $VIP/32
t_ok "VIP: removed again (not there: success)" drive addr del hn-br $VIP/32
t_eq "VIP: gone from the bridge" "$(on host ip -4 -o addr show dev hn-br | grep -c "$VIP/")" 0
t_ok "VIP: added back" drive addr add hn-br $VIP/32
if drive addr del hn-nothere $VIP/32 >"$TMP/out" 2>&1; then t_fail "addr del on a missing link fails"; else
        t_pass "addr del on a missing link fails"; fi

# ---- (a) spread over three backends ----
t_ok "replace: a network, a VIP with 3 backends" drive $NET vip hn-br $VIP $B
R1=$(rules)
read -r c1 c2 c3 cf <<<"$(spread cli 300)"
echo "# 300 requests from the client: b1=$c1 b2=$c2 b3=$c3 failed=$cf"
t_eq "(a) no request failed" "$cf" 0
if near "$c1" 100 30 && near "$c2" 100 30 && near "$c3" 100 30; then t_pass "(a) spread 100 +- 30 each"; else
        t_fail "(a) spread 100 +- 30 each"; fi

# ---- (b) from the host itself (output hook) ----
read -r h1 h2 h3 hf <<<"$(spread host 30)"
echo "# 30 requests from the host: b1=$h1 b2=$h2 b3=$h3 failed=$hf"
t_eq "(b) the host reaches the VIP" "$hf/$((h1 + h2 + h3))" "0/30"
t_ok "(b) over more than one backend" test $(((h1 > 0) + (h2 > 0) + (h3 > 0))) -ge 2

# ---- (c) no backends: refused at once ----
t_ok "replace: the VIP without backends" drive $NET vip hn-br $VIP
t0=$(date +%s%N)
msg=$(on cli timeout 5 /bin/busybox wget -qO- "http://$VIP/" 2>&1)
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# TCP connect to the empty VIP: ${ms} ms: $msg"
t_match "(c) TCP: connection refused" "$msg" "Connection refused"
t_ok "(c) TCP: at once (< 1 s)" test "$ms" -lt 1000
# a connected UDP socket learns of the ICMP error at its next send
msg=$(on cli timeout 5 bash -c "exec 3<>/dev/udp/$VIP/53; echo x >&3; sleep 0.2; echo y >&3" 2>&1)
t_match "(c) UDP: port unreachable (refused)" "$msg" "Connection refused"
t_eq "(c) same rule count without backends" "$(rules)" "$R1"
t_eq "(c) the VIP is still served, without slots" "$(elems svc_vips4) $(elems svc_backends4)" "1 0"

# ---- (d) 1 VIP and 50 VIPs: the same rules ----
args=()
for i in $(seq 1 49); do args+=(vip hn-br "10.77.1.$i" $B); done
t_ok "replace: 50 VIPs with 3 backends each" drive $NET vip hn-br $VIP $B "${args[@]}"
t_eq "(d) 50 VIPs: 12800 slots" "$(elems svc_backends4)" 12800
t_eq "(d) 50 VIPs: same rule count as 1 ($R1)" "$(rules)" "$R1"
read -r c1 c2 c3 cf <<<"$(spread cli 30)"
t_eq "(d) the VIP works among 50" "$cf/$((c1 + c2 + c3))" "0/30"

# ---- (e) routing mesh, remote backends ----
t_ok "replace: mesh tcp 8080 -> 80 on b1, 8081 -> 80 on b3 (remote, SNAT)" \
        drive $NET vip hn-br $VIP $B mesh tcp 8080 80 10.77.0.2 mesh tcp 8081 80 10.77.0.4 remote 10.77.0.4 \
        snat hn-br 10.77.0.253
on host ip addr add 10.77.0.253/32 dev hn-br
t_eq "(e) mesh: the backend sees the outside client" "$(get out http://10.78.0.1:8080/cgi-bin/who)" "b1 10.78.0.2"
t_eq "(e) mesh to a remote backend: SNAT to this host's address" "$(get out http://10.78.0.1:8081/cgi-bin/who)" \
        "b3 10.77.0.253"
get cli "http://$VIP/cgi-bin/who" 30 | sort | uniq -c >"$TMP/who"
sed 's/^/# VIP from the client: /' "$TMP/who"
t_eq "(e) VIP to a remote backend: SNAT too, local ones masqueraded (hairpin)" \
        "$(awk '{print $2, $3}' "$TMP/who" | sort -u | tr '\n' ' ')" "b1 10.77.0.1 b2 10.77.0.1 b3 10.77.0.253 "
t_ok "replace: the same without a SNAT address for the bridge" \
        drive $NET mesh tcp 8081 80 10.77.0.4 remote 10.77.0.4
t_eq "(e) no SNAT address: the rule does not match" "$(get out http://10.78.0.1:8081/cgi-bin/who)" "b3 10.78.0.2"
t_eq "(e) mesh: rule count unchanged" "$(rules)" "$R1"

# ---- an update re-points every slot (delete then add, same keys) ----
out=$(drive $NET vip hn-br $VIP 10.77.0.2 10.77.0.3 then $NET vip hn-br $VIP 10.77.0.4)
echo "# b1,b2 -> b3: $out"
t_match "update: 256 slots re-pointed in one batch" "$out" "^update del=256 add=256 "
read -r c1 c2 c3 cf <<<"$(spread cli 20)"
t_eq "update: every connection to b3" "$c1 $c2 $c3 $cf" "0 0 20 0"
out=$(drive $NET vip hn-br $VIP 10.77.0.2 10.77.0.3 then $NET vip hn-br $VIP $B)
echo "# 2 -> 3 backends: $out"
t_match "update: 2 -> 3 backends changes 170 slots" "$out" "^update del=170 add=170 "
echo "# $(drive bench-diff)"
t_ok "a refused update with a large message is reported" drive refused

echo "# $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
