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
                        int k = nd_ct_teardown_and_forget(c, w->cb, w->userdata);
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

static int add_waiter(nd_container *c, nd_manager_ct_fn cb, void *userdata, bool then_remove) {
        nd_ct_waiter *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (nd_ct_waiter) { .cb = cb, .userdata = userdata, .then_remove = then_remove };
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
        int r = add_waiter(c, cb, userdata, false);
        if (r < 0)
                return nd_diag_set(d, r, "out of memory");
        if (!ev_is_active(&c->stop_timer)) {
                log_ct(LOG_INFO, c, "stopping", "timeout=%.0f", timeout);
                ct_signal(c, timeout <= 0 ? SIGKILL : SIGTERM);
                ev_timer_init(&c->stop_timer, on_stop_timeout, timeout > 0 ? timeout : 1., 0.);
                ev_timer_start(m->loop, &c->stop_timer);
        }
        return 0;
}

struct rm_op {
        nd_container *c;
        struct nd_ct_reap *reap; /* its pairs going off the loop, or NULL */
        nd_manager_ct_fn cb;
        void *userdata;
};

/* Removed from the store and, with a reap, its pairs gone and addresses
 * given back: answer and forget it. */
static void removed(void *userdata) {
        struct rm_op *op = userdata;
        nd_container *c = op->c;
        nd_manager *m = c->manager;

        for (size_t i = 0; !op->reap && i < c->n_eps; i++)
                nd_ct_release_endpoint(m, &c->eps[i]);
        log_ct(LOG_INFO, c, "container removed");
        if (op->cb)
                op->cb(op->userdata, 0, NULL, NULL);
        nd_ct_notify_waiters(c, 0, NULL);
        nd_cts_drop(m, c);
        free(op);
}

static void on_removed(void *userdata, int r, int64_t rev) {
        struct rm_op *op = userdata;
        nd_container *c = op->c;
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
        /* the answer waits for the pairs too (off the loop): an rm that
         * returned left no veth behind */
        if (op->reap)
                return nd_ct_reap_store_done(op->reap, 0, removed, op);
        removed(op);
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
int nd_ct_teardown_and_forget(nd_container *c, nd_manager_ct_fn cb, void *userdata) {
        nd_manager *m = c->manager;
        struct rm_op *op = calloc(1, sizeof(*op));
        int r;

        if (!op)
                return -ENOMEM;
        op->c = c;
        op->cb = cb;
        op->userdata = userdata;
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

/* Also for a task the service runs (nd_ct_task_remove): forced. */
static int container_remove(nd_manager *m, nd_container *c, bool force, nd_manager_ct_fn cb, void *userdata,
                            nd_diag *d) {
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
                r = add_waiter(c, cb, userdata, true);
                if (r < 0)
                        return nd_diag_set(d, r, "out of memory");
                c->removing = true;
                ct_signal(c, SIGKILL);
                return 0;
        }
        if (c->exit_persisting) {
                /* it exited and the record says so once durable: the
                 * removal follows then, as for a running one */
                r = add_waiter(c, cb, userdata, true);
                if (r < 0)
                        return nd_diag_set(d, r, "out of memory");
                c->removing = true;
                return 0;
        }
        if (c->persisting || c->report_fd >= 0)
                return nd_diag_set(d, -EBUSY, "container '%s' is starting", c->name);
        r = nd_ct_teardown_and_forget(c, cb, userdata);
        if (r < 0)
                return nd_diag_set(d, r, "store: %s", strerror(-r));
        return 0;
}

int nd_manager_container_remove(nd_manager *m, nd_container *c, bool force, nd_manager_ct_fn cb, void *userdata,
                                nd_diag *d) {
        /* the service would only start it again: its tasks go with a
         * scale or with the service */
        if (c->managed && nd_replicas_holds(m, c))
                return nd_diag_set(d, -EBUSY, "container '%s' is a task of service '%s', which runs it: scale the "
                                   "service ('netctl service scale') or remove it ('netctl service rm')", c->name,
                                   c->service);
        return container_remove(m, c, force, cb, userdata, d);
}

int nd_ct_task_remove(nd_manager *m, nd_container *c, nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        return container_remove(m, c, true, cb, userdata, d);
}
