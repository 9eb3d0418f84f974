/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file ctl-table.h
 * netctl's tables built from the daemon's JSON, for the listings whose
 * cells need more than a printf: each column as wide as its widest cell
 * (two spaces between columns, none after the last), rows sorted.  Pure:
 * no I/O, so the tables are unit-tested (tests/unit/test-format.c) and
 * fuzzed with the templates.
 */
#pragma once

#include <jansson.h>

/* `netctl service ls`: NAME, ID (12), MODE, NETWORKS, VIPS, PORTS, TASKS,
 * one row per service object of @services (GET /v1/services), sorted by
 * name; entries that are not objects are skipped, missing fields shown as
 * "-".  NETWORKS are the names VirtualIPs gives for the ids of Networks
 * (else the short id); PORTS "*:8080->80/tcp" for ingress and
 * "host:53->53/udp" for host mode; TASKS "READY/TOTAL", where a task is
 * ready when healthy, or running without a health check ("none").
 * 0 and a malloc'd text in *@ret, -EINVAL when @services is not an array,
 * -ENOMEM. */
int nd_table_services(const json_t *services, char **ret);

/* `netctl service ps`: NAME, CONTAINER (12), HOST, DESIRED, STATE, SINCE,
 * ERROR, one row per task object of @tasks (GET /v1/services/REF/tasks)
 * in their order (the daemon's, by slot).  STATE adds the health of a
 * running task with a health check ("running (healthy)") and, while a
 * restart waits for its backoff, "(retry in 3s)"; SINCE is the age of
 * the state at @now (unix seconds): "12s ago", "3m ago", "2h ago",
 * "4d ago".  Same returns as nd_table_services(). */
int nd_table_service_tasks(const json_t *tasks, long long now, char **ret);
