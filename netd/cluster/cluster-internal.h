/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cluster-internal.h
 * The cluster's state, shared by its parts.  Not for other modules: they
 * use cluster.h.
 *
 * The parts, each owning its share of struct nd_cluster:
 *   cluster.c          the composition: the list/watch of the global
 *                      prefix and the order events are applied in, the
 *                      firewall's view, status and metrics, start and stop
 *   cluster-node.c     this node: its id, registration, lease, keep-alive;
 *                      reclaiming what dead nodes left (reclaim_timer)
 *   cluster-peers.c    the node table (nodes) from node and live records,
 *                      remote endpoints (reps) and the checks that make
 *                      them trusted
 *   cluster-ipam.c     address blocks (blocks, block_index), claims and
 *                      their waiters, picking and giving back addresses
 *   cluster-publish.c  our endpoint records (leps, stale): the desired set
 *                      and the sync pass that writes it on the lease
 *   cluster-nets.c     overlay networks: records, create, remove, tunnel up
 *   cluster-services.c services' records and remote tasks (nd_cluster_svc_ops)
 *   cluster-slots.c    task slots of services (slots) and their
 *                      compare-and-swap transactions (nd_cluster_slot_ops)
 *
 * What the parts use is what nd_cluster_new() was handed (the loop, the
 * netlink socket, the state directory, the DNS server and the firewall,
 * either may be NULL); the network table they serve is reached only
 * through cl->nets.  Nothing here knows who created the cluster.
 *
 * Everything runs on the loop.  Functions here are named nd_cl_*; the
 * rest of each part is static.
 */
#pragma once

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cluster.h"
#include "grow.h"
#include "hmap.h"
#include "keys.h"
#include "metrics.h"
#include "network.h"
#include "overlay.h"
#include "prefix.h"
#include "store.h"

#define NODE_MAX 64
#define ETCD_ADDRS_MAX 8

struct gblock {
        char key[ND_ID_LEN + 1 + ND_PREFIX_STRLEN]; /* NETID/ADDR-LEN, the hash key */
        char netid[ND_ID_LEN + 1];
        nd_prefix p;
        char node[ND_NODE_ID_LEN + 1];
        int64_t rev;
        uint64_t used;          /* ours: addresses allocated in it */
        size_t idx;             /* in cl->blocks */
        bool claiming, releasing, seen;
};

struct rep {                    /* a remote endpoint */
        char key[200];
        char netid[ND_ID_LEN + 1];
        char ctid[ND_ID_LEN + 1];
        char node[ND_NODE_ID_LEN + 1];
        /* its record's Name and Service, for the topology and events
         * (truncated: labels for people, never looked up) */
        char name[ND_NAME_MAX + 1];
        char service[ND_NAME_MAX + 1];
        nd_overlay_peer peer;
        bool seen;
};

struct lep {                    /* one of ours, as we want it in etcd */
        char key[200];
        char ctid[ND_ID_LEN + 1];
        char *value;            /* NULL: to be deleted */
        unsigned gen;
        bool synced, busy;
};

struct gnode {
        char id[ND_NODE_ID_LEN + 1];
        char name[NODE_MAX + 1];
        char addr[ND_ADDR_STRLEN];
        nd_addr vtep;           /* of the live record */
        bool registered;        /* nodes/ID exists */
        int64_t reg_rev;
        bool live;              /* live/ID exists: its lease is kept alive */
        int64_t lease, live_rev;
        double down_since;      /* ev_now() when first seen not live; 0: live */
        size_t n_reps, n_blocks;
        bool reclaiming, seen;
};

struct gsvc {                   /* a global service record we delivered */
        char id[ND_ID_LEN + 1];
        bool seen;
};

struct cslot {                  /* a slot record (cluster-slots.c) */
        char key[ND_ID_LEN + 1 + 64]; /* SERVICE-ID/SLOT, the hash key */
        char svc[ND_ID_LEN + 1];
        char name[64];
        char holder[ND_NODE_ID_LEN + 1];
        char *value;
        int64_t rev, lease;
        bool seen;
};

struct waiter {
        void (*cb)(void *u, int r, const nd_diag *d);
        void *userdata;
        struct waiter *next;
};

struct nd_cluster {
        struct ev_loop *loop;
        struct nl_sock *nl;
        char *state_dir;
        struct nd_dns *dns;     /* NULL: no embedded DNS */
        struct nd_fw *fw;       /* NULL: no firewall */
        nd_cluster_nets_ops nets; /* the network table served */
        void *userdata;         /* of nets and done */
        nd_store *st;
        nd_overlay *ov;
        char id[ND_NODE_ID_LEN + 1];
        char node[NODE_MAX + 1];
        nd_addr addr;
        unsigned ttl;
        double grace;
        uint16_t vxlan_port;
        int64_t lease;
        bool renewing;
        ev_timer keepalive, sync_timer, reclaim_timer, prune_timer;
        nd_store_watch *watch;
        int64_t rev;
        void (*done)(void *userdata, int r);
        bool started;

        struct gblock **blocks;
        size_t n_blocks, cap_blocks;
        nd_hmap *block_index;   /* key -> struct gblock */
        nd_hmap *reps;          /* key -> struct rep */
        nd_hmap *nodes;         /* id -> struct gnode */
        struct lep *leps;
        size_t n_leps, cap_leps;
        char **stale;           /* our endpoint keys found at start-up */
        size_t n_stale, cap_stale;
        struct waiter *waiters;
        struct nd_fw_owner *fw_owner; /* our elements in the firewall's sets */
        /* services (cluster-services.c) */
        nd_cluster_svc_ops svc;
        void *svc_userdata;
        nd_cluster_event_fn event; /* NULL: nobody listens */
        void *event_userdata;
        struct gsvc *svc_ids;   /* global services seen, for a relist */
        size_t n_svc_ids, cap_svc_ids;
        /* task slots (cluster-slots.c) */
        nd_hmap *slots;         /* SERVICE-ID/SLOT -> struct cslot */
        nd_cluster_slot_ops slot_ops;
        void *slot_userdata;
        double lease_asked_at;  /* nd_rt_boottime() when the lease in use was asked for */
        double lease_ok_at;     /* nd_rt_boottime() (CLOCK_BOOTTIME: no NTP step or VM
                                 * suspend extends the lease) when the last keep-alive etcd took was sent */
        nd_addr etcd_addrs[ETCD_ADDRS_MAX];
        uint16_t etcd_ports[ETCD_ADDRS_MAX];
        size_t n_etcd;
        uint64_t events, resyncs, lease_losses, sync_failures, rejected, reclaimed, renewals;
        nd_hist watch_lag;      /* a remote endpoint record's WrittenMs to applied here */
        char last_rejected[256];
};

/* cluster-services.c: a global service record put or deleted; at a
 * relist, mark all unseen first and drop the unseen after; the service
 * and health fields of an endpoint record; a trusted remote endpoint's
 * task, and its going. */
void nd_cl_svc_put(nd_cluster *cl, const nd_store_kv *kv);
void nd_cl_svc_del(nd_cluster *cl, const char *key);
void nd_cl_svc_unsee(nd_cluster *cl);
void nd_cl_svc_drop_unseen(nd_cluster *cl);
void nd_cl_svc_ep_fields(nd_cluster *cl, json_t *j, const char *owner, const char *service);
void nd_cl_svc_task(nd_cluster *cl, const struct rep *e, const json_t *j);
void nd_cl_svc_task_gone(nd_cluster *cl, const struct rep *e);

/* cluster-slots.c: a slot record put or deleted, the unseen dropped
 * after a relist, something slots depend on changed (a node's liveness,
 * the lease), the table freed. */
void nd_cl_slot_put(nd_cluster *cl, const nd_store_kv *kv);
void nd_cl_slot_del(nd_cluster *cl, const char *key);
void nd_cl_slot_unsee(nd_cluster *cl);
void nd_cl_slot_drop_unseen(nd_cluster *cl);
void nd_cl_slots_changed(nd_cluster *cl);
void nd_cl_slots_free(nd_cluster *cl);

/* cluster.c */
/* Wall-clock milliseconds since the epoch: what endpoint records carry
 * as WrittenMs, compared by the hosts that apply them. */
int64_t nd_cl_wall_ms(void);
nd_network *nd_cl_net_by_id(nd_cluster *cl, const char *id);
/* the list callback: a snapshot of the global prefix, then the watch */
void nd_cl_on_listed(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev);
void nd_cl_fw_update(nd_cluster *cl);
/* etcd's endpoint in use, else the store's backend name: for logs */
const char *nd_cl_store_name(const nd_cluster *cl);

/* cluster-node.c */
void nd_cl_renew(nd_cluster *cl);
void nd_cl_on_keepalive(struct ev_loop *loop, ev_timer *t, int revents);
void nd_cl_on_reclaim_timer(struct ev_loop *loop, ev_timer *t, int revents);

/* cluster-peers.c */
struct gnode *nd_cl_node_get(nd_cluster *cl, const char *id, bool create);
void nd_cl_node_gc(nd_cluster *cl, struct gnode *g);
const char *nd_cl_node_label(nd_cluster *cl, const char *id);
void nd_cl_rep_put(nd_cluster *cl, const nd_store_kv *kv);
void nd_cl_rep_remove(nd_cluster *cl, struct rep *e);
void nd_cl_rep_remove_key(nd_cluster *cl, const char *key);
void nd_cl_node_put(nd_cluster *cl, const nd_store_kv *kv);
void nd_cl_node_del(nd_cluster *cl, const char *id);
void nd_cl_live_put(nd_cluster *cl, const nd_store_kv *kv);
void nd_cl_live_del(nd_cluster *cl, const char *id);

/* cluster-ipam.c */
void nd_cl_block_key(const char *netid, const nd_prefix *p, char *buf, size_t size);
struct gblock *nd_cl_block_of(nd_cluster *cl, const nd_network *n, const nd_addr *a);
void nd_cl_block_drop(nd_cluster *cl, struct gblock *b);
void nd_cl_block_put(nd_cluster *cl, const char *key, const char *value, int64_t rev);

/* cluster-publish.c */
void nd_cl_sync_leps(nd_cluster *cl);
void nd_cl_on_sync_timer(struct ev_loop *loop, ev_timer *t, int revents);
void nd_cl_on_prune(struct ev_loop *loop, ev_timer *t, int revents);

/* cluster-nets.c */
void nd_cl_net_put(nd_cluster *cl, const char *key, const char *value);
void nd_cl_net_forget(nd_cluster *cl, nd_network *n);

/* cluster-peers.c: report to the event hook (@attrs taken), once started. */
void nd_cl_event(nd_cluster *cl, const char *type, const char *action, const char *id, const char *name,
                 json_t *attrs, const char *node);
