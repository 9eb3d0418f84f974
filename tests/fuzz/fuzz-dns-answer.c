/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded resolver's query handler on arbitrary bytes, over UDP and
 * TCP.  Invariants: no crash or leak; a reply is a well-formed message with
 * the query's ID and QR set; a UDP reply fits 512 bytes unless the query
 * carried EDNS0, and never the EDNS0 buffer it advertised; the host's view
 * never forwards; the query's type for /metrics is one of its few. */
#include <assert.h>
#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "answer.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nd_dns_names *names;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *nets[] = { "front", "back" };
        if (!names) {
                names = nd_dns_names_new();
                for (int i = 0; i < 40; i++) {
                        nd_addr a = { .family = AF_INET, .b = { 10, 0, 0, (uint8_t) (i + 2) } };
                        nd_addr b = { .family = AF_INET6, .b = { 0xfd, [15] = (uint8_t) (i + 2) } };
                        char owner[8];
                        snprintf(owner, sizeof(owner), "c%d", i);
                        nd_dns_names_add(names, "front", "svc", &a, "svc.front", owner);
                        nd_dns_names_add(names, "back", "svc", &b, "svc.back", owner);
                        nd_dns_names_add(names, "front", owner, &a, NULL, owner);
                }
        }
        /* the type /metrics counts, read before anything else parses the query */
        nd_dns_qtype qt = nd_dns_query_type(data, size);
        assert((unsigned) qt < _ND_DNS_QTYPE_MAX && nd_dns_qtype_to_string(qt));
        for (int tcp = 0; tcp < 2; tcp++) {
                uint8_t *out = NULL;
                size_t n = 0;
                /* the host's view (--host-dns) and a link alias on some inputs */
                static const nd_dns_link links[] = { { "data", "svc" } };
                nd_dns_view v = { .names = names, .nets = nets, .n_nets = 2, .ttl = 60, .rotate = (unsigned) size,
                                  .can_forward = size % 2, .host = size % 3 == 0, .links = links,
                                  .n_links = size % 5 == 0 };
                nd_dns_verdict r = nd_dns_answer(&v, data, size, tcp, &out, &n, NULL);
                assert(!v.host || r != ND_DNS_FORWARD); /* the host's resolver forwards nothing */
                if (r != ND_DNS_REPLY) {
                        assert(out == NULL);
                        continue;
                }
                assert(n >= 12 && out[0] == data[0] && out[1] == data[1] && (out[2] & 0x80));
                ldns_pkt *q = NULL, *p = NULL;
                if (ldns_wire2pkt(&q, data, size) == LDNS_STATUS_OK && !tcp) {
                        size_t limit = ldns_pkt_edns(q) ? ldns_pkt_edns_udp_size(q) : 512;
                        assert(n <= (limit < 512 ? 512 : limit));
                }
                assert(ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
                ldns_pkt_free(p);
                ldns_pkt_free(q);
                free(out);
        }
        return 0;
}
