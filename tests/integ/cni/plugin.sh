#!/bin/bash
# netd-cni driven exactly as a runtime drives a CNI plugin (environment +
# configuration on stdin), on 50 namespaces: ADD, CHECK, DEL; the results
# against the spec; connectivity and DNS between the namespaces; static
# addresses (the "ips" capability); CNI error objects for bad input; DEL
# idempotent; attachments survive a netd restart.
. "$ND_SRC/tests/integ/lib/netns.sh"
CNI=$ND_BUILD/netd/netd-cni
N=50

nd_host h
nd_start h || exit 1
NDPID=$ND_PID
t_ok "a network for CNI" nd_ctl h network create --subnet 10.80.0.0/24 --ipv6 --subnet fd80::/64 cninet
CONF='{"cniVersion":"1.0.0","name":"cninet","type":"netd","socket":"'"$(nd_sock h)"'"}'
# cni COMMAND CONTAINERID NETNS-NAME [POD-NAME] [CONF]
cni() {
        CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=${3:+/run/netns/$3} CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
                CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=test;K8S_POD_NAME=${4:-}" "$CNI" <<<"${5:-$CONF}"
}

t_eq "VERSION" "$(echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$CNI" | jq -c .)" \
        '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}'
t_ok "STATUS: netd answers" cni STATUS "" ""

for i in $(seq 1 $N); do
        ip netns add "${ND_NSP}-c$i"
        ND_NS+=("${ND_NSP}-c$i")
done
fails=0
t0=$(date +%s%N)
for i in $(seq 1 $N); do
        cni ADD "ctr$i" "${ND_NSP}-c$i" "pod$i" >"$ND_TMP/add$i.json" || fails=$((fails + 1))
done
echo "# $N ADDs in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
t_eq "ADD on $N namespaces" "$fails" "0"
[ "$fails" = 0 ] || head -c 600 "$ND_TMP/add1.json"
R=$ND_TMP/add1.json
t_eq "result: cniVersion, interface, sandbox" "$(jq -c '[.cniVersion, .interfaces[0].name, .interfaces[0].sandbox]' "$R")" \
        "[\"1.0.0\",\"eth0\",\"/run/netns/${ND_NSP}-c1\"]"
t_match "result: an IPv4 address with gateway on interface 0" "$(jq -cS '.ips[0]' "$R")" \
        '"address":"10\.80\.0\.[0-9]+/24","gateway":"10\.80\.0\.1","interface":0'
t_match "result: and an IPv6 one" "$(jq -r '.ips[1].address' "$R")" '^fd80::[0-9a-f:]+/64$'
t_eq "result: default routes" "$(jq -c '[.routes[].dst]' "$R")" '["0.0.0.0/0","::/0"]'
t_eq "result: DNS is netd's resolver" "$(jq -c '.dns.nameservers' "$R")" '["127.0.0.11"]'
t_eq "result: the MAC is the interface's" "$(jq -r '.interfaces[0].mac' "$R")" \
        "$(ip -n "${ND_NSP}-c1" -j link show eth0 | jq -r '.[0].address')"
addrs=$(for i in $(seq 1 $N); do jq -r '.ips[0].address' "$ND_TMP/add$i.json"; done)
t_eq "$N distinct addresses" "$(echo "$addrs" | sort -u | wc -l)" "$N"
A50=$(jq -r '.ips[0].address' "$ND_TMP/add50.json" | cut -d/ -f1)
t_ok "namespace 1 pings namespace 50" ip netns exec "${ND_NSP}-c1" busybox ping -c 2 -W 2 "$A50"
t_eq "namespace 1 resolves pod50 through netd's DNS" "$(ip netns exec "${ND_NSP}-c1" dig +short @127.0.0.11 pod50)" "$A50"
t_eq "and pod50.cninet" "$(ip netns exec "${ND_NSP}-c1" dig +short @127.0.0.11 pod50.cninet)" "$A50"
t_eq "over TCP too" "$(ip netns exec "${ND_NSP}-c1" dig +short +tcp @127.0.0.11 pod50)" "$A50"
t_eq "port 53 redirected by netd's table in the namespace" "$(ip netns exec "${ND_NSP}-c1" nft list tables)" \
        "table ip netd-dns"
t_eq "netd's own view lists them" "$(nd_api h GET /v1/sandboxes | cut -d' ' -f2- | jq length)" "$N"
fails=0
for i in $(seq 1 $N); do cni CHECK "ctr$i" "${ND_NSP}-c$i" >/dev/null || fails=$((fails + 1)); done
t_eq "CHECK on $N namespaces" "$fails" "0"

# static addresses, version 0.4.0 results, errors
ip netns add "${ND_NSP}-s"
ND_NS+=("${ND_NSP}-s")
C4='{"cniVersion":"0.4.0","name":"cninet","type":"netd","socket":"'"$(nd_sock h)"'","runtimeConfig":{"ips":["10.80.0.200/24"]}}'
out=$(cni ADD static "${ND_NSP}-s" static "$C4")
t_eq "the ips capability gives the static address" "$(jq -r '.ips[0].address' <<<"$out")" "10.80.0.200/24"
t_eq "a 0.4.0 result carries ip versions" "$(jq -r '.ips[0].version' <<<"$out")" "4"
out=$(cni ADD static "${ND_NSP}-s")
t_eq "a second ADD of the same attachment is a CNI error" "$?:$(jq -r .code <<<"$out")" "1:999"
t_match "that says why" "$(jq -r .details <<<"$out")" "already has interface eth0"
out=$(cni ADD x "${ND_NSP}-s" x '{"cniVersion":"1.0.0","name":"nosuch","type":"netd","socket":"'"$(nd_sock h)"'"}')
t_match "an unknown network: code 3 with netd's message" "$(jq -r '"\(.code) \(.details)"' <<<"$out")" "^3 network 'nosuch' not found"
t_eq "an unsupported version: code 1" "$(cni ADD x "${ND_NSP}-s" x '{"cniVersion":"9.9.9","name":"cninet","type":"netd"}' | jq .code)" "1"
t_eq "an undecodable config: code 6" "$(cni ADD x "${ND_NSP}-s" x '{nope' | jq .code)" "6"
t_eq "a missing CNI_NETNS: code 4" "$(cni ADD x "" x | jq .code)" "4"
t_eq "netd unreachable: code 11 (try again later)" \
        "$(cni ADD x "${ND_NSP}-s" x '{"cniVersion":"1.0.0","name":"cninet","type":"netd","socket":"/nonexistent.sock"}' | jq .code)" "11"
t_eq "a missing namespace is refused" \
        "$(CNI_COMMAND=ADD CNI_CONTAINERID=y CNI_NETNS=/run/netns/nope CNI_IFNAME=eth0 "$CNI" <<<"$CONF" | jq .code)" "3"

# published ports (the portMappings capability)
ip netns add "${ND_NSP}-p"
ip netns add "${ND_NSP}-q"
ND_NS+=("${ND_NSP}-p" "${ND_NSP}-q")
mkdir -p "$ND_TMP/www" && echo "hello from a pod" >"$ND_TMP/www/index.html"
PM='{"cniVersion":"1.0.0","name":"cninet","type":"netd","socket":"'"$(nd_sock h)"'","capabilities":{"portMappings":true},
     "runtimeConfig":{"portMappings":[{"hostPort":8085,"containerPort":80,"protocol":"tcp"},
                                      {"hostPort":0,"containerPort":81,"protocol":"tcp"}]}}'
t_ok "ADD with portMappings" cni ADD web "${ND_NSP}-p" web "$PM"
nd_bg ip netns exec "${ND_NSP}-p" busybox httpd -f -p 80 -h "$ND_TMP/www"
t_eq "netd holds the ports (one dynamic)" \
        "$(nd_api h GET /v1/sandboxes/web/eth0 | cut -d' ' -f2- | jq -c '[.PortBindings[] | .HostPort >= 8085]')" "[true,true]"
t_eq "the published port reaches the pod" "$(nd_eventually 3 nd_on h curl -sf -m 2 http://127.0.0.1:8085/ &&
        nd_on h curl -sf -m 2 http://127.0.0.1:8085/)" "hello from a pod"
t_match "the port is in netd's nftables map" "$(nd_on h nft list table inet netd)" "8085 : 10\.80\.0\.[0-9]+ \. 80"
out=$(cni ADD web2 "${ND_NSP}-q" web2 "$PM")
t_match "a clashing portMapping: a CNI error naming the holder" "$(jq -r .details <<<"$out")" \
        "8085/tcp is already published by pod 'web'"
t_eq "and nothing of the failed ADD is left" \
        "$(nd_api h GET /v1/sandboxes/web2/eth0 | cut -d' ' -f1) $(ip -n "${ND_NSP}-q" -o link | grep -c eth0)" "404 0"
nd_rootfs h
t_match "a netd container cannot take it either" "$(nd_ctl h run -d --name x1 --network cninet -p 8085:80 sleep 5 2>&1)" \
        "already published by pod 'web'"
nd_ctl h rm -f x1 >/dev/null 2>&1
t_ok "DEL the pod" cni DEL web "${ND_NSP}-p"
t_eq "its ports are released" "$(nd_on h nft list table inet netd | grep -c 8085)" "0"
t_err "and no longer answer" nd_on h curl -sf -m 2 http://127.0.0.1:8085/

# a netd restart keeps the attachments (and their published ports)
PM3='{"cniVersion":"1.0.0","name":"cninet","type":"netd","socket":"'"$(nd_sock h)"'",
      "runtimeConfig":{"portMappings":[{"hostPort":8086,"containerPort":80,"protocol":"tcp"}]}}'
t_ok "ADD a pod publishing 8086" cni ADD web3 "${ND_NSP}-q" web3 "$PM3"
nd_bg ip netns exec "${ND_NSP}-q" busybox httpd -f -p 80 -h "$ND_TMP/www"
kill -9 "$NDPID"
wait "$NDPID" 2>/dev/null
nd_start h >/dev/null || exit 1
NDPID=$ND_PID
t_ok "after a netd restart CHECK still passes" cni CHECK ctr7 "${ND_NSP}-c7"
t_eq "and names still resolve" "$(ip netns exec "${ND_NSP}-c2" dig +short @127.0.0.11 pod50)" "$A50"
t_eq "the pod's published port still answers" "$(nd_eventually 3 nd_on h curl -sf -m 2 http://127.0.0.1:8086/ &&
        nd_on h curl -sf -m 2 http://127.0.0.1:8086/)" "hello from a pod"
t_match "and netd holds it again" "$(nd_ctl h run -d --name x2 --network cninet -p 8086:80 sleep 5 2>&1)" \
        "already published by pod 'web3'"
nd_ctl h rm -f x2 >/dev/null 2>&1
t_ok "DEL web3" cni DEL web3 "${ND_NSP}-q"

fails=0
for i in $(seq 1 $N); do cni DEL "ctr$i" "${ND_NSP}-c$i" >/dev/null || fails=$((fails + 1)); done
t_eq "DEL on $N namespaces" "$fails" "0"
# DEL answers before the kernel's grace period: the pairs go just after
t_ok "the interfaces are gone" nd_eventually 3 sh -c "! ip -n ${ND_NSP}-c1 link show eth0"
t_eq "and the DNS redirect" "$(ip netns exec "${ND_NSP}-c1" nft list tables)" ""
nd_eventually 3 sh -c "[ \$(ip -n ${ND_NSP}-h -o link show | grep -c ' vnc') = 1 ]"
t_eq "no veth is left on the host" "$(ip -n "${ND_NSP}-h" -o link show | grep -c ' vnc')" "1"
t_ok "DEL again succeeds (idempotent)" cni DEL ctr1 "${ND_NSP}-c1"
t_ok "DEL of an attachment netd never made succeeds" cni DEL neverseen ""
t_err "CHECK of a deleted attachment fails" cni CHECK ctr1 "${ND_NSP}-c1"
# an ADD right behind the DEL of the same attachment waits for the old
# pair (its eth0 is still in the namespace for a grace period) and takes
# the same static address again
out=$(cni DEL static "${ND_NSP}-s" >/dev/null && cni ADD static "${ND_NSP}-s" static "$C4")
t_eq "ADD right after DEL of the same attachment" "$(jq -r '.ips[0].address' <<<"$out")" "10.80.0.200/24"
# and a new container's ADD into the same namespace, right behind the DEL
out=$(cni DEL static "${ND_NSP}-s" >/dev/null && cni ADD static2 "${ND_NSP}-s" static2 "$C4")
t_eq "ADD of another container into the namespace right after DEL" "$(jq -r '.ips[0].address' <<<"$out")" \
        "10.80.0.200/24"
t_ok "DEL it" cni DEL static2 "${ND_NSP}-s"
t_ok "ADD the static one again" cni ADD static "${ND_NSP}-s" static "$C4"
t_ok "DEL the static one" cni DEL static "${ND_NSP}-s"
t_ok "with every attachment gone the network can be removed" nd_ctl h network rm cninet
t_ok "netd stops cleanly" nd_stop "$NDPID"
nd_done
