/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fw-drive: program netd's nftables tables (netd/kernel/nft.h) in the
 * current network namespace with elements built by the firewall's
 * builders, without a daemon, for tests/integ/firewall/vip.sh.
 *
 *   fw-drive ELEMS...                 replace the tables with ELEMS
 *   fw-drive ELEMS... then ELEMS...   replace with the first list, then
 *                                     move to the second as an update (the
 *                                     owner diff, one batch); prints
 *                                     "update del=N add=M diff_us=D"
 *   fw-drive addr add|del IFNAME ADDR/LEN   nd_nl_addr_add / nd_nl_addr_del
 *   fw-drive bench-diff               median time of nd_fw_elems_diff for a
 *                                     VIP going from 2 to 3 backends
 *   fw-drive refused                  an update the kernel refuses with a
 *                                     large message (deleting 256 slots that
 *                                     are not there) must fail: exit 0 when
 *                                     it returns -ENOENT
 *
 * ELEMS, each word starting one:
 *   bridge BR SUBNET GATEWAY          a netd bridge network's elements
 *   vip BR VIP [BACKEND...]           nd_fw_vip_elems
 *   mesh tcp|udp PORT TARGET [BACKEND...]   nd_fw_mesh_elems
 *   remote ADDR                       nd_fw_remote_elem
 *   snat BR ADDR                      nd_fw_snat_elem
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netlink/socket.h>

#include "firewall.h"
#include "grow.h"
#include "nft.h"
#include "nl-host.h"
#include "nl-link.h"
#include "prefix.h"

typedef struct elems {
        nd_nft_elem *v;
        size_t n, cap;
} elems;

static const char *const words[] = { "bridge", "vip", "mesh", "remote", "snat", "then" };

static bool is_word(const char *s) {
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                if (strcmp(s, words[i]) == 0)
                        return true;
        return false;
}

static int usage(const char *why, const char *arg) {
        fprintf(stderr, "fw-drive: %s%s%s%s\n", why, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
        return 2;
}

static bool parse_addr(const char *s, nd_addr *a) {
        return nd_addr_parse(s, a) >= 0;
}

static bool parse_port(const char *s, uint16_t *ret) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (!*s || *end || v == 0 || v > 65535)
                return false;
        *ret = (uint16_t) v;
        return true;
}

static bool ifname_ok(const char *s) {
        return *s && strlen(s) < 16;
}

static nd_nft_elem *room(elems *e, size_t want) {
        if (ND_GROW(e->v, e->n, e->cap, want) < 0)
                return NULL;
        return e->v + e->n;
}

/* The addresses argv[*i..] up to the next word. */
static int parse_backends(int argc, char **argv, int *i, nd_addr *out, size_t *n) {
        *n = 0;
        for (; *i < argc && !is_word(argv[*i]); (*i)++) {
                if (*n == ND_SVC_SLOTS)
                        return usage("too many backends at", argv[*i]);
                if (!parse_addr(argv[*i], &out[*n]))
                        return usage("not an address:", argv[*i]);
                (*n)++;
        }
        return 0;
}

/* One element command at argv[*i]; advances *i past it. */
static int parse_one(int argc, char **argv, int *i, elems *e) {
        const char *w = argv[(*i)++];
        nd_addr a, b, backends[ND_SVC_SLOTS];
        size_t n;
        int r;

#define NEED(k)                                                                  \
        do {                                                                     \
                if (*i + (k) > argc)                                             \
                        return usage("missing arguments to", w);                 \
        } while (0)
        if (strcmp(w, "bridge") == 0) {
                nd_prefix p;
                NEED(3);
                const char *br = argv[(*i)++], *sub = argv[(*i)++], *gw = argv[(*i)++];
                if (!ifname_ok(br))
                        return usage("not an interface name:", br);
                if (nd_prefix_parse(sub, ND_PREFIX_STRICT, &p, NULL) < 0 || p.addr.family != AF_INET)
                        return usage("not an IPv4 subnet:", sub);
                if (!parse_addr(gw, &a) || a.family != AF_INET)
                        return usage("not an IPv4 gateway:", gw);
                nd_nft_elem *o = room(e, 5);
                if (!o)
                        return -ENOMEM;
                nd_addr last;
                nd_addr_from_u128(AF_INET, nd_prefix_last(&p) + 1, &last);
                nd_nft_elem_ifname(&o[0], ND_SET_BRIDGES, br);
                nd_nft_elem_ifname2(&o[1], ND_SET_SAME, br, br);
                nd_nft_elem_addr(&o[2], ND_SET_SUB4, p.addr.b, 4, false);
                nd_nft_elem_addr(&o[3], ND_SET_SUB4, last.b, 4, true);
                nd_nft_elem_ifaddr(&o[4], ND_SET_GW4, br, a.b, 4);
                e->n += 5;
        } else if (strcmp(w, "vip") == 0) {
                NEED(2);
                const char *br = argv[(*i)++], *vip = argv[(*i)++];
                if (!ifname_ok(br))
                        return usage("not an interface name:", br);
                if (!parse_addr(vip, &a))
                        return usage("not an address:", vip);
                if ((r = parse_backends(argc, argv, i, backends, &n)) != 0)
                        return r;
                nd_nft_elem *o = room(e, ND_FW_VIP_ELEMS_MAX);
                if (!o)
                        return -ENOMEM;
                e->n += nd_fw_vip_elems(br, &a, backends, n, o);
        } else if (strcmp(w, "mesh") == 0) {
                uint16_t port, target;
                uint8_t proto;
                NEED(3);
                const char *ps = argv[(*i)++], *pp = argv[(*i)++], *pt = argv[(*i)++];
                if (strcmp(ps, "tcp") == 0)
                        proto = IPPROTO_TCP;
                else if (strcmp(ps, "udp") == 0)
                        proto = IPPROTO_UDP;
                else
                        return usage("not tcp or udp:", ps);
                if (!parse_port(pp, &port))
                        return usage("not a port:", pp);
                if (!parse_port(pt, &target))
                        return usage("not a port:", pt);
                if ((r = parse_backends(argc, argv, i, backends, &n)) != 0)
                        return r;
                nd_nft_elem *o = room(e, ND_SVC_SLOTS);
                if (!o)
                        return -ENOMEM;
                e->n += nd_fw_mesh_elems(proto, port, backends, n, target, o);
        } else if (strcmp(w, "remote") == 0) {
                NEED(1);
                if (!parse_addr(argv[*i], &a))
                        return usage("not an address:", argv[*i]);
                (*i)++;
                nd_nft_elem *o = room(e, 1);
                if (!o)
                        return -ENOMEM;
                e->n += nd_fw_remote_elem(&a, o);
        } else if (strcmp(w, "snat") == 0) {
                NEED(2);
                const char *br = argv[(*i)++], *s = argv[(*i)++];
                if (!ifname_ok(br))
                        return usage("not an interface name:", br);
                if (!parse_addr(s, &b))
                        return usage("not an address:", s);
                nd_nft_elem *o = room(e, 1);
                if (!o)
                        return -ENOMEM;
                e->n += nd_fw_snat_elem(br, &b, o);
        } else
                return usage("unknown command", w);
#undef NEED
        return 0;
}

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static int cmd_addr(int argc, char **argv) {
        struct nl_sock *sk;
        nd_prefix p;
        int r, ifindex;

        if (argc != 5 || (strcmp(argv[2], "add") != 0 && strcmp(argv[2], "del") != 0))
                return usage("usage: fw-drive addr add|del IFNAME ADDR/LEN", NULL);
        if (nd_prefix_parse(argv[4], 0, &p, NULL) < 0)
                return usage("not an address/length:", argv[4]);
        if ((r = nd_nl_socket_open(&sk)) < 0) {
                fprintf(stderr, "fw-drive: netlink: %s\n", strerror(-r));
                return 1;
        }
        ifindex = nd_nl_link_ifindex(sk, argv[3]);
        if (ifindex < 0)
                r = ifindex;
        else if (argv[2][0] == 'a')
                r = nd_nl_addr_add(sk, ifindex, &p.addr, p.len);
        else
                r = nd_nl_addr_del(sk, ifindex, &p.addr, p.len);
        nl_socket_free(sk);
        if (r < 0) {
                fprintf(stderr, "fw-drive: addr %s %s on '%s': %s\n", argv[2], argv[4], argv[3], strerror(-r));
                return 1;
        }
        return 0;
}

/* The reference for the owner diff: one VIP (257 elements) whose backends
 * go from 2 to 3 (170 slots re-pointed). */
static int cmd_bench_diff(void) {
        nd_addr vip, be[3];
        nd_nft_elem a[ND_FW_VIP_ELEMS_MAX], b[ND_FW_VIP_ELEMS_MAX];
        double t[201];
        size_t n_del = 0, n_add = 0;

        (void) nd_addr_parse("10.77.0.100", &vip);
        for (int i = 0; i < 3; i++)
                be[i] = (nd_addr) { .family = AF_INET, .b = { 10, 77, 0, (uint8_t) (2 + i) } };
        size_t na = nd_fw_vip_elems("br0", &vip, be, 2, a), nb = nd_fw_vip_elems("br0", &vip, be, 3, b);
        for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
                const nd_nft_elem **del, **add;
                double t0 = now_us();
                if (nd_fw_elems_diff(a, na, b, nb, &del, &n_del, &add, &n_add) < 0)
                        return 1;
                t[k] = now_us() - t0;
                free(del);
                free(add);
        }
        qsort(t, sizeof(t) / sizeof(t[0]), sizeof(t[0]), cmp_double);
        printf("bench-diff elems=%zu->%zu del=%zu add=%zu median_us=%.1f\n", na, nb, n_del, n_add, t[100]);
        return 0;
}

/* A refusal's error message is as long as the message it refuses unless
 * the socket asks for NETLINK_CAP_ACK: one that outgrew the receive
 * buffer was once taken for success. */
static int cmd_refused(void) {
        nd_addr vip, be;
        nd_nft_elem v[ND_FW_VIP_ELEMS_MAX];
        const nd_nft_elem *del[ND_SVC_SLOTS];
        nd_nft *nft = NULL;
        int r;

        (void) nd_addr_parse("10.77.0.100", &vip);
        (void) nd_addr_parse("10.77.0.2", &be);
        size_t n = nd_fw_vip_elems("br0", &vip, &be, 1, v);
        for (size_t i = 1; i < n; i++)
                del[i - 1] = &v[i];
        if ((r = nd_nft_open(&nft)) < 0 || (r = nd_nft_replace(nft, NULL, 0)) < 0) {
                fprintf(stderr, "fw-drive: nftables: %s\n", strerror(-r));
                nd_nft_free(nft);
                return 1;
        }
        r = nd_nft_update(nft, del, n - 1, NULL, 0);
        nd_nft_free(nft);
        printf("refused: deleting %zu missing slots: %s\n", n - 1, r < 0 ? strerror(-r) : "success");
        return r == -ENOENT ? 0 : 1;
}

int main(int argc, char **argv) {
        elems e[2] = {0};
        int cur = 0, r, i = 1;
        nd_nft *nft = NULL;

        if (argc < 2)
                return usage("usage: fw-drive ELEMS... [then ELEMS...] | addr ... | bench-diff", NULL);
        if (strcmp(argv[1], "addr") == 0)
                return cmd_addr(argc, argv);
        if (strcmp(argv[1], "bench-diff") == 0)
                return cmd_bench_diff();
        if (strcmp(argv[1], "refused") == 0)
                return cmd_refused();
        while (i < argc) {
                if (strcmp(argv[i], "then") == 0) {
                        if (cur == 1)
                                return usage("more than one", "then");
                        cur = 1;
                        i++;
                        continue;
                }
                r = parse_one(argc, argv, &i, &e[cur]);
                if (r != 0)
                        return r < 0 ? usage("out of memory", NULL) : r;
        }
        if ((r = nd_nft_open(&nft)) < 0) {
                fprintf(stderr, "fw-drive: nftables: %s\n", strerror(-r));
                return 1;
        }
        r = nd_nft_replace(nft, e[0].v, e[0].n);
        if (r < 0)
                fprintf(stderr, "fw-drive: replace (%zu elements): %s\n", e[0].n, strerror(-r));
        if (r >= 0 && cur == 1) {
                const nd_nft_elem **del, **add;
                size_t n_del, n_add;
                double t0 = now_us();
                r = nd_fw_elems_diff(e[0].v, e[0].n, e[1].v, e[1].n, &del, &n_del, &add, &n_add);
                double t1 = now_us();
                if (r >= 0) {
                        r = nd_nft_update(nft, del, n_del, add, n_add);
                        if (r < 0)
                                fprintf(stderr, "fw-drive: update: %s\n", strerror(-r));
                        else
                                printf("update del=%zu add=%zu diff_us=%.1f batch_us=%.1f\n", n_del, n_add, t1 - t0,
                                       now_us() - t1);
                        free(del);
                        free(add);
                }
        }
        nd_nft_free(nft);
        free(e[0].v);
        free(e[1].v);
        return r < 0 ? 1 : 0;
}
