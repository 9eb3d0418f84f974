/* SPDX-License-Identifier: Apache-2.0 */
/* netctl topology's DOT (netd/ctl/ctl-dot.h): the escaping of strings,
 * the layout of a small two-host document, and documents that are
 * hostile or broken. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl-dot.h"
#include "dot-check.h"

static char *escape(const char *s, size_t max) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        nd_dot_escape(f, s, max);
        fclose(f);
        return buf;
}

static void check_escape(const char *in, size_t max, const char *want) {
        char *got = escape(in, max);
        assert_string_equal(got, want);
        free(got);
}

static void test_escape(void **state) {
        (void) state;
        check_escape("web-1", 128, "web-1");
        check_escape("a\"b", 128, "a\\\"b");
        check_escape("back\\slash", 128, "back\\\\slash");
        /* a trailing backslash must not escape the closing quote */
        check_escape("end\\", 128, "end\\\\");
        check_escape("two\nlines", 128, "two\\nlines");
        /* Graphviz's own escapes (\N: the node's name, \G ...) stay text */
        check_escape("\\N\\G\\l", 128, "\\\\N\\\\G\\\\l");
        check_escape("a&lt;b", 128, "a&amp;lt;b");
        check_escape("tab\there\r\x1b[0m\x7f", 128, "tab?here??[0m?");
        check_escape("<b>html</b>", 128, "<b>html</b>");
        check_escape("", 128, "");
        check_escape(NULL, 128, "");
        check_escape("abcdef", 3, "abc...");
        check_escape("abc", 3, "abc");
        /* cut at a character boundary: "é" is 2 bytes, "€" 3 */
        check_escape("a\xc3\xa9z", 2, "a...");
        check_escape("\xe2\x82\xac\xe2\x82\xac", 4, "\xe2\x82\xac...");
        check_escape("\xe2\x82\xac", 2, "...");
}

static char *render(const char *doc) {
        json_error_t e;
        json_t *j = json_loads(doc, 0, &e);
        char err[256] = "", *out = NULL;
        if (!j)
                fail_msg("bad test document: %s", e.text);
        int r = nd_dot_render(j, &out, err, sizeof(err));
        json_decref(j);
        if (r < 0)
                fail_msg("render: %s", err);
        assert_true(dot_well_formed(out));
        return out;
}

static const char two_hosts[] =
        "{\"Self\": \"aa\", \"Cluster\": true,"
        " \"Hosts\": [{\"Id\": \"aa\", \"Name\": \"host-a\", \"Addr\": \"10.0.0.1\", \"State\": \"live\", \"Self\": true},"
        "            {\"Id\": \"bb\", \"Name\": \"host-b\", \"Addr\": \"10.0.0.2\", \"State\": \"down\", \"Self\": false}],"
        " \"Networks\": [{\"Id\": \"n-ov\", \"Name\": \"demo\", \"Driver\": \"overlay\", \"Scope\": \"global\", \"Host\": \"\","
        "                \"Internal\": false, \"Subnets\": [\"10.1.0.0/24\"]},"
        "               {\"Id\": \"n-br\", \"Name\": \"front\", \"Driver\": \"bridge\", \"Scope\": \"local\", \"Host\": \"aa\","
        "                \"Internal\": true, \"Subnets\": [\"10.2.0.0/24\", \"fd00::/64\"]}],"
        " \"Endpoints\": [{\"Id\": \"c1\", \"Name\": \"web\", \"Kind\": \"container\", \"Host\": \"aa\", \"State\": \"running\","
        "                 \"Service\": \"websvc\", \"Networks\": [{\"Network\": \"n-ov\", \"IPv4\": \"10.1.0.2\", \"IPv6\": \"\"},"
        "                                                 {\"Network\": \"n-br\", \"IPv4\": \"10.2.0.2\", \"IPv6\": \"fd00::2\"}],"
        "                 \"Ports\": [{\"Proto\": \"tcp\", \"HostIp\": \"\", \"HostPort\": 8080, \"ContainerPort\": 80}]},"
        "                {\"Id\": \"c2\", \"Name\": \"\", \"Kind\": \"remote\", \"Host\": \"bb\", \"State\": \"running\","
        "                 \"Networks\": [{\"Network\": \"n-ov\", \"IPv4\": \"10.1.0.3\"}], \"Ports\": []},"
        "                {\"Id\": \"c3\", \"Name\": \"old\", \"Kind\": \"container\", \"Host\": \"aa\", \"State\": \"exited\","
        "                 \"Networks\": [{\"Network\": \"n-br\", \"IPv4\": \"10.2.0.9\"}]}],"
        " \"Services\": [{\"Id\": \"s1\", \"Name\": \"websvc\", \"Mode\": \"vip\", \"Scope\": \"global\", \"Host\": \"\","
        "                \"VirtualIPs\": [{\"Network\": \"n-ov\", \"Addr\": \"10.1.0.100\"}],"
        "                \"Ports\": [\"mode=ingress,8080:80/tcp\"],"
        "                \"Tasks\": [{\"Endpoint\": \"c1\", \"Host\": \"aa\"}, {\"Endpoint\": \"c2\", \"Host\": \"bb\"},"
        "                           {\"Endpoint\": \"c1\", \"Host\": \"bb\"}, {\"Endpoint\": \"gone\", \"Host\": \"aa\"}]}]}";

static void test_layout(void **state) {
        (void) state;
        char *out = render(two_hosts);
        static const char want[] =
                "digraph netd {\n"
                " graph [rankdir=LR, newrank=true, nodesep=0.15, ranksep=1.2, fontname=\"Helvetica\", fontsize=11];\n"
                " node [fontname=\"Helvetica\", fontsize=9, margin=\"0.08,0.03\"];\n"
                " edge [fontname=\"Helvetica\", fontsize=8, color=gray35];\n"
                " subgraph cluster_h0 {\n"
                "  graph [style=\"rounded\", color=\"gray30\", label=\"host-a (this host)\\n10.0.0.1, live\"];\n"
                "  n1 [shape=ellipse, style=filled, fillcolor=\"#fff2cc\", label=\"front\\nbridge 10.2.0.0/24, fd00::/64, internal\"];\n"
                "  e0 [shape=box, style=\"rounded\", label=\"web\\ncontainer\\ntask of websvc\\n8080->80/tcp\"];\n"
                "  e2 [shape=box, style=\"rounded,dashed\", label=\"old\\ncontainer, exited\", fontcolor=gray40, color=gray40];\n"
                " }\n"
                " subgraph cluster_h1 {\n"
                "  graph [style=\"rounded,dashed\", color=\"firebrick\", label=\"host-b\\n10.0.0.2, down\"];\n"
                "  e1 [shape=box, style=\"rounded\", label=\"c2\\nremote\"];\n"
                " }\n"
                "  n0 [shape=ellipse, style=filled, fillcolor=\"#cfe2f3\", label=\"demo\\noverlay 10.1.0.0/24\"];\n"
                "  s0 [shape=hexagon, style=filled, fillcolor=\"#d9ead3\", label=\"websvc\\nservice vip\\nmode=ingress,8080:80/tcp\"];\n"
                " e0 -> n0 [label=\"10.1.0.2\"];\n"
                " e0 -> n1 [label=\"10.2.0.2\\nfd00::2\"];\n"
                " e1 -> n0 [label=\"10.1.0.3\"];\n"
                " e2 -> n1 [label=\"10.2.0.9\"];\n"
                " s0 -> n0 [style=bold, color=\"#38761d\", label=\"VIP 10.1.0.100\"];\n"
                " s0 -> e0 [style=dashed, color=\"#38761d99\", penwidth=0.7, arrowhead=open];\n"
                " s0 -> e1 [style=dashed, color=\"#38761d99\", penwidth=0.7, arrowhead=open];\n"
                "}\n";
        assert_string_equal(out, want);
        free(out);
}

/* Names from users and from other hosts' records go into labels only,
 * escaped; ids are the renderer's own. */
static void test_hostile_names(void **state) {
        (void) state;
        char *out = render(
                "{\"Hosts\": [{\"Id\": \"h\\\" -> x [\", \"Name\": \"}\\\"\\n\\\\\", \"State\": \"live\"}],"
                " \"Networks\": [{\"Id\": \"n\", \"Name\": \"a\\\"];b [\", \"Driver\": \"bridge\\\\\", \"Host\": \"h\\\" -> x [\","
                "                \"Subnets\": [\"\\\"\", 7]}],"
                " \"Endpoints\": [{\"Id\": \"e\", \"Name\": \"x\\u0001y\\\\\", \"Kind\": \"<container>\", \"Host\": \"h\\\" -> x [\","
                "                 \"Service\": \"s\\\"\", \"Networks\": [{\"Network\": \"n\", \"IPv4\": \"\\\"; rm -rf /\"}],"
                "                 \"Ports\": [{\"Proto\": \"t\\\"cp\", \"HostIp\": \"\\\\\", \"HostPort\": \"x\"}, 5]}],"
                " \"Services\": [{\"Name\": \"\\\\N\", \"Ports\": [\"\\\"\"], \"VirtualIPs\": [{\"Network\": \"n\", \"Addr\": \"\\\\\"}]}]}");
        assert_null(strstr(out, "-> x"));
        assert_non_null(strstr(out, "label=\"}\\\"\\n\\\\\\n"));
        free(out);
}

/* Wrong types draw as empty; missing lists are empty; references to
 * nowhere draw no edge. */
static void test_broken(void **state) {
        (void) state;
        char *out = render("{}");
        assert_non_null(strstr(out, "}\n"));
        assert_null(strstr(out, "->"));
        free(out);
        out = render("{\"Hosts\": [1, null, {\"Id\": 5}], \"Networks\": [[]], \"Endpoints\": [\"x\", "
                     "{\"Networks\": {\"a\": 1}, \"Ports\": 3}, {\"Host\": \"nowhere\", \"Networks\": [{\"Network\": \"none\"}]}],"
                     " \"Services\": [{\"Tasks\": [1, {\"Endpoint\": \"x\"}], \"VirtualIPs\": \"v\"}]}");
        assert_null(strstr(out, "->"));
        assert_non_null(strstr(out, "subgraph cluster_h2"));
        /* an empty host is still drawn: Graphviz skips empty clusters */
        assert_non_null(strstr(out, "  h2 [shape=point, style=invis];\n"));
        free(out);
}

static void check_refused(const char *doc, const char *want) {
        json_t *j = json_loads(doc, JSON_DECODE_ANY, NULL);
        char err[256] = "", *out = (char *) 1;
        assert_non_null(j);
        assert_int_equal(nd_dot_render(j, &out, err, sizeof(err)), -EINVAL);
        assert_null(out);
        if (!strstr(err, want))
                fail_msg("'%s': got '%s', want '%s'", doc, err, want);
        json_decref(j);
}

static void test_refused(void **state) {
        (void) state;
        check_refused("[]", "not a JSON object");
        check_refused("\"x\"", "not a JSON object");
        check_refused("{\"Hosts\": {}}", "'Hosts' is not an array");
        check_refused("{\"Endpoints\": 1}", "'Endpoints' is not an array");
        check_refused("{\"Services\": \"s\"}", "'Services' is not an array");
}

/* 50 hosts, 20 endpoints each on one overlay: one cluster per host, an
 * edge per endpoint, a dashed edge per task. */
static void test_fifty_hosts(void **state) {
        (void) state;
        json_t *doc = json_pack("{s:[], s:[{s:s, s:s, s:s, s:s}], s:[], s:[{s:s, s:s, s:[]}]}", "Hosts", "Networks",
                                "Id", "ov", "Name", "ov", "Driver", "overlay", "Host", "", "Endpoints", "Services",
                                "Name", "svc", "Mode", "vip", "Tasks");
        json_t *tasks = json_object_get(json_array_get(json_object_get(doc, "Services"), 0), "Tasks");
        char id[32], *out = NULL, err[256];
        for (int h = 0; h < 50; h++) {
                snprintf(id, sizeof(id), "host%02d", h);
                json_array_append_new(json_object_get(doc, "Hosts"), json_pack("{s:s, s:s, s:s}", "Id", id, "Name", id,
                                                                               "State", "live"));
                for (int e = 0; e < 20; e++) {
                        char eid[32];
                        snprintf(eid, sizeof(eid), "ct%d", e);
                        json_array_append_new(json_object_get(doc, "Endpoints"),
                                              json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "Id", eid, "Host", id, "Kind",
                                                        "container", "Networks", "Network", "ov", "IPv4", "10.0.0.1"));
                        if (e == 0)
                                json_array_append_new(tasks, json_pack("{s:s, s:s}", "Endpoint", eid, "Host", id));
                }
        }
        assert_int_equal(nd_dot_render(doc, &out, err, sizeof(err)), 0);
        assert_true(dot_well_formed(out));
        size_t clusters = 0, edges = 0, dashed = 0;
        for (const char *p = out; (p = strstr(p, "subgraph cluster_")); p++)
                clusters++;
        for (const char *p = out; (p = strstr(p, " -> n0 ")); p++)
                edges++;
        for (const char *p = out; (p = strstr(p, "style=dashed")); p++)
                dashed++;
        assert_int_equal(clusters, 50);
        assert_int_equal(edges, 1000);
        assert_int_equal(dashed, 50);
        free(out);
        json_decref(doc);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),       cmocka_unit_test(test_layout),
                cmocka_unit_test(test_hostile_names), cmocka_unit_test(test_broken),
                cmocka_unit_test(test_refused),      cmocka_unit_test(test_fifty_hosts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
