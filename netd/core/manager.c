/* SPDX-License-Identifier: Apache-2.0 */
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
#include "docker.h"
#include "link-reaper.h"
#include "firewall.h"
#include "server.h"
#include "json-util.h"
#include "log.h"
#include "events.h"
#include "manager.h"
#include "network.h"
#include "nl-host.h"
#include "pool.h"
#include "store.h"
#include "subnet.h"

#include "manager-internal.h"
#include "replicas-internal.h"
#include "services-internal.h"

/* ---- lifecycle ---------------------------------------------------------- */

int nd_manager_new(const nd_manager_config *cfg, struct ev_loop *loop, nd_manager **ret) {
        nd_manager *m = calloc(1, sizeof(*m));
        size_t n = 0;

        if (!m)
                return -ENOMEM;
        m->loop = loop;
        m->state_dir = strdup(cfg->state_dir);
        m->run_dir = strdup(cfg->run_dir);
        /* etcd holds what the cluster shares; host-private state stays
         * in the local store either way */
        if (cfg->store_url && strncmp(cfg->store_url, "etcd", 4) == 0) {
                char host[65] = "";
                m->cluster_url = strdup(cfg->store_url);
                if (!cfg->node_name)
                        (void) gethostname(host, sizeof(host) - 1);
                m->node_name = strdup(cfg->node_name ? cfg->node_name : host);
                m->advertise = cfg->advertise ? strdup(cfg->advertise) : NULL;
                m->node_ttl = cfg->node_ttl;
                m->node_grace = cfg->node_grace;
                m->vxlan_port = cfg->vxlan_port;
                if (!m->cluster_url || !m->node_name) {
                        free(m);
                        return -ENOMEM;
                }
        }
        if ((cfg->plugin_socket && !(m->plugin_socket = strdup(cfg->plugin_socket))) ||
            (cfg->plugin_socket && strcmp(cfg->docker_host ? cfg->docker_host : "", "none") != 0 &&
             !(m->docker_host = strdup(cfg->docker_host ? cfg->docker_host : "/run/docker.sock")))) {
                free(m->plugin_socket);
                free(m);
                return -ENOMEM;
        }
        m->store_url = strdup(m->cluster_url ? "local" : cfg->store_url ? cfg->store_url : "local");
        (void) nd_events_new(loop, cfg->node_name, ND_EVENTS_HISTORY, &m->events);
        m->firewall = !cfg->no_firewall;
        m->no_socklb = cfg->no_sock_lb;
        m->port_lo = cfg->port_lo ? cfg->port_lo : 49153;
        m->port_hi = cfg->port_hi ? cfg->port_hi : 60999;
        m->port_next = m->port_lo;
        m->dns_ttl = cfg->dns_ttl ? cfg->dns_ttl : ND_DNS_DEFAULT_TTL;
        m->dns_forward_max = cfg->dns_forward_max;
        m->dns_forward_max_sandbox = cfg->dns_forward_max_sandbox;
        m->resolv_conf = strdup(cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf");
        for (const char *const *p = cfg->dns_servers; p && *p && m->n_dns_servers < ELEMENTSOF(m->dns_servers); p++)
                if (nd_addr_parse(*p, &m->dns_servers[m->n_dns_servers]) == 0)
                        m->n_dns_servers++;
        m->dns = NULL;
        m->dns_off = cfg->no_dns;
        m->dns_rt_off = cfg->no_dns_realtime;
        if (cfg->host_dns)
                m->host_dns_addr = strdup(cfg->host_dns);
        if (cfg->socket_path)
                m->socket_path = strdup(cfg->socket_path);
        if (cfg->monitor_path)
                m->monitor_path = strdup(cfg->monitor_path);
        else {
                /* next to netd when installed; ../runtime/ in a build tree */
                char exe[PATH_MAX], cand[PATH_MAX + 32];
                ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
                exe[k > 0 ? k : 0] = 0;
                char *slash = strrchr(exe, '/');
                if (slash)
                        *slash = 0;
                snprintf(cand, sizeof(cand), "%s/netd-monitor", exe);
                if (access(cand, X_OK) < 0)
                        snprintf(cand, sizeof(cand), "%s/../runtime/netd-monitor", exe);
                m->monitor_path = strdup(cand);
        }
        if (cfg->default_rootfs)
                m->default_rootfs = strdup(cfg->default_rootfs);
        else if (asprintf(&m->default_rootfs, "%s/rootfs/default", cfg->state_dir) < 0)
                m->default_rootfs = NULL;
        if (asprintf(&m->netns_dir, "%s/netns", cfg->run_dir) < 0)
                m->netns_dir = NULL;
        while (cfg->pools && cfg->pools[n])
                n++;
        m->pool_specs = calloc(n + 1, sizeof(char *));
        if (!m->loop || !m->resolv_conf || !m->state_dir || !m->run_dir || !m->store_url || !m->pool_specs ||
            !m->monitor_path || !m->default_rootfs || !m->netns_dir || !m->events ||
            (cfg->host_dns && !m->host_dns_addr)) {
                nd_manager_free(m);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if (!(m->pool_specs[i] = strdup(cfg->pools[i]))) {
                        nd_manager_free(m);
                        return -ENOMEM;
                }
        *ret = m;
        return 0;
}

nd_manager *nd_manager_free(nd_manager *m) {
        if (!m)
                return NULL;
        /* The daemon stopped the API first (it references networks); the
         * store goes last but one, making pending writes durable without
         * running their callbacks. */
        nd_manager_metrics_done(m);
        m->worker = nd_reaper_free(m->worker); /* before what its callbacks touch */
        m->reaper = nd_reaper_free(m->reaper);
        nd_health_free_all(m);
        nd_replicas_free(m);
        nd_svc_socklb_free(m); /* while the containers are known */
        nd_manager_containers_free(m);
        nd_services_free(m);
        nd_docker_free(m);
        nd_manager_sandboxes_free(m);
        m->cluster = nd_cluster_free(m->cluster);
        m->store = nd_store_free(m->store);
        for (size_t i = 0; i < m->n_nets; i++)
                nd_network_free(m->nets[i].net);
        /* the table stays: published ports keep working while netd is
         * down; the next start replaces it */
        m->fw = nd_fw_free(m->fw);
        nd_dns_sandbox_close(m->host_dns);
        m->host_dns = NULL;
        m->dns = nd_dns_free(m->dns);
        free(m->host_dns_addr);
        free(m->resolv_conf);
        free(m->nets);
        free(m->view);
        nd_pool_free(m->pools);
        if (m->nl)
                nl_socket_free(m->nl);
        if (m->wnl)
                nl_socket_free(m->wnl);
        for (char **p = m->pool_specs; p && *p; p++)
                free(*p);
        free(m->pool_specs);
        free(m->state_dir);
        free(m->run_dir);
        free(m->store_url);
        free(m->cluster_url);
        free(m->plugin_socket);
        free(m->docker_host);
        free(m->node_name);
        free(m->advertise);
        free(m->monitor_path);
        free(m->socket_path);
        free(m->default_rootfs);
        free(m->netns_dir);
        m->events = nd_events_free(m->events);
        free(m);
        return NULL;
}

struct ev_loop *nd_manager_loop(nd_manager *m) {
        return m->loop;
}

nd_store *nd_manager_store(nd_manager *m) {
        return m->store;
}

json_t *nd_manager_firewall_status(nd_manager *m) {
        return nd_fw_status(m->fw);
}

json_t *nd_manager_cluster_status(nd_manager *m) {
        return nd_cluster_status(m->cluster);
}

json_t *nd_manager_cluster_nodes(nd_manager *m) {
        return nd_cluster_nodes(m->cluster);
}

json_t *nd_manager_dns_forward_status(nd_manager *m) {
        return m->dns ? nd_dns_status(m->dns) : NULL;
}

int nd_manager_node_remove(nd_manager *m, const char *ref, void (*cb)(void *u, int r, const nd_diag *d),
                           void *userdata, nd_diag *d) {
        return nd_cluster_node_remove(m->cluster, ref, cb, userdata, d);
}

json_t *nd_manager_overlay_status(nd_manager *m, const nd_network *n) {
        return nd_cluster_network_status(m->cluster, n);
}

/* ---- start-up: load state, then listen ------------------------------------ */

static void start_failed(nd_manager *m, int r) {
        void (*ready)(void *userdata, int r) = m->ready;
        m->ready = NULL;
        if (ready)
                ready(m->ready_userdata, r);
}

static void firewall_start(nd_manager *m) {
        if (!m->fw)
                return;
        nd_manager_ports_restore(m);
        int r = nd_fw_sync(m->fw);
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "programming the nftables table failed; running without it");
                m->fw = nd_fw_free(m->fw);
                for (size_t i = 0; i < m->n_nets; i++)
                        m->nets[i].fw = NULL;
                nd_services_fw_forget(m);
                return;
        }
        nd_log(LOG_INFO, "nftables table in place", "table=inet/netd");
        nd_sysctl_on("/proc/sys/net/ipv4/ip_forward");
        for (size_t i = 0; i < m->n_nets; i++)
                nd_manager_net_sysctls(m, m->nets[i].net);
}

static void on_slots_loaded(nd_manager *m) {
        nd_manager_bridges_reconcile(m);
        nd_services_restore(m);
        firewall_start(m);
        nd_replicas_start(m);
        start_failed(m, 0);
}

/* The slots of services' tasks after the containers: running tasks are
 * adopted, not started again. */
static void on_containers_ready(nd_manager *m) {
        int r = nd_replicas_load(m, on_slots_loaded);
        if (r < 0)
                start_failed(m, nd_log_errno(LOG_ERR, r, "loading the task slots of services failed"));
}

void nd_manager_ready(nd_manager *m) {
        m->started = true;
        nd_cluster_ready(m->cluster);
}

static void on_sandboxes_loaded(nd_manager *m) {
        int r = nd_docker_load(m, on_containers_ready);
        if (r < 0)
                start_failed(m, nd_log_errno(LOG_ERR, r, "loading Docker plugin state failed"));
}

static void on_containers_loaded(nd_manager *m) {
        int r = nd_manager_sandboxes_load(m, on_sandboxes_loaded);
        if (r < 0)
                start_failed(m, nd_log_errno(LOG_ERR, r, "loading external sandboxes failed"));
}

static void on_services_loaded(nd_manager *m) {
        int r = nd_ports_register(m);
        if (r >= 0)
                r = nd_svc_ports_register(m);
        if (r >= 0)
                r = nd_manager_containers_load(m, on_containers_loaded);
        if (r < 0)
                start_failed(m, nd_log_errno(LOG_ERR, r, "loading containers failed"));
}

/* Services before containers: a running container registers as a task
 * of its service as it is read back. */
static void load_containers(nd_manager *m) {
        int r = nd_services_load(m, on_services_loaded);
        if (r < 0)
                start_failed(m, nd_log_errno(LOG_ERR, r, "loading services failed"));
}

static void on_orphans_deleted(void *userdata, int r, int64_t rev) {
        nd_manager *m = userdata;
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "removing stale address records failed, ignoring");
        load_containers(m);
}

static void on_ipam_loaded(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_manager *m = userdata;
        nd_store_op *dels = NULL;
        size_t n_dels = 0, loaded = 0;

        if (r < 0)
                return start_failed(m, nd_log_errno(LOG_ERR, r, "loading address allocations failed"));
        dels = calloc(n ? n : 1, sizeof(*dels));
        if (!dels)
                return start_failed(m, -ENOMEM);
        for (size_t i = 0; i < n; i++) {
                const char *rest = kvs[i].key + strlen(ND_KEY_IPAM), *slash = strchr(rest, '/');
                nd_network *net = NULL;
                char id[ND_ID_LEN + 1];
                nd_addr a;
                nd_subnet *sub;

                if (slash && slash - rest == ND_ID_LEN) {
                        memcpy(id, rest, ND_ID_LEN);
                        id[ND_ID_LEN] = 0;
                        for (size_t k = 0; k < m->n_nets; k++)
                                if (strcmp(m->nets[k].net->id, id) == 0)
                                        net = m->nets[k].net;
                }
                if (net && nd_addr_parse(slash + 1, &a) == 0 && (sub = nd_network_subnet_for(net, &a)) &&
                    nd_subnet_reserve(sub, &a) == 0) {
                        if (nd_network_is_global(net))
                                nd_cluster_address_note(m->cluster, net, &a, +1);
                        loaded++;
                        continue;
                }
                /* A record for a network that is gone, or that does not
                 * parse: netd owns the prefix, so it removes it. */
                nd_log(LOG_WARNING, "removing stale address record", "key=%s", kvs[i].key);
                dels[n_dels++] = (nd_store_op) { .type = ND_STORE_DELETE, .key = kvs[i].key };
        }
        nd_log(LOG_INFO, "address allocations loaded", "count=%zu stale=%zu", loaded, n_dels);
        nd_cluster_blocks_trim(m->cluster);
        for (size_t off = 0; off < n_dels; off += ND_STORE_MAX_TXN_OPS) {
                size_t k = n_dels - off < ND_STORE_MAX_TXN_OPS ? n_dels - off : ND_STORE_MAX_TXN_OPS;
                bool last = off + k >= n_dels;
                r = nd_store_txn(m->store, NULL, 0, dels + off, k, last ? on_orphans_deleted : NULL, m);
                if (r < 0) {
                        nd_log_errno(LOG_WARNING, r, "removing stale address records failed, ignoring");
                        if (last)
                                load_containers(m);
                }
        }
        free(dels);
        if (n_dels == 0)
                load_containers(m);
}

static void on_networks_loaded(void *userdata, int r, const nd_store_kv *kvs, size_t n, int64_t rev) {
        nd_manager *m = userdata;

        if (r < 0)
                return start_failed(m, nd_log_errno(LOG_ERR, r, "loading networks from the store failed"));
        for (size_t i = 0; i < n; i++) {
                json_error_t jerr;
                nd_diag d = {0};
                nd_network *net = NULL;
                _cleanup_json_ json_t *j = json_loadb(kvs[i].value, kvs[i].value_len, 0, &jerr);

                if (!j || nd_network_from_json(j, &net, &d) < 0) {
                        nd_log(LOG_ERR, "skipping unreadable network record", "key=%s reason=\"%s\"", kvs[i].key,
                               j ? d.msg : jerr.text);
                        continue;
                }
                if (nd_manager_nets_add(m, net) < 0) {
                        nd_network_free(net);
                        return start_failed(m, -ENOMEM);
                }
                net->committed = true;
        }
        nd_log(LOG_INFO, "networks loaded", "count=%zu revision=%" PRId64, m->n_nets, rev);
        nd_manager_retired_bridges_sweep(m);
        /* overlay networks came from the cluster; the local store only
         * holds this host's address records for them */
        r = nd_store_list(m->store, ND_KEY_IPAM, on_ipam_loaded, m);
        if (r < 0)
                start_failed(m, r);
}

/* The cluster serves the network table through these. */
static int cluster_net_find(void *userdata, const char *ref, nd_network **ret) {
        return nd_manager_network_find(userdata, ref, ret);
}

static size_t cluster_nets_list(void *userdata, nd_network ***ret) {
        return nd_manager_networks(userdata, ret);
}

static int cluster_net_adopt(void *userdata, nd_network *n) {
        return nd_manager_net_adopt(userdata, n);
}

static void cluster_net_forget(void *userdata, nd_network *n) {
        nd_manager_net_forget(userdata, n);
}

static const nd_cluster_nets_ops cluster_nets_ops = {
        .find = cluster_net_find,
        .list = cluster_nets_list,
        .adopt = cluster_net_adopt,
        .forget = cluster_net_forget,
};

/* The cluster's overlay networks are in the table: now the local ones. */
static void on_cluster_ready(void *userdata, int r) {
        nd_manager *m = userdata;
        if (r < 0)
                return start_failed(m, nd_log_errno(LOG_ERR, r, "joining the cluster failed", "store=%s",
                                                    m->cluster_url));
        r = nd_store_list(m->store, ND_KEY_NETWORKS, on_networks_loaded, m);
        if (r < 0)
                start_failed(m, r);
}

int nd_manager_start(nd_manager *m, void (*ready)(void *userdata, int r), void *userdata) {
        int r;

        m->ready = ready;
        m->ready_userdata = userdata;

        r = nd_pool_new(&m->pools);
        if (r < 0)
                return r;
        if (m->pool_specs[0])
                for (char **p = m->pool_specs; *p; p++) {
                        nd_diag d = {0};
                        r = nd_pool_add(m->pools, *p, &d);
                        if (r < 0) {
                                nd_log(LOG_ERR, "invalid --default-address-pool", "reason=\"%s\"", d.msg);
                                return r;
                        }
                }
        else if ((r = nd_pool_add_defaults(m->pools)) < 0)
                return r;

        r = nd_nl_socket_open(&m->nl);
        if (r < 0)
                return nd_log_errno(LOG_ERR, r, "cannot open a netlink socket");
        /* without it, links are deleted on the loop (slower, still right) */
        r = nd_reaper_new(m->loop, &m->reaper);
        if (r < 0)
                nd_log_errno(LOG_WARNING, r, "no link-deleting thread: deletes run on the event loop");
        /* the same for wiring namespaces */
        if (nd_nl_socket_open(&m->wnl) < 0 || nd_reaper_new(m->loop, &m->worker) < 0)
                nd_log(LOG_WARNING, "no namespace worker: sandboxes are wired on the event loop");

        if (m->firewall) {
                r = nd_fw_new(m->loop, &m->fw);
                if (r < 0)
                        nd_log_errno(LOG_ERR, r, "nftables is not usable: running without port publishing, "
                                     "masquerade and isolation");
                nd_fw_set_repair_hook(m->fw, nd_manager_on_fw_repair, m);
        }
        nd_svc_socklb_init(m);

        if (!m->dns_off) {
                nd_dns_config dc = { .resolv_conf = m->resolv_conf, .servers = m->dns_servers,
                                     .n_servers = m->n_dns_servers, .forward_max = m->dns_forward_max,
                                     .forward_max_sandbox = m->dns_forward_max_sandbox, .own_thread = true,
                                     .realtime = !m->dns_rt_off };
                r = nd_dns_new(m->loop, &dc, &m->dns);
                if (r < 0)
                        return nd_log_errno(LOG_ERR, r, "cannot start the embedded DNS");
                char ups[256] = "";
                json_t *u = nd_dns_upstreams(m->dns), *v;
                size_t i;
                json_array_foreach(u, i, v)
                        snprintf(ups + strlen(ups), sizeof(ups) - strlen(ups), "%s%s", i ? "," : "",
                                 json_string_value(v));
                json_decref(u);
                nd_log(LOG_INFO, "embedded DNS ready", "upstreams=%s ttl=%u", *ups ? ups : "none", m->dns_ttl);
        }
        r = nd_resolver_host_open(m);
        if (r < 0)
                return r;

        r = nd_store_open(m->loop, m->store_url, m->state_dir, &m->store);
        if (r == -EBUSY)
                return nd_log_errno(LOG_ERR, r, "the store is in use by another netd", "state_dir=%s", m->state_dir);
        if (r == -EPROTONOSUPPORT)
                return nd_log_errno(LOG_ERR, r, "unsupported --store (this build knows: local, etcd://HOST:PORT)", "store=%s",
                                    m->store_url);
        if (r < 0)
                return nd_log_errno(LOG_ERR, r, "cannot open the store", "store=%s state_dir=%s", m->store_url,
                                    m->state_dir);

        r = nd_manager_metrics_init(m);
        if (r < 0)
                return r;

        if (m->cluster_url) {
                char id[ND_NODE_ID_LEN + 1];
                r = nd_node_id_load(m->state_dir, true, id);
                if (r == 1)
                        nd_log(LOG_INFO, "generated this host's node id", "id=%s file=%s/node-id", id, m->state_dir);
                else if (r < 0)
                        return nd_log_errno(LOG_ERR, r, "cannot read or create the node id file (remove it if it is "
                                            "damaged: a new id is generated)", "file=%s/node-id", m->state_dir);
                nd_cluster_config cc = { .url = m->cluster_url, .node = m->node_name, .node_id = id,
                                         .advertise = m->advertise, .ttl = m->node_ttl, .grace = m->node_grace,
                                         .vxlan_port = m->vxlan_port };
                r = nd_cluster_new(m->loop, m->nl, m->state_dir, m->dns, m->fw, &cc, &cluster_nets_ops,
                                   on_cluster_ready, m, &m->cluster);
                if (r >= 0) {
                        nd_svc_cluster_init(m);
                        nd_cluster_set_event_hook(m->cluster, nd_manager_on_cluster_event, m);
                        r = nd_cluster_start(m->cluster);
                }
        } else
                r = nd_store_list(m->store, ND_KEY_NETWORKS, on_networks_loaded, m);
        return r < 0 ? r : 0;
}
