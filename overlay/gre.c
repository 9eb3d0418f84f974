/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The GRE tunnel kind: transparent Ethernet bridging over GRE, carried in
 * userspace.  The peer table stays in overlay.c; this file moves frames:
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
 * rest.  The raw socket is shared by all GRE networks of the overlay and
 * opened with the first.  The TAP is not persistent: it goes when netd
 * exits.
 */
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

#include "frame.h"
#include "macro.h"
#include "nl-link.h"
#include "tunnel.h"

#define BATCH 64
#define SLOT 9216              /* a jumbo frame with its GRE and IP headers */

/* The overlay's one raw socket, shared by its GRE networks. */
typedef struct gre_sock {
        nd_overlay *o;
        int raw;
        ev_io raw_io;
        uint8_t *slots;        /* BATCH buffers of SLOT bytes */
} gre_sock;

typedef struct gre_net {
        nd_ovl_net net;
        int tap;
        ev_io tap_io;
        uint64_t tx, rx, arp, nd, drop_tx, drop_rx;
} gre_net;

static gre_net *gre_net_of(nd_ovl_net *n) {
        return container_of(n, gre_net, net);
}

static const nd_overlay_peer *lookup_ip(const void *userdata, int family, const uint8_t *ip) {
        return nd_ovl_net_peer_by_ip(userdata, family, ip);
}

/* Frames of a network's TAP: ARP/NS answered, unicast to known peers sent
 * as GRE, batched into one sendmmsg per wake-up. */
static void on_tap(struct ev_loop *loop, ev_io *w, int revents) {
        gre_net *g = w->data;
        gre_sock *s = g->net.o->shared[ND_TUNNEL_GRE];
        uint8_t hdr[8], reply[ND_NA_LEN];
        struct mmsghdr msgs[BATCH];
        struct iovec iov[BATCH][2];
        struct sockaddr_in to[BATCH];
        unsigned k = 0;
        nd_gre_header(g->net.vni, hdr);

        for (int i = 0; i < BATCH; i++) {
                uint8_t *f = s->slots + (size_t) k * SLOT;
                ssize_t got = read(g->tap, f, SLOT);
                if (got < 0)
                        break;
                size_t len = (size_t) got, rl;
                if (len < 14)
                        continue;
                if (f[0] & 1) {
                        /* broadcast/multicast: only ARP and NS are answered */
                        if ((rl = nd_frame_arp_reply(f, len, lookup_ip, &g->net, reply)) > 0) {
                                if (write(g->tap, reply, rl) == (ssize_t) rl)
                                        g->arp++;
                        } else if ((rl = nd_frame_na_reply(f, len, lookup_ip, &g->net, reply)) > 0) {
                                if (write(g->tap, reply, rl) == (ssize_t) rl)
                                        g->nd++;
                        }
                        continue;
                }
                const nd_overlay_peer *p = nd_ovl_net_peer_by_mac(&g->net, f);
                if (!p || s->raw < 0) {
                        g->drop_tx++;
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
                int r = sendmmsg(s->raw, msgs + sent, k - sent, MSG_DONTWAIT);
                if (r <= 0) {
                        g->drop_tx += k - sent; /* socket buffer full: dropped, as a NIC would */
                        break;
                }
                sent += (unsigned) r;
                g->tx += (uint64_t) r;
        }
}

/* GRE from the underlay, received in batches with recvmmsg. */
static void on_raw(struct ev_loop *loop, ev_io *w, int revents) {
        gre_sock *s = w->data;
        struct mmsghdr msgs[BATCH];
        struct iovec iov[BATCH];
        for (unsigned i = 0; i < BATCH; i++) {
                iov[i] = (struct iovec) { s->slots + (size_t) i * SLOT, SLOT };
                msgs[i] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }
        int got = recvmmsg(s->raw, msgs, BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < got; i++) {
                const uint8_t *pkt = iov[i].iov_base;
                size_t len = msgs[i].msg_len, off;
                uint32_t key, src;
                if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || nd_gre_parse(pkt, len, &key, &src, &off) < 0)
                        continue;
                nd_ovl_net *n = nd_overlay_net_by_vni(s->o, &nd_tunnel_gre, key);
                if (!n)
                        continue;
                gre_net *g = gre_net_of(n);
                /* only from hosts that have endpoints on this network */
                bool known = false;
                for (size_t j = 0; j < n->n_peers && !known; j++)
                        known = memcmp(n->peers[j].vtep.b, &src, 4) == 0;
                if (!known || g->tap < 0) {
                        g->drop_rx++;
                        continue;
                }
                if (write(g->tap, pkt + off, len - off) < 0)
                        g->drop_rx++;
                else
                        g->rx++;
        }
}

static void gre_shared_free(nd_overlay *o, void *shared) {
        gre_sock *s = shared;
        ev_io_stop(o->loop, &s->raw_io);
        close(s->raw);
        free(s->slots);
        free(s);
}

/* The shared raw socket, opened with the first GRE network. */
static int gre_socket(nd_overlay *o) {
        if (o->shared[ND_TUNNEL_GRE])
                return 0;
        gre_sock *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->slots = malloc((size_t) BATCH * SLOT);
        if (!s->slots) {
                free(s);
                return -ENOMEM;
        }
        int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_GRE);
        if (fd < 0)
                goto fail;
        struct sockaddr_in sa = { .sin_family = AF_INET };
        memcpy(&sa.sin_addr, o->local.b, 4);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                goto fail;
        int sz = 4 << 20;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        s->o = o;
        s->raw = fd;
        ev_io_init(&s->raw_io, on_raw, fd, EV_READ);
        s->raw_io.data = s;
        ev_io_start(o->loop, &s->raw_io);
        o->shared[ND_TUNNEL_GRE] = s;
        return 0;
fail:;
        int e = -errno;
        if (fd >= 0)
                close(fd);
        free(s->slots);
        free(s);
        return e;
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

static void gre_net_init(nd_ovl_net *n) {
        gre_net_of(n)->tap = -1;
}

static int gre_net_up(nd_ovl_net *n, const char *bridge, unsigned mtu) {
        gre_net *g = gre_net_of(n);
        nd_overlay *o = n->o;
        int master, r;

        master = nd_nl_link_ifindex(o->nl, bridge);
        if (master < 0)
                return master;
        r = gre_socket(o);
        if (r < 0)
                return r;
        if (g->tap < 0) {
                r = g->tap = tap_open(n->dev);
                if (r < 0)
                        return r;
                ev_io_init(&g->tap_io, on_tap, g->tap, EV_READ);
                g->tap_io.data = g;
                ev_io_start(o->loop, &g->tap_io);
        }
        r = nd_nl_link_ifindex(o->nl, n->dev);
        if (r < 0)
                return r;
        n->ifindex = r;
        return nd_nl_link_enslave(o->nl, n->ifindex, master, mtu);
}

static void gre_net_free(nd_ovl_net *n) {
        gre_net *g = gre_net_of(n);
        if (g->tap >= 0) {
                ev_io_stop(n->o->loop, &g->tap_io);
                close(g->tap);
        }
}

static void gre_status(const nd_ovl_net *n, json_t *j) {
        const gre_net *g = container_of(n, const gre_net, net);
        json_object_set_new(j, "Frames",
                            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "Tx", (json_int_t) g->tx, "Rx",
                                      (json_int_t) g->rx, "ArpAnswered", (json_int_t) g->arp, "NdAnswered",
                                      (json_int_t) g->nd, "DroppedTx", (json_int_t) g->drop_tx, "DroppedRx",
                                      (json_int_t) g->drop_rx));
}

/* The peers live only in overlay.c's table, which on_tap and on_raw read:
 * no peer_add/peer_del. */
const nd_tunnel_ops nd_tunnel_gre = {
        .kind = "gre",
        .encap = "gre (userspace)",
        .prefix = "gt",
        .overhead = ND_GRE_OVERHEAD,
        .net_size = sizeof(gre_net),
        .net_init = gre_net_init,
        .net_up = gre_net_up,
        .net_free = gre_net_free,
        .status = gre_status,
        .shared_free = gre_shared_free,
};
