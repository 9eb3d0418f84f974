/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cni-proto.h
 * What a container runtime hands netd-cni: the network configuration on
 * stdin and the CNI_* environment, turned into the call netd-cni makes to
 * the daemon.  Pure (no I/O, no getenv), so it is fuzzed
 * (tests/fuzz/fuzz-cni-proto.c); cni.c does the reading and the HTTP.
 *
 * Checks happen in the order the CNI spec's errors suggest: the command,
 * the config's JSON, its version (VERSION skips the rest), type and name,
 * then the per-container variables.  A failure is a CNI error code
 * (1 incompatible version, 4 bad environment, 6 undecodable config,
 * 7 invalid config) with a message.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#define ND_CNI_DEFAULT_SOCKET "/run/netd/netd.sock"

typedef enum nd_cni_cmd {
        ND_CNI_ADD,
        ND_CNI_DEL,
        ND_CNI_CHECK,
        ND_CNI_VERSION,
        ND_CNI_STATUS,
        ND_CNI_GC,
        _ND_CNI_CMD_MAX,
        _ND_CNI_CMD_INVALID = -22,
} nd_cni_cmd;

/* The CNI_* variables; NULL or "" for unset. */
typedef struct nd_cni_env {
        const char *command, *containerid, *ifname, *netns, *args;
} nd_cni_env;

typedef struct nd_cni_call {
        nd_cni_cmd cmd;
        json_t *conf;           /* owned: the decoded config, or NULL */
        const char *version;    /* the config's cniVersion, borrowed; NULL: none */
        const char *socket;     /* borrowed (conf or a constant) */
        char path[512];         /* ADD, DEL, CHECK: /v1/sandboxes/CID/IFNAME */
        json_t *body;           /* ADD: owned, the POST /v1/sandboxes body */
} nd_cni_call;

typedef struct nd_cni_error {
        int code;
        const char *msg;        /* static text */
        const char *details;    /* NULL, or borrowed from the call, @env or text */
        char text[JSON_ERROR_TEXT_LENGTH];
} nd_cni_error;

/* The CNI versions netd-cni speaks, NULL-terminated. */
extern const char *const nd_cni_versions[];
int nd_cni_version_ok(const char *v);

/* 0 and *ret, or a CNI error code (> 0) in @err, -ENOMEM; *ret holds what
 * was parsed either way (its version belongs in the error object) and is
 * released with nd_cni_call_done(). */
int nd_cni_parse(const char *input, size_t len, const nd_cni_env *env, nd_cni_call *ret, nd_cni_error *err);
void nd_cni_call_done(nd_cni_call *c);
