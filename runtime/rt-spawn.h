/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file rt-spawn.h
 * Starting a container's monitor (netd-monitor BUNDLE) and the pidfds the
 * daemon watches it and signals its container with.
 *
 * The child runs no loop code: it goes straight to exec, in its own
 * session, with the report pipe on fd 3, /dev/null on 0-2, every other fd
 * closed and no signal blocked.  The monitor writes one JSON report on
 * fd 3 ({"Pid": N} or {"Error": "..."}) and closes it (runtime/monitor.c).
 */
#pragma once

#include <sys/types.h>

/* Start @monitor_path for @bundle (posix_spawn; fork only after a failed
 * start, runtime/spawn.c).  0 with the monitor's pid and
 * the read end of its report pipe (non-blocking, close-on-exec; the
 * caller owns it), or -errno. */
int nd_rt_monitor_spawn(const char *monitor_path, const char *bundle, pid_t *ret_pid, int *ret_report_fd);

/* pidfd_open(2) and pidfd_send_signal(2): a pidfd or -1 with errno set;
 * 0 or -1 with errno set. */
int nd_rt_pidfd_open(pid_t pid);
int nd_rt_pidfd_signal(int fd, int sig);
