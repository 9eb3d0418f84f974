/* SPDX-License-Identifier: Apache-2.0 */
/* Events (model/event.h): filter parsing and matching, times, the ring. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"

#define S 1000000000LL

static json_t *ev(const char *type, const char *action, const char *id, const char *name, json_t *attrs,
                  const char *node) {
        json_t *e = nd_event_new(1700000000 * S, type, action, id, name, attrs, node);
        assert_non_null(e);
        return e;
}

static const char *CT = "8e0144365cb72fa4b598a0de06182fd59b22cd7887b75b412acb23a05289523d";
static const char *NET = "ac75abb4558584e806593eefe420390155254e81b12b2de3dac0cdd6480d08ae";

static void test_filter_match(void **state) {
        nd_event_filter f = {0};
        nd_diag d = {0};
        json_t *start = ev("container", "start", CT, "web", json_pack("{s:s}", "name", "web"), "h1");
        json_t *conn = ev("endpoint", "connect", CT, "web",
                          json_pack("{s:s, s:s, s:s, s:s}", "network", "front", "networkId", NET, "container", CT,
                                    "containerName", "web"),
                          "h2");
        json_t *net = ev("network", "create", NET, "front", NULL, "h1");
        json_t *health = ev("container", "health_status: healthy", CT, "web", NULL, "h1");

        /* nothing asked: everything */
        assert_true(nd_event_filter_match(&f, start));
        /* OR within a key */
        assert_int_equal(nd_event_filter_add(&f, "type", "container", &d), 0);
        assert_int_equal(nd_event_filter_add(&f, "type", "network", &d), 0);
        assert_int_equal(nd_event_filter_add(&f, "type", "network", &d), 0); /* twice: once */
        assert_int_equal(f.n[ND_EVENT_KEY_TYPE], 2);
        assert_true(nd_event_filter_match(&f, start));
        assert_true(nd_event_filter_match(&f, net));
        assert_false(nd_event_filter_match(&f, conn));
        /* AND across keys; an action's part before ':' */
        assert_int_equal(nd_event_filter_add(&f, "event", "health_status", &d), 0);
        assert_false(nd_event_filter_match(&f, start));
        assert_true(nd_event_filter_match(&f, health));
        nd_event_filter_done(&f);

        /* network: a network event's actor, another's attribute (name,
         * id, a 12+ prefix of the id; not a shorter one) */
        const char *nets[] = { "front", NET, "ac75abb45585" };
        for (size_t i = 0; i < 3; i++) {
                nd_event_filter g = {0};
                assert_int_equal(nd_event_filter_add(&g, "network", nets[i], &d), 0);
                assert_true(nd_event_filter_match(&g, net));
                assert_true(nd_event_filter_match(&g, conn));
                assert_false(nd_event_filter_match(&g, start));
                nd_event_filter_done(&g);
        }
        assert_int_equal(nd_event_filter_add(&f, "network", "ac75", &d), 0);
        assert_false(nd_event_filter_match(&f, net));
        nd_event_filter_done(&f);
        /* container: the actor of a container event, the attribute of others */
        assert_int_equal(nd_event_filter_add(&f, "container", "web", &d), 0);
        assert_true(nd_event_filter_match(&f, start));
        assert_true(nd_event_filter_match(&f, conn));
        assert_false(nd_event_filter_match(&f, net));
        nd_event_filter_done(&f);
        /* node */
        assert_int_equal(nd_event_filter_add(&f, "node", "h2", &d), 0);
        assert_true(nd_event_filter_match(&f, conn));
        assert_false(nd_event_filter_match(&f, start));
        nd_event_filter_done(&f);

        json_decref(start);
        json_decref(conn);
        json_decref(net);
        json_decref(health);
}

static void test_filter_errors(void **state) {
        nd_event_filter f = {0};
        nd_diag d = {0};
        assert_int_equal(nd_event_filter_add(&f, "colour", "red", &d), -EINVAL);
        assert_non_null(strstr(d.msg, "unknown event filter 'colour'"));
        assert_int_equal(nd_event_filter_add(&f, "type", "bogus", &d), -EINVAL);
        assert_int_equal(nd_event_filter_add(&f, "node", "", &d), -EINVAL);
        assert_int_equal(nd_event_filter_add(&f, "node", "a\nb", &d), -EINVAL);
        char big[ND_EVENT_FILTER_VALUE_MAX + 2];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        assert_int_equal(nd_event_filter_add(&f, "node", big, &d), -EINVAL);
        for (int i = 0; i < ND_EVENT_FILTER_VALUES; i++) {
                char v[16];
                snprintf(v, sizeof(v), "n%d", i);
                assert_int_equal(nd_event_filter_add(&f, "node", v, &d), 0);
        }
        assert_int_equal(nd_event_filter_add(&f, "node", "one-more", &d), -E2BIG);
        nd_event_filter_done(&f);

        /* Docker's JSON form: lists, or objects of booleans */
        const char *j = "{\"type\":[\"container\"],\"event\":{\"start\":true,\"die\":false}}";
        assert_int_equal(nd_event_filter_add_json(&f, j, strlen(j), &d), 0);
        assert_int_equal(f.n[ND_EVENT_KEY_TYPE], 1);
        assert_int_equal(f.n[ND_EVENT_KEY_EVENT], 1);
        assert_string_equal(f.values[ND_EVENT_KEY_EVENT][0], "start");
        nd_event_filter_done(&f);
        const char *bad[] = { "[]", "{\"type\":\"container\"}", "{\"type\":[1]}", "{\"event\":{\"x\":1}}",
                              "{\"type\":[\"x\"]}", "{\"colour\":[\"red\"]}", "{", "{\"a\":[],\"a\":[]}" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(nd_event_filter_add_json(&f, bad[i], strlen(bad[i]), &d), -EINVAL);
                nd_event_filter_done(&f);
        }
}

static void test_time(void **state) {
        int64_t t;
        nd_diag d = {0};
        int64_t now = 1700000000 * S;
        assert_int_equal(nd_event_time_parse("1700000000", now, &t, &d), 0);
        assert_true(t == 1700000000 * S);
        assert_int_equal(nd_event_time_parse("1700000000.25", now, &t, &d), 0);
        assert_true(t == 1700000000 * S + 250000000);
        assert_int_equal(nd_event_time_parse("0", now, &t, &d), 0);
        assert_true(t == 0);
        assert_int_equal(nd_event_time_parse("2023-11-14T22:13:20Z", now, &t, &d), 0);
        assert_true(t == 1700000000 * S);
        assert_int_equal(nd_event_time_parse("2023-11-15T00:13:20.5+02:00", now, &t, &d), 0);
        assert_true(t == 1700000000 * S + 500000000);
        assert_int_equal(nd_event_time_parse("10m", now, &t, &d), 0);
        assert_true(t == now - 600 * S);
        assert_int_equal(nd_event_time_parse("2h", now, &t, &d), 0);
        assert_true(t == now - 7200 * S);
        const char *bad[] = { "", "x", "1.", "-5", "10d", "2023-02-30T00:00:00Z", "2023-11-14T22:13:20",
                              "2023-11-14T25:13:20Z", "2023-11-14T22:13:20+0200", "1e9", "123456789012345" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(nd_event_time_parse(bad[i], now, &t, &d), -EINVAL);

        /* Past the end of int64_t nanoseconds: a clear error, not a wrapped time. */
        const char *far[] = { "99999999999", "9223372037", "9223372036.9", "999999999h", "999999999m",
                              "9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z" };
        for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
                d.msg[0] = 0;
                assert_int_equal(nd_event_time_parse(far[i], now, &t, &d), -EINVAL);
                assert_non_null(strstr(d.msg, "out of range"));
        }
        /* The last representable second still parses. */
        assert_int_equal(nd_event_time_parse("9223372036", now, &t, &d), 0);
        assert_true(t == 9223372036 * S);
        assert_int_equal(nd_event_time_parse("2262-04-11T23:47:16Z", now, &t, &d), 0);
        assert_true(t == 9223372036 * S);
        assert_int_equal(nd_event_time_parse("999999999s", now, &t, &d), 0);
        assert_true(t == now - 999999999 * S);
}

static void test_ring(void **state) {
        nd_event_ring r;
        assert_int_equal(nd_event_ring_init(&r, 4), 0);
        assert_int_equal(nd_event_ring_find(&r, 0), 0);
        assert_null(nd_event_ring_get(&r, 0));
        for (int i = 0; i < 6; i++) {
                const nd_event_entry *e = nd_event_ring_push(&r, ev("node", "join", "x", NULL, NULL, NULL), (10 + i) * S);
                assert_non_null(e);
                assert_int_equal(e->seq, (uint64_t) i);
                assert_int_equal(e->line[e->len - 1], '\n');
        }
        /* the two oldest went */
        assert_int_equal(nd_event_ring_first_seq(&r), 2);
        assert_null(nd_event_ring_get(&r, 1));
        assert_non_null(nd_event_ring_get(&r, 2));
        assert_non_null(nd_event_ring_get(&r, 5));
        assert_null(nd_event_ring_get(&r, 6));
        /* by time: the first at or after */
        assert_int_equal(nd_event_ring_find(&r, 0), 2);
        assert_int_equal(nd_event_ring_find(&r, 13 * S), 3);
        assert_int_equal(nd_event_ring_find(&r, 13 * S + 1), 4);
        assert_int_equal(nd_event_ring_find(&r, 99 * S), 6);
        /* a clock step back is clamped, in the entry and its JSON */
        const nd_event_entry *e = nd_event_ring_push(&r, ev("node", "leave", "x", NULL, NULL, NULL), 1 * S);
        assert_true(e->time_ns == 15 * S);
        assert_non_null(strstr(e->line, "\"timeNano\":15000000000"));
        assert_int_equal(nd_event_ring_find(&r, 15 * S), 5);
        nd_event_ring_done(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_filter_match),
                cmocka_unit_test(test_filter_errors),
                cmocka_unit_test(test_time),
                cmocka_unit_test(test_ring),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
