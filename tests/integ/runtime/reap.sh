#!/bin/bash
# The link reaper's batches (netd/kernel/link-reaper.c), driven through
# bench-reap: links queued together go in one group delete and all go;
# links already in netd's groups that were not queued stay; a batch the
# kernel refuses as a group (one member without dellink: lo, renamed into
# the batch) goes one by one, fails for that link alone and leaves it in
# its own group.
. "$ND_SRC/tests/integ/lib/netns.sh"
BIN=$ND_BUILD/bench/bench-reap
[ -x "$BIN" ] || { echo "SKIP: bench-reap not built"; exit 77; }

nd_host h
NS=${ND_NSP}-h
pairs() {
        local i
        for ((i = $1; i < $2; i++)); do
                ip -n "$NS" link add ra$i type veth peer name rb$i || return 1
        done
}
left() { ip -n "$NS" -o link show | grep -c ': r[ab][0-9]*@'; }
group_of() { ip -n "$NS" -d link show "$1" | sed -n 's/.* group \([^ ]*\) .*/\1/p' | head -1; }

pairs 0 40
ip -n "$NS" link add keep0 type veth peer name keep1
ip -n "$NS" link set keep0 group $((0x6e640000))
ip -n "$NS" link set keep1 group $((0x6e640001))
read -r _ groups failed < <(ip netns exec "$NS" "$BIN" ra 40 queued)
t_eq "queued deletes all succeed" "$failed" 0
t_match "at least one group delete" "$groups" '^[1-9]'
t_eq "every pair gone" "$(left)" 0
t_ok "a link already in netd's first group stays" ip -n "$NS" link show keep0
t_ok "a link already in netd's second group stays" ip -n "$NS" link show keep1

pairs 0 20
read -r _ _ failed < <(ip netns exec "$NS" "$BIN" ra 20 serial)
t_eq "one at a time all succeed" "$failed" 0
t_eq "every pair gone, one at a time" "$(left)" 0

pairs 0 3
pairs 4 8
ip -n "$NS" link set lo down
ip -n "$NS" link set lo name ra3
read -r _ _ failed < <(ip netns exec "$NS" "$BIN" ra 8 queued)
t_eq "a refused group delete: only the link without dellink fails" "$failed" 1
t_eq "the others gone one by one" "$(left)" 0
t_eq "the link left behind is back in the default group" "$(group_of ra3)" default
nd_done
