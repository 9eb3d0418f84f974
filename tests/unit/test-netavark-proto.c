/* SPDX-License-Identifier: Apache-2.0 */
/* netd-netavark's input (netd/model/netavark-proto.h): Podman's network
 * options turned into the netd network to create and the attachment to
 * make, the label and option that name an operator's network, port
 * mappings as -p strings, the errors for what netd cannot do, the status
 * block, and `create` completing a network definition. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "netavark-proto.h"

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NET(extra) "\"network_info\":{\"pnet\":{\"name\":\"pnet\",\"id\":\"ff00\",\"driver\":\"bridge\"," \
        "\"network_interface\":\"podman3\",\"subnets\":[{\"subnet\":\"10.89.3.0/24\",\"gateway\":\"10.89.3.1\"}]," \
        "\"ipv6_enabled\":false,\"internal\":false,\"dns_enabled\":true" extra "}}"
#define OPTS(per, info, tail) "{\"container_id\":\"" CID "\",\"container_name\":\"web\"," \
        "\"networks\":{\"pnet\":{\"interface_name\":\"eth0\"" per "}}," info tail "}"

static int parse(const char *in, nd_nv_call *c, nd_diag *d) {
        return nd_nv_parse(in, strlen(in), "/run/netns/x", c, d);
}

static const char *str(const json_t *o, const char *k) {
        return json_string_value(json_object_get(o, k));
}

static void test_setup_bodies(void **state) {
        static const char in[] = OPTS(",\"static_ips\":[\"10.89.3.5\"],\"aliases\":[\"www\",\"web\",\"0123456789ab\"],"
                                      "\"static_mac\":\"02:00:00:00:00:05\"", NET(",\"options\":{\"mtu\":\"1400\",\"isolate\":\"true\"}"),
                                      ",\"dns_servers\":[\"10.1.1.1\"]");
        nd_nv_call c;
        nd_diag d = {};
        assert_int_equal(parse(in, &c, &d), 0);
        assert_int_equal(c.n_nets, 1);
        nd_nv_net *n = &c.nets[0];
        assert_string_equal(n->path, "/v1/sandboxes/" CID "/eth0");
        assert_false(n->operator_net);
        assert_string_equal(str(n->create, "Name"), "pnet");
        assert_string_equal(str(json_object_get(n->create, "Options"), "mtu"), "1400");
        assert_string_equal(str(json_object_get(n->create, "Options"), "bridge.name"), "podman3");
        /* netavark's default route metric, and an IPv4 network */
        assert_string_equal(str(json_object_get(n->create, "Options"), "metric"), "100");
        assert_true(json_is_true(json_object_get(n->create, "EnableIPv4")));
        assert_string_equal(str(json_object_get(n->create, "IPAM"), "Driver"), "default");
        assert_string_equal(str(json_object_get(n->create, "Labels"), ND_NV_LABEL), "ff00");
        json_t *cfg = json_array_get(json_object_get(json_object_get(n->create, "IPAM"), "Config"), 0);
        assert_string_equal(str(cfg, "Subnet"), "10.89.3.0/24");
        assert_string_equal(str(cfg, "Gateway"), "10.89.3.1");
        assert_string_equal(str(n->attach, "Network"), "pnet");
        assert_string_equal(str(n->attach, "Name"), "web");
        assert_string_equal(str(n->attach, "IPv4Address"), "10.89.3.5");
        assert_string_equal(str(n->attach, "MacAddress"), "02:00:00:00:00:05");
        assert_string_equal(str(n->attach, "Netns"), "/run/netns/x");
        /* Podman's own name and short id are not aliases netd needs */
        json_t *al = json_object_get(n->attach, "Aliases");
        assert_int_equal(json_array_size(al), 1);
        assert_string_equal(json_string_value(json_array_get(al, 0)), "www");
        assert_string_equal(json_string_value(json_array_get(json_object_get(n->attach, "DnsServers"), 0)), "10.1.1.1");
        assert_true(json_is_true(json_object_get(n->attach, "DnsServersOwn")));
        nd_nv_net_forget_static_ips(n);
        assert_null(json_object_get(n->attach, "IPv4Address"));
        nd_nv_call_done(&c);
}

/* The network's servers when the container has none: not its own, so a
 * network update (PUT .../dns-servers) applies to it. */
static void test_network_dns(void **state) {
        static const char in[] = "{\"container_id\":\"" CID "\",\"networks\":{\"pnet\":{\"interface_name\":\"eth0\"}},"
                "\"network_info\":{\"pnet\":{\"name\":\"pnet\",\"driver\":\"bridge\",\"subnets\":[{\"subnet\":\"10.89.3.0/24\"}],"
                "\"ipv6_enabled\":true,\"dns_enabled\":true,\"network_dns_servers\":[\"10.2.2.2\"]}}}";
        nd_nv_call c;
        nd_diag d = {};
        assert_int_equal(parse(in, &c, &d), 0);
        json_t *a = c.nets[0].attach;
        assert_string_equal(json_string_value(json_array_get(json_object_get(a, "DnsServers"), 0)), "10.2.2.2");
        assert_null(json_object_get(a, "DnsServersOwn"));
        /* ipv6_enabled with no IPv6 subnet: netd makes an IPv4 network */
        assert_false(json_is_true(json_object_get(c.nets[0].create, "EnableIPv6")));
        nd_nv_call_done(&c);
}

static void test_operator_network(void **state) {
        static const char *const ins[] = {
                OPTS(",\"static_ips\":[\"10.89.3.5\"]", NET(",\"labels\":{\"netd.network\":\"ov\"}"), ""),
                OPTS(",\"static_ips\":[\"10.89.3.5\"]", NET(",\"options\":{\"netd.network\":\"ov\"}"), ""),
        };
        for (size_t i = 0; i < 2; i++) {
                nd_nv_call c;
                nd_diag d = {};
                assert_int_equal(parse(ins[i], &c, &d), 0);
                assert_true(c.nets[0].operator_net);
                assert_null(c.nets[0].create);
                assert_string_equal(str(c.nets[0].attach, "Network"), "ov");
                /* netd's IPAM decides on an operator's network */
                assert_null(json_object_get(c.nets[0].attach, "IPv4Address"));
                nd_nv_call_done(&c);
        }
}

static const char *first_port(const char *mappings, nd_nv_call *c) {
        char in[2048];
        nd_diag d = {};
        snprintf(in, sizeof(in), OPTS("", NET(""), ",\"port_mappings\":%s"), mappings);
        if (parse(in, c, &d) < 0)
                return NULL;
        return json_string_value(json_array_get(json_object_get(c->nets[0].attach, "Ports"), 0));
}

static void test_ports(void **state) {
        static const struct { const char *in, *want; size_t n; } cases[] = {
                { "[{\"host_ip\":\"\",\"container_port\":80,\"host_port\":8080,\"range\":1,\"protocol\":\"tcp\"}]", "8080:80/tcp", 1 },
                { "[{\"host_ip\":\"127.0.0.1\",\"container_port\":80,\"host_port\":8080,\"range\":3,\"protocol\":\"udp\"}]",
                  "127.0.0.1:8080-8082:80-82/udp", 1 },
                { "[{\"host_ip\":\"::1\",\"container_port\":53,\"host_port\":5353,\"range\":0,\"protocol\":\"tcp,udp\"}]",
                  "[::1]:5353:53/tcp", 2 },
                { "[{\"host_ip\":\"\",\"container_port\":80,\"host_port\":0,\"range\":1,\"protocol\":\"sctp\"}]", "80/sctp", 1 },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                nd_nv_call c;
                assert_string_equal(first_port(cases[i].in, &c), cases[i].want);
                assert_int_equal(json_array_size(json_object_get(c.nets[0].attach, "Ports")), cases[i].n);
                nd_nv_call_done(&c);
        }
        static const char *const bad[] = {
                "[{\"container_port\":0,\"host_port\":1}]",
                "[{\"container_port\":65535,\"host_port\":1,\"range\":2}]",
                "[{\"container_port\":1,\"host_port\":65535,\"range\":2}]",
                /* c + n - 1 and h + n - 1 would wrap past INT64_MAX */
                "[{\"container_port\":80,\"host_port\":80,\"range\":9223372036854775807}]",
                "[{\"container_port\":2,\"host_port\":0,\"range\":9223372036854775807}]",
                "[{\"container_port\":80,\"host_port\":80,\"range\":-9223372036854775807}]",
                "[{\"container_port\":80,\"host_port\":80,\"protocol\":\"icmp\"}]",
                "[{\"container_port\":80,\"host_port\":80,\"host_ip\":\"nope\"}]",
                "{\"container_port\":80}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                nd_nv_call c;
                assert_null(first_port(bad[i], &c));
                nd_nv_call_done(&c);
        }
}

static void test_errors(void **state) {
        static const struct { const char *in, *msg; } cases[] = {
                { "{", "malformed JSON" },
                { "[]", "expected a JSON object" },
                { OPTS("", NET(""), "") "x", "malformed JSON" },
                { "{\"container_id\":\"a/b\",\"networks\":{},\"network_info\":{}}", "container_id" },
                { "{\"container_id\":\"a\",\"networks\":{},\"network_info\":{}}", "1-32 networks" },
                { "{\"container_id\":\"a\",\"networks\":{}," NET("") "}", "network options for network pnet not found" },
                { OPTS("", NET(",\"ipam_options\":{\"driver\":\"dhcp\"}"), ""), "unsupported ipam driver dhcp" },
                { OPTS("", NET(",\"options\":{\"vlan\":\"5\"}"), ""), "unsupported bridge network option vlan" },
                { OPTS("", NET(",\"options\":{\"mtu\":\"big\"}"), ""), "unable to parse mtu" },
                { OPTS("", NET(",\"options\":{\"metric\":\"-5\"}"), ""), "unable to parse metric '-5'" },
                { OPTS("", NET(",\"options\":{\"metric\":\"4294967296\"}"), ""), "unable to parse metric" },
                { OPTS("", NET(",\"ipam_options\":{\"driver\":\"none\"}"), ""), "ipam driver none takes no subnets" },
                { OPTS(",\"static_mac\":\"zz\"", NET(""), ""), "invalid static_mac" },
                { OPTS(",\"static_ips\":[\"10.89.3.5\",\"10.89.3.6\"]", NET(""), ""), "one address per family" },
                { OPTS(",\"static_ips\":[\"10.89.3\"]", NET(""), ""), "not an IP address" },
                { "{\"container_id\":\"a\",\"networks\":{\"pnet\":{}}," NET("") "}", "interface_name" },
                { OPTS("", NET(",\"labels\":{\"netd.network\":\"-x\"}"), ""), "invalid netd network name" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                nd_nv_call c;
                nd_diag d = {};
                assert_int_equal(parse(cases[i].in, &c, &d), -EINVAL);
                if (!strstr(d.msg, cases[i].msg))
                        fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].msg);
                nd_nv_call_done(&c);
        }
        /* a driver netd does not have */
        char in[1024];
        nd_nv_call c;
        nd_diag d = {};
        snprintf(in, sizeof(in), "%s", OPTS("", NET(""), ""));
        memcpy(strstr(in, "\"bridge\""), "\"ipvlan\"", 8);
        assert_int_equal(parse(in, &c, &d), -EINVAL);
        assert_string_equal(d.msg, "unknown network driver ipvlan");
        nd_nv_call_done(&c);
}

static void test_status_block(void **state) {
        nd_nv_call c;
        nd_diag d = {};
        assert_int_equal(parse(OPTS("", NET(""), ""), &c, &d), 0);
        json_t *sbx = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s}", "IfName", "eth0", "MacAddress", "02:42:0a:59:03:05",
                                "IPv4Address", "10.89.3.5", "IPv4PrefixLen", 24, "IPv4Gateway", "10.89.3.1", "IPv6Address",
                                "fd00::5", "IPv6PrefixLen", 64, "IPv6Gateway", "");
        json_t *b = nd_nv_status_block(&c.nets[0], sbx);
        char *s = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(s, "{\"dns_search_domains\":[],\"dns_server_ips\":[\"127.0.0.11\"],\"interfaces\":{\"eth0\":"
                               "{\"mac_address\":\"02:42:0a:59:03:05\",\"subnets\":[{\"gateway\":\"10.89.3.1\",\"ipnet\":"
                               "\"10.89.3.5/24\"},{\"ipnet\":\"fd00::5/64\"}]}}}");
        free(s);
        json_decref(b);
        json_object_del(sbx, "MacAddress");
        assert_null(nd_nv_status_block(&c.nets[0], sbx));
        json_decref(sbx);
        nd_nv_call_done(&c);
        json_t *mine = json_pack("{s:{s:s}}", "Labels", ND_NV_LABEL, "x"), *theirs = json_pack("{s:{}}", "Labels");
        assert_true(nd_nv_network_is_ours(mine));
        assert_false(nd_nv_network_is_ours(theirs));
        json_decref(mine);
        json_decref(theirs);
}

static json_t *complete(const char *in, nd_diag *d) {
        json_t *out = NULL;
        (void) nd_nv_network_complete(in, strlen(in), &out, d);
        return out;
}

static void test_create(void **state) {
        nd_diag d = {};
        json_t *n = complete("{\"network\":{\"name\":\"t1\",\"id\":\"ab\",\"driver\":\"bridge\",\"dns_enabled\":false,"
                             "\"internal\":false,\"ipv6_enabled\":false},\"used\":{\"interfaces\":[\"podman0\",\"podman1\"],"
                             "\"names\":{\"podman\":\"x\"},\"subnets\":[\"10.89.0.0/24\",\"10.89.1.0/24\"]},\"options\":"
                             "{\"subnet_pools\":[{\"base\":\"10.89.0.0/16\",\"size\":24}],\"default_interface_name\":\"podman\"}}", &d);
        assert_non_null(n);
        assert_string_equal(str(n, "network_interface"), "podman2");
        json_t *s = json_array_get(json_object_get(n, "subnets"), 0);
        assert_string_equal(str(s, "subnet"), "10.89.2.0/24");
        assert_string_equal(str(s, "gateway"), "10.89.2.1");
        assert_string_equal(str(json_object_get(n, "ipam_options"), "driver"), "host-local");
        json_decref(n);

        n = complete("{\"name\":\"t6\",\"driver\":\"bridge\",\"subnets\":[{\"subnet\":\"fd00:1::5/64\"}]}", &d);
        assert_non_null(n);
        assert_true(json_is_true(json_object_get(n, "ipv6_enabled")));
        assert_string_equal(str(json_array_get(json_object_get(n, "subnets"), 0), "gateway"), "fd00:1::1");
        assert_string_equal(str(json_array_get(json_object_get(n, "subnets"), 0), "subnet"), "fd00:1::/64");
        json_decref(n);

        static const struct { const char *in, *msg; } bad[] = {
                { "{\"network\":{\"name\":\"t1\"},\"used\":{\"names\":{\"t1\":\"i\"}}}", "network already exists t1" },
                { "{\"network\":{\"name\":\"t1\",\"network_interface\":\"br0\"},\"used\":{\"interfaces\":[\"br0\"]}}",
                  "bridge name br0 already in use" },
                { "{\"network\":{\"name\":\"\"}}", "network name cannot be empty" },
                { "{\"network\":{\"name\":\"t1\",\"driver\":\"macvlan\"}}", "unsupported driver macvlan" },
                { "{\"network\":{\"name\":\"t1\",\"subnets\":[{\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.1.0.1\"}]}}",
                  "gateway 10.1.0.1 not in subnet 10.0.0.0/24" },
                { "{\"network\":{\"name\":\"t1\"},\"used\":{\"subnets\":[\"10.0.0.0/8\"]},\"options\":{\"subnet_pools\":"
                  "[{\"base\":\"10.0.0.0/8\",\"size\":24}]}}", "could not find free subnet" },
                { "{\"network\":{\"name\":\"t1\",\"network_dns_servers\":[\"1.1.1.1\"],\"subnets\":[{\"subnet\":\"10.0.0.0/24\"}]}}",
                  "cannot set NetworkDNSServers" },
                /* size 0: the whole space, and (nd_u128) 1 << 128 for IPv6 */
                { "{\"network\":{\"name\":\"t1\"},\"options\":{\"subnet_pools\":[{\"base\":\"::/0\",\"size\":0}]}}",
                  "invalid subnet pool" },
                { "{\"network\":{\"name\":\"t1\"},\"options\":{\"subnet_pools\":[{\"base\":\"0.0.0.0/0\",\"size\":0}]}}",
                  "invalid subnet pool" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                d = (nd_diag) {};
                n = complete(bad[i].in, &d);
                assert_null(n);
                if (!strstr(d.msg, bad[i].msg))
                        fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, bad[i].msg);
        }
}

/* The route metric, an IPv6-only network and IPAM driver none, as
 * netavark's bridge has them, become netd's. */
static void test_families(void **state) {
        static const char metric[] = OPTS("", NET(",\"options\":{\"metric\":\"200\"}"), "");
        static const char v6[] = "{\"container_id\":\"" CID "\",\"networks\":{\"p6\":{\"interface_name\":\"eth0\","
                                 "\"static_ips\":[\"fd10:88:a::2\"]}},\"network_info\":{\"p6\":{\"name\":\"p6\","
                                 "\"driver\":\"bridge\",\"subnets\":[{\"subnet\":\"fd10:88:a::/64\",\"gateway\":"
                                 "\"fd10:88:a::1\"}],\"ipv6_enabled\":true}}}";
        static const char none[] = "{\"container_id\":\"" CID "\",\"networks\":{\"pn\":{\"interface_name\":\"eth0\"}},"
                                   "\"network_info\":{\"pn\":{\"name\":\"pn\",\"driver\":\"bridge\",\"subnets\":[],"
                                   "\"ipam_options\":{\"driver\":\"none\"}}}}";
        nd_nv_call c;
        nd_diag d = {};

        assert_int_equal(parse(metric, &c, &d), 0);
        assert_string_equal(str(json_object_get(c.nets[0].create, "Options"), "metric"), "200");
        nd_nv_call_done(&c);

        assert_int_equal(parse(v6, &c, &d), 0);
        assert_false(json_is_true(json_object_get(c.nets[0].create, "EnableIPv4")));
        assert_true(json_is_true(json_object_get(c.nets[0].create, "EnableIPv6")));
        assert_string_equal(str(c.nets[0].attach, "IPv6Address"), "fd10:88:a::2");
        nd_nv_call_done(&c);

        assert_int_equal(parse(none, &c, &d), 0);
        json_t *ipam = json_object_get(c.nets[0].create, "IPAM");
        assert_string_equal(str(ipam, "Driver"), "none");
        assert_int_equal(json_array_size(json_object_get(ipam, "Config")), 0);
        nd_nv_call_done(&c);

        /* create: no subnet picked for ipam driver none */
        json_t *n = complete("{\"name\":\"tn\",\"driver\":\"bridge\",\"ipam_options\":{\"driver\":\"none\"}}", &d);
        assert_non_null(n);
        assert_int_equal(json_array_size(json_object_get(n, "subnets")), 0);
        assert_false(json_is_true(json_object_get(n, "ipv6_enabled")));
        json_decref(n);
        n = complete("{\"name\":\"tn\",\"ipam_options\":{\"driver\":\"none\"},\"subnets\":[{\"subnet\":\"10.0.0.0/24\"}]}",
                     &d);
        assert_null(n);
        assert_non_null(strstr(d.msg, "ipam driver none takes no subnets"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_setup_bodies), cmocka_unit_test(test_network_dns), cmocka_unit_test(test_operator_network), cmocka_unit_test(test_ports),
                cmocka_unit_test(test_errors),       cmocka_unit_test(test_status_block),     cmocka_unit_test(test_create),
                cmocka_unit_test(test_families),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
