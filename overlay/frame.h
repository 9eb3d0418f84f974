/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file frame.h
 * The frames the userspace GRE path reads and writes, as pure functions
 * over byte buffers (unit-tested and fuzzed; every input is untrusted):
 * GRE headers, and the ARP replies / neighbour advertisements netd gives
 * on behalf of remote endpoints.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "overlay.h"

#define ND_ETH_P_TEB 0x6558
#define ND_ARP_REPLY_LEN 42
#define ND_NA_LEN (14 + 40 + 32)

/* The remote endpoint that has address @ip (4 or 16 bytes), or NULL. */
typedef const nd_overlay_peer *(*nd_frame_lookup_fn)(const void *userdata, int family, const uint8_t *ip);

/* An 8-byte GRE header: key present (= @key), protocol 0x6558. */
void nd_gre_header(uint32_t key, uint8_t hdr[static 8]);
/* @p: an IPv4 packet as a raw protocol-47 socket delivers it.  0 with the
 * key, the outer source address (network order) and the offset of the
 * inner Ethernet frame; -EINVAL for anything else (not version 0, not
 * transparent Ethernet bridging, no key, truncated, runt frame). */
int nd_gre_parse(const uint8_t *p, size_t len, uint32_t *key, uint32_t *src, size_t *off);

/* @f: an Ethernet frame.  If it is an ARP request for a peer's IPv4, the
 * reply from that peer in @out and ND_ARP_REPLY_LEN; else 0. */
size_t nd_frame_arp_reply(const uint8_t *f, size_t len, nd_frame_lookup_fn lookup, const void *userdata,
                          uint8_t out[static ND_ARP_REPLY_LEN]);
/* If @f is an IPv6 neighbour solicitation for a peer's IPv6 (not DAD), a
 * solicited neighbour advertisement with the peer's MAC in @out and
 * ND_NA_LEN; else 0. */
size_t nd_frame_na_reply(const uint8_t *f, size_t len, nd_frame_lookup_fn lookup, const void *userdata,
                         uint8_t out[static ND_NA_LEN]);
/* The Internet checksum of an ICMPv6 message with its pseudo-header. */
uint16_t nd_icmp6_csum(const uint8_t src[static 16], const uint8_t dst[static 16], const uint8_t *msg, size_t len);
