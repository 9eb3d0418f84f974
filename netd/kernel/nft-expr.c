/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The expression builders every rule netd writes is made of (nft-rules.c:
 * the table inet netd and bridge netd; nft-dns.c: a sandbox's DNS
 * redirect).  Each appends one expression to @r; an allocation failure
 * leaves the rule short, and the kernel refuses it at commit.
 */
#include <stdint.h>
#include <stdio.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-internal.h"

struct nftnl_expr *nd_nft_ex(struct nftnl_rule *r, const char *name) {
        struct nftnl_expr *e = nftnl_expr_alloc(name);
        if (e)
                nftnl_rule_add_expr(r, e);
        return e;
}

void nd_nft_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg) {
        struct nftnl_expr *e = nd_nft_ex(r, "meta");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
        nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

void nd_nft_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len) {
        struct nftnl_expr *e = nd_nft_ex(r, "cmp");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

void nd_nft_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg) {
        struct nftnl_expr *e = nd_nft_ex(r, "payload");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
}

void nd_nft_imm(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len) {
        struct nftnl_expr *e = nd_nft_ex(r, "immediate");
        if (!e)
                return;
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
        nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
}
