/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "container.h"
#include "diag.h"
#include "json-util.h"
#include "mac.h"
#include "service.h"

#include "caps.h"
#include "seccomp-profile.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(nd_sc_profile *, nd_sc_profile_free);

static const char *const status_names[_ND_CT_STATUS_MAX] = {
        [ND_CT_CREATED] = "created",
        [ND_CT_RUNNING] = "running",
        [ND_CT_EXITED] = "exited",
};

const char *nd_ct_status_to_string(nd_ct_status s) {
        return s >= 0 && s < _ND_CT_STATUS_MAX ? status_names[s] : "unknown";
}

nd_ct_status nd_ct_status_from_string(const char *s) {
        for (int i = 0; s && i < _ND_CT_STATUS_MAX; i++)
                if (strcmp(status_names[i], s) == 0)
                        return (nd_ct_status) i;
        return _ND_CT_STATUS_INVALID;
}

nd_container *nd_container_new(void) {
        nd_container *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->report_fd = c->monitor_fd = c->pid_fd = -1;
        return c;
}

nd_container *nd_container_free(nd_container *c) {
        if (!c)
                return NULL;
        if (c->report_fd >= 0)
                close(c->report_fd);
        if (c->monitor_fd >= 0)
                close(c->monitor_fd);
        if (c->pid_fd >= 0)
                close(c->pid_fd);
        if (c->args)
                json_decref(c->args);
        if (c->env)
                json_decref(c->env);
        nd_published_done(&c->pub);
        json_decref(c->dns);
        json_decref(c->dns_search);
        json_decref(c->dns_options);
        json_decref(c->links);
        json_decref(c->extra_hosts);
        json_decref(c->exposed);
        nd_ct_security_done(&c->sec);
        free(c->ports);
        free(c->eps);
        free(c->rootfs);
        free(c);
        return NULL;
}

/* ---- sandbox settings ----------------------------------------------------------------- */

void nd_ct_security_done(nd_ct_security *s) {
        json_decref(s->cap_add);
        json_decref(s->cap_drop);
        json_decref(s->seccomp);
        s->cap_add = s->cap_drop = s->seccomp = NULL;
}

static int cap_list(const json_t *a, const char *key, json_t **ret, nd_diag *d) {
        const json_t *v;
        size_t i;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > 2 * (ND_CAP_LAST + 1))
                return nd_diag_set(d, -EINVAL, "container: '%s' must be an array of capability names", key);
        json_t *out = json_array();
        if (!out)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        json_array_foreach(a, i, v) {
                char name[ND_CAP_NAME_MAX];
                const json_t *o;
                size_t k;
                bool dup = false;
                if (nd_cap_normalize(json_string_value(v), name, NULL) < 0) {
                        json_decref(out);
                        return nd_diag_set(d, -EINVAL, "%s: unknown capability '%.40s'", key,
                                           json_is_string(v) ? json_string_value(v) : "(not a string)");
                }
                json_array_foreach(out, k, o)
                        dup = dup || strcmp(json_string_value(o), name) == 0;
                if (!dup)
                        json_array_append_new(out, json_string(name));
        }
        if (json_array_size(out))
                *ret = out;
        else
                json_decref(out);
        return 0;
}

static int seccomp_opt(const char *val, nd_ct_security *s, nd_diag *d) {
        _cleanup_(nd_sc_profile_freep) nd_sc_profile *p = NULL;
        json_error_t je;
        size_t len = strlen(val);

        if (strcmp(val, "unconfined") == 0) {
                s->seccomp = json_string("unconfined");
                return s->seccomp ? 0 : nd_diag_set(d, -ENOMEM, "out of memory");
        }
        if (val[strspn(val, " \t\r\n")] != '{')
                return nd_diag_set(d, -EINVAL, "security-opt 'seccomp=%.40s': neither 'unconfined' nor a JSON profile "
                                   "(netctl sends a profile file's content)", val);
        if (len > ND_SC_PROFILE_MAX_BYTES)
                return nd_diag_set(d, -E2BIG, "seccomp profile: larger than %d bytes", ND_SC_PROFILE_MAX_BYTES);
        json_t *j = json_loadb(val, len, JSON_REJECT_DUPLICATES, &je);
        if (!j)
                return nd_diag_set(d, -EINVAL, "seccomp profile: invalid JSON at line %d, column %d: %s", je.line,
                                   je.column, je.text);
        int r = nd_sc_profile_from_json(j, &p, d);
        if (r < 0) {
                json_decref(j);
                return r;
        }
        s->seccomp = j;
        return 0;
}

static int security_opts(const json_t *a, nd_ct_security *s, nd_diag *d) {
        bool seen_sc = false, seen_nnp = false;
        const json_t *v;
        size_t i;
        int r;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > 16)
                return nd_diag_set(d, -EINVAL, "container: 'SecurityOpt' must be an array of at most 16 strings");
        json_array_foreach(a, i, v) {
                const char *o = json_string_value(v);
                if (!o || strlen(o) != json_string_length(v))
                        return nd_diag_set(d, -EINVAL, "container: 'SecurityOpt' must hold strings");
                size_t klen = strcspn(o, "=:");
                const char *val = o[klen] ? o + klen + 1 : NULL;
                if (klen == 7 && strncmp(o, "seccomp", 7) == 0) {
                        if (seen_sc)
                                return nd_diag_set(d, -EINVAL, "security-opt 'seccomp' given twice");
                        seen_sc = true;
                        if (!val || !*val)
                                return nd_diag_set(d, -EINVAL, "security-opt 'seccomp' needs a value: unconfined or a "
                                                   "profile");
                        if ((r = seccomp_opt(val, s, d)) < 0)
                                return r;
                } else if (klen == 17 && strncmp(o, "no-new-privileges", 17) == 0) {
                        if (seen_nnp)
                                return nd_diag_set(d, -EINVAL, "security-opt 'no-new-privileges' given twice");
                        seen_nnp = true;
                        if (!val || strcmp(val, "true") == 0)
                                s->no_new_privs = true;
                        else if (strcmp(val, "false") == 0)
                                s->no_new_privs = false;
                        else
                                return nd_diag_set(d, -EINVAL, "security-opt 'no-new-privileges=%.40s': want true or "
                                                   "false", val);
                } else
                        return nd_diag_set(d, -EINVAL, "security-opt '%.64s' is not supported (supported: "
                                           "seccomp=unconfined|PROFILE, no-new-privileges[=true|false])", o);
        }
        return 0;
}

static size_t names_of(const json_t *a, const char **v, size_t max) {
        const json_t *e;
        size_t i, n = 0;
        json_array_foreach(a, i, e)
                if (n < max)
                        v[n++] = json_string_value(e);
        return n;
}

int nd_ct_security_from_json(const json_t *j, nd_ct_security *s, nd_diag *d) {
        const char *add[2 * (ND_CAP_LAST + 1)], *drop[2 * (ND_CAP_LAST + 1)];
        int r;

        *s = (nd_ct_security) { .no_new_privs = true };
        if (!json_is_object(j))
                return nd_diag_set(d, -EINVAL, "container: sandbox settings must be an object");
        if ((r = nd_json_bool(j, "Privileged", "container", &s->privileged, d)) < 0 ||
            (r = nd_json_bool(j, "ReadonlyRootfs", "container", &s->readonly_rootfs, d)) < 0 ||
            (r = cap_list(json_object_get(j, "CapAdd"), "CapAdd", &s->cap_add, d)) < 0 ||
            (r = cap_list(json_object_get(j, "CapDrop"), "CapDrop", &s->cap_drop, d)) < 0 ||
            (r = security_opts(json_object_get(j, "SecurityOpt"), s, d)) < 0)
                return r;
        return nd_caps_effective(add, names_of(s->cap_add, add, ELEMENTSOF(add)), drop,
                                 names_of(s->cap_drop, drop, ELEMENTSOF(drop)), s->privileged, &s->caps, d);
}

static json_t *caps_names(uint64_t caps) {
        json_t *a = json_array();
        for (unsigned i = 0; a && i <= ND_CAP_LAST; i++)
                if (caps & (UINT64_C(1) << i))
                        json_array_append_new(a, json_string(nd_cap_to_name(i)));
        return a;
}

static const char *seccomp_mode(const nd_ct_security *s) {
        if (s->privileged || json_is_string(s->seccomp))
                return "unconfined";
        return s->seccomp ? "custom" : "default";
}

json_t *nd_ct_security_to_json(const nd_ct_security *s) {
        json_t *opts = json_array();
        if (!opts)
                return NULL;
        if (json_is_string(s->seccomp))
                json_array_append_new(opts, json_string("seccomp=unconfined"));
        else if (s->seccomp) {
                _cleanup_free_ char *text = json_dumps(s->seccomp, JSON_COMPACT);
                _cleanup_free_ char *opt = NULL;
                if (!text || asprintf(&opt, "seccomp=%s", text) < 0) {
                        json_decref(opts);
                        return NULL;
                }
                json_array_append_new(opts, json_string(opt));
        }
        if (!s->no_new_privs)
                json_array_append_new(opts, json_string("no-new-privileges=false"));
        return json_pack("{s:o, s:o, s:b, s:o, s:b, s:o, s:b, s:s}", "CapAdd",
                         s->cap_add ? json_incref(s->cap_add) : json_array(), "CapDrop",
                         s->cap_drop ? json_incref(s->cap_drop) : json_array(), "Privileged", s->privileged,
                         "SecurityOpt", opts, "ReadonlyRootfs", s->readonly_rootfs, "Capabilities", caps_names(s->caps),
                         "NoNewPrivileges", s->no_new_privs, "Seccomp", seccomp_mode(s));
}

int nd_ct_security_to_config(const nd_ct_security *s, json_t *cfg) {
        json_t *sc = s->seccomp && !s->privileged && json_is_object(s->seccomp) ? json_incref(s->seccomp)
                                                                               : json_string(seccomp_mode(s));
        if (json_object_set_new(cfg, "Capabilities", caps_names(s->caps)) < 0 ||
            json_object_set_new(cfg, "Privileged", json_boolean(s->privileged)) < 0 ||
            json_object_set_new(cfg, "NoNewPrivileges", json_boolean(s->no_new_privs)) < 0 ||
            json_object_set_new(cfg, "ReadonlyRootfs", json_boolean(s->readonly_rootfs)) < 0 ||
            json_object_set_new(cfg, "Seccomp", sc) < 0)
                return -ENOMEM;
        return 0;
}

nd_endpoint *nd_container_endpoint(nd_container *c, const char *net_id) {
        for (size_t i = 0; i < c->n_eps; i++)
                if (strcmp(c->eps[i].net_id, net_id) == 0)
                        return &c->eps[i];
        return NULL;
}

int nd_container_endpoint_room(nd_container *c) {
        if (c->n_eps < c->cap_eps)
                return 0;
        nd_endpoint *p = reallocarray(c->eps, c->n_eps + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        c->eps = p;
        c->cap_eps = c->n_eps + 1;
        return 0;
}

int nd_container_set_rootfs(nd_container *c, const char *path) {
        char *p = strndup(path, PATH_MAX - 1);
        if (!p)
                return -ENOMEM;
        free(c->rootfs);
        c->rootfs = p;
        return 0;
}

void nd_container_netns_path(const char *run_dir, const char *id, char *buf, size_t size) {
        snprintf(buf, size, "%s/netns/%s", run_dir, id);
}

static const char *mode_string(const nd_container *c, char *buf, size_t size) {
        switch (c->mode) {
        case ND_NET_MODE_NONE: return "none";
        case ND_NET_MODE_HOST: return "host";
        case ND_NET_MODE_CONTAINER: snprintf(buf, size, "container:%s", c->mode_target); return buf;
        default: return "bridge";
        }
}

static json_t *endpoint_to_json(const nd_endpoint *e) {
        char mac[18], a4[ND_ADDR_STRLEN] = "", a6[ND_ADDR_STRLEN] = "", g4[ND_ADDR_STRLEN] = "",
                      g6[ND_ADDR_STRLEN] = "";
        json_t *aliases = json_array();
        nd_mac_fmt(e->mac, mac);
        /* a gateway only where there is one: "?" (nd_addr_fmt of no
         * address) would not read back (the container-json fuzzer found
         * an IPv6 endpoint without a gateway) */
        if (e->addr4.family)
                nd_addr_fmt(&e->addr4, a4);
        if (e->addr4.family && e->gw4.family)
                nd_addr_fmt(&e->gw4, g4);
        if (e->addr6.family)
                nd_addr_fmt(&e->addr6, a6);
        if (e->addr6.family && e->gw6.family)
                nd_addr_fmt(&e->gw6, g6);
        for (size_t i = 0; aliases && i < e->n_aliases; i++)
                json_array_append_new(aliases, json_string(e->aliases[i]));
        /* Docker's IPAMConfig: the addresses asked for, kept while stopped */
        json_t *ipam = json_object();
        if (ipam && e->static4 && e->addr4.family)
                json_object_set_new(ipam, "IPv4Address", json_string(a4));
        if (ipam && e->static6 && e->addr6.family)
                json_object_set_new(ipam, "IPv6Address", json_string(a6));
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:o, s:i, s:b, s:o, s:s}",
                         "NetworkID", e->net_id, "NetworkName", e->net_name, "Interface", e->ifname, "HostInterface",
                         e->host_ifname, "MacAddress", mac, "IPAddress", a4, "IPPrefixLen", (int) e->plen4, "Gateway",
                         g4, "GlobalIPv6Address", a6, "GlobalIPv6PrefixLen", (int) e->plen6, "IPv6Gateway", g6,
                         "Aliases", aliases, "GwPriority", e->gw_priority, "DefaultRoute", e->default_route,
                         "IPAMConfig", ipam, "DesiredMacAddress", e->mac_given ? mac : "");
}

json_t *nd_container_to_json(const nd_container *c) {
        char mode[96];
        json_t *eps = json_array();
        for (size_t i = 0; eps && i < c->n_eps; i++)
                if (json_array_append_new(eps, endpoint_to_json(&c->eps[i])) < 0) {
                        json_decref(eps);
                        return NULL;
                }
        json_t *ports = json_array(), *bindings = nd_published_to_json(&c->pub);
        for (size_t i = 0; ports && i < c->n_ports; i++) {
                char buf[ND_PORT_SPEC_STRLEN];
                json_array_append_new(ports, json_string(nd_port_spec_fmt(&c->ports[i], buf)));
        }
        if (!eps || !ports || !bindings) {
                json_decref(eps);
                json_decref(ports);
                json_decref(bindings);
                return NULL;
        }
        json_t *dns = c->dns ? json_incref(c->dns) : json_array(),
               *search = c->dns_search ? json_incref(c->dns_search) : json_array(),
               *opts = c->dns_options ? json_incref(c->dns_options) : json_array(),
               *links = c->links ? json_incref(c->links) : json_array(),
               *extra = c->extra_hosts ? json_incref(c->extra_hosts) : json_array(),
               *exposed = c->exposed ? json_incref(c->exposed) : json_array(),
               *host = nd_ct_security_to_json(&c->sec);
        if (!host) {
                json_decref(eps);
                json_decref(ports);
                json_decref(bindings);
                json_decref(dns);
                json_decref(search);
                json_decref(opts);
                json_decref(links);
                json_decref(extra);
                json_decref(exposed);
                return NULL;
        }
        return json_pack("{s:s, s:s, s:I, s:{s:s, s:s, s:O, s:O, s:I, s:I, s:b, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:b,"
                         " s:o, s:b},"
                         " s:{s:s, s:i, s:i, s:i, s:I, s:I, s:s}, s:o, s:o, s:o}",
                         "Id", c->id, "Name", c->name, "Created", (json_int_t) c->created_us,
                         "Config", "Hostname", c->hostname, "Rootfs", c->rootfs ? c->rootfs : "", "Cmd", c->args,
                         "Env", c->env,
                         "Memory", (json_int_t) c->memory, "PidsLimit", (json_int_t) c->pids_limit, "AutoRemove",
                         c->auto_remove, "NetworkMode", mode_string(c, mode, sizeof(mode)), "Ports", ports,
                         "Dns", dns, "DnsSearch", search, "DnsOptions", opts, "Links", links,
                         "ExtraHosts", extra, "Service", c->service, "Managed", c->managed,
                         "ExposedPorts", exposed, "PublishAllPorts", c->publish_all,
                         "State", "Status", nd_ct_status_to_string(c->status), "Pid", (int) c->pid, "MonitorPid",
                         (int) c->monitor_pid, "ExitCode", c->exit_code, "StartedAt", (json_int_t) c->started_us,
                         "FinishedAt", (json_int_t) c->finished_us, "Error", c->error,
                         "Endpoints", eps, "PortBindings", bindings, "HostConfig", host);
}

static int parse_mac(const char *s, uint8_t mac[6]) {
        unsigned v[6];
        char tail;
        if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t) v[i];
        return 0;
}

#define STR(obj, key, dst)                                                                              \
        do {                                                                                            \
                json_t *_v = json_object_get(obj, key);                                                 \
                if (!json_is_string(_v) || json_string_length(_v) >= sizeof(dst))                       \
                        return nd_diag_set(d, -EINVAL, "container record: bad '%s'", key);              \
                strcpy(dst, json_string_value(_v));                                                     \
        } while (0)

static int endpoint_from_json(const json_t *j, nd_endpoint *e, nd_diag *d) {
        char mac[18], a4[ND_ADDR_STRLEN], a6[ND_ADDR_STRLEN], g4[ND_ADDR_STRLEN], g6[ND_ADDR_STRLEN];
        json_t *al, *v;
        size_t i;

        STR(j, "NetworkID", e->net_id);
        STR(j, "NetworkName", e->net_name);
        STR(j, "Interface", e->ifname);
        STR(j, "HostInterface", e->host_ifname);
        STR(j, "MacAddress", mac);
        STR(j, "IPAddress", a4);
        STR(j, "Gateway", g4);
        STR(j, "GlobalIPv6Address", a6);
        STR(j, "IPv6Gateway", g6);
        if (parse_mac(mac, e->mac) < 0)
                return nd_diag_set(d, -EINVAL, "container record: bad MacAddress");
        e->plen4 = (unsigned) json_integer_value(json_object_get(j, "IPPrefixLen"));
        e->plen6 = (unsigned) json_integer_value(json_object_get(j, "GlobalIPv6PrefixLen"));
        if (*a4 && (nd_addr_parse(a4, &e->addr4) < 0 || nd_addr_parse(g4, &e->gw4) < 0 || e->plen4 > 32))
                return nd_diag_set(d, -EINVAL, "container record: bad IPv4 endpoint");
        if (*a6 && (nd_addr_parse(a6, &e->addr6) < 0 || (*g6 && nd_addr_parse(g6, &e->gw6) < 0) || e->plen6 > 128))
                return nd_diag_set(d, -EINVAL, "container record: bad IPv6 endpoint");
        al = json_object_get(j, "Aliases");
        json_array_foreach(al, i, v) {
                if (i >= ND_MAX_ALIASES || !json_is_string(v) || json_string_length(v) > ND_NAME_MAX)
                        return nd_diag_set(d, -EINVAL, "container record: bad Aliases");
                strcpy(e->aliases[e->n_aliases++], json_string_value(v));
        }
        /* absent in records older than them */
        json_t *prio = json_object_get(j, "GwPriority");
        if (prio && (!json_is_integer(prio) || json_integer_value(prio) < INT_MIN || json_integer_value(prio) > INT_MAX))
                return nd_diag_set(d, -EINVAL, "container record: bad GwPriority");
        e->gw_priority = (int) json_integer_value(prio);
        e->default_route = json_is_true(json_object_get(j, "DefaultRoute"));
        /* IPAMConfig: absent in records from before addresses were given
         * back at stop; what they hold stays theirs, as it did */
        json_t *ipam = json_object_get(j, "IPAMConfig");
        if (!ipam) {
                e->static4 = e->addr4.family != 0;
                e->static6 = e->addr6.family != 0;
                e->mac_given = true;
                return 0;
        }
        const char *s4 = json_string_value(json_object_get(ipam, "IPv4Address")),
                   *s6 = json_string_value(json_object_get(ipam, "IPv6Address")),
                   *dm = json_string_value(json_object_get(j, "DesiredMacAddress"));
        if (!json_is_object(ipam) || (s4 && strcmp(s4, a4) != 0) || (s6 && strcmp(s6, a6) != 0))
                return nd_diag_set(d, -EINVAL, "container record: bad IPAMConfig");
        e->static4 = s4 != NULL;
        e->static6 = s6 != NULL;
        e->mac_given = dm && *dm;
        return 0;
}

int nd_container_from_json(const json_t *j, nd_container **ret, nd_diag *d) {
        _cleanup_(nd_container_freep) nd_container *c = nd_container_new();
        json_t *cfg = json_object_get(j, "Config"), *st = json_object_get(j, "State"), *eps, *e;
        char status[16], mode[96];
        size_t i;

        if (!c)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (!json_is_object(j) || !json_is_object(cfg) || !json_is_object(st))
                return nd_diag_set(d, -EINVAL, "container record: not an object");
        STR(j, "Id", c->id);
        STR(j, "Name", c->name);
        if (!nd_id_valid(c->id) || nd_name_valid(c->name) < 0)
                return nd_diag_set(d, -EINVAL, "container record: bad Id or Name");
        c->created_us = json_integer_value(json_object_get(j, "Created"));
        STR(cfg, "Hostname", c->hostname);
        json_t *rootfs = json_object_get(cfg, "Rootfs");
        if (!json_is_string(rootfs) || json_string_length(rootfs) >= PATH_MAX)
                return nd_diag_set(d, -EINVAL, "container record: bad '%s'", "Rootfs");
        if (nd_container_set_rootfs(c, json_string_value(rootfs)) < 0)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        STR(cfg, "NetworkMode", mode);
        c->args = json_incref(json_object_get(cfg, "Cmd"));
        c->env = json_incref(json_object_get(cfg, "Env"));
        if (!json_is_array(c->args) || !json_is_array(c->env) || json_array_size(c->args) == 0)
                return nd_diag_set(d, -EINVAL, "container record: bad Cmd or Env");
        c->memory = json_integer_value(json_object_get(cfg, "Memory"));
        c->pids_limit = json_integer_value(json_object_get(cfg, "PidsLimit"));
        c->auto_remove = json_is_true(json_object_get(cfg, "AutoRemove"));
        /* Managed: absent in records older than replicated services */
        c->managed = json_is_true(json_object_get(cfg, "Managed"));
        if (strcmp(mode, "bridge") == 0)
                c->mode = ND_NET_MODE_BRIDGE;
        else if (strcmp(mode, "none") == 0)
                c->mode = ND_NET_MODE_NONE;
        else if (strcmp(mode, "host") == 0)
                c->mode = ND_NET_MODE_HOST;
        else if (strncmp(mode, "container:", 10) == 0 && nd_id_valid(mode + 10)) {
                c->mode = ND_NET_MODE_CONTAINER;
                strcpy(c->mode_target, mode + 10);
        } else
                return nd_diag_set(d, -EINVAL, "container record: bad NetworkMode");
        STR(st, "Status", status);
        c->status = nd_ct_status_from_string(status);
        if (c->status < 0)
                return nd_diag_set(d, -EINVAL, "container record: bad Status");
        c->pid = (pid_t) json_integer_value(json_object_get(st, "Pid"));
        c->monitor_pid = (pid_t) json_integer_value(json_object_get(st, "MonitorPid"));
        c->exit_code = (int) json_integer_value(json_object_get(st, "ExitCode"));
        c->started_us = json_integer_value(json_object_get(st, "StartedAt"));
        c->finished_us = json_integer_value(json_object_get(st, "FinishedAt"));
        STR(st, "Error", c->error);
        /* Dns*: absent in records older than them */
        json_t *dns = json_object_get(cfg, "Dns"), *search = json_object_get(cfg, "DnsSearch"),
               *opts = json_object_get(cfg, "DnsOptions");
        if (json_array_size(dns))
                c->dns = json_incref(dns);
        if (json_array_size(search))
                c->dns_search = json_incref(search);
        if (json_array_size(opts))
                c->dns_options = json_incref(opts);
        json_t *links = json_object_get(cfg, "Links");
        json_array_foreach(links, i, e)
                if (!json_is_string(json_object_get(e, "Alias")) || !json_is_string(json_object_get(e, "IP")) ||
                    !json_is_string(json_object_get(e, "Name")))
                        return nd_diag_set(d, -EINVAL, "container record: bad Links");
        if (json_array_size(links))
                c->links = json_incref(links);
        json_t *extra = json_object_get(cfg, "ExtraHosts");
        json_array_foreach(extra, i, e)
                if (!json_is_string(e) || !strchr(json_string_value(e), ':'))
                        return nd_diag_set(d, -EINVAL, "container record: bad ExtraHosts");
        if (json_array_size(extra))
                c->extra_hosts = json_incref(extra);
        /* ExposedPorts, PublishAllPorts: absent in older records */
        json_t *exposed = json_object_get(cfg, "ExposedPorts");
        json_array_foreach(exposed, i, e)
                if (!json_is_string(e) || !strchr(json_string_value(e), '/'))
                        return nd_diag_set(d, -EINVAL, "container record: bad ExposedPorts");
        if (json_array_size(exposed))
                c->exposed = json_incref(exposed);
        c->publish_all = json_is_true(json_object_get(cfg, "PublishAllPorts"));
        /* Service: absent in records older than services */
        json_t *svc = json_object_get(cfg, "Service");
        if (svc && (!json_is_string(svc) || strlen(json_string_value(svc)) != json_string_length(svc) ||
                    (json_string_length(svc) && !nd_service_name_valid(json_string_value(svc)))))
                return nd_diag_set(d, -EINVAL, "container record: bad Service");
        if (svc)
                strcpy(c->service, json_string_value(svc));
        /* Ports and PortBindings: absent in records older than them */
        json_t *ports = json_object_get(cfg, "Ports"), *bindings = json_object_get(j, "PortBindings");
        json_array_foreach(ports, i, e) {
                int r = nd_port_spec_parse(json_string_value(e), &c->ports, &c->n_ports, d);
                if (r < 0)
                        return r;
        }
        int pr = nd_published_from_json(bindings, &c->pub, d);
        if (pr < 0)
                return pr;
        eps = json_object_get(j, "Endpoints");
        if (!json_is_array(eps) || json_array_size(eps) > ND_MAX_ENDPOINTS)
                return nd_diag_set(d, -EINVAL, "container record: bad Endpoints");
        if (json_array_size(eps) > 0 && !(c->eps = calloc(json_array_size(eps), sizeof(*c->eps))))
                return nd_diag_set(d, -ENOMEM, "out of memory");
        c->cap_eps = json_array_size(eps);
        json_array_foreach(eps, i, e) {
                int r = endpoint_from_json(e, &c->eps[i], d);
                if (r < 0)
                        return r;
                c->n_eps++;
        }
        /* HostConfig: absent in records older than it (Docker's defaults) */
        _cleanup_json_ json_t *none = json_object();
        json_t *host = json_object_get(j, "HostConfig");
        int sr = nd_ct_security_from_json(host ? host : none, &c->sec, d);
        if (sr < 0)
                return sr;
        *ret = TAKE_PTR(c);
        return 0;
}

json_t *nd_containers_network_map(nd_container *const *cts, size_t n, const char *net_id) {
        json_t *map = json_object();
        char a4[ND_ADDR_STRLEN + 4], a6[ND_ADDR_STRLEN + 4], mac[18], s[ND_ADDR_STRLEN], epid[ND_ID_LEN + 1];
        for (size_t i = 0; map && i < n; i++) {
                const nd_endpoint *e = nd_container_endpoint(cts[i], net_id);
                /* a stopped container that gave its addresses back has no
                 * endpoint there, for Docker */
                if (!e || (!e->addr4.family && !e->addr6.family))
                        continue;
                nd_mac_fmt(e->mac, mac);
                a4[0] = a6[0] = 0;
                if (e->addr4.family)
                        snprintf(a4, sizeof(a4), "%s/%u", nd_addr_fmt(&e->addr4, s), e->plen4);
                if (e->addr6.family)
                        snprintf(a6, sizeof(a6), "%s/%u", nd_addr_fmt(&e->addr6, s), e->plen6);
                /* the network's and the container's ids are both stable,
                 * so this is too */
                snprintf(epid, sizeof(epid), "%.32s%.32s", cts[i]->id, net_id);
                if (json_object_set_new(map, cts[i]->id,
                                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", cts[i]->name, "EndpointID", epid,
                                                  "MacAddress", mac, "IPv4Address", a4, "IPv6Address", a6)) < 0) {
                        json_decref(map);
                        return NULL;
                }
        }
        return map;
}

void nd_aliases_from_json(const json_t *al, char aliases[][ND_NAME_MAX + 1], size_t *n) {
        const json_t *v;
        size_t i;
        json_array_foreach(al, i, v)
                if (*n < ND_MAX_ALIASES && json_is_string(v) && nd_name_valid(json_string_value(v)) == 0)
                        snprintf(aliases[(*n)++], ND_NAME_MAX + 1, "%s", json_string_value(v));
}
