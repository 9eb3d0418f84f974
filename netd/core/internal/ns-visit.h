/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file ns-visit.h
 * One visit of a sandbox's network namespace, off the loop: the veth
 * pairs wired into it (endpoint.h's WIRE, with the kernel's real
 * operations), its loopback up, and a resolver's two listeners at
 * 127.0.0.11 with the redirect table pointing at them (nft-dns.h), all
 * with one namespace switch of the worker thread (manager's `worker`).
 * Each of these takes the RTNL lock or commits to nftables, and a
 * concurrent link delete holds that lock through an RCU grace period:
 * on the loop, DNS answers waited for them.
 *
 * The loop prepares the visit (the ports guarded, copies of what the
 * worker reads), the worker runs it, and the callback gets it back on the
 * loop, where the listeners become a DNS sandbox (nd_visit_dns_take).
 * Without a worker, or with a fake kernel (unit tests), the visit runs on
 * the loop, through the fake kernel's ops, before nd_visit_submit returns.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "endpoint.h"
#include "manager-internal.h"
#include "network.h"

struct nd_nft;
struct nd_dns_sandbox;

typedef struct nd_visit_ep {
        nd_network net;         /* a copy (options copied, no allocators): the table may change meanwhile */
        nd_endpoint ep;
        bool default_route;
        bool new_ifname;        /* the namespace must not have ep.ifname yet */
        /* got */
        int r;                  /* 0, or -errno of its wiring (none made when an earlier one failed) */
        double secs;            /* its wiring took, for the attach histogram */
        bool wired;             /* its pair exists: the owner's teardown deletes it */
        bool ns_taken;          /* -EEXIST: the namespace has ep.ifname */
        bool host_taken;        /* -EEXIST: a link named ep.host_ifname exists, not made by this visit */
} nd_visit_ep;

typedef struct nd_visit nd_visit;
typedef void (*nd_visit_fn)(void *userdata, nd_visit *v);

struct nd_visit {
        nd_manager *m;
        char netns[PATH_MAX];
        bool create;            /* make the namespace, bound at netns, first (an existing one is used) */
        bool lo_up;             /* bring lo up (a resolver listens there) */
        bool dns;               /* listeners and the redirect table */
        bool dns_remove;        /* only: the redirect table deleted (no endpoints) */
        nd_ep_kind kind;        /* the owner, for the attach histogram */
        nd_visit_fn cb;
        void *userdata;
        /* got */
        int lo_r;               /* lo up: 0, or -errno (the rest still ran) */
        int r;                  /* entering the namespace, or the first endpoint's failure */
        int dns_r;              /* the resolver's: 0, or -errno (the endpoints still wired) */
        bool dns_port53;        /* no redirect (no nf_tables): listening on 53 itself */
        int ufd, tfd;
        uint16_t udp_port, tcp_port;
        struct nd_nft *nft;     /* closed by nd_visit_free, off the loop */
        size_t n_eps;
        nd_visit_ep eps[];
};

/* A visit of @netns for @n_eps endpoints, filled by the caller (the
 * endpoints with nd_visit_ep_set). */
nd_visit *nd_visit_new(nd_manager *m, const char *netns, size_t n_eps);
/* Copies @n and @e into endpoint @i; -ENOMEM. */
int nd_visit_ep_set(nd_visit *v, size_t i, const nd_network *n, const nd_endpoint *e, bool default_route,
                    bool new_ifname);
/* Guards every endpoint's port (firewall.h) and runs the visit on the
 * worker; @cb(@userdata, v) on the loop (v->r -ECANCELED: netd stopping,
 * nothing ran).  The callback owns v.  When the visit failed, the ports of
 * the endpoints it did not wire had their guards cleared (unless the link
 * was someone else's); the owner tears down the ones it wired. */
void nd_visit_submit(nd_visit *v, nd_visit_fn cb, void *userdata);
/* The resolver of a visit with dns: the listeners as a DNS sandbox, or
 * NULL (v->dns_r said why). */
struct nd_dns_sandbox *nd_visit_dns_take(nd_visit *v);
nd_visit *nd_visit_free(nd_visit *v);
