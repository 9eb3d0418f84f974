/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cni-proto.h"

const char *const nd_cni_versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL };

int nd_cni_version_ok(const char *v) {
        for (size_t i = 0; nd_cni_versions[i]; i++)
                if (strcmp(v, nd_cni_versions[i]) == 0)
                        return 1;
        return 0;
}

static const char *nz(const char *s) {
        return s && *s ? s : NULL;
}

/* The value of @key in CNI_ARGS "K1=V1;K2=V2" (not NUL-terminated: its
 * length in *@ret_len), or NULL. */
static const char *cni_arg_find(const char *a, const char *key, size_t *ret_len) {
        size_t kl = strlen(key);
        while (a && *a) {
                const char *end = strchr(a, ';');
                size_t len = end ? (size_t) (end - a) : strlen(a);
                if (len > kl && strncmp(a, key, kl) == 0 && a[kl] == '=') {
                        *ret_len = len - kl - 1;
                        return a + kl + 1;
                }
                a = end ? end + 1 : NULL;
        }
        return NULL;
}

/* K8S_POD_NAME=x from CNI_ARGS */
static bool cni_arg(const char *a, const char *key, char *out, size_t size) {
        size_t len;
        const char *v = cni_arg_find(a, key, &len);
        if (v)
                snprintf(out, size, "%.*s", (int) len, v);
        return v != NULL;
}

/* An interface name the kernel takes (dev_valid_name()) and that stays
 * one segment of the request's path. */
static bool ifname_ok(const char *s) {
        size_t n = strlen(s);
        return n >= 1 && n < 16 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strpbrk(s, "/: \t\n\v\f\r?#%");
}

static int fail(nd_cni_error *err, int code, const char *msg, const char *details) {
        err->code = code;
        err->msg = msg;
        err->details = details;
        return code;
}

static nd_cni_cmd cmd_from_string(const char *s) {
        static const char *const names[_ND_CNI_CMD_MAX] = {
                [ND_CNI_ADD] = "ADD", [ND_CNI_DEL] = "DEL", [ND_CNI_CHECK] = "CHECK",
                [ND_CNI_VERSION] = "VERSION", [ND_CNI_STATUS] = "STATUS", [ND_CNI_GC] = "GC",
        };
        for (int i = 0; i < _ND_CNI_CMD_MAX; i++)
                if (strcmp(s, names[i]) == 0)
                        return (nd_cni_cmd) i;
        return _ND_CNI_CMD_INVALID;
}

/* The service the pod is a task of, in the forms the runtimes let an
 * operator set (docs/cni.md), the most specific first: CNI_ARGS
 * NETD_SERVICE (Podman passes its own CNI_ARGS environment on), the pod
 * annotation "netd.service" (containerd and CRI-O give a plugin that
 * declares the io.kubernetes.cri.pod-annotations capability the pod's
 * annotations in runtimeConfig), the configuration's
 * "args": {"netd": {"service": NAME}} (every pod of that network).  Its
 * name is checked by netd; here only that it is text.  NULL in *@ret:
 * none. */
static int service_of(const nd_cni_env *env, const json_t *conf, json_t **ret, nd_cni_error *err) {
        const json_t *rc = json_object_get(conf, "runtimeConfig"), *v;
        size_t len;
        const char *a = cni_arg_find(nz(env->args), "NETD_SERVICE", &len);

        *ret = NULL;
        if (a) {
                if (len == 0)
                        return 0;
                *ret = json_stringn(a, len);
                return *ret ? 0 : fail(err, 4, "invalid CNI_ARGS NETD_SERVICE", "not UTF-8");
        }
        v = json_object_get(json_object_get(rc, "io.kubernetes.cri.pod-annotations"), "netd.service");
        if (v && !json_is_string(v))
                return fail(err, 7, "invalid pod annotation netd.service", "want a service name");
        if (!v) {
                v = json_object_get(json_object_get(json_object_get(conf, "args"), "netd"), "service");
                if (v && !json_is_string(v))
                        return fail(err, 7, "invalid network configuration", "args.netd.service: want a service name");
        }
        if (v && json_string_length(v))
                *ret = json_incref((json_t *) v);
        return 0;
}

/* The ADD body: runtimeConfig's ips, aliases and portMappings in netd's
 * terms, and the pod's service. */
static int add_body(const nd_cni_env *env, const json_t *conf, const char *name, const char *net, json_t **ret,
                    nd_cni_error *err) {
        json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "ContainerID", env->containerid, "IfName", env->ifname,
                                "Netns", env->netns, "Network", net);
        if (!req)
                /* json_pack refuses text that is not UTF-8 */
                return fail(err, 4, "invalid CNI_IFNAME or CNI_NETNS", "not UTF-8");
        char pod[256];
        if (cni_arg(nz(env->args), "K8S_POD_NAME", pod, sizeof(pod)))
                json_object_set_new(req, "Name", json_string(pod));
        json_t *svc;
        int r = service_of(env, conf, &svc, err);
        if (r != 0) {
                json_decref(req);
                return r;
        }
        if (svc)
                json_object_set_new(req, "Service", svc);
        json_t *rc = json_object_get(conf, "runtimeConfig"), *e;
        size_t i;
        json_array_foreach(json_object_get(rc, "ips"), i, e) {
                char ip[64];
                const char *s = json_string_value(e);
                if (!s)
                        continue;
                snprintf(ip, sizeof(ip), "%s", s);
                char *slash = strchr(ip, '/');
                if (slash)
                        *slash = 0;
                json_object_set_new(req, strchr(ip, ':') ? "IPv6Address" : "IPv4Address", json_string(ip));
        }
        json_t *al = json_object_get(json_object_get(rc, "aliases"), name);
        if (json_is_array(al))
                json_object_set(req, "Aliases", al);
        /* portMappings: [{"hostPort", "containerPort", "protocol", "hostIP"}]
         * -> netd's -p form */
        json_t *pm = json_object_get(rc, "portMappings"), *ports = json_array();
        json_array_foreach(pm, i, e) {
                json_int_t hp = json_integer_value(json_object_get(e, "hostPort"));
                json_int_t cp = json_integer_value(json_object_get(e, "containerPort"));
                const char *proto = json_string_value(json_object_get(e, "protocol"));
                const char *hip = json_string_value(json_object_get(e, "hostIP"));
                char spec[128];
                if (cp < 1 || cp > 65535 || hp < 0 || hp > 65535) {
                        json_decref(ports);
                        json_decref(req);
                        return fail(err, 7, "invalid runtimeConfig.portMappings entry", NULL);
                }
                if (!proto || !*proto)
                        proto = "tcp";
                if (hp == 0)
                        snprintf(spec, sizeof(spec), "%lld/%.8s", (long long) cp, proto);
                else if (hip && *hip)
                        snprintf(spec, sizeof(spec), strchr(hip, ':') ? "[%.46s]:%lld:%lld/%.8s" : "%.46s:%lld:%lld/%.8s",
                                 hip, (long long) hp, (long long) cp, proto);
                else
                        snprintf(spec, sizeof(spec), "%lld:%lld/%.8s", (long long) hp, (long long) cp, proto);
                json_array_append_new(ports, json_string(spec));
        }
        if (json_array_size(ports))
                json_object_set(req, "Ports", ports);
        json_decref(ports);
        *ret = req;
        return 0;
}

int nd_cni_parse(const char *input, size_t len, const nd_cni_env *env, nd_cni_call *ret, nd_cni_error *err) {
        const char *cmd = nz(env->command);
        json_error_t jerr;

        *ret = (nd_cni_call) { .cmd = _ND_CNI_CMD_INVALID };
        *err = (nd_cni_error) {0};
        if (!cmd)
                return fail(err, 4, "CNI_COMMAND is not set", NULL);
        ret->cmd = cmd_from_string(cmd);
        /* the text up to a NUL, as a C string reader would see it */
        ret->conf = json_loadb(input, strnlen(input, len), 0, &jerr);
        if (!json_is_object(ret->conf) && ret->cmd != ND_CNI_VERSION) {
                snprintf(err->text, sizeof(err->text), "%s", jerr.text);
                return fail(err, 6, "cannot decode the network configuration", err->text);
        }
        ret->version = json_string_value(json_object_get(ret->conf, "cniVersion"));
        if (ret->cmd == ND_CNI_VERSION)
                return 0;
        if (!ret->version || !nd_cni_version_ok(ret->version))
                return fail(err, 1, "incompatible CNI version", ret->version ? ret->version : "cniVersion missing");
        const char *type = json_string_value(json_object_get(ret->conf, "type"));
        const char *name = json_string_value(json_object_get(ret->conf, "name"));
        const char *net = json_string_value(json_object_get(ret->conf, "network"));
        ret->socket = json_string_value(json_object_get(ret->conf, "socket"));
        if (!type || strcmp(type, "netd") != 0 || !name)
                return fail(err, 7, "invalid network configuration", "want \"type\": \"netd\" and a \"name\"");
        if (!net)
                net = name;
        if (!ret->socket)
                ret->socket = ND_CNI_DEFAULT_SOCKET;
        if (ret->cmd == ND_CNI_STATUS || ret->cmd == ND_CNI_GC)
                return 0;

        const char *cid = nz(env->containerid), *ifname = nz(env->ifname), *netns = nz(env->netns);
        if (!cid || !ifname)
                return fail(err, 4, "CNI_CONTAINERID and CNI_IFNAME are required", NULL);
        /* the CNI spec's container id: alphanumeric first, then
         * alphanumerics, '_', '.' or '-' (so never "." or "..", which would
         * walk the request path) */
        if (!isalnum((unsigned char) cid[0]) ||
            strspn(cid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(cid) ||
            strlen(cid) > 128 || !ifname_ok(ifname))
                return fail(err, 4, "invalid CNI_CONTAINERID or CNI_IFNAME", NULL);
        snprintf(ret->path, sizeof(ret->path), "/v1/sandboxes/%s/%s", cid, ifname);
        if (ret->cmd == ND_CNI_DEL)
                return 0;
        if (ret->cmd == ND_CNI_CHECK) {
                snprintf(ret->path + strlen(ret->path), sizeof(ret->path) - strlen(ret->path), "?check=1");
                return 0;
        }
        if (ret->cmd != ND_CNI_ADD)
                return fail(err, 4, "unknown CNI_COMMAND", cmd);
        if (!netns)
                return fail(err, 4, "CNI_NETNS is required for ADD", NULL);
        nd_cni_env e = { .containerid = cid, .ifname = ifname, .netns = netns, .args = env->args };
        return add_body(&e, ret->conf, name, net, &ret->body, err);
}

void nd_cni_call_done(nd_cni_call *c) {
        json_decref(c->conf);
        json_decref(c->body);
        *c = (nd_cni_call) { .cmd = _ND_CNI_CMD_INVALID };
}
