/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file api.h
 * The /v1 REST API on the daemon socket (documented in docs/api.md).
 */
#pragma once

#include "nd-forward.h"

/* nd_http_handler_fn; @userdata is the nd_manager. */
void nd_api_handle(nd_http_request *req, void *userdata);
/* The --metrics-addr server: GET /metrics only. */
void nd_api_metrics_handle(nd_http_request *req, void *userdata);
/* The network part of the Docker Engine API (docker-api.c). */
void nd_docker_api_handle(nd_http_request *req, void *userdata);
/* Reply with @d's message (or strerror) and nd_api_status(@r). */
void nd_api_reply_diag(nd_http_request *req, int r, const struct nd_diag *d);
/* -errno -> HTTP status: 400 bad input, 404 unknown, 409 conflict, 500. */
unsigned nd_api_status(int r);
