/* SPDX-License-Identifier: Apache-2.0 */
/* netctl's --format templates (netd/ctl/ctl-format.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl-format.h"

static const char net[] =
        "{\"Name\": \"front\", \"Id\": \"8fe093dffe9d\", \"Driver\": \"bridge\", \"Internal\": false,"
        " \"MTU\": 1500, \"Labels\": null,"
        " \"IPAM\": {\"Driver\": \"default\", \"Config\": [{\"Subnet\": \"10.71.0.0/24\"}]},"
        " \"Containers\": {\"bb\": {\"Name\": \"web\", \"IPv4Address\": \"10.71.0.3/24\"},"
        "                  \"aa\": {\"Name\": \"db\", \"IPv4Address\": \"10.71.0.2/24\"}}}";

/* Render @tmpl over net[]: the output, or NULL with the error in @err. */
static char *render(const char *tmpl, char *err, size_t errsz) {
        json_t *v = json_loads(net, 0, NULL);
        nd_fmt *t = NULL;
        char *out = NULL;
        assert_non_null(v);
        if (nd_fmt_parse(tmpl, &t, err, errsz) == 0) {
                int r = nd_fmt_render(t, v, &out, err, errsz);
                assert_true((r == 0) == (out != NULL));
        }
        nd_fmt_free(t);
        json_decref(v);
        return out;
}

static void check(const char *tmpl, const char *want) {
        char err[256] = "";
        char *out = render(tmpl, err, sizeof(err));
        if (!out)
                fail_msg("'%s': %s", tmpl, err);
        assert_string_equal(out, want);
        free(out);
}

static void check_err(const char *tmpl, const char *want, int want_r) {
        char err[256] = "";
        nd_fmt *t = NULL;
        json_t *v = json_loads(net, 0, NULL);
        char *out = NULL;
        int r = nd_fmt_parse(tmpl, &t, err, sizeof(err));
        if (r == 0) {
                r = nd_fmt_render(t, v, &out, err, sizeof(err));
                assert_null(out);
        } else
                assert_null(t);
        assert_int_equal(r, want_r);
        if (!strstr(err, want))
                fail_msg("'%s': got '%s', want '%s'", tmpl, err, want);
        nd_fmt_free(t);
        json_decref(v);
}

static void test_fields(void **state) {
        check("{{.Name}}", "front");
        check("{{ .Id }}", "8fe093dffe9d");
        check("name={{.Name}} driver={{.Driver}}\n", "name=front driver=bridge\n");
        check("{{.Internal}} {{.MTU}} {{.Labels}}", "false 1500 <no value>");
        check("{{.IPAM.Driver}}", "default");
        check("plain text, no actions", "plain text, no actions");
        check("", "");
        check("a } b { c }}", "a } b { c }}");
}

static void test_json(void **state) {
        check("{{json .IPAM}}", "{\"Driver\":\"default\",\"Config\":[{\"Subnet\":\"10.71.0.0/24\"}]}");
        check("{{json .Name}}", "\"front\"");
        check("{{json .MTU}}", "1500");
        char err[256];
        char *out = render("{{json .}}", err, sizeof(err));
        assert_non_null(out);
        json_t *back = json_loads(out, 0, NULL), *orig = json_loads(net, 0, NULL);
        assert_true(json_equal(back, orig));
        json_decref(back);
        json_decref(orig);
        free(out);
}

static void test_range(void **state) {
        /* an object's values in key order, as Go ranges over a map */
        check("{{range .Containers}}{{.Name}} {{end}}", "db web ");
        check("[{{range .Containers}}{{.Name}}={{.IPv4Address}};{{end}}]", "[db=10.71.0.2/24;web=10.71.0.3/24;]");
        check("{{range .IPAM.Config}}{{.Subnet}}{{end}}", "10.71.0.0/24");
        check("{{range .Labels}}x{{end}}", "");
        check("{{range .IPAM.Config}}{{range .}}{{.}}{{end}}{{end}}", "10.71.0.0/24");
}

static void test_refused(void **state) {
        check_err("{{if .Internal}}x{{end}}", "unsupported template action '{{if .Internal}}'", -EINVAL);
        check_err("a {{.Name | upper}}", "unsupported template action '{{.Name | upper}}'", -EINVAL);
        check_err("{{printf \"%s\" .Name}}", "unsupported template action", -EINVAL);
        check_err("{{- .Name}}", "unsupported template action '{{- .Name}}'", -EINVAL);
        check_err("{{.Name", "unclosed action", -EINVAL);
        check_err("{{range .Containers}}x", "without {{end}}", -EINVAL);
        check_err("x{{end}}", "without {{range}}", -EINVAL);
        check_err("{{..Name}}", "unsupported template action", -EINVAL);
        check_err("{{.Name.}}", "unsupported template action", -EINVAL);
        check_err("{{json}}", "unsupported template action", -EINVAL);
        check_err("{{}}", "unsupported template action '{{}}'", -EINVAL);
        /* errors while rendering: nothing is returned */
        check_err("ok {{.Nope}}", "no field 'Nope'", -EINVAL);
        check_err("{{.Name.X}}", "not an object", -EINVAL);
        check_err("{{.IPAM}}", "print it with {{json}}", -EINVAL);
        check_err("{{range .Name}}x{{end}}", "cannot range over '.Name'", -EINVAL);
        check_err("{{range .Containers}}{{.Nope}}{{end}}", "no field 'Nope'", -EINVAL);
}

static void test_limits(void **state) {
        char deep[512] = "", big[ND_FMT_MAX_TEMPLATE + 2];
        for (int i = 0; i <= ND_FMT_MAX_DEPTH; i++)
                strcat(deep, "{{range .}}");
        check_err(deep, "nested too deep", -E2BIG);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        check_err(big, "longer than", -E2BIG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields), cmocka_unit_test(test_json), cmocka_unit_test(test_range),
                cmocka_unit_test(test_refused), cmocka_unit_test(test_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
