/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file docker-proto.h
 * The shapes of Docker's plugin protocol that docker-plugin.c reads and
 * writes: port maps, IP data, MACs, addresses in CIDR form, driver options.  Pure
 * translation, no I/O, so that what dockerd sends is tested without it.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ports.h"
#include "prefix.h"

struct nd_diag;

/* Options["com.docker.network.portmap"]: [{"Proto": 6|17|132, "Port",
 * "HostIP", "HostPort", "HostPortEnd"}, ...] -> one spec per entry
 * (HostPort 0: a dynamic port; HostPortEnd > HostPort: any free port of
 * the range).  NULL or null: none.  *@ret is malloc'd. */
int nd_docker_portmap_parse(const json_t *pm, nd_port_spec **ret, size_t *n, struct nd_diag *d);
/* The bindings in the same shape, for EndpointOperInfo. */
json_t *nd_docker_portmap_to_json(const nd_published *p);

/* IPv4Data/IPv6Data: [{"AddressSpace", "Pool", "Gateway": "a/len",
 * "AuxAddresses"}, ...] -> each entry's Pool and Gateway, borrowed from
 * @arr (NULL where missing or not a string).  Not an array: none.
 * *@ret is malloc'd (NULL when none); 0 or -ENOMEM. */
typedef struct nd_docker_ipdata {
        const char *pool, *gateway;
} nd_docker_ipdata;
int nd_docker_ipdata_parse(const json_t *arr, nd_docker_ipdata **ret, size_t *n);

/* "02:42:0a:01:02:03" (a unicast MAC); the same, formatted. */
int nd_docker_mac_parse(const char *s, uint8_t mac[6]);

/* "10.1.2.3/24", or a bare address (@plen then 0). */
int nd_docker_cidr_parse(const char *s, nd_addr *a, unsigned *plen);
const char *nd_docker_cidr_fmt(const nd_addr *a, unsigned plen, char buf[static ND_PREFIX_STRLEN]);

/* Driver options ("com.docker.network.generic": -o K=V) that mean
 * something to a netd bridge network, translated into netd's options in
 * @out.  Returns how many were not netd's (labels travel the same way);
 * the first of them in *@first_ignored. */
size_t nd_docker_driver_opts(const json_t *generic, json_t *out, const char **first_ignored);

/* In dockerd's GET /containers/json answer (an array of containers with
 * "Id", "Names" and "NetworkSettings.Networks.{net}.EndpointID"), or its
 * GET /containers/{id}/json answer (one such object with "Name", and with
 * the network's "Aliases", which the list leaves null), the container
 * holding endpoint @eid: its name (without the leading '/') in @name, its
 * id in @id (65 bytes, may be NULL), and its aliases on that network (at
 * most @max; dockerd's own short-id alias and the name itself skipped).
 * 0, -ENOENT (not there, yet), or -EINVAL (not such an answer). */
int nd_docker_endpoint_name(const char *body, size_t len, const char *eid, char *name, size_t size, char *id,
                            char (*aliases)[65], size_t max, size_t *n_aliases);
/* In the same answers, the label @key of the container holding endpoint
 * @eid ("Labels" in the list, "Config.Labels" in inspect) in @out.  0,
 * -ENOENT (no such container, or no such label), or -EINVAL (not such an
 * answer, a label that is not text or does not fit @size). */
int nd_docker_container_label(const char *body, size_t len, const char *eid, const char *key, char *out,
                              size_t size);
