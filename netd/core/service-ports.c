/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Published ports of services (manager-internal.h, docs/services.md
 * "Published ports"): the host side of the routing mesh.
 *
 * A service's ports are held like a container's (hostport.h: a socket
 * bound on every address, so that no host process can take the port)
 * from its create to its rm, whatever its tasks do: a port published by
 * the mesh is the service's even while no task serves it, as in Docker
 * swarm, where the ingress port stays published on every node.  The
 * holdings live in their own table keyed by service id (not in services.c,
 * whose records come and go with the cluster's), registered as one owner
 * in publish.c's registry.  The bindings are derived from the record, so a
 * restarted netd holds exactly the ports its stored services publish.
 *
 * The kernel side is the service's firewall owner: services.c puts the
 * mesh4 slots (nd_svc_ports_elems) in the same batch as its VIP slots.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "firewall.h"
#include "grow.h"
#include "hostport.h"
#include "log.h"
#include "manager-internal.h"
#include "network.h"
#include "service.h"

struct nd_svc_pub {
        char id[ND_ID_LEN + 1];
        char name[ND_SVC_NAME_MAX + 1];
        nd_published pub;      /* every address, host_port = published, ctr_port = target */
};

static struct nd_svc_pub *pub_find(nd_manager *m, const char *id) {
        for (size_t i = 0; i < m->n_svc_pubs; i++)
                if (strcmp(m->svc_pubs[i].id, id) == 0)
                        return &m->svc_pubs[i];
        return NULL;
}

/* @rec's ports as bindings on every host address (NULL for none). */
static int bindings_of(const nd_service *rec, nd_port_binding **ret) {
        nd_port_binding *bs = NULL;

        if (rec->n_ports) {
                bs = calloc(rec->n_ports, sizeof(*bs));
                if (!bs)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < rec->n_ports; i++)
                bs[i] = (nd_port_binding) { .proto = rec->ports[i].proto,
                                            .host_port = rec->ports[i].published,
                                            .ctr_port = rec->ports[i].target };
        *ret = bs;
        return 0;
}

static int pub_append(nd_manager *m, const nd_service *rec, nd_published *p) {
        struct nd_svc_pub *e;

        if (ND_GROW(m->svc_pubs, m->n_svc_pubs, m->cap_svc_pubs, 1) < 0)
                return -ENOMEM;
        e = &m->svc_pubs[m->n_svc_pubs++];
        *e = (struct nd_svc_pub) { .pub = *p };
        snprintf(e->id, sizeof(e->id), "%s", rec->id);
        snprintf(e->name, sizeof(e->name), "%s", rec->name);
        *p = (nd_published) { 0 };
        return 0;
}

/* Hold @b for service @rec, or say who has it. */
static int claim_one(nd_manager *m, const nd_service *rec, const nd_port_binding *b, int *fds, nd_diag *d) {
        char who[ND_NAME_MAX + 64];
        nd_diag why = { { 0 } };
        int r;

        if (nd_publish_holder(m, NULL, b, who, sizeof(who)))
                return nd_diag_set(d, -EADDRINUSE, "port %u/%s is already published by %s", b->host_port,
                                   nd_proto_name(b->proto), who);
        r = nd_hostport_reserve(b, fds, &why);
        if (r == -EADDRINUSE)
                return nd_diag_set(d, r, "port %u/%s is in use on this host by another process", b->host_port,
                                   nd_proto_name(b->proto));
        if (r < 0)
                return nd_diag_set(d, r, "service '%s': %s", rec->name, why.msg);
        return 0;
}

int nd_svc_ports_claim(nd_manager *m, const nd_service *rec, nd_diag *d) {
        nd_published p = { 0 };
        nd_network *n = NULL;
        int r;

        nd_svc_ports_drop(m, rec->id);
        if (rec->n_ports == 0)
                return 0;
        if (!m->fw)
                return nd_diag_set(d, -EOPNOTSUPP, "service '%s' publishes ports, but netd runs without nftables "
                                   "on this host (see its log)", rec->name);
        /* the mesh leads to the tasks on the first network; an internal
         * network is sealed off from the host's other interfaces */
        if (rec->n_nets == 0 || nd_manager_network_find(m, rec->nets[0].net, &n) < 0)
                return nd_diag_set(d, -ENOENT, "service '%s': its first network is gone", rec->name);
        if (n->spec.internal)
                return nd_diag_set(d, -EINVAL, "service '%s' publishes ports, but its first network '%s' is "
                                   "internal", rec->name, n->spec.name);
        r = bindings_of(rec, &p.bindings);
        p.fds = malloc(ND_HOSTPORT_FDS * rec->n_ports * sizeof(*p.fds));
        if (r < 0 || !p.fds) {
                nd_published_done(&p);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < ND_HOSTPORT_FDS * rec->n_ports; i++)
                p.fds[i] = -1;
        for (; p.n_bindings < rec->n_ports; p.n_bindings++) {
                /* the model refuses a (port, protocol) given twice */
                r = claim_one(m, rec, &p.bindings[p.n_bindings], p.fds + ND_HOSTPORT_FDS * p.n_bindings, d);
                if (r < 0) {
                        nd_published_done(&p);
                        return r;
                }
        }
        r = pub_append(m, rec, &p);
        if (r < 0) {
                nd_published_done(&p);
                return nd_diag_set(d, r, "out of memory");
        }
        return 0;
}

int nd_svc_ports_adopt(nd_manager *m, const nd_service *rec) {
        nd_published p = { 0 };
        int r;

        nd_svc_ports_drop(m, rec->id);
        if (rec->n_ports == 0)
                return 0;
        r = bindings_of(rec, &p.bindings);
        if (r < 0)
                return r;
        p.n_bindings = rec->n_ports;
        r = pub_append(m, rec, &p);
        if (r < 0)
                nd_published_done(&p);
        return r;
}

size_t nd_svc_ports_count(const nd_manager *m) {
        size_t n = 0;
        for (size_t i = 0; i < m->n_svc_pubs; i++)
                n += m->svc_pubs[i].pub.n_bindings;
        return n;
}

void nd_svc_ports_drop(nd_manager *m, const char *id) {
        struct nd_svc_pub *e = pub_find(m, id);
        size_t i;

        if (!e)
                return;
        nd_published_done(&e->pub);
        i = (size_t) (e - m->svc_pubs);
        memmove(e, e + 1, (m->n_svc_pubs - i - 1) * sizeof(*e));
        m->n_svc_pubs--;
}

size_t nd_svc_ports_elems(const nd_service *rec, const nd_addr *all, size_t n_all, const nd_addr *local,
                          size_t n_local, nd_nft_elem *out) {
        size_t k = 0;

        for (size_t i = 0; i < rec->n_ports; i++) {
                const nd_svc_port *p = &rec->ports[i];
                bool host = p->mode == ND_SVC_PUB_HOST;
                k += nd_fw_mesh_elems(p->proto, p->published, host ? local : all, host ? n_local : n_all,
                                      p->target, out + k);
        }
        return k;
}

/* ---- the port registry's view ---- */

static const char *svc_port_holder(void *userdata, const nd_published *self, const nd_port_binding *b, char *buf,
                                   size_t size) {
        nd_manager *m = userdata;
        for (size_t i = 0; i < m->n_svc_pubs; i++) {
                const struct nd_svc_pub *e = &m->svc_pubs[i];
                if (&e->pub != self && nd_published_clash(&e->pub, b)) {
                        snprintf(buf, size, "service '%s'", e->name);
                        return buf;
                }
        }
        return NULL;
}

/* Start-up: hold the ports again.  The mesh elements stayed in the
 * kernel while netd was down, so a port a host process took meanwhile
 * still leads to the tasks; say so. */
static void svc_ports_restore(void *userdata) {
        nd_manager *m = userdata;
        for (size_t i = 0; i < m->n_svc_pubs; i++) {
                nd_published *p = &m->svc_pubs[i].pub;
                if (p->fds || p->n_bindings == 0)
                        continue;
                p->fds = malloc(ND_HOSTPORT_FDS * p->n_bindings * sizeof(*p->fds));
                if (!p->fds) {
                        nd_log(LOG_ERR, "out of memory holding a service's ports", "service=%s",
                               m->svc_pubs[i].name);
                        continue;
                }
                for (size_t k = 0; k < p->n_bindings; k++) {
                        nd_diag d = { { 0 } };
                        if (nd_hostport_reserve(&p->bindings[k], p->fds + ND_HOSTPORT_FDS * k, &d) < 0)
                                nd_log(LOG_WARNING, "cannot hold a service's published port again; traffic still "
                                       "reaches its tasks", "service=%s reason=\"%s\"", m->svc_pubs[i].name,
                                       d.msg);
                }
        }
}

static const nd_port_owner_ops svc_ports_ops = {
        .holder = svc_port_holder,
        .restore = svc_ports_restore,
};

int nd_svc_ports_register(nd_manager *m) {
        return nd_publish_owner_add(m, &svc_ports_ops, m);
}

void nd_svc_ports_free(nd_manager *m) {
        for (size_t i = 0; i < m->n_svc_pubs; i++)
                nd_published_done(&m->svc_pubs[i].pub);
        free(m->svc_pubs);
        m->svc_pubs = NULL;
        m->n_svc_pubs = m->cap_svc_pubs = 0;
}
