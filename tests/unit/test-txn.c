/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transaction builder (netd/store/txn.c) through the local store:
 * what it submits is exactly what it was given, compares fail as
 * nd_store_txn() says, and a latched error submits nothing and calls
 * nothing.  json_dumps is wrapped (-Wl,--wrap=json_dumps) to fail on
 * demand, so out-of-memory on the dump path is tested for real.
 */
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "test-dir.h"

#include "keys.h"
#include "log.h"
#include "macro.h"
#include "store.h"
#include "txn.h"

static struct ev_loop *loop;
static ev_timer tick; /* bounds a blocking iteration of the loop */
static bool dumps_fail;

char *__real_json_dumps(const json_t *json, size_t flags);
char *__wrap_json_dumps(const json_t *json, size_t flags);

char *__wrap_json_dumps(const json_t *json, size_t flags) {
        return dumps_fail ? NULL : __real_json_dumps(json, flags);
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

static char *mkdir_tmp(void) {
        char *d = strdup(access("/dev/shm", W_OK) == 0 ? "/dev/shm/nd-test-txn-XXXXXX" : "/tmp/nd-test-txn-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

struct fixture {
        char *dir;
        nd_store *s;
};

static int fx_setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        if (!f)
                return -1;
        f->dir = mkdir_tmp();
        if (nd_store_local_open_at(loop, f->dir, &f->s) < 0)
                return -1;
        *state = f;
        return 0;
}

static int fx_teardown(void **state) {
        struct fixture *f = *state;
        nd_store_free(f->s);
        nd_test_rm_rf(f->dir);
        free(f->dir);
        free(f);
        dumps_fail = false;
        return 0;
}

struct res {
        int calls, r;
        int64_t rev;
        size_t n;
        int64_t mod_rev, lease;
        char value[256];
        char keys[8][64];
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
        x->value[0] = 0;
        if (n == 1) {
                snprintf(x->value, sizeof(x->value), "%s", kvs[0].value);
                x->mod_rev = kvs[0].mod_rev;
                x->lease = kvs[0].lease;
        }
        for (size_t i = 0; i < n && i < 8; i++)
                snprintf(x->keys[i], sizeof(x->keys[i]), "%s", kvs[i].key);
}

static void on_lease(void *ud, int r, int64_t lease) {
        struct res *x = ud;
        x->calls++;
        x->r = r;
        x->lease = lease;
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

/* Submit @t and run the loop until its callback ran; its result. */
static int submit(nd_store_txn_builder *t, nd_store *s) {
        struct res x = {0};
        int r = nd_store_txn_submit(t, s, on_txn, &x);
        if (r < 0)
                return r;
        assert_int_equal(x.calls, 0); /* never from inside the call */
        spin(s);
        assert_int_equal(x.calls, 1);
        return x.r;
}

static nd_store_txn_builder *txn(void) {
        nd_store_txn_builder *t = NULL;
        assert_int_equal(nd_store_txn_new(&t), 0);
        assert_non_null(t);
        return t;
}

static void test_put_and_json(void **state) {
        struct fixture *f = *state;
        nd_store_txn_builder *t = txn();
        char buf[64];

        /* keys and values from a stack buffer that changes under them */
        snprintf(buf, sizeof(buf), "/t/a");
        assert_int_equal(nd_store_txn_put(t, buf, "one"), 0);
        snprintf(buf, sizeof(buf), "/t/b");
        json_t *j = json_pack("{s:i, s:s}", "z", 1, "a", "x");
        assert_int_equal(nd_store_txn_put_json(t, buf, j), 0);
        const char *k = nd_store_txn_keyf(t, "/t/%s/%d", "c", 3);
        assert_string_equal(k, "/t/c/3");
        assert_int_equal(nd_store_txn_put_json_new(t, k, json_pack("[i]", 7)), 0);
        assert_int_equal(nd_store_txn_put_json_full(t, "/t/d", j, JSON_COMPACT | JSON_SORT_KEYS, 0), 0);
        json_decref(j);
        memset(buf, 'x', sizeof(buf) - 1);
        assert_int_equal(nd_store_txn_size(t), 4);
        assert_int_equal(nd_store_txn_error(t), 0);
        assert_int_equal(submit(t, f->s), 0);

        assert_string_equal(get(f->s, "/t/a").value, "one");
        /* compact, in insertion order, as callers dump records today */
        assert_string_equal(get(f->s, "/t/b").value, "{\"z\":1,\"a\":\"x\"}");
        assert_string_equal(get(f->s, "/t/c/3").value, "[7]");
        assert_string_equal(get(f->s, "/t/d").value, "{\"a\":\"x\",\"z\":1}");
}

static void test_delete(void **state) {
        struct fixture *f = *state;
        nd_store_txn_builder *t = txn();

        nd_store_txn_put(t, "/d/p/1", "1");
        nd_store_txn_put(t, "/d/p/2", "2");
        nd_store_txn_put(t, "/d/q", "q");
        nd_store_txn_put(t, "/d/r", "r");
        assert_int_equal(submit(t, f->s), 0);
        assert_int_equal(list(f->s, "/d/").n, 4);

        t = txn();
        assert_int_equal(nd_store_txn_del_prefix(t, "/d/p/"), 0);
        assert_int_equal(nd_store_txn_del(t, "/d/q"), 0);
        assert_int_equal(submit(t, f->s), 0);
        struct res x = list(f->s, "/d/");
        assert_int_equal(x.n, 1);
        assert_string_equal(x.keys[0], "/d/r");
}

static void test_compare(void **state) {
        struct fixture *f = *state;
        nd_store_txn_builder *t = txn();

        /* create-only: the first wins */
        nd_store_txn_cmp_absent(t, "/c/name");
        nd_store_txn_put(t, "/c/name", "first");
        nd_store_txn_put(t, "/c/rec", "first");
        assert_int_equal(submit(t, f->s), 0);
        int64_t rev = get(f->s, "/c/name").mod_rev;
        assert_true(rev > 0);

        /* a failing compare writes nothing, not even the other ops */
        t = txn();
        nd_store_txn_cmp_absent(t, "/c/name");
        nd_store_txn_put(t, "/c/name", "second");
        nd_store_txn_put(t, "/c/other", "second");
        assert_int_equal(submit(t, f->s), -ECANCELED);
        assert_string_equal(get(f->s, "/c/name").value, "first");
        assert_int_equal(get(f->s, "/c/other").n, 0);

        /* compare-and-swap on the mod revision */
        t = txn();
        nd_store_txn_cmp_rev(t, "/c/name", rev + 1);
        nd_store_txn_del(t, "/c/name");
        assert_int_equal(submit(t, f->s), -ECANCELED);
        t = txn();
        nd_store_txn_cmp_rev(t, "/c/name", rev);
        nd_store_txn_cmp_rev(t, "/c/none", 0); /* 0: absent */
        nd_store_txn_del(t, "/c/name");
        assert_int_equal(submit(t, f->s), 0);
        assert_int_equal(get(f->s, "/c/name").n, 0);
}

static void test_lease(void **state) {
        struct fixture *f = *state;
        struct res l = {0};

        assert_int_equal(nd_store_lease_grant(f->s, 60, on_lease, &l), 0);
        spin(f->s);
        assert_int_equal(l.r, 0);
        assert_true(l.lease > 0);

        nd_store_txn_builder *t = txn();
        nd_store_txn_put_lease(t, "/l/a", "a", l.lease);
        json_t *j = json_pack("{s:b}", "up", 1);
        nd_store_txn_put_json_full(t, "/l/b", j, JSON_COMPACT, l.lease);
        json_decref(j);
        nd_store_txn_put(t, "/l/c", "c");
        assert_int_equal(submit(t, f->s), 0);
        assert_int_equal(get(f->s, "/l/a").lease, l.lease);
        assert_string_equal(get(f->s, "/l/b").value, "{\"up\":true}");

        struct res rv = {0};
        assert_int_equal(nd_store_lease_revoke(f->s, l.lease, on_lease, &rv), 0);
        spin(f->s);
        assert_int_equal(rv.r, 0);
        struct res x = list(f->s, "/l/");
        assert_int_equal(x.n, 1);
        assert_string_equal(x.keys[0], "/l/c");

        /* an unknown lease fails the transaction in the store */
        t = txn();
        nd_store_txn_put_lease(t, "/l/d", "d", l.lease);
        assert_int_equal(submit(t, f->s), -ENOENT);
}

static void test_latched_enomem(void **state) {
        struct fixture *f = *state;
        nd_store_txn_builder *t = txn();
        struct res x = {0};

        /* a JSON builder that ran out hands over NULL */
        assert_int_equal(nd_store_txn_put(t, "/m/a", "a"), 0);
        assert_int_equal(nd_store_txn_put_json(t, "/m/b", NULL), -ENOMEM);
        /* later calls do nothing and keep the first error */
        assert_int_equal(nd_store_txn_put(t, NULL, "x"), -ENOMEM);
        assert_int_equal(nd_store_txn_cmp_absent(t, "/m/a"), -ENOMEM);
        assert_int_equal(nd_store_txn_del(t, "/m/a"), -ENOMEM);
        assert_null(nd_store_txn_keyf(t, "/m/%d", 1));
        assert_int_equal(nd_store_txn_size(t), 1);
        assert_int_equal(nd_store_txn_error(t), -ENOMEM);
        assert_int_equal(nd_store_txn_submit(t, f->s, on_txn, &x), -ENOMEM);
        spin(f->s);
        assert_int_equal(x.calls, 0);
        assert_int_equal(get(f->s, "/m/a").n, 0);

        /* json_dumps itself failing; put_json_new still drops its reference */
        t = txn();
        dumps_fail = true;
        assert_int_equal(nd_store_txn_put_json_new(t, "/m/c", json_pack("{s:i}", "n", 1)), -ENOMEM);
        dumps_fail = false;
        assert_int_equal(nd_store_txn_put(t, "/m/d", "d"), -ENOMEM);
        assert_int_equal(nd_store_txn_submit(t, f->s, on_txn, &x), -ENOMEM);
        spin(f->s);
        assert_int_equal(x.calls, 0);
        assert_int_equal(list(f->s, "/m/").n, 0);

        /* a builder that could not be allocated is one that ran out */
        t = NULL;
        assert_null(nd_store_txn_keyf(t, "/m/%d", 2));
        assert_int_equal(nd_store_txn_cmp_absent(t, "/m/e"), -ENOMEM);
        assert_int_equal(nd_store_txn_put(t, "/m/e", "e"), -ENOMEM);
        assert_int_equal(nd_store_txn_put_json_new(t, "/m/e", json_pack("{}")), -ENOMEM);
        assert_int_equal(nd_store_txn_del_prefix(t, "/m/"), -ENOMEM);
        assert_int_equal(nd_store_txn_size(t), 0);
        assert_int_equal(nd_store_txn_error(t), -ENOMEM);
        assert_int_equal(nd_store_txn_submit(t, f->s, on_txn, &x), -ENOMEM);
        spin(f->s);
        assert_int_equal(x.calls, 0);
}

static void test_invalid(void **state) {
        struct fixture *f = *state;
        struct res x = {0};
        nd_store_txn_builder *t = txn();

        /* NULL key or value latches -EINVAL, as nd_store_txn() would say */
        assert_int_equal(nd_store_txn_put(t, "/i/a", NULL), -EINVAL);
        assert_int_equal(nd_store_txn_put_json(t, "/i/b", NULL), -EINVAL);
        assert_int_equal(nd_store_txn_submit(t, f->s, on_txn, &x), -EINVAL);

        /* what nd_store_txn() refuses comes back from submit, no callback */
        t = txn();
        char big[ND_STORE_MAX_KEY + 2];
        memset(big, 'k', sizeof(big) - 1);
        big[0] = '/';
        big[sizeof(big) - 1] = 0;
        assert_int_equal(nd_store_txn_put(t, big, "v"), 0);
        assert_int_equal(nd_store_txn_submit(t, f->s, on_txn, &x), -EINVAL);

        /* past the limit: -E2BIG, the error nd_store_txn() has for it */
        t = txn();
        for (int i = 0; i < ND_STORE_MAX_TXN_OPS; i++)
                assert_int_equal(nd_store_txn_del(t, nd_store_txn_keyf(t, "/i/%d", i)), 0);
        assert_int_equal(nd_store_txn_cmp_absent(t, "/i/x"), -E2BIG);
        assert_int_equal(nd_store_txn_size(t), ND_STORE_MAX_TXN_OPS);
        assert_int_equal(nd_store_txn_submit(t, f->s, on_txn, &x), -E2BIG);
        spin(f->s);
        assert_int_equal(x.calls, 0);

        /* an empty transaction commits, as nd_store_txn() with no ops does */
        assert_int_equal(submit(txn(), f->s), 0);
        nd_store_txn_free(NULL);
        {
                _cleanup_(nd_store_txn_freep) nd_store_txn_builder *u = txn();
                nd_store_txn_put(u, "/i/never", "submitted");
        }
        assert_int_equal(get(f->s, "/i/never").n, 0);
}

/* keys.h keeps the strings netd has always written. */
static void test_keys(void **state) {
        assert_string_equal(ND_KEY_NETWORKS, "/netd/v1/networks/");
        assert_string_equal(ND_KEY_NETWORK_NAMES, "/netd/v1/network-names/");
        assert_string_equal(ND_KEY_IPAM, "/netd/v1/ipam/");
        assert_string_equal(ND_KEY_CONTAINERS, "/netd/v1/containers/");
        assert_string_equal(ND_KEY_CONTAINER_NAMES, "/netd/v1/container-names/");
        assert_string_equal(ND_KEY_SANDBOXES, "/netd/v1/sandboxes/");
        assert_string_equal(ND_KEY_DOCKER, "/netd/v1/docker/");
        assert_string_equal(ND_KEY_DOCKER_POOLS, "/netd/v1/docker/pools/");
        assert_string_equal(ND_KEY_DOCKER_ENDPOINTS, "/netd/v1/docker/endpoints/");
        assert_string_equal(ND_KEY_DOCKER_NETWORKS, "/netd/v1/docker/networks/");
        assert_string_equal(ND_KEY_GLOBAL, "/netd/v1/global/");
        assert_string_equal(ND_KEY_GLOBAL_NODES, "/netd/v1/global/nodes/");
        assert_string_equal(ND_KEY_GLOBAL_LIVE, "/netd/v1/global/live/");
        assert_string_equal(ND_KEY_GLOBAL_NETWORKS, "/netd/v1/global/networks/");
        assert_string_equal(ND_KEY_GLOBAL_NETWORK_NAMES, "/netd/v1/global/network-names/");
        assert_string_equal(ND_KEY_GLOBAL_VNIS, "/netd/v1/global/vnis/");
        assert_string_equal(ND_KEY_GLOBAL_BLOCKS, "/netd/v1/global/blocks/");
        assert_string_equal(ND_KEY_GLOBAL_ENDPOINTS, "/netd/v1/global/endpoints/");
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents) {
}

static int setup(void **state) {
        loop = ev_loop_new(EVFLAG_AUTO);
        if (!loop)
                return -1;
        ev_timer_init(&tick, on_tick, 0.001, 0.001);
        ev_timer_start(loop, &tick);
        nd_log_max_level = LOG_ERR - 1;
        return 0;
}

static int teardown(void **state) {
        ev_timer_stop(loop, &tick);
        ev_loop_destroy(loop);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_put_and_json, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_delete, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_compare, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_lease, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_latched_enomem, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_invalid, fx_setup, fx_teardown),
                cmocka_unit_test(test_keys),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
