#!/bin/bash
# kill -9 of netd while containers start (issue 14): 20 parallel `run -d`
# and a kill -9 120 ms, 400 ms and 800 ms later.  After a restart every live workload
# is adopted as running, nothing runs twice (a start of the others makes
# one monitor each at most), and `rm -f` leaves no monitor, process,
# cgroup, namespace mount or bundle.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "a network" nd_ctl h network create --subnet 10.86.0.0/24 n
STATE=$ND_TMP/h/state

# monitors of this netd: "ID PID" per line
monitors() {
        local p argv
        for p in /proc/[0-9]*; do
                mapfile -d '' -t argv 2>/dev/null <"$p/cmdline" || continue
                [ "${argv[0]:-}" = netd-monitor ] && [[ ${argv[1]:-} == "$STATE/containers/"* ]] &&
                        echo "$(basename "${argv[1]}") ${p#/proc/}"
        done
}

for round in 1 2 3; do
        delay=$(echo "0.12 0.4 0.8" | cut -d' ' -f$round)
        RUNS=()
        for i in $(seq 1 20); do
                nd_ctl h run -d --name "r$round-$i" --network n sleep 600 >/dev/null 2>&1 &
                RUNS+=("$!")
        done
        sleep "$delay"
        kill -9 "$ND_PID"
        wait "$ND_PID" 2>/dev/null
        wait "${RUNS[@]}" 2>/dev/null
        nd_start h >/dev/null || exit 1
        live=$(monitors)
        bad=0
        while read -r id pid; do
                [ -n "$id" ] || continue
                st=$(nd_ctl h inspect "$id" 2>/dev/null | jq -r '.[0].State.Status')
                [ "$st" = running ] || { echo "    $id: monitor $pid alive, status '$st'"; bad=$((bad + 1)); }
        done <<<"$live"
        t_eq "round $round: every live monitor's container is running ($(echo "$live" | grep -c .) monitors)" "$bad" "0"
        t_eq "round $round: no bundle has two monitors" "$(echo "$live" | awk 'NF {print $1}' | sort | uniq -d)" ""
done

# a create killed between making the namespace and raising its loopback
# (seen in CI): start repairs it, and the resolver can bind 127.0.0.11
t_ok "a created container" nd_ctl h create --name lo-down --network n sleep 600
id=$(nd_ctl h inspect lo-down | jq -r '.[0].Id')
nsenter --net="$ND_TMP/h/run/netns/$id" ip link set lo down
t_ok "starts although its loopback was down" nd_ctl h start lo-down
t_ok "and resolves through 127.0.0.11" nd_in h lo-down nslookup lo-down 127.0.0.11

# start whatever is not running: still one monitor per container
# (a container whose record is still being written after its adoption
# answers "busy": a second pass a moment later starts it)
for pass in 1 2; do
        for id in $(nd_ctl h ps -a -q); do
                [ "$(nd_ctl h inspect "$id" | jq -r '.[0].State.Status')" = running ] ||
                        nd_ctl h start "$id" >>"$ND_TMP/starts" 2>&1
        done
        sleep 1
done
t_eq "after starting the rest, no container runs twice" "$(monitors | awk '{print $1}' | sort | uniq -d)" ""
nd_ctl h ps -a >"$ND_TMP/ps"
t_eq "and every container is running" "$(tail -n +2 "$ND_TMP/ps" | grep -vc ' running')" "0"
grep -v ' running' "$ND_TMP/ps" | tail -n +2 | sed 's/^/    not running: /'
sed 's/^/    start said: /' "$ND_TMP/starts" 2>/dev/null | grep -v "start said: [0-9a-f]*$" | head
first=$(nd_ctl h ps -q | head -1)
t_ok "they work (${first:-none})" nd_in h "$first" true

t_ok "rm -f every container" sh -c "NETD_SOCKET=$(nd_sock h) $NETCTL rm -f \$(NETD_SOCKET=$(nd_sock h) $NETCTL ps -a -q)"
t_eq "no monitor is left" "$(monitors | grep -c .)" "0"
t_ok "their teardown finishes" nd_settled h
t_eq "no bundle is left" "$(ls "$STATE/containers" 2>/dev/null | grep -c .)" "0"
left=0
# directories only (`ls` of several directories prints their names as
# headers, which a log line naming a cgroup path would match)
for d in /sys/fs/cgroup/{pids,memory,devices,unified}/netd/*/ /sys/fs/cgroup/netd/*/; do
        [ -d "$d" ] || continue
        id=$(basename "$d")
        [ -d "$STATE/containers/$id" ] && continue
        # only ours: ids this netd used (its log names them)
        grep -q "${id:0:12}" "$ND_TMP/h/netd.log" && left=$((left + 1))
done
t_eq "no cgroup of ours is left" "$left" "0"
t_eq "no namespace mount is left" "$(grep -c " $ND_TMP/h/run/netns/" /proc/self/mountinfo)" "0"
t_eq "no address is held" "$(nd_ctl h ipam ls n | tail -n +2 | grep -c .)" "0"
nd_done
