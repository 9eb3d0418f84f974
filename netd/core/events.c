/* SPDX-License-Identifier: Apache-2.0 */
/* The event bus; see events.h. */
#include <errno.h>
#include <ev.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"

static const char *const type_names[] = { "container", "network", "endpoint", "service", "node", "firewall" };
#define N_TYPES ELEMENTSOF(type_names)

struct nd_event_sub {
        nd_events *bus;
        nd_event_sub *prev, *next;
        nd_event_filter f;
        uint64_t cursor;          /* the next event to offer */
        int64_t since_ns, until_ns;
        bool caught_up;           /* has reached the newest event once */
        ev_timer until;
        const nd_event_sink_ops *ops;
        void *userdata;
};

struct nd_events {
        struct ev_loop *loop;
        char *node;
        nd_event_ring ring;
        nd_event_sub *subs;
        size_t n_subs;
        uint64_t by_type[N_TYPES + 1]; /* the last: other */
        uint64_t dropped;
};

static int64_t wall_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int nd_events_new(struct ev_loop *loop, const char *node, size_t history, nd_events **ret) {
        char host[65] = "";
        nd_events *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->loop = loop;
        if (!node)
                (void) gethostname(host, sizeof(host) - 1);
        b->node = strdup(node ? node : host);
        if (!b->node || nd_event_ring_init(&b->ring, history ? history : ND_EVENTS_HISTORY) < 0) {
                free(b->node);
                free(b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

static void sub_unlink(nd_event_sub *s) {
        nd_events *b = s->bus;
        ev_timer_stop(b->loop, &s->until);
        if (s->prev)
                s->prev->next = s->next;
        else
                b->subs = s->next;
        if (s->next)
                s->next->prev = s->prev;
        b->n_subs--;
        nd_event_filter_done(&s->f);
        free(s);
}

void nd_event_sub_free(nd_event_sub *s) {
        if (s)
                sub_unlink(s);
}

static void sub_end(nd_event_sub *s, const char *last, size_t len) {
        s->ops->end(s->userdata, last, len);
        sub_unlink(s);
}

/* The error line a dropped subscriber gets last. */
static void sub_drop(nd_event_sub *s, const char *why) {
        nd_events *b = s->bus;
        int64_t now = wall_ns();
        b->dropped++;
        nd_log(LOG_INFO, "events: subscriber dropped", "reason=\"%s\"", why);
        _cleanup_json_ json_t *ev = nd_event_new(now, "error", "dropped", "", NULL,
                                                 json_pack("{s:s}", "message", why), b->node);
        _cleanup_free_ char *s1 = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        _cleanup_free_ char *line = NULL;
        if (s1 && asprintf(&line, "%s\n", s1) < 0)
                line = NULL;
        sub_end(s, line, line ? strlen(line) : 0);
}

/* Offer @s what it has not seen; false when it ended. */
static bool sub_pump(nd_event_sub *s) {
        nd_events *b = s->bus;
        for (;;) {
                if (s->cursor < nd_event_ring_first_seq(&b->ring)) {
                        sub_drop(s, "fell behind the event history (client too slow)");
                        return false;
                }
                const nd_event_entry *e = nd_event_ring_get(&b->ring, s->cursor);
                if (!e) {
                        s->caught_up = true;
                        if (s->until_ns != INT64_MAX && wall_ns() >= s->until_ns) {
                                sub_end(s, NULL, 0);
                                return false;
                        }
                        return true;
                }
                if (e->time_ns > s->until_ns) {
                        sub_end(s, NULL, 0);
                        return false;
                }
                if (e->time_ns >= s->since_ns && nd_event_filter_match(&s->f, e->ev)) {
                        if (s->ops->room(s->userdata) < e->len) {
                                if (!s->caught_up)
                                        return true; /* replaying: wait for room */
                                sub_drop(s, "client not reading: its event buffer is full");
                                return false;
                        }
                        s->ops->write(s->userdata, e->line, e->len);
                }
                s->cursor++;
        }
}

void nd_event_sub_pump(nd_event_sub *s) {
        (void) sub_pump(s);
}

static void on_until(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_event_sub *s = container_of(w, nd_event_sub, until);
        /* the history may still hold events for it: those first */
        if (sub_pump(s))
                sub_end(s, NULL, 0);
}

int nd_events_subscribe(nd_events *b, nd_event_filter *f, int64_t since_ns, int64_t until_ns,
                        const nd_event_sink_ops *ops, void *userdata, nd_event_sub **ret) {
        if (b->n_subs >= ND_EVENTS_SUBSCRIBERS_MAX)
                return -EBUSY;
        nd_event_sub *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (nd_event_sub) { .bus = b, .f = *f, .since_ns = since_ns, .until_ns = until_ns, .ops = ops, .userdata = userdata,
                              .next = b->subs };
        *f = (nd_event_filter) {};
        s->cursor = since_ns == INT64_MIN ? b->ring.next_seq : nd_event_ring_find(&b->ring, since_ns);
        if (b->subs)
                b->subs->prev = s;
        b->subs = s;
        b->n_subs++;
        ev_init(&s->until, on_until);
        if (until_ns != INT64_MAX) {
                double after = (double) (until_ns - wall_ns()) / 1e9;
                ev_timer_set(&s->until, after > 0 ? after : 0., 0.);
                ev_timer_start(b->loop, &s->until);
        }
        *ret = sub_pump(s) ? s : NULL;
        return 0;
}

nd_events *nd_events_free(nd_events *b) {
        if (!b)
                return NULL;
        while (b->subs)
                sub_end(b->subs, NULL, 0);
        nd_event_ring_done(&b->ring);
        free(b->node);
        free(b);
        return NULL;
}

void nd_events_emit(nd_events *b, const char *type, const char *action, const char *id, const char *name,
                    json_t *attrs, const char *node) {
        if (!b) {
                json_decref(attrs);
                return;
        }
        int64_t now = wall_ns();
        size_t t = 0;
        while (t < N_TYPES && strcmp(type, type_names[t]) != 0)
                t++;
        b->by_type[t]++;
        if (!nd_event_ring_push(&b->ring, nd_event_new(now, type, action, id, name, attrs, node ? node : b->node), now))
                return;
        for (nd_event_sub *s = b->subs, *next; s; s = next) {
                next = s->next;
                (void) sub_pump(s);
        }
}

void nd_events_metrics(const nd_events *b, struct nd_expo *e) {
        char l[128];
        nd_expo_family(e, "netd_events_total", "counter", "Events reported (GET /v1/events), by type.");
        for (size_t t = 0; t < N_TYPES; t++)
                nd_expo_sample(e, "netd_events_total", nd_expo_labels(l, sizeof(l), 1, "type", type_names[t]),
                               b ? (double) b->by_type[t] : 0);
        nd_expo_family(e, "netd_event_subscribers", "gauge", "Clients following GET /v1/events.");
        nd_expo_sample(e, "netd_event_subscribers", NULL, b ? (double) b->n_subs : 0);
        nd_expo_family(e, "netd_event_subscribers_dropped_total", "counter",
                       "Event subscribers dropped for not reading (their buffer full, or behind the history).");
        nd_expo_sample(e, "netd_event_subscribers_dropped_total", NULL, b ? (double) b->dropped : 0);
}
