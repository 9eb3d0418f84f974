/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file event.h
 * Events as `GET /v1/events` streams them (docs/observability.md), the
 * filters a client asks for, and the bounded history they are replayed
 * from.  Pure: no I/O, no loop, no clock (times are passed in), fuzzable.
 *
 * An event is a JSON object modelled on `docker events`:
 *   {"time": S, "timeNano": NS, "type": T, "action": A,
 *    "actor": {"id": ID, "name": NAME, "attributes": {...}}, "node": HOST}
 *
 * Filters: keys type, event, network, container, node, service.  Values
 * of one key are ORed, keys are ANDed, as Docker's.  Matching:
 *   type       the event's type;
 *   event      its action, or the part of it before ':' ("health_status"
 *              matches "health_status: healthy");
 *   network    a network event's actor (id, id prefix of 12+ or name), or
 *              the "network"/"networkId" attribute of any other;
 *   container  a container event's actor, or the "container"/
 *              "containerName" attribute of any other;
 *   service    a service event's actor, or the "service" attribute;
 *   node       the event's node.
 * Each key holds at most ND_EVENT_FILTER_VALUES values of at most
 * ND_EVENT_FILTER_VALUE_MAX bytes; more is -E2BIG with a message.
 *
 * The ring keeps the last @cap events in order of a sequence number that
 * only grows; times never go backwards in it (a clock step back is
 * clamped), so a time lookup is a binary search.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define ND_EVENT_FILTER_VALUES 16
#define ND_EVENT_FILTER_VALUE_MAX 256

typedef enum nd_event_key {
        ND_EVENT_KEY_TYPE,
        ND_EVENT_KEY_EVENT,
        ND_EVENT_KEY_NETWORK,
        ND_EVENT_KEY_CONTAINER,
        ND_EVENT_KEY_SERVICE,
        ND_EVENT_KEY_NODE,
        _ND_EVENT_KEY_MAX,
        _ND_EVENT_KEY_INVALID = -EINVAL,
} nd_event_key;

/* The event types netd emits ("container", "network", "endpoint",
 * "service", "node", "firewall"): a type filter names one of them. */
bool nd_event_type_valid(const char *type);

typedef struct nd_event_filter {
        char *values[_ND_EVENT_KEY_MAX][ND_EVENT_FILTER_VALUES];
        size_t n[_ND_EVENT_KEY_MAX];
} nd_event_filter;

/* Add @value to @key ("type", ..., as the query parameters name them):
 * 0, or -EINVAL (unknown key, unknown type, empty or control characters),
 * -E2BIG, -ENOMEM with @d's message. */
int nd_event_filter_add(nd_event_filter *f, const char *key, const char *value, nd_diag *d);
/* Docker's form: {"type":["container"],"event":{"start":true}} (a list
 * of values, or an object whose keys with value true are). */
int nd_event_filter_add_json(nd_event_filter *f, const char *json, size_t len, nd_diag *d);
void nd_event_filter_done(nd_event_filter *f);
bool nd_event_filter_match(const nd_event_filter *f, const json_t *ev);

/* since/until: unix seconds with an optional fraction ("1700000000.5"),
 * RFC 3339 ("2024-05-01T10:00:00Z", "...+02:00", fractions allowed), or
 * a duration before @now_ns ("90s", "10m", "2h", as `docker events
 * --since 10m`), into nanoseconds since the epoch.  0 or -EINVAL with
 * @d's message. */
int nd_event_time_parse(const char *s, int64_t now_ns, int64_t *ret_ns, nd_diag *d);

/* A new event (a new reference): @attrs is taken (NULL: none); @name and
 * @node may be NULL (left out). */
json_t *nd_event_new(int64_t time_ns, const char *type, const char *action, const char *id, const char *name,
                     json_t *attrs, const char *node);

/* ---- the history ---- */
typedef struct nd_event_entry {
        uint64_t seq;
        int64_t time_ns;
        json_t *ev;               /* owned */
        char *line;               /* the compact JSON and a newline; owned */
        size_t len;
} nd_event_entry;

typedef struct nd_event_ring {
        nd_event_entry *e;
        size_t cap, n, head;      /* head: the slot of the oldest */
        uint64_t next_seq;        /* the sequence number the next push gets */
        int64_t last_ns;
} nd_event_ring;

/* @cap >= 1; -ENOMEM. */
int nd_event_ring_init(nd_event_ring *r, size_t cap);
void nd_event_ring_done(nd_event_ring *r);
/* Appends @ev (taken, also on failure), its time clamped to the last
 * one's; the oldest goes when full.  Returns the entry (borrowed, valid
 * until @cap more pushes), NULL when out of memory. */
const nd_event_entry *nd_event_ring_push(nd_event_ring *r, json_t *ev, int64_t time_ns);
/* The entry with sequence number @seq, NULL when it is gone or not yet. */
const nd_event_entry *nd_event_ring_get(const nd_event_ring *r, uint64_t seq);
/* The sequence number of the oldest event at or after @since_ns (the
 * next one to come when none is). */
uint64_t nd_event_ring_find(const nd_event_ring *r, int64_t since_ns);
uint64_t nd_event_ring_first_seq(const nd_event_ring *r);
