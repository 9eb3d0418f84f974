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
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "diag.h"
#include "grow.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "network.h"
#include "replicas-internal.h"
#include "service.h"
#include "services-internal.h"
#include "store.h"
#include "txn.h"

#define SEC 1000000LL
#define BACKOFF_FIRST_US (1 * SEC)
#define BACKOFF_MAX_US (30 * SEC)
#define BACKOFF_RESET_US (10 * SEC)  /* a task that ran this long starts its backoff over */
#define DRAIN_US (1 * SEC)           /* out of the backends before it is stopped */
#define CLAIM_RETRY_US (1 * SEC)
#define OPS_PER_PASS 32              /* operations one pass starts; the rest in the next */
#define SLOT_NAME_MAX 48

typedef enum slot_state {
        ST_PENDING,    /* claimed, no container yet */
        ST_STARTING,   /* its container is being created or started */
        ST_RUNNING,
        ST_COMPLETE,   /* exited 0, not restarted (condition on-failure or none) */
        ST_FAILED,     /* exited with an error; restarted after its backoff unless the condition says no */
        ST_REJECTED,   /* could not be created (no rootfs, no command): retried after its backoff */
        ST_STOPPING,   /* leaving: drained, stopped, removed */
        ST_SHUTDOWN,   /* stopped for good, the slot is about to be released */
        _ST_MAX,
} slot_state;

static const char *const state_names[_ST_MAX] = {
        [ST_PENDING] = "pending",   [ST_STARTING] = "starting", [ST_RUNNING] = "running",
        [ST_COMPLETE] = "complete", [ST_FAILED] = "failed",     [ST_REJECTED] = "rejected",
        [ST_STOPPING] = "stopping", [ST_SHUTDOWN] = "shutdown",
};

struct slot {
        uint64_t serial;              /* callbacks find their slot by it */
        char svc[ND_ID_LEN + 1];
        char name[SLOT_NAME_MAX];     /* "3", or the host's name in global mode */
        unsigned num;                 /* 1..N, 0 in global mode */
        /* the record */
        char node[ND_NODE_ID_LEN + 1];
        char ctid[ND_ID_LEN + 1];     /* its container, "": none */
        bool run;                     /* desired state: running, else shutdown */
        slot_state state;
        int64_t since;                /* unix seconds */
        char error[256];
        uint64_t version;             /* the template generation of its container */
        /* this host's bookkeeping, not stored */
        bool claimed;                 /* this host holds it (its record is written) */
        bool busy;                    /* an operation is in flight */
        bool replace;                 /* its container goes, a new one of the current template follows */
        bool batch;                   /* in the update batch until its new task is ready */
        bool draining;
        bool restart;                 /* its container is to be started again when the backoff ends */
        unsigned fails;               /* consecutive failures, for the backoff */
        unsigned restarts;
        int64_t wait_until_us;        /* end of a backoff or of a drain */
        int64_t exit_seen_us;         /* FinishedAt of the last exit counted */
        bool writing, rewrite;        /* its record: a write in flight, another wanted after it */
};

/* A service's reconciler state beyond its slots. */
struct rsvc {
        char id[ND_ID_LEN + 1];
        int64_t next_batch_us;        /* an update's next batch, not before */
        bool batch_active;
        bool removing, tasks_gone;    /* DELETE: tasks first, then the service */
        nd_manager_svc_fn rm_cb;
        void *rm_userdata;
        bool changing;                /* a scale, update or rollback is being written */
};

struct nd_replicas {
        nd_manager *m;
        struct slot **slots;
        size_t n_slots, cap_slots;
        struct rsvc **svcs;
        size_t n_svcs, cap_svcs;
        uint64_t next_serial;
        ev_timer timer;
        bool started;
        char host[SLOT_NAME_MAX];     /* the slot name of this host in global mode */
        void (*load_done)(nd_manager *m);
};

/* An operation in flight: what its callback needs to find its slot. */
struct op {
        nd_manager *m;
        uint64_t serial;
};

static int64_t unix_now(void) {
        return now_us() / SEC;
}

static const char *node_id(nd_manager *m) {
        const char *id = m->cluster ? nd_cluster_node_id(m->cluster) : NULL;
        return id ? id : "";
}

/* This host's slot name in global mode: its node name (or host name) up
 * to the first dot, as a DNS label, so NAME.HOST is a container name. */
static void host_slot_name(nd_manager *m, char buf[static SLOT_NAME_MAX]) {
        char host[256] = "";
        size_t k = 0;

        if (m->node_name)
                snprintf(host, sizeof(host), "%s", m->node_name);
        else
                (void) gethostname(host, sizeof(host) - 1);
        for (size_t i = 0; host[i] && host[i] != '.' && k < SLOT_NAME_MAX - 1; i++) {
                char c = host[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
                buf[k++] = ok ? c : '-';
        }
        if (k == 0)
                buf[k++] = 'h';
        buf[k] = 0;
}

/* ---- tables ---- */

static struct slot *slot_by_serial(struct nd_replicas *rp, uint64_t serial) {
        for (size_t i = 0; i < rp->n_slots; i++)
                if (rp->slots[i]->serial == serial)
                        return rp->slots[i];
        return NULL;
}

static struct slot *slot_find(struct nd_replicas *rp, const char *svc, const char *name) {
        for (size_t i = 0; i < rp->n_slots; i++)
                if (strcmp(rp->slots[i]->svc, svc) == 0 && strcmp(rp->slots[i]->name, name) == 0)
                        return rp->slots[i];
        return NULL;
}

static struct slot *slot_new(struct nd_replicas *rp, const char *svc, const char *name) {
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
        sl->since = unix_now();
        rp->slots[rp->n_slots++] = sl;
        return sl;
}

static void slot_free(struct nd_replicas *rp, struct slot *sl) {
        for (size_t i = 0; i < rp->n_slots; i++)
                if (rp->slots[i] == sl) {
                        memmove(rp->slots + i, rp->slots + i + 1, (rp->n_slots - i - 1) * sizeof(*rp->slots));
                        rp->n_slots--;
                        break;
                }
        free(sl);
}

static struct rsvc *rsvc_get(struct nd_replicas *rp, const char *id, bool create) {
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
static struct nd_svc *slot_service(nd_manager *m, const struct slot *sl) {
        for (size_t i = 0; i < m->n_svcs; i++)
                if (strcmp(m->svcs[i]->rec->id, sl->svc) == 0)
                        return m->svcs[i]->committed && m->svcs[i]->rec->task ? m->svcs[i] : NULL;
        return NULL;
}

static void task_name(const struct nd_svc *s, const struct slot *sl, char buf[static ND_NAME_MAX + 1]) {
        snprintf(buf, ND_NAME_MAX + 1, "%s.%s", s->rec->name, sl->name);
}

/* @sl's container: by id, else (a crash between the create and the
 * record) a managed task of the service by its name. */
static nd_container *slot_container(nd_manager *m, const struct nd_svc *s, struct slot *sl) {
        char name[ND_NAME_MAX + 1];
        nd_container *c;

        if (sl->ctid[0] && nd_manager_container_find(m, sl->ctid, &c) == 0 && strcmp(c->id, sl->ctid) == 0)
                return c;
        if (!s)
                return NULL;
        task_name(s, sl, name);
        if (nd_manager_container_find(m, name, &c) == 0 && strcmp(c->name, name) == 0 && c->managed &&
            strcmp(c->service, s->rec->name) == 0) {
                snprintf(sl->ctid, sizeof(sl->ctid), "%s", c->id);
                return c;
        }
        sl->ctid[0] = 0;
        return NULL;
}

/* ---- the slot's record ---- */

static json_t *slot_record(const struct slot *sl) {
        return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "Node", sl->node, "Container", sl->ctid, "Desired",
                         sl->run ? "running" : "shutdown", "State", state_names[sl->state], "Since",
                         (json_int_t) sl->since, "Error", sl->error, "Version", (json_int_t) sl->version);
}

static void slot_write(struct nd_replicas *rp, struct slot *sl);

static void on_slot_written(void *userdata, int r, int64_t rev) {
        _cleanup_free_ struct op *op = userdata;
        struct nd_replicas *rp = op->m->replicas;
        struct slot *sl = rp ? slot_by_serial(rp, op->serial) : NULL;

        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "writing a task slot's record failed, ignoring", "slot=%s",
                             sl ? sl->name : "?");
        if (!sl)
                return;
        sl->writing = false;
        if (sl->rewrite) {
                sl->rewrite = false;
                slot_write(rp, sl);
        }
}

/* The record as it is now, for `service ps` after a restart: only the
 * holder writes it (one write in flight per slot, the last state wins).
 * The store applies writes in order, so a release (a delete) queued
 * behind a write still leaves no record. */
static void slot_write(struct nd_replicas *rp, struct slot *sl) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct op *op;

        if (!sl->claimed)
                return;
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
                                  slot_record(sl));
        if (nd_store_txn_submit(TAKE_PTR(t), rp->m->store, on_slot_written, op) < 0) {
                free(op);
                return;
        }
        sl->writing = true;
}

static void slot_set(struct nd_replicas *rp, struct slot *sl, slot_state st, const char *error) {
        error = error ? error : "";
        if (sl->state == st && strcmp(sl->error, error) == 0)
                return;
        if (sl->state != st)
                sl->since = unix_now();
        sl->state = st;
        if (error != sl->error)
                snprintf(sl->error, sizeof(sl->error), "%s", error);
        slot_write(rp, sl);
}

/* ---- claiming a slot ----
 *
 * slot_claim() is the one step where a slot changes hands: taking it
 * writes its record with this host as "Node", giving it up deletes the
 * record.  Nothing else creates or deletes a slot record, and a slot's
 * container is created only once its claim has committed.
 *
 * On one host the host's store has no other writer, so a put is the
 * claim.  In a cluster the record moves to etcd
 * (ND_KEY_GLOBAL "service-slots/SVCID/SLOT") and this function becomes a
 * transaction there: take = compare (the key is absent, or its
 * mod_revision is the one this host read and its "Node" has no live key
 * under ND_KEY_GLOBAL_LIVE) then put on this host's lease; give up =
 * compare ("Node" is this host, by mod_revision) then delete.  A failed
 * compare answers -ECANCELED: another host holds the slot, and this one
 * leaves it alone (its task shows with that host in `service ps`).  The
 * lease makes a dead host's slots vanish, so the survivors claim them.
 * slot_write() then becomes a put guarded by the same compare. */
static void on_claimed(void *userdata, int r, int64_t rev);

static int slot_claim(struct nd_replicas *rp, struct slot *sl, bool take) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct op *op = calloc(1, sizeof(*op));
        const char *key;
        int k;

        if (!op || nd_store_txn_new(&t) < 0) {
                free(op);
                return -ENOMEM;
        }
        *op = (struct op) { .m = rp->m, .serial = sl->serial };
        key = nd_store_txn_keyf(t, ND_KEY_SERVICE_SLOTS "%s/%s", sl->svc, sl->name);
        if (take) {
                snprintf(sl->node, sizeof(sl->node), "%s", node_id(rp->m));
                nd_store_txn_put_json_new(t, key, slot_record(sl));
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
        struct slot *sl = rp ? slot_by_serial(rp, op->serial) : NULL;

        if (!sl)
                return;
        sl->busy = false;
        if (r < 0) {
                nd_log_errno(LOG_WARNING, r, "claiming or releasing a task slot failed, retrying", "slot=%s/%s",
                             sl->svc, sl->name);
                sl->claimed = !sl->claimed;
                sl->wait_until_us = now_us() + CLAIM_RETRY_US;
        } else if (!sl->claimed) {
                slot_free(rp, sl);
        }
        nd_replicas_kick(op->m);
}

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
        struct slot *sl = rp ? slot_by_serial(rp, op->serial) : NULL;
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
        const struct nd_svc *s = slot_service(rp->m, sl);
        sl->restart = !s || s->rec->restart != ND_SVC_RESTART_NONE;
        if (sl->restart)
                backoff(sl);
        slot_set(rp, sl, st, msg);
}

/* The container request of @sl's task: the template, the service's
 * networks, the name NAME.SLOT (also its host name, so a task knows its
 * slot). */
static json_t *task_body(const struct nd_svc *s, const struct slot *sl) {
        const nd_svc_tpl *t = s->rec->task;
        char name[ND_NAME_MAX + 1];
        json_t *nets = json_array();

        task_name(s, sl, name);
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
                struct nd_svc *s = slot_service(m, sl);
                nd_container *left = s ? slot_container(m, s, sl) : NULL;
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
                slot_set(rp, sl, ST_RUNNING, NULL);
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
        slot_set(rp, sl, ST_STARTING, sl->restart ? sl->error : NULL); /* the last error until it runs */
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
                slot_set(m->replicas, sl, ST_RUNNING, NULL);
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
                slot_set(rp, sl, ST_RUNNING, NULL);
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
        slot_set(rp, sl, ST_STARTING, sl->error); /* the last error until it runs */
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
        slot_set(m->replicas, sl, sl->run ? ST_PENDING : ST_SHUTDOWN, NULL);
}

/* Out of the service's backends and names first, so the routing mesh
 * sends it no new connection, then (after DRAIN_US) stopped. */
static void task_drain(struct nd_replicas *rp, struct slot *sl, nd_container *c, bool on) {
        sl->draining = on;
        nd_services_container_sync(rp->m, c, c->status == ND_CT_RUNNING && !on);
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
                slot_set(rp, sl, ST_STOPPING, NULL);
                return;
        }
        if (sl->draining && now < sl->wait_until_us)
                return;
        if (!(op = op_new(rp, sl)))
                return;
        slot_set(rp, sl, ST_STOPPING, NULL);
        if (c->status == ND_CT_RUNNING) {
                double grace = s ? s->rec->task->stop_grace : ND_SVC_STOP_GRACE_DEFAULT;
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

struct pass {
        int64_t now, next_us;   /* the earliest time something waits for */
        unsigned budget;        /* operations this pass may still start */
};

static void wait_for(struct pass *p, int64_t t) {
        if (t < p->next_us)
                p->next_us = t;
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
        slot_set(rp, sl, c->exit_code == 0 && !c->error[0] ? ST_COMPLETE : ST_FAILED, msg);
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
        c = slot_container(rp->m, s, sl);
        if (!sl->claimed) {
                /* also a slot to give up: what is released was claimed */
                if (slot_claim(rp, sl, true) == 0)
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
                        const struct rsvc *rs = s ? rsvc_get(rp, s->rec->id, false) : NULL;
                        bool drain = rs && !rs->removing;
                        task_retire(rp, s, sl, c, drain, p->now);
                        p->budget--;
                } else if (slot_claim(rp, sl, false) == 0)
                        p->budget--;
                return;
        }
        if (sl->draining && !sl->replace && c) {
                task_drain(rp, sl, c, false); /* wanted again before it stopped */
                slot_set(rp, sl, ST_RUNNING, NULL);
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
                        slot_set(rp, sl, ST_RUNNING, NULL);
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
        if (slot_by_serial(rp, serial) && sl->wait_until_us > p->now)
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
        struct slot *sl = slot_find(rp, s->rec->id, name);
        if (!sl && !(sl = slot_new(rp, s->rec->id, name)))
                nd_log(LOG_ERR, "out of memory adding a task slot", "service=%s", s->rec->name);
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
static int slot_cmp_desc(const void *a, const void *b);

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
                if (strcmp(sl->svc, s->rec->id) != 0 || !sl->run || !sl->claimed)
                        continue;
                c = slot_container(rp->m, s, sl);
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
        qsort(cand, n, sizeof(*cand), slot_cmp_desc);
        for (size_t i = n; i-- > 0 && picked < s->rec->update_parallelism; picked++) {
                struct slot *sl = cand[i];
                sl->batch = sl->replace = true;
                rs->batch_active = true;
                nd_log(LOG_INFO, "updating a task", "service=%s slot=%s from=%" PRIu64 " to=%" PRIu64,
                       s->rec->name, sl->name, sl->version, s->rec->version);
        }
}

static int slot_cmp_desc(const void *a, const void *b) {
        const struct slot *x = *(struct slot *const *) a, *y = *(struct slot *const *) b;
        return x->num < y->num ? 1 : x->num > y->num ? -1 : strcmp(x->name, y->name);
}

/* The slots of @s (or of a service that is gone, @s NULL and @id) in
 * descending order, so that a scale-down stops the highest first. */
static void svc_slots_step(struct nd_replicas *rp, struct nd_svc *s, const char *id, struct pass *p) {
        _cleanup_free_ struct slot **mine = calloc(rp->n_slots + 1, sizeof(*mine));
        size_t n = 0;

        if (!mine)
                return;
        for (size_t i = 0; i < rp->n_slots; i++)
                if (strcmp(rp->slots[i]->svc, id) == 0)
                        mine[n++] = rp->slots[i];
        qsort(mine, n, sizeof(*mine), slot_cmp_desc);
        for (size_t i = 0; i < n; i++) {
                uint64_t serial = mine[i]->serial;
                /* a step may free a slot that was never written */
                if (slot_by_serial(rp, serial))
                        slot_step(rp, s, mine[i], p);
        }
}

static bool svc_has_slots(struct nd_replicas *rp, const char *id) {
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
                rs = rsvc_get(rp, id, false);
                if (rs)
                        rs->removing = rs->tasks_gone = false;
                cb(userdata, r, NULL, &d);
        }
}

static void svc_reconcile(struct nd_replicas *rp, struct nd_svc *s, struct pass *p) {
        struct rsvc *rs = rsvc_get(rp, s->rec->id, true);
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
                if (want != sl->run) {
                        sl->run = want;
                        if (!want)
                                sl->batch = sl->replace = false;
                        slot_write(rp, sl);
                }
        }
        if (!rs->removing)
                svc_update(rp, s, rs, p);
        svc_slots_step(rp, s, s->rec->id, p);
        if (rs->removing && !rs->tasks_gone && !svc_has_slots(rp, s->rec->id))
                svc_removal_continue(rp, rs);
}

/* ---- the pass ---- */

static struct nd_svc *svc_by_id(nd_manager *m, const char *id) {
        for (size_t i = 0; i < m->n_svcs; i++)
                if (strcmp(m->svcs[i]->rec->id, id) == 0)
                        return m->svcs[i];
        return NULL;
}

static bool slot_orphaned(nd_manager *m, const struct slot *sl) {
        const struct nd_svc *s = svc_by_id(m, sl->svc);
        return !s || (s->committed && (!s->rec->task || s->global));
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
                        slot_write(rp, sl);
                }
                for (size_t k = 0; k < n && !seen; k++)
                        seen = strcmp(ids[k], sl->svc) == 0;
                if (!seen)
                        snprintf(ids[n++], ND_ID_LEN + 1, "%s", sl->svc);
        }
        for (size_t k = 0; k < n; k++)
                svc_slots_step(rp, NULL, ids[k], p);
}

static void reconcile(struct nd_replicas *rp) {
        nd_manager *m = rp->m;
        struct pass p = { .now = now_us(), .next_us = INT64_MAX, .budget = OPS_PER_PASS };

        for (size_t i = 0; i < m->n_svcs; i++) {
                struct nd_svc *s = m->svcs[i];
                if (s->committed && s->rec->task && !s->global)
                        svc_reconcile(rp, s, &p);
        }
        /* slots of services that are gone or run no tasks (a crash in
         * the middle of a removal): their containers go, then the slots */
        reconcile_orphans(rp, &p);
        for (size_t i = 0; i < rp->n_svcs;)
                if (!svc_by_id(m, rp->svcs[i]->id) && !rp->svcs[i]->removing)
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

static bool slot_name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n >= SLOT_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '-'))
                        return false;
        return true;
}

/* One record read back: "SVCID/SLOT" after the prefix; untrusted like
 * any record, so checked and skipped when wrong. */
static int slot_load(struct nd_replicas *rp, const nd_store_kv *kv) {
        const char *rest = kv->key + strlen(ND_KEY_SERVICE_SLOTS), *slash = strchr(rest, '/');
        char id[ND_ID_LEN + 1];
        const char *node, *ct, *desired, *state, *error;
        json_int_t since, version;
        struct slot *sl;

        if (!slash || slash - rest != ND_ID_LEN || !slot_name_valid(slash + 1))
                return -EINVAL;
        snprintf(id, sizeof(id), "%.*s", ND_ID_LEN, rest);
        if (!nd_id_valid(id) || slot_find(rp, id, slash + 1))
                return -EINVAL;
        _cleanup_json_ json_t *j = json_loadb(kv->value, kv->value_len, 0, NULL);
        if (!j || json_unpack(j, "{s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "Node", &node, "Container", &ct, "Desired",
                              &desired, "State", &state, "Since", &since, "Error", &error, "Version", &version) < 0)
                return -EINVAL;
        if (strlen(node) > ND_NODE_ID_LEN || (*ct && !nd_id_valid(ct)) || version < 0)
                return -EINVAL;
        sl = slot_new(rp, id, slash + 1);
        if (!sl)
                return -ENOMEM;
        snprintf(sl->node, sizeof(sl->node), "%s", node);
        snprintf(sl->ctid, sizeof(sl->ctid), "%s", ct);
        sl->run = strcmp(desired, "running") == 0;
        sl->state = state_from_string(state);
        sl->since = since;
        snprintf(sl->error, sizeof(sl->error), "%s", error);
        sl->version = (uint64_t) version;
        sl->claimed = strcmp(node, node_id(rp->m)) == 0;
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
        host_slot_name(m, rp->host);
        ev_timer_init(&rp->timer, on_timer, 0, 0);
        m->replicas = rp;
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
        free(rp);
        m->replicas = NULL;
}

/* ---- what the rest of the core asks ---- */

int nd_replicas_check(nd_manager *m, const nd_service *rec, nd_diag *d) {
        const nd_network *n;
        if (!rec->task)
                return 0;
        n = nd_net_by_id(m, rec->nets[0].net);
        if (n && nd_network_is_global(n))
                return nd_diag_set(d, -EOPNOTSUPP, "service '%s': tasks run by netd (a command) need local networks "
                                   "for now; on overlay networks, run containers with --service on each host",
                                   rec->name);
        return 0;
}

bool nd_replicas_holds(nd_manager *m, const nd_container *c) {
        struct nd_replicas *rp = m->replicas;
        if (!rp || !c->managed)
                return false;
        for (size_t i = 0; i < rp->n_slots; i++) {
                struct slot *sl = rp->slots[i];
                const struct nd_svc *s = slot_service(m, sl);
                char name[ND_NAME_MAX + 1];
                if (!s)
                        continue;
                task_name(s, sl, name);
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

        if (!rp || (!s->rec->task && !svc_has_slots(rp, s->rec->id)))
                return 0;
        rs = rsvc_get(rp, s->rec->id, false);
        if (rs && rs->removing)
                return rs->tasks_gone ? 0 : nd_diag_set(d, -EBUSY, "service '%s' is being removed", s->rec->name);
        if (!svc_has_slots(rp, s->rec->id))
                return 0;
        if (rs && rs->changing)
                return nd_diag_set(d, -EBUSY, "service '%s' is being changed; try again", s->rec->name);
        rs = rs ? rs : rsvc_get(rp, s->rec->id, true);
        if (!rs)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        rs->removing = true;
        rs->rm_cb = cb;
        rs->rm_userdata = userdata;
        nd_log(LOG_INFO, "removing a service's tasks", "service=%s", s->rec->name);
        nd_replicas_kick(m);
        return 1;
}

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
        struct rsvc *rs = rp ? rsvc_get(rp, op->id, false) : NULL;
        struct nd_svc *s = svc_by_id(m, op->id);
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
                nd_replicas_kick(m);
                op->cb(op->userdata, 0, nd_svc_view(m, s), NULL);
        }
        nd_service_free(op->rec);
        free(op);
}

/* Write @rec (owned) as @s's record; its task fields replace @s's once
 * durable. */
static int svc_change_write(nd_manager *m, struct nd_svc *s, nd_service *rec, nd_manager_svc_fn cb, void *userdata,
                            nd_diag *d) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct rsvc *rs = m->replicas ? rsvc_get(m->replicas, s->rec->id, true) : NULL;
        struct change_op *op = calloc(1, sizeof(*op));
        int r;

        if (!op || !rs || nd_store_txn_new(&t) < 0) {
                free(op);
                nd_service_free(rec);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        *op = (struct change_op) { .m = m, .rec = rec, .cb = cb, .userdata = userdata };
        snprintf(op->id, sizeof(op->id), "%s", s->rec->id);
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
        rs = rsvc_get(m->replicas, s->rec->id, false);
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
        return -slot_cmp_desc(a, b);
}

static json_t *slot_view(nd_manager *m, const struct nd_svc *s, const struct slot *sl) {
        char name[ND_NAME_MAX + 1], host[SLOT_NAME_MAX];
        nd_container *c = NULL;
        const char *health = "";
        int64_t retry = 0;

        task_name(s, sl, name);
        host_slot_name(m, host);
        if (sl->ctid[0] && nd_manager_container_find(m, sl->ctid, &c) == 0 && strcmp(c->id, sl->ctid) == 0 &&
            c->status == ND_CT_RUNNING && s->rec->health.cmd)
                health = nd_task_health_to_string(nd_services_task_health(m, c->id));
        if (sl->restart && sl->wait_until_us > now_us())
                retry = sl->wait_until_us / SEC;
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:s, s:b}", "Name", name, "Slot",
                         sl->name, "Node", sl->node, "Host", sl->claimed ? host : "", "Container", sl->ctid,
                         "DesiredState", sl->run ? "running" : "shutdown", "State", state_names[sl->state], "Since",
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
