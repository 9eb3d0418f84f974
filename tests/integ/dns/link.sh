#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docker run --link NAME:ALIAS on a user-defined network: the alias
# resolves through the embedded DNS for the container that declared the
# link, and for nobody else (Docker's links are per-container aliases).
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dig >/dev/null || { echo "SKIP: dig missing"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "network create front" nd_ctl h network create --subnet 10.75.0.0/24 front
t_ok "run db" nd_ctl h run -d --name db --network front sleep 600
DB=$(nd_ctl h inspect db | jq -r '.[0].Endpoints[0].IPAddress')
# docker run -d --name app --network front --link db:data busybox sleep 600
t_ok "run app --link db:data" nd_ctl h run -d --name app --network front --link db:data sleep 600
t_ok "run other (no link)" nd_ctl h run -d --name other --network front sleep 600

dig_in() { local ct=$1; shift; nd_ctns h "$ct" dig +time=3 +tries=1 @127.0.0.11 "$@"; }
t_eq "the alias resolves for the linking container" "$(dig_in app +short data)" "$DB"
t_eq "over TCP too" "$(dig_in app +short +tcp data)" "$DB"
t_eq "its name too" "$(dig_in app +short db)" "$DB"
t_eq "nslookup (busybox) finds the alias" \
        "$(nd_in h app nslookup data 127.0.0.11 | awk '/^Address: / {print $2}' | tail -1)" "$DB"
t_match "the alias is not another container's name" "$(dig_in other data)" "status: (SERVFAIL|NXDOMAIN)"
t_eq "other still resolves db by name" "$(dig_in other +short db)" "$DB"

# the alias survives a restart of netd
nd_stop "$ND_PID"
nd_start h || exit 1
t_ok "resolver back after a restart" nd_eventually 5 nd_ctns h app dig +time=1 +tries=1 +short @127.0.0.11 db
t_eq "the alias after a restart" "$(dig_in app +short data)" "$DB"

# the alias follows the name: db again at another address
t_ok "rm db" nd_ctl h rm -f db
t_ok "run db again at another address" nd_ctl h run -d --name db --network front --ip 10.75.0.99 sleep 600
t_eq "the alias answers the new address" "$(dig_in app +short data)" "10.75.0.99"
t_ok "stop and remove" nd_ctl h rm -f db app other
nd_done
