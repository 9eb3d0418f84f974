/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

#include "bridge.h"
#include "container.h"
#include "netns.h"
#include "network.h"
#include "nl-host.h"
#include "nl-link.h"

void nd_bridge_name(const nd_network *n, char *buf, size_t size) {
        const char *opt = json_string_value(json_object_get(n->spec.options, "bridge.name"));
        if (!opt)
                opt = json_string_value(json_object_get(n->spec.options, "com.docker.network.bridge.name"));
        if (opt)
                snprintf(buf, size, "%s", opt);
        else
                snprintf(buf, size, "nd-%.12s", n->id);
}

int nd_bridge_setup(struct nl_sock *sk, const nd_network *n) {
        char name[16];
        int ifindex, r;

        nd_bridge_name(n, name, sizeof(name));
        ifindex = nd_nl_bridge_ensure(sk, name, n->spec.mtu);
        if (ifindex < 0)
                return ifindex;
        for (size_t i = 0; i < n->spec.n_ipam; i++) {
                r = nd_nl_addr_add(sk, ifindex, &n->spec.ipam[i].gateway, n->spec.ipam[i].subnet.len);
                if (r < 0)
                        return r;
        }
        return 0;
}

int nd_bridge_teardown(struct nl_sock *sk, const nd_network *n) {
        char name[16];
        nd_bridge_name(n, name, sizeof(name));
        return nd_nl_link_delete(sk, name);
}

void nd_bridge_retired_name(const nd_network *n, char *buf, size_t size) {
        snprintf(buf, size, ND_BRIDGE_RETIRED_PREFIX "%.12s", n->id);
}

int nd_bridge_retire(struct nl_sock *sk, const nd_network *n) {
        char name[16], gone[16];
        nd_bridge_name(n, name, sizeof(name));
        nd_bridge_retired_name(n, gone, sizeof(gone));
        return nd_nl_link_retire(sk, name, gone);
}

struct retired {
        int *ifindexes;
        size_t n, max;
};

static void on_link(struct nl_object *o, void *arg) {
        struct rtnl_link *l = (struct rtnl_link *) o;
        struct retired *c = arg;
        const char *name = rtnl_link_get_name(l);
        if (c->n < c->max && name && strncmp(name, ND_BRIDGE_RETIRED_PREFIX, strlen(ND_BRIDGE_RETIRED_PREFIX)) == 0 &&
            rtnl_link_is_bridge(l) && !(rtnl_link_get_flags(l) & IFF_UP))
                c->ifindexes[c->n++] = rtnl_link_get_ifindex(l);
}

int nd_bridge_retired_list(struct nl_sock *sk, int *ifindexes, size_t max) {
        struct nl_cache *links = NULL;
        struct retired c = { .ifindexes = ifindexes, .max = max };
        int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
        if (r < 0)
                return nd_nl_errno(r);
        nl_cache_foreach(links, on_link, &c);
        nl_cache_free(links);
        return (int) c.n;
}

void nd_bridge_mac(const nd_endpoint *ep, uint8_t mac[6]) {
        if (ep->addr4.family == AF_INET) {
                mac[0] = 0x02;
                mac[1] = 0x42;
                memcpy(mac + 2, ep->addr4.b, 4);
                return;
        }
        if (getrandom(mac, 6, 0) != 6)
                memset(mac, 0x5a, 6);
        mac[0] = (uint8_t) ((mac[0] & 0xfe) | 0x02);
}

/* The bridge's ifindex, made again if it went away (or netd restarted
 * after an operator removed it). */
static int bridge_ifindex(struct nl_sock *sk, const nd_network *n) {
        char br[16];
        nd_bridge_name(n, br, sizeof(br));
        int ifindex = nd_nl_link_ifindex(sk, br);
        if (ifindex >= 0)
                return ifindex;
        int r = nd_bridge_setup(sk, n);
        return r < 0 ? r : nd_nl_link_ifindex(sk, br);
}

int nd_bridge_attach_host(struct nl_sock *sk, const nd_network *n, const char *host_name, const char *peer_name,
                          const uint8_t peer_mac[6]) {
        int br_ifindex = bridge_ifindex(sk, n), r;
        if (br_ifindex < 0)
                return br_ifindex;
        r = nd_nl_veth_create(sk, host_name, br_ifindex, true, peer_name, -1, peer_mac, n->spec.mtu);
        if (r < 0)
                return r;
        int host_ifindex = r > 0 ? r : nd_nl_link_ifindex(sk, host_name);
        r = host_ifindex < 0 ? host_ifindex : nd_nl_bridge_port_hairpin(sk, host_ifindex);
        if (r < 0)
                nd_nl_link_delete(sk, host_name);
        return r;
}

/* A bridge port is a switch port: IPv6 on it (a link-local address, a
 * multicast and a prefix route) only made every port's coming up cost
 * more, each route of the kind joining a list as long as the ports and
 * each carrier change walking the routing table.  The calling thread is
 * in @name's namespace (/proc/sys/net is the thread's); without IPv6 in
 * the kernel there is no file, and nothing to do. */
static void port_no_ipv6(const char *name) {
        char key[64];
        snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", name);
        (void) nd_netns_sysctl_write(-1, key, "1");
}

/* The container's interface on a network without IPv6 has no IPv6 either
 * (as Docker since CVE-2024-32473): left on, the kernel would give it a
 * link-local address and take a router advertisement's prefix and default
 * route, an IPv6 path that no firewall rule of the network's covers.  Set
 * before the interface comes up, so it never sends a neighbour or
 * multicast-listener packet either (on a bridge each is flooded to every
 * port).  A network with IPAM "none" is left alone: its addresses are the
 * operator's.  No IPv6 in the kernel: nothing to turn off. */
static int container_no_ipv6(const nd_network *n, const nd_endpoint *ep, int ns_fd) {
        char key[64];
        if (n->spec.ipv6 || n->spec.ipam_none || ns_fd < 0)
                return 0;
        snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", ep->ifname);
        int r = nd_netns_sysctl_write(ns_fd, key, "1");
        return r == -ENOENT && access("/proc/sys/net/ipv6", F_OK) < 0 ? 0 : r;
}

/* The host end is brought up last, once its peer is up: a port that comes
 * up without a carrier is enabled on the bridge at once (its operstate is
 * still unknown), disabled when the kernel sees the missing carrier and
 * enabled again when the peer comes up; each of these recomputes the state
 * of every port of the bridge, and the carrier loss walks the namespace's
 * whole IPv6 routing table, all under the RTNL lock.  Up with the carrier
 * already there, the port is enabled once. */
int nd_bridge_attach(struct nl_sock *sk, const nd_network *n, const nd_endpoint *ep, int ns_fd, struct nl_sock *ns_sk,
                     bool default_route) {
        int br_ifindex, ifindex = 0, r;

        br_ifindex = bridge_ifindex(sk, n);
        if (br_ifindex < 0)
                return br_ifindex;
        r = nd_nl_veth_create(sk, ep->host_ifname, br_ifindex, false, ep->ifname, ns_fd, ep->mac, n->spec.mtu);
        if (r < 0)
                return r;
        int host_ifindex = r > 0 ? r : nd_nl_link_ifindex(sk, ep->host_ifname);
        if (host_ifindex < 0) {
                r = host_ifindex;
                goto fail;
        }
        if ((r = nd_nl_bridge_port_hairpin(sk, host_ifindex)) < 0)
                goto fail;
        ifindex = nd_nl_link_ifindex(ns_sk, ep->ifname);
        if (ifindex < 0)
                goto fail;
        if (ep->addr4.family && (r = nd_nl_addr_add(ns_sk, ifindex, &ep->addr4, ep->plen4)) < 0)
                goto fail;
        if (ep->addr6.family && (r = nd_nl_addr_add(ns_sk, ifindex, &ep->addr6, ep->plen6)) < 0)
                goto fail;
        if ((r = container_no_ipv6(n, ep, ns_fd)) < 0)
                goto fail;
        if ((r = nd_nl_link_up(ns_sk, ep->ifname)) < 0)
                goto fail;
        port_no_ipv6(ep->host_ifname);
        if ((r = nd_nl_link_up_index(sk, host_ifindex)) < 0)
                goto fail;
        if (default_route && !n->spec.internal) {
                uint32_t metric = nd_network_metric(n);
                if (ep->addr4.family && (r = nd_nl_route_default(ns_sk, ifindex, &ep->gw4, metric)) < 0)
                        goto fail;
                if (ep->addr6.family && (r = nd_nl_route_default(ns_sk, ifindex, &ep->gw6, metric)) < 0)
                        goto fail;
        }
        return 0;
fail:
        if (ifindex < 0)
                r = ifindex;
        nd_nl_link_delete(sk, ep->host_ifname);
        return r;
}

int nd_bridge_default_route(struct nl_sock *ns_sk, const nd_network *n, const nd_endpoint *ep) {
        int ifindex, r;
        if (n->spec.internal)
                return 0;
        ifindex = nd_nl_link_ifindex(ns_sk, ep->ifname);
        if (ifindex < 0)
                return ifindex;
        /* NLM_F_REPLACE: the default route of the other interface goes
         * (when both networks have the same metric) */
        uint32_t metric = nd_network_metric(n);
        if (ep->addr4.family && (r = nd_nl_route_default(ns_sk, ifindex, &ep->gw4, metric)) < 0)
                return r;
        if (ep->addr6.family && ep->gw6.family && (r = nd_nl_route_default(ns_sk, ifindex, &ep->gw6, metric)) < 0)
                return r;
        return 0;
}

int nd_bridge_detach(struct nl_sock *sk, const nd_endpoint *ep) {
        /* deleting one end of a veth pair deletes both */
        return nd_nl_link_delete(sk, ep->host_ifname);
}
