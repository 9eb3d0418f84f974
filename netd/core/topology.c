/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The topology (GET /v1/topology, docs/api.md): hosts, networks,
 * endpoints of every owner and services, in one document made from the
 * tables this host holds, in one loop iteration, so it is one consistent
 * snapshot.  Other hosts are known through the cluster: their node
 * records and their endpoints on overlay networks (their bridges and
 * what is on them stay private to them).
 *
 * An endpoint is identified by its host and its id: a container's id,
 * "cni:CID/IFNAME", "docker:ENDPOINTID", and on other hosts the owner id
 * of their endpoint records.  Tasks of services name their endpoint the
 * same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "docker.h"
#include "hmap.h"
#include "json-util.h"
#include "mac.h"
#include "macro.h"
#include "services-internal.h"

#define SINGLE_HOST_ID "local"

DEFINE_TRIVIAL_CLEANUP_FUNC(nd_hmap *, nd_hmap_free);

static const char *self_id(nd_manager *m) {
        const char *id = nd_cluster_node_id(m->cluster);
        return id ? id : SINGLE_HOST_ID;
}

/* Appends @v (stolen) to @a; -ENOMEM, and @a is left as it was. */
static int push(json_t *a, json_t *v) {
        return v && json_array_append_new(a, v) == 0 ? 0 : -ENOMEM;
}

static json_t *hosts_json(nd_manager *m) {
        char host[65] = "";
        if (!m->cluster) {
                (void) gethostname(host, sizeof(host) - 1);
                return json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "Id", SINGLE_HOST_ID, "Name", host, "Addr", "",
                                 "State", "live", "Self", 1);
        }
        _cleanup_json_ json_t *nodes = nd_cluster_nodes(m->cluster);
        json_t *a = json_array(), *n;
        size_t i;
        json_array_foreach(nodes, i, n) {
                const char *id = json_string_value(json_object_get(n, "Id"));
                if (push(a, json_pack("{s:s, s:s, s:s, s:s, s:b}", "Id", id ? id : "", "Name",
                                      json_string_value(json_object_get(n, "Name")) ?: "", "Addr",
                                      json_string_value(json_object_get(n, "Addr")) ?: "", "State",
                                      json_string_value(json_object_get(n, "State")) ?: "", "Self",
                                      json_is_true(json_object_get(n, "Self")))) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *network_json(nd_manager *m, const nd_network *n) {
        char p[ND_PREFIX_STRLEN];
        bool global = nd_network_is_global(n);
        json_t *subnets = json_array();
        for (size_t i = 0; subnets && i < n->spec.n_ipam; i++)
                if (push(subnets, json_string(nd_prefix_fmt(&n->spec.ipam[i].subnet, p))) < 0) {
                        json_decref(subnets);
                        return NULL;
                }
        if (!subnets)
                return NULL;
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "Id", n->id, "Name", n->spec.name, "Driver",
                         nd_driver_to_string(n->spec.driver), "Scope", global ? "global" : "local", "Host",
                         global ? "" : self_id(m), "Internal", n->spec.internal, "Subnets", subnets);
}

/* One network of an endpoint: the edge to draw. */
static json_t *attachment(const char *net_id, const char *a4, const char *a6, const char *mac) {
        return json_pack("{s:s, s:s, s:s, s:s}", "Network", net_id ?: "", "IPv4", a4 ?: "", "IPv6", a6 ?: "", "Mac",
                         mac ?: "");
}

static json_t *endpoint(const char *id, const char *name, const char *kind, const char *host, const char *state,
                        const char *service, json_t *nets, json_t *ports) {
        if (!nets || !ports) {
                json_decref(nets);
                json_decref(ports);
                return NULL;
        }
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "Id", id, "Name", name ?: "", "Kind", kind, "Host",
                         host, "State", state, "Service", service ?: "", "Networks", nets, "Ports", ports);
}

static int containers_json(nd_manager *m, json_t *out) {
        for (size_t i = 0; i < m->n_cts; i++) {
                const nd_container *c = m->cts[i];
                char a4[ND_ADDR_STRLEN], a6[ND_ADDR_STRLEN], mac[18];
                json_t *nets;
                if (c->n_eps == 0)
                        continue; /* --network none, or another container's namespace */
                nets = json_array();
                for (size_t k = 0; nets && k < c->n_eps; k++) {
                        const nd_endpoint *e = &c->eps[k];
                        nd_mac_fmt(e->mac, mac);
                        if (push(nets, attachment(e->net_id, e->addr4.family ? nd_addr_fmt(&e->addr4, a4) : "",
                                                  e->addr6.family ? nd_addr_fmt(&e->addr6, a6) : "", mac)) < 0) {
                                json_decref(nets);
                                nets = NULL;
                        }
                }
                if (push(out, endpoint(c->id, c->name, "container", self_id(m), nd_ct_status_to_string(c->status),
                                       c->service, nets, nd_published_to_json(&c->pub))) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static const char *str(const json_t *j, const char *key) {
        return json_string_value(json_object_get(j, key)) ?: "";
}

static json_t *ports_or_empty(const json_t *j) {
        json_t *p = json_object_get(j, "PortBindings");
        return json_is_array(p) ? json_incref(p) : json_array();
}

/* CNI attachments: one endpoint each (a pod with two interfaces is two,
 * as it is two tasks and two records for the peers). */
static int sandboxes_json(nd_manager *m, json_t *out) {
        nd_sbx **v;
        size_t n = nd_manager_sandboxes(m, &v);
        for (size_t i = 0; i < n; i++) {
                _cleanup_json_ json_t *s = nd_sandbox_to_json(v[i]);
                char id[512];
                if (!s)
                        return -ENOMEM;
                snprintf(id, sizeof(id), "cni:%s/%s", str(s, "ContainerID"), str(s, "IfName"));
                json_t *nets = json_array();
                if (nets && push(nets, attachment(str(s, "Network"), str(s, "IPv4Address"), str(s, "IPv6Address"),
                                                  str(s, "MacAddress"))) < 0) {
                        json_decref(nets);
                        nets = NULL;
                }
                if (push(out, endpoint(id, str(s, "Name"), "pod", self_id(m), "running", str(s, "Service"), nets,
                                       ports_or_empty(s))) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int docker_json(nd_manager *m, json_t *out) {
        _cleanup_json_ json_t *st = nd_docker_status(m);
        json_t *e;
        size_t i;
        json_array_foreach(json_object_get(st, "Endpoints"), i, e) {
                char id[300];
                snprintf(id, sizeof(id), "docker:%s", str(e, "EndpointID"));
                json_t *nets = json_array();
                if (nets && push(nets, attachment(str(e, "NetdNetwork"), str(e, "IPv4Address"), str(e, "IPv6Address"),
                                                  str(e, "MacAddress"))) < 0) {
                        json_decref(nets);
                        nets = NULL;
                }
                if (push(out, endpoint(id, str(e, "Name"), "docker", self_id(m),
                                       json_is_true(json_object_get(e, "Joined")) ? "running" : "created",
                                       str(e, "Service"), nets, ports_or_empty(e))) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* This host's SNAT addresses of services on overlay networks. */
static int lbs_json(nd_manager *m, json_t *out) {
        const char *net_id;
        nd_addr a;
        for (size_t i = 0; nd_svc_cluster_lb(m, i, &net_id, &a); i++) {
                char id[ND_ID_LEN + 1], s[ND_ADDR_STRLEN];
                json_t *nets = json_array();
                if (!a.family)
                        continue;
                nd_svc_lb_owner_id(net_id, id);
                if (nets && push(nets, attachment(net_id, nd_addr_fmt(&a, s), "", "")) < 0) {
                        json_decref(nets);
                        nets = NULL;
                }
                if (push(out, endpoint(id, "", "lb", self_id(m), "running", "", nets, json_array())) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Remote endpoints come one record per network: grouped by node and id
 * into one endpoint with an attachment per network. */
static int remote_json(nd_manager *m, json_t *out) {
        _cleanup_json_ json_t *reps = nd_cluster_remote_endpoints(m->cluster), *keys = json_array();
        _cleanup_(nd_hmap_freep) nd_hmap *seen = NULL;
        json_t *r;
        size_t i;
        if (!reps || !keys || nd_hmap_new(&seen) < 0)
                return -ENOMEM;
        json_array_foreach(reps, i, r) {
                char key[ND_ID_LEN * 2 + 2], lb[ND_ID_LEN + 1];
                const char *node = str(r, "Node"), *id = str(r, "Id"), *net = str(r, "Network");
                json_t *ep;
                snprintf(key, sizeof(key), "%s/%s", node, id);
                ep = nd_hmap_get(seen, key);
                if (!ep) {
                        /* a host's SNAT address is published without a
                         * name, under an id derived from the network */
                        bool is_lb = false;
                        if (!*str(r, "Name")) {
                                nd_svc_lb_owner_id(net, lb);
                                is_lb = strcmp(id, lb) == 0;
                        }
                        ep = endpoint(id, str(r, "Name"), is_lb ? "lb" : "remote", node, "running",
                                      str(r, "Service"), json_array(), json_array());
                        /* the map borrows its keys: @keys holds them */
                        if (push(out, ep) < 0 || push(keys, json_string(key)) < 0 ||
                            nd_hmap_put(seen, json_string_value(json_array_get(keys, json_array_size(keys) - 1)), ep) < 0)
                                return -ENOMEM;
                }
                if (push(json_object_get(ep, "Networks"), attachment(net, str(r, "IPv4"), str(r, "IPv6"), str(r, "Mac"))) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* A task's endpoint id, as the endpoints are named above: a remote
 * task's owner is "remote:" and its record's key, whose last part is the
 * id its host published it under. */
static void task_endpoint(const struct nd_svc_task *t, char *id, size_t size) {
        const char *slash = strrchr(t->owner, '/');
        if (strncmp(t->owner, "remote:", 7) == 0 && slash)
                snprintf(id, size, "%s", slash + 1);
        else
                snprintf(id, size, "%s", t->owner);
}

static json_t *service_json(nd_manager *m, const struct nd_svc *s) {
        const nd_service *rec = s->rec;
        char a[ND_ADDR_STRLEN], p[ND_SVC_PORT_STRLEN];
        json_t *vips = json_array(), *ports = json_array();
        for (size_t i = 0; vips && i < rec->n_nets; i++)
                if (rec->nets[i].vip4.family &&
                    push(vips, json_pack("{s:s, s:s}", "Network", rec->nets[i].net, "Addr",
                                         nd_addr_fmt(&rec->nets[i].vip4, a))) < 0) {
                        json_decref(vips);
                        vips = NULL;
                }
        for (size_t i = 0; ports && i < rec->n_ports; i++)
                if (push(ports, json_string(nd_svc_port_fmt(&rec->ports[i], p))) < 0) {
                        json_decref(ports);
                        ports = NULL;
                }
        if (!vips || !ports) {
                json_decref(vips);
                json_decref(ports);
                return NULL;
        }
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:[]}", "Id", rec->id, "Name", rec->name, "Mode",
                         nd_svc_mode_to_string(rec->mode), "Scope", s->global ? "global" : "local", "Host",
                         s->global ? "" : self_id(m), "VirtualIPs", vips, "Ports", ports, "Tasks");
}

static json_t *services_json(nd_manager *m) {
        _cleanup_(nd_hmap_freep) nd_hmap *by_name = NULL;
        json_t *a = json_array();
        if (!a || nd_hmap_new(&by_name) < 0)
                goto fail;
        for (size_t i = 0; i < m->n_svcs; i++) {
                const struct nd_svc *s = m->svcs[i];
                json_t *j;
                if (!s->committed || s->removing)
                        continue;
                j = service_json(m, s);
                if (push(a, j) < 0 || nd_hmap_put(by_name, s->rec->name, json_object_get(j, "Tasks")) < 0)
                        goto fail;
        }
        for (size_t i = 0; i < m->n_tasks; i++) {
                const struct nd_svc_task *t = &m->tasks[i];
                json_t *tasks = nd_hmap_get(by_name, t->service);
                const char *host = t->node[0] ? t->node : self_id(m);
                char id[sizeof(t->owner)], s[ND_ADDR_STRLEN];
                if (!tasks)
                        continue;
                task_endpoint(t, id, sizeof(id));
                if (push(tasks, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Endpoint", id, "Host", host, "Name",
                                          t->name, "Network", t->net_id, "Addr",
                                          t->addr4.family ? nd_addr_fmt(&t->addr4, s) : "", "Health",
                                          nd_task_health_to_string(t->health))) < 0)
                        goto fail;
        }
        return a;
fail:
        json_decref(a);
        return NULL;
}

/* Hosts by name, endpoints by host, name and id: a picture that stays
 * where it was from one call to the next (the cluster's tables are hash
 * maps). */
static int by_host_name_id(const void *a, const void *b) {
        const json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
        int c = strcmp(str(x, "Host"), str(y, "Host"));
        if (!c)
                c = strcmp(str(x, "Name"), str(y, "Name"));
        return c ? c : strcmp(str(x, "Id"), str(y, "Id"));
}

static int sort_array(json_t *a) {
        size_t n = json_array_size(a);
        if (n < 2)
                return 0;
        _cleanup_free_ json_t **v = calloc(n, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                v[i] = json_incref(json_array_get(a, i));
        qsort(v, n, sizeof(*v), by_host_name_id);
        json_array_clear(a);
        int r = 0;
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(a, v[i]) < 0)
                        r = -ENOMEM;
        return r;
}

json_t *nd_manager_topology(nd_manager *m) {
        nd_network **nets;
        size_t nn = nd_manager_networks(m, &nets);
        _cleanup_json_ json_t *j = NULL;
        json_t *networks = json_array(), *eps = json_array();

        j = json_pack("{s:s, s:b, s:o, s:o, s:o, s:o}", "Self", self_id(m), "Cluster", m->cluster != NULL, "Hosts",
                      hosts_json(m), "Networks", networks, "Endpoints", eps, "Services", services_json(m));
        if (!j)
                return NULL;
        for (size_t i = 0; i < nn; i++)
                if (push(networks, network_json(m, nets[i])) < 0)
                        return NULL;
        if (containers_json(m, eps) < 0 || sandboxes_json(m, eps) < 0 || docker_json(m, eps) < 0 ||
            lbs_json(m, eps) < 0 || (m->cluster && remote_json(m, eps) < 0) ||
            sort_array(json_object_get(j, "Hosts")) < 0 || sort_array(eps) < 0)
                return NULL;
        return TAKE_PTR(j);
}
