/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file docker-plugin.h
 * Docker's network and IPAM plugin protocol (libnetwork's "remote"
 * driver), served on its own socket (--docker-plugin-socket), so that
 * dockerd runs its containers on netd networks:
 *   docker network create -d netd --ipam-driver netd ...
 * Protocol and state: docker-plugin.c and docs/docker.md.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "nd-forward.h"
#include "ports.h"

struct nd_network_spec;
typedef struct nd_http_request nd_http_request;

/* nd_http_handler_fn; @userdata is the nd_manager. */
void nd_docker_plugin_handle(nd_http_request *req, void *userdata);

/* Read pools and endpoints back at start-up (after the networks and
 * address records), then @done; forget them (not undo) at exit. */
int nd_docker_plugin_load(nd_manager *m, void (*done)(nd_manager *m));
void nd_docker_plugin_free(nd_manager *m);

/* {"Enabled", "Pools": [...], "Endpoints": [...]} for GET /v1/docker. */
json_t *nd_docker_plugin_status(nd_manager *m);
/* Hold and program the published ports of endpoints again. */
void nd_docker_plugin_ports_restore(nd_manager *m);
/* Which endpoint (other than @self) publishes a port clashing with @b:
 * its description in @buf, or NULL. */
const char *nd_docker_plugin_port_holder(nd_manager *m, const nd_published *self, const nd_port_binding *b,
                                         char *buf, size_t size);

/* Subnets that pools hold for networks not created yet: the manager
 * avoids them when it picks a subnet and refuses networks overlapping
 * them (except the network @spec created for that very pool). */
size_t nd_docker_plugin_reserved(nd_manager *m, nd_prefix *buf, size_t max); /* @buf NULL: count */
/* The pool overlapping @p that @spec may not take, or NULL; its subnet in
 * @ret_with. */
const char *nd_docker_plugin_pool_clash(nd_manager *m, const struct nd_network_spec *spec, const nd_prefix *p,
                                        nd_prefix *ret_with);
