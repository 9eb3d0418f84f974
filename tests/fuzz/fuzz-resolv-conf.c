/* SPDX-License-Identifier: Apache-2.0 */
/* The host's resolv.conf, where the embedded resolver finds its upstreams
 * (written by DHCP clients, NetworkManager, systemd-resolved, operators).
 * Invariants: at most @max servers, each an address of a known family that
 * formats and parses back to itself, and a prefix of the text yields a
 * prefix of the servers. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "prefix.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        nd_addr a[ND_DNS_MAX_UPSTREAMS], b[ND_DNS_MAX_UPSTREAMS], c;
        char f[ND_ADDR_STRLEN];

        if (size > 65536)
                return 0;
        size_t n = nd_dns_resolv_parse((const char *) data, size, a, ND_DNS_MAX_UPSTREAMS);
        assert(n <= ND_DNS_MAX_UPSTREAMS);
        for (size_t i = 0; i < n; i++) {
                assert(a[i].family == AF_INET || a[i].family == AF_INET6);
                assert(nd_addr_parse(nd_addr_fmt(&a[i], f), &c) == 0 && nd_addr_equal(&a[i], &c));
        }
        /* fewer slots: the first ones */
        size_t m = nd_dns_resolv_parse((const char *) data, size, b, 1);
        assert(m == (n ? 1 : 0) && (!m || nd_addr_equal(&a[0], &b[0])));
        return 0;
}
