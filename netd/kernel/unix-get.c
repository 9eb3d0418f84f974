/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "grow.h"
#include "unix-get.h"

#define MAX_ANSWER (8u << 20)

struct nd_unix_get {
        struct ev_loop *loop;
        ev_io io;
        ev_timer timeout;
        char *buf, *req;
        size_t len, cap, req_len, sent;
        nd_unix_get_fn cb;
        void *userdata;
};

static void release(nd_unix_get *g) {
        ev_io_stop(g->loop, &g->io);
        ev_timer_stop(g->loop, &g->timeout);
        close(g->io.fd);
}

void nd_unix_get_cancel(nd_unix_get *g) {
        if (!g)
                return;
        release(g);
        free(g->buf);
        free(g->req);
        free(g);
}

static void finish(nd_unix_get *g, int r) {
        release(g);
        const char *body = NULL;
        size_t blen = 0;
        if (r == 0) {
                /* "HTTP/1.x NNN ...\r\n...\r\n\r\nBODY" */
                char *end = g->len ? memmem(g->buf, g->len, "\r\n\r\n", 4) : NULL;
                int status = 0;
                if (!end || g->len < 12 || strncmp(g->buf, "HTTP/1.", 7) != 0 ||
                    sscanf(g->buf + 9, "%3d", &status) != 1)
                        r = -EBADMSG;
                else {
                        r = status;
                        body = end + 4;
                        blen = g->len - (size_t) (body - g->buf);
                }
        }
        g->cb(g->userdata, r, body, blen);
        free(g->buf);
        free(g->req);
        free(g);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents) {
        nd_unix_get *g = w->data;
        if (g->sent < g->req_len) {
                ssize_t k = send(w->fd, g->req + g->sent, g->req_len - g->sent, MSG_NOSIGNAL);
                if (k < 0 && errno != EAGAIN && errno != EINTR)
                        return finish(g, -errno);
                if (k > 0)
                        g->sent += (size_t) k;
                if (g->sent == g->req_len) {
                        ev_io_stop(loop, w);
                        ev_io_set(w, w->fd, EV_READ);
                        ev_io_start(loop, w);
                }
                return;
        }
        if (g->cap - g->len < 4096) {
                if (g->len + 4096 > MAX_ANSWER)
                        return finish(g, -EFBIG);
                int r = ND_GROW(g->buf, g->len, g->cap, 4096);
                if (r < 0)
                        return finish(g, r);
        }
        ssize_t k = read(w->fd, g->buf + g->len, g->cap - g->len - 1);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k < 0)
                return finish(g, -errno);
        if (k == 0) {
                g->buf[g->len] = 0;
                return finish(g, 0);
        }
        g->len += (size_t) k;
}

static void on_timeout(struct ev_loop *loop, ev_timer *t, int revents) {
        finish(t->data, -ETIMEDOUT);
}

int nd_unix_get_start(struct ev_loop *loop, const char *socket_path, const char *path, double timeout,
                      nd_unix_get_fn cb, void *userdata, nd_unix_get **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, socket_path);
        nd_unix_get *g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        int n = asprintf(&g->req, "GET %s HTTP/1.0\r\nHost: docker\r\nUser-Agent: netd\r\n\r\n", path);
        if (n < 0) {
                free(g);
                return -ENOMEM;
        }
        g->req_len = (size_t) n;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                free(g->req);
                free(g);
                return r;
        }
        *g = (nd_unix_get) { .loop = loop, .req = g->req, .req_len = g->req_len, .cb = cb, .userdata = userdata };
        ev_io_init(&g->io, on_io, fd, EV_WRITE);
        g->io.data = g;
        ev_timer_init(&g->timeout, on_timeout, timeout, 0);
        g->timeout.data = g;
        ev_io_start(loop, &g->io);
        ev_timer_start(loop, &g->timeout);
        if (ret)
                *ret = g;
        return 0;
}
