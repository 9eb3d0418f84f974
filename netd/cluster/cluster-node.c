/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cluster-node.c
 * This node in the cluster: its id (STATE_DIR/node-id), its registration
 * (live/NODE on its lease, created only if absent, and nodes/NODE), the
 * lease and its keep-alive, a lost lease replaced; and reclaiming what
 * dead nodes left (their blocks and node record, after the grace period
 * or at once by nd_cluster_node_remove()).  See cluster.h for the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster-internal.h"
#include "diag.h"
#include "hmap.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "rt-config.h"
#include "store.h"
#include "txn.h"

/* blocks reclaimed per transaction (etcd's default --max-txn-ops is 128,
 * and each block takes a compare and a delete) */
#define RECLAIM_BATCH 60

bool nd_node_id_valid(const char *id) {
        if (!id || strlen(id) != ND_NODE_ID_LEN)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

int nd_node_id_load(const char *state_dir, bool create, char ret[static ND_NODE_ID_LEN + 1]) {
        char path[4096], tmp[4200], buf[ND_NODE_ID_LEN + 2];
        snprintf(path, sizeof(path), "%s/node-id", state_dir);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t k = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (k < ND_NODE_ID_LEN)
                        return -EBADMSG;
                buf[ND_NODE_ID_LEN] = 0;
                if (!nd_node_id_valid(buf))
                        return -EBADMSG;
                memcpy(ret, buf, ND_NODE_ID_LEN + 1);
                return 0;
        }
        if (errno != ENOENT || !create)
                return -errno;
        uint8_t raw[ND_NODE_ID_LEN / 2];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw))
                return -EIO;
        for (size_t i = 0; i < sizeof(raw); i++)
                sprintf(buf + 2 * i, "%02x", raw[i]);
        buf[ND_NODE_ID_LEN] = '\n';
        /* written once, atomically: a crash leaves either no id or this one */
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, buf, ND_NODE_ID_LEN + 1) != ND_NODE_ID_LEN + 1 || fsync(fd) < 0) {
                int e = errno ? -errno : -EIO;
                close(fd);
                unlink(tmp);
                return e;
        }
        close(fd);
        if (rename(tmp, path) < 0)
                return -errno;
        buf[ND_NODE_ID_LEN] = 0;
        memcpy(ret, buf, ND_NODE_ID_LEN + 1);
        return 1;
}

/* ---- this node: identity, registration, lease ---- */

static void start_failed(nd_cluster *cl, int r) {
        if (!cl->started)
                cl->done(cl->userdata, r);
}

/* Wall-clock seconds, for people reading the records. */
static int64_t now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec;
}

static json_t *node_json(nd_cluster *cl, bool live) {
        char a[ND_ADDR_STRLEN];
        return json_pack("{s:s, s:s, s:s, s:s, s:I}", "Id", cl->id, "Name", cl->node, "Addr",
                         nd_addr_fmt(&cl->addr, a), "Version", ND_VERSION, live ? "Started" : "Registered",
                         (json_int_t) now_s());
}

static void on_registered(void *userdata, int r, int64_t rev) {
        nd_cluster *cl = userdata;
        cl->renewing = false;
        if (r == -ECANCELED) {
                /* live/ID appeared between our read and our write: read again */
                nd_cl_renew(cl);
                return;
        }
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, r == -EACCES ? "registering the node in etcd was refused: permission denied "
                                                       "(check this host's etcd user and role)"
                                                     : "registering the node in etcd failed",
                             "node=%s id=%s", cl->node, cl->id);
                cl->lease = 0;
                start_failed(cl, r);
                return;
        }
        nd_log(LOG_INFO, "node registered", "node=%s id=%s lease=%" PRIx64 " ttl=%u", cl->node, cl->id,
               (uint64_t) cl->lease, cl->ttl);
        /* the lease's TTL ran from no earlier than when it was asked for */
        cl->lease_ok_at = cl->lease_asked_at;
        nd_cl_slots_changed(cl);
        if (!ev_is_active(&cl->keepalive))
                ev_timer_again(cl->loop, &cl->keepalive);
        if (!cl->started) {
                r = nd_store_list(cl->st, ND_KEY_GLOBAL, nd_cl_on_listed, cl);
                if (r < 0)
                        start_failed(cl, r);
        } else {
                for (size_t i = 0; i < cl->n_leps; i++)
                        cl->leps[i].synced = false;
                nd_cl_sync_leps(cl);
        }
}

/* Register on @cl->lease: create live/ID (only if absent, or exactly the
 * revision we read: ours from before a restart) and write nodes/ID. */
static void register_node(nd_cluster *cl, int64_t live_rev) {
        _cleanup_json_ json_t *lv = node_json(cl, true), *nv = node_json(cl, false);
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        const char *k_live = nd_store_txn_keyf(t, ND_KEY_GLOBAL_LIVE "%s", cl->id);
        (void) nd_store_txn_cmp_rev(t, k_live, live_rev);
        (void) nd_store_txn_put_json_full(t, k_live, lv, JSON_COMPACT | JSON_SORT_KEYS, cl->lease);
        (void) nd_store_txn_put_json_full(t, nd_store_txn_keyf(t, ND_KEY_GLOBAL_NODES "%s", cl->id), nv,
                                          JSON_COMPACT | JSON_SORT_KEYS, 0);
        int r = nd_store_txn_submit(t, cl->st, on_registered, cl);
        if (r < 0) {
                cl->renewing = false;
                start_failed(cl, r);
        }
}

static void on_granted(void *userdata, int r, int64_t lease) {
        nd_cluster *cl = userdata;
        if (r < 0) {
                cl->renewing = false;
                nd_log_errno(LOG_ERR, r, "etcd: granting the node lease failed", "store=%s", nd_cl_store_name(cl));
                start_failed(cl, r);
                return;
        }
        cl->lease = lease;
        register_node(cl, 0);
}

struct reuse {
        nd_cluster *cl;
        int64_t lease, live_rev;
};

/* Our own registration from before a restart is still live: keep its
 * lease, so the endpoint records on it stay and peers see no change. */
static void on_reused(void *userdata, int r, int64_t lease) {
        struct reuse *u = userdata;
        nd_cluster *cl = u->cl;
        if (r == 0) {
                cl->lease = u->lease;
                nd_log(LOG_INFO, "kept the node lease of the previous run", "lease=%" PRIx64, (uint64_t) u->lease);
                register_node(cl, u->live_rev);
        } else if (nd_store_lease_grant(cl->st, cl->ttl, on_granted, cl) < 0) {
                cl->renewing = false;
                start_failed(cl, -ENOMEM);
        }
        free(u);
}

static void on_live_read(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_cluster *cl = userdata;
        if (r < 0) {
                cl->renewing = false;
                nd_log_errno(LOG_ERR, r, r == -EACCES ? "etcd refused to read this node's record: permission denied "
                                                       "(check this host's etcd user and role)"
                                                     : "etcd: reading this node's record failed",
                             "store=%s", nd_cl_store_name(cl));
                start_failed(cl, r);
                return;
        }
        if (n == 0) {
                r = nd_store_lease_grant(cl->st, cl->ttl, on_granted, cl);
                if (r < 0) {
                        cl->renewing = false;
                        start_failed(cl, r);
                }
                return;
        }
        json_error_t err;
        _cleanup_json_ json_t *j = json_loads(kvs[0].value, 0, &err);
        const char *addr = json_string_value(json_object_get(j, "Addr"));
        const char *name = json_string_value(json_object_get(j, "Name"));
        nd_addr a = {0};
        if (nd_addr_parse(addr, &a) < 0 || !nd_addr_equal(&a, &cl->addr)) {
                /* A live node holds our id at another address: two hosts
                 * share one state directory (a cloned disk or VM image).
                 * Going on would mix their addresses. */
                cl->renewing = false;
                nd_log(LOG_ERR, "this node's id is held by a live node at another address: the state directory was "
                       "probably copied from that host (a cloned machine or image). On this host, stop netd, remove "
                       "the node-id file of the state directory and start netd again to get a new id; if this host's "
                       "address changed, wait for the old registration to expire",
                       "id=%s holder_addr=%s holder_name=%s our_addr=%s file=%s/node-id ttl=%u", cl->id,
                       addr ? addr : "?", name ? name : "?", nd_addr_fmt(&cl->addr, (char[ND_ADDR_STRLEN]) {0}),
                       cl->state_dir, cl->ttl);
                start_failed(cl, -EEXIST);
                return;
        }
        struct reuse *u = calloc(1, sizeof(*u));
        if (!u || nd_store_lease_keepalive(cl->st, kvs[0].lease, on_reused, u) < 0) {
                free(u);
                cl->renewing = false;
                start_failed(cl, -ENOMEM);
                return;
        }
        *u = (struct reuse) { .cl = cl, .lease = kvs[0].lease, .live_rev = kvs[0].mod_rev };
}

void nd_cl_renew(nd_cluster *cl) {
        char key[128];
        if (cl->renewing)
                return;
        cl->renewing = true;
        cl->lease = 0;
        cl->lease_asked_at = nd_rt_boottime();
        snprintf(key, sizeof(key), ND_KEY_GLOBAL_LIVE "%s", cl->id);
        if (nd_store_get(cl->st, key, on_live_read, cl) < 0)
                cl->renewing = false;
}

struct keep {
        nd_cluster *cl;
        double sent;            /* nd_rt_boottime() when the keep-alive was sent */
};

static void on_kept(void *userdata, int r, int64_t lease) {
        _cleanup_free_ struct keep *k = userdata;
        nd_cluster *cl = k->cl;
        if (r == 0 && cl->lease && lease == cl->lease && k->sent > cl->lease_ok_at) {
                /* etcd took it: the lease lives until TTL after it was sent */
                cl->lease_ok_at = k->sent;
                /* every time: the core moves its tasks' deadline on */
                nd_cl_slots_changed(cl);
        }
        if (r == -ENOENT && lease == 0 && cl->lease) {
                cl->lease_losses++;
                nd_log(LOG_WARNING, "the node lease expired; registering again and re-publishing endpoints",
                       "node=%s id=%s", cl->node, cl->id);
                nd_cl_renew(cl);
        } else if (r < 0)
                nd_log_errno(LOG_DEBUG, r, "lease keep-alive failed; retrying");
        else
                cl->renewals++;
}

void nd_cl_on_keepalive(struct ev_loop *loop, ev_timer *t, int revents) {
        nd_cluster *cl = t->data;
        if (!cl->lease) {
                nd_cl_renew(cl);
                return;
        }
        struct keep *k = calloc(1, sizeof(*k));
        if (!k)
                return;
        *k = (struct keep) { .cl = cl, .sent = nd_rt_boottime() };
        if (nd_store_lease_keepalive(cl->st, cl->lease, on_kept, k) < 0)
                free(k);
}

/* ---- reclaiming what dead nodes left ---- */

struct reclaim {
        nd_cluster *cl;
        char id[ND_NODE_ID_LEN + 1];
        void (*cb)(void *u, int r, const nd_diag *d);
        void *userdata;
        size_t blocks;
        char (*keys)[300];      /* the blocks of the batch in flight */
        size_t nb;
        bool final;             /* the batch in flight removes the node record */
};

static int reclaim_send(struct reclaim *rc);

static void reclaim_done(struct reclaim *rc, int r, const nd_diag *d) {
        struct gnode *g = nd_hmap_get(rc->cl->nodes, rc->id);
        if (g)
                g->reclaiming = false;
        if (rc->cb)
                rc->cb(rc->userdata, r, d);
        nd_cl_node_gc(rc->cl, g);
        free(rc->keys);
        free(rc);
}

static void on_reclaimed(void *userdata, int r, int64_t rev) {
        struct reclaim *rc = userdata;
        nd_cluster *cl = rc->cl;
        nd_diag d = {0};
        if (r == -ECANCELED) {
                /* the node came back, or another host was quicker */
                nd_diag_set(&d, -EBUSY, "node %s changed while it was being removed (it came back, or another host "
                            "removed it first)", rc->id);
                return reclaim_done(rc, -EBUSY, &d);
        }
        if (r < 0) {
                nd_diag_set(&d, r, "removing node %s from etcd failed: %s", rc->id, strerror(-r));
                nd_log_errno(LOG_WARNING, r, "reclaiming a dead node's records failed", "id=%s", rc->id);
                return reclaim_done(rc, r, &d);
        }
        /* gone from etcd: drop our copies now, not when the watch says so,
         * so the next batch does not send them again */
        for (size_t i = 0; i < rc->nb; i++) {
                struct gblock *b = nd_hmap_get(cl->block_index, rc->keys[i] + strlen(ND_KEY_GLOBAL_BLOCKS));
                if (b && strcmp(b->node, rc->id) == 0)
                        nd_cl_block_drop(cl, b);
        }
        if (!rc->final) {
                if ((r = reclaim_send(rc)) == 1)
                        return;
                if (r < 0)
                        return reclaim_done(rc, r, NULL);
        }
        cl->reclaimed++;
        nd_log(LOG_INFO, "reclaimed the records and address blocks of a dead node", "id=%s blocks=%zu", rc->id,
               rc->blocks);
        reclaim_done(rc, 0, NULL);
}

/* One transaction: up to RECLAIM_BATCH of the node's blocks, each only as
 * we saw it, and, with the last of them, its node record and endpoint
 * prefix; all only while the node is not live.  Returns 1 when sent, 0
 * when there is nothing left. */
static int reclaim_send(struct reclaim *rc) {
        nd_cluster *cl = rc->cl;
        char (*keys)[300] = rc->keys ? rc->keys : (rc->keys = calloc(RECLAIM_BATCH, sizeof(*keys)));
        nd_store_txn_builder *t = NULL;
        size_t nb = 0, total = 0;
        struct gnode *g = nd_hmap_get(cl->nodes, rc->id);

        if (!keys)
                return -ENOMEM;
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_cmp_absent(t, nd_store_txn_keyf(t, ND_KEY_GLOBAL_LIVE "%s", rc->id));
        for (size_t i = 0; i < cl->n_blocks; i++) {
                struct gblock *b = cl->blocks[i];
                if (strcmp(b->node, rc->id) != 0 || b->rev <= 0)
                        continue;
                total++;
                if (nb == RECLAIM_BATCH)
                        continue;
                nd_cl_block_key(b->netid, &b->p, keys[nb], sizeof(keys[nb]));
                (void) nd_store_txn_cmp_rev(t, keys[nb], b->rev);
                (void) nd_store_txn_del(t, keys[nb]);
                nb++;
        }
        rc->nb = nb;
        rc->final = total == nb;
        if (rc->final) {
                const char *k_node = nd_store_txn_keyf(t, ND_KEY_GLOBAL_NODES "%s", rc->id);
                if (g && g->registered)
                        (void) nd_store_txn_cmp_rev(t, k_node, g->reg_rev);
                /* (its endpoint records are on its lease and went with it; a
                 * host's etcd role need not allow deleting another's) */
                (void) nd_store_txn_del(t, k_node);
        }
        if (nb == 0 && !(g && g->registered)) {
                nd_store_txn_free(t);
                return 0;
        }
        int r = nd_store_txn_submit(t, cl->st, on_reclaimed, rc);
        if (r < 0)
                return r;
        rc->blocks += nb;
        return 1;
}

static int reclaim(nd_cluster *cl, struct gnode *g, void (*cb)(void *u, int r, const nd_diag *d), void *userdata) {
        struct reclaim *rc = calloc(1, sizeof(*rc));
        if (!rc)
                return -ENOMEM;
        *rc = (struct reclaim) { .cl = cl, .cb = cb, .userdata = userdata };
        snprintf(rc->id, sizeof(rc->id), "%s", g->id);
        int r = reclaim_send(rc);
        if (r <= 0) {
                free(rc->keys);
                free(rc);
                return r;
        }
        g->reclaiming = true;
        nd_log(LOG_INFO, "reclaiming the address blocks of a dead node", "node=%s id=%s down_for=%.0fs", g->name,
               g->id, ev_now(cl->loop) - g->down_since);
        return 1;
}

void nd_cl_on_reclaim_timer(struct ev_loop *loop, ev_timer *t, int revents) {
        nd_cluster *cl = t->data;
        nd_hmap_iter it = {0};
        struct gnode *g;
        double now = ev_now(loop);
        while ((g = nd_hmap_next(cl->nodes, &it)))
                if (!g->live && !g->reclaiming && g->down_since > 0 && now - g->down_since >= cl->grace &&
                    strcmp(g->id, cl->id) != 0 && (g->registered || g->n_blocks > 0))
                        (void) reclaim(cl, g, NULL, NULL);
}

/* A node by id, unique id prefix, or unique name. */
static int node_find(nd_cluster *cl, const char *ref, struct gnode **ret) {
        nd_hmap_iter it = {0};
        struct gnode *g, *found = NULL;
        size_t n = 0;
        if ((g = nd_hmap_get(cl->nodes, ref))) {
                *ret = g;
                return 0;
        }
        while ((g = nd_hmap_next(cl->nodes, &it)))
                if ((strlen(ref) >= 4 && strncmp(g->id, ref, strlen(ref)) == 0) || strcmp(g->name, ref) == 0) {
                        found = g;
                        n++;
                }
        if (n > 1)
                return -ENOTUNIQ;
        if (!found)
                return -ENOENT;
        *ret = found;
        return 0;
}

int nd_cluster_node_remove(nd_cluster *cl, const char *ref, void (*cb)(void *u, int r, const nd_diag *d),
                           void *userdata, nd_diag *d) {
        struct gnode *g;
        if (!cl)
                return nd_diag_set(d, -EOPNOTSUPP, "this netd is not part of a cluster (no --store etcd://)");
        int r = node_find(cl, ref, &g);
        if (r == -ENOTUNIQ)
                return nd_diag_set(d, r, "node '%s' is ambiguous: give its id", ref);
        if (r < 0)
                return nd_diag_set(d, -ENOENT, "no such node: '%s'", ref);
        if (strcmp(g->id, cl->id) == 0)
                return nd_diag_set(d, -EBUSY, "node '%s' is this host: stop netd here instead", ref);
        if (g->live)
                return nd_diag_set(d, -EBUSY, "node '%s' (%s) is live at %s: stop it first, or wait %u s after it "
                                   "stopped for its lease to expire", g->name, g->id, g->addr, cl->ttl);
        if (g->reclaiming)
                return nd_diag_set(d, -EBUSY, "node '%s' is being removed already", ref);
        r = reclaim(cl, g, cb, userdata);
        if (r < 0)
                return nd_diag_set(d, r, "etcd: %s", strerror(-r));
        if (r == 0)
                return nd_diag_set(d, -ENOENT, "node '%s' has no records left", ref);
        return 0;
}
