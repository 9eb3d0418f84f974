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
 * sandbox may not forward (internal networks).  Malformed queries get
 * FORMERR when a header can be echoed, else nothing.  A UDP reply larger
 * than the client's EDNS0 buffer (512 without EDNS0) is truncated (TC).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"

typedef struct nd_dns_view {
        const nd_dns_names *names;
        const char *const *nets;  /* the asking sandbox's networks */
        size_t n_nets;
        uint32_t ttl;
        unsigned rotate;          /* changes on every query: round-robin */
        bool can_forward;
} nd_dns_view;

typedef enum nd_dns_verdict {
        ND_DNS_REPLY,     /* send *out */
        ND_DNS_FORWARD,   /* send the query upstream */
        ND_DNS_DROP,      /* not worth an answer (a response, < 12 bytes) */
} nd_dns_verdict;

/* *out is malloc'd (free()) for ND_DNS_REPLY.  @rcode (may be NULL) gets
 * the reply's rcode. */
nd_dns_verdict nd_dns_answer(const nd_dns_view *v, const uint8_t *q, size_t len, bool tcp, uint8_t **out,
                             size_t *out_len, int *rcode);

/* A SERVFAIL reply to @q (for an upstream that failed); NULL if @q has no
 * usable header. */
uint8_t *nd_dns_servfail(const uint8_t *q, size_t len, size_t *out_len);
