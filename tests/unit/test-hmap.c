/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hmap.h"

struct item {
        char key[16];
        int v;
};

static void test_basic(void **state) {
        nd_hmap *m = NULL;
        struct item a = { "a", 1 }, b = { "b", 2 }, a2 = { "a", 3 };
        assert_int_equal(nd_hmap_new(&m), 0);
        assert_null(nd_hmap_get(m, "a"));
        assert_int_equal(nd_hmap_put(m, a.key, &a), 1);
        assert_int_equal(nd_hmap_put(m, b.key, &b), 1);
        assert_ptr_equal(nd_hmap_get(m, "a"), &a);
        assert_int_equal(nd_hmap_put(m, a2.key, &a2), 0); /* replaced */
        assert_ptr_equal(nd_hmap_get(m, "a"), &a2);
        assert_int_equal(nd_hmap_size(m), 2);
        assert_ptr_equal(nd_hmap_remove(m, "a"), &a2);
        assert_null(nd_hmap_remove(m, "a"));
        assert_int_equal(nd_hmap_size(m), 1);
        nd_hmap_free(m);
}

/* Growth past many doublings, and iteration that removes what it visits. */
static void test_grow_iterate(void **state) {
        enum { N = 20000 };
        nd_hmap *m = NULL;
        struct item *it = calloc(N, sizeof(*it));
        assert_int_equal(nd_hmap_new(&m), 0);
        for (int i = 0; i < N; i++) {
                snprintf(it[i].key, sizeof(it[i].key), "k%d", i);
                it[i].v = i;
                assert_int_equal(nd_hmap_put(m, it[i].key, &it[i]), 1);
        }
        assert_int_equal(nd_hmap_size(m), N);
        for (int i = 0; i < N; i += 997)
                assert_int_equal(((struct item *) nd_hmap_get(m, it[i].key))->v, i);
        /* remove the odd ones while iterating: every item is seen once */
        nd_hmap_iter iter = {0};
        struct item *x;
        long seen = 0, sum = 0;
        while ((x = nd_hmap_next(m, &iter))) {
                seen++;
                sum += x->v;
                if (x->v % 2)
                        assert_ptr_equal(nd_hmap_remove(m, x->key), x);
        }
        assert_int_equal(seen, N);
        assert_int_equal(sum, (long) N * (N - 1) / 2);
        assert_int_equal(nd_hmap_size(m), N / 2);
        assert_null(nd_hmap_get(m, "k1"));
        assert_non_null(nd_hmap_get(m, "k2"));
        nd_hmap_free(m);
        free(it);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_basic),
                cmocka_unit_test(test_grow_iterate),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
