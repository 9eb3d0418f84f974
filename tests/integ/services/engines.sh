#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CNI pods and Docker containers as tasks of a service (docs/services.md,
# docs/cni.md, docs/docker.md).  CNI: netd-cni driven as a runtime drives
# it, the service named by CNI_ARGS NETD_SERVICE, by the pod annotation
# netd.service and by the configuration's args.netd.service; pods behind
# the VIP (busybox httpd in the pod's namespace) and in tasks.NAME, gone
# when DEL answers; an unknown service, a wrong network and a bad name
# refused with the message and nothing left behind; a service with a
# health command; kill -9 and restart.  Docker (when dockerd is
# installed): a container labelled netd.service=web becomes a task once
# netd learns the label, a wrong label is logged and ignored, the task
# leaves at Leave and comes back after a restart.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v dig >/dev/null && command -v nft >/dev/null || { echo "SKIP: dig or nft missing"; exit 77; }
CNI=$ND_BUILD/netd/netd-cni
DOCKER=1
command -v dockerd >/dev/null || DOCKER=
[ -x /usr/bin/docker ] || ND_DOCKER_CLIENT=$(command -v docker) || DOCKER=

nd_host h
PSOCK=$ND_TMP/h/run/netd-plugin.sock
DHOST=$ND_TMP/dk-h/docker.sock
start() {
        if [ -n "$DOCKER" ]; then
                nd_start h --docker-plugin-socket "$PSOCK" --docker-host "$DHOST"
        else
                nd_start h
        fi
}
start || exit 1
NDPID=$ND_PID
t_ok "create front" nd_ctl h network create --subnet 10.72.0.0/24 front
t_ok "create other" nd_ctl h network create --subnet 10.73.0.0/24 other
t_ok "service create web" nd_ctl h service create --name web --network front
vip=$(nd_ctl h service inspect web | jq -r '.[0].VirtualIPs[0].Addr')
[ -n "$vip" ] && [ "$vip" != null ] || { t_fail "web has a VIP"; nd_done; exit 1; }

# conf NETWORK [MEMBERS]: a network configuration, MEMBERS added to it
conf() {
        echo '{"cniVersion":"1.0.0","name":"'"$1"'","type":"netd","socket":"'"$(nd_sock h)"'"'"${2:+,$2}"'}'
}
# cni COMMAND POD [EXTRA-CNI-ARGS] [CONF]: container id "cid-POD" in the
# namespace ${ND_NSP}-POD, named POD
cni() {
        CNI_COMMAND=$1 CNI_CONTAINERID=cid-$2 CNI_NETNS=/run/netns/${ND_NSP}-$2 CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
                CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=test;K8S_POD_NAME=$2${3:+;$3}" "$CNI" <<<"${4:-$(conf front)}"
}
pod_ns() {
        ip netns add "${ND_NSP}-$1" && ND_NS+=("${ND_NSP}-$1") && ip -n "${ND_NSP}-$1" link set lo up
}
# serve POD: busybox httpd in the pod's namespace answering its name
serve() {
        mkdir -p "$ND_TMP/www-$1" && echo "$1" >"$ND_TMP/www-$1/index.html"
        nd_bg ip netns exec "${ND_NSP}-$1" busybox httpd -f -p 80 -h "$ND_TMP/www-$1"
        nd_eventually 5 ip netns exec "${ND_NSP}-$1" sh -c "ss -Hltn | grep -q ':80 '"
}
pod_addr() { ip -n "${ND_NSP}-$1" -4 -j addr show eth0 | jq -r '.[0].addr_info[0].local'; }
tasks() { nd_ctl h service inspect "${1:-web}" | jq -r '[.[0].Tasks[] | "\(.Id)=\(.Name)=\(.Health)"] | sort | join(" ")'; }
short() { ip netns exec "${ND_NSP}-cl" dig +time=3 +tries=1 @127.0.0.11 "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
# hits N: which tasks N connections to the VIP from the client pod reach
hits() {
        ip netns exec "${ND_NSP}-cl" sh -c "for i in \$(seq $1); do curl -s --max-time 2 http://$vip/; done" |
                sort | uniq -c | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//'
}
hostifs() { nd_on h ip -o link | grep -c ' vnc'; }
in_use() { nd_ctl h network inspect "$1" | jq -r '(if type=="array" then .[0] else . end).AddressesInUse'; }

for p in cl p1 p2 p3 p4 bad; do pod_ns "$p" || exit 1; done
t_ok "a client pod (no service)" cni ADD cl

# ---- the three forms ----
t_ok "ADD p1 with CNI_ARGS NETD_SERVICE=web" cni ADD p1 "NETD_SERVICE=web"
t_eq "p1 is a task of web (health none)" "$(tasks)" "cni:cid-p1/eth0=p1=none"
t_eq "its record keeps the service" \
        "$(nd_api h GET /v1/sandboxes/cid-p1/eth0 | cut -d' ' -f2- | jq -r .Service)" "web"
t_eq "the client's record has none" "$(nd_api h GET /v1/sandboxes/cid-cl/eth0 | cut -d' ' -f2- | jq -r .Service)" ""
serve p1
a1=$(pod_addr p1)
t_eq "tasks.web lists p1" "$(short tasks.web)" "$a1"
t_eq "web resolves to the VIP in the pod" "$(short web)" "$vip"
t_eq "the VIP reaches p1's server from another pod" "$(hits 5)" "p1"
ANN='"capabilities":{"io.kubernetes.cri.pod-annotations":true},"runtimeConfig":{"io.kubernetes.cri.pod-annotations":{"netd.service":"web"}}'
t_ok "ADD p2 with the pod annotation netd.service=web" cni ADD p2 "" "$(conf front "$ANN")"
serve p2
a2=$(pod_addr p2)
t_eq "both are tasks" "$(tasks)" "cni:cid-p1/eth0=p1=none cni:cid-p2/eth0=p2=none"
t_eq "tasks.web lists both" "$(short tasks.web)" "$(printf '%s\n' "$a1" "$a2" | sort | tr '\n' ' ' | sed 's/ $//')"
t_eq "60 connections to the VIP reach both pods" "$(hits 60)" "p1 p2"
t_ok "ADD p3 with args.netd.service in the configuration" cni ADD p3 "" "$(conf front '"args":{"netd":{"service":"web"}}')"
t_eq "p3 is the third task" "$(nd_ctl h service inspect web | jq -r '.[0].TasksHealthy')" "3"
t_ok "DEL p3" cni DEL p3
t_eq "p3 is no task when DEL has answered" "$(tasks)" "cni:cid-p1/eth0=p1=none cni:cid-p2/eth0=p2=none"
t_eq "and not in tasks.web" "$(short tasks.web | wc -w)" "2"
# the longest container id CNI allows: its task id is not cut (else DEL
# would never find the task)
long=$(printf 'c%.0s' $(seq 1 128))
lcni() {
        CNI_COMMAND=$1 CNI_CONTAINERID=$long CNI_NETNS=/run/netns/${ND_NSP}-p3 CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
                CNI_ARGS="NETD_SERVICE=web" "$CNI" <<<"$(conf front)"
}
t_ok "ADD a pod with a 128-character container id" lcni ADD
t_eq "its task id is whole" "$(nd_ctl h service inspect web | jq -r '.[0].Tasks[].Id' | grep -c "^cni:$long/eth0\$")" "1"
t_ok "DEL it" lcni DEL
t_eq "and it is no task" "$(nd_ctl h service inspect web | jq -r '.[0].TasksTotal')" "2"
nd_rootfs h
t_ok "a netd container on front" nd_ctl h run -d --name nc --network front sleep 600
t_match "the netd container reaches the pods through the VIP" \
        "$(nd_ctns h nc curl -s --max-time 2 "http://$vip/")" '^p[12]$'

# ---- refused, leaving nothing behind ----
ifs0=$(hostifs) front0=$(in_use front) other0=$(in_use other)
out=$(cni ADD bad "NETD_SERVICE=web" "$(conf other)")
t_eq "a pod on a network web is not on: a CNI error" "$?:$(jq -r .code <<<"$out")" "1:999"
t_eq "naming the pod, the network and the service" "$(jq -r .details <<<"$out")" \
        "pod 'bad' is on network 'other', which service 'web' is not on"
out=$(cni ADD bad "NETD_SERVICE=nosuch")
t_eq "an unknown service: code 3 with the message" "$(jq -r '"\(.code) \(.details)"' <<<"$out")" \
        "3 service 'nosuch' not found"
out=$(cni ADD bad "" "$(conf front '"args":{"netd":{"service":"a_b"}}')")
t_match "a service name that is no DNS label" "$(jq -r .details <<<"$out")" "service name 'a_b' is not a valid DNS label"
t_eq "args.netd.service not text: code 7" \
        "$(cni ADD bad "" "$(conf front '"args":{"netd":{"service":1}}')" | jq -r .code)" "7"
t_eq "no sandbox is left" "$(nd_api h GET /v1/sandboxes/cid-bad/eth0 | cut -d' ' -f1)" "404"
t_eq "no interface in the pod" "$(ip -n "${ND_NSP}-bad" -o link | grep -c eth0)" "0"
t_eq "no host end" "$(hostifs)" "$ifs0"
t_eq "no address taken" "$(in_use front) $(in_use other)" "$front0 $other0"
t_eq "no task" "$(nd_ctl h service inspect web | jq -r '.[0].TasksTotal')" "2"

# ---- a service with a health command: no checks in a CNI pod ----
t_ok "service create hc with a failing health command" \
        nd_ctl h service create --name hc --network front --health-cmd false --health-interval 1 --health-retries 1
t_ok "ADD p4 as a task of hc" cni ADD p4 "NETD_SERVICE=hc"
sleep 2.5
t_eq "p4 is a backend while attached (health none)" \
        "$(nd_ctl h service inspect hc | jq -r '.[0] | "\(.TasksHealthy) \(.Tasks[0].Health)"')" "1 none"
t_ok "DEL p4" cni DEL p4

# ---- Docker containers labelled netd.service ----
D() { nd_docker h "$@"; }
dtasks() { nd_ctl h service inspect web | jq -r '[.[0].Tasks[] | select(.Id | startswith("docker:")) | .Name] | sort | join(" ")'; }
dtasks_are() { [ "$(dtasks)" = "$1" ]; }
named() { nd_api h GET /v1/docker | cut -d' ' -f2- | jq -e --arg n "$1" '[.Endpoints[].Name] | index($n)'; }
if [ -n "$DOCKER" ]; then
        nd_dockerd h "$PSOCK" || exit 1
        t_ok "a busybox image imported from a local tarball" nd_docker_image h
        t_ok "a Docker network on front" D network create -d netd --ipam-driver netd --ipam-opt netd.network=front \
                --subnet 10.72.0.0/24 dfront
        t_ok "a Docker network of its own" D network create -d netd --ipam-driver netd --subnet 10.74.0.0/24 dother
        dserve() { # NAME NETWORK LABEL
                D run -d --name "$1" --network "$2" ${3:+--label "netd.service=$3"} bb:test \
                        sh -c "mkdir -p /tmp/w && echo $1 >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"
        }
        t_ok "docker run dweb --label netd.service=web" dserve dweb dfront web
        t_ok "netd learns the label and makes it a task" nd_eventually 5 dtasks_are dweb
        t_eq "the endpoint record keeps the label" \
                "$(nd_api h GET /v1/docker | cut -d' ' -f2- | jq -r '.Endpoints[] | select(.Name == "dweb") | .Service')" "web"
        ad=$(D inspect dweb -f '{{.NetworkSettings.Networks.dfront.IPAddress}}')
        t_match "tasks.web lists it with the pods" "$(short tasks.web)" "$ad"
        t_eq "90 connections to the VIP reach the pods and the Docker container" "$(hits 90)" "dweb p1 p2"
        t_ok "docker run dbad on a network web is not on" dserve dbad dother web
        t_ok "docker run dnone naming an unknown service" dserve dnone dfront nosuch
        t_ok "netd learns both names" nd_eventually 5 eval "named dbad && named dnone"
        t_match "the wrong network is logged" "$(grep 'netd.service label is ignored' "$ND_TMP/h/netd.log")" \
                "Docker container 'dbad' is on network 'docker-[0-9a-f]+', which service 'web' is not on"
        t_match "the unknown service too" "$(grep 'netd.service label is ignored' "$ND_TMP/h/netd.log")" "service 'nosuch' not found"
        t_eq "neither is a task" "$(dtasks)" "dweb"
fi

# ---- kill -9 and restart ----
kill -9 "$NDPID"
wait "$NDPID" 2>/dev/null
t_match "the VIP keeps working while netd is down" "$(hits 20)" "p1 p2"
start >/dev/null || exit 1
NDPID=$ND_PID
t_eq "after restart: the pods are tasks again" "$(nd_ctl h service inspect web |
        jq -r '[.[0].Tasks[] | select(.Id | startswith("cni:")) | .Name] | sort | join(" ")')" "p1 p2"
t_eq "after restart: tasks.web" "$(short tasks.web | wc -w)" "$(( ${DOCKER:+1} + 2 ))"
want="p1 p2"
[ -z "$DOCKER" ] || want="dweb p1 p2"
t_eq "after restart: the VIP reaches them" "$(hits 90)" "$want"
if [ -n "$DOCKER" ]; then
        t_eq "after restart: dweb is a task, dbad and dnone still not" "$(dtasks)" "dweb"
        t_ok "docker stop dweb" D stop -t 1 dweb
        t_ok "its task leaves at Leave" nd_eventually 3 dtasks_are ""
        t_eq "and the VIP no longer reaches it" "$(hits 30)" "p1 p2"
        t_ok "docker start dweb" D start dweb
        t_ok "it is a task again" nd_eventually 5 dtasks_are dweb
        t_ok "docker rm -f dweb dbad dnone" D rm -f dweb dbad dnone
        t_eq "no Docker task left" "$(dtasks)" ""
fi

# ---- DEL ----
t_ok "DEL p1" cni DEL p1
t_eq "p1 is no task when DEL has answered" "$(tasks)" "cni:cid-p2/eth0=p2=none"
t_eq "its address left the VIP's slots" "$(nd_on h nft list map inet netd svc_backends4 | grep -c ": $a1[ ,]")" "0"
t_eq "the VIP reaches only p2" "$(hits 20)" "p2"
t_ok "DEL p2" cni DEL p2
t_match "the VIP without tasks refuses" "$(ip netns exec "${ND_NSP}-cl" curl -sS --max-time 3 "http://$vip/" 2>&1)" \
        'Connection refused|Couldn.t connect'
t_eq "DEL of a gone pod is still fine" "$(cni DEL p2 >/dev/null; echo $?)" "0"
nd_done
