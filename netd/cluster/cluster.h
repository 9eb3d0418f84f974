/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cluster.h
 * Multi-host state: what this host shares with its peers through the
 * cluster store (etcd), and what it learns from them.
 *
 * The cluster sits below the services and above the store, the kernel,
 * the overlay and DNS.  It is handed everything it uses when it is made
 * (nd_cluster_new: the loop, the netlink socket, the state directory, the
 * DNS server and the firewall) and reaches the network table it serves
 * only through the nd_cluster_nets_ops it is given; it never calls up to
 * its users.
 *
 * The module's parts (cluster-internal.h: the state each one owns):
 *   node      cluster-node.c     this host's node id, its registration and
 *                                lease; reclaiming what dead nodes left
 *   peers     cluster-peers.c    the other nodes and their endpoints: the
 *                                trust checks, then the overlay's FDB and
 *                                neighbours and the DNS names
 *   blocks    cluster-ipam.c     cluster IPAM: address blocks claimed per
 *                                node, addresses picked and given back
 *   publish   cluster-publish.c  this host's endpoint records, on its lease
 *   networks  cluster-nets.c     global (overlay) networks: records,
 *                                create, remove, the tunnel port; they
 *                                join and leave the network table
 *   cluster.c                    the one list and watch of the global
 *                                prefix, the firewall's view, status,
 *                                metrics, start and stop
 *
 * Keys (all under /netd/v1/global/); NODE is a node id (32 hex digits,
 * random, generated once and kept in STATE_DIR/node-id), never a host
 * name, so two hosts with one host name are two nodes:
 *   nodes/NODE               {"Id","Name","Addr","Version","Registered"}  the member, until removed
 *   live/NODE                {"Id","Name","Addr","Version","Started"}  on the node lease: the node is up
 *   networks/ID              the network record (driver overlay)
 *   network-names/NAME       ID
 *   vnis/VNI                 ID
 *   blocks/ID/ADDR-LEN       {"Node","Name"}      an address block a node claimed
 *   endpoints/NODE/ID/CTID   {"Node","Vtep","Mac","IPv4","IPv6","Name",...} on the node lease
 *   services/ID, service-names/NAME   services on overlay networks
 *   service-slots/ID/SLOT    {"Node","Container","State",...} on the holder's lease
 *
 * Identity: live/NODE is created only if absent (compare-and-swap) on a
 * fresh lease.  A restart finds its own live record (same address) and
 * keeps that lease, so its endpoint records stay and peers see no change;
 * a live record at another address means a cloned state directory, and
 * start-up is refused.
 *
 * Trust: a peer's endpoint record counts only if its node is live, it is
 * on that node's lease, its tunnel address is the node's and its
 * addresses lie in blocks the node holds; others are ignored and counted
 * (RejectedRecords in the status).  Everything a node writes lives under
 * keys with its id, so an etcd role per host can confine it (docs/overlay.md).
 *
 * Lifecycle: a node that is not live for the grace period (--node-grace)
 * has its blocks, node record and endpoint records removed by whichever
 * live node gets there first (one compare-and-swap transaction wins);
 * nd_cluster_node_remove() does the same at once for a node that is down.
 *
 * Cluster IPAM: a host allocates addresses of an overlay network only
 * from blocks it claimed with a create-only transaction, so two hosts can
 * never hand out the same address, and allocation needs no round trip to
 * etcd except to claim a block.  A block is given back (compare-and-delete
 * on its revision) as soon as the host's last address in it is released,
 * and at start-up when the host holds no address in it.
 *
 * Endpoints of running containers are published on the node's lease: a
 * host that dies disappears from its peers (FDB, neighbours, DNS) when
 * the lease expires.  A lost lease is replaced and everything re-published.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "nd-forward.h"
#include "prefix.h"

typedef struct nd_cluster nd_cluster;
struct ev_loop;
struct nl_sock;
struct nd_container;
struct nd_dns;
struct nd_fw;

#define ND_NODE_ID_LEN 32

typedef struct nd_cluster_config {
        const char *url;          /* etcd://... */
        const char *node;         /* node name: a label for people */
        const char *node_id;      /* ND_NODE_ID_LEN hex digits (nd_node_id_load) */
        double grace;             /* seconds a dead node's blocks are kept; 0: 3600 */
        const char *advertise;    /* IPv4 address or interface name */
        unsigned ttl;             /* node lease, seconds */
        uint16_t vxlan_port;
} nd_cluster_config;

bool nd_node_id_valid(const char *id);
/* Reads STATE_DIR/node-id, or (with @create) makes one: 0 read, 1 made,
 * -errno (-EBADMSG: the file is not a node id). */
int nd_node_id_load(const char *state_dir, bool create, char ret[static ND_NODE_ID_LEN + 1]);

/* The network table the cluster serves, each call with the userdata
 * given to nd_cluster_new():
 *   find    a network by reference (name, id, unique id prefix): 0 and a
 *           borrowed pointer, or -ENOENT/-ENOTUNIQ
 *   list    the networks and their count; a borrowed array, valid until
 *           the next list or adopt (forget leaves it as it is)
 *   adopt   takes @n, an overlay network that exists elsewhere, into the
 *           table (its bridge, firewall elements and slot); frees @n on
 *           failure
 *   forget  drops @n from the table again (bridge, elements, slot) and
 *           frees it */
typedef struct nd_cluster_nets_ops {
        int (*find)(void *userdata, const char *ref, nd_network **ret);
        size_t (*list)(void *userdata, nd_network ***ret);
        int (*adopt)(void *userdata, nd_network *n);
        void (*forget)(void *userdata, nd_network *n);
} nd_cluster_nets_ops;

/* Services (docs/services.md) through the cluster, each call with the
 * userdata given to nd_cluster_set_svc_ops():
 *   service    a global service record appeared or changed (@value, the
 *              record's JSON) or went (@value NULL)
 *   task       a trusted remote endpoint that names a service (its record
 *              has "Service"), again whenever it changes
 *   task_gone  that endpoint went (record deleted, node down, distrust)
 *   health     the health to publish with one of ours (@owner: a
 *              container id, or the owner id of nd_cluster_publish_endpoint),
 *              NULL: none */
typedef struct nd_cluster_task {
        const char *key;          /* the endpoint record's key: unique */
        const char *service, *net_id, *name, *node, *health;
        const nd_addr *a4;        /* family 0: none */
} nd_cluster_task;
typedef struct nd_cluster_svc_ops {
        void (*service)(void *userdata, const char *id, const char *value);
        void (*task)(void *userdata, const nd_cluster_task *t);
        void (*task_gone)(void *userdata, const char *key);
        const char *(*health)(void *userdata, const char *owner);
} nd_cluster_svc_ops;

/* Checks @cfg and makes the cluster: the store client and the overlay,
 * nothing sent yet.  @loop, @nl, @dns and @fw (either of the last two may
 * be NULL) are borrowed until nd_cluster_free(); @cfg, @state_dir and
 * @nets are copied.  A bad @cfg is logged. */
int nd_cluster_new(struct ev_loop *loop, struct nl_sock *nl, const char *state_dir, struct nd_dns *dns,
                   struct nd_fw *fw, const nd_cluster_config *cfg, const nd_cluster_nets_ops *nets,
                   void (*done)(void *userdata, int r), void *userdata, nd_cluster **ret);
/* The same over a store and an overlay that are already open (the local
 * store standing in for etcd, an overlay with fake tunnel kinds: unit
 * tests), both taken, also on failure; @cfg->url is not read and no
 * etcd address joins the firewall's view. */
struct nd_store;
struct nd_overlay;
int nd_cluster_new_with(struct ev_loop *loop, struct nl_sock *nl, const char *state_dir, struct nd_dns *dns,
                        struct nd_fw *fw, const nd_cluster_config *cfg, const nd_cluster_nets_ops *nets,
                        struct nd_store *st, struct nd_overlay *ov, void (*done)(void *userdata, int r),
                        void *userdata, nd_cluster **ret);
/* Set before nd_cluster_start() (the snapshot delivers services). */
void nd_cluster_set_svc_ops(nd_cluster *cl, const nd_cluster_svc_ops *ops, void *userdata);
/* What the cluster sees happen after start-up, for the event bus above
 * (core/events.h): a node joins or leaves (type "node", @id its node id),
 * a trusted remote endpoint appears or goes (type "endpoint", action
 * connect or disconnect, @id its owner).  @node is the name of the node
 * it happened on; @attrs (string values) is taken. */
typedef void (*nd_cluster_event_fn)(void *userdata, const char *type, const char *action, const char *id,
                                    const char *name, json_t *attrs, const char *node);
void nd_cluster_set_event_hook(nd_cluster *cl, nd_cluster_event_fn fn, void *userdata);
/* A global service: its record under services/ID and its name claimed
 * under service-names/NAME (create-only: -EEXIST to @cb when taken);
 * remove deletes both.  @cb(@userdata, 0 or -errno) once committed. */
int nd_cluster_service_create(nd_cluster *cl, const char *id, const char *name, const char *value,
                              void (*cb)(void *u, int r), void *userdata);
int nd_cluster_service_remove(nd_cluster *cl, const char *id, const char *name, void (*cb)(void *u, int r),
                              void *userdata);
/* A changed record of an existing service (its scale, update or
 * rollback): every host applies it when the watch delivers it. */
int nd_cluster_service_update(nd_cluster *cl, const char *id, const char *value, void (*cb)(void *u, int r),
                              void *userdata);
/* This node's id (NULL without a cluster). */
const char *nd_cluster_node_id(const nd_cluster *cl);

/* Task slots of global services (docs/services.md, "Across hosts"):
 * records under service-slots/SERVICE-ID/SLOT, each on the lease of the
 * node that claimed it, so a dead node's slots vanish with its lease.
 * The cluster keeps the table as the watch shows it and carries the
 * compare-and-swap transactions; what a slot means is the core's.
 *   changed  a slot record, a node's liveness or this node's lease
 *            changed: look again (level-triggered, may come in bursts) */
/* A slot name's longest length (a replica number, or a host's name in
 * global mode); a longer one in etcd is ignored. */
#define ND_SLOT_NAME_MAX 47
/* 1 to ND_SLOT_NAME_MAX of [A-Za-z0-9-]: a DNS label, the part after
 * NAME. of a task's container name. */
bool nd_cluster_slot_name_valid(const char *s);

typedef struct nd_cluster_slot {
        const char *svc, *name;   /* service id, slot name */
        const char *node;         /* its holder: "Node" of a record on that
                                   * node's live lease, else "" */
        const char *holder;       /* "Node" as written, trusted or not */
        const char *value;        /* the record's JSON */
        int64_t rev;              /* its mod revision */
} nd_cluster_slot;
typedef struct nd_cluster_slot_ops {
        void (*changed)(void *userdata);
} nd_cluster_slot_ops;
void nd_cluster_set_slot_ops(nd_cluster *cl, const nd_cluster_slot_ops *ops, void *userdata);
/* Every slot record, each borrowed for the call of @fn. */
void nd_cluster_slots_foreach(nd_cluster *cl, void (*fn)(void *u, const nd_cluster_slot *s), void *userdata);
/* One compare-and-swap on slot @svc/@slot: only if its mod revision is
 * @expect_rev (0: absent) and, with @dead_node, that node is not live;
 * then put @value on this node's lease, or (@value NULL) delete it.
 * @cb(@userdata, 0 and the commit revision, or -ECANCELED: a compare
 * failed, or -errno); -EAGAIN now: no lease yet. */
int nd_cluster_slot_txn(nd_cluster *cl, const char *svc, const char *slot, int64_t expect_rev, const char *dead_node,
                        const char *value, void (*cb)(void *u, int r, int64_t rev), void *userdata);
/* The revision the cluster's view has reached (the last event applied). */
int64_t nd_cluster_revision(const nd_cluster *cl);
/* How much longer this node may act as the holder of what is on its
 * lease, in microseconds (<= 0: no longer).  A keep-alive etcd accepted
 * proves the lease alive until TTL after it was sent; this host stops
 * trusting it at two thirds of that, so what it fences is stopped before
 * etcd could expire the lease and let other hosts take over. */
int64_t nd_cluster_lease_fresh_us(const nd_cluster *cl);
/* The same as a point on CLOCK_BOOTTIME (nd_rt_boottime()): the second
 * until which this node trusts its lease, 0: no lease confirmed. */
double nd_cluster_lease_deadline(const nd_cluster *cl);
/* The live nodes' ids (up to @max) into @ids; their count. */
size_t nd_cluster_live_nodes(nd_cluster *cl, char (*ids)[ND_NODE_ID_LEN + 1], size_t max);
/* A node's name (its id when unknown), borrowed. */
const char *nd_cluster_node_name(nd_cluster *cl, const char *id);

/* Registers the node, loads the global state (networks join the table
 * through nets->adopt) and starts watching; then calls @done with
 * @userdata (r<0: start-up failed, logged). */
int nd_cluster_start(nd_cluster *cl);
nd_cluster *nd_cluster_free(nd_cluster *cl);

/* Overlay networks.  Create: the spec must be driver overlay; the
 * callback gets the network once it is committed cluster-wide. */
int nd_cluster_network_create(nd_cluster *cl, nd_network *n, void (*cb)(void *u, int r, nd_network *n, const nd_diag *d),
                              void *userdata, nd_diag *d);
int nd_cluster_network_remove(nd_cluster *cl, nd_network *n, void (*cb)(void *u, int r, const nd_diag *d),
                              void *userdata, nd_diag *d);
/* The tunnel port of @n (after its bridge exists). */
int nd_cluster_net_up(nd_cluster *cl, const nd_network *n);
/* The MTU for a new overlay network: the underlay's minus encapsulation. */
unsigned nd_cluster_default_mtu(nd_cluster *cl, bool gre);

/* Addresses of overlay networks.  Pick: 0 and @ret reserved in the
 * network's allocator; -EAGAIN: a block is being claimed, @retry (if not
 * NULL) runs once when a claim is done; other <0 with @d. */
int nd_cluster_address_pick(nd_cluster *cl, nd_network *n, int family, const nd_addr *want, nd_addr *ret,
                            void (*retry)(void *u, int r, const nd_diag *d), void *userdata, nd_diag *d);
/* @cb runs once when the next block claim (of any network) is done. */
int nd_cluster_wait(nd_cluster *cl, void (*cb)(void *u, int r, const nd_diag *d), void *userdata);
/* An address of @n was given back (or taken at start-up: @delta +1). */
void nd_cluster_address_note(nd_cluster *cl, nd_network *n, const nd_addr *a, int delta);
/* After start-up: give back blocks without addresses. */
void nd_cluster_blocks_trim(nd_cluster *cl);

/* Endpoints of @c on overlay networks: publish what it has now (running
 * or starting), or withdraw all. */
void nd_cluster_publish(nd_cluster *cl, const struct nd_container *c);
void nd_cluster_withdraw(nd_cluster *cl, const struct nd_container *c);
/* The same for endpoints of other owners (a CNI sandbox, a Docker
 * endpoint): @owner is a 64-hex id of the owner (nd_owner_id()), @e on an
 * overlay network (others are ignored).  @service: the service it is a
 * task of (NULL: none).  @name may be "" (no DNS name). */
struct nd_endpoint;
void nd_cluster_publish_endpoint(nd_cluster *cl, const char *owner, const struct nd_endpoint *e, const char *service,
                                 const char *name, const char *hostname);
void nd_cluster_withdraw_owner(nd_cluster *cl, const char *owner);

/* The other nodes that hold endpoint records or blocks on @n: their
 * names, quoted and comma-separated, in @buf; their count. */
size_t nd_cluster_network_users(nd_cluster *cl, const nd_network *n, char *buf, size_t size);

/* Removes a node that is down now (by id, unique id prefix or unique
 * name): its blocks, node record and endpoint records.  -EBUSY when it is
 * live or this host; @cb when done. */
int nd_cluster_node_remove(nd_cluster *cl, const char *ref, void (*cb)(void *u, int r, const nd_diag *d),
                           void *userdata, nd_diag *d);
/* The daemon restored its own endpoints: records of the previous run that
 * were not published again are withdrawn shortly after. */
void nd_cluster_ready(nd_cluster *cl);

json_t *nd_cluster_status(nd_cluster *cl);
/* Prometheus families: nodes by state, remote endpoints by node and
 * network, blocks, watch and lease counters, etcd requests. */
struct nd_expo;
void nd_cluster_metrics(nd_cluster *cl, struct nd_expo *e);
json_t *nd_cluster_nodes(nd_cluster *cl);
json_t *nd_cluster_network_status(nd_cluster *cl, const nd_network *n);
/* The trusted remote endpoints, one object per record: {"Node" (id),
 * "Network" (id), "Id" (its owner's), "Name", "Service", "IPv4", "IPv6",
 * "Mac"}; "" for what it lacks.  An array (empty without a cluster) owned
 * by the caller, NULL: no memory. */
json_t *nd_cluster_remote_endpoints(nd_cluster *cl);
