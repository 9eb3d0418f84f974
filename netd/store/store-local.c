/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded store: an in-memory sorted key table, made durable by an
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
 */
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "macro.h"
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

static int local_flush(local *s);

/* ---- small helpers ---------------------------------------------------- */

static int buf_reserve(struct buf *b, size_t more) {
        if (b->n + more <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + more)
                cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
                return -ENOMEM;
        b->p = p;
        b->cap = cap;
        return 0;
}

static int buf_put(struct buf *b, const void *d, size_t n) {
        int r = buf_reserve(b, n);
        if (r < 0)
                return r;
        memcpy(b->p + b->n, d, n);
        b->n += n;
        return 0;
}

static int buf_u8(struct buf *b, uint8_t v) { return buf_put(b, &v, 1); }
static int buf_u32(struct buf *b, uint32_t v) { return buf_put(b, &v, 4); }
static int buf_i64(struct buf *b, int64_t v) { return buf_put(b, &v, 8); }
static int buf_str(struct buf *b, const char *s, size_t n) {
        int r = buf_u32(b, (uint32_t) n);
        return r < 0 ? r : buf_put(b, s, n);
}

struct rd {
        const uint8_t *p;
        size_t n, o;
        bool bad;
};

static void rd_get(struct rd *r, void *d, size_t n) {
        if (r->bad || r->n - r->o < n) {
                r->bad = true;
                memset(d, 0, n);
                return;
        }
        memcpy(d, r->p + r->o, n);
        r->o += n;
}
static uint8_t rd_u8(struct rd *r) { uint8_t v; rd_get(r, &v, 1); return v; }
static uint32_t rd_u32(struct rd *r) { uint32_t v; rd_get(r, &v, 4); return v; }
static int64_t rd_i64(struct rd *r) { int64_t v; rd_get(r, &v, 8); return v; }
/* Returns a malloc'd NUL-terminated copy, or NULL (r->bad set). */
static char *rd_str(struct rd *r, size_t *ret_len) {
        uint32_t n = rd_u32(r);
        if (r->bad || r->n - r->o < n) {
                r->bad = true;
                return NULL;
        }
        char *s = malloc((size_t) n + 1);
        if (!s) {
                r->bad = true;
                return NULL;
        }
        memcpy(s, r->p + r->o, n);
        s[n] = 0;
        r->o += n;
        if (ret_len)
                *ret_len = n;
        return s;
}

static struct kv *kv_free(struct kv *kv) {
        if (kv) {
                free(kv->key);
                free(kv->value);
                free(kv);
        }
        return NULL;
}

static void event_unref(struct event *e) {
        if (e && --e->ref == 0) {
                free(e->kv.key);
                free(e->kv.value);
                free(e);
        }
}

static void watch_unref(struct watch *w) {
        if (w && --w->ref == 0) {
                free(w->prefix);
                free(w);
        }
}

/* Binary search: index of @key, or where it would be inserted. */
static size_t kv_find(const local *s, const char *key, bool *found) {
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

static struct kv *kv_lookup(const local *s, const char *key) {
        bool found;
        size_t i = kv_find(s, key, &found);
        return found ? s->kvs[i] : NULL;
}

/* Put @kv in the table, taking ownership; returns the replaced entry. */
static struct kv *table_set(local *s, struct kv *kv) {
        bool found;
        size_t i = kv_find(s, kv->key, &found);
        if (found) {
                struct kv *old = s->kvs[i];
                s->kvs[i] = kv;
                return old;
        }
        if (s->n_kvs == s->cap_kvs) {
                size_t cap = s->cap_kvs ? s->cap_kvs * 2 : 256;
                struct kv **n = realloc(s->kvs, cap * sizeof(*n));
                if (!n)
                        abort(); /* table growth only; see table_reserve() */
                s->kvs = n;
                s->cap_kvs = cap;
        }
        memmove(s->kvs + i + 1, s->kvs + i, (s->n_kvs - i) * sizeof(*s->kvs));
        s->kvs[i] = kv;
        s->n_kvs++;
        return NULL;
}

/* Make room for @more inserts so table_set() cannot fail mid-transaction. */
static int table_reserve(local *s, size_t more) {
        if (s->n_kvs + more <= s->cap_kvs)
                return 0;
        size_t cap = s->cap_kvs ? s->cap_kvs : 256;
        while (cap < s->n_kvs + more)
                cap *= 2;
        struct kv **n = realloc(s->kvs, cap * sizeof(*n));
        if (!n)
                return -ENOMEM;
        s->kvs = n;
        s->cap_kvs = cap;
        return 0;
}

static struct kv *table_remove(local *s, const char *key) {
        bool found;
        size_t i = kv_find(s, key, &found);
        if (!found)
                return NULL;
        struct kv *old = s->kvs[i];
        memmove(s->kvs + i, s->kvs + i + 1, (s->n_kvs - i - 1) * sizeof(*s->kvs));
        s->n_kvs--;
        return old;
}

static struct lease *lease_find(local *s, int64_t id) {
        for (struct lease *l = s->leases; l; l = l->next)
                if (l->id == id)
                        return l;
        return NULL;
}

static void queue_push(local *s, struct cmpl *c) {
        c->after_write = s->batch_writes;
        c->next = NULL;
        *s->q_tail = c;
        s->q_tail = &c->next;
        ev_idle_start(s->loop, &s->spin);
}

/* ---- applying changes (shared by live transactions and replay) -------- */

static void lease_expired(struct ev_loop *loop, ev_timer *t, int revents);

static struct lease *lease_add(local *s, int64_t id, int64_t ttl) {
        struct lease *l = calloc(1, sizeof(*l));
        if (!l)
                return NULL;
        l->id = id;
        l->ttl = ttl;
        l->store = s;
        ev_timer_init(&l->timer, lease_expired, 0., (double) ttl);
        if (s->loop)
                ev_timer_again(s->loop, &l->timer);
        l->next = s->leases;
        s->leases = l;
        if (id >= s->next_lease)
                s->next_lease = id + 1;
        return l;
}

static void lease_unlink(local *s, struct lease *l) {
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
        if (s->n_batch_events == s->cap_batch_events) {
                size_t cap = s->cap_batch_events ? s->cap_batch_events * 2 : 16;
                struct event **n = realloc(s->batch_events, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                s->batch_events = n;
                s->cap_batch_events = cap;
        }
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
                event_unref(e);
                return -ENOMEM;
        }
        s->batch_events[s->n_batch_events++] = e;
        return 0;
}

static int undo_push(local *s, const char *key, struct kv *old) {
        if (!s->loop) {
                kv_free(old);
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

static int apply_put(local *s, const char *key, const char *value, size_t vlen, int64_t lease,
                     int64_t rev) {
        struct kv *kv = calloc(1, sizeof(*kv)), *old;
        if (!kv)
                return -ENOMEM;
        kv->key = strdup(key);
        kv->value = malloc(vlen + 1);
        if (!kv->key || !kv->value) {
                kv_free(kv);
                return -ENOMEM;
        }
        memcpy(kv->value, value, vlen);
        kv->value[vlen] = 0;
        kv->value_len = vlen;
        kv->mod_rev = rev;
        kv->lease = lease;
        old = kv_lookup(s, key);
        kv->create_rev = old ? old->create_rev : rev;
        int r = batch_event(s, ND_STORE_EVENT_PUT, kv, rev);
        if (r < 0) {
                kv_free(kv);
                return r;
        }
        old = table_set(s, kv);
        return undo_push(s, key, old);
}

static int apply_del(local *s, const char *key, int64_t rev) {
        struct kv *old = kv_lookup(s, key);
        if (!old)
                return 0;
        int r = batch_event(s, ND_STORE_EVENT_DELETE, old, rev);
        if (r < 0)
                return r;
        old = table_remove(s, key);
        return undo_push(s, key, old);
}

/* ---- the log ------------------------------------------------------------ */

static int frame_append(struct buf *b, const struct buf *payload, uint32_t magic) {
        int r;
        if ((r = buf_u32(b, magic)) < 0 || (r = buf_u32(b, (uint32_t) payload->n)) < 0 ||
            (r = buf_u32(b, nd_crc32c(0, payload->p, payload->n))) < 0 ||
            (r = buf_put(b, payload->p, payload->n)) < 0)
                return r;
        return 0;
}

static void batch_begin(local *s) {
        if (s->batch_writes)
                return;
        s->batch_writes = true;
        s->batch_rev0 = s->rev;
        s->batch_seq0 = s->seq;
}

/* Replay one log payload.  Returns 0, or -EBADMSG when it does not parse
 * (the caller treats that as the end of the valid log). */
static int replay_record(local *s, const uint8_t *p, size_t n, uint64_t snap_seq) {
        struct rd rd = { .p = p, .n = n };
        uint64_t seq = (uint64_t) rd_i64(&rd);
        int64_t rev = rd_i64(&rd);
        uint32_t nops = rd_u32(&rd);
        int r = 0;

        if (rd.bad || nops > 1u << 20)
                return -EBADMSG;
        if (seq <= snap_seq)
                return 0;
        for (uint32_t i = 0; i < nops && !rd.bad; i++) {
                uint8_t op = rd_u8(&rd);
                _cleanup_free_ char *key = NULL, *val = NULL;
                size_t vlen = 0;
                int64_t a, b;

                switch (op) {
                case LOG_OP_PUT:
                        key = rd_str(&rd, NULL);
                        val = rd_str(&rd, &vlen);
                        a = rd_i64(&rd);
                        if (!rd.bad)
                                r = apply_put(s, key, val, vlen, a, rev);
                        break;
                case LOG_OP_DEL:
                        key = rd_str(&rd, NULL);
                        if (!rd.bad)
                                r = apply_del(s, key, rev);
                        break;
                case LOG_OP_LEASE_GRANT:
                        a = rd_i64(&rd);
                        b = rd_i64(&rd);
                        if (!rd.bad && !lease_find(s, a) && !lease_add(s, a, b))
                                r = -ENOMEM;
                        break;
                case LOG_OP_LEASE_REVOKE: {
                        a = rd_i64(&rd);
                        struct lease *l = rd.bad ? NULL : lease_find(s, a);
                        if (l) {
                                lease_unlink(s, l);
                                free(l);
                        }
                        break;
                }
                default:
                        return -EBADMSG;
                }
                if (r < 0)
                        return r;
        }
        if (rd.bad)
                return -EBADMSG;
        s->seq = seq;
        if (rev > s->rev)
                s->rev = rev;
        return 0;
}

static int read_file(int dfd, const char *name, struct buf *ret) {
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                int r = buf_reserve(ret, 65536);
                if (r < 0)
                        return r;
                ssize_t k = read(fd, ret->p + ret->n, ret->cap - ret->n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return 0;
                ret->n += (size_t) k;
        }
}

/* Parse frames from @b; returns the byte offset after the last valid one. */
static size_t frames_valid(const struct buf *b, uint32_t magic, size_t *ret_count,
                           int (*fn)(local *, const uint8_t *, size_t, uint64_t), local *s,
                           uint64_t snap_seq) {
        size_t o = 0, count = 0;
        while (b->n - o >= FRAME_HDR) {
                uint32_t m, len, crc;
                memcpy(&m, b->p + o, 4);
                memcpy(&len, b->p + o + 4, 4);
                memcpy(&crc, b->p + o + 8, 4);
                if (m != magic || len > FRAME_MAX || b->n - o - FRAME_HDR < len)
                        break;
                if (nd_crc32c(0, b->p + o + FRAME_HDR, len) != crc)
                        break;
                if (fn(s, b->p + o + FRAME_HDR, len, snap_seq) < 0)
                        break;
                o += FRAME_HDR + len;
                count++;
        }
        if (ret_count)
                *ret_count = count;
        return o;
}

static int load_snapshot_payload(local *s, const uint8_t *p, size_t n, uint64_t unused) {
        struct rd rd = { .p = p, .n = n };
        s->seq = (uint64_t) rd_i64(&rd);
        s->rev = rd_i64(&rd);
        s->next_lease = rd_i64(&rd);
        uint32_t nl = rd_u32(&rd);
        for (uint32_t i = 0; i < nl && !rd.bad; i++) {
                int64_t id = rd_i64(&rd), ttl = rd_i64(&rd);
                if (!rd.bad && !lease_add(s, id, ttl))
                        return -ENOMEM;
        }
        uint32_t nkv = rd_u32(&rd);
        if (rd.bad || table_reserve(s, nkv) < 0)
                return -EBADMSG;
        for (uint32_t i = 0; i < nkv && !rd.bad; i++) {
                struct kv *kv = calloc(1, sizeof(*kv));
                if (!kv)
                        return -ENOMEM;
                kv->key = rd_str(&rd, NULL);
                kv->value = rd_str(&rd, &kv->value_len);
                kv->create_rev = rd_i64(&rd);
                kv->mod_rev = rd_i64(&rd);
                kv->lease = rd_i64(&rd);
                if (rd.bad) {
                        kv_free(kv);
                        return -EBADMSG;
                }
                kv_free(table_set(s, kv));
        }
        return rd.bad ? -EBADMSG : 0;
}

static int fsync_dir(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int nd_store_local_compact(nd_store *st) {
        local *s = (local *) st;
        struct buf payload = {0}, file = {0};
        char tmp[PATH_MAX], dst[PATH_MAX];
        size_t nl = 0;
        int r;

        if (s->batch_writes) {
                r = local_flush(s);
                if (r < 0)
                        return r;
        }
        for (struct lease *l = s->leases; l; l = l->next)
                nl++;
        if ((r = buf_i64(&payload, (int64_t) s->seq)) < 0 || (r = buf_i64(&payload, s->rev)) < 0 ||
            (r = buf_i64(&payload, s->next_lease)) < 0 || (r = buf_u32(&payload, (uint32_t) nl)) < 0)
                goto out;
        for (struct lease *l = s->leases; l; l = l->next)
                if ((r = buf_i64(&payload, l->id)) < 0 || (r = buf_i64(&payload, l->ttl)) < 0)
                        goto out;
        if ((r = buf_u32(&payload, (uint32_t) s->n_kvs)) < 0)
                goto out;
        for (size_t i = 0; i < s->n_kvs; i++) {
                const struct kv *kv = s->kvs[i];
                if ((r = buf_str(&payload, kv->key, strlen(kv->key))) < 0 ||
                    (r = buf_str(&payload, kv->value, kv->value_len)) < 0 ||
                    (r = buf_i64(&payload, kv->create_rev)) < 0 ||
                    (r = buf_i64(&payload, kv->mod_rev)) < 0 || (r = buf_i64(&payload, kv->lease)) < 0)
                        goto out;
        }
        if ((r = frame_append(&file, &payload, SNAP_MAGIC)) < 0)
                goto out;

        snprintf(tmp, sizeof(tmp), "%s/store.snap.tmp", s->dir);
        snprintf(dst, sizeof(dst), "%s/store.snap", s->dir);
        {
                _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0) {
                        r = -errno;
                        goto out;
                }
                if ((r = write_all(fd, file.p, file.n)) < 0)
                        goto out;
                if (fsync(fd) < 0) {
                        r = -errno;
                        goto out;
                }
        }
        if (rename(tmp, dst) < 0) {
                r = -errno;
                goto out;
        }
        if ((r = fsync_dir(s->dir)) < 0)
                goto out;
        /* The snapshot now holds everything up to s->seq; records in the log
         * are skipped by sequence number, so truncating is only a space
         * saving and may be lost in a crash without harm. */
        if (ftruncate(s->log_fd, 0) < 0 || fdatasync(s->log_fd) < 0) {
                r = -errno;
                goto out;
        }
        s->log_size = 0;
        r = 0;
out:
        free(payload.p);
        free(file.p);
        return r;
}

/* ---- batch commit -------------------------------------------------------- */

static void batch_undo(local *s) {
        while (s->undo) {
                struct undo *u = s->undo;
                s->undo = u->next;
                if (u->lease_granted) {
                        struct lease *l = lease_find(s, u->lease_granted);
                        if (l) {
                                lease_unlink(s, l);
                                free(l);
                        }
                } else if (u->lease_revoked) {
                        u->lease_revoked->next = s->leases;
                        s->leases = u->lease_revoked;
                        ev_timer_again(s->loop, &u->lease_revoked->timer);
                } else {
                        struct kv *cur = table_remove(s, u->key);
                        kv_free(cur);
                        if (u->old)
                                table_set(s, u->old);
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
                kv_free(u->old);
                free(u->lease_revoked);
                free(u->key);
                free(u);
        }
}

static void history_add(local *s, struct event *e) {
        if (s->hist_n == HISTORY_MAX) {
                event_unref(s->history[s->hist_start]);
                s->hist_start = (s->hist_start + 1) % HISTORY_MAX;
                s->hist_n--;
        }
        e->ref++;
        s->history[(s->hist_start + s->hist_n) % HISTORY_MAX] = e;
        s->hist_n++;
}

static bool watch_matches(const struct watch *w, const char *key) {
        return strncmp(key, w->prefix, w->prefix_len) == 0;
}

static void queue_watch_event(local *s, struct watch *w, struct event *e) {
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
        queue_push(s, c);
}

/* Make the current batch durable.  0, or -errno after undoing it. */
static int local_flush(local *s) {
        int r = 0;

        if (!s->batch_writes)
                return 0;
        if (s->wbuf.n > 0) {
                double t0 = ev_time();
                r = write_all(s->log_fd, s->wbuf.p, s->wbuf.n);
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
                batch_undo(s);
                /* a full disk or quota says so ("No space left on
                 * device", "Disk quota exceeded"); other failures are I/O */
                int e = r == -ENOSPC || r == -EDQUOT ? r : -EIO;
                for (struct cmpl *c = s->q_head; c; c = c->next)
                        if (c->after_write && c->kind != C_WATCH)
                                c->r = e;
                for (size_t i = 0; i < s->n_batch_events; i++)
                        event_unref(s->batch_events[i]);
        } else {
                s->log_size += s->wbuf.n;
                batch_forget_undo(s);
                for (size_t i = 0; i < s->n_batch_events; i++) {
                        struct event *e = s->batch_events[i];
                        history_add(s, e);
                        for (struct watch *w = s->watches; w; w = w->next)
                                if (w->cb && watch_matches(w, e->kv.key))
                                        queue_watch_event(s, w, e);
                        event_unref(e);
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
                        event_unref(c->event);
                        watch_unref(c->watch);
                        break;
                case C_WATCH_ERR:
                        if (c->watch->cb) {
                                nd_store_watch_fn cb = c->watch->cb;
                                c->watch->cb = NULL;
                                cb(c->watch->userdata, c->r, NULL);
                        }
                        watch_unref(c->watch);
                        break;
                }
                free(c);
                c = next;
        }
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents) {
        local *s = container_of(w, local, flush);

        /* Bounded: one batch per loop iteration.  Callbacks that queue more
         * work get it flushed on the next iteration; the idle watcher keeps
         * the loop from sleeping meanwhile. */
        ev_idle_stop(loop, &s->spin);
        if (!s->q_head && !s->batch_writes)
                return;
        local_flush(s);
        dispatch(s);
        if (s->log_size > COMPACT_LOG_BYTES) {
                int r = nd_store_local_compact(&s->head);
                if (r < 0)
                        nd_log_errno(LOG_WARNING, r, "store: compaction failed, ignoring", "dir=%s", s->dir);
        }
        if (s->q_head || s->batch_writes)
                ev_idle_start(loop, &s->spin);
}

static void on_spin(struct ev_loop *loop, ev_idle *w, int revents) {
        ev_idle_stop(loop, w);
}

/* ---- operations ---------------------------------------------------------- */

static int local_txn(nd_store *st, const nd_store_cmp *cmps, size_t n_cmps, const nd_store_op *ops,
                     size_t n_ops, nd_store_txn_fn cb, void *userdata) {
        local *s = (local *) st;
        struct cmpl *c = calloc(1, sizeof(*c));
        struct buf rec = {0};
        size_t nrec = 0, rec_nops_at;
        bool ok = true, changes = false;
        int64_t rev;
        int r = 0;

        if (!c)
                return -ENOMEM;
        c->kind = C_TXN;
        c->txn_cb = cb;
        c->userdata = userdata;

        for (size_t i = 0; i < n_cmps; i++) {
                const struct kv *kv = kv_lookup(s, cmps[i].key);
                if (cmps[i].mod_rev == 0 ? kv != NULL : (!kv || kv->mod_rev != cmps[i].mod_rev))
                        ok = false;
        }
        for (size_t i = 0; ok && i < n_ops; i++)
                if (ops[i].type == ND_STORE_PUT && ops[i].lease && !lease_find(s, ops[i].lease)) {
                        c->r = -ENOENT;
                        queue_push(s, c);
                        return 0;
                }
        if (!ok) {
                c->r = -ECANCELED;
                c->rev = s->rev;
                queue_push(s, c);
                return 0;
        }
        if (table_reserve(s, n_ops) < 0) {
                free(c);
                return -ENOMEM;
        }

        /* Encode the record first: the log names every deleted key, so
         * replay does not depend on prefix semantics. */
        batch_begin(s);
        rev = s->rev + 1;
        if ((r = buf_i64(&rec, (int64_t) s->seq + 1)) < 0 || (r = buf_i64(&rec, rev)) < 0)
                goto fail;
        rec_nops_at = rec.n;
        if ((r = buf_u32(&rec, 0)) < 0)
                goto fail;
        for (size_t i = 0; i < n_ops; i++) {
                const nd_store_op *op = &ops[i];
                if (op->type == ND_STORE_PUT) {
                        if ((r = buf_u8(&rec, LOG_OP_PUT)) < 0 ||
                            (r = buf_str(&rec, op->key, strlen(op->key))) < 0 ||
                            (r = buf_str(&rec, op->value, strlen(op->value))) < 0 ||
                            (r = buf_i64(&rec, op->lease)) < 0)
                                goto fail;
                        nrec++;
                        r = apply_put(s, op->key, op->value, strlen(op->value), op->lease, rev);
                        changes = true;
                } else if (op->type == ND_STORE_DELETE) {
                        if (!kv_lookup(s, op->key))
                                continue;
                        if ((r = buf_u8(&rec, LOG_OP_DEL)) < 0 ||
                            (r = buf_str(&rec, op->key, strlen(op->key))) < 0)
                                goto fail;
                        nrec++;
                        r = apply_del(s, op->key, rev);
                        changes = true;
                } else {
                        bool found;
                        size_t plen = strlen(op->key), at = kv_find(s, op->key, &found);
                        while (at < s->n_kvs && strncmp(s->kvs[at]->key, op->key, plen) == 0) {
                                _cleanup_free_ char *key = strdup(s->kvs[at]->key);
                                if (!key) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                if ((r = buf_u8(&rec, LOG_OP_DEL)) < 0 ||
                                    (r = buf_str(&rec, key, strlen(key))) < 0)
                                        goto fail;
                                nrec++;
                                r = apply_del(s, key, rev);
                                if (r < 0)
                                        goto fail;
                                changes = true;
                        }
                }
                if (r < 0)
                        goto fail;
        }
        if (!changes) {
                free(rec.p);
                c->rev = s->rev;
                queue_push(s, c);
                return 0;
        }
        memcpy(rec.p + rec_nops_at, &(uint32_t) { (uint32_t) nrec }, 4);
        if ((r = frame_append(&s->wbuf, &rec, FRAME_MAGIC)) < 0)
                goto fail;
        free(rec.p);
        s->seq++;
        s->rev = rev;
        c->rev = rev;
        queue_push(s, c);
        return 0;
fail:
        /* Out of memory half-way: undo the whole batch so far, fail every
         * write of it.  Rare enough that simplicity wins. */
        free(rec.p);
        free(c);
        s->wbuf.n = 0;
        batch_undo(s);
        for (struct cmpl *q = s->q_head; q; q = q->next)
                if (q->after_write && q->kind != C_WATCH)
                        q->r = -EIO;
        for (size_t i = 0; i < s->n_batch_events; i++)
                event_unref(s->batch_events[i]);
        s->n_batch_events = 0;
        s->batch_writes = false;
        return r;
}

static int local_range(nd_store *st, const char *key, bool prefix, nd_store_range_fn cb,
                       void *userdata) {
        local *s = (local *) st;
        struct cmpl *c = calloc(1, sizeof(*c));
        size_t from, to, klen = strlen(key);
        bool found;

        if (!c)
                return -ENOMEM;
        c->kind = C_RANGE;
        c->range_cb = cb;
        c->userdata = userdata;
        c->rev = s->rev;
        from = kv_find(s, key, &found);
        if (prefix) {
                to = from;
                while (to < s->n_kvs && strncmp(s->kvs[to]->key, key, klen) == 0)
                        to++;
        } else
                to = found ? from + 1 : from;
        if (to > from) {
                c->kvs = calloc(to - from, sizeof(*c->kvs));
                if (!c->kvs) {
                        free(c);
                        return -ENOMEM;
                }
                for (size_t i = from; i < to; i++) {
                        struct kv *d = &c->kvs[c->n_kvs];
                        *d = *s->kvs[i];
                        d->key = strdup(s->kvs[i]->key);
                        d->value = malloc(s->kvs[i]->value_len + 1);
                        if (!d->key || !d->value) {
                                free(d->key);
                                free(d->value);
                                c->r = -ENOMEM;
                                break;
                        }
                        memcpy(d->value, s->kvs[i]->value, s->kvs[i]->value_len + 1);
                        c->n_kvs++;
                }
        }
        queue_push(s, c);
        return 0;
}

static int local_watch(nd_store *st, const char *prefix, int64_t from_rev, nd_store_watch_fn cb,
                       void *userdata, nd_store_watch **ret) {
        local *s = (local *) st;
        struct watch *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->head.store = st;
        w->ref = 1;
        w->prefix = strdup(prefix);
        if (!w->prefix) {
                free(w);
                return -ENOMEM;
        }
        w->prefix_len = strlen(prefix);
        w->cb = cb;
        w->userdata = userdata;

        if (from_rev > 0 && from_rev < s->rev) {
                /* Replay history newer than from_rev, if we still have it. */
                int64_t oldest = s->hist_n ? s->history[s->hist_start]->kv.mod_rev : s->rev + 1;
                if (from_rev + 1 < oldest) {
                        struct cmpl *c = calloc(1, sizeof(*c));
                        if (!c) {
                                watch_unref(w);
                                return -ENOMEM;
                        }
                        c->kind = C_WATCH_ERR;
                        c->r = -ESTALE;
                        c->watch = w;
                        w->ref++;
                        queue_push(s, c);
                } else
                        for (size_t i = 0; i < s->hist_n; i++) {
                                struct event *e = s->history[(s->hist_start + i) % HISTORY_MAX];
                                if (e->kv.mod_rev > from_rev && watch_matches(w, e->kv.key))
                                        queue_watch_event(s, w, e);
                        }
        }
        w->next = s->watches;
        s->watches = w;
        if (ret)
                *ret = &w->head;
        return 0;
}

static void local_watch_cancel(nd_store_watch *wh) {
        struct watch *w = (struct watch *) wh;
        local *s = (local *) wh->store;
        for (struct watch **p = &s->watches; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        break;
                }
        w->cb = NULL;
        watch_unref(w);
}

static int queue_lease(local *s, int r, int64_t id, nd_store_lease_fn cb, void *userdata) {
        struct cmpl *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->kind = C_LEASE;
        c->r = r;
        c->lease = id;
        c->lease_cb = cb;
        c->userdata = userdata;
        queue_push(s, c);
        return 0;
}

static int local_lease_grant(nd_store *st, int64_t ttl, nd_store_lease_fn cb, void *userdata) {
        local *s = (local *) st;
        struct buf rec = {0};
        struct undo *u;
        struct lease *l;
        int64_t id = s->next_lease > 0 ? s->next_lease : 1;
        int r;

        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        batch_begin(s);
        if ((r = buf_i64(&rec, (int64_t) s->seq + 1)) < 0 || (r = buf_i64(&rec, s->rev)) < 0 ||
            (r = buf_u32(&rec, 1)) < 0 || (r = buf_u8(&rec, LOG_OP_LEASE_GRANT)) < 0 ||
            (r = buf_i64(&rec, id)) < 0 || (r = buf_i64(&rec, ttl)) < 0 ||
            (r = frame_append(&s->wbuf, &rec, FRAME_MAGIC)) < 0) {
                free(rec.p);
                free(u);
                return r;
        }
        free(rec.p);
        l = lease_add(s, id, ttl);
        if (!l) {
                free(u);
                return -ENOMEM;
        }
        s->seq++;
        u->lease_granted = id;
        u->next = s->undo;
        s->undo = u;
        return queue_lease(s, 0, id, cb, userdata);
}

static int local_lease_keepalive(nd_store *st, int64_t id, nd_store_lease_fn cb, void *userdata) {
        local *s = (local *) st;
        struct lease *l = lease_find(s, id);
        if (l)
                ev_timer_again(s->loop, &l->timer);
        return queue_lease(s, l ? 0 : -ENOENT, id, cb, userdata);
}

static int lease_revoke(local *s, int64_t id) {
        struct lease *l = lease_find(s, id);
        nd_store_op *ops = NULL;
        size_t n = 0;
        int r;

        if (!l)
                return -ENOENT;
        /* Delete the attached keys in one transaction, then drop the lease
         * in the same batch. */
        for (size_t i = 0; i < s->n_kvs; i++)
                if (s->kvs[i]->lease == id)
                        n++;
        if (n) {
                ops = calloc(n, sizeof(*ops));
                if (!ops)
                        return -ENOMEM;
                n = 0;
                for (size_t i = 0; i < s->n_kvs; i++)
                        if (s->kvs[i]->lease == id)
                                ops[n++] = (nd_store_op) { .type = ND_STORE_DELETE, .key = s->kvs[i]->key };
                /* Keys are borrowed from the table; local_txn copies before
                 * it deletes, one op at a time, so pointers stay valid only
                 * until the op deletes them: copy first. */
                for (size_t i = 0; i < n; i++) {
                        ops[i].key = strdup(ops[i].key);
                        if (!ops[i].key) {
                                while (i-- > 0)
                                        free((char *) ops[i].key);
                                free(ops);
                                return -ENOMEM;
                        }
                }
                r = local_txn(&s->head, NULL, 0, ops, n, NULL, NULL);
                for (size_t i = 0; i < n; i++)
                        free((char *) ops[i].key);
                free(ops);
                if (r < 0)
                        return r;
        }
        struct buf rec = {0};
        struct undo *u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        batch_begin(s);
        if ((r = buf_i64(&rec, (int64_t) s->seq + 1)) < 0 || (r = buf_i64(&rec, s->rev)) < 0 ||
            (r = buf_u32(&rec, 1)) < 0 || (r = buf_u8(&rec, LOG_OP_LEASE_REVOKE)) < 0 ||
            (r = buf_i64(&rec, id)) < 0 || (r = frame_append(&s->wbuf, &rec, FRAME_MAGIC)) < 0) {
                free(rec.p);
                free(u);
                return r;
        }
        free(rec.p);
        s->seq++;
        lease_unlink(s, l);
        u->lease_revoked = l;
        u->next = s->undo;
        s->undo = u;
        return 0;
}

static void lease_expired(struct ev_loop *loop, ev_timer *t, int revents) {
        struct lease *l = container_of(t, struct lease, timer);
        local *s = l->store;
        int64_t id = l->id;
        int r = lease_revoke(s, id);
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "store: expiring a lease failed", "lease=%" PRId64, id);
        else
                nd_log(LOG_DEBUG, "store: lease expired", "lease=%" PRId64, id);
}

static int local_lease_revoke(nd_store *st, int64_t id, nd_store_lease_fn cb, void *userdata) {
        local *s = (local *) st;
        int r = lease_revoke(s, id);
        if (r < 0 && r != -ENOENT)
                return r;
        return queue_lease(s, r, id, cb, userdata);
}

/* ---- open/close ----------------------------------------------------------- */

static void local_free(nd_store *st) {
        local *s = (local *) st;
        if (!s)
                return;
        if (s->loop) {
                /* Make pending writes durable; run nothing further. */
                if (s->batch_writes)
                        local_flush(s);
                ev_prepare_stop(s->loop, &s->flush);
                ev_idle_stop(s->loop, &s->spin);
        }
        while (s->q_head) {
                struct cmpl *c = s->q_head;
                s->q_head = c->next;
                if (c->kind == C_RANGE) {
                        for (size_t i = 0; i < c->n_kvs; i++) {
                                free(c->kvs[i].key);
                                free(c->kvs[i].value);
                        }
                        free(c->kvs);
                }
                if (c->event)
                        event_unref(c->event);
                if (c->watch)
                        watch_unref(c->watch);
                free(c);
        }
        while (s->watches) {
                struct watch *w = s->watches;
                s->watches = w->next;
                w->cb = NULL;
                watch_unref(w);
        }
        while (s->leases) {
                struct lease *l = s->leases;
                lease_unlink(s, l);
                free(l);
        }
        for (size_t i = 0; i < s->hist_n; i++)
                event_unref(s->history[(s->hist_start + i) % HISTORY_MAX]);
        for (size_t i = 0; i < s->n_kvs; i++)
                kv_free(s->kvs[i]);
        free(s->kvs);
        free(s->batch_events);
        free(s->wbuf.p);
        if (s->log_fd >= 0)
                close(s->log_fd);
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        free(s->dir);
        free(s);
}

int nd_store_local_open_at(struct ev_loop *loop, const char *dir, nd_store **ret) {
        local *s = calloc(1, sizeof(*s));
        struct buf b = {0};
        _cleanup_close_ int dfd = -1;
        size_t valid, count = 0;
        int r;

        if (!s)
                return -ENOMEM;
        s->head.ops = &nd_store_local_ops;
        s->log_fd = s->lock_fd = -1;
        nd_hist_init(&s->commit_lat, nd_hist_latency_bounds, nd_hist_latency_n);
        s->q_tail = &s->q_head;
        s->next_lease = 1;
        s->dir = strdup(dir);
        if (!s->dir) {
                r = -ENOMEM;
                goto fail;
        }
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                r = -errno;
                goto fail;
        }
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                goto fail;
        }
        /* One process per store: a second one would interleave appends. */
        s->lock_fd = openat(dfd, "store.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lock_fd < 0) {
                r = -errno;
                goto fail;
        }
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                goto fail;
        }

        /* Replay happens with s->loop unset: no events, no undo records,
         * lease timers armed below. */
        r = read_file(dfd, "store.snap", &b);
        if (r == 0) {
                valid = frames_valid(&b, SNAP_MAGIC, &count, load_snapshot_payload, s, 0);
                if (count != 1 || valid != b.n) {
                        /* The snapshot is only ever renamed into place
                         * complete and fsync'd; damage means the disk lied. */
                        nd_log(LOG_ERR, "store: snapshot is corrupt, refusing to start", "dir=%s", dir);
                        r = -EBADMSG;
                        goto fail;
                }
        } else if (r != -ENOENT)
                goto fail;
        b.n = 0;
        uint64_t snap_seq = s->seq;

        s->log_fd = openat(dfd, "store.log", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (s->log_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = read_file(dfd, "store.log", &b);
        if (r < 0)
                goto fail;
        valid = frames_valid(&b, FRAME_MAGIC, &count, replay_record, s, snap_seq);
        if (valid != b.n) {
                nd_log(LOG_WARNING, "store: log has a torn or corrupt tail, truncating",
                       "dir=%s valid_bytes=%zu file_bytes=%zu records=%zu", dir, valid, b.n, count);
                if (ftruncate(s->log_fd, (off_t) valid) < 0 || fdatasync(s->log_fd) < 0) {
                        r = -errno;
                        goto fail;
                }
        }
        s->log_size = valid;
        free(b.p);
        b.p = NULL;

        s->loop = loop;
        ev_prepare_init(&s->flush, on_prepare);
        ev_idle_init(&s->spin, on_spin);
        if (loop) {
                ev_prepare_start(loop, &s->flush);
                /* Lease deadlines restart on open, as etcd does on a leader
                 * change: a TTL never expires while nobody could renew it. */
                for (struct lease *l = s->leases; l; l = l->next)
                        ev_timer_again(loop, &l->timer);
        }
        if (s->log_size > COMPACT_LOG_BYTES) {
                r = nd_store_local_compact(&s->head);
                if (r < 0)
                        nd_log_errno(LOG_WARNING, r, "store: compaction failed, ignoring", "dir=%s", dir);
        }
        nd_log(LOG_DEBUG, "store: opened", "dir=%s revision=%" PRId64 " keys=%zu", dir, s->rev, s->n_kvs);
        *ret = &s->head;
        return 0;
fail:
        free(b.p);
        local_free(&s->head);
        return r;
}

static int local_open(struct ev_loop *loop, const char *url, const char *state_dir, nd_store **ret) {
        char dir[PATH_MAX];
        if (!state_dir)
                return -EINVAL;
        if (snprintf(dir, sizeof(dir), "%s/store", state_dir) >= (int) sizeof(dir))
                return -ENAMETOOLONG;
        return nd_store_local_open_at(loop, dir, ret);
}

int64_t nd_store_local_revision(const nd_store *st) {
        return ((const local *) st)->rev;
}

const struct nd_store_ops nd_store_local_ops = {
        .scheme = "local",
        .open = local_open,
        .free = local_free,
        .txn = local_txn,
        .range = local_range,
        .watch = local_watch,
        .watch_cancel = local_watch_cancel,
        .lease_grant = local_lease_grant,
        .lease_keepalive = local_lease_keepalive,
        .lease_revoke = local_lease_revoke,
};

void nd_store_local_metrics(const nd_store *st, nd_expo *e) {
        const local *s = (const local *) st;
        nd_expo_family(e, "netd_store_commits_total", "counter",
                       "Group commits of the local store (one write and fdatasync for a loop iteration's writes).");
        nd_expo_sample(e, "netd_store_commits_total", NULL, (double) s->commits);
        nd_expo_family(e, "netd_store_commit_errors_total", "counter", "Group commits that failed and were rolled back.");
        nd_expo_sample(e, "netd_store_commit_errors_total", NULL, (double) s->commit_errors);
        nd_expo_family(e, "netd_store_written_bytes_total", "counter", "Bytes appended to the store log.");
        nd_expo_sample(e, "netd_store_written_bytes_total", NULL, (double) s->bytes);
        nd_expo_family(e, "netd_store_commit_duration_seconds", "histogram", "Write plus fdatasync of one group commit.");
        nd_expo_hist(e, "netd_store_commit_duration_seconds", NULL, &s->commit_lat);
        nd_expo_family(e, "netd_store_keys", "gauge", "Keys in the local store.");
        nd_expo_sample(e, "netd_store_keys", NULL, (double) s->n_kvs);
        nd_expo_family(e, "netd_store_revision", "gauge", "The local store's revision.");
        nd_expo_sample(e, "netd_store_revision", NULL, (double) s->rev);
}
