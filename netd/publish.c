/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Published ports of containers: choosing host ports, holding them
 * (hostport.h), and the container's nftables map elements (firewall.h).
 *
 * Ports are bound while the container runs: chosen and held at start,
 * released at exit, as Docker does.  The bindings are part of the record,
 * so a restarted netd re-holds exactly the ports it had published.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "firewall.h"
#include "hostport.h"
#include "log.h"
#include "manager-internal.h"
#include "network.h"

/* The addresses published ports lead to: the container's first
 * non-internal endpoint of each family. */
static bool publish_addrs(nd_manager *m, const nd_container *c, nd_addr *a4, nd_addr *a6) {
        *a4 = (nd_addr) { 0 };
        *a6 = (nd_addr) { 0 };
        for (size_t i = 0; i < c->n_eps; i++) {
                nd_network *n = NULL;
                if (nd_manager_network_find(m, c->eps[i].net_id, &n) < 0 || n->spec.internal)
                        continue;
                if (!a4->family && c->eps[i].addr4.family)
                        *a4 = c->eps[i].addr4;
                if (!a6->family && c->eps[i].addr6.family)
                        *a6 = c->eps[i].addr6;
        }
        return a4->family || a6->family;
}

static int program(nd_manager *m, nd_container *c) {
        nd_addr a4, a6;
        size_t k = 0;
        int r;

        if (!c->fw) {
                char what[ND_NAME_MAX + 16];
                snprintf(what, sizeof(what), "container %s", c->name);
                c->fw = nd_fw_owner_new(m->fw, what);
                if (!c->fw)
                        return -ENOMEM;
        }
        nd_nft_elem *elems = calloc(2 * c->n_bindings + 1, sizeof(*elems));
        if (!elems)
                return -ENOMEM;
        if (publish_addrs(m, c, &a4, &a6))
                for (size_t i = 0; i < c->n_bindings; i++)
                        k += nd_fw_binding_elems(&c->bindings[i], &a4, &a6, elems + k);
        r = nd_fw_owner_set(m->fw, c->fw, elems, k);
        free(elems);
        return r;
}

/* Is @b free of netd's other bindings (other running containers, and
 * @c's first @n)? */
static int not_published(nd_manager *m, const nd_container *c, const nd_port_binding *mine, size_t n,
                         const nd_port_binding *b, nd_diag *d) {
        char a[ND_ADDR_STRLEN];
        const char *ip = b->host_ip.family ? nd_addr_fmt(&b->host_ip, a) : "0.0.0.0";
        for (size_t i = 0; i < n; i++)
                if (nd_port_binding_clash(&mine[i], b))
                        return nd_diag_set(d, -EADDRINUSE, "host port %s:%u/%s is given twice", ip, b->host_port,
                                           nd_proto_name(b->proto));
        for (size_t k = 0; k < m->n_cts; k++) {
                const nd_container *o = m->cts[k];
                if (o == c)
                        continue;
                for (size_t i = 0; i < o->n_bindings; i++)
                        if (nd_port_binding_clash(&o->bindings[i], b))
                                return nd_diag_set(d, -EADDRINUSE, "host port %s:%u/%s is already published by "
                                                   "container '%s'", ip, b->host_port, nd_proto_name(b->proto),
                                                   o->name);
        }
        return 0;
}

static int claim(nd_manager *m, nd_container *c, nd_port_binding *mine, size_t n, nd_port_binding *b, int *fds,
                 nd_diag *d) {
        int r = not_published(m, c, mine, n, b, d);
        if (r < 0)
                return r;
        return nd_hostport_reserve(b, fds, d);
}

void nd_ports_release(nd_manager *m, nd_container *c) {
        if (c->fw) {
                nd_fw_owner_free(m->fw, c->fw);
                c->fw = NULL;
        }
        for (size_t i = 0; c->port_fds && i < ND_HOSTPORT_FDS * c->n_bindings; i++)
                if (c->port_fds[i] >= 0)
                        close(c->port_fds[i]);
        free(c->port_fds);
        free(c->bindings);
        c->port_fds = NULL;
        c->bindings = NULL;
        c->n_bindings = 0;
}

int nd_ports_publish(nd_manager *m, nd_container *c, nd_diag *d) {
        nd_addr a4, a6;
        int r;

        nd_ports_release(m, c);
        if (c->n_ports == 0)
                return 0;
        if (!m->fw)
                return nd_diag_set(d, -EOPNOTSUPP, "container '%s' publishes ports, but netd runs without nftables "
                                   "on this host (see its log)", c->name);
        if (!publish_addrs(m, c, &a4, &a6))
                return nd_diag_set(d, -EINVAL, "container '%s' publishes ports but is on no network that is not "
                                   "internal", c->name);
        nd_port_binding *bs = calloc(c->n_ports, sizeof(*bs));
        int *fds = malloc(ND_HOSTPORT_FDS * c->n_ports * sizeof(*fds));
        if (!bs || !fds) {
                free(bs);
                free(fds);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < ND_HOSTPORT_FDS * c->n_ports; i++)
                fds[i] = -1;
        size_t n = 0;
        for (; n < c->n_ports; n++) {
                const nd_port_spec *p = &c->ports[n];
                nd_port_binding *b = &bs[n];
                int *f = fds + ND_HOSTPORT_FDS * n;
                *b = (nd_port_binding) { .proto = p->proto, .host_ip = p->host_ip, .ctr_port = p->ctr };
                if (p->host_lo && p->host_lo == p->host_hi) {
                        b->host_port = p->host_lo;
                        r = claim(m, c, bs, n, b, f, d);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                /* any free port of a range, or of the dynamic range
                 * (starting after the last one given out, so a port just
                 * released is not handed out again at once) */
                bool dyn = p->host_lo == 0;
                unsigned lo = dyn ? m->port_lo : p->host_lo, hi = dyn ? m->port_hi : p->host_hi;
                unsigned span = hi - lo + 1, start = lo;
                if (dyn && m->port_next >= lo && m->port_next <= hi)
                        start = m->port_next;
                r = -EADDRINUSE;
                for (unsigned t = 0; t < span && r < 0; t++) {
                        b->host_port = (uint16_t) (lo + (start - lo + t) % span);
                        r = claim(m, c, bs, n, b, f, NULL);
                        if (r < 0 && r != -EADDRINUSE) {
                                (void) claim(m, c, bs, n, b, f, d); /* for its message */
                                goto fail;
                        }
                }
                if (r < 0) {
                        r = nd_diag_set(d, -EADDRINUSE, "no free host port in %u-%u for container port %u/%s", lo, hi,
                                        p->ctr, nd_proto_name(p->proto));
                        goto fail;
                }
                if (dyn)
                        m->port_next = (uint16_t) (b->host_port == hi ? lo : (unsigned) b->host_port + 1u);
        }
        c->bindings = bs;
        c->port_fds = fds;
        c->n_bindings = n;
        r = program(m, c);
        if (r < 0) {
                nd_ports_release(m, c);
                return nd_diag_set(d, r, "programming nftables for container '%s' failed: %s", c->name,
                                   strerror(-r));
        }
        return 0;
fail:
        for (size_t i = 0; i < ND_HOSTPORT_FDS * c->n_ports; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(fds);
        free(bs);
        return r;
}

void nd_ports_refresh(nd_manager *m, nd_container *c) {
        if (!m->fw || c->n_bindings == 0)
                return;
        int r = program(m, c);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "updating published ports failed", "container=%s", c->name);
}

void nd_manager_ports_restore(nd_manager *m) {
        for (size_t k = 0; k < m->n_cts; k++) {
                nd_container *c = m->cts[k];
                if (c->n_bindings == 0)
                        continue;
                if (c->status != ND_CT_RUNNING) {
                        nd_ports_release(m, c);
                        continue;
                }
                c->port_fds = malloc(ND_HOSTPORT_FDS * c->n_bindings * sizeof(int));
                if (!c->port_fds)
                        continue;
                for (size_t i = 0; i < c->n_bindings; i++) {
                        nd_diag d = {0};
                        int *f = c->port_fds + ND_HOSTPORT_FDS * i;
                        if (nd_hostport_reserve(&c->bindings[i], f, &d) < 0)
                                nd_log(LOG_WARNING, "cannot hold a published port again; traffic still reaches the "
                                       "container", "container=%s reason=\"%s\"", c->name, d.msg);
                }
                int r = program(m, c);
                if (r < 0)
                        nd_log_errno(LOG_ERR, r, "restoring published ports failed", "container=%s", c->name);
        }
}
