/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file hmap.h
 * A string-keyed hash map of borrowed pointers, for tables whose per-event
 * work must not grow with their size (the cluster's remote endpoints,
 * nodes and blocks).
 *
 * The map does not copy keys: each key must stay valid and unchanged while
 * its entry is in the map (typically a field of the value it points to).
 * Values are borrowed too; the map never frees them.  It grows by doubling
 * at a load factor of 3/4 and never shrinks.
 */
#pragma once

#include <stddef.h>

typedef struct nd_hmap nd_hmap;

typedef struct nd_hmap_iter {
        size_t bucket;
        void *next;
} nd_hmap_iter;

int nd_hmap_new(nd_hmap **ret);
nd_hmap *nd_hmap_free(nd_hmap *m);
size_t nd_hmap_size(const nd_hmap *m);
/* Adds or replaces.  Returns 1 when added, 0 when replaced, -ENOMEM. */
int nd_hmap_put(nd_hmap *m, const char *key, void *value);
void *nd_hmap_get(const nd_hmap *m, const char *key);
/* Removes and returns the value, or NULL. */
void *nd_hmap_remove(nd_hmap *m, const char *key);
/* Iteration: start with a zeroed iterator; the entry just returned may be
 * removed during the iteration, others may not.  NULL at the end. */
void *nd_hmap_next(const nd_hmap *m, nd_hmap_iter *it);
