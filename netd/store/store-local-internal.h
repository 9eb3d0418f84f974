/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file store-local-internal.h
 * The embedded store's state, shared by its parts and by nothing else:
 *   store-local.c        the operations of the ops table, open and close
 *   store-local-table.c  the in-memory sorted key table, leases, the batch
 *                        being built (with its undo records), the history
 *                        ring, watch delivery and the group commit
 *   store-local-log.c    the files: frame format, replay, snapshot and
 *                        compaction
 *   store-local-commit.c the group commit: the writer thread, completion,
 *                        dispatch of callbacks
 *
 * The store is an in-memory sorted key table, made durable by an
 * append-only log of checksummed records plus a periodic snapshot.
 *
 * Files in the state dir:
 *   store.snap  one framed record holding the whole table (written to a
 *               temp file, fsync'd, renamed, directory fsync'd)
 *   store.log   framed records, one per transaction, appended
 *
 * A frame is: magic "NDL1" | u32 length | u32 crc32c(payload) | payload.
 * Every log record carries a sequence number; the snapshot records the last
 * one it includes, so a crash between writing a snapshot and truncating the
 * log replays nothing twice.  Replay stops at the first torn or corrupt
 * frame and truncates the log there: a kill -9 at any moment leaves the
 * state of some prefix of acknowledged transactions, and every transaction
 * whose callback ran is in that prefix (callbacks run after fdatasync).
 *
 * Group commit: a transaction is applied in memory at once (reads and
 * compares see it) and its record appended to the batch being built.  At
 * the loop's ev_prepare, when no batch is in flight, the batch is handed to
 * the store's writer thread, which does the one write + fdatasync (and, once
 * the log is long, writes the snapshot after it) while the loop goes on;
 * the thread reports through an ev_async, and only then, on the loop, do
 * the batch's callbacks run in order, followed by its watch events.  One
 * batch is in flight at a time, so the log holds batches in commit order;
 * what is queued meanwhile (writes, reads, every callback) waits behind it
 * and forms the next batch.  If the write fails, the batch in flight and
 * the one built on top of it are undone in memory, the log is truncated
 * back, and their callbacks (and those of reads that saw them) get -EIO: a
 * failed write changes nothing.
 *
 * Replay runs with the store's loop unset: no events, no undo records, no
 * lease timers armed (open arms them afterwards).
 */
#pragma once

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "grow.h"
#include "metrics.h"
#include "store.h"

#define FRAME_MAGIC 0x314c444eu /* "NDL1" little endian */
#define SNAP_MAGIC 0x3153444eu  /* "NDS1" */
#define FRAME_HDR 12
#define FRAME_MAX (64u * 1024 * 1024)
#define COMPACT_LOG_BYTES (8u * 1024 * 1024)
#define HISTORY_MAX 8192

enum {
        LOG_OP_PUT = 1,
        LOG_OP_DEL = 2,
        LOG_OP_LEASE_GRANT = 3,
        LOG_OP_LEASE_REVOKE = 4,
};

struct kv {
        char *key;
        char *value;
        size_t value_len;
        int64_t create_rev, mod_rev, lease;
        /* events sharing key and value (struct event's src): the history
         * keeps up to HISTORY_MAX of them, so a copy each would hold every
         * record twice; freed when the table let go and the last is gone */
        unsigned shared;
        bool dropped;
};

struct lease {
        int64_t id, ttl;
        ev_timer timer;
        struct local *store;
        struct lease *next;
};

/* A change event shared by the history ring and watch completions. */
struct event {
        unsigned ref;
        nd_store_event_type type;
        struct kv kv;          /* key and value are src's (a delete: value "") */
        struct kv *src;
};

struct watch {
        nd_store_watch head;
        unsigned ref;
        char *prefix;
        size_t prefix_len;
        nd_store_watch_fn cb;  /* NULL once cancelled */
        void *userdata;
        uint64_t flight;       /* the batch in flight when it started, 0: none */
        struct watch *next;
};

enum cmpl_kind { C_TXN, C_RANGE, C_LEASE, C_WATCH, C_WATCH_ERR };

struct cmpl {
        enum cmpl_kind kind;
        bool after_write;      /* queued after a write of the current batch */
        int r;
        int64_t rev, lease;
        void *userdata;
        nd_store_txn_fn txn_cb;
        nd_store_range_fn range_cb;
        nd_store_lease_fn lease_cb;
        struct watch *watch;
        struct event *event;
        struct kv *kvs;        /* C_RANGE: owned copies */
        size_t n_kvs;
        struct cmpl *next;
};

/* A completion queue, in order. */
struct cq {
        struct cmpl *head, **tail;
};

/* Undo record: the key's previous content (NULL: it was absent). */
struct undo {
        char *key;
        struct kv *old;
        int64_t lease_granted;  /* undo a grant */
        struct lease *lease_revoked;
        struct undo *next;
};

struct buf {
        uint8_t *p;
        size_t n, cap;
};

/* The batch handed to the writer thread.  While it is out (busy), the
 * thread reads wbuf, snap, log_size and writes the results; the loop
 * touches none of them until it has seen w_done. */
struct flight {
        bool busy;             /* the loop's: handed over, not yet finished */
        struct buf wbuf;       /* its framed records */
        struct buf snap;       /* a snapshot file to write after them, or empty */
        uint64_t log_size;     /* the log's size before it */
        struct undo *undo;
        struct event **events;
        size_t n_events, cap_events;
        int64_t rev0;
        uint64_t seq0;
        struct cq q;           /* completions queued up to the hand-over */
        /* results, from the thread */
        int r, r_trunc, r_snap; /* -errno; r_trunc a positive errno */
        double secs;           /* write and fdatasync */
};

typedef struct local {
        nd_store head;
        struct ev_loop *loop;
        char *dir;
        int log_fd, lock_fd;
        uint64_t log_size;
        uint64_t seq;
        int64_t rev;
        int64_t next_lease;

        struct kv **kvs;       /* sorted by key */
        size_t n_kvs, cap_kvs;
        struct lease *leases;
        struct watch *watches;

        struct event *history[HISTORY_MAX];
        size_t hist_start, hist_n;

        /* the batch being built in this loop iteration */
        struct buf wbuf;
        struct undo *undo;
        struct event **batch_events;
        size_t n_batch_events, cap_batch_events;
        int64_t batch_rev0;
        uint64_t batch_seq0;
        bool batch_writes;

        struct cq q;           /* completions not yet handed over */
        ev_prepare flush;
        ev_idle spin;

        /* the group commit (store-local-commit.c) */
        struct flight fly;
        uint64_t flight_no;    /* batches handed over so far */
        ev_async written;
        pthread_t writer;
        bool writer_started;
        pthread_mutex_t w_lock;
        pthread_cond_t w_wake, w_idle;
        bool w_post, w_done, w_stop;   /* guarded by w_lock */

        uint64_t commits, commit_errors, bytes;
        nd_hist commit_lat;    /* one group commit: write and fdatasync, timed on the thread */
} local;

/* ---- the byte buffer records are encoded into ---------------------------- */

static inline int buf_reserve(struct buf *b, size_t more) {
        return ND_GROW(b->p, b->n, b->cap, more);
}

static inline int buf_put(struct buf *b, const void *d, size_t n) {
        int r = buf_reserve(b, n);
        if (r < 0)
                return r;
        memcpy(b->p + b->n, d, n);
        b->n += n;
        return 0;
}

static inline int buf_u8(struct buf *b, uint8_t v) { return buf_put(b, &v, 1); }
static inline int buf_u32(struct buf *b, uint32_t v) { return buf_put(b, &v, 4); }
static inline int buf_i64(struct buf *b, int64_t v) { return buf_put(b, &v, 8); }
static inline int buf_str(struct buf *b, const char *s, size_t n) {
        int r = buf_u32(b, (uint32_t) n);
        return r < 0 ? r : buf_put(b, s, n);
}

/* ---- store-local-table.c ------------------------------------------------- */

struct kv *nd_local_kv_free(struct kv *kv);
void nd_local_event_unref(struct event *e);
void nd_local_watch_unref(struct watch *w);
/* Binary search: index of @key, or where it would be inserted. */
size_t nd_local_kv_find(const local *s, const char *key, bool *found);
struct kv *nd_local_kv_lookup(const local *s, const char *key);
/* Put @kv in the table, taking ownership; returns the replaced entry. */
struct kv *nd_local_table_set(local *s, struct kv *kv);
/* Make room for @more inserts so table_set() cannot fail mid-transaction. */
int nd_local_table_reserve(local *s, size_t more);
struct lease *nd_local_lease_find(local *s, int64_t id);
struct lease *nd_local_lease_add(local *s, int64_t id, int64_t ttl);
void nd_local_lease_unlink(local *s, struct lease *l);
void nd_local_cq_push(struct cq *q, struct cmpl *c);
/* Queue a completion behind everything queued before it. */
void nd_local_queue_push(local *s, struct cmpl *c);
int nd_local_apply_put(local *s, const char *key, const char *value, size_t vlen, int64_t lease,
                       int64_t rev);
int nd_local_apply_del(local *s, const char *key, int64_t rev);
void nd_local_batch_begin(local *s);
/* Undo @list (newest first) in memory, emptying it. */
void nd_local_undo_run(local *s, struct undo **list);
void nd_local_undo_forget(struct undo **list);
/* Undo the batch being built: memory, revision, its records and events;
 * its queued writes (and what was queued after them) get @e. */
void nd_local_batch_drop(local *s, int e);
void nd_local_history_add(local *s, struct event *e);
bool nd_local_watch_matches(const struct watch *w, const char *key);
/* Queue @e for @w on @q (&s->q, or a batch's queue). */
void nd_local_queue_watch_event(local *s, struct cq *q, struct watch *w, struct event *e);

/* ---- store-local-commit.c ------------------------------------------------ */

int nd_local_writer_start(local *s);
/* Wait for the batch in flight and finish it; its callbacks stay queued.
 * @s has no batch in flight afterwards.  Returns its result. */
int nd_local_commit_wait(local *s);
/* nd_local_commit_wait(), then make the batch being built durable the
 * same way.  0, or -errno after undoing what failed. */
int nd_local_commit_sync(local *s);
/* Make pending writes durable (callbacks not run), stop the thread, free
 * what the commit holds. */
void nd_local_writer_stop(local *s);
void nd_local_on_prepare(struct ev_loop *loop, ev_prepare *w, int revents);
void nd_local_on_spin(struct ev_loop *loop, ev_idle *w, int revents);

/* ---- store-local.c ------------------------------------------------------- */

void nd_local_lease_expired(struct ev_loop *loop, ev_timer *t, int revents);

/* ---- store-local-log.c --------------------------------------------------- */

int nd_local_frame_append(struct buf *b, const struct buf *payload, uint32_t magic);
int nd_local_write_all(int fd, const uint8_t *p, size_t n);
/* Read the snapshot and replay the log in @dfd (the store dir) into @s,
 * which has no loop yet; open the log for appending and cut off a torn or
 * corrupt tail.  0, or -errno (a corrupt snapshot: -EBADMSG). */
int nd_local_log_load(local *s, int dfd);
/* The whole table as a framed snapshot file, into @file. */
int nd_local_snapshot_encode(const local *s, struct buf *file);
/* Write @file as the snapshot (temp file, fsync, rename, directory fsync),
 * then truncate the log.  Touches only its arguments: the writer thread
 * runs it.  0, or -errno. */
int nd_local_snapshot_write(const char *dir, int log_fd, const struct buf *file);
