/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file replicas-internal.h
 * Tasks netd runs for a service (replicas.c, docs/services.md
 * "Replicated services"): the reconciler's hooks for the rest of the
 * core.  Private to core/.
 *
 * A service with a task template (model/service.h) has slots: 1..N in
 * replicated mode, one per host in global mode.  Each slot is a record
 * under ND_KEY_SERVICE_SLOTS (a service on overlay networks: under
 * ND_KEY_GLOBAL_SERVICE_SLOTS in etcd, replicas-cluster.c) held by the
 * host that claimed it, and at
 * most one container, NAME.SLOT, made from the template through the
 * container service's own run path with the "managed" flag.  The
 * reconciler runs on the loop (a timer, kicked by every change) and is
 * level-triggered: each pass compares the slots the services want with
 * the containers there are, so a missed event, a restart of netd or a
 * crash half-way only delays it.  Invariants:
 *   - a slot is released (its record deleted) only once its container is
 *     gone, and a slot with an operation in flight is never released;
 *   - a task's container is created only in a pass, never in the
 *     callback of the removal it replaces (the old one is still in the
 *     table then), so NAME.SLOT never exists twice;
 *   - a service with tasks is removed only after every slot is released.
 */
#pragma once

#include <stdbool.h>

#include "manager-internal.h"
#include "services.h"

struct nd_svc;
struct nd_service;

/* Start-up: read the slot records back (after the containers, so their
 * tasks are adopted, not started again), then @done.  Start reconciling
 * once the services are restored.  Exit: forget (containers keep
 * running, records stay). */
int nd_replicas_load(nd_manager *m, void (*done)(nd_manager *m));
void nd_replicas_start(nd_manager *m);
void nd_replicas_free(nd_manager *m);

/* Something a task depends on changed (a service created, a task
 * exited): reconcile on the next loop iteration.  Cheap, idempotent, a
 * no-op before start. */
void nd_replicas_kick(nd_manager *m);

/* May the tasks of @rec (a create request, networks resolved) run?
 * 0, or -EOPNOTSUPP with @d's message (overlay networks without the
 * cluster store, whose slots live there: replicas-cluster.c). */
int nd_replicas_check(nd_manager *m, const struct nd_service *rec, nd_diag *d);

/* The deadline file (runtime/rt-config.h) @c's monitor fences itself by:
 * a task of a global service, whose slot is held on this host's cluster
 * lease; NULL for every other container.  @buf holds the path. */
const char *nd_replicas_deadline_file(nd_manager *m, const nd_container *c, char *buf, size_t size);

/* Is @c a task that a slot of a live service holds (so `rm` refuses it)? */
bool nd_replicas_holds(nd_manager *m, const nd_container *c);
/* Is container @ctid leaving its service's backends before it stops (an
 * update or a scale-down)?  Its endpoints are no task then. */
bool nd_replicas_draining(nd_manager *m, const char *ctid);

/* DELETE of service @s: with tasks, they go first and the removal
 * follows (then @cb as nd_manager_service_remove's); returns 1 then.
 * 0: none to remove, go ahead.  <0 with @d: refused (already going). */
int nd_replicas_remove_tasks(nd_manager *m, struct nd_svc *s, nd_manager_svc_fn cb, void *userdata, nd_diag *d);

/* The container service's entries for its tasks (container-run.c,
 * container-remove.c): run with the managed flag (always started), and
 * remove (forced) whatever `rm` would say. */
int nd_ct_task_run(nd_manager *m, const json_t *req, nd_manager_ct_fn cb, void *userdata, nd_diag *d);
int nd_ct_task_remove(nd_manager *m, nd_container *c, nd_manager_ct_fn cb, void *userdata, nd_diag *d);
