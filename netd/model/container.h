/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file container.h
 * A container of the bundled runtime and its endpoints (one per attached
 * network).  Like a network, its JSON form is both the store record and the
 * API's inspect body; nd_container_from_json() validates a record read back.
 *
 * Invariants: endpoint interface names are unique within the container
 * (eth0, eth1, ... in attach order); every endpoint address is allocated in
 * its network's IPAM and recorded under /netd/v1/ipam/ with this container
 * as owner.
 */
#pragma once

#include <ev.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nd-forward.h"
#include "network.h"
#include "ports.h"
#include "prefix.h"

#define ND_MAX_ENDPOINTS 8
#define ND_MAX_ALIASES 8
#define ND_MAX_CONTAINERS 4096

typedef enum nd_ct_status {
        ND_CT_CREATED,
        ND_CT_RUNNING,
        ND_CT_EXITED,
        _ND_CT_STATUS_MAX,
        _ND_CT_STATUS_INVALID = -22,
} nd_ct_status;

typedef enum nd_net_mode {
        ND_NET_MODE_BRIDGE,   /* named networks (possibly none attached yet) */
        ND_NET_MODE_NONE,     /* own namespace, loopback only */
        ND_NET_MODE_HOST,     /* the host's namespace */
        ND_NET_MODE_CONTAINER,/* another container's namespace */
        _ND_NET_MODE_MAX,
        _ND_NET_MODE_INVALID = -22,
} nd_net_mode;

typedef struct nd_endpoint {
        char net_id[ND_ID_LEN + 1];
        char net_name[ND_NAME_MAX + 1];
        char ifname[16];
        char host_ifname[16];
        uint8_t mac[6];
        nd_addr addr4, addr6;     /* family 0: none */
        unsigned plen4, plen6;
        nd_addr gw4, gw6;
        char aliases[ND_MAX_ALIASES][ND_NAME_MAX + 1];
        size_t n_aliases;
        int gw_priority;          /* --gw-priority: the highest carries the default route */
        bool default_route;       /* it carries the container's default route now */
        /* Given by the user (--ip, --ip6, --mac-address): kept while the
         * container is stopped.  A dynamic address goes back when it stops
         * and a new one comes at start (its MAC, unless given, with it). */
        bool static4, static6, mac_given;
} nd_endpoint;

/* The sandbox settings, Docker's HostConfig names (docs/security.md).
 * Parsed from the API request and from the record by the same function;
 * @caps is derived, never read back. */
typedef struct nd_ct_security {
        json_t *cap_add, *cap_drop; /* owned arrays of normalised names ("CAP_NET_ADMIN", "ALL"), NULL: none */
        json_t *seccomp;          /* owned: NULL = default profile, "unconfined", or a validated profile object */
        bool privileged, readonly_rootfs, no_new_privs;
        uint64_t caps;            /* the effective set */
} nd_ct_security;

/* Parse CapAdd, CapDrop, Privileged, SecurityOpt and ReadonlyRootfs of
 * @j (a request or a record's HostConfig) into @s, which the caller
 * releases with nd_ct_security_done() also on failure.  Every bad input
 * (an unknown capability, a malformed profile, an unknown option) gets a
 * message naming it. */
int nd_ct_security_from_json(const json_t *j, nd_ct_security *s, struct nd_diag *d);
/* HostConfig: the settings, SecurityOpt normalised, plus the effective
 * "Capabilities", "NoNewPrivileges" and "Seccomp" ("default",
 * "unconfined", "custom"). */
json_t *nd_ct_security_to_json(const nd_ct_security *s);
/* The fields of the monitor's config.json (runtime/rt-config.h) added to @cfg. */
int nd_ct_security_to_config(const nd_ct_security *s, json_t *cfg);
void nd_ct_security_done(nd_ct_security *s);

typedef struct nd_container {
        char id[ND_ID_LEN + 1];
        char name[ND_NAME_MAX + 1];
        char hostname[ND_NAME_MAX + 1];
        int64_t created_us;
        /* config */
        char *rootfs;             /* owned, shorter than PATH_MAX (nd_container_set_rootfs) */
        json_t *args;             /* owned array of strings */
        json_t *env;              /* owned array of "K=V" */
        long long memory, pids_limit;
        bool auto_remove;
        nd_net_mode mode;
        char mode_target[ND_ID_LEN + 1]; /* container id for ND_NET_MODE_CONTAINER */
        nd_port_spec *ports;      /* -p, one per container port */
        size_t n_ports;
        json_t *dns;              /* owned arrays of strings: --dns, --dns-search, */
        json_t *dns_search;       /*   --dns-option (NULL: none) */
        json_t *dns_options;
        json_t *links;            /* --link: [{"Name","Alias","IP"}], NULL: none */
        json_t *extra_hosts;      /* --add-host: ["NAME:IP"], IP may be "host-gateway"; NULL: none */
        json_t *exposed;          /* --expose and -p container ports: ["80/tcp"]; NULL: none */
        bool publish_all;         /* -P: @ports has the exposed ones too */
        char service[ND_NAME_MAX + 1]; /* the service it is a task of (nd_service_name_valid), "": none */
        bool managed;             /* a task netd runs for @service (core/replicas.c): the service
                                   * removes it, not `rm`; never set by a request */
        nd_ct_security sec;
        /* state */
        nd_ct_status status;
        pid_t pid, monitor_pid;
        int exit_code;
        int64_t started_us, finished_us;
        char error[256];
        nd_endpoint *eps;         /* owned, sized to what it held at most (nd_container_endpoint_room) */
        size_t n_eps, cap_eps;    /* n_eps <= ND_MAX_ENDPOINTS */
        nd_published pub;         /* bindings published while running (the
                                   * bindings are in the record) */

        /* runtime only, not serialised */
        nd_manager *manager;
        int report_fd, monitor_fd, pid_fd;
        ev_io report_io, monitor_io;
        ev_timer stop_timer;
        struct nd_ct_waiter *waiters; /* requests waiting for it to exit */
        bool removing;
        bool persisting;
        bool wiring;           /* its sandbox being made off the loop (ns-visit.h) */
        bool exit_persisting;  /* its exit being written: waiters answered once durable */
        struct nd_ct_release *release; /* dynamic addresses a stop gives back, not yet submitted */
        unsigned releasing;    /* such releases whose pairs or record are not done yet */
        struct nd_dns_sandbox *dns_sb; /* its resolver while it runs */
} nd_container;

const char *nd_ct_status_to_string(nd_ct_status s);
nd_ct_status nd_ct_status_from_string(const char *s);

nd_container *nd_container_new(void);
nd_container *nd_container_free(nd_container *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(nd_container *, nd_container_free);

json_t *nd_container_to_json(const nd_container *c);
int nd_container_from_json(const json_t *j, nd_container **ret, struct nd_diag *d);

nd_endpoint *nd_container_endpoint(nd_container *c, const char *net_id);
/* Room for one endpoint more at c->eps[c->n_eps], counted once the caller
 * increments n_eps.  The array grows by one, not by doubling: a container
 * holds at most ND_MAX_ENDPOINTS, and most hold one.  It may move, so a
 * pointer into it is stale after.  0, or -ENOMEM with the array kept. */
int nd_container_endpoint_room(nd_container *c);
/* The valid names of the JSON array @al (a sandbox's or a Docker
 * endpoint's record) appended to @aliases, at most ND_MAX_ALIASES in all;
 * anything else is skipped. */
void nd_aliases_from_json(const json_t *al, char aliases[][ND_NAME_MAX + 1], size_t *n);
/* Replace the root filesystem path with a copy of @path, cut at
 * PATH_MAX - 1 bytes as a fixed buffer did.  0, or -ENOMEM with the old
 * one kept. */
int nd_container_set_rootfs(nd_container *c, const char *path);
/* Docker's network inspect "Containers" map over @cts: container id ->
 * {Name, EndpointID, MacAddress, IPv4Address, IPv6Address} of those with
 * an endpoint on network @net_id (EndpointID: stable, derived from the
 * two ids).  A new reference, NULL when out of memory. */
json_t *nd_containers_network_map(nd_container *const *cts, size_t n, const char *net_id);
/* The namespace path of the container's sandbox (NULL buffer-safe). */
void nd_container_netns_path(const char *run_dir, const char *id, char *buf, size_t size);
