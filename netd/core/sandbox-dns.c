/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A network's DNS servers for its sandboxes (netavark's "update NETWORK
 * --network-dns-servers", docs/podman.md): every sandbox on the network
 * that forwards to its network's servers (not its container's own
 * --dns) takes the new ones.  Their records change in one transaction;
 * the resolvers switch once it is durable, so that a restart never
 * reads back servers older than the ones in use.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "json-util.h"
#include "manager-internal.h"
#include "server.h"
#include "txn.h"

/* "DnsServers": absent, null, or at most ND_DNS_MAX_UPSTREAMS addresses. */
int nd_sandbox_dns_parse(const json_t *a, nd_addr *ret, size_t *ret_n, nd_diag *d) {
        json_t *v;
        size_t i;
        *ret_n = 0;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > ND_DNS_MAX_UPSTREAMS)
                return nd_diag_set(d, -EINVAL, "DnsServers must be an array of at most %d addresses", ND_DNS_MAX_UPSTREAMS);
        json_array_foreach(a, i, v)
                if (!json_is_string(v) || nd_addr_parse(json_string_value(v), &ret[(*ret_n)++]) < 0)
                        return nd_diag_set(d, -EINVAL, "DnsServers: '%.64s' is not an IP address",
                                           json_is_string(v) ? json_string_value(v) : "?");
        return 0;
}

struct dns_op {
        nd_manager *m;
        nd_manager_count_fn cb;
        void *userdata;
        char net_id[ND_ID_LEN + 1];
        nd_addr dns[ND_DNS_MAX_UPSTREAMS];
        size_t n_dns;
        json_t *keys; /* [[ContainerID, IfName], ...] of the records written */
};

static void on_written(void *userdata, int r, int64_t rev) {
        struct dns_op *op = userdata;
        nd_diag d = {0};
        nd_network *n = NULL;
        size_t count = 0, i;
        json_t *k;
        if (r < 0) {
                nd_diag_set(&d, r, "store: %s", strerror(-r));
                op->cb(op->userdata, r, 0, &d);
                goto out;
        }
        /* a sandbox deleted meanwhile is skipped: its delete came after
         * this write in the store's order, so its record is gone too */
        if (nd_manager_network_find(op->m, op->net_id, &n) == 0)
                json_array_foreach(op->keys, i, k) {
                        nd_sbx *s;
                        if (nd_manager_sandbox_find(op->m, json_string_value(json_array_get(k, 0)),
                                                    json_string_value(json_array_get(k, 1)), &s) == 0 &&
                            nd_sandbox_dns_follows(s, n)) {
                                nd_sandbox_dns_set(op->m, s, op->dns, op->n_dns);
                                count++;
                        }
                }
        op->cb(op->userdata, 0, count, NULL);
out:
        json_decref(op->keys);
        free(op);
}

int nd_manager_network_dns_set(nd_manager *m, nd_network *n, const json_t *req, nd_manager_count_fn cb,
                               void *userdata, nd_diag *d) {
        _cleanup_free_ struct dns_op *op = calloc(1, sizeof(*op));
        nd_store_txn_builder *t = NULL;
        json_t *servers = json_object_get(req, "DnsServers");
        int r;

        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (!json_is_array(servers))
                return nd_diag_set(d, -EINVAL, "DnsServers (an array of addresses) is required");
        if ((r = nd_sandbox_dns_parse(servers, op->dns, &op->n_dns, d)) < 0)
                return r;
        if (n->spec.internal && op->n_dns > 0)
                return nd_diag_set(d, -EINVAL, "network '%s' is internal: its sandboxes forward nowhere",
                                   n->spec.name);
        op->m = m;
        op->cb = cb;
        op->userdata = userdata;
        op->keys = json_array();
        snprintf(op->net_id, sizeof(op->net_id), "%s", n->id);
        (void) nd_store_txn_new(&t);
        for (size_t i = 0; i < m->n_sbxs; i++) {
                nd_sbx *s = m->sbxs[i];
                char key[512];
                if (!nd_sandbox_dns_follows(s, n))
                        continue;
                json_t *j = nd_sandbox_to_json(s);
                if (j)
                        json_object_set(j, "DnsServers", servers);
                snprintf(key, sizeof(key), ND_KEY_SANDBOXES "%s/%s", json_string_value(json_object_get(j, "ContainerID")),
                         json_string_value(json_object_get(j, "IfName")));
                json_array_append_new(op->keys, json_pack("[O, O]", json_object_get(j, "ContainerID"),
                                                          json_object_get(j, "IfName")));
                (void) nd_store_txn_put_json_new(t, key, j); /* takes j */
        }
        if (!op->keys) {
                nd_store_txn_free(t);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        r = nd_store_txn_submit(t, m->store, on_written, op);
        if (r < 0) {
                json_decref(op->keys);
                if (r == -E2BIG)
                        return nd_diag_set(d, r, "more than %d sandboxes on network '%s' to change at once",
                                           ND_STORE_MAX_TXN_OPS, n->spec.name);
                return r == -ENOMEM ? nd_diag_set(d, r, "out of memory") : nd_diag_set(d, r, "store: %s", strerror(-r));
        }
        TAKE_PTR(op);
        return 0;
}
