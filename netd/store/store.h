/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file store.h
 * The key-value store every piece of shared state lives in, modelled on
 * etcd v3: a global revision, per-key create/mod revisions, transactions
 * with compare conditions, ranges by prefix, watches by prefix from a
 * revision, and leases whose expiry deletes the keys attached to them.
 *
 * Backends: "local" (embedded, crash-safe, store-local*.c) and "etcd"
 * (store-etcd*.c) behind the same ops table.  txn.h builds a transaction
 * that owns its keys and values; keys.h lists the key prefixes.
 *
 * Contract:
 *  - Every operation is asynchronous.  Callbacks are always invoked later
 *    from the event loop, never from inside the call that queued them, in
 *    the order the operations were queued.
 *  - A write's callback runs only after the write is durable (local: after
 *    fdatasync; etcd: after the cluster committed it).  A failed write
 *    changes nothing.
 *  - Keys and values passed in are copied; kv pointers handed to callbacks
 *    are borrowed and valid only during the callback.
 *  - Watch callbacks see every change to their prefix exactly once, in
 *    revision order.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

typedef struct nd_store nd_store;
typedef struct nd_store_watch nd_store_watch;

typedef struct nd_store_kv {
        const char *key;
        const char *value;     /* NUL-terminated */
        size_t value_len;
        int64_t create_rev;
        int64_t mod_rev;
        int64_t lease;         /* 0: none */
} nd_store_kv;

typedef enum nd_store_op_type {
        ND_STORE_PUT,
        ND_STORE_DELETE,
        ND_STORE_DELETE_PREFIX,
        _ND_STORE_OP_MAX,
        _ND_STORE_OP_INVALID = -22,
} nd_store_op_type;

typedef struct nd_store_op {
        nd_store_op_type type;
        const char *key;
        const char *value;     /* PUT only */
        int64_t lease;         /* PUT only, 0: none */
} nd_store_op;

/* A transaction condition on one key: mod_rev == 0 means "key absent",
 * mod_rev > 0 means "key exists with exactly this mod revision". */
typedef struct nd_store_cmp {
        const char *key;
        int64_t mod_rev;
} nd_store_cmp;

typedef enum nd_store_event_type {
        ND_STORE_EVENT_PUT,
        ND_STORE_EVENT_DELETE,
} nd_store_event_type;

typedef struct nd_store_event {
        nd_store_event_type type;
        nd_store_kv kv;        /* DELETE: value empty, mod_rev = deletion revision */
} nd_store_event;

/* r: 0 committed at @rev; -ECANCELED a compare failed (nothing written);
 * other -errno on failure. */
typedef void (*nd_store_txn_fn)(void *userdata, int r, int64_t rev);
/* r: 0 or -errno; @kvs sorted by key; @rev the store revision read at. */
typedef void (*nd_store_range_fn)(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev);
/* r: 0 and an event; or -errno once when the watch broke (-ESTALE: the
 * requested revision was compacted away; re-list and watch again). */
typedef void (*nd_store_watch_fn)(void *userdata, int r, const nd_store_event *ev);
typedef void (*nd_store_lease_fn)(void *userdata, int r, int64_t lease);

#define ND_STORE_MAX_KEY 1024
#define ND_STORE_MAX_VALUE (1024 * 1024)
#define ND_STORE_MAX_TXN_OPS 128

struct nd_store_ops {
        const char *scheme;
        int (*open)(struct ev_loop *loop, const char *url, const char *state_dir, nd_store **ret);
        void (*free)(nd_store *s);
        int (*txn)(nd_store *s, const nd_store_cmp *cmps, size_t n_cmps, const nd_store_op *ops,
                   size_t n_ops, nd_store_txn_fn cb, void *userdata);
        int (*range)(nd_store *s, const char *key, bool prefix, nd_store_range_fn cb, void *userdata);
        int (*watch)(nd_store *s, const char *prefix, int64_t from_rev, nd_store_watch_fn cb,
                     void *userdata, nd_store_watch **ret);
        void (*watch_cancel)(nd_store_watch *w);
        int (*lease_grant)(nd_store *s, int64_t ttl_sec, nd_store_lease_fn cb, void *userdata);
        int (*lease_keepalive)(nd_store *s, int64_t lease, nd_store_lease_fn cb, void *userdata);
        int (*lease_revoke)(nd_store *s, int64_t lease, nd_store_lease_fn cb, void *userdata);
};

/* The common heads of every backend's objects. */
struct nd_store {
        const struct nd_store_ops *ops;
};

struct nd_store_watch {
        nd_store *store;
};

/* @url: "local" (or NULL) for the embedded store in @state_dir, or a
 * backend URL such as "etcd://host:port".  Unknown schemes: -EPROTONOSUPPORT. */
int nd_store_open(struct ev_loop *loop, const char *url, const char *state_dir, nd_store **ret);
nd_store *nd_store_free(nd_store *s);
const char *nd_store_backend(const nd_store *s);

int nd_store_txn(nd_store *s, const nd_store_cmp *cmps, size_t n_cmps, const nd_store_op *ops,
                 size_t n_ops, nd_store_txn_fn cb, void *userdata);
int nd_store_get(nd_store *s, const char *key, nd_store_range_fn cb, void *userdata);
int nd_store_list(nd_store *s, const char *prefix, nd_store_range_fn cb, void *userdata);
int nd_store_put(nd_store *s, const char *key, const char *value, int64_t lease,
                 nd_store_txn_fn cb, void *userdata);
/* Compare-and-swap: write only if @key's mod revision is @expect_rev
 * (0: only if absent). */
int nd_store_cas(nd_store *s, const char *key, int64_t expect_rev, const char *value,
                 nd_store_txn_fn cb, void *userdata);
int nd_store_delete(nd_store *s, const char *key, nd_store_txn_fn cb, void *userdata);
/* Events with revision > @from_rev (0: from now on). */
int nd_store_watch_start(nd_store *s, const char *prefix, int64_t from_rev, nd_store_watch_fn cb,
                   void *userdata, nd_store_watch **ret);
nd_store_watch *nd_store_watch_cancel(nd_store_watch *w);
int nd_store_lease_grant(nd_store *s, int64_t ttl_sec, nd_store_lease_fn cb, void *userdata);
int nd_store_lease_keepalive(nd_store *s, int64_t lease, nd_store_lease_fn cb, void *userdata);
int nd_store_lease_revoke(nd_store *s, int64_t lease, nd_store_lease_fn cb, void *userdata);

/* Backends. */
extern const struct nd_store_ops nd_store_local_ops;
/* etcd v3 over its JSON gateway: "etcd://H:P[,H:P...][?cacert=F&cert=F&key=F]"
 * ("etcds://" or any TLS option: https).  See store-etcd.c. */
extern const struct nd_store_ops nd_store_etcd_ops;
/* The endpoint in use now (the base URL). */
const char *nd_store_etcd_endpoint(const nd_store *s);

/* Prometheus families (commits and fsync latency; etcd requests, errors
 * and latency, watch reconnects). */
struct nd_expo;
void nd_store_local_metrics(const nd_store *s, struct nd_expo *e);
void nd_store_etcd_metrics(const nd_store *s, struct nd_expo *e);

/* Local backend only: test seams and tools. */
int nd_store_local_open_at(struct ev_loop *loop, const char *dir, nd_store **ret);
/* Rewrite the snapshot and truncate the log now. */
int nd_store_local_compact(nd_store *s);
int64_t nd_store_local_revision(const nd_store *s);
