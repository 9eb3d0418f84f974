/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file seccomp-profile.h
 * Seccomp profiles in Docker's JSON format, parsed into a plain structure
 * that runtime/seccomp.c turns into a libseccomp filter.  Pure: jansson
 * only, no libseccomp, so the daemon validates a profile before it records
 * a container and the parser can be fuzzed.
 *
 * Accepted: defaultAction, defaultErrnoRet, architectures (and archMap's
 * architecture/subArchitectures), syscalls[] with names (or the old name),
 * action, errnoRet, args[{index, value, valueTwo, op}], and
 * includes/excludes {caps, arches, minKernel}.  Other keys (comment,
 * flags, ...) are ignored, as Docker does.  SCMP_ACT_NOTIFY is refused
 * (no listener).  Syscall names are not checked against a table: a name
 * this libseccomp does not know is skipped when the filter is built, as
 * runc does, so one profile serves several kernels.
 *
 * nd_sc_profile_default() is Docker's default profile (moby
 * profiles/seccomp/default.json) in the same structure: an allow list
 * with EPERM for everything else, the calls that need a capability
 * (mount, unshare, setns, bpf, module loading, reboot, clock setters,
 * ...) allowed only when the container holds it, clone refused any
 * namespace flag without CAP_SYS_ADMIN and clone3 answering ENOSYS so
 * that libc falls back to clone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nd_diag;

#define ND_SC_PROFILE_MAX_BYTES (256 * 1024)
#define ND_SC_MAX_RULES 1024
#define ND_SC_MAX_NAMES 4096      /* over all rules */
#define ND_SC_MAX_ARGS 6
#define ND_SC_MAX_ARCHES 16
#define ND_SC_NAME_MAX 64

typedef enum nd_sc_action {
        ND_SC_KILL_THREAD,
        ND_SC_KILL_PROCESS,
        ND_SC_TRAP,
        ND_SC_ERRNO,
        ND_SC_TRACE,
        ND_SC_ALLOW,
        ND_SC_LOG,
        _ND_SC_ACTION_MAX,
        _ND_SC_ACTION_INVALID = -22,
} nd_sc_action;

typedef enum nd_sc_op {
        ND_SC_NE,
        ND_SC_LT,
        ND_SC_LE,
        ND_SC_EQ,
        ND_SC_GE,
        ND_SC_GT,
        ND_SC_MASKED_EQ,
        _ND_SC_OP_MAX,
        _ND_SC_OP_INVALID = -22,
} nd_sc_op;

typedef struct nd_sc_arg {
        unsigned index;           /* 0..5 */
        uint64_t value, value_two;
        nd_sc_op op;
} nd_sc_arg;

typedef struct nd_sc_rule {
        const char **names;       /* strings borrowed from the profile */
        size_t n_names;
        nd_sc_action action;
        int errno_ret;            /* ND_SC_ERRNO/TRACE: errnoRet, EPERM if absent */
        nd_sc_arg args[ND_SC_MAX_ARGS];
        size_t n_args;
        /* conditions: applies only if the container holds every cap of
         * includes_caps and none of excludes_caps, the native arch is in
         * includes_arches (if any) and not in excludes_arches, and the
         * kernel is at least min_kernel (major << 16 | minor, 0: any) */
        uint64_t includes_caps, excludes_caps;
        const char **includes_arches, **excludes_arches;
        size_t n_includes_arches, n_excludes_arches;
        unsigned min_kernel;
} nd_sc_rule;

typedef struct nd_sc_profile {
        nd_sc_action default_action;
        int default_errno;        /* for ND_SC_ERRNO: EPERM unless defaultErrnoRet */
        const char *arches[ND_SC_MAX_ARCHES]; /* libseccomp names: "x86_64", "x86", ...; none: native only */
        size_t n_arches;
        nd_sc_rule *rules;
        size_t n_rules;
        void *json;               /* owns the strings of a parsed profile */
} nd_sc_profile;

/* Parse a profile; on error -EINVAL with a message naming the field.
 * @json is borrowed (the profile takes its own reference). */
int nd_sc_profile_from_json(const void *json, nd_sc_profile **ret, struct nd_diag *d);
/* Parse profile text (size-limited, message with line and column). */
int nd_sc_profile_parse(const char *text, size_t len, nd_sc_profile **ret, struct nd_diag *d);
/* Docker's default profile for the native architecture (and its 32-bit
 * companions on x86_64 and aarch64). */
int nd_sc_profile_default(nd_sc_profile **ret);
nd_sc_profile *nd_sc_profile_free(nd_sc_profile *p);

const char *nd_sc_action_to_string(nd_sc_action a);
/* "SCMP_ARCH_X86_64" -> "x86_64"; NULL if unknown. */
const char *nd_sc_arch_from_string(const char *s);
/* The native architecture in Go's naming ("amd64"), as includes.arches
 * and excludes.arches use it. */
const char *nd_sc_native_arch(void);
/* Whether @r applies to a container with @caps on @arch and kernel
 * @kernel (major << 16 | minor). */
bool nd_sc_rule_applies(const nd_sc_rule *r, uint64_t caps, const char *arch, unsigned kernel);
