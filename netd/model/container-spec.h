/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file container-spec.h
 * A run or create request (POST /v1/containers, netctl run/create) parsed
 * into a spec, and the endpoint part of a request (an entry of its
 * "Networks", or a connect request).  Pure: no I/O, no manager.  What needs
 * the daemon's tables (the network and link targets, the container of a
 * container:NAME mode, the name's uniqueness, the root filesystem on disk,
 * host-gateway) is checked by the service that acts on the spec.
 *
 * Every bad input fails with a message naming it in @d.  Strings and
 * arrays in a spec are borrowed from the request, on which the spec holds
 * a reference until nd_container_spec_done().
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"

#define ND_CT_MAX_ARGS 256
#define ND_CT_MAX_ENV 256
#define ND_CT_MAX_LINKS 16
#define ND_CT_MAX_EXTRA_HOSTS 64
#define ND_CT_MAX_DNS 6

/* The endpoint settings of a request. */
typedef struct nd_endpoint_req {
        const char *network;      /* "Network" (name or id), NULL: not given */
        const char *ip4, *ip6;    /* as given; NULL: allocate one */
        nd_addr addr4, addr6;     /* parsed from them */
        bool has_mac;
        uint8_t mac[6];
        char aliases[ND_MAX_ALIASES][ND_NAME_MAX + 1];
        size_t n_aliases;
        int gw_priority;
} nd_endpoint_req;

/* Parse @req (NULL: all defaults) into @ret.  0 or -EINVAL with @d filled. */
int nd_endpoint_req_parse(const json_t *req, nd_endpoint_req *ret, struct nd_diag *d);

/* --link NAME[:ALIAS] */
typedef struct nd_link_req {
        char name[ND_NAME_MAX + 1];
        char alias[ND_NAME_MAX + 1];
} nd_link_req;

typedef struct nd_container_spec {
        json_t *req;              /* a reference on the request */
        const char *name;         /* NULL or "": generated from the id */
        const char *hostname;     /* NULL or "": the owner's or the id's */
        const char *rootfs;       /* NULL or "": the daemon's default (absolute when given) */
        const char *mode_name;    /* "NetworkMode" as given, NULL */
        nd_net_mode mode;         /* as asked: ND_NET_MODE_CONTAINER names its target */
        const char *mode_target;  /* container:NAME -> NAME */
        bool auto_remove;
        nd_ct_security sec;       /* owned */
        const json_t *args;       /* "Cmd": a non-empty array of strings */
        const json_t *env;        /* "Env": "KEY=VALUE" strings, NULL: none */
        long long memory, pids_limit;
        nd_endpoint_req nets[ND_MAX_ENDPOINTS];
        size_t n_nets;
        json_t *dns, *dns_search, *dns_options; /* non-empty arrays, NULL: none */
        nd_link_req links[ND_CT_MAX_LINKS];
        size_t n_links;
        json_t *extra_hosts;      /* non-empty array of "NAME:IP", NULL: none */
        nd_port_spec *ports;      /* owned; with publish_all also one dynamic spec per
                                   * exposed port that no "Ports" entry publishes */
        size_t n_ports;
        json_t *exposed;          /* "ExposedPorts" and the published container ports,
                                   * one "PORT/PROTO" each, in order, NULL: none */
        bool publish_all;         /* "PublishAllPorts" (-P) */
        const char *service;      /* "Service": the service it is a task of (a valid
                                   * service name, not checked to exist), NULL: none */
} nd_container_spec;

/* Parse the request @req into @ret, which the caller releases with
 * nd_container_spec_done() also on failure.  0 or -errno with @d filled. */
int nd_container_spec_parse(const json_t *req, nd_container_spec *ret, struct nd_diag *d);
void nd_container_spec_done(nd_container_spec *s);

/* One --add-host NAME:IP (the IP may be in brackets, or "host-gateway")
 * into @name and the canonical @ip; *@ret_host_gateway is true (and @ip
 * empty) for host-gateway, which the caller resolves.  0 or -EINVAL with
 * @d filled. */
int nd_extra_host_parse(const char *s, char name[static ND_NAME_MAX + 1], char ip[static ND_ADDR_STRLEN],
                        bool *ret_host_gateway, struct nd_diag *d);
