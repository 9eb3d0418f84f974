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
#include "overlay.h"

#define GRE_KEY 0x2000
#define GRE_CSUM 0x8000
#define GRE_SEQ 0x1000
#define ETH_P_TEB 0x6558
#define BATCH 64
#define FRAME_MAX 65536

typedef struct ov_net {
        char id[65];
        char dev[16];
        uint32_t vni;
        bool gre;
        int ifindex;
        nd_overlay_peer *peers;
        size_t n_peers, cap_peers;
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
        uint8_t *buf;
};

void nd_overlay_ifname(const char *netid, bool gre, char buf[static 16]) {
        snprintf(buf, 16, "%s-%.12s", gre ? "gt" : "vx", netid);
}

int nd_overlay_new(struct ev_loop *loop, struct nl_sock *nl, const nd_addr *local, uint16_t vxlan_port,
                   nd_overlay **ret) {
        nd_overlay *o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->buf = malloc(FRAME_MAX + 64);
        if (!o->buf) {
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
        free(o->buf);
        free(o);
        return NULL;
}

/* ---- GRE in userspace ---- */

static const nd_overlay_peer *peer_by_mac(const ov_net *n, const uint8_t *mac) {
        for (size_t i = 0; i < n->n_peers; i++)
                if (memcmp(n->peers[i].mac, mac, 6) == 0)
                        return &n->peers[i];
        return NULL;
}

static const nd_overlay_peer *peer_by_ip(const ov_net *n, int family, const uint8_t *ip) {
        for (size_t i = 0; i < n->n_peers; i++) {
                const nd_addr *a = family == AF_INET ? &n->peers[i].ip4 : &n->peers[i].ip6;
                if (a->family == family && memcmp(a->b, ip, family == AF_INET ? 4 : 16) == 0)
                        return &n->peers[i];
        }
        return NULL;
}

static uint16_t csum_fold(uint32_t s) {
        while (s >> 16)
                s = (s & 0xffff) + (s >> 16);
        return (uint16_t) ~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t n) {
        for (size_t i = 0; i + 1 < n; i += 2)
                s += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (n & 1)
                s += (uint32_t) (p[n - 1] << 8);
        return s;
}

/* An ARP request for a remote endpoint's IPv4: answered as that endpoint. */
static void answer_arp(ov_net *n, const uint8_t *f, size_t len) {
        uint8_t r[42];
        if (len < 42 || f[14] != 0 || f[15] != 1 || f[16] != 0x08 || f[17] != 0 || f[18] != 6 || f[19] != 4 ||
            f[20] != 0 || f[21] != 1)
                return;
        const nd_overlay_peer *p = peer_by_ip(n, AF_INET, f + 38);
        if (!p)
                return;
        memcpy(r, f + 6, 6);          /* to the asker */
        memcpy(r + 6, p->mac, 6);
        r[12] = 0x08, r[13] = 0x06;
        memcpy(r + 14, f + 14, 6);    /* htype, ptype, hlen, plen */
        r[20] = 0, r[21] = 2;         /* reply */
        memcpy(r + 22, p->mac, 6);
        memcpy(r + 28, f + 38, 4);
        memcpy(r + 32, f + 22, 6);
        memcpy(r + 38, f + 28, 4);
        if (write(n->tap, r, sizeof(r)) == (ssize_t) sizeof(r))
                n->arp++;
}

/* A neighbour solicitation for a remote endpoint's IPv6: a solicited
 * neighbour advertisement with its link-layer address. */
static void answer_ns(ov_net *n, const uint8_t *f, size_t len) {
        static const uint8_t unspec[16];
        uint8_t r[14 + 40 + 32];
        if (len < 14 + 40 + 24 || f[20] != 58 || f[54] != 135 || f[55] != 0)
                return;
        if (memcmp(f + 22, unspec, 16) == 0)
                return; /* duplicate address detection: not ours to answer */
        const nd_overlay_peer *p = peer_by_ip(n, AF_INET6, f + 62);
        if (!p)
                return;
        memset(r, 0, sizeof(r));
        memcpy(r, f + 6, 6);
        memcpy(r + 6, p->mac, 6);
        r[12] = 0x86, r[13] = 0xdd;
        uint8_t *ip = r + 14, *icmp = r + 54;
        ip[0] = 0x60;
        ip[5] = 32;                   /* payload length */
        ip[6] = 58;
        ip[7] = 255;
        memcpy(ip + 8, f + 62, 16);   /* from the target */
        memcpy(ip + 24, f + 22, 16);  /* to the solicitor */
        icmp[0] = 136;
        icmp[4] = 0x60;               /* solicited, override */
        memcpy(icmp + 8, f + 62, 16);
        icmp[24] = 2;                 /* target link-layer address */
        icmp[25] = 1;
        memcpy(icmp + 26, p->mac, 6);
        uint32_t s = csum_add(0, ip + 8, 32);
        s += 32 + 58;
        s = csum_add(s, icmp, 32);
        uint16_t c = csum_fold(s);
        icmp[2] = (uint8_t) (c >> 8);
        icmp[3] = (uint8_t) c;
        if (write(n->tap, r, sizeof(r)) == (ssize_t) sizeof(r))
                n->nd++;
}

static void on_tap(struct ev_loop *loop, ev_io *w, int revents) {
        ov_net *n = w->data;
        nd_overlay *o = n->o;
        uint8_t hdr[8] = { 0x20, 0x00, 0x65, 0x58 };
        /* the key is the VNI, as a 32-bit number */
        hdr[4] = 0;
        hdr[5] = (uint8_t) (n->vni >> 16);
        hdr[6] = (uint8_t) (n->vni >> 8);
        hdr[7] = (uint8_t) n->vni;

        for (int i = 0; i < BATCH; i++) {
                ssize_t k = read(n->tap, o->buf, FRAME_MAX);
                if (k < 0)
                        return;
                if (k < 14)
                        continue;
                const uint8_t *f = o->buf;
                size_t len = (size_t) k;
                if (f[0] & 1) {
                        /* broadcast/multicast: only ARP and NS are answered */
                        if (f[12] == 0x08 && f[13] == 0x06)
                                answer_arp(n, f, len);
                        else if (f[12] == 0x86 && f[13] == 0xdd)
                                answer_ns(n, f, len);
                        continue;
                }
                const nd_overlay_peer *p = peer_by_mac(n, f);
                if (!p || o->raw < 0) {
                        n->drop_tx++;
                        continue;
                }
                struct sockaddr_in to = { .sin_family = AF_INET };
                memcpy(&to.sin_addr, p->vtep.b, 4);
                struct iovec iov[2] = { { hdr, sizeof(hdr) }, { o->buf, len } };
                struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = iov, .msg_iovlen = 2 };
                if (sendmsg(o->raw, &mh, MSG_DONTWAIT) < 0)
                        n->drop_tx++;
                else
                        n->tx++;
        }
}

static void on_raw(struct ev_loop *loop, ev_io *w, int revents) {
        nd_overlay *o = w->data;
        for (int i = 0; i < BATCH; i++) {
                ssize_t k = recv(o->raw, o->buf, FRAME_MAX, MSG_DONTWAIT);
                if (k < 0)
                        return;
                const uint8_t *p = o->buf;
                size_t len = (size_t) k;
                if (len < 20 || (p[0] >> 4) != 4)
                        continue;
                size_t ihl = (size_t) (p[0] & 15) * 4;
                if (ihl < 20 || len < ihl + 4)
                        continue;
                const uint8_t *g = p + ihl;
                uint16_t flags = (uint16_t) (g[0] << 8 | g[1]), proto = (uint16_t) (g[2] << 8 | g[3]);
                size_t off = 4;
                if ((flags & 7) != 0 || proto != ETH_P_TEB || !(flags & GRE_KEY))
                        continue; /* version 0, TEB, keyed only */
                if (flags & GRE_CSUM)
                        off += 4;
                if (len < ihl + off + 4)
                        continue;
                uint32_t key = (uint32_t) g[off] << 24 | (uint32_t) g[off + 1] << 16 | (uint32_t) g[off + 2] << 8 |
                               g[off + 3];
                off += 4;
                if (flags & GRE_SEQ)
                        off += 4;
                if (len < ihl + off + 14)
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
                        known = memcmp(n->peers[j].vtep.b, p + 12, 4) == 0;
                if (!known || n->tap < 0) {
                        n->drop_rx++;
                        continue;
                }
                if (write(n->tap, g + off, len - ihl - off) < 0)
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
        nd_overlay_peer *slot = NULL;
        for (size_t i = 0; i < n->n_peers; i++)
                if (memcmp(n->peers[i].mac, p->mac, 6) == 0)
                        slot = &n->peers[i];
        if (!slot) {
                if (n->n_peers == n->cap_peers) {
                        size_t cap = n->cap_peers ? n->cap_peers * 2 : 16;
                        nd_overlay_peer *v = realloc(n->peers, cap * sizeof(*v));
                        if (!v)
                                return -ENOMEM;
                        n->peers = v;
                        n->cap_peers = cap;
                }
                slot = &n->peers[n->n_peers++];
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
        for (size_t i = 0; i < n->n_peers; i++)
                if (memcmp(n->peers[i].mac, p->mac, 6) == 0) {
                        n->peers[i] = n->peers[--n->n_peers];
                        break;
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
