/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file api.h
 * The /v1 REST API on the daemon socket (documented in docs/api.md).
 */
#pragma once

#include "nd-forward.h"

#include <jansson.h>
#include <stddef.h>

/* What the /v1 API serves beyond the core: given by the daemon, which
 * owns the servers and the process. */
typedef struct nd_api_hooks {
        nd_manager *m;
        /* GET /metrics: the whole exposition (malloc'd), NULL: no memory. */
        char *(*metrics)(void *userdata, size_t *ret_len);
        /* "Api" in /v1/info: the API server's counters and fd limit. */
        json_t *(*server_status)(void *userdata);
        /* "Loop" in /v1/info: the event loop's lag, last and recent max;
         * NULL: no "Loop". */
        json_t *(*loop_status)(void *userdata);
        void *userdata;
} nd_api_hooks;

/* nd_http_handler_fn; @userdata is an nd_api_hooks. */
void nd_api_handle(nd_http_request *req, void *userdata);
/* The --metrics-addr server: GET /metrics only (@userdata as above). */
void nd_api_metrics_handle(nd_http_request *req, void *userdata);
/* The network part of the Docker Engine API (docker-api.c); @userdata is
 * the nd_manager. */
void nd_docker_api_handle(nd_http_request *req, void *userdata);
/* Reply with @d's message (or strerror) and nd_api_status(@r). */
void nd_api_reply_diag(nd_http_request *req, int r, const struct nd_diag *d);
/* -errno -> HTTP status: 400 bad input, 404 unknown, 409 conflict, 500. */
unsigned nd_api_status(int r);
/* 405 naming the methods @allow-ed. */
void nd_api_method_not_allowed(nd_http_request *req, const char *allow);
/* GET /v1/events (api-events.c): a chunked stream of JSON lines. */
void nd_api_get_events(nd_manager *m, nd_http_request *req);
/* /v1/services[/REF] (api-services.c); @seg are the path's @ns segments. */
void nd_api_route_services(nd_manager *m, nd_http_request *req, char **seg, size_t ns);
