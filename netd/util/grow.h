/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file grow.h
 * The one growth helper for arrays that live as (pointer, count,
 * capacity): make room for @want more elements, doubling (from 16), with
 * overflow checks.  Elements past the count are left uninitialised.
 *
 *     if (ND_GROW(m->nets, m->n_nets, m->cap_nets, 1) < 0)
 *             return -ENOMEM;
 *     m->nets[m->n_nets++] = slot;
 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* 0, or -ENOMEM (-EOVERFLOW on size overflow) with *@arr untouched. */
int nd_grow(void **arr, size_t elem, size_t n, size_t *cap, size_t want);

#define ND_GROW(arr, n, cap, want)                                                             \
        ({                                                                                     \
                size_t _nd_cap = (cap);                                                        \
                void *_nd_p = (arr);                                                           \
                int _nd_r = nd_grow(&_nd_p, sizeof(*(arr)), (n), &_nd_cap, (want));            \
                if (_nd_r == 0) {                                                              \
                        (arr) = _nd_p;                                                         \
                        (cap) = _nd_cap;                                                       \
                }                                                                              \
                _nd_r;                                                                         \
        })
