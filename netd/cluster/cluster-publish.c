/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cluster-publish.c
 * Our own endpoint records (endpoints/NODE/NET/OWNER on the node lease):
 * the set we want in etcd, kept per owner, and the sync pass that writes
 * it, retried every second while etcd does not take it; records of a
 * previous run that nothing published again are pruned after start-up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-internal.h"
#include "container.h"
#include "json-util.h"
#include "log.h"
#include "mac.h"
#include "network.h"
#include "store.h"

/* ---- our endpoints ---- */

static void on_lep_done(void *userdata, int r, int64_t rev);

/* @value with "WrittenMs" set to now, for the hosts that apply it to
 * measure their watch lag (netd_cluster_watch_lag_seconds).  Stamped when
 * sent, not kept in the desired set, so that an unchanged record is not
 * written again; NULL when out of memory (@value unreadable: a copy). */
static char *lep_stamped(const char *value) {
        _cleanup_json_ json_t *j = json_loads(value, 0, NULL);
        if (!json_is_object(j) || json_object_set_new(j, "WrittenMs", json_integer(nd_cl_wall_ms())) < 0)
                return strdup(value);
        return json_dumps(j, JSON_COMPACT);
}

struct lep_op {
        nd_cluster *cl;
        char key[200];
        unsigned gen;
};

void nd_cl_sync_leps(nd_cluster *cl) {
        if (!cl->lease)
                return;
        for (size_t i = 0; i < cl->n_leps; i++) {
                struct lep *e = &cl->leps[i];
                if (e->synced || e->busy)
                        continue;
                struct lep_op *op = calloc(1, sizeof(*op));
                if (!op)
                        break;
                op->cl = cl;
                op->gen = e->gen;
                snprintf(op->key, sizeof(op->key), "%s", e->key);
                _cleanup_free_ char *v = e->value ? lep_stamped(e->value) : NULL;
                if (e->value && !v) {
                        free(op);
                        break;
                }
                int r = v ? nd_store_put(cl->st, e->key, v, cl->lease, on_lep_done, op)
                          : nd_store_delete(cl->st, e->key, on_lep_done, op);
                if (r < 0) {
                        free(op);
                        break;
                }
                e->busy = true;
        }
}

static void on_lep_done(void *userdata, int r, int64_t rev) {
        struct lep_op *op = userdata;
        nd_cluster *cl = op->cl;
        for (size_t i = 0; i < cl->n_leps; i++) {
                struct lep *e = &cl->leps[i];
                if (strcmp(e->key, op->key) != 0)
                        continue;
                e->busy = false;
                if (r < 0) {
                        cl->sync_failures++;
                        nd_log_errno(LOG_WARNING, r, "publishing an endpoint failed; retrying", "key=%s", e->key);
                        if (r == -ENOENT)
                                nd_cl_renew(cl); /* the lease is gone */
                        if (!ev_is_active(&cl->sync_timer))
                                ev_timer_start(cl->loop, &cl->sync_timer);
                } else if (e->gen == op->gen) {
                        e->synced = true;
                        if (!e->value) {
                                cl->leps[i] = cl->leps[--cl->n_leps];
                                break;
                        }
                }
                break;
        }
        free(op);
        nd_cl_sync_leps(cl);
}

void nd_cl_on_sync_timer(struct ev_loop *loop, ev_timer *t, int revents) {
        nd_cl_sync_leps(t->data);
}

static void lep_set(nd_cluster *cl, const char *key, const char *ctid, char *value) {
        for (size_t i = 0; i < cl->n_leps; i++) {
                struct lep *e = &cl->leps[i];
                if (strcmp(e->key, key) != 0)
                        continue;
                if ((!e->value && !value) || (e->value && value && strcmp(e->value, value) == 0)) {
                        free(value);
                        return;
                }
                free(e->value);
                e->value = value;
                e->gen++;
                e->synced = false;
                return;
        }
        if (ND_GROW(cl->leps, cl->n_leps, cl->cap_leps, 1) < 0) {
                free(value);
                return;
        }
        struct lep *e = &cl->leps[cl->n_leps++];
        *e = (struct lep) { .value = value };
        snprintf(e->key, sizeof(e->key), "%s", key);
        snprintf(e->ctid, sizeof(e->ctid), "%s", ctid);
}

/* After start-up (nd_cluster_ready): our endpoint records that a restart
 * found in etcd and that nothing published again are withdrawn. */
void nd_cl_on_prune(struct ev_loop *loop, ev_timer *t, int revents) {
        nd_cluster *cl = t->data;
        size_t n = 0;
        for (size_t i = 0; i < cl->n_stale; i++) {
                bool wanted = false;
                for (size_t k = 0; k < cl->n_leps && !wanted; k++)
                        wanted = strcmp(cl->leps[k].key, cl->stale[i]) == 0;
                if (!wanted) {
                        /* an entry with no value: sync deletes it */
                        if (ND_GROW(cl->leps, cl->n_leps, cl->cap_leps, 1) == 0) {
                                struct lep *e = &cl->leps[cl->n_leps++];
                                *e = (struct lep) {0};
                                snprintf(e->key, sizeof(e->key), "%s", cl->stale[i]);
                                n++;
                        }
                }
                free(cl->stale[i]);
        }
        free(cl->stale);
        cl->stale = NULL;
        cl->n_stale = 0;
        if (n)
                nd_log(LOG_INFO, "withdrawing endpoint records of the previous run that are gone", "count=%zu", n);
        nd_cl_sync_leps(cl);
}

void nd_cluster_ready(nd_cluster *cl) {
        if (cl && cl->n_stale)
                ev_timer_start(cl->loop, &cl->prune_timer);
}
/* The record of endpoint @e: where peers send its frames, and its names. */
static char *ep_value(nd_cluster *cl, const nd_endpoint *e, const char *name, const char *hostname, const char *owner,
                      const char *service) {
        char a4[ND_ADDR_STRLEN], a6[ND_ADDR_STRLEN], mac[18], vtep[ND_ADDR_STRLEN];
        json_t *al = json_array();
        for (size_t k = 0; k < e->n_aliases; k++)
                json_array_append_new(al, json_string(e->aliases[k]));
        nd_mac_fmt(e->mac, mac);
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "Node", cl->id, "Vtep", nd_addr_fmt(&cl->addr, vtep),
                              "Mac", mac, "Name", name ? name : "", "Hostname", hostname ? hostname : "", "Aliases",
                              al);
        if (j && e->addr4.family)
                json_object_set_new(j, "IPv4", json_string(nd_addr_fmt(&e->addr4, a4)));
        if (j && e->addr6.family)
                json_object_set_new(j, "IPv6", json_string(nd_addr_fmt(&e->addr6, a6)));
        nd_cl_svc_ep_fields(cl, j, owner, service);
        char *v = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        return v;
}

void nd_cluster_publish(nd_cluster *cl, const nd_container *c) {
        char key[200];
        bool want[ND_MAX_ENDPOINTS] = { false };

        if (!cl)
                return;
        for (size_t i = 0; i < c->n_eps; i++) {
                const nd_endpoint *e = &c->eps[i];
                nd_network *n = nd_cl_net_by_id(cl, e->net_id);
                if (!n || !nd_network_is_global(n))
                        continue;
                char *v = ep_value(cl, e, c->name, c->hostname, c->id, c->service);
                if (!v)
                        continue;
                snprintf(key, sizeof(key), ND_KEY_GLOBAL_ENDPOINTS "%s/%s/%s", cl->id, n->id, c->id);
                lep_set(cl, key, c->id, v);
                want[i] = true;
        }
        /* networks it left */
        for (size_t i = 0; i < cl->n_leps; i++) {
                struct lep *e = &cl->leps[i];
                if (strcmp(e->ctid, c->id) != 0 || !e->value)
                        continue;
                bool keep = false;
                for (size_t k = 0; k < c->n_eps && !keep; k++)
                        keep = want[k] && strncmp(e->key + strlen(ND_KEY_GLOBAL_ENDPOINTS) + ND_NODE_ID_LEN + 1, c->eps[k].net_id, ND_ID_LEN) == 0;
                if (!keep)
                        lep_set(cl, e->key, c->id, NULL);
        }
        nd_cl_sync_leps(cl);
}

void nd_cluster_withdraw(nd_cluster *cl, const nd_container *c) {
        nd_cluster_withdraw_owner(cl, c->id);
}

void nd_cluster_publish_endpoint(nd_cluster *cl, const char *owner, const nd_endpoint *e, const char *service,
                                 const char *name, const char *hostname) {
        char key[200];
        nd_network *n;
        if (!cl || !nd_id_valid(owner) || !(n = nd_cl_net_by_id(cl, e->net_id)) || !nd_network_is_global(n))
                return;
        char *v = ep_value(cl, e, name, hostname, owner, service);
        if (!v)
                return;
        snprintf(key, sizeof(key), ND_KEY_GLOBAL_ENDPOINTS "%s/%s/%s", cl->id, n->id, owner);
        lep_set(cl, key, owner, v);
        nd_cl_sync_leps(cl);
}

void nd_cluster_withdraw_owner(nd_cluster *cl, const char *owner) {
        if (!cl)
                return;
        for (size_t i = 0; i < cl->n_leps; i++)
                if (strcmp(cl->leps[i].ctid, owner) == 0 && cl->leps[i].value)
                        lep_set(cl, cl->leps[i].key, owner, NULL);
        nd_cl_sync_leps(cl);
}
