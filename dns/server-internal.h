/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file server-internal.h
 * What the parts of the DNS service (server.h) share, and nothing outside
 * dns/ includes: the service object and its per-network counters
 * (server.c), a sandbox's listeners and its TCP clients (listener.c),
 * forwarded queries and the shared upstream sockets (forward.c), and the
 * upstream list from --dns or resolv.conf (resolv.c).
 *
 * Ownership: nd_dns owns the counters and the upstream sockets; a sandbox
 * owns its TCP clients and its forwards; closing a client or a sandbox
 * frees the forwards that would answer it.  Teardown of every watcher is
 * stop, close, free.
 */
#pragma once

#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "metrics.h"
#include "rtbudget.h"
#include "server.h"

#define UDP_BATCH 16         /* datagrams per sandbox per wake-up: a flooding
                              * sandbox delays its neighbours by one batch */
#define MSG_MAX 65535
#define IDTAB 4096           /* in-flight queries by ID */

typedef struct nd_dns_ctr {
        struct nd_dns_ctr *next;
        char net[65];
        uint64_t queries, rcode[16], forwarded, timeouts;
        uint64_t qtypes[_ND_DNS_QTYPE_MAX]; /* queries again, by type: they add up to @queries */
} nd_dns_ctr;

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
        nd_dns_ctr *ctrs;
        unsigned rotate_family[2];  /* round-robin of A and AAAA answers (answer.h) */
        struct nd_dns_upsock *socks;
        size_t n_socks;
        struct nd_dns_fwd *idtab[IDTAB];
        unsigned fwd_max, fwd_max_sandbox, inflight;
        uint64_t fwd_refused, forged, flood_dropped;
        nd_hist fwd_lat;          /* forwarded query to relayed answer */
        /* server.h, Threads: @lock (recursive) is the service's; with
         * @threaded, @loop is its own and @thread runs it */
        pthread_mutex_t lock;
        atomic_uint waiting;      /* callers from outside waiting for @lock (nd_dns_enter) */
        bool threaded, stopping;
        pthread_t thread;
        ev_async wake;            /* the thread looks at its watchers again, or stops */
        /* the thread's priority (rtbudget.h), its own to change; @rt_asked:
         * config.realtime; @rt_err: why the kernel refused it (the
         * governing then ends); @rt: real-time now; @psi_fd:
         * /proc/pressure/cpu, read by @psi_timer */
        bool rt_asked, rt;
        int rt_err;
        nd_rtb rtb;
        int psi_fd;
        ev_timer psi_timer;
};

typedef struct nd_dns_upsock {
        struct nd_dns_upsock *next;
        nd_dns *d;
        nd_addr addr;
        int fd;
        ev_io io;
        unsigned uses, inflight;
        bool retiring, busy;
} nd_dns_upsock;

struct nd_dns_conn;
struct nd_dns_fwd;

struct nd_dns_sandbox {
        nd_dns *d;
        int ufd, tfd;
        uint16_t udp_port, tcp_port;
        ev_io uio, tio;
        char **nets;
        size_t n_nets;
        bool can_forward;
        bool host;                /* the host's resolver (nd_dns_host_open) */
        nd_dns_link *links;       /* strings owned, one allocation each */
        size_t n_links;
        nd_addr servers[ND_DNS_MAX_UPSTREAMS];
        size_t n_servers;
        uint32_t ttl;
        nd_dns_ctr *ctr;
        struct nd_dns_fwd *fwds;
        struct nd_dns_conn *conns;
        size_t n_conns;
        unsigned inflight;
        double tokens, refilled;  /* SERVFAILs it may still get while over its bound */
        ev_timer accept_retry;  /* TCP accept paused (no descriptors) */
        double backoff;
};

typedef struct nd_dns_conn {
        struct nd_dns_conn *prev, *next;
        nd_dns_sandbox *sb;
        int fd;
        ev_io io;
        ev_timer idle;
        size_t len;
        uint8_t buf[2 + MSG_MAX];
} nd_dns_conn;

typedef struct nd_dns_fwd {
        struct nd_dns_fwd *prev, *next;
        nd_dns *d;
        nd_dns_sandbox *sb;       /* the asking sandbox; its close frees its forwards */
        nd_dns_conn *c;           /* a TCP client (its close frees its forwards); NULL for UDP */
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
        nd_dns_upsock *us;        /* UDP: the shared socket of this try */
        double t0;                /* forwarded at */
        struct nd_dns_fwd *idnext; /* in d->idtab */
} nd_dns_fwd;

/* server.c: the service's lock taken by a function of server.h (nestable),
 * and given back; leave_wake also wakes the service's thread, for a
 * change of its watchers (started or stopped). */
void nd_dns_enter(const nd_dns *d);
void nd_dns_leave(const nd_dns *d);
void nd_dns_leave_wake(const nd_dns *d);

/* server.c: the counters of network @net, made on first use (NULL when
 * out of memory). */
nd_dns_ctr *nd_dns_ctr_get(nd_dns *d, const char *net);

/* A query of @sb's counted, in total and by type.  The host's resolver
 * has no counters (its queries are no network's), and pays nothing. */
static inline void nd_dns_count_query(nd_dns_sandbox *sb, const uint8_t *q, size_t len) {
        if (sb->ctr) {
                sb->ctr->queries++;
                sb->ctr->qtypes[nd_dns_query_type(q, len)]++;
        }
}

static inline void nd_dns_count_rcode(nd_dns_sandbox *sb, const uint8_t *reply, size_t len) {
        if (sb && sb->ctr && len >= 4)
                sb->ctr->rcode[reply[3] & 0xf]++;
}

/* resolv.c: the upstreams from --dns, else from resolv.conf, which is
 * then watched for changes. */
void nd_dns_upstreams_start(nd_dns *d);

/* listener.c: answers to a client, over TCP (@c) or UDP.  A TCP client
 * that does not take its reply is closed (and freed). */
void nd_dns_reply_tcp(nd_dns_conn *c, const uint8_t *msg, size_t len);
void nd_dns_reply_udp(nd_dns_sandbox *sb, const struct sockaddr_in *to, const uint8_t *msg, size_t len);
/* Counted, then to the client over TCP (@c) or UDP; takes @msg. */
void nd_dns_reply_to(nd_dns_sandbox *sb, nd_dns_conn *c, const struct sockaddr_in *client, uint8_t *msg,
                     size_t n);

/* forward.c: send query @q[0..len) of @sb's client upstream; the answer,
 * or SERVFAIL, comes back later through the reply functions above (at
 * once when over the forwarding bounds). */
void nd_dns_forward(nd_dns_sandbox *sb, nd_dns_conn *c, const struct sockaddr_in *client, const uint8_t *q,
                    size_t len);
/* Drop a forward without an answer. */
void nd_dns_fwd_free(nd_dns_fwd *f);
/* Let every upstream socket go once its queries are answered (the
 * upstreams changed). */
void nd_dns_upsocks_retire_all(nd_dns *d);
/* Close every upstream socket (nd_dns_free). */
void nd_dns_upsocks_free(nd_dns *d);
