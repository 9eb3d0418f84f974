#!/bin/bash
# dockerd (Debian's docker.io) running its containers on netd through the
# network and IPAM plugin protocol: dockerd started by the test in netd's
# host namespace, with its own data, exec root and a private
# /run/docker/plugins holding netd's socket; a busybox image imported
# from a local tarball.  Networks with netd's IPAM (subnet, gateway,
# ip-range) and with Docker's own; two containers reaching each other;
# published ports through netd's nftables (from another host, clashing
# with a netd container's); netd restarted under running containers; and
# nothing left in netd or the kernel after docker network rm.
. "$ND_SRC/tests/integ/lib/netns.sh"
command -v dockerd >/dev/null || { echo "SKIP: dockerd (docker.io) not installed"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
[ -x /usr/bin/docker ] || ND_DOCKER_CLIENT=$(command -v docker)

nd_host h
nd_host c                                   # another host, for published ports
nd_wire h c 10.98.0
PSOCK=$ND_TMP/h/run/netd-plugin.sock
DHOST=$ND_TMP/dk-h/docker.sock
nd_start h --docker-plugin-socket "$PSOCK" --docker-host "$DHOST" || exit 1
NDPID=$ND_PID
D() { nd_docker h "$@"; }
nd_dockerd h "$PSOCK" || exit 1
t_ok "a busybox image imported from a local tarball" nd_docker_image h

# ---- a network with netd's IPAM ----
t_ok "docker network create -d netd --ipam-driver netd" \
        D network create -d netd --ipam-driver netd --subnet 10.83.0.0/24 --gateway 10.83.0.254 \
        --ip-range 10.83.0.128/25 -o com.docker.network.driver.mtu=1400 dn
DNID=$(D network inspect dn -f '{{.Id}}')
NN=docker-${DNID:0:12}
t_eq "netd has it as $NN: subnet, gateway, range" \
        "$(nd_ctl h network inspect "$NN" | jq -r '.[0].IPAM.Config[0] | "\(.Subnet) \(.Gateway) \(.IPRange)"')" \
        "10.83.0.0/24 10.83.0.254 10.83.0.128/25"
t_eq "labelled with Docker's network id" \
        "$(nd_ctl h network inspect "$NN" | jq -r '.[0].Labels["com.docker.network.id"]')" "$DNID"
NNID=$(nd_ctl h network inspect "$NN" | jq -r '.[0].Id')
BR=nd-${NNID:0:12}
t_match "its bridge carries the gateway and the MTU" "$(ip -n "${ND_NSP}-h" addr show "$BR")" "mtu 1400.*10\.83\.0\.254/24"
t_eq "GET /v1/docker lists the pool, bound to the network" \
        "$(nd_api h GET /v1/docker | cut -d' ' -f2- | jq -r '.Pools[] | "\(.Pool) \(.SubPool) \(.Network)"')" \
        "10.83.0.0/24 10.83.0.128/25 $NN"
t_match "an overlapping Docker pool is refused, naming the netd network" \
        "$(D network create -d netd --ipam-driver netd --subnet 10.83.0.0/16 dn-bad 2>&1)" "overlaps.*$NN"
t_match "a netd network cannot take the subnet either" \
        "$(nd_ctl h network create --subnet 10.83.0.0/25 clash 2>&1)" "overlaps"
t_match "an auxiliary address is refused with a reason" \
        "$(D network create -d netd --ipam-driver netd --subnet 10.84.0.0/24 --aux-address r=10.84.0.9 dn-aux 2>&1)" \
        "aux-address"
t_eq "and leaves no pool behind" "$(nd_api h GET /v1/docker | cut -d' ' -f2- | jq '.Pools | length')" "1"

t_ok "docker run web (httpd, -p 8088:80) on it" \
        D run -d --name web --network dn -p 8088:80 bb:test httpd -f -p 80 -h /var/www
t_ok "docker run cli on it (alias client)" D run -d --name cli --network dn --network-alias client bb:test sleep 600
A=$(D inspect web -f '{{.NetworkSettings.Networks.dn.IPAddress}}')
B=$(D inspect cli -f '{{.NetworkSettings.Networks.dn.IPAddress}}')
t_match "web's address comes from netd, inside the ip-range" "$A" '^10\.83\.0\.(12[89]|1[3-9][0-9]|2[0-5][0-9])$'
t_eq "netd's IPAM holds both for the pool" \
        "$(nd_ctl h ipam ls "$NN" 2>/dev/null | grep -c 'docker-pool:')" "2"
t_match "web has eth0 with that address and netd's MAC scheme" "$(D exec web ip addr show eth0)" \
        "mtu 1400.*02:42:0a:53:00.*inet $A/24"
t_match "web's default route is netd's gateway" "$(D exec web ip route)" "default via 10\.83\.0\.254 dev eth0"
t_eq "cli reaches web (HTTP)" "$(D exec cli wget -q -O- "http://$A/index.html")" "hello from netd"
t_ok "web pings cli" D exec web ping -c 1 -W 2 "$B"
t_eq "cli reaches web by name (dockerd's own DNS)" "$(D exec cli wget -q -O- http://web/index.html)" "hello from netd"
nd_rootfs h
t_ok "a netd container on the Docker network" nd_ctl h run -d --name probe --network "$NN" sleep 600
t_ok "netd learnt the Docker containers' names from dockerd" nd_eventually 5 sh -c \
        "NETD_SOCKET=$(nd_sock h) $NETCTL exec probe nslookup web 127.0.0.11 | grep -q '$A'"
t_eq "the netd container resolves cli's alias through netd's DNS" \
        "$(nd_in h probe nslookup client 127.0.0.11 | awk '/^Address: / {print $2}' | tail -1)" "$B"
t_eq "and fetches web's page by name" "$(nd_wget h probe http://web/index.html)" "hello from netd"
t_match "GET /v1/docker shows the names" "$(nd_api h GET /v1/docker | cut -d' ' -f2- | jq -r '[.Endpoints[].Name] | sort | join(" ")')" \
        "cli web"
t_eq "the host ends are on netd's bridge" "$(ip -n "${ND_NSP}-h" -o link show master "$BR" | grep -c vdk)" "2"

get() { nd_on "$1" curl -sf -m 3 "$2"; }
t_eq "the published port from another host" "$(get c http://10.98.0.1:8088/index.html)" "hello from netd"
t_eq "and from the host itself" "$(get h http://127.0.0.1:8088/index.html)" "hello from netd"
t_match "netd's nftables map has it" "$(nd_on h nft list table inet netd)" "8088 : 10\.83\.0\.[0-9]+ \. 80"
t_match "EndpointOperInfo shows the binding" \
        "$(curl -s --unix-socket "$PSOCK" -d "{\"NetworkID\":\"$DNID\",\"EndpointID\":\"$(D inspect web -f '{{.NetworkSettings.Networks.dn.EndpointID}}')\"}" http://p/NetworkDriver.EndpointOperInfo)" \
        '"HostPort":8088'
nd_ctl h rootfs init >/dev/null
t_ok "a netd network for a netd container" nd_ctl h network create --subnet 10.85.0.0/24 nn
t_match "a netd container cannot take Docker's host port" \
        "$(nd_ctl h run -d --name n1 --network nn -p 8088:80 sleep 60 2>&1)" "already published by Docker endpoint"
nd_ctl h rm -f n1 >/dev/null 2>&1
t_ok "a netd container publishing 8089" nd_ctl h run -d --name n2 --network nn -p 8089:80 sleep 600
t_match "a Docker container cannot take the netd container's port" \
        "$(D run -d --name clash --network dn -p 8089:80 bb:test sleep 60 2>&1)" "already published by container 'n2'"
D rm -f clash >/dev/null 2>&1
t_eq "-P: a dynamic host port" "$(D run -d --name dyn --network dn --expose 80 -P bb:test httpd -f -p 80 -h /var/www >/dev/null &&
        nd_api h GET /v1/docker | cut -d' ' -f2- | jq '[.Endpoints[].PortBindings[] | select(.HostPort >= 49153)] | length')" "1"
t_ok "docker rm -f dyn" D rm -f dyn

# ---- netd restarts under running containers ----
t_ok "netd stops cleanly" nd_stop "$NDPID"
nd_start h --docker-plugin-socket "$PSOCK" --docker-host "$DHOST" || exit 1
NDPID=$ND_PID
t_match "it reloads the pool and the endpoints" "$(grep 'Docker plugin state loaded' "$ND_TMP/h/netd.log" | tail -1)" \
        "pools=1 endpoints=2"
t_eq "the published port works again" "$(get c http://10.98.0.1:8088/index.html)" "hello from netd"
t_eq "cli still reaches web" "$(D exec cli wget -q -O- "http://$A/index.html")" "hello from netd"
t_eq "web's name still resolves in netd's DNS" "$(nd_in h probe nslookup web 127.0.0.11 | awk '/^Address: / {print $2}' | tail -1)" "$A"
t_ok "docker run third after the restart" D run -d --name third --network dn bb:test sleep 600
t_match "third gets a fresh address" "$(D inspect third -f '{{.NetworkSettings.Networks.dn.IPAddress}}')" '^10\.83\.0\.'
t_ne() { [ "$2" != "$3" ] && t_pass "$1" || t_fail "$1: both '$2'"; }
t_ne "not web's" "$(D inspect third -f '{{.NetworkSettings.Networks.dn.IPAddress}}')" "$A"

# ---- Docker's own IPAM on a netd network ----
t_ok "docker network create -d netd (Docker's IPAM)" D network create -d netd --subnet 10.86.0.0/24 dd
DDNN=docker-$(D network inspect dd -f '{{.Id}}' | cut -c1-12)
t_ok "docker run ext on it" D run -d --name ext --network dd bb:test sleep 600
E=$(D inspect ext -f '{{.NetworkSettings.Networks.dd.IPAddress}}')
t_match "netd reserved Docker's address for the endpoint" "$(nd_ctl h ipam ls "$DDNN" 2>/dev/null)" "$E.*docker:"
t_ok "ext reaches its gateway (netd's bridge)" D exec ext ping -c 1 -W 2 10.86.0.1
t_ok "docker network connect cli dd" D network connect dd cli
t_ok "cli reaches ext on the second network" D exec cli ping -c 1 -W 2 "$E"
t_ok "docker network disconnect dd cli" D network disconnect dd cli

# ---- netd's IPAM choosing the subnet; dual stack; internal ----
t_ok "a pool netd picks, with IPv6" D network create -d netd --ipam-driver netd --ipv6 --subnet fd87::/64 d6
D6NN=docker-$(D network inspect d6 -f '{{.Id}}' | cut -c1-12)
S6=$(nd_ctl h network inspect "$D6NN" | jq -r '.[0].IPAM.Config[] | select(.Subnet | contains(".")) | .Subnet')
t_match "the IPv4 subnet comes from netd's default pools" "$S6" '^(172|192\.168|10)\.'
t_eq "docker inspect agrees" "$(D network inspect d6 -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}')" "$S6 fd87::/64 "
t_ok "docker run six on it" D run -d --name six --network d6 bb:test sleep 600
t_match "six has an IPv6 address from netd" "$(D exec six ip -6 addr show eth0)" "inet6 fd87::[0-9a-f:]+/64"
t_match "and netd's IPv6 gateway as its default route" "$(D exec six ip -6 route)" "default via fd87::1 dev eth0"
t_ok "six reaches the IPv6 gateway" D exec six ping -c 1 -W 2 fd87::1
t_ok "an internal network" D network create -d netd --ipam-driver netd --internal --subnet 10.88.0.0/24 din
t_ok "docker run in on it" D run -d --name inner --network din bb:test sleep 600
t_eq "no default route out of an internal network" "$(D exec inner ip route | grep -c default)" "0"
t_match "netd has it as an internal network" \
        "$(nd_ctl h network inspect "docker-$(D network inspect din -f '{{.Id}}' | cut -c1-12)" | jq -r '.[0].Internal')" "true"
six_gone() { D rm -f six inner >/dev/null && D network rm d6 din >/dev/null; }
t_ok "docker rm -f six inner; network rm d6 din" six_gone

# ---- teardown leaves nothing ----
t_ok "docker rm -f web cli third ext" D rm -f web cli third ext
t_err "web's name is gone from netd's DNS" sh -c "NETD_SOCKET=$(nd_sock h) $NETCTL exec probe nslookup web 127.0.0.11"
nd_ctl h rm -f probe >/dev/null
t_eq "no endpoints left" "$(nd_api h GET /v1/docker | cut -d' ' -f2- | jq '.Endpoints | length')" "0"
t_eq "no host ends left" "$(ip -n "${ND_NSP}-h" -o link show | grep -c -e vdk -e tdk)" "0"
t_eq "the port is released" "$(nd_on h nft list table inet netd | grep -c 8088)" "0"
t_ok "docker network rm dn dd" D network rm dn dd
t_eq "netd's networks are gone" "$(nd_ctl h network ls | grep -c docker-)" "0"
t_err "and the bridge" ip -n "${ND_NSP}-h" link show "$BR"
t_eq "no pools, no endpoints in netd's store" \
        "$(nd_api h GET /v1/docker | cut -d' ' -f2- | jq -c '[(.Pools | length), (.Endpoints | length)]')" "[0,0]"
t_ok "the subnet is free for netd again" nd_ctl h network create --subnet 10.83.0.0/24 again

# ---- the protocol's edges ----
P() { curl -s --unix-socket "$PSOCK" -X POST "$@"; }
t_eq "Plugin.Activate" "$(P http://p/Plugin.Activate | jq -c .Implements)" '["NetworkDriver","IpamDriver"]'
t_eq "malformed JSON: an Err" "$(P -d '{"PoolID":' http://p/IpamDriver.RequestPool | jq -r '.Err | length > 0')" "true"
t_eq "an unknown method: 404 with an Err" "$(P -o /dev/null -w '%{http_code}' http://p/NetworkDriver.Frobnicate)" "404"
t_match "a bad CIDR: an Err" "$(P -d '{"Pool":"10.1.2.3/33"}' http://p/IpamDriver.RequestPool)" '"Err":'
t_match "an unknown pool: an Err" "$(P -d '{"PoolID":"np-nope","Address":""}' http://p/IpamDriver.RequestAddress)" \
        "unknown pool"
t_eq "IPv6 without a subnet: an Err" \
        "$(P -d '{"V6":true}' http://p/IpamDriver.RequestPool | jq -r '.Err' | grep -c 'IPv6')" "1"
t_eq "DeleteEndpoint of an unknown endpoint is idempotent" \
        "$(P -d '{"NetworkID":"ab","EndpointID":"cd"}' http://p/NetworkDriver.DeleteEndpoint)" "{}"
t_ok "netd still serves" nd_ctl h network ls

nd_dockerd_stop h
nd_ctl h rm -f n2 >/dev/null 2>&1
t_ok "netd stops cleanly" nd_stop "$NDPID"
nd_done
