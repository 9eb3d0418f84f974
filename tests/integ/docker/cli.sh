#!/bin/bash
# Docker's network API on netd's --docker-api-socket, driven by the stock
# docker client (Debian's docker.io when installed): create (with IPAM,
# labels, internal, IPv6), duplicate names, ls with filters, inspect with
# connected containers, connect/disconnect, rm refused while in use, prune,
# version negotiation, the /v1.NN prefix, and clear refusals of what netd
# does not do.
. "$ND_SRC/tests/integ/lib/netns.sh"

DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker) || { echo "SKIP: no docker client"; exit 77; }
nd_host h
SOCK=$ND_TMP/h/run/docker.sock
nd_start h --docker-api-socket "$SOCK" || exit 1
NDPID=$ND_PID
nd_rootfs h
D() { "$DOCKER" -H "unix://$SOCK" "$@"; }
dapi() { curl -s --unix-socket "$SOCK" "$@"; }

t_match "docker version talks to netd" "$(D version 2>&1)" "netd"
t_eq "_ping answers OK with an API version" "$(dapi -i http://d/_ping | tr -d '\r' | grep -i -e '^Api-Version' -e '^OK')" \
        "$(printf 'Api-Version: 1.41\nOK')"
t_ok "docker network create with subnet, gateway, range, label" \
        D network create --subnet 10.77.0.0/24 --gateway 10.77.0.254 --ip-range 10.77.0.128/25 --label tier=web front
t_ok "an internal dual-stack network" D network create --internal --ipv6 --subnet 10.78.0.0/24 --subnet fd78::/64 back
t_match "a duplicate name is refused as dockerd does" "$(D network create front 2>&1)" "network with name front already exists"
t_err "and the client exits non-zero" D network create front
t_eq "ls lists both" "$(D network ls --format '{{.Name}} {{.Driver}} {{.Scope}}' | sort | tr '\n' ';')" \
        "back bridge local;front bridge local;"
t_eq "ls --filter label" "$(D network ls -q --filter label=tier=web | wc -l)" "1"
t_eq "ls --filter name" "$(D network ls --format '{{.Name}}' --filter name=bac)" "back"
t_eq "ls --filter driver=overlay" "$(D network ls -q --filter driver=overlay | wc -l)" "0"
t_eq "inspect: subnet, gateway, range" \
        "$(D network inspect front -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}}')" \
        "10.77.0.0/24 10.77.0.254 10.77.0.128/25"
t_eq "inspect: internal and IPv6" "$(D network inspect back -f '{{.Internal}} {{.EnableIPv6}}')" "true true"
t_eq "inspect by id prefix" "$(D network inspect "$(D network ls -q --filter name=front)" -f '{{.Name}}')" "front"

t_ok "a netd container" nd_ctl h run -d --name w --network back sleep 600
t_eq "ls --filter dangling=false: the network in use" "$(D network ls --format '{{.Name}}' --filter dangling=false)" "back"
t_eq "ls --filter dangling=true: the unused one" "$(D network ls --format '{{.Name}}' --filter dangling=true)" "front"
t_ok "docker network connect with --ip and --alias" D network connect --ip 10.77.0.9 --alias web front w
t_eq "inspect shows the container with its address" \
        "$(D network inspect front -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}')" "w 10.77.0.9/24"
t_match "the container has the interface" "$(nd_in h w ip -4 addr show)" "10.77.0.9/24"
t_match "rm is refused while in use" "$(D network rm front 2>&1)" "in use"
t_ok "docker network disconnect" D network disconnect front w
t_eq "gone from inspect" "$(D network inspect front -f '{{len .Containers}}')" "0"
t_ok "docker network rm" D network rm front
t_match "an unknown network: 404, which the client reports" "$(D network inspect nosuch 2>&1)" "(network nosuch not found|No such network: nosuch)"

t_ok "two unused networks" sh -c "$DOCKER -H unix://$SOCK network create p1 && $DOCKER -H unix://$SOCK network create --label keep=1 p2"
t_eq "prune with a label filter removes only matching unused networks" \
        "$(D network prune -f --filter label=keep=1 | grep -c p2)" "1"
t_eq "prune removes unused networks, never one in use" "$(D network prune -f | grep -c -e p1 -e back)" "1"
t_eq "back (in use by w) is still there" "$(D network ls --format '{{.Name}}')" "back"

t_match "an overlay network without a cluster store is refused clearly" \
        "$(D network create -d overlay ov 2>&1)" "need a cluster store"
t_ok "docker network create --aux-address" D network create --subnet 10.79.0.0/24 --aux-address a=10.79.0.5 aux
t_eq "docker network inspect shows the auxiliary address" \
        "$(D network inspect -f '{{json .IPAM.Config}}' aux | jq -c '.[0].AuxiliaryAddresses')" '{"a":"10.79.0.5"}'
t_match "an auxiliary address outside the subnet is refused (the API, past the CLI's check)" \
        "$(dapi -X POST -H 'Content-Type: application/json' http://d/networks/create \
        -d '{"Name":"aux2","IPAM":{"Config":[{"Subnet":"10.78.0.0/24","AuxiliaryAddresses":{"a":"10.9.0.5"}}]}}')" \
        "not inside subnet"
t_ok "docker network rm aux" D network rm aux
t_match "an IPAM driver other than default is refused" \
        "$(D network create --ipam-driver dhcp dh 2>&1)" "not supported by netd"
t_match "anything but networks: a clear 'not supported'" "$(D ps 2>&1)" "not supported by netd"
t_eq "the /v1.NN prefix is optional" "$(dapi http://d/v1.41/networks | jq length) $(dapi http://d/networks | jq length)" "1 1"
t_eq "a malformed body gets 400" "$(dapi -o /dev/null -w '%{http_code}' -X POST -d '{' http://d/networks/create)" "400"
t_eq "bad filters get 400" "$(dapi -o /dev/null -w '%{http_code}' 'http://d/networks?filters=%7Bnope')" "400"
t_eq "the /v1 API sees the same networks" "$(nd_ctl h network ls --format json | jq -r '.[].Name')" "back"
t_ok "netd stops cleanly" nd_stop "$NDPID"
t_err "and removes the Docker API socket" test -e "$SOCK"
nd_done
