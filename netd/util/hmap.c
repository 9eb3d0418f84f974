/* SPDX-License-Identifier: Apache-2.0 */
/* A chained hash table (FNV-1a) of borrowed keys and values; see hmap.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

struct entry {
        const char *key;
        void *value;
        uint32_t hash;
        struct entry *next;
};

struct nd_hmap {
        struct entry **buckets;
        size_t n_buckets, size;
};

static uint32_t hash(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h;
}

int nd_hmap_new(nd_hmap **ret) {
        nd_hmap *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->n_buckets = 64;
        m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
        if (!m->buckets) {
                free(m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

nd_hmap *nd_hmap_free(nd_hmap *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_buckets; i++)
                for (struct entry *e = m->buckets[i], *n; e; e = n) {
                        n = e->next;
                        free(e);
                }
        free(m->buckets);
        free(m);
        return NULL;
}

size_t nd_hmap_size(const nd_hmap *m) {
        return m ? m->size : 0;
}

static struct entry **slot(const nd_hmap *m, const char *key, uint32_t h) {
        struct entry **p = &m->buckets[h & (m->n_buckets - 1)];
        for (; *p; p = &(*p)->next)
                if ((*p)->hash == h && strcmp((*p)->key, key) == 0)
                        break;
        return p;
}

static void grow(nd_hmap *m) {
        size_t nb = m->n_buckets * 2;
        struct entry **b = calloc(nb, sizeof(*b));
        if (!b)
                return; /* stays correct, only slower */
        for (size_t i = 0; i < m->n_buckets; i++)
                for (struct entry *e = m->buckets[i], *n; e; e = n) {
                        n = e->next;
                        e->next = b[e->hash & (nb - 1)];
                        b[e->hash & (nb - 1)] = e;
                }
        free(m->buckets);
        m->buckets = b;
        m->n_buckets = nb;
}

int nd_hmap_put(nd_hmap *m, const char *key, void *value) {
        uint32_t h = hash(key);
        struct entry **p = slot(m, key, h);
        if (*p) {
                (*p)->key = key;
                (*p)->value = value;
                return 0;
        }
        struct entry *e = malloc(sizeof(*e));
        if (!e)
                return -ENOMEM;
        *e = (struct entry) { .key = key, .value = value, .hash = h };
        *p = e;
        if (++m->size > m->n_buckets / 4 * 3)
                grow(m);
        return 1;
}

void *nd_hmap_get(const nd_hmap *m, const char *key) {
        struct entry *e = m ? *slot(m, key, hash(key)) : NULL;
        return e ? e->value : NULL;
}

void *nd_hmap_remove(nd_hmap *m, const char *key) {
        if (!m)
                return NULL;
        struct entry **p = slot(m, key, hash(key)), *e = *p;
        if (!e)
                return NULL;
        void *v = e->value;
        *p = e->next;
        free(e);
        m->size--;
        return v;
}

void *nd_hmap_next(const nd_hmap *m, nd_hmap_iter *it) {
        struct entry *e = it->next;
        if (!m)
                return NULL;
        while (!e && it->bucket < m->n_buckets)
                e = m->buckets[it->bucket++];
        if (!e)
                return NULL;
        /* the successor is taken now, so @e may be removed by the caller */
        it->next = e->next;
        return e->value;
}
