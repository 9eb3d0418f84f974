/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/socket.h>

#include "block.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

unsigned nd_block_len(const nd_prefix *subnet, unsigned want) {
        unsigned bits = nd_addr_bits(subnet->addr.family), len;
        if (want)
                len = want;
        else if (subnet->addr.family == AF_INET)
                len = subnet->len <= 22 ? 26 : MIN(subnet->len + 4, 30u);
        else
                len = MAX(subnet->len + 16, 80u);
        if (len < subnet->len)
                len = subnet->len;
        if (len > bits - 2)
                len = bits - 2;
        return len;
}

uint64_t nd_block_count(const nd_prefix *subnet, unsigned len) {
        unsigned d = len - subnet->len;
        return d >= 20 ? ND_BLOCK_SCAN_MAX : (uint64_t) 1 << d;
}

void nd_block_nth(const nd_prefix *subnet, unsigned len, uint64_t i, nd_prefix *ret) {
        unsigned bits = nd_addr_bits(subnet->addr.family);
        *ret = (nd_prefix) { .len = len };
        nd_addr_from_u128(subnet->addr.family, nd_prefix_first(subnet) + ((nd_u128) i << (bits - len)), &ret->addr);
}
