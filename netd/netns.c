/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "macro.h"
#include "netns.h"
#include "nl-host.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static int is_mount_point(const char *dir) {
        char parent[4096];
        struct stat a, b;
        if (snprintf(parent, sizeof(parent), "%s/..", dir) >= (int) sizeof(parent))
                return -ENAMETOOLONG;
        if (stat(dir, &a) < 0 || stat(parent, &b) < 0)
                return -errno;
        return a.st_dev != b.st_dev;
}

int nd_netns_dir_prepare(const char *dir) {
        int r;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        r = is_mount_point(dir);
        if (r < 0)
                return r;
        if (r == 0 && mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
                return -errno;
        /* As iproute2 does for /run/netns. */
        if (mount(NULL, dir, NULL, MS_SHARED | MS_REC, NULL) < 0)
                return -errno;
        return 0;
}

static bool is_bound(const char *path) {
        struct statfs s;
        return statfs(path, &s) == 0 && s.f_type == NSFS_MAGIC;
}

int nd_netns_create(const char *path) {
        _cleanup_close_ int self = -1, fd = -1;
        int r = 0;

        if (is_bound(path))
                return -EEXIST;
        fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd < 0 && errno != EEXIST)
                return -errno;
        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return -errno;
        if (unshare(CLONE_NEWNET) < 0) {
                r = -errno;
                unlink(path);
                return r;
        }
        if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
                r = -errno;
        /* Back home whatever happened: the daemon must not stay in the
         * new namespace. */
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        if (r < 0)
                unlink(path);
        return r;
}

int nd_netns_bind(const char *from, const char *path) {
        int fd;
        if (is_bound(path))
                return -EEXIST;
        fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
        if (fd < 0)
                return -errno;
        close(fd);
        if (mount(from, path, "none", MS_BIND, NULL) < 0)
                return -errno;
        return 0;
}

int nd_netns_remove(const char *path) {
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return -errno;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int nd_netns_open(const char *path) {
        int fd;
        if (!is_bound(path))
                return -ENOENT;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int nd_netns_nl_socket(int ns_fd, struct nl_sock **ret) {
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int r;

        if (self < 0)
                return -errno;
        if (setns(ns_fd, CLONE_NEWNET) < 0)
                return -errno;
        r = nd_nl_socket_open(ret);
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        return r;
}
