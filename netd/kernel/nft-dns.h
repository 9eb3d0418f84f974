/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file nft-dns.h
 * The embedded DNS's redirect inside one sandbox's namespace: a small
 * table "ip netd-dns" that sends 127.0.0.11:53 (UDP and TCP) to the ports
 * netd's listeners have there, and rewrites the source port of their
 * replies back to 53.  Every port of every address stays free for the
 * container (a dnsmasq may bind 0.0.0.0:53).
 *
 *   table ip netd-dns {
 *     comment "netd dns udp UDP tcp TCP"
 *     chain output { type filter hook output priority raw; policy accept;
 *       ip daddr 127.0.0.11 udp dport 53 udp dport set UDP
 *       ip daddr 127.0.0.11 tcp dport 53 tcp dport set TCP
 *       ip saddr 127.0.0.11 udp sport UDP udp sport set 53
 *       ip saddr 127.0.0.11 tcp sport TCP tcp sport set 53
 *       ip saddr 127.0.0.11 icmp type destination-unreachable
 *         @th,136,8 17 @th,192,32 127.0.0.11 @th,240,16 UDP
 *         @th,240,16 set 53 }
 *   }
 *
 * Docker uses DNAT and SNAT (DOCKER_OUTPUT, DOCKER_POSTROUTING) instead;
 * NAT turns on conntrack in the namespace, which costs every packet of
 * the container.  Here the ports are rewritten in place, stateless:
 * queries and replies both leave through the output hook of lo, so each
 * direction is one rule and nothing needs remembering.  The last rule
 * gives a port unreachable for a query (netd down) its quoted port 53
 * back, so the client's connected socket sees the error, as with NAT.
 *
 * The comment records the ports, so a restarted netd binds the same ones
 * again and the table stays right for queries sent meanwhile.
 * One visit of a namespace opens one netfilter socket there
 * (nd_nft_dns_open) and sends each request or atomic batch through it;
 * the kernel handles both inside sendmsg().
 *
 * Closing that socket (nd_nft_free) after a commit waits for the kernel
 * to free the namespace's finished transactions, which takes an RCU grace
 * period (5-30 ms; nf_tables flushes its destroy work when a netfilter
 * socket is released): the daemon closes it on a worker, never on its
 * loop (nd_manager_nft_release).
 */
#pragma once

#include <stdint.h>

#include "nft.h"

#define ND_NFT_DNS_TABLE "netd-dns"

/* A netfilter socket inside namespace @ns_fd (borrowed), for the calls
 * below; the calling thread is back in its own namespace on return. */
int nd_nft_dns_open(int ns_fd, nd_nft **ret);
/* The ports the namespace's table redirects to: -ENOENT without the
 * table, -EBADMSG when its comment is not netd's. */
int nd_nft_dns_ports(nd_nft *n, uint16_t *ret_udp, uint16_t *ret_tcp);
/* Create or replace the table for ports @udp and @tcp, in one
 * transaction. */
int nd_nft_dns_redirect(nd_nft *n, uint16_t udp, uint16_t tcp);
/* Delete the table; 0 when it was not there. */
int nd_nft_dns_remove(nd_nft *n);
