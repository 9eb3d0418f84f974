#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Where Docker users notice: each check is the Docker user's command line
# (as netctl) followed by what Docker 28 shows for it.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "network create front" nd_ctl h network create --subnet 10.71.0.0/24 front
t_ok "network create back" nd_ctl h network create --subnet 10.72.0.0/24 back
t_ok "network create aaa" nd_ctl h network create --subnet 10.73.0.0/24 aaa

# --- --network container:NAME shares resolv.conf, /etc/hosts and hostname
# docker run -d --name owner --network front --hostname owner-host --add-host db:10.9.9.9 busybox sleep 600
t_ok "run owner" nd_ctl h run -d --name owner --network front --hostname owner-host --add-host db:10.9.9.9 sleep 600
# docker run -d --name joiner --network container:owner busybox sleep 600
t_ok "run joiner in container:owner" nd_ctl h run -d --name joiner --network container:owner sleep 600
t_eq "container: mode: the owner's hostname" "$(nd_in h joiner hostname)" "owner-host"
t_eq "container: mode: the owner's /etc/hosts" "$(nd_in h joiner cat /etc/hosts)" "$(nd_in h owner cat /etc/hosts)"
t_eq "container: mode: the owner's resolv.conf" "$(nd_in h joiner cat /etc/resolv.conf)" \
        "$(nd_in h owner cat /etc/resolv.conf)"
t_ok "container: mode: the owner's name resolves" nd_in h joiner nslookup owner
# docker network connect back owner: the joiner's files follow
t_ok "connect the owner to back" nd_ctl h network connect back owner
t_eq "container: mode: /etc/hosts follows the owner" "$(nd_in h joiner cat /etc/hosts)" \
        "$(nd_in h owner cat /etc/hosts)"
t_ok "disconnect the owner from back" nd_ctl h network disconnect back owner
# docker run --network container:owner --hostname x: a conflict
t_match "container: mode with --hostname refused" \
        "$(nd_ctl h run -d --network container:owner --hostname x sleep 1 2>&1)" "conflicting options: hostname"
t_match "container: mode with --dns refused" \
        "$(nd_ctl h run -d --network container:owner --dns 10.0.0.1 sleep 1 2>&1)" "conflicting options: dns"
# docker run --network none --dns 10.1.2.3 --dns-search example.org --dns-option ndots:3
t_ok "run none with --dns" nd_ctl h run -d --name nonedns --network none --dns 10.1.2.3 \
        --dns-search example.org --dns-option ndots:3 sleep 600
t_eq "none: resolv.conf from --dns, --dns-search, --dns-option" "$(nd_in h nonedns cat /etc/resolv.conf)" \
        "nameserver 10.1.2.3
search example.org
options ndots:3"

# --- --add-host
# docker run --add-host db:10.9.9.9 --add-host v6:fd00::9 --add-host gw:host-gateway --network front
t_ok "run with --add-host" nd_ctl h run -d --name adder --network front --add-host db:10.9.9.9 \
        --add-host v6:fd00::9 --add-host "b6:[fd00::10]" --add-host gw:host-gateway sleep 600
hosts=$(nd_in h adder cat /etc/hosts)
t_match "--add-host IPv4 line" "$hosts" "10\.9\.9\.9	db"
t_match "--add-host IPv6 line" "$hosts" "fd00::9	v6"
t_match "--add-host bracketed IPv6" "$hosts" "fd00::10	b6"
t_match "--add-host host-gateway: the first network's gateway" "$hosts" "10\.71\.0\.1	gw"
t_match "--add-host in inspect" "$(nd_ctl h inspect adder | jq -c '.[0].Config.ExtraHosts')" '"gw:host-gateway"'
n_before=$(nd_ctl h ps -aq | wc -l)
t_match "--add-host without a colon refused" "$(nd_ctl h run -d --network front --add-host db sleep 1 2>&1)" \
        "invalid --add-host 'db': want NAME:IP"
t_match "--add-host with a bad IP refused" "$(nd_ctl h run -d --network front --add-host db:10.0.0.300 sleep 1 2>&1)" \
        "'10\.0\.0\.300' is not an IP address"
t_match "host-gateway without a network refused" "$(nd_ctl h run -d --add-host gw:host-gateway sleep 1 2>&1)" \
        "host-gateway needs a network"
t_eq "refused runs created nothing" "$(nd_ctl h ps -aq | wc -l)" "$n_before"
t_eq "refused runs hold no address" "$(nd_ctl h network inspect front | jq ".[0].AddressesInUse")" "2"

# --- --gw-priority and the default route
route() { nd_in h "$1" ip route | grep ^default; }
# docker run -d --name gw --network front busybox; docker network connect back gw; docker network connect aaa gw
t_ok "run gw on front" nd_ctl h run -d --name gw --network front sleep 600
t_ok "connect back" nd_ctl h network connect back gw
t_ok "connect aaa" nd_ctl h network connect aaa gw
t_eq "default route on the first network" "$(route gw)" "default via 10.71.0.1 dev eth0 "
# docker network disconnect front gw: the lowest name among equals, aaa
t_ok "disconnect front" nd_ctl h network disconnect front gw
t_eq "default route moved to the lowest name (aaa)" "$(route gw)" "default via 10.73.0.1 dev eth2 "
t_eq "inspect marks aaa" "$(nd_ctl h inspect gw | jq -r '.[0].Endpoints[] | select(.DefaultRoute) | .NetworkName')" "aaa"
# docker network connect --gw-priority 10 front gw: it takes the default route back
t_ok "connect front with --gw-priority 10" nd_ctl h network connect --gw-priority 10 front gw
t_match "default route back on front, the only one" "$(route gw)" "^default via 10\.71\.0\.1 dev eth[0-9] $"
t_eq "inspect shows GwPriority" "$(nd_ctl h inspect gw | jq -r '.[0].Endpoints[] | select(.NetworkName == "front") | .GwPriority')" "10"
# docker run --network back --gw-priority -5 ...; connect aaa: the higher priority wins at once
t_ok "run low on back with --gw-priority -5" nd_ctl h run -d --name low --network back --gw-priority -5 sleep 600
t_ok "connect aaa (priority 0 > -5)" nd_ctl h network connect aaa low
t_eq "default route on aaa" "$(route low)" "default via 10.73.0.1 dev eth1 "
t_ok "disconnect aaa" nd_ctl h network disconnect aaa low
t_eq "default route back on back" "$(route low)" "default via 10.72.0.1 dev eth0 "
t_match "bad --gw-priority refused" "$(nd_ctl h run -d --network front --gw-priority x sleep 1 2>&1)" \
        "invalid --gw-priority 'x'"

# --- network inspect --format
# docker network inspect --format '{{.Name}} {{.Driver}}' front aaa
t_eq "inspect --format fields, one line per network" "$(nd_ctl h network inspect --format '{{.Name}} {{.Driver}}' front aaa)" \
        "front bridge
aaa bridge"
t_eq "inspect --format {{.Id}}" "$(nd_ctl h network inspect -f '{{.Id}}' front)" \
        "$(nd_ctl h network inspect front | jq -r '.[0].Id')"
# docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' front
t_eq "inspect --format range over Containers" "$(nd_ctl h network inspect -f '{{range .Containers}}{{.Name}} {{end}}' front)" \
        "$(nd_ctl h network inspect front | jq -r '[.[0].Containers | to_entries | sort_by(.key)[] | .value.Name] | join(" ")') "
t_eq "Containers: an entry per container, Docker's fields" \
        "$(nd_ctl h network inspect front | jq -r --arg id "$(nd_ctl h inspect adder | jq -r '.[0].Id')" \
        '.[0].Containers[$id] | "\(.Name) \(.IPv4Address) \(.MacAddress) \(.EndpointID | length)"')" \
        "adder 10.71.0.3/24 02:42:0a:47:00:03 64"
t_eq "inspect --format {{json .IPAM}}" "$(nd_ctl h network inspect -f '{{json .IPAM}}' front | jq -c .Config)" \
        '[{"Subnet":"10.71.0.0/24","Gateway":"10.71.0.1"}]'
t_eq "inspect --format {{json .}}" "$(nd_ctl h network inspect -f '{{json .}}' front | jq -r .Name)" "front"
out=$(nd_ctl h network inspect -f '{{.Name}} {{if .Internal}}internal{{end}}' front aaa 2>&1)
t_eq "unsupported action: exit 2" "$?" "2"
t_eq "unsupported action: the message only" "$out" "netctl: unsupported template action '{{if .Internal}}'"
out=$(nd_ctl h network inspect -f '{{.Name}} {{.Labels.x}}' front 2>&1)
t_eq "a render error: exit 2, no partial output" "$?:$out" "2:netctl: template: no field 'x'"

# --- network rm names the containers; version names the store
# docker network rm back (gw and low are on it)
t_match "network rm in use names the containers" "$(nd_ctl h network rm back 2>&1)" \
        "network 'back' is in use by containers '(gw|low)', '(gw|low)' \(2 addresses\)"
t_ok "ipam alloc on aaa" nd_ctl h ipam alloc --owner test aaa
t_match "addresses without a container: the count" "$(nd_ctl h network rm aaa 2>&1)" "in use by container 'gw' \(2 addresses\)"
# docker version
t_match "version: local store" "$(nd_ctl h version)" "store local,"
if command -v etcd >/dev/null; then
        nd_underlay c1 || exit 1
        nd_etcd sw e1 10.99.0.254 || exit 1
        ND_ETCD_URL=etcd://10.99.0.254:2379
        nd_start_node c1 1 || exit 1
        t_match "version: the etcd store on a cluster" "$(nd_ctl c1 version)" "store etcd://10\.99\.0\.254:2379,"
else
        echo "# etcd not installed: the cluster's version line not checked"
fi

nd_done
