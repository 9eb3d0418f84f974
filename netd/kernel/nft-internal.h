/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file nft-internal.h
 * What the parts of nft.h share, and nothing outside netd/kernel/nft*.c
 * includes: one batch under construction (nft.c owns the socket and the
 * batch; it begins, commits and aborts it), and the pieces the other parts
 * append to it: the sets and their elements (nft-sets.c) and the fixed
 * chains and rules (nft-rules.c).
 *
 * Appending never sends: a batch reaches the kernel only whole, from
 * nft.c, so one logical change stays one transaction.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft.h"

struct nlmsghdr;
struct nftnl_batch;
struct mnl_socket;

/* The largest message an append builds: a set element message
 * (nft-sets.c checks its elements fit). */
#define ND_NFT_MSG_MAX (32 * 1024)

/* One nfnetlink batch being built; lives on the stack of the call that
 * sends it. */
typedef struct nd_nft_batch {
        struct nftnl_batch *b;
        nd_nft *n;
        int err;
} nd_nft_batch;

/* Begin a batch on @n; then commit it (sent whole, the kernel's first
 * error returned) or abort it (nothing sent). */
int nd_nft_batch_begin(nd_nft_batch *bt, nd_nft *n);
int nd_nft_batch_commit(nd_nft_batch *bt);
void nd_nft_batch_abort(nd_nft_batch *bt);

/* The command socket of @n and the next sequence number, for a request
 * outside a batch (a GET). */
struct mnl_socket *nd_nft_mnl(nd_nft *n);
uint32_t nd_nft_next_seq(nd_nft *n);

/* The header of one more message of @type in @bt (its payload is the
 * caller's to build), then nd_nft_batch_msg_done() to account for it. */
struct nlmsghdr *nd_nft_batch_msg(nd_nft_batch *bt, int type, uint16_t family, uint16_t flags);
void nd_nft_batch_msg_done(nd_nft_batch *bt);

/* nft-sets.c: the set definitions, by nd_nft_set.  In a batch, set @s
 * also goes by the ID @s + 1, which is how a rule of the same batch
 * refers to a set the batch creates. */
const char *nd_nft_set_name(nd_nft_set s);
uint16_t nd_nft_set_family(nd_nft_set s);
/* NEWSET for every set, with its key and data types and flags. */
int nd_nft_batch_put_sets(nd_nft_batch *bt);
/* The elements of @set among @elems as @type (NFT_MSG_NEWSETELEM or
 * NFT_MSG_DELSETELEM) messages; elements of other sets are skipped. */
int nd_nft_batch_put_elems(nd_nft_batch *bt, int type, nd_nft_set set, const nd_nft_elem *const *elems, size_t n);

/* nft-expr.c: one expression appended to rule @r (cmp and lookups read
 * register 1). */
struct nftnl_rule;
struct nftnl_expr *nd_nft_ex(struct nftnl_rule *r, const char *name);
void nd_nft_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg);
void nd_nft_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len);
void nd_nft_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg);
void nd_nft_imm(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len);

/* nft-rules.c: every fixed chain, then every rule, in order. */
int nd_nft_batch_put_chains(nd_nft_batch *bt);
