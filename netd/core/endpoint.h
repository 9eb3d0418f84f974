/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file endpoint.h
 * The endpoint pipeline: the one way anything gets a network on this
 * host.  Every owner (netd containers, CNI sandboxes, Docker endpoints;
 * service VIPs and tasks next) describes its endpoint with an nd_ep_spec
 * and runs the stages it needs, always in this order:
 *
 *   RESERVE   addresses on the network (static or dynamic; this host's
 *             cluster blocks on overlays), prefix lengths, gateways, and
 *             the MAC when the owner gave none.  -EAGAIN: an overlay
 *             block is being claimed (nd_cluster_wait, then again).
 *   WIRE      the bridge port guarded first (only the endpoint's MAC and
 *             addresses pass, firewall.h), then the veth pair: its peer
 *             made inside the sandbox's namespace with addresses and
 *             routes, or left on the host for a runtime that moves it
 *             (Docker).
 *   NAMES     the endpoint's names in the embedded DNS, under the owner's
 *             key (any names the key had go first).
 *   ANNOUNCE  the endpoint's record for the other hosts (overlay
 *             networks only; cluster.h), under the owner's cluster id.
 *   PORTS     published host ports and their DNAT (publish.c).
 *
 * nd_endpoint_attach runs the asked stages in that order and, when one
 * fails, undoes the ones it ran; nd_endpoint_detach undoes stages in the
 * reverse order.  An owner may run stages at different moments (a
 * container reserves at create and wires at start; a CNI sandbox names and
 * announces once its record is stored).  The owner keeps its own record;
 * the address records it writes with it have one format for every owner
 * (nd_endpoint_record_value).
 *
 * The kernel is reached through nd_ep_kernel_ops (the manager's, set to
 * the real ones), so unit tests run the pipeline without root.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "nd-forward.h"
#include "ports.h"

typedef enum nd_ep_kind {
        ND_EP_CONTAINER = 0, /* the attach and detach histograms' owner label, metrics.c */
        ND_EP_CNI = 1,
        ND_EP_DOCKER = 2,
        _ND_EP_KIND_MAX,
} nd_ep_kind;

enum {
        ND_EP_RESERVE = 1 << 0,
        ND_EP_WIRE = 1 << 1,
        ND_EP_NAMES = 1 << 2,
        ND_EP_ANNOUNCE = 1 << 3,
        ND_EP_PORTS = 1 << 4,
};

typedef struct nd_ep_spec {
        nd_ep_kind kind;
        nd_network *net;
        nd_endpoint *ep;              /* the owner's; RESERVE fills its addresses */
        /* RESERVE */
        const nd_addr *want4, *want6; /* static addresses; NULL: dynamic */
        bool has_mac;                 /* ep->mac is the owner's; else derived */
        bool only_missing;            /* keep the addresses ep holds, reserve the families it
                                       * lacks (a container's start after its stop gave its
                                       * dynamic ones back) */
        /* WIRE */
        const char *netns;            /* the sandbox; NULL: the peer stays on the host */
        const char *peer_ifname;      /* the host-side peer's name (netns NULL) */
        bool default_route;
        bool new_ifname;              /* -EEXIST if the sandbox has ep->ifname already */
        /* NAMES */
        const char *dns_key;          /* NULL: no names */
        const char *const *names;     /* the owner's names; ep's aliases follow */
        size_t n_names;
        /* ANNOUNCE */
        const char *cluster_owner;    /* 64 hex (nd_id_derive); NULL: not announced */
        const char *name, *hostname;  /* in the record ("" : none) */
        const char *service;          /* the service it is a task of (NULL, "": none) */
        /* PORTS */
        nd_published *pub;
        const char *what;             /* "container 'x'", in messages */
        const nd_port_spec *ports;
        size_t n_ports;
        bool hold;                    /* hold the host ports (else only probe them) */
} nd_ep_spec;

/* The seam to the kernel. */
typedef struct nd_ep_kernel_ops {
        /* the port admits only @e's MAC and addresses; clear: forget it */
        int (*guard)(nd_manager *m, const nd_network *n, const nd_endpoint *e);
        void (*unguard)(nd_manager *m, const char *host_ifname);
        /* the veth pair with its peer in @netns (addresses, routes) or on
         * the host as @peer_ifname */
        int (*wire)(nd_manager *m, const nd_network *n, const nd_endpoint *e, const char *netns,
                    const char *peer_ifname, bool default_route, bool new_ifname);
        /* delete the pair now; 0 or -ENODEV when it was gone */
        int (*unwire)(nd_manager *m, const nd_endpoint *e);
        /* the link exists on the host */
        bool (*exists)(nd_manager *m, const char *host_ifname);
} nd_ep_kernel_ops;

extern const nd_ep_kernel_ops nd_ep_kernel_real;

int nd_endpoint_attach(nd_manager *m, const nd_ep_spec *s, unsigned stages, nd_diag *d);
void nd_endpoint_detach(nd_manager *m, const nd_ep_spec *s, unsigned stages);

/* WIRE undone now: the pair deleted, then the port's elements cleared;
 * 0, or -errno of the delete (-ENODEV: it was gone, elements cleared).
 * A pair deleted counts in the detach histogram of @kind (the delete
 * alone, as attach counts the wiring alone). */
int nd_endpoint_unwire(nd_manager *m, nd_ep_kind kind, const nd_endpoint *e);
/* WIRE undone off the loop: the pair deleted by the link reaper, the
 * port's elements cleared once it is gone, then @cb(@userdata, 0 or
 * -errno) on the loop (before returning without a reaper).  -ECANCELED:
 * netd is stopping, nothing else ran.  A pair deleted counts in the
 * detach histogram of @kind, from this call to the reaper's answer on
 * the loop (its queue and the grace period included). */
void nd_endpoint_unwire_async(nd_manager *m, nd_ep_kind kind, const nd_endpoint *e,
                              void (*cb)(void *userdata, int r), void *userdata);

/* The value of an address record ("/netd/v1/ipam/NET/ADDR"), the same
 * for every owner: {"Owner": @owner, "Created": "<unix seconds>"};
 * malloc'd, NULL when out of memory. */
char *nd_endpoint_record_value(const char *owner);
