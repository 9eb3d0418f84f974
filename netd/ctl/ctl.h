/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file ctl.h
 * netctl's internals, shared by its command files: the daemon client
 * (ctl-common.c, over uclient.h), the container lookup and log following
 * (ctl-container.c), and each command's entry point:
 *
 *   netctl.c        main, network, ipam, node, version
 *   ctl-run.c       run, create
 *   ctl-container.c ps, start, stop, rm, inspect, logs, port,
 *                   network connect/disconnect
 *   ctl-exec.c      exec
 *   ctl-rootfs.c    rootfs init
 *   ctl-service.c   service create, ls, inspect, ps, scale, update,
 *                   rollback, logs, rm
 *   ctl-topology.c  topology
 *   ctl-events.c    events
 *
 * An entry point takes the command's own argc/argv (argv[0] is the command
 * name) with optind reset to 1, and returns the exit code: 0 ok, 1 error
 * (the message already on stderr), 2 usage.  logs, exec and rootfs init
 * work on this host directly; everything else goes through the API.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

/* repeatable flags held in fixed arrays (--network, --subnet, exec -e) */
#define CTL_MAX_LIST 16

/* the daemon's socket: --socket, else $NETD_SOCKET, else the default */
extern const char *socket_path;

/* HTTP to the daemon: returns the status, or -1 after printing why there
 * was none; *ret gets the parsed JSON body (or NULL). */
long call(const char *method, const char *path, json_t *req, json_t **ret);
/* Print the daemon's message for an error status (nothing when @status is
 * -1: call() has said why already); returns 1. */
int fail(long status, json_t *reply, const char *what);
void print_json(json_t *j);
/* --help or -h before any "--" */
bool wants_help(int argc, char **argv);
/* A command's first step: -1 to go on, or the exit code after printing
 * @usage (0 on stdout for --help, 2 on stderr for fewer than @min_argc
 * arguments, the command's name included). */
int ctl_usage(int argc, char **argv, const char *usage, int min_argc);
/* A name, id or address safe to put into a URL path as is. */
bool segment_ok(const char *s);
/* For each of @refs: METHOD PREFIX<ref>SUFFIX; prints the ref on success,
 * the daemon's message otherwise.  Returns 0 or 1. */
int ctl_each(char **refs, int n, const char *method, const char *prefix, const char *suffix, const char *what);
/* -m/--memory: a byte count with an optional k, m or g suffix (1024-based),
 * in ctl-run.c; 0 or -EINVAL. */
int ctl_bytes_parse(const char *s, long long *ret);
/* --gw-priority: an integer within +-10^9; 0, or -1 after printing why. */
int ctl_gw_priority_parse(const char *s, long long *ret);

/* GET /v1/containers/@ref.  Returns the reply, owned by the caller: the
 * container when *@status is 200, else an object with the "message", or
 * NULL when *@status is -1 (no reply). */
json_t *ctl_container_get(const char *ref, long *status);
/* State.Status of a container object (borrowed), "?" when absent. */
const char *ctl_container_status(json_t *c);
/* Print the log at @log_path; with @follow, until container @id is no
 * longer running.  Returns its exit code when it ended, -1 otherwise. */
int ctl_log_follow(const char *id, const char *log_path, bool follow);

int ctl_run(int argc, char **argv);
int ctl_ps(int argc, char **argv);
int ctl_start(int argc, char **argv);
int ctl_stop(int argc, char **argv);
int ctl_rm(int argc, char **argv);
int ctl_logs(int argc, char **argv);
int ctl_exec(int argc, char **argv);
int ctl_inspect(int argc, char **argv);
int ctl_rootfs(int argc, char **argv);
int ctl_port(int argc, char **argv);
int ctl_network_connect(int argc, char **argv);
int ctl_network_disconnect(int argc, char **argv);
int ctl_service(int argc, char **argv);
int ctl_topology(int argc, char **argv);
int ctl_events(int argc, char **argv);
