#!/bin/bash
# Prometheus metrics (issue 20, the metrics part): GET /metrics on the API
# socket and on --metrics-addr passes `promtool check metrics`, counts
# what happened (DNS queries by type after dig queries, detach latency
# after a container's removal), and a real Prometheus server (Debian's)
# started on loopback inside the test's namespace scrapes it.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v promtool >/dev/null && command -v prometheus >/dev/null || { echo "SKIP: prometheus not installed"; exit 77; }
command -v dig >/dev/null || { echo "SKIP: dig (dnsutils) not installed"; exit 77; }

nd_host h
nd_start h --metrics-addr 127.0.0.1:9465 || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "a network" nd_ctl h network create --subnet 10.85.0.0/24 n
t_ok "two containers, one publishing a port" nd_ctl h run -d --name a --network n -p 8085:80 sleep 600
t_ok "b" nd_ctl h run -d --name b --network n sleep 600
t_ok "a name lookup" nd_in h b nslookup a 127.0.0.11
t_err "a refused request" nd_ctl h inspect nosuch
# a CNI pod on n publishing one port: its endpoint and port are this
# host's too
ip netns add "${ND_NSP}-pod"
ND_NS+=("${ND_NSP}-pod")
PM='{"cniVersion":"1.0.0","name":"n","type":"netd","socket":"'"$(nd_sock h)"'","capabilities":{"portMappings":true},
     "runtimeConfig":{"portMappings":[{"hostPort":8086,"containerPort":80,"protocol":"tcp"}]}}'
pod() {
        CNI_COMMAND=$1 CNI_CONTAINERID=pod1 CNI_NETNS="/run/netns/${ND_NSP}-pod" CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
                "$ND_BUILD/netd/netd-cni" <<<"$PM" >/dev/null
}
t_ok "a CNI pod publishing a port" pod ADD
# a follower of /v1/events for 2 s: its latency is the time to the
# stream's head, not the 2 s it stayed
curl -s --max-time 2 --unix-socket "$(nd_sock h)" http://netd/v1/events >/dev/null
sleep 1.2 # (the loop-lag timer fires every 0.5 s)

scrape() { curl -s --unix-socket "$(nd_sock h)" http://netd/metrics; }
scrape >"$ND_TMP/m.txt"
t_ok "promtool check metrics passes" sh -c "promtool check metrics <'$ND_TMP/m.txt'"
t_match "content type is the text format 0.0.4" \
        "$(curl -s -o /dev/null -w '%{content_type}' --unix-socket "$(nd_sock h)" http://netd/metrics)" "text/plain; version=0.0.4"
val() { awk -v k="$1" '$1 == k {print $2}' "$ND_TMP/m.txt"; }
t_eq "running containers" "$(val 'netd_containers{state="running"}')" "2"
t_eq "published ports: the container's and the pod's" "$(val netd_published_ports)" "2"
t_eq "this host's endpoints on n: two containers" "$(val 'netd_network_endpoints{network="n",owner="container"}')" "2"
t_eq "one CNI pod" "$(val 'netd_network_endpoints{network="n",owner="cni"}')" "1"
t_eq "no Docker endpoint" "$(val 'netd_network_endpoints{network="n",owner="docker"}')" "0"
t_eq "no service holds a port" "$(val netd_service_published_ports)" "0"
t_eq "the 404 is counted by route" "$(val 'netd_http_requests_total{server="api",method="GET",route="/v1/containers/{ref}",code="404"}')" "1"
t_match "DNS queries of network n" "$(val 'netd_dns_queries_total{network="n"}')" '^[1-9]'
t_eq "attach latencies of containers (two endpoints wired)" "$(val 'netd_attach_duration_seconds_count{owner="container"}')" "2"
t_eq "the events stream is counted once" "$(val 'netd_http_request_duration_seconds_count{server="api",method="GET",route="/v1/events"}')" "1"
t_ok "for the time to its head, not its 2 s" awk -v v="$(val 'netd_http_request_duration_seconds_sum{server="api",method="GET",route="/v1/events"}')" 'BEGIN { exit !(v != "" && v < 0.5) }'
t_match "nftables batches and their latency" "$(val netd_nft_batch_duration_seconds_count)" '^[1-9]'
t_match "store commits with fsync latency" "$(val netd_store_commit_duration_seconds_count)" '^[1-9]'
t_match "event-loop lag" "$(val netd_event_loop_lag_seconds_count)" '^[1-9]'
t_match "open descriptors" "$(val process_open_fds)" '^[1-9]'
info() { curl -s --unix-socket "$(nd_sock h)" http://netd/v1/info; }
t_eq "/v1/info has the loop lag, numbers >= 0" \
        "$(info | jq '.Loop | [.LagSeconds, .LagMaxSeconds] | all(type == "number" and . >= 0)')" "true"
t_eq "the lag's window" "$(info | jq '.Loop.WindowSeconds')" "60"
t_eq "the max is at least the latest" "$(info | jq '.Loop.LagMaxSeconds >= .Loop.LagSeconds')" "true"
t_ok "--metrics-addr serves the same over TCP" sh -c "ip netns exec ${ND_NSP}-h curl -sf http://127.0.0.1:9465/metrics | promtool check metrics"
t_eq "and nothing else there" "$(nd_on h curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9465/v1/networks)" "404"

# a real Prometheus server scrapes it
mkdir -p "$ND_TMP/prom"
cat >"$ND_TMP/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: netd
    static_configs:
      - targets: ['127.0.0.1:9465']
YML
nd_bg nd_on h prometheus --config.file="$ND_TMP/prom/prometheus.yml" --storage.tsdb.path="$ND_TMP/prom/data" \
        --web.listen-address=127.0.0.1:9490
t_ok "prometheus is ready" nd_eventually 30 sh -c "ip netns exec ${ND_NSP}-h curl -sf http://127.0.0.1:9490/-/ready"
q() { nd_on h curl -s "http://127.0.0.1:9490/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }
t_ok "it scraped netd (up == 1)" nd_eventually 15 sh -c "[ \"\$(ip netns exec ${ND_NSP}-h curl -s http://127.0.0.1:9490/api/v1/query --data-urlencode 'query=up{job=\"netd\"}' | jq -r '.data.result[0].value[1] // empty')\" = 1 ]"
t_eq "Prometheus sees two running containers" "$(q 'netd_containers{state="running"}')" "2"
t_match "and the API requests" "$(q 'sum(netd_http_requests_total{server="api"})')" '^[1-9]'
t_ok "a third container" nd_ctl h run -d --name c --network n sleep 600
t_ok "Prometheus sees three after a scrape" nd_eventually 10 sh -c "[ \"\$(ip netns exec ${ND_NSP}-h curl -s http://127.0.0.1:9490/api/v1/query --data-urlencode 'query=netd_containers{state=\"running\"}' | jq -r '.data.result[0].value[1] // empty')\" = 3 ]"

# detach latency by owner kind, DNS queries by type: nothing detached yet;
# a few dig queries of different types (all answered locally: names of
# network n) and a container removed move them
t_eq "no detach measured before a removal" "$(val 'netd_detach_duration_seconds_count{owner="container"}')" "0"
t_eq "the CNI owner's detach series is there" "$(val 'netd_detach_duration_seconds_count{owner="cni"}')" "0"
t_eq "and the Docker owner's" "$(val 'netd_detach_duration_seconds_count{owner="docker"}')" "0"
t_eq "queries by type add up to the queries" \
        "$(awk '$1 ~ /^netd_dns_queries_by_type_total\{network="n",/ {s += $2} END {print s + 0}' "$ND_TMP/m.txt")" \
        "$(val 'netd_dns_queries_total{network="n"}')"
cp "$ND_TMP/m.txt" "$ND_TMP/before.txt"
# (-q: the container's name "a" would be taken for the type A)
A_IP=$(nd_ctns h b dig +short +time=2 +tries=1 @127.0.0.11 -q a -t A)
t_match "dig A" "$A_IP" '^10\.85\.0\.[0-9]+$'
t_eq "dig PTR" "$(nd_ctns h b dig +short +time=2 +tries=1 @127.0.0.11 -x "$A_IP")" "a.n."
for ty in AAAA SRV TXT MX ANY NS; do
        t_match "dig $ty: answered" "$(nd_ctns h b dig +time=2 +tries=1 @127.0.0.11 -q a -t "$ty")" 'status: NOERROR'
done
t_ok "container c removed" nd_ctl h rm -f c
scrape >"$ND_TMP/m.txt"
t_ok "promtool check metrics passes after" sh -c "promtool check metrics <'$ND_TMP/m.txt'"
moved() { # moved SERIES: the value now minus before
        awk -v k="$1" '$1 == k {v[FILENAME] = $2} END {print v[ARGV[2]] - v[ARGV[1]]}' "$ND_TMP/before.txt" "$ND_TMP/m.txt"
}
for ty in SRV TXT MX ANY other; do
        t_eq "one $ty query counted" "$(moved "netd_dns_queries_by_type_total{network=\"n\",type=\"$ty\"}")" "1"
done
for ty in A AAAA PTR; do
        t_match "$ty queries counted" "$(moved "netd_dns_queries_by_type_total{network=\"n\",type=\"$ty\"}")" '^[1-9]'
done
t_eq "still adding up" \
        "$(awk '$1 ~ /^netd_dns_queries_by_type_total\{network="n",/ {s += $2} END {print s + 0}' "$ND_TMP/m.txt")" \
        "$(val 'netd_dns_queries_total{network="n"}')"
t_eq "c's endpoint is gone from n" "$(val 'netd_network_endpoints{network="n",owner="container"}')" "2"
t_ok "the pod deleted" pod DEL
t_eq "its endpoint and port go with it" \
        "$(scrape | awk '$1 == "netd_network_endpoints{network=\"n\",owner=\"cni\"}" || $1 == "netd_published_ports" {print $2}' | tr '\n' ' ')" "1 0 "
# rm -f answers once the removal is durable; its pair goes on the
# reaper and is measured when it is gone
detached() { [ "$(scrape | awk '$1 == "netd_detach_duration_seconds_count{owner=\"container\"}" {print $2}')" = 1 ]; }
t_ok "the removal's pair delete measured, as a container's" nd_eventually 10 detached
scrape >"$ND_TMP/m.txt"
t_ok "in a time > 0 and < 1 s (a grace period is ~10 ms)" awk -v v="$(val 'netd_detach_duration_seconds_sum{owner="container"}')" 'BEGIN { exit !(v > 0 && v < 1) }'
# the pod's DEL is the one CNI detach; nothing was Docker's
cni_detached() { [ "$(scrape | awk '$1 == "netd_detach_duration_seconds_count{owner=\"cni\"}" {print $2}')" = 1 ]; }
t_ok "the pod's DEL measured as a CNI detach, once" nd_eventually 10 cni_detached
scrape >"$ND_TMP/m.txt"
t_eq "the container's still counted once, not as another kind's" \
        "$(val 'netd_detach_duration_seconds_count{owner="container"}') $(val 'netd_detach_duration_seconds_count{owner="docker"}')" "1 0"
t_ok "Prometheus sees the detach" nd_eventually 10 sh -c "[ \"\$(ip netns exec ${ND_NSP}-h curl -s http://127.0.0.1:9490/api/v1/query --data-urlencode 'query=netd_detach_duration_seconds_count{owner=\"container\"}' | jq -r '.data.result[0].value[1] // empty')\" = 1 ]"
nd_done
