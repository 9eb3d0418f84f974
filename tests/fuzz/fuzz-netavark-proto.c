/* SPDX-License-Identifier: Apache-2.0 */
/* netd-netavark's input: Podman's network options (setup, teardown) or a
 * network definition (create).  Input: one byte choosing the command ('c'
 * create, anything else setup), then the JSON.
 * Invariants: a failure is -errno with a message; a setup has 1..32
 * networks, each with an attach body naming container, interface,
 * namespace and netd network, a request path of exactly
 * /v1/sandboxes/CID/IFNAME, and a create body unless an operator's
 * network is named; a status block from the attach body never crashes;
 * a completed network has a bridge name and at least one subnet. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netavark-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        nd_diag d = {};
        if (size < 1 || size > 65536)
                return 0;
        const char *in = (const char *) data + 1;
        size_t len = size - 1;
        if (data[0] == 'c') {
                json_t *n = NULL;
                int r = nd_nv_network_complete(in, len, &n, &d);
                if (r < 0) {
                        assert(!n && d.msg[0]);
                        return 0;
                }
                assert(json_is_string(json_object_get(n, "network_interface")));
                assert(json_array_size(json_object_get(n, "subnets")) >= 1);
                json_decref(n);
                return 0;
        }
        nd_nv_call c;
        int r = nd_nv_parse(in, len, "/run/netns/f", &c, &d);
        if (r < 0) {
                assert(d.msg[0]);
                nd_nv_call_done(&c);
                return 0;
        }
        assert(r == 0 && c.n_nets >= 1 && c.n_nets <= ND_NV_NETS_MAX);
        for (size_t i = 0; i < c.n_nets; i++) {
                const nd_nv_net *n = &c.nets[i];
                size_t slashes = 0;
                for (const char *p = n->path; *p; p++)
                        slashes += *p == '/';
                assert(strncmp(n->path, "/v1/sandboxes/", 14) == 0 && slashes == 4);
                assert(!strstr(n->path, "/../") && !strstr(n->path, "/./") && !strpbrk(n->path, "?#"));
                assert(json_string_value(json_object_get(n->attach, "ContainerID")));
                assert(json_string_value(json_object_get(n->attach, "IfName")));
                assert(json_string_value(json_object_get(n->attach, "Network")));
                assert(json_string_value(json_object_get(n->attach, "Netns")));
                assert(n->operator_net == !n->create);
                json_t *b = nd_nv_status_block(n, n->attach);
                json_decref(b);
        }
        nd_nv_call_done(&c);
        return 0;
}
