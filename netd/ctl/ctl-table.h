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
