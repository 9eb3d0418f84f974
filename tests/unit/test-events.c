/* SPDX-License-Identifier: Apache-2.0 */
/* The event bus (core/events.h) against a fake sink: replay, filters,
 * until, and dropping a subscriber that does not read. */
#include <errno.h>
#include <ev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"
#include "metrics.h"

struct sink {
        size_t room;
        char out[16384];
        size_t len;
        int lines, ended;
        char last[512];
};

static size_t s_room(void *u) {
        struct sink *s = u;
        return s->room;
}

static void s_write(void *u, const char *p, size_t len) {
        struct sink *s = u;
        assert_true(len <= s->room);
        assert_true(s->len + len < sizeof(s->out));
        memcpy(s->out + s->len, p, len);
        s->len += len;
        s->out[s->len] = 0;
        s->room -= len;
        s->lines++;
}

static void s_end(void *u, const char *last, size_t len) {
        struct sink *s = u;
        s->ended++;
        snprintf(s->last, sizeof(s->last), "%.*s", (int) len, last ? last : "");
}

static const nd_event_sink_ops ops = { .room = s_room, .write = s_write, .end = s_end };

static void emit_n(nd_events *b, int n, const char *type) {
        for (int i = 0; i < n; i++)
                nd_events_emit(b, type, "start", "id", "web", json_pack("{s:s}", "name", "web"), NULL);
}

static void test_follow_and_filter(void **state) {
        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        nd_events *b;
        assert_int_equal(nd_events_new(loop, "h1", 8, &b), 0);
        emit_n(b, 2, "container"); /* before: not for a follower without since */
        struct sink all = { .room = 1 << 20 }, nets = { .room = 1 << 20 };
        nd_event_sub *s1, *s2;
        nd_event_filter f = {0}, g = {0};
        assert_int_equal(nd_events_subscribe(b, &f, INT64_MIN, INT64_MAX, &ops, &all, &s1), 0);
        assert_int_equal(nd_event_filter_add(&g, "type", "network", NULL), 0);
        assert_int_equal(nd_events_subscribe(b, &g, INT64_MIN, INT64_MAX, &ops, &nets, &s2), 0);
        assert_non_null(s1);
        assert_int_equal(all.lines, 0);
        emit_n(b, 1, "container");
        emit_n(b, 1, "network");
        assert_int_equal(all.lines, 2);
        assert_int_equal(nets.lines, 1);
        assert_non_null(strstr(nets.out, "\"type\":\"network\""));
        assert_non_null(strstr(nets.out, "\"node\":\"h1\""));
        nd_event_sub_free(s1); /* the client went: no end() */
        assert_int_equal(all.ended, 0);
        b = nd_events_free(b); /* the bus goes: end() without a last line */
        assert_int_equal(nets.ended, 1);
        assert_string_equal(nets.last, "");
        ev_loop_destroy(loop);
}

static void test_replay_until(void **state) {
        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        nd_events *b;
        assert_int_equal(nd_events_new(loop, "h1", 8, &b), 0);
        emit_n(b, 3, "container");
        /* since 0 and until now: the history, then the end, from subscribe */
        struct sink r = { .room = 1 << 20 };
        nd_event_sub *s;
        nd_event_filter f = {0};
        assert_int_equal(nd_events_subscribe(b, &f, 0, INT64_MAX - 1, &ops, &r, &s), 0);
        assert_int_equal(r.lines, 3);
        assert_int_equal(r.ended, 0);
        struct sink p = { .room = 1 << 20 };
        assert_int_equal(nd_events_subscribe(b, &f, 0, 1, &ops, &p, &s), 0);
        assert_null(s); /* ended already: nothing before 1970-01-01T00:00:01 */
        assert_int_equal(p.lines, 0);
        assert_int_equal(p.ended, 1);
        /* a replay that does not fit waits for room, and is not dropped */
        struct sink slow = { .room = 1 };
        assert_int_equal(nd_events_subscribe(b, &f, 0, INT64_MAX, &ops, &slow, &s), 0);
        assert_non_null(s);
        assert_int_equal(slow.lines, 0);
        slow.room = 1 << 20;
        nd_event_sub_pump(s);
        assert_int_equal(slow.lines, 3);
        assert_int_equal(slow.ended, 0);
        nd_events_free(b);
        ev_loop_destroy(loop);
}

static void test_drop(void **state) {
        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        nd_events *b;
        assert_int_equal(nd_events_new(loop, "h1", 8, &b), 0);
        struct sink st = { .room = 400 }, ok = { .room = 1 << 20 };
        nd_event_sub *s;
        nd_event_filter f = {0};
        assert_int_equal(nd_events_subscribe(b, &f, INT64_MIN, INT64_MAX, &ops, &st, &s), 0);
        assert_int_equal(nd_events_subscribe(b, &f, INT64_MIN, INT64_MAX, &ops, &ok, &s), 0);
        emit_n(b, 10, "container");
        /* the stalled one: the first fitted, then dropped with an error line */
        assert_int_equal(st.ended, 1);
        assert_non_null(strstr(st.last, "\"type\":\"error\""));
        assert_non_null(strstr(st.last, "\"action\":\"dropped\""));
        assert_int_equal(ok.lines, 10);
        assert_int_equal(ok.ended, 0);
        nd_expo e = {0};
        nd_events_metrics(b, &e);
        char *text = nd_expo_take(&e, NULL);
        assert_non_null(strstr(text, "netd_event_subscribers_dropped_total 1\n"));
        assert_non_null(strstr(text, "netd_event_subscribers 1\n"));
        assert_non_null(strstr(text, "netd_events_total{type=\"container\"} 10\n"));
        free(text);
        /* a replay that falls out of the history is dropped too */
        struct sink lag = { .room = 0 };
        assert_int_equal(nd_events_subscribe(b, &f, 0, INT64_MAX, &ops, &lag, &s), 0);
        assert_int_equal(lag.ended, 0);
        emit_n(b, 9, "node");
        assert_int_equal(lag.ended, 1);
        assert_non_null(strstr(lag.last, "fell behind"));
        nd_events_free(b);
        ev_loop_destroy(loop);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_follow_and_filter),
                cmocka_unit_test(test_replay_until),
                cmocka_unit_test(test_drop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
