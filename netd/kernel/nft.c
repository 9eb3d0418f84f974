/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nftables over netlink.  The rules below are the bytecode `nft` generates
 * for the ruleset shown in docs/firewall.md (checked with
 * `nft --debug=netlink`); tests/golden/ holds what `nft list` prints back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_bridge.h>
#include <linux/if_ether.h>
#include <netinet/icmp6.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "metrics.h"
#include "nft.h"

/* nft's datatype numbers (nftables src/datatype.h); concatenations are
 * the types shifted by 6 bits each. */
enum { T_IPADDR = 7, T_IP6ADDR = 8, T_ETHERADDR = 9, T_PROTO = 12, T_SERVICE = 13, T_IFNAME = 41 };
/* RFC 3810 section 5.2; glibc's icmp6.h has only MLDv1 */
#define MLD2_LISTEN_REPORT 143
#define CAT2(a, b) (((a) << 6) | (b))
#define CAT3(a, b, c) (((((a) << 6) | (b)) << 6) | (c))

static const struct set_def {
        const char *name;
        uint32_t key_type, key_len, data_type, data_len, flags;
        uint8_t family;           /* 0: inet */
} sets[_ND_SET_MAX] = {
#define SET(n, kt, kl) { .name = n, .key_type = kt, .key_len = kl }
#define MAP(n, kt, kl, dt, dl) { .name = n, .key_type = kt, .key_len = kl, .data_type = dt, .data_len = dl, .flags = NFT_SET_MAP }
        [ND_SET_BRIDGES] = SET("bridges", T_IFNAME, 16),
        [ND_SET_SAME] = SET("same_bridge", CAT2(T_IFNAME, T_IFNAME), 32),
        [ND_SET_INTERNAL] = SET("internal", T_IFNAME, 16),
        [ND_SET_SUB4] = { .name = "subnets4", .key_type = T_IPADDR, .key_len = 4, .flags = NFT_SET_INTERVAL },
        [ND_SET_SUB6] = { .name = "subnets6", .key_type = T_IP6ADDR, .key_len = 16, .flags = NFT_SET_INTERVAL },
        [ND_SET_GW4] = SET("gateways4", CAT2(T_IFNAME, T_IPADDR), 20),
        [ND_SET_GW6] = SET("gateways6", CAT2(T_IFNAME, T_IP6ADDR), 32),
        [ND_SET_PUB4] = MAP("publish4", CAT2(T_PROTO, T_SERVICE), 8, CAT2(T_IPADDR, T_SERVICE), 8),
        [ND_SET_PUB4A] = MAP("publish4_addr", CAT3(T_IPADDR, T_PROTO, T_SERVICE), 12, CAT2(T_IPADDR, T_SERVICE), 8),
        [ND_SET_PUB6] = MAP("publish6", CAT2(T_PROTO, T_SERVICE), 8, CAT2(T_IP6ADDR, T_SERVICE), 20),
        [ND_SET_PUB6A] = MAP("publish6_addr", CAT3(T_IP6ADDR, T_PROTO, T_SERVICE), 24, CAT2(T_IP6ADDR, T_SERVICE), 20),
        [ND_SET_TUNNEL] = SET("tunnel_ports", CAT2(T_PROTO, T_SERVICE), 8),
        [ND_SET_PEERS4] = SET("peers4", T_IPADDR, 4),
        [ND_SET_CTRL4] = SET("control4", CAT3(T_IPADDR, T_PROTO, T_SERVICE), 12),
        [ND_SET_CTRLPORT] = SET("control_ports", CAT2(T_PROTO, T_SERVICE), 8),
#define BSET(n, kt, kl) { .name = n, .key_type = kt, .key_len = kl, .family = NFPROTO_BRIDGE }
        [ND_SET_PORTS] = BSET("ports", T_IFNAME, 16),
        /* a MAC is 6 bytes in an 8-byte register slot */
        [ND_SET_PORT_MAC] = BSET("port_mac", CAT2(T_IFNAME, T_ETHERADDR), 24),
        [ND_SET_PORT_IP4] = BSET("port_ip4", CAT2(T_IFNAME, T_IPADDR), 20),
        [ND_SET_PORT_IP6] = BSET("port_ip6", CAT2(T_IFNAME, T_IP6ADDR), 32),
#undef BSET
#undef SET
#undef MAP
};

#define ELEMS_PER_MSG 256

struct nd_nft {
        struct mnl_socket *nl;
        uint32_t portid, seq;
        uint64_t batches, failed;
        nd_hist lat;              /* one batch: sendmsg to the last ack */
};

int nd_nft_open(nd_nft **ret) {
        nd_nft *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = -errno;
                nd_nft_free(n);
                return r;
        }
        /* a table replace with thousands of elements is one sendmsg() */
        int sz = 8 << 20;
        (void) setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
        n->portid = mnl_socket_get_portid(n->nl);
        n->seq = (uint32_t) time(NULL);
        nd_hist_init(&n->lat, nd_hist_latency_bounds, nd_hist_latency_n);
        *ret = n;
        return 0;
}

nd_nft *nd_nft_free(nd_nft *n) {
        if (!n)
                return NULL;
        if (n->nl)
                mnl_socket_close(n->nl);
        free(n);
        return NULL;
}

uint32_t nd_nft_portid(const nd_nft *n) {
        return n->portid;
}

/* ---- elements ---- */

static void put_ifname(uint8_t *dst, const char *name) {
        memset(dst, 0, 16);
        strncpy((char *) dst, name, 15);
}

void nd_nft_elem_ifname(nd_nft_elem *e, nd_nft_set set, const char *ifname) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = 16 };
        put_ifname(e->key, ifname);
}

void nd_nft_elem_ifname2(nd_nft_elem *e, nd_nft_set set, const char *a, const char *b) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = 32 };
        put_ifname(e->key, a);
        put_ifname(e->key + 16, b);
}

void nd_nft_elem_ifaddr(nd_nft_elem *e, nd_nft_set set, const char *ifname, const uint8_t *addr, size_t alen) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = (uint8_t) (16 + alen) };
        put_ifname(e->key, ifname);
        memcpy(e->key + 16, addr, alen);
}

void nd_nft_elem_ifmac(nd_nft_elem *e, nd_nft_set set, const char *ifname, const uint8_t mac[6]) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = 24 };
        put_ifname(e->key, ifname);
        memcpy(e->key + 16, mac, 6);
}

void nd_nft_elem_addr(nd_nft_elem *e, nd_nft_set set, const uint8_t *addr, size_t alen, bool end) {
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = (uint8_t) alen, .interval_end = end };
        memcpy(e->key, addr, alen);
}

/* Concatenation fields are padded to 32-bit registers. */
void nd_nft_elem_pub(nd_nft_elem *e, nd_nft_set set, const uint8_t *host, uint8_t proto, uint16_t port,
                     const uint8_t *ctr, size_t alen, uint16_t ctr_port) {
        uint16_t be = htons(port), cbe = htons(ctr_port);
        size_t k = 0;

        *e = (nd_nft_elem) { .set = (uint8_t) set };
        if (host) {
                memcpy(e->key, host, alen);
                k = alen;
        }
        e->key[k] = proto;
        memcpy(e->key + k + 4, &be, 2);
        e->klen = (uint8_t) (k + 8);
        memcpy(e->data, ctr, alen);
        memcpy(e->data + alen, &cbe, 2);
        e->dlen = (uint8_t) (alen + 4);
}

void nd_nft_elem_service(nd_nft_elem *e, nd_nft_set set, const uint8_t *host, size_t alen, uint8_t proto,
                         uint16_t port) {
        uint16_t be = htons(port);
        size_t k = host ? alen : 0;
        *e = (nd_nft_elem) { .set = (uint8_t) set, .klen = (uint8_t) (k + 8) };
        if (host)
                memcpy(e->key, host, alen);
        e->key[k] = proto;
        memcpy(e->key + k + 4, &be, 2);
}

bool nd_nft_elem_equal(const nd_nft_elem *a, const nd_nft_elem *b) {
        return a->set == b->set && a->interval_end == b->interval_end && a->klen == b->klen && a->dlen == b->dlen &&
               memcmp(a->key, b->key, a->klen) == 0 && memcmp(a->data, b->data, a->dlen) == 0;
}

/* ---- batches ---- */

typedef struct batch {
        struct nftnl_batch *b;
        nd_nft *n;
        int err;
} batch;

static int batch_begin(batch *bt, nd_nft *n) {
        *bt = (batch) { .n = n };
        bt->b = nftnl_batch_alloc(MNL_SOCKET_BUFFER_SIZE * 2, MNL_SOCKET_BUFFER_SIZE);
        if (!bt->b)
                return -ENOMEM;
        nftnl_batch_begin(nftnl_batch_buffer(bt->b), n->seq++);
        nftnl_batch_update(bt->b);
        return 0;
}

static struct nlmsghdr *msg(batch *bt, int type, uint16_t family, uint16_t flags) {
        return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(bt->b), (uint16_t) type, family, flags, bt->n->seq++);
}

static uint16_t set_family(nd_nft_set s) {
        return sets[s].family ? sets[s].family : NFPROTO_INET;
}

static void msg_done(batch *bt) {
        nftnl_batch_update(bt->b);
}

/* Send and read what the kernel said.  It processes the batch inside
 * sendmsg(), so every reply is queued when sendmsg() returns. */
static int batch_send(batch *bt);

static int batch_commit(batch *bt) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int r = batch_send(bt);
        clock_gettime(CLOCK_MONOTONIC, &b);
        bt->n->batches++;
        bt->n->failed += r < 0;
        nd_hist_observe(&bt->n->lat, (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9);
        return r;
}

static int batch_send(batch *bt) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        int fd = mnl_socket_get_fd(bt->n->nl), first = 0;

        nftnl_batch_end(nftnl_batch_buffer(bt->b), bt->n->seq++);
        nftnl_batch_update(bt->b);
        int k = nftnl_batch_iovec_len(bt->b);
        struct iovec iov[k];
        nftnl_batch_iovec(bt->b, iov, (uint32_t) k);
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = iov, .msg_iovlen = (size_t) k };
        ssize_t r = sendmsg(fd, &mh, 0);
        nftnl_batch_free(bt->b);
        bt->b = NULL;
        if (r < 0)
                return -errno;
        for (;;) {
                ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        return first ? first : -errno;
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; mnl_nlmsg_ok(h, (int) len);
                     h = mnl_nlmsg_next(h, (int *) &len)) {
                        if (h->nlmsg_type != NLMSG_ERROR)
                                continue;
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                        if (e->error && !first)
                                first = e->error;
                }
        }
        return first;
}

static void batch_abort(batch *bt) {
        if (bt->b)
                nftnl_batch_free(bt->b);
        bt->b = NULL;
}

static struct nftnl_set *set_obj(nd_nft_set s, bool full) {
        struct nftnl_set *o = nftnl_set_alloc();
        if (!o)
                return NULL;
        nftnl_set_set_str(o, NFTNL_SET_TABLE, ND_NFT_TABLE);
        nftnl_set_set_str(o, NFTNL_SET_NAME, sets[s].name);
        nftnl_set_set_u32(o, NFTNL_SET_FAMILY, set_family(s));
        nftnl_set_set_u32(o, NFTNL_SET_ID, (uint32_t) s + 1);
        if (full) {
                nftnl_set_set_u32(o, NFTNL_SET_KEY_TYPE, sets[s].key_type);
                nftnl_set_set_u32(o, NFTNL_SET_KEY_LEN, sets[s].key_len);
                nftnl_set_set_u32(o, NFTNL_SET_FLAGS, sets[s].flags);
                if (sets[s].flags & NFT_SET_MAP) {
                        nftnl_set_set_u32(o, NFTNL_SET_DATA_TYPE, sets[s].data_type);
                        nftnl_set_set_u32(o, NFTNL_SET_DATA_LEN, sets[s].data_len);
                }
                if (sets[s].key_type == T_IFNAME) {
                        /* only for `nft list`: an interface name is a
                         * host-order string (nft's BYTEORDER_HOST_ENDIAN) */
                        struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);
                        if (u) {
                                nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, 1);
                                nftnl_set_set_data(o, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
                                                   nftnl_udata_buf_len(u));
                                nftnl_udata_buf_free(u);
                        }
                }
        }
        return o;
}

/* Add the elements of @set among @elems as NEW/DELSETELEM messages of at
 * most ELEMS_PER_MSG each. */
static int put_elems(batch *bt, int type, nd_nft_set set, const nd_nft_elem *const *elems, size_t n) {
        struct nftnl_set *o = NULL;
        size_t in_msg = 0;

        for (size_t i = 0; i <= n; i++) {
                if (o && (i == n || in_msg == ELEMS_PER_MSG)) {
                        struct nlmsghdr *h = msg(bt, type, set_family(set),
                                                 type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
                        nftnl_set_elems_nlmsg_build_payload(h, o);
                        msg_done(bt);
                        nftnl_set_free(o);
                        o = NULL;
                        in_msg = 0;
                }
                if (i == n)
                        break;
                if (elems[i]->set != set)
                        continue;
                if (!o && !(o = set_obj(set, false)))
                        return -ENOMEM;
                struct nftnl_set_elem *e = nftnl_set_elem_alloc();
                if (!e) {
                        nftnl_set_free(o);
                        return -ENOMEM;
                }
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, elems[i]->key, elems[i]->klen);
                if (elems[i]->dlen)
                        nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, elems[i]->data, elems[i]->dlen);
                if (elems[i]->interval_end)
                        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
                nftnl_set_elem_add(o, e);
                in_msg++;
        }
        return 0;
}

/* ---- rules ---- */

static struct nftnl_expr *ex(struct nftnl_rule *r, const char *name) {
        struct nftnl_expr *e = nftnl_expr_alloc(name);
        if (e)
                nftnl_rule_add_expr(r, e);
        return e;
}

static void meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg) {
        struct nftnl_expr *e = ex(r, "meta");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

static void cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len) {
        struct nftnl_expr *e = ex(r, "cmp");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void cmp_u32(struct nftnl_rule *r, uint32_t op, uint32_t v) {
        cmp(r, op, &v, sizeof(v));
}

static void nfproto(struct nftnl_rule *r, uint8_t family) {
        meta(r, NFT_META_NFPROTO, NFT_REG_1);
        cmp(r, NFT_CMP_EQ, &family, 1);
}

static void payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg) {
        struct nftnl_expr *e = ex(r, "payload");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
}

static void lookup(struct nftnl_rule *r, nd_nft_set s, int dreg, bool invert) {
        struct nftnl_expr *e = ex(r, "lookup");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, sets[s].name);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t) s + 1);
        if (dreg >= 0)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t) dreg);
        if (invert)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

/* reg1 = reg1 & mask; then reg1 != 0 */
static void bits_set(struct nftnl_rule *r, uint32_t mask) {
        uint32_t zero = 0;
        struct nftnl_expr *e = ex(r, "bitwise");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
        nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
        cmp_u32(r, NFT_CMP_NEQ, 0);
}

static void ct(struct nftnl_rule *r, uint32_t key) {
        struct nftnl_expr *e = ex(r, "ct");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

static void ct_dnat(struct nftnl_rule *r) {
        ct(r, NFT_CT_STATUS);
        bits_set(r, IPS_DST_NAT);
}

static void ct_established(struct nftnl_rule *r) {
        ct(r, NFT_CT_STATE);
        bits_set(r, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
}

static void daddr_local(struct nftnl_rule *r) {
        struct nftnl_expr *e = ex(r, "fib");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        cmp_u32(r, NFT_CMP_EQ, RTN_LOCAL);
}

static void verdict(struct nftnl_rule *r, int v, const char *chain) {
        struct nftnl_expr *e = ex(r, "immediate");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t) v);
        if (chain)
                nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

static void dnat(struct nftnl_rule *r, uint32_t family, uint32_t reg_proto) {
        struct nftnl_expr *e = ex(r, "nat");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_proto);
}

static void masq(struct nftnl_rule *r) {
        ex(r, "masq");
}

static void publish_rule(struct nftnl_rule *r, bool v6, bool by_addr) {
        nd_nft_set s = v6 ? (by_addr ? ND_SET_PUB6A : ND_SET_PUB6) : (by_addr ? ND_SET_PUB4A : ND_SET_PUB4);
        nfproto(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
        if (by_addr) {
                /* daddr . l4proto . dport */
                payload(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, v6 ? 16 : 4, NFT_REG_1);
                meta(r, NFT_META_L4PROTO, v6 ? NFT_REG32_04 : NFT_REG32_01);
                payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, v6 ? NFT_REG32_05 : NFT_REG32_02);
        } else {
                meta(r, NFT_META_L4PROTO, NFT_REG_1);
                payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
        }
        lookup(r, s, NFT_REG_1, false);
        /* the map's data is address . port: the port follows the address */
        dnat(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, v6 ? NFT_REG32_04 : NFT_REG32_01);
}

/* [io]ifname [!=] @set */
static void ifname_in(struct nftnl_rule *r, uint32_t key, nd_nft_set s, bool invert) {
        meta(r, key, NFT_REG_1);
        lookup(r, s, -1, invert);
}

static void saddr(struct nftnl_rule *r, bool v6) {
        nfproto(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
        payload(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, v6 ? 16 : 4, NFT_REG_1);
        lookup(r, v6 ? ND_SET_SUB6 : ND_SET_SUB4, -1, false);
}

/* ip6 saddr / daddr / ND target (at @base + @off) is [not] link-local (fe80::/10) */
static void ip6_linklocal(struct nftnl_rule *r, uint32_t base, uint32_t off, bool eq) {
        static const uint8_t ll[16] = { 0xfe, 0x80 }, ll_mask[16] = { 0xff, 0xc0 }, zero[16] = {0};
        payload(r, base, off, 16, NFT_REG_1);
        struct nftnl_expr *e = ex(r, "bitwise");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 16);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, ll_mask, 16);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, 16);
        }
        cmp(r, eq ? NFT_CMP_EQ : NFT_CMP_NEQ, ll, 16);
}

/* ip6 saddr [!=] :: */
static void ip6_saddr_any(struct nftnl_rule *r, bool eq) {
        static const uint8_t zero[16] = {0};
        payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, NFT_REG_1);
        cmp(r, eq ? NFT_CMP_EQ : NFT_CMP_NEQ, zero, 16);
}

/* fib saddr . iif oif missing: no route back to the source through the
 * interface the packet came in on */
static void saddr_unroutable(struct nftnl_rule *r) {
        struct nftnl_expr *e = ex(r, "fib");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIF);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        cmp_u32(r, NFT_CMP_EQ, 0);
}

/* ether type @type (bridge family) */
static void ether_type(struct nftnl_rule *r, uint16_t type) {
        uint16_t be = htons(type);
        payload(r, NFT_PAYLOAD_LL_HEADER, 12, 2, NFT_REG_1);
        cmp(r, NFT_CMP_EQ, &be, 2);
}

/* iifname . <@len bytes at @base + @off> != @set: the port did not
 * register that value */
static void port_lacks(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, nd_nft_set s) {
        meta(r, NFT_META_IIFNAME, NFT_REG_1);
        payload(r, base, off, len, NFT_REG_2);
        lookup(r, s, -1, true);
}

/* meta l4proto icmpv6 icmpv6 type @type */
static void icmp6_type(struct nftnl_rule *r, uint8_t type) {
        uint8_t p = IPPROTO_ICMPV6;
        meta(r, NFT_META_L4PROTO, NFT_REG_1);
        cmp(r, NFT_CMP_EQ, &p, 1);
        payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
        cmp(r, NFT_CMP_EQ, &type, 1);
}

enum { R_PUBLISH, R_PREROUTING, R_OUTPUT, R_POSTROUTING, R_FORWARD, R_INPUT, R_RPFILTER, R_BR_PREROUTING, R_BR_PORT,
       R_BR_PORT6 };

static const struct chain_def {
        const char *name, *type;
        int hook, prio;
        uint16_t family;          /* 0: inet */
} chains[] = {
        [R_PUBLISH] = { .name = "publish" },
        [R_PREROUTING] = { .name = "prerouting", .type = "nat", .hook = NF_INET_PRE_ROUTING, .prio = -100 },
        [R_OUTPUT] = { .name = "output", .type = "nat", .hook = NF_INET_LOCAL_OUT, .prio = -100 },
        [R_POSTROUTING] = { .name = "postrouting", .type = "nat", .hook = NF_INET_POST_ROUTING, .prio = 100 },
        [R_FORWARD] = { .name = "forward", .type = "filter", .hook = NF_INET_FORWARD, .prio = 0 },
        [R_INPUT] = { .name = "input", .type = "filter", .hook = NF_INET_LOCAL_IN, .prio = 0 },
        /* before conntrack: a forged packet leaves no connection behind */
        [R_RPFILTER] = { .name = "rpfilter", .type = "filter", .hook = NF_INET_PRE_ROUTING, .prio = -300 },
        /* the bridge family sees every frame a port sends, to another port
         * (bridged, which inet never sees without br_netfilter) or up to
         * the host; before the bridge learns its source MAC */
        [R_BR_PREROUTING] = { .name = "prerouting", .type = "filter", .hook = NF_BR_PRE_ROUTING, .prio = -200,
                              .family = NFPROTO_BRIDGE },
        [R_BR_PORT] = { .name = "port", .family = NFPROTO_BRIDGE },
        [R_BR_PORT6] = { .name = "port6", .family = NFPROTO_BRIDGE },
};

static uint16_t chain_family(int c) {
        return chains[c].family ? chains[c].family : NFPROTO_INET;
}

/* The fixed rules, in order: rule k of chain c is built by build_rule(c, k)
 * and returns false past the chain's last rule. */
static bool build_rule(int c, int k, struct nftnl_rule *r) {
        static const uint8_t lo_net = 127;
        switch (c * 16 + k) {
        /* publish: DNAT through the port maps, address-specific first */
        case R_PUBLISH * 16 + 0: publish_rule(r, false, true); return true;
        case R_PUBLISH * 16 + 1: publish_rule(r, false, false); return true;
        case R_PUBLISH * 16 + 2: publish_rule(r, true, true); return true;
        case R_PUBLISH * 16 + 3: publish_rule(r, true, false); return true;
        /* fib daddr type local jump publish */
        case R_PREROUTING * 16 + 0:
        case R_OUTPUT * 16 + 0:
                daddr_local(r);
                verdict(r, NFT_JUMP, "publish");
                return true;
        /* ct status dnat ip saddr 127.0.0.0/8 masquerade (host localhost) */
        case R_POSTROUTING * 16 + 0:
                ct_dnat(r);
                nfproto(r, NFPROTO_IPV4);
                payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 1, NFT_REG_1);
                cmp(r, NFT_CMP_EQ, &lo_net, 1);
                masq(r);
                return true;
        /* ct status dnat oifname @bridges ip[6] saddr @subnets masquerade
         * (a container reaching a published port: hairpin) */
        case R_POSTROUTING * 16 + 1:
        case R_POSTROUTING * 16 + 2:
                ct_dnat(r);
                ifname_in(r, NFT_META_OIFNAME, ND_SET_BRIDGES, false);
                saddr(r, k == 2);
                masq(r);
                return true;
        /* oifname != @bridges ip[6] saddr @subnets masquerade (egress) */
        case R_POSTROUTING * 16 + 3:
        case R_POSTROUTING * 16 + 4:
                ifname_in(r, NFT_META_OIFNAME, ND_SET_BRIDGES, true);
                saddr(r, k == 4);
                masq(r);
                return true;
        /* The cluster's control plane (empty sets without a cluster).
         * iifname @bridges ip daddr . meta l4proto . th dport @control4 drop:
         * containers never reach the cluster store */
        case R_FORWARD * 16 + 0:
                ifname_in(r, NFT_META_IIFNAME, ND_SET_BRIDGES, false);
                nfproto(r, NFPROTO_IPV4);
                payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
                meta(r, NFT_META_L4PROTO, NFT_REG32_01);
                payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_02);
                lookup(r, ND_SET_CTRL4, -1, false);
                verdict(r, NF_DROP, NULL);
                return true;
        /* iifname @bridges ip daddr @peers4 meta l4proto . th dport
         * @tunnel_ports drop: nor any host's tunnel port */
        case R_FORWARD * 16 + 1:
                ifname_in(r, NFT_META_IIFNAME, ND_SET_BRIDGES, false);
                nfproto(r, NFPROTO_IPV4);
                payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
                lookup(r, ND_SET_PEERS4, -1, false);
                meta(r, NFT_META_L4PROTO, NFT_REG_1);
                payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
                lookup(r, ND_SET_TUNNEL, -1, false);
                verdict(r, NF_DROP, NULL);
                return true;
        /* An internal network is sealed: nothing crosses from or to
         * another interface, whatever conntrack says (DNAT to another
         * network's published port through the gateway included).
         * iifname @internal iifname . oifname != @same_bridge drop */
        case R_FORWARD * 16 + 2:
        case R_FORWARD * 16 + 3: /* oifname @internal ... */
                ifname_in(r, k == 2 ? NFT_META_IIFNAME : NFT_META_OIFNAME, ND_SET_INTERNAL, false);
                meta(r, NFT_META_IIFNAME, NFT_REG_1);
                meta(r, NFT_META_OIFNAME, NFT_REG_2);
                lookup(r, ND_SET_SAME, -1, true);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_FORWARD * 16 + 4:
        case R_INPUT * 16 + 3:
                ct_established(r);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_FORWARD * 16 + 5: /* iifname . oifname @same_bridge accept */
                meta(r, NFT_META_IIFNAME, NFT_REG_1);
                meta(r, NFT_META_OIFNAME, NFT_REG_2);
                lookup(r, ND_SET_SAME, -1, false);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_FORWARD * 16 + 6: /* ct status dnat oifname @bridges accept */
                ct_dnat(r);
                ifname_in(r, NFT_META_OIFNAME, ND_SET_BRIDGES, false);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_FORWARD * 16 + 7: /* oifname @bridges drop */
                ifname_in(r, NFT_META_OIFNAME, ND_SET_BRIDGES, false);
                verdict(r, NF_DROP, NULL);
                return true;
        /* input */
        /* meta nfproto ipv4 meta l4proto . th dport @tunnel_ports ip saddr
         * != @peers4 drop: encapsulated frames only from live peers */
        case R_INPUT * 16 + 0:
                nfproto(r, NFPROTO_IPV4);
                meta(r, NFT_META_L4PROTO, NFT_REG_1);
                payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
                lookup(r, ND_SET_TUNNEL, -1, false);
                payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
                lookup(r, ND_SET_PEERS4, -1, true);
                verdict(r, NF_DROP, NULL);
                return true;
        /* iifname @bridges meta l4proto . th dport @control_ports drop: not
         * the cluster store's ports at the gateway either */
        case R_INPUT * 16 + 1:
                ifname_in(r, NFT_META_IIFNAME, ND_SET_BRIDGES, false);
                meta(r, NFT_META_L4PROTO, NFT_REG_1);
                payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
                lookup(r, ND_SET_CTRLPORT, -1, false);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_INPUT * 16 + 2: /* iifname != @bridges accept */
                ifname_in(r, NFT_META_IIFNAME, ND_SET_BRIDGES, true);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_INPUT * 16 + 4: /* iifname . ip[6] daddr @gateways accept */
        case R_INPUT * 16 + 5:
                nfproto(r, k == 5 ? NFPROTO_IPV6 : NFPROTO_IPV4);
                meta(r, NFT_META_IIFNAME, NFT_REG_1);
                payload(r, NFT_PAYLOAD_NETWORK_HEADER, k == 5 ? 24 : 16, k == 5 ? 16 : 4, NFT_REG_2);
                lookup(r, k == 5 ? ND_SET_GW6 : ND_SET_GW4, -1, false);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_INPUT * 16 + 6: /* ip6 daddr fe80::/10 accept (neighbour discovery) */
                nfproto(r, NFPROTO_IPV6);
                ip6_linklocal(r, NFT_PAYLOAD_NETWORK_HEADER, 24, true);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_INPUT * 16 + 7: { /* fib daddr type local reject with icmpx admin-prohibited */
                daddr_local(r);
                struct nftnl_expr *e = ex(r, "reject");
                if (e) {
                        nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH);
                        nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
                }
                return true;
        }
        /* Reverse-path filter on netd's bridges (the nft form of
         * rp_filter=1, for IPv6 too): a source must be routed back out of
         * the bridge it came in on.  Ports with a registered endpoint are
         * held to its exact addresses in the bridge table; this also
         * covers what enters through a bridge's other ports.
         * iifname @bridges meta nfproto ipv4 fib saddr . iif oif missing drop */
        case R_RPFILTER * 16 + 0:
        case R_RPFILTER * 16 + 1: /* ... ipv6 ip6 saddr != :: ... (DAD, MLD before an address) */
                ifname_in(r, NFT_META_IIFNAME, ND_SET_BRIDGES, false);
                nfproto(r, k == 1 ? NFPROTO_IPV6 : NFPROTO_IPV4);
                if (k == 1)
                        ip6_saddr_any(r, false);
                saddr_unroutable(r);
                verdict(r, NF_DROP, NULL);
                return true;

        /* bridge netd: iifname @ports jump port */
        case R_BR_PREROUTING * 16 + 0:
                ifname_in(r, NFT_META_IIFNAME, ND_SET_PORTS, false);
                verdict(r, NFT_JUMP, "port");
                return true;
        /* A guarded port: its MAC, its addresses, ARP and IP only (a
         * VLAN tag or another protocol would carry anything past these
         * checks). */
        case R_BR_PORT * 16 + 0: /* iifname . ether saddr != @port_mac drop */
                port_lacks(r, NFT_PAYLOAD_LL_HEADER, 6, 6, ND_SET_PORT_MAC);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_BR_PORT * 16 + 1: /* ether type arp iifname . arp saddr ether != @port_mac drop */
                ether_type(r, ETH_P_ARP);
                port_lacks(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 6, ND_SET_PORT_MAC);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_BR_PORT * 16 + 2: { /* ether type arp arp saddr ip 0.0.0.0 accept (a probe claims nothing) */
                ether_type(r, ETH_P_ARP);
                payload(r, NFT_PAYLOAD_NETWORK_HEADER, 14, 4, NFT_REG_1);
                cmp_u32(r, NFT_CMP_EQ, 0);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        }
        case R_BR_PORT * 16 + 3: /* ether type arp iifname . arp saddr ip != @port_ip4 drop */
                ether_type(r, ETH_P_ARP);
                port_lacks(r, NFT_PAYLOAD_NETWORK_HEADER, 14, 4, ND_SET_PORT_IP4);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_BR_PORT * 16 + 5: /* ether type ip iifname . ip saddr != @port_ip4 drop */
                ether_type(r, ETH_P_IP);
                port_lacks(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, ND_SET_PORT_IP4);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_BR_PORT * 16 + 4: /* ether type arp accept */
        case R_BR_PORT * 16 + 6: /* ether type ip accept */
                ether_type(r, k == 4 ? ETH_P_ARP : ETH_P_IP);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_BR_PORT * 16 + 7: /* ether type ip6 goto port6 */
                ether_type(r, ETH_P_IPV6);
                verdict(r, NFT_GOTO, "port6");
                return true;
        case R_BR_PORT * 16 + 8: /* drop */
                verdict(r, NF_DROP, NULL);
                return true;
        /* port6: each rule repeats "ether type ip6" only so that `nft
         * list` can name the fields it matches */
        case R_BR_PORT6 * 16 + 2: /* icmpv6 type nd-router-advert drop: no rogue router */
        case R_BR_PORT6 * 16 + 3: /* icmpv6 type nd-redirect drop */
                ether_type(r, ETH_P_IPV6);
                icmp6_type(r, k == 2 ? ND_ROUTER_ADVERT : ND_REDIRECT);
                verdict(r, NF_DROP, NULL);
                return true;
        /* IPv6: the unspecified source only for DAD and its MLD report,
         * link-local sources (the kernel picks the port's own), else the
         * endpoint's addresses; a neighbour advertisement only for them.
         * ip6 saddr :: icmpv6 type nd-neighbor-solicit accept */
        case R_BR_PORT6 * 16 + 0:
        case R_BR_PORT6 * 16 + 1: /* ip6 saddr :: icmpv6 type mld2-listener-report accept */
                ether_type(r, ETH_P_IPV6);
                ip6_saddr_any(r, true);
                icmp6_type(r, k == 0 ? ND_NEIGHBOR_SOLICIT : MLD2_LISTEN_REPORT);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        /* icmpv6 type nd-neighbor-advert: a target that is not link-local
         * and not the port's: iifname . @th,64,128 != @port_ip6 drop */
        case R_BR_PORT6 * 16 + 4:
                ether_type(r, ETH_P_IPV6);
                icmp6_type(r, ND_NEIGHBOR_ADVERT);
                ip6_linklocal(r, NFT_PAYLOAD_TRANSPORT_HEADER, 8, false);
                port_lacks(r, NFT_PAYLOAD_TRANSPORT_HEADER, 8, 16, ND_SET_PORT_IP6);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_BR_PORT6 * 16 + 5: /* ip6 saddr fe80::/10 accept */
                ether_type(r, ETH_P_IPV6);
                ip6_linklocal(r, NFT_PAYLOAD_NETWORK_HEADER, 8, true);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_BR_PORT6 * 16 + 6: /* iifname . ip6 saddr != @port_ip6 drop */
                ether_type(r, ETH_P_IPV6);
                port_lacks(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, ND_SET_PORT_IP6);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_BR_PORT6 * 16 + 7:
                verdict(r, NF_ACCEPT, NULL);
                return true;
        default:
                return false;
        }
}

static const uint16_t families[] = { NFPROTO_INET, NFPROTO_BRIDGE };

static int put_table(batch *bt, int type, uint16_t family) {
        struct nftnl_table *t = nftnl_table_alloc();
        if (!t)
                return -ENOMEM;
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, ND_NFT_TABLE);
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
        struct nlmsghdr *h = msg(bt, type, family, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
        nftnl_table_nlmsg_build_payload(h, t);
        msg_done(bt);
        nftnl_table_free(t);
        return 0;
}

static int put_chains_and_rules(batch *bt) {
        for (size_t c = 0; c < ELEMENTSOF(chains); c++) {
                struct nftnl_chain *ch = nftnl_chain_alloc();
                if (!ch)
                        return -ENOMEM;
                nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, ND_NFT_TABLE);
                nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, chains[c].name);
                if (chains[c].type) {
                        nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, chains[c].type);
                        nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, (uint32_t) chains[c].hook);
                        nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, chains[c].prio);
                        nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
                }
                struct nlmsghdr *h = msg(bt, NFT_MSG_NEWCHAIN, chain_family((int) c), NLM_F_CREATE);
                nftnl_chain_nlmsg_build_payload(h, ch);
                msg_done(bt);
                nftnl_chain_free(ch);
        }
        for (size_t c = 0; c < ELEMENTSOF(chains); c++)
                for (int k = 0;; k++) {
                        struct nftnl_rule *r = nftnl_rule_alloc();
                        if (!r)
                                return -ENOMEM;
                        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, ND_NFT_TABLE);
                        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chains[c].name);
                        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, chain_family((int) c));
                        if (!build_rule((int) c, k, r)) {
                                nftnl_rule_free(r);
                                break;
                        }
                        struct nlmsghdr *h = msg(bt, NFT_MSG_NEWRULE, chain_family((int) c),
                                                 NLM_F_CREATE | NLM_F_APPEND);
                        nftnl_rule_nlmsg_build_payload(h, r);
                        msg_done(bt);
                        nftnl_rule_free(r);
                }
        return 0;
}

int nd_nft_replace(nd_nft *n, const nd_nft_elem *elems, size_t n_elems) {
        batch bt;
        int r = batch_begin(&bt, n);
        if (r < 0)
                return r;
        /* "table; delete table; table { ... }": atomic, and no error when
         * the table was missing */
        for (size_t f = 0; f < ELEMENTSOF(families); f++)
                if ((r = put_table(&bt, NFT_MSG_NEWTABLE, families[f])) < 0 ||
                    (r = put_table(&bt, NFT_MSG_DELTABLE, families[f])) < 0 ||
                    (r = put_table(&bt, NFT_MSG_NEWTABLE, families[f])) < 0)
                        goto fail;
        for (int s = 0; s < _ND_SET_MAX; s++) {
                struct nftnl_set *o = set_obj((nd_nft_set) s, true);
                if (!o) {
                        r = -ENOMEM;
                        goto fail;
                }
                struct nlmsghdr *h = msg(&bt, NFT_MSG_NEWSET, set_family((nd_nft_set) s), NLM_F_CREATE);
                nftnl_set_nlmsg_build_payload(h, o);
                msg_done(&bt);
                nftnl_set_free(o);
        }
        if ((r = put_chains_and_rules(&bt)) < 0)
                goto fail;
        if (n_elems) {
                const nd_nft_elem **v = malloc(n_elems * sizeof(*v));
                if (!v) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (size_t i = 0; i < n_elems; i++)
                        v[i] = &elems[i];
                for (int s = 0; s < _ND_SET_MAX && r == 0; s++)
                        r = put_elems(&bt, NFT_MSG_NEWSETELEM, (nd_nft_set) s, v, n_elems);
                free(v);
                if (r < 0)
                        goto fail;
        }
        return batch_commit(&bt);
fail:
        batch_abort(&bt);
        return r;
}

int nd_nft_update(nd_nft *n, const nd_nft_elem *const *del, size_t n_del, const nd_nft_elem *const *add,
                  size_t n_add) {
        batch bt;
        int r;
        if (n_del == 0 && n_add == 0)
                return 0;
        r = batch_begin(&bt, n);
        if (r < 0)
                return r;
        for (int s = 0; s < _ND_SET_MAX && r == 0; s++)
                r = put_elems(&bt, NFT_MSG_DELSETELEM, (nd_nft_set) s, del, n_del);
        for (int s = 0; s < _ND_SET_MAX && r == 0; s++)
                r = put_elems(&bt, NFT_MSG_NEWSETELEM, (nd_nft_set) s, add, n_add);
        if (r < 0) {
                batch_abort(&bt);
                return r;
        }
        return batch_commit(&bt);
}

int nd_nft_delete_table(nd_nft *n) {
        batch bt;
        int r = batch_begin(&bt, n);
        if (r < 0)
                return r;
        for (size_t f = 0; f < ELEMENTSOF(families); f++)
                if ((r = put_table(&bt, NFT_MSG_NEWTABLE, families[f])) < 0 ||
                    (r = put_table(&bt, NFT_MSG_DELTABLE, families[f])) < 0) {
                        batch_abort(&bt);
                        return r;
                }
        return batch_commit(&bt);
}

/* ---- monitor ---- */

int nd_nft_monitor_open(void) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        int group = NFNLGRP_NFTABLES, sz = 4 << 20;

        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
        return fd;
}

struct attr_pick {
        const struct nlattr *a[8];
};

static int pick_attr(const struct nlattr *attr, void *data) {
        struct attr_pick *p = data;
        unsigned t = mnl_attr_get_type(attr);
        if (t < ELEMENTSOF(p->a))
                p->a[t] = attr;
        return MNL_CB_OK;
}

int nd_nft_monitor_read(int fd, uint32_t own_portid, bool *foreign, char *who, size_t who_size) {
        char buf[MNL_SOCKET_BUFFER_SIZE * 4];
        int r = 0;

        for (;;) {
                ssize_t len = recv(fd, buf, sizeof(buf), 0);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return r;
                        if (errno == ENOBUFS) {
                                *foreign = true;
                                r = -ENOBUFS;
                                continue;
                        }
                        return -errno;
                }
                int rest = (int) len;
                for (const struct nlmsghdr *h = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(h, rest);
                     h = mnl_nlmsg_next(h, &rest)) {
                        if (NFNL_SUBSYS_ID(h->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                                continue;
                        unsigned type = NFNL_MSG_TYPE(h->nlmsg_type);
                        const struct nfgenmsg *g = mnl_nlmsg_get_payload(h);
                        struct attr_pick p = {0};
                        if (mnl_attr_parse(h, sizeof(*g), pick_attr, &p) < 0)
                                continue;
                        if (type == NFT_MSG_NEWGEN) {
                                if (*foreign && who && p.a[NFTA_GEN_PROC_PID] && p.a[NFTA_GEN_PROC_NAME])
                                        snprintf(who, who_size, "%s[%u]",
                                                 mnl_attr_get_str(p.a[NFTA_GEN_PROC_NAME]),
                                                 ntohl(mnl_attr_get_u32(p.a[NFTA_GEN_PROC_PID])));
                                continue;
                        }
                        /* the table name is attribute 1 of tables, chains,
                         * rules, sets, elements, objects and flowtables */
                        if ((g->nfgen_family != NFPROTO_INET && g->nfgen_family != NFPROTO_BRIDGE) || !p.a[1] ||
                            mnl_attr_validate(p.a[1], MNL_TYPE_NUL_STRING) < 0 ||
                            strcmp(mnl_attr_get_str(p.a[1]), ND_NFT_TABLE) != 0)
                                continue;
                        if (h->nlmsg_pid != own_portid)
                                *foreign = true;
                }
        }
}

void nd_nft_metrics(const nd_nft *n, nd_expo *e) {
        nd_expo_family(e, "netd_nft_batches_total", "counter", "nftables transactions sent (one per logical change).");
        nd_expo_sample(e, "netd_nft_batches_total", NULL, n ? (double) n->batches : 0);
        nd_expo_family(e, "netd_nft_batch_errors_total", "counter", "nftables transactions the kernel refused.");
        nd_expo_sample(e, "netd_nft_batch_errors_total", NULL, n ? (double) n->failed : 0);
        if (n) {
                nd_expo_family(e, "netd_nft_batch_duration_seconds", "histogram",
                               "Time of one nftables transaction, from sendmsg to the last acknowledgement.");
                nd_expo_hist(e, "netd_nft_batch_duration_seconds", NULL, &n->lat);
        }
}
