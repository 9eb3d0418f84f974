/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file caps.h
 * Capability names and a container's capability set, with Docker's
 * semantics: the default set, --cap-add/--cap-drop (a name with or without
 * "CAP_", any case, or "ALL") and --privileged.  Pure: no I/O, no kernel
 * calls, so the daemon (validation, inspect) and the monitor (applying)
 * share it.
 *
 * A set is a bit mask, bit n for capability n.  The table knows
 * capabilities 0..ND_CAP_LAST; a kernel with more has them dropped unless
 * the container is privileged (the monitor then leaves the sets alone).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nd_diag;

#define ND_CAP_LAST 40            /* CAP_CHECKPOINT_RESTORE, Linux 5.9 */
#define ND_CAP_NAME_MAX 32        /* "CAP_" + the longest name + NUL */

/* Docker's default set: 0x00000000a80425fb. */
uint64_t nd_caps_default(void);
/* Every capability of the table. */
uint64_t nd_caps_all(void);
/* "CAP_CHOWN" for 0; NULL past the table. */
const char *nd_cap_to_name(unsigned cap);
/* Normalise @name (upper case, "CAP_" prefix; "ALL" stays "ALL") into
 * @ret; -EINVAL with a message naming it when unknown.  Returns the
 * capability number, or ND_CAP_ALL for "ALL". */
#define ND_CAP_ALL 64
int nd_cap_normalize(const char *name, char ret[ND_CAP_NAME_MAX], struct nd_diag *d);
/* The effective set from normalised add and drop lists (Docker's
 * TweakCapabilities): privileged -> all; ALL in @add -> all but @drop;
 * ALL in @drop -> only @add; else default - @drop + @add. */
int nd_caps_effective(const char *const *add, size_t n_add, const char *const *drop, size_t n_drop,
                      bool privileged, uint64_t *ret, struct nd_diag *d);
