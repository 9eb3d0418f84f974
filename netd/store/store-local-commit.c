/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded store's group commit (store-local-internal.h has the
 * design): the batch built in memory is handed to the store's writer
 * thread, which appends it to the log and fdatasyncs it off the loop; its
 * ev_async brings the loop back to finish the batch and run its callbacks
 * in order.  One batch is in flight at a time.
 */
#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "store-local-internal.h"

static void cq_init(struct cq *q) {
        q->head = NULL;
        q->tail = &q->head;
}

/* Move everything of @src to the end of @dst. */
static void cq_append(struct cq *dst, struct cq *src) {
        if (!src->head)
                return;
        *dst->tail = src->head;
        dst->tail = src->tail;
        cq_init(src);
}

/* ---- the writer thread ---------------------------------------------------- */

/* Append @f's records and make them durable, then write its snapshot if it
 * carries one.  Touches only @f, the log fd and the dir. */
static void flight_write(int log_fd, const char *dir, struct flight *f) {
        int r = 0;

        f->r_trunc = f->r_snap = 0;
        f->secs = 0;
        if (f->wbuf.n > 0) {
                double t0 = ev_time();
                r = nd_local_write_all(log_fd, f->wbuf.p, f->wbuf.n);
                if (r == 0 && fdatasync(log_fd) < 0)
                        r = -errno;
                f->secs = ev_time() - t0;
        }
        if (r < 0 && ftruncate(log_fd, (off_t) f->log_size) < 0)
                f->r_trunc = errno;
        if (r == 0 && f->snap.n > 0)
                f->r_snap = nd_local_snapshot_write(dir, log_fd, &f->snap);
        f->r = r;
}

static void *writer_main(void *arg) {
        local *s = arg;

        pthread_mutex_lock(&s->w_lock);
        for (;;) {
                while (!s->w_post && !s->w_stop)
                        pthread_cond_wait(&s->w_wake, &s->w_lock);
                if (!s->w_post)
                        break;
                s->w_post = false;
                pthread_mutex_unlock(&s->w_lock);
                flight_write(s->log_fd, s->dir, &s->fly);
                pthread_mutex_lock(&s->w_lock);
                s->w_done = true;
                pthread_cond_signal(&s->w_idle);
                ev_async_send(s->loop, &s->written);
        }
        pthread_mutex_unlock(&s->w_lock);
        return NULL;
}

/* ---- hand-over and completion ---------------------------------------------- */

/* Hand the batch being built to the thread; @may_compact: attach a
 * snapshot of the state after it once the log is long. */
static void flight_post(local *s, bool may_compact) {
        struct flight *f = &s->fly;
        struct buf b = f->wbuf;
        struct event **ev = f->events;
        size_t cap = f->cap_events;

        f->wbuf = s->wbuf;
        s->wbuf = b;
        s->wbuf.n = 0;
        f->events = s->batch_events;
        f->n_events = s->n_batch_events;
        f->cap_events = s->cap_batch_events;
        s->batch_events = ev;
        s->n_batch_events = 0;
        s->cap_batch_events = cap;
        f->undo = s->undo;
        s->undo = NULL;
        f->rev0 = s->batch_rev0;
        f->seq0 = s->batch_seq0;
        f->log_size = s->log_size;
        cq_init(&f->q);
        cq_append(&f->q, &s->q);
        s->batch_writes = false;
        f->snap.n = 0;
        if (may_compact && s->log_size + f->wbuf.n > COMPACT_LOG_BYTES) {
                /* memory holds exactly what the log will once this batch is in */
                int r = nd_local_snapshot_encode(s, &f->snap);
                if (r < 0) {
                        f->snap.n = 0;
                        nd_log_errno(LOG_WARNING, r, "store: compaction failed, ignoring", "dir=%s", s->dir);
                }
        }
        f->busy = true;
        s->flight_no++;
        pthread_mutex_lock(&s->w_lock);
        s->w_done = false;
        s->w_post = true;
        pthread_cond_signal(&s->w_wake);
        pthread_mutex_unlock(&s->w_lock);
}

/* The thread is done with the batch in flight: count it, then make its
 * effects final (history, watch events) or undo it and the batch built on
 * top of it.  Its completions, in order, go to @out.  Returns its result. */
static int flight_finish(local *s, struct cq *out) {
        struct flight *f = &s->fly;
        int r = f->r;

        f->busy = false;
        if (f->wbuf.n > 0) {
                nd_hist_observe(&s->commit_lat, f->secs);
                s->commits++;
                s->commit_errors += r < 0;
                s->bytes += r < 0 ? 0 : f->wbuf.n;
        }
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "store: writing the log failed, batch rolled back",
                             "dir=%s bytes=%zu", s->dir, f->wbuf.n);
                if (f->r_trunc)
                        nd_log_errno(LOG_ERR, f->r_trunc, "store: truncating the log failed, ignoring");
                /* a full disk or quota says so ("No space left on
                 * device", "Disk quota exceeded"); other failures are I/O */
                int e = r == -ENOSPC || r == -EDQUOT ? r : -EIO;
                /* newest first: the batch being built stands on this one */
                if (s->batch_writes)
                        nd_local_batch_drop(s, e);
                nd_local_undo_run(s, &f->undo);
                s->rev = f->rev0;
                s->seq = f->seq0;
                for (struct cmpl *c = f->q.head; c; c = c->next)
                        if (c->after_write && c->kind != C_WATCH)
                                c->r = e;
                /* everything queued since the hand-over saw this batch */
                for (struct cmpl *c = s->q.head; c; c = c->next)
                        if (c->kind != C_WATCH)
                                c->r = e;
                for (size_t i = 0; i < f->n_events; i++)
                        nd_local_event_unref(f->events[i]);
        } else {
                s->log_size += f->wbuf.n;
                if (f->snap.n > 0) {
                        if (f->r_snap < 0)
                                nd_log_errno(LOG_WARNING, f->r_snap, "store: compaction failed, ignoring", "dir=%s",
                                             s->dir);
                        else
                                s->log_size = 0;
                }
                nd_local_undo_forget(&f->undo);
                for (size_t i = 0; i < f->n_events; i++) {
                        struct event *e = f->events[i];
                        nd_local_history_add(s, e);
                        /* a watch started meanwhile has its replay queued
                         * since: these come after it */
                        for (struct watch *w = s->watches; w; w = w->next)
                                if (w->cb && nd_local_watch_matches(w, e->kv.key))
                                        nd_local_queue_watch_event(s, w->flight == s->flight_no ? &s->q : &f->q,
                                                                   w, e);
                        nd_local_event_unref(e);
                }
        }
        f->n_events = 0;
        f->wbuf.n = 0;
        f->snap.n = 0;
        for (struct cmpl *c = f->q.head; c; c = c->next)
                c->after_write = false;
        cq_init(out);
        cq_append(out, &f->q);
        return r;
}

/* A batch with no records (its transactions changed nothing). */
static void batch_close_empty(local *s) {
        nd_local_undo_forget(&s->undo);
        for (struct cmpl *c = s->q.head; c; c = c->next)
                c->after_write = false;
        s->batch_writes = false;
}

static void dispatch(struct cmpl *c) {
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

/* The thread finished a batch: its callbacks run now, on the loop. */
static void on_written(struct ev_loop *loop, ev_async *w, int revents) {
        local *s = container_of(w, local, written);
        struct cq q;

        pthread_mutex_lock(&s->w_lock);
        bool done = s->w_done;
        pthread_mutex_unlock(&s->w_lock);
        /* a wait may have finished it already */
        if (!s->fly.busy || !done)
                return;
        flight_finish(s, &q);
        dispatch(q.head);
}

void nd_local_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents) {
        local *s = container_of(w, local, flush);

        /* Bounded: one batch per loop iteration.  Callbacks that queue more
         * work get it handled on the next iteration; the idle watcher keeps
         * the loop from sleeping meanwhile.  While a batch is in flight
         * everything waits behind it and the loop sleeps until it is done. */
        ev_idle_stop(loop, &s->spin);
        if (s->fly.busy)
                return;
        if (s->batch_writes && s->wbuf.n > 0) {
                flight_post(s, true);
                return;
        }
        if (s->batch_writes)
                batch_close_empty(s);
        if (s->q.head) {
                struct cmpl *c = s->q.head;
                cq_init(&s->q);
                dispatch(c);
        }
        if (!s->fly.busy && (s->q.head || s->batch_writes))
                ev_idle_start(loop, &s->spin);
}

void nd_local_on_spin(struct ev_loop *loop, ev_idle *w, int revents) {
        ev_idle_stop(loop, w);
}

/* ---- waiting, start and stop ----------------------------------------------- */

int nd_local_commit_wait(local *s) {
        struct cq q;
        int r;

        if (!s->fly.busy)
                return 0;
        pthread_mutex_lock(&s->w_lock);
        while (!s->w_done)
                pthread_cond_wait(&s->w_idle, &s->w_lock);
        pthread_mutex_unlock(&s->w_lock);
        r = flight_finish(s, &q);
        /* its callbacks come first, at the next prepare */
        cq_append(&q, &s->q);
        cq_append(&s->q, &q);
        if (s->q.head)
                ev_idle_start(s->loop, &s->spin);
        return r;
}

int nd_local_commit_sync(local *s) {
        int r = nd_local_commit_wait(s);
        if (r < 0)
                return r;
        if (!s->batch_writes)
                return 0;
        if (s->wbuf.n == 0) {
                batch_close_empty(s);
                return 0;
        }
        flight_post(s, false);
        return nd_local_commit_wait(s);
}

int nd_local_writer_start(local *s) {
        sigset_t all, old;
        int e;

        pthread_mutex_init(&s->w_lock, NULL);
        pthread_cond_init(&s->w_wake, NULL);
        pthread_cond_init(&s->w_idle, NULL);
        ev_async_init(&s->written, on_written);
        ev_async_start(s->loop, &s->written);
        ev_unref(s->loop); /* the writer alone does not keep the loop running */
        /* the thread takes no signals: they belong to the loop's watchers */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        e = pthread_create(&s->writer, NULL, writer_main, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e != 0) {
                ev_ref(s->loop);
                ev_async_stop(s->loop, &s->written);
                pthread_cond_destroy(&s->w_idle);
                pthread_cond_destroy(&s->w_wake);
                pthread_mutex_destroy(&s->w_lock);
                return -e;
        }
        s->writer_started = true;
        return 0;
}

void nd_local_writer_stop(local *s) {
        if (s->writer_started) {
                /* Make pending writes durable; run nothing further. */
                (void) nd_local_commit_sync(s);
                pthread_mutex_lock(&s->w_lock);
                s->w_stop = true;
                pthread_cond_signal(&s->w_wake);
                pthread_mutex_unlock(&s->w_lock);
                pthread_join(s->writer, NULL);
                ev_ref(s->loop);
                ev_async_stop(s->loop, &s->written);
                pthread_cond_destroy(&s->w_idle);
                pthread_cond_destroy(&s->w_wake);
                pthread_mutex_destroy(&s->w_lock);
                s->writer_started = false;
        }
        free(s->fly.wbuf.p);
        free(s->fly.snap.p);
        free(s->fly.events);
        s->fly.wbuf = s->fly.snap = (struct buf) {0};
        s->fly.events = NULL;
}
