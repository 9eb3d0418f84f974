/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DNS service object: its name table, its limits, and what it
 * reports (status, counters by network, Prometheus families).  The query
 * path is in listener.c, forwarding in forward.c, the upstream list in
 * resolv.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "server-internal.h"

#define FWD_MAX_DEFAULT 1024 /* in flight, in total (Docker's embedded DNS: 1024) */
#define FWD_MAX_SANDBOX_DEFAULT 128 /* in flight, per sandbox (dnsmasq: 150) */

/* From outside the DNS thread the lock is taken counted in @waiting, so
 * the thread, back from its poll, lets the waiter in first: a glibc mutex
 * is handed to no one, and under a query flood the thread would take it
 * back at once, turn after turn, while the daemon's loop waited. */
void nd_dns_enter(const nd_dns *d) {
        nd_dns *w = (nd_dns *) d;
        atomic_fetch_add(&w->waiting, 1);
        pthread_mutex_lock(&w->lock);
        atomic_fetch_sub(&w->waiting, 1);
}

void nd_dns_leave(const nd_dns *d) {
        pthread_mutex_unlock((pthread_mutex_t *) &d->lock);
}

void nd_dns_leave_wake(const nd_dns *d) {
        if (d->threaded)
                ev_async_send(d->loop, (ev_async *) &d->wake);
        pthread_mutex_unlock((pthread_mutex_t *) &d->lock);
}

void nd_dns_hold(nd_dns *d) {
        nd_dns_enter(d);
}

void nd_dns_release(nd_dns *d) {
        nd_dns_leave(d);
}

static void names_lock(void *d) {
        nd_dns_enter(d);
}

static void names_unlock(void *d) {
        nd_dns_leave(d);
}

/* ---- the service's thread ---------------------------------------------------------- */

static double mono_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double thread_cpu(void) {
        struct timespec ts;
        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
                return 0;
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The calling thread at real-time priority (the lowest SCHED_FIFO level:
 * above every normal task, below the kernel's own real-time threads) or
 * back to normal.  Its children, should it have any, start normal. */
static int set_realtime(bool on) {
        struct sched_param p = { .sched_priority = on ? 1 : 0 };
        if (sched_setscheduler(0, (on ? SCHED_FIFO : SCHED_OTHER) | SCHED_RESET_ON_FORK, &p) < 0)
                return -errno;
        return 0;
}

/* Governed: asked for, and the kernel has not refused it. */
static bool rt_governed(const nd_dns *d) {
        return d->rt_asked && !d->rt_err;
}

/* Carry out what the governor says (rtbudget.h).  The kernel refusing
 * real-time priority ends the governing: the thread stays normal. */
static void rt_apply(nd_dns *d, nd_rtb_action a) {
        if (a == ND_RTB_KEEP || !rt_governed(d))
                return;
        int r = set_realtime(a == ND_RTB_PROMOTE);
        if (r == 0)
                d->rt = a == ND_RTB_PROMOTE;
        else if (a == ND_RTB_PROMOTE)
                d->rt_err = -r;
}

/* Before each poll (lock held): judge the thread's CPU use since the last
 * span. */
static void rt_govern(nd_dns *d) {
        double now = mono_now();
        if (nd_rtb_due(&d->rtb, now))
                rt_apply(d, nd_rtb_check(&d->rtb, now, thread_cpu()));
}

/* The "some" total of /proc/pressure/cpu, in seconds. */
static int read_pressure(int fd, double *ret) {
        char buf[256];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
                return -EIO;
        buf[n] = 0;
        const char *t = strncmp(buf, "some ", 5) == 0 ? strstr(buf, " total=") : NULL;
        char *end;
        if (!t)
                return -EBADMSG;
        unsigned long long us = strtoull(t + 7, &end, 10);
        if (end == t + 7)
                return -EBADMSG;
        *ret = (double) us / 1e6;
        return 0;
}

static void on_pressure(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_dns *d = container_of(w, nd_dns, psi_timer);
        double total;
        if (read_pressure(d->psi_fd, &total) < 0) {
                ev_timer_stop(loop, w); /* as without the file: contended */
                return;
        }
        rt_apply(d, nd_rtb_pressure(&d->rtb, mono_now(), total));
}

/* The governing starts: real-time at once (contended until the host's
 * pressure says otherwise), the pressure read every ND_RTB_PSI_SPAN. */
static void rt_start(nd_dns *d) {
        double total;
        nd_rtb_init(&d->rtb, mono_now(), thread_cpu());
        d->psi_fd = open("/proc/pressure/cpu", O_RDONLY | O_CLOEXEC);
        if (d->psi_fd >= 0 && read_pressure(d->psi_fd, &total) == 0) {
                nd_rtb_pressure(&d->rtb, mono_now(), total);
                ev_timer_init(&d->psi_timer, on_pressure, ND_RTB_PSI_SPAN, ND_RTB_PSI_SPAN);
                ev_timer_start(d->loop, &d->psi_timer);
        }
        rt_apply(d, ND_RTB_PROMOTE);
}

static void loop_release(struct ev_loop *loop) {
        nd_dns *d = ev_userdata(loop);
        if (rt_governed(d))
                rt_govern(d);
        pthread_mutex_unlock(&d->lock);
}

static void loop_acquire(struct ev_loop *loop) {
        nd_dns *d = ev_userdata(loop);
        /* a caller waits for the lock: it goes first (it holds it briefly;
         * bounded, should it be descheduled meanwhile).  At real-time
         * priority a yield lets no normal task in: the thread blocks on
         * the lock instead, which lends the holder its priority and, on
         * unlock, hands the lock to the waiter (a priority-inheriting
         * mutex) */
        if (!d->rt)
                for (int i = 0; i < 1000 && atomic_load(&d->waiting) > 0; i++)
                        sched_yield();
        pthread_mutex_lock(&d->lock);
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents) {
        nd_dns *d = container_of(w, nd_dns, wake);
        if (d->stopping)
                ev_break(loop, EVBREAK_ALL);
}

static void *thread_main(void *arg) {
        nd_dns *d = arg;
        pthread_mutex_lock(&d->lock);
        if (d->rt_asked)
                rt_start(d);
        ev_run(d->loop, 0);
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

/* Its own loop, run by a thread that takes no signal (the daemon's loop
 * handles them). */
static int thread_start(nd_dns *d) {
        sigset_t all, old;
        d->loop = ev_loop_new(EVFLAG_AUTO);
        if (!d->loop)
                return -ENOMEM;
        ev_set_userdata(d->loop, d);
        ev_set_loop_release_cb(d->loop, loop_release, loop_acquire);
        ev_async_init(&d->wake, on_wake);
        ev_async_start(d->loop, &d->wake);
        d->threaded = true;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int r = pthread_create(&d->thread, NULL, thread_main, d);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                d->threaded = false;
                ev_async_stop(d->loop, &d->wake);
                ev_loop_destroy(d->loop);
                d->loop = NULL;
                return -r;
        }
        (void) pthread_setname_np(d->thread, "netd-dns");
        return 0;
}

static void thread_stop(nd_dns *d) {
        if (!d->threaded)
                return;
        nd_dns_enter(d);
        d->stopping = true;
        nd_dns_leave_wake(d);
        pthread_join(d->thread, NULL);
        d->threaded = false;
}

int nd_dns_new(struct ev_loop *loop, const nd_dns_config *cfg, nd_dns **ret) {
        pthread_mutexattr_t ma;
        nd_dns *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
        /* the thread may run at real-time priority (rtbudget.h): whoever
         * holds the lock while it waits runs at its priority meanwhile */
        pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
        pthread_mutex_init(&d->lock, &ma);
        pthread_mutexattr_destroy(&ma);
        d->loop = loop;
        d->psi_fd = -1;
        d->names = nd_dns_names_new();
        d->resolv = strdup(cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf");
        if (!d->names || !d->resolv) {
                nd_dns_free(d);
                return -ENOMEM;
        }
        d->timeout = cfg->timeout > 0 ? cfg->timeout : 1.0;
        d->fwd_max = cfg->forward_max ? cfg->forward_max : FWD_MAX_DEFAULT;
        d->fwd_max_sandbox = cfg->forward_max_sandbox ? cfg->forward_max_sandbox : FWD_MAX_SANDBOX_DEFAULT;
        nd_hist_init(&d->fwd_lat, nd_hist_latency_bounds, nd_hist_latency_n);
        d->n_fixed = cfg->n_servers < ND_DNS_MAX_UPSTREAMS ? cfg->n_servers : ND_DNS_MAX_UPSTREAMS;
        if (d->n_fixed)
                memcpy(d->fixed, cfg->servers, d->n_fixed * sizeof(*d->fixed));
        /* the thread starts once everything it reads is set */
        if (cfg->own_thread) {
                d->loop = NULL;
                d->rt_asked = cfg->realtime;
                int r = thread_start(d);
                if (r < 0) {
                        nd_dns_free(d);
                        return r;
                }
                nd_dns_names_set_lock(d->names, names_lock, names_unlock, d);
        }
        nd_dns_enter(d);
        nd_dns_upstreams_start(d);
        nd_dns_leave_wake(d);
        *ret = d;
        return 0;
}

nd_dns *nd_dns_free(nd_dns *d) {
        if (!d)
                return NULL;
        bool own_loop = d->threaded;
        thread_stop(d); /* one thread from here on */
        if (d->loop && ev_is_active(&d->st))
                ev_stat_stop(d->loop, &d->st);
        if (own_loop)
                ev_async_stop(d->loop, &d->wake);
        if (own_loop && ev_is_active(&d->psi_timer))
                ev_timer_stop(d->loop, &d->psi_timer);
        if (d->psi_fd >= 0)
                close(d->psi_fd);
        nd_dns_upsocks_free(d);
        while (d->ctrs) {
                nd_dns_ctr *c = d->ctrs;
                d->ctrs = c->next;
                free(c);
        }
        nd_dns_names_free(d->names);
        free(d->resolv);
        if (own_loop)
                ev_loop_destroy(d->loop);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
}

nd_dns_names *nd_dns_table(nd_dns *d) {
        return d->names;
}

json_t *nd_dns_upstreams(const nd_dns *d) {
        json_t *a = json_array();
        char buf[ND_ADDR_STRLEN];
        nd_dns_enter(d);
        for (size_t i = 0; a && i < d->n_ups; i++)
                json_array_append_new(a, json_string(nd_addr_fmt(&d->ups[i], buf)));
        nd_dns_leave(d);
        return a;
}

/* How the service's thread is scheduled now, and why (rtbudget.h). */
static const char *scheduling(const nd_dns *d, char *buf, size_t len) {
        if (!d->threaded)
                return "the daemon's loop";
        if (d->rt_err)
                snprintf(buf, len, "normal (no real-time priority: %s)", strerror(d->rt_err));
        else if (!d->rt_asked)
                snprintf(buf, len, "normal (--dns-realtime off)");
        else if (d->rt)
                snprintf(buf, len, "realtime");
        else if (!d->rtb.light)
                snprintf(buf, len, "normal (over its CPU budget)");
        else
                snprintf(buf, len, "normal (no CPU contention)");
        return buf;
}

json_t *nd_dns_status(const nd_dns *d) {
        char sched[96];
        nd_dns_enter(d);
        json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "ForwardsInFlight",
                              (json_int_t) d->inflight, "ForwardMax", (json_int_t) d->fwd_max,
                              "ForwardMaxPerSandbox", (json_int_t) d->fwd_max_sandbox, "ForwardsRefused",
                              (json_int_t) d->fwd_refused, "FloodDropped", (json_int_t) d->flood_dropped,
                              "UpstreamSockets", (json_int_t) d->n_socks, "ForgedReplies", (json_int_t) d->forged,
                              "Scheduling", scheduling(d, sched, sizeof(sched)), "RealtimeDemotions",
                              (json_int_t) d->rtb.demotions);
        nd_dns_leave(d);
        return j;
}

void nd_dns_metrics(const nd_dns *d, nd_expo *e) {
        static const char *const rc[16] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
        char l[160];
        nd_dns_enter(d);
        nd_expo_family(e, "netd_dns_queries_total", "counter", "Queries to the embedded DNS, by the sandbox's first network.");
        for (const nd_dns_ctr *c = d->ctrs; c; c = c->next)
                nd_expo_sample(e, "netd_dns_queries_total", nd_expo_labels(l, sizeof(l), 1, "network", c->net),
                               (double) c->queries);
        nd_expo_family(e, "netd_dns_queries_by_type_total", "counter",
                       "Queries to the embedded DNS by network and query type (A, AAAA, PTR, SRV, TXT, MX, ANY, other).");
        for (const nd_dns_ctr *c = d->ctrs; c; c = c->next)
                for (int t = 0; t < _ND_DNS_QTYPE_MAX; t++)
                        nd_expo_sample(e, "netd_dns_queries_by_type_total",
                                       nd_expo_labels(l, sizeof(l), 2, "network", c->net, "type",
                                                      nd_dns_qtype_to_string((nd_dns_qtype) t)),
                                       (double) c->qtypes[t]);
        nd_expo_family(e, "netd_dns_responses_total", "counter", "Answers, local or relayed, by network and rcode.");
        for (const nd_dns_ctr *c = d->ctrs; c; c = c->next)
                for (int i = 0; i < 16; i++)
                        if (c->rcode[i] || i < 6)
                                nd_expo_sample(e, "netd_dns_responses_total",
                                               nd_expo_labels(l, sizeof(l), 2, "network", c->net, "rcode",
                                                              rc[i] ? rc[i] : "OTHER"),
                                               (double) c->rcode[i]);
        nd_expo_family(e, "netd_dns_forwarded_total", "counter", "Queries forwarded upstream, by network.");
        for (const nd_dns_ctr *c = d->ctrs; c; c = c->next)
                nd_expo_sample(e, "netd_dns_forwarded_total", nd_expo_labels(l, sizeof(l), 1, "network", c->net),
                               (double) c->forwarded);
        nd_expo_family(e, "netd_dns_upstream_timeouts_total", "counter", "Upstream tries that timed out, by network.");
        for (const nd_dns_ctr *c = d->ctrs; c; c = c->next)
                nd_expo_sample(e, "netd_dns_upstream_timeouts_total", nd_expo_labels(l, sizeof(l), 1, "network", c->net),
                               (double) c->timeouts);
        nd_expo_family(e, "netd_dns_forwards_in_flight", "gauge", "Forwarded queries waiting for an upstream.");
        nd_expo_sample(e, "netd_dns_forwards_in_flight", NULL, d->inflight);
        nd_expo_family(e, "netd_dns_forwards_refused_total", "counter",
                       "Queries answered SERVFAIL at once because of the forwarding bounds.");
        nd_expo_sample(e, "netd_dns_forwards_refused_total", NULL, (double) d->fwd_refused);
        nd_expo_family(e, "netd_dns_flood_dropped_total", "counter",
                       "Queries of sandboxes over their bound dropped unanswered (beyond 1000 SERVFAIL/s).");
        nd_expo_sample(e, "netd_dns_flood_dropped_total", NULL, (double) d->flood_dropped);
        nd_expo_family(e, "netd_dns_forged_replies_total", "counter",
                       "Upstream replies with a known ID but another question (dropped).");
        nd_expo_sample(e, "netd_dns_forged_replies_total", NULL, (double) d->forged);
        nd_expo_family(e, "netd_dns_upstream_sockets", "gauge", "UDP sockets open towards upstream servers.");
        nd_expo_sample(e, "netd_dns_upstream_sockets", NULL, (double) d->n_socks);
        nd_expo_family(e, "netd_dns_realtime", "gauge",
                       "1 while the DNS thread runs at real-time priority (it drops to normal over its CPU budget).");
        nd_expo_sample(e, "netd_dns_realtime", NULL, d->threaded && d->rt ? 1 : 0);
        nd_expo_family(e, "netd_dns_realtime_demotions_total", "counter",
                       "Times the DNS thread dropped to normal priority for using over its CPU budget.");
        nd_expo_sample(e, "netd_dns_realtime_demotions_total", NULL, (double) d->rtb.demotions);
        nd_expo_family(e, "netd_dns_forward_duration_seconds", "histogram",
                       "Time from forwarding a query to relaying its answer.");
        nd_expo_hist(e, "netd_dns_forward_duration_seconds", NULL, &d->fwd_lat);
        nd_dns_leave(d);
}

nd_dns_ctr *nd_dns_ctr_get(nd_dns *d, const char *net) {
        for (nd_dns_ctr *c = d->ctrs; c; c = c->next)
                if (strcmp(c->net, net) == 0)
                        return c;
        nd_dns_ctr *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        snprintf(c->net, sizeof(c->net), "%s", net);
        c->next = d->ctrs;
        d->ctrs = c;
        return c;
}

json_t *nd_dns_counters(const nd_dns *d, const char *net) {
        static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
        const nd_dns_ctr *c = NULL;
        nd_dns_enter(d);
        for (const nd_dns_ctr *k = d->ctrs; k; k = k->next)
                if (strcmp(k->net, net) == 0)
                        c = k;
        json_t *by = json_object();
        uint64_t other = 0;
        for (size_t i = 0; i < 16; i++) {
                uint64_t v = c ? c->rcode[i] : 0;
                if (i < sizeof(names) / sizeof(*names))
                        json_object_set_new(by, names[i], json_integer((json_int_t) v));
                else
                        other += v;
        }
        json_object_set_new(by, "OTHER", json_integer((json_int_t) other));
        json_t *j = json_pack("{s:I, s:o, s:I, s:I}", "Queries", (json_int_t) (c ? c->queries : 0), "Answers", by,
                         "Forwarded", (json_int_t) (c ? c->forwarded : 0), "UpstreamTimeouts",
                         (json_int_t) (c ? c->timeouts : 0));
        nd_dns_leave(d);
        return j;
}
