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
 * netd's nftables maps, like a netd container's -p).
 * CHECK: GET /v1/sandboxes/ID/IFNAME?check=1.  DEL: DELETE, and success when
 * netd does not know the attachment (DEL is idempotent).  VERSION, STATUS
 * (is netd answering?) and GC (nothing to collect beyond what DEL does).
 *
 * Errors are CNI error objects on stdout with exit status 1: 1 incompatible
 * version, 3 unknown container, 4 bad environment, 6 undecodable config,
 * 7 invalid config, 11 netd not reachable (try again later), 50 plugin not
 * available (STATUS), 999 anything netd refused (its message in "msg").
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SOCKET "/run/netd/netd.sock"

static const char *cni_version = "1.0.0";
/* what main() holds, released however it returns */
static char *input;
static json_t *conf, *reply;

static void release(void) {
        free(input);
        json_decref(conf);
        json_decref(reply);
        curl_global_cleanup();
}
static const char *const supported[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };

static int die(int code, const char *msg, const char *details) {
        json_t *j = json_pack("{s:s, s:i, s:s}", "cniVersion", cni_version, "code", code, "msg", msg);
        if (details && *details)
                json_object_set_new(j, "details", json_string(details));
        json_dumpf(j, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(j);
        return 1;
}

struct buf {
        char *p;
        size_t n;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *u) {
        struct buf *b = u;
        size_t n = size * nmemb;
        char *q = realloc(b->p, b->n + n + 1);
        if (!q)
                return 0;
        memcpy(q + b->n, p, n);
        b->p = q;
        b->n += n;
        b->p[b->n] = 0;
        return n;
}

/* HTTP over the daemon's socket: the status (or -1 if unreachable, with
 * curl's words in @err) and the reply's JSON in @ret. */
static long call(const char *sock, const char *method, const char *path, json_t *body, json_t **ret, char *err,
                 size_t errlen) {
        CURL *c = curl_easy_init();
        struct buf b = {0};
        char url[512], eb[CURL_ERROR_SIZE] = "";
        char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        long st = -1;
        *ret = NULL;
        if (!c)
                return -1;
        snprintf(url, sizeof(url), "http://netd%s", path);
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, eb);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (data)
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
        if (curl_easy_perform(c) == CURLE_OK) {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
                if (b.p)
                        *ret = json_loads(b.p, 0, NULL);
        } else
                snprintf(err, errlen, "%s", eb);
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        free(data);
        free(b.p);
        return st;
}

static const char *env(const char *k) {
        const char *v = getenv(k);
        return v && *v ? v : NULL;
}

/* K8S_POD_NAME=x from CNI_ARGS "K1=V1;K2=V2" */
static bool cni_arg(const char *key, char *out, size_t size) {
        const char *a = env("CNI_ARGS");
        size_t kl = strlen(key);
        while (a && *a) {
                const char *end = strchr(a, ';');
                size_t len = end ? (size_t) (end - a) : strlen(a);
                if (len > kl && strncmp(a, key, kl) == 0 && a[kl] == '=') {
                        snprintf(out, size, "%.*s", (int) (len - kl - 1), a + kl + 1);
                        return true;
                }
                a = end ? end + 1 : NULL;
        }
        return false;
}

static bool version_ok(const char *v) {
        for (size_t i = 0; i < sizeof(supported) / sizeof(*supported); i++)
                if (strcmp(v, supported[i]) == 0)
                        return true;
        return false;
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
        const char *cmd = env("CNI_COMMAND");
        char err[CURL_ERROR_SIZE] = "", path[512];
        size_t cap = 0, len = 0;
        json_error_t jerr;
        long st;

        atexit(release);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        /* the whole config from stdin (VERSION gets a small one too) */
        for (;;) {
                if (len + 4096 > cap) {
                        char *p = realloc(input, cap = cap ? cap * 2 : 65536);
                        if (!p)
                                return die(5, "out of memory", NULL);
                        input = p;
                }
                size_t k = fread(input + len, 1, cap - len - 1, stdin);
                len += k;
                if (k == 0)
                        break;
        }
        if (!input && !(input = calloc(1, 1)))
                return die(5, "out of memory", NULL);
        input[len] = 0;
        if (!cmd)
                return die(4, "CNI_COMMAND is not set", NULL);
        conf = json_loads(input, 0, &jerr);
        if (!json_is_object(conf) && strcmp(cmd, "VERSION") != 0)
                return die(6, "cannot decode the network configuration", jerr.text);
        const char *v = json_string_value(json_object_get(conf, "cniVersion"));
        if (v)
                cni_version = v;
        if (strcmp(cmd, "VERSION") == 0) {
                json_t *a = json_array();
                for (size_t i = 0; i < sizeof(supported) / sizeof(*supported); i++)
                        json_array_append_new(a, json_string(supported[i]));
                json_t *j = json_pack("{s:s, s:o}", "cniVersion", version_ok(cni_version) ? cni_version : "1.0.0",
                                      "supportedVersions", a);
                json_dumpf(j, stdout, JSON_COMPACT);
                fputc('\n', stdout);
                json_decref(j);
                return 0;
        }
        if (!v || !version_ok(v))
                return die(1, "incompatible CNI version", v ? v : "cniVersion missing");
        const char *type = json_string_value(json_object_get(conf, "type"));
        const char *name = json_string_value(json_object_get(conf, "name"));
        const char *net = json_string_value(json_object_get(conf, "network"));
        const char *sock = json_string_value(json_object_get(conf, "socket"));
        if (!type || strcmp(type, "netd") != 0 || !name)
                return die(7, "invalid network configuration", "want \"type\": \"netd\" and a \"name\"");
        if (!net)
                net = name;
        if (!sock)
                sock = DEFAULT_SOCKET;

        if (strcmp(cmd, "STATUS") == 0) {
                st = call(sock, "GET", "/v1/version", NULL, &reply, err, sizeof(err));
                return st == 200 ? 0 : die(50, "netd is not answering", err);
        }
        if (strcmp(cmd, "GC") == 0)
                return 0; /* attachments are removed by DEL; netd holds nothing else per container */

        const char *cid = env("CNI_CONTAINERID"), *ifname = env("CNI_IFNAME"), *netns = env("CNI_NETNS");
        if (!cid || !ifname)
                return die(4, "CNI_CONTAINERID and CNI_IFNAME are required", NULL);
        if (strspn(cid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(cid) ||
            strlen(cid) > 128 || strchr(ifname, '/'))
                return die(4, "invalid CNI_CONTAINERID or CNI_IFNAME", NULL);
        snprintf(path, sizeof(path), "/v1/sandboxes/%s/%s", cid, ifname);

        if (strcmp(cmd, "DEL") == 0) {
                st = call(sock, "DELETE", path, NULL, &reply, err, sizeof(err));
                return st == 204 || st == 404 ? 0 : st < 0 ? die(11, "netd is not reachable", err)
                                                           : refused(st, reply, "DEL");
        }
        if (strcmp(cmd, "CHECK") == 0) {
                snprintf(path + strlen(path), sizeof(path) - strlen(path), "?check=1");
                st = call(sock, "GET", path, NULL, &reply, err, sizeof(err));
                return st == 200 ? 0 : st < 0 ? die(11, "netd is not reachable", err) : refused(st, reply, "CHECK");
        }
        if (strcmp(cmd, "ADD") != 0)
                return die(4, "unknown CNI_COMMAND", cmd);
        if (!netns)
                return die(4, "CNI_NETNS is required for ADD", NULL);
        json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "ContainerID", cid, "IfName", ifname, "Netns", netns, "Network",
                                net);
        char pod[256];
        if (cni_arg("K8S_POD_NAME", pod, sizeof(pod)))
                json_object_set_new(req, "Name", json_string(pod));
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
                if (cp < 1 || cp > 65535 || hp < 0 || hp > 65535)
                        return die(7, "invalid runtimeConfig.portMappings entry", NULL);
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
        st = call(sock, "POST", "/v1/sandboxes", req, &reply, err, sizeof(err));
        json_decref(req);
        if (st < 0)
                return die(11, "netd is not reachable", err);
        if (st != 201)
                return refused(st, reply, "ADD");
        json_t *out = result(reply);
        json_dumpf(out, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(out);
        return 0;
}
