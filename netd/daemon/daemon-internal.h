/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file daemon-internal.h
 * The daemon's state, shared by daemon.c (sockets, start-up order,
 * signals) and metrics-collect.c (the process, the loop and the servers'
 * metrics).  Private to daemon/.
 */
#pragma once

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api.h"
#include "daemon.h"
#include "http.h"

/* Seconds over which /v1/info's "Loop.LagMaxSeconds" is the maximum. */
#define ND_DAEMON_LAG_WINDOW 60

struct nd_daemon {
        struct ev_loop *loop;
        nd_manager *m;
        nd_api_hooks api;
        char *socket_path, *docker_socket, *plugin_socket, *metrics_addr;
        size_t max_body;
        nd_http_server *http;         /* the /v1 API */
        nd_http_server *docker_http;  /* --docker-api-socket */
        nd_http_server *plugin_http;  /* --docker-plugin-socket */
        nd_http_server *metrics_http; /* --metrics-addr */
        ev_timer lag_timer;           /* event-loop lag, for the metrics */
        double lag_due;
        struct nd_hist *lag;
        double lag_last;                        /* the latest lag, for /v1/info */
        double lag_max[ND_DAEMON_LAG_WINDOW];   /* the worst lag of each second, a ring */
        long long lag_sec[ND_DAEMON_LAG_WINDOW]; /* the second each slot holds */
        ev_signal sig_term, sig_int;
        ev_timer drain;
        double drain_start;
        ev_timer idle;                /* --exit-when-idle */
        unsigned exit_when_idle;
        double idle_since;            /* 0: busy at the last check */
        char *state_dir;
        unsigned long state_ino, state_dev; /* the state dir at start, 0: unknown */
        int start_r;
        bool started;
};

/* metrics-collect.c */
int nd_daemon_metrics_start(nd_daemon *d);
void nd_daemon_metrics_stop(nd_daemon *d);
/* nd_api_hooks.metrics: @userdata is the nd_daemon. */
char *nd_daemon_metrics(void *userdata, size_t *ret_len);
/* nd_api_hooks.loop_status: {"LagSeconds", "LagMaxSeconds",
 * "WindowSeconds"}; @userdata is the nd_daemon. */
json_t *nd_daemon_loop_status(void *userdata);
