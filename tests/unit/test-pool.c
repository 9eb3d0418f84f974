/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "diag.h"
#include "pool.h"

static nd_prefix P(const char *s) {
        nd_prefix p;
        assert_int_equal(nd_prefix_parse(s, 0, &p, NULL), 0);
        return p;
}

static void assert_pick(nd_pool *pool, const nd_prefix *busy, size_t n, const char *want) {
        nd_prefix got;
        char b[ND_PREFIX_STRLEN];
        assert_int_equal(nd_pool_pick(pool, AF_INET, busy, n, &got), 0);
        assert_string_equal(nd_prefix_fmt(&got, b), want);
}

static void test_defaults(void **state) {
        nd_pool *pool;
        nd_prefix busy[40];
        size_t n = 0;
        assert_int_equal(nd_pool_new(&pool), 0);
        assert_int_equal(nd_pool_add_defaults(pool), 0);
        assert_pick(pool, NULL, 0, "172.17.0.0/16");
        busy[n++] = P("172.17.0.0/16");
        assert_pick(pool, busy, n, "172.18.0.0/16");
        /* a host route covering several candidates is skipped in one go */
        busy[n++] = P("172.16.0.0/12");
        assert_pick(pool, busy, n, "192.168.0.0/20");
        busy[n++] = P("192.168.0.0/20");
        busy[n++] = P("192.168.17.0/24");
        assert_pick(pool, busy, n, "192.168.32.0/20");
        /* everything taken */
        busy[n++] = P("192.168.0.0/16");
        nd_prefix got;
        assert_int_equal(nd_pool_pick(pool, AF_INET, busy, n, &got), -ENOSPC);
        nd_pool_free(pool);
}

static void test_all_docker_slash16s(void **state) {
        nd_pool *pool;
        nd_prefix busy[32];
        char want[32];
        assert_int_equal(nd_pool_new(&pool), 0);
        assert_int_equal(nd_pool_add_defaults(pool), 0);
        for (int i = 17; i <= 31; i++) {
                snprintf(want, sizeof(want), "172.%d.0.0/16", i);
                assert_pick(pool, busy, (size_t) (i - 17), want);
                busy[i - 17] = P(want);
        }
        assert_pick(pool, busy, 15, "192.168.0.0/20");
        nd_pool_free(pool);
}

static void test_custom(void **state) {
        nd_pool *pool;
        nd_diag d = {0};
        assert_int_equal(nd_pool_new(&pool), 0);
        assert_int_equal(nd_pool_add(pool, "base=10.10.0.0/16,size=24", &d), 0);
        assert_int_equal(nd_pool_add(pool, "fd00:1::/48", &d), 0);
        assert_pick(pool, NULL, 0, "10.10.0.0/24");
        nd_prefix busy = P("10.10.0.0/23"), got;
        assert_pick(pool, &busy, 1, "10.10.2.0/24");
        char b[ND_PREFIX_STRLEN];
        assert_int_equal(nd_pool_pick(pool, AF_INET6, NULL, 0, &got), 0);
        assert_string_equal(nd_prefix_fmt(&got, b), "fd00:1::/48");

        assert_int_equal(nd_pool_add(pool, "base=10.0.0.0/16,size=8", &d), -EINVAL);
        assert_non_null(strstr(d.msg, "size 8 must be between 16 and 32"));
        assert_int_equal(nd_pool_add(pool, "base=10.0.0.0/16,siz=24", &d), -EINVAL);
        assert_non_null(strstr(d.msg, "unknown key"));
        assert_int_equal(nd_pool_add(pool, "size=24", &d), -EINVAL);
        assert_int_equal(nd_pool_add(pool, "base=10.0.0.1/16,size=24", &d), -EINVAL);
        assert_int_equal(nd_pool_size(pool), 2);
        nd_pool_free(pool);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_all_docker_slash16s),
                cmocka_unit_test(test_custom),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
