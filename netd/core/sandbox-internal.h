/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An external sandbox (sandboxes.c) as the core's sandbox files share it:
 * the table's entry and its record's JSON (sandbox-json.c).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "container.h"
#include "ports.h"
#include "server.h"

#define CID_MAX 128

struct nd_sbx {
        char cid[CID_MAX + 1];
        char name[ND_NAME_MAX + 1];
        char service[ND_NAME_MAX + 1]; /* the service it is a task of, "": none */
        nd_endpoint ep;
        struct nd_dns_sandbox *dns_sb;
        nd_published pub;
        bool committed;
        bool going;                   /* deleted: its veth on the reaper */
        struct sbx_retry *waiters;    /* ADDs of the same key, after it */
        nd_addr dns[ND_DNS_MAX_UPSTREAMS]; /* its resolver's upstreams; none: netd's */
        size_t n_dns;
        bool dns_own;                 /* dns are its container's, not its network's */
        char netns[];                 /* shorter than PATH_MAX; allocated with it */
};

bool nd_sbx_cid_valid(const char *s);
bool nd_sbx_ifname_valid(const char *s);
/* A sandbox read back from its record (malloc'd), or -EINVAL (-ENOMEM). */
int nd_sbx_from_json(const json_t *j, nd_sbx **ret);
