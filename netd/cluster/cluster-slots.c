/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Task slots of global services through the cluster (cluster.h,
 * docs/services.md "Across hosts"): the table of slot records as the
 * watch shows it, the compare-and-swap transactions that claim, write
 * and give up a slot on this node's lease, and what the core needs to
 * rank hosts and fence its tasks (live nodes, the lease's freshness).
 *
 * Trust: a record's holder counts only while the record is on that
 * node's live lease, so no host can hold a slot for another, and a
 * record left by a node that is gone reads as free (its claim then also
 * compares that the node is not live).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-internal.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "rt-config.h"
#include "txn.h"

void nd_cluster_set_slot_ops(nd_cluster *cl, const nd_cluster_slot_ops *ops, void *userdata) {
        if (!cl)
                return;
        cl->slot_ops = *ops;
        cl->slot_userdata = userdata;
}

void nd_cl_slots_changed(nd_cluster *cl) {
        if (cl->slot_ops.changed)
                cl->slot_ops.changed(cl->slot_userdata);
}

bool nd_cluster_slot_name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > ND_SLOT_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '-'))
                        return false;
        return true;
}

static struct cslot *cslot_free(struct cslot *c) {
        if (c) {
                free(c->value);
                free(c);
        }
        return NULL;
}

void nd_cl_slot_put(nd_cluster *cl, const nd_store_kv *kv) {
        const char *rest = kv->key + strlen(ND_KEY_GLOBAL_SERVICE_SLOTS), *slash = strchr(rest, '/');
        struct cslot *c;
        char *value;

        if (!cl->slots || !slash || slash - rest != ND_ID_LEN || !nd_cluster_slot_name_valid(slash + 1))
                return nd_log(LOG_WARNING, "ignoring a malformed task slot key", "key=%.200s", kv->key);
        _cleanup_json_ json_t *j = json_loadb(kv->value, kv->value_len, 0, NULL);
        const char *holder = json_string_value(json_object_get(j, "Node"));
        if (!(value = strndup(kv->value, kv->value_len)))
                return;
        c = nd_hmap_get(cl->slots, rest);
        if (!c) {
                if (!(c = calloc(1, sizeof(*c)))) {
                        free(value);
                        return;
                }
                snprintf(c->key, sizeof(c->key), "%s", rest);
                snprintf(c->svc, sizeof(c->svc), "%.*s", ND_ID_LEN, rest);
                snprintf(c->name, sizeof(c->name), "%s", slash + 1);
                if (nd_hmap_put(cl->slots, c->key, c) < 0) {
                        free(value);
                        cslot_free(c);
                        return;
                }
        }
        free(c->value);
        c->value = value;
        snprintf(c->holder, sizeof(c->holder), "%s", holder && nd_node_id_valid(holder) ? holder : "");
        c->rev = kv->mod_rev;
        c->lease = kv->lease;
        c->seen = true;
        nd_cl_slots_changed(cl);
}

void nd_cl_slot_del(nd_cluster *cl, const char *key) {
        struct cslot *c = cl->slots ? nd_hmap_remove(cl->slots, key + strlen(ND_KEY_GLOBAL_SERVICE_SLOTS)) : NULL;
        if (!c)
                return;
        cslot_free(c);
        nd_cl_slots_changed(cl);
}

void nd_cl_slot_unsee(nd_cluster *cl) {
        nd_hmap_iter it = {0};
        struct cslot *c;
        while (cl->slots && (c = nd_hmap_next(cl->slots, &it)))
                c->seen = false;
}

void nd_cl_slot_drop_unseen(nd_cluster *cl) {
        nd_hmap_iter it = {0};
        struct cslot *c;
        bool any = false;
        while (cl->slots && (c = nd_hmap_next(cl->slots, &it)))
                if (!c->seen) {
                        cslot_free(nd_hmap_remove(cl->slots, c->key));
                        any = true;
                }
        if (any)
                nd_cl_slots_changed(cl);
}

void nd_cl_slots_free(nd_cluster *cl) {
        nd_hmap_iter it = {0};
        struct cslot *c;
        while (cl->slots && (c = nd_hmap_next(cl->slots, &it)))
                cslot_free(c);
        cl->slots = nd_hmap_free(cl->slots);
}

/* The holder of @c if its record is on that node's live lease. */
static const char *cslot_node(nd_cluster *cl, const struct cslot *c) {
        const struct gnode *g = c->holder[0] ? nd_hmap_get(cl->nodes, c->holder) : NULL;
        if (!g || !g->live || !c->lease || g->lease != c->lease)
                return "";
        return c->holder;
}

void nd_cluster_slots_foreach(nd_cluster *cl, void (*fn)(void *u, const nd_cluster_slot *s), void *userdata) {
        nd_hmap_iter it = {0};
        struct cslot *c;
        while (cl && cl->slots && (c = nd_hmap_next(cl->slots, &it))) {
                nd_cluster_slot s = { .svc = c->svc, .name = c->name, .node = cslot_node(cl, c), .holder = c->holder,
                                      .value = c->value ? c->value : "", .rev = c->rev };
                fn(userdata, &s);
        }
}

struct slot_op {
        void (*cb)(void *u, int r, int64_t rev);
        void *userdata;
};

static void on_slot_txn(void *userdata, int r, int64_t rev) {
        _cleanup_free_ struct slot_op *op = userdata;
        op->cb(op->userdata, r, rev);
}

int nd_cluster_slot_txn(nd_cluster *cl, const char *svc, const char *slot, int64_t expect_rev, const char *dead_node,
                        const char *value, void (*cb)(void *u, int r, int64_t rev), void *userdata) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct slot_op *op;
        const char *key;
        int r;

        if (!cl)
                return -EOPNOTSUPP;
        if (value && !cl->lease)
                return -EAGAIN;
        if (nd_store_txn_new(&t) < 0 || !(op = calloc(1, sizeof(*op))))
                return -ENOMEM;
        *op = (struct slot_op) { .cb = cb, .userdata = userdata };
        key = nd_store_txn_keyf(t, ND_KEY_GLOBAL_SERVICE_SLOTS "%s/%s", svc, slot);
        (void) nd_store_txn_cmp_rev(t, key, expect_rev);
        if (dead_node && *dead_node)
                (void) nd_store_txn_cmp_absent(t, nd_store_txn_keyf(t, ND_KEY_GLOBAL_LIVE "%s", dead_node));
        if (value)
                (void) nd_store_txn_put_lease(t, key, value, cl->lease);
        else
                (void) nd_store_txn_del(t, key);
        r = nd_store_txn_submit(TAKE_PTR(t), cl->st, on_slot_txn, op);
        if (r < 0)
                free(op);
        return r;
}

int64_t nd_cluster_revision(const nd_cluster *cl) {
        return cl ? cl->rev : 0;
}

double nd_cluster_lease_deadline(const nd_cluster *cl) {
        if (!cl || !cl->lease || cl->lease_ok_at <= 0)
                return 0;
        return cl->lease_ok_at + cl->ttl * 2.0 / 3.0;
}

int64_t nd_cluster_lease_fresh_us(const nd_cluster *cl) {
        double deadline = nd_cluster_lease_deadline(cl);
        return deadline > 0 ? (int64_t) ((deadline - nd_rt_boottime()) * 1e6) : 0;
}

size_t nd_cluster_live_nodes(nd_cluster *cl, char (*ids)[ND_NODE_ID_LEN + 1], size_t max) {
        nd_hmap_iter it = {0};
        struct gnode *g;
        size_t n = 0;
        while (cl && (g = nd_hmap_next(cl->nodes, &it)) && n < max)
                if (g->live)
                        snprintf(ids[n++], ND_NODE_ID_LEN + 1, "%s", g->id);
        return n;
}

const char *nd_cluster_node_name(nd_cluster *cl, const char *id) {
        return cl ? nd_cl_node_label(cl, id) : id;
}
