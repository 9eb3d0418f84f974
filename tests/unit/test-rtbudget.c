/* SPDX-License-Identifier: Apache-2.0 */
/* When the DNS thread is real-time (dns/rtbudget.h): on a contended host
 * while it is light; a flood ends it within one span and keeps it off
 * while it lasts, and it comes back only after a quiet second; a calm host
 * ends it after ND_RTB_CALM seconds, contention brings it back at the next
 * reading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtbudget.h"

/* Run the thread for @secs at @share of a CPU, judged at every loop
 * iteration @step apart, as dns/server.c does; the last action that was
 * not KEEP, and how long the thread ran real-time meanwhile. */
static nd_rtb_action run(nd_rtb *b, double *now, double *cpu, double secs, double share, double step,
                         double *rt_cpu) {
        nd_rtb_action last = ND_RTB_KEEP;
        for (double end = *now + secs; *now < end - 1e-12;) {
                *now += step;
                *cpu += share * step;
                if (nd_rtb_rt(b) && rt_cpu)
                        *rt_cpu += share * step;
                if (!nd_rtb_due(b, *now))
                        continue;
                nd_rtb_action a = nd_rtb_check(b, *now, *cpu);
                if (a != ND_RTB_KEEP)
                        last = a;
        }
        return last;
}

/* The host's pressure for @secs: tasks waiting @share of the time, read
 * every 0.1 s as the thread's timer does (the thread itself idle). */
static nd_rtb_action pressure(nd_rtb *b, double *now, double *total, double secs, double share) {
        nd_rtb_action last = ND_RTB_KEEP;
        for (double end = *now + secs; *now < end - 1e-12;) {
                *now += ND_RTB_PSI_SPAN;
                *total += share * ND_RTB_PSI_SPAN;
                nd_rtb_action a = nd_rtb_pressure(b, *now, *total);
                if (a != ND_RTB_KEEP)
                        last = a;
        }
        return last;
}

static void test_light_stays(void **state) {
        nd_rtb b;
        double now = 100, cpu = 1;
        nd_rtb_init(&b, now, cpu);
        assert_true(nd_rtb_rt(&b)); /* contended until readings say otherwise */
        /* 100 answers a second at 20 us each, and a burst of 2 ms in 10 ms */
        assert_int_equal(run(&b, &now, &cpu, 10, 0.002, 0.0005, NULL), ND_RTB_KEEP);
        assert_int_equal(run(&b, &now, &cpu, 0.01, 0.2, 0.0005, NULL), ND_RTB_KEEP);
        assert_true(nd_rtb_rt(&b));
        assert_int_equal(b.demotions, 0);
        /* idle for minutes between two answers: one long span, still light */
        now += 300;
        assert_true(nd_rtb_due(&b, now));
        assert_int_equal(nd_rtb_check(&b, now, cpu + 0.00002), ND_RTB_KEEP);
        assert_true(nd_rtb_rt(&b));
}

static void test_flood_demotes_within_a_span(void **state) {
        nd_rtb b;
        double now = 0, cpu = 0, rt_cpu = 0;
        nd_rtb_init(&b, now, cpu);
        /* a flood keeps the thread busy for 5 s */
        assert_int_equal(run(&b, &now, &cpu, 5, 1.0, 0.0001, &rt_cpu), ND_RTB_DEMOTE);
        assert_false(nd_rtb_rt(&b));
        assert_int_equal(b.demotions, 1);
        /* real-time for one span at most, whatever the flood's length */
        assert_true(rt_cpu <= ND_RTB_SPAN + 0.0002);
        /* a flood that keeps it just over the budget: no way back either */
        assert_int_equal(run(&b, &now, &cpu, 5, ND_RTB_LOW * 1.5, 0.0001, &rt_cpu), ND_RTB_KEEP);
        assert_false(nd_rtb_rt(&b));
        assert_true(rt_cpu <= ND_RTB_SPAN + 0.0002);
}

static void test_back_after_a_quiet_second(void **state) {
        nd_rtb b;
        double now = 0, cpu = 0;
        nd_rtb_init(&b, now, cpu);
        run(&b, &now, &cpu, 0.05, 1.0, 0.0001, NULL);
        assert_false(nd_rtb_rt(&b));
        /* quiet, but not yet for a second */
        assert_int_equal(run(&b, &now, &cpu, ND_RTB_QUIET * 0.8, 0.01, 0.0005, NULL), ND_RTB_KEEP);
        assert_false(nd_rtb_rt(&b));
        /* a busy span starts the count again */
        run(&b, &now, &cpu, 0.02, 0.5, 0.0005, NULL);
        assert_int_equal(run(&b, &now, &cpu, ND_RTB_QUIET * 0.8, 0.01, 0.0005, NULL), ND_RTB_KEEP);
        assert_false(nd_rtb_rt(&b));
        assert_int_equal(run(&b, &now, &cpu, ND_RTB_QUIET * 0.4, 0.01, 0.0005, NULL), ND_RTB_PROMOTE);
        assert_true(nd_rtb_rt(&b));
        /* idle since the flood: the first span after it is quiet enough */
        run(&b, &now, &cpu, 0.05, 1.0, 0.0001, NULL);
        assert_false(nd_rtb_rt(&b));
        now += 30;
        assert_int_equal(nd_rtb_check(&b, now, cpu), ND_RTB_PROMOTE);
        assert_int_equal(b.demotions, 2);
}

static void test_calm_host_normal(void **state) {
        nd_rtb b;
        double now = 0, cpu = 0, total = 50;
        nd_rtb_init(&b, now, cpu);
        /* the first reading only starts the count */
        assert_int_equal(nd_rtb_pressure(&b, now, total), ND_RTB_KEEP);
        assert_true(nd_rtb_rt(&b));
        /* calm, not yet for ND_RTB_CALM */
        assert_int_equal(pressure(&b, &now, &total, ND_RTB_CALM * 0.9, 0.005), ND_RTB_KEEP);
        assert_true(nd_rtb_rt(&b));
        assert_int_equal(pressure(&b, &now, &total, ND_RTB_CALM * 0.2, 0.005), ND_RTB_DEMOTE);
        assert_false(nd_rtb_rt(&b));
        assert_int_equal(b.demotions, 0); /* not the budget's */
        /* contention: real-time at the next reading */
        assert_int_equal(pressure(&b, &now, &total, ND_RTB_PSI_SPAN, 0.3), ND_RTB_PROMOTE);
        assert_true(nd_rtb_rt(&b));
        /* a calm spell shorter than ND_RTB_CALM between busy ones: stays */
        assert_int_equal(pressure(&b, &now, &total, ND_RTB_CALM * 0.5, 0), ND_RTB_KEEP);
        assert_int_equal(pressure(&b, &now, &total, ND_RTB_PSI_SPAN, 0.05), ND_RTB_KEEP);
        assert_int_equal(pressure(&b, &now, &total, ND_RTB_CALM * 0.9, 0), ND_RTB_KEEP);
        assert_true(nd_rtb_rt(&b));
        /* readings closer than ND_RTB_PSI_SPAN are not judged */
        total += 0.01;
        assert_int_equal(nd_rtb_pressure(&b, now + ND_RTB_PSI_SPAN / 2, total), ND_RTB_KEEP);
}

static void test_flood_on_a_contended_host(void **state) {
        nd_rtb b;
        double now = 0, cpu = 0, total = 0;
        nd_rtb_init(&b, now, cpu);
        nd_rtb_pressure(&b, now, total);
        /* calm host: normal; a flood then is no demotion of real-time */
        pressure(&b, &now, &total, ND_RTB_CALM + 0.5, 0);
        assert_false(nd_rtb_rt(&b));
        assert_int_equal(run(&b, &now, &cpu, 1, 1.0, 0.0001, NULL), ND_RTB_KEEP);
        assert_int_equal(b.demotions, 0);
        /* the flood makes the host contended: still normal, over budget */
        assert_int_equal(pressure(&b, &now, &total, 0.5, 0.5), ND_RTB_KEEP);
        assert_false(nd_rtb_rt(&b));
        /* the flood ends, the contention stays: back after a quiet second */
        assert_int_equal(run(&b, &now, &cpu, ND_RTB_QUIET + 0.1, 0.001, 0.001, NULL), ND_RTB_PROMOTE);
        assert_true(nd_rtb_rt(&b));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_light_stays),
                cmocka_unit_test(test_flood_demotes_within_a_span),
                cmocka_unit_test(test_back_after_a_quiet_second),
                cmocka_unit_test(test_calm_host_normal),
                cmocka_unit_test(test_flood_on_a_contended_host),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
