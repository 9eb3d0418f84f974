/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded store in memory: the sorted key table, leases, the batch
 * of this loop iteration with its undo records, the history ring watches
 * replay from, the completion queue, and the group commit that makes a
 * batch durable and then runs its callbacks in order.
 */
#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "store-local-internal.h"

struct kv *nd_local_kv_free(struct kv *kv) {
        if (kv) {
                free(kv->key);
                free(kv->value);
                free(kv);
        }
        return NULL;
}

void nd_local_event_unref(struct event *e) {
        if (e && --e->ref == 0) {
                free(e->kv.key);
                free(e->kv.value);
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

void nd_local_queue_push(local *s, struct cmpl *c) {
        c->after_write = s->batch_writes;
        c->next = NULL;
        *s->q_tail = c;
        s->q_tail = &c->next;
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

/* Record an event for watches; live mode only. */
static int batch_event(local *s, nd_store_event_type type, const struct kv *kv, int64_t rev) {
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
        e->kv.key = strdup(kv->key);
        if (type == ND_STORE_EVENT_PUT) {
                e->kv.value = malloc(kv->value_len + 1);
                if (e->kv.value)
                        memcpy(e->kv.value, kv->value, kv->value_len + 1);
        } else {
                e->kv.value = strdup("");
                e->kv.value_len = 0;
                e->kv.mod_rev = rev;
        }
        if (!e->kv.key || !e->kv.value) {
                nd_local_event_unref(e);
                return -ENOMEM;
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

/* ---- batch commit -------------------------------------------------------- */

void nd_local_batch_undo(local *s) {
        while (s->undo) {
                struct undo *u = s->undo;
                s->undo = u->next;
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
        s->rev = s->batch_rev0;
        s->seq = s->batch_seq0;
}

static void batch_forget_undo(local *s) {
        while (s->undo) {
                struct undo *u = s->undo;
                s->undo = u->next;
                nd_local_kv_free(u->old);
                free(u->lease_revoked);
                free(u->key);
                free(u);
        }
}

static void history_add(local *s, struct event *e) {
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

void nd_local_queue_watch_event(local *s, struct watch *w, struct event *e) {
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
        nd_local_queue_push(s, c);
}

/* Make the current batch durable.  0, or -errno after undoing it. */
int nd_local_flush(local *s) {
        int r = 0;

        if (!s->batch_writes)
                return 0;
        if (s->wbuf.n > 0) {
                double t0 = ev_time();
                r = nd_local_write_all(s->log_fd, s->wbuf.p, s->wbuf.n);
                if (r == 0 && fdatasync(s->log_fd) < 0)
                        r = -errno;
                nd_hist_observe(&s->commit_lat, ev_time() - t0);
                s->commits++;
                s->commit_errors += r < 0;
                s->bytes += r < 0 ? 0 : s->wbuf.n;
        }
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "store: writing the log failed, batch rolled back",
                             "dir=%s bytes=%zu", s->dir, s->wbuf.n);
                if (ftruncate(s->log_fd, (off_t) s->log_size) < 0)
                        nd_log_errno(LOG_ERR, errno, "store: truncating the log failed, ignoring");
                nd_local_batch_undo(s);
                /* a full disk or quota says so ("No space left on
                 * device", "Disk quota exceeded"); other failures are I/O */
                int e = r == -ENOSPC || r == -EDQUOT ? r : -EIO;
                for (struct cmpl *c = s->q_head; c; c = c->next)
                        if (c->after_write && c->kind != C_WATCH)
                                c->r = e;
                for (size_t i = 0; i < s->n_batch_events; i++)
                        nd_local_event_unref(s->batch_events[i]);
        } else {
                s->log_size += s->wbuf.n;
                batch_forget_undo(s);
                for (size_t i = 0; i < s->n_batch_events; i++) {
                        struct event *e = s->batch_events[i];
                        history_add(s, e);
                        for (struct watch *w = s->watches; w; w = w->next)
                                if (w->cb && nd_local_watch_matches(w, e->kv.key))
                                        nd_local_queue_watch_event(s, w, e);
                        nd_local_event_unref(e);
                }
        }
        s->n_batch_events = 0;
        s->wbuf.n = 0;
        s->batch_writes = false;
        for (struct cmpl *c = s->q_head; c; c = c->next)
                c->after_write = false;
        return r;
}

static void dispatch(local *s) {
        struct cmpl *c = s->q_head;
        s->q_head = NULL;
        s->q_tail = &s->q_head;

        while (c) {
                struct cmpl *next = c->next;
                switch (c->kind) {
                case C_TXN:
                        if (c->txn_cb)
                                c->txn_cb(c->userdata, c->r, c->rev);
                        break;
                case C_RANGE: {
                        nd_store_kv *out = NULL;
                        if (c->n_kvs) {
                                out = calloc(c->n_kvs, sizeof(*out));
                                if (!out && c->r == 0)
                                        c->r = -ENOMEM;
                        }
                        for (size_t i = 0; out && i < c->n_kvs; i++)
                                out[i] = (nd_store_kv) {
                                        .key = c->kvs[i].key, .value = c->kvs[i].value,
                                        .value_len = c->kvs[i].value_len,
                                        .create_rev = c->kvs[i].create_rev,
                                        .mod_rev = c->kvs[i].mod_rev, .lease = c->kvs[i].lease,
                                };
                        c->range_cb(c->userdata, c->r, c->r < 0 ? NULL : out, c->r < 0 ? 0 : c->n_kvs,
                                    c->rev);
                        free(out);
                        for (size_t i = 0; i < c->n_kvs; i++) {
                                free(c->kvs[i].key);
                                free(c->kvs[i].value);
                        }
                        free(c->kvs);
                        break;
                }
                case C_LEASE:
                        if (c->lease_cb)
                                c->lease_cb(c->userdata, c->r, c->lease);
                        break;
                case C_WATCH:
                        if (c->watch->cb) {
                                nd_store_event ev = {
                                        .type = c->event->type,
                                        .kv = {
                                                .key = c->event->kv.key,
                                                .value = c->event->kv.value,
                                                .value_len = c->event->kv.value_len,
                                                .create_rev = c->event->kv.create_rev,
                                                .mod_rev = c->event->kv.mod_rev,
                                                .lease = c->event->kv.lease,
                                        },
                                };
                                c->watch->cb(c->watch->userdata, 0, &ev);
                        }
                        nd_local_event_unref(c->event);
                        nd_local_watch_unref(c->watch);
                        break;
                case C_WATCH_ERR:
                        if (c->watch->cb) {
                                nd_store_watch_fn cb = c->watch->cb;
                                c->watch->cb = NULL;
                                cb(c->watch->userdata, c->r, NULL);
                        }
                        nd_local_watch_unref(c->watch);
                        break;
                }
                free(c);
                c = next;
        }
}

void nd_local_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents) {
        local *s = container_of(w, local, flush);

        /* Bounded: one batch per loop iteration.  Callbacks that queue more
         * work get it flushed on the next iteration; the idle watcher keeps
         * the loop from sleeping meanwhile. */
        ev_idle_stop(loop, &s->spin);
        if (!s->q_head && !s->batch_writes)
                return;
        nd_local_flush(s);
        dispatch(s);
        if (s->log_size > COMPACT_LOG_BYTES) {
                int r = nd_store_local_compact(&s->head);
                if (r < 0)
                        nd_log_errno(LOG_WARNING, r, "store: compaction failed, ignoring", "dir=%s", s->dir);
        }
        if (s->q_head || s->batch_writes)
                ev_idle_start(loop, &s->spin);
}

void nd_local_on_spin(struct ev_loop *loop, ev_idle *w, int revents) {
        ev_idle_stop(loop, w);
}
