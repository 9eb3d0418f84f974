/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cluster-peers.c
 * What this host learns of its peers: the node table (nodes/ and live/
 * records: who is registered, who is live, at which address, on which
 * lease) and remote endpoints (endpoints/ records of other nodes), each
 * checked against its node and its node's blocks before it is programmed
 * into the overlay (FDB, neighbours) and the DNS table.  A record that
 * fails the checks is ignored and counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cluster-internal.h"
#include "container.h"
#include "hmap.h"
#include "json-util.h"
#include "log.h"
#include "network.h"
#include "overlay.h"
#include "server.h"
#include "store.h"

struct gnode *nd_cl_node_get(nd_cluster *cl, const char *id, bool create) {
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
void nd_cl_node_gc(nd_cluster *cl, struct gnode *g) {
        if (!g || g->registered || g->live || g->n_blocks || g->n_reps || g->reclaiming ||
            strcmp(g->id, cl->id) == 0)
                return;
        nd_hmap_remove(cl->nodes, g->id);
        free(g);
}

const char *nd_cl_node_label(nd_cluster *cl, const char *id) {
        struct gnode *g = nd_hmap_get(cl->nodes, id);
        return g && g->name[0] ? g->name : id;
}

/* @s cut to fit @size, at a character boundary: it stays UTF-8 (JSON's
 * strings must be). */
static void label_copy(char *dst, size_t size, const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n >= size) {
                n = size - 1;
                while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
                        n--;
        }
        memcpy(dst, s ? s : "", n);
        dst[n] = 0;
}

static int parse_mac(const char *s, uint8_t *m) {
        unsigned v[6];
        if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                m[i] = (uint8_t) v[i];
        return 0;
}

/* ---- events ---- */

void nd_cl_event(nd_cluster *cl, const char *type, const char *action, const char *id, const char *name,
                 json_t *attrs, const char *node) {
        if (!cl->event || !cl->started) {
                json_decref(attrs);
                return;
        }
        cl->event(cl->event_userdata, type, action, id, name, attrs, node);
}

static void rep_event(nd_cluster *cl, const struct rep *e, const char *action) {
        char a4[ND_ADDR_STRLEN] = "";
        nd_network *n = nd_cl_net_by_id(cl, e->netid);
        json_t *attrs = json_pack("{s:s, s:s, s:s, s:s}", "network", n ? n->spec.name : "", "networkId", e->netid,
                                  "container", e->ctid, "kind", "remote");
        if (attrs && e->name[0])
                json_object_set_new(attrs, "containerName", json_string(e->name));
        if (attrs && e->peer.ip4.family)
                json_object_set_new(attrs, "ipv4", json_string(nd_addr_fmt(&e->peer.ip4, a4)));
        nd_cl_event(cl, "endpoint", action, e->ctid, e->name[0] ? e->name : NULL, attrs, nd_cl_node_label(cl, e->node));
}

/* ---- remote endpoints ---- */

static void rep_dns(nd_cluster *cl, const struct rep *e, const json_t *j, const nd_network *n) {
        nd_dns_names *t = cl->dns ? nd_dns_table(cl->dns) : NULL;
        char short_id[13];
        const char *name = json_string_value(json_object_get(j, "Name"));
        const char *host = json_string_value(json_object_get(j, "Hostname"));
        json_t *aliases = json_object_get(j, "Aliases"), *v;
        size_t i;

        if (!t)
                return;
        if (!name || !*name) {
                nd_dns_names_drop(t, e->key);
                return; /* no name (a Docker endpoint): reachable, not resolvable */
        }
        snprintf(short_id, sizeof(short_id), "%.12s", e->ctid);
        const char *names[3 + ND_MAX_ALIASES] = { name, host, short_id };
        size_t k = 3;
        json_array_foreach(aliases, i, v)
                if (k < ELEMENTSOF(names) && json_is_string(v))
                        names[k++] = json_string_value(v);
        /* the old names and the new at once for the DNS thread */
        nd_dns_hold(cl->dns);
        nd_dns_names_drop(t, e->key);
        (void) nd_dns_names_add_endpoint(t, n->spec.name, names, k, &e->peer.ip4, &e->peer.ip6, e->key);
        nd_dns_release(cl->dns);
}

void nd_cl_rep_remove(nd_cluster *cl, struct rep *e) {
        rep_event(cl, e, "disconnect");
        nd_cl_svc_task_gone(cl, e);
        if (cl->dns)
                nd_dns_names_drop(nd_dns_table(cl->dns), e->key);
        nd_overlay_peer_del(cl->ov, e->netid, &e->peer);
        nd_log(LOG_DEBUG, "remote endpoint gone", "net=%.12s ct=%.12s node=%s", e->netid, e->ctid, e->node);
        nd_hmap_remove(cl->reps, e->key);
        struct gnode *g = nd_hmap_get(cl->nodes, e->node);
        if (g && g->n_reps > 0)
                g->n_reps--;
        free(e);
        nd_cl_node_gc(cl, g);
}

void nd_cl_rep_remove_key(nd_cluster *cl, const char *key) {
        struct rep *e = nd_hmap_get(cl->reps, key);
        if (e)
                nd_cl_rep_remove(cl, e);
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
        if (p->ip4.family && (!(b = nd_cl_block_of(cl, n, &p->ip4)) || strcmp(b->node, node) != 0))
                return "its IPv4 address is not in an address block of its node";
        if (p->ip6.family && (!(b = nd_cl_block_of(cl, n, &p->ip6)) || strcmp(b->node, node) != 0))
                return "its IPv6 address is not in an address block of its node";
        return NULL;
}

static void rep_reject(nd_cluster *cl, const char *key, const char *why) {
        cl->rejected++;
        snprintf(cl->last_rejected, sizeof(cl->last_rejected), "%s: %s", key, why);
        nd_log(LOG_WARNING, "ignoring an untrusted endpoint record", "key=%s reason=\"%s\"", key, why);
        nd_cl_rep_remove_key(cl, key);
}

/* endpoints/NODE/NET/OWNER */
void nd_cl_rep_put(nd_cluster *cl, const nd_store_kv *kv) {
        const char *key = kv->key, *rest = key + strlen(ND_KEY_GLOBAL_ENDPOINTS);
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
        nd_network *n = nd_cl_net_by_id(cl, netid);
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
        label_copy(e.name, sizeof(e.name), json_string_value(json_object_get(j, "Name")));
        label_copy(e.service, sizeof(e.service), json_string_value(json_object_get(j, "Service")));
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
                rep_event(cl, have, "connect");
        }
        int r = nd_overlay_peer_add(cl->ov, netid, &e.peer);
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "programming a remote endpoint failed", "net=%s ct=%.12s node=%s",
                             n->spec.name, e.ctid, nd_cl_node_label(cl, node));
        rep_dns(cl, have, j, n);
        nd_cl_svc_task(cl, have, j);
        nd_log(LOG_DEBUG, "remote endpoint", "net=%s ct=%.12s node=%s ip=%s", n->spec.name, e.ctid,
               nd_cl_node_label(cl, node), ip4 ? ip4 : ip6 ? ip6 : "");
}

/* Every remote endpoint of node @id goes (its node is no longer live). */
static void reps_drop_node(nd_cluster *cl, const char *id) {
        nd_hmap_iter it = {0};
        struct rep *e;
        while ((e = nd_hmap_next(cl->reps, &it)))
                if (strcmp(e->node, id) == 0)
                        nd_cl_rep_remove(cl, e);
}

/* ---- nodes ---- */

void nd_cl_node_put(nd_cluster *cl, const nd_store_kv *kv) {
        const char *id = kv->key + strlen(ND_KEY_GLOBAL_NODES);
        json_error_t err;
        _cleanup_json_ json_t *j = json_loads(kv->value, 0, &err);
        struct gnode *g = nd_cl_node_get(cl, id, true);
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

void nd_cl_node_del(nd_cluster *cl, const char *id) {
        struct gnode *g = nd_hmap_get(cl->nodes, id);
        if (!g)
                return;
        g->registered = false;
        g->reg_rev = 0;
        nd_log(LOG_INFO, "node removed from the cluster", "node=%s id=%.12s", g->name, g->id);
        nd_cl_node_gc(cl, g);
}

void nd_cl_live_put(nd_cluster *cl, const nd_store_kv *kv) {
        const char *id = kv->key + strlen(ND_KEY_GLOBAL_LIVE);
        json_error_t err;
        _cleanup_json_ json_t *j = json_loads(kv->value, 0, &err);
        struct gnode *g = nd_cl_node_get(cl, id, true);
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
        if (!was && cl->started && strcmp(id, cl->id) != 0) {
                nd_log(LOG_INFO, "node joined", "node=%s id=%.12s addr=%s", g->name, g->id, g->addr);
                nd_cl_event(cl, "node", "join", g->id, g->name, json_pack("{s:s, s:s}", "name", g->name, "addr", g->addr),
                            g->name);
        }
        nd_cl_fw_update(cl);
        nd_cl_slots_changed(cl);
}

void nd_cl_live_del(nd_cluster *cl, const char *id) {
        struct gnode *g = nd_hmap_get(cl->nodes, id);
        if (!g || !g->live)
                return;
        g->live = false;
        g->lease = 0;
        g->down_since = ev_now(cl->loop);
        if (strcmp(id, cl->id) != 0) {
                nd_log(LOG_INFO, "node left", "node=%s id=%.12s", g->name, g->id);
                reps_drop_node(cl, id);
                nd_cl_event(cl, "node", "leave", g->id, g->name, json_pack("{s:s}", "name", g->name), g->name);
        }
        nd_cl_fw_update(cl);
        nd_cl_node_gc(cl, g);
        nd_cl_slots_changed(cl);
}
