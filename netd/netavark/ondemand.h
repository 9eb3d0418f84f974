/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file ondemand.h
 * Which netd netd-netavark talks to, and a netd started for the current
 * network namespace when none answers (netavark needs no daemon, so
 * callers such as netavark's own test suite run it in a fresh namespace
 * with nothing behind it; docs/podman.md).
 *
 * The order: $NETD_SOCKET when set (never a start); the netd of --config
 * DIR for this network namespace when its socket answers; the default
 * socket when it answers; else, with @may_start, a netd started with its
 * files under BASE = DIR/netd/NETNS (NETNS: the inode number of the
 * caller's network namespace, so that one DIR serves several namespaces
 * as netavark's does): state BASE/state, run dir and socket BASE/run,
 * log BASE/netd.log.  It is detached (a new session, double fork, no fd
 * of the caller's) and exits on its own once idle (netd
 * --exit-when-idle) or when BASE/state is removed.  DIR defaults to /tmp,
 * netavark 1.4's default.  A default socket that exists but does not
 * answer is a host netd that is down, not a reason to start a rival in
 * its namespace: no start then.  BASE/netns-cookie records the
 * namespace's cookie (SO_NETNS_COOKIE): a BASE whose cookie is another's
 * belongs to a namespace gone since (inode numbers are reused) and is
 * removed before a start.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* seconds an on-demand netd stays with nothing wired, unless
 * $NETD_NETAVARK_IDLE_EXIT says otherwise */
#define ND_NV_IDLE_EXIT_DEFAULT 10
/* --config's default, netavark 1.4's */
#define ND_NV_CONFIG_DEFAULT "/tmp"
/* how long a start may take before the caller gives up */
#define ND_NV_START_TIMEOUT_MS 5000

/* The socket to use into @ret (@size bytes).  @config_dir may be NULL
 * (ND_NV_CONFIG_DEFAULT).
 * @may_start: start a netd if nothing answers (setup); otherwise only
 * when BASE/state exists, so that a teardown after an idle exit
 * finds its records.  0; 1 when no netd answers and none was started
 * because there is nothing of DIR's to serve; or -errno with the reason
 * in @d. */
int nd_nv_netd_socket(const char *config_dir, const char *default_sock, bool may_start, char *ret, size_t size,
                      nd_diag *d);
