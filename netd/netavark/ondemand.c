/* SPDX-License-Identifier: Apache-2.0 */
/* A netd for the namespace netd-netavark runs in, found or started
 * (ondemand.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "ondemand.h"
#include "uclient.h"

#ifndef ND_NETD_PATH
#define ND_NETD_PATH "/usr/local/bin/netd"
#endif

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static bool answers(const char *path) {
        nd_diag d = {};
        _cleanup_close_ int fd = nd_uclient_connect(path, 1000, &d);
        return fd >= 0;
}

static int mkdir_p(char *path) {
        for (char *p = path + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        int r = mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
                        *p = '/';
                        if (r < 0)
                                return r;
                }
        return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* The cookie of the caller's network namespace: unlike its inode number,
 * never reused while the host runs.  0 when the kernel has none (before
 * Linux 5.14; the inode then stands alone). */
static uint64_t netns_cookie(void) {
        uint64_t c = 0;
        socklen_t len = sizeof(c);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len) < 0 || len != sizeof(c))
                return 0;
        return c;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

/* BASE holds the records of an earlier namespace that had the same inode
 * number, now gone (its netd exited; the kernel reuses inode numbers):
 * those records name sandboxes and addresses of that namespace, and a
 * netd started on them would refuse this one's.  Gone with them.  A
 * mount under BASE (none of netd's own) stops the removal (FTW_MOUNT):
 * the caller reports it. */
static int drop_stale(const char *base, uint64_t cookie, nd_diag *d) {
        char path[PATH_MAX], buf[32] = "";
        snprintf(path, sizeof(path), "%s/netns-cookie", base);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || cookie == 0)
                return 0;
        ssize_t k = read(fd, buf, sizeof(buf) - 1);
        if (k > 0 && strtoull(buf, NULL, 10) == cookie)
                return 0;
        if (nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
                return nd_diag_set(d, -errno, "cannot remove %s, another network namespace's netd state: %s", base,
                                   strerror(errno));
        return 1;
}

static int write_cookie(const char *base, uint64_t cookie, nd_diag *d) {
        char path[PATH_MAX], buf[32];
        if (cookie == 0)
                return 0;
        snprintf(path, sizeof(path), "%s/netns-cookie", base);
        snprintf(buf, sizeof(buf), "%" PRIu64 "\n", cookie);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t) strlen(buf))
                return nd_diag_set(d, -errno, "cannot start netd: %s: %s", path, strerror(errno));
        return 0;
}

/* netd next to this binary (a build tree), else where meson installs it */
static void netd_binary(char *buf, size_t size) {
        char self[PATH_MAX];
        ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (k > 0) {
                self[k] = 0;
                char *slash = strrchr(self, '/');
                if (slash) {
                        *slash = 0;
                        snprintf(buf, size, "%s/netd", self);
                        if (access(buf, X_OK) == 0)
                                return;
                }
        }
        snprintf(buf, size, "%s", ND_NETD_PATH);
}

static unsigned idle_exit(void) {
        const char *e = getenv("NETD_NETAVARK_IDLE_EXIT");
        char *end;
        unsigned long v = e ? strtoul(e, &end, 10) : 0;
        return e && *e && !*end && v >= 1 && v <= 86400 ? (unsigned) v : ND_NV_IDLE_EXIT_DEFAULT;
}

/* Fork twice so that netd is nobody's child and in a session of its own:
 * Podman and test harnesses wait for their helper's whole process group
 * and for its pipes to close. */
static int spawn(const char *netd, const char *base, nd_diag *d) {
        char state[PATH_MAX], run[PATH_MAX], log[PATH_MAX], idle[16];
        snprintf(state, sizeof(state), "%s/state", base);
        snprintf(run, sizeof(run), "%s/run", base);
        snprintf(log, sizeof(log), "%s/netd.log", base);
        snprintf(idle, sizeof(idle), "%u", idle_exit());
        char *argv[] = { (char *) netd, "--state-dir", state, "--run-dir", run, "--exit-when-idle", idle, NULL };

        pid_t pid = fork();
        if (pid < 0)
                return nd_diag_set(d, -errno, "cannot start netd: fork: %s", strerror(errno));
        if (pid == 0) {
                if (setsid() < 0)
                        _exit(1);
                pid_t inner = fork();
                if (inner != 0)
                        _exit(inner < 0);
                int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
                int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
                if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
                        _exit(1);
                /* no descriptor of the caller's (a harness's pipe) stays open */
                for (int fd = 3; fd < 1024; fd++)
                        (void) close(fd);
                (void) chdir("/");
                execv(netd, argv);
                _exit(127);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return nd_diag_set(d, -errno, "cannot start netd: waitpid: %s", strerror(errno));
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return nd_diag_set(d, -ECHILD, "cannot start netd: its launcher failed");
        return 0;
}

static int start(const char *base, const char *sock, uint64_t cookie, nd_diag *d) {
        char dir[PATH_MAX], netd[PATH_MAX];
        int r;

        snprintf(dir, sizeof(dir), "%s/state", base);
        if ((r = mkdir_p(dir)) < 0)
                return nd_diag_set(d, r, "cannot start netd: %s: %s", dir, strerror(-r));
        snprintf(dir, sizeof(dir), "%s/run", base);
        if ((r = mkdir_p(dir)) < 0)
                return nd_diag_set(d, r, "cannot start netd: %s: %s", dir, strerror(-r));
        if ((r = write_cookie(base, cookie, d)) < 0)
                return r;
        netd_binary(netd, sizeof(netd));
        if ((r = spawn(netd, base, d)) < 0)
                return r;
        /* a second caller racing us started one too: netd's pid lock lets
         * one live, and both find its socket */
        struct timespec t0, now, tick = { 0, 20 * 1000 * 1000 };
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                if (answers(sock))
                        return 0;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
                if (ms > ND_NV_START_TIMEOUT_MS)
                        return nd_diag_set(d, -ETIMEDOUT, "netd started in %s did not answer within %d ms (log: %s/netd.log)",
                                           base, ND_NV_START_TIMEOUT_MS, base);
                nanosleep(&tick, NULL);
        }
}

int nd_nv_netd_socket(const char *config_dir, const char *default_sock, bool may_start, char *ret, size_t size,
                      nd_diag *d) {
        const char *env = getenv("NETD_SOCKET");
        char base[PATH_MAX], own[PATH_MAX], state[PATH_MAX];
        struct stat st;

        if (env && *env)
                return snprintf(ret, size, "%s", env), 0;
        if (!config_dir || !*config_dir)
                config_dir = ND_NV_CONFIG_DEFAULT;
        /* one netd per network namespace, as netavark's state is */
        if (stat("/proc/self/ns/net", &st) < 0)
                return nd_diag_set(d, -errno, "cannot tell the network namespace: %s", strerror(errno));
        snprintf(base, sizeof(base), "%s/netd/%lu", config_dir, (unsigned long) st.st_ino);
        snprintf(own, sizeof(own), "%s/run/netd.sock", base);
        if (strlen(own) >= sizeof(((struct sockaddr_un *) 0)->sun_path))
                return nd_diag_set(d, -ENAMETOOLONG, "--config %s: path too long for netd's socket", config_dir);
        if (answers(own))
                return snprintf(ret, size, "%s", own), 0;
        snprintf(ret, size, "%s", default_sock);
        if (answers(default_sock))
                return 0;
        if (stat(default_sock, &st) == 0)
                return 0; /* a host netd that is down: the caller reports it */
        uint64_t cookie = netns_cookie();
        int r = drop_stale(base, cookie, d);
        if (r < 0)
                return r;
        snprintf(state, sizeof(state), "%s/state", base);
        if (!may_start && stat(state, &st) < 0)
                return 1;
        r = start(base, own, cookie, d);
        if (r < 0)
                return r;
        snprintf(ret, size, "%s", own);
        return 0;
}
