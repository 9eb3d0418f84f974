/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file txn.h
 * A builder for one store transaction (nd_store_txn() in store.h) that
 * owns copies of its keys and values, so a caller builds the compares and
 * operations from stack buffers and temporary JSON and frees nothing but
 * the builder.  It is a thin wrapper: it adds no operation kind and no
 * check of its own beyond what nd_store_txn() does, in the same order.
 *
 *     nd_store_txn_builder *t = NULL;
 *     int r = nd_store_txn_new(&t);
 *     if (r < 0)
 *             return r;
 *     const char *k = nd_store_txn_keyf(t, ND_KEY_CONTAINERS "%s", c->id);
 *     nd_store_txn_cmp_absent(t, k);
 *     nd_store_txn_put_json_new(t, k, nd_container_to_json(c));
 *     r = nd_store_txn_submit(t, m->store, on_done, c);
 *
 * Errors latch: the first failure (-ENOMEM, -EINVAL for a NULL key or
 * value, -E2BIG past ND_STORE_MAX_TXN_OPS) is kept, later calls do
 * nothing and return it, and nd_store_txn_submit() returns it without
 * submitting, so the callback is not called.  Every adding call returns
 * the latched error (0 when none), so a caller may check once, at submit.
 * A NULL builder (nd_store_txn_new() ran out of memory) counts as one
 * with -ENOMEM latched, so even that check can wait for the submit.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct json_t json_t;

typedef struct nd_store_txn_builder nd_store_txn_builder;

/* 0, or -ENOMEM with *@ret NULL. */
int nd_store_txn_new(nd_store_txn_builder **ret);
/* Accepts NULL; returns NULL. */
nd_store_txn_builder *nd_store_txn_free(nd_store_txn_builder *t);
static inline void nd_store_txn_freep(nd_store_txn_builder **t) {
        *t = nd_store_txn_free(*t);
}

/* A key formatted into storage the builder owns (valid until it is
 * freed or submitted), to pass to the calls below; NULL (latched
 * -ENOMEM) when out of memory, which the calls below then ignore. */
const char *nd_store_txn_keyf(nd_store_txn_builder *t, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Compares: the transaction commits only if every one holds, else its
 * callback gets -ECANCELED and nothing is written. */
/* @key is absent. */
int nd_store_txn_cmp_absent(nd_store_txn_builder *t, const char *key);
/* @key exists with exactly mod revision @mod_rev (0: @key is absent, as
 * nd_store_cmp says). */
int nd_store_txn_cmp_rev(nd_store_txn_builder *t, const char *key, int64_t mod_rev);

/* Operations, applied in the order added. */
int nd_store_txn_put(nd_store_txn_builder *t, const char *key, const char *value);
/* A put attached to @lease (0: none). */
int nd_store_txn_put_lease(nd_store_txn_builder *t, const char *key, const char *value, int64_t lease);
/* @j (borrowed) dumped with JSON_COMPACT, as records are written; NULL
 * @j latches -ENOMEM (a JSON builder that returned NULL ran out). */
int nd_store_txn_put_json(nd_store_txn_builder *t, const char *key, const json_t *j);
/* The same, taking the reference to @j (even on failure). */
int nd_store_txn_put_json_new(nd_store_txn_builder *t, const char *key, json_t *j);
/* @j (borrowed) dumped with jansson's @flags (e.g. JSON_COMPACT |
 * JSON_SORT_KEYS), attached to @lease (0: none). */
int nd_store_txn_put_json_full(nd_store_txn_builder *t, const char *key, const json_t *j, size_t flags,
                               int64_t lease);
int nd_store_txn_del(nd_store_txn_builder *t, const char *key);
/* Delete every key that starts with @prefix. */
int nd_store_txn_del_prefix(nd_store_txn_builder *t, const char *prefix);

/* Compares plus operations added so far. */
size_t nd_store_txn_size(const nd_store_txn_builder *t);
/* The latched error (0: none), for a caller that has work to do between
 * building and submitting only if the build succeeded. */
int nd_store_txn_error(const nd_store_txn_builder *t);

/* Submit to @s and free @t (always: takes ownership, also of NULL).  0: @cb will be
 * called later, as nd_store_txn() says; -errno (the latched error, or
 * nd_store_txn()'s): nothing was submitted and @cb is never called. */
int nd_store_txn_submit(nd_store_txn_builder *t, nd_store *s, nd_store_txn_fn cb, void *userdata);
