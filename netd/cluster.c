/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster: node identity and registration, overlay networks, cluster
 * IPAM by address blocks, endpoint discovery through etcd, and the checks
 * that make a peer's record trusted.  See cluster.h for the keys and the
 * rules.
 *
 * Everything here runs on the loop.  Remote state (networks, blocks,
 * endpoints, nodes) is the result of one list at a revision followed by
 * one watch from that revision; a compacted watch re-lists and reconciles.
 * Local state (this host's endpoints) is a desired set that a sync pass
 * writes, retried every second while etcd does not take it.
 *
 * Remote endpoints, nodes and blocks are hash tables: the work one watch
 * event causes does not grow with the size of the cluster.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "bridge.h"
#include "cluster.h"
#include "container.h"
#include "diag.h"
#include "firewall.h"
#include "hmap.h"
#include "json-util.h"
#include "log.h"
#include "manager-internal.h"
#include "metrics.h"
#include "network.h"
#include "overlay.h"
#include "server.h"
#include "store.h"
#include "subnet.h"

#define G "/netd/v1/global/"
#define K_NODES G "nodes/"
#define K_LIVE G "live/"
#define K_NETS G "networks/"
#define K_NAMES G "network-names/"
#define K_VNIS G "vnis/"
#define K_BLOCKS G "blocks/"
#define K_EPS G "endpoints/"
#define NODE_MAX 64
#define VNI_MIN 4096
#define ETCD_ADDRS_MAX 8
/* blocks reclaimed per transaction (etcd's default --max-txn-ops is 128,
 * and each block takes a compare and a delete) */
#define RECLAIM_BATCH 60

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

struct waiter {
        void (*cb)(void *u, int r, const nd_diag *d);
        void *userdata;
        struct waiter *next;
};

struct nd_cluster {
        nd_manager *m;
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
        void (*done)(nd_manager *m, int r);
        bool started;

        struct gblock **blocks;
        size_t n_blocks, cap_blocks;
        nd_hmap *block_index;   /* key -> struct gblock */
        nd_hmap *reps;          /* key -> struct rep */
        nd_hmap *nodes;         /* id -> struct gnode */
        struct lep *leps;
        size_t n_leps, cap_leps;
        char **stale;           /* our endpoint keys found at start-up */
        size_t n_stale;
        struct waiter *waiters;
        struct nd_fw_owner *fw;
        nd_addr etcd_addrs[ETCD_ADDRS_MAX];
        uint16_t etcd_ports[ETCD_ADDRS_MAX];
        size_t n_etcd;
        uint64_t events, resyncs, lease_losses, sync_failures, rejected, reclaimed, renewals;
        char last_rejected[256];
};

#define GROW(arr, n, cap)                                                              \
        ({                                                                             \
                int _r = 0;                                                            \
                if ((n) == (cap)) {                                                    \
                        size_t _c = (cap) ? (cap) * 2 : 16;                            \
                        void *_p = realloc((arr), _c * sizeof(*(arr)));                \
                        if (_p) {                                                      \
                                (arr) = _p;                                            \
                                (cap) = _c;                                            \
                        } else                                                         \
                                _r = -ENOMEM;                                          \
                }                                                                      \
                _r;                                                                    \
        })

static void sync_leps(nd_cluster *cl);
static void on_event(void *userdata, int r, const nd_store_event *ev);
static void fw_update(nd_cluster *cl);

/* ---- helpers ---- */

static nd_network *net_by_id(nd_cluster *cl, const char *id) {
        nd_network *n = NULL;
        if (!nd_id_valid(id) || nd_manager_network_find(cl->m, id, &n) < 0 || strcmp(n->id, id) != 0)
                return NULL;
        return n;
}

static void fmt_mac(const uint8_t *m, char *buf) {
        sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int parse_mac(const char *s, uint8_t *m) {
        unsigned v[6];
        if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                m[i] = (uint8_t) v[i];
        return 0;
}

bool nd_node_id_valid(const char *id) {
        if (!id || strlen(id) != ND_NODE_ID_LEN)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

int nd_node_id_load(const char *state_dir, bool create, char ret[static ND_NODE_ID_LEN + 1]) {
        char path[4096], tmp[4200], buf[ND_NODE_ID_LEN + 2];
        snprintf(path, sizeof(path), "%s/node-id", state_dir);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t k = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (k < ND_NODE_ID_LEN)
                        return -EBADMSG;
                buf[ND_NODE_ID_LEN] = 0;
                if (!nd_node_id_valid(buf))
                        return -EBADMSG;
                memcpy(ret, buf, ND_NODE_ID_LEN + 1);
                return 0;
        }
        if (errno != ENOENT || !create)
                return -errno;
        uint8_t raw[ND_NODE_ID_LEN / 2];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw))
                return -EIO;
        for (size_t i = 0; i < sizeof(raw); i++)
                sprintf(buf + 2 * i, "%02x", raw[i]);
        buf[ND_NODE_ID_LEN] = '\n';
        /* written once, atomically: a crash leaves either no id or this one */
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, buf, ND_NODE_ID_LEN + 1) != ND_NODE_ID_LEN + 1 || fsync(fd) < 0) {
                int e = errno ? -errno : -EIO;
                close(fd);
                unlink(tmp);
                return e;
        }
        close(fd);
        if (rename(tmp, path) < 0)
                return -errno;
        buf[ND_NODE_ID_LEN] = 0;
        memcpy(ret, buf, ND_NODE_ID_LEN + 1);
        return 1;
}

/* The block length of a subnet: option ipam.block, else block.h's default. */
static unsigned block_len(const nd_network *n, const nd_prefix *subnet) {
        const char *o = json_string_value(json_object_get(n->spec.options, "ipam.block"));
        return nd_block_len(subnet, o ? (unsigned) strtoul(o, NULL, 10) : 0);
}

static void block_name(const char *netid, const nd_prefix *p, char *buf, size_t size) {
        char a[ND_ADDR_STRLEN];
        snprintf(buf, size, "%s/%s-%u", netid, nd_addr_fmt(&p->addr, a), p->len);
}

static void block_key(const char *netid, const nd_prefix *p, char *buf, size_t size) {
        char name[ND_ID_LEN + 1 + ND_PREFIX_STRLEN];
        block_name(netid, p, name, sizeof(name));
        snprintf(buf, size, K_BLOCKS "%s", name);
}

static struct gblock *block_find(nd_cluster *cl, const char *netid, const nd_prefix *p) {
        char name[ND_ID_LEN + 1 + ND_PREFIX_STRLEN];
        block_name(netid, p, name, sizeof(name));
        return nd_hmap_get(cl->block_index, name);
}

/* The block of @n holding @a: one lookup per subnet (the block length is
 * fixed per subnet), whatever the number of blocks. */
static struct gblock *block_of(nd_cluster *cl, const nd_network *n, const nd_addr *a) {
        for (size_t i = 0; i < n->spec.n_ipam; i++) {
                const nd_prefix *subnet = &n->spec.ipam[i].subnet;
                if (!nd_prefix_contains(subnet, a))
                        continue;
                nd_prefix p = { .addr = *a, .len = block_len(n, subnet) };
                nd_prefix_canon(&p);
                return block_find(cl, n->id, &p);
        }
        return NULL;
}

static struct gnode *node_get(nd_cluster *cl, const char *id, bool create) {
        struct gnode *g = nd_hmap_get(cl->nodes, id);
        if (g || !create || !nd_node_id_valid(id))
                return g;
        g = calloc(1, sizeof(*g));
        if (!g)
                return NULL;
        snprintf(g->id, sizeof(g->id), "%s", id);
        if (nd_hmap_put(cl->nodes, g->id, g) < 0) {
                free(g);
                return NULL;
        }
        return g;
}

/* Forget a node nothing refers to any more. */
static void node_gc(nd_cluster *cl, struct gnode *g) {
        if (!g || g->registered || g->live || g->n_blocks || g->n_reps || g->reclaiming ||
            strcmp(g->id, cl->id) == 0)
                return;
        nd_hmap_remove(cl->nodes, g->id);
        free(g);
}

static const char *node_label(nd_cluster *cl, const char *id) {
        struct gnode *g = nd_hmap_get(cl->nodes, id);
        return g && g->name[0] ? g->name : id;
}

static struct gblock *block_add(nd_cluster *cl, const char *netid, const nd_prefix *p) {
        struct gblock *b;
        if (GROW(cl->blocks, cl->n_blocks, cl->cap_blocks) < 0 || !(b = calloc(1, sizeof(*b))))
                return NULL;
        b->p = *p;
        snprintf(b->netid, sizeof(b->netid), "%s", netid);
        block_name(netid, p, b->key, sizeof(b->key));
        if (nd_hmap_put(cl->block_index, b->key, b) < 0) {
                free(b);
                return NULL;
        }
        b->idx = cl->n_blocks;
        cl->blocks[cl->n_blocks++] = b;
        return b;
}

static void block_set_owner(nd_cluster *cl, struct gblock *b, const char *node) {
        if (strcmp(b->node, node) == 0)
                return;
        struct gnode *old = b->node[0] ? nd_hmap_get(cl->nodes, b->node) : NULL;
        if (old && old->n_blocks > 0)
                old->n_blocks--;
        snprintf(b->node, sizeof(b->node), "%s", node);
        struct gnode *g = node_get(cl, node, true);
        if (g)
                g->n_blocks++;
        node_gc(cl, old);
}

static void block_drop(nd_cluster *cl, struct gblock *b) {
        size_t i = b->idx;
        struct gnode *g = b->node[0] ? nd_hmap_get(cl->nodes, b->node) : NULL;
        if (g && g->n_blocks > 0)
                g->n_blocks--;
        nd_hmap_remove(cl->block_index, b->key);
        cl->blocks[i] = cl->blocks[--cl->n_blocks];
        cl->blocks[i]->idx = i;
        free(b);
        node_gc(cl, g);
}

/* ---- remote endpoints ---- */

static void rep_dns(nd_cluster *cl, const struct rep *e, const json_t *j, const nd_network *n) {
        nd_dns_names *t = cl->m->dns ? nd_dns_table(cl->m->dns) : NULL;
        char short_id[13];
        const char *name = json_string_value(json_object_get(j, "Name"));
        const char *host = json_string_value(json_object_get(j, "Hostname"));
        json_t *aliases = json_object_get(j, "Aliases"), *v;
        size_t i;

        if (!t)
                return;
        nd_dns_names_drop(t, e->key);
        if (!name || !*name)
                return; /* no name (a Docker endpoint): reachable, not resolvable */
        snprintf(short_id, sizeof(short_id), "%.12s", e->ctid);
        const char *names[3 + ND_MAX_ALIASES] = { name, host, short_id };
        size_t k = 3;
        json_array_foreach(aliases, i, v)
                if (k < ELEMENTSOF(names) && json_is_string(v))
                        names[k++] = json_string_value(v);
        (void) nd_dns_names_add_endpoint(t, n->spec.name, names, k, &e->peer.ip4, &e->peer.ip6, e->key);
}

static void rep_remove(nd_cluster *cl, struct rep *e) {
        if (cl->m->dns)
                nd_dns_names_drop(nd_dns_table(cl->m->dns), e->key);
        nd_overlay_peer_del(cl->ov, e->netid, &e->peer);
        nd_log(LOG_DEBUG, "remote endpoint gone", "net=%.12s ct=%.12s node=%s", e->netid, e->ctid, e->node);
        nd_hmap_remove(cl->reps, e->key);
        struct gnode *g = nd_hmap_get(cl->nodes, e->node);
        if (g && g->n_reps > 0)
                g->n_reps--;
        free(e);
        node_gc(cl, g);
}

static void rep_remove_key(nd_cluster *cl, const char *key) {
        struct rep *e = nd_hmap_get(cl->reps, key);
        if (e)
                rep_remove(cl, e);
}

/* Why a peer's endpoint record is not to be trusted, or NULL.  A record
 * counts only when its node is live, it sits on that node's lease (so it
 * goes when the node does), it sends frames to the node's own address, and
 * its addresses lie in blocks the node holds (so no host can claim another
 * host's addresses or names). */
static const char *rep_distrust(nd_cluster *cl, const nd_network *n, const char *node, int64_t lease,
                                const nd_overlay_peer *p) {
        struct gnode *g = nd_hmap_get(cl->nodes, node);
        struct gblock *b;
        if (!g || !g->live)
                return "its node is not live";
        if (!lease || lease != g->lease)
                return "it is not on its node's lease";
        if (!nd_addr_equal(&p->vtep, &g->vtep))
                return "its tunnel address is not its node's address";
        if (!p->ip4.family && !p->ip6.family)
                return "it has no address";
        if (p->ip4.family && (!(b = block_of(cl, n, &p->ip4)) || strcmp(b->node, node) != 0))
                return "its IPv4 address is not in an address block of its node";
        if (p->ip6.family && (!(b = block_of(cl, n, &p->ip6)) || strcmp(b->node, node) != 0))
                return "its IPv6 address is not in an address block of its node";
        return NULL;
}

static void rep_reject(nd_cluster *cl, const char *key, const char *why) {
        cl->rejected++;
        snprintf(cl->last_rejected, sizeof(cl->last_rejected), "%s: %s", key, why);
        nd_log(LOG_WARNING, "ignoring an untrusted endpoint record", "key=%s reason=\"%s\"", key, why);
        rep_remove_key(cl, key);
}

/* endpoints/NODE/NET/OWNER */
static void rep_put(nd_cluster *cl, const nd_store_kv *kv) {
        const char *key = kv->key, *rest = key + strlen(K_EPS);
        char node[ND_NODE_ID_LEN + 1], netid[ND_ID_LEN + 1];
        json_error_t err;
        struct rep e = {0};

        if (strlen(rest) != ND_NODE_ID_LEN + 1 + 2 * ND_ID_LEN + 1 || rest[ND_NODE_ID_LEN] != '/' ||
            rest[ND_NODE_ID_LEN + 1 + ND_ID_LEN] != '/')
                return rep_reject(cl, key, "malformed key");
        memcpy(node, rest, ND_NODE_ID_LEN);
        node[ND_NODE_ID_LEN] = 0;
        if (strcmp(node, cl->id) == 0)
                return; /* ours */
        memcpy(netid, rest + ND_NODE_ID_LEN + 1, ND_ID_LEN);
        netid[ND_ID_LEN] = 0;
        nd_network *n = net_by_id(cl, netid);
        if (!n || !nd_network_is_global(n))
                return rep_reject(cl, key, "no such overlay network");
        _cleanup_json_ json_t *j = json_loads(kv->value, 0, &err);
        const char *ip4 = json_string_value(json_object_get(j, "IPv4"));
        const char *ip6 = json_string_value(json_object_get(j, "IPv6"));
        if (!j || parse_mac(json_string_value(json_object_get(j, "Mac")), e.peer.mac) < 0 ||
            nd_addr_parse(json_string_value(json_object_get(j, "Vtep")), &e.peer.vtep) < 0 ||
            e.peer.vtep.family != AF_INET || (ip4 && (nd_addr_parse(ip4, &e.peer.ip4) < 0 || e.peer.ip4.family != AF_INET)) ||
            (ip6 && (nd_addr_parse(ip6, &e.peer.ip6) < 0 || e.peer.ip6.family != AF_INET6)))
                return rep_reject(cl, key, "unreadable record");
        const char *why = rep_distrust(cl, n, node, kv->lease, &e.peer);
        if (why)
                return rep_reject(cl, key, why);
        snprintf(e.key, sizeof(e.key), "%s", key);
        snprintf(e.netid, sizeof(e.netid), "%s", netid);
        snprintf(e.ctid, sizeof(e.ctid), "%s", rest + ND_NODE_ID_LEN + 1 + ND_ID_LEN + 1);
        snprintf(e.node, sizeof(e.node), "%s", node);
        e.seen = true;

        struct rep *have = nd_hmap_get(cl->reps, key);
        if (have) {
                if (memcmp(&have->peer, &e.peer, sizeof(e.peer)) != 0)
                        nd_overlay_peer_del(cl->ov, netid, &have->peer);
                *have = e;
        } else {
                have = malloc(sizeof(*have));
                if (!have)
                        return;
                *have = e;
                if (nd_hmap_put(cl->reps, have->key, have) < 0) {
                        free(have);
                        return;
                }
                struct gnode *g = nd_hmap_get(cl->nodes, node);
                if (g)
                        g->n_reps++;
        }
        int r = nd_overlay_peer_add(cl->ov, netid, &e.peer);
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "programming a remote endpoint failed", "net=%s ct=%.12s node=%s",
                             n->spec.name, e.ctid, node_label(cl, node));
        rep_dns(cl, have, j, n);
        nd_log(LOG_DEBUG, "remote endpoint", "net=%s ct=%.12s node=%s ip=%s", n->spec.name, e.ctid,
               node_label(cl, node), ip4 ? ip4 : ip6 ? ip6 : "");
}

/* Every remote endpoint of node @id goes (its node is no longer live). */
static void reps_drop_node(nd_cluster *cl, const char *id) {
        nd_hmap_iter it = {0};
        struct rep *e;
        while ((e = nd_hmap_next(cl->reps, &it)))
                if (strcmp(e->node, id) == 0)
                        rep_remove(cl, e);
}

/* ---- networks ---- */

int nd_cluster_net_up(nd_cluster *cl, const nd_network *n) {
        char br[16];
        nd_bridge_name(n, br, sizeof(br));
        int r = nd_overlay_net_up(cl->ov, n->id, br, nd_network_vni(n), nd_network_gre(n), n->spec.mtu);
        if (r == -EOPNOTSUPP && !nd_network_gre(n))
                nd_log(LOG_ERR, "this kernel has no VXLAN support: the overlay network cannot carry traffic on this "
                       "host; use GRE networks (-o encap=gre, userspace) or load the vxlan module", "net=%s",
                       n->spec.name);
        else if (r == -ENOENT && nd_network_gre(n))
                nd_log(LOG_ERR, "no /dev/net/tun: GRE networks need TUN/TAP support", "net=%s", n->spec.name);
        else if (r < 0)
                nd_log_errno(LOG_ERR, r, "setting up the overlay tunnel failed", "net=%s encap=%s", n->spec.name,
                             nd_network_gre(n) ? "gre" : "vxlan");
        return r;
}

static void net_put(nd_cluster *cl, const char *key, const char *value) {
        json_error_t err;
        nd_diag d = {0};
        nd_network *n = NULL;
        _cleanup_json_ json_t *j = json_loads(value, 0, &err);
        const char *id = key + strlen(K_NETS);

        if (net_by_id(cl, id))
                return;
        if (!j || nd_network_from_json(j, &n, &d) < 0 || strcmp(n->id, id) != 0 || !nd_network_is_global(n)) {
                nd_log(LOG_ERR, "skipping unreadable overlay network record", "key=%s reason=\"%s\"", key,
                       j ? d.msg : err.text);
                nd_network_free(n);
                return;
        }
        char name[ND_NAME_MAX + 1];
        snprintf(name, sizeof(name), "%s", n->spec.name);
        int r = nd_manager_net_adopt(cl->m, n);
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "adding an overlay network failed", "net=%s", name);
                return;
        }
        nd_cluster_net_up(cl, n);
        nd_log(LOG_INFO, "overlay network joined", "net=%s id=%.12s vni=%u encap=%s", n->spec.name, n->id,
               nd_network_vni(n), nd_network_gre(n) ? "gre" : "vxlan");
}

static void net_forget(nd_cluster *cl, nd_network *n) {
        nd_hmap_iter it = {0};
        struct rep *e;
        while ((e = nd_hmap_next(cl->reps, &it)))
                if (strcmp(e->netid, n->id) == 0)
                        rep_remove(cl, e);
        for (size_t i = cl->n_blocks; i-- > 0;)
                if (strcmp(cl->blocks[i]->netid, n->id) == 0)
                        block_drop(cl, cl->blocks[i]);
        nd_overlay_net_down(cl->ov, n->id);
        nd_log(LOG_INFO, "overlay network removed", "net=%s id=%.12s", n->spec.name, n->id);
        nd_manager_net_forget(cl->m, n);
}

/* ---- blocks ---- */

static void block_put(nd_cluster *cl, const char *key, const char *value, int64_t rev) {
        const char *rest = key + strlen(K_BLOCKS);
        char netid[ND_ID_LEN + 1], pfx[ND_PREFIX_STRLEN];
        json_error_t err;
        _cleanup_json_ json_t *j = json_loads(value, 0, &err);
        nd_prefix p;

        if (strlen(rest) < ND_ID_LEN + 2 || rest[ND_ID_LEN] != '/' || !j)
                return;
        memcpy(netid, rest, ND_ID_LEN);
        netid[ND_ID_LEN] = 0;
        snprintf(pfx, sizeof(pfx), "%s", rest + ND_ID_LEN + 1);
        char *dash = strrchr(pfx, '-');
        if (!dash)
                return;
        *dash = '/';
        if (nd_prefix_parse(pfx, ND_PREFIX_STRICT, &p, NULL) < 0)
                return;
        const char *node = json_string_value(json_object_get(j, "Node"));
        struct gblock *b = block_find(cl, netid, &p);
        if (!b && !(b = block_add(cl, netid, &p)))
                return;
        if (!nd_node_id_valid(node)) {
                /* (a record of an older netd, or damaged): the block is
                 * taken, by nobody we trust */
                nd_log(LOG_WARNING, "a block record without a valid node id: the block stays unused", "key=%s", key);
                block_set_owner(cl, b, "?");
                b->rev = rev;
                b->seen = true;
                return;
        }
        if (b->node[0] && strcmp(b->node, node) != 0) {
                /* the block changed hands: endpoints of the old holder in it
                 * are no longer believable */
                nd_hmap_iter it = {0};
                struct rep *e;
                while ((e = nd_hmap_next(cl->reps, &it)))
                        if (strcmp(e->node, b->node) == 0 && strcmp(e->netid, netid) == 0 &&
                            ((e->peer.ip4.family && nd_prefix_contains(&p, &e->peer.ip4)) ||
                             (e->peer.ip6.family && nd_prefix_contains(&p, &e->peer.ip6))))
                                rep_remove(cl, e);
        }
        block_set_owner(cl, b, node);
        b->rev = rev;
        b->seen = true;
}

/* ---- nodes ---- */

static void node_put(nd_cluster *cl, const nd_store_kv *kv) {
        const char *id = kv->key + strlen(K_NODES);
        json_error_t err;
        _cleanup_json_ json_t *j = json_loads(kv->value, 0, &err);
        struct gnode *g = node_get(cl, id, true);
        if (!g)
                return;
        bool known = g->registered;
        g->registered = true;
        g->reg_rev = kv->mod_rev;
        g->seen = true;
        snprintf(g->name, sizeof(g->name), "%s", json_string_value(json_object_get(j, "Name")) ?: "");
        snprintf(g->addr, sizeof(g->addr), "%s", json_string_value(json_object_get(j, "Addr")) ?: "");
        if (!known && cl->started && strcmp(id, cl->id) != 0)
                nd_log(LOG_INFO, "node registered", "node=%s id=%.12s addr=%s", g->name, g->id, g->addr);
}

static void node_del(nd_cluster *cl, const char *id) {
        struct gnode *g = nd_hmap_get(cl->nodes, id);
        if (!g)
                return;
        g->registered = false;
        g->reg_rev = 0;
        nd_log(LOG_INFO, "node removed from the cluster", "node=%s id=%.12s", g->name, g->id);
        node_gc(cl, g);
}

static void live_put(nd_cluster *cl, const nd_store_kv *kv) {
        const char *id = kv->key + strlen(K_LIVE);
        json_error_t err;
        _cleanup_json_ json_t *j = json_loads(kv->value, 0, &err);
        struct gnode *g = node_get(cl, id, true);
        nd_addr a = {0};
        if (!g)
                return;
        if (nd_addr_parse(json_string_value(json_object_get(j, "Addr")), &a) < 0 || a.family != AF_INET) {
                nd_log(LOG_WARNING, "ignoring a node record without an IPv4 address", "key=%s", kv->key);
                return;
        }
        bool was = g->live;
        g->live = true;
        g->lease = kv->lease;
        g->live_rev = kv->mod_rev;
        g->vtep = a;
        g->down_since = 0;
        g->seen = true;
        if (!g->name[0])
                snprintf(g->name, sizeof(g->name), "%s", json_string_value(json_object_get(j, "Name")) ?: "");
        nd_addr_fmt(&a, g->addr);
        if (!was && cl->started && strcmp(id, cl->id) != 0)
                nd_log(LOG_INFO, "node joined", "node=%s id=%.12s addr=%s", g->name, g->id, g->addr);
        fw_update(cl);
}

static void live_del(nd_cluster *cl, const char *id) {
        struct gnode *g = nd_hmap_get(cl->nodes, id);
        if (!g || !g->live)
                return;
        g->live = false;
        g->lease = 0;
        g->down_since = ev_now(cl->m->loop);
        if (strcmp(id, cl->id) != 0) {
                nd_log(LOG_INFO, "node left", "node=%s id=%.12s", g->name, g->id);
                reps_drop_node(cl, id);
        }
        fw_update(cl);
        node_gc(cl, g);
}

/* ---- events ---- */

#define IS(k, prefix) (strncmp((k), (prefix), strlen(prefix)) == 0)

static void apply(nd_cluster *cl, bool del, const nd_store_kv *kv) {
        const char *k = kv->key;
        if (IS(k, K_NETS)) {
                nd_network *n = net_by_id(cl, k + strlen(K_NETS));
                if (!del)
                        net_put(cl, k, kv->value);
                else if (n)
                        net_forget(cl, n);
        } else if (IS(k, K_BLOCKS)) {
                struct gblock *b = nd_hmap_get(cl->block_index, k + strlen(K_BLOCKS));
                if (!del)
                        block_put(cl, k, kv->value, kv->mod_rev);
                else if (b && !b->claiming)
                        block_drop(cl, b);
        } else if (IS(k, K_EPS)) {
                if (!del)
                        rep_put(cl, kv);
                else
                        rep_remove_key(cl, k);
        } else if (IS(k, K_LIVE)) {
                if (!del)
                        live_put(cl, kv);
                else
                        live_del(cl, k + strlen(K_LIVE));
        } else if (IS(k, K_NODES)) {
                if (!del)
                        node_put(cl, kv);
                else
                        node_del(cl, k + strlen(K_NODES));
        }
}

static void relist(nd_cluster *cl);

/* The order a snapshot is applied in: what a record is checked against
 * comes before it (networks, then nodes and their liveness, then blocks,
 * then endpoints). */
static int rank(const char *k) {
        return IS(k, K_NETS) ? 0 : IS(k, K_NODES) || IS(k, K_LIVE) ? 1 : IS(k, K_BLOCKS) ? 2 : 3;
}

static void on_listed(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_cluster *cl = userdata;
        nd_hmap_iter it;
        struct rep *e;
        struct gnode *g;
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "reading the cluster state from etcd failed");
                if (!cl->started) {
                        cl->done(cl->m, r);
                        return;
                }
                relist(cl); /* keep trying: the watch is gone */
                return;
        }
        /* a snapshot: whatever is not in it is gone */
        it = (nd_hmap_iter) {0};
        while ((e = nd_hmap_next(cl->reps, &it)))
                e->seen = false;
        for (size_t i = 0; i < cl->n_blocks; i++)
                cl->blocks[i]->seen = false;
        it = (nd_hmap_iter) {0};
        while ((g = nd_hmap_next(cl->nodes, &it)))
                g->seen = false;
        for (int k = 0; k < 4; k++)
                for (size_t i = 0; i < n; i++)
                        if (rank(kvs[i].key) == k)
                                apply(cl, false, &kvs[i]);
        if (!cl->started) {
                /* our own endpoint records from before a restart: those not
                 * published again soon are withdrawn (nd_cluster_ready) */
                char own[128];
                snprintf(own, sizeof(own), K_EPS "%s/", cl->id);
                for (size_t i = 0; i < n; i++) {
                        char **p;
                        if (!IS(kvs[i].key, own) || !(p = realloc(cl->stale, (cl->n_stale + 1) * sizeof(*p))))
                                continue;
                        cl->stale = p;
                        if ((p[cl->n_stale] = strdup(kvs[i].key)))
                                cl->n_stale++;
                }
        }
        if (cl->started) {
                it = (nd_hmap_iter) {0};
                while ((e = nd_hmap_next(cl->reps, &it)))
                        if (!e->seen)
                                rep_remove(cl, e);
                for (size_t i = cl->n_blocks; i-- > 0;)
                        if (!cl->blocks[i]->seen && !cl->blocks[i]->claiming)
                                block_drop(cl, cl->blocks[i]);
                it = (nd_hmap_iter) {0};
                while ((g = nd_hmap_next(cl->nodes, &it)))
                        if (!g->seen && strcmp(g->id, cl->id) != 0) {
                                g->registered = false;
                                if (g->live)
                                        live_del(cl, g->id);
                                else
                                        node_gc(cl, g);
                        }
                nd_network **nets;
                size_t nn = nd_manager_networks(cl->m, &nets);
                for (size_t i = nn; i-- > 0;) {
                        bool found = false;
                        if (!nd_network_is_global(nets[i]))
                                continue;
                        for (size_t k = 0; k < n && !found; k++)
                                found = IS(kvs[k].key, K_NETS) && strcmp(kvs[k].key + strlen(K_NETS), nets[i]->id) == 0;
                        if (!found)
                                net_forget(cl, nets[i]);
                }
        }
        /* nodes that are down: their grace period starts now at the latest */
        it = (nd_hmap_iter) {0};
        while ((g = nd_hmap_next(cl->nodes, &it)))
                if (!g->live && !g->down_since)
                        g->down_since = ev_now(cl->m->loop);
        cl->rev = rev;
        nd_store_watch_cancel(cl->watch);
        cl->watch = NULL;
        r = nd_store_watch_start(cl->st, G, rev, on_event, cl, &cl->watch);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "watching etcd failed");
        fw_update(cl);
        if (!cl->started) {
                size_t nets = 0;
                nd_network **v;
                size_t nn = nd_manager_networks(cl->m, &v);
                for (size_t i = 0; i < nn; i++)
                        nets += nd_network_is_global(v[i]);
                nd_log(LOG_INFO, "cluster state loaded", "nodes=%zu overlay_networks=%zu remote_endpoints=%zu revision=%" PRId64,
                       nd_hmap_size(cl->nodes), nets, nd_hmap_size(cl->reps), rev);
                cl->started = true;
                fw_update(cl);
                ev_timer_again(cl->m->loop, &cl->reclaim_timer);
                cl->done(cl->m, 0);
        }
}

static void relist(nd_cluster *cl) {
        cl->resyncs++;
        int r = nd_store_list(cl->st, G, on_listed, cl);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "re-reading the cluster state failed");
}

static void on_event(void *userdata, int r, const nd_store_event *ev) {
        nd_cluster *cl = userdata;
        if (r < 0) {
                /* compacted past our revision: read everything again */
                nd_log_errno(LOG_WARNING, r, "etcd watch lost its history; re-reading the cluster state");
                relist(cl);
                return;
        }
        cl->events++;
        cl->rev = ev->kv.mod_rev;
        apply(cl, ev->type == ND_STORE_EVENT_DELETE, &ev->kv);
}

/* ---- the firewall's view of the cluster ---- */

/* What containers must not reach (the store, any host's tunnel port) and
 * who may send to this host's tunnel port (live peers). */
static void fw_update(nd_cluster *cl) {
        nd_fw *fw = cl->m->fw;
        if (!fw || !cl->started)
                return;
        if (!cl->fw && !(cl->fw = nd_fw_owner_new(fw, "cluster")))
                return;
        size_t cap = 1 + 2 * cl->n_etcd + nd_hmap_size(cl->nodes), n = 0;
        _cleanup_free_ nd_nft_elem *el = calloc(cap, sizeof(*el));
        if (!el)
                return;
        nd_nft_elem_service(&el[n++], ND_SET_TUNNEL, NULL, 0, IPPROTO_UDP, cl->vxlan_port);
        for (size_t i = 0; i < cl->n_etcd; i++) {
                nd_nft_elem_service(&el[n++], ND_SET_CTRL4, cl->etcd_addrs[i].b, 4, IPPROTO_TCP, cl->etcd_ports[i]);
                bool dup = false;
                for (size_t k = 0; k < i; k++)
                        dup |= cl->etcd_ports[k] == cl->etcd_ports[i];
                if (!dup)
                        nd_nft_elem_service(&el[n++], ND_SET_CTRLPORT, NULL, 0, IPPROTO_TCP, cl->etcd_ports[i]);
        }
        nd_hmap_iter it = {0};
        struct gnode *g;
        while ((g = nd_hmap_next(cl->nodes, &it)) && n < cap)
                if (g->live && strcmp(g->id, cl->id) != 0) {
                        bool dup = false; /* two ids at one address (a restart in progress) */
                        nd_nft_elem e;
                        nd_nft_elem_addr(&e, ND_SET_PEERS4, g->vtep.b, 4, false);
                        for (size_t k = 0; k < n && !dup; k++)
                                dup = nd_nft_elem_equal(&el[k], &e);
                        if (!dup)
                                el[n++] = e;
                }
        int r = nd_fw_owner_set(fw, cl->fw, el, n);
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "updating the cluster's firewall sets failed");
}

/* The addresses of the etcd endpoints in @url (etcd[s]://H:P,...), for
 * the firewall.  Host names are resolved once, at start-up, before the
 * loop runs. */
static void etcd_addrs(nd_cluster *cl, const char *url) {
        const char *p = strstr(url, "://");
        _cleanup_free_ char *copy = strdup(p ? p + 3 : url);
        if (!copy)
                return;
        char *q = strchr(copy, '?');
        if (q)
                *q = 0;
        for (char *save = NULL, *hp = strtok_r(copy, ",", &save); hp && cl->n_etcd < ETCD_ADDRS_MAX;
             hp = strtok_r(NULL, ",", &save)) {
                char *colon = strrchr(hp, ':');
                unsigned long port = colon ? strtoul(colon + 1, NULL, 10) : 2379;
                if (colon)
                        *colon = 0;
                struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
                if (getaddrinfo(hp, NULL, &hints, &res) != 0 || !res)
                        continue;
                for (struct addrinfo *a = res; a && cl->n_etcd < ETCD_ADDRS_MAX; a = a->ai_next) {
                        nd_addr *x = &cl->etcd_addrs[cl->n_etcd];
                        x->family = AF_INET;
                        memcpy(x->b, &((struct sockaddr_in *) a->ai_addr)->sin_addr, 4);
                        cl->etcd_ports[cl->n_etcd++] = (uint16_t) port;
                }
                freeaddrinfo(res);
        }
}

/* ---- this node: identity, registration, lease ---- */

static void renew(nd_cluster *cl);

static void start_failed(nd_cluster *cl, int r) {
        if (!cl->started)
                cl->done(cl->m, r);
}

static char *node_value(nd_cluster *cl, bool live) {
        char a[ND_ADDR_STRLEN];
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I}", "Id", cl->id, "Name", cl->node, "Addr",
                              nd_addr_fmt(&cl->addr, a), "Version", ND_VERSION, live ? "Started" : "Registered",
                              (json_int_t) (now_us() / 1000000));
        char *v = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        return v;
}

static void on_registered(void *userdata, int r, int64_t rev) {
        nd_cluster *cl = userdata;
        cl->renewing = false;
        if (r == -ECANCELED) {
                /* live/ID appeared between our read and our write: read again */
                renew(cl);
                return;
        }
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, r == -EACCES ? "registering the node in etcd was refused: permission denied "
                                                       "(check this host's etcd user and role)"
                                                     : "registering the node in etcd failed",
                             "node=%s id=%s", cl->node, cl->id);
                cl->lease = 0;
                start_failed(cl, r);
                return;
        }
        nd_log(LOG_INFO, "node registered", "node=%s id=%s lease=%" PRIx64 " ttl=%u", cl->node, cl->id,
               (uint64_t) cl->lease, cl->ttl);
        if (!ev_is_active(&cl->keepalive))
                ev_timer_again(cl->m->loop, &cl->keepalive);
        if (!cl->started) {
                r = nd_store_list(cl->st, G, on_listed, cl);
                if (r < 0)
                        start_failed(cl, r);
        } else {
                for (size_t i = 0; i < cl->n_leps; i++)
                        cl->leps[i].synced = false;
                sync_leps(cl);
        }
}

/* Register on @cl->lease: create live/ID (only if absent, or exactly the
 * revision we read: ours from before a restart) and write nodes/ID. */
static void register_node(nd_cluster *cl, int64_t live_rev) {
        char k_live[128], k_node[128];
        _cleanup_free_ char *lv = node_value(cl, true), *nv = node_value(cl, false);
        snprintf(k_live, sizeof(k_live), K_LIVE "%s", cl->id);
        snprintf(k_node, sizeof(k_node), K_NODES "%s", cl->id);
        nd_store_cmp cmp = { .key = k_live, .mod_rev = live_rev };
        nd_store_op ops[] = {
                { .type = ND_STORE_PUT, .key = k_live, .value = lv, .lease = cl->lease },
                { .type = ND_STORE_PUT, .key = k_node, .value = nv },
        };
        int r = lv && nv ? nd_store_txn(cl->st, &cmp, 1, ops, ELEMENTSOF(ops), on_registered, cl) : -ENOMEM;
        if (r < 0) {
                cl->renewing = false;
                start_failed(cl, r);
        }
}

static void on_granted(void *userdata, int r, int64_t lease) {
        nd_cluster *cl = userdata;
        if (r < 0) {
                cl->renewing = false;
                nd_log_errno(LOG_ERR, r, "etcd: granting the node lease failed", "store=%s", nd_store_etcd_endpoint(cl->st));
                start_failed(cl, r);
                return;
        }
        cl->lease = lease;
        register_node(cl, 0);
}

struct reuse {
        nd_cluster *cl;
        int64_t lease, live_rev;
};

/* Our own registration from before a restart is still live: keep its
 * lease, so the endpoint records on it stay and peers see no change. */
static void on_reused(void *userdata, int r, int64_t lease) {
        struct reuse *u = userdata;
        nd_cluster *cl = u->cl;
        if (r == 0) {
                cl->lease = u->lease;
                nd_log(LOG_INFO, "kept the node lease of the previous run", "lease=%" PRIx64, (uint64_t) u->lease);
                register_node(cl, u->live_rev);
        } else if (nd_store_lease_grant(cl->st, cl->ttl, on_granted, cl) < 0) {
                cl->renewing = false;
                start_failed(cl, -ENOMEM);
        }
        free(u);
}

static void on_live_read(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_cluster *cl = userdata;
        if (r < 0) {
                cl->renewing = false;
                nd_log_errno(LOG_ERR, r, r == -EACCES ? "etcd refused to read this node's record: permission denied "
                                                       "(check this host's etcd user and role)"
                                                     : "etcd: reading this node's record failed",
                             "store=%s", nd_store_etcd_endpoint(cl->st));
                start_failed(cl, r);
                return;
        }
        if (n == 0) {
                r = nd_store_lease_grant(cl->st, cl->ttl, on_granted, cl);
                if (r < 0) {
                        cl->renewing = false;
                        start_failed(cl, r);
                }
                return;
        }
        json_error_t err;
        _cleanup_json_ json_t *j = json_loads(kvs[0].value, 0, &err);
        const char *addr = json_string_value(json_object_get(j, "Addr"));
        const char *name = json_string_value(json_object_get(j, "Name"));
        nd_addr a = {0};
        if (nd_addr_parse(addr, &a) < 0 || !nd_addr_equal(&a, &cl->addr)) {
                /* A live node holds our id at another address: two hosts
                 * share one state directory (a cloned disk or VM image).
                 * Going on would mix their addresses. */
                cl->renewing = false;
                nd_log(LOG_ERR, "this node's id is held by a live node at another address: the state directory was "
                       "probably copied from that host (a cloned machine or image). On this host, stop netd, remove "
                       "the node-id file of the state directory and start netd again to get a new id; if this host's "
                       "address changed, wait for the old registration to expire",
                       "id=%s holder_addr=%s holder_name=%s our_addr=%s file=%s/node-id ttl=%u", cl->id,
                       addr ? addr : "?", name ? name : "?", nd_addr_fmt(&cl->addr, (char[ND_ADDR_STRLEN]) {0}),
                       cl->m->state_dir, cl->ttl);
                start_failed(cl, -EEXIST);
                return;
        }
        struct reuse *u = calloc(1, sizeof(*u));
        if (!u || nd_store_lease_keepalive(cl->st, kvs[0].lease, on_reused, u) < 0) {
                free(u);
                cl->renewing = false;
                start_failed(cl, -ENOMEM);
                return;
        }
        *u = (struct reuse) { .cl = cl, .lease = kvs[0].lease, .live_rev = kvs[0].mod_rev };
}

static void renew(nd_cluster *cl) {
        char key[128];
        if (cl->renewing)
                return;
        cl->renewing = true;
        cl->lease = 0;
        snprintf(key, sizeof(key), K_LIVE "%s", cl->id);
        if (nd_store_get(cl->st, key, on_live_read, cl) < 0)
                cl->renewing = false;
}

static void on_kept(void *userdata, int r, int64_t lease) {
        nd_cluster *cl = userdata;
        if (r == -ENOENT && lease == 0 && cl->lease) {
                cl->lease_losses++;
                nd_log(LOG_WARNING, "the node lease expired; registering again and re-publishing endpoints",
                       "node=%s id=%s", cl->node, cl->id);
                renew(cl);
        } else if (r < 0)
                nd_log_errno(LOG_DEBUG, r, "lease keep-alive failed; retrying");
        else
                cl->renewals++;
}

static void on_keepalive(struct ev_loop *loop, ev_timer *t, int revents) {
        nd_cluster *cl = t->data;
        if (!cl->lease) {
                renew(cl);
                return;
        }
        (void) nd_store_lease_keepalive(cl->st, cl->lease, on_kept, cl);
}

/* ---- reclaiming what dead nodes left ---- */

struct reclaim {
        nd_cluster *cl;
        char id[ND_NODE_ID_LEN + 1];
        void (*cb)(void *u, int r, const nd_diag *d);
        void *userdata;
        size_t blocks;
        char (*keys)[300];      /* the blocks of the batch in flight */
        size_t nb;
        bool final;             /* the batch in flight removes the node record */
};

static int reclaim_send(struct reclaim *rc);

static void reclaim_done(struct reclaim *rc, int r, const nd_diag *d) {
        struct gnode *g = nd_hmap_get(rc->cl->nodes, rc->id);
        if (g)
                g->reclaiming = false;
        if (rc->cb)
                rc->cb(rc->userdata, r, d);
        node_gc(rc->cl, g);
        free(rc->keys);
        free(rc);
}

static void on_reclaimed(void *userdata, int r, int64_t rev) {
        struct reclaim *rc = userdata;
        nd_cluster *cl = rc->cl;
        nd_diag d = {0};
        if (r == -ECANCELED) {
                /* the node came back, or another host was quicker */
                nd_diag_set(&d, -EBUSY, "node %s changed while it was being removed (it came back, or another host "
                            "removed it first)", rc->id);
                return reclaim_done(rc, -EBUSY, &d);
        }
        if (r < 0) {
                nd_diag_set(&d, r, "removing node %s from etcd failed: %s", rc->id, strerror(-r));
                nd_log_errno(LOG_WARNING, r, "reclaiming a dead node's records failed", "id=%s", rc->id);
                return reclaim_done(rc, r, &d);
        }
        /* gone from etcd: drop our copies now, not when the watch says so,
         * so the next batch does not send them again */
        for (size_t i = 0; i < rc->nb; i++) {
                struct gblock *b = nd_hmap_get(cl->block_index, rc->keys[i] + strlen(K_BLOCKS));
                if (b && strcmp(b->node, rc->id) == 0)
                        block_drop(cl, b);
        }
        if (!rc->final) {
                if ((r = reclaim_send(rc)) == 1)
                        return;
                if (r < 0)
                        return reclaim_done(rc, r, NULL);
        }
        cl->reclaimed++;
        nd_log(LOG_INFO, "reclaimed the records and address blocks of a dead node", "id=%s blocks=%zu", rc->id,
               rc->blocks);
        reclaim_done(rc, 0, NULL);
}

/* One transaction: up to RECLAIM_BATCH of the node's blocks, each only as
 * we saw it, and, with the last of them, its node record and endpoint
 * prefix; all only while the node is not live.  Returns 1 when sent, 0
 * when there is nothing left. */
static int reclaim_send(struct reclaim *rc) {
        nd_cluster *cl = rc->cl;
        char k_live[128], k_node[128];
        char (*keys)[300] = rc->keys ? rc->keys : (rc->keys = calloc(RECLAIM_BATCH, sizeof(*keys)));
        nd_store_cmp cmps[RECLAIM_BATCH + 2];
        nd_store_op ops[RECLAIM_BATCH + 2];
        size_t nc = 0, no = 0, nb = 0, total = 0;
        struct gnode *g = nd_hmap_get(cl->nodes, rc->id);

        if (!keys)
                return -ENOMEM;
        snprintf(k_live, sizeof(k_live), K_LIVE "%s", rc->id);
        snprintf(k_node, sizeof(k_node), K_NODES "%s", rc->id);
        cmps[nc++] = (nd_store_cmp) { .key = k_live, .mod_rev = 0 };
        for (size_t i = 0; i < cl->n_blocks; i++) {
                struct gblock *b = cl->blocks[i];
                if (strcmp(b->node, rc->id) != 0 || b->rev <= 0)
                        continue;
                total++;
                if (nb == RECLAIM_BATCH)
                        continue;
                block_key(b->netid, &b->p, keys[nb], sizeof(keys[nb]));
                cmps[nc++] = (nd_store_cmp) { .key = keys[nb], .mod_rev = b->rev };
                ops[no++] = (nd_store_op) { .type = ND_STORE_DELETE, .key = keys[nb] };
                nb++;
        }
        rc->nb = nb;
        rc->final = total == nb;
        if (rc->final) {
                if (g && g->registered)
                        cmps[nc++] = (nd_store_cmp) { .key = k_node, .mod_rev = g->reg_rev };
                /* (its endpoint records are on its lease and went with it; a
                 * host's etcd role need not allow deleting another's) */
                ops[no++] = (nd_store_op) { .type = ND_STORE_DELETE, .key = k_node };
        }
        int r = 0;
        if (nb > 0 || (g && g->registered)) {
                r = nd_store_txn(cl->st, cmps, nc, ops, no, on_reclaimed, rc);
                if (r == 0) {
                        rc->blocks += nb;
                        r = 1;
                }
        }
        return r;
}

static int reclaim(nd_cluster *cl, struct gnode *g, void (*cb)(void *u, int r, const nd_diag *d), void *userdata) {
        struct reclaim *rc = calloc(1, sizeof(*rc));
        if (!rc)
                return -ENOMEM;
        *rc = (struct reclaim) { .cl = cl, .cb = cb, .userdata = userdata };
        snprintf(rc->id, sizeof(rc->id), "%s", g->id);
        int r = reclaim_send(rc);
        if (r <= 0) {
                free(rc->keys);
                free(rc);
                return r;
        }
        g->reclaiming = true;
        nd_log(LOG_INFO, "reclaiming the address blocks of a dead node", "node=%s id=%s down_for=%.0fs", g->name,
               g->id, ev_now(cl->m->loop) - g->down_since);
        return 1;
}

static void on_reclaim_timer(struct ev_loop *loop, ev_timer *t, int revents) {
        nd_cluster *cl = t->data;
        nd_hmap_iter it = {0};
        struct gnode *g;
        double now = ev_now(loop);
        while ((g = nd_hmap_next(cl->nodes, &it)))
                if (!g->live && !g->reclaiming && g->down_since > 0 && now - g->down_since >= cl->grace &&
                    strcmp(g->id, cl->id) != 0 && (g->registered || g->n_blocks > 0))
                        (void) reclaim(cl, g, NULL, NULL);
}

/* A node by id, unique id prefix, or unique name. */
static int node_find(nd_cluster *cl, const char *ref, struct gnode **ret) {
        nd_hmap_iter it = {0};
        struct gnode *g, *found = NULL;
        size_t n = 0;
        if ((g = nd_hmap_get(cl->nodes, ref))) {
                *ret = g;
                return 0;
        }
        while ((g = nd_hmap_next(cl->nodes, &it)))
                if ((strlen(ref) >= 4 && strncmp(g->id, ref, strlen(ref)) == 0) || strcmp(g->name, ref) == 0) {
                        found = g;
                        n++;
                }
        if (n > 1)
                return -ENOTUNIQ;
        if (!found)
                return -ENOENT;
        *ret = found;
        return 0;
}

int nd_cluster_node_remove(nd_cluster *cl, const char *ref, void (*cb)(void *u, int r, const nd_diag *d),
                           void *userdata, nd_diag *d) {
        struct gnode *g;
        if (!cl)
                return nd_diag_set(d, -EOPNOTSUPP, "this netd is not part of a cluster (no --store etcd://)");
        int r = node_find(cl, ref, &g);
        if (r == -ENOTUNIQ)
                return nd_diag_set(d, r, "node '%s' is ambiguous: give its id", ref);
        if (r < 0)
                return nd_diag_set(d, -ENOENT, "no such node: '%s'", ref);
        if (strcmp(g->id, cl->id) == 0)
                return nd_diag_set(d, -EBUSY, "node '%s' is this host: stop netd here instead", ref);
        if (g->live)
                return nd_diag_set(d, -EBUSY, "node '%s' (%s) is live at %s: stop it first, or wait %u s after it "
                                   "stopped for its lease to expire", g->name, g->id, g->addr, cl->ttl);
        if (g->reclaiming)
                return nd_diag_set(d, -EBUSY, "node '%s' is being removed already", ref);
        r = reclaim(cl, g, cb, userdata);
        if (r < 0)
                return nd_diag_set(d, r, "etcd: %s", strerror(-r));
        if (r == 0)
                return nd_diag_set(d, -ENOENT, "node '%s' has no records left", ref);
        return 0;
}

/* ---- our endpoints ---- */

static void on_lep_done(void *userdata, int r, int64_t rev);

struct lep_op {
        nd_cluster *cl;
        char key[200];
        unsigned gen;
};

static void sync_leps(nd_cluster *cl) {
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
                int r = e->value ? nd_store_put(cl->st, e->key, e->value, cl->lease, on_lep_done, op)
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
                                renew(cl); /* the lease is gone */
                        if (!ev_is_active(&cl->sync_timer))
                                ev_timer_start(cl->m->loop, &cl->sync_timer);
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
        sync_leps(cl);
}

static void on_sync_timer(struct ev_loop *loop, ev_timer *t, int revents) {
        sync_leps(t->data);
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
        if (GROW(cl->leps, cl->n_leps, cl->cap_leps) < 0) {
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
static void on_prune(struct ev_loop *loop, ev_timer *t, int revents) {
        nd_cluster *cl = t->data;
        size_t n = 0;
        for (size_t i = 0; i < cl->n_stale; i++) {
                bool wanted = false;
                for (size_t k = 0; k < cl->n_leps && !wanted; k++)
                        wanted = strcmp(cl->leps[k].key, cl->stale[i]) == 0;
                if (!wanted) {
                        /* an entry with no value: sync deletes it */
                        if (GROW(cl->leps, cl->n_leps, cl->cap_leps) == 0) {
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
        sync_leps(cl);
}

void nd_cluster_ready(nd_cluster *cl) {
        if (cl && cl->n_stale)
                ev_timer_start(cl->m->loop, &cl->prune_timer);
}
/* The record of endpoint @e: where peers send its frames, and its names. */
static char *ep_value(nd_cluster *cl, const nd_endpoint *e, const char *name, const char *hostname) {
        char a4[ND_ADDR_STRLEN], a6[ND_ADDR_STRLEN], mac[18], vtep[ND_ADDR_STRLEN];
        json_t *al = json_array();
        for (size_t k = 0; k < e->n_aliases; k++)
                json_array_append_new(al, json_string(e->aliases[k]));
        fmt_mac(e->mac, mac);
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "Node", cl->id, "Vtep", nd_addr_fmt(&cl->addr, vtep),
                              "Mac", mac, "Name", name ? name : "", "Hostname", hostname ? hostname : "", "Aliases",
                              al);
        if (j && e->addr4.family)
                json_object_set_new(j, "IPv4", json_string(nd_addr_fmt(&e->addr4, a4)));
        if (j && e->addr6.family)
                json_object_set_new(j, "IPv6", json_string(nd_addr_fmt(&e->addr6, a6)));
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
                nd_network *n = net_by_id(cl, e->net_id);
                if (!n || !nd_network_is_global(n))
                        continue;
                char *v = ep_value(cl, e, c->name, c->hostname);
                if (!v)
                        continue;
                snprintf(key, sizeof(key), K_EPS "%s/%s/%s", cl->id, n->id, c->id);
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
                        keep = want[k] && strncmp(e->key + strlen(K_EPS) + ND_NODE_ID_LEN + 1, c->eps[k].net_id, ND_ID_LEN) == 0;
                if (!keep)
                        lep_set(cl, e->key, c->id, NULL);
        }
        sync_leps(cl);
}

void nd_cluster_withdraw(nd_cluster *cl, const nd_container *c) {
        nd_cluster_withdraw_owner(cl, c->id);
}

void nd_cluster_publish_endpoint(nd_cluster *cl, const char *owner, const nd_endpoint *e, const char *name,
                                 const char *hostname) {
        char key[200];
        nd_network *n;
        if (!cl || !nd_id_valid(owner) || !(n = net_by_id(cl, e->net_id)) || !nd_network_is_global(n))
                return;
        char *v = ep_value(cl, e, name, hostname);
        if (!v)
                return;
        snprintf(key, sizeof(key), K_EPS "%s/%s/%s", cl->id, n->id, owner);
        lep_set(cl, key, owner, v);
        sync_leps(cl);
}

void nd_cluster_withdraw_owner(nd_cluster *cl, const char *owner) {
        if (!cl)
                return;
        for (size_t i = 0; i < cl->n_leps; i++)
                if (strcmp(cl->leps[i].ctid, owner) == 0 && cl->leps[i].value)
                        lep_set(cl, cl->leps[i].key, owner, NULL);
        sync_leps(cl);
}

/* ---- overlay network create and remove ---- */

struct net_create {
        nd_cluster *cl;
        nd_network *n;
        void (*cb)(void *u, int r, nd_network *n, const nd_diag *d);
        void *userdata;
        bool vni_given;
        int tries;
        char k_net[256], k_name[256], k_vni[64];
        char *value;
};

static int create_send(struct net_create *op);

static void create_free(struct net_create *op) {
        nd_network_free(op->n);
        free(op->value);
        free(op);
}

static void on_name_checked(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        struct net_create *op = userdata;
        nd_diag d = {0};
        if (r == 0 && n == 0 && !op->vni_given && op->tries < 8) {
                /* the VNI was taken: another one */
                uint32_t v = 0;
                (void) getrandom(&v, sizeof(v), 0);
                char vs[16];
                snprintf(vs, sizeof(vs), "%u", VNI_MIN + v % (0xffffff - VNI_MIN));
                json_object_set_new(op->n->spec.options, "vni", json_string(vs));
                if ((r = create_send(op)) == 0)
                        return;
        }
        if (r < 0)
                nd_diag_set(&d, r, "network '%s': etcd: %s", op->n->spec.name, strerror(-r));
        else if (n > 0)
                r = nd_diag_set(&d, -EEXIST, "network with name '%s' already exists in the cluster", op->n->spec.name);
        else
                r = nd_diag_set(&d, -EEXIST, "VNI %u is already used by another overlay network", nd_network_vni(op->n));
        op->cb(op->userdata, r, NULL, &d);
        create_free(op);
}

static void on_net_created(void *userdata, int r, int64_t rev) {
        struct net_create *op = userdata;
        nd_cluster *cl = op->cl;
        nd_diag d = {0};

        if (r == -ECANCELED) {
                op->tries++;
                if (nd_store_get(cl->st, op->k_name, on_name_checked, op) == 0)
                        return;
        }
        if (r < 0) {
                nd_diag_set(&d, r, "network '%s': writing to etcd failed: %s", op->n->spec.name, strerror(-r));
                op->cb(op->userdata, r, NULL, &d);
                create_free(op);
                return;
        }
        nd_network *n = op->n;
        /* our own watch may have brought it in already */
        nd_network *have = net_by_id(cl, n->id);
        if (!have) {
                op->n = NULL;
                r = nd_manager_net_adopt(cl->m, n);
                if (r < 0) {
                        nd_diag_set(&d, r, "network '%s': %s", n->spec.name, strerror(-r));
                        op->cb(op->userdata, r, NULL, &d);
                        create_free(op);
                        return;
                }
                nd_cluster_net_up(cl, n);
                have = n;
        }
        nd_log(LOG_INFO, "overlay network created", "net=%s id=%.12s vni=%u encap=%s mtu=%u revision=%" PRId64,
               have->spec.name, have->id, nd_network_vni(have), nd_network_gre(have) ? "gre" : "vxlan",
               have->spec.mtu, rev);
        op->cb(op->userdata, 0, have, NULL);
        create_free(op);
}

static int create_send(struct net_create *op) {
        json_t *j = nd_network_to_json(op->n);
        free(op->value);
        op->value = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!op->value)
                return -ENOMEM;
        snprintf(op->k_vni, sizeof(op->k_vni), K_VNIS "%u", nd_network_vni(op->n));
        nd_store_cmp cmps[] = { { .key = op->k_net }, { .key = op->k_name }, { .key = op->k_vni } };
        nd_store_op ops[] = {
                { .type = ND_STORE_PUT, .key = op->k_net, .value = op->value },
                { .type = ND_STORE_PUT, .key = op->k_name, .value = op->n->id },
                { .type = ND_STORE_PUT, .key = op->k_vni, .value = op->n->id },
        };
        return nd_store_txn(op->cl->st, cmps, ELEMENTSOF(cmps), ops, ELEMENTSOF(ops), on_net_created, op);
}

unsigned nd_cluster_default_mtu(nd_cluster *cl, bool gre) {
        int mtu = nd_nl_addr_mtu(cl->m->nl, &cl->addr);
        if (mtu <= 0)
                mtu = 1500;
        return (unsigned) mtu - (gre ? ND_GRE_OVERHEAD : ND_VXLAN_OVERHEAD);
}

int nd_cluster_network_create(nd_cluster *cl, nd_network *n, void (*cb)(void *u, int r, nd_network *n, const nd_diag *d),
                              void *userdata, nd_diag *d) {
        struct net_create *op;
        int r;

        if (!cl) {
                nd_network_free(n);
                return nd_diag_set(d, -EOPNOTSUPP,
                                   "overlay networks need a cluster store: start netd with --store etcd://HOST:PORT "
                                   "and --advertise-addr");
        }
        if (nd_network_gre(n) && n->spec.mtu > ND_GRE_MTU_MAX) {
                r = nd_diag_set(d, -EINVAL, "GRE networks carry frames of at most %d bytes: mtu %u is too large",
                                ND_GRE_MTU_MAX, n->spec.mtu);
                nd_network_free(n);
                return r;
        }
        op = calloc(1, sizeof(*op));
        if (!op) {
                nd_network_free(n);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        op->cl = cl;
        op->n = n;
        op->cb = cb;
        op->userdata = userdata;
        op->vni_given = json_object_get(n->spec.options, "vni") != NULL;
        if (!op->vni_given) {
                uint32_t v = 0;
                (void) getrandom(&v, sizeof(v), 0);
                char vs[16];
                snprintf(vs, sizeof(vs), "%u", VNI_MIN + v % (0xffffff - VNI_MIN));
                json_object_set_new(n->spec.options, "vni", json_string(vs));
        }
        if (!n->spec.mtu) {
                /* recorded as an option so every host uses the same */
                char mtu[16];
                n->spec.mtu = nd_cluster_default_mtu(cl, nd_network_gre(n));
                snprintf(mtu, sizeof(mtu), "%u", n->spec.mtu);
                json_object_set_new(n->spec.options, "mtu", json_string(mtu));
        }
        snprintf(op->k_net, sizeof(op->k_net), K_NETS "%s", n->id);
        snprintf(op->k_name, sizeof(op->k_name), K_NAMES "%s", n->spec.name);
        r = create_send(op);
        if (r < 0) {
                create_free(op);
                return nd_diag_set(d, r, "etcd: %s", strerror(-r));
        }
        return 0;
}

struct net_remove {
        nd_cluster *cl;
        nd_network *n;
        void (*cb)(void *u, int r, const nd_diag *d);
        void *userdata;
};

static void on_net_removed(void *userdata, int r, int64_t rev) {
        struct net_remove *op = userdata;
        nd_diag d = {0};
        if (r < 0) {
                nd_diag_set(&d, r, "network '%s': removing it from etcd failed: %s", op->n->spec.name, strerror(-r));
                op->cb(op->userdata, r, &d);
        } else {
                /* (hidden from lookups while removing: use ours) */
                op->cb(op->userdata, 0, NULL);
                net_forget(op->cl, op->n);
        }
        free(op);
}

/* The hosts other than this one that hold endpoint records or address
 * blocks on @n, by name, into @buf; their count. */
size_t nd_cluster_network_users(nd_cluster *cl, const nd_network *n, char *buf, size_t size) {
        nd_hmap_iter it = {0};
        struct gnode *g;
        size_t count = 0, k = 0;
        if (size)
                buf[0] = 0;
        while (cl && (g = nd_hmap_next(cl->nodes, &it))) {
                bool uses = false;
                if (strcmp(g->id, cl->id) == 0)
                        continue;
                for (size_t i = 0; i < cl->n_blocks && !uses; i++)
                        uses = strcmp(cl->blocks[i]->netid, n->id) == 0 && strcmp(cl->blocks[i]->node, g->id) == 0;
                nd_hmap_iter ri = {0};
                struct rep *e;
                while (!uses && (e = nd_hmap_next(cl->reps, &ri)))
                        uses = strcmp(e->netid, n->id) == 0 && strcmp(e->node, g->id) == 0;
                if (!uses)
                        continue;
                if (k < size)
                        k += (size_t) snprintf(buf + k, size - k, "%s'%s'%s", count ? ", " : "",
                                               g->name[0] ? g->name : g->id, g->live ? "" : " (down)");
                count++;
        }
        return count;
}

int nd_cluster_network_remove(nd_cluster *cl, nd_network *n, void (*cb)(void *u, int r, const nd_diag *d),
                              void *userdata, nd_diag *d) {
        char k_net[256], k_name[256], k_vni[64], k_blocks[256], users[160];
        if (!cl)
                return nd_diag_set(d, -EOPNOTSUPP, "no cluster store");
        size_t nu = nd_cluster_network_users(cl, n, users, sizeof(users));
        if (nu)
                return nd_diag_set(d, -EBUSY, "network '%s' has active endpoints or addresses on %s %s",
                                   n->spec.name, nu > 1 ? "nodes" : "node", users);
        for (size_t i = 0; i < cl->n_leps; i++)
                if (strncmp(cl->leps[i].key + strlen(K_EPS), n->id, ND_ID_LEN) == 0 && cl->leps[i].value)
                        return nd_diag_set(d, -EBUSY, "network '%s' has endpoints on this node", n->spec.name);
        struct net_remove *op = calloc(1, sizeof(*op));
        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *op = (struct net_remove) { .cl = cl, .n = n, .cb = cb, .userdata = userdata };
        snprintf(k_net, sizeof(k_net), K_NETS "%s", n->id);
        snprintf(k_name, sizeof(k_name), K_NAMES "%s", n->spec.name);
        snprintf(k_vni, sizeof(k_vni), K_VNIS "%u", nd_network_vni(n));
        snprintf(k_blocks, sizeof(k_blocks), K_BLOCKS "%s/", n->id);
        nd_store_op ops[] = {
                { .type = ND_STORE_DELETE, .key = k_net },
                { .type = ND_STORE_DELETE, .key = k_name },
                { .type = ND_STORE_DELETE, .key = k_vni },
                { .type = ND_STORE_DELETE_PREFIX, .key = k_blocks },
        };
        int r = nd_store_txn(cl->st, NULL, 0, ops, ELEMENTSOF(ops), on_net_removed, op);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "etcd: %s", strerror(-r));
        }
        return 0;
}

/* ---- cluster IPAM ---- */

struct claim {
        nd_cluster *cl;
        char netid[ND_ID_LEN + 1];
        nd_prefix p;
};

/* Every waiter retries after any claim: a retry that still needs a
 * block waits again (bounded by the caller). */
static void wake_waiters(nd_cluster *cl, int r, const nd_diag *d) {
        struct waiter *ready = cl->waiters, *w;
        cl->waiters = NULL; /* a retried request may queue itself again */
        while ((w = ready)) {
                ready = w->next;
                w->cb(w->userdata, r, d);
                free(w);
        }
}

static void on_claimed(void *userdata, int r, int64_t rev) {
        struct claim *c = userdata;
        nd_cluster *cl = c->cl;
        struct gblock *b = block_find(cl, c->netid, &c->p);
        char pf[ND_PREFIX_STRLEN];
        nd_diag d = {0};

        if (b)
                b->claiming = false;
        if (r == 0) {
                if (!b)
                        b = block_add(cl, c->netid, &c->p);
                if (b) {
                        block_set_owner(cl, b, cl->id);
                        b->rev = rev;
                }
                nd_log(LOG_INFO, "address block claimed", "net=%.12s block=%s", c->netid, nd_prefix_fmt(&c->p, pf));
        } else if (r == -ECANCELED) {
                /* another host was quicker: the watch tells who; until
                 * then the block counts as someone else's */
                /* held by someone we do not know yet ("?"): the watch
                 * brings the holder; until then the block is not ours and
                 * not free either, or the next pick would claim it again
                 * and again (a record we cannot read stays "?") */
                if (b && !b->node[0])
                        snprintf(b->node, sizeof(b->node), "?");
                r = 0;
        } else {
                if (b && strcmp(b->node, cl->id) != 0)
                        block_drop(cl, b);
                nd_diag_set(&d, r, "claiming an address block in etcd failed: %s", strerror(-r));
        }
        wake_waiters(cl, r, r < 0 ? &d : NULL);
        free(c);
}

int nd_cluster_wait(nd_cluster *cl, void (*cb)(void *u, int r, const nd_diag *d), void *userdata) {
        struct waiter *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->cb = cb;
        w->userdata = userdata;
        w->next = cl->waiters;
        cl->waiters = w;
        return 0;
}

/* Claims block @p of @n; @retry (if given) runs when a claim of this
 * network completes.  Returns -EAGAIN (claim under way) or an error. */
static int claim(nd_cluster *cl, nd_network *n, const nd_prefix *p, void (*retry)(void *u, int r, const nd_diag *d),
                 void *userdata, nd_diag *d) {
        char key[256], *v;
        if (retry && nd_cluster_wait(cl, retry, userdata) < 0)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        nd_diag_set(d, -EAGAIN, "claiming an address block of network '%s'", n->spec.name);
        /* one claim per network at a time; the others wait for it */
        for (size_t i = 0; i < cl->n_blocks; i++)
                if (cl->blocks[i]->claiming && strcmp(cl->blocks[i]->netid, n->id) == 0)
                        return -EAGAIN;
        struct claim *c = calloc(1, sizeof(*c));
        json_t *j = json_pack("{s:s, s:s}", "Node", cl->id, "Name", cl->node);
        v = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!c || !v) {
                free(c);
                free(v);
                goto oom;
        }
        c->cl = cl;
        c->p = *p;
        snprintf(c->netid, sizeof(c->netid), "%s", n->id);
        block_key(n->id, p, key, sizeof(key));
        int r = nd_store_cas(cl->st, key, 0, v, on_claimed, c);
        free(v);
        if (r < 0) {
                free(c);
                if (retry) {
                        struct waiter *w = cl->waiters;
                        cl->waiters = w->next;
                        free(w);
                }
                return nd_diag_set(d, r, "etcd: %s", strerror(-r));
        }
        /* (without memory for the entry, the claim's callback adds it) */
        struct gblock *b = block_find(cl, n->id, p);
        if (b || (b = block_add(cl, n->id, p)))
                b->claiming = true;
        return -EAGAIN;
oom:
        if (retry) {
                struct waiter *w = cl->waiters;
                cl->waiters = w->next;
                free(w);
        }
        return nd_diag_set(d, -ENOMEM, "out of memory");
}

/* A free address of @sub inside block @p, reserved; -ENOSPC when full. */
static int take_in_block(nd_subnet *sub, const nd_prefix *p, nd_addr *ret) {
        unsigned bits = p->addr.family == AF_INET ? 32 : 128;
        uint64_t size = bits - p->len >= 12 ? 4096 : (1ull << (bits - p->len));
        nd_prefix one;
        for (uint64_t i = 0; i < size; i++) {
                nd_block_nth(&(nd_prefix) { .addr = p->addr, .len = p->len }, bits, i, &one);
                if (nd_subnet_reserve(sub, &one.addr) == 0) {
                        *ret = one.addr;
                        return 0;
                }
        }
        return -ENOSPC;
}

int nd_cluster_address_pick(nd_cluster *cl, nd_network *n, int family, const nd_addr *want, nd_addr *ret,
                            void (*retry)(void *u, int r, const nd_diag *d), void *userdata, nd_diag *d) {
        char s[ND_ADDR_STRLEN];
        if (!cl)
                return nd_diag_set(d, -EOPNOTSUPP, "no cluster store");
        for (size_t i = 0; i < n->spec.n_ipam; i++) {
                const nd_prefix *subnet = &n->spec.ipam[i].subnet;
                nd_subnet *sub = n->alloc[i];
                unsigned len = block_len(n, subnet);
                if (want ? !nd_prefix_contains(subnet, want) : subnet->addr.family != family)
                        continue;
                if (want) {
                        nd_prefix p = { .addr = *want, .len = len };
                        nd_prefix_canon(&p);
                        struct gblock *b = block_find(cl, n->id, &p);
                        if (b && b->claiming)
                                return claim(cl, n, &p, retry, userdata, d);
                        if (b && b->node[0] && strcmp(b->node, cl->id) != 0)
                                return nd_diag_set(d, -EADDRINUSE,
                                                   "address %s is in an address block of node '%s'",
                                                   nd_addr_fmt(want, s), node_label(cl, b->node));
                        if (!b)
                                return claim(cl, n, &p, retry, userdata, d);
                        int r = nd_subnet_reserve(sub, want);
                        if (r == -EEXIST)
                                return nd_diag_set(d, -EADDRINUSE, "address %s is already in use on network '%s'",
                                                   nd_addr_fmt(want, s), n->spec.name);
                        if (r < 0)
                                return nd_diag_set(d, r == -EADDRNOTAVAIL ? -EINVAL : r, "address %s: %s",
                                                   nd_addr_fmt(want, s), strerror(-r));
                        *ret = *want;
                        b->used++;
                        return 0;
                }
                /* our blocks first, in order */
                for (size_t k = 0; k < cl->n_blocks; k++) {
                        struct gblock *b = cl->blocks[k];
                        if (strcmp(b->netid, n->id) || strcmp(b->node, cl->id) || b->claiming || b->releasing ||
                            !nd_prefix_contains(subnet, &b->p.addr))
                                continue;
                        if (take_in_block(sub, &b->p, ret) == 0) {
                                b->used++;
                                return 0;
                        }
                }
                for (size_t k = 0; k < cl->n_blocks; k++)
                        if (cl->blocks[k]->claiming && strcmp(cl->blocks[k]->netid, n->id) == 0)
                                return claim(cl, n, &cl->blocks[k]->p, retry, userdata, d);
                /* the first block nobody holds */
                uint64_t nb = nd_block_count(subnet, len);
                for (uint64_t k = 0; k < nb; k++) {
                        nd_prefix p;
                        nd_block_nth(subnet, len, k, &p);
                        if (!block_find(cl, n->id, &p))
                                return claim(cl, n, &p, retry, userdata, d);
                }
                return nd_diag_set(d, -ENOSPC,
                                   "no free address block left in network '%s' (%s): every block is held by a node",
                                   n->spec.name, family == AF_INET6 ? "IPv6" : "IPv4");
        }
        if (want)
                return nd_diag_set(d, -EINVAL, "address %s is not in any subnet of network '%s'", nd_addr_fmt(want, s),
                                   n->spec.name);
        return nd_diag_set(d, -EINVAL, "network '%s' has no %s subnet", n->spec.name,
                           family == AF_INET6 ? "IPv6" : "IPv4");
}

struct unclaim {
        nd_cluster *cl;
        char netid[ND_ID_LEN + 1];
        nd_prefix p;
};

static void on_unclaimed(void *userdata, int r, int64_t rev) {
        struct unclaim *u = userdata;
        struct gblock *b = block_find(u->cl, u->netid, &u->p);
        char pf[ND_PREFIX_STRLEN];
        if (b) {
                b->releasing = false;
                if (r == 0 && b->used == 0)
                        block_drop(u->cl, b);
        }
        if (r == 0)
                nd_log(LOG_INFO, "address block released", "net=%.12s block=%s", u->netid, nd_prefix_fmt(&u->p, pf));
        else
                nd_log_errno(LOG_WARNING, r, "releasing an address block failed", "net=%.12s block=%s", u->netid,
                             nd_prefix_fmt(&u->p, pf));
        free(u);
}

static void unclaim(nd_cluster *cl, struct gblock *b) {
        char key[256];
        struct unclaim *u = calloc(1, sizeof(*u));
        if (!u || b->releasing || b->claiming) {
                free(u);
                return;
        }
        u->cl = cl;
        u->p = b->p;
        snprintf(u->netid, sizeof(u->netid), "%s", b->netid);
        block_key(b->netid, &b->p, key, sizeof(key));
        /* compare-and-delete: only the block as we hold it */
        nd_store_cmp cmp = { .key = key, .mod_rev = b->rev };
        nd_store_op op = { .type = ND_STORE_DELETE, .key = key };
        if (nd_store_txn(cl->st, &cmp, 1, &op, 1, on_unclaimed, u) < 0) {
                free(u);
                return;
        }
        b->releasing = true;
}

void nd_cluster_address_note(nd_cluster *cl, nd_network *n, const nd_addr *a, int delta) {
        struct gblock *b = cl ? block_of(cl, n, a) : NULL;
        if (!b || strcmp(b->node, cl->id) != 0)
                return;
        if (delta > 0)
                b->used++;
        else if (b->used > 0 && --b->used == 0 && cl->started)
                unclaim(cl, b);
}

void nd_cluster_blocks_trim(nd_cluster *cl) {
        for (size_t i = 0; cl && i < cl->n_blocks; i++)
                if (strcmp(cl->blocks[i]->node, cl->id) == 0 && cl->blocks[i]->used == 0)
                        unclaim(cl, cl->blocks[i]);
}

/* ---- metrics ---- */

void nd_cluster_metrics(nd_cluster *cl, nd_expo *e) {
        char l[256];
        nd_hmap_iter it = {0};
        struct gnode *g;
        if (!cl)
                return;
        size_t live = 0, down = 0, reclaiming = 0, own_blocks = 0;
        while ((g = nd_hmap_next(cl->nodes, &it))) {
                if (g->live)
                        live++;
                else if (g->reclaiming)
                        reclaiming++;
                else
                        down++;
        }
        nd_expo_family(e, "netd_cluster_nodes", "gauge", "Nodes of the cluster by state (this host included).");
        nd_expo_sample(e, "netd_cluster_nodes", nd_expo_labels(l, sizeof(l), 1, "state", "live"), (double) live);
        nd_expo_sample(e, "netd_cluster_nodes", nd_expo_labels(l, sizeof(l), 1, "state", "down"), (double) down);
        nd_expo_sample(e, "netd_cluster_nodes", nd_expo_labels(l, sizeof(l), 1, "state", "reclaiming"), (double) reclaiming);
        nd_expo_family(e, "netd_cluster_remote_endpoints", "gauge", "Trusted remote endpoints programmed, by the node holding them.");
        it = (nd_hmap_iter) {0};
        while ((g = nd_hmap_next(cl->nodes, &it)))
                if (strcmp(g->id, cl->id) != 0)
                        nd_expo_sample(e, "netd_cluster_remote_endpoints",
                                       nd_expo_labels(l, sizeof(l), 1, "node", g->name[0] ? g->name : g->id),
                                       (double) g->n_reps);
        nd_expo_family(e, "netd_cluster_network_remote_endpoints", "gauge", "Trusted remote endpoints, by overlay network.");
        nd_network **nets;
        size_t nn = nd_manager_networks(cl->m, &nets);
        for (size_t i = 0; i < nn; i++) {
                if (!nd_network_is_global(nets[i]))
                        continue;
                size_t count = 0;
                nd_hmap_iter ri = {0};
                struct rep *r;
                while ((r = nd_hmap_next(cl->reps, &ri)))
                        count += strcmp(r->netid, nets[i]->id) == 0;
                nd_expo_sample(e, "netd_cluster_network_remote_endpoints",
                               nd_expo_labels(l, sizeof(l), 1, "network", nets[i]->spec.name), (double) count);
        }
        nd_expo_family(e, "netd_cluster_blocks", "gauge", "Address blocks held, by node.");
        it = (nd_hmap_iter) {0};
        while ((g = nd_hmap_next(cl->nodes, &it)))
                nd_expo_sample(e, "netd_cluster_blocks", nd_expo_labels(l, sizeof(l), 1, "node", g->name[0] ? g->name : g->id),
                               (double) g->n_blocks);
        for (size_t i = 0; i < cl->n_blocks; i++)
                own_blocks += strcmp(cl->blocks[i]->node, cl->id) == 0;
        nd_expo_family(e, "netd_cluster_blocks_owned", "gauge", "Address blocks this host holds.");
        nd_expo_sample(e, "netd_cluster_blocks_owned", NULL, (double) own_blocks);
        static const struct {
                const char *name, *help;
                size_t off;
        } c[] = {
                { "netd_cluster_watch_events_total", "etcd watch events applied.", offsetof(nd_cluster, events) },
                { "netd_cluster_resyncs_total", "Full re-reads of the cluster state (compacted watch).", offsetof(nd_cluster, resyncs) },
                { "netd_cluster_lease_renewals_total", "Node lease keep-alives etcd accepted.", offsetof(nd_cluster, renewals) },
                { "netd_cluster_lease_losses_total", "Times the node lease expired and was replaced.", offsetof(nd_cluster, lease_losses) },
                { "netd_cluster_publish_failures_total", "Endpoint record writes that failed and were retried.",
                  offsetof(nd_cluster, sync_failures) },
                { "netd_cluster_rejected_records_total", "Peer endpoint records ignored as untrusted.", offsetof(nd_cluster, rejected) },
                { "netd_cluster_reclaimed_nodes_total", "Dead nodes whose records and blocks this host reclaimed.",
                  offsetof(nd_cluster, reclaimed) },
        };
        for (size_t i = 0; i < ELEMENTSOF(c); i++) {
                nd_expo_family(e, c[i].name, "counter", c[i].help);
                nd_expo_sample(e, c[i].name, NULL, (double) *(const uint64_t *) ((const char *) cl + c[i].off));
        }
        nd_store_etcd_metrics(cl->st, e);
}

/* ---- status ---- */

json_t *nd_cluster_status(nd_cluster *cl) {
        char a[ND_ADDR_STRLEN];
        if (!cl)
                return json_pack("{s:b}", "Enabled", 0);
        return json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I}", "Enabled",
                         1, "Node", cl->node, "NodeId", cl->id, "AdvertiseAddr", nd_addr_fmt(&cl->addr, a), "Store",
                         nd_store_etcd_endpoint(cl->st), "Nodes", (json_int_t) nd_hmap_size(cl->nodes),
                         "RemoteEndpoints", (json_int_t) nd_hmap_size(cl->reps), "Revision", (json_int_t) cl->rev,
                         "Events", (json_int_t) cl->events, "Resyncs", (json_int_t) cl->resyncs, "LeaseLosses",
                         (json_int_t) cl->lease_losses, "PublishFailures", (json_int_t) cl->sync_failures,
                         "RejectedRecords", (json_int_t) cl->rejected, "LastRejected", cl->last_rejected,
                         "ReclaimedNodes", (json_int_t) cl->reclaimed, "NodeGraceSeconds", (json_int_t) cl->grace);
}

json_t *nd_cluster_nodes(nd_cluster *cl) {
        json_t *a = json_array();
        nd_hmap_iter it = {0};
        struct gnode *g;
        double now = cl ? ev_now(cl->m->loop) : 0;
        while (cl && (g = nd_hmap_next(cl->nodes, &it))) {
                bool self = strcmp(g->id, cl->id) == 0;
                size_t eps = g->n_reps;
                if (self) {
                        eps = 0;
                        for (size_t k = 0; k < cl->n_leps; k++)
                                eps += cl->leps[k].value != NULL;
                }
                json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:s, s:I, s:I}", "Id", g->id, "Name", g->name, "Addr",
                                      g->addr, "Self", self, "State", g->live ? "live" : g->reclaiming ? "reclaiming" : "down",
                                      "Endpoints", (json_int_t) eps, "Blocks", (json_int_t) g->n_blocks);
                if (j && !g->live && g->down_since > 0) {
                        json_object_set_new(j, "DownSeconds", json_integer((json_int_t) (now - g->down_since)));
                        json_object_set_new(j, "ReclaimInSeconds",
                                            json_integer((json_int_t) (cl->grace > now - g->down_since
                                                                               ? cl->grace - (now - g->down_since) : 0)));
                }
                json_array_append_new(a, j);
        }
        return a;
}

json_t *nd_cluster_network_status(nd_cluster *cl, const nd_network *n) {
        char pf[ND_PREFIX_STRLEN];
        if (!cl || !nd_network_is_global(n))
                return NULL;
        json_t *j = nd_overlay_status(cl->ov, n->id);
        if (!j)
                j = json_object();
        json_t *blocks = json_array(), *peers = json_array();
        for (size_t i = 0; i < cl->n_blocks; i++)
                if (strcmp(cl->blocks[i]->netid, n->id) == 0)
                        json_array_append_new(blocks, json_pack("{s:s, s:s, s:s}", "Block",
                                                                nd_prefix_fmt(&cl->blocks[i]->p, pf), "Node",
                                                                node_label(cl, cl->blocks[i]->node), "NodeId",
                                                                cl->blocks[i]->node));
        nd_hmap_iter it = {0};
        struct rep *e;
        while ((e = nd_hmap_next(cl->reps, &it)))
                if (strcmp(e->netid, n->id) == 0) {
                        char a[ND_ADDR_STRLEN], v[ND_ADDR_STRLEN], mac[18];
                        const nd_overlay_peer *p = &e->peer;
                        fmt_mac(p->mac, mac);
                        json_array_append_new(peers, json_pack("{s:s, s:s, s:s, s:s}", "Node", node_label(cl, e->node),
                                                               "IPv4", p->ip4.family ? nd_addr_fmt(&p->ip4, a) : "",
                                                               "Mac", mac, "Vtep", nd_addr_fmt(&p->vtep, v)));
                }
        json_object_set_new(j, "Blocks", blocks);
        json_object_set_new(j, "RemoteEndpoints", peers);
        return j;
}

/* ---- start and stop ---- */

static int advertise_addr(const char *spec, nd_addr *ret) {
        struct ifaddrs *ifs, *i;
        if (nd_addr_parse(spec, ret) == 0)
                return ret->family == AF_INET ? 0 : -EAFNOSUPPORT;
        if (getifaddrs(&ifs) < 0)
                return -errno;
        int r = -EADDRNOTAVAIL;
        for (i = ifs; i; i = i->ifa_next)
                if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && strcmp(i->ifa_name, spec) == 0) {
                        ret->family = AF_INET;
                        memcpy(ret->b, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, 4);
                        r = 0;
                        break;
                }
        freeifaddrs(ifs);
        return r;
}

int nd_cluster_start(nd_manager *m, const nd_cluster_config *cfg, void (*done)(nd_manager *m, int r),
                     nd_cluster **ret) {
        nd_cluster *cl;
        int r;

        if (!cfg->advertise)
                return nd_log_errno(LOG_ERR, -EINVAL, "a cluster store needs --advertise-addr IP|INTERFACE");
        if (!cfg->node || !*cfg->node || strlen(cfg->node) > NODE_MAX || strchr(cfg->node, '/'))
                return nd_log_errno(LOG_ERR, -EINVAL, "invalid node name (1-64 characters, no '/')");
        if (!nd_node_id_valid(cfg->node_id))
                return nd_log_errno(LOG_ERR, -EINVAL, "invalid node id", "id=%s", cfg->node_id ? cfg->node_id : "");
        cl = calloc(1, sizeof(*cl));
        if (!cl)
                return -ENOMEM;
        cl->m = m;
        cl->done = done;
        cl->ttl = cfg->ttl ? cfg->ttl : 10;
        cl->grace = cfg->grace ? cfg->grace : 3600;
        cl->vxlan_port = cfg->vxlan_port ? cfg->vxlan_port : 4789;
        snprintf(cl->node, sizeof(cl->node), "%s", cfg->node);
        snprintf(cl->id, sizeof(cl->id), "%s", cfg->node_id);
        ev_timer_init(&cl->keepalive, on_keepalive, 0, cl->ttl / 3.0);
        cl->keepalive.data = cl;
        ev_timer_init(&cl->sync_timer, on_sync_timer, 1.0, 0);
        cl->sync_timer.data = cl;
        ev_init(&cl->reclaim_timer, on_reclaim_timer);
        cl->reclaim_timer.repeat = cl->grace / 4 < 0.5 ? 0.5 : cl->grace / 4 > 30 ? 30 : cl->grace / 4;
        cl->reclaim_timer.data = cl;
        ev_timer_init(&cl->prune_timer, on_prune, 2.0, 0);
        cl->prune_timer.data = cl;
        if (nd_hmap_new(&cl->reps) < 0 || nd_hmap_new(&cl->nodes) < 0 || nd_hmap_new(&cl->block_index) < 0) {
                nd_cluster_free(cl);
                return -ENOMEM;
        }
        r = advertise_addr(cfg->advertise, &cl->addr);
        if (r < 0) {
                nd_cluster_free(cl);
                return nd_log_errno(LOG_ERR, r, "--advertise-addr: not an IPv4 address or an interface with one",
                                    "value=%s", cfg->advertise);
        }
        r = nd_store_open(m->loop, cfg->url, NULL, &cl->st);
        if (r < 0) {
                nd_cluster_free(cl);
                return nd_log_errno(LOG_ERR, r, "invalid etcd store URL (want etcd://HOST:PORT[,HOST:PORT...])",
                                    "store=%s", cfg->url);
        }
        etcd_addrs(cl, cfg->url);
        r = nd_overlay_new(m->loop, m->nl, &cl->addr, cfg->vxlan_port, &cl->ov);
        if (r < 0) {
                nd_cluster_free(cl);
                return r;
        }
        /* this node and its lease first (ours from a previous run if it is
         * still live), then the cluster's state */
        renew(cl);
        if (!cl->renewing) {
                nd_cluster_free(cl);
                return -ENOMEM;
        }
        *ret = cl;
        return 0;
}

nd_cluster *nd_cluster_free(nd_cluster *cl) {
        if (!cl)
                return NULL;
        ev_timer_stop(cl->m->loop, &cl->keepalive);
        ev_timer_stop(cl->m->loop, &cl->sync_timer);
        ev_timer_stop(cl->m->loop, &cl->reclaim_timer);
        ev_timer_stop(cl->m->loop, &cl->prune_timer);
        nd_store_watch_cancel(cl->watch);
        /* the lease is not revoked: a restart within its TTL keeps it and
         * the peers' view; a host that stays away drops out when it expires */
        nd_store_free(cl->st);
        nd_overlay_free(cl->ov);
        if (cl->fw && cl->m->fw)
                nd_fw_owner_free(cl->m->fw, cl->fw);
        while (cl->waiters) {
                struct waiter *w = cl->waiters;
                cl->waiters = w->next;
                free(w);
        }
        for (size_t i = 0; i < cl->n_leps; i++)
                free(cl->leps[i].value);
        free(cl->leps);
        for (size_t i = 0; i < cl->n_stale; i++)
                free(cl->stale[i]);
        free(cl->stale);
        nd_hmap_iter it = {0};
        void *v;
        while ((v = nd_hmap_next(cl->reps, &it)))
                free(v);
        it = (nd_hmap_iter) {0};
        while ((v = nd_hmap_next(cl->nodes, &it)))
                free(v);
        nd_hmap_free(cl->reps);
        nd_hmap_free(cl->nodes);
        nd_hmap_free(cl->block_index);
        for (size_t i = 0; i < cl->n_blocks; i++)
                free(cl->blocks[i]);
        free(cl->blocks);
        free(cl);
        return NULL;
}
