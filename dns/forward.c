/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forwarding: queries share a few connected UDP sockets per upstream, each
 * query with its own random ID (matched with the question on the way
 * back), so a flood costs a bounded number of descriptors.  A socket is
 * retired after SOCK_USES queries, so source ports keep changing; at most
 * SOCK_MAX per upstream exist.  A truncated answer is asked for again over
 * TCP, on a connection of the query's own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "answer.h"
#include "macro.h"
#include "server-internal.h"

#define SOCK_ACTIVE 4        /* sockets taking new queries, per upstream */
#define SOCK_MAX 16          /* sockets per upstream, retiring ones included */
#define SOCK_USES 128

/* ---- the shared upstream sockets ------------------------------------------------ */

static void upsock_close(nd_dns_upsock *us) {
        nd_dns *d = us->d;
        for (nd_dns_upsock **p = &d->socks; *p; p = &(*p)->next)
                if (*p == us) {
                        *p = us->next;
                        break;
                }
        ev_io_stop(d->loop, &us->io);
        close(us->fd);
        d->n_socks--;
        free(us);
}

static void upsock_maybe_close(nd_dns_upsock *us) {
        if (us->retiring && !us->inflight && !us->busy)
                upsock_close(us);
}

void nd_dns_upsocks_retire_all(nd_dns *d) {
        for (nd_dns_upsock *us = d->socks, *next; us; us = next) {
                next = us->next;
                us->retiring = true;
                upsock_maybe_close(us);
        }
}

void nd_dns_upsocks_free(nd_dns *d) {
        while (d->socks) {
                nd_dns_upsock *us = d->socks;
                d->socks = us->next;
                ev_io_stop(d->loop, &us->io);
                close(us->fd);
                free(us);
        }
}

static void on_upsock(struct ev_loop *loop, ev_io *w, int revents);

union upstream_sa {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
};

/* Port 53 of upstream @a. */
static socklen_t upstream_sa(const nd_addr *a, union upstream_sa *u) {
        *u = (union upstream_sa) {0};
        if (a->family == AF_INET) {
                u->in4 = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(53) };
                memcpy(&u->in4.sin_addr, a->b, 4);
                return sizeof(u->in4);
        }
        u->in6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_port = htons(53) };
        memcpy(&u->in6.sin6_addr, a->b, 16);
        return sizeof(u->in6);
}

/* A socket to @a for one more query: the active one with the fewest in
 * flight, or a new one while there are fewer than SOCK_ACTIVE. */
static nd_dns_upsock *upsock_get(nd_dns *d, const nd_addr *a) {
        nd_dns_upsock *best = NULL;
        size_t active = 0, all = 0;
        for (nd_dns_upsock *us = d->socks; us; us = us->next) {
                if (!nd_addr_equal(&us->addr, a))
                        continue;
                all++;
                if (us->retiring)
                        continue;
                active++;
                if (!best || us->inflight < best->inflight)
                        best = us;
        }
        if (best && (best->inflight == 0 || active >= SOCK_ACTIVE || all >= SOCK_MAX))
                goto take;
        if (all < SOCK_MAX) {
                union upstream_sa u;
                socklen_t sl = upstream_sa(a, &u);
                nd_dns_upsock *us = calloc(1, sizeof(*us));
                int fd = us ? socket(a->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) : -1;
                /* connected: the kernel drops datagrams from anyone else, and
                 * picks a fresh ephemeral source port */
                if (fd >= 0 && connect(fd, &u.sa, sl) == 0) {
                        *us = (nd_dns_upsock) { .d = d, .addr = *a, .fd = fd, .next = d->socks };
                        ev_io_init(&us->io, on_upsock, fd, EV_READ);
                        ev_io_start(d->loop, &us->io);
                        d->socks = us;
                        d->n_socks++;
                        best = us;
                        goto take;
                }
                if (fd >= 0)
                        close(fd);
                free(us);
        }
        if (!best)
                return NULL; /* no descriptor: the caller tries the next upstream */
take:
        best->inflight++;
        if (++best->uses >= SOCK_USES && all < SOCK_MAX)
                best->retiring = true;
        return best;
}

static size_t id_slot(uint16_t id) {
        return id & (IDTAB - 1);
}

static nd_dns_fwd *id_find(nd_dns *d, const nd_dns_upsock *us, uint16_t id) {
        for (nd_dns_fwd *f = d->idtab[id_slot(id)]; f; f = f->idnext)
                if (f->us == us && f->up_id == id)
                        return f;
        return NULL;
}

/* Take @f's shared socket back (and its ID out of the table). */
static void fwd_unbind(nd_dns_fwd *f) {
        nd_dns_upsock *us = f->us;
        if (!us)
                return;
        for (nd_dns_fwd **p = &f->d->idtab[id_slot(f->up_id)]; *p; p = &(*p)->idnext)
                if (*p == f) {
                        *p = f->idnext;
                        break;
                }
        f->us = NULL;
        us->inflight--;
        upsock_maybe_close(us);
}

/* ---- forwarding ------------------------------------------------------------------ */

void nd_dns_fwd_free(nd_dns_fwd *f) {
        ev_io_stop(f->d->loop, &f->io);
        ev_timer_stop(f->d->loop, &f->timer);
        fwd_unbind(f);
        f->d->inflight--;
        if (f->sb)
                f->sb->inflight--;
        if (f->fd >= 0)
                close(f->fd);
        if (f->sb) {
                if (f->prev)
                        f->prev->next = f->next;
                else
                        f->sb->fwds = f->next;
                if (f->next)
                        f->next->prev = f->prev;
        }
        free(f->q);
        free(f->tbuf);
        free(f);
}

static void fwd_reply(nd_dns_fwd *f, uint8_t *msg, size_t len) {
        /* the client's ID back */
        msg[0] = (uint8_t) (f->client_id >> 8);
        msg[1] = (uint8_t) f->client_id;
        nd_dns_count_rcode(f->sb, msg, len);
        if (f->c)
                nd_dns_reply_tcp(f->c, msg, len);
        else if (f->sb)
                nd_dns_reply_udp(f->sb, &f->client, msg, len);
}

/* An upstream's answer relayed: its latency counts. */
static void fwd_answered(nd_dns_fwd *f, uint8_t *msg, size_t len) {
        nd_hist_observe(&f->d->fwd_lat, ev_now(f->d->loop) - f->t0);
        fwd_reply(f, msg, len);
}

static void fwd_fail(nd_dns_fwd *f) {
        size_t n;
        f->q[0] = (uint8_t) (f->client_id >> 8);
        f->q[1] = (uint8_t) f->client_id;
        uint8_t *r = nd_dns_servfail(f->q, f->qlen, &n);
        if (r) {
                fwd_reply(f, r, n);
                free(r);
        }
        nd_dns_fwd_free(f);
}

static int fwd_try(nd_dns_fwd *f);

static void on_fwd_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_dns_fwd *f = container_of(w, nd_dns_fwd, timer);
        if (f->sb && f->sb->ctr)
                f->sb->ctr->timeouts++;
        if (fwd_try(f) < 0)
                fwd_fail(f);
}

/* A shared socket's replies: each goes to the query with its ID, if it
 * carries that query's question. */
static void on_upsock(struct ev_loop *loop, ev_io *w, int revents) {
        nd_dns_upsock *us = container_of(w, nd_dns_upsock, io);
        uint8_t buf[MSG_MAX];
        us->busy = true;
        for (int i = 0; i < UDP_BATCH; i++) {
                ssize_t k = recv(us->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (k < 12)
                        continue; /* ICMP refusals and junk: the query times out */
                nd_dns_fwd *f = id_find(us->d, us, (uint16_t) ((buf[0] << 8) | buf[1]));
                if (!f)
                        continue; /* late, or not ours */
                if (!nd_dns_reply_matches(f->q, f->qlen, buf, (size_t) k)) {
                        us->d->forged++;
                        continue;
                }
                switch (nd_dns_upstream_check(buf, (size_t) k, f->up_id, false)) {
                case ND_DNS_UP_TCP:
                        /* truncated: the same upstream over TCP */
                        f->tcp = true;
                        f->next_up--;
                        if (fwd_try(f) < 0)
                                fwd_fail(f);
                        break;
                case ND_DNS_UP_RELAY:
                        fwd_answered(f, buf, (size_t) k);
                        nd_dns_fwd_free(f);
                        break;
                default:
                        break;
                }
        }
        us->busy = false;
        upsock_maybe_close(us);
}

static void on_fwd_io(struct ev_loop *loop, ev_io *w, int revents) {
        nd_dns_fwd *f = container_of(w, nd_dns_fwd, io);
        /* TCP: write the length-prefixed query, then read the answer */
        if (!f->reading) {
                ssize_t k = send(f->fd, f->tbuf + f->toff, f->tlen - f->toff, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (k <= 0)
                        goto next;
                f->toff += (size_t) k;
                if (f->toff < f->tlen)
                        return;
                f->reading = true;
                f->toff = 0;
                ev_io_stop(loop, &f->io);
                ev_io_set(&f->io, f->fd, EV_READ);
                ev_io_start(loop, &f->io);
                return;
        }
        size_t want = f->toff < 2 ? 2 : 2 + (size_t) ((f->tbuf[0] << 8) | f->tbuf[1]);
        ssize_t k = recv(f->fd, f->tbuf + f->toff, want - f->toff, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k <= 0)
                goto next;
        f->toff += (size_t) k;
        if (f->toff == 2 && want == 2)
                return; /* got the length; read the rest next time */
        if (f->toff < want)
                return;
        if (nd_dns_upstream_check(f->tbuf + 2, want - 2, f->up_id, true) != ND_DNS_UP_RELAY)
                goto next;
        fwd_answered(f, f->tbuf + 2, want - 2);
        nd_dns_fwd_free(f);
        return;
next:
        if (fwd_try(f) < 0)
                fwd_fail(f);
}

/* Send to the next upstream; -1 when none is left. */
static int fwd_try(nd_dns_fwd *f) {
        struct ev_loop *loop = f->d->loop;
        ev_io_stop(loop, &f->io);
        ev_timer_stop(loop, &f->timer);
        fwd_unbind(f);
        if (f->fd >= 0) {
                close(f->fd);
                f->fd = -1;
        }
        while (f->next_up < f->n_ups) {
                const nd_addr *a = &f->ups[f->next_up++];
                if (!f->tcp) {
                        nd_dns_upsock *us = upsock_get(f->d, a);
                        if (!us)
                                continue;
                        /* a fresh random ID per try, unique on its socket: an
                         * answer meant for an earlier try (or forged) does
                         * not match */
                        for (int t = 0; t < 16; t++) {
                                if (getrandom(&f->up_id, sizeof(f->up_id), GRND_NONBLOCK) != sizeof(f->up_id))
                                        f->up_id = (uint16_t) (f->up_id * 31 + 7);
                                if (!id_find(f->d, us, f->up_id))
                                        break;
                        }
                        f->q[0] = (uint8_t) (f->up_id >> 8);
                        f->q[1] = (uint8_t) f->up_id;
                        f->us = us;
                        f->idnext = f->d->idtab[id_slot(f->up_id)];
                        f->d->idtab[id_slot(f->up_id)] = f;
                        if (send(us->fd, f->q, f->qlen, MSG_DONTWAIT) < 0) {
                                fwd_unbind(f);
                                continue;
                        }
                        ev_timer_set(&f->timer, f->d->timeout, 0.);
                        ev_timer_start(loop, &f->timer);
                        return 0;
                }
                union upstream_sa u;
                socklen_t sl = upstream_sa(a, &u);
                f->fd = socket(a->family, (f->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (f->fd < 0)
                        continue;
                if (connect(f->fd, &u.sa, sl) < 0 && errno != EINPROGRESS) {
                        close(f->fd);
                        f->fd = -1;
                        continue;
                }
                /* a fresh ID per try: an answer meant for an earlier one
                 * (or forged) does not match */
                if (getrandom(&f->up_id, sizeof(f->up_id), GRND_NONBLOCK) != sizeof(f->up_id))
                        f->up_id = (uint16_t) (f->up_id * 31 + 7);
                f->q[0] = (uint8_t) (f->up_id >> 8);
                f->q[1] = (uint8_t) f->up_id;
                if (f->tcp) {
                        free(f->tbuf);
                        f->tbuf = malloc(2 + MSG_MAX);
                        if (!f->tbuf)
                                return -1;
                        f->tbuf[0] = (uint8_t) (f->qlen >> 8);
                        f->tbuf[1] = (uint8_t) f->qlen;
                        memcpy(f->tbuf + 2, f->q, f->qlen);
                        f->tlen = 2 + f->qlen;
                        f->toff = 0;
                        f->reading = false;
                        ev_io_set(&f->io, f->fd, EV_WRITE);
                } else {
                        if (send(f->fd, f->q, f->qlen, MSG_DONTWAIT) < 0) {
                                close(f->fd);
                                f->fd = -1;
                                continue;
                        }
                        ev_io_set(&f->io, f->fd, EV_READ);
                }
                ev_io_start(loop, &f->io);
                ev_timer_set(&f->timer, f->d->timeout * (f->tcp ? 2 : 1), 0.);
                ev_timer_start(loop, &f->timer);
                return 0;
        }
        return -1;
}

void nd_dns_forward(nd_dns_sandbox *sb, nd_dns_conn *c, const struct sockaddr_in *client, const uint8_t *q,
                    size_t len) {
        nd_dns *d = sb->d;
        if (d->inflight >= d->fwd_max || sb->inflight >= d->fwd_max_sandbox) {
                /* over the bound: SERVFAIL now, as for a dead upstream */
                size_t n;
                uint8_t *r = nd_dns_servfail(q, len, &n);
                d->fwd_refused++;
                if (r)
                        nd_dns_reply_to(sb, c, client, r, n);
                return;
        }
        nd_dns_fwd *f = calloc(1, sizeof(*f));
        if (!f)
                return;
        f->d = d;
        f->sb = sb;
        f->c = c;
        f->fd = -1;
        if (client)
                f->client = *client;
        f->client_id = (uint16_t) ((q[0] << 8) | q[1]);
        f->q = malloc(len);
        if (!f->q) {
                free(f);
                return;
        }
        memcpy(f->q, q, len);
        f->qlen = len;
        if (sb->n_servers) {
                memcpy(f->ups, sb->servers, sb->n_servers * sizeof(*f->ups));
                f->n_ups = sb->n_servers;
        } else {
                memcpy(f->ups, d->ups, d->n_ups * sizeof(*f->ups));
                f->n_ups = d->n_ups;
        }
        ev_init(&f->io, on_fwd_io);
        ev_init(&f->timer, on_fwd_timeout);
        d->inflight++;
        sb->inflight++;
        f->t0 = ev_now(d->loop);
        f->next = sb->fwds;
        if (sb->fwds)
                sb->fwds->prev = f;
        sb->fwds = f;
        if (sb->ctr)
                sb->ctr->forwarded++;
        if (fwd_try(f) < 0)
                fwd_fail(f);
}
