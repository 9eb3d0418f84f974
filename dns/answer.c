/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"

#define MAX_ANSWERS 64
#define EDNS_ADVERTISED 1232  /* the DNS flag day 2020 size: no fragmentation */

/* A header-only reply: ID and RD echoed, QR set, no sections. */
static uint8_t *header_reply(const uint8_t *q, size_t len, int rcode, size_t *out_len) {
        if (len < 12)
                return NULL;
        uint8_t *r = calloc(1, 12);
        if (!r)
                return NULL;
        r[0] = q[0];
        r[1] = q[1];
        r[2] = (uint8_t) (0x80 | (q[2] & 0x79)); /* QR, opcode, RD */
        r[3] = (uint8_t) (0x80 | (rcode & 0xf)); /* RA, rcode */
        *out_len = 12;
        return r;
}

uint8_t *nd_dns_servfail(const uint8_t *q, size_t len, size_t *out_len) {
        ldns_pkt *p = NULL;
        uint8_t *w = NULL;
        /* keep the question when it parses, as resolvers expect */
        if (ldns_wire2pkt(&p, q, len) == LDNS_STATUS_OK && ldns_pkt_qdcount(p) == 1) {
                ldns_pkt *r = ldns_pkt_new();
                if (r) {
                        ldns_pkt_set_id(r, ldns_pkt_id(p));
                        ldns_pkt_set_qr(r, true);
                        ldns_pkt_set_rd(r, ldns_pkt_rd(p));
                        ldns_pkt_set_ra(r, true);
                        ldns_pkt_set_rcode(r, LDNS_RCODE_SERVFAIL);
                        ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION,
                                         ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
                        if (ldns_pkt2wire(&w, r, out_len) != LDNS_STATUS_OK)
                                w = NULL;
                        ldns_pkt_free(r);
                }
        }
        ldns_pkt_free(p);
        return w ? w : header_reply(q, len, LDNS_RCODE_SERVFAIL, out_len);
}

nd_dns_upstream_verdict nd_dns_upstream_check(const uint8_t *msg, size_t len, uint16_t up_id, bool tcp) {
        if (len < 12)
                return ND_DNS_UP_NEXT;
        if (((msg[0] << 8) | msg[1]) != up_id)
                /* on UDP anyone can send to our port: wait for the real
                 * one; a TCP connection carries only our exchange */
                return tcp ? ND_DNS_UP_NEXT : ND_DNS_UP_IGNORE;
        if (!tcp && (msg[2] & 0x02))
                return ND_DNS_UP_TCP;
        return ND_DNS_UP_RELAY;
}

/* "4.3.2.1.in-addr.arpa." / nibbles ".ip6.arpa." to an address */
static bool reverse_addr(const char *name, nd_addr *a) {
        size_t len = strlen(name);
        if (len > 14 && strcasecmp(name + len - 14, ".in-addr.arpa.") == 0) {
                unsigned o[4];
                char tail;
                if (sscanf(name, "%u.%u.%u.%u.%c", &o[3], &o[2], &o[1], &o[0], &tail) != 5 || tail != 'i')
                        return false;
                for (int i = 0; i < 4; i++)
                        if (o[i] > 255)
                                return false;
                *a = (nd_addr) { .family = AF_INET, .b = { (uint8_t) o[0], (uint8_t) o[1], (uint8_t) o[2],
                                                           (uint8_t) o[3] } };
                return true;
        }
        if (len == 73 && strcasecmp(name + 64, "ip6.arpa.") == 0) {
                *a = (nd_addr) { .family = AF_INET6 };
                for (int i = 0; i < 32; i++) {
                        char c = name[2 * i];
                        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                        if (v < 0 || name[2 * i + 1] != '.')
                                return false;
                        int nib = 31 - i; /* first label is the last nibble */
                        a->b[nib / 2] |= (uint8_t) (nib % 2 ? v : v << 4);
                }
                return true;
        }
        return false;
}

static ldns_rr *answer_rr(const ldns_rdf *owner, ldns_rr_type type, uint32_t ttl, ldns_rdf *data) {
        ldns_rr *rr = ldns_rr_new();
        if (!rr || !data) {
                ldns_rr_free(rr);
                ldns_rdf_deep_free(data);
                return NULL;
        }
        ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
        ldns_rr_set_type(rr, type);
        ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
        ldns_rr_set_ttl(rr, ttl);
        ldns_rr_push_rdf(rr, data);
        return rr;
}

/* @qname (a trailing dot allowed) is @alias, case aside */
static bool is_alias(const char *alias, const char *qname) {
        size_t n = strlen(alias);
        return strncasecmp(alias, qname, n) == 0 && (qname[n] == 0 || (qname[n] == '.' && qname[n + 1] == 0));
}

static size_t lookup(const nd_dns_view *v, const char *name, int family, nd_addr *out, bool *exists) {
        unsigned rotate = v->rotate_family ? v->rotate_family[family == AF_INET6]++ : v->rotate;
        for (size_t i = 0; i < v->n_links; i++)
                if (is_alias(v->links[i].alias, name)) {
                        name = v->links[i].name;
                        break;
                }
        if (v->host)
                return nd_dns_names_lookup_qualified(v->names, v->nets, v->n_nets, name, family, rotate, out,
                                                     MAX_ANSWERS, exists);
        return nd_dns_names_lookup(v->names, v->nets, v->n_nets, name, family, rotate, out, MAX_ANSWERS, exists);
}

/* The hot case without allocating an ldns packet: one A/AAAA question of
 * class IN for a local name, no other sections, no EDNS0, an answer that
 * fits 512 bytes.  Anything else returns false and takes the general path,
 * which also checks everything this one skips. */
static bool answer_fast(const nd_dns_view *v, const uint8_t *q, size_t len, uint8_t **out, size_t *out_len,
                        int *rcode) {
        char name[ND_DNS_NAME_MAX + 2];
        size_t off = 12, nl = 0;
        nd_addr addrs[MAX_ANSWERS];
        bool exists;

        if ((q[2] & 0x78) || q[4] != 0 || q[5] != 1 || q[6] | q[7] | q[8] | q[9] | q[10] | q[11])
                return false;   /* opcode, QDCOUNT 1, no other sections */
        for (;;) {
                if (off >= len)
                        return false;
                uint8_t l = q[off++];
                if (l == 0)
                        break;
                if (l > 63 || off + l > len || nl + l + 1 > ND_DNS_NAME_MAX)
                        return false; /* compression or oversize: general path */
                for (size_t i = 0; i < l; i++) {
                        char c = (char) q[off + i];
                        if (c == '.' || c == '\\' || (unsigned char) c <= ' ' || (unsigned char) c >= 127)
                                return false;
                        name[nl++] = c;
                }
                name[nl++] = '.';
                off += l;
        }
        if (nl == 0 || off + 4 != len)
                return false;
        name[nl] = 0;
        uint16_t type = (uint16_t) ((q[off] << 8) | q[off + 1]), cls = (uint16_t) ((q[off + 2] << 8) | q[off + 3]);
        if (cls != LDNS_RR_CLASS_IN || (type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_AAAA))
                return false;
        int family = type == LDNS_RR_TYPE_A ? AF_INET : AF_INET6;
        size_t alen = family == AF_INET ? 4 : 16;
        size_t n = lookup(v, name, family, addrs, &exists);
        if (!exists || n > MAX_ANSWERS)
                return false;
        size_t size = len + n * (12 + alen);
        if (size > 512)
                return false;   /* truncation is the general path's */
        uint8_t *r = malloc(size), *w;
        if (!r)
                return false;
        memcpy(r, q, len);
        r[2] = (uint8_t) (0x80 | 0x04 | (q[2] & 0x01));     /* QR, AA, RD */
        r[3] = (uint8_t) ((v->can_forward ? 0x80 : 0) | (q[3] & 0x10)); /* RA, CD; NOERROR */
        r[6] = (uint8_t) (n >> 8);
        r[7] = (uint8_t) n;
        w = r + len;
        for (size_t i = 0; i < n; i++) {
                *w++ = 0xc0;    /* the name: a pointer to the question's */
                *w++ = 12;
                *w++ = (uint8_t) (type >> 8);
                *w++ = (uint8_t) type;
                *w++ = 0;
                *w++ = 1;
                *w++ = (uint8_t) (v->ttl >> 24);
                *w++ = (uint8_t) (v->ttl >> 16);
                *w++ = (uint8_t) (v->ttl >> 8);
                *w++ = (uint8_t) v->ttl;
                *w++ = 0;
                *w++ = (uint8_t) alen;
                memcpy(w, addrs[i].b, alen);
                w += alen;
        }
        *out = r;
        *out_len = size;
        *rcode = LDNS_RCODE_NOERROR;
        return true;
}

nd_dns_verdict nd_dns_answer(const nd_dns_view *v, const uint8_t *q, size_t len, bool tcp, uint8_t **out,
                             size_t *out_len, int *rcode) {
        ldns_pkt *p = NULL, *r = NULL;
        char *qname = NULL;
        nd_dns_verdict verdict = ND_DNS_REPLY;
        int rc = LDNS_RCODE_NOERROR;

        *out = NULL;
        if (len < 12 || (q[2] & 0x80))
                return ND_DNS_DROP; /* too short to answer, or a response */
        if (answer_fast(v, q, len, out, out_len, &rc)) {
                if (rcode)
                        *rcode = rc;
                return ND_DNS_REPLY;
        }
        if (ldns_wire2pkt(&p, q, len) != LDNS_STATUS_OK) {
                *out = header_reply(q, len, LDNS_RCODE_FORMERR, out_len);
                rc = LDNS_RCODE_FORMERR;
                goto done;
        }
        if (ldns_pkt_get_opcode(p) != LDNS_PACKET_QUERY) {
                *out = header_reply(q, len, LDNS_RCODE_NOTIMPL, out_len);
                rc = LDNS_RCODE_NOTIMPL;
                goto done;
        }
        if (ldns_pkt_qdcount(p) != 1 || ldns_pkt_ancount(p) || ldns_pkt_nscount(p)) {
                *out = header_reply(q, len, LDNS_RCODE_FORMERR, out_len);
                rc = LDNS_RCODE_FORMERR;
                goto done;
        }
        const ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(p), 0);
        ldns_rr_type type = ldns_rr_get_type(question);
        qname = ldns_rdf2str(ldns_rr_owner(question));
        if (!qname) {
                *out = header_reply(q, len, LDNS_RCODE_SERVFAIL, out_len);
                rc = LDNS_RCODE_SERVFAIL;
                goto done;
        }

        r = ldns_pkt_new();
        if (!r) {
                verdict = ND_DNS_DROP;
                goto done;
        }
        ldns_pkt_set_id(r, ldns_pkt_id(p));
        ldns_pkt_set_qr(r, true);
        ldns_pkt_set_rd(r, ldns_pkt_rd(p));
        ldns_pkt_set_ra(r, v->can_forward);
        ldns_pkt_set_cd(r, ldns_pkt_cd(p));
        ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
        if (ldns_pkt_edns(p))
                ldns_pkt_set_edns_udp_size(r, EDNS_ADVERTISED);

        bool local = false;
        if (ldns_rr_get_class(question) == LDNS_RR_CLASS_IN) {
                nd_addr addrs[MAX_ANSWERS], a;
                bool exists = false;
                if (type == LDNS_RR_TYPE_PTR && reverse_addr(qname, &a)) {
                        const char *name = nd_dns_names_reverse(v->names, v->nets, v->n_nets, &a);
                        if (name) {
                                char fq[ND_DNS_NAME_MAX + 2];
                                snprintf(fq, sizeof(fq), "%s.", name);
                                ldns_rr *rr = answer_rr(ldns_rr_owner(question), LDNS_RR_TYPE_PTR, v->ttl,
                                                        ldns_dname_new_frm_str(fq));
                                if (rr)
                                        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
                                local = true;
                        }
                } else {
                        int family = type == LDNS_RR_TYPE_AAAA ? AF_INET6 : AF_INET;
                        size_t n = lookup(v, qname, family, addrs, &exists);
                        if (exists) {
                                local = true;
                                if (type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_AAAA)
                                        n = 0; /* a local name has no other data */
                                for (size_t i = 0; i < n && i < MAX_ANSWERS; i++) {
                                        ldns_rr *rr = answer_rr(ldns_rr_owner(question), type, v->ttl,
                                                                ldns_rdf_new_frm_data(family == AF_INET
                                                                                              ? LDNS_RDF_TYPE_A
                                                                                              : LDNS_RDF_TYPE_AAAA,
                                                                                      family == AF_INET ? 4 : 16,
                                                                                      addrs[i].b));
                                        if (rr)
                                                ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
                                }
                        }
                }
        }
        if (!local && v->host)
                /* the host's stub moves on to its next server on REFUSED,
                 * and stops at NXDOMAIN: that only for our own names */
                rc = nd_dns_names_in_zone(v->nets, v->n_nets, qname) ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_REFUSED;
        else if (!local) {
                if (v->can_forward) {
                        verdict = ND_DNS_FORWARD;
                        goto done;
                }
                rc = LDNS_RCODE_SERVFAIL;
        }
        if (local || rc == LDNS_RCODE_NXDOMAIN)
                ldns_pkt_set_aa(r, true);
        ldns_pkt_set_rcode(r, (uint8_t) rc);

        size_t limit = tcp ? 65535 : ldns_pkt_edns(p) ? ldns_pkt_edns_udp_size(p) : 512;
        if (limit < 512)
                limit = 512;
        if (ldns_pkt2wire(out, r, out_len) != LDNS_STATUS_OK) {
                *out = header_reply(q, len, LDNS_RCODE_SERVFAIL, out_len);
                rc = LDNS_RCODE_SERVFAIL;
        } else if (*out_len > limit) {
                /* too big for the client: no answers, TC set, so it asks
                 * again over TCP */
                free(*out);
                *out = NULL;
                ldns_rr_list_deep_free(ldns_pkt_answer(r));
                ldns_pkt_set_answer(r, ldns_rr_list_new());
                ldns_pkt_set_ancount(r, 0);
                ldns_pkt_set_tc(r, true);
                if (ldns_pkt2wire(out, r, out_len) != LDNS_STATUS_OK)
                        *out = header_reply(q, len, LDNS_RCODE_SERVFAIL, out_len);
        }
done:
        if (verdict == ND_DNS_REPLY && !*out)
                verdict = ND_DNS_DROP;
        if (rcode)
                *rcode = rc;
        free(qname);
        ldns_pkt_free(r);
        ldns_pkt_free(p);
        return verdict;
}

/* The end of the first question (offset past QTYPE and QCLASS), or 0. */
static size_t question_end(const uint8_t *m, size_t len);

size_t nd_dns_servfail_inplace(uint8_t *m, size_t len) {
        if (len < 12 || (m[2] & 0x80) || ((m[2] >> 3) & 0xf) != 0)
                return 0; /* a response, or not a QUERY */
        size_t end = question_end(m, len);
        if (!end)
                return 0;
        m[2] = (uint8_t) ((m[2] & 0x01) | 0x80);  /* QR, RD as asked; AA, TC clear */
        m[3] = 0x80 | 2;                          /* RA, SERVFAIL */
        memset(m + 6, 0, 6);                      /* no answer, authority or additional */
        return end;
}

static size_t question_end(const uint8_t *m, size_t len) {
        size_t off = 12;
        if (len < 12 || ((m[4] << 8) | m[5]) != 1)
                return 0;
        for (unsigned labels = 0; off < len && labels < 128; labels++) {
                uint8_t l = m[off];
                if (l == 0)
                        return off + 5 <= len ? off + 5 : 0;
                if (l & 0xc0)
                        return 0; /* no compression in a question we sent */
                off += 1u + l;
        }
        return 0;
}

nd_dns_qtype nd_dns_query_type(const uint8_t *q, size_t len) {
        size_t end = question_end(q, len);
        if (!end)
                return ND_DNS_QTYPE_OTHER;
        switch ((q[end - 4] << 8) | q[end - 3]) {
        case LDNS_RR_TYPE_A:
                return ND_DNS_QTYPE_A;
        case LDNS_RR_TYPE_AAAA:
                return ND_DNS_QTYPE_AAAA;
        case LDNS_RR_TYPE_PTR:
                return ND_DNS_QTYPE_PTR;
        case LDNS_RR_TYPE_SRV:
                return ND_DNS_QTYPE_SRV;
        case LDNS_RR_TYPE_TXT:
                return ND_DNS_QTYPE_TXT;
        case LDNS_RR_TYPE_MX:
                return ND_DNS_QTYPE_MX;
        case LDNS_RR_TYPE_ANY:
                return ND_DNS_QTYPE_ANY;
        default:
                return ND_DNS_QTYPE_OTHER;
        }
}

const char *nd_dns_qtype_to_string(nd_dns_qtype t) {
        static const char *const names[_ND_DNS_QTYPE_MAX] = {
                [ND_DNS_QTYPE_A] = "A",     [ND_DNS_QTYPE_AAAA] = "AAAA", [ND_DNS_QTYPE_PTR] = "PTR",
                [ND_DNS_QTYPE_SRV] = "SRV", [ND_DNS_QTYPE_TXT] = "TXT",   [ND_DNS_QTYPE_MX] = "MX",
                [ND_DNS_QTYPE_ANY] = "ANY", [ND_DNS_QTYPE_OTHER] = "other",
        };
        return (unsigned) t < _ND_DNS_QTYPE_MAX ? names[t] : NULL;
}

bool nd_dns_reply_matches(const uint8_t *q, size_t qlen, const uint8_t *reply, size_t rlen) {
        if (qlen < 12 || rlen < 12 || !(reply[2] & 0x80) || q[0] != reply[0] || q[1] != reply[1])
                return false;
        size_t qe = question_end(q, qlen), re = question_end(reply, rlen);
        if (!qe || qe != re)
                return false;
        /* names compare case-insensitively (RFC 4343); the rest exactly */
        for (size_t i = 12; i < qe; i++) {
                uint8_t a = q[i], b = reply[i];
                if (a >= 'A' && a <= 'Z')
                        a = (uint8_t) (a + 32);
                if (b >= 'A' && b <= 'Z')
                        b = (uint8_t) (b + 32);
                if (a != b)
                        return false;
        }
        return true;
}
