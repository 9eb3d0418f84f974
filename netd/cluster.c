/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster: node registration, overlay networks, cluster IPAM by
 * address blocks, and endpoint discovery through etcd.  See cluster.h for
 * the keys and the rules.
 *
 * Everything here runs on the loop.  Remote state (networks, blocks,
 * endpoints, nodes) is the result of one list at a revision followed by
 * one watch from that revision; a compacted watch re-lists and reconciles.
 * Local state (this host's endpoints) is a desired set that a sync pass
 * writes, retried every second while etcd does not take it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "block.h"
#include "bridge.h"
#include "cluster.h"
#include "container.h"
#include "diag.h"
#include "json-util.h"
#include "log.h"
#include "manager-internal.h"
#include "network.h"
#include "overlay.h"
#include "server.h"
#include "store.h"
#include "subnet.h"

#define G "/netd/v1/global/"
#define K_NODES G "nodes/"
#define K_NETS G "networks/"
#define K_NAMES G "network-names/"
#define K_VNIS G "vnis/"
#define K_BLOCKS G "blocks/"
#define K_EPS G "endpoints/"
#define NODE_MAX 64
#define VNI_MIN 4096

struct gblock {
        char netid[ND_ID_LEN + 1];
        nd_prefix p;
        char node[NODE_MAX + 1];
        int64_t rev;
        uint64_t used;          /* ours: addresses allocated in it */
        bool claiming, releasing, seen;
};

struct rep {                    /* a remote endpoint */
        char key[200];
        char netid[ND_ID_LEN + 1];
        char ctid[ND_ID_LEN + 1];
        char node[NODE_MAX + 1];
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
        char name[NODE_MAX + 1];
        char addr[ND_ADDR_STRLEN];
        bool seen;
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
        char node[NODE_MAX + 1];
        nd_addr addr;
        unsigned ttl;
        int64_t lease;
        bool renewing;
        ev_timer keepalive, sync_timer;
        nd_store_watch *watch;
        int64_t rev;
        void (*done)(nd_manager *m, int r);
        bool started;

        struct gblock *blocks;
        size_t n_blocks, cap_blocks;
        struct rep *reps;
        size_t n_reps, cap_reps;
        struct lep *leps;
        size_t n_leps, cap_leps;
        struct gnode *nodes;
        size_t n_nodes, cap_nodes;
        struct waiter *waiters;
        uint64_t events, resyncs, lease_losses, sync_failures;
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

/* The block length of a subnet: option ipam.block, else block.h's default. */
static unsigned block_len(const nd_network *n, const nd_prefix *subnet) {
        const char *o = json_string_value(json_object_get(n->spec.options, "ipam.block"));
        return nd_block_len(subnet, o ? (unsigned) strtoul(o, NULL, 10) : 0);
}

static void block_key(const char *netid, const nd_prefix *p, char *buf, size_t size) {
        char a[ND_ADDR_STRLEN];
        snprintf(buf, size, K_BLOCKS "%s/%s-%u", netid, nd_addr_fmt(&p->addr, a), p->len);
}

static struct gblock *block_find(nd_cluster *cl, const char *netid, const nd_prefix *p) {
        for (size_t i = 0; i < cl->n_blocks; i++)
                if (strcmp(cl->blocks[i].netid, netid) == 0 && cl->blocks[i].p.len == p->len &&
                    nd_addr_equal(&cl->blocks[i].p.addr, &p->addr))
                        return &cl->blocks[i];
        return NULL;
}

static struct gblock *block_of(nd_cluster *cl, const char *netid, const nd_addr *a) {
        for (size_t i = 0; i < cl->n_blocks; i++)
                if (strcmp(cl->blocks[i].netid, netid) == 0 && nd_prefix_contains(&cl->blocks[i].p, a))
                        return &cl->blocks[i];
        return NULL;
}

static void block_drop(nd_cluster *cl, struct gblock *b) {
        size_t i = (size_t) (b - cl->blocks);
        cl->blocks[i] = cl->blocks[--cl->n_blocks];
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

static void rep_remove(nd_cluster *cl, size_t i) {
        struct rep *e = &cl->reps[i];
        if (cl->m->dns)
                nd_dns_names_drop(nd_dns_table(cl->m->dns), e->key);
        nd_overlay_peer_del(cl->ov, e->netid, &e->peer);
        nd_log(LOG_DEBUG, "remote endpoint gone", "net=%.12s ct=%.12s node=%s", e->netid, e->ctid, e->node);
        cl->reps[i] = cl->reps[--cl->n_reps];
}

static void rep_put(nd_cluster *cl, const char *key, const char *value) {
        const char *rest = key + strlen(K_EPS);
        char netid[ND_ID_LEN + 1];
        json_error_t err;
        _cleanup_json_ json_t *j = json_loads(value, 0, &err);
        struct rep e = {0};

        if (strlen(rest) != 2 * ND_ID_LEN + 1 || rest[ND_ID_LEN] != '/' || !j)
                return;
        memcpy(netid, rest, ND_ID_LEN);
        netid[ND_ID_LEN] = 0;
        const char *node = json_string_value(json_object_get(j, "Node"));
        if (!node || strcmp(node, cl->node) == 0)
                return; /* ours */
        nd_network *n = net_by_id(cl, netid);
        if (!n)
                return;
        snprintf(e.key, sizeof(e.key), "%s", key);
        snprintf(e.netid, sizeof(e.netid), "%s", netid);
        snprintf(e.ctid, sizeof(e.ctid), "%s", rest + ND_ID_LEN + 1);
        snprintf(e.node, sizeof(e.node), "%s", node);
        const char *ip4 = json_string_value(json_object_get(j, "IPv4"));
        const char *ip6 = json_string_value(json_object_get(j, "IPv6"));
        if (parse_mac(json_string_value(json_object_get(j, "Mac")), e.peer.mac) < 0 ||
            nd_addr_parse(json_string_value(json_object_get(j, "Vtep")), &e.peer.vtep) < 0 ||
            e.peer.vtep.family != AF_INET || (ip4 && nd_addr_parse(ip4, &e.peer.ip4) < 0) ||
            (ip6 && nd_addr_parse(ip6, &e.peer.ip6) < 0)) {
                nd_log(LOG_WARNING, "ignoring an unreadable endpoint record", "key=%s", key);
                return;
        }
        for (size_t i = 0; i < cl->n_reps; i++)
                if (strcmp(cl->reps[i].key, key) == 0) {
                        if (memcmp(&cl->reps[i].peer, &e.peer, sizeof(e.peer)) != 0)
                                nd_overlay_peer_del(cl->ov, netid, &cl->reps[i].peer);
                        cl->reps[i] = e;
                        cl->reps[i].seen = true;
                        goto program;
                }
        if (GROW(cl->reps, cl->n_reps, cl->cap_reps) < 0)
                return;
        cl->reps[cl->n_reps] = e;
        cl->reps[cl->n_reps++].seen = true;
program:;
        int r = nd_overlay_peer_add(cl->ov, netid, &e.peer);
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "programming a remote endpoint failed", "net=%s ct=%.12s node=%s",
                             n->spec.name, e.ctid, node);
        rep_dns(cl, &e, j, n);
        nd_log(LOG_DEBUG, "remote endpoint", "net=%s ct=%.12s node=%s ip=%s", n->spec.name, e.ctid, node,
               ip4 ? ip4 : ip6 ? ip6 : "");
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
        for (size_t i = cl->n_reps; i-- > 0;)
                if (strcmp(cl->reps[i].netid, n->id) == 0)
                        rep_remove(cl, i);
        for (size_t i = cl->n_blocks; i-- > 0;)
                if (strcmp(cl->blocks[i].netid, n->id) == 0)
                        block_drop(cl, &cl->blocks[i]);
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
        if (!b) {
                if (GROW(cl->blocks, cl->n_blocks, cl->cap_blocks) < 0)
                        return;
                b = &cl->blocks[cl->n_blocks++];
                *b = (struct gblock) { .p = p };
                snprintf(b->netid, sizeof(b->netid), "%s", netid);
        }
        snprintf(b->node, sizeof(b->node), "%s", node ? node : "?");
        b->rev = rev;
        b->seen = true;
}

/* ---- events ---- */

static void apply(nd_cluster *cl, bool del, const nd_store_kv *kv) {
        const char *k = kv->key;
        if (strncmp(k, K_NETS, strlen(K_NETS)) == 0) {
                nd_network *n = net_by_id(cl, k + strlen(K_NETS));
                if (!del)
                        net_put(cl, k, kv->value);
                else if (n)
                        net_forget(cl, n);
        } else if (strncmp(k, K_BLOCKS, strlen(K_BLOCKS)) == 0) {
                if (!del)
                        block_put(cl, k, kv->value, kv->mod_rev);
                else {
                        for (size_t i = 0; i < cl->n_blocks; i++) {
                                char bk[256];
                                block_key(cl->blocks[i].netid, &cl->blocks[i].p, bk, sizeof(bk));
                                if (strcmp(bk, k) == 0) {
                                        block_drop(cl, &cl->blocks[i]);
                                        break;
                                }
                        }
                }
        } else if (strncmp(k, K_EPS, strlen(K_EPS)) == 0) {
                if (!del)
                        rep_put(cl, k, kv->value);
                else
                        for (size_t i = 0; i < cl->n_reps; i++)
                                if (strcmp(cl->reps[i].key, k) == 0) {
                                        rep_remove(cl, i);
                                        break;
                                }
        } else if (strncmp(k, K_NODES, strlen(K_NODES)) == 0) {
                const char *name = k + strlen(K_NODES);
                size_t i;
                for (i = 0; i < cl->n_nodes; i++)
                        if (strcmp(cl->nodes[i].name, name) == 0)
                                break;
                if (del) {
                        if (i < cl->n_nodes) {
                                nd_log(LOG_INFO, "node left", "node=%s", name);
                                cl->nodes[i] = cl->nodes[--cl->n_nodes];
                        }
                        return;
                }
                json_error_t err;
                _cleanup_json_ json_t *j = json_loads(kv->value, 0, &err);
                if (i == cl->n_nodes) {
                        if (GROW(cl->nodes, cl->n_nodes, cl->cap_nodes) < 0)
                                return;
                        cl->n_nodes++;
                        if (cl->started)
                                nd_log(LOG_INFO, "node joined", "node=%s", name);
                }
                snprintf(cl->nodes[i].name, sizeof(cl->nodes[i].name), "%s", name);
                snprintf(cl->nodes[i].addr, sizeof(cl->nodes[i].addr), "%s",
                         json_string_value(json_object_get(j, "Addr")) ?: "");
                cl->nodes[i].seen = true;
        }
}

static void on_event(void *userdata, int r, const nd_store_event *ev);

static void relist(nd_cluster *cl);

static void on_listed(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_cluster *cl = userdata;
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
        for (size_t i = 0; i < cl->n_reps; i++)
                cl->reps[i].seen = false;
        for (size_t i = 0; i < cl->n_blocks; i++)
                cl->blocks[i].seen = false;
        for (size_t i = 0; i < cl->n_nodes; i++)
                cl->nodes[i].seen = false;
        /* networks first: blocks and endpoints refer to them */
        for (size_t i = 0; i < n; i++)
                if (strncmp(kvs[i].key, K_NETS, strlen(K_NETS)) == 0)
                        apply(cl, false, &kvs[i]);
        for (size_t i = 0; i < n; i++)
                if (strncmp(kvs[i].key, K_NETS, strlen(K_NETS)) != 0)
                        apply(cl, false, &kvs[i]);
        if (cl->started) {
                for (size_t i = cl->n_reps; i-- > 0;)
                        if (!cl->reps[i].seen)
                                rep_remove(cl, i);
                for (size_t i = cl->n_blocks; i-- > 0;)
                        if (!cl->blocks[i].seen && !cl->blocks[i].claiming)
                                block_drop(cl, &cl->blocks[i]);
                for (size_t i = cl->n_nodes; i-- > 0;)
                        if (!cl->nodes[i].seen)
                                cl->nodes[i] = cl->nodes[--cl->n_nodes];
                nd_network **nets;
                size_t nn = nd_manager_networks(cl->m, &nets);
                for (size_t i = nn; i-- > 0;) {
                        bool found = false;
                        if (!nd_network_is_global(nets[i]))
                                continue;
                        for (size_t k = 0; k < n && !found; k++)
                                found = strncmp(kvs[k].key, K_NETS, strlen(K_NETS)) == 0 &&
                                        strcmp(kvs[k].key + strlen(K_NETS), nets[i]->id) == 0;
                        if (!found)
                                net_forget(cl, nets[i]);
                }
        }
        cl->rev = rev;
        nd_store_watch_cancel(cl->watch);
        cl->watch = NULL;
        r = nd_store_watch_start(cl->st, G, rev, on_event, cl, &cl->watch);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "watching etcd failed");
        if (!cl->started) {
                size_t nets = 0;
                nd_network **v;
                size_t nn = nd_manager_networks(cl->m, &v);
                for (size_t i = 0; i < nn; i++)
                        nets += nd_network_is_global(v[i]);
                nd_log(LOG_INFO, "cluster state loaded", "nodes=%zu overlay_networks=%zu remote_endpoints=%zu revision=%" PRId64,
                       cl->n_nodes, nets, cl->n_reps, rev);
                cl->started = true;
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

/* ---- the node and its lease ---- */

static void node_value(nd_cluster *cl, char **ret) {
        char a[ND_ADDR_STRLEN];
        json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "Name", cl->node, "Addr", nd_addr_fmt(&cl->addr, a), "Version",
                              ND_VERSION, "Started", (json_int_t) (now_us() / 1000000));
        *ret = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
}

static void on_node_put(void *userdata, int r, int64_t rev) {
        nd_cluster *cl = userdata;
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "registering the node in etcd failed", "node=%s", cl->node);
                if (!cl->started)
                        cl->done(cl->m, r);
                return;
        }
        nd_log(LOG_INFO, "node registered", "node=%s lease=%" PRIx64 " ttl=%u", cl->node, (uint64_t) cl->lease, cl->ttl);
        if (!cl->started) {
                r = nd_store_list(cl->st, G, on_listed, cl);
                if (r < 0)
                        cl->done(cl->m, r);
        } else {
                for (size_t i = 0; i < cl->n_leps; i++)
                        cl->leps[i].synced = false;
                sync_leps(cl);
        }
}

static void on_granted(void *userdata, int r, int64_t lease) {
        nd_cluster *cl = userdata;
        _cleanup_free_ char *v = NULL;
        char key[256];

        cl->renewing = false;
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "etcd: granting the node lease failed", "store=%s", nd_store_etcd_endpoint(cl->st));
                if (!cl->started)
                        cl->done(cl->m, r);
                return;
        }
        cl->lease = lease;
        node_value(cl, &v);
        snprintf(key, sizeof(key), K_NODES "%s", cl->node);
        r = v ? nd_store_put(cl->st, key, v, lease, on_node_put, cl) : -ENOMEM;
        if (r < 0 && !cl->started)
                cl->done(cl->m, r);
        if (!ev_is_active(&cl->keepalive))
                ev_timer_again(cl->m->loop, &cl->keepalive);
}

static void renew(nd_cluster *cl) {
        if (cl->renewing)
                return;
        cl->renewing = true;
        cl->lease = 0;
        if (nd_store_lease_grant(cl->st, cl->ttl, on_granted, cl) < 0)
                cl->renewing = false;
}

static void on_kept(void *userdata, int r, int64_t lease) {
        nd_cluster *cl = userdata;
        if (r == -ENOENT && lease == 0 && cl->lease) {
                cl->lease_losses++;
                nd_log(LOG_WARNING, "the node lease expired; registering again and re-publishing endpoints",
                       "node=%s", cl->node);
                renew(cl);
        } else if (r < 0)
                nd_log_errno(LOG_DEBUG, r, "lease keep-alive failed; retrying");
}

static void on_keepalive(struct ev_loop *loop, ev_timer *t, int revents) {
        nd_cluster *cl = t->data;
        if (!cl->lease) {
                renew(cl);
                return;
        }
        (void) nd_store_lease_keepalive(cl->st, cl->lease, on_kept, cl);
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
        if (!value)
                return; /* never published */
        if (GROW(cl->leps, cl->n_leps, cl->cap_leps) < 0) {
                free(value);
                return;
        }
        struct lep *e = &cl->leps[cl->n_leps++];
        *e = (struct lep) { .value = value };
        snprintf(e->key, sizeof(e->key), "%s", key);
        snprintf(e->ctid, sizeof(e->ctid), "%s", ctid);
}

/* The record of endpoint @e: where peers send its frames, and its names. */
static char *ep_value(nd_cluster *cl, const nd_endpoint *e, const char *name, const char *hostname) {
        char a4[ND_ADDR_STRLEN], a6[ND_ADDR_STRLEN], mac[18], vtep[ND_ADDR_STRLEN];
        json_t *al = json_array();
        for (size_t k = 0; k < e->n_aliases; k++)
                json_array_append_new(al, json_string(e->aliases[k]));
        fmt_mac(e->mac, mac);
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "Node", cl->node, "Vtep", nd_addr_fmt(&cl->addr, vtep),
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
                snprintf(key, sizeof(key), K_EPS "%s/%s", n->id, c->id);
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
                        keep = want[k] && strncmp(e->key + strlen(K_EPS), c->eps[k].net_id, ND_ID_LEN) == 0;
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
        snprintf(key, sizeof(key), K_EPS "%s/%s", n->id, owner);
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

const char *nd_cluster_network_user(nd_cluster *cl, const nd_network *n) {
        for (size_t i = 0; cl && i < cl->n_reps; i++)
                if (strcmp(cl->reps[i].netid, n->id) == 0)
                        return cl->reps[i].node;
        for (size_t i = 0; cl && i < cl->n_blocks; i++)
                if (strcmp(cl->blocks[i].netid, n->id) == 0 && strcmp(cl->blocks[i].node, cl->node) != 0)
                        return cl->blocks[i].node;
        return NULL;
}

int nd_cluster_network_remove(nd_cluster *cl, nd_network *n, void (*cb)(void *u, int r, const nd_diag *d),
                              void *userdata, nd_diag *d) {
        char k_net[256], k_name[256], k_vni[64], k_blocks[256];
        const char *user = nd_cluster_network_user(cl, n);
        if (!cl)
                return nd_diag_set(d, -EOPNOTSUPP, "no cluster store");
        if (user)
                return nd_diag_set(d, -EBUSY, "network '%s' is in use on node '%s'", n->spec.name, user);
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
                if (!b && GROW(cl->blocks, cl->n_blocks, cl->cap_blocks) == 0) {
                        b = &cl->blocks[cl->n_blocks++];
                        *b = (struct gblock) { .p = c->p };
                        snprintf(b->netid, sizeof(b->netid), "%s", c->netid);
                }
                if (b) {
                        snprintf(b->node, sizeof(b->node), "%s", cl->node);
                        b->rev = rev;
                }
                nd_log(LOG_INFO, "address block claimed", "net=%.12s block=%s", c->netid, nd_prefix_fmt(&c->p, pf));
        } else if (r == -ECANCELED) {
                /* another host was quicker: the watch tells who; until
                 * then the block counts as someone else's */
                if (b && !b->node[0])
                        snprintf(b->node, sizeof(b->node), "?");
                r = 0;
        } else {
                if (b && strcmp(b->node, cl->node) != 0)
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
                if (cl->blocks[i].claiming && strcmp(cl->blocks[i].netid, n->id) == 0)
                        return -EAGAIN;
        if (GROW(cl->blocks, cl->n_blocks, cl->cap_blocks) < 0)
                goto oom;
        struct claim *c = calloc(1, sizeof(*c));
        json_t *j = json_pack("{s:s}", "Node", cl->node);
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
        struct gblock *b = &cl->blocks[cl->n_blocks++];
        *b = (struct gblock) { .p = *p, .claiming = true };
        snprintf(b->netid, sizeof(b->netid), "%s", n->id);
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
                        if (b && strcmp(b->node, cl->node) != 0)
                                return nd_diag_set(d, -EADDRINUSE,
                                                   "address %s is in an address block of node '%s'",
                                                   nd_addr_fmt(want, s), b->node);
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
                        struct gblock *b = &cl->blocks[k];
                        if (strcmp(b->netid, n->id) || strcmp(b->node, cl->node) || b->claiming || b->releasing ||
                            !nd_prefix_contains(subnet, &b->p.addr))
                                continue;
                        if (take_in_block(sub, &b->p, ret) == 0) {
                                b->used++;
                                return 0;
                        }
                }
                for (size_t k = 0; k < cl->n_blocks; k++)
                        if (cl->blocks[k].claiming && strcmp(cl->blocks[k].netid, n->id) == 0)
                                return claim(cl, n, &cl->blocks[k].p, retry, userdata, d);
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
        struct gblock *b = cl ? block_of(cl, n->id, a) : NULL;
        if (!b || strcmp(b->node, cl->node) != 0)
                return;
        if (delta > 0)
                b->used++;
        else if (b->used > 0 && --b->used == 0 && cl->started)
                unclaim(cl, b);
}

void nd_cluster_blocks_trim(nd_cluster *cl) {
        for (size_t i = 0; cl && i < cl->n_blocks; i++)
                if (strcmp(cl->blocks[i].node, cl->node) == 0 && cl->blocks[i].used == 0)
                        unclaim(cl, &cl->blocks[i]);
}

/* ---- status ---- */

json_t *nd_cluster_status(nd_cluster *cl) {
        char a[ND_ADDR_STRLEN];
        if (!cl)
                return json_pack("{s:b}", "Enabled", 0);
        return json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "Enabled", 1, "Node", cl->node,
                         "AdvertiseAddr", nd_addr_fmt(&cl->addr, a), "Store", nd_store_etcd_endpoint(cl->st), "Nodes",
                         (json_int_t) cl->n_nodes, "RemoteEndpoints", (json_int_t) cl->n_reps, "Revision",
                         (json_int_t) cl->rev, "Events", (json_int_t) cl->events, "Resyncs", (json_int_t) cl->resyncs,
                         "LeaseLosses", (json_int_t) cl->lease_losses, "PublishFailures",
                         (json_int_t) cl->sync_failures);
}

json_t *nd_cluster_nodes(nd_cluster *cl) {
        json_t *a = json_array();
        for (size_t i = 0; cl && i < cl->n_nodes; i++) {
                size_t eps = 0;
                for (size_t k = 0; k < cl->n_reps; k++)
                        eps += strcmp(cl->reps[k].node, cl->nodes[i].name) == 0;
                if (strcmp(cl->nodes[i].name, cl->node) == 0)
                        for (size_t k = 0; k < cl->n_leps; k++)
                                eps += cl->leps[k].value != NULL;
                json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:I}", "Name", cl->nodes[i].name, "Addr",
                                                   cl->nodes[i].addr, "Self", strcmp(cl->nodes[i].name, cl->node) == 0,
                                                   "Endpoints", (json_int_t) eps));
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
                if (strcmp(cl->blocks[i].netid, n->id) == 0)
                        json_array_append_new(blocks, json_pack("{s:s, s:s}", "Block", nd_prefix_fmt(&cl->blocks[i].p, pf),
                                                                "Node", cl->blocks[i].node));
        for (size_t i = 0; i < cl->n_reps; i++)
                if (strcmp(cl->reps[i].netid, n->id) == 0) {
                        char a[ND_ADDR_STRLEN], v[ND_ADDR_STRLEN], mac[18];
                        const nd_overlay_peer *p = &cl->reps[i].peer;
                        fmt_mac(p->mac, mac);
                        json_array_append_new(peers, json_pack("{s:s, s:s, s:s, s:s}", "Node", cl->reps[i].node,
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
        cl = calloc(1, sizeof(*cl));
        if (!cl)
                return -ENOMEM;
        cl->m = m;
        cl->done = done;
        cl->ttl = cfg->ttl ? cfg->ttl : 10;
        snprintf(cl->node, sizeof(cl->node), "%s", cfg->node);
        ev_timer_init(&cl->keepalive, on_keepalive, 0, cl->ttl / 3.0);
        cl->keepalive.data = cl;
        ev_timer_init(&cl->sync_timer, on_sync_timer, 1.0, 0);
        cl->sync_timer.data = cl;
        r = advertise_addr(cfg->advertise, &cl->addr);
        if (r < 0) {
                free(cl);
                return nd_log_errno(LOG_ERR, r, "--advertise-addr: not an IPv4 address or an interface with one",
                                    "value=%s", cfg->advertise);
        }
        r = nd_store_open(m->loop, cfg->url, NULL, &cl->st);
        if (r < 0) {
                free(cl);
                return nd_log_errno(LOG_ERR, r, "invalid etcd store URL (want etcd://HOST:PORT[,HOST:PORT...])",
                                    "store=%s", cfg->url);
        }
        r = nd_overlay_new(m->loop, m->nl, &cl->addr, cfg->vxlan_port, &cl->ov);
        if (r < 0) {
                nd_cluster_free(cl);
                return r;
        }
        r = nd_store_lease_grant(cl->st, cl->ttl, on_granted, cl);
        if (r < 0) {
                nd_cluster_free(cl);
                return r;
        }
        cl->renewing = true;
        *ret = cl;
        return 0;
}

nd_cluster *nd_cluster_free(nd_cluster *cl) {
        if (!cl)
                return NULL;
        ev_timer_stop(cl->m->loop, &cl->keepalive);
        ev_timer_stop(cl->m->loop, &cl->sync_timer);
        nd_store_watch_cancel(cl->watch);
        /* the lease is not revoked: a restart within its TTL keeps the
         * peers' view; a host that stays away drops out when it expires */
        nd_store_free(cl->st);
        nd_overlay_free(cl->ov);
        while (cl->waiters) {
                struct waiter *w = cl->waiters;
                cl->waiters = w->next;
                free(w);
        }
        for (size_t i = 0; i < cl->n_leps; i++)
                free(cl->leps[i].value);
        free(cl->leps);
        free(cl->reps);
        free(cl->blocks);
        free(cl->nodes);
        free(cl);
        return NULL;
}
