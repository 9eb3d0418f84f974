/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services (services.h, docs/services.md).
 *
 * A service is a record (model/service.h) in the host's store under
 * ND_KEY_SERVICES, its name claimed under ND_KEY_SERVICE_NAMES, and in
 * "vip" mode one address per network taken through the network's IPAM
 * (an ordinary address record, owner "service:ID").  The VIP is put on
 * the network's bridge as a /32, so the host answers ARP for it and the
 * nat rules see it; the rules DNAT it to a slot's backend (firewall.h).
 *
 * Tasks are kept apart from services, keyed by their owner (a container
 * id, "cni:…", "docker:…") and network, and name their service by name:
 * a task may be registered before its service is read back at start-up.
 * A change marks the service dirty; nd_services_flush() then rewrites
 * the dirty services' elements and names once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bridge.h"
#include "cluster.h"
#include "diag.h"
#include "endpoint.h"
#include "firewall.h"
#include "grow.h"
#include "json-util.h"
#include "log.h"
#include "metrics.h"
#include "macro.h"
#include "manager-internal.h"
#include "names.h"
#include "network.h"
#include "nl-link.h"
#include "replicas-internal.h"
#include "server.h"
#include "service.h"
#include "services.h"
#include "services-internal.h"
#include "store.h"
#include "subnet.h"
#include "txn.h"

#define SVC_OWNER_PREFIX "service:"

static const char *const health_names[_ND_TASK_HEALTH_MAX] = {
        [ND_TASK_NONE] = "none",
        [ND_TASK_STARTING] = "starting",
        [ND_TASK_HEALTHY] = "healthy",
        [ND_TASK_UNHEALTHY] = "unhealthy",
};

const char *nd_task_health_to_string(nd_task_health h) {
        return h < _ND_TASK_HEALTH_MAX ? health_names[h] : "none";
}

nd_task_health nd_task_health_from_string(const char *s) {
        for (size_t i = 0; s && i < _ND_TASK_HEALTH_MAX; i++)
                if (strcmp(s, health_names[i]) == 0)
                        return (nd_task_health) i;
        return ND_TASK_NONE;
}

/* ---- lookup ---- */

static bool svc_ref(const void *objs, size_t i, const char **name, const char **id) {
        struct nd_svc *const *v = objs;
        if (!v[i]->committed || v[i]->removing)
                return false;
        *name = v[i]->rec->name;
        *id = v[i]->rec->id;
        return true;
}

int nd_svc_find(nd_manager *m, const char *ref, struct nd_svc **ret) {
        int i = nd_ref_resolve(ref, m->svcs, m->n_svcs, svc_ref);
        if (i < 0)
                return i;
        *ret = m->svcs[i];
        return 0;
}

/* By exact name, committed or not (names are unique either way). */
struct nd_svc *nd_svc_by_name(nd_manager *m, const char *name) {
        for (size_t i = 0; i < m->n_svcs; i++)
                if (strcmp(m->svcs[i]->rec->name, name) == 0)
                        return m->svcs[i];
        return NULL;
}

nd_network *nd_net_by_id(nd_manager *m, const char *id) {
        for (size_t i = 0; i < m->n_nets; i++)
                if (strcmp(m->nets[i].net->id, id) == 0)
                        return m->nets[i].net;
        return NULL;
}

void nd_svc_free(nd_manager *m, struct nd_svc *s) {
        if (!s)
                return;
        if (m->dns)
                nd_dns_names_drop(nd_dns_table(m->dns), s->rec->id);
        nd_fw_owner_free(m->fw, s->fw);
        nd_svc_socklb_keep(m, s, NULL, 0);
        nd_svc_ports_drop(m, s->rec->id); /* after its slots: whoever takes the port next gets it clean */
        nd_service_free(s->rec);
        free(s->lb_vips);
        free(s);
}

void nd_svc_unlink(nd_manager *m, struct nd_svc *s) {
        for (size_t i = 0; i < m->n_svcs; i++)
                if (m->svcs[i] == s) {
                        memmove(m->svcs + i, m->svcs + i + 1, (m->n_svcs - i - 1) * sizeof(*m->svcs));
                        m->n_svcs--;
                        return;
                }
}

int nd_svc_add(nd_manager *m, nd_service *rec, struct nd_svc **ret) {
        struct nd_svc *s = calloc(1, sizeof(*s));
        char what[ND_NAME_MAX + 16];

        if (!s || ND_GROW(m->svcs, m->n_svcs, m->cap_svcs, 1) < 0) {
                free(s);
                return -ENOMEM;
        }
        s->rec = rec;
        if (m->fw) {
                snprintf(what, sizeof(what), "service %s", rec->name);
                s->fw = nd_fw_owner_new(m->fw, what);
                if (!s->fw) {
                        free(s);
                        return -ENOMEM;
                }
        }
        m->svcs[m->n_svcs++] = s;
        *ret = s;
        return 0;
}

/* ---- the kernel and the DNS: derived from the task table ---- */

/* The VIP as a /32 on the network's bridge (@on) or not. */
static void vip_link(nd_manager *m, const nd_network *n, const nd_addr *vip, bool on) {
        char br[16];
        int r, ifindex;

        if (!m->nl || vip->family != AF_INET)
                return;
        nd_bridge_name(n, br, sizeof(br));
        ifindex = nd_nl_link_ifindex(m->nl, br);
        if (ifindex < 0)
                return;
        r = on ? nd_nl_addr_add(m->nl, ifindex, vip, 32) : nd_nl_addr_del(m->nl, ifindex, vip, 32);
        if (r < 0 && !(r == -EADDRNOTAVAIL && !on))
                nd_log_errno(LOG_WARNING, r, on ? "adding a service VIP to its bridge failed"
                                                : "removing a service VIP from its bridge failed",
                             "bridge=%s", br);
}

void nd_svc_links(nd_manager *m, const struct nd_svc *s, bool on) {
        for (size_t i = 0; i < s->rec->n_nets; i++) {
                const nd_network *n = nd_net_by_id(m, s->rec->nets[i].net);
                if (n)
                        vip_link(m, n, &s->rec->nets[i].vip4, on);
        }
}

/* The backends of @s on network @net_id, in task-table order (stable, so
 * that a change moves as few slots as it can). */
static size_t backends(nd_manager *m, const struct nd_svc *s, const char *net_id, nd_addr *out, size_t max) {
        size_t n = 0;
        for (size_t i = 0; i < m->n_tasks && n < max; i++) {
                const struct nd_svc_task *t = &m->tasks[i];
                if (strcmp(t->service, s->rec->name) == 0 && strcmp(t->net_id, net_id) == 0 && nd_svc_task_is_backend(t))
                        out[n++] = t->addr4;
        }
        return n;
}

static void svc_names(nd_manager *m, const struct nd_svc *s, const nd_network *n, const nd_addr *be, size_t n_be,
                      const nd_addr *vip) {
        nd_dns_names *t = nd_dns_table(m->dns);
        char tasks[ND_DNS_NAME_MAX + 1], ptr[ND_DNS_NAME_MAX + 1];
        int r = 0;

        snprintf(tasks, sizeof(tasks), "tasks.%s", s->rec->name);
        snprintf(ptr, sizeof(ptr), "%s.%s", s->rec->name, n->spec.name);
        /* the names exist while the service does, tasks or not: a
         * question about them is answered here, never forwarded */
        r = nd_dns_names_add(t, n->spec.name, tasks, NULL, NULL, s->rec->id);
        if (r >= 0)
                r = s->rec->mode == ND_SVC_VIP && vip->family
                            ? nd_dns_names_add(t, n->spec.name, s->rec->name, vip, ptr, s->rec->id)
                            : nd_dns_names_add(t, n->spec.name, s->rec->name, NULL, NULL, s->rec->id);
        for (size_t i = 0; i < n_be && r >= 0; i++) {
                r = nd_dns_names_add(t, n->spec.name, tasks, &be[i], NULL, s->rec->id);
                if (r >= 0 && s->rec->mode == ND_SVC_DNSRR)
                        r = nd_dns_names_add(t, n->spec.name, s->rec->name, &be[i], NULL, s->rec->id);
        }
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "adding a service's DNS names failed", "service=%s net=%s",
                             s->rec->name, n->spec.name);
}

/* ---- published ports: the routing mesh (service-ports.c holds them) ---- */

/* The healthy tasks of @s on its first network, the mesh's backends; with
 * @local only this host's (a remote task has its node's id). */
static size_t mesh_backends(nd_manager *m, const struct nd_svc *s, bool local, nd_addr *out, size_t max) {
        size_t n = 0;
        for (size_t i = 0; i < m->n_tasks && n < max; i++) {
                const struct nd_svc_task *t = &m->tasks[i];
                if (strcmp(t->service, s->rec->name) == 0 && strcmp(t->net_id, s->rec->nets[0].net) == 0 &&
                    nd_svc_task_is_backend(t) && (!local || !t->node[0]))
                        out[n++] = t->addr4;
        }
        return n;
}

/* The mesh4 slots of @s's published ports; @out holds n_ports *
 * ND_SVC_SLOTS. */
static size_t svc_mesh_elems(nd_manager *m, const struct nd_svc *s, nd_nft_elem *out) {
        _cleanup_free_ nd_addr *all = NULL, *local = NULL;
        size_t max = m->n_tasks ? m->n_tasks : 1, n_all, n_local;

        if (s->rec->n_ports == 0 || s->rec->n_nets == 0)
                return 0;
        all = calloc(max, sizeof(*all));
        local = calloc(max, sizeof(*local));
        if (!all || !local) {
                nd_log(LOG_ERR, "out of memory applying a service's ports", "service=%s", s->rec->name);
                return 0;
        }
        n_all = mesh_backends(m, s, false, all, max);
        n_local = mesh_backends(m, s, true, local, max);
        return nd_svc_ports_elems(s->rec, all, n_all, local, n_local, out);
}

/* Rewrite @s's elements and names from the task table. */
void nd_svc_apply(nd_manager *m, struct nd_svc *s) {
        _cleanup_free_ nd_nft_elem *elems = NULL;
        _cleanup_free_ nd_addr *be = NULL; /* each network's healthy tasks, max_be apart */
        _cleanup_free_ size_t *n_be = NULL;
        _cleanup_free_ uint32_t *lb_vips = NULL;
        size_t n_elems = 0, max_be = m->n_tasks ? m->n_tasks : 1, n_lb_vips = 0, n_nets = s->rec->n_nets;

        s->dirty = false;
        be = calloc(n_nets * max_be + 1, sizeof(*be));
        n_be = calloc(n_nets + 1, sizeof(*n_be));
        elems = calloc(n_nets * ND_FW_VIP_ELEMS_MAX + s->rec->n_ports * ND_SVC_SLOTS + 1, sizeof(*elems));
        lb_vips = calloc(n_nets + 1, sizeof(*lb_vips));
        if (!be || !n_be || !elems || !lb_vips) {
                nd_log(LOG_ERR, "out of memory applying a service", "service=%s", s->rec->name);
                return;
        }
        for (size_t i = 0; i < n_nets; i++)
                n_be[i] = backends(m, s, s->rec->nets[i].net, be + i * max_be, max_be);
        /* the names, replaced at once for the DNS thread (it waits for
         * this alone) */
        if (m->dns) {
                nd_dns_hold(m->dns);
                nd_dns_names_drop(nd_dns_table(m->dns), s->rec->id);
                for (size_t i = 0; i < n_nets; i++) {
                        const nd_svc_net *sn = &s->rec->nets[i];
                        const nd_network *n = nd_net_by_id(m, sn->net);
                        if (n)
                                svc_names(m, s, n, be + i * max_be, n_be[i], &sn->vip4);
                }
                nd_dns_release(m->dns);
        }
        for (size_t i = 0; i < n_nets; i++) {
                const nd_svc_net *sn = &s->rec->nets[i];
                const nd_network *n = nd_net_by_id(m, sn->net);
                char br[16];

                if (!n || s->rec->mode != ND_SVC_VIP || sn->vip4.family != AF_INET)
                        continue;
                nd_bridge_name(n, br, sizeof(br));
                n_elems += nd_fw_vip_elems(br, &sn->vip4, be + i * max_be, n_be[i], elems + n_elems);
                /* the same backends for the containers' sockets */
                nd_svc_socklb_set(m, s, &sn->vip4, be + i * max_be, n_be[i]);
                memcpy(&lb_vips[n_lb_vips++], sn->vip4.b, sizeof(*lb_vips));
        }
        nd_svc_socklb_keep(m, s, lb_vips, n_lb_vips);
        n_elems += svc_mesh_elems(m, s, elems + n_elems);
        if (s->fw) {
                int r = nd_fw_owner_set(m->fw, s->fw, elems, n_elems);
                if (r < 0)
                        nd_log_errno(LOG_ERR, r, "programming a service's elements failed", "service=%s",
                                     s->rec->name);
        }
}

void nd_services_fw_forget(nd_manager *m) {
        for (size_t i = 0; i < m->n_svcs; i++)
                m->svcs[i]->fw = NULL;
        m->svc_shared_fw = NULL;
}

void nd_services_flush(nd_manager *m) {
        for (size_t i = 0; i < m->n_svcs; i++)
                if (m->svcs[i]->dirty && m->svcs[i]->committed && !m->svcs[i]->removing)
                        nd_svc_apply(m, m->svcs[i]);
        nd_svc_cluster_shared(m);
}

static void mark_dirty(nd_manager *m, const char *service) {
        struct nd_svc *s = nd_svc_by_name(m, service);
        if (s)
                s->dirty = true;
}

/* ---- the task table ---- */

void nd_services_task_drop(nd_manager *m, const char *owner) {
        size_t k = 0;
        for (size_t i = 0; i < m->n_tasks; i++) {
                if (strcmp(m->tasks[i].owner, owner) == 0) {
                        mark_dirty(m, m->tasks[i].service);
                        continue;
                }
                m->tasks[k++] = m->tasks[i];
        }
        m->n_tasks = k;
}

int nd_services_task_set(nd_manager *m, const char *owner, const char *service, const char *net_id, const nd_addr *a4,
                         const char *name, const char *node, nd_task_health health) {
        struct nd_svc_task *t = NULL;

        /* a cut owner would never be dropped again */
        if (strlen(owner) >= sizeof(t->owner))
                return -ENAMETOOLONG;
        for (size_t i = 0; i < m->n_tasks && !t; i++)
                if (strcmp(m->tasks[i].owner, owner) == 0 && strcmp(m->tasks[i].net_id, net_id) == 0)
                        t = &m->tasks[i];
        if (t) {
                if (strcmp(t->service, service) != 0)
                        mark_dirty(m, t->service);
        } else {
                if (ND_GROW(m->tasks, m->n_tasks, m->cap_tasks, 1) < 0)
                        return -ENOMEM;
                t = &m->tasks[m->n_tasks++];
        }
        *t = (struct nd_svc_task) { .health = health };
        snprintf(t->owner, sizeof(t->owner), "%s", owner);
        snprintf(t->net_id, sizeof(t->net_id), "%s", net_id);
        snprintf(t->service, sizeof(t->service), "%s", service);
        snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
        snprintf(t->node, sizeof(t->node), "%s", node ? node : "");
        if (a4 && a4->family == AF_INET)
                t->addr4 = *a4;
        mark_dirty(m, service);
        return 0;
}

void nd_services_task_health_set(nd_manager *m, const char *owner, nd_task_health health) {
        for (size_t i = 0; i < m->n_tasks; i++)
                if (strcmp(m->tasks[i].owner, owner) == 0 && m->tasks[i].health != health) {
                        m->tasks[i].health = health;
                        mark_dirty(m, m->tasks[i].service);
                }
}

nd_task_health nd_services_task_health(nd_manager *m, const char *owner) {
        for (size_t i = 0; i < m->n_tasks; i++)
                if (strcmp(m->tasks[i].owner, owner) == 0)
                        return m->tasks[i].health;
        return ND_TASK_NONE;
}

/* A container's endpoints as tasks of its service, while it runs. */
void nd_services_container_sync(nd_manager *m, const nd_container *c, bool running) {
        nd_task_health h;
        struct nd_svc *s;

        if (!c->service[0])
                return;
        /* a task leaving (update, scale-down) is no backend any more */
        if (running && c->managed && nd_replicas_draining(m, c->id))
                running = false;
        h = nd_services_task_health(m, c->id);
        nd_services_task_drop(m, c->id);
        s = nd_svc_by_name(m, c->service);
        if (!running || !s || !s->rec->health.cmd)
                nd_health_unwatch(m, c->id);
        if (running && s) {
                if (h == ND_TASK_NONE && s->rec->health.cmd)
                        h = ND_TASK_STARTING;
                if (s->rec->health.cmd && nd_health_watch(m, c->id, c->name, &s->rec->health) < 0)
                        nd_log(LOG_ERR, "out of memory starting a health check", "ct=%s", c->name);
                for (size_t i = 0; i < c->n_eps; i++)
                        (void) nd_services_task_set(m, c->id, c->service, c->eps[i].net_id, &c->eps[i].addr4, c->name,
                                                    NULL, h);
        }
        nd_services_flush(m);
}

/* ---- checks the rest of the core asks ---- */

const char *nd_services_on_network(nd_manager *m, const nd_network *n) {
        for (size_t i = 0; i < m->n_svcs; i++)
                for (size_t k = 0; k < m->svcs[i]->rec->n_nets; k++)
                        if (strcmp(m->svcs[i]->rec->nets[k].net, n->id) == 0)
                                return m->svcs[i]->rec->name;
        return NULL;
}

int nd_services_task_check(nd_manager *m, const char *service, const char *const *net_ids, size_t n_nets,
                           const char *what, nd_diag *d) {
        struct nd_svc *s = nd_svc_by_name(m, service);

        if (!s || !s->committed || s->removing)
                return nd_diag_set(d, -ENOENT, "service '%s' not found", service);
        if (n_nets == 0)
                return nd_diag_set(d, -EINVAL, "%s is on no network; service '%s' is on network '%s'", what,
                                   service, nd_net_by_id(m, s->rec->nets[0].net)
                                                    ? nd_net_by_id(m, s->rec->nets[0].net)->spec.name
                                                    : s->rec->nets[0].net);
        for (size_t i = 0; i < n_nets; i++) {
                bool on = false;
                for (size_t k = 0; k < s->rec->n_nets && !on; k++)
                        on = strcmp(s->rec->nets[k].net, net_ids[i]) == 0;
                if (!on) {
                        const nd_network *n = nd_net_by_id(m, net_ids[i]);
                        return nd_diag_set(d, -EINVAL, "%s is on network '%s', which service '%s' is not on", what,
                                           n ? n->spec.name : net_ids[i], service);
                }
        }
        return 0;
}

/* ---- create ---- */

struct svc_op {
        nd_manager *m;
        struct nd_svc *s;
        nd_manager_svc_fn cb;
        void *userdata;
};

void nd_vips_give_back(nd_manager *m, const nd_service *rec) {
        for (size_t i = 0; i < rec->n_nets; i++) {
                nd_network *n = nd_net_by_id(m, rec->nets[i].net);
                nd_endpoint ep = { .addr4 = rec->nets[i].vip4 };
                nd_ep_spec es = { .net = n, .ep = &ep };
                if (n && ep.addr4.family)
                        nd_endpoint_detach(m, &es, ND_EP_RESERVE);
        }
}

static void on_created(void *userdata, int r, int64_t rev) {
        _cleanup_free_ struct svc_op *op = userdata;
        nd_manager *m = op->m;
        struct nd_svc *s = op->s;
        nd_diag d = {0};

        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "writing a service failed", "service=%s", s->rec->name);
                nd_vips_give_back(m, s->rec);
                nd_svc_unlink(m, s);
                nd_svc_free(m, s);
                nd_diag_set(&d, r, "writing the service failed: %s", strerror(-r));
                return op->cb(op->userdata, r, NULL, &d);
        }
        s->committed = true;
        nd_svc_links(m, s, true);
        nd_svc_apply(m, s);
        nd_manager_event_service(m, "create", s->rec, false);
        nd_replicas_kick(m); /* its tasks, if it runs any */
        op->cb(op->userdata, 0, nd_svc_view(m, s), NULL);
}

/* Resolve the request's network references to ids and take the VIPs. */
static int svc_networks(nd_manager *m, nd_service *rec, nd_diag *d) {
        for (size_t i = 0; i < rec->n_nets; i++) {
                nd_network *n;
                int r = nd_manager_network_find(m, rec->nets[i].net, &n);
                if (r == -ENOTUNIQ)
                        return nd_diag_set(d, -EINVAL, "network id prefix '%.64s' is ambiguous", rec->nets[i].net);
                if (r < 0)
                        return nd_diag_set(d, -ENOENT, "network '%.64s' not found", rec->nets[i].net);
                if (i > 0 && nd_network_is_global(n) != nd_network_is_global(nd_net_by_id(m, rec->nets[0].net)))
                        return nd_diag_set(d, -EINVAL,
                                           "network '%s' is %s overlay network and '%s' is %s: a service's networks "
                                           "are all overlay networks (the service is cluster-wide) or all local",
                                           n->spec.name, nd_network_is_global(n) ? "an" : "not an",
                                           nd_net_by_id(m, rec->nets[0].net)->spec.name,
                                           nd_network_is_global(n) ? "not" : "one");
                for (size_t k = 0; k < i; k++)
                        if (strcmp(rec->nets[k].net, n->id) == 0)
                                return nd_diag_set(d, -EINVAL, "network '%s' is given twice", n->spec.name);
                free(rec->nets[i].net);
                rec->nets[i].net = strdup(n->id);
                if (!rec->nets[i].net)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        if (rec->mode != ND_SVC_VIP)
                return 0;
        for (size_t i = 0; i < rec->n_nets; i++) {
                nd_network *n = nd_net_by_id(m, rec->nets[i].net);
                nd_endpoint ep = {0};
                nd_ep_spec es = { .net = n, .ep = &ep, .has_mac = true };
                int r;

                if (!nd_network_subnet_family(n, AF_INET)) {
                        rec->n_nets = i; /* give back only what was taken */
                        return nd_diag_set(d, -EINVAL, "network '%s' has no IPv4 subnet for a virtual IP",
                                           n->spec.name);
                }
                r = nd_endpoint_attach(m, &es, ND_EP_RESERVE, d);
                if (r < 0) {
                        rec->n_nets = i;
                        return r;
                }
                rec->nets[i].vip4 = ep.addr4;
                if (ep.addr6.family) {
                        /* IPv4 only: the IPv6 address RESERVE took goes back */
                        nd_endpoint v6 = { .addr6 = ep.addr6 };
                        nd_endpoint_detach(m, &(nd_ep_spec) { .net = n, .ep = &v6 }, ND_EP_RESERVE);
                }
        }
        return 0;
}

struct later {
        nd_manager *m;
        json_t *req;
        nd_manager_svc_fn cb;
        void *userdata;
};

static void on_block_claimed(void *userdata, int r, const nd_diag *dd) {
        struct later *l = userdata;
        nd_diag d = {0};

        if (r >= 0)
                r = nd_manager_service_create(l->m, l->req, l->cb, l->userdata, &d);
        else if (dd)
                d = *dd;
        if (r < 0)
                l->cb(l->userdata, r, NULL, &d);
        json_decref(l->req);
        free(l);
}

static int create_later(nd_manager *m, const json_t *req, nd_manager_svc_fn cb, void *userdata, nd_diag *d) {
        struct later *l = calloc(1, sizeof(*l));
        int r;
        if (!l || !(l->req = json_deep_copy(req))) {
                free(l);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        l->m = m;
        l->cb = cb;
        l->userdata = userdata;
        r = nd_cluster_wait(m->cluster, on_block_claimed, l);
        if (r < 0) {
                json_decref(l->req);
                free(l);
                return nd_diag_set(d, r, "waiting for an address block failed: %s", strerror(-r));
        }
        return 0;
}

int nd_manager_service_create(nd_manager *m, const json_t *req, nd_manager_svc_fn cb, void *userdata, nd_diag *d) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        _cleanup_free_ char *owner_val = NULL;
        nd_service *rec = NULL;
        struct nd_svc *s = NULL;
        struct svc_op *op = NULL;
        char owner[sizeof(SVC_OWNER_PREFIX) + ND_ID_LEN], key[512];
        size_t n_nets_asked;
        int r;

        r = nd_service_spec_parse(req, &rec, d);
        if (r < 0)
                return r;
        if (nd_svc_by_name(m, rec->name)) {
                nd_diag_set(d, -EEXIST, "service name '%s' is already in use", rec->name);
                nd_service_free(rec);
                return -EEXIST;
        }
        r = nd_id_new(rec->id);
        if (r < 0) {
                nd_service_free(rec);
                return nd_diag_set(d, r, "no random id: %s", strerror(-r));
        }
        rec->created = now_us() / 1000000;
        n_nets_asked = rec->n_nets;
        r = svc_networks(m, rec, d);
        if (r >= 0)
                r = nd_replicas_check(m, rec, d);
        if (r >= 0)
                r = nd_svc_ports_claim(m, rec, d);
        if (r < 0) {
                nd_vips_give_back(m, rec);
                rec->n_nets = n_nets_asked;
                nd_service_free(rec);
                /* an overlay VIP waits for this host's next address block */
                return r == -EAGAIN ? create_later(m, req, cb, userdata, d) : r;
        }
        if (nd_network_is_global(nd_net_by_id(m, rec->nets[0].net))) {
                r = nd_svc_cluster_create(m, rec, cb, userdata, d);
                if (r < 0) {
                        nd_vips_give_back(m, rec);
                        nd_svc_ports_drop(m, rec->id);
                        nd_service_free(rec);
                }
                return r;
        }
        snprintf(owner, sizeof(owner), SVC_OWNER_PREFIX "%s", rec->id);
        owner_val = nd_endpoint_record_value(owner);
        if (!owner_val || nd_store_txn_new(&t) < 0)
                goto oom;
        snprintf(key, sizeof(key), ND_KEY_SERVICE_NAMES "%s", rec->name);
        nd_store_txn_cmp_absent(t, key);
        nd_store_txn_put(t, key, rec->id);
        snprintf(key, sizeof(key), ND_KEY_SERVICES "%s", rec->id);
        nd_store_txn_put_json_new(t, key, nd_service_to_json(rec));
        for (size_t i = 0; i < rec->n_nets; i++)
                if (rec->nets[i].vip4.family) {
                        addr_key(nd_net_by_id(m, rec->nets[i].net), &rec->nets[i].vip4, key, sizeof(key));
                        nd_store_txn_put(t, key, owner_val);
                }
        if (nd_store_txn_error(t) < 0)
                goto oom;
        op = calloc(1, sizeof(*op));
        if (!op || nd_svc_add(m, rec, &s) < 0)
                goto oom;
        /* from here @s owns @rec */
        *op = (struct svc_op) { .m = m, .s = s, .cb = cb, .userdata = userdata };
        r = nd_store_txn_submit(TAKE_PTR(t), m->store, on_created, op);
        if (r < 0) {
                nd_svc_unlink(m, s);
                nd_vips_give_back(m, rec);
                nd_svc_free(m, s);
                free(op);
                return nd_diag_set(d, r, "writing the service failed: %s", strerror(-r));
        }
        return 0;
oom:
        free(op);
        nd_vips_give_back(m, rec);
        nd_svc_ports_drop(m, rec->id);
        nd_service_free(rec);
        return nd_diag_set(d, -ENOMEM, "out of memory");
}

/* ---- remove ---- */

static void on_removed(void *userdata, int r, int64_t rev) {
        _cleanup_free_ struct svc_op *op = userdata;
        nd_manager *m = op->m;
        struct nd_svc *s = op->s;
        nd_diag d = {0};

        if (r < 0) {
                s->removing = false;
                nd_diag_set(&d, r, "removing the service failed: %s", strerror(-r));
                return op->cb(op->userdata, r, NULL, &d);
        }
        nd_svc_links(m, s, false);
        nd_vips_give_back(m, s->rec);
        nd_manager_event_service(m, "remove", s->rec, false);
        nd_svc_unlink(m, s);
        nd_svc_free(m, s);
        op->cb(op->userdata, 0, NULL, NULL);
}

int nd_manager_service_remove(nd_manager *m, const char *ref, nd_manager_svc_fn cb, void *userdata, nd_diag *d) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        struct nd_svc *s;
        struct svc_op *op;
        char key[512];
        int r;

        r = nd_svc_find(m, ref, &s);
        if (r == -ENOTUNIQ)
                return nd_diag_set(d, r, "service id prefix '%.64s' is ambiguous", ref);
        if (r < 0)
                return nd_diag_set(d, -ENOENT, "service '%.64s' not found", ref);
        /* its tasks first: containers, addresses, names, elements */
        r = nd_replicas_remove_tasks(m, s, cb, userdata, d);
        if (r != 0)
                return r < 0 ? r : 0;
        if (s->global)
                return nd_svc_cluster_remove(m, s, cb, userdata, d);
        if (nd_store_txn_new(&t) < 0)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        snprintf(key, sizeof(key), ND_KEY_SERVICE_NAMES "%s", s->rec->name);
        nd_store_txn_del(t, key);
        snprintf(key, sizeof(key), ND_KEY_SERVICES "%s", s->rec->id);
        nd_store_txn_del(t, key);
        for (size_t i = 0; i < s->rec->n_nets; i++) {
                const nd_network *n = nd_net_by_id(m, s->rec->nets[i].net);
                if (n && s->rec->nets[i].vip4.family) {
                        addr_key(n, &s->rec->nets[i].vip4, key, sizeof(key));
                        nd_store_txn_del(t, key);
                }
        }
        op = calloc(1, sizeof(*op));
        if (!op || nd_store_txn_error(t) < 0) {
                free(op);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        *op = (struct svc_op) { .m = m, .s = s, .cb = cb, .userdata = userdata };
        r = nd_store_txn_submit(TAKE_PTR(t), m->store, on_removed, op);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "removing the service failed: %s", strerror(-r));
        }
        s->removing = true;
        return 0;
}

/* ---- start-up and exit ---- */

struct load_op {
        nd_manager *m;
        void (*done)(nd_manager *m);
};

static void on_loaded(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        _cleanup_free_ struct load_op *op = userdata;
        nd_manager *m = op->m;
        size_t loaded = 0;

        if (r < 0)
                nd_log_errno(LOG_ERR, r, "loading services failed; continuing without them");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                json_error_t jerr;
                nd_diag d = {0};
                nd_service *rec = NULL;
                struct nd_svc *s;
                bool nets_ok = true;
                _cleanup_json_ json_t *j = json_loadb(kvs[i].value, kvs[i].value_len, 0, &jerr);

                if (!j || nd_service_from_json(j, &rec, &d) < 0) {
                        nd_log(LOG_ERR, "skipping unreadable service record", "key=%s reason=\"%s\"", kvs[i].key,
                               j ? d.msg : jerr.text);
                        continue;
                }
                for (size_t k = 0; k < rec->n_nets; k++)
                        nets_ok = nets_ok && nd_net_by_id(m, rec->nets[k].net);
                if (!nets_ok)
                        nd_log(LOG_WARNING, "a service's network is gone; its names there are not served",
                               "service=%s", rec->name);
                if (nd_svc_add(m, rec, &s) < 0) {
                        nd_service_free(rec);
                        continue;
                }
                s->committed = true;
                s->dirty = true;
                if (nd_svc_ports_adopt(m, rec) < 0)
                        nd_log(LOG_ERR, "out of memory holding a service's ports", "service=%s", rec->name);
                loaded++;
        }
        nd_log(LOG_INFO, "services loaded", "count=%zu", loaded);
        r = nd_svc_lbs_load(m, op->done);
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "loading this host's service addresses failed");
                op->done(m);
        }
}

int nd_services_load(nd_manager *m, void (*done)(nd_manager *m)) {
        struct load_op *op = calloc(1, sizeof(*op));
        int r;

        if (!op)
                return -ENOMEM;
        *op = (struct load_op) { .m = m, .done = done };
        r = nd_store_list(m->store, ND_KEY_SERVICES, on_loaded, op);
        if (r < 0)
                free(op);
        return r;
}

void nd_services_restore(nd_manager *m) {
        nd_svc_socklb_restore(m);
        for (size_t i = 0; i < m->n_svcs; i++) {
                nd_svc_links(m, m->svcs[i], true);
                m->svcs[i]->dirty = true;
        }
        m->svcs_ready = true;
        nd_svc_cluster_lbs(m);
        nd_services_flush(m);
}

/* Before the firewall and the DNS go: the elements stay in the kernel
 * across a restart (nd_fw_free frees the owners). */
void nd_services_free(nd_manager *m) {
        for (size_t i = 0; i < m->n_svcs; i++) {
                nd_service_free(m->svcs[i]->rec);
                free(m->svcs[i]->lb_vips);
                free(m->svcs[i]);
        }
        free(m->svcs);
        m->svcs = NULL;
        m->n_svcs = m->cap_svcs = 0;
        free(m->tasks);
        m->tasks = NULL;
        m->n_tasks = m->cap_tasks = 0;
        nd_svc_cluster_free(m);
        nd_svc_ports_free(m);
}
