/* SPDX-License-Identifier: Apache-2.0 */
/* The placement ranking of replicated tasks (model/placement.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "placement.h"

static void test_empty(void **state) {
        assert_int_equal(nd_place_best(NULL, 0), -ENOENT);
}

static void test_fewest_of_service_first(void **state) {
        nd_place_host h[] = {
                { .id = "aa", .can_run = true, .svc_tasks = 2, .total_tasks = 2 },
                { .id = "bb", .can_run = true, .svc_tasks = 1, .total_tasks = 9 },
        };
        /* fewer of this service wins over fewer overall */
        assert_int_equal(nd_place_best(h, 2), 1);
}

static void test_fewest_overall_then_id(void **state) {
        nd_place_host h[] = {
                { .id = "cc", .can_run = true, .svc_tasks = 1, .total_tasks = 3 },
                { .id = "bb", .can_run = true, .svc_tasks = 1, .total_tasks = 1 },
                { .id = "aa", .can_run = true, .svc_tasks = 1, .total_tasks = 1 },
        };
        assert_int_equal(nd_place_best(h, 3), 2);
        h[2].total_tasks = 2;
        assert_int_equal(nd_place_best(h, 3), 1);
}

static void test_cannot_run_last(void **state) {
        nd_place_host h[] = {
                { .id = "aa", .can_run = false, .svc_tasks = 0, .total_tasks = 0 },
                { .id = "bb", .can_run = true, .svc_tasks = 5, .total_tasks = 5 },
        };
        assert_int_equal(nd_place_best(h, 2), 1);
        h[1].can_run = false;
        /* nobody can: the usual order, so one host shows the error */
        assert_int_equal(nd_place_best(h, 2), 0);
}

static void test_order_independent(void **state) {
        nd_place_host a = { .id = "aa", .can_run = true, .svc_tasks = 1, .total_tasks = 1 };
        nd_place_host b = { .id = "bb", .can_run = true, .svc_tasks = 1, .total_tasks = 1 };
        nd_place_host x[] = { a, b }, y[] = { b, a };
        /* every host computes the same winner whatever its list order */
        assert_int_equal(nd_place_best(x, 2), 0);
        assert_int_equal(nd_place_best(y, 2), 1);
        assert_true(nd_place_cmp(&a, &b) < 0 && nd_place_cmp(&b, &a) > 0);
        assert_int_equal(nd_place_cmp(&a, &a), 0);
}

/* Spreading slot by slot, as the hosts do: 4 slots over 2 hosts → 2/2. */
static void test_spread(void **state) {
        nd_place_host h[] = {
                { .id = "bb", .can_run = true, .total_tasks = 1 },
                { .id = "aa", .can_run = true, .total_tasks = 0 },
                { .id = "cc", .can_run = true, .total_tasks = 0 },
        };
        unsigned got[3] = {0};
        for (int k = 0; k < 6; k++) {
                int i = nd_place_best(h, 3);
                h[i].svc_tasks++;
                h[i].total_tasks++;
                got[i]++;
        }
        assert_int_equal(got[0], 2);
        assert_int_equal(got[1], 2);
        assert_int_equal(got[2], 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_fewest_of_service_first),
                cmocka_unit_test(test_fewest_overall_then_id),
                cmocka_unit_test(test_cannot_run_last),
                cmocka_unit_test(test_order_independent),
                cmocka_unit_test(test_spread),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
