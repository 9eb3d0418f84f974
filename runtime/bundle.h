/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file bundle.h
 * The host side of a container's bundle, STATE/containers/ID/: the
 * config.json that netd-monitor reads (the contract of rt-config.h), the
 * files bind-mounted into the container (hostname, hosts, resolv.conf),
 * the monitor's status.json, and the bundle's and cgroups' removal.
 *
 * The daemon decides what goes into these files; this module only knows
 * their paths and formats.  Files the container sees are rewritten in
 * place, never renamed over: a bind mount keeps the old inode.  Every
 * function returns 0 or -errno and logs nothing.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

/* STATE/containers/ID into @buf (ID "" gives the directory of all bundles,
 * with its trailing slash). */
void nd_rt_bundle_path(const char *state_dir, const char *id, char *buf, size_t size);

/* The fields of config.json the daemon fills (rt-config.h); strings and
 * arrays are borrowed. */
typedef struct nd_rt_bundle_config {
        const char *id, *rootfs, *hostname;
        const char *netns;        /* "": the host's namespace */
        const json_t *args, *env; /* arrays of strings */
        long long memory, pids_limit;
        const json_t *security;   /* an object of the security fields
                                   * ("Capabilities", "Seccomp", ...), merged in */
        const char *deadline;     /* a deadline file (rt-config.h), NULL: none */
} nd_rt_bundle_config;

/* Make STATE/containers/ID (and its parent) and write config.json and
 * hostname into it. */
int nd_rt_bundle_write_config(const char *state_dir, const nd_rt_bundle_config *cfg);

#define ND_RT_HOST_NAMES_MAX 192

/* One line of /etc/hosts: an address and its names, separated by spaces. */
typedef struct nd_rt_host_entry {
        char ip[ND_ADDR_STRLEN];
        char names[ND_RT_HOST_NAMES_MAX];
} nd_rt_host_entry;

/* BUNDLE/hosts: localhost's lines, then @entries in order (at most 8 KiB,
 * cut beyond). */
int nd_rt_bundle_write_hosts(const char *bundle, const nd_rt_host_entry *entries, size_t n);
/* BUNDLE/resolv.conf, as given. */
int nd_rt_bundle_write_resolv_conf(const char *bundle, const char *text);

/* BUNDLE/status.json, written by the monitor when the container exited:
 * 0 with the exit code and the time (seconds since the epoch), -ENOENT or
 * -EBADMSG when there is none. */
int nd_rt_bundle_status_read(const char *bundle, int *ret_exit_code, int64_t *ret_finished_s);
/* Forget the last run's status.json before a new one. */
void nd_rt_bundle_status_clear(const char *bundle);

/* Remove STATE/containers/ID recursively.  merged/ is only mounted inside
 * the container's mount namespace, never here, so this is safe. */
int nd_rt_bundle_remove(const char *state_dir, const char *id);

/* Remove the container's cgroups (v2 and the v1 controllers); best effort,
 * as they are gone when the monitor cleaned up. */
void nd_rt_cgroups_remove(const char *id);
