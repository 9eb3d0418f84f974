/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file tunnel.h
 * The seam between the generic overlay table (overlay.c) and the tunnel
 * kinds (vxlan.c: kernel vxlan devices; gre.c: GRE carried in userspace),
 * in the manner of networkd's NetDevVTable.  Private to overlay/: other
 * folders use overlay.h only.
 *
 * Contract:
 *  - overlay.c owns the networks, their peer arrays and MAC indexes; a kind
 *    never changes them.  It is told of every change through its ops, after
 *    the table already holds it (peer_add) or no longer does (peer_del).
 *  - A kind's network is one allocation of @net_size bytes, zeroed, with
 *    the generic nd_ovl_net first; the kind recovers its own with
 *    container_of.  net_init runs once on it before anything else.
 *  - net_up creates or repairs the port and may be called again on a live
 *    network; on failure of the first call the network is freed (net_free)
 *    and forgotten.
 *  - net_down removes what would outlive the process (a kernel device);
 *    net_free releases what the process holds (fds, watchers) and runs for
 *    every network, at net down and when the overlay is freed.  Neither
 *    frees the network itself.
 *  - State one kind shares between its networks (GRE's raw socket) lives
 *    in nd_overlay.shared[kind]: the kind fills it when it needs it,
 *    overlay.c hands it to shared_free once, after every network is freed.
 *  - Optional ops are NULL: net_init, net_down, net_free, peer_add,
 *    peer_del, status, shared_free.
 */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay.h"

typedef struct nd_ovl_net nd_ovl_net;
typedef struct nd_tunnel_ops nd_tunnel_ops;

typedef enum nd_tunnel_kind {
        ND_TUNNEL_VXLAN,
        ND_TUNNEL_GRE,
        _ND_TUNNEL_KIND_MAX,
        _ND_TUNNEL_KIND_INVALID = -EINVAL,
} nd_tunnel_kind;

struct nd_tunnel_ops {
        const char *kind;       /* "vxlan", "gre" */
        const char *encap;      /* "Encap" of the status */
        const char *prefix;     /* device name: "<prefix>-<id12>" */
        unsigned overhead;      /* bytes of encapsulation on the underlay */
        size_t net_size;        /* >= sizeof(nd_ovl_net), which comes first */

        void (*net_init)(nd_ovl_net *n);
        /* The port of @n on bridge @bridge, created or repaired, enslaved,
         * MTU @mtu, up.  0 or -errno. */
        int (*net_up)(nd_ovl_net *n, const char *bridge, unsigned mtu);
        void (*net_down)(nd_ovl_net *n);
        void (*net_free)(nd_ovl_net *n);
        /* @p was added to (or replaced in) / removed from @n's table. */
        int (*peer_add)(nd_ovl_net *n, const nd_overlay_peer *p);
        int (*peer_del)(nd_ovl_net *n, const nd_overlay_peer *p);
        /* Adds the kind's own fields to @n's status object @j. */
        void (*status)(const nd_ovl_net *n, json_t *j);
        void (*shared_free)(nd_overlay *o, void *shared);
};

struct nd_ovl_net {
        char id[65];
        char dev[16];
        uint32_t vni;
        int ifindex;            /* of the port, set by the kind */
        const nd_tunnel_ops *ops;
        nd_overlay *o;
        nd_overlay_peer *peers;
        size_t n_peers, cap_peers;
        /* MAC -> index in peers: open addressing, linear probing; a key is
         * the MAC + 1 (0: empty, UINT64_MAX: deleted) */
        uint64_t *mkey;
        uint32_t *mval;
        size_t mcap, mused;
};

struct nd_overlay {
        struct ev_loop *loop;   /* borrowed, for the kinds */
        struct nl_sock *nl;     /* borrowed, for the kinds */
        nd_addr local;
        uint16_t port;          /* VXLAN UDP port */
        const nd_tunnel_ops *kinds[_ND_TUNNEL_KIND_MAX];
        void *shared[_ND_TUNNEL_KIND_MAX];
        nd_ovl_net **nets;
        size_t n_nets, cap_nets;
};

extern const nd_tunnel_ops nd_tunnel_vxlan;
extern const nd_tunnel_ops nd_tunnel_gre;

/* An overlay whose kinds are @kinds (borrowed, static); nd_overlay_new
 * (tunnel.c) passes the real ones, unit tests fakes.  NULL entries are
 * kinds this overlay refuses with -EOPNOTSUPP. */
int nd_overlay_new_kinds(struct ev_loop *loop, struct nl_sock *nl, const nd_addr *local, uint16_t vxlan_port,
                         const nd_tunnel_ops *const kinds[static _ND_TUNNEL_KIND_MAX], nd_overlay **ret);
/* "<prefix>-<first 12 of netid>" */
void nd_ovl_ifname(const nd_tunnel_ops *ops, const char *netid, char buf[static 16]);

/* Lookups for the kinds; borrowed pointers, valid until the table changes. */
const nd_overlay_peer *nd_ovl_net_peer_by_mac(const nd_ovl_net *n, const uint8_t mac[static 6]);
/* @ip: 4 or 16 bytes by @family */
const nd_overlay_peer *nd_ovl_net_peer_by_ip(const nd_ovl_net *n, int family, const uint8_t *ip);
/* The first network of kind @ops with VNI @vni, or NULL. */
nd_ovl_net *nd_overlay_net_by_vni(nd_overlay *o, const nd_tunnel_ops *ops, uint32_t vni);

/* ---- kernel helpers (vxlan.c) ---- */
int nd_vxlan_ensure(struct nl_sock *sk, const char *name, uint32_t vni, const nd_addr *local, uint16_t port,
                    int master, unsigned mtu);
/* A static FDB entry @mac -> @dst on vxlan device @ifindex (add or delete). */
int nd_nl_fdb(struct nl_sock *sk, int ifindex, const uint8_t mac[6], const nd_addr *dst, bool add);
/* A permanent neighbour entry @ip -> @mac on @ifindex (add or delete). */
int nd_nl_neigh(struct nl_sock *sk, int ifindex, const nd_addr *ip, const uint8_t mac[6], bool add);
/* Attach @ifindex to bridge @master, MTU @mtu, up. */
int nd_nl_link_enslave(struct nl_sock *sk, int ifindex, int master, unsigned mtu);
