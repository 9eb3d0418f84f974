/* SPDX-License-Identifier: Apache-2.0 */
/* Run/create requests -> nd_container_spec: what a good request yields,
 * and the messages of bad ones (the API returns them verbatim). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "container-spec.h"
#include "diag.h"
#include "json-util.h"

static int parse(const char *text, nd_container_spec *s, nd_diag *d) {
        json_t *j = NULL;
        int r = nd_json_parse_object(text, strlen(text), &j, d);
        assert_int_equal(r, 0);
        r = nd_container_spec_parse(j, s, d);
        json_decref(j); /* the spec keeps its own reference */
        return r;
}

static void test_minimal(void **state) {
        nd_container_spec s;
        nd_diag d = {0};

        assert_int_equal(parse("{\"Cmd\": [\"/bin/sh\"]}", &s, &d), 0);
        assert_null(s.name);
        assert_null(s.rootfs);
        assert_int_equal(s.mode, ND_NET_MODE_BRIDGE);
        assert_int_equal(json_array_size(s.args), 1);
        assert_string_equal(json_string_value(json_array_get(s.args, 0)), "/bin/sh");
        assert_null(s.env);
        assert_int_equal(s.n_nets, 0);
        assert_int_equal(s.n_ports, 0);
        assert_null(s.dns);
        assert_null(s.extra_hosts);
        assert_false(s.auto_remove);
        nd_container_spec_done(&s);
}

static void test_full(void **state) {
        nd_container_spec s;
        nd_diag d = {0};
        const char *req =
                "{\"Name\": \"web1\", \"Hostname\": \"web\", \"Cmd\": [\"httpd\", \"-f\"], \"Env\": [\"A=1\", \"A=2\"],"
                " \"Rootfs\": \"/srv/root\", \"Memory\": 67108864, \"PidsLimit\": 100, \"AutoRemove\": true,"
                " \"Networks\": [{\"Network\": \"front\", \"IPv4Address\": \"10.1.0.5\", \"Aliases\": [\"www\"],"
                "   \"MacAddress\": \"02:42:ac:11:00:02\", \"GwPriority\": 10}, {\"Network\": \"back\", \"IPv6Address\": \"\"}],"
                " \"Ports\": [\"8080:80/tcp\", \"53:53/udp\"], \"Dns\": [\"10.0.0.1\"], \"DnsSearch\": [],"
                " \"Links\": [\"db\", \"cache:c\"], \"ExtraHosts\": [\"gw:host-gateway\", \"v6:[fd00::9]\"],"
                " \"CapAdd\": [\"NET_ADMIN\"]}";

        assert_int_equal(parse(req, &s, &d), 0);
        assert_string_equal(s.name, "web1");
        assert_string_equal(s.hostname, "web");
        assert_string_equal(s.rootfs, "/srv/root");
        assert_int_equal(s.memory, 67108864);
        assert_int_equal(s.pids_limit, 100);
        assert_true(s.auto_remove);
        assert_int_equal(json_array_size(s.env), 2);
        assert_int_equal(s.n_nets, 2);
        assert_string_equal(s.nets[0].network, "front");
        assert_string_equal(s.nets[0].ip4, "10.1.0.5");
        assert_int_equal(s.nets[0].addr4.family, AF_INET);
        assert_int_equal(s.nets[0].n_aliases, 1);
        assert_string_equal(s.nets[0].aliases[0], "www");
        assert_true(s.nets[0].has_mac);
        assert_int_equal(s.nets[0].mac[5], 2);
        assert_int_equal(s.nets[0].gw_priority, 10);
        assert_string_equal(s.nets[1].network, "back");
        assert_null(s.nets[1].ip6); /* "" reads as not given */
        assert_int_equal(s.n_ports, 2);
        assert_int_equal(json_array_size(s.dns), 1);
        assert_null(s.dns_search); /* empty: none */
        assert_int_equal(s.n_links, 2);
        assert_string_equal(s.links[0].name, "db");
        assert_string_equal(s.links[0].alias, "db");
        assert_string_equal(s.links[1].name, "cache");
        assert_string_equal(s.links[1].alias, "c");
        assert_int_equal(json_array_size(s.extra_hosts), 2);
        assert_non_null(s.sec.cap_add);
        nd_container_spec_done(&s);
}

static void test_modes(void **state) {
        nd_container_spec s;
        nd_diag d = {0};

        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"NetworkMode\": \"container:web1\"}", &s, &d), 0);
        assert_int_equal(s.mode, ND_NET_MODE_CONTAINER);
        assert_string_equal(s.mode_target, "web1");
        nd_container_spec_done(&s);
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"NetworkMode\": \"host\"}", &s, &d), 0);
        assert_int_equal(s.mode, ND_NET_MODE_HOST);
        nd_container_spec_done(&s);
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"NetworkMode\": \"default\"}", &s, &d), 0);
        assert_int_equal(s.mode, ND_NET_MODE_BRIDGE);
        nd_container_spec_done(&s);
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"NetworkMode\": \"none\"}", &s, &d), 0);
        assert_int_equal(s.mode, ND_NET_MODE_NONE);
        nd_container_spec_done(&s);
}

static void test_bad_requests(void **state) {
        static const struct { const char *json, *msg; } cases[] = {
                { "{\"Cmd\": [\"x\"], \"Bogus\": 1}", "container: unknown field 'Bogus'" },
                { "{}", "container: 'Cmd' must be a non-empty array of strings" },
                { "{\"Cmd\": []}", "container: 'Cmd' must be a non-empty array of strings" },
                { "{\"Cmd\": [1]}", "container: 'Cmd' must hold strings" },
                { "{\"Cmd\": [\"x\"], \"Name\": \"-x\"}", "invalid container name '-x': use 1-64 characters of "
                  "[a-zA-Z0-9_.-], starting with a letter or digit" },
                { "{\"Cmd\": [\"x\"], \"Hostname\": \"a b\"}", "invalid hostname 'a b'" },
                { "{\"Cmd\": [\"x\"], \"Env\": [\"NOEQUALS\"]}", "container: Env entry 'NOEQUALS' is not KEY=VALUE" },
                { "{\"Cmd\": [\"x\"], \"Env\": \"A=1\"}", "container: 'Env' must be an array of at most 256 strings" },
                { "{\"Cmd\": [\"x\"], \"Memory\": 1024}", "container: 'Memory' must be 0 or at least 4 MiB (bytes)" },
                { "{\"Cmd\": [\"x\"], \"PidsLimit\": -1}", "container: 'PidsLimit' must be a non-negative integer" },
                { "{\"Cmd\": [\"x\"], \"Rootfs\": \"rel\"}", "rootfs 'rel' must be an absolute path" },
                { "{\"Cmd\": [\"x\"], \"NetworkMode\": \"macvlan\"}",
                  "invalid network mode 'macvlan' (bridge, none, host, container:NAME)" },
                { "{\"Cmd\": [\"x\"], \"NetworkMode\": \"host\", \"Networks\": [{\"Network\": \"a\"}]}",
                  "networks cannot be combined with network mode 'host'" },
                { "{\"Cmd\": [\"x\"], \"Networks\": [{}]}", "container: Networks[0] needs a 'Network'" },
                { "{\"Cmd\": [\"x\"], \"Networks\": [{\"Network\": \"a\", \"IPv4Address\": \"fd00::1\"}]}",
                  "invalid IPv4 address 'fd00::1'" },
                { "{\"Cmd\": [\"x\"], \"Networks\": [{\"Network\": \"a\", \"MacAddress\": \"01:00:5e:00:00:01\"}]}",
                  "invalid MAC address '01:00:5e:00:00:01'" },
                { "{\"Cmd\": [\"x\"], \"Networks\": [{\"Network\": \"a\", \"GwPriority\": \"hi\"}]}",
                  "endpoint: 'GwPriority' must be an integer" },
                { "{\"Cmd\": [\"x\"], \"Networks\": [{\"Network\": \"a\", \"Aliases\": [\"-bad\"]}]}",
                  "invalid alias '-bad'" },
                { "{\"Cmd\": [\"x\"], \"Dns\": [\"example.com\"]}", "container: invalid Dns entry 'example.com'" },
                { "{\"Cmd\": [\"x\"], \"DnsSearch\": \"a\"}", "container: 'DnsSearch' must be an array of at most 6 strings" },
                { "{\"Cmd\": [\"x\"], \"Links\": [\"\"]}", "invalid link '': want NAME[:ALIAS]" },
                { "{\"Cmd\": [\"x\"], \"Links\": [\"db:-a\"]}", "invalid link alias '-a'" },
                { "{\"Cmd\": [\"x\"], \"ExtraHosts\": [\"nocolon\"]}", "invalid --add-host 'nocolon': want NAME:IP" },
                { "{\"Cmd\": [\"x\"], \"ExtraHosts\": [\"a!b:1.2.3.4\"]}", "invalid --add-host 'a!b:1.2.3.4': bad host name" },
                { "{\"Cmd\": [\"x\"], \"ExtraHosts\": [\"h:1.2.3\"]}",
                  "invalid --add-host 'h:1.2.3': '1.2.3' is not an IP address" },
                { "{\"Cmd\": [\"x\"], \"ExtraHosts\": [7]}", "container: 'ExtraHosts' must hold strings" },
                { "{\"Cmd\": [\"x\"], \"Ports\": \"80\"}",
                  "container: 'Ports' must be an array of strings like \"8080:80/tcp\"" },
                { "{\"Cmd\": [\"x\"], \"CapAdd\": [\"CAP_FLY\"]}", "CapAdd: unknown capability 'CAP_FLY'" },
                { "{\"Cmd\": [\"x\"], \"Service\": \"we_b\"}",
                  "container: service name 'we_b' is not a valid DNS label" },
                { "{\"Cmd\": [\"x\"], \"Service\": \"tasks\"}",
                  "container: service name 'tasks' is not a valid DNS label" },
                { "{\"Cmd\": [\"x\"], \"Service\": 1}", "container: field 'Service' must be a string" },
                { "{\"Cmd\": [\"x\"], \"NetworkMode\": \"host\", \"Service\": \"web\"}",
                  "container: a task of service 'web' cannot use network mode 'host'" },
                { "{\"Cmd\": [\"x\"], \"NetworkMode\": \"container:db\", \"Service\": \"web\"}",
                  "container: a task of service 'web' cannot use network mode 'container:db'" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                nd_container_spec s;
                nd_diag d = {0};
                int r = parse(cases[i].json, &s, &d);
                nd_container_spec_done(&s);
                if (r != -EINVAL || strcmp(d.msg, cases[i].msg) != 0)
                        fail_msg("case %zu: %s -> %d '%s', want '%s'", i, cases[i].json, r, d.msg, cases[i].msg);
        }
}

static void test_service(void **state) {
        nd_container_spec s;
        nd_diag d = {0};

        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"Networks\": [{\"Network\": \"front\"}], \"Service\": \"web\"}",
                               &s, &d), 0);
        assert_string_equal(s.service, "web");
        nd_container_spec_done(&s);
        /* "" or null: not a task, as absent */
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"Service\": \"\"}", &s, &d), 0);
        assert_null(s.service);
        nd_container_spec_done(&s);
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"Service\": null}", &s, &d), 0);
        assert_null(s.service);
        nd_container_spec_done(&s);
}

/* The stored record keeps the service: written, read back, written again. */
static void test_record_service(void **state) {
        static const char rec[] =
                "{\"Id\": \"673e0c0bb045cba291b95f689a586ae4de431d026c12bba2cbf3cae20d74cb9c\", \"Name\": \"web.1\","
                " \"Created\": 1, \"Config\": {\"Hostname\": \"web\", \"Rootfs\": \"/r\", \"Cmd\": [\"x\"], \"Env\": [],"
                " \"NetworkMode\": \"bridge\", \"Service\": \"web\"}, \"State\": {\"Status\": \"created\", \"Error\": \"\"},"
                " \"Endpoints\": []}";
        nd_container *c = NULL, *k = NULL;
        nd_diag d = {0};
        json_t *j = NULL, *a, *b;

        assert_int_equal(nd_json_parse_object(rec, strlen(rec), &j, &d), 0);
        assert_int_equal(nd_container_from_json(j, &c, &d), 0);
        assert_string_equal(c->service, "web");
        a = nd_container_to_json(c);
        assert_string_equal(json_string_value(json_object_get(json_object_get(a, "Config"), "Service")), "web");
        assert_int_equal(nd_container_from_json(a, &k, &d), 0);
        b = nd_container_to_json(k);
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
        c = nd_container_free(c);
        k = nd_container_free(k);

        /* a record from before services: not a task */
        json_object_del(json_object_get(j, "Config"), "Service");
        assert_int_equal(nd_container_from_json(j, &c, &d), 0);
        assert_string_equal(c->service, "");
        c = nd_container_free(c);
        /* a damaged one is refused */
        json_object_set_new(json_object_get(j, "Config"), "Service", json_string("-x"));
        assert_int_equal(nd_container_from_json(j, &c, &d), -EINVAL);
        assert_string_equal(d.msg, "container record: bad Service");
        json_object_set_new(json_object_get(j, "Config"), "Service", json_integer(1));
        assert_int_equal(nd_container_from_json(j, &c, &d), -EINVAL);
        json_decref(j);
}

/* An endpoint's static flags: IPAMConfig round trip, and a record from
 * before them keeps what it holds. */
static void test_record_static(void **state) {
        static const char rec[] =
                "{\"Id\": \"673e0c0bb045cba291b95f689a586ae4de431d026c12bba2cbf3cae20d74cb9c\", \"Name\": \"w\","
                " \"Created\": 1, \"Config\": {\"Hostname\": \"w\", \"Rootfs\": \"/r\", \"Cmd\": [\"x\"], \"Env\": [],"
                " \"NetworkMode\": \"bridge\"}, \"State\": {\"Status\": \"exited\", \"Error\": \"\"},"
                " \"Endpoints\": [{\"NetworkID\": \"n\", \"NetworkName\": \"n\", \"Interface\": \"eth0\","
                " \"HostInterface\": \"vnd1-0\", \"MacAddress\": \"02:42:0a:00:00:05\", \"IPAddress\": \"10.0.0.5\","
                " \"IPPrefixLen\": 24, \"Gateway\": \"10.0.0.1\", \"GlobalIPv6Address\": \"fd00::5\","
                " \"GlobalIPv6PrefixLen\": 64, \"IPv6Gateway\": \"fd00::1\"}]}";
        nd_container *c = NULL, *k = NULL;
        nd_diag d = {0};
        json_t *j = NULL, *a;

        assert_int_equal(nd_json_parse_object(rec, strlen(rec), &j, &d), 0);
        /* no IPAMConfig: an older record, whose addresses stay */
        assert_int_equal(nd_container_from_json(j, &c, &d), 0);
        assert_true(c->eps[0].static4 && c->eps[0].static6 && c->eps[0].mac_given);
        /* the new form: only IPv4 asked for */
        json_t *ep = json_array_get(json_object_get(j, "Endpoints"), 0);
        json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", "10.0.0.5"));
        json_object_set_new(ep, "DesiredMacAddress", json_string(""));
        c = nd_container_free(c);
        assert_int_equal(nd_container_from_json(j, &c, &d), 0);
        assert_true(c->eps[0].static4);
        assert_false(c->eps[0].static6 || c->eps[0].mac_given);
        a = nd_container_to_json(c);
        assert_int_equal(nd_container_from_json(a, &k, &d), 0);
        assert_true(k->eps[0].static4);
        assert_false(k->eps[0].static6 || k->eps[0].mac_given);
        json_decref(a);
        k = nd_container_free(k);
        c = nd_container_free(c);
        /* a static address that is not the endpoint's: refused */
        json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", "10.0.0.6"));
        assert_int_equal(nd_container_from_json(j, &c, &d), -EINVAL);
        assert_string_equal(d.msg, "container record: bad IPAMConfig");
        json_decref(j);
}

/* --expose and -P: every exposed port not published by -p gets a
 * dynamic spec; ExposedPorts lists both, once each. */
static void test_expose(void **state) {
        nd_container_spec s;
        nd_diag d = {0};

        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"Ports\": [\"8080:80\"], \"PublishAllPorts\": true,"
                               " \"ExposedPorts\": [\"80\", \"53/udp\", \"7000-7001\"]}", &s, &d), 0);
        assert_true(s.publish_all);
        assert_int_equal(s.n_ports, 4);
        assert_int_equal(s.ports[0].host_lo, 8080);
        assert_int_equal(s.ports[1].ctr, 53);
        assert_int_equal(s.ports[1].proto, IPPROTO_UDP);
        assert_int_equal(s.ports[1].host_lo, 0);
        assert_int_equal(s.ports[3].ctr, 7001);
        assert_int_equal(s.ports[3].host_lo, 0);
        assert_int_equal(json_array_size(s.exposed), 4);
        assert_string_equal(json_string_value(json_array_get(s.exposed, 0)), "80/tcp");
        assert_string_equal(json_string_value(json_array_get(s.exposed, 1)), "53/udp");
        nd_container_spec_done(&s);

        /* without -P: listed, not published */
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"ExposedPorts\": [\"80\"]}", &s, &d), 0);
        assert_int_equal(s.n_ports, 0);
        assert_int_equal(json_array_size(s.exposed), 1);
        nd_container_spec_done(&s);

        static const char *const bad[] = { "{\"Cmd\": [\"x\"], \"ExposedPorts\": [\"8080:80\"]}",
                                           "{\"Cmd\": [\"x\"], \"ExposedPorts\": [\"\"]}",
                                           "{\"Cmd\": [\"x\"], \"ExposedPorts\": [5]}" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(parse(bad[i], &s, &d), -EINVAL);
                assert_non_null(strstr(d.msg, "invalid exposed port"));
                nd_container_spec_done(&s);
        }
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"ExposedPorts\": [\"99999\"]}", &s, &d), -EINVAL);
        nd_container_spec_done(&s);
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"PublishAllPorts\": 1}", &s, &d), -EINVAL);
        nd_container_spec_done(&s);

        /* an exposure repeated (a port twice, overlapping ranges) is listed
         * and published once */
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"PublishAllPorts\": true,"
                               " \"ExposedPorts\": [\"80\", \"80/tcp\", \"79-81\", \"80/udp\"]}", &s, &d), 0);
        assert_int_equal(s.n_ports, 4);
        assert_int_equal(json_array_size(s.exposed), 4);
        assert_string_equal(json_string_value(json_array_get(s.exposed, 3)), "80/udp");
        nd_container_spec_done(&s);

        /* two full ranges (the fuzzer's find: the de-duplication was
         * quadratic, minutes of the event loop for one request) */
        assert_int_equal(parse("{\"Cmd\": [\"x\"], \"Ports\": [\"1-65535/udp\"], \"ExposedPorts\": [\"1-65535\"]}",
                               &s, &d), 0);
        assert_int_equal(json_array_size(s.exposed), 2 * 65535);
        nd_container_spec_done(&s);
}

static void test_extra_host(void **state) {
        char name[ND_NAME_MAX + 1], ip[ND_ADDR_STRLEN];
        nd_diag d = {0};
        bool hg;

        assert_int_equal(nd_extra_host_parse("db:[fd00::0009]", name, ip, &hg, &d), 0);
        assert_string_equal(name, "db");
        assert_string_equal(ip, "fd00::9");
        assert_false(hg);
        assert_int_equal(nd_extra_host_parse("gw:host-gateway", name, ip, &hg, &d), 0);
        assert_true(hg);
        assert_string_equal(ip, "");
        assert_int_equal(nd_extra_host_parse(":1.2.3.4", name, ip, &hg, &d), -EINVAL);
        assert_string_equal(d.msg, "invalid --add-host ':1.2.3.4': want NAME:IP");
}

static void test_endpoint_req(void **state) {
        nd_endpoint_req e;
        nd_diag d = {0};
        json_t *j = json_pack("{s:s, s:s, s:b}", "Container", "web1", "IPv6Address", "fd00::7", "Force", 0);

        assert_int_equal(nd_endpoint_req_parse(NULL, &e, &d), 0);
        assert_null(e.ip4);
        assert_false(e.has_mac);
        assert_int_equal(nd_endpoint_req_parse(j, &e, &d), 0);
        assert_int_equal(e.addr6.family, AF_INET6);
        json_object_set_new(j, "Extra", json_true());
        assert_int_equal(nd_endpoint_req_parse(j, &e, &d), -EINVAL);
        assert_string_equal(d.msg, "endpoint: unknown field 'Extra'");
        json_decref(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_minimal),     cmocka_unit_test(test_full),
                cmocka_unit_test(test_modes),       cmocka_unit_test(test_bad_requests),
                cmocka_unit_test(test_extra_host),  cmocka_unit_test(test_endpoint_req),
                cmocka_unit_test(test_expose),      cmocka_unit_test(test_record_static),
                cmocka_unit_test(test_service),     cmocka_unit_test(test_record_service),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
