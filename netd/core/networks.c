/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network table: networks (create, remove, adopt from the cluster,
 * lookup), their bridges and firewall elements, and address requests and
 * releases against their subnets (cluster blocks on overlays).  Memory
 * holds a reservation while the store write is in flight; a failed write
 * undoes it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <ev.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"
#include "cluster.h"
#include "container.h"
#include "diag.h"
#include "link-reaper.h"
#include "firewall.h"
#include "grow.h"
#include "server.h"
#include "json-util.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "nl-link.h"
#include "nl-host.h"
#include "pool.h"
#include "store.h"
#include "subnet.h"
#include "txn.h"

#include "manager-internal.h"
#include "container-internal.h"

/* ---- network table ------------------------------------------------------- */

/* Forwarding must be on for bridge networks to reach anything; netd
 * turns it on as Docker does (and says so). */
void nd_sysctl_on(const char *path) {
        char c = 0;
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return;
        if (read(fd, &c, 1) == 1 && c != '1') {
                if (pwrite(fd, "1", 1, 0) == 1)
                        nd_log(LOG_INFO, "sysctl set", "sysctl=%s value=1", path + strlen("/proc/sys/"));
                else
                        nd_log_errno(LOG_WARNING, errno, "cannot set sysctl", "sysctl=%s", path);
        }
        close(fd);
}

/* Localhost DNAT (127.0.0.1:PORT to a container) needs route_localnet on
 * the bridge; IPv6 networks need IPv6 forwarding. */
void nd_manager_net_sysctls(nd_manager *m, const nd_network *n) {
        char br[16], path[96];
        if (!m->fw)
                return;
        nd_bridge_name(n, br, sizeof(br));
        snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", br);
        nd_sysctl_on(path);
        if (n->spec.ipv6)
                nd_sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding");
}

/* A network's nftables elements (bridge, subnets, gateways). */
static void net_fw_apply(nd_manager *m, struct net_slot *s) {
        nd_nft_elem elems[ND_FW_NET_ELEMS_MAX];
        char what[ND_NAME_MAX + 16];

        if (!m->fw)
                return;
        if (!s->fw) {
                snprintf(what, sizeof(what), "network %s", s->net->spec.name);
                s->fw = nd_fw_owner_new(m->fw, what);
                if (!s->fw) {
                        nd_log(LOG_ERR, "out of memory for firewall state", "net=%s", s->net->spec.name);
                        return;
                }
        }
        int r = nd_fw_owner_set(m->fw, s->fw, elems, nd_fw_network_elems(s->net, elems));
        if (r < 0)
                nd_log_errno(LOG_ERR, r, "programming nftables for the network failed", "net=%s",
                             s->net->spec.name);
}

int nd_manager_nets_add(nd_manager *m, nd_network *n) {
        /* the view has the capacity of the table */
        size_t cap_view = m->cap_nets;
        if (ND_GROW(m->view, m->n_nets, cap_view, 1) < 0 || ND_GROW(m->nets, m->n_nets, m->cap_nets, 1) < 0)
                return -ENOMEM;
        m->nets[m->n_nets++] = (struct net_slot) { .net = n };
        net_fw_apply(m, &m->nets[m->n_nets - 1]);
        nd_resolver_host_nets(m);
        return 0;
}

static struct net_slot *nets_slot(nd_manager *m, const nd_network *n) {
        for (size_t i = 0; i < m->n_nets; i++)
                if (m->nets[i].net == n)
                        return &m->nets[i];
        return NULL;
}

static void nets_drop(nd_manager *m, nd_network *n) {
        for (size_t i = 0; i < m->n_nets; i++)
                if (m->nets[i].net == n) {
                        nd_fw_owner_free(m->fw, m->nets[i].fw);
                        memmove(m->nets + i, m->nets + i + 1, (m->n_nets - i - 1) * sizeof(*m->nets));
                        m->n_nets--;
                        nd_resolver_host_nets(m);
                        break;
                }
        nd_network_free(n);
}

int nd_manager_net_adopt(nd_manager *m, nd_network *n) {
        int r = nd_bridge_setup(m->nl, n);
        if (r < 0) {
                nd_network_free(n);
                return r;
        }
        r = nd_manager_nets_add(m, n);
        if (r < 0) {
                nd_bridge_teardown(m->nl, n);
                nd_network_free(n);
                return r;
        }
        n->committed = true;
        nd_manager_net_sysctls(m, n);
        /* (those read back at start-up are no news) */
        if (m->started)
                nd_manager_event_network(m, "create", n);
        return 0;
}

static void bridge_remove(nd_manager *m, const nd_network *n);

void nd_manager_net_forget(nd_manager *m, nd_network *n) {
        nd_manager_event_network(m, "destroy", n);
        bridge_remove(m, n);
        nets_drop(m, n);
}

static bool visible(const struct net_slot *s) {
        return s->net->committed && !s->removing;
}

static bool net_ref(const void *objs, size_t i, const char **name, const char **id) {
        const struct net_slot *s = (const struct net_slot *) objs + i;
        *name = s->net->spec.name;
        *id = s->net->id;
        return visible(s);
}

int nd_manager_network_find(nd_manager *m, const char *ref, nd_network **ret) {
        int i = nd_ref_resolve(ref, m->nets, m->n_nets, net_ref);
        if (i < 0)
                return i;
        *ret = m->nets[i].net;
        return 0;
}

size_t nd_manager_networks(nd_manager *m, nd_network ***ret) {
        size_t n = 0;
        for (size_t i = 0; i < m->n_nets; i++)
                if (visible(&m->nets[i]))
                        m->view[n++] = m->nets[i].net;
        *ret = m->view;
        return n;
}

/* ---- create -------------------------------------------------------------- */

struct net_op {
        nd_manager *m;
        nd_network *net;
        nd_manager_net_fn cb;
        void *userdata;
};

static void net_key(const nd_network *n, char *buf, size_t size) {
        snprintf(buf, size, ND_KEY_NETWORKS "%s", n->id);
}

static void name_key(const char *name, char *buf, size_t size) {
        snprintf(buf, size, ND_KEY_NETWORK_NAMES "%s", name);
}

void nd_manager_address_prefix(const nd_network *n, char *buf, size_t size) {
        snprintf(buf, size, ND_KEY_IPAM "%s/", n->id);
}

int nd_manager_prefix_owner_add(nd_manager *m, const nd_prefix_owner_ops *ops, void *userdata) {
        return nd_owner_slot_add(m->prefix_owners, &m->n_prefix_owners, ops, userdata);
}

int64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_created(void *userdata, int r, int64_t rev) {
        struct net_op *op = userdata;
        nd_manager *m = op->m;
        nd_diag d = {0};

        if (r < 0) {
                if (r == -ECANCELED)
                        nd_diag_set(&d, -EEXIST, "network '%s' already exists in the store", op->net->spec.name);
                else
                        nd_diag_set(&d, r, "network '%s': writing to the store failed: %s", op->net->spec.name,
                                    strerror(-r));
                nd_log_errno(LOG_WARNING, r, "network create failed", "net=%s", op->net->spec.name);
                nd_bridge_teardown(m->nl, op->net);
                nets_drop(m, op->net);
                op->cb(op->userdata, r == -ECANCELED ? -EEXIST : r, NULL, &d);
        } else {
                char s[ND_PREFIX_STRLEN] = "";
                op->net->committed = true;
                if (op->net->spec.n_ipam)
                        nd_prefix_fmt(&op->net->spec.ipam[0].subnet, s);
                nd_log(LOG_INFO, "network created", "net=%s id=%.12s driver=%s subnet=%s revision=%" PRId64,
                       op->net->spec.name, op->net->id, nd_driver_to_string(op->net->spec.driver), s, rev);
                nd_manager_event_network(m, "create", op->net);
                op->cb(op->userdata, 0, op->net, NULL);
        }
        free(op);
}

static const nd_network *overlapping(nd_manager *m, const nd_prefix *p, const nd_prefix **ret_with) {
        for (size_t i = 0; i < m->n_nets; i++) {
                const nd_network *n = m->nets[i].net;
                for (size_t k = 0; k < n->spec.n_ipam; k++)
                        if (nd_prefix_overlap(p, &n->spec.ipam[k].subnet)) {
                                *ret_with = &n->spec.ipam[k].subnet;
                                return n;
                        }
        }
        return NULL;
}

const char *nd_manager_subnet_overlap(nd_manager *m, const nd_prefix *p, nd_prefix *ret_with) {
        static char who[ND_NAME_MAX + 16];
        const nd_prefix *with;
        const nd_network *n = overlapping(m, p, &with);
        if (!n)
                return NULL;
        *ret_with = *with;
        snprintf(who, sizeof(who), "network '%s'", n->spec.name);
        return who;
}

int nd_manager_subnet_pick(nd_manager *m, nd_prefix *ret, nd_diag *d) {
        _cleanup_free_ nd_prefix *busy = NULL;
        size_t n_busy = 0, n_host = 0;
        nd_prefix *host = NULL;
        int r;

        /* The host's own addresses and routes: a container subnet that
         * shadows them would cut the host off from that network. */
        r = nd_nl_host_prefixes(m->nl, &host, &n_host);
        if (r < 0)
                return nd_diag_set(d, r, "cannot read the host's routes: %s", strerror(-r));
        size_t reserved = 0;
        for (size_t i = 0; i < m->n_prefix_owners; i++) {
                const nd_prefix_owner_ops *ops = m->prefix_owners[i].ops;
                reserved += ops->reserved(m->prefix_owners[i].userdata, NULL, 0);
        }
        size_t total = n_host + m->n_nets * ND_NETWORK_MAX_SUBNETS + reserved;
        busy = calloc(total ? total : 1, sizeof(*busy));
        if (!busy) {
                free(host);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        memcpy(busy, host, n_host * sizeof(*host));
        n_busy = n_host;
        free(host);
        for (size_t i = 0; i < m->n_nets; i++)
                for (size_t k = 0; k < m->nets[i].net->spec.n_ipam; k++)
                        busy[n_busy++] = m->nets[i].net->spec.ipam[k].subnet;
        for (size_t i = 0; i < m->n_prefix_owners; i++) {
                const nd_prefix_owner_ops *ops = m->prefix_owners[i].ops;
                size_t k = ops->reserved(m->prefix_owners[i].userdata, busy + n_busy, reserved);
                n_busy += k;
                reserved -= k;
        }
        r = nd_pool_pick(m->pools, AF_INET, busy, n_busy, ret);
        if (r < 0)
                return nd_diag_set(d, -ENOSPC,
                                   "no available IPv4 subnet in the address pools that overlaps neither "
                                   "another network nor the host's routes; give one with --subnet");
        return 0;
}

int nd_manager_network_create(nd_manager *m, nd_network_spec *spec, nd_manager_net_fn cb, void *userdata,
                              nd_diag *d) {
        _cleanup_(nd_network_freep) nd_network *n = NULL;
        _cleanup_(nd_store_txn_freep) nd_store_txn_builder *t = NULL;
        char id[ND_ID_LEN + 1], k_net[256], k_name[256], a[ND_PREFIX_STRLEN], b[ND_PREFIX_STRLEN];
        bool has4 = false;
        int r;

        if (m->n_nets >= ND_MAX_NETWORKS) {
                nd_network_spec_done(spec);
                return nd_diag_set(d, -ENOSPC, "too many networks (limit %d)", ND_MAX_NETWORKS);
        }
        for (size_t i = 0; i < m->n_nets; i++)
                if (strcmp(m->nets[i].net->spec.name, spec->name) == 0) {
                        r = nd_diag_set(d, -EEXIST, "network with name '%s' already exists", spec->name);
                        nd_network_spec_done(spec);
                        return r;
                }
        for (size_t i = 0; i < spec->n_ipam; i++) {
                const nd_prefix *with;
                const nd_network *o = overlapping(m, &spec->ipam[i].subnet, &with);
                if (o) {
                        r = nd_diag_set(d, -EADDRINUSE, "subnet '%s' overlaps subnet '%s' of network '%s'",
                                        nd_prefix_fmt(&spec->ipam[i].subnet, a), nd_prefix_fmt(with, b),
                                        o->spec.name);
                        nd_network_spec_done(spec);
                        return r;
                }
                nd_prefix pw;
                const char *pool = NULL;
                for (size_t k = 0; !pool && k < m->n_prefix_owners; k++) {
                        const nd_prefix_owner_ops *ops = m->prefix_owners[k].ops;
                        pool = ops->clash(m->prefix_owners[k].userdata, spec, &spec->ipam[i].subnet, &pw);
                }
                if (pool) {
                        r = nd_diag_set(d, -EADDRINUSE, "subnet '%s' overlaps subnet '%s' of %s",
                                        nd_prefix_fmt(&spec->ipam[i].subnet, a), nd_prefix_fmt(&pw, b), pool);
                        nd_network_spec_done(spec);
                        return r;
                }
                has4 |= spec->ipam[i].subnet.addr.family == AF_INET;
        }
        if (!has4 && spec->ipv4) {
                if (spec->n_ipam >= ND_NETWORK_MAX_SUBNETS) {
                        nd_network_spec_done(spec);
                        return nd_diag_set(d, -EINVAL, "at most %d subnets per network", ND_NETWORK_MAX_SUBNETS);
                }
                nd_prefix picked;
                r = nd_manager_subnet_pick(m, &picked, d);
                if (r < 0) {
                        nd_network_spec_done(spec);
                        return r;
                }
                /* IPv4 first: it carries the default route and the first
                 * address a container gets. */
                memmove(spec->ipam + 1, spec->ipam, spec->n_ipam * sizeof(*spec->ipam));
                spec->ipam[0] = (nd_ipam_config) { .subnet = picked };
                spec->n_ipam++;
        }
        r = nd_id_new(id);
        if (r < 0) {
                nd_network_spec_done(spec);
                return nd_diag_set(d, r, "cannot generate an id: %s", strerror(-r));
        }
        r = nd_network_new(spec, id, now_us(), &n, d);
        if (r < 0)
                return r;
        if (nd_network_is_global(n))
                /* the cluster writes it to etcd; every host (this one
                 * too) then gives it a bridge and a tunnel port */
                return nd_cluster_network_create(m->cluster, TAKE_PTR(n), cb, userdata, d);

        net_key(n, k_net, sizeof(k_net));
        name_key(n->spec.name, k_name, sizeof(k_name));
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_cmp_absent(t, k_net);
        (void) nd_store_txn_cmp_absent(t, k_name);
        (void) nd_store_txn_put_json_new(t, k_net, nd_network_to_json(n));
        (void) nd_store_txn_put(t, k_name, n->id);
        if (nd_store_txn_error(t) < 0)
                return nd_diag_set(d, -ENOMEM, "out of memory");

        /* The kernel side first: a network is only recorded once its bridge
         * exists; if the record then fails, the bridge goes again. */
        char br[16], other[16];
        nd_bridge_name(n, br, sizeof(br));
        for (size_t i = 0; i < m->n_nets; i++) {
                nd_bridge_name(m->nets[i].net, other, sizeof(other));
                if (strcmp(br, other) == 0)
                        return nd_diag_set(d, -EEXIST, "bridge '%s' is already used by network '%s'", br,
                                           m->nets[i].net->spec.name);
        }
        r = nd_bridge_setup(m->nl, n);
        if (r < 0)
                /* no teardown: the name may belong to a link we did not
                 * create */
                return nd_diag_set(d, r == -ENOTUNIQ ? -EEXIST : r, "creating bridge '%s' failed: %s", br,
                                   r == -ENOTUNIQ ? "a link that is not a bridge has that name" : strerror(-r));

        struct net_op *op = calloc(1, sizeof(*op));
        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *op = (struct net_op) { .m = m, .net = n, .cb = cb, .userdata = userdata };
        r = nd_manager_nets_add(m, n);
        if (r == 0)
                nd_manager_net_sysctls(m, n);
        if (r < 0) {
                nd_bridge_teardown(m->nl, n);
                free(op);
                return nd_diag_set(d, r, "out of memory");
        }
        r = nd_store_txn_submit(TAKE_PTR(t), m->store, on_created, op);
        if (r < 0) {
                nd_bridge_teardown(m->nl, n);
                nd_fw_owner_free(m->fw, m->nets[m->n_nets - 1].fw);
                m->n_nets--;
                nd_resolver_host_nets(m);
                free(op);
                return nd_diag_set(d, r, "store: %s", strerror(-r));
        }
        TAKE_PTR(n);
        return 0;
}

/* ---- remove -------------------------------------------------------------- */

static void on_bridge_reaped(void *userdata, int r) {
        char *name = userdata;
        if (r < 0 && r != -ENODEV && r != -ECANCELED)
                nd_log_errno(LOG_WARNING, r, "removing a retired bridge failed, ignoring", "link=%s",
                             name ? name : "?");
        free(name);
}

/* The answer does not wait for the bridge's delete (RCU grace periods
 * under the RTNL lock: 30-50 ms here): the bridge is down and renamed at once, so that the network
 * carries nothing and its bridge name is free for the next network, then
 * deleted off the loop.  Without a reaper, or if the rename fails, the
 * delete runs here. */
static void bridge_remove(nd_manager *m, const nd_network *n) {
        char gone[16];
        int r = m->reaper ? nd_bridge_retire(m->nl, n) : -EOPNOTSUPP;
        if (r == -ENODEV)
                return;
        if (r >= 0) {
                nd_bridge_retired_name(n, gone, sizeof(gone));
                char *name = strdup(gone);
                if (name && nd_reaper_delete(m->reaper, m->nl, r, on_bridge_reaped, name) == 0)
                        return;
                free(name);
                r = nd_nl_link_delete(m->nl, gone);
        } else
                r = nd_bridge_teardown(m->nl, n);
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "removing the bridge failed, ignoring", "net=%s", n->spec.name);
}

void nd_manager_retired_bridges_sweep(nd_manager *m) {
        int ifindexes[64];
        int k = nd_bridge_retired_list(m->nl, ifindexes, ELEMENTSOF(ifindexes));
        if (k < 0)
                nd_log_errno(LOG_WARNING, k, "listing retired bridges failed, ignoring");
        for (int i = 0; i < k; i++) {
                char *name = NULL;
                if (asprintf(&name, "ifindex %d", ifindexes[i]) < 0)
                        name = NULL;
                if (nd_reaper_delete(m->reaper, m->nl, ifindexes[i], on_bridge_reaped, name) < 0)
                        free(name);
        }
        if (k > 0)
                nd_log(LOG_INFO, "deleting bridges a previous run retired", "count=%d", k);
}

static void on_removed(void *userdata, int r, int64_t rev) {
        struct net_op *op = userdata;
        nd_manager *m = op->m;
        struct net_slot *s = nets_slot(m, op->net);
        nd_diag d = {0};

        if (r < 0) {
                if (s)
                        s->removing = false;
                nd_diag_set(&d, r, "network '%s': writing to the store failed: %s", op->net->spec.name,
                            strerror(-r));
                nd_log_errno(LOG_WARNING, r, "network remove failed", "net=%s", op->net->spec.name);
                op->cb(op->userdata, r, op->net, &d);
        } else {
                nd_log(LOG_INFO, "network removed", "net=%s id=%.12s revision=%" PRId64, op->net->spec.name,
                       op->net->id, rev);
                nd_manager_event_network(m, "destroy", op->net);
                bridge_remove(m, op->net);
                op->cb(op->userdata, 0, NULL, NULL);
                nets_drop(m, op->net);
        }
        free(op);
}

static void on_global_removed(void *userdata, int r, const nd_diag *d) {
        struct net_op *op = userdata;
        struct net_slot *s = nets_slot(op->m, op->net);
        if (r < 0) {
                if (s)
                        s->removing = false;
                op->cb(op->userdata, r, op->net, d);
        } else {
                nd_log(LOG_INFO, "overlay network removed from the cluster", "net=%s id=%.12s", op->net->spec.name,
                       op->net->id);
                op->cb(op->userdata, 0, NULL, NULL);
        }
        free(op);
}

/* A removal that waits for a removed container whose teardown (off the
 * loop) still holds addresses on the network: it gives them back when its
 * pairs are gone, and the removal runs again then. */
struct net_wait {
        nd_manager *m;
        char id[ND_ID_LEN + 1];
        nd_manager_net_fn cb;
        void *userdata;
};

static int network_remove(nd_manager *m, nd_network *n, nd_manager_net_fn cb, void *userdata, nd_diag *d);

static void on_net_holder_gone(void *userdata, int r) {
        struct net_wait *t = userdata;
        nd_network *n = NULL;
        nd_diag d = {0};

        if (r < 0) { /* netd is stopping: nobody to answer */
                free(t);
                return;
        }
        r = nd_manager_network_find(t->m, t->id, &n);
        if (r < 0)
                r = nd_diag_set(&d, -ENOENT, "network not found");
        else
                r = network_remove(t->m, n, t->cb, t->userdata, &d);
        if (r < 0)
                t->cb(t->userdata, r, NULL, &d);
        free(t);
}

int nd_manager_network_remove(nd_manager *m, nd_network *n, nd_manager_net_fn cb, void *userdata, nd_diag *d) {
        return network_remove(m, n, cb, userdata, d);
}

static int network_remove(nd_manager *m, nd_network *n, nd_manager_net_fn cb, void *userdata, nd_diag *d) {
        struct net_slot *s = nets_slot(m, n);
        char k_net[256], k_name[256], k_ipam[256];
        uint64_t used;
        nd_ct_going *going;
        int r;

        if (!s || !visible(s))
                return nd_diag_set(d, -ENOENT, "network not found");
        const char *svc = nd_services_on_network(m, n);
        if (svc)
                return nd_diag_set(d, -EBUSY, "network '%s' is in use by service '%s'", n->spec.name, svc);
        used = nd_network_addresses_in_use(n);
        going = nd_ct_going_by_addr(m, n->id, NULL);
        /* Sandboxes whose DEL was answered give their addresses back once
         * their veths are gone; they find the network gone by then and
         * give nothing back: not worth waiting for (the veth goes on the
         * reaper, before the retired bridge).  Should the store refuse the
         * removal, those stay taken in memory until netd restarts (the
         * store no longer has them).  An overlay's addresses count in its
         * cluster blocks: those are given back. */
        if (used > 0 && !going && !nd_network_is_global(n) && used <= nd_manager_sandboxes_going_addrs(m, n->id))
                used = 0;
        /* Removed containers give theirs back through the network: the
         * removal runs again once one did (all of a bulk rm, one by one).
         * Anything else holding one does not wait for the reaper: the
         * answer is the same after it. */
        if (used > 0 && going) {
                struct net_wait *t = calloc(1, sizeof(*t));
                if (!t)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
                *t = (struct net_wait) { .m = m, .cb = cb, .userdata = userdata };
                snprintf(t->id, sizeof(t->id), "%s", n->id);
                if (nd_ct_going_wait(going, on_net_holder_gone, t) < 0) {
                        free(t);
                        return nd_diag_set(d, -ENOMEM, "out of memory");
                }
                return 0;
        }
        if (used > 0) {
                /* name the containers holding them, as Docker does */
                char who[160];
                size_t o = 0, n_who = 0;
                for (size_t i = 0; i < m->n_cts; i++) {
                        const nd_container *c = m->cts[i];
                        bool on = false;
                        for (size_t k = 0; k < c->n_eps && !on; k++)
                                on = strcmp(c->eps[k].net_id, n->id) == 0 &&
                                     (c->eps[k].addr4.family || c->eps[k].addr6.family);
                        if (!on)
                                continue;
                        if (o < sizeof(who) - 1)
                                o += (size_t) snprintf(who + o, sizeof(who) - o, "%s'%s'", n_who ? ", " : "",
                                                       c->name);
                        n_who++;
                }
                if (o >= sizeof(who) - 1)
                        strcpy(who + sizeof(who) - 5, "...");
                if (n_who)
                        return nd_diag_set(d, -EBUSY, "network '%s' is in use by container%s %s (%" PRIu64
                                           " address%s)", n->spec.name, n_who == 1 ? "" : "s", who, used,
                                           used == 1 ? "" : "es");
                return nd_diag_set(d, -EBUSY, "network '%s' has %" PRIu64 " address%s in use; release %s first",
                                   n->spec.name, used, used == 1 ? "" : "es", used == 1 ? "it" : "them");
        }
        if (nd_network_is_global(n)) {
                struct net_op *gop = calloc(1, sizeof(*gop));
                if (!gop)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
                *gop = (struct net_op) { .m = m, .net = n, .cb = cb, .userdata = userdata };
                r = nd_cluster_network_remove(m->cluster, n, on_global_removed, gop, d);
                if (r < 0)
                        free(gop);
                else
                        s->removing = true;
                return r;
        }
        struct net_op *op = calloc(1, sizeof(*op));
        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *op = (struct net_op) { .m = m, .net = n, .cb = cb, .userdata = userdata };
        net_key(n, k_net, sizeof(k_net));
        name_key(n->spec.name, k_name, sizeof(k_name));
        nd_manager_address_prefix(n, k_ipam, sizeof(k_ipam));
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_del(t, k_net);
        (void) nd_store_txn_del(t, k_name);
        (void) nd_store_txn_del_prefix(t, k_ipam);
        r = nd_store_txn_submit(t, m->store, on_removed, op);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "store: %s", strerror(-r));
        }
        s->removing = true;
        return 0;
}

/* ---- addresses ----------------------------------------------------------- */

struct addr_op {
        nd_manager *m;
        nd_network *net;
        nd_addr addr;
        bool release;
        nd_manager_addr_fn cb;
        void *userdata;
};

void addr_key(const nd_network *n, const nd_addr *a, char *buf, size_t size) {
        char s[ND_ADDR_STRLEN];
        snprintf(buf, size, ND_KEY_IPAM "%s/%s", n->id, nd_addr_fmt(a, s));
}

void addr_records(nd_store_txn_builder *t, const nd_network *n, const nd_addr *a4, const nd_addr *a6,
                  const char *value) {
        const nd_addr *as[2] = { a4, a6 };
        char key[256];
        for (int f = 0; f < 2; f++) {
                if (!as[f] || !as[f]->family)
                        continue;
                addr_key(n, as[f], key, sizeof(key));
                if (value)
                        (void) nd_store_txn_put(t, key, value);
                else
                        (void) nd_store_txn_del(t, key);
        }
}

static void on_addr_done(void *userdata, int r, int64_t rev) {
        struct addr_op *op = userdata;
        nd_subnet *sub = nd_network_subnet_for(op->net, &op->addr);
        char s[ND_ADDR_STRLEN];
        nd_diag d = {0};

        nd_addr_fmt(&op->addr, s);
        if (r < 0) {
                /* Undo the reservation made before the write. */
                if (!op->release && sub)
                        nd_subnet_release(sub, &op->addr);
                if (!op->release && nd_network_is_global(op->net))
                        nd_cluster_address_note(op->m->cluster, op->net, &op->addr, -1);
                if (r == -ECANCELED)
                        r = -EEXIST;
                nd_diag_set(&d, r, "address %s: %s", s,
                            r == -EEXIST ? "already in use (store)" : strerror(-r));
                op->cb(op->userdata, r, NULL, &d);
        } else {
                if (op->release && sub)
                        nd_subnet_release(sub, &op->addr);
                if (op->release && nd_network_is_global(op->net))
                        nd_cluster_address_note(op->m->cluster, op->net, &op->addr, -1);
                nd_log(LOG_DEBUG, op->release ? "address released" : "address allocated", "net=%s addr=%s",
                       op->net->spec.name, s);
                op->cb(op->userdata, 0, &op->addr, NULL);
        }
        op->net->busy--;
        free(op);
}

/* A request on an overlay network that waits for an address block. */
struct addr_wait {
        nd_manager *m;
        char netid[ND_ID_LEN + 1];
        int family;
        nd_addr want;
        bool has_want;
        char *owner;
        nd_manager_addr_fn cb;
        void *userdata;
};

static void on_block_ready(void *userdata, int r, const nd_diag *d) {
        struct addr_wait *w = userdata;
        nd_network *n = NULL;
        nd_diag dd = {0};
        if (r == 0 && (nd_manager_network_find(w->m, w->netid, &n) < 0 || strcmp(n->id, w->netid) != 0))
                r = nd_diag_set(&dd, -ENOENT, "the network was removed");
        if (r == 0)
                r = nd_manager_address_request(w->m, n, w->family, w->has_want ? &w->want : NULL, w->owner, w->cb,
                                               w->userdata, &dd);
        else if (d)
                dd = *d;
        if (r < 0)
                w->cb(w->userdata, r, NULL, &dd);
        free(w->owner);
        free(w);
}

int nd_manager_address_request(nd_manager *m, nd_network *n, int family, const nd_addr *want, const char *owner,
                               nd_manager_addr_fn cb, void *userdata, nd_diag *d) {
        char key[256], s[ND_ADDR_STRLEN], created[32];
        nd_subnet *sub;
        nd_addr a;
        int r;

        if (owner && strlen(owner) > OWNER_MAX)
                return nd_diag_set(d, -EINVAL, "owner is longer than %d bytes", OWNER_MAX);
        if (nd_network_is_global(n)) {
                /* from an address block this host holds (cluster.h) */
                struct addr_wait *w = calloc(1, sizeof(*w));
                if (!w)
                        return nd_diag_set(d, -ENOMEM, "out of memory");
                *w = (struct addr_wait) { .m = m, .family = family, .has_want = !!want, .cb = cb,
                                          .userdata = userdata, .owner = owner ? strdup(owner) : NULL };
                snprintf(w->netid, sizeof(w->netid), "%s", n->id);
                if (want)
                        w->want = *want;
                r = nd_cluster_address_pick(m->cluster, n, family, want, &a, on_block_ready, w, d);
                if (r == -EAGAIN)
                        return 0;
                free(w->owner);
                free(w);
                if (r < 0)
                        return r;
                sub = nd_network_subnet_for(n, &a);
        } else if (want) {
                sub = nd_network_subnet_for(n, want);
                if (!sub)
                        return nd_diag_set(d, -EINVAL, "address %s is not in any subnet of network '%s'",
                                           nd_addr_fmt(want, s), n->spec.name);
                a = *want;
                r = nd_subnet_reserve(sub, &a);
                if (r == -EEXIST)
                        return nd_diag_set(d, -EADDRINUSE, "address %s is already in use on network '%s'",
                                           nd_addr_fmt(want, s), n->spec.name);
                if (r == -EADDRNOTAVAIL)
                        return nd_diag_set(d, -EINVAL, "address %s is the network or broadcast address",
                                           nd_addr_fmt(want, s));
                if (r < 0)
                        return nd_diag_set(d, r, "address %s: %s", nd_addr_fmt(want, s), strerror(-r));
        } else {
                sub = nd_network_subnet_family(n, family);
                if (!sub)
                        return nd_diag_set(d, -EINVAL, "network '%s' has no %s subnet", n->spec.name,
                                           family == AF_INET6 ? "IPv6" : "IPv4");
                r = nd_subnet_alloc(sub, &a);
                if (r == -ENOSPC)
                        return nd_diag_set(d, -ENOSPC, "no free address left in network '%s' (%s)", n->spec.name,
                                           family == AF_INET6 ? "IPv6" : "IPv4");
                if (r < 0)
                        return nd_diag_set(d, r, "allocating an address: %s", strerror(-r));
        }

        int64_t us = now_us();
        snprintf(created, sizeof(created), "%" PRId64, us / 1000000);
        addr_key(n, &a, key, sizeof(key));
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        (void) nd_store_txn_cmp_absent(t, key);
        (void) nd_store_txn_put_json_new(t, key, json_pack("{s:s, s:s}", "Owner", owner ? owner : "", "Created",
                                                           created));
        struct addr_op *op = nd_store_txn_error(t) == 0 ? calloc(1, sizeof(*op)) : NULL;
        if (!op) {
                nd_store_txn_free(t);
                nd_subnet_release(sub, &a);
                if (nd_network_is_global(n))
                        nd_cluster_address_note(m->cluster, n, &a, -1);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        *op = (struct addr_op) { .m = m, .net = n, .addr = a, .cb = cb, .userdata = userdata };
        r = nd_store_txn_submit(t, m->store, on_addr_done, op);
        if (r < 0) {
                nd_subnet_release(sub, &a);
                if (nd_network_is_global(n))
                        nd_cluster_address_note(m->cluster, n, &a, -1);
                free(op);
                return nd_diag_set(d, r, "store: %s", strerror(-r));
        }
        n->busy++;
        return 0;
}

int nd_manager_address_release(nd_manager *m, nd_network *n, const nd_addr *a, nd_manager_addr_fn cb,
                               void *userdata, nd_diag *d) {
        nd_subnet *sub = nd_network_subnet_for(n, a);
        char key[256], s[ND_ADDR_STRLEN];
        int r;

        nd_addr_fmt(a, s);
        if (!sub || !nd_subnet_is_allocated(sub, a))
                return nd_diag_set(d, -ENOENT, "address %s is not allocated on network '%s'", s, n->spec.name);
        for (size_t i = 0; i < n->spec.n_ipam; i++)
                if (nd_addr_equal(&n->spec.ipam[i].gateway, a))
                        return nd_diag_set(d, -EINVAL, "address %s is the gateway of network '%s'", s, n->spec.name);
        struct addr_op *op = calloc(1, sizeof(*op));
        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *op = (struct addr_op) { .m = m, .net = n, .addr = *a, .release = true, .cb = cb, .userdata = userdata };
        addr_key(n, a, key, sizeof(key));
        r = nd_store_delete(m->store, key, on_addr_done, op);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "store: %s", strerror(-r));
        }
        n->busy++;
        return 0;
}
