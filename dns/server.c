/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "answer.h"
#include "macro.h"
#include "metrics.h"
#include "server.h"

#define MAX_TCP_CONNS 16     /* per sandbox */
#define TCP_IDLE 10.         /* seconds */
#define UDP_BATCH 16         /* datagrams per sandbox per wake-up: a flooding
                              * sandbox delays its neighbours by one batch */
#define MSG_MAX 65535
/* Forwarding: queries share a few connected UDP sockets per upstream, each
 * query with its own random ID (matched with the question on the way
 * back), so a flood costs a bounded number of descriptors.  A socket is
 * retired after SOCK_USES queries, so source ports keep changing; at most
 * SOCK_MAX per upstream exist. */
#define SOCK_ACTIVE 4        /* sockets taking new queries, per upstream */
#define SOCK_MAX 16          /* sockets per upstream, retiring ones included */
#define SOCK_USES 128
#define IDTAB 4096           /* in-flight queries by ID */
#define FWD_MAX_DEFAULT 1024 /* in flight, in total (Docker's embedded DNS: 1024) */
#define FWD_MAX_SANDBOX_DEFAULT 128 /* in flight, per sandbox (dnsmasq: 150) */
#define OVER_REPLIES 1000.0  /* SERVFAILs per second for a sandbox over its bound;
                              * beyond that its queries are dropped unanswered */

typedef struct counters {
        struct counters *next;
        char net[65];
        uint64_t queries, rcode[16], forwarded, timeouts;
} counters;

struct nd_dns {
        struct ev_loop *loop;
        nd_dns_names *names;
        nd_addr fixed[ND_DNS_MAX_UPSTREAMS];   /* --dns */
        size_t n_fixed;
        nd_addr ups[ND_DNS_MAX_UPSTREAMS];     /* in use */
        size_t n_ups;
        char *resolv;
        ev_stat st;
        double timeout;
        counters *ctrs;
        unsigned rotate;
        struct upsock *socks;
        size_t n_socks;
        struct fwd *idtab[IDTAB];
        unsigned fwd_max, fwd_max_sandbox, inflight;
        uint64_t fwd_refused, forged, flood_dropped;
        nd_hist fwd_lat;          /* forwarded query to relayed answer */
        ev_timer accept_retry;
        double backoff;
};

typedef struct upsock {
        struct upsock *next;
        nd_dns *d;
        nd_addr addr;
        int fd;
        ev_io io;
        unsigned uses, inflight;
        bool retiring, busy;
} upsock;

struct conn;
struct fwd;

struct nd_dns_sandbox {
        nd_dns *d;
        int ufd, tfd;
        ev_io uio, tio;
        char **nets;
        size_t n_nets;
        bool can_forward;
        nd_addr servers[ND_DNS_MAX_UPSTREAMS];
        size_t n_servers;
        uint32_t ttl;
        counters *ctr;
        struct fwd *fwds;
        struct conn *conns;
        size_t n_conns;
        unsigned inflight;
        double tokens, refilled;  /* SERVFAILs it may still get while over its bound */
        ev_timer accept_retry;  /* TCP accept paused (no descriptors) */
        double backoff;
};

typedef struct conn {
        struct conn *prev, *next;
        nd_dns_sandbox *sb;
        int fd;
        ev_io io;
        ev_timer idle;
        size_t len;
        uint8_t buf[2 + MSG_MAX];
} conn;

typedef struct fwd {
        struct fwd *prev, *next;
        nd_dns *d;
        nd_dns_sandbox *sb;       /* NULL once the sandbox closed */
        conn *c;                  /* a TCP client; NULL for UDP or once it closed */
        struct sockaddr_in client;
        uint16_t client_id, up_id;
        uint8_t *q;
        size_t qlen;
        nd_addr ups[ND_DNS_MAX_UPSTREAMS];
        size_t n_ups, next_up;
        int fd;
        ev_io io;
        ev_timer timer;
        bool tcp;
        uint8_t *tbuf;            /* TCP: the exchange in both directions */
        size_t tlen, toff;
        bool reading;
        upsock *us;               /* UDP: the shared socket of this try */
        double t0;                /* forwarded at */
        struct fwd *idnext;       /* in d->idtab */
} fwd;

/* ---- upstreams ---------------------------------------------------------------- */

#define RESOLV_MAX (64 * 1024)

size_t nd_dns_resolv_parse(const char *text, size_t len, nd_addr *out, size_t max) {
        size_t n = 0;
        for (size_t i = 0; i < len && n < max;) {
                const char *nl = memchr(text + i, '\n', len - i);
                size_t l = nl ? (size_t) (nl - (text + i)) : len - i;
                char line[512], word[64];
                /* longer lines are no nameserver lines; a piece of one must
                 * not pass for a line of its own */
                if (l < sizeof(line)) {
                        memcpy(line, text + i, l);
                        line[l] = 0;
                        if (sscanf(line, " nameserver %63s", word) == 1 && nd_addr_parse(word, &out[n]) == 0)
                                n++;
                }
                i += l + 1;
        }
        return n;
}

static size_t parse_resolv(const char *path, nd_addr *out, size_t max) {
        FILE *f = fopen(path, "re");
        if (!f)
                return 0;
        char *text = malloc(RESOLV_MAX);
        size_t len = text ? fread(text, 1, RESOLV_MAX, f) : 0;
        fclose(f);
        size_t n = text ? nd_dns_resolv_parse(text, len, out, max) : 0;
        free(text);
        return n;
}

static void upsocks_retire_all(nd_dns *d);

static void reload_upstreams(nd_dns *d) {
        upsocks_retire_all(d);
        if (d->n_fixed) {
                memcpy(d->ups, d->fixed, d->n_fixed * sizeof(*d->ups));
                d->n_ups = d->n_fixed;
                return;
        }
        d->n_ups = parse_resolv(d->resolv, d->ups, ND_DNS_MAX_UPSTREAMS);
}

static void on_resolv(struct ev_loop *loop, ev_stat *w, int revents) {
        reload_upstreams(container_of(w, nd_dns, st));
}

int nd_dns_new(struct ev_loop *loop, const nd_dns_config *cfg, nd_dns **ret) {
        nd_dns *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->loop = loop;
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
        memcpy(d->fixed, cfg->servers, d->n_fixed * sizeof(*d->fixed));
        reload_upstreams(d);
        if (!d->n_fixed) {
                /* a resolv.conf that changes (DHCP, an operator) is picked
                 * up without a restart */
                ev_stat_init(&d->st, on_resolv, d->resolv, 1.);
                ev_stat_start(loop, &d->st);
        }
        *ret = d;
        return 0;
}

nd_dns *nd_dns_free(nd_dns *d) {
        if (!d)
                return NULL;
        if (ev_is_active(&d->st))
                ev_stat_stop(d->loop, &d->st);
        while (d->socks) {
                upsock *us = d->socks;
                d->socks = us->next;
                ev_io_stop(d->loop, &us->io);
                close(us->fd);
                free(us);
        }
        while (d->ctrs) {
                counters *c = d->ctrs;
                d->ctrs = c->next;
                free(c);
        }
        nd_dns_names_free(d->names);
        free(d->resolv);
        free(d);
        return NULL;
}

nd_dns_names *nd_dns_table(nd_dns *d) {
        return d->names;
}

json_t *nd_dns_upstreams(const nd_dns *d) {
        json_t *a = json_array();
        char buf[ND_ADDR_STRLEN];
        for (size_t i = 0; a && i < d->n_ups; i++)
                json_array_append_new(a, json_string(nd_addr_fmt(&d->ups[i], buf)));
        return a;
}

json_t *nd_dns_status(const nd_dns *d) {
        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ForwardsInFlight", (json_int_t) d->inflight,
                         "ForwardMax", (json_int_t) d->fwd_max, "ForwardMaxPerSandbox", (json_int_t) d->fwd_max_sandbox,
                         "ForwardsRefused", (json_int_t) d->fwd_refused, "FloodDropped", (json_int_t) d->flood_dropped,
                         "UpstreamSockets", (json_int_t) d->n_socks, "ForgedReplies", (json_int_t) d->forged);
}

void nd_dns_metrics(const nd_dns *d, nd_expo *e) {
        static const char *const rc[16] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
        char l[160];
        nd_expo_family(e, "netd_dns_queries_total", "counter", "Queries to the embedded DNS, by the sandbox's first network.");
        for (const counters *c = d->ctrs; c; c = c->next)
                nd_expo_sample(e, "netd_dns_queries_total", nd_expo_labels(l, sizeof(l), 1, "network", c->net),
                               (double) c->queries);
        nd_expo_family(e, "netd_dns_responses_total", "counter", "Answers, local or relayed, by network and rcode.");
        for (const counters *c = d->ctrs; c; c = c->next)
                for (int i = 0; i < 16; i++)
                        if (c->rcode[i] || i < 6)
                                nd_expo_sample(e, "netd_dns_responses_total",
                                               nd_expo_labels(l, sizeof(l), 2, "network", c->net, "rcode",
                                                              rc[i] ? rc[i] : "OTHER"),
                                               (double) c->rcode[i]);
        nd_expo_family(e, "netd_dns_forwarded_total", "counter", "Queries forwarded upstream, by network.");
        for (const counters *c = d->ctrs; c; c = c->next)
                nd_expo_sample(e, "netd_dns_forwarded_total", nd_expo_labels(l, sizeof(l), 1, "network", c->net),
                               (double) c->forwarded);
        nd_expo_family(e, "netd_dns_upstream_timeouts_total", "counter", "Upstream tries that timed out, by network.");
        for (const counters *c = d->ctrs; c; c = c->next)
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
        nd_expo_family(e, "netd_dns_forward_duration_seconds", "histogram",
                       "Time from forwarding a query to relaying its answer.");
        nd_expo_hist(e, "netd_dns_forward_duration_seconds", NULL, &d->fwd_lat);
}

static counters *counters_for(nd_dns *d, const char *net) {
        for (counters *c = d->ctrs; c; c = c->next)
                if (strcmp(c->net, net) == 0)
                        return c;
        counters *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        snprintf(c->net, sizeof(c->net), "%s", net);
        c->next = d->ctrs;
        d->ctrs = c;
        return c;
}

json_t *nd_dns_counters(const nd_dns *d, const char *net) {
        static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
        const counters *c = NULL;
        for (const counters *k = d->ctrs; k; k = k->next)
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
        return json_pack("{s:I, s:o, s:I, s:I}", "Queries", (json_int_t) (c ? c->queries : 0), "Answers", by,
                         "Forwarded", (json_int_t) (c ? c->forwarded : 0), "UpstreamTimeouts",
                         (json_int_t) (c ? c->timeouts : 0));
}

static void count_rcode(nd_dns_sandbox *sb, const uint8_t *reply, size_t len) {
        if (sb && sb->ctr && len >= 4)
                sb->ctr->rcode[reply[3] & 0xf]++;
}

/* ---- replies to clients ---------------------------------------------------------- */

static void conn_close(conn *c);

static void reply_tcp(conn *c, const uint8_t *msg, size_t len) {
        uint8_t hdr[2] = { (uint8_t) (len >> 8), (uint8_t) len };
        struct iovec iov[2] = { { hdr, 2 }, { (void *) msg, len } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
        /* a reply is at most 64 KiB: the socket buffer takes it; a client
         * that does not read loses its connection */
        ssize_t k = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k != (ssize_t) (len + 2))
                conn_close(c);
}

static void reply_udp(nd_dns_sandbox *sb, const struct sockaddr_in *to, const uint8_t *msg, size_t len) {
        (void) sendto(sb->ufd, msg, len, MSG_DONTWAIT, (const struct sockaddr *) to, sizeof(*to));
}

/* ---- the shared upstream sockets ------------------------------------------------ */

static void upsock_close(upsock *us) {
        nd_dns *d = us->d;
        for (upsock **p = &d->socks; *p; p = &(*p)->next)
                if (*p == us) {
                        *p = us->next;
                        break;
                }
        ev_io_stop(d->loop, &us->io);
        close(us->fd);
        d->n_socks--;
        free(us);
}

static void upsock_maybe_close(upsock *us) {
        if (us->retiring && !us->inflight && !us->busy)
                upsock_close(us);
}

static void upsocks_retire_all(nd_dns *d) {
        for (upsock *us = d->socks, *next; us; us = next) {
                next = us->next;
                us->retiring = true;
                upsock_maybe_close(us);
        }
}

static void on_upsock(struct ev_loop *loop, ev_io *w, int revents);

union upstream_sa {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
};

/* Port 53 of upstream @a. */
static socklen_t upstream_sa(const nd_addr *a, union upstream_sa *u) {
        *u = (union upstream_sa) {0};
        if (a->family == AF_INET) {
                u->in4 = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(53) };
                memcpy(&u->in4.sin_addr, a->b, 4);
                return sizeof(u->in4);
        }
        u->in6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_port = htons(53) };
        memcpy(&u->in6.sin6_addr, a->b, 16);
        return sizeof(u->in6);
}

/* A socket to @a for one more query: the active one with the fewest in
 * flight, or a new one while there are fewer than SOCK_ACTIVE. */
static upsock *upsock_get(nd_dns *d, const nd_addr *a) {
        upsock *best = NULL;
        size_t active = 0, all = 0;
        for (upsock *us = d->socks; us; us = us->next) {
                if (!nd_addr_equal(&us->addr, a))
                        continue;
                all++;
                if (us->retiring)
                        continue;
                active++;
                if (!best || us->inflight < best->inflight)
                        best = us;
        }
        if (best && (best->inflight == 0 || active >= SOCK_ACTIVE || all >= SOCK_MAX))
                goto take;
        if (all < SOCK_MAX) {
                union upstream_sa u;
                socklen_t sl = upstream_sa(a, &u);
                upsock *us = calloc(1, sizeof(*us));
                int fd = us ? socket(a->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
                /* connected: the kernel drops datagrams from anyone else, and
                 * picks a fresh ephemeral source port */
                if (fd >= 0 && connect(fd, &u.sa, sl) == 0) {
                        *us = (upsock) { .d = d, .addr = *a, .fd = fd, .next = d->socks };
                        ev_io_init(&us->io, on_upsock, fd, EV_READ);
                        ev_io_start(d->loop, &us->io);
                        d->socks = us;
                        d->n_socks++;
                        best = us;
                        goto take;
                }
                if (fd >= 0)
                        close(fd);
                free(us);
        }
        if (!best)
                return NULL; /* no descriptor: the caller tries the next upstream */
take:
        best->inflight++;
        if (++best->uses >= SOCK_USES && all < SOCK_MAX)
                best->retiring = true;
        return best;
}

static size_t id_slot(uint16_t id) {
        return id & (IDTAB - 1);
}

static fwd *id_find(nd_dns *d, const upsock *us, uint16_t id) {
        for (fwd *f = d->idtab[id_slot(id)]; f; f = f->idnext)
                if (f->us == us && f->up_id == id)
                        return f;
        return NULL;
}

/* Take @f's shared socket back (and its ID out of the table). */
static void fwd_unbind(fwd *f) {
        upsock *us = f->us;
        if (!us)
                return;
        for (fwd **p = &f->d->idtab[id_slot(f->up_id)]; *p; p = &(*p)->idnext)
                if (*p == f) {
                        *p = f->idnext;
                        break;
                }
        f->us = NULL;
        us->inflight--;
        upsock_maybe_close(us);
}

/* ---- forwarding ------------------------------------------------------------------ */

static void fwd_free(fwd *f) {
        ev_io_stop(f->d->loop, &f->io);
        ev_timer_stop(f->d->loop, &f->timer);
        fwd_unbind(f);
        f->d->inflight--;
        if (f->sb)
                f->sb->inflight--;
        if (f->fd >= 0)
                close(f->fd);
        if (f->sb) {
                if (f->prev)
                        f->prev->next = f->next;
                else
                        f->sb->fwds = f->next;
                if (f->next)
                        f->next->prev = f->prev;
        }
        free(f->q);
        free(f->tbuf);
        free(f);
}

static void fwd_reply(fwd *f, uint8_t *msg, size_t len) {
        /* the client's ID back */
        msg[0] = (uint8_t) (f->client_id >> 8);
        msg[1] = (uint8_t) f->client_id;
        count_rcode(f->sb, msg, len);
        if (f->c)
                reply_tcp(f->c, msg, len);
        else if (f->sb)
                reply_udp(f->sb, &f->client, msg, len);
}

/* An upstream's answer relayed: its latency counts. */
static void fwd_answered(fwd *f, uint8_t *msg, size_t len) {
        nd_hist_observe(&f->d->fwd_lat, ev_now(f->d->loop) - f->t0);
        fwd_reply(f, msg, len);
}

static void fwd_fail(fwd *f) {
        size_t n;
        f->q[0] = (uint8_t) (f->client_id >> 8);
        f->q[1] = (uint8_t) f->client_id;
        uint8_t *r = nd_dns_servfail(f->q, f->qlen, &n);
        if (r) {
                fwd_reply(f, r, n);
                free(r);
        }
        fwd_free(f);
}

static int fwd_try(fwd *f);

static void on_fwd_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
        fwd *f = container_of(w, fwd, timer);
        if (f->sb && f->sb->ctr)
                f->sb->ctr->timeouts++;
        if (fwd_try(f) < 0)
                fwd_fail(f);
}

/* A shared socket's replies: each goes to the query with its ID, if it
 * carries that query's question. */
static void on_upsock(struct ev_loop *loop, ev_io *w, int revents) {
        upsock *us = container_of(w, upsock, io);
        uint8_t buf[MSG_MAX];
        us->busy = true;
        for (int i = 0; i < UDP_BATCH; i++) {
                ssize_t k = recv(us->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (k < 12)
                        continue; /* ICMP refusals and junk: the query times out */
                fwd *f = id_find(us->d, us, (uint16_t) ((buf[0] << 8) | buf[1]));
                if (!f)
                        continue; /* late, or not ours */
                if (!nd_dns_reply_matches(f->q, f->qlen, buf, (size_t) k)) {
                        us->d->forged++;
                        continue;
                }
                switch (nd_dns_upstream_check(buf, (size_t) k, f->up_id, false)) {
                case ND_DNS_UP_TCP:
                        /* truncated: the same upstream over TCP */
                        f->tcp = true;
                        f->next_up--;
                        if (fwd_try(f) < 0)
                                fwd_fail(f);
                        break;
                case ND_DNS_UP_RELAY:
                        fwd_answered(f, buf, (size_t) k);
                        fwd_free(f);
                        break;
                default:
                        break;
                }
        }
        us->busy = false;
        upsock_maybe_close(us);
}

static void on_fwd_io(struct ev_loop *loop, ev_io *w, int revents) {
        fwd *f = container_of(w, fwd, io);
        /* TCP: write the length-prefixed query, then read the answer */
        if (!f->reading) {
                ssize_t k = send(f->fd, f->tbuf + f->toff, f->tlen - f->toff, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (k <= 0)
                        goto next;
                f->toff += (size_t) k;
                if (f->toff < f->tlen)
                        return;
                f->reading = true;
                f->toff = 0;
                ev_io_stop(loop, &f->io);
                ev_io_set(&f->io, f->fd, EV_READ);
                ev_io_start(loop, &f->io);
                return;
        }
        size_t want = f->toff < 2 ? 2 : 2 + (size_t) ((f->tbuf[0] << 8) | f->tbuf[1]);
        ssize_t k = recv(f->fd, f->tbuf + f->toff, want - f->toff, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k <= 0)
                goto next;
        f->toff += (size_t) k;
        if (f->toff == 2 && want == 2)
                return; /* got the length; read the rest next time */
        if (f->toff < want)
                return;
        if (nd_dns_upstream_check(f->tbuf + 2, want - 2, f->up_id, true) != ND_DNS_UP_RELAY)
                goto next;
        fwd_answered(f, f->tbuf + 2, want - 2);
        fwd_free(f);
        return;
next:
        if (fwd_try(f) < 0)
                fwd_fail(f);
}

/* Send to the next upstream; -1 when none is left. */
static int fwd_try(fwd *f) {
        struct ev_loop *loop = f->d->loop;
        ev_io_stop(loop, &f->io);
        ev_timer_stop(loop, &f->timer);
        fwd_unbind(f);
        if (f->fd >= 0) {
                close(f->fd);
                f->fd = -1;
        }
        while (f->next_up < f->n_ups) {
                const nd_addr *a = &f->ups[f->next_up++];
                if (!f->tcp) {
                        upsock *us = upsock_get(f->d, a);
                        if (!us)
                                continue;
                        /* a fresh random ID per try, unique on its socket: an
                         * answer meant for an earlier try (or forged) does
                         * not match */
                        for (int t = 0; t < 16; t++) {
                                if (getrandom(&f->up_id, sizeof(f->up_id), GRND_NONBLOCK) != sizeof(f->up_id))
                                        f->up_id = (uint16_t) (f->up_id * 31 + 7);
                                if (!id_find(f->d, us, f->up_id))
                                        break;
                        }
                        f->q[0] = (uint8_t) (f->up_id >> 8);
                        f->q[1] = (uint8_t) f->up_id;
                        f->us = us;
                        f->idnext = f->d->idtab[id_slot(f->up_id)];
                        f->d->idtab[id_slot(f->up_id)] = f;
                        if (send(us->fd, f->q, f->qlen, MSG_DONTWAIT) < 0) {
                                fwd_unbind(f);
                                continue;
                        }
                        ev_timer_set(&f->timer, f->d->timeout, 0.);
                        ev_timer_start(loop, &f->timer);
                        return 0;
                }
                union upstream_sa u;
                socklen_t sl = upstream_sa(a, &u);
                f->fd = socket(a->family, (f->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (f->fd < 0)
                        continue;
                if (connect(f->fd, &u.sa, sl) < 0 && errno != EINPROGRESS) {
                        close(f->fd);
                        f->fd = -1;
                        continue;
                }
                /* a fresh ID per try: an answer meant for an earlier one
                 * (or forged) does not match */
                if (getrandom(&f->up_id, sizeof(f->up_id), GRND_NONBLOCK) != sizeof(f->up_id))
                        f->up_id = (uint16_t) (f->up_id * 31 + 7);
                f->q[0] = (uint8_t) (f->up_id >> 8);
                f->q[1] = (uint8_t) f->up_id;
                if (f->tcp) {
                        free(f->tbuf);
                        f->tbuf = malloc(2 + MSG_MAX);
                        if (!f->tbuf)
                                return -1;
                        f->tbuf[0] = (uint8_t) (f->qlen >> 8);
                        f->tbuf[1] = (uint8_t) f->qlen;
                        memcpy(f->tbuf + 2, f->q, f->qlen);
                        f->tlen = 2 + f->qlen;
                        f->toff = 0;
                        f->reading = false;
                        ev_io_set(&f->io, f->fd, EV_WRITE);
                } else {
                        if (send(f->fd, f->q, f->qlen, MSG_DONTWAIT) < 0) {
                                close(f->fd);
                                f->fd = -1;
                                continue;
                        }
                        ev_io_set(&f->io, f->fd, EV_READ);
                }
                ev_io_start(loop, &f->io);
                ev_timer_set(&f->timer, f->d->timeout * (f->tcp ? 2 : 1), 0.);
                ev_timer_start(loop, &f->timer);
                return 0;
        }
        return -1;
}

/* Counted, then to the client over TCP (@c) or UDP; takes @msg. */
static void reply_to(nd_dns_sandbox *sb, conn *c, const struct sockaddr_in *client, uint8_t *msg, size_t n) {
        count_rcode(sb, msg, n);
        if (c)
                reply_tcp(c, msg, n);
        else
                reply_udp(sb, client, msg, n);
        free(msg);
}

static void forward(nd_dns_sandbox *sb, conn *c, const struct sockaddr_in *client, const uint8_t *q, size_t len) {
        nd_dns *d = sb->d;
        if (d->inflight >= d->fwd_max || sb->inflight >= d->fwd_max_sandbox) {
                /* over the bound: SERVFAIL now, as for a dead upstream */
                size_t n;
                uint8_t *r = nd_dns_servfail(q, len, &n);
                d->fwd_refused++;
                if (r)
                        reply_to(sb, c, client, r, n);
                return;
        }
        fwd *f = calloc(1, sizeof(*f));
        if (!f)
                return;
        f->d = d;
        f->sb = sb;
        f->c = c;
        f->fd = -1;
        if (client)
                f->client = *client;
        f->client_id = (uint16_t) ((q[0] << 8) | q[1]);
        f->q = malloc(len);
        if (!f->q) {
                free(f);
                return;
        }
        memcpy(f->q, q, len);
        f->qlen = len;
        if (sb->n_servers) {
                memcpy(f->ups, sb->servers, sb->n_servers * sizeof(*f->ups));
                f->n_ups = sb->n_servers;
        } else {
                memcpy(f->ups, d->ups, d->n_ups * sizeof(*f->ups));
                f->n_ups = d->n_ups;
        }
        ev_init(&f->io, on_fwd_io);
        ev_init(&f->timer, on_fwd_timeout);
        d->inflight++;
        sb->inflight++;
        f->t0 = ev_now(d->loop);
        f->next = sb->fwds;
        if (sb->fwds)
                sb->fwds->prev = f;
        sb->fwds = f;
        if (sb->ctr)
                sb->ctr->forwarded++;
        if (fwd_try(f) < 0)
                fwd_fail(f);
}

/* ---- one query ------------------------------------------------------------------- */

static void handle(nd_dns_sandbox *sb, conn *c, const struct sockaddr_in *client, const uint8_t *q, size_t len) {
        nd_dns_view v = { .names = sb->d->names, .nets = (const char *const *) sb->nets, .n_nets = sb->n_nets,
                          .ttl = sb->ttl, .rotate = sb->d->rotate++, .can_forward = sb->can_forward };
        uint8_t *out;
        size_t n;

        if (sb->ctr)
                sb->ctr->queries++;
        switch (nd_dns_answer(&v, q, len, c != NULL, &out, &n, NULL)) {
        case ND_DNS_REPLY:
                reply_to(sb, c, client, out, n);
                break;
        case ND_DNS_FORWARD:
                forward(sb, c, client, q, len);
                break;
        case ND_DNS_DROP:
                break;
        }
}

static void on_udp(struct ev_loop *loop, ev_io *w, int revents) {
        nd_dns_sandbox *sb = container_of(w, nd_dns_sandbox, uio);
        static uint8_t bufs[UDP_BATCH][MSG_MAX];
        struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
        struct iovec iov[UDP_BATCH], oiov[UDP_BATCH];
        struct sockaddr_in from[UDP_BATCH];
        unsigned n_out = 0;

        for (unsigned i = 0; i < UDP_BATCH; i++) {
                iov[i] = (struct iovec) { bufs[i], MSG_MAX };
                in[i] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
                                                         .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }
        int got = recvmmsg(sb->ufd, in, UDP_BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < got; i++) {
                size_t len = in[i].msg_len;
                if (sb->inflight < sb->d->fwd_max_sandbox && sb->d->inflight < sb->d->fwd_max) {
                        handle(sb, NULL, &from[i], bufs[i], len);
                        continue;
                }
                /* Over the forwarding bound (a flood): SERVFAIL for every
                 * query of this sandbox until its forwards drain, made in
                 * place without parsing the query and sent in one batch,
                 * so the flood costs its neighbours little. */
                if (sb->ctr)
                        sb->ctr->queries++;
                double now = ev_now(loop);
                sb->tokens += (now - sb->refilled) * OVER_REPLIES;
                if (sb->tokens > OVER_REPLIES)
                        sb->tokens = OVER_REPLIES;
                sb->refilled = now;
                if (sb->tokens < 1) {
                        /* a client that floods on: silence slows it down */
                        sb->d->flood_dropped++;
                        continue;
                }
                sb->tokens--;
                sb->d->fwd_refused++;
                size_t n = nd_dns_servfail_inplace(bufs[i], len);
                if (!n)
                        continue;
                count_rcode(sb, bufs[i], n);
                oiov[n_out] = (struct iovec) { bufs[i], n };
                out[n_out] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
                                                             .msg_iov = &oiov[n_out], .msg_iovlen = 1 } };
                n_out++;
        }
        if (n_out)
                (void) sendmmsg(sb->ufd, out, n_out, MSG_DONTWAIT);
}

static void conn_close(conn *c) {
        nd_dns_sandbox *sb = c->sb;
        struct ev_loop *loop = sb->d->loop;
        /* forwards for this client: their answers have nowhere to go */
        for (fwd *f = sb->fwds, *next; f; f = next) {
                next = f->next;
                if (f->c == c)
                        fwd_free(f);
        }
        ev_io_stop(loop, &c->io);
        ev_timer_stop(loop, &c->idle);
        close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                sb->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        sb->n_conns--;
        free(c);
}

static void on_conn_idle(struct ev_loop *loop, ev_timer *w, int revents) {
        conn_close(container_of(w, conn, idle));
}

static void on_conn(struct ev_loop *loop, ev_io *w, int revents) {
        conn *c = container_of(w, conn, io);
        ssize_t k = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k <= 0) {
                conn_close(c);
                return;
        }
        c->len += (size_t) k;
        ev_timer_again(loop, &c->idle);
        /* every complete length-prefixed message in the buffer */
        while (c->len >= 2) {
                size_t m = (size_t) ((c->buf[0] << 8) | c->buf[1]);
                if (c->len < 2 + m)
                        return;
                uint8_t msg[MSG_MAX];
                memcpy(msg, c->buf + 2, m);
                memmove(c->buf, c->buf + 2 + m, c->len - 2 - m);
                c->len -= 2 + m;
                nd_dns_sandbox *sb = c->sb;
                size_t before = sb->n_conns;
                handle(sb, c, NULL, msg, m);
                if (sb->n_conns != before)
                        return; /* the reply failed and closed @c */
        }
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_dns_sandbox *sb = container_of(w, nd_dns_sandbox, accept_retry);
        ev_io_start(loop, &sb->tio);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents) {
        nd_dns_sandbox *sb = container_of(w, nd_dns_sandbox, tio);
        int fd = accept4(sb->tfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* the pending connection stays queued and the socket
                         * readable: pause, or this loop spins until
                         * descriptors are free again */
                        sb->backoff = sb->backoff ? (sb->backoff * 2 > 1.0 ? 1.0 : sb->backoff * 2) : 0.05;
                        ev_io_stop(loop, &sb->tio);
                        ev_timer_set(&sb->accept_retry, sb->backoff, 0.);
                        ev_timer_start(loop, &sb->accept_retry);
                }
                return;
        }
        sb->backoff = 0;
        if (sb->n_conns >= MAX_TCP_CONNS) {
                /* the oldest idle client goes first, as resolvers do */
                conn *old = sb->conns;
                while (old && old->next)
                        old = old->next;
                if (old)
                        conn_close(old);
        }
        conn *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return;
        }
        c->sb = sb;
        c->fd = fd;
        ev_io_init(&c->io, on_conn, fd, EV_READ);
        ev_io_start(loop, &c->io);
        ev_init(&c->idle, on_conn_idle);
        c->idle.repeat = TCP_IDLE;
        ev_timer_again(loop, &c->idle);
        c->next = sb->conns;
        if (sb->conns)
                sb->conns->prev = c;
        sb->conns = c;
        sb->n_conns++;
}

/* ---- sandboxes -------------------------------------------------------------------- */

static int listen_in(int ns_fd, int type) {
        int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1, r = 0, one = 1;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
        if (self < 0)
                return -errno;
        inet_pton(AF_INET, "127.0.0.11", &sa.sin_addr);
        if (setns(ns_fd, CLONE_NEWNET) < 0) {
                r = -errno;
                close(self);
                return r;
        }
        fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                r = -errno;
        else {
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
                    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
                        r = -errno;
                        close(fd);
                }
        }
        /* back home; failing that nothing netd does afterwards is right */
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        close(self);
        return r < 0 ? r : fd;
}

int nd_dns_sandbox_open(nd_dns *d, int ns_fd, nd_dns_sandbox **ret) {
        nd_dns_sandbox *sb = calloc(1, sizeof(*sb));
        if (!sb)
                return -ENOMEM;
        sb->d = d;
        sb->ttl = ND_DNS_DEFAULT_TTL;
        sb->ufd = listen_in(ns_fd, SOCK_DGRAM);
        sb->tfd = sb->ufd >= 0 ? listen_in(ns_fd, SOCK_STREAM) : -1;
        if (sb->ufd < 0 || sb->tfd < 0) {
                int r = sb->ufd < 0 ? sb->ufd : sb->tfd;
                if (sb->ufd >= 0)
                        close(sb->ufd);
                free(sb);
                return r;
        }
        ev_io_init(&sb->uio, on_udp, sb->ufd, EV_READ);
        ev_io_start(d->loop, &sb->uio);
        ev_io_init(&sb->tio, on_accept, sb->tfd, EV_READ);
        ev_io_start(d->loop, &sb->tio);
        ev_init(&sb->accept_retry, on_accept_retry);
        *ret = sb;
        return 0;
}

static void free_nets(nd_dns_sandbox *sb) {
        for (size_t i = 0; i < sb->n_nets; i++)
                free(sb->nets[i]);
        free(sb->nets);
        sb->nets = NULL;
        sb->n_nets = 0;
}

void nd_dns_sandbox_close(nd_dns_sandbox *sb) {
        if (!sb)
                return;
        struct ev_loop *loop = sb->d->loop;
        while (sb->conns)
                conn_close(sb->conns);
        while (sb->fwds)
                fwd_free(sb->fwds);
        ev_io_stop(loop, &sb->uio);
        ev_io_stop(loop, &sb->tio);
        ev_timer_stop(loop, &sb->accept_retry);
        close(sb->ufd);
        close(sb->tfd);
        free_nets(sb);
        free(sb);
}

int nd_dns_sandbox_configure(nd_dns_sandbox *sb, const char *const *nets, size_t n_nets, bool can_forward,
                             const nd_addr *servers, size_t n_servers, uint32_t ttl) {
        char **v = calloc(n_nets + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n_nets; i++)
                if (!(v[i] = strdup(nets[i]))) {
                        while (i--)
                                free(v[i]);
                        free(v);
                        return -ENOMEM;
                }
        free_nets(sb);
        sb->nets = v;
        sb->n_nets = n_nets;
        sb->can_forward = can_forward;
        sb->n_servers = n_servers < ND_DNS_MAX_UPSTREAMS ? n_servers : ND_DNS_MAX_UPSTREAMS;
        if (sb->n_servers)
                memcpy(sb->servers, servers, sb->n_servers * sizeof(*sb->servers));
        sb->ttl = ttl;
        sb->ctr = n_nets ? counters_for(sb->d, nets[0]) : NULL;
        return 0;
}
