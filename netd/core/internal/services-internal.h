/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file services-internal.h
 * The services' state, shared by services.c (the table, tasks, the
 * kernel and DNS view, local records), service-cluster.c (services on
 * overlay networks and remote tasks) and health.c.  Private to core/.
 */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

#include "manager-internal.h"
#include "service.h"

struct nd_svc {
        nd_service *rec;
        struct nd_fw_owner *fw;
        bool committed;  /* its create is durable */
        bool removing;   /* its delete is in flight */
        bool dirty;      /* its tasks changed since the last flush */
        bool global;     /* on overlay networks: the record is in etcd */
        uint32_t *lb_vips; /* VIPs in the socket balancer's map (network order) */
        size_t n_lb_vips;
};

struct nd_svc_task {
        char owner[240];      /* a container id, "cni:…", "docker:…", "remote:KEY" */
        char net_id[ND_ID_LEN + 1];
        char service[ND_NAME_MAX + 1];
        char name[ND_NAME_MAX + 1];
        char node[40];        /* "": this host, else the node id */
        nd_addr addr4;
        nd_task_health health;
};

/* A backend: an IPv4 address, and healthy or not checked at all. */
static inline bool nd_svc_task_is_backend(const struct nd_svc_task *t) {
        return t->addr4.family == AF_INET && (t->health == ND_TASK_NONE || t->health == ND_TASK_HEALTHY);
}

struct nd_svc *nd_svc_by_name(nd_manager *m, const char *name);
/* By name, id or unique id prefix, committed and not being removed:
 * -ENOENT, -ENOTUNIQ. */
int nd_svc_find(nd_manager *m, const char *ref, struct nd_svc **ret);
nd_network *nd_net_by_id(nd_manager *m, const char *id);
/* Takes @rec into the table (and a firewall owner); -ENOMEM. */
int nd_svc_add(nd_manager *m, nd_service *rec, struct nd_svc **ret);
void nd_svc_unlink(nd_manager *m, struct nd_svc *s);
void nd_svc_free(nd_manager *m, struct nd_svc *s);
/* Its VIPs on their bridges (@on) or off. */
void nd_svc_links(nd_manager *m, const struct nd_svc *s, bool on);
/* Rewrite its elements and names from the task table. */
void nd_svc_apply(nd_manager *m, struct nd_svc *s);
/* Give its VIPs back to their networks' allocators. */
void nd_vips_give_back(nd_manager *m, const nd_service *rec);
json_t *nd_svc_view(nd_manager *m, const struct nd_svc *s);

/* service-socklb.c: the socket-level balancer (kernel/sock-lb.h) */
/* Load it unless --sock-lb off; without cgroup v2 or bpf(2) log why
 * and leave m->socklb NULL (nftables' DNAT alone serves the VIPs). */
void nd_svc_socklb_init(nd_manager *m);
/* Container @id's cgroup v2 directory made and the programs attached,
 * before its monitor starts (so its first connect is balanced) or, at
 * start-up, for the running ones; best effort (a container without
 * them reaches VIPs through DNAT). */
void nd_svc_socklb_container(nd_manager *m, const char *id);
void nd_svc_socklb_restore(nd_manager *m);
/* VIP @vip balances over @be[@n] (IPv4; others ignored). */
void nd_svc_socklb_set(nd_manager *m, const struct nd_svc *s, const nd_addr *vip, const nd_addr *be, size_t n);
/* @s's VIPs are now @vips[@n]: remove the elements of the others and
 * remember these (@n 0: all gone). */
void nd_svc_socklb_keep(nd_manager *m, struct nd_svc *s, const uint32_t *vips, size_t n);
/* Detach from the running containers and close (netd exits). */
void nd_svc_socklb_free(nd_manager *m);

/* service-cluster.c */
/* Register with the cluster (before it starts). */
void nd_svc_cluster_init(nd_manager *m);
/* Create a service on overlay networks (@rec with its VIPs taken): the
 * record in etcd, then @cb with the view. */
int nd_svc_cluster_create(nd_manager *m, nd_service *rec, nd_manager_svc_fn cb, void *userdata, nd_diag *d);
int nd_svc_cluster_remove(nd_manager *m, struct nd_svc *s, nd_manager_svc_fn cb, void *userdata, nd_diag *d);
/* After start-up and whenever a global VIP service appears: this host's
 * SNAT address on each overlay network that has one. */
void nd_svc_cluster_lbs(nd_manager *m);
/* The elements shared by all services (remote backends, SNAT
 * addresses), rewritten at each flush. */
void nd_svc_cluster_shared(nd_manager *m);
int nd_svc_lbs_load(nd_manager *m, void (*done)(nd_manager *m));
/* The @i-th of this host's SNAT addresses (the topology): its overlay
 * network (borrowed) and the address (family 0: still being taken);
 * false past the end. */
bool nd_svc_cluster_lb(nd_manager *m, size_t i, const char **ret_net_id, nd_addr *ret_addr);
/* The owner id of any host's SNAT address on overlay network @net_id. */
void nd_svc_lb_owner_id(const char *net_id, char ret[static ND_ID_LEN + 1]);
void nd_svc_cluster_free(nd_manager *m);
