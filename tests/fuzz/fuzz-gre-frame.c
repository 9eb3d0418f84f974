/* SPDX-License-Identifier: Apache-2.0 */
/* What the userspace GRE path reads from the network and from containers:
 * GRE packets from the raw socket, and Ethernet frames from the TAP that
 * may get an ARP or ND answer.  Invariants: a parsed packet's payload lies
 * inside it and holds at least an Ethernet header; answers have their
 * fixed length, go back to the asker and carry the peer's MAC; an NA's
 * checksum verifies. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nd_overlay_peer peer = { .mac = { 0x02, 0x42, 1, 2, 3, 4 } };

/* every address belongs to the peer: the answer paths run for any input */
static const nd_overlay_peer *any(const void *u, int family, const uint8_t *ip) {
        return &peer;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint32_t key, src;
        size_t off;
        uint8_t out[ND_NA_LEN];

        if (nd_gre_parse(data, size, &key, &src, &off) == 0)
                assert(off + 14 <= size && off >= 28);
        size_t n = nd_frame_arp_reply(data, size, any, NULL, out);
        assert(n == 0 || n == ND_ARP_REPLY_LEN);
        if (n) {
                assert(memcmp(out, data + 6, 6) == 0);
                assert(memcmp(out + 6, peer.mac, 6) == 0);
        }
        n = nd_frame_na_reply(data, size, any, NULL, out);
        assert(n == 0 || n == ND_NA_LEN);
        if (n)
                assert(nd_icmp6_csum(out + 22, out + 38, out + 54, 32) == 0);
        return 0;
}
