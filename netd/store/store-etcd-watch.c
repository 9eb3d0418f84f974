/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The etcd backend's watches: one long-lived stream per watch, its
 * newline-delimited messages parsed as they arrive, each revision
 * delivered once, and a broken stream resumed from the next revision
 * with back-off.
 */
#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd-proto.h"
#include "log.h"
#include "macro.h"
#include "store-etcd-internal.h"

static int watch_connect(etcd_watch *w) {
        json_t *cr = json_pack("{s:o}", "key", nd_etcd_body_b64(w->prefix));
        char *end = nd_etcd_body_prefix_end(w->prefix);
        if (!cr || !end) {
                free(end);
                json_decref(cr);
                return -ENOMEM;
        }
        json_object_set_new(cr, "range_end", json_string(end));
        free(end);
        if (w->next_rev > 0)
                json_object_set_new(cr, "start_revision", nd_etcd_body_i64(w->next_rev));
        json_t *body = json_pack("{s:o}", "create_request", cr);
        req *r = body ? nd_etcd_req_new(w->s, REQ_WATCH, "/v3/watch", body) : NULL;
        json_decref(body);
        if (!r)
                return -ENOMEM;
        r->watch = w;
        int e = nd_etcd_req_send(r);
        if (e < 0) {
                nd_etcd_req_free(r);
                return e;
        }
        w->r = r;
        return 0;
}

static void watch_again(struct ev_loop *loop, ev_timer *t, int revents) {
        etcd_watch *w = t->data;
        if (watch_connect(w) < 0)
                nd_etcd_watch_broken(w, -ENOMEM);
}

void nd_etcd_watch_broken(etcd_watch *w, int r) {
        if (w->dead)
                return;
        /* resume from the next revision; back off while the cluster is away */
        w->backoff = w->backoff == 0 ? 0.05 : MIN(w->backoff * 2, ETCD_BACKOFF_MAX);
        nd_log(LOG_DEBUG, "etcd watch broken, resuming", "prefix=%s from=%" PRId64 " in=%.2fs", w->prefix,
               w->next_rev, w->backoff);
        ev_timer_stop(w->s->loop, &w->again);
        ev_timer_set(&w->again, w->backoff, 0);
        ev_timer_start(w->s->loop, &w->again);
}

/* One message of the stream: {"result": {...}} or {"error": {...}}. */
static void watch_message(etcd_watch *w, const json_t *j) {
        nd_etcd_watch_msg m;
        if (nd_etcd_parse_watch(j, &m) < 0)
                return;
        switch (m.kind) {
        case ND_ETCD_WATCH_ERROR:
                if (m.auth)
                        nd_etcd_auth_queue(w->s);
                if (m.stale) {
                        w->dead = true;
                        w->cb(w->userdata, -ESTALE, NULL);
                }
                break;
        case ND_ETCD_WATCH_COMPACTED:
                w->dead = true;
                w->cb(w->userdata, -ESTALE, NULL);
                break;
        case ND_ETCD_WATCH_CANCELED:
                /* refused (an expired token, a permission): etcd keeps the
                 * stream open and silent, so end it and resume */
                nd_log(LOG_WARNING, "etcd cancelled a watch; resuming", "prefix=%s reason=\"%s\"", w->prefix,
                       m.cancel_reason ? m.cancel_reason : "");
                if (w->s->user)
                        nd_etcd_auth_queue(w->s);
                w->refused = true;
                break;
        case ND_ETCD_WATCH_RESULT:
                if (m.created) {
                        w->backoff = 0;
                        if (w->next_rev == 0)
                                w->next_rev = m.rev + 1;
                }
                for (size_t i = 0; i < m.n_events && !w->dead; i++) {
                        const nd_etcd_watch_event *e = &m.events[i];
                        /* after a resume etcd may repeat the revision we
                         * stopped in the middle of; deliver each revision once */
                        if (e->ev.kv.mod_rev >= w->next_rev) {
                                if (e->last_of_rev)
                                        w->next_rev = e->ev.kv.mod_rev + 1;
                                w->cb(w->userdata, 0, &e->ev);
                        }
                }
                break;
        }
        nd_etcd_watch_msg_done(&m);
}

void nd_etcd_watch_data(etcd_watch *w) {
        req *r = w->r;
        if (!r)
                return;
        size_t off = 0, k;
        json_t *j;
        while (!w->dead && (k = nd_etcd_stream_next(r->in.p + off, r->in.n - off, &j)) > 0) {
                off += k;
                if (j) {
                        watch_message(w, j);
                        json_decref(j);
                }
        }
        memmove(r->in.p, r->in.p + off, r->in.n - off);
        r->in.n -= off;
}

int nd_etcd_watch_start(nd_store *b, const char *prefix, int64_t from_rev, nd_store_watch_fn cb, void *userdata,
                      nd_store_watch **ret) {
        etcd *s = (etcd *) b;
        etcd_watch *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->base.store = b;
        w->s = s;
        w->prefix = strdup(prefix);
        w->next_rev = from_rev > 0 ? from_rev + 1 : 0;
        w->cb = cb;
        w->userdata = userdata;
        ev_timer_init(&w->again, watch_again, 0, 0);
        w->again.data = w;
        int e = w->prefix ? watch_connect(w) : -ENOMEM;
        if (e < 0) {
                free(w->prefix);
                free(w);
                return e;
        }
        w->next = s->watches;
        if (s->watches)
                s->watches->prev = w;
        s->watches = w;
        if (ret)
                *ret = &w->base;
        return 0;
}

void nd_etcd_watch_cancel(nd_store_watch *b) {
        etcd_watch *w = (etcd_watch *) b;
        etcd *s = w->s;
        ev_timer_stop(s->loop, &w->again);
        if (w->prev)
                w->prev->next = w->next;
        else
                s->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->dead = true;
        if (w->dispatching) {
                w->cancelled = true;
                return;
        }
        if (w->r) {
                w->r->watch = NULL;
                nd_etcd_req_free(w->r);
        }
        free(w->prefix);
        free(w);
}
