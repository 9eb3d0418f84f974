/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded store ("local"): its operations, open and close.  The
 * design (files, framing, group commit) is described in
 * store-local-internal.h.
 */
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

#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "store-local-internal.h"

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
                const struct kv *kv = nd_local_kv_lookup(s, cmps[i].key);
                if (cmps[i].mod_rev == 0 ? kv != NULL : (!kv || kv->mod_rev != cmps[i].mod_rev))
                        ok = false;
        }
        for (size_t i = 0; ok && i < n_ops; i++)
                if (ops[i].type == ND_STORE_PUT && ops[i].lease && !nd_local_lease_find(s, ops[i].lease)) {
                        c->r = -ENOENT;
                        nd_local_queue_push(s, c);
                        return 0;
                }
        if (!ok) {
                c->r = -ECANCELED;
                c->rev = s->rev;
                nd_local_queue_push(s, c);
                return 0;
        }
        if (nd_local_table_reserve(s, n_ops) < 0) {
                free(c);
                return -ENOMEM;
        }

        /* Encode the record first: the log names every deleted key, so
         * replay does not depend on prefix semantics. */
        nd_local_batch_begin(s);
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
                        r = nd_local_apply_put(s, op->key, op->value, strlen(op->value), op->lease, rev);
                        changes = true;
                } else if (op->type == ND_STORE_DELETE) {
                        if (!nd_local_kv_lookup(s, op->key))
                                continue;
                        if ((r = buf_u8(&rec, LOG_OP_DEL)) < 0 ||
                            (r = buf_str(&rec, op->key, strlen(op->key))) < 0)
                                goto fail;
                        nrec++;
                        r = nd_local_apply_del(s, op->key, rev);
                        changes = true;
                } else {
                        bool found;
                        size_t plen = strlen(op->key), at = nd_local_kv_find(s, op->key, &found);
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
                                r = nd_local_apply_del(s, key, rev);
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
                nd_local_queue_push(s, c);
                return 0;
        }
        memcpy(rec.p + rec_nops_at, &(uint32_t) { (uint32_t) nrec }, 4);
        if ((r = nd_local_frame_append(&s->wbuf, &rec, FRAME_MAGIC)) < 0)
                goto fail;
        free(rec.p);
        s->seq++;
        s->rev = rev;
        c->rev = rev;
        nd_local_queue_push(s, c);
        return 0;
fail:
        /* Out of memory half-way: undo the whole batch so far, fail every
         * write of it.  Rare enough that simplicity wins. */
        free(rec.p);
        free(c);
        nd_local_batch_drop(s, -EIO);
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
        from = nd_local_kv_find(s, key, &found);
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
        nd_local_queue_push(s, c);
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
        w->flight = s->fly.busy ? s->flight_no : 0;

        if (from_rev > 0 && from_rev < s->rev) {
                /* Replay history newer than from_rev, if we still have it. */
                int64_t oldest = s->hist_n ? s->history[s->hist_start]->kv.mod_rev : s->rev + 1;
                if (from_rev + 1 < oldest) {
                        struct cmpl *c = calloc(1, sizeof(*c));
                        if (!c) {
                                nd_local_watch_unref(w);
                                return -ENOMEM;
                        }
                        c->kind = C_WATCH_ERR;
                        c->r = -ESTALE;
                        c->watch = w;
                        w->ref++;
                        nd_local_queue_push(s, c);
                } else
                        for (size_t i = 0; i < s->hist_n; i++) {
                                struct event *e = s->history[(s->hist_start + i) % HISTORY_MAX];
                                if (e->kv.mod_rev > from_rev && nd_local_watch_matches(w, e->kv.key))
                                        nd_local_queue_watch_event(s, &s->q, w, e);
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
        nd_local_watch_unref(w);
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
        nd_local_queue_push(s, c);
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
        nd_local_batch_begin(s);
        if ((r = buf_i64(&rec, (int64_t) s->seq + 1)) < 0 || (r = buf_i64(&rec, s->rev)) < 0 ||
            (r = buf_u32(&rec, 1)) < 0 || (r = buf_u8(&rec, LOG_OP_LEASE_GRANT)) < 0 ||
            (r = buf_i64(&rec, id)) < 0 || (r = buf_i64(&rec, ttl)) < 0 ||
            (r = nd_local_frame_append(&s->wbuf, &rec, FRAME_MAGIC)) < 0) {
                free(rec.p);
                free(u);
                return r;
        }
        free(rec.p);
        l = nd_local_lease_add(s, id, ttl);
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
        struct lease *l = nd_local_lease_find(s, id);
        if (l)
                ev_timer_again(s->loop, &l->timer);
        return queue_lease(s, l ? 0 : -ENOENT, id, cb, userdata);
}

static int lease_revoke(local *s, int64_t id) {
        struct lease *l = nd_local_lease_find(s, id);
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
        nd_local_batch_begin(s);
        if ((r = buf_i64(&rec, (int64_t) s->seq + 1)) < 0 || (r = buf_i64(&rec, s->rev)) < 0 ||
            (r = buf_u32(&rec, 1)) < 0 || (r = buf_u8(&rec, LOG_OP_LEASE_REVOKE)) < 0 ||
            (r = buf_i64(&rec, id)) < 0 || (r = nd_local_frame_append(&s->wbuf, &rec, FRAME_MAGIC)) < 0) {
                free(rec.p);
                free(u);
                return r;
        }
        free(rec.p);
        s->seq++;
        nd_local_lease_unlink(s, l);
        u->lease_revoked = l;
        u->next = s->undo;
        s->undo = u;
        return 0;
}

void nd_local_lease_expired(struct ev_loop *loop, ev_timer *t, int revents) {
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
                nd_local_writer_stop(s);
                ev_prepare_stop(s->loop, &s->flush);
                ev_idle_stop(s->loop, &s->spin);
        }
        while (s->q.head) {
                struct cmpl *c = s->q.head;
                s->q.head = c->next;
                if (c->kind == C_RANGE) {
                        for (size_t i = 0; i < c->n_kvs; i++) {
                                free(c->kvs[i].key);
                                free(c->kvs[i].value);
                        }
                        free(c->kvs);
                }
                if (c->event)
                        nd_local_event_unref(c->event);
                if (c->watch)
                        nd_local_watch_unref(c->watch);
                free(c);
        }
        while (s->watches) {
                struct watch *w = s->watches;
                s->watches = w->next;
                w->cb = NULL;
                nd_local_watch_unref(w);
        }
        while (s->leases) {
                struct lease *l = s->leases;
                nd_local_lease_unlink(s, l);
                free(l);
        }
        for (size_t i = 0; i < s->hist_n; i++)
                nd_local_event_unref(s->history[(s->hist_start + i) % HISTORY_MAX]);
        for (size_t i = 0; i < s->n_kvs; i++)
                nd_local_kv_free(s->kvs[i]);
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
        _cleanup_close_ int dfd = -1;
        int r;

        if (!s)
                return -ENOMEM;
        s->head.ops = &nd_store_local_ops;
        s->log_fd = s->lock_fd = -1;
        nd_hist_init(&s->commit_lat, nd_hist_latency_bounds, nd_hist_latency_n);
        s->q.tail = &s->q.head;
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
        r = nd_local_log_load(s, dfd);
        if (r < 0)
                goto fail;

        s->loop = loop;
        ev_prepare_init(&s->flush, nd_local_on_prepare);
        ev_idle_init(&s->spin, nd_local_on_spin);
        if (loop) {
                r = nd_local_writer_start(s);
                if (r < 0)
                        goto fail;
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
