/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-stall-probe SERVER NAME INTERVAL_MS [SECONDS]: for bench/stall.sh.
 * Sends one A query for NAME to SERVER:53 every INTERVAL_MS, on schedule
 * whether or not the previous one was answered (a stall shows in every
 * query it delays, not in one), and times each answer with the monotonic
 * clock.  A query unanswered after 1 s counts as lost and as 1000 ms.
 * Runs SECONDS, or until SIGTERM/SIGINT; then waits up to 1 s for the
 * answers still due and prints one line:
 *   queries=N answered=N lost=N errors=N p50_ms=X p99_ms=X worst_ms=X
 * errors: answers that are not NOERROR with an answer record.
 * Then arr_p99_ms=X arr_worst_ms=X: the same from the kernel's receive
 * timestamp of each answer (SO_TIMESTAMPNS): when the answer reached the
 * probe's socket, without the probe's own wake-up after it (on a busy
 * machine the probe waits for a CPU like everything else).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"

#define TIMEOUT 1.0

static volatile sig_atomic_t stop;
static void on_stop(int sig) {
        (void) sig;
        stop = 1;
}

static double clock_s(clockid_t id) {
        struct timespec ts;
        clock_gettime(id, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double mono(void) {
        return clock_s(CLOCK_MONOTONIC);
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv) {
        if (argc < 4) {
                fprintf(stderr, "usage: bench-stall-probe SERVER NAME INTERVAL_MS [SECONDS]\n");
                return 2;
        }
        double interval = atof(argv[3]) / 1000, duration = argc > 4 ? atof(argv[4]) : 0;
        unsigned char q[300];
        size_t qlen = 12;
        memset(q, 0, 12);
        q[2] = 0x01; /* RD */
        q[5] = 1;    /* QDCOUNT */
        for (char *lab = argv[2], *dot; *lab; lab = dot ? dot + 1 : lab + strlen(lab)) {
                dot = strchr(lab, '.');
                size_t l = dot ? (size_t) (dot - lab) : strlen(lab);
                if (l == 0 || l > 63 || qlen + l + 6 > sizeof(q)) {
                        fprintf(stderr, "bench-stall-probe: bad name\n");
                        return 2;
                }
                q[qlen++] = (unsigned char) l;
                memcpy(q + qlen, lab, l);
                qlen += l;
                if (!dot)
                        break;
        }
        q[qlen++] = 0;
        q[qlen++] = 0, q[qlen++] = 1; /* A */
        q[qlen++] = 0, q[qlen++] = 1; /* IN */

        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
            connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                perror("bench-stall-probe: socket");
                return 1;
        }
        int one = 1;
        (void) setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
        signal(SIGTERM, on_stop);
        signal(SIGINT, on_stop);

        static double sent[65536];    /* by query id; 0: none outstanding */
        static double sent_rt[65536]; /* the same on CLOCK_REALTIME, the timestamps' clock */
        double *arr = NULL;           /* arrival - sent, by the kernel's timestamp */
        size_t n_arr = 0, cap_arr = 0;
        size_t n = 0, cap = 0, outstanding = 0, lost = 0, errors = 0, queries = 0;
        double *lat = NULL;
        double start = mono(), next = start, drain_end = 0, last_scan = 0;
        uint16_t id = 0;
        for (;;) {
                double now = mono();
                if (!drain_end && (stop || (duration > 0 && now - start >= duration)))
                        drain_end = now + TIMEOUT;
                if (drain_end && (outstanding == 0 || now >= drain_end))
                        break;
                if (!drain_end && now >= next) {
                        id++;
                        if (sent[id] > 0) { /* wrapped onto one still waiting: lost */
                                outstanding--;
                                lost++;
                        }
                        q[0] = (unsigned char) (id >> 8), q[1] = (unsigned char) id;
                        sent_rt[id] = clock_s(CLOCK_REALTIME); /* the timestamps' clock */
                        if (send(fd, q, qlen, 0) == (ssize_t) qlen) {
                                sent[id] = now;
                                outstanding++;
                        } else {
                                sent[id] = 0;
                                errors++;
                        }
                        queries++;
                        next += interval;
                        if (next < now - TIMEOUT) /* the probe itself was stopped: do not burst */
                                next = now;
                }
                /* expire what waited too long (a scan every 50 ms is enough) */
                if (now - last_scan > 0.05) {
                        last_scan = now;
                        for (size_t i = 0; i < 65536 && outstanding; i++)
                                if (sent[i] > 0 && now - sent[i] > TIMEOUT) {
                                        sent[i] = 0;
                                        outstanding--;
                                        lost++;
                                }
                }
                double wait = drain_end ? drain_end - now : next - now;
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int ms = wait > 0 ? (int) (wait * 1000) : 0;
                if (poll(&p, 1, ms > 50 ? 50 : ms) < 0 && errno != EINTR)
                        return 1;
                unsigned char r[1500];
                union {
                        char buf[CMSG_SPACE(sizeof(struct timespec))];
                        struct cmsghdr align;
                } cm;
                struct iovec iov = { r, sizeof(r) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                                     .msg_controllen = sizeof(cm.buf) };
                ssize_t k;
                while ((k = recvmsg(fd, &mh, 0)) >= 12) {
                        double t = mono(), at = 0;
                        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                                        struct timespec ts;
                                        memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                                        at = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
                                }
                        mh.msg_controllen = sizeof(cm.buf);
                        uint16_t rid = (uint16_t) (r[0] << 8 | r[1]);
                        if (sent[rid] <= 0)
                                continue; /* late, already counted as lost */
                        if (ND_GROW(lat, n, cap, 1) < 0 || ND_GROW(arr, n_arr, cap_arr, 1) < 0)
                                return 1;
                        /* no timestamp (not expected): as the probe saw it */
                        arr[n_arr++] = at > 0 ? at - sent_rt[rid] : t - sent[rid];
                        lat[n++] = t - sent[rid];
                        sent[rid] = 0;
                        outstanding--;
                        if ((r[3] & 0x0f) != 0 || (r[6] == 0 && r[7] == 0))
                                errors++;
                }
        }
        size_t answered = n;
        lost += outstanding; /* still unanswered when the drain ended */
        if (ND_GROW(lat, n, cap, lost) < 0)
                return 1;
        for (size_t i = 0; i < lost; i++)
                lat[n++] = TIMEOUT;
        qsort(lat, n, sizeof(*lat), cmp);
        if (ND_GROW(arr, n_arr, cap_arr, lost) < 0)
                return 1;
        for (size_t i = 0; i < lost; i++)
                arr[n_arr++] = TIMEOUT;
        qsort(arr, n_arr, sizeof(*arr), cmp);
        /* nearest rank: the smallest value with at least p of the samples at or below it */
        size_t r50 = (n + 1) / 2, r99 = (n * 99 + 99) / 100;
        double p50 = n ? lat[r50 - 1] : 0, p99 = n ? lat[r99 - 1] : 0, worst = n ? lat[n - 1] : 0;
        size_t a99 = (n_arr * 99 + 99) / 100;
        double arr99 = n_arr ? arr[a99 - 1] : 0, arr_worst = n_arr ? arr[n_arr - 1] : 0;
        printf("queries=%zu answered=%zu lost=%zu errors=%zu p50_ms=%.2f p99_ms=%.2f worst_ms=%.2f "
               "arr_p99_ms=%.2f arr_worst_ms=%.2f\n",
               queries, answered, lost, errors, p50 * 1000, p99 * 1000, worst * 1000, arr99 * 1000,
               arr_worst * 1000);
        free(lat);
        free(arr);
        return 0;
}
