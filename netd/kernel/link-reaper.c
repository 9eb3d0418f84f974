/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <ev.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "link-reaper.h"
#include "macro.h"
#include "metrics.h"
#include "nl-host.h"

/* Jobs the worker takes at once: one group delete, one grace period. */
#define BATCH_MAX 512
/* netd's link groups: "nd" in the high half, a per-batch number below. */
#define GROUP_BASE 0x6e640000u
#define GROUP_SPAN 0x10000u
/* A dump that a concurrent change interrupted is read again, this often. */
#define DUMP_TRIES 3

struct job {
        struct job *next;
        int ifindex, result;
        char name[16];   /* a link by name: resolved on the worker */
        int (*fn)(void *arg); /* not a link: work run on the worker */
        void *arg;
        bool moved;      /* in the batch's group */
        bool settled;    /* result final */
        nd_reaper_fn cb;
        void *userdata;
};

static const double batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512 };

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
        /* guarded by lock: what the worker did, for /metrics */
        uint64_t by_index, by_group, group_deletes, group_fallbacks;
        nd_hist batch_links;
        struct nl_sock *sk;              /* the worker's */
        uint32_t next_group;             /* the worker's: offset from GROUP_BASE */
        uint64_t used[GROUP_SPAN / 64];  /* the worker's: netd's groups seen in the last dump */
};

static int nl_result(int r) {
        return r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV ? -ENODEV : nd_nl_errno(r);
}

static int delete_by_index(struct nl_sock *sk, int ifindex) {
        struct rtnl_link *l = rtnl_link_alloc();
        if (!l)
                return -ENOMEM;
        rtnl_link_set_ifindex(l, ifindex);
        int r = rtnl_link_delete(sk, l);
        rtnl_link_put(l);
        return nl_result(r);
}

/* One RTM_SETLINK or RTM_DELLINK carrying IFLA_GROUP, acknowledged.
 * @ifindex 0 with RTM_DELLINK deletes every link of @group
 * (rtnl_group_dellink: all checked first, then one unregister_netdevice_many,
 * so either nothing is deleted or all are, after one grace period). */
static int link_group_request(struct nl_sock *sk, int type, int ifindex, uint32_t group) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
        struct nl_msg *msg = nlmsg_alloc_simple(type, 0);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 || nla_put_u32(msg, IFLA_GROUP, group) < 0) {
                nlmsg_free(msg);
                return -ENOMEM;
        }
        return nl_result(nl_send_sync(sk, msg)); /* frees msg */
}

static int on_link(struct nl_msg *msg, void *arg) {
        nd_reaper *r = arg;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        if (h->nlmsg_type != RTM_NEWLINK || !nlmsg_valid_hdr(h, sizeof(struct ifinfomsg)))
                return NL_OK;
        struct nlattr *a = nlmsg_find_attr(h, sizeof(struct ifinfomsg), IFLA_GROUP);
        if (!a || nla_len(a) < (int) sizeof(uint32_t))
                return NL_OK;
        uint32_t g = nla_get_u32(a) - GROUP_BASE;
        if (g < GROUP_SPAN)
                r->used[g / 64] |= UINT64_C(1) << (g % 64);
        return NL_OK;
}

/* Reads which of netd's groups some link of the namespace is in. */
static int groups_dump(nd_reaper *r) {
        struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
        int e = -NLE_DUMP_INTR;
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_link, r);
        for (int t = 0; t < DUMP_TRIES && e == -NLE_DUMP_INTR; t++) {
                struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
                memset(r->used, 0, sizeof(r->used));
                e = nl_send_simple(r->sk, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
                if (e >= 0)
                        e = nl_recvmsgs(r->sk, cb);
        }
        nl_cb_put(cb);
        return e < 0 ? nd_nl_errno(e) : 0;
}

/* A group of netd's that no link is in: a group delete removes every
 * member, so one some other link uses (a stale one, or not netd's) is
 * never taken. */
static int group_pick(nd_reaper *r, uint32_t *ret) {
        int e = groups_dump(r);
        if (e < 0)
                return e;
        for (uint32_t k = 0; k < GROUP_SPAN; k++) {
                uint32_t g = (r->next_group + k) % GROUP_SPAN;
                if (!(r->used[g / 64] & (UINT64_C(1) << (g % 64)))) {
                        r->next_group = (g + 1) % GROUP_SPAN;
                        *ret = GROUP_BASE + g;
                        return 0;
                }
        }
        return -EBUSY;
}

static bool queued_before(const struct job *batch, const struct job *j) {
        for (const struct job *k = batch; k != j; k = k->next)
                if (!k->fn && k->ifindex == j->ifindex)
                        return true;
        return false;
}

/* Jobs by name get their ifindex here, off the loop (an RTM_GETLINK
 * takes the RTNL lock, which a delete holds through its grace period);
 * a name that is gone settles -ENODEV.  Work jobs run after the links. */
static void resolve_names(nd_reaper *r, struct job *batch) {
        for (struct job *j = batch; j; j = j->next) {
                if (j->fn || !j->name[0] || j->settled)
                        continue;
                struct rtnl_link *l = NULL;
                int e = rtnl_link_get_kernel(r->sk, 0, j->name, &l);
                if (e < 0) {
                        j->result = nl_result(e);
                        j->settled = true;
                        continue;
                }
                j->ifindex = rtnl_link_get_ifindex(l);
                rtnl_link_put(l);
        }
}

/* Moves the batch into a free group of netd's and deletes that group.
 * Moving costs no grace period; the group delete one for all.  A link
 * gone when moved is settled -ENODEV; a link that could not be moved is
 * left to the one-by-one pass.  Returns <0 when the group delete failed
 * (nothing was deleted): the moved jobs are then left unsettled too. */
static int batch_delete(nd_reaper *r, struct job *batch) {
        uint32_t group;
        unsigned moved = 0;
        int e = group_pick(r, &group);
        if (e < 0)
                return e;
        for (struct job *j = batch; j; j = j->next) {
                if (j->fn || j->settled)
                        continue;
                if (queued_before(batch, j))
                        continue; /* one by one after the first: -ENODEV, as ever */
                e = link_group_request(r->sk, RTM_SETLINK, j->ifindex, group);
                if (e == 0) {
                        j->moved = true;
                        moved++;
                } else if (e == -ENODEV) {
                        j->result = -ENODEV;
                        j->settled = true;
                }
        }
        if (moved == 0)
                return 0;
        e = link_group_request(r->sk, RTM_DELLINK, 0, group);
        if (e < 0)
                return e;
        for (struct job *j = batch; j; j = j->next)
                if (j->moved) {
                        j->result = 0;
                        j->settled = true;
                }
        return (int) moved;
}

/* Every job of @batch gets its result.  Returns the links deleted as a
 * group (0 when none), or <0 when no group could be used or the kernel
 * refused the group delete (a link without dellink, such as lo; -ENODEV
 * when every moved link vanished meanwhile) and the batch went one by
 * one, each job then getting exactly what it got before batching. */
static int reap(nd_reaper *r, struct job *batch, unsigned *ret_links) {
        resolve_names(r, batch);
        unsigned links = 0;
        for (struct job *j = batch; j; j = j->next)
                links += !j->fn && !j->settled;
        *ret_links = 0;
        for (struct job *j = batch; j; j = j->next)
                *ret_links += !j->fn;
        int grouped = links > 1 ? batch_delete(r, batch) : 0;
        for (struct job *j = batch; j; j = j->next) {
                if (j->settled || j->fn)
                        continue;
                j->result = delete_by_index(r->sk, j->ifindex);
                /* a link left behind does not stay in netd's group, where
                 * a later batch's group delete would take it */
                if (j->moved && j->result < 0 && j->result != -ENODEV)
                        (void) link_group_request(r->sk, RTM_SETLINK, j->ifindex, 0);
        }
        for (struct job *j = batch; j; j = j->next)
                if (j->fn)
                        j->result = j->fn(j->arg);
        return grouped;
}

static void *worker(void *arg) {
        nd_reaper *r = arg;
        pthread_mutex_lock(&r->lock);
        for (;;) {
                while (!r->todo && !r->stop)
                        pthread_cond_wait(&r->wake, &r->lock);
                if (r->stop)
                        break;
                /* every job queued, up to BATCH_MAX, in queue order */
                struct job *batch = r->todo, *last = batch;
                unsigned n = 1;
                while (last->next && n < BATCH_MAX) {
                        last = last->next;
                        n++;
                }
                r->todo = last->next;
                if (!r->todo)
                        r->todo_tail = &r->todo;
                last->next = NULL;
                pthread_mutex_unlock(&r->lock);

                unsigned links;
                int grouped = reap(r, batch, &links);

                pthread_mutex_lock(&r->lock);
                if (links)
                        nd_hist_observe(&r->batch_links, links);
                if (grouped > 0) {
                        r->group_deletes++;
                        r->by_group += (unsigned) grouped;
                } else if (grouped < 0) {
                        r->group_fallbacks++;
                }
                r->by_index += links - (unsigned) (grouped > 0 ? grouped : 0);
                *r->done_tail = batch;
                r->done_tail = &last->next;
                ev_async_send(r->loop, &r->done_w);
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

/* Results delivered in one loop iteration.  A batch holds up to
 * BATCH_MAX, and each result may run its caller's follow-up on the loop
 * (an nftables commit clearing the port's elements, addresses given back,
 * a container forgotten): in slices, with the loop's other watchers (DNS
 * among them) served between them. */
#define DONE_SLICE 16

static void on_done(struct ev_loop *loop, ev_async *w, int revents) {
        nd_reaper *r = w->data;
        pthread_mutex_lock(&r->lock);
        struct job *list = r->done, *last = list;
        for (unsigned n = 1; last && last->next && n < DONE_SLICE; n++)
                last = last->next;
        if (last) {
                r->done = last->next;
                last->next = NULL;
                if (!r->done)
                        r->done_tail = &r->done;
                else
                        ev_async_send(loop, w); /* the rest on the next iteration */
        }
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
        nd_hist_init(&r->batch_links, batch_bounds, ELEMENTSOF(batch_bounds));
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

static void queue(nd_reaper *r, struct job *j) {
        pthread_mutex_lock(&r->lock);
        *r->todo_tail = j;
        r->todo_tail = &j->next;
        r->pending++;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
}

/* A copy of @tmpl on the queue. */
static int submit(nd_reaper *r, const struct job *tmpl) {
        struct job *j = malloc(sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = *tmpl;
        queue(r, j);
        return 0;
}

int nd_reaper_delete(nd_reaper *r, struct nl_sock *fallback, int ifindex, nd_reaper_fn cb, void *userdata) {
        if (!r) {
                int res = delete_by_index(fallback, ifindex);
                if (cb)
                        cb(userdata, res);
                return 0;
        }
        return submit(r, &(struct job) { .ifindex = ifindex, .cb = cb, .userdata = userdata });
}

int nd_reaper_delete_name(nd_reaper *r, struct nl_sock *fallback, const char *name, nd_reaper_fn cb,
                          void *userdata) {
        if (!name || !*name || strlen(name) >= IFNAMSIZ)
                return -EINVAL;
        if (!r) {
                struct rtnl_link *l = NULL;
                int res = nl_result(rtnl_link_get_kernel(fallback, 0, name, &l));
                if (res == 0) {
                        res = delete_by_index(fallback, rtnl_link_get_ifindex(l));
                        rtnl_link_put(l);
                }
                if (cb)
                        cb(userdata, res);
                return 0;
        }
        struct job j = { .cb = cb, .userdata = userdata };
        memcpy(j.name, name, strlen(name) + 1);
        return submit(r, &j);
}

int nd_reaper_run(nd_reaper *r, int (*fn)(void *arg), void *arg, nd_reaper_fn cb, void *userdata) {
        if (!r) {
                int res = fn(arg);
                if (cb)
                        cb(userdata, res);
                return 0;
        }
        return submit(r, &(struct job) { .fn = fn, .arg = arg, .cb = cb, .userdata = userdata });
}

unsigned nd_reaper_pending(const nd_reaper *r) {
        if (!r)
                return 0;
        pthread_mutex_lock((pthread_mutex_t *) &r->lock);
        unsigned n = r->pending;
        pthread_mutex_unlock((pthread_mutex_t *) &r->lock);
        return n;
}

void nd_reaper_metrics(const nd_reaper *r, struct nd_expo *e) {
        pthread_mutex_t *lock = r ? (pthread_mutex_t *) &r->lock : NULL;
        char l[64];

        if (lock)
                pthread_mutex_lock(lock);
        nd_expo_family(e, "netd_reaper_pending", "gauge", "Link deletes queued or running off the loop.");
        nd_expo_sample(e, "netd_reaper_pending", NULL, r ? r->pending : 0);
        nd_expo_family(e, "netd_reaper_links_total", "counter",
                       "Links the reaper deleted or found gone, by how: one by one, or in a group delete.");
        nd_expo_sample(e, "netd_reaper_links_total", nd_expo_labels(l, sizeof(l), 1, "how", "single"),
                       r ? (double) r->by_index : 0);
        nd_expo_sample(e, "netd_reaper_links_total", nd_expo_labels(l, sizeof(l), 1, "how", "group"),
                       r ? (double) r->by_group : 0);
        nd_expo_family(e, "netd_reaper_group_deletes_total", "counter", "Group deletes: many links, one grace period.");
        nd_expo_sample(e, "netd_reaper_group_deletes_total", NULL, r ? (double) r->group_deletes : 0);
        nd_expo_family(e, "netd_reaper_group_fallbacks_total", "counter",
                       "Batches deleted one by one: no free group, or the kernel refused the group delete.");
        nd_expo_sample(e, "netd_reaper_group_fallbacks_total", NULL, r ? (double) r->group_fallbacks : 0);
        nd_expo_family(e, "netd_reaper_batch_links", "histogram", "Deletes the reaper's worker took at once.");
        if (r)
                nd_expo_hist(e, "netd_reaper_batch_links", NULL, &r->batch_links);
        if (lock)
                pthread_mutex_unlock(lock);
}
