/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cluster IPAM block arithmetic; the frames of the userspace GRE path:
 * GRE header and parsing, ARP replies and neighbour advertisements given
 * for remote endpoints; and the generic overlay table (networks, peers,
 * MAC index, status) driven through a fake tunnel kind that records the
 * calls it gets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "block.h"
#include "macro.h"
#include "frame.h"
#include "prefix.h"
#include "tunnel.h"

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

/* ---- the generic table, through a fake kind ---- */

typedef struct fake_net {
        nd_ovl_net net;
        unsigned inits;
} fake_net;

static struct {
        unsigned init, up, down, free, add, del, status, shared_free;
        char bridge[16];
        unsigned mtu;
        nd_overlay_peer last;
        int up_ret, add_ret;
} calls;

static void fake_init(nd_ovl_net *n) {
        calls.init++;
        container_of(n, fake_net, net)->inits++;
}

static int fake_up(nd_ovl_net *n, const char *bridge, unsigned mtu) {
        calls.up++;
        snprintf(calls.bridge, sizeof(calls.bridge), "%s", bridge);
        calls.mtu = mtu;
        assert_int_equal(container_of(n, fake_net, net)->inits, 1);
        if (calls.up_ret == 0 && !n->o->shared[ND_TUNNEL_GRE] && n->ops->shared_free) {
                n->o->shared[ND_TUNNEL_GRE] = malloc(1);
                assert_non_null(n->o->shared[ND_TUNNEL_GRE]);
        }
        n->ifindex = 7;
        return calls.up_ret;
}

static void fake_down(nd_ovl_net *n) {
        calls.down++;
}

static void fake_free(nd_ovl_net *n) {
        calls.free++;
}

static int fake_add(nd_ovl_net *n, const nd_overlay_peer *p) {
        calls.add++;
        calls.last = *p;
        /* the table already holds it */
        assert_non_null(nd_ovl_net_peer_by_mac(n, p->mac));
        return calls.add_ret;
}

static int fake_del(nd_ovl_net *n, const nd_overlay_peer *p) {
        calls.del++;
        calls.last = *p;
        assert_null(nd_ovl_net_peer_by_mac(n, p->mac));
        return 0;
}

static void fake_status(const nd_ovl_net *n, json_t *j) {
        calls.status++;
        json_object_set_new(j, "Fake", json_true());
}

static void fake_shared_free(nd_overlay *o, void *shared) {
        calls.shared_free++;
        free(shared);
}

static const nd_tunnel_ops fake_vx = {
        .kind = "fake-vx", .encap = "fake vx", .prefix = "fv", .net_size = sizeof(fake_net),
        .net_init = fake_init, .net_up = fake_up, .net_down = fake_down, .net_free = fake_free,
        .peer_add = fake_add, .peer_del = fake_del, .status = fake_status,
};

/* like GRE: peers only in the table, shared state, nothing outlives us */
static const nd_tunnel_ops fake_gre = {
        .kind = "fake-gre", .encap = "fake gre", .prefix = "fg", .net_size = sizeof(fake_net),
        .net_init = fake_init, .net_up = fake_up, .net_free = fake_free, .shared_free = fake_shared_free,
};

static const nd_tunnel_ops *const fake_kinds[_ND_TUNNEL_KIND_MAX] = {
        [ND_TUNNEL_VXLAN] = &fake_vx,
        [ND_TUNNEL_GRE] = &fake_gre,
};

#define NET1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NET2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static nd_overlay *fake_overlay(void) {
        nd_overlay *o;
        nd_addr local;
        memset(&calls, 0, sizeof(calls));
        assert_int_equal(nd_addr_parse("192.0.2.1", &local), 0);
        assert_int_equal(nd_overlay_new_kinds(NULL, NULL, &local, 0, fake_kinds, &o), 0);
        assert_int_equal(o->port, 4789);
        return o;
}

static nd_overlay_peer mkpeer(unsigned i, const char *vtep) {
        nd_overlay_peer p = { .mac = { 0x02, 0x42, 0x0a, (uint8_t) (i >> 16), (uint8_t) (i >> 8), (uint8_t) i } };
        p.ip4.family = AF_INET;
        p.ip4.b[0] = 10, p.ip4.b[1] = (uint8_t) (i >> 16), p.ip4.b[2] = (uint8_t) (i >> 8), p.ip4.b[3] = (uint8_t) i;
        assert_int_equal(nd_addr_parse(vtep, &p.vtep), 0);
        return p;
}

static void test_table_nets(void **state) {
        nd_overlay *o = fake_overlay();
        json_t *j;

        /* a fresh network: init once, then up, with the bridge and MTU */
        assert_int_equal(nd_overlay_net_up(o, NET1, "br-one", 42, false, 1450), 0);
        assert_int_equal(calls.init, 1);
        assert_int_equal(calls.up, 1);
        assert_string_equal(calls.bridge, "br-one");
        assert_int_equal(calls.mtu, 1450);
        assert_int_equal(o->n_nets, 1);
        /* again: a repair of the same network, not a second one */
        assert_int_equal(nd_overlay_net_up(o, NET1, "br-one", 42, false, 1400), 0);
        assert_int_equal(calls.init, 1);
        assert_int_equal(calls.up, 2);
        assert_int_equal(o->n_nets, 1);

        j = nd_overlay_status(o, NET1);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "Encap")), "fake vx");
        assert_string_equal(json_string_value(json_object_get(j, "Device")), "fv-0123456789ab");
        assert_int_equal(json_integer_value(json_object_get(j, "VNI")), 42);
        assert_int_equal(json_integer_value(json_object_get(j, "Peers")), 0);
        assert_true(json_is_true(json_object_get(j, "Fake")));
        json_decref(j);
        assert_null(nd_overlay_status(o, NET2));
        assert_null(nd_overlay_status(NULL, NET1));

        /* a failed first net_up frees the network and forgets it */
        calls.up_ret = -ENODEV;
        assert_int_equal(nd_overlay_net_up(o, NET2, "br-two", 43, true, 1450), -ENODEV);
        assert_int_equal(calls.free, 1);
        assert_int_equal(o->n_nets, 1);
        assert_null(nd_overlay_status(o, NET2));
        assert_int_equal(nd_overlay_peer_add(o, NET2, &(nd_overlay_peer) { 0 }), -ENOENT);
        /* ... a failed repair keeps it */
        assert_int_equal(nd_overlay_net_up(o, NET1, "br-one", 42, false, 1450), -ENODEV);
        assert_int_equal(calls.free, 1);
        assert_non_null(j = nd_overlay_status(o, NET1));
        json_decref(j);
        calls.up_ret = 0;

        /* the other kind, by the flag; no status op: the generic fields only */
        assert_int_equal(nd_overlay_net_up(o, NET2, "br-two", 43, true, 1450), 0);
        j = nd_overlay_status(o, NET2);
        assert_string_equal(json_string_value(json_object_get(j, "Encap")), "fake gre");
        assert_string_equal(json_string_value(json_object_get(j, "Device")), "fg-fedcba987654");
        assert_int_equal(json_object_size(j), 4);
        json_decref(j);
        assert_ptr_equal(nd_overlay_net_by_vni(o, &fake_gre, 43), o->nets[1]);
        assert_null(nd_overlay_net_by_vni(o, &fake_vx, 43));

        /* net down: the kind's down and free, then gone; unknown: nothing */
        nd_overlay_net_down(o, NET1);
        assert_int_equal(calls.down, 1);
        assert_int_equal(calls.free, 2);
        assert_null(nd_overlay_status(o, NET1));
        nd_overlay_net_down(o, NET1);
        assert_int_equal(calls.down, 1);
        assert_int_equal(calls.free, 2);
        /* a kind without net_down (GRE-like) */
        nd_overlay_net_down(o, NET2);
        assert_int_equal(calls.down, 1);
        assert_int_equal(calls.free, 3);
        assert_int_equal(o->n_nets, 0);

        /* freeing the overlay frees the networks, then the shared state once */
        assert_int_equal(nd_overlay_net_up(o, NET1, "br-one", 42, false, 1450), 0);
        assert_int_equal(nd_overlay_net_up(o, NET2, "br-two", 43, true, 1450), 0);
        assert_null(nd_overlay_free(o));
        assert_int_equal(calls.free, 5);
        assert_int_equal(calls.down, 1);   /* ports outlive the process */
        assert_int_equal(calls.shared_free, 1);
        assert_null(nd_overlay_free(NULL));
}

static void test_table_refusals(void **state) {
        static const nd_tunnel_ops *const only_vx[_ND_TUNNEL_KIND_MAX] = { [ND_TUNNEL_VXLAN] = &fake_vx };
        nd_overlay *o;
        nd_addr local;

        memset(&calls, 0, sizeof(calls));
        assert_int_equal(nd_addr_parse("2001:db8::1", &local), 0);
        assert_int_equal(nd_overlay_new_kinds(NULL, NULL, &local, 8472, fake_kinds, &o), 0);
        assert_int_equal(o->port, 8472);
        assert_int_equal(nd_overlay_net_up(o, NET1, "br", 1, false, 1450), -EAFNOSUPPORT);
        assert_int_equal(calls.init + calls.up, 0);
        nd_overlay_free(o);

        assert_int_equal(nd_addr_parse("192.0.2.1", &local), 0);
        assert_int_equal(nd_overlay_new_kinds(NULL, NULL, &local, 0, only_vx, &o), 0);
        assert_int_equal(nd_overlay_net_up(o, NET1, "br", 1, true, 1450), -EOPNOTSUPP);
        assert_int_equal(calls.init + calls.up, 0);
        /* unknown networks: add refused, del a no-op */
        nd_overlay_peer p = mkpeer(1, "192.0.2.2");
        assert_int_equal(nd_overlay_peer_add(o, NET1, &p), -ENOENT);
        assert_int_equal(nd_overlay_peer_del(o, NET1, &p), 0);
        assert_int_equal(calls.add + calls.del, 0);
        nd_overlay_free(o);
}

static void test_table_peers(void **state) {
        nd_overlay *o = fake_overlay();
        nd_overlay_peer p = mkpeer(5, "192.0.2.2"), q = mkpeer(6, "192.0.2.3");
        nd_ovl_net *n;

        assert_int_equal(nd_overlay_net_up(o, NET1, "br", 42, false, 1450), 0);
        n = o->nets[0];
        assert_int_equal(nd_overlay_peer_add(o, NET1, &p), 0);
        assert_int_equal(calls.add, 1);
        assert_memory_equal(calls.last.mac, p.mac, 6);
        assert_int_equal(n->n_peers, 1);

        /* the same MAC again replaces it (a moved endpoint), still one peer,
         * and the kind hears of it again */
        nd_overlay_peer moved = p;
        assert_int_equal(nd_addr_parse("192.0.2.9", &moved.vtep), 0);
        assert_int_equal(nd_overlay_peer_add(o, NET1, &moved), 0);
        assert_int_equal(n->n_peers, 1);
        assert_int_equal(calls.add, 2);
        assert_memory_equal(nd_ovl_net_peer_by_mac(n, p.mac)->vtep.b, moved.vtep.b, 4);
        assert_int_equal(nd_overlay_peer_add(o, NET1, &q), 0);
        assert_int_equal(n->n_peers, 2);

        /* lookups by IP, both families */
        assert_ptr_equal(nd_ovl_net_peer_by_ip(n, AF_INET, q.ip4.b), nd_ovl_net_peer_by_mac(n, q.mac));
        assert_null(nd_ovl_net_peer_by_ip(n, AF_INET6, q.ip4.b));
        nd_overlay_peer six = mkpeer(7, "192.0.2.3");
        assert_int_equal(nd_addr_parse("fd60::7", &six.ip6), 0);
        assert_int_equal(nd_overlay_peer_add(o, NET1, &six), 0);
        assert_memory_equal(nd_ovl_net_peer_by_ip(n, AF_INET6, six.ip6.b)->mac, six.mac, 6);

        /* the kind's error comes back; the table keeps the peer (a repair
         * programs it again) */
        calls.add_ret = -EIO;
        nd_overlay_peer r = mkpeer(8, "192.0.2.4");
        assert_int_equal(nd_overlay_peer_add(o, NET1, &r), -EIO);
        assert_non_null(nd_ovl_net_peer_by_mac(n, r.mac));
        calls.add_ret = 0;

        /* del: gone from the table before the kind hears of it; twice is fine */
        assert_int_equal(nd_overlay_peer_del(o, NET1, &p), 0);
        assert_int_equal(calls.del, 1);
        assert_null(nd_ovl_net_peer_by_mac(n, p.mac));
        assert_null(nd_ovl_net_peer_by_ip(n, AF_INET, p.ip4.b));
        assert_int_equal(n->n_peers, 3);
        assert_int_equal(nd_overlay_peer_del(o, NET1, &p), 0);
        assert_int_equal(calls.del, 2);
        assert_int_equal(n->n_peers, 3);
        assert_non_null(nd_ovl_net_peer_by_mac(n, q.mac));
        assert_non_null(nd_ovl_net_peer_by_mac(n, six.mac));

        json_t *j = nd_overlay_status(o, NET1);
        assert_int_equal(json_integer_value(json_object_get(j, "Peers")), 3);
        json_decref(j);

        /* net down forgets the peers: a new network of that id starts empty */
        nd_overlay_net_down(o, NET1);
        assert_int_equal(nd_overlay_net_up(o, NET1, "br", 42, false, 1450), 0);
        assert_int_equal(o->nets[0]->n_peers, 0);
        assert_null(nd_ovl_net_peer_by_mac(o->nets[0], q.mac));
        nd_overlay_free(o);
}

/* Enough peers for several index rebuilds, with deletions (tombstones)
 * between them: every lookup still finds exactly the live peers. */
static void test_table_index(void **state) {
        enum { N = 3000 };
        nd_overlay *o = fake_overlay();
        assert_int_equal(nd_overlay_net_up(o, NET1, "br", 42, true, 1450), 0);
        nd_ovl_net *n = o->nets[0];

        for (unsigned i = 0; i < N; i++) {
                nd_overlay_peer p = mkpeer(i, "192.0.2.2");
                assert_int_equal(nd_overlay_peer_add(o, NET1, &p), 0);
        }
        assert_int_equal(n->n_peers, N);
        for (unsigned i = 0; i < N; i += 2) {
                nd_overlay_peer p = mkpeer(i, "192.0.2.2");
                assert_int_equal(nd_overlay_peer_del(o, NET1, &p), 0);
        }
        assert_int_equal(n->n_peers, N / 2);
        for (unsigned round = 0; round < 3; round++) {
                for (unsigned i = 0; i < N; i += 2) {
                        nd_overlay_peer p = mkpeer(i, "192.0.2.3");
                        assert_int_equal(nd_overlay_peer_add(o, NET1, &p), 0);
                        assert_int_equal(nd_overlay_peer_del(o, NET1, &p), 0);
                }
        }
        for (unsigned i = 0; i < N; i++) {
                nd_overlay_peer p = mkpeer(i, "192.0.2.2");
                const nd_overlay_peer *got = nd_ovl_net_peer_by_mac(n, p.mac);
                if (i % 2) {
                        assert_non_null(got);
                        assert_memory_equal(got->mac, p.mac, 6);
                        assert_memory_equal(got->ip4.b, p.ip4.b, 4);
                        assert_memory_equal(got->vtep.b, p.vtep.b, 4);
                } else {
                        assert_null(got);
                }
        }
        nd_overlay_free(o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_blocks),
                cmocka_unit_test(test_arp),
                cmocka_unit_test(test_na),
                cmocka_unit_test(test_gre),
                cmocka_unit_test(test_table_nets),
                cmocka_unit_test(test_table_refusals),
                cmocka_unit_test(test_table_peers),
                cmocka_unit_test(test_table_index),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
