/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file uclient.h
 * The clients' side of the daemon's API (netctl, netd-cni): HTTP/1.1 over a
 * unix stream socket, one request per connection, blocking, every wait
 * bounded by poll() against one deadline.  It exists so that a client that
 * sends one request costs libc and jansson, not libcurl and its ~34 TLS,
 * LDAP and Kerberos libraries.
 *
 * Invariants:
 *  - a request carries Host, Connection: close and, when it has a body or
 *    its method is not GET, Content-Length; a body sent with a content
 *    type (a JSON one always) also Content-Type;
 *  - the response is read until complete (Content-Length, chunked, or the
 *    peer's close when it has neither), never past ND_UCLIENT_HEAD_MAX bytes
 *    of head nor past the caller's body limit;
 *  - nd_uclient_parse() and nd_uclient_dechunk() are pure functions of
 *    their bytes (no I/O, no globals), so the fuzzer and the unit tests
 *    drive them directly;
 *  - a streamed reply (nd_uclient_stream) is decoded as it comes, its
 *    data handed on at once, never buffered whole;
 *  - errors come back as -errno with a message in an nd_diag, never logged.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* the head (status line and headers) of a response, and a client's default
 * body limit: netctl ps of every container fits with room to spare */
#define ND_UCLIENT_HEAD_MAX (64 * 1024)
#define ND_UCLIENT_BODY_MAX (128u * 1024 * 1024)

typedef struct nd_uclient_response {
        int status;     /* 100..599 */
        char *body;     /* decoded body, NUL-terminated (also when empty); owned */
        size_t body_len;
} nd_uclient_response;

/* Parse one HTTP/1.x response from the first @len bytes of @buf; @eof says
 * the peer closed after them.  Returns 1 when complete (fills *ret; the
 * caller frees ret->body with nd_uclient_response_done()), 0 when more bytes
 * are needed, -EPROTO when malformed (or truncated by @eof), -EFBIG when
 * the body exceeds @max_body or the head ND_UCLIENT_HEAD_MAX, -ENOMEM.
 * Interim 1xx responses are skipped, except 101 (never asked for): -EPROTO. */
int nd_uclient_parse(const char *buf, size_t len, bool eof, size_t max_body, nd_uclient_response *ret);
void nd_uclient_response_done(nd_uclient_response *r);

/* Connect to the unix socket @path within @timeout_ms.  Returns the fd
 * (blocking, close-on-exec; the caller owns it) or -errno with "cannot
 * connect to netd at PATH: REASON" in @d. */
int nd_uclient_connect(const char *path, int timeout_ms, nd_diag *d);

/* On the connected @fd (borrowed): send METHOD @target with @body (@body_len
 * bytes; NULL for none; @content_type may be NULL), read the response into
 * *ret within @timeout_ms, the body at most @max_body bytes.  Returns 0, or
 * -errno with the reason in @d ("netd closed the connection without
 * replying", "no reply within 120 s", ...). */
int nd_uclient_exchange(int fd, const char *method, const char *target, const char *content_type, const char *body,
                        size_t body_len, int timeout_ms, size_t max_body, nd_uclient_response *ret, nd_diag *d);

/* JSON in and out on the connected @fd (borrowed): @req (borrowed; NULL for
 * no body) sent compact as application/json.  Returns the HTTP status with
 * the body parsed into *ret (a new reference, NULL when the body is empty),
 * or -errno with the reason in @d; -EBADMSG "netd sent a malformed reply
 * (HTTP N): ..." when the body is not JSON. */
int nd_uclient_call_json(int fd, const char *method, const char *target, const json_t *req, int timeout_ms,
                         json_t **ret, nd_diag *d);

/* One request on a connection of its own: nd_uclient_connect() to @sock,
 * then nd_uclient_call_json().  Returns the HTTP status, or -1 when netd
 * is unreachable or the exchange failed (the reason in @d). */
long nd_uclient_call(const char *sock, const char *method, const char *target, const json_t *req, int timeout_ms,
                     json_t **ret, nd_diag *d);

/* Incremental decoding of a chunked body (RFC 9112 7.1), for replies that
 * stream.  Zero-initialise, then feed bytes as they come. */
typedef struct nd_uclient_dechunk {
        int state;
        size_t size, left, line, trailers;
        bool digits;
} nd_uclient_dechunk;
/* Decode from @in (@len bytes): data to @out (room for @len bytes: the
 * data is never longer than its framing), its length in *ret_out, the
 * bytes consumed in *ret_used.  1: the body is complete (its last chunk
 * and trailers; *ret_used may be < @len), 0: more needed, -EPROTO
 * malformed, -EFBIG a chunk size or trailers too large. */
int nd_uclient_dechunk_feed(nd_uclient_dechunk *d, const char *in, size_t len, char *out, size_t *ret_out,
                            size_t *ret_used);

/* On the connected @fd (borrowed): send METHOD @target without a body
 * and read the reply's head within @timeout_ms.  A 200 with a chunked
 * body streams: each piece of its decoded data goes to @on_data as it
 * arrives, with no deadline (a stream may be quiet for hours), until its
 * last chunk: 0 and ret->status 200, ret->body "".  @on_data returning
 * <0 stops, and that is returned.  Any other reply is read whole, as
 * nd_uclient_exchange() does (at most @max_body), into *ret: 0.  <0 with
 * the reason in @d, as nd_uclient_exchange(). */
int nd_uclient_stream(int fd, const char *method, const char *target, int timeout_ms, size_t max_body,
                      int (*on_data)(void *userdata, const char *p, size_t len), void *userdata,
                      nd_uclient_response *ret, nd_diag *d);
