/* SPDX-License-Identifier: Apache-2.0 */
#include "crc32c.h"

static uint32_t table[256];

static void init_table(void) {
        for (uint32_t i = 0; i < 256; i++) {
                uint32_t c = i;
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
                table[i] = c;
        }
}

uint32_t nd_crc32c(uint32_t crc, const void *data, size_t n) {
        const uint8_t *p = data;
        if (!table[1])
                init_table();
        crc = ~crc;
        while (n--)
                crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
        return ~crc;
}
