/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cluster.c
 * The cluster: node identity and registration, overlay networks, cluster
 * IPAM by address blocks, endpoint discovery through etcd, and the checks
 * that make a peer's record trusted.  See cluster.h for the keys and the
 * rules, and cluster-internal.h for the parts and what each owns.
 *
 * This file is the composition: the shared helpers, the one list and
 * watch of the global prefix and the order its records are applied in
 * (each part applies its own), the firewall's view of the cluster,
 * status and metrics, start and stop.
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
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cluster-internal.h"
#include "firewall.h"
#include "hmap.h"
#include "json-util.h"
#include "log.h"
#include "mac.h"
#include "metrics.h"
#include "network.h"
#include "overlay.h"
#include "server.h"
#include "store.h"

static void on_event(void *userdata, int r, const nd_store_event *ev);

/* ---- helpers ---- */

nd_network *nd_cl_net_by_id(nd_cluster *cl, const char *id) {
        nd_network *n = NULL;
        if (!nd_id_valid(id) || cl->nets.find(cl->userdata, id, &n) < 0 || strcmp(n->id, id) != 0)
                return NULL;
        return n;
}

int64_t nd_cl_wall_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- events ---- */

#define IS(k, prefix) (strncmp((k), (prefix), strlen(prefix)) == 0)

static void apply(nd_cluster *cl, bool del, const nd_store_kv *kv) {
        const char *k = kv->key;
        if (IS(k, ND_KEY_GLOBAL_NETWORKS)) {
                nd_network *n = nd_cl_net_by_id(cl, k + strlen(ND_KEY_GLOBAL_NETWORKS));
                if (!del)
                        nd_cl_net_put(cl, k, kv->value);
                else if (n)
                        nd_cl_net_forget(cl, n);
        } else if (IS(k, ND_KEY_GLOBAL_BLOCKS)) {
                struct gblock *b = nd_hmap_get(cl->block_index, k + strlen(ND_KEY_GLOBAL_BLOCKS));
                if (!del)
                        nd_cl_block_put(cl, k, kv->value, kv->mod_rev);
                else if (b && !b->claiming)
                        nd_cl_block_drop(cl, b);
        } else if (IS(k, ND_KEY_GLOBAL_ENDPOINTS)) {
                if (!del)
                        nd_cl_rep_put(cl, kv);
                else
                        nd_cl_rep_remove_key(cl, k);
        } else if (IS(k, ND_KEY_GLOBAL_SERVICES)) {
                if (!del)
                        nd_cl_svc_put(cl, kv);
                else
                        nd_cl_svc_del(cl, k);
        } else if (IS(k, ND_KEY_GLOBAL_SERVICE_SLOTS)) {
                if (!del)
                        nd_cl_slot_put(cl, kv);
                else
                        nd_cl_slot_del(cl, k);
        } else if (IS(k, ND_KEY_GLOBAL_LIVE)) {
                if (!del)
                        nd_cl_live_put(cl, kv);
                else
                        nd_cl_live_del(cl, k + strlen(ND_KEY_GLOBAL_LIVE));
        } else if (IS(k, ND_KEY_GLOBAL_NODES)) {
                if (!del)
                        nd_cl_node_put(cl, kv);
                else
                        nd_cl_node_del(cl, k + strlen(ND_KEY_GLOBAL_NODES));
        }
}

static void relist(nd_cluster *cl);

/* The order a snapshot is applied in: what a record is checked against
 * comes before it (networks, then nodes and their liveness, then blocks,
 * then endpoints, which may be tasks of the services, and task slots,
 * whose holders are checked against the nodes' leases). */
static int rank(const char *k) {
        return IS(k, ND_KEY_GLOBAL_NETWORKS) ? 0
               : IS(k, ND_KEY_GLOBAL_NODES) || IS(k, ND_KEY_GLOBAL_LIVE) || IS(k, ND_KEY_GLOBAL_SERVICES) ? 1
               : IS(k, ND_KEY_GLOBAL_BLOCKS) ? 2
                                             : 3;
}

void nd_cl_on_listed(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_cluster *cl = userdata;
        nd_hmap_iter it;
        struct rep *e;
        struct gnode *g;
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "reading the cluster state from etcd failed");
                if (!cl->started) {
                        cl->done(cl->userdata, r);
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
        nd_cl_svc_unsee(cl);
        nd_cl_slot_unsee(cl);
        for (int k = 0; k < 4; k++)
                for (size_t i = 0; i < n; i++)
                        if (rank(kvs[i].key) == k)
                                apply(cl, false, &kvs[i]);
        if (!cl->started) {
                /* our own endpoint records from before a restart: those not
                 * published again soon are withdrawn (nd_cluster_ready) */
                char own[128];
                snprintf(own, sizeof(own), ND_KEY_GLOBAL_ENDPOINTS "%s/", cl->id);
                for (size_t i = 0; i < n; i++) {
                        if (!IS(kvs[i].key, own) || ND_GROW(cl->stale, cl->n_stale, cl->cap_stale, 1) < 0)
                                continue;
                        if ((cl->stale[cl->n_stale] = strdup(kvs[i].key)))
                                cl->n_stale++;
                }
        }
        if (cl->started) {
                it = (nd_hmap_iter) {0};
                while ((e = nd_hmap_next(cl->reps, &it)))
                        if (!e->seen)
                                nd_cl_rep_remove(cl, e);
                nd_cl_svc_drop_unseen(cl);
                nd_cl_slot_drop_unseen(cl);
                for (size_t i = cl->n_blocks; i-- > 0;)
                        if (!cl->blocks[i]->seen && !cl->blocks[i]->claiming)
                                nd_cl_block_drop(cl, cl->blocks[i]);
                it = (nd_hmap_iter) {0};
                while ((g = nd_hmap_next(cl->nodes, &it)))
                        if (!g->seen && strcmp(g->id, cl->id) != 0) {
                                g->registered = false;
                                if (g->live)
                                        nd_cl_live_del(cl, g->id);
                                else
                                        nd_cl_node_gc(cl, g);
                        }
                nd_network **nets;
                size_t nn = cl->nets.list(cl->userdata, &nets);
                for (size_t i = nn; i-- > 0;) {
                        bool found = false;
                        if (!nd_network_is_global(nets[i]))
                                continue;
                        for (size_t k = 0; k < n && !found; k++)
                                found = IS(kvs[k].key, ND_KEY_GLOBAL_NETWORKS) && strcmp(kvs[k].key + strlen(ND_KEY_GLOBAL_NETWORKS), nets[i]->id) == 0;
                        if (!found)
                                nd_cl_net_forget(cl, nets[i]);
                }
        }
        /* nodes that are down: their grace period starts now at the latest */
        it = (nd_hmap_iter) {0};
        while ((g = nd_hmap_next(cl->nodes, &it)))
                if (!g->live && !g->down_since)
                        g->down_since = ev_now(cl->loop);
        cl->rev = rev;
        nd_store_watch_cancel(cl->watch);
        cl->watch = NULL;
        r = nd_store_watch_start(cl->st, ND_KEY_GLOBAL, rev, on_event, cl, &cl->watch);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "watching etcd failed");
        nd_cl_fw_update(cl);
        if (!cl->started) {
                size_t nets = 0;
                nd_network **v;
                size_t nn = cl->nets.list(cl->userdata, &v);
                for (size_t i = 0; i < nn; i++)
                        nets += nd_network_is_global(v[i]);
                nd_log(LOG_INFO, "cluster state loaded", "nodes=%zu overlay_networks=%zu remote_endpoints=%zu revision=%" PRId64,
                       nd_hmap_size(cl->nodes), nets, nd_hmap_size(cl->reps), rev);
                cl->started = true;
                nd_cl_fw_update(cl);
                ev_timer_again(cl->loop, &cl->reclaim_timer);
                cl->done(cl->userdata, 0);
        }
}

static void relist(nd_cluster *cl) {
        cl->resyncs++;
        int r = nd_store_list(cl->st, ND_KEY_GLOBAL, nd_cl_on_listed, cl);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "re-reading the cluster state failed");
}

/* etcd does not stamp its events with a time, so the writer does: another
 * host's endpoint record carries its wall-clock time (WrittenMs), and the
 * lag is our wall clock when we apply it minus that, offset by the two
 * clocks' difference (NTP keeps it to milliseconds; below zero counts as
 * zero).  Only watch events count: a re-list applies old records. */
static void watch_lag(nd_cluster *cl, const nd_store_kv *kv) {
        if (!IS(kv->key, ND_KEY_GLOBAL_ENDPOINTS) ||
            strncmp(kv->key + strlen(ND_KEY_GLOBAL_ENDPOINTS), cl->id, ND_NODE_ID_LEN) == 0)
                return;
        _cleanup_json_ json_t *j = json_loads(kv->value, 0, NULL);
        json_t *w = json_object_get(j, "WrittenMs");
        if (!json_is_integer(w) || json_integer_value(w) <= 0)
                return; /* a record of a netd that does not stamp */
        int64_t lag = nd_cl_wall_ms() - (int64_t) json_integer_value(w);
        nd_hist_observe(&cl->watch_lag, lag > 0 ? (double) lag / 1000.0 : 0.0);
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
        if (ev->type == ND_STORE_EVENT_PUT)
                watch_lag(cl, &ev->kv);
        apply(cl, ev->type == ND_STORE_EVENT_DELETE, &ev->kv);
}

/* ---- the firewall's view of the cluster ---- */

/* What containers must not reach (the store, any host's tunnel port) and
 * who may send to this host's tunnel port (live peers). */
void nd_cl_fw_update(nd_cluster *cl) {
        nd_fw *fw = cl->fw;
        if (!fw || !cl->started)
                return;
        if (!cl->fw_owner && !(cl->fw_owner = nd_fw_owner_new(fw, "cluster")))
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
        int r = nd_fw_owner_set(fw, cl->fw_owner, el, n);
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
        size_t nn = cl->nets.list(cl->userdata, &nets);
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
        nd_expo_family(e, "netd_cluster_watch_lag_seconds", "histogram",
                       "From another host writing an endpoint record to this host applying its watch event.");
        nd_expo_hist(e, "netd_cluster_watch_lag_seconds", NULL, &cl->watch_lag);
        nd_expo_family(e, "netd_cluster_watch_revision", "gauge", "The etcd revision of the last cluster change applied.");
        nd_expo_sample(e, "netd_cluster_watch_revision", NULL, (double) cl->rev);
        if (cl->st->ops == &nd_store_etcd_ops)
                nd_store_etcd_metrics(cl->st, e);
}

/* ---- status ---- */

json_t *nd_cluster_status(nd_cluster *cl) {
        char a[ND_ADDR_STRLEN];
        if (!cl)
                return json_pack("{s:b}", "Enabled", 0);
        return json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I}", "Enabled",
                         1, "Node", cl->node, "NodeId", cl->id, "AdvertiseAddr", nd_addr_fmt(&cl->addr, a), "Store",
                         nd_cl_store_name(cl), "Nodes", (json_int_t) nd_hmap_size(cl->nodes),
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
        double now = cl ? ev_now(cl->loop) : 0;
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
                                                                nd_cl_node_label(cl, cl->blocks[i]->node), "NodeId",
                                                                cl->blocks[i]->node));
        nd_hmap_iter it = {0};
        struct rep *e;
        while ((e = nd_hmap_next(cl->reps, &it)))
                if (strcmp(e->netid, n->id) == 0) {
                        char a[ND_ADDR_STRLEN], v[ND_ADDR_STRLEN], mac[18];
                        const nd_overlay_peer *p = &e->peer;
                        nd_mac_fmt(p->mac, mac);
                        json_array_append_new(peers, json_pack("{s:s, s:s, s:s, s:s}", "Node", nd_cl_node_label(cl, e->node),
                                                               "IPv4", p->ip4.family ? nd_addr_fmt(&p->ip4, a) : "",
                                                               "Mac", mac, "Vtep", nd_addr_fmt(&p->vtep, v)));
                }
        json_object_set_new(j, "Blocks", blocks);
        json_object_set_new(j, "RemoteEndpoints", peers);
        return j;
}

/* Every trusted remote endpoint, flat (one per record): the topology
 * groups them by node and id. */
json_t *nd_cluster_remote_endpoints(nd_cluster *cl) {
        json_t *a = json_array();
        nd_hmap_iter it = {0};
        struct rep *e;
        while (cl && a && (e = nd_hmap_next(cl->reps, &it))) {
                char a4[ND_ADDR_STRLEN], a6[ND_ADDR_STRLEN], mac[18];
                const nd_overlay_peer *p = &e->peer;
                nd_mac_fmt(p->mac, mac);
                json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Node", e->node, "Network", e->netid,
                                      "Id", e->ctid, "Name", e->name, "Service", e->service, "IPv4",
                                      p->ip4.family ? nd_addr_fmt(&p->ip4, a4) : "", "IPv6",
                                      p->ip6.family ? nd_addr_fmt(&p->ip6, a6) : "", "Mac", mac);
                if (!j || json_array_append_new(a, j) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
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

/* What both constructors share: @cfg checked, the cluster allocated, the
 * advertise address found; no store and no overlay yet. */
static int cluster_make(struct ev_loop *loop, struct nl_sock *nl, const char *state_dir, nd_dns *dns, nd_fw *fw,
                        const nd_cluster_config *cfg, const nd_cluster_nets_ops *nets,
                        void (*done)(void *userdata, int r), void *userdata, nd_cluster **ret) {
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
        cl->loop = loop;
        cl->nl = nl;
        cl->dns = dns;
        cl->fw = fw;
        cl->nets = *nets;
        cl->done = done;
        cl->userdata = userdata;
        cl->ttl = cfg->ttl ? cfg->ttl : 10;
        cl->grace = cfg->grace ? cfg->grace : 3600;
        cl->vxlan_port = cfg->vxlan_port ? cfg->vxlan_port : 4789;
        snprintf(cl->node, sizeof(cl->node), "%s", cfg->node);
        snprintf(cl->id, sizeof(cl->id), "%s", cfg->node_id);
        ev_timer_init(&cl->keepalive, nd_cl_on_keepalive, 0, cl->ttl / 3.0);
        cl->keepalive.data = cl;
        nd_hist_init(&cl->watch_lag, nd_hist_latency_bounds, nd_hist_latency_n);
        ev_timer_init(&cl->sync_timer, nd_cl_on_sync_timer, 1.0, 0);
        cl->sync_timer.data = cl;
        ev_init(&cl->reclaim_timer, nd_cl_on_reclaim_timer);
        cl->reclaim_timer.repeat = cl->grace / 4 < 0.5 ? 0.5 : cl->grace / 4 > 30 ? 30 : cl->grace / 4;
        cl->reclaim_timer.data = cl;
        ev_timer_init(&cl->prune_timer, nd_cl_on_prune, 2.0, 0);
        cl->prune_timer.data = cl;
        if (!(cl->state_dir = strdup(state_dir)) || nd_hmap_new(&cl->reps) < 0 || nd_hmap_new(&cl->nodes) < 0 ||
            nd_hmap_new(&cl->block_index) < 0 || nd_hmap_new(&cl->slots) < 0) {
                nd_cluster_free(cl);
                return -ENOMEM;
        }
        r = advertise_addr(cfg->advertise, &cl->addr);
        if (r < 0) {
                nd_cluster_free(cl);
                return nd_log_errno(LOG_ERR, r, "--advertise-addr: not an IPv4 address or an interface with one",
                                    "value=%s", cfg->advertise);
        }
        *ret = cl;
        return 0;
}

int nd_cluster_new(struct ev_loop *loop, struct nl_sock *nl, const char *state_dir, nd_dns *dns, nd_fw *fw,
                   const nd_cluster_config *cfg, const nd_cluster_nets_ops *nets, void (*done)(void *userdata, int r),
                   void *userdata, nd_cluster **ret) {
        nd_cluster *cl;
        int r;

        r = cluster_make(loop, nl, state_dir, dns, fw, cfg, nets, done, userdata, &cl);
        if (r < 0)
                return r;
        r = nd_store_open(loop, cfg->url, NULL, &cl->st);
        if (r < 0) {
                nd_cluster_free(cl);
                return nd_log_errno(LOG_ERR, r, "invalid etcd store URL (want etcd://HOST:PORT[,HOST:PORT...])",
                                    "store=%s", cfg->url);
        }
        etcd_addrs(cl, cfg->url);
        r = nd_overlay_new(loop, nl, &cl->addr, cfg->vxlan_port, &cl->ov);
        if (r < 0) {
                nd_cluster_free(cl);
                return r;
        }
        *ret = cl;
        return 0;
}

int nd_cluster_new_with(struct ev_loop *loop, struct nl_sock *nl, const char *state_dir, nd_dns *dns, nd_fw *fw,
                        const nd_cluster_config *cfg, const nd_cluster_nets_ops *nets, nd_store *st, nd_overlay *ov,
                        void (*done)(void *userdata, int r), void *userdata, nd_cluster **ret) {
        nd_cluster *cl;
        int r = cluster_make(loop, nl, state_dir, dns, fw, cfg, nets, done, userdata, &cl);
        if (r < 0) {
                nd_store_free(st);
                nd_overlay_free(ov);
                return r;
        }
        cl->st = st;
        cl->ov = ov;
        *ret = cl;
        return 0;
}

/* The store's name for logs and the status: etcd's endpoint in use, else
 * the backend's name (a store handed to nd_cluster_new_with()). */
const char *nd_cl_store_name(const nd_cluster *cl) {
        return cl->st->ops == &nd_store_etcd_ops ? nd_store_etcd_endpoint(cl->st) : nd_store_backend(cl->st);
}

int nd_cluster_start(nd_cluster *cl) {
        /* this node and its lease first (ours from a previous run if it is
         * still live), then the cluster's state */
        nd_cl_renew(cl);
        return cl->renewing ? 0 : -ENOMEM;
}

nd_cluster *nd_cluster_free(nd_cluster *cl) {
        if (!cl)
                return NULL;
        ev_timer_stop(cl->loop, &cl->keepalive);
        ev_timer_stop(cl->loop, &cl->sync_timer);
        ev_timer_stop(cl->loop, &cl->reclaim_timer);
        ev_timer_stop(cl->loop, &cl->prune_timer);
        nd_store_watch_cancel(cl->watch);
        /* the lease is not revoked: a restart within its TTL keeps it and
         * the peers' view; a host that stays away drops out when it expires */
        nd_store_free(cl->st);
        nd_overlay_free(cl->ov);
        if (cl->fw_owner && cl->fw)
                nd_fw_owner_free(cl->fw, cl->fw_owner);
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
        free(cl->svc_ids);
        nd_cl_slots_free(cl);
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
        free(cl->state_dir);
        free(cl);
        return NULL;
}
