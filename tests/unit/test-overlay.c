/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cluster IPAM block arithmetic, and the frames of the userspace GRE path:
 * GRE header and parsing, ARP replies and neighbour advertisements given
 * for remote endpoints.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "block.h"
#include "frame.h"
#include "prefix.h"

static nd_prefix P(const char *s) {
        nd_prefix p;
        assert_int_equal(nd_prefix_parse(s, ND_PREFIX_STRICT, &p, NULL), 0);
        return p;
}

static const char *fmt(const nd_prefix *p) {
        static char buf[ND_PREFIX_STRLEN];
        return nd_prefix_fmt(p, buf);
}

static void test_blocks(void **state) {
        nd_prefix s16 = P("10.60.0.0/16"), s24 = P("10.60.0.0/24"), s28 = P("10.60.0.0/28"), s6 = P("fd00::/64"),
                  b;
        assert_int_equal(nd_block_len(&s16, 0), 26);
        assert_int_equal(nd_block_len(&s24, 0), 28);
        assert_int_equal(nd_block_len(&s28, 0), 30);
        assert_int_equal(nd_block_len(&s6, 0), 80);
        assert_int_equal(nd_block_len(&s24, 20), 24);  /* never shorter than the subnet */
        assert_int_equal(nd_block_len(&s24, 32), 30);  /* never a single address */
        assert_int_equal(nd_block_count(&s16, 26), 1024);
        assert_int_equal(nd_block_count(&s24, 28), 16);
        assert_int_equal(nd_block_count(&s6, 80), 65536);
        assert_int_equal(nd_block_count(&s6, 120), ND_BLOCK_SCAN_MAX);

        nd_block_nth(&s24, 28, 0, &b);
        assert_string_equal(fmt(&b), "10.60.0.0/28");
        nd_block_nth(&s24, 28, 15, &b);
        assert_string_equal(fmt(&b), "10.60.0.240/28");
        nd_block_nth(&s16, 26, 5, &b);
        assert_string_equal(fmt(&b), "10.60.1.64/26");
        nd_block_nth(&s6, 80, 65535, &b);
        assert_string_equal(fmt(&b), "fd00::ffff:0:0:0/80");
        /* blocks tile the subnet: consecutive, disjoint, inside */
        nd_prefix prev;
        for (uint64_t i = 0; i < 1024; i++) {
                nd_block_nth(&s16, 26, i, &b);
                assert_true(nd_prefix_contains_prefix(&s16, &b));
                if (i)
                        assert_false(nd_prefix_overlap(&prev, &b));
                prev = b;
        }
}

static nd_overlay_peer peer;

static const nd_overlay_peer *lookup(const void *u, int family, const uint8_t *ip) {
        const nd_addr *a = family == AF_INET ? &peer.ip4 : &peer.ip6;
        return a->family == family && memcmp(a->b, ip, family == AF_INET ? 4 : 16) == 0 ? &peer : NULL;
}

static void set_peer(void) {
        memset(&peer, 0, sizeof(peer));
        memcpy(peer.mac, "\x02\x42\x0a\x3c\x00\x05", 6);
        assert_int_equal(nd_addr_parse("10.60.0.5", &peer.ip4), 0);
        assert_int_equal(nd_addr_parse("fd60::5", &peer.ip6), 0);
        assert_int_equal(nd_addr_parse("192.0.2.2", &peer.vtep), 0);
}

static size_t arp_request(uint8_t *f, const char *target) {
        static const uint8_t asker[6] = { 0x02, 0x42, 0x0a, 0x3c, 0x00, 0x09 };
        memset(f, 0xff, 6);
        memcpy(f + 6, asker, 6);
        f[12] = 0x08, f[13] = 0x06;
        f[14] = 0, f[15] = 1, f[16] = 8, f[17] = 0, f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;
        memcpy(f + 22, asker, 6);
        inet_pton(AF_INET, "10.60.0.9", f + 28);
        memset(f + 32, 0, 6);
        inet_pton(AF_INET, target, f + 38);
        return 42;
}

static void test_arp(void **state) {
        uint8_t f[64], r[ND_ARP_REPLY_LEN];
        set_peer();
        size_t n = arp_request(f, "10.60.0.5");
        assert_int_equal(nd_frame_arp_reply(f, n, lookup, NULL, r), ND_ARP_REPLY_LEN);
        assert_memory_equal(r, f + 6, 6);          /* unicast back to the asker */
        assert_memory_equal(r + 6, peer.mac, 6);
        assert_int_equal(r[21], 2);                /* a reply */
        assert_memory_equal(r + 22, peer.mac, 6);  /* sender hardware: the peer */
        assert_memory_equal(r + 28, f + 38, 4);    /* sender protocol: the asked IP */
        assert_memory_equal(r + 32, f + 22, 6);
        assert_memory_equal(r + 38, f + 28, 4);
        /* not a remote endpoint, not a request, truncated, not ARP */
        n = arp_request(f, "10.60.0.6");
        assert_int_equal(nd_frame_arp_reply(f, n, lookup, NULL, r), 0);
        n = arp_request(f, "10.60.0.5");
        f[21] = 2;
        assert_int_equal(nd_frame_arp_reply(f, n, lookup, NULL, r), 0);
        f[21] = 1;
        assert_int_equal(nd_frame_arp_reply(f, 41, lookup, NULL, r), 0);
        f[13] = 0x00;
        assert_int_equal(nd_frame_arp_reply(f, n, lookup, NULL, r), 0);
}

static size_t ns_request(uint8_t *f, const char *src, const char *target) {
        memset(f, 0, 86);
        memcpy(f, "\x33\x33\xff\x00\x00\x05", 6);
        memcpy(f + 6, "\x02\x42\x0a\x3c\x00\x09", 6);
        f[12] = 0x86, f[13] = 0xdd;
        f[14] = 0x60;
        f[19] = 32;     /* payload 24 + option 8 */
        f[20] = 58;
        f[21] = 255;
        inet_pton(AF_INET6, src, f + 22);
        inet_pton(AF_INET6, "ff02::1:ff00:5", f + 38);
        f[54] = 135;
        inet_pton(AF_INET6, target, f + 62);
        f[78] = 1, f[79] = 1;
        memcpy(f + 80, f + 6, 6);
        return 86;
}

static void test_na(void **state) {
        uint8_t f[96], r[ND_NA_LEN];
        set_peer();
        size_t n = ns_request(f, "fd60::9", "fd60::5");
        assert_int_equal(nd_frame_na_reply(f, n, lookup, NULL, r), ND_NA_LEN);
        assert_memory_equal(r, f + 6, 6);
        assert_memory_equal(r + 6, peer.mac, 6);
        assert_int_equal(r[14 + 7], 255);          /* hop limit 255, as ND requires */
        assert_memory_equal(r + 14 + 8, peer.ip6.b, 16);
        assert_memory_equal(r + 14 + 24, f + 22, 16);
        assert_int_equal(r[54], 136);
        assert_int_equal(r[58] & 0x40, 0x40);      /* solicited */
        assert_memory_equal(r + 54 + 26, peer.mac, 6);
        /* the checksum verifies: summing with it gives 0 */
        assert_int_equal(nd_icmp6_csum(r + 22, r + 38, r + 54, 32), 0);
        /* duplicate address detection (source ::) is not answered */
        n = ns_request(f, "::", "fd60::5");
        assert_int_equal(nd_frame_na_reply(f, n, lookup, NULL, r), 0);
        /* a hop limit below 255 is not a valid NS */
        n = ns_request(f, "fd60::9", "fd60::5");
        f[21] = 64;
        assert_int_equal(nd_frame_na_reply(f, n, lookup, NULL, r), 0);
        n = ns_request(f, "fd60::9", "fd60::77");
        assert_int_equal(nd_frame_na_reply(f, n, lookup, NULL, r), 0);
}

static size_t gre_packet(uint8_t *p, uint16_t flags, uint32_t key, size_t inner) {
        memset(p, 0, 20 + 16 + inner);
        p[0] = 0x45;
        p[9] = 47;
        inet_pton(AF_INET, "192.0.2.2", p + 12);
        size_t o = 20;
        p[o] = (uint8_t) (flags >> 8), p[o + 1] = (uint8_t) flags;
        p[o + 2] = 0x65, p[o + 3] = 0x58;
        o += 4;
        if (flags & 0x8000)
                o += 4;
        if (flags & 0x2000) {
                p[o] = (uint8_t) (key >> 24), p[o + 1] = (uint8_t) (key >> 16), p[o + 2] = (uint8_t) (key >> 8);
                p[o + 3] = (uint8_t) key;
                o += 4;
        }
        if (flags & 0x1000)
                o += 4;
        memset(p + o, 0xab, inner);
        return o + inner;
}

static void test_gre(void **state) {
        uint8_t p[256], hdr[8];
        uint32_t key, src;
        size_t off, n;

        nd_gre_header(4242, hdr);
        assert_memory_equal(hdr, "\x20\x00\x65\x58\x00\x00\x10\x92", 8);

        n = gre_packet(p, 0x2000, 4242, 60);
        assert_int_equal(nd_gre_parse(p, n, &key, &src, &off), 0);
        assert_int_equal(key, 4242);
        assert_int_equal(off, 28);
        assert_memory_equal(&src, "\xc0\x00\x02\x02", 4);
        /* checksum and sequence fields shift the payload */
        n = gre_packet(p, 0x2000 | 0x8000 | 0x1000, 7, 60);
        assert_int_equal(nd_gre_parse(p, n, &key, &src, &off), 0);
        assert_int_equal(key, 7);
        assert_int_equal(off, 20 + 4 + 4 + 4 + 4);
        /* refused: no key, routing, version 1, other protocol, runt, not GRE, truncated */
        n = gre_packet(p, 0x0000, 0, 60);
        assert_int_equal(nd_gre_parse(p, n, &key, &src, &off), -EINVAL);
        n = gre_packet(p, 0x2000 | 0x4000, 1, 60);
        assert_int_equal(nd_gre_parse(p, n, &key, &src, &off), -EINVAL);
        n = gre_packet(p, 0x2001, 1, 60);
        assert_int_equal(nd_gre_parse(p, n, &key, &src, &off), -EINVAL);
        n = gre_packet(p, 0x2000, 1, 60);
        p[23] = 0x00;
        assert_int_equal(nd_gre_parse(p, n, &key, &src, &off), -EINVAL);
        n = gre_packet(p, 0x2000, 1, 10);
        assert_int_equal(nd_gre_parse(p, n, &key, &src, &off), -EINVAL);
        n = gre_packet(p, 0x2000, 1, 60);
        p[9] = 17;
        assert_int_equal(nd_gre_parse(p, n, &key, &src, &off), -EINVAL);
        n = gre_packet(p, 0x2000, 1, 60);
        for (size_t k = 0; k < 20 + 8 + 14; k++)
                assert_int_equal(nd_gre_parse(p, k, &key, &src, &off), -EINVAL);
        p[0] = 0x4f; /* IHL beyond the packet */
        assert_int_equal(nd_gre_parse(p, 50, &key, &src, &off), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_blocks),
                cmocka_unit_test(test_arp),
                cmocka_unit_test(test_na),
                cmocka_unit_test(test_gre),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
