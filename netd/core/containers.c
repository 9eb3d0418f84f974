/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers of the bundled runtime: validation, sandboxes (a bind-mounted
 * network namespace per container), endpoints on bridge networks, the
 * per-container monitor process, and the store records.
 *
 * Order of a run, chosen so that a crash at any point leaves nothing that
 * is not recorded:
 *   1. validate everything, reserve addresses in memory;
 *   2. write the container record, its name and its address records in one
 *      transaction (status "created");
 *   3. build the sandbox and endpoints (netlink), write the bundle, start
 *      netd-monitor;
 *   4. when the monitor reports the exec, record "running" and answer.
 * The monitor is watched with a pidfd; its exit (the container's) is
 * recorded from BUNDLE/status.json, also when it happened while netd was
 * down.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netlink/socket.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge.h"
#include "cluster.h"
#include "container.h"
#include "diag.h"
#include "json-util.h"
#include "firewall.h"
#include "log.h"
#include "manager-internal.h"
#include "netns.h"
#include "nl-host.h"
#include "nl-link.h"
#include "store.h"
#include "server.h"
#include "subnet.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ARGS 256
#define MAX_ENV 256

typedef struct nd_ct_waiter {
        nd_manager_ct_fn cb;
        void *userdata;
        bool then_remove;
        struct nd_ct_waiter *next;
} nd_ct_waiter;

static int pidfd_open_(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int fd, int sig) {
        return (int) syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

static void log_ct_(int level, const nd_container *c, const char *msg, const char *fmt, ...) _printf_(4, 5);
static void log_ct_(int level, const nd_container *c, const char *msg, const char *fmt, ...) {
        char fields[512] = "";
        va_list ap;
        if (level > nd_log_max_level)
                return;
        va_start(ap, fmt);
        vsnprintf(fields, sizeof(fields), fmt, ap);
        va_end(ap);
        nd_log_internal(level, 0, msg, "ct=%s id=%.12s%s%s", c->name, c->id, *fields ? " " : "", fields);
}
#define log_ct(level, c, msg, ...) log_ct_(level, c, msg, "" __VA_ARGS__)

/* ---- table ------------------------------------------------------------------ */

static int cts_add(nd_manager *m, nd_container *c) {
        if (m->n_cts == m->cap_cts) {
                size_t cap = m->cap_cts ? m->cap_cts * 2 : 16;
                nd_container **n = realloc(m->cts, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                m->cts = n;
                m->cap_cts = cap;
        }
        m->cts[m->n_cts++] = c;
        c->manager = m;
        return 0;
}

static void ct_forget_waiters(nd_container *c) {
        while (c->waiters) {
                nd_ct_waiter *w = c->waiters;
                c->waiters = w->next;
                free(w);
        }
}

static void ct_stop_watchers(nd_container *c) {
        nd_manager *m = c->manager;
        ev_io_stop(m->loop, &c->report_io);
        ev_io_stop(m->loop, &c->monitor_io);
        ev_timer_stop(m->loop, &c->stop_timer);
}

static void cts_drop(nd_manager *m, nd_container *c) {
        for (size_t i = 0; i < m->n_cts; i++)
                if (m->cts[i] == c) {
                        memmove(m->cts + i, m->cts + i + 1, (m->n_cts - i - 1) * sizeof(*m->cts));
                        m->n_cts--;
                        break;
                }
        ct_stop_watchers(c);
        ct_forget_waiters(c);
        nd_container_free(c);
}

static bool ct_ref(const void *objs, size_t i, const char **name, const char **id) {
        const nd_container *c = ((nd_container *const *) objs)[i];
        *name = c->name;
        *id = c->id;
        return true;
}

int nd_manager_container_find(nd_manager *m, const char *ref, nd_container **ret) {
        int i = nd_ref_resolve(ref, m->cts, m->n_cts, ct_ref);
        if (i < 0)
                return i;
        *ret = m->cts[i];
        return 0;
}

size_t nd_manager_containers(nd_manager *m, nd_container ***ret) {
        *ret = m->cts;
        return m->n_cts;
}

const char *nd_manager_default_rootfs(nd_manager *m) {
        return m->default_rootfs;
}

static void bundle_path(nd_manager *m, const char *id, char *buf, size_t size) {
        snprintf(buf, size, "%s/containers/%s", m->state_dir, id);
}

void nd_manager_container_log_path(nd_manager *m, const nd_container *c, char *buf, size_t size) {
        snprintf(buf, size, "%s/containers/%s/container.log", m->state_dir, c->id);
}

/* ---- persistence -------------------------------------------------------------- */

typedef void (*persist_fn)(nd_container *c, int r, void *userdata);

struct persist_op {
        nd_container *c;
        persist_fn fn;
        void *userdata;
};

static void on_persisted(void *userdata, int r, int64_t rev) {
        struct persist_op *op = userdata;
        op->c->persisting = false;
        if (r < 0)
                log_ct(LOG_ERR, op->c, "writing the container record failed", "err=%d", r);
        if (op->fn)
                op->fn(op->c, r, op->userdata);
        free(op);
}

/* Write the record (and @extra ops) in one transaction. */
static int ct_persist(nd_container *c, const nd_store_cmp *cmps, size_t n_cmps, const nd_store_op *extra,
                      size_t n_extra, persist_fn fn, void *userdata) {
        nd_manager *m = c->manager;
        char key[256];
        nd_store_op ops[ND_STORE_MAX_TXN_OPS];
        _cleanup_free_ char *value = NULL;
        json_t *j = nd_container_to_json(c);
        struct persist_op *op;
        int r;

        if (n_extra + 1 > ELEMENTSOF(ops))
                return -E2BIG;
        value = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        op = value ? calloc(1, sizeof(*op)) : NULL;
        if (!op)
                return -ENOMEM;
        *op = (struct persist_op) { .c = c, .fn = fn, .userdata = userdata };
        snprintf(key, sizeof(key), KEY_CONTAINERS "%s", c->id);
        ops[0] = (nd_store_op) { .type = ND_STORE_PUT, .key = key, .value = value };
        if (n_extra)
                memcpy(ops + 1, extra, n_extra * sizeof(*extra));
        r = nd_store_txn(m->store, cmps, n_cmps, ops, n_extra + 1, on_persisted, op);
        if (r < 0) {
                free(op);
                return r;
        }
        c->persisting = true;
        return 0;
}

static nd_network *net_by_id(nd_manager *m, const char *id) {
        for (size_t i = 0; i < m->n_nets; i++)
                if (strcmp(m->nets[i].net->id, id) == 0)
                        return m->nets[i].net;
        return NULL;
}

/* An address reserved in memory goes back (and, on an overlay network,
 * counts out of its block). */
static void addr_unreserve(nd_manager *m, nd_network *n, const nd_addr *a) {
        nd_subnet_release(nd_network_subnet_for(n, a), a);
        if (nd_network_is_global(n))
                nd_cluster_address_note(m->cluster, n, a, -1);
}

static void release_endpoint(nd_manager *m, const nd_endpoint *e) {
        nd_network *n = net_by_id(m, e->net_id);
        if (!n)
                return;
        if (e->addr4.family)
                addr_unreserve(m, n, &e->addr4);
        if (e->addr6.family)
                addr_unreserve(m, n, &e->addr6);
}

/* ---- endpoints ------------------------------------------------------------------ */

static int next_ifname(const nd_container *c, char ifname[16], unsigned *ret_index) {
        for (unsigned i = 0; i < 64; i++) {
                bool used = false;
                snprintf(ifname, 16, "eth%u", i);
                for (size_t k = 0; k < c->n_eps; k++)
                        used |= strcmp(c->eps[k].ifname, ifname) == 0;
                if (!used) {
                        *ret_index = i;
                        return 0;
                }
        }
        return -ENOSPC;
}

/* Fill @e for network @n from the request entry @req (may be NULL) and
 * reserve its addresses in memory. */
static int endpoint_prepare(nd_manager *m, nd_container *c, nd_network *n, const json_t *req, nd_endpoint *e,
                            nd_diag *d) {
        static const char *const keys[] = { "Network", "IPv4Address", "IPv6Address", "Aliases", "MacAddress",
                                             "Container", "Force", "GwPriority", NULL };
        const char *ip4 = NULL, *ip6 = NULL, *mac = NULL;
        char s[ND_ADDR_STRLEN];
        unsigned idx;
        nd_subnet *sub;
        int r;

        memset(e, 0, sizeof(*e));
        if (req && ((r = nd_json_only_keys(req, keys, "endpoint", d)) < 0 ||
                    (r = nd_json_string(req, "IPv4Address", "endpoint", &ip4, d)) < 0 ||
                    (r = nd_json_string(req, "IPv6Address", "endpoint", &ip6, d)) < 0 ||
                    (r = nd_json_string(req, "MacAddress", "endpoint", &mac, d)) < 0))
                return r;
        json_t *prio = req ? json_object_get(req, "GwPriority") : NULL;
        if (prio && !json_is_null(prio)) {
                if (!json_is_integer(prio) || json_integer_value(prio) < INT_MIN / 2 ||
                    json_integer_value(prio) > INT_MAX / 2)
                        return nd_diag_set(d, -EINVAL, "endpoint: 'GwPriority' must be an integer");
                e->gw_priority = (int) json_integer_value(prio);
        }
        if (ip4 && !*ip4)
                ip4 = NULL;
        if (ip6 && !*ip6)
                ip6 = NULL;
        json_t *al = req ? json_object_get(req, "Aliases") : NULL, *v;
        size_t i;
        if (al && !json_is_null(al)) {
                if (!json_is_array(al) || json_array_size(al) > ND_MAX_ALIASES)
                        return nd_diag_set(d, -EINVAL, "Aliases must be an array of at most %d names", ND_MAX_ALIASES);
                json_array_foreach(al, i, v) {
                        if (!json_is_string(v) || nd_name_valid(json_string_value(v)) < 0)
                                return nd_diag_set(d, -EINVAL, "invalid alias '%.64s'",
                                                   json_is_string(v) ? json_string_value(v) : "?");
                        strcpy(e->aliases[e->n_aliases++], json_string_value(v));
                }
        }
        strcpy(e->net_id, n->id);
        strcpy(e->net_name, n->spec.name);
        r = next_ifname(c, e->ifname, &idx);
        if (r < 0)
                return nd_diag_set(d, r, "too many interfaces");
        snprintf(e->host_ifname, sizeof(e->host_ifname), "vnd%.8s-%u", c->id, idx);

        for (int fam = 0; fam < 2; fam++) {
                int family = fam == 0 ? AF_INET : AF_INET6;
                const char *want = fam == 0 ? ip4 : ip6;
                nd_addr *a = fam == 0 ? &e->addr4 : &e->addr6;
                nd_addr wa;

                if (want && (nd_addr_parse(want, &wa) < 0 || wa.family != family)) {
                        if (fam == 1 && e->addr4.family)
                                addr_unreserve(m, n, &e->addr4);
                        return nd_diag_set(d, -EINVAL, "invalid %s address '%.64s'", fam == 0 ? "IPv4" : "IPv6",
                                           want);
                }
                if (nd_network_is_global(n)) {
                        /* from this host's address blocks (cluster.h);
                         * -EAGAIN: a block is being claimed, try again */
                        if (!want && !nd_network_subnet_family(n, family))
                                continue;
                        r = nd_cluster_address_pick(m->cluster, n, family, want ? &wa : NULL, a, NULL, NULL, d);
                        if (r < 0) {
                                if (fam == 1 && e->addr4.family)
                                        addr_unreserve(m, n, &e->addr4);
                                return r;
                        }
                } else if (want) {
                        sub = nd_network_subnet_for(n, &wa);
                        if (!sub)
                                r = nd_diag_set(d, -EINVAL, "address %s is not in any subnet of network '%s'",
                                                want, n->spec.name);
                        else if ((r = nd_subnet_reserve(sub, &wa)) == -EEXIST)
                                r = nd_diag_set(d, -EADDRINUSE, "address %s is already in use on network '%s'",
                                                want, n->spec.name);
                        else if (r < 0)
                                r = nd_diag_set(d, -EINVAL, "address %s cannot be used: %s", want,
                                                r == -EADDRNOTAVAIL ? "network or broadcast address" : strerror(-r));
                        if (r < 0) {
                                if (fam == 1 && e->addr4.family)
                                        addr_unreserve(m, n, &e->addr4);
                                return r;
                        }
                        *a = wa;
                } else {
                        sub = nd_network_subnet_family(n, family);
                        if (!sub)
                                continue;
                        r = nd_subnet_alloc(sub, a);
                        if (r < 0) {
                                if (fam == 1 && e->addr4.family)
                                        nd_subnet_release(nd_network_subnet_for(n, &e->addr4), &e->addr4);
                                return nd_diag_set(d, r == -ENOSPC ? -ENOSPC : r, "no free %s address on network '%s'",
                                                   fam == 0 ? "IPv4" : "IPv6", n->spec.name);
                        }
                }
                for (size_t k = 0; k < n->spec.n_ipam; k++)
                        if (nd_prefix_contains(&n->spec.ipam[k].subnet, a)) {
                                if (fam == 0) {
                                        e->plen4 = n->spec.ipam[k].subnet.len;
                                        e->gw4 = n->spec.ipam[k].gateway;
                                } else {
                                        e->plen6 = n->spec.ipam[k].subnet.len;
                                        e->gw6 = n->spec.ipam[k].gateway;
                                }
                        }
        }
        (void) s;
        if (mac) {
                unsigned b[6];
                char tail;
                if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
                    (b[0] & 1)) {
                        release_endpoint(m, e);
                        return nd_diag_set(d, -EINVAL, "invalid MAC address '%.32s'", mac);
                }
                for (int k = 0; k < 6; k++)
                        e->mac[k] = (uint8_t) b[k];
        } else
                nd_bridge_mac(e, e->mac);
        return 0;
}

/* Store ops for the address records of @e: put (owner = container) or
 * delete.  Keys/values are allocated into @strs (freed by the caller). */
static size_t endpoint_ipam_ops(const nd_container *c, nd_network *n, const nd_endpoint *e, bool put,
                                nd_store_op *ops, char **strs) {
        size_t k = 0;
        const nd_addr *as[2] = { &e->addr4, &e->addr6 };
        for (int i = 0; i < 2; i++) {
                char key[256];
                if (!as[i]->family || !n)
                        continue;
                addr_key(n, as[i], key, sizeof(key));
                strs[2 * k] = strdup(key);
                if (put) {
                        if (asprintf(&strs[2 * k + 1], "{\"Owner\":\"%s\",\"Created\":\"%" PRId64 "\"}", c->id,
                                     now_us() / 1000000) < 0)
                                strs[2 * k + 1] = NULL;
                        ops[k] = (nd_store_op) { .type = ND_STORE_PUT, .key = strs[2 * k], .value = strs[2 * k + 1] };
                } else
                        ops[k] = (nd_store_op) { .type = ND_STORE_DELETE, .key = strs[2 * k] };
                k++;
        }
        return k;
}

/* ---- the bundle: config.json, hosts, resolv.conf, hostname ---------------------- */

static int write_text(const char *path, const char *text) {
        /* in place (O_TRUNC), not rename: the file is bind-mounted into a
         * running container, which keeps the old inode after a rename */
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        size_t n = strlen(text);
        if (write(fd, text, n) != (ssize_t) n)
                return -EIO;
        return 0;
}

/* The container whose namespace, and so whose hosts, resolv.conf and
 * hostname, @c shares (Docker shares them in container: mode): @c itself
 * unless it is in container: mode. */
static const nd_container *net_owner(nd_manager *m, const nd_container *c) {
        nd_container *t;
        if (c->mode == ND_NET_MODE_CONTAINER && nd_manager_container_find(m, c->mode_target, &t) == 0)
                return t;
        return c;
}

/* --add-host NAME:IP (IP in brackets allowed, or host-gateway) into @name
 * and @ip, with host-gateway resolved to the gateway of @c's first
 * network.  0 or -EINVAL with @d filled. */
static int extra_host_parse(const nd_container *c, const char *s, char name[ND_NAME_MAX + 1],
                            char ip[ND_ADDR_STRLEN], nd_diag *d) {
        const char *colon = s ? strchr(s, ':') : NULL;
        char v[ND_ADDR_STRLEN + 2];
        nd_addr a;
        size_t l;

        if (!colon || colon == s || (size_t) (colon - s) > ND_NAME_MAX)
                return nd_diag_set(d, -EINVAL, "invalid --add-host '%.64s': want NAME:IP", s ? s : "?");
        snprintf(name, ND_NAME_MAX + 1, "%.*s", (int) (colon - s), s);
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr(".-_", *p))
                        return nd_diag_set(d, -EINVAL, "invalid --add-host '%.64s': bad host name", s);
        l = strlen(colon + 1);
        if (l >= sizeof(v))
                return nd_diag_set(d, -EINVAL, "invalid --add-host '%.64s': bad IP address", s);
        strcpy(v, colon + 1);
        if (l > 2 && v[0] == '[' && v[l - 1] == ']') {
                memmove(v, v + 1, l - 2);
                v[l - 2] = 0;
        }
        if (strcmp(v, "host-gateway") == 0) {
                const nd_endpoint *e = c->n_eps ? &c->eps[0] : NULL;
                const nd_addr *gw = e && e->addr4.family ? &e->gw4 : e && e->gw6.family ? &e->gw6 : NULL;
                if (!gw || !gw->family)
                        return nd_diag_set(d, -EINVAL, "--add-host '%.64s': host-gateway needs a network with a "
                                           "gateway", s);
                nd_addr_fmt(gw, ip);
                return 0;
        }
        if (nd_addr_parse(v, &a) < 0)
                return nd_diag_set(d, -EINVAL, "invalid --add-host '%.64s': '%.48s' is not an IP address", s, v);
        nd_addr_fmt(&a, ip);
        return 0;
}

static int write_hosts_one(nd_manager *m, const nd_container *ct) {
        char path[PATH_MAX], buf[8192], a[ND_ADDR_STRLEN];
        const nd_container *c = net_owner(m, ct);
        size_t o = 0;
        bundle_path(m, ct->id, path, sizeof(path));
        strcat(path, "/hosts");
        o += (size_t) snprintf(buf + o, sizeof(buf) - o,
                               "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        for (size_t i = 0; i < c->n_eps; i++) {
                if (c->eps[i].addr4.family)
                        o += (size_t) snprintf(buf + o, sizeof(buf) - o, "%s\t%s%s%s\n", nd_addr_fmt(&c->eps[i].addr4, a),
                                               c->hostname, strcmp(c->hostname, c->name) ? " " : "",
                                               strcmp(c->hostname, c->name) ? c->name : "");
                if (c->eps[i].addr6.family)
                        o += (size_t) snprintf(buf + o, sizeof(buf) - o, "%s\t%s\n", nd_addr_fmt(&c->eps[i].addr6, a),
                                               c->hostname);
        }
        if (c->n_eps == 0)
                o += (size_t) snprintf(buf + o, sizeof(buf) - o, "127.0.1.1\t%s\n", c->hostname);
        size_t i;
        json_t *l;
        json_array_foreach(c->links, i, l)
                if (o < sizeof(buf))
                        o += (size_t) snprintf(buf + o, sizeof(buf) - o, "%s\t%s %s\n",
                                               json_string_value(json_object_get(l, "IP")),
                                               json_string_value(json_object_get(l, "Alias")),
                                               json_string_value(json_object_get(l, "Name")));
        json_array_foreach(c->extra_hosts, i, l) {
                char name[ND_NAME_MAX + 1], ip[ND_ADDR_STRLEN];
                nd_diag dd;
                if (o < sizeof(buf) && extra_host_parse(c, json_string_value(l), name, ip, &dd) == 0)
                        o += (size_t) snprintf(buf + o, sizeof(buf) - o, "%s\t%s\n", ip, name);
        }
        return write_text(path, buf);
}

static int write_resolv_conf(nd_manager *m, const nd_container *ct) {
        char path[PATH_MAX + 16];
        bundle_path(m, ct->id, path, sizeof(path));
        strcat(path, "/resolv.conf");
        _cleanup_free_ char *conf = nd_resolver_conf(m, net_owner(m, ct));
        if (!conf)
                return -ENOMEM;
        return write_text(path, conf);
}

/* @c's hosts, and the hosts and resolv.conf of the containers sharing
 * its namespace, which follow its networks. */
static int write_hosts(nd_manager *m, const nd_container *c) {
        int r = write_hosts_one(m, c);
        for (size_t i = 0; i < m->n_cts; i++) {
                const nd_container *j = m->cts[i];
                if (j->mode != ND_NET_MODE_CONTAINER || strcmp(j->mode_target, c->id) != 0 ||
                    j->status != ND_CT_RUNNING)
                        continue;
                if (write_hosts_one(m, j) < 0 || write_resolv_conf(m, j) < 0)
                        log_ct(LOG_WARNING, j, "updating the shared hosts or resolv.conf failed, ignoring");
        }
        return r;
}

static int write_bundle(nd_manager *m, const nd_container *c) {
        char dir[PATH_MAX], path[PATH_MAX + 32], netns[PATH_MAX];
        json_t *j;
        int r;

        bundle_path(m, c->id, dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/containers", m->state_dir);
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (c->mode == ND_NET_MODE_BRIDGE || c->mode == ND_NET_MODE_NONE)
                nd_container_netns_path(m->run_dir, c->id, netns, sizeof(netns));
        else if (c->mode == ND_NET_MODE_CONTAINER)
                nd_container_netns_path(m->run_dir, c->mode_target, netns, sizeof(netns));
        else
                netns[0] = 0;
        j = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:I, s:I}", "Id", c->id, "Rootfs", c->rootfs, "NetNS", netns,
                      "Hostname", c->hostname, "Args", c->args, "Env", c->env, "Memory", (json_int_t) c->memory,
                      "PidsLimit", (json_int_t) c->pids_limit);
        if (j && nd_ct_security_to_config(&c->sec, j) < 0)
                json_decref(TAKE_PTR(j));
        snprintf(path, sizeof(path), "%s/config.json", dir);
        r = j ? json_dump_file(j, path, JSON_INDENT(2)) : -1;
        json_decref(j);
        if (r < 0)
                return -EIO;
        snprintf(path, sizeof(path), "%s/hostname", dir);
        char hn[ND_NAME_MAX + 2];
        snprintf(hn, sizeof(hn), "%s\n", c->hostname);
        if ((r = write_text(path, hn)) < 0)
                return r;
        if ((r = write_resolv_conf(m, c)) < 0)
                return r;
        return write_hosts_one(m, c);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* merged/ is only mounted inside the container's mount namespace, never
 * here, so a plain recursive removal is safe.  0 or -errno. */
static int remove_bundle_dir(nd_manager *m, const char *id) {
        char dir[PATH_MAX];
        bundle_path(m, id, dir, sizeof(dir));
        if (nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static void remove_bundle(nd_manager *m, const nd_container *c) {
        int r = remove_bundle_dir(m, c->id);
        if (r < 0)
                log_ct(LOG_WARNING, c, "removing the bundle failed, ignoring", "err=%d", r);
}

static void remove_cgroups_id(const char *id) {
        static const char *const dirs[] = { "/sys/fs/cgroup/netd/%s", "/sys/fs/cgroup/memory/netd/%s",
                                            "/sys/fs/cgroup/pids/netd/%s", "/sys/fs/cgroup/devices/netd/%s" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), dirs[i], id);
                (void) rmdir(p);
        }
}

static void remove_cgroups(const nd_container *c) {
        remove_cgroups_id(c->id);
}

/* ---- sandbox ------------------------------------------------------------------------- */

static int sandbox_attach(nd_manager *m, nd_container *c, nd_endpoint *e, bool default_route) {
        char ns[PATH_MAX];
        struct nl_sock *ns_sk = NULL;
        nd_network *n = net_by_id(m, e->net_id);
        int fd, r;

        if (!n)
                return -ENOENT;
        nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
        fd = nd_netns_open(ns);
        if (fd < 0)
                return fd;
        /* the port takes only the endpoint's own MAC and addresses
         * (firewall.h) from its first frame: guarded before it exists,
         * and not made when it cannot be guarded */
        r = nd_fw_port_set(m->fw, e->host_ifname, e->mac, &e->addr4, &e->addr6);
        if (r == 0)
                r = nd_netns_nl_socket(fd, &ns_sk);
        if (r == 0) {
                double t0 = ev_time();
                r = nd_bridge_attach(m->nl, n, e, fd, ns_sk, default_route);
                if (r == 0)
                        nd_manager_attach_observe(m, 0, ev_time() - t0);
                nl_socket_free(ns_sk);
        }
        close(fd);
        if (r < 0 && nd_nl_link_ifindex(m->nl, e->host_ifname) == -ENODEV)
                nd_fw_port_clear(m->fw, e->host_ifname);
        return r;
}

/* The veth goes, then its port's elements (not while it may still carry
 * frames). */
static int sandbox_detach(nd_manager *m, const nd_endpoint *e) {
        int r = nd_bridge_detach(m->nl, e);
        if (r >= 0 || r == -ENODEV)
                nd_fw_port_clear(m->fw, e->host_ifname);
        return r;
}

/* The endpoint for the default route, -1 if none: among those on
 * networks that are not internal, the one marked so, else the highest
 * --gw-priority, ties going to the first (a new container, a record older
 * than the mark) or, once the gateway's network went (@after_loss, as
 * Docker 28 chooses), to the lowest network name. */
static int gateway_choose(nd_manager *m, const nd_container *c, bool after_loss) {
        int best = -1;
        for (size_t i = 0; i < c->n_eps; i++) {
                nd_network *n = net_by_id(m, c->eps[i].net_id);
                if (!n || n->spec.internal)
                        continue;
                if (!after_loss && c->eps[i].default_route)
                        return (int) i;
                if (best < 0 || c->eps[i].gw_priority > c->eps[best].gw_priority ||
                    (after_loss && c->eps[i].gw_priority == c->eps[best].gw_priority &&
                     strcmp(c->eps[i].net_name, c->eps[best].net_name) < 0))
                        best = (int) i;
        }
        return best;
}

static int gateway_endpoint(nd_manager *m, const nd_container *c) {
        return gateway_choose(m, c, false);
}

static void gateway_mark(nd_container *c, int gw) {
        for (size_t i = 0; i < c->n_eps; i++)
                c->eps[i].default_route = (int) i == gw;
}

/* Point the running sandbox's default routes at @e. */
static int sandbox_set_gateway(nd_manager *m, nd_container *c, const nd_endpoint *e) {
        char ns[PATH_MAX];
        struct nl_sock *ns_sk = NULL;
        nd_network *n = net_by_id(m, e->net_id);
        int fd, r;

        if (!n)
                return -ENOENT;
        nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
        fd = nd_netns_open(ns);
        if (fd < 0)
                return fd;
        r = nd_netns_nl_socket(fd, &ns_sk);
        close(fd);
        if (r < 0)
                return r;
        r = nd_bridge_default_route(ns_sk, n, e);
        nl_socket_free(ns_sk);
        return r;
}

static int sandbox_create(nd_manager *m, nd_container *c) {
        char ns[PATH_MAX];
        struct nl_sock *ns_sk = NULL;
        int fd, r;

        if (c->mode != ND_NET_MODE_BRIDGE && c->mode != ND_NET_MODE_NONE)
                return 0;
        nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
        double t0 = ev_time();
        r = nd_netns_create(ns);
        if (r < 0 && r != -EEXIST)
                return r;
        double t1 = ev_time();
        fd = nd_netns_open(ns);
        if (fd < 0)
                return fd;
        r = nd_netns_nl_socket(fd, &ns_sk);
        close(fd);
        if (r < 0)
                return r;
        r = nd_nl_link_up(ns_sk, "lo");
        nl_socket_free(ns_sk);
        if (r < 0)
                return r;
        double t2 = ev_time();
        int gw = gateway_endpoint(m, c);
        for (size_t i = 0; i < c->n_eps; i++) {
                r = sandbox_attach(m, c, &c->eps[i], (int) i == gw);
                if (r < 0)
                        return r;
        }
        log_ct(LOG_DEBUG, c, "sandbox wired", "netns_ms=%.3f lo_ms=%.3f endpoints_ms=%.3f endpoints=%zu",
               (t1 - t0) * 1e3, (t2 - t1) * 1e3, (ev_time() - t2) * 1e3, c->n_eps);
        return 0;
}

/* Make the kernel match the record: the namespace bind (restored from the
 * container's own namespace while it runs), its loopback up, and every
 * endpoint's veth pair (re-created when an operator or a crash removed it).
 * Returns the number of repairs, or -errno. */
static int sandbox_repair(nd_manager *m, nd_container *c) {
        char ns[PATH_MAX], proc[64];
        int fd, r, repaired = 0;

        if (c->mode != ND_NET_MODE_BRIDGE && c->mode != ND_NET_MODE_NONE)
                return 0;
        nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
        fd = nd_netns_open(ns);
        if (fd < 0) {
                if (c->status == ND_CT_RUNNING && c->pid > 0) {
                        snprintf(proc, sizeof(proc), "/proc/%d/ns/net", c->pid);
                        r = nd_netns_bind(proc, ns);
                } else
                        r = sandbox_create(m, c);
                if (r < 0)
                        return r;
                log_ct(LOG_WARNING, c, "sandbox namespace restored");
                repaired++;
                if (c->status != ND_CT_RUNNING)
                        return repaired; /* sandbox_create wired the endpoints */
        } else {
                /* loopback up (idempotent): a netd killed between making
                 * the namespace and raising lo left it down, and then the
                 * resolver cannot bind 127.0.0.11 */
                struct nl_sock *ns_sk = NULL;
                r = nd_netns_nl_socket(fd, &ns_sk);
                close(fd);
                if (r == 0) {
                        r = nd_nl_link_up(ns_sk, "lo");
                        nl_socket_free(ns_sk);
                }
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < c->n_eps; i++) {
                if (nd_nl_link_ifindex(m->nl, c->eps[i].host_ifname) != -ENODEV)
                        continue;
                /* deleting either end deletes the pair: re-create it */
                r = sandbox_attach(m, c, &c->eps[i], (int) i == gateway_endpoint(m, c));
                if (r < 0)
                        return r;
                log_ct(LOG_WARNING, c, "endpoint re-created", "net=%s if=%s", c->eps[i].net_name,
                       c->eps[i].ifname);
                repaired++;
        }
        return repaired;
}

static void sandbox_destroy(nd_manager *m, nd_container *c) {
        char ns[PATH_MAX];
        for (size_t i = 0; i < c->n_eps; i++) {
                int r = sandbox_detach(m, &c->eps[i]);
                if (r < 0)
                        log_ct(LOG_WARNING, c, "removing an endpoint failed, ignoring", "if=%s err=%d",
                               c->eps[i].host_ifname, r);
        }
        if (c->mode == ND_NET_MODE_BRIDGE || c->mode == ND_NET_MODE_NONE) {
                nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
                int r = nd_netns_remove(ns);
                if (r < 0)
                        log_ct(LOG_WARNING, c, "removing the sandbox failed, ignoring", "err=%d", r);
        }
}

/* ---- the monitor -------------------------------------------------------------------- */

static void notify_waiters(nd_container *c, int r, const nd_diag *d);
static int ct_teardown_and_forget(nd_container *c, nd_manager_ct_fn cb, void *userdata);

static void on_exit_persisted(nd_container *c, int r, void *userdata) {
        notify_waiters(c, 0, NULL);
}

/* The monitor is gone: read what it recorded. */
static void ct_exited(nd_container *c) {
        nd_manager *m = c->manager;
        char path[PATH_MAX];
        json_t *j;

        ct_stop_watchers(c);
        if (c->monitor_fd >= 0) {
                close(c->monitor_fd);
                c->monitor_fd = -1;
        }
        if (c->pid_fd >= 0) {
                close(c->pid_fd);
                c->pid_fd = -1;
        }
        if (c->monitor_pid > 0)
                (void) waitpid(c->monitor_pid, NULL, WNOHANG); /* reap if it is our child */
        bundle_path(m, c->id, path, sizeof(path));
        strcat(path, "/status.json");
        j = json_load_file(path, 0, NULL);
        c->status = ND_CT_EXITED;
        c->finished_us = now_us();
        if (j && json_is_integer(json_object_get(j, "ExitCode"))) {
                c->exit_code = (int) json_integer_value(json_object_get(j, "ExitCode"));
                c->finished_us = json_integer_value(json_object_get(j, "FinishedAt")) * 1000000;
        } else {
                c->exit_code = 255;
                snprintf(c->error, sizeof(c->error), "monitor exited without a status");
        }
        json_decref(j);
        log_ct(LOG_INFO, c, "container exited", "exit_code=%d", c->exit_code);
        c->pid = 0;
        nd_ports_release(m, c);
        nd_resolver_detach(m, c);
        if (c->auto_remove && !c->removing) {
                c->removing = true;
                int r = ct_teardown_and_forget(c, NULL, NULL);
                if (r < 0)
                        log_ct(LOG_ERR, c, "auto-remove failed", "err=%d", r);
                return;
        }
        if (ct_persist(c, NULL, 0, NULL, 0, on_exit_persisted, NULL) < 0)
                notify_waiters(c, 0, NULL);
}

static void on_monitor(struct ev_loop *loop, ev_io *w, int revents) {
        ct_exited(container_of(w, nd_container, monitor_io));
}

static int watch_monitor(nd_container *c) {
        c->monitor_fd = pidfd_open_(c->monitor_pid);
        if (c->monitor_fd < 0)
                return -errno;
        ev_io_init(&c->monitor_io, on_monitor, c->monitor_fd, EV_READ);
        ev_io_start(c->manager->loop, &c->monitor_io);
        /* a pidfd for the container's init, for signals without pid reuse
         * races; gone already if it exited meanwhile */
        if (c->pid > 0 && c->pid_fd < 0)
                c->pid_fd = pidfd_open_(c->pid);
        return 0;
}

struct run_op {
        nd_container *c;
        nd_manager_ct_fn cb;
        void *userdata;
        int r;
        bool start;
        nd_diag d;
};

static void on_run_answered(nd_container *c, int r, void *userdata) {
        struct run_op *op = userdata;
        if (op->r == 0 && r < 0) {
                op->r = r;
                nd_diag_set(&op->d, r, "recording the running container failed: %s", strerror(-r));
        }
        op->cb(op->userdata, op->r, op->r < 0 ? NULL : c, &op->d);
        free(op);
}

static void on_report(struct ev_loop *loop, ev_io *w, int revents) {
        nd_container *c = container_of(w, nd_container, report_io);
        struct run_op *op = w->data;
        ssize_t k;

        k = read(c->report_fd, c->report_buf + c->report_len, sizeof(c->report_buf) - 1 - c->report_len);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k > 0 && c->report_len + (size_t) k < sizeof(c->report_buf) - 1) {
                c->report_len += (size_t) k;
                return;
        }
        /* EOF (or error, or an oversized report): the monitor is done
         * talking */
        ev_io_stop(loop, w);
        close(c->report_fd);
        c->report_fd = -1;
        c->report_buf[c->report_len] = 0;
        json_t *j = json_loads(c->report_buf, 0, NULL);
        json_t *pid = json_object_get(j, "Pid"), *err = json_object_get(j, "Error");
        if (json_is_integer(pid) && json_integer_value(pid) > 0) {
                c->pid = (pid_t) json_integer_value(pid);
                c->status = ND_CT_RUNNING;
                c->started_us = now_us();
                log_ct(LOG_INFO, c, "container started", "pid=%d monitor=%d", c->pid, c->monitor_pid);
        } else {
                op->r = -EINVAL;
                snprintf(c->error, sizeof(c->error), "%s",
                         json_is_string(err) ? json_string_value(err) : "the monitor failed to start the container");
                nd_diag_set(&op->d, -EINVAL, "container '%s' failed to start: %s", c->name, c->error);
                c->status = ND_CT_EXITED;
                c->exit_code = 127;
                nd_ports_release(c->manager, c);
                nd_resolver_detach(c->manager, c);
                log_ct(LOG_WARNING, c, "container failed to start", "error=\"%s\"", c->error);
        }
        json_decref(j);
        if (watch_monitor(c) < 0 && c->status == ND_CT_RUNNING) {
                /* the monitor died between its report and now */
                ct_exited(c);
        }
        if (ct_persist(c, NULL, 0, NULL, 0, on_run_answered, op) < 0)
                on_run_answered(c, -ENOMEM, op);
}

static int spawn_monitor(nd_manager *m, nd_container *c, struct run_op *op) {
        char bundle[PATH_MAX];
        int p[2];
        pid_t pid;

        bundle_path(m, c->id, bundle, sizeof(bundle));
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                /* the child runs no loop code: straight to exec */
                setsid();
                if (dup2(p[1], 3) < 0)
                        _exit(127);
                syscall(SYS_close_range, 4, ~0U, 0);
                int nul = open("/dev/null", O_RDWR);
                if (nul >= 0) {
                        dup2(nul, 0);
                        dup2(nul, 1);
                        dup2(nul, 2);
                        if (nul > 3)
                                close(nul);
                }
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                execl(m->monitor_path, "netd-monitor", bundle, (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        c->monitor_pid = pid;
        c->report_fd = p[0];
        c->report_len = 0;
        ev_io_init(&c->report_io, on_report, p[0], EV_READ);
        c->report_io.data = op;
        ev_io_start(m->loop, &c->report_io);
        return 0;
}

/* ---- run ---------------------------------------------------------------------------- */

static bool executable_in(const char *root, const char *dir, const char *cmd) {
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof(p), "%s%s%s%s", root, dir, *dir ? "/" : "", cmd);
        /* stat follows symlinks on the host side: an absolute symlink in
         * the rootfs (busybox's are relative) would be resolved wrongly, so
         * accept any entry that exists, as the exec will tell the rest. */
        return lstat(p, &st) == 0 && (S_ISLNK(st.st_mode) || (S_ISREG(st.st_mode) && (st.st_mode & 0111)));
}

static int check_command(const char *rootfs, const char *cmd, const json_t *env, nd_diag *d) {
        const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        size_t i;
        json_t *e;
        if (strchr(cmd, '/'))
                return executable_in(rootfs, "", cmd[0] == '/' ? cmd : cmd) ? 0
                       : nd_diag_set(d, -ENOENT, "command '%s' not found in the root filesystem '%s'", cmd, rootfs);
        json_array_foreach(env, i, e)
                if (strncmp(json_string_value(e), "PATH=", 5) == 0)
                        path = json_string_value(e) + 5;
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s", path);
        char *save = NULL;
        for (char *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
                if (*dir == '/' && executable_in(rootfs, dir, cmd))
                        return 0;
        return nd_diag_set(d, -ENOENT, "command '%s' not found in the root filesystem '%s' (PATH=%s)", cmd, rootfs,
                           path);
}

static void run_fail(nd_container *c, struct run_op *op) {
        nd_manager *m = c->manager;
        op->cb(op->userdata, op->r, NULL, &op->d);
        free(op);
        (void) m;
}

static void on_run_forgotten(void *userdata, int r, nd_container *gone, const nd_diag *d) {
        struct run_op *op = userdata;
        /* the run's own error, whatever the removal said */
        op->cb(op->userdata, op->r, NULL, &op->d);
        free(op);
}

static void on_run_recorded(nd_container *c, int r, void *userdata) {
        struct run_op *op = userdata;
        nd_manager *m = c->manager;

        if (r < 0) {
                /* nothing is in the store: forget it entirely */
                op->r = r == -ECANCELED ? -EEXIST : r;
                nd_diag_set(&op->d, op->r, r == -ECANCELED ? "container name '%s' is already in use"
                                                             : "recording container '%s' failed", c->name);
                for (size_t i = 0; i < c->n_eps; i++)
                        release_endpoint(m, &c->eps[i]);
                run_fail(c, op);
                cts_drop(m, c);
                return;
        }
        r = sandbox_create(m, c);
        if (r < 0) {
                nd_diag_set(&op->d, r, "container '%s': setting up its network failed: %s", c->name, strerror(-r));
                goto fail;
        }
        if (!op->start) {
                /* create only: the sandbox is wired, the process (and its
                 * bundle) wait for a start */
                log_ct(LOG_INFO, c, "container created");
                on_run_answered(c, 0, op);
                return;
        }
        r = nd_ports_publish(m, c, &op->d);
        if (r < 0)
                goto fail;
        r = nd_resolver_attach(m, c, &op->d);
        if (r < 0)
                goto fail;
        r = write_bundle(m, c);
        if (r < 0) {
                nd_diag_set(&op->d, r, "container '%s': writing its bundle failed: %s", c->name, strerror(-r));
                goto fail;
        }
        r = spawn_monitor(m, c, op);
        if (r < 0) {
                nd_diag_set(&op->d, r, "container '%s': starting its monitor failed: %s", c->name, strerror(-r));
                goto fail;
        }
        return;
fail:
        /* nothing of a run that failed before its process started stays:
         * not the record, its addresses, its sandbox or its ports (a
         * record left behind held its addresses until `rm`) */
        op->r = r;
        log_ct(LOG_WARNING, c, "container run failed, removing what it reserved", "error=\"%s\"", op->d.msg);
        if (ct_teardown_and_forget(c, on_run_forgotten, op) < 0) {
                /* the store is unwritable: keep the record, so that `rm`
                 * cleans up later */
                snprintf(c->error, sizeof(c->error), "%s", op->d.msg);
                c->status = ND_CT_EXITED;
                c->exit_code = 126;
                nd_ports_release(m, c);
                nd_resolver_detach(m, c);
                run_fail(c, op);
        }
}

/* Dns (addresses), DnsSearch (domains), DnsOptions (resolv.conf words). */
static int dns_fields(const json_t *req, nd_container *c, nd_diag *d) {
        static const char *const keys[] = { "Dns", "DnsSearch", "DnsOptions" };
        json_t **dst[] = { &c->dns, &c->dns_search, &c->dns_options };
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                json_t *a = json_object_get(req, keys[k]), *v;
                size_t i;
                if (!a || json_is_null(a))
                        continue;
                if (!json_is_array(a) || json_array_size(a) > 6)
                        return nd_diag_set(d, -EINVAL, "container: '%s' must be an array of at most 6 strings",
                                           keys[k]);
                json_array_foreach(a, i, v) {
                        const char *s = json_string_value(v);
                        nd_addr ip;
                        bool ok = s && *s && strlen(s) == json_string_length(v) && strlen(s) <= 253;
                        for (const char *p = s; ok && *p; p++)
                                ok = k == 2 ? (*p > ' ' && *p < 127) : (isalnum((unsigned char) *p) || strchr(".-_:", *p));
                        if (ok && k == 0)
                                ok = nd_addr_parse(s, &ip) == 0;
                        if (!ok)
                                return nd_diag_set(d, -EINVAL, "container: invalid %s entry '%.64s'", keys[k],
                                                   s ? s : "?");
                }
                if (json_array_size(a))
                        *dst[k] = json_incref(a);
        }
        return 0;
}

/* Legacy --link NAME[:ALIAS]: the target must run on a network @c is on;
 * its address goes to /etc/hosts under ALIAS, and ALIAS_PORT_* variables
 * describe its ports, as Docker's links do.  A snapshot, like theirs. */
static void link_env(nd_container *c, const char *alias, const char *ip, const nd_container *t) {
        char up[ND_NAME_MAX + 1], kv[ND_NAME_MAX * 2 + 96];
        size_t k = 0;
        for (; alias[k] && k < ND_NAME_MAX; k++)
                up[k] = isalnum((unsigned char) alias[k]) ? (char) toupper((unsigned char) alias[k]) : '_';
        up[k] = 0;
        snprintf(kv, sizeof(kv), "%s_NAME=/%s/%s", up, c->name, alias);
        json_array_append_new(c->env, json_string(kv));
        for (size_t i = 0; i < t->n_ports; i++) {
                const char *pr = nd_proto_name(t->ports[i].proto);
                char PR[8];
                unsigned p = t->ports[i].ctr;
                for (k = 0; pr[k] && k < sizeof(PR) - 1; k++)
                        PR[k] = (char) toupper((unsigned char) pr[k]);
                PR[k] = 0;
                if (i == 0) {
                        snprintf(kv, sizeof(kv), "%s_PORT=%s://%s:%u", up, pr, ip, p);
                        json_array_append_new(c->env, json_string(kv));
                }
                snprintf(kv, sizeof(kv), "%s_PORT_%u_%s=%s://%s:%u", up, p, PR, pr, ip, p);
                json_array_append_new(c->env, json_string(kv));
                snprintf(kv, sizeof(kv), "%s_PORT_%u_%s_ADDR=%s", up, p, PR, ip);
                json_array_append_new(c->env, json_string(kv));
                snprintf(kv, sizeof(kv), "%s_PORT_%u_%s_PORT=%u", up, p, PR, p);
                json_array_append_new(c->env, json_string(kv));
                snprintf(kv, sizeof(kv), "%s_PORT_%u_%s_PROTO=%s", up, p, PR, pr);
                json_array_append_new(c->env, json_string(kv));
        }
}

static int links_resolve(nd_manager *m, const json_t *req, nd_container *c, nd_diag *d) {
        json_t *a = json_object_get(req, "Links"), *v;
        size_t i;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > 16)
                return nd_diag_set(d, -EINVAL, "container: 'Links' must be an array of at most 16 \"NAME[:ALIAS]\"");
        json_t *out = json_array();
        if (!out)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        json_array_foreach(a, i, v) {
                const char *s = json_string_value(v);
                char name[ND_NAME_MAX + 1], alias[ND_NAME_MAX + 1], ip[ND_ADDR_STRLEN] = "";
                const char *colon = s ? strchr(s, ':') : NULL;
                nd_container *t;
                if (!s || !*s || strlen(s) > 2 * ND_NAME_MAX + 1 ||
                    (colon && ((size_t) (colon - s) > ND_NAME_MAX || strlen(colon + 1) > ND_NAME_MAX))) {
                        json_decref(out);
                        return nd_diag_set(d, -EINVAL, "invalid link '%.64s': want NAME[:ALIAS]", s ? s : "?");
                }
                snprintf(name, sizeof(name), "%.*s", colon ? (int) (colon - s) : (int) strlen(s), s);
                snprintf(alias, sizeof(alias), "%s", colon ? colon + 1 : name);
                if (nd_name_valid(alias) < 0 || nd_manager_container_find(m, name, &t) < 0) {
                        json_decref(out);
                        return nd_diag_set(d, nd_name_valid(alias) < 0 ? -EINVAL : -ENOENT,
                                           nd_name_valid(alias) < 0 ? "invalid link alias '%.64s'"
                                                                     : "linked container '%.64s' not found",
                                           nd_name_valid(alias) < 0 ? alias : name);
                }
                for (size_t k = 0; k < t->n_eps && !*ip; k++)
                        if (nd_container_endpoint(c, t->eps[k].net_id) && t->eps[k].addr4.family)
                                nd_addr_fmt(&t->eps[k].addr4, ip);
                if (t->status != ND_CT_RUNNING || !*ip) {
                        json_decref(out);
                        return nd_diag_set(d, -EINVAL, "cannot link to '%s': it must be running on a network "
                                           "this container joins", t->name);
                }
                json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "Name", t->name, "Alias", alias, "IP", ip));
                link_env(c, alias, ip, t);
        }
        c->links = json_array_size(out) ? out : NULL;
        if (!c->links)
                json_decref(out);
        return 0;
}

/* ExtraHosts (--add-host NAME:IP): checked now, so a bad entry creates
 * nothing; host-gateway is resolved whenever the hosts file is written. */
static int extra_hosts_parse(const json_t *req, nd_container *c, nd_diag *d) {
        json_t *a = json_object_get(req, "ExtraHosts"), *v;
        size_t i;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a) || json_array_size(a) > 64)
                return nd_diag_set(d, -EINVAL, "container: 'ExtraHosts' must be an array of at most 64 \"NAME:IP\"");
        json_array_foreach(a, i, v) {
                char name[ND_NAME_MAX + 1], ip[ND_ADDR_STRLEN];
                const char *s = json_string_value(v);
                int r;
                if (!s || strlen(s) != json_string_length(v))
                        return nd_diag_set(d, -EINVAL, "container: 'ExtraHosts' must hold strings");
                if ((r = extra_host_parse(c, s, name, ip, d)) < 0)
                        return r;
        }
        if (json_array_size(a))
                c->extra_hosts = json_incref(a);
        return 0;
}

static int parse_mode(nd_manager *m, const char *s, nd_container *c, nd_diag *d) {
        if (!s || !*s || strcmp(s, "bridge") == 0 || strcmp(s, "default") == 0)
                c->mode = ND_NET_MODE_BRIDGE;
        else if (strcmp(s, "none") == 0)
                c->mode = ND_NET_MODE_NONE;
        else if (strcmp(s, "host") == 0)
                c->mode = ND_NET_MODE_HOST;
        else if (strncmp(s, "container:", 10) == 0) {
                nd_container *t;
                if (nd_manager_container_find(m, s + 10, &t) < 0)
                        return nd_diag_set(d, -ENOENT, "container '%.64s' (of --network %.80s) not found", s + 10, s);
                if (t->status != ND_CT_RUNNING)
                        return nd_diag_set(d, -EBUSY, "container '%s' is not running", t->name);
                while (t->mode == ND_NET_MODE_CONTAINER) {
                        nd_container *u;
                        if (nd_manager_container_find(m, t->mode_target, &u) < 0)
                                return nd_diag_set(d, -ENOENT, "container '%s' has no network namespace", t->name);
                        t = u;
                }
                if (t->mode == ND_NET_MODE_HOST) {
                        c->mode = ND_NET_MODE_HOST;
                        return 0;
                }
                c->mode = ND_NET_MODE_CONTAINER;
                strcpy(c->mode_target, t->id);
        } else
                return nd_diag_set(d, -EINVAL, "invalid network mode '%.64s' (bridge, none, host, container:NAME)", s);
        return 0;
}

static int container_run_once(nd_manager *m, const json_t *req, bool start, nd_manager_ct_fn cb, void *userdata,
                              nd_diag *d) {
        static const char *const keys[] = { "Name", "Hostname", "Cmd", "Env", "Rootfs", "Memory", "PidsLimit",
                                            "AutoRemove", "NetworkMode", "Networks", "Ports", "Dns", "DnsSearch",
                                            "DnsOptions", "Links", "CapAdd", "CapDrop", "Privileged", "SecurityOpt",
                                            "ReadonlyRootfs", "ExtraHosts", NULL };
        _cleanup_(nd_container_freep) nd_container *c = nd_container_new();
        const char *name = NULL, *hostname = NULL, *rootfs = NULL, *mode = NULL;
        json_t *cmd, *env, *nets, *v;
        struct stat st;
        size_t i;
        int r;

        if (!c)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (m->n_cts >= ND_MAX_CONTAINERS)
                return nd_diag_set(d, -ENOSPC, "too many containers (limit %d)", ND_MAX_CONTAINERS);
        if ((r = nd_json_only_keys(req, keys, "container", d)) < 0 ||
            (r = nd_json_string(req, "Name", "container", &name, d)) < 0 ||
            (r = nd_json_string(req, "Hostname", "container", &hostname, d)) < 0 ||
            (r = nd_json_string(req, "Rootfs", "container", &rootfs, d)) < 0 ||
            (r = nd_json_string(req, "NetworkMode", "container", &mode, d)) < 0 ||
            (r = nd_json_bool(req, "AutoRemove", "container", &c->auto_remove, d)) < 0)
                return r;
        /* the sandbox first: a bad capability or profile creates nothing */
        if ((r = nd_ct_security_from_json(req, &c->sec, d)) < 0)
                return r;
        r = nd_id_new(c->id);
        if (r < 0)
                return nd_diag_set(d, r, "cannot generate an id");
        if (name && *name) {
                if (nd_name_valid(name) < 0)
                        return nd_diag_set(d, -EINVAL, "invalid container name '%.64s': use 1-%d characters of "
                                           "[a-zA-Z0-9_.-], starting with a letter or digit", name, ND_NAME_MAX);
                strcpy(c->name, name);
        } else
                snprintf(c->name, sizeof(c->name), "ct-%.10s", c->id);
        for (size_t k = 0; k < m->n_cts; k++)
                if (strcmp(m->cts[k]->name, c->name) == 0)
                        return nd_diag_set(d, -EEXIST, "container name '%s' is already in use by %.12s", c->name,
                                           m->cts[k]->id);
        r = parse_mode(m, mode, c, d);
        if (r < 0)
                return r;
        if (c->mode == ND_NET_MODE_CONTAINER) {
                /* Docker's rule: the namespace's owner has the say */
                static const char *const own[] = { "Hostname", "Dns", "DnsSearch", "DnsOptions", "ExtraHosts",
                                                   "Links" };
                static const char *const what[] = { "hostname", "dns", "dns-search", "dns-option",
                                                    "custom host-to-IP mapping", "links" };
                for (size_t k = 0; k < ELEMENTSOF(own); k++) {
                        json_t *o = json_object_get(req, own[k]);
                        if (o && !json_is_null(o) && (json_is_string(o) ? *json_string_value(o) : json_array_size(o) > 0))
                                return nd_diag_set(d, -EINVAL, "conflicting options: %s and the network mode "
                                                   "(container:) cannot be combined", what[k]);
                }
                strcpy(c->hostname, net_owner(m, c)->hostname);
        } else if (hostname && *hostname) {
                if (nd_name_valid(hostname) < 0 || strlen(hostname) > 63)
                        return nd_diag_set(d, -EINVAL, "invalid hostname '%.64s'", hostname);
                strcpy(c->hostname, hostname);
        } else
                snprintf(c->hostname, sizeof(c->hostname), "%.12s", c->id);

        cmd = json_object_get(req, "Cmd");
        if (!json_is_array(cmd) || json_array_size(cmd) == 0 || json_array_size(cmd) > MAX_ARGS)
                return nd_diag_set(d, -EINVAL, "container: 'Cmd' must be a non-empty array of strings");
        json_array_foreach(cmd, i, v)
                if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                        return nd_diag_set(d, -EINVAL, "container: 'Cmd' must hold strings");
        env = json_object_get(req, "Env");
        c->env = json_array();
        c->args = json_deep_copy(cmd);
        if (!c->env || !c->args)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        char hn_env[ND_NAME_MAX + 16];
        snprintf(hn_env, sizeof(hn_env), "HOSTNAME=%s", c->hostname);
        json_array_append_new(c->env, json_string(DEFAULT_PATH));
        json_array_append_new(c->env, json_string(hn_env));
        if (env && !json_is_null(env)) {
                if (!json_is_array(env) || json_array_size(env) > MAX_ENV)
                        return nd_diag_set(d, -EINVAL, "container: 'Env' must be an array of at most %d strings", MAX_ENV);
                json_array_foreach(env, i, v) {
                        const char *s = json_string_value(v), *eq = s ? strchr(s, '=') : NULL;
                        if (!eq || eq == s || strlen(s) != json_string_length(v))
                                return nd_diag_set(d, -EINVAL, "container: Env entry '%.64s' is not KEY=VALUE",
                                                   s ? s : "?");
                        /* a later entry for the same key replaces an earlier one */
                        size_t klen = (size_t) (eq - s) + 1, k;
                        json_t *o;
                        json_array_foreach(c->env, k, o)
                                if (strncmp(json_string_value(o), s, klen) == 0) {
                                        json_array_remove(c->env, k);
                                        break;
                                }
                        json_array_append_new(c->env, json_string(s));
                }
        }
        json_t *mem = json_object_get(req, "Memory"), *pids = json_object_get(req, "PidsLimit");
        if (mem && !json_is_null(mem)) {
                if (!json_is_integer(mem) || json_integer_value(mem) < 0 ||
                    (json_integer_value(mem) > 0 && json_integer_value(mem) < 4 * 1024 * 1024))
                        return nd_diag_set(d, -EINVAL, "container: 'Memory' must be 0 or at least 4 MiB (bytes)");
                c->memory = json_integer_value(mem);
        }
        if (pids && !json_is_null(pids)) {
                if (!json_is_integer(pids) || json_integer_value(pids) < 0)
                        return nd_diag_set(d, -EINVAL, "container: 'PidsLimit' must be a non-negative integer");
                c->pids_limit = json_integer_value(pids);
        }

        snprintf(c->rootfs, sizeof(c->rootfs), "%s", rootfs && *rootfs ? rootfs : m->default_rootfs);
        if (c->rootfs[0] != '/')
                return nd_diag_set(d, -EINVAL, "rootfs '%s' must be an absolute path", c->rootfs);
        if (stat(c->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
                return nd_diag_set(d, -ENOENT, "root filesystem '%s' does not exist%s", c->rootfs,
                                   rootfs && *rootfs ? "" : "; create the default one with 'netctl rootfs init'");
        r = check_command(c->rootfs, json_string_value(json_array_get(c->args, 0)), c->env, d);
        if (r < 0)
                return r;

        nets = json_object_get(req, "Networks");
        if (nets && !json_is_null(nets)) {
                if (!json_is_array(nets) || json_array_size(nets) > ND_MAX_ENDPOINTS)
                        return nd_diag_set(d, -EINVAL, "container: 'Networks' must be an array of at most %d entries",
                                           ND_MAX_ENDPOINTS);
                if (json_array_size(nets) > 0 && c->mode != ND_NET_MODE_BRIDGE)
                        return nd_diag_set(d, -EINVAL, "networks cannot be combined with network mode '%s'", mode);
        }
        json_array_foreach(nets, i, v) {
                const char *ref = NULL;
                nd_network *n;
                if (!json_is_object(v) || nd_json_string(v, "Network", "Networks[]", &ref, d) < 0 || !ref) {
                        r = nd_diag_set(d, -EINVAL, "container: Networks[%zu] needs a 'Network'", i);
                        goto unwind;
                }
                r = nd_manager_network_find(m, ref, &n);
                if (r < 0) {
                        r = nd_diag_set(d, r == -ENOTUNIQ ? -ENOTUNIQ : -ENOENT, "network '%.64s' %s", ref,
                                        r == -ENOTUNIQ ? "is ambiguous" : "not found");
                        goto unwind;
                }
                if (nd_container_endpoint(c, n->id)) {
                        r = nd_diag_set(d, -EINVAL, "network '%s' given twice", n->spec.name);
                        goto unwind;
                }
                r = endpoint_prepare(m, c, n, v, &c->eps[c->n_eps], d);
                if (r < 0)
                        goto unwind;
                c->n_eps++;
        }
        if (c->mode == ND_NET_MODE_BRIDGE && c->n_eps == 0)
                c->mode = ND_NET_MODE_NONE; /* no network named: loopback only */
        gateway_mark(c, gateway_endpoint(m, c));
        r = dns_fields(req, c, d);
        if (r < 0)
                goto unwind;
        r = links_resolve(m, req, c, d);
        if (r < 0)
                goto unwind;
        r = extra_hosts_parse(req, c, d);
        if (r < 0)
                goto unwind;
        json_t *ports = json_object_get(req, "Ports");
        if (ports && !json_is_null(ports)) {
                if (!json_is_array(ports)) {
                        r = nd_diag_set(d, -EINVAL, "container: 'Ports' must be an array of strings like "
                                        "\"8080:80/tcp\"");
                        goto unwind;
                }
                json_array_foreach(ports, i, v)
                        if ((r = nd_port_spec_parse(json_string_value(v), &c->ports, &c->n_ports, d)) < 0)
                                goto unwind;
                if (c->n_ports && c->mode != ND_NET_MODE_BRIDGE) {
                        r = nd_diag_set(d, -EINVAL, "ports can only be published from a container on a network "
                                        "(network mode is %s)", c->mode == ND_NET_MODE_HOST ? "host, where the "
                                        "container uses the host's ports directly" : c->mode == ND_NET_MODE_NONE ?
                                        "none" : "container:");
                        goto unwind;
                }
        }
        c->created_us = now_us();
        c->status = ND_CT_CREATED;

        /* one transaction: record, name, addresses */
        char name_key[256];
        nd_store_op ops[1 + 2 * ND_MAX_ENDPOINTS];
        char *strs[4 * ND_MAX_ENDPOINTS] = {0};
        size_t n_ops = 0;
        snprintf(name_key, sizeof(name_key), KEY_CTNAMES "%s", c->name);
        ops[n_ops++] = (nd_store_op) { .type = ND_STORE_PUT, .key = name_key, .value = c->id };
        for (size_t k = 0; k < c->n_eps; k++)
                n_ops += endpoint_ipam_ops(c, net_by_id(m, c->eps[k].net_id), &c->eps[k], true, ops + n_ops,
                                           strs + 4 * k);
        nd_store_cmp cmp = { .key = name_key };
        struct run_op *op = calloc(1, sizeof(*op));
        if (!op || (r = cts_add(m, c)) < 0) {
                free(op);
                r = nd_diag_set(d, -ENOMEM, "out of memory");
                goto unwind_strs;
        }
        *op = (struct run_op) { .c = c, .cb = cb, .userdata = userdata, .start = start };
        r = ct_persist(c, &cmp, 1, ops, n_ops, on_run_recorded, op);
        for (size_t k = 0; k < ELEMENTSOF(strs); k++)
                free(strs[k]);
        if (r < 0) {
                free(op);
                m->n_cts--;
                r = nd_diag_set(d, r, "store: %s", strerror(-r));
                goto unwind;
        }
        TAKE_PTR(c);
        return 0;
unwind_strs:
        for (size_t k = 0; k < ELEMENTSOF(strs); k++)
                free(strs[k]);
unwind:
        for (size_t k = 0; k < c->n_eps; k++)
                release_endpoint(m, &c->eps[k]);
        return r;
}

int nd_manager_container_start(nd_manager *m, nd_container *c, nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        char status[PATH_MAX];
        struct run_op *op;
        int r;

        if (c->status == ND_CT_RUNNING)
                return nd_diag_set(d, -EALREADY, "container '%s' is already running", c->name);
        if (c->removing || c->persisting || c->report_fd >= 0)
                return nd_diag_set(d, -EBUSY, "container '%s' is busy", c->name);
        if (c->mode == ND_NET_MODE_CONTAINER) {
                nd_container *t;
                if (nd_manager_container_find(m, c->mode_target, &t) < 0 || t->status != ND_CT_RUNNING)
                        return nd_diag_set(d, -EBUSY, "the container whose network '%s' shares is not running",
                                           c->name);
        }
        /* the sandbox may be incomplete (a crash while wiring it, an
         * operator's `ip link del`): make it match the record first */
        r = sandbox_repair(m, c);
        if (r < 0)
                return nd_diag_set(d, r, "container '%s': setting up its network failed: %s", c->name, strerror(-r));
        r = write_bundle(m, c);
        if (r < 0)
                return nd_diag_set(d, r, "container '%s': writing its bundle failed: %s", c->name, strerror(-r));
        r = nd_ports_publish(m, c, d);
        if (r < 0)
                return r;
        r = nd_resolver_attach(m, c, d);
        if (r < 0) {
                nd_ports_release(m, c);
                return r;
        }
        bundle_path(m, c->id, status, sizeof(status));
        strcat(status, "/status.json");
        (void) unlink(status);
        op = calloc(1, sizeof(*op));
        if (!op) {
                nd_ports_release(m, c);
                nd_resolver_detach(m, c);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        *op = (struct run_op) { .c = c, .cb = cb, .userdata = userdata, .start = true };
        c->error[0] = 0;
        c->exit_code = 0;
        r = spawn_monitor(m, c, op);
        if (r < 0) {
                free(op);
                nd_ports_release(m, c);
                nd_resolver_detach(m, c);
                return nd_diag_set(d, r, "container '%s': starting its monitor failed: %s", c->name, strerror(-r));
        }
        return 0;
}

/* ---- stop / remove -------------------------------------------------------------------- */

static void notify_waiters(nd_container *c, int r, const nd_diag *d) {
        nd_ct_waiter *w = c->waiters;
        c->waiters = NULL;
        while (w) {
                nd_ct_waiter *next = w->next;
                if (w->then_remove) {
                        int k = ct_teardown_and_forget(c, w->cb, w->userdata);
                        if (k < 0 && w->cb) {
                                nd_diag dd = {0};
                                nd_diag_set(&dd, k, "removing container '%s' failed", c->name);
                                w->cb(w->userdata, k, NULL, &dd);
                        }
                        free(w);
                        /* @c is gone now; the other waiters were answered by
                         * ct_teardown_and_forget */
                        w = next;
                        while (w) {
                                next = w->next;
                                if (w->cb)
                                        w->cb(w->userdata, 0, NULL, NULL);
                                free(w);
                                w = next;
                        }
                        return;
                }
                if (w->cb)
                        w->cb(w->userdata, r, c, d);
                free(w);
                w = next;
        }
}

static int add_waiter(nd_container *c, nd_manager_ct_fn cb, void *userdata, bool then_remove) {
        nd_ct_waiter *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (nd_ct_waiter) { .cb = cb, .userdata = userdata, .then_remove = then_remove };
        /* removal goes last so stop waiters are answered first */
        nd_ct_waiter **p = &c->waiters;
        while (*p)
                p = &(*p)->next;
        *p = w;
        return 0;
}

static void ct_signal(nd_container *c, int sig) {
        if (c->pid_fd >= 0) {
                if (pidfd_signal(c->pid_fd, sig) < 0 && errno != ESRCH)
                        log_ct(LOG_WARNING, c, "signalling the container failed", "signal=%d err=%d", sig, errno);
        } else if (c->pid > 0)
                kill(c->pid, sig);
}

static void on_stop_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_container *c = container_of(w, nd_container, stop_timer);
        log_ct(LOG_INFO, c, "stop timeout, killing");
        ct_signal(c, SIGKILL);
}

int nd_manager_container_stop(nd_manager *m, nd_container *c, double timeout, nd_manager_ct_fn cb, void *userdata,
                              nd_diag *d) {
        if (c->status != ND_CT_RUNNING)
                return nd_diag_set(d, -EALREADY, "container '%s' is not running", c->name);
        int r = add_waiter(c, cb, userdata, false);
        if (r < 0)
                return nd_diag_set(d, r, "out of memory");
        if (!ev_is_active(&c->stop_timer)) {
                log_ct(LOG_INFO, c, "stopping", "timeout=%.0f", timeout);
                ct_signal(c, timeout <= 0 ? SIGKILL : SIGTERM);
                ev_timer_init(&c->stop_timer, on_stop_timeout, timeout > 0 ? timeout : 1., 0.);
                ev_timer_start(m->loop, &c->stop_timer);
        }
        return 0;
}

struct rm_op {
        nd_container *c;
        nd_manager_ct_fn cb;
        void *userdata;
        char *strs[4 * ND_MAX_ENDPOINTS + 2];
};

static void on_removed(void *userdata, int r, int64_t rev) {
        struct rm_op *op = userdata;
        nd_container *c = op->c;
        nd_manager *m = c->manager;
        nd_diag d = {0};

        for (size_t i = 0; i < ELEMENTSOF(op->strs); i++)
                free(op->strs[i]);
        if (r < 0) {
                c->removing = false;
                nd_diag_set(&d, r, "removing container '%s' from the store failed: %s", c->name, strerror(-r));
                if (op->cb)
                        op->cb(op->userdata, r, NULL, &d);
                free(op);
                return;
        }
        for (size_t i = 0; i < c->n_eps; i++)
                release_endpoint(m, &c->eps[i]);
        log_ct(LOG_INFO, c, "container removed");
        if (op->cb)
                op->cb(op->userdata, 0, NULL, NULL);
        notify_waiters(c, 0, NULL);
        cts_drop(m, c);
        free(op);
}

/* Kernel and files first (idempotent, so a failed store write can be
 * retried), then the store. */
static int ct_teardown_and_forget(nd_container *c, nd_manager_ct_fn cb, void *userdata) {
        nd_manager *m = c->manager;
        struct rm_op *op = calloc(1, sizeof(*op));
        nd_store_op ops[3 + 2 * ND_MAX_ENDPOINTS];
        size_t n = 0;
        char k1[256], k2[256];
        int r;

        if (!op)
                return -ENOMEM;
        op->c = c;
        op->cb = cb;
        op->userdata = userdata;
        c->removing = true;
        ct_stop_watchers(c);
        nd_ports_release(m, c);
        nd_resolver_detach(m, c);
        sandbox_destroy(m, c);
        remove_cgroups(c);
        remove_bundle(m, c);
        snprintf(k1, sizeof(k1), KEY_CONTAINERS "%s", c->id);
        snprintf(k2, sizeof(k2), KEY_CTNAMES "%s", c->name);
        ops[n++] = (nd_store_op) { .type = ND_STORE_DELETE, .key = k1 };
        ops[n++] = (nd_store_op) { .type = ND_STORE_DELETE, .key = k2 };
        for (size_t i = 0; i < c->n_eps; i++)
                n += endpoint_ipam_ops(c, net_by_id(m, c->eps[i].net_id), &c->eps[i], false, ops + n, op->strs + 4 * i);
        r = nd_store_txn(m->store, NULL, 0, ops, n, on_removed, op);
        if (r < 0) {
                for (size_t i = 0; i < ELEMENTSOF(op->strs); i++)
                        free(op->strs[i]);
                free(op);
                c->removing = false;
        }
        return r;
}

int nd_manager_container_remove(nd_manager *m, nd_container *c, bool force, nd_manager_ct_fn cb, void *userdata,
                                nd_diag *d) {
        int r;
        if (c->removing)
                return nd_diag_set(d, -EBUSY, "container '%s' is being removed", c->name);
        for (size_t i = 0; i < m->n_cts; i++)
                if (m->cts[i]->mode == ND_NET_MODE_CONTAINER && strcmp(m->cts[i]->mode_target, c->id) == 0 &&
                    m->cts[i]->status == ND_CT_RUNNING)
                        return nd_diag_set(d, -EBUSY, "container '%s' shares its network with running container '%s'",
                                           c->name, m->cts[i]->name);
        if (c->status == ND_CT_RUNNING) {
                if (!force)
                        return nd_diag_set(d, -EBUSY, "container '%s' is running: stop it first or use --force",
                                           c->name);
                r = add_waiter(c, cb, userdata, true);
                if (r < 0)
                        return nd_diag_set(d, r, "out of memory");
                c->removing = true;
                ct_signal(c, SIGKILL);
                return 0;
        }
        if (c->persisting || c->report_fd >= 0)
                return nd_diag_set(d, -EBUSY, "container '%s' is starting", c->name);
        r = ct_teardown_and_forget(c, cb, userdata);
        if (r < 0)
                return nd_diag_set(d, r, "store: %s", strerror(-r));
        return 0;
}

/* ---- connect / disconnect ------------------------------------------------------------ */

struct conn_op {
        nd_container *c;
        nd_endpoint ep;     /* disconnect: the removed endpoint */
        bool disconnect;
        nd_manager_ct_fn cb;
        void *userdata;
        char *strs[4];
};

/* The gateway's endpoint went: the default route moves to its successor. */
static void gateway_move(nd_manager *m, nd_container *c) {
        int gw = gateway_choose(m, c, true);
        gateway_mark(c, gw);
        if (gw < 0)
                return;
        int r = sandbox_set_gateway(m, c, &c->eps[gw]);
        if (r < 0)
                log_ct(LOG_WARNING, c, "moving the default route failed, ignoring", "net=%s err=%d",
                       c->eps[gw].net_name, r);
        else
                log_ct(LOG_INFO, c, "default route moved", "net=%s", c->eps[gw].net_name);
}

/* A connect whose record could not be written: take the endpoint back out
 * of the kernel and of memory, so neither holds what the store does not. */
static void connect_undo(nd_container *c, const char *net_id) {
        nd_manager *m = c->manager;
        nd_endpoint *e = nd_container_endpoint(c, net_id);
        if (!e)
                return;
        bool was_gw = e->default_route;
        sandbox_detach(m, e);
        release_endpoint(m, e);
        memmove(e, e + 1, (size_t) (c->eps + c->n_eps - e - 1) * sizeof(*e));
        c->n_eps--;
        if (was_gw)
                gateway_move(m, c);
        write_hosts(m, c);
        nd_ports_refresh(m, c);
        nd_resolver_refresh(m, c);
}

static void on_conn_persisted(nd_container *c, int r, void *userdata) {
        struct conn_op *op = userdata;
        nd_diag d = {0};
        for (size_t i = 0; i < ELEMENTSOF(op->strs); i++)
                free(op->strs[i]);
        if (r < 0) {
                nd_diag_set(&d, r, "recording the change failed: %s", strerror(-r));
                if (!op->disconnect)
                        connect_undo(c, op->ep.net_id);
                /* a failed disconnect: the interface is gone but the record
                 * keeps the endpoint; the next start or restart re-creates
                 * it, so kernel and store agree again */
        } else if (op->disconnect)
                release_endpoint(c->manager, &op->ep);
        op->cb(op->userdata, r, c, &d);
        free(op);
}

/* Write the record with @ep's address records put or deleted; on failure
 * frees @op and fills @d. */
static int conn_persist(nd_container *c, nd_network *n, struct conn_op *op, bool put, nd_diag *d) {
        nd_store_op ops[2];
        size_t k = endpoint_ipam_ops(c, n, &op->ep, put, ops, op->strs);
        int r = ct_persist(c, NULL, 0, ops, k, on_conn_persisted, op);
        if (r < 0) {
                for (size_t i = 0; i < ELEMENTSOF(op->strs); i++)
                        free(op->strs[i]);
                free(op);
                return nd_diag_set(d, r, "store: %s", strerror(-r));
        }
        return 0;
}

static int container_connect_once(nd_manager *m, nd_network *n, nd_container *c, const json_t *req,
                                  nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        int r;

        if (c->status != ND_CT_RUNNING || c->removing)
                return nd_diag_set(d, -EBUSY, "container '%s' is not running", c->name);
        if (c->mode != ND_NET_MODE_BRIDGE && c->mode != ND_NET_MODE_NONE)
                return nd_diag_set(d, -EINVAL, "container '%s' uses another namespace (host or container mode)",
                                   c->name);
        if (nd_container_endpoint(c, n->id))
                return nd_diag_set(d, -EEXIST, "container '%s' is already connected to network '%s'", c->name,
                                   n->spec.name);
        if (c->n_eps >= ND_MAX_ENDPOINTS)
                return nd_diag_set(d, -ENOSPC, "container '%s' has the maximum of %d networks", c->name,
                                   ND_MAX_ENDPOINTS);
        struct conn_op *op = calloc(1, sizeof(*op));
        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        nd_endpoint *e = &c->eps[c->n_eps];
        r = endpoint_prepare(m, c, n, req, e, d);
        if (r < 0) {
                free(op);
                return r;
        }
        /* the new network takes the default route when there is none yet
         * or it has a higher --gw-priority than the network holding it */
        int gw = gateway_endpoint(m, c);
        bool take_gw = !n->spec.internal && (gw < 0 || e->gw_priority > c->eps[gw].gw_priority);
        r = sandbox_attach(m, c, e, take_gw);
        if (r < 0) {
                release_endpoint(m, e);
                free(op);
                return nd_diag_set(d, r, "attaching container '%s' to network '%s' failed: %s", c->name,
                                   n->spec.name, strerror(-r));
        }
        c->n_eps++;
        if (take_gw)
                gateway_mark(c, (int) c->n_eps - 1);
        c->mode = ND_NET_MODE_BRIDGE;
        write_hosts(m, c);
        *op = (struct conn_op) { .c = c, .ep = *e, .cb = cb, .userdata = userdata };
        r = conn_persist(c, n, op, true, d);
        if (r < 0) {
                connect_undo(c, n->id);
                return r;
        }
        nd_ports_refresh(m, c);
        nd_resolver_refresh(m, c);
        log_ct(LOG_INFO, c, "connected", "net=%s if=%s", n->spec.name, e->ifname);
        return 0;
}

int nd_manager_container_disconnect(nd_manager *m, nd_network *n, nd_container *c, nd_manager_ct_fn cb,
                                    void *userdata, nd_diag *d) {
        nd_endpoint *e = nd_container_endpoint(c, n->id);
        int r;

        if (!e)
                return nd_diag_set(d, -ENOENT, "container '%s' is not connected to network '%s'", c->name,
                                   n->spec.name);
        if (c->removing)
                return nd_diag_set(d, -EBUSY, "container '%s' is being removed", c->name);
        struct conn_op *op = calloc(1, sizeof(*op));
        if (!op)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        r = sandbox_detach(m, e);
        if (r < 0) {
                free(op);
                return nd_diag_set(d, r, "removing the interface failed: %s", strerror(-r));
        }
        *op = (struct conn_op) { .c = c, .ep = *e, .disconnect = true, .cb = cb, .userdata = userdata };
        bool was_gw = e->default_route;
        memmove(e, e + 1, (size_t) (c->eps + c->n_eps - e - 1) * sizeof(*e));
        c->n_eps--;
        if (was_gw)
                gateway_move(m, c);
        write_hosts(m, c);
        r = conn_persist(c, n, op, false, d);
        if (r < 0)
                return r;
        nd_ports_refresh(m, c);
        nd_resolver_refresh(m, c);
        log_ct(LOG_INFO, c, "disconnected", "net=%s", n->spec.name);
        return 0;
}

/* ---- start-up ------------------------------------------------------------------------ */

struct load_op {
        nd_manager *m;
        void (*done)(nd_manager *m);
};

/* Is @mon a live monitor of container @id's bundle (not a recycled pid)? */
static bool monitor_of(nd_manager *m, const char *id, pid_t mon) {
        char path[64], cmd[PATH_MAX + 64], bundle[PATH_MAX];
        if (mon <= 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/cmdline", mon);
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        size_t k = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        cmd[k] = 0;
        /* argv[0] NUL argv[1] */
        size_t l0 = strlen(cmd);
        bundle_path(m, id, bundle, sizeof(bundle));
        return strstr(cmd, "netd-monitor") && l0 + 1 < k && strcmp(cmd + l0 + 1, bundle) == 0;
}

static bool monitor_alive(nd_manager *m, const nd_container *c) {
        return monitor_of(m, c->id, c->monitor_pid);
}

/* BUNDLE/pid.json (runtime/monitor.c): 0, or -errno when absent or bad. */
static int read_pids(nd_manager *m, const char *id, pid_t *ret_mon, pid_t *ret_pid, bool *ret_started) {
        char path[PATH_MAX];
        bundle_path(m, id, path, sizeof(path));
        strncat(path, "/pid.json", sizeof(path) - strlen(path) - 1);
        _cleanup_(json_decrefp) json_t *j = json_load_file(path, 0, NULL);
        json_t *mon = json_object_get(j, "Monitor"), *pid = json_object_get(j, "Pid");
        if (!json_is_integer(mon) || !json_is_integer(pid) || json_integer_value(mon) <= 0 ||
            json_integer_value(pid) <= 0 || json_integer_value(mon) > INT32_MAX || json_integer_value(pid) > INT32_MAX)
                return j ? -EBADMSG : -ENOENT;
        *ret_mon = (pid_t) json_integer_value(mon);
        *ret_pid = (pid_t) json_integer_value(pid);
        *ret_started = json_is_true(json_object_get(j, "Started"));
        return 0;
}

/* A monitor netd never heard from (it was killed while the container
 * started): a container that runs its command is adopted as running; one
 * still being set up is stopped (its start failed with netd).  Returns
 * true when @c runs now. */
static bool adopt_monitor(nd_manager *m, nd_container *c) {
        pid_t mon, pid;
        bool started;
        if (read_pids(m, c->id, &mon, &pid, &started) < 0 || !monitor_of(m, c->id, mon))
                return false;
        if (!started) {
                /* the init is the monitor's child: mon is alive, so pid is ours */
                kill(pid, SIGKILL);
                kill(mon, SIGKILL);
                log_ct(LOG_WARNING, c, "stopped a container whose start netd did not see finish",
                       "monitor=%d pid=%d", mon, pid);
                return false;
        }
        c->monitor_pid = mon;
        c->pid = pid;
        c->status = ND_CT_RUNNING;
        c->started_us = now_us();
        c->error[0] = 0;
        log_ct(LOG_WARNING, c, "adopted a running container whose start netd did not see finish",
               "monitor=%d pid=%d", mon, pid);
        if (ct_persist(c, NULL, 0, NULL, 0, NULL, NULL) < 0)
                log_ct(LOG_ERR, c, "recording the adopted container failed");
        return true;
}

/* Monitors of containers netd does not hold as running: one spawned just
 * before netd was killed may not have written pid.json yet, and would
 * start its container behind netd's back (and a start would run a second
 * copy).  Found by their command line, and stopped; the container's init
 * dies with its monitor until it runs its command (runtime/monitor.c). */
static void stop_stray_monitors(nd_manager *m) {
        char prefix[PATH_MAX];
        bundle_path(m, "", prefix, sizeof(prefix));
        size_t plen = strlen(prefix);
        DIR *d = opendir("/proc");
        struct dirent *de;
        if (!d)
                return;
        while ((de = readdir(d))) {
                char path[64], cmd[PATH_MAX + 64];
                pid_t pid = (pid_t) atoi(de->d_name);
                nd_container *c;
                if (pid <= 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
                FILE *f = fopen(path, "re");
                if (!f)
                        continue;
                size_t k = fread(cmd, 1, sizeof(cmd) - 1, f);
                fclose(f);
                cmd[k] = 0;
                size_t l0 = strlen(cmd);
                if (!strstr(cmd, "netd-monitor") || l0 + 1 >= k || strncmp(cmd + l0 + 1, prefix, plen) != 0)
                        continue;
                const char *id = cmd + l0 + 1 + plen;
                if (nd_manager_container_find(m, id, &c) == 0 && strcmp(c->id, id) == 0 && c->status == ND_CT_RUNNING &&
                    c->monitor_pid == pid)
                        continue;
                kill(pid, SIGKILL);
                nd_log(LOG_WARNING, "stopped a monitor of a container netd does not hold as running", "id=%.12s pid=%d",
                       id, pid);
        }
        closedir(d);
}

/* Bundles without a record: a create that crashed before its record was
 * written, or a removal that crashed half-way.  Their monitor (if any) is
 * stopped, and the bundle, cgroups and namespace file go. */
static void remove_orphans(nd_manager *m) {
        char dir[PATH_MAX];
        bundle_path(m, "", dir, sizeof(dir));
        DIR *d = opendir(dir);
        struct dirent *de;
        if (!d)
                return;
        while ((de = readdir(d))) {
                nd_container *c;
                pid_t mon, pid;
                bool started;
                char ns[PATH_MAX];
                if (!nd_id_valid(de->d_name) || nd_manager_container_find(m, de->d_name, &c) == 0)
                        continue;
                if (read_pids(m, de->d_name, &mon, &pid, &started) == 0 && monitor_of(m, de->d_name, mon)) {
                        kill(pid, SIGKILL);
                        kill(mon, SIGKILL);
                }
                remove_cgroups_id(de->d_name);
                nd_container_netns_path(m->run_dir, de->d_name, ns, sizeof(ns));
                (void) nd_netns_remove(ns);
                int r = remove_bundle_dir(m, de->d_name);
                nd_log(r < 0 ? LOG_WARNING : LOG_INFO, "removed what a crashed create left", "id=%.12s err=%d",
                       de->d_name, r);
        }
        closedir(d);
}

static void on_containers_loaded(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        struct load_op *op = userdata;
        nd_manager *m = op->m;
        size_t running = 0;

        if (r < 0)
                nd_log_errno(LOG_ERR, r, "loading containers failed; continuing without them");
        for (size_t i = 0; r == 0 && i < n; i++) {
                json_error_t je;
                nd_diag d = {0};
                nd_container *c = NULL;
                _cleanup_(json_decrefp) json_t *j = json_loadb(kvs[i].value, kvs[i].value_len, 0, &je);
                if (!j || nd_container_from_json(j, &c, &d) < 0) {
                        nd_log(LOG_ERR, "skipping unreadable container record", "key=%s reason=\"%s\"", kvs[i].key,
                               j ? d.msg : je.text);
                        continue;
                }
                if (cts_add(m, c) < 0) {
                        nd_container_free(c);
                        continue;
                }
                /* its veths live until it is removed, running or not */
                for (size_t k = 0; k < c->n_eps; k++) {
                        int q = nd_fw_port_set(m->fw, c->eps[k].host_ifname, c->eps[k].mac, &c->eps[k].addr4,
                                               &c->eps[k].addr6);
                        if (q < 0)
                                log_ct(LOG_ERR, c, "guarding the endpoint's port failed", "if=%s err=%d",
                                       c->eps[k].host_ifname, q);
                }
                if (c->status != ND_CT_RUNNING)
                        (void) adopt_monitor(m, c);
                if (c->status == ND_CT_RUNNING) {
                        if (monitor_alive(m, c) && watch_monitor(c) == 0) {
                                running++;
                                int k = sandbox_repair(m, c);
                                if (k < 0)
                                        log_ct(LOG_ERR, c, "repairing the sandbox failed", "err=%d", k);
                                nd_diag dd = {0};
                                if (nd_resolver_attach(m, c, &dd) < 0)
                                        log_ct(LOG_ERR, c, "no DNS for the container", "reason=\"%s\"", dd.msg);
                                continue;
                        }
                        /* it exited while we were away */
                        ct_exited(c);
                }
        }
        if (r == 0) {
                stop_stray_monitors(m);
                remove_orphans(m);
        }
        nd_log(LOG_INFO, "containers loaded", "count=%zu running=%zu", m->n_cts, running);
        void (*done)(nd_manager *) = op->done;
        free(op);
        done(m);
}

int nd_manager_containers_load(nd_manager *m, void (*done)(nd_manager *m)) {
        struct load_op *op = calloc(1, sizeof(*op));
        int r;
        if (!op)
                return -ENOMEM;
        op->m = m;
        op->done = done;
        r = nd_netns_dir_prepare(m->netns_dir);
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "preparing the namespace directory failed", "dir=%s", m->netns_dir);
        r = nd_store_list(m->store, KEY_CONTAINERS, on_containers_loaded, op);
        if (r < 0)
                free(op);
        return r;
}

void nd_manager_containers_free(nd_manager *m) {
        /* Containers keep running: only the daemon's view goes away. */
        for (size_t i = 0; i < m->n_cts; i++) {
                nd_container *c = m->cts[i];
                ct_stop_watchers(c);
                ct_forget_waiters(c);
                nd_dns_sandbox_close(c->dns_sb);
                nd_container_free(c);
        }
        free(m->cts);
        m->cts = NULL;
        m->n_cts = 0;
}

void nd_manager_bridges_reconcile(nd_manager *m) {
        for (size_t i = 0; i < m->n_nets; i++) {
                int r = nd_bridge_setup(m->nl, m->nets[i].net);
                if (r < 0)
                        nd_log_errno(LOG_ERR, r, "setting up the bridge failed", "net=%s", m->nets[i].net->spec.name);
                else if (nd_network_is_global(m->nets[i].net))
                        nd_cluster_net_up(m->cluster, m->nets[i].net);
        }
}

/* ---- requests that wait for an address block (overlay networks) ---------------- */

struct ct_retry {
        nd_manager *m;
        json_t *req;
        bool start, connect;
        char netid[ND_ID_LEN + 1], ctid[ND_ID_LEN + 1];
        nd_manager_ct_fn cb;
        void *userdata;
        int tries;
};

static void on_block_claimed(void *userdata, int r, const nd_diag *d) {
        struct ct_retry *t = userdata;
        nd_manager *m = t->m;
        nd_diag dd = {0};

        if (r == 0) {
                if (t->connect) {
                        nd_network *n = net_by_id(m, t->netid);
                        nd_container *c = NULL;
                        if (!n || nd_manager_container_find(m, t->ctid, &c) < 0)
                                r = nd_diag_set(&dd, -ENOENT, "the network or the container went away");
                        else
                                r = container_connect_once(m, n, c, t->req, t->cb, t->userdata, &dd);
                } else
                        r = container_run_once(m, t->req, t->start, t->cb, t->userdata, &dd);
                /* blocks are taken by other hosts as fast as we claim
                 * them only under extreme contention: give up after 8 */
                if (r == -EAGAIN && ++t->tries < 8 && nd_cluster_wait(m->cluster, on_block_claimed, t) == 0)
                        return;
        } else if (d)
                dd = *d;
        if (r < 0)
                t->cb(t->userdata, r, NULL, &dd);
        json_decref(t->req);
        free(t);
}

static int defer(nd_manager *m, const json_t *req, bool start, nd_network *n, nd_container *c, nd_manager_ct_fn cb,
                 void *userdata, nd_diag *d) {
        struct ct_retry *t = calloc(1, sizeof(*t));
        if (!t)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        *t = (struct ct_retry) { .m = m, .req = json_deep_copy(req), .start = start, .connect = !!n, .cb = cb,
                                 .userdata = userdata };
        if (n) {
                snprintf(t->netid, sizeof(t->netid), "%s", n->id);
                snprintf(t->ctid, sizeof(t->ctid), "%s", c->id);
        }
        if ((req && !t->req) || nd_cluster_wait(m->cluster, on_block_claimed, t) < 0) {
                json_decref(t->req);
                free(t);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        return 0;
}

int nd_manager_container_run(nd_manager *m, const json_t *req, bool start, nd_manager_ct_fn cb, void *userdata,
                             nd_diag *d) {
        int r = container_run_once(m, req, start, cb, userdata, d);
        return r == -EAGAIN ? defer(m, req, start, NULL, NULL, cb, userdata, d) : r;
}

int nd_manager_container_connect(nd_manager *m, nd_network *n, nd_container *c, const json_t *req,
                                 nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        int r = container_connect_once(m, n, c, req, cb, userdata, d);
        return r == -EAGAIN ? defer(m, req, false, n, c, cb, userdata, d) : r;
}
