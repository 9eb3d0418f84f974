/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file server.h
 * The embedded DNS service on the daemon's event loop: a UDP and a TCP
 * listener at 127.0.0.11:53 inside every sandbox on a named network,
 * local answers from the name table (answer.h), and everything else
 * forwarded upstream from the host's namespace.
 *
 * Forwarding: each query goes out on its own connected UDP socket with a
 * fresh random ID (the client's ID is restored on the way back), with a
 * per-upstream timeout; on timeout or refusal the next upstream is tried,
 * and when none is left the client gets SERVFAIL.  A truncated upstream
 * answer is fetched again over TCP.  Nothing here blocks: sockets are
 * non-blocking watchers, TCP connects included.
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
        double timeout;           /* per upstream try; 0: 1.0 s */
} nd_dns_config;

int nd_dns_new(struct ev_loop *loop, const nd_dns_config *cfg, nd_dns **ret);
nd_dns *nd_dns_free(nd_dns *d);
nd_dns_names *nd_dns_table(nd_dns *d);

/* The upstreams in use, as JSON strings. */
json_t *nd_dns_upstreams(const nd_dns *d);
/* Counters of network @net: Queries, Answers{NOERROR,...}, Forwarded,
 * UpstreamTimeouts. */
json_t *nd_dns_counters(const nd_dns *d, const char *net);

/* Listen inside the namespace @ns_fd.  @nets: the sandbox's network
 * names (copied; the first is the one its queries count for). */
int nd_dns_sandbox_open(nd_dns *d, int ns_fd, nd_dns_sandbox **ret);
void nd_dns_sandbox_close(nd_dns_sandbox *s);
/* What the sandbox sees: its networks, whether it may forward, its own
 * upstreams (n 0: the daemon's), the TTL of local answers. */
int nd_dns_sandbox_configure(nd_dns_sandbox *s, const char *const *nets, size_t n_nets, bool can_forward,
                             const nd_addr *servers, size_t n_servers, uint32_t ttl);
