/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file bridge.h
 * The bridge driver: one Linux bridge per network (name from the
 * bridge.name option, else "nd-" + the first 12 hex of the id), carrying
 * the gateway addresses; one veth pair per endpoint, host end enslaved to
 * the bridge, container end created directly in the sandbox namespace
 * under its final name with a MAC derived from its IPv4 address.
 * Everything goes through libnl (nl-link.h); all calls are idempotent
 * enough to serve both first setup and repair after a restart.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nd-forward.h"

struct nl_sock;
struct nd_endpoint;

void nd_bridge_name(const nd_network *n, char *buf, size_t size);
/* Ensure the bridge exists, is up and carries the gateways. */
int nd_bridge_setup(struct nl_sock *sk, const nd_network *n);
int nd_bridge_teardown(struct nl_sock *sk, const nd_network *n);
/* A removed network's bridge, out of service at once and its name free
 * for a new network (the same bridge.name, say): down (its routes go with
 * it) and renamed to ND_BRIDGE_RETIRED_PREFIX + 12 hex of the network's
 * id.  Deleting it costs an RCU grace period, so the caller has it
 * deleted by the returned ifindex off the loop (link-reaper.h).  -ENODEV:
 * no bridge; other -errno: nothing renamed, teardown it instead.  A
 * retired bridge left by a netd that stopped before deleting it is down
 * and nobody's: the next start deletes it (nd_bridge_retired_list). */
#define ND_BRIDGE_RETIRED_PREFIX "ndx"
int nd_bridge_retire(struct nl_sock *sk, const nd_network *n);
void nd_bridge_retired_name(const nd_network *n, char *buf, size_t size);
/* The ifindexes of retired bridges (down, named so) in the socket's
 * namespace, at most @max: a netd that stopped before its reaper deleted
 * them left them.  Returns how many, or -errno. */
int nd_bridge_retired_list(struct nl_sock *sk, int *ifindexes, size_t max);
/* @ns_sk: a netlink socket inside the sandbox whose fd is @ns_fd. */
int nd_bridge_attach(struct nl_sock *sk, const nd_network *n, const struct nd_endpoint *ep, int ns_fd,
                     struct nl_sock *ns_sk, bool default_route);
/* A veth pair with both ends here, host end on the bridge: the peer is
 * moved into its sandbox by someone else (dockerd, Docker's plugin API). */
int nd_bridge_attach_host(struct nl_sock *sk, const nd_network *n, const char *host_name, const char *peer_name,
                          const uint8_t peer_mac[6]);
int nd_bridge_detach(struct nl_sock *sk, const struct nd_endpoint *ep);
/* Move the sandbox's default routes (@ns_sk inside it) to @ep, whose
 * interface exists; nothing for an internal network. */
int nd_bridge_default_route(struct nl_sock *ns_sk, const nd_network *n, const struct nd_endpoint *ep);
/* 02:42 + the IPv4 address, as Docker does; random (locally administered)
 * when there is none. */
void nd_bridge_mac(const struct nd_endpoint *ep, uint8_t mac[6]);
