/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spawn.h"

int nd_rt_pidfd_open(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

int nd_rt_pidfd_signal(int fd, int sig) {
        return (int) syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

int nd_rt_monitor_spawn(const char *monitor_path, const char *bundle, pid_t *ret_pid, int *ret_report_fd) {
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                /* the child runs no loop code: straight to exec */
                setsid();
                if (dup2(p[1], 3) < 0)
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
                execl(monitor_path, "netd-monitor", bundle, (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        *ret_pid = pid;
        *ret_report_fd = p[0];
        return 0;
}
