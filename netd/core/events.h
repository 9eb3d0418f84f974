/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file events.h
 * The event bus (docs/observability.md, "Events"): the core and the
 * layers below it (through hooks the core registers) report what
 * happened; subscribers (GET /v1/events) get it as one JSON line per
 * event (event.h), filtered, after a replay of the history they ask for.
 *
 * Invariants:
 *  - emitting never blocks and never waits for a subscriber: an event is
 *    put into the history (the last ND_EVENTS_HISTORY, shared by all) and
 *    each subscriber is offered what fits its sink;
 *  - a subscriber's backlog is bounded by its sink (sink->room): while it
 *    replays the history it waits for room, but once it has caught up, a
 *    new event that does not fit drops it, and so does falling out of the
 *    history; a dropped subscriber ends with a final error line
 *    ({"type":"error","action":"dropped",...});
 *  - the sink is called only from nd_events_emit(), nd_event_sub_pump()
 *    and the subscription's until timer; end() is its last call, after
 *    which the subscription is freed by the bus.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define ND_EVENTS_HISTORY 1024
#define ND_EVENTS_SUBSCRIBERS_MAX 256

struct ev_loop;
struct nd_expo;
typedef struct nd_events nd_events;
typedef struct nd_event_sub nd_event_sub;

typedef struct nd_event_sink_ops {
        /* bytes the sink takes now */
        size_t (*room)(void *userdata);
        /* @len <= room() */
        void (*write)(void *userdata, const char *p, size_t len);
        /* The subscription ended: its until passed (@last NULL), it was
         * dropped (@last: the error line, to be sent even beyond room()),
         * or the bus goes.  The subscription is freed after this. */
        void (*end)(void *userdata, const char *last, size_t len);
} nd_event_sink_ops;

/* @node names this host in its events (NULL: the host name). */
int nd_events_new(struct ev_loop *loop, const char *node, size_t history, nd_events **ret);
/* Ends every subscription (their end() with NULL). */
nd_events *nd_events_free(nd_events *b);

/* Report an event of @type: @attrs (string values) is taken, NULL for
 * none; @node NULL is this host.  No-op for a NULL @b. */
void nd_events_emit(nd_events *b, const char *type, const char *action, const char *id, const char *name,
                    json_t *attrs, const char *node);

/* Subscribe with @f (its values taken, @f left empty): the history from
 * @since_ns (INT64_MIN: none, only what comes next), then new events up
 * to @until_ns (INT64_MAX: no end).  The sink is first called from here.
 * -EBUSY at ND_EVENTS_SUBSCRIBERS_MAX, -ENOMEM.  On success *ret may
 * already be gone (ended from here): do not use it after end(). */
int nd_events_subscribe(nd_events *b, nd_event_filter *f, int64_t since_ns, int64_t until_ns,
                        const nd_event_sink_ops *ops, void *userdata, nd_event_sub **ret);
/* The sink has room again. */
void nd_event_sub_pump(nd_event_sub *s);
/* The sink went (client closed): no more calls, not even end(). */
void nd_event_sub_free(nd_event_sub *s);

/* netd_events_total{type}, netd_event_subscribers,
 * netd_event_subscribers_dropped_total. */
void nd_events_metrics(const nd_events *b, struct nd_expo *e);
