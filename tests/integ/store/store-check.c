/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store-check URL MODE: drives a store backend (a real etcd in the
 * integration tests) through the nd_store interface and checks what the
 * contract promises.  Prints TAP-like "ok"/"not ok" lines; exits non-zero
 * on the first failure.
 *
 *   basic     transactions, CAS, ranges, ordering of callbacks, watches
 *             (live and resumed from a revision), leases, errors
 *   stream N  writes N keys one after another (retrying each until etcd
 *             takes it) while a watch listens; prints progress on stderr so
 *             the caller can restart etcd meanwhile; checks the watch saw
 *             every write exactly once, in revision order
 *   lease-expire TTL  grants a TTL lease, attaches a key, stops keeping it
 *             alive and checks the key disappears (watch sees the delete)
 */
#include <errno.h>
#include <stdbool.h>
#include <ev.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static struct ev_loop *loop;
static nd_store *st;

#define CHECK(cond, ...)                                                   \
        do {                                                               \
                bool _ok = (cond);                                         \
                printf("%s - ", _ok ? "ok" : "not ok");                    \
                printf(__VA_ARGS__);                                       \
                printf("\n");                                              \
                fflush(stdout);                                            \
                if (!_ok)                                                  \
                        exit(1);                                           \
        } while (0)

struct res {
        int calls, r, order;
        int64_t rev, lease;
        size_t n;
        char value[256];
        char keys[32][64];
};

static int seq;

static void wait_for(int *calls, int want, double timeout) {
        ev_tstamp end = ev_time() + timeout;
        while (*calls < want && ev_time() < end)
                ev_run(loop, EVRUN_ONCE);
}

static void on_txn(void *ud, int r, int64_t rev) {
        struct res *x = ud;
        x->calls++;
        x->r = r;
        x->rev = rev;
        x->order = ++seq;
}

static void on_range(void *ud, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        struct res *x = ud;
        x->calls++;
        x->r = r;
        x->n = n;
        x->rev = rev;
        x->order = ++seq;
        x->value[0] = 0;
        if (n >= 1) {
                snprintf(x->value, sizeof(x->value), "%s", kvs[0].value);
                x->lease = kvs[0].lease;
        }
        for (size_t i = 0; i < n && i < 32; i++)
                snprintf(x->keys[i], sizeof(x->keys[i]), "%s", kvs[i].key);
        if (n == 1)
                x->rev = kvs[0].mod_rev;
}

static void on_lease(void *ud, int r, int64_t lease) {
        struct res *x = ud;
        x->calls++;
        x->r = r;
        x->lease = lease;
}

struct evlog {
        int n, err;
        int types[4096];
        int64_t revs[4096];
        char keys[4096][32];
};

static void on_watch(void *ud, int r, const nd_store_event *ev) {
        struct evlog *l = ud;
        if (r < 0) {
                l->err = r;
                return;
        }
        if (l->n < 4096) {
                l->types[l->n] = ev->type;
                l->revs[l->n] = ev->kv.mod_rev;
                snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", ev->kv.key);
        }
        l->n++;
}

static struct res put(const char *k, const char *v, int64_t lease) {
        struct res x = {0};
        if (nd_store_put(st, k, v, lease, on_txn, &x) < 0)
                x.r = -EINVAL;
        else
                wait_for(&x.calls, 1, 15);
        return x;
}

static struct res get(const char *k, bool prefix) {
        struct res x = {0};
        if ((prefix ? nd_store_list : nd_store_get)(st, k, on_range, &x) < 0)
                x.r = -EINVAL;
        else
                wait_for(&x.calls, 1, 15);
        return x;
}

static void basic(void) {
        char pfx[64], k[128];
        snprintf(pfx, sizeof(pfx), "/check/%d/", getpid());

        snprintf(k, sizeof(k), "%sa/2", pfx);
        struct res p2 = put(k, "two", 0);
        CHECK(p2.calls == 1 && p2.r == 0 && p2.rev > 0, "put commits with a revision");
        snprintf(k, sizeof(k), "%sa/1", pfx);
        struct res p1 = put(k, "one", 0);
        CHECK(p1.r == 0 && p1.rev > p2.rev, "revisions grow");
        struct res g = get(k, false);
        CHECK(g.r == 0 && g.n == 1 && strcmp(g.value, "one") == 0 && g.rev == p1.rev, "get returns value and mod revision");

        struct res c = {0};
        CHECK(nd_store_cas(st, k, g.rev + 100, "bad", on_txn, &c) == 0 && c.calls == 0,
              "callbacks never run inside the call");
        wait_for(&c.calls, 1, 15);
        CHECK(c.r == -ECANCELED, "CAS with a wrong revision is refused (-ECANCELED)");
        memset(&c, 0, sizeof(c));
        nd_store_cas(st, k, g.rev, "uno", on_txn, &c);
        wait_for(&c.calls, 1, 15);
        CHECK(c.r == 0 && strcmp(get(k, false).value, "uno") == 0, "CAS with the right revision writes");
        memset(&c, 0, sizeof(c));
        nd_store_cas(st, k, 0, "x", on_txn, &c);
        wait_for(&c.calls, 1, 15);
        CHECK(c.r == -ECANCELED, "create-only CAS on an existing key is refused");

        snprintf(k, sizeof(k), "%sa/", pfx);
        struct res l = get(k, true);
        CHECK(l.n == 2 && strstr(l.keys[0], "a/1") && strstr(l.keys[1], "a/2"), "list by prefix, sorted");
        snprintf(k, sizeof(k), "%sa", pfx);
        CHECK(get(k, false).n == 0, "get is exact, not a prefix");

        /* ordering: many operations queued at once complete in order */
        struct res many[20] = {{0}};
        for (int i = 0; i < 20; i++) {
                snprintf(k, sizeof(k), "%sorder/%02d", pfx, i);
                if (i % 2)
                        nd_store_put(st, k, "v", 0, on_txn, &many[i]);
                else
                        nd_store_get(st, k, on_range, &many[i]);
        }
        wait_for(&many[19].calls, 1, 15);
        bool in_order = true;
        for (int i = 1; i < 20; i++)
                in_order = in_order && many[i].order == many[i - 1].order + 1;
        CHECK(in_order, "20 queued operations complete in queue order");

        /* watches: live, then resumed from a revision */
        struct evlog *live = calloc(1, sizeof(*live)), *resumed = calloc(1, sizeof(*resumed));
        nd_store_watch *w = NULL;
        snprintf(k, sizeof(k), "%sw/", pfx);
        CHECK(nd_store_watch_start(st, k, 0, on_watch, live, &w) == 0, "watch a prefix");
        /* let the watch be created before writing */
        for (int i = 0; i < 50; i++)
                ev_run(loop, EVRUN_NOWAIT), usleep(2000);
        snprintf(k, sizeof(k), "%sw/0", pfx);
        struct res w0 = put(k, "zero", 0);
        snprintf(k, sizeof(k), "%sw/1", pfx);
        put(k, "one", 0);
        struct res d = {0};
        nd_store_delete(st, k, on_txn, &d);
        wait_for(&d.calls, 1, 15);
        wait_for(&live->n, 3, 5);
        CHECK(live->n == 3 && live->types[0] == ND_STORE_EVENT_PUT && live->types[2] == ND_STORE_EVENT_DELETE &&
                      live->revs[2] == d.rev,
              "the watch sees put, put, delete with their revisions");
        snprintf(k, sizeof(k), "%sw/", pfx);
        CHECK(nd_store_watch_start(st, k, w0.rev - 1, on_watch, resumed, NULL) == 0, "watch from a past revision");
        wait_for(&resumed->n, 3, 5);
        CHECK(resumed->n == 3 && resumed->revs[0] == w0.rev, "history replays exactly what came after");
        nd_store_watch_cancel(w);
        snprintf(k, sizeof(k), "%sw/2", pfx);
        put(k, "two", 0);
        wait_for(&resumed->n, 4, 5);
        CHECK(live->n == 3 && resumed->n == 4, "a cancelled watch hears nothing more");

        /* transactions with several ops and a delete by prefix */
        snprintf(k, sizeof(k), "%sa/", pfx);
        nd_store_op ops[] = { { .type = ND_STORE_DELETE_PREFIX, .key = k } };
        memset(&c, 0, sizeof(c));
        nd_store_txn(st, NULL, 0, ops, 1, on_txn, &c);
        wait_for(&c.calls, 1, 15);
        CHECK(c.r == 0 && get(k, true).n == 0, "delete by prefix");

        /* leases */
        struct res lg = {0};
        nd_store_lease_grant(st, 30, on_lease, &lg);
        wait_for(&lg.calls, 1, 15);
        CHECK(lg.r == 0 && lg.lease > 0, "lease granted");
        snprintf(k, sizeof(k), "%snode", pfx);
        CHECK(put(k, "alive", lg.lease).r == 0 && get(k, false).lease == lg.lease, "a key attached to a lease");
        CHECK(put(k, "x", lg.lease + 12345).r == -ENOENT, "an unknown lease is refused (-ENOENT)");
        struct res ka = {0};
        nd_store_lease_keepalive(st, lg.lease, on_lease, &ka);
        wait_for(&ka.calls, 1, 15);
        CHECK(ka.r == 0, "keep-alive");
        struct res rv = {0};
        nd_store_lease_revoke(st, lg.lease, on_lease, &rv);
        wait_for(&rv.calls, 1, 15);
        CHECK(rv.r == 0 && get(k, false).n == 0, "revoke deletes the attached key");
        memset(&ka, 0, sizeof(ka));
        nd_store_lease_keepalive(st, lg.lease, on_lease, &ka);
        wait_for(&ka.calls, 1, 15);
        CHECK(ka.r == -ENOENT, "keep-alive of a revoked lease: -ENOENT");

        /* big value round trip (binary-safe base64 path) */
        char *big = malloc(200001);
        for (int i = 0; i < 200000; i++)
                big[i] = (char) ('a' + i % 26);
        big[200000] = 0;
        snprintf(k, sizeof(k), "%sbig", pfx);
        CHECK(put(k, big, 0).r == 0, "a 200 kB value");
        struct res gb = {0};
        nd_store_get(st, k, on_range, &gb);
        wait_for(&gb.calls, 1, 15);
        CHECK(gb.n == 1 && strncmp(gb.value, big, 255) == 0, "reads back");
        free(big);

        snprintf(k, sizeof(k), "/check/%d/", getpid());
        nd_store_op clean[] = { { .type = ND_STORE_DELETE_PREFIX, .key = k } };
        memset(&c, 0, sizeof(c));
        nd_store_txn(st, NULL, 0, clean, 1, on_txn, &c);
        wait_for(&c.calls, 1, 15);
        free(live);
        free(resumed);
}

static void stream(int n) {
        char pfx[64], k[128];
        struct evlog *l = calloc(1, sizeof(*l));
        int64_t *revs = calloc((size_t) n, sizeof(int64_t));
        int retries = 0;
        snprintf(pfx, sizeof(pfx), "/stream/%d/", getpid());
        CHECK(nd_store_watch_start(st, pfx, 0, on_watch, l, NULL) == 0, "watch started");
        for (int i = 0; i < 50; i++)
                ev_run(loop, EVRUN_NOWAIT), usleep(2000);
        for (int i = 0; i < n; i++) {
                snprintf(k, sizeof(k), "%s%05d", pfx, i);
                for (;;) {
                        /* create-only: a retried write that did land
                         * shows as a conflict, and is then checked */
                        struct res x = {0};
                        nd_store_cas(st, k, 0, "v", on_txn, &x);
                        wait_for(&x.calls, 1, 30);
                        if (x.r == 0) {
                                revs[i] = x.rev;
                                break;
                        }
                        struct res g = get(k, false);
                        if (g.r == 0 && g.n == 1) {
                                revs[i] = g.rev;
                                break;
                        }
                        retries++;
                        usleep(100000);
                }
                if (i % 20 == 0)
                        fprintf(stderr, "progress %d\n", i);
                usleep(10000);
        }
        fprintf(stderr, "progress done\n");
        wait_for(&l->n, n, 30);
        bool ok = l->n == n && !l->err;
        for (int i = 0; ok && i < n; i++)
                ok = l->revs[i] == revs[i] && l->types[i] == ND_STORE_EVENT_PUT;
        printf("# %d writes, %d retried, %d events\n", n, retries, l->n);
        CHECK(ok, "the watch saw every write exactly once, in revision order");
        free(l);
        free(revs);
}

static void lease_expire(int ttl) {
        char k[128];
        struct evlog *l = calloc(1, sizeof(*l));
        struct res lg = {0};
        snprintf(k, sizeof(k), "/expire/%d/", getpid());
        nd_store_watch_start(st, k, 0, on_watch, l, NULL);
        nd_store_lease_grant(st, ttl, on_lease, &lg);
        wait_for(&lg.calls, 1, 15);
        CHECK(lg.r == 0, "lease of %d s", ttl);
        snprintf(k, sizeof(k), "/expire/%d/node", getpid());
        CHECK(put(k, "alive", lg.lease).r == 0, "key on the lease");
        double t0 = ev_time();
        wait_for(&l->n, 2, ttl + 10);
        CHECK(l->n == 2 && l->types[1] == ND_STORE_EVENT_DELETE, "the key is deleted after the TTL (%.1f s)",
              ev_time() - t0);
        free(l);
}

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: store-check URL basic|stream N|lease-expire TTL\n");
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        loop = ev_default_loop(0);
        int r = nd_store_open(loop, argv[1], NULL, &st);
        if (r < 0) {
                fprintf(stderr, "store-check: cannot open %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        if (strcmp(argv[2], "basic") == 0)
                basic();
        else if (strcmp(argv[2], "stream") == 0 && argc > 3)
                stream(atoi(argv[3]));
        else if (strcmp(argv[2], "lease-expire") == 0 && argc > 3)
                lease_expire(atoi(argv[3]));
        else
                return 2;
        nd_store_free(st);
        return 0;
}
