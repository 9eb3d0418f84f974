/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's sandbox (a bind-mounted network namespace, its loopback,
 * a veth pair per endpoint, the default route) and connecting it to, or
 * disconnecting it from, a network while it runs.
 */
#include <errno.h>
#include <limits.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "container-internal.h"
#include "endpoint.h"
#include "firewall.h"
#include "link-reaper.h"
#include "netns.h"
#include "nl-host.h"
#include "nl-link.h"

/* ---- sandbox ------------------------------------------------------------------------- */

/* The pipeline's WIRE stage (endpoint.h): the port guarded, the veth
 * pair into the container's namespace with addresses and routes. */
static int sandbox_attach(nd_manager *m, nd_container *c, nd_endpoint *e, bool default_route) {
        char ns[PATH_MAX];
        nd_network *n = nd_ct_net_by_id(m, e->net_id);

        if (!n)
                return -ENOENT;
        nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
        nd_ep_spec sp = { .kind = ND_EP_CONTAINER, .net = n, .ep = e, .netns = ns, .default_route = default_route };
        return nd_endpoint_attach(m, &sp, ND_EP_WIRE, NULL);
}

/* The veth goes, then its port's elements (not while it may still carry
 * frames). */
static int sandbox_detach(nd_manager *m, const nd_endpoint *e) {
        return nd_endpoint_unwire(m, ND_EP_CONTAINER, e);
}

/* The endpoint for the default route, -1 if none: among those on
 * networks that are not internal, the one marked so, else the highest
 * --gw-priority, ties going to the first (a new container, a record older
 * than the mark) or, once the gateway's network went (@after_loss, as
 * Docker 28 chooses), to the lowest network name. */
static int gateway_choose(nd_manager *m, const nd_container *c, bool after_loss) {
        int best = -1;
        for (size_t i = 0; i < c->n_eps; i++) {
                nd_network *n = nd_ct_net_by_id(m, c->eps[i].net_id);
                if (!n || n->spec.internal)
                        continue;
                if (!after_loss && c->eps[i].default_route)
                        return (int) i;
                if (best < 0 || c->eps[i].gw_priority > c->eps[best].gw_priority ||
                    (after_loss && c->eps[i].gw_priority == c->eps[best].gw_priority &&
                     strcmp(c->eps[i].net_name, c->eps[best].net_name) < 0))
                        best = (int) i;
        }
        return best;
}

int nd_ct_gateway_endpoint(nd_manager *m, const nd_container *c) {
        return gateway_choose(m, c, false);
}

void nd_ct_gateway_mark(nd_container *c, int gw) {
        for (size_t i = 0; i < c->n_eps; i++)
                c->eps[i].default_route = (int) i == gw;
}

/* Point the running sandbox's default routes at @e. */
static int sandbox_set_gateway(nd_manager *m, nd_container *c, const nd_endpoint *e) {
        char ns[PATH_MAX];
        struct nl_sock *ns_sk = NULL;
        nd_network *n = nd_ct_net_by_id(m, e->net_id);
        int r;

        if (!n)
                return -ENOENT;
        nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
        r = nd_netns_nl_open(ns, NULL, &ns_sk);
        if (r < 0)
                return r;
        r = nd_bridge_default_route(ns_sk, n, e);
        nl_socket_free(ns_sk);
        return r;
}

int nd_ct_sandbox_create(nd_manager *m, nd_container *c) {
        char ns[PATH_MAX];
        struct nl_sock *ns_sk = NULL;
        int r;

        if (c->mode != ND_NET_MODE_BRIDGE && c->mode != ND_NET_MODE_NONE)
                return 0;
        nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
        double t0 = ev_time();
        r = nd_netns_create(ns);
        if (r < 0 && r != -EEXIST)
                return r;
        double t1 = ev_time();
        r = nd_netns_nl_open(ns, NULL, &ns_sk);
        if (r < 0)
                return r;
        r = nd_nl_link_up(ns_sk, "lo");
        nl_socket_free(ns_sk);
        if (r < 0)
                return r;
        double t2 = ev_time();
        int gw = nd_ct_gateway_endpoint(m, c);
        for (size_t i = 0; i < c->n_eps; i++) {
                r = sandbox_attach(m, c, &c->eps[i], (int) i == gw);
                if (r < 0)
                        return r;
        }
        log_ct(LOG_DEBUG, c, "sandbox wired", "netns_ms=%.3f lo_ms=%.3f endpoints_ms=%.3f endpoints=%zu",
               (t1 - t0) * 1e3, (t2 - t1) * 1e3, (ev_time() - t2) * 1e3, c->n_eps);
        return 0;
}

/* Make the kernel match the record: the namespace bind (restored from the
 * container's own namespace while it runs), its loopback up, and every
 * endpoint's veth pair (re-created when an operator or a crash removed it).
 * Returns the number of repairs, or -errno. */
int nd_ct_sandbox_repair(nd_manager *m, nd_container *c) {
        char ns[PATH_MAX], proc[64];
        int fd, r, repaired = 0;

        if (c->mode != ND_NET_MODE_BRIDGE && c->mode != ND_NET_MODE_NONE)
                return 0;
        nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
        fd = nd_netns_open(ns);
        if (fd < 0) {
                if (c->status == ND_CT_RUNNING && c->pid > 0) {
                        snprintf(proc, sizeof(proc), "/proc/%d/ns/net", c->pid);
                        r = nd_netns_bind(proc, ns);
                } else
                        r = nd_ct_sandbox_create(m, c);
                if (r < 0)
                        return r;
                log_ct(LOG_WARNING, c, "sandbox namespace restored");
                repaired++;
                if (c->status != ND_CT_RUNNING)
                        return repaired; /* nd_ct_sandbox_create wired the endpoints */
        } else {
                /* loopback up (idempotent): a netd killed between making
                 * the namespace and raising lo left it down, and then the
                 * resolver cannot bind 127.0.0.11 */
                struct nl_sock *ns_sk = NULL;
                r = nd_netns_nl_socket(fd, &ns_sk);
                close(fd);
                if (r == 0) {
                        r = nd_nl_link_up(ns_sk, "lo");
                        nl_socket_free(ns_sk);
                }
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < c->n_eps; i++) {
                if (nd_nl_link_ifindex(m->nl, c->eps[i].host_ifname) != -ENODEV)
                        continue;
                /* deleting either end deletes the pair: re-create it */
                r = sandbox_attach(m, c, &c->eps[i], (int) i == nd_ct_gateway_endpoint(m, c));
                if (r < 0)
                        return r;
                log_ct(LOG_WARNING, c, "endpoint re-created", "net=%s if=%s", c->eps[i].net_name,
                       c->eps[i].ifname);
                repaired++;
        }
        return repaired;
}

struct nd_ct_reap {
        nd_manager *m;
        unsigned pending;   /* pairs not yet gone */
        int store;          /* 0: the removal not confirmed yet, 1: it was, <0: it failed */
        void (*finish)(void *userdata);
        void *userdata;
        bool cancelled;     /* netd is stopping: answer nobody */
        size_t n_eps;
        nd_endpoint eps[];
};

static void reap_settle(struct nd_ct_reap *op) {
        if (op->pending > 0 || op->store == 0)
                return;
        if (op->cancelled) {
                free(op);
                return;
        }
        if (op->store > 0)
                for (size_t i = 0; i < op->n_eps; i++)
                        nd_ct_release_endpoint(op->m, &op->eps[i]);
        if (op->store > 0 && op->finish)
                op->finish(op->userdata);
        free(op);
}

static void on_pair_reaped(void *userdata, int r) {
        struct nd_ct_reap *op = userdata;
        if (r < 0 && r != -ENODEV && r != -ECANCELED)
                nd_log_errno(LOG_WARNING, r, "removing an endpoint failed, ignoring");
        op->cancelled |= r == -ECANCELED;
        op->pending--;
        reap_settle(op);
}

struct reap_work {
        struct nd_ct_reap *op;
        int (*fn)(const char *a, const char *b);
        char *a, *b;
};

static int work_run(void *arg) {
        struct reap_work *w = arg;
        return w->fn(w->a, w->b);
}

static void on_work_done(void *userdata, int r) {
        struct reap_work *w = userdata;
        struct nd_ct_reap *op = w->op;
        if (r < 0 && r != -ECANCELED)
                nd_log_errno(LOG_WARNING, r, "removing a container's files failed, ignoring", "path=%s", w->a);
        op->cancelled |= r == -ECANCELED;
        free(w->a);
        free(w->b);
        free(w);
        op->pending--;
        reap_settle(op);
}

void nd_ct_reap_work(struct nd_ct_reap *op, int (*fn)(const char *a, const char *b), const char *a, const char *b) {
        struct reap_work *w = calloc(1, sizeof(*w));
        if (w) {
                *w = (struct reap_work) { .op = op, .fn = fn, .a = strdup(a), .b = b ? strdup(b) : NULL };
                if (w->a && (!b || w->b)) {
                        op->pending++;
                        if (nd_reaper_run(op->m->reaper, work_run, w, on_work_done, w) == 0)
                                return;
                        op->pending--;
                }
                free(w->a);
                free(w->b);
                free(w);
        }
        (void) fn(a, b); /* out of memory: here and now */
}

static int netns_remove(const char *path, const char *unused) {
        return nd_netns_remove(path);
}

void nd_ct_reap_store_done(struct nd_ct_reap *op, int r, void (*finish)(void *userdata), void *userdata) {
        op->store = r < 0 ? r : 1;
        op->finish = finish;
        op->userdata = userdata;
        reap_settle(op);
}

struct nd_ct_reap *nd_ct_sandbox_destroy(nd_manager *m, nd_container *c) {
        char ns[PATH_MAX];
        struct nd_ct_reap *op = calloc(1, sizeof(*op) + c->n_eps * sizeof(nd_endpoint));

        if (op) {
                *op = (struct nd_ct_reap) { .m = m, .pending = (unsigned) c->n_eps + 1, .n_eps = c->n_eps };
                if (c->n_eps)
                        memcpy(op->eps, c->eps, c->n_eps * sizeof(nd_endpoint));
        }
        for (size_t i = 0; i < c->n_eps; i++) {
                if (op) {
                        nd_endpoint_unwire_async(m, ND_EP_CONTAINER, &c->eps[i], on_pair_reaped, op);
                        continue;
                }
                int r = sandbox_detach(m, &c->eps[i]);
                if (r < 0)
                        log_ct(LOG_WARNING, c, "removing an endpoint failed, ignoring", "if=%s err=%d",
                               c->eps[i].host_ifname, r);
        }
        if (c->mode == ND_NET_MODE_BRIDGE || c->mode == ND_NET_MODE_NONE) {
                nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
                /* the unmount waits for a grace period too: off the loop
                 * (the worker never changes namespace; this needs none) */
                if (op)
                        nd_ct_reap_work(op, netns_remove, ns, NULL);
                else {
                        int r = nd_netns_remove(ns);
                        if (r < 0)
                                log_ct(LOG_WARNING, c, "removing the sandbox failed, ignoring", "err=%d", r);
                }
        }
        if (op) {
                /* the extra count kept callbacks that run at once (no
                 * reaper) from settling before every pair was queued */
                op->pending--;
                reap_settle(op);
        }
        return op;
}

/* ---- connect / disconnect ------------------------------------------------------------ */

struct conn_op {
        nd_container *c;
        nd_endpoint ep;     /* disconnect: the removed endpoint */
        bool disconnect;
        nd_manager_ct_fn cb;
        void *userdata;
};

/* The gateway's endpoint went: the default route moves to its successor. */
static void gateway_move(nd_manager *m, nd_container *c) {
        int gw = gateway_choose(m, c, true);
        nd_ct_gateway_mark(c, gw);
        if (gw < 0)
                return;
        int r = sandbox_set_gateway(m, c, &c->eps[gw]);
        if (r < 0)
                log_ct(LOG_WARNING, c, "moving the default route failed, ignoring", "net=%s err=%d",
                       c->eps[gw].net_name, r);
        else
                log_ct(LOG_INFO, c, "default route moved", "net=%s", c->eps[gw].net_name);
}

/* A connect whose record could not be written: take the endpoint back out
 * of the kernel and of memory, so neither holds what the store does not. */
static void connect_undo(nd_container *c, const char *net_id) {
        nd_manager *m = c->manager;
        nd_endpoint *e = nd_container_endpoint(c, net_id);
        if (!e)
                return;
        bool was_gw = e->default_route;
        sandbox_detach(m, e);
        nd_ct_release_endpoint(m, e);
        memmove(e, e + 1, (size_t) (c->eps + c->n_eps - e - 1) * sizeof(*e));
        c->n_eps--;
        if (was_gw)
                gateway_move(m, c);
        nd_ct_write_hosts(m, c);
        nd_ports_refresh(m, c);
        nd_resolver_refresh(m, c);
}

static void on_conn_persisted(nd_container *c, int r, void *userdata) {
        struct conn_op *op = userdata;
        nd_diag d = {0};
        if (r < 0) {
                nd_diag_set(&d, r, "recording the change failed: %s", strerror(-r));
                if (!op->disconnect)
                        connect_undo(c, op->ep.net_id);
                /* a failed disconnect: the interface is gone but the record
                 * keeps the endpoint; the next start or restart re-creates
                 * it, so kernel and store agree again */
        } else if (op->disconnect)
                nd_ct_release_endpoint(c->manager, &op->ep);
        op->cb(op->userdata, r, c, &d);
        free(op);
}

/* Write the record with @ep's address records put or deleted; on failure
 * frees @op and fills @d. */
static int conn_persist(nd_container *c, nd_network *n, struct conn_op *op, bool put, nd_diag *d) {
        nd_store_txn_builder *t = nd_ct_txn_new(c);
        (void) nd_ct_endpoint_ipam_ops(c, n, &op->ep, put, t);
        int r = nd_ct_persist(c, t, on_conn_persisted, op);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "store: %s", strerror(-r));
        }
        return 0;
}

int nd_ct_connect_once(nd_manager *m, nd_network *n, nd_container *c, const json_t *req, nd_manager_ct_fn cb,
                       void *userdata, nd_diag *d) {
        int r;

        if (c->status != ND_CT_RUNNING || c->removing)
                return nd_diag_set(d, -EBUSY, "container '%s' is not running", c->name);
        if (c->mode != ND_NET_MODE_BRIDGE && c->mode != ND_NET_MODE_NONE)
                return nd_diag_set(d, -EINVAL, "container '%s' uses another namespace (host or container mode)",
                                   c->name);
        if (nd_container_endpoint(c, n->id))
                return nd_diag_set(d, -EEXIST, "container '%s' is already connected to network '%s'", c->name,
                                   n->spec.name);
        if (c->n_eps >= ND_MAX_ENDPOINTS)
                return nd_diag_set(d, -ENOSPC, "container '%s' has the maximum of %d networks", c->name,
                                   ND_MAX_ENDPOINTS);
        nd_endpoint_req rq;
        r = nd_endpoint_req_parse(req, &rq, d);
        if (r < 0)
                return r;
        struct conn_op *op = calloc(1, sizeof(*op));
        if (!op || nd_container_endpoint_room(c) < 0) {
                free(op);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        nd_endpoint *e = &c->eps[c->n_eps];
        r = nd_ct_endpoint_prepare(m, c, n, &rq, e, d);
        if (r < 0) {
                free(op);
                return r;
        }
        /* the new network takes the default route when there is none yet
         * or it has a higher --gw-priority than the network holding it */
        int gw = nd_ct_gateway_endpoint(m, c);
        bool take_gw = !n->spec.internal && (gw < 0 || e->gw_priority > c->eps[gw].gw_priority);
        r = sandbox_attach(m, c, e, take_gw);
        if (r < 0) {
                nd_ct_release_endpoint(m, e);
                free(op);
                return nd_diag_set(d, r, "attaching container '%s' to network '%s' failed: %s", c->name,
                                   n->spec.name, strerror(-r));
        }
        c->n_eps++;
        if (take_gw)
                nd_ct_gateway_mark(c, (int) c->n_eps - 1);
        c->mode = ND_NET_MODE_BRIDGE;
        nd_ct_write_hosts(m, c);
        *op = (struct conn_op) { .c = c, .ep = *e, .cb = cb, .userdata = userdata };
        r = conn_persist(c, n, op, true, d);
        if (r < 0) {
                connect_undo(c, n->id);
                return r;
        }
        nd_ports_refresh(m, c);
        nd_resolver_refresh(m, c);
        log_ct(LOG_INFO, c, "connected", "net=%s if=%s", n->spec.name, e->ifname);
        nd_manager_event_endpoint(m, "connect", ND_EP_CONTAINER, c->id, c->name, &op->ep);
        return 0;
}

int nd_manager_container_disconnect(nd_manager *m, nd_network *n, nd_container *c, nd_manager_ct_fn cb,
                                    void *userdata, nd_diag *d) {
        nd_endpoint *e = nd_container_endpoint(c, n->id);
        int r;

        if (!e)
                return nd_diag_set(d, -ENOENT, "container '%s' is not connected to network '%s'", c->name,
                                   n->spec.name);
        if (c->removing)
                return nd_diag_set(d, -EBUSY, "container '%s' is being removed", c->name);
        struct conn_op *op = calloc(1, sizeof(*op));
        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        r = sandbox_detach(m, e);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "removing the interface failed: %s", strerror(-r));
        }
        *op = (struct conn_op) { .c = c, .ep = *e, .disconnect = true, .cb = cb, .userdata = userdata };
        bool was_gw = e->default_route;
        memmove(e, e + 1, (size_t) (c->eps + c->n_eps - e - 1) * sizeof(*e));
        c->n_eps--;
        if (was_gw)
                gateway_move(m, c);
        nd_ct_write_hosts(m, c);
        r = conn_persist(c, n, op, false, d);
        if (r < 0)
                return r;
        nd_ports_refresh(m, c);
        nd_resolver_refresh(m, c);
        log_ct(LOG_INFO, c, "disconnected", "net=%s", n->spec.name);
        nd_manager_event_endpoint(m, "disconnect", ND_EP_CONTAINER, c->id, c->name, &op->ep);
        return 0;
}

