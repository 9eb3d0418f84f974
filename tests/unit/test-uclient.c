/* SPDX-License-Identifier: Apache-2.0 */
/* The clients' HTTP: the pure parser directly, and the socket side against
 * a forked one-shot server on a socketpair or a unix socket in a temp dir. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "uclient.h"

static int parse(const char *s, bool eof, size_t max, nd_uclient_response *r) {
        return nd_uclient_parse(s, strlen(s), eof, max, r);
}

static void test_parse_content_length(void **state) {
        const char *s = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length:  7 \r\n\r\n{\"a\":1}";
        nd_uclient_response r;
        assert_int_equal(parse(s, false, 1024, &r), 1);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 7);
        assert_string_equal(r.body, "{\"a\":1}");
        nd_uclient_response_done(&r);
        /* every proper prefix wants more bytes, and is truncated at EOF */
        for (size_t n = 0; n < strlen(s); n++) {
                assert_int_equal(nd_uclient_parse(s, n, false, 1024, &r), 0);
                assert_int_equal(nd_uclient_parse(s, n, true, 1024, &r), -EPROTO);
        }
}

static void test_parse_chunked(void **state) {
        const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
                        "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\n";
        nd_uclient_response r;
        assert_int_equal(parse(s, false, 1024, &r), 1);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hello 0123456789");
        assert_int_equal(r.body_len, 16);
        nd_uclient_response_done(&r);
        for (size_t n = 0; n < strlen(s); n++)
                assert_int_equal(nd_uclient_parse(s, n, false, 1024, &r), 0);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 64, &r), -EPROTO);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n", false, 64, &r),
                         -EPROTO);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, 64, &r), -EPROTO);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", false,
                               64, &r),
                         -EFBIG);
}

static void test_parse_status(void **state) {
        nd_uclient_response r;
        assert_int_equal(parse("HTTP/1.1 404 Not Found\r\nContent-Length: 15\r\n\r\n{\"message\":\"x\"}", false, 64,
                               &r),
                         1);
        assert_int_equal(r.status, 404);
        nd_uclient_response_done(&r);
        assert_int_equal(parse("HTTP/1.1 204 No Content\r\n\r\n", false, 64, &r), 1);
        assert_int_equal(r.status, 204);
        assert_int_equal(r.body_len, 0);
        assert_string_equal(r.body, "");
        nd_uclient_response_done(&r);
        /* an interim 100 is skipped; a body without length ends at EOF */
        assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200\r\n\r\nabc", false, 64, &r), 0);
        assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200\r\n\r\nabc", true, 64, &r), 1);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "abc");
        nd_uclient_response_done(&r);
        const char *bad[] = {
                "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
                "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                "HTTP/1.1 101 Switching\r\n\r\n", "garbage\r\n\r\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
                assert_int_equal(parse(bad[i], false, 64, &r), -EPROTO);
}

static void test_parse_limits(void **state) {
        nd_uclient_response r;
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", false, 64, &r), -EFBIG);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false, 64, &r),
                         -EFBIG);
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", false, 64, &r), -EFBIG);
        size_t n = ND_UCLIENT_HEAD_MAX + 16;
        char *big = malloc(n + 1);
        if (!big) {
                /* cmocka's assertions do not return on failure, but gcc
                 * cannot tell: -Warray-bounds with -O2 saw a NULL big */
                fail();
                return;
        }
        memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
        memset(big + 20, 'a', n - 20);
        big[n] = 0;
        assert_int_equal(parse(big, false, 64, &r), -EFBIG);
        free(big);
}

/* ---- against a forked server ------------------------------------------------ */

/* Read one request (head and Content-Length body) from @fd into @buf. */
static size_t read_request(int fd, char *buf, size_t size) {
        size_t len = 0;
        for (;;) {
                ssize_t k = read(fd, buf + len, size - 1 - len);
                if (k <= 0)
                        break;
                len += (size_t) k;
                buf[len] = 0;
                char *end = strstr(buf, "\r\n\r\n");
                if (!end)
                        continue;
                const char *cl = strcasestr(buf, "Content-Length: ");
                size_t want = (size_t) (end + 4 - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
                if (len >= want)
                        break;
        }
        return len;
}

/* Fork a server that reads one request from @fd, then sends the NULL-
 * terminated @pieces one write each ("=ECHO" sends the request back as a
 * Content-Length body) and closes. */
static pid_t serve(int fd, const char *const *pieces) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid > 0)
                return pid;
        char req[8192];
        size_t n = read_request(fd, req, sizeof(req));
        for (; *pieces; pieces++) {
                if (strcmp(*pieces, "=ECHO") == 0) {
                        char h[128];
                        int k = snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
                        if (write(fd, h, (size_t) k) < 0 || write(fd, req, n) < 0)
                                _exit(1);
                } else if (strcmp(*pieces, "=HANG") == 0)
                        pause();
                else if (write(fd, *pieces, strlen(*pieces)) < 0)
                        _exit(1);
                usleep(1000); /* separate reads more often than not; correctness does not depend on it */
        }
        _exit(0);
}

static int exchange_with(const char *const *pieces, const char *method, const char *body, int timeout_ms,
                         size_t max, nd_uclient_response *r, nd_diag *d) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        pid_t pid = serve(sv[1], pieces);
        close(sv[1]);
        int ret = nd_uclient_exchange(sv[0], method, "/v1/x", body ? "application/json" : NULL, body,
                                      body ? strlen(body) : 0, timeout_ms, max, r, d);
        close(sv[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return ret;
}

static void test_exchange(void **state) {
        nd_uclient_response r;
        nd_diag d = {};
        /* what goes on the wire */
        const char *echo[] = { "=ECHO", NULL };
        assert_int_equal(exchange_with(echo, "POST", "{\"a\":1}", 5000, 1 << 20, &r, &d), 0);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "POST /v1/x HTTP/1.1\r\n"));
        assert_non_null(strstr(r.body, "Host: netd\r\n"));
        assert_non_null(strstr(r.body, "Content-Type: application/json\r\n"));
        assert_non_null(strstr(r.body, "Content-Length: 7\r\n\r\n{\"a\":1}"));
        nd_uclient_response_done(&r);
        assert_int_equal(exchange_with(echo, "DELETE", NULL, 5000, 1 << 20, &r, &d), 0);
        assert_non_null(strstr(r.body, "DELETE /v1/x HTTP/1.1\r\n"));
        assert_non_null(strstr(r.body, "Content-Length: 0\r\n"));
        assert_null(strstr(r.body, "Content-Type"));
        nd_uclient_response_done(&r);

        /* Content-Length, in pieces */
        const char *cl[] = { "HTTP/1.1 200 OK\r\nContent-", "Length: 11\r\n\r\nhello", " world", NULL };
        assert_int_equal(exchange_with(cl, "GET", NULL, 5000, 1 << 20, &r, &d), 0);
        assert_string_equal(r.body, "hello world");
        nd_uclient_response_done(&r);

        /* chunked, in pieces; the server keeps the connection open after it */
        const char *ch[] = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab", "cd\r\n3\r\nefg\r\n0\r\n",
                             "\r\n", "=HANG", NULL };
        assert_int_equal(exchange_with(ch, "GET", NULL, 5000, 1 << 20, &r, &d), 0);
        assert_string_equal(r.body, "abcdefg");
        nd_uclient_response_done(&r);
}

/* The incremental decoder: any split of the input gives the same data. */
static void test_dechunk(void **state) {
        const char *s = "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\nNEXT";
        size_t n = strlen(s);
        for (size_t step = 1; step <= n; step++) {
                nd_uclient_dechunk dc = {0};
                char out[64], got[64];
                size_t g = 0, i = 0, o, used;
                int r = 0;
                while (i < n && r == 0) {
                        size_t k = n - i < step ? n - i : step;
                        r = nd_uclient_dechunk_feed(&dc, s + i, k, out, &o, &used);
                        memcpy(got + g, out, o);
                        g += o;
                        i += used;
                        if (r == 0)
                                assert_int_equal(used, k);
                }
                assert_int_equal(r, 1);
                assert_int_equal(i, n - 4); /* stops before what follows the body */
                got[g] = 0;
                assert_string_equal(got, "hello 0123456789");
        }
        /* in place, as the stream reader decodes */
        char buf[64];
        size_t o, used;
        nd_uclient_dechunk dc = {0};
        strcpy(buf, "3\r\nabc\r\n2\r\nde\r\n");
        assert_int_equal(nd_uclient_dechunk_feed(&dc, buf, strlen(buf), buf, &o, &used), 0);
        assert_int_equal(o, 5);
        assert_memory_equal(buf, "abcde", 5);
        const char *bad[] = { "zz\r\n", "\r\n", "3\r\nabcd\r\n", "3\nabc", "1;x\nab" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                nd_uclient_dechunk d2 = {0};
                assert_int_equal(nd_uclient_dechunk_feed(&d2, bad[i], strlen(bad[i]), buf, &o, &used), -EPROTO);
        }
        nd_uclient_dechunk d3 = {0};
        assert_int_equal(nd_uclient_dechunk_feed(&d3, "ffffffffffffffffff\r\n", 20, buf, &o, &used), -EFBIG);
        /* a size line without end is refused once it is absurdly long */
        static char lng[5000];
        memset(lng, ' ', sizeof(lng));
        lng[0] = '1';
        nd_uclient_dechunk d4 = {0};
        assert_int_equal(nd_uclient_dechunk_feed(&d4, lng, sizeof(lng), buf, &o, &used), -EPROTO);
}

struct collected {
        char buf[256];
        size_t len;
        int calls;
        int stop_at;
};

static int collect(void *userdata, const char *p, size_t len) {
        struct collected *c = userdata;
        assert_true(c->len + len < sizeof(c->buf));
        memcpy(c->buf + c->len, p, len);
        c->len += len;
        c->buf[c->len] = 0;
        return ++c->calls == c->stop_at ? -ECANCELED : 0;
}

static int stream_with(const char *const *pieces, struct collected *c, nd_uclient_response *r, nd_diag *d) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        pid_t pid = serve(sv[1], pieces);
        close(sv[1]);
        int ret = nd_uclient_stream(sv[0], "GET", "/v1/events", 5000, 1 << 20, collect, c, r, d);
        close(sv[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return ret;
}

static void test_stream(void **state) {
        nd_uclient_response r;
        nd_diag d = {};
        struct collected c = {0};
        /* lines handed on as they come, across chunk and read borders */
        const char *ok[] = { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                             "7\r\n{\"a\":1", "}\r\n2\r\n\n{\r\n", "5\r\n\"b\":2\r\n", "2\r\n}\n\r\n0\r\n\r\n", "=HANG", NULL };
        assert_int_equal(stream_with(ok, &c, &r, &d), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(c.buf, "{\"a\":1}\n{\"b\":2}\n");
        assert_true(c.calls >= 2);
        nd_uclient_response_done(&r);

        /* an error reply is read whole, not streamed */
        c = (struct collected) {0};
        const char *err[] = { "HTTP/1.1 400 Bad Request\r\nContent-Length: 15\r\n\r\n{\"message\":\"x\"}", NULL };
        assert_int_equal(stream_with(err, &c, &r, &d), 0);
        assert_int_equal(r.status, 400);
        assert_string_equal(r.body, "{\"message\":\"x\"}");
        assert_int_equal(c.calls, 0);
        nd_uclient_response_done(&r);

        /* the callback stops it */
        c = (struct collected) { .stop_at = 1 };
        const char *more[] = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nx\n\r\n", "=HANG", NULL };
        assert_int_equal(stream_with(more, &c, &r, &d), -ECANCELED);

        /* a stream cut in the middle, or garbled */
        c = (struct collected) {0};
        const char *cut[] = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nx\n\r\n", NULL };
        assert_int_equal(stream_with(cut, &c, &r, &d), -ECONNRESET);
        assert_string_equal(c.buf, "x\n");
        c = (struct collected) {0};
        const char *bad[] = { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", "=HANG", NULL };
        assert_int_equal(stream_with(bad, &c, &r, &d), -EPROTO);
        const char *none[] = { NULL };
        assert_int_equal(stream_with(none, &c, &r, &d), -ECONNRESET);
}

static void test_exchange_errors(void **state) {
        nd_uclient_response r;
        nd_diag d = {};
        const char *none[] = { NULL };
        assert_int_equal(exchange_with(none, "GET", NULL, 5000, 1 << 20, &r, &d), -ECONNRESET);
        assert_string_equal(d.msg, "netd closed the connection without replying");
        const char *half[] = { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", NULL };
        assert_int_equal(exchange_with(half, "GET", NULL, 5000, 1 << 20, &r, &d), -EPROTO);
        assert_string_equal(d.msg, "netd closed the connection in the middle of its reply");
        const char *big[] = { "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "=HANG", NULL };
        assert_int_equal(exchange_with(big, "GET", NULL, 5000, 99, &r, &d), -EFBIG);
        assert_string_equal(d.msg, "reply larger than 99 bytes");
        const char *bad[] = { "SSH-2.0-OpenSSH\r\n\r\n", NULL };
        assert_int_equal(exchange_with(bad, "GET", NULL, 5000, 1 << 20, &r, &d), -EPROTO);
        const char *hang[] = { "HTTP/1.1 200 OK\r\n", "=HANG", NULL };
        assert_int_equal(exchange_with(hang, "GET", NULL, 50, 1 << 20, &r, &d), -ETIMEDOUT);
        assert_string_equal(d.msg, "no reply within 1 s");
        int fd = -1;
        assert_int_equal(nd_uclient_exchange(fd, "GET", "no slash", NULL, NULL, 0, 50, 64, &r, &d), -EINVAL);
        assert_int_equal(nd_uclient_exchange(fd, "GET", "/a\r\nX: y", NULL, NULL, 0, 50, 64, &r, &d), -EINVAL);
}

static void test_connect_and_json(void **state) {
        char dir[] = "/tmp/nd-uclient.XXXXXX", path[128];
        nd_diag d = {};
        json_t *j = NULL;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/sock", dir);
        assert_int_equal(nd_uclient_connect(path, 1000, &d), -ENOENT);
        char want[256];
        snprintf(want, sizeof(want), "cannot connect to netd at %s: %s", path, strerror(ENOENT));
        assert_string_equal(d.msg, want);

        int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(l, 4), 0);
        const char *replies[][3] = {
                { "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", "{\"Version\":1}", NULL },
                { "HTTP/1.1 409 Conflict\r\nContent-Length: 24\r\n\r\n", "{\"message\":\"name taken\"}", NULL },
                { "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", "{oops", NULL },
        };
        for (int i = 0; i < 3; i++) {
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                _exit(1);
                        serve(c, replies[i]); /* the grandchild */
                        _exit(0);
                }
                int fd = nd_uclient_connect(path, 1000, &d);
                assert_true(fd >= 0);
                int st = nd_uclient_call_json(fd, "GET", "/v1/version", NULL, 5000, &j, &d);
                close(fd);
                waitpid(pid, NULL, 0);
                if (i == 0) {
                        assert_int_equal(st, 200);
                        assert_int_equal(json_integer_value(json_object_get(j, "Version")), 1);
                } else if (i == 1) {
                        assert_int_equal(st, 409);
                        assert_string_equal(json_string_value(json_object_get(j, "message")), "name taken");
                } else {
                        assert_int_equal(st, -EBADMSG);
                        assert_null(j);
                        assert_non_null(strstr(d.msg, "netd sent a malformed reply (HTTP 200)"));
                }
                json_decref(j);
                j = NULL;
        }
        close(l);
        unlink(path);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_content_length), cmocka_unit_test(test_parse_chunked),
                cmocka_unit_test(test_parse_status),         cmocka_unit_test(test_parse_limits),
                cmocka_unit_test(test_exchange),             cmocka_unit_test(test_exchange_errors),
                cmocka_unit_test(test_dechunk),              cmocka_unit_test(test_stream),
                cmocka_unit_test(test_connect_and_json),
        };
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
