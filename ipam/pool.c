/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"
#include "pool.h"

struct pool_entry {
        nd_prefix base;
        unsigned size;
};

struct nd_pool {
        struct pool_entry e[ND_POOL_MAX_ENTRIES];
        size_t n;
};

int nd_pool_new(nd_pool **ret) {
        nd_pool *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

nd_pool *nd_pool_free(nd_pool *p) {
        free(p);
        return NULL;
}

size_t nd_pool_size(const nd_pool *p) {
        return p->n;
}

static int pool_push(nd_pool *p, const nd_prefix *base, unsigned size, nd_diag *diag) {
        char b[ND_PREFIX_STRLEN];

        if (p->n >= ND_POOL_MAX_ENTRIES)
                return nd_diag_set(diag, -E2BIG, "too many address pools (max %d)", ND_POOL_MAX_ENTRIES);
        if (size < base->len || size > nd_addr_bits(base->addr.family))
                return nd_diag_set(diag, -EINVAL, "pool '%s': size %u must be between %u and %u",
                                   nd_prefix_fmt(base, b), size, base->len,
                                   nd_addr_bits(base->addr.family));
        p->e[p->n].base = *base;
        p->e[p->n].size = size;
        p->n++;
        return 0;
}

int nd_pool_add(nd_pool *p, const char *spec, nd_diag *diag) {
        char buf[128], *save = NULL, *tok;
        nd_prefix base = {0};
        bool have_base = false;
        long size = -1;
        int r;

        if (!spec || strlen(spec) >= sizeof(buf))
                return nd_diag_set(diag, -EINVAL, "invalid address pool '%s'", spec ? spec : "");
        if (!strchr(spec, '=')) {
                r = nd_prefix_parse(spec, ND_PREFIX_STRICT, &base, diag);
                if (r < 0)
                        return r;
                return pool_push(p, &base, base.len, diag);
        }
        strcpy(buf, spec);
        for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (strncmp(tok, "base=", 5) == 0) {
                        r = nd_prefix_parse(tok + 5, ND_PREFIX_STRICT, &base, diag);
                        if (r < 0)
                                return r;
                        have_base = true;
                } else if (strncmp(tok, "size=", 5) == 0) {
                        char *end;
                        errno = 0;
                        size = strtol(tok + 5, &end, 10);
                        if (errno || *end || tok[5] == 0 || size < 0 || size > 128)
                                return nd_diag_set(diag, -EINVAL, "pool '%s': invalid size", spec);
                } else
                        return nd_diag_set(diag, -EINVAL, "pool '%s': unknown key in '%s' (want base=, size=)",
                                           spec, tok);
        }
        if (!have_base)
                return nd_diag_set(diag, -EINVAL, "pool '%s': base= missing", spec);
        return pool_push(p, &base, size < 0 ? base.len : (unsigned) size, diag);
}

int nd_pool_add_defaults(nd_pool *p) {
        static const char *const defaults[] = {
                "base=172.17.0.0/16,size=16", "base=172.18.0.0/16,size=16",
                "base=172.19.0.0/16,size=16", "base=172.20.0.0/14,size=16",
                "base=172.24.0.0/14,size=16", "base=172.28.0.0/14,size=16",
                "base=192.168.0.0/16,size=20",
        };
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
                int r = nd_pool_add(p, defaults[i], NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

int nd_pool_pick(const nd_pool *p, int family, const nd_prefix *busy, size_t n_busy,
                 nd_prefix *ret) {
        for (size_t i = 0; i < p->n; i++) {
                const struct pool_entry *e = &p->e[i];
                unsigned bits = nd_addr_bits(family);
                nd_u128 step, c, last;

                if (e->base.addr.family != family)
                        continue;
                /* a /0 of IPv6 in one piece: 2^128 does not fit, and
                 * there is no next candidate anyway */
                bool whole = bits - e->size >= 128;
                step = e->size >= bits ? 1 : whole ? 0 : ((nd_u128) 1) << (bits - e->size);
                c = nd_prefix_first(&e->base);
                last = nd_prefix_last(&e->base);
                for (;;) {
                        nd_prefix cand = { .len = e->size };
                        nd_u128 skip_to = 0;
                        bool clash = false;

                        nd_addr_from_u128(family, c, &cand.addr);
                        for (size_t j = 0; j < n_busy; j++)
                                if (nd_prefix_overlap(&cand, &busy[j])) {
                                        nd_u128 bl = nd_prefix_last(&busy[j]);
                                        clash = true;
                                        if (bl > skip_to)
                                                skip_to = bl;
                                }
                        if (!clash) {
                                *ret = cand;
                                return 0;
                        }
                        /* Jump past the furthest busy prefix this candidate
                         * hits, aligned to the candidate size: a /8 route does
                         * not cost 65536 iterations. */
                        if (skip_to >= last || whole)
                                break;
                        nd_u128 next = ((skip_to / step) + 1) * step;
                        if (next <= c || next > last)
                                break;
                        c = next;
                }
        }
        return -ENOSPC;
}
