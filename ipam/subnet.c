/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "subnet.h"

#define DENSE_MAX_BITS 20
#define SPARSE_MIN_SLOTS 64

struct nd_subnet {
        nd_prefix prefix;
        nd_u128 base;          /* first address of the subnet */
        nd_u128 last_off;      /* offset of the last address */
        nd_u128 lo, hi;        /* dynamic range, offsets, inclusive, usable */
        nd_u128 cursor;        /* next-fit position inside [lo, hi] */
        uint64_t count;
        bool has_bcast;

        /* dense */
        uint64_t *bits;
        /* sparse: open addressing, linear probing, backward-shift delete;
         * key 0 is never stored (offset 0 is the network address). */
        nd_u128 *slots;
        size_t n_slots, n_used;
};

static uint64_t hash128(nd_u128 v) {
        uint64_t x = (uint64_t) v ^ (uint64_t) (v >> 64) * 0x9e3779b97f4a7c15ULL;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        return x;
}

static bool set_test(const nd_subnet *s, nd_u128 off) {
        if (s->bits)
                return s->bits[off >> 6] & (1ULL << (off & 63));
        if (!s->slots)
                return false;
        for (size_t i = hash128(off) & (s->n_slots - 1);; i = (i + 1) & (s->n_slots - 1)) {
                if (s->slots[i] == 0)
                        return false;
                if (s->slots[i] == off)
                        return true;
        }
}

static int sparse_grow(nd_subnet *s) {
        size_t n = s->n_slots ? s->n_slots * 2 : SPARSE_MIN_SLOTS;
        nd_u128 *t = calloc(n, sizeof(*t));
        if (!t)
                return -ENOMEM;
        for (size_t j = 0; j < s->n_slots; j++) {
                nd_u128 k = s->slots[j];
                if (!k)
                        continue;
                size_t i = hash128(k) & (n - 1);
                while (t[i])
                        i = (i + 1) & (n - 1);
                t[i] = k;
        }
        free(s->slots);
        s->slots = t;
        s->n_slots = n;
        return 0;
}

static int set_add(nd_subnet *s, nd_u128 off) {
        if (s->bits) {
                s->bits[off >> 6] |= 1ULL << (off & 63);
                return 0;
        }
        if ((s->n_used + 1) * 4 > s->n_slots * 3) {
                int r = sparse_grow(s);
                if (r < 0)
                        return r;
        }
        size_t i = hash128(off) & (s->n_slots - 1);
        while (s->slots[i])
                i = (i + 1) & (s->n_slots - 1);
        s->slots[i] = off;
        s->n_used++;
        return 0;
}

static void set_del(nd_subnet *s, nd_u128 off) {
        if (s->bits) {
                s->bits[off >> 6] &= ~(1ULL << (off & 63));
                return;
        }
        size_t mask = s->n_slots - 1, i = hash128(off) & mask;
        while (s->slots[i] != off) {
                if (!s->slots[i])
                        return;
                i = (i + 1) & mask;
        }
        /* Backward-shift deletion keeps probe chains intact without
         * tombstones. */
        for (size_t j = i;;) {
                s->slots[i] = 0;
                for (;;) {
                        j = (j + 1) & mask;
                        if (!s->slots[j]) {
                                s->n_used--;
                                return;
                        }
                        size_t home = hash128(s->slots[j]) & mask;
                        /* move slots[j] into the hole at i unless its home
                         * lies cyclically in (i, j] */
                        if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                                break;
                }
                s->slots[i] = s->slots[j];
                i = j;
        }
}

/* Lowest clear offset in [from, to], or -1 as all-ones when none. */
static nd_u128 find_clear(const nd_subnet *s, nd_u128 from, nd_u128 to) {
        const nd_u128 none = ~(nd_u128) 0;
        if (from > to)
                return none;
        if (s->bits) {
                uint64_t f = (uint64_t) from, t = (uint64_t) to;
                for (uint64_t w = f >> 6; w <= t >> 6; w++) {
                        uint64_t free_bits = ~s->bits[w];
                        if (w == f >> 6)
                                free_bits &= ~0ULL << (f & 63);
                        if (w == t >> 6 && (t & 63) != 63)
                                free_bits &= (1ULL << ((t & 63) + 1)) - 1;
                        if (free_bits)
                                return ((nd_u128) w << 6) + (unsigned) __builtin_ctzll(free_bits);
                }
                return none;
        }
        /* Sparse: at most n_used consecutive hits before a free offset. */
        for (nd_u128 o = from;; o++) {
                if (!set_test(s, o))
                        return o;
                if (o == to)
                        return none;
        }
}

int nd_subnet_new(const nd_prefix *subnet, const nd_prefix *range, nd_subnet **ret) {
        unsigned bits = nd_addr_bits(subnet->addr.family);
        unsigned host = bits - subnet->len;
        nd_subnet *s;

        /* IPv4: network + broadcast reserved, so at least a /30 to have a
         * gateway and one container.  IPv6: the subnet-router anycast
         * address (RFC 4291 2.6.1) is reserved, at least a /126. */
        if (host < 2)
                return -EINVAL;
        if (range && !nd_prefix_contains_prefix(subnet, range))
                return -ERANGE;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->prefix = *subnet;
        nd_prefix_canon(&s->prefix);
        s->base = nd_prefix_first(&s->prefix);
        s->last_off = nd_prefix_last(&s->prefix) - s->base;
        s->has_bcast = subnet->addr.family == AF_INET;
        if (range) {
                s->lo = nd_prefix_first(range) - s->base;
                s->hi = nd_prefix_last(range) - s->base;
        } else {
                s->lo = 0;
                s->hi = s->last_off;
        }
        if (s->lo == 0)
                s->lo = 1;
        if (s->has_bcast && s->hi == s->last_off)
                s->hi--;
        s->cursor = s->lo;
        if (host <= DENSE_MAX_BITS) {
                s->bits = calloc(((size_t) 1 << host) / 64 + 1, sizeof(uint64_t));
                if (!s->bits) {
                        free(s);
                        return -ENOMEM;
                }
        }
        *ret = s;
        return 0;
}

nd_subnet *nd_subnet_free(nd_subnet *s) {
        if (!s)
                return NULL;
        free(s->bits);
        free(s->slots);
        free(s);
        return NULL;
}

const nd_prefix *nd_subnet_prefix(const nd_subnet *s) {
        return &s->prefix;
}

static int addr_offset(const nd_subnet *s, const nd_addr *a, nd_u128 *ret) {
        if (!nd_prefix_contains(&s->prefix, a))
                return -ERANGE;
        nd_u128 off = nd_addr_to_u128(a) - s->base;
        if (off == 0 || (s->has_bcast && off == s->last_off))
                return -EADDRNOTAVAIL;
        *ret = off;
        return 0;
}

int nd_subnet_reserve(nd_subnet *s, const nd_addr *a) {
        nd_u128 off;
        int r = addr_offset(s, a, &off);
        if (r < 0)
                return r;
        if (set_test(s, off))
                return -EEXIST;
        r = set_add(s, off);
        if (r < 0)
                return r;
        s->count++;
        return 0;
}

int nd_subnet_alloc(nd_subnet *s, nd_addr *ret) {
        const nd_u128 none = ~(nd_u128) 0;
        nd_u128 off;
        int r;

        if (s->lo > s->hi)
                return -ENOSPC;
        off = find_clear(s, s->cursor, s->hi);
        if (off == none && s->cursor > s->lo)
                off = find_clear(s, s->lo, s->cursor - 1);
        if (off == none)
                return -ENOSPC;
        r = set_add(s, off);
        if (r < 0)
                return r;
        s->count++;
        s->cursor = off == s->hi ? s->lo : off + 1;
        nd_addr_from_u128(s->prefix.addr.family, s->base + off, ret);
        return 0;
}

int nd_subnet_release(nd_subnet *s, const nd_addr *a) {
        nd_u128 off;
        int r = addr_offset(s, a, &off);
        if (r < 0)
                return r;
        if (!set_test(s, off))
                return -ENOENT;
        set_del(s, off);
        s->count--;
        return 0;
}

bool nd_subnet_is_allocated(const nd_subnet *s, const nd_addr *a) {
        nd_u128 off;
        return addr_offset(s, a, &off) == 0 && set_test(s, off);
}

uint64_t nd_subnet_count(const nd_subnet *s) {
        return s->count;
}

uint64_t nd_subnet_capacity(const nd_subnet *s) {
        if (s->lo > s->hi)
                return 0;
        nd_u128 n = s->hi - s->lo + 1;
        return n > UINT64_MAX ? UINT64_MAX : (uint64_t) n;
}

void nd_subnet_first_host(const nd_subnet *s, nd_addr *ret) {
        nd_addr_from_u128(s->prefix.addr.family, s->base + 1, ret);
}
