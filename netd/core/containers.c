/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers of the bundled runtime: the table, the record, endpoints'
 * addresses, and requests that wait for an address block.  The rest of
 * the service is in container-*.c (see container-internal.h).
 *
 * Order of a run, chosen so that a crash at any point leaves nothing that
 * is not recorded:
 *   1. validate everything, reserve addresses in memory;
 *   2. write the container record, its name and its address records in one
 *      transaction (status "created");
 *   3. build the sandbox and endpoints (netlink), write the bundle, start
 *      netd-monitor;
 *   4. when the monitor reports the exec, record "running" and answer.
 * The monitor is watched with a pidfd; its exit (the container's) is
 * recorded from BUNDLE/status.json, also when it happened while netd was
 * down.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bundle.h"
#include "cluster.h"
#include "container-internal.h"
#include "endpoint.h"
#include "grow.h"
#include "replicas-internal.h"

void nd_ct_log(int level, const nd_container *c, const char *msg, const char *fmt, ...) {
        char fields[512] = "";
        va_list ap;
        if (level > nd_log_max_level)
                return;
        va_start(ap, fmt);
        vsnprintf(fields, sizeof(fields), fmt, ap);
        va_end(ap);
        nd_log_internal(level, 0, msg, "ct=%s id=%.12s%s%s", c->name, c->id, *fields ? " " : "", fields);
}

/* ---- table ------------------------------------------------------------------ */

int nd_cts_add(nd_manager *m, nd_container *c) {
        if (ND_GROW(m->cts, m->n_cts, m->cap_cts, 1) < 0)
                return -ENOMEM;
        m->cts[m->n_cts++] = c;
        c->manager = m;
        return 0;
}

void nd_ct_forget_waiters(nd_container *c) {
        while (c->waiters) {
                nd_ct_waiter *w = c->waiters;
                c->waiters = w->next;
                free(w);
        }
}

void nd_ct_stop_watchers(nd_container *c) {
        nd_manager *m = c->manager;
        ev_io_stop(m->loop, &c->report_io);
        ev_io_stop(m->loop, &c->monitor_io);
        ev_timer_stop(m->loop, &c->stop_timer);
}

void nd_cts_unlink(nd_manager *m, nd_container *c) {
        for (size_t i = 0; i < m->n_cts; i++)
                if (m->cts[i] == c) {
                        memmove(m->cts + i, m->cts + i + 1, (m->n_cts - i - 1) * sizeof(*m->cts));
                        m->n_cts--;
                        break;
                }
}

void nd_cts_drop(nd_manager *m, nd_container *c) {
        nd_cts_unlink(m, c);
        nd_ct_stop_watchers(c);
        nd_ct_forget_waiters(c);
        nd_container_free(c);
}

static bool ct_ref(const void *objs, size_t i, const char **name, const char **id) {
        const nd_container *c = ((nd_container *const *) objs)[i];
        *name = c->name;
        *id = c->id;
        return true;
}

int nd_manager_container_find(nd_manager *m, const char *ref, nd_container **ret) {
        int i = nd_ref_resolve(ref, m->cts, m->n_cts, ct_ref);
        if (i < 0)
                return i;
        *ret = m->cts[i];
        return 0;
}

size_t nd_manager_containers(nd_manager *m, nd_container ***ret) {
        *ret = m->cts;
        return m->n_cts;
}

const char *nd_manager_default_rootfs(nd_manager *m) {
        return m->default_rootfs;
}

void nd_ct_bundle_path(nd_manager *m, const char *id, char *buf, size_t size) {
        nd_rt_bundle_path(m->state_dir, id, buf, size);
}

void nd_manager_container_log_path(nd_manager *m, const nd_container *c, char *buf, size_t size) {
        snprintf(buf, size, "%s/containers/%s/container.log", m->state_dir, c->id);
}

/* ---- persistence -------------------------------------------------------------- */

typedef void (*nd_ct_persist_fn)(nd_container *c, int r, void *userdata);

struct persist_op {
        nd_container *c;
        nd_ct_persist_fn fn;
        void *userdata;
        struct nd_ct_release *rel; /* its transaction gives addresses back (nd_ct_release_dynamic) */
};

static void release_stored(struct nd_ct_release *rel, int r, nd_ct_persist_fn fn, void *userdata);

static void on_persisted(void *userdata, int r, int64_t rev) {
        struct persist_op *op = userdata;
        op->c->persisting = false;
        if (r < 0)
                log_ct(LOG_ERR, op->c, "writing the container record failed", "err=%d", r);
        if (op->rel)
                release_stored(op->rel, r, op->fn, op->userdata);
        else if (op->fn)
                op->fn(op->c, r, op->userdata);
        free(op);
}

nd_store_txn_builder *nd_ct_txn_new(const nd_container *c) {
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_put_json_new(t, nd_store_txn_keyf(t, ND_KEY_CONTAINERS "%s", c->id),
                                         nd_container_to_json(c));
        return t;
}

nd_store_txn_builder *nd_ct_txn_stopped(nd_container *c) {
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        (void) nd_ct_release_dynamic(c->manager, c, t);
        (void) nd_store_txn_put_json_new(t, nd_store_txn_keyf(t, ND_KEY_CONTAINERS "%s", c->id),
                                         nd_container_to_json(c));
        return t;
}

int nd_ct_persist(nd_container *c, nd_store_txn_builder *t, nd_ct_persist_fn fn, void *userdata) {
        struct persist_op *op = calloc(1, sizeof(*op));
        int r;

        if (!op) {
                nd_store_txn_free(t);
                if (c->release)
                        release_stored(TAKE_PTR(c->release), -ENOMEM, NULL, NULL);
                return -ENOMEM;
        }
        *op = (struct persist_op) { .c = c, .fn = fn, .userdata = userdata, .rel = TAKE_PTR(c->release) };
        r = nd_store_txn_submit(t, c->manager->store, on_persisted, op);
        if (r < 0) {
                if (op->rel)
                        release_stored(op->rel, r, NULL, NULL);
                free(op);
                return r;
        }
        c->persisting = true;
        return 0;
}

nd_network *nd_ct_net_by_id(nd_manager *m, const char *id) {
        for (size_t i = 0; i < m->n_nets; i++)
                if (strcmp(m->nets[i].net->id, id) == 0)
                        return m->nets[i].net;
        return NULL;
}

void nd_ct_release_endpoint(nd_manager *m, const nd_endpoint *e) {
        nd_network *n = nd_ct_net_by_id(m, e->net_id);
        if (!n)
                return;
        nd_ep_spec sp = { .kind = ND_EP_CONTAINER, .net = n, .ep = (nd_endpoint *) e };
        nd_endpoint_detach(m, &sp, ND_EP_RESERVE);
}

/* ---- endpoints ------------------------------------------------------------------ */

static int next_ifname(const nd_container *c, char ifname[16], unsigned *ret_index) {
        for (unsigned i = 0; i < 64; i++) {
                bool used = false;
                snprintf(ifname, 16, "eth%u", i);
                for (size_t k = 0; k < c->n_eps; k++)
                        used |= strcmp(c->eps[k].ifname, ifname) == 0;
                if (!used) {
                        *ret_index = i;
                        return 0;
                }
        }
        return -ENOSPC;
}

int nd_ct_endpoint_prepare(nd_manager *m, nd_container *c, nd_network *n, const nd_endpoint_req *rq,
                           nd_endpoint *e, nd_diag *d) {
        unsigned idx;
        int r;

        memset(e, 0, sizeof(*e));
        e->gw_priority = rq->gw_priority;
        for (size_t i = 0; i < rq->n_aliases; i++)
                strcpy(e->aliases[e->n_aliases++], rq->aliases[i]);
        strcpy(e->net_id, n->id);
        strcpy(e->net_name, n->spec.name);
        r = next_ifname(c, e->ifname, &idx);
        if (r < 0)
                return nd_diag_set(d, r, "too many interfaces");
        snprintf(e->host_ifname, sizeof(e->host_ifname), "vnd%.8s-%u", c->id, idx);

        /* the pipeline's first stage (endpoint.h); -EAGAIN: an overlay
         * block is being claimed, try again */
        nd_ep_spec sp = { .kind = ND_EP_CONTAINER, .net = n, .ep = e, .want4 = rq->ip4 ? &rq->addr4 : NULL,
                          .want6 = rq->ip6 ? &rq->addr6 : NULL, .has_mac = rq->has_mac };
        if (rq->has_mac)
                memcpy(e->mac, rq->mac, sizeof(e->mac));
        e->static4 = rq->ip4;
        e->static6 = rq->ip6;
        e->mac_given = rq->has_mac;
        return nd_endpoint_attach(m, &sp, ND_EP_RESERVE, d);
}

int nd_ct_endpoint_ipam_ops(const nd_container *c, nd_network *n, const nd_endpoint *e, bool put,
                            nd_store_txn_builder *t) {
        if (n) {
                _cleanup_free_ char *rec = put ? nd_endpoint_record_value(c->id) : NULL;
                if (put && !rec)
                        return -ENOMEM;
                addr_records(t, n, &e->addr4, &e->addr6, rec);
        }
        return nd_store_txn_error(t);
}

/* ---- the dynamic addresses of a stopped container ------------------------------ */

/* Which of @e's families a stop gives back (1: IPv4, 2: IPv6): the
 * dynamic ones on a network of this host.  An overlay's come from this
 * host's cluster block, which no other host allocates from: they stay. */
static unsigned gives_back(const nd_network *n, const nd_endpoint *e) {
        if (!n || nd_network_is_global(n))
                return 0;
        return (e->addr4.family && !e->static4 ? 1u : 0u) | (e->addr6.family && !e->static6 ? 2u : 0u);
}

/* The dynamic addresses of one stop, held (reserved, out of @c's
 * endpoints) until their pairs are gone and the record without them is
 * durable: only then may another container get them, and only then does
 * nothing answer for them any more.  A record that failed to be written
 * still names them: they are @c's again. */
struct nd_ct_release {
        nd_manager *m;
        nd_container *c;
        unsigned pending;         /* pairs still being deleted, +1 until the record is written */
        int r;                    /* the record's result */
        nd_ct_persist_fn fn;      /* then @fn(@c, @r, @userdata) */
        void *userdata;
        size_t n;
        struct nd_ct_given {
                nd_endpoint was;  /* the endpoint as it was */
                unsigned fams;    /* 1: IPv4, 2: IPv6 given back */
        } given[];
};

static void release_settle(struct nd_ct_release *rel) {
        nd_container *c = rel->c;

        if (rel->pending > 0)
                return;
        if (rel->r >= 0)
                for (size_t i = 0; i < rel->n; i++) {
                        nd_endpoint gone = { 0 };
                        strcpy(gone.net_id, rel->given[i].was.net_id);
                        if (rel->given[i].fams & 1)
                                gone.addr4 = rel->given[i].was.addr4;
                        if (rel->given[i].fams & 2)
                                gone.addr6 = rel->given[i].was.addr6;
                        nd_ct_release_endpoint(rel->m, &gone);
                }
        log_ct(LOG_DEBUG, c, rel->r >= 0 ? "dynamic addresses given back" : "dynamic addresses kept",
               "endpoints=%zu", rel->n);
        c->releasing--;
        nd_manager *m = rel->m;
        bool task = c->managed;
        if (rel->fn)
                rel->fn(c, rel->r, rel->userdata);
        free(rel);
        /* a removal that waited for it (on_exit_persisted answers those
         * of an exit) */
        if (c->waiters && !c->releasing && !c->exit_persisting && c->status != ND_CT_RUNNING)
                nd_ct_notify_waiters(c, 0, NULL);
        if (task)
                nd_replicas_kick(m); /* a task's restart waited for its pairs */
}

static void on_release_reaped(void *userdata, int r) {
        struct nd_ct_release *rel = userdata;
        if (r < 0 && r != -ENODEV && r != -ECANCELED)
                log_ct(LOG_WARNING, rel->c, "deleting the endpoint of a stopped container failed, ignoring",
                       "err=%d", r);
        rel->pending--;
        release_settle(rel);
}

/* The record of @rel's stop written with @r (or never: the error of the
 * submit, no @fn). */
static void release_stored(struct nd_ct_release *rel, int r, nd_ct_persist_fn fn, void *userdata) {
        rel->r = r;
        rel->fn = fn;
        rel->userdata = userdata;
        if (r < 0)
                /* the store still holds them as @c's: so does memory, and a
                 * start re-creates the pairs with them */
                for (size_t i = 0; i < rel->n; i++) {
                        nd_endpoint *e = nd_container_endpoint(rel->c, rel->given[i].was.net_id);
                        const nd_endpoint *w = &rel->given[i].was;
                        if (!e)
                                continue;
                        if ((rel->given[i].fams & 1) && !e->addr4.family) {
                                e->addr4 = w->addr4;
                                e->gw4 = w->gw4;
                                e->plen4 = w->plen4;
                        }
                        if ((rel->given[i].fams & 2) && !e->addr6.family) {
                                e->addr6 = w->addr6;
                                e->gw6 = w->gw6;
                                e->plen6 = w->plen6;
                        }
                }
        rel->pending--;
        release_settle(rel);
}

void nd_ct_txn_stopped_drop(nd_container *c, nd_store_txn_builder *t) {
        nd_store_txn_free(t);
        if (c->release)
                release_stored(TAKE_PTR(c->release), 0, NULL, NULL); /* nothing recorded them */
}

size_t nd_ct_release_dynamic(nd_manager *m, nd_container *c, nd_store_txn_builder *t) {
        struct nd_ct_release *rel = NULL;
        size_t released = 0;

        /* one release in flight per transaction: a second one before the
         * first was submitted has nothing left to give */
        if (!c->release) {
                rel = calloc(1, sizeof(*rel) + c->n_eps * sizeof(rel->given[0]));
                if (rel)
                        *rel = (struct nd_ct_release) { .m = m, .c = c, .pending = 1 };
        }
        for (size_t i = 0; i < c->n_eps; i++) {
                nd_endpoint *e = &c->eps[i];
                nd_network *n = nd_ct_net_by_id(m, e->net_id);
                unsigned fams = gives_back(n, e);
                if (!fams)
                        continue;
                nd_endpoint gone = {0};
                strcpy(gone.net_id, e->net_id);
                if (fams & 1)
                        gone.addr4 = e->addr4;
                if (fams & 2)
                        gone.addr6 = e->addr6;
                (void) nd_ct_endpoint_ipam_ops(c, n, &gone, false, t);
                released++;
                if (rel) {
                        rel->given[rel->n++] = (struct nd_ct_given) { .was = *e, .fams = fams };
                        /* the pair off the loop (a grace period each), by
                         * name: @c's start waits for it (releasing), so
                         * nothing re-creates the name before it is gone */
                        rel->pending++;
                        nd_endpoint_unwire_async(m, ND_EP_CONTAINER, e, on_release_reaped, rel);
                } else {
                        /* out of memory: the pair now, then the addresses */
                        int r = nd_endpoint_unwire(m, ND_EP_CONTAINER, e);
                        if (r < 0 && r != -ENODEV)
                                log_ct(LOG_WARNING, c, "deleting the endpoint of a stopped container failed, "
                                       "ignoring", "if=%s err=%d", e->host_ifname, r);
                        nd_ct_release_endpoint(m, &gone);
                }
                if (fams & 1) {
                        e->addr4 = e->gw4 = (nd_addr) { 0 };
                        e->plen4 = 0;
                }
                if (fams & 2) {
                        e->addr6 = e->gw6 = (nd_addr) { 0 };
                        e->plen6 = 0;
                }
        }
        if (rel && rel->n) {
                c->release = rel;
                c->releasing++;
        } else
                free(rel);
        if (released)
                log_ct(LOG_INFO, c, "dynamic addresses given back", "endpoints=%zu", released);
        return released;
}

static bool needs_addresses(const nd_network *n, const nd_endpoint *e) {
        if (nd_network_is_global(n))
                return false;
        return (!e->addr4.family && !e->static4 && nd_network_subnet_family(n, AF_INET)) ||
               (!e->addr6.family && !e->static6 && nd_network_subnet_family(n, AF_INET6));
}

int nd_ct_reserve_dynamic(nd_manager *m, nd_container *c, nd_diag *d) {
        _cleanup_free_ nd_endpoint *old = NULL;
        int got = 0, r = 0;
        size_t i;

        for (i = 0; i < c->n_eps; i++) {
                nd_network *n = nd_ct_net_by_id(m, c->eps[i].net_id);
                if (!n)
                        return nd_diag_set(d, -ENOENT, "network '%s' of container '%s' not found (removed while it "
                                           "was stopped)", c->eps[i].net_name, c->name);
        }
        old = malloc(c->n_eps * sizeof(*old) + 1);
        if (!old)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        memcpy(old, c->eps, c->n_eps * sizeof(*old));
        for (i = 0; i < c->n_eps; i++) {
                nd_endpoint *e = &c->eps[i];
                nd_network *n = nd_ct_net_by_id(m, e->net_id);
                if (!needs_addresses(n, e))
                        continue;
                nd_ep_spec sp = { .kind = ND_EP_CONTAINER, .net = n, .ep = e, .has_mac = e->mac_given,
                                  .only_missing = true };
                r = nd_endpoint_attach(m, &sp, ND_EP_RESERVE, d);
                if (r < 0)
                        break;
                got++;
        }
        if (r >= 0)
                return got;
        /* what this start took goes back */
        while (i-- > 0) {
                nd_endpoint gone = {0};
                strcpy(gone.net_id, c->eps[i].net_id);
                if (!old[i].addr4.family)
                        gone.addr4 = c->eps[i].addr4;
                if (!old[i].addr6.family)
                        gone.addr6 = c->eps[i].addr6;
                nd_ct_release_endpoint(m, &gone);
                c->eps[i] = old[i];
        }
        return r;
}

/* ---- requests that wait: for an address block (overlay networks), or for
 * a removed container still holding the name or an address they ask for - */

struct ct_retry {
        nd_manager *m;
        json_t *req;
        bool start, connect;
        char netid[ND_ID_LEN + 1], ctid[ND_ID_LEN + 1];
        nd_manager_ct_fn cb;
        void *userdata;
        int tries;  /* waits for an address block */
};

/* The going container (container-internal.h) that a run of @req, or with
 * @n a connect of @req to @n, would collide with: one holding the name, or
 * a static address asked for, or with @any_addr any address on a network
 * asked for (the run found none free).  NULL: none (also when @req does
 * not parse: the attempt says why). */
static nd_ct_going *going_blocker(nd_manager *m, const json_t *req, nd_network *n, bool any_addr) {
        _cleanup_(nd_container_spec_done) nd_container_spec s = {0};
        nd_ct_going *g = NULL;
        nd_diag d = {0};

        if (!m->going)
                return NULL;
        if (n) {
                nd_endpoint_req rq;
                if (nd_endpoint_req_parse(req, &rq, &d) < 0)
                        return NULL;
                if (any_addr)
                        return nd_ct_going_by_addr(m, n->id, NULL);
                if (rq.ip4 && (g = nd_ct_going_by_addr(m, n->id, &rq.addr4)))
                        return g;
                return rq.ip6 ? nd_ct_going_by_addr(m, n->id, &rq.addr6) : NULL;
        }
        if (nd_container_spec_parse(req, &s, &d) < 0)
                return NULL;
        if (s.name && *s.name && (g = nd_ct_going_by_name(m, s.name)))
                return g;
        for (size_t i = 0; i < s.n_nets && !g; i++) {
                nd_network *net;
                if (nd_manager_network_find(m, s.nets[i].network, &net) < 0)
                        continue;
                if (any_addr)
                        g = nd_ct_going_by_addr(m, net->id, NULL);
                if (!g && s.nets[i].ip4)
                        g = nd_ct_going_by_addr(m, net->id, &s.nets[i].addr4);
                if (!g && s.nets[i].ip6)
                        g = nd_ct_going_by_addr(m, net->id, &s.nets[i].addr6);
        }
        return g;
}

static int attempt(nd_manager *m, const json_t *req, bool start, nd_network *n, nd_container *c, int tries,
                   nd_manager_ct_fn cb, void *userdata, nd_diag *d);

static void retry_free(struct ct_retry *t) {
        json_decref(t->req);
        free(t);
}

/* Again, now that what it waited for came: answered here if it fails. */
static void retry(struct ct_retry *t) {
        nd_manager *m = t->m;
        nd_network *n = NULL;
        nd_container *c = NULL;
        nd_diag d = {0};
        int r;

        if (t->connect && (!(n = nd_ct_net_by_id(m, t->netid)) || nd_manager_container_find(m, t->ctid, &c) < 0))
                r = nd_diag_set(&d, -ENOENT, "the network or the container went away");
        else
                r = attempt(m, t->req, t->start, n, c, t->tries, t->cb, t->userdata, &d);
        if (r < 0)
                t->cb(t->userdata, r, NULL, &d);
        retry_free(t);
}

static void on_block_claimed(void *userdata, int r, const nd_diag *d) {
        struct ct_retry *t = userdata;
        if (r < 0) {
                t->cb(t->userdata, r, NULL, d);
                return retry_free(t);
        }
        retry(t);
}

static void on_going_gone(void *userdata, int r) {
        struct ct_retry *t = userdata;
        if (r < 0) /* netd is stopping: nobody to answer */
                return retry_free(t);
        retry(t);
}

static int wait_for(nd_manager *m, const json_t *req, bool start, nd_network *n, nd_container *c, int tries,
                    nd_ct_going *g, nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        struct ct_retry *t = calloc(1, sizeof(*t));
        if (!t)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *t = (struct ct_retry) { .m = m, .req = json_deep_copy(req), .start = start, .connect = !!n, .cb = cb,
                                 .userdata = userdata, .tries = tries };
        if (n) {
                snprintf(t->netid, sizeof(t->netid), "%s", n->id);
                snprintf(t->ctid, sizeof(t->ctid), "%s", c->id);
        }
        if ((req && !t->req) ||
            (g ? nd_ct_going_wait(g, on_going_gone, t) : nd_cluster_wait(m->cluster, on_block_claimed, t)) < 0) {
                retry_free(t);
                return nd_diag_set(d, -ENOMEM, g ? "out of memory" : "cannot wait for an address block");
        }
        return 0;
}

/* A run (@n NULL) or a connect of @c to @n: at once, or waiting. */
static int attempt(nd_manager *m, const json_t *req, bool start, nd_network *n, nd_container *c, int tries,
                   nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        nd_ct_going *g = going_blocker(m, req, n, false);
        int r;

        if (g)
                return wait_for(m, req, start, n, c, tries, g, cb, userdata, d);
        r = n ? nd_ct_connect_once(m, n, c, req, cb, userdata, d) : nd_ct_run_once(m, req, start, cb, userdata, d);
        /* no free address while removed containers still hold some: the
         * first of them to be gone gives one back */
        if (r == -ENOSPC && (g = going_blocker(m, req, n, true))) {
                *d = (nd_diag) { 0 };
                return wait_for(m, req, start, n, c, tries, g, cb, userdata, d);
        }
        /* blocks are taken by other hosts as fast as we claim them only
         * under extreme contention: give up after 8 */
        if (r == -EAGAIN && tries < 8) {
                *d = (nd_diag) { 0 };
                return wait_for(m, req, start, n, c, tries + 1, NULL, cb, userdata, d);
        }
        return r;
}

int nd_manager_container_run(nd_manager *m, const json_t *req, bool start, nd_manager_ct_fn cb, void *userdata,
                             nd_diag *d) {
        return attempt(m, req, start, NULL, NULL, 0, cb, userdata, d);
}

int nd_manager_container_connect(nd_manager *m, nd_network *n, nd_container *c, const json_t *req,
                                 nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        if (c->service[0]) {
                const char *id = n->id;
                char what[ND_NAME_MAX + 16];
                snprintf(what, sizeof(what), "container '%s'", c->name);
                /* a task of a service that is gone is a plain container */
                int k = nd_services_task_check(m, c->service, &id, 1, what, d);
                if (k < 0 && k != -ENOENT)
                        return k;
        }
        return attempt(m, req, false, n, c, 0, cb, userdata, d);
}

void nd_ct_event(nd_container *c, const char *action, json_t *attrs) {
        nd_manager *m = c->manager;
        bool destroy = strcmp(action, "destroy") == 0;
        if (!attrs)
                attrs = json_object();
        if (attrs)
                json_object_set_new(attrs, "name", json_string(c->name));
        if (destroy)
                for (size_t i = 0; i < c->n_eps; i++)
                        nd_manager_event_endpoint(m, "disconnect", ND_EP_CONTAINER, c->id, c->name, &c->eps[i]);
        nd_manager_event(m, "container", action, c->id, c->name, attrs);
        if (strcmp(action, "create") == 0)
                for (size_t i = 0; i < c->n_eps; i++)
                        nd_manager_event_endpoint(m, "connect", ND_EP_CONTAINER, c->id, c->name, &c->eps[i]);
}
