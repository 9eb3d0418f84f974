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

# three members; the client knows all three and the first one is stopped
for i in 1 2 3; do ip -n "nd-$$-e" addr add "127.0.1.$i/8" dev lo 2>/dev/null; done
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
