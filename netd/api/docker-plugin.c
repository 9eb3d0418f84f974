/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's network and IPAM plugin protocol (libnetwork's remote driver,
 * https://github.com/moby/moby/blob/master/libnetwork/docs/remote.md and
 * ipam.md) on --docker-plugin-socket.  dockerd finds the plugin by its
 * socket, /run/docker/plugins/netd.sock, and POSTs JSON to
 * /Plugin.Activate, /NetworkDriver.* and /IpamDriver.*; errors are
 * {"Err": "..."} with a 4xx/5xx status.
 *
 * Mapping onto netd:
 *  - IPAM pool (RequestPool): a subnet reserved by a pool record,
 *    /netd/v1/docker/pools/<PoolID>; netd's other networks avoid it.  The
 *    gateway Docker asks for before the network exists is kept in it.
 *  - Network (CreateNetwork): an ordinary netd bridge network named
 *    docker-<id12>, labelled com.docker.network.id=<NetworkID>, on the
 *    pool's subnet, gateway and sub-pool (or, with Docker's own IPAM, on
 *    the subnet and gateway Docker chose).  It shows in netctl network ls
 *    and takes part in netd's isolation, masquerade and DNS forwarding.
 *  - Addresses (RequestAddress) on a network of a netd pool are netd IPAM
 *    records owned by "docker-pool:<PoolID>".  With Docker's own IPAM,
 *    CreateEndpoint reserves the address Docker chose ("docker:<EndpointID>"),
 *    so netd's IPAM never hands it out twice either way.
 *  - Endpoint: /netd/v1/docker/endpoints/<EndpointID>.  Join makes a veth
 *    pair in netd's namespace (host end on the bridge) and returns the
 *    other end for dockerd to move into the sandbox, as its bridge driver
 *    does; Leave deletes it.
 *  - ProgramExternalConnectivity: the endpoint's published ports, held
 *    and programmed in netd's nftables maps like a netd container's
 *    (publish.c); a port is given to one owner only.
 *
 * Every change is applied in memory as a reservation, written to the
 * store, and answered when the store confirms (undone if it fails), as
 * in the rest of the manager.  Requests on an endpoint while another is in
 * flight on it get 409: dockerd serialises them anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api.h"
#include "bridge.h"
#include "cluster.h"
#include "diag.h"
#include "firewall.h"
#include "docker-plugin.h"
#include "docker-proto.h"
#include "http.h"
#include "json-util.h"
#include "link-reaper.h"
#include "server.h"
#include "unix-get.h"
#include "log.h"
#include "manager-internal.h"
#include "network.h"
#include "nl-link.h"
#include "store.h"
#include "subnet.h"

#define KEY_POOLS "/netd/v1/docker/pools/"
#define KEY_EPS "/netd/v1/docker/endpoints/"
#define KEY_BINDS "/netd/v1/docker/networks/"
#define OPT_NETWORK "netd.network"   /* --ipam-opt / -o: use an existing netd network */
#define LABEL_NETWORK "com.docker.network.id"
#define SPACE_LOCAL "netd-local"
#define SPACE_GLOBAL "netd-global"
#define OPT_GATEWAY "com.docker.network.gateway"
#define POOL_ID_LEN 19 /* "np-" + 16 hex */
#define DOCKER_ID_MAX 128

typedef struct dp_pool {
        char id[POOL_ID_LEN + 1];
        nd_prefix pool, sub;      /* sub.addr.family 0: the whole pool */
        nd_addr gateway;          /* family 0: not requested yet */
        char net_id[ND_ID_LEN + 1];/* "": a pool of its own; else an existing
                                   * netd network's subnet (--ipam-opt netd.network) */
        bool busy;
} dp_pool;

/* A Docker network on an existing netd network (-o netd.network=NAME). */
typedef struct dp_bind {
        char dnet[DOCKER_ID_MAX + 1];
        char net_id[ND_ID_LEN + 1];
} dp_bind;

typedef struct dp_ep {
        char id[DOCKER_ID_MAX + 1];
        char dnet[DOCKER_ID_MAX + 1];
        char net_id[ND_ID_LEN + 1];
        nd_addr a4, a6;
        unsigned plen4, plen6;
        bool own4, own6;          /* reserved by CreateEndpoint, released with it */
        uint8_t mac[6];
        char host_if[16], peer_if[16];
        bool joined;
        nd_published pub;
        bool busy;
        /* the container's name and aliases, learnt from dockerd's API
         * (--docker-host) after Join: the protocol does not carry them */
        char name[ND_NAME_MAX + 1];
        char aliases[ND_MAX_ALIASES][ND_NAME_MAX + 1];
        size_t n_aliases;
        struct name_lookup *lookup;
} dp_ep;

struct name_lookup {
        nd_manager *m;
        dp_ep *ep;
        ev_timer wait;
        nd_unix_get *get;
        int tries;
};

struct nd_dplug {
        dp_pool **pools;
        size_t n_pools, cap_pools;
        dp_ep **eps;
        size_t n_eps, cap_eps;
        dp_bind **binds;
        size_t n_binds, cap_binds;
        void (*done)(nd_manager *m);
};

/* ---- small helpers ---- */

static int vec_push(void ***v, size_t *n, size_t *cap, void *p) {
        if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 16;
                void **nv = realloc(*v, c * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                *v = nv;
                *cap = c;
        }
        (*v)[(*n)++] = p;
        return 0;
}

static void vec_drop(void **v, size_t *n, const void *p) {
        for (size_t i = 0; i < *n; i++)
                if (v[i] == p) {
                        v[i] = v[--*n];
                        return;
                }
}

static struct nd_dplug *dp_of(nd_manager *m) {
        if (!m->dplug)
                m->dplug = calloc(1, sizeof(*m->dplug));
        return m->dplug;
}

static bool docker_id_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;
        return n > 0 && n <= DOCKER_ID_MAX && strspn(s, "0123456789abcdefABCDEF") == n;
}

static dp_pool *pool_find(nd_manager *m, const char *id) {
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && id && i < dp->n_pools; i++)
                if (strcmp(dp->pools[i]->id, id) == 0)
                        return dp->pools[i];
        return NULL;
}

static dp_ep *ep_find(nd_manager *m, const char *id) {
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && id && i < dp->n_eps; i++)
                if (strcmp(dp->eps[i]->id, id) == 0)
                        return dp->eps[i];
        return NULL;
}

static nd_network *net_by_id(nd_manager *m, const char *id) {
        nd_network *n = NULL;
        return nd_id_valid(id) && nd_manager_network_find(m, id, &n) == 0 && strcmp(n->id, id) == 0 ? n : NULL;
}

static dp_bind *bind_find(nd_manager *m, const char *dnet) {
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && dnet && i < dp->n_binds; i++)
                if (strcmp(dp->binds[i]->dnet, dnet) == 0)
                        return dp->binds[i];
        return NULL;
}

/* The netd network of Docker network @dnet: one it was bound to, or the
 * one made for it. */
static nd_network *dnet_find(nd_manager *m, const char *dnet) {
        nd_network **v;
        dp_bind *b = bind_find(m, dnet);
        if (b)
                return net_by_id(m, b->net_id);
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
static nd_network *pool_net(nd_manager *m, const dp_pool *p) {
        nd_network **v;
        if (p->net_id[0])
                return net_by_id(m, p->net_id);
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

static dp_pool *pool_of_net(nd_manager *m, const nd_network *n) {
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && i < dp->n_pools; i++)
                if (pool_net(m, dp->pools[i]) == n)
                        return dp->pools[i];
        return NULL;
}

static void mac_fmt(const uint8_t mac[6], char buf[static 18]) {
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

static int mac_parse(const char *s, uint8_t mac[6]) {
        unsigned b[6];
        char tail;
        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
            (b[0] & 1))
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t) b[i];
        return 0;
}

/* ---- records ---- */

static json_t *pool_to_json(const dp_pool *p) {
        char a[ND_PREFIX_STRLEN], b[ND_PREFIX_STRLEN], g[ND_ADDR_STRLEN];
        return json_pack("{s:s, s:s, s:s, s:s, s:s}", "PoolID", p->id, "Pool", nd_prefix_fmt(&p->pool, a), "SubPool",
                         p->sub.addr.family ? nd_prefix_fmt(&p->sub, b) : "", "Gateway",
                         p->gateway.family ? nd_addr_fmt(&p->gateway, g) : "", "NetdNetwork", p->net_id);
}

static int pool_from_json(const json_t *j, dp_pool *p) {
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
        if (!id || strlen(id) != POOL_ID_LEN || !pool || nd_prefix_parse(pool, ND_PREFIX_STRICT, &p->pool, NULL) < 0 ||
            (sub && *sub && nd_prefix_parse(sub, ND_PREFIX_STRICT, &p->sub, NULL) < 0) ||
            (gw && *gw && nd_addr_parse(gw, &p->gateway) < 0))
                return -EINVAL;
        snprintf(p->id, sizeof(p->id), "%s", id);
        return 0;
}

static json_t *ep_to_json(const dp_ep *e) {
        char a4[ND_ADDR_STRLEN], a6[ND_ADDR_STRLEN], mac[18];
        mac_fmt(e->mac, mac);
        return json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:i, s:b, s:s, s:s, s:s, s:b, s:o}", "EndpointID", e->id,
                         "NetworkID", e->dnet, "NetdNetwork", e->net_id, "IPv4Address",
                         e->a4.family ? nd_addr_fmt(&e->a4, a4) : "", "IPv4PrefixLen", (int) e->plen4, "OwnIPv4",
                         e->own4, "IPv6Address", e->a6.family ? nd_addr_fmt(&e->a6, a6) : "", "IPv6PrefixLen",
                         (int) e->plen6, "OwnIPv6", e->own6, "MacAddress", mac, "HostIfName", e->host_if,
                         "PeerIfName", e->peer_if, "Joined", e->joined, "PortBindings",
                         nd_published_to_json(&e->pub));
}

static json_t *ep_record(const dp_ep *e) {
        json_t *j = ep_to_json(e), *al = json_array();
        for (size_t i = 0; al && i < e->n_aliases; i++)
                json_array_append_new(al, json_string(e->aliases[i]));
        if (j) {
                json_object_set_new(j, "Name", json_string(e->name));
                json_object_set_new(j, "Aliases", al ? al : json_array());
        } else
                json_decref(al);
        return j;
}

static int ep_from_json(const json_t *j, dp_ep *e) {
        const char *id = json_string_value(json_object_get(j, "EndpointID"));
        const char *dnet = json_string_value(json_object_get(j, "NetworkID"));
        const char *net = json_string_value(json_object_get(j, "NetdNetwork"));
        const char *a4 = json_string_value(json_object_get(j, "IPv4Address"));
        const char *a6 = json_string_value(json_object_get(j, "IPv6Address"));
        const char *mac = json_string_value(json_object_get(j, "MacAddress"));
        const char *hi = json_string_value(json_object_get(j, "HostIfName"));
        const char *pi = json_string_value(json_object_get(j, "PeerIfName"));
        memset(e, 0, sizeof(*e));
        if (!docker_id_valid(id) || !docker_id_valid(dnet) || !nd_id_valid(net) || !mac || mac_parse(mac, e->mac) < 0 ||
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
        json_t *al = json_object_get(j, "Aliases"), *v;
        size_t i;
        json_array_foreach(al, i, v)
                if (e->n_aliases < ND_MAX_ALIASES && json_is_string(v) && nd_name_valid(json_string_value(v)) == 0)
                        snprintf(e->aliases[e->n_aliases++], sizeof(e->aliases[0]), "%s", json_string_value(v));
        return 0;
}

static void lookup_stop(dp_ep *e);
static const char *pools_clash(void *userdata, const nd_network_spec *spec, const nd_prefix *p,
                               nd_prefix *ret_with);
static char *dump(json_t *j);

static void ep_free(dp_ep *e) {
        if (!e)
                return;
        lookup_stop(e);
        nd_published_done(&e->pub);
        free(e);
}

/* On an overlay network, peers learn the endpoint from the cluster (no
 * name: dockerd does not tell drivers its containers' names). */
static void ep_publish(nd_manager *m, const dp_ep *e, bool on) {
        char owner[DOCKER_ID_MAX + 16], id[ND_ID_LEN + 1];
        snprintf(owner, sizeof(owner), "docker:%s", e->id);
        nd_id_derive(owner, id);
        if (!on) {
                nd_cluster_withdraw_owner(m->cluster, id);
                return;
        }
        nd_endpoint ep = { .addr4 = e->a4, .addr6 = e->a6, .n_aliases = e->n_aliases };
        snprintf(ep.net_id, sizeof(ep.net_id), "%s", e->net_id);
        memcpy(ep.mac, e->mac, 6);
        memcpy(ep.aliases, e->aliases, sizeof(ep.aliases));
        nd_cluster_publish_endpoint(m->cluster, id, &ep, e->name, e->name);
}

/* The container's names in netd's DNS on the endpoint's network, as a
 * netd container's: name, aliases, PTR NAME.NETWORK. */
static void names_set(nd_manager *m, const dp_ep *e, bool on) {
        char key[DOCKER_ID_MAX + 16];
        nd_network *n = NULL;
        if (!m->dns)
                return;
        snprintf(key, sizeof(key), "docker:%s", e->id);
        nd_dns_names *t = nd_dns_table(m->dns);
        nd_dns_names_drop(t, key);
        if (!on || !e->name[0] || nd_manager_network_find(m, e->net_id, &n) < 0)
                return;
        const char *names[1 + ND_MAX_ALIASES] = { e->name };
        size_t k = 1;
        for (size_t i = 0; i < e->n_aliases; i++)
                names[k++] = e->aliases[i];
        (void) nd_dns_names_add_endpoint(t, n->spec.name, names, k, &e->a4, &e->a6, key);
}

/* ---- the container's name, from dockerd ---- */

static void on_name_stored(void *userdata, int r, int64_t rev) {
        char *id = userdata;
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "recording a Docker container's name failed", "endpoint=%.12s", id);
        free(id);
}

static void lookup_stop(dp_ep *e) {
        struct name_lookup *l = e->lookup;
        if (!l)
                return;
        ev_timer_stop(l->m->loop, &l->wait);
        nd_unix_get_cancel(l->get);
        free(l);
        e->lookup = NULL;
}

static void lookup_again(struct name_lookup *l) {
        /* dockerd fills in the endpoint after Join returns: 50 ms, then
         * doubling, six tries (about 3 s) */
        if (l->tries >= 6) {
                nd_log(LOG_INFO, "docker plugin: no container name for the endpoint (dockerd did not tell)",
                       "endpoint=%.12s", l->ep->id);
                dp_ep *e = l->ep;
                return lookup_stop(e);
        }
        ev_timer_set(&l->wait, 0.05 * (double) (1 << l->tries), 0);
        ev_timer_start(l->m->loop, &l->wait);
        l->tries++;
}

static void named(struct name_lookup *l) {
        dp_ep *e = l->ep;
        nd_manager *m = l->m;
        lookup_stop(e);
        names_set(m, e, true);
        ep_publish(m, e, e->joined);
        nd_log(LOG_INFO, "docker plugin: container named", "endpoint=%.12s name=%s aliases=%zu", e->id, e->name,
               e->n_aliases);
        char key[256], *id = strdup(e->id), *v = dump(ep_record(e));
        snprintf(key, sizeof(key), KEY_EPS "%s", e->id);
        if (!id || !v || nd_store_put(m->store, key, v, 0, on_name_stored, id) < 0)
                free(id);
        free(v);
}

/* The container itself: its aliases on the network (the list has none). */
static void on_container(void *userdata, int status, const char *body, size_t len) {
        struct name_lookup *l = userdata;
        dp_ep *e = l->ep;
        char name[ND_NAME_MAX + 1];
        l->get = NULL;
        if (status == 200)
                (void) nd_docker_endpoint_name(body, len, e->id, name, sizeof(name), NULL, e->aliases, ND_MAX_ALIASES,
                                               &e->n_aliases);
        size_t k = 0;
        for (size_t i = 0; i < e->n_aliases; i++)
                if (nd_name_valid(e->aliases[i]) == 0 && k++ != i)
                        memcpy(e->aliases[k - 1], e->aliases[i], sizeof(e->aliases[0]));
        e->n_aliases = k;
        named(l);
}

static void on_containers(void *userdata, int status, const char *body, size_t len) {
        struct name_lookup *l = userdata;
        dp_ep *e = l->ep;
        nd_manager *m = l->m;
        char cid[65], path[128];
        l->get = NULL;
        if (status != 200 || !e->joined ||
            nd_docker_endpoint_name(body, len, e->id, e->name, sizeof(e->name), cid, e->aliases, ND_MAX_ALIASES,
                                    &e->n_aliases) < 0 ||
            nd_name_valid(e->name) < 0) {
                e->name[0] = 0;
                e->n_aliases = 0;
                if (status < 0 && l->tries >= 6)
                        nd_log_errno(LOG_WARNING, status, "cannot ask dockerd for container names",
                                     "docker_host=%s", m->docker_host);
                return lookup_again(l);
        }
        snprintf(path, sizeof(path), "/containers/%s/json", cid);
        if (nd_unix_get_start(m->loop, m->docker_host, path, 3.0, on_container, l, &l->get) < 0)
                named(l);
}

static void on_lookup_timer(struct ev_loop *loop, ev_timer *t, int revents) {
        struct name_lookup *l = t->data;
        char path[512];
        /* filters={"network":["<id>"]} */
        snprintf(path, sizeof(path), "/containers/json?filters=%%7B%%22network%%22%%3A%%5B%%22%s%%22%%5D%%7D",
                 l->ep->dnet);
        if (nd_unix_get_start(loop, l->m->docker_host, path, 3.0, on_containers, l, &l->get) < 0)
                lookup_again(l);
}

static void lookup_start(nd_manager *m, dp_ep *e) {
        if (!m->docker_host || e->lookup || e->name[0])
                return;
        struct name_lookup *l = calloc(1, sizeof(*l));
        if (!l)
                return;
        *l = (struct name_lookup) { .m = m, .ep = e };
        ev_timer_init(&l->wait, on_lookup_timer, 0, 0);
        l->wait.data = l;
        e->lookup = l;
        lookup_again(l);
}

static void ep_what(const dp_ep *e, char *buf, size_t size) {
        snprintf(buf, size, "Docker endpoint %.12s", e->id);
}

/* ---- replies ---- */

static void reply_ok(nd_http_request *req, json_t *j) {
        nd_http_reply_json(req, 200, j ? j : json_object());
}

static void reply_err(nd_http_request *req, int r, const nd_diag *d) {
        unsigned status = nd_api_status(r);
        const char *msg = d && d->msg[0] ? d->msg : strerror(r < 0 ? -r : EIO);
        /* dockerd often logs a driver's error and goes on: say it here too */
        nd_log(LOG_WARNING, "docker plugin call refused", "call=%s err=\"%s\"", nd_http_request_path(req), msg);
        nd_http_reply_json(req, status == 500 || status < 400 ? 500 : status, json_pack("{s:s}", "Err", msg));
}

/* ---- one store write per request ---- */

struct dp_call {
        nd_manager *m;
        nd_http_request *req;
        json_t *reply;                 /* sent on success */
        dp_pool *pool;
        dp_ep *ep;
        dp_bind *bind;
        void (*commit)(struct dp_call *c);
        void (*undo)(struct dp_call *c);
        char *strs[8];
        nd_addr addr;                  /* an address the call is about */
        char what[96];                 /* for the log */
};

static struct dp_call *call_new(nd_manager *m, nd_http_request *req) {
        struct dp_call *c = calloc(1, sizeof(*c));
        if (c) {
                c->m = m;
                c->req = req;
        }
        return c;
}

static void call_free(struct dp_call *c) {
        for (size_t i = 0; i < ELEMENTSOF(c->strs); i++)
                free(c->strs[i]);
        json_decref(c->reply);
        free(c);
}

static void on_stored(void *userdata, int r, int64_t rev) {
        struct dp_call *c = userdata;
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
                reply_err(c->req, r == -ECANCELED ? -EEXIST : r, &d);
        } else {
                if (c->commit)
                        c->commit(c);
                nd_log(LOG_INFO, "docker plugin", "op=\"%s\"", c->what);
                reply_ok(c->req, TAKE_PTR(c->reply));
        }
        call_free(c);
}

/* Submit @ops; on failure at once, undo and reply.  Takes @c. */
static void call_submit(struct dp_call *c, const nd_store_cmp *cmps, size_t n_cmps, const nd_store_op *ops,
                        size_t n_ops) {
        int r = nd_store_txn(c->m->store, cmps, n_cmps, ops, n_ops, on_stored, c);
        if (r < 0)
                on_stored(c, r, 0);
        else {
                if (c->pool)
                        c->pool->busy = true;
                if (c->ep)
                        c->ep->busy = true;
        }
}

static char *dump(json_t *j) {
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return s;
}

/* Write @e's record (the call's strs[0..1]) and answer. */
static void ep_store(struct dp_call *c) {
        char key[256];
        snprintf(key, sizeof(key), KEY_EPS "%s", c->ep->id);
        c->strs[0] = strdup(key);
        c->strs[1] = dump(ep_record(c->ep));
        if (!c->strs[0] || !c->strs[1]) {
                on_stored(c, -ENOMEM, 0);
                return;
        }
        nd_store_op op = { .type = ND_STORE_PUT, .key = c->strs[0], .value = c->strs[1] };
        call_submit(c, NULL, 0, &op, 1);
}

/* ---- IPAM ---- */

static void ipam_caps(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, json_pack("{s:b, s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 0));
}

static void ipam_spaces(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, json_pack("{s:s, s:s}", "LocalDefaultAddressSpace", SPACE_LOCAL, "GlobalDefaultAddressSpace",
                                SPACE_GLOBAL));
}

static void pool_drop(struct dp_call *c) {
        vec_drop((void **) c->m->dplug->pools, &c->m->dplug->n_pools, c->pool);
        free(c->pool);
        c->pool = NULL;
}

/* --ipam-opt netd.network=NAME: the pool is that network's subnet of the
 * family asked for. */
static int pool_of_existing(nd_manager *m, const char *ref, bool v6, const char *pool, const char *sub,
                            nd_network **ret, nd_prefix *p, nd_diag *d) {
        char a[ND_PREFIX_STRLEN];
        nd_network *n;
        nd_prefix want;
        if (nd_manager_network_find(m, ref, &n) < 0)
                return nd_diag_set(d, -ENOENT, "netd network '%.64s' not found (--ipam-opt " OPT_NETWORK ")", ref);
        if (json_object_get(n->spec.labels, LABEL_NETWORK))
                return nd_diag_set(d, -EINVAL, "netd network '%s' was made for another Docker network", n->spec.name);
        if (sub && *sub)
                return nd_diag_set(d, -EINVAL, "--ip-range does not apply to an existing netd network: its own does");
        /* dockerd checks a pool it did not name against the host's routes
         * and asks again while it overlaps, which this one always does
         * (the network is routed here): it must be named */
        if (!pool || !*pool)
                for (size_t i = 0; i < n->spec.n_ipam; i++)
                        if ((n->spec.ipam[i].subnet.addr.family == AF_INET6) == v6)
                                return nd_diag_set(d, -EINVAL, "give the subnet of netd network '%s': --subnet %s",
                                                   n->spec.name, nd_prefix_fmt(&n->spec.ipam[i].subnet, a));
        for (size_t i = 0; i < n->spec.n_ipam; i++)
                if ((n->spec.ipam[i].subnet.addr.family == AF_INET6) == v6) {
                        *p = n->spec.ipam[i].subnet;
                        if (pool && *pool &&
                            (nd_prefix_parse(pool, ND_PREFIX_STRICT, &want, d) < 0 || want.len != p->len ||
                             !nd_addr_equal(&want.addr, &p->addr)))
                                return nd_diag_set(d, -EINVAL, "--subnet must be netd network '%s''s subnet %s",
                                                   n->spec.name, nd_prefix_fmt(p, a));
                        *ret = n;
                        return 0;
                }
        return nd_diag_set(d, -EINVAL, "netd network '%s' has no %s subnet", n->spec.name, v6 ? "IPv6" : "IPv4");
}

static void request_pool(nd_manager *m, nd_http_request *req, json_t *body) {
        const char *space = NULL, *pool = NULL, *sub = NULL;
        const char *existing = json_string_value(json_object_get(json_object_get(body, "Options"), OPT_NETWORK));
        char a[ND_PREFIX_STRLEN], b[ND_PREFIX_STRLEN];
        nd_network *bound = NULL;
        bool v6 = false;
        nd_diag d = {0};
        nd_prefix p = {0}, sp = {0};
        int r;

        if ((r = nd_json_string(body, "AddressSpace", "RequestPool", &space, &d)) < 0 ||
            (r = nd_json_string(body, "Pool", "RequestPool", &pool, &d)) < 0 ||
            (r = nd_json_string(body, "SubPool", "RequestPool", &sub, &d)) < 0 ||
            (r = nd_json_bool(body, "V6", "RequestPool", &v6, &d)) < 0)
                return reply_err(req, r, &d);
        if (space && *space && strcmp(space, SPACE_LOCAL) && strcmp(space, SPACE_GLOBAL))
                return reply_err(req, -EINVAL, &(nd_diag) { "unknown address space (netd has " SPACE_LOCAL " and "
                                 SPACE_GLOBAL ")" });
        if (existing && *existing) {
                if ((r = pool_of_existing(m, existing, v6, pool, sub, &bound, &p, &d)) < 0)
                        return reply_err(req, r, &d);
        } else if (pool && *pool) {
                if ((r = nd_prefix_parse(pool, ND_PREFIX_STRICT, &p, &d)) < 0)
                        return reply_err(req, r, &d);
                if ((p.addr.family == AF_INET6) != v6)
                        return reply_err(req, -EINVAL, &(nd_diag) { "the pool's family does not match V6" });
        } else if (v6)
                return reply_err(req, -EINVAL, &(nd_diag) { "netd has no default IPv6 pool: give the IPv6 subnet "
                                 "(docker network create --ipv6 --subnet ...)" });
        else if ((r = nd_manager_subnet_pick(m, &p, &d)) < 0)
                return reply_err(req, r, &d);
        if (!bound && sub && *sub) {
                if ((r = nd_prefix_parse(sub, ND_PREFIX_STRICT, &sp, &d)) < 0)
                        return reply_err(req, r, &d);
                if (!nd_prefix_contains_prefix(&p, &sp)) {
                        nd_diag_set(&d, -EINVAL, "sub-pool %s is not inside pool %s", nd_prefix_fmt(&sp, a),
                                    nd_prefix_fmt(&p, b));
                        return reply_err(req, -EINVAL, &d);
                }
        }
        /* netd's networks and other pools: no overlap (a subnet picked
         * above avoids them already; an existing network's is its own) */
        nd_prefix with;
        const char *who = bound ? NULL : nd_manager_subnet_overlap(m, &p, &with);
        if (!who && !bound)
                who = pools_clash(m, NULL, &p, &with);
        if (who) {
                nd_diag_set(&d, -EADDRINUSE, "pool %s overlaps subnet %s of %s", nd_prefix_fmt(&p, a),
                            nd_prefix_fmt(&with, b), who);
                return reply_err(req, -EADDRINUSE, &d);
        }

        struct nd_dplug *dp = dp_of(m);
        dp_pool *np = calloc(1, sizeof(*np));
        struct dp_call *c = call_new(m, req);
        char id[ND_ID_LEN + 1];
        if (!dp || !np || !c || nd_id_new(id) < 0 || vec_push((void ***) &dp->pools, &dp->n_pools, &dp->cap_pools, np) < 0) {
                free(np);
                free(c);
                return reply_err(req, -ENOMEM, NULL);
        }
        snprintf(np->id, sizeof(np->id), "np-%.16s", id);
        np->pool = p;
        np->sub = sp;
        if (bound)
                snprintf(np->net_id, sizeof(np->net_id), "%s", bound->id);
        c->pool = np;
        c->undo = pool_drop;
        c->reply = json_pack("{s:s, s:s, s:{}}", "PoolID", np->id, "Pool", nd_prefix_fmt(&p, a), "Data");
        snprintf(c->what, sizeof(c->what), "RequestPool %s %s%s%s", np->id, a, bound ? " of " : "",
                 bound ? bound->spec.name : "");
        char key[128];
        snprintf(key, sizeof(key), KEY_POOLS "%s", np->id);
        c->strs[0] = strdup(key);
        c->strs[1] = dump(pool_to_json(np));
        if (!c->strs[0] || !c->strs[1] || !c->reply)
                return on_stored(c, -ENOMEM, 0);
        nd_store_cmp cmp = { .key = c->strs[0] };
        nd_store_op op = { .type = ND_STORE_PUT, .key = c->strs[0], .value = c->strs[1] };
        call_submit(c, &cmp, 1, &op, 1);
}

static void release_pool(nd_manager *m, nd_http_request *req, json_t *body) {
        const char *id = json_string_value(json_object_get(body, "PoolID"));
        dp_pool *p = pool_find(m, id);
        if (!p)
                return reply_ok(req, NULL); /* idempotent */
        if (p->busy)
                return reply_err(req, -EBUSY, &(nd_diag) { "the pool is busy, retry" });
        /* dockerd releases the pool before it deletes the network: the
         * network holds the subnet from here on, until it goes */
        struct dp_call *c = call_new(m, req);
        char key[128];
        snprintf(key, sizeof(key), KEY_POOLS "%s", p->id);
        if (!c || !(c->strs[0] = strdup(key))) {
                free(c);
                return reply_err(req, -ENOMEM, NULL);
        }
        c->pool = p;
        c->commit = pool_drop;
        snprintf(c->what, sizeof(c->what), "ReleasePool %s", p->id);
        nd_store_op op = { .type = ND_STORE_DELETE, .key = c->strs[0] };
        call_submit(c, NULL, 0, &op, 1);
}

struct addr_call {
        nd_http_request *req;
        unsigned plen;
};

static void on_addr(void *userdata, int r, const nd_addr *a, const nd_diag *d) {
        struct addr_call *ac = userdata;
        char s[ND_PREFIX_STRLEN];
        if (r < 0)
                reply_err(ac->req, r, d);
        else
                reply_ok(ac->req, json_pack("{s:s, s:{}}", "Address", nd_docker_cidr_fmt(a, ac->plen, s), "Data"));
        free(ac);
}

static void gateway_set(struct dp_call *c) {
        c->pool->gateway = c->addr;
}

static void request_address(nd_manager *m, nd_http_request *req, json_t *body) {
        const char *id = json_string_value(json_object_get(body, "PoolID"));
        const char *want = json_string_value(json_object_get(body, "Address"));
        const char *type = json_string_value(json_object_get(json_object_get(body, "Options"), "RequestAddressType"));
        bool gateway = type && strcmp(type, OPT_GATEWAY) == 0;
        dp_pool *p = pool_find(m, id);
        char s[ND_PREFIX_STRLEN];
        nd_diag d = {0};
        nd_addr a = {0};
        unsigned plen;

        if (!p) {
                nd_diag_set(&d, -ENOENT, "unknown pool '%.64s'", id ? id : "");
                return reply_err(req, -ENOENT, &d);
        }
        if (want && *want && (nd_docker_cidr_parse(want, &a, &plen) < 0 || !nd_prefix_contains(&p->pool, &a))) {
                nd_diag_set(&d, -EINVAL, "address '%.64s' is not in pool %s", want, nd_prefix_fmt(&p->pool, s));
                return reply_err(req, -EINVAL, &d);
        }
        nd_network *n = pool_net(m, p);
        if (n && gateway) {
                /* asked again (dockerd restarted): the network's own */
                for (size_t i = 0; i < n->spec.n_ipam; i++)
                        if (nd_prefix_contains(&n->spec.ipam[i].subnet, &n->spec.ipam[i].gateway) &&
                            n->spec.ipam[i].subnet.len == p->pool.len &&
                            nd_addr_equal(&n->spec.ipam[i].subnet.addr, &p->pool.addr)) {
                                if (a.family && !nd_addr_equal(&a, &n->spec.ipam[i].gateway)) {
                                        char g[ND_ADDR_STRLEN];
                                        nd_diag_set(&d, -EINVAL, "the gateway of netd network '%s' is %s",
                                                    n->spec.name, nd_addr_fmt(&n->spec.ipam[i].gateway, g));
                                        return reply_err(req, -EINVAL, &d);
                                }
                                return reply_ok(req, json_pack("{s:s, s:{}}", "Address",
                                                               nd_docker_cidr_fmt(&n->spec.ipam[i].gateway, p->pool.len, s),
                                                               "Data"));
                        }
        }
        if (n) {
                struct addr_call *ac = calloc(1, sizeof(*ac));
                char owner[64];
                if (!ac)
                        return reply_err(req, -ENOMEM, NULL);
                *ac = (struct addr_call) { .req = req, .plen = p->pool.len };
                snprintf(owner, sizeof(owner), "docker-pool:%s", p->id);
                int r = nd_manager_address_request(m, n, p->pool.addr.family, a.family ? &a : NULL, owner, on_addr,
                                                   ac, &d);
                if (r < 0) {
                        free(ac);
                        reply_err(req, r, &d);
                }
                return;
        }
        if (!gateway)
                return reply_err(req, -EOPNOTSUPP, &(nd_diag) { "netd's IPAM driver gives out addresses on networks "
                                 "of netd's network driver only, once the network exists (docker network create "
                                 "-d netd --ipam-driver netd; no --aux-address)" });
        if (p->busy)
                return reply_err(req, -EBUSY, &(nd_diag) { "the pool is busy, retry" });
        /* the gateway of a network not created yet: kept in the pool */
        if (!a.family) {
                nd_subnet *tmp = NULL;
                if (nd_subnet_new(&p->pool, p->sub.addr.family ? &p->sub : NULL, &tmp) < 0)
                        return reply_err(req, -ENOMEM, NULL);
                nd_subnet_first_host(tmp, &a);
                nd_subnet_free(tmp);
        }
        struct dp_call *c = call_new(m, req);
        char key[128];
        if (!c)
                return reply_err(req, -ENOMEM, NULL);
        dp_pool saved = *p;
        p->gateway = a;
        c->strs[1] = dump(pool_to_json(p));
        *p = saved;
        snprintf(key, sizeof(key), KEY_POOLS "%s", p->id);
        c->strs[0] = strdup(key);
        c->pool = p;
        c->addr = a;
        c->commit = gateway_set;
        c->reply = json_pack("{s:s, s:{}}", "Address", nd_docker_cidr_fmt(&a, p->pool.len, s), "Data");
        snprintf(c->what, sizeof(c->what), "RequestAddress %s gateway %s", p->id, s);
        if (!c->strs[0] || !c->strs[1] || !c->reply)
                return on_stored(c, -ENOMEM, 0);
        nd_store_op op = { .type = ND_STORE_PUT, .key = c->strs[0], .value = c->strs[1] };
        call_submit(c, NULL, 0, &op, 1);
}

static void gateway_clear(struct dp_call *c) {
        c->pool->gateway = (nd_addr) { 0 };
}

static void release_address(nd_manager *m, nd_http_request *req, json_t *body) {
        const char *id = json_string_value(json_object_get(body, "PoolID"));
        const char *addr = json_string_value(json_object_get(body, "Address"));
        dp_pool *p = pool_find(m, id);
        nd_diag d = {0};
        nd_addr a;
        unsigned plen;

        if (!p)
                return reply_ok(req, NULL);
        if (!addr || nd_docker_cidr_parse(addr, &a, &plen) < 0)
                return reply_err(req, -EINVAL, &(nd_diag) { "ReleaseAddress: a valid Address is required" });
        nd_network *n = pool_net(m, p);
        nd_subnet *sub = n ? nd_network_subnet_for(n, &a) : NULL;
        bool is_gw = false;
        for (size_t i = 0; n && i < n->spec.n_ipam; i++)
                is_gw |= nd_addr_equal(&n->spec.ipam[i].gateway, &a);
        if (sub && !is_gw && nd_subnet_is_allocated(sub, &a)) {
                struct addr_call *ac = calloc(1, sizeof(*ac));
                if (!ac)
                        return reply_err(req, -ENOMEM, NULL);
                *ac = (struct addr_call) { .req = req, .plen = p->pool.len };
                int r = nd_manager_address_release(m, n, &a, on_addr, ac, &d);
                if (r < 0) {
                        free(ac);
                        reply_err(req, r, &d);
                }
                return;
        }
        if (n || !nd_addr_equal(&p->gateway, &a))
                return reply_ok(req, NULL); /* the network's gateway goes with it; else: not ours */
        if (p->busy)
                return reply_err(req, -EBUSY, &(nd_diag) { "the pool is busy, retry" });
        struct dp_call *c = call_new(m, req);
        char key[128];
        if (!c)
                return reply_err(req, -ENOMEM, NULL);
        dp_pool saved = *p;
        p->gateway = (nd_addr) { 0 };
        c->strs[1] = dump(pool_to_json(p));
        *p = saved;
        snprintf(key, sizeof(key), KEY_POOLS "%s", p->id);
        c->strs[0] = strdup(key);
        c->pool = p;
        c->commit = gateway_clear;
        snprintf(c->what, sizeof(c->what), "ReleaseAddress %s gateway", p->id);
        if (!c->strs[0] || !c->strs[1])
                return on_stored(c, -ENOMEM, 0);
        nd_store_op op = { .type = ND_STORE_PUT, .key = c->strs[0], .value = c->strs[1] };
        call_submit(c, NULL, 0, &op, 1);
}

/* ---- networks ---- */

static void on_net_done(void *userdata, int r, nd_network *n, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                reply_err(req, r, d);
        else
                reply_ok(req, NULL);
}

/* One IPv4Data/IPv6Data entry: {"AddressSpace", "Pool", "Gateway": "a/len",
 * "AuxAddresses"} -> an IPAM.Config entry of netd's network request. */
static int ipdata_entry(nd_manager *m, const json_t *e, json_t *cfg, nd_diag *d) {
        const char *pool = json_string_value(json_object_get(e, "Pool"));
        const char *gw = json_string_value(json_object_get(e, "Gateway"));
        char s[ND_PREFIX_STRLEN], g[ND_ADDR_STRLEN];
        nd_prefix p;
        nd_addr ga;
        unsigned plen;
        int r;

        if (!pool || (r = nd_prefix_parse(pool, ND_PREFIX_STRICT, &p, d)) < 0)
                return pool ? r : nd_diag_set(d, -EINVAL, "IPv4Data/IPv6Data: Pool missing");
        json_t *c = json_pack("{s:s}", "Subnet", nd_prefix_fmt(&p, s));
        if (gw && *gw) {
                if (nd_docker_cidr_parse(gw, &ga, &plen) < 0) {
                        json_decref(c);
                        return nd_diag_set(d, -EINVAL, "invalid Gateway '%.64s'", gw);
                }
                json_object_set_new(c, "Gateway", json_string(nd_addr_fmt(&ga, g)));
        }
        /* a pool of ours: its sub-pool is the network's ip-range */
        struct nd_dplug *dp = m->dplug;
        for (size_t i = 0; dp && i < dp->n_pools; i++)
                if (dp->pools[i]->pool.len == p.len && nd_addr_equal(&dp->pools[i]->pool.addr, &p.addr) &&
                    dp->pools[i]->sub.addr.family)
                        json_object_set_new(c, "IPRange", json_string(nd_prefix_fmt(&dp->pools[i]->sub, s)));
        return json_array_append_new(cfg, c) < 0 ? nd_diag_set(d, -ENOMEM, "out of memory") : 0;
}

/* Is Docker network @dnet to be put on an existing netd network?  Yes with
 * -o netd.network=NAME, or when its pools are pools of an existing network
 * (--ipam-opt netd.network=NAME); then every pool must be one, so that
 * every address comes from that network's IPAM. */
static int bind_target(nd_manager *m, const char *dnet, const json_t *generic, const json_t *v4, const json_t *v6,
                       nd_network **ret, nd_diag *d) {
        const char *ref = json_string_value(json_object_get(generic, OPT_NETWORK));
        struct nd_dplug *dp = m->dplug;
        nd_network *want = NULL, *got = NULL;
        const json_t *sets[2] = { v4, v6 }, *e;
        size_t i, n_ipdata = 0, n_bound = 0;

        *ret = NULL;
        if (ref && *ref && nd_manager_network_find(m, ref, &want) < 0)
                return nd_diag_set(d, -ENOENT, "netd network '%.64s' not found (-o " OPT_NETWORK ")", ref);
        for (int f = 0; f < 2; f++)
                json_array_foreach(sets[f], i, e) {
                        nd_prefix p;
                        n_ipdata++;
                        if (nd_prefix_parse(json_string_value(json_object_get(e, "Pool")), ND_PREFIX_STRICT, &p, NULL) < 0)
                                continue;
                        for (size_t k = 0; dp && k < dp->n_pools; k++) {
                                const dp_pool *o = dp->pools[k];
                                if (o->net_id[0] && o->pool.len == p.len && nd_addr_equal(&o->pool.addr, &p.addr)) {
                                        got = net_by_id(m, o->net_id);
                                        n_bound++;
                                        break;
                                }
                        }
                }
        if (!want && !got)
                return 0;
        if (want && got && want != got)
                return nd_diag_set(d, -EINVAL, "-o " OPT_NETWORK " and --ipam-opt " OPT_NETWORK " name different networks");
        if (!got || n_bound != n_ipdata)
                return nd_diag_set(d, -EINVAL, "a Docker network on netd network '%s' takes its addresses from it: "
                                   "use --ipam-driver netd --ipam-opt " OPT_NETWORK "=%s", want->spec.name,
                                   want->spec.name);
        for (size_t k = 0; dp && k < dp->n_binds; k++)
                if (strcmp(dp->binds[k]->net_id, got->id) == 0 && strcmp(dp->binds[k]->dnet, dnet) != 0)
                        return nd_diag_set(d, -EEXIST, "netd network '%s' already carries Docker network %.12s",
                                           got->spec.name, dp->binds[k]->dnet);
        *ret = got;
        return 0;
}

static void bind_drop(struct dp_call *c) {
        vec_drop((void **) c->m->dplug->binds, &c->m->dplug->n_binds, c->bind);
        free(c->bind);
        c->bind = NULL;
}

static void bind_network(nd_manager *m, nd_http_request *req, const char *dnet, nd_network *n) {
        struct nd_dplug *dp = dp_of(m);
        dp_bind *b = calloc(1, sizeof(*b));
        struct dp_call *c = call_new(m, req);
        char key[256];
        if (!dp || !b || !c || vec_push((void ***) &dp->binds, &dp->n_binds, &dp->cap_binds, b) < 0) {
                free(b);
                free(c);
                return reply_err(req, -ENOMEM, NULL);
        }
        snprintf(b->dnet, sizeof(b->dnet), "%s", dnet);
        snprintf(b->net_id, sizeof(b->net_id), "%s", n->id);
        snprintf(c->what, sizeof(c->what), "bind %.12s to %s", dnet, n->spec.name);
        c->bind = b;
        c->undo = bind_drop;
        snprintf(key, sizeof(key), KEY_BINDS "%s", dnet);
        c->strs[0] = strdup(key);
        c->strs[1] = dump(json_pack("{s:s, s:s}", "NetworkID", dnet, "NetdNetwork", n->id));
        if (!c->strs[0] || !c->strs[1])
                return on_stored(c, -ENOMEM, 0);
        nd_log(LOG_INFO, "docker plugin: network on an existing netd network", "docker_id=%.12s net=%s", dnet,
               n->spec.name);
        nd_store_cmp cmp = { .key = c->strs[0] };
        nd_store_op op = { .type = ND_STORE_PUT, .key = c->strs[0], .value = c->strs[1] };
        call_submit(c, &cmp, 1, &op, 1);
}

static void create_network(nd_manager *m, nd_http_request *req, json_t *body) {
        const char *id = json_string_value(json_object_get(body, "NetworkID"));
        json_t *opts = json_object_get(body, "Options"), *v4 = json_object_get(body, "IPv4Data"),
               *v6 = json_object_get(body, "IPv6Data"), *e;
        json_t *generic = json_object_get(opts, "com.docker.network.generic");
        nd_network_spec spec;
        nd_diag d = {0};
        size_t i;
        int r;

        if (!docker_id_valid(id))
                return reply_err(req, -EINVAL, &(nd_diag) { "CreateNetwork: a valid NetworkID is required" });
        if (dnet_find(m, id))
                return reply_ok(req, NULL);
        nd_network *existing = NULL;
        r = bind_target(m, id, generic, v4, v6, &existing, &d);
        if (r < 0)
                return reply_err(req, r, &d);
        if (existing)
                return bind_network(m, req, id, existing);
        if (json_array_size(v4) == 0)
                return reply_err(req, -EINVAL, &(nd_diag) { "CreateNetwork: netd networks need an IPv4 pool" });
        char name[ND_NAME_MAX + 1];
        snprintf(name, sizeof(name), "docker-%.12s", id);
        json_t *cfg = json_array(), *nopts = json_object();
        json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:{s:o}, s:o, s:{s:s}}", "Name", name, "Driver", "bridge",
                              "Internal", json_is_true(json_object_get(opts, "com.docker.network.internal")),
                              "EnableIPv6", json_array_size(v6) > 0, "IPAM", "Config", cfg, "Options", nopts,
                              "Labels", LABEL_NETWORK, id);
        if (!j)
                return reply_err(req, -ENOMEM, NULL);
        json_array_foreach(v4, i, e)
                if ((r = ipdata_entry(m, e, cfg, &d)) < 0)
                        goto fail;
        json_array_foreach(v6, i, e)
                if ((r = ipdata_entry(m, e, cfg, &d)) < 0)
                        goto fail;
        const char *ignored;
        size_t n_ignored = nd_docker_driver_opts(generic, nopts, &ignored);
        if (n_ignored)
                nd_log(LOG_INFO, "docker plugin: options that are not netd's ignored", "network=%s count=%zu first=%s",
                       name, n_ignored, ignored);
        r = nd_network_spec_from_json(j, &spec, &d);
        if (r < 0)
                goto fail;
        json_decref(j);
        r = nd_manager_network_create(m, &spec, on_net_done, req, &d);
        if (r < 0)
                reply_err(req, r, &d);
        else
                nd_log(LOG_INFO, "docker plugin: network", "network=%s docker_id=%.12s", name, id);
        return;
fail:
        json_decref(j);
        reply_err(req, r, &d);
}

static void delete_network(nd_manager *m, nd_http_request *req, json_t *body) {
        const char *id = json_string_value(json_object_get(body, "NetworkID"));
        nd_network *n = dnet_find(m, id);
        struct nd_dplug *dp = m->dplug;
        nd_diag d = {0};
        if (!n)
                return reply_ok(req, NULL);
        for (size_t i = 0; dp && i < dp->n_eps; i++)
                if (strcmp(dp->eps[i]->net_id, n->id) == 0)
                        return reply_err(req, -EBUSY, &(nd_diag) { "the network still has endpoints" });
        dp_bind *b = bind_find(m, id);
        if (b) {
                /* the netd network is not Docker's: only the binding goes */
                struct dp_call *c = call_new(m, req);
                char key[256];
                if (!c)
                        return reply_err(req, -ENOMEM, NULL);
                snprintf(c->what, sizeof(c->what), "unbind %.12s", id);
                c->bind = b;
                c->commit = bind_drop;
                snprintf(key, sizeof(key), KEY_BINDS "%s", id);
                if (!(c->strs[0] = strdup(key)))
                        return on_stored(c, -ENOMEM, 0);
                nd_store_op op = { .type = ND_STORE_DELETE, .key = c->strs[0] };
                return call_submit(c, NULL, 0, &op, 1);
        }
        int r = nd_manager_network_remove(m, n, on_net_done, req, &d);
        if (r < 0)
                reply_err(req, r, &d);
}

/* ---- endpoints ---- */

/* The port takes only the endpoint's MAC and addresses (firewall.h), from
 * before the veth exists until it is gone. */
static int ep_guard(nd_manager *m, const dp_ep *e) {
        return nd_fw_port_set(m->fw, e->host_if, e->mac, &e->a4, &e->a6);
}

static void ep_forget(struct dp_call *c) {
        nd_manager *m = c->m;
        nd_network *n = NULL;
        nd_fw_port_clear(m->fw, c->ep->host_if);
        ep_publish(m, c->ep, false);
        names_set(m, c->ep, false);
        if (nd_manager_network_find(m, c->ep->net_id, &n) == 0) {
                if (c->ep->own4)
                        nd_subnet_release(nd_network_subnet_for(n, &c->ep->a4), &c->ep->a4);
                if (c->ep->own6)
                        nd_subnet_release(nd_network_subnet_for(n, &c->ep->a6), &c->ep->a6);
        }
        nd_publish_release(m, &c->ep->pub);
        vec_drop((void **) m->dplug->eps, &m->dplug->n_eps, c->ep);
        ep_free(c->ep);
        c->ep = NULL;
}

/* Take @want (a/len, or "" for the next free one when @alloc) on @n. */
static int ep_addr(nd_network *n, bool pooled, int family, const char *want, bool alloc, nd_addr *a,
                   unsigned *plen, bool *own, nd_diag *d) {
        char s[ND_ADDR_STRLEN];
        nd_subnet *sub;
        int r;
        *own = false;
        if (want && *want) {
                if (nd_docker_cidr_parse(want, a, plen) < 0 || a->family != family)
                        return nd_diag_set(d, -EINVAL, "invalid address '%.64s'", want);
                sub = nd_network_subnet_for(n, a);
                if (!sub)
                        return nd_diag_set(d, -EINVAL, "address %s is not in a subnet of network '%s'",
                                           nd_addr_fmt(a, s), n->spec.name);
                if (pooled && nd_subnet_is_allocated(sub, a))
                        return 0; /* netd's IPAM driver gave it out for this endpoint */
                if (nd_network_is_global(n))
                        return nd_diag_set(d, -EINVAL, "address %s was not given out by netd's IPAM driver: on an "
                                           "overlay network every address comes from it", nd_addr_fmt(a, s));
                r = nd_subnet_reserve(sub, a);
                if (r < 0)
                        return nd_diag_set(d, -EADDRINUSE, "address %s is %s on network '%s'", nd_addr_fmt(a, s),
                                           r == -EEXIST ? "already in use" : "not usable", n->spec.name);
                *own = true;
                return 0;
        }
        if (!alloc || !(sub = nd_network_subnet_family(n, family))) {
                *a = (nd_addr) { 0 };
                return 0;
        }
        if (nd_network_is_global(n))
                return nd_diag_set(d, -EINVAL, "an endpoint on overlay network '%s' needs an address from netd's "
                                   "IPAM driver", n->spec.name);
        if (nd_subnet_alloc(sub, a) < 0)
                return nd_diag_set(d, -ENOSPC, "no free address on network '%s'", n->spec.name);
        for (size_t k = 0; k < n->spec.n_ipam; k++)
                if (nd_prefix_contains(&n->spec.ipam[k].subnet, a))
                        *plen = n->spec.ipam[k].subnet.len;
        *own = true;
        return 0;
}

static void create_endpoint(nd_manager *m, nd_http_request *req, json_t *body) {
        const char *id = json_string_value(json_object_get(body, "EndpointID"));
        const char *dnet = json_string_value(json_object_get(body, "NetworkID"));
        json_t *iface = json_object_get(body, "Interface");
        const char *a4 = json_string_value(json_object_get(iface, "Address"));
        const char *a6 = json_string_value(json_object_get(iface, "AddressIPv6"));
        const char *mac = json_string_value(json_object_get(iface, "MacAddress"));
        struct nd_dplug *dp = dp_of(m);
        nd_diag d = {0};
        int r;

        if (!docker_id_valid(id) || !docker_id_valid(dnet))
                return reply_err(req, -EINVAL, &(nd_diag) { "CreateEndpoint: valid NetworkID and EndpointID required" });
        if (ep_find(m, id))
                return reply_err(req, -EEXIST, &(nd_diag) { "endpoint exists" });
        nd_network *n = dnet_find(m, dnet);
        if (!n)
                return reply_err(req, -ENOENT, &(nd_diag) { "network not found in netd" });
        bool pooled = pool_of_net(m, n) != NULL;
        dp_ep *e = calloc(1, sizeof(*e));
        struct dp_call *c = call_new(m, req);
        if (!dp || !e || !c) {
                free(e);
                free(c);
                return reply_err(req, -ENOMEM, NULL);
        }
        snprintf(e->id, sizeof(e->id), "%s", id);
        snprintf(e->dnet, sizeof(e->dnet), "%s", dnet);
        snprintf(e->net_id, sizeof(e->net_id), "%s", n->id);
        r = ep_addr(n, pooled, AF_INET, a4, true, &e->a4, &e->plen4, &e->own4, &d);
        if (r == 0 && (r = ep_addr(n, pooled, AF_INET6, a6, false, &e->a6, &e->plen6, &e->own6, &d)) < 0 && e->own4)
                nd_subnet_release(nd_network_subnet_for(n, &e->a4), &e->a4);
        if (r < 0) {
                free(e);
                free(c);
                return reply_err(req, r, &d);
        }
        json_t *rif = json_object();
        char ms[18], s[ND_PREFIX_STRLEN];
        if (mac && *mac)
                r = mac_parse(mac, e->mac);
        else {
                nd_endpoint tmp = { .addr4 = e->a4 };
                nd_bridge_mac(&tmp, e->mac);
                mac_fmt(e->mac, ms);
                json_object_set_new(rif, "MacAddress", json_string(ms));
        }
        if (!(a4 && *a4) && e->a4.family)
                json_object_set_new(rif, "Address", json_string(nd_docker_cidr_fmt(&e->a4, e->plen4, s)));
        /* host-side names: a part of the endpoint id, unique on this host */
        for (size_t off = 0; r == 0; off += 8) {
                if (off + 8 > strlen(id)) {
                        r = -EEXIST;
                        break;
                }
                snprintf(e->host_if, sizeof(e->host_if), "vdk%.8s", id + off);
                snprintf(e->peer_if, sizeof(e->peer_if), "tdk%.8s", id + off);
                bool taken = false;
                for (size_t i = 0; i < dp->n_eps; i++)
                        taken |= strcmp(dp->eps[i]->host_if, e->host_if) == 0;
                if (!taken)
                        break;
        }
        c->ep = e;
        c->undo = ep_forget;
        c->reply = json_pack("{s:o}", "Interface", rif);
        snprintf(c->what, sizeof(c->what), "CreateEndpoint %.12s on %s", id, n->spec.name);
        if (r < 0 || vec_push((void ***) &dp->eps, &dp->n_eps, &dp->cap_eps, e) < 0) {
                if (e->own4)
                        nd_subnet_release(nd_network_subnet_for(n, &e->a4), &e->a4);
                if (e->own6)
                        nd_subnet_release(nd_network_subnet_for(n, &e->a6), &e->a6);
                free(e);
                c->ep = NULL;
                c->undo = NULL;
                nd_diag_set(&d, r < 0 ? r : -ENOMEM, r == -EINVAL ? "invalid MacAddress" : "cannot name the endpoint's interfaces");
                reply_err(req, r < 0 ? r : -ENOMEM, &d);
                return call_free(c);
        }
        /* the record and the addresses it reserved, in one transaction */
        char key[256], owner[256], created[32];
        snprintf(key, sizeof(key), KEY_EPS "%s", id);
        snprintf(owner, sizeof(owner), "docker:%s", id);
        snprintf(created, sizeof(created), "%" PRId64, now_us() / 1000000);
        c->strs[0] = strdup(key);
        c->strs[1] = dump(ep_record(e));
        c->strs[2] = dump(json_pack("{s:s, s:s}", "Owner", owner, "Created", created));
        nd_store_op ops[3] = { { .type = ND_STORE_PUT, .key = c->strs[0], .value = c->strs[1] } };
        size_t n_ops = 1;
        const nd_addr *as[2] = { e->own4 ? &e->a4 : NULL, e->own6 ? &e->a6 : NULL };
        for (int f = 0; f < 2; f++) {
                if (!as[f])
                        continue;
                addr_key(n, as[f], key, sizeof(key));
                c->strs[3 + f] = strdup(key);
                ops[n_ops++] = (nd_store_op) { .type = ND_STORE_PUT, .key = c->strs[3 + f], .value = c->strs[2] };
        }
        bool oom = !c->reply;
        for (size_t i = 0; i < n_ops; i++)
                oom |= !ops[i].key || !ops[i].value;
        if (oom)
                return on_stored(c, -ENOMEM, 0);
        nd_store_cmp cmp = { .key = c->strs[0] };
        call_submit(c, &cmp, 1, ops, n_ops);
}

static void delete_endpoint(nd_manager *m, nd_http_request *req, json_t *body) {
        dp_ep *e = ep_find(m, json_string_value(json_object_get(body, "EndpointID")));
        nd_network *n = NULL;
        if (!e)
                return reply_ok(req, NULL);
        if (e->busy)
                return reply_err(req, -EBUSY, &(nd_diag) { "the endpoint is busy, retry" });
        struct dp_call *c = call_new(m, req);
        char key[256];
        if (!c)
                return reply_err(req, -ENOMEM, NULL);
        /* the kernel side first: it is ours alone (a pair dockerd never
         * moved goes with its host end, off the loop) */
        int ifindex = nd_nl_link_ifindex(m->nl, e->host_if);
        if (ifindex >= 0)
                (void) nd_reaper_delete(m->reaper, m->nl, ifindex, NULL, NULL);
        else
                (void) nd_nl_link_delete(m->nl, e->peer_if);
        /* (after a Leave, the usual order, the pair is gone already) */
        nd_fw_port_clear(m->fw, e->host_if);
        e->joined = false;
        nd_publish_release(m, &e->pub);
        c->ep = e;
        c->commit = ep_forget;
        snprintf(c->what, sizeof(c->what), "DeleteEndpoint %.12s", e->id);
        snprintf(key, sizeof(key), KEY_EPS "%s", e->id);
        c->strs[0] = strdup(key);
        nd_store_op ops[3] = { { .type = ND_STORE_DELETE, .key = c->strs[0] } };
        size_t n_ops = 1;
        if (nd_manager_network_find(m, e->net_id, &n) == 0) {
                const nd_addr *as[2] = { e->own4 ? &e->a4 : NULL, e->own6 ? &e->a6 : NULL };
                for (int f = 0; f < 2; f++)
                        if (as[f]) {
                                addr_key(n, as[f], key, sizeof(key));
                                c->strs[1 + f] = strdup(key);
                                ops[n_ops++] = (nd_store_op) { .type = ND_STORE_DELETE, .key = c->strs[1 + f] };
                        }
        }
        bool oom = false;
        for (size_t i = 0; i < n_ops; i++)
                oom |= !ops[i].key;
        if (oom)
                return on_stored(c, -ENOMEM, 0);
        call_submit(c, NULL, 0, ops, n_ops);
}

static json_t *ep_info(const dp_ep *e) {
        char mac[18];
        mac_fmt(e->mac, mac);
        return json_pack("{s:s, s:s, s:s, s:o}", "HostIfName", e->host_if, "MacAddress", mac, "NetdNetwork",
                         e->net_id, "com.docker.network.portmap", nd_docker_portmap_to_json(&e->pub));
}

static void endpoint_info(nd_manager *m, nd_http_request *req, json_t *body) {
        dp_ep *e = ep_find(m, json_string_value(json_object_get(body, "EndpointID")));
        if (!e)
                return reply_err(req, -ENOENT, &(nd_diag) { "endpoint not found" });
        reply_ok(req, json_pack("{s:o}", "Value", ep_info(e)));
}

static void join_done(struct dp_call *c) {
        ep_publish(c->m, c->ep, true);
        if (c->ep->name[0])
                names_set(c->m, c->ep, true);
        else
                lookup_start(c->m, c->ep);
}

static void join_undo(struct dp_call *c) {
        (void) nd_nl_link_delete(c->m->nl, c->ep->host_if);
        nd_fw_port_clear(c->m->fw, c->ep->host_if);
        c->ep->joined = false;
}

static void join(nd_manager *m, nd_http_request *req, json_t *body) {
        dp_ep *e = ep_find(m, json_string_value(json_object_get(body, "EndpointID")));
        nd_network *n = NULL;
        nd_diag d = {0};
        char g4[ND_ADDR_STRLEN] = "", g6[ND_ADDR_STRLEN] = "";
        int r;

        if (!e)
                return reply_err(req, -ENOENT, &(nd_diag) { "endpoint not found" });
        if (e->busy)
                return reply_err(req, -EBUSY, &(nd_diag) { "the endpoint is busy, retry" });
        if (nd_manager_network_find(m, e->net_id, &n) < 0)
                return reply_err(req, -ENOENT, &(nd_diag) { "the endpoint's network is gone from netd" });
        /* a pair left over (a Join not followed by a move) goes first */
        (void) nd_nl_link_delete(m->nl, e->host_if);
        (void) nd_nl_link_delete(m->nl, e->peer_if);
        r = ep_guard(m, e);
        double t0 = ev_time();
        if (r == 0)
                r = nd_bridge_attach_host(m->nl, n, e->host_if, e->peer_if, e->mac);
        if (r == 0)
                nd_manager_attach_observe(m, 2, ev_time() - t0);
        if (r < 0) {
                nd_fw_port_clear(m->fw, e->host_if);
                nd_diag_set(&d, r, "creating the veth pair %s/%s failed: %s", e->host_if, e->peer_if, strerror(-r));
                return reply_err(req, r, &d);
        }
        for (size_t i = 0; i < n->spec.n_ipam && !n->spec.internal; i++) {
                const nd_ipam_config *c = &n->spec.ipam[i];
                if (e->a4.family && nd_prefix_contains(&c->subnet, &e->a4) && !g4[0])
                        nd_addr_fmt(&c->gateway, g4);
                if (e->a6.family && nd_prefix_contains(&c->subnet, &e->a6) && !g6[0])
                        nd_addr_fmt(&c->gateway, g6);
        }
        struct dp_call *c = call_new(m, req);
        if (!c) {
                (void) nd_nl_link_delete(m->nl, e->host_if);
                nd_fw_port_clear(m->fw, e->host_if);
                return reply_err(req, -ENOMEM, NULL);
        }
        e->joined = true;
        c->ep = e;
        c->commit = join_done;
        c->undo = join_undo;
        /* no gateway on an internal network: no default route through it */
        c->reply = json_pack("{s:{s:s, s:s}, s:s, s:s, s:b}", "InterfaceName", "SrcName", e->peer_if, "DstPrefix",
                             "eth", "Gateway", g4, "GatewayIPv6", g6, "DisableGatewayService", 0);
        snprintf(c->what, sizeof(c->what), "Join %.12s via %s", e->id, e->host_if);
        if (!c->reply)
                return on_stored(c, -ENOMEM, 0);
        ep_store(c);
}

/* The pair goes off the loop (link-reaper.h); the record after it. */
static void on_leave_reaped(void *userdata, int r) {
        struct dp_call *c = userdata;
        if (r == -ECANCELED)
                return call_free(c); /* netd is stopping */
        if (r < 0 && r != -ENODEV)
                nd_log_errno(LOG_WARNING, r, "deleting an endpoint's veth failed", "ifname=%s", c->ep->host_if);
        else
                nd_fw_port_clear(c->m->fw, c->ep->host_if);
        c->ep->busy = false;
        ep_store(c);
}

static void leave(nd_manager *m, nd_http_request *req, json_t *body) {
        dp_ep *e = ep_find(m, json_string_value(json_object_get(body, "EndpointID")));
        if (!e)
                return reply_err(req, -ENOENT, &(nd_diag) { "endpoint not found" });
        if (e->busy)
                return reply_err(req, -EBUSY, &(nd_diag) { "the endpoint is busy, retry" });
        struct dp_call *c = call_new(m, req);
        if (!c)
                return reply_err(req, -ENOMEM, NULL);
        ep_publish(m, e, false);
        names_set(m, e, false);
        lookup_stop(e);
        e->joined = false;
        c->ep = e;
        snprintf(c->what, sizeof(c->what), "Leave %.12s", e->id);
        /* deleting one end deletes the pair, wherever the other end is */
        int ifindex = nd_nl_link_ifindex(m->nl, e->host_if);
        if (ifindex < 0) {
                nd_fw_port_clear(m->fw, e->host_if);
                return ep_store(c);
        }
        e->busy = true; /* before: without a reaper the callback runs at once */
        if (nd_reaper_delete(m->reaper, m->nl, ifindex, on_leave_reaped, c) < 0) {
                e->busy = false;
                ep_store(c);
        }
}

static void ports_undo(struct dp_call *c) {
        nd_publish_release(c->m, &c->ep->pub);
}

static void program_external(nd_manager *m, nd_http_request *req, json_t *body) {
        dp_ep *e = ep_find(m, json_string_value(json_object_get(body, "EndpointID")));
        json_t *pm = json_object_get(json_object_get(body, "Options"), "com.docker.network.portmap");
        nd_network *n = NULL;
        nd_port_spec *specs;
        size_t n_specs;
        nd_diag d = {0};
        char what[64];
        int r;

        if (!e)
                return reply_err(req, -ENOENT, &(nd_diag) { "endpoint not found" });
        if (e->busy)
                return reply_err(req, -EBUSY, &(nd_diag) { "the endpoint is busy, retry" });
        if ((r = nd_docker_portmap_parse(pm, &specs, &n_specs, &d)) < 0)
                return reply_err(req, r, &d);
        if (n_specs && (nd_manager_network_find(m, e->net_id, &n) < 0 || n->spec.internal)) {
                free(specs);
                return reply_err(req, -EINVAL, &(nd_diag) { "ports cannot be published on an internal network" });
        }
        ep_what(e, what, sizeof(what));
        r = nd_publish(m, &e->pub, what, specs, n_specs, &e->a4, &e->a6, true, &d);
        free(specs);
        if (r < 0)
                return reply_err(req, r, &d);
        struct dp_call *c = call_new(m, req);
        if (!c) {
                nd_publish_release(m, &e->pub);
                return reply_err(req, -ENOMEM, NULL);
        }
        c->ep = e;
        c->undo = ports_undo;
        snprintf(c->what, sizeof(c->what), "ProgramExternalConnectivity %.12s ports=%zu", e->id, e->pub.n_bindings);
        ep_store(c);
}

static void revoke_external(nd_manager *m, nd_http_request *req, json_t *body) {
        dp_ep *e = ep_find(m, json_string_value(json_object_get(body, "EndpointID")));
        if (!e)
                return reply_ok(req, NULL);
        if (e->busy)
                return reply_err(req, -EBUSY, &(nd_diag) { "the endpoint is busy, retry" });
        struct dp_call *c = call_new(m, req);
        if (!c)
                return reply_err(req, -ENOMEM, NULL);
        nd_publish_release(m, &e->pub);
        c->ep = e;
        snprintf(c->what, sizeof(c->what), "RevokeExternalConnectivity %.12s", e->id);
        ep_store(c);
}

/* ---- the protocol ---- */

static void activate(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, json_pack("{s:[ss]}", "Implements", "NetworkDriver", "IpamDriver"));
}

static void net_caps(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, json_pack("{s:s, s:s}", "Scope", "local", "ConnectivityScope", "local"));
}

static void nothing(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_ok(req, NULL);
}

static void swarm_only(nd_manager *m, nd_http_request *req, json_t *body) {
        reply_err(req, -EOPNOTSUPP, &(nd_diag) { "netd's Docker networks are local to each host: swarm network "
                  "allocation is not supported (use netd's overlay networks)" });
}

static const struct {
        const char *path;
        void (*fn)(nd_manager *m, nd_http_request *req, json_t *body);
} routes[] = {
        { "/Plugin.Activate", activate },
        { "/NetworkDriver.GetCapabilities", net_caps },
        { "/NetworkDriver.CreateNetwork", create_network },
        { "/NetworkDriver.DeleteNetwork", delete_network },
        { "/NetworkDriver.CreateEndpoint", create_endpoint },
        { "/NetworkDriver.DeleteEndpoint", delete_endpoint },
        { "/NetworkDriver.EndpointOperInfo", endpoint_info },
        { "/NetworkDriver.Join", join },
        { "/NetworkDriver.Leave", leave },
        { "/NetworkDriver.DiscoverNew", nothing },
        { "/NetworkDriver.DiscoverDelete", nothing },
        { "/NetworkDriver.ProgramExternalConnectivity", program_external },
        { "/NetworkDriver.RevokeExternalConnectivity", revoke_external },
        { "/NetworkDriver.AllocateNetwork", swarm_only },
        { "/NetworkDriver.FreeNetwork", swarm_only },
        { "/IpamDriver.GetCapabilities", ipam_caps },
        { "/IpamDriver.GetDefaultAddressSpaces", ipam_spaces },
        { "/IpamDriver.RequestPool", request_pool },
        { "/IpamDriver.ReleasePool", release_pool },
        { "/IpamDriver.RequestAddress", request_address },
        { "/IpamDriver.ReleaseAddress", release_address },
};

void nd_docker_plugin_handle(nd_http_request *req, void *userdata) {
        nd_manager *m = userdata;
        const char *path = nd_http_request_path(req);
        size_t len;
        const char *text = nd_http_request_body(req, &len);
        json_t *body = NULL;
        nd_diag d = {0};

        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                if (strcmp(path, routes[i].path) != 0)
                        continue;
                if (strcmp(nd_http_request_method(req), "POST") != 0)
                        return reply_err(req, -EINVAL, &(nd_diag) { "plugin calls are POST requests" });
                /* an empty body (Plugin.Activate, GetCapabilities) and
                 * "null" are {} */
                if (len == 0 || (len == 4 && memcmp(text, "null", 4) == 0))
                        body = json_object();
                else {
                        int r = nd_json_parse_object(text, len, &body, &d);
                        if (r < 0)
                                return reply_err(req, r, &d);
                }
                if (!body)
                        return reply_err(req, -ENOMEM, NULL);
                routes[i].fn(m, req, body);
                json_decref(body);
                return;
        }
        nd_diag_set(&d, -ENOENT, "%.64s: not a method of netd's Docker plugin (NetworkDriver, IpamDriver)", path);
        nd_http_reply_json(req, 404, json_pack("{s:s}", "Err", d.msg));
}

/* ---- the manager's side ---- */

json_t *nd_docker_plugin_status(nd_manager *m) {
        struct nd_dplug *dp = m->dplug;
        json_t *pools = json_array(), *eps = json_array();
        for (size_t i = 0; dp && pools && i < dp->n_pools; i++) {
                json_t *p = pool_to_json(dp->pools[i]);
                nd_network *n = pool_net(m, dp->pools[i]);
                if (p)
                        json_object_set_new(p, "Network", json_string(n ? n->spec.name : ""));
                json_array_append_new(pools, p);
        }
        for (size_t i = 0; dp && eps && i < dp->n_eps; i++) {
                const dp_ep *e = dp->eps[i];
                nd_network *n = NULL;
                json_t *j = ep_record(e);
                if (j && nd_manager_network_find(m, e->net_id, &n) == 0)
                        json_object_set_new(j, "NetworkName", json_string(n->spec.name));
                json_array_append_new(eps, j);
        }
        json_t *binds = json_array();
        for (size_t i = 0; dp && binds && i < dp->n_binds; i++) {
                nd_network *n = net_by_id(m, dp->binds[i]->net_id);
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
                if (!pool_net(m, dp->pools[i])) {
                        if (buf)
                                buf[k] = dp->pools[i]->pool;
                        k++;
                }
        return k;
}

static const char *pools_clash(void *userdata, const nd_network_spec *spec, const nd_prefix *p,
                               nd_prefix *ret_with) {
        nd_manager *m = userdata;
        struct nd_dplug *dp = m->dplug;
        bool docker = spec && json_object_get(spec->labels, LABEL_NETWORK);
        for (size_t i = 0; dp && i < dp->n_pools; i++) {
                const dp_pool *o = dp->pools[i];
                if (!nd_prefix_overlap(&o->pool, p) || pool_net(m, o))
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
                const dp_ep *e = dp->eps[i];
                if (&e->pub != self && nd_published_clash(&e->pub, b)) {
                        ep_what(e, buf, size);
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
                dp_ep *e = dp->eps[i];
                ep_what(e, what, sizeof(what));
                nd_publish_restore(m, &e->pub, what, &e->a4, &e->a6, true);
        }
}

static const nd_port_owner_ops eps_ports = {
        .holder = eps_port_holder,
        .restore = eps_ports_restore,
};

static const nd_prefix_owner_ops pools_prefixes = {
        .reserved = pools_reserved,
        .clash = pools_clash,
};

static void on_loaded(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_manager *m = userdata;
        struct nd_dplug *dp = dp_of(m);
        size_t pools = 0, eps = 0;
        if (r < 0 || !dp)
                nd_log_errno(LOG_ERR, r < 0 ? r : -ENOMEM, "loading Docker plugin state failed");
        for (size_t i = 0; r == 0 && dp && i < n; i++) {
                json_error_t err;
                _cleanup_json_ json_t *j = json_loadb(kvs[i].value, kvs[i].value_len, 0, &err);
                bool ok = false;
                if (strncmp(kvs[i].key, KEY_POOLS, strlen(KEY_POOLS)) == 0) {
                        dp_pool *p = calloc(1, sizeof(*p));
                        ok = p && j && pool_from_json(j, p) == 0 &&
                             vec_push((void ***) &dp->pools, &dp->n_pools, &dp->cap_pools, p) == 0;
                        if (!ok)
                                free(p);
                        pools += ok;
                } else if (strncmp(kvs[i].key, KEY_BINDS, strlen(KEY_BINDS)) == 0) {
                        dp_bind *b = calloc(1, sizeof(*b));
                        const char *dn = json_string_value(json_object_get(j, "NetworkID"));
                        const char *ni = json_string_value(json_object_get(j, "NetdNetwork"));
                        ok = b && docker_id_valid(dn) && nd_id_valid(ni) &&
                             vec_push((void ***) &dp->binds, &dp->n_binds, &dp->cap_binds, b) == 0;
                        if (ok) {
                                snprintf(b->dnet, sizeof(b->dnet), "%s", dn);
                                snprintf(b->net_id, sizeof(b->net_id), "%s", ni);
                        } else
                                free(b);
                } else if (strncmp(kvs[i].key, KEY_EPS, strlen(KEY_EPS)) == 0) {
                        dp_ep *e = calloc(1, sizeof(*e));
                        nd_network *net = NULL;
                        ok = e && j && ep_from_json(j, e) == 0 && nd_manager_network_find(m, e->net_id, &net) == 0 &&
                             vec_push((void ***) &dp->eps, &dp->n_eps, &dp->cap_eps, e) == 0;
                        if (!ok)
                                ep_free(e);
                        else if (e->joined) {
                                int q = ep_guard(m, e);
                                if (q < 0)
                                        nd_log_errno(LOG_ERR, q, "guarding the endpoint's port failed",
                                                     "endpoint=%.12s ifname=%s", e->id, e->host_if);
                                ep_publish(m, e, true);
                                names_set(m, e, true);
                                lookup_start(m, e); /* if netd stopped before it learnt the name */
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

int nd_docker_plugin_load(nd_manager *m, void (*done)(nd_manager *m)) {
        struct nd_dplug *dp = dp_of(m);
        int r;
        if (!dp)
                return -ENOMEM;
        r = nd_publish_owner_add(m, &eps_ports, m);
        if (r >= 0)
                r = nd_manager_prefix_owner_add(m, &pools_prefixes, m);
        if (r < 0)
                return r;
        dp->done = done;
        return nd_store_list(m->store, "/netd/v1/docker/", on_loaded, m);
}

void nd_docker_plugin_free(nd_manager *m) {
        struct nd_dplug *dp = m->dplug;
        if (!dp)
                return;
        /* the veths and ports stay for dockerd's containers; the sockets
         * holding the ports close with the process */
        for (size_t i = 0; i < dp->n_pools; i++)
                free(dp->pools[i]);
        for (size_t i = 0; i < dp->n_eps; i++)
                ep_free(dp->eps[i]);
        for (size_t i = 0; i < dp->n_binds; i++)
                free(dp->binds[i]);
        free(dp->binds);
        free(dp->pools);
        free(dp->eps);
        free(dp);
        m->dplug = NULL;
}
