/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file firewall.h
 * netd's packet filter state: which nftables elements exist and why.
 *
 * Each network, each running container with published ports and each
 * endpoint's port (its host-side veth) is an *owner* holding the elements
 * it needs.  A change to an owner is diffed
 * against what it held and applied as one batch of element deletes and
 * adds; nd_fw_sync() replaces the whole table with every owner's
 * elements (at start-up, and to repair).
 *
 * Someone else changing or deleting the table (`nft flush ruleset`, a
 * firewall manager's reload) is seen through nf_tables events and undone
 * within 50 ms (REPAIR_DELAY) by a full replace, with a log line naming the
 * process the kernel reported.
 */
#pragma once

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nd-forward.h"
#include "nft.h"
#include "ports.h"

typedef struct nd_fw nd_fw;
typedef struct nd_fw_owner nd_fw_owner;

/* -errno when nf_tables is unusable; the daemon then runs without it. */
int nd_fw_new(struct ev_loop *loop, nd_fw **ret);
nd_fw *nd_fw_free(nd_fw *fw);

/* @what names the owner in logs ("network web", "container db").  NULL
 * when out of memory. */
nd_fw_owner *nd_fw_owner_new(nd_fw *fw, const char *what);
/* Removes the owner's elements.  NULL-safe. */
void nd_fw_owner_free(nd_fw *fw, nd_fw_owner *o);
/* Make the owner hold exactly @elems.  Before the first nd_fw_sync() this
 * only records.  On failure the owner keeps what it had. */
int nd_fw_owner_set(nd_fw *fw, nd_fw_owner *o, const nd_nft_elem *elems, size_t n);

/* What changes from @old to @want: the elements only @old has (*ret_del)
 * and only @want has (*ret_add), as pointers into them, each without
 * duplicates.  A slot pointed elsewhere is in both (same key, other data):
 * nd_nft_update() deletes before it adds.  O((n + m) log(n + m)): a
 * service holds 257 elements per VIP.  The caller frees both arrays;
 * -ENOMEM. */
int nd_fw_elems_diff(const nd_nft_elem *old, size_t n_old, const nd_nft_elem *want, size_t n_want,
                     const nd_nft_elem ***ret_del, size_t *ret_n_del, const nd_nft_elem ***ret_add,
                     size_t *ret_n_add);

/* After each repair: @fn(@userdata, @by, @r), @by the process the kernel
 * named ("" unknown), @r the replace's result.  For the event bus above
 * (core/events.h); one hook, NULL to clear. */
void nd_fw_set_repair_hook(nd_fw *fw, void (*fn)(void *userdata, const char *by, int r), void *userdata);

/* Replace the table with every owner's elements; then follow changes. */
int nd_fw_sync(nd_fw *fw);
/* Delete the table (netd --cleanup). */
int nd_fw_cleanup(void);

json_t *nd_fw_status(const nd_fw *fw);
/* Prometheus families of the firewall and its nftables transactions
 * (@fw may be NULL: disabled). */
struct nd_expo;
void nd_fw_metrics(const nd_fw *fw, struct nd_expo *e);

/* Anti-spoofing for one endpoint (docs/firewall.md): frames that enter a
 * bridge from the host-side veth @ifname must carry @mac, and IPv4/IPv6
 * sources and ARP/ND claims from @a4 / @a6 (family 0: none).  The port is
 * an owner kept here by @ifname, so that whoever wires an endpoint (a
 * container, a CNI sandbox, a Docker endpoint) needs no handle: set it
 * when the veth is made or its record read back, clear it when the veth
 * goes.  With @isolated (its network has enable_icc=false) its frames
 * reach only the bridge itself, no other port.  Replaces what the port
 * held.  @fw NULL (no firewall): 0.  -EINVAL: @ifname is not an
 * interface name. */
int nd_fw_port_set(nd_fw *fw, const char *ifname, const uint8_t mac[6], const nd_addr *a4, const nd_addr *a6,
                   bool isolated);
/* Remove the port's elements.  NULL @fw, an unknown @ifname: nothing. */
void nd_fw_port_clear(nd_fw *fw, const char *ifname);

/* The elements of one port: membership, MAC, one address per family,
 * isolation.  Returns the count; @out must hold ND_FW_PORT_ELEMS_MAX. */
#define ND_FW_PORT_ELEMS_MAX 5
size_t nd_fw_port_elems(const char *ifname, const uint8_t mac[6], const nd_addr *a4, const nd_addr *a6,
                        bool isolated, nd_nft_elem *out);

/* Elements of a bridge network: bridge, hairpin pair, internal flag,
 * subnets (two interval elements each), gateways.  Returns the count;
 * @out must hold ND_FW_NET_ELEMS_MAX. */
#define ND_FW_NET_ELEMS_MAX (3 + 4 * 3)
size_t nd_fw_network_elems(const nd_network *n, nd_nft_elem *out);

/* The elements for one binding to a container whose addresses on its
 * publishing network are @a4 / @a6 (family 0: none): per family, its
 * port map element and its container end (published4/6).  Returns the
 * count (0 to ND_FW_BINDING_ELEMS_MAX). */
#define ND_FW_BINDING_ELEMS_MAX 4
size_t nd_fw_binding_elems(const nd_port_binding *b, const nd_addr *a4, const nd_addr *a6,
                           nd_nft_elem out[ND_FW_BINDING_ELEMS_MAX]);

/* Services (docs/firewall.md, "Services"), IPv4 only: an address that is
 * not IPv4 (a VIP, a backend, the SNAT address) yields no element and a
 * non-IPv4 backend counts as absent.  A VIP or mesh port has ND_SVC_SLOTS
 * slots; the kernel picks one at random per new connection and slot s
 * goes to backends[s % n], so each backend takes about 1/n of the slots
 * and of the new connections (256 over 3: 86/85/85). */
#define ND_SVC_SLOTS ND_NFT_SLOTS

/* The elements of one VIP served on bridge @ifname: its svc_vips4 element
 * and, when @n > 0, ND_SVC_SLOTS slot elements vip.slot -> backends[slot %
 * n] (the VIP with no backend refuses connections).  Returns the count;
 * @out must hold ND_FW_VIP_ELEMS_MAX. */
#define ND_FW_VIP_ELEMS_MAX (1 + ND_SVC_SLOTS)
size_t nd_fw_vip_elems(const char *ifname, const nd_addr *vip, const nd_addr *backends, size_t n, nd_nft_elem *out);
/* Routing mesh for @proto (IPPROTO_TCP, _UDP, ...) port @port on every
 * host address: slot -> backends[slot % n] . @target; 0 when n == 0.
 * @out must hold ND_SVC_SLOTS. */
size_t nd_fw_mesh_elems(uint8_t proto, uint16_t port, const nd_addr *backends, size_t n, uint16_t target,
                        nd_nft_elem *out);
/* svc_remote4: backend @a lives on another host (its connections are
 * SNATed to this host's address on the outgoing bridge).  Returns 1, or 0
 * when @a is not IPv4. */
size_t nd_fw_remote_elem(const nd_addr *a, nd_nft_elem *out);
/* svc_snat4: @a is this host's address on overlay bridge @ifname.
 * Returns 1, or 0 when @a is not IPv4. */
size_t nd_fw_snat_elem(const char *ifname, const nd_addr *a, nd_nft_elem *out);
