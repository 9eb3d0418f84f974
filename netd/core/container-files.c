/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What goes into a container's bundle: its hosts file (its own names, its
 * links, its --add-host entries), its resolv.conf (resolver.c) and its
 * config.json.  The files are written by runtime/bundle.h; the decisions
 * (whose namespace, which names) are made here.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "container-internal.h"
#include "grow.h"
#include "replicas-internal.h"

const nd_container *nd_ct_net_owner(nd_manager *m, const nd_container *c) {
        nd_container *t;
        if (c->mode == ND_NET_MODE_CONTAINER && nd_manager_container_find(m, c->mode_target, &t) == 0)
                return t;
        return c;
}

int nd_ct_extra_host_resolve(const nd_container *c, const char *s, char name[static ND_NAME_MAX + 1],
                             char ip[static ND_ADDR_STRLEN], nd_diag *d) {
        bool host_gateway;
        int r = nd_extra_host_parse(s, name, ip, &host_gateway, d);
        if (r < 0 || !host_gateway)
                return r;
        const nd_endpoint *e = c->n_eps ? &c->eps[0] : NULL;
        const nd_addr *gw = e && e->addr4.family ? &e->gw4 : e && e->gw6.family ? &e->gw6 : NULL;
        if (!gw || !gw->family)
                return nd_diag_set(d, -EINVAL, "--add-host '%.64s': host-gateway needs a network with a gateway", s);
        nd_addr_fmt(gw, ip);
        return 0;
}

struct hosts {
        nd_rt_host_entry *v;
        size_t n, cap;
};

static nd_rt_host_entry *hosts_add(struct hosts *h) {
        if (ND_GROW(h->v, h->n, h->cap, 1) < 0)
                return NULL;
        return memset(&h->v[h->n++], 0, sizeof(*h->v));
}

/* The lines of @ct's hosts file after localhost's: the addresses of the
 * namespace's owner under its hostname (and name), its links, and its
 * --add-host entries. */
static int hosts_collect(nd_manager *m, const nd_container *ct, struct hosts *h) {
        const nd_container *c = nd_ct_net_owner(m, ct);
        nd_rt_host_entry *e;
        size_t i;
        json_t *l;

        for (i = 0; i < c->n_eps; i++) {
                if (c->eps[i].addr4.family) {
                        if (!(e = hosts_add(h)))
                                return -ENOMEM;
                        nd_addr_fmt(&c->eps[i].addr4, e->ip);
                        snprintf(e->names, sizeof(e->names), "%s%s%s", c->hostname,
                                 strcmp(c->hostname, c->name) ? " " : "", strcmp(c->hostname, c->name) ? c->name : "");
                }
                if (c->eps[i].addr6.family) {
                        if (!(e = hosts_add(h)))
                                return -ENOMEM;
                        nd_addr_fmt(&c->eps[i].addr6, e->ip);
                        snprintf(e->names, sizeof(e->names), "%s", c->hostname);
                }
        }
        if (c->n_eps == 0) {
                if (!(e = hosts_add(h)))
                        return -ENOMEM;
                snprintf(e->ip, sizeof(e->ip), "127.0.1.1");
                snprintf(e->names, sizeof(e->names), "%s", c->hostname);
        }
        json_array_foreach(c->links, i, l) {
                if (!(e = hosts_add(h)))
                        return -ENOMEM;
                snprintf(e->ip, sizeof(e->ip), "%s", json_string_value(json_object_get(l, "IP")));
                snprintf(e->names, sizeof(e->names), "%s %s", json_string_value(json_object_get(l, "Alias")),
                         json_string_value(json_object_get(l, "Name")));
        }
        json_array_foreach(c->extra_hosts, i, l) {
                char name[ND_NAME_MAX + 1], ip[ND_ADDR_STRLEN];
                nd_diag dd;
                if (nd_ct_extra_host_resolve(c, json_string_value(l), name, ip, &dd) < 0)
                        continue;
                if (!(e = hosts_add(h)))
                        return -ENOMEM;
                snprintf(e->ip, sizeof(e->ip), "%s", ip);
                snprintf(e->names, sizeof(e->names), "%s", name);
        }
        return 0;
}

static int write_hosts_one(nd_manager *m, const nd_container *ct) {
        char bundle[PATH_MAX];
        struct hosts h = {0};
        int r;

        nd_ct_bundle_path(m, ct->id, bundle, sizeof(bundle));
        r = hosts_collect(m, ct, &h);
        if (r == 0)
                r = nd_rt_bundle_write_hosts(bundle, h.v, h.n);
        free(h.v);
        return r;
}

static int write_resolv_conf(nd_manager *m, const nd_container *ct) {
        char bundle[PATH_MAX];
        nd_ct_bundle_path(m, ct->id, bundle, sizeof(bundle));
        _cleanup_free_ char *conf = nd_resolver_conf(m, nd_ct_net_owner(m, ct));
        if (!conf)
                return -ENOMEM;
        return nd_rt_bundle_write_resolv_conf(bundle, conf);
}

int nd_ct_write_hosts(nd_manager *m, const nd_container *c) {
        int r = write_hosts_one(m, c);
        for (size_t i = 0; i < m->n_cts; i++) {
                const nd_container *j = m->cts[i];
                if (j->mode != ND_NET_MODE_CONTAINER || strcmp(j->mode_target, c->id) != 0 ||
                    j->status != ND_CT_RUNNING)
                        continue;
                if (write_hosts_one(m, j) < 0 || write_resolv_conf(m, j) < 0)
                        log_ct(LOG_WARNING, j, "updating the shared hosts or resolv.conf failed, ignoring");
        }
        return r;
}

int nd_ct_write_bundle(nd_manager *m, const nd_container *c) {
        char netns[PATH_MAX];
        int r;

        if (c->mode == ND_NET_MODE_BRIDGE || c->mode == ND_NET_MODE_NONE)
                nd_container_netns_path(m->run_dir, c->id, netns, sizeof(netns));
        else if (c->mode == ND_NET_MODE_CONTAINER)
                nd_container_netns_path(m->run_dir, c->mode_target, netns, sizeof(netns));
        else
                netns[0] = 0;
        _cleanup_(json_decrefp) json_t *sec = json_object();
        if (!sec || nd_ct_security_to_config(&c->sec, sec) < 0)
                return -EIO;
        char deadline[PATH_MAX];
        nd_rt_bundle_config cfg = {
                .id = c->id, .rootfs = c->rootfs, .netns = netns, .hostname = c->hostname, .args = c->args,
                .env = c->env, .memory = c->memory, .pids_limit = c->pids_limit, .security = sec,
                .deadline = nd_replicas_deadline_file(m, c, deadline, sizeof(deadline)),
        };
        if ((r = nd_rt_bundle_write_config(m->state_dir, &cfg)) < 0)
                return r;
        if ((r = write_resolv_conf(m, c)) < 0)
                return r;
        return write_hosts_one(m, c);
}

void nd_ct_remove_bundle(nd_manager *m, const nd_container *c) {
        int r = nd_rt_bundle_remove(m->state_dir, c->id);
        if (r < 0)
                log_ct(LOG_WARNING, c, "removing the bundle failed, ignoring", "err=%d", r);
}
