/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fixed chains and rules of netd's tables.  The rules below are the
 * bytecode `nft` generates for the ruleset shown in docs/firewall.md
 * (checked with `nft --debug=netlink`); tests/golden/ holds what
 * `nft list` prints back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_bridge.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <netinet/in.h>

#include "macro.h"
#include "nft-internal.h"

/* RFC 3810 section 5.2; glibc's icmp6.h has only MLDv1 */
#define MLD2_LISTEN_REPORT 143

/* ---- rules ---- */

static void cmp_u32(struct nftnl_rule *r, uint32_t op, uint32_t v) {
        nd_nft_cmp(r, op, &v, sizeof(v));
}

static void nfproto(struct nftnl_rule *r, uint8_t family) {
        nd_nft_meta(r, NFT_META_NFPROTO, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &family, 1);
}

static void lookup(struct nftnl_rule *r, nd_nft_set s, int dreg, bool invert) {
        struct nftnl_expr *e = nd_nft_ex(r, "lookup");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
        nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, nd_nft_set_name(s));
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t) s + 1);
        if (dreg >= 0)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t) dreg);
        if (invert)
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
}

/* reg1 = reg1 & mask; then reg1 != 0 */
static void bits_set(struct nftnl_rule *r, uint32_t mask) {
        uint32_t zero = 0;
        struct nftnl_expr *e = nd_nft_ex(r, "bitwise");
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
        struct nftnl_expr *e = nd_nft_ex(r, "ct");
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
        struct nftnl_expr *e = nd_nft_ex(r, "fib");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        cmp_u32(r, NFT_CMP_EQ, RTN_LOCAL);
}

static void verdict(struct nftnl_rule *r, int v, const char *chain) {
        struct nftnl_expr *e = nd_nft_ex(r, "immediate");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t) v);
        if (chain)
                nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

/* [ds]nat to the address in reg 1 and (@reg_proto != 0) the port in
 * @reg_proto */
static void nat(struct nftnl_rule *r, uint32_t type, uint32_t family, uint32_t reg_proto) {
        struct nftnl_expr *e = nd_nft_ex(r, "nat");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, type);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
        if (reg_proto)
                nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_proto);
}

static void dnat(struct nftnl_rule *r, uint32_t family, uint32_t reg_proto) {
        nat(r, NFT_NAT_DNAT, family, reg_proto);
}

/* numgen random mod ND_NFT_SLOTS => @dreg: a slot of a service */
static void slot(struct nftnl_rule *r, uint32_t dreg) {
        struct nftnl_expr *e = nd_nft_ex(r, "numgen");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, dreg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, ND_NFT_SLOTS);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
}

/* dnat ip to ip daddr . numgen random mod 256 map @svc_backends4: one
 * of the VIP's backends, a slot at random; no backend, no match (after
 * meta nfproto ipv4) */
static void vip_dnat(struct nftnl_rule *r) {
        nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
        slot(r, NFT_REG32_01);
        lookup(r, ND_SET_SVC_BE4, NFT_REG_1, false);
        dnat(r, NFPROTO_IPV4, 0);
}

/* meta nfproto ipv4 iifname . ip daddr @svc_vips4: a VIP, arriving on a
 * bridge that serves it */
static void vip_on_bridge(struct nftnl_rule *r) {
        nfproto(r, NFPROTO_IPV4);
        nd_nft_meta(r, NFT_META_IIFNAME, NFT_REG_1);
        nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_2);
        lookup(r, ND_SET_SVC_VIPS4, -1, false);
}

static void reject(struct nftnl_rule *r, uint32_t type, uint8_t code) {
        struct nftnl_expr *e = nd_nft_ex(r, "reject");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
        nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
}

static void masq(struct nftnl_rule *r) {
        nd_nft_ex(r, "masq");
}

static void publish_rule(struct nftnl_rule *r, bool v6, bool by_addr) {
        nd_nft_set s = v6 ? (by_addr ? ND_SET_PUB6A : ND_SET_PUB6) : (by_addr ? ND_SET_PUB4A : ND_SET_PUB4);
        nfproto(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
        if (by_addr) {
                /* daddr . l4proto . dport */
                nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, v6 ? 16 : 4, NFT_REG_1);
                nd_nft_meta(r, NFT_META_L4PROTO, v6 ? NFT_REG32_04 : NFT_REG32_01);
                nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, v6 ? NFT_REG32_05 : NFT_REG32_02);
        } else {
                nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG_1);
                nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
        }
        lookup(r, s, NFT_REG_1, false);
        /* the map's data is address . port: the port follows the address */
        dnat(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, v6 ? NFT_REG32_04 : NFT_REG32_01);
}

/* [io]ifname [!=] @set */
static void ifname_in(struct nftnl_rule *r, uint32_t key, nd_nft_set s, bool invert) {
        nd_nft_meta(r, key, NFT_REG_1);
        lookup(r, s, -1, invert);
}

static void saddr(struct nftnl_rule *r, bool v6) {
        nfproto(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
        nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, v6 ? 16 : 4, NFT_REG_1);
        lookup(r, v6 ? ND_SET_SUB6 : ND_SET_SUB4, -1, false);
}

/* ip6 saddr / daddr / ND target (at @base + @off) is [not] link-local (fe80::/10) */
static void ip6_linklocal(struct nftnl_rule *r, uint32_t base, uint32_t off, bool eq) {
        static const uint8_t ll[16] = { 0xfe, 0x80 }, ll_mask[16] = { 0xff, 0xc0 }, zero[16] = {0};
        nd_nft_payload(r, base, off, 16, NFT_REG_1);
        struct nftnl_expr *e = nd_nft_ex(r, "bitwise");
        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 16);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, ll_mask, 16);
                nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, 16);
        }
        nd_nft_cmp(r, eq ? NFT_CMP_EQ : NFT_CMP_NEQ, ll, 16);
}

/* ip6 saddr [!=] :: */
static void ip6_saddr_any(struct nftnl_rule *r, bool eq) {
        static const uint8_t zero[16] = {0};
        nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, NFT_REG_1);
        nd_nft_cmp(r, eq ? NFT_CMP_EQ : NFT_CMP_NEQ, zero, 16);
}

/* fib saddr . iif oif missing: no route back to the source through the
 * interface the packet came in on */
static void saddr_unroutable(struct nftnl_rule *r) {
        struct nftnl_expr *e = nd_nft_ex(r, "fib");
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
        nd_nft_payload(r, NFT_PAYLOAD_LL_HEADER, 12, 2, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &be, 2);
}

/* iifname . <@len bytes at @base + @off> != @set: the port did not
 * register that value */
static void port_lacks(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, nd_nft_set s) {
        nd_nft_meta(r, NFT_META_IIFNAME, NFT_REG_1);
        nd_nft_payload(r, base, off, len, NFT_REG_2);
        lookup(r, s, -1, true);
}

/* meta l4proto icmpv6 icmpv6 type @type */
static void icmp6_type(struct nftnl_rule *r, uint8_t type) {
        uint8_t p = IPPROTO_ICMPV6;
        nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &p, 1);
        nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
        nd_nft_cmp(r, NFT_CMP_EQ, &type, 1);
}

enum { R_PUBLISH, R_PREROUTING, R_OUTPUT, R_POSTROUTING, R_FORWARD, R_INPUT, R_RPFILTER, R_BR_PREROUTING, R_BR_PORT,
       R_BR_PORT6, R_BR_FORWARD, R_BR_ISOLATED };

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
        /* frames from one port of a bridge to another (not those to the
         * bridge itself: the gateway, routing, published ports); before
         * br_netfilter (priority 0), which steals the frame and passes it
         * on only to the hooks after its own */
        [R_BR_FORWARD] = { .name = "forward", .type = "filter", .hook = NF_BR_FORWARD, .prio = -200,
                           .family = NFPROTO_BRIDGE },
        [R_BR_ISOLATED] = { .name = "isolated", .family = NFPROTO_BRIDGE },
};

static uint16_t chain_family(int c) {
        return chains[c].family ? chains[c].family : NFPROTO_INET;
}

/* The fixed rules, in order: rule k of chain c is built by build_rule(c, k)
 * and returns false past the chain's last rule. */
static bool build_rule(int c, int k, struct nftnl_rule *r) {
        static const uint8_t lo_net = 127, tcp = IPPROTO_TCP;
        switch (c * 16 + k) {
        /* publish: DNAT through the port maps, address-specific first,
         * then the services' routing mesh, then any-address ports */
        case R_PUBLISH * 16 + 0: publish_rule(r, false, true); return true;
        /* meta nfproto ipv4 dnat ip to meta l4proto . th dport . numgen
         * random mod 256 map @mesh4 */
        case R_PUBLISH * 16 + 1:
                nfproto(r, NFPROTO_IPV4);
                nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG_1);
                nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
                slot(r, NFT_REG32_02);
                lookup(r, ND_SET_MESH4, NFT_REG_1, false);
                dnat(r, NFPROTO_IPV4, NFT_REG32_01);
                return true;
        case R_PUBLISH * 16 + 2: publish_rule(r, false, false); return true;
        case R_PUBLISH * 16 + 3: publish_rule(r, true, true); return true;
        case R_PUBLISH * 16 + 4: publish_rule(r, true, false); return true;
        /* A service VIP, before the published ports: the VIP is a local
         * address of the bridge (the host answers ARP for it).
         * iifname . ip daddr @svc_vips4 dnat ip to ip daddr . numgen
         * random mod 256 map @svc_backends4 */
        case R_PREROUTING * 16 + 0:
                vip_on_bridge(r);
                vip_dnat(r);
                return true;
        /* meta nfproto ipv4 dnat ip to ip daddr . numgen random mod 256 map
         * @svc_backends4: the host's own processes reach every VIP */
        case R_OUTPUT * 16 + 0:
                nfproto(r, NFPROTO_IPV4);
                vip_dnat(r);
                return true;
        /* fib daddr type local jump publish */
        case R_PREROUTING * 16 + 1:
        case R_OUTPUT * 16 + 1:
                daddr_local(r);
                verdict(r, NFT_JUMP, "publish");
                return true;
        /* A connection to a service whose backend is on another host
         * leaves through the overlay bridge from this host's address on
         * it, so that the reply comes back here to be un-DNATed.  A bridge
         * without an address in the map: no match, the rules below apply.
         * ct status dnat ip daddr @svc_remote4 snat ip to oifname map
         * @svc_snat4 */
        case R_POSTROUTING * 16 + 0:
                ct_dnat(r);
                nfproto(r, NFPROTO_IPV4);
                nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
                lookup(r, ND_SET_SVC_REMOTE4, -1, false);
                nd_nft_meta(r, NFT_META_OIFNAME, NFT_REG_1);
                lookup(r, ND_SET_SVC_SNAT4, NFT_REG_1, false);
                nat(r, NFT_NAT_SNAT, NFPROTO_IPV4, 0);
                return true;
        /* ct status dnat ip saddr 127.0.0.0/8 masquerade (host localhost) */
        case R_POSTROUTING * 16 + 1:
                ct_dnat(r);
                nfproto(r, NFPROTO_IPV4);
                nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 1, NFT_REG_1);
                nd_nft_cmp(r, NFT_CMP_EQ, &lo_net, 1);
                masq(r);
                return true;
        /* ct status dnat oifname @bridges ip[6] saddr @subnets masquerade
         * (a container reaching a published port: hairpin) */
        case R_POSTROUTING * 16 + 2:
        case R_POSTROUTING * 16 + 3:
                ct_dnat(r);
                ifname_in(r, NFT_META_OIFNAME, ND_SET_BRIDGES, false);
                saddr(r, k == 3);
                masq(r);
                return true;
        /* oifname != @bridges ip[6] saddr @subnets masquerade (egress) */
        case R_POSTROUTING * 16 + 4:
        case R_POSTROUTING * 16 + 5:
                ifname_in(r, NFT_META_OIFNAME, ND_SET_BRIDGES, true);
                saddr(r, k == 5);
                masq(r);
                return true;
        /* The cluster's control plane (empty sets without a cluster).
         * iifname @bridges ip daddr . meta l4proto . th dport @control4 drop:
         * containers never reach the cluster store */
        case R_FORWARD * 16 + 0:
                ifname_in(r, NFT_META_IIFNAME, ND_SET_BRIDGES, false);
                nfproto(r, NFPROTO_IPV4);
                nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
                nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG32_01);
                nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_02);
                lookup(r, ND_SET_CTRL4, -1, false);
                verdict(r, NF_DROP, NULL);
                return true;
        /* iifname @bridges ip daddr @peers4 meta l4proto . th dport
         * @tunnel_ports drop: nor any host's tunnel port */
        case R_FORWARD * 16 + 1:
                ifname_in(r, NFT_META_IIFNAME, ND_SET_BRIDGES, false);
                nfproto(r, NFPROTO_IPV4);
                nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
                lookup(r, ND_SET_PEERS4, -1, false);
                nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG_1);
                nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
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
                nd_nft_meta(r, NFT_META_IIFNAME, NFT_REG_1);
                nd_nft_meta(r, NFT_META_OIFNAME, NFT_REG_2);
                lookup(r, ND_SET_SAME, -1, true);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_FORWARD * 16 + 4:
        case R_INPUT * 16 + 3:
                ct_established(r);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_FORWARD * 16 + 5: /* iifname . oifname @same_bridge accept */
                nd_nft_meta(r, NFT_META_IIFNAME, NFT_REG_1);
                nd_nft_meta(r, NFT_META_OIFNAME, NFT_REG_2);
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
                nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG_1);
                nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
                lookup(r, ND_SET_TUNNEL, -1, false);
                nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
                lookup(r, ND_SET_PEERS4, -1, true);
                verdict(r, NF_DROP, NULL);
                return true;
        /* iifname @bridges meta l4proto . th dport @control_ports drop: not
         * the cluster store's ports at the gateway either */
        case R_INPUT * 16 + 1:
                ifname_in(r, NFT_META_IIFNAME, ND_SET_BRIDGES, false);
                nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG_1);
                nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
                lookup(r, ND_SET_CTRLPORT, -1, false);
                verdict(r, NF_DROP, NULL);
                return true;
        case R_INPUT * 16 + 2: /* iifname != @bridges accept */
                ifname_in(r, NFT_META_IIFNAME, ND_SET_BRIDGES, true);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        /* A new connection to a VIP that reached input has no backend
         * (else prerouting DNATed it): refuse at once rather than let the
         * client time out.  After the established accept: the replies to
         * the host's own connections to a VIP (their source is the VIP,
         * the output hook DNATs) come back to it.
         * iifname . ip daddr @svc_vips4 meta l4proto tcp reject with tcp reset */
        case R_INPUT * 16 + 4:
                vip_on_bridge(r);
                nd_nft_meta(r, NFT_META_L4PROTO, NFT_REG_1);
                nd_nft_cmp(r, NFT_CMP_EQ, &tcp, 1);
                reject(r, NFT_REJECT_TCP_RST, 0);
                return true;
        /* iifname . ip daddr @svc_vips4 reject with icmp port-unreachable */
        case R_INPUT * 16 + 5:
                vip_on_bridge(r);
                reject(r, NFT_REJECT_ICMP_UNREACH, ICMP_PORT_UNREACH);
                return true;
        case R_INPUT * 16 + 6: /* iifname . ip[6] daddr @gateways accept */
        case R_INPUT * 16 + 7:
                nfproto(r, k == 7 ? NFPROTO_IPV6 : NFPROTO_IPV4);
                nd_nft_meta(r, NFT_META_IIFNAME, NFT_REG_1);
                nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, k == 7 ? 24 : 16, k == 7 ? 16 : 4, NFT_REG_2);
                lookup(r, k == 7 ? ND_SET_GW6 : ND_SET_GW4, -1, false);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_INPUT * 16 + 8: /* ip6 daddr fe80::/10 accept (neighbour discovery) */
                nfproto(r, NFPROTO_IPV6);
                ip6_linklocal(r, NFT_PAYLOAD_NETWORK_HEADER, 24, true);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        case R_INPUT * 16 + 9: /* fib daddr type local reject with icmpx admin-prohibited */
                daddr_local(r);
                reject(r, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
                return true;
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
                nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 14, 4, NFT_REG_1);
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
        /* enable_icc=false: iifname @no_icc_ports jump isolated.
         * Container to container on such a bridge is bridged, never
         * routed, so this chain is the whole of it (ARP and ND between
         * them go too).  Keyed by port, not by bridge: `meta ibrname`
         * needs the nft_meta_bridge module, which kernels built without it
         * lack (and one rule the kernel refuses would fail the whole
         * table). */
        case R_BR_FORWARD * 16 + 0:
                ifname_in(r, NFT_META_IIFNAME, ND_SET_NO_ICC, false);
                verdict(r, NFT_JUMP, "isolated");
                return true;
        /* A neighbour's published port stays reachable through the
         * gateway: with br_netfilter the kernel bridges that DNATed frame
         * (same bridge in and out) instead of routing it, and only
         * conntrack, which the bridge family lacks without
         * nf_conntrack_bridge, could tell it from a direct one.  So a
         * published port's container end (and its answers) may be
         * reached directly too: it is open to the world already.
         * ether type ip ip daddr . meta l4proto . th dport @published4 accept,
         * ... ip saddr . meta l4proto . th sport ..., and the same for ip6 */
        case R_BR_ISOLATED * 16 + 0:
        case R_BR_ISOLATED * 16 + 1:
        case R_BR_ISOLATED * 16 + 2:
        case R_BR_ISOLATED * 16 + 3: {
                bool v6 = k >= 2, dst = k % 2 == 0;
                ether_type(r, v6 ? ETH_P_IPV6 : ETH_P_IP);
                nd_nft_payload(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? (dst ? 24 : 8) : (dst ? 16 : 12), v6 ? 16 : 4,
                        NFT_REG_1);
                nd_nft_meta(r, NFT_META_L4PROTO, v6 ? NFT_REG32_04 : NFT_REG32_01);
                nd_nft_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, dst ? 2 : 0, 2, v6 ? NFT_REG32_05 : NFT_REG32_02);
                lookup(r, v6 ? ND_SET_PUBT6 : ND_SET_PUBT4, -1, false);
                verdict(r, NF_ACCEPT, NULL);
                return true;
        }
        case R_BR_ISOLATED * 16 + 4:
                verdict(r, NF_DROP, NULL);
                return true;
        default:
                return false;
        }
}

int nd_nft_batch_put_chains(nd_nft_batch *bt) {
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
                struct nlmsghdr *h = nd_nft_batch_msg(bt, NFT_MSG_NEWCHAIN, chain_family((int) c), NLM_F_CREATE);
                nftnl_chain_nlmsg_build_payload(h, ch);
                nd_nft_batch_msg_done(bt);
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
                        struct nlmsghdr *h = nd_nft_batch_msg(bt, NFT_MSG_NEWRULE, chain_family((int) c),
                                                              NLM_F_CREATE | NLM_F_APPEND);
                        nftnl_rule_nlmsg_build_payload(h, r);
                        nd_nft_batch_msg_done(bt);
                        nftnl_rule_free(r);
                }
        return 0;
}
