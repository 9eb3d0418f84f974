/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "diag.h"
#include "prefix.h"

static void test_parse_ok(void **state) {
        nd_prefix p;
        char b[ND_PREFIX_STRLEN];
        assert_int_equal(nd_prefix_parse("10.1.0.0/16", ND_PREFIX_STRICT, &p, NULL), 0);
        assert_int_equal(p.addr.family, AF_INET);
        assert_int_equal(p.len, 16);
        assert_string_equal(nd_prefix_fmt(&p, b), "10.1.0.0/16");
        assert_int_equal(nd_prefix_parse("fd00:1::/64", ND_PREFIX_STRICT, &p, NULL), 0);
        assert_int_equal(p.addr.family, AF_INET6);
        assert_string_equal(nd_prefix_fmt(&p, b), "fd00:1::/64");
        assert_int_equal(nd_prefix_parse("0.0.0.0/0", ND_PREFIX_STRICT, &p, NULL), 0);
        assert_int_equal(nd_prefix_parse("1.2.3.4/32", ND_PREFIX_STRICT, &p, NULL), 0);
}

static void test_parse_bad(void **state) {
        static const struct { const char *in, *msg; } cases[] = {
                { "10.0.0.0", "not in CIDR notation" },
                { "10.0.0.0/33", "prefix length out of range" },
                { "10.0.0.0/", "invalid prefix length" },
                { "10.0.0.0/-1", "invalid prefix length" },
                { "10.0.0.0/8x", "invalid prefix length" },
                { "10.0.0.0/0008", "invalid prefix length" },
                { "10.0.0.256/24", "invalid address" },
                { "/24", "invalid address" },
                { "fd00::/129", "out of range" },
                { "10.0.0.1/24", "host bits set (did you mean '10.0.0.0/24'?)" },
                { "", "empty" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                nd_prefix p;
                nd_diag d = {0};
                assert_int_equal(nd_prefix_parse(cases[i].in, ND_PREFIX_STRICT, &p, &d), -EINVAL);
                if (!strstr(d.msg, cases[i].msg))
                        fail_msg("'%s': message '%s' lacks '%s'", cases[i].in, d.msg, cases[i].msg);
        }
}

static void test_overlap(void **state) {
        nd_prefix a, b, c, v6;
        nd_addr x;
        nd_prefix_parse("10.0.0.0/8", 0, &a, NULL);
        nd_prefix_parse("10.20.0.0/16", 0, &b, NULL);
        nd_prefix_parse("11.0.0.0/8", 0, &c, NULL);
        nd_prefix_parse("::/0", 0, &v6, NULL);
        assert_true(nd_prefix_overlap(&a, &b));
        assert_true(nd_prefix_overlap(&b, &a));
        assert_false(nd_prefix_overlap(&a, &c));
        assert_false(nd_prefix_overlap(&a, &v6));
        assert_true(nd_prefix_contains_prefix(&a, &b));
        assert_false(nd_prefix_contains_prefix(&b, &a));
        nd_addr_parse("10.255.255.255", &x);
        assert_true(nd_prefix_contains(&a, &x));
        assert_false(nd_prefix_contains(&b, &x));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ok),
                cmocka_unit_test(test_parse_bad),
                cmocka_unit_test(test_overlap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
