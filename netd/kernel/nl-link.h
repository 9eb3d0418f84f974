/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file nl-link.h
 * Links, addresses and routes through libnl-3 on a caller-owned
 * NETLINK_ROUTE socket (which may live in another namespace).  Every call is
 * one request with its ack; creates are idempotent where that is safe
 * (-EEXIST is success for addresses and existing bridges).  Errors are
 * -errno, converted once by nd_nl_errno().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "prefix.h"

struct nl_sock;

/* Create bridge @name (or accept an existing bridge of that name), set
 * @mtu (0: leave) and bring it up.  Returns its ifindex; -ENOTUNIQ when a
 * link that is no bridge has the name. */
int nd_nl_bridge_ensure(struct nl_sock *sk, const char *name, unsigned mtu);
/* The ifindex of link @name, or -ENODEV when there is no such link. */
int nd_nl_link_ifindex(struct nl_sock *sk, const char *name);
/* The MAC of link @name; -ENODEV when there is no such link. */
int nd_nl_link_mac(struct nl_sock *sk, const char *name, uint8_t mac[6]);
/* Delete a link by name; 0 if it does not exist. */
int nd_nl_link_delete(struct nl_sock *sk, const char *name);
/* Take link @name out of service without deleting it: down, then renamed
 * to @new_name, so that its name is free at once.  Returns its ifindex (to
 * delete it by), -ENODEV when there is no such link, -EEXIST when
 * @new_name is taken. */
int nd_nl_link_retire(struct nl_sock *sk, const char *name, const char *new_name);
int nd_nl_link_up(struct nl_sock *sk, const char *name);
/* Set link @ifindex up, without looking it up first. */
int nd_nl_link_up_index(struct nl_sock *sk, int ifindex);
/* Let frames leave a bridge port they came in on (a container reaching
 * itself through a published port). */
int nd_nl_bridge_port_hairpin(struct nl_sock *sk, int ifindex);
/* A veth pair: @host_name (up if @host_up) enslaved to @master_ifindex (0:
 * none), in the socket's namespace; @peer_name created directly inside
 * @peer_ns_fd (-1: the socket's namespace too, left down) with @peer_mac
 * (NULL: random) and @mtu (0: default).  Returns the ifindex of @host_name,
 * or 0 when the kernel did not say (older than 6.1): look it up then. */
int nd_nl_veth_create(struct nl_sock *sk, const char *host_name, int master_ifindex, bool host_up,
                      const char *peer_name, int peer_ns_fd, const uint8_t *peer_mac, unsigned mtu);
/* Address @a/@prefixlen on @ifindex; -EEXIST counts as success. */
int nd_nl_addr_add(struct nl_sock *sk, int ifindex, const nd_addr *a, unsigned prefixlen);
/* Remove address @a/@prefixlen from @ifindex; 0 also when it was not there
 * (a service VIP withdrawn twice, or the bridge already gone: -ENODEV). */
int nd_nl_addr_del(struct nl_sock *sk, int ifindex, const nd_addr *a, unsigned prefixlen);
/* Default route via @gw on @ifindex with @metric (0: the kernel's
 * default); it replaces a default route of the same metric. */
int nd_nl_route_default(struct nl_sock *sk, int ifindex, const nd_addr *gw, uint32_t metric);
