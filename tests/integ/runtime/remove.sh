#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Removal answers before the kernel's grace periods (docs/api.md): once a
# container is out of netd's view and its removal is recorded.  Its veths,
# namespace, cgroups and bundle go just after, and until then its name and
# addresses stay held: a run that asks for either waits instead of failing.
# A bulk `rm -f` goes side by side, dependents (container:NAME) before
# their namespace's owner, and leaves the API answering; --wait answers
# only after the teardown; a netd killed mid-teardown leaves nothing once
# it is back.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
nd_rootfs h
NS=${ND_NSP}-h
nd_ctl h network create --subnet 10.66.0.0/24 net >/dev/null

id_of() { nd_ctl h inspect "$1" | jq -r '.[0].Id'; }
names_listed() { nd_ctl h ps -a --format json | jq -r '.[].Name'; }
# leftovers ID...: what of these containers is still in the kernel or on
# disk: veths, namespace files, bundles, cgroups (one word per thing left)
leftovers() {
        local id d
        for id in "$@"; do
                ip -n "$NS" -o link show | grep -q "vnd${id:0:8}-" && echo "veth:${id:0:12}"
                [ -e "$ND_TMP/h/run/netns/$id" ] && echo "netns:${id:0:12}"
                [ -e "$ND_TMP/h/state/containers/$id" ] && echo "bundle:${id:0:12}"
                for d in /sys/fs/cgroup/netd /sys/fs/cgroup/memory/netd /sys/fs/cgroup/pids/netd; do
                        [ -e "$d/$id" ] && echo "cgroup:${id:0:12}"
                done
        done
        return 0
}
none_left() { [ -z "$(leftovers "$@")" ]; }

# ---- (a) rm -f, then at once a run with the same name and address ----------
nd_ctl h run -d --name web --network net --ip 10.66.0.50 sleep 600 >/dev/null
old=$(id_of web)
t_ok "rm -f web" nd_ctl h rm -f web
t_eq "web is out of ps -a at once" "$(names_listed | grep -cx web)" "0"
t_ok "run with the same name and --ip right after (it waits for the old pair)" \
        nd_ctl h run -d --name web --network net --ip 10.66.0.50 sleep 600
new=$(id_of web)
t_match "a new container" "$new" "^[0-9a-f]{64}$"
[ "$new" != "$old" ] && t_pass "with a new id" || t_fail "with a new id"
t_eq "it has the address" "$(nd_ctl h inspect web | jq -r '.[0].Endpoints[0].IPAddress')" "10.66.0.50"
t_ok "it answers on it" nd_on h busybox ping -c 1 -W 2 10.66.0.50
t_ok "nothing of the old one is left" nd_eventually 10 none_left "$old"
t_eq "one address record for 10.66.0.50" "$(nd_ctl h ipam ls net | grep -c '10\.66\.0\.50\b')" "1"

# a run of an address that a removed container still holds, on a network
# whose only free address is that one: it waits, then gets it
nd_ctl h network create --subnet 10.67.0.0/30 tiny >/dev/null
nd_ctl h run -d --name t1 --network tiny sleep 600 >/dev/null
t_match "the /30 is full" "$(nd_ctl h run -d --network tiny sleep 600 2>&1)" "no free IPv4 address"
t_ok "rm -f t1" nd_ctl h rm -f t1
t_ok "a run on the full network right after waits for t1's address" nd_ctl h run -d --name t2 --network tiny sleep 600
nd_ctl h rm -f t2 >/dev/null

# --wait: the old order, the answer after the teardown
nd_ctl h run -d --name w --network net sleep 600 >/dev/null
wid=$(id_of w)
t_ok "rm -f --wait" nd_ctl h rm -f --wait w
t_eq "nothing of it is left when it returns" "$(leftovers "$wid")" ""

# ---- (b) a bulk rm of 100 leaves the API answering -------------------------
nd_ctl h network create --subnet 10.69.0.0/24 bulk >/dev/null
for i in $(seq 1 100); do
        nd_ctl h run -d --name "b$i" --network bulk sleep 600 >/dev/null || t_fail "run b$i"
done
# two namespaces shared: each owner named before its dependents
nd_ctl h run -d --name owner1 --network bulk sleep 600 >/dev/null
nd_ctl h run -d --name dep1 --network container:owner1 sleep 600 >/dev/null
nd_ctl h run -d --name owner2 --network none sleep 600 >/dev/null
nd_ctl h run -d --name dep2 --network container:owner2 sleep 600 >/dev/null
mapfile -t ids < <(nd_ctl h ps -a --format json | jq -r '.[] | select(.Name != "web") | .Id')
t_eq "104 containers to remove" "${#ids[@]}" "104"
names=(owner1 owner2 $(seq -f 'b%g' 1 100) dep1 dep2)
nd_ctl h rm -f "${names[@]}" >"$ND_TMP/rm.out" 2>"$ND_TMP/rm.err" &
rm_pid=$!
worst=0 polls=0
now_ms() { local t=$EPOCHREALTIME; echo $((${t/./} / 1000)); }
end=$(($(now_ms) + 3000))
while [ "$(now_ms)" -lt "$end" ]; do
        a=$(now_ms)
        nd_ctl h ps -a >/dev/null || t_fail "ps during the bulk rm"
        b=$(now_ms)
        [ $((b - a)) -gt "$worst" ] && worst=$((b - a))
        polls=$((polls + 1))
        sleep 0.02
done
wait "$rm_pid"
t_eq "the bulk rm -f succeeds" "$?" "0"
t_eq "it prints every name, in the order given" "$(cat "$ND_TMP/rm.out")" "$(printf '%s\n' "${names[@]}")"
t_eq "and no error" "$(cat "$ND_TMP/rm.err")" ""
echo "# ps during and after the bulk rm: $polls calls, worst ${worst} ms"
t_ok "ps answers promptly meanwhile (worst under $ND_SLOW s)" test "$worst" -lt $((ND_SLOW * 1000))

# ---- (c) after rm returns: gone from ps -a; after a bounded wait, from the
# kernel and the disk too ------------------------------------------------------
t_eq "ps -a lists none of them" "$(names_listed)" "web"
t_ok "their veths, namespaces, cgroups and bundles go within 10 s" nd_eventually 10 none_left "${ids[@]}"
t_eq "what is left" "$(leftovers "${ids[@]}")" ""
t_ok "netd's teardown is idle" nd_settled h
t_eq "only web's address is in use" "$(nd_ctl h ipam ls net | tail -n +2 | wc -l)" "1"

# network rm right after a bulk rm: it waits for the addresses
for i in $(seq 1 30); do nd_ctl h run -d --name "n$i" --network bulk sleep 600 >/dev/null; done
t_ok "rm -f of 30 on bulk, then network rm bulk at once" sh -c \
        "NETD_SOCKET=$(nd_sock h) $NETCTL rm -f \$(seq -f 'n%g' 1 30) >/dev/null &&
         NETD_SOCKET=$(nd_sock h) $NETCTL network rm bulk"

# a busy owner in a bulk rm whose dependent is not in it: the error once,
# the rest removed
nd_ctl h run -d --name o3 --network net sleep 600 >/dev/null
nd_ctl h run -d --name d3 --network container:o3 sleep 600 >/dev/null
nd_ctl h run -d --name x3 --network net sleep 600 >/dev/null
out=$(nd_ctl h rm -f o3 x3 2>&1)
t_eq "rm -f o3 x3 fails" "$?" "1"
t_eq "saying why once, x3 removed" "$out" "netctl: container 'o3' shares its network with running container 'd3'
x3"
t_eq "o3 and d3 stay" "$(names_listed | grep -E '^(o3|d3|x3)$' | sort | tr '\n' ' ')" "d3 o3 "
t_ok "rm -f d3 o3 (dependent first) works" nd_ctl h rm -f d3 o3
t_ok "network rm of net once web is gone" sh -c \
        "NETD_SOCKET=$(nd_sock h) $NETCTL rm -f web >/dev/null && NETD_SOCKET=$(nd_sock h) $NETCTL network rm net"

# ---- netd stopped, then killed, between the answer and the end of the
# teardown: it stops cleanly (a run waiting for a removed container gets no
# answer, its connection closes), and a restart removes what was left ----
nd_ctl h network create --subnet 10.68.0.0/24 net2 >/dev/null
for i in $(seq 1 20); do nd_ctl h run -d --name "k$i" --network net2 sleep 600 >/dev/null; done
mapfile -t kids < <(nd_ctl h ps -a --format json | jq -r '.[].Id')
nd_ctl h rm -f $(seq -f 'k%g' 1 20) >/dev/null
nd_ctl h run -d --name k1 --network net2 sleep 600 >/dev/null 2>&1 &
sleep 0.01
t_ok "netd stops cleanly while their teardown runs" nd_stop "$ND_PID"
wait $!
nd_start h || exit 1
t_ok "after a restart nothing of them is left" nd_eventually 10 none_left "${kids[@]}"
nd_ctl h rm -f k1 >/dev/null 2>&1
t_ok "their addresses are free" nd_eventually 5 sh -c \
        "[ \$(NETD_SOCKET=$(nd_sock h) $NETCTL ipam ls net2 | tail -n +2 | wc -l) = 0 ]"

for i in $(seq 1 20); do nd_ctl h run -d --name "k$i" --network net2 sleep 600 >/dev/null; done
mapfile -t kids < <(nd_ctl h ps -a --format json | jq -r '.[].Id')
nd_ctl h rm -f $(seq -f 'k%g' 1 20) >/dev/null
kill -9 "$ND_PID"
wait "$ND_PID" 2>/dev/null
nd_start h || exit 1
t_eq "killed: after a restart ps -a is empty" "$(nd_ctl h ps -a -q | wc -l)" "0"
t_ok "and nothing of them is left" nd_eventually 10 none_left "${kids[@]}"
t_eq "no address held on net2" "$(nd_ctl h ipam ls net2 | tail -n +2 | wc -l)" "0"
t_ok "the name and address of one can be used again" nd_ctl h run -d --name k1 --network net2 sleep 600
nd_ctl h rm -f k1 >/dev/null
t_ok "netd stops cleanly" nd_stop "$ND_PID"
nd_done
