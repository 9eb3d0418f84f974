/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streamed replies (GET /v1/events): a chunked body written by its owner
 * as it comes, bounded, with hang-ups noticed while it is quiet.  The
 * contract is in http.h (nd_http_reply_stream).
 */
#include <errno.h>
#include <poll.h>
#include <ev.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-internal.h"
#include "macro.h"

/* A streamed reply.  MHD pulls the body through stream_read(); with
 * nothing to send the connection is suspended (a content reader that
 * returns 0 is called again at every MHD_run: a busy loop), and resumed
 * by a write.  While suspended MHD does not see a hang-up, so an ev_io of
 * our own watches the socket for it.  Freed by MHD with the response. */
struct nd_http_stream {
        nd_http_server *server;
        struct MHD_Connection *conn;
        nd_http_stream *prev, *next;
        const nd_http_stream_ops *ops; /* NULL once ended or closed */
        void *userdata;
        char *buf;
        size_t off, len, cap, max;
        bool suspended, ended, gone;
        int fd;
        ev_io hup;
        ev_timer hup_poll;     /* the client sent bytes: look for a hang-up by poll() */
};

static void stream_wake(nd_http_stream *s) {
        if (!s->suspended)
                return;
        s->suspended = false;
        ev_io_stop(s->server->loop, &s->hup);
        ev_timer_stop(s->server->loop, &s->hup_poll);
        MHD_resume_connection(s->conn);
        ev_idle_start(s->server->loop, &s->server->kick);
}

void nd_http_streams_close(nd_http_server *s) {
        for (nd_http_stream *st = s->streams; st; st = st->next) {
                const nd_http_stream_ops *ops = st->ops;
                st->ops = NULL;
                if (ops)
                        ops->closed(st->userdata);
                st->gone = true;
                stream_wake(st);
        }
}

/* Suspended and quiet: has the client hung up? */
static void on_stream_hup(struct ev_loop *loop, ev_io *w, int revents) {
        nd_http_stream *s = container_of(w, nd_http_stream, hup);
        char c;
        ssize_t k = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k > 0) {
                /* it sent something (a next request, a stray byte): not a
                 * hang-up, and not ours to read, so the socket stays
                 * readable; look for a hang-up with POLLRDHUP every
                 * second instead, or a client that sends a byte and
                 * closes would keep its subscription for good */
                ev_io_stop(loop, w);
                ev_timer_again(loop, &s->hup_poll);
                return;
        }
        s->gone = true;
        stream_wake(s);
}

static void on_stream_hup_poll(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_http_stream *s = container_of(w, nd_http_stream, hup_poll);
        struct pollfd p = { .fd = s->fd, .events = POLLRDHUP };
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) {
                s->gone = true;
                stream_wake(s);
        }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max) {
        nd_http_stream *s = cls;
        if (s->gone)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->off == s->len && s->ops) {
                s->off = s->len = 0;
                s->ops->drained(s->userdata); /* may write, or end */
        }
        size_t n = s->len - s->off;
        if (n > 0) {
                if (n > max)
                        n = max;
                memcpy(out, s->buf + s->off, n);
                s->off += n;
                if (s->off == s->len)
                        s->off = s->len = 0;
                return (ssize_t) n;
        }
        if (s->ended)
                return MHD_CONTENT_READER_END_OF_STREAM;
        MHD_suspend_connection(s->conn);
        s->suspended = true;
        if (s->fd >= 0)
                ev_io_start(s->server->loop, &s->hup);
        return 0;
}

static void stream_free(void *cls) {
        nd_http_stream *s = cls;
        nd_http_server *srv = s->server;
        ev_io_stop(srv->loop, &s->hup);
        ev_timer_stop(srv->loop, &s->hup_poll);
        if (s->prev)
                s->prev->next = s->next;
        else
                srv->streams = s->next;
        if (s->next)
                s->next->prev = s->prev;
        const nd_http_stream_ops *ops = s->ops;
        s->ops = NULL;
        if (ops)
                ops->closed(s->userdata);
        free(s->buf);
        free(s);
}

nd_http_stream *nd_http_reply_stream(nd_http_request *r, const char *content_type, size_t max,
                                     const nd_http_stream_ops *ops, void *userdata) {
        nd_http_server *srv = r->server;
        if (r->reply)
                return NULL;
        nd_http_stream *s = calloc(1, sizeof(*s));
        if (!s) {
                nd_http_reply_error(r, 500, "out of memory");
                return NULL;
        }
        *s = (nd_http_stream) { .server = srv, .conn = r->conn, .ops = ops, .userdata = userdata, .max = max,
                                .fd = -1, .next = srv->streams };
        r->reply = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, s, stream_free);
        if (!r->reply) {
                free(s);
                nd_http_reply_error(r, 500, "out of memory");
                return NULL;
        }
        if (srv->streams)
                srv->streams->prev = s;
        srv->streams = s;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
                s->fd = ci->connect_fd;
        /* the kernel's share of a client's backlog bounded too (about
         * @max): a reader that stalls is seen as one soon */
        int sndbuf = (int) (max < 16384 ? 16384 : max > 262144 ? 262144 : max) / 2;
        if (s->fd >= 0)
                (void) setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        ev_io_init(&s->hup, on_stream_hup, s->fd, EV_READ);
        ev_init(&s->hup_poll, on_stream_hup_poll);
        s->hup_poll.repeat = 1.;
        if (content_type)
                MHD_add_response_header(r->reply, "Content-Type", content_type);
        MHD_add_response_header(r->reply, "Server", "netd/" ND_VERSION);
        MHD_add_response_header(r->reply, "Cache-Control", "no-cache");
        r->status = 200;
        r->t_stream = ev_time();
        /* a stream may be quiet for hours: no idle timeout while it runs */
        (void) MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
        nd_http_reply_resume(r);
        return s;
}

size_t nd_http_stream_room(const nd_http_stream *s) {
        size_t used = s->len - s->off;
        return s->ended || s->gone || used >= s->max ? 0 : s->max - used;
}

static int stream_append(nd_http_stream *s, const char *p, size_t len) {
        if (s->off > 0) {
                memmove(s->buf, s->buf + s->off, s->len - s->off);
                s->len -= s->off;
                s->off = 0;
        }
        if (s->len + len > s->cap) {
                size_t cap = s->cap ? s->cap : 4096;
                while (cap < s->len + len)
                        cap *= 2;
                char *b = realloc(s->buf, cap);
                if (!b)
                        return -ENOMEM;
                s->buf = b;
                s->cap = cap;
        }
        memcpy(s->buf + s->len, p, len);
        s->len += len;
        return 0;
}

int nd_http_stream_write(nd_http_stream *s, const char *p, size_t len) {
        if (s->ended || s->gone)
                return -EPIPE;
        if (len > nd_http_stream_room(s))
                return -ENOBUFS;
        int r = stream_append(s, p, len);
        if (r >= 0)
                stream_wake(s);
        return r;
}

void nd_http_stream_end(nd_http_stream *s, const char *last, size_t len) {
        if (s->ended)
                return;
        if (last && len && !s->gone)
                (void) stream_append(s, last, len);
        s->ended = true;
        s->ops = NULL;
        stream_wake(s);
        /* what is left must not wait for a client that reads nothing */
        (void) MHD_set_connection_option(s->conn, MHD_CONNECTION_OPTION_TIMEOUT, s->server->cfg.idle_timeout_sec);
}
