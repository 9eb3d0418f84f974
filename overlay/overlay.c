/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Overlay networks on one host: per network a tunnel port and a peer
 * table.  VXLAN puts the peer table into the kernel (FDB + neighbours);
 * GRE keeps it here and moves frames itself:
 *
 *   container -> bridge -> TAP "gt-<id>" -> netd: unicast to a known MAC is
 *   wrapped in GRE (K bit, protocol 0x6558 transparent Ethernet bridging,
 *   key = VNI) and sent on the raw protocol-47 socket to the peer's host;
 *   an ARP request or IPv6 neighbour solicitation for a remote endpoint is
 *   answered from the peer table (as the kernel's vxlan proxy does);
 *   anything else (other broadcasts, unknown unicast) is dropped.
 *
 *   raw socket -> netd: GRE with a key of one of our GRE networks, from a
 *   host that has endpoints on it, is unwrapped and written to its TAP.
 *
 * Everything runs on the loop, with non-blocking fds, at most 64 frames
 * per wake-up in each direction so one busy network cannot starve the
 * rest.  The TAP is not persistent: it goes when netd exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "nl-link.h"
#include "frame.h"
#include "overlay.h"

#define BATCH 64
#define SLOT 9216              /* a jumbo frame with its GRE and IP headers */

typedef struct ov_net {
        char id[65];
        char dev[16];
        uint32_t vni;
        bool gre;
        int ifindex;
        nd_overlay_peer *peers;
        size_t n_peers, cap_peers;
        /* MAC -> index in peers: open addressing, linear probing; a key is
         * the MAC + 1 (0: empty, MAC_GONE: deleted) */
        uint64_t *mkey;
        uint32_t *mval;
        size_t mcap, mused;
        /* GRE */
        int tap;
        ev_io tap_io;
        nd_overlay *o;
        uint64_t tx, rx, arp, nd, drop_tx, drop_rx;
} ov_net;

struct nd_overlay {
        struct ev_loop *loop;
        struct nl_sock *nl;
        nd_addr local;
        uint16_t port;
        ov_net **nets;
        size_t n_nets;
        int raw;               /* GRE socket, opened with the first GRE network */
        ev_io raw_io;
        uint8_t *slots;        /* BATCH buffers of SLOT bytes */
};

void nd_overlay_ifname(const char *netid, bool gre, char buf[static 16]) {
        snprintf(buf, 16, "%s-%.12s", gre ? "gt" : "vx", netid);
}

int nd_overlay_new(struct ev_loop *loop, struct nl_sock *nl, const nd_addr *local, uint16_t vxlan_port,
                   nd_overlay **ret) {
        nd_overlay *o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->slots = malloc((size_t) BATCH * SLOT);
        if (!o->slots) {
                free(o);
                return -ENOMEM;
        }
        o->loop = loop;
        o->nl = nl;
        o->local = *local;
        o->port = vxlan_port ? vxlan_port : 4789;
        o->raw = -1;
        *ret = o;
        return 0;
}

static ov_net *net_find(nd_overlay *o, const char *id) {
        for (size_t i = 0; i < o->n_nets; i++)
                if (strcmp(o->nets[i]->id, id) == 0)
                        return o->nets[i];
        return NULL;
}

static void net_free(nd_overlay *o, ov_net *n) {
        if (n->tap >= 0) {
                ev_io_stop(o->loop, &n->tap_io);
                close(n->tap);
        }
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
                net_free(o, o->nets[i]);
        free(o->nets);
        if (o->raw >= 0) {
                ev_io_stop(o->loop, &o->raw_io);
                close(o->raw);
        }
        free(o->slots);
        free(o);
        return NULL;
}

/* ---- the peer index: one probe per lookup, whatever the number of peers ---- */

#define MAC_GONE UINT64_MAX

static uint64_t mac_key(const uint8_t *m) {
        return ((uint64_t) m[0] << 40 | (uint64_t) m[1] << 32 | (uint64_t) m[2] << 24 | (uint64_t) m[3] << 16 |
                (uint64_t) m[4] << 8 | m[5]) + 1;
}

static size_t mac_home(const ov_net *n, uint64_t k) {
        return (size_t) ((k * 0x9e3779b97f4a7c15ull) >> 17) & (n->mcap - 1);
}

/* The slot holding @k, or (with @insert) where it goes; SIZE_MAX: none. */
static size_t mac_slot(const ov_net *n, uint64_t k, bool insert) {
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
static int mac_rebuild(ov_net *n) {
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

static nd_overlay_peer *peer_by_mac(const ov_net *n, const uint8_t *mac) {
        size_t x = mac_slot(n, mac_key(mac), false);
        return x == SIZE_MAX ? NULL : &n->peers[n->mval[x]];
}

/* ---- GRE in userspace ---- */

static const nd_overlay_peer *peer_by_ip(const ov_net *n, int family, const uint8_t *ip) {
        for (size_t i = 0; i < n->n_peers; i++) {
                const nd_addr *a = family == AF_INET ? &n->peers[i].ip4 : &n->peers[i].ip6;
                if (a->family == family && memcmp(a->b, ip, family == AF_INET ? 4 : 16) == 0)
                        return &n->peers[i];
        }
        return NULL;
}

static const nd_overlay_peer *lookup_ip(const void *userdata, int family, const uint8_t *ip) {
        return peer_by_ip(userdata, family, ip);
}

/* Frames of a network's TAP: ARP/NS answered, unicast to known peers sent
 * as GRE, batched into one sendmmsg per wake-up. */
static void on_tap(struct ev_loop *loop, ev_io *w, int revents) {
        ov_net *n = w->data;
        nd_overlay *o = n->o;
        uint8_t hdr[8], reply[ND_NA_LEN];
        struct mmsghdr msgs[BATCH];
        struct iovec iov[BATCH][2];
        struct sockaddr_in to[BATCH];
        unsigned k = 0;
        nd_gre_header(n->vni, hdr);

        for (int i = 0; i < BATCH; i++) {
                uint8_t *f = o->slots + (size_t) k * SLOT;
                ssize_t got = read(n->tap, f, SLOT);
                if (got < 0)
                        break;
                size_t len = (size_t) got, rl;
                if (len < 14)
                        continue;
                if (f[0] & 1) {
                        /* broadcast/multicast: only ARP and NS are answered */
                        if ((rl = nd_frame_arp_reply(f, len, lookup_ip, n, reply)) > 0) {
                                if (write(n->tap, reply, rl) == (ssize_t) rl)
                                        n->arp++;
                        } else if ((rl = nd_frame_na_reply(f, len, lookup_ip, n, reply)) > 0) {
                                if (write(n->tap, reply, rl) == (ssize_t) rl)
                                        n->nd++;
                        }
                        continue;
                }
                const nd_overlay_peer *p = peer_by_mac(n, f);
                if (!p || o->raw < 0) {
                        n->drop_tx++;
                        continue;
                }
                to[k] = (struct sockaddr_in) { .sin_family = AF_INET };
                memcpy(&to[k].sin_addr, p->vtep.b, 4);
                iov[k][0] = (struct iovec) { hdr, sizeof(hdr) };
                iov[k][1] = (struct iovec) { f, len };
                msgs[k] = (struct mmsghdr) { .msg_hdr = { .msg_name = &to[k], .msg_namelen = sizeof(to[k]),
                                                          .msg_iov = iov[k], .msg_iovlen = 2 } };
                k++;
        }
        for (unsigned sent = 0; sent < k;) {
                int r = sendmmsg(o->raw, msgs + sent, k - sent, MSG_DONTWAIT);
                if (r <= 0) {
                        n->drop_tx += k - sent; /* socket buffer full: dropped, as a NIC would */
                        break;
                }
                sent += (unsigned) r;
                n->tx += (uint64_t) r;
        }
}

/* GRE from the underlay, received in batches with recvmmsg. */
static void on_raw(struct ev_loop *loop, ev_io *w, int revents) {
        nd_overlay *o = w->data;
        struct mmsghdr msgs[BATCH];
        struct iovec iov[BATCH];
        for (unsigned i = 0; i < BATCH; i++) {
                iov[i] = (struct iovec) { o->slots + (size_t) i * SLOT, SLOT };
                msgs[i] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }
        int got = recvmmsg(o->raw, msgs, BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < got; i++) {
                const uint8_t *pkt = iov[i].iov_base;
                size_t len = msgs[i].msg_len, off;
                uint32_t key, src;
                if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || nd_gre_parse(pkt, len, &key, &src, &off) < 0)
                        continue;
                ov_net *n = NULL;
                for (size_t j = 0; j < o->n_nets && !n; j++)
                        if (o->nets[j]->gre && o->nets[j]->vni == key)
                                n = o->nets[j];
                if (!n)
                        continue;
                /* only from hosts that have endpoints on this network */
                bool known = false;
                for (size_t j = 0; j < n->n_peers && !known; j++)
                        known = memcmp(n->peers[j].vtep.b, &src, 4) == 0;
                if (!known || n->tap < 0) {
                        n->drop_rx++;
                        continue;
                }
                if (write(n->tap, pkt + off, len - off) < 0)
                        n->drop_rx++;
                else
                        n->rx++;
        }
}

static int gre_socket(nd_overlay *o) {
        if (o->raw >= 0)
                return 0;
        int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_GRE);
        if (fd < 0)
                return -errno;
        struct sockaddr_in sa = { .sin_family = AF_INET };
        memcpy(&sa.sin_addr, o->local.b, 4);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        int sz = 4 << 20;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        o->raw = fd;
        ev_io_init(&o->raw_io, on_raw, fd, EV_READ);
        o->raw_io.data = o;
        ev_io_start(o->loop, &o->raw_io);
        return 0;
}

static int tap_open(const char *name) {
        struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
        int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

/* ---- networks and peers ---- */

int nd_overlay_net_up(nd_overlay *o, const char *netid, const char *bridge, uint32_t vni, bool gre, unsigned mtu) {
        ov_net *n = net_find(o, netid);
        bool fresh = !n;
        int master, r;

        if (o->local.family != AF_INET)
                return -EAFNOSUPPORT;
        master = nd_nl_link_ifindex(o->nl, bridge);
        if (master < 0)
                return master;
        if (!n) {
                ov_net **v = realloc(o->nets, (o->n_nets + 1) * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                o->nets = v;
                n = calloc(1, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                snprintf(n->id, sizeof(n->id), "%s", netid);
                n->vni = vni;
                n->gre = gre;
                n->tap = -1;
                n->o = o;
                nd_overlay_ifname(netid, gre, n->dev);
        }
        if (gre) {
                r = gre_socket(o);
                if (r < 0)
                        goto fail;
                if (n->tap < 0) {
                        r = n->tap = tap_open(n->dev);
                        if (r < 0)
                                goto fail;
                        ev_io_init(&n->tap_io, on_tap, n->tap, EV_READ);
                        n->tap_io.data = n;
                        ev_io_start(o->loop, &n->tap_io);
                }
                r = nd_nl_link_ifindex(o->nl, n->dev);
                if (r < 0)
                        goto fail;
                n->ifindex = r;
                r = nd_nl_link_enslave(o->nl, n->ifindex, master, mtu);
        } else {
                r = nd_vxlan_ensure(o->nl, n->dev, vni, &o->local, o->port, master, mtu);
                if (r == 0)
                        r = n->ifindex = nd_nl_link_ifindex(o->nl, n->dev);
                /* a repaired device lost its entries: program them again */
                for (size_t i = 0; r >= 0 && i < n->n_peers; i++) {
                        const nd_overlay_peer *p = &n->peers[i];
                        nd_nl_fdb(o->nl, n->ifindex, p->mac, &p->vtep, true);
                        if (p->ip4.family)
                                nd_nl_neigh(o->nl, n->ifindex, &p->ip4, p->mac, true);
                        if (p->ip6.family)
                                nd_nl_neigh(o->nl, n->ifindex, &p->ip6, p->mac, true);
                }
        }
        if (r < 0)
                goto fail;
        if (fresh)
                o->nets[o->n_nets++] = n;
        return 0;
fail:
        if (fresh)
                net_free(o, n);
        return r;
}

void nd_overlay_net_down(nd_overlay *o, const char *netid) {
        for (size_t i = 0; i < o->n_nets; i++) {
                ov_net *n = o->nets[i];
                if (strcmp(n->id, netid) != 0)
                        continue;
                if (!n->gre)
                        nd_nl_link_delete(o->nl, n->dev);
                net_free(o, n);
                memmove(o->nets + i, o->nets + i + 1, (o->n_nets - i - 1) * sizeof(*o->nets));
                o->n_nets--;
                return;
        }
}

int nd_overlay_peer_add(nd_overlay *o, const char *netid, const nd_overlay_peer *p) {
        ov_net *n = net_find(o, netid);
        int r = 0;
        if (!n)
                return -ENOENT;
        nd_overlay_peer *slot = peer_by_mac(n, p->mac);
        if (!slot) {
                if (n->n_peers == n->cap_peers) {
                        size_t cap = n->cap_peers ? n->cap_peers * 2 : 16;
                        nd_overlay_peer *v = realloc(n->peers, cap * sizeof(*v));
                        if (!v)
                                return -ENOMEM;
                        n->peers = v;
                        n->cap_peers = cap;
                }
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
        if (!n->gre) {
                r = nd_nl_fdb(o->nl, n->ifindex, p->mac, &p->vtep, true);
                if (r == 0 && p->ip4.family)
                        r = nd_nl_neigh(o->nl, n->ifindex, &p->ip4, p->mac, true);
                if (r == 0 && p->ip6.family)
                        r = nd_nl_neigh(o->nl, n->ifindex, &p->ip6, p->mac, true);
        }
        return r;
}

int nd_overlay_peer_del(nd_overlay *o, const char *netid, const nd_overlay_peer *p) {
        ov_net *n = net_find(o, netid);
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
        if (n->gre)
                return 0;
        int r = nd_nl_fdb(o->nl, n->ifindex, p->mac, &p->vtep, false);
        if (p->ip4.family)
                nd_nl_neigh(o->nl, n->ifindex, &p->ip4, p->mac, false);
        if (p->ip6.family)
                nd_nl_neigh(o->nl, n->ifindex, &p->ip6, p->mac, false);
        return r;
}

json_t *nd_overlay_status(nd_overlay *o, const char *netid) {
        ov_net *n = o ? net_find(o, netid) : NULL;
        if (!n)
                return NULL;
        json_t *j = json_pack("{s:s, s:s, s:I, s:I}", "Encap", n->gre ? "gre (userspace)" : "vxlan", "Device", n->dev,
                              "VNI", (json_int_t) n->vni, "Peers", (json_int_t) n->n_peers);
        if (j && n->gre)
                json_object_set_new(j, "Frames",
                                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "Tx", (json_int_t) n->tx, "Rx",
                                              (json_int_t) n->rx, "ArpAnswered", (json_int_t) n->arp,
                                              "NdAnswered", (json_int_t) n->nd, "DroppedTx",
                                              (json_int_t) n->drop_tx, "DroppedRx", (json_int_t) n->drop_rx));
        return j;
}
