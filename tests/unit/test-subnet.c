/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "prefix.h"
#include "subnet.h"

static nd_subnet *mk(const char *cidr, const char *range) {
        nd_prefix p, r;
        nd_subnet *s = NULL;
        assert_int_equal(nd_prefix_parse(cidr, 0, &p, NULL), 0);
        if (range)
                assert_int_equal(nd_prefix_parse(range, 0, &r, NULL), 0);
        assert_int_equal(nd_subnet_new(&p, range ? &r : NULL, &s), 0);
        return s;
}

static void assert_addr(const nd_addr *a, const char *want) {
        char b[ND_ADDR_STRLEN];
        assert_string_equal(nd_addr_fmt(a, b), want);
}

static nd_addr A(const char *s) {
        nd_addr a;
        assert_int_equal(nd_addr_parse(s, &a), 0);
        return a;
}

/* Every host address of a /16 exactly once, then ENOSPC; the bitmap makes
 * this linear: the test would time out under a quadratic scan. */
static void test_full_slash16(void **state) {
        nd_subnet *s = mk("172.20.0.0/16", NULL);
        nd_addr gw = A("172.20.0.1"), a;
        unsigned char *seen = calloc(65536, 1);
        assert_int_equal(nd_subnet_reserve(s, &gw), 0);
        for (unsigned i = 0; i < 65533; i++) {
                assert_int_equal(nd_subnet_alloc(s, &a), 0);
                unsigned off = (unsigned) (nd_addr_to_u128(&a) & 0xffff);
                assert_true(off != 0 && off != 0xffff && off != 1);
                assert_false(seen[off]);
                seen[off] = 1;
        }
        assert_int_equal(nd_subnet_count(s), 65534);
        assert_int_equal(nd_subnet_alloc(s, &a), -ENOSPC);
        /* release one in the middle: it is the only one left */
        a = A("172.20.100.7");
        assert_int_equal(nd_subnet_release(s, &a), 0);
        assert_int_equal(nd_subnet_release(s, &a), -ENOENT);
        nd_addr b;
        assert_int_equal(nd_subnet_alloc(s, &b), 0);
        assert_addr(&b, "172.20.100.7");
        free(seen);
        nd_subnet_free(s);
}

static void test_next_fit(void **state) {
        nd_subnet *s = mk("10.0.0.0/29", NULL); /* .1-.6 usable */
        nd_addr a, first;
        assert_int_equal(nd_subnet_alloc(s, &first), 0);
        assert_addr(&first, "10.0.0.1");
        assert_int_equal(nd_subnet_alloc(s, &a), 0);
        assert_addr(&a, "10.0.0.2");
        /* a released address is not reused before the allocator wraps */
        assert_int_equal(nd_subnet_release(s, &first), 0);
        assert_int_equal(nd_subnet_alloc(s, &a), 0);
        assert_addr(&a, "10.0.0.3");
        for (int i = 0; i < 3; i++)
                assert_int_equal(nd_subnet_alloc(s, &a), 0);
        assert_addr(&a, "10.0.0.6");
        assert_int_equal(nd_subnet_alloc(s, &a), 0);
        assert_addr(&a, "10.0.0.1");
        assert_int_equal(nd_subnet_alloc(s, &a), -ENOSPC);
        nd_subnet_free(s);
}

static void test_reserved_and_static(void **state) {
        nd_subnet *s = mk("192.168.1.0/24", "192.168.1.128/25");
        nd_addr a;
        a = A("192.168.1.0");
        assert_int_equal(nd_subnet_reserve(s, &a), -EADDRNOTAVAIL);
        a = A("192.168.1.255");
        assert_int_equal(nd_subnet_reserve(s, &a), -EADDRNOTAVAIL);
        a = A("192.168.2.1");
        assert_int_equal(nd_subnet_reserve(s, &a), -ERANGE);
        a = A("fd00::1");
        assert_int_equal(nd_subnet_reserve(s, &a), -ERANGE);
        /* static addresses outside the ip-range are fine */
        a = A("192.168.1.10");
        assert_int_equal(nd_subnet_reserve(s, &a), 0);
        assert_int_equal(nd_subnet_reserve(s, &a), -EEXIST);
        assert_true(nd_subnet_is_allocated(s, &a));
        /* dynamic ones come from the range, which ends before broadcast */
        assert_int_equal(nd_subnet_alloc(s, &a), 0);
        assert_addr(&a, "192.168.1.128");
        assert_int_equal(nd_subnet_capacity(s), 127);
        nd_subnet_free(s);
}

static void test_too_small(void **state) {
        nd_prefix p;
        nd_subnet *s;
        nd_prefix_parse("10.0.0.0/31", 0, &p, NULL);
        assert_int_equal(nd_subnet_new(&p, NULL, &s), -EINVAL);
        nd_prefix_parse("10.0.0.0/30", 0, &p, NULL);
        assert_int_equal(nd_subnet_new(&p, NULL, &s), 0);
        nd_subnet_free(s);
}

/* A /64 is sparse: memory follows allocations, static and dynamic mix. */
static void test_ipv6_sparse(void **state) {
        nd_subnet *s = mk("fd00:dead:beef::/64", NULL);
        nd_addr a, gw = A("fd00:dead:beef::1");
        assert_int_equal(nd_subnet_reserve(s, &gw), 0);
        a = A("fd00:dead:beef::3");
        assert_int_equal(nd_subnet_reserve(s, &a), 0);
        assert_int_equal(nd_subnet_alloc(s, &a), 0);
        assert_addr(&a, "fd00:dead:beef::2");
        assert_int_equal(nd_subnet_alloc(s, &a), 0);
        assert_addr(&a, "fd00:dead:beef::4");
        for (unsigned i = 0; i < 70000; i++)
                assert_int_equal(nd_subnet_alloc(s, &a), 0);
        assert_int_equal(nd_subnet_count(s), 70004);
        /* release every other one, check membership survives rehashing
         * and backward-shift deletion */
        for (unsigned i = 5; i < 70005; i += 2) {
                nd_addr x;
                nd_addr_from_u128(AF_INET6, nd_addr_to_u128(&gw) - 1 + i, &x);
                assert_int_equal(nd_subnet_release(s, &x), 0);
        }
        for (unsigned i = 4; i < 70005; i++) {
                nd_addr x;
                nd_addr_from_u128(AF_INET6, nd_addr_to_u128(&gw) - 1 + i, &x);
                assert_int_equal(nd_subnet_is_allocated(s, &x), i % 2 == 0);
        }
        a = A("fd00:dead:beef::");
        assert_int_equal(nd_subnet_reserve(s, &a), -EADDRNOTAVAIL);
        assert_int_equal(nd_subnet_capacity(s), UINT64_MAX);
        nd_subnet_free(s);
}

static void test_ipv6_small_exhaustion(void **state) {
        nd_subnet *s = mk("fd00::/126", NULL); /* ::1 ::2 ::3 */
        nd_addr a;
        for (int i = 0; i < 3; i++)
                assert_int_equal(nd_subnet_alloc(s, &a), 0);
        assert_addr(&a, "fd00::3");
        assert_int_equal(nd_subnet_alloc(s, &a), -ENOSPC);
        nd_subnet_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_slash16),
                cmocka_unit_test(test_next_fit),
                cmocka_unit_test(test_reserved_and_static),
                cmocka_unit_test(test_too_small),
                cmocka_unit_test(test_ipv6_sparse),
                cmocka_unit_test(test_ipv6_small_exhaustion),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
