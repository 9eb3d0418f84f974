/* SPDX-License-Identifier: Apache-2.0 */
/* \file crc32c.h  CRC-32C (Castagnoli), table driven; for record framing. */
#pragma once
#include <stddef.h>
#include <stdint.h>

uint32_t nd_crc32c(uint32_t crc, const void *data, size_t n);
