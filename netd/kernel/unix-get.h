/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file unix-get.h
 * One HTTP/1.0 GET over a unix socket, on the event loop: for asking
 * dockerd's API a question (core/docker-names.c).  HTTP/1.0 makes the server
 * close after the answer and send it unchunked; the answer is capped at
 * 8 MiB.  Non-blocking throughout; the callback runs exactly once (unless
 * the request is cancelled), on the loop, never from inside
 * nd_unix_get_start().
 */
#pragma once

#include <stddef.h>

struct ev_loop;
typedef struct nd_unix_get nd_unix_get;
/* @status: the HTTP status, or -errno (connect, timeout, malformed). */
typedef void (*nd_unix_get_fn)(void *userdata, int status, const char *body, size_t len);

/* *@ret (may be NULL) is valid until the callback returns or
 * nd_unix_get_cancel(). */
int nd_unix_get_start(struct ev_loop *loop, const char *socket_path, const char *path, double timeout,
                      nd_unix_get_fn cb, void *userdata, nd_unix_get **ret);
/* Drop it: no callback. */
void nd_unix_get_cancel(nd_unix_get *g);
