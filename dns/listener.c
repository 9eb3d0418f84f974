/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sandbox's listeners at 127.0.0.11 (on ports the kernel chose; the
 * sandbox's nftables redirect sends port 53 there), the host's (--host-dns)
 * and the query path: datagrams in batches, TCP clients with their idle
 * timers, each query answered from the name table or handed to forward.c,
 * and the cheap SERVFAIL for a sandbox over its forwarding bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "answer.h"
#include "macro.h"
#include "server-internal.h"

#define MAX_TCP_CONNS 16     /* per sandbox */
#define TCP_IDLE 10.         /* seconds */
#define OVER_REPLIES 1000.0  /* SERVFAILs per second for a sandbox over its bound;
                              * beyond that its queries are dropped unanswered */

/* ---- replies to clients ---------------------------------------------------------- */

static void conn_close(nd_dns_conn *c);

void nd_dns_reply_tcp(nd_dns_conn *c, const uint8_t *msg, size_t len) {
        uint8_t hdr[2] = { (uint8_t) (len >> 8), (uint8_t) len };
        struct iovec iov[2] = { { hdr, 2 }, { (void *) msg, len } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
        /* a reply is at most 64 KiB: the socket buffer takes it; a client
         * that does not read loses its connection */
        ssize_t k = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k != (ssize_t) (len + 2))
                conn_close(c);
}

void nd_dns_reply_udp(nd_dns_sandbox *sb, const struct sockaddr_in *to, const uint8_t *msg, size_t len) {
        (void) sendto(sb->ufd, msg, len, MSG_DONTWAIT, (const struct sockaddr *) to, sizeof(*to));
}

void nd_dns_reply_to(nd_dns_sandbox *sb, nd_dns_conn *c, const struct sockaddr_in *client, uint8_t *msg,
                     size_t n) {
        nd_dns_count_rcode(sb, msg, n);
        if (c)
                nd_dns_reply_tcp(c, msg, n);
        else
                nd_dns_reply_udp(sb, client, msg, n);
        free(msg);
}

/* ---- one query ------------------------------------------------------------------- */

static void handle(nd_dns_sandbox *sb, nd_dns_conn *c, const struct sockaddr_in *client, const uint8_t *q, size_t len) {
        nd_dns_view v = { .names = sb->d->names, .nets = (const char *const *) sb->nets, .n_nets = sb->n_nets,
                          .ttl = sb->ttl, .rotate_family = sb->d->rotate_family, .can_forward = sb->can_forward,
                          .host = sb->host, .links = sb->links, .n_links = sb->n_links };
        uint8_t *out;
        size_t n;

        nd_dns_count_query(sb, q, len);
        switch (nd_dns_answer(&v, q, len, c != NULL, &out, &n, NULL)) {
        case ND_DNS_REPLY:
                nd_dns_reply_to(sb, c, client, out, n);
                break;
        case ND_DNS_FORWARD:
                nd_dns_forward(sb, c, client, q, len);
                break;
        case ND_DNS_DROP:
                break;
        }
}

static void on_udp(struct ev_loop *loop, ev_io *w, int revents) {
        nd_dns_sandbox *sb = container_of(w, nd_dns_sandbox, uio);
        static uint8_t bufs[UDP_BATCH][MSG_MAX];
        struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
        struct iovec iov[UDP_BATCH], oiov[UDP_BATCH];
        struct sockaddr_in from[UDP_BATCH];
        unsigned n_out = 0;

        for (unsigned i = 0; i < UDP_BATCH; i++) {
                iov[i] = (struct iovec) { bufs[i], MSG_MAX };
                in[i] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
                                                         .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }
        int got = recvmmsg(sb->ufd, in, UDP_BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < got; i++) {
                size_t len = in[i].msg_len;
                if (sb->inflight < sb->d->fwd_max_sandbox && sb->d->inflight < sb->d->fwd_max) {
                        handle(sb, NULL, &from[i], bufs[i], len);
                        continue;
                }
                /* Over the forwarding bound (a flood): SERVFAIL for every
                 * query of this sandbox until its forwards drain, made in
                 * place (a walk over the question, no answer lookup) and
                 * sent in one batch, so the flood costs its neighbours
                 * little; counted by type like any query (one more walk
                 * of the name, tens of byte loads beside a syscall). */
                nd_dns_count_query(sb, bufs[i], len);
                double now = ev_now(loop);
                sb->tokens += (now - sb->refilled) * OVER_REPLIES;
                if (sb->tokens > OVER_REPLIES)
                        sb->tokens = OVER_REPLIES;
                sb->refilled = now;
                if (sb->tokens < 1) {
                        /* a client that floods on: silence slows it down */
                        sb->d->flood_dropped++;
                        continue;
                }
                sb->tokens--;
                sb->d->fwd_refused++;
                size_t n = nd_dns_servfail_inplace(bufs[i], len);
                if (!n)
                        continue;
                nd_dns_count_rcode(sb, bufs[i], n);
                oiov[n_out] = (struct iovec) { bufs[i], n };
                out[n_out] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
                                                             .msg_iov = &oiov[n_out], .msg_iovlen = 1 } };
                n_out++;
        }
        if (n_out)
                (void) sendmmsg(sb->ufd, out, n_out, MSG_DONTWAIT);
}

static void conn_close(nd_dns_conn *c) {
        nd_dns_sandbox *sb = c->sb;
        struct ev_loop *loop = sb->d->loop;
        /* forwards for this client: their answers have nowhere to go */
        for (nd_dns_fwd *f = sb->fwds, *next; f; f = next) {
                next = f->next;
                if (f->c == c)
                        nd_dns_fwd_free(f);
        }
        ev_io_stop(loop, &c->io);
        ev_timer_stop(loop, &c->idle);
        close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                sb->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        sb->n_conns--;
        free(c);
}

static void on_conn_idle(struct ev_loop *loop, ev_timer *w, int revents) {
        conn_close(container_of(w, nd_dns_conn, idle));
}

static void on_conn(struct ev_loop *loop, ev_io *w, int revents) {
        nd_dns_conn *c = container_of(w, nd_dns_conn, io);
        ssize_t k = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k <= 0) {
                conn_close(c);
                return;
        }
        c->len += (size_t) k;
        ev_timer_again(loop, &c->idle);
        /* every complete length-prefixed message in the buffer */
        while (c->len >= 2) {
                size_t m = (size_t) ((c->buf[0] << 8) | c->buf[1]);
                if (c->len < 2 + m)
                        return;
                uint8_t msg[MSG_MAX];
                memcpy(msg, c->buf + 2, m);
                memmove(c->buf, c->buf + 2 + m, c->len - 2 - m);
                c->len -= 2 + m;
                nd_dns_sandbox *sb = c->sb;
                size_t before = sb->n_conns;
                handle(sb, c, NULL, msg, m);
                if (sb->n_conns != before)
                        return; /* the reply failed and closed @c */
        }
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_dns_sandbox *sb = container_of(w, nd_dns_sandbox, accept_retry);
        ev_io_start(loop, &sb->tio);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents) {
        nd_dns_sandbox *sb = container_of(w, nd_dns_sandbox, tio);
        int fd = accept4(sb->tfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* the pending connection stays queued and the socket
                         * readable: pause, or this loop spins until
                         * descriptors are free again */
                        sb->backoff = sb->backoff ? (sb->backoff * 2 > 1.0 ? 1.0 : sb->backoff * 2) : 0.05;
                        ev_io_stop(loop, &sb->tio);
                        ev_timer_set(&sb->accept_retry, sb->backoff, 0.);
                        ev_timer_start(loop, &sb->accept_retry);
                }
                return;
        }
        sb->backoff = 0;
        if (sb->n_conns >= MAX_TCP_CONNS) {
                /* the oldest idle client goes first, as resolvers do */
                nd_dns_conn *old = sb->conns;
                while (old && old->next)
                        old = old->next;
                if (old)
                        conn_close(old);
        }
        nd_dns_conn *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return;
        }
        c->sb = sb;
        c->fd = fd;
        ev_io_init(&c->io, on_conn, fd, EV_READ);
        ev_io_start(loop, &c->io);
        ev_init(&c->idle, on_conn_idle);
        c->idle.repeat = TCP_IDLE;
        ev_timer_again(loop, &c->idle);
        c->next = sb->conns;
        if (sb->conns)
                sb->conns->prev = c;
        sb->conns = c;
        sb->n_conns++;
}

/* ---- sandboxes -------------------------------------------------------------------- */

/* A socket at @addr:@port (0: the kernel chooses) inside @ns_fd (-1:
 * netd's own namespace). */
static int listen_in(int ns_fd, int type, const struct in_addr *addr, uint16_t port, uint16_t *ret_port) {
        int self = -1, fd = -1, r = 0, one = 1;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = *addr };
        socklen_t sl = sizeof(sa);
        if (ns_fd >= 0) {
                self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
                if (self < 0)
                        return -errno;
                if (setns(ns_fd, CLONE_NEWNET) < 0) {
                        r = -errno;
                        close(self);
                        return r;
                }
        }
        fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                r = -errno;
        else {
                /* TCP: the old listener's connections in TIME_WAIT must
                 * not keep its port after a restart */
                if (type == SOCK_STREAM)
                        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || (type == SOCK_STREAM && listen(fd, 64) < 0) ||
                    getsockname(fd, (struct sockaddr *) &sa, &sl) < 0) {
                        r = -errno;
                        close(fd);
                }
        }
        /* back home; failing that nothing netd does afterwards is right */
        if (self >= 0 && setns(self, CLONE_NEWNET) < 0)
                abort();
        if (self >= 0)
                close(self);
        if (r < 0)
                return r;
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

/* A sandbox serving the listeners @ufd and @tfd (taken). */
static nd_dns_sandbox *adopt(nd_dns *d, int ufd, uint16_t udp_port, int tfd, uint16_t tcp_port) {
        nd_dns_sandbox *sb = calloc(1, sizeof(*sb));
        if (!sb)
                return NULL;
        sb->d = d;
        sb->ttl = ND_DNS_DEFAULT_TTL;
        sb->ufd = ufd;
        sb->udp_port = udp_port;
        sb->tfd = tfd;
        sb->tcp_port = tcp_port;
        ev_io_init(&sb->uio, on_udp, sb->ufd, EV_READ);
        ev_io_start(d->loop, &sb->uio);
        ev_io_init(&sb->tio, on_accept, sb->tfd, EV_READ);
        ev_io_start(d->loop, &sb->tio);
        ev_init(&sb->accept_retry, on_accept_retry);
        return sb;
}

static int open_at(nd_dns *d, int ns_fd, const struct in_addr *a, uint16_t udp_port, uint16_t tcp_port,
                   nd_dns_sandbox **ret) {
        uint16_t up = 0, tp = 0;
        int ufd = listen_in(ns_fd, SOCK_DGRAM, a, udp_port, &up);
        int tfd = ufd >= 0 ? listen_in(ns_fd, SOCK_STREAM, a, tcp_port, &tp) : -1;
        if (ufd < 0 || tfd < 0) {
                if (ufd >= 0)
                        close(ufd);
                return ufd < 0 ? ufd : tfd;
        }
        return nd_dns_sandbox_adopt(d, ufd, up, tfd, tp, ret);
}

int nd_dns_sandbox_socket(int type, uint16_t port, uint16_t *ret_port) {
        struct in_addr a = { htonl(0x7f00000b) }; /* 127.0.0.11 */
        if (type != SOCK_DGRAM && type != SOCK_STREAM)
                return -EINVAL;
        return listen_in(-1, type, &a, port, ret_port);
}

int nd_dns_sandbox_adopt(nd_dns *d, int ufd, uint16_t udp_port, int tfd, uint16_t tcp_port, nd_dns_sandbox **ret) {
        nd_dns_enter(d);
        nd_dns_sandbox *sb = adopt(d, ufd, udp_port, tfd, tcp_port);
        nd_dns_leave_wake(d);
        if (!sb) {
                close(ufd);
                close(tfd);
                return -ENOMEM;
        }
        *ret = sb;
        return 0;
}

int nd_dns_sandbox_open(nd_dns *d, int ns_fd, uint16_t udp_port, uint16_t tcp_port, nd_dns_sandbox **ret) {
        struct in_addr a = { htonl(0x7f00000b) }; /* 127.0.0.11 */
        return open_at(d, ns_fd, &a, udp_port, tcp_port, ret);
}

int nd_dns_host_open(nd_dns *d, const nd_addr *a, uint16_t port, nd_dns_sandbox **ret) {
        struct in_addr in;
        nd_dns_sandbox *sb;
        if (a->family != AF_INET || !port)
                return -EAFNOSUPPORT;
        memcpy(&in, a->b, 4);
        nd_dns_enter(d);
        int r = open_at(d, -1, &in, port, port, &sb);
        if (r >= 0) {
                sb->host = true;
                *ret = sb;
        }
        nd_dns_leave(d);
        return r < 0 ? r : 0;
}

void nd_dns_sandbox_ports(const nd_dns_sandbox *sb, uint16_t *ret_udp, uint16_t *ret_tcp) {
        /* set at adoption, never changed */
        *ret_udp = sb->udp_port;
        *ret_tcp = sb->tcp_port;
}

static void free_links(nd_dns_sandbox *sb) {
        for (size_t i = 0; i < sb->n_links; i++)
                free((char *) sb->links[i].alias);
        free(sb->links);
        sb->links = NULL;
        sb->n_links = 0;
}

int nd_dns_sandbox_set_links(nd_dns_sandbox *sb, const char *const *aliases, const char *const *names, size_t n) {
        nd_dns_link *v = n ? calloc(n, sizeof(*v)) : NULL;
        if (n && !v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                /* alias and name in one allocation */
                size_t la = strlen(aliases[i]) + 1, ln = strlen(names[i]) + 1;
                char *p = malloc(la + ln);
                if (!p) {
                        while (i--)
                                free((char *) v[i].alias);
                        free(v);
                        return -ENOMEM;
                }
                memcpy(p, aliases[i], la);
                memcpy(p + la, names[i], ln);
                v[i] = (nd_dns_link) { .alias = p, .name = p + la };
        }
        nd_dns_enter(sb->d);
        free_links(sb);
        sb->links = v;
        sb->n_links = n;
        nd_dns_leave(sb->d);
        return 0;
}

static void free_nets(nd_dns_sandbox *sb) {
        for (size_t i = 0; i < sb->n_nets; i++)
                free(sb->nets[i]);
        free(sb->nets);
        sb->nets = NULL;
        sb->n_nets = 0;
}

void nd_dns_sandbox_close(nd_dns_sandbox *sb) {
        if (!sb)
                return;
        nd_dns *d = sb->d;
        struct ev_loop *loop = d->loop;
        nd_dns_enter(d);
        while (sb->conns)
                conn_close(sb->conns);
        while (sb->fwds)
                nd_dns_fwd_free(sb->fwds);
        ev_io_stop(loop, &sb->uio);
        ev_io_stop(loop, &sb->tio);
        ev_timer_stop(loop, &sb->accept_retry);
        close(sb->ufd);
        close(sb->tfd);
        free_nets(sb);
        free_links(sb);
        free(sb);
        nd_dns_leave_wake(d);
}

int nd_dns_sandbox_configure(nd_dns_sandbox *sb, const char *const *nets, size_t n_nets, bool can_forward,
                             const nd_addr *servers, size_t n_servers, uint32_t ttl) {
        char **v = calloc(n_nets + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n_nets; i++)
                if (!(v[i] = strdup(nets[i]))) {
                        while (i--)
                                free(v[i]);
                        free(v);
                        return -ENOMEM;
                }
        nd_dns_enter(sb->d);
        free_nets(sb);
        sb->nets = v;
        sb->n_nets = n_nets;
        sb->can_forward = can_forward;
        sb->n_servers = n_servers < ND_DNS_MAX_UPSTREAMS ? n_servers : ND_DNS_MAX_UPSTREAMS;
        if (sb->n_servers)
                memcpy(sb->servers, servers, sb->n_servers * sizeof(*sb->servers));
        sb->ttl = ttl;
        /* the host's queries are no network's */
        sb->ctr = n_nets && !sb->host ? nd_dns_ctr_get(sb->d, nets[0]) : NULL;
        nd_dns_leave(sb->d);
        return 0;
}
