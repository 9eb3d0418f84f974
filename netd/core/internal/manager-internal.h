/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file manager-internal.h
 * The core's state, shared by its parts (manager.c: networks and IPAM;
 * containers, sandboxes, Docker bindings, publish, resolver).  Private to
 * core/: the library does not export this folder, so front ends and the
 * daemon see only manager.h.
 */
#pragma once

#include <errno.h>
#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "keys.h"
#include "manager.h"
#include "services.h"

#define OWNER_MAX 256

/* Owners of published ports register with publish.c; it asks them who
 * holds a port and has them re-hold their ports after a restart. */
typedef struct nd_port_owner_ops {
        /* Which of the owner's objects (other than @self) publishes a port
         * clashing with @b: its description in @buf, or NULL. */
        const char *(*holder)(void *userdata, const nd_published *self, const nd_port_binding *b, char *buf,
                              size_t size);
        /* Hold and program its published ports again (start-up). */
        void (*restore)(void *userdata);
} nd_port_owner_ops;

/* Holders of address space outside the network table (Docker's IPAM
 * pools) register with the network table, which avoids and refuses
 * their prefixes. */
typedef struct nd_prefix_owner_ops {
        /* The prefixes held for networks not made yet (@buf NULL: count). */
        size_t (*reserved)(void *userdata, nd_prefix *buf, size_t max);
        /* The holder overlapping @p that @spec may not take, or NULL; its
         * prefix in @ret_with. */
        const char *(*clash)(void *userdata, const nd_network_spec *spec, const nd_prefix *p, nd_prefix *ret_with);
} nd_prefix_owner_ops;

#define ND_OWNERS_MAX 8
struct nd_owner_slot {
        const void *ops;
        void *userdata;
};

/* Register (@ops, @userdata) in a registry of ND_OWNERS_MAX slots: 1,
 * 0 if it was there, -ENOSPC when full. */
static inline int nd_owner_slot_add(struct nd_owner_slot *slots, size_t *n, const void *ops, void *userdata) {
        for (size_t i = 0; i < *n; i++)
                if (slots[i].ops == ops && slots[i].userdata == userdata)
                        return 0;
        if (*n >= ND_OWNERS_MAX)
                return -ENOSPC;
        slots[(*n)++] = (struct nd_owner_slot) { ops, userdata };
        return 1;
}

struct net_slot {
        nd_network *net;
        struct nd_fw_owner *fw;
        bool removing;
};

struct nd_manager {
        struct ev_loop *loop;
        char *state_dir, *run_dir, *store_url;
        char **pool_specs;

        nd_store *store;           /* host-private state (local) */
        struct nd_cluster *cluster;/* shared state (etcd), NULL: single host */
        char *cluster_url, *node_name, *advertise;
        unsigned node_ttl;
        double node_grace;
        uint16_t vxlan_port;
        nd_pool *pools;
        struct nl_sock *nl;
        struct nd_hist *attach_lat[3]; /* attach latency by owner kind */
        struct nd_hist *detach_lat[3]; /* detach latency (the pair's delete) by owner kind */
        char *plugin_socket;         /* --docker-plugin-socket, for the status */
        char *docker_host;           /* dockerd's API socket, for container names */
        struct nd_dplug *dplug;      /* Docker's plugins (core/docker.c) */
        const struct nd_ep_kernel_ops *ep_kernel; /* NULL: the real kernel (endpoint.h) */
        struct nd_reaper *reaper;    /* link deletes off the loop (link-reaper.h) */
        /* namespace visits off the loop (ns-visit.c): a second instance
         * of the reaper's thread that only runs work, with its own
         * netlink socket in netd's namespace; NULL: on the loop */
        struct nd_reaper *worker;
        struct nl_sock *wnl;
        struct nd_fw *fw;          /* NULL: no nftables (or --firewall=off) */
        struct nd_socklb *socklb;  /* NULL: VIPs through nftables only (service-socklb.c) */
        bool no_socklb;            /* --sock-lb off */
        struct nd_events *events;  /* the event bus (events.h) */
        struct nd_dns *dns;        /* NULL: no embedded DNS (--dns-server off) */
        char *resolv_conf;
        nd_addr dns_servers[4];
        size_t n_dns_servers;
        uint32_t dns_ttl;
        unsigned dns_forward_max, dns_forward_max_sandbox;
        bool dns_off;     /* --dns-server off */
        bool dns_rt_off;  /* --dns-realtime off */
        char *host_dns_addr;                /* --host-dns IPV4[:PORT], NULL: off */
        struct nd_dns_sandbox *host_dns;    /* its listeners */
        bool firewall;
        uint16_t port_lo, port_hi, port_next; /* dynamic host ports */
        size_t n_published;  /* bindings of every nd_published with nftables elements (publish.c) */
        struct nd_owner_slot port_owners[ND_OWNERS_MAX], prefix_owners[ND_OWNERS_MAX];
        size_t n_port_owners, n_prefix_owners;

        struct net_slot *nets;
        size_t n_nets, cap_nets;
        nd_network **view;

        struct nd_sbx **sbxs;      /* external sandboxes (sandboxes.c) */
        size_t n_sbxs, cap_sbxs;
        void (*sbx_done)(nd_manager *m);

        nd_container **cts;
        size_t n_cts, cap_cts;
        struct nd_ct_going *going; /* removed, their teardown still running (container-remove.c) */

        struct nd_svc **svcs;      /* services (services.c) */
        size_t n_svcs, cap_svcs;
        struct nd_svc_task *tasks; /* every service's tasks, local and remote */
        size_t n_tasks, cap_tasks;
        struct nd_svc_lb *svc_lbs; /* this host's SNAT address per overlay network */
        size_t n_svc_lbs, cap_svc_lbs;
        struct nd_fw_owner *svc_shared_fw; /* remote backends and SNAT addresses */
        bool svcs_ready;           /* services restored after start-up */
        struct nd_svc_pub *svc_pubs; /* services' held host ports (service-ports.c) */
        size_t n_svc_pubs, cap_svc_pubs;
        struct nd_replicas *replicas; /* tasks netd runs for services (replicas.c), NULL until loaded */
        struct nd_health **checks; /* health checks of local tasks (health.c) */
        size_t n_checks, cap_checks;
        char *socket_path;         /* the API's, for the checks' netctl */
        char *monitor_path, *default_rootfs, *netns_dir;

        void (*ready)(void *userdata, int r); /* nd_manager_start's */
        void *ready_userdata;
        bool started;
};

int64_t now_us(void);
/* A free IPv4 subnet from the address pools (avoiding networks, Docker
 * pools and the host's routes); the network or pool @p overlaps ("network
 * 'x'"), with its subnet in @ret_with, or NULL. */
int nd_manager_subnet_pick(nd_manager *m, nd_prefix *ret, nd_diag *d);
const char *nd_manager_subnet_overlap(nd_manager *m, const nd_prefix *p, nd_prefix *ret_with);
/* A network that exists elsewhere (an overlay network from the cluster):
 * its bridge, firewall elements and a slot in the table.  Takes @n (freed
 * on failure). */
int nd_manager_net_adopt(nd_manager *m, nd_network *n);
/* Drops it again: bridge, elements, slot; frees @n. */
void nd_manager_net_forget(nd_manager *m, nd_network *n);
void addr_key(const nd_network *n, const nd_addr *a, char *buf, size_t size);
struct nd_store_txn_builder;
/* The IPAM records of @a4 and @a6 (NULL or family 0: none) on @n into @t:
 * put with @value, or deleted (@value NULL). */
void addr_records(struct nd_store_txn_builder *t, const nd_network *n, const nd_addr *a4, const nd_addr *a6,
                  const char *value);
int nd_manager_containers_load(nd_manager *m, void (*done)(nd_manager *m));
void nd_manager_containers_free(nd_manager *m);
void nd_manager_bridges_reconcile(nd_manager *m);
/* Addresses on network @net_id held by sandboxes whose DEL was answered
 * and whose veth is still on the reaper (sandboxes.c): they give them
 * back only while the network exists. */
uint64_t nd_manager_sandboxes_going_addrs(nd_manager *m, const char *net_id);
/* Bridges of removed networks that a stopped netd left retired (down,
 * renamed: bridge.h) go, off the loop. */
void nd_manager_retired_bridges_sweep(nd_manager *m);
/* Published ports (publish.c): choose, hold and program @c's ports
 * (replacing what it had); release them; follow endpoint changes; and at
 * start-up re-hold the ports of running containers. */
int nd_ports_publish(nd_manager *m, nd_container *c, nd_diag *d);
/* The same for any owner (@what names it in messages and logs): choose and
 * (with @hold) hold host ports for @specs, replacing what @p had, and
 * program DNAT to @a4/@a6; reprogram after an address change; release;
 * re-hold after a restart.  Without @hold the ports are only probed free:
 * for runtimes that hold them themselves (Podman binds a CNI pod's host
 * ports after ADD). */
int nd_publish(nd_manager *m, nd_published *p, const char *what, const nd_port_spec *specs, size_t n_specs,
               const nd_addr *a4, const nd_addr *a6, bool hold, nd_diag *d);
int nd_publish_program(nd_manager *m, nd_published *p, const char *what, const nd_addr *a4, const nd_addr *a6);
void nd_publish_release(nd_manager *m, nd_published *p);
void nd_publish_restore(nd_manager *m, nd_published *p, const char *what, const nd_addr *a4, const nd_addr *a6,
                        bool hold);
void nd_ports_release(nd_manager *m, nd_container *c);
void nd_ports_refresh(nd_manager *m, nd_container *c);
void nd_manager_ports_restore(nd_manager *m);
/* Registries: an owner kind registers once, at load. */
/* Containers as an owner of published ports (publish.c). */
int nd_ports_register(nd_manager *m);
int nd_publish_owner_add(nd_manager *m, const nd_port_owner_ops *ops, void *userdata);
/* Who other than @self publishes a port clashing with @b, asking every
 * registered owner in turn: its description in @buf ("container 'x'"),
 * or NULL: nobody. */
const char *nd_publish_holder(nd_manager *m, const nd_published *self, const nd_port_binding *b, char *buf,
                              size_t size);
int nd_manager_prefix_owner_add(nd_manager *m, const nd_prefix_owner_ops *ops, void *userdata);
/* External sandboxes (sandboxes.c): read back at start-up, then @done;
 * forgotten (not undone) at exit. */
int nd_manager_sandboxes_load(nd_manager *m, void (*done)(nd_manager *m));
void nd_manager_sandboxes_free(nd_manager *m);
/* The embedded DNS for a container (resolver.c): a resolver in its
 * sandbox and its names while it runs; resolv.conf's text (malloc'd). */
int nd_resolver_attach(nd_manager *m, nd_container *c, nd_diag *d);
void nd_resolver_detach(nd_manager *m, nd_container *c);
void nd_resolver_refresh(nd_manager *m, nd_container *c);
char *nd_resolver_conf(nd_manager *m, const nd_container *c);
uint32_t nd_resolver_ttl(nd_manager *m, const nd_network *n);
/* A resolver in the namespace @ns_fd (borrowed) of a container or an
 * external sandbox: listeners at 127.0.0.11 on the ports its redirect
 * table already names (netd restarted) or on new ones, and the table
 * (nft-dns.h) set to them. */
int nd_resolver_open(nd_manager *m, int ns_fd, struct nd_dns_sandbox **ret);
struct nd_nft;
/* Close a sandbox's netfilter socket (nft-dns.h) off the loop: after a
 * commit the close waits for an RCU grace period.  NULL: nothing. */
void nd_manager_nft_release(nd_manager *m, struct nd_nft *n);
/* The host's resolver (--host-dns): opened at start-up (an error is
 * logged and fatal), and told the networks whenever they change. */
int nd_resolver_host_open(nd_manager *m);
void nd_resolver_host_nets(nd_manager *m);

/* Services (services.c): read back at start-up, then @done; their VIPs
 * put back on the bridges and their elements programmed (restore, once
 * the bridges are reconciled); forgotten at exit. */
int nd_services_load(nd_manager *m, void (*done)(nd_manager *m));
void nd_services_restore(nd_manager *m);
void nd_services_free(nd_manager *m);
/* The name of a service on @n, or NULL. */
const char *nd_services_on_network(nd_manager *m, const nd_network *n);
/* May an endpoint owner (@what: "container 'x'") on networks @net_ids be
 * a task of @service?  0, or -ENOENT / -EINVAL with @d's message. */
int nd_services_task_check(nd_manager *m, const char *service, const char *const *net_ids, size_t n_nets,
                           const char *what, nd_diag *d);
/* The task table: @owner's endpoint on @net_id is a task of @service
 * (replacing what @owner had there), or all of @owner's go; health.  A
 * change takes effect (elements, names) at nd_services_flush(). */
int nd_services_task_set(nd_manager *m, const char *owner, const char *service, const char *net_id,
                         const nd_addr *a4, const char *name, const char *node, nd_task_health health);
void nd_services_task_drop(nd_manager *m, const char *owner);
void nd_services_task_health_set(nd_manager *m, const char *owner, nd_task_health health);
nd_task_health nd_services_task_health(nd_manager *m, const char *owner);
void nd_services_flush(nd_manager *m);
/* The firewall went away (it failed at start-up and was freed with its
 * owners): forget the services' owners. */
void nd_services_fw_forget(nd_manager *m);
/* netd_services, netd_service_vips, netd_service_tasks into @e. */
struct nd_expo;
void nd_services_metrics(nd_manager *m, struct nd_expo *e);
/* A container's endpoints as tasks of its service while it runs
 * (@running; from the resolver, whenever its names change); flushes. */
void nd_services_container_sync(nd_manager *m, const nd_container *c, bool running);

/* Published ports of services (service-ports.c).  A service's ports are
 * held on this host (sockets bound on every address, hostport.h) for as
 * long as the service exists here, in ingress and host mode alike, in a
 * table keyed by service id that is an owner in the port registry: a
 * container, a CNI attachment or another service publishing one of them
 * is refused, naming the service.
 *   - claim: at create, refused when its first network is internal, or
 *     when a port is held (-EADDRINUSE, @d naming the holder: another
 *     owner, or "in use on this host" for a host process); replaces what
 *     the service had.  Without a firewall, -EOPNOTSUPP.
 *   - adopt: a service read back at start-up; its ports are held again
 *     by the registry's restore (nd_manager_ports_restore).
 *   - drop: at rm, or when its create fails.
 * The routing-mesh elements are the service's own (services.c programs
 * them with its VIPs): nd_svc_ports_elems() builds them for each port
 * from the healthy tasks on the service's first network, @all of them
 * for an ingress port, only this host's (@local) for a host port.
 * @out must hold rec->n_ports * ND_SVC_SLOTS. */
struct nd_service;
struct nd_nft_elem;
int nd_svc_ports_claim(nd_manager *m, const struct nd_service *rec, nd_diag *d);
int nd_svc_ports_adopt(nd_manager *m, const struct nd_service *rec);
void nd_svc_ports_drop(nd_manager *m, const char *id);
size_t nd_svc_ports_elems(const struct nd_service *rec, const nd_addr *all, size_t n_all, const nd_addr *local,
                          size_t n_local, struct nd_nft_elem *out);
int nd_svc_ports_register(nd_manager *m);
void nd_svc_ports_free(nd_manager *m);
/* The host ports services hold on this host. */
size_t nd_svc_ports_count(const nd_manager *m);

/* Health checks (health.c): run @hc's command in container @ctid every
 * interval, setting its tasks' health; stop; stop all (exit).  Its
 * state for inspect ({"Status","FailingStreak",...}), NULL: unchecked. */
struct nd_svc_health;
int nd_health_watch(nd_manager *m, const char *ctid, const char *name, const struct nd_svc_health *hc);
void nd_health_unwatch(nd_manager *m, const char *ctid);
void nd_health_free_all(nd_manager *m);
json_t *nd_health_status(nd_manager *m, const char *ctid);

/* Events (event-emit.c, events.h), @attrs taken: one of this host's;
 * an endpoint's connect or disconnect (@kind an nd_ep_kind, @owner_id
 * the container, pod or Docker endpoint); a network's create or destroy. */
void nd_manager_event(nd_manager *m, const char *type, const char *action, const char *id, const char *name,
                      json_t *attrs);
void nd_manager_event_endpoint(nd_manager *m, const char *action, int kind, const char *owner_id,
                               const char *owner_name, const nd_endpoint *e);
void nd_manager_event_network(nd_manager *m, const char *action, const nd_network *n);
/* The hooks of the layers below: a firewall repair, what the cluster saw. */
void nd_manager_on_fw_repair(void *userdata, const char *by, int r);
void nd_manager_on_cluster_event(void *userdata, const char *type, const char *action, const char *id,
                                 const char *name, json_t *attrs, const char *node);
/* A service's create, update or remove: also logged (create, remove). */
struct nd_service;
void nd_manager_event_service(nd_manager *m, const char *action, const struct nd_service *rec, bool global);

/* metrics.c: the attach histograms. */
int nd_manager_metrics_init(nd_manager *m);
void nd_manager_metrics_done(nd_manager *m);

/* networks.c, for the start-up in manager.c */
void nd_sysctl_on(const char *path);
void nd_manager_net_sysctls(nd_manager *m, const nd_network *n);
int nd_manager_nets_add(nd_manager *m, nd_network *n);

/* sandbox-dns.c, for sandboxes.c.  @ret has room for ND_DNS_MAX_UPSTREAMS. */
int nd_sandbox_dns_parse(const json_t *a, nd_addr *ret, size_t *ret_n, nd_diag *d);
/* sandboxes.c, for sandbox-dns.c.  @s is on @n, in the store, and
 * forwards to its network's DNS servers (none of its container's own): a
 * change of the network's applies. */
bool nd_sandbox_dns_follows(const nd_sbx *s, const nd_network *n);
/* @s forwards to @a (@n ≤ ND_DNS_MAX_UPSTREAMS; 0: netd's) from now on. */
void nd_sandbox_dns_set(nd_manager *m, nd_sbx *s, const nd_addr *a, size_t n);
