/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stop and remove: signals through the init's pidfd, a timer for the
 * stop's grace period, the requests waiting for the exit (a forced
 * removal waits last), and the teardown, kernel and files first, then the
 * store.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "container-internal.h"
#include "replicas-internal.h"
#include "rt-spawn.h"

void nd_ct_notify_waiters(nd_container *c, int r, const nd_diag *d) {
        nd_ct_waiter *w = c->waiters;
        c->waiters = NULL;
        while (w) {
                nd_ct_waiter *next = w->next;
                if (w->then_remove) {
                        int k = nd_ct_teardown_and_forget(c, w->then_wait, w->cb, w->userdata);
                        if (k < 0 && w->cb) {
                                nd_diag dd = {0};
                                nd_diag_set(&dd, k, "removing container '%s' failed", c->name);
                                w->cb(w->userdata, k, NULL, &dd);
                        }
                        free(w);
                        /* @c is gone now; the other waiters were answered by
                         * nd_ct_teardown_and_forget */
                        w = next;
                        while (w) {
                                next = w->next;
                                if (w->cb)
                                        w->cb(w->userdata, 0, NULL, NULL);
                                free(w);
                                w = next;
                        }
                        return;
                }
                if (w->cb)
                        w->cb(w->userdata, r, c, d);
                free(w);
                w = next;
        }
}

static int add_waiter(nd_container *c, nd_manager_ct_fn cb, void *userdata, bool then_remove, bool then_wait) {
        nd_ct_waiter *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (nd_ct_waiter) { .cb = cb, .userdata = userdata, .then_remove = then_remove, .then_wait = then_wait };
        /* removal goes last so stop waiters are answered first */
        nd_ct_waiter **p = &c->waiters;
        while (*p)
                p = &(*p)->next;
        *p = w;
        return 0;
}

static void ct_signal(nd_container *c, int sig) {
        if (c->pid_fd >= 0) {
                if (nd_rt_pidfd_signal(c->pid_fd, sig) < 0 && errno != ESRCH)
                        log_ct(LOG_WARNING, c, "signalling the container failed", "signal=%d err=%d", sig, errno);
        } else if (c->pid > 0)
                kill(c->pid, sig);
}

static void on_stop_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_container *c = container_of(w, nd_container, stop_timer);
        log_ct(LOG_INFO, c, "stop timeout, killing");
        ct_signal(c, SIGKILL);
}

int nd_manager_container_stop(nd_manager *m, nd_container *c, double timeout, nd_manager_ct_fn cb, void *userdata,
                              nd_diag *d) {
        if (c->status != ND_CT_RUNNING)
                return nd_diag_set(d, -EALREADY, "container '%s' is not running", c->name);
        int r = add_waiter(c, cb, userdata, false, false);
        if (r < 0)
                return nd_diag_set(d, r, "out of memory");
        if (!ev_is_active(&c->stop_timer)) {
                log_ct(LOG_INFO, c, "stopping", "timeout=%.0f", timeout);
                ct_signal(c, timeout <= 0 ? SIGKILL : SIGTERM);
                ev_timer_init(&c->stop_timer, on_stop_timeout, timeout > 0 ? timeout : 1., 0.);
                ev_timer_start(m->loop, &c->stop_timer);
        } else if (timeout <= 0) {
                /* a stop under way with a grace period, and now one
                 * without (a fenced task must not outlive its slot): kill
                 * it now, the timer stays for a process that ignores it */
                log_ct(LOG_INFO, c, "stopping now, during a graceful stop");
                ct_signal(c, SIGKILL);
                ev_timer_stop(m->loop, &c->stop_timer);
                ev_timer_set(&c->stop_timer, 1., 0.);
                ev_timer_start(m->loop, &c->stop_timer);
        }
        return 0;
}

/* A removal under way; once the store confirmed it and the answer went
 * (before the teardown finished), the container is "going"
 * (container-internal.h) and this is its entry in the manager's list. */
struct going_waiter {
        void (*fn)(void *userdata, int r);
        void *userdata;
        struct going_waiter *next;
};

struct nd_ct_going {
        nd_container *c;
        struct nd_ct_reap *reap; /* its pairs going off the loop, or NULL */
        bool wait;               /* answer after the teardown (ND_CT_RM_WAIT) */
        nd_manager_ct_fn cb;     /* the answer, NULL once given */
        void *userdata;
        struct going_waiter *waiters, **waiters_tail;
        struct nd_ct_going *next, **prev_next; /* the manager's list, once going */
};

static void answer(nd_ct_going *op) {
        nd_manager_ct_fn cb = op->cb;
        op->cb = NULL;
        if (cb)
                cb(op->userdata, 0, NULL, NULL);
        nd_ct_notify_waiters(op->c, 0, NULL);
}

static void going_add(nd_manager *m, nd_ct_going *op) {
        op->next = m->going;
        if (op->next)
                op->next->prev_next = &op->next;
        op->prev_next = &m->going;
        m->going = op;
}

static void going_drop(nd_ct_going *op) {
        *op->prev_next = op->next;
        if (op->next)
                op->next->prev_next = op->prev_next;
}

/* The pairs, namespace, cgroups and bundle are gone and the addresses
 * given back (nd_ct_reap_store_done): the container is forgotten, then
 * the requests that waited for its name or addresses run. */
static void gone(void *userdata) {
        nd_ct_going *op = userdata;
        nd_container *c = op->c;
        struct going_waiter *w = op->waiters;

        log_ct(LOG_DEBUG, c, "container teardown finished");
        going_drop(op);
        answer(op); /* ND_CT_RM_WAIT */
        nd_ct_forget_waiters(c);
        nd_container_free(c);
        free(op);
        while (w) {
                struct going_waiter *next = w->next;
                w->fn(w->userdata, 0);
                free(w);
                w = next;
        }
}

/* Removed from the store without a reap (out of memory: the pairs went at
 * once): addresses back, answer, forget it. */
static void removed(nd_ct_going *op) {
        nd_container *c = op->c;
        nd_manager *m = c->manager;

        for (size_t i = 0; i < c->n_eps; i++)
                nd_ct_release_endpoint(m, &c->eps[i]);
        log_ct(LOG_INFO, c, "container removed");
        nd_ct_event(c, "destroy", NULL);
        answer(op);
        nd_cts_drop(m, c);
        free(op);
}

static void on_removed(void *userdata, int r, int64_t rev) {
        nd_ct_going *op = userdata;
        nd_container *c = op->c;
        nd_manager *m = c->manager;
        nd_diag d = {0};

        if (r < 0) {
                if (op->reap)
                        nd_ct_reap_store_done(op->reap, r, NULL, NULL);
                c->removing = false;
                nd_diag_set(&d, r, "removing container '%s' from the store failed: %s", c->name, strerror(-r));
                if (op->cb)
                        op->cb(op->userdata, r, NULL, &d);
                free(op);
                return;
        }
        if (!op->reap)
                return removed(op);
        /* durable and out of the API's view: the answer does not wait for
         * the kernel's grace periods (unless asked to); what it still holds
         * stays held until the teardown is done (gone) */
        nd_cts_unlink(m, c);
        going_add(m, op);
        log_ct(LOG_INFO, c, "container removed");
        nd_ct_event(c, "destroy", NULL);
        if (!op->wait)
                answer(op);
        nd_ct_reap_store_done(op->reap, 0, gone, op);
}

static int cgroups_remove(const char *id, const char *unused) {
        nd_rt_cgroups_remove(id);
        return 0;
}

static int bundle_remove(const char *state_dir, const char *id) {
        return nd_rt_bundle_remove(state_dir, id);
}

/* Kernel and files first (idempotent, so a failed store write can be
 * retried), then the store. */
int nd_ct_teardown_and_forget(nd_container *c, bool wait, nd_manager_ct_fn cb, void *userdata) {
        nd_manager *m = c->manager;
        nd_ct_going *op = calloc(1, sizeof(*op));
        int r;

        if (!op)
                return -ENOMEM;
        *op = (nd_ct_going) { .c = c, .wait = wait, .cb = cb, .userdata = userdata };
        op->waiters_tail = &op->waiters;
        c->removing = true;
        nd_ct_stop_watchers(c);
        nd_ports_release(m, c);
        nd_resolver_detach(m, c);
        op->reap = nd_ct_sandbox_destroy(m, c);
        if (op->reap) {
                /* rmdir and unlink wait on the disk (discard): off the loop */
                nd_ct_reap_work(op->reap, cgroups_remove, c->id, NULL);
                nd_ct_reap_work(op->reap, bundle_remove, m->state_dir, c->id);
        } else {
                nd_rt_cgroups_remove(c->id);
                nd_ct_remove_bundle(m, c);
        }
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_del(t, nd_store_txn_keyf(t, ND_KEY_CONTAINERS "%s", c->id));
        (void) nd_store_txn_del(t, nd_store_txn_keyf(t, ND_KEY_CONTAINER_NAMES "%s", c->name));
        for (size_t i = 0; i < c->n_eps; i++)
                (void) nd_ct_endpoint_ipam_ops(c, nd_ct_net_by_id(m, c->eps[i].net_id), &c->eps[i], false, t);
        r = nd_store_txn_submit(t, m->store, on_removed, op);
        if (r < 0) {
                if (op->reap)
                        nd_ct_reap_store_done(op->reap, r, NULL, NULL);
                free(op);
                c->removing = false;
        }
        return r;
}

/* ---- going containers --------------------------------------------------------------- */

nd_ct_going *nd_ct_going_by_name(nd_manager *m, const char *name) {
        for (nd_ct_going *g = m->going; g && name; g = g->next)
                if (strcmp(g->c->name, name) == 0)
                        return g;
        return NULL;
}

nd_ct_going *nd_ct_going_by_addr(nd_manager *m, const char *net_id, const nd_addr *a) {
        for (nd_ct_going *g = m->going; g; g = g->next)
                for (size_t k = 0; k < g->c->n_eps; k++) {
                        const nd_endpoint *e = &g->c->eps[k];
                        if (strcmp(e->net_id, net_id) == 0 &&
                            (!a || nd_addr_equal(&e->addr4, a) || nd_addr_equal(&e->addr6, a)))
                                return g;
                }
        return NULL;
}

/* The host-side names are "vnd" + the id's first 8 characters + "-N"
 * (nd_ct_endpoint_prepare). */
#define IFNAME_ID_CHARS 8

bool nd_ct_ifnames_taken(nd_manager *m, const char *id) {
        for (size_t i = 0; i < m->n_cts; i++)
                if (strncmp(m->cts[i]->id, id, IFNAME_ID_CHARS) == 0)
                        return true;
        for (nd_ct_going *g = m->going; g; g = g->next)
                if (strncmp(g->c->id, id, IFNAME_ID_CHARS) == 0)
                        return true;
        return false;
}

int nd_ct_going_wait(nd_ct_going *g, void (*fn)(void *userdata, int r), void *userdata) {
        struct going_waiter *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (struct going_waiter) { .fn = fn, .userdata = userdata };
        log_ct(LOG_DEBUG, g->c, "a request waits for the removed container's teardown");
        *g->waiters_tail = w;
        g->waiters_tail = &w->next;
        return 0;
}

void nd_ct_going_free_all(nd_manager *m) {
        /* the reaper was freed first: their teardown was cancelled, and a
         * restart removes what it left (nd_rt_orphans_remove) */
        while (m->going) {
                nd_ct_going *op = m->going;
                struct going_waiter *w = op->waiters;
                going_drop(op);
                while (w) {
                        struct going_waiter *next = w->next;
                        w->fn(w->userdata, -ECANCELED);
                        free(w);
                        w = next;
                }
                nd_ct_forget_waiters(op->c);
                nd_container_free(op->c);
                free(op);
        }
}

/* Also for a task the service runs (nd_ct_task_remove): forced. */
static int container_remove(nd_manager *m, nd_container *c, unsigned flags, nd_manager_ct_fn cb, void *userdata,
                            nd_diag *d) {
        bool force = flags & ND_CT_RM_FORCE, wait = flags & ND_CT_RM_WAIT;
        int r;
        if (c->removing)
                return nd_diag_set(d, -EBUSY, "container '%s' is being removed", c->name);
        for (size_t i = 0; i < m->n_cts; i++)
                if (m->cts[i]->mode == ND_NET_MODE_CONTAINER && strcmp(m->cts[i]->mode_target, c->id) == 0 &&
                    m->cts[i]->status == ND_CT_RUNNING)
                        return nd_diag_set(d, -EBUSY, "container '%s' shares its network with running container '%s'",
                                           c->name, m->cts[i]->name);
        if (c->status == ND_CT_RUNNING) {
                if (!force)
                        return nd_diag_set(d, -EBUSY, "container '%s' is running: stop it first or use --force",
                                           c->name);
                r = add_waiter(c, cb, userdata, true, wait);
                if (r < 0)
                        return nd_diag_set(d, r, "out of memory");
                c->removing = true;
                ct_signal(c, SIGKILL);
                return 0;
        }
        if (c->exit_persisting || c->releasing) {
                /* it exited and the record says so once durable (and its
                 * pairs are gone): the removal follows then, as for a
                 * running one */
                r = add_waiter(c, cb, userdata, true, wait);
                if (r < 0)
                        return nd_diag_set(d, r, "out of memory");
                c->removing = true;
                return 0;
        }
        if (c->persisting || c->wiring || c->report_fd >= 0)
                return nd_diag_set(d, -EBUSY, "container '%s' is starting", c->name);
        r = nd_ct_teardown_and_forget(c, wait, cb, userdata);
        if (r < 0)
                return nd_diag_set(d, r, "store: %s", strerror(-r));
        return 0;
}

int nd_manager_container_remove(nd_manager *m, nd_container *c, unsigned flags, nd_manager_ct_fn cb, void *userdata,
                                nd_diag *d) {
        /* the service would only start it again: its tasks go with a
         * scale or with the service */
        if (c->managed && nd_replicas_holds(m, c))
                return nd_diag_set(d, -EBUSY, "container '%s' is a task of service '%s', which runs it: scale the "
                                   "service ('netctl service scale') or remove it ('netctl service rm')", c->name,
                                   c->service);
        return container_remove(m, c, flags, cb, userdata, d);
}

int nd_ct_task_remove(nd_manager *m, nd_container *c, nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        return container_remove(m, c, ND_CT_RM_FORCE, cb, userdata, d);
}
