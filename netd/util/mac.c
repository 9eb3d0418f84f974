/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>

#include "mac.h"

const char *nd_mac_fmt(const uint8_t mac[static 6], char buf[static ND_MAC_STRLEN]) {
        snprintf(buf, ND_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                 mac[5]);
        return buf;
}

int nd_mac_parse(const char *s, uint8_t mac[static 6]) {
        unsigned b[6];
        char tail;
        if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t) b[i];
        return 0;
}
