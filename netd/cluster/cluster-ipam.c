/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file cluster-ipam.c
 * Cluster IPAM: the address blocks of overlay networks (blocks/ records,
 * a table by NETID/ADDR-LEN), claiming a block with a create-only write
 * and waking those waiting for it, picking addresses from our blocks,
 * counting their use, and giving a block back (compare-and-delete) when
 * its last address goes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "block.h"
#include "cluster-internal.h"
#include "diag.h"
#include "hmap.h"
#include "json-util.h"
#include "log.h"
#include "network.h"
#include "store.h"
#include "subnet.h"

/* The block length of a subnet: option ipam.block, else block.h's default. */
static unsigned block_len(const nd_network *n, const nd_prefix *subnet) {
        const char *o = json_string_value(json_object_get(n->spec.options, "ipam.block"));
        return nd_block_len(subnet, o ? (unsigned) strtoul(o, NULL, 10) : 0);
}

static void block_name(const char *netid, const nd_prefix *p, char *buf, size_t size) {
        char a[ND_ADDR_STRLEN];
        snprintf(buf, size, "%s/%s-%u", netid, nd_addr_fmt(&p->addr, a), p->len);
}

void nd_cl_block_key(const char *netid, const nd_prefix *p, char *buf, size_t size) {
        char name[ND_ID_LEN + 1 + ND_PREFIX_STRLEN];
        block_name(netid, p, name, sizeof(name));
        snprintf(buf, size, ND_KEY_GLOBAL_BLOCKS "%s", name);
}

static struct gblock *block_find(nd_cluster *cl, const char *netid, const nd_prefix *p) {
        char name[ND_ID_LEN + 1 + ND_PREFIX_STRLEN];
        block_name(netid, p, name, sizeof(name));
        return nd_hmap_get(cl->block_index, name);
}

/* The block of @n holding @a: one lookup per subnet (the block length is
 * fixed per subnet), whatever the number of blocks. */
struct gblock *nd_cl_block_of(nd_cluster *cl, const nd_network *n, const nd_addr *a) {
        for (size_t i = 0; i < n->spec.n_ipam; i++) {
                const nd_prefix *subnet = &n->spec.ipam[i].subnet;
                if (!nd_prefix_contains(subnet, a))
                        continue;
                nd_prefix p = { .addr = *a, .len = block_len(n, subnet) };
                nd_prefix_canon(&p);
                return block_find(cl, n->id, &p);
        }
        return NULL;
}

static struct gblock *block_add(nd_cluster *cl, const char *netid, const nd_prefix *p) {
        struct gblock *b;
        if (ND_GROW(cl->blocks, cl->n_blocks, cl->cap_blocks, 1) < 0 || !(b = calloc(1, sizeof(*b))))
                return NULL;
        b->p = *p;
        snprintf(b->netid, sizeof(b->netid), "%s", netid);
        block_name(netid, p, b->key, sizeof(b->key));
        if (nd_hmap_put(cl->block_index, b->key, b) < 0) {
                free(b);
                return NULL;
        }
        b->idx = cl->n_blocks;
        cl->blocks[cl->n_blocks++] = b;
        return b;
}

static void block_set_owner(nd_cluster *cl, struct gblock *b, const char *node) {
        if (strcmp(b->node, node) == 0)
                return;
        struct gnode *old = b->node[0] ? nd_hmap_get(cl->nodes, b->node) : NULL;
        if (old && old->n_blocks > 0)
                old->n_blocks--;
        snprintf(b->node, sizeof(b->node), "%s", node);
        struct gnode *g = nd_cl_node_get(cl, node, true);
        if (g)
                g->n_blocks++;
        nd_cl_node_gc(cl, old);
}

void nd_cl_block_drop(nd_cluster *cl, struct gblock *b) {
        size_t i = b->idx;
        struct gnode *g = b->node[0] ? nd_hmap_get(cl->nodes, b->node) : NULL;
        if (g && g->n_blocks > 0)
                g->n_blocks--;
        nd_hmap_remove(cl->block_index, b->key);
        cl->blocks[i] = cl->blocks[--cl->n_blocks];
        cl->blocks[i]->idx = i;
        free(b);
        nd_cl_node_gc(cl, g);
}

/* ---- blocks ---- */

void nd_cl_block_put(nd_cluster *cl, const char *key, const char *value, int64_t rev) {
        const char *rest = key + strlen(ND_KEY_GLOBAL_BLOCKS);
        char netid[ND_ID_LEN + 1], pfx[ND_PREFIX_STRLEN];
        json_error_t err;
        _cleanup_json_ json_t *j = json_loads(value, 0, &err);
        nd_prefix p;

        if (strlen(rest) < ND_ID_LEN + 2 || rest[ND_ID_LEN] != '/' || !j)
                return;
        memcpy(netid, rest, ND_ID_LEN);
        netid[ND_ID_LEN] = 0;
        snprintf(pfx, sizeof(pfx), "%s", rest + ND_ID_LEN + 1);
        char *dash = strrchr(pfx, '-');
        if (!dash)
                return;
        *dash = '/';
        if (nd_prefix_parse(pfx, ND_PREFIX_STRICT, &p, NULL) < 0)
                return;
        const char *node = json_string_value(json_object_get(j, "Node"));
        struct gblock *b = block_find(cl, netid, &p);
        if (!b && !(b = block_add(cl, netid, &p)))
                return;
        if (!nd_node_id_valid(node)) {
                /* (a record of an older netd, or damaged): the block is
                 * taken, by nobody we trust */
                nd_log(LOG_WARNING, "a block record without a valid node id: the block stays unused", "key=%s", key);
                block_set_owner(cl, b, "?");
                b->rev = rev;
                b->seen = true;
                return;
        }
        if (b->node[0] && strcmp(b->node, node) != 0) {
                /* the block changed hands: endpoints of the old holder in it
                 * are no longer believable */
                nd_hmap_iter it = {0};
                struct rep *e;
                while ((e = nd_hmap_next(cl->reps, &it)))
                        if (strcmp(e->node, b->node) == 0 && strcmp(e->netid, netid) == 0 &&
                            ((e->peer.ip4.family && nd_prefix_contains(&p, &e->peer.ip4)) ||
                             (e->peer.ip6.family && nd_prefix_contains(&p, &e->peer.ip6))))
                                nd_cl_rep_remove(cl, e);
        }
        block_set_owner(cl, b, node);
        b->rev = rev;
        b->seen = true;
}

/* ---- cluster IPAM ---- */

struct claim {
        nd_cluster *cl;
        char netid[ND_ID_LEN + 1];
        nd_prefix p;
};

/* Every waiter retries after any claim: a retry that still needs a
 * block waits again (bounded by the caller). */
static void wake_waiters(nd_cluster *cl, int r, const nd_diag *d) {
        struct waiter *ready = cl->waiters, *w;
        cl->waiters = NULL; /* a retried request may queue itself again */
        while ((w = ready)) {
                ready = w->next;
                w->cb(w->userdata, r, d);
                free(w);
        }
}

static void on_claimed(void *userdata, int r, int64_t rev) {
        struct claim *c = userdata;
        nd_cluster *cl = c->cl;
        struct gblock *b = block_find(cl, c->netid, &c->p);
        char pf[ND_PREFIX_STRLEN];
        nd_diag d = {0};

        if (b)
                b->claiming = false;
        if (r == 0) {
                if (!b)
                        b = block_add(cl, c->netid, &c->p);
                if (b) {
                        block_set_owner(cl, b, cl->id);
                        b->rev = rev;
                }
                nd_log(LOG_INFO, "address block claimed", "net=%.12s block=%s", c->netid, nd_prefix_fmt(&c->p, pf));
        } else if (r == -ECANCELED) {
                /* another host was quicker: the watch tells who; until
                 * then the block counts as someone else's */
                /* held by someone we do not know yet ("?"): the watch
                 * brings the holder; until then the block is not ours and
                 * not free either, or the next pick would claim it again
                 * and again (a record we cannot read stays "?") */
                if (b && !b->node[0])
                        snprintf(b->node, sizeof(b->node), "?");
                r = 0;
        } else {
                if (b && strcmp(b->node, cl->id) != 0)
                        nd_cl_block_drop(cl, b);
                nd_diag_set(&d, r, "claiming an address block in etcd failed: %s", strerror(-r));
        }
        wake_waiters(cl, r, r < 0 ? &d : NULL);
        free(c);
}

int nd_cluster_wait(nd_cluster *cl, void (*cb)(void *u, int r, const nd_diag *d), void *userdata) {
        struct waiter *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->cb = cb;
        w->userdata = userdata;
        w->next = cl->waiters;
        cl->waiters = w;
        return 0;
}

/* Claims block @p of @n; @retry (if given) runs when a claim of this
 * network completes.  Returns -EAGAIN (claim under way) or an error. */
static int claim(nd_cluster *cl, nd_network *n, const nd_prefix *p, void (*retry)(void *u, int r, const nd_diag *d),
                 void *userdata, nd_diag *d) {
        char key[256], *v;
        if (retry && nd_cluster_wait(cl, retry, userdata) < 0)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        nd_diag_set(d, -EAGAIN, "claiming an address block of network '%s'", n->spec.name);
        /* one claim per network at a time; the others wait for it */
        for (size_t i = 0; i < cl->n_blocks; i++)
                if (cl->blocks[i]->claiming && strcmp(cl->blocks[i]->netid, n->id) == 0)
                        return -EAGAIN;
        struct claim *c = calloc(1, sizeof(*c));
        json_t *j = json_pack("{s:s, s:s}", "Node", cl->id, "Name", cl->node);
        v = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!c || !v) {
                free(c);
                free(v);
                goto oom;
        }
        c->cl = cl;
        c->p = *p;
        snprintf(c->netid, sizeof(c->netid), "%s", n->id);
        nd_cl_block_key(n->id, p, key, sizeof(key));
        int r = nd_store_cas(cl->st, key, 0, v, on_claimed, c);
        free(v);
        if (r < 0) {
                free(c);
                if (retry) {
                        struct waiter *w = cl->waiters;
                        cl->waiters = w->next;
                        free(w);
                }
                return nd_diag_set(d, r, "etcd: %s", strerror(-r));
        }
        /* (without memory for the entry, the claim's callback adds it) */
        struct gblock *b = block_find(cl, n->id, p);
        if (b || (b = block_add(cl, n->id, p)))
                b->claiming = true;
        return -EAGAIN;
oom:
        if (retry) {
                struct waiter *w = cl->waiters;
                cl->waiters = w->next;
                free(w);
        }
        return nd_diag_set(d, -ENOMEM, "out of memory");
}

/* A free address of @sub inside block @p, reserved; -ENOSPC when full. */
static int take_in_block(nd_subnet *sub, const nd_prefix *p, nd_addr *ret) {
        unsigned bits = p->addr.family == AF_INET ? 32 : 128;
        uint64_t size = bits - p->len >= 12 ? 4096 : (1ull << (bits - p->len));
        nd_prefix one;
        for (uint64_t i = 0; i < size; i++) {
                nd_block_nth(&(nd_prefix) { .addr = p->addr, .len = p->len }, bits, i, &one);
                if (nd_subnet_reserve(sub, &one.addr) == 0) {
                        *ret = one.addr;
                        return 0;
                }
        }
        return -ENOSPC;
}

int nd_cluster_address_pick(nd_cluster *cl, nd_network *n, int family, const nd_addr *want, nd_addr *ret,
                            void (*retry)(void *u, int r, const nd_diag *d), void *userdata, nd_diag *d) {
        char s[ND_ADDR_STRLEN];
        if (!cl)
                return nd_diag_set(d, -EOPNOTSUPP, "no cluster store");
        for (size_t i = 0; i < n->spec.n_ipam; i++) {
                const nd_prefix *subnet = &n->spec.ipam[i].subnet;
                nd_subnet *sub = n->alloc[i];
                unsigned len = block_len(n, subnet);
                if (want ? !nd_prefix_contains(subnet, want) : subnet->addr.family != family)
                        continue;
                if (want) {
                        nd_prefix p = { .addr = *want, .len = len };
                        nd_prefix_canon(&p);
                        struct gblock *b = block_find(cl, n->id, &p);
                        if (b && b->claiming)
                                return claim(cl, n, &p, retry, userdata, d);
                        if (b && b->node[0] && strcmp(b->node, cl->id) != 0)
                                return nd_diag_set(d, -EADDRINUSE,
                                                   "address %s is in an address block of node '%s'",
                                                   nd_addr_fmt(want, s), nd_cl_node_label(cl, b->node));
                        if (!b)
                                return claim(cl, n, &p, retry, userdata, d);
                        int r = nd_subnet_reserve(sub, want);
                        if (r == -EEXIST)
                                return nd_diag_set(d, -EADDRINUSE, "address %s is already in use on network '%s'",
                                                   nd_addr_fmt(want, s), n->spec.name);
                        if (r < 0)
                                return nd_diag_set(d, r == -EADDRNOTAVAIL ? -EINVAL : r, "address %s: %s",
                                                   nd_addr_fmt(want, s), strerror(-r));
                        *ret = *want;
                        b->used++;
                        return 0;
                }
                /* our blocks first, in order */
                for (size_t k = 0; k < cl->n_blocks; k++) {
                        struct gblock *b = cl->blocks[k];
                        if (strcmp(b->netid, n->id) || strcmp(b->node, cl->id) || b->claiming || b->releasing ||
                            !nd_prefix_contains(subnet, &b->p.addr))
                                continue;
                        if (take_in_block(sub, &b->p, ret) == 0) {
                                b->used++;
                                return 0;
                        }
                }
                for (size_t k = 0; k < cl->n_blocks; k++)
                        if (cl->blocks[k]->claiming && strcmp(cl->blocks[k]->netid, n->id) == 0)
                                return claim(cl, n, &cl->blocks[k]->p, retry, userdata, d);
                /* the first block nobody holds */
                uint64_t nb = nd_block_count(subnet, len);
                for (uint64_t k = 0; k < nb; k++) {
                        nd_prefix p;
                        nd_block_nth(subnet, len, k, &p);
                        if (!block_find(cl, n->id, &p))
                                return claim(cl, n, &p, retry, userdata, d);
                }
                return nd_diag_set(d, -ENOSPC,
                                   "no free address block left in network '%s' (%s): every block is held by a node",
                                   n->spec.name, family == AF_INET6 ? "IPv6" : "IPv4");
        }
        if (want)
                return nd_diag_set(d, -EINVAL, "address %s is not in any subnet of network '%s'", nd_addr_fmt(want, s),
                                   n->spec.name);
        return nd_diag_set(d, -EINVAL, "network '%s' has no %s subnet", n->spec.name,
                           family == AF_INET6 ? "IPv6" : "IPv4");
}

struct unclaim {
        nd_cluster *cl;
        char netid[ND_ID_LEN + 1];
        nd_prefix p;
};

static void on_unclaimed(void *userdata, int r, int64_t rev) {
        struct unclaim *u = userdata;
        struct gblock *b = block_find(u->cl, u->netid, &u->p);
        char pf[ND_PREFIX_STRLEN];
        if (b) {
                b->releasing = false;
                if (r == 0 && b->used == 0)
                        nd_cl_block_drop(u->cl, b);
        }
        if (r == 0)
                nd_log(LOG_INFO, "address block released", "net=%.12s block=%s", u->netid, nd_prefix_fmt(&u->p, pf));
        else
                nd_log_errno(LOG_WARNING, r, "releasing an address block failed", "net=%.12s block=%s", u->netid,
                             nd_prefix_fmt(&u->p, pf));
        free(u);
}

static void unclaim(nd_cluster *cl, struct gblock *b) {
        char key[256];
        struct unclaim *u = calloc(1, sizeof(*u));
        if (!u || b->releasing || b->claiming) {
                free(u);
                return;
        }
        u->cl = cl;
        u->p = b->p;
        snprintf(u->netid, sizeof(u->netid), "%s", b->netid);
        nd_cl_block_key(b->netid, &b->p, key, sizeof(key));
        /* compare-and-delete: only the block as we hold it */
        nd_store_cmp cmp = { .key = key, .mod_rev = b->rev };
        nd_store_op op = { .type = ND_STORE_DELETE, .key = key };
        if (nd_store_txn(cl->st, &cmp, 1, &op, 1, on_unclaimed, u) < 0) {
                free(u);
                return;
        }
        b->releasing = true;
}

void nd_cluster_address_note(nd_cluster *cl, nd_network *n, const nd_addr *a, int delta) {
        struct gblock *b = cl ? nd_cl_block_of(cl, n, a) : NULL;
        if (!b || strcmp(b->node, cl->id) != 0)
                return;
        if (delta > 0)
                b->used++;
        else if (b->used > 0 && --b->used == 0 && cl->started)
                unclaim(cl, b);
}

void nd_cluster_blocks_trim(nd_cluster *cl) {
        for (size_t i = 0; cl && i < cl->n_blocks; i++)
                if (strcmp(cl->blocks[i]->node, cl->id) == 0 && cl->blocks[i]->used == 0)
                        unclaim(cl, cl->blocks[i]);
}
