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
#include "store.h"

#define ETCD_MAX_ENDPOINTS 8
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
#define ETCD_CONNECT_TIMEOUT_MS 1000L
#define ETCD_REQUEST_TIMEOUT_MS 10000L
#define ETCD_BACKOFF_MAX 2.0

typedef enum req_kind {
        REQ_TXN,
        REQ_RANGE,
        REQ_GRANT,
        REQ_KEEPALIVE,
        REQ_REVOKE,
        REQ_WATCH,
        REQ_AUTH,
} req_kind;

typedef struct etcd etcd;
typedef struct req req;
typedef struct etcd_watch etcd_watch;

struct buf {
        char *p;
        size_t n, cap;
};

struct req {
        etcd *s;
        req_kind kind;
        CURL *easy;
        struct curl_slist *hdr;
        char *path, *body;
        struct buf in;
        char errbuf[CURL_ERROR_SIZE];
        unsigned tries;
        ev_timer retry;
        union {
                nd_store_txn_fn txn;
                nd_store_range_fn range;
                nd_store_lease_fn lease;
        } cb;
        void *userdata;
        etcd_watch *watch;     /* REQ_WATCH */
        req *next;             /* FIFO */
        bool in_flight;
        double t0;             /* sent */
};

struct etcd_watch {
        nd_store_watch base;
        etcd *s;
        char *prefix;
        int64_t next_rev;      /* resume from here; 0: from now on */
        nd_store_watch_fn cb;
        void *userdata;
        req *r;                /* the stream, or NULL while backing off */
        ev_timer again;
        double backoff;
        bool dead;
        bool dispatching, cancelled;
        bool refused;          /* etcd cancelled the stream (auth): reconnect */
        etcd_watch *prev, *next;
};

struct etcd {
        nd_store base;
        struct ev_loop *loop;
        CURLM *multi;
        ev_timer timer;
        char *urls[ETCD_MAX_ENDPOINTS];
        size_t n_urls, cur;
        char *cacert, *cert, *key;
        char *user, *password, *token; /* etcd authentication (user and password) */
        bool auth_queued;
        unsigned auth_failures;
        uint64_t requests, failures, watch_breaks, auths;
        nd_hist lat;           /* a unary request, sent to answered */
        req *head, *tail;      /* unary FIFO; head is in flight */
        req *side;             /* keep-alives: a list of in-flight side requests */
        etcd_watch *watches;
        ev_idle kick;          /* defers starting the FIFO to the loop */
};

struct sock {
        ev_io io;
        etcd *s;
        curl_socket_t fd;
};

/* ---- request bodies ---- */

/* The end of the range that holds every key starting with @prefix. */
static char *prefix_end(const char *prefix) {
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

static json_t *b64_json(const char *s) {
        _cleanup_free_ char *e = nd_etcd_b64_encode(s, strlen(s));
        return e ? json_string(e) : NULL;
}

static json_t *i64_json(int64_t v) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%" PRId64, v);
        return json_string(buf);
}

/* ---- requests ---- */

static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata);
static void fifo_kick(etcd *s);
static void watch_data(etcd_watch *w);
static void watch_broken(etcd_watch *w, int r);

static void req_free(req *r) {
        if (!r)
                return;
        if (r->easy) {
                if (r->in_flight)
                        curl_multi_remove_handle(r->s->multi, r->easy);
                curl_easy_cleanup(r->easy);
        }
        ev_timer_stop(r->s->loop, &r->retry);
        curl_slist_free_all(r->hdr);
        free(r->path);
        free(r->body);
        free(r->in.p);
        free(r);
}

static req *req_new(etcd *s, req_kind kind, const char *path, json_t *body) {
        req *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        r->s = s;
        r->kind = kind;
        r->path = strdup(path);
        r->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
        ev_init(&r->retry, NULL);
        if (!r->path || !r->body) {
                req_free(r);
                return NULL;
        }
        return r;
}

static int req_send(req *r) {
        etcd *s = r->s;
        char url[512];

        if (r->easy) {
                curl_easy_cleanup(r->easy);
                r->easy = NULL;
        }
        r->in.n = 0;
        r->easy = curl_easy_init();
        if (!r->easy)
                return -ENOMEM;
        /* the token may have changed since the last send */
        curl_slist_free_all(r->hdr);
        r->hdr = curl_slist_append(NULL, "Content-Type: application/json");
        if (r->hdr && s->token && r->kind != REQ_AUTH) {
                char h[512];
                snprintf(h, sizeof(h), "Authorization: %s", s->token);
                r->hdr = curl_slist_append(r->hdr, h);
        }
        snprintf(url, sizeof(url), "%s%s", s->urls[s->cur], r->path);
        curl_easy_setopt(r->easy, CURLOPT_URL, url);
        curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdr);
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
        curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
        curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, ETCD_CONNECT_TIMEOUT_MS);
        curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, 5L);
        curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPINTVL, 2L);
        curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
        /* no proxy from the environment for a cluster-internal service */
        curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*");
        if (r->kind != REQ_WATCH)
                curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, ETCD_REQUEST_TIMEOUT_MS);
        if (s->cacert)
                curl_easy_setopt(r->easy, CURLOPT_CAINFO, s->cacert);
        if (s->cert)
                curl_easy_setopt(r->easy, CURLOPT_SSLCERT, s->cert);
        if (s->key)
                curl_easy_setopt(r->easy, CURLOPT_SSLKEY, s->key);
        if (curl_multi_add_handle(s->multi, r->easy) != CURLM_OK)
                return -ENOMEM;
        r->in_flight = true;
        r->t0 = ev_now(s->loop);
        return 0;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata) {
        req *r = userdata;
        size_t n = size * nmemb;
        if (r->in.n + n + 1 > r->in.cap) {
                size_t cap = MAX(r->in.cap * 2, r->in.n + n + 1);
                if (cap > 2 * ND_STORE_MAX_VALUE + 65536 * 16)
                        return 0; /* refuse absurd replies */
                char *q = realloc(r->in.p, cap);
                if (!q)
                        return 0;
                r->in.p = q;
                r->in.cap = cap;
        }
        memcpy(r->in.p + r->in.n, p, n);
        r->in.n += n;
        r->in.p[r->in.n] = 0;
        if (r->kind == REQ_WATCH && r->watch) {
                etcd_watch *w = r->watch;
                w->dispatching = true;
                watch_data(w);
                w->dispatching = false;
                if (w->cancelled) {
                        /* cancelled from its own callback: abort the
                         * transfer; finish() frees the request */
                        r->watch = NULL;
                        free(w->prefix);
                        free(w);
                        return 0;
                }
                if (w->refused) {
                        /* end this stream; finish() resumes the watch */
                        w->refused = false;
                        return 0;
                }
        }
        return n;
}

static void complete_unary(req *r, int r_err, json_t *j) {
        if (!r->cb.txn && !r->cb.range && !r->cb.lease)
                return;
        switch (r->kind) {
        case REQ_TXN: {
                int64_t rev = 0;
                int rr = r_err == 0 ? nd_etcd_parse_txn(j, &rev) : r_err;
                r->cb.txn(r->userdata, rr, rr == 0 ? rev : 0);
                break;
        }
        case REQ_RANGE: {
                nd_etcd_range g;
                int rr = r_err < 0 ? r_err : nd_etcd_parse_range(j, &g);
                if (rr < 0) {
                        r->cb.range(r->userdata, rr, NULL, 0, 0);
                        break;
                }
                r->cb.range(r->userdata, 0, g.kvs, g.n, g.rev);
                nd_etcd_range_done(&g);
                break;
        }
        case REQ_GRANT:
                r->cb.lease(r->userdata, r_err, r_err == 0 ? nd_etcd_json_i64(j, "ID") : 0);
                break;
        case REQ_KEEPALIVE: {
                int64_t id = 0;
                int rr = r_err == 0 ? nd_etcd_parse_keepalive(j, &id) : r_err;
                r->cb.lease(r->userdata, rr, rr == 0 ? id : 0);
                break;
        }
        case REQ_REVOKE:
                r->cb.lease(r->userdata, r_err, 0);
                break;
        case REQ_WATCH:
        case REQ_AUTH:
                break;
        }
}

static bool connect_failed(CURLcode c) {
        return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST;
}

static void req_unlink(req *r) {
        etcd *s = r->s;
        req **p = r->kind == REQ_KEEPALIVE ? &s->side : &s->head;
        req *prev = NULL;
        for (; *p; prev = *p, p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        break;
                }
        if (r->kind != REQ_KEEPALIVE && s->tail == r)
                s->tail = prev;
}

static void next_endpoint(etcd *s, const req *r) {
        size_t old = s->cur;
        s->cur = (s->cur + 1) % s->n_urls;
        if (s->n_urls > 1)
                nd_log(LOG_WARNING, "etcd endpoint unreachable, failing over", "from=%s to=%s err=\"%s\"",
                       s->urls[old], s->urls[s->cur], r->errbuf);
}

static void retry_fire(struct ev_loop *loop, ev_timer *t, int revents) {
        req *r = t->data;
        int e = req_send(r);
        if (e < 0) {
                etcd *s = r->s;
                req_unlink(r);
                complete_unary(r, e, NULL);
                req_free(r);
                fifo_kick(s);
        }
}

/* Whether @r is to be sent again; then it is scheduled. */
static bool maybe_retry(req *r, CURLcode c, long http) {
        etcd *s = r->s;
        /* a connect timeout never reached a server; other timeouts may have */
        curl_off_t connect_us = 0;
        curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
        bool conn = connect_failed(c) || (c == CURLE_OPERATION_TIMEDOUT && connect_us == 0 && http == 0);
        /* etcd says "no leader" (Unavailable) during an election: the
         * request was refused, not applied, so it is safe to send again */
        bool unavailable = c == CURLE_OK && http == 503;
        if (!conn && !unavailable)
                return false;
        if (r->tries >= 4 * s->n_urls + 4)
                return false;
        r->tries++;
        if (conn)
                next_endpoint(s, r);
        double delay = r->tries <= s->n_urls ? 0 : MIN(0.05 * (double) (1u << MIN(r->tries, 6u)), ETCD_BACKOFF_MAX);
        curl_multi_remove_handle(s->multi, r->easy);
        r->in_flight = false;
        ev_timer_init(&r->retry, retry_fire, delay, 0);
        r->retry.data = r;
        ev_timer_start(s->loop, &r->retry);
        return true;
}

static req *req_new(etcd *s, req_kind kind, const char *path, json_t *body);

/* Put an authentication request at the head of the FIFO (before @before,
 * the head, when given), once. */
static void auth_queue(etcd *s) {
        if (!s->user || s->auth_queued)
                return;
        json_t *body = json_pack("{s:s, s:s}", "name", s->user, "password", s->password ? s->password : "");
        req *a = body ? req_new(s, REQ_AUTH, "/v3/auth/authenticate", body) : NULL;
        json_decref(body);
        if (!a)
                return;
        free(s->token);
        s->token = NULL;
        s->auth_queued = true;
        if (s->head && s->head->in_flight) {
                /* after the request in flight */
                a->next = s->head->next;
                s->head->next = a;
                if (s->tail == s->head)
                        s->tail = a;
        } else {
                a->next = s->head;
                s->head = a;
                if (!s->tail)
                        s->tail = a;
        }
        fifo_kick(s);
}

static void auth_done(etcd *s, int e, json_t *j, long http) {
        s->auth_queued = false;
        const char *t = json_string_value(json_object_get(j, "token"));
        if (e == 0 && t) {
                free(s->token);
                s->token = strdup(t);
                s->auth_failures = 0;
                nd_log(LOG_DEBUG, "etcd: authenticated", "user=%s", s->user);
                return;
        }
        s->auth_failures++;
        nd_log(LOG_ERR, "etcd: authentication failed (check --etcd-user and --etcd-password-file)", "user=%s http=%ld "
               "error=\"%s\"", s->user, http, json_string_value(json_object_get(j, "error")) ?: strerror(e < 0 ? -e : EIO));
}

static void finish(req *r, CURLcode c) {
        etcd *s = r->s;
        long http = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);

        if (r->kind == REQ_WATCH) {
                etcd_watch *w = r->watch;
                curl_multi_remove_handle(s->multi, r->easy);
                r->in_flight = false;
                if (c != CURLE_OK && connect_failed(c))
                        next_endpoint(s, r);
                /* a stream refused for its token (etcd restarted and forgot
                 * it) ends without a newline-terminated message */
                if (s->user && (http == 401 || (r->in.n && memmem(r->in.p, r->in.n, "auth token", 10))))
                        auth_queue(s);
                s->watch_breaks++;
                if (w) {
                        w->r = NULL;
                        watch_broken(w, c == CURLE_OK ? -ECONNRESET : -EIO);
                }
                req_free(r);
                return;
        }

        if (maybe_retry(r, c, http))
                return;

        json_error_t jerr;
        json_t *j = NULL;
        int e = 0;
        if (c != CURLE_OK) {
                nd_log(LOG_WARNING, "etcd request failed", "path=%s err=\"%s\"", r->path,
                       r->errbuf[0] ? r->errbuf : curl_easy_strerror(c));
                e = c == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
        } else {
                j = r->in.p ? json_loadb(r->in.p, r->in.n, JSON_DISABLE_EOF_CHECK, &jerr) : NULL;
                if (!j)
                        e = -EBADMSG;
                else if ((e = nd_etcd_reply_errno(j, http)) < 0) {
                        if (e != -ENOENT && e != -ECANCELED)
                                nd_log(LOG_WARNING, "etcd refused a request", "path=%s http=%ld error=\"%s\"",
                                       r->path, http, json_string_value(json_object_get(j, "error")) ?: "");
                }
        }

        curl_multi_remove_handle(s->multi, r->easy);
        r->in_flight = false;
        s->requests++;
        s->failures += e < 0 && e != -ENOENT && e != -ECANCELED;
        nd_hist_observe(&s->lat, ev_now(s->loop) - r->t0);
        if (r->kind == REQ_AUTH)
                s->auths++;
        if (r->kind == REQ_AUTH)
                auth_done(s, e, j, http);
        else if (e < 0 && j && s->user && nd_etcd_auth_error(j) && r->tries < 8 && s->auth_failures < 3) {
                /* authenticate again, then send this request again: it was
                 * refused before it was applied */
                r->tries++;
                if (r->kind == REQ_KEEPALIVE) {
                        json_decref(j);
                        auth_queue(s);
                        req_unlink(r);
                        complete_unary(r, -EAGAIN, NULL);
                        req_free(r);
                        return;
                }
                json_decref(j);
                auth_queue(s);
                return;
        }
        req_unlink(r);
        complete_unary(r, e, j);
        json_decref(j);
        req_free(r);
        fifo_kick(s);
}

static void check_done(etcd *s) {
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(s->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                req *r = NULL;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
                if (r)
                        finish(r, msg->data.result);
        }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents) {
        struct sock *k = (struct sock *) w;
        etcd *s = k->s;
        int running;
        int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
        curl_multi_socket_action(s->multi, k->fd, action, &running);
        check_done(s);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents) {
        etcd *s = t->data;
        int running;
        curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(s);
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp) {
        etcd *s = userp;
        struct sock *k = socketp;
        if (what == CURL_POLL_REMOVE) {
                if (k) {
                        ev_io_stop(s->loop, &k->io);
                        free(k);
                        curl_multi_assign(s->multi, fd, NULL);
                }
                return 0;
        }
        int ev = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
        if (!k) {
                k = calloc(1, sizeof(*k));
                if (!k)
                        return -1;
                k->s = s;
                k->fd = fd;
                curl_multi_assign(s->multi, fd, k);
        } else
                ev_io_stop(s->loop, &k->io);
        ev_io_init(&k->io, on_io, fd, ev);
        ev_io_start(s->loop, &k->io);
        return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp) {
        etcd *s = userp;
        ev_timer_stop(s->loop, &s->timer);
        if (timeout_ms >= 0) {
                ev_timer_set(&s->timer, (double) timeout_ms / 1000.0, 0);
                ev_timer_start(s->loop, &s->timer);
        }
        return 0;
}

/* ---- the unary FIFO ---- */

static void on_kick(struct ev_loop *loop, ev_idle *w, int revents) {
        etcd *s = w->data;
        ev_idle_stop(loop, w);
        while (s->head && !s->head->in_flight && !ev_is_active(&s->head->retry)) {
                req *r = s->head;
                int e = req_send(r);
                if (e == 0)
                        break;
                req_unlink(r);
                complete_unary(r, e, NULL);
                req_free(r);
        }
}

static void fifo_kick(etcd *s) {
        if (s->head && !s->head->in_flight)
                ev_idle_start(s->loop, &s->kick);
}

static int enqueue(etcd *s, req *r) {
        if (r->kind == REQ_KEEPALIVE) {
                int e = req_send(r);
                if (e < 0)
                        return e;
                r->next = s->side;
                s->side = r;
                return 0;
        }
        if (s->tail)
                s->tail->next = r;
        else
                s->head = r;
        s->tail = r;
        fifo_kick(s);
        return 0;
}

/* ---- operations ---- */

static int etcd_txn(nd_store *b, const nd_store_cmp *cmps, size_t n_cmps, const nd_store_op *ops, size_t n_ops,
                    nd_store_txn_fn cb, void *userdata) {
        etcd *s = (etcd *) b;
        json_t *body = json_object(), *cmp = json_array(), *succ = json_array();
        int e = 0;

        for (size_t i = 0; i < n_cmps; i++) {
                json_t *c = json_pack("{s:o, s:s, s:o, s:s}", "key", b64_json(cmps[i].key), "target", "MOD",
                                      "mod_revision", i64_json(cmps[i].mod_rev), "result", "EQUAL");
                if (!c || json_array_append_new(cmp, c) < 0)
                        e = -ENOMEM;
        }
        for (size_t i = 0; i < n_ops; i++) {
                json_t *o = NULL;
                switch (ops[i].type) {
                case ND_STORE_PUT: {
                        json_t *p = json_pack("{s:o, s:o}", "key", b64_json(ops[i].key), "value",
                                              json_string(""));
                        _cleanup_free_ char *v = nd_etcd_b64_encode(ops[i].value, strlen(ops[i].value));
                        if (p && v)
                                json_object_set_new(p, "value", json_string(v));
                        if (p && ops[i].lease)
                                json_object_set_new(p, "lease", i64_json(ops[i].lease));
                        o = p ? json_pack("{s:o}", "request_put", p) : NULL;
                        break;
                }
                case ND_STORE_DELETE:
                        o = json_pack("{s:{s:o}}", "request_delete_range", "key", b64_json(ops[i].key));
                        break;
                case ND_STORE_DELETE_PREFIX: {
                        char *end = prefix_end(ops[i].key);
                        o = end ? json_pack("{s:{s:o, s:s}}", "request_delete_range", "key", b64_json(ops[i].key),
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
        req *r = e == 0 ? req_new(s, REQ_TXN, "/v3/kv/txn", body) : NULL;
        json_decref(body);
        if (!r)
                return -ENOMEM;
        r->cb.txn = cb; /* NULL: fire and forget */
        r->userdata = userdata;
        return enqueue(s, r);
}

static int etcd_range(nd_store *b, const char *key, bool prefix, nd_store_range_fn cb, void *userdata) {
        etcd *s = (etcd *) b;
        json_t *body = json_pack("{s:o}", "key", b64_json(key));
        if (body && prefix) {
                char *end = prefix_end(key);
                if (end)
                        json_object_set_new(body, "range_end", json_string(end));
                free(end);
        }
        req *r = body ? req_new(s, REQ_RANGE, "/v3/kv/range", body) : NULL;
        json_decref(body);
        if (!r)
                return -ENOMEM;
        r->cb.range = cb;
        r->userdata = userdata;
        return enqueue(s, r);
}

static int lease_req(etcd *s, req_kind kind, const char *path, json_t *body, nd_store_lease_fn cb, void *userdata) {
        req *r = body ? req_new(s, kind, path, body) : NULL;
        json_decref(body);
        if (!r)
                return -ENOMEM;
        r->cb.lease = cb;
        r->userdata = userdata;
        return enqueue(s, r);
}

static int etcd_grant(nd_store *b, int64_t ttl, nd_store_lease_fn cb, void *userdata) {
        return lease_req((etcd *) b, REQ_GRANT, "/v3/lease/grant", json_pack("{s:o}", "TTL", i64_json(ttl)), cb,
                         userdata);
}

static int etcd_keepalive(nd_store *b, int64_t lease, nd_store_lease_fn cb, void *userdata) {
        return lease_req((etcd *) b, REQ_KEEPALIVE, "/v3/lease/keepalive", json_pack("{s:o}", "ID", i64_json(lease)),
                         cb, userdata);
}

static int etcd_revoke(nd_store *b, int64_t lease, nd_store_lease_fn cb, void *userdata) {
        return lease_req((etcd *) b, REQ_REVOKE, "/v3/lease/revoke", json_pack("{s:o}", "ID", i64_json(lease)), cb,
                         userdata);
}

/* ---- watches ---- */

static int watch_connect(etcd_watch *w) {
        json_t *cr = json_pack("{s:o}", "key", b64_json(w->prefix));
        char *end = prefix_end(w->prefix);
        if (!cr || !end) {
                free(end);
                json_decref(cr);
                return -ENOMEM;
        }
        json_object_set_new(cr, "range_end", json_string(end));
        free(end);
        if (w->next_rev > 0)
                json_object_set_new(cr, "start_revision", i64_json(w->next_rev));
        json_t *body = json_pack("{s:o}", "create_request", cr);
        req *r = body ? req_new(w->s, REQ_WATCH, "/v3/watch", body) : NULL;
        json_decref(body);
        if (!r)
                return -ENOMEM;
        r->watch = w;
        int e = req_send(r);
        if (e < 0) {
                req_free(r);
                return e;
        }
        w->r = r;
        return 0;
}

static void watch_again(struct ev_loop *loop, ev_timer *t, int revents) {
        etcd_watch *w = t->data;
        if (watch_connect(w) < 0)
                watch_broken(w, -ENOMEM);
}

static void watch_broken(etcd_watch *w, int r) {
        if (w->dead)
                return;
        /* resume from the next revision; back off while the cluster is away */
        w->backoff = w->backoff == 0 ? 0.05 : MIN(w->backoff * 2, ETCD_BACKOFF_MAX);
        nd_log(LOG_DEBUG, "etcd watch broken, resuming", "prefix=%s from=%" PRId64 " in=%.2fs", w->prefix,
               w->next_rev, w->backoff);
        ev_timer_stop(w->s->loop, &w->again);
        ev_timer_set(&w->again, w->backoff, 0);
        ev_timer_start(w->s->loop, &w->again);
}

/* One message of the stream: {"result": {...}} or {"error": {...}}. */
static void watch_message(etcd_watch *w, const json_t *j) {
        nd_etcd_watch_msg m;
        if (nd_etcd_parse_watch(j, &m) < 0)
                return;
        switch (m.kind) {
        case ND_ETCD_WATCH_ERROR:
                if (m.auth)
                        auth_queue(w->s);
                if (m.stale) {
                        w->dead = true;
                        w->cb(w->userdata, -ESTALE, NULL);
                }
                break;
        case ND_ETCD_WATCH_COMPACTED:
                w->dead = true;
                w->cb(w->userdata, -ESTALE, NULL);
                break;
        case ND_ETCD_WATCH_CANCELED:
                /* refused (an expired token, a permission): etcd keeps the
                 * stream open and silent, so end it and resume */
                nd_log(LOG_WARNING, "etcd cancelled a watch; resuming", "prefix=%s reason=\"%s\"", w->prefix,
                       m.cancel_reason ? m.cancel_reason : "");
                if (w->s->user)
                        auth_queue(w->s);
                w->refused = true;
                break;
        case ND_ETCD_WATCH_RESULT:
                if (m.created) {
                        w->backoff = 0;
                        if (w->next_rev == 0)
                                w->next_rev = m.rev + 1;
                }
                for (size_t i = 0; i < m.n_events && !w->dead; i++) {
                        const nd_etcd_watch_event *e = &m.events[i];
                        /* after a resume etcd may repeat the revision we
                         * stopped in the middle of; deliver each revision once */
                        if (e->ev.kv.mod_rev >= w->next_rev) {
                                if (e->last_of_rev)
                                        w->next_rev = e->ev.kv.mod_rev + 1;
                                w->cb(w->userdata, 0, &e->ev);
                        }
                }
                break;
        }
        nd_etcd_watch_msg_done(&m);
}

static void watch_data(etcd_watch *w) {
        req *r = w->r;
        if (!r)
                return;
        size_t off = 0, k;
        json_t *j;
        while (!w->dead && (k = nd_etcd_stream_next(r->in.p + off, r->in.n - off, &j)) > 0) {
                off += k;
                if (j) {
                        watch_message(w, j);
                        json_decref(j);
                }
        }
        memmove(r->in.p, r->in.p + off, r->in.n - off);
        r->in.n -= off;
}

static int etcd_watch_start(nd_store *b, const char *prefix, int64_t from_rev, nd_store_watch_fn cb, void *userdata,
                      nd_store_watch **ret) {
        etcd *s = (etcd *) b;
        etcd_watch *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->base.store = b;
        w->s = s;
        w->prefix = strdup(prefix);
        w->next_rev = from_rev > 0 ? from_rev + 1 : 0;
        w->cb = cb;
        w->userdata = userdata;
        ev_timer_init(&w->again, watch_again, 0, 0);
        w->again.data = w;
        int e = w->prefix ? watch_connect(w) : -ENOMEM;
        if (e < 0) {
                free(w->prefix);
                free(w);
                return e;
        }
        w->next = s->watches;
        if (s->watches)
                s->watches->prev = w;
        s->watches = w;
        if (ret)
                *ret = &w->base;
        return 0;
}

static void etcd_watch_cancel(nd_store_watch *b) {
        etcd_watch *w = (etcd_watch *) b;
        etcd *s = w->s;
        ev_timer_stop(s->loop, &w->again);
        if (w->prev)
                w->prev->next = w->next;
        else
                s->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->dead = true;
        if (w->dispatching) {
                w->cancelled = true;
                return;
        }
        if (w->r) {
                w->r->watch = NULL;
                req_free(w->r);
        }
        free(w->prefix);
        free(w);
}

/* ---- open/free ---- */

static void etcd_free(nd_store *b) {
        etcd *s = (etcd *) b;
        while (s->watches)
                etcd_watch_cancel(&s->watches->base);
        while (s->head) {
                req *r = s->head;
                s->head = r->next;
                req_free(r);
        }
        while (s->side) {
                req *r = s->side;
                s->side = r->next;
                req_free(r);
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
        static bool global_init;
        etcd *s = calloc(1, sizeof(*s));
        int e;
        if (!s)
                return -ENOMEM;
        s->base.ops = &nd_store_etcd_ops;
        s->loop = loop;
        ev_init(&s->timer, on_timer);
        s->timer.data = s;
        ev_idle_init(&s->kick, on_kick);
        s->kick.data = s;
        nd_hist_init(&s->lat, nd_hist_latency_bounds, nd_hist_latency_n);
        if ((e = parse_url(s, url)) < 0) {
                etcd_free(&s->base);
                return e;
        }
        if (!global_init) {
                curl_global_init(CURL_GLOBAL_DEFAULT);
                global_init = true;
        }
        s->multi = curl_multi_init();
        if (!s->multi) {
                etcd_free(&s->base);
                return -ENOMEM;
        }
        curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
        curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
        if (s->user && !s->password) {
                etcd_free(&s->base);
                return -EINVAL;
        }
        auth_queue(s); /* first in the FIFO (with a user) */
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
        .watch = etcd_watch_start,
        .watch_cancel = etcd_watch_cancel,
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
