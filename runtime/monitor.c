/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netd-monitor BUNDLE: the small per-container process that holds one
 * container, so containers do not depend on the daemon's lifetime.
 *
 * netd starts it detached (its own session, reparented to init) with fd 3
 * as a report pipe.  The monitor:
 *   1. reads BUNDLE/config.json,
 *   2. clones the container's init in new mount, pid, uts and ipc
 *      namespaces, joined to the sandbox's network namespace (or the
 *      host's), placed in its cgroups (the devices cgroup on v1 allowing
 *      only the standard nodes) before it runs anything; the child then
 *      enters a cgroup namespace of its own, rooted at those cgroups,
 *   3. the child builds its root (overlayfs over the read-only rootfs,
 *      nodev; /proc with Docker's masked and read-only paths; /dev a
 *      nodev tmpfs holding bind mounts of the standard nodes; read-only
 *      /sys; hosts/resolv.conf/hostname bound from the bundle; the root
 *      read-only with ReadonlyRootfs), pivot_roots into it, drops to its
 *      capability set, sets no_new_privs, loads the seccomp filter last
 *      and execs the command with stdout/stderr appended to
 *      BUNDLE/container.log (sandbox.h),
 *   4. reports {"Pid": N} or {"Error": "..."} on fd 3 once exec succeeded
 *      or failed (a CLOEXEC pipe tells which), then closes it,
 *   5. waits for the container and writes BUNDLE/status.json atomically
 *      with the exit code, then exits.
 * The daemon watches the monitor with a pidfd, during its life and after a
 * restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup2.h"
#include "macro.h"
#include "rt-config.h"
#include "sandbox.h"

static const char *bundle;

static void report(int fd, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(int fd, const char *key, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        json_t *j = json_pack("{s:s}", key, msg);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s) {
                ssize_t k = write(fd, s, strlen(s));
                (void) k;
        }
        free(s);
        json_decref(j);
}

/* ---- the container's side (runs in the new namespaces) ----------------- */

static int write_file(const char *path, const char *s) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t k = write(fd, s, strlen(s));
        int r = k < 0 ? -errno : 0;
        close(fd);
        return r;
}

static int touch(const char *path, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

static int mkdir_p(const char *path, mode_t mode) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

#define TRY(expr, what)                                                                     \
        do {                                                                                \
                if ((expr) < 0) {                                                           \
                        report(err_fd, "Error", "%s: %s", what, strerror(errno));           \
                        _exit(126);                                                         \
                }                                                                           \
        } while (0)

static void bind_dev(int err_fd, const char *root, const char *name) {
        char src[64], dst[PATH_MAX];
        snprintf(src, sizeof(src), "/dev/%s", name);
        snprintf(dst, sizeof(dst), "%s/dev/%s", root, name);
        TRY(touch(dst, 0666), dst);
        TRY(mount(src, dst, NULL, MS_BIND, NULL), dst);
}

static void bind_file(int err_fd, const char *root, const char *from, const char *to) {
        char src[PATH_MAX], dst[PATH_MAX];
        snprintf(src, sizeof(src), "%s/%s", bundle, from);
        snprintf(dst, sizeof(dst), "%s%s", root, to);
        if (access(src, R_OK) < 0)
                return;
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", dst);
        char *slash = strrchr(dir, '/');
        if (slash) {
                *slash = 0;
                mkdir_p(dir, 0755);
        }
        /* the rootfs may hold a symlink here (e.g. resolv.conf): replace it
         * in the upper layer with a plain file to mount over */
        struct stat st;
        if (lstat(dst, &st) == 0 && !S_ISREG(st.st_mode))
                unlink(dst);
        TRY(touch(dst, 0644), dst);
        TRY(mount(src, dst, NULL, MS_BIND, NULL), dst);
}

#define TRY_SB(expr)                                                                        \
        do {                                                                                \
                char _e[256] = "";                                                          \
                if ((expr) < 0) {                                                           \
                        report(err_fd, "Error", "%s", _e);                                  \
                        _exit(126);                                                         \
                }                                                                           \
        } while (0)
#define SB_ERR _e, sizeof(_e)

static void container_main(const nd_rt_config *c, int err_fd, int go_fd, int log_fd) {
        char merged[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], opts[3 * PATH_MAX + 64], p[PATH_MAX];
        /* device nodes made inside (CAP_MKNOD is in Docker's set) stay
         * unusable: no device access on the root or /dev; the standard
         * nodes are bind mounts of the host's, which keep their own flags */
        unsigned long nodev = c->privileged ? 0 : MS_NODEV;
        char go;

        /* Until exec, the container dies with its monitor: a monitor killed
         * while starting it (a netd restarting finds it half-way) leaves
         * nothing running.  (Before this call, the go pipe's EOF does the
         * same.)  Cleared before exec below. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* wait until the monitor has put us in our cgroups */
        if (read(go_fd, &go, 1) != 1)
                _exit(126);
        close(go_fd);
        /* a cgroup namespace rooted at the cgroups we were just put in
         * (Linux 4.6); without one the container sees the host's paths */
        if (access("/proc/self/ns/cgroup", F_OK) == 0)
                TRY(unshare(CLONE_NEWCGROUP), "cgroup namespace");

        TRY(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private");
        snprintf(merged, sizeof(merged), "%s/merged", bundle);
        snprintf(upper, sizeof(upper), "%s/upper", bundle);
        snprintf(work, sizeof(work), "%s/work", bundle);
        TRY(mkdir_p(merged, 0755), merged);
        TRY(mkdir_p(upper, 0755), upper);
        TRY(mkdir_p(work, 0755), work);
        snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", c->rootfs, upper, work);
        TRY(mount("overlay", merged, "overlay", nodev, opts), "mount overlay root");

        snprintf(p, sizeof(p), "%s/proc", merged);
        TRY(mkdir_p(p, 0555), p);
        TRY(mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount /proc");

        snprintf(p, sizeof(p), "%s/dev", merged);
        TRY(mkdir_p(p, 0755), p);
        TRY(mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_STRICTATIME | nodev, "mode=755,size=65536k"), "mount /dev");
        bind_dev(err_fd, merged, "null");
        bind_dev(err_fd, merged, "zero");
        bind_dev(err_fd, merged, "random");
        bind_dev(err_fd, merged, "urandom");
        bind_dev(err_fd, merged, "full");
        bind_dev(err_fd, merged, "tty");
        snprintf(p, sizeof(p), "%s/dev/pts", merged);
        TRY(mkdir_p(p, 0755), p);
        TRY(mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"),
            "mount /dev/pts");
        snprintf(p, sizeof(p), "%s/dev/ptmx", merged);
        TRY(symlink("pts/ptmx", p), p);
        snprintf(p, sizeof(p), "%s/dev/shm", merged);
        TRY(mkdir_p(p, 01777), p);
        TRY(mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k"), "mount /dev/shm");
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
        };
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
                snprintf(p, sizeof(p), "%s/dev/%s", merged, links[i][1]);
                TRY(symlink(links[i][0], p), p);
        }

        snprintf(p, sizeof(p), "%s/sys", merged);
        TRY(mkdir_p(p, 0555), p);
        /* sysfs of our own network namespace; read-only unless privileged */
        unsigned long ro = c->privileged ? 0 : MS_RDONLY;
        if (mount("sysfs", p, "sysfs", ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                TRY(mount("/sys", p, NULL, MS_BIND | MS_REC, NULL), "mount /sys");
                TRY(mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
                    "mount /sys read-only");
        }
        if (!c->privileged)
                TRY_SB(nd_sandbox_mask_paths(merged, SB_ERR));

        bind_file(err_fd, merged, "hosts", "/etc/hosts");
        bind_file(err_fd, merged, "resolv.conf", "/etc/resolv.conf");
        bind_file(err_fd, merged, "hostname", "/etc/hostname");
        /* the mounts above are their own: /dev, /dev/shm, /proc and the
         * bundle's files stay writable, as with Docker's --read-only */
        if (c->readonly_rootfs)
                TRY(mount(NULL, merged, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | nodev, NULL), "read-only root");

        TRY(chdir(merged), merged);
        /* pivot_root(".", ".") stacks the old root on top; detaching it
         * drops every host mount (and netns bind) from this namespace. */
        TRY(syscall(SYS_pivot_root, ".", "."), "pivot_root");
        TRY(umount2(".", MNT_DETACH), "detach old root");
        TRY(chdir("/"), "chdir /");
        if (c->hostname[0])
                TRY(sethostname(c->hostname, strlen(c->hostname)), "sethostname");

        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        TRY(null_fd, "/dev/null");
        TRY(dup2(null_fd, 0), "stdin");
        TRY(dup2(log_fd, 1), "stdout");
        TRY(dup2(log_fd, 2), "stderr");
        setsid();
        prctl(PR_SET_PDEATHSIG, 0);
        /* an ignored signal survives exec: the monitor ignores SIGPIPE (a
         * report to a gone netd must not kill it), and netd may have been
         * started with SIGQUIT or SIGINT ignored (a shell's background
         * job).  A container starts with every signal at its default and
         * none blocked, as with Docker. */
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        /* Capabilities after the last mount, seccomp last: the filter may
         * refuse what comes before it.  Without no_new_privs, loading a
         * filter needs CAP_SYS_ADMIN, so it goes first (the default
         * profile allows the capset and prctl that follow), as runc does. */
        if (c->seccomp && !c->no_new_privs)
                TRY_SB(nd_sandbox_seccomp_load(c->seccomp, c->caps, false, SB_ERR));
        TRY_SB(nd_sandbox_caps_apply(c->privileged ? nd_sandbox_caps_bounding() : c->caps, SB_ERR));
        if (c->no_new_privs)
                TRY(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs");
        if (c->seccomp && c->no_new_privs)
                TRY_SB(nd_sandbox_seccomp_load(c->seccomp, c->caps, true, SB_ERR));

        execvpe(c->argv[0], c->argv, c->envp);
        /* exec failed: the report pipe is still open (not yet closed by a
         * successful exec) */
        if (errno == ENOENT)
                report(err_fd, "Error", "command '%s' not found in the root filesystem", c->argv[0]);
        else
                report(err_fd, "Error", "cannot run '%s': %s", c->argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
}

/* ---- cgroups ------------------------------------------------------------ */

/* The standard nodes (null, zero, full, random, urandom, tty, ptmx, pts)
 * and mknod of any node, which the nodev mounts leave unusable; the same
 * list as Docker's.  cgroup v2 has no devices file (runc attaches a BPF
 * program instead): there the nodev mounts, the capability set and the
 * seccomp filter are the protection (docs/security.md). */
static const char *const devices_allowed[] = {
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
        "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
};

static int devices_setup(const nd_rt_config *c, pid_t pid, char *err, size_t errsz) {
        char dir[PATH_MAX], f[PATH_MAX + 32], v[32];

        if (access("/sys/fs/cgroup/devices/devices.deny", W_OK) < 0) {
                if (access("/sys/fs/cgroup/devices", F_OK) == 0 && !c->privileged)
                        return snprintf(err, errsz, "the devices cgroup is mounted but not writable"), -1;
                return 0;
        }
        mkdir("/sys/fs/cgroup/devices/netd", 0755);
        snprintf(dir, sizeof(dir), "/sys/fs/cgroup/devices/netd/%s", c->id);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return snprintf(err, errsz, "cgroup %s: %s", dir, strerror(errno)), -1;
        if (!c->privileged) {
                snprintf(f, sizeof(f), "%s/devices.deny", dir);
                if (write_file(f, "a") < 0)
                        return snprintf(err, errsz, "devices cgroup: deny all: %s", strerror(errno)), -1;
                snprintf(f, sizeof(f), "%s/devices.allow", dir);
                for (size_t i = 0; i < sizeof(devices_allowed) / sizeof(devices_allowed[0]); i++)
                        if (write_file(f, devices_allowed[i]) < 0)
                                return snprintf(err, errsz, "devices cgroup: allow '%s': %s", devices_allowed[i],
                                                strerror(errno)), -1;
        }
        snprintf(f, sizeof(f), "%s/cgroup.procs", dir);
        snprintf(v, sizeof(v), "%d", pid);
        if (write_file(f, v) < 0)
                return snprintf(err, errsz, "joining the devices cgroup: %s", strerror(errno)), -1;
        return 0;
}

static int cgroup_setup(const nd_rt_config *c, pid_t pid, char *err, size_t errsz) {
        char dir[PATH_MAX], f[PATH_MAX + 32], v[32];
        bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;

        if (v2) {
                snprintf(dir, sizeof(dir), "/sys/fs/cgroup/netd");
                mkdir(dir, 0755);
                /* delegate the controllers we use to netd's subtree */
                write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory +pids");
                snprintf(f, sizeof(f), "%s/cgroup.subtree_control", dir);
                write_file(f, "+memory +pids");
                snprintf(dir, sizeof(dir), "/sys/fs/cgroup/netd/%s", c->id);
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return snprintf(err, errsz, "cgroup %s: %s", dir, strerror(errno)), -1;
                if (c->memory > 0) {
                        snprintf(f, sizeof(f), "%s/memory.max", dir);
                        snprintf(v, sizeof(v), "%lld", (long long) c->memory);
                        if (write_file(f, v) < 0)
                                return snprintf(err, errsz, "memory limit: %s", strerror(errno)), -1;
                }
                if (c->pids_limit > 0) {
                        snprintf(f, sizeof(f), "%s/pids.max", dir);
                        snprintf(v, sizeof(v), "%lld", (long long) c->pids_limit);
                        if (write_file(f, v) < 0)
                                return snprintf(err, errsz, "pids limit: %s", strerror(errno)), -1;
                }
                snprintf(f, sizeof(f), "%s/cgroup.procs", dir);
                snprintf(v, sizeof(v), "%d", pid);
                if (write_file(f, v) < 0)
                        return snprintf(err, errsz, "joining cgroup: %s", strerror(errno)), -1;
                return 0;
        }
        /* cgroup v1: one hierarchy per controller; devices first, so the
         * container never runs with the host's devices */
        if (devices_setup(c, pid, err, errsz) < 0)
                return -1;
        static const char *const ctl[] = { "memory", "pids" };
        for (size_t i = 0; i < 2; i++) {
                long long lim = i == 0 ? c->memory : c->pids_limit;
                snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s", ctl[i]);
                if (access(dir, W_OK) < 0) {
                        if (lim > 0)
                                return snprintf(err, errsz, "%s limit requested but the %s cgroup controller "
                                                "is not available", ctl[i], ctl[i]), -1;
                        continue;
                }
                snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s/netd", ctl[i]);
                mkdir(dir, 0755);
                snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s/netd/%s", ctl[i], c->id);
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return snprintf(err, errsz, "cgroup %s: %s", dir, strerror(errno)), -1;
                if (lim > 0) {
                        snprintf(f, sizeof(f), "%s/%s", dir, i == 0 ? "memory.limit_in_bytes" : "pids.max");
                        snprintf(v, sizeof(v), "%lld", lim);
                        if (write_file(f, v) < 0)
                                return snprintf(err, errsz, "%s limit: %s", ctl[i], strerror(errno)), -1;
                }
                snprintf(f, sizeof(f), "%s/cgroup.procs", dir);
                snprintf(v, sizeof(v), "%d", pid);
                if (write_file(f, v) < 0)
                        return snprintf(err, errsz, "joining %s cgroup: %s", ctl[i], strerror(errno)), -1;
        }
        /* a hybrid host: the v2 tree holds no controller, but the daemon
         * attaches the container's socket programs there (cgroup2.h);
         * without it the container's VIP connections take nftables' DNAT,
         * so a failure is not the start's */
        if (nd_rt_cgroup2_make(c->id, dir, sizeof(dir)) == 0) {
                snprintf(f, sizeof(f), "%s/cgroup.procs", dir);
                snprintf(v, sizeof(v), "%d", pid);
                (void) write_file(f, v);
        }
        return 0;
}

/* ---- the monitor ---------------------------------------------------------- */

/* BUNDLE/NAME, atomically (a crash leaves the old one or the new one). */
static int write_json(const char *name, json_t *j) {
        char tmp[PATH_MAX], dst[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s/%s.tmp", bundle, name);
        snprintf(dst, sizeof(dst), "%s/%s", bundle, name);
        if (json_dump_file(j, tmp, JSON_COMPACT) < 0)
                return -1;
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                fsync(fd);
                close(fd);
        }
        return rename(tmp, dst);
}

static int write_status(int code, int sig) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        json_t *j = json_pack("{s:i, s:i, s:I}", "ExitCode", code, "Signal", sig, "FinishedAt",
                              (json_int_t) now.tv_sec);
        int r = j ? write_json("status.json", j) : -1;
        json_decref(j);
        return r;
}

/* BUNDLE/pid.json: who holds the container, for a netd that restarts
 * before it heard the report on fd 3 (killed mid-start).  Written once
 * the container's init exists (Started false: still setting up) and again
 * once it runs its command (Started true). */
static void write_pids(pid_t pid, bool started) {
        json_t *j = json_pack("{s:i, s:i, s:b}", "Monitor", (int) getpid(), "Pid", (int) pid, "Started", started);
        if (j)
                (void) write_json("pid.json", j);
        json_decref(j);
}

/* The old way, for a kernel without pidfds: look every 250 ms. */
static void wait_fenced_poll(pid_t pid, const char *path, int *status) {
        bool killed = false;
        for (;;) {
                pid_t w = waitpid(pid, status, WNOHANG);
                if (w == pid || (w < 0 && errno != EINTR))
                        return;
                double deadline;
                if (!killed && nd_rt_deadline_read(path, &deadline) == 0 && nd_rt_boottime() > deadline) {
                        kill(pid, SIGKILL);
                        killed = true;
                }
                struct timespec ts = { .tv_sec = 0, .tv_nsec = 250 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
}

/* Arm @tfd at the deadline in @path (absolute, CLOCK_BOOTTIME like the
 * file); a missing or unreadable file disarms it (fences nothing).
 * Returns true when the deadline has already passed. */
static bool arm_deadline(int tfd, const char *path) {
        struct itimerspec it = {0};
        double deadline;
        if (nd_rt_deadline_read(path, &deadline) == 0) {
                if (nd_rt_boottime() > deadline)
                        return true;
                it.it_value.tv_sec = (time_t) deadline;
                it.it_value.tv_nsec = (long) ((deadline - (double) (time_t) deadline) * 1e9);
                if (it.it_value.tv_sec == 0 && it.it_value.tv_nsec == 0)
                        it.it_value.tv_nsec = 1;
        }
        (void) timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL);
        return false;
}

/* Wait for the container, and kill it once the deadline in @path has
 * passed: the daemon stopped confirming the lease its slot is held on
 * (crashed, stopped, or cut off from etcd), and another host may start
 * the slot.  No polling: the monitor sleeps on the container's pidfd, a
 * CLOCK_BOOTTIME timer at the deadline (a suspend counts, as it does for
 * the lease) and inotify on the file's directory (netd renames a new file
 * into place at every confirmed keep-alive), so it kills at the deadline,
 * not up to a poll period after, and costs nothing between keep-alives. */
static void wait_fenced(pid_t pid, const char *path, int *status) {
        _cleanup_close_ int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
        _cleanup_close_ int tfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
        _cleanup_close_ int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        char dir[PATH_MAX];
        const char *slash = strrchr(path, '/');
        bool killed = false;

        if (!slash || (size_t) (slash - path) >= sizeof(dir) || pfd < 0 || tfd < 0 || ifd < 0) {
                wait_fenced_poll(pid, path, status);
                return;
        }
        memcpy(dir, path, (size_t) (slash - path));
        dir[slash - path] = 0;
        if (inotify_add_watch(ifd, *dir ? dir : "/", IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE) < 0) {
                wait_fenced_poll(pid, path, status);
                return;
        }
        for (;;) {
                if (!killed && arm_deadline(tfd, path)) {
                        kill(pid, SIGKILL);
                        killed = true;
                }
                struct pollfd p[3] = { { .fd = pfd, .events = POLLIN }, { .fd = tfd, .events = POLLIN },
                                       { .fd = ifd, .events = POLLIN } };
                if (poll(p, killed ? 1 : 3, -1) < 0 && errno != EINTR)
                        break;
                if (p[0].revents)
                        break;
                char buf[4096];
                while (read(ifd, buf, sizeof(buf)) > 0)
                        ;
                uint64_t n;
                (void) !read(tfd, &n, sizeof(n));
        }
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
}

int main(int argc, char **argv) {
        nd_rt_config c;
        char err[512], path[PATH_MAX];
        int report_fd = 3, go[2], ex[2], log_fd, ns_fd = -1, status;
        pid_t pid;

        if (argc != 2) {
                fprintf(stderr, "usage: netd-monitor BUNDLE  (started by netd)\n");
                return 2;
        }
        bundle = argv[1];
        /* netd may be gone when we report: a write to the pipe must fail,
         * not kill the monitor (and orphan the container) */
        signal(SIGPIPE, SIG_IGN);
        if (fcntl(report_fd, F_GETFD) < 0)
                report_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (nd_rt_config_load(bundle, &c, err, sizeof(err)) < 0) {
                report(report_fd, "Error", "%s", err);
                return 1;
        }
        snprintf(path, sizeof(path), "%s/container.log", bundle);
        log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (log_fd < 0) {
                report(report_fd, "Error", "log file %s: %s", path, strerror(errno));
                return 1;
        }
        if (c.netns[0]) {
                ns_fd = open(c.netns, O_RDONLY | O_CLOEXEC);
                if (ns_fd < 0 || setns(ns_fd, CLONE_NEWNET) < 0) {
                        report(report_fd, "Error", "joining network namespace %s: %s", c.netns, strerror(errno));
                        return 1;
                }
                close(ns_fd);
        }
        /* go: monitor -> child "cgroups done"; ex: CLOEXEC, closed by a
         * successful exec, carries the error otherwise. */
        if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
                report(report_fd, "Error", "pipe: %s", strerror(errno));
                return 1;
        }
        pid = (pid_t) syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, NULL,
                              NULL, NULL, 0);
        if (pid < 0) {
                report(report_fd, "Error", "clone: %s", strerror(errno));
                return 1;
        }
        if (pid == 0) {
                close(go[1]);
                close(ex[0]);
                close(report_fd);
                container_main(&c, ex[1], go[0], log_fd);
                _exit(126);
        }
        close(go[0]);
        close(ex[1]);
        close(log_fd);
        write_pids(pid, false);
        if (cgroup_setup(&c, pid, err, sizeof(err)) < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                report(report_fd, "Error", "%s", err);
                return 1;
        }
        if (write(go[1], "g", 1) != 1) {
                kill(pid, SIGKILL);
                report(report_fd, "Error", "starting the container: %s", strerror(errno));
                return 1;
        }
        close(go[1]);

        char buf[600];
        ssize_t k = read(ex[0], buf, sizeof(buf) - 1);
        close(ex[0]);
        if (k > 0) {
                buf[k] = 0;
                /* the child already formatted {"Error": ...} */
                ssize_t w = write(report_fd, buf, (size_t) k);
                (void) w;
                close(report_fd);
                waitpid(pid, &status, 0);
                write_status(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                             WIFSIGNALED(status) ? WTERMSIG(status) : 0);
                return 0;
        }
        write_pids(pid, true);
        dprintf(report_fd, "{\"Pid\": %d}", pid);
        close(report_fd);

        /* Signals meant for the container go to it by pid (netd uses a
         * pidfd); the monitor itself only waits. */
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        if (c.deadline[0])
                wait_fenced(pid, c.deadline, &status);
        else
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
        write_status(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return 0;
}
