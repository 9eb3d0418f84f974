#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GET /v1/topology and `netctl topology` (docs/observability.md,
# "Topology") on a two-host cluster: etcd on a switch namespace, an
# overlay network and a bridge on each host, containers on both, a
# service across hosts.  Host A's document names both hosts, its own
# endpoints with their addresses and published ports, B's container on
# the overlay (through the cluster), and the service with its VIP and
# tasks; its DOT renders with Graphviz without a warning, one cluster
# per host.  A host that dies shows as down, its endpoints gone.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v etcd >/dev/null && command -v jq >/dev/null && command -v dot >/dev/null ||
        { echo "SKIP: etcd, jq or dot (graphviz) missing"; exit 77; }

# the underlay: two hosts and a switch holding etcd; the hosts' node
# names differ from their roles ("-host"), so the picture's labels are
# the names netd reports
nd_underlay tpa tpb || exit 1
nd_etcd sw tpe 10.99.0.254 || exit 1
ND_ETCD_URL=etcd://10.99.0.254:2379
start() { nd_start_node "$1" "$2" --node-name "$1-host" --node-ttl 3; } # ROLE N
start tpa 1 || exit 1
nd_rootfs tpa
start tpb 2 || exit 1
b_pid=$ND_PID
nd_rootfs tpb

t_ok "overlay network on A" nd_ctl tpa network create -d overlay --subnet 10.64.0.0/24 tpov
t_ok "B knows it" nd_eventually 5 nd_ctl tpb network inspect tpov
t_ok "a bridge on A" nd_ctl tpa network create --subnet 10.65.0.0/24 tpbr
t_ok "a service across hosts, created on A" nd_ctl tpa service create --name tpweb --network tpov
t_ok "on A: a container on the overlay and the bridge, port 8090 published" \
        nd_ctl tpa run -d --name ra --network tpov --network tpbr -p 8090:80 sleep 600
t_ok "on B: a task of tpweb on the overlay" nd_ctl tpb run -d --name rb --network tpov --service tpweb sleep 600
t_ok "A sees B's task" nd_eventually 5 sh -c \
        "NETD_SOCKET=$(nd_sock tpa) $NETCTL service inspect tpweb | jq -e '.[0].Tasks | length == 1'"
nd_host tppod || exit 1
t_ok "on A: a CNI pod on the bridge" bash -c "CNI_COMMAND=ADD CNI_CONTAINERID=cid-tppod \
        CNI_NETNS=/run/netns/${ND_NSP}-tppod CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
        CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAME=tppod' $ND_BUILD/netd/netd-cni \
        <<<'{\"cniVersion\":\"1.0.0\",\"name\":\"tpbr\",\"type\":\"netd\",\"socket\":\"$(nd_sock tpa)\"}' >/dev/null"

topo=$(nd_ctl tpa topology --format json)
t_ok "the document is JSON" jq -e . <<<"$topo"
q() { jq -r "$@" <<<"$topo"; }
a_id=$(q '.Self')
b_id=$(q '.Hosts[] | select(.Name == "tpb-host") | .Id')
t_eq "two hosts, both live, A is this host" \
        "$(q '[.Hosts[] | "\(.Name):\(.State):\(.Self)"] | sort | join(" ")')" "tpa-host:live:true tpb-host:live:false"
t_match "their ids are node ids" "$a_id $b_id" '^[0-9a-f]{32} [0-9a-f]{32}$'
t_eq "it says it is a cluster" "$(q '.Cluster')" "true"
ov=$(q '.Networks[] | select(.Name == "tpov") | .Id')
br=$(q '.Networks[] | select(.Name == "tpbr") | .Id')
t_eq "the overlay: global, on no host, its subnet" \
        "$(q ".Networks[] | select(.Id == \"$ov\") | \"\(.Driver) \(.Scope) [\(.Host)] \(.Subnets | join(\",\"))\"")" \
        "overlay global [] 10.64.0.0/24"
t_eq "the bridge: on host A" "$(q ".Networks[] | select(.Id == \"$br\") | \"\(.Driver) \(.Host)\"")" "bridge $a_id"
ra_ip=$(nd_ctl tpa inspect ra | jq -r '.[0].Endpoints[] | select(.NetworkName == "tpov") | .IPAddress')
t_eq "ra: a container of A, running, on both networks (overlay address $ra_ip)" \
        "$(q ".Endpoints[] | select(.Name == \"ra\") | \"\(.Kind) \(.Host == \"$a_id\") \(.State) \([.Networks[].Network] | sort | join(\",\"))\"")" \
        "container true running $(printf '%s\n' "$ov" "$br" | sort | paste -sd,)"
t_eq "ra's overlay address" "$(q ".Endpoints[] | select(.Name == \"ra\") | .Networks[] | select(.Network == \"$ov\") | .IPv4")" "$ra_ip"
t_eq "ra's published port" "$(q '.Endpoints[] | select(.Name == "ra") | .Ports[] | "\(.HostPort)->\(.ContainerPort)/\(.Proto)"')" "8090->80/tcp"
rb_ip=$(nd_ctl tpb inspect rb | jq -r '.[0].Endpoints[] | select(.NetworkName == "tpov") | .IPAddress')
t_eq "rb, B's container, seen from A through the cluster: remote, on B, on the overlay at $rb_ip, a task" \
        "$(q ".Endpoints[] | select(.Name == \"rb\") | \"\(.Kind) \(.Host == \"$b_id\") \(.Networks[0].Network == \"$ov\") \(.Networks[0].IPv4) \(.Service)\"")" \
        "remote true true $rb_ip tpweb"
t_eq "the pod: a pod of A on the bridge" \
        "$(q ".Endpoints[] | select(.Name == \"tppod\") | \"\(.Kind) \(.Id) \(.Host == \"$a_id\") \(.Networks[0].Network == \"$br\")\"")" \
        "pod cni:cid-tppod/eth0 true true"
t_eq "each host's address for the service's remote tasks: A's own, B's through the cluster" \
        "$(q "[.Endpoints[] | select(.Kind == \"lb\") | (.Host == \"$a_id\")] | sort | join(\",\")")" "false,true"
rb_id=$(q '.Endpoints[] | select(.Name == "rb") | .Id')
vip=$(nd_ctl tpa service inspect tpweb | jq -r '.[0].VirtualIPs[0].Addr')
t_eq "the service: global, its VIP on the overlay" \
        "$(q ".Services[] | select(.Name == \"tpweb\") | \"\(.Scope) \(.VirtualIPs[0].Network == \"$ov\") \(.VirtualIPs[0].Addr)\"")" \
        "global true $vip"
t_eq "its task is rb's endpoint on B" \
        "$(q ".Services[] | select(.Name == \"tpweb\") | .Tasks[] | \"\(.Endpoint == \"$rb_id\") \(.Host == \"$b_id\") \(.Name)\"")" \
        "true true rb"
t_eq "B's own document has rb as its container, under the same id" \
        "$(nd_ctl tpb topology --format json | jq -r '.Endpoints[] | select(.Name == "rb") | "\(.Kind) \(.Id)"')" "container $rb_id"

# the picture (Graphviz writes '-' in SVG text as "&#45;")
svg_has() { # FILE TEXT
        grep -qF -e "$2" -e "${2//-/\&#45;}" "$1"
}
for h in tpa tpb; do
        nd_ctl "$h" topology >"$ND_TMP/$h.dot"
        t_eq "$h: netctl topology exits 0" "$?" "0"
        dot -Tsvg "$ND_TMP/$h.dot" >"$ND_TMP/$h.svg" 2>"$ND_TMP/$h.dot.err"
        t_eq "$h: dot -Tsvg renders it" "$?" "0"
        t_eq "$h: without a warning" "$(cat "$ND_TMP/$h.dot.err")" ""
        t_eq "$h: one cluster per host" "$(grep -c '^ subgraph cluster_' "$ND_TMP/$h.dot")" "2"
        t_ok "$h: the SVG names host A" svg_has "$ND_TMP/$h.svg" tpa-host
        t_ok "$h: the SVG names host B" svg_has "$ND_TMP/$h.svg" tpb-host
done
t_ok "A's SVG shows the remote container" svg_has "$ND_TMP/tpa.svg" ">rb<"
t_ok "A's SVG shows the service" svg_has "$ND_TMP/tpa.svg" ">tpweb<"
t_ok "A's SVG shows the VIP" svg_has "$ND_TMP/tpa.svg" "VIP $vip"
t_eq "A's DOT: a dashed edge from the service to its task" "$(grep -c 'style=dashed' "$ND_TMP/tpa.dot")" "1"
t_ok "the default format is dot" sh -c "NETD_SOCKET=$(nd_sock tpa) $NETCTL topology --format dot | cmp -s - '$ND_TMP/tpa.dot'"

# a single host: one host, "local"
nd_host tpc || exit 1
nd_start tpc || exit 1
t_eq "single host: not a cluster, one host, this one" \
        "$(nd_ctl tpc topology --format json | jq -r '"\(.Cluster) \(.Self) \(.Hosts | length) \(.Hosts[0].Id) \(.Hosts[0].Self)"')" \
        "false local 1 local true"
t_ok "single host: the picture renders" sh -c "NETD_SOCKET=$(nd_sock tpc) $NETCTL topology | dot -Tsvg >/dev/null"

# bad input
t_match "netctl topology --format yaml is refused" "$(nd_ctl tpa topology --format yaml 2>&1; echo "rc=$?")" \
        "must be 'dot' or 'json'.*rc=2"
t_match "an extra argument is refused" "$(nd_ctl tpa topology extra 2>&1; echo "rc=$?")" "Usage: netctl topology.*rc=2"
t_match "POST /v1/topology: 405" "$(nd_api tpa POST /v1/topology '{}')" '^405 .*allowed: GET'

# a dead host: down, its endpoints gone from A's picture
kill -9 "$b_pid"
wait "$b_pid" 2>/dev/null
t_ok "A sees B down (lease of 3 s)" nd_eventually 10 sh -c \
        "NETD_SOCKET=$(nd_sock tpa) $NETCTL topology --format json | jq -e '.Hosts[] | select(.Name == \"tpb-host\") | .State == \"down\"'"
topo=$(nd_ctl tpa topology --format json)
t_eq "B's endpoints and tasks are gone" "$(q "[.Endpoints[] | select(.Host != \"$a_id\")] | length"),$(q '[.Services[].Tasks[]] | length')" "0,0"
nd_ctl tpa topology >"$ND_TMP/down.dot"
t_ok "the picture draws B dashed" grep -q 'label="tpb-host\\n10.99.0.2, down"' "$ND_TMP/down.dot"
t_ok "and renders" sh -c "dot -Tsvg '$ND_TMP/down.dot' >/dev/null"
nd_done
