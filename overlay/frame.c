/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "frame.h"

#define GRE_CSUM 0x8000
#define GRE_ROUTING 0x4000
#define GRE_KEY 0x2000
#define GRE_SEQ 0x1000

void nd_gre_header(uint32_t key, uint8_t hdr[static 8]) {
        hdr[0] = 0x20; /* K */
        hdr[1] = 0x00; /* version 0 */
        hdr[2] = ND_ETH_P_TEB >> 8;
        hdr[3] = ND_ETH_P_TEB & 0xff;
        hdr[4] = (uint8_t) (key >> 24);
        hdr[5] = (uint8_t) (key >> 16);
        hdr[6] = (uint8_t) (key >> 8);
        hdr[7] = (uint8_t) key;
}

int nd_gre_parse(const uint8_t *p, size_t len, uint32_t *key, uint32_t *src, size_t *off) {
        if (len < 20 || (p[0] >> 4) != 4)
                return -EINVAL;
        size_t ihl = (size_t) (p[0] & 15) * 4;
        if (ihl < 20 || len < ihl + 4 || p[9] != 47)
                return -EINVAL;
        const uint8_t *g = p + ihl;
        uint16_t flags = (uint16_t) (g[0] << 8 | g[1]), proto = (uint16_t) (g[2] << 8 | g[3]);
        size_t o = 4;
        /* version 0, no routing (obsolete), TEB, keyed */
        if ((flags & 7) != 0 || (flags & GRE_ROUTING) || proto != ND_ETH_P_TEB || !(flags & GRE_KEY))
                return -EINVAL;
        if (flags & GRE_CSUM)
                o += 4;
        if (len < ihl + o + 4)
                return -EINVAL;
        *key = (uint32_t) g[o] << 24 | (uint32_t) g[o + 1] << 16 | (uint32_t) g[o + 2] << 8 | g[o + 3];
        o += 4;
        if (flags & GRE_SEQ)
                o += 4;
        if (len < ihl + o + 14)
                return -EINVAL;
        memcpy(src, p + 12, 4);
        *off = ihl + o;
        return 0;
}

size_t nd_frame_arp_reply(const uint8_t *f, size_t len, nd_frame_lookup_fn lookup, const void *userdata,
                          uint8_t out[static ND_ARP_REPLY_LEN]) {
        /* Ethernet/IPv4 ARP request: htype 1, ptype 0x0800, 6, 4, op 1 */
        if (len < 42 || f[12] != 0x08 || f[13] != 0x06 || f[14] != 0 || f[15] != 1 || f[16] != 0x08 || f[17] != 0 ||
            f[18] != 6 || f[19] != 4 || f[20] != 0 || f[21] != 1)
                return 0;
        const nd_overlay_peer *p = lookup(userdata, AF_INET, f + 38);
        if (!p)
                return 0;
        memcpy(out, f + 6, 6);          /* to the asker */
        memcpy(out + 6, p->mac, 6);
        out[12] = 0x08, out[13] = 0x06;
        memcpy(out + 14, f + 14, 6);    /* htype, ptype, hlen, plen */
        out[20] = 0, out[21] = 2;       /* reply */
        memcpy(out + 22, p->mac, 6);    /* sender: the peer */
        memcpy(out + 28, f + 38, 4);
        memcpy(out + 32, f + 22, 6);    /* target: the asker */
        memcpy(out + 38, f + 28, 4);
        return ND_ARP_REPLY_LEN;
}

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n) {
        for (size_t i = 0; i + 1 < n; i += 2)
                s += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (n & 1)
                s += (uint32_t) p[n - 1] << 8;
        return s;
}

uint16_t nd_icmp6_csum(const uint8_t src[static 16], const uint8_t dst[static 16], const uint8_t *msg, size_t len) {
        uint32_t s = sum16(0, src, 16);
        s = sum16(s, dst, 16);
        s += (uint32_t) len + 58;
        s = sum16(s, msg, len);
        while (s >> 16)
                s = (s & 0xffff) + (s >> 16);
        return (uint16_t) ~s;
}

size_t nd_frame_na_reply(const uint8_t *f, size_t len, nd_frame_lookup_fn lookup, const void *userdata,
                         uint8_t out[static ND_NA_LEN]) {
        static const uint8_t unspec[16];
        /* Ethernet, IPv6 with ICMPv6 next, hop limit 255, NS (135/0) */
        if (len < 14 + 40 + 24 || f[12] != 0x86 || f[13] != 0xdd || (f[14] >> 4) != 6 || f[20] != 58 ||
            f[21] != 255 || f[54] != 135 || f[55] != 0)
                return 0;
        if (memcmp(f + 22, unspec, 16) == 0)
                return 0; /* duplicate address detection: not ours to answer */
        const nd_overlay_peer *p = lookup(userdata, AF_INET6, f + 62);
        if (!p)
                return 0;
        memset(out, 0, ND_NA_LEN);
        memcpy(out, f + 6, 6);
        memcpy(out + 6, p->mac, 6);
        out[12] = 0x86, out[13] = 0xdd;
        uint8_t *ip = out + 14, *icmp = out + 54;
        ip[0] = 0x60;
        ip[5] = 32;                     /* payload length */
        ip[6] = 58;
        ip[7] = 255;
        memcpy(ip + 8, f + 62, 16);     /* from the target */
        memcpy(ip + 24, f + 22, 16);    /* to the solicitor */
        icmp[0] = 136;
        icmp[4] = 0x60;                 /* solicited, override */
        memcpy(icmp + 8, f + 62, 16);
        icmp[24] = 2;                   /* option: target link-layer address */
        icmp[25] = 1;
        memcpy(icmp + 26, p->mac, 6);
        uint16_t c = nd_icmp6_csum(ip + 8, ip + 24, icmp, 32);
        icmp[2] = (uint8_t) (c >> 8);
        icmp[3] = (uint8_t) c;
        return ND_NA_LEN;
}
