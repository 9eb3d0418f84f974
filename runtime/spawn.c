/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt-spawn.h"

extern char **environ;

int nd_rt_pidfd_open(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

int nd_rt_pidfd_signal(int fd, int sig) {
        return (int) syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

/* glibc's child sets the C library's own signals (32 and 33, below
 * SIGRTMIN) to SIG_IGN, lest their handlers run on netd's memory, and
 * exec keeps them ignored: in the monitor, then in its container.  After
 * a fork they were at their default: ask for that again.  sigaddset(3)
 * refuses these two, hence the bits by hand. */
static void sigset_libc_internal(sigset_t *set) {
        const size_t bits = 8 * sizeof(set->__val[0]);

        sigemptyset(set);
        for (int sig = __SIGRTMIN; sig < SIGRTMIN; sig++)
                set->__val[(sig - 1) / bits] |= 1UL << ((sig - 1) % bits);
}

/* The monitor's process state, as posix_spawn(3) builds it: its own
 * session, the report pipe on fd 3, /dev/null on 0-2, nothing else open,
 * no signal blocked.  Dispositions are left as they are, as exec leaves
 * them after a fork: handlers go back to the default, ignored signals
 * (netd's SIGPIPE) stay ignored; the C library's own ones see
 * sigset_libc_internal().  glibc clones with CLONE_VM|CLONE_VFORK,
 * so no page table is copied, however large netd grows: fork cost up to
 * 10 ms on the loop (bench/spawn.c).
 *
 * No PR_SET_PDEATHSIG: the calling thread is suspended until the child
 * has exec'd, so there is no window in which the loop runs on while a
 * half-built child of it waits to exec.  If netd is killed while
 * suspended, the child still execs a whole monitor, as it did after a
 * fork; the next netd adopts it or stops it by its command line
 * (runtime/adopt.c). */
static int monitor_posix_spawn(const char *monitor_path, char *const argv[], int report_wr, pid_t *ret_pid) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, dfl;
        int r;

        sigemptyset(&none);
        sigset_libc_internal(&dfl);
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return -r;
        }
        /* the report pipe first, as it may sit on 0-2 (a netd started
         * with a closed stdio); glibc clears close-on-exec when it already
         * is fd 3 */
        if ((r = posix_spawn_file_actions_adddup2(&fa, report_wr, 3)) == 0 &&
            (r = posix_spawn_file_actions_addclosefrom_np(&fa, 4)) == 0 &&
            (r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0)) == 0 &&
            (r = posix_spawn_file_actions_adddup2(&fa, 0, 1)) == 0 &&
            (r = posix_spawn_file_actions_adddup2(&fa, 0, 2)) == 0 &&
            (r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                       POSIX_SPAWN_SETSIGDEF)) == 0 &&
            (r = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
            (r = posix_spawnattr_setsigdefault(&attr, &dfl)) == 0)
                r = posix_spawn(ret_pid, monitor_path, &fa, &attr, argv, environ);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        return -r;
}

/* The same child with fork(), for when posix_spawn failed.  posix_spawn
 * reports a failed exec itself, and glibc has reaped that child; netd
 * learns it from a monitor that exits 127 without a report (the user sees
 * "the monitor failed to start the container", the container is recorded
 * as exited 127).  Rather than a second way to fail a start, a failure is
 * left to this path, which fails as before: fork's own errors, or a child
 * whose exec fails again.  It costs a fork only when starting fails. */
static int monitor_fork(const char *monitor_path, char *const argv[], int report_wr, pid_t *ret_pid) {
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* the child runs no loop code: straight to exec */
                setsid();
                if (dup2(report_wr, 3) < 0)
                        _exit(127);
                syscall(SYS_close_range, 4, ~0U, 0);
                int nul = open("/dev/null", O_RDWR);
                if (nul >= 0) {
                        dup2(nul, 0);
                        dup2(nul, 1);
                        dup2(nul, 2);
                        if (nul > 3)
                                close(nul);
                }
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                execv(monitor_path, argv);
                _exit(127);
        }
        *ret_pid = pid;
        return 0;
}

int nd_rt_monitor_spawn(const char *monitor_path, const char *bundle, pid_t *ret_pid, int *ret_report_fd) {
        char *const argv[] = { (char *) "netd-monitor", (char *) bundle, NULL };
        int p[2], r;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        r = monitor_posix_spawn(monitor_path, argv, p[1], &pid);
        if (r < 0)
                r = monitor_fork(monitor_path, argv, p[1], &pid);
        if (r < 0) {
                close(p[0]);
                close(p[1]);
                return r;
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        *ret_pid = pid;
        *ret_report_fd = p[0];
        return 0;
}
