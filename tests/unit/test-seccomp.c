/* SPDX-License-Identifier: Apache-2.0 */
/* Seccomp profiles in Docker's format -> nd_sc_profile, the checks on bad
 * input, rule conditions and the built-in default profile. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "diag.h"
#include "seccomp-profile.h"

static nd_sc_profile *parse_ok(const char *text) {
        nd_sc_profile *p = NULL;
        nd_diag d = {0};
        if (nd_sc_profile_parse(text, strlen(text), &p, &d) < 0)
                fail_msg("'%s': %s", text, d.msg);
        return p;
}

static void parse_err(const char *text, const char *want) {
        nd_sc_profile *p = NULL;
        nd_diag d = {0};
        assert_true(nd_sc_profile_parse(text, strlen(text), &p, &d) < 0);
        assert_null(p);
        if (!strstr(d.msg, want))
                fail_msg("'%s': got '%s', want '%s'", text, d.msg, want);
}

static void test_parse(void **state) {
        nd_sc_profile *p = parse_ok(
                "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
                " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
                " \"comment\": \"ignored\","
                " \"syscalls\": ["
                "  {\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},"
                "  {\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13},"
                "  {\"name\": \"clone\", \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 2114060288,"
                "   \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"}], \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
                "  {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"],"
                "   \"arches\": [\"amd64\"], \"minKernel\": \"4.8\"}}]}");
        assert_int_equal(p->default_action, ND_SC_ERRNO);
        assert_int_equal(p->default_errno, 38);
        assert_int_equal(p->n_arches, 2);
        assert_string_equal(p->arches[0], "x86_64");
        assert_string_equal(p->arches[1], "x86");
        assert_int_equal(p->n_rules, 4);
        assert_int_equal(p->rules[0].n_names, 2);
        assert_string_equal(p->rules[0].names[1], "write");
        assert_int_equal(p->rules[1].errno_ret, 13);
        assert_int_equal(p->rules[0].errno_ret, EPERM);
        assert_string_equal(p->rules[2].names[0], "clone");
        assert_int_equal(p->rules[2].n_args, 1);
        assert_int_equal(p->rules[2].args[0].op, ND_SC_MASKED_EQ);
        assert_int_equal(p->rules[2].args[0].value, 2114060288);
        assert_int_equal(p->rules[2].excludes_caps, UINT64_C(1) << 21);
        assert_int_equal(p->rules[3].min_kernel, 4 << 16 | 8);
        /* conditions */
        assert_false(nd_sc_rule_applies(&p->rules[2], UINT64_C(1) << 21, "amd64", 6 << 16));
        assert_true(nd_sc_rule_applies(&p->rules[2], 0, "amd64", 6 << 16));
        assert_true(nd_sc_rule_applies(&p->rules[3], UINT64_C(1) << 21, "amd64", 6 << 16));
        assert_false(nd_sc_rule_applies(&p->rules[3], 0, "amd64", 6 << 16));
        assert_false(nd_sc_rule_applies(&p->rules[3], UINT64_C(1) << 21, "arm64", 6 << 16));
        assert_false(nd_sc_rule_applies(&p->rules[3], UINT64_C(1) << 21, "amd64", 4 << 16 | 4));
        nd_sc_profile_free(p);

        /* the minimal profile */
        p = parse_ok("{\"defaultAction\": \"SCMP_ACT_KILL\"}");
        assert_int_equal(p->default_action, ND_SC_KILL_THREAD);
        assert_int_equal(p->n_rules, 0);
        nd_sc_profile_free(p);
}

static void test_errors(void **state) {
        parse_err("{\"defaultAction\": ", "invalid JSON at line 1");
        parse_err("[]", "not a JSON object");
        parse_err("{}", "defaultAction: 'action' must be a string");
        parse_err("{\"defaultAction\": \"SCMP_ACT_FROB\"}", "unknown action 'SCMP_ACT_FROB'");
        parse_err("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "SCMP_ACT_NOTIFY is not supported");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 5000}", "'defaultErrnoRet' must be");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_VAX\"]}",
                  "unknown architecture 'SCMP_ARCH_VAX'");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}", "'syscalls' must be an array");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [1]}", "syscalls[0] must be an object");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"action\": \"SCMP_ACT_ALLOW\"}]}",
                  "syscalls[0] has no 'names'");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
                  "syscalls[0][0] must be a name");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"]}]}",
                  "syscalls[0]: 'action' must be a string");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\": "
                  "\"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                  "syscalls[0].args[0].index must be 0..5");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\": "
                  "\"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_XX\"}]}]}",
                  "unknown op 'SCMP_CMP_XX'");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\": "
                  "\"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": [\"CAP_NOPE\"]}}]}",
                  "unknown capability 'CAP_NOPE'");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\": "
                  "\"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"four\"}}]}", "minKernel must be like");
        parse_err("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultAction\": \"SCMP_ACT_ALLOW\"}", "invalid JSON");
}

static void test_default(void **state) {
        nd_sc_profile *p = NULL;
        bool mount_needs_admin = false, has_read = false;
        assert_int_equal(nd_sc_profile_default(&p), 0);
        assert_int_equal(p->default_action, ND_SC_ERRNO);
        assert_int_equal(p->default_errno, EPERM);
        for (size_t i = 0; i < p->n_rules; i++)
                for (size_t k = 0; k < p->rules[i].n_names; k++) {
                        const nd_sc_rule *r = &p->rules[i];
                        if (strcmp(r->names[k], "read") == 0 && r->action == ND_SC_ALLOW && !r->includes_caps)
                                has_read = true;
                        if (strcmp(r->names[k], "mount") == 0) {
                                assert_int_equal(r->includes_caps, UINT64_C(1) << 21);
                                mount_needs_admin = true;
                        }
                        /* never allowed unconditionally */
                        static const char *const denied[] = { "kexec_load", "init_module", "keyctl", "add_key",
                                                              "swapon", "reboot", "umount2", "unshare", "setns",
                                                              "settimeofday", "clock_settime", "bpf", "io_uring_setup" };
                        for (size_t n = 0; n < sizeof(denied) / sizeof(denied[0]); n++)
                                if (strcmp(r->names[k], denied[n]) == 0 && r->action == ND_SC_ALLOW)
                                        assert_true(r->includes_caps != 0);
                }
        assert_true(has_read);
        assert_true(mount_needs_admin);
        nd_sc_profile_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_default),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
