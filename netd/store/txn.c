/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "txn.h"

struct nd_store_txn_builder {
        int error;              /* the first failure, latched */
        nd_store_cmp *cmps;
        size_t n_cmps, cap_cmps;
        nd_store_op *ops;
        size_t n_ops, cap_ops;
        char **strs;            /* every key and value the arrays point to */
        size_t n_strs, cap_strs;
};

int nd_store_txn_new(nd_store_txn_builder **ret) {
        *ret = calloc(1, sizeof(**ret));
        return *ret ? 0 : -ENOMEM;
}

nd_store_txn_builder *nd_store_txn_free(nd_store_txn_builder *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_strs; i++)
                free(t->strs[i]);
        free(t->strs);
        free(t->cmps);
        free(t->ops);
        free(t);
        return NULL;
}

/* The latched error; a builder that could not be allocated is one that
 * ran out of memory. */
static int failed(const nd_store_txn_builder *t) {
        return t ? t->error : -ENOMEM;
}

static int latch(nd_store_txn_builder *t, int r) {
        if (t->error == 0)
                t->error = r;
        return t->error;
}

/* Keep @s (malloc'd, or NULL: out of memory) in the builder. */
static const char *own(nd_store_txn_builder *t, char *s) {
        if (!s) {
                latch(t, -ENOMEM);
                return NULL;
        }
        if (ND_GROW(t->strs, t->n_strs, t->cap_strs, 1) < 0) {
                free(s);
                latch(t, -ENOMEM);
                return NULL;
        }
        t->strs[t->n_strs++] = s;
        return s;
}

/* Whether one more compare or operation fits; latches the error that
 * nd_store_txn() would return otherwise. */
static int room(nd_store_txn_builder *t) {
        if (failed(t))
                return failed(t);
        if (t->n_cmps + t->n_ops >= ND_STORE_MAX_TXN_OPS)
                return latch(t, -E2BIG);
        return 0;
}

const char *nd_store_txn_keyf(nd_store_txn_builder *t, const char *fmt, ...) {
        va_list ap;
        char *s;
        int k;

        if (failed(t))
                return NULL;
        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        return own(t, k < 0 ? NULL : s);
}

int nd_store_txn_cmp_rev(nd_store_txn_builder *t, const char *key, int64_t mod_rev) {
        const char *k;
        int r = room(t);

        if (r < 0)
                return r;
        if (!key)
                return latch(t, -EINVAL);
        if (ND_GROW(t->cmps, t->n_cmps, t->cap_cmps, 1) < 0 || !(k = own(t, strdup(key))))
                return latch(t, -ENOMEM);
        t->cmps[t->n_cmps++] = (nd_store_cmp) { .key = k, .mod_rev = mod_rev };
        return 0;
}

int nd_store_txn_cmp_absent(nd_store_txn_builder *t, const char *key) {
        return nd_store_txn_cmp_rev(t, key, 0);
}

/* Add an operation; takes @value (malloc'd, NULL for none). */
static int add_op(nd_store_txn_builder *t, nd_store_op_type type, const char *key, char *value,
                  int64_t lease) {
        const char *k, *v = NULL;
        int r = room(t);

        if (r == 0 && !key)
                r = latch(t, -EINVAL);
        if (r == 0 && ND_GROW(t->ops, t->n_ops, t->cap_ops, 1) < 0)
                r = latch(t, -ENOMEM);
        if (r < 0) {
                free(value);
                return r;
        }
        k = own(t, strdup(key));
        if (!k) {
                free(value);
                return t->error;
        }
        if (value && !(v = own(t, value)))
                return t->error;
        t->ops[t->n_ops++] = (nd_store_op) { .type = type, .key = k, .value = v, .lease = lease };
        return 0;
}

int nd_store_txn_put_lease(nd_store_txn_builder *t, const char *key, const char *value, int64_t lease) {
        char *v;

        if (failed(t))
                return failed(t);
        if (!value)
                return latch(t, -EINVAL);
        v = strdup(value);
        if (!v)
                return latch(t, -ENOMEM);
        return add_op(t, ND_STORE_PUT, key, v, lease);
}

int nd_store_txn_put(nd_store_txn_builder *t, const char *key, const char *value) {
        return nd_store_txn_put_lease(t, key, value, 0);
}

int nd_store_txn_put_json_full(nd_store_txn_builder *t, const char *key, const json_t *j, size_t flags,
                               int64_t lease) {
        char *v;

        if (failed(t))
                return failed(t);
        if (!j)
                return latch(t, -ENOMEM);
        v = json_dumps(j, flags);
        if (!v)
                return latch(t, -ENOMEM);
        return add_op(t, ND_STORE_PUT, key, v, lease);
}

int nd_store_txn_put_json(nd_store_txn_builder *t, const char *key, const json_t *j) {
        return nd_store_txn_put_json_full(t, key, j, JSON_COMPACT, 0);
}

int nd_store_txn_put_json_new(nd_store_txn_builder *t, const char *key, json_t *j) {
        int r = nd_store_txn_put_json(t, key, j);
        json_decref(j);
        return r;
}

int nd_store_txn_del(nd_store_txn_builder *t, const char *key) {
        return add_op(t, ND_STORE_DELETE, key, NULL, 0);
}

int nd_store_txn_del_prefix(nd_store_txn_builder *t, const char *prefix) {
        return add_op(t, ND_STORE_DELETE_PREFIX, prefix, NULL, 0);
}

size_t nd_store_txn_size(const nd_store_txn_builder *t) {
        return t ? t->n_cmps + t->n_ops : 0;
}

int nd_store_txn_error(const nd_store_txn_builder *t) {
        return failed(t);
}

int nd_store_txn_submit(nd_store_txn_builder *t, nd_store *s, nd_store_txn_fn cb, void *userdata) {
        int r = failed(t);

        /* nd_store_txn() copies keys and values before it returns (the
         * store.h contract), so the builder can go at once. */
        if (r == 0)
                r = nd_store_txn(s, t->cmps, t->n_cmps, t->ops, t->n_ops, cb, userdata);
        nd_store_txn_free(t);
        return r;
}
