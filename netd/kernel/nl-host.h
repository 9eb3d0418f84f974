/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file nl-host.h
 * What the host namespace already uses: the prefixes of its addresses and
 * of its main-table routes (not the default route), read with libnl-3 over
 * an NETLINK_ROUTE socket owned by the caller.  Used to keep automatic
 * subnets clear of the host's own networks, as Docker does.
 */
#pragma once

#include <stddef.h>

#include "prefix.h"

struct nl_sock;

/* libnl's -NLE_* to -errno, once, at the library boundary. */
int nd_nl_errno(int nle);
int nd_nl_socket_open(struct nl_sock **ret);
/* *ret malloc'd array of canonical prefixes. */
int nd_nl_host_prefixes(struct nl_sock *sk, nd_prefix **ret, size_t *ret_n);
