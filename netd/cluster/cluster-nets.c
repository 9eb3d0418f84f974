/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cluster-nets.c
 * Overlay networks in the cluster: their records (networks/, with the
 * name and VNI claimed alongside) joining and leaving the network table
 * the cluster serves (cl->nets), create and remove as one transaction each, and the tunnel port
 * of each network on this host.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bridge.h"
#include "cluster-internal.h"
#include "diag.h"
#include "hmap.h"
#include "json-util.h"
#include "log.h"
#include "network.h"
#include "overlay.h"
#include "store.h"
#include "txn.h"

#define VNI_MIN 4096

/* ---- networks ---- */

int nd_cluster_net_up(nd_cluster *cl, const nd_network *n) {
        char br[16];
        nd_bridge_name(n, br, sizeof(br));
        int r = nd_overlay_net_up(cl->ov, n->id, br, nd_network_vni(n), nd_network_gre(n), n->spec.mtu);
        if (r == -EOPNOTSUPP && !nd_network_gre(n))
                nd_log(LOG_ERR, "this kernel has no VXLAN support: the overlay network cannot carry traffic on this "
                       "host; use GRE networks (-o encap=gre, userspace) or load the vxlan module", "net=%s",
                       n->spec.name);
        else if (r == -ENOENT && nd_network_gre(n))
                nd_log(LOG_ERR, "no /dev/net/tun: GRE networks need TUN/TAP support", "net=%s", n->spec.name);
        else if (r < 0)
                nd_log_errno(LOG_ERR, r, "setting up the overlay tunnel failed", "net=%s encap=%s", n->spec.name,
                             nd_network_gre(n) ? "gre" : "vxlan");
        return r;
}

void nd_cl_net_put(nd_cluster *cl, const char *key, const char *value) {
        json_error_t err;
        nd_diag d = {0};
        nd_network *n = NULL;
        _cleanup_json_ json_t *j = json_loads(value, 0, &err);
        const char *id = key + strlen(ND_KEY_GLOBAL_NETWORKS);

        if (nd_cl_net_by_id(cl, id))
                return;
        if (!j || nd_network_from_json(j, &n, &d) < 0 || strcmp(n->id, id) != 0 || !nd_network_is_global(n)) {
                nd_log(LOG_ERR, "skipping unreadable overlay network record", "key=%s reason=\"%s\"", key,
                       j ? d.msg : err.text);
                nd_network_free(n);
                return;
        }
        char name[ND_NAME_MAX + 1];
        snprintf(name, sizeof(name), "%s", n->spec.name);
        int r = cl->nets.adopt(cl->userdata, n);
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "adding an overlay network failed", "net=%s", name);
                return;
        }
        nd_cluster_net_up(cl, n);
        nd_log(LOG_INFO, "overlay network joined", "net=%s id=%.12s vni=%u encap=%s", n->spec.name, n->id,
               nd_network_vni(n), nd_network_gre(n) ? "gre" : "vxlan");
}

void nd_cl_net_forget(nd_cluster *cl, nd_network *n) {
        nd_hmap_iter it = {0};
        struct rep *e;
        while ((e = nd_hmap_next(cl->reps, &it)))
                if (strcmp(e->netid, n->id) == 0)
                        nd_cl_rep_remove(cl, e);
        for (size_t i = cl->n_blocks; i-- > 0;)
                if (strcmp(cl->blocks[i]->netid, n->id) == 0)
                        nd_cl_block_drop(cl, cl->blocks[i]);
        nd_overlay_net_down(cl->ov, n->id);
        nd_log(LOG_INFO, "overlay network removed", "net=%s id=%.12s", n->spec.name, n->id);
        cl->nets.forget(cl->userdata, n);
}

/* ---- overlay network create and remove ---- */

struct net_create {
        nd_cluster *cl;
        nd_network *n;
        void (*cb)(void *u, int r, nd_network *n, const nd_diag *d);
        void *userdata;
        bool vni_given;
        int tries;
        char k_net[256], k_name[256];
};

static int create_send(struct net_create *op);

static void create_free(struct net_create *op) {
        nd_network_free(op->n);
        free(op);
}

static void on_name_checked(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        struct net_create *op = userdata;
        nd_diag d = {0};
        if (r == 0 && n == 0 && !op->vni_given && op->tries < 8) {
                /* the VNI was taken: another one */
                uint32_t v = 0;
                (void) getrandom(&v, sizeof(v), 0);
                char vs[16];
                snprintf(vs, sizeof(vs), "%u", VNI_MIN + v % (0xffffff - VNI_MIN));
                json_object_set_new(op->n->spec.options, "vni", json_string(vs));
                if ((r = create_send(op)) == 0)
                        return;
        }
        if (r < 0)
                nd_diag_set(&d, r, "network '%s': etcd: %s", op->n->spec.name, strerror(-r));
        else if (n > 0)
                r = nd_diag_set(&d, -EEXIST, "network with name '%s' already exists in the cluster", op->n->spec.name);
        else
                r = nd_diag_set(&d, -EEXIST, "VNI %u is already used by another overlay network", nd_network_vni(op->n));
        op->cb(op->userdata, r, NULL, &d);
        create_free(op);
}

static void on_net_created(void *userdata, int r, int64_t rev) {
        struct net_create *op = userdata;
        nd_cluster *cl = op->cl;
        nd_diag d = {0};

        if (r == -ECANCELED) {
                op->tries++;
                if (nd_store_get(cl->st, op->k_name, on_name_checked, op) == 0)
                        return;
        }
        if (r < 0) {
                nd_diag_set(&d, r, "network '%s': writing to etcd failed: %s", op->n->spec.name, strerror(-r));
                op->cb(op->userdata, r, NULL, &d);
                create_free(op);
                return;
        }
        nd_network *n = op->n;
        /* our own watch may have brought it in already */
        nd_network *have = nd_cl_net_by_id(cl, n->id);
        if (!have) {
                op->n = NULL;
                r = cl->nets.adopt(cl->userdata, n);
                if (r < 0) {
                        nd_diag_set(&d, r, "network '%s': %s", n->spec.name, strerror(-r));
                        op->cb(op->userdata, r, NULL, &d);
                        create_free(op);
                        return;
                }
                nd_cluster_net_up(cl, n);
                have = n;
        }
        nd_log(LOG_INFO, "overlay network created", "net=%s id=%.12s vni=%u encap=%s mtu=%u revision=%" PRId64,
               have->spec.name, have->id, nd_network_vni(have), nd_network_gre(have) ? "gre" : "vxlan",
               have->spec.mtu, rev);
        op->cb(op->userdata, 0, have, NULL);
        create_free(op);
}

static int create_send(struct net_create *op) {
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        const char *k_vni = nd_store_txn_keyf(t, ND_KEY_GLOBAL_VNIS "%u", nd_network_vni(op->n));
        (void) nd_store_txn_cmp_absent(t, op->k_net);
        (void) nd_store_txn_cmp_absent(t, op->k_name);
        (void) nd_store_txn_cmp_absent(t, k_vni);
        (void) nd_store_txn_put_json_new(t, op->k_net, nd_network_to_json(op->n));
        (void) nd_store_txn_put(t, op->k_name, op->n->id);
        (void) nd_store_txn_put(t, k_vni, op->n->id);
        return nd_store_txn_submit(t, op->cl->st, on_net_created, op);
}

unsigned nd_cluster_default_mtu(nd_cluster *cl, bool gre) {
        int mtu = nd_nl_addr_mtu(cl->nl, &cl->addr);
        if (mtu <= 0)
                mtu = 1500;
        return (unsigned) mtu - (gre ? ND_GRE_OVERHEAD : ND_VXLAN_OVERHEAD);
}

int nd_cluster_network_create(nd_cluster *cl, nd_network *n, void (*cb)(void *u, int r, nd_network *n, const nd_diag *d),
                              void *userdata, nd_diag *d) {
        struct net_create *op;
        int r;

        if (!cl) {
                nd_network_free(n);
                return nd_diag_set(d, -EOPNOTSUPP,
                                   "overlay networks need a cluster store: start netd with --store etcd://HOST:PORT "
                                   "and --advertise-addr");
        }
        if (nd_network_gre(n) && n->spec.mtu > ND_GRE_MTU_MAX) {
                r = nd_diag_set(d, -EINVAL, "GRE networks carry frames of at most %d bytes: mtu %u is too large",
                                ND_GRE_MTU_MAX, n->spec.mtu);
                nd_network_free(n);
                return r;
        }
        op = calloc(1, sizeof(*op));
        if (!op) {
                nd_network_free(n);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        op->cl = cl;
        op->n = n;
        op->cb = cb;
        op->userdata = userdata;
        op->vni_given = json_object_get(n->spec.options, "vni") != NULL;
        if (!op->vni_given) {
                uint32_t v = 0;
                (void) getrandom(&v, sizeof(v), 0);
                char vs[16];
                snprintf(vs, sizeof(vs), "%u", VNI_MIN + v % (0xffffff - VNI_MIN));
                json_object_set_new(n->spec.options, "vni", json_string(vs));
        }
        if (!n->spec.mtu) {
                /* recorded as an option so every host uses the same */
                char mtu[16];
                n->spec.mtu = nd_cluster_default_mtu(cl, nd_network_gre(n));
                snprintf(mtu, sizeof(mtu), "%u", n->spec.mtu);
                json_object_set_new(n->spec.options, "mtu", json_string(mtu));
        }
        snprintf(op->k_net, sizeof(op->k_net), ND_KEY_GLOBAL_NETWORKS "%s", n->id);
        snprintf(op->k_name, sizeof(op->k_name), ND_KEY_GLOBAL_NETWORK_NAMES "%s", n->spec.name);
        r = create_send(op);
        if (r < 0) {
                create_free(op);
                return nd_diag_set(d, r, "etcd: %s", strerror(-r));
        }
        return 0;
}

struct net_remove {
        nd_cluster *cl;
        nd_network *n;
        void (*cb)(void *u, int r, const nd_diag *d);
        void *userdata;
};

static void on_net_removed(void *userdata, int r, int64_t rev) {
        struct net_remove *op = userdata;
        nd_diag d = {0};
        if (r < 0) {
                nd_diag_set(&d, r, "network '%s': removing it from etcd failed: %s", op->n->spec.name, strerror(-r));
                op->cb(op->userdata, r, &d);
        } else {
                /* (hidden from lookups while removing: use ours) */
                op->cb(op->userdata, 0, NULL);
                nd_cl_net_forget(op->cl, op->n);
        }
        free(op);
}

/* The hosts other than this one that hold endpoint records or address
 * blocks on @n, by name, into @buf; their count. */
size_t nd_cluster_network_users(nd_cluster *cl, const nd_network *n, char *buf, size_t size) {
        nd_hmap_iter it = {0};
        struct gnode *g;
        size_t count = 0, k = 0;
        if (size)
                buf[0] = 0;
        while (cl && (g = nd_hmap_next(cl->nodes, &it))) {
                bool uses = false;
                if (strcmp(g->id, cl->id) == 0)
                        continue;
                for (size_t i = 0; i < cl->n_blocks && !uses; i++)
                        uses = strcmp(cl->blocks[i]->netid, n->id) == 0 && strcmp(cl->blocks[i]->node, g->id) == 0;
                nd_hmap_iter ri = {0};
                struct rep *e;
                while (!uses && (e = nd_hmap_next(cl->reps, &ri)))
                        uses = strcmp(e->netid, n->id) == 0 && strcmp(e->node, g->id) == 0;
                if (!uses)
                        continue;
                if (k < size)
                        k += (size_t) snprintf(buf + k, size - k, "%s'%s'%s", count ? ", " : "",
                                               g->name[0] ? g->name : g->id, g->live ? "" : " (down)");
                count++;
        }
        return count;
}

int nd_cluster_network_remove(nd_cluster *cl, nd_network *n, void (*cb)(void *u, int r, const nd_diag *d),
                              void *userdata, nd_diag *d) {
        char users[160];
        if (!cl)
                return nd_diag_set(d, -EOPNOTSUPP, "no cluster store");
        size_t nu = nd_cluster_network_users(cl, n, users, sizeof(users));
        if (nu)
                return nd_diag_set(d, -EBUSY, "network '%s' has active endpoints or addresses on %s %s",
                                   n->spec.name, nu > 1 ? "nodes" : "node", users);
        for (size_t i = 0; i < cl->n_leps; i++)
                if (strncmp(cl->leps[i].key + strlen(ND_KEY_GLOBAL_ENDPOINTS), n->id, ND_ID_LEN) == 0 && cl->leps[i].value)
                        return nd_diag_set(d, -EBUSY, "network '%s' has endpoints on this node", n->spec.name);
        struct net_remove *op = calloc(1, sizeof(*op));
        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *op = (struct net_remove) { .cl = cl, .n = n, .cb = cb, .userdata = userdata };
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_del(t, nd_store_txn_keyf(t, ND_KEY_GLOBAL_NETWORKS "%s", n->id));
        (void) nd_store_txn_del(t, nd_store_txn_keyf(t, ND_KEY_GLOBAL_NETWORK_NAMES "%s", n->spec.name));
        (void) nd_store_txn_del(t, nd_store_txn_keyf(t, ND_KEY_GLOBAL_VNIS "%u", nd_network_vni(n)));
        (void) nd_store_txn_del_prefix(t, nd_store_txn_keyf(t, ND_KEY_GLOBAL_BLOCKS "%s/", n->id));
        int r = nd_store_txn_submit(t, cl->st, on_net_removed, op);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "etcd: %s", strerror(-r));
        }
        return 0;
}
