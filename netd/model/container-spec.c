/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "container-spec.h"
#include "diag.h"
#include "json-util.h"
#include "service.h"

int nd_endpoint_req_parse(const json_t *req, nd_endpoint_req *e, nd_diag *d) {
        static const char *const keys[] = { "Network", "IPv4Address", "IPv6Address", "Aliases", "MacAddress",
                                             "Container", "Force", "GwPriority", NULL };
        const char *mac = NULL;
        int r;

        memset(e, 0, sizeof(*e));
        if (!req)
                return 0;
        if ((r = nd_json_only_keys(req, keys, "endpoint", d)) < 0 ||
            (r = nd_json_string(req, "IPv4Address", "endpoint", &e->ip4, d)) < 0 ||
            (r = nd_json_string(req, "IPv6Address", "endpoint", &e->ip6, d)) < 0 ||
            (r = nd_json_string(req, "MacAddress", "endpoint", &mac, d)) < 0)
                return r;
        json_t *prio = json_object_get(req, "GwPriority");
        if (prio && !json_is_null(prio)) {
                if (!json_is_integer(prio) || json_integer_value(prio) < INT_MIN / 2 ||
                    json_integer_value(prio) > INT_MAX / 2)
                        return nd_diag_set(d, -EINVAL, "endpoint: 'GwPriority' must be an integer");
                e->gw_priority = (int) json_integer_value(prio);
        }
        if (e->ip4 && !*e->ip4)
                e->ip4 = NULL;
        if (e->ip6 && !*e->ip6)
                e->ip6 = NULL;
        json_t *al = json_object_get(req, "Aliases"), *v;
        size_t i;
        if (al && !json_is_null(al)) {
                if (!json_is_array(al) || json_array_size(al) > ND_MAX_ALIASES)
                        return nd_diag_set(d, -EINVAL, "Aliases must be an array of at most %d names", ND_MAX_ALIASES);
                json_array_foreach(al, i, v) {
                        if (!json_is_string(v) || nd_name_valid(json_string_value(v)) < 0)
                                return nd_diag_set(d, -EINVAL, "invalid alias '%.64s'",
                                                   json_is_string(v) ? json_string_value(v) : "?");
                        strcpy(e->aliases[e->n_aliases++], json_string_value(v));
                }
        }
        for (int fam = 0; fam < 2; fam++) {
                const char *want = fam == 0 ? e->ip4 : e->ip6;
                nd_addr *a = fam == 0 ? &e->addr4 : &e->addr6;
                if (want && (nd_addr_parse(want, a) < 0 || a->family != (fam == 0 ? AF_INET : AF_INET6)))
                        return nd_diag_set(d, -EINVAL, "invalid %s address '%.64s'", fam == 0 ? "IPv4" : "IPv6",
                                           want);
        }
        if (mac) {
                unsigned b[6];
                char tail;
                if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
                    (b[0] & 1))
                        return nd_diag_set(d, -EINVAL, "invalid MAC address '%.32s'", mac);
                for (int k = 0; k < 6; k++)
                        e->mac[k] = (uint8_t) b[k];
                e->has_mac = true;
        }
        return 0;
}

int nd_extra_host_parse(const char *s, char name[static ND_NAME_MAX + 1], char ip[static ND_ADDR_STRLEN],
                        bool *ret_host_gateway, nd_diag *d) {
        const char *colon = s ? strchr(s, ':') : NULL;
        char v[ND_ADDR_STRLEN + 2];
        nd_addr a;
        size_t l;

        *ret_host_gateway = false;
        ip[0] = 0;
        if (!colon || colon == s || (size_t) (colon - s) > ND_NAME_MAX)
                return nd_diag_set(d, -EINVAL, "invalid --add-host '%.64s': want NAME:IP", s ? s : "?");
        snprintf(name, ND_NAME_MAX + 1, "%.*s", (int) (colon - s), s);
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr(".-_", *p))
                        return nd_diag_set(d, -EINVAL, "invalid --add-host '%.64s': bad host name", s);
        l = strlen(colon + 1);
        if (l >= sizeof(v))
                return nd_diag_set(d, -EINVAL, "invalid --add-host '%.64s': bad IP address", s);
        strcpy(v, colon + 1);
        if (l > 2 && v[0] == '[' && v[l - 1] == ']') {
                memmove(v, v + 1, l - 2);
                v[l - 2] = 0;
        }
        if (strcmp(v, "host-gateway") == 0) {
                *ret_host_gateway = true;
                return 0;
        }
        if (nd_addr_parse(v, &a) < 0)
                return nd_diag_set(d, -EINVAL, "invalid --add-host '%.64s': '%.48s' is not an IP address", s, v);
        nd_addr_fmt(&a, ip);
        return 0;
}

static int mode_parse(const char *s, nd_container_spec *spec, nd_diag *d) {
        if (!s || !*s || strcmp(s, "bridge") == 0 || strcmp(s, "default") == 0)
                spec->mode = ND_NET_MODE_BRIDGE;
        else if (strcmp(s, "none") == 0)
                spec->mode = ND_NET_MODE_NONE;
        else if (strcmp(s, "host") == 0)
                spec->mode = ND_NET_MODE_HOST;
        else if (strncmp(s, "container:", 10) == 0) {
                spec->mode = ND_NET_MODE_CONTAINER;
                spec->mode_target = s + 10;
        } else
                return nd_diag_set(d, -EINVAL, "invalid network mode '%.64s' (bridge, none, host, container:NAME)", s);
        return 0;
}

static int cmd_env_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        json_t *cmd = json_object_get(req, "Cmd"), *env = json_object_get(req, "Env"), *v;
        size_t i;

        if (!json_is_array(cmd) || json_array_size(cmd) == 0 || json_array_size(cmd) > ND_CT_MAX_ARGS)
                return nd_diag_set(d, -EINVAL, "container: 'Cmd' must be a non-empty array of strings");
        json_array_foreach(cmd, i, v)
                if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                        return nd_diag_set(d, -EINVAL, "container: 'Cmd' must hold strings");
        s->args = cmd;
        if (!env || json_is_null(env))
                return 0;
        if (!json_is_array(env) || json_array_size(env) > ND_CT_MAX_ENV)
                return nd_diag_set(d, -EINVAL, "container: 'Env' must be an array of at most %d strings",
                                   ND_CT_MAX_ENV);
        json_array_foreach(env, i, v) {
                const char *e = json_string_value(v), *eq = e ? strchr(e, '=') : NULL;
                if (!eq || eq == e || strlen(e) != json_string_length(v))
                        return nd_diag_set(d, -EINVAL, "container: Env entry '%.64s' is not KEY=VALUE", e ? e : "?");
        }
        s->env = env;
        return 0;
}

static int limits_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        json_t *mem = json_object_get(req, "Memory"), *pids = json_object_get(req, "PidsLimit");
        if (mem && !json_is_null(mem)) {
                if (!json_is_integer(mem) || json_integer_value(mem) < 0 ||
                    (json_integer_value(mem) > 0 && json_integer_value(mem) < 4 * 1024 * 1024))
                        return nd_diag_set(d, -EINVAL, "container: 'Memory' must be 0 or at least 4 MiB (bytes)");
                s->memory = json_integer_value(mem);
        }
        if (pids && !json_is_null(pids)) {
                if (!json_is_integer(pids) || json_integer_value(pids) < 0)
                        return nd_diag_set(d, -EINVAL, "container: 'PidsLimit' must be a non-negative integer");
                s->pids_limit = json_integer_value(pids);
        }
        return 0;
}

static int networks_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        json_t *nets = json_object_get(req, "Networks"), *v;
        size_t i;
        int r;

        if (!nets || json_is_null(nets))
                return 0;
        if (!json_is_array(nets) || json_array_size(nets) > ND_MAX_ENDPOINTS)
                return nd_diag_set(d, -EINVAL, "container: 'Networks' must be an array of at most %d entries",
                                   ND_MAX_ENDPOINTS);
        /* container: stays not a bridge whatever its target turns out to be */
        if (json_array_size(nets) > 0 && s->mode != ND_NET_MODE_BRIDGE)
                return nd_diag_set(d, -EINVAL, "networks cannot be combined with network mode '%s'", s->mode_name);
        json_array_foreach(nets, i, v) {
                const char *ref = NULL;
                if (!json_is_object(v) || nd_json_string(v, "Network", "Networks[]", &ref, d) < 0 || !ref)
                        return nd_diag_set(d, -EINVAL, "container: Networks[%zu] needs a 'Network'", i);
                r = nd_endpoint_req_parse(v, &s->nets[s->n_nets], d);
                if (r < 0)
                        return r;
                s->nets[s->n_nets++].network = ref;
        }
        return 0;
}

/* Dns (addresses), DnsSearch (domains), DnsOptions (resolv.conf words). */
static int dns_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        static const char *const keys[] = { "Dns", "DnsSearch", "DnsOptions" };
        json_t **dst[] = { &s->dns, &s->dns_search, &s->dns_options };
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                json_t *a = json_object_get(req, keys[k]), *v;
                size_t i;
                if (!a || json_is_null(a))
                        continue;
                if (!json_is_array(a) || json_array_size(a) > ND_CT_MAX_DNS)
                        return nd_diag_set(d, -EINVAL, "container: '%s' must be an array of at most 6 strings",
                                           keys[k]);
                json_array_foreach(a, i, v) {
                        const char *e = json_string_value(v);
                        nd_addr ip;
                        bool ok = e && *e && strlen(e) == json_string_length(v) && strlen(e) <= 253;
                        for (const char *p = e; ok && *p; p++)
                                ok = k == 2 ? (*p > ' ' && *p < 127) : (isalnum((unsigned char) *p) || strchr(".-_:", *p));
                        if (ok && k == 0)
                                ok = nd_addr_parse(e, &ip) == 0;
                        if (!ok)
                                return nd_diag_set(d, -EINVAL, "container: invalid %s entry '%.64s'", keys[k],
                                                   e ? e : "?");
                }
                if (json_array_size(a))
                        *dst[k] = a;
        }
        return 0;
}

/* Legacy --link NAME[:ALIAS]: the syntax here, the target by the service. */
static int links_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        json_t *a = json_object_get(req, "Links"), *v;
        size_t i;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > ND_CT_MAX_LINKS)
                return nd_diag_set(d, -EINVAL, "container: 'Links' must be an array of at most 16 \"NAME[:ALIAS]\"");
        json_array_foreach(a, i, v) {
                const char *e = json_string_value(v);
                const char *colon = e ? strchr(e, ':') : NULL;
                nd_link_req *l = &s->links[s->n_links];
                if (!e || !*e || strlen(e) > 2 * ND_NAME_MAX + 1 ||
                    (colon && ((size_t) (colon - e) > ND_NAME_MAX || strlen(colon + 1) > ND_NAME_MAX)))
                        return nd_diag_set(d, -EINVAL, "invalid link '%.64s': want NAME[:ALIAS]", e ? e : "?");
                snprintf(l->name, sizeof(l->name), "%.*s", colon ? (int) (colon - e) : (int) strlen(e), e);
                snprintf(l->alias, sizeof(l->alias), "%s", colon ? colon + 1 : l->name);
                if (nd_name_valid(l->alias) < 0)
                        return nd_diag_set(d, -EINVAL, "invalid link alias '%.64s'", l->alias);
                s->n_links++;
        }
        return 0;
}

/* ExtraHosts (--add-host NAME:IP): checked now, so a bad entry creates
 * nothing; host-gateway is resolved whenever the hosts file is written. */
static int extra_hosts_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        json_t *a = json_object_get(req, "ExtraHosts"), *v;
        size_t i;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > ND_CT_MAX_EXTRA_HOSTS)
                return nd_diag_set(d, -EINVAL, "container: 'ExtraHosts' must be an array of at most 64 \"NAME:IP\"");
        json_array_foreach(a, i, v) {
                char name[ND_NAME_MAX + 1], ip[ND_ADDR_STRLEN];
                const char *e = json_string_value(v);
                bool hg;
                int r;
                if (!e || strlen(e) != json_string_length(v))
                        return nd_diag_set(d, -EINVAL, "container: 'ExtraHosts' must hold strings");
                if ((r = nd_extra_host_parse(e, name, ip, &hg, d)) < 0)
                        return r;
        }
        if (json_array_size(a))
                s->extra_hosts = a;
        return 0;
}

static int ports_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        json_t *ports = json_object_get(req, "Ports"), *v;
        size_t i;
        int r;
        if (!ports || json_is_null(ports))
                return 0;
        if (!json_is_array(ports))
                return nd_diag_set(d, -EINVAL, "container: 'Ports' must be an array of strings like \"8080:80/tcp\"");
        json_array_foreach(ports, i, v)
                if ((r = nd_port_spec_parse(json_string_value(v), &s->ports, &s->n_ports, d)) < 0)
                        return r;
        return 0;
}

/* (protocol, container port) pairs seen, one bit each: -P over wide
 * exposed ranges and the exposed list's de-duplication stay linear in the
 * number of ports (a list scan per port was quadratic: 2^32 compares for
 * two full ranges). */
typedef struct port_set {
        uint64_t bits[3][65536 / 64];
} port_set;

/* true when (proto, port) was not in the set yet */
static bool port_set_add(port_set *ps, uint8_t proto, uint16_t port) {
        unsigned k = proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : 2;
        uint64_t bit = UINT64_C(1) << (port % 64), *w = &ps->bits[k][port / 64];
        if (*w & bit)
                return false;
        *w |= bit;
        return true;
}

/* "ExposedPorts" (--expose PORT[-END][/PROTO]) and "PublishAllPorts"
 * (-P): as Docker, every exposed port that "Ports" does not publish goes
 * to a free host port of the dynamic range; the exposed ports (with the
 * published ones) are listed for inspect. */
static int exposed_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        json_t *exp = json_object_get(req, "ExposedPorts"), *v;
        _cleanup_free_ nd_port_spec *e = NULL;
        size_t n_e = 0, n_ports = s->n_ports, i;
        int r;

        if ((r = nd_json_bool(req, "PublishAllPorts", "container", &s->publish_all, d)) < 0)
                return r;
        if (exp && !json_is_null(exp) && !json_is_array(exp))
                return nd_diag_set(d, -EINVAL, "container: 'ExposedPorts' must be an array of strings like \"80/tcp\"");
        json_array_foreach(exp, i, v) {
                const char *x = json_string_value(v);
                if (!x || strchr(x, ':') || !*x)
                        return nd_diag_set(d, -EINVAL, "invalid exposed port '%.64s': want PORT[-END][/tcp|udp|sctp]",
                                           x ? x : "");
                if ((r = nd_port_spec_parse(x, &e, &n_e, d)) < 0)
                        return r;
        }
        if (n_e + n_ports == 0)
                return 0;
        _cleanup_free_ port_set *pub = calloc(1, sizeof(*pub)), *listed = calloc(1, sizeof(*listed));
        if (!pub || !listed)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        for (i = 0; i < n_ports; i++)
                port_set_add(pub, s->ports[i].proto, s->ports[i].ctr);
        for (i = 0; s->publish_all && i < n_e; i++) {
                if (!port_set_add(pub, e[i].proto, e[i].ctr))
                        continue;
                if (s->n_ports + 1 > ND_PORT_SPECS_MAX)
                        return nd_diag_set(d, -E2BIG, "too many published ports (limit %d)", ND_PORT_SPECS_MAX);
                nd_port_spec *p = realloc(s->ports, (s->n_ports + 1) * sizeof(*p));
                if (!p)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
                s->ports = p;
                s->ports[s->n_ports++] = (nd_port_spec) { .proto = e[i].proto, .ctr = e[i].ctr };
        }
        s->exposed = json_array();
        if (!s->exposed)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        for (i = 0; i < n_ports + n_e; i++) {
                const nd_port_spec *p = i < n_ports ? &s->ports[i] : &e[i - n_ports];
                char buf[32];
                if (!port_set_add(listed, p->proto, p->ctr))
                        continue;
                snprintf(buf, sizeof(buf), "%u/%s", p->ctr, nd_proto_name(p->proto));
                if (json_array_append_new(s->exposed, json_string(buf)) < 0)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        return 0;
}

/* "Service": a task gets the service's names and sits behind its VIPs
 * through its endpoints, so it needs named networks of its own. */
static int service_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        int r = nd_json_string(req, "Service", "container", &s->service, d);
        if (r < 0)
                return r;
        if (s->service && !*s->service)
                s->service = NULL;
        if (!s->service)
                return 0;
        if (!nd_service_name_valid(s->service))
                return nd_diag_set(d, -EINVAL, "container: service name '%.64s' is not a valid DNS label", s->service);
        if (s->mode != ND_NET_MODE_BRIDGE)
                return nd_diag_set(d, -EINVAL, "container: a task of service '%s' cannot use network mode '%.64s'",
                                   s->service, s->mode_name);
        return 0;
}

int nd_container_spec_parse(const json_t *req, nd_container_spec *s, nd_diag *d) {
        static const char *const keys[] = { "Name", "Hostname", "Cmd", "Env", "Rootfs", "Memory", "PidsLimit",
                                            "AutoRemove", "NetworkMode", "Networks", "Ports", "Dns", "DnsSearch",
                                            "DnsOptions", "Links", "CapAdd", "CapDrop", "Privileged", "SecurityOpt",
                                            "ReadonlyRootfs", "ExtraHosts", "Service", "ExposedPorts",
                                            "PublishAllPorts", NULL };
        int r;

        memset(s, 0, sizeof(*s));
        s->req = json_incref((json_t *) req);
        if ((r = nd_json_only_keys(req, keys, "container", d)) < 0 ||
            (r = nd_json_string(req, "Name", "container", &s->name, d)) < 0 ||
            (r = nd_json_string(req, "Hostname", "container", &s->hostname, d)) < 0 ||
            (r = nd_json_string(req, "Rootfs", "container", &s->rootfs, d)) < 0 ||
            (r = nd_json_string(req, "NetworkMode", "container", &s->mode_name, d)) < 0 ||
            (r = nd_json_bool(req, "AutoRemove", "container", &s->auto_remove, d)) < 0)
                return r;
        /* the sandbox first: a bad capability or profile creates nothing */
        if ((r = nd_ct_security_from_json(req, &s->sec, d)) < 0)
                return r;
        if (s->name && *s->name && nd_name_valid(s->name) < 0)
                return nd_diag_set(d, -EINVAL, "invalid container name '%.64s': use 1-%d characters of "
                                   "[a-zA-Z0-9_.-], starting with a letter or digit", s->name, ND_NAME_MAX);
        if ((r = mode_parse(s->mode_name, s, d)) < 0)
                return r;
        if (s->hostname && *s->hostname && (nd_name_valid(s->hostname) < 0 || strlen(s->hostname) > 63))
                return nd_diag_set(d, -EINVAL, "invalid hostname '%.64s'", s->hostname);
        if ((r = cmd_env_parse(req, s, d)) < 0 || (r = limits_parse(req, s, d)) < 0)
                return r;
        if (s->rootfs && *s->rootfs && s->rootfs[0] != '/')
                return nd_diag_set(d, -EINVAL, "rootfs '%s' must be an absolute path", s->rootfs);
        if ((r = networks_parse(req, s, d)) < 0 || (r = dns_parse(req, s, d)) < 0 || (r = links_parse(req, s, d)) < 0 ||
            (r = extra_hosts_parse(req, s, d)) < 0 || (r = ports_parse(req, s, d)) < 0 ||
            (r = exposed_parse(req, s, d)) < 0 || (r = service_parse(req, s, d)) < 0)
                return r;
        return 0;
}

void nd_container_spec_done(nd_container_spec *s) {
        nd_ct_security_done(&s->sec);
        free(s->ports);
        s->ports = NULL;
        s->n_ports = 0;
        json_decref(s->exposed);
        s->exposed = NULL;
        json_decref(s->req);
        s->req = NULL;
}
