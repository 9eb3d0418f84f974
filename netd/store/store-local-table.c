/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded store in memory: the sorted key table, leases, the batch
 * being built with its undo records, the history ring watches replay
 * from, and the completion queue.  store-local-commit.c makes batches
 * durable and runs the callbacks.
 */
#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "store-local-internal.h"

static void kv_destroy(struct kv *kv) {
        free(kv->key);
        free(kv->value);
        free(kv);
}

/* The table (or an undo record) lets go of @kv; the events sharing it
 * keep it until the last goes. */
struct kv *nd_local_kv_free(struct kv *kv) {
        if (kv) {
                if (kv->shared)
                        kv->dropped = true;
                else
                        kv_destroy(kv);
        }
        return NULL;
}

void nd_local_event_unref(struct event *e) {
        if (e && --e->ref == 0) {
                struct kv *kv = e->src;
                if (--kv->shared == 0 && kv->dropped)
                        kv_destroy(kv);
                free(e);
        }
}

void nd_local_watch_unref(struct watch *w) {
        if (w && --w->ref == 0) {
                free(w->prefix);
                free(w);
        }
}

/* Binary search: index of @key, or where it would be inserted. */
size_t nd_local_kv_find(const local *s, const char *key, bool *found) {
        size_t lo = 0, hi = s->n_kvs;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(s->kvs[mid]->key, key);
                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

struct kv *nd_local_kv_lookup(const local *s, const char *key) {
        bool found;
        size_t i = nd_local_kv_find(s, key, &found);
        return found ? s->kvs[i] : NULL;
}

/* Put @kv in the table, taking ownership; returns the replaced entry. */
struct kv *nd_local_table_set(local *s, struct kv *kv) {
        bool found;
        size_t i = nd_local_kv_find(s, kv->key, &found);
        if (found) {
                struct kv *old = s->kvs[i];
                s->kvs[i] = kv;
                return old;
        }
        if (ND_GROW(s->kvs, s->n_kvs, s->cap_kvs, 1) < 0)
                abort(); /* table growth only; see nd_local_table_reserve() */
        memmove(s->kvs + i + 1, s->kvs + i, (s->n_kvs - i) * sizeof(*s->kvs));
        s->kvs[i] = kv;
        s->n_kvs++;
        return NULL;
}

/* Make room for @more inserts so nd_local_table_set() cannot fail
 * mid-transaction. */
int nd_local_table_reserve(local *s, size_t more) {
        return ND_GROW(s->kvs, s->n_kvs, s->cap_kvs, more);
}

static struct kv *table_remove(local *s, const char *key) {
        bool found;
        size_t i = nd_local_kv_find(s, key, &found);
        if (!found)
                return NULL;
        struct kv *old = s->kvs[i];
        memmove(s->kvs + i, s->kvs + i + 1, (s->n_kvs - i - 1) * sizeof(*s->kvs));
        s->n_kvs--;
        return old;
}

struct lease *nd_local_lease_find(local *s, int64_t id) {
        for (struct lease *l = s->leases; l; l = l->next)
                if (l->id == id)
                        return l;
        return NULL;
}

void nd_local_cq_push(struct cq *q, struct cmpl *c) {
        c->next = NULL;
        *q->tail = c;
        q->tail = &c->next;
}

void nd_local_queue_push(local *s, struct cmpl *c) {
        c->after_write = s->batch_writes;
        nd_local_cq_push(&s->q, c);
        /* while a batch is in flight, its completion wakes the loop */
        if (!s->fly.busy)
                ev_idle_start(s->loop, &s->spin);
}

struct lease *nd_local_lease_add(local *s, int64_t id, int64_t ttl) {
        struct lease *l = calloc(1, sizeof(*l));
        if (!l)
                return NULL;
        l->id = id;
        l->ttl = ttl;
        l->store = s;
        ev_timer_init(&l->timer, nd_local_lease_expired, 0., (double) ttl);
        if (s->loop)
                ev_timer_again(s->loop, &l->timer);
        l->next = s->leases;
        s->leases = l;
        if (id >= s->next_lease)
                s->next_lease = id + 1;
        return l;
}

void nd_local_lease_unlink(local *s, struct lease *l) {
        for (struct lease **p = &s->leases; *p; p = &(*p)->next)
                if (*p == l) {
                        *p = l->next;
                        break;
                }
        if (s->loop)
                ev_timer_stop(s->loop, &l->timer);
        l->next = NULL;
}

/* Record an event for watches; live mode only.  It shares @kv's key and
 * value (never changed once made: a put makes a new kv). */
static int batch_event(local *s, nd_store_event_type type, struct kv *kv, int64_t rev) {
        static char empty[1];

        if (!s->loop)
                return 0;
        if (ND_GROW(s->batch_events, s->n_batch_events, s->cap_batch_events, 1) < 0)
                return -ENOMEM;
        struct event *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->ref = 1;
        e->type = type;
        e->kv = *kv;
        e->kv.shared = 0;
        e->kv.dropped = false;
        e->src = kv;
        kv->shared++;
        if (type != ND_STORE_EVENT_PUT) {
                e->kv.value = empty;
                e->kv.value_len = 0;
                e->kv.mod_rev = rev;
        }
        s->batch_events[s->n_batch_events++] = e;
        return 0;
}

static int undo_push(local *s, const char *key, struct kv *old) {
        if (!s->loop) {
                nd_local_kv_free(old);
                return 0;
        }
        struct undo *u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->key = strdup(key);
        if (!u->key) {
                free(u);
                return -ENOMEM;
        }
        u->old = old;
        u->next = s->undo;
        s->undo = u;
        return 0;
}

int nd_local_apply_put(local *s, const char *key, const char *value, size_t vlen, int64_t lease,
                       int64_t rev) {
        struct kv *kv = calloc(1, sizeof(*kv)), *old;
        if (!kv)
                return -ENOMEM;
        kv->key = strdup(key);
        kv->value = malloc(vlen + 1);
        if (!kv->key || !kv->value) {
                nd_local_kv_free(kv);
                return -ENOMEM;
        }
        memcpy(kv->value, value, vlen);
        kv->value[vlen] = 0;
        kv->value_len = vlen;
        kv->mod_rev = rev;
        kv->lease = lease;
        old = nd_local_kv_lookup(s, key);
        kv->create_rev = old ? old->create_rev : rev;
        int r = batch_event(s, ND_STORE_EVENT_PUT, kv, rev);
        if (r < 0) {
                nd_local_kv_free(kv);
                return r;
        }
        old = nd_local_table_set(s, kv);
        return undo_push(s, key, old);
}

int nd_local_apply_del(local *s, const char *key, int64_t rev) {
        struct kv *old = nd_local_kv_lookup(s, key);
        if (!old)
                return 0;
        int r = batch_event(s, ND_STORE_EVENT_DELETE, old, rev);
        if (r < 0)
                return r;
        old = table_remove(s, key);
        return undo_push(s, key, old);
}

void nd_local_batch_begin(local *s) {
        if (s->batch_writes)
                return;
        s->batch_writes = true;
        s->batch_rev0 = s->rev;
        s->batch_seq0 = s->seq;
}

/* ---- undo, history ------------------------------------------------------ */

void nd_local_undo_run(local *s, struct undo **list) {
        while (*list) {
                struct undo *u = *list;
                *list = u->next;
                if (u->lease_granted) {
                        struct lease *l = nd_local_lease_find(s, u->lease_granted);
                        if (l) {
                                nd_local_lease_unlink(s, l);
                                free(l);
                        }
                } else if (u->lease_revoked) {
                        u->lease_revoked->next = s->leases;
                        s->leases = u->lease_revoked;
                        ev_timer_again(s->loop, &u->lease_revoked->timer);
                } else {
                        struct kv *cur = table_remove(s, u->key);
                        nd_local_kv_free(cur);
                        if (u->old)
                                nd_local_table_set(s, u->old);
                }
                free(u->key);
                free(u);
        }
}

void nd_local_undo_forget(struct undo **list) {
        while (*list) {
                struct undo *u = *list;
                *list = u->next;
                nd_local_kv_free(u->old);
                free(u->lease_revoked);
                free(u->key);
                free(u);
        }
}

void nd_local_batch_drop(local *s, int e) {
        nd_local_undo_run(s, &s->undo);
        s->rev = s->batch_rev0;
        s->seq = s->batch_seq0;
        for (struct cmpl *c = s->q.head; c; c = c->next) {
                if (c->after_write && c->kind != C_WATCH)
                        c->r = e;
                c->after_write = false;
        }
        for (size_t i = 0; i < s->n_batch_events; i++)
                nd_local_event_unref(s->batch_events[i]);
        s->n_batch_events = 0;
        s->wbuf.n = 0;
        s->batch_writes = false;
}

void nd_local_history_add(local *s, struct event *e) {
        if (s->hist_n == HISTORY_MAX) {
                nd_local_event_unref(s->history[s->hist_start]);
                s->hist_start = (s->hist_start + 1) % HISTORY_MAX;
                s->hist_n--;
        }
        e->ref++;
        s->history[(s->hist_start + s->hist_n) % HISTORY_MAX] = e;
        s->hist_n++;
}

bool nd_local_watch_matches(const struct watch *w, const char *key) {
        return strncmp(key, w->prefix, w->prefix_len) == 0;
}

void nd_local_queue_watch_event(local *s, struct cq *q, struct watch *w, struct event *e) {
        struct cmpl *c = calloc(1, sizeof(*c));
        if (!c) {
                nd_log(LOG_ERR, "store: out of memory queueing a watch event; watch dropped",
                       "prefix=%s", w->prefix);
                w->cb = NULL;
                return;
        }
        c->kind = C_WATCH;
        c->watch = w;
        w->ref++;
        c->event = e;
        e->ref++;
        if (q == &s->q)
                nd_local_queue_push(s, c);
        else
                nd_local_cq_push(q, c);
}
