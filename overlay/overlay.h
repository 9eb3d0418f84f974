/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file overlay.h
 * The data path of overlay networks on one host.
 *
 * Per overlay network the host has a bridge (made by netd/kernel/bridge.c,
 * as for local networks, holding the gateway address) and one tunnel port
 * on it, of one of two kinds behind one ops table (tunnel.h, private to
 * overlay/):
 *  - VXLAN (vxlan.c): a kernel vxlan device (VNI of the network, local
 *    address = the advertise address, learning off, ARP/ND proxy on).
 *    Every remote endpoint is a static FDB entry (MAC -> remote host) and
 *    a neighbour entry (IP -> MAC) on that device, so the kernel answers
 *    ARP and neighbour solicitations itself: no multicast, no flooding.
 *  - GRE (gre.c, encap=gre): transparent Ethernet bridging over GRE, key =
 *    VNI.  The kernel's gretap is not used (multi-peer gretap needs
 *    collect_md and per-packet metadata); netd carries the frames in
 *    userspace: a TAP port on the bridge and one raw IP protocol 47
 *    socket, both on the loop, with the same peer table and the same
 *    ARP/ND answers (frame.c) as VXLAN.
 * overlay.c holds what the kinds share: the networks, their peer tables
 * and status.
 *
 * Peers are (network, MAC, IPv4, IPv6, remote host address).  Adding and
 * removing is idempotent.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "prefix.h"

struct ev_loop;
struct nl_sock;

typedef struct nd_overlay nd_overlay;

#define ND_VXLAN_OVERHEAD 50   /* outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */
#define ND_GRE_OVERHEAD 42     /* outer IPv4 20 + GRE with key 8 + inner Ethernet 14 */
#define ND_GRE_MTU_MAX 9000    /* the userspace path's buffers hold a jumbo frame */

typedef struct nd_overlay_peer {
        uint8_t mac[6];
        nd_addr ip4, ip6;      /* family 0: none */
        nd_addr vtep;          /* the remote host's advertise address (IPv4) */
} nd_overlay_peer;

/* @local: this host's advertise address (IPv4).  @loop and @nl are
 * borrowed and must outlive the overlay. */
int nd_overlay_new(struct ev_loop *loop, struct nl_sock *nl, const nd_addr *local, uint16_t vxlan_port,
                   nd_overlay **ret);
nd_overlay *nd_overlay_free(nd_overlay *o);

/* The tunnel port of network @netid (64 hex) on bridge @bridge: created
 * (or repaired) and enslaved.  @gre: GRE, else VXLAN; a network keeps the
 * kind and @vni of its first call.  @mtu: the network's MTU. */
int nd_overlay_net_up(nd_overlay *o, const char *netid, const char *bridge, uint32_t vni, bool gre, unsigned mtu);
/* Removes the tunnel port and forgets the network's peers. */
void nd_overlay_net_down(nd_overlay *o, const char *netid);

int nd_overlay_peer_add(nd_overlay *o, const char *netid, const nd_overlay_peer *p);
int nd_overlay_peer_del(nd_overlay *o, const char *netid, const nd_overlay_peer *p);

/* The device name of a network's tunnel port ("vx-<id12>" / "gt-<id12>"). */
void nd_overlay_ifname(const char *netid, bool gre, char buf[static 16]);
/* {"Encap", "Device", "VNI", "Peers", and for GRE "Frames" counters} of
 * network @netid, or NULL.  The caller owns the reference. */
json_t *nd_overlay_status(nd_overlay *o, const char *netid);

/* The MTU of the link that holds address @a, or <0 (vxlan.c). */
int nd_nl_addr_mtu(struct nl_sock *sk, const nd_addr *a);
