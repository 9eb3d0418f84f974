/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v1/events (docs/api.md "Events"): the event bus (events.h) as a
 * chunked stream of JSON lines.  The bus's sink is the HTTP stream: its
 * buffer is the subscriber's bound (EVENTS_CLIENT_BUFFER), so a client
 * that stops reading is dropped with a final error line instead of
 * holding memory or the loop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "diag.h"
#include "event.h"
#include "events.h"
#include "http.h"
#include "macro.h"
#include "manager.h"

/* a client's unread events once it has caught up (about 200 events) */
#define EVENTS_CLIENT_BUFFER (64 * 1024)

struct evclient {
        nd_http_stream *st;
        nd_event_sub *sub;
};

static size_t sink_room(void *userdata) {
        struct evclient *c = userdata;
        return nd_http_stream_room(c->st);
}

static void sink_write(void *userdata, const char *p, size_t len) {
        struct evclient *c = userdata;
        (void) nd_http_stream_write(c->st, p, len);
}

/* The bus ended it (until, dropped, shutdown): the stream ends after the
 * last line, and the client record goes. */
static void sink_end(void *userdata, const char *last, size_t len) {
        struct evclient *c = userdata;
        nd_http_stream_end(c->st, last, len);
        free(c);
}

static const nd_event_sink_ops sink_ops = {
        .room = sink_room,
        .write = sink_write,
        .end = sink_end,
};

static void stream_drained(void *userdata) {
        struct evclient *c = userdata;
        if (c->sub)
                nd_event_sub_pump(c->sub); /* may end it: @c is then gone */
}

/* The client went (or the server stops): unsubscribe. */
static void stream_closed(void *userdata) {
        struct evclient *c = userdata;
        nd_event_sub_free(c->sub);
        free(c);
}

static const nd_http_stream_ops stream_ops = {
        .drained = stream_drained,
        .closed = stream_closed,
};

static int64_t wall_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int parse_query(nd_http_request *req, nd_event_filter *f, int64_t *since, int64_t *until, nd_diag *d) {
        static const char *const keys[] = { "type", "event", "network", "container", "service", "node" };
        static const char *const known[] = { "type",    "event",   "network", "container", "service",
                                             "node",    "filters", "since",   "until",     NULL };
        const char *v[ND_EVENT_FILTER_VALUES + 1], *s;
        int64_t now = wall_ns();
        int r;

        if ((s = nd_http_request_query_unknown(req, known)))
                return nd_diag_set(d, -EINVAL, "unknown parameter '%.64s' (type, event, network, container, service, "
                                   "node, filters, since, until)", s);

        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                size_t n = nd_http_request_query_all(req, keys[k], v, ELEMENTSOF(v));
                if (n > ND_EVENT_FILTER_VALUES)
                        return nd_diag_set(d, -E2BIG, "event filter %s: more than %d values", keys[k],
                                           ND_EVENT_FILTER_VALUES);
                for (size_t i = 0; i < n; i++)
                        if ((r = nd_event_filter_add(f, keys[k], v[i], d)) < 0)
                                return r;
        }
        if ((s = nd_http_request_query(req, "filters")) && (r = nd_event_filter_add_json(f, s, strlen(s), d)) < 0)
                return r;
        *since = INT64_MIN;
        *until = INT64_MAX;
        if ((s = nd_http_request_query(req, "since")) && (r = nd_event_time_parse(s, now, since, d)) < 0)
                return r;
        if ((s = nd_http_request_query(req, "until")) && (r = nd_event_time_parse(s, now, until, d)) < 0)
                return r;
        if (*until != INT64_MAX && *since != INT64_MIN && *until < *since)
                return nd_diag_set(d, -EINVAL, "until is before since");
        return 0;
}

void nd_api_get_events(nd_manager *m, nd_http_request *req) {
        nd_event_filter f = {0};
        int64_t since, until;
        nd_diag d = {0};
        int r;

        r = parse_query(req, &f, &since, &until, &d);
        if (r < 0) {
                nd_event_filter_done(&f);
                return nd_api_reply_diag(req, r, &d);
        }
        struct evclient *c = calloc(1, sizeof(*c));
        if (!c) {
                nd_event_filter_done(&f);
                return nd_http_reply_error(req, 500, "out of memory");
        }
        nd_events *bus = nd_manager_events(m);
        if (!bus) {
                free(c);
                nd_event_filter_done(&f);
                return nd_http_reply_error(req, 503, "no event bus");
        }
        /* (a full bus is answered before the stream starts) */
        c->st = nd_http_reply_stream(req, "application/json", EVENTS_CLIENT_BUFFER, &stream_ops, c);
        if (!c->st) {
                free(c);
                nd_event_filter_done(&f);
                return;
        }
        nd_event_sub *sub = NULL;
        r = nd_events_subscribe(bus, &f, since, until, &sink_ops, c, &sub);
        nd_event_filter_done(&f);
        if (r < 0) {
                /* the 200 is on its way: say why in the stream, and end */
                char line[160];
                int n = snprintf(line, sizeof(line),
                                 "{\"type\":\"error\",\"action\":\"refused\",\"actor\":{\"id\":\"\",\"attributes\":"
                                 "{\"message\":\"%s\"}}}\n",
                                 r == -EBUSY ? "too many event subscribers" : "out of memory");
                nd_http_stream_end(c->st, line, (size_t) n);
                free(c);
                return;
        }
        /* NULL: it ended already (until in the past), and @c with it */
        if (sub)
                c->sub = sub;
}
