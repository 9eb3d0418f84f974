/* SPDX-License-Identifier: Apache-2.0 */
/* Capability names and Docker's TweakCapabilities semantics. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "caps.h"
#include "diag.h"

static void test_default(void **state) {
        assert_int_equal(nd_caps_default(), UINT64_C(0xa80425fb));
        assert_int_equal(nd_caps_all(), (UINT64_C(1) << 41) - 1);
        assert_string_equal(nd_cap_to_name(0), "CAP_CHOWN");
        assert_string_equal(nd_cap_to_name(21), "CAP_SYS_ADMIN");
        assert_string_equal(nd_cap_to_name(ND_CAP_LAST), "CAP_CHECKPOINT_RESTORE");
        assert_null(nd_cap_to_name(ND_CAP_LAST + 1));
}

static void test_normalize(void **state) {
        char buf[ND_CAP_NAME_MAX];
        nd_diag d = {0};
        assert_int_equal(nd_cap_normalize("net_admin", buf, &d), 12);
        assert_string_equal(buf, "CAP_NET_ADMIN");
        assert_int_equal(nd_cap_normalize("CAP_NET_ADMIN", buf, &d), 12);
        assert_int_equal(nd_cap_normalize("Cap_Bpf", buf, &d), 39);
        assert_string_equal(buf, "CAP_BPF");
        assert_int_equal(nd_cap_normalize("all", buf, &d), ND_CAP_ALL);
        assert_string_equal(buf, "ALL");
        assert_int_equal(nd_cap_normalize("NOPE", buf, &d), -EINVAL);
        assert_string_equal(d.msg, "unknown capability 'NOPE'");
        assert_int_equal(nd_cap_normalize("CAP_", buf, &d), -EINVAL);
        assert_int_equal(nd_cap_normalize("", buf, &d), -EINVAL);
        assert_int_equal(nd_cap_normalize(NULL, buf, &d), -EINVAL);
        assert_int_equal(nd_cap_normalize("CAP_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", buf, &d), -EINVAL);
}

static void test_effective(void **state) {
        uint64_t c;
        nd_diag d = {0};
        const char *net_admin[] = { "NET_ADMIN" }, *all[] = { "ALL" }, *net_raw[] = { "net_raw" },
                   *bad[] = { "SYS_FOO" };

        assert_int_equal(nd_caps_effective(NULL, 0, NULL, 0, false, &c, &d), 0);
        assert_int_equal(c, nd_caps_default());
        assert_int_equal(nd_caps_effective(net_admin, 1, NULL, 0, false, &c, &d), 0);
        assert_int_equal(c, nd_caps_default() | UINT64_C(1) << 12);
        assert_int_equal(nd_caps_effective(NULL, 0, all, 1, false, &c, &d), 0);
        assert_int_equal(c, 0);
        /* drop ALL, then the added ones only */
        assert_int_equal(nd_caps_effective(net_raw, 1, all, 1, false, &c, &d), 0);
        assert_int_equal(c, UINT64_C(1) << 13);
        /* add ALL wins over drop ALL; a named drop still applies */
        assert_int_equal(nd_caps_effective(all, 1, net_raw, 1, false, &c, &d), 0);
        assert_int_equal(c, nd_caps_all() & ~(UINT64_C(1) << 13));
        assert_int_equal(nd_caps_effective(NULL, 0, net_raw, 1, false, &c, &d), 0);
        assert_int_equal(c, UINT64_C(0xa80405fb));
        assert_int_equal(nd_caps_effective(NULL, 0, all, 1, true, &c, &d), 0);
        assert_int_equal(c, nd_caps_all());
        assert_int_equal(nd_caps_effective(bad, 1, NULL, 0, false, &c, &d), -EINVAL);
        assert_string_equal(d.msg, "unknown capability 'SYS_FOO'");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default),
                cmocka_unit_test(test_normalize),
                cmocka_unit_test(test_effective),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
