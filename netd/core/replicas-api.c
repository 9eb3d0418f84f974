/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the API asks of a service's tasks (replicas-state.h): scale,
 * update and rollback of the record, and the tasks for `service ps`.
 */
#include "replicas-state.h"

/* ---- scale, update, rollback ---- */

struct change_op {
        nd_manager *m;
        char id[ND_ID_LEN + 1];
        nd_service *rec;           /* the new record */
        nd_manager_svc_fn cb;
        void *userdata;
};

static void on_changed(void *userdata, int r, int64_t rev) {
        struct change_op *op = userdata;
        nd_manager *m = op->m;
        struct nd_replicas *rp = m->replicas;
        struct rsvc *rs = rp ? nd_rp_rsvc_get(rp, op->id, false) : NULL;
        struct nd_svc *s = nd_rp_svc_by_id(m, op->id);
        nd_diag d = {0};

        if (rs)
                rs->changing = false;
        if (r >= 0 && !s)
                r = -ENOENT;
        if (r < 0) {
                nd_diag_set(&d, r, "writing the service failed: %s", strerror(-r));
                op->cb(op->userdata, r, NULL, &d);
        } else {
                nd_log(LOG_INFO, "service changed", "service=%s replicas=%u version=%" PRIu64, op->rec->name,
                       op->rec->replicas, op->rec->version);
                nd_service_take_tasks(s->rec, op->rec);
                nd_manager_event_service(m, "update", s->rec, s->global);
                nd_replicas_kick(m);
                op->cb(op->userdata, 0, nd_svc_view(m, s), NULL);
        }
        nd_service_free(op->rec);
        free(op);
}

static void on_changed_cl(void *userdata, int r) {
        on_changed(userdata, r, 0);
}

/* Write @rec (owned) as @s's record; its task fields replace @s's once
 * durable.  A global service's record is in etcd: every host applies
 * the change from there (service-cluster.c). */
static int svc_change_write(nd_manager *m, struct nd_svc *s, nd_service *rec, nd_manager_svc_fn cb, void *userdata,
                            nd_diag *d) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct rsvc *rs = m->replicas ? nd_rp_rsvc_get(m->replicas, s->rec->id, true) : NULL;
        struct change_op *op = calloc(1, sizeof(*op));
        int r;

        if (!op || !rs || nd_store_txn_new(&t) < 0) {
                free(op);
                nd_service_free(rec);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        *op = (struct change_op) { .m = m, .rec = rec, .cb = cb, .userdata = userdata };
        snprintf(op->id, sizeof(op->id), "%s", s->rec->id);
        if (s->global) {
                _cleanup_json_ json_t *j = nd_service_to_json(rec);
                _cleanup_free_ char *value = j ? json_dumps(j, JSON_COMPACT) : NULL;
                r = value ? nd_cluster_service_update(m->cluster, s->rec->id, value, on_changed_cl, op) : -ENOMEM;
                if (r < 0) {
                        nd_service_free(rec);
                        free(op);
                        return nd_diag_set(d, r, "writing the service to the cluster store failed: %s", strerror(-r));
                }
                rs->changing = true;
                return 0;
        }
        nd_store_txn_put_json_new(t, nd_store_txn_keyf(t, ND_KEY_SERVICES "%s", s->rec->id), nd_service_to_json(rec));
        r = nd_store_txn_submit(TAKE_PTR(t), m->store, on_changed, op);
        if (r < 0) {
                nd_service_free(rec);
                free(op);
                return nd_diag_set(d, r, "writing the service failed: %s", strerror(-r));
        }
        rs->changing = true;
        return 0;
}

/* The service @ref for a change: found, local, not busy. */
static int svc_for_change(nd_manager *m, const char *ref, struct nd_svc **ret, nd_diag *d) {
        struct nd_svc *s;
        struct rsvc *rs;
        int r = nd_svc_find(m, ref, &s);

        if (r == -ENOTUNIQ)
                return nd_diag_set(d, r, "service id prefix '%.64s' is ambiguous", ref);
        if (r < 0)
                return nd_diag_set(d, -ENOENT, "service '%.64s' not found", ref);
        if (!m->replicas)
                return nd_diag_set(d, -EBUSY, "netd is starting; try again");
        rs = nd_rp_rsvc_get(m->replicas, s->rec->id, false);
        if (rs && rs->removing)
                return nd_diag_set(d, -EBUSY, "service '%s' is being removed", s->rec->name);
        if (rs && rs->changing)
                return nd_diag_set(d, -EBUSY, "service '%s' is being changed; try again", s->rec->name);
        *ret = s;
        return 0;
}

int nd_manager_service_scale(nd_manager *m, const char *ref, const json_t *req, nd_manager_svc_fn cb, void *userdata,
                             nd_diag *d) {
        nd_service *rec = NULL;
        struct nd_svc *s;
        int r;

        if ((r = svc_for_change(m, ref, &s, d)) < 0 || (r = nd_service_scale(s->rec, req, &rec, d)) < 0)
                return r;
        return svc_change_write(m, s, rec, cb, userdata, d);
}

int nd_manager_service_update(nd_manager *m, const char *ref, const json_t *req, nd_manager_svc_fn cb, void *userdata,
                              nd_diag *d) {
        nd_service *rec = NULL;
        struct nd_svc *s;
        int r;

        if ((r = svc_for_change(m, ref, &s, d)) < 0 || (r = nd_service_update(s->rec, req, &rec, d)) < 0)
                return r;
        /* nothing to change: the same record again, answered alike */
        if (r == 0) {
                _cleanup_json_ json_t *j = nd_service_to_json(s->rec);
                if (!j)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
                if ((r = nd_service_from_json(j, &rec, d)) < 0)
                        return r;
        }
        return svc_change_write(m, s, rec, cb, userdata, d);
}

int nd_manager_service_rollback(nd_manager *m, const char *ref, nd_manager_svc_fn cb, void *userdata, nd_diag *d) {
        nd_service *rec = NULL;
        struct nd_svc *s;
        int r;

        if ((r = svc_for_change(m, ref, &s, d)) < 0 || (r = nd_service_rollback(s->rec, &rec, d)) < 0)
                return r;
        nd_log(LOG_INFO, "rolling a service back", "service=%s to_version=%" PRIu64, s->rec->name, rec->version);
        return svc_change_write(m, s, rec, cb, userdata, d);
}

/* ---- service ps ---- */

static int slot_cmp_asc(const void *a, const void *b) {
        return -nd_rp_slot_cmp_desc(a, b);
}

static json_t *slot_view(nd_manager *m, const struct nd_svc *s, const struct slot *sl) {
        char name[ND_NAME_MAX + 1];
        nd_container *c = NULL;
        const char *health = "";
        int64_t retry = 0;
        /* another host's slot: what its record says */
        bool theirs = sl->shared && !sl->claimed;

        nd_rp_task_name(s, sl, name);
        if (!theirs && sl->ctid[0] && nd_manager_container_find(m, sl->ctid, &c) == 0 &&
            strcmp(c->id, sl->ctid) == 0 && c->status == ND_CT_RUNNING && s->rec->health.cmd)
                health = nd_task_health_to_string(nd_services_task_health(m, c->id));
        else if (theirs)
                health = nd_rp_remote_health(m, s, sl);
        if (sl->restart && sl->wait_until_us > now_us())
                retry = sl->wait_until_us / SEC;
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:s, s:b}", "Name", name, "Slot",
                         sl->name, "Node", sl->node, "Host", nd_rp_slot_host(m, sl), "Container",
                         theirs ? sl->rctid : sl->ctid, "DesiredState",
                         (theirs ? sl->rrun && sl->node[0] : sl->run) ? "running" : "shutdown", "State", state_names[sl->state], "Since",
                         (json_int_t) sl->since, "Error", sl->error, "Version", (json_int_t) sl->version, "Restarts",
                         (json_int_t) sl->restarts, "RetryAt", (json_int_t) retry, "Health", health, "Updating",
                         sl->batch);
}

int nd_manager_service_tasks(nd_manager *m, const char *ref, json_t **ret, nd_diag *d) {
        struct nd_replicas *rp = m->replicas;
        _cleanup_free_ struct slot **mine = NULL;
        struct nd_svc *s;
        json_t *a;
        size_t n = 0;
        int r = nd_svc_find(m, ref, &s);

        if (r == -ENOTUNIQ)
                return nd_diag_set(d, r, "service id prefix '%.64s' is ambiguous", ref);
        if (r < 0)
                return nd_diag_set(d, -ENOENT, "service '%.64s' not found", ref);
        a = json_array();
        if (!a)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (rp && rp->n_slots && !(mine = calloc(rp->n_slots, sizeof(*mine)))) {
                json_decref(a);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; rp && i < rp->n_slots; i++)
                if (strcmp(rp->slots[i]->svc, s->rec->id) == 0)
                        mine[n++] = rp->slots[i];
        if (n)
                qsort(mine, n, sizeof(*mine), slot_cmp_asc);
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, slot_view(m, s, mine[i]));
        *ret = a;
        return 0;
}
