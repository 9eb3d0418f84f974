/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file subnet.h
 * Address allocation inside one subnet.
 *
 * Dynamic addresses come from the ip-range (the whole subnet by default) in
 * next-fit order: a released address is not handed out again until the
 * allocator has wrapped around, so stale ARP/DNS entries of a removed
 * container do not point at a new one (Docker's "serial" allocation).
 * Static reservations may be anywhere in the subnet.  The network address
 * (and for IPv4 the broadcast address) are never handed out; the gateway is
 * reserved by the caller like any static address.
 *
 * Subnets of up to 2^20 addresses use a dense bitmap with word-at-a-time
 * scanning; larger ones (IPv6 /64, IPv4 /8) use a sparse hash set, so a /64
 * costs memory in proportion to what is allocated, not to its size.
 * Pure logic, no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "prefix.h"

typedef struct nd_subnet nd_subnet;

/* @range may be NULL; it must lie inside @subnet.  Refuses subnets with no
 * usable host address (-EINVAL). */
int nd_subnet_new(const nd_prefix *subnet, const nd_prefix *range, nd_subnet **ret);
nd_subnet *nd_subnet_free(nd_subnet *s);

const nd_prefix *nd_subnet_prefix(const nd_subnet *s);
/* Reserve a given address: 0, -EEXIST (taken), -ERANGE (not in subnet),
 * -EADDRNOTAVAIL (network or broadcast address), -ENOMEM. */
int nd_subnet_reserve(nd_subnet *s, const nd_addr *a);
/* Next free address of the range: 0 or -ENOSPC. */
int nd_subnet_alloc(nd_subnet *s, nd_addr *ret);
/* 0, -ENOENT (not allocated), -ERANGE, -EADDRNOTAVAIL. */
int nd_subnet_release(nd_subnet *s, const nd_addr *a);
bool nd_subnet_is_allocated(const nd_subnet *s, const nd_addr *a);
/* Addresses currently allocated (static and dynamic, not the reserved ones). */
uint64_t nd_subnet_count(const nd_subnet *s);
/* Usable dynamic addresses in the range (saturated at UINT64_MAX). */
uint64_t nd_subnet_capacity(const nd_subnet *s);
/* First usable host address (the conventional default gateway). */
void nd_subnet_first_host(const nd_subnet *s, nd_addr *ret);
