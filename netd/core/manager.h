/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file manager.h
 * The core's services, for the front ends (api/) and the composition root
 * (daemon/): the network table and IPAM, containers, CNI sandboxes, and
 * the status of the services below (firewall, DNS, cluster).  It runs on
 * the loop it is given and owns the store, the address pools, the
 * firewall, the embedded DNS and the cluster membership.
 *
 * State flows one way: an API request is validated, applied to memory as a
 * reservation (so concurrent requests see it and conflict), written to the
 * store, and answered when the store confirms.  If the write fails the
 * reservation is undone: memory never holds what the store does not.
 *
 * Asynchronous operations return <0 with @d filled when they fail at once,
 * or 0 and later call their callback exactly once.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "nd-forward.h"
#include <jansson.h>

#include "prefix.h"

#define ND_MAX_NETWORKS 1024

typedef struct nd_manager_config {
        const char *state_dir;
        const char *run_dir;
        const char *socket_path;
        const char *store_url;
        const char *const *pools;  /* NULL-terminated pool specs, or NULL: defaults */
        size_t max_body;
        const char *monitor_path;  /* NULL: next to the netd binary */
        const char *default_rootfs;/* NULL: STATE_DIR/rootfs/default */
        bool no_firewall;          /* leave nftables and forwarding alone */
        bool no_sock_lb;           /* VIPs through nftables' DNAT only (--sock-lb off) */
        uint16_t port_lo, port_hi; /* dynamic host ports; 0: 49153-60999 */
        bool no_dns;               /* no embedded DNS server */
        bool no_dns_realtime;      /* its thread never at real-time priority (--dns-realtime off) */
        const char *resolv_conf;   /* upstreams; NULL: /etc/resolv.conf */
        const char *const *dns_servers; /* --dns; NULL-terminated, overrides resolv_conf */
        unsigned dns_ttl;          /* 0: ND_DNS_DEFAULT_TTL */
        unsigned dns_forward_max, dns_forward_max_sandbox; /* 0: the defaults of dns/server.h */
        const char *host_dns;      /* --host-dns IPV4[:PORT]: a resolver for the host; NULL: none */
        /* multi-host: store_url "etcd://..." keeps host-private state in
         * the local store and shares the rest through etcd */
        const char *node_name;     /* NULL: the host name */
        const char *advertise;     /* IPv4 address or interface */
        unsigned node_ttl;         /* seconds; 0: 10 */
        double node_grace;         /* seconds a dead node's blocks are kept; 0: 3600 */
        uint16_t vxlan_port;       /* 0: 4789 */
        const char *docker_socket; /* Docker's network API on this socket; NULL: off */
        const char *plugin_socket; /* Docker's plugin protocol on this socket; NULL: off */
        const char *docker_host;   /* dockerd's API socket (names of its containers); NULL: /run/docker.sock */
        const char *metrics_addr;  /* HOST:PORT for Prometheus on TCP; NULL: /metrics on the API socket only */
        unsigned exit_when_idle;   /* the daemon's: exit after this many seconds with nothing wired; 0: never */
} nd_manager_config;

typedef void (*nd_manager_net_fn)(void *userdata, int r, nd_network *n, const nd_diag *d);
typedef void (*nd_manager_addr_fn)(void *userdata, int r, const nd_addr *a, const nd_diag *d);

struct nd_expo;

/* On @loop (borrowed).  The config's socket and metrics fields are the
 * daemon's; the core reads only plugin_socket (for its status). */
int nd_manager_new(const nd_manager_config *cfg, struct ev_loop *loop, nd_manager **ret);
nd_manager *nd_manager_free(nd_manager *m);
/* Open the store, join the cluster, load state and repair the kernel's;
 * then @ready(userdata, 0) on the loop, or @ready(userdata, -errno) if
 * loading fails.  <0: failed at once (nothing will be called). */
int nd_manager_start(nd_manager *m, void (*ready)(void *userdata, int r), void *userdata);
/* The front ends are listening: announce this host to the cluster. */
void nd_manager_ready(nd_manager *m);
struct ev_loop *nd_manager_loop(nd_manager *m);

/* Lookup by exact name, exact id, then unique id prefix.  -ENOENT, or
 * -ENOTUNIQ when a prefix matches several.  Borrowed pointer. */
int nd_manager_network_find(nd_manager *m, const char *ref, nd_network **ret);
/* Committed networks, in creation order; borrowed, valid until the next
 * loop iteration. */
size_t nd_manager_networks(nd_manager *m, nd_network ***ret);
/* Takes ownership of @spec's references. */
int nd_manager_network_create(nd_manager *m, nd_network_spec *spec, nd_manager_net_fn cb,
                              void *userdata, nd_diag *d);
int nd_manager_network_remove(nd_manager *m, nd_network *n, nd_manager_net_fn cb, void *userdata,
                              nd_diag *d);

/* @want NULL: next free address of @family; else exactly @want. */
int nd_manager_address_request(nd_manager *m, nd_network *n, int family, const nd_addr *want,
                               const char *owner, nd_manager_addr_fn cb, void *userdata, nd_diag *d);
int nd_manager_address_release(nd_manager *m, nd_network *n, const nd_addr *a, nd_manager_addr_fn cb,
                               void *userdata, nd_diag *d);
/* The store key prefix of @n's address records ("/netd/v1/ipam/<id>/"). */
void nd_manager_address_prefix(const nd_network *n, char *buf, size_t size);
nd_store *nd_manager_store(nd_manager *m);
/* {"Enabled", "Table", "Elements", "Repairs", ...} */
json_t *nd_manager_firewall_status(nd_manager *m);
/* {"Enabled", "Node", ...}, the nodes, and an overlay network's state. */
json_t *nd_manager_cluster_status(nd_manager *m);
json_t *nd_manager_cluster_nodes(nd_manager *m);
/* The core's metric families (docs/observability.md) into @e. */
void nd_manager_metrics_write(nd_manager *m, struct nd_expo *e);
/* An attach (veth, addresses, routes) took @seconds: @kind 0 a netd
 * container, 1 a CNI sandbox, 2 a Docker endpoint. */
void nd_manager_attach_observe(nd_manager *m, int kind, double seconds);
/* A detach's veth pair was deleted @seconds after it was asked for (the
 * reaper's queue included): @kind as above. */
void nd_manager_detach_observe(nd_manager *m, int kind, double seconds);

/* GET /v1/topology (docs/api.md): hosts, networks, endpoints of every
 * owner (this host's and the overlay endpoints of the others) and
 * services, from this loop iteration's tables.  Owned by the caller;
 * NULL: no memory. */
json_t *nd_manager_topology(nd_manager *m);

/* The event bus (events.h), for GET /v1/events; borrowed. */
struct nd_events *nd_manager_events(nd_manager *m);

/* --host-dns's argument IPV4[:PORT] (port 53 when left out); -EINVAL
 * when it is not one. */
int nd_manager_host_dns_parse(const char *s, nd_addr *ret_addr, uint16_t *ret_port);
/* The embedded DNS's forwarding counters (dns/server.h), or NULL. */
json_t *nd_manager_dns_forward_status(nd_manager *m);
/* Removes a cluster node that is down (cluster.h: nd_cluster_node_remove). */
int nd_manager_node_remove(nd_manager *m, const char *ref, void (*cb)(void *u, int r, const nd_diag *d),
                           void *userdata, nd_diag *d);
json_t *nd_manager_overlay_status(nd_manager *m, const nd_network *n);
/* The embedded DNS of network @n: counters, TTL, upstreams. */
json_t *nd_manager_dns_status(nd_manager *m, const nd_network *n);

/* ---- external sandboxes (sandboxes.c): namespaces of other runtimes
 * (the CNI plugin), wired to a network ---- */
typedef struct nd_sbx nd_sbx;
typedef void (*nd_manager_sbx_fn)(void *userdata, int r, const nd_sbx *s, const nd_diag *d);
/* Body: {"ContainerID", "IfName", "Netns", "Network", "Name", "Aliases",
 * "IPv4Address", "IPv6Address", "MacAddress"} (docs/api.md). */
int nd_manager_sandbox_add(nd_manager *m, const json_t *req, nd_manager_sbx_fn cb, void *userdata, nd_diag *d);
int nd_manager_sandbox_find(nd_manager *m, const char *cid, const char *ifname, nd_sbx **ret);
int nd_manager_sandbox_del(nd_manager *m, nd_sbx *s, nd_manager_sbx_fn cb, void *userdata, nd_diag *d);
/* Is it still wired?  0, or <0 with @d saying what is missing. */
int nd_manager_sandbox_check(nd_manager *m, const nd_sbx *s, nd_diag *d);
size_t nd_manager_sandboxes(nd_manager *m, nd_sbx ***ret);
typedef void (*nd_manager_count_fn)(void *userdata, int r, size_t count, const nd_diag *d);
/* Body {"DnsServers": [IP, ...]}: the sandboxes on @n that forward to
 * their network's DNS servers (not "DnsServersOwn") take these (sandbox-dns.c);
 * @cb with how many did, once their records are written. */
int nd_manager_network_dns_set(nd_manager *m, nd_network *n, const json_t *req, nd_manager_count_fn cb,
                               void *userdata, nd_diag *d);
json_t *nd_sandbox_to_json(const nd_sbx *s);
/* The path of its namespace (borrowed). */
const char *nd_sandbox_netns(const nd_sbx *s);

/* ---- containers (containers.c, container-*.c) ---- */
typedef struct nd_container nd_container;
typedef void (*nd_manager_ct_fn)(void *userdata, int r, nd_container *c, const nd_diag *d);

int nd_manager_container_find(nd_manager *m, const char *ref, nd_container **ret);
size_t nd_manager_containers(nd_manager *m, nd_container ***ret);
/* Create (sandbox wired, record written) and, with @start, start from an
 * API request body (see docs/api.md). */
int nd_manager_container_run(nd_manager *m, const json_t *req, bool start, nd_manager_ct_fn cb, void *userdata,
                             nd_diag *d);
/* Start a created or exited container. */
int nd_manager_container_start(nd_manager *m, nd_container *c, nd_manager_ct_fn cb, void *userdata, nd_diag *d);
int nd_manager_container_stop(nd_manager *m, nd_container *c, double timeout, nd_manager_ct_fn cb, void *userdata,
                              nd_diag *d);
/* Remove @c: stopped first with ND_CT_RM_FORCE (SIGKILL, and its exit
 * recorded).  @cb runs once it is out of the table and its removal is
 * durable; its sandbox (veths, namespace), cgroups and bundle then go off
 * the loop, and until they are gone its name, addresses and host-side
 * interface names stay held: a run or connect that asks for one waits.
 * With ND_CT_RM_WAIT @cb waits for that teardown too (Docker's order). */
enum {
        ND_CT_RM_FORCE = 1 << 0,
        ND_CT_RM_WAIT = 1 << 1,
};
int nd_manager_container_remove(nd_manager *m, nd_container *c, unsigned flags, nd_manager_ct_fn cb, void *userdata,
                                nd_diag *d);
int nd_manager_container_connect(nd_manager *m, nd_network *n, nd_container *c, const json_t *req,
                                 nd_manager_ct_fn cb, void *userdata, nd_diag *d);
int nd_manager_container_disconnect(nd_manager *m, nd_network *n, nd_container *c, nd_manager_ct_fn cb,
                                    void *userdata, nd_diag *d);
/* Paths the CLI needs: the default rootfs, a container's log. */
const char *nd_manager_default_rootfs(nd_manager *m);
void nd_manager_container_log_path(nd_manager *m, const nd_container *c, char *buf, size_t size);
