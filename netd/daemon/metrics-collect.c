/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /metrics: every module's families in one exposition: the process,
 * the event loop and the API servers here, the rest from the core.  See
 * docs/observability.md for the list.  Collected on request; the only
 * state kept here is the loop lag: its histogram, and its latest value
 * and per-second maxima for /v1/info's "Loop".
 */
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon-internal.h"
#include "http.h"
#include "macro.h"
#include "manager.h"
#include "metrics.h"

#define LAG_PERIOD 0.5

/* One lag into the ring of per-second maxima (slot: the second modulo
 * the window; a slot still holding an older second starts over). */
static void lag_note(nd_daemon *d, double now, double lag) {
        long long sec = (long long) now;
        size_t i = (size_t) (sec % ND_DAEMON_LAG_WINDOW);
        if (d->lag_sec[i] != sec) {
                d->lag_sec[i] = sec;
                d->lag_max[i] = 0;
        }
        if (lag > d->lag_max[i])
                d->lag_max[i] = lag;
        d->lag_last = lag;
}

static void on_lag(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_daemon *d = container_of(w, nd_daemon, lag_timer);
        double now = ev_time();
        if (d->lag_due > 0 && d->lag) {
                double lag = now > d->lag_due ? now - d->lag_due : 0;
                nd_hist_observe(d->lag, lag);
                lag_note(d, now, lag);
        }
        d->lag_due = ev_now(loop) + LAG_PERIOD;
}

json_t *nd_daemon_loop_status(void *userdata) {
        nd_daemon *d = userdata;
        long long sec = (long long) ev_time();
        double max = 0;
        for (size_t i = 0; i < ND_DAEMON_LAG_WINDOW; i++)
                if (d->lag_sec[i] > sec - ND_DAEMON_LAG_WINDOW && d->lag_sec[i] <= sec && d->lag_max[i] > max)
                        max = d->lag_max[i];
        return json_pack("{s:f, s:f, s:i}", "LagSeconds", d->lag_last, "LagMaxSeconds", max, "WindowSeconds",
                         ND_DAEMON_LAG_WINDOW);
}

int nd_daemon_metrics_start(nd_daemon *d) {
        d->lag = calloc(1, sizeof(*d->lag));
        if (!d->lag)
                return -ENOMEM;
        nd_hist_init(d->lag, nd_hist_latency_bounds, nd_hist_latency_n);
        ev_timer_init(&d->lag_timer, on_lag, LAG_PERIOD, LAG_PERIOD);
        ev_timer_start(d->loop, &d->lag_timer);
        return 0;
}

void nd_daemon_metrics_stop(nd_daemon *d) {
        if (d->loop)
                ev_timer_stop(d->loop, &d->lag_timer);
        free(d->lag);
        d->lag = NULL;
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

char *nd_daemon_metrics(void *userdata, size_t *ret_len) {
        nd_daemon *d = userdata;
        nd_expo e = {0};
        char l[256];

        nd_expo_family(&e, "netd_build_info", "gauge", "Always 1; the version of netd.");
        nd_expo_sample(&e, "netd_build_info", nd_expo_labels(l, sizeof(l), 1, "version", ND_VERSION), 1);
        process_metrics(&e);
        nd_manager_metrics_write(d->m, &e);
        if (d->lag) {
                nd_expo_family(&e, "netd_event_loop_lag_seconds", "histogram",
                               "How late a 0.5 s timer on the event loop fires: time the loop spent elsewhere.");
                nd_expo_hist(&e, "netd_event_loop_lag_seconds", NULL, d->lag);
        }
        nd_http_server *const servers[] = { d->http, d->docker_http, d->plugin_http, d->metrics_http };
        static const char *const names[] = { "api", "docker-api", "docker-plugin", "metrics" };
        nd_http_metrics(servers, names, ELEMENTSOF(servers), &e);
        return nd_expo_take(&e, ret_len);
}
