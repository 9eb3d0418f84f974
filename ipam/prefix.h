/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file prefix.h
 * IP addresses and CIDR prefixes, IPv4 and IPv6, as plain values.
 *
 * Invariants: an nd_prefix is always canonical after nd_prefix_parse() with
 * ND_PREFIX_STRICT (host bits zero) or nd_prefix_canon(); addresses are
 * stored in network byte order in a 16-byte buffer (IPv4 in the first 4).
 * No I/O, no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 nd_u128;

typedef struct nd_addr {
        int family;            /* AF_INET or AF_INET6 */
        uint8_t b[16];
} nd_addr;

typedef struct nd_prefix {
        nd_addr addr;
        unsigned len;
} nd_prefix;

struct nd_diag;

#define ND_ADDR_STRLEN 46      /* INET6_ADDRSTRLEN */
#define ND_PREFIX_STRLEN (ND_ADDR_STRLEN + 4)

/* Flags for nd_prefix_parse(). */
enum {
        ND_PREFIX_STRICT = 1 << 0,  /* refuse host bits set ("10.0.0.1/8") */
};

unsigned nd_addr_bits(int family);
int nd_addr_parse(const char *s, nd_addr *ret);
const char *nd_addr_fmt(const nd_addr *a, char buf[static ND_ADDR_STRLEN]);
bool nd_addr_equal(const nd_addr *a, const nd_addr *b);
nd_u128 nd_addr_to_u128(const nd_addr *a);
void nd_addr_from_u128(int family, nd_u128 v, nd_addr *ret);

int nd_prefix_parse(const char *s, unsigned flags, nd_prefix *ret, struct nd_diag *diag);
const char *nd_prefix_fmt(const nd_prefix *p, char buf[static ND_PREFIX_STRLEN]);
void nd_prefix_canon(nd_prefix *p);
bool nd_prefix_contains(const nd_prefix *p, const nd_addr *a);
bool nd_prefix_contains_prefix(const nd_prefix *outer, const nd_prefix *inner);
bool nd_prefix_overlap(const nd_prefix *a, const nd_prefix *b);
/* First and last address of the prefix as integers (host bits 0 / all 1). */
nd_u128 nd_prefix_first(const nd_prefix *p);
nd_u128 nd_prefix_last(const nd_prefix *p);
