/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "diag.h"
#include "json-util.h"
#include "service.h"
#include "service-internal.h"

static const char *const mode_names[_ND_SVC_MODE_MAX] = {
        [ND_SVC_VIP] = "vip",
        [ND_SVC_DNSRR] = "dnsrr",
};

static const char *const pub_names[_ND_SVC_PUB_MAX] = {
        [ND_SVC_PUB_INGRESS] = "ingress",
        [ND_SVC_PUB_HOST] = "host",
};

static const char *const sched_names[_ND_SVC_SCHED_MAX] = {
        [ND_SVC_REPLICATED] = "replicated",
        [ND_SVC_GLOBAL] = "global",
};

static const char *const restart_names[_ND_SVC_RESTART_MAX] = {
        [ND_SVC_RESTART_ANY] = "any",
        [ND_SVC_RESTART_ON_FAILURE] = "on-failure",
        [ND_SVC_RESTART_NONE] = "none",
};

const char *nd_svc_sched_to_string(nd_svc_sched m) {
        return m >= 0 && m < _ND_SVC_SCHED_MAX ? sched_names[m] : "unknown";
}

const char *nd_svc_restart_to_string(nd_svc_restart r) {
        return r >= 0 && r < _ND_SVC_RESTART_MAX ? restart_names[r] : "unknown";
}

/* The index of @s in @names, or -1. */
static int name_index(const char *const *names, int n, const char *s) {
        for (int i = 0; s && i < n; i++)
                if (strcmp(names[i], s) == 0)
                        return i;
        return -1;
}

nd_svc_tpl *nd_svc_tpl_free(nd_svc_tpl *t) {
        if (!t)
                return NULL;
        json_decref(t->args);
        json_decref(t->env);
        free(t->rootfs);
        free(t);
        return NULL;
}

const char *nd_svc_mode_to_string(nd_svc_mode m) {
        return m >= 0 && m < _ND_SVC_MODE_MAX ? mode_names[m] : "unknown";
}

nd_svc_mode nd_svc_mode_from_string(const char *s) {
        for (int i = 0; s && i < _ND_SVC_MODE_MAX; i++)
                if (strcmp(mode_names[i], s) == 0)
                        return (nd_svc_mode) i;
        return _ND_SVC_MODE_INVALID;
}

nd_service *nd_service_free(nd_service *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_nets; i++)
                free(s->nets[i].net);
        free(s->nets);
        free(s->ports);
        free(s->health.cmd);
        json_decref(s->labels);
        free(s->name);
        free(s->node);
        nd_svc_tpl_free(s->task);
        nd_svc_tpl_free(s->prev_task);
        free(s);
        return NULL;
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool nd_service_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n > ND_SVC_NAME_MAX || !is_alnum(name[0]) || !is_alnum(name[n - 1]))
                return false;
        for (size_t i = 1; i + 1 < n; i++)
                if (!is_alnum(name[i]) && name[i] != '-')
                        return false;
        /* DNS names compare without case: TASKS.web is tasks.web */
        return strcasecmp(name, "tasks") != 0;
}

/* ---- ports ------------------------------------------------------------------------ */

#define PORT_SYNTAX "want [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp]"

/* 1..65535 in decimal at *@p, which moves past the digits.  -EINVAL when
 * there are no digits, -ERANGE when the number is out of range. */
static int port_number(const char **p, uint16_t *ret) {
        unsigned long v = 0;
        size_t n = 0;
        for (; **p >= '0' && **p <= '9'; (*p)++, n++)
                if (v <= 65535)
                        v = v * 10 + (unsigned long) (**p - '0');
        if (n == 0)
                return -EINVAL;
        if (v < 1 || v > 65535)
                return -ERANGE;
        *ret = (uint16_t) v;
        return 0;
}

int nd_svc_port_parse(const char *s, nd_svc_port *ret, nd_diag *d) {
        nd_svc_port p = { .mode = ND_SVC_PUB_INGRESS, .proto = IPPROTO_TCP };
        const char *q = s;
        int r;

        if (!s || !*s || strlen(s) > 64)
                return nd_diag_set(d, -EINVAL, "invalid port '%.64s': " PORT_SYNTAX, s ? s : "");
        if (strncmp(q, "mode=", 5) == 0) {
                const char *comma = strchr(q, ',');
                size_t len = comma ? (size_t) (comma - q - 5) : 0;
                if (!comma)
                        return nd_diag_set(d, -EINVAL, "invalid port '%.64s': " PORT_SYNTAX, s);
                if (len == 7 && strncmp(q + 5, "ingress", 7) == 0)
                        p.mode = ND_SVC_PUB_INGRESS;
                else if (len == 4 && strncmp(q + 5, "host", 4) == 0)
                        p.mode = ND_SVC_PUB_HOST;
                else
                        return nd_diag_set(d, -EINVAL, "invalid port '%.64s': mode must be ingress or host", s);
                q = comma + 1;
        }
        r = port_number(&q, &p.published);
        if (r == -ERANGE)
                return nd_diag_set(d, -EINVAL, "invalid port '%.64s': published port must be 1-65535", s);
        if (r < 0 || *q++ != ':')
                return nd_diag_set(d, -EINVAL, "invalid port '%.64s': " PORT_SYNTAX, s);
        r = port_number(&q, &p.target);
        if (r == -ERANGE)
                return nd_diag_set(d, -EINVAL, "invalid port '%.64s': target port must be 1-65535", s);
        if (r < 0 || (*q && *q != '/'))
                return nd_diag_set(d, -EINVAL, "invalid port '%.64s': " PORT_SYNTAX, s);
        if (*q == '/') {
                if (strcmp(q + 1, "tcp") == 0)
                        p.proto = IPPROTO_TCP;
                else if (strcmp(q + 1, "udp") == 0)
                        p.proto = IPPROTO_UDP;
                else
                        return nd_diag_set(d, -EINVAL, "invalid port '%.64s': protocol must be tcp or udp", s);
        }
        *ret = p;
        return 0;
}

const char *nd_svc_port_fmt(const nd_svc_port *p, char buf[static ND_SVC_PORT_STRLEN]) {
        snprintf(buf, ND_SVC_PORT_STRLEN, "mode=%s,%u:%u/%s",
                 p->mode < _ND_SVC_PUB_MAX ? pub_names[p->mode] : "?", p->published, p->target,
                 p->proto == IPPROTO_UDP ? "udp" : "tcp");
        return buf;
}

/* ---- shared by requests and records --------------------------------------------------
 * @ctx is "service" for a request, "service record" for a record; a
 * request is refused for a field it does not know, a record is not. */

static int name_parse(const json_t *j, const char *ctx, nd_service *s, nd_diag *d) {
        const char *name = NULL;
        int r = nd_json_string(j, "Name", ctx, &name, d);
        if (r < 0)
                return r;
        if (!name)
                return nd_diag_set(d, -EINVAL, "%s: 'Name' is required", ctx);
        if (strcasecmp(name, "tasks") == 0)
                return nd_diag_set(d, -EINVAL, "service name '%s' is reserved: tasks.NAME names a service's tasks",
                                   name);
        if (!nd_service_name_valid(name))
                return nd_diag_set(d, -EINVAL, "service name '%.64s' is not a valid DNS label (1-%d letters, digits "
                                   "and '-', not first or last)", name, ND_SVC_NAME_MAX);
        s->name = strdup(name);
        return s->name ? 0 : nd_diag_set(d, -ENOMEM, "out of memory");
}

static int mode_parse(const json_t *j, const char *ctx, nd_service *s, nd_diag *d) {
        const char *mode = NULL;
        int r = nd_json_string(j, "EndpointMode", ctx, &mode, d);
        if (r < 0)
                return r;
        s->mode = mode ? nd_svc_mode_from_string(mode) : ND_SVC_VIP;
        if (s->mode < 0)
                return nd_diag_set(d, -EINVAL, "%s: 'EndpointMode' must be vip or dnsrr, not '%.32s'", ctx, mode);
        return 0;
}

/* A request's entry: a reference, as the user gave it. */
static int net_ref_parse(const json_t *v, size_t i, nd_svc_net *n, nd_diag *d) {
        const char *ref = json_string_value(v);
        if (!ref || strlen(ref) != json_string_length(v) || nd_name_valid(ref) < 0)
                return nd_diag_set(d, -EINVAL, "service: Networks[%zu] %s%.64s%s is not a network name or id", i,
                                   ref ? "'" : "(", ref ? ref : json_is_null(v) ? "null" : "not a string",
                                   ref ? "'" : ")");
        n->net = strdup(ref);
        return n->net ? 0 : nd_diag_set(d, -ENOMEM, "out of memory");
}

/* A record's entry: {"Network": id, "VIP": "a.b.c.d" or absent}. */
static int net_record_parse(const json_t *v, size_t i, nd_svc_net *n, nd_diag *d) {
        const char *id = json_string_value(json_object_get(v, "Network"));
        const json_t *vip = json_object_get(v, "VIP");

        if (!json_is_object(v) || !nd_id_valid(id))
                return nd_diag_set(d, -EINVAL, "service record: Networks[%zu] needs a 'Network' id", i);
        if (vip && !json_is_null(vip) &&
            (!json_is_string(vip) || nd_addr_parse(json_string_value(vip), &n->vip4) < 0 ||
             n->vip4.family != AF_INET))
                return nd_diag_set(d, -EINVAL, "service record: Networks[%zu] has a bad 'VIP'", i);
        n->net = strdup(id);
        return n->net ? 0 : nd_diag_set(d, -ENOMEM, "out of memory");
}

static int nets_parse(const json_t *j, const char *ctx, bool record, nd_service *s, nd_diag *d) {
        const json_t *a = json_object_get(j, "Networks"), *v;
        size_t i;
        int r;

        if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > ND_SVC_MAX_NETS)
                return nd_diag_set(d, -EINVAL, "%s: 'Networks' must be an array of 1 to %d networks", ctx,
                                   ND_SVC_MAX_NETS);
        s->nets = calloc(json_array_size(a), sizeof(*s->nets));
        if (!s->nets)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        json_array_foreach(a, i, v) {
                nd_svc_net *n = &s->nets[s->n_nets];
                r = record ? net_record_parse(v, i, n, d) : net_ref_parse(v, i, n, d);
                if (r < 0) {
                        free(n->net);
                        return r;
                }
                s->n_nets++;
                for (size_t k = 0; k < i; k++)
                        if (strcmp(s->nets[k].net, n->net) == 0)
                                return nd_diag_set(d, -EINVAL, "%s: network '%.64s' is given twice", ctx, n->net);
                if (n->vip4.family && s->mode == ND_SVC_DNSRR)
                        return nd_diag_set(d, -EINVAL, "%s: Networks[%zu] has a VIP in dnsrr mode", ctx, i);
        }
        return 0;
}

static int ports_parse(const json_t *j, const char *ctx, nd_service *s, nd_diag *d) {
        const json_t *a = json_object_get(j, "Ports"), *v;
        size_t i;
        int r;

        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > ND_SVC_MAX_PORTS)
                return nd_diag_set(d, -EINVAL, "%s: 'Ports' must be an array of at most %d strings like \"8080:80/tcp\"",
                                   ctx, ND_SVC_MAX_PORTS);
        if (json_array_size(a) == 0)
                return 0;
        s->ports = calloc(json_array_size(a), sizeof(*s->ports));
        if (!s->ports)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        json_array_foreach(a, i, v) {
                nd_svc_port *p = &s->ports[s->n_ports];
                if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                        return nd_diag_set(d, -EINVAL, "%s: Ports[%zu] must be a string like \"8080:80/tcp\"", ctx, i);
                if ((r = nd_svc_port_parse(json_string_value(v), p, d)) < 0)
                        return r;
                /* one listener per port and protocol, whatever the mode */
                for (size_t k = 0; k < s->n_ports; k++)
                        if (s->ports[k].published == p->published && s->ports[k].proto == p->proto)
                                return nd_diag_set(d, -EINVAL, "%s: port %u/%s is published twice", ctx, p->published,
                                                   p->proto == IPPROTO_UDP ? "udp" : "tcp");
                /* Docker's words: the routing mesh balances over a VIP */
                if (p->mode == ND_SVC_PUB_INGRESS && s->mode == ND_SVC_DNSRR)
                        return nd_diag_set(d, -EINVAL, "port published with ingress mode can't be used with dnsrr "
                                           "mode (port '%.64s'; use mode=host)", json_string_value(v));
                s->n_ports++;
        }
        return 0;
}

/* Interval and Timeout: seconds in (0, 3600], @def when absent. */
static int seconds_parse(const json_t *h, const char *key, double def, double *ret, nd_diag *d) {
        const json_t *v = json_object_get(h, key);
        double x = def;

        if (v && !json_is_null(v)) {
                x = json_is_number(v) ? json_number_value(v) : NAN;
                if (!(x > 0 && x <= ND_SVC_HEALTH_SECONDS_MAX))
                        return nd_diag_set(d, -EINVAL, "HealthCheck: '%s' must be a number of seconds, more than 0 "
                                           "and at most %d", key, ND_SVC_HEALTH_SECONDS_MAX);
        }
        *ret = x;
        return 0;
}

static int health_parse(const json_t *j, bool record, nd_service *s, nd_diag *d) {
        static const char *const keys[] = { "Test", "Interval", "Timeout", "Retries", NULL };
        const json_t *h = json_object_get(j, "HealthCheck"), *test, *retries;
        const char *cmd;
        size_t len;
        int r;

        if (!h || json_is_null(h))
                return 0;
        if (!json_is_object(h))
                return nd_diag_set(d, -EINVAL, "HealthCheck must be an object with 'Test', 'Interval', 'Timeout' "
                                   "and 'Retries'");
        if (!record && (r = nd_json_only_keys(h, keys, "HealthCheck", d)) < 0)
                return r;
        test = json_object_get(h, "Test");
        cmd = json_string_value(test);
        len = cmd ? json_string_length(test) : 0;
        if (!cmd || len == 0 || len > ND_SVC_HEALTH_CMD_MAX)
                return nd_diag_set(d, -EINVAL, "HealthCheck: 'Test' must be a non-empty command of at most %d bytes",
                                   ND_SVC_HEALTH_CMD_MAX);
        for (size_t i = 0; i < len; i++)
                if (((unsigned char) cmd[i] < ' ' && cmd[i] != '\t') || cmd[i] == 0x7f)
                        return nd_diag_set(d, -EINVAL, "HealthCheck: 'Test' holds a control character (byte %zu)",
                                           i);
        s->health.retries = 3;
        if ((r = seconds_parse(h, "Interval", 30, &s->health.interval, d)) < 0 ||
            (r = seconds_parse(h, "Timeout", 30, &s->health.timeout, d)) < 0)
                return r;
        retries = json_object_get(h, "Retries");
        if (retries && !json_is_null(retries)) {
                if (!json_is_integer(retries) || json_integer_value(retries) < 1 ||
                    json_integer_value(retries) > ND_SVC_HEALTH_RETRIES_MAX)
                        return nd_diag_set(d, -EINVAL, "HealthCheck: 'Retries' must be an integer from 1 to %d",
                                           ND_SVC_HEALTH_RETRIES_MAX);
                s->health.retries = (unsigned) json_integer_value(retries);
        }
        s->health.cmd = strndup(cmd, len);
        return s->health.cmd ? 0 : nd_diag_set(d, -ENOMEM, "out of memory");
}

static int labels_parse(const json_t *j, const char *ctx, nd_service *s, nd_diag *d) {
        json_t *labels = NULL;
        int r = nd_json_string_map(j, "Labels", ctx, &labels, d);
        if (r < 0)
                return r;
        if (json_object_size(labels) > ND_SVC_MAX_LABELS)
                return nd_diag_set(d, -EINVAL, "%s: at most %d labels", ctx, ND_SVC_MAX_LABELS);
        s->labels = labels ? json_deep_copy(labels) : json_object();
        return s->labels ? 0 : nd_diag_set(d, -ENOMEM, "out of memory");
}

/* ---- tasks netd runs ------------------------------------------------------------ */

/* A string without NUL bytes (jansson allows them). */
const char *nd_svc_plain_string(const json_t *v) {
        const char *s = json_string_value(v);
        return s && strlen(s) == json_string_length(v) ? s : NULL;
}

int nd_svc_env_entry_check(const json_t *v, const char *ctx, const char *field, nd_diag *d) {
        const char *e = nd_svc_plain_string(v), *eq = e ? strchr(e, '=') : NULL;
        if (!eq || eq == e)
                return nd_diag_set(d, -EINVAL, "%s: %s entry '%.64s' is not KEY=VALUE", ctx, field, e ? e : "?");
        return 0;
}

/* A number of seconds in [0, ND_SVC_SECONDS_MAX], @def when absent. */
static int seconds0_parse(const json_t *obj, const char *key, const char *ctx, double def, double *ret, nd_diag *d) {
        const json_t *v = json_object_get(obj, key);
        double x = def;

        if (v && !json_is_null(v)) {
                x = json_is_number(v) ? json_number_value(v) : NAN;
                if (!(x >= 0 && x <= ND_SVC_SECONDS_MAX))
                        return nd_diag_set(d, -EINVAL, "%s: '%s' must be a number of seconds from 0 to %d", ctx,
                                           key, ND_SVC_SECONDS_MAX);
        }
        *ret = x;
        return 0;
}

/* An integer in [@lo, @hi] at @key, left alone when absent. */
int nd_svc_int_parse(const json_t *obj, const char *key, const char *ctx, long long lo, long long hi, long long *ret,
                     nd_diag *d) {
        const json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
                return nd_diag_set(d, -EINVAL, "%s: '%s' must be an integer from %lld to %lld", ctx, key, lo, hi);
        *ret = json_integer_value(v);
        return 0;
}

/* "Task": {"Args", "Env", "Rootfs", "Memory", "PidsLimit",
 * "StopGracePeriod"}; the same checks as a container request's, so a
 * template that parses makes tasks the container service accepts (only
 * what is on disk, the rootfs and the command, can still fail there). */
int nd_svc_task_parse(const json_t *t, const char *ctx, bool record, nd_svc_tpl **ret, nd_diag *d) {
        static const char *const keys[] = { "Args", "Env", "Rootfs", "Memory", "PidsLimit", "StopGracePeriod", NULL };
        _cleanup_(nd_svc_tpl_freep) nd_svc_tpl *k = calloc(1, sizeof(*k));
        const json_t *args = json_object_get(t, "Args"), *env = json_object_get(t, "Env"), *v;
        const char *rootfs = NULL;
        long long x;
        size_t i;
        int r;

        if (!k)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (!json_is_object(t))
                return nd_diag_set(d, -EINVAL, "%s: 'Task' must be an object with 'Args' (the command) and 'Env', "
                                   "'Rootfs', 'Memory', 'PidsLimit', 'StopGracePeriod'", ctx);
        if (!record && (r = nd_json_only_keys(t, keys, "Task", d)) < 0)
                return r;
        if (!json_is_array(args) || json_array_size(args) == 0 || json_array_size(args) > ND_SVC_TASK_ARGS_MAX)
                return nd_diag_set(d, -EINVAL, "%s: Task 'Args' must be an array of 1 to %d strings, the command "
                                   "first", ctx, ND_SVC_TASK_ARGS_MAX);
        json_array_foreach(args, i, v)
                if (!nd_svc_plain_string(v) || (i == 0 && !*nd_svc_plain_string(v)))
                        return nd_diag_set(d, -EINVAL, "%s: Task Args[%zu] must be a %sstring", ctx, i,
                                           i == 0 ? "non-empty " : "");
        if (env && !json_is_null(env)) {
                if (!json_is_array(env) || json_array_size(env) > ND_SVC_TASK_ENV_MAX)
                        return nd_diag_set(d, -EINVAL, "%s: Task 'Env' must be an array of at most %d strings "
                                           "KEY=VALUE", ctx, ND_SVC_TASK_ENV_MAX);
                json_array_foreach(env, i, v)
                        if ((r = nd_svc_env_entry_check(v, ctx, "Task Env", d)) < 0)
                                return r;
        }
        k->args = json_deep_copy(args);
        k->env = env && !json_is_null(env) ? json_deep_copy(env) : json_array();
        if (!k->args || !k->env)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if ((r = nd_json_string(t, "Rootfs", "Task", &rootfs, d)) < 0)
                return r;
        if (rootfs && *rootfs) {
                if (rootfs[0] != '/' || strlen(rootfs) >= 4096)
                        return nd_diag_set(d, -EINVAL, "%s: Task rootfs '%.64s' must be an absolute path", ctx,
                                           rootfs);
                k->rootfs = strdup(rootfs);
                if (!k->rootfs)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        x = 0;
        if ((r = nd_svc_int_parse(t, "Memory", "Task", 0, INT64_MAX, &x, d)) < 0)
                return r;
        if (x > 0 && x < ND_SVC_TASK_MEMORY_MIN)
                return nd_diag_set(d, -EINVAL, "%s: Task 'Memory' must be 0 or at least 4 MiB (bytes)", ctx);
        k->memory = x;
        if ((r = nd_svc_int_parse(t, "PidsLimit", "Task", 0, INT64_MAX, &k->pids_limit, d)) < 0 ||
            (r = seconds0_parse(t, "StopGracePeriod", "Task", ND_SVC_STOP_GRACE_DEFAULT, &k->stop_grace, d)) < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

int nd_svc_update_policy_parse(const json_t *j, const char *ctx, bool record, nd_service *s, nd_diag *d) {
        static const char *const keys[] = { "Parallelism", "Delay", NULL };
        const json_t *u = json_object_get(j, "Update");
        long long par = 1;
        int r;

        s->update_parallelism = 1;
        s->update_delay = 0;
        if (!u || json_is_null(u))
                return 0;
        if (!json_is_object(u))
                return nd_diag_set(d, -EINVAL, "%s: 'Update' must be an object with 'Parallelism' and 'Delay'", ctx);
        if (!record && (r = nd_json_only_keys(u, keys, "Update", d)) < 0)
                return r;
        if ((r = nd_svc_int_parse(u, "Parallelism", "Update", 1, ND_SVC_MAX_REPLICAS, &par, d)) < 0 ||
            (r = seconds0_parse(u, "Delay", "Update", 0, &s->update_delay, d)) < 0)
                return r;
        s->update_parallelism = (unsigned) par;
        return 0;
}

int nd_svc_restart_parse(const json_t *j, const char *ctx, nd_svc_restart *ret, nd_diag *d) {
        const char *cond = NULL;
        int r = nd_json_string(j, "RestartCondition", ctx, &cond, d), i;
        if (r < 0)
                return r;
        i = cond ? name_index(restart_names, _ND_SVC_RESTART_MAX, cond) : ND_SVC_RESTART_ANY;
        if (i < 0)
                return nd_diag_set(d, -EINVAL, "%s: 'RestartCondition' must be any, on-failure or none, not '%.32s'",
                                   ctx, cond);
        *ret = (nd_svc_restart) i;
        return 0;
}

/* "Replicas" for mode @sched: 1..ND_SVC_MAX_REPLICAS, and refused in
 * global mode. */
int nd_svc_replicas_parse(const json_t *j, const char *ctx, nd_svc_sched sched, unsigned *ret, nd_diag *d) {
        const json_t *v = json_object_get(j, "Replicas");
        long long n = 1;
        int r;

        if (sched == ND_SVC_GLOBAL) {
                if (v && !json_is_null(v))
                        return nd_diag_set(d, -EINVAL, "%s: 'Replicas' cannot be combined with mode global (one "
                                           "task per host)", ctx);
                *ret = 0;
                return 0;
        }
        if ((r = nd_svc_int_parse(j, "Replicas", ctx, 1, ND_SVC_MAX_REPLICAS, &n, d)) < 0)
                return r;
        *ret = (unsigned) n;
        return 0;
}

static int version_parse(const json_t *j, const char *ctx, uint64_t *ret, nd_diag *d) {
        const json_t *v = json_object_get(j, "Version");
        if (!json_is_integer(v) || json_integer_value(v) < 1)
                return nd_diag_set(d, -EINVAL, "%s: bad 'Version'", ctx);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

/* A record's "Previous": {"Task", "Replicas", "Version"}. */
static int previous_parse(const json_t *j, const char *ctx, nd_service *s, nd_diag *d) {
        const json_t *p = json_object_get(j, "Previous");
        int r;

        if (!p || json_is_null(p))
                return 0;
        if (!json_is_object(p))
                return nd_diag_set(d, -EINVAL, "%s: bad 'Previous'", ctx);
        if ((r = nd_svc_task_parse(json_object_get(p, "Task"), ctx, true, &s->prev_task, d)) < 0 ||
            (r = nd_svc_replicas_parse(p, ctx, s->sched, &s->prev_replicas, d)) < 0 ||
            (r = version_parse(p, ctx, &s->prev_version, d)) < 0)
                return r;
        return 0;
}

/* Task, Mode, Replicas, RestartCondition, Update; in a record also
 * Version and Previous.  The scheduling fields mean nothing without a
 * template, so they are refused without one rather than ignored. */
static int tasks_parse(const json_t *j, const char *ctx, bool record, nd_service *s, nd_diag *d) {
        static const char *const needs_task[] = { "Mode", "Replicas", "RestartCondition", "Update", NULL };
        const json_t *t = json_object_get(j, "Task");
        const char *sched = NULL;
        int r, i;

        s->sched = ND_SVC_REPLICATED;
        s->update_parallelism = 1;
        if (!t || json_is_null(t)) {
                for (size_t k = 0; needs_task[k]; k++) {
                        const json_t *v = json_object_get(j, needs_task[k]);
                        if (v && !json_is_null(v))
                                return nd_diag_set(d, -EINVAL, "%s: '%s' needs a 'Task' (a command for netd to run); "
                                                   "a service without one has only the containers that name it",
                                                   ctx, needs_task[k]);
                }
                return 0;
        }
        if ((r = nd_svc_task_parse(t, ctx, record, &s->task, d)) < 0 || (r = nd_json_string(j, "Mode", ctx, &sched, d)) < 0)
                return r;
        i = sched ? name_index(sched_names, _ND_SVC_SCHED_MAX, sched) : ND_SVC_REPLICATED;
        if (i < 0)
                return nd_diag_set(d, -EINVAL, "%s: 'Mode' must be replicated or global, not '%.32s'", ctx, sched);
        s->sched = (nd_svc_sched) i;
        if ((r = nd_svc_replicas_parse(j, ctx, s->sched, &s->replicas, d)) < 0 ||
            (r = nd_svc_restart_parse(j, ctx, &s->restart, d)) < 0 || (r = nd_svc_update_policy_parse(j, ctx, record, s, d)) < 0)
                return r;
        if (!record) {
                s->version = 1;
                return 0;
        }
        if ((r = version_parse(j, ctx, &s->version, d)) < 0 || (r = previous_parse(j, ctx, s, d)) < 0)
                return r;
        return 0;
}

/* The order of the checks is the order of the messages a user fixes one
 * by one: the name, then the mode (ports and VIPs depend on it), then the
 * rest in the body's order. */
static int service_parse(const json_t *j, bool record, nd_service **ret, nd_diag *d) {
        static const char *const keys[] = { "Name", "Networks", "EndpointMode", "Ports", "HealthCheck", "Labels",
                                            "Task", "Mode", "Replicas", "RestartCondition", "Update", NULL };
        const char *ctx = record ? "service record" : "service";
        _cleanup_(nd_service_freep) nd_service *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (!json_is_object(j))
                return nd_diag_set(d, -EINVAL, "%s: not an object", ctx);
        if ((!record && (r = nd_json_only_keys(j, keys, ctx, d)) < 0) || (r = name_parse(j, ctx, s, d)) < 0 ||
            (r = mode_parse(j, ctx, s, d)) < 0 || (r = nets_parse(j, ctx, record, s, d)) < 0 ||
            (r = ports_parse(j, ctx, s, d)) < 0 || (r = health_parse(j, record, s, d)) < 0 ||
            (r = labels_parse(j, ctx, s, d)) < 0 || (r = tasks_parse(j, ctx, record, s, d)) < 0)
                return r;
        s->node = strdup("");
        if (!s->node)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *ret = TAKE_PTR(s);
        return 0;
}

int nd_service_spec_parse(const json_t *req, nd_service **ret, nd_diag *d) {
        return service_parse(req, false, ret, d);
}

/* ---- the record ------------------------------------------------------------------- */

/* Whole seconds as an integer ("Interval": 5, as the user wrote it).  The
 * range is checked first: the cast of a larger value would be undefined. */
static json_t *seconds_json(double v) {
        if (v >= 0 && v <= ND_SVC_HEALTH_SECONDS_MAX && v == (double) (json_int_t) v)
                return json_integer((json_int_t) v);
        return json_real(v);
}

static json_t *health_to_json(const nd_svc_health *h) {
        return json_pack("{s:s, s:o, s:o, s:I}", "Test", h->cmd, "Interval", seconds_json(h->interval), "Timeout",
                         seconds_json(h->timeout), "Retries", (json_int_t) h->retries);
}

static json_t *nets_to_json(const nd_service *s) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < s->n_nets; i++) {
                char vip[ND_ADDR_STRLEN];
                json_t *e = json_pack("{s:s}", "Network", s->nets[i].net);
                if (e && s->nets[i].vip4.family &&
                    json_object_set_new(e, "VIP", json_string(nd_addr_fmt(&s->nets[i].vip4, vip))) < 0) {
                        json_decref(e);
                        e = NULL;
                }
                if (json_array_append_new(a, e) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *ports_to_json(const nd_service *s) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < s->n_ports; i++) {
                char buf[ND_SVC_PORT_STRLEN];
                if (json_array_append_new(a, json_string(nd_svc_port_fmt(&s->ports[i], buf))) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

json_t *nd_svc_task_to_json(const nd_svc_tpl *t) {
        _cleanup_json_ json_t *j = json_pack("{s:O, s:O, s:I, s:I, s:o}", "Args", t->args, "Env", t->env, "Memory",
                                             (json_int_t) t->memory, "PidsLimit", (json_int_t) t->pids_limit,
                                             "StopGracePeriod", seconds_json(t->stop_grace));
        if (!j || (t->rootfs && json_object_set_new(j, "Rootfs", json_string(t->rootfs)) < 0))
                return NULL;
        return TAKE_PTR(j);
}

/* Task, Mode, Replicas, RestartCondition, Update, Version, Previous into
 * @j; -ENOMEM. */
static int tasks_to_json(const nd_service *s, json_t *j) {
        json_t *prev = NULL;

        if (!s->task)
                return 0;
        if (json_object_set_new(j, "Task", nd_svc_task_to_json(s->task)) < 0 ||
            json_object_set_new(j, "Mode", json_string(nd_svc_sched_to_string(s->sched))) < 0 ||
            (s->sched == ND_SVC_REPLICATED &&
             json_object_set_new(j, "Replicas", json_integer((json_int_t) s->replicas)) < 0) ||
            json_object_set_new(j, "RestartCondition", json_string(nd_svc_restart_to_string(s->restart))) < 0 ||
            json_object_set_new(j, "Update", json_pack("{s:I, s:o}", "Parallelism", (json_int_t) s->update_parallelism,
                                                       "Delay", seconds_json(s->update_delay))) < 0 ||
            json_object_set_new(j, "Version", json_integer((json_int_t) s->version)) < 0)
                return -ENOMEM;
        if (!s->prev_task)
                return 0;
        prev = json_pack("{s:o, s:I}", "Task", nd_svc_task_to_json(s->prev_task), "Version", (json_int_t) s->prev_version);
        if (prev && s->sched == ND_SVC_REPLICATED &&
            json_object_set_new(prev, "Replicas", json_integer((json_int_t) s->prev_replicas)) < 0) {
                json_decref(prev);
                prev = NULL;
        }
        return json_object_set_new(j, "Previous", prev) < 0 ? -ENOMEM : 0;
}

json_t *nd_service_to_json(const nd_service *s) {
        json_t *nets = nets_to_json(s), *ports = ports_to_json(s),
               *labels = s->labels ? json_incref(s->labels) : json_object();
        if (!nets || !ports || !labels) {
                json_decref(nets);
                json_decref(ports);
                json_decref(labels);
                return NULL;
        }
        _cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:s}", "Id", s->id, "Name",
                                             s->name ? s->name : "", "EndpointMode", nd_svc_mode_to_string(s->mode),
                                             "Networks", nets, "Ports", ports, "Labels", labels, "Created",
                                             (json_int_t) s->created, "Node", s->node ? s->node : "");
        if (!j)
                return NULL;
        if (s->health.cmd && json_object_set_new(j, "HealthCheck", health_to_json(&s->health)) < 0)
                return NULL;
        if (tasks_to_json(s, j) < 0)
                return NULL;
        return TAKE_PTR(j);
}

static bool node_valid(const char *node) {
        size_t n = node ? strlen(node) : 0;
        return node && n <= ND_ID_LEN && strspn(node, "0123456789abcdef") == n;
}

int nd_service_from_json(const json_t *j, nd_service **ret, nd_diag *d) {
        _cleanup_(nd_service_freep) nd_service *s = NULL;
        const json_t *created, *node;
        const char *id;
        int r;

        if ((r = service_parse(j, true, &s, d)) < 0)
                return r;
        id = json_string_value(json_object_get(j, "Id"));
        if (!nd_id_valid(id))
                return nd_diag_set(d, -EINVAL, "service record '%s': bad 'Id'", s->name);
        strcpy(s->id, id);
        created = json_object_get(j, "Created");
        if (!json_is_integer(created) || json_integer_value(created) < 0)
                return nd_diag_set(d, -EINVAL, "service record '%s': bad 'Created'", s->name);
        s->created = json_integer_value(created);
        node = json_object_get(j, "Node");
        if (!node_valid(json_string_value(node)))
                return nd_diag_set(d, -EINVAL, "service record '%s': bad 'Node'", s->name);
        free(s->node);
        s->node = strdup(json_string_value(node));
        if (!s->node)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *ret = TAKE_PTR(s);
        return 0;
}
