#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Where Docker users notice, continued (docker-parity.sh has the first
# part): each check is the Docker user's command line (as netctl) followed
# by what Docker 28 shows for it, or what netd does instead and why
# (docs/docker.md).
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host pnh
nd_start pnh || exit 1
t_ok "rootfs init" nd_rootfs pnh
ctl() { nd_ctl pnh "$@"; }

# --- --aux-address
# docker network create --subnet 10.74.0.0/29 --aux-address router=10.74.0.2 --aux-address printer=10.74.0.3 aux
t_ok "network create with two --aux-address" ctl network create --subnet 10.74.0.0/29 \
        --aux-address router=10.74.0.2 --aux-address printer=10.74.0.3 aux
# docker network inspect -f '{{json .IPAM.Config}}' aux
t_eq "inspect shows AuxiliaryAddresses" "$(ctl network inspect aux | jq -cS '.[0].IPAM.Config')" \
        '[{"AuxiliaryAddresses":{"printer":"10.74.0.3","router":"10.74.0.2"},"Gateway":"10.74.0.1","Subnet":"10.74.0.0/29"}]'
t_eq "an empty network: nothing in use" "$(ctl network inspect aux | jq '.[0].AddressesInUse')" "0"
# docker run --network aux (x3): .4 .5 .6, never an auxiliary address
for i in 1 2 3; do
        t_ok "run a$i on aux" ctl create --name "a$i" --network aux sleep 600
done
t_eq "dynamic addresses skip the auxiliary ones" \
        "$(for i in 1 2 3; do ctl inspect "a$i" | jq -r '.[0].Endpoints[0].IPAddress'; done | sort | tr '\n' ' ')" \
        "10.74.0.4 10.74.0.5 10.74.0.6 "
t_match "the subnet is full" "$(ctl create --network aux sleep 1 2>&1)" "no free|full|ENOSPC|exhausted"
t_match "--ip on an auxiliary address refused" "$(ctl create --network aux --ip 10.74.0.2 sleep 1 2>&1)" \
        "in use"
t_match "--aux-address outside the subnet refused" \
        "$(ctl network create --subnet 10.75.0.0/24 --aux-address r=10.75.1.2 aux2 2>&1)" "in no --subnet"
t_match "--aux-address outside the subnet refused (API)" \
        "$(nd_api pnh POST /v1/networks '{"Name":"aux2","IPAM":{"Config":[{"Subnet":"10.75.0.0/24","AuxiliaryAddresses":{"r":"10.75.1.2"}}]}}')" \
        "^400 .*is not inside subnet '10.75.0.0/24'"
t_match "--aux-address on the gateway refused" \
        "$(ctl network create --subnet 10.75.0.0/24 --aux-address r=10.75.0.1 aux2 2>&1)" "is the gateway"
t_match "--aux-address without NAME= refused" \
        "$(ctl network create --subnet 10.75.0.0/24 --aux-address 10.75.0.9 aux2 2>&1)" "want NAME=IP"
for i in 1 2 3; do ctl rm -f "a$i" >/dev/null; done
nd_settled pnh
# restart-safe: the record keeps them
nd_stop "$ND_PID"
nd_start pnh || exit 1
t_match "after a restart --ip on an auxiliary address is still refused" \
        "$(ctl create --network aux --ip 10.74.0.3 sleep 1 2>&1)" "in use"
t_ok "network rm aux" ctl network rm aux

# --- enable_icc=false: no traffic between the network's containers
# docker network create -o com.docker.network.bridge.enable_icc=false noicc
t_ok "network create noicc" ctl network create --subnet 10.76.0.0/24 \
        -o com.docker.network.bridge.enable_icc=false noicc
t_ok "network create icc (a normal one)" ctl network create --subnet 10.77.0.0/24 icc
# docker run -d --name i1 --network noicc busybox sleep 600; docker run -d --name i2 -p 8090:80 --network noicc busybox httpd ...
t_ok "run i1 on noicc" ctl run -d --name i1 --network noicc --ip 10.76.0.11 sleep 600
t_ok "run i2 on noicc (httpd, -p 8090:80)" ctl run -d --name i2 --network noicc --ip 10.76.0.12 -p 8090:80 \
        busybox httpd -f -p 80 -h /var/www
t_ok "run c1 on icc" ctl run -d --name c1 --network icc --ip 10.77.0.11 sleep 600
t_ok "run c2 on icc (httpd)" ctl run -d --name c2 --network icc --ip 10.77.0.12 busybox httpd -f -p 80 -h /var/www
# docker exec i1 ping i2 / wget http://i2
t_err "icc=false: ping between containers fails" nd_in pnh i1 ping -c 1 -W 1 10.76.0.12
t_err "icc=false: TCP between containers fails" nd_wget pnh i1 http://10.76.0.12/index.html
t_ok "icc=false: the gateway answers" nd_in pnh i1 ping -c 1 -W 2 10.76.0.1
t_eq "icc=false: names still resolve (DNS)" "$(nd_in pnh i1 nslookup i2 127.0.0.11 | awk '/^Address/ {a=$NF} END {print a}')" \
        "10.76.0.12"
t_eq "icc=false: the published port from the host" "$(nd_on pnh curl -s --max-time 5 http://127.0.0.1:8090/index.html)" \
        "hello from netd"
t_eq "icc=false: the published port from a neighbour (through the gateway)" \
        "$(nd_wget pnh i1 http://10.76.0.1:8090/index.html)" "hello from netd"
t_ok "a normal network: ping between containers" nd_in pnh c1 ping -c 1 -W 2 10.77.0.12
t_eq "a normal network: TCP between containers" "$(nd_wget pnh c1 http://10.77.0.12/index.html)" "hello from netd"
hif() { ctl inspect "$1" | jq -r '.[0].Endpoints[0].HostInterface'; }
t_eq "the ports of noicc (only) are in no_icc_ports" \
        "$(nd_on pnh nft -j list set bridge netd no_icc_ports | jq -r '[.nftables[].set.elem // empty | .[]] | sort | join(" ")')" \
        "$(printf '%s\n' "$(hif i1)" "$(hif i2)" | sort | tr '\n' ' ' | sed 's/ $//')"
t_match "enable_icc=maybe refused" "$(ctl network create -o com.docker.network.bridge.enable_icc=maybe x 2>&1)" \
        "want true or false"
ctl rm -f i1 i2 c1 c2 >/dev/null

# --- -P / --publish-all with --expose
# docker run -d --name pa -P --expose 80 --expose 5353/udp --network icc busybox httpd -f -p 80 -h /var/www
t_ok "run -P with two --expose" ctl run -d --name pa -P --expose 80 --expose 5353/udp --network icc \
        busybox httpd -f -p 80 -h /var/www
# docker port pa
t_match "port lists both exposed ports" "$(ctl port pa | sort)" \
        "^5353/udp -> 0\.0\.0\.0:[0-9]+
80/tcp -> 0\.0\.0\.0:[0-9]+$"
hp=$(ctl port pa 80/tcp | head -1 | sed 's/.*://')
t_ok "a host port of the ephemeral range (49153-60999)" test "$hp" -ge 49153 -a "$hp" -le 60999
t_eq "the exposed port answers on it" "$(nd_on pnh curl -s --max-time 5 "http://127.0.0.1:$hp/index.html")" \
        "hello from netd"
t_eq "inspect: ExposedPorts and PublishAllPorts" \
        "$(ctl inspect pa | jq -c '[.[0].Config.ExposedPorts, .[0].Config.PublishAllPorts]')" '[["80/tcp","5353/udp"],true]'
# docker run -d --name pb -P --expose 80 -p 8092:80 ...: -p wins for 80
t_ok "run -P with -p for the same port" ctl run -d --name pb -P --expose 80 -p 8092:80 --network icc sleep 600
t_eq "-p keeps its host port" "$(ctl port pb)" "80/tcp -> 0.0.0.0:8092"
# docker run --expose 80 (no -P): nothing published
t_ok "run --expose without -P" ctl run -d --name pc --expose 80 --network icc sleep 600
t_eq "--expose alone publishes nothing" "$(ctl inspect pc | jq -c '[.[0].PortBindings, .[0].Config.ExposedPorts]')" \
        '[[],["80/tcp"]]'
t_match "--expose with a host port refused" "$(ctl run -d --expose 8080:80 --network icc sleep 1 2>&1)" \
        "invalid exposed port '8080:80'"
ctl rm -f pa pb pc >/dev/null

# --- a stopped container gives back its dynamic addresses
addr() { ctl inspect "$1" | jq -r '.[0].Endpoints[0].IPAddress'; }
inuse() { ctl network inspect "$1" | jq '.[0].AddressesInUse'; }
# docker network create --subnet 10.78.0.0/24 rel
t_ok "network create rel" ctl network create --subnet 10.78.0.0/24 rel
# docker run -d --name d1 --network rel busybox sleep 600; docker run -d --name s1 --network rel --ip 10.78.0.50 ...
t_ok "run d1 (dynamic)" ctl run -d --name d1 --network rel sleep 600
t_ok "run s1 (--ip)" ctl run -d --name s1 --network rel --ip 10.78.0.50 sleep 600
d1_ip=$(addr d1)
t_eq "d1 got the first address" "$d1_ip" "10.78.0.2"
# the veth pairs of a stop go through the link reaper, off netd's loop
# (a synchronous delete would hold it for a grace period per link)
reaped() {
        curl -sf --unix-socket "$(nd_sock pnh)" http://netd/metrics |
                awk '$1 ~ /^netd_reaper_links_total/ { n += $2 } END { print n + 0 }'
}
reaped_before=$(reaped)
# docker stop d1 s1
t_ok "stop d1 and s1" ctl stop d1 s1
t_eq "stop d1: its pair deleted by the link reaper" "$(($(reaped) - reaped_before))" "1"
t_eq "stopped d1: no address in inspect (Docker's cleanOperationalData)" "$(addr d1)" ""
t_eq "stopped s1 keeps its --ip" "$(addr s1)" "10.78.0.50"
t_eq "only the static address is in use" "$(inuse rel)" "1"
t_match "the address records: only s1's" "$(ctl ipam ls rel)" "^ADDRESS +OWNER
10\.78\.0\.50 +[0-9a-f]+$"
t_eq "network inspect Containers: the stopped dynamic one is not there" \
        "$(ctl network inspect rel | jq -r '[.[0].Containers[].Name] | sort | join(" ")')" "s1"
t_err "d1's veth pair is gone" nd_on pnh ip link show "$(ctl inspect d1 | jq -r '.[0].Endpoints[0].HostInterface')"
# docker run -d --name t2 --network rel --ip 10.78.0.2: the address d1 gave back
t_ok "another container takes d1's old address" ctl run -d --name t2 --network rel --ip "$d1_ip" sleep 600
# docker start d1: a new address, wired, named
t_ok "start d1" ctl start d1
d1_new=$(addr d1)
t_match "d1 got a new address" "$d1_new" "^10\.78\.0\.[0-9]+$"
t_ok "not the one t2 holds" test "$d1_new" != "$d1_ip"
t_eq "its interface has it" "$(nd_in pnh d1 ip -4 -o addr show eth0 | awk '{print $4}')" "$d1_new/24"
t_eq "its MAC follows the address" "$(nd_in pnh d1 cat /sys/class/net/eth0/address)" \
        "$(printf '02:42:%02x:%02x:%02x:%02x' $(echo "$d1_new" | tr . ' '))"
t_ok "d1 reaches t2" nd_in pnh d1 ping -c 1 -W 2 "$d1_ip"
t_eq "t2 resolves d1 to its new address" \
        "$(nd_in pnh t2 nslookup d1 127.0.0.11 | awk '/^Address/ {a=$NF} END {print a}')" "$d1_new"
t_eq "d1's address record is back" "$(ctl ipam ls rel | grep -c "^$d1_new ")" "1"
t_ok "start s1: its --ip again" ctl start s1
t_eq "s1 on 10.78.0.50" "$(nd_in pnh s1 ip -4 -o addr show eth0 | awk '{print $4}')" "10.78.0.50/24"
# restart-safe: a netd restart with d1 stopped neither resurrects nor leaks its address
t_ok "stop d1 again" ctl stop d1
before=$(ctl ipam ls rel)
nd_stop "$ND_PID"
nd_start pnh || exit 1
t_eq "after a netd restart: the same address records" "$(ctl ipam ls rel)" "$before"
t_eq "after a netd restart: d1 still holds none" "$(addr d1)" ""
t_ok "d1 starts after the restart" ctl start d1
t_match "with an address" "$(addr d1)" "^10\.78\.0\.[0-9]+$"
t_ok "stop d1 (for the next checks)" ctl stop d1

# a start that fails gives them back too: its command is gone from its root
mkdir -p "$ND_TMP/pnroot/bin"
cp /bin/busybox "$ND_TMP/pnroot/bin/busybox"
ln -s busybox "$ND_TMP/pnroot/bin/sleep"
t_ok "run f1 with its own root" ctl run -d --name f1 --network rel --rootfs "$ND_TMP/pnroot" /bin/sleep 600
t_ok "stop f1" ctl stop f1
rm "$ND_TMP/pnroot/bin/sleep"
n_before=$(inuse rel)
t_err "start f1 fails (its command is gone)" ctl start f1
t_eq "the failed start holds no address" "$(addr f1)" ""
t_eq "and leaves the count as it was" "$(inuse rel)" "$n_before"

# docker network rm after docker stop: only stopped containers on it
t_ok "network create rmme" ctl network create --subnet 10.79.0.0/24 rmme
t_ok "run r1 on rmme" ctl run -d --name r1 --network rmme sleep 600
t_match "network rm while r1 runs: refused, naming it" "$(ctl network rm rmme 2>&1)" "in use by container 'r1'"
t_ok "stop r1" ctl stop r1
t_ok "network rm after stop" ctl network rm rmme
t_match "start r1 then says why it cannot" "$(ctl start r1 2>&1)" "network 'rmme' of container 'r1' not found"
ctl rm -f d1 s1 t2 f1 r1 >/dev/null

# --- -p without a host address: 0.0.0.0 and [::]
nd_host pnc
nd_wire pnh pnc 10.97.0 fd97:0:0:1
# docker network create --ipv6 --subnet 10.81.0.0/24 --subnet fd81::/64 ds
t_ok "network create ds (dual-stack)" ctl network create --ipv6 --subnet 10.81.0.0/24 --subnet fd81::/64 ds
# docker run -d --name w6 -p 8093:80 --network ds busybox httpd ...
t_ok "run w6 -p 8093:80 on ds" ctl run -d --name w6 --network ds -p 8093:80 busybox httpd -f -p 80 -h /var/www
t_ok "run w4 -p 8094:80 on rel (IPv4 only)" ctl run -d --name w4 --network rel -p 8094:80 \
        busybox httpd -f -p 80 -h /var/www
# docker port w6
t_eq "port: 0.0.0.0 and [::]" "$(ctl port w6)" "80/tcp -> 0.0.0.0:8093
80/tcp -> [::]:8093"
t_eq "port of an IPv4-only container: 0.0.0.0" "$(ctl port w4)" "80/tcp -> 0.0.0.0:8094"
# curl -6 http://[HOST]:8093 from another host
t_eq "IPv6 client: DNAT to the container's IPv6 address" \
        "$(nd_on pnc curl -6 -s --max-time 5 "http://[fd97:0:0:1::1]:8093/index.html")" "hello from netd"
t_eq "IPv4 client on the same port" "$(nd_on pnc curl -s --max-time 5 http://10.97.0.1:8093/index.html)" \
        "hello from netd"
# netd has no userland proxy: [::] of an IPv4-only container refuses at
# once, as Docker with --userland-proxy=false (docs/docker.md)
t_err "IPv6 client, IPv4-only container: refused" nd_on pnc curl -6 -s --max-time 5 "http://[fd97:0:0:1::1]:8094/"
t_eq "its IPv4 side works" "$(nd_on pnc curl -s --max-time 5 http://10.97.0.1:8094/index.html)" "hello from netd"
ctl rm -f w6 w4 >/dev/null
nd_done
