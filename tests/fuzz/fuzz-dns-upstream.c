/* SPDX-License-Identifier: Apache-2.0 */
/* What an upstream server sends back to the forwarder: the relay decision
 * (ID match, truncation) and, when the upstream fails, the SERVFAIL made
 * from the client's query.  Input: two bytes of the ID the query went out
 * with, then the message.  Invariants: only a message of at least a header
 * with our ID is relayed, and never a truncated one over UDP; a relayed
 * message changes only in its ID;
 * SERVFAIL keeps the query's ID and has QR set; a reply that matches a
 * query (nd_dns_reply_matches) is a response with the query's ID; the
 * in-place SERVFAIL of a flooding sandbox answers the query it came from. */
#include <assert.h>
#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2 || size > 65535 + 2)
                return 0;
        uint16_t up_id = (uint16_t) (data[0] << 8 | data[1]);
        const uint8_t *msg = data + 2;
        size_t len = size - 2;

        for (int tcp = 0; tcp < 2; tcp++) {
                nd_dns_upstream_verdict v = nd_dns_upstream_check(msg, len, up_id, tcp);
                assert(v >= ND_DNS_UP_RELAY && v <= ND_DNS_UP_TCP);
                if (v == ND_DNS_UP_NEXT || v == ND_DNS_UP_IGNORE)
                        continue;
                assert(len >= 12 && ((msg[0] << 8) | msg[1]) == up_id);
                assert(v != ND_DNS_UP_TCP || !tcp);
                assert(v != ND_DNS_UP_RELAY || tcp || !(msg[2] & 0x02));
                if (v != ND_DNS_UP_RELAY)
                        continue;
                /* what fwd_reply() does before sending it on */
                uint8_t *out = malloc(len);
                assert(out);
                memcpy(out, msg, len);
                out[0] = 0x12;
                out[1] = 0x34;
                /* (whether it still parses is not an invariant: a compression
                 * pointer may point into the ID an upstream sent) */
                assert(out[0] == 0x12 && out[1] == 0x34 && memcmp(out + 2, msg + 2, len - 2) == 0);
                ldns_pkt *a = NULL, *b = NULL;
                if (ldns_wire2pkt(&a, msg, len) == LDNS_STATUS_OK && ldns_wire2pkt(&b, out, len) == LDNS_STATUS_OK)
                        assert(ldns_pkt_id(b) == 0x1234 && ldns_pkt_get_rcode(a) == ldns_pkt_get_rcode(b));
                ldns_pkt_free(a);
                ldns_pkt_free(b);
                free(out);
        }

        /* fwd_fail(): the message as the client's query */
        size_t n;
        uint8_t *r = nd_dns_servfail(msg, len, &n);
        if (len < 12)
                assert(!r);
        if (nd_dns_reply_matches(msg, len, msg, len))
                assert(msg[2] & 0x80);
        if (r) {
                if (nd_dns_reply_matches(msg, len, r, n))
                        assert(r[0] == msg[0] && r[1] == msg[1] && (r[2] & 0x80));
                assert(n >= 12 && r[0] == msg[0] && r[1] == msg[1] && (r[2] & 0x80) && (r[3] & 0xf) == 2);
                free(r);
        }

        /* on_udp() over the bound: the SERVFAIL made in place is a prefix of
         * the query, a response with its ID, and answers it */
        uint8_t *q = malloc(len ? len : 1), *orig = malloc(len ? len : 1);
        assert(q && orig);
        memcpy(q, msg, len);
        memcpy(orig, msg, len);
        size_t m = nd_dns_servfail_inplace(q, len);
        if (m) {
                assert(m >= 12 + 5 && m <= len && q[0] == orig[0] && q[1] == orig[1] && (q[2] & 0x80) &&
                       (q[3] & 0xf) == 2 && !(orig[2] & 0x80));
                assert(memcmp(q + 12, orig + 12, m - 12) == 0);
                orig[0] = q[0];
                assert(nd_dns_reply_matches(orig, len, q, m));
        }
        free(q);
        free(orig);
        return 0;
}
