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
#include "ctl-table.h"

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

/* ---- netctl service ls (ctl-table.h) ---- */

#define NET_F "0a132da5d46067e3c1e3fec5c02578bc0e39a2c9d70cc26e49f0b5e537fe5623"
#define NET_B "bb132da5d46067e3c1e3fec5c02578bc0e39a2c9d70cc26e49f0b5e537fe5623"

static char *services_table(const char *text) {
        json_t *v = json_loads(text, 0, NULL);
        char *out = NULL;
        assert_non_null(v);
        assert_int_equal(nd_table_services(v, &out), 0);
        json_decref(v);
        return out;
}

static void test_services_table(void **state) {
        static const char services[] =
                "[{\"Id\": \"f00dfeed0123456789\", \"Name\": \"web\", \"EndpointMode\": \"vip\","
                "  \"Networks\": [{\"Network\": \"" NET_F "\", \"VIP\": \"10.1.0.5\"}, {\"Network\": \"" NET_B "\"}],"
                "  \"Ports\": [\"mode=ingress,8080:80/tcp\", \"mode=host,53:53/udp\"],"
                "  \"VirtualIPs\": [{\"Network\": \"front\", \"NetworkId\": \"" NET_F "\", \"Addr\": \"10.1.0.5\"},"
                "                  {\"Network\": \"back\", \"NetworkId\": \"" NET_B "\", \"Addr\": \"10.2.0.9\"}],"
                "  \"Tasks\": [{\"Health\": \"healthy\"}, {\"Health\": \"starting\"}, {\"Health\": \"unhealthy\"}]},"
                " {\"Id\": \"0123456789abcdef\", \"Name\": \"db\", \"EndpointMode\": \"dnsrr\","
                "  \"Networks\": [{\"Network\": \"" NET_B "\"}], \"Ports\": [], \"VirtualIPs\": [],"
                "  \"Tasks\": [{\"Health\": \"none\"}, {\"Health\": \"none\"}]},"
                " 7]";
        char *out = services_table(services);
        /* sorted by name; a dnsrr service's network by its short id (no
         * VirtualIPs entry to name it); tasks without a check are ready */
        assert_string_equal(out,
                "NAME  ID            MODE   NETWORKS      VIPS               PORTS                           TASKS\n"
                "db    0123456789ab  dnsrr  bb132da5d460  -                  -                               2/2\n"
                "web   f00dfeed0123  vip    front,back    10.1.0.5,10.2.0.9  *:8080->80/tcp,host:53->53/udp  1/3\n");
        free(out);
}

static void test_services_table_sparse(void **state) {
        char *out;

        /* no services: the header alone */
        out = services_table("[]");
        assert_string_equal(out, "NAME  ID  MODE  NETWORKS  VIPS  PORTS  TASKS\n");
        free(out);
        /* a bare record: VIPs from Networks, ports not in normal form as
         * they are, control characters neutralised, missing fields "-" */
        out = services_table("[{\"Name\": \"a\\nb\", \"Networks\": [{\"Network\": \"front\", \"VIP\": \"10.0.0.2\"}],"
                             " \"Ports\": [\"8080:80\", \"mode=host,1:2/udp/x\"]}]");
        assert_string_equal(out,
                "NAME  ID  MODE  NETWORKS  VIPS      PORTS                        TASKS\n"
                "a?b   -   -     front     10.0.0.2  8080:80,mode=host,1:2/udp/x  0/0\n");
        free(out);
        json_t *o = json_object();
        assert_int_equal(nd_table_services(o, &out), -EINVAL);
        assert_null(out);
        json_decref(o);
}

/* ---- netctl service ps ---- */

static void test_tasks_table(void **state) {
        static const char tasks[] =
                "[{\"Name\": \"web.1\", \"Container\": \"c1c1c1c1c1c1c1c1\", \"Host\": \"h1\","
                "  \"DesiredState\": \"running\", \"State\": \"running\", \"Health\": \"healthy\","
                "  \"Since\": 1000, \"Error\": \"\", \"RetryAt\": 0},"
                " {\"Name\": \"web.10\", \"Container\": \"\", \"Host\": \"h1\", \"DesiredState\": \"running\","
                "  \"State\": \"rejected\", \"Since\": 900, \"Error\": \"no rootfs\", \"RetryAt\": 1004},"
                " {\"Name\": \"web.2\", \"Container\": \"c2\", \"Host\": \"h1\", \"DesiredState\": \"shutdown\","
                "  \"State\": \"stopping\", \"Since\": -5, \"Error\": \"a\\tb\", \"RetryAt\": 990},"
                " \"x\"]";
        json_t *v = json_loads(tasks, 0, NULL);
        char *out = NULL;

        assert_non_null(v);
        /* the daemon's order (web.10 between web.1 and web.2 here), the
         * health of a running task, the wait of a retry still to come (not
         * one past), ages in the largest unit, none for a bad time */
        assert_int_equal(nd_table_service_tasks(v, 1000 + 7200, &out), 0);
        assert_string_equal(out,
                "NAME    CONTAINER     HOST  DESIRED   STATE              SINCE   ERROR\n"
                "web.1   c1c1c1c1c1c1  h1    running   running (healthy)  2h ago  -\n"
                "web.10  -             h1    running   rejected           2h ago  no rootfs\n"
                "web.2   c2            h1    shutdown  stopping           -       a?b\n");
        free(out);
        assert_int_equal(nd_table_service_tasks(v, 1000, &out), 0);
        assert_non_null(strstr(out, "rejected (retry in 4s)  100s ago"));
        assert_non_null(strstr(out, "running (healthy)       0s ago"));
        free(out);
        json_decref(v);
        v = json_object();
        assert_int_equal(nd_table_service_tasks(v, 0, &out), -EINVAL);
        json_decref(v);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields), cmocka_unit_test(test_json), cmocka_unit_test(test_range),
                cmocka_unit_test(test_refused), cmocka_unit_test(test_limits),
                cmocka_unit_test(test_services_table), cmocka_unit_test(test_services_table_sparse),
                cmocka_unit_test(test_tasks_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
