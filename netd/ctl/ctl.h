/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file ctl.h
 * netctl internals: the daemon client and the command entry points.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

extern const char *socket_path;

/* HTTP to the daemon: returns the status, or -1 after printing why there
 * was none; *ret gets the parsed JSON body (or NULL). */
long call(const char *method, const char *path, json_t *req, json_t **ret);
/* Print the daemon's error message; returns 1. */
int fail(long status, json_t *reply, const char *what);
void print_json(json_t *j);
bool wants_help(int argc, char **argv);
/* A name, id or address safe to put into a URL path as is. */
bool segment_ok(const char *s);
/* For each of @refs: METHOD PREFIX<ref>SUFFIX; prints the ref on success,
 * the daemon's message otherwise.  Returns 0 or 1. */
int ctl_each(char **refs, int n, const char *method, const char *prefix, const char *suffix, const char *what);

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
