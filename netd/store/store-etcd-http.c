/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The etcd backend's transport: one request is one HTTP POST to the JSON
 * gateway on curl's multi interface, driven by the loop (sockets as ev_io,
 * curl's timer as an ev_timer).  Here live the unary FIFO, fail-over and
 * retry of requests that never reached a server, authentication with user
 * and password (and again when etcd forgets a token), and the completion
 * of unary requests.  Watch streams are sent from here and their bytes
 * handed to store-etcd-watch.c.
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

/* One of curl's sockets on the loop. */
struct sock {
        ev_io io;
        etcd *s;
        curl_socket_t fd;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata);
static void fifo_kick(etcd *s);

void nd_etcd_req_free(req *r) {
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

req *nd_etcd_req_new(etcd *s, req_kind kind, const char *path, json_t *body) {
        req *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        r->s = s;
        r->kind = kind;
        r->path = strdup(path);
        r->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
        ev_init(&r->retry, NULL);
        if (!r->path || !r->body) {
                nd_etcd_req_free(r);
                return NULL;
        }
        return r;
}

int nd_etcd_req_send(req *r) {
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
                nd_etcd_watch_data(w);
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
        int e = nd_etcd_req_send(r);
        if (e < 0) {
                etcd *s = r->s;
                req_unlink(r);
                complete_unary(r, e, NULL);
                nd_etcd_req_free(r);
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

/* Put an authentication request at the head of the FIFO (after the
 * request in flight), once. */
void nd_etcd_auth_queue(etcd *s) {
        if (!s->user || s->auth_queued)
                return;
        json_t *body = json_pack("{s:s, s:s}", "name", s->user, "password", s->password ? s->password : "");
        req *a = body ? nd_etcd_req_new(s, REQ_AUTH, "/v3/auth/authenticate", body) : NULL;
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
                        nd_etcd_auth_queue(s);
                s->watch_breaks++;
                if (w) {
                        w->r = NULL;
                        nd_etcd_watch_broken(w, c == CURLE_OK ? -ECONNRESET : -EIO);
                }
                nd_etcd_req_free(r);
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
                        nd_etcd_auth_queue(s);
                        req_unlink(r);
                        complete_unary(r, -EAGAIN, NULL);
                        nd_etcd_req_free(r);
                        return;
                }
                json_decref(j);
                nd_etcd_auth_queue(s);
                return;
        }
        req_unlink(r);
        complete_unary(r, e, j);
        json_decref(j);
        nd_etcd_req_free(r);
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
                int e = nd_etcd_req_send(r);
                if (e == 0)
                        break;
                req_unlink(r);
                complete_unary(r, e, NULL);
                nd_etcd_req_free(r);
        }
}

static void fifo_kick(etcd *s) {
        if (s->head && !s->head->in_flight)
                ev_idle_start(s->loop, &s->kick);
}

int nd_etcd_enqueue(etcd *s, req *r) {
        if (r->kind == REQ_KEEPALIVE) {
                int e = nd_etcd_req_send(r);
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

/* ---- set-up ---- */

void nd_etcd_http_init(etcd *s) {
        ev_init(&s->timer, on_timer);
        s->timer.data = s;
        ev_idle_init(&s->kick, on_kick);
        s->kick.data = s;
}

int nd_etcd_http_start(etcd *s) {
        static bool global_init;
        if (!global_init) {
                curl_global_init(CURL_GLOBAL_DEFAULT);
                global_init = true;
        }
        s->multi = curl_multi_init();
        if (!s->multi)
                return -ENOMEM;
        curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
        curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
        return 0;
}
