/* SPDX-License-Identifier: Apache-2.0 */
/* What dockerd sends the plugin: port maps, CIDR addresses, driver
 * options.  Invariants: no crash; an accepted port map has one spec per
 * entry with ports in range; bindings made from it survive
 * to_json -> parse; an accepted CIDR or MAC formats back to itself; IP
 * data has one entry per array element.  A JSON
 * object is also taken as a plugin request body (CreateNetwork,
 * CreateEndpoint, Join, RequestPool, RequestAddress,
 * ProgramExternalConnectivity) and its fields go through the same
 * parsers docker-plugin.c hands them to. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "docker-proto.h"
#include "mac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cidr(const json_t *v) {
        const char *s = json_string_value(v);
        nd_addr a, b;
        unsigned plen, plen2;
        char buf[ND_PREFIX_STRLEN];
        if (s && nd_docker_cidr_parse(s, &a, &plen) == 0 && strchr(s, '/')) {
                assert(plen <= nd_addr_bits(a.family));
                assert(nd_docker_cidr_parse(nd_docker_cidr_fmt(&a, plen, buf), &b, &plen2) == 0);
                assert(plen == plen2 && nd_addr_equal(&a, &b));
        }
}

static void mac(const json_t *v) {
        const char *s = json_string_value(v);
        uint8_t a[6], b[6];
        char buf[18];
        if (s && nd_docker_mac_parse(s, a) == 0) {
                assert(!(a[0] & 1));
                assert(nd_docker_mac_parse(nd_mac_fmt(a, buf), b) == 0 && memcmp(a, b, 6) == 0);
        }
}

static void ipdata(const json_t *arr) {
        nd_docker_ipdata *v = NULL;
        size_t n = 0;
        if (nd_docker_ipdata_parse(arr, &v, &n) == 0) {
                assert(n == json_array_size(arr) && (n == 0) == (v == NULL));
                for (size_t i = 0; i < n; i++) {
                        cidr(json_object_get(json_array_get(arr, i), "Pool"));
                        cidr(json_object_get(json_array_get(arr, i), "Gateway"));
                        assert(v[i].pool == json_string_value(json_object_get(json_array_get(arr, i), "Pool")));
                }
        }
        free(v);
}

static void portmap(const json_t *pm) {
        nd_port_spec *v = NULL;
        size_t n = 0;
        nd_diag d = {0};
        if (nd_docker_portmap_parse(pm, &v, &n, &d) == 0)
                assert(n == json_array_size(pm));
        free(v);
}

/* the fields of a plugin request body, where docker-plugin.c reads them */
static void plugin_body(const json_t *j) {
        const json_t *opts = json_object_get(j, "Options"), *iface = json_object_get(j, "Interface");
        const char *first;
        json_t *out = json_object();
        (void) nd_docker_driver_opts(json_object_get(opts, "com.docker.network.generic"), out, &first);
        json_decref(out);
        portmap(json_object_get(opts, "com.docker.network.portmap"));
        cidr(json_object_get(iface, "Address"));
        cidr(json_object_get(iface, "AddressIPv6"));
        cidr(json_object_get(j, "Address"));
        cidr(json_object_get(j, "Gateway"));
        mac(json_object_get(iface, "MacAddress"));
        ipdata(json_object_get(j, "IPv4Data"));
        ipdata(json_object_get(j, "IPv6Data"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        nd_diag d = {0};
        if (size > 65536)
                return 0;

        char *text = malloc(size + 1);
        assert(text);
        memcpy(text, data, size);
        text[size] = 0;
        nd_addr a, b;
        unsigned plen, plen2;
        char buf[ND_PREFIX_STRLEN];
        if (nd_docker_cidr_parse(text, &a, &plen) == 0 && strchr(text, '/')) {
                assert(plen <= nd_addr_bits(a.family));
                assert(nd_docker_cidr_parse(nd_docker_cidr_fmt(&a, plen, buf), &b, &plen2) == 0);
                assert(plen == plen2 && nd_addr_equal(&a, &b));
        }
        free(text);

        /* dockerd's container list / inspect answers */
        char name[65], id[65], al[8][65];
        size_t n_al = 0;
        if (nd_docker_endpoint_name((const char *) data, size, "ed39", name, sizeof(name), id, al, 8, &n_al) == 0) {
                assert(name[0] && strlen(name) < sizeof(name) && n_al <= 8);
                for (size_t i = 0; i < n_al; i++)
                        assert(al[i][0] && strcmp(al[i], name) != 0);
        }

        char svc[65];
        if (nd_docker_container_label((const char *) data, size, "ed39", "netd.service", svc, sizeof(svc)) == 0)
                assert(strlen(svc) < sizeof(svc));

        json_error_t err;
        json_t *j = json_loadb((const char *) data, size, JSON_DECODE_ANY, &err);
        if (!j)
                return 0;
        nd_port_spec *v = NULL;
        size_t n = 0;
        if (nd_docker_portmap_parse(j, &v, &n, &d) == 0 && n) {
                assert(n == json_array_size(j));
                nd_published p = { .bindings = calloc(n, sizeof(nd_port_binding)), .n_bindings = n };
                assert(p.bindings);
                for (size_t i = 0; i < n; i++) {
                        assert(v[i].ctr >= 1 && (!v[i].host_lo || v[i].host_lo <= v[i].host_hi));
                        p.bindings[i] = (nd_port_binding) { .proto = v[i].proto, .host_ip = v[i].host_ip,
                                                            .host_port = v[i].host_lo ? v[i].host_lo : 1,
                                                            .ctr_port = v[i].ctr };
                }
                json_t *back = nd_docker_portmap_to_json(&p);
                nd_port_spec *w = NULL;
                size_t m = 0;
                assert(nd_docker_portmap_parse(back, &w, &m, &d) == 0 && m == n);
                for (size_t i = 0; i < n; i++)
                        assert(w[i].proto == p.bindings[i].proto && w[i].ctr == p.bindings[i].ctr_port &&
                               w[i].host_lo == p.bindings[i].host_port);
                free(w);
                json_decref(back);
                nd_published_done(&p);
        }
        free(v);
        if (json_is_object(j)) {
                plugin_body(j);
                json_t *out = json_object();
                const char *first;
                size_t ignored = nd_docker_driver_opts(j, out, &first);
                assert(ignored <= json_object_size(j) && (!ignored || first));
                json_decref(out);
        }
        json_decref(j);
        return 0;
}
