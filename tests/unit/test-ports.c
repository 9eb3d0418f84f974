/* SPDX-License-Identifier: Apache-2.0 */
/* The -p grammar, binding clashes, the nftables element layout (port
 * maps and guarded ports), and the port maps of Docker's plugin protocol. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diag.h"
#include "docker-proto.h"
#include "firewall.h"
#include "nft.h"
#include "ports.h"

static void parse_ok(const char *s, size_t want_n, nd_port_spec **v, size_t *n) {
        nd_diag d = {0};
        *v = NULL;
        *n = 0;
        int r = nd_port_spec_parse(s, v, n, &d);
        if (r < 0)
                fail_msg("'%s': %s", s, d.msg);
        assert_int_equal(*n, want_n);
}

static void test_forms(void **state) {
        nd_port_spec *v;
        size_t n;
        char buf[ND_PORT_SPEC_STRLEN];

        parse_ok("80", 1, &v, &n);
        assert_int_equal(v[0].proto, IPPROTO_TCP);
        assert_int_equal(v[0].ctr, 80);
        assert_int_equal(v[0].host_lo, 0);
        assert_int_equal(v[0].host_ip.family, 0);
        free(v);

        parse_ok("8080:80/udp", 1, &v, &n);
        assert_int_equal(v[0].proto, IPPROTO_UDP);
        assert_int_equal(v[0].host_lo, 8080);
        assert_int_equal(v[0].host_hi, 8080);
        assert_string_equal(nd_port_spec_fmt(&v[0], buf), "8080:80/udp");
        free(v);

        parse_ok("127.0.0.1:8080:80", 1, &v, &n);
        assert_int_equal(v[0].host_ip.family, AF_INET);
        assert_string_equal(nd_port_spec_fmt(&v[0], buf), "127.0.0.1:8080:80/tcp");
        free(v);

        parse_ok("127.0.0.1::80/sctp", 1, &v, &n);   /* dynamic on one address */
        assert_int_equal(v[0].host_lo, 0);
        assert_int_equal(v[0].proto, IPPROTO_SCTP);
        assert_string_equal(nd_port_spec_fmt(&v[0], buf), "127.0.0.1::80/sctp");
        free(v);

        parse_ok("[::1]:8080:80", 1, &v, &n);
        assert_int_equal(v[0].host_ip.family, AF_INET6);
        assert_string_equal(nd_port_spec_fmt(&v[0], buf), "[::1]:8080:80/tcp");
        free(v);

        parse_ok("9000-9002:90-92", 3, &v, &n);     /* one spec per port */
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(v[i].ctr, 90 + i);
                assert_int_equal(v[i].host_lo, 9000 + i);
                assert_int_equal(v[i].host_hi, 9000 + i);
        }
        free(v);

        parse_ok("9000-9010:80", 1, &v, &n);        /* any free port of the range */
        assert_int_equal(v[0].host_lo, 9000);
        assert_int_equal(v[0].host_hi, 9010);
        assert_string_equal(nd_port_spec_fmt(&v[0], buf), "9000-9010:80/tcp");
        free(v);

        parse_ok("90-92", 3, &v, &n);               /* three dynamic ports */
        assert_int_equal(v[2].ctr, 92);
        assert_int_equal(v[2].host_lo, 0);
        free(v);
}

static void test_round_trip(void **state) {
        static const char *const specs[] = { "80", "8080:80", "0.0.0.0:1:65535/udp", "[fd00::1]::53/udp",
                                             "10.0.0.1:100-200:80/sctp" };
        for (size_t i = 0; i < sizeof(specs) / sizeof(*specs); i++) {
                nd_port_spec *v = NULL, *w = NULL;
                size_t n = 0, m = 0;
                char buf[ND_PORT_SPEC_STRLEN];
                assert_int_equal(nd_port_spec_parse(specs[i], &v, &n, NULL), 0);
                assert_int_equal(nd_port_spec_parse(nd_port_spec_fmt(&v[0], buf), &w, &m, NULL), 0);
                assert_int_equal(n, m);
                assert_memory_equal(v, w, n * sizeof(*v));
                free(v);
                free(w);
        }
}

static void test_bad(void **state) {
        static const struct { const char *s, *msg; } cases[] = {
                { "", "invalid port mapping" },
                { "0", "container port must be 1-65535" },
                { "65536", "container port must be 1-65535" },
                { "80/icmp", "tcp, udp or sctp" },
                { "80/", "tcp, udp or sctp" },
                { "x:80", "host port must be" },
                { "0:80", "host port must be" },
                { "8080-8070:80", "host port must be" },
                { "8000-8002:80-81", "differ in size" },
                { "8000:80-81", "differ in size" },
                { "::1:8080:80", "in brackets" },
                { "[::1:8080:80", "expected [IPV6]" },
                { "300.1.1.1:80:80", "is not an IP address" },
                { "1.2.3.4:5:6:7", "in brackets" },
                { "80-", "container port" },
                { "-80", "container port" },
                { "1-65535:1-65535", NULL }, /* valid: 65535 specs */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
                nd_port_spec *v = NULL;
                size_t n = 0;
                nd_diag d = {0};
                int r = nd_port_spec_parse(cases[i].s, &v, &n, &d);
                if (!cases[i].msg) {
                        assert_int_equal(r, 0);
                        assert_int_equal(n, 65535);
                } else {
                        if (r >= 0)
                                fail_msg("'%s' accepted", cases[i].s);
                        if (!strstr(d.msg, cases[i].msg))
                                fail_msg("'%s': message '%s' lacks '%s'", cases[i].s, d.msg, cases[i].msg);
                        assert_int_equal(n, 0);
                }
                free(v);
        }
        /* the cap on the total */
        nd_port_spec *v = NULL;
        size_t n = 0;
        assert_int_equal(nd_port_spec_parse("1-65535", &v, &n, NULL), 0);
        assert_int_equal(nd_port_spec_parse("1-2", &v, &n, NULL), -E2BIG);
        free(v);
}

static nd_port_binding bind_of(const char *ip, uint8_t proto, uint16_t port) {
        nd_port_binding b = { .proto = proto, .host_port = port, .ctr_port = 80 };
        if (ip)
                assert_int_equal(nd_addr_parse(ip, &b.host_ip), 0);
        return b;
}

static void test_clash(void **state) {
        nd_port_binding any = bind_of(NULL, IPPROTO_TCP, 80), any4 = bind_of("0.0.0.0", IPPROTO_TCP, 80),
                        any6 = bind_of("::", IPPROTO_TCP, 80), a = bind_of("10.0.0.1", IPPROTO_TCP, 80),
                        b = bind_of("10.0.0.2", IPPROTO_TCP, 80), a6 = bind_of("fd00::1", IPPROTO_TCP, 80),
                        udp = bind_of(NULL, IPPROTO_UDP, 80), other = bind_of(NULL, IPPROTO_TCP, 81);
        assert_true(nd_port_binding_clash(&any, &a));
        assert_true(nd_port_binding_clash(&any, &a6));
        assert_true(nd_port_binding_clash(&any4, &a));
        assert_false(nd_port_binding_clash(&any4, &a6));
        assert_false(nd_port_binding_clash(&any4, &any6));
        assert_true(nd_port_binding_clash(&any6, &a6));
        assert_false(nd_port_binding_clash(&a, &b));
        assert_true(nd_port_binding_clash(&a, &a));
        assert_false(nd_port_binding_clash(&any, &udp));
        assert_false(nd_port_binding_clash(&any, &other));
}

static void test_binding_json(void **state) {
        nd_port_binding b = bind_of("fd00::1", IPPROTO_UDP, 5353), c;
        json_t *j = nd_port_binding_to_json(&b);
        assert_int_equal(nd_port_binding_from_json(j, &c, NULL), 0);
        assert_memory_equal(&b, &c, sizeof(b));
        json_decref(j);
        nd_diag d = {0};
        j = json_pack("{s:s, s:s, s:i, s:i}", "Proto", "tcp", "HostIp", "", "HostPort", 0, "ContainerPort", 80);
        assert_int_equal(nd_port_binding_from_json(j, &c, &d), -EINVAL);
        json_decref(j);
}

static void test_published_json(void **state) {
        nd_published p = {0}, q = {0};
        nd_diag d = {0};
        assert_int_equal(nd_published_from_json(NULL, &p, &d), 0);
        assert_int_equal(p.n_bindings, 0);
        p.bindings = calloc(2, sizeof(*p.bindings));
        p.bindings[0] = bind_of(NULL, IPPROTO_TCP, 8080);
        p.bindings[1] = bind_of("10.0.0.1", IPPROTO_UDP, 53);
        p.n_bindings = 2;
        json_t *j = nd_published_to_json(&p);
        assert_int_equal(json_array_size(j), 2);
        assert_int_equal(nd_published_from_json(j, &q, &d), 0);
        assert_int_equal(q.n_bindings, 2);
        assert_memory_equal(p.bindings, q.bindings, 2 * sizeof(*p.bindings));
        assert_null(q.fds);
        json_decref(j);
        nd_port_binding any8080 = bind_of(NULL, IPPROTO_TCP, 8080), udp8080 = bind_of(NULL, IPPROTO_UDP, 8080),
                        dns_other = bind_of("10.0.0.2", IPPROTO_UDP, 53), dns_any = bind_of(NULL, IPPROTO_UDP, 53);
        assert_true(nd_published_clash(&p, &any8080));
        assert_false(nd_published_clash(&p, &udp8080));
        assert_false(nd_published_clash(&p, &dns_other)); /* another address */
        assert_true(nd_published_clash(&p, &dns_any));    /* every address includes 10.0.0.1 */
        /* a bad element leaves nothing half-read */
        j = json_pack("[{s:s, s:s, s:i, s:i}, {s:s}]", "Proto", "tcp", "HostIp", "", "HostPort", 1, "ContainerPort", 2,
                      "Proto", "tcp");
        assert_int_equal(nd_published_from_json(j, &q, &d), -EINVAL);
        assert_int_equal(q.n_bindings, 0);
        assert_null(q.bindings);
        json_decref(j);
        j = json_pack("{}");
        assert_int_equal(nd_published_from_json(j, &q, &d), -EINVAL);
        json_decref(j);
        nd_published_done(&p);
        nd_published_done(&q);
}

static json_t *pm(const char *text) {
        json_error_t err;
        json_t *j = json_loads(text, 0, &err);
        if (!j)
                fail_msg("%s: %s", text, err.text);
        return j;
}

static void test_docker_portmap(void **state) {
        nd_port_spec *v;
        size_t n;
        nd_diag d = {0};

        assert_int_equal(nd_docker_portmap_parse(NULL, &v, &n, &d), 0);
        assert_int_equal(n, 0);
        /* what dockerd sends for -p 8088:80 -p 127.0.0.1:53:53/udp -p 8000-8010:90/sctp -P */
        json_t *j = pm("[{\"Proto\":6,\"IP\":\"\",\"Port\":80,\"HostIP\":\"\",\"HostPort\":8088,\"HostPortEnd\":8088},"
                       "{\"Proto\":17,\"Port\":53,\"HostIP\":\"127.0.0.1\",\"HostPort\":53,\"HostPortEnd\":0},"
                       "{\"Proto\":132,\"Port\":90,\"HostIP\":\"\",\"HostPort\":8000,\"HostPortEnd\":8010},"
                       "{\"Proto\":6,\"Port\":443,\"HostIP\":\"\",\"HostPort\":0,\"HostPortEnd\":0}]");
        assert_int_equal(nd_docker_portmap_parse(j, &v, &n, &d), 0);
        json_decref(j);
        assert_int_equal(n, 4);
        assert_int_equal(v[0].proto, IPPROTO_TCP);
        assert_int_equal(v[0].ctr, 80);
        assert_int_equal(v[0].host_lo, 8088);
        assert_int_equal(v[0].host_hi, 8088);
        assert_int_equal(v[0].host_ip.family, 0);
        assert_int_equal(v[1].proto, IPPROTO_UDP);
        assert_int_equal(v[1].host_ip.family, AF_INET);
        assert_int_equal(v[1].host_hi, 53);
        assert_int_equal(v[2].proto, IPPROTO_SCTP);
        assert_int_equal(v[2].host_lo, 8000);
        assert_int_equal(v[2].host_hi, 8010);
        assert_int_equal(v[3].host_lo, 0);
        assert_int_equal(v[3].host_hi, 0);
        free(v);

        static const char *const bad[] = {
                "{}",                                                      /* not an array */
                "[{\"Proto\":1,\"Port\":80}]",                              /* ICMP */
                "[{\"Proto\":6,\"Port\":0}]",                               /* no container port */
                "[{\"Proto\":6,\"Port\":70000}]",
                "[{\"Proto\":6,\"Port\":80,\"HostPort\":9000,\"HostPortEnd\":8000}]", /* backwards */
                "[{\"Proto\":6,\"Port\":80,\"HostPort\":0,\"HostPortEnd\":8000}]",    /* end without start */
                "[{\"Proto\":6,\"Port\":80,\"HostIP\":\"nope\"}]",
                "[{\"Proto\":\"tcp\",\"Port\":80}]",                        /* a string */
                "[{\"Proto\":6,\"Port\":80,\"HostIP\":7}]",
                "[42]",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                j = pm(bad[i]);
                d.msg[0] = 0;
                if (nd_docker_portmap_parse(j, &v, &n, &d) != -EINVAL)
                        fail_msg("accepted %s", bad[i]);
                assert_true(d.msg[0] != 0);
                json_decref(j);
        }

        /* bindings back, in the same shape */
        nd_published p = {0};
        p.bindings = calloc(1, sizeof(*p.bindings));
        p.bindings[0] = bind_of("10.0.0.1", IPPROTO_UDP, 5353);
        p.bindings[0].ctr_port = 53;
        p.n_bindings = 1;
        j = nd_docker_portmap_to_json(&p);
        assert_int_equal(nd_docker_portmap_parse(j, &v, &n, &d), 0);
        assert_int_equal(n, 1);
        assert_int_equal(v[0].proto, IPPROTO_UDP);
        assert_int_equal(v[0].ctr, 53);
        assert_int_equal(v[0].host_lo, 5353);
        assert_true(nd_addr_equal(&v[0].host_ip, &p.bindings[0].host_ip));
        free(v);
        json_decref(j);
        nd_published_done(&p);
}

static void test_docker_cidr_opts(void **state) {
        nd_addr a;
        unsigned plen;
        char buf[ND_PREFIX_STRLEN];
        assert_int_equal(nd_docker_cidr_parse("10.83.0.254/24", &a, &plen), 0);
        assert_int_equal(plen, 24);
        assert_string_equal(nd_docker_cidr_fmt(&a, plen, buf), "10.83.0.254/24");
        assert_int_equal(nd_docker_cidr_parse("fd87::1/64", &a, &plen), 0);
        assert_int_equal(a.family, AF_INET6);
        assert_int_equal(nd_docker_cidr_parse("10.0.0.1", &a, &plen), 0);
        assert_int_equal(plen, 0);
        static const char *const bad[] = { "10.0.0.1/33", "10.0.0.1/", "10.0.0.1/-1", "10.0.0.1/2x", "fd::1/129",
                                           "nope/24", "", "10.0.0.1/+4" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (nd_docker_cidr_parse(bad[i], &a, &plen) == 0)
                        fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(nd_docker_cidr_parse(NULL, &a, &plen), -EINVAL);

        json_t *out = json_object(), *g = pm("{\"com.docker.network.driver.mtu\":\"1400\","
                                              "\"com.docker.network.bridge.name\":\"br-x\",\"tier\":\"web\",\"x\":\"y\","
                                              "\"netd.network\":\"ov\","
                                              "\"com.docker.network.bridge.enable_icc\":\"false\"}");
        const char *first;
        assert_int_equal(nd_docker_driver_opts(g, out, &first), 2);
        assert_non_null(first);
        assert_string_equal(json_string_value(json_object_get(out, "mtu")), "1400");
        assert_string_equal(json_string_value(json_object_get(out, "bridge.name")), "br-x");
        assert_string_equal(json_string_value(json_object_get(out, "bridge.enable_icc")), "false");
        assert_int_equal(json_object_size(out), 3);
        json_decref(g);
        json_decref(out);
}

static void test_docker_endpoint_name(void **state) {
        char name[65], id[65], al[8][65];
        size_t n;
        /* the list: Names, aliases null */
        static const char list[] =
                "[{\"Id\":\"906772f035df11\",\"Names\":[\"/other\"],\"NetworkSettings\":{\"Networks\":{\"bn\":"
                "{\"EndpointID\":\"aa\",\"Aliases\":null}}}},"
                "{\"Id\":\"906772f035df22\",\"Names\":[\"/cli\"],\"NetworkSettings\":{\"Networks\":{\"x\":"
                "{\"EndpointID\":\"cc\"},\"bn\":{\"EndpointID\":\"ed39\",\"Aliases\":null}}}}]";
        assert_int_equal(nd_docker_endpoint_name(list, strlen(list), "ed39", name, sizeof(name), id, al, 8, &n), 0);
        assert_string_equal(name, "cli");
        assert_string_equal(id, "906772f035df22");
        assert_int_equal(n, 0);
        assert_int_equal(nd_docker_endpoint_name(list, strlen(list), "zz", name, sizeof(name), id, al, 8, &n), -ENOENT);
        /* inspect: Name, and aliases with dockerd's short id and the name */
        static const char one[] =
                "{\"Id\":\"906772f035df22\",\"Name\":\"/cli\",\"NetworkSettings\":{\"Networks\":{\"bn\":"
                "{\"EndpointID\":\"ed39\",\"Aliases\":[\"client\",\"906772f035df\",\"cli\",\"api\"]}}}}";
        assert_int_equal(nd_docker_endpoint_name(one, strlen(one), "ed39", name, sizeof(name), NULL, al, 8, &n), 0);
        assert_string_equal(name, "cli");
        assert_int_equal(n, 2);
        assert_string_equal(al[0], "client");
        assert_string_equal(al[1], "api");
        assert_int_equal(nd_docker_endpoint_name(one, strlen(one), "ed39", name, sizeof(name), NULL, al, 1, &n), 0);
        assert_int_equal(n, 1); /* at most max */
        /* not dockerd's answers */
        static const char *const bad[] = { "", "nope", "42", "\"str\"" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(nd_docker_endpoint_name(bad[i], strlen(bad[i]), "ed39", name, sizeof(name), id, al, 8,
                                                         &n), -EINVAL);
        /* a name too long for the buffer, or a missing id: refused */
        static const char longname[] = "[{\"Id\":\"1\",\"Names\":[\"/abcdefghij\"],\"NetworkSettings\":"
                                       "{\"Networks\":{\"bn\":{\"EndpointID\":\"ed39\"}}}}]";
        assert_int_equal(nd_docker_endpoint_name(longname, strlen(longname), "ed39", name, 5, id, al, 8, &n), -EINVAL);
        static const char noid[] = "[{\"Names\":[\"/a\"],\"NetworkSettings\":{\"Networks\":{\"bn\":"
                                   "{\"EndpointID\":\"ed39\"}}}}]";
        assert_int_equal(nd_docker_endpoint_name(noid, strlen(noid), "ed39", name, sizeof(name), id, al, 8, &n), -EINVAL);
}

/* The container's label netd.service, from the list ("Labels") or inspect
 * ("Config.Labels"), of the container holding the endpoint only. */
static void test_docker_container_label(void **state) {
        char v[65];
        static const char list[] =
                "[{\"Id\":\"1\",\"Names\":[\"/other\"],\"Labels\":{\"netd.service\":\"db\"},"
                "\"NetworkSettings\":{\"Networks\":{\"bn\":{\"EndpointID\":\"aa\"}}}},"
                "{\"Id\":\"2\",\"Names\":[\"/web1\"],\"Labels\":{\"a\":\"b\",\"netd.service\":\"web\"},"
                "\"NetworkSettings\":{\"Networks\":{\"bn\":{\"EndpointID\":\"ed39\"}}}},"
                "{\"Id\":\"3\",\"Names\":[\"/plain\"],\"Labels\":{},"
                "\"NetworkSettings\":{\"Networks\":{\"bn\":{\"EndpointID\":\"bb\"}}}}]";
        assert_int_equal(nd_docker_container_label(list, strlen(list), "ed39", "netd.service", v, sizeof(v)), 0);
        assert_string_equal(v, "web");
        assert_int_equal(nd_docker_container_label(list, strlen(list), "aa", "netd.service", v, sizeof(v)), 0);
        assert_string_equal(v, "db");
        assert_int_equal(nd_docker_container_label(list, strlen(list), "bb", "netd.service", v, sizeof(v)), -ENOENT);
        assert_int_equal(nd_docker_container_label(list, strlen(list), "zz", "netd.service", v, sizeof(v)), -ENOENT);
        static const char one[] = "{\"Id\":\"2\",\"Name\":\"/web1\",\"Config\":{\"Labels\":{\"netd.service\":\"web\"}},"
                                  "\"NetworkSettings\":{\"Networks\":{\"bn\":{\"EndpointID\":\"ed39\"}}}}";
        assert_int_equal(nd_docker_container_label(one, strlen(one), "ed39", "netd.service", v, sizeof(v)), 0);
        assert_string_equal(v, "web");
        /* too long for the buffer, not text, not dockerd's answer */
        assert_int_equal(nd_docker_container_label(one, strlen(one), "ed39", "netd.service", v, 3), -EINVAL);
        static const char num[] = "[{\"Labels\":{\"netd.service\":7},"
                                  "\"NetworkSettings\":{\"Networks\":{\"bn\":{\"EndpointID\":\"ed39\"}}}}]";
        assert_int_equal(nd_docker_container_label(num, strlen(num), "ed39", "netd.service", v, sizeof(v)), -EINVAL);
        static const char *const bad[] = { "", "nope", "42", "\"str\"" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(nd_docker_container_label(bad[i], strlen(bad[i]), "ed39", "netd.service", v,
                                                           sizeof(v)), -EINVAL);
}

/* The map elements must match the registers the rules load: proto and
 * port each padded to 32 bits, ports big-endian. */
static void test_elem_layout(void **state) {
        nd_port_binding b = bind_of(NULL, IPPROTO_TCP, 8080);
        nd_addr a4, a6, none = {0};
        nd_nft_elem e[ND_FW_BINDING_ELEMS_MAX];

        b.ctr_port = 80;
        assert_int_equal(nd_addr_parse("10.1.2.3", &a4), 0);
        assert_int_equal(nd_addr_parse("fd00::3", &a6), 0);
        assert_int_equal(nd_fw_binding_elems(&b, &a4, &none, e), 2);
        assert_int_equal(e[0].set, ND_SET_PUB4);
        assert_int_equal(e[0].klen, 8);
        static const uint8_t key[8] = { IPPROTO_TCP, 0, 0, 0, 0x1f, 0x90, 0, 0 };
        static const uint8_t data[8] = { 10, 1, 2, 3, 0, 80, 0, 0 };
        assert_memory_equal(e[0].key, key, 8);
        assert_int_equal(e[0].dlen, 8);
        assert_memory_equal(e[0].data, data, 8);
        /* its container end: address . proto . port, no data */
        static const uint8_t tkey[12] = { 10, 1, 2, 3, IPPROTO_TCP, 0, 0, 0, 0, 80, 0, 0 };
        assert_int_equal(e[1].set, ND_SET_PUBT4);
        assert_int_equal(e[1].klen, 12);
        assert_memory_equal(e[1].key, tkey, 12);
        assert_int_equal(e[1].dlen, 0);

        assert_int_equal(nd_fw_binding_elems(&b, &a4, &a6, e), 4);
        assert_int_equal(e[1].set, ND_SET_PUB6);
        assert_int_equal(e[1].dlen, 20);
        assert_int_equal(e[3].set, ND_SET_PUBT6);
        assert_int_equal(e[3].klen, 24);

        nd_port_binding s = bind_of("192.168.1.1", IPPROTO_UDP, 53);
        assert_int_equal(nd_fw_binding_elems(&s, &a4, &a6, e), 2); /* an IPv4 address: IPv4 only */
        assert_int_equal(e[0].set, ND_SET_PUB4A);
        assert_int_equal(e[0].klen, 12);
        static const uint8_t skey[12] = { 192, 168, 1, 1, IPPROTO_UDP, 0, 0, 0, 0, 53, 0, 0 };
        assert_memory_equal(e[0].key, skey, 12);

        nd_port_binding s6 = bind_of("fd99::1", IPPROTO_TCP, 443);
        assert_int_equal(nd_fw_binding_elems(&s6, &a4, &none, e), 0); /* no IPv6 on the container */
        assert_int_equal(nd_fw_binding_elems(&s6, &a4, &a6, e), 2);
        assert_int_equal(e[0].set, ND_SET_PUB6A);
        assert_int_equal(e[0].klen, 24);

        nd_nft_elem x, y;
        nd_nft_elem_ifname(&x, ND_SET_BRIDGES, "br0");
        nd_nft_elem_ifname(&y, ND_SET_BRIDGES, "br0");
        assert_true(nd_nft_elem_equal(&x, &y));
        nd_nft_elem_ifname(&y, ND_SET_INTERNAL, "br0");
        assert_false(nd_nft_elem_equal(&x, &y));
}

/* A guarded port's elements (bridge netd): the key layouts the port chain
 * loads into registers, ifname (16) then the field padded to 32 bits. */
static void test_port_elems(void **state) {
        static const uint8_t mac[6] = { 0x02, 0x42, 10, 1, 2, 3 };
        nd_addr a4, a6, none = {0};
        nd_nft_elem e[ND_FW_PORT_ELEMS_MAX];

        assert_int_equal(nd_addr_parse("10.1.2.3", &a4), 0);
        assert_int_equal(nd_addr_parse("fd00::3", &a6), 0);
        assert_int_equal(nd_fw_port_elems("vnd12345678-0", mac, &a4, &a6, false, e), 4);
        assert_int_equal(e[0].set, ND_SET_PORTS);
        assert_int_equal(e[0].klen, 16);
        assert_string_equal((const char *) e[0].key, "vnd12345678-0");
        assert_int_equal(e[1].set, ND_SET_PORT_MAC);
        assert_int_equal(e[1].klen, 24);
        assert_string_equal((const char *) e[1].key, "vnd12345678-0");
        assert_memory_equal(e[1].key + 16, mac, 6);
        assert_int_equal(e[1].key[22] | e[1].key[23], 0);
        assert_int_equal(e[2].set, ND_SET_PORT_IP4);
        assert_int_equal(e[2].klen, 20);
        assert_memory_equal(e[2].key + 16, a4.b, 4);
        assert_int_equal(e[3].set, ND_SET_PORT_IP6);
        assert_int_equal(e[3].klen, 32);
        assert_memory_equal(e[3].key + 16, a6.b, 16);
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(e[i].dlen, 0);

        /* an IPv6-only endpoint: no IPv4 element, so all its IPv4 and ARP
         * (but probes) is dropped */
        assert_int_equal(nd_fw_port_elems("vnc00000001", mac, &none, &a6, false, e), 3);
        assert_int_equal(e[2].set, ND_SET_PORT_IP6);
        assert_int_equal(nd_fw_port_elems("vnc00000001", mac, &a4, &none, false, e), 3);
        assert_int_equal(e[2].set, ND_SET_PORT_IP4);
        /* a port of an enable_icc=false network: also in no_icc_ports */
        assert_int_equal(nd_fw_port_elems("vnc00000001", mac, &a4, &a6, true, e), 5);
        assert_int_equal(e[4].set, ND_SET_NO_ICC);
        assert_string_equal((const char *) e[4].key, "vnc00000001");

        /* without a firewall the guard is a no-op */
        assert_int_equal(nd_fw_port_set(NULL, "x", mac, &a4, &a6, false), 0);
        nd_fw_port_clear(NULL, "x");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_port_elems),
                cmocka_unit_test(test_forms),     cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_bad),
                cmocka_unit_test(test_clash),     cmocka_unit_test(test_binding_json), cmocka_unit_test(test_elem_layout),
                cmocka_unit_test(test_published_json), cmocka_unit_test(test_docker_portmap),
                cmocka_unit_test(test_docker_cidr_opts), cmocka_unit_test(test_docker_endpoint_name),
                cmocka_unit_test(test_docker_container_label),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
