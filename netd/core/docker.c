/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's networks on netd (docker.h): the tables of pools, bindings and
 * endpoints, their store records and their load at start-up, the calls
 * that write them, the status for GET /v1/docker, and the registries this
 * module fills: the prefixes of its pools and the ports of its endpoints.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cluster.h"
#include "diag.h"
#include "docker-internal.h"
#include "docker-proto.h"
#include "firewall.h"
#include "json-util.h"
#include "log.h"
#include "mac.h"
#include "manager-internal.h"
#include "server.h"
#include "service.h"
#include "services.h"

void nd_docker_vec_drop(void **v, size_t *n, const void *p) {
        for (size_t i = 0; i < *n; i++)
                if (v[i] == p) {
                        v[i] = v[--*n];
                        return;
                }
}

struct nd_dplug *nd_docker_state(nd_manager *m) {
        if (!m->dplug)
                m->dplug = calloc(1, sizeof(*m->dplug));
        return m->dplug;
}

bool nd_docker_id_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;
        return n > 0 && n <= DOCKER_ID_MAX && strspn(s, "0123456789abcdefABCDEF") == n;
}

nd_docker_pool *nd_docker_pool_find(nd_manager *m, const char *id) {
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && id && i < dp->n_pools; i++)
                if (strcmp(dp->pools[i]->id, id) == 0)
                        return dp->pools[i];
        return NULL;
}

nd_docker_ep *nd_docker_ep_find(nd_manager *m, const char *id) {
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && id && i < dp->n_eps; i++)
                if (strcmp(dp->eps[i]->id, id) == 0)
                        return dp->eps[i];
        return NULL;
}

nd_network *nd_docker_net_by_id(nd_manager *m, const char *id) {
        nd_network *n = NULL;
        return nd_id_valid(id) && nd_manager_network_find(m, id, &n) == 0 && strcmp(n->id, id) == 0 ? n : NULL;
}

nd_docker_bind *nd_docker_bind_find(nd_manager *m, const char *dnet) {
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && dnet && i < dp->n_binds; i++)
                if (strcmp(dp->binds[i]->dnet, dnet) == 0)
                        return dp->binds[i];
        return NULL;
}

/* The netd network of Docker network @dnet: one it was bound to, or the
 * one made for it. */
nd_network *nd_docker_dnet_find(nd_manager *m, const char *dnet) {
        nd_network **v;
        nd_docker_bind *b = nd_docker_bind_find(m, dnet);
        if (b)
                return nd_docker_net_by_id(m, b->net_id);
        size_t n = nd_manager_networks(m, &v);
        for (size_t i = 0; dnet && i < n; i++) {
                const char *l = json_string_value(json_object_get(v[i]->spec.labels, LABEL_NETWORK));
                if (l && strcmp(l, dnet) == 0)
                        return v[i];
        }
        return NULL;
}

/* The network of @p: the one it was taken from, or the Docker network
 * made on its subnet; or NULL. */
nd_network *nd_docker_pool_net(nd_manager *m, const nd_docker_pool *p) {
        nd_network **v;
        if (p->net_id[0])
                return nd_docker_net_by_id(m, p->net_id);
        size_t n = nd_manager_networks(m, &v);
        for (size_t i = 0; i < n; i++) {
                if (!json_object_get(v[i]->spec.labels, LABEL_NETWORK))
                        continue;
                for (size_t k = 0; k < v[i]->spec.n_ipam; k++)
                        if (v[i]->spec.ipam[k].subnet.len == p->pool.len &&
                            nd_addr_equal(&v[i]->spec.ipam[k].subnet.addr, &p->pool.addr))
                                return v[i];
        }
        return NULL;
}

nd_docker_pool *nd_docker_pool_of_net(nd_manager *m, const nd_network *n) {
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && i < dp->n_pools; i++)
                if (nd_docker_pool_net(m, dp->pools[i]) == n)
                        return dp->pools[i];
        return NULL;
}

/* ---- records ---- */

json_t *nd_docker_pool_to_json(const nd_docker_pool *p) {
        char a[ND_PREFIX_STRLEN], b[ND_PREFIX_STRLEN], g[ND_ADDR_STRLEN];
        return json_pack("{s:s, s:s, s:s, s:s, s:s}", "PoolID", p->id, "Pool", nd_prefix_fmt(&p->pool, a), "SubPool",
                         p->sub.addr.family ? nd_prefix_fmt(&p->sub, b) : "", "Gateway",
                         p->gateway.family ? nd_addr_fmt(&p->gateway, g) : "", "NetdNetwork", p->net_id);
}

static int pool_from_json(const json_t *j, nd_docker_pool *p) {
        const char *id = json_string_value(json_object_get(j, "PoolID"));
        const char *pool = json_string_value(json_object_get(j, "Pool"));
        const char *sub = json_string_value(json_object_get(j, "SubPool"));
        const char *gw = json_string_value(json_object_get(j, "Gateway"));
        const char *net = json_string_value(json_object_get(j, "NetdNetwork"));
        memset(p, 0, sizeof(*p));
        if (net && *net) {
                if (!nd_id_valid(net))
                        return -EINVAL;
                snprintf(p->net_id, sizeof(p->net_id), "%s", net);
        }
        if (!id || strlen(id) != ND_DOCKER_POOL_ID_LEN || !pool || nd_prefix_parse(pool, ND_PREFIX_STRICT, &p->pool, NULL) < 0 ||
            (sub && *sub && nd_prefix_parse(sub, ND_PREFIX_STRICT, &p->sub, NULL) < 0) ||
            (gw && *gw && nd_addr_parse(gw, &p->gateway) < 0))
                return -EINVAL;
        snprintf(p->id, sizeof(p->id), "%s", id);
        return 0;
}

static json_t *ep_to_json(const nd_docker_ep *e) {
        char a4[ND_ADDR_STRLEN], a6[ND_ADDR_STRLEN], mac[18];
        nd_mac_fmt(e->mac, mac);
        return json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:i, s:b, s:s, s:s, s:s, s:b, s:o}", "EndpointID", e->id,
                         "NetworkID", e->dnet, "NetdNetwork", e->net_id, "IPv4Address",
                         e->a4.family ? nd_addr_fmt(&e->a4, a4) : "", "IPv4PrefixLen", (int) e->plen4, "OwnIPv4",
                         e->own4, "IPv6Address", e->a6.family ? nd_addr_fmt(&e->a6, a6) : "", "IPv6PrefixLen",
                         (int) e->plen6, "OwnIPv6", e->own6, "MacAddress", mac, "HostIfName", e->host_if,
                         "PeerIfName", e->peer_if, "Joined", e->joined, "PortBindings",
                         nd_published_to_json(&e->pub));
}

json_t *nd_docker_ep_record(const nd_docker_ep *e) {
        json_t *j = ep_to_json(e), *al = json_array();
        for (size_t i = 0; al && i < e->n_aliases; i++)
                json_array_append_new(al, json_string(e->aliases[i]));
        if (j) {
                json_object_set_new(j, "Name", json_string(e->name));
                json_object_set_new(j, "Aliases", al ? al : json_array());
                json_object_set_new(j, "Service", json_string(e->service));
        } else
                json_decref(al);
        return j;
}

static int ep_from_json(const json_t *j, nd_docker_ep *e) {
        const char *id = json_string_value(json_object_get(j, "EndpointID"));
        const char *dnet = json_string_value(json_object_get(j, "NetworkID"));
        const char *net = json_string_value(json_object_get(j, "NetdNetwork"));
        const char *a4 = json_string_value(json_object_get(j, "IPv4Address"));
        const char *a6 = json_string_value(json_object_get(j, "IPv6Address"));
        const char *mac = json_string_value(json_object_get(j, "MacAddress"));
        const char *hi = json_string_value(json_object_get(j, "HostIfName"));
        const char *pi = json_string_value(json_object_get(j, "PeerIfName"));
        memset(e, 0, sizeof(*e));
        if (!nd_docker_id_valid(id) || !nd_docker_id_valid(dnet) || !nd_id_valid(net) || !mac || nd_docker_mac_parse(mac, e->mac) < 0 ||
            !hi || strlen(hi) >= sizeof(e->host_if) || !pi || strlen(pi) >= sizeof(e->peer_if) ||
            (a4 && *a4 && nd_addr_parse(a4, &e->a4) < 0) || (a6 && *a6 && nd_addr_parse(a6, &e->a6) < 0) ||
            nd_published_from_json(json_object_get(j, "PortBindings"), &e->pub, NULL) < 0)
                return -EINVAL;
        snprintf(e->id, sizeof(e->id), "%s", id);
        snprintf(e->dnet, sizeof(e->dnet), "%s", dnet);
        snprintf(e->net_id, sizeof(e->net_id), "%s", net);
        snprintf(e->host_if, sizeof(e->host_if), "%s", hi);
        snprintf(e->peer_if, sizeof(e->peer_if), "%s", pi);
        e->plen4 = (unsigned) json_integer_value(json_object_get(j, "IPv4PrefixLen"));
        e->plen6 = (unsigned) json_integer_value(json_object_get(j, "IPv6PrefixLen"));
        e->own4 = json_is_true(json_object_get(j, "OwnIPv4"));
        e->own6 = json_is_true(json_object_get(j, "OwnIPv6"));
        e->joined = json_is_true(json_object_get(j, "Joined"));
        const char *name = json_string_value(json_object_get(j, "Name"));
        if (name && nd_name_valid(name) == 0)
                snprintf(e->name, sizeof(e->name), "%s", name);
        const char *svc = json_string_value(json_object_get(j, "Service"));
        if (svc && nd_service_name_valid(svc))
                snprintf(e->service, sizeof(e->service), "%s", svc);
        nd_aliases_from_json(json_object_get(j, "Aliases"), e->aliases, &e->n_aliases);
        return 0;
}

void nd_docker_ep_free(nd_docker_ep *e) {
        if (!e)
                return;
        /* requests still waiting for a Leave: netd is stopping, their
         * connections are gone */
        for (struct nd_docker_later *l = e->later, *next; l; l = next) {
                next = l->next;
                free(l);
        }
        nd_docker_lookup_stop(e);
        nd_published_done(&e->pub);
        free(e);
}

void nd_docker_ep_spec(const nd_docker_ep *e, nd_network *n, nd_docker_spec *b) {
        memset(b, 0, sizeof(*b));
        snprintf(b->key, sizeof(b->key), "docker:%s", e->id);
        nd_id_derive(b->key, b->owner_id);
        b->ep = (nd_endpoint) { .addr4 = e->a4, .addr6 = e->a6, .plen4 = e->plen4, .plen6 = e->plen6,
                                .n_aliases = e->n_aliases };
        snprintf(b->ep.net_id, sizeof(b->ep.net_id), "%s", e->net_id);
        if (n)
                snprintf(b->ep.net_name, sizeof(b->ep.net_name), "%s", n->spec.name);
        snprintf(b->ep.host_ifname, sizeof(b->ep.host_ifname), "%s", e->host_if);
        memcpy(b->ep.mac, e->mac, 6);
        memcpy(b->ep.aliases, e->aliases, sizeof(b->ep.aliases));
        b->names[0] = e->name;
        b->sp = (nd_ep_spec) { .kind = ND_EP_DOCKER, .net = n, .ep = &b->ep, .has_mac = true,
                               .peer_ifname = e->peer_if, .dns_key = b->key, .names = b->names, .n_names = 1,
                               .cluster_owner = b->owner_id, .name = e->name, .hostname = e->name,
                               .service = e->service };
}

/* On an overlay network, peers learn the endpoint from the cluster (no
 * name until dockerd's API told it: the plugin protocol carries none). */
void nd_docker_ep_publish(nd_manager *m, const nd_docker_ep *e, bool on) {
        nd_network *n = NULL;
        nd_docker_spec b;
        (void) nd_manager_network_find(m, e->net_id, &n);
        nd_docker_ep_spec(e, n, &b);
        if (on && n)
                (void) nd_endpoint_attach(m, &b.sp, ND_EP_ANNOUNCE, NULL);
        else
                nd_endpoint_detach(m, &b.sp, ND_EP_ANNOUNCE);
}

/* The container's names in netd's DNS on the endpoint's network, as a
 * netd container's: name, aliases, PTR NAME.NETWORK. */
void nd_docker_ep_names(nd_manager *m, const nd_docker_ep *e, bool on) {
        nd_network *n = NULL;
        nd_docker_spec b;
        (void) nd_manager_network_find(m, e->net_id, &n);
        nd_docker_ep_spec(e, n, &b);
        if (on && n && e->name[0])
                (void) nd_endpoint_attach(m, &b.sp, ND_EP_NAMES, NULL);
        else
                nd_endpoint_detach(m, &b.sp, ND_EP_NAMES);
}

void nd_docker_ep_task(nd_manager *m, const nd_docker_ep *e, bool on) {
        char owner[DOCKER_ID_MAX + 16], what[ND_NAME_MAX + 32];
        const char *net = e->net_id;
        nd_diag d = {0};
        int r;

        snprintf(owner, sizeof(owner), "docker:%s", e->id);
        r = -ENOENT;
        if (on && e->joined && e->service[0]) {
                snprintf(what, sizeof(what), "Docker container '%s'", e->name[0] ? e->name : e->id);
                /* the label is learnt after Join answered: too late to
                 * refuse, so a wrong one is logged and ignored */
                r = nd_services_task_check(m, e->service, &net, 1, what, &d);
                if (r < 0)
                        nd_log(LOG_WARNING, "docker plugin: the container's " LABEL_SERVICE " label is ignored",
                               "endpoint=%.12s reason=\"%s\"", e->id, d.msg);
                else {
                        /* replaces what it had: its slots stay where they
                         * are.  No health check runs in dockerd's
                         * containers: a backend while joined. */
                        r = nd_services_task_set(m, owner, e->service, e->net_id, &e->a4,
                                                 e->name[0] ? e->name : NULL, NULL, ND_TASK_NONE);
                        if (r < 0)
                                nd_log_errno(LOG_ERR, r, "making a Docker endpoint a task failed",
                                             "endpoint=%.12s service=%s", e->id, e->service);
                }
        }
        if (r < 0)
                nd_services_task_drop(m, owner);
        nd_services_flush(m);
}

void nd_docker_ep_what(const nd_docker_ep *e, char *buf, size_t size) {
        snprintf(buf, size, "Docker endpoint %.12s", e->id);
}

/* ---- one store write per request ---- */

struct nd_docker_call *nd_docker_call_new(nd_manager *m, nd_docker_done_fn done, void *userdata) {
        struct nd_docker_call *c = calloc(1, sizeof(*c));
        if (c) {
                c->m = m;
                c->done = done;
                c->userdata = userdata;
        }
        return c;
}

void nd_docker_call_free(struct nd_docker_call *c) {
        free(c);
}

void nd_docker_call_stored(void *userdata, int r, int64_t rev) {
        struct nd_docker_call *c = userdata;
        nd_diag d = {0};
        if (c->pool)
                c->pool->busy = false;
        if (c->ep)
                c->ep->busy = false;
        if (r < 0) {
                if (c->undo)
                        c->undo(c);
                nd_diag_set(&d, r == -ECANCELED ? -EEXIST : r, "%s: store: %s", c->what,
                            r == -ECANCELED ? "already exists" : strerror(-r));
                c->done(c->userdata, r == -ECANCELED ? -EEXIST : r, &d, NULL);
        } else {
                if (c->commit)
                        c->commit(c);
                nd_log(LOG_INFO, "docker plugin", "op=\"%s\"", c->what);
                c->done(c->userdata, 0, NULL, &c->res);
        }
        nd_docker_call_free(c);
}

/* Submit @t; on failure at once, undo and report.  Takes @c and @t. */
void nd_docker_call_submit(struct nd_docker_call *c, nd_store_txn_builder *t) {
        int r = nd_store_txn_submit(t, c->m->store, nd_docker_call_stored, c);
        if (r < 0)
                nd_docker_call_stored(c, r, 0);
        else {
                if (c->pool)
                        c->pool->busy = true;
                if (c->ep)
                        c->ep->busy = true;
        }
}

char *nd_docker_dump(json_t *j) {
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return s;
}

/* Write @e's record and report. */
void nd_docker_ep_store(struct nd_docker_call *c) {
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_put_json_new(t, nd_store_txn_keyf(t, ND_KEY_DOCKER_ENDPOINTS "%s", c->ep->id),
                                         nd_docker_ep_record(c->ep));
        nd_docker_call_submit(c, t);
}

/* The port takes only the endpoint's MAC and addresses (firewall.h), from
 * before the veth exists until it is gone. */
int nd_docker_ep_guard(nd_manager *m, const nd_docker_ep *e) {
        nd_network *n = NULL;
        (void) nd_manager_network_find(m, e->net_id, &n);
        return nd_fw_port_set(m->fw, e->host_if, e->mac, &e->a4, &e->a6, n && !nd_network_icc(n));
}

/* ---- status, registries, start-up ---- */

json_t *nd_docker_status(nd_manager *m) {
        struct nd_dplug *dp = m->dplug;
        json_t *pools = json_array(), *eps = json_array();
        for (size_t i = 0; dp && pools && i < dp->n_pools; i++) {
                json_t *p = nd_docker_pool_to_json(dp->pools[i]);
                nd_network *n = nd_docker_pool_net(m, dp->pools[i]);
                if (p)
                        json_object_set_new(p, "Network", json_string(n ? n->spec.name : ""));
                json_array_append_new(pools, p);
        }
        for (size_t i = 0; dp && eps && i < dp->n_eps; i++) {
                const nd_docker_ep *e = dp->eps[i];
                nd_network *n = NULL;
                json_t *j = nd_docker_ep_record(e);
                if (j && nd_manager_network_find(m, e->net_id, &n) == 0)
                        json_object_set_new(j, "NetworkName", json_string(n->spec.name));
                json_array_append_new(eps, j);
        }
        json_t *binds = json_array();
        for (size_t i = 0; dp && binds && i < dp->n_binds; i++) {
                nd_network *n = nd_docker_net_by_id(m, dp->binds[i]->net_id);
                json_array_append_new(binds, json_pack("{s:s, s:s, s:s}", "NetworkID", dp->binds[i]->dnet,
                                                       "NetdNetwork", dp->binds[i]->net_id, "NetworkName",
                                                       n ? n->spec.name : ""));
        }
        return json_pack("{s:b, s:s?, s:o, s:o, s:o}", "Enabled", m->plugin_socket != NULL, "Socket", m->plugin_socket,
                         "Networks", binds ? binds : json_null(), "Pools", pools ? pools : json_null(), "Endpoints",
                         eps ? eps : json_null());
}

static size_t pools_reserved(void *userdata, nd_prefix *buf, size_t max) {
        nd_manager *m = userdata;
        struct nd_dplug *dp = m->dplug;
        size_t k = 0;
        for (size_t i = 0; dp && i < dp->n_pools && (!buf || k < max); i++)
                if (!nd_docker_pool_net(m, dp->pools[i])) {
                        if (buf)
                                buf[k] = dp->pools[i]->pool;
                        k++;
                }
        return k;
}

const char *nd_docker_pools_clash(void *userdata, const nd_network_spec *spec, const nd_prefix *p,
                                  nd_prefix *ret_with) {
        nd_manager *m = userdata;
        struct nd_dplug *dp = m->dplug;
        bool docker = spec && json_object_get(spec->labels, LABEL_NETWORK);
        for (size_t i = 0; dp && i < dp->n_pools; i++) {
                const nd_docker_pool *o = dp->pools[i];
                if (!nd_prefix_overlap(&o->pool, p) || nd_docker_pool_net(m, o))
                        continue;
                /* the Docker network being made on exactly this pool */
                if (docker && o->pool.len == p->len && nd_addr_equal(&o->pool.addr, &p->addr))
                        continue;
                *ret_with = o->pool;
                return "a Docker pool (netd's IPAM driver)";
        }
        return NULL;
}

static const char *eps_port_holder(void *userdata, const nd_published *self, const nd_port_binding *b,
                                   char *buf, size_t size) {
        nd_manager *m = userdata;
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && i < dp->n_eps; i++) {
                const nd_docker_ep *e = dp->eps[i];
                if (&e->pub != self && nd_published_clash(&e->pub, b)) {
                        nd_docker_ep_what(e, buf, size);
                        return buf;
                }
        }
        return NULL;
}

static void eps_ports_restore(void *userdata) {
        nd_manager *m = userdata;
        struct nd_dplug *dp = m->dplug;
        char what[64];
        for (size_t i = 0; dp && i < dp->n_eps; i++) {
                nd_docker_ep *e = dp->eps[i];
                nd_docker_ep_what(e, what, sizeof(what));
                nd_publish_restore(m, &e->pub, what, &e->a4, &e->a6, true);
        }
}

static const nd_port_owner_ops eps_ports = {
        .holder = eps_port_holder,
        .restore = eps_ports_restore,
};

static const nd_prefix_owner_ops pools_prefixes = {
        .reserved = pools_reserved,
        .clash = nd_docker_pools_clash,
};

static void on_loaded(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_manager *m = userdata;
        struct nd_dplug *dp = nd_docker_state(m);
        size_t pools = 0, eps = 0;
        if (r < 0 || !dp)
                nd_log_errno(LOG_ERR, r < 0 ? r : -ENOMEM, "loading Docker plugin state failed");
        for (size_t i = 0; r == 0 && dp && i < n; i++) {
                json_error_t err;
                _cleanup_json_ json_t *j = json_loadb(kvs[i].value, kvs[i].value_len, 0, &err);
                bool ok = false;
                if (strncmp(kvs[i].key, ND_KEY_DOCKER_POOLS, strlen(ND_KEY_DOCKER_POOLS)) == 0) {
                        nd_docker_pool *p = calloc(1, sizeof(*p));
                        ok = p && j && pool_from_json(j, p) == 0 &&
                             ND_DOCKER_PUSH(dp->pools, dp->n_pools, dp->cap_pools, p) == 0;
                        if (!ok)
                                free(p);
                        pools += ok;
                } else if (strncmp(kvs[i].key, ND_KEY_DOCKER_NETWORKS, strlen(ND_KEY_DOCKER_NETWORKS)) == 0) {
                        nd_docker_bind *b = calloc(1, sizeof(*b));
                        const char *dn = json_string_value(json_object_get(j, "NetworkID"));
                        const char *ni = json_string_value(json_object_get(j, "NetdNetwork"));
                        ok = b && nd_docker_id_valid(dn) && nd_id_valid(ni) &&
                             ND_DOCKER_PUSH(dp->binds, dp->n_binds, dp->cap_binds, b) == 0;
                        if (ok) {
                                snprintf(b->dnet, sizeof(b->dnet), "%s", dn);
                                snprintf(b->net_id, sizeof(b->net_id), "%s", ni);
                        } else
                                free(b);
                } else if (strncmp(kvs[i].key, ND_KEY_DOCKER_ENDPOINTS, strlen(ND_KEY_DOCKER_ENDPOINTS)) == 0) {
                        nd_docker_ep *e = calloc(1, sizeof(*e));
                        nd_network *net = NULL;
                        ok = e && j && ep_from_json(j, e) == 0 && nd_manager_network_find(m, e->net_id, &net) == 0 &&
                             ND_DOCKER_PUSH(dp->eps, dp->n_eps, dp->cap_eps, e) == 0;
                        if (!ok)
                                nd_docker_ep_free(e);
                        else if (e->joined) {
                                int q = nd_docker_ep_guard(m, e);
                                if (q < 0)
                                        nd_log_errno(LOG_ERR, q, "guarding the endpoint's port failed",
                                                     "endpoint=%.12s ifname=%s", e->id, e->host_if);
                                nd_docker_ep_publish(m, e, true);
                                nd_docker_ep_names(m, e, true);
                                nd_docker_ep_task(m, e, true);
                                nd_docker_lookup_start(m, e); /* if netd stopped before it learnt the name */
                        }
                        eps += ok;
                }
                if (!ok)
                        nd_log(LOG_WARNING, "skipping an unreadable Docker plugin record", "key=%s", kvs[i].key);
        }
        nd_log(LOG_INFO, "Docker plugin state loaded", "pools=%zu endpoints=%zu", pools, eps);
        void (*done)(nd_manager *) = dp ? dp->done : NULL;
        if (dp)
                dp->done = NULL;
        if (done)
                done(m);
}

int nd_docker_load(nd_manager *m, void (*done)(nd_manager *m)) {
        struct nd_dplug *dp = nd_docker_state(m);
        int r;
        if (!dp)
                return -ENOMEM;
        r = nd_publish_owner_add(m, &eps_ports, m);
        if (r >= 0)
                r = nd_manager_prefix_owner_add(m, &pools_prefixes, m);
        if (r < 0)
                return r;
        dp->done = done;
        return nd_store_list(m->store, ND_KEY_DOCKER, on_loaded, m);
}

void nd_docker_free(nd_manager *m) {
        struct nd_dplug *dp = m->dplug;
        if (!dp)
                return;
        /* the veths and ports stay for dockerd's containers; the sockets
         * holding the ports close with the process */
        for (size_t i = 0; i < dp->n_pools; i++)
                free(dp->pools[i]);
        for (size_t i = 0; i < dp->n_eps; i++)
                nd_docker_ep_free(dp->eps[i]);
        for (size_t i = 0; i < dp->n_binds; i++)
                free(dp->binds[i]);
        free(dp->binds);
        free(dp->pools);
        free(dp->eps);
        free(dp);
        m->dplug = NULL;
}
