/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's IPAM pools and networks (docker.h).
 *  - A pool (RequestPool) is a subnet reserved by a pool record; netd's
 *    other networks avoid it.  The gateway Docker asks for before the
 *    network exists is kept in it.  With --ipam-opt netd.network=NAME the
 *    pool is an existing netd network's subnet.
 *  - Addresses (RequestAddress) on a network of a netd pool are netd IPAM
 *    records owned by "docker-pool:<PoolID>".
 *  - A Docker network (CreateNetwork) is an ordinary netd bridge network
 *    named docker-<id12>, labelled com.docker.network.id=<NetworkID>, on
 *    the pool's subnet, gateway and sub-pool (or, with Docker's own IPAM,
 *    on the subnet and gateway Docker chose); or, with -o netd.network, a
 *    binding to an existing netd network.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"
#include "docker-internal.h"
#include "docker-proto.h"
#include "log.h"
#include "manager-internal.h"
#include "subnet.h"

static void pool_drop(struct nd_docker_call *c) {
        nd_docker_vec_drop((void **) c->m->dplug->pools, &c->m->dplug->n_pools, c->pool);
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
                return nd_diag_set(d, -ENOENT, "netd network '%.64s' not found (--ipam-opt " ND_DOCKER_OPT_NETWORK ")", ref);
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

void nd_docker_pool_request(nd_manager *m, const nd_docker_pool_req *rq, nd_docker_done_fn done, void *userdata) {
        const char *pool = rq->pool, *sub = rq->sub, *existing = rq->network;
        char a[ND_PREFIX_STRLEN], b[ND_PREFIX_STRLEN];
        nd_network *bound = NULL;
        bool v6 = rq->v6;
        nd_diag d = {0};
        nd_prefix p = {0}, sp = {0};
        int r;

        if (existing && *existing) {
                if ((r = pool_of_existing(m, existing, v6, pool, sub, &bound, &p, &d)) < 0)
                        return nd_docker_err(done, userdata, r, &d);
        } else if (pool && *pool) {
                if ((r = nd_prefix_parse(pool, ND_PREFIX_STRICT, &p, &d)) < 0)
                        return nd_docker_err(done, userdata, r, &d);
                if ((p.addr.family == AF_INET6) != v6)
                        return nd_docker_err(done, userdata, -EINVAL,
                                             &(nd_diag) { "the pool's family does not match V6" });
        } else if (v6)
                return nd_docker_err(done, userdata, -EINVAL,
                                     &(nd_diag) { "netd has no default IPv6 pool: give the IPv6 subnet "
                                                  "(docker network create --ipv6 --subnet ...)" });
        else if ((r = nd_manager_subnet_pick(m, &p, &d)) < 0)
                return nd_docker_err(done, userdata, r, &d);
        if (!bound && sub && *sub) {
                if ((r = nd_prefix_parse(sub, ND_PREFIX_STRICT, &sp, &d)) < 0)
                        return nd_docker_err(done, userdata, r, &d);
                if (!nd_prefix_contains_prefix(&p, &sp)) {
                        nd_diag_set(&d, -EINVAL, "sub-pool %s is not inside pool %s", nd_prefix_fmt(&sp, a),
                                    nd_prefix_fmt(&p, b));
                        return nd_docker_err(done, userdata, -EINVAL, &d);
                }
        }
        /* netd's networks and other pools: no overlap (a subnet picked
         * above avoids them already; an existing network's is its own) */
        nd_prefix with;
        const char *who = bound ? NULL : nd_manager_subnet_overlap(m, &p, &with);
        if (!who && !bound)
                who = nd_docker_pools_clash(m, NULL, &p, &with);
        if (who) {
                nd_diag_set(&d, -EADDRINUSE, "pool %s overlaps subnet %s of %s", nd_prefix_fmt(&p, a),
                            nd_prefix_fmt(&with, b), who);
                return nd_docker_err(done, userdata, -EADDRINUSE, &d);
        }

        struct nd_dplug *dp = nd_docker_state(m);
        nd_docker_pool *np = calloc(1, sizeof(*np));
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        char id[ND_ID_LEN + 1];
        if (!dp || !np || !c || nd_id_new(id) < 0 || ND_DOCKER_PUSH(dp->pools, dp->n_pools, dp->cap_pools, np) < 0) {
                free(np);
                free(c);
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        }
        snprintf(np->id, sizeof(np->id), "np-%.16s", id);
        np->pool = p;
        np->sub = sp;
        if (bound)
                snprintf(np->net_id, sizeof(np->net_id), "%s", bound->id);
        c->pool = np;
        c->undo = pool_drop;
        snprintf(c->res.pool_id, sizeof(c->res.pool_id), "%s", np->id);
        c->res.pool = p;
        nd_prefix_fmt(&p, a);
        snprintf(c->what, sizeof(c->what), "RequestPool %s %s%s%s", np->id, a, bound ? " of " : "",
                 bound ? bound->spec.name : "");
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        const char *key = nd_store_txn_keyf(t, ND_KEY_DOCKER_POOLS "%s", np->id);
        (void) nd_store_txn_cmp_absent(t, key);
        (void) nd_store_txn_put_json_new(t, key, nd_docker_pool_to_json(np));
        nd_docker_call_submit(c, t);
}

void nd_docker_pool_release(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata) {
        nd_docker_pool *p = nd_docker_pool_find(m, id);
        if (!p)
                return nd_docker_ok(done, userdata); /* idempotent */
        if (p->busy)
                return nd_docker_err(done, userdata, -EBUSY, &(nd_diag) { "the pool is busy, retry" });
        /* dockerd releases the pool before it deletes the network: the
         * network holds the subnet from here on, until it goes */
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_del(t, nd_store_txn_keyf(t, ND_KEY_DOCKER_POOLS "%s", p->id));
        if (!c || nd_store_txn_error(t) < 0) {
                nd_store_txn_free(t);
                free(c);
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        }
        c->pool = p;
        c->commit = pool_drop;
        snprintf(c->what, sizeof(c->what), "ReleasePool %s", p->id);
        nd_docker_call_submit(c, t);
}

/* A request handed to the manager (addresses, networks): whom to tell. */
struct dk_wait {
        nd_docker_done_fn done;
        void *userdata;
        unsigned plen;
};

static struct dk_wait *wait_new(nd_docker_done_fn done, void *userdata, unsigned plen) {
        struct dk_wait *w = calloc(1, sizeof(*w));
        if (w)
                *w = (struct dk_wait) { .done = done, .userdata = userdata, .plen = plen };
        return w;
}

static void on_addr(void *userdata, int r, const nd_addr *a, const nd_diag *d) {
        struct dk_wait *w = userdata;
        nd_docker_result res = { .plen = w->plen };
        if (r < 0)
                w->done(w->userdata, r, d, NULL);
        else {
                res.addr = *a;
                w->done(w->userdata, 0, NULL, &res);
        }
        free(w);
}

static void gateway_set(struct nd_docker_call *c) {
        c->pool->gateway = c->addr;
}

void nd_docker_address_request(nd_manager *m, const char *id, const char *want, bool gateway,
                               nd_docker_done_fn done, void *userdata) {
        nd_docker_pool *p = nd_docker_pool_find(m, id);
        char s[ND_PREFIX_STRLEN];
        nd_diag d = {0};
        nd_addr a = {0};
        unsigned plen;

        if (!p) {
                nd_diag_set(&d, -ENOENT, "unknown pool '%.64s'", id ? id : "");
                return nd_docker_err(done, userdata, -ENOENT, &d);
        }
        if (want && *want && (nd_docker_cidr_parse(want, &a, &plen) < 0 || !nd_prefix_contains(&p->pool, &a))) {
                nd_diag_set(&d, -EINVAL, "address '%.64s' is not in pool %s", want, nd_prefix_fmt(&p->pool, s));
                return nd_docker_err(done, userdata, -EINVAL, &d);
        }
        nd_network *n = nd_docker_pool_net(m, p);
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
                                        return nd_docker_err(done, userdata, -EINVAL, &d);
                                }
                                nd_docker_result res = { .addr = n->spec.ipam[i].gateway,
                                                         .plen = p->pool.len };
                                return done(userdata, 0, NULL, &res);
                        }
        }
        if (n) {
                struct dk_wait *ac = wait_new(done, userdata, p->pool.len);
                char owner[64];
                if (!ac)
                        return nd_docker_err(done, userdata, -ENOMEM, NULL);
                snprintf(owner, sizeof(owner), "docker-pool:%s", p->id);
                int r = nd_manager_address_request(m, n, p->pool.addr.family, a.family ? &a : NULL, owner, on_addr,
                                                   ac, &d);
                if (r < 0) {
                        free(ac);
                        nd_docker_err(done, userdata, r, &d);
                }
                return;
        }
        if (!gateway)
                return nd_docker_err(done, userdata, -EOPNOTSUPP,
                                     &(nd_diag) { "netd's IPAM driver gives out addresses on networks "
                                                  "of netd's network driver only, once the network exists (docker "
                                                  "network create -d netd --ipam-driver netd; no --aux-address)" });
        if (p->busy)
                return nd_docker_err(done, userdata, -EBUSY, &(nd_diag) { "the pool is busy, retry" });
        /* the gateway of a network not created yet: kept in the pool */
        if (!a.family) {
                nd_subnet *tmp = NULL;
                if (nd_subnet_new(&p->pool, p->sub.addr.family ? &p->sub : NULL, &tmp) < 0)
                        return nd_docker_err(done, userdata, -ENOMEM, NULL);
                nd_subnet_first_host(tmp, &a);
                nd_subnet_free(tmp);
        }
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        if (!c)
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        const char *key = nd_store_txn_keyf(t, ND_KEY_DOCKER_POOLS "%s", p->id);
        nd_docker_pool saved = *p;
        p->gateway = a;
        (void) nd_store_txn_put_json_new(t, key, nd_docker_pool_to_json(p));
        *p = saved;
        c->pool = p;
        c->addr = a;
        c->commit = gateway_set;
        c->res.addr = a;
        c->res.plen = p->pool.len;
        nd_docker_cidr_fmt(&a, p->pool.len, s);
        snprintf(c->what, sizeof(c->what), "RequestAddress %s gateway %s", p->id, s);
        nd_docker_call_submit(c, t);
}

static void gateway_clear(struct nd_docker_call *c) {
        c->pool->gateway = (nd_addr) { 0 };
}

void nd_docker_address_release(nd_manager *m, const char *id, const char *addr, nd_docker_done_fn done,
                               void *userdata) {
        nd_docker_pool *p = nd_docker_pool_find(m, id);
        nd_diag d = {0};
        nd_addr a;
        unsigned plen;

        if (!p)
                return nd_docker_ok(done, userdata);
        if (!addr || nd_docker_cidr_parse(addr, &a, &plen) < 0)
                return nd_docker_err(done, userdata, -EINVAL,
                                     &(nd_diag) { "ReleaseAddress: a valid Address is required" });
        nd_network *n = nd_docker_pool_net(m, p);
        nd_subnet *sub = n ? nd_network_subnet_for(n, &a) : NULL;
        bool is_gw = false;
        for (size_t i = 0; n && i < n->spec.n_ipam; i++)
                is_gw |= nd_addr_equal(&n->spec.ipam[i].gateway, &a);
        if (sub && !is_gw && nd_subnet_is_allocated(sub, &a)) {
                struct dk_wait *ac = wait_new(done, userdata, p->pool.len);
                if (!ac)
                        return nd_docker_err(done, userdata, -ENOMEM, NULL);
                int r = nd_manager_address_release(m, n, &a, on_addr, ac, &d);
                if (r < 0) {
                        free(ac);
                        nd_docker_err(done, userdata, r, &d);
                }
                return;
        }
        if (n || !nd_addr_equal(&p->gateway, &a))
                return nd_docker_ok(done, userdata); /* the network's gateway goes with it; else: not ours */
        if (p->busy)
                return nd_docker_err(done, userdata, -EBUSY, &(nd_diag) { "the pool is busy, retry" });
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        if (!c)
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        const char *key = nd_store_txn_keyf(t, ND_KEY_DOCKER_POOLS "%s", p->id);
        nd_docker_pool saved = *p;
        p->gateway = (nd_addr) { 0 };
        (void) nd_store_txn_put_json_new(t, key, nd_docker_pool_to_json(p));
        *p = saved;
        c->pool = p;
        c->commit = gateway_clear;
        snprintf(c->what, sizeof(c->what), "ReleaseAddress %s gateway", p->id);
        nd_docker_call_submit(c, t);
}

/* ---- networks ---- */

static void on_net_done(void *userdata, int r, nd_network *n, const nd_diag *d) {
        struct dk_wait *w = userdata;
        if (r < 0)
                nd_docker_err(w->done, w->userdata, r, d);
        else
                nd_docker_ok(w->done, w->userdata);
        free(w);
}

/* One IPv4Data/IPv6Data entry: {"AddressSpace", "Pool", "Gateway": "a/len",
 * "AuxAddresses"} -> an IPAM.Config entry of netd's network request. */
static int ipdata_entry(nd_manager *m, const nd_docker_ipdata *e, json_t *cfg, nd_diag *d) {
        const char *pool = e->pool, *gw = e->gateway;
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
static int bind_target(nd_manager *m, const nd_docker_net_req *rq, nd_network **ret, nd_diag *d) {
        const char *ref = rq->network, *dnet = rq->id;
        struct nd_dplug *dp = m->dplug;
        nd_network *want = NULL, *got = NULL;
        const nd_docker_ipdata *sets[2] = { rq->v4, rq->v6 };
        size_t lens[2] = { rq->n_v4, rq->n_v6 }, n_ipdata = 0, n_bound = 0;

        *ret = NULL;
        if (ref && *ref && nd_manager_network_find(m, ref, &want) < 0)
                return nd_diag_set(d, -ENOENT, "netd network '%.64s' not found (-o " ND_DOCKER_OPT_NETWORK ")", ref);
        for (int f = 0; f < 2; f++)
                for (size_t i = 0; i < lens[f]; i++) {
                        nd_prefix p;
                        n_ipdata++;
                        if (nd_prefix_parse(sets[f][i].pool, ND_PREFIX_STRICT, &p, NULL) < 0)
                                continue;
                        for (size_t k = 0; dp && k < dp->n_pools; k++) {
                                const nd_docker_pool *o = dp->pools[k];
                                if (o->net_id[0] && o->pool.len == p.len && nd_addr_equal(&o->pool.addr, &p.addr)) {
                                        got = nd_docker_net_by_id(m, o->net_id);
                                        n_bound++;
                                        break;
                                }
                        }
                }
        if (!want && !got)
                return 0;
        if (want && got && want != got)
                return nd_diag_set(d, -EINVAL, "-o " ND_DOCKER_OPT_NETWORK " and --ipam-opt " ND_DOCKER_OPT_NETWORK
                                   " name different networks");
        if (!got || n_bound != n_ipdata)
                return nd_diag_set(d, -EINVAL, "a Docker network on netd network '%s' takes its addresses from it: "
                                   "use --ipam-driver netd --ipam-opt " ND_DOCKER_OPT_NETWORK "=%s", want->spec.name,
                                   want->spec.name);
        for (size_t k = 0; dp && k < dp->n_binds; k++)
                if (strcmp(dp->binds[k]->net_id, got->id) == 0 && strcmp(dp->binds[k]->dnet, dnet) != 0)
                        return nd_diag_set(d, -EEXIST, "netd network '%s' already carries Docker network %.12s",
                                           got->spec.name, dp->binds[k]->dnet);
        *ret = got;
        return 0;
}

static void bind_drop(struct nd_docker_call *c) {
        nd_docker_vec_drop((void **) c->m->dplug->binds, &c->m->dplug->n_binds, c->bind);
        free(c->bind);
        c->bind = NULL;
}

static void bind_network(nd_manager *m, const char *dnet, nd_network *n, nd_docker_done_fn done, void *userdata) {
        struct nd_dplug *dp = nd_docker_state(m);
        nd_docker_bind *b = calloc(1, sizeof(*b));
        struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
        if (!dp || !b || !c || ND_DOCKER_PUSH(dp->binds, dp->n_binds, dp->cap_binds, b) < 0) {
                free(b);
                free(c);
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        }
        snprintf(b->dnet, sizeof(b->dnet), "%s", dnet);
        snprintf(b->net_id, sizeof(b->net_id), "%s", n->id);
        snprintf(c->what, sizeof(c->what), "bind %.12s to %s", dnet, n->spec.name);
        c->bind = b;
        c->undo = bind_drop;
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        const char *key = nd_store_txn_keyf(t, ND_KEY_DOCKER_NETWORKS "%s", dnet);
        (void) nd_store_txn_cmp_absent(t, key);
        (void) nd_store_txn_put_json_new(t, key, json_pack("{s:s, s:s}", "NetworkID", dnet, "NetdNetwork", n->id));
        int r = nd_store_txn_error(t);
        if (r < 0) {
                nd_store_txn_free(t);
                return nd_docker_call_stored(c, r, 0);
        }
        nd_log(LOG_INFO, "docker plugin: network on an existing netd network", "docker_id=%.12s net=%s", dnet,
               n->spec.name);
        nd_docker_call_submit(c, t);
}

void nd_docker_network_create(nd_manager *m, const nd_docker_net_req *rq, nd_docker_done_fn done, void *userdata) {
        const char *id = rq->id;
        nd_network_spec spec;
        nd_diag d = {0};
        int r;

        if (!nd_docker_id_valid(id))
                return nd_docker_err(done, userdata, -EINVAL,
                                     &(nd_diag) { "CreateNetwork: a valid NetworkID is required" });
        if (nd_docker_dnet_find(m, id))
                return nd_docker_ok(done, userdata);
        nd_network *existing = NULL;
        r = bind_target(m, rq, &existing, &d);
        if (r < 0)
                return nd_docker_err(done, userdata, r, &d);
        if (existing)
                return bind_network(m, id, existing, done, userdata);
        if (rq->n_v4 == 0)
                return nd_docker_err(done, userdata, -EINVAL,
                                     &(nd_diag) { "CreateNetwork: netd networks need an IPv4 pool" });
        char name[ND_NAME_MAX + 1];
        snprintf(name, sizeof(name), "docker-%.12s", id);
        json_t *cfg = json_array(), *nopts = json_object();
        json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:{s:o}, s:o, s:{s:s}}", "Name", name, "Driver", "bridge",
                              "Internal", rq->internal, "EnableIPv6", rq->n_v6 > 0, "IPAM", "Config", cfg, "Options", nopts,
                              "Labels", LABEL_NETWORK, id);
        if (!j)
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        for (size_t i = 0; i < rq->n_v4; i++)
                if ((r = ipdata_entry(m, &rq->v4[i], cfg, &d)) < 0)
                        goto fail;
        for (size_t i = 0; i < rq->n_v6; i++)
                if ((r = ipdata_entry(m, &rq->v6[i], cfg, &d)) < 0)
                        goto fail;
        const char *ignored;
        size_t n_ignored = nd_docker_driver_opts(rq->generic, nopts, &ignored);
        if (n_ignored)
                nd_log(LOG_INFO, "docker plugin: options that are not netd's ignored", "network=%s count=%zu first=%s",
                       name, n_ignored, ignored);
        r = nd_network_spec_from_json(j, &spec, &d);
        if (r < 0)
                goto fail;
        json_decref(j);
        struct dk_wait *w = wait_new(done, userdata, 0);
        if (!w) {
                nd_network_spec_done(&spec);
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        }
        r = nd_manager_network_create(m, &spec, on_net_done, w, &d);
        if (r < 0) {
                free(w);
                nd_docker_err(done, userdata, r, &d);
        } else
                nd_log(LOG_INFO, "docker plugin: network", "network=%s docker_id=%.12s", name, id);
        return;
fail:
        json_decref(j);
        nd_docker_err(done, userdata, r, &d);
}

void nd_docker_network_delete(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata) {
        nd_network *n = nd_docker_dnet_find(m, id);
        struct nd_dplug *dp = m->dplug;
        nd_diag d = {0};
        if (!n)
                return nd_docker_ok(done, userdata);
        for (size_t i = 0; dp && i < dp->n_eps; i++)
                if (strcmp(dp->eps[i]->net_id, n->id) == 0)
                        return nd_docker_err(done, userdata, -EBUSY,
                                             &(nd_diag) { "the network still has endpoints" });
        nd_docker_bind *b = nd_docker_bind_find(m, id);
        if (b) {
                /* the netd network is not Docker's: only the binding goes */
                struct nd_docker_call *c = nd_docker_call_new(m, done, userdata);
                if (!c)
                        return nd_docker_err(done, userdata, -ENOMEM, NULL);
                snprintf(c->what, sizeof(c->what), "unbind %.12s", id);
                c->bind = b;
                c->commit = bind_drop;
                nd_store_txn_builder *t = NULL;
                (void) nd_store_txn_new(&t);
                (void) nd_store_txn_del(t, nd_store_txn_keyf(t, ND_KEY_DOCKER_NETWORKS "%s", id));
                return nd_docker_call_submit(c, t);
        }
        struct dk_wait *w = wait_new(done, userdata, 0);
        if (!w)
                return nd_docker_err(done, userdata, -ENOMEM, NULL);
        int r = nd_manager_network_remove(m, n, on_net_done, w, &d);
        if (r < 0) {
                free(w);
                nd_docker_err(done, userdata, r, &d);
        }
}

