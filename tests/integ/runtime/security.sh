#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The sandbox of the bundled runtime: each protection replays an attack
# from inside a container and shows it fails, next to the legitimate use
# that must keep working.  Docker's defaults: capability set, no_new_privs,
# seccomp, masked and read-only /proc paths, read-only /sys, unusable
# device nodes (nodev mounts, devices cgroup on v1), a cgroup namespace;
# then --cap-add/--cap-drop/--privileged/--security-opt/--read-only and
# bad input that must create nothing.
. "$(dirname "$0")/../lib/netns.sh"
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }

nd_host h
nd_start h || exit 1
t_ok "rootfs init" nd_rootfs h
t_ok "create net" nd_ctl h network create --subnet 10.67.0.0/24 net

# run ARGS... -- a foreground container's output (stdout and stderr)
run() { nd_ctl h run --rm "$@" 2>&1; }
status() { run "$@" sh -c 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status' |
                   awk '{printf "%s%s ", $1, $2}'; }

# ---- the default sandbox --------------------------------------------------------------
t_eq "default: Docker's capability set in every set, ambient empty, no_new_privs, seccomp filter" "$(status)" \
        "CapInh:00000000a80425fb CapPrm:00000000a80425fb CapEff:00000000a80425fb CapBnd:00000000a80425fb CapAmb:0000000000000000 NoNewPrivs:1 Seccomp:2 "

# no signal ignored or blocked in the container (the monitor ignores SIGPIPE
# for itself; `yes | head` must end by SIGPIPE, as with Docker)
t_eq "no signal ignored or blocked at the container's start" \
        "$(run cat /proc/self/status | awk '/^Sig(Ign|Blk):/ {printf "%s%s ", $1, $2}')" \
        "SigBlk:0000000000000000 SigIgn:0000000000000000 "

# the host's disk: its major:minor, a node made for it, then read and mount
read -r maj min < <(stat -c '%t %T' "$(findmnt -n -o SOURCE / 2>/dev/null || echo /dev/vda)" 2>/dev/null)
maj=$((16#${maj:-fe})) min=$((16#${min:-0}))
t_match "mknod of the host's disk (b $maj:$min) gives an unusable node" \
        "$(run sh -c "mknod /disk b $maj $min && echo made; head -c 512 /disk | wc -c; mknod /dev/disk b $maj $min; head -c 512 /dev/disk | wc -c")" \
        "^made
head: /disk: (Permission denied|Operation not permitted)
0
head: /dev/disk: (Permission denied|Operation not permitted)
0$"
# (busybox says "permission denied (are you root?)" for EPERM)
t_match "mount of the node fails" "$(run sh -c "mknod /disk b $maj $min; mkdir -p /mnt; mount /disk /mnt; echo rc=\$?")" \
        "(permission denied|Operation not permitted).*
rc=[1-9]"
t_match "mount -t tmpfs fails with EPERM" "$(run sh -c 'mkdir -p /mnt; mount -t tmpfs t /mnt')" "permission denied|Operation not permitted"
t_match "mount -t proc fails with EPERM" "$(run sh -c 'mkdir -p /mnt; mount -t proc p /mnt')" "permission denied|Operation not permitted"
t_match "chroot into a directory still works (SYS_CHROOT)" "$(run chroot / echo inside)" "^inside$"
t_eq "the standard devices work" "$(run sh -c 'echo x >/dev/null && head -c 4 /dev/urandom | wc -c && head -c 3 /dev/zero | wc -c && ls /dev | tr "\n" " "')" \
        "4
3
fd full null ptmx pts random shm stderr stdin stdout tty urandom zero "
if [ -w /sys/fs/cgroup/devices/devices.deny ]; then
        cid=$(nd_ctl h run -d --name devs sleep 600)
        t_match "devices cgroup (v1): the standard nodes only, mknod allowed" \
                "$(tr '\n' ' ' <"/sys/fs/cgroup/devices/netd/$cid/devices.list")" \
                "^c \*:\* m b \*:\* m c 1:3 rwm c 1:5 rwm c 1:7 rwm c 1:8 rwm c 1:9 rwm c 5:0 rwm c 5:1 rwm c 5:2 rwm c 136:\* rwm $"
        t_ok "rm devs" nd_ctl h rm -f devs
        t_ok "its devices cgroup is removed" nd_eventually 5 test ! -d "/sys/fs/cgroup/devices/netd/$cid"
fi

# /proc and /sys
t_match "writing /proc/sys fails" "$(run sh -c 'echo evil > /proc/sys/kernel/hostname')" "Read-only file system"
t_match "reading /proc/sys works" "$(run cat /proc/sys/kernel/ostype)" "^Linux$"
for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
        [ -e "$f" ] || continue # not on this kernel
        t_eq "$f is masked (reads nothing)" "$(run sh -c "head -c 16 $f | wc -c")" "0"
done
t_eq "/proc/acpi and /proc/scsi are empty if present" "$(run sh -c 'ls /proc/acpi /proc/scsi 2>/dev/null | grep -v : | grep -c .')" "0"
if [ -e /proc/sysrq-trigger ]; then
        t_match "/proc/sysrq-trigger is not writable" "$(run sh -c 'echo h > /proc/sysrq-trigger')" "Read-only file system"
fi
t_match "/proc/irq is read-only" "$(run sh -c 'echo 1 > /proc/irq/default_smp_affinity')" "Read-only file system"
t_match "/sys is read-only" "$(run sh -c 'echo 1 > /sys/kernel/uevent_helper; mkdir /sys/x')" "Read-only file system"
t_eq "/sys/firmware is masked" "$(run sh -c 'ls -A /sys/firmware | wc -l')" "0"
t_eq "reading /proc still works" "$(run sh -c 'cat /proc/1/cmdline | tr "\0" " "')" "sh -c cat /proc/1/cmdline | tr \"\\0\" \" \" "

# namespaces: seccomp refuses new ones without CAP_SYS_ADMIN
t_match "unshare -U (a new user namespace) is refused" "$(run unshare -U true)" "Operation not permitted"
t_match "unshare -n is refused" "$(run unshare -n true)" "Operation not permitted"
t_match "nsenter into pid 1's namespaces is refused" "$(run nsenter -t 1 -m true)" "Operation not permitted"
t_match "fork and threads still work" "$(run sh -c '(echo child) & wait; echo parent')" "child
parent"
if [ -e /proc/self/ns/cgroup ]; then
        t_eq "a cgroup namespace of its own" "$(run sh -c 'readlink /proc/self/ns/cgroup' | grep -c "$(readlink /proc/self/ns/cgroup)")" "0"
        t_match "its cgroup paths are relative to its namespace" "$(run cat /proc/self/cgroup)" "(^|
)[0-9]+:memory:/($|
)"
fi

# legitimate network use on a network: ping (NET_RAW), a low port (NET_BIND_SERVICE)
t_ok "run web on net" nd_ctl h run -d --name web --network net busybox httpd -f -p 80 -h /var/www
t_match "ping and wget from a default container" "$(run --network net sh -c 'ping -c 1 -W 2 10.67.0.2 >/dev/null && echo pinged; wget -qO- http://10.67.0.2/index.html')" \
        "pinged
hello from netd"

# ---- flags -------------------------------------------------------------------------------------
t_match "ip addr add needs NET_ADMIN" "$(run ip addr add 10.77.0.5/32 dev lo)" "Operation not permitted"
t_eq "--cap-add NET_ADMIN: ip addr add works" "$(run --cap-add NET_ADMIN sh -c 'ip addr add 10.77.0.5/32 dev lo && ip -4 -o addr show lo | grep -c 10.77.0.5')" "1"
t_match "--cap-add CAP_NET_ADMIN (with prefix, any case)" "$(status --cap-add cap_net_admin)" "CapEff:00000000a80435fb"
t_match "--cap-drop ALL: no capabilities" "$(status --cap-drop ALL)" "CapInh:0000000000000000 CapPrm:0000000000000000 CapEff:0000000000000000 CapBnd:0000000000000000"
t_match "--cap-drop ALL: ping (NET_RAW) fails" "$(run --cap-drop ALL --network net ping -c 1 -W 2 10.67.0.2)" "Operation not permitted|permission denied"
t_eq "--cap-drop ALL: a plain command works" "$(run --cap-drop ALL echo plain)" "plain"
t_match "--cap-drop NET_RAW --cap-add SYS_TIME" "$(status --cap-drop NET_RAW --cap-add SYS_TIME)" "CapEff:00000000aa0405fb"
# every capability netd itself holds (this test may run without some)
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
t_eq "--privileged: every capability, no seccomp" "$(status --privileged)" \
        "CapInh:$bnd CapPrm:$bnd CapEff:$bnd CapBnd:$bnd CapAmb:0000000000000000 NoNewPrivs:1 Seccomp:0 "
t_match "--privileged: mount works" "$(run --privileged sh -c 'mkdir -p /mnt && mount -t tmpfs t /mnt && echo mounted')" "^mounted$"
t_match "--privileged: /sys writable, /proc/keys not masked" \
        "$(run --privileged sh -c 'grep -c " /sys sysfs rw" /proc/mounts; grep -c " /proc/keys " /proc/mounts')" "^1
0$"
t_match "--security-opt seccomp=unconfined: no filter, capabilities unchanged" \
        "$(status --security-opt seccomp=unconfined)" "CapEff:00000000a80425fb .*Seccomp:0"
t_match "seccomp=unconfined alone does not allow mount (no SYS_ADMIN)" \
        "$(run --security-opt seccomp=unconfined sh -c 'mkdir -p /mnt; mount -t tmpfs t /mnt')" "permission denied|Operation not permitted"
t_match "--security-opt no-new-privileges=false" "$(status --security-opt no-new-privileges=false)" "NoNewPrivs:0 Seccomp:2"
t_match "--cap-add SYS_ADMIN: the default profile then allows mount" \
        "$(run --cap-add SYS_ADMIN sh -c 'mkdir -p /mnt && mount -t tmpfs t /mnt && echo mounted')" "^mounted$"

prof=$ND_TMP/nomkdir.json
cat >"$prof" <<'JSON'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "comment": "no new dirs"},
    {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}
  ]
}
JSON
t_match "--security-opt seccomp=PROFILE: mkdir fails with EPERM" \
        "$(run --security-opt "seccomp=$prof" sh -c 'mkdir /newdir; echo rc=$?; touch /file && echo touched')" \
        "mkdir: can't create directory '/newdir': Operation not permitted
rc=1
touched"
t_eq "custom profile: Seccomp 2" "$(status --security-opt "seccomp=$prof" | grep -o 'Seccomp:[0-9]')" "Seccomp:2"
cid=$(nd_ctl h create --name custom --cap-add net_admin --cap-drop MKNOD --security-opt "seccomp=$prof" --read-only sleep 60)
t_eq "inspect: CapAdd, CapDrop, Privileged, ReadonlyRootfs, Seccomp" \
        "$(nd_ctl h inspect custom | jq -c '.[0].HostConfig | [.CapAdd, .CapDrop, .Privileged, .ReadonlyRootfs, .Seccomp, .NoNewPrivileges]')" \
        '[["CAP_NET_ADMIN"],["CAP_MKNOD"],false,true,"custom",true]'
t_eq "inspect: the effective capability list" "$(nd_ctl h inspect custom | jq -r '.[0].HostConfig.Capabilities | join(" ")')" \
        "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_CHROOT CAP_AUDIT_WRITE CAP_SETFCAP"
t_match "inspect: SecurityOpt carries the profile" "$(nd_ctl h inspect custom | jq -r '.[0].HostConfig.SecurityOpt[0]')" '^seccomp=\{"defaultAction":"SCMP_ACT_ALLOW"'
t_ok "rm custom" nd_ctl h rm -f custom

# exec: what it starts gets the container's limits, as Docker's exec does
xstatus() { nd_in h "$1" sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status' | tr -d '\t' | tr '\n' ' '; }
t_ok "a default container, running" nd_ctl h run -d --name xd --network none sleep 600
t_eq "exec: Docker's capabilities, no_new_privs, the seccomp filter" "$(xstatus xd)" \
        "CapEff:00000000a80425fb CapBnd:00000000a80425fb NoNewPrivs:1 Seccomp:2 "
t_match "exec: mount is refused" "$(nd_in h xd sh -c 'mkdir -p /m; mount -t tmpfs t /m 2>&1; echo rc=$?')" "rc=[1-9]"
t_ok "a container with NET_ADMIN and a custom profile" \
        nd_ctl h run -d --name xc --network none --cap-add NET_ADMIN --security-opt "seccomp=$prof" sleep 600
t_match "exec: NET_ADMIN kept, the custom profile applied" "$(xstatus xc)" "CapEff:00000000a80435fb .*Seccomp:2"
t_match "exec: the custom profile's mkdir rule holds" "$(nd_in h xc sh -c 'mkdir /x 2>&1; echo rc=$?')" "Operation not permitted"
t_ok "a privileged container" nd_ctl h run -d --name xp --network none --privileged sleep 600
t_match "exec in it: every capability, no filter" "$(xstatus xp)" "CapEff:$bnd .*Seccomp:0"
t_ok "rm them" nd_ctl h rm -f xd xc xp

# --read-only
t_match "--read-only: writing / fails" "$(run --read-only sh -c 'touch /x; echo y > /tmp/y')" \
        "touch: /x: Read-only file system
.*/tmp/y: Read-only file system"
t_eq "--read-only: /dev, /dev/shm and /proc keep working" \
        "$(run --read-only sh -c 'echo x > /dev/null && echo s > /dev/shm/s && cat /dev/shm/s && grep -c . /proc/self/status >/dev/null && echo proc')" "s
proc"
t_eq "without --read-only the root is writable" "$(run sh -c 'echo w > /w && cat /w')" "w"

# ---- bad input creates nothing --------------------------------------------------------------
before=$(nd_ctl h ps -a -q | wc -l)
addrs=$(nd_ctl h ipam ls net | tail -n +2 | wc -l)
out=$(nd_ctl h run -d --network net --cap-add NOPE sleep 1 2>&1); rc=$?
t_match "unknown capability: refused, named" "$rc $out" "^[1-9][0-9]* .*unknown capability 'NOPE'"
out=$(nd_ctl h create --network net --cap-drop CAP_FOO sleep 1 2>&1); rc=$?
t_match "create: unknown capability refused" "$rc $out" "^[1-9][0-9]* .*unknown capability 'CAP_FOO'"
echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [' >"$ND_TMP/broken.json"
out=$(nd_ctl h run -d --network net --security-opt "seccomp=$ND_TMP/broken.json" sleep 1 2>&1); rc=$?
t_match "malformed profile: refused with the line" "$rc $out" "^[1-9][0-9]* .*seccomp profile: invalid JSON at line [0-9]+"
echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_FROB"}]}' >"$ND_TMP/badact.json"
out=$(nd_ctl h run -d --network net --security-opt "seccomp=$ND_TMP/badact.json" sleep 1 2>&1); rc=$?
t_match "profile with an unknown action: refused, named" "$rc $out" "^[1-9][0-9]* .*syscalls\[0\]: unknown action 'SCMP_ACT_FROB'"
out=$(nd_ctl h run -d --network net --security-opt "seccomp=$ND_TMP/missing.json" sleep 1 2>&1); rc=$?
t_match "unreadable profile: refused, named" "$rc $out" "^[1-9][0-9]* .*cannot read the profile '$ND_TMP/missing.json': No such file"
out=$(nd_ctl h run -d --network net --security-opt apparmor=unconfined sleep 1 2>&1); rc=$?
t_match "unsupported security-opt: refused, named" "$rc $out" "^[1-9][0-9]* .*security-opt 'apparmor=unconfined' is not supported"
out=$(nd_api h POST /v1/containers '{"Cmd": ["true"], "CapAdd": "NET_ADMIN"}')
t_match "API: CapAdd must be an array" "$out" "^400 .*'CapAdd' must be an array"
t_eq "bad input left no container" "$(nd_ctl h ps -a -q | wc -l)" "$before"
t_eq "bad input left no address" "$(nd_ctl h ipam ls net | tail -n +2 | wc -l)" "$addrs"

t_ok "rm web" nd_ctl h rm -f web
t_eq "no containers left" "$(nd_ctl h ps -a -q | wc -l)" "0"
nd_done
