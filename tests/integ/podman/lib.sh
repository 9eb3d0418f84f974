# SPDX-License-Identifier: Apache-2.0
# Podman on its netavark backend pointed at netd-netavark, for the podman/
# tests: sourced after tests/integ/lib/netns.sh.
#
# pm_setup ROLE: private storage, a containers.conf whose
# helper_binaries_dir puts netd-netavark (as "netavark") first and whose
# engine.env carries ROLE's netd socket (Podman's cleanup process, run by
# conmon when a container exits, gets only CONTAINERS_CONF from our
# environment), and P, podman in ROLE's namespace.  Sets T, NETD_SOCKET.
pm_setup() {
        PM_ROLE=$1
        T=$ND_TMP/pm
        mkdir -p "$T/bin" "$T/networks" "$T/rootfs"
        ln -sf "$ND_BUILD/netd/netd-netavark" "$T/bin/netavark"
        NETD_SOCKET=$(nd_sock "$PM_ROLE")
        cat >"$T/containers.conf" <<EOC
[network]
network_backend = "netavark"
network_config_dir = "$T/networks"
[engine]
helper_binaries_dir = ["$T/bin", "/usr/libexec/podman"]
env = ["NETD_SOCKET=$NETD_SOCKET"]
events_logger = "file"
cgroup_manager = "cgroupfs"
EOC
        export NETD_SOCKET CONTAINERS_CONF=$T/containers.conf
        trap 'P rm -a -f -t 0 >/dev/null 2>&1; nd_cleanup' EXIT
}

P() {
        nsenter --net="/run/netns/${ND_NSP}-$PM_ROLE" podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs "$@"
}

# pm_image: busybox from netd's own rootfs, imported as localhost/busybox:test
pm_image() {
        nd_ctl "$PM_ROLE" rootfs init "$T/rootfs" >/dev/null
        t_ok "a busybox image imported from a local tarball" sh -c "tar -C '$T/rootfs' -c . >'$T/busybox.tar' &&
                podman --root '$T/storage' --runroot '$T/run' --storage-driver vfs import '$T/busybox.tar' localhost/busybox:test"
}
