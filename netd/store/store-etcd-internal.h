/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file store-etcd-internal.h
 * The etcd backend's state, shared by its parts and by nothing else:
 *   store-etcd.c        request bodies, the operations, open and close
 *   store-etcd-http.c   the transport: requests on curl-multi, the unary
 *                       FIFO, fail-over and retry, authentication
 *   store-etcd-watch.c  watch streams and their resumption
 * The ordering, fail-over and resume rules are stated in store-etcd.c.
 */
#pragma once

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

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

/* ---- store-etcd.c: request bodies ---- */

/* The end of the range that holds every key starting with @prefix
 * (base64, malloc'd), or NULL. */
char *nd_etcd_body_prefix_end(const char *prefix);
/* @s base64-encoded as a JSON string (new reference), or NULL. */
json_t *nd_etcd_body_b64(const char *s);
/* @v as a JSON string, as the gateway writes int64 fields. */
json_t *nd_etcd_body_i64(int64_t v);

/* ---- store-etcd-http.c ---- */

/* Initialise the loop watchers (before anything can fail). */
void nd_etcd_http_init(etcd *s);
/* Set up curl's multi handle on the loop.  0 or -ENOMEM. */
int nd_etcd_http_start(etcd *s);
/* A request to POST @body (borrowed, dumped now) to @path; NULL: out of memory. */
req *nd_etcd_req_new(etcd *s, req_kind kind, const char *path, json_t *body);
void nd_etcd_req_free(req *r);
int nd_etcd_req_send(req *r);
/* Queue @r: keep-alives are sent at once beside the FIFO, everything
 * else goes to the end of the unary FIFO.  Takes @r on success. */
int nd_etcd_enqueue(etcd *s, req *r);
/* Put an authentication request at the head of the FIFO (after the
 * request in flight), once; nothing without a user. */
void nd_etcd_auth_queue(etcd *s);

/* ---- store-etcd-watch.c ---- */

/* Parse and deliver what the stream of @w has received so far. */
void nd_etcd_watch_data(etcd_watch *w);
/* The stream of @w ended (@r says why): resume it after a back-off. */
void nd_etcd_watch_broken(etcd_watch *w, int r);
int nd_etcd_watch_start(nd_store *b, const char *prefix, int64_t from_rev, nd_store_watch_fn cb, void *userdata,
                        nd_store_watch **ret);
void nd_etcd_watch_cancel(nd_store_watch *b);
