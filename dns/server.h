/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file server.h
 * The embedded DNS service on the daemon's event loop: a UDP and a TCP
 * listener at 127.0.0.11 inside every sandbox on a named network (on
 * ports the kernel picks: the caller redirects 127.0.0.11:53 to them, so
 * port 53 stays free for the container),
 * local answers from the name table (answer.h), and everything else
 * forwarded upstream from the host's namespace.
 *
 * Forwarding: queries share a few connected UDP sockets per upstream
 * (retired after a while, so source ports change), each query with a
 * fresh random ID (the client's ID is restored on the way back) and a
 * reply relayed only if it carries the query's ID and question; a
 * per-upstream timeout moves on to the next upstream, and when none is
 * left the client gets SERVFAIL.  A truncated upstream answer is fetched
 * again over TCP.  At most forward_max queries are in flight in total and
 * forward_max_sandbox per sandbox; beyond that the answer is SERVFAIL at
 * once (counted), at most 1000 a second per sandbox, and past that rate
 * the query is dropped unanswered, so a flood costs bounded descriptors
 * and memory.
 * Nothing here blocks: sockets are non-blocking watchers, TCP connects
 * included.
 *
 * Threads: with own_thread the service runs on a thread and an event loop
 * of its own, so an answer never waits for the daemon's loop (a burst of
 * API requests, a long nftables commit).  Its lock (recursive) is held by
 * that thread except while it polls, and taken by every function here and
 * by the name table's writers (names.h) when called from another thread;
 * nd_dns_hold/nd_dns_release make several changes one (a drop and the adds
 * that replace it), so no query sees the table half-changed.  Without
 * own_thread everything runs on the caller's loop, as in the unit tests.
 *
 * Upstreams: the daemon's --dns servers, else the nameservers of the
 * host's resolv.conf (re-read when it changes); a sandbox may carry its
 * own list (--dns on the container).
 */
#pragma once

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"

#define ND_DNS_MAX_UPSTREAMS 4
#define ND_DNS_DEFAULT_TTL 60

typedef struct nd_dns nd_dns;
typedef struct nd_dns_sandbox nd_dns_sandbox;

typedef struct nd_dns_config {
        const char *resolv_conf;  /* NULL: /etc/resolv.conf */
        const nd_addr *servers;   /* --dns; overrides resolv.conf */
        size_t n_servers;
        double timeout;           /* per upstream try (TCP: twice that); 0: 1.0 s */
        unsigned forward_max;     /* queries forwarded at once, in total; 0: 1024 */
        unsigned forward_max_sandbox; /* ... per sandbox; 0: 128 */
        bool own_thread;          /* serve on a thread and loop of its own (the loop given is unused) */
        bool realtime;            /* own_thread: real-time while the host is contended and it is light (rtbudget.h) */
} nd_dns_config;

/* The nameserver addresses of resolv.conf text @text[0..len) (at most
 * @max into @out); lines that do not parse are skipped.  Pure. */
size_t nd_dns_resolv_parse(const char *text, size_t len, nd_addr *out, size_t max);

int nd_dns_new(struct ev_loop *loop, const nd_dns_config *cfg, nd_dns **ret);
nd_dns *nd_dns_free(nd_dns *d);
nd_dns_names *nd_dns_table(nd_dns *d);
/* Hold the service still (see Threads above); nestable.  Each hold is
 * undone by one release. */
void nd_dns_hold(nd_dns *d);
void nd_dns_release(nd_dns *d);

/* Forwarding counters: in flight, limits, refused, flood-dropped,
 * upstream sockets, forged replies; the thread's scheduling and how often
 * it dropped to normal priority (rtbudget.h). */
json_t *nd_dns_status(const nd_dns *d);
/* Prometheus families: queries (in total and by type), answers by rcode, forwards by network,
 * forwarding bounds and sockets, forward latency. */
struct nd_expo;
void nd_dns_metrics(const nd_dns *d, struct nd_expo *e);
/* The upstreams in use, as JSON strings. */
json_t *nd_dns_upstreams(const nd_dns *d);
/* Counters of network @net: Queries, Answers{NOERROR,...}, Forwarded,
 * UpstreamTimeouts. */
json_t *nd_dns_counters(const nd_dns *d, const char *net);

/* Listen at 127.0.0.11 (UDP and TCP) inside the namespace @ns_fd
 * (borrowed), on @udp_port and @tcp_port (0: one the kernel picks).
 * Until configured the sandbox has no networks and does not forward. */
int nd_dns_sandbox_open(nd_dns *d, int ns_fd, uint16_t udp_port, uint16_t tcp_port, nd_dns_sandbox **ret);
/* The same in two halves, for a namespace visited off the loop: a
 * listener (SOCK_DGRAM or SOCK_STREAM) at 127.0.0.11:@port (0: the kernel
 * picks) in the calling thread's namespace, any thread (returns the fd);
 * then, on the loop, a sandbox serving the two (taken, also on failure). */
int nd_dns_sandbox_socket(int type, uint16_t port, uint16_t *ret_port);
int nd_dns_sandbox_adopt(nd_dns *d, int ufd, uint16_t udp_port, int tfd, uint16_t tcp_port, nd_dns_sandbox **ret);
/* The host's resolver (--host-dns): UDP and TCP at @a:@port (IPv4) in
 * netd's own namespace, answering NAME.NETWORK and PTR for the networks
 * it is configured with (nd_dns_sandbox_configure), and never forwarding
 * (answer.h).  Closed with nd_dns_sandbox_close. */
int nd_dns_host_open(nd_dns *d, const nd_addr *a, uint16_t port, nd_dns_sandbox **ret);
/* The legacy links of the container (--link NAME:ALIAS): each of
 * @aliases answers as the @names at the same index (copied), for this
 * sandbox only.  Replaces the previous list. */
int nd_dns_sandbox_set_links(nd_dns_sandbox *s, const char *const *aliases, const char *const *names, size_t n);
/* The ports it listens on. */
void nd_dns_sandbox_ports(const nd_dns_sandbox *s, uint16_t *ret_udp, uint16_t *ret_tcp);
/* Close the listeners, the TCP clients and the queries still forwarded
 * (unanswered).  NULL-safe. */
void nd_dns_sandbox_close(nd_dns_sandbox *s);
/* What the sandbox sees: its networks @nets (copied; the first is the one
 * its queries count for), whether it may forward, its own upstreams (n 0:
 * the daemon's; at most ND_DNS_MAX_UPSTREAMS are kept), the TTL of local
 * answers. */
int nd_dns_sandbox_configure(nd_dns_sandbox *s, const char *const *nets, size_t n_nets, bool can_forward,
                             const nd_addr *servers, size_t n_servers, uint32_t ttl);
