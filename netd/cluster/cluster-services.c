/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services through the cluster (cluster.h, docs/services.md): the records
 * of services on overlay networks (services/ID, their names under
 * service-names/NAME), and the tasks of remote hosts, which are their
 * endpoint records carrying "Service" and "Health".  The cluster only
 * carries them: what a service is and what its tasks mean is the core's,
 * reached through the nd_cluster_svc_ops it was given.
 *
 * Trust: a service record is shared like a network record (any node may
 * create or remove one; the core validates it as untrusted input).  A
 * remote task is only ever a remote endpoint that passed the endpoint
 * trust checks (cluster-peers.c): its node is live, the record is on the
 * node's lease, and its address lies in a block the node holds, so no
 * host can make another host's address a backend.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster-internal.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "txn.h"

void nd_cluster_set_svc_ops(nd_cluster *cl, const nd_cluster_svc_ops *ops, void *userdata) {
        if (!cl)
                return;
        cl->svc = *ops;
        cl->svc_userdata = userdata;
}

void nd_cluster_set_event_hook(nd_cluster *cl, nd_cluster_event_fn fn, void *userdata) {
        if (!cl)
                return;
        cl->event = fn;
        cl->event_userdata = userdata;
}

const char *nd_cluster_node_id(const nd_cluster *cl) {
        return cl ? cl->id : NULL;
}

/* ---- service records ---- */

static ssize_t svc_index(nd_cluster *cl, const char *id) {
        for (size_t i = 0; i < cl->n_svc_ids; i++)
                if (strcmp(cl->svc_ids[i].id, id) == 0)
                        return (ssize_t) i;
        return -1;
}

void nd_cl_svc_put(nd_cluster *cl, const nd_store_kv *kv) {
        const char *id = kv->key + strlen(ND_KEY_GLOBAL_SERVICES);
        _cleanup_free_ char *value = NULL;
        ssize_t i;

        if (!nd_id_valid(id))
                return nd_log(LOG_WARNING, "ignoring a malformed service key", "key=%.200s", kv->key);
        i = svc_index(cl, id);
        if (i < 0) {
                if (ND_GROW(cl->svc_ids, cl->n_svc_ids, cl->cap_svc_ids, 1) < 0)
                        return;
                i = (ssize_t) cl->n_svc_ids++;
                snprintf(cl->svc_ids[i].id, sizeof(cl->svc_ids[i].id), "%s", id);
        }
        cl->svc_ids[i].seen = true;
        value = strndup(kv->value, kv->value_len);
        if (value && cl->svc.service)
                cl->svc.service(cl->svc_userdata, id, value);
}

static void svc_forget(nd_cluster *cl, size_t i) {
        char id[ND_ID_LEN + 1];
        snprintf(id, sizeof(id), "%s", cl->svc_ids[i].id);
        memmove(cl->svc_ids + i, cl->svc_ids + i + 1, (cl->n_svc_ids - i - 1) * sizeof(*cl->svc_ids));
        cl->n_svc_ids--;
        if (cl->svc.service)
                cl->svc.service(cl->svc_userdata, id, NULL);
}

void nd_cl_svc_del(nd_cluster *cl, const char *key) {
        ssize_t i = svc_index(cl, key + strlen(ND_KEY_GLOBAL_SERVICES));
        if (i >= 0)
                svc_forget(cl, (size_t) i);
}

void nd_cl_svc_unsee(nd_cluster *cl) {
        for (size_t i = 0; i < cl->n_svc_ids; i++)
                cl->svc_ids[i].seen = false;
}

void nd_cl_svc_drop_unseen(nd_cluster *cl) {
        for (size_t i = cl->n_svc_ids; i-- > 0;)
                if (!cl->svc_ids[i].seen)
                        svc_forget(cl, i);
}

struct svc_op {
        void (*cb)(void *u, int r);
        void *userdata;
};

static void on_svc_txn(void *userdata, int r, int64_t rev) {
        _cleanup_free_ struct svc_op *op = userdata;
        /* a failed compare: the name is taken */
        op->cb(op->userdata, r == -ECANCELED ? -EEXIST : r);
}

static int svc_txn(nd_cluster *cl, const char *id, const char *name, const char *value, void (*cb)(void *u, int r),
                   void *userdata) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct svc_op *op;
        const char *k_svc, *k_name;
        int r;

        if (!cl)
                return -EOPNOTSUPP;
        if (nd_store_txn_new(&t) < 0)
                return -ENOMEM;
        k_svc = nd_store_txn_keyf(t, ND_KEY_GLOBAL_SERVICES "%s", id);
        k_name = nd_store_txn_keyf(t, ND_KEY_GLOBAL_SERVICE_NAMES "%s", name);
        if (value) {
                (void) nd_store_txn_cmp_absent(t, k_name);
                (void) nd_store_txn_cmp_absent(t, k_svc);
                (void) nd_store_txn_put(t, k_name, id);
                (void) nd_store_txn_put(t, k_svc, value);
        } else {
                (void) nd_store_txn_del(t, k_svc);
                (void) nd_store_txn_del(t, k_name);
        }
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (struct svc_op) { .cb = cb, .userdata = userdata };
        r = nd_store_txn_submit(TAKE_PTR(t), cl->st, on_svc_txn, op);
        if (r < 0)
                free(op);
        return r;
}

int nd_cluster_service_create(nd_cluster *cl, const char *id, const char *name, const char *value,
                              void (*cb)(void *u, int r), void *userdata) {
        return svc_txn(cl, id, name, value, cb, userdata);
}

int nd_cluster_service_update(nd_cluster *cl, const char *id, const char *value, void (*cb)(void *u, int r),
                              void *userdata) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct svc_op *op;
        int r;

        if (!cl)
                return -EOPNOTSUPP;
        if (nd_store_txn_new(&t) < 0 || !(op = calloc(1, sizeof(*op))))
                return -ENOMEM;
        *op = (struct svc_op) { .cb = cb, .userdata = userdata };
        (void) nd_store_txn_put(t, nd_store_txn_keyf(t, ND_KEY_GLOBAL_SERVICES "%s", id), value);
        r = nd_store_txn_submit(TAKE_PTR(t), cl->st, on_svc_txn, op);
        if (r < 0)
                free(op);
        return r;
}

int nd_cluster_service_remove(nd_cluster *cl, const char *id, const char *name, void (*cb)(void *u, int r),
                              void *userdata) {
        return svc_txn(cl, id, name, NULL, cb, userdata);
}

/* ---- tasks ---- */

void nd_cl_svc_ep_fields(nd_cluster *cl, json_t *j, const char *owner, const char *service) {
        const char *h;
        if (!j || !service || !*service)
                return;
        json_object_set_new(j, "Service", json_string(service));
        h = cl->svc.health ? cl->svc.health(cl->svc_userdata, owner) : NULL;
        if (h)
                json_object_set_new(j, "Health", json_string(h));
}

void nd_cl_svc_task(nd_cluster *cl, const struct rep *e, const json_t *j) {
        const char *service = json_string_value(json_object_get(j, "Service"));
        const char *health = json_string_value(json_object_get(j, "Health"));
        const char *name = json_string_value(json_object_get(j, "Name"));

        if (!cl->svc.task)
                return;
        if (!service || !*service || strlen(service) > 63) {
                /* no longer a task (the record changed) */
                if (cl->svc.task_gone)
                        cl->svc.task_gone(cl->svc_userdata, e->key);
                return;
        }
        nd_cluster_task t = {
                .key = e->key,
                .service = service,
                .net_id = e->netid,
                .name = name ? name : "",
                .node = e->node,
                .health = health ? health : "none",
                .a4 = &e->peer.ip4,
        };
        cl->svc.task(cl->svc_userdata, &t);
}

void nd_cl_svc_task_gone(nd_cluster *cl, const struct rep *e) {
        if (cl->svc.task_gone)
                cl->svc.task_gone(cl->svc_userdata, e->key);
}
