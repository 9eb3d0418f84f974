/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <ev.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "link-reaper.h"
#include "nl-host.h"

struct job {
        struct job *next;
        int ifindex, result;
        nd_reaper_fn cb;
        void *userdata;
};

struct nd_reaper {
        struct ev_loop *loop;
        ev_async done_w;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        struct job *todo, **todo_tail;   /* guarded by lock */
        struct job *done, **done_tail;   /* guarded by lock */
        unsigned pending;                /* guarded by lock */
        bool stop;                       /* guarded by lock */
        struct nl_sock *sk;              /* the worker's */
};

static int delete_by_index(struct nl_sock *sk, int ifindex) {
        struct rtnl_link *l = rtnl_link_alloc();
        if (!l)
                return -ENOMEM;
        rtnl_link_set_ifindex(l, ifindex);
        int r = rtnl_link_delete(sk, l);
        rtnl_link_put(l);
        return r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV ? -ENODEV : nd_nl_errno(r);
}

static void *worker(void *arg) {
        nd_reaper *r = arg;
        pthread_mutex_lock(&r->lock);
        for (;;) {
                while (!r->todo && !r->stop)
                        pthread_cond_wait(&r->wake, &r->lock);
                if (r->stop)
                        break;
                struct job *j = r->todo;
                r->todo = j->next;
                if (!r->todo)
                        r->todo_tail = &r->todo;
                pthread_mutex_unlock(&r->lock);

                j->result = delete_by_index(r->sk, j->ifindex);

                pthread_mutex_lock(&r->lock);
                j->next = NULL;
                *r->done_tail = j;
                r->done_tail = &j->next;
                ev_async_send(r->loop, &r->done_w);
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

static void on_done(struct ev_loop *loop, ev_async *w, int revents) {
        nd_reaper *r = w->data;
        pthread_mutex_lock(&r->lock);
        struct job *list = r->done;
        r->done = NULL;
        r->done_tail = &r->done;
        pthread_mutex_unlock(&r->lock);
        while (list) {
                struct job *j = list;
                list = j->next;
                pthread_mutex_lock(&r->lock);
                r->pending--;
                pthread_mutex_unlock(&r->lock);
                if (j->cb)
                        j->cb(j->userdata, j->result);
                free(j);
        }
}

int nd_reaper_new(struct ev_loop *loop, nd_reaper **ret) {
        nd_reaper *r = calloc(1, sizeof(*r));
        int e;
        if (!r)
                return -ENOMEM;
        r->loop = loop;
        r->todo_tail = &r->todo;
        r->done_tail = &r->done;
        r->sk = nl_socket_alloc();
        if (!r->sk || nl_connect(r->sk, NETLINK_ROUTE) < 0) {
                if (r->sk)
                        nl_socket_free(r->sk);
                free(r);
                return -EIO;
        }
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->wake, NULL);
        ev_async_init(&r->done_w, on_done);
        r->done_w.data = r;
        ev_async_start(loop, &r->done_w);
        ev_unref(loop); /* the reaper alone does not keep the loop running */
        /* the worker takes no signals: they belong to the loop's
         * watchers (a SIGTERM landing on the worker would bypass them) */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        e = pthread_create(&r->thread, NULL, worker, r);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e != 0) {
                ev_ref(loop);
                ev_async_stop(loop, &r->done_w);
                nl_socket_free(r->sk);
                free(r);
                return -e;
        }
        *ret = r;
        return 0;
}

nd_reaper *nd_reaper_free(nd_reaper *r) {
        if (!r)
                return NULL;
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
        ev_ref(r->loop);
        ev_async_stop(r->loop, &r->done_w);
        /* results not delivered and deletes not made: their callers get
         * -ECANCELED (and must not reply to anyone: netd is going away) */
        for (struct job *lists[2] = { r->done, r->todo }, **l = lists; l < lists + 2; l++)
                while (*l) {
                        struct job *j = *l;
                        *l = j->next;
                        if (j->cb)
                                j->cb(j->userdata, -ECANCELED);
                        free(j);
                }
        nl_socket_free(r->sk);
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
}

int nd_reaper_delete(nd_reaper *r, struct nl_sock *fallback, int ifindex, nd_reaper_fn cb, void *userdata) {
        if (!r) {
                int res = delete_by_index(fallback, ifindex);
                if (cb)
                        cb(userdata, res);
                return 0;
        }
        struct job *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (struct job) { .ifindex = ifindex, .cb = cb, .userdata = userdata };
        pthread_mutex_lock(&r->lock);
        *r->todo_tail = j;
        r->todo_tail = &j->next;
        r->pending++;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        return 0;
}

unsigned nd_reaper_pending(const nd_reaper *r) {
        if (!r)
                return 0;
        pthread_mutex_lock((pthread_mutex_t *) &r->lock);
        unsigned n = r->pending;
        pthread_mutex_unlock((pthread_mutex_t *) &r->lock);
        return n;
}
