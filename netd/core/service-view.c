/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the API and /metrics show of services: a service's view (its VIPs
 * and tasks with their health) for `service inspect`/`ls`, and the
 * services' metric families.  Read-only over the tables of services.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"
#include "manager-internal.h"
#include "metrics.h"
#include "network.h"
#include "services-internal.h"

/* ---- views ---- */

json_t *nd_svc_view(nd_manager *m, const struct nd_svc *s) {
        json_t *j = nd_service_to_json(s->rec), *vips = json_array(), *tasks = json_array();
        char a[ND_ADDR_STRLEN];
        size_t healthy = 0, total = 0;

        if (!j || !vips || !tasks) {
                json_decref(j);
                json_decref(vips);
                json_decref(tasks);
                return NULL;
        }
        for (size_t i = 0; i < s->rec->n_nets; i++) {
                const nd_svc_net *sn = &s->rec->nets[i];
                const nd_network *n = nd_net_by_id(m, sn->net);
                if (!sn->vip4.family)
                        continue;
                json_array_append_new(vips, json_pack("{s:s, s:s, s:s}", "Network", n ? n->spec.name : "",
                                                      "NetworkId", sn->net, "Addr", nd_addr_fmt(&sn->vip4, a)));
        }
        for (size_t i = 0; i < m->n_tasks; i++) {
                const struct nd_svc_task *t = &m->tasks[i];
                const nd_network *n;
                if (strcmp(t->service, s->rec->name) != 0)
                        continue;
                n = nd_net_by_id(m, t->net_id);
                total++;
                healthy += nd_svc_task_is_backend(t);
                json_array_append_new(tasks, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Id", t->owner, "Name",
                                                       t->name, "Node", t->node, "Network", n ? n->spec.name : "",
                                                       "Addr", t->addr4.family ? nd_addr_fmt(&t->addr4, a) : "",
                                                       "Health", nd_task_health_to_string(t->health)));
        }
        json_object_set_new(j, "VirtualIPs", vips);
        json_object_set_new(j, "Tasks", tasks);
        json_object_set_new(j, "TasksHealthy", json_integer((json_int_t) healthy));
        json_object_set_new(j, "TasksTotal", json_integer((json_int_t) total));
        return j;
}

json_t *nd_manager_container_health(nd_manager *m, const nd_container *c) {
        return nd_health_status(m, c->id);
}

json_t *nd_manager_services_view(nd_manager *m) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < m->n_svcs; i++)
                if (m->svcs[i]->committed && !m->svcs[i]->removing)
                        json_array_append_new(a, nd_svc_view(m, m->svcs[i]));
        return a;
}

int nd_manager_service_view(nd_manager *m, const char *ref, json_t **ret, nd_diag *d) {
        struct nd_svc *s;
        int r = nd_svc_find(m, ref, &s);
        if (r == -ENOTUNIQ)
                return nd_diag_set(d, r, "service id prefix '%.64s' is ambiguous", ref);
        if (r < 0)
                return nd_diag_set(d, -ENOENT, "service '%.64s' not found", ref);
        *ret = nd_svc_view(m, s);
        return *ret ? 0 : nd_diag_set(d, -ENOMEM, "out of memory");
}

/* ---- metrics (docs/observability.md) ---- */

void nd_services_metrics(nd_manager *m, struct nd_expo *e) {
        size_t by_mode[2][2] = {{0}}, vips = 0, tasks[2][_ND_TASK_HEALTH_MAX] = {{0}};
        char l[256];

        for (size_t i = 0; i < m->n_svcs; i++) {
                const struct nd_svc *s = m->svcs[i];
                if (!s->committed || s->removing)
                        continue;
                by_mode[s->rec->mode == ND_SVC_DNSRR][s->global]++;
                for (size_t k = 0; k < s->rec->n_nets; k++)
                        vips += s->rec->nets[k].vip4.family != 0;
        }
        for (size_t i = 0; i < m->n_tasks; i++)
                if (m->tasks[i].health < _ND_TASK_HEALTH_MAX)
                        tasks[m->tasks[i].node[0] != 0][m->tasks[i].health]++;
        nd_expo_family(e, "netd_services", "gauge", "Services by endpoint mode and scope.");
        for (int mode = 0; mode < 2; mode++)
                for (int g = 0; g < 2; g++)
                        nd_expo_sample(e, "netd_services",
                                       nd_expo_labels(l, sizeof(l), 2, "mode", mode ? "dnsrr" : "vip", "scope",
                                                      g ? "global" : "local"),
                                       (double) by_mode[mode][g]);
        nd_expo_family(e, "netd_service_vips", "gauge", "Virtual IPs of services on this host's bridges.");
        nd_expo_sample(e, "netd_service_vips", NULL, (double) vips);
        nd_expo_family(e, "netd_service_published_ports", "gauge",
                       "Host ports services hold on this host (the routing mesh, or mode=host).");
        nd_expo_sample(e, "netd_service_published_ports", NULL, (double) nd_svc_ports_count(m));
        nd_expo_family(e, "netd_service_tasks", "gauge", "Tasks of services by health and where they run.");
        for (int r = 0; r < 2; r++)
                for (int h = 0; h < _ND_TASK_HEALTH_MAX; h++)
                        nd_expo_sample(e, "netd_service_tasks",
                                       nd_expo_labels(l, sizeof(l), 2, "health",
                                                      nd_task_health_to_string((nd_task_health) h), "host",
                                                      r ? "remote" : "local"),
                                       (double) tasks[r][h]);
}
