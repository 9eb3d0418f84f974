/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "grow.h"

static void test_grow_doubles(void **state) {
        int *v = NULL;
        size_t n = 0, cap = 0;

        for (int i = 0; i < 1000; i++) {
                assert_int_equal(ND_GROW(v, n, cap, 1), 0);
                assert_true(cap > n);
                v[n++] = i;
        }
        assert_int_equal(cap, 1024);
        for (int i = 0; i < 1000; i++)
                assert_int_equal(v[i], i);
        /* room already there: no change */
        assert_int_equal(ND_GROW(v, n, cap, 24), 0);
        assert_int_equal(cap, 1024);
        /* a bulk request grows past it at once */
        assert_int_equal(ND_GROW(v, n, cap, 5000), 0);
        assert_int_equal(cap, 8192);
        free(v);
}

static void test_grow_overflow(void **state) {
        uint64_t *v = NULL;
        size_t n = 0, cap = 0;

        assert_int_equal(ND_GROW(v, n, cap, SIZE_MAX / 4), -EOVERFLOW);
        assert_null(v);
        assert_int_equal(cap, 0);
        n = SIZE_MAX;
        assert_int_equal(ND_GROW(v, n, cap, 1), -EOVERFLOW);
        assert_null(v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_grow_doubles),
                cmocka_unit_test(test_grow_overflow),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
