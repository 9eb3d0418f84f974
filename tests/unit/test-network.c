/* SPDX-License-Identifier: Apache-2.0 */
/* API JSON -> model validation, and the store round trip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "diag.h"
#include "json-util.h"
#include "network.h"
#include "subnet.h"

static int parse(const char *text, nd_network_spec *spec, nd_diag *d) {
        json_t *j = NULL;
        int r = nd_json_parse_object(text, strlen(text), &j, d);
        if (r < 0)
                return r;
        r = nd_network_spec_from_json(j, spec, d);
        json_decref(j);
        return r;
}

static void test_bad_requests(void **state) {
        static const struct { const char *json, *msg; } cases[] = {
                { "", "empty" },
                { "{", "malformed JSON" },
                { "[1]", "expected a JSON object" },
                { "{\"Name\":\"a\",\"Name\":\"b\"}", "malformed JSON" },
                { "{}", "'Name' is required" },
                { "{\"Name\": 5}", "'Name' must be a string" },
                { "{\"Name\": \"\"}", "invalid network name" },
                { "{\"Name\": \"-x\"}", "invalid network name" },
                { "{\"Name\": \"a b\"}", "invalid network name" },
                { "{\"Name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "invalid network name" },
                { "{\"Name\": \"n\", \"Bogus\": 1}", "unknown field 'Bogus'" },
                { "{\"Name\": \"n\", \"Internal\": \"yes\"}", "'Internal' must be true or false" },
                { "{\"Name\": \"n\", \"Driver\": \"weird\"}", "unknown driver 'weird'" },
                { "{\"Name\": \"n\", \"Options\": []}", "'Options' must be an object" },
                { "{\"Name\": \"n\", \"Options\": {\"mtu\": 1500}}", "Options['mtu'] must be a string" },
                { "{\"Name\": \"n\", \"Options\": {\"mtu\": \"9\"}}", "between 68 and 65535" },
                { "{\"Name\": \"n\", \"Options\": {\"bridge.name\": \"waytoolongbridgename\"}}", "bridge.name" },
                { "{\"Name\": \"n\", \"Options\": {\"color\": \"red\"}}", "unknown option 'color'" },
                { "{\"Name\": \"n\", \"IPAM\": 3}", "'IPAM' must be an object" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Driver\": \"dhcp\"}}", "unknown IPAM driver" },
                { "{\"Name\": \"n\", \"Options\": {\"metric\": \"-1\"}}", "option metric='-1'" },
                { "{\"Name\": \"n\", \"Options\": {\"metric\": \"4294967296\"}}", "want 0-4294967295" },
                { "{\"Name\": \"n\", \"Options\": {\"metric\": \"1x\"}}", "option metric" },
                { "{\"Name\": \"n\", \"EnableIPv4\": 0}", "'EnableIPv4' must be true or false" },
                { "{\"Name\": \"n\", \"EnableIPv4\": false}", "without IPv4 needs an IPv6 subnet" },
                { "{\"Name\": \"n\", \"EnableIPv4\": false, \"EnableIPv6\": true, \"IPAM\": {\"Config\": "
                  "[{\"Subnet\": \"10.0.0.0/24\"}, {\"Subnet\": \"fd00::/64\"}]}}",
                  "subnet '10.0.0.0/24' is IPv4, and IPv4 is disabled" },
                { "{\"Name\": \"n\", \"Driver\": \"overlay\", \"EnableIPv4\": false, \"IPAM\": {\"Config\": "
                  "[{\"Subnet\": \"fd00::/64\"}]}}", "only be disabled on bridge networks" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Driver\": \"none\", \"Config\": [{\"Subnet\": \"10.0.0.0/24\"}]}}",
                  "IPAM driver none takes no subnets" },
                { "{\"Name\": \"n\", \"EnableIPv6\": true, \"IPAM\": {\"Driver\": \"none\"}}", "no IPv6 either" },
                { "{\"Name\": \"n\", \"Driver\": \"overlay\", \"IPAM\": {\"Driver\": \"none\"}}",
                  "IPAM driver none is for bridge networks" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": {}}}", "'Config' must be an array" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [5]}}", "IPAM.Config[0] must be an object" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{}]}}", "Subnet missing" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/33\"}]}}",
                  "invalid subnet '10.0.0.0/33': prefix length out of range" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.1/24\"}]}}", "host bits set" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/31\"}]}}", "too small" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.1.1\"}]}}",
                  "gateway '10.0.1.1' is not inside subnet '10.0.0.0/24'" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.0.255\"}]}}",
                  "broadcast" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"nope\"}]}}",
                  "invalid gateway" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"IPRange\": \"10.0.1.0/25\"}]}}",
                  "ip-range '10.0.1.0/25' is not inside subnet" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/16\"}, {\"Subnet\": \"10.0.1.0/24\"}]}}",
                  "overlap" },
                { "{\"Name\": \"n\", \"EnableIPv6\": true}", "IPv6 needs an explicit IPv6 subnet" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"1.0.0.0/24\"},{\"Subnet\": \"2.0.0.0/24\"},"
                  "{\"Subnet\": \"3.0.0.0/24\"},{\"Subnet\": \"4.0.0.0/24\"},{\"Subnet\": \"5.0.0.0/24\"}]}}",
                  "at most 4 subnets" },
                { "{\"Name\": \"n\", \"Options\": {\"encap\": \"gre\"}}", "encap is for overlay networks" },
                { "{\"Name\": \"n\", \"Options\": {\"vni\": \"5\"}}", "vni is for overlay networks" },
                { "{\"Name\": \"n\", \"Driver\": \"overlay\", \"Options\": {\"encap\": \"ipip\"}}",
                  "want vxlan or gre" },
                { "{\"Name\": \"n\", \"Driver\": \"overlay\", \"Options\": {\"vni\": \"0\"}}", "want 1-16777215" },
                { "{\"Name\": \"n\", \"Driver\": \"overlay\", \"Options\": {\"vni\": \"16777216\"}}",
                  "want 1-16777215" },
                { "{\"Name\": \"n\", \"Driver\": \"overlay\", \"Options\": {\"vni\": \"12x\"}}", "want 1-16777215" },
                { "{\"Name\": \"n\", \"Driver\": \"overlay\", \"Options\": {\"ipam.block\": \"3\"}}",
                  "ipam.block" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.0.1\", \"AuxiliaryAddresses\": []}]}}", "AuxiliaryAddresses must be an object" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.0.1\", \"AuxiliaryAddresses\": {\"r\": \"10.0.1.5\"}}]}}", "auxiliary address 'r' (10.0.1.5) is not inside subnet" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.0.1\", \"AuxiliaryAddresses\": {\"r\": \"x\"}}]}}", "invalid IP address" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.0.1\", \"AuxiliaryAddresses\": {\"r\": 5}}]}}", "invalid IP address" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.0.1\", \"AuxiliaryAddresses\": {\"a b\": \"10.0.0.5\"}}]}}", "invalid auxiliary address name" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.0.1\", \"AuxiliaryAddresses\": {\"r\": \"10.0.0.255\"}}]}}", "broadcast" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.0.1\", \"AuxiliaryAddresses\": {\"r\": \"10.0.0.1\"}}]}}", "is the gateway" },
                { "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.0.0.0/24\", \"Gateway\": \"10.0.0.1\", \"AuxiliaryAddresses\": {\"r\": \"10.0.0.5\", \"s\": \"10.0.0.5\"}}]}}", "are both 10.0.0.5" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                nd_network_spec spec;
                nd_diag d = {0};
                int r = parse(cases[i].json, &spec, &d);
                if (r != -EINVAL)
                        fail_msg("case %zu (%s): r=%d", i, cases[i].json, r);
                if (!strstr(d.msg, cases[i].msg))
                        fail_msg("case %zu (%s): message '%s' lacks '%s'", i, cases[i].json, d.msg, cases[i].msg);
        }
}

/* Auxiliary addresses are reserved (never allocated), not counted in use,
 * and survive the store round trip; one on the default gateway is
 * refused when the network is made. */
static void test_aux(void **state) {
        const char *req = "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.9.0.0/29\","
                          "\"AuxiliaryAddresses\": {\"r1\": \"10.9.0.2\", \"r2\": \"10.9.0.3\"}}]}}";
        nd_network_spec spec;
        nd_network *n = NULL, *m = NULL;
        nd_diag d = {0};
        char id[ND_ID_LEN + 1], b[ND_ADDR_STRLEN];
        nd_addr a;

        assert_int_equal(parse(req, &spec, &d), 0);
        assert_int_equal(spec.ipam[0].n_aux, 2);
        assert_int_equal(nd_id_new(id), 0);
        assert_int_equal(nd_network_new(&spec, id, 1700000000000000, &n, &d), 0);
        assert_int_equal(nd_network_addresses_in_use(n), 0);
        /* .1 gateway, .2 .3 aux: .4 .5 .6 only */
        for (int i = 4; i <= 6; i++) {
                assert_int_equal(nd_subnet_alloc(n->alloc[0], &a), 0);
                assert_int_not_equal(strcmp(nd_addr_fmt(&a, b), "10.9.0.2"), 0);
                assert_int_not_equal(strcmp(nd_addr_fmt(&a, b), "10.9.0.3"), 0);
        }
        assert_int_equal(nd_subnet_alloc(n->alloc[0], &a), -ENOSPC);
        assert_int_equal(nd_network_addresses_in_use(n), 3);
        json_t *j = nd_network_to_json(n);
        json_t *aux = json_object_get(json_array_get(json_object_get(json_object_get(j, "IPAM"), "Config"), 0),
                                      "AuxiliaryAddresses");
        assert_string_equal(json_string_value(json_object_get(aux, "r2")), "10.9.0.3");
        assert_int_equal(nd_network_from_json(j, &m, &d), 0);
        assert_int_equal(m->spec.ipam[0].n_aux, 2);
        assert_true(nd_subnet_is_allocated(m->alloc[0], &n->spec.ipam[0].aux[1].addr));
        json_decref(j);
        nd_network_free(n);
        nd_network_free(m);

        req = "{\"Name\": \"n\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.9.0.0/24\","
              "\"AuxiliaryAddresses\": {\"r\": \"10.9.0.1\"}}]}}";
        assert_int_equal(parse(req, &spec, &d), 0);
        assert_int_equal(nd_network_new(&spec, id, 1700000000000000, &n, &d), -EINVAL);
        assert_non_null(strstr(d.msg, "it is the gateway"));
        nd_network_spec_done(&spec);
}

static void test_roundtrip(void **state) {
        const char *req = "{\"Name\": \"front.net\", \"Internal\": true, \"Labels\": {\"a\": \"b\"},"
                          "\"Options\": {\"mtu\": \"1400\"},"
                          "\"IPAM\": {\"Config\": [{\"Subnet\": \"10.1.0.0/16\", \"IPRange\": \"10.1.2.0/24\"},"
                          "{\"Subnet\": \"fd00:1::/64\", \"Gateway\": \"fd00:1::fe\"}]}}";
        nd_network_spec spec;
        nd_network *n = NULL, *m = NULL;
        nd_diag d = {0};
        char id[ND_ID_LEN + 1], b[ND_ADDR_STRLEN];

        assert_int_equal(parse(req, &spec, &d), 0);
        assert_true(spec.ipv6);
        assert_int_equal(spec.mtu, 1400);
        assert_int_equal(nd_id_new(id), 0);
        assert_true(nd_id_valid(id));
        assert_int_equal(nd_network_new(&spec, id, 1700000000123456, &n, &d), 0);
        assert_string_equal(nd_addr_fmt(&n->spec.ipam[0].gateway, b), "10.1.0.1");
        assert_string_equal(nd_addr_fmt(&n->spec.ipam[1].gateway, b), "fd00:1::fe");
        assert_int_equal(nd_subnet_count(n->alloc[0]), 1);

        json_t *j = nd_network_to_json(n);
        assert_non_null(j);
        assert_int_equal(nd_network_from_json(j, &m, &d), 0);
        json_t *k = nd_network_to_json(m);
        assert_true(json_equal(j, k));
        assert_int_equal(m->created_us, 1700000000123456);
        assert_string_equal(m->id, id);
        assert_true(m->spec.internal);

        /* a damaged record is refused with a message, not a crash */
        json_object_set_new(j, "Id", json_string("xyz"));
        nd_network *bad = NULL;
        assert_int_equal(nd_network_from_json(j, &bad, &d), -EINVAL);
        assert_non_null(strstr(d.msg, "invalid Id"));
        json_decref(j);
        json_decref(k);
        nd_network_free(n);
        nd_network_free(m);
}

/* An IPv6-only network, one without addresses (IPAM driver none), and
 * the route metric: what they say survives the store round trip. */
static void test_families(void **state) {
        static const struct {
                const char *json;
                bool v4, v6, none;
                size_t n_ipam;
                uint32_t metric;
        } cases[] = {
                { "{\"Name\": \"v6\", \"EnableIPv4\": false, \"Options\": {\"metric\": \"200\"},"
                  "\"IPAM\": {\"Config\": [{\"Subnet\": \"fd10:88:a::/64\"}]}}", false, true, false, 1, 200 },
                { "{\"Name\": \"bare\", \"IPAM\": {\"Driver\": \"none\"}}", false, false, true, 0, 0 },
                { "{\"Name\": \"dual\", \"IPAM\": {\"Config\": [{\"Subnet\": \"10.9.0.0/24\"},"
                  "{\"Subnet\": \"fd10::/64\"}]}}", true, true, false, 2, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                nd_network_spec spec;
                nd_network *n = NULL, *m = NULL;
                nd_diag d = {0};
                char id[ND_ID_LEN + 1];

                assert_int_equal(parse(cases[i].json, &spec, &d), 0);
                assert_int_equal(spec.ipv4, cases[i].v4);
                assert_int_equal(spec.ipv6, cases[i].v6);
                assert_int_equal(spec.ipam_none, cases[i].none);
                assert_int_equal(nd_id_new(id), 0);
                assert_int_equal(nd_network_new(&spec, id, 1700000000000000, &n, &d), 0);
                assert_int_equal(nd_network_metric(n), cases[i].metric);
                assert_int_equal(n->spec.n_ipam, cases[i].n_ipam);
                if (!cases[i].v4)
                        assert_null(nd_network_subnet_family(n, AF_INET));

                json_t *j = nd_network_to_json(n);
                assert_non_null(j);
                assert_int_equal(json_is_true(json_object_get(j, "EnableIPv4")), cases[i].v4);
                assert_string_equal(json_string_value(json_object_get(json_object_get(j, "IPAM"), "Driver")),
                                    cases[i].none ? "none" : "default");
                assert_int_equal(nd_network_from_json(j, &m, &d), 0);
                assert_int_equal(m->spec.ipv4, cases[i].v4);
                assert_int_equal(m->spec.ipam_none, cases[i].none);
                assert_int_equal(nd_network_metric(m), cases[i].metric);
                json_decref(j);
                nd_network_free(n);
                nd_network_free(m);
        }
}

struct obj {
        const char *name, *id;
        bool hidden;
};

static bool obj_get(const void *objs, size_t i, const char **name, const char **id) {
        const struct obj *o = (const struct obj *) objs + i;
        *name = o->name;
        *id = o->id;
        return !o->hidden;
}

/* An overlay network: global scope, its options survive the store round
 * trip, and the helpers read them. */
static void test_overlay(void **state) {
        nd_network_spec spec;
        nd_diag d = {0};
        nd_network *n = NULL, *back = NULL;
        char id[ND_ID_LEN + 1];
        assert_int_equal(parse("{\"Name\": \"ov\", \"Driver\": \"overlay\", \"Options\": {\"encap\": \"gre\", "
                               "\"vni\": \"4242\", \"mtu\": \"1458\"}, \"IPAM\": {\"Config\": [{\"Subnet\": \"10.9.0.0/24\", \"Gateway\": \"10.9.0.1\"}]}}",
                               &spec, &d),
                         0);
        assert_int_equal(nd_id_new(id), 0);
        assert_int_equal(nd_network_new(&spec, id, 1, &n, &d), 0);
        assert_true(nd_network_is_global(n));
        assert_true(nd_network_gre(n));
        assert_int_equal(nd_network_vni(n), 4242);
        assert_int_equal(n->spec.mtu, 1458);
        json_t *j = nd_network_to_json(n);
        assert_string_equal(json_string_value(json_object_get(j, "Scope")), "global");
        assert_string_equal(json_string_value(json_object_get(j, "Driver")), "overlay");
        assert_int_equal(nd_network_from_json(j, &back, &d), 0);
        assert_int_equal(nd_network_vni(back), 4242);
        assert_int_equal(back->spec.mtu, 1458);
        assert_true(nd_network_gre(back));
        json_decref(j);
        nd_network_free(back);
        nd_network_free(n);

        /* a bridge network is local and has no VNI */
        assert_int_equal(parse("{\"Name\": \"br\"}", &spec, &d), 0);
        assert_int_equal(spec.driver, ND_DRIVER_BRIDGE);
        nd_network_spec_done(&spec);
}

static void test_ref_resolve(void **state) {
        static const char a[] = "abc0000000000000000000000000000000000000000000000000000000000000",
                          b[] = "abc1000000000000000000000000000000000000000000000000000000000000",
                          c[] = "ffff000000000000000000000000000000000000000000000000000000000000";
        struct obj o[] = { { "web", a, false }, { "abc1", b, false }, { "db", c, true } };
        assert_int_equal(nd_ref_resolve("web", o, 3, obj_get), 0);
        /* a name wins over an id prefix */
        assert_int_equal(nd_ref_resolve("abc1", o, 3, obj_get), 1);
        assert_int_equal(nd_ref_resolve("abc", o, 3, obj_get), -ENOTUNIQ);
        assert_int_equal(nd_ref_resolve("abc0", o, 3, obj_get), 0);
        /* a full id is exact even when it is also a prefix of nothing else */
        assert_int_equal(nd_ref_resolve(b, o, 3, obj_get), 1);
        /* skipped objects are invisible by name and by id */
        assert_int_equal(nd_ref_resolve("db", o, 3, obj_get), -ENOENT);
        assert_int_equal(nd_ref_resolve("ffff", o, 3, obj_get), -ENOENT);
        assert_int_equal(nd_ref_resolve("", o, 3, obj_get), -ENOENT);
        assert_int_equal(nd_ref_resolve("zzz", o, 3, obj_get), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_requests),
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_aux),
                cmocka_unit_test(test_families),
                cmocka_unit_test(test_overlay), cmocka_unit_test(test_ref_resolve),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
