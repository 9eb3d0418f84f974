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
