/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file pool.h
 * Default address pools: an ordered list of (base prefix, subnet size) from
 * which networks without an explicit subnet get one, as Docker's
 * default-address-pools.  nd_pool_pick() returns the first candidate subnet
 * that overlaps nothing in the caller's busy list.  Pure logic, no I/O.
 */
#pragma once

#include <stddef.h>

#include "prefix.h"

typedef struct nd_pool nd_pool;

#define ND_POOL_MAX_ENTRIES 64

int nd_pool_new(nd_pool **ret);
nd_pool *nd_pool_free(nd_pool *p);
/* "base=CIDR,size=N" (Docker's syntax) or "CIDR" (size = prefix length). */
int nd_pool_add(nd_pool *p, const char *spec, struct nd_diag *diag);
/* 172.17.0.0/16 ... 172.31.0.0/16, then 192.168.0.0/16 as /20s. */
int nd_pool_add_defaults(nd_pool *p);
size_t nd_pool_size(const nd_pool *p);
/* First subnet of @family in pool order overlapping none of @busy.
 * Returns 0, or -ENOSPC when every candidate is taken. */
int nd_pool_pick(const nd_pool *p, int family, const nd_prefix *busy, size_t n_busy,
                 nd_prefix *ret);
