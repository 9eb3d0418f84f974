/* SPDX-License-Identifier: Apache-2.0 */
/* Services (netd/model/service.h): requests, the port grammar, names, and
 * the stored record with its checks (the API returns the messages
 * verbatim). */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "diag.h"
#include "json-util.h"
#include "service.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_S "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *text, nd_service **s, nd_diag *d) {
        json_t *j = NULL;
        int r = nd_json_parse_object(text, strlen(text), &j, d);
        assert_int_equal(r, 0);
        r = nd_service_spec_parse(j, s, d);
        json_decref(j); /* the service holds copies */
        return r;
}

static int record(const char *text, nd_service **s, nd_diag *d) {
        json_t *j = NULL;
        int r = nd_json_parse_object(text, strlen(text), &j, d);
        assert_int_equal(r, 0);
        r = nd_service_from_json(j, s, d);
        json_decref(j);
        return r;
}

static void test_minimal(void **state) {
        nd_service *s = NULL;
        nd_diag d = {0};

        assert_int_equal(parse("{\"Name\": \"web\", \"Networks\": [\"front\"]}", &s, &d), 0);
        assert_string_equal(s->name, "web");
        assert_string_equal(s->id, "");
        assert_int_equal(s->mode, ND_SVC_VIP);
        assert_int_equal(s->n_nets, 1);
        assert_string_equal(s->nets[0].net, "front");
        assert_int_equal(s->nets[0].vip4.family, 0);
        assert_int_equal(s->n_ports, 0);
        assert_null(s->health.cmd);
        assert_non_null(s->labels);
        assert_int_equal(json_object_size(s->labels), 0);
        assert_int_equal(s->created, 0);
        assert_string_equal(s->node, "");
        nd_service_free(s);
}

static void test_full(void **state) {
        nd_service *s = NULL;
        nd_diag d = {0};
        const char *req =
                "{\"Name\": \"web\", \"Networks\": [\"front\", \"back\"], \"EndpointMode\": \"vip\","
                " \"Ports\": [\"8080:80\", \"mode=host,53:53/udp\", \"mode=ingress,53:5353/tcp\"],"
                " \"HealthCheck\": {\"Test\": \"wget -qO- localhost\\t# tab ok\", \"Interval\": 5, \"Timeout\": 2.5,"
                "   \"Retries\": 7},"
                " \"Labels\": {\"k\": \"v\"}}";

        assert_int_equal(parse(req, &s, &d), 0);
        assert_int_equal(s->n_nets, 2);
        assert_string_equal(s->nets[1].net, "back");
        assert_int_equal(s->n_ports, 3);
        assert_int_equal(s->ports[0].mode, ND_SVC_PUB_INGRESS);
        assert_int_equal(s->ports[0].proto, IPPROTO_TCP);
        assert_int_equal(s->ports[0].published, 8080);
        assert_int_equal(s->ports[0].target, 80);
        assert_int_equal(s->ports[1].mode, ND_SVC_PUB_HOST);
        assert_int_equal(s->ports[1].proto, IPPROTO_UDP);
        /* 53/udp and 53/tcp are two listeners */
        assert_int_equal(s->ports[2].published, 53);
        assert_int_equal(s->ports[2].proto, IPPROTO_TCP);
        assert_string_equal(s->health.cmd, "wget -qO- localhost\t# tab ok");
        assert_true(s->health.interval == 5);
        assert_true(s->health.timeout == 2.5);
        assert_int_equal(s->health.retries, 7);
        assert_string_equal(json_string_value(json_object_get(s->labels, "k")), "v");
        nd_service_free(s);
}

static void test_health_defaults(void **state) {
        nd_service *s = NULL;
        nd_diag d = {0};

        assert_int_equal(parse("{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"true\"}}", &s,
                               &d), 0);
        assert_string_equal(s->health.cmd, "true");
        assert_true(s->health.interval == 30);
        assert_true(s->health.timeout == 30);
        assert_int_equal(s->health.retries, 3);
        nd_service_free(s);
        /* null: no check, as absent */
        assert_int_equal(parse("{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": null}", &s, &d), 0);
        assert_null(s->health.cmd);
        nd_service_free(s);
        /* the bounds themselves are allowed */
        assert_int_equal(parse("{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"t\","
                               " \"Interval\": 3600, \"Timeout\": 0.001, \"Retries\": 100}}", &s, &d), 0);
        assert_int_equal(s->health.retries, 100);
        nd_service_free(s);
}

static void test_dnsrr(void **state) {
        nd_service *s = NULL;
        nd_diag d = {0};

        assert_int_equal(parse("{\"Name\": \"db\", \"Networks\": [\"back\"], \"EndpointMode\": \"dnsrr\","
                               " \"Ports\": [\"mode=host,5432:5432\"]}", &s, &d), 0);
        assert_int_equal(s->mode, ND_SVC_DNSRR);
        assert_int_equal(s->ports[0].mode, ND_SVC_PUB_HOST);
        nd_service_free(s);
}

static void test_names(void **state) {
        char long_ok[64], too_long[65];

        memset(long_ok, 'a', 63);
        long_ok[63] = 0;
        memset(too_long, 'a', 64);
        too_long[64] = 0;
        assert_true(nd_service_name_valid("web"));
        assert_true(nd_service_name_valid("a"));
        assert_true(nd_service_name_valid("9"));
        assert_true(nd_service_name_valid("Web-1"));
        assert_true(nd_service_name_valid("a--b"));
        assert_true(nd_service_name_valid(long_ok));
        assert_true(nd_service_name_valid("tasks1"));
        assert_false(nd_service_name_valid(too_long));
        assert_false(nd_service_name_valid(""));
        assert_false(nd_service_name_valid(NULL));
        assert_false(nd_service_name_valid("-a"));
        assert_false(nd_service_name_valid("a-"));
        assert_false(nd_service_name_valid("a_b"));
        assert_false(nd_service_name_valid("a.b"));
        assert_false(nd_service_name_valid("a b"));
        assert_false(nd_service_name_valid("tasks"));
        assert_false(nd_service_name_valid("TASKS"));
}

static void test_ports(void **state) {
        static const struct { const char *in, *out; } good[] = {
                { "8080:80", "mode=ingress,8080:80/tcp" },
                { "8080:80/tcp", "mode=ingress,8080:80/tcp" },
                { "53:53/udp", "mode=ingress,53:53/udp" },
                { "mode=host,53:53/udp", "mode=host,53:53/udp" },
                { "mode=ingress,1:65535", "mode=ingress,1:65535/tcp" },
                { "065535:00001", "mode=ingress,65535:1/tcp" },
        };
        static const struct { const char *in, *msg; } bad[] = {
                { "", "invalid port '': want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]" },
                { "80", "invalid port '80': want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]" },
                { ":80", "invalid port ':80': want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]" },
                { "80:", "invalid port '80:': want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]" },
                { "8080:80x", "invalid port '8080:80x': want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]" },
                { "1.2.3.4:80:80", "invalid port '1.2.3.4:80:80': want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]" },
                { "8080-8081:80", "invalid port '8080-8081:80': want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]" },
                { " 80:80", "invalid port ' 80:80': want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]" },
                { "mode=host", "invalid port 'mode=host': want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]" },
                { "mode=global,80:80", "invalid port 'mode=global,80:80': mode must be ingress or host" },
                { "mode=,80:80", "invalid port 'mode=,80:80': mode must be ingress or host" },
                { "0:80", "invalid port '0:80': published port must be 1-65535" },
                { "65536:80", "invalid port '65536:80': published port must be 1-65535" },
                { "99999999999999999999:80", "invalid port '99999999999999999999:80': published port must be 1-65535" },
                { "80:0", "invalid port '80:0': target port must be 1-65535" },
                { "80:70000/udp", "invalid port '80:70000/udp': target port must be 1-65535" },
                { "80:80/sctp", "invalid port '80:80/sctp': protocol must be tcp or udp" },
                { "80:80/", "invalid port '80:80/': protocol must be tcp or udp" },
                { "80:80/TCP", "invalid port '80:80/TCP': protocol must be tcp or udp" },
        };
        char buf[ND_SVC_PORT_STRLEN];
        nd_svc_port p, q;
        nd_diag d = {0};

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                if (nd_svc_port_parse(good[i].in, &p, &d) < 0)
                        fail_msg("'%s' refused: %s", good[i].in, d.msg);
                assert_string_equal(nd_svc_port_fmt(&p, buf), good[i].out);
                /* the normal form parses back to the same port */
                assert_int_equal(nd_svc_port_parse(buf, &q, &d), 0);
                assert_memory_equal(&p, &q, sizeof(p));
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                d.msg[0] = 0;
                int r = nd_svc_port_parse(bad[i].in, &p, &d);
                if (r != -EINVAL || strcmp(d.msg, bad[i].msg) != 0)
                        fail_msg("'%s' -> %d '%s', want '%s'", bad[i].in, r, d.msg, bad[i].msg);
        }
        assert_int_equal(nd_svc_port_parse(NULL, &p, &d), -EINVAL);
}

/* @n distinct networks ('n'), ports ('p') or labels ('l'), comma-separated */
static char *many(char kind, unsigned n) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        assert_non_null(f);
        for (unsigned i = 1; i <= n; i++) {
                fputs(i > 1 ? ", " : "", f);
                if (kind == 'n')
                        fprintf(f, "\"n%u\"", i);
                else if (kind == 'p')
                        fprintf(f, "\"%u:80\"", i);
                else
                        fprintf(f, "\"k%u\": \"v%u\"", i, i);
        }
        fclose(f);
        return out;
}

static void expect_bad(const char *json, const char *msg) {
        nd_service *s = NULL;
        nd_diag d = {0};
        int r = parse(json, &s, &d);
        if (r != -EINVAL || strcmp(d.msg, msg) != 0)
                fail_msg("%s -> %d '%s', want '%s'", json, r, d.msg, msg);
        assert_null(s);
}

static void test_bad_requests(void **state) {
        static const struct { const char *json, *msg; } cases[] = {
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Image\": \"x\"}", "service: unknown field 'Image'" },
                { "{\"Networks\": [\"n\"]}", "service: 'Name' is required" },
                { "{\"Name\": null, \"Networks\": [\"n\"]}", "service: 'Name' is required" },
                { "{\"Name\": 7, \"Networks\": [\"n\"]}", "service: field 'Name' must be a string" },
                { "{\"Name\": \"a_b\", \"Networks\": [\"n\"]}",
                  "service name 'a_b' is not a valid DNS label (1-63 letters, digits and '-', not first or last)" },
                { "{\"Name\": \"\", \"Networks\": [\"n\"]}",
                  "service name '' is not a valid DNS label (1-63 letters, digits and '-', not first or last)" },
                { "{\"Name\": \"Tasks\", \"Networks\": [\"n\"]}",
                  "service name 'Tasks' is reserved: tasks.NAME names a service's tasks" },
                { "{\"Name\": \"w\"}", "service: 'Networks' must be an array of 1 to 16 networks" },
                { "{\"Name\": \"w\", \"Networks\": []}", "service: 'Networks' must be an array of 1 to 16 networks" },
                { "{\"Name\": \"w\", \"Networks\": \"n\"}", "service: 'Networks' must be an array of 1 to 16 networks" },
                { "{\"Name\": \"w\", \"Networks\": [\"\"]}", "service: Networks[0] '' is not a network name or id" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\", 3]}",
                  "service: Networks[1] (not a string) is not a network name or id" },
                { "{\"Name\": \"w\", \"Networks\": [null]}", "service: Networks[0] (null) is not a network name or id" },
                { "{\"Name\": \"w\", \"Networks\": [\"a/b\"]}", "service: Networks[0] 'a/b' is not a network name or id" },
                { "{\"Name\": \"w\", \"Networks\": [\"front\", \"back\", \"front\"]}",
                  "service: network 'front' is given twice" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"EndpointMode\": \"rr\"}",
                  "service: 'EndpointMode' must be vip or dnsrr, not 'rr'" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"EndpointMode\": 1}",
                  "service: field 'EndpointMode' must be a string" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Ports\": \"80:80\"}",
                  "service: 'Ports' must be an array of at most 64 strings like \"8080:80/tcp\"" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Ports\": [80]}",
                  "service: Ports[0] must be a string like \"8080:80/tcp\"" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Ports\": [\"80:80/sctp\"]}",
                  "invalid port '80:80/sctp': protocol must be tcp or udp" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Ports\": [\"8080:80\", \"mode=host,8080:81/tcp\"]}",
                  "service: port 8080/tcp is published twice" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"EndpointMode\": \"dnsrr\", \"Ports\": [\"8080:80\"]}",
                  "port published with ingress mode can't be used with dnsrr mode (port '8080:80'; use mode=host)" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": \"true\"}",
                  "HealthCheck must be an object with 'Test', 'Interval', 'Timeout' and 'Retries'" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"t\", \"StartPeriod\": 1}}",
                  "HealthCheck: unknown field 'StartPeriod'" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {}}",
                  "HealthCheck: 'Test' must be a non-empty command of at most 4096 bytes" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"\"}}",
                  "HealthCheck: 'Test' must be a non-empty command of at most 4096 bytes" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": [\"CMD\", \"true\"]}}",
                  "HealthCheck: 'Test' must be a non-empty command of at most 4096 bytes" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"a\\nb\"}}",
                  "HealthCheck: 'Test' holds a control character (byte 1)" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"\\u007f\"}}",
                  "HealthCheck: 'Test' holds a control character (byte 0)" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"t\", \"Interval\": 0}}",
                  "HealthCheck: 'Interval' must be a number of seconds, more than 0 and at most 3600" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"t\", \"Interval\": -1}}",
                  "HealthCheck: 'Interval' must be a number of seconds, more than 0 and at most 3600" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"t\", \"Interval\": \"5s\"}}",
                  "HealthCheck: 'Interval' must be a number of seconds, more than 0 and at most 3600" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"t\", \"Timeout\": 3600.5}}",
                  "HealthCheck: 'Timeout' must be a number of seconds, more than 0 and at most 3600" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"t\", \"Retries\": 0}}",
                  "HealthCheck: 'Retries' must be an integer from 1 to 100" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"t\", \"Retries\": 101}}",
                  "HealthCheck: 'Retries' must be an integer from 1 to 100" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"t\", \"Retries\": 2.0}}",
                  "HealthCheck: 'Retries' must be an integer from 1 to 100" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Labels\": {\"k\": 1}}",
                  "service: Labels['k'] must be a string" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Labels\": [\"k=v\"]}",
                  "service: field 'Labels' must be an object of strings" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                expect_bad(cases[i].json, cases[i].msg);
}

static void test_limits(void **state) {
        nd_service *s = NULL;
        nd_diag d = {0};
        char *nets, *ports, *labels, *json, *test;

        /* 16 networks and 64 ports and labels are fine, one more is not */
        nets = many('n', 16);
        ports = many('p', 64);
        labels = many('l', 64);
        assert_true(asprintf(&json, "{\"Name\": \"w\", \"Networks\": [%s], \"Ports\": [%s], \"Labels\": {%s}}", nets,
                             ports, labels) > 0);
        assert_int_equal(parse(json, &s, &d), 0);
        assert_int_equal(s->n_nets, 16);
        assert_int_equal(s->n_ports, 64);
        s = nd_service_free(s);
        free(json), free(nets), free(ports), free(labels);

        nets = many('n', 17);
        assert_true(asprintf(&json, "{\"Name\": \"w\", \"Networks\": [%s]}", nets) > 0);
        expect_bad(json, "service: 'Networks' must be an array of 1 to 16 networks");
        free(json), free(nets);
        ports = many('p', 65);
        assert_true(asprintf(&json, "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Ports\": [%s]}", ports) > 0);
        expect_bad(json, "service: 'Ports' must be an array of at most 64 strings like \"8080:80/tcp\"");
        free(json), free(ports);
        labels = many('l', 65);
        assert_true(asprintf(&json, "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Labels\": {%s}}", labels) > 0);
        expect_bad(json, "service: at most 64 labels");
        free(json), free(labels);

        /* the command: 4096 bytes, not 4097 */
        test = malloc(4098);
        assert_non_null(test);
        memset(test, 'x', 4097);
        test[4096] = 0;
        assert_true(asprintf(&json, "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"%s\"}}",
                             test) > 0);
        assert_int_equal(parse(json, &s, &d), 0);
        assert_int_equal(strlen(s->health.cmd), 4096);
        s = nd_service_free(s);
        free(json);
        test[4096] = 'x';
        test[4097] = 0;
        assert_true(asprintf(&json, "{\"Name\": \"w\", \"Networks\": [\"n\"], \"HealthCheck\": {\"Test\": \"%s\"}}",
                             test) > 0);
        expect_bad(json, "HealthCheck: 'Test' must be a non-empty command of at most 4096 bytes");
        free(json);
        free(test);
}

/* A NUL inside the command (JSON's \u0000, which the API's parser refuses
 * anyway) is a control character, not the end of the command. */
static void test_nul_command(void **state) {
        nd_service *s = NULL;
        nd_diag d = {0};
        json_t *j = json_pack("{s:s, s:[s], s:{s:o}}", "Name", "w", "Networks", "n", "HealthCheck", "Test",
                              json_stringn("a\0b", 3));

        assert_non_null(j);
        assert_int_equal(nd_service_spec_parse(j, &s, &d), -EINVAL);
        assert_string_equal(d.msg, "HealthCheck: 'Test' holds a control character (byte 1)");
        assert_null(s);
        json_decref(j);
}

static void test_not_object(void **state) {
        nd_service *s = NULL;
        nd_diag d = {0};
        json_t *a = json_array();

        assert_int_equal(nd_service_spec_parse(a, &s, &d), -EINVAL);
        assert_string_equal(d.msg, "service: not an object");
        assert_int_equal(nd_service_spec_parse(NULL, &s, &d), -EINVAL);
        assert_int_equal(nd_service_from_json(a, &s, &d), -EINVAL);
        assert_string_equal(d.msg, "service record: not an object");
        assert_null(s);
        json_decref(a);
}

/* A request made into a record as the core does (ids, VIPs, id, time,
 * node), written, read back and written again: the same. */
static void test_round_trip(void **state) {
        nd_service *s = NULL, *t = NULL;
        nd_diag d = {0};
        json_t *a, *b;
        char *text;

        assert_int_equal(parse("{\"Name\": \"web\", \"Networks\": [\"front\", \"back\"],"
                               " \"Ports\": [\"8080:80\", \"mode=host,53:53/udp\"],"
                               " \"HealthCheck\": {\"Test\": \"wget -qO- localhost\", \"Interval\": 5, \"Timeout\": 0.25},"
                               " \"Labels\": {\"k\": \"v\"}}", &s, &d), 0);
        strcpy(s->id, ID_S);
        free(s->nets[0].net);
        free(s->nets[1].net);
        s->nets[0].net = strdup(ID_A);
        s->nets[1].net = strdup(ID_B);
        assert_int_equal(nd_addr_parse("10.1.0.5", &s->nets[0].vip4), 0);
        s->created = 1763895600;
        free(s->node);
        s->node = strdup("0123456789abcdef0123456789abcdef");

        a = nd_service_to_json(s);
        assert_non_null(a);
        text = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
        assert_string_equal(text,
                "{\"Created\":1763895600,\"EndpointMode\":\"vip\","
                "\"HealthCheck\":{\"Interval\":5,\"Retries\":3,\"Test\":\"wget -qO- localhost\",\"Timeout\":0.25},"
                "\"Id\":\"" ID_S "\",\"Labels\":{\"k\":\"v\"},\"Name\":\"web\","
                "\"Networks\":[{\"Network\":\"" ID_A "\",\"VIP\":\"10.1.0.5\"},{\"Network\":\"" ID_B "\"}],"
                "\"Node\":\"0123456789abcdef0123456789abcdef\","
                "\"Ports\":[\"mode=ingress,8080:80/tcp\",\"mode=host,53:53/udp\"]}");
        free(text);

        assert_int_equal(nd_service_from_json(a, &t, &d), 0);
        assert_string_equal(t->id, ID_S);
        assert_string_equal(t->name, "web");
        assert_int_equal(t->n_nets, 2);
        assert_string_equal(t->nets[0].net, ID_A);
        assert_int_equal(t->nets[0].vip4.family, AF_INET);
        assert_int_equal(t->nets[1].vip4.family, 0);
        assert_int_equal(t->n_ports, 2);
        assert_memory_equal(t->ports, s->ports, 2 * sizeof(*t->ports));
        assert_string_equal(t->health.cmd, s->health.cmd);
        assert_true(t->health.timeout == 0.25);
        assert_int_equal(t->created, 1763895600);
        assert_string_equal(t->node, s->node);
        b = nd_service_to_json(t);
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
        nd_service_free(s);
        nd_service_free(t);

        /* without a health check: no "HealthCheck" key, and none back */
        assert_int_equal(record("{\"Id\": \"" ID_S "\", \"Name\": \"db\", \"EndpointMode\": \"dnsrr\","
                                " \"Networks\": [{\"Network\": \"" ID_A "\"}], \"Ports\": [], \"Labels\": {},"
                                " \"Created\": 0, \"Node\": \"\", \"VirtualIPs\": [], \"Tasks\": []}", &t, &d), 0);
        assert_null(t->health.cmd);
        assert_int_equal(t->mode, ND_SVC_DNSRR);
        a = nd_service_to_json(t);
        assert_null(json_object_get(a, "HealthCheck"));
        assert_null(json_object_get(a, "VirtualIPs")); /* the API's, not the record's */
        json_decref(a);
        nd_service_free(t);
}

static void test_bad_records(void **state) {
        static const struct { const char *json, *msg; } cases[] = {
                { "{\"Id\": \"xyz\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}], \"Created\": 0,"
                  " \"Node\": \"\"}", "service record 'w': bad 'Id'" },
                { "{\"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}], \"Created\": 0, \"Node\": \"\"}",
                  "service record 'w': bad 'Id'" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}],"
                  " \"Created\": -1, \"Node\": \"\"}", "service record 'w': bad 'Created'" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}],"
                  " \"Node\": \"\"}", "service record 'w': bad 'Created'" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}],"
                  " \"Created\": 0, \"Node\": \"NODE\"}", "service record 'w': bad 'Node'" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}],"
                  " \"Created\": 0}", "service record 'w': bad 'Node'" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w_1\", \"Networks\": [{\"Network\": \"" ID_A "\"}]}",
                  "service name 'w_1' is not a valid DNS label (1-63 letters, digits and '-', not first or last)" },
                /* a record holds ids, not names */
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"front\"}]}",
                  "service record: Networks[0] needs a 'Network' id" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [\"" ID_A "\"]}",
                  "service record: Networks[0] needs a 'Network' id" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\", \"VIP\": \"fd00::1\"}]}",
                  "service record: Networks[0] has a bad 'VIP'" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\", \"VIP\": \"10.1\"}]}",
                  "service record: Networks[0] has a bad 'VIP'" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\", \"VIP\": 5}]}",
                  "service record: Networks[0] has a bad 'VIP'" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"EndpointMode\": \"dnsrr\","
                  " \"Networks\": [{\"Network\": \"" ID_A "\", \"VIP\": \"10.1.0.5\"}]}",
                  "service record: Networks[0] has a VIP in dnsrr mode" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"},"
                  " {\"Network\": \"" ID_A "\"}]}", "service record: network '" ID_A "' is given twice" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"EndpointMode\": \"dnsrr\","
                  " \"Networks\": [{\"Network\": \"" ID_A "\"}], \"Ports\": [\"mode=ingress,80:80/tcp\"]}",
                  "port published with ingress mode can't be used with dnsrr mode (port 'mode=ingress,80:80/tcp'; "
                  "use mode=host)" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}],"
                  " \"HealthCheck\": {\"Test\": \"t\", \"Retries\": 1000}}",
                  "HealthCheck: 'Retries' must be an integer from 1 to 100" },
                { "{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}],"
                  " \"Labels\": {\"a\": []}}", "service record: Labels['a'] must be a string" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                nd_service *s = NULL;
                nd_diag d = {0};
                int r = record(cases[i].json, &s, &d);
                if (r != -EINVAL || strcmp(d.msg, cases[i].msg) != 0)
                        fail_msg("case %zu: %s -> %d '%s', want '%s'", i, cases[i].json, r, d.msg, cases[i].msg);
                assert_null(s);
        }
}


/* ---- tasks netd runs ---- */

/* A request with a template, made into a record as the core does. */
static nd_service *tasks_record(const char *req) {
        nd_service *s = NULL;
        nd_diag d = {0};
        if (parse(req, &s, &d) != 0)
                fail_msg("%s -> '%s'", req, d.msg);
        strcpy(s->id, ID_S);
        free(s->nets[0].net);
        s->nets[0].net = strdup(ID_A);
        assert_non_null(s->nets[0].net);
        return s;
}

static void test_tasks(void **state) {
        nd_service *s = NULL, *t = NULL;
        nd_diag d = {0};
        json_t *a, *b;

        /* defaults: one replica, restart any, parallelism 1, no delay */
        assert_int_equal(parse("{\"Name\": \"web\", \"Networks\": [\"front\"], \"Task\": {\"Args\": [\"httpd\"]}}", &s,
                               &d), 0);
        assert_non_null(s->task);
        assert_int_equal(json_array_size(s->task->args), 1);
        assert_int_equal(json_array_size(s->task->env), 0);
        assert_null(s->task->rootfs);
        assert_true(s->task->stop_grace == ND_SVC_STOP_GRACE_DEFAULT);
        assert_int_equal(s->sched, ND_SVC_REPLICATED);
        assert_int_equal(s->replicas, 1);
        assert_int_equal(s->restart, ND_SVC_RESTART_ANY);
        assert_int_equal(s->update_parallelism, 1);
        assert_true(s->update_delay == 0);
        assert_int_equal(s->version, 1);
        assert_null(s->prev_task);
        s = nd_service_free(s);

        /* without a template: network-only, and nothing new in the record */
        assert_int_equal(parse("{\"Name\": \"web\", \"Networks\": [\"front\"]}", &s, &d), 0);
        assert_null(s->task);
        assert_int_equal(s->replicas, 0);
        a = nd_service_to_json(s);
        assert_null(json_object_get(a, "Task"));
        assert_null(json_object_get(a, "Mode"));
        assert_null(json_object_get(a, "Version"));
        json_decref(a);
        s = nd_service_free(s);

        /* everything, through the record and back */
        s = tasks_record("{\"Name\": \"web\", \"Networks\": [\"front\"], \"Replicas\": 3,"
                         " \"Task\": {\"Args\": [\"httpd\", \"-f\"], \"Env\": [\"A=1\", \"B=\"], \"Rootfs\": \"/srv/r\","
                         "   \"Memory\": 8388608, \"PidsLimit\": 64, \"StopGracePeriod\": 1.5},"
                         " \"Mode\": \"replicated\", \"RestartCondition\": \"on-failure\","
                         " \"Update\": {\"Parallelism\": 2, \"Delay\": 3}}");
        assert_int_equal(s->replicas, 3);
        assert_string_equal(s->task->rootfs, "/srv/r");
        assert_int_equal(s->task->memory, 8388608);
        assert_int_equal(s->task->pids_limit, 64);
        assert_int_equal(s->restart, ND_SVC_RESTART_ON_FAILURE);
        assert_int_equal(s->update_parallelism, 2);
        a = nd_service_to_json(s);
        assert_string_equal(json_string_value(json_object_get(a, "Mode")), "replicated");
        assert_int_equal(json_integer_value(json_object_get(a, "Replicas")), 3);
        assert_int_equal(json_integer_value(json_object_get(a, "Version")), 1);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "Update"), "Delay")), 3);
        assert_int_equal(nd_service_from_json(a, &t, &d), 0);
        b = nd_service_to_json(t);
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
        nd_service_free(s);
        nd_service_free(t);

        /* global: no Replicas in the record */
        s = tasks_record("{\"Name\": \"agent\", \"Networks\": [\"front\"], \"Mode\": \"global\","
                         " \"Task\": {\"Args\": [\"sleep\", \"1000\"]}, \"RestartCondition\": \"none\"}");
        assert_int_equal(s->sched, ND_SVC_GLOBAL);
        assert_int_equal(s->replicas, 0);
        a = nd_service_to_json(s);
        assert_null(json_object_get(a, "Replicas"));
        assert_int_equal(nd_service_from_json(a, &t, &d), 0);
        assert_int_equal(t->sched, ND_SVC_GLOBAL);
        json_decref(a);
        nd_service_free(s);
        nd_service_free(t);
}

static void test_tasks_bad(void **state) {
        static const struct { const char *json, *msg; } cases[] = {
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Replicas\": 2}",
                  "service: 'Replicas' needs a 'Task' (a command for netd to run); a service without one has only "
                  "the containers that name it" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Mode\": \"global\"}",
                  "service: 'Mode' needs a 'Task' (a command for netd to run); a service without one has only "
                  "the containers that name it" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"x\"]}, \"Replicas\": 0}",
                  "service: 'Replicas' must be an integer from 1 to 256" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"x\"]}, \"Replicas\": -3}",
                  "service: 'Replicas' must be an integer from 1 to 256" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"x\"]}, \"Replicas\": 257}",
                  "service: 'Replicas' must be an integer from 1 to 256" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"x\"]}, \"Replicas\": \"3\"}",
                  "service: 'Replicas' must be an integer from 1 to 256" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"x\"]}, \"Mode\": \"global\","
                  " \"Replicas\": 2}", "service: 'Replicas' cannot be combined with mode global (one task per host)" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"x\"]}, \"Mode\": \"swarm\"}",
                  "service: 'Mode' must be replicated or global, not 'swarm'" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": []}}",
                  "service: Task 'Args' must be an array of 1 to 256 strings, the command first" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"\"]}}",
                  "service: Task Args[0] must be a non-empty string" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\", 1]}}",
                  "service: Task Args[1] must be a string" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": [\"a\"]}",
                  "service: 'Task' must be an object with 'Args' (the command) and 'Env', 'Rootfs', 'Memory', "
                  "'PidsLimit', 'StopGracePeriod'" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"], \"Image\": \"x\"}}",
                  "Task: unknown field 'Image'" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"], \"Env\": [\"=1\"]}}",
                  "service: Task Env entry '=1' is not KEY=VALUE" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"], \"Env\": [\"A\"]}}",
                  "service: Task Env entry 'A' is not KEY=VALUE" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"], \"Rootfs\": \"rel/dir\"}}",
                  "service: Task rootfs 'rel/dir' must be an absolute path" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"], \"Memory\": 1000}}",
                  "service: Task 'Memory' must be 0 or at least 4 MiB (bytes)" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"], \"PidsLimit\": -1}}",
                  "Task: 'PidsLimit' must be an integer from 0 to 9223372036854775807" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"], \"StopGracePeriod\": 4000}}",
                  "Task: 'StopGracePeriod' must be a number of seconds from 0 to 3600" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"]}, \"RestartCondition\": \"always\"}",
                  "service: 'RestartCondition' must be any, on-failure or none, not 'always'" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"]}, \"Update\": {\"Parallelism\": 0}}",
                  "Update: 'Parallelism' must be an integer from 1 to 256" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"]}, \"Update\": {\"Delay\": -1}}",
                  "Update: 'Delay' must be a number of seconds from 0 to 3600" },
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"]}, \"Update\": {\"Order\": 1}}",
                  "Update: unknown field 'Order'" },
                /* the generation and the previous template are the record's */
                { "{\"Name\": \"w\", \"Networks\": [\"n\"], \"Task\": {\"Args\": [\"a\"]}, \"Version\": 3}",
                  "service: unknown field 'Version'" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                expect_bad(cases[i].json, cases[i].msg);

        /* records: a template needs its generation */
        nd_service *s = NULL;
        nd_diag d = {0};
        assert_int_equal(record("{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}],"
                                " \"Created\": 0, \"Node\": \"\", \"Task\": {\"Args\": [\"a\"]}}", &s, &d), -EINVAL);
        assert_string_equal(d.msg, "service record: bad 'Version'");
        assert_int_equal(record("{\"Id\": \"" ID_S "\", \"Name\": \"w\", \"Networks\": [{\"Network\": \"" ID_A "\"}],"
                                " \"Created\": 0, \"Node\": \"\", \"Task\": {\"Args\": [\"a\"]}, \"Version\": 2,"
                                " \"Previous\": {\"Task\": {\"Args\": [\"b\"]}, \"Replicas\": 0, \"Version\": 1}}", &s,
                                &d), -EINVAL);
        assert_string_equal(d.msg, "service record: 'Replicas' must be an integer from 1 to 256");
}

static json_t *body(const char *text) {
        json_t *j = NULL;
        nd_diag d = {0};
        assert_int_equal(nd_json_parse_object(text, strlen(text), &j, &d), 0);
        return j;
}

static const char *env_at(const nd_service *s, size_t i) {
        return json_string_value(json_array_get(s->task->env, i));
}

static void test_scale_update_rollback(void **state) {
        nd_service *s = tasks_record("{\"Name\": \"web\", \"Networks\": [\"front\"], \"Replicas\": 3,"
                                     " \"Task\": {\"Args\": [\"httpd\"], \"Env\": [\"A=1\", \"B=2\"]}}");
        nd_service *n = NULL, *r = NULL, *rr = NULL;
        nd_diag d = {0};
        json_t *j;

        /* scale: the count only */
        j = body("{\"Replicas\": 5}");
        assert_int_equal(nd_service_scale(s, j, &n, &d), 0);
        json_decref(j);
        assert_int_equal(n->replicas, 5);
        assert_int_equal(n->version, 1);
        assert_null(n->prev_task);
        n = nd_service_free(n);
        j = body("{\"Replicas\": 0}");
        assert_int_equal(nd_service_scale(s, j, &n, &d), -EINVAL);
        assert_string_equal(d.msg, "scale: 'Replicas' must be an integer from 1 to 256");
        json_decref(j);
        j = body("{}");
        assert_int_equal(nd_service_scale(s, j, &n, &d), -EINVAL);
        assert_string_equal(d.msg, "scale: 'Replicas' is required");
        json_decref(j);
        /* a null is no count either (the fuzzer's find: it scaled to 0) */
        j = body("{\"Replicas\": null}");
        d.msg[0] = 0;
        assert_int_equal(nd_service_scale(s, j, &n, &d), -EINVAL);
        assert_string_equal(d.msg, "scale: 'Replicas' is required");
        assert_null(n);
        json_decref(j);

        /* update: env removed then added, replacing a key's entry */
        j = body("{\"EnvRm\": [\"A\"], \"EnvAdd\": [\"B=3\", \"C=4\"]}");
        assert_int_equal(nd_service_update(s, j, &n, &d), 1);
        json_decref(j);
        assert_int_equal(json_array_size(n->task->env), 2);
        assert_string_equal(env_at(n, 0), "B=3");
        assert_string_equal(env_at(n, 1), "C=4");
        assert_int_equal(n->version, 2);
        assert_non_null(n->prev_task);
        assert_int_equal(n->prev_version, 1);
        assert_int_equal(n->prev_replicas, 3);
        assert_int_equal(json_array_size(n->prev_task->env), 2);

        /* a request that changes nothing */
        j = body("{\"EnvAdd\": [\"B=3\"], \"Replicas\": 3}");
        assert_int_equal(nd_service_update(n, j, &r, &d), 0);
        assert_null(r);
        json_decref(j);
        /* a null count is no change (not a reset to one) */
        j = body("{\"Replicas\": null}");
        assert_int_equal(nd_service_update(n, j, &r, &d), 0);
        assert_null(r);
        json_decref(j);

        /* rollback swaps, twice is the identity */
        assert_int_equal(nd_service_rollback(n, &r, &d), 0);
        assert_int_equal(r->version, 1);
        assert_string_equal(env_at(r, 0), "A=1");
        assert_int_equal(r->prev_version, 2);
        assert_int_equal(nd_service_rollback(r, &rr, &d), 0);
        assert_int_equal(rr->version, 2);
        assert_string_equal(env_at(rr, 0), "B=3");
        rr = nd_service_free(rr);

        /* the next template after a rollback gets a new generation */
        j = body("{\"Rootfs\": \"/srv/new\", \"Replicas\": 4}");
        assert_int_equal(nd_service_update(r, j, &rr, &d), 1);
        json_decref(j);
        assert_int_equal(rr->version, 3);
        assert_int_equal(rr->replicas, 4);
        assert_string_equal(rr->task->rootfs, "/srv/new");
        assert_int_equal(rr->prev_version, 1);
        rr = nd_service_free(rr);

        /* Replicas alone keeps the generation, and can be rolled back */
        j = body("{\"Replicas\": 1}");
        assert_int_equal(nd_service_update(s, j, &rr, &d), 1);
        json_decref(j);
        assert_int_equal(rr->version, 1);
        assert_int_equal(rr->replicas, 1);
        assert_int_equal(rr->prev_replicas, 3);
        rr = nd_service_free(rr);

        /* bad updates */
        static const struct { const char *json, *msg; } bad[] = {
                { "{\"EnvAdd\": [\"novalue\"]}", "update: EnvAdd entry 'novalue' is not KEY=VALUE" },
                { "{\"EnvRm\": [\"A=1\"]}", "update: EnvRm entry 'A=1' is not a KEY" },
                { "{\"Rootfs\": \"rel\"}", "update: Task rootfs 'rel' must be an absolute path" },
                { "{\"Replicas\": -1}", "update: 'Replicas' must be an integer from 1 to 256" },
                { "{\"Args\": []}", "update: Task 'Args' must be an array of 1 to 256 strings, the command first" },
                { "{\"Image\": \"x\"}", "update: unknown field 'Image'" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                j = body(bad[i].json);
                d.msg[0] = 0;
                assert_int_equal(nd_service_update(s, j, &rr, &d), -EINVAL);
                if (strcmp(d.msg, bad[i].msg) != 0)
                        fail_msg("case %zu: '%s', want '%s'", i, d.msg, bad[i].msg);
                json_decref(j);
        }
        assert_int_equal(nd_service_rollback(s, &rr, &d), -EINVAL);
        assert_string_equal(d.msg, "service 'web' has no previous version to roll back to (it was not updated)");
        nd_service_free(n);
        nd_service_free(r);
        nd_service_free(s);

        /* global services are not scaled; network-only ones have nothing */
        s = tasks_record("{\"Name\": \"agent\", \"Networks\": [\"front\"], \"Mode\": \"global\","
                         " \"Task\": {\"Args\": [\"sleep\", \"1000\"]}}");
        j = body("{\"Replicas\": 2}");
        assert_int_equal(nd_service_scale(s, j, &n, &d), -EINVAL);
        assert_string_equal(d.msg, "service 'agent' is global: it runs one task per host and cannot be scaled");
        assert_int_equal(nd_service_update(s, j, &n, &d), -EINVAL);
        assert_string_equal(d.msg, "update: 'Replicas' cannot be combined with mode global (one task per host)");
        json_decref(j);
        nd_service_free(s);
        s = tasks_record("{\"Name\": \"plain\", \"Networks\": [\"front\"]}");
        j = body("{\"Replicas\": 2}");
        assert_int_equal(nd_service_scale(s, j, &n, &d), -EINVAL);
        assert_string_equal(d.msg, "service 'plain' runs no tasks of its own (it was created without a command): "
                                   "its tasks are the containers that name it");
        json_decref(j);
        nd_service_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_minimal),     cmocka_unit_test(test_full),
                cmocka_unit_test(test_health_defaults), cmocka_unit_test(test_dnsrr),
                cmocka_unit_test(test_names),       cmocka_unit_test(test_ports),
                cmocka_unit_test(test_bad_requests), cmocka_unit_test(test_limits),
                cmocka_unit_test(test_nul_command), cmocka_unit_test(test_not_object),  cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_bad_records), cmocka_unit_test(test_tasks),
                cmocka_unit_test(test_tasks_bad), cmocka_unit_test(test_scale_update_rollback),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
