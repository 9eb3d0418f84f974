/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file keys.h
 * Every key prefix netd writes, in one place.  Keys are the prefix
 * followed by the parts shown (ID: a 64-hex-digit object id; NODE: a node
 * id, 32 hex digits).  A prefix ends in '/', so listing or watching it
 * never matches a sibling whose name merely starts the same way.
 *
 * Two stores hold them:
 *  - the host's own store (the manager's, always the local backend in
 *    STATE_DIR), for everything one host owns: networks, addresses,
 *    containers, sandboxes, Docker plugin records;
 *  - the cluster store (the cluster's, etcd, with --store etcd://...),
 *    for what hosts share: everything under ND_KEY_GLOBAL.
 *
 * These strings are the on-disk and in-etcd format: changing one orphans
 * the data written under the old one.
 */
#pragma once

/* ---- the host's store ---------------------------------------------------- */

/* networks/ID: the network record (the API's inspect shape).  Owner:
 * the manager (daemon/manager.c). */
#define ND_KEY_NETWORKS "/netd/v1/networks/"
/* network-names/NAME: the network's id.  Created only if absent in the
 * network's create transaction, so names are unique.  Owner: the manager. */
#define ND_KEY_NETWORK_NAMES "/netd/v1/network-names/"
/* ipam/NETWORK-ID/ADDRESS: {"Owner","Created"}, one reserved address;
 * the owner is a container id, "cni:CID/IFNAME", "docker:EPID" or
 * "docker-pool:POOLID".  Owner: the manager's IPAM (daemon/manager.c),
 * written in the transactions of containers, sandboxes and the Docker
 * plugin that take the address. */
#define ND_KEY_IPAM "/netd/v1/ipam/"
/* containers/ID: the container record (the API's inspect shape without
 * LogPath).  Owner: core/containers.c. */
#define ND_KEY_CONTAINERS "/netd/v1/containers/"
/* container-names/NAME: the container's id, unique like network names.
 * Owner: core/containers.c. */
#define ND_KEY_CONTAINER_NAMES "/netd/v1/container-names/"
/* sandboxes/CID/IFNAME: an external sandbox (a CNI attachment) netd
 * wired, with its addresses and ports.  Owner: core/sandboxes.c. */
#define ND_KEY_SANDBOXES "/netd/v1/sandboxes/"
/* services/ID: a service record (model/service.h), its VIPs included;
 * the VIPs are also address records under ND_KEY_IPAM with owner
 * "service:ID".  Owner: core/services.c. */
#define ND_KEY_SERVICES "/netd/v1/services/"
/* service-names/NAME: the service's id, created only if absent. */
#define ND_KEY_SERVICE_NAMES "/netd/v1/service-names/"
/* service-slots/SERVICE-ID/SLOT: {"Node","Container","Desired","State",
 * "Since","Error","Version"}, one task slot of a service that runs its
 * tasks (SLOT: 1..N, or the host's name in global mode), written by the
 * host that claimed it.  Owner: core/replicas.c. */
#define ND_KEY_SERVICE_SLOTS "/netd/v1/service-slots/"
/* service-lbs/NETWORK-ID: "ADDR", this host's address on an overlay
 * network that traffic to remote tasks is SNATed to (its IPAM record has
 * owner "service-lb:NETWORK-ID").  Owner: core/services.c. */
#define ND_KEY_SERVICE_LBS "/netd/v1/service-lbs/"

/* docker/: everything of the Docker network and IPAM plugin, listed
 * together at start-up.  Owner: api/docker-plugin.c. */
#define ND_KEY_DOCKER "/netd/v1/docker/"
/* docker/pools/POOLID: an IPAM pool (RequestPool), the subnet it holds. */
#define ND_KEY_DOCKER_POOLS ND_KEY_DOCKER "pools/"
/* docker/endpoints/EPID: a Docker endpoint (CreateEndpoint). */
#define ND_KEY_DOCKER_ENDPOINTS ND_KEY_DOCKER "endpoints/"
/* docker/networks/DOCKER-ID: {"NetworkID","NetdNetwork"}, a Docker
 * network bound to an existing netd network. */
#define ND_KEY_DOCKER_NETWORKS ND_KEY_DOCKER "networks/"

/* ---- the cluster store --------------------------------------------------- */

/* global/: everything hosts share; each host lists it once and then
 * watches it.  Owner: cluster/ (cluster.h states the rules of each key),
 * and bench/cluster-sim.c writes the same layout. */
#define ND_KEY_GLOBAL "/netd/v1/global/"
/* global/nodes/NODE: {"Id","Name","Addr","Version","Registered"}, a
 * member until removed.  Written by that node (cluster/cluster-node.c);
 * removed by any live node once it is gone for the grace period. */
#define ND_KEY_GLOBAL_NODES ND_KEY_GLOBAL "nodes/"
/* global/live/NODE: {"Id","Name","Addr","Version","Started"} on the
 * node's lease: the node is up.  Created only if absent
 * (cluster/cluster-node.c). */
#define ND_KEY_GLOBAL_LIVE ND_KEY_GLOBAL "live/"
/* global/networks/ID: an overlay network's record (cluster/cluster-nets.c). */
#define ND_KEY_GLOBAL_NETWORKS ND_KEY_GLOBAL "networks/"
/* global/network-names/NAME: the overlay network's id, unique. */
#define ND_KEY_GLOBAL_NETWORK_NAMES ND_KEY_GLOBAL "network-names/"
/* global/vnis/VNI: the overlay network's id, so a VNI has one network. */
#define ND_KEY_GLOBAL_VNIS ND_KEY_GLOBAL "vnis/"
/* global/blocks/ID/ADDR-LEN: {"Node","Name"}, an address block a node
 * claimed (create-only) and allocates from (cluster/cluster-ipam.c). */
#define ND_KEY_GLOBAL_BLOCKS ND_KEY_GLOBAL "blocks/"
/* global/endpoints/NODE/ID/CTID: {"Node","Vtep","Mac","IPv4","IPv6",...}
 * on the node's lease, one endpoint peers tunnel to
 * (cluster/cluster-publish.c; read by cluster/cluster-peers.c). */
#define ND_KEY_GLOBAL_ENDPOINTS ND_KEY_GLOBAL "endpoints/"
/* global/services/ID: a service on overlay networks (model/service.h),
 * its VIPs taken from the creating node's blocks; any node may create
 * or remove one (cluster/cluster-services.c). */
#define ND_KEY_GLOBAL_SERVICES ND_KEY_GLOBAL "services/"
/* global/service-names/NAME: the service's id, created only if absent. */
#define ND_KEY_GLOBAL_SERVICE_NAMES ND_KEY_GLOBAL "service-names/"
/* global/service-slots/SERVICE-ID/SLOT: a task slot of a global service
 * (the record of ND_KEY_SERVICE_SLOTS) on the lease of the node that
 * claimed it; claimed, written and given up only by compare-and-swap
 * (cluster/cluster-slots.c, core/replicas-cluster.c). */
#define ND_KEY_GLOBAL_SERVICE_SLOTS ND_KEY_GLOBAL "service-slots/"
