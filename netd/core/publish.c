/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Published ports: choosing host ports, holding them (hostport.h), and the
 * owner's nftables map elements (firewall.h).  An owner is a netd
 * container, a CNI attachment (sandboxes.c) or an endpoint of a Docker
 * network (core/docker-endpoints.c); each keeps an nd_published, and a host port
 * is given to one owner only.
 *
 * Container ports are bound while the container runs: chosen and held at
 * start, released at exit, as Docker does.  The bindings are part of the
 * record, so a restarted netd re-holds exactly the ports it had published.
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

/* The addresses a container's published ports lead to: its first
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

int nd_publish_program(nd_manager *m, nd_published *p, const char *what, const nd_addr *a4, const nd_addr *a6) {
        size_t k = 0;
        int r;

        if (!m->fw)
                return -EOPNOTSUPP;
        if (!p->fw) {
                p->fw = nd_fw_owner_new(m->fw, what);
                if (!p->fw)
                        return -ENOMEM;
                /* counted while programmed: the bindings stay until the
                 * release */
                m->n_published += p->n_bindings;
        }
        nd_nft_elem *elems = calloc(ND_FW_BINDING_ELEMS_MAX * p->n_bindings + 1, sizeof(*elems));
        if (!elems)
                return -ENOMEM;
        if (a4->family || a6->family)
                for (size_t i = 0; i < p->n_bindings; i++)
                        k += nd_fw_binding_elems(&p->bindings[i], a4, a6, elems + k);
        r = nd_fw_owner_set(m->fw, p->fw, elems, k);
        free(elems);
        return r;
}

int nd_publish_owner_add(nd_manager *m, const nd_port_owner_ops *ops, void *userdata) {
        return nd_owner_slot_add(m->port_owners, &m->n_port_owners, ops, userdata);
}

const char *nd_publish_holder(nd_manager *m, const nd_published *self, const nd_port_binding *b, char *buf,
                              size_t size) {
        for (size_t i = 0; i < m->n_port_owners; i++) {
                const nd_port_owner_ops *ops = m->port_owners[i].ops;
                const char *who = ops->holder(m->port_owners[i].userdata, self, b, buf, size);
                if (who)
                        return who;
        }
        return NULL;
}

/* Is @b free of netd's other bindings (other owners, and the first @n of
 * @mine)?  Then hold it. */
static int claim(nd_manager *m, const nd_published *self, nd_port_binding *mine, size_t n, nd_port_binding *b,
                 int *fds, nd_diag *d) {
        char a[ND_ADDR_STRLEN], who[ND_NAME_MAX + 64];
        const char *ip = b->host_ip.family ? nd_addr_fmt(&b->host_ip, a) : "0.0.0.0";
        for (size_t i = 0; i < n; i++)
                if (nd_port_binding_clash(&mine[i], b))
                        return nd_diag_set(d, -EADDRINUSE, "host port %s:%u/%s is given twice", ip, b->host_port,
                                           nd_proto_name(b->proto));
        if (nd_publish_holder(m, self, b, who, sizeof(who)))
                return nd_diag_set(d, -EADDRINUSE, "host port %s:%u/%s is already published by %s", ip,
                                   b->host_port, nd_proto_name(b->proto), who);
        return nd_hostport_reserve(b, fds, d);
}

void nd_publish_release(nd_manager *m, nd_published *p) {
        if (p->fw) {
                m->n_published -= p->n_bindings;
                nd_fw_owner_free(m->fw, p->fw);
                p->fw = NULL;
        }
        nd_published_done(p);
}

int nd_publish(nd_manager *m, nd_published *p, const char *what, const nd_port_spec *specs, size_t n_specs,
               const nd_addr *a4, const nd_addr *a6, bool hold, nd_diag *d) {
        int r;

        nd_publish_release(m, p);
        if (n_specs == 0)
                return 0;
        if (!m->fw)
                return nd_diag_set(d, -EOPNOTSUPP, "%s publishes ports, but netd runs without nftables on this host "
                                   "(see its log)", what);
        nd_port_binding *bs = calloc(n_specs, sizeof(*bs));
        int *fds = malloc(ND_HOSTPORT_FDS * n_specs * sizeof(*fds));
        if (!bs || !fds) {
                free(bs);
                free(fds);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < ND_HOSTPORT_FDS * n_specs; i++)
                fds[i] = -1;
        size_t n = 0;
        for (; n < n_specs; n++) {
                const nd_port_spec *s = &specs[n];
                nd_port_binding *b = &bs[n];
                int *f = fds + ND_HOSTPORT_FDS * n;
                *b = (nd_port_binding) { .proto = s->proto, .host_ip = s->host_ip, .ctr_port = s->ctr };
                if (s->host_lo && s->host_lo == s->host_hi) {
                        b->host_port = s->host_lo;
                        r = claim(m, p, bs, n, b, f, d);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                /* any free port of a range, or of the dynamic range
                 * (starting after the last one given out, so a port just
                 * released is not handed out again at once) */
                bool dyn = s->host_lo == 0;
                unsigned lo = dyn ? m->port_lo : s->host_lo, hi = dyn ? m->port_hi : s->host_hi;
                unsigned span = hi - lo + 1, start = lo;
                if (dyn && m->port_next >= lo && m->port_next <= hi)
                        start = m->port_next;
                r = -EADDRINUSE;
                for (unsigned t = 0; t < span && r < 0; t++) {
                        b->host_port = (uint16_t) (lo + (start - lo + t) % span);
                        r = claim(m, p, bs, n, b, f, NULL);
                        if (r < 0 && r != -EADDRINUSE) {
                                (void) claim(m, p, bs, n, b, f, d); /* for its message */
                                goto fail;
                        }
                }
                if (r < 0) {
                        r = nd_diag_set(d, -EADDRINUSE, "no free host port in %u-%u for port %u/%s of %s", lo, hi,
                                        s->ctr, nd_proto_name(s->proto), what);
                        goto fail;
                }
                if (dyn)
                        m->port_next = (uint16_t) (b->host_port == hi ? lo : (unsigned) b->host_port + 1u);
        }
        if (!hold) {
                /* the runtime holds them (a CNI runtime binds its host
                 * ports after ADD): they were only probed */
                for (size_t i = 0; i < ND_HOSTPORT_FDS * n_specs; i++)
                        if (fds[i] >= 0)
                                close(fds[i]);
                free(fds);
                fds = NULL;
        }
        p->bindings = bs;
        p->fds = fds;
        p->n_bindings = n;
        r = nd_publish_program(m, p, what, a4, a6);
        if (r < 0) {
                nd_publish_release(m, p);
                return nd_diag_set(d, r, "programming nftables for %s failed: %s", what, strerror(-r));
        }
        return 0;
fail:
        for (size_t i = 0; i < ND_HOSTPORT_FDS * n_specs; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(fds);
        free(bs);
        return r;
}

void nd_publish_restore(nd_manager *m, nd_published *p, const char *what, const nd_addr *a4, const nd_addr *a6,
                        bool hold) {
        if (p->n_bindings == 0 || !m->fw)
                return;
        p->fds = hold ? malloc(ND_HOSTPORT_FDS * p->n_bindings * sizeof(int)) : NULL;
        for (size_t i = 0; p->fds && i < p->n_bindings; i++) {
                nd_diag d = {0};
                int *f = p->fds + ND_HOSTPORT_FDS * i;
                if (nd_hostport_reserve(&p->bindings[i], f, &d) < 0)
                        nd_log(LOG_WARNING, "cannot hold a published port again; traffic still reaches it",
                               "owner=\"%s\" reason=\"%s\"", what, d.msg);
        }
        int r = nd_publish_program(m, p, what, a4, a6);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "restoring published ports failed", "owner=\"%s\"", what);
}

/* ---- containers ---- */

static void ct_what(const nd_container *c, char *buf, size_t size) {
        snprintf(buf, size, "container '%s'", c->name);
}

void nd_ports_release(nd_manager *m, nd_container *c) {
        nd_publish_release(m, &c->pub);
}

int nd_ports_publish(nd_manager *m, nd_container *c, nd_diag *d) {
        char what[ND_NAME_MAX + 16];
        nd_addr a4 = {0}, a6 = {0};

        nd_ports_release(m, c);
        if (c->n_ports == 0)
                return 0;
        ct_what(c, what, sizeof(what));
        if (m->fw && !publish_addrs(m, c, &a4, &a6))
                return nd_diag_set(d, -EINVAL, "container '%s' publishes ports but is on no network that is not "
                                   "internal", c->name);
        return nd_publish(m, &c->pub, what, c->ports, c->n_ports, &a4, &a6, true, d);
}

void nd_ports_refresh(nd_manager *m, nd_container *c) {
        char what[ND_NAME_MAX + 16];
        nd_addr a4, a6;
        if (!m->fw || c->pub.n_bindings == 0)
                return;
        ct_what(c, what, sizeof(what));
        (void) publish_addrs(m, c, &a4, &a6);
        int r = nd_publish_program(m, &c->pub, what, &a4, &a6);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "updating published ports failed", "container=%s", c->name);
}

static const char *containers_port_holder(void *userdata, const nd_published *self, const nd_port_binding *b,
                                          char *buf, size_t size) {
        nd_manager *m = userdata;
        for (size_t k = 0; k < m->n_cts; k++) {
                const nd_container *o = m->cts[k];
                if (&o->pub != self && nd_published_clash(&o->pub, b)) {
                        snprintf(buf, size, "container '%s'", o->name);
                        return buf;
                }
        }
        return NULL;
}

static void containers_ports_restore(void *userdata) {
        nd_manager *m = userdata;
        for (size_t k = 0; k < m->n_cts; k++) {
                nd_container *c = m->cts[k];
                char what[ND_NAME_MAX + 16];
                nd_addr a4, a6;
                if (c->status == ND_CT_RUNNING && c->pub.n_bindings == 0 && c->n_ports > 0) {
                        /* adopted after netd died mid-start: its bindings
                         * were never recorded; publish them now */
                        nd_diag d = {0};
                        if (nd_ports_publish(m, c, &d) < 0)
                                nd_log(LOG_ERR, "publishing the ports of an adopted container failed",
                                       "container=%s reason=\"%s\"", c->name, d.msg);
                        continue;
                }
                if (c->pub.n_bindings == 0)
                        continue;
                if (c->status != ND_CT_RUNNING) {
                        nd_ports_release(m, c);
                        continue;
                }
                ct_what(c, what, sizeof(what));
                (void) publish_addrs(m, c, &a4, &a6);
                nd_publish_restore(m, &c->pub, what, &a4, &a6, true);
        }
}

static const nd_port_owner_ops containers_ports = {
        .holder = containers_port_holder,
        .restore = containers_ports_restore,
};

int nd_ports_register(nd_manager *m) {
        return nd_publish_owner_add(m, &containers_ports, m);
}

void nd_manager_ports_restore(nd_manager *m) {
        for (size_t i = 0; i < m->n_port_owners; i++) {
                const nd_port_owner_ops *ops = m->port_owners[i].ops;
                ops->restore(m->port_owners[i].userdata);
        }
}
