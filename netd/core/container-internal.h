/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file container-internal.h
 * What the container service's files share (not for other modules):
 *   containers.c        the table, the record, endpoints' addresses, and
 *                       requests that wait for an address block;
 *   container-files.c   what goes into a bundle (hosts, resolv.conf,
 *                       config.json), written through runtime/bundle.h;
 *   container-net.c     the sandbox (namespace, veths, default route) and
 *                       connect / disconnect;
 *   container-run.c     run / create / start and the monitor's reports;
 *   container-remove.c  stop, remove, and the requests waiting for either;
 *   container-load.c    start-up: records, adoption, strays and orphans.
 *
 * A container is in the manager's table from the moment its record is
 * being written until it is removed; every address of its endpoints is
 * reserved in memory while it is in the table.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "container-spec.h"
#include "container.h"
#include "diag.h"
#include "log.h"
#include "manager-internal.h"
#include "store.h"
#include "txn.h"

typedef struct nd_ct_waiter {
        nd_manager_ct_fn cb;
        void *userdata;
        bool then_remove;
        bool then_wait;    /* then_remove answered after the teardown (ND_CT_RM_WAIT) */
        struct nd_ct_waiter *next;
} nd_ct_waiter;

void nd_ct_log(int level, const nd_container *c, const char *msg, const char *fmt, ...) _printf_(4, 5);
#define log_ct(level, c, msg, ...) nd_ct_log(level, c, msg, "" __VA_ARGS__)
/* A container event (events.h): create, start, die, destroy; @attrs
 * taken (NULL: none).  create and destroy carry its endpoints' connect
 * and disconnect. */
void nd_ct_event(nd_container *c, const char *action, json_t *attrs);

/* ---- containers.c ---- */
int nd_cts_add(nd_manager *m, nd_container *c);
/* Out of the table (not freed). */
void nd_cts_unlink(nd_manager *m, nd_container *c);
/* Out of the table, its watchers stopped, its waiters forgotten, freed. */
void nd_cts_drop(nd_manager *m, nd_container *c);
void nd_ct_stop_watchers(nd_container *c);
void nd_ct_forget_waiters(nd_container *c);
void nd_ct_bundle_path(nd_manager *m, const char *id, char *buf, size_t size);
nd_network *nd_ct_net_by_id(nd_manager *m, const char *id);

typedef void (*nd_ct_persist_fn)(nd_container *c, int r, void *userdata);
/* A transaction whose first operation writes @c's record as it is now;
 * the caller adds its compares and operations, then persists it.  NULL
 * (out of memory) is a builder with -ENOMEM latched (txn.h). */
nd_store_txn_builder *nd_ct_txn_new(const nd_container *c);
/* The same for a container that stopped or failed to start: its
 * dynamic addresses given back first (nd_ct_release_dynamic), their
 * records deleted with it. */
nd_store_txn_builder *nd_ct_txn_stopped(nd_container *c);
/* A builder of nd_ct_txn_stopped freed unsubmitted (nothing recorded the
 * addresses it gives back): they go back once their pairs are gone. */
void nd_ct_txn_stopped_drop(nd_container *c, nd_store_txn_builder *t);
/* Submit @t (always taken, also on failure): 0 and @fn later, or -errno
 * (the builder's latched error, or the store's) and @fn never.  When @t
 * gives addresses back (nd_ct_release_dynamic), @fn runs once their pairs
 * are gone too, after the addresses went back (or, the write failed,
 * became @c's again). */
int nd_ct_persist(nd_container *c, nd_store_txn_builder *t, nd_ct_persist_fn fn, void *userdata);

/* Fill @e for network @n from the parsed request @rq and reserve its
 * addresses in memory. */
int nd_ct_endpoint_prepare(nd_manager *m, nd_container *c, nd_network *n, const nd_endpoint_req *rq,
                           nd_endpoint *e, nd_diag *d);
/* Its addresses go back. */
void nd_ct_release_endpoint(nd_manager *m, const nd_endpoint *e);
/* A container that stopped (or failed to start) gives back its dynamic
 * addresses, as Docker does: for each endpoint holding one (not on an
 * overlay network, whose addresses come from this host's block) its veth
 * pair goes off the loop (link reaper; the next start re-creates it), the
 * addresses leave the endpoint, their records are deleted in @t, which
 * the caller persists (nd_ct_persist) with the record that no longer has
 * them or drops (nd_ct_txn_stopped_drop).  The allocator gets them back
 * once the pairs are gone and @t is durable; until then @c is
 * "releasing": a start is refused (-EBUSY), a removal waits.  --ip /
 * --ip6 addresses stay.  Returns the number of endpoints that gave some
 * back. */
size_t nd_ct_release_dynamic(nd_manager *m, nd_container *c, nd_store_txn_builder *t);
/* At start: a new dynamic address for every family an endpoint gave back
 * (and with it, unless given, a new MAC).  The number of endpoints that
 * got some, or -errno with @d filled (then nothing was taken, also when
 * a network of @c is gone). */
int nd_ct_reserve_dynamic(nd_manager *m, nd_container *c, nd_diag *d);
/* Add to @t the address records of @e: put (owner = container) or
 * delete; @t's latched error (txn.h). */
int nd_ct_endpoint_ipam_ops(const nd_container *c, nd_network *n, const nd_endpoint *e, bool put,
                            nd_store_txn_builder *t);

/* ---- container-files.c ---- */
/* The container whose namespace, and so whose hosts, resolv.conf and
 * hostname, @c shares: @c itself unless it is in container: mode. */
const nd_container *nd_ct_net_owner(nd_manager *m, const nd_container *c);
/* One --add-host of @c with host-gateway resolved to the gateway of its
 * first network.  0 or -EINVAL with @d filled. */
int nd_ct_extra_host_resolve(const nd_container *c, const char *s, char name[static ND_NAME_MAX + 1],
                             char ip[static ND_ADDR_STRLEN], nd_diag *d);
/* @c's hosts, and the hosts and resolv.conf of the running containers
 * sharing its namespace. */
int nd_ct_write_hosts(nd_manager *m, const nd_container *c);
int nd_ct_write_bundle(nd_manager *m, const nd_container *c);
void nd_ct_remove_bundle(nd_manager *m, const nd_container *c);

/* ---- container-net.c ---- */
int nd_ct_sandbox_create(nd_manager *m, nd_container *c);
/* Make the kernel match the record; the number of repairs or -errno. */
int nd_ct_sandbox_repair(nd_manager *m, nd_container *c);
/* The sandbox of a container being removed, off the loop: each veth pair
 * goes through the link reaper (batched in the kernel), the namespace
 * bind at once.  Its addresses are given back once every pair is gone and
 * the store confirmed the removal (nd_ct_reap_store_done), so no new
 * endpoint meets the old one on the bridge; then @finish(@userdata) runs
 * (not after a failed removal).  NULL (out of memory): the pairs were
 * deleted here and then, and the caller gives the addresses back. */
struct nd_ct_reap *nd_ct_sandbox_destroy(nd_manager *m, nd_container *c);
void nd_ct_reap_store_done(struct nd_ct_reap *op, int r, void (*finish)(void *userdata), void *userdata);
/* Slow file work of the removal (@fn(@a, @b): the bundle, the cgroups)
 * on the reaper's thread too; the answer waits for it as for the pairs. */
void nd_ct_reap_work(struct nd_ct_reap *op, int (*fn)(const char *a, const char *b), const char *a, const char *b);
/* The endpoint for the default route, -1 if none. */
int nd_ct_gateway_endpoint(nd_manager *m, const nd_container *c);
void nd_ct_gateway_mark(nd_container *c, int gw);
int nd_ct_connect_once(nd_manager *m, nd_network *n, nd_container *c, const json_t *req, nd_manager_ct_fn cb,
                       void *userdata, nd_diag *d);

/* ---- container-run.c ---- */
int nd_ct_run_once(nd_manager *m, const json_t *req, bool start, nd_manager_ct_fn cb, void *userdata, nd_diag *d);
/* The monitor is gone: record what it left in the bundle. */
void nd_ct_exited(nd_container *c);
int nd_ct_watch_monitor(nd_container *c);

/* ---- container-remove.c ---- */
void nd_ct_notify_waiters(nd_container *c, int r, const nd_diag *d);
/* Kernel and files first (queued off the loop), then the store; once the
 * store answered @cb runs (with @wait: once the teardown finished too) and
 * @c leaves the table.  0 or -errno (then nothing was started). */
int nd_ct_teardown_and_forget(nd_container *c, bool wait, nd_manager_ct_fn cb, void *userdata);

/* A going container: its removal answered and durable, out of the table
 * and the API's view, while its pairs, namespace, cgroups and bundle go
 * off the loop.  Until they are gone it holds its name, its addresses
 * (so no new endpoint meets the old one on the bridge) and its host-side
 * interface names (the reaper deletes them by name).  Requests that would
 * take one of them wait for it (containers.c). */
typedef struct nd_ct_going nd_ct_going;
/* The going container named @name, or NULL. */
nd_ct_going *nd_ct_going_by_name(nd_manager *m, const char *name);
/* One holding @a (NULL: any address) on network @net_id, or NULL. */
nd_ct_going *nd_ct_going_by_addr(nd_manager *m, const char *net_id, const nd_addr *a);
/* Whether the host-side interface names of a container with id @id
 * ("vnd" and its first 8 characters) are those of one in the table or
 * going. */
bool nd_ct_ifnames_taken(nd_manager *m, const char *id);
/* @fn(@userdata, 0) once @g is gone and its addresses are back, in the
 * order of the calls; -ECANCELED when netd stops first (answer nobody).
 * 0 or -ENOMEM. */
int nd_ct_going_wait(nd_ct_going *g, void (*fn)(void *userdata, int r), void *userdata);
/* Shutdown, after the reaper cancelled their teardown: forgotten. */
void nd_ct_going_free_all(nd_manager *m);
