/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slots of global services across hosts (replicas-state.h,
 * docs/services.md "Across hosts").
 *
 * A global service's slot records live in etcd under
 * ND_KEY_GLOBAL_SERVICE_SLOTS, each on the lease of the host that
 * claimed it; every host sees all of them through the cluster's watch
 * (cluster.h: nd_cluster_slots_foreach) and mirrors them as slots it
 * does not hold, for `service ps` and for the placement counts.
 *
 *   claim     compare (absent, or the record's revision and its holder
 *             not live) then put on this host's lease;
 *   write     compare (the revision we wrote last) then put, same lease;
 *   give up   compare (the revision we wrote last) then delete.
 * A failed compare means another host holds the slot: this one lets it
 * go and stops its container before it claims anything again.
 *
 * Fencing: this host holds slots only while its lease is fresh
 * (nd_cluster_lease_fresh_us: two thirds of the TTL after the last
 * keep-alive etcd took).  Past that, and whenever the table shows a slot
 * it held gone or held by another node, it drops the claim and kills the
 * container (no grace period), so its tasks are stopped before etcd can
 * expire its lease and the other hosts claim the slots.  A host cut off
 * from etcd therefore stops serving its tasks after 2/3 TTL, and the
 * survivors start them after the TTL: no slot is served twice, and the
 * gap is the remaining third of the TTL plus a claim and a start.
 *
 * The view is trusted only once it includes our own last transaction
 * (nd_cluster_revision >= own_rev), so an echo of a write or a give-up
 * in flight is never taken for the state.
 */
#include <limits.h>
#include <sys/stat.h>

#include "placement.h"
#include "replicas-state.h"
#include "rt-config.h"

#define LIVE_MAX 256

static void on_changed(void *userdata) {
        nd_replicas_kick(userdata);
}

static const nd_cluster_slot_ops slot_ops = {
        .changed = on_changed,
};

void nd_rp_cluster_init(struct nd_replicas *rp) {
        if (rp->m->cluster)
                nd_cluster_set_slot_ops(rp->m->cluster, &slot_ops, rp->m);
}

/* ---- the table, as the cluster shows it ---- */

static void fence(struct nd_replicas *rp, struct slot *sl, const char *why) {
        nd_log(LOG_WARNING, "a task slot is no longer held here: stopping its task", "slot=%.12s/%s reason=\"%s\"",
               sl->svc, sl->name, why);
        sl->claimed = false;
        sl->writing = sl->rewrite = false;
        sl->batch = sl->replace = false;
        sl->draining = false;
        sl->node[0] = 0;
}

static void on_record(void *userdata, const nd_cluster_slot *cs) {
        struct nd_replicas *rp = userdata;
        const char *me = nd_rp_node_id(rp->m);
        struct slot *sl = nd_rp_slot_find(rp, cs->svc, cs->name);
        struct slot rec = {0};

        if (!nd_id_valid(cs->svc))
                return;
        if (!sl) {
                if (!(sl = nd_rp_slot_new(rp, cs->svc, cs->name)))
                        return;
                sl->run = false; /* the service's pass says whether it is wanted */
                sl->ctid[0] = 0;
        }
        sl->shared = true;
        sl->seen = true;
        snprintf(sl->holder, sizeof(sl->holder), "%s", cs->holder);
        if (strcmp(cs->node, me) == 0) {
                sl->rev = cs->rev > sl->rev ? cs->rev : sl->rev;
                sl->free_since_us = 0;
                if (!sl->claimed && !sl->busy && rp->fresh &&
                    nd_rp_record_parse(cs->value, strlen(cs->value), &rec) == 0) {
                        /* ours from before a restart (the lease was kept):
                         * adopt it and its container as they are */
                        sl->claimed = true;
                        snprintf(sl->node, sizeof(sl->node), "%s", me);
                        snprintf(sl->ctid, sizeof(sl->ctid), "%s", rec.ctid);
                        sl->state = rec.state;
                        sl->since = rec.since;
                        sl->version = rec.version;
                        snprintf(sl->error, sizeof(sl->error), "%s", rec.error);
                        nd_log(LOG_INFO, "adopted a task slot this host holds", "slot=%.12s/%s", sl->svc, sl->name);
                }
                return;
        }
        sl->rev = cs->rev;
        if (sl->claimed && !sl->busy)
                fence(rp, sl, *cs->node ? "another host holds it" : "its record is not on this host's lease");
        if (sl->claimed)
                return;
        snprintf(sl->node, sizeof(sl->node), "%s", cs->node);
        if (*cs->node) {
                sl->free_since_us = 0;
                if (nd_rp_record_parse(cs->value, strlen(cs->value), &rec) == 0) {
                        snprintf(sl->rctid, sizeof(sl->rctid), "%s", rec.ctid);
                        sl->rrun = rec.run;
                        sl->state = rec.state;
                        sl->since = rec.since;
                        sl->version = rec.version;
                        snprintf(sl->error, sizeof(sl->error), "%s", rec.error);
                }
        } else if (!sl->free_since_us)
                sl->free_since_us = now_us();
}

static void deadline_path(nd_manager *m, char *buf, size_t size) {
        snprintf(buf, size, "%s/lease-deadline", m->run_dir);
}

const char *nd_replicas_deadline_file(nd_manager *m, const nd_container *c, char *buf, size_t size) {
        const struct nd_svc *s;
        if (!m->cluster || !c->managed || !c->service[0] || !(s = nd_svc_by_name(m, c->service)) || !s->global)
                return NULL;
        deadline_path(m, buf, size);
        return buf;
}

/* The monitors of this host's global-service tasks kill them when the
 * lease is past its freshness (docs/services.md "Fencing"), even with
 * netd gone: the same deadline as the fence above, in the same clock. */
static void deadline_write(struct nd_replicas *rp) {
        char path[PATH_MAX];
        double deadline = nd_cluster_lease_deadline(rp->m->cluster);
        int r;

        if (deadline < rp->deadline_written + 0.1)
                return;
        deadline_path(rp->m, path, sizeof(path));
        if ((r = nd_rt_deadline_write(path, deadline)) < 0)
                nd_log_errno(LOG_WARNING, r, "writing the lease deadline for the tasks' monitors failed", "path=%s",
                             path);
        else
                rp->deadline_written = deadline;
}

void nd_rp_cluster_sync(struct nd_replicas *rp, struct pass *p) {
        nd_cluster *cl = rp->m->cluster;
        int64_t fresh_us;

        if (!cl)
                return;
        fresh_us = nd_cluster_lease_fresh_us(cl);
        if (rp->fresh && fresh_us <= 0)
                nd_log(LOG_WARNING, "the node lease is not confirmed by etcd: stopping this host's tasks of global "
                       "services until it is");
        rp->fresh = fresh_us > 0;
        if (rp->fresh)
                deadline_write(rp);
        /* look again when it would go stale, or (stale) every second */
        nd_rp_wait_for(p, p->now + (rp->fresh ? fresh_us : SEC));
        if (!rp->fresh)
                for (size_t i = 0; i < rp->n_slots; i++)
                        if (rp->slots[i]->shared && rp->slots[i]->claimed && !rp->slots[i]->claiming)
                                fence(rp, rp->slots[i], "the node lease is not fresh");
        rp->shared_ok = rp->fresh && nd_cluster_revision(cl) >= rp->own_rev;
        if (nd_cluster_revision(cl) < rp->own_rev)
                return; /* its events are on the way, and kick */
        for (size_t i = 0; i < rp->n_slots; i++)
                rp->slots[i]->seen = false;
        nd_cluster_slots_foreach(cl, on_record, rp);
        for (size_t i = 0; i < rp->n_slots;) {
                struct slot *sl = rp->slots[i];
                if (!sl->shared || sl->seen || sl->busy) {
                        i++;
                        continue;
                }
                if (sl->claimed) {
                        fence(rp, sl, "its record is gone (the lease expired)");
                }
                sl->node[0] = sl->holder[0] = sl->rctid[0] = 0;
                sl->rev = 0;
                if (!sl->free_since_us)
                        sl->free_since_us = p->now;
                if (!sl->run && !nd_rp_slot_container(rp->m, nd_rp_slot_service(rp->m, sl), sl)) {
                        nd_rp_slot_free(rp, sl);
                        continue;
                }
                i++;
        }
        rp->synced = true;
}

/* ---- placement ---- */

static bool can_run(nd_manager *m, const struct nd_svc *s) {
        const char *rootfs = s->rec->task->rootfs && *s->rec->task->rootfs ? s->rec->task->rootfs : m->default_rootfs;
        struct stat st;
        return rootfs && stat(rootfs, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Is this host the best place for the free slot @sl of @s: among the
 * live hosts, the first by nd_place_cmp with the counts every host sees
 * in the slot table?  A free slot the best host left alone for
 * PLACE_FALLBACK_US (it cannot run the task) goes to any host that can,
 * and after twice that to any host, so the error shows. */
static bool best_place(struct nd_replicas *rp, const struct nd_svc *s, const struct slot *sl, struct pass *p) {
        _cleanup_free_ char (*ids)[ND_NODE_ID_LEN + 1] = calloc(LIVE_MAX, sizeof(*ids));
        _cleanup_free_ nd_place_host *hosts = calloc(LIVE_MAX, sizeof(*hosts));
        const char *me = nd_rp_node_id(rp->m);
        bool runs = can_run(rp->m, s);
        size_t n, self = SIZE_MAX;
        int64_t waited = sl->free_since_us ? p->now - sl->free_since_us : 0;
        int best;

        if (!ids || !hosts)
                return false;
        n = nd_cluster_live_nodes(rp->m->cluster, ids, LIVE_MAX);
        for (size_t i = 0; i < n; i++) {
                hosts[i] = (nd_place_host) { .id = ids[i], .can_run = true };
                if (strcmp(ids[i], me) == 0) {
                        self = i;
                        hosts[i].can_run = runs;
                }
        }
        if (self == SIZE_MAX)
                return false; /* not live (yet): no claim */
        for (size_t k = 0; k < rp->n_slots; k++) {
                const struct slot *o = rp->slots[k];
                const char *holder = o->claimed ? me : o->node;
                if (!o->shared || !*holder)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (strcmp(ids[i], holder) == 0) {
                                hosts[i].total_tasks++;
                                hosts[i].svc_tasks += strcmp(o->svc, sl->svc) == 0;
                        }
        }
        best = nd_place_best(hosts, n);
        if (best == (int) self)
                return true;
        if (waited >= (runs ? PLACE_FALLBACK_US : 2 * PLACE_FALLBACK_US))
                return true;
        nd_rp_wait_for(p, sl->free_since_us + (runs ? PLACE_FALLBACK_US : 2 * PLACE_FALLBACK_US));
        return false;
}

bool nd_rp_cluster_may_claim(struct nd_replicas *rp, const struct nd_svc *s, struct slot *sl, struct pass *p) {
        if (!s || !sl->run || sl->busy || !rp->shared_ok || rp->fencing || !rp->synced || sl->node[0] ||
            sl->wait_until_us > p->now)
                return false;
        if (s->rec->sched == ND_SVC_GLOBAL)
                return true; /* its own slot (only that one is wanted here) */
        return best_place(rp, s, sl, p);
}

/* ---- the transactions ---- */

struct cop {
        nd_manager *m;
        uint64_t serial;
        bool take;
};

static void own_rev(struct nd_replicas *rp, int64_t rev) {
        if (rev > rp->own_rev)
                rp->own_rev = rev;
}

static void on_claimed(void *userdata, int r, int64_t rev) {
        _cleanup_free_ struct cop *op = userdata;
        struct nd_replicas *rp = op->m->replicas;
        struct slot *sl = rp ? nd_rp_slot_by_serial(rp, op->serial) : NULL;

        if (r == 0 && rp)
                own_rev(rp, rev);
        if (!sl)
                return;
        sl->busy = sl->claiming = false;
        if (r == 0) {
                if (op->take) {
                        sl->rev = rev;
                        nd_log(LOG_INFO, "claimed a task slot", "slot=%.12s/%s", sl->svc, sl->name);
                        if (sl->rewrite) {
                                sl->rewrite = false;
                                nd_rp_cluster_write(rp, sl);
                        }
                } else
                        nd_rp_slot_free(rp, sl);
        } else {
                if (r != -ECANCELED)
                        nd_log_errno(LOG_WARNING, r, "claiming or giving up a task slot in etcd failed, retrying",
                                     "slot=%.12s/%s", sl->svc, sl->name);
                /* a failed claim: another host has it, the table will say
                 * who; a failed give-up: still ours until the table shows
                 * the record's revision (or another holder) */
                sl->claimed = !op->take;
                if (!sl->claimed)
                        sl->node[0] = 0;
                sl->rewrite = false;
                sl->wait_until_us = now_us() + (r == -ECANCELED ? SEC / 4 : CLAIM_RETRY_US);
        }
        nd_replicas_kick(op->m);
}

static int slot_txn(struct nd_replicas *rp, struct slot *sl, bool take, const char *value,
                    int64_t expect, const char *dead, void (*cb)(void *u, int r, int64_t rev)) {
        struct cop *op = calloc(1, sizeof(*op));
        int r;

        if (!op)
                return -ENOMEM;
        *op = (struct cop) { .m = rp->m, .serial = sl->serial, .take = take };
        r = nd_cluster_slot_txn(rp->m->cluster, sl->svc, sl->name, expect, dead, value, cb, op);
        if (r < 0)
                free(op);
        return r;
}

int nd_rp_cluster_claim(struct nd_replicas *rp, struct slot *sl, bool take) {
        _cleanup_free_ char *value = NULL;
        const char *dead = NULL;
        int r;

        if (!take && sl->writing)
                return -EBUSY; /* compared against the revision that write makes */
        if (take) {
                snprintf(sl->node, sizeof(sl->node), "%s", nd_rp_node_id(rp->m));
                sl->ctid[0] = 0;
                sl->state = ST_PENDING;
                sl->error[0] = 0;
                sl->since = nd_rp_unix_now();
                _cleanup_json_ json_t *j = nd_rp_slot_record(sl);
                if (!j || !(value = json_dumps(j, JSON_COMPACT)))
                        return -ENOMEM;
                /* a record whose holder is not live (its lease is still
                 * being expired) is taken only if that stays so */
                dead = sl->rev > 0 ? sl->holder : NULL;
        }
        r = slot_txn(rp, sl, take, value, sl->rev, dead, on_claimed);
        if (r < 0) {
                if (take)
                        sl->node[0] = 0;
                sl->wait_until_us = now_us() + CLAIM_RETRY_US;
                return r;
        }
        sl->busy = sl->claiming = true;
        sl->claimed = take;
        return 0;
}

static void on_written(void *userdata, int r, int64_t rev) {
        _cleanup_free_ struct cop *op = userdata;
        struct nd_replicas *rp = op->m->replicas;
        struct slot *sl = rp ? nd_rp_slot_by_serial(rp, op->serial) : NULL;

        if (r == 0 && rp)
                own_rev(rp, rev);
        if (!sl)
                return;
        sl->writing = false;
        if (r == 0 && sl->claimed) {
                sl->rev = rev;
        } else if (r == -ECANCELED && sl->claimed) {
                fence(rp, sl, "its record changed under this host");
                nd_replicas_kick(op->m);
                return;
        } else if (r < 0)
                nd_log_errno(LOG_WARNING, r, "writing a task slot's record to etcd failed, ignoring", "slot=%.12s/%s",
                             sl->svc, sl->name);
        if (sl->rewrite && sl->claimed) {
                sl->rewrite = false;
                nd_rp_cluster_write(rp, sl);
        }
        nd_replicas_kick(op->m); /* a give-up may have waited for it */
}

void nd_rp_cluster_write(struct nd_replicas *rp, struct slot *sl) {
        _cleanup_free_ char *value = NULL;

        if (!sl->claimed)
                return;
        if (sl->writing || sl->claiming) {
                sl->rewrite = true;
                return;
        }
        _cleanup_json_ json_t *j = nd_rp_slot_record(sl);
        if (!j || !(value = json_dumps(j, JSON_COMPACT)))
                return;
        if (slot_txn(rp, sl, false, value, sl->rev, NULL, on_written) == 0)
                sl->writing = true;
}

/* ---- containers no slot holds ---- */

static bool reaping(struct nd_replicas *rp, const char *id) {
        for (size_t i = 0; i < rp->n_reaping; i++)
                if (strcmp(rp->reaping[i], id) == 0)
                        return true;
        return false;
}

static void reaping_drop(struct nd_replicas *rp, const char *id) {
        for (size_t i = 0; i < rp->n_reaping; i++)
                if (strcmp(rp->reaping[i], id) == 0) {
                        memmove(rp->reaping + i, rp->reaping + i + 1, (rp->n_reaping - i - 1) * sizeof(*rp->reaping));
                        rp->n_reaping--;
                        return;
                }
}

struct reap_op {
        nd_manager *m;
        char id[ND_ID_LEN + 1];
};

static void on_reaped(void *userdata, int r, nd_container *c, const nd_diag *d) {
        _cleanup_free_ struct reap_op *op = userdata;
        if (op->m->replicas)
                reaping_drop(op->m->replicas, op->id);
        nd_replicas_kick(op->m);
}

/* Is @c the container of a slot this host holds? */
static bool held(struct nd_replicas *rp, const nd_container *c) {
        for (size_t i = 0; i < rp->n_slots; i++) {
                struct slot *sl = rp->slots[i];
                const struct nd_svc *s;
                char name[ND_NAME_MAX + 1];
                if (!sl->claimed)
                        continue;
                if (strcmp(sl->ctid, c->id) == 0)
                        return true;
                if (!(s = nd_rp_svc_by_id(rp->m, sl->svc)))
                        continue;
                nd_rp_task_name(s, sl, name);
                if (strcmp(name, c->name) == 0)
                        return true;
        }
        return false;
}

/* Tasks of global services (or of services that are gone) whose slot
 * this host does not hold: a claim it lost, a host that came back after
 * its slots moved, a service removed while it was away.  Killed and
 * removed; until they are stopped this host claims nothing. */
void nd_rp_cluster_reap(struct nd_replicas *rp, struct pass *p) {
        nd_manager *m = rp->m;

        rp->fencing = false;
        if (!m->cluster || !rp->synced)
                return;
        for (size_t i = 0; i < m->n_cts; i++) {
                nd_container *c = m->cts[i];
                const struct nd_svc *s;
                struct reap_op *op;
                nd_diag d = {0};
                int r;

                if (!c->managed || c->removing || held(rp, c))
                        continue;
                s = nd_svc_by_name(m, c->service);
                if (s && !s->global)
                        continue; /* a local service's: replicas.c's */
                if (c->status == ND_CT_RUNNING)
                        rp->fencing = true;
                if (reaping(rp, c->id) || p->budget == 0)
                        continue;
                if (ND_GROW(rp->reaping, rp->n_reaping, rp->cap_reaping, 1) < 0 || !(op = calloc(1, sizeof(*op))))
                        return;
                *op = (struct reap_op) { .m = m };
                snprintf(op->id, sizeof(op->id), "%s", c->id);
                nd_log(LOG_INFO, "stopping a task this host holds no slot for", "container=%s service=%s", c->name,
                       c->service);
                if (c->status == ND_CT_RUNNING)
                        r = nd_manager_container_stop(m, c, 0, on_reaped, op, &d);
                else
                        r = nd_ct_task_remove(m, c, on_reaped, op, &d);
                if (r < 0) {
                        free(op);
                        nd_rp_wait_for(p, p->now + SEC / 10);
                        continue;
                }
                snprintf(rp->reaping[rp->n_reaping++], ND_ID_LEN + 1, "%s", c->id);
                p->budget--;
        }
}

/* The host of @sl for `service ps`: this one's name when it holds it,
 * else its holder's, "" when free. */
const char *nd_rp_slot_host(nd_manager *m, const struct slot *sl) {
        if (!sl->claimed && !sl->node[0])
                return "";
        if (sl->claimed || !m->cluster)
                return m->replicas ? m->replicas->host : "";
        return nd_cluster_node_name(m->cluster, sl->node);
}

const char *nd_rp_remote_health(nd_manager *m, const struct nd_svc *s, const struct slot *sl) {
        char owner[256];

        if (!sl->node[0] || !sl->rctid[0] || !s->rec->health.cmd || sl->state != ST_RUNNING)
                return "";
        /* the health its host publishes with its endpoint record */
        snprintf(owner, sizeof(owner), "remote:" ND_KEY_GLOBAL_ENDPOINTS "%s/%s/%s", sl->node, s->rec->nets[0].net,
                 sl->rctid);
        return nd_task_health_to_string(nd_services_task_health(m, owner));
}

bool nd_rp_remote_ready(nd_manager *m, const struct nd_svc *s, const struct slot *sl) {
        if (sl->state != ST_RUNNING || sl->version != s->rec->version)
                return false;
        return !s->rec->health.cmd || strcmp(nd_rp_remote_health(m, s, sl), "healthy") == 0;
}
