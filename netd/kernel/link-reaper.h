/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file link-reaper.h
 * Deleting links off the event loop.  The kernel deletes a veth pair
 * inside the netlink request, after an RCU grace period: 10-30 ms during
 * which a synchronous caller (the loop) would serve nothing, not even DNS.
 * The reaper is one worker thread with its own NETLINK_ROUTE socket in
 * netd's namespace; the loop hands it ifindexes (never names: a name may
 * be taken again before the old link is gone, an ifindex is not reused)
 * and gets each result back on the loop through an ev_async.
 *
 * The worker takes every delete queued (up to 512) at once.  Several are
 * moved into a link group of netd's (0x6e64xxxx, one no other link is in)
 * and deleted by one RTM_DELLINK of that group: one grace period for the
 * batch instead of one per link.  If the kernel refuses the group delete
 * the batch goes one by one.  Callers see the same results either way.
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
/* Deletes queued or running (for tests and status). */
unsigned nd_reaper_pending(const nd_reaper *r);
/* The reaper's families for GET /metrics: pending, links deleted one by
 * one and by group, group deletes and fallbacks, links per batch.  @r may
 * be NULL (no reaper: zeros). */
void nd_reaper_metrics(const nd_reaper *r, struct nd_expo *e);
