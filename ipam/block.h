/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file block.h
 * Address blocks of cluster IPAM: a subnet cut into equal blocks that
 * hosts claim whole (see netd/cluster.h).  Pure arithmetic.
 */
#pragma once

#include <stdint.h>

#include "prefix.h"

/* Blocks a scan considers at most (a /64 cut into /80s has 2^16; an
 * IPv4 /8 into /26s 2^18). */
#define ND_BLOCK_SCAN_MAX (1u << 20)

/* The block prefix length for @subnet: @want when not 0 (clamped to
 * [subnet length, bits - 2]), else /26 for IPv4 (subnet.len + 4, at most
 * /30, in subnets smaller than /22) and /80 for IPv6 (at least
 * subnet.len + 16). */
unsigned nd_block_len(const nd_prefix *subnet, unsigned want);
/* How many blocks of length @len @subnet has (capped at ND_BLOCK_SCAN_MAX). */
uint64_t nd_block_count(const nd_prefix *subnet, unsigned len);
/* Block number @i of @subnet, of length @len. */
void nd_block_nth(const nd_prefix *subnet, unsigned len, uint64_t i, nd_prefix *ret);
