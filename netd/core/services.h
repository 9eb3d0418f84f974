/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file services.h
 * Services (docs/services.md): a name, and in endpoint mode "vip" a
 * virtual IP per network, in front of the service's tasks.  A task is any
 * endpoint that names the service: a netd container (`run --service`), a
 * CNI attachment, a Docker endpoint, or a remote host's endpoint.  The
 * core keeps the tasks in one table, whoever owns them, and derives from
 * it the service's DNS names (NAME, NAME.NET, tasks.NAME) and its
 * nftables elements (VIP slots, routing-mesh slots).  Only elements
 * change when tasks come and go; the rules are fixed (firewall.h).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "nd-forward.h"
#include "prefix.h"

typedef void (*nd_manager_svc_fn)(void *userdata, int r, json_t *view, const nd_diag *d);

/* POST /v1/services: @cb gets the new service's view (owned by @cb). */
int nd_manager_service_create(nd_manager *m, const json_t *req, nd_manager_svc_fn cb, void *userdata, nd_diag *d);
/* DELETE /v1/services/REF: @cb gets NULL. */
int nd_manager_service_remove(nd_manager *m, const char *ref, nd_manager_svc_fn cb, void *userdata, nd_diag *d);
/* Services whose tasks netd runs (replicas.c): change the count, the
 * template (a rolling update) or go back to the previous one; @cb gets
 * the view once the record is written (the tasks converge after).
 * -ENOENT, -ENOTUNIQ, -EINVAL (no tasks, a bad body), -EBUSY (another
 * change or a removal in flight). */
int nd_manager_service_scale(nd_manager *m, const char *ref, const json_t *req, nd_manager_svc_fn cb, void *userdata,
                             nd_diag *d);
int nd_manager_service_update(nd_manager *m, const char *ref, const json_t *req, nd_manager_svc_fn cb, void *userdata,
                              nd_diag *d);
int nd_manager_service_rollback(nd_manager *m, const char *ref, nd_manager_svc_fn cb, void *userdata, nd_diag *d);
/* GET /v1/services/REF/tasks: the slots and their state (an array,
 * owned by the caller; empty for a network-only service). */
int nd_manager_service_tasks(nd_manager *m, const char *ref, json_t **ret, nd_diag *d);

/* How containers' connections to VIPs are balanced: "socket" (cgroup
 * BPF at connect(), kernel/sock-lb.h) or "nftables" (DNAT only). */
const char *nd_manager_service_lb(nd_manager *m);

/* The view of every service (an array), of one (-ENOENT, -ENOTUNIQ). */
json_t *nd_manager_services_view(nd_manager *m);
int nd_manager_service_view(nd_manager *m, const char *ref, json_t **ret, nd_diag *d);

/* A container's health check state ({"Status","FailingStreak","Checks",
 * "Failures","LastExitCode"}), NULL when it has none. */
json_t *nd_manager_container_health(nd_manager *m, const nd_container *c);

/* ---- tasks ---- */

typedef enum nd_task_health {
        ND_TASK_NONE,      /* no health check: a backend while it runs */
        ND_TASK_STARTING,  /* not yet passed its first check */
        ND_TASK_HEALTHY,
        ND_TASK_UNHEALTHY,
        _ND_TASK_HEALTH_MAX,
} nd_task_health;

const char *nd_task_health_to_string(nd_task_health h);
nd_task_health nd_task_health_from_string(const char *s);
