/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded DNS (dns/) as the manager uses it: each running container
 * on named networks gets a resolver in its sandbox and its names in the
 * table; resolv.conf points there.  Its listeners take ports the kernel
 * picks and a table in its namespace redirects 127.0.0.11:53 to them
 * (nft-dns.h), so every port stays the container's.
 *
 * The host's resolver (--host-dns) answers NAME.NETWORK for every
 * network netd knows, in netd's own namespace.
 *
 * Names of a container on each of its networks: its name, its hostname,
 * its short id and its aliases, for its IPv4 and IPv6 addresses; reverse
 * lookups of those addresses answer NAME.NETWORK.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"
#include "container-spec.h"
#include "diag.h"
#include "link-reaper.h"
#include "log.h"
#include "manager-internal.h"
#include "netns.h"
#include "network.h"
#include "nft-dns.h"
#include "server.h"

static bool uses_resolver(const nd_container *c) {
        return c->mode == ND_NET_MODE_BRIDGE && c->n_eps > 0;
}

uint32_t nd_resolver_ttl(nd_manager *m, const nd_network *n) {
        const char *v = n ? json_string_value(json_object_get(n->spec.options, "dns.ttl")) : NULL;
        if (v && *v) {
                char *end;
                unsigned long t = strtoul(v, &end, 10);
                if (!*end && t <= 86400)
                        return (uint32_t) t;
        }
        return m->dns_ttl;
}

/* The names of @c replace those it had, at once for the DNS thread. */
static void register_names(nd_manager *m, const nd_container *c) {
        nd_dns_names *t = nd_dns_table(m->dns);
        char short_id[13];

        nd_dns_hold(m->dns);
        nd_dns_names_drop(t, c->id);
        if (c->status != ND_CT_RUNNING && !c->dns_sb) {
                nd_dns_release(m->dns);
                return;
        }
        snprintf(short_id, sizeof(short_id), "%.12s", c->id);
        for (size_t i = 0; i < c->n_eps; i++) {
                const nd_endpoint *e = &c->eps[i];
                const char *names[3 + ND_MAX_ALIASES] = { c->name, c->hostname, short_id };
                size_t n = 3;
                for (size_t k = 0; k < e->n_aliases; k++)
                        names[n++] = e->aliases[k];
                int r = nd_dns_names_add_endpoint(t, e->net_name, names, n, &e->addr4, &e->addr6, c->id);
                if (r < 0)
                        nd_log_errno(LOG_WARNING, r, "adding DNS names failed", "ct=%s net=%s", c->name,
                                     e->net_name);
        }
        nd_dns_release(m->dns);
}

/* --link NAME:ALIAS: ALIAS resolves as NAME, for this container only
 * (Docker's links on user-defined networks) */
static int set_links(nd_container *c) {
        const char *aliases[ND_CT_MAX_LINKS], *names[ND_CT_MAX_LINKS];
        size_t n = 0, i;
        json_t *l;
        json_array_foreach(c->links, i, l) {
                const char *a = json_string_value(json_object_get(l, "Alias")),
                           *t = json_string_value(json_object_get(l, "Name"));
                if (a && t && n < ND_CT_MAX_LINKS) {
                        aliases[n] = a;
                        names[n++] = t;
                }
        }
        return nd_dns_sandbox_set_links(c->dns_sb, aliases, names, n);
}

static int configure(nd_manager *m, nd_container *c) {
        const char *nets[ND_MAX_ENDPOINTS];
        nd_addr servers[ND_DNS_MAX_UPSTREAMS];
        size_t n_servers = 0, i;
        bool can_forward = false;
        json_t *v;
        nd_network *first = NULL;

        for (size_t k = 0; k < c->n_eps; k++) {
                nd_network *n = NULL;
                nets[k] = c->eps[k].net_name;
                if (nd_manager_network_find(m, c->eps[k].net_id, &n) == 0) {
                        if (!first)
                                first = n;
                        if (!n->spec.internal)
                                can_forward = true;
                }
        }
        json_array_foreach(c->dns, i, v)
                if (n_servers < ND_DNS_MAX_UPSTREAMS && nd_addr_parse(json_string_value(v), &servers[n_servers]) == 0)
                        n_servers++;
        int r = nd_dns_sandbox_configure(c->dns_sb, nets, c->n_eps, can_forward, servers, n_servers,
                                         nd_resolver_ttl(m, first));
        return r < 0 ? r : set_links(c);
}

struct nft_release {
        nd_nft *n; /* NULL once freed on the reaper */
};

static int nft_free_run(void *arg) {
        struct nft_release *w = arg;
        w->n = nd_nft_free(w->n);
        return 0;
}

/* -ECANCELED: netd is stopping, and the close may or may not have run
 * (a result not yet delivered is cancelled too): w->n says */
static void nft_freed(void *userdata, int r) {
        struct nft_release *w = userdata;
        nd_nft_free(w->n);
        free(w);
}

void nd_manager_nft_release(nd_manager *m, nd_nft *n) {
        /* its close waits for the grace period of the namespace's last
         * commit (nft-dns.h): on the reaper, which waits for those anyway
         * and never minds the namespace of a socket it only closes */
        struct nft_release *w = n ? malloc(sizeof(*w)) : NULL;
        if (!w) {
                nd_nft_free(n);
                return;
        }
        w->n = n;
        if (nd_reaper_run(m->reaper, nft_free_run, w, nft_freed, w) < 0) {
                nd_nft_free(n);
                free(w);
        }
}

int nd_resolver_open(nd_manager *m, int ns_fd, nd_dns_sandbox **ret) {
        uint16_t udp = 0, tcp = 0, u, t;
        nd_dns_sandbox *sb;
        nd_nft *n = NULL;
        /* one netfilter socket for the read and the batch */
        int opened = nd_nft_dns_open(ns_fd, &n);
        /* the same ports as before a restart: the table, which stays
         * in the sandbox while netd is down, already points there; if
         * the container took one meanwhile, new ones */
        if (opened < 0 || nd_nft_dns_ports(n, &udp, &tcp) < 0)
                udp = tcp = 0;
        int r = nd_dns_sandbox_open(m->dns, ns_fd, udp, tcp, &sb);
        if (r == -EADDRINUSE && (udp || tcp))
                r = nd_dns_sandbox_open(m->dns, ns_fd, 0, 0, &sb);
        if (r < 0) {
                nd_manager_nft_release(m, n);
                return r;
        }
        nd_dns_sandbox_ports(sb, &u, &t);
        r = n ? nd_nft_dns_redirect(n, u, t) : opened;
        nd_manager_nft_release(m, n);
        if (r < 0) {
                /* a kernel without nf_tables: port 53 itself, as
                 * before the redirect (then it is not the container's) */
                nd_dns_sandbox_close(sb);
                int k = nd_dns_sandbox_open(m->dns, ns_fd, 53, 53, &sb);
                if (k < 0)
                        return r;
                nd_log_errno(LOG_WARNING, r, "no DNS redirect in the sandbox: the resolver holds 127.0.0.11:53");
        }
        *ret = sb;
        return 0;
}

int nd_resolver_attach(nd_manager *m, nd_container *c, nd_diag *d) {
        char path[PATH_MAX];
        int fd, r;

        /* the task table first: the record peers get carries the task's
         * health from there, so a new task of a service with a health
         * command goes out "starting", not "none" (a backend on every
         * other host before its server may listen) */
        nd_services_container_sync(m, c, true);
        /* peers learn its endpoints on overlay networks at the same
         * moments the local DNS learns its names */
        if (c->mode == ND_NET_MODE_BRIDGE)
                nd_cluster_publish(m->cluster, c);
        if (!m->dns || !uses_resolver(c))
                return 0;
        /* a run's visit of the namespace opened it already (ns-visit.h) */
        if (!c->dns_sb) {
                nd_container_netns_path(m->run_dir, c->id, path, sizeof(path));
                fd = nd_netns_open(path);
                if (fd < 0)
                        return nd_diag_set(d, fd, "container '%s': opening its namespace for DNS failed: %s",
                                           c->name, strerror(-fd));
                r = nd_resolver_open(m, fd, &c->dns_sb);
                close(fd);
                if (r < 0)
                        return nd_diag_set(d, r, "container '%s': starting its DNS resolver at 127.0.0.11 failed: %s",
                                           c->name, strerror(-r));
        }
        r = configure(m, c);
        if (r < 0) {
                nd_dns_sandbox_close(c->dns_sb);
                c->dns_sb = NULL;
                return nd_diag_set(d, r, "out of memory");
        }
        register_names(m, c);
        return 0;
}

void nd_resolver_detach(nd_manager *m, nd_container *c) {
        nd_cluster_withdraw(m->cluster, c);
        nd_services_container_sync(m, c, false);
        if (!m->dns)
                return;
        nd_dns_names_drop(nd_dns_table(m->dns), c->id);
        nd_dns_sandbox_close(c->dns_sb);
        c->dns_sb = NULL;
}

void nd_resolver_refresh(nd_manager *m, nd_container *c) {
        nd_diag d = {0};
        /* the task table before the record, as in nd_resolver_attach */
        nd_services_container_sync(m, c, c->status == ND_CT_RUNNING || c->dns_sb);
        if (c->mode == ND_NET_MODE_BRIDGE && (c->status == ND_CT_RUNNING || c->dns_sb))
                nd_cluster_publish(m->cluster, c);
        if (!m->dns)
                return;
        if (!c->dns_sb) {
                /* a container that had no network until now */
                if (c->status == ND_CT_RUNNING && nd_resolver_attach(m, c, &d) < 0)
                        nd_log(LOG_WARNING, "no DNS for the container", "ct=%s reason=\"%s\"", c->name, d.msg);
                return;
        }
        if (configure(m, c) < 0)
                nd_log(LOG_WARNING, "updating the container's DNS view failed", "ct=%s", c->name);
        register_names(m, c);
}

/* resolv.conf of a container: the embedded resolver for containers on
 * named networks (with ndots:0, as Docker writes, so short names go to
 * the resolver first), else the host's, with --dns servers replacing its
 * nameservers; search and options from the container. */
char *nd_resolver_conf(nd_manager *m, const nd_container *c) {
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);
        size_t i;
        json_t *v;

        if (!out)
                return NULL;
        if (m->dns && uses_resolver(c))
                fputs("nameserver 127.0.0.11\n", out);
        else if (json_array_size(c->dns))
                json_array_foreach(c->dns, i, v)
                        fprintf(out, "nameserver %s\n", json_string_value(v));
        else {
                char line[512];
                FILE *f = fopen(m->resolv_conf, "re");
                while (f && fgets(line, sizeof(line), f))
                        if ((!json_array_size(c->dns_search) || strncmp(line, "search", 6) != 0) &&
                            (!json_array_size(c->dns_options) || strncmp(line, "options", 7) != 0))
                                fputs(line, out);
                if (f)
                        fclose(f);
        }
        if (json_array_size(c->dns_search)) {
                fputs("search", out);
                json_array_foreach(c->dns_search, i, v)
                        fprintf(out, " %s", json_string_value(v));
                fputc('\n', out);
        }
        if ((m->dns && uses_resolver(c)) || json_array_size(c->dns_options)) {
                fputs("options", out);
                if (m->dns && uses_resolver(c))
                        fputs(" ndots:0", out);
                json_array_foreach(c->dns_options, i, v)
                        fprintf(out, " %s", json_string_value(v));
                fputc('\n', out);
        }
        if (fclose(out) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

json_t *nd_manager_dns_status(nd_manager *m, const nd_network *n) {
        if (!m->dns)
                return json_pack("{s:b}", "Enabled", 0);
        json_t *j = nd_dns_counters(m->dns, n->spec.name);
        json_object_set_new(j, "Enabled", json_true());
        json_object_set_new(j, "TTL", json_integer(nd_resolver_ttl(m, n)));
        json_object_set_new(j, "Upstreams", nd_dns_upstreams(m->dns));
        json_object_set_new(j, "Forwards", json_boolean(!n->spec.internal));
        return j;
}

/* ---- the host's resolver (--host-dns) ---- */

int nd_manager_host_dns_parse(const char *s, nd_addr *ret_addr, uint16_t *ret_port) {
        char buf[ND_ADDR_STRLEN + 8];
        unsigned long port = 53;
        const char *colon = strrchr(s, ':');
        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        snprintf(buf, sizeof(buf), "%s", s);
        if (colon) {
                char *end;
                buf[colon - s] = 0;
                port = strtoul(colon + 1, &end, 10);
                if (*end || !colon[1] || port < 1 || port > 65535)
                        return -EINVAL;
        }
        if (nd_addr_parse(buf, ret_addr) < 0 || ret_addr->family != AF_INET)
                return -EINVAL;
        *ret_port = (uint16_t) port;
        return 0;
}

int nd_resolver_host_open(nd_manager *m) {
        if (!m->host_dns_addr)
                return 0;
        if (!m->dns)
                return nd_log_errno(LOG_ERR, -EINVAL, "--host-dns needs the embedded DNS (--dns-server on)");
        nd_addr a;
        uint16_t port;
        int r = nd_manager_host_dns_parse(m->host_dns_addr, &a, &port);
        if (r < 0)
                return nd_log_errno(LOG_ERR, r, "--host-dns: want IPV4[:PORT]", "addr=%s", m->host_dns_addr);
        r = nd_dns_host_open(m->dns, &a, port, &m->host_dns);
        if (r < 0)
                return nd_log_errno(LOG_ERR, r, "cannot listen for the host's DNS queries", "addr=%s",
                                    m->host_dns_addr);
        nd_resolver_host_nets(m);
        nd_log(LOG_INFO, "host DNS ready", "addr=%s", m->host_dns_addr);
        return 0;
}

void nd_resolver_host_nets(nd_manager *m) {
        if (!m->host_dns)
                return;
        const char **nets = m->n_nets ? calloc(m->n_nets, sizeof(*nets)) : NULL;
        if (m->n_nets && !nets) {
                nd_log(LOG_WARNING, "updating the host's DNS view failed: out of memory");
                return;
        }
        for (size_t i = 0; i < m->n_nets; i++)
                nets[i] = m->nets[i].net->spec.name;
        if (nd_dns_sandbox_configure(m->host_dns, nets, m->n_nets, false, NULL, 0, m->dns_ttl) < 0)
                nd_log(LOG_WARNING, "updating the host's DNS view failed: out of memory");
        free(nets);
}
