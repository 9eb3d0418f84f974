/* SPDX-License-Identifier: Apache-2.0 */
/* CIDR, address and pool-spec parsers.  Invariant: what parses formats to
 * something that parses to the same value. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"
#include "pool.h"
#include "prefix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[256], f[ND_PREFIX_STRLEN];
        nd_prefix p, q;
        nd_addr a, b;
        nd_diag d;
        nd_pool *pool;

        if (size >= sizeof(s))
                return 0;
        memcpy(s, data, size);
        s[size] = 0;
        if (nd_prefix_parse(s, 0, &p, &d) == 0) {
                assert(nd_prefix_parse(nd_prefix_fmt(&p, f), 0, &q, &d) == 0);
                assert(q.len == p.len && nd_addr_equal(&q.addr, &p.addr));
                nd_prefix_canon(&q);
                assert(nd_prefix_contains_prefix(&q, &p) && nd_prefix_overlap(&p, &q));
        }
        if (nd_addr_parse(s, &a) == 0) {
                assert(nd_addr_parse(nd_addr_fmt(&a, f), &b) == 0 && nd_addr_equal(&a, &b));
                nd_addr_from_u128(a.family, nd_addr_to_u128(&a), &b);
                assert(nd_addr_equal(&a, &b));
        }
        if (nd_pool_new(&pool) == 0) {
                if (nd_pool_add(pool, s, &d) == 0) {
                        nd_prefix got;
                        (void) nd_pool_pick(pool, AF_INET, NULL, 0, &got);
                        (void) nd_pool_pick(pool, AF_INET6, &p, 1, &got);
                }
                nd_pool_free(pool);
        }
        return 0;
}
