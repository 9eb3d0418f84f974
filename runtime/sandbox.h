/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file sandbox.h
 * The container's hardening, applied by the monitor's child inside the
 * container's namespaces (see monitor.c for the order):
 *   - nd_sandbox_mask_paths: Docker's masked paths (an empty read-only
 *     tmpfs over a directory, /dev/null over a file) and read-only paths
 *     under the new root, before pivot_root;
 *   - nd_sandbox_caps_apply: the bounding, permitted, effective and
 *     inheritable sets to @caps, ambient cleared, after the last mount;
 *   - nd_sandbox_seccomp_load: a profile as a libseccomp filter, last
 *     before exec.
 * Each returns 0 or -errno and fills @err with what failed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seccomp-profile.h"

int nd_sandbox_mask_paths(const char *root, char *err, size_t errsz);
int nd_sandbox_caps_apply(uint64_t caps, char *err, size_t errsz);
/* The calling process's bounding set: what "every capability" means for
 * a privileged container (netd itself may run without some). */
uint64_t nd_sandbox_caps_bounding(void);
/* @caps selects the rules with includes/excludes.caps; @no_new_privs
 * tells libseccomp whether to set it (without it, loading needs
 * CAP_SYS_ADMIN, so the caller loads before dropping capabilities). */
int nd_sandbox_seccomp_load(const nd_sc_profile *p, uint64_t caps, bool no_new_privs, char *err, size_t errsz);
