/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The /v1 REST API: routing, request validation, and errno -> HTTP status
 * mapping.  Handlers validate completely before they change anything, then
 * hand over to the manager, which answers through a callback once the store
 * has the change.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "api.h"
#include "container.h"
#include "diag.h"
#include "docker.h"
#include "http.h"
#include "json-util.h"
#include "manager.h"
#include "services.h"
#include "network.h"
#include "store.h"
#include "subnet.h"

unsigned nd_api_status(int r) {
        switch (r) {
        case -EINVAL:
        case -E2BIG:
        case -ENAMETOOLONG:
        case -EPROTONOSUPPORT:
        case -EADDRNOTAVAIL:
        case -EOPNOTSUPP:
                return 400;
        case -ENOENT:
        case -ENODEV:
        case -ENXIO:
                return 404;
        case -EEXIST:
        case -EADDRINUSE:
        case -EBUSY:
        case -ENOTEMPTY:
        case -ENOTUNIQ:
        case -ENOSPC:
        case -EALREADY:
                return 409;
        default:
                return 500;
        }
}

void nd_api_reply_diag(nd_http_request *req, int r, const nd_diag *d) {
        nd_http_reply_error(req, nd_api_status(r), "%s", d && d->msg[0] ? d->msg : strerror(r < 0 ? -r : r));
}

#define reply_diag nd_api_reply_diag

static int find_network(nd_manager *m, nd_http_request *req, const char *ref, nd_network **ret) {
        int r = nd_manager_network_find(m, ref, ret);
        if (r == -ENOTUNIQ)
                nd_http_reply_error(req, 409, "network id prefix '%.64s' is ambiguous", ref);
        else if (r < 0)
                nd_http_reply_error(req, 404, "network '%.64s' not found", ref);
        return r;
}

/* Containers: as Docker's network inspect has it (container.h). */
static json_t *network_containers(nd_manager *m, const nd_network *n) {
        nd_container **v;
        size_t nc = nd_manager_containers(m, &v);
        return nd_containers_network_map(v, nc, n->id);
}

static json_t *network_view(nd_manager *m, nd_network *n) {
        json_t *j = nd_network_to_json(n);
        if (j)
                json_object_set_new(j, "AddressesInUse", json_integer((json_int_t) nd_network_addresses_in_use(n)));
        if (j)
                json_object_set_new(j, "Containers", network_containers(m, n));
        if (j)
                json_object_set_new(j, "DNS", nd_manager_dns_status(m, n));
        json_t *ov = j ? nd_manager_overlay_status(m, n) : NULL;
        if (ov)
                json_object_set_new(j, "Overlay", ov);
        return j;
}

/* ---- /v1/version --------------------------------------------------------- */

/* Store: the one that holds the shared state, as --store named it: on a
 * cluster "etcd://HOST:PORT" (the endpoint in use; host-private state
 * stays in the local store), else "local". */
static void get_version(nd_manager *m, nd_http_request *req) {
        _cleanup_json_ json_t *cl = nd_manager_cluster_status(m);
        const char *ep = json_string_value(json_object_get(cl, "Store")), *hp;
        char store[300];
        struct utsname u;
        uname(&u);
        if (json_is_true(json_object_get(cl, "Enabled")) && ep) {
                hp = strstr(ep, "://");
                snprintf(store, sizeof(store), "etcd://%s", hp ? hp + 3 : ep);
        } else
                snprintf(store, sizeof(store), "%s", nd_store_backend(nd_manager_store(m)));
        nd_http_reply_json(req, 200, json_pack("{s:s, s:s, s:s, s:s, s:s}", "Version", ND_VERSION, "ApiVersion",
                                               "1", "Os", "linux", "KernelVersion", u.release, "Store", store));
}

/* ---- /v1/networks --------------------------------------------------------- */

static void list_networks(nd_manager *m, nd_http_request *req) {
        nd_network **nets;
        size_t n = nd_manager_networks(m, &nets);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, network_view(m, nets[i])) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        if (!a)
                return nd_http_reply_error(req, 500, "out of memory");
        nd_http_reply_json(req, 200, a);
}

static void on_network_created(void *userdata, int r, nd_network *n, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 201, json_pack("{s:s, s:s}", "Id", n->id, "Name", n->spec.name));
}

static void create_network(nd_manager *m, nd_http_request *req) {
        _cleanup_json_ json_t *j = NULL;
        nd_network_spec spec;
        nd_diag d = {0};
        size_t len;
        const char *body = nd_http_request_body(req, &len);
        int r;

        r = nd_json_parse_object(body, len, &j, &d);
        if (r >= 0)
                r = nd_network_spec_from_json(j, &spec, &d);
        if (r >= 0)
                r = nd_manager_network_create(m, &spec, on_network_created, req, &d);
        if (r < 0)
                reply_diag(req, r, &d);
}

static void on_network_removed(void *userdata, int r, nd_network *n, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 204, NULL);
}

/* ?label=KEY: only a network that carries label KEY (whatever its
 * value) goes, so that a front end removes the networks it made, and no
 * other of the same name, in one request (netd-netavark's teardown). */
static void remove_network(nd_manager *m, nd_http_request *req, nd_network *n) {
        const char *label = nd_http_request_query(req, "label");
        nd_diag d = {0};
        if (label && !json_object_get(n->spec.labels, label))
                return nd_http_reply_error(req, 409, "network '%s' does not carry label '%.128s'", n->spec.name,
                                           label);
        int r = nd_manager_network_remove(m, n, on_network_removed, req, &d);
        if (r < 0)
                reply_diag(req, r, &d);
}

/* ---- /v1/networks/{ref}/addresses ------------------------------------------ */

static void on_addresses_listed(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_http_request *req = userdata;
        json_t *a;

        if (r < 0)
                return nd_http_reply_error(req, 500, "store: %s", strerror(-r));
        a = json_array();
        for (size_t i = 0; a && i < n; i++) {
                const char *addr = strrchr(kvs[i].key, '/');
                json_t *v = json_loads(kvs[i].value, 0, NULL), *e;
                const char *owner = "";
                if (json_is_object(v) && json_is_string(json_object_get(v, "Owner")))
                        owner = json_string_value(json_object_get(v, "Owner"));
                e = json_pack("{s:s, s:s}", "Address", addr ? addr + 1 : kvs[i].key, "Owner", owner);
                json_decref(v);
                if (!e || json_array_append_new(a, e) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        }
        if (!a)
                return nd_http_reply_error(req, 500, "out of memory");
        nd_http_reply_json(req, 200, a);
}

static void list_addresses(nd_manager *m, nd_http_request *req, nd_network *n) {
        char prefix[256];
        nd_manager_address_prefix(n, prefix, sizeof(prefix));
        int r = nd_store_list(nd_manager_store(m), prefix, on_addresses_listed, req);
        if (r < 0)
                nd_http_reply_error(req, 500, "store: %s", strerror(-r));
}

static void on_address_requested(void *userdata, int r, const nd_addr *a, const nd_diag *d) {
        nd_http_request *req = userdata;
        char s[ND_ADDR_STRLEN];
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 201, json_pack("{s:s}", "Address", nd_addr_fmt(a, s)));
}

static void request_address(nd_manager *m, nd_http_request *req, nd_network *n) {
        static const char *const keys[] = { "Address", "Family", "Owner", NULL };
        _cleanup_json_ json_t *j = NULL;
        const char *addr = NULL, *family = NULL, *owner = NULL;
        nd_addr want;
        nd_diag d = {0};
        size_t len;
        const char *body = nd_http_request_body(req, &len);
        int fam = AF_INET, r;

        r = len ? nd_json_parse_object(body, len, &j, &d) : 0;
        if (r >= 0 && j && ((r = nd_json_only_keys(j, keys, "address request", &d)) < 0 ||
                            (r = nd_json_string(j, "Address", "address request", &addr, &d)) < 0 ||
                            (r = nd_json_string(j, "Family", "address request", &family, &d)) < 0 ||
                            (r = nd_json_string(j, "Owner", "address request", &owner, &d)) < 0))
                return reply_diag(req, r, &d);
        if (r < 0)
                return reply_diag(req, r, &d);
        if (family) {
                if (strcmp(family, "ipv4") == 0)
                        fam = AF_INET;
                else if (strcmp(family, "ipv6") == 0)
                        fam = AF_INET6;
                else
                        return nd_http_reply_error(req, 400, "Family must be 'ipv4' or 'ipv6'");
        }
        if (addr && nd_addr_parse(addr, &want) < 0)
                return nd_http_reply_error(req, 400, "invalid address '%.64s'", addr);
        r = nd_manager_address_request(m, n, fam, addr ? &want : NULL, owner, on_address_requested, req, &d);
        if (r < 0)
                reply_diag(req, r, &d);
}

static void on_address_released(void *userdata, int r, const nd_addr *a, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 204, NULL);
}

static void release_address(nd_manager *m, nd_http_request *req, nd_network *n, const char *addr) {
        nd_addr a;
        nd_diag d = {0};
        if (nd_addr_parse(addr, &a) < 0)
                return nd_http_reply_error(req, 400, "invalid address '%.64s'", addr);
        int r = nd_manager_address_release(m, n, &a, on_address_released, req, &d);
        if (r < 0)
                reply_diag(req, r, &d);
}

void nd_api_method_not_allowed(nd_http_request *req, const char *allow) {
        nd_http_reply_error(req, 405, "method %s not allowed here (allowed: %s)", nd_http_request_method(req),
                            allow);
}

#define method_not_allowed nd_api_method_not_allowed


/* ---- /v1/containers --------------------------------------------------------------- */

static json_t *container_view(nd_manager *m, nd_container *c) {
        char log[4096];
        json_t *j = nd_container_to_json(c);
        nd_manager_container_log_path(m, c, log, sizeof(log));
        if (j)
                json_object_set_new(j, "LogPath", json_string(log));
        json_t *health = nd_manager_container_health(m, c), *state = json_object_get(j, "State");
        if (health && json_is_object(state))
                json_object_set_new(state, "Health", health);
        else
                json_decref(health);
        return j;
}

static int find_container(nd_manager *m, nd_http_request *req, const char *ref, nd_container **ret) {
        int r = nd_manager_container_find(m, ref, ret);
        if (r == -ENOTUNIQ)
                nd_http_reply_error(req, 409, "container id prefix '%.64s' is ambiguous", ref);
        else if (r < 0)
                nd_http_reply_error(req, 404, "container '%.64s' not found", ref);
        return r;
}

static void list_containers(nd_manager *m, nd_http_request *req) {
        const char *all = nd_http_request_query(req, "all");
        bool show_all = all && (strcmp(all, "1") == 0 || strcmp(all, "true") == 0);
        nd_container **cts;
        size_t n = nd_manager_containers(m, &cts);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (show_all || cts[i]->status == ND_CT_RUNNING)
                        json_array_append_new(a, container_view(m, cts[i]));
        if (!a)
                return nd_http_reply_error(req, 500, "out of memory");
        nd_http_reply_json(req, 200, a);
}

static void on_container_run(void *userdata, int r, nd_container *c, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 201, json_pack("{s:s, s:s}", "Id", c->id, "Name", c->name));
}

static void run_container(nd_manager *m, nd_http_request *req) {
        _cleanup_json_ json_t *j = NULL;
        nd_diag d = {0};
        size_t len;
        const char *body = nd_http_request_body(req, &len);
        const char *start = nd_http_request_query(req, "start");
        int r = nd_json_parse_object(body, len, &j, &d);
        if (r >= 0)
                r = nd_manager_container_run(m, j, !start || strcmp(start, "0") != 0, on_container_run, req, &d);
        if (r < 0)
                reply_diag(req, r, &d);
}

static void on_container_done(void *userdata, int r, nd_container *c, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 204, NULL);
}

static void stop_container(nd_manager *m, nd_http_request *req, nd_container *c) {
        const char *t = nd_http_request_query(req, "t");
        double timeout = 10;
        nd_diag d = {0};
        if (t) {
                char *end;
                timeout = strtod(t, &end);
                if (*end || timeout < 0 || timeout > 86400)
                        return nd_http_reply_error(req, 400, "t must be a number of seconds (0-86400)");
        }
        int r = nd_manager_container_stop(m, c, timeout, on_container_done, req, &d);
        if (r == -EALREADY)
                return nd_http_reply_json(req, 204, NULL); /* already stopped: nothing to do */
        if (r < 0)
                reply_diag(req, r, &d);
}

static bool query_true(nd_http_request *req, const char *key) {
        const char *v = nd_http_request_query(req, key);
        return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static void remove_container(nd_manager *m, nd_http_request *req, nd_container *c) {
        nd_diag d = {0};
        unsigned flags = (query_true(req, "force") ? ND_CT_RM_FORCE : 0) |
                         (query_true(req, "wait") ? ND_CT_RM_WAIT : 0);
        int r = nd_manager_container_remove(m, c, flags, on_container_done, req, &d);
        if (r < 0)
                reply_diag(req, r, &d);
}

static void connect_container(nd_manager *m, nd_http_request *req, nd_network *n, bool disconnect) {
        _cleanup_json_ json_t *j = NULL;
        const char *ref = NULL;
        nd_container *c;
        nd_diag d = {0};
        size_t len;
        const char *body = nd_http_request_body(req, &len);
        int r = nd_json_parse_object(body, len, &j, &d);
        if (r >= 0)
                r = nd_json_string(j, "Container", "connect", &ref, &d);
        if (r >= 0 && !ref)
                r = nd_diag_set(&d, -EINVAL, "connect: field 'Container' is required");
        if (r < 0)
                return reply_diag(req, r, &d);
        if (find_container(m, req, ref, &c) < 0)
                return;
        if (disconnect)
                r = nd_manager_container_disconnect(m, n, c, on_container_done, req, &d);
        else {
                json_object_del(j, "Container");
                r = nd_manager_container_connect(m, n, c, j, on_container_done, req, &d);
        }
        if (r < 0)
                reply_diag(req, r, &d);
}

/* ---- /v1/sandboxes: namespaces of other runtimes (the CNI plugin) ---------- */

static void on_sandbox_added(void *userdata, int r, const nd_sbx *s, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 201, nd_sandbox_to_json(s));
}

static void on_sandbox_deleted(void *userdata, int r, const nd_sbx *s, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 204, NULL);
}

static void route_sandboxes(nd_manager *m, nd_http_request *req, char **seg, size_t ns) {
        const char *method = nd_http_request_method(req);
        nd_diag d = {0};
        nd_sbx *s;
        int r;

        if (ns == 2) {
                if (strcmp(method, "GET") == 0) {
                        nd_sbx **v;
                        size_t n = nd_manager_sandboxes(m, &v);
                        json_t *a = json_array();
                        for (size_t i = 0; i < n; i++)
                                json_array_append_new(a, nd_sandbox_to_json(v[i]));
                        return nd_http_reply_json(req, 200, a);
                }
                if (strcmp(method, "POST") != 0)
                        return method_not_allowed(req, "GET, POST");
                _cleanup_json_ json_t *j = NULL;
                size_t len;
                const char *body = nd_http_request_body(req, &len);
                r = nd_json_parse_object(body, len, &j, &d);
                if (r >= 0)
                        r = nd_manager_sandbox_add(m, j, on_sandbox_added, req, &d);
                if (r < 0)
                        reply_diag(req, r, &d);
                return;
        }
        if (ns != 4)
                return nd_http_reply_error(req, 404, "no such route: %.128s", nd_http_request_path(req));
        if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0)
                return method_not_allowed(req, "GET, DELETE");
        if (nd_manager_sandbox_find(m, seg[2], seg[3], &s) < 0)
                return nd_http_reply_error(req, 404, "no sandbox %.64s with interface %.16s", seg[2], seg[3]);
        if (strcmp(method, "DELETE") == 0) {
                r = nd_manager_sandbox_del(m, s, on_sandbox_deleted, req, &d);
                if (r < 0)
                        reply_diag(req, r, &d);
                return;
        }
        const char *check = nd_http_request_query(req, "check");
        if (check && strcmp(check, "1") == 0 && (r = nd_manager_sandbox_check(m, s, &d)) < 0)
                return nd_http_reply_error(req, 409, "%s", d.msg);
        nd_http_reply_json(req, 200, nd_sandbox_to_json(s));
}

static void on_network_dns_set(void *userdata, int r, size_t count, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 200, json_pack("{s:I}", "Sandboxes", (json_int_t) count));
}

/* PUT /v1/networks/{id}/dns-servers */
static void set_network_dns(nd_manager *m, nd_http_request *req, nd_network *n) {
        _cleanup_json_ json_t *j = NULL;
        nd_diag d = {0};
        size_t len;
        const char *body = nd_http_request_body(req, &len);
        int r = nd_json_parse_object(body, len, &j, &d);
        if (r >= 0)
                r = nd_manager_network_dns_set(m, n, j, on_network_dns_set, req, &d);
        if (r < 0)
                reply_diag(req, r, &d);
}

static void get_info(const nd_api_hooks *h, nd_http_request *req) {
        nd_manager *m = h->m;
        nd_network **nets;
        nd_container **cts;
        size_t nn = nd_manager_networks(m, &nets), nc = nd_manager_containers(m, &cts), running = 0;
        for (size_t i = 0; i < nc; i++)
                running += cts[i]->status == ND_CT_RUNNING;
        json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "DefaultRootfs", nd_manager_default_rootfs(m),
                              "Networks", (json_int_t) nn, "Containers", (json_int_t) nc, "ContainersRunning",
                              (json_int_t) running, "Firewall", nd_manager_firewall_status(m), "Cluster",
                              nd_manager_cluster_status(m));
        json_t *api = h->server_status(h->userdata), *dns = nd_manager_dns_forward_status(m);
        if (j && api)
                json_object_set_new(j, "Api", api);
        if (j && dns)
                json_object_set_new(j, "Dns", dns);
        if (j)
                json_object_set_new(j, "ServiceLB", json_string(nd_manager_service_lb(m)));
        json_t *loop = h->loop_status ? h->loop_status(h->userdata) : NULL;
        if (j && loop)
                json_object_set_new(j, "Loop", loop);
        else
                json_decref(loop);
        nd_http_reply_json(req, 200, j);
}

static void route_containers(nd_manager *m, nd_http_request *req, char **seg, size_t ns) {
        const char *method = nd_http_request_method(req);
        nd_container *c;
        if (ns == 2) {
                if (strcmp(method, "GET") == 0)
                        return list_containers(m, req);
                if (strcmp(method, "POST") == 0)
                        return run_container(m, req);
                return method_not_allowed(req, "GET, POST");
        }
        if (ns == 3) {
                if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0)
                        return method_not_allowed(req, "GET, DELETE");
                if (find_container(m, req, seg[2], &c) < 0)
                        return;
                if (strcmp(method, "GET") == 0)
                        return nd_http_reply_json(req, 200, container_view(m, c));
                return remove_container(m, req, c);
        }
        if (ns == 4 && (strcmp(seg[3], "stop") == 0 || strcmp(seg[3], "start") == 0)) {
                if (strcmp(method, "POST") != 0)
                        return method_not_allowed(req, "POST");
                if (find_container(m, req, seg[2], &c) < 0)
                        return;
                if (seg[3][2] == 'o')
                        return stop_container(m, req, c);
                nd_diag d = {0};
                int r = nd_manager_container_start(m, c, on_container_done, req, &d);
                if (r == -EALREADY)
                        return nd_http_reply_json(req, 204, NULL);
                if (r < 0)
                        reply_diag(req, r, &d);
                return;
        }
        nd_http_reply_error(req, 404, "no such route: %.128s", nd_http_request_path(req));
}

static void on_node_removed(void *userdata, int r, const nd_diag *d) {
        nd_http_request *req = userdata;
        if (r < 0)
                return reply_diag(req, r, d);
        nd_http_reply_json(req, 204, NULL);
}

/* ---- routing --------------------------------------------------------------- */

/* Split "/a/b/c" into at most @max segments (in place in @buf). */
static size_t split_path(char *buf, char **seg, size_t max) {
        size_t n = 0;
        char *save = NULL;
        for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
                if (n == max)
                        return max + 1;
                seg[n++] = t;
        }
        return n;
}

static void get_metrics(const nd_api_hooks *h, nd_http_request *req) {
        size_t len;
        char *text = h->metrics(h->userdata, &len);
        if (!text)
                return nd_http_reply_error(req, 500, "out of memory");
        nd_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

void nd_api_metrics_handle(nd_http_request *req, void *userdata) {
        const char *method = nd_http_request_method(req), *path = nd_http_request_path(req);
        if (strcmp(path, "/metrics") != 0)
                return nd_http_reply_error(req, 404, "no such route: %.128s (only /metrics here)", path);
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                return method_not_allowed(req, "GET");
        get_metrics(userdata, req);
}

void nd_api_handle(nd_http_request *req, void *userdata) {
        const nd_api_hooks *h = userdata;
        nd_manager *m = h->m;
        if (strcmp(nd_http_request_path(req), "/metrics") == 0) {
                if (strcmp(nd_http_request_method(req), "GET") != 0)
                        return method_not_allowed(req, "GET");
                return get_metrics(h, req);
        }
        const char *method = nd_http_request_method(req), *path = nd_http_request_path(req);
        char buf[1024], *seg[6];
        nd_network *n;
        size_t ns;

        if (strlen(path) >= sizeof(buf))
                return nd_http_reply_error(req, 414, "path too long");
        strcpy(buf, path);
        ns = split_path(buf, seg, 5);
        if (ns < 2 || strcmp(seg[0], "v1") != 0 || ns > 5)
                return nd_http_reply_error(req, 404, "no such route: %.128s", path);

        if (ns == 2 && strcmp(seg[1], "version") == 0) {
                if (strcmp(method, "GET") != 0)
                        return method_not_allowed(req, "GET");
                return get_version(m, req);
        }
        if (ns == 2 && strcmp(seg[1], "info") == 0) {
                if (strcmp(method, "GET") != 0)
                        return method_not_allowed(req, "GET");
                return get_info(h, req);
        }
        if (ns == 2 && strcmp(seg[1], "nodes") == 0) {
                if (strcmp(method, "GET") != 0)
                        return method_not_allowed(req, "GET");
                return nd_http_reply_json(req, 200, nd_manager_cluster_nodes(m));
        }
        if (ns == 3 && strcmp(seg[1], "nodes") == 0) {
                if (strcmp(method, "DELETE") != 0)
                        return method_not_allowed(req, "DELETE");
                nd_diag d = {0};
                int r = nd_manager_node_remove(m, seg[2], on_node_removed, req, &d);
                if (r < 0)
                        reply_diag(req, r, &d);
                return;
        }
        if (ns == 2 && strcmp(seg[1], "topology") == 0) {
                if (strcmp(method, "GET") != 0)
                        return method_not_allowed(req, "GET");
                json_t *topo = nd_manager_topology(m);
                if (!topo)
                        return nd_http_reply_error(req, 500, "out of memory");
                return nd_http_reply_json(req, 200, topo);
        }
        if (ns == 2 && strcmp(seg[1], "events") == 0) {
                if (strcmp(method, "GET") != 0)
                        return method_not_allowed(req, "GET");
                return nd_api_get_events(m, req);
        }
        if (ns == 2 && strcmp(seg[1], "docker") == 0) {
                if (strcmp(method, "GET") != 0)
                        return method_not_allowed(req, "GET");
                return nd_http_reply_json(req, 200, nd_docker_status(m));
        }
        if (strcmp(seg[1], "containers") == 0)
                return route_containers(m, req, seg, ns);
        if (strcmp(seg[1], "sandboxes") == 0)
                return route_sandboxes(m, req, seg, ns);
        if (strcmp(seg[1], "services") == 0)
                return nd_api_route_services(m, req, seg, ns);
        if (strcmp(seg[1], "networks") != 0)
                return nd_http_reply_error(req, 404, "no such route: %.128s", path);
        if (ns == 2) {
                if (strcmp(method, "GET") == 0)
                        return list_networks(m, req);
                if (strcmp(method, "POST") == 0)
                        return create_network(m, req);
                return method_not_allowed(req, "GET, POST");
        }
        if (ns == 3) {
                if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0)
                        return method_not_allowed(req, "GET, DELETE");
                if (find_network(m, req, seg[2], &n) < 0)
                        return;
                if (strcmp(method, "GET") == 0)
                        return nd_http_reply_json(req, 200, network_view(m, n));
                return remove_network(m, req, n);
        }
        if (ns == 4 && (strcmp(seg[3], "connect") == 0 || strcmp(seg[3], "disconnect") == 0)) {
                if (strcmp(method, "POST") != 0)
                        return method_not_allowed(req, "POST");
                if (find_network(m, req, seg[2], &n) < 0)
                        return;
                return connect_container(m, req, n, seg[3][0] == 'd');
        }
        if (ns == 4 && strcmp(seg[3], "dns-servers") == 0) {
                if (strcmp(method, "PUT") != 0)
                        return method_not_allowed(req, "PUT");
                if (find_network(m, req, seg[2], &n) < 0)
                        return;
                return set_network_dns(m, req, n);
        }
        if (strcmp(seg[3], "addresses") != 0)
                return nd_http_reply_error(req, 404, "no such route: %.128s", path);
        if (ns == 4) {
                if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
                        return method_not_allowed(req, "GET, POST");
                if (find_network(m, req, seg[2], &n) < 0)
                        return;
                if (strcmp(method, "GET") == 0)
                        return list_addresses(m, req, n);
                return request_address(m, req, n);
        }
        if (strcmp(method, "DELETE") != 0)
                return method_not_allowed(req, "DELETE");
        if (find_network(m, req, seg[2], &n) < 0)
                return;
        release_address(m, req, n, seg[4]);
}
