/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VXLAN tunnel kind, all in the kernel: per network a vxlan device,
 * and per peer a static FDB entry and permanent neighbour entries on it,
 * programmed over rtnetlink.  Also the kernel helpers the GRE kind shares
 * (enslaving its TAP) and the underlay MTU lookup of overlay.h.
 *
 * FDB and neighbour messages are built by hand (struct ndmsg + NDA_LLADDR
 * + NDA_DST): libnl's neighbour object fills the family from the
 * destination address, which is wrong for bridge FDB entries (AF_BRIDGE
 * with an IPv4 NDA_DST).
 */
#include <errno.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "nl-host.h"
#include "nl-link.h"
#include "tunnel.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free);

static struct nl_addr *to_nl(const nd_addr *a) {
        return nl_addr_build(a->family, a->b, a->family == AF_INET ? 4 : 16);
}

int nd_nl_link_enslave(struct nl_sock *sk, int ifindex, int master, unsigned mtu) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *cur = NULL, *chg = rtnl_link_alloc();
        int r;
        if (!chg)
                return -ENOMEM;
        r = rtnl_link_get_kernel(sk, ifindex, NULL, &cur);
        if (r < 0)
                return nd_nl_errno(r);
        if (master)
                rtnl_link_set_master(chg, master);
        if (mtu)
                rtnl_link_set_mtu(chg, mtu);
        rtnl_link_set_flags(chg, IFF_UP);
        return nd_nl_errno(rtnl_link_change(sk, cur, chg, 0));
}

int nd_vxlan_ensure(struct nl_sock *sk, const char *name, uint32_t vni, const nd_addr *local, uint16_t port,
                    int master, unsigned mtu) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = rtnl_link_vxlan_alloc(), *cur = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *la = to_nl(local);
        uint32_t have = 0;
        int r;

        if (!l || !la)
                return -ENOMEM;
        r = rtnl_link_get_kernel(sk, 0, name, &cur);
        if (r == 0) {
                /* one of ours from before a restart, or a stranger */
                if (!rtnl_link_is_vxlan(cur) || rtnl_link_vxlan_get_id(cur, &have) < 0 || have != vni)
                        return -ENOTUNIQ;
                return nd_nl_link_enslave(sk, rtnl_link_get_ifindex(cur), master, mtu);
        }
        rtnl_link_set_name(l, name);
        rtnl_link_vxlan_set_id(l, vni);
        rtnl_link_vxlan_set_local(l, la);
        rtnl_link_vxlan_set_port(l, port);
        rtnl_link_vxlan_set_learning(l, 0);
        /* answer ARP and neighbour solicitations from the neighbour table */
        rtnl_link_vxlan_set_proxy(l, 1);
        rtnl_link_vxlan_set_udp_csum(l, 0);
        if (mtu)
                rtnl_link_set_mtu(l, mtu);
        rtnl_link_set_master(l, master);
        rtnl_link_set_flags(l, IFF_UP);
        r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0)
                return nd_nl_errno(r);
        r = rtnl_link_get_kernel(sk, 0, name, &cur);
        if (r < 0)
                return nd_nl_errno(r);
        return nd_nl_link_enslave(sk, rtnl_link_get_ifindex(cur), master, mtu);
}

static int neigh_msg(struct nl_sock *sk, int family, int ifindex, uint16_t state, uint8_t flags,
                     const uint8_t mac[6], const nd_addr *dst, bool add) {
        struct ndmsg ndm = {
                .ndm_family = (uint8_t) family,
                .ndm_ifindex = ifindex,
                .ndm_state = state,
                .ndm_flags = flags,
        };
        int r;
        struct nl_msg *msg = nlmsg_alloc_simple(add ? RTM_NEWNEIGH : RTM_DELNEIGH,
                                                add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ndm, sizeof(ndm), NLMSG_ALIGNTO) < 0 ||
            (mac && nla_put(msg, NDA_LLADDR, 6, mac) < 0) ||
            (dst && nla_put(msg, NDA_DST, dst->family == AF_INET ? 4 : 16, dst->b) < 0)) {
                nlmsg_free(msg);
                return -ENOMEM;
        }
        r = nl_send_sync(sk, msg);
        r = nd_nl_errno(r);
        if (!add && (r == -ENOENT || r == -ENODEV))
                return 0;
        return r;
}

int nd_nl_fdb(struct nl_sock *sk, int ifindex, const uint8_t mac[6], const nd_addr *dst, bool add) {
        return neigh_msg(sk, AF_BRIDGE, ifindex, NUD_PERMANENT | NUD_NOARP, NTF_SELF, mac, dst, add);
}

int nd_nl_neigh(struct nl_sock *sk, int ifindex, const nd_addr *ip, const uint8_t mac[6], bool add) {
        return neigh_msg(sk, ip->family, ifindex, NUD_PERMANENT, 0, add ? mac : NULL, ip, add);
}

int nd_nl_addr_mtu(struct nl_sock *sk, const nd_addr *a) {
        _cleanup_(nl_cache_freep) struct nl_cache *addrs = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *want = to_nl(a);
        int ifindex = 0, r;

        if (!want)
                return -ENOMEM;
        r = rtnl_addr_alloc_cache(sk, &addrs);
        if (r < 0)
                return nd_nl_errno(r);
        for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *ra = (struct rtnl_addr *) o;
                struct nl_addr *local = rtnl_addr_get_local(ra);
                if (local && nl_addr_get_family(local) == a->family &&
                    nl_addr_get_len(local) == nl_addr_get_len(want) &&
                    memcmp(nl_addr_get_binary_addr(local), a->b, nl_addr_get_len(want)) == 0)
                        ifindex = rtnl_addr_get_ifindex(ra);
        }
        if (!ifindex)
                return -EADDRNOTAVAIL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
        r = rtnl_link_get_kernel(sk, ifindex, NULL, &l);
        if (r < 0)
                return nd_nl_errno(r);
        return (int) rtnl_link_get_mtu(l);
}

/* ---- the kind ---- */

static void vxlan_peer_program(nd_ovl_net *n, const nd_overlay_peer *p) {
        nd_nl_fdb(n->o->nl, n->ifindex, p->mac, &p->vtep, true);
        if (p->ip4.family)
                nd_nl_neigh(n->o->nl, n->ifindex, &p->ip4, p->mac, true);
        if (p->ip6.family)
                nd_nl_neigh(n->o->nl, n->ifindex, &p->ip6, p->mac, true);
}

static int vxlan_net_up(nd_ovl_net *n, const char *bridge, unsigned mtu) {
        nd_overlay *o = n->o;
        int master, r;

        master = nd_nl_link_ifindex(o->nl, bridge);
        if (master < 0)
                return master;
        r = nd_vxlan_ensure(o->nl, n->dev, n->vni, &o->local, o->port, master, mtu);
        if (r < 0)
                return r;
        r = n->ifindex = nd_nl_link_ifindex(o->nl, n->dev);
        if (r < 0)
                return r;
        /* a repaired device lost its entries: program them again */
        for (size_t i = 0; i < n->n_peers; i++)
                vxlan_peer_program(n, &n->peers[i]);
        return 0;
}

static void vxlan_net_down(nd_ovl_net *n) {
        nd_nl_link_delete(n->o->nl, n->dev);
}

static int vxlan_peer_add(nd_ovl_net *n, const nd_overlay_peer *p) {
        int r = nd_nl_fdb(n->o->nl, n->ifindex, p->mac, &p->vtep, true);
        if (r == 0 && p->ip4.family)
                r = nd_nl_neigh(n->o->nl, n->ifindex, &p->ip4, p->mac, true);
        if (r == 0 && p->ip6.family)
                r = nd_nl_neigh(n->o->nl, n->ifindex, &p->ip6, p->mac, true);
        return r;
}

static int vxlan_peer_del(nd_ovl_net *n, const nd_overlay_peer *p) {
        int r = nd_nl_fdb(n->o->nl, n->ifindex, p->mac, &p->vtep, false);
        if (p->ip4.family)
                nd_nl_neigh(n->o->nl, n->ifindex, &p->ip4, p->mac, false);
        if (p->ip6.family)
                nd_nl_neigh(n->o->nl, n->ifindex, &p->ip6, p->mac, false);
        return r;
}

/* The devices outlive netd (net_free has nothing to release): endpoints
 * keep working while it restarts, and net_up adopts them again. */
const nd_tunnel_ops nd_tunnel_vxlan = {
        .kind = "vxlan",
        .encap = "vxlan",
        .prefix = "vx",
        .overhead = ND_VXLAN_OVERHEAD,
        .net_size = sizeof(nd_ovl_net),
        .net_up = vxlan_net_up,
        .net_down = vxlan_net_down,
        .peer_add = vxlan_peer_add,
        .peer_del = vxlan_peer_del,
};
