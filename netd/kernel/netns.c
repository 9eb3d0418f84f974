/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
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

/* Whether @dir is a mount point: by the kernel's list of mounts, since a
 * bind mount of a directory onto itself keeps its st_dev (comparing st_dev
 * with the parent's said "no" every time, and every start stacked one more
 * bind mount). */
static int is_mount_point(const char *dir) {
        char real[PATH_MAX], line[8192];
        if (!realpath(dir, real))
                return -errno;
        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        int found = 0;
        while (!found && fgets(line, sizeof(line), f)) {
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ...; octal escapes (\040) */
                char *p = line;
                for (int field = 0; field < 4 && p; field++)
                        p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
                if (!p)
                        continue;
                char mp[PATH_MAX];
                size_t k = 0;
                for (; *p && *p != ' ' && k + 1 < sizeof(mp); p++) {
                        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                            p[3] <= '7') {
                                mp[k++] = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                                p += 3;
                        } else
                                mp[k++] = *p;
                }
                mp[k] = 0;
                found = strcmp(mp, real) == 0;
        }
        fclose(f);
        return found;
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

int nd_netns_run(int ns_fd, int (*fn)(void *arg), void *arg) {
        if (ns_fd < 0)
                return fn(arg);
        _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return -errno;
        if (setns(ns_fd, CLONE_NEWNET) < 0)
                return -errno;
        int r = fn(arg);
        /* failing to return, nothing this thread does afterwards is right */
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        return r;
}

static int nl_socket_open(void *ret) {
        return nd_nl_socket_open(ret);
}

int nd_netns_nl_socket(int ns_fd, struct nl_sock **ret) {
        return nd_netns_run(ns_fd, nl_socket_open, ret);
}

/* /proc/sys/net is the opening thread's namespace's: opened inside it,
 * written anywhere */
static int open_wronly(void *path) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int nd_netns_sysctl_write(int ns_fd, const char *key, const char *value) {
        char path[PATH_MAX];
        if ((size_t) snprintf(path, sizeof(path), "/proc/sys/%s", key) >= sizeof(path))
                return -ENAMETOOLONG;
        int fd = nd_netns_run(ns_fd, open_wronly, path), r = 0;
        if (fd < 0)
                return fd;
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                r = -errno;
        else if ((size_t) n != len)
                r = -EIO;
        close(fd);
        return r;
}

int nd_netns_nl_open(const char *path, int *ret_fd, struct nl_sock **ret_sk) {
        int fd = nd_netns_open(path), r;
        if (fd < 0)
                return fd;
        r = nd_netns_nl_socket(fd, ret_sk);
        if (r < 0 || !ret_fd)
                close(fd);
        else
                *ret_fd = fd;
        return r;
}
