/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file nft.h
 * netd's nftables tables over netlink with libnftnl/libmnl: "inet netd"
 * (NAT, forwarding, input) and "bridge netd" (what may enter a bridge from
 * an endpoint's port), their fixed chains and rules, their sets and maps,
 * and the elements.  The two tables are one ruleset: they are created,
 * replaced and deleted together, in the same batch.
 *
 * The rule set is constant; everything that varies (bridges, subnets,
 * gateways, published ports, service VIPs and their backends) is a set or
 * map element, so adding the 1000th mapping costs what the first did.  Every call is one atomic
 * nfnetlink batch; the kernel applies it before sendmsg() returns, so a
 * call never waits on anything but the kernel.
 *
 * The policy the rules express is documented in docs/firewall.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ND_NFT_TABLE "netd"

typedef enum nd_nft_set {
        ND_SET_BRIDGES,   /* ifname: every netd bridge */
        ND_SET_SAME,      /* ifname . ifname: a bridge with itself (hairpin through the gateway) */
        ND_SET_INTERNAL,  /* ifname: bridges of --internal networks */
        ND_SET_SUB4,      /* ipv4_addr interval: container subnets */
        ND_SET_SUB6,      /* ipv6_addr interval */
        ND_SET_GW4,       /* ifname . ipv4_addr: a bridge and its gateway */
        ND_SET_GW6,       /* ifname . ipv6_addr */
        ND_SET_PUB4,      /* inet_proto . inet_service : ipv4_addr . inet_service */
        ND_SET_PUB4A,     /* ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service */
        ND_SET_PUB6,      /* inet_proto . inet_service : ipv6_addr . inet_service */
        ND_SET_PUB6A,     /* ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service */
        ND_SET_TUNNEL,    /* inet_proto . inet_service: this host's tunnel ports (VXLAN) */
        ND_SET_PEERS4,    /* ipv4_addr: live peer hosts, the only senders the tunnel ports accept */
        ND_SET_CTRL4,     /* ipv4_addr . inet_proto . inet_service: the cluster store (etcd) */
        ND_SET_CTRLPORT,  /* inet_proto . inet_service: the same ports, at any address of this host */
        /* services (docs/firewall.md, "Services"); a slot is a host-order
         * u32, what `numgen random mod ND_NFT_SLOTS` writes */
        ND_SET_SVC_VIPS4, /* ifname . ipv4_addr: a bridge and a service VIP it serves */
        ND_SET_SVC_BE4,   /* ipv4_addr . slot : ipv4_addr: a VIP's slot -> a backend */
        ND_SET_SVC_REMOTE4, /* ipv4_addr: backends on another host */
        ND_SET_SVC_SNAT4, /* ifname : ipv4_addr: this host's address on an overlay bridge */
        ND_SET_MESH4,     /* inet_proto . inet_service . slot : ipv4_addr . inet_service */
        /* bridge netd: anti-spoofing, keyed by the host-side veth of an endpoint */
        ND_SET_PORTS,     /* ifname: every guarded port */
        ND_SET_PORT_MAC,  /* ifname . ether_addr: the MAC the port's frames must carry */
        ND_SET_PORT_IP4,  /* ifname . ipv4_addr: the port's IPv4 sources (IP and ARP) */
        ND_SET_PORT_IP6,  /* ifname . ipv6_addr: the port's IPv6 sources and ND targets */
        ND_SET_NO_ICC,    /* ifname: ports of enable_icc=false networks, cut off from their bridge's other ports */
        ND_SET_PUBT4,     /* ipv4_addr . inet_proto . inet_service: a published port's container end */
        ND_SET_PUBT6,     /* ipv6_addr . inet_proto . inet_service */
        _ND_SET_MAX,
} nd_nft_set;

/* The longest key is ifname . ipv6_addr (32), the longest data ipv6_addr
 * . inet_service (20). */
#define ND_NFT_KEY_MAX 32
#define ND_NFT_DATA_MAX 20

/* The slots of a service VIP or routing-mesh port: the rules pick one with
 * `numgen random mod ND_NFT_SLOTS`. */
#define ND_NFT_SLOTS 256

typedef struct nd_nft_elem {
        uint8_t set;              /* nd_nft_set */
        uint8_t interval_end;     /* an interval set's closing element */
        uint8_t klen, dlen;
        uint8_t key[ND_NFT_KEY_MAX];
        uint8_t data[ND_NFT_DATA_MAX];
} nd_nft_elem;

typedef struct nd_nft nd_nft;

/* Open the command socket.  -EPROTONOSUPPORT etc. when the kernel has no
 * nf_tables.  The transactions below return 0 or -errno: -ENOMEM, or the
 * first error the kernel reported for the batch, which it then did not
 * apply. */
int nd_nft_open(nd_nft **ret);
nd_nft *nd_nft_free(nd_nft *n);
uint32_t nd_nft_portid(const nd_nft *n);

/* Replace the whole table (created if absent) with the fixed chains and
 * rules and exactly @elems, in one transaction. */
int nd_nft_replace(nd_nft *n, const nd_nft_elem *elems, size_t n_elems);
/* Delete @del and add @add in one transaction (none when both are
 * empty). */
int nd_nft_update(nd_nft *n, const nd_nft_elem *const *del, size_t n_del, const nd_nft_elem *const *add,
                  size_t n_add);
/* Prometheus families: transactions, refusals, their latency. */
struct nd_expo;
void nd_nft_metrics(const nd_nft *n, struct nd_expo *e);

/* Delete the tables if they exist. */
int nd_nft_delete_table(nd_nft *n);

/* Element builders.  They cannot fail: an interface name is cut to 15
 * bytes, and @alen is 4 or 16. */
void nd_nft_elem_ifname(nd_nft_elem *e, nd_nft_set set, const char *ifname);
void nd_nft_elem_ifname2(nd_nft_elem *e, nd_nft_set set, const char *a, const char *b);
/* ifname . address (GW4 / GW6) */
void nd_nft_elem_ifaddr(nd_nft_elem *e, nd_nft_set set, const char *ifname, const uint8_t *addr, size_t alen);
/* ifname . MAC (PORT_MAC) */
void nd_nft_elem_ifmac(nd_nft_elem *e, nd_nft_set set, const char *ifname, const uint8_t mac[6]);
/* An interval's start or (with @end) closing element; @addr is already the
 * first address (start) or one past the last (end). */
void nd_nft_elem_addr(nd_nft_elem *e, nd_nft_set set, const uint8_t *addr, size_t alen, bool end);
/* A port map element: [host address .] proto . port : ctr address . port */
void nd_nft_elem_pub(nd_nft_elem *e, nd_nft_set set, const uint8_t *host, uint8_t proto, uint16_t port,
                     const uint8_t *ctr, size_t alen, uint16_t ctr_port);
/* A set element [host address .] proto . port (no data). */
void nd_nft_elem_service(nd_nft_elem *e, nd_nft_set set, const uint8_t *host, size_t alen, uint8_t proto,
                         uint16_t port);
/* A map element ifname : IPv4 address (SVC_SNAT4) */
void nd_nft_elem_ifname_addr4(nd_nft_elem *e, nd_nft_set set, const char *ifname, const uint8_t addr[4]);
/* SVC_BE4: @vip . @slot : @backend */
void nd_nft_elem_vip_slot(nd_nft_elem *e, const uint8_t vip[4], uint32_t slot, const uint8_t backend[4]);
/* MESH4: @proto . @port . @slot : @addr . @target */
void nd_nft_elem_mesh_slot(nd_nft_elem *e, uint8_t proto, uint16_t port, uint32_t slot, const uint8_t addr[4],
                           uint16_t target);
bool nd_nft_elem_equal(const nd_nft_elem *a, const nd_nft_elem *b);

/* ---- change notifications ---- */

/* A socket subscribed to nf_tables events (non-blocking): the caller owns
 * the returned fd; -errno on failure. */
int nd_nft_monitor_open(void);
/* Read all pending events.  *foreign is set when one touched our tables and
 * came from another socket than @own_portid; @who receives the last
 * writer's "name[pid]" when the kernel told it.  -ENOBUFS: events were
 * lost (treat as foreign). */
int nd_nft_monitor_read(int fd, uint32_t own_portid, bool *foreign, char *who, size_t who_size);
