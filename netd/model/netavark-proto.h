/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file netavark-proto.h
 * What Podman hands its network backend (netavark's interface, as of
 * netavark 1.4 and Podman 4.3): the network options of one container as
 * JSON on stdin, turned into the calls netd-netavark makes to the daemon,
 * and the daemon's replies turned back into netavark's status block.  Pure
 * (no I/O, no getenv), so it is fuzzed (tests/fuzz/fuzz-netavark-proto.c);
 * netavark.c does the reading, the HTTP and the output.
 *
 * One Podman network of the container becomes one attachment (a sandbox,
 * POST /v1/sandboxes, keyed by container id and interface name) on one
 * netd network:
 *  - by default the netd network of the same name, created from Podman's
 *    definition (subnets, gateways, internal, IPv6, mtu, bridge name) and
 *    labelled ND_NV_LABEL, so that the last teardown may remove it;
 *  - with the option "netd.network" (ND_NV_OPTION) in the Podman network's
 *    options, that existing netd network (an overlay, say): never created
 *    nor removed by the front end, its addresses chosen by netd (Podman's
 *    static_ips are ignored, the status reports what netd gave).
 * Published ports go on the first network (in name order) that is not
 * internal: netd publishes a host port for one owner only.
 *
 * Invariants: a failure is -errno with a message in the nd_diag (the text
 * goes into netavark's {"error": ...}); a success has 1..ND_NV_NETS_MAX
 * networks, each with an attach body naming the container, its interface
 * and netd network, and a request path of exactly
 * /v1/sandboxes/CONTAINER_ID/IFNAME.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define ND_NV_NETS_MAX 32
#define ND_NV_OPTION "netd.network"
#define ND_NV_LABEL "netd.podman.network"
/* the resolver netd opens in every sandbox */
#define ND_NV_RESOLVER "127.0.0.11"

typedef struct nd_nv_net {
        const char *name;         /* Podman's network name, borrowed */
        const char *netd_name;    /* the netd network, borrowed */
        const char *ifname;       /* the interface in the container, borrowed */
        bool operator_net;        /* named by ND_NV_OPTION: never created or removed */
        bool dns;                 /* dns_enabled */
        json_t *create;           /* owned: POST /v1/networks body; NULL when operator_net */
        json_t *attach;           /* owned: POST /v1/sandboxes body */
        char path[192];           /* /v1/sandboxes/CID/IFNAME */
} nd_nv_net;

typedef struct nd_nv_call {
        json_t *opts;             /* owned: the decoded input */
        const char *container_id, *container_name;   /* borrowed from opts */
        nd_nv_net *nets;          /* owned, sorted by Podman's name */
        size_t n_nets;
} nd_nv_call;

/* Parse netavark's network options (@input, @len bytes) for the namespace
 * @netns.  0 and *ret, or -EINVAL/-ENOMEM with the reason in @d; *ret is
 * released with nd_nv_call_done() either way. */
int nd_nv_parse(const char *input, size_t len, const char *netns, nd_nv_call *ret, nd_diag *d);
void nd_nv_call_done(nd_nv_call *c);

/* Drop Podman's static addresses from @n's attach body: netd picks them
 * (a netd network the operator made, whose subnets need not be Podman's). */
void nd_nv_net_forget_static_ips(nd_nv_net *n);

/* netavark's status block for @n from netd's sandbox record @sbx
 * (borrowed): {"interfaces": {IFNAME: {"mac_address", "subnets": [{"ipnet",
 * "gateway"}]}}, "dns_search_domains": [], "dns_server_ips": [...]}.  A new
 * reference, NULL when @sbx lacks its interface or MAC. */
json_t *nd_nv_status_block(const nd_nv_net *n, const json_t *sbx);

/* Is the netd network record @net (GET /v1/networks/NAME, borrowed) one
 * the front end created (labelled ND_NV_LABEL)? */
bool nd_nv_network_is_ours(const json_t *net);

/* `create`: complete Podman's network definition {"network": {...},
 * "used": {"interfaces": [...], "subnets": [...], "names": [...]},
 * "options": {"subnet_pools": [{"base", "size"}], "default_interface_name"}}
 * (a bare network object is taken too): the driver (bridge), the bridge
 * name (the first default_interface_name+N not used), IPv6 from the
 * subnets, the gateways (first address), and the options checked.  A
 * network without subnets gets the first IPv4 subnet of the pools that no
 * used subnet overlaps.  0 and the network in *ret (new reference), or
 * -EINVAL/-ENOMEM with the reason in @d. */
int nd_nv_network_complete(const char *input, size_t len, json_t **ret, nd_diag *d);
