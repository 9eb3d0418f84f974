/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "names.h"

typedef struct rec {
        struct rec *next;      /* in its bucket */
        struct rec *onext;     /* in its owner's bucket */
        char *net, *name;      /* name lower-cased */
        nd_addr addr;
        char *ptr_name;
        char *owner;
} rec;

/* Two chained tables over the same records: by (network, name) for
 * answers, and by owner, so dropping an owner's names costs what that
 * owner has, not what the table holds (a peer's death, one event). */
struct nd_dns_names {
        rec **buckets, **obuckets;
        size_t n_buckets, n;
        void (*lock)(void *), (*unlock)(void *); /* the writers', or NULL */
        void *lock_arg;
};

void nd_dns_names_set_lock(nd_dns_names *t, void (*lock)(void *), void (*unlock)(void *), void *arg) {
        t->lock = lock;
        t->unlock = unlock;
        t->lock_arg = arg;
}

static void wlock(nd_dns_names *t) {
        if (t->lock)
                t->lock(t->lock_arg);
}

static void wunlock(nd_dns_names *t) {
        if (t->unlock)
                t->unlock(t->lock_arg);
}

static uint64_t hash_str(uint64_t h, const char *s) {
        for (; *s; s++)
                h = (h ^ (uint8_t) tolower((unsigned char) *s)) * 0x100000001b3ull;
        return h;
}

static size_t bucket_of(const nd_dns_names *t, const char *net, const char *name) {
        return (size_t) (hash_str(hash_str(0xcbf29ce484222325ull, net) * 31, name) % t->n_buckets);
}

static size_t obucket_of(const nd_dns_names *t, const char *owner) {
        return (size_t) (hash_str(0x84222325cbf29ce4ull, owner) % t->n_buckets);
}

nd_dns_names *nd_dns_names_new(void) {
        nd_dns_names *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->n_buckets = 1024;
        t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
        t->obuckets = calloc(t->n_buckets, sizeof(*t->obuckets));
        if (!t->buckets || !t->obuckets) {
                free(t->buckets);
                free(t->obuckets);
                free(t);
                return NULL;
        }
        return t;
}

static void rec_free(rec *r) {
        free(r->net);
        free(r->name);
        free(r->ptr_name);
        free(r->owner);
        free(r);
}

nd_dns_names *nd_dns_names_free(nd_dns_names *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_buckets; i++)
                while (t->buckets[i]) {
                        rec *r = t->buckets[i];
                        t->buckets[i] = r->next;
                        rec_free(r);
                }
        free(t->buckets);
        free(t->obuckets);
        free(t);
        return NULL;
}

/* LDH labels of 1-63, total at most 253, no leading or trailing dot.
 * Underscores are allowed: container names may hold them. */
static bool name_ok(const char *s) {
        size_t len = strlen(s), label = 0;
        if (len == 0 || len > ND_DNS_NAME_MAX)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p == '.') {
                        if (label == 0)
                                return false;
                        label = 0;
                        continue;
                }
                if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_')
                        return false;
                if (++label > 63)
                        return false;
        }
        return label > 0;
}

static void grow(nd_dns_names *t) {
        size_t nb = t->n_buckets * 2;
        rec **b = calloc(nb, sizeof(*b)), **ob = calloc(nb, sizeof(*ob));
        if (!b || !ob) {
                free(b);
                free(ob);
                return; /* keep the load factor; still correct */
        }
        rec **old = t->buckets;
        size_t on = t->n_buckets;
        free(t->obuckets);
        t->buckets = b;
        t->obuckets = ob;
        t->n_buckets = nb;
        for (size_t i = 0; i < on; i++)
                while (old[i]) {
                        rec *r = old[i];
                        old[i] = r->next;
                        size_t k = bucket_of(t, r->net, r->name);
                        r->next = b[k];
                        b[k] = r;
                        k = obucket_of(t, r->owner);
                        r->onext = ob[k];
                        ob[k] = r;
                }
        free(old);
}

static int add(nd_dns_names *t, const char *net, const char *name, const nd_addr *a, const char *ptr_name,
               const char *owner) {
        if (!name_ok(name) || !*net || (a && a->family != AF_INET && a->family != AF_INET6))
                return -EINVAL;
        rec *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->net = strdup(net);
        r->name = strdup(name);
        r->owner = strdup(owner);
        r->ptr_name = ptr_name ? strdup(ptr_name) : NULL;
        if (!r->net || !r->name || !r->owner || (ptr_name && !r->ptr_name)) {
                rec_free(r);
                return -ENOMEM;
        }
        for (char *p = r->name; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        if (a)
                r->addr = *a; /* else family 0: never collected, never equal */
        if (t->n >= t->n_buckets)
                grow(t);
        size_t k = bucket_of(t, net, r->name);
        r->next = t->buckets[k];
        t->buckets[k] = r;
        k = obucket_of(t, r->owner);
        r->onext = t->obuckets[k];
        t->obuckets[k] = r;
        t->n++;
        return 0;
}

int nd_dns_names_add(nd_dns_names *t, const char *net, const char *name, const nd_addr *a, const char *ptr_name,
                     const char *owner) {
        wlock(t);
        int r = add(t, net, name, a, ptr_name, owner);
        wunlock(t);
        return r;
}

int nd_dns_names_add_endpoint(nd_dns_names *t, const char *net, const char *const *names, size_t n,
                              const nd_addr *a4, const nd_addr *a6, const char *owner) {
        char ptr[2 * 255 + 2];
        int ret = 0;
        bool has_ptr = n > 0 && names[0] && *names[0];
        if (has_ptr)
                snprintf(ptr, sizeof(ptr), "%s.%s", names[0], net);
        wlock(t);
        for (size_t k = 0; k < n; k++) {
                bool seen = !names[k] || !*names[k];
                for (size_t x = 0; x < k && !seen; x++)
                        seen = names[x] && strcmp(names[x], names[k]) == 0;
                if (seen)
                        continue;
                const nd_addr *as[2] = { a4, a6 };
                for (int f = 0; f < 2; f++) {
                        if (!as[f] || !as[f]->family)
                                continue;
                        /* only the first name answers PTR */
                        int r = add(t, net, names[k], as[f], k == 0 && has_ptr ? ptr : NULL, owner);
                        if (r < 0 && r != -EINVAL && ret == 0)
                                ret = r;
                }
        }
        wunlock(t);
        return ret;
}

void nd_dns_names_drop(nd_dns_names *t, const char *owner) {
        wlock(t);
        for (rec **op = &t->obuckets[obucket_of(t, owner)]; *op;) {
                rec *r = *op;
                if (strcmp(r->owner, owner) != 0) {
                        op = &r->onext;
                        continue;
                }
                *op = r->onext;
                for (rec **p = &t->buckets[bucket_of(t, r->net, r->name)]; *p; p = &(*p)->next)
                        if (*p == r) {
                                *p = r->next;
                                break;
                        }
                rec_free(r);
                t->n--;
        }
        wunlock(t);
}

size_t nd_dns_names_count(const nd_dns_names *t) {
        return t->n;
}

static size_t collect(const nd_dns_names *t, const char *net, const char *name, int family, nd_addr *out,
                      size_t max, size_t n, bool *exists) {
        for (const rec *r = t->buckets[bucket_of(t, net, name)]; r; r = r->next) {
                if (strcmp(r->net, net) != 0 || strcasecmp(r->name, name) != 0)
                        continue;
                *exists = true;
                if (r->addr.family != family)
                        continue;
                bool dup = false;
                for (size_t i = 0; i < n && i < max && !dup; i++)
                        dup = nd_addr_equal(&out[i], &r->addr);
                if (dup)
                        continue;
                if (n < max)
                        out[n] = r->addr;
                n++;
        }
        return n;
}

/* @name on one of @nets (unless @qualified), else NAME.NET for one of them */
static size_t lookup(const nd_dns_names *t, const char *const *nets, size_t n_nets, const char *name, int family,
                     unsigned rotate, nd_addr *out, size_t max, bool *exists, bool qualified) {
        char buf[ND_DNS_NAME_MAX + 2];
        size_t n = 0, len = strlen(name);

        *exists = false;
        if (len == 0 || len > ND_DNS_NAME_MAX)
                return 0;
        memcpy(buf, name, len + 1);
        if (buf[len - 1] == '.')
                buf[--len] = 0;
        for (size_t i = 0; i < n_nets && !qualified; i++)
                n = collect(t, nets[i], buf, family, out, max, n, exists);
        if (!*exists) {
                /* NAME.NETWORK: the network must be one of the asker's */
                for (size_t i = 0; i < n_nets; i++) {
                        size_t nl = strlen(nets[i]);
                        if (len > nl + 1 && buf[len - nl - 1] == '.' && strcasecmp(buf + len - nl, nets[i]) == 0) {
                                buf[len - nl - 1] = 0;
                                n = collect(t, nets[i], buf, family, out, max, n, exists);
                                buf[len - nl - 1] = '.';
                        }
                }
        }
        size_t k = n < max ? n : max;
        if (k > 1 && rotate % k) {
                /* rotate left by rotate % k */
                size_t s = rotate % k;
                nd_addr tmp[64];
                while (s) {
                        size_t c = s < 64 ? s : 64;
                        memcpy(tmp, out, c * sizeof(*out));
                        memmove(out, out + c, (k - c) * sizeof(*out));
                        memcpy(out + k - c, tmp, c * sizeof(*out));
                        s -= c;
                }
        }
        return n;
}

size_t nd_dns_names_lookup(const nd_dns_names *t, const char *const *nets, size_t n_nets, const char *name,
                           int family, unsigned rotate, nd_addr *out, size_t max, bool *exists) {
        return lookup(t, nets, n_nets, name, family, rotate, out, max, exists, false);
}

size_t nd_dns_names_lookup_qualified(const nd_dns_names *t, const char *const *nets, size_t n_nets,
                                     const char *name, int family, unsigned rotate, nd_addr *out, size_t max,
                                     bool *exists) {
        return lookup(t, nets, n_nets, name, family, rotate, out, max, exists, true);
}

bool nd_dns_names_in_zone(const char *const *nets, size_t n_nets, const char *name) {
        size_t len = strlen(name);
        if (len && name[len - 1] == '.')
                len--;
        for (size_t i = 0; i < n_nets; i++) {
                size_t nl = strlen(nets[i]);
                if (len > nl + 1 && name[len - nl - 1] == '.' && strncasecmp(name + len - nl, nets[i], nl) == 0)
                        return true;
        }
        return false;
}

const char *nd_dns_names_reverse(const nd_dns_names *t, const char *const *nets, size_t n_nets, const nd_addr *a) {
        /* reverse lookups are rare: a scan keeps the table to one index */
        for (size_t b = 0; b < t->n_buckets; b++)
                for (const rec *r = t->buckets[b]; r; r = r->next) {
                        if (!r->ptr_name || !nd_addr_equal(&r->addr, a))
                                continue;
                        for (size_t i = 0; i < n_nets; i++)
                                if (strcmp(r->net, nets[i]) == 0)
                                        return r->ptr_name;
                }
        return NULL;
}
