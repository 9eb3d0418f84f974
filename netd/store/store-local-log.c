/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded store's files (store-local-internal.h has the format):
 * framing, log replay, the snapshot, and compaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "macro.h"
#include "store-local-internal.h"

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

int nd_local_frame_append(struct buf *b, const struct buf *payload, uint32_t magic) {
        int r;
        if ((r = buf_u32(b, magic)) < 0 || (r = buf_u32(b, (uint32_t) payload->n)) < 0 ||
            (r = buf_u32(b, nd_crc32c(0, payload->p, payload->n))) < 0 ||
            (r = buf_put(b, payload->p, payload->n)) < 0)
                return r;
        return 0;
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
                                r = nd_local_apply_put(s, key, val, vlen, a, rev);
                        break;
                case LOG_OP_DEL:
                        key = rd_str(&rd, NULL);
                        if (!rd.bad)
                                r = nd_local_apply_del(s, key, rev);
                        break;
                case LOG_OP_LEASE_GRANT:
                        a = rd_i64(&rd);
                        b = rd_i64(&rd);
                        if (!rd.bad && !nd_local_lease_find(s, a) && !nd_local_lease_add(s, a, b))
                                r = -ENOMEM;
                        break;
                case LOG_OP_LEASE_REVOKE: {
                        a = rd_i64(&rd);
                        struct lease *l = rd.bad ? NULL : nd_local_lease_find(s, a);
                        if (l) {
                                nd_local_lease_unlink(s, l);
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
                if (!rd.bad && !nd_local_lease_add(s, id, ttl))
                        return -ENOMEM;
        }
        uint32_t nkv = rd_u32(&rd);
        if (rd.bad || nd_local_table_reserve(s, nkv) < 0)
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
                        nd_local_kv_free(kv);
                        return -EBADMSG;
                }
                nd_local_kv_free(nd_local_table_set(s, kv));
        }
        return rd.bad ? -EBADMSG : 0;
}

static int fsync_dir(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

int nd_local_write_all(int fd, const uint8_t *p, size_t n) {
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

int nd_local_log_load(local *s, int dfd) {
        struct buf b = {0};
        size_t valid, count = 0;
        int r;

        r = read_file(dfd, "store.snap", &b);
        if (r == 0) {
                valid = frames_valid(&b, SNAP_MAGIC, &count, load_snapshot_payload, s, 0);
                if (count != 1 || valid != b.n) {
                        /* The snapshot is only ever renamed into place
                         * complete and fsync'd; damage means the disk lied. */
                        nd_log(LOG_ERR, "store: snapshot is corrupt, refusing to start", "dir=%s", s->dir);
                        r = -EBADMSG;
                        goto out;
                }
        } else if (r != -ENOENT)
                goto out;
        b.n = 0;
        uint64_t snap_seq = s->seq;

        s->log_fd = openat(dfd, "store.log", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (s->log_fd < 0) {
                r = -errno;
                goto out;
        }
        r = read_file(dfd, "store.log", &b);
        if (r < 0)
                goto out;
        valid = frames_valid(&b, FRAME_MAGIC, &count, replay_record, s, snap_seq);
        if (valid != b.n) {
                nd_log(LOG_WARNING, "store: log has a torn or corrupt tail, truncating",
                       "dir=%s valid_bytes=%zu file_bytes=%zu records=%zu", s->dir, valid, b.n, count);
                if (ftruncate(s->log_fd, (off_t) valid) < 0 || fdatasync(s->log_fd) < 0) {
                        r = -errno;
                        goto out;
                }
        }
        s->log_size = valid;
        r = 0;
out:
        free(b.p);
        return r;
}

int nd_local_snapshot_encode(const local *s, struct buf *file) {
        struct buf payload = {0};
        size_t nl = 0;
        int r;

        file->n = 0;
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
        r = nd_local_frame_append(file, &payload, SNAP_MAGIC);
out:
        free(payload.p);
        return r;
}

int nd_local_snapshot_write(const char *dir, int log_fd, const struct buf *file) {
        char tmp[PATH_MAX], dst[PATH_MAX];
        int r;

        snprintf(tmp, sizeof(tmp), "%s/store.snap.tmp", dir);
        snprintf(dst, sizeof(dst), "%s/store.snap", dir);
        {
                _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0)
                        return -errno;
                if ((r = nd_local_write_all(fd, file->p, file->n)) < 0)
                        return r;
                if (fsync(fd) < 0)
                        return -errno;
        }
        if (rename(tmp, dst) < 0)
                return -errno;
        if ((r = fsync_dir(dir)) < 0)
                return r;
        /* The snapshot now holds everything up to its sequence number;
         * records in the log are skipped by sequence number, so truncating
         * is only a space saving and may be lost in a crash without harm. */
        if (ftruncate(log_fd, 0) < 0 || fdatasync(log_fd) < 0)
                return -errno;
        return 0;
}

int nd_store_local_compact(nd_store *st) {
        local *s = (local *) st;
        struct buf file = {0};
        int r;

        /* nothing in flight, nothing pending: the table is what is durable */
        r = nd_local_commit_sync(s);
        if (r < 0)
                return r;
        r = nd_local_snapshot_encode(s, &file);
        if (r == 0)
                r = nd_local_snapshot_write(s->dir, s->log_fd, &file);
        if (r == 0)
                s->log_size = 0;
        free(file.p);
        return r;
}
