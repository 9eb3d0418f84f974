/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local store: transactions, ordering, watches, leases, and crash
 * safety by simulated torn writes (every truncation point of a real log)
 * and by a failing disk (the log fd replaced with /dev/full).  fdatasync is
 * interposed (defined here for the whole process): a test holds the writer
 * thread in it or makes it fail; callbacks wait for it, the loop does not.
 */
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "test-dir.h"

#include "log.h"
#include "store.h"

static struct ev_loop *loop;
static ev_timer tick; /* bounds a blocking iteration of the loop */

/* ---- fdatasync, interposed ------------------------------------------------ */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static pthread_t loop_thread;
/* guarded by gate_lock */
static bool gate_closed, sync_fail, sync_on_loop;
static int syncs_entered, syncs_done;

int fdatasync(int fd) {
        pthread_mutex_lock(&gate_lock);
        syncs_entered++;
        sync_on_loop |= pthread_equal(pthread_self(), loop_thread) != 0;
        pthread_cond_broadcast(&gate_cond);
        while (gate_closed)
                pthread_cond_wait(&gate_cond, &gate_lock);
        bool fail = sync_fail;
        sync_fail = false;
        pthread_mutex_unlock(&gate_lock);
        long r = fail ? (errno = EIO, -1) : syscall(SYS_fdatasync, fd);
        pthread_mutex_lock(&gate_lock);
        syncs_done++;
        pthread_mutex_unlock(&gate_lock);
        return (int) r;
}

/* Hold fdatasync (counting afresh), or let it go; @fail: the one held fails. */
static void gate_set(bool closed, bool fail) {
        pthread_mutex_lock(&gate_lock);
        if (closed && !gate_closed)
                syncs_entered = syncs_done = 0, sync_on_loop = false;
        gate_closed = closed;
        sync_fail = fail;
        pthread_cond_broadcast(&gate_cond);
        pthread_mutex_unlock(&gate_lock);
}

static int syncs(int *done) {
        pthread_mutex_lock(&gate_lock);
        int n = syncs_entered;
        if (done)
                *done = syncs_done;
        pthread_mutex_unlock(&gate_lock);
        return n;
}

static void on_marker(void *ud, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        *(int *) ud = 1;
}

/* Run the loop until @flag is set: an iteration that does not block (its
 * prepare dispatches what is ready), then one that sleeps until something
 * happens (the writer thread done, or the tick). */
static void run_until(const int *flag) {
        for (ev_tstamp end = ev_time() + 30; ev_time() < end;) {
                ev_run(loop, EVRUN_NOWAIT);
                if (*flag)
                        break;
                ev_run(loop, EVRUN_ONCE);
        }
        assert_true(*flag);
}

/* Completions run on the loop, in queue order, once their batch is
 * durable (the writer thread's fdatasync): run it until a read queued now
 * has completed, then a few more iterations for callbacks that queue more. */
static void spin(nd_store *s) {
        int done = 0;
        assert_int_equal(nd_store_get(s, "/", on_marker, &done), 0);
        run_until(&done);
        for (int i = 0; i < 4; i++)
                ev_run(loop, EVRUN_NOWAIT);
}

/* tmpfs where there is one: the torn-write test reopens the store ~2000
 * times and fsync on a real disk would make that slow, not more correct. */
static char *mkdir_tmp(void) {
        char *d = strdup(access("/dev/shm", W_OK) == 0 ? "/dev/shm/nd-test-store-XXXXXX"
                                                       : "/tmp/nd-test-store-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

static nd_store *open_at(const char *dir) {
        nd_store *s = NULL;
        assert_int_equal(nd_store_local_open_at(loop, dir, &s), 0);
        return s;
}

struct res {
        int calls, r;
        int64_t rev;
        char value[256];
        size_t n;
        char keys[64][64];
};

static void on_txn(void *ud, int r, int64_t rev) {
        struct res *x = ud;
        x->calls++;
        x->r = r;
        x->rev = rev;
}

static void on_range(void *ud, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        struct res *x = ud;
        x->calls++;
        x->r = r;
        x->n = n;
        x->rev = rev;
        x->value[0] = 0;
        if (n == 1)
                snprintf(x->value, sizeof(x->value), "%s", kvs[0].value);
        for (size_t i = 0; i < n && i < 64; i++)
                snprintf(x->keys[i], sizeof(x->keys[i]), "%s", kvs[i].key);
        if (n == 1)
                x->rev = kvs[0].mod_rev;
}

static int put(nd_store *s, const char *k, const char *v) {
        struct res x = {0};
        assert_int_equal(nd_store_put(s, k, v, 0, on_txn, &x), 0);
        spin(s);
        assert_int_equal(x.calls, 1);
        return x.r;
}

static struct res get(nd_store *s, const char *k) {
        struct res x = {0};
        assert_int_equal(nd_store_get(s, k, on_range, &x), 0);
        spin(s);
        assert_int_equal(x.calls, 1);
        return x;
}

static struct res list(nd_store *s, const char *p) {
        struct res x = {0};
        assert_int_equal(nd_store_list(s, p, on_range, &x), 0);
        spin(s);
        assert_int_equal(x.calls, 1);
        return x;
}

static void test_txn_basic(void **state) {
        char *dir = mkdir_tmp();
        nd_store *s = open_at(dir);
        struct res x = {0};

        assert_int_equal(put(s, "/a/2", "two"), 0);
        assert_int_equal(put(s, "/a/1", "one"), 0);
        assert_int_equal(put(s, "/b", "bee"), 0);
        x = get(s, "/a/1");
        assert_int_equal(x.n, 1);
        assert_string_equal(x.value, "one");
        int64_t rev1 = x.rev;

        /* callbacks never run inside the call */
        struct res y = {0};
        assert_int_equal(nd_store_cas(s, "/a/1", rev1 + 100, "bad", on_txn, &y), 0);
        assert_int_equal(y.calls, 0);
        spin(s);
        assert_int_equal(y.r, -ECANCELED);
        memset(&y, 0, sizeof(y));
        assert_int_equal(nd_store_cas(s, "/a/1", rev1, "uno", on_txn, &y), 0);
        spin(s);
        assert_int_equal(y.r, 0);
        assert_string_equal(get(s, "/a/1").value, "uno");
        /* create-only cas */
        memset(&y, 0, sizeof(y));
        assert_int_equal(nd_store_cas(s, "/a/1", 0, "x", on_txn, &y), 0);
        spin(s);
        assert_int_equal(y.r, -ECANCELED);

        x = list(s, "/a/");
        assert_int_equal(x.n, 2);
        assert_string_equal(x.keys[0], "/a/1");
        assert_string_equal(x.keys[1], "/a/2");

        nd_store_op ops[] = { { .type = ND_STORE_DELETE_PREFIX, .key = "/a/" } };
        memset(&y, 0, sizeof(y));
        assert_int_equal(nd_store_txn(s, NULL, 0, ops, 1, on_txn, &y), 0);
        spin(s);
        assert_int_equal(y.r, 0);
        assert_int_equal(list(s, "/a/").n, 0);
        assert_int_equal(list(s, "/").n, 1);

        /* bad input is refused at the call */
        assert_int_equal(nd_store_put(s, "", "v", 0, on_txn, &y), -EINVAL);
        nd_store_op big[ND_STORE_MAX_TXN_OPS + 1];
        for (size_t i = 0; i < ELEMENTSOF(big); i++)
                big[i] = (nd_store_op) { .type = ND_STORE_DELETE, .key = "/x" };
        assert_int_equal(nd_store_txn(s, NULL, 0, big, ELEMENTSOF(big), on_txn, &y), -E2BIG);

        nd_store_free(s);
        /* everything survives a reopen */
        s = open_at(dir);
        assert_string_equal(get(s, "/b").value, "bee");
        assert_int_equal(list(s, "/a/").n, 0);
        nd_store_free(s);
        nd_test_rm_rf(dir);
        free(dir);
}

struct evlog {
        int n;
        int types[64];
        int64_t revs[64];
        char keys[64][32];
        int err;
};

static void on_watch(void *ud, int r, const nd_store_event *ev) {
        struct evlog *l = ud;
        if (r < 0) {
                l->err = r;
                return;
        }
        assert_true(l->n < 64);
        l->types[l->n] = ev->type;
        l->revs[l->n] = ev->kv.mod_rev;
        snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", ev->kv.key);
        l->n++;
}

static void test_watch(void **state) {
        char *dir = mkdir_tmp();
        nd_store *s = open_at(dir);
        struct evlog a = {0}, b = {0}, c = {0};
        nd_store_watch *wa, *wb;

        assert_int_equal(put(s, "/w/0", "zero"), 0);
        int64_t rev0 = get(s, "/w/0").rev;
        assert_int_equal(nd_store_watch_start(s, "/w/", 0, on_watch, &a, &wa), 0);
        assert_int_equal(nd_store_watch_start(s, "/other/", 0, on_watch, &b, &wb), 0);
        /* several writes queued in one iteration keep their order */
        struct res r1 = {0}, r2 = {0}, r3 = {0};
        nd_store_put(s, "/w/1", "one", 0, on_txn, &r1);
        nd_store_put(s, "/w/2", "two", 0, on_txn, &r2);
        nd_store_delete(s, "/w/1", on_txn, &r3);
        spin(s);
        assert_true(r1.rev < r2.rev && r2.rev < r3.rev);
        assert_int_equal(a.n, 3);
        assert_string_equal(a.keys[0], "/w/1");
        assert_int_equal(a.types[0], ND_STORE_EVENT_PUT);
        assert_string_equal(a.keys[1], "/w/2");
        assert_int_equal(a.types[2], ND_STORE_EVENT_DELETE);
        assert_int_equal(a.revs[2], r3.rev);
        assert_int_equal(b.n, 0);

        /* resume from a revision: history replays exactly what came after */
        assert_int_equal(nd_store_watch_start(s, "/w/", rev0, on_watch, &c, NULL), 0);
        spin(s);
        assert_int_equal(c.n, 3);
        assert_int_equal(c.revs[0], r1.rev);

        /* cancelled watches hear nothing more */
        nd_store_watch_cancel(wa);
        assert_int_equal(put(s, "/w/3", "three"), 0);
        assert_int_equal(a.n, 3);
        assert_int_equal(c.n, 4);
        nd_store_watch_cancel(wb);
        nd_store_free(s);

        /* after a reopen history is gone: an old revision is reported stale */
        s = open_at(dir);
        struct evlog d = {0};
        assert_int_equal(nd_store_watch_start(s, "/w/", 1, on_watch, &d, NULL), 0);
        spin(s);
        assert_int_equal(d.err, -ESTALE);
        nd_store_free(s);
        nd_test_rm_rf(dir);
        free(dir);
}

static void on_lease(void *ud, int r, int64_t lease) {
        struct res *x = ud;
        x->calls++;
        x->r = r;
        x->rev = lease;
}

static void test_lease(void **state) {
        char *dir = mkdir_tmp();
        nd_store *s = open_at(dir);
        struct res l = {0}, x = {0};
        struct evlog ev = {0};

        assert_int_equal(nd_store_lease_grant(s, 60, on_lease, &l), 0);
        spin(s);
        assert_int_equal(l.r, 0);
        assert_true(l.rev > 0);
        assert_int_equal(nd_store_put(s, "/n/host1", "alive", l.rev, on_txn, &x), 0);
        spin(s);
        assert_int_equal(x.r, 0);
        memset(&x, 0, sizeof(x));
        assert_int_equal(nd_store_put(s, "/n/host2", "alive", l.rev + 99, on_txn, &x), 0);
        spin(s);
        assert_int_equal(x.r, -ENOENT);
        assert_int_equal(nd_store_watch_start(s, "/n/", 0, on_watch, &ev, NULL), 0);

        struct res k = {0};
        assert_int_equal(nd_store_lease_keepalive(s, l.rev, on_lease, &k), 0);
        spin(s);
        assert_int_equal(k.r, 0);
        /* leases survive a restart */
        nd_store_free(s);
        s = open_at(dir);
        assert_int_equal(nd_store_watch_start(s, "/n/", 0, on_watch, &ev, NULL), 0);
        assert_int_equal(get(s, "/n/host1").n, 1);
        memset(&k, 0, sizeof(k));
        assert_int_equal(nd_store_lease_revoke(s, l.rev, on_lease, &k), 0);
        spin(s);
        assert_int_equal(k.r, 0);
        assert_int_equal(get(s, "/n/host1").n, 0);
        assert_int_equal(ev.n, 1);
        assert_int_equal(ev.types[0], ND_STORE_EVENT_DELETE);
        memset(&k, 0, sizeof(k));
        assert_int_equal(nd_store_lease_keepalive(s, l.rev, on_lease, &k), 0);
        spin(s);
        assert_int_equal(k.r, -ENOENT);
        nd_store_free(s);
        /* and the revoke was durable */
        s = open_at(dir);
        assert_int_equal(get(s, "/n/host1").n, 0);
        nd_store_free(s);
        nd_test_rm_rf(dir);
        free(dir);
}

static void test_lock(void **state) {
        char *dir = mkdir_tmp();
        nd_store *s = open_at(dir), *t = NULL;
        assert_int_equal(nd_store_local_open_at(loop, dir, &t), -EBUSY);
        nd_store_free(s);
        nd_test_rm_rf(dir);
        free(dir);
}

static void write_file(const char *path, const void *p, size_t n) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(p, 1, n, f), n);
        fclose(f);
}

static char *read_all(const char *path, size_t *n) {
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char *p = malloc(1 << 20);
        *n = fread(p, 1, 1 << 20, f);
        fclose(f);
        return p;
}

/* The whole /t/ prefix as "key=value;..." for comparisons. */
static void state_string(nd_store *t, char *out, size_t size) {
        struct res x = list(t, "/t/");
        out[0] = 0;
        for (size_t i = 0; i < x.n; i++) {
                size_t u = strlen(out);
                snprintf(out + u, size - u, "%s=%s;", x.keys[i], get(t, x.keys[i]).value);
        }
}

/* Write N transactions one per batch; cut the log at every byte and check
 * that reopening yields exactly the transactions whose frames are whole. */
static void test_torn_writes(void **state) {
        char *dir = mkdir_tmp(), path[PATH_MAX], k[32], v[64];
        enum { N = 24 };
        size_t bounds[N + 1], size, nb = 0;
        nd_store *s = open_at(dir);

        for (int i = 0; i < N; i++) {
                snprintf(k, sizeof(k), "/t/%02d", i % 8);
                snprintf(v, sizeof(v), "value-%d-%.*s", i, i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
                if (i % 5 == 4) {
                        struct res y = {0};
                        nd_store_delete(s, k, on_txn, &y);
                        spin(s);
                } else
                        assert_int_equal(put(s, k, v), 0);
        }
        nd_store_free(s);
        snprintf(path, sizeof(path), "%s/store.log", dir);
        char *log = read_all(path, &size);
        /* frame boundaries */
        bounds[nb++] = 0;
        for (size_t o = 0; o + 12 <= size;) {
                uint32_t len;
                memcpy(&len, log + o + 4, 4);
                o += 12 + len;
                bounds[nb++] = o;
        }
        /* deletes of absent keys write nothing: fewer frames than calls */
        const size_t F = nb - 1;
        assert_true(F >= N - 5 && F <= N);
        assert_int_equal(bounds[F], size);

        /* reference states: replay the first k frames via a full log cut at
         * the boundary, record the listing */
        char *ref[N + 1];
        for (size_t f = 0; f <= F; f++) {
                char *d2 = mkdir_tmp(), p2[PATH_MAX];
                snprintf(p2, sizeof(p2), "%s/store.log", d2);
                write_file(p2, log, bounds[f]);
                nd_store *t = open_at(d2);
                ref[f] = calloc(1, 4096);
                state_string(t, ref[f], 4096);
                nd_store_free(t);
                nd_test_rm_rf(d2);
                free(d2);
        }
        assert_string_equal(ref[0], "");
        assert_true(strstr(ref[F], "/t/07=") != NULL);

        for (size_t cut = 0; cut <= size; cut++) {
                char *d2 = mkdir_tmp(), p2[PATH_MAX];
                size_t whole = 0;
                while (whole < F && bounds[whole + 1] <= cut)
                        whole++;
                snprintf(p2, sizeof(p2), "%s/store.log", d2);
                write_file(p2, log, cut);
                nd_store *t = open_at(d2);
                char got[4096];
                state_string(t, got, sizeof(got));
                if (strcmp(got, ref[whole]) != 0)
                        fail_msg("cut at %zu: got '%s' want '%s'", cut, got, ref[whole]);
                /* the store stays writable and the write survives */
                assert_int_equal(put(t, "/t/after", "crash"), 0);
                nd_store_free(t);
                t = open_at(d2);
                assert_string_equal(get(t, "/t/after").value, "crash");
                nd_store_free(t);
                nd_test_rm_rf(d2);
                free(d2);
        }
        /* a flipped byte inside frame 10 ends replay before it */
        char *d2 = mkdir_tmp(), p2[PATH_MAX];
        log[bounds[10] + 20] ^= 0x55;
        snprintf(p2, sizeof(p2), "%s/store.log", d2);
        write_file(p2, log, size);
        nd_store *t = open_at(d2);
        char got[4096];
        state_string(t, got, sizeof(got));
        assert_string_equal(got, ref[10]);
        nd_store_free(t);
        nd_test_rm_rf(d2);
        free(d2);
        for (size_t f = 0; f <= F; f++)
                free(ref[f]);
        free(log);
        nd_test_rm_rf(dir);
        free(dir);
}

/* Compaction, and a crash between snapshot rename and log truncation:
 * records already in the snapshot are not applied twice. */
static void test_snapshot(void **state) {
        char *dir = mkdir_tmp(), path[PATH_MAX], k[32];
        nd_store *s = open_at(dir);
        size_t n;

        for (int i = 0; i < 100; i++) {
                snprintf(k, sizeof(k), "/s/%03d", i);
                assert_int_equal(put(s, k, "v1"), 0);
        }
        snprintf(path, sizeof(path), "%s/store.log", dir);
        char *old_log = read_all(path, &n);
        assert_int_equal(nd_store_local_compact(s), 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 0);
        assert_int_equal(put(s, "/s/000", "v2"), 0);
        struct res y = {0};
        nd_store_delete(s, "/s/001", on_txn, &y);
        spin(s);
        int64_t rev = nd_store_local_revision(s);
        nd_store_free(s);

        s = open_at(dir);
        assert_int_equal(list(s, "/s/").n, 99);
        assert_string_equal(get(s, "/s/000").value, "v2");
        assert_int_equal(get(s, "/s/001").n, 0);
        assert_int_equal(nd_store_local_revision(s), rev);
        nd_store_free(s);

        /* put the pre-compaction log back in front of the new records */
        size_t m;
        char *new_log = read_all(path, &m);
        char *both = malloc(n + m);
        memcpy(both, old_log, n);
        memcpy(both + n, new_log, m);
        write_file(path, both, n + m);
        s = open_at(dir);
        assert_string_equal(get(s, "/s/000").value, "v2");
        assert_int_equal(get(s, "/s/001").n, 0);
        assert_string_equal(get(s, "/s/099").value, "v1");
        assert_int_equal(nd_store_local_revision(s), rev);
        nd_store_free(s);
        free(both);
        free(old_log);
        free(new_log);
        nd_test_rm_rf(dir);
        free(dir);
}

/* A full disk (/dev/full: ENOSPC): the batch is rolled back and reported as
 * such, nothing changes. */
static void test_write_failure(void **state) {
        char *dir = mkdir_tmp(), link[PATH_MAX], target[PATH_MAX];
        nd_store *s = open_at(dir);
        struct evlog ev = {0};
        int log_fd = -1;

        assert_int_equal(put(s, "/f/a", "before"), 0);
        assert_int_equal(nd_store_watch_start(s, "/f/", 0, on_watch, &ev, NULL), 0);
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        while ((de = readdir(d))) {
                snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
                ssize_t k = readlink(link, target, sizeof(target) - 1);
                if (k > 0) {
                        target[k] = 0;
                        if (strstr(target, dir) && strstr(target, "store.log"))
                                log_fd = atoi(de->d_name);
                }
        }
        closedir(d);
        assert_true(log_fd >= 0);
        int saved = dup(log_fd);
        int full = open("/dev/full", O_WRONLY);
        assert_true(full >= 0);
        assert_int_equal(dup2(full, log_fd), log_fd);

        int64_t rev = nd_store_local_revision(s);
        struct res x = {0}, y = {0};
        nd_store_put(s, "/f/a", "after", 0, on_txn, &x);
        nd_store_put(s, "/f/b", "new", 0, on_txn, &y);
        spin(s);
        assert_int_equal(x.r, -ENOSPC);
        assert_int_equal(y.r, -ENOSPC);
        assert_string_equal(get(s, "/f/a").value, "before");
        assert_int_equal(get(s, "/f/b").n, 0);
        assert_int_equal(nd_store_local_revision(s), rev);
        assert_int_equal(ev.n, 0);

        /* the disk recovers: writes work again */
        assert_int_equal(dup2(saved, log_fd), log_fd);
        assert_int_equal(put(s, "/f/b", "new"), 0);
        assert_int_equal(ev.n, 1);
        nd_store_free(s);
        close(full);
        close(saved);
        s = open_at(dir);
        assert_string_equal(get(s, "/f/a").value, "before");
        assert_string_equal(get(s, "/f/b").value, "new");
        nd_store_free(s);
        nd_test_rm_rf(dir);
        free(dir);
}

/* ---- the commit off the loop ---------------------------------------------- */

struct ordered {
        int calls, r, seq, synced;
        int64_t rev;
        char value[32];
};
static int order_seq;

static void on_ordered(void *ud, int r, int64_t rev) {
        struct ordered *o = ud;
        o->calls++;
        o->r = r;
        o->rev = rev;
        o->seq = ++order_seq;
        syncs(&o->synced);
}

static void on_ordered_range(void *ud, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        struct ordered *o = ud;
        on_ordered(ud, r, rev);
        if (n == 1)
                snprintf(o->value, sizeof(o->value), "%s", kvs[0].value);
}

/* Until the writer thread has entered fdatasync @n times; the loop runs. */
static void wait_entered(int n) {
        for (ev_tstamp end = ev_time() + 10; syncs(NULL) < n && ev_time() < end;) {
                ev_run(loop, EVRUN_NOWAIT);
                usleep(200);
        }
        assert_int_equal(syncs(NULL), n);
}

/* A callback runs only after its batch's fdatasync returned, on the loop;
 * everything issued while a batch is in flight waits, forms one batch, and
 * completes in order.  Memory sees every transaction at once. */
static void test_commit_off_loop(void **state) {
        enum { N = 40 };
        char *dir = mkdir_tmp(), k[32];
        nd_store *s = open_at(dir);
        struct ordered first = {0}, cas = {0}, puts[N] = {{0}}, rd = {0};
        struct evlog ev = {0};
        int done;

        assert_int_equal(put(s, "/o/base", "x"), 0);
        assert_int_equal(nd_store_watch_start(s, "/o/", 0, on_watch, &ev, NULL), 0);
        int64_t rev0 = nd_store_local_revision(s);
        order_seq = 0;
        gate_set(true, false);
        assert_int_equal(nd_store_put(s, "/o/a", "one", 0, on_ordered, &first), 0);
        wait_entered(1);
        /* in memory at once: the revision and a compare see it */
        assert_int_equal(nd_store_local_revision(s), rev0 + 1);
        assert_int_equal(nd_store_cas(s, "/o/a", rev0 + 1, "two", on_ordered, &cas), 0);
        for (int i = 0; i < N; i++) {
                snprintf(k, sizeof(k), "/o/k%02d", i);
                assert_int_equal(nd_store_put(s, k, "v", 0, on_ordered, &puts[i]), 0);
        }
        assert_int_equal(nd_store_get(s, "/o/a", on_ordered_range, &rd), 0);
        for (int i = 0; i < 30; i++, usleep(1000)) /* the loop runs on; nothing completes */
                ev_run(loop, EVRUN_NOWAIT);
        assert_int_equal(first.calls + cas.calls + puts[N - 1].calls + rd.calls, 0);
        assert_int_equal(ev.n, 0);
        assert_int_equal(syncs(&done), 1); /* one fdatasync in flight */
        assert_int_equal(done, 0);

        gate_set(false, false);
        run_until(&rd.calls);
        assert_int_equal(first.r, 0);
        assert_int_equal(first.seq, 1);
        assert_true(first.synced >= 1);
        assert_int_equal(cas.r, 0);
        assert_int_equal(cas.seq, 2);
        assert_int_equal(cas.rev, rev0 + 2);
        assert_true(cas.synced >= 2);
        for (int i = 0; i < N; i++) {
                assert_int_equal(puts[i].r, 0);
                assert_int_equal(puts[i].seq, 3 + i);
                assert_int_equal(puts[i].rev, rev0 + 3 + i);
                assert_true(puts[i].synced >= 2);
        }
        assert_int_equal(rd.seq, N + 3);
        assert_string_equal(rd.value, "two");
        /* the second batch was one fdatasync, and none ran on the loop */
        assert_int_equal(syncs(NULL), 2);
        assert_false(sync_on_loop); /* written before the thread's last unlock */
        /* watch events: each once, in revision order, after durability */
        assert_int_equal(ev.n, N + 2);
        for (int i = 0; i < ev.n; i++)
                assert_int_equal(ev.revs[i], rev0 + 1 + i);
        nd_store_free(s);

        s = open_at(dir);
        assert_string_equal(get(s, "/o/a").value, "two");
        assert_int_equal(list(s, "/o/").n, N + 2);
        nd_store_free(s);
        nd_test_rm_rf(dir);
        free(dir);
}

/* The batch in flight fails: it and the batch built on it are undone, and
 * everything queued behind it (a read that saw it too) gets the error. */
static void test_commit_fail_in_flight(void **state) {
        char *dir = mkdir_tmp();
        nd_store *s = open_at(dir);
        struct ordered x = {0}, y = {0}, z = {0};
        struct evlog ev = {0};

        assert_int_equal(put(s, "/p/a", "before"), 0);
        assert_int_equal(nd_store_watch_start(s, "/p/", 0, on_watch, &ev, NULL), 0);
        int64_t rev0 = nd_store_local_revision(s);
        gate_set(true, false);
        assert_int_equal(nd_store_put(s, "/p/a", "one", 0, on_ordered, &x), 0);
        wait_entered(1);
        gate_set(true, true);
        assert_int_equal(nd_store_cas(s, "/p/a", rev0 + 1, "two", on_ordered, &y), 0);
        assert_int_equal(nd_store_get(s, "/p/a", on_ordered_range, &z), 0);
        gate_set(false, true);
        run_until(&z.calls);
        assert_int_equal(x.r, -EIO);
        assert_int_equal(y.r, -EIO);
        assert_int_equal(z.r, -EIO);
        assert_string_equal(get(s, "/p/a").value, "before");
        assert_int_equal(nd_store_local_revision(s), rev0);
        assert_int_equal(ev.n, 0);
        assert_int_equal(put(s, "/p/b", "new"), 0);
        assert_int_equal(ev.n, 1);
        nd_store_free(s);

        s = open_at(dir);
        assert_string_equal(get(s, "/p/a").value, "before");
        assert_string_equal(get(s, "/p/b").value, "new");
        assert_int_equal(nd_store_local_revision(s), rev0 + 1);
        nd_store_free(s);
        nd_test_rm_rf(dir);
        free(dir);
}

static void *gate_open_later(void *arg) {
        usleep(50 * 1000);
        gate_set(false, false);
        return NULL;
}

/* Freeing the store waits for the batch in flight and makes the one being
 * built durable too; no callback runs. */
static void test_free_in_flight(void **state) {
        char *dir = mkdir_tmp();
        nd_store *s = open_at(dir);
        struct ordered x = {0}, y = {0};
        pthread_t t;

        gate_set(true, false);
        assert_int_equal(nd_store_put(s, "/q/a", "1", 0, on_ordered, &x), 0);
        wait_entered(1);
        assert_int_equal(nd_store_put(s, "/q/b", "2", 0, on_ordered, &y), 0);
        assert_int_equal(pthread_create(&t, NULL, gate_open_later, NULL), 0);
        nd_store_free(s);
        pthread_join(t, NULL);
        assert_int_equal(x.calls + y.calls, 0);
        assert_int_equal(syncs(NULL), 2);

        s = open_at(dir);
        assert_string_equal(get(s, "/q/a").value, "1");
        assert_string_equal(get(s, "/q/b").value, "2");
        nd_store_free(s);
        nd_test_rm_rf(dir);
        free(dir);
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents) {
}

static int setup(void **state) {
        loop = ev_loop_new(EVFLAG_AUTO);
        if (!loop)
                return -1;
        ev_timer_init(&tick, on_tick, 0.001, 0.001);
        ev_timer_start(loop, &tick);
        loop_thread = pthread_self();
        nd_log_max_level = LOG_ERR - 1; /* quiet: tests provoke errors */
        return 0;
}

static int teardown(void **state) {
        ev_timer_stop(loop, &tick);
        ev_loop_destroy(loop);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_txn_basic),  cmocka_unit_test(test_watch),
                cmocka_unit_test(test_lease),      cmocka_unit_test(test_lock),
                cmocka_unit_test(test_torn_writes), cmocka_unit_test(test_snapshot),
                cmocka_unit_test(test_write_failure), cmocka_unit_test(test_commit_off_loop),
                cmocka_unit_test(test_commit_fail_in_flight), cmocka_unit_test(test_free_in_flight),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
