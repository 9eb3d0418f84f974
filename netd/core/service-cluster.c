/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services on overlay networks (docs/services.md, "Across hosts").
 *
 * A service whose networks are overlay networks is global: its record is
 * in etcd (cluster.h: nd_cluster_service_create) and every host serves
 * it: the VIP on its own bridge, the names in its DNS, the slots over the
 * healthy tasks of every host.  The VIPs come from the creating host's
 * address blocks, so no other host can hand them out; that host keeps
 * their address records and gives them back when the service goes,
 * whoever removes it.
 *
 * Remote tasks are remote endpoints whose record names a service
 * ("Service", "Health"): they join the task table as "remote:KEY" with
 * their node.  A connection from this host to a remote task must come
 * back through this host (it is DNATed here), so it is SNATed to an
 * address of this host on that overlay network (svc_snat4): one address
 * per network, taken from this host's blocks, put on the bridge as a /32
 * and published as an endpoint record with the bridge's MAC, so the
 * other hosts' FDB and neighbour tables reach it.  Which backends are
 * remote is the svc_remote4 set.  Both are elements every service
 * shares, held by one firewall owner and rewritten at each flush.
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
#include "macro.h"
#include "nl-link.h"
#include "replicas-internal.h"
#include "services-internal.h"
#include "store.h"
#include "txn.h"

#define LB_OWNER_PREFIX "service-lb:"

struct nd_svc_lb {
        char net_id[ND_ID_LEN + 1];
        nd_addr a;
        bool waiting;   /* an address block is being claimed for it */
};

/* ---- the cluster's calls ---- */

static void remove_here(nd_manager *m, struct nd_svc *s);

static void on_service(void *userdata, const char *id, const char *value) {
        nd_manager *m = userdata;
        struct nd_svc *s = NULL;
        nd_service *rec = NULL;
        nd_diag d = {0};

        for (size_t i = 0; i < m->n_svcs && !s; i++)
                if (strcmp(m->svcs[i]->rec->id, id) == 0)
                        s = m->svcs[i];
        if (!value) {
                if (s && s->global)
                        remove_here(m, s);
                nd_services_flush(m);
                nd_replicas_kick(m); /* its slots here are orphans now */
                return;
        }
        _cleanup_json_ json_t *j = json_loads(value, 0, NULL);
        if (!j || nd_service_from_json(j, &rec, &d) < 0 || strcmp(rec->id, id) != 0) {
                nd_log(LOG_WARNING, "ignoring an unreadable service record", "id=%.12s reason=\"%s\"", id,
                       d.msg[0] ? d.msg : "not JSON or another id");
                nd_service_free(rec);
                return;
        }
        if (s) {
                /* only its tasks change (scale, update, rollback) */
                if (s->rec->task && rec->task &&
                    (rec->version != s->rec->version || rec->replicas != s->rec->replicas)) {
                        nd_log(LOG_INFO, "cluster service changed", "service=%s replicas=%u version=%" PRIu64,
                               rec->name, rec->replicas, rec->version);
                        nd_service_take_tasks(s->rec, rec);
                        nd_replicas_kick(m);
                }
                nd_service_free(rec);
                return;
        }
        for (size_t i = 0; i < rec->n_nets; i++) {
                const nd_network *n = nd_net_by_id(m, rec->nets[i].net);
                if (!n || !nd_network_is_global(n)) {
                        nd_log(LOG_WARNING, "ignoring a service on a network that is not an overlay network here",
                               "service=%s", rec->name);
                        nd_service_free(rec);
                        return;
                }
        }
        if (nd_svc_by_name(m, rec->name)) {
                nd_log(LOG_WARNING, "ignoring a cluster service whose name a local service has", "service=%s",
                       rec->name);
                nd_service_free(rec);
                return;
        }
        /* its published ports, held here too (the routing mesh opens them
         * on every host); at start-up they are bound when the rest are */
        if (m->svcs_ready ? nd_svc_ports_claim(m, rec, &d) : nd_svc_ports_adopt(m, rec)) {
                nd_log(LOG_WARNING, "a cluster service's ports cannot be published on this host",
                       "service=%s reason=\"%s\"", rec->name, d.msg[0] ? d.msg : "out of memory");
                d = (nd_diag) {0};
        }
        if (nd_svc_add(m, rec, &s) < 0) {
                nd_svc_ports_drop(m, rec->id);
                nd_service_free(rec);
                return;
        }
        s->global = true;
        s->committed = true;
        s->dirty = true;
        nd_svc_links(m, s, true);
        nd_log(LOG_INFO, "cluster service", "service=%s id=%.12s", rec->name, rec->id);
        if (m->svcs_ready)
                nd_manager_event_service(m, "create", rec, true);
        nd_svc_cluster_lbs(m);
        nd_services_flush(m);
        nd_replicas_kick(m); /* its tasks, if it runs any */
}

static void on_task(void *userdata, const nd_cluster_task *t) {
        nd_manager *m = userdata;
        char owner[240];
        snprintf(owner, sizeof(owner), "remote:%s", t->key);
        (void) nd_services_task_set(m, owner, t->service, t->net_id, t->a4, t->name, t->node,
                                    nd_task_health_from_string(t->health));
        nd_services_flush(m);
}

static void on_task_gone(void *userdata, const char *key) {
        nd_manager *m = userdata;
        char owner[240];
        snprintf(owner, sizeof(owner), "remote:%s", key);
        nd_services_task_drop(m, owner);
        nd_services_flush(m);
}

static const char *on_health(void *userdata, const char *owner) {
        /* a task leaving (an update, a scale-down) is no backend for the
         * other hosts either, before it stops */
        if (nd_replicas_draining(userdata, owner))
                return nd_task_health_to_string(ND_TASK_UNHEALTHY);
        return nd_task_health_to_string(nd_services_task_health(userdata, owner));
}

static const nd_cluster_svc_ops svc_ops = {
        .service = on_service,
        .task = on_task,
        .task_gone = on_task_gone,
        .health = on_health,
};

void nd_svc_cluster_init(nd_manager *m) {
        nd_cluster_set_svc_ops(m->cluster, &svc_ops, m);
}

/* ---- create and remove ---- */

struct cl_op {
        nd_manager *m;
        nd_service *rec;
        char *name;
        nd_manager_svc_fn cb;
        void *userdata;
};

static void vip_records(nd_manager *m, const nd_service *rec, bool put) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        _cleanup_free_ char *val = NULL;
        char owner[sizeof("service:") + ND_ID_LEN], key[512];

        snprintf(owner, sizeof(owner), "service:%s", rec->id);
        if (nd_store_txn_new(&t) < 0 || (put && !(val = nd_endpoint_record_value(owner))))
                return (void) nd_log(LOG_ERR, "out of memory writing a service's address records");
        for (size_t i = 0; i < rec->n_nets; i++) {
                const nd_network *n = nd_net_by_id(m, rec->nets[i].net);
                if (!n || !rec->nets[i].vip4.family)
                        continue;
                addr_key(n, &rec->nets[i].vip4, key, sizeof(key));
                if (put)
                        (void) nd_store_txn_put(t, key, val);
                else
                        (void) nd_store_txn_del(t, key);
        }
        if (nd_store_txn_size(t) && nd_store_txn_submit(TAKE_PTR(t), m->store, NULL, NULL) < 0)
                nd_log(LOG_ERR, "writing a service's address records failed", "service=%s", rec->name);
}

static void on_cl_created(void *userdata, int r) {
        _cleanup_free_ struct cl_op *op = userdata;
        nd_manager *m = op->m;
        struct nd_svc *s;
        nd_diag d = {0};

        if (r < 0) {
                nd_vips_give_back(m, op->rec);
                nd_svc_ports_drop(m, op->rec->id);
                if (r == -EEXIST)
                        nd_diag_set(&d, r, "service name '%s' is already in use in the cluster", op->rec->name);
                else
                        nd_diag_set(&d, r, "writing the service to the cluster store failed: %s", strerror(-r));
                nd_service_free(op->rec);
                return op->cb(op->userdata, r, NULL, &d);
        }
        /* our own record may have come back through the watch already */
        s = NULL;
        for (size_t i = 0; i < m->n_svcs && !s; i++)
                if (strcmp(m->svcs[i]->rec->id, op->rec->id) == 0)
                        s = m->svcs[i];
        vip_records(m, op->rec, true);
        if (s) {
                nd_service_free(op->rec);
        } else if (nd_svc_add(m, op->rec, &s) < 0) {
                nd_svc_ports_drop(m, op->rec->id);
                nd_service_free(op->rec);
                nd_diag_set(&d, -ENOMEM, "out of memory");
                return op->cb(op->userdata, -ENOMEM, NULL, &d);
        } else {
                s->global = true;
                s->committed = true;
                nd_svc_links(m, s, true);
        }
        s->dirty = true;
        nd_svc_cluster_lbs(m);
        nd_services_flush(m);
        nd_manager_event_service(m, "create", s->rec, true);
        op->cb(op->userdata, 0, nd_svc_view(m, s), NULL);
}

int nd_svc_cluster_create(nd_manager *m, nd_service *rec, nd_manager_svc_fn cb, void *userdata, nd_diag *d) {
        _cleanup_free_ char *value = NULL;
        struct cl_op *op;
        int r;

        free(rec->node);
        rec->node = strdup(nd_cluster_node_id(m->cluster));
        json_t *j = rec->node ? nd_service_to_json(rec) : NULL;
        value = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        op = calloc(1, sizeof(*op));
        if (!value || !op) {
                free(op);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        *op = (struct cl_op) { .m = m, .rec = rec, .cb = cb, .userdata = userdata };
        r = nd_cluster_service_create(m->cluster, rec->id, rec->name, value, on_cl_created, op);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "writing the service to the cluster store failed: %s", strerror(-r));
        }
        return 0;
}

/* Gone from the cluster: off this host; the VIPs back if they are ours. */
static void remove_here(nd_manager *m, struct nd_svc *s) {
        const char *me = nd_cluster_node_id(m->cluster);
        nd_svc_links(m, s, false);
        if (me && s->rec->node && strcmp(s->rec->node, me) == 0) {
                vip_records(m, s->rec, false);
                nd_vips_give_back(m, s->rec);
        }
        nd_manager_event_service(m, "remove", s->rec, true);
        nd_svc_unlink(m, s);
        nd_svc_free(m, s);
}

struct rm_op {
        nd_manager *m;
        char id[ND_ID_LEN + 1];
        nd_manager_svc_fn cb;
        void *userdata;
};

static void on_cl_removed(void *userdata, int r) {
        _cleanup_free_ struct rm_op *op = userdata;
        nd_manager *m = op->m;
        nd_diag d = {0};

        for (size_t i = 0; i < m->n_svcs; i++)
                if (strcmp(m->svcs[i]->rec->id, op->id) == 0) {
                        if (r < 0)
                                m->svcs[i]->removing = false;
                        else
                                remove_here(m, m->svcs[i]);
                        break;
                }
        nd_services_flush(m);
        if (r < 0) {
                nd_diag_set(&d, r, "removing the service from the cluster store failed: %s", strerror(-r));
                return op->cb(op->userdata, r, NULL, &d);
        }
        op->cb(op->userdata, 0, NULL, NULL);
}

int nd_svc_cluster_remove(nd_manager *m, struct nd_svc *s, nd_manager_svc_fn cb, void *userdata, nd_diag *d) {
        struct rm_op *op = calloc(1, sizeof(*op));
        int r;

        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *op = (struct rm_op) { .m = m, .cb = cb, .userdata = userdata };
        snprintf(op->id, sizeof(op->id), "%s", s->rec->id);
        r = nd_cluster_service_remove(m->cluster, s->rec->id, s->rec->name, on_cl_removed, op);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "removing the service from the cluster store failed: %s", strerror(-r));
        }
        s->removing = true;
        return 0;
}

/* ---- this host's SNAT address per overlay network ---- */

static struct nd_svc_lb *lb_find(nd_manager *m, const char *net_id) {
        for (size_t i = 0; i < m->n_svc_lbs; i++)
                if (strcmp(m->svc_lbs[i].net_id, net_id) == 0)
                        return &m->svc_lbs[i];
        return NULL;
}

void nd_svc_lb_owner_id(const char *net_id, char id[static ND_ID_LEN + 1]) {
        char text[sizeof(LB_OWNER_PREFIX) + ND_ID_LEN];
        snprintf(text, sizeof(text), LB_OWNER_PREFIX "%s", net_id);
        nd_id_derive(text, id);
}

bool nd_svc_cluster_lb(nd_manager *m, size_t i, const char **ret_net_id, nd_addr *ret_addr) {
        if (i >= m->n_svc_lbs)
                return false;
        *ret_net_id = m->svc_lbs[i].net_id;
        *ret_addr = m->svc_lbs[i].a;
        return true;
}

/* On the bridge, and published with the bridge's MAC. */
static void lb_up(nd_manager *m, const nd_network *n, const struct nd_svc_lb *lb) {
        char br[16], owner[ND_ID_LEN + 1];
        nd_endpoint ep = { .addr4 = lb->a };
        int ifindex;

        nd_bridge_name(n, br, sizeof(br));
        ifindex = nd_nl_link_ifindex(m->nl, br);
        if (ifindex < 0 || nd_nl_addr_add(m->nl, ifindex, &lb->a, 32) < 0 || nd_nl_link_mac(m->nl, br, ep.mac) < 0) {
                nd_log(LOG_WARNING, "putting this host's service address on the bridge failed", "bridge=%s", br);
                return;
        }
        snprintf(ep.net_id, sizeof(ep.net_id), "%s", n->id);
        nd_svc_lb_owner_id(n->id, owner);
        nd_cluster_publish_endpoint(m->cluster, owner, &ep, NULL, "", "");
}

static void lb_retry(void *userdata, int r, const nd_diag *d) {
        nd_manager *m = userdata;
        for (size_t i = 0; i < m->n_svc_lbs; i++)
                m->svc_lbs[i].waiting = false;
        nd_svc_cluster_lbs(m);
        nd_services_flush(m);
}

static void lb_take(nd_manager *m, nd_network *n) {
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        _cleanup_free_ char *val = NULL;
        struct nd_svc_lb *lb = lb_find(m, n->id);
        char owner[sizeof(LB_OWNER_PREFIX) + ND_ID_LEN], key[512], a[ND_ADDR_STRLEN];
        nd_endpoint ep = {0};
        nd_ep_spec es = { .net = n, .ep = &ep, .has_mac = true };
        nd_diag d = {0};
        int r;

        if (lb && (lb->a.family || lb->waiting))
                return;
        if (!lb) {
                if (ND_GROW(m->svc_lbs, m->n_svc_lbs, m->cap_svc_lbs, 1) < 0)
                        return;
                lb = &m->svc_lbs[m->n_svc_lbs++];
                *lb = (struct nd_svc_lb) {0};
                snprintf(lb->net_id, sizeof(lb->net_id), "%s", n->id);
        }
        r = nd_endpoint_attach(m, &es, ND_EP_RESERVE, &d);
        if (r == -EAGAIN) {
                lb->waiting = true;
                (void) nd_cluster_wait(m->cluster, lb_retry, m);
                return;
        }
        if (r < 0 || !ep.addr4.family) {
                nd_log(LOG_WARNING, "no address for this host's service traffic", "net=%s reason=\"%s\"",
                       n->spec.name, d.msg);
                return;
        }
        if (ep.addr6.family) {
                /* IPv4 only: the IPv6 address RESERVE took goes back */
                nd_endpoint v6 = { .addr6 = ep.addr6 };
                nd_endpoint_detach(m, &(nd_ep_spec) { .net = n, .ep = &v6 }, ND_EP_RESERVE);
        }
        lb->a = ep.addr4;
        snprintf(owner, sizeof(owner), LB_OWNER_PREFIX "%s", n->id);
        if (nd_store_txn_new(&t) < 0 || !(val = nd_endpoint_record_value(owner)))
                return;
        addr_key(n, &lb->a, key, sizeof(key));
        (void) nd_store_txn_put(t, key, val);
        snprintf(key, sizeof(key), ND_KEY_SERVICE_LBS "%s", n->id);
        (void) nd_store_txn_put(t, key, nd_addr_fmt(&lb->a, a));
        if (nd_store_txn_submit(TAKE_PTR(t), m->store, NULL, NULL) < 0)
                nd_log(LOG_ERR, "recording this host's service address failed", "net=%s", n->spec.name);
        nd_log(LOG_INFO, "service address for remote tasks", "net=%s addr=%s", n->spec.name, a);
        lb_up(m, n, lb);
}

void nd_svc_cluster_lbs(nd_manager *m) {
        if (!m->cluster || !m->svcs_ready)
                return;
        for (size_t i = 0; i < m->n_svcs; i++) {
                const struct nd_svc *s = m->svcs[i];
                if (!s->global || s->rec->mode != ND_SVC_VIP)
                        continue;
                for (size_t k = 0; k < s->rec->n_nets; k++) {
                        nd_network *n = nd_net_by_id(m, s->rec->nets[k].net);
                        if (n && nd_network_is_global(n))
                                lb_take(m, n);
                }
        }
}

struct lbs_load {
        nd_manager *m;
        void (*done)(nd_manager *m);
};

static void on_lbs_loaded(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        _cleanup_free_ struct lbs_load *op = userdata;
        nd_manager *m = op->m;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                const char *id = kvs[i].key + strlen(ND_KEY_SERVICE_LBS);
                _cleanup_free_ char *v = strndup(kvs[i].value, kvs[i].value_len);
                nd_network *net = nd_net_by_id(m, id);
                nd_addr a;
                if (!net || !v || nd_addr_parse(v, &a) < 0 || ND_GROW(m->svc_lbs, m->n_svc_lbs, m->cap_svc_lbs, 1) < 0)
                        continue;
                m->svc_lbs[m->n_svc_lbs++] = (struct nd_svc_lb) { .a = a };
                snprintf(m->svc_lbs[m->n_svc_lbs - 1].net_id, sizeof(m->svc_lbs[0].net_id), "%s", id);
                lb_up(m, net, &m->svc_lbs[m->n_svc_lbs - 1]);
        }
        op->done(m);
}

int nd_svc_lbs_load(nd_manager *m, void (*done)(nd_manager *m)) {
        struct lbs_load *op;
        int r;
        if (!m->cluster) {
                done(m);
                return 0;
        }
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (struct lbs_load) { .m = m, .done = done };
        r = nd_store_list(m->store, ND_KEY_SERVICE_LBS, on_lbs_loaded, op);
        if (r < 0)
                free(op);
        return r;
}

/* ---- the shared elements ---- */

static int addr_cmp(const void *a, const void *b) {
        return memcmp(a, b, sizeof(nd_addr));
}

void nd_svc_cluster_shared(nd_manager *m) {
        _cleanup_free_ nd_nft_elem *elems = NULL;
        _cleanup_free_ nd_addr *remote = NULL;
        size_t n_remote = 0, n_elems = 0;

        if (!m->cluster || !m->fw)
                return;
        if (!m->svc_shared_fw && !(m->svc_shared_fw = nd_fw_owner_new(m->fw, "service remote backends")))
                return;
        remote = calloc(m->n_tasks + 1, sizeof(*remote));
        elems = calloc(m->n_tasks + m->n_svc_lbs + 1, sizeof(*elems));
        if (!remote || !elems)
                return;
        for (size_t i = 0; i < m->n_tasks; i++)
                if (m->tasks[i].node[0] && m->tasks[i].addr4.family == AF_INET)
                        remote[n_remote++] = m->tasks[i].addr4;
        qsort(remote, n_remote, sizeof(*remote), addr_cmp);
        for (size_t i = 0; i < n_remote; i++)
                if (i == 0 || addr_cmp(&remote[i], &remote[i - 1]) != 0)
                        n_elems += nd_fw_remote_elem(&remote[i], elems + n_elems);
        for (size_t i = 0; i < m->n_svc_lbs; i++) {
                const nd_network *n = nd_net_by_id(m, m->svc_lbs[i].net_id);
                char br[16];
                if (!n || !m->svc_lbs[i].a.family)
                        continue;
                nd_bridge_name(n, br, sizeof(br));
                n_elems += nd_fw_snat_elem(br, &m->svc_lbs[i].a, elems + n_elems);
        }
        int r = nd_fw_owner_set(m->fw, m->svc_shared_fw, elems, n_elems);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "programming the services' remote backends failed");
}

void nd_svc_cluster_free(nd_manager *m) {
        free(m->svc_lbs);
        m->svc_lbs = NULL;
        m->n_svc_lbs = m->cap_svc_lbs = 0;
        m->svc_shared_fw = NULL; /* freed with the firewall; the elements stay */
}
