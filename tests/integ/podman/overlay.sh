#!/bin/bash
# Podman (Debian's 4.3, netavark backend) on netd's overlay across hosts:
# two netd hosts on one underlay switch with etcd; on h2 a netd container
# on overlay network ov, on h1 Podman pointed at h1's netd through
# netd-netavark with a Podman network labelled netd.network=ov.  The
# Podman container reaches h2's container by name (netd's resolver), h2's
# container resolves the Podman container's name, and after podman rm the
# name is gone on h2 while the overlay stays.
. "$ND_SRC/tests/integ/lib/netns.sh"
command -v etcd >/dev/null || { echo "SKIP: etcd not installed"; exit 77; }
command -v podman >/dev/null || { echo "SKIP: podman not installed"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_underlay h1 h2
nd_etcd sw e1 10.99.0.254 || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
nd_start_node h1 1 --node-ttl 3 || exit 1
PID1=$ND_PID
nd_start_node h2 2 --node-ttl 3 || exit 1
PID2=$ND_PID
nd_rootfs h2

. "$(dirname "$0")/lib.sh"
pm_setup h1
n2() { NETD_SOCKET=$(nd_sock h2) "$NETCTL" "$@"; }

t_ok "an overlay network" nd_ctl h1 network create -d overlay --subnet 10.63.0.0/24 ov
t_ok "h2 has it" nd_eventually 3 n2 network inspect ov
t_ok "a netd container on h2" n2 run -d --name peer --network ov busybox httpd -f -p 80 -h /var/www
PEER=$(n2 inspect peer | jq -r '.[0].Endpoints[0].IPAddress')

pm_image
t_ok "podman network create pov --label netd.network=ov (h1)" P network create --label netd.network=ov pov
t_ok "podman run pa on pov (h1)" P run -d --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name pa \
        --network pov localhost/busybox:test httpd -f -p 80 -h /var/www
PA=$(P inspect pa --format '{{.NetworkSettings.Networks.pov.IPAddress}}')
t_match "pa has an address of the overlay, from h1's block" "$PA" '^10\.63\.0\.[0-9]+$'
t_eq "h1's netd made no network for pov" "$(nd_api h1 GET /v1/networks/pov | cut -d' ' -f1)" "404"
t_match "pa's resolv.conf points at netd's resolver" "$(P exec pa cat /etc/resolv.conf)" "nameserver 127.0.0.11"
t_eq "pa resolves h2's container through netd" "$(P exec pa nslookup peer 127.0.0.11 | awk '/^Address: / {print $2}')" \
        "$PEER"
t_eq "pa fetches h2's container's page by name, across the tunnel" \
        "$(P exec pa timeout 5 wget -q -O- http://peer/index.html)" "hello from netd"
t_ok "h2's container resolves pa by name" nd_eventually 5 sh -c \
        "NETD_SOCKET=$(nd_sock h2) $NETCTL exec peer nslookup pa 127.0.0.11 | grep -q '$PA'"
t_eq "and fetches pa's page by name" "$(nd_wget h2 peer http://pa/index.html)" "hello from netd"

t_ok "podman rm pa" P rm -f -t 0 pa
t_ok "pa's name is gone on h2" nd_eventually 5 sh -c \
        "! NETD_SOCKET=$(nd_sock h2) $NETCTL exec peer nslookup pa 127.0.0.11 >/dev/null 2>&1"
t_ok "podman network rm pov" P network rm pov
t_ok "the overlay stays, on both hosts" sh -c "NETD_SOCKET=$(nd_sock h1) $NETCTL network inspect ov >/dev/null &&
        NETD_SOCKET=$(nd_sock h2) $NETCTL network inspect ov >/dev/null"
t_eq "h1's netd let go of the sandbox" "$(nd_api h1 GET /v1/sandboxes | cut -d' ' -f2- | jq length)" "0"

n2 rm -f peer >/dev/null
t_ok "h1's netd stops cleanly" nd_stop "$PID1"
t_ok "h2's netd stops cleanly" nd_stop "$PID2" h2
nd_done
