/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <ev.h>
#include <microhttpd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http-internal.h"
#include "log.h"
#include "metrics.h"

/* Limits on clients (docs/api.md, "Connections").  netd accepts itself
 * and hands each socket to libmicrohttpd: then an accept that fails for
 * want of descriptors backs off and re-arms (libmicrohttpd 0.9.75 stops
 * listening at EMFILE and resumes only when one of its connections
 * closes, so with none open it never did), and a full server makes room
 * by evicting the oldest client that has not sent a complete request
 * head, so a flood of slow clients cannot lock netctl out. */
#define ACCEPT_BATCH 32
#define HEAD_DEADLINE 10.0     /* seconds for the request line and headers */
#define BODY_DEADLINE 30.0     /* seconds for the whole request */
#define EVICT_AFTER 1.0        /* an incomplete head this old may be evicted when full */
#define PER_PEER_MAX 32        /* connections of one client process (SO_PEERCRED) */
#define BACKOFF_MIN 0.05
#define BACKOFF_MAX 1.0

/* Requests by route: a route is the path with its object references
 * replaced ("/v1/containers/{ref}/start"), so the label set stays small. */
#define ROUTES_MAX 48
#define ROUTE_CODES 8

struct route_stat {
        char method[8], route[64];
        struct { unsigned code; uint64_t n; } codes[ROUTE_CODES];
        nd_hist lat;
};

typedef struct hconn {
        struct hconn *prev, *next;
        int fd;
        pid_t pid;
        double since;             /* accepted, or the last request completed */
        bool head_done, req_done, closing;
} hconn;

/* "/v1/containers/web/start" -> "/v1/containers/{ref}/start": the first
 * two segments and the fourth stay (API version, collection, verb), the
 * others are references. */
static void route_of(const char *path, char *buf, size_t size) {
        size_t k = 0;
        int seg = -1;
        for (const char *p = path; *p && *p != '?' && k + 6 < size; p++) {
                if (*p == '/') {
                        seg++;
                        buf[k++] = '/';
                        if (seg == 2 || seg >= 4) {
                                memcpy(buf + k, "{ref}", 5);
                                k += 5;
                                while (p[1] && p[1] != '/' && p[1] != '?')
                                        p++;
                        }
                        continue;
                }
                buf[k++] = *p;
        }
        buf[k] = 0;
}

static void route_count(nd_http_server *s, const nd_http_request *r, double now) {
        char route[64];
        struct route_stat *st = NULL;
        route_of(r->path, route, sizeof(route));
        for (size_t i = 0; i < s->n_routes && !st; i++)
                if (strcmp(s->routes[i].route, route) == 0 && strcmp(s->routes[i].method, r->method) == 0)
                        st = &s->routes[i];
        if (!st) {
                if (s->n_routes == ROUTES_MAX)
                        st = &s->routes[ROUTES_MAX - 1]; /* (the last slot is "other") */
                else {
                        if (!s->routes && !(s->routes = calloc(ROUTES_MAX, sizeof(*s->routes))))
                                return;
                        st = &s->routes[s->n_routes++];
                        snprintf(st->route, sizeof(st->route), "%s", s->n_routes == ROUTES_MAX ? "other" : route);
                        snprintf(st->method, sizeof(st->method), "%s", s->n_routes == ROUTES_MAX ? "other" : r->method);
                        nd_hist_init(&st->lat, nd_hist_latency_bounds, nd_hist_latency_n);
                }
        }
        size_t c = 0;
        while (c < ROUTE_CODES - 1 && st->codes[c].code && st->codes[c].code != r->status)
                c++;
        st->codes[c].code = st->codes[c].code ? st->codes[c].code : r->status;
        st->codes[c].n++;
        /* a streamed reply counts until its head went out, not for
         * the hours a follower of /v1/events may stay */
        nd_hist_observe(&st->lat, (r->t_stream > 0 ? r->t_stream : now) - r->t0);
}

static void server_run(nd_http_server *s) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_run(s->mhd) != MHD_YES)
                nd_log(LOG_DEBUG, "http: MHD_run failed");
        ev_timer_stop(s->loop, &s->timer);
        if (MHD_get_timeout(s->mhd, &ms) == MHD_YES) {
                ev_timer_set(&s->timer, (double) ms / 1000.0, 0.);
                ev_timer_start(s->loop, &s->timer);
        }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents) {
        server_run(container_of(w, nd_http_server, io));
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents) {
        server_run(container_of(w, nd_http_server, timer));
}

static void on_kick(struct ev_loop *loop, ev_idle *w, int revents) {
        ev_idle_stop(loop, w);
        server_run(container_of(w, nd_http_server, kick));
}

/* ---- connections --------------------------------------------------------- */

static void conn_end(nd_http_server *s, hconn *c, uint64_t *counter) {
        if (c->closing)
                return;
        /* libmicrohttpd sees EOF and closes it (NOTIFY_CONNECTION) */
        c->closing = true;
        (void) shutdown(c->fd, SHUT_RDWR);
        (*counter)++;
        ev_idle_start(s->loop, &s->kick);
}

static void conn_unlink(nd_http_server *s, hconn *c) {
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;
        free(c);
}

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_http_server *s = container_of(w, nd_http_server, sweep);
        double now = ev_now(loop);
        for (hconn *c = s->conns; c; c = c->next)
                if ((!c->head_done && now - c->since > HEAD_DEADLINE) ||
                    (c->head_done && !c->req_done && now - c->since > BODY_DEADLINE))
                        conn_end(s, c, &s->timed_out);
}

/* Room for one more: the oldest connection without a complete request
 * head goes, if it has had a moment to send one. */
static bool make_room(nd_http_server *s) {
        hconn *old = NULL;
        double now = ev_now(s->loop);
        for (hconn *c = s->conns; c; c = c->next)
                if (!c->head_done && !c->closing && now - c->since >= EVICT_AFTER && (!old || c->since < old->since))
                        old = c;
        if (!old)
                return false;
        conn_end(s, old, &s->evicted);
        return true;
}

static void accept_pause(nd_http_server *s, int err) {
        ev_io_stop(s->loop, &s->lio);
        s->backoff = s->backoff ? (s->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : s->backoff * 2) : BACKOFF_MIN;
        if (s->backoff == BACKOFF_MIN)
                nd_log(LOG_WARNING, "API: cannot accept connections; retrying", "err=\"%s\" connections=%u",
                       strerror(err), s->n_conns);
        ev_timer_set(&s->accept_retry, s->backoff, 0.);
        ev_timer_start(s->loop, &s->accept_retry);
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_http_server *s = container_of(w, nd_http_server, accept_retry);
        if (!s->quiesced)
                ev_io_start(loop, &s->lio);
}

static void on_listen(struct ev_loop *loop, ev_io *w, int revents) {
        nd_http_server *s = container_of(w, nd_http_server, lio);
        for (int i = 0; i < ACCEPT_BATCH; i++) {
                struct sockaddr_storage sa;
                socklen_t sl = sizeof(sa);
                int fd = accept4(s->listen_fd, (struct sockaddr *) &sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                                continue;
                        /* EMFILE, ENFILE, ENOBUFS, ENOMEM: wait for descriptors;
                         * a client that has not sent its request head gives
                         * one back first */
                        int e = errno;
                        s->accept_errors++;
                        if (make_room(s))
                                s->backoff = 0;
                        return accept_pause(s, e);
                }
                if (s->backoff) {
                        nd_log(LOG_INFO, "API: accepting connections again");
                        s->backoff = 0;
                }
                struct ucred cred = {0};
                socklen_t cl = sizeof(cred);
                if (sa.ss_family == AF_UNIX && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.pid > 0) {
                        unsigned same = 0;
                        for (hconn *c = s->conns; c; c = c->next)
                                same += c->pid == cred.pid && !c->closing;
                        if (same >= PER_PEER_MAX) {
                                close(fd);
                                s->refused++;
                                continue;
                        }
                }
                if (s->n_conns >= s->cfg.max_connections && !make_room(s)) {
                        close(fd);
                        s->refused++;
                        continue;
                }
                hconn *c = calloc(1, sizeof(*c));
                if (!c) {
                        close(fd);
                        continue;
                }
                *c = (hconn) { .fd = fd, .pid = cred.pid, .since = ev_now(loop), .next = s->conns };
                if (s->conns)
                        s->conns->prev = c;
                s->conns = c;
                s->n_conns++;
                s->accepted++;
                /* (on failure libmicrohttpd closes the socket, and its
                 * NOTIFY_CONNECTION never ran: unlink here) */
                if (MHD_add_connection(s->mhd, fd, (const struct sockaddr *) &sa, sl) != MHD_YES)
                        conn_unlink(s, c);
        }
        ev_idle_start(loop, &s->kick);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
        nd_http_server *s = cls;
        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                for (hconn *c = s->conns; ci && c; c = c->next)
                        if (c->fd == ci->connect_fd) {
                                *socket_context = c;
                                break;
                        }
                return;
        }
        hconn *c = *socket_context;
        if (!c)
                return;
        conn_unlink(s, c);
        *socket_context = NULL;
}

static hconn *conn_of(struct MHD_Connection *conn) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return ci ? ci->socket_context : NULL;
}

static enum MHD_Result queue_reply(nd_http_request *r) {
        enum MHD_Result ret = MHD_queue_response(r->conn, r->status, r->reply);
        MHD_destroy_response(r->reply);
        r->reply = NULL;
        r->state = REQ_REPLIED;
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **ctx) {
        nd_http_server *s = cls;
        nd_http_request *r = *ctx;

        if (!r) {
                r = calloc(1, sizeof(*r));
                if (!r)
                        return MHD_NO;
                r->server = s;
                r->conn = conn;
                r->t0 = ev_time();
                r->method = strdup(method);
                r->path = strdup(url);
                if (!r->method || !r->path) {
                        free(r->method);
                        free(r->path);
                        free(r);
                        return MHD_NO;
                }
                *ctx = r;
                hconn *c = conn_of(conn);
                if (c)
                        c->head_done = true;
                return MHD_YES;
        }

        if (*upload_size > 0) {
                if (r->state == REQ_READING && r->body_len + *upload_size > s->cfg.max_body) {
                        r->state = REQ_TOO_LARGE;
                        free(r->body);
                        r->body = NULL;
                        r->body_len = 0;
                }
                if (r->state == REQ_READING) {
                        char *b = realloc(r->body, r->body_len + *upload_size + 1);
                        if (!b)
                                return MHD_NO;
                        memcpy(b + r->body_len, upload, *upload_size);
                        r->body = b;
                        r->body_len += *upload_size;
                        r->body[r->body_len] = 0;
                }
                /* Discard what we will not keep; the connection stays usable. */
                *upload_size = 0;
                return MHD_YES;
        }

        switch (r->state) {
        case REQ_READING: {
                hconn *c = conn_of(conn);
                if (c)
                        c->req_done = true;
                r->state = REQ_WAITING;
                s->fn(r, s->userdata);
                if (r->reply)
                        return queue_reply(r);
                r->suspended = true;
                s->pending++;
                r->next = s->waiting;
                if (s->waiting)
                        s->waiting->prevp = &r->next;
                s->waiting = r;
                r->prevp = &s->waiting;
                MHD_suspend_connection(conn);
                return MHD_YES;
        }
        case REQ_TOO_LARGE:
                nd_http_reply_error(r, 413, "request body too large (limit %zu bytes)", s->cfg.max_body);
                return queue_reply(r);
        case REQ_WAITING:
                /* Resumed: the reply is ready. */
                if (r->reply)
                        return queue_reply(r);
                return MHD_NO;
        case REQ_REPLIED:
                break;
        }
        return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                         enum MHD_RequestTerminationCode toe) {
        nd_http_request *r = *ctx;
        hconn *c = conn_of(conn);
        if (c) {
                /* a kept-alive connection waits for its next head */
                c->head_done = c->req_done = false;
                c->since = ev_now(((nd_http_server *) cls)->loop);
        }
        if (!r)
                return;
        if (r->state == REQ_REPLIED)
                route_count((nd_http_server *) cls, r, ev_time());
        if (r->state != REQ_REPLIED)
                nd_log(LOG_DEBUG, "http: connection closed before the reply", "path=%s code=%d", r->path,
                       (int) toe);
        if (r->reply)
                MHD_destroy_response(r->reply);
        free(r->method);
        free(r->path);
        free(r->body);
        free(r);
        *ctx = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
        char buf[512], q[600];
        vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = 0;
        nd_log(LOG_DEBUG, "http: libmicrohttpd", "detail=%s", nd_log_quote(buf, q, sizeof(q)));
}

int nd_http_server_new(struct ev_loop *loop, int listen_fd, const nd_http_config *cfg,
                       nd_http_handler_fn fn, void *userdata, nd_http_server **ret) {
        nd_http_server *s = calloc(1, sizeof(*s));
        const union MHD_DaemonInfo *info;

        if (!s)
                return -ENOMEM;
        s->loop = loop;
        s->cfg = *cfg;
        s->fn = fn;
        s->userdata = userdata;
        s->listen_fd = listen_fd;
        /* libmicrohttpd's own limit has room for the connections being
         * evicted while their replacements come in */
        s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                                          MHD_USE_NO_LISTEN_SOCKET,
                                  0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                  MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                  MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections + ACCEPT_BATCH + 16,
                                  MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_sec, MHD_OPTION_END);
        if (!s->mhd) {
                free(s);
                return -EIO;
        }
        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info) {
                MHD_stop_daemon(s->mhd);
                free(s);
                return -EIO;
        }
        ev_io_init(&s->io, on_io, info->epoll_fd, EV_READ);
        ev_io_init(&s->lio, on_listen, listen_fd, EV_READ);
        ev_timer_init(&s->timer, on_timer, 0., 0.);
        ev_init(&s->accept_retry, on_accept_retry);
        ev_timer_init(&s->sweep, on_sweep, 1., 1.);
        ev_idle_init(&s->kick, on_kick);
        ev_io_start(loop, &s->io);
        ev_io_start(loop, &s->lio);
        ev_timer_start(loop, &s->sweep);
        *ret = s;
        return 0;
}

nd_http_server *nd_http_server_free(nd_http_server *s) {
        if (!s)
                return NULL;
        ev_io_stop(s->loop, &s->io);
        ev_io_stop(s->loop, &s->lio);
        ev_timer_stop(s->loop, &s->timer);
        ev_timer_stop(s->loop, &s->accept_retry);
        ev_timer_stop(s->loop, &s->sweep);
        ev_idle_stop(s->loop, &s->kick);
        /* MHD must not be stopped with suspended connections: answer them,
         * and end the streams (their owners hear closed() now). */
        while (s->waiting)
                nd_http_reply_error(s->waiting, 503, "netd is shutting down");
        nd_http_streams_close(s);
        MHD_run(s->mhd);
        MHD_stop_daemon(s->mhd);
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        free(s->routes);
        free(s);
        return NULL;
}

void nd_http_server_quiesce(nd_http_server *s) {
        if (!s->quiesced) {
                /* the socket is ours: stop accepting; closed in
                 * nd_http_server_free() */
                ev_io_stop(s->loop, &s->lio);
                ev_timer_stop(s->loop, &s->accept_retry);
                s->quiesced = true;
        }
}

unsigned nd_http_server_pending(const nd_http_server *s) {
        return s->pending;
}

json_t *nd_http_server_status(const nd_http_server *s) {
        if (!s)
                return NULL;
        return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "Connections", (json_int_t) s->n_conns, "MaxConnections",
                         (json_int_t) s->cfg.max_connections, "Accepted", (json_int_t) s->accepted, "AcceptErrors",
                         (json_int_t) s->accept_errors, "Evicted", (json_int_t) s->evicted, "Refused",
                         (json_int_t) s->refused, "TimedOut", (json_int_t) s->timed_out);
}

const char *nd_http_request_method(const nd_http_request *r) { return r->method; }
const char *nd_http_request_path(const nd_http_request *r) { return r->path; }

const char *nd_http_request_query(const nd_http_request *r, const char *key) {
        return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *nd_http_request_body(const nd_http_request *r, size_t *ret_len) {
        if (ret_len)
                *ret_len = r->body_len;
        return r->body ? r->body : "";
}

void nd_http_reply(nd_http_request *r, unsigned status, const char *content_type, char *body, size_t len) {
        if (r->reply) {
                free(body);
                return;
        }
        r->reply = MHD_create_response_from_buffer(len, body ? body : (char *) "",
                                                   body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!r->reply) {
                free(body);
                return;
        }
        if (content_type && len)
                MHD_add_response_header(r->reply, "Content-Type", content_type);
        MHD_add_response_header(r->reply, "Server", "netd/" ND_VERSION);
        r->status = status;
        nd_http_reply_resume(r);
}

void nd_http_reply_resume(nd_http_request *r) {
        if (r->suspended) {
                r->suspended = false;
                r->server->pending--;
                *r->prevp = r->next;
                if (r->next)
                        r->next->prevp = r->prevp;
                MHD_resume_connection(r->conn);
                /* MHD picks the resumed connection up on its next run;
                 * make sure there is one soon. */
                ev_idle_start(r->server->loop, &r->server->kick);
        }
}

void nd_http_reply_header(nd_http_request *r, const char *name, const char *value) {
        if (r->reply)
                MHD_add_response_header(r->reply, name, value);
}

void nd_http_reply_json(nd_http_request *r, unsigned status, json_t *j) {
        char *s = NULL;
        if (j) {
                s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
                json_decref(j);
                if (!s) {
                        nd_http_reply_error(r, 500, "out of memory");
                        return;
                }
                size_t n = strlen(s);
                char *t = realloc(s, n + 2);
                if (t) {
                        s = t;
                        s[n++] = '\n';
                        s[n] = 0;
                }
                nd_http_reply(r, status, "application/json", s, n);
                return;
        }
        nd_http_reply(r, status, NULL, NULL, 0);
}

void nd_http_reply_error(nd_http_request *r, unsigned status, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        nd_http_reply_json(r, status, json_pack("{s:s}", "message", msg));
}

void nd_http_metrics(nd_http_server *const *servers, const char *const *names, size_t n, nd_expo *e) {
        char l[256], code[8];
        nd_expo_family(e, "netd_http_requests_total", "counter", "HTTP requests answered, by server, method, route and status.");
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; servers[i] && k < servers[i]->n_routes; k++) {
                        const struct route_stat *st = &servers[i]->routes[k];
                        for (size_t c = 0; c < ROUTE_CODES && st->codes[c].code; c++) {
                                snprintf(code, sizeof(code), "%u", st->codes[c].code);
                                nd_expo_sample(e, "netd_http_requests_total",
                                               nd_expo_labels(l, sizeof(l), 4, "server", names[i], "method", st->method,
                                                              "route", st->route, "code", code),
                                               (double) st->codes[c].n);
                        }
                }
        nd_expo_family(e, "netd_http_request_duration_seconds", "histogram",
                       "Time from a request's head to its reply, by server, method and route.");
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; servers[i] && k < servers[i]->n_routes; k++)
                        nd_expo_hist(e, "netd_http_request_duration_seconds",
                                     nd_expo_labels(l, sizeof(l), 3, "server", names[i], "method",
                                                    servers[i]->routes[k].method, "route", servers[i]->routes[k].route),
                                     &servers[i]->routes[k].lat);
        static const struct {
                const char *name, *type, *help;
                size_t off;
        } f[] = {
                { "netd_http_connections", "gauge", "Open client connections.", 0 },
                { "netd_http_accept_errors_total", "counter", "Accepts that failed for want of descriptors or memory.",
                  offsetof(nd_http_server, accept_errors) },
                { "netd_http_evicted_total", "counter", "Connections closed to make room for a new client.",
                  offsetof(nd_http_server, evicted) },
                { "netd_http_refused_total", "counter", "Connections refused (per-client cap, or full).",
                  offsetof(nd_http_server, refused) },
                { "netd_http_timed_out_total", "counter", "Connections closed for a request head or body too slow.",
                  offsetof(nd_http_server, timed_out) },
        };
        for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
                nd_expo_family(e, f[j].name, f[j].type, f[j].help);
                for (size_t i = 0; i < n; i++)
                        if (servers[i])
                                nd_expo_sample(e, f[j].name, nd_expo_labels(l, sizeof(l), 1, "server", names[i]),
                                               j == 0 ? (double) servers[i]->n_conns
                                                      : (double) *(const uint64_t *) ((const char *) servers[i] + f[j].off));
        }
}

/* ---- query parameters ---------------------------------------------------- */

struct query_all {
        const char *key;
        const char **ret;
        size_t max, n;
};

static enum MHD_Result query_each(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        struct query_all *q = cls;
        if (strcmp(key, q->key) == 0) {
                if (q->n < q->max)
                        q->ret[q->n] = value ? value : "";
                q->n++;
        }
        return MHD_YES;
}

size_t nd_http_request_query_all(const nd_http_request *r, const char *key, const char **ret, size_t max) {
        struct query_all q = { .key = key, .ret = ret, .max = max };
        (void) MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_each, &q);
        return q.n;
}

struct query_unknown {
        const char *const *known;
        const char *found;
};

static enum MHD_Result query_check(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        struct query_unknown *q = cls;
        for (const char *const *k = q->known; *k; k++)
                if (strcmp(*k, key) == 0)
                        return MHD_YES;
        q->found = key;
        return MHD_NO;
}

const char *nd_http_request_query_unknown(const nd_http_request *r, const char *const *known) {
        struct query_unknown q = { .known = known };
        (void) MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_check, &q);
        return q.found;
}
