/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The services' element builders (netd/kernel/firewall.h) and the owner
 * diff, without a kernel: the bytes each element carries are the bytes
 * the rules' registers hold (docs/firewall.md, "Services").
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firewall.h"
#include "nft.h"
#include "prefix.h"

static nd_addr a4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
        return (nd_addr) { .family = AF_INET, .b = { a, b, c, d } };
}

static nd_addr a6(uint8_t last) {
        return (nd_addr) { .family = AF_INET6, .b = { 0xfd, 0x77, [15] = last } };
}

static uint32_t slot_of(const uint8_t *p) {
        uint32_t s;
        memcpy(&s, p, 4);
        return s;
}

/* 256 slots over 3 backends: 86/85/85, slot s to backend s % 3, the VIP
 * element first. */
static void test_vip_spread(void **state) {
        nd_nft_elem out[ND_FW_VIP_ELEMS_MAX];
        nd_addr vip = a4(10, 77, 0, 100), be[3] = { a4(10, 77, 0, 2), a4(10, 77, 0, 3), a4(10, 77, 0, 4) };
        size_t count[3] = {0};

        assert_int_equal(ND_SVC_SLOTS, 256);
        assert_int_equal(nd_fw_vip_elems("br-svc", &vip, be, 3, out), ND_FW_VIP_ELEMS_MAX);
        for (size_t i = 1; i < ND_FW_VIP_ELEMS_MAX; i++) {
                const nd_nft_elem *e = &out[i];
                uint32_t s = slot_of(e->key + 4);
                assert_int_equal(e->set, ND_SET_SVC_BE4);
                assert_int_equal(s, i - 1);
                assert_int_equal(e->data[3] - 2, s % 3);
                count[e->data[3] - 2]++;
        }
        assert_int_equal(count[0], 86);
        assert_int_equal(count[1], 85);
        assert_int_equal(count[2], 85);
}

/* The bytes: ifname zero-padded to 16 . VIP; VIP . slot (host order, what
 * numgen writes) : backend. */
static void test_vip_layout(void **state) {
        nd_nft_elem out[ND_FW_VIP_ELEMS_MAX];
        nd_addr vip = a4(10, 77, 0, 100), be = a4(10, 77, 0, 2);
        uint8_t key[20] = { 'b', 'r', '-', 's', 'v', 'c', [16] = 10, 77, 0, 100 };

        assert_int_equal(nd_fw_vip_elems("br-svc", &vip, &be, 1, out), 257);
        assert_int_equal(out[0].set, ND_SET_SVC_VIPS4);
        assert_int_equal(out[0].klen, 20);
        assert_int_equal(out[0].dlen, 0);
        assert_memory_equal(out[0].key, key, 20);

        const nd_nft_elem *e = &out[1 + 0x42];
        uint32_t host = 0x42;
        uint8_t k[8] = { 10, 77, 0, 100 };
        memcpy(k + 4, &host, 4);
        assert_int_equal(e->klen, 8);
        assert_int_equal(e->dlen, 4);
        assert_memory_equal(e->key, k, 8);
        assert_memory_equal(e->data, be.b, 4);
}

/* No backend: the VIP alone (it refuses); a mesh port: nothing. */
static void test_no_backends(void **state) {
        nd_nft_elem out[ND_FW_VIP_ELEMS_MAX];
        nd_addr vip = a4(10, 77, 0, 100);

        assert_int_equal(nd_fw_vip_elems("br-svc", &vip, NULL, 0, out), 1);
        assert_int_equal(out[0].set, ND_SET_SVC_VIPS4);
        assert_int_equal(nd_fw_mesh_elems(IPPROTO_TCP, 8080, NULL, 0, 80, out), 0);
}

/* IPv6 is not served: a VIP, SNAT or remote address gives no element, an
 * IPv6 backend counts as absent. */
static void test_ipv6_ignored(void **state) {
        nd_nft_elem out[ND_FW_VIP_ELEMS_MAX];
        nd_addr v6 = a6(1), vip = a4(10, 77, 0, 100);
        nd_addr mixed[3] = { a6(2), a4(10, 77, 0, 2), a6(3) }, only6[2] = { a6(2), a6(3) };

        assert_int_equal(nd_fw_vip_elems("br-svc", &v6, mixed, 3, out), 0);
        assert_int_equal(nd_fw_vip_elems("br-svc", &vip, only6, 2, out), 1);
        assert_int_equal(nd_fw_mesh_elems(IPPROTO_TCP, 8080, only6, 2, 80, out), 0);
        assert_int_equal(nd_fw_remote_elem(&v6, out), 0);
        assert_int_equal(nd_fw_snat_elem("br-ovl", &v6, out), 0);
        assert_int_equal(nd_fw_vip_elems("br-svc", NULL, mixed, 3, out), 0);

        /* every slot to the one IPv4 backend */
        assert_int_equal(nd_fw_vip_elems("br-svc", &vip, mixed, 3, out), 257);
        for (size_t i = 1; i < 257; i++)
                assert_memory_equal(out[i].data, mixed[1].b, 4);
        assert_int_equal(nd_fw_mesh_elems(IPPROTO_UDP, 53, mixed, 3, 5353, out), 256);
        for (size_t i = 0; i < 256; i++)
                assert_memory_equal(out[i].data, mixed[1].b, 4);
}

/* proto (1 byte in a 4-byte register) . port (network order, 2 in 4) .
 * slot (host order) : address . target port (network order, 2 in 4). */
static void test_mesh_layout(void **state) {
        nd_nft_elem out[ND_SVC_SLOTS];
        nd_addr be[2] = { a4(10, 77, 0, 2), a4(10, 77, 0, 3) };
        size_t count[2] = {0};

        assert_int_equal(nd_fw_mesh_elems(IPPROTO_TCP, 8080, be, 2, 80, out), 256);
        for (size_t i = 0; i < 256; i++) {
                const nd_nft_elem *e = &out[i];
                uint8_t k[12] = { IPPROTO_TCP, 0, 0, 0, 0x1f, 0x90 }, d[8] = { 10, 77, 0, 0, 0, 80 };
                uint32_t s = (uint32_t) i;
                memcpy(k + 8, &s, 4);
                d[3] = (uint8_t) (2 + i % 2);
                assert_int_equal(e->set, ND_SET_MESH4);
                assert_int_equal(e->klen, 12);
                assert_int_equal(e->dlen, 8);
                assert_memory_equal(e->key, k, 12);
                assert_memory_equal(e->data, d, 8);
                count[i % 2]++;
        }
        assert_int_equal(count[0], 128);
        assert_int_equal(count[1], 128);
}

static void test_remote_snat(void **state) {
        nd_nft_elem e;
        nd_addr a = a4(10, 0, 9, 7);
        uint8_t name[16] = "br-ovl";

        assert_int_equal(nd_fw_remote_elem(&a, &e), 1);
        assert_int_equal(e.set, ND_SET_SVC_REMOTE4);
        assert_int_equal(e.klen, 4);
        assert_int_equal(e.dlen, 0);
        assert_int_equal(e.interval_end, 0);
        assert_memory_equal(e.key, a.b, 4);

        assert_int_equal(nd_fw_snat_elem("br-ovl", &a, &e), 1);
        assert_int_equal(e.set, ND_SET_SVC_SNAT4);
        assert_int_equal(e.klen, 16);
        assert_int_equal(e.dlen, 4);
        assert_memory_equal(e.key, name, 16);
        assert_memory_equal(e.data, a.b, 4);
}

/* A VIP going from 2 to 3 backends: the 170 slots whose backend changes
 * are deleted and added again (same key, other data); the VIP and the 86
 * slots that keep theirs are untouched. */
static void test_diff(void **state) {
        nd_nft_elem a[ND_FW_VIP_ELEMS_MAX], b[ND_FW_VIP_ELEMS_MAX];
        nd_addr vip = a4(10, 77, 0, 100), be[3] = { a4(10, 77, 0, 2), a4(10, 77, 0, 3), a4(10, 77, 0, 4) };
        const nd_nft_elem **del, **add;
        size_t n_del, n_add;

        size_t na = nd_fw_vip_elems("br-svc", &vip, be, 2, a), nb = nd_fw_vip_elems("br-svc", &vip, be, 3, b);
        assert_int_equal(nd_fw_elems_diff(a, na, b, nb, &del, &n_del, &add, &n_add), 0);
        assert_int_equal(n_del, 170);
        assert_int_equal(n_add, 170);
        for (size_t i = 0; i < n_del; i++) {
                uint32_t s = slot_of(del[i]->key + 4);
                assert_true(del[i] >= a && del[i] < a + na);
                assert_int_not_equal(s % 2, s % 3);
                assert_int_equal(del[i]->data[3] - 2, s % 2);
        }
        for (size_t i = 0; i < n_add; i++) {
                uint32_t s = slot_of(add[i]->key + 4);
                assert_true(add[i] >= b && add[i] < b + nb);
                assert_int_equal(add[i]->data[3] - 2, s % 3);
        }
        free(del);
        free(add);

        /* nothing to do */
        assert_int_equal(nd_fw_elems_diff(a, na, a, na, &del, &n_del, &add, &n_add), 0);
        assert_int_equal(n_del + n_add, 0);
        free(del);
        free(add);

        /* from and to nothing; duplicates count once */
        nd_nft_elem dup[3] = { a[5], a[5], a[0] };
        assert_int_equal(nd_fw_elems_diff(NULL, 0, dup, 3, &del, &n_del, &add, &n_add), 0);
        assert_int_equal(n_del, 0);
        assert_int_equal(n_add, 2);
        free(del);
        free(add);
        assert_int_equal(nd_fw_elems_diff(dup, 3, NULL, 0, &del, &n_del, &add, &n_add), 0);
        assert_int_equal(n_del, 2);
        assert_int_equal(n_add, 0);
        free(del);
        free(add);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vip_spread),  cmocka_unit_test(test_vip_layout),
                cmocka_unit_test(test_no_backends), cmocka_unit_test(test_ipv6_ignored),
                cmocka_unit_test(test_mesh_layout), cmocka_unit_test(test_remote_snat),
                cmocka_unit_test(test_diff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
