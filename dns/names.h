/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file names.h
 * The embedded DNS name table: which names resolve to which addresses on
 * which network.  Every record belongs to an owner (a container id), so a
 * container's names are replaced or dropped in one call when it starts,
 * stops, connects or disconnects.  Names are case-insensitive.  Pure
 * logic, no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

#define ND_DNS_NAME_MAX 253

typedef struct nd_dns_names nd_dns_names;

nd_dns_names *nd_dns_names_new(void);
nd_dns_names *nd_dns_names_free(nd_dns_names *t);
/* The writers below (add, add_endpoint, drop) call @lock(@arg) first and
 * @unlock(@arg) after (NULL: nothing): the lock of the DNS service whose
 * thread reads the table (server.h). */
void nd_dns_names_set_lock(nd_dns_names *t, void (*lock)(void *), void (*unlock)(void *), void *arg);

/* @name resolves to @a on network @net; @ptr_name (e.g. "web.front")
 * answers reverse lookups of @a (NULL: none from this record).  @a NULL:
 * the name exists here without an address (NODATA, not forwarded), e.g.
 * a service's tasks.NAME while it has no task.  -EINVAL for a name that
 * is not a valid DNS name. */
int nd_dns_names_add(nd_dns_names *t, const char *net, const char *name, const nd_addr *a, const char *ptr_name,
                     const char *owner);
/* The names of one endpoint on @net (a container, a CNI pod, a Docker
 * container, a remote one): each of @names (NULL, "" and repeats skipped)
 * resolves to @a4 and @a6 (family 0: none), and @names[0], if set, answers
 * reverse lookups as "NAMES0.NET".  All under @owner.  Returns the first error
 * other than -EINVAL (a name that is not a DNS name is skipped), or 0. */
int nd_dns_names_add_endpoint(nd_dns_names *t, const char *net, const char *const *names, size_t n,
                              const nd_addr *a4, const nd_addr *a6, const char *owner);
/* Drop every record of @owner. */
void nd_dns_names_drop(nd_dns_names *t, const char *owner);
size_t nd_dns_names_count(const nd_dns_names *t);

/* Addresses of @family for @name as seen from a sandbox on @nets: the name
 * on any of them, or NAME.NET for one of them.  Distinct addresses, in a
 * rotated order (@rotate picks the first).  Returns how many exist (which
 * may exceed @max); *exists is set when the name exists at all. */
size_t nd_dns_names_lookup(const nd_dns_names *t, const char *const *nets, size_t n_nets, const char *name,
                           int family, unsigned rotate, nd_addr *out, size_t max, bool *exists);
/* The same for NAME.NET only (the host's resolver: a bare name is
 * ambiguous there). */
size_t nd_dns_names_lookup_qualified(const nd_dns_names *t, const char *const *nets, size_t n_nets,
                                     const char *name, int family, unsigned rotate, nd_addr *out, size_t max,
                                     bool *exists);
/* Whether @name (a trailing dot allowed) is below one of @nets: NAME.NET
 * or deeper. */
bool nd_dns_names_in_zone(const char *const *nets, size_t n_nets, const char *name);
/* The name for a reverse lookup of @a on one of @nets, or NULL. */
const char *nd_dns_names_reverse(const nd_dns_names *t, const char *const *nets, size_t n_nets, const nd_addr *a);
