/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file hostport.h
 * Holding a published host port so that no host process can take it: a
 * socket bound to the port (TCP: bound, never listening; UDP: bound, with
 * a filter that drops everything).  Binding without SO_REUSEADDR or
 * SO_REUSEPORT makes every later bind() of that port fail.  Traffic never
 * reaches these sockets: the DNAT in prerouting/output comes first.
 */
#pragma once

#include "ports.h"

struct nd_diag;

#define ND_HOSTPORT_FDS 2

/* Bind what @b claims (both families for a family-0 address).  Fills
 * @fds (-1 for unused), or returns -EADDRINUSE / -EADDRNOTAVAIL / ...
 * with @d saying which. */
int nd_hostport_reserve(const nd_port_binding *b, int fds[static ND_HOSTPORT_FDS], struct nd_diag *d);
void nd_hostport_release(int fds[static ND_HOSTPORT_FDS]);
