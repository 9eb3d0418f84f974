/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file replicas-state.h
 * The reconciler's state, shared by its parts: replicas.c (tables, slot
 * records and claims, the pass, start-up, what the core asks),
 * replicas-ops.c (operations on a slot's container, one slot, one
 * service) and replicas-api.c (scale, update, rollback, service ps).
 * Private to core/; the rest of the core uses replicas-internal.h.
 */
#pragma once

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
#define SLOT_NAME_MAX (ND_SLOT_NAME_MAX + 1)
#define PLACE_FALLBACK_US (3 * SEC)  /* a free slot the best host did not take: any host may */

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
        /* a slot of a global service: its record is in etcd (replicas-cluster.c) */
        bool shared;
        bool claiming;                /* the claim's transaction is in flight */
        bool seen;                    /* its record is in the cluster's table */
        int64_t rev;                  /* the record's mod revision as last seen or written, 0: none */
        char holder[ND_NODE_ID_LEN + 1]; /* "Node" of the record, trusted or not */
        char rctid[ND_ID_LEN + 1];    /* another host's: its container there */
        bool rrun;                    /* another host's: its desired state */
        int64_t free_since_us;        /* held by nobody since, 0: held */
        double stop_grace;            /* of the template its container was made from */
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
        /* in a cluster (replicas-cluster.c) */
        int64_t own_rev;              /* the revision of our last slot transaction */
        bool fresh;                   /* the node lease is fresh: this host may hold slots */
        double deadline_written;      /* the last deadline written for the tasks' monitors */
        bool shared_ok;               /* fresh, and the cluster's view includes our own writes */
        bool synced;                  /* the slot table was read once */
        bool fencing;                 /* tasks of slots not held are still running: no claims */
        char (*reaping)[ND_ID_LEN + 1]; /* containers being stopped or removed as not held */
        size_t n_reaping, cap_reaping;
};

/* An operation in flight: what its callback needs to find its slot. */
struct op {
        nd_manager *m;
        uint64_t serial;
};


/* One pass of the reconciler: its time, the earliest time a slot waits
 * for, and how many operations it may still start. */
struct pass {
        int64_t now, next_us;   /* the earliest time something waits for */
        unsigned budget;        /* operations this pass may still start */
};

/* Shared by the parts; each is defined beside its section's others
 * (tables and records in replicas.c, service steps in replicas-ops.c). */
void nd_rp_host_slot_name(nd_manager *m, char buf[static SLOT_NAME_MAX]);
const char *nd_rp_node_id(nd_manager *m);
struct rsvc *nd_rp_rsvc_get(struct nd_replicas *rp, const char *id, bool create);
struct slot *nd_rp_slot_by_serial(struct nd_replicas *rp, uint64_t serial);
int nd_rp_slot_claim(struct nd_replicas *rp, struct slot *sl, bool take);
nd_container *nd_rp_slot_container(nd_manager *m, const struct nd_svc *s, struct slot *sl);
struct slot *nd_rp_slot_find(struct nd_replicas *rp, const char *svc, const char *name);
struct slot *nd_rp_slot_new(struct nd_replicas *rp, const char *svc, const char *name);
struct nd_svc *nd_rp_slot_service(nd_manager *m, const struct slot *sl);
void nd_rp_slot_set(struct nd_replicas *rp, struct slot *sl, slot_state st, const char *error);
void nd_rp_slot_write(struct nd_replicas *rp, struct slot *sl);
struct nd_svc *nd_rp_svc_by_id(nd_manager *m, const char *id);
void nd_rp_task_name(const struct nd_svc *s, const struct slot *sl, char buf[static ND_NAME_MAX + 1]);
int64_t nd_rp_unix_now(void);
int nd_rp_slot_cmp_desc(const void *a, const void *b);
bool nd_rp_svc_has_slots(struct nd_replicas *rp, const char *id);
void nd_rp_svc_reconcile(struct nd_replicas *rp, struct nd_svc *s, struct pass *p);
void nd_rp_svc_slots_step(struct nd_replicas *rp, struct nd_svc *s, const char *id, struct pass *p);
void nd_rp_slot_free(struct nd_replicas *rp, struct slot *sl);
json_t *nd_rp_slot_record(const struct slot *sl);
int nd_rp_record_parse(const char *value, size_t len, struct slot *into);
void nd_rp_wait_for(struct pass *p, int64_t t);
/* replicas-cluster.c: slots of global services in etcd */
void nd_rp_cluster_init(struct nd_replicas *rp);
void nd_rp_cluster_sync(struct nd_replicas *rp, struct pass *p);
void nd_rp_cluster_reap(struct nd_replicas *rp, struct pass *p);
bool nd_rp_cluster_may_claim(struct nd_replicas *rp, const struct nd_svc *s, struct slot *sl, struct pass *p);
int nd_rp_cluster_claim(struct nd_replicas *rp, struct slot *sl, bool take);
void nd_rp_cluster_write(struct nd_replicas *rp, struct slot *sl);
const char *nd_rp_slot_host(nd_manager *m, const struct slot *sl);
/* Another host's task: the health its host publishes ("" without a
 * check), and whether it runs the current template and passed a check. */
const char *nd_rp_remote_health(nd_manager *m, const struct nd_svc *s, const struct slot *sl);
bool nd_rp_remote_ready(nd_manager *m, const struct nd_svc *s, const struct slot *sl);
