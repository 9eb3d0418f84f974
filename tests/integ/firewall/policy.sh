#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The forwarding policy (docs/firewall.md): egress is masqueraded, an
# internal network has no way out, networks cannot reach each other,
# containers reach the host only at their gateway, and netd's table stays
# out of other tables' way.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v socat >/dev/null || { echo "SKIP: socat not installed"; exit 77; }

nd_host h
nd_host s                                  # a server outside the host
nd_wire h s 10.98.0 fd98:0:0:1
# somebody else's table, which netd must leave alone
nd_on h nft add table inet other
nd_on h nft add chain inet other keepme
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_eq "forwarding enabled" "$(nd_on h cat /proc/sys/net/ipv4/ip_forward)" "1"
t_ok "create net1" nd_ctl h network create --subnet 10.41.0.0/24 --ipv6 --subnet fd41::/64 net1
t_ok "create net2" nd_ctl h network create --subnet 10.42.0.0/24 net2
t_ok "create internal net" nd_ctl h network create --internal --subnet 10.43.0.0/24 priv
t_ok "run x on net1" nd_ctl h run -d --name x --network net1 busybox httpd -f -p 80 -h /var/www
t_ok "run x2 on net1" nd_ctl h run -d --name x2 --network net1 sleep 600
t_ok "run y on net2" nd_ctl h run -d --name y --network net2 busybox httpd -f -p 80 -h /var/www
t_ok "run z on the internal network" nd_ctl h run -d --name z --network priv sleep 600
t_ok "run w on net1 and the internal network" nd_ctl h run -d --name w --network priv --network net1 sleep 600

# a server on the outside that answers with the address it sees
nd_bg nd_on s socat TCP-LISTEN:7777,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'
nd_bg nd_on s socat TCP6-LISTEN:7777,fork,reuseaddr,ipv6only=1 SYSTEM:'echo $SOCAT_PEERADDR'
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-s ss -Htln | grep -q ':7777 '"
nc_from() { NETD_SOCKET=$(nd_sock h) timeout 5 "$NETCTL" exec "$1" nc "$2" "$3" </dev/null; }
t_eq "egress is masqueraded to the host's address" "$(nc_from x 10.98.0.2 7777)" "10.98.0.1"
t_eq "IPv6 egress is masqueraded too" "$(nc_from x fd98:0:0:1::2 7777)" "[fd98:0000:0000:0001:0000:0000:0000:0001]"
t_err "the internal network has no default route" sh -c "NETD_SOCKET=$(nd_sock h) $NETCTL exec z ip route | grep -q default"
t_err "the internal network has no egress" nc_from z 10.98.0.2 7777
nd_ctns h z ip route add default via 10.43.0.1
t_err "not even with a route added inside the container" nc_from z 10.98.0.2 7777
t_eq "a container on internal and external networks leaves by the external one" "$(nc_from w 10.98.0.2 7777)" \
        "10.98.0.1"

# isolation between networks
x_ip=$(nd_ctl h inspect x | jq -r '.[0].Endpoints[0].IPAddress')
y_ip=$(nd_ctl h inspect y | jq -r '.[0].Endpoints[0].IPAddress')
z_ip=$(nd_ctl h inspect z | jq -r '.[0].Endpoints[0].IPAddress')
t_eq "same network: reachable" "$(nd_wget h x2 "http://$x_ip/index.html")" "hello from netd"
t_err "net1 -> net2 is dropped" nd_wget h x "http://$y_ip/index.html"
t_err "net2 -> net1 is dropped" nd_wget h y "http://$x_ip/index.html"
t_err "net1 -> internal is dropped" nd_in h x ping -c 1 -W 1 "$z_ip"
t_err "the outside cannot reach a container directly" sh -c \
        "ip -n ${ND_NSP}-s route add 10.41.0.0/24 via 10.98.0.1 && ip netns exec ${ND_NSP}-s curl -sf -m 2 http://$x_ip/index.html"

# the host: only the gateway
nd_bg nd_on h socat TCP-LISTEN:7100,fork,reuseaddr SYSTEM:'echo host-service'
nd_eventually 3 sh -c "ip netns exec ${ND_NSP}-h ss -Htln | grep -q ':7100 '"
t_eq "a container reaches its own gateway" "$(nc_from x 10.41.0.1 7100)" "host-service"
t_err "not the host's other addresses" nc_from x 10.98.0.1 7100
t_err "nor another network's gateway" nc_from x 10.42.0.1 7100
t_eq "other hosts still reach host services" "$(nd_on s socat -T 5 -u TCP:10.98.0.1:7100 -)" "host-service"
t_ok "ping the gateway" nd_in h x ping -c 1 -W 2 10.41.0.1

t_ok "the other table is untouched" nd_on h nft list chain inet other keepme
x_id=$(nd_ctl h inspect x | jq -r '.[0].Id')
t_ok "stop netd" nd_stop "$ND_PID"
t_ok "the table stays while netd is down (containers keep working)" nd_on h nft list table inet netd
t_eq "egress still masqueraded while netd is down" \
        "$(nsenter --net="$ND_TMP/h/run/netns/$x_id" socat -T 5 -u TCP:10.98.0.2:7777 -)" "10.98.0.1"
t_ok "netd --cleanup" nsenter --net="/run/netns/${ND_NSP}-h" "$NETD" --cleanup
t_err "the table is gone" nd_on h nft list table inet netd
t_ok "the other table is still there" nd_on h nft list chain inet other keepme
nd_done
