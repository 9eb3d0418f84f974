/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file link-reaper.h
 * Deleting links off the event loop.  The kernel deletes a veth pair
 * inside the netlink request, after an RCU grace period: 10-30 ms during
 * which a synchronous caller (the loop) would serve nothing, not even DNS.
 * The reaper is one worker thread with its own NETLINK_ROUTE socket in
 * netd's namespace; the loop hands it ifindexes, or names that it
 * resolves itself (a lookup takes the RTNL lock, which a delete holds
 * through its grace period, so it is not made on the loop either), and
 * gets each result back on the loop through an ev_async.  A name may be
 * taken again once its link is gone: callers that queue a name make sure
 * nothing of theirs takes it before the callback ran.
 *
 * Other slow work that must not run on the loop (unmounting a namespace,
 * removing a directory tree) can ride the same thread (nd_reaper_run): it
 * never changes namespace, so only work that does not care which network
 * namespace it runs in belongs there.
 *
 * The worker takes every delete queued (up to 512) at once.  Several are
 * moved into a link group of netd's (0x6e64xxxx, one no other link is in)
 * and deleted by one RTM_DELLINK of that group: one grace period for the
 * batch instead of one per link.  If the kernel refuses the group delete
 * the batch goes one by one.  Callers see the same results either way.
 * Results reach the loop 16 per iteration, so the callbacks of a batch
 * (each may commit to nftables) never hold it for long.
 */
#pragma once

struct ev_loop;
struct nl_sock;
struct nd_expo;
typedef struct nd_reaper nd_reaper;
typedef void (*nd_reaper_fn)(void *userdata, int r);

int nd_reaper_new(struct ev_loop *loop, nd_reaper **ret);
/* Waits for the batch being deleted; the callbacks of the rest run with
 * -ECANCELED (free the context, reply to nobody). */
nd_reaper *nd_reaper_free(nd_reaper *r);
/* Delete link @ifindex; @cb (may be NULL) runs on the loop with 0, or
 * -ENODEV if it was gone already, or another -errno.  Without a reaper
 * (@r NULL) the delete runs at once and @cb is called before returning. */
int nd_reaper_delete(nd_reaper *r, struct nl_sock *fallback, int ifindex, nd_reaper_fn cb, void *userdata);
/* The same for the link named @name (in netd's namespace), resolved on the
 * worker: -ENODEV when no link has that name by then.  -EINVAL: no name. */
int nd_reaper_delete_name(nd_reaper *r, struct nl_sock *fallback, const char *name, nd_reaper_fn cb,
                          void *userdata);
/* Run @fn(@arg) on the worker, after the links queued with it; @cb (may
 * be NULL) gets its result on the loop.  -ECANCELED when netd stops
 * first: @fn may not have run, or ran and its result was not delivered
 * yet, so what it frees or makes must say which.  Without a reaper @fn
 * runs at once. */
int nd_reaper_run(nd_reaper *r, int (*fn)(void *arg), void *arg, nd_reaper_fn cb, void *userdata);
/* Deletes queued or running (for tests and status). */
unsigned nd_reaper_pending(const nd_reaper *r);
/* The reaper's families for GET /metrics: pending, links deleted one by
 * one and by group, group deletes and fallbacks, links per batch.  @r may
 * be NULL (no reaper: zeros). */
void nd_reaper_metrics(const nd_reaper *r, struct nd_expo *e);
