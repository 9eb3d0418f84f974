/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file http-internal.h
 * The HTTP server's state, shared by its two parts and by nothing else:
 *   http.c         the server: connections and their limits, requests,
 *                  replies made at once, routes and their metrics
 *   http-stream.c  streamed replies (nd_http_reply_stream and its calls)
 * Everything runs on the loop.
 */
#pragma once

#include <ev.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"

struct hconn;
struct route_stat;

struct nd_http_server {
        struct ev_loop *loop;
        struct MHD_Daemon *mhd;
        int listen_fd;
        ev_io io;
        ev_io lio;                /* the listening socket */
        ev_timer timer;
        ev_timer accept_retry, sweep;
        ev_idle kick;
        double backoff;
        nd_http_config cfg;
        nd_http_handler_fn fn;
        void *userdata;
        unsigned pending;
        bool quiesced;
        nd_http_request *waiting;  /* suspended requests */
        struct hconn *conns;
        unsigned n_conns;
        uint64_t accepted, accept_errors, evicted, refused, timed_out;
        struct route_stat *routes;
        size_t n_routes;
        nd_http_stream *streams;  /* streamed replies in progress */
};

enum req_state { REQ_READING, REQ_TOO_LARGE, REQ_WAITING, REQ_REPLIED };

struct nd_http_request {
        nd_http_server *server;
        struct MHD_Connection *conn;
        enum req_state state;
        bool suspended;
        char *method, *path;
        char *body;
        size_t body_len;
        struct MHD_Response *reply;
        unsigned status;
        double t0;                /* the request head arrived */
        double t_stream;          /* a streamed reply began (0: not one) */
        nd_http_request *next, **prevp;
};

/* http.c: a suspended request whose reply is ready goes back to
 * libmicrohttpd (nothing for a request that was not suspended). */
void nd_http_reply_resume(nd_http_request *r);

/* http-stream.c: at the server's end, every stream's owner hears
 * closed() and each stream ends with an error (MHD then frees it). */
void nd_http_streams_close(nd_http_server *s);
