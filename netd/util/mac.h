/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file mac.h
 * Ethernet addresses as text: "02:42:ac:11:00:02", the one spelling
 * records, the API, Docker's plugin protocol and the cluster's FDB
 * entries use.
 */
#pragma once

#include <stdint.h>

#define ND_MAC_STRLEN 18

/* Lower-case, colon-separated; returns @buf. */
const char *nd_mac_fmt(const uint8_t mac[static 6], char buf[static ND_MAC_STRLEN]);
/* Exactly six colon-separated hex bytes; -EINVAL otherwise. */
int nd_mac_parse(const char *s, uint8_t mac[static 6]);
