/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-svc-conn: short TCP connections, for bench/services.sh.
 *
 *   bench-svc-conn serve PORT REPLY
 *       Accepts on 0.0.0.0:PORT, writes REPLY to each connection and
 *       closes it, one after another, until killed.  The server closes
 *       first, as an HTTP/1.0 server does, so TIME_WAIT stays on the
 *       server's side and the client's ports are free again at once.
 *
 *   bench-svc-conn connect ADDR PORT N
 *       Opens N connections to ADDR:PORT one after another; each one is
 *       connect, read the reply to EOF, close.  Prints
 *         conns=N failed=N seconds=X rate=X p50_us=X p99_us=X max_us=X slow=N
 *       (slow: connections of 0.5 s or more, a lost SYN's retransmission)
 *       then one line "REPLY COUNT" per distinct reply (which server
 *       answered), most first.  Exits 1 when no connection succeeded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX 32
#define REPLIES_MAX 64

static double mono(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int parse_port(const char *s) {
        char *end;
        long v = strtol(s, &end, 10);
        return *s && !*end && v > 0 && v < 65536 ? (int) v : -1;
}

static int serve(int port, const char *reply) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        size_t len = strlen(reply);
        int one = 1, fd;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
                perror("bench-svc-conn: listen");
                return 1;
        }
        for (;;) {
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        perror("bench-svc-conn: accept");
                        return 1;
                }
                /* a client that went away is its own problem */
                (void) !write(c, reply, len);
                close(c);
        }
}

struct tally {
        char reply[REPLY_MAX + 1];
        unsigned long count;
};

static int dbl_cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static int tally_cmp(const void *a, const void *b) {
        const struct tally *x = a, *y = b;
        return (x->count < y->count) - (x->count > y->count);
}

/* One connection: 0 and the reply in @buf, or -errno. */
static int one_conn(const struct sockaddr_in *sa, char *buf) {
        char sink[64];
        size_t got = 0;
        ssize_t k;
        int fd, r = 0;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        while ((k = read(fd, buf + got, REPLY_MAX - got)) > 0 && (got += (size_t) k) < REPLY_MAX)
                ;
        if (k < 0)
                r = -errno;
        else if (got == REPLY_MAX) /* longer than any reply we serve: drain to EOF */
                while ((k = read(fd, sink, sizeof(sink))) > 0)
                        ;
        buf[got] = '\0';
        close(fd);
        return r;
}

static int connect_loop(const char *addr, int port, long n) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        struct tally t[REPLIES_MAX];
        size_t n_t = 0;
        unsigned long failed = 0, other = 0, slow = 0;
        int last_err = 0;
        double t0, dt, *lat;

        if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
                fprintf(stderr, "bench-svc-conn: '%s' is not an IPv4 address\n", addr);
                return 2;
        }
        lat = calloc((size_t) n, sizeof(*lat));
        if (!lat) {
                fprintf(stderr, "bench-svc-conn: out of memory\n");
                return 1;
        }
        t0 = mono();
        for (long i = 0; i < n; i++) {
                char buf[REPLY_MAX + 1];
                size_t k;
                double c0 = mono();
                int r = one_conn(&sa, buf);

                lat[i] = mono() - c0;
                slow += lat[i] >= 0.5;

                if (r < 0 || !buf[0]) {
                        failed++;
                        last_err = r;
                        continue;
                }
                for (k = 0; k < n_t && strcmp(t[k].reply, buf) != 0; k++)
                        ;
                if (k == n_t) {
                        if (n_t == REPLIES_MAX) {
                                other++;
                                continue;
                        }
                        snprintf(t[n_t].reply, sizeof(t[n_t].reply), "%s", buf);
                        t[n_t++].count = 0;
                }
                t[k].count++;
        }
        dt = mono() - t0;
        qsort(lat, (size_t) n, sizeof(*lat), dbl_cmp);
        printf("conns=%ld failed=%lu seconds=%.3f rate=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f slow=%lu\n", n,
               failed, dt, dt > 0 ? (double) ((unsigned long) n - failed) / dt : 0.0, lat[n / 2] * 1e6,
               lat[n * 99 / 100] * 1e6, lat[n - 1] * 1e6, slow);
        free(lat);
        qsort(t, n_t, sizeof(*t), tally_cmp);
        for (size_t k = 0; k < n_t; k++)
                printf("%s %lu\n", t[k].reply, t[k].count);
        if (other)
                printf("(other) %lu\n", other);
        if (failed)
                fprintf(stderr, "bench-svc-conn: %lu of %ld connections failed (last: %s)\n", failed, n,
                        last_err ? strerror(-last_err) : "empty reply");
        return failed == (unsigned long) n;
}

int main(int argc, char **argv) {
        signal(SIGPIPE, SIG_IGN);
        if (argc == 4 && strcmp(argv[1], "serve") == 0 && parse_port(argv[2]) > 0 && argv[3][0] &&
            strlen(argv[3]) < REPLY_MAX && !strpbrk(argv[3], " \n"))
                return serve(parse_port(argv[2]), argv[3]);
        if (argc == 5 && strcmp(argv[1], "connect") == 0 && parse_port(argv[3]) > 0) {
                char *end;
                long n = strtol(argv[4], &end, 10);
                if (*argv[4] && !*end && n > 0)
                        return connect_loop(argv[2], parse_port(argv[3]), n);
        }
        fprintf(stderr, "usage: bench-svc-conn serve PORT REPLY   (REPLY: 1-%d characters, no spaces)\n"
                        "       bench-svc-conn connect ADDR PORT N\n",
                REPLY_MAX - 1);
        return 2;
}
