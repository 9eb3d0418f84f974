/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "netavark-proto.h"
#include "prefix.h"

/* netd's sandbox keys and its networks' limits (docs/api.md) */
#define CID_MAX 128
#define SUBNETS_MAX 4
#define ALIASES_MAX 8
#define PORTS_MAX 4096
#define DNS_SERVERS_MAX 3
/* netavark's default route metric (its bridge option "metric") */
#define ND_NV_METRIC "100"

static bool cid_ok(const char *s) {
        size_t n = strlen(s);
        return n > 0 && n <= CID_MAX && s[0] != '.' &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* An interface name the kernel takes that stays one segment of a path. */
static bool ifname_ok(const char *s) {
        size_t n = strlen(s);
        return n >= 1 && n < 16 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strpbrk(s, "/: \t\n\v\f\r?#%");
}

/* Podman's network names, which are netd's too: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
static bool net_name_ok(const char *s) {
        size_t n = strlen(s);
        return n >= 1 && n <= 64 && strchr("_.-", s[0]) == NULL &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static bool mac_ok(const char *s) {
        unsigned b[6];
        char tail;
        return strlen(s) == 17 && sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) == 6;
}

/* 4 or 6 for a textual address, 0 for anything else */
static int ip_family(const char *s) {
        unsigned char b[16];
        if (inet_pton(AF_INET, s, b) == 1)
                return 4;
        if (inet_pton(AF_INET6, s, b) == 1)
                return 6;
        return 0;
}

/* Field @key of @o: absent or null leaves *ret, else a string. */
static int opt_string(const json_t *o, const char *key, const char *ctx, const char **ret, nd_diag *d) {
        return nd_json_string(o, key, ctx, ret, d);
}

/* Field @key of @o: absent or null gives NULL, else an array of strings. */
static int opt_strings(const json_t *o, const char *key, const char *ctx, size_t max, json_t **ret, nd_diag *d) {
        json_t *a = json_object_get(o, key), *v;
        size_t i;
        *ret = NULL;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return nd_diag_set(d, -EINVAL, "%s: %s must be an array of strings", ctx, key);
        if (json_array_size(a) > max)
                return nd_diag_set(d, -EINVAL, "%s: at most %zu %s", ctx, max, key);
        json_array_foreach(a, i, v)
                if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                        return nd_diag_set(d, -EINVAL, "%s: %s must be an array of strings", ctx, key);
        *ret = a;
        return 0;
}

static int ip_list(const json_t *o, const char *key, const char *ctx, json_t **ret, nd_diag *d) {
        json_t *v;
        size_t i;
        int r = opt_strings(o, key, ctx, 64, ret, d);
        if (r < 0)
                return r;
        json_array_foreach(*ret, i, v)
                if (!ip_family(json_string_value(v)))
                        return nd_diag_set(d, -EINVAL, "%s: %s: '%.64s' is not an IP address", ctx, key,
                                           json_string_value(v));
        return 0;
}

/* ---- a Podman network's definition -> netd's network ---- */

/* The bridge options netd can honour; netavark refuses what it does not
 * know, and so do we rather than ignore it. */
static int options_check(const json_t *opts, const char *net, json_t *netd_opts, nd_diag *d) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *) opts, k, v) {
                const char *s = json_string_value(v);
                if (strcmp(k, "mtu") == 0) {
                        char *end;
                        long mtu = strtol(s, &end, 10);
                        if (!*s || *end || mtu < 0 || mtu > 65535)
                                return nd_diag_set(d, -EINVAL, "network %s: unable to parse mtu '%.32s'", net, s);
                        /* 0 is Podman's "the default" */
                        if (mtu > 0 && netd_opts)
                                json_object_set_new(netd_opts, "mtu", json_string(s));
                } else if (strcmp(k, "metric") == 0) {
                        char *end;
                        errno = 0;
                        unsigned long long m = *s && *s != '-' ? strtoull(s, &end, 10) : 0;
                        if (!*s || *s == '-' || *end || errno || m > UINT32_MAX)
                                return nd_diag_set(d, -EINVAL, "network %s: unable to parse metric '%.32s'", net, s);
                        if (netd_opts)
                                json_object_set_new(netd_opts, "metric", json_string(s));
                } else if (strcmp(k, "isolate") == 0) {
                        /* netd isolates its bridges from each other always */
                        if (strcmp(s, "true") && strcmp(s, "false") && strcmp(s, "strict") && strcmp(s, ""))
                                return nd_diag_set(d, -EINVAL, "network %s: unable to parse isolate '%.32s'", net, s);
                } else if (strcmp(k, ND_NV_OPTION) != 0)
                        return nd_diag_set(d, -EINVAL, "unsupported bridge network option %.64s", k);
        }
        return 0;
}

/* The POST /v1/networks body for Podman network @ni named @name;
 * @ipam_none: IPAM driver "none". */
static int create_body(const json_t *ni, const char *name, json_t *opts, bool ipam_none, json_t **ret, nd_diag *d) {
        static const char *ctx = "network_info";
        const char *iface = NULL, *id = "";
        bool internal = false, v6 = false, has4 = false, has6 = false;
        json_t *subnets = json_object_get(ni, "subnets"), *s;
        size_t i;
        int r;

        if ((r = opt_string(ni, "network_interface", ctx, &iface, d)) < 0 || (r = opt_string(ni, "id", ctx, &id, d)) < 0 ||
            (r = nd_json_bool(ni, "internal", ctx, &internal, d)) < 0 ||
            (r = nd_json_bool(ni, "ipv6_enabled", ctx, &v6, d)) < 0)
                return r;
        if (iface && *iface && !ifname_ok(iface))
                return nd_diag_set(d, -EINVAL, "network %s: invalid network_interface '%.32s'", name, iface);
        _cleanup_json_ json_t *cfg = json_array();
        _cleanup_json_ json_t *netd_opts = json_object();
        if (!cfg || !netd_opts)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (subnets && !json_is_null(subnets) && !json_is_array(subnets))
                return nd_diag_set(d, -EINVAL, "network %s: subnets must be an array", name);
        if (json_array_size(subnets) > SUBNETS_MAX)
                return nd_diag_set(d, -EINVAL, "network %s: netd takes at most %d subnets", name, SUBNETS_MAX);
        if (ipam_none && json_array_size(subnets))
                return nd_diag_set(d, -EINVAL, "network %s: ipam driver none takes no subnets", name);
        json_array_foreach(subnets, i, s) {
                const char *sub = NULL, *gw = NULL;
                nd_prefix p;
                nd_addr g;
                if (!json_is_object(s) || (r = opt_string(s, "subnet", "subnets", &sub, d)) < 0 ||
                    (r = opt_string(s, "gateway", "subnets", &gw, d)) < 0)
                        return r < 0 ? r : nd_diag_set(d, -EINVAL, "network %s: a subnet must be an object", name);
                if (!sub || nd_prefix_parse(sub, 0, &p, NULL) < 0)
                        return nd_diag_set(d, -EINVAL, "network %s: invalid subnet '%.64s'", name, sub ? sub : "");
                if (gw && (nd_addr_parse(gw, &g) < 0 || !nd_prefix_contains(&p, &g)))
                        return nd_diag_set(d, -EINVAL, "network %s: gateway '%.64s' is not in subnet %.64s", name, gw,
                                           sub);
                /* Podman keeps the address it was given; netd wants the prefix */
                char canon[ND_PREFIX_STRLEN];
                nd_prefix_canon(&p);
                json_t *c = json_pack("{s:s}", "Subnet", nd_prefix_fmt(&p, canon));
                if (gw && c)
                        json_object_set_new(c, "Gateway", json_string(gw));
                if (!c || json_array_append_new(cfg, c) < 0)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
                has4 |= p.addr.family == AF_INET;
                has6 |= p.addr.family == AF_INET6;
        }
        /* netavark's ipv6_enabled without an IPv6 subnet gives link-local
         * addresses only: netd's IPv6 wants a subnet, so it follows them */
        v6 = has6;
        if (opts && (r = options_check(opts, name, netd_opts, d)) < 0)
                return r;
        /* netavark's default route metric, where netd leaves the kernel's */
        if (!json_object_get(netd_opts, "metric"))
                json_object_set_new(netd_opts, "metric", json_string(ND_NV_METRIC));
        if (iface && *iface)
                json_object_set_new(netd_opts, "bridge.name", json_string(iface));
        /* only IPv6 subnets: an IPv6-only network, as netavark makes it
         * (netd would add an IPv4 subnet of its own) */
        *ret = json_pack("{s:s, s:s, s:b, s:b, s:b, s:{s:s, s:O}, s:O, s:{s:s}}", "Name", name, "Driver", "bridge",
                         "Internal", internal, "EnableIPv4", has4 || !has6, "EnableIPv6", v6, "IPAM", "Driver",
                         ipam_none ? "none" : "default", "Config", cfg, "Options", netd_opts, "Labels", ND_NV_LABEL,
                         id);
        return *ret ? 0 : nd_diag_set(d, -ENOMEM, "out of memory");
}

/* ---- port_mappings -> -p strings ---- */

static int port_strings(const json_t *pm, json_t *out, nd_diag *d) {
        json_t *m;
        size_t i;
        if (!pm || json_is_null(pm))
                return 0;
        if (!json_is_array(pm) || json_array_size(pm) > PORTS_MAX)
                return nd_diag_set(d, -EINVAL, "port_mappings must be an array of at most %d mappings", PORTS_MAX);
        json_array_foreach(pm, i, m) {
                const char *hip = "", *proto = "tcp";
                json_t *cp = json_object_get(m, "container_port"), *hp = json_object_get(m, "host_port"),
                       *rg = json_object_get(m, "range");
                int r = 0;
                if (!json_is_object(m) || (r = opt_string(m, "host_ip", "port_mappings", &hip, d)) < 0 ||
                    (r = opt_string(m, "protocol", "port_mappings", &proto, d)) < 0)
                        return r < 0 ? r : nd_diag_set(d, -EINVAL, "port_mappings: a mapping must be an object");
                if (!json_is_integer(cp) || (hp && !json_is_integer(hp)) || (rg && !json_is_null(rg) && !json_is_integer(rg)))
                        return nd_diag_set(d, -EINVAL, "port_mappings: container_port, host_port and range must be numbers");
                json_int_t c = json_integer_value(cp), h = json_integer_value(hp), n = rg ? json_integer_value(rg) : 1;
                if (n == 0)
                        n = 1;
                /* n is compared before it is added: a range near INT64_MAX would wrap c + n - 1. */
                if (c < 1 || c > 65535 || h < 0 || h > 65535 || n < 1 || n > 65536 - c || n > 65536 - h)
                        return nd_diag_set(d, -EINVAL, "port_mappings: ports out of range (container %lld, host %lld, range %lld)",
                                           (long long) c, (long long) h, (long long) n);
                int fam = *hip ? ip_family(hip) : 0;
                if (*hip && !fam)
                        return nd_diag_set(d, -EINVAL, "port_mappings: invalid host_ip '%.64s'", hip);
                char host[80] = "", ports[32];
                if (fam)
                        snprintf(host, sizeof(host), fam == 6 ? "[%s]:" : "%s:", hip);
                if (h == 0 && n == 1)
                        snprintf(ports, sizeof(ports), "%s%lld", *host ? ":" : "", (long long) c);
                else if (h == 0)
                        snprintf(ports, sizeof(ports), "%s%lld-%lld", *host ? ":" : "", (long long) c, (long long) (c + n - 1));
                else if (n == 1)
                        snprintf(ports, sizeof(ports), "%lld:%lld", (long long) h, (long long) c);
                else
                        snprintf(ports, sizeof(ports), "%lld-%lld:%lld-%lld", (long long) h, (long long) (h + n - 1),
                                 (long long) c, (long long) (c + n - 1));
                /* "tcp,udp": one mapping per protocol */
                const char *p = *proto ? proto : "tcp";
                while (*p) {
                        size_t l = strcspn(p, ",");
                        if (!((l == 3 && (!strncmp(p, "tcp", 3) || !strncmp(p, "udp", 3))) || (l == 4 && !strncmp(p, "sctp", 4))))
                                return nd_diag_set(d, -EINVAL, "port_mappings: unsupported protocol '%.*s'", (int) (l > 16 ? 16 : l), p);
                        char spec[160];
                        snprintf(spec, sizeof(spec), "%s%s/%.*s", host, ports, (int) l, p);
                        if (json_array_append_new(out, json_string(spec)) < 0)
                                return nd_diag_set(d, -ENOMEM, "out of memory");
                        p += l + (p[l] == ',');
                }
        }
        return 0;
}

/* ---- one network of the container ---- */

static int net_parse(nd_nv_call *c, const char *name, const json_t *ni, const json_t *pn, const char *netns,
                     json_t *dns_servers, nd_nv_net *ret, nd_diag *d) {
        const char *driver = NULL, *ifname = NULL, *mac = NULL, *ipam = NULL;
        json_t *opts = NULL, *ipam_opts = NULL, *static_ips, *aliases, *net_dns;
        const char *ip4 = NULL, *ip6 = NULL;
        json_t *v;
        size_t i;
        int r;

        ret->name = name;
        if (!net_name_ok(name))
                return nd_diag_set(d, -EINVAL, "invalid network name '%.64s'", name);
        if (!json_is_object(ni))
                return nd_diag_set(d, -EINVAL, "network_info: %s must be an object", name);
        if (!json_is_object(pn))
                return nd_diag_set(d, -EINVAL, "network options for network %s not found", name);
        if ((r = opt_string(ni, "driver", "network_info", &driver, d)) < 0 ||
            (r = nd_json_string_map(ni, "options", "network_info", &opts, d)) < 0 ||
            (r = nd_json_string_map(ni, "ipam_options", "network_info", &ipam_opts, d)) < 0 ||
            (r = nd_json_bool(ni, "dns_enabled", "network_info", &ret->dns, d)) < 0 ||
            (r = ip_list(ni, "network_dns_servers", "network_info", &net_dns, d)) < 0 ||
            (r = opt_string(pn, "interface_name", "networks", &ifname, d)) < 0 ||
            (r = opt_string(pn, "static_mac", "networks", &mac, d)) < 0 ||
            (r = ip_list(pn, "static_ips", "networks", &static_ips, d)) < 0 ||
            (r = opt_strings(pn, "aliases", "networks", ALIASES_MAX, &aliases, d)) < 0)
                return r;
        if (!driver || strcmp(driver, "bridge") != 0)
                return nd_diag_set(d, -EINVAL, "unknown network driver %.32s", driver ? driver : "");
        if (ipam_opts && (r = opt_string(ipam_opts, "driver", "ipam_options", &ipam, d)) < 0)
                return r;
        if (ipam && strcmp(ipam, "host-local") != 0 && strcmp(ipam, "none") != 0)
                return nd_diag_set(d, -EINVAL, "unsupported ipam driver %.32s", ipam);
        if (!ifname || !ifname_ok(ifname))
                return nd_diag_set(d, -EINVAL, "network %s: interface_name must be an interface name of 1-15 characters", name);
        if (mac && *mac && !mac_ok(mac))
                return nd_diag_set(d, -EINVAL, "network %s: invalid static_mac '%.32s'", name, mac);
        ret->ifname = ifname;
        json_array_foreach(static_ips, i, v) {
                const char **slot = ip_family(json_string_value(v)) == 4 ? &ip4 : &ip6;
                if (*slot)
                        return nd_diag_set(d, -EINVAL, "network %s: netd gives one address per family on a network", name);
                *slot = json_string_value(v);
        }
        /* Podman 4 refuses bridge options it does not know, and passes
         * the network's labels on: the label is the form it takes */
        const char *on = json_string_value(json_object_get(json_object_get(ni, "labels"), ND_NV_OPTION));
        if (!on && opts)
                on = json_string_value(json_object_get(opts, ND_NV_OPTION));
        ret->operator_net = on != NULL;
        ret->netd_name = on ? on : name;
        if (on && !net_name_ok(on))
                return nd_diag_set(d, -EINVAL, "network %s: option %s: invalid netd network name '%.64s'", name,
                                   ND_NV_OPTION, on);
        if (on) {
                /* the netd network is as the operator made it; the options
                 * are still checked, as Podman's definition is */
                if (opts && (r = options_check(opts, name, NULL, d)) < 0)
                        return r;
        } else if ((r = create_body(ni, name, opts, ipam && strcmp(ipam, "none") == 0, &ret->create, d)) < 0)
                return r;

        if (snprintf(ret->path, sizeof(ret->path), "/v1/sandboxes/%s/%s", c->container_id, ifname) >= (int) sizeof(ret->path))
                return nd_diag_set(d, -EINVAL, "container_id too long");
        ret->attach = json_pack("{s:s, s:s, s:s, s:s}", "ContainerID", c->container_id, "IfName", ifname, "Netns",
                                netns, "Network", ret->netd_name);
        if (!ret->attach)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        /* netd's names are DNS labels; a Podman name that is not one is
         * only not resolvable, as with aardvark */
        if (c->container_name[0] && strlen(c->container_name) <= 63 && !strpbrk(c->container_name, "_."))
                json_object_set_new(ret->attach, "Name", json_string(c->container_name));
        if (ip4 && !on)
                json_object_set_new(ret->attach, "IPv4Address", json_string(ip4));
        if (ip6 && !on)
                json_object_set_new(ret->attach, "IPv6Address", json_string(ip6));
        if (mac && *mac)
                json_object_set_new(ret->attach, "MacAddress", json_string(mac));
        if (aliases && ret->dns) {
                /* Podman lists the container's name and id among them */
                json_t *al = json_array();
                json_array_foreach(aliases, i, v) {
                        const char *a = json_string_value(v);
                        if (strcmp(a, c->container_name) != 0 && strlen(a) <= 63 && !strpbrk(a, "_.") &&
                            strncmp(c->container_id, a, strlen(a)) != 0)
                                json_array_append(al, v);
                }
                json_object_set_new(ret->attach, "Aliases", al);
        }
        /* the container's servers, else the network's (aardvark's order) */
        json_t *ups = json_array_size(dns_servers) ? dns_servers : net_dns;
        if (json_array_size(ups) > DNS_SERVERS_MAX)
                return nd_diag_set(d, -EINVAL, "at most %d DNS servers", DNS_SERVERS_MAX);
        if (json_array_size(ups))
                json_object_set(ret->attach, "DnsServers", ups);
        /* the container's own stay when the network's are updated */
        if (json_array_size(dns_servers))
                json_object_set_new(ret->attach, "DnsServersOwn", json_true());
        return 0;
}

static int net_cmp(const void *a, const void *b) {
        return strcmp(((const nd_nv_net *) a)->name, ((const nd_nv_net *) b)->name);
}

int nd_nv_parse(const char *input, size_t len, const char *netns, nd_nv_call *ret, nd_diag *d) {
        static const char *ctx = "network options";
        json_t *nets, *info, *dns, *v;
        const char *k;
        int r;

        *ret = (nd_nv_call) {};
        if ((r = nd_json_parse_object(input, len, &ret->opts, d)) < 0)
                return r;
        ret->container_name = "";
        if ((r = opt_string(ret->opts, "container_id", ctx, &ret->container_id, d)) < 0 ||
            (r = opt_string(ret->opts, "container_name", ctx, &ret->container_name, d)) < 0 ||
            (r = ip_list(ret->opts, "dns_servers", ctx, &dns, d)) < 0)
                return r;
        if (!ret->container_id || !cid_ok(ret->container_id))
                return nd_diag_set(d, -EINVAL, "container_id: 1-%d characters of [A-Za-z0-9_.-] required", CID_MAX);
        nets = json_object_get(ret->opts, "networks");
        info = json_object_get(ret->opts, "network_info");
        if (!json_is_object(nets) || !json_is_object(info))
                return nd_diag_set(d, -EINVAL, "networks and network_info must be objects");
        size_t n = json_object_size(info);
        if (n == 0 || n > ND_NV_NETS_MAX)
                return nd_diag_set(d, -EINVAL, "network_info: 1-%d networks required", ND_NV_NETS_MAX);
        if (!(ret->nets = calloc(n, sizeof(*ret->nets))))
                return nd_diag_set(d, -ENOMEM, "out of memory");
        json_object_foreach(info, k, v) {
                nd_nv_net *nn = &ret->nets[ret->n_nets++];
                if ((r = net_parse(ret, k, v, json_object_get(nets, k), netns, dns, nn, d)) < 0)
                        return r;
        }
        qsort(ret->nets, ret->n_nets, sizeof(*ret->nets), net_cmp);
        for (size_t i = 1; i < ret->n_nets; i++)
                if (strcmp(ret->nets[i].ifname, ret->nets[i - 1].ifname) == 0)
                        return nd_diag_set(d, -EINVAL, "networks %s and %s name the same interface %s",
                                           ret->nets[i - 1].name, ret->nets[i].name, ret->nets[i].ifname);

        _cleanup_json_ json_t *ports = json_array();
        if (!ports)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if ((r = port_strings(json_object_get(ret->opts, "port_mappings"), ports, d)) < 0)
                return r;
        if (json_array_size(ports)) {
                nd_nv_net *to = &ret->nets[0];
                for (size_t i = 0; i < ret->n_nets; i++)
                        if (!json_is_true(json_object_get(ret->nets[i].create, "Internal"))) {
                                to = &ret->nets[i];
                                break;
                        }
                json_object_set(to->attach, "Ports", ports);
        }
        return 0;
}

void nd_nv_call_done(nd_nv_call *c) {
        for (size_t i = 0; i < c->n_nets; i++) {
                json_decref(c->nets[i].create);
                json_decref(c->nets[i].attach);
        }
        free(c->nets);
        json_decref(c->opts);
        *c = (nd_nv_call) {};
}

void nd_nv_net_forget_static_ips(nd_nv_net *n) {
        json_object_del(n->attach, "IPv4Address");
        json_object_del(n->attach, "IPv6Address");
}

bool nd_nv_network_is_ours(const json_t *net) {
        return json_is_string(json_object_get(json_object_get(net, "Labels"), ND_NV_LABEL));
}

json_t *nd_nv_status_block(const nd_nv_net *n, const json_t *sbx) {
        const char *ifn = json_string_value(json_object_get(sbx, "IfName"));
        const char *mac = json_string_value(json_object_get(sbx, "MacAddress"));
        static const char *const f[2][3] = { { "IPv4Address", "IPv4PrefixLen", "IPv4Gateway" },
                                             { "IPv6Address", "IPv6PrefixLen", "IPv6Gateway" } };
        if (!ifn || !mac)
                return NULL;
        _cleanup_json_ json_t *subnets = json_array();
        if (!subnets)
                return NULL;
        for (int i = 0; i < 2; i++) {
                const char *a = json_string_value(json_object_get(sbx, f[i][0]));
                const char *gw = json_string_value(json_object_get(sbx, f[i][2]));
                json_int_t plen = json_integer_value(json_object_get(sbx, f[i][1]));
                char ipnet[80];
                if (!a || !*a)
                        continue;
                snprintf(ipnet, sizeof(ipnet), "%.64s/%lld", a, (long long) plen);
                json_t *s = json_pack("{s:s}", "ipnet", ipnet);
                if (s && gw && *gw)
                        json_object_set_new(s, "gateway", json_string(gw));
                if (!s || json_array_append_new(subnets, s) < 0)
                        return NULL;
        }
        /* names resolve through netd's resolver in the namespace; Podman
         * writes it into resolv.conf when the network has DNS */
        return json_pack("{s:{s:{s:s, s:O}}, s:[], s:[s*]}", "interfaces", ifn, "mac_address", mac, "subnets", subnets,
                         "dns_search_domains", "dns_server_ips", n->dns ? ND_NV_RESOLVER : NULL);
}

/* ---- create: a Podman network definition completed ---- */

static bool in_strings(const json_t *a, const char *s) {
        json_t *v;
        size_t i;
        json_array_foreach(a, i, v)
                if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
                        return true;
        return false;
}

/* The first prefix of length @size inside @base that overlaps none of
 * @used (CIDR strings; bad ones are skipped), or -ENOSPC.  At most 2^16
 * candidates per pool: Podman's pools are a /16 of /24s. */
static int pool_pick(const nd_prefix *base, unsigned size, const json_t *used, nd_prefix *ret) {
        unsigned bits = nd_addr_bits(base->addr.family);
        if (size == 0 || size < base->len || size > bits)
                return -EINVAL;
        unsigned span = size - base->len;
        nd_u128 n = span >= 16 ? (nd_u128) 1 << 16 : (nd_u128) 1 << span;
        nd_u128 first = nd_prefix_first(base), step = (nd_u128) 1 << (bits - size);
        for (nd_u128 i = 0; i < n; i++) {
                nd_prefix p = { .len = size };
                json_t *v;
                size_t k;
                bool clash = false;
                nd_addr_from_u128(base->addr.family, first + i * step, &p.addr);
                json_array_foreach(used, k, v) {
                        nd_prefix u;
                        if (json_is_string(v) && nd_prefix_parse(json_string_value(v), 0, &u, NULL) == 0 &&
                            nd_prefix_overlap(&p, &u)) {
                                clash = true;
                                break;
                        }
                }
                if (!clash) {
                        *ret = p;
                        return 0;
                }
        }
        return -ENOSPC;
}

static int complete_subnets(json_t *net, const char *name, const json_t *used, const json_t *opts, bool gateway,
                            nd_diag *d) {
        json_t *subnets = json_object_get(net, "subnets"), *s;
        size_t i;
        if (!subnets || json_is_null(subnets) || json_array_size(subnets) == 0) {
                json_t *pools = json_object_get(opts, "subnet_pools"), *pool;
                nd_prefix got = {};
                bool found = false;
                json_array_foreach(pools, i, pool) {
                        const char *b = json_string_value(json_object_get(pool, "base"));
                        json_int_t size = json_integer_value(json_object_get(pool, "size"));
                        nd_prefix base;
                        /* size 0 would be the whole address space, and for IPv6 a shift by 128 */
                        if (!b || nd_prefix_parse(b, 0, &base, NULL) < 0 || size < 1 || size > 128)
                                return nd_diag_set(d, -EINVAL, "invalid subnet pool: want a base prefix and a size from 1 to 128");
                        nd_prefix_canon(&base);
                        if (pool_pick(&base, (unsigned) size, used, &got) == 0) {
                                found = true;
                                break;
                        }
                }
                if (!found)
                        return nd_diag_set(d, -ENOSPC, "could not find free subnet from subnet pools");
                char buf[ND_PREFIX_STRLEN];
                subnets = json_pack("[{s:s}]", "subnet", nd_prefix_fmt(&got, buf));
                if (!subnets || json_object_set_new(net, "subnets", subnets) < 0)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        if (!json_is_array(subnets) || json_array_size(subnets) > SUBNETS_MAX)
                return nd_diag_set(d, -EINVAL, "network %s: subnets must be an array of at most %d", name, SUBNETS_MAX);
        bool v6 = false;
        json_array_foreach(subnets, i, s) {
                const char *sub = json_string_value(json_object_get(s, "subnet"));
                const char *gw = json_string_value(json_object_get(s, "gateway"));
                nd_prefix p;
                nd_addr g;
                char buf[ND_PREFIX_STRLEN], gbuf[ND_ADDR_STRLEN];
                if (!json_is_object(s) || !sub || nd_prefix_parse(sub, 0, &p, NULL) < 0)
                        return nd_diag_set(d, -EINVAL, "network %s: invalid subnet '%.64s'", name, sub ? sub : "");
                nd_prefix_canon(&p);
                json_object_set_new(s, "subnet", json_string(nd_prefix_fmt(&p, buf)));
                if (gw && (nd_addr_parse(gw, &g) < 0 || !nd_prefix_contains(&p, &g)))
                        return nd_diag_set(d, -EINVAL, "gateway %.64s not in subnet %.64s", gw, buf);
                if (!gw && gateway && p.len + 1 < nd_addr_bits(p.addr.family)) {
                        nd_addr_from_u128(p.addr.family, nd_prefix_first(&p) + 1, &g);
                        json_object_set_new(s, "gateway", json_string(nd_addr_fmt(&g, gbuf)));
                }
                v6 |= p.addr.family == AF_INET6;
        }
        json_object_set_new(net, "ipv6_enabled", json_boolean(v6));
        return 0;
}

int nd_nv_network_complete(const char *input, size_t len, json_t **ret, nd_diag *d) {
        _cleanup_json_ json_t *in = NULL;
        const char *name = NULL, *driver = "bridge", *iface = NULL, *ipam = NULL;
        json_t *opts = NULL, *ipam_opts = NULL, *dns_servers;
        bool internal = false, dns = false;
        int r;

        *ret = NULL;
        if ((r = nd_json_parse_object(input, len, &in, d)) < 0)
                return r;
        json_t *net = json_object_get(in, "network");
        if (!net)
                net = in;      /* a bare network definition */
        json_t *used = json_object_get(in, "used"), *copts = json_object_get(in, "options");
        if (!json_is_object(net))
                return nd_diag_set(d, -EINVAL, "network must be an object");
        _cleanup_json_ json_t *out = json_deep_copy(net);
        if (!out)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if ((r = opt_string(out, "name", "network", &name, d)) < 0 || (r = opt_string(out, "driver", "network", &driver, d)) < 0 ||
            (r = opt_string(out, "network_interface", "network", &iface, d)) < 0 ||
            (r = nd_json_bool(out, "internal", "network", &internal, d)) < 0 ||
            (r = nd_json_bool(out, "dns_enabled", "network", &dns, d)) < 0 ||
            (r = nd_json_string_map(out, "options", "network", &opts, d)) < 0 ||
            (r = nd_json_string_map(out, "ipam_options", "network", &ipam_opts, d)) < 0 ||
            (r = ip_list(out, "network_dns_servers", "network", &dns_servers, d)) < 0)
                return r;
        if (!name || !*name)
                return nd_diag_set(d, -EINVAL, "network name cannot be empty");
        if (!net_name_ok(name))
                return nd_diag_set(d, -EINVAL, "network name %.64s invalid: must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}", name);
        if (json_object_get(json_object_get(used, "names"), name))
                return nd_diag_set(d, -EEXIST, "network already exists %s", name);
        if (strcmp(driver, "bridge") != 0)
                return nd_diag_set(d, -EINVAL, "unsupported driver %.32s", driver);
        if (ipam_opts && (r = opt_string(ipam_opts, "driver", "ipam_options", &ipam, d)) < 0)
                return r;
        if (ipam && strcmp(ipam, "host-local") != 0 && strcmp(ipam, "none") != 0)
                return nd_diag_set(d, -EINVAL, "unsupported ipam driver %.32s", ipam);
        if (opts && (r = options_check(opts, name, NULL, d)) < 0)
                return r;
        json_t *used_ifs = json_object_get(used, "interfaces");
        if (iface && *iface) {
                if (!ifname_ok(iface))
                        return nd_diag_set(d, -EINVAL, "interface name %.32s invalid", iface);
                if (in_strings(used_ifs, iface))
                        return nd_diag_set(d, -EEXIST, "bridge name %s already in use", iface);
        } else {
                const char *prefix = json_string_value(json_object_get(copts, "default_interface_name"));
                char buf[16];
                if (!prefix || !*prefix || strlen(prefix) > 10)
                        prefix = "podman";
                for (unsigned i = 0;; i++) {
                        if (i > 99999)
                                return nd_diag_set(d, -ENOSPC, "no free bridge name");
                        snprintf(buf, sizeof(buf), "%s%u", prefix, i);
                        if (!in_strings(used_ifs, buf))
                                break;
                }
                json_object_set_new(out, "network_interface", json_string(buf));
        }
        json_object_set_new(out, "driver", json_string("bridge"));
        if (!ipam_opts)
                json_object_set_new(out, "ipam_options", json_pack("{s:s}", "driver", "host-local"));
        if (json_array_size(dns_servers) && !dns)
                return nd_diag_set(d, -EINVAL, "cannot set NetworkDNSServers if DNS is not enabled for the network");
        if (ipam && strcmp(ipam, "none") == 0) {
                /* no addresses: no subnets to pick, none to accept */
                if (json_array_size(json_object_get(out, "subnets")))
                        return nd_diag_set(d, -EINVAL, "network %s: ipam driver none takes no subnets", name);
                json_object_set_new(out, "subnets", json_array());
                json_object_set_new(out, "ipv6_enabled", json_false());
        } else if ((r = complete_subnets(out, name, json_object_get(used, "subnets"), copts, !internal || dns, d)) < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}
