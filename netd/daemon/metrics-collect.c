/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /metrics: every module's families in one exposition, plus the
 * process, the event loop and the manager's own gauges.  See
 * docs/observability.md for the list.  Collected on request; the only
 * state kept here is the loop-lag and attach histograms.
 */
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cluster.h"
#include "container.h"
#include "firewall.h"
#include "http.h"
#include "log.h"
#include "manager-internal.h"
#include "metrics.h"
#include "network.h"
#include "server.h"
#include "store.h"

#define LAG_PERIOD 0.5

static void on_lag(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_manager *m = container_of(w, nd_manager, lag_timer);
        double now = ev_time();
        if (m->lag_due > 0 && m->lag)
                nd_hist_observe(m->lag, now > m->lag_due ? now - m->lag_due : 0);
        m->lag_due = ev_now(loop) + LAG_PERIOD;
}

int nd_manager_metrics_start(nd_manager *m) {
        m->lag = calloc(1, sizeof(*m->lag));
        for (int i = 0; i < 3; i++)
                m->attach_lat[i] = calloc(1, sizeof(*m->attach_lat[i]));
        if (!m->lag || !m->attach_lat[0] || !m->attach_lat[1] || !m->attach_lat[2])
                return -ENOMEM;
        nd_hist_init(m->lag, nd_hist_latency_bounds, nd_hist_latency_n);
        for (int i = 0; i < 3; i++)
                nd_hist_init(m->attach_lat[i], nd_hist_latency_bounds, nd_hist_latency_n);
        ev_timer_init(&m->lag_timer, on_lag, LAG_PERIOD, LAG_PERIOD);
        ev_timer_start(m->loop, &m->lag_timer);
        return 0;
}

void nd_manager_metrics_stop(nd_manager *m) {
        if (m->loop)
                ev_timer_stop(m->loop, &m->lag_timer);
        free(m->lag);
        m->lag = NULL;
        for (int i = 0; i < 3; i++) {
                free(m->attach_lat[i]);
                m->attach_lat[i] = NULL;
        }
}

void nd_manager_attach_observe(nd_manager *m, int kind, double seconds) {
        if (kind >= 0 && kind < 3 && m->attach_lat[kind])
                nd_hist_observe(m->attach_lat[kind], seconds);
}

/* The standard process_* families (Prometheus' client conventions). */
static void process_metrics(nd_expo *e) {
        size_t fds = 0;
        DIR *d = opendir("/proc/self/fd");
        if (d) {
                struct dirent *de;
                while ((de = readdir(d)))
                        fds += de->d_name[0] != '.';
                closedir(d);
                fds--; /* the directory's own */
        }
        struct rlimit rl = {0};
        (void) getrlimit(RLIMIT_NOFILE, &rl);
        long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
        unsigned long long vsize = 0, rss = 0, start = 0, utime = 0, stime = 0, btime = 0;
        FILE *f = fopen("/proc/self/stat", "re");
        if (f) {
                char buf[1024];
                size_t k = fread(buf, 1, sizeof(buf) - 1, f);
                buf[k] = 0;
                char *p = strrchr(buf, ')');
                /* fields after "(comm)": state is field 3; utime 14, stime 15,
                 * starttime 22, vsize 23, rss 24 */
                if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %llu",
                                &utime, &stime, &start, &vsize, &rss) != 5)
                        vsize = rss = start = utime = stime = 0;
                fclose(f);
        }
        f = fopen("/proc/stat", "re");
        if (f) {
                char line[256];
                while (fgets(line, sizeof(line), f))
                        if (sscanf(line, "btime %llu", &btime) == 1)
                                break;
                fclose(f);
        }
        nd_expo_family(e, "process_open_fds", "gauge", "Number of open file descriptors.");
        nd_expo_sample(e, "process_open_fds", NULL, (double) fds);
        nd_expo_family(e, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        nd_expo_sample(e, "process_max_fds", NULL, (double) rl.rlim_cur);
        nd_expo_family(e, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        nd_expo_sample(e, "process_resident_memory_bytes", NULL, (double) rss * (double) page);
        nd_expo_family(e, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        nd_expo_sample(e, "process_virtual_memory_bytes", NULL, (double) vsize);
        nd_expo_family(e, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        nd_expo_sample(e, "process_cpu_seconds_total", NULL, ticks > 0 ? (double) (utime + stime) / (double) ticks : 0);
        nd_expo_family(e, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
        nd_expo_sample(e, "process_start_time_seconds", NULL,
                       ticks > 0 ? (double) btime + (double) start / (double) ticks : 0);
}

char *nd_manager_metrics(nd_manager *m, size_t *ret_len) {
        nd_expo e = {0};
        char l[256];

        nd_expo_family(&e, "netd_build_info", "gauge", "Always 1; the version of netd.");
        nd_expo_sample(&e, "netd_build_info", nd_expo_labels(l, sizeof(l), 1, "version", ND_VERSION), 1);
        process_metrics(&e);

        size_t by[_ND_CT_STATUS_MAX] = {0}, bindings = 0;
        for (size_t i = 0; i < m->n_cts; i++) {
                if (m->cts[i]->status >= 0 && m->cts[i]->status < _ND_CT_STATUS_MAX)
                        by[m->cts[i]->status]++;
                bindings += m->cts[i]->pub.n_bindings;
        }
        nd_expo_family(&e, "netd_containers", "gauge", "netd's own containers by state.");
        for (int s = 0; s < _ND_CT_STATUS_MAX; s++)
                nd_expo_sample(&e, "netd_containers",
                               nd_expo_labels(l, sizeof(l), 1, "state", nd_ct_status_to_string((nd_ct_status) s)),
                               (double) by[s]);
        nd_expo_family(&e, "netd_published_ports", "gauge", "Host ports published for netd's containers.");
        nd_expo_sample(&e, "netd_published_ports", NULL, (double) bindings);
        nd_expo_family(&e, "netd_networks", "gauge", "Networks by driver and scope.");
        size_t nb = 0, no = 0;
        for (size_t i = 0; i < m->n_nets; i++) {
                if (nd_network_is_global(m->nets[i].net))
                        no++;
                else
                        nb++;
        }
        nd_expo_sample(&e, "netd_networks", nd_expo_labels(l, sizeof(l), 2, "driver", "bridge", "scope", "local"), (double) nb);
        nd_expo_sample(&e, "netd_networks", nd_expo_labels(l, sizeof(l), 2, "driver", "overlay", "scope", "global"), (double) no);

        static const char *const kinds[3] = { "container", "cni", "docker" };
        nd_expo_family(&e, "netd_attach_duration_seconds", "histogram",
                       "Wiring one endpoint (veth, addresses, routes), by owner kind.");
        for (int i = 0; i < 3; i++)
                if (m->attach_lat[i])
                        nd_expo_hist(&e, "netd_attach_duration_seconds", nd_expo_labels(l, sizeof(l), 1, "owner", kinds[i]),
                                     m->attach_lat[i]);
        if (m->lag) {
                nd_expo_family(&e, "netd_event_loop_lag_seconds", "histogram",
                               "How late a 0.5 s timer on the event loop fires: time the loop spent elsewhere.");
                nd_expo_hist(&e, "netd_event_loop_lag_seconds", NULL, m->lag);
        }

        nd_http_server *const servers[] = { m->http, m->docker_http, m->plugin_http, m->metrics_http };
        static const char *const names[] = { "api", "docker-api", "docker-plugin", "metrics" };
        nd_http_metrics(servers, names, ELEMENTSOF(servers), &e);
        if (m->dns)
                nd_dns_metrics(m->dns, &e);
        nd_fw_metrics(m->fw, &e);
        if (m->store && strcmp(nd_store_backend(m->store), "local") == 0)
                nd_store_local_metrics(m->store, &e);
        nd_cluster_metrics(m->cluster, &e);
        return nd_expo_take(&e, ret_len);
}
