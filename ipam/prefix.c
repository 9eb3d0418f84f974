/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"
#include "prefix.h"

unsigned nd_addr_bits(int family) {
        return family == AF_INET ? 32 : 128;
}

int nd_addr_parse(const char *s, nd_addr *ret) {
        nd_addr a = {0};

        if (!s || !*s)
                return -EINVAL;
        if (inet_pton(AF_INET, s, a.b) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, s, a.b) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

const char *nd_addr_fmt(const nd_addr *a, char buf[static ND_ADDR_STRLEN]) {
        if (!inet_ntop(a->family, a->b, buf, ND_ADDR_STRLEN))
                snprintf(buf, ND_ADDR_STRLEN, "?");
        return buf;
}

bool nd_addr_equal(const nd_addr *a, const nd_addr *b) {
        return a->family == b->family &&
               memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16) == 0;
}

nd_u128 nd_addr_to_u128(const nd_addr *a) {
        unsigned n = a->family == AF_INET ? 4 : 16;
        nd_u128 v = 0;
        for (unsigned i = 0; i < n; i++)
                v = (v << 8) | a->b[i];
        return v;
}

void nd_addr_from_u128(int family, nd_u128 v, nd_addr *ret) {
        unsigned n = family == AF_INET ? 4 : 16;
        memset(ret, 0, sizeof(*ret));
        ret->family = family;
        for (unsigned i = n; i > 0; i--) {
                ret->b[i - 1] = (uint8_t) v;
                v >>= 8;
        }
}

static nd_u128 host_mask(const nd_prefix *p) {
        unsigned bits = nd_addr_bits(p->addr.family);
        unsigned host = bits - p->len;
        if (host == 0)
                return 0;
        if (host >= 128)
                return ~(nd_u128) 0;
        return (((nd_u128) 1) << host) - 1;
}

nd_u128 nd_prefix_first(const nd_prefix *p) {
        return nd_addr_to_u128(&p->addr) & ~host_mask(p);
}

nd_u128 nd_prefix_last(const nd_prefix *p) {
        return nd_addr_to_u128(&p->addr) | host_mask(p);
}

void nd_prefix_canon(nd_prefix *p) {
        nd_addr_from_u128(p->addr.family, nd_prefix_first(p), &p->addr);
}

int nd_prefix_parse(const char *s, unsigned flags, nd_prefix *ret, nd_diag *diag) {
        char buf[ND_PREFIX_STRLEN + 1];
        nd_prefix p = {0};
        const char *slash;
        char *end;
        unsigned long len;
        size_t n;

        if (!s || !*s)
                return nd_diag_set(diag, -EINVAL, "empty subnet");
        slash = strchr(s, '/');
        if (!slash)
                return nd_diag_set(diag, -EINVAL, "'%s': not in CIDR notation (address/length)", s);
        n = (size_t) (slash - s);
        if (n == 0 || n >= sizeof(buf))
                return nd_diag_set(diag, -EINVAL, "'%s': invalid address", s);
        memcpy(buf, s, n);
        buf[n] = 0;
        if (nd_addr_parse(buf, &p.addr) < 0)
                return nd_diag_set(diag, -EINVAL, "'%s': invalid address '%s'", s, buf);
        if (slash[1] < '0' || slash[1] > '9')
                return nd_diag_set(diag, -EINVAL, "'%s': invalid prefix length", s);
        errno = 0;
        len = strtoul(slash + 1, &end, 10);
        if (errno || *end || end - (slash + 1) > 3)
                return nd_diag_set(diag, -EINVAL, "'%s': invalid prefix length", s);
        if (len > nd_addr_bits(p.addr.family))
                return nd_diag_set(diag, -EINVAL, "'%s': prefix length out of range (0-%u)", s,
                                   nd_addr_bits(p.addr.family));
        p.len = (unsigned) len;
        if ((flags & ND_PREFIX_STRICT) && (nd_addr_to_u128(&p.addr) & host_mask(&p))) {
                char c[ND_PREFIX_STRLEN];
                nd_prefix q = p;
                nd_prefix_canon(&q);
                return nd_diag_set(diag, -EINVAL, "'%s': host bits set (did you mean '%s'?)", s,
                                   nd_prefix_fmt(&q, c));
        }
        *ret = p;
        return 0;
}

const char *nd_prefix_fmt(const nd_prefix *p, char buf[static ND_PREFIX_STRLEN]) {
        char a[ND_ADDR_STRLEN];
        snprintf(buf, ND_PREFIX_STRLEN, "%s/%u", nd_addr_fmt(&p->addr, a), p->len);
        return buf;
}

bool nd_prefix_contains(const nd_prefix *p, const nd_addr *a) {
        if (p->addr.family != a->family)
                return false;
        nd_u128 v = nd_addr_to_u128(a);
        return v >= nd_prefix_first(p) && v <= nd_prefix_last(p);
}

bool nd_prefix_contains_prefix(const nd_prefix *outer, const nd_prefix *inner) {
        return outer->addr.family == inner->addr.family && outer->len <= inner->len &&
               nd_prefix_contains(outer, &inner->addr);
}

bool nd_prefix_overlap(const nd_prefix *a, const nd_prefix *b) {
        if (a->addr.family != b->addr.family)
                return false;
        return nd_prefix_first(a) <= nd_prefix_last(b) && nd_prefix_first(b) <= nd_prefix_last(a);
}
