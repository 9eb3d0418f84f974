/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The core's metric families: containers, published ports, networks, the
 * attach and detach histograms it keeps, and those of the services it owns (DNS,
 * firewall, store, cluster).  Collected on request.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "container.h"
#include "docker-internal.h"
#include "firewall.h"
#include "link-reaper.h"
#include "manager-internal.h"
#include "events.h"
#include "metrics.h"
#include "network.h"
#include "sandbox-internal.h"
#include "server.h"
#include "store.h"

int nd_manager_metrics_init(nd_manager *m) {
        for (int i = 0; i < 3; i++) {
                m->attach_lat[i] = calloc(1, sizeof(*m->attach_lat[i]));
                m->detach_lat[i] = calloc(1, sizeof(*m->detach_lat[i]));
                if (!m->attach_lat[i] || !m->detach_lat[i])
                        return -ENOMEM;
                nd_hist_init(m->attach_lat[i], nd_hist_latency_bounds, nd_hist_latency_n);
                nd_hist_init(m->detach_lat[i], nd_hist_latency_bounds, nd_hist_latency_n);
        }
        return 0;
}

void nd_manager_metrics_done(nd_manager *m) {
        for (int i = 0; i < 3; i++) {
                free(m->attach_lat[i]);
                m->attach_lat[i] = NULL;
                free(m->detach_lat[i]);
                m->detach_lat[i] = NULL;
        }
}

void nd_manager_attach_observe(nd_manager *m, int kind, double seconds) {
        if (kind >= 0 && kind < 3 && m->attach_lat[kind])
                nd_hist_observe(m->attach_lat[kind], seconds);
}

void nd_manager_detach_observe(nd_manager *m, int kind, double seconds) {
        if (kind >= 0 && kind < 3 && m->detach_lat[kind])
                nd_hist_observe(m->detach_lat[kind], seconds);
}

/* This host's endpoints on each network, by owner: a sandbox counts
 * once its ADD is recorded and until its DEL; a Docker endpoint from
 * CreateEndpoint to DeleteEndpoint.  Networks x endpoints, per scrape. */
static void endpoints_write(nd_manager *m, nd_expo *e) {
        static const char *const kinds[3] = { "container", "cni", "docker" };
        char l[256];

        nd_expo_family(e, "netd_network_endpoints", "gauge",
                       "This host's endpoints on each network, by owner kind (other hosts' on overlay networks: "
                       "netd_cluster_network_remote_endpoints).");
        for (size_t i = 0; i < m->n_nets; i++) {
                const nd_network *n = m->nets[i].net;
                size_t by[3] = {0};
                for (size_t c = 0; c < m->n_cts; c++)
                        for (size_t k = 0; k < m->cts[c]->n_eps; k++)
                                by[0] += strcmp(m->cts[c]->eps[k].net_id, n->id) == 0;
                for (size_t k = 0; k < m->n_sbxs; k++)
                        by[1] += m->sbxs[k]->committed && !m->sbxs[k]->going &&
                                 strcmp(m->sbxs[k]->ep.net_id, n->id) == 0;
                for (size_t k = 0; m->dplug && k < m->dplug->n_eps; k++)
                        by[2] += strcmp(m->dplug->eps[k]->net_id, n->id) == 0;
                for (int k = 0; k < 3; k++)
                        nd_expo_sample(e, "netd_network_endpoints",
                                       nd_expo_labels(l, sizeof(l), 2, "network", n->spec.name, "owner", kinds[k]),
                                       (double) by[k]);
        }
}

void nd_manager_metrics_write(nd_manager *m, nd_expo *e) {
        char l[256];

        size_t by[_ND_CT_STATUS_MAX] = {0};
        for (size_t i = 0; i < m->n_cts; i++)
                if (m->cts[i]->status >= 0 && m->cts[i]->status < _ND_CT_STATUS_MAX)
                        by[m->cts[i]->status]++;
        nd_expo_family(e, "netd_containers", "gauge", "netd's own containers by state.");
        for (int s = 0; s < _ND_CT_STATUS_MAX; s++)
                nd_expo_sample(e, "netd_containers",
                               nd_expo_labels(l, sizeof(l), 1, "state", nd_ct_status_to_string((nd_ct_status) s)),
                               (double) by[s]);
        nd_expo_family(e, "netd_published_ports", "gauge",
                       "Host ports published for this host's endpoints (containers, CNI pods, Docker endpoints); "
                       "services' ports: netd_service_published_ports.");
        nd_expo_sample(e, "netd_published_ports", NULL, (double) m->n_published);
        endpoints_write(m, e);
        nd_expo_family(e, "netd_networks", "gauge", "Networks by driver and scope.");
        size_t nb = 0, no = 0;
        for (size_t i = 0; i < m->n_nets; i++) {
                if (nd_network_is_global(m->nets[i].net))
                        no++;
                else
                        nb++;
        }
        nd_expo_sample(e, "netd_networks", nd_expo_labels(l, sizeof(l), 2, "driver", "bridge", "scope", "local"), (double) nb);
        nd_expo_sample(e, "netd_networks", nd_expo_labels(l, sizeof(l), 2, "driver", "overlay", "scope", "global"), (double) no);

        nd_services_metrics(m, e);

        static const char *const kinds[3] = { "container", "cni", "docker" };
        nd_expo_family(e, "netd_attach_duration_seconds", "histogram",
                       "Wiring one endpoint (veth, addresses, routes), by owner kind.");
        for (int i = 0; i < 3; i++)
                if (m->attach_lat[i])
                        nd_expo_hist(e, "netd_attach_duration_seconds", nd_expo_labels(l, sizeof(l), 1, "owner", kinds[i]),
                                     m->attach_lat[i]);
        nd_expo_family(e, "netd_detach_duration_seconds", "histogram",
                       "Deleting one endpoint's veth pair, asked to gone (the link reaper's queue included), "
                       "by owner kind.");
        for (int i = 0; i < 3; i++)
                if (m->detach_lat[i])
                        nd_expo_hist(e, "netd_detach_duration_seconds", nd_expo_labels(l, sizeof(l), 1, "owner", kinds[i]),
                                     m->detach_lat[i]);
        if (m->dns)
                nd_dns_metrics(m->dns, e);
        nd_fw_metrics(m->fw, e);
        nd_events_metrics(m->events, e);
        nd_reaper_metrics(m->reaper, e);
        if (m->store && strcmp(nd_store_backend(m->store), "local") == 0)
                nd_store_local_metrics(m->store, e);
        nd_cluster_metrics(m->cluster, e);
}
