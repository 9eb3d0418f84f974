/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <sys/random.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "nl-host.h"
#include "nl-link.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cb *, nl_cb_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free);

int nd_nl_link_ifindex(struct nl_sock *sk, const char *name) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
        int r = rtnl_link_get_kernel(sk, 0, name, &l);
        if (r < 0)
                return r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV ? -ENODEV : nd_nl_errno(r);
        return rtnl_link_get_ifindex(l);
}

int nd_nl_link_mac(struct nl_sock *sk, const char *name, uint8_t mac[6]) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = NULL;
        struct nl_addr *a;
        int r = rtnl_link_get_kernel(sk, 0, name, &l);
        if (r < 0)
                return r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV ? -ENODEV : nd_nl_errno(r);
        a = rtnl_link_get_addr(l);
        if (!a || nl_addr_get_len(a) != 6)
                return -EADDRNOTAVAIL;
        memcpy(mac, nl_addr_get_binary_addr(a), 6);
        return 0;
}

int nd_nl_link_up(struct nl_sock *sk, const char *name) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *cur = NULL, *chg = rtnl_link_alloc();
        int r;
        if (!chg)
                return -ENOMEM;
        r = rtnl_link_get_kernel(sk, 0, name, &cur);
        if (r < 0)
                return nd_nl_errno(r);
        rtnl_link_set_flags(chg, IFF_UP);
        return nd_nl_errno(rtnl_link_change(sk, cur, chg, 0));
}

int nd_nl_link_up_index(struct nl_sock *sk, int ifindex) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = IFF_UP,
                                 .ifi_change = IFF_UP };
        _cleanup_(nlmsg_freep) struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
        int r;

        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
                return -ENOMEM;
        r = nl_send_auto_complete(sk, msg);
        if (r < 0)
                return nd_nl_errno(r);
        return nd_nl_errno(nl_wait_for_ack(sk));
}

int nd_nl_bridge_ensure(struct nl_sock *sk, const char *name, unsigned mtu) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = rtnl_link_bridge_alloc(), *cur = NULL;
        int r;

        if (!l)
                return -ENOMEM;
        rtnl_link_set_name(l, name);
        if (mtu)
                rtnl_link_set_mtu(l, mtu);
        rtnl_link_set_flags(l, IFF_UP);
        /* A bridge without an address of its own takes the lowest of its
         * ports' and changes it whenever that port goes: every neighbour
         * entry a container holds for the gateway (and a service VIP)
         * then points at a MAC nobody answers to, until the entry ages
         * out, tens of seconds later.  A random one of its own stays. */
        uint8_t mac[6];
        _cleanup_(nl_addr_putp) struct nl_addr *hw = NULL;
        if (getrandom(mac, sizeof(mac), 0) == (ssize_t) sizeof(mac)) {
                mac[0] = (uint8_t) ((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
                hw = nl_addr_build(AF_LLC, mac, sizeof(mac));
                if (hw)
                        rtnl_link_set_addr(l, hw);
        }
        r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0 && r != -NLE_EXIST)
                return nd_nl_errno(r);
        r = rtnl_link_get_kernel(sk, 0, name, &cur);
        if (r < 0)
                return nd_nl_errno(r);
        if (!rtnl_link_is_bridge(cur))
                return -ENOTUNIQ; /* a non-bridge link holds the name */
        if (!(rtnl_link_get_flags(cur) & IFF_UP) || (mtu && rtnl_link_get_mtu(cur) != mtu)) {
                _cleanup_(rtnl_link_putp) struct rtnl_link *chg = rtnl_link_alloc();
                if (!chg)
                        return -ENOMEM;
                rtnl_link_set_flags(chg, IFF_UP);
                if (mtu)
                        rtnl_link_set_mtu(chg, mtu);
                r = rtnl_link_change(sk, cur, chg, 0);
                if (r < 0)
                        return nd_nl_errno(r);
        }
        return rtnl_link_get_ifindex(cur);
}

/* RTM_NEWLINK on @ifindex: @flags under @change, and the name @name
 * (NULL: kept). */
static int link_set(struct nl_sock *sk, int ifindex, unsigned flags, unsigned change, const char *name) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = flags,
                                 .ifi_change = change };
        _cleanup_(nlmsg_freep) struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
        int r;

        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
            (name && nla_put_string(msg, IFLA_IFNAME, name) < 0))
                return -ENOMEM;
        r = nl_send_auto_complete(sk, msg);
        if (r < 0)
                return nd_nl_errno(r);
        return nd_nl_errno(nl_wait_for_ack(sk));
}

int nd_nl_link_retire(struct nl_sock *sk, const char *name, const char *new_name) {
        int ifindex = nd_nl_link_ifindex(sk, name), r;
        if (ifindex < 0)
                return ifindex;
        /* the kernel renames only a link that is down (-EBUSY) */
        r = link_set(sk, ifindex, 0, IFF_UP, NULL);
        if (r >= 0)
                r = link_set(sk, ifindex, 0, 0, new_name);
        return r < 0 ? r : ifindex;
}

int nd_nl_link_delete(struct nl_sock *sk, const char *name) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = rtnl_link_alloc();
        int r;
        if (!l)
                return -ENOMEM;
        rtnl_link_set_name(l, name);
        r = rtnl_link_delete(sk, l);
        if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
                return 0;
        return nd_nl_errno(r);
}

struct echo {
        const char *name;
        int ifindex;
        bool acked;
};

static int on_echo(struct nl_msg *msg, void *arg) {
        struct echo *e = arg;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct nlattr *tb[IFLA_MAX + 1];

        if (h->nlmsg_type != RTM_NEWLINK ||
            nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0 || !tb[IFLA_IFNAME])
                return NL_SKIP;
        if (strcmp(nla_get_string(tb[IFLA_IFNAME]), e->name) == 0)
                e->ifindex = ((struct ifinfomsg *) nlmsg_data(h))->ifi_index;
        return NL_OK;
}

static int on_echo_ack(struct nl_msg *msg, void *arg) {
        (void) msg;
        ((struct echo *) arg)->acked = true;
        return NL_STOP;
}

/* Add link @l (named @name) and return its ifindex from the kernel's echo
 * of the request (NLM_F_ECHO, Linux 6.1 and later), or 0 when the kernel
 * sent none.  Asking for the ifindex afterwards (RTM_GETLINK) costs more
 * than the round trip: a get first runs the link's pending carrier event
 * (linkwatch_sync_dev), which for a bridge port walks every port of the
 * bridge and the whole IPv6 routing table of the namespace, so an attach
 * grew with the number of containers on the host. */
static int link_add_echo(struct nl_sock *sk, struct rtnl_link *l, const char *name, int flags) {
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        struct echo e = { .name = name };
        int r;

        r = rtnl_link_build_add_request(l, flags, &msg);
        if (r < 0)
                return nd_nl_errno(r);
        nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_ECHO;
        /* nl_socket_get_cb() hands out a reference of its own */
        _cleanup_(nl_cb_putp) struct nl_cb *sk_cb = nl_socket_get_cb(sk);
        cb = sk_cb ? nl_cb_clone(sk_cb) : NULL;
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_echo, &e);
        nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_echo_ack, &e);
        r = nl_send_auto_complete(sk, msg);
        if (r < 0)
                return nd_nl_errno(r);
        /* the echo and the ack come as separate datagrams: read to the ack */
        while (!e.acked) {
                r = nl_recvmsgs(sk, cb);
                if (r < 0)
                        return nd_nl_errno(r);
        }
        return e.ifindex > 0 ? e.ifindex : 0;
}

int nd_nl_veth_create(struct nl_sock *sk, const char *host_name, int master_ifindex, bool host_up,
                      const char *peer_name, int peer_ns_fd, const uint8_t *peer_mac, unsigned mtu) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *l = rtnl_link_veth_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *mac = NULL;
        struct rtnl_link *peer;

        if (!l)
                return -ENOMEM;
        peer = rtnl_link_veth_get_peer(l);
        rtnl_link_set_name(l, host_name);
        rtnl_link_set_name(peer, peer_name);
        if (master_ifindex > 0)
                rtnl_link_set_master(l, master_ifindex);
        if (host_up)
                rtnl_link_set_flags(l, IFF_UP);
        if (mtu) {
                rtnl_link_set_mtu(l, mtu);
                rtnl_link_set_mtu(peer, mtu);
        }
        if (peer_mac) {
                mac = nl_addr_build(AF_LLC, peer_mac, 6);
                if (!mac) {
                        rtnl_link_put(peer);
                        return -ENOMEM;
                }
                rtnl_link_set_addr(peer, mac);
        }
        if (peer_ns_fd >= 0)
                rtnl_link_set_ns_fd(peer, peer_ns_fd);
        rtnl_link_put(peer);
        return link_add_echo(sk, l, host_name, NLM_F_CREATE | NLM_F_EXCL);
}

static struct nl_addr *to_nl(const nd_addr *a, unsigned prefixlen) {
        struct nl_addr *n = nl_addr_build(a->family, a->b, a->family == AF_INET ? 4 : 16);
        if (n)
                nl_addr_set_prefixlen(n, (int) prefixlen);
        return n;
}

int nd_nl_addr_add(struct nl_sock *sk, int ifindex, const nd_addr *a, unsigned prefixlen) {
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *ra = rtnl_addr_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *local = to_nl(a, prefixlen);
        int r;
        if (!ra || !local)
                return -ENOMEM;
        rtnl_addr_set_ifindex(ra, ifindex);
        rtnl_addr_set_family(ra, a->family);
        r = rtnl_addr_set_local(ra, local);
        if (r < 0)
                return nd_nl_errno(r);
        rtnl_addr_set_prefixlen(ra, (int) prefixlen);
        /* A container's address is unique by construction (IPAM): skip
         * IPv6 duplicate address detection, which would leave it
         * "tentative" and unusable for a second or more. */
        if (a->family == AF_INET6)
                rtnl_addr_set_flags(ra, IFA_F_NODAD);
        r = rtnl_addr_add(sk, ra, 0);
        if (r == -NLE_EXIST)
                return 0;
        return nd_nl_errno(r);
}

int nd_nl_addr_del(struct nl_sock *sk, int ifindex, const nd_addr *a, unsigned prefixlen) {
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *ra = rtnl_addr_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *local = to_nl(a, prefixlen);
        int r;
        if (!ra || !local)
                return -ENOMEM;
        rtnl_addr_set_ifindex(ra, ifindex);
        rtnl_addr_set_family(ra, a->family);
        r = rtnl_addr_set_local(ra, local);
        if (r < 0)
                return nd_nl_errno(r);
        rtnl_addr_set_prefixlen(ra, (int) prefixlen);
        r = nd_nl_errno(rtnl_addr_delete(sk, ra, 0));
        return r == -EADDRNOTAVAIL || r == -ENODEV ? 0 : r;
}

int nd_nl_route_default(struct nl_sock *sk, int ifindex, const nd_addr *gw, uint32_t metric) {
        _cleanup_(rtnl_route_putp) struct rtnl_route *rt = rtnl_route_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *dst = NULL, *via = to_nl(gw, gw->family == AF_INET ? 32 : 128);
        uint8_t zero[16] = {0};
        struct rtnl_nexthop *nh;
        int r;

        if (!rt || !via)
                return -ENOMEM;
        dst = nl_addr_build(gw->family, zero, gw->family == AF_INET ? 4 : 16);
        if (!dst)
                return -ENOMEM;
        nl_addr_set_prefixlen(dst, 0);
        rtnl_route_set_family(rt, (uint8_t) gw->family);
        rtnl_route_set_dst(rt, dst);
        rtnl_route_set_table(rt, RT_TABLE_MAIN);
        /* 0 leaves it to the kernel: 0 for IPv4, 1024 for IPv6 */
        if (metric)
                rtnl_route_set_priority(rt, metric);
        nh = rtnl_route_nh_alloc();
        if (!nh)
                return -ENOMEM;
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_nh_set_gateway(nh, via);
        rtnl_route_add_nexthop(rt, nh);
        r = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_REPLACE);
        return nd_nl_errno(r);
}

int nd_nl_bridge_port_hairpin(struct nl_sock *sk, int ifindex) {
        struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = ifindex };
        struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
        struct nlattr *nest;
        int r;

        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
            !(nest = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED)) ||
            nla_put_u8(msg, IFLA_BRPORT_MODE, 1) < 0) {
                nlmsg_free(msg);
                return -ENOMEM;
        }
        nla_nest_end(msg, nest);
        r = nl_send_auto_complete(sk, msg);
        nlmsg_free(msg);
        if (r < 0)
                return nd_nl_errno(r);
        return nd_nl_errno(nl_wait_for_ack(sk));
}
