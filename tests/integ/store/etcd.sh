#!/bin/bash
# The etcd store backend against a real etcd (Debian's etcd-server) in a
# throwaway namespace: the store contract (transactions, CAS, ordering,
# watches live and resumed, leases), a watch that loses and repeats
# nothing across an etcd restart, lease expiry, and fail-over in a
# three-member cluster with one member stopped.
. "$ND_SRC/tests/integ/lib/netns.sh"
CHECK=$ND_BUILD/tests/integ/store-check

nd_host e
nd_etcd e solo 127.0.0.1 || exit 1
SOLO=$ND_ETCD_PID
t_ok "store contract against etcd" nd_on e "$CHECK" etcd://127.0.0.1:2379 basic
cat "$ND_TMP/out" | grep -c '^ok' | sed 's/^/# /; s/$/ checks/'

# an etcd restart in the middle of a stream of writes
nd_on e "$CHECK" etcd://127.0.0.1:2379 stream 200 >"$ND_TMP/stream.out" 2>"$ND_TMP/stream.err" &
STREAM=$!
ND_PIDS+=("$STREAM")
nd_eventually 20 grep -q "progress 60" "$ND_TMP/stream.err"
kill -9 "$SOLO"
wait "$SOLO" 2>/dev/null
sleep 1
nd_etcd e solo 127.0.0.1 "" existing || exit 1
if wait "$STREAM"; then t_pass "a watch loses and repeats nothing across an etcd restart"
else t_fail "a watch loses and repeats nothing across an etcd restart"; cat "$ND_TMP/stream.out" "$ND_TMP/stream.err" | tail -5; fi
grep '^#' "$ND_TMP/stream.out"

t_ok "a lease not kept alive expires and deletes its keys" nd_on e "$CHECK" etcd://127.0.0.1:2379 lease-expire 2
grep "TTL" "$ND_TMP/out" | sed 's/^/# /'

# TLS: a private CA, a server certificate for 127.0.2.1 and a client
# certificate that etcd requires
if command -v openssl >/dev/null; then
        pki=$ND_TMP/pki
        mkdir -p "$pki"
        (
                cd "$pki" || exit 1
                openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=nd-test-ca
                openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=etcd
                # etcd's gateway dials its own gRPC port with the server certificate,
                # so with client-cert-auth that certificate must be a client one too
                printf 'subjectAltName=IP:127.0.2.1\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
                openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
                        -extfile server.ext
                openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=netd
                printf 'extendedKeyUsage=clientAuth\n' >client.ext
                openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 \
                        -extfile client.ext
        ) >"$ND_TMP/pki.log" 2>&1
        ip -n "${ND_NSP}-e" addr add 127.0.2.1/8 dev lo 2>/dev/null
        mkdir -p "$ND_TMP/etcd-tls"
        nsenter --net="/run/netns/${ND_NSP}-e" etcd --name tls --data-dir "$ND_TMP/etcd-tls/data" \
                --listen-client-urls https://127.0.2.1:2379 --advertise-client-urls https://127.0.2.1:2379 \
                --listen-peer-urls http://127.0.2.1:2380 --initial-advertise-peer-urls http://127.0.2.1:2380 \
                --initial-cluster tls=http://127.0.2.1:2380 --cert-file "$pki/server.pem" --key-file "$pki/server.key" \
                --trusted-ca-file "$pki/ca.pem" --client-cert-auth >"$ND_TMP/etcd-tls/log" 2>&1 &
        ND_PIDS+=("$!")
        nd_eventually 10 nd_on e curl -sf --cacert "$pki/ca.pem" --cert "$pki/client.pem" --key "$pki/client.key" \
                https://127.0.2.1:2379/health
        t_ok "TLS with a client certificate: the contract holds" nd_on e "$CHECK" \
                "etcds://127.0.2.1:2379?cacert=$pki/ca.pem&cert=$pki/client.pem&key=$pki/client.key" basic
        t_err "without the client certificate etcd refuses (and the error is reported)" nd_on e "$CHECK" \
                "etcds://127.0.2.1:2379?cacert=$pki/ca.pem" basic
        t_err "an unknown CA is refused" nd_on e "$CHECK" \
                "etcds://127.0.2.1:2379?cacert=$pki/client.pem&cert=$pki/client.pem&key=$pki/client.key" basic
fi

# three members; the client knows all three and the first one is stopped
for i in 1 2 3; do ip -n "${ND_NSP}-e" addr add "127.0.1.$i/8" dev lo 2>/dev/null; done
CL="m1=http://127.0.1.1:2380,m2=http://127.0.1.2:2380,m3=http://127.0.1.3:2380"
declare -A MP
for i in 1 2 3; do nd_etcd e "m$i" "127.0.1.$i" "$CL"; MP[$i]=$ND_ETCD_PID; done
nd_etcd_ready e 127.0.1.1 || exit 1
URL=etcd://127.0.1.1:2379,127.0.1.2:2379,127.0.1.3:2379
t_ok "three-member cluster: contract" nd_on e "$CHECK" "$URL" basic
kill -9 "${MP[1]}"
t_ok "first member stopped: the client fails over and the contract holds" nd_on e "$CHECK" "$URL" basic
t_ok "a stream of writes with a member down" nd_on e "$CHECK" "$URL" stream 50
nd_done
