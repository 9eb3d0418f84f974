/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Overlay networks on one host, the part every tunnel kind shares: the
 * networks, each with its peer table and a MAC index over it, and their
 * status.  Everything the kinds do (ports, the kernel's copy of the peers,
 * moving frames) goes through their nd_tunnel_ops (tunnel.h), so this file
 * does no I/O: unit tests drive it with a fake kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "grow.h"
#include "tunnel.h"

void nd_ovl_ifname(const nd_tunnel_ops *ops, const char *netid, char buf[static 16]) {
        snprintf(buf, 16, "%s-%.12s", ops->prefix, netid);
}

int nd_overlay_new_kinds(struct ev_loop *loop, struct nl_sock *nl, const nd_addr *local, uint16_t vxlan_port,
                         const nd_tunnel_ops *const kinds[static _ND_TUNNEL_KIND_MAX], nd_overlay **ret) {
        nd_overlay *o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->loop = loop;
        o->nl = nl;
        o->local = *local;
        o->port = vxlan_port ? vxlan_port : 4789;
        memcpy(o->kinds, kinds, sizeof(o->kinds));
        *ret = o;
        return 0;
}

static nd_ovl_net *net_find(nd_overlay *o, const char *id) {
        for (size_t i = 0; i < o->n_nets; i++)
                if (strcmp(o->nets[i]->id, id) == 0)
                        return o->nets[i];
        return NULL;
}

nd_ovl_net *nd_overlay_net_by_vni(nd_overlay *o, const nd_tunnel_ops *ops, uint32_t vni) {
        for (size_t i = 0; i < o->n_nets; i++)
                if (o->nets[i]->ops == ops && o->nets[i]->vni == vni)
                        return o->nets[i];
        return NULL;
}

static void net_free(nd_ovl_net *n) {
        if (n->ops->net_free)
                n->ops->net_free(n);
        free(n->peers);
        free(n->mkey);
        free(n->mval);
        free(n);
}

nd_overlay *nd_overlay_free(nd_overlay *o) {
        if (!o)
                return NULL;
        /* the vxlan devices stay (with their bridges) so endpoints keep
         * working while netd restarts; GRE TAPs go with the process */
        for (size_t i = 0; i < o->n_nets; i++)
                net_free(o->nets[i]);
        free(o->nets);
        for (size_t k = 0; k < _ND_TUNNEL_KIND_MAX; k++)
                if (o->shared[k] && o->kinds[k]->shared_free)
                        o->kinds[k]->shared_free(o, o->shared[k]);
        free(o);
        return NULL;
}

/* ---- the peer index: one probe per lookup, whatever the number of peers ---- */

#define MAC_GONE UINT64_MAX

static uint64_t mac_key(const uint8_t *m) {
        return ((uint64_t) m[0] << 40 | (uint64_t) m[1] << 32 | (uint64_t) m[2] << 24 | (uint64_t) m[3] << 16 |
                (uint64_t) m[4] << 8 | m[5]) + 1;
}

static size_t mac_home(const nd_ovl_net *n, uint64_t k) {
        return (size_t) ((k * 0x9e3779b97f4a7c15ull) >> 17) & (n->mcap - 1);
}

/* The slot holding @k, or (with @insert) where it goes; SIZE_MAX: none. */
static size_t mac_slot(const nd_ovl_net *n, uint64_t k, bool insert) {
        size_t gone = SIZE_MAX;
        if (!n->mcap)
                return SIZE_MAX;
        for (size_t i = mac_home(n, k), step = 0; step < n->mcap; i = (i + 1) & (n->mcap - 1), step++) {
                if (n->mkey[i] == k)
                        return i;
                if (n->mkey[i] == MAC_GONE && gone == SIZE_MAX)
                        gone = i;
                if (n->mkey[i] == 0)
                        return insert ? (gone != SIZE_MAX ? gone : i) : SIZE_MAX;
        }
        return insert ? gone : SIZE_MAX;
}

/* Rebuild the index at twice the peers (at least 64) from the peer array. */
static int mac_rebuild(nd_ovl_net *n) {
        size_t cap = 64;
        while (cap < 2 * (n->n_peers + 1))
                cap *= 2;
        uint64_t *k = calloc(cap, sizeof(*k));
        uint32_t *v = calloc(cap, sizeof(*v));
        if (!k || !v) {
                free(k);
                free(v);
                return -ENOMEM;
        }
        free(n->mkey);
        free(n->mval);
        n->mkey = k;
        n->mval = v;
        n->mcap = cap;
        n->mused = 0;
        for (size_t i = 0; i < n->n_peers; i++) {
                size_t x = mac_slot(n, mac_key(n->peers[i].mac), true);
                n->mkey[x] = mac_key(n->peers[i].mac);
                n->mval[x] = (uint32_t) i;
                n->mused++;
        }
        return 0;
}

static nd_overlay_peer *peer_by_mac(const nd_ovl_net *n, const uint8_t *mac) {
        size_t x = mac_slot(n, mac_key(mac), false);
        return x == SIZE_MAX ? NULL : &n->peers[n->mval[x]];
}

const nd_overlay_peer *nd_ovl_net_peer_by_mac(const nd_ovl_net *n, const uint8_t mac[static 6]) {
        return peer_by_mac(n, mac);
}

const nd_overlay_peer *nd_ovl_net_peer_by_ip(const nd_ovl_net *n, int family, const uint8_t *ip) {
        for (size_t i = 0; i < n->n_peers; i++) {
                const nd_addr *a = family == AF_INET ? &n->peers[i].ip4 : &n->peers[i].ip6;
                if (a->family == family && memcmp(a->b, ip, family == AF_INET ? 4 : 16) == 0)
                        return &n->peers[i];
        }
        return NULL;
}

/* ---- networks and peers ---- */

int nd_overlay_net_up(nd_overlay *o, const char *netid, const char *bridge, uint32_t vni, bool gre, unsigned mtu) {
        const nd_tunnel_ops *ops = o->kinds[gre ? ND_TUNNEL_GRE : ND_TUNNEL_VXLAN];
        nd_ovl_net *n = net_find(o, netid);
        bool fresh = !n;
        int r;

        if (o->local.family != AF_INET)
                return -EAFNOSUPPORT;
        if (!ops)
                return -EOPNOTSUPP;
        if (!n) {
                if (ND_GROW(o->nets, o->n_nets, o->cap_nets, 1) < 0)
                        return -ENOMEM;
                n = calloc(1, ops->net_size);
                if (!n)
                        return -ENOMEM;
                snprintf(n->id, sizeof(n->id), "%s", netid);
                n->vni = vni;
                n->ops = ops;
                n->o = o;
                nd_ovl_ifname(ops, netid, n->dev);
                if (ops->net_init)
                        ops->net_init(n);
        }
        /* a network keeps the kind it was made with: its id names one spec */
        r = n->ops->net_up(n, bridge, mtu);
        if (r < 0) {
                if (fresh)
                        net_free(n);
                return r;
        }
        if (fresh)
                o->nets[o->n_nets++] = n;
        return 0;
}

void nd_overlay_net_down(nd_overlay *o, const char *netid) {
        for (size_t i = 0; i < o->n_nets; i++) {
                nd_ovl_net *n = o->nets[i];
                if (strcmp(n->id, netid) != 0)
                        continue;
                if (n->ops->net_down)
                        n->ops->net_down(n);
                net_free(n);
                memmove(o->nets + i, o->nets + i + 1, (o->n_nets - i - 1) * sizeof(*o->nets));
                o->n_nets--;
                return;
        }
}

int nd_overlay_peer_add(nd_overlay *o, const char *netid, const nd_overlay_peer *p) {
        nd_ovl_net *n = net_find(o, netid);
        if (!n)
                return -ENOENT;
        nd_overlay_peer *slot = peer_by_mac(n, p->mac);
        if (!slot) {
                if (ND_GROW(n->peers, n->n_peers, n->cap_peers, 1) < 0)
                        return -ENOMEM;
                if (4 * (n->mused + 1) > 3 * n->mcap) {
                        n->peers[n->n_peers] = *p; /* counted by the rebuild */
                        n->n_peers++;
                        if (mac_rebuild(n) < 0) {
                                n->n_peers--;
                                return -ENOMEM;
                        }
                        slot = &n->peers[n->n_peers - 1];
                } else {
                        size_t x = mac_slot(n, mac_key(p->mac), true);
                        if (n->mkey[x] == 0)
                                n->mused++;
                        n->mkey[x] = mac_key(p->mac);
                        n->mval[x] = (uint32_t) n->n_peers;
                        slot = &n->peers[n->n_peers++];
                }
        }
        *slot = *p;
        return n->ops->peer_add ? n->ops->peer_add(n, p) : 0;
}

int nd_overlay_peer_del(nd_overlay *o, const char *netid, const nd_overlay_peer *p) {
        nd_ovl_net *n = net_find(o, netid);
        if (!n)
                return 0;
        size_t x = mac_slot(n, mac_key(p->mac), false);
        if (x != SIZE_MAX) {
                size_t i = n->mval[x];
                n->mkey[x] = MAC_GONE; /* still counted in mused until a rebuild */
                n->peers[i] = n->peers[--n->n_peers];
                if (i < n->n_peers) {
                        size_t y = mac_slot(n, mac_key(n->peers[i].mac), false);
                        if (y != SIZE_MAX)
                                n->mval[y] = (uint32_t) i;
                }
        }
        return n->ops->peer_del ? n->ops->peer_del(n, p) : 0;
}

json_t *nd_overlay_status(nd_overlay *o, const char *netid) {
        nd_ovl_net *n = o ? net_find(o, netid) : NULL;
        if (!n)
                return NULL;
        json_t *j = json_pack("{s:s, s:s, s:I, s:I}", "Encap", n->ops->encap, "Device", n->dev, "VNI",
                              (json_int_t) n->vni, "Peers", (json_int_t) n->n_peers);
        if (j && n->ops->status)
                n->ops->status(n, j);
        return j;
}
