/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reconciler's steps (replicas-state.h): operations on a slot's
 * container (create, start, stop, drain, remove), one slot's next step,
 * one service's slots and its rolling update.
 */
#include "replicas-state.h"

/* ---- operations on a slot's container ---- */

static struct op *op_new(struct nd_replicas *rp, struct slot *sl) {
        struct op *op = calloc(1, sizeof(*op));
        if (op)
                *op = (struct op) { .m = rp->m, .serial = sl->serial };
        return op;
}

/* The op's slot, no longer busy; NULL (and @op freed) if it is gone. */
static struct slot *op_done(struct op *op) {
        struct nd_replicas *rp = op->m->replicas;
        struct slot *sl = rp ? nd_rp_slot_by_serial(rp, op->serial) : NULL;
        if (sl)
                sl->busy = false;
        nd_replicas_kick(op->m);
        free(op);
        return sl;
}

/* The next try after a failure, 1 s doubling to 30 s. */
static void backoff(struct slot *sl) {
        int64_t delay = BACKOFF_FIRST_US << (sl->fails < 5 ? sl->fails : 5);
        if (delay > BACKOFF_MAX_US)
                delay = BACKOFF_MAX_US;
        sl->fails++;
        sl->wait_until_us = now_us() + delay;
}

/* A start or create failed: shown per task, and tried again later (not
 * in a tight loop) unless the restart condition is none. */
static void task_failed(struct nd_replicas *rp, struct slot *sl, slot_state st, const char *msg) {
        const struct nd_svc *s = nd_rp_slot_service(rp->m, sl);
        sl->restart = !s || s->rec->restart != ND_SVC_RESTART_NONE;
        if (sl->restart)
                backoff(sl);
        nd_rp_slot_set(rp, sl, st, msg);
}

/* The container request of @sl's task: the template, the service's
 * networks, the name NAME.SLOT (also its host name, so a task knows its
 * slot). */
static json_t *task_body(const struct nd_svc *s, const struct slot *sl) {
        const nd_svc_tpl *t = s->rec->task;
        char name[ND_NAME_MAX + 1];
        json_t *nets = json_array();

        nd_rp_task_name(s, sl, name);
        for (size_t i = 0; nets && i < s->rec->n_nets; i++)
                if (json_array_append_new(nets, json_pack("{s:s}", "Network", s->rec->nets[i].net)) < 0) {
                        json_decref(nets);
                        nets = NULL;
                }
        if (!nets)
                return NULL;
        _cleanup_json_ json_t *b = json_pack("{s:s, s:s, s:O, s:O, s:I, s:I, s:o, s:s}", "Name", name, "Hostname", name,
                                             "Cmd", t->args, "Env", t->env, "Memory", (json_int_t) t->memory,
                                             "PidsLimit", (json_int_t) t->pids_limit, "Networks", nets, "Service",
                                             s->rec->name);
        if (!b || (t->rootfs && json_object_set_new(b, "Rootfs", json_string(t->rootfs)) < 0))
                return NULL;
        return TAKE_PTR(b);
}

static void on_task_created(void *userdata, int r, nd_container *c, const nd_diag *d) {
        struct op *op = userdata;
        nd_manager *m = op->m;
        struct slot *sl = op_done(op);
        struct nd_replicas *rp = m->replicas;

        if (!sl)
                return;
        if (r < 0) {
                /* a start that failed in the monitor leaves the container,
                 * exited: the slot keeps it, its restart is this retry */
                struct nd_svc *s = nd_rp_slot_service(m, sl);
                nd_container *left = s ? nd_rp_slot_container(m, s, sl) : NULL;
                if (left && left->removing) {
                        sl->ctid[0] = 0; /* torn down: nothing was left */
                        left = NULL;
                }
                if (left)
                        sl->exit_seen_us = left->finished_us; /* this failure is the one counted */
                task_failed(rp, sl, left ? ST_FAILED : ST_REJECTED, d && d->msg[0] ? d->msg : strerror(-r));
                return;
        }
        /* a new container has no exit before this one: one already seen
         * (it may have exited before this answer) is the pass's to count */
        snprintf(sl->ctid, sizeof(sl->ctid), "%s", c->id);
        sl->exit_seen_us = 0;
        sl->restart = false;
        if (c->status == ND_CT_RUNNING)
                nd_rp_slot_set(rp, sl, ST_RUNNING, NULL);
}

static void task_create(struct nd_replicas *rp, struct nd_svc *s, struct slot *sl) {
        _cleanup_json_ json_t *body = task_body(s, sl);
        struct op *op = op_new(rp, sl);
        nd_diag d = {0};
        int r;

        if (!body || !op) {
                free(op);
                sl->wait_until_us = now_us() + CLAIM_RETRY_US;
                return;
        }
        if (sl->restart)
                sl->restarts++;
        sl->version = s->rec->version;
        sl->stop_grace = s->rec->task->stop_grace;
        sl->replace = false;
        sl->ctid[0] = 0;
        r = nd_ct_task_run(rp->m, body, on_task_created, op, &d);
        if (r < 0) {
                free(op);
                nd_log(LOG_WARNING, "a task cannot be created", "service=%s slot=%s reason=\"%s\"", s->rec->name,
                       sl->name, d.msg);
                task_failed(rp, sl, ST_REJECTED, d.msg[0] ? d.msg : strerror(-r));
                return;
        }
        sl->busy = true;
        nd_rp_slot_set(rp, sl, ST_STARTING, sl->restart ? sl->error : NULL); /* the last error until it runs */
}

static void on_task_started(void *userdata, int r, nd_container *c, const nd_diag *d) {
        struct op *op = userdata;
        nd_manager *m = op->m;
        struct slot *sl = op_done(op);

        if (!sl)
                return;
        if (r < 0) {
                task_failed(m->replicas, sl, ST_FAILED, d && d->msg[0] ? d->msg : strerror(-r));
                return;
        }
        /* exit_seen_us still holds the exit this start answers; a later
         * one (it may have exited before this answer) is the pass's */
        sl->restart = false;
        if (c && c->status == ND_CT_RUNNING)
                nd_rp_slot_set(m->replicas, sl, ST_RUNNING, NULL);
}

static void task_start(struct nd_replicas *rp, struct slot *sl, nd_container *c) {
        struct op *op = op_new(rp, sl);
        nd_diag d = {0};
        int r;

        if (!op)
                return;
        sl->restarts++;
        r = nd_manager_container_start(rp->m, c, on_task_started, op, &d);
        if (r == -EALREADY) {
                /* someone (`netctl start`) was faster */
                free(op);
                sl->restarts--;
                sl->restart = false;
                nd_rp_slot_set(rp, sl, ST_RUNNING, NULL);
                return;
        }
        if (r == -EBUSY) {
                /* its exit is still being recorded: soon */
                free(op);
                sl->restarts--;
                sl->wait_until_us = now_us() + SEC / 10;
                return;
        }
        if (r < 0) {
                free(op);
                task_failed(rp, sl, ST_FAILED, d.msg[0] ? d.msg : strerror(-r));
                return;
        }
        sl->busy = true;
        nd_rp_slot_set(rp, sl, ST_STARTING, sl->error); /* the last error until it runs */
}

static void on_task_stopped(void *userdata, int r, nd_container *c, const nd_diag *d) {
        (void) op_done(userdata);
}

static void on_task_removed(void *userdata, int r, nd_container *c, const nd_diag *d) {
        struct op *op = userdata;
        nd_manager *m = op->m;
        struct slot *sl = op_done(op);

        if (!sl)
                return;
        if (r < 0) {
                nd_log(LOG_WARNING, "removing a task failed, retrying", "slot=%s reason=\"%s\"", sl->name,
                       d && d->msg[0] ? d->msg : strerror(-r));
                sl->wait_until_us = now_us() + CLAIM_RETRY_US;
                return;
        }
        sl->ctid[0] = 0;
        sl->draining = false;
        if (sl->replace) {
                sl->wait_until_us = 0;
                sl->restart = false;
        }
        /* the next container, if any, comes in a pass: the old one is
         * still in the table until this callback returns */
        nd_rp_slot_set(m->replicas, sl, sl->run ? ST_PENDING : ST_SHUTDOWN, NULL);
}

/* Out of the service's backends and names first, so the routing mesh
 * sends it no new connection, then (after DRAIN_US) stopped. */
static void task_drain(struct nd_replicas *rp, struct slot *sl, nd_container *c, bool on) {
        sl->draining = on;
        nd_services_container_sync(rp->m, c, c->status == ND_CT_RUNNING && !on);
        if (rp->m->cluster)
                nd_cluster_publish(rp->m->cluster, c); /* its health for the other hosts */
        if (on)
                sl->wait_until_us = now_us() + DRAIN_US;
}

/* The container of @sl goes: drained (@drain, while it runs), stopped
 * with the template's grace period, removed.  One step per call. */
static void task_retire(struct nd_replicas *rp, struct nd_svc *s, struct slot *sl, nd_container *c, bool drain,
                        int64_t now) {
        struct op *op;
        nd_diag d = {0};
        int r;

        if (c->removing)
                return;
        if (c->status == ND_CT_RUNNING && drain && !sl->draining) {
                task_drain(rp, sl, c, true);
                nd_rp_slot_set(rp, sl, ST_STOPPING, NULL);
                return;
        }
        if (sl->draining && now < sl->wait_until_us)
                return;
        if (!(op = op_new(rp, sl)))
                return;
        nd_rp_slot_set(rp, sl, ST_STOPPING, NULL);
        if (c->status == ND_CT_RUNNING) {
                /* a service that is gone: its template's, as the slot kept it */
                double grace = s ? s->rec->task->stop_grace : sl->stop_grace > 0 ? sl->stop_grace
                                                                                  : ND_SVC_STOP_GRACE_DEFAULT;
                r = nd_manager_container_stop(rp->m, c, grace, on_task_stopped, op, &d);
        } else
                r = nd_ct_task_remove(rp->m, c, on_task_removed, op, &d);
        if (r < 0) {
                free(op);
                if (r != -EALREADY && r != -EBUSY)
                        nd_log(LOG_WARNING, "stopping a task failed, retrying", "slot=%s reason=\"%s\"", sl->name,
                               d.msg);
                sl->wait_until_us = now + SEC / 10;
                return;
        }
        sl->busy = true;
}

/* ---- one slot ---- */

static void wait_for(struct pass *p, int64_t t) {
        if (t < p->next_us)
                p->next_us = t;
}

void nd_rp_wait_for(struct pass *p, int64_t t) {
        wait_for(p, t);
}

/* An exit not yet counted: decide per the restart condition. */
static void task_exited(struct nd_replicas *rp, const struct nd_svc *s, struct slot *sl, const nd_container *c) {
        char msg[256];
        bool again;

        sl->exit_seen_us = c->finished_us;
        if (c->started_us && c->finished_us - c->started_us >= BACKOFF_RESET_US)
                sl->fails = 0;
        again = s->rec->restart == ND_SVC_RESTART_ANY ||
                (s->rec->restart == ND_SVC_RESTART_ON_FAILURE && c->exit_code != 0);
        if (c->error[0])
                snprintf(msg, sizeof(msg), "%s", c->error);
        else if (c->exit_code != 0)
                snprintf(msg, sizeof(msg), "task exited with code %d", c->exit_code);
        else
                msg[0] = 0;
        sl->restart = again;
        if (again)
                backoff(sl);
        nd_rp_slot_set(rp, sl, c->exit_code == 0 && !c->error[0] ? ST_COMPLETE : ST_FAILED, msg);
        nd_log(c->exit_code ? LOG_WARNING : LOG_INFO, again ? "task exited, restarting after a backoff"
                                                            : "task exited, not restarted (restart condition)",
               "service=%s slot=%s exit_code=%d", s->rec->name, sl->name, c->exit_code);
}

static void slot_step_once(struct nd_replicas *rp, struct nd_svc *s, struct slot *sl, struct pass *p) {
        nd_container *c;

        if (sl->busy || p->budget == 0)
                return;
        if (sl->wait_until_us > p->now && !sl->claimed)
                return;
        if (!sl->claimed && sl->shared) {
                /* held elsewhere, or free: ours only if placement says so
                 * (a container of ours left for it is reaped, not here) */
                if (nd_rp_cluster_may_claim(rp, s, sl, p) && nd_rp_slot_claim(rp, sl, true) == 0)
                        p->budget--;
                return;
        }
        c = nd_rp_slot_container(rp->m, s, sl);
        if (!sl->claimed) {
                /* also a slot to give up: what is released was claimed */
                if (nd_rp_slot_claim(rp, sl, true) == 0)
                        p->budget--;
                return;
        }
        if (c && c->removing) {
                wait_for(p, p->now + SEC); /* someone else's removal */
                return;
        }
        if (!sl->run || !s) {
                if (c) {
                        /* a service being removed takes no new connection
                         * anyway: no drain */
                        const struct rsvc *rs = s ? nd_rp_rsvc_get(rp, s->rec->id, false) : NULL;
                        bool drain = rs && !rs->removing;
                        task_retire(rp, s, sl, c, drain, p->now);
                        p->budget--;
                } else if (nd_rp_slot_claim(rp, sl, false) == 0)
                        p->budget--;
                return;
        }
        if (sl->draining && !sl->replace && c) {
                task_drain(rp, sl, c, false); /* wanted again before it stopped */
                nd_rp_slot_set(rp, sl, ST_RUNNING, NULL);
        }
        if (c && sl->replace) {
                task_retire(rp, s, sl, c, true, p->now);
                p->budget--;
                return;
        }
        if (!c) {
                if (sl->wait_until_us > p->now)
                        return;
                task_create(rp, s, sl);
                p->budget--;
                return;
        }
        switch (c->status) {
        case ND_CT_RUNNING:
                if (sl->state != ST_RUNNING && sl->state != ST_STOPPING)
                        nd_rp_slot_set(rp, sl, ST_RUNNING, NULL);
                if (c->started_us && p->now - c->started_us >= BACKOFF_RESET_US)
                        sl->fails = 0;
                return;
        case ND_CT_CREATED:
                sl->restart = true;
                break;
        case ND_CT_EXITED:
                if (c->finished_us != sl->exit_seen_us)
                        task_exited(rp, s, sl, c);
                break;
        default:
                return;
        }
        if (!sl->restart || sl->wait_until_us > p->now)
                return;
        if (sl->version != s->rec->version) {
                /* a template changed while it was down: a new container */
                sl->replace = true;
                task_retire(rp, s, sl, c, false, p->now);
        } else
                task_start(rp, sl, c);
        p->budget--;
}

/* One step of @sl; then a pass when whatever it waits for (a backoff, a
 * drain, a retry of a failed operation) is over. */
static void slot_step(struct nd_replicas *rp, struct nd_svc *s, struct slot *sl, struct pass *p) {
        uint64_t serial = sl->serial;

        slot_step_once(rp, s, sl, p);
        if (nd_rp_slot_by_serial(rp, serial) && sl->wait_until_us > p->now)
                wait_for(p, sl->wait_until_us);
}

/* ---- one service ---- */

static bool slot_wanted(struct nd_replicas *rp, const struct nd_svc *s, const struct rsvc *rs, const struct slot *sl) {
        if (rs->removing || s->removing)
                return false;
        if (s->rec->sched == ND_SVC_GLOBAL)
                return strcmp(sl->name, rp->host) == 0;
        return sl->num >= 1 && sl->num <= s->rec->replicas;
}

static void want_slot(struct nd_replicas *rp, const struct nd_svc *s, const char *name) {
        struct slot *sl = nd_rp_slot_find(rp, s->rec->id, name);
        if (!sl && !(sl = nd_rp_slot_new(rp, s->rec->id, name)))
                nd_log(LOG_ERR, "out of memory adding a task slot", "service=%s", s->rec->name);
        else if (!sl->claimed && !sl->busy)
                sl->shared = s->global;
}

/* A task is ready for the next batch once it runs the current template
 * and, with a health command, has passed a check. */
static bool task_ready(nd_manager *m, const struct nd_svc *s, const struct slot *sl, const nd_container *c) {
        if (!c || c->status != ND_CT_RUNNING || sl->version != s->rec->version || sl->busy)
                return false;
        return !s->rec->health.cmd || nd_services_task_health(m, c->id) == ND_TASK_HEALTHY;
}

/* A rolling update: tasks of an older template are replaced
 * update_parallelism at a time, the next batch once the last one's new
 * tasks are ready and update_delay has passed.  Stopped or failing tasks
 * of an older template are replaced when they restart (slot_step). */

static void svc_update(struct nd_replicas *rp, struct nd_svc *s, struct rsvc *rs, struct pass *p) {
        _cleanup_free_ struct slot **cand = calloc(rp->n_slots + 1, sizeof(*cand));
        unsigned picked = 0;
        size_t n = 0;
        bool open = false;

        if (!cand)
                return;
        for (size_t i = 0; i < rp->n_slots; i++) {
                struct slot *sl = rp->slots[i];
                nd_container *c;
                if (strcmp(sl->svc, s->rec->id) != 0 || !sl->run)
                        continue;
                if (!sl->claimed) {
                        /* another host's task: its batch is open until its
                         * new task is ready, and its old one is a candidate
                         * in the one order every host computes, so the
                         * cluster replaces update_parallelism at a time */
                        if (!sl->shared || !sl->node[0])
                                continue;
                        if (sl->version == s->rec->version ? !nd_rp_remote_ready(rp->m, s, sl)
                                                           : sl->state == ST_STOPPING || sl->state == ST_STARTING)
                                open = true;
                        else if (sl->version != s->rec->version && sl->state == ST_RUNNING)
                                cand[n++] = sl;
                        continue;
                }
                c = nd_rp_slot_container(rp->m, s, sl);
                if (sl->batch) {
                        if (task_ready(rp->m, s, sl, c))
                                sl->batch = false;
                        else {
                                /* the template changed again (a rollback) under a new task */
                                if (c && c->status == ND_CT_RUNNING && !sl->busy && !sl->replace &&
                                    sl->version != s->rec->version)
                                        sl->replace = true;
                                open = true;
                        }
                } else if (!sl->busy && sl->version != s->rec->version && c && c->status == ND_CT_RUNNING)
                        cand[n++] = sl;
        }
        if (open)
                return;
        if (rs->batch_active) {
                rs->batch_active = false;
                rs->next_batch_us = p->now + (int64_t) (s->rec->update_delay * SEC);
        }
        if (n == 0)
                return;
        if (rs->next_batch_us > p->now) {
                wait_for(p, rs->next_batch_us);
                return;
        }
        /* lowest slot first */
        qsort(cand, n, sizeof(*cand), nd_rp_slot_cmp_desc);
        for (size_t i = n; i-- > 0 && picked < s->rec->update_parallelism; picked++) {
                struct slot *sl = cand[i];
                if (!sl->claimed)
                        continue; /* its host's to replace */
                sl->batch = sl->replace = true;
                rs->batch_active = true;
                nd_log(LOG_INFO, "updating a task", "service=%s slot=%s from=%" PRIu64 " to=%" PRIu64,
                       s->rec->name, sl->name, sl->version, s->rec->version);
        }
}

int nd_rp_slot_cmp_desc(const void *a, const void *b) {
        const struct slot *x = *(struct slot *const *) a, *y = *(struct slot *const *) b;
        return x->num < y->num ? 1 : x->num > y->num ? -1 : strcmp(x->name, y->name);
}

/* The slots of @s (or of a service that is gone, @s NULL and @id) in
 * descending order, so that a scale-down stops the highest first. */
void nd_rp_svc_slots_step(struct nd_replicas *rp, struct nd_svc *s, const char *id, struct pass *p) {
        _cleanup_free_ struct slot **mine = calloc(rp->n_slots + 1, sizeof(*mine));
        size_t n = 0;

        if (!mine)
                return;
        for (size_t i = 0; i < rp->n_slots; i++)
                if (strcmp(rp->slots[i]->svc, id) == 0)
                        mine[n++] = rp->slots[i];
        qsort(mine, n, sizeof(*mine), nd_rp_slot_cmp_desc);
        for (size_t i = 0; i < n; i++) {
                uint64_t serial = mine[i]->serial;
                /* a step may free a slot that was never written */
                if (nd_rp_slot_by_serial(rp, serial))
                        slot_step(rp, s, mine[i], p);
        }
}

bool nd_rp_svc_has_slots(struct nd_replicas *rp, const char *id) {
        for (size_t i = 0; i < rp->n_slots; i++)
                if (strcmp(rp->slots[i]->svc, id) == 0)
                        return true;
        return false;
}

/* Every task gone: the service's own removal. */
static void svc_removal_continue(struct nd_replicas *rp, struct rsvc *rs) {
        nd_manager_svc_fn cb = rs->rm_cb;
        void *userdata = rs->rm_userdata;
        char id[ND_ID_LEN + 1];
        nd_diag d = {0};
        int r;

        rs->tasks_gone = true;
        snprintf(id, sizeof(id), "%s", rs->id);
        nd_log(LOG_INFO, "a service's tasks are gone, removing it", "id=%.12s", id);
        r = nd_manager_service_remove(rp->m, id, cb, userdata, &d);
        if (r < 0) {
                rs = nd_rp_rsvc_get(rp, id, false);
                if (rs)
                        rs->removing = rs->tasks_gone = false;
                cb(userdata, r, NULL, &d);
        }
}

void nd_rp_svc_reconcile(struct nd_replicas *rp, struct nd_svc *s, struct pass *p) {
        struct rsvc *rs = nd_rp_rsvc_get(rp, s->rec->id, true);
        char num[16];

        if (!rs)
                return;
        if (!rs->removing && !s->removing) {
                if (s->rec->sched == ND_SVC_GLOBAL)
                        want_slot(rp, s, rp->host);
                else
                        for (unsigned k = 1; k <= s->rec->replicas; k++) {
                                snprintf(num, sizeof(num), "%u", k);
                                want_slot(rp, s, num);
                        }
        }
        for (size_t i = 0; i < rp->n_slots; i++) {
                struct slot *sl = rp->slots[i];
                bool want;
                if (strcmp(sl->svc, s->rec->id) != 0)
                        continue;
                want = slot_wanted(rp, s, rs, sl);
                if (sl->claimed && sl->version == s->rec->version)
                        sl->stop_grace = s->rec->task->stop_grace; /* also an adopted task's */
                if (want != sl->run) {
                        sl->run = want;
                        if (!want)
                                sl->batch = sl->replace = false;
                        nd_rp_slot_write(rp, sl);
                }
        }
        if (!rs->removing)
                svc_update(rp, s, rs, p);
        nd_rp_svc_slots_step(rp, s, s->rec->id, p);
        if (rs->removing && !rs->tasks_gone && !nd_rp_svc_has_slots(rp, s->rec->id))
                svc_removal_continue(rp, rs);
}
