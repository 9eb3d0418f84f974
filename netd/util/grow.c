/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "grow.h"

int nd_grow(void **arr, size_t elem, size_t n, size_t *cap, size_t want) {
        size_t c = *cap, need;
        void *p;

        if (__builtin_add_overflow(n, want, &need))
                return -EOVERFLOW;
        if (need <= c)
                return 0;
        if (c < 16)
                c = 16;
        while (c < need)
                if (__builtin_mul_overflow(c, (size_t) 2, &c))
                        return -EOVERFLOW;
        if (__builtin_mul_overflow(c, elem, &need))
                return -EOVERFLOW;
        p = realloc(*arr, need);
        if (!p)
                return -ENOMEM;
        *arr = p;
        *cap = c;
        return 0;
}
