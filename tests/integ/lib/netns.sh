# SPDX-License-Identifier: Apache-2.0
# Sourced by integration tests.  Every test builds its own world: "hosts"
# are network namespaces named $ND_NSP-ROLE with loopback only (no route
# out), each netd gets its own state and run dirs under one temp dir, and
# everything is removed on exit, also when the test fails.
set -u

# The prefix of this run's namespace names: nd-PID, or PREFIX-PID with
# ND_NS_PREFIX=PREFIX, so that runs started by different people (or
# tools) on one machine are told apart by name, not only by PID.
ND_NSP=${ND_NS_PREFIX:-nd}-$$

ND_BUILD=${ND_BUILD:?ND_BUILD must point at the meson build dir}
NETD=$ND_BUILD/netd/netd
NETCTL=$ND_BUILD/netd/netctl
# ND_SLOW: how many times slower a sanitizer build runs netd and netctl
# (ASan + UBSan: about 3-4x), for the few checks that bound a wall time
ND_SLOW=1
ldd "$NETD" 2>/dev/null | grep -q libasan && ND_SLOW=4

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: integration tests need root"
        exit 77
fi
if ! ip netns add "$ND_NSP-probe" 2>/dev/null; then
        echo "SKIP: cannot create network namespaces"
        exit 77
fi
ip netns del "$ND_NSP-probe"

ND_TMP=$(mktemp -d /tmp/nd-integ.XXXXXX)
ND_NS=()
ND_PIDS=()
ND_DIRS=()
ND_FAILED=0
ND_PASSED=0
ND_DOCKERDS=()
ND_MADE_RUN_DOCKER=

# Containers outlive netd by design: end them by PID.  Their monitors run
# "netd-monitor BUNDLE" with BUNDLE under $ND_TMP; a container's init is its
# monitor's child.  One pass over /proc, without a process per entry (a
# bench leaves dozens of containers among hundreds of processes).
# nd_kill_containers [DIR]: only those whose bundle is under DIR (one
# host's state: "$ND_TMP/ROLE/", as a host that dies).
nd_kill_containers() {
        local under=${1:-$ND_TMP/} p pid stat ppid c
        local -a argv mons=()
        local -A kids=()
        for p in /proc/[0-9]*; do
                pid=${p#/proc/}
                read -r stat 2>/dev/null <"$p/stat" || continue
                stat=${stat##*) }      # the fields after "(comm)"
                read -r _ ppid _ <<<"$stat"
                kids[$ppid]+=" $pid"
                mapfile -d '' -t argv 2>/dev/null <"$p/cmdline" || continue
                [ "${argv[0]:-}" = netd-monitor ] && [[ ${argv[1]:-} == "$under"* ]] && mons+=("$pid")
        done
        for pid in "${mons[@]}"; do
                for c in ${kids[$pid]:-}; do
                        kill -9 "$c" 2>/dev/null
                done
                kill -9 "$pid" 2>/dev/null
        done
}

nd_cleanup() {
        local p n d
        for d in "${ND_DOCKERDS[@]}"; do
                nd_dockerd_stop "$d"
        done
        for p in "${ND_PIDS[@]}"; do
                kill -9 "$p" 2>/dev/null
        done
        for p in "${ND_PIDS[@]}"; do
                wait "$p" 2>/dev/null
        done
        nd_kill_containers
        sleep 0.1
        # namespace bind mounts of the sandboxes
        grep " $ND_TMP/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r umount -l 2>/dev/null
        for d in "$ND_TMP"/*/state/containers/*/; do
                [ -d "$d" ] || continue
                d=$(basename "$d")
                rmdir /sys/fs/cgroup/netd/"$d" /sys/fs/cgroup/memory/netd/"$d" /sys/fs/cgroup/pids/netd/"$d" \
                        /sys/fs/cgroup/devices/netd/"$d" /sys/fs/cgroup/unified/netd/"$d" 2>/dev/null
        done
        for n in "${ND_NS[@]}"; do
                ip netns del "$n" 2>/dev/null
        done
        for d in "${ND_DIRS[@]}"; do
                rm -rf "$d"
        done
        rm -rf "$ND_TMP"
        # /run/docker is shared by the tests that run a dockerd at the same
        # time (each mounts its own tmpfs over /run/docker/plugins in a
        # private mount namespace; removing the directory under another's
        # mount detaches it): the last one out removes it, once every
        # process that inherited the lock's descriptor is gone
        if [ -n "$ND_MADE_RUN_DOCKER" ]; then
                exec 9>&-
                flock -xn /run/nd-integ-docker.lock rmdir /run/docker/plugins /run/docker 2>/dev/null
        fi
}
trap nd_cleanup EXIT
# a timeout sends SIGTERM: exit through the EXIT trap
trap 'exit 143' TERM INT

# nd_host ROLE: create the namespace $ND_NSP-ROLE with loopback up.
nd_host() {
        local ns="$ND_NSP-$1"
        ip netns add "$ns" || return 1
        ND_NS+=("$ns")
        ip -n "$ns" link set lo up
        mkdir -p "$ND_TMP/$1"
}

nd_sock() { echo "$ND_TMP/$1/run/netd.sock"; }

# nd_start ROLE [netd args...]: start netd in ROLE's namespace, wait for its
# socket.  Sets ND_PID.  The log is $ND_TMP/ROLE/netd.log.
nd_start() {
        local role=$1
        shift
        # nsenter, not `ip netns exec`: the runtime needs the host's /sys
        # (cgroups), which ip netns exec hides behind a fresh sysfs mount.
        nsenter --net="/run/netns/$ND_NSP-$role" "$NETD" --state-dir "$ND_TMP/$role/state" \
                --run-dir "$ND_TMP/$role/run" --log-level debug "$@" >>"$ND_TMP/$role/netd.log" 2>&1 &
        ND_PID=$!
        ND_PIDS+=("$ND_PID")
        local i
        for i in $(seq 1 100); do
                if [ -S "$(nd_sock "$role")" ] && curl -sf --unix-socket "$(nd_sock "$role")" http://netd/v1/version >/dev/null; then
                        return 0
                fi
                if ! kill -0 "$ND_PID" 2>/dev/null; then
                        echo "netd exited during start-up:"
                        cat "$ND_TMP/$role/netd.log"
                        return 1
                fi
                sleep 0.05
        done
        echo "netd did not come up; log:"
        cat "$ND_TMP/$role/netd.log"
        return 1
}

# nd_stop PID: SIGTERM and wait; returns netd's exit status.
# nd_stop PID [ROLE]: SIGTERM and its exit status; with ROLE, a failure
# also shows what netd wrote besides its log lines (a sanitizer's report).
nd_stop() {
        local rc
        kill -TERM "$1"
        wait "$1"
        rc=$?
        [ "$rc" = 0 ] || [ -z "${2:-}" ] || { echo "netd exited $rc"; grep -v '^ts=' "$ND_TMP/$2/netd.log" | head -60; }
        return "$rc"
}

nd_ctl() {
        local role=$1
        shift
        NETD_SOCKET=$(nd_sock "$role") "$NETCTL" "$@"
}

# nd_api ROLE METHOD PATH [BODY]: prints "STATUS BODY".
nd_api() {
        local role=$1 method=$2 path=$3 out code
        out=$(mktemp -p "$ND_TMP")
        if [ $# -ge 4 ]; then
                code=$(curl -s -o "$out" -w '%{http_code}' --unix-socket "$(nd_sock "$role")" -X "$method" \
                        -H 'Content-Type: application/json' --data-binary "$4" "http://netd$path")
        else
                code=$(curl -s -o "$out" -w '%{http_code}' --unix-socket "$(nd_sock "$role")" -X "$method" "http://netd$path")
        fi
        echo "$code $(cat "$out")"
        rm -f "$out"
}

t_pass() { ND_PASSED=$((ND_PASSED + 1)); echo "ok - $1"; }
t_fail() { ND_FAILED=$((ND_FAILED + 1)); echo "not ok - $1"; }

# t_ok DESC CMD...: CMD must succeed.
t_ok() {
        local d=$1
        shift
        if "$@" >"$ND_TMP/out" 2>&1; then t_pass "$d"; else t_fail "$d"; sed 's/^/    /' "$ND_TMP/out"; fi
}
# t_err DESC CMD...: CMD must fail.
t_err() {
        local d=$1
        shift
        if "$@" >"$ND_TMP/out" 2>&1; then t_fail "$d (succeeded)"; sed 's/^/    /' "$ND_TMP/out"; else t_pass "$d"; fi
}
# t_eq DESC GOT WANT
t_eq() {
        if [ "$2" = "$3" ]; then t_pass "$1"; else t_fail "$1"; echo "    got:  $2"; echo "    want: $3"; fi
}
# t_match DESC GOT REGEX
t_match() {
        if [[ $2 =~ $3 ]]; then t_pass "$1"; else t_fail "$1"; echo "    got:  $2"; echo "    want: /$3/"; fi
}

nd_done() {
        local l
        echo "# $ND_PASSED passed, $ND_FAILED failed"
        if [ "$ND_FAILED" != 0 ]; then
                for l in "$ND_TMP"/*/netd.log; do
                        [ -f "$l" ] || continue
                        echo "# --- last lines of $l"
                        grep -v 'level=debug' "$l" | tail -25 | sed 's/^/# /'
                done
        fi
        [ "$ND_FAILED" = 0 ]
}

# nd_rootfs ROLE: the busybox root filesystem as the daemon's default.
nd_rootfs() {
        nd_ctl "$1" rootfs init >/dev/null
}

# nd_in ROLE CONTAINER CMD...: run CMD in a container.
nd_in() {
        local role=$1
        shift
        nd_ctl "$role" exec "$@"
}

# nd_wire A B PREFIX4 [PREFIX6]: a veth pair between hosts A and B, A
# getting PREFIX4.1/24 (and PREFIX6::1/64), B .2 / ::2.  No default routes.
nd_wire() {
        local a=$1 b=$2 p4=$3 p6=${4:-}
        ip -n "$ND_NSP-$a" link add "to-$b" type veth peer name "to-$a" netns "$ND_NSP-$b" || return 1
        ip -n "$ND_NSP-$a" addr add "$p4.1/24" dev "to-$b"
        ip -n "$ND_NSP-$b" addr add "$p4.2/24" dev "to-$a"
        if [ -n "$p6" ]; then
                ip -n "$ND_NSP-$a" addr add "$p6::1/64" dev "to-$b" nodad
                ip -n "$ND_NSP-$b" addr add "$p6::2/64" dev "to-$a" nodad
        fi
        ip -n "$ND_NSP-$a" link set "to-$b" up
        ip -n "$ND_NSP-$b" link set "to-$a" up
}

# nd_on ROLE CMD...: run CMD in host ROLE's namespace.
nd_on() {
        local role=$1
        shift
        ip netns exec "$ND_NSP-$role" "$@"
}

# nd_ctns ROLE CONTAINER CMD...: run a host binary (socat, ...) in a
# container's network namespace.
nd_ctns() {
        local role=$1 ct=$2 id
        shift 2
        id=$(nd_ctl "$role" inspect "$ct" | jq -r '.[0].Id') || return 1
        nsenter --net="$ND_TMP/$role/run/netns/$id" "$@"
}

# nd_ctcg ROLE CONTAINER CMD...: nd_ctns, and in the container's cgroup v2
# directory too (kernel/sock-lb.h: where the socket balancer of service
# VIPs is attached), as a process of the container would be; exec'd.
nd_ctcg() {
        local role=$1 ct=$2 id cg=/sys/fs/cgroup
        shift 2
        id=$(nd_ctl "$role" inspect "$ct" | jq -r '.[0].Id') || return 1
        [ "$(stat -fc %T "$cg")" = cgroup2fs ] || cg=/sys/fs/cgroup/unified
        sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg/netd/$id" \
                nsenter --net="$ND_TMP/$role/run/netns/$id" "$@"
}

# nd_bg CMD...: start CMD in the background, remembered for cleanup.
# "nd_bg nd_on ROLE CMD" and "nd_bg nd_ctns ROLE CT CMD" run `ip netns
# exec` or nsenter directly, which exec CMD in the same process: the pid
# remembered is CMD's, not a subshell's whose death would leave CMD
# running.
nd_bg() {
        if [ "$1" = nd_on ]; then
                local role=$2
                shift 2
                set -- ip netns exec "$ND_NSP-$role" "$@"
        elif [ "$1" = nd_ctns ]; then
                local role=$2 ct=$3 id
                shift 3
                id=$(nd_ctl "$role" inspect "$ct" | jq -r '.[0].Id') || return 1
                set -- nsenter --net="$ND_TMP/$role/run/netns/$id" "$@"
        fi
        "$@" >/dev/null 2>&1 &
        ND_PIDS+=("$!")
}

# nd_eventually SECONDS CMD...: CMD succeeds within SECONDS (polls).
nd_eventually() {
        local t=$1 end
        shift
        end=$(($(date +%s%N) + t * 1000000000))
        while [ "$(date +%s%N)" -lt "$end" ]; do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        return 1
}

# nd_settled ROLE [SECONDS]: what netd tears down off its loop after
# answering is done (its link reaper idle: removed containers' veths,
# namespaces, cgroups and bundles gone, their addresses given back),
# within SECONDS (default 10).
nd_settled() {
        nd_eventually "${2:-10}" sh -c "curl -sf --unix-socket '$(nd_sock "$1")' http://netd/metrics |
                grep -qx 'netd_reaper_pending 0'"
}

# nd_wget ROLE CONTAINER URL: fetch URL from inside a container (busybox
# wget; its -T option crashes in Debian's busybox, so timeout(1) bounds it).
nd_wget() {
        NETD_SOCKET=$(nd_sock "$1") timeout 5 "$NETCTL" exec "$2" wget -q -O- "$3"
}

# nd_etcd ROLE NAME IP [CLUSTER [STATE]]: start an etcd member NAME in host
# ROLE's namespace, listening on IP (clients :2379, peers :2380); data on
# tmpfs (/dev/shm, so its fsyncs cost what a production SSD's would, not
# this machine's disk), log in $ND_TMP/etcd-NAME/log.
# CLUSTER: "n1=http://IP1:2380,..." (default: alone).
# Waits until it serves; sets ND_ETCD_PID.  Restart with the same NAME
# (and STATE "existing") to keep its data.
nd_etcd() {
        local role=$1 name=$2 ip=$3 cluster=${4:-$2=http://$3:2380} state=${5:-new} i
        command -v etcd >/dev/null || { echo "etcd not installed"; return 1; }
        local data=$ND_TMP/etcd-$name/data
        if [ -w /dev/shm ]; then
                data=/dev/shm/nd-etcd-$$-$name
                ND_DIRS+=("$data")
        fi
        mkdir -p "$ND_TMP/etcd-$name"
        nsenter --net="/run/netns/$ND_NSP-$role" etcd --name "$name" --data-dir "$data" \
                --listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379" \
                --listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380" \
                --initial-cluster "$cluster" --initial-cluster-state "$state" \
                --heartbeat-interval 50 --election-timeout 500 >>"$ND_TMP/etcd-$name/log" 2>&1 &
        ND_ETCD_PID=$!
        ND_PIDS+=("$ND_ETCD_PID")
        # a member of a new cluster serves once a quorum is up: callers of
        # a cluster wait with nd_etcd_ready after starting every member
        [ "$cluster" = "$name=http://$ip:2380" ] || return 0
        nd_etcd_ready "$role" "$ip"
}

# nd_etcd_ready ROLE IP: etcd at IP answers with a leader (10 s at most).
nd_etcd_ready() {
        local i
        for i in $(seq 1 200); do
                if ip netns exec "$ND_NSP-$1" curl -sf -m 1 "http://$2:2379/health" 2>/dev/null | grep -q '"true"'; then
                        return 0
                fi
                sleep 0.05
        done
        echo "etcd at $2 did not come up"
        tail -20 "$ND_TMP"/etcd-*/log
        return 1
}

# nd_underlay HOST...: a "switch" namespace ($ND_NSP-sw) with a bridge and
# one veth per host; host number i (in argument order) gets 10.99.0.i/24
# on "eth0", the switch 10.99.0.254.  No routes anywhere else.
nd_underlay() {
        local i=0 h
        nd_host sw || return 1
        ip -n "$ND_NSP-sw" link add sw0 type bridge
        ip -n "$ND_NSP-sw" addr add 10.99.0.254/24 dev sw0
        ip -n "$ND_NSP-sw" link set sw0 up
        for h in "$@"; do
                i=$((i + 1))
                nd_host "$h" || return 1
                ip -n "$ND_NSP-sw" link add "p-$h" type veth peer name eth0 netns "$ND_NSP-$h" || return 1
                ip -n "$ND_NSP-sw" link set "p-$h" master sw0 up
                ip -n "$ND_NSP-$h" addr add "10.99.0.$i/24" dev eth0
                ip -n "$ND_NSP-$h" link set eth0 up
        done
}

# nd_start_node ROLE N [netd args...]: netd on underlay host ROLE (address
# 10.99.0.N) joined to the etcd at $ND_ETCD_URL.
nd_start_node() {
        local role=$1 n=$2
        shift 2
        nd_start "$role" --store "$ND_ETCD_URL" ${ND_ETCD_TLS:---etcd-insecure} --advertise-addr "10.99.0.$n" --node-name "$role" \
                --dns 10.99.0.254 "$@"
}

# nd_dockerd ROLE PLUGIN_SOCKET: dockerd (Debian's docker.io) in host ROLE's
# namespace, with its own data and exec root under $ND_TMP/dk-ROLE, the
# configuration of examples/docker/daemon.json, and a mount namespace of
# its own where a tmpfs over /run/docker/plugins holds only netd's plugin
# socket (as netd.sock).  Waits until it serves (30 s); nd_docker ROLE
# ARGS runs the docker client against it.  nd_cleanup removes its
# containers and stops it.
nd_dockerd() {
        local role=$1 psock=$2 t=$ND_TMP/dk-$1
        mkdir -p "$t"
        # held shared while this test runs a dockerd (nd_cleanup)
        exec 9>/run/nd-integ-docker.lock
        flock -s 9
        mkdir -p /run/docker/plugins && ND_MADE_RUN_DOCKER=1
        {
                echo '#!/bin/sh'
                echo 'mkdir -p /run/docker/plugins'
                echo 'mount -t tmpfs -o size=1m,mode=0755 tmpfs /run/docker/plugins || exit 1'
                echo "ln -s '$psock' /run/docker/plugins/netd.sock"
                echo "exec dockerd --data-root '$t/data' --exec-root '$t/exec' --pidfile '$t/docker.pid'" \
                        "-H 'unix://$t/docker.sock' --config-file '$ND_SRC/examples/docker/daemon.json'" \
                        "--storage-driver vfs --containerd-namespace 'nd$$$role' --containerd-plugins-namespace 'nd$$$role-p'"
        } >"$t/dockerd.sh"
        chmod +x "$t/dockerd.sh"
        nsenter --net="/run/netns/$ND_NSP-$role" unshare -m --propagation private "$t/dockerd.sh" >"$t/dockerd.log" 2>&1 &
        ND_PIDS+=("$!")
        ND_DOCKERDS+=("$role")
        nd_eventually 30 nd_docker "$role" version && return 0
        echo "dockerd did not come up:"
        tail -30 "$t/dockerd.log"
        return 1
}

nd_docker() {
        local role=$1
        shift
        "${ND_DOCKER_CLIENT:-/usr/bin/docker}" -H "unix://$ND_TMP/dk-$role/docker.sock" "$@"
}

# nd_dockerd_stop ROLE: remove its containers, then SIGTERM and wait.
nd_dockerd_stop() {
        local p ids
        p=$(cat "$ND_TMP/dk-$1/docker.pid" 2>/dev/null) || return 0
        ids=$(nd_docker "$1" ps -aq 2>/dev/null)
        [ -z "$ids" ] || nd_docker "$1" rm -f $ids >/dev/null 2>&1
        kill -TERM "$p" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
}

# nd_docker_image ROLE: a busybox image "bb:test" imported from a tarball of
# netd's default rootfs (netctl rootfs init).
nd_docker_image() {
        local t=$ND_TMP/dk-$1/rootfs
        mkdir -p "$t"
        nd_ctl "$1" rootfs init "$t" >/dev/null && tar -C "$t" -c . | nd_docker "$1" import - bb:test >/dev/null
}
