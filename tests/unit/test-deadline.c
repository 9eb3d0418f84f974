/* SPDX-License-Identifier: Apache-2.0 */
/* The deadline file a global-service task's monitor fences itself by
 * (runtime/rt-config.h), and the config field naming it. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "rt-config.h"

static char dir[] = "/tmp/nd-test-deadline.XXXXXX";

static void put(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_round_trip(void **state) {
        char path[256];
        double v = 0;
        snprintf(path, sizeof(path), "%s/lease-deadline", dir);
        assert_int_equal(nd_rt_deadline_read(path, &v), -ENOENT);
        assert_int_equal(nd_rt_deadline_write(path, 1234.5), 0);
        assert_int_equal(nd_rt_deadline_read(path, &v), 0);
        assert_true(v > 1234.49 && v < 1234.51);
        /* rewritten in place by rename: no .tmp left behind */
        char tmp[300];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        assert_int_equal(access(tmp, F_OK), -1);
        assert_true(nd_rt_boottime() > 0);
        unlink(path);
}

static void test_malformed(void **state) {
        static const char *const bad[] = { "", "abc\n", "12x\n", "-5\n", "nan\n", "1e400\n" };
        char path[256];
        double v = 7;
        snprintf(path, sizeof(path), "%s/bad", dir);
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
                put(path, bad[i]);
                assert_int_equal(nd_rt_deadline_read(path, &v), -EBADMSG);
                assert_true(v == 7);
        }
        unlink(path);
}

static void test_config_field(void **state) {
        nd_rt_config c;
        char err[256];
        json_t *j = json_pack("{s:s, s:s, s:[s], s:s}", "Id", "x", "Rootfs", "/", "Args", "true", "Deadline",
                              "/run/netd/lease-deadline");
        assert_int_equal(nd_rt_config_from_json(j, &c, err, sizeof(err)), 0);
        assert_string_equal(c.deadline, "/run/netd/lease-deadline");
        nd_rt_config_done(&c);
        json_object_del(j, "Deadline");
        assert_int_equal(nd_rt_config_from_json(j, &c, err, sizeof(err)), 0);
        assert_string_equal(c.deadline, "");
        nd_rt_config_done(&c);
        json_decref(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_config_field),
        };
        assert_non_null(mkdtemp(dir));
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        rmdir(dir);
        return r;
}
