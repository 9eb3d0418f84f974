/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file docker-plugin.h
 * Docker's network and IPAM plugin protocol (libnetwork's "remote"
 * driver), served on its own socket (--docker-plugin-socket), so that
 * dockerd runs its containers on netd networks:
 *   docker network create -d netd --ipam-driver netd ...
 * A front end only: the pools, networks and endpoints behind it are
 * core/docker.h's.  Protocol: docker-plugin.c and docs/docker.md.
 */
#pragma once

#include "nd-forward.h"

/* nd_http_handler_fn; @userdata is the nd_manager. */
void nd_docker_plugin_handle(nd_http_request *req, void *userdata);
