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
 * Group commit: transactions queued during one loop iteration are applied
 * in memory, appended to one buffer and made durable with a single write +
 * fdatasync from an ev_prepare watcher; then all callbacks run in order.  If
 * the write fails, the batch is undone in memory and the log truncated back,
 * and its callbacks get -EIO: a failed write changes nothing.
 *
 * Replay runs with the store's loop unset: no events, no undo records, no
 * lease timers armed (open arms them afterwards).
 */
#pragma once

#include <ev.h>
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
        struct kv kv;
};

struct watch {
        nd_store_watch head;
        unsigned ref;
        char *prefix;
        size_t prefix_len;
        nd_store_watch_fn cb;  /* NULL once cancelled */
        void *userdata;
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

        struct cmpl *q_head, **q_tail;
        ev_prepare flush;
        ev_idle spin;

        uint64_t commits, commit_errors, bytes;
        nd_hist commit_lat;    /* one group commit: write and fdatasync */
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
/* Queue a completion behind everything queued before it. */
void nd_local_queue_push(local *s, struct cmpl *c);
int nd_local_apply_put(local *s, const char *key, const char *value, size_t vlen, int64_t lease,
                       int64_t rev);
int nd_local_apply_del(local *s, const char *key, int64_t rev);
void nd_local_batch_begin(local *s);
void nd_local_batch_undo(local *s);
bool nd_local_watch_matches(const struct watch *w, const char *key);
void nd_local_queue_watch_event(local *s, struct watch *w, struct event *e);
/* Make the current batch durable.  0, or -errno after undoing it. */
int nd_local_flush(local *s);
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
