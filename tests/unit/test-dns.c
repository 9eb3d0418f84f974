/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded resolver's name table and query handler. */
#include <ldns/ldns.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "answer.h"
#include "names.h"

static nd_addr A(const char *s) {
        nd_addr a;
        assert_int_equal(nd_addr_parse(s, &a), 0);
        return a;
}

static nd_dns_names *table(void) {
        nd_dns_names *t = nd_dns_names_new();
        nd_addr a1 = A("10.1.0.2"), a2 = A("10.1.0.3"), a6 = A("fd01::2"), b1 = A("10.2.0.2");
        assert_non_null(t);
        assert_int_equal(nd_dns_names_add(t, "front", "web1", &a1, "web1.front", "c1"), 0);
        assert_int_equal(nd_dns_names_add(t, "front", "www", &a1, NULL, "c1"), 0);
        assert_int_equal(nd_dns_names_add(t, "front", "web2", &a2, "web2.front", "c2"), 0);
        assert_int_equal(nd_dns_names_add(t, "front", "WWW", &a2, NULL, "c2"), 0);
        assert_int_equal(nd_dns_names_add(t, "front", "www", &a2, NULL, "c2"), 0); /* duplicate address */
        assert_int_equal(nd_dns_names_add(t, "front", "web2", &a6, "web2.front", "c2"), 0);
        assert_int_equal(nd_dns_names_add(t, "back", "db", &b1, "db.back", "c3"), 0);
        return t;
}

static void test_lookup(void **state) {
        nd_dns_names *t = table();
        const char *front[] = { "front" }, *both[] = { "front", "back" };
        nd_addr out[8];
        bool exists;

        assert_int_equal(nd_dns_names_lookup(t, front, 1, "www", AF_INET, 0, out, 8, &exists), 2);
        assert_true(exists);
        nd_addr first = out[0];
        assert_int_equal(nd_dns_names_lookup(t, front, 1, "Www.", AF_INET, 1, out, 8, &exists), 2);
        assert_false(nd_addr_equal(&first, &out[0])); /* rotated */
        assert_int_equal(nd_dns_names_lookup(t, front, 1, "db", AF_INET, 0, out, 8, &exists), 0);
        assert_false(exists);                         /* another network's name */
        assert_int_equal(nd_dns_names_lookup(t, both, 2, "db", AF_INET, 0, out, 8, &exists), 1);
        assert_int_equal(nd_dns_names_lookup(t, both, 2, "db.back", AF_INET, 0, out, 8, &exists), 1);
        assert_int_equal(nd_dns_names_lookup(t, front, 1, "db.back", AF_INET, 0, out, 8, &exists), 0);
        assert_int_equal(nd_dns_names_lookup(t, front, 1, "web1", AF_INET6, 0, out, 8, &exists), 0);
        assert_true(exists);                          /* NODATA, not NXDOMAIN */
        nd_addr a = A("10.1.0.3");
        assert_string_equal(nd_dns_names_reverse(t, front, 1, &a), "web2.front");
        const char *back[] = { "back" };
        assert_null(nd_dns_names_reverse(t, back, 1, &a));
        nd_dns_names_drop(t, "c2");
        assert_int_equal(nd_dns_names_lookup(t, front, 1, "www", AF_INET, 0, out, 8, &exists), 1);
        assert_int_equal(nd_dns_names_count(t), 3);
        assert_int_equal(nd_dns_names_add(t, "front", "bad name", &a, NULL, "x"), -EINVAL);
        assert_int_equal(nd_dns_names_add(t, "front", "a..b", &a, NULL, "x"), -EINVAL);
        nd_dns_names_free(t);
}

/* A name without an address (a service's tasks.NAME with no task): it
 * exists (NODATA, answered here) for both families, and answers no
 * reverse lookup. */
static void test_name_without_address(void **state) {
        nd_dns_names *t = nd_dns_names_new();
        const char *front[] = { "front" };
        nd_addr out[4], zero = {0}, a = A("10.1.0.9");
        bool exists;

        assert_non_null(t);
        assert_int_equal(nd_dns_names_add(t, "front", "tasks.web", NULL, NULL, "svc"), 0);
        assert_int_equal(nd_dns_names_lookup(t, front, 1, "tasks.web", AF_INET, 0, out, 4, &exists), 0);
        assert_true(exists);
        assert_int_equal(nd_dns_names_lookup(t, front, 1, "tasks.web.front", AF_INET6, 0, out, 4, &exists), 0);
        assert_true(exists);
        assert_null(nd_dns_names_reverse(t, front, 1, &zero));
        assert_int_equal(nd_dns_names_add(t, "front", "tasks.web", &a, NULL, "svc"), 0);
        assert_int_equal(nd_dns_names_lookup(t, front, 1, "tasks.web", AF_INET, 0, out, 4, &exists), 1);
        assert_true(nd_addr_equal(&out[0], &a));
        nd_dns_names_drop(t, "svc");
        assert_int_equal(nd_dns_names_lookup(t, front, 1, "tasks.web", AF_INET, 0, out, 4, &exists), 0);
        assert_false(exists);
        nd_dns_names_free(t);
}

/* ask: build a query, run the handler, parse the reply */
static nd_dns_verdict ask(const nd_dns_view *v, const char *name, ldns_rr_type type, bool edns, bool tcp,
                          ldns_pkt **reply) {
        ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
        uint8_t *wire, *out;
        size_t len, out_len;
        assert_non_null(q);
        ldns_pkt_set_id(q, 4242);
        if (edns)
                ldns_pkt_set_edns_udp_size(q, 4096);
        assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
        nd_dns_verdict r = nd_dns_answer(v, wire, len, tcp, &out, &out_len, NULL);
        *reply = NULL;
        if (r == ND_DNS_REPLY) {
                assert_int_equal(ldns_wire2pkt(reply, out, out_len), LDNS_STATUS_OK);
                assert_int_equal(ldns_pkt_id(*reply), 4242);
                assert_true(ldns_pkt_qr(*reply));
                free(out);
        }
        free(wire);
        ldns_pkt_free(q);
        return r;
}

static void test_endpoint_names(void **state) {
        nd_dns_names *t = nd_dns_names_new();
        nd_addr a4 = A("10.3.0.2"), a6 = A("fd03::2"), none = {0}, out[4];
        const char *net[] = { "mid" };
        bool exists;
        /* the name, a repeat, an empty one, another, one that is no DNS name */
        const char *names[] = { "web", "web", "", NULL, "web-host", "not a name" };
        assert_int_equal(nd_dns_names_add_endpoint(t, "mid", names, 6, &a4, &a6, "ep1"), 0);
        assert_int_equal(nd_dns_names_count(t), 4); /* web and web-host, two families each */
        assert_int_equal(nd_dns_names_lookup(t, net, 1, "web", AF_INET6, 0, out, 4, &exists), 1);
        assert_true(nd_addr_equal(&out[0], &a6));
        assert_int_equal(nd_dns_names_lookup(t, net, 1, "web-host", AF_INET, 0, out, 4, &exists), 1);
        assert_string_equal(nd_dns_names_reverse(t, net, 1, &a4), "web.mid"); /* only the first name */
        /* no name, only an alias: it resolves, nothing answers PTR */
        nd_addr b4 = A("10.3.0.3");
        const char *anon[] = { NULL, "alias" };
        assert_int_equal(nd_dns_names_add_endpoint(t, "mid", anon, 2, &b4, &none, "ep2"), 0);
        assert_int_equal(nd_dns_names_lookup(t, net, 1, "alias", AF_INET, 0, out, 4, &exists), 1);
        assert_null(nd_dns_names_reverse(t, net, 1, &b4));
        nd_dns_names_drop(t, "ep1");
        nd_dns_names_drop(t, "ep2");
        assert_int_equal(nd_dns_names_count(t), 0);
        nd_dns_names_free(t);
}

static void test_answers(void **state) {
        nd_dns_names *t = table();
        const char *front[] = { "front" };
        nd_dns_view v = { .names = t, .nets = front, .n_nets = 1, .ttl = 600, .can_forward = true };
        ldns_pkt *r;

        assert_int_equal(ask(&v, "www.", LDNS_RR_TYPE_A, false, false, &r), ND_DNS_REPLY);
        assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        assert_true(ldns_pkt_aa(r));
        assert_int_equal(ldns_pkt_ancount(r), 2);
        assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), 600);
        char *first = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
        ldns_pkt_free(r);
        v.rotate = 1;
        assert_int_equal(ask(&v, "WWW.", LDNS_RR_TYPE_A, false, false, &r), ND_DNS_REPLY);
        char *again = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
        assert_string_not_equal(first, again);
        free(first);
        free(again);
        ldns_pkt_free(r);

        assert_int_equal(ask(&v, "web1.", LDNS_RR_TYPE_AAAA, false, false, &r), ND_DNS_REPLY);
        assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
        assert_int_equal(ldns_pkt_ancount(r), 0);
        ldns_pkt_free(r);

        assert_int_equal(ask(&v, "web2.front.", LDNS_RR_TYPE_AAAA, false, false, &r), ND_DNS_REPLY);
        assert_int_equal(ldns_pkt_ancount(r), 1);
        ldns_pkt_free(r);

        assert_int_equal(ask(&v, "web1.", LDNS_RR_TYPE_MX, false, false, &r), ND_DNS_REPLY);
        assert_int_equal(ldns_pkt_ancount(r), 0);
        ldns_pkt_free(r);

        assert_int_equal(ask(&v, "3.0.1.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, false, false, &r), ND_DNS_REPLY);
        assert_int_equal(ldns_pkt_ancount(r), 1);
        char *ptr = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
        assert_string_equal(ptr, "web2.front.");
        free(ptr);
        ldns_pkt_free(r);
        assert_int_equal(ask(&v, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.d.f.ip6.arpa.",
                             LDNS_RR_TYPE_PTR, false, false, &r), ND_DNS_REPLY);
        assert_int_equal(ldns_pkt_ancount(r), 1);
        ldns_pkt_free(r);

        /* not ours: forward, or SERVFAIL where forwarding is not allowed */
        assert_int_equal(ask(&v, "example.org.", LDNS_RR_TYPE_A, false, false, &r), ND_DNS_FORWARD);
        assert_int_equal(ask(&v, "db.", LDNS_RR_TYPE_A, false, false, &r), ND_DNS_FORWARD);
        assert_int_equal(ask(&v, "9.9.9.9.in-addr.arpa.", LDNS_RR_TYPE_PTR, false, false, &r), ND_DNS_FORWARD);
        v.can_forward = false;
        assert_int_equal(ask(&v, "example.org.", LDNS_RR_TYPE_A, false, false, &r), ND_DNS_REPLY);
        assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
        ldns_pkt_free(r);
        nd_dns_names_free(t);
}

static char *first_a(const nd_dns_view *v, const char *name) {
        ldns_pkt *r;
        assert_int_equal(ask(v, name, LDNS_RR_TYPE_A, false, false, &r), ND_DNS_REPLY);
        assert_int_equal(ldns_pkt_ancount(r), 2);
        char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
        ldns_pkt_free(r);
        return s;
}

/* A resolver asks A then AAAA for each lookup: the A answers still take
 * turns (one counter for both families kept the order of two addresses) */
static void test_rotate_by_family(void **state) {
        nd_dns_names *t = table();
        const char *front[] = { "front" };
        unsigned counters[2] = { 0, 0 };
        nd_dns_view v = { .names = t, .nets = front, .n_nets = 1, .ttl = 600, .rotate_family = counters };
        ldns_pkt *r;

        char *first = first_a(&v, "www.");
        assert_int_equal(ask(&v, "www.", LDNS_RR_TYPE_AAAA, false, false, &r), ND_DNS_REPLY);
        ldns_pkt_free(r);
        char *second = first_a(&v, "www.");
        assert_string_not_equal(first, second);
        assert_int_equal(counters[0], 2);
        assert_int_equal(counters[1], 1);
        free(first);
        free(second);
        nd_dns_names_free(t);
}

static int rcode_of(const nd_dns_view *v, const char *name, ldns_rr_type type, size_t *ancount) {
        ldns_pkt *r;
        assert_int_equal(ask(v, name, type, false, false, &r), ND_DNS_REPLY);
        int rc = ldns_pkt_get_rcode(r);
        *ancount = ldns_pkt_ancount(r);
        ldns_pkt_free(r);
        return rc;
}

/* --link db:data: "data" answers as "db" for the linking container only;
 * names and other queries go on as before. */
static void test_links(void **state) {
        nd_dns_names *t = table();
        const char *both[] = { "front", "back" };
        nd_dns_link links[] = { { "data", "db" }, { "self", "web1" } };
        nd_dns_view v = { .names = t, .nets = both, .n_nets = 2, .ttl = 60, .links = links, .n_links = 2 };
        size_t an;

        assert_int_equal(rcode_of(&v, "data.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_NOERROR);
        assert_int_equal(an, 1);
        assert_int_equal(rcode_of(&v, "DATA", LDNS_RR_TYPE_A, &an), LDNS_RCODE_NOERROR);
        assert_int_equal(an, 1);
        assert_int_equal(rcode_of(&v, "self.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_NOERROR);
        assert_int_equal(an, 1);
        assert_int_equal(rcode_of(&v, "db.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_NOERROR);
        assert_int_equal(an, 1);
        /* not a prefix match, and another container has no such link */
        assert_int_equal(rcode_of(&v, "dat.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_SERVFAIL);
        assert_int_equal(rcode_of(&v, "datab.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_SERVFAIL);
        v.n_links = 0;
        assert_int_equal(rcode_of(&v, "data.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_SERVFAIL);
        nd_dns_names_free(t);
}

/* The host's view: NAME.NETWORK and PTR for every network; NXDOMAIN
 * below a network, REFUSED for everything else, nothing forwarded. */
static void test_host_view(void **state) {
        nd_dns_names *t = table();
        const char *all[] = { "front", "back" };
        nd_dns_view v = { .names = t, .nets = all, .n_nets = 2, .ttl = 60, .host = true };
        size_t an;
        ldns_pkt *r;

        assert_int_equal(rcode_of(&v, "web1.front.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_NOERROR);
        assert_int_equal(an, 1);
        assert_int_equal(rcode_of(&v, "db.back.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_NOERROR);
        assert_int_equal(an, 1);
        assert_int_equal(rcode_of(&v, "www.front.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_NOERROR);
        assert_int_equal(an, 2);
        assert_int_equal(rcode_of(&v, "web2.front.", LDNS_RR_TYPE_AAAA, &an), LDNS_RCODE_NOERROR);
        assert_int_equal(an, 1);
        assert_int_equal(rcode_of(&v, "3.0.1.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, &an), LDNS_RCODE_NOERROR);
        assert_int_equal(an, 1);
        /* below a network, unknown: NXDOMAIN, authoritative */
        assert_int_equal(ask(&v, "nope.front.", LDNS_RR_TYPE_A, false, false, &r), ND_DNS_REPLY);
        assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
        assert_true(ldns_pkt_aa(r));
        assert_false(ldns_pkt_ra(r));
        ldns_pkt_free(r);
        assert_int_equal(rcode_of(&v, "db.front.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_NXDOMAIN);
        /* bare names, other names, other addresses: REFUSED */
        assert_int_equal(rcode_of(&v, "web1.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_REFUSED);
        assert_int_equal(rcode_of(&v, "example.org.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_REFUSED);
        assert_int_equal(rcode_of(&v, "front.", LDNS_RR_TYPE_A, &an), LDNS_RCODE_REFUSED);
        assert_int_equal(rcode_of(&v, "9.9.9.9.in-addr.arpa.", LDNS_RR_TYPE_PTR, &an), LDNS_RCODE_REFUSED);
        assert_false(nd_dns_names_in_zone(all, 2, "xfront."));
        assert_true(nd_dns_names_in_zone(all, 2, "a.b.Back"));
        nd_dns_names_free(t);
}

static void test_truncation(void **state) {
        nd_dns_names *t = nd_dns_names_new();
        const char *net[] = { "n" };
        for (int i = 0; i < 60; i++) {
                nd_addr a = { .family = AF_INET, .b = { 10, 9, 0, (uint8_t) (i + 2) } };
                char owner[16];
                snprintf(owner, sizeof(owner), "c%d", i);
                assert_int_equal(nd_dns_names_add(t, "n", "a-rather-long-service-name-for-many-replicas", &a, NULL,
                                                  owner), 0);
        }
        nd_dns_view v = { .names = t, .nets = net, .n_nets = 1, .ttl = 600, .can_forward = true };
        ldns_pkt *r;
        assert_int_equal(ask(&v, "a-rather-long-service-name-for-many-replicas.", LDNS_RR_TYPE_A, false, false, &r),
                         ND_DNS_REPLY);
        assert_true(ldns_pkt_tc(r));                 /* > 512 without EDNS0 */
        assert_int_equal(ldns_pkt_ancount(r), 0);
        ldns_pkt_free(r);
        assert_int_equal(ask(&v, "a-rather-long-service-name-for-many-replicas.", LDNS_RR_TYPE_A, true, false, &r),
                         ND_DNS_REPLY);
        assert_false(ldns_pkt_tc(r));
        assert_int_equal(ldns_pkt_ancount(r), 60);
        assert_true(ldns_pkt_edns(r));
        ldns_pkt_free(r);
        assert_int_equal(ask(&v, "a-rather-long-service-name-for-many-replicas.", LDNS_RR_TYPE_A, false, true, &r),
                         ND_DNS_REPLY);                /* TCP: no limit */
        assert_int_equal(ldns_pkt_ancount(r), 60);
        ldns_pkt_free(r);
        nd_dns_names_free(t);
}

static void test_malformed(void **state) {
        nd_dns_names *t = table();
        const char *front[] = { "front" };
        nd_dns_view v = { .names = t, .nets = front, .n_nets = 1, .ttl = 600, .can_forward = true };
        uint8_t *out;
        size_t n;
        static const uint8_t shortq[5] = { 1, 2, 3, 4, 5 };
        assert_int_equal(nd_dns_answer(&v, shortq, sizeof(shortq), false, &out, &n, NULL), ND_DNS_DROP);
        /* header claims a question that is not there */
        static const uint8_t trunc[12] = { 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
        int rc;
        assert_int_equal(nd_dns_answer(&v, trunc, sizeof(trunc), false, &out, &n, &rc), ND_DNS_REPLY);
        assert_int_equal(rc, LDNS_RCODE_FORMERR);
        assert_int_equal(n, 12);
        assert_int_equal(out[0], 0xab);
        assert_int_equal(out[3] & 0xf, LDNS_RCODE_FORMERR);
        free(out);
        /* a response is never answered (no loops) */
        static const uint8_t resp[12] = { 0, 1, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0 };
        assert_int_equal(nd_dns_answer(&v, resp, sizeof(resp), false, &out, &n, NULL), ND_DNS_DROP);
        /* no question */
        static const uint8_t none[12] = { 0, 1, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
        assert_int_equal(nd_dns_answer(&v, none, sizeof(none), false, &out, &n, &rc), ND_DNS_REPLY);
        assert_int_equal(rc, LDNS_RCODE_FORMERR);
        free(out);
        /* SERVFAIL for a failed forward keeps the question */
        out = nd_dns_servfail(trunc, sizeof(trunc), &n);
        assert_non_null(out);
        assert_int_equal(out[3] & 0xf, LDNS_RCODE_SERVFAIL);
        free(out);
        nd_dns_names_free(t);
}

static nd_dns_qtype type_of(const char *name, ldns_rr_type type) {
        ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
        uint8_t *wire;
        size_t len;
        assert_non_null(q);
        ldns_pkt_set_edns_udp_size(q, 1232); /* an OPT record after the question changes nothing */
        assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
        nd_dns_qtype t = nd_dns_query_type(wire, len);
        free(wire);
        ldns_pkt_free(q);
        return t;
}

/* The query types /metrics counts: a few by name, everything else, and
 * everything without one plain question, "other". */
static void test_query_type(void **state) {
        assert_int_equal(type_of("web1.", LDNS_RR_TYPE_A), ND_DNS_QTYPE_A);
        assert_int_equal(type_of("web1.front.", LDNS_RR_TYPE_AAAA), ND_DNS_QTYPE_AAAA);
        assert_int_equal(type_of("2.0.1.10.in-addr.arpa.", LDNS_RR_TYPE_PTR), ND_DNS_QTYPE_PTR);
        assert_int_equal(type_of("_http._tcp.example.org.", LDNS_RR_TYPE_SRV), ND_DNS_QTYPE_SRV);
        assert_int_equal(type_of("example.org.", LDNS_RR_TYPE_TXT), ND_DNS_QTYPE_TXT);
        assert_int_equal(type_of("example.org.", LDNS_RR_TYPE_MX), ND_DNS_QTYPE_MX);
        assert_int_equal(type_of("example.org.", LDNS_RR_TYPE_ANY), ND_DNS_QTYPE_ANY);
        assert_int_equal(type_of("example.org.", LDNS_RR_TYPE_NS), ND_DNS_QTYPE_OTHER);
        assert_int_equal(type_of("example.org.", LDNS_RR_TYPE_CAA), ND_DNS_QTYPE_OTHER);
        assert_int_equal(type_of(".", LDNS_RR_TYPE_A), ND_DNS_QTYPE_A);

        /* the type is the two bytes after the name: 0x00 0x10 is TXT */
        static const uint8_t txt[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0x00, 0x10, 0, 1 };
        assert_int_equal(nd_dns_query_type(txt, sizeof(txt)), ND_DNS_QTYPE_TXT);
        /* cut anywhere in the name or the type and class: other */
        for (size_t n = 0; n < sizeof(txt); n++)
                assert_int_equal(nd_dns_query_type(txt, n), ND_DNS_QTYPE_OTHER);
        /* no question, two questions, a compressed name */
        uint8_t m[sizeof(txt)];
        memcpy(m, txt, sizeof(m));
        m[5] = 0;
        assert_int_equal(nd_dns_query_type(m, sizeof(m)), ND_DNS_QTYPE_OTHER);
        m[5] = 2;
        assert_int_equal(nd_dns_query_type(m, sizeof(m)), ND_DNS_QTYPE_OTHER);
        static const uint8_t ptr[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 };
        assert_int_equal(nd_dns_query_type(ptr, sizeof(ptr)), ND_DNS_QTYPE_OTHER);
        /* a name of 200 labels ends no question */
        uint8_t longq[12 + 2 * 200 + 5] = { 0, 1, 1, 0, 0, 1 };
        for (size_t i = 0; i < 200; i++) {
                longq[12 + 2 * i] = 1;
                longq[13 + 2 * i] = 'x';
        }
        longq[sizeof(longq) - 3] = 1; /* type A, had the walk gone on */
        assert_int_equal(nd_dns_query_type(longq, sizeof(longq)), ND_DNS_QTYPE_OTHER);

        assert_string_equal(nd_dns_qtype_to_string(ND_DNS_QTYPE_A), "A");
        assert_string_equal(nd_dns_qtype_to_string(ND_DNS_QTYPE_ANY), "ANY");
        assert_string_equal(nd_dns_qtype_to_string(ND_DNS_QTYPE_OTHER), "other");
        assert_null(nd_dns_qtype_to_string(_ND_DNS_QTYPE_MAX));
        assert_null(nd_dns_qtype_to_string((nd_dns_qtype) -1));
}

/* Dropping an owner removes exactly its names, also after the table grew
 * (the owner index is rebuilt with the name index). */
static void test_drop_many(void **state) {
        nd_dns_names *t = nd_dns_names_new();
        const char *net[] = { "ov" };
        nd_addr out[4];
        bool exists;
        char name[32], owner[32];
        assert_non_null(t);
        for (int i = 0; i < 5000; i++) {
                nd_addr a = { .family = AF_INET, .b = { 10, 80, (uint8_t) (i >> 8), (uint8_t) i } };
                snprintf(name, sizeof(name), "n%d", i);
                snprintf(owner, sizeof(owner), "o%d", i % 1000);
                assert_int_equal(nd_dns_names_add(t, "ov", name, &a, NULL, owner), 0);
        }
        assert_int_equal(nd_dns_names_count(t), 5000);
        nd_dns_names_drop(t, "o7");
        assert_int_equal(nd_dns_names_count(t), 4995);
        assert_int_equal(nd_dns_names_lookup(t, net, 1, "n7", AF_INET, 0, out, 4, &exists), 0);
        assert_false(exists);
        assert_int_equal(nd_dns_names_lookup(t, net, 1, "n1007", AF_INET, 0, out, 4, &exists), 0);
        assert_int_equal(nd_dns_names_lookup(t, net, 1, "n8", AF_INET, 0, out, 4, &exists), 1);
        nd_dns_names_drop(t, "o7"); /* again: nothing */
        nd_dns_names_drop(t, "nobody");
        assert_int_equal(nd_dns_names_count(t), 4995);
        for (int i = 0; i < 1000; i++) {
                snprintf(owner, sizeof(owner), "o%d", i);
                nd_dns_names_drop(t, owner);
        }
        assert_int_equal(nd_dns_names_count(t), 0);
        nd_dns_names_free(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lookup),
                cmocka_unit_test(test_name_without_address),
                cmocka_unit_test(test_drop_many),
                cmocka_unit_test(test_endpoint_names),
                cmocka_unit_test(test_answers),
                cmocka_unit_test(test_rotate_by_family),
                cmocka_unit_test(test_truncation),
                cmocka_unit_test(test_links),
                cmocka_unit_test(test_host_view),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_query_type),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
