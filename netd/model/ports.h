/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file ports.h
 * Published ports: the `-p` grammar and its two forms.
 *
 * A *spec* is what the user asked for and is kept with the container:
 *   [HOSTIP:][HOSTPORT[-END]:]CTRPORT[-END][/tcp|/udp|/sctp]
 * with an IPv6 host address in brackets ("[::1]:8080:80").  Ranges on both
 * sides are split into one spec per port; a host range with one container
 * port means "any free port of that range"; no host port means a dynamic
 * one.  A *binding* is one active mapping host address:port → container
 * port, chosen when the container starts.
 *
 * Pure logic, no I/O (nd_published_done() only closes the sockets it holds).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

struct nd_diag;

#define ND_PORT_SPECS_MAX 65536

typedef struct nd_port_spec {
        uint8_t proto;            /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
        nd_addr host_ip;          /* family 0: every address of both families;
                                   * 0.0.0.0 / ::, every address of one */
        uint16_t host_lo, host_hi;/* 0, 0: dynamic; lo < hi: any free port of the range */
        uint16_t ctr;
} nd_port_spec;

typedef struct nd_port_binding {
        uint8_t proto;
        nd_addr host_ip;          /* family 0: every host address */
        uint16_t host_port, ctr_port;
} nd_port_binding;

const char *nd_proto_name(uint8_t proto);
int nd_proto_parse(const char *s, uint8_t *ret);

/* Parse one `-p` string, appending to *specs (realloc'd). */
int nd_port_spec_parse(const char *s, nd_port_spec **specs, size_t *n, struct nd_diag *d);
/* Canonical text of one spec, parseable by nd_port_spec_parse(). */
#define ND_PORT_SPEC_STRLEN 80
const char *nd_port_spec_fmt(const nd_port_spec *p, char buf[static ND_PORT_SPEC_STRLEN]);

/* family 0, 0.0.0.0 or :: */
bool nd_port_ip_unspecified(const nd_addr *a);
/* Do two host-side claims collide (same protocol and port, and the same
 * address or either one every address)? */
bool nd_port_binding_clash(const nd_port_binding *a, const nd_port_binding *b);

/* The ports published for one owner (a container, a Docker endpoint): the
 * bindings chosen, the sockets holding them (publish.c, hostport.h) and
 * its nftables elements (firewall.h). */
typedef struct nd_published {
        nd_port_binding *bindings;
        size_t n_bindings;
        int *fds;                 /* ND_HOSTPORT_FDS per binding; NULL: not held */
        struct nd_fw_owner *fw;   /* NULL: nothing programmed */
} nd_published;

/* Closes the sockets and frees the bindings (the nftables elements are the
 * firewall's: nd_publish_release() first). */
void nd_published_done(nd_published *p);
/* Does one of @p's bindings clash with @b? */
bool nd_published_clash(const nd_published *p, const nd_port_binding *b);
/* The bindings as a JSON array, and back (NULL or [] for none). */
json_t *nd_published_to_json(const nd_published *p);
int nd_published_from_json(const json_t *arr, nd_published *p, struct nd_diag *d);

json_t *nd_port_binding_to_json(const nd_port_binding *b);
int nd_port_binding_from_json(const json_t *j, nd_port_binding *ret, struct nd_diag *d);
