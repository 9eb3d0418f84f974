/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-converge --netns PATH --netctl PATH --socket SOCK --network NET
 *                [--count N] [--prefix NAME]
 *
 * Convergence of the overlay: for each of N containers, run
 * `netctl --socket SOCK run -d --name PREFIXi --network NET sleep 3600`
 * (host A) and, from the moment it returns, poll from inside the sandbox
 * PATH (on host B): a DNS query for the name at 127.0.0.11 until it
 * answers an address, then ICMP echo to that address until it replies.
 * Polling runs in this one process (no process start per poll), each try
 * with a 20 ms timeout.  Prints one line per container (µs) and the
 * median / p95 / max.
 *
 * With --service SVC the containers are tasks of SVC (`run --service`):
 * after each run returns on A, it polls tasks.SVC on B until it answers
 * one address more; then it removes them one by one (`rm -f` on A) and
 * polls until tasks.SVC answers one fewer.  The same figures, for
 * joining and for leaving.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ldns/ldns.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int run_netctl(const char *netctl, const char *sock, const char *net, const char *name, const char *svc) {
        pid_t p = fork();
        if (p == 0) {
                int devnull = open("/dev/null", O_WRONLY);
                dup2(devnull, 1);
                if (svc)
                        execl(netctl, netctl, "--socket", sock, "run", "-d", "--name", name, "--network", net,
                              "--service", svc, "sleep", "3600", (char *) NULL);
                else
                        execl(netctl, netctl, "--socket", sock, "run", "-d", "--name", name, "--network", net, "sleep",
                              "3600", (char *) NULL);
                _exit(127);
        }
        int st = 0;
        waitpid(p, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int rm_netctl(const char *netctl, const char *sock, const char *name) {
        pid_t p = fork();
        if (p == 0) {
                int devnull = open("/dev/null", O_WRONLY);
                dup2(devnull, 1);
                execl(netctl, netctl, "--socket", sock, "rm", "-f", name, (char *) NULL);
                _exit(127);
        }
        int st = 0;
        waitpid(p, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* One A query for @name at 127.0.0.11: how many addresses it answered
 * (@ret: the first), or -1 without an answer. */
static int resolve_n(int fd, const char *name, struct in_addr *ret) {
        ldns_pkt *q = NULL, *a = NULL;
        uint8_t *wire = NULL, buf[4096];
        size_t len = 0;
        int ok = -1;
        if (ldns_pkt_query_new_frm_str(&q, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
                return -1;
        ldns_pkt_set_id(q, (uint16_t) rand());
        ldns_pkt_set_edns_udp_size(q, 4096); /* tasks.SVC may list many */
        if (ldns_pkt2wire(&wire, q, &len) == LDNS_STATUS_OK && send(fd, wire, len, 0) == (ssize_t) len) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 20) == 1) {
                        ssize_t k = recv(fd, buf, sizeof(buf), 0);
                        if (k > 0 && ldns_wire2pkt(&a, buf, (size_t) k) == LDNS_STATUS_OK &&
                            ldns_pkt_id(a) == ldns_pkt_id(q)) {
                                ldns_rr_list *an = ldns_pkt_answer(a);
                                ok = 0;
                                for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
                                        ldns_rr *rr = ldns_rr_list_rr(an, i);
                                        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rr_rd_count(rr) == 1) {
                                                if (ok == 0)
                                                        memcpy(ret, ldns_rdf_data(ldns_rr_rdf(rr, 0)), 4);
                                                ok++;
                                        }
                                }
                        }
                }
        }
        free(wire);
        ldns_pkt_free(q);
        ldns_pkt_free(a);
        return ok;
}

static int resolve(int fd, const char *name, struct in_addr *ret) {
        return resolve_n(fd, name, ret) > 0;
}

static uint16_t csum(const void *p, size_t n) {
        const uint8_t *b = p;
        uint32_t s = 0;
        for (size_t i = 0; i + 1 < n; i += 2)
                s += (uint32_t) (b[i] << 8 | b[i + 1]);
        if (n & 1)
                s += (uint32_t) b[n - 1] << 8;
        while (s >> 16)
                s = (s & 0xffff) + (s >> 16);
        return htons((uint16_t) ~s);
}

static int ping_once(int fd, struct in_addr to, uint16_t seq) {
        struct icmphdr h = { .type = ICMP_ECHO };
        h.un.echo.id = htons((uint16_t) getpid());
        h.un.echo.sequence = htons(seq);
        h.checksum = csum(&h, sizeof(h));
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = to };
        if (sendto(fd, &h, sizeof(h), 0, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return 0;
        int64_t end = now_us() + 20000;
        for (;;) {
                int left = (int) ((end - now_us()) / 1000);
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (left <= 0 || poll(&p, 1, left) != 1)
                        return 0;
                uint8_t buf[1500];
                ssize_t k = recv(fd, buf, sizeof(buf), 0);
                if (k < 28)
                        continue;
                struct iphdr *ip = (struct iphdr *) buf;
                struct icmphdr *r = (struct icmphdr *) (buf + ip->ihl * 4);
                if (ip->saddr == to.s_addr && r->type == ICMP_ECHOREPLY && r->un.echo.sequence == htons(seq))
                        return 1;
        }
}

static int cmp64(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
        return x < y ? -1 : x > y;
}

static void report(const char *what, int64_t *t, int count) {
        qsort(t, (size_t) count, sizeof(*t), cmp64);
        printf("%-14s median %8.2f ms   p95 %8.2f ms   max %8.2f ms   (n=%d)\n", what, t[(count - 1) / 2] / 1000.0,
               t[(count * 95 + 99) / 100 - 1] / 1000.0, t[count - 1] / 1000.0, count);
}

/* tasks.SVC on B answers @want addresses (within 10 s): 0, or -1. */
static int await_tasks(int dns, const char *tasks, int want) {
        int64_t deadline = now_us() + 10000000;
        struct in_addr a;
        while (resolve_n(dns, tasks, &a) != want)
                if (now_us() > deadline)
                        return -1;
        return 0;
}

static int converge_service(int dns, const char *netctl, const char *sock, const char *net, const char *prefix,
                            const char *svc, int count, int64_t *t) {
        char tasks[128], name[64];
        int base;
        struct in_addr a;

        snprintf(tasks, sizeof(tasks), "tasks.%s", svc);
        base = resolve_n(dns, tasks, &a);
        if (base < 0)
                base = 0;
        for (int i = 0; i < count; i++) {
                snprintf(name, sizeof(name), "%s%d", prefix, i + 1);
                if (run_netctl(netctl, sock, net, name, svc) < 0) {
                        fprintf(stderr, "bench-converge: netctl run %s failed\n", name);
                        return 1;
                }
                int64_t t0 = now_us();
                if (await_tasks(dns, tasks, base + i + 1) < 0) {
                        fprintf(stderr, "bench-converge: %s never joined %s\n", name, tasks);
                        return 1;
                }
                t[i] = now_us() - t0;
        }
        report("task joins", t, count);
        for (int i = 0; i < count; i++) {
                snprintf(name, sizeof(name), "%s%d", prefix, i + 1);
                if (rm_netctl(netctl, sock, name) < 0) {
                        fprintf(stderr, "bench-converge: netctl rm %s failed\n", name);
                        return 1;
                }
                int64_t t0 = now_us();
                if (await_tasks(dns, tasks, base + count - i - 1) < 0) {
                        fprintf(stderr, "bench-converge: %s never left %s\n", name, tasks);
                        return 1;
                }
                t[i] = now_us() - t0;
        }
        report("task leaves", t, count);
        free(t);
        return 0;
}

int main(int argc, char **argv) {
        const char *netns = NULL, *netctl = NULL, *sock = NULL, *net = NULL, *prefix = "conv", *svc = NULL;
        int count = 50, c;
        static const struct option opts[] = { { "netns", 1, NULL, 'n' },   { "netctl", 1, NULL, 'c' },
                                              { "socket", 1, NULL, 's' },  { "network", 1, NULL, 'w' },
                                              { "count", 1, NULL, 'k' },   { "prefix", 1, NULL, 'p' },
                                              { "service", 1, NULL, 'S' }, {} };
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'n': netns = optarg; break;
                case 'c': netctl = optarg; break;
                case 's': sock = optarg; break;
                case 'w': net = optarg; break;
                case 'k': count = atoi(optarg); break;
                case 'p': prefix = optarg; break;
                case 'S': svc = optarg; break;
                default: return 2;
                }
        if (!netns || !netctl || !sock || !net || count < 1) {
                fprintf(stderr, "usage: bench-converge --netns PATH --netctl PATH --socket SOCK --network NET [--count N]\n");
                return 2;
        }
        int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
                perror("bench-converge: setns");
                return 1;
        }
        int dns = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int icmp = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
        struct sockaddr_in ns = { .sin_family = AF_INET, .sin_port = htons(53) };
        inet_pton(AF_INET, "127.0.0.11", &ns.sin_addr);
        if (dns < 0 || icmp < 0 || connect(dns, (struct sockaddr *) &ns, sizeof(ns)) < 0) {
                perror("bench-converge: sockets");
                return 1;
        }
        int64_t *t = calloc((size_t) count, sizeof(*t));
        if (svc)
                return converge_service(dns, netctl, sock, net, prefix, svc, count, t);
        for (int i = 0; i < count; i++) {
                char name[64];
                struct in_addr a;
                snprintf(name, sizeof(name), "%s%d", prefix, i + 1);
                if (run_netctl(netctl, sock, net, name, NULL) < 0) {
                        fprintf(stderr, "bench-converge: netctl run %s failed\n", name);
                        return 1;
                }
                int64_t t0 = now_us(), deadline = t0 + 10000000;
                while (!resolve(dns, name, &a))
                        if (now_us() > deadline) {
                                fprintf(stderr, "bench-converge: %s never resolved\n", name);
                                return 1;
                        }
                for (uint16_t seq = 1; !ping_once(icmp, a, seq); seq++)
                        if (now_us() > deadline) {
                                fprintf(stderr, "bench-converge: %s never answered ping\n", name);
                                return 1;
                        }
                t[i] = now_us() - t0;
        }
        qsort(t, (size_t) count, sizeof(*t), cmp64);
        printf("convergence    median %8.2f ms   p95 %8.2f ms   max %8.2f ms   (n=%d)\n", t[(count - 1) / 2] / 1000.0,
               t[(count * 95 + 99) / 100 - 1] / 1000.0, t[count - 1] / 1000.0, count);
        free(t);
        return 0;
}
