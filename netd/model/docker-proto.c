/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "docker-proto.h"
#include "mac.h"
#include "macro.h"

int nd_docker_portmap_parse(const json_t *pm, nd_port_spec **ret, size_t *n, nd_diag *d) {
        json_t *e;
        size_t i;
        *ret = NULL;
        *n = 0;
        if (!pm || json_is_null(pm))
                return 0;
        if (!json_is_array(pm) || json_array_size(pm) > ND_PORT_SPECS_MAX)
                return nd_diag_set(d, -EINVAL, "com.docker.network.portmap must be an array of at most %d entries",
                                   ND_PORT_SPECS_MAX);
        nd_port_spec *v = calloc(json_array_size(pm) + 1, sizeof(*v));
        if (!v)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        json_array_foreach(pm, i, e) {
                json_t *jp = json_object_get(e, "Proto"), *jport = json_object_get(e, "Port"),
                       *jhp = json_object_get(e, "HostPort"), *jhe = json_object_get(e, "HostPortEnd"),
                       *jip = json_object_get(e, "HostIP");
                json_int_t proto = json_integer_value(jp), port = json_integer_value(jport),
                           hp = json_integer_value(jhp), hpe = json_integer_value(jhe);
                nd_port_spec *s = &v[i];
                const char *hip = json_string_value(jip);
                int r = 0;
                if (!json_is_object(e) || !json_is_integer(jp) || !json_is_integer(jport) ||
                    (jhp && !json_is_integer(jhp)) || (jhe && !json_is_integer(jhe)) ||
                    (jip && !json_is_null(jip) && !json_is_string(jip)))
                        r = nd_diag_set(d, -EINVAL, "port mapping %zu: Proto and Port (integers) are required", i);
                else if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP)
                        r = nd_diag_set(d, -EINVAL, "port mapping %zu: protocol %lld is not tcp, udp or sctp", i,
                                        (long long) proto);
                else if (port < 1 || port > 65535 || hp < 0 || hp > 65535 || hpe < 0 || hpe > 65535 ||
                         (hp && hpe && hpe < hp) || (!hp && hpe))
                        r = nd_diag_set(d, -EINVAL, "port mapping %zu: ports must be 1-65535 (host range in order)", i);
                else if (hip && *hip && nd_addr_parse(hip, &s->host_ip) < 0)
                        r = nd_diag_set(d, -EINVAL, "port mapping %zu: bad host address '%.64s'", i, hip);
                if (r < 0) {
                        free(v);
                        return r;
                }
                s->proto = (uint8_t) proto;
                s->ctr = (uint16_t) port;
                s->host_lo = (uint16_t) hp;
                s->host_hi = (uint16_t) (hpe ? hpe : hp);
        }
        *ret = v;
        *n = json_array_size(pm);
        return 0;
}

json_t *nd_docker_portmap_to_json(const nd_published *p) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < p->n_bindings; i++) {
                const nd_port_binding *b = &p->bindings[i];
                char s[ND_ADDR_STRLEN];
                if (json_array_append_new(a, json_pack("{s:i, s:i, s:s, s:i, s:i}", "Proto", (int) b->proto, "Port",
                                                       (int) b->ctr_port, "HostIP",
                                                       b->host_ip.family ? nd_addr_fmt(&b->host_ip, s) : "",
                                                       "HostPort", (int) b->host_port, "HostPortEnd",
                                                       (int) b->host_port)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

int nd_docker_ipdata_parse(const json_t *arr, nd_docker_ipdata **ret, size_t *n) {
        size_t k = json_array_size(arr);
        json_t *e;
        size_t i;
        *ret = NULL;
        *n = 0;
        if (k == 0)
                return 0;
        nd_docker_ipdata *v = calloc(k, sizeof(*v));
        if (!v)
                return -ENOMEM;
        json_array_foreach(arr, i, e)
                v[i] = (nd_docker_ipdata) { .pool = json_string_value(json_object_get(e, "Pool")),
                                            .gateway = json_string_value(json_object_get(e, "Gateway")) };
        *ret = v;
        *n = k;
        return 0;
}

/* a container's address: unicast only */
int nd_docker_mac_parse(const char *s, uint8_t mac[6]) {
        uint8_t m[6];
        if (nd_mac_parse(s, m) < 0 || (m[0] & 1))
                return -EINVAL;
        memcpy(mac, m, 6);
        return 0;
}

int nd_docker_cidr_parse(const char *s, nd_addr *a, unsigned *plen) {
        char buf[ND_PREFIX_STRLEN];
        if (!s)
                return -EINVAL;
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t) (slash - s) : strlen(s);
        if (n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        if (nd_addr_parse(buf, a) < 0)
                return -EINVAL;
        *plen = 0;
        if (slash) {
                char *end;
                if (slash[1] < '0' || slash[1] > '9')
                        return -EINVAL;
                unsigned long l = strtoul(slash + 1, &end, 10);
                if (*end || l > nd_addr_bits(a->family))
                        return -EINVAL;
                *plen = (unsigned) l;
        }
        return 0;
}

const char *nd_docker_cidr_fmt(const nd_addr *a, unsigned plen, char buf[static ND_PREFIX_STRLEN]) {
        char s[ND_ADDR_STRLEN];
        snprintf(buf, ND_PREFIX_STRLEN, "%s/%u", nd_addr_fmt(a, s), plen);
        return buf;
}

static const struct {
        const char *docker, *netd;
} known_opts[] = {
        { "com.docker.network.driver.mtu", "mtu" },
        { "com.docker.network.bridge.name", "bridge.name" },
        { "mtu", "mtu" },
        { "bridge.name", "bridge.name" },
        { "com.docker.network.bridge.enable_icc", "bridge.enable_icc" },
        { "bridge.enable_icc", "bridge.enable_icc" },
        { "dns.ttl", "dns.ttl" },
        { "netd.network", NULL },  /* which network: core/docker-ipam.c */
};

size_t nd_docker_driver_opts(const json_t *generic, json_t *out, const char **first_ignored) {
        const char *k;
        json_t *v;
        size_t ignored = 0;
        *first_ignored = NULL;
        json_object_foreach((json_t *) generic, k, v) {
                bool known = false;
                for (size_t x = 0; x < ELEMENTSOF(known_opts) && !known; x++)
                        if (strcmp(k, known_opts[x].docker) == 0 && json_is_string(v)) {
                                if (known_opts[x].netd)
                                        json_object_set(out, known_opts[x].netd, v);
                                known = true;
                        }
                if (!known && !ignored++)
                        *first_ignored = k;
        }
        return ignored;
}

/* dockerd's answer (a container list, or one container's inspect) read
 * as a list; NULL when it is neither. */
static json_t *containers_load(const char *body, size_t len) {
        json_error_t err;
        json_t *a = json_loadb(body, len, 0, &err);
        if (json_is_object(a)) {
                /* one container (inspect): as a list of one */
                json_t *l = json_array();
                json_array_append_new(l, a);
                a = l;
        }
        if (!json_is_array(a)) {
                json_decref(a);
                return NULL;
        }
        return a;
}

/* The container of list @a attached to endpoint @eid, and its network
 * entry in *@ret_net; NULL when none is. */
static json_t *container_of_endpoint(json_t *a, const char *eid, json_t **ret_net) {
        json_t *c, *net;
        const char *k;
        size_t i;
        json_array_foreach(a, i, c)
                json_object_foreach(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), k, net) {
                        const char *e = json_string_value(json_object_get(net, "EndpointID"));
                        if (e && strcmp(e, eid) == 0) {
                                *ret_net = net;
                                return c;
                        }
                }
        return NULL;
}

int nd_docker_endpoint_name(const char *body, size_t len, const char *eid, char *name, size_t size, char *id,
                            char (*aliases)[65], size_t max, size_t *n_aliases) {
        json_t *a = containers_load(body, len), *c, *net = NULL, *v;
        const char *n = NULL, *cid = NULL;
        size_t x;
        int r = -ENOENT;

        *n_aliases = 0;
        if (!a)
                return -EINVAL;
        c = container_of_endpoint(a, eid, &net);
        if (c) {
                n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
                if (!n)
                        n = json_string_value(json_object_get(c, "Name"));
                cid = json_string_value(json_object_get(c, "Id"));
        }
        if (!n)
                goto out;
        if (*n == '/')
                n++;
        if (!*n || strlen(n) >= size || !cid || strlen(cid) > 64) {
                r = -EINVAL;
                goto out;
        }
        snprintf(name, size, "%s", n);
        if (id)
                snprintf(id, 65, "%s", cid);
        json_array_foreach(json_object_get(net, "Aliases"), x, v) {
                const char *al = json_string_value(v);
                if (*n_aliases < max && al && *al && strlen(al) < 65 && strcmp(al, name) != 0 &&
                    strncmp(cid, al, strlen(al)) != 0)
                        snprintf(aliases[(*n_aliases)++], 65, "%s", al);
        }
        r = 0;
out:
        json_decref(a);
        return r;
}

int nd_docker_container_label(const char *body, size_t len, const char *eid, const char *key, char *out,
                              size_t size) {
        json_t *a = containers_load(body, len), *c, *net, *labels, *v;
        int r = -ENOENT;

        if (!a)
                return -EINVAL;
        c = container_of_endpoint(a, eid, &net);
        if (c) {
                labels = json_object_get(c, "Labels");
                if (!labels)
                        labels = json_object_get(json_object_get(c, "Config"), "Labels");
                v = json_object_get(labels, key);
                if (v && (!json_is_string(v) || json_string_length(v) >= size))
                        r = -EINVAL;
                else if (v) {
                        memcpy(out, json_string_value(v), json_string_length(v) + 1);
                        r = 0;
                }
        }
        json_decref(a);
        return r;
}
