/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cgroup2.h
 * Where a container's cgroup v2 directory is: ROOT/netd/ID, ROOT the
 * cgroup2 mount, /sys/fs/cgroup on a unified host or /sys/fs/cgroup/unified
 * on a hybrid one (v1 controllers beside a v2 tree without controllers).
 * On a hybrid host the monitor puts the container there too (it limits
 * nothing; it is where the daemon attaches the container's socket
 * programs, kernel/sock-lb.h).  Functions return 0 or -errno and log
 * nothing.
 */
#pragma once

#include <stddef.h>

/* The cgroup2 mount into @buf, or -ENOENT (a v1-only host). */
int nd_rt_cgroup2_root(char *buf, size_t size);
/* ROOT/netd/@id into @buf, or -ENOENT. */
int nd_rt_cgroup2_dir(const char *id, char *buf, size_t size);
/* The same, made (with ROOT/netd) if missing. */
int nd_rt_cgroup2_make(const char *id, char *buf, size_t size);
