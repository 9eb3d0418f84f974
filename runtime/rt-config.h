/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file rt-config.h
 * The contract between netd and netd-monitor: BUNDLE/config.json, written
 * by the daemon (nd_rt_config_write) and read by the monitor
 * (nd_rt_config_load).  Both sides validate it.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define ND_RT_MAX_ARGS 256
#define ND_RT_MAX_ENV 256

typedef struct nd_rt_config {
        char id[65];
        char rootfs[PATH_MAX];
        char netns[PATH_MAX];     /* empty: the host's namespace */
        char hostname[65];
        long long memory;         /* bytes, 0: no limit */
        long long pids_limit;     /* 0: no limit */
        char *argv[ND_RT_MAX_ARGS + 1];
        char *envp[ND_RT_MAX_ENV + 1];
        void *json;               /* owns the strings above */
} nd_rt_config;

int nd_rt_config_load(const char *bundle, nd_rt_config *ret, char *err, size_t errsz);
