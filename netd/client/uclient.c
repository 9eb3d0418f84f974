/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP/1.1 over a unix socket for the clients; see uclient.h. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"
#include "macro.h"
#include "uclient.h"

/* a chunk-size line (size, extensions) longer than this is an attack, not
 * a reply */
#define CHUNK_LINE_MAX 4096

/* ---- the parser: bytes in, a response out, nothing else ---------------- */

static const char *find_crlf(const char *p, size_t n) {
        return memmem(p, n, "\r\n", 2);
}

static bool is_tchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Value of header @name in the line [p, end) or NULL; *ret_len its length
 * with surrounding blanks dropped (RFC 9112 5: OWS around the value). */
static const char *header_value(const char *p, const char *end, const char *name, size_t *ret_len) {
        size_t n = strlen(name);
        if ((size_t) (end - p) <= n || p[n] != ':' || strncasecmp(p, name, n) != 0)
                return NULL;
        p += n + 1;
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        *ret_len = (size_t) (end - p);
        return p;
}

static int parse_size(const char *p, size_t n, int base, size_t *ret) {
        size_t v = 0;
        if (n == 0)
                return -EPROTO;
        for (size_t i = 0; i < n; i++) {
                int d;
                char c = p[i];
                if (c >= '0' && c <= '9')
                        d = c - '0';
                else if (base == 16 && c >= 'a' && c <= 'f')
                        d = c - 'a' + 10;
                else if (base == 16 && c >= 'A' && c <= 'F')
                        d = c - 'A' + 10;
                else
                        return -EPROTO;
                if (v > (SIZE_MAX - (size_t) d) / (size_t) base)
                        return -EFBIG;
                v = v * (size_t) base + (size_t) d;
        }
        *ret = v;
        return 0;
}

/* Walk the chunked body at @p: with @out NULL count its decoded size into
 * *ret_size, otherwise copy it to @out.  1 complete, 0 more needed, <0. */
static int walk_chunks(const char *buf, size_t len, size_t p, bool eof, size_t max_body, char *out,
                       size_t *ret_size) {
        size_t total = 0;
        for (;;) {
                const char *nl = find_crlf(buf + p, len - p);
                if (!nl)
                        return len - p > CHUNK_LINE_MAX ? -EPROTO : eof ? -EPROTO : 0;
                size_t line = (size_t) (nl - (buf + p)), digits = 0, size;
                if (line > CHUNK_LINE_MAX)
                        return -EPROTO;
                while (digits < line && buf[p + digits] != ';' && buf[p + digits] != ' ' && buf[p + digits] != '\t')
                        digits++;
                int r = parse_size(buf + p, digits, 16, &size);
                if (r < 0)
                        return r == -EFBIG ? -EFBIG : -EPROTO;
                p += line + 2;
                if (size == 0)
                        break;
                if (size > max_body - total)
                        return -EFBIG;
                if (len - p < size || len - p - size < 2)
                        return eof ? -EPROTO : 0;
                if (buf[p + size] != '\r' || buf[p + size + 1] != '\n')
                        return -EPROTO;
                if (out)
                        memcpy(out + total, buf + p, size);
                total += size;
                p += size + 2;
        }
        /* trailer fields, then the empty line (RFC 9112 7.1.2); ignored */
        for (size_t trailers = 0;;) {
                const char *nl = find_crlf(buf + p, len - p);
                if (!nl)
                        return len - p > ND_UCLIENT_HEAD_MAX ? -EFBIG : eof ? -EPROTO : 0;
                size_t line = (size_t) (nl - (buf + p));
                trailers += line + 2;
                if (trailers > ND_UCLIENT_HEAD_MAX)
                        return -EFBIG;
                p += line + 2;
                if (line == 0)
                        break;
        }
        *ret_size = total;
        return 1;
}

struct head {
        int status;
        size_t len, cl;           /* the head's bytes; Content-Length */
        bool have_cl, chunked;
};

/* The head at @start (@avail bytes): 1 and *h, 0 more needed, <0. */
static int head_parse(const char *start, size_t avail, bool eof, struct head *h) {
        const char *end;
        size_t cl = 0;
        bool have_cl = false, chunked = false;
        int status;

        end = memmem(start, avail < ND_UCLIENT_HEAD_MAX ? avail : ND_UCLIENT_HEAD_MAX, "\r\n\r\n", 4);
        if (!end)
                return avail >= ND_UCLIENT_HEAD_MAX ? -EFBIG : eof ? -EPROTO : 0;
        size_t head_len = (size_t) (end - start) + 4;
        /* status line: HTTP/1.x SP 3DIGIT [SP reason] */
        const char *nl = find_crlf(start, head_len);
        size_t sl = (size_t) (nl - start);
        if (sl < 12 || memcmp(start, "HTTP/1.", 7) != 0 || (start[7] != '0' && start[7] != '1') ||
            start[8] != ' ' || (sl > 12 && start[12] != ' '))
                return -EPROTO;
        for (int i = 9; i < 12; i++)
                if (start[i] < '0' || start[i] > '9')
                        return -EPROTO;
        status = (start[9] - '0') * 100 + (start[10] - '0') * 10 + (start[11] - '0');
        if (status < 100 || status > 599)
                return -EPROTO;

        for (const char *p = nl + 2; p < end + 2;) {
                const char *e = find_crlf(p, (size_t) (end + 2 - p)), *v;
                size_t vl, name = 0;
                while (p + name < e && is_tchar(p[name]))
                        name++;
                if (name == 0 || p + name == e || p[name] != ':')
                        return -EPROTO;
                if ((v = header_value(p, e, "Content-Length", &vl))) {
                        size_t n;
                        int r = parse_size(v, vl, 10, &n);
                        if (r < 0)
                                return r == -EFBIG ? -EFBIG : -EPROTO;
                        if (have_cl && n != cl)
                                return -EPROTO; /* RFC 9112 6.3: differing lengths */
                        cl = n;
                        have_cl = true;
                } else if ((v = header_value(p, e, "Transfer-Encoding", &vl))) {
                        /* we ask for nothing else; "gzip, chunked" would need gzip */
                        if (vl != 7 || strncasecmp(v, "chunked", 7) != 0)
                                return -EPROTO;
                        chunked = true;
                }
                p = e + 2;
        }
        *h = (struct head) { .status = status, .len = head_len, .cl = cl, .have_cl = have_cl, .chunked = chunked };
        return 1;
}

int nd_uclient_parse(const char *buf, size_t len, bool eof, size_t max_body, nd_uclient_response *ret) {
        size_t off = 0;

        for (;;) {
                size_t cl, body_len, head_len;
                bool have_cl, chunked;
                int status;
                struct head h;
                int r = head_parse(buf + off, len - off, eof, &h);
                if (r <= 0)
                        return r;
                status = h.status;
                head_len = h.len;
                cl = h.cl;
                have_cl = h.have_cl;
                chunked = h.chunked;

                size_t body = off + head_len;
                if (status == 101)
                        return -EPROTO; /* we never ask to switch protocols */
                if (status < 200) {
                        off = body; /* interim reply: the real one follows */
                        continue;
                }
                if (status == 204 || status == 304)
                        body_len = 0;
                else if (chunked) {
                        r = walk_chunks(buf, len, body, eof, max_body, NULL, &body_len);
                        if (r <= 0)
                                return r;
                } else if (have_cl) {
                        if (cl > max_body)
                                return -EFBIG;
                        if (len - body < cl)
                                return eof ? -EPROTO : 0;
                        body_len = cl;
                } else {
                        /* neither: the body ends when the peer closes */
                        if (len - body > max_body)
                                return -EFBIG;
                        if (!eof)
                                return 0;
                        body_len = len - body;
                }

                char *b = malloc(body_len + 1);
                if (!b)
                        return -ENOMEM;
                if (chunked && status != 204 && status != 304)
                        (void) walk_chunks(buf, len, body, eof, max_body, b, &body_len);
                else
                        memcpy(b, buf + body, body_len);
                b[body_len] = 0;
                *ret = (nd_uclient_response) { .status = status, .body = b, .body_len = body_len };
                return 1;
        }
}

enum {
        DC_SIZE, DC_EXT, DC_SIZE_LF, DC_DATA, DC_DATA_CR, DC_DATA_LF, DC_TRAILER_START, DC_TRAILER, DC_TRAILER_LF,
        DC_END_LF, DC_DONE,
};

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int nd_uclient_dechunk_feed(nd_uclient_dechunk *d, const char *in, size_t len, char *out, size_t *ret_out,
                            size_t *ret_used) {
        size_t i = 0, o = 0;
        int r = 0;

        while (i < len && d->state != DC_DONE) {
                char c = in[i];
                if (d->state == DC_DATA) {
                        size_t k = len - i < d->left ? len - i : d->left;
                        memmove(out + o, in + i, k); /* (in place: @out may be @in) */
                        o += k;
                        i += k;
                        d->left -= k;
                        if (d->left == 0)
                                d->state = DC_DATA_CR;
                        continue;
                }
                i++;
                if (d->state == DC_SIZE || d->state == DC_EXT || d->state == DC_TRAILER) {
                        if (++d->line > CHUNK_LINE_MAX) {
                                r = -EPROTO;
                                break;
                        }
                }
                switch (d->state) {
                case DC_SIZE: {
                        int v = hexval(c);
                        if (v >= 0) {
                                if (d->size > (SIZE_MAX - (size_t) v) / 16) {
                                        r = -EFBIG;
                                        goto out;
                                }
                                d->size = d->size * 16 + (size_t) v;
                                d->digits = true;
                        } else if (d->digits && (c == ';' || c == ' ' || c == '\t'))
                                d->state = DC_EXT;
                        else if (d->digits && c == '\r')
                                d->state = DC_SIZE_LF;
                        else {
                                r = -EPROTO;
                                goto out;
                        }
                        break;
                }
                case DC_EXT:
                        if (c == '\r')
                                d->state = DC_SIZE_LF;
                        else if (c == '\n') {
                                r = -EPROTO;
                                goto out;
                        }
                        break;
                case DC_SIZE_LF:
                        if (c != '\n') {
                                r = -EPROTO;
                                goto out;
                        }
                        d->line = 0;
                        d->left = d->size;
                        d->state = d->size ? DC_DATA : DC_TRAILER_START;
                        break;
                case DC_DATA_CR:
                case DC_DATA_LF:
                        if (c != (d->state == DC_DATA_CR ? '\r' : '\n')) {
                                r = -EPROTO;
                                goto out;
                        }
                        if (d->state == DC_DATA_LF) {
                                d->size = 0;
                                d->digits = false;
                        }
                        d->state = d->state == DC_DATA_CR ? DC_DATA_LF : DC_SIZE;
                        break;
                case DC_TRAILER_START:
                case DC_TRAILER:
                        if (++d->trailers > ND_UCLIENT_HEAD_MAX) {
                                r = -EFBIG;
                                goto out;
                        }
                        if (c == '\r')
                                d->state = d->state == DC_TRAILER_START ? DC_END_LF : DC_TRAILER_LF;
                        else
                                d->state = DC_TRAILER;
                        break;
                case DC_TRAILER_LF:
                case DC_END_LF:
                        if (c != '\n') {
                                r = -EPROTO;
                                goto out;
                        }
                        d->line = 0;
                        d->state = d->state == DC_END_LF ? DC_DONE : DC_TRAILER_START;
                        break;
                }
        }
out:
        *ret_out = o;
        *ret_used = i;
        if (r < 0)
                return r;
        return d->state == DC_DONE ? 1 : 0;
}

void nd_uclient_response_done(nd_uclient_response *r) {
        if (!r)
                return;
        free(r->body);
        *r = (nd_uclient_response) {};
}

/* ---- the socket ----------------------------------------------------------- */

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events on @fd until @deadline: 0, or -ETIMEDOUT, -errno. */
static int wait_fd(int fd, short events, int64_t deadline) {
        for (;;) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd p = { .fd = fd, .events = events };
                int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int) left);
                if (r > 0)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

int nd_uclient_connect(const char *path, int timeout_ms, nd_diag *d) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        int r;

        if (n == 0 || n >= sizeof(sa.sun_path))
                return nd_diag_set(d, -ENAMETOOLONG, "cannot connect to netd at %s: %s", path,
                                   n ? "path too long for a unix socket" : "empty path");
        memcpy(sa.sun_path, path, n);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return nd_diag_set(d, -errno, "cannot connect to netd at %s: %s", path, strerror(errno));
        /* a unix connect() blocks only while the listener's backlog is full;
         * SO_SNDTIMEO bounds that wait (the kernel reports it as EAGAIN) */
        struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        do
                r = connect(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n));
        while (r < 0 && errno == EINTR);
        if (r < 0) {
                int e = errno == EAGAIN ? ETIMEDOUT : errno;
                return nd_diag_set(d, -e, "cannot connect to netd at %s: %s", path,
                                   e == ETIMEDOUT ? "the daemon accepts no connections" : strerror(e));
        }
        return TAKE_FD(fd);
}

static bool token_ok(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

static int send_request(int fd, const char *method, const char *target, const char *content_type, const char *body,
                        size_t body_len, int64_t deadline, int timeout_ms, nd_diag *d) {
        char head[1024];
        int n, r;

        if (!token_ok(method) || !token_ok(target) || *target != '/' || (content_type && !token_ok(content_type)))
                return nd_diag_set(d, -EINVAL, "invalid request '%s %s'", method, target);
        n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: netd\r\nConnection: close\r\n", method, target);
        if (content_type && n > 0 && (size_t) n < sizeof(head))
                n += snprintf(head + n, sizeof(head) - (size_t) n, "Content-Type: %s\r\n", content_type);
        if ((body || strcmp(method, "GET") != 0) && n > 0 && (size_t) n < sizeof(head))
                n += snprintf(head + n, sizeof(head) - (size_t) n, "Content-Length: %zu\r\n", body ? body_len : 0);
        if (n > 0 && (size_t) n < sizeof(head))
                n += snprintf(head + n, sizeof(head) - (size_t) n, "\r\n");
        if (n < 0 || (size_t) n >= sizeof(head))
                return nd_diag_set(d, -EINVAL, "request target too long");

        /* one sendmsg() for head and body in the usual case */
        struct iovec iov[2] = { { head, (size_t) n }, { (void *) body, body ? body_len : 0 } };
        struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
        while (iov[0].iov_len + iov[1].iov_len > 0) {
                ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return nd_diag_set(d, -errno, "sending the request: %s", strerror(errno));
                        r = wait_fd(fd, POLLOUT, deadline);
                        if (r == -ETIMEDOUT)
                                return nd_diag_set(d, r, "request not taken within %d s", (timeout_ms + 999) / 1000);
                        if (r < 0)
                                return nd_diag_set(d, r, "sending the request: %s", strerror(-r));
                        continue;
                }
                for (int i = 0; i < 2; i++) {
                        size_t t = (size_t) k < iov[i].iov_len ? (size_t) k : iov[i].iov_len;
                        if (t == 0)
                                continue; /* an empty body's base may be NULL: no arithmetic on it */
                        iov[i].iov_base = (char *) iov[i].iov_base + t;
                        iov[i].iov_len -= t;
                        k -= (ssize_t) t;
                }
        }
        return 0;
}

struct rbuf {
        char *p;
        size_t len, cap, raw_max;
};

/* One recv() into @b, waiting until @deadline (-1: forever): its byte
 * count (0: EOF), or <0 with @d set. */
static ssize_t recv_some(int fd, struct rbuf *b, size_t max_body, int64_t deadline, int timeout_ms, nd_diag *d) {
        for (;;) {
                if (b->len == b->cap) {
                        if (b->cap >= b->raw_max)
                                return nd_diag_set(d, -EFBIG, "reply larger than %zu bytes", max_body);
                        if (ND_GROW(b->p, b->len, b->cap, 1) < 0)
                                return nd_diag_set(d, -ENOMEM, "out of memory");
                }
                ssize_t k = recv(fd, b->p + b->len, b->cap - b->len, MSG_DONTWAIT);
                if (k >= 0) {
                        b->len += (size_t) k;
                        return k;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return nd_diag_set(d, -errno, "reading the reply: %s", strerror(errno));
                int r = deadline < 0 ? wait_fd(fd, POLLIN, INT64_MAX) : wait_fd(fd, POLLIN, deadline);
                if (r == -ETIMEDOUT)
                        return nd_diag_set(d, r, "no reply within %d s", (timeout_ms + 999) / 1000);
                if (r < 0)
                        return nd_diag_set(d, r, "reading the reply: %s", strerror(-r));
        }
}

static int rbuf_init(struct rbuf *b, size_t max_body, nd_diag *d) {
        /* the raw reply may exceed the body by its head and chunk framing;
         * beyond that, refuse to buffer more */
        *b = (struct rbuf) { .cap = 8192 };
        b->raw_max = max_body > SIZE_MAX / 4 ? SIZE_MAX : ND_UCLIENT_HEAD_MAX + max_body + max_body / 4 + 65536;
        if (!(b->p = malloc(b->cap)))
                return nd_diag_set(d, -ENOMEM, "out of memory");
        return 0;
}

/* Read into @b until it holds a whole reply. */
static int read_reply(int fd, struct rbuf *b, int64_t deadline, int timeout_ms, size_t max_body,
                      nd_uclient_response *ret, nd_diag *d) {
        /* what @b holds already first */
        bool eof = false, first = b->len > 0;
        for (;;) {
                if (!first) {
                        ssize_t k = recv_some(fd, b, max_body, deadline, timeout_ms, d);
                        if (k < 0)
                                return (int) k;
                        if (k == 0 && b->len == 0)
                                return nd_diag_set(d, -ECONNRESET, "netd closed the connection without replying");
                        eof = k == 0;
                }
                first = false;
                int r = nd_uclient_parse(b->p, b->len, eof, max_body, ret);
                if (r > 0)
                        return 0;
                if (r == -EFBIG)
                        return nd_diag_set(d, r, "reply larger than %zu bytes", max_body);
                if (r == -EPROTO && eof)
                        return nd_diag_set(d, r, "netd closed the connection in the middle of its reply");
                if (r < 0)
                        return nd_diag_set(d, r, r == -EPROTO ? "malformed HTTP reply" : "%s", strerror(-r));
        }
}

int nd_uclient_exchange(int fd, const char *method, const char *target, const char *content_type, const char *body,
                        size_t body_len, int timeout_ms, size_t max_body, nd_uclient_response *ret, nd_diag *d) {
        int64_t deadline = now_ms() + timeout_ms;
        struct rbuf b;
        int r;

        *ret = (nd_uclient_response) {};
        r = send_request(fd, method, target, content_type, body, body_len, deadline, timeout_ms, d);
        if (r < 0)
                return r;
        if ((r = rbuf_init(&b, max_body, d)) < 0)
                return r;
        r = read_reply(fd, &b, deadline, timeout_ms, max_body, ret, d);
        free(b.p);
        return r;
}

/* The streamed body after the head: decoded in place, handed on. */
static int stream_body(int fd, struct rbuf *b, size_t off, int (*on_data)(void *u, const char *p, size_t len),
                       void *userdata, nd_diag *d) {
        nd_uclient_dechunk dc = {0};
        for (;;) {
                size_t out, used;
                int r = nd_uclient_dechunk_feed(&dc, b->p + off, b->len - off, b->p + off, &out, &used);
                if (r < 0)
                        return nd_diag_set(d, r, "malformed chunked reply");
                if (out > 0 && (r = on_data(userdata, b->p + off, out)) < 0)
                        return r;
                if (dc.state == DC_DONE)
                        return 0;
                b->len = off; /* everything at @off was consumed */
                ssize_t k = recv_some(fd, b, SIZE_MAX, -1, 0, d);
                if (k < 0)
                        return (int) k;
                if (k == 0)
                        return nd_diag_set(d, -ECONNRESET, "netd closed the stream in the middle");
        }
}

int nd_uclient_stream(int fd, const char *method, const char *target, int timeout_ms, size_t max_body,
                      int (*on_data)(void *userdata, const char *p, size_t len), void *userdata,
                      nd_uclient_response *ret, nd_diag *d) {
        int64_t deadline = now_ms() + timeout_ms;
        _cleanup_free_ char *p = NULL;
        struct rbuf b;
        size_t off = 0;
        int r;

        *ret = (nd_uclient_response) {};
        r = send_request(fd, method, target, NULL, NULL, 0, deadline, timeout_ms, d);
        if (r < 0)
                return r;
        if ((r = rbuf_init(&b, max_body, d)) < 0)
                return r;
        p = b.p;
        for (;;) {
                struct head h;
                r = head_parse(b.p + off, b.len - off, false, &h);
                if (r < 0 || (r == 1 && h.status == 101))
                        return nd_diag_set(d, r == -EFBIG ? r : -EPROTO, "malformed HTTP reply");
                if (r == 1 && h.status < 200) {
                        off += h.len; /* interim */
                        continue;
                }
                if (r == 1 && h.status == 200 && h.chunked) {
                        /* (the buffer is the stream's from here: its
                         * limit is the chunk framing's, not the body's) */
                        b.raw_max = SIZE_MAX;
                        r = stream_body(fd, &b, off + h.len, on_data, userdata, d);
                        p = b.p;
                        if (r < 0)
                                return r;
                        *ret = (nd_uclient_response) { .status = 200, .body = strdup("") };
                        return ret->body ? 0 : nd_diag_set(d, -ENOMEM, "out of memory");
                }
                if (r == 1) {
                        r = read_reply(fd, &b, deadline, timeout_ms, max_body, ret, d);
                        p = b.p;
                        return r;
                }
                ssize_t k = recv_some(fd, &b, max_body, deadline, timeout_ms, d);
                p = b.p;
                if (k < 0)
                        return (int) k;
                if (k == 0)
                        return nd_diag_set(d, -ECONNRESET, b.len ? "netd closed the connection in the middle of its reply"
                                                                 : "netd closed the connection without replying");
        }
}

int nd_uclient_call_json(int fd, const char *method, const char *target, const json_t *req, int timeout_ms,
                         json_t **ret, nd_diag *d) {
        _cleanup_free_ char *payload = NULL;
        nd_uclient_response resp;
        json_error_t err;
        int r;

        *ret = NULL;
        if (req && !(payload = json_dumps(req, JSON_COMPACT)))
                return nd_diag_set(d, -ENOMEM, "out of memory");
        r = nd_uclient_exchange(fd, method, target, req ? "application/json" : NULL, payload,
                                payload ? strlen(payload) : 0, timeout_ms, ND_UCLIENT_BODY_MAX, &resp, d);
        if (r < 0)
                return r;
        if (resp.body_len > 0 && !(*ret = json_loadb(resp.body, resp.body_len, 0, &err)))
                r = nd_diag_set(d, -EBADMSG, "netd sent a malformed reply (HTTP %d): %s", resp.status, err.text);
        else
                r = resp.status;
        nd_uclient_response_done(&resp);
        return r;
}

long nd_uclient_call(const char *sock, const char *method, const char *target, const json_t *req, int timeout_ms,
                     json_t **ret, nd_diag *d) {
        *ret = NULL;
        _cleanup_close_ int fd = nd_uclient_connect(sock, timeout_ms, d);
        if (fd < 0)
                return -1;
        int r = nd_uclient_call_json(fd, method, target, req, timeout_ms, ret, d);
        return r < 0 ? -1 : r;
}
