/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file nft-dns.h
 * The embedded DNS's redirect inside one sandbox's namespace: a small
 * table "ip netd-dns" that sends 127.0.0.11:53 (UDP and TCP) to the ports
 * netd's listeners have there, and rewrites the source port of their
 * replies back to 53, as Docker's DOCKER_OUTPUT and DOCKER_POSTROUTING
 * chains do.  Every port of every address stays free for the container
 * (a dnsmasq may bind 0.0.0.0:53).
 *
 *   table ip netd-dns {
 *     comment "netd dns udp UDP tcp TCP"
 *     chain output { type nat hook output priority -100; policy accept;
 *       ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:UDP
 *       ip daddr 127.0.0.11 tcp dport 53 dnat to 127.0.0.11:TCP }
 *     chain postrouting { type nat hook postrouting priority srcnat; policy accept;
 *       ip saddr 127.0.0.11 udp sport UDP snat to :53
 *       ip saddr 127.0.0.11 tcp sport TCP snat to :53 }
 *   }
 *
 * The comment records the ports, so a restarted netd binds the same ones
 * again: clients' conntrack entries of the old redirect stay right.
 * Each call opens a netfilter socket in the namespace and sends one
 * request or one atomic batch; the kernel handles both inside sendmsg().
 */
#pragma once

#include <stdint.h>

#define ND_NFT_DNS_TABLE "netd-dns"

/* The ports the table in namespace @ns_fd (borrowed) redirects to:
 * -ENOENT without the table, -EBADMSG when its comment is not netd's. */
int nd_nft_dns_ports(int ns_fd, uint16_t *ret_udp, uint16_t *ret_tcp);
/* Create or replace the table in namespace @ns_fd (borrowed) for ports
 * @udp and @tcp, in one transaction. */
int nd_nft_dns_redirect(int ns_fd, uint16_t udp, uint16_t tcp);
/* Delete the table from namespace @ns_fd (borrowed); 0 when it was not
 * there. */
int nd_nft_dns_remove(int ns_fd);
