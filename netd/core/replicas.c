/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tasks netd runs for a service (replicas-internal.h, docs/services.md
 * "Replicated services"): slots, their claims and records, and the
 * reconciler that makes each slot's container match what the service
 * wants: created, restarted with backoff, replaced in batches when the
 * template changes, stopped when the slot is no longer wanted.
 *
 * A slot's life on this host:
 *
 *   wanted ──claim──► claimed ──create──► running ──exit──► failed ─backoff─► (start again)
 *                                            │                  │
 *                           unwanted/replace ▼                  ▼ condition says no
 *                     drain ─► stop ─► remove ─► (replace: create; unwanted: release)   complete
 *
 * Each step is one asynchronous operation (the slot is "busy" meanwhile);
 * its callback only records the result and kicks a pass, and the pass
 * decides the next step from what the tables hold.  A netd that was
 * killed finds the slots in the store and their containers in the
 * container table: running tasks are adopted as they are.
 */
#include "replicas-state.h"

int64_t nd_rp_unix_now(void) {
        return now_us() / SEC;
}

const char *nd_rp_node_id(nd_manager *m) {
        const char *id = m->cluster ? nd_cluster_node_id(m->cluster) : NULL;
        return id ? id : "";
}

/* This host's slot name in global mode: its node name (or host name) as
 * one DNS label, dots and other characters turned into '-', so NAME.HOST
 * is a container name.  The whole name, not its first label: node1.dc1
 * and node1.dc2 must not want the same slot. */
void nd_rp_host_slot_name(nd_manager *m, char buf[static SLOT_NAME_MAX]) {
        char host[256] = "";
        size_t k = 0;

        if (m->node_name)
                snprintf(host, sizeof(host), "%s", m->node_name);
        else
                (void) gethostname(host, sizeof(host) - 1);
        for (size_t i = 0; host[i] && k < SLOT_NAME_MAX - 1; i++) {
                char c = host[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
                buf[k++] = ok ? c : '-';
        }
        if (k == 0)
                buf[k++] = 'h';
        buf[k] = 0;
}

/* ---- tables ---- */

struct slot *nd_rp_slot_by_serial(struct nd_replicas *rp, uint64_t serial) {
        for (size_t i = 0; i < rp->n_slots; i++)
                if (rp->slots[i]->serial == serial)
                        return rp->slots[i];
        return NULL;
}

struct slot *nd_rp_slot_find(struct nd_replicas *rp, const char *svc, const char *name) {
        for (size_t i = 0; i < rp->n_slots; i++)
                if (strcmp(rp->slots[i]->svc, svc) == 0 && strcmp(rp->slots[i]->name, name) == 0)
                        return rp->slots[i];
        return NULL;
}

struct slot *nd_rp_slot_new(struct nd_replicas *rp, const char *svc, const char *name) {
        struct slot *sl;
        char *end;

        if (ND_GROW(rp->slots, rp->n_slots, rp->cap_slots, 1) < 0 || !(sl = calloc(1, sizeof(*sl))))
                return NULL;
        sl->serial = ++rp->next_serial;
        snprintf(sl->svc, sizeof(sl->svc), "%s", svc);
        snprintf(sl->name, sizeof(sl->name), "%s", name);
        unsigned long n = strtoul(name, &end, 10);
        sl->num = *end || n > ND_SVC_MAX_REPLICAS ? 0 : (unsigned) n;
        sl->run = true;
        sl->state = ST_PENDING;
        sl->since = nd_rp_unix_now();
        rp->slots[rp->n_slots++] = sl;
        return sl;
}

void nd_rp_slot_free(struct nd_replicas *rp, struct slot *sl) {
        for (size_t i = 0; i < rp->n_slots; i++)
                if (rp->slots[i] == sl) {
                        memmove(rp->slots + i, rp->slots + i + 1, (rp->n_slots - i - 1) * sizeof(*rp->slots));
                        rp->n_slots--;
                        break;
                }
        free(sl);
}

struct rsvc *nd_rp_rsvc_get(struct nd_replicas *rp, const char *id, bool create) {
        struct rsvc *rs;
        for (size_t i = 0; i < rp->n_svcs; i++)
                if (strcmp(rp->svcs[i]->id, id) == 0)
                        return rp->svcs[i];
        if (!create || ND_GROW(rp->svcs, rp->n_svcs, rp->cap_svcs, 1) < 0 || !(rs = calloc(1, sizeof(*rs))))
                return NULL;
        snprintf(rs->id, sizeof(rs->id), "%s", id);
        rp->svcs[rp->n_svcs++] = rs;
        return rs;
}

static void rsvc_drop(struct nd_replicas *rp, size_t i) {
        free(rp->svcs[i]);
        memmove(rp->svcs + i, rp->svcs + i + 1, (rp->n_svcs - i - 1) * sizeof(*rp->svcs));
        rp->n_svcs--;
}

/* The service of @sl, if it still runs tasks (committed, a template). */
struct nd_svc *nd_rp_slot_service(nd_manager *m, const struct slot *sl) {
        for (size_t i = 0; i < m->n_svcs; i++)
                if (strcmp(m->svcs[i]->rec->id, sl->svc) == 0)
                        return m->svcs[i]->committed && m->svcs[i]->rec->task ? m->svcs[i] : NULL;
        return NULL;
}

void nd_rp_task_name(const struct nd_svc *s, const struct slot *sl, char buf[static ND_NAME_MAX + 1]) {
        snprintf(buf, ND_NAME_MAX + 1, "%s.%s", s->rec->name, sl->name);
}

/* @sl's container: by id, else (a crash between the create and the
 * record) a managed task of the service by its name. */
nd_container *nd_rp_slot_container(nd_manager *m, const struct nd_svc *s, struct slot *sl) {
        char name[ND_NAME_MAX + 1];
        nd_container *c;

        if (sl->ctid[0] && nd_manager_container_find(m, sl->ctid, &c) == 0 && strcmp(c->id, sl->ctid) == 0)
                return c;
        if (!s)
                return NULL;
        nd_rp_task_name(s, sl, name);
        if (nd_manager_container_find(m, name, &c) == 0 && strcmp(c->name, name) == 0 && c->managed &&
            strcmp(c->service, s->rec->name) == 0) {
                snprintf(sl->ctid, sizeof(sl->ctid), "%s", c->id);
                return c;
        }
        sl->ctid[0] = 0;
        return NULL;
}

/* ---- the slot's record ---- */

json_t *nd_rp_slot_record(const struct slot *sl) {
        return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "Node", sl->node, "Container", sl->ctid, "Desired",
                         sl->run ? "running" : "shutdown", "State", state_names[sl->state], "Since",
                         (json_int_t) sl->since, "Error", sl->error, "Version", (json_int_t) sl->version);
}


static void on_slot_written(void *userdata, int r, int64_t rev) {
        _cleanup_free_ struct op *op = userdata;
        struct nd_replicas *rp = op->m->replicas;
        struct slot *sl = rp ? nd_rp_slot_by_serial(rp, op->serial) : NULL;

        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "writing a task slot's record failed, ignoring", "slot=%s",
                             sl ? sl->name : "?");
        if (!sl)
                return;
        sl->writing = false;
        if (sl->rewrite) {
                sl->rewrite = false;
                nd_rp_slot_write(rp, sl);
        }
}

/* The record as it is now, for `service ps` after a restart: only the
 * holder writes it (one write in flight per slot, the last state wins).
 * The store applies writes in order, so a release (a delete) queued
 * behind a write still leaves no record. */
void nd_rp_slot_write(struct nd_replicas *rp, struct slot *sl) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct op *op;

        if (!sl->claimed)
                return;
        if (sl->shared)
                return nd_rp_cluster_write(rp, sl);
        if (sl->writing) {
                sl->rewrite = true;
                return;
        }
        op = calloc(1, sizeof(*op));
        if (!op || nd_store_txn_new(&t) < 0) {
                free(op);
                return;
        }
        *op = (struct op) { .m = rp->m, .serial = sl->serial };
        nd_store_txn_put_json_new(t, nd_store_txn_keyf(t, ND_KEY_SERVICE_SLOTS "%s/%s", sl->svc, sl->name),
                                  nd_rp_slot_record(sl));
        if (nd_store_txn_submit(TAKE_PTR(t), rp->m->store, on_slot_written, op) < 0) {
                free(op);
                return;
        }
        sl->writing = true;
}

void nd_rp_slot_set(struct nd_replicas *rp, struct slot *sl, slot_state st, const char *error) {
        error = error ? error : "";
        if (sl->state == st && strcmp(sl->error, error) == 0)
                return;
        if (sl->state != st)
                sl->since = nd_rp_unix_now();
        sl->state = st;
        if (error != sl->error)
                snprintf(sl->error, sizeof(sl->error), "%s", error);
        nd_rp_slot_write(rp, sl);
}

/* ---- claiming a slot ----
 *
 * nd_rp_slot_claim() is the one step where a slot changes hands: taking it
 * writes its record with this host as "Node", giving it up deletes the
 * record.  Nothing else creates or deletes a slot record, and a slot's
 * container is created only once its claim has committed.
 *
 * A slot of a local service lives in the host's store, which has no
 * other writer, so a put is the claim.  A slot of a service on overlay
 * networks lives in etcd (ND_KEY_GLOBAL_SERVICE_SLOTS) and the claim is a
 * transaction there (replicas-cluster.c): take = compare (the key is
 * absent, or its mod_revision is the one this host read and its "Node"
 * has no live key under ND_KEY_GLOBAL_LIVE) then put on this host's
 * lease; give up = compare (the revision this host wrote last) then
 * delete.  A failed compare answers -ECANCELED: another host holds the
 * slot, and this one leaves it alone (its task shows with that host in
 * `service ps`).  The lease makes a dead host's slots vanish, so the
 * survivors claim them.  nd_rp_slot_write() is then a put guarded by
 * the same compare. */
static void on_claimed(void *userdata, int r, int64_t rev);

int nd_rp_slot_claim(struct nd_replicas *rp, struct slot *sl, bool take) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct op *op;
        const char *key;
        int k;

        if (sl->shared)
                return nd_rp_cluster_claim(rp, sl, take);
        op = calloc(1, sizeof(*op));
        if (!op || nd_store_txn_new(&t) < 0) {
                free(op);
                return -ENOMEM;
        }
        *op = (struct op) { .m = rp->m, .serial = sl->serial };
        key = nd_store_txn_keyf(t, ND_KEY_SERVICE_SLOTS "%s/%s", sl->svc, sl->name);
        if (take) {
                snprintf(sl->node, sizeof(sl->node), "%s", nd_rp_node_id(rp->m));
                nd_store_txn_put_json_new(t, key, nd_rp_slot_record(sl));
        } else
                nd_store_txn_del(t, key);
        k = nd_store_txn_submit(TAKE_PTR(t), rp->m->store, on_claimed, op);
        if (k < 0) {
                free(op);
                return k;
        }
        sl->busy = true;
        sl->claimed = take; /* what the store will say; undone on failure */
        return 0;
}

static void on_claimed(void *userdata, int r, int64_t rev) {
        _cleanup_free_ struct op *op = userdata;
        struct nd_replicas *rp = op->m->replicas;
        struct slot *sl = rp ? nd_rp_slot_by_serial(rp, op->serial) : NULL;

        if (!sl)
                return;
        sl->busy = false;
        if (r < 0) {
                nd_log_errno(LOG_WARNING, r, "claiming or releasing a task slot failed, retrying", "slot=%s/%s",
                             sl->svc, sl->name);
                sl->claimed = !sl->claimed;
                sl->wait_until_us = now_us() + CLAIM_RETRY_US;
        } else if (!sl->claimed) {
                nd_rp_slot_free(rp, sl);
        }
        nd_replicas_kick(op->m);
}

/* ---- the pass ---- */

struct nd_svc *nd_rp_svc_by_id(nd_manager *m, const char *id) {
        for (size_t i = 0; i < m->n_svcs; i++)
                if (strcmp(m->svcs[i]->rec->id, id) == 0)
                        return m->svcs[i];
        return NULL;
}

static bool slot_orphaned(nd_manager *m, const struct slot *sl) {
        const struct nd_svc *s = nd_rp_svc_by_id(m, sl->svc);
        return !s || (s->committed && !s->rec->task);
}

static void reconcile_orphans(struct nd_replicas *rp, struct pass *p) {
        _cleanup_free_ char (*ids)[ND_ID_LEN + 1] = NULL;
        size_t n = 0;

        for (size_t i = 0; i < rp->n_slots; i++)
                if (slot_orphaned(rp->m, rp->slots[i]))
                        n++;
        if (n == 0 || !(ids = calloc(n, sizeof(*ids))))
                return;
        n = 0;
        for (size_t i = 0; i < rp->n_slots; i++) {
                struct slot *sl = rp->slots[i];
                bool seen = false;
                if (!slot_orphaned(rp->m, sl))
                        continue;
                if (sl->run) {
                        sl->run = false;
                        nd_rp_slot_write(rp, sl);
                }
                for (size_t k = 0; k < n && !seen; k++)
                        seen = strcmp(ids[k], sl->svc) == 0;
                if (!seen)
                        snprintf(ids[n++], ND_ID_LEN + 1, "%s", sl->svc);
        }
        for (size_t k = 0; k < n; k++)
                nd_rp_svc_slots_step(rp, NULL, ids[k], p);
}

static void reconcile(struct nd_replicas *rp) {
        nd_manager *m = rp->m;
        struct pass p = { .now = now_us(), .next_us = INT64_MAX, .budget = OPS_PER_PASS };

        /* the cluster's slots and this host's lease first: what it no
         * longer holds is stopped before anything is claimed */
        nd_rp_cluster_sync(rp, &p);
        nd_rp_cluster_reap(rp, &p);
        for (size_t i = 0; i < m->n_svcs; i++) {
                struct nd_svc *s = m->svcs[i];
                if (s->committed && s->rec->task)
                        nd_rp_svc_reconcile(rp, s, &p);
        }
        /* slots of services that are gone or run no tasks (a crash in
         * the middle of a removal): their containers go, then the slots */
        reconcile_orphans(rp, &p);
        for (size_t i = 0; i < rp->n_svcs;)
                if (!nd_rp_svc_by_id(m, rp->svcs[i]->id) && !rp->svcs[i]->removing)
                        rsvc_drop(rp, i);
                else
                        i++;
        if (p.budget == 0)
                p.next_us = p.now;
        ev_timer_stop(m->loop, &rp->timer);
        if (p.next_us != INT64_MAX) {
                double after = (double) (p.next_us - p.now) / SEC;
                ev_timer_set(&rp->timer, after > 0 ? after : 0, 0);
                ev_timer_start(m->loop, &rp->timer);
        }
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents) {
        reconcile(container_of(w, struct nd_replicas, timer));
}

void nd_replicas_kick(nd_manager *m) {
        struct nd_replicas *rp = m->replicas;
        if (!rp || !rp->started)
                return;
        ev_timer_stop(m->loop, &rp->timer);
        ev_timer_set(&rp->timer, 0, 0);
        ev_timer_start(m->loop, &rp->timer);
}

/* ---- start-up and exit ---- */

static slot_state state_from_string(const char *s) {
        for (int i = 0; s && i < _ST_MAX; i++)
                if (strcmp(state_names[i], s) == 0)
                        return (slot_state) i;
        return ST_PENDING;
}

/* A slot record's fields into @into (node, container, desired and
 * current state, since, error, version); untrusted like any record:
 * -EINVAL and nothing changed when wrong. */
int nd_rp_record_parse(const char *value, size_t len, struct slot *into) {
        const char *node, *ct, *desired, *state, *error;
        json_int_t since, version;
        _cleanup_json_ json_t *j = json_loadb(value, len, 0, NULL);

        if (!j || json_unpack(j, "{s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "Node", &node, "Container", &ct, "Desired",
                              &desired, "State", &state, "Since", &since, "Error", &error, "Version", &version) < 0)
                return -EINVAL;
        if (strlen(node) > ND_NODE_ID_LEN || (*ct && !nd_id_valid(ct)) || version < 0)
                return -EINVAL;
        snprintf(into->node, sizeof(into->node), "%s", node);
        snprintf(into->ctid, sizeof(into->ctid), "%s", ct);
        into->run = strcmp(desired, "running") == 0;
        into->state = state_from_string(state);
        into->since = since;
        snprintf(into->error, sizeof(into->error), "%s", error);
        into->version = (uint64_t) version;
        return 0;
}

/* One record read back: "SVCID/SLOT" after the prefix; untrusted like
 * any record, so checked and skipped when wrong. */
static int slot_load(struct nd_replicas *rp, const nd_store_kv *kv) {
        const char *rest = kv->key + strlen(ND_KEY_SERVICE_SLOTS), *slash = strchr(rest, '/');
        char id[ND_ID_LEN + 1];
        struct slot rec = {0};
        struct slot *sl;
        const char *ct;

        if (!slash || slash - rest != ND_ID_LEN || !nd_cluster_slot_name_valid(slash + 1))
                return -EINVAL;
        snprintf(id, sizeof(id), "%.*s", ND_ID_LEN, rest);
        if (!nd_id_valid(id) || nd_rp_slot_find(rp, id, slash + 1))
                return -EINVAL;
        if (nd_rp_record_parse(kv->value, kv->value_len, &rec) < 0)
                return -EINVAL;
        sl = nd_rp_slot_new(rp, id, slash + 1);
        if (!sl)
                return -ENOMEM;
        snprintf(sl->node, sizeof(sl->node), "%s", rec.node);
        snprintf(sl->ctid, sizeof(sl->ctid), "%s", rec.ctid);
        sl->run = rec.run;
        sl->state = rec.state;
        sl->since = rec.since;
        snprintf(sl->error, sizeof(sl->error), "%s", rec.error);
        sl->version = rec.version;
        sl->claimed = strcmp(rec.node, nd_rp_node_id(rp->m)) == 0;
        ct = sl->ctid;
        /* the container's last exit was counted before the restart */
        nd_container *c;
        if (*ct && nd_manager_container_find(rp->m, ct, &c) == 0 && strcmp(c->id, ct) == 0 &&
            c->status == ND_CT_RUNNING)
                sl->exit_seen_us = c->finished_us;
        return 0;
}

static void on_slots_loaded(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_manager *m = userdata;
        struct nd_replicas *rp = m->replicas;
        size_t loaded = 0;

        if (r < 0)
                nd_log_errno(LOG_ERR, r, "loading task slots failed; their tasks are adopted by name");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                int k = slot_load(rp, &kvs[i]);
                if (k < 0)
                        nd_log(LOG_WARNING, "skipping an unreadable task slot record", "key=%s", kvs[i].key);
                else
                        loaded++;
        }
        nd_log(LOG_INFO, "task slots loaded", "count=%zu", loaded);
        rp->load_done(m);
}

int nd_replicas_load(nd_manager *m, void (*done)(nd_manager *m)) {
        struct nd_replicas *rp = calloc(1, sizeof(*rp));
        int r;

        if (!rp)
                return -ENOMEM;
        rp->m = m;
        rp->load_done = done;
        nd_rp_host_slot_name(m, rp->host);
        ev_timer_init(&rp->timer, on_timer, 0, 0);
        m->replicas = rp;
        nd_rp_cluster_init(rp);
        r = nd_store_list(m->store, ND_KEY_SERVICE_SLOTS, on_slots_loaded, m);
        if (r < 0) {
                m->replicas = NULL;
                free(rp);
        }
        return r;
}

void nd_replicas_start(nd_manager *m) {
        if (!m->replicas)
                return;
        m->replicas->started = true;
        nd_replicas_kick(m);
}

void nd_replicas_free(nd_manager *m) {
        struct nd_replicas *rp = m->replicas;
        if (!rp)
                return;
        ev_timer_stop(m->loop, &rp->timer);
        for (size_t i = 0; i < rp->n_slots; i++)
                free(rp->slots[i]);
        free(rp->slots);
        for (size_t i = 0; i < rp->n_svcs; i++)
                free(rp->svcs[i]);
        free(rp->svcs);
        free(rp->reaping);
        free(rp);
        m->replicas = NULL;
}

/* ---- what the rest of the core asks ---- */

int nd_replicas_check(nd_manager *m, const nd_service *rec, nd_diag *d) {
        const nd_network *n;
        if (!rec->task)
                return 0;
        n = nd_net_by_id(m, rec->nets[0].net);
        if (n && nd_network_is_global(n) && !m->cluster)
                return nd_diag_set(d, -EOPNOTSUPP, "service '%s': tasks on an overlay network need the cluster store",
                                   rec->name);
        return 0;
}

bool nd_replicas_holds(nd_manager *m, const nd_container *c) {
        struct nd_replicas *rp = m->replicas;
        if (!rp || !c->managed)
                return false;
        for (size_t i = 0; i < rp->n_slots; i++) {
                struct slot *sl = rp->slots[i];
                const struct nd_svc *s = nd_rp_slot_service(m, sl);
                char name[ND_NAME_MAX + 1];
                if (!s || !sl->claimed)
                        continue;
                nd_rp_task_name(s, sl, name);
                if (strcmp(sl->ctid, c->id) == 0 || strcmp(name, c->name) == 0)
                        return true;
        }
        return false;
}

bool nd_replicas_draining(nd_manager *m, const char *ctid) {
        struct nd_replicas *rp = m->replicas;
        for (size_t i = 0; rp && i < rp->n_slots; i++)
                if (rp->slots[i]->draining && strcmp(rp->slots[i]->ctid, ctid) == 0)
                        return true;
        return false;
}

int nd_replicas_remove_tasks(nd_manager *m, struct nd_svc *s, nd_manager_svc_fn cb, void *userdata, nd_diag *d) {
        struct nd_replicas *rp = m->replicas;
        struct rsvc *rs;

        /* a global service's record goes first: every host then stops and
         * gives up its own slots of a service that is gone */
        if (!rp || s->global || (!s->rec->task && !nd_rp_svc_has_slots(rp, s->rec->id)))
                return 0;
        rs = nd_rp_rsvc_get(rp, s->rec->id, false);
        if (rs && rs->removing)
                return rs->tasks_gone ? 0 : nd_diag_set(d, -EBUSY, "service '%s' is being removed", s->rec->name);
        if (!nd_rp_svc_has_slots(rp, s->rec->id))
                return 0;
        if (rs && rs->changing)
                return nd_diag_set(d, -EBUSY, "service '%s' is being changed; try again", s->rec->name);
        rs = rs ? rs : nd_rp_rsvc_get(rp, s->rec->id, true);
        if (!rs)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        rs->removing = true;
        rs->rm_cb = cb;
        rs->rm_userdata = userdata;
        nd_log(LOG_INFO, "removing a service's tasks", "service=%s", s->rec->name);
        nd_replicas_kick(m);
        return 1;
}
