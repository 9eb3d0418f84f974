/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file http.h
 * HTTP/1.1 server on a listening socket, driven by the daemon's libev loop
 * (libmicrohttpd in external-epoll mode: one ev_io on its epoll fd, one
 * ev_timer for its timeouts, no threads).
 *
 * The handler is called once per request with the whole body read (bodies
 * over the configured cap are answered 413 without calling it).  It replies
 * at once or later: a request not replied to when the handler returns is
 * suspended until nd_http_reply*() is called for it, from any later loop
 * callback.  The request object stays valid until it has been replied to.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "macro.h"

struct ev_loop;
typedef struct nd_http_server nd_http_server;
typedef struct nd_http_request nd_http_request;
typedef void (*nd_http_handler_fn)(nd_http_request *req, void *userdata);

typedef struct nd_http_config {
        size_t max_body;          /* bytes; larger bodies get 413 */
        unsigned max_connections;
        unsigned idle_timeout_sec;
} nd_http_config;

/* Takes ownership of @listen_fd (a listening, non-blocking stream socket). */
int nd_http_server_new(struct ev_loop *loop, int listen_fd, const nd_http_config *cfg,
                       nd_http_handler_fn fn, void *userdata, nd_http_server **ret);
nd_http_server *nd_http_server_free(nd_http_server *s);
/* Stop accepting new connections; requests in progress continue. */
void nd_http_server_quiesce(nd_http_server *s);
/* Requests received and not yet replied to. */
unsigned nd_http_server_pending(const nd_http_server *s);
/* Connection counters: open, accepted, accept errors, evicted, refused,
 * timed out (a new reference; NULL for NULL). */
json_t *nd_http_server_status(const nd_http_server *s);
/* Prometheus families of @n servers (NULL entries skipped), labelled
 * server=@names[i]: requests by route and status with a latency
 * histogram, connections, accept errors, evictions. */
struct nd_expo;
void nd_http_metrics(nd_http_server *const *servers, const char *const *names, size_t n, struct nd_expo *e);

const char *nd_http_request_method(const nd_http_request *r);
const char *nd_http_request_path(const nd_http_request *r);
/* Query parameter value, or NULL. */
const char *nd_http_request_query(const nd_http_request *r, const char *key);
const char *nd_http_request_body(const nd_http_request *r, size_t *ret_len);

/* Takes ownership of @body (malloc'd, may be NULL with len 0). */
void nd_http_reply(nd_http_request *r, unsigned status, const char *content_type, char *body, size_t len);
/* Steals the reference to @j; NULL sends no body. */
/* An extra header on the reply just made (after nd_http_reply*). */
void nd_http_reply_header(nd_http_request *r, const char *name, const char *value);
void nd_http_reply_json(nd_http_request *r, unsigned status, json_t *j);
/* {"message": "..."} */
void nd_http_reply_error(nd_http_request *r, unsigned status, const char *fmt, ...) _printf_(3, 4);

/* Every value of query parameter @key (repeated "?k=a&k=b"), in order:
 * how many there are; at most @max stored in @ret (borrowed, valid as
 * long as the request). */
size_t nd_http_request_query_all(const nd_http_request *r, const char *key, const char **ret, size_t max);
/* The first query parameter not in @known (NULL-terminated), or NULL. */
const char *nd_http_request_query_unknown(const nd_http_request *r, const char *const *known);

/* A streamed reply: 200, chunked, its body written as it comes (GET
 * /v1/events).  At most @max bytes wait in the stream's buffer; the
 * owner checks nd_http_stream_room() before it writes and is told when
 * the client took what was there (ops->drained).  The connection has no
 * idle timeout while it streams (a quiet stream is not a dead client);
 * a client that hangs up is noticed even while nothing is sent.
 *   drained  the buffer is empty again (may write from it)
 *   closed   the client went or the server stops: the stream is freed
 *            after this, and no more calls come
 * The owner ends it with nd_http_stream_end(), after which the stream is
 * no longer the owner's and ops are not called.  NULL when out of memory
 * (the request was answered 500). */
typedef struct nd_http_stream nd_http_stream;
typedef struct nd_http_stream_ops {
        void (*drained)(void *userdata);
        void (*closed)(void *userdata);
} nd_http_stream_ops;
nd_http_stream *nd_http_reply_stream(nd_http_request *r, const char *content_type, size_t max,
                                     const nd_http_stream_ops *ops, void *userdata);
size_t nd_http_stream_room(const nd_http_stream *s);
/* Appends @len <= room bytes; -ENOBUFS beyond. */
int nd_http_stream_write(nd_http_stream *s, const char *p, size_t len);
/* Ends the body after what is buffered and @last (may be NULL; taken
 * beyond room(), the final words).  A client that takes none of it is
 * closed after the server's idle timeout. */
void nd_http_stream_end(nd_http_stream *s, const char *last, size_t len);
