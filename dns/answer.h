/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file answer.h
 * The embedded resolver's query handler: one DNS message in, the decision
 * and (for local answers and errors) the reply out.  Wire format with
 * ldns.  Pure: no sockets, no clock; the caller forwards what it is told to.
 *
 * Local names (names.h) are answered with AA set: A and AAAA (a name that
 * exists without an address of the asked family gets NOERROR and no
 * answer), PTR for endpoint addresses, NOERROR/no data for other types of a
 * local name.  Anything else is forwarded, or answered SERVFAIL when the
 * sandbox may not forward (internal networks).  The host's resolver
 * (view.host) answers NAME.NETWORK and PTR only, never forwards: an
 * unknown name below a network is NXDOMAIN, anything else REFUSED, so a
 * stub resolver moves on to its next server.  Malformed queries get
 * FORMERR when a header can be echoed, else nothing.  A UDP reply larger
 * than the client's EDNS0 buffer (512 without EDNS0) is truncated (TC).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"

/* A legacy link of the asking container (--link NAME:ALIAS): ALIAS
 * answers what NAME answers, for that container only. */
typedef struct nd_dns_link {
        const char *alias, *name;
} nd_dns_link;

typedef struct nd_dns_view {
        const nd_dns_names *names;
        const char *const *nets;  /* the asking sandbox's networks */
        size_t n_nets;
        uint32_t ttl;
        unsigned rotate;          /* changes on every query: round-robin */
        /* else, when set: one counter for A ([0]) and one for AAAA ([1]),
         * advanced by each lookup of that family.  A resolver asks A and
         * AAAA for one name (busybox's nslookup, glibc's getaddrinfo):
         * with one counter for both, two addresses came in the same order
         * every time */
        unsigned *rotate_family;
        bool can_forward;
        bool host;                /* the host's resolver (--host-dns): NAME.NET only; NXDOMAIN
                                   * below one of @nets, REFUSED for anything else */
        const nd_dns_link *links;
        size_t n_links;
} nd_dns_view;

typedef enum nd_dns_verdict {
        ND_DNS_REPLY,     /* send *out */
        ND_DNS_FORWARD,   /* send the query upstream */
        ND_DNS_DROP,      /* no answer: a response, < 12 bytes, or no memory for a reply */
} nd_dns_verdict;

/* *out is malloc'd (free()) for ND_DNS_REPLY.  @rcode (may be NULL) gets
 * the reply's rcode. */
nd_dns_verdict nd_dns_answer(const nd_dns_view *v, const uint8_t *q, size_t len, bool tcp, uint8_t **out,
                             size_t *out_len, int *rcode);

/* A SERVFAIL reply to @q (for an upstream that failed); NULL if @q has no
 * usable header. */
uint8_t *nd_dns_servfail(const uint8_t *q, size_t len, size_t *out_len);

/* Turns query @m into a SERVFAIL reply to it in place, without parsing
 * beyond the question (for a sandbox over its forwarding bound, where
 * every query must stay cheap): the reply's length, or 0 when @m is no
 * plain query with one question (drop it). */
size_t nd_dns_servfail_inplace(uint8_t *m, size_t len);

/* The query types /metrics counts queries by (netd_dns_queries_by_type_total):
 * a fixed few, the rest OTHER, so the label's values stay bounded. */
typedef enum nd_dns_qtype {
        ND_DNS_QTYPE_A,
        ND_DNS_QTYPE_AAAA,
        ND_DNS_QTYPE_PTR,
        ND_DNS_QTYPE_SRV,
        ND_DNS_QTYPE_TXT,
        ND_DNS_QTYPE_MX,
        ND_DNS_QTYPE_ANY,
        ND_DNS_QTYPE_OTHER,
        _ND_DNS_QTYPE_MAX,
} nd_dns_qtype;

/* The type of query @q's one question; OTHER for any other type, and for
 * a message without one plain question (none, several, a compressed or
 * cut name).  Pure; reads the question's name bytes once, no allocation
 * (it runs for every query, before the answer path parses anything). */
nd_dns_qtype nd_dns_query_type(const uint8_t *q, size_t len);
/* "A", "AAAA", ..., "other"; NULL out of range. */
const char *nd_dns_qtype_to_string(nd_dns_qtype t);

/* Whether @reply (from an upstream) answers query @q: a response (QR set)
 * with the query's ID and exactly its question (name bytes, type and
 * class), so an answer meant for another query, or forged without
 * seeing the query, is not relayed.  Pure; no allocation. */
bool nd_dns_reply_matches(const uint8_t *q, size_t qlen, const uint8_t *reply, size_t rlen);

typedef enum nd_dns_upstream_verdict {
        ND_DNS_UP_RELAY,    /* the answer: relay it with the client's ID */
        ND_DNS_UP_IGNORE,   /* UDP, another ID (late or forged): keep waiting */
        ND_DNS_UP_NEXT,     /* junk (< 12 bytes; on TCP, another ID): try the next upstream */
        ND_DNS_UP_TCP,      /* UDP, truncated: the same upstream over TCP */
} nd_dns_upstream_verdict;

/* What to do with @msg, an upstream's reply to the query sent with ID
 * @up_id over UDP or TCP (@msg without the length prefix). */
nd_dns_upstream_verdict nd_dns_upstream_check(const uint8_t *msg, size_t len, uint16_t up_id, bool tcp);
