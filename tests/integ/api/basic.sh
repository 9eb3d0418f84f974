#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The API and CLI on one host: create/ls/inspect/rm, conflicts, bad
# requests answered 4xx, automatic subnets that avoid the host's routes,
# the pid lock, and a client without a daemon.
. "$(dirname "$0")/../lib/netns.sh"

nd_host h
# The host already uses 172.17.0.0/16 (like docker0 would): automatic
# subnets must skip it.
ip -n "${ND_NSP}-h" addr add 172.17.0.1/16 dev lo
nd_start h || exit 1

t_match "version" "$(nd_ctl h version)" "Server: netd [0-9.]+ \(api 1, store local"
id=$(nd_ctl h network create front)
t_match "create prints a 64-hex id" "$id" "^[0-9a-f]{64}$"
t_eq "auto subnet skips the host's 172.17/16" \
        "$(nd_ctl h network inspect front | jq -r '.[0].IPAM.Config[0].Subnet')" "172.18.0.0/16"
t_eq "gateway is the first host" "$(nd_ctl h network inspect front | jq -r '.[0].IPAM.Config[0].Gateway')" "172.18.0.1"
t_ok "create with subnet, gateway, range, options, labels" nd_ctl h network create --subnet 10.20.0.0/24 \
        --gateway 10.20.0.254 --ip-range 10.20.0.128/25 -o mtu=1400 --label tier=db --internal back
t_ok "create dual-stack" nd_ctl h network create --ipv6 --subnet fd00:20::/64 --subnet 10.21.0.0/24 dual
j=$(nd_ctl h network inspect back)
t_eq "inspect: gateway" "$(jq -r '.[0].IPAM.Config[0].Gateway' <<<"$j")" "10.20.0.254"
t_eq "inspect: ip-range" "$(jq -r '.[0].IPAM.Config[0].IPRange' <<<"$j")" "10.20.0.128/25"
t_eq "inspect: internal, option, label" "$(jq -r '.[0] | "\(.Internal) \(.Options.mtu) \(.Labels.tier)"' <<<"$j")" \
        "true 1400 db"
t_eq "inspect: dual-stack subnets in the order given" \
        "$(nd_ctl h network inspect dual | jq -r '.[0] | "\(.EnableIPv6) \(.IPAM.Config[0].Subnet) \(.IPAM.Config[1].Subnet)"')" \
        "true fd00:20::/64 10.21.0.0/24"
t_ok "IPv6-only request still gets an automatic IPv4 subnet" nd_ctl h network create --ipv6 --subnet fd00:22::/64 v6only
t_eq "automatic IPv4 subnet comes first" \
        "$(nd_ctl h network inspect v6only | jq -r '.[0].IPAM.Config | map(.Subnet) | join(" ")')" "172.19.0.0/16 fd00:22::/64"
t_ok "rm v6only" nd_ctl h network rm v6only
t_eq "inspect by unique id prefix" "$(nd_ctl h network inspect "${id:0:5}" | jq -r '.[0].Name')" "front"
t_eq "ls lists three" "$(nd_ctl h network ls -q | wc -l)" "3"
t_eq "ls --format json" "$(nd_ctl h network ls --format json | jq -r 'map(.Name) | sort | join(",")')" "back,dual,front"
t_match "ls table header" "$(nd_ctl h network ls | head -1)" "^NETWORK ID +NAME +DRIVER +SCOPE +SUBNETS"

# conflicts: 409 with a message naming the other network
out=$(nd_ctl h network create --subnet 10.20.0.0/16 clash 2>&1)
t_eq "overlapping subnet refused (exit 1)" "$?" "1"
t_match "message names the conflicting network" "$out" "overlaps subnet '10.20.0.0/24' of network 'back'"
t_match "duplicate name refused" "$(nd_ctl h network create front 2>&1)" "network with name 'front' already exists"
t_eq "no half-written network after refusals" "$(nd_ctl h network ls -q | wc -l)" "3"

# bad requests through the raw API
r=$(nd_api h POST /v1/networks '{"Name": ')
t_match "malformed JSON -> 400" "$r" '^400 \{"message":"malformed JSON'
r=$(nd_api h POST /v1/networks '{"Name": "x", "Internal": "yes"}')
t_match "wrong type -> 400" "$r" "^400 .*'Internal' must be true or false"
r=$(nd_api h POST /v1/networks '{"Name": "x", "IPAM": {"Config": [{"Subnet": "10.0.0.0/33"}]}}')
t_match "bad CIDR -> 400" "$r" "^400 .*prefix length out of range"
r=$(nd_api h POST /v1/networks '{"Name": "x", "IPAM": {"Config": [{"Subnet": "10.99.0.0/24", "Gateway": "10.98.0.1"}]}}')
t_match "gateway outside subnet -> 400" "$r" "^400 .*not inside subnet"
r=$(nd_api h POST /v1/networks '{"Name": "x", "IPAM": {"Config": [{"Subnet": "10.20.0.0/25"}]}}')
t_match "overlap -> 409" "$r" "^409 "
head -c 2000000 /dev/zero | tr '\0' ' ' >"$ND_TMP/big.json"
r=$(nd_api h POST /v1/networks "@$ND_TMP/big.json")
t_match "oversized body -> 413" "$r" "^413 .*too large"
r=$(nd_api h GET /v1/networks/nosuchnet)
t_match "unknown network -> 404" "$r" "^404 .*'nosuchnet' not found"
r=$(nd_api h DELETE /v1/networks/nosuchnet)
t_match "rm unknown -> 404" "$r" "^404 "
r=$(nd_api h GET /v1/bogus)
t_match "unknown route -> 404" "$r" "^404 "
r=$(nd_api h PUT /v1/networks '{}')
t_match "wrong method -> 405" "$r" "^405 "
t_eq "daemon survived all of it" "$(nd_ctl h network ls -q | wc -l)" "3"

# addresses
a1=$(nd_ctl h ipam alloc --owner test back)
t_eq "dynamic address comes from the ip-range" "$a1" "10.20.0.128"
t_eq "static address outside the range" "$(nd_ctl h ipam alloc --ip 10.20.0.5 back)" "10.20.0.5"
t_match "static address in use -> clear error" "$(nd_ctl h ipam alloc --ip 10.20.0.5 back 2>&1)" "already in use"
t_match "gateway cannot be taken" "$(nd_ctl h ipam alloc --ip 10.20.0.254 back 2>&1)" "already in use"
t_match "address outside every subnet" "$(nd_ctl h ipam alloc --ip 10.99.0.5 back 2>&1)" "not in any subnet"
t_eq "IPv6 dynamic" "$(nd_ctl h ipam alloc --ipv6 dual)" "fd00:20::2"
t_match "IPv6 on an IPv4-only network" "$(nd_ctl h ipam alloc --ipv6 back 2>&1)" "has no IPv6 subnet"
t_eq "ipam ls" "$(nd_ctl h ipam ls back | tail -n +2 | awk '{print $1"/"$2}' | sort | tr '\n' ' ')" "10.20.0.128/test 10.20.0.5/ "
t_match "rm with addresses in use refused" "$(nd_ctl h network rm back 2>&1)" "2 addresses in use"
t_ok "release" nd_ctl h ipam release back 10.20.0.5
t_err "release twice" nd_ctl h ipam release back 10.20.0.5
t_ok "release the other" nd_ctl h ipam release back 10.20.0.128
t_ok "release v6" nd_ctl h ipam release dual fd00:20::2

t_eq "rm several" "$(nd_ctl h network rm back dual | tr '\n' ' ')" "back dual "
t_err "rm unknown exits 1" nd_ctl h network rm back
t_eq "one left" "$(nd_ctl h network ls -q | wc -l)" "1"

# every subcommand has real help
for c in "" "network" "network create" "network ls" "network inspect" "network rm" "ipam" "version"; do
        # shellcheck disable=SC2086
        t_match "netctl $c --help" "$("$NETCTL" $c --help)" "Usage: netctl"
done
t_match "netd --version" "$("$NETD" --version)" "^netd [0-9]"
t_match "netd --help" "$("$NETD" --help)" "--state-dir"

# a second daemon on the same run dir is refused
out=$(ip netns exec "${ND_NSP}-h" "$NETD" --state-dir "$ND_TMP/h/state2" --run-dir "$ND_TMP/h/run" 2>&1)
t_eq "second daemon exits 1" "$?" "1"
t_match "second daemon says why" "$out" "another netd \(pid $ND_PID\) is already running"
# ... and so is a second daemon on the same store
out=$(ip netns exec "${ND_NSP}-h" "$NETD" --state-dir "$ND_TMP/h/state" --run-dir "$ND_TMP/h/run2" 2>&1)
t_match "second daemon on the same store refused" "$out" "store is in use by another netd"

# clean shutdown, then a client with no daemon gets one clear line
t_ok "SIGTERM: clean exit" nd_stop "$ND_PID"
t_ok "socket removed on exit" test ! -e "$(nd_sock h)"
out=$(nd_ctl h network ls 2>&1)
t_eq "client without daemon exits 1" "$?" "1"
t_eq "client without daemon: one line" "$out" "netctl: cannot connect to netd at $(nd_sock h): is the daemon running?"
nd_done
