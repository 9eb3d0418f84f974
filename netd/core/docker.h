/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file docker.h
 * Docker's networks on netd: the state behind Docker's network and IPAM
 * plugin protocol (api/docker-plugin.c translates the protocol; this
 * module acts).  It owns:
 *  - IPAM pools, /netd/v1/docker/pools/<PoolID>: a subnet reserved for a
 *    Docker network not made yet (netd's other networks avoid it, through
 *    the prefix owner registry), or an existing netd network's subnet;
 *  - bindings, /netd/v1/docker/networks/<NetworkID>: a Docker network
 *    carried by an existing netd network;
 *  - endpoints, /netd/v1/docker/endpoints/<EndpointID>: addresses, a veth
 *    pair in netd's namespace once joined, published ports (through the
 *    port owner registry), and the container's name learnt from dockerd.
 *
 * Every change is applied in memory as a reservation, written to the
 * store, and reported when the store confirms (undone if it fails).  A
 * request on a pool or endpoint while another is in flight on it is
 * refused with -EBUSY (dockerd serialises them anyway).
 *
 * The operations report through @done exactly once, possibly before they
 * return: with r < 0 and a message in @d (or NULL: strerror), or with 0
 * and @res (never NULL then).  Strings are borrowed for the call only.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker-proto.h"
#include "nd-forward.h"
#include "ports.h"
#include "prefix.h"

#define ND_DOCKER_SPACE_LOCAL "netd-local"
#define ND_DOCKER_SPACE_GLOBAL "netd-global"
#define ND_DOCKER_OPT_NETWORK "netd.network" /* --ipam-opt / -o: use an existing netd network */
#define ND_DOCKER_POOL_ID_LEN 19             /* "np-" + 16 hex */

/* What a successful operation reports (fields of other operations zero). */
typedef struct nd_docker_result {
        /* pool_request */
        char pool_id[ND_DOCKER_POOL_ID_LEN + 1];
        nd_prefix pool;
        /* address_request: the address; endpoint_create: the IPv4 address
         * chosen for the endpoint (family 0: Docker gave one, or none) */
        nd_addr addr;
        unsigned plen;
        /* endpoint_create: the MAC chosen (Docker gave none) */
        bool mac_chosen;
        uint8_t mac[6];
        /* endpoint_join: the interface to move, the gateways ("": none) */
        char peer_if[16];
        char gw4[ND_ADDR_STRLEN], gw6[ND_ADDR_STRLEN];
} nd_docker_result;

typedef void (*nd_docker_done_fn)(void *userdata, int r, const nd_diag *d, const nd_docker_result *res);

/* RequestPool: @network (--ipam-opt netd.network, or NULL), @pool and
 * @sub ("" or NULL: none) as Docker sent them. */
typedef struct nd_docker_pool_req {
        const char *network, *pool, *sub;
        bool v6;
} nd_docker_pool_req;

/* CreateNetwork: Docker's network @id with its pools; @network is
 * -o netd.network (or NULL); @generic the -o options map. */
typedef struct nd_docker_net_req {
        const char *id, *network;
        const json_t *generic;
        bool internal;
        const nd_docker_ipdata *v4, *v6;
        size_t n_v4, n_v6;
} nd_docker_net_req;

/* CreateEndpoint: addresses "a/len" and MAC as Docker gave them, or NULL. */
typedef struct nd_docker_ep_req {
        const char *id, *network, *address, *address6, *mac;
} nd_docker_ep_req;

/* EndpointOperInfo: borrowed, valid until the loop runs again. */
typedef struct nd_docker_ep_info {
        const char *host_if, *net_id;
        uint8_t mac[6];
        const nd_published *pub;
} nd_docker_ep_info;

void nd_docker_pool_request(nd_manager *m, const nd_docker_pool_req *rq, nd_docker_done_fn done, void *userdata);
void nd_docker_pool_release(nd_manager *m, const char *pool_id, nd_docker_done_fn done, void *userdata);
/* @address "a/len" or NULL; @gateway: the network's gateway is asked for. */
void nd_docker_address_request(nd_manager *m, const char *pool_id, const char *address, bool gateway,
                               nd_docker_done_fn done, void *userdata);
void nd_docker_address_release(nd_manager *m, const char *pool_id, const char *address, nd_docker_done_fn done,
                               void *userdata);

void nd_docker_network_create(nd_manager *m, const nd_docker_net_req *rq, nd_docker_done_fn done, void *userdata);
void nd_docker_network_delete(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata);

void nd_docker_endpoint_create(nd_manager *m, const nd_docker_ep_req *rq, nd_docker_done_fn done, void *userdata);
void nd_docker_endpoint_delete(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata);
/* 0, or -ENOENT. */
int nd_docker_endpoint_info(nd_manager *m, const char *id, nd_docker_ep_info *ret);
void nd_docker_endpoint_join(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata);
void nd_docker_endpoint_leave(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata);
/* Whether the endpoint takes a request now: 0, -ENOENT or -EBUSY (@d). */
int nd_docker_endpoint_ready(nd_manager *m, const char *id, nd_diag *d);
/* ProgramExternalConnectivity: publish @specs (replacing what it had). */
void nd_docker_endpoint_publish(nd_manager *m, const char *id, const nd_port_spec *specs, size_t n_specs,
                                nd_docker_done_fn done, void *userdata);
void nd_docker_endpoint_unpublish(nd_manager *m, const char *id, nd_docker_done_fn done, void *userdata);

/* Read pools, bindings and endpoints back at start-up (after the networks
 * and address records) and register as an owner of ports and prefixes,
 * then @done; forget them (not undo) at exit. */
int nd_docker_load(nd_manager *m, void (*done)(nd_manager *m));
void nd_docker_free(nd_manager *m);

/* {"Enabled", "Socket", "Networks", "Pools", "Endpoints"} for GET /v1/docker. */
json_t *nd_docker_status(nd_manager *m);
