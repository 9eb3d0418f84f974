/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file diag.h
 * A message-carrying error for validators that feed the API: the caller owns
 * the buffer, the validator fills it and returns -errno.  No allocation.
 */
#pragma once

#include <stdarg.h>

typedef struct nd_diag {
        char msg[256];
} nd_diag;

/* Fill @d (may be NULL) and return @err (a negative errno) for tail calls. */
int nd_diag_set(nd_diag *d, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
