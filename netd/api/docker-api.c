/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network part of the Docker Engine API, on its own socket
 * (--docker-api-socket), so that the stock docker client manages netd's
 * networks: docker -H unix://PATH network create|ls|inspect|rm|connect|
 * disconnect|prune.
 *
 * Routes (with or without a /v1.NN prefix):
 *   GET|HEAD /_ping, GET /version
 *   GET /networks[?filters=...], POST /networks/create, GET|DELETE /networks/{id},
 *   POST /networks/{id}/connect|disconnect, POST /networks/prune[?filters=...]
 * Everything else gets 501 with a message saying that netd only serves
 * Docker's network API.
 *
 * Docker's bodies are read tolerantly (fields netd has no use for are
 * ignored, as dockerd does for fields of other versions), then translated
 * into netd's own request shape and validated by the same code as /v1; a
 * Docker feature netd does not have (ingress networks, config-only
 * networks, IPAM drivers or options) is refused with
 * a message instead of being silently dropped.  Errors are Docker's
 * {"message": "..."} with Docker's status codes.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "api.h"
#include "container.h"
#include "diag.h"
#include "http.h"
#include "json-util.h"
#include "manager.h"
#include "network.h"
#include "subnet.h"

#define DOCKER_API_VERSION "1.41"
#define DOCKER_API_MIN "1.24"

#define reply_diag nd_api_reply_diag

/* ---- shapes ---- */

static json_t *network_docker(nd_manager *m, const nd_network *n) {
        nd_container **v;
        size_t nc = nd_manager_containers(m, &v);
        json_t *j = nd_network_to_json(n), *cts = nd_containers_network_map(v, nc, n->id);

        if (!j || !cts) {
                json_decref(j);
                json_decref(cts);
                return NULL;
        }
        json_t *ipam = json_object_get(j, "IPAM");
        if (ipam)
                json_object_set_new(ipam, "Options", json_object());
        json_object_set_new(j, "Attachable", json_false());
        json_object_set_new(j, "Ingress", json_false());
        json_object_set_new(j, "ConfigFrom", json_pack("{s:s}", "Network", ""));
        json_object_set_new(j, "ConfigOnly", json_false());
        json_object_set_new(j, "Containers", cts);
        if (!json_object_get(j, "Options") || json_is_null(json_object_get(j, "Options")))
                json_object_set_new(j, "Options", json_object());
        if (!json_object_get(j, "Labels") || json_is_null(json_object_get(j, "Labels")))
                json_object_set_new(j, "Labels", json_object());
        return j;
}

/* ---- filters: {"name": {"x": true}, ...} or the old {"name": ["x"]} ---- */

static bool filter_values(const json_t *f, const char *key, const char **vals, size_t *n) {
        const json_t *v = json_object_get(f, key), *e;
        const char *k;
        size_t i;
        *n = 0;
        if (!v)
                return false;
        if (json_is_object(v))
                json_object_foreach((json_t *) v, k, e)
                        if (*n < 16 && json_is_true(e))
                                vals[(*n)++] = k;
        if (json_is_array(v))
                json_array_foreach(v, i, e)
                        if (*n < 16 && json_is_string(e))
                                vals[(*n)++] = json_string_value(e);
        return true;
}

static int filters_parse(nd_http_request *req, const char *const *allowed, json_t **ret, nd_diag *d) {
        const char *q = nd_http_request_query(req, "filters"), *k;
        json_t *v;
        *ret = NULL;
        if (!q || !*q)
                return 0;
        json_error_t err;
        json_t *f = json_loads(q, 0, &err);
        if (!json_is_object(f)) {
                json_decref(f);
                return nd_diag_set(d, -EINVAL, "invalid filters: %s", err.text);
        }
        json_object_foreach(f, k, v) {
                bool ok = false;
                for (const char *const *a = allowed; *a && !ok; a++)
                        ok = strcmp(*a, k) == 0;
                if (!ok) {
                        int r = nd_diag_set(d, -EINVAL, "invalid filter '%s'", k);
                        json_decref(f);
                        return r;
                }
        }
        *ret = f;
        return 0;
}

/* label filters: "key" or "key=value" */
static bool labels_match(const json_t *f, const nd_network *n) {
        const char *vals[16];
        size_t nv;
        if (!filter_values(f, "label", vals, &nv))
                return true;
        for (size_t i = 0; i < nv; i++) {
                char key[256];
                const char *eq = strchr(vals[i], '=');
                snprintf(key, sizeof(key), "%.*s", eq ? (int) (eq - vals[i]) : (int) strlen(vals[i]), vals[i]);
                const char *have = json_string_value(json_object_get(n->spec.labels, key));
                if (!have || (eq && strcmp(have, eq + 1) != 0))
                        return false;
        }
        return true;
}

static bool network_matches(const json_t *f, const nd_network *n) {
        const char *vals[16];
        size_t nv;
        bool any;
        if (!f)
                return true;
        if (filter_values(f, "name", vals, &nv)) {
                any = false;
                for (size_t i = 0; i < nv && !any; i++)
                        any = strstr(n->spec.name, vals[i]) != NULL;
                if (!any)
                        return false;
        }
        if (filter_values(f, "id", vals, &nv)) {
                any = false;
                for (size_t i = 0; i < nv && !any; i++)
                        any = strncmp(n->id, vals[i], strlen(vals[i])) == 0;
                if (!any)
                        return false;
        }
        if (filter_values(f, "driver", vals, &nv)) {
                any = false;
                for (size_t i = 0; i < nv && !any; i++)
                        any = strcmp(nd_driver_to_string(n->spec.driver), vals[i]) == 0;
                if (!any)
                        return false;
        }
        if (filter_values(f, "scope", vals, &nv)) {
                any = false;
                for (size_t i = 0; i < nv && !any; i++)
                        any = strcmp(nd_network_is_global(n) ? "global" : "local", vals[i]) == 0 ||
                              (nd_network_is_global(n) && strcmp(vals[i], "swarm") == 0);
                if (!any)
                        return false;
        }
        if (filter_values(f, "dangling", vals, &nv)) {
                /* dangling=true: networks nothing uses; false: the others */
                bool unused = nd_network_addresses_in_use(n) == 0;
                any = false;
                for (size_t i = 0; i < nv && !any; i++)
                        any = (strcmp(vals[i], "true") == 0 || strcmp(vals[i], "1") == 0) == unused;
                if (!any)
                        return false;
        }
        if (filter_values(f, "type", vals, &nv)) {
                any = false;
                for (size_t i = 0; i < nv && !any; i++)
                        any = strcmp(vals[i], "custom") == 0; /* netd has no predefined networks */
                if (!any)
                        return false;
        }
        return labels_match(f, n);
}

/* ---- routes ---- */

static void list_networks(nd_manager *m, nd_http_request *req) {
        static const char *const allowed[] = { "name", "id", "driver", "scope", "type", "label", "dangling", NULL };
        _cleanup_json_ json_t *f = NULL;
        nd_diag d = {0};
        nd_network **nets;
        int r = filters_parse(req, allowed, &f, &d);
        if (r < 0)
                return reply_diag(req, r, &d);
        size_t n = nd_manager_networks(m, &nets);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (network_matches(f, nets[i]))
                        json_array_append_new(a, network_docker(m, nets[i]));
        if (!a)
                return nd_http_reply_error(req, 500, "out of memory");
        nd_http_reply_json(req, 200, a);
}

static void on_created(void *userdata, int r, nd_network *n, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 201, json_pack("{s:s, s:s}", "Id", n->id, "Warning", ""));
}

/* Docker's create body -> netd's network spec JSON. */
static int translate_create(const json_t *in, json_t **ret, nd_diag *d) {
        const char *name = json_string_value(json_object_get(in, "Name"));
        const char *driver = json_string_value(json_object_get(in, "Driver"));
        json_t *ipam = json_object_get(in, "IPAM"), *cfg, *e, *out;
        size_t i;

        if (!name || !*name)
                return nd_diag_set(d, -EINVAL, "network name is required");
        if (json_is_true(json_object_get(in, "Ingress")))
                return nd_diag_set(d, -EINVAL, "ingress networks are not supported by netd");
        if (json_is_true(json_object_get(in, "ConfigOnly")) ||
            json_string_length(json_object_get(json_object_get(in, "ConfigFrom"), "Network")) > 0)
                return nd_diag_set(d, -EINVAL, "config-only networks are not supported by netd");
        if (!driver || !*driver)
                driver = "bridge";
        out = json_pack("{s:s, s:s}", "Name", name, "Driver", driver);
        if (!out)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (json_is_boolean(json_object_get(in, "Internal")))
                json_object_set(out, "Internal", json_object_get(in, "Internal"));
        if (json_is_boolean(json_object_get(in, "EnableIPv6")))
                json_object_set(out, "EnableIPv6", json_object_get(in, "EnableIPv6"));
        if (json_is_object(json_object_get(in, "Options")))
                json_object_set(out, "Options", json_object_get(in, "Options"));
        if (json_is_object(json_object_get(in, "Labels")))
                json_object_set(out, "Labels", json_object_get(in, "Labels"));
        if (json_is_object(ipam)) {
                const char *drv = json_string_value(json_object_get(ipam, "Driver"));
                json_t *opts = json_object_get(ipam, "Options"), *conf = json_array();
                if (drv && *drv && strcmp(drv, "default") != 0) {
                        json_decref(conf);
                        json_decref(out);
                        return nd_diag_set(d, -EINVAL, "IPAM driver '%.32s' is not supported by netd (default only)", drv);
                }
                if (json_object_size(opts) > 0) {
                        json_decref(conf);
                        json_decref(out);
                        return nd_diag_set(d, -EINVAL, "IPAM options are not supported by netd");
                }
                cfg = json_object_get(ipam, "Config");
                json_array_foreach(cfg, i, e) {
                        json_t *c = json_object(), *aux = json_object_get(e, "AuxiliaryAddresses");
                        static const char *const keys[] = { "Subnet", "Gateway", "IPRange" };
                        for (size_t k = 0; k < 3; k++) {
                                const char *v = json_string_value(json_object_get(e, keys[k]));
                                if (v && *v)
                                        json_object_set_new(c, keys[k], json_string(v));
                        }
                        /* the model checks them */
                        if (json_object_size(aux) > 0)
                                json_object_set(c, "AuxiliaryAddresses", aux);
                        json_array_append_new(conf, c);
                }
                json_object_set_new(out, "IPAM", json_pack("{s:s, s:o}", "Driver", "default", "Config", conf));
        }
        *ret = out;
        return 0;
}

static void create_network(nd_manager *m, nd_http_request *req) {
        _cleanup_json_ json_t *in = NULL, *out = NULL;
        nd_network_spec spec;
        nd_diag d = {0};
        size_t len;
        const char *body = nd_http_request_body(req, &len);
        nd_network *have;

        int r = nd_json_parse_object(body, len, &in, &d);
        if (r >= 0)
                r = translate_create(in, &out, &d);
        /* Docker says 409 with its own words for a duplicate name */
        if (r >= 0 && nd_manager_network_find(m, json_string_value(json_object_get(out, "Name")), &have) == 0 &&
            strcmp(have->spec.name, json_string_value(json_object_get(out, "Name"))) == 0)
                r = nd_diag_set(&d, -EEXIST, "network with name %s already exists", have->spec.name);
        if (r >= 0)
                r = nd_network_spec_from_json(out, &spec, &d);
        if (r >= 0)
                r = nd_manager_network_create(m, &spec, on_created, req, &d);
        if (r < 0)
                reply_diag(req, r, &d);
}

static void on_removed(void *userdata, int r, nd_network *n, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 204, NULL);
}

static void on_ct_done(void *userdata, int r, nd_container *c, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 200, NULL);
}

static void connect_container(nd_manager *m, nd_http_request *req, nd_network *n, bool disconnect) {
        _cleanup_json_ json_t *in = NULL, *ep = NULL;
        nd_container *c = NULL;
        nd_diag d = {0};
        size_t len;
        const char *body = nd_http_request_body(req, &len);
        int r = nd_json_parse_object(body, len, &in, &d);
        const char *ref = json_string_value(json_object_get(in, "Container"));

        if (r >= 0 && !ref)
                r = nd_diag_set(&d, -EINVAL, "container is required");
        if (r >= 0 && (r = nd_manager_container_find(m, ref, &c)) < 0)
                r = nd_diag_set(&d, -ENOENT, "No such container: %s", ref);
        if (r < 0)
                return reply_diag(req, r, &d);
        if (disconnect) {
                r = nd_manager_container_disconnect(m, n, c, on_ct_done, req, &d);
                if (r < 0)
                        reply_diag(req, r, &d);
                return;
        }
        json_t *cfg = json_object_get(in, "EndpointConfig"), *ipam = json_object_get(cfg, "IPAMConfig");
        ep = json_object();
        const char *v4 = json_string_value(json_object_get(ipam, "IPv4Address"));
        const char *v6 = json_string_value(json_object_get(ipam, "IPv6Address"));
        const char *mac = json_string_value(json_object_get(cfg, "MacAddress"));
        if (v4 && *v4)
                json_object_set_new(ep, "IPv4Address", json_string(v4));
        if (v6 && *v6)
                json_object_set_new(ep, "IPv6Address", json_string(v6));
        if (mac && *mac)
                json_object_set_new(ep, "MacAddress", json_string(mac));
        if (json_is_array(json_object_get(cfg, "Aliases")))
                json_object_set(ep, "Aliases", json_object_get(cfg, "Aliases"));
        r = nd_manager_container_connect(m, n, c, ep, on_ct_done, req, &d);
        if (r < 0)
                reply_diag(req, r, &d);
}

/* prune: every network with no address in use (and matching the
 * filters), removed one after another; the reply names them. */
struct prune {
        nd_manager *m;
        nd_http_request *req;
        json_t *deleted, *todo;   /* names */
};

static void prune_next(struct prune *p);

static void on_pruned(void *userdata, int r, nd_network *n, const nd_diag *d) {
        struct prune *p = userdata;
        const char *name = json_string_value(json_array_get(p->todo, 0));
        if (r == 0)
                json_array_append_new(p->deleted, json_string(name));
        json_array_remove(p->todo, 0);
        prune_next(p);
}

static void prune_next(struct prune *p) {
        while (json_array_size(p->todo) > 0) {
                nd_network *n;
                nd_diag d = {0};
                if (nd_manager_network_find(p->m, json_string_value(json_array_get(p->todo, 0)), &n) == 0 &&
                    nd_manager_network_remove(p->m, n, on_pruned, p, &d) == 0)
                        return;
                json_array_remove(p->todo, 0);
        }
        nd_http_reply_json(p->req, 200, json_pack("{s:o}", "NetworksDeleted", p->deleted));
        json_decref(p->todo);
        free(p);
}

static void prune_networks(nd_manager *m, nd_http_request *req) {
        static const char *const allowed[] = { "label", "until", NULL };
        _cleanup_json_ json_t *f = NULL;
        nd_diag d = {0};
        nd_network **nets;
        int r = filters_parse(req, allowed, &f, &d);
        if (r < 0)
                return reply_diag(req, r, &d);
        if (json_object_get(f, "until"))
                return nd_http_reply_error(req, 400, "the 'until' filter is not supported by netd");
        struct prune *p = calloc(1, sizeof(*p));
        if (!p)
                return nd_http_reply_error(req, 500, "out of memory");
        *p = (struct prune) { .m = m, .req = req, .deleted = json_array(), .todo = json_array() };
        size_t n = nd_manager_networks(m, &nets);
        for (size_t i = 0; i < n; i++)
                if (nd_network_addresses_in_use(nets[i]) == 0 && labels_match(f, nets[i]))
                        json_array_append_new(p->todo, json_string(nets[i]->spec.name));
        prune_next(p);
}

static void ping(nd_http_request *req, bool head) {
        char *ok = strdup("OK");
        nd_http_reply(req, 200, "text/plain; charset=utf-8", head ? NULL : ok, head || !ok ? 0 : 2);
        if (head)
                free(ok);
        nd_http_reply_header(req, "Api-Version", DOCKER_API_VERSION);
        nd_http_reply_header(req, "Docker-Experimental", "false");
        nd_http_reply_header(req, "Ostype", "linux");
        nd_http_reply_header(req, "Cache-Control", "no-cache, no-store, must-revalidate");
}

static void version(nd_http_request *req) {
        struct utsname u;
        uname(&u);
        nd_http_reply_json(req, 200,
                           json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}]}", "Version", "netd-" ND_VERSION,
                                     "ApiVersion", DOCKER_API_VERSION, "MinAPIVersion", DOCKER_API_MIN, "Os", "linux",
                                     "Arch", "amd64", "KernelVersion", u.release, "Components", "Name", "netd",
                                     "Version", ND_VERSION));
        nd_http_reply_header(req, "Api-Version", DOCKER_API_VERSION);
}

void nd_docker_api_handle(nd_http_request *req, void *userdata) {
        nd_manager *m = userdata;
        const char *method = nd_http_request_method(req), *path = nd_http_request_path(req);
        char buf[1024], *seg[4], *save = NULL;
        size_t ns = 0;
        nd_network *n = NULL;

        if (strlen(path) >= sizeof(buf))
                return nd_http_reply_error(req, 414, "path too long");
        strcpy(buf, path);
        for (char *t = strtok_r(buf, "/", &save); t && ns < 4; t = strtok_r(NULL, "/", &save))
                seg[ns++] = t;
        /* an optional version prefix: /v1.41/networks */
        size_t o = ns > 0 && seg[0][0] == 'v' && strspn(seg[0] + 1, "0123456789.") == strlen(seg[0] + 1) &&
                                   seg[0][1] ? 1 : 0;
        bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
             del = strcmp(method, "DELETE") == 0, head = strcmp(method, "HEAD") == 0;
        size_t k = ns - o;

        if (k == 1 && strcmp(seg[o], "_ping") == 0 && (get || head))
                return ping(req, head);
        if (k == 1 && strcmp(seg[o], "version") == 0 && get)
                return version(req);
        if (k >= 1 && strcmp(seg[o], "networks") == 0) {
                if (k == 1 && get)
                        return list_networks(m, req);
                if (k == 2 && strcmp(seg[o + 1], "create") == 0 && post)
                        return create_network(m, req);
                if (k == 2 && strcmp(seg[o + 1], "prune") == 0 && post)
                        return prune_networks(m, req);
                if (k >= 2 && k <= 3) {
                        int r = nd_manager_network_find(m, seg[o + 1], &n);
                        if (r == -ENOTUNIQ)
                                return nd_http_reply_error(req, 409, "network %s is ambiguous", seg[o + 1]);
                        if (r < 0)
                                return nd_http_reply_error(req, 404, "network %s not found", seg[o + 1]);
                        if (k == 2 && get)
                                return nd_http_reply_json(req, 200, network_docker(m, n));
                        if (k == 2 && del) {
                                nd_diag d = {0};
                                r = nd_manager_network_remove(m, n, on_removed, req, &d);
                                if (r < 0)
                                        reply_diag(req, r, &d);
                                return;
                        }
                        if (k == 3 && post && strcmp(seg[o + 2], "connect") == 0)
                                return connect_container(m, req, n, false);
                        if (k == 3 && post && strcmp(seg[o + 2], "disconnect") == 0)
                                return connect_container(m, req, n, true);
                }
                return nd_http_reply_error(req, 405, "%s %s is not a route of Docker's network API", method, path);
        }
        nd_http_reply_error(req, 501,
                            "%s %s is not supported by netd: this socket serves Docker's network API only "
                            "(/networks, /_ping, /version)",
                            method, path);
}
