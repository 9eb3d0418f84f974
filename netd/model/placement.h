/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file placement.h
 * Where a service's next task goes (docs/services.md, "Across hosts"):
 * a pure ranking every host computes from the same watched data (the
 * live nodes and the slot records in etcd), so that normally only the
 * winner tries to claim a slot; the claim's compare-and-swap settles the
 * races a lagging view causes.
 *
 * The order: hosts that can run the task first, then fewest tasks of
 * this service, then fewest tasks overall, then the lower node id (a
 * total order, so every host picks the same winner).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct nd_place_host {
        const char *id;         /* node id: the tie-breaker */
        bool can_run;           /* false: ranked after every host that can */
        unsigned svc_tasks;     /* slots of this service it holds */
        unsigned total_tasks;   /* slots of every service it holds */
} nd_place_host;

/* <0 when @a goes before @b, >0 after, 0 only for the same id. */
int nd_place_cmp(const nd_place_host *a, const nd_place_host *b);
/* The index of the best of @hosts[@n], or -ENOENT when @n is 0. */
int nd_place_best(const nd_place_host *hosts, size_t n);
