/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netd-cni: a CNI plugin (spec 1.0.0; 0.3.x/0.4.0 results on request) that
 * asks the running netd to wire a runtime's namespace to one of its
 * networks.  Plugin type "netd"; configuration:
 *
 *   {"cniVersion": "1.0.0", "name": "web", "type": "netd",
 *    "network": "web",                     (default: the conflist's name)
 *    "socket": "/run/netd/netd.sock",      (default)
 *    "capabilities": {"ips": true, "aliases": true, "portMappings": true}}
 *
 * ADD: POST /v1/sandboxes; the container's name for DNS comes from
 * CNI_ARGS K8S_POD_NAME (Podman and Kubernetes set it), static addresses
 * from runtimeConfig.ips, aliases from runtimeConfig.aliases.{network},
 * published ports from runtimeConfig.portMappings (held and programmed in
 * netd's nftables maps, like a netd container's -p), the service the pod
 * is a task of from CNI_ARGS NETD_SERVICE, the pod annotation
 * netd.service (runtimeConfig's io.kubernetes.cri.pod-annotations) or the
 * configuration's args.netd.service (docs/cni.md).
 * CHECK: GET /v1/sandboxes/ID/IFNAME?check=1.  DEL: DELETE, and success when
 * netd does not know the attachment (DEL is idempotent).  VERSION, STATUS
 * (is netd answering?) and GC (nothing to collect beyond what DEL does).
 *
 * Errors are CNI error objects on stdout with exit status 1: 1 incompatible
 * version, 3 unknown container, 4 bad environment, 6 undecodable config,
 * 7 invalid config, 11 netd not reachable (try again later), 50 plugin not
 * available (STATUS), 999 anything netd refused (its message in "msg").
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni-proto.h"
#include "grow.h"
#include "macro.h"
#include "uclient.h"

static const char *cni_version = "1.0.0";
/* what main() holds, released however it returns */
static char *input;
static nd_cni_call in = { .cmd = _ND_CNI_CMD_INVALID };
static json_t *reply;

static void release(void) {
        free(input);
        nd_cni_call_done(&in);
        json_decref(reply);
}

static int die(int code, const char *msg, const char *details) {
        json_t *j = json_pack("{s:s, s:i, s:s}", "cniVersion", cni_version, "code", code, "msg", msg);
        if (details && *details)
                json_object_set_new(j, "details", json_string(details));
        json_dumpf(j, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(j);
        return 1;
}

/* long enough for an ADD that waits on the store and the kernel */
#define CALL_TIMEOUT_MS (30 * 1000)

/* HTTP over the daemon's socket: the status (or -1 if unreachable, with
 * the reason in @d) and the reply's JSON in @ret. */
static long call(const char *sock, const char *method, const char *path, json_t *body, json_t **ret, nd_diag *d) {
        return nd_uclient_call(sock, method, path, body, CALL_TIMEOUT_MS, ret, d);
}

static const char *env(const char *k) {
        const char *v = getenv(k);
        return v && *v ? v : NULL;
}

/* netd's sandbox record -> a CNI result of cni_version */
static json_t *result(const json_t *s) {
        bool old = strncmp(cni_version, "0.", 2) == 0;
        json_t *ips = json_array(), *routes = json_array();
        const char *fam[2][4] = { { "IPv4Address", "IPv4PrefixLen", "IPv4Gateway", "0.0.0.0/0" },
                                  { "IPv6Address", "IPv6PrefixLen", "IPv6Gateway", "::/0" } };
        for (int f = 0; f < 2; f++) {
                const char *a = json_string_value(json_object_get(s, fam[f][0]));
                const char *gw = json_string_value(json_object_get(s, fam[f][2]));
                if (!a || !*a)
                        continue;
                char cidr[80];
                snprintf(cidr, sizeof(cidr), "%s/%lld", a, (long long) json_integer_value(json_object_get(s, fam[f][1])));
                json_t *ip = json_pack("{s:s, s:i}", "address", cidr, "interface", 0);
                if (gw && *gw)
                        json_object_set_new(ip, "gateway", json_string(gw));
                if (old)
                        json_object_set_new(ip, "version", json_string(f ? "6" : "4"));
                json_array_append_new(ips, ip);
                if (gw && *gw)
                        json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", fam[f][3], "gw", gw));
        }
        return json_pack("{s:s, s:[{s:s, s:s, s:s}], s:o, s:o, s:{s:[s]}}", "cniVersion", cni_version, "interfaces",
                         "name", json_string_value(json_object_get(s, "IfName")), "mac",
                         json_string_value(json_object_get(s, "MacAddress")), "sandbox",
                         json_string_value(json_object_get(s, "Netns")), "ips", ips, "routes", routes, "dns",
                         "nameservers", "127.0.0.11");
}

static int refused(long st, json_t *r, const char *what) {
        const char *msg = json_string_value(json_object_get(r, "message"));
        char m[600];
        snprintf(m, sizeof(m), "netd refused %s (HTTP %ld)", what, st);
        return die(st == 404 ? 3 : 999, m, msg);
}

int main(void) {
        nd_diag err = {};
        size_t cap = 0, len = 0;
        nd_cni_error e;
        long st;

        atexit(release);
        /* the whole config from stdin (VERSION gets a small one too) */
        for (;;) {
                if (ND_GROW(input, len, cap, 4096) < 0)
                        return die(5, "out of memory", NULL);
                size_t k = fread(input + len, 1, cap - len - 1, stdin);
                len += k;
                if (k == 0)
                        break;
        }
        if (!input && !(input = calloc(1, 1)))
                return die(5, "out of memory", NULL);
        input[len] = 0;
        nd_cni_env ev = { .command = env("CNI_COMMAND"), .containerid = env("CNI_CONTAINERID"),
                          .ifname = env("CNI_IFNAME"), .netns = env("CNI_NETNS"), .args = env("CNI_ARGS") };
        int r = nd_cni_parse(input, len, &ev, &in, &e);
        if (in.version)
                cni_version = in.version;
        if (r != 0)
                return die(e.code, e.msg, e.details);
        switch (in.cmd) {
        case ND_CNI_VERSION: {
                json_t *a = json_array();
                for (size_t i = 0; nd_cni_versions[i]; i++)
                        json_array_append_new(a, json_string(nd_cni_versions[i]));
                json_t *j = json_pack("{s:s, s:o}", "cniVersion", nd_cni_version_ok(cni_version) ? cni_version : "1.0.0",
                                      "supportedVersions", a);
                json_dumpf(j, stdout, JSON_COMPACT);
                fputc('\n', stdout);
                json_decref(j);
                return 0;
        }
        case ND_CNI_STATUS:
                st = call(in.socket, "GET", "/v1/version", NULL, &reply, &err);
                return st == 200 ? 0 : die(50, "netd is not answering", err.msg);
        case ND_CNI_GC:
                return 0; /* attachments are removed by DEL; netd holds nothing else per container */
        case ND_CNI_DEL:
                st = call(in.socket, "DELETE", in.path, NULL, &reply, &err);
                return st == 204 || st == 404 ? 0 : st < 0 ? die(11, "netd is not reachable", err.msg)
                                                           : refused(st, reply, "DEL");
        case ND_CNI_CHECK:
                st = call(in.socket, "GET", in.path, NULL, &reply, &err);
                return st == 200 ? 0 : st < 0 ? die(11, "netd is not reachable", err.msg) : refused(st, reply, "CHECK");
        case ND_CNI_ADD:
                break;
        default:
                return die(4, "unknown CNI_COMMAND", ev.command);
        }
        st = call(in.socket, "POST", "/v1/sandboxes", in.body, &reply, &err);
        if (st < 0)
                return die(11, "netd is not reachable", err.msg);
        if (st != 201)
                return refused(st, reply, "ADD");
        json_t *out = result(reply);
        json_dumpf(out, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(out);
        return 0;
}
