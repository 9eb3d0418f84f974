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
