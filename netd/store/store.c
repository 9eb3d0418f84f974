/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "store.h"

static const struct nd_store_ops *const backends[] = {
        &nd_store_local_ops,
        &nd_store_etcd_ops,
};

int nd_store_open(struct ev_loop *loop, const char *url, const char *state_dir, nd_store **ret) {
        if (!url || !*url)
                url = "local";
        for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
                size_t n = strlen(backends[i]->scheme);
                /* "etcds://" is etcd over TLS */
                if (strncmp(url, backends[i]->scheme, n) == 0 &&
                    (url[n] == 0 || url[n] == ':' || (url[n] == 's' && url[n + 1] == ':')))
                        return backends[i]->open(loop, url, state_dir, ret);
        }
        return -EPROTONOSUPPORT;
}

nd_store *nd_store_free(nd_store *s) {
        if (s)
                s->ops->free(s);
        return NULL;
}

const char *nd_store_backend(const nd_store *s) {
        return s->ops->scheme;
}

static int check_key(const char *key) {
        if (!key || !*key || strlen(key) > ND_STORE_MAX_KEY)
                return -EINVAL;
        return 0;
}

int nd_store_txn(nd_store *s, const nd_store_cmp *cmps, size_t n_cmps, const nd_store_op *ops,
                 size_t n_ops, nd_store_txn_fn cb, void *userdata) {
        if (n_ops + n_cmps > ND_STORE_MAX_TXN_OPS)
                return -E2BIG;
        for (size_t i = 0; i < n_cmps; i++)
                if (check_key(cmps[i].key) < 0 || cmps[i].mod_rev < 0)
                        return -EINVAL;
        for (size_t i = 0; i < n_ops; i++) {
                if (check_key(ops[i].key) < 0 || ops[i].type < 0 || ops[i].type >= _ND_STORE_OP_MAX)
                        return -EINVAL;
                if (ops[i].type == ND_STORE_PUT &&
                    (!ops[i].value || strlen(ops[i].value) > ND_STORE_MAX_VALUE))
                        return -EINVAL;
        }
        return s->ops->txn(s, cmps, n_cmps, ops, n_ops, cb, userdata);
}

int nd_store_get(nd_store *s, const char *key, nd_store_range_fn cb, void *userdata) {
        if (check_key(key) < 0)
                return -EINVAL;
        return s->ops->range(s, key, false, cb, userdata);
}

int nd_store_list(nd_store *s, const char *prefix, nd_store_range_fn cb, void *userdata) {
        if (check_key(prefix) < 0)
                return -EINVAL;
        return s->ops->range(s, prefix, true, cb, userdata);
}

int nd_store_put(nd_store *s, const char *key, const char *value, int64_t lease,
                 nd_store_txn_fn cb, void *userdata) {
        nd_store_op op = { .type = ND_STORE_PUT, .key = key, .value = value, .lease = lease };
        return nd_store_txn(s, NULL, 0, &op, 1, cb, userdata);
}

int nd_store_cas(nd_store *s, const char *key, int64_t expect_rev, const char *value,
                 nd_store_txn_fn cb, void *userdata) {
        nd_store_cmp c = { .key = key, .mod_rev = expect_rev };
        nd_store_op op = { .type = ND_STORE_PUT, .key = key, .value = value };
        return nd_store_txn(s, &c, 1, &op, 1, cb, userdata);
}

int nd_store_delete(nd_store *s, const char *key, nd_store_txn_fn cb, void *userdata) {
        nd_store_op op = { .type = ND_STORE_DELETE, .key = key };
        return nd_store_txn(s, NULL, 0, &op, 1, cb, userdata);
}

int nd_store_watch_start(nd_store *s, const char *prefix, int64_t from_rev, nd_store_watch_fn cb,
                   void *userdata, nd_store_watch **ret) {
        if (check_key(prefix) < 0 || from_rev < 0 || !cb)
                return -EINVAL;
        return s->ops->watch(s, prefix, from_rev, cb, userdata, ret);
}

int nd_store_lease_grant(nd_store *s, int64_t ttl_sec, nd_store_lease_fn cb, void *userdata) {
        if (ttl_sec <= 0)
                return -EINVAL;
        return s->ops->lease_grant(s, ttl_sec, cb, userdata);
}

int nd_store_lease_keepalive(nd_store *s, int64_t lease, nd_store_lease_fn cb, void *userdata) {
        return s->ops->lease_keepalive(s, lease, cb, userdata);
}

int nd_store_lease_revoke(nd_store *s, int64_t lease, nd_store_lease_fn cb, void *userdata) {
        return s->ops->lease_revoke(s, lease, cb, userdata);
}

nd_store_watch *nd_store_watch_cancel(nd_store_watch *w) {
        if (w)
                w->store->ops->watch_cancel(w);
        return NULL;
}
