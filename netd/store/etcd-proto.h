/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file etcd-proto.h
 * What etcd's JSON gateway sends back, parsed without I/O: unary replies
 * (range, txn, lease keep-alive, errors) and the watch stream, one
 * newline-terminated JSON message at a time.  store-etcd-http.c owns the
 * transfers and store-etcd-watch.c the watch state; everything here is a
 * pure function of its input, so it is fuzzed (tests/fuzz/fuzz-etcd-proto.c).
 *
 * Invariants: keys and values are base64 in the wire format and come out
 * NUL-terminated; a revision or lease accepted from the wire lies in
 * [0, INT64_MAX - 1], so "revision + 1" never overflows.  Strings of
 * parsed kvs are owned by the containing struct and freed with it.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Standard base64 with padding.  Both return malloc'd, NUL-terminated
 * text; decode returns NULL on bad input and sets *len (may be NULL). */
char *nd_etcd_b64_encode(const char *p, size_t n);
char *nd_etcd_b64_decode(const char *in, size_t *len);

/* An int64 field (proto3 JSON: a string, absent when zero); out of
 * [0, INT64_MAX - 1] reads as 0. */
int64_t nd_etcd_json_i64(const json_t *o, const char *field);

/* A kv of a reply into @kv; its strings are malloc'd into @k, @v.
 * -EBADMSG for a kv without a key or with bad base64. */
int nd_etcd_kv_from_json(const json_t *j, nd_store_kv *kv, char **k, char **v);

/* The errno of an error reply ({"error": ..., "code": N}) or of a
 * non-200 status; 0 for a success. */
int nd_etcd_reply_errno(const json_t *j, long http);
/* etcd's gRPC status code in @j as an errno. */
int nd_etcd_grpc_errno(const json_t *j);
/* etcd's answer when a token is missing, expired or unknown. */
bool nd_etcd_auth_error(const json_t *j);

/* A range reply: kvs in etcd's (key) order, the revision read at. */
typedef struct nd_etcd_range {
        nd_store_kv *kvs;
        size_t n;
        int64_t rev;
        char **strs;            /* owned: the kvs' keys and values */
} nd_etcd_range;

/* 0, or -EBADMSG / -ENOMEM with *ret empty.  Free with
 * nd_etcd_range_done(). */
int nd_etcd_parse_range(const json_t *j, nd_etcd_range *ret);
void nd_etcd_range_done(nd_etcd_range *r);

/* A txn reply: 0 and the revision, or -ECANCELED when a compare failed. */
int nd_etcd_parse_txn(const json_t *j, int64_t *ret_rev);
/* A lease keep-alive reply ({"result": {"ID", "TTL"}}): 0 and the lease,
 * or -ENOENT when the lease is gone (no TTL). */
int nd_etcd_parse_keepalive(const json_t *j, int64_t *ret_id);

/* ---- the watch stream ---- */

/* The next newline-terminated message of a stream in @p[0..n): the bytes
 * it takes (0: no complete line yet); *ret the message, or NULL for a
 * line that is not one JSON value (skipped, as etcd never sends one). */
size_t nd_etcd_stream_next(const char *p, size_t n, json_t **ret);

typedef enum nd_etcd_watch_kind {
        ND_ETCD_WATCH_RESULT,     /* events (maybe none), maybe "created" */
        ND_ETCD_WATCH_ERROR,      /* {"error": ...}: auth and/or compacted */
        ND_ETCD_WATCH_COMPACTED,  /* cancelled at a compacted revision */
        ND_ETCD_WATCH_CANCELED,   /* cancelled for another reason */
} nd_etcd_watch_kind;

typedef struct nd_etcd_watch_event {
        nd_store_event ev;
        bool last_of_rev;       /* the next event (if any) has a later revision */
} nd_etcd_watch_event;

typedef struct nd_etcd_watch_msg {
        nd_etcd_watch_kind kind;
        bool auth;              /* ERROR: a token problem */
        bool stale;             /* ERROR: the revision was compacted */
        bool created;
        int64_t rev;            /* the header's revision */
        const char *cancel_reason; /* borrowed from the message */
        nd_etcd_watch_event *events; /* events whose kv parsed, in order */
        size_t n_events;
        char **strs;            /* owned */
} nd_etcd_watch_msg;

/* One parsed message of the stream; 0 or -ENOMEM.  Free with
 * nd_etcd_watch_msg_done(); @j must outlive *ret (cancel_reason). */
int nd_etcd_parse_watch(const json_t *j, nd_etcd_watch_msg *ret);
void nd_etcd_watch_msg_done(nd_etcd_watch_msg *m);
