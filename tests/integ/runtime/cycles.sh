#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 100 run/rm cycles leak no links, namespaces, mounts, cgroups or store
# records.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
nd_rootfs h
nd_ctl h network create --subnet 10.64.0.0/24 net >/dev/null
nd_ctl h run -d --name anchor --network net sleep 600 >/dev/null

snapshot() {
        echo "links=$(ip -n "${ND_NSP}-h" -o link | wc -l)"
        echo "netns=$(ls "$ND_TMP/h/run/netns" | wc -l)"
        echo "mounts=$(grep -c " $ND_TMP/" /proc/mounts)"
        echo "bundles=$(ls "$ND_TMP/h/state/containers" | wc -l)"
        echo "containers=$(nd_ctl h ps -a -q | wc -l)"
        echo "addresses=$(nd_ctl h ipam ls net | tail -n +2 | wc -l)"
}
before=$(snapshot)
fails=0
ids=()
for i in $(seq 1 100); do
        id=$(nd_ctl h run -d --network net sleep 600) || fails=$((fails + 1))
        ids+=("$id")
        nd_ctl h rm -f "$id" >/dev/null || fails=$((fails + 1))
done
t_eq "100 run/rm cycles without an error" "$fails" "0"
t_ok "their teardown finishes" nd_settled h
after=$(snapshot)
t_eq "nothing leaked" "$after" "$before"
# cgroups are machine-wide (other tests run in parallel): look for ours
left=0
for id in "${ids[@]}"; do
        for d in /sys/fs/cgroup/netd/"$id" /sys/fs/cgroup/memory/netd/"$id" /sys/fs/cgroup/pids/netd/"$id"; do
                [ -e "$d" ] && left=$((left + 1))
        done
done
t_eq "no cgroup left behind" "$left" "0"
t_ok "the anchor container is still reachable" nd_in h anchor ping -c 1 -W 2 10.64.0.1
nd_ctl h rm -f anchor >/dev/null
nd_stop "$ND_PID"
nd_done
