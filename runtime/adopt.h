/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file adopt.h
 * Finding the monitors of a netd that was killed: a monitor is identified
 * by its command line (netd-monitor STATE/containers/ID, so a recycled pid
 * never passes for one) and by BUNDLE/pid.json, which it writes once the
 * container's init exists ("Started": false) and again once that runs its
 * command ("Started": true).  Until then the init dies with its monitor
 * (runtime/monitor.c), so killing the monitor stops the container.
 *
 * The daemon says which containers it holds through the @keep callbacks;
 * this module never sees its tables.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Is @mon a live monitor of container @id's bundle? */
bool nd_rt_monitor_of(const char *state_dir, const char *id, pid_t mon);

/* BUNDLE/pid.json: 0, or -ENOENT when absent and -EBADMSG when bad. */
int nd_rt_pids_read(const char *state_dir, const char *id, pid_t *ret_mon, pid_t *ret_pid, bool *ret_started);

typedef enum nd_rt_adopt {
        ND_RT_ADOPT_NONE,         /* no live monitor for the bundle */
        ND_RT_ADOPT_RUNNING,      /* a live monitor whose container runs its command */
        ND_RT_ADOPT_STOPPED,      /* a live monitor still setting up: it and its init were killed */
} nd_rt_adopt;

/* A monitor the daemon never heard from (killed while the container
 * started): an nd_rt_adopt, with the monitor's and the init's pids unless
 * ND_RT_ADOPT_NONE. */
nd_rt_adopt nd_rt_monitor_adopt(const char *state_dir, const char *id, pid_t *ret_mon, pid_t *ret_pid);

/* Kill every monitor of a bundle under @state_dir for which @keep (given
 * the bundle's id and the monitor's pid) returns false; each one is
 * logged. */
void nd_rt_monitors_stop_stray(const char *state_dir, bool (*keep)(const char *id, pid_t mon, void *userdata),
                               void *userdata);

/* For every bundle for which @keep returns false: kill its monitor (if
 * live), remove its cgroups, call @release (the namespace file is the
 * daemon's), remove the bundle, and log it. */
void nd_rt_orphans_remove(const char *state_dir, bool (*keep)(const char *id, void *userdata),
                          void (*release)(const char *id, void *userdata), void *userdata);
