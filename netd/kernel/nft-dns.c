/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The redirect of 127.0.0.11:53 in a sandbox (nft-dns.h).  The rules are
 * the bytecode `nft --debug=netlink` shows for the ruleset in the header:
 * "udp dport set N" is an immediate and a payload write with the L4
 * checksum (UDP's at transport offset 6, TCP's at 16) updated.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "netns.h"
#include "nft-dns.h"
#include "nft-internal.h"

#define COMMENT_FMT "netd dns udp %hu tcp %hu"

static const uint8_t resolver_addr[4] = { 127, 0, 0, 11 };

static int nft_open(void *ret) {
        return nd_nft_open(ret);
}

/* A command socket inside @ns_fd: opened there, then back home. */
int nd_nft_dns_open(int ns_fd, nd_nft **ret) {
        return nd_netns_run(ns_fd, nft_open, ret);
}

/* ---- reading the ports back ---- */

static int comment_cb(const struct nftnl_udata *attr, void *data) {
        if (nftnl_udata_type(attr) == NFTNL_UDATA_TABLE_COMMENT) {
                const char *s = nftnl_udata_get(attr);
                size_t len = nftnl_udata_len(attr);
                if (len > 0 && len < 64 && s[len - 1] == 0)
                        snprintf(data, 64, "%s", s);
        }
        return MNL_CB_OK;
}

static int table_cb(const struct nlmsghdr *h, void *data) {
        struct nftnl_table *t = nftnl_table_alloc();
        uint32_t len = 0;
        if (!t)
                return MNL_CB_ERROR;
        if (nftnl_table_nlmsg_parse(h, t) == 0) {
                const void *ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
                if (ud && len)
                        (void) nftnl_udata_parse(ud, len, comment_cb, data);
        }
        nftnl_table_free(t);
        return MNL_CB_OK;
}

int nd_nft_dns_ports(nd_nft *n, uint16_t *ret_udp, uint16_t *ret_tcp) {
        char buf[MNL_SOCKET_BUFFER_SIZE], comment[64] = "";
        int r;
        struct mnl_socket *nl = nd_nft_mnl(n);
        uint32_t seq = nd_nft_next_seq(n), portid = nd_nft_portid(n);
        struct nftnl_table *t = nftnl_table_alloc();
        if (!t)
                return -ENOMEM;
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, ND_NFT_DNS_TABLE);
        struct nlmsghdr *h = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_IPV4, NLM_F_ACK, seq);
        nftnl_table_nlmsg_build_payload(h, t);
        nftnl_table_free(t);
        if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0)
                return -errno;
        /* the kernel answered inside sendmsg(): the reply is queued */
        for (;;) {
                ssize_t k = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                r = mnl_cb_run(buf, (size_t) k, seq, portid, table_cb, comment);
                if (r < 0)
                        return -errno;
                if (r == MNL_CB_STOP)
                        break;
        }
        if (sscanf(comment, COMMENT_FMT, ret_udp, ret_tcp) != 2)
                return -EBADMSG;
        return 0;
}

/* ---- the table ---- */

/* ip [sd]addr 127.0.0.11 PROTO [sd]port @port */
static void match(struct nftnl_rule *r, bool out, uint8_t proto, uint16_t port) {
        uint16_t p = htons(port);
        nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, out ? 16 : 12, 4, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, resolver_addr, 4);
        nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &proto, 1);
        nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, out ? 2 : 0, 2, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &p, 2);
}

/* the 2 bytes at transport header + @off set to @to, the checksum at
 * transport header + @csum_off updated (no pseudo-header flag: no port is
 * part of the pseudo-header) */
static void set_port(struct nftnl_rule *r, uint32_t off, uint16_t to, uint32_t csum_off) {
        uint16_t p = htons(to);
        nd_nft_imm(r, NFT_REG_1, &p, 2);
        struct nftnl_expr *e = nd_nft_ex(r, "payload");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 2);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_INET);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, csum_off);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_FLAGS, 0);
}

/* ip saddr 127.0.0.11 icmp type destination-unreachable, quoting a UDP
 * datagram to 127.0.0.11:@port (its IP header without options, as local
 * ones are): @th,136,8 17 @th,192,32 127.0.0.11 @th,240,16 @port */
static void match_icmp(struct nftnl_rule *r, uint16_t port) {
        uint8_t icmp = IPPROTO_ICMP, unreach = 3, udp = IPPROTO_UDP;
        uint16_t p = htons(port);
        nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, resolver_addr, 4);
        nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &icmp, 1);
        nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &unreach, 1);
        nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 8 + 9, 1, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &udp, 1);
        nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 8 + 16, 4, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, resolver_addr, 4);
        nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 8 + 20 + 2, 2, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &p, 2);
}

static int put_table(nd_nft_batch *bt, int type, const char *comment) {
        struct nftnl_table *t = nftnl_table_alloc();
        struct nftnl_udata_buf *ud = NULL;
        if (!t)
                return -ENOMEM;
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, ND_NFT_DNS_TABLE);
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
        if (comment) {
                ud = nftnl_udata_buf_alloc(128);
                if (!ud || !nftnl_udata_put_strz(ud, NFTNL_UDATA_TABLE_COMMENT, comment)) {
                        if (ud)
                                nftnl_udata_buf_free(ud);
                        nftnl_table_free(t);
                        return -ENOMEM;
                }
                nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
        }
        struct nlmsghdr *h = nd_nft_batch_msg(bt, type, NFPROTO_IPV4, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
        nftnl_table_nlmsg_build_payload(h, t);
        nd_nft_batch_msg_done(bt);
        nftnl_table_free(t);
        if (ud)
                nftnl_udata_buf_free(ud);
        return 0;
}

static int put_chain(nd_nft_batch *bt) {
        struct nftnl_chain *ch = nftnl_chain_alloc();
        if (!ch)
                return -ENOMEM;
        nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
        nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, ND_NFT_DNS_TABLE);
        nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, "output");
        nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
        nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
        /* raw (-300): before anything else at output, conntrack included */
        nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, -300);
        nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        struct nlmsghdr *h = nd_nft_batch_msg(bt, NFT_MSG_NEWCHAIN, NFPROTO_IPV4, NLM_F_CREATE);
        nftnl_chain_nlmsg_build_payload(h, ch);
        nd_nft_batch_msg_done(bt);
        nftnl_chain_free(ch);
        return 0;
}

/* @out: a query to 127.0.0.11:53, rewritten to @port; else a reply from
 * @port, rewritten to 53; @proto IPPROTO_ICMP: a port unreachable for a
 * query, its quoted destination port back to 53 */
static int put_rule(nd_nft_batch *bt, bool out, uint8_t proto, uint16_t port) {
        struct nftnl_rule *r = nftnl_rule_alloc();
        if (!r)
                return -ENOMEM;
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, ND_NFT_DNS_TABLE);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "output");
        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
        if (proto == IPPROTO_ICMP) {
                match_icmp(r, port);
                /* the ICMP checksum covers the quote; the quoted UDP
                 * checksum is nobody's concern */
                set_port(r, 8 + 20 + 2, 53, 2);
        } else {
                match(r, out, proto, out ? 53 : port);
                set_port(r, out ? 2 : 0, out ? port : 53, proto == IPPROTO_UDP ? 6 : 16);
        }
        struct nlmsghdr *h = nd_nft_batch_msg(bt, NFT_MSG_NEWRULE, NFPROTO_IPV4, NLM_F_APPEND | NLM_F_CREATE);
        nftnl_rule_nlmsg_build_payload(h, r);
        nd_nft_batch_msg_done(bt);
        nftnl_rule_free(r);
        return 0;
}

int nd_nft_dns_redirect(nd_nft *n, uint16_t udp, uint16_t tcp) {
        char comment[64];
        nd_nft_batch bt;
        int r;
        if ((r = nd_nft_batch_begin(&bt, n)) < 0)
                return r;
        snprintf(comment, sizeof(comment), COMMENT_FMT, udp, tcp);
        /* "table; delete table; table { ... }": atomic, whatever was there */
        if ((r = put_table(&bt, NFT_MSG_NEWTABLE, NULL)) < 0 || (r = put_table(&bt, NFT_MSG_DELTABLE, NULL)) < 0 ||
            (r = put_table(&bt, NFT_MSG_NEWTABLE, comment)) < 0 ||
            (r = put_chain(&bt)) < 0 ||
            (r = put_rule(&bt, true, IPPROTO_UDP, udp)) < 0 || (r = put_rule(&bt, true, IPPROTO_TCP, tcp)) < 0 ||
            (r = put_rule(&bt, false, IPPROTO_UDP, udp)) < 0 || (r = put_rule(&bt, false, IPPROTO_TCP, tcp)) < 0 ||
            (r = put_rule(&bt, false, IPPROTO_ICMP, udp)) < 0) {
                nd_nft_batch_abort(&bt);
                return r;
        }
        return nd_nft_batch_commit(&bt);
}

int nd_nft_dns_remove(nd_nft *n) {
        nd_nft_batch bt;
        int r;
        if ((r = nd_nft_batch_begin(&bt, n)) < 0)
                return r;
        /* "table; delete table": no error when it was missing */
        if ((r = put_table(&bt, NFT_MSG_NEWTABLE, NULL)) < 0 || (r = put_table(&bt, NFT_MSG_DELTABLE, NULL)) < 0) {
                nd_nft_batch_abort(&bt);
                return r;
        }
        return nd_nft_batch_commit(&bt);
}
