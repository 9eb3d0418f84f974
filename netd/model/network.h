/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file network.h
 * The network object of the model: identity, driver, IPAM configuration,
 * options, and the address allocators of its subnets.
 *
 * A network's JSON form (nd_network_to_json) is both its store record and
 * the body of `GET /v1/networks/{id}`; nd_network_from_json() reads it
 * back with the same validation a client request gets, so a damaged store
 * record is refused with a message instead of crashing the daemon.
 *
 * Invariants of an nd_network: subnets canonical and pairwise disjoint,
 * none of IPv4 unless ipv4, none at all with ipam_none,
 * every subnet has a gateway inside it that is reserved in its allocator,
 * ip-ranges inside their subnet, auxiliary addresses inside their subnet,
 * distinct from each other and the gateway, and reserved too.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "nd-forward.h"
#include "prefix.h"

#define ND_ID_LEN 64
#define ND_NAME_MAX 64
#define ND_NETWORK_MAX_SUBNETS 4
#define ND_IPAM_MAX_AUX 32

typedef enum nd_driver {
        ND_DRIVER_BRIDGE,
        ND_DRIVER_OVERLAY,     /* global scope: shared through etcd, VXLAN/GRE */
        _ND_DRIVER_MAX,
        _ND_DRIVER_INVALID = -22,
} nd_driver;

const char *nd_driver_to_string(nd_driver d);
nd_driver nd_driver_from_string(const char *s);

/* An auxiliary address (Docker's --aux-address NAME=IP): reserved in its
 * subnet's allocator so that it is never handed out (a router, a host
 * outside netd's control). */
typedef struct nd_aux_addr {
        char name[ND_NAME_MAX + 1];
        nd_addr addr;
} nd_aux_addr;

typedef struct nd_ipam_config {
        nd_prefix subnet;
        nd_addr gateway;       /* family 0: not given */
        nd_prefix range;       /* range.addr.family 0: not given */
        nd_aux_addr aux[ND_IPAM_MAX_AUX];
        size_t n_aux;
} nd_ipam_config;

/* A validated request: syntax and internal consistency only. */
typedef struct nd_network_spec {
        char name[ND_NAME_MAX + 1];
        nd_driver driver;
        bool internal;
        bool ipv4;             /* EnableIPv4 (default true): false makes an IPv6-only network, or
                                * with ipam_none one without addresses */
        bool ipv6;
        bool ipam_none;        /* IPAM driver "none": no subnets, endpoints get no addresses */
        nd_ipam_config ipam[ND_NETWORK_MAX_SUBNETS];
        size_t n_ipam;
        unsigned mtu;          /* 0: default */
        json_t *options;       /* owned; string map */
        json_t *labels;        /* owned; string map */
} nd_network_spec;

struct nd_network {
        char id[ND_ID_LEN + 1];
        nd_network_spec spec;
        int64_t created_us;
        nd_subnet *alloc[ND_NETWORK_MAX_SUBNETS];
        bool committed;        /* false while its create is in flight */
        unsigned busy;         /* store operations in flight on it */
};

int nd_name_valid(const char *name);
int nd_network_spec_from_json(const json_t *j, nd_network_spec *ret, struct nd_diag *d);
void nd_network_spec_done(nd_network_spec *s);

/* Takes ownership of the references in @spec, which must be complete: every
 * subnet with a gateway. */
int nd_network_new(nd_network_spec *spec, const char *id, int64_t created_us, nd_network **ret,
                   struct nd_diag *d);
nd_network *nd_network_free(nd_network *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(nd_network *, nd_network_free);

json_t *nd_network_to_json(const nd_network *n);
int nd_network_from_json(const json_t *j, nd_network **ret, struct nd_diag *d);

/* Overlay networks are global (every host of the cluster has them). */
bool nd_network_is_global(const nd_network *n);
/* Option "vni" (set by netd when the network is created), 0: none. */
uint32_t nd_network_vni(const nd_network *n);
/* Option encap=gre (else VXLAN). */
bool nd_network_gre(const nd_network *n);
/* Option "metric": the metric of the default routes on this network's
 * endpoints, 0 when not given (the kernel's default). */
uint32_t nd_network_metric(const nd_network *n);
/* Whether the network's containers may reach each other: false with
 * option (com.docker.network.)bridge.enable_icc=false. */
bool nd_network_icc(const nd_network *n);

/* Addresses allocated in @n, gateways and auxiliary addresses not
 * counted. */
uint64_t nd_network_addresses_in_use(const nd_network *n);

/* The allocator whose subnet holds @a, or NULL. */
nd_subnet *nd_network_subnet_for(const nd_network *n, const nd_addr *a);
/* The first allocator of @family, or NULL. */
nd_subnet *nd_network_subnet_family(const nd_network *n, int family);

/* Docker's reference rules over @n objects: an exact name, else an exact
 * id, else a unique id prefix.  @get returns false for objects to skip
 * and otherwise gives name and id of object @i.  Returns the index,
 * -ENOENT, or -ENOTUNIQ when a prefix matches several. */
typedef bool (*nd_ref_get_fn)(const void *objs, size_t i, const char **name, const char **id);
int nd_ref_resolve(const char *ref, const void *objs, size_t n, nd_ref_get_fn get);

/* Random 64-hex id. */
int nd_id_new(char ret[static ND_ID_LEN + 1]);
bool nd_id_valid(const char *id);
/* A 64-hex id derived from @text: stable, for owners whose own id is not
 * one (a CNI attachment, a Docker endpoint) where a netd id is needed. */
void nd_id_derive(const char *text, char ret[static ND_ID_LEN + 1]);
