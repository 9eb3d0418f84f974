/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The etcd backend: etcd's v3 API through its JSON gateway (grpc-gateway,
 * POST /v3/kv/range etc.; keys and values base64, int64 fields as
 * strings), over libcurl's multi interface driven by our libev loop.
 *
 * URL: etcd://HOST:PORT[,HOST:PORT...][?cacert=F&cert=F&key=F]
 * (etcds:// or any TLS option: https).
 *
 * Ordering: unary operations (txn, range, lease grant/revoke) go through
 * one FIFO with one request in flight, so they commit and complete in the
 * order they were queued, as the store contract says.  Keep-alives and
 * watches are independent streams beside it.
 *
 * Fail-over: an operation whose connection could not be made (the request
 * never reached a server) moves to the next endpoint and is retried, with
 * back-off once every endpoint failed.  A request that may have reached a
 * server is never retried (a retried CAS would report a false conflict);
 * it fails with -EIO.
 *
 * Watches resume after any break from the last revision delivered, so a
 * disconnect or an etcd restart loses and repeats nothing; a compacted
 * revision is reported as -ESTALE, as in the contract.
 *
 * This file: request bodies, the operations, open and close.  The
 * transport is store-etcd-http.c, watches store-etcd-watch.c.
 */
#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd-proto.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "store-etcd-internal.h"

/* ---- request bodies ---- */

/* The end of the range that holds every key starting with @prefix. */
char *nd_etcd_body_prefix_end(const char *prefix) {
        size_t n = strlen(prefix);
        char *e = strdup(prefix);
        if (!e)
                return NULL;
        while (n > 0 && (uint8_t) e[n - 1] == 0xff)
                n--;
        if (n == 0) {
                free(e);
                return nd_etcd_b64_encode("\0", 1);
        }
        e[n - 1] = (char) (e[n - 1] + 1);
        char *r = nd_etcd_b64_encode(e, n);
        free(e);
        return r;
}

json_t *nd_etcd_body_b64(const char *s) {
        _cleanup_free_ char *e = nd_etcd_b64_encode(s, strlen(s));
        return e ? json_string(e) : NULL;
}

json_t *nd_etcd_body_i64(int64_t v) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%" PRId64, v);
        return json_string(buf);
}

/* ---- operations ---- */

static int etcd_txn(nd_store *b, const nd_store_cmp *cmps, size_t n_cmps, const nd_store_op *ops, size_t n_ops,
                    nd_store_txn_fn cb, void *userdata) {
        etcd *s = (etcd *) b;
        json_t *body = json_object(), *cmp = json_array(), *succ = json_array();
        int e = 0;

        for (size_t i = 0; i < n_cmps; i++) {
                json_t *c = json_pack("{s:o, s:s, s:o, s:s}", "key", nd_etcd_body_b64(cmps[i].key), "target", "MOD",
                                      "mod_revision", nd_etcd_body_i64(cmps[i].mod_rev), "result", "EQUAL");
                if (!c || json_array_append_new(cmp, c) < 0)
                        e = -ENOMEM;
        }
        for (size_t i = 0; i < n_ops; i++) {
                json_t *o = NULL;
                switch (ops[i].type) {
                case ND_STORE_PUT: {
                        json_t *p = json_pack("{s:o, s:o}", "key", nd_etcd_body_b64(ops[i].key), "value",
                                              json_string(""));
                        _cleanup_free_ char *v = nd_etcd_b64_encode(ops[i].value, strlen(ops[i].value));
                        if (p && v)
                                json_object_set_new(p, "value", json_string(v));
                        if (p && ops[i].lease)
                                json_object_set_new(p, "lease", nd_etcd_body_i64(ops[i].lease));
                        o = p ? json_pack("{s:o}", "request_put", p) : NULL;
                        break;
                }
                case ND_STORE_DELETE:
                        o = json_pack("{s:{s:o}}", "request_delete_range", "key", nd_etcd_body_b64(ops[i].key));
                        break;
                case ND_STORE_DELETE_PREFIX: {
                        char *end = nd_etcd_body_prefix_end(ops[i].key);
                        o = end ? json_pack("{s:{s:o, s:s}}", "request_delete_range", "key", nd_etcd_body_b64(ops[i].key),
                                            "range_end", end)
                                : NULL;
                        free(end);
                        break;
                }
                default:
                        break;
                }
                if (!o || json_array_append_new(succ, o) < 0)
                        e = -ENOMEM;
        }
        json_object_set_new(body, "compare", cmp);
        json_object_set_new(body, "success", succ);
        req *r = e == 0 ? nd_etcd_req_new(s, REQ_TXN, "/v3/kv/txn", body) : NULL;
        json_decref(body);
        if (!r)
                return -ENOMEM;
        r->cb.txn = cb; /* NULL: fire and forget */
        r->userdata = userdata;
        return nd_etcd_enqueue(s, r);
}

static int etcd_range(nd_store *b, const char *key, bool prefix, nd_store_range_fn cb, void *userdata) {
        etcd *s = (etcd *) b;
        json_t *body = json_pack("{s:o}", "key", nd_etcd_body_b64(key));
        if (body && prefix) {
                char *end = nd_etcd_body_prefix_end(key);
                if (end)
                        json_object_set_new(body, "range_end", json_string(end));
                free(end);
        }
        req *r = body ? nd_etcd_req_new(s, REQ_RANGE, "/v3/kv/range", body) : NULL;
        json_decref(body);
        if (!r)
                return -ENOMEM;
        r->cb.range = cb;
        r->userdata = userdata;
        return nd_etcd_enqueue(s, r);
}

static int lease_req(etcd *s, req_kind kind, const char *path, json_t *body, nd_store_lease_fn cb, void *userdata) {
        req *r = body ? nd_etcd_req_new(s, kind, path, body) : NULL;
        json_decref(body);
        if (!r)
                return -ENOMEM;
        r->cb.lease = cb;
        r->userdata = userdata;
        return nd_etcd_enqueue(s, r);
}

static int etcd_grant(nd_store *b, int64_t ttl, nd_store_lease_fn cb, void *userdata) {
        return lease_req((etcd *) b, REQ_GRANT, "/v3/lease/grant", json_pack("{s:o}", "TTL", nd_etcd_body_i64(ttl)), cb,
                         userdata);
}

static int etcd_keepalive(nd_store *b, int64_t lease, nd_store_lease_fn cb, void *userdata) {
        return lease_req((etcd *) b, REQ_KEEPALIVE, "/v3/lease/keepalive", json_pack("{s:o}", "ID", nd_etcd_body_i64(lease)),
                         cb, userdata);
}

static int etcd_revoke(nd_store *b, int64_t lease, nd_store_lease_fn cb, void *userdata) {
        return lease_req((etcd *) b, REQ_REVOKE, "/v3/lease/revoke", json_pack("{s:o}", "ID", nd_etcd_body_i64(lease)), cb,
                         userdata);
}

/* ---- open/free ---- */

static void etcd_free(nd_store *b) {
        etcd *s = (etcd *) b;
        while (s->watches)
                nd_etcd_watch_cancel(&s->watches->base);
        while (s->head) {
                req *r = s->head;
                s->head = r->next;
                nd_etcd_req_free(r);
        }
        while (s->side) {
                req *r = s->side;
                s->side = r->next;
                nd_etcd_req_free(r);
        }
        ev_timer_stop(s->loop, &s->timer);
        ev_idle_stop(s->loop, &s->kick);
        if (s->multi)
                curl_multi_cleanup(s->multi);
        for (size_t i = 0; i < s->n_urls; i++)
                free(s->urls[i]);
        free(s->cacert);
        free(s->cert);
        free(s->key);
        free(s->user);
        if (s->password)
                explicit_bzero(s->password, strlen(s->password));
        free(s->password);
        free(s->token);
        free(s);
}

/* The first line of @path. */
static int read_password(const char *path, char **ret) {
        char buf[256];
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = 0;
        fclose(f);
        buf[strcspn(buf, "\r\n")] = 0;
        free(*ret);
        *ret = strdup(buf);
        explicit_bzero(buf, sizeof(buf));
        return *ret ? 0 : -ENOMEM;
}

static int parse_url(etcd *s, const char *url) {
        bool tls = false;
        const char *p;
        if (strncmp(url, "etcds://", 8) == 0) {
                tls = true;
                p = url + 8;
        } else if (strncmp(url, "etcd://", 7) == 0)
                p = url + 7;
        else
                return -EINVAL;
        _cleanup_free_ char *copy = strdup(p);
        if (!copy)
                return -ENOMEM;
        char *q = strchr(copy, '?');
        if (q) {
                *q++ = 0;
                for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
                        char *v = strchr(kv, '=');
                        if (!v || !v[1])
                                return -EINVAL;
                        *v++ = 0;
                        if (strcmp(kv, "password-file") == 0) {
                                int e = read_password(v, &s->password);
                                if (e < 0)
                                        return e;
                                continue;
                        }
                        char **dst = strcmp(kv, "cacert") == 0 ? &s->cacert
                                   : strcmp(kv, "cert") == 0   ? &s->cert
                                   : strcmp(kv, "key") == 0    ? &s->key
                                   : strcmp(kv, "user") == 0   ? &s->user
                                                               : NULL;
                        if (!dst)
                                return -EINVAL;
                        free(*dst);
                        if (!(*dst = strdup(v)))
                                return -ENOMEM;
                        if (dst != &s->user)
                                tls = true;
                }
        }
        for (char *save = NULL, *hp = strtok_r(copy, ",", &save); hp; hp = strtok_r(NULL, ",", &save)) {
                if (s->n_urls == ETCD_MAX_ENDPOINTS || !*hp || strpbrk(hp, "/ @"))
                        return -EINVAL;
                if (asprintf(&s->urls[s->n_urls], "%s://%s", tls ? "https" : "http", hp) < 0)
                        return -ENOMEM;
                s->n_urls++;
        }
        return s->n_urls > 0 ? 0 : -EINVAL;
}

static int etcd_open(struct ev_loop *loop, const char *url, const char *state_dir, nd_store **ret) {
        etcd *s = calloc(1, sizeof(*s));
        int e;
        if (!s)
                return -ENOMEM;
        s->base.ops = &nd_store_etcd_ops;
        s->loop = loop;
        nd_etcd_http_init(s);
        nd_hist_init(&s->lat, nd_hist_latency_bounds, nd_hist_latency_n);
        if ((e = parse_url(s, url)) < 0) {
                etcd_free(&s->base);
                return e;
        }
        if ((e = nd_etcd_http_start(s)) < 0) {
                etcd_free(&s->base);
                return e;
        }
        if (s->user && !s->password) {
                etcd_free(&s->base);
                return -EINVAL;
        }
        nd_etcd_auth_queue(s); /* first in the FIFO (with a user) */
        *ret = &s->base;
        return 0;
}

const char *nd_store_etcd_endpoint(const nd_store *b) {
        const etcd *s = (const etcd *) b;
        return s->urls[s->cur];
}

const struct nd_store_ops nd_store_etcd_ops = {
        .scheme = "etcd",
        .open = etcd_open,
        .free = etcd_free,
        .txn = etcd_txn,
        .range = etcd_range,
        .watch = nd_etcd_watch_start,
        .watch_cancel = nd_etcd_watch_cancel,
        .lease_grant = etcd_grant,
        .lease_keepalive = etcd_keepalive,
        .lease_revoke = etcd_revoke,
};

void nd_store_etcd_metrics(const nd_store *b, nd_expo *e) {
        const etcd *s = (const etcd *) b;
        nd_expo_family(e, "netd_etcd_requests_total", "counter", "Unary requests to etcd answered (or failed).");
        nd_expo_sample(e, "netd_etcd_requests_total", NULL, (double) s->requests);
        nd_expo_family(e, "netd_etcd_request_errors_total", "counter",
                       "etcd requests that failed (a refused compare or a missing lease does not count).");
        nd_expo_sample(e, "netd_etcd_request_errors_total", NULL, (double) s->failures);
        nd_expo_family(e, "netd_etcd_request_duration_seconds", "histogram", "A unary etcd request, sent to answered.");
        nd_expo_hist(e, "netd_etcd_request_duration_seconds", NULL, &s->lat);
        nd_expo_family(e, "netd_etcd_watch_reconnects_total", "counter", "etcd watch streams that broke and were resumed.");
        nd_expo_sample(e, "netd_etcd_watch_reconnects_total", NULL, (double) s->watch_breaks);
        nd_expo_family(e, "netd_etcd_authentications_total", "counter", "Authentications with user and password.");
        nd_expo_sample(e, "netd_etcd_authentications_total", NULL, (double) s->auths);
}
