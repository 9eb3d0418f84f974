/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sandbox's namespace visited off the loop (ns-visit.h).
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <netlink/socket.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge.h"
#include "endpoint.h"
#include "firewall.h"
#include "link-reaper.h"
#include "log.h"
#include "macro.h"
#include "netns.h"
#include "nft-dns.h"
#include "nl-host.h"
#include "nl-link.h"
#include "ns-visit.h"
#include "server.h"

nd_visit *nd_visit_new(nd_manager *m, const char *netns, size_t n_eps) {
        if (strlen(netns) >= PATH_MAX)
                return NULL;
        nd_visit *v = calloc(1, sizeof(*v) + n_eps * sizeof(v->eps[0]));
        if (!v)
                return NULL;
        v->m = m;
        v->n_eps = n_eps;
        v->ufd = v->tfd = -1;
        strcpy(v->netns, netns);
        return v;
}

int nd_visit_ep_set(nd_visit *v, size_t i, const nd_network *n, const nd_endpoint *e, bool default_route,
                    bool new_ifname) {
        nd_visit_ep *w = &v->eps[i];
        *w = (nd_visit_ep) { .net = *n, .ep = *e, .default_route = default_route, .new_ifname = new_ifname };
        /* the worker reads the options (bridge name, metric); the table's
         * own may be replaced while it does */
        w->net.spec.options = n->spec.options ? json_deep_copy(n->spec.options) : NULL;
        w->net.spec.labels = NULL;
        memset(w->net.alloc, 0, sizeof(w->net.alloc));
        return n->spec.options && !w->net.spec.options ? -ENOMEM : 0;
}

nd_visit *nd_visit_free(nd_visit *v) {
        if (!v)
                return NULL;
        if (v->ufd >= 0)
                close(v->ufd);
        if (v->tfd >= 0)
                close(v->tfd);
        nd_manager_nft_release(v->m, v->nft);
        for (size_t i = 0; i < v->n_eps; i++)
                json_decref(v->eps[i].net.spec.options);
        free(v);
        return NULL;
}

/* ---- on the worker ---- */

/* The two listeners at @udp and @tcp (0: the kernel picks), in the
 * calling thread's namespace. */
static int listeners_bind(nd_visit *v, uint16_t udp, uint16_t tcp) {
        int u = nd_dns_sandbox_socket(SOCK_DGRAM, udp, &v->udp_port);
        if (u < 0)
                return u;
        int t = nd_dns_sandbox_socket(SOCK_STREAM, tcp, &v->tcp_port);
        if (t < 0) {
                close(u);
                return t;
        }
        v->ufd = u;
        v->tfd = t;
        return 0;
}

static void listeners_close(nd_visit *v) {
        if (v->ufd >= 0)
                close(v->ufd);
        if (v->tfd >= 0)
                close(v->tfd);
        v->ufd = v->tfd = -1;
}

/* Inside the namespace (one switch): a netlink socket, lo up, and for a
 * resolver a netfilter socket and the listeners, on the ports the
 * redirect table names already (netd restarted) when they are free.
 * @port53: the fallback without nf_tables, only the listeners. */
static int inside(nd_visit *v, struct nl_sock **ns_sk, bool port53) {
        if (v->dns_remove)
                return nd_nft_open(&v->nft);
        if (!port53) {
                int r = nd_nl_socket_open(ns_sk);
                if (r < 0)
                        return r;
                if (v->lo_up)
                        v->lo_r = nd_nl_link_up(*ns_sk, "lo");
        }
        if (!v->dns)
                return 0;
        if (port53)
                return v->dns_r = listeners_bind(v, 53, 53);
        uint16_t udp = 0, tcp = 0;
        int r = nd_nft_open(&v->nft);
        if (r < 0 || nd_nft_dns_ports(v->nft, &udp, &tcp) < 0)
                udp = tcp = 0;
        r = listeners_bind(v, udp, tcp);
        if (r == -EADDRINUSE && (udp || tcp))
                r = listeners_bind(v, 0, 0);
        v->dns_r = r;
        return 0;
}

struct inside_args {
        nd_visit *v;
        struct nl_sock **ns_sk;
        bool port53;
};

static int inside_of(void *arg) {
        struct inside_args *a = arg;
        return inside(a->v, a->ns_sk, a->port53);
}

static int enter(nd_visit *v, int ns_fd, struct nl_sock **ns_sk, bool port53) {
        return nd_netns_run(ns_fd, inside_of, &(struct inside_args) { .v = v, .ns_sk = ns_sk, .port53 = port53 });
}

static void wire_one(struct nl_sock *host, nd_visit_ep *w, int ns_fd, struct nl_sock *ns_sk) {
        if (w->new_ifname && nd_nl_link_ifindex(ns_sk, w->ep.ifname) >= 0) {
                w->r = -EEXIST;
                w->ns_taken = true;
                return;
        }
        w->r = nd_bridge_attach(host, &w->net, &w->ep, ns_fd, ns_sk, w->default_route);
        w->wired = w->r == 0;
        /* a pair that failed half-way is gone; one still there was not ours */
        if (w->r == -EEXIST)
                w->host_taken = nd_nl_link_ifindex(host, w->ep.host_ifname) >= 0;
}

static int visit_run(void *arg) {
        nd_visit *v = arg;
        struct nl_sock *host = v->m->worker ? v->m->wnl : v->m->nl, *ns_sk = NULL;
        if (v->create) {
                int r = nd_netns_create(v->netns);
                if (r < 0 && r != -EEXIST)
                        return v->r = r;
        }
        _cleanup_close_ int fd = nd_netns_open(v->netns);
        if (fd < 0)
                return v->r = fd;
        v->r = enter(v, fd, &ns_sk, false);
        if (v->dns_remove) {
                v->dns_r = v->r < 0 ? v->r : nd_nft_dns_remove(v->nft);
                return v->r;
        }
        for (size_t i = 0; v->r == 0 && i < v->n_eps; i++) {
                double t0 = ev_time();
                wire_one(host, &v->eps[i], fd, ns_sk);
                v->r = v->eps[i].r;
                v->eps[i].secs = ev_time() - t0;
        }
        if (ns_sk)
                nl_socket_free(ns_sk);
        if (v->r < 0 || !v->dns || v->dns_r < 0)
                return v->r;
        v->dns_r = v->nft ? nd_nft_dns_redirect(v->nft, v->udp_port, v->tcp_port) : -EPROTONOSUPPORT;
        if (v->dns_r < 0) {
                /* a kernel without nf_tables: port 53 itself, as before
                 * the redirect (then it is not the sandbox's) */
                listeners_close(v);
                v->dns_port53 = true;
                int redirect = v->dns_r;
                if (enter(v, fd, NULL, true) < 0 || v->dns_r < 0)
                        v->dns_r = redirect;
        }
        return v->r;
}

/* ---- on the loop ---- */

static void on_visited(void *userdata, int r) {
        nd_visit *v = userdata;
        nd_manager *m = v->m;
        if (r == -ECANCELED)
                v->r = r;
        for (size_t i = 0; r != -ECANCELED && i < v->n_eps; i++) {
                const nd_visit_ep *w = &v->eps[i];
                if (v->r < 0 && !w->wired && !w->host_taken)
                        nd_fw_port_clear(m->fw, w->ep.host_ifname);
                else if (w->r == 0 && w->secs > 0)
                        nd_manager_attach_observe(m, (int) v->kind, w->secs);
        }
        v->cb(v->userdata, v);
}

/* A fake kernel (unit tests): its wire op for each endpoint, no resolver. */
static void visit_fake(nd_visit *v) {
        const nd_ep_kernel_ops *k = v->m->ep_kernel;
        for (size_t i = 0; v->r == 0 && i < v->n_eps; i++) {
                nd_visit_ep *w = &v->eps[i];
                w->r = k->wire(v->m, &w->net, &w->ep, v->netns, NULL, w->default_route, w->new_ifname);
                w->host_taken = w->r == -EEXIST && k->exists(v->m, w->ep.host_ifname);
                w->wired = w->r == 0;
                v->r = w->r;
        }
        v->dns_r = v->dns ? -EOPNOTSUPP : 0; /* nothing to remove either */
}

void nd_visit_submit(nd_visit *v, nd_visit_fn cb, void *userdata) {
        nd_manager *m = v->m;
        v->cb = cb;
        v->userdata = userdata;
        /* guarded before they exist, and not made when they cannot be */
        for (size_t i = 0; i < v->n_eps; i++) {
                const nd_visit_ep *w = &v->eps[i];
                int r = nd_fw_port_set(m->fw, w->ep.host_ifname, w->ep.mac, &w->ep.addr4, &w->ep.addr6,
                                       !nd_network_icc(&w->net));
                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                nd_fw_port_clear(m->fw, v->eps[k].ep.host_ifname);
                        v->r = r;
                        cb(userdata, v);
                        return;
                }
        }
        if (m->ep_kernel) {
                visit_fake(v);
                on_visited(v, 0);
                return;
        }
        if (nd_reaper_run(m->worker, visit_run, v, on_visited, v) < 0) {
                (void) visit_run(v); /* out of memory: here and now */
                on_visited(v, 0);
        }
}

struct nd_dns_sandbox *nd_visit_dns_take(nd_visit *v) {
        nd_dns_sandbox *sb = NULL;
        if (!v->dns || v->dns_r < 0 || v->ufd < 0 || !v->m->dns)
                return NULL;
        int r = nd_dns_sandbox_adopt(v->m->dns, v->ufd, v->udp_port, v->tfd, v->tcp_port, &sb);
        v->ufd = v->tfd = -1;
        if (r < 0) {
                v->dns_r = r;
                return NULL;
        }
        if (v->dns_port53)
                nd_log(LOG_WARNING, "no DNS redirect in the sandbox: the resolver holds 127.0.0.11:53");
        return sb;
}
