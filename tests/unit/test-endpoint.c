/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The endpoint pipeline (netd/core/endpoint.h) through its kernel seam: a
 * fake nd_ep_kernel_ops records what the pipeline asks of the kernel, so
 * reserve, wire, their undo and the address records run without root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "diag.h"
#include "endpoint.h"
#include "json-util.h"
#include "manager-internal.h"
#include "metrics.h"
#include "network.h"
#include "subnet.h"

/* ---- the fake kernel ---- */

static struct {
        int guards, unguards, wires, unwires;
        int wire_r, unwire_r;
        bool exists;
        char last_netns[64], last_peer[16], last_guarded[16];
        bool last_default_route, last_new_ifname;
} k;

static int fake_guard(nd_manager *m, const nd_network *n, const nd_endpoint *e) {
        k.guards++;
        snprintf(k.last_guarded, sizeof(k.last_guarded), "%s", e->host_ifname);
        return 0;
}

static void fake_unguard(nd_manager *m, const char *host_ifname) {
        k.unguards++;
}

static int fake_wire(nd_manager *m, const nd_network *n, const nd_endpoint *e, const char *netns,
                     const char *peer_ifname, bool default_route, bool new_ifname) {
        k.wires++;
        snprintf(k.last_netns, sizeof(k.last_netns), "%s", netns ? netns : "");
        snprintf(k.last_peer, sizeof(k.last_peer), "%s", peer_ifname ? peer_ifname : "");
        k.last_default_route = default_route;
        k.last_new_ifname = new_ifname;
        return k.wire_r;
}

static int fake_unwire(nd_manager *m, const nd_endpoint *e) {
        k.unwires++;
        return k.unwire_r;
}

static bool fake_exists(nd_manager *m, const char *host_ifname) {
        return k.exists;
}

static const nd_ep_kernel_ops fake = {
        .guard = fake_guard,
        .unguard = fake_unguard,
        .wire = fake_wire,
        .unwire = fake_unwire,
        .exists = fake_exists,
};

/* ---- fixtures ---- */

static nd_network *network(const char *text) {
        json_t *j = NULL;
        nd_network_spec spec;
        nd_network *n = NULL;
        nd_diag d = {0};
        char id[ND_ID_LEN + 1];

        assert_int_equal(nd_json_parse_object(text, strlen(text), &j, &d), 0);
        assert_int_equal(nd_network_spec_from_json(j, &spec, &d), 0);
        json_decref(j);
        assert_int_equal(nd_id_new(id), 0);
        assert_int_equal(nd_network_new(&spec, id, 1, &n, &d), 0);
        return n;
}

static int setup(void **state) {
        nd_manager *m = calloc(1, sizeof(*m));
        assert_non_null(m);
        m->ep_kernel = &fake;
        assert_int_equal(nd_manager_metrics_init(m), 0);
        memset(&k, 0, sizeof(k));
        *state = m;
        return 0;
}

static int teardown(void **state) {
        nd_manager_metrics_done(*state);
        free(*state);
        return 0;
}

/* Samples in the attach (@detach false) or detach histogram of @kind. */
static uint64_t observed(nd_manager *m, bool detach, nd_ep_kind kind) {
        return (detach ? m->detach_lat : m->attach_lat)[kind]->count;
}

static nd_ep_spec spec_for(nd_network *n, nd_endpoint *e) {
        memset(e, 0, sizeof(*e));
        snprintf(e->ifname, sizeof(e->ifname), "eth0");
        snprintf(e->host_ifname, sizeof(e->host_ifname), "vndtest-0");
        return (nd_ep_spec) { .kind = ND_EP_CONTAINER, .net = n, .ep = e, .netns = "/run/netns/t",
                              .default_route = true };
}

/* ---- tests ---- */

static void test_reserve_dynamic(void **state) {
        nd_manager *m = *state;
        _cleanup_(nd_network_freep) nd_network *n = network("{\"Name\": \"a\", \"IPAM\": {\"Config\": "
                                                           "[{\"Subnet\": \"10.9.0.0/24\"}]}}");
        nd_endpoint e, e2;
        nd_ep_spec s = spec_for(n, &e), s2 = spec_for(n, &e2);
        char b[ND_ADDR_STRLEN];
        nd_diag d = {0};

        assert_int_equal(nd_endpoint_attach(m, &s, ND_EP_RESERVE, &d), 0);
        assert_string_equal(nd_addr_fmt(&e.addr4, b), "10.9.0.2");
        assert_int_equal(e.plen4, 24);
        assert_string_equal(nd_addr_fmt(&e.gw4, b), "10.9.0.1");
        assert_int_equal(e.addr6.family, 0);
        /* Docker's MAC: 02:42 and the address */
        assert_int_equal(e.mac[0], 0x02);
        assert_int_equal(e.mac[1], 0x42);
        assert_int_equal(e.mac[5], 2);
        assert_int_equal(k.wires, 0);

        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE, &d), 0);
        assert_string_equal(nd_addr_fmt(&e2.addr4, b), "10.9.0.3");
        /* given back: free to take again (the allocator itself moves on,
         * as Docker's does, so it is asked for by address) */
        nd_addr was = e.addr4;
        nd_endpoint_detach(m, &s, ND_EP_RESERVE);
        s.want4 = &was;
        assert_int_equal(nd_endpoint_attach(m, &s, ND_EP_RESERVE, &d), 0);
        assert_string_equal(nd_addr_fmt(&e.addr4, b), "10.9.0.2");
}

static void test_reserve_static(void **state) {
        nd_manager *m = *state;
        _cleanup_(nd_network_freep) nd_network *n = network("{\"Name\": \"b\", \"IPAM\": {\"Config\": "
                                                           "[{\"Subnet\": \"10.8.0.0/24\"}]}}");
        nd_endpoint e, e2;
        nd_ep_spec s = spec_for(n, &e), s2 = spec_for(n, &e2);
        nd_addr want, out, gw;
        nd_diag d = {0};

        assert_int_equal(nd_addr_parse("10.8.0.50", &want), 0);
        assert_int_equal(nd_addr_parse("10.7.0.5", &out), 0);
        assert_int_equal(nd_addr_parse("10.8.0.1", &gw), 0);
        s.want4 = &want;
        assert_int_equal(nd_endpoint_attach(m, &s, ND_EP_RESERVE, &d), 0);
        assert_true(nd_addr_equal(&e.addr4, &want));

        s2.want4 = &want;
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE, &d), -EADDRINUSE);
        assert_string_equal(d.msg, "address 10.8.0.50 is already in use on network 'b'");
        s2.want4 = &out;
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE, &d), -EINVAL);
        assert_string_equal(d.msg, "address 10.7.0.5 is not in any subnet of network 'b'");
        s2.want4 = &gw;
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE, &d), -EADDRINUSE);
        /* an owner's MAC is kept */
        s2.want4 = NULL;
        s2.has_mac = true;
        memcpy(e2.mac, (uint8_t[6]) { 0x02, 1, 2, 3, 4, 5 }, 6);
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE, &d), 0);
        assert_int_equal(e2.mac[5], 5);
}

static void test_reserve_exhausted_and_dual(void **state) {
        nd_manager *m = *state;
        /* a /30: one address besides the gateway */
        _cleanup_(nd_network_freep) nd_network *small = network("{\"Name\": \"c\", \"IPAM\": {\"Config\": "
                                                               "[{\"Subnet\": \"10.6.0.0/30\"}]}}");
        _cleanup_(nd_network_freep) nd_network *n = network("{\"Name\": \"c6\", \"EnableIPv6\": true, \"IPAM\": "
                                                           "{\"Config\": [{\"Subnet\": \"10.3.0.0/29\"}, "
                                                           "{\"Subnet\": \"fd00:6::/120\"}]}}");
        nd_endpoint e, e2, e3;
        nd_ep_spec s = spec_for(small, &e), s2 = spec_for(small, &e2);
        nd_addr v6, v4;
        char b[ND_ADDR_STRLEN];
        nd_diag d = {0};

        assert_int_equal(nd_endpoint_attach(m, &s, ND_EP_RESERVE, &d), 0);
        assert_string_equal(nd_addr_fmt(&e.addr4, b), "10.6.0.2");
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE, &d), -ENOSPC);
        assert_string_equal(d.msg, "no free IPv4 address on network 'c'");
        assert_int_equal(e2.addr4.family, 0);

        /* dual stack: both families, with their prefix lengths */
        s = spec_for(n, &e);
        s2 = spec_for(n, &e2);
        nd_ep_spec s3 = spec_for(n, &e3);
        assert_int_equal(nd_addr_parse("fd00:6::50", &v6), 0);
        s.want6 = &v6;
        assert_int_equal(nd_endpoint_attach(m, &s, ND_EP_RESERVE, &d), 0);
        assert_string_equal(nd_addr_fmt(&e.addr4, b), "10.3.0.2");
        assert_string_equal(nd_addr_fmt(&e.addr6, b), "fd00:6::50");
        assert_int_equal(e.plen4, 29);
        assert_int_equal(e.plen6, 120);
        /* the IPv6 half fails: the IPv4 half (10.3.0.3) goes back */
        s2.want6 = &v6;
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE, &d), -EADDRINUSE);
        assert_int_equal(e2.addr4.family, 0);
        assert_int_equal(nd_addr_parse("10.3.0.3", &v4), 0);
        s3.want4 = &v4;
        assert_int_equal(nd_endpoint_attach(m, &s3, ND_EP_RESERVE, &d), 0);
        assert_string_equal(nd_addr_fmt(&e3.addr4, b), "10.3.0.3");
}

/* An IPv6-only network gives only an IPv6 address (and a random MAC);
 * one with IPAM driver none gives none, and a static one is refused. */
static void test_reserve_families(void **state) {
        nd_manager *m = *state;
        _cleanup_(nd_network_freep) nd_network *v6 = network("{\"Name\": \"v6\", \"EnableIPv4\": false, \"IPAM\": "
                                                            "{\"Config\": [{\"Subnet\": \"fd10:88:a::/64\"}]}}");
        _cleanup_(nd_network_freep) nd_network *none = network("{\"Name\": \"bare\", \"IPAM\": {\"Driver\": \"none\"}}");
        nd_endpoint e, e2;
        nd_ep_spec s = spec_for(v6, &e), s2 = spec_for(none, &e2);
        nd_addr want;
        char b[ND_ADDR_STRLEN];
        nd_diag d = {0};

        assert_int_equal(nd_endpoint_attach(m, &s, ND_EP_RESERVE | ND_EP_WIRE, &d), 0);
        assert_int_equal(e.addr4.family, 0);
        assert_string_equal(nd_addr_fmt(&e.addr6, b), "fd10:88:a::2");
        assert_int_equal(e.plen6, 64);
        assert_string_equal(nd_addr_fmt(&e.gw6, b), "fd10:88:a::1");
        assert_int_equal(e.mac[0] & 0x03, 0x02); /* locally administered, unicast */

        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE | ND_EP_WIRE, &d), 0);
        assert_int_equal(e2.addr4.family, 0);
        assert_int_equal(e2.addr6.family, 0);
        nd_endpoint_detach(m, &s2, ND_EP_RESERVE | ND_EP_WIRE);
        assert_int_equal(nd_addr_parse("10.0.0.5", &want), 0);
        s2.want4 = &want;
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE, &d), -EINVAL);
        assert_string_equal(d.msg, "address 10.0.0.5 is not in any subnet of network 'bare'");
}

static void test_wire_and_undo(void **state) {
        nd_manager *m = *state;
        _cleanup_(nd_network_freep) nd_network *n = network("{\"Name\": \"d\", \"IPAM\": {\"Config\": "
                                                           "[{\"Subnet\": \"10.5.0.0/24\"}]}}");
        nd_endpoint e, e2;
        nd_ep_spec s = spec_for(n, &e), s2 = spec_for(n, &e2);
        char b[ND_ADDR_STRLEN];
        nd_diag d = {0};

        /* guarded before it is wired, into the namespace given */
        assert_int_equal(nd_endpoint_attach(m, &s, ND_EP_RESERVE | ND_EP_WIRE, &d), 0);
        assert_int_equal(k.guards, 1);
        assert_int_equal(k.wires, 1);
        assert_string_equal(k.last_guarded, "vndtest-0");
        assert_string_equal(k.last_netns, "/run/netns/t");
        assert_true(k.last_default_route);

        /* the kernel refuses: wire undone (elements cleared, the link
         * never existed), reserve undone, a message that says where */
        k.wire_r = -EEXIST;
        k.exists = false;
        s2.new_ifname = true;
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE | ND_EP_WIRE, &d), -EEXIST);
        assert_true(k.last_new_ifname);
        assert_int_equal(k.unguards, 1);
        assert_string_equal(d.msg, "wiring eth0 in /run/netns/t failed: the namespace already has an interface "
                                   "of that name");
        k.wire_r = 0;
        nd_addr was;
        assert_int_equal(nd_addr_parse("10.5.0.3", &was), 0);
        s2.want4 = &was;
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_RESERVE, &d), 0);
        assert_string_equal(nd_addr_fmt(&e2.addr4, b), "10.5.0.3");

        /* a link that exists is somebody's: its elements stay */
        k.wire_r = -EBUSY;
        k.exists = true;
        int before = k.unguards;
        assert_int_equal(nd_endpoint_attach(m, &s2, ND_EP_WIRE, &d), -EBUSY);
        assert_int_equal(k.unguards, before);
        k.wire_r = 0;

        /* only the wiring that worked was measured, as a container's */
        assert_int_equal(observed(m, false, ND_EP_CONTAINER), 1);
        assert_int_equal(observed(m, false, ND_EP_CNI), 0);
        assert_int_equal(observed(m, true, ND_EP_CONTAINER), 0);

        /* detach in reverse: the pair, its elements, the addresses */
        nd_endpoint_detach(m, &s, ND_EP_RESERVE | ND_EP_WIRE);
        assert_int_equal(k.unwires, 1);
        assert_int_equal(k.unguards, before + 1);
        assert_int_equal(observed(m, true, ND_EP_CONTAINER), 1);
        /* a pair that will not go keeps its elements, and is not measured */
        k.unwire_r = -EBUSY;
        assert_int_equal(nd_endpoint_unwire(m, ND_EP_CNI, &e2), -EBUSY);
        assert_int_equal(k.unguards, before + 1);
        /* nor is one that was gone already */
        k.unwire_r = -ENODEV;
        assert_int_equal(nd_endpoint_unwire(m, ND_EP_CNI, &e2), -ENODEV);
        assert_int_equal(k.unguards, before + 2);
        assert_int_equal(observed(m, true, ND_EP_CNI), 0);
        k.unwire_r = 0;
        assert_int_equal(nd_endpoint_unwire(m, ND_EP_CNI, &e2), 0);
        assert_int_equal(observed(m, true, ND_EP_CNI), 1);
        assert_int_equal(observed(m, true, ND_EP_CONTAINER), 1);
        assert_true(m->detach_lat[ND_EP_CNI]->sum >= 0);
}

static void on_unwired(void *userdata, int r) {
        *(int *) userdata = r == 0 ? 1 : r;
}

static void test_host_peer_and_async(void **state) {
        nd_manager *m = *state;
        _cleanup_(nd_network_freep) nd_network *n = network("{\"Name\": \"e\", \"IPAM\": {\"Config\": "
                                                           "[{\"Subnet\": \"10.4.0.0/24\"}]}}");
        nd_endpoint e;
        nd_ep_spec s = spec_for(n, &e);
        nd_diag d = {0};
        int got = 0;

        /* Docker's kind: the peer stays on the host under its name */
        s.kind = ND_EP_DOCKER;
        s.netns = NULL;
        s.peer_ifname = "vndtest-0p";
        k.wire_r = -ENOMEM;
        assert_int_equal(nd_endpoint_attach(m, &s, ND_EP_RESERVE | ND_EP_WIRE, &d), -ENOMEM);
        assert_string_equal(k.last_peer, "vndtest-0p");
        assert_string_equal(d.msg, "creating the veth pair vndtest-0/vndtest-0p failed: Cannot allocate memory");
        k.wire_r = 0;
        assert_int_equal(nd_endpoint_attach(m, &s, ND_EP_RESERVE | ND_EP_WIRE, &d), 0);
        /* off the loop when there is a reaper; with a fake kernel, at once */
        nd_endpoint_unwire_async(m, ND_EP_DOCKER, &e, on_unwired, &got);
        assert_int_equal(got, 1);
        assert_int_equal(k.unwires, 1);
        /* measured under the kind it was asked with */
        assert_int_equal(observed(m, true, ND_EP_DOCKER), 1);
        assert_int_equal(observed(m, true, ND_EP_CONTAINER), 0);
        assert_int_equal(observed(m, false, ND_EP_DOCKER), 1);
}

static void test_record_value(void **state) {
        _cleanup_free_ char *v = nd_endpoint_record_value("cni:abc/eth0");
        json_t *j = NULL;
        nd_diag d = {0};
        assert_non_null(v);
        assert_int_equal(nd_json_parse_object(v, strlen(v), &j, &d), 0);
        assert_string_equal(json_string_value(json_object_get(j, "Owner")), "cni:abc/eth0");
        assert_true(strtoll(json_string_value(json_object_get(j, "Created")), NULL, 10) > 1700000000);
        assert_int_equal(strncmp(v, "{\"Owner\":", 9), 0);
        json_decref(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_reserve_dynamic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reserve_static, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reserve_exhausted_and_dual, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reserve_families, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wire_and_undo, setup, teardown),
                cmocka_unit_test_setup_teardown(test_host_peer_and_async, setup, teardown),
                cmocka_unit_test(test_record_value),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
