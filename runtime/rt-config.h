/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file rt-config.h
 * The contract between netd and netd-monitor: BUNDLE/config.json, written
 * by the daemon (nd_rt_bundle_write_config() in runtime/bundle.c, called
 * from netd/core/container-files.c; the security
 * fields by nd_ct_security_to_config() in netd/model/container.h) and read
 * by the monitor (runtime/monitor.c, through nd_rt_config_load()).  Both
 * sides validate it.
 *
 * The security fields default to the confined sandbox when absent (a
 * bundle written before them gets Docker's defaults, never less):
 *   "Capabilities": ["CAP_CHOWN", ...]  the bounding, permitted, effective
 *                                       and inheritable sets (default:
 *                                       Docker's set)
 *   "Privileged": false                 all capabilities, every device,
 *                                       no masked paths, /sys writable
 *   "NoNewPrivileges": true
 *   "ReadonlyRootfs": false
 *   "Seccomp": "default" | "unconfined" | {a profile in Docker's format}
 *   "Deadline": "/run/netd/lease-deadline"   (optional: see below)
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seccomp-profile.h"

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
        uint64_t caps;
        bool privileged, no_new_privs, readonly_rootfs;
        nd_sc_profile *seccomp;   /* owned; NULL: unconfined */
        char deadline[PATH_MAX];  /* a deadline file, "": none */
        void *json;               /* owns the strings above */
} nd_rt_config;

int nd_rt_config_load(const char *bundle, nd_rt_config *ret, char *err, size_t errsz);
/* Parse an already loaded config.json object (@json is borrowed). */
int nd_rt_config_from_json(void *json, nd_rt_config *ret, char *err, size_t errsz);
void nd_rt_config_done(nd_rt_config *c);

/* A deadline file fences a task whose right to run is a cluster lease
 * (a slot of a global service, docs/services.md "Fencing"): it holds one
 * line, the CLOCK_BOOTTIME second (decimal, fractions allowed) until which
 * the daemon trusts its lease, rewritten (tmp + rename) as etcd confirms
 * it.  The monitor kills its container once that time has passed, so a
 * task stops even when netd is gone.  A missing or unreadable file fences
 * nothing (a host not in a cluster). */
double nd_rt_boottime(void);
/* 0 and the deadline; -ENOENT, -EBADMSG. */
int nd_rt_deadline_read(const char *path, double *ret);
int nd_rt_deadline_write(const char *path, double deadline);
