/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "diag.h"
#include "json-util.h"
#include "network.h"
#include "subnet.h"

static const char *const driver_names[_ND_DRIVER_MAX] = {
        [ND_DRIVER_BRIDGE] = "bridge",
        [ND_DRIVER_OVERLAY] = "overlay",
};

const char *nd_driver_to_string(nd_driver d) {
        return d >= 0 && d < _ND_DRIVER_MAX ? driver_names[d] : NULL;
}

nd_driver nd_driver_from_string(const char *s) {
        for (int i = 0; s && i < _ND_DRIVER_MAX; i++)
                if (strcmp(driver_names[i], s) == 0)
                        return (nd_driver) i;
        return _ND_DRIVER_INVALID;
}

int nd_id_new(char ret[static ND_ID_LEN + 1]) {
        uint8_t b[ND_ID_LEN / 2];
        size_t got = 0;
        while (got < sizeof(b)) {
                ssize_t k = getrandom(b + got, sizeof(b) - got, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t) k;
        }
        for (size_t i = 0; i < sizeof(b); i++)
                snprintf(ret + 2 * i, 3, "%02x", b[i]);
        return 0;
}

void nd_id_derive(const char *text, char ret[static ND_ID_LEN + 1]) {
        /* four FNV-1a 64 hashes of the text, each seeded differently */
        for (int k = 0; k < 4; k++) {
                uint64_t h = 14695981039346656037ull ^ (uint64_t) (k + 1) * 0x9e3779b97f4a7c15ull;
                for (const char *p = text; *p; p++)
                        h = (h ^ (uint8_t) *p) * 1099511628211ull;
                snprintf(ret + 16 * k, 17, "%016llx", (unsigned long long) h);
        }
}

bool nd_id_valid(const char *id) {
        if (!id || strlen(id) != ND_ID_LEN)
                return false;
        return strspn(id, "0123456789abcdef") == ND_ID_LEN;
}

int nd_ref_resolve(const char *ref, const void *objs, size_t n, nd_ref_get_fn get) {
        size_t len = ref ? strlen(ref) : 0, hits = 0, match = 0;
        const char *name, *id;

        if (len == 0)
                return -ENOENT;
        for (size_t i = 0; i < n; i++)
                if (get(objs, i, &name, &id) && strcmp(name, ref) == 0)
                        return (int) i;
        for (size_t i = 0; i < n; i++)
                if (get(objs, i, &name, &id) && strncmp(id, ref, len) == 0) {
                        if (len == ND_ID_LEN)
                                return (int) i;
                        match = i;
                        hits++;
                }
        if (hits > 1)
                return -ENOTUNIQ;
        return hits ? (int) match : -ENOENT;
}

int nd_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n > ND_NAME_MAX)
                return -EINVAL;
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]))
                return -EINVAL;
        if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
                return -EINVAL;
        return 0;
}

/* ---- options --------------------------------------------------------------- */

static int opt_mtu(nd_network_spec *s, const char *v, nd_diag *d) {
        char *end;
        errno = 0;
        unsigned long mtu = strtoul(v, &end, 10);
        if (errno || *end || !*v || mtu < 68 || mtu > 65535)
                return nd_diag_set(d, -EINVAL, "option mtu='%.32s': must be a number between 68 and 65535", v);
        s->mtu = (unsigned) mtu;
        return 0;
}

static int opt_ifname(nd_network_spec *s, const char *v, nd_diag *d) {
        size_t n = strlen(v);
        if (n == 0 || n >= IFNAMSIZ || strcmp(v, ".") == 0 || strcmp(v, "..") == 0 ||
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
                return nd_diag_set(d, -EINVAL,
                                   "option bridge.name='%.32s': must be 1-%d characters of [A-Za-z0-9_.-]", v,
                                   IFNAMSIZ - 1);
        return 0;
}

/* TTL of the embedded DNS's answers for this network's names */
static int opt_dns_ttl(nd_network_spec *s, const char *v, nd_diag *d) {
        char *end;
        unsigned long t = v && *v ? strtoul(v, &end, 10) : 0;
        if (!v || !*v || *end || t > 86400)
                return nd_diag_set(d, -EINVAL, "option dns.ttl: want 0-86400 seconds");
        return 0;
}

/* Go's strconv.ParseBool, which dockerd reads the option with */
static int parse_bool(const char *v) {
        static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" },
                                 *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
        for (size_t i = 0; v && i < ELEMENTSOF(t); i++) {
                if (strcmp(v, t[i]) == 0)
                        return 1;
                if (strcmp(v, f[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static int opt_icc(nd_network_spec *s, const char *v, nd_diag *d) {
        if (parse_bool(v) < 0)
                return nd_diag_set(d, -EINVAL, "option enable_icc='%.32s': want true or false", v ? v : "");
        return 0;
}

static int overlay_only(const nd_network_spec *s, const char *opt, nd_diag *d) {
        if (s->driver != ND_DRIVER_OVERLAY)
                return nd_diag_set(d, -EINVAL, "option %s is for overlay networks (-d overlay)", opt);
        return 0;
}

/* encapsulation of an overlay network */
static int opt_encap(nd_network_spec *s, const char *v, nd_diag *d) {
        if (overlay_only(s, "encap", d) < 0)
                return -EINVAL;
        if (!v || (strcmp(v, "vxlan") != 0 && strcmp(v, "gre") != 0))
                return nd_diag_set(d, -EINVAL, "option encap='%.32s': want vxlan or gre", v ? v : "");
        return 0;
}

/* the VXLAN network identifier / GRE key (24 bits; 0 is reserved) */
static int opt_vni(nd_network_spec *s, const char *v, nd_diag *d) {
        char *end;
        if (overlay_only(s, "vni", d) < 0)
                return -EINVAL;
        errno = 0;
        unsigned long n = v && *v ? strtoul(v, &end, 10) : 0;
        if (!v || !*v || *end || errno || n < 1 || n > 0xffffff)
                return nd_diag_set(d, -EINVAL, "option vni='%.32s': want 1-16777215", v ? v : "");
        return 0;
}

/* the prefix length of the address blocks hosts claim (cluster IPAM) */
static int opt_block(nd_network_spec *s, const char *v, nd_diag *d) {
        char *end;
        if (overlay_only(s, "ipam.block", d) < 0)
                return -EINVAL;
        unsigned long n = v && *v ? strtoul(v, &end, 10) : 0;
        if (!v || !*v || *end || n < 8 || n > 126)
                return nd_diag_set(d, -EINVAL, "option ipam.block='%.32s': want a prefix length", v ? v : "");
        return 0;
}

/* the metric of the endpoints' default routes (netavark's option; a
 * container on several networks routes through the lowest) */
static int opt_metric(nd_network_spec *s, const char *v, nd_diag *d) {
        char *end;
        errno = 0;
        unsigned long long n = v && *v && *v != '-' ? strtoull(v, &end, 10) : 0;
        if (!v || !*v || *v == '-' || *end || errno || n > UINT32_MAX)
                return nd_diag_set(d, -EINVAL, "option metric='%.32s': want 0-4294967295", v ? v : "");
        return 0;
}

static const struct {
        const char *key;
        int (*check)(nd_network_spec *s, const char *v, nd_diag *d);
} known_options[] = {
        { "encap", opt_encap },
        { "vni", opt_vni },
        { "ipam.block", opt_block },
        { "dns.ttl", opt_dns_ttl },
        { "mtu", opt_mtu },
        { "metric", opt_metric },
        { "com.docker.network.driver.mtu", opt_mtu },
        { "bridge.name", opt_ifname },
        { "com.docker.network.bridge.name", opt_ifname },
        { "bridge.enable_icc", opt_icc },
        { "com.docker.network.bridge.enable_icc", opt_icc },
};

static int options_check(nd_network_spec *s, nd_diag *d) {
        const char *k;
        json_t *v;
        json_object_foreach(s->options, k, v) {
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(known_options); i++)
                        if (strcmp(k, known_options[i].key) == 0) {
                                int r = known_options[i].check(s, json_string_value(v), d);
                                if (r < 0)
                                        return r;
                                ok = true;
                        }
                if (!ok)
                        return nd_diag_set(d, -EINVAL, "unknown option '%.64s' (known: mtu, metric, bridge.name, bridge.enable_icc, dns.ttl; overlay: encap, vni, ipam.block)", k);
        }
        return 0;
}

/* ---- the spec ----------------------------------------------------------- */

/* AuxiliaryAddresses {"NAME": "IP"}: inside the subnet, not its network
 * or broadcast address, not the gateway, each address once. */
static int aux_from_json(const json_t *aux, const char *ctx, nd_ipam_config *c, nd_diag *d) {
        char b[ND_PREFIX_STRLEN];
        const char *k;
        json_t *v;

        if (!aux || json_is_null(aux))
                return 0;
        if (!json_is_object(aux))
                return nd_diag_set(d, -EINVAL, "%s: AuxiliaryAddresses must be an object of NAME: IP", ctx);
        if (json_object_size(aux) > ND_IPAM_MAX_AUX)
                return nd_diag_set(d, -EINVAL, "%s: at most %d auxiliary addresses per subnet", ctx,
                                   ND_IPAM_MAX_AUX);
        json_object_foreach((json_t *) aux, k, v) {
                nd_aux_addr *x = &c->aux[c->n_aux];
                const char *ip = json_string_value(v);
                if (nd_name_valid(k) < 0)
                        return nd_diag_set(d, -EINVAL, "%s: invalid auxiliary address name '%.64s': use 1-%d "
                                           "characters of [a-zA-Z0-9_.-]", ctx, k, ND_NAME_MAX);
                if (!ip || nd_addr_parse(ip, &x->addr) < 0)
                        return nd_diag_set(d, -EINVAL, "%s: auxiliary address '%s': invalid IP address", ctx, k);
                if (!nd_prefix_contains(&c->subnet, &x->addr))
                        return nd_diag_set(d, -EINVAL, "auxiliary address '%s' (%s) is not inside subnet '%s'", k,
                                           ip, nd_prefix_fmt(&c->subnet, b));
                nd_u128 a = nd_addr_to_u128(&x->addr);
                if (a == nd_prefix_first(&c->subnet) ||
                    (c->subnet.addr.family == AF_INET && a == nd_prefix_last(&c->subnet)))
                        return nd_diag_set(d, -EINVAL, "auxiliary address '%s' (%s) is the %s address of subnet "
                                           "'%s'", k, ip, a == nd_prefix_first(&c->subnet) ? "network" : "broadcast",
                                           nd_prefix_fmt(&c->subnet, b));
                if (c->gateway.family && nd_addr_equal(&c->gateway, &x->addr))
                        return nd_diag_set(d, -EINVAL, "auxiliary address '%s' (%s) is the gateway", k, ip);
                for (size_t i = 0; i < c->n_aux; i++)
                        if (nd_addr_equal(&c->aux[i].addr, &x->addr))
                                return nd_diag_set(d, -EINVAL, "auxiliary addresses '%s' and '%s' are both %s",
                                                   c->aux[i].name, k, ip);
                snprintf(x->name, sizeof(x->name), "%s", k);
                c->n_aux++;
        }
        return 0;
}

static int ipam_entry_from_json(const json_t *e, size_t idx, nd_ipam_config *c, nd_diag *d) {
        static const char *const keys[] = { "Subnet", "Gateway", "IPRange", "AuxiliaryAddresses", NULL };
        const char *subnet = NULL, *gw = NULL, *range = NULL;
        char ctx[32], b1[ND_PREFIX_STRLEN];
        int r;

        snprintf(ctx, sizeof(ctx), "IPAM.Config[%zu]", idx);
        if (!json_is_object(e))
                return nd_diag_set(d, -EINVAL, "%s must be an object", ctx);
        if ((r = nd_json_only_keys(e, keys, ctx, d)) < 0 || (r = nd_json_string(e, "Subnet", ctx, &subnet, d)) < 0 ||
            (r = nd_json_string(e, "Gateway", ctx, &gw, d)) < 0 ||
            (r = nd_json_string(e, "IPRange", ctx, &range, d)) < 0)
                return r;
        if (!subnet) {
                if (gw || range)
                        return nd_diag_set(d, -EINVAL, "%s: a gateway or ip-range needs a subnet", ctx);
                return nd_diag_set(d, -EINVAL, "%s: Subnet missing", ctx);
        }
        r = nd_prefix_parse(subnet, ND_PREFIX_STRICT, &c->subnet, d);
        if (r < 0) {
                char m[sizeof(d->msg)];
                if (d) {
                        snprintf(m, sizeof(m), "invalid subnet %s", d->msg);
                        snprintf(d->msg, sizeof(d->msg), "%s", m);
                }
                return r;
        }
        if (nd_addr_bits(c->subnet.addr.family) - c->subnet.len < 2)
                return nd_diag_set(d, -EINVAL, "subnet '%s' is too small (at most /%u for %s)", subnet,
                                   nd_addr_bits(c->subnet.addr.family) - 2,
                                   c->subnet.addr.family == AF_INET ? "IPv4" : "IPv6");
        if (gw) {
                r = nd_addr_parse(gw, &c->gateway);
                if (r < 0)
                        return nd_diag_set(d, -EINVAL, "invalid gateway '%.64s'", gw);
                if (!nd_prefix_contains(&c->subnet, &c->gateway))
                        return nd_diag_set(d, -EINVAL, "gateway '%s' is not inside subnet '%s'", gw,
                                           nd_prefix_fmt(&c->subnet, b1));
                nd_u128 g = nd_addr_to_u128(&c->gateway);
                if (g == nd_prefix_first(&c->subnet) ||
                    (c->subnet.addr.family == AF_INET && g == nd_prefix_last(&c->subnet)))
                        return nd_diag_set(d, -EINVAL, "gateway '%s' is the %s address of subnet '%s'", gw,
                                           g == nd_prefix_first(&c->subnet) ? "network" : "broadcast",
                                           nd_prefix_fmt(&c->subnet, b1));
        }
        if (range) {
                r = nd_prefix_parse(range, ND_PREFIX_STRICT, &c->range, d);
                if (r < 0) {
                        char m[sizeof(d->msg)];
                        if (d) {
                                snprintf(m, sizeof(m), "invalid ip-range %s", d->msg);
                                snprintf(d->msg, sizeof(d->msg), "%s", m);
                        }
                        return r;
                }
                if (!nd_prefix_contains_prefix(&c->subnet, &c->range))
                        return nd_diag_set(d, -EINVAL, "ip-range '%s' is not inside subnet '%s'", range,
                                           nd_prefix_fmt(&c->subnet, b1));
        }
        return aux_from_json(json_object_get(e, "AuxiliaryAddresses"), ctx, c, d);
}

int nd_network_spec_from_json(const json_t *j, nd_network_spec *ret, nd_diag *d) {
        static const char *const keys[] = { "Name", "Driver", "Internal", "EnableIPv4", "EnableIPv6", "IPAM",
                                            "Options", "Labels", "Id", "Created", "Scope", NULL };
        static const char *const ipam_keys[] = { "Driver", "Config", "Options", NULL };
        nd_network_spec s = { .driver = ND_DRIVER_BRIDGE, .ipv4 = true };
        const char *name = NULL, *driver = NULL, *ipam_driver = NULL;
        json_t *ipam, *cfg, *options = NULL, *labels = NULL;
        int r;

        if (!json_is_object(j))
                return nd_diag_set(d, -EINVAL, "expected a JSON object");
        if ((r = nd_json_only_keys(j, keys, "network", d)) < 0 ||
            (r = nd_json_string(j, "Name", "network", &name, d)) < 0 ||
            (r = nd_json_string(j, "Driver", "network", &driver, d)) < 0 ||
            (r = nd_json_bool(j, "Internal", "network", &s.internal, d)) < 0 ||
            (r = nd_json_bool(j, "EnableIPv4", "network", &s.ipv4, d)) < 0 ||
            (r = nd_json_bool(j, "EnableIPv6", "network", &s.ipv6, d)) < 0 ||
            (r = nd_json_string_map(j, "Options", "network", &options, d)) < 0 ||
            (r = nd_json_string_map(j, "Labels", "network", &labels, d)) < 0)
                return r;
        if (!name)
                return nd_diag_set(d, -EINVAL, "network: field 'Name' is required");
        if (nd_name_valid(name) < 0)
                return nd_diag_set(d, -EINVAL,
                                   "invalid network name '%.64s': use 1-%d characters of [a-zA-Z0-9_.-], "
                                   "starting with a letter or digit", name, ND_NAME_MAX);
        strcpy(s.name, name);
        if (driver && *driver) {
                s.driver = nd_driver_from_string(driver);
                if (s.driver < 0)
                        return nd_diag_set(d, -EINVAL, "unknown driver '%.32s' (available: bridge, overlay)", driver);
        }

        ipam = json_object_get(j, "IPAM");
        if (ipam && !json_is_null(ipam)) {
                if (!json_is_object(ipam))
                        return nd_diag_set(d, -EINVAL, "network: field 'IPAM' must be an object");
                if ((r = nd_json_only_keys(ipam, ipam_keys, "IPAM", d)) < 0 ||
                    (r = nd_json_string(ipam, "Driver", "IPAM", &ipam_driver, d)) < 0)
                        return r;
                /* "none" (Podman's, netavark's): the network's endpoints
                 * get interfaces without addresses, so no IPv4 either */
                s.ipam_none = ipam_driver && strcmp(ipam_driver, "none") == 0;
                if (ipam_driver && *ipam_driver && strcmp(ipam_driver, "default") != 0 && !s.ipam_none)
                        return nd_diag_set(d, -EINVAL, "unknown IPAM driver '%.32s' (available: default, none)",
                                           ipam_driver);
                json_t *io = json_object_get(ipam, "Options");
                if (io && !json_is_null(io) && !(json_is_object(io) && json_object_size(io) == 0))
                        return nd_diag_set(d, -EINVAL, "IPAM.Options are not supported");
                cfg = json_object_get(ipam, "Config");
                if (cfg && !json_is_null(cfg)) {
                        size_t i;
                        json_t *e;
                        if (!json_is_array(cfg))
                                return nd_diag_set(d, -EINVAL, "IPAM: field 'Config' must be an array");
                        if (json_array_size(cfg) > ND_NETWORK_MAX_SUBNETS)
                                return nd_diag_set(d, -EINVAL, "at most %d subnets per network",
                                                   ND_NETWORK_MAX_SUBNETS);
                        json_array_foreach(cfg, i, e) {
                                r = ipam_entry_from_json(e, i, &s.ipam[i], d);
                                if (r < 0)
                                        return r;
                                s.n_ipam++;
                        }
                }
        }
        for (size_t i = 0; i < s.n_ipam; i++)
                for (size_t k = 0; k < i; k++)
                        if (nd_prefix_overlap(&s.ipam[i].subnet, &s.ipam[k].subnet)) {
                                char a[ND_PREFIX_STRLEN], b[ND_PREFIX_STRLEN];
                                return nd_diag_set(d, -EINVAL, "subnets '%s' and '%s' overlap",
                                                   nd_prefix_fmt(&s.ipam[i].subnet, a),
                                                   nd_prefix_fmt(&s.ipam[k].subnet, b));
                        }
        /* An IPv6 subnet implies IPv6; IPv6 without one is refused: there is
         * no IPv6 default pool (an operator must choose the prefix). */
        bool has6 = false;
        for (size_t i = 0; i < s.n_ipam; i++)
                has6 |= s.ipam[i].subnet.addr.family == AF_INET6;
        if (s.ipam_none) {
                if (s.n_ipam)
                        return nd_diag_set(d, -EINVAL, "IPAM driver none takes no subnets");
                if (s.ipv6)
                        return nd_diag_set(d, -EINVAL, "IPAM driver none gives no addresses: no IPv6 either");
                if (s.driver != ND_DRIVER_BRIDGE)
                        return nd_diag_set(d, -EINVAL, "IPAM driver none is for bridge networks");
                s.ipv4 = false;
        }
        if (s.ipv6 && !has6)
                return nd_diag_set(d, -EINVAL, "IPv6 needs an explicit IPv6 subnet (--subnet)");
        s.ipv6 = has6;
        for (size_t i = 0; i < s.n_ipam && !s.ipv4; i++)
                if (s.ipam[i].subnet.addr.family == AF_INET) {
                        char a[ND_PREFIX_STRLEN];
                        return nd_diag_set(d, -EINVAL, "subnet '%s' is IPv4, and IPv4 is disabled (EnableIPv4 false)",
                                           nd_prefix_fmt(&s.ipam[i].subnet, a));
                }
        /* netd picks an IPv4 subnet when none is given; without IPv4 there
         * is no IPv6 pool to pick from */
        if (!s.ipv4 && !s.ipam_none && !has6)
                return nd_diag_set(d, -EINVAL, "a network without IPv4 needs an IPv6 subnet (--ipv6 --subnet)");
        if (!s.ipv4 && s.driver != ND_DRIVER_BRIDGE)
                return nd_diag_set(d, -EINVAL, "IPv4 can only be disabled on bridge networks");

        s.options = options ? json_deep_copy(options) : json_object();
        s.labels = labels ? json_deep_copy(labels) : json_object();
        if (!s.options || !s.labels) {
                nd_network_spec_done(&s);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        r = options_check(&s, d);
        if (r < 0) {
                nd_network_spec_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

void nd_network_spec_done(nd_network_spec *s) {
        if (s->options)
                json_decref(s->options);
        if (s->labels)
                json_decref(s->labels);
        s->options = s->labels = NULL;
}

/* ---- the network --------------------------------------------------------- */

int nd_network_new(nd_network_spec *spec, const char *id, int64_t created_us, nd_network **ret, nd_diag *d) {
        _cleanup_(nd_network_freep) nd_network *n = calloc(1, sizeof(*n));
        char b1[ND_ADDR_STRLEN], b2[ND_PREFIX_STRLEN];

        if (!n)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        n->spec = *spec;
        spec->options = spec->labels = NULL;
        snprintf(n->id, sizeof(n->id), "%s", id);
        n->created_us = created_us;
        for (size_t i = 0; i < n->spec.n_ipam; i++) {
                nd_ipam_config *c = &n->spec.ipam[i];
                int r = nd_subnet_new(&c->subnet, c->range.addr.family ? &c->range : NULL, &n->alloc[i]);
                if (r < 0)
                        return nd_diag_set(d, r, "subnet '%s': cannot allocate from it: %s",
                                           nd_prefix_fmt(&c->subnet, b2), strerror(-r));
                if (!c->gateway.family)
                        nd_subnet_first_host(n->alloc[i], &c->gateway);
                r = nd_subnet_reserve(n->alloc[i], &c->gateway);
                if (r < 0)
                        return nd_diag_set(d, -EINVAL, "gateway '%s' cannot be reserved: %s",
                                           nd_addr_fmt(&c->gateway, b1), strerror(-r));
                for (size_t k = 0; k < c->n_aux; k++) {
                        r = nd_subnet_reserve(n->alloc[i], &c->aux[k].addr);
                        if (r < 0)
                                return nd_diag_set(d, -EINVAL, "auxiliary address '%s' (%s) cannot be reserved: %s",
                                                   c->aux[k].name, nd_addr_fmt(&c->aux[k].addr, b1),
                                                   r == -EEXIST ? "it is the gateway" : strerror(-r));
                }
        }
        *ret = TAKE_PTR(n);
        return 0;
}

nd_network *nd_network_free(nd_network *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < ND_NETWORK_MAX_SUBNETS; i++)
                nd_subnet_free(n->alloc[i]);
        nd_network_spec_done(&n->spec);
        free(n);
        return NULL;
}

static void fmt_time(int64_t us, char *buf, size_t size) {
        time_t t = (time_t) (us / 1000000);
        struct tm tm;
        char base[32];
        gmtime_r(&t, &tm);
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%06" PRId64 "Z", base, us % 1000000);
}

static int parse_time(const char *s, int64_t *ret) {
        struct tm tm = {0};
        unsigned long frac = 0;
        int n = 0;
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                if (sscanf(p, ".%6lu%n", &frac, &n) != 1)
                        return -EINVAL;
                for (int k = n - 1; k < 6; k++)
                        frac *= 10;
                p += n;
        }
        if (strcmp(p, "Z") != 0)
                return -EINVAL;
        *ret = (int64_t) timegm(&tm) * 1000000 + (int64_t) frac;
        return 0;
}

json_t *nd_network_to_json(const nd_network *n) {
        char created[64], b1[ND_PREFIX_STRLEN], b2[ND_ADDR_STRLEN], b3[ND_PREFIX_STRLEN];
        json_t *cfg = json_array(), *j;

        if (!cfg)
                return NULL;
        for (size_t i = 0; i < n->spec.n_ipam; i++) {
                const nd_ipam_config *c = &n->spec.ipam[i];
                json_t *e = json_pack("{s:s, s:s}", "Subnet", nd_prefix_fmt(&c->subnet, b1), "Gateway",
                                      nd_addr_fmt(&c->gateway, b2));
                if (e && c->range.addr.family)
                        json_object_set_new(e, "IPRange", json_string(nd_prefix_fmt(&c->range, b3)));
                if (e && c->n_aux) {
                        json_t *aux = json_object();
                        for (size_t k = 0; aux && k < c->n_aux; k++)
                                json_object_set_new(aux, c->aux[k].name,
                                                    json_string(nd_addr_fmt(&c->aux[k].addr, b2)));
                        json_object_set_new(e, "AuxiliaryAddresses", aux);
                }
                if (!e || json_array_append_new(cfg, e) < 0) {
                        json_decref(cfg);
                        return NULL;
                }
        }
        fmt_time(n->created_us, created, sizeof(created));
        j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:{s:s, s:o}, s:O, s:O}", "Name", n->spec.name,
                      "Id", n->id, "Created", created, "Scope", nd_network_is_global(n) ? "global" : "local", "Driver",
                      nd_driver_to_string(n->spec.driver), "EnableIPv4", n->spec.ipv4, "EnableIPv6", n->spec.ipv6,
                      "Internal", n->spec.internal, "IPAM", "Driver", n->spec.ipam_none ? "none" : "default",
                      "Config", cfg, "Options",
                      n->spec.options, "Labels", n->spec.labels);
        return j;
}

int nd_network_from_json(const json_t *j, nd_network **ret, nd_diag *d) {
        nd_network_spec spec;
        const char *id = NULL, *created = NULL, *scope = NULL;
        int64_t created_us = 0;
        int r;

        r = nd_network_spec_from_json(j, &spec, d);
        if (r < 0)
                return r;
        if ((r = nd_json_string(j, "Id", "network", &id, d)) < 0 ||
            (r = nd_json_string(j, "Created", "network", &created, d)) < 0 ||
            (r = nd_json_string(j, "Scope", "network", &scope, d)) < 0)
                goto fail;
        if (!nd_id_valid(id)) {
                r = nd_diag_set(d, -EINVAL, "network '%s': invalid Id", spec.name);
                goto fail;
        }
        if (!created || parse_time(created, &created_us) < 0) {
                r = nd_diag_set(d, -EINVAL, "network '%s': invalid Created time", spec.name);
                goto fail;
        }
        for (size_t i = 0; i < spec.n_ipam; i++)
                if (!spec.ipam[i].gateway.family) {
                        r = nd_diag_set(d, -EINVAL, "network '%s': subnet without gateway", spec.name);
                        goto fail;
                }
        return nd_network_new(&spec, id, created_us, ret, d);
fail:
        nd_network_spec_done(&spec);
        return r;
}

uint64_t nd_network_addresses_in_use(const nd_network *n) {
        uint64_t used = 0;
        for (size_t i = 0; i < n->spec.n_ipam; i++)
                used += nd_subnet_count(n->alloc[i]) - 1 - n->spec.ipam[i].n_aux; /* the gateway, aux */
        return used;
}

bool nd_network_is_global(const nd_network *n) {
        return n->spec.driver == ND_DRIVER_OVERLAY;
}

uint32_t nd_network_vni(const nd_network *n) {
        const char *v = json_string_value(json_object_get(n->spec.options, "vni"));
        return v ? (uint32_t) strtoul(v, NULL, 10) : 0;
}

uint32_t nd_network_metric(const nd_network *n) {
        const char *v = json_string_value(json_object_get(n->spec.options, "metric"));
        return v ? (uint32_t) strtoull(v, NULL, 10) : 0;
}

bool nd_network_gre(const nd_network *n) {
        const char *v = json_string_value(json_object_get(n->spec.options, "encap"));
        return v && strcmp(v, "gre") == 0;
}

bool nd_network_icc(const nd_network *n) {
        const char *keys[] = { "bridge.enable_icc", "com.docker.network.bridge.enable_icc" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (parse_bool(json_string_value(json_object_get(n->spec.options, keys[i]))) == 0)
                        return false;
        return true;
}

nd_subnet *nd_network_subnet_for(const nd_network *n, const nd_addr *a) {
        for (size_t i = 0; i < n->spec.n_ipam; i++)
                if (nd_prefix_contains(&n->spec.ipam[i].subnet, a))
                        return n->alloc[i];
        return NULL;
}

nd_subnet *nd_network_subnet_family(const nd_network *n, int family) {
        for (size_t i = 0; i < n->spec.n_ipam; i++)
                if (n->spec.ipam[i].subnet.addr.family == family)
                        return n->alloc[i];
        return NULL;
}
