/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The endpoint pipeline (endpoint.h): reserve → wire → names → announce →
 * ports, each stage undone in reverse.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge.h"
#include "cluster.h"
#include "diag.h"
#include "endpoint.h"
#include "firewall.h"
#include "link-reaper.h"
#include "log.h"
#include "manager-internal.h"
#include "netns.h"
#include "network.h"
#include "nl-link.h"
#include "server.h"
#include "subnet.h"

/* ---- the kernel, for real ---- */

static int real_guard(nd_manager *m, const nd_network *n, const nd_endpoint *e) {
        return nd_fw_port_set(m->fw, e->host_ifname, e->mac, &e->addr4, &e->addr6, !nd_network_icc(n));
}

static void real_unguard(nd_manager *m, const char *host_ifname) {
        nd_fw_port_clear(m->fw, host_ifname);
}

static int real_wire(nd_manager *m, const nd_network *n, const nd_endpoint *e, const char *netns,
                     const char *peer_ifname, bool default_route, bool new_ifname) {
        struct nl_sock *ns_sk = NULL;
        int fd, r;

        if (!netns)
                return nd_bridge_attach_host(m->nl, n, e->host_ifname, peer_ifname, e->mac);
        r = nd_netns_nl_open(netns, &fd, &ns_sk);
        if (r < 0)
                return r;
        if (new_ifname && nd_nl_link_ifindex(ns_sk, e->ifname) >= 0)
                r = -EEXIST;
        else
                r = nd_bridge_attach(m->nl, n, e, fd, ns_sk, default_route);
        nl_socket_free(ns_sk);
        close(fd);
        return r;
}

static int real_unwire(nd_manager *m, const nd_endpoint *e) {
        return nd_bridge_detach(m->nl, e);
}

static bool real_exists(nd_manager *m, const char *host_ifname) {
        return nd_nl_link_ifindex(m->nl, host_ifname) != -ENODEV;
}

const nd_ep_kernel_ops nd_ep_kernel_real = {
        .guard = real_guard,
        .unguard = real_unguard,
        .wire = real_wire,
        .unwire = real_unwire,
        .exists = real_exists,
};

static const nd_ep_kernel_ops *kops(nd_manager *m) {
        return m->ep_kernel ? m->ep_kernel : &nd_ep_kernel_real;
}

/* ---- RESERVE ---- */

static void addr_give_back(nd_manager *m, nd_network *n, const nd_addr *a) {
        if (!a->family)
                return;
        nd_subnet_release(nd_network_subnet_for(n, a), a);
        if (nd_network_is_global(n))
                nd_cluster_address_note(m->cluster, n, a, -1);
}

static int reserve_one(nd_manager *m, nd_network *n, int family, const nd_addr *want, nd_addr *a, nd_diag *d) {
        char w[ND_ADDR_STRLEN];
        nd_subnet *sub;
        int r;

        *a = (nd_addr) { 0 };
        if (nd_network_is_global(n)) {
                /* from this host's address blocks (cluster.h) */
                if (!want && !nd_network_subnet_family(n, family))
                        return 0;
                return nd_cluster_address_pick(m->cluster, n, family, want, a, NULL, NULL, d);
        }
        if (want) {
                nd_addr_fmt(want, w);
                sub = nd_network_subnet_for(n, want);
                if (!sub)
                        return nd_diag_set(d, -EINVAL, "address %s is not in any subnet of network '%s'", w,
                                           n->spec.name);
                r = nd_subnet_reserve(sub, want);
                if (r == -EEXIST)
                        return nd_diag_set(d, -EADDRINUSE, "address %s is already in use on network '%s'", w,
                                           n->spec.name);
                if (r < 0)
                        return nd_diag_set(d, -EINVAL, "address %s cannot be used: %s", w,
                                           r == -EADDRNOTAVAIL ? "network or broadcast address" : strerror(-r));
                *a = *want;
                return 0;
        }
        sub = nd_network_subnet_family(n, family);
        if (!sub)
                return 0;
        r = nd_subnet_alloc(sub, a);
        if (r < 0)
                return nd_diag_set(d, r == -ENOSPC ? -ENOSPC : r, "no free %s address on network '%s'",
                                   family == AF_INET ? "IPv4" : "IPv6", n->spec.name);
        return 0;
}

static int reserve(nd_manager *m, const nd_ep_spec *s, nd_diag *d) {
        nd_endpoint *e = s->ep;
        nd_network *n = s->net;
        int r;

        bool keep4 = s->only_missing && e->addr4.family, keep6 = s->only_missing && e->addr6.family;

        r = keep4 ? 0 : reserve_one(m, n, AF_INET, s->want4, &e->addr4, d);
        if (r < 0)
                return r;
        r = keep6 ? 0 : reserve_one(m, n, AF_INET6, s->want6, &e->addr6, d);
        if (r < 0) {
                if (!keep4) {
                        addr_give_back(m, n, &e->addr4);
                        e->addr4 = (nd_addr) { 0 };
                }
                return r;
        }
        for (size_t k = 0; k < n->spec.n_ipam; k++) {
                const nd_ipam_config *c = &n->spec.ipam[k];
                if (e->addr4.family && nd_prefix_contains(&c->subnet, &e->addr4)) {
                        e->plen4 = c->subnet.len;
                        e->gw4 = c->gateway;
                }
                if (e->addr6.family && nd_prefix_contains(&c->subnet, &e->addr6)) {
                        e->plen6 = c->subnet.len;
                        e->gw6 = c->gateway;
                }
        }
        if (!s->has_mac)
                nd_bridge_mac(e, e->mac);
        return 0;
}

static void unreserve(nd_manager *m, const nd_ep_spec *s) {
        addr_give_back(m, s->net, &s->ep->addr4);
        addr_give_back(m, s->net, &s->ep->addr6);
}

/* ---- WIRE ---- */

static int wire(nd_manager *m, const nd_ep_spec *s) {
        const nd_ep_kernel_ops *k = kops(m);
        int r;

        /* guarded before it exists, and not made when it cannot be */
        r = k->guard(m, s->net, s->ep);
        if (r < 0)
                return r;
        double t0 = ev_time();
        r = k->wire(m, s->net, s->ep, s->netns, s->peer_ifname, s->default_route, s->new_ifname);
        if (r == 0) {
                nd_manager_attach_observe(m, (int) s->kind, ev_time() - t0);
                return 0;
        }
        /* a pair that failed half-way goes; a name that was somebody
         * else's (-EEXIST) is left alone, and its elements with it */
        if (!k->exists(m, s->ep->host_ifname))
                k->unguard(m, s->ep->host_ifname);
        return r;
}

/* The pair goes, then its port's elements (not while it may still carry
 * frames). */
int nd_endpoint_unwire(nd_manager *m, nd_ep_kind kind, const nd_endpoint *e) {
        const nd_ep_kernel_ops *k = kops(m);
        double t0 = ev_time();
        int r = k->unwire(m, e);
        /* only a pair this delete removed: one already gone (-ENODEV, as
         * a Docker endpoint's after its Leave) cost nothing to measure */
        if (r == 0)
                nd_manager_detach_observe(m, (int) kind, ev_time() - t0);
        if (r >= 0 || r == -ENODEV)
                k->unguard(m, e->host_ifname);
        return r;
}

/* The reaper's request: what its answer needs on the loop, the owner's
 * kind and the time it was asked included, so the detach is measured
 * where it ends (the reaper knows links, not owners). */
struct unwire_op {
        nd_manager *m;
        char host_ifname[16];
        nd_ep_kind kind;
        double t0;
        void (*cb)(void *userdata, int r);
        void *userdata;
};

static void on_reaped(void *userdata, int r) {
        struct unwire_op *op = userdata;
        if (r == 0)
                nd_manager_detach_observe(op->m, (int) op->kind, ev_time() - op->t0);
        if (r != -ECANCELED && (r >= 0 || r == -ENODEV))
                kops(op->m)->unguard(op->m, op->host_ifname);
        if (op->cb)
                op->cb(op->userdata, r);
        free(op);
}

void nd_endpoint_unwire_async(nd_manager *m, nd_ep_kind kind, const nd_endpoint *e,
                              void (*cb)(void *userdata, int r), void *userdata) {
        struct unwire_op *op = m->ep_kernel ? NULL : calloc(1, sizeof(*op));

        if (!op) {
                /* out of memory or a fake kernel: at once */
                int r = nd_endpoint_unwire(m, kind, e);
                if (cb)
                        cb(userdata, r);
                return;
        }
        *op = (struct unwire_op) { .m = m, .kind = kind, .t0 = ev_time(), .cb = cb, .userdata = userdata };
        snprintf(op->host_ifname, sizeof(op->host_ifname), "%s", e->host_ifname);
        /* by name: the worker looks it up, not the loop (a lookup waits
         * for the RTNL lock that a delete holds through its grace period) */
        if (nd_reaper_delete_name(m->reaper, m->nl, e->host_ifname, on_reaped, op) < 0)
                on_reaped(op, nd_bridge_detach(m->nl, e));
}

/* ---- NAMES ---- */

static void names_set(nd_manager *m, const nd_ep_spec *s, bool on) {
        const nd_endpoint *e = s->ep;
        const char *names[8 + ND_MAX_ALIASES];
        size_t k = 0;

        if (!m->dns || !s->dns_key)
                return;
        nd_dns_names *t = nd_dns_table(m->dns);
        if (!on) {
                nd_dns_names_drop(t, s->dns_key);
                return;
        }
        for (size_t i = 0; i < s->n_names && k < 8; i++)
                if (s->names[i] && s->names[i][0])
                        names[k++] = s->names[i];
        for (size_t i = 0; i < e->n_aliases; i++)
                names[k++] = e->aliases[i];
        /* the old names and the new at once for the DNS thread */
        nd_dns_hold(m->dns);
        nd_dns_names_drop(t, s->dns_key);
        int r = k ? nd_dns_names_add_endpoint(t, s->net->spec.name, names, k, &e->addr4, &e->addr6, s->dns_key) : 0;
        nd_dns_release(m->dns);
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "adding DNS names failed", "owner=%s net=%s", s->dns_key,
                             s->net->spec.name);
}

/* ---- ANNOUNCE ---- */

static void announce(nd_manager *m, const nd_ep_spec *s, bool on) {
        if (!s->cluster_owner)
                return;
        if (!on)
                return nd_cluster_withdraw_owner(m->cluster, s->cluster_owner);
        nd_cluster_publish_endpoint(m->cluster, s->cluster_owner, s->ep, s->service, s->name ? s->name : "",
                                    s->hostname ? s->hostname : "");
}

/* ---- the pipeline ---- */

int nd_endpoint_attach(nd_manager *m, const nd_ep_spec *s, unsigned stages, nd_diag *d) {
        unsigned done = 0;
        int r = 0;

        if (stages & ND_EP_RESERVE) {
                r = reserve(m, s, d);
                if (r < 0)
                        return r;
                done |= ND_EP_RESERVE;
        }
        if (stages & ND_EP_WIRE) {
                r = wire(m, s);
                if (r < 0 && s->netns)
                        nd_diag_set(d, r, "wiring %s in %.128s failed: %s", s->ep->ifname, s->netns,
                                    r == -EEXIST ? "the namespace already has an interface of that name"
                                                 : strerror(-r));
                else if (r < 0)
                        nd_diag_set(d, r, "creating the veth pair %s/%s failed: %s", s->ep->host_ifname,
                                    s->peer_ifname, strerror(-r));
                if (r < 0)
                        goto fail;
                done |= ND_EP_WIRE;
        }
        if (stages & ND_EP_NAMES) {
                names_set(m, s, true);
                done |= ND_EP_NAMES;
        }
        if (stages & ND_EP_ANNOUNCE) {
                announce(m, s, true);
                done |= ND_EP_ANNOUNCE;
        }
        if ((stages & ND_EP_PORTS) && s->n_ports) {
                r = nd_publish(m, s->pub, s->what, s->ports, s->n_ports, &s->ep->addr4, &s->ep->addr6, s->hold, d);
                if (r < 0)
                        goto fail;
        }
        return 0;
fail:
        nd_endpoint_detach(m, s, done);
        return r;
}

void nd_endpoint_detach(nd_manager *m, const nd_ep_spec *s, unsigned stages) {
        if ((stages & ND_EP_PORTS) && s->pub)
                nd_publish_release(m, s->pub);
        if (stages & ND_EP_ANNOUNCE)
                announce(m, s, false);
        if (stages & ND_EP_NAMES)
                names_set(m, s, false);
        if (stages & ND_EP_WIRE)
                (void) nd_endpoint_unwire(m, s->kind, s->ep);
        if (stages & ND_EP_RESERVE)
                unreserve(m, s);
}

char *nd_endpoint_record_value(const char *owner) {
        char created[32];
        snprintf(created, sizeof(created), "%" PRId64, now_us() / 1000000);
        json_t *j = json_pack("{s:s, s:s}", "Owner", owner, "Created", created);
        char *v = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return v;
}
