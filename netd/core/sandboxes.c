/* SPDX-License-Identifier: Apache-2.0 */
/*
 * External sandboxes: network namespaces that another runtime created
 * (Podman, containerd, CRI-O through the netd-cni plugin), wired by netd to
 * one of its networks.  Each is keyed by (container id, interface name), as
 * CNI keys its attachments, and gets what a netd container gets on that
 * network: a veth into the namespace, addresses from netd's IPAM (written
 * with the record in one transaction), the default route, its name and
 * aliases in the embedded DNS, and a resolver at 127.0.0.11 inside it
 * (with its redirect table, removed again at DEL).
 *
 * Each goes through the endpoint pipeline (endpoint.h): reserve, wire,
 * ports before its record is written; names and announce once it is.
 *
 * Records: /netd/v1/sandboxes/<container-id>/<ifname>; address records
 * are ordinary IPAM records owned by "cni:<container-id>/<ifname>".  At
 * start-up the records are read back: names registered again, resolvers
 * reopened where the namespace still exists.
 *
 * On an overlay network the addresses come from this host's address
 * blocks (a request waits for a block claim like a container's does) and
 * the endpoint is published to the cluster, so that peers reach it and
 * resolve its name.
 *
 * Published ports (CNI's portMappings capability, "Ports" in -p form) are
 * held and programmed like a netd container's (publish.c) for as long as
 * the attachment exists, and are part of its record.
 *
 * An attachment that names a service ("Service") is one of its tasks
 * while it exists, under its address owner "cni:<container-id>/<ifname>".
 * An ADD for a service that does not exist or is not on the network is
 * refused before anything is taken.  No health check runs in another
 * runtime's namespace: the task is a backend while it is attached
 * (health "none"), also when the service has a health command.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge.h"
#include "cluster.h"
#include "diag.h"
#include "endpoint.h"
#include "firewall.h"
#include "grow.h"
#include "json-util.h"
#include "link-reaper.h"
#include "log.h"
#include "mac.h"
#include "manager-internal.h"
#include "netns.h"
#include "network.h"
#include "nft-dns.h"
#include "nl-link.h"
#include "ns-visit.h"
#include "ports.h"
#include "server.h"
#include "service.h"
#include "services.h"
#include "store.h"
#include "subnet.h"
#include "txn.h"

#include "sandbox-internal.h"

static void sbx_key(const nd_sbx *s, char *buf, size_t size) {
        snprintf(buf, size, ND_KEY_SANDBOXES "%s/%s", s->cid, s->ep.ifname);
}

static void owner_of(const nd_sbx *s, char *buf, size_t size) {
        snprintf(buf, size, "cni:%s/%s", s->cid, s->ep.ifname);
}

static void what_of(const nd_sbx *s, char *buf, size_t size);

/* The pipeline's view of @s (endpoint.h): DNS names under its record key,
 * announced to the cluster under an id derived from its owner. */
struct sbx_spec {
        nd_ep_spec sp;
        char key[512], owner[256], owner_id[ND_ID_LEN + 1], what[ND_NAME_MAX + 64];
        const char *names[1];
};

static void spec_of(nd_sbx *s, nd_network *n, struct sbx_spec *b) {
        sbx_key(s, b->key, sizeof(b->key));
        owner_of(s, b->owner, sizeof(b->owner));
        nd_id_derive(b->owner, b->owner_id);
        what_of(s, b->what, sizeof(b->what));
        b->names[0] = s->name;
        b->sp = (nd_ep_spec) { .kind = ND_EP_CNI, .net = n, .ep = &s->ep, .has_mac = true, .netns = s->netns,
                               .default_route = !n->spec.internal, .new_ifname = true, .dns_key = b->key,
                               .names = b->names, .n_names = 1, .cluster_owner = b->owner_id, .name = s->name,
                               .hostname = s->name, .service = s->service, .pub = &s->pub, .what = b->what };
}

/* Stages of @s undone (its network may be gone: then nothing). */
static void sbx_undo(nd_manager *m, nd_sbx *s, unsigned stages) {
        struct sbx_spec b;
        nd_network *n = NULL;
        if (nd_manager_network_find(m, s->ep.net_id, &n) < 0)
                return;
        spec_of(s, n, &b);
        nd_endpoint_detach(m, &b.sp, stages);
}

static const nd_port_owner_ops sandbox_ports;

bool nd_sandbox_dns_follows(const nd_sbx *s, const nd_network *n) {
        return s->committed && !s->dns_own && strcmp(s->ep.net_id, n->id) == 0;
}

const char *nd_sandbox_netns(const nd_sbx *s) {
        return s->netns;
}

/* ---- the table ---- */

static int sbxs_add(nd_manager *m, nd_sbx *s) {
        if (ND_GROW(m->sbxs, m->n_sbxs, m->cap_sbxs, 1) < 0)
                return -ENOMEM;
        m->sbxs[m->n_sbxs++] = s;
        return 0;
}

static void sbxs_drop(nd_manager *m, nd_sbx *s) {
        for (size_t i = 0; i < m->n_sbxs; i++)
                if (m->sbxs[i] == s) {
                        m->sbxs[i] = m->sbxs[--m->n_sbxs];
                        break;
                }
        nd_dns_sandbox_close(s->dns_sb);
        nd_publish_release(m, &s->pub);
        nd_fw_port_clear(m->fw, s->ep.host_ifname);
        free(s);
}

/* The port takes only the sandbox's MAC and addresses (firewall.h). */
static int guard(nd_manager *m, const nd_sbx *s) {
        nd_network *n = NULL;
        (void) nd_manager_network_find(m, s->ep.net_id, &n);
        return nd_fw_port_set(m->fw, s->ep.host_ifname, s->ep.mac, &s->ep.addr4, &s->ep.addr6,
                              n && !nd_network_icc(n));
}

int nd_manager_sandbox_find(nd_manager *m, const char *cid, const char *ifname, nd_sbx **ret) {
        for (size_t i = 0; i < m->n_sbxs; i++)
                if (m->sbxs[i]->committed && strcmp(m->sbxs[i]->cid, cid) == 0 &&
                    strcmp(m->sbxs[i]->ep.ifname, ifname) == 0) {
                        *ret = m->sbxs[i];
                        return 0;
                }
        return -ENOENT;
}

size_t nd_manager_sandboxes(nd_manager *m, nd_sbx ***ret) {
        *ret = m->sbxs;
        return m->n_sbxs;
}

/* ---- DNS: names and the resolver in the namespace ---- */

/* Its names and cluster record (pipeline), and a resolver in its
 * namespace (the resolver is the sandbox's, as resolver.c's is a
 * container's). */
static void dns_up(nd_manager *m, nd_sbx *s) {
        struct sbx_spec b;
        nd_network *n = NULL;
        if (nd_manager_network_find(m, s->ep.net_id, &n) < 0)
                return;
        spec_of(s, n, &b);
        (void) nd_endpoint_attach(m, &b.sp, ND_EP_NAMES | ND_EP_ANNOUNCE, NULL);
        if (!m->dns)
                return;
        if (!s->dns_sb) {
                int fd = nd_netns_open(s->netns);
                if (fd < 0)
                        return;
                /* the resolver listens on loopback: runtimes bring it up
                 * anyway, but maybe after us */
                struct nl_sock *ns_sk = NULL;
                if (nd_netns_nl_socket(fd, &ns_sk) == 0) {
                        (void) nd_nl_link_up(ns_sk, "lo");
                        nl_socket_free(ns_sk);
                }
                int r = nd_resolver_open(m, fd, &s->dns_sb);
                close(fd);
                if (r < 0) {
                        nd_log_errno(LOG_WARNING, r, "no DNS resolver in the sandbox", "cid=%.32s netns=%s", s->cid,
                                     s->netns);
                        return;
                }
        }
        const char *nets[1] = { s->ep.net_name };
        nd_dns_sandbox_configure(s->dns_sb, nets, 1, !n->spec.internal, s->dns, s->n_dns, nd_resolver_ttl(m, n));
}

void nd_sandbox_dns_set(nd_manager *m, nd_sbx *s, const nd_addr *a, size_t n) {
        nd_network *net = NULL;
        memcpy(s->dns, a, n * sizeof(*a));
        s->n_dns = n;
        if (s->dns_sb && nd_manager_network_find(m, s->ep.net_id, &net) == 0) {
                const char *nets[1] = { s->ep.net_name };
                nd_dns_sandbox_configure(s->dns_sb, nets, 1, !net->spec.internal, s->dns, s->n_dns,
                                         nd_resolver_ttl(m, net));
        }
}

static void on_redirect_removed(void *userdata, nd_visit *v) {
        int r = v->r < 0 ? v->r : v->dns_r;
        /* a namespace already gone took its table with it */
        if (r < 0 && r != -ENOENT && r != -ECANCELED)
                nd_log_errno(LOG_WARNING, r, "removing the DNS redirect failed, ignoring", "netns=%s", v->netns);
        nd_visit_free(v);
}

/* Its redirect table out of a namespace the runtime keeps, off the loop.
 * Nothing waits for it: the worker takes visits in order, so a later ADD
 * into the namespace makes its table after this one is gone. */
static void redirect_remove(nd_manager *m, const nd_sbx *s) {
        nd_visit *v = nd_visit_new(m, s->netns, 0);
        if (!v) {
                nd_log(LOG_WARNING, "removing the DNS redirect failed: out of memory", "netns=%s", s->netns);
                return;
        }
        v->dns_remove = true;
        nd_visit_submit(v, on_redirect_removed, NULL);
}

/* Names, cluster record and (@stages) more undone; its resolver closed,
 * and its redirect gone from a namespace the runtime keeps. */
static void dns_down(nd_manager *m, nd_sbx *s, unsigned stages) {
        sbx_undo(m, s, ND_EP_NAMES | ND_EP_ANNOUNCE | stages);
        if (s->dns_sb)
                redirect_remove(m, s);
        nd_dns_sandbox_close(s->dns_sb);
        s->dns_sb = NULL;
}

/* ---- a task of its service ---- */

/* The service's backends and names include it (ADD, start-up).  The
 * service was checked at ADD; at start-up it may be gone, or no longer on
 * the network: then the attachment stays, as a plain one. */
static void task_up(nd_manager *m, const nd_sbx *s) {
        char owner[256], what[ND_NAME_MAX + 64], name[ND_NAME_MAX + 1];
        const char *net = s->ep.net_id;
        nd_diag d = {0};
        int r;

        if (!s->service[0])
                return;
        what_of(s, what, sizeof(what));
        if (nd_services_task_check(m, s->service, &net, 1, what, &d) < 0) {
                nd_log(LOG_WARNING, "the sandbox is not a task of its service", "cid=%.32s ifname=%s reason=\"%s\"",
                       s->cid, s->ep.ifname, d.msg);
                return;
        }
        owner_of(s, owner, sizeof(owner));
        snprintf(name, sizeof(name), "%.12s", s->cid);
        /* no health check runs in another runtime's namespace: a backend
         * while attached (docs/cni.md) */
        r = nd_services_task_set(m, owner, s->service, s->ep.net_id, &s->ep.addr4, s->name[0] ? s->name : name,
                                 NULL, ND_TASK_NONE);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "making the sandbox a task of its service failed", "cid=%.32s service=%s",
                             s->cid, s->service);
        nd_services_flush(m);
}

static void task_down(nd_manager *m, const nd_sbx *s) {
        char owner[256];
        if (!s->service[0])
                return;
        owner_of(s, owner, sizeof(owner));
        nd_services_task_drop(m, owner);
        nd_services_flush(m);
}

/* ---- add ---- */

struct sbx_op {
        nd_manager *m;
        nd_sbx *s;
        nd_manager_sbx_fn cb;
        void *userdata;
        uint32_t seed; /* of its host-side name */
};

/* An ADD that failed after it took its place in the table: what it did
 * undone (@stages), the answer, then it goes. */
static void add_fail(struct sbx_op *op, unsigned stages, int r, const nd_diag *d) {
        sbx_undo(op->m, op->s, stages);
        if (op->s->dns_sb)
                redirect_remove(op->m, op->s);
        op->cb(op->userdata, r, NULL, d);
        sbxs_drop(op->m, op->s);
        free(op);
}

static void on_added(void *userdata, int r, int64_t rev) {
        struct sbx_op *op = userdata;
        nd_manager *m = op->m;
        nd_sbx *s = op->s;
        nd_diag d = {0};
        if (r < 0) {
                nd_diag_set(&d, r == -ECANCELED ? -EEXIST : r, "sandbox %.32s/%s: %s", s->cid, s->ep.ifname,
                            r == -ECANCELED ? "already attached (store)" : strerror(-r));
                add_fail(op, ND_EP_PORTS | ND_EP_WIRE | ND_EP_RESERVE, r == -ECANCELED ? -EEXIST : r, &d);
                return;
        } else {
                char a[ND_ADDR_STRLEN];
                s->committed = true;
                dns_up(m, s);
                task_up(m, s);
                nd_log(LOG_INFO, "sandbox attached", "cid=%.32s ifname=%s net=%s addr=%s netns=%s service=%s",
                       s->cid, s->ep.ifname, s->ep.net_name, s->ep.addr4.family ? nd_addr_fmt(&s->ep.addr4, a) : "-",
                       s->netns, s->service[0] ? s->service : "-");
                nd_manager_event_endpoint(m, "connect", ND_EP_CNI, s->cid, s->name, &s->ep);
                op->cb(op->userdata, 0, s, NULL);
        }
        free(op);
}

static uint32_t fnv(const char *a, const char *b, uint32_t seed) {
        uint32_t h = 2166136261u ^ seed;
        for (const char *p = a; *p; p++)
                h = (h ^ (uint8_t) *p) * 16777619u;
        h = (h ^ '/') * 16777619u;
        for (const char *p = b; *p; p++)
                h = (h ^ (uint8_t) *p) * 16777619u;
        return h;
}

/* A host-side name of its own: vnc + a hash of the key and *@seed (the
 * first not in the table from there, at most seed 8; a link of someone
 * else's is found by the visit, which then asks for the next). */
static bool host_name_pick(nd_manager *m, nd_sbx *s, uint32_t *seed) {
        for (; *seed <= 8; (*seed)++) {
                bool used = false;
                snprintf(s->ep.host_ifname, sizeof(s->ep.host_ifname), "vnc%08x", fnv(s->cid, s->ep.ifname, *seed));
                for (size_t i = 0; i < m->n_sbxs && !used; i++)
                        used = m->sbxs[i] != s && strcmp(m->sbxs[i]->ep.host_ifname, s->ep.host_ifname) == 0;
                if (!used)
                        return true;
        }
        return false;
}

/* The record, its address records with it.  The answer waits for this
 * write to be durable (one fdatasync, about 0.3 ms, on the store's
 * writer): a runtime told that ADD succeeded never calls it again, and
 * after a crash an unrecorded pair's addresses could go to another pod. */
static void record_write(struct sbx_op *op) {
        nd_manager *m = op->m;
        nd_sbx *s = op->s;
        nd_network *n = NULL;
        nd_store_txn_builder *t = NULL;
        struct sbx_spec b;
        nd_diag d = {0};
        int r = nd_manager_network_find(m, s->ep.net_id, &n);
        if (r < 0) {
                nd_diag_set(&d, -ENOENT, "network '%.64s' not found", s->ep.net_name);
                return add_fail(op, ND_EP_PORTS | ND_EP_WIRE | ND_EP_RESERVE, -ENOENT, &d);
        }
        spec_of(s, n, &b);
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_cmp_absent(t, b.key);
        (void) nd_store_txn_put_json_new(t, b.key, nd_sandbox_to_json(s));
        _cleanup_free_ char *rec = nd_endpoint_record_value(b.owner);
        if (rec)
                addr_records(t, n, &s->ep.addr4, &s->ep.addr6, rec);
        r = nd_store_txn_error(t);
        if (r == 0)
                r = nd_store_txn_submit(TAKE_PTR(t), m->store, on_added, op);
        nd_store_txn_free(t);
        if (r < 0) {
                nd_diag_set(&d, r, "store: %s", strerror(-r));
                add_fail(op, ND_EP_PORTS | ND_EP_WIRE | ND_EP_RESERVE, r, &d);
        }
}

static void visit_start(struct sbx_op *op);

static void on_visited(void *userdata, nd_visit *v) {
        struct sbx_op *op = userdata;
        nd_sbx *s = op->s;
        const nd_visit_ep *w = &v->eps[0];
        nd_diag d = {0};
        int r = v->r;

        if (r == -ECANCELED) {
                /* netd is stopping: s goes with the table */
                nd_visit_free(v);
                free(op);
                return;
        }
        if (r == -EEXIST && w->host_taken) {
                /* its host-side name is someone else's link: the next */
                nd_visit_free(v);
                op->seed++;
                if (host_name_pick(op->m, s, &op->seed))
                        return visit_start(op);
                nd_diag_set(&d, -EEXIST, "no free host interface name");
                return add_fail(op, ND_EP_PORTS | ND_EP_RESERVE, -EEXIST, &d);
        }
        if (r < 0) {
                nd_diag_set(&d, r, "wiring %s in %.128s failed: %s", s->ep.ifname, s->netns,
                            w->ns_taken ? "the namespace already has an interface of that name" : strerror(-r));
                nd_visit_free(v);
                return add_fail(op, ND_EP_PORTS | ND_EP_RESERVE, r, &d);
        }
        s->dns_sb = nd_visit_dns_take(v);
        if (v->dns && !s->dns_sb)
                nd_log_errno(LOG_WARNING, v->dns_r, "no DNS resolver in the sandbox", "cid=%.32s netns=%s", s->cid,
                             s->netns);
        nd_visit_free(v);
        record_write(op);
}

/* The veth into its namespace, lo up and its resolver's listeners and
 * redirect: one visit, off the loop (ns-visit.h). */
static void visit_start(struct sbx_op *op) {
        nd_manager *m = op->m;
        nd_sbx *s = op->s;
        nd_network *n = NULL;
        nd_visit *v = NULL;
        nd_diag d = {0};
        if (nd_manager_network_find(m, s->ep.net_id, &n) < 0) {
                nd_diag_set(&d, -ENOENT, "network '%.64s' not found", s->ep.net_name);
                return add_fail(op, ND_EP_PORTS | ND_EP_RESERVE, -ENOENT, &d);
        }
        v = nd_visit_new(m, s->netns, 1);
        if (!v || nd_visit_ep_set(v, 0, n, &s->ep, !n->spec.internal, true) < 0) {
                nd_visit_free(v);
                nd_diag_set(&d, -ENOMEM, "out of memory");
                return add_fail(op, ND_EP_PORTS | ND_EP_RESERVE, -ENOMEM, &d);
        }
        v->kind = ND_EP_CNI;
        v->lo_up = true; /* the resolver listens there: runtimes bring it up anyway, but maybe after us */
        v->dns = m->dns != NULL;
        nd_visit_submit(v, on_visited, op);
}

static int sandbox_add_once(nd_manager *m, const json_t *req, nd_manager_sbx_fn cb, void *userdata, nd_diag *d) {
        static const char *const keys[] = { "ContainerID", "IfName", "Netns", "Network", "Name", "Aliases",
                                             "IPv4Address", "IPv6Address", "MacAddress", "Ports", "Service",
                                             "DnsServers", "DnsServersOwn", NULL };
        _cleanup_free_ nd_port_spec *specs = NULL;
        size_t n_specs = 0;
        const char *cid = NULL, *ifn = NULL, *ns = NULL, *net = NULL, *name = NULL, *ip4 = NULL, *ip6 = NULL,
                   *mac = NULL, *svc = NULL;
        nd_network *n = NULL;
        nd_sbx *have;
        struct stat st;
        int r;

        if ((r = nd_json_only_keys(req, keys, "sandbox", d)) < 0 ||
            (r = nd_json_string(req, "ContainerID", "sandbox", &cid, d)) < 0 ||
            (r = nd_json_string(req, "IfName", "sandbox", &ifn, d)) < 0 ||
            (r = nd_json_string(req, "Netns", "sandbox", &ns, d)) < 0 ||
            (r = nd_json_string(req, "Network", "sandbox", &net, d)) < 0 ||
            (r = nd_json_string(req, "Name", "sandbox", &name, d)) < 0 ||
            (r = nd_json_string(req, "IPv4Address", "sandbox", &ip4, d)) < 0 ||
            (r = nd_json_string(req, "IPv6Address", "sandbox", &ip6, d)) < 0 ||
            (r = nd_json_string(req, "MacAddress", "sandbox", &mac, d)) < 0 ||
            (r = nd_json_string(req, "Service", "sandbox", &svc, d)) < 0)
                return r;
        if (!nd_sbx_cid_valid(cid))
                return nd_diag_set(d, -EINVAL, "ContainerID: 1-%d characters of [A-Za-z0-9_.-] required", CID_MAX);
        if (!nd_sbx_ifname_valid(ifn))
                return nd_diag_set(d, -EINVAL, "IfName: an interface name of 1-15 characters required");
        if (!ns || !*ns || strlen(ns) >= PATH_MAX || stat(ns, &st) < 0)
                return nd_diag_set(d, -ENOENT, "Netns: '%.128s' does not exist", ns ? ns : "");
        if (name && *name && nd_name_valid(name) < 0)
                return nd_diag_set(d, -EINVAL, "invalid name '%.64s'", name);
        if (!net || nd_manager_network_find(m, net, &n) < 0)
                return nd_diag_set(d, -ENOENT, "network '%.64s' not found", net ? net : "");
        if (svc && *svc) {
                /* checked before anything is taken: a refused ADD leaves
                 * nothing behind */
                char what[ND_NAME_MAX + 64];
                const char *id = n->id;
                if (!nd_service_name_valid(svc))
                        return nd_diag_set(d, -EINVAL, "service name '%.64s' is not a valid DNS label", svc);
                if (name && *name)
                        snprintf(what, sizeof(what), "pod '%s'", name);
                else
                        snprintf(what, sizeof(what), "CNI container %.12s", cid);
                if ((r = nd_services_task_check(m, svc, &id, 1, what, d)) < 0)
                        return r;
        }
        json_t *pj = json_object_get(req, "Ports"), *pv;
        size_t pi;
        if (pj && !json_is_null(pj) && !json_is_array(pj))
                return nd_diag_set(d, -EINVAL, "Ports must be an array of -p strings ([HOSTIP:]HOSTPORT:PORT[/PROTO])");
        json_array_foreach(pj, pi, pv) {
                if (!json_is_string(pv))
                        return nd_diag_set(d, -EINVAL, "Ports must be an array of -p strings");
                if ((r = nd_port_spec_parse(json_string_value(pv), &specs, &n_specs, d)) < 0)
                        return r;
        }
        if (n_specs && n->spec.internal)
                return nd_diag_set(d, -EINVAL, "network '%s' is internal: no ports can be published on it",
                                   n->spec.name);
        for (size_t i = 0; i < m->n_sbxs; i++)
                if (strcmp(m->sbxs[i]->cid, cid) == 0 && strcmp(m->sbxs[i]->ep.ifname, ifn) == 0)
                        return nd_diag_set(d, -EEXIST, "container %.32s already has interface %s from netd", cid, ifn);

        have = calloc(1, sizeof(*have) + strlen(ns) + 1);
        struct sbx_op *op = calloc(1, sizeof(*op));
        if (!have || !op) {
                free(have);
                free(op);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        nd_sbx *s = have;
        nd_endpoint *e = &s->ep;
        snprintf(s->cid, sizeof(s->cid), "%s", cid);
        strcpy(s->netns, ns);
        snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
        snprintf(s->service, sizeof(s->service), "%s", svc ? svc : "");
        snprintf(e->ifname, sizeof(e->ifname), "%s", ifn);
        snprintf(e->net_id, sizeof(e->net_id), "%s", n->id);
        snprintf(e->net_name, sizeof(e->net_name), "%s", n->spec.name);
        json_t *al = json_object_get(req, "Aliases"), *v;
        size_t i;
        if (al && !json_is_null(al) && (!json_is_array(al) || json_array_size(al) > ND_MAX_ALIASES)) {
                r = nd_diag_set(d, -EINVAL, "Aliases must be an array of at most %d names", ND_MAX_ALIASES);
                goto fail;
        }
        json_array_foreach(al, i, v) {
                if (!json_is_string(v) || nd_name_valid(json_string_value(v)) < 0) {
                        r = nd_diag_set(d, -EINVAL, "invalid alias");
                        goto fail;
                }
                snprintf(e->aliases[e->n_aliases++], sizeof(e->aliases[0]), "%s", json_string_value(v));
        }
        if (!host_name_pick(m, s, &op->seed)) {
                r = nd_diag_set(d, -EEXIST, "no free host interface name");
                goto fail;
        }
        nd_addr w4, w6;
        if (ip4 && *ip4 && (nd_addr_parse(ip4, &w4) < 0 || w4.family != AF_INET)) {
                r = nd_diag_set(d, -EINVAL, "invalid IPv4 address '%.64s'", ip4);
                goto fail;
        }
        if (ip6 && *ip6 && (nd_addr_parse(ip6, &w6) < 0 || w6.family != AF_INET6)) {
                r = nd_diag_set(d, -EINVAL, "invalid IPv6 address '%.64s'", ip6);
                goto fail;
        }
        if ((r = nd_sandbox_dns_parse(json_object_get(req, "DnsServers"), s->dns, &s->n_dns, d)) < 0)
                goto fail;
        s->dns_own = json_is_true(json_object_get(req, "DnsServersOwn"));
        bool has_mac = mac && *mac;
        if (has_mac) {
                unsigned b[6];
                char tail;
                if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
                    (b[0] & 1)) {
                        r = nd_diag_set(d, -EINVAL, "invalid MAC address '%.32s'", mac);
                        goto fail;
                }
                for (int k = 0; k < 6; k++)
                        e->mac[k] = (uint8_t) b[k];
        }

        /* reserve and ports here; wire off the loop (ns-visit.h), the
         * record after it (all undone if one fails); names and announce
         * once it is written */
        struct sbx_spec b;
        spec_of(s, n, &b);
        b.sp.want4 = ip4 && *ip4 ? &w4 : NULL;
        b.sp.want6 = ip6 && *ip6 ? &w6 : NULL;
        b.sp.has_mac = has_mac;
        b.sp.ports = specs;
        b.sp.n_ports = n_specs;
        b.sp.hold = false;
        r = nd_endpoint_attach(m, &b.sp, ND_EP_RESERVE | ND_EP_PORTS, d);
        if (r < 0)
                goto fail;
        /* in the table, uncommitted, while it is wired: a second ADD of
         * the key is refused, a DEL finds nothing yet */
        r = sbxs_add(m, s);
        if (r < 0) {
                nd_endpoint_detach(m, &b.sp, ND_EP_RESERVE | ND_EP_PORTS);
                r = nd_diag_set(d, r, "out of memory");
                goto fail;
        }
        *op = (struct sbx_op) { .m = m, .s = s, .cb = cb, .userdata = userdata, .seed = op->seed };
        visit_start(op);
        return 0;
fail:
        free(s);
        free(op);
        return r;
}

/* An ADD on an overlay network that waits for an address block claim,
 * as a container's run does (at most 8 claims: only extreme contention
 * between hosts takes blocks as fast as we claim them). */
struct sbx_retry {
        nd_manager *m;
        json_t *req;
        nd_manager_sbx_fn cb;
        void *userdata;
        int tries;
        struct sbx_retry *next;
};

static void on_block_claimed(void *userdata, int r, const nd_diag *d) {
        struct sbx_retry *t = userdata;
        nd_diag dd = {0};
        if (r == 0) {
                r = sandbox_add_once(t->m, t->req, t->cb, t->userdata, &dd);
                if (r == -EAGAIN && ++t->tries < 8 && nd_cluster_wait(t->m->cluster, on_block_claimed, t) == 0)
                        return;
                if (r == -EAGAIN)
                        r = nd_diag_set(&dd, -ENOSPC, "no address block could be claimed for the sandbox");
        } else if (d)
                dd = *d;
        if (r < 0)
                t->cb(t->userdata, r, NULL, &dd);
        json_decref(t->req);
        free(t);
}

/* A sandbox whose veth is still going (DEL answered before the kernel's
 * grace period) and whose interface name the request would take: the
 * same attachment, or the same name in the same namespace.  NULL: none. */
static nd_sbx *going_of(nd_manager *m, const json_t *req) {
        const char *cid = json_string_value(json_object_get(req, "ContainerID"));
        const char *ifn = json_string_value(json_object_get(req, "IfName"));
        const char *ns = json_string_value(json_object_get(req, "Netns"));
        for (size_t i = 0; ifn && i < m->n_sbxs; i++) {
                const nd_sbx *s = m->sbxs[i];
                if (s->going && strcmp(s->ep.ifname, ifn) == 0 &&
                    ((cid && strcmp(s->cid, cid) == 0) || (ns && strcmp(s->netns, ns) == 0)))
                        return m->sbxs[i];
        }
        return NULL;
}

uint64_t nd_manager_sandboxes_going_addrs(nd_manager *m, const char *net_id) {
        uint64_t k = 0;
        for (size_t i = 0; i < m->n_sbxs; i++) {
                const nd_sbx *s = m->sbxs[i];
                if (s->going && strcmp(s->ep.net_id, net_id) == 0)
                        k += (s->ep.addr4.family != 0) + (s->ep.addr6.family != 0);
        }
        return k;
}

int nd_manager_sandbox_add(nd_manager *m, const json_t *req, nd_manager_sbx_fn cb, void *userdata, nd_diag *d) {
        nd_sbx *prev = going_of(m, req);
        int r = prev ? -EAGAIN : sandbox_add_once(m, req, cb, userdata, d);
        if (r != -EAGAIN)
                return r;
        struct sbx_retry *t = calloc(1, sizeof(*t));
        if (!t)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *t = (struct sbx_retry) { .m = m, .req = json_deep_copy(req), .cb = cb, .userdata = userdata };
        if (t->req && prev) {
                /* its interface name is still taken in the namespace: the
                 * ADD runs once the old pair is gone */
                t->next = prev->waiters;
                prev->waiters = t;
                return 0;
        }
        if (!t->req || nd_cluster_wait(m->cluster, on_block_claimed, t) < 0) {
                json_decref(t->req);
                free(t);
                return nd_diag_set(d, -ENOMEM, "cannot wait for an address block");
        }
        return 0;
}

/* ---- delete ---- */

/* The veth is gone (off the loop, link-reaper.h): its addresses go back
 * (no new endpoint meets the old one on the bridge), and ADDs of the same
 * key that came meanwhile run. */
static void on_sbx_reaped(void *userdata, int r) {
        struct sbx_op *op = userdata;
        nd_manager *m = op->m;
        nd_sbx *s = op->s;
        if (r == -ECANCELED) {
                free(op); /* netd is stopping; s goes with the table */
                return;
        }
        if (r < 0 && r != -ENODEV)
                nd_log_errno(LOG_WARNING, r, "removing the sandbox's veth failed", "cid=%.32s", s->cid);
        sbx_undo(m, s, ND_EP_RESERVE);
        nd_log(LOG_INFO, "sandbox detached", "cid=%.32s ifname=%s net=%s", s->cid, s->ep.ifname, s->ep.net_name);
        struct sbx_retry *w = s->waiters;
        s->waiters = NULL;
        sbxs_drop(m, s);
        free(op);
        while (w) {
                struct sbx_retry *next = w->next;
                nd_diag d = {0};
                int q = nd_manager_sandbox_add(m, w->req, w->cb, w->userdata, &d);
                if (q < 0)
                        w->cb(w->userdata, q, NULL, &d);
                json_decref(w->req);
                free(w);
                w = next;
        }
}

static void on_deleted(void *userdata, int r, int64_t rev) {
        struct sbx_op *op = userdata;
        nd_manager *m = op->m;
        nd_sbx *s = op->s;
        nd_diag d = {0};
        if (r < 0) {
                s->committed = true;
                nd_diag_set(&d, r, "sandbox %.32s/%s: store: %s", s->cid, s->ep.ifname, strerror(-r));
                op->cb(op->userdata, r, s, &d);
                free(op);
                return;
        }
        /* no longer a backend when DEL answers: the runtime tears the
         * namespace down next */
        task_down(m, s);
        dns_down(m, s, ND_EP_PORTS);
        nd_manager_event_endpoint(m, "disconnect", ND_EP_CNI, s->cid, s->name, &s->ep);
        /* the answer does not wait for the kernel's grace period: the
         * record, names and ports are gone; an ADD of the same key waits
         * for the pair (nd_manager_sandbox_add) */
        s->going = true;
        op->cb(op->userdata, 0, NULL, NULL);
        nd_endpoint_unwire_async(m, ND_EP_CNI, &s->ep, on_sbx_reaped, op);
}

int nd_manager_sandbox_del(nd_manager *m, nd_sbx *s, nd_manager_sbx_fn cb, void *userdata, nd_diag *d) {
        char key[512];
        nd_network *n = NULL;
        nd_store_txn_builder *t = NULL;
        struct sbx_op *op = calloc(1, sizeof(*op));
        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *op = (struct sbx_op) { .m = m, .s = s, .cb = cb, .userdata = userdata };
        sbx_key(s, key, sizeof(key));
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_del(t, key);
        if (nd_manager_network_find(m, s->ep.net_id, &n) == 0)
                addr_records(t, n, &s->ep.addr4, &s->ep.addr6, NULL);
        int r = nd_store_txn_submit(t, m->store, on_deleted, op);
        if (r < 0) {
                free(op);
                return r == -ENOMEM ? nd_diag_set(d, r, "out of memory") : nd_diag_set(d, r, "store: %s", strerror(-r));
        }
        s->committed = false; /* hidden while it goes */
        return 0;
}

/* ---- check ---- */

int nd_manager_sandbox_check(nd_manager *m, const nd_sbx *s, nd_diag *d) {
        struct nl_sock *ns_sk = NULL;
        int r = nd_netns_nl_open(s->netns, NULL, &ns_sk);
        if (r == -ENOENT)
                return nd_diag_set(d, -ENOENT, "the namespace %.128s is gone", s->netns);
        if (r < 0)
                return nd_diag_set(d, r, "cannot enter %.128s: %s", s->netns, strerror(-r));
        r = nd_nl_link_ifindex(ns_sk, s->ep.ifname);
        nl_socket_free(ns_sk);
        if (r < 0)
                return nd_diag_set(d, -ENOENT, "interface %s is missing in %.128s", s->ep.ifname, s->netns);
        if (nd_nl_link_ifindex(m->nl, s->ep.host_ifname) < 0)
                return nd_diag_set(d, -ENOENT, "the host side %s of %s is missing", s->ep.host_ifname, s->ep.ifname);
        return 0;
}

/* ---- start-up and shutdown ---- */

static void on_sbxs_loaded(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_manager *m = userdata;
        size_t loaded = 0;
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "loading external sandboxes failed");
        for (size_t i = 0; r == 0 && i < n; i++) {
                json_error_t err;
                _cleanup_json_ json_t *j = json_loadb(kvs[i].value, kvs[i].value_len, 0, &err);
                nd_sbx *s = NULL;
                nd_network *net = NULL;
                if (!j || nd_sbx_from_json(j, &s) < 0 || nd_manager_network_find(m, s->ep.net_id, &net) < 0 ||
                    sbxs_add(m, s) < 0) {
                        nd_log(LOG_WARNING, "skipping an unreadable sandbox record", "key=%s", kvs[i].key);
                        free(s);
                        continue;
                }
                s->committed = true;
                r = guard(m, s);
                if (r < 0) {
                        nd_log_errno(LOG_ERR, r, "guarding the sandbox's port failed", "cid=%.32s if=%s", s->cid,
                                     s->ep.host_ifname);
                        r = 0;
                }
                dns_up(m, s);
                task_up(m, s);
                loaded++;
        }
        nd_log(LOG_INFO, "external sandboxes loaded", "count=%zu", loaded);
        void (*done)(nd_manager *) = m->sbx_done;
        m->sbx_done = NULL;
        done(m);
}

int nd_manager_sandboxes_load(nd_manager *m, void (*done)(nd_manager *m)) {
        int r = nd_publish_owner_add(m, &sandbox_ports, m);
        if (r < 0)
                return r;
        m->sbx_done = done;
        return nd_store_list(m->store, ND_KEY_SANDBOXES, on_sbxs_loaded, m);
}

void nd_manager_sandboxes_free(nd_manager *m) {
        /* the namespaces and veths stay: the runtime owns them */
        for (size_t i = 0; i < m->n_sbxs; i++) {
                nd_dns_sandbox_close(m->sbxs[i]->dns_sb);
                nd_published_done(&m->sbxs[i]->pub);
                /* ADDs still waiting for a pair: their requests are gone */
                for (struct sbx_retry *w = m->sbxs[i]->waiters, *next; w; w = next) {
                        next = w->next;
                        json_decref(w->req);
                        free(w);
                }
                free(m->sbxs[i]);
        }
        free(m->sbxs);
        m->sbxs = NULL;
        m->n_sbxs = 0;
}

/* ---- published ports ---- */

static void what_of(const nd_sbx *s, char *buf, size_t size) {
        if (s->name[0])
                snprintf(buf, size, "pod '%s'", s->name);
        else
                snprintf(buf, size, "CNI container %.12s", s->cid);
}

static const char *sandbox_port_holder(void *userdata, const nd_published *self, const nd_port_binding *b,
                                       char *buf, size_t size) {
        nd_manager *m = userdata;
        for (size_t i = 0; i < m->n_sbxs; i++) {
                const nd_sbx *s = m->sbxs[i];
                if (&s->pub != self && nd_published_clash(&s->pub, b)) {
                        what_of(s, buf, size);
                        return buf;
                }
        }
        return NULL;
}

static void sandboxes_ports_restore(void *userdata) {
        nd_manager *m = userdata;
        char what[ND_NAME_MAX + 64];
        for (size_t i = 0; i < m->n_sbxs; i++) {
                nd_sbx *s = m->sbxs[i];
                what_of(s, what, sizeof(what));
                nd_publish_restore(m, &s->pub, what, &s->ep.addr4, &s->ep.addr6, false);
        }
}

static const nd_port_owner_ops sandbox_ports = {
        .holder = sandbox_port_holder,
        .restore = sandboxes_ports_restore,
};
