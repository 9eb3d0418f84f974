/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Start-up and shutdown of the container service: the records read back,
 * the monitors of a netd that was killed adopted or stopped
 * (runtime/adopt.h), sandboxes repaired, and what a crash left without a
 * record removed.  Containers outlive the daemon: shutdown only drops its
 * view of them.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "adopt.h"
#include "bridge.h"
#include "cluster.h"
#include "container-internal.h"
#include "firewall.h"
#include "netns.h"
#include "server.h"

struct load_op {
        nd_manager *m;
        void (*done)(nd_manager *m);
};

static bool monitor_alive(nd_manager *m, const nd_container *c) {
        return nd_rt_monitor_of(m->state_dir, c->id, c->monitor_pid);
}

/* A monitor netd never heard from (it was killed while the container
 * started): a container that runs its command is adopted as running; one
 * still being set up is stopped (its start failed with netd).  Returns
 * true when @c runs now. */
static bool adopt_monitor(nd_manager *m, nd_container *c) {
        pid_t mon, pid;
        switch (nd_rt_monitor_adopt(m->state_dir, c->id, &mon, &pid)) {
        case ND_RT_ADOPT_STOPPED:
                log_ct(LOG_WARNING, c, "stopped a container whose start netd did not see finish",
                       "monitor=%d pid=%d", mon, pid);
                return false;
        case ND_RT_ADOPT_RUNNING:
                break;
        default:
                return false;
        }
        c->monitor_pid = mon;
        c->pid = pid;
        c->status = ND_CT_RUNNING;
        c->started_us = now_us();
        c->error[0] = 0;
        log_ct(LOG_WARNING, c, "adopted a running container whose start netd did not see finish",
               "monitor=%d pid=%d", mon, pid);
        if (nd_ct_persist(c, nd_ct_txn_new(c), NULL, NULL) < 0)
                log_ct(LOG_ERR, c, "recording the adopted container failed");
        return true;
}

/* Monitors of containers netd does not hold as running: one spawned just
 * before netd was killed may not have written pid.json yet, and would
 * start its container behind netd's back (and a start would run a second
 * copy).  They are stopped (runtime/adopt.h). */
static bool holds_running(const char *id, pid_t mon, void *userdata) {
        nd_manager *m = userdata;
        nd_container *c;
        return nd_manager_container_find(m, id, &c) == 0 && strcmp(c->id, id) == 0 && c->status == ND_CT_RUNNING &&
               c->monitor_pid == mon;
}

/* Bundles without a record: a create that crashed before its record was
 * written, or a removal that crashed half-way.  Their monitor (if any) is
 * stopped, and the bundle, cgroups and namespace file go. */
static bool holds_bundle(const char *id, void *userdata) {
        nd_manager *m = userdata;
        nd_container *c;
        return !nd_id_valid(id) || nd_manager_container_find(m, id, &c) == 0;
}

static void orphan_netns_remove(const char *id, void *userdata) {
        nd_manager *m = userdata;
        char ns[PATH_MAX];
        nd_container_netns_path(m->run_dir, id, ns, sizeof(ns));
        (void) nd_netns_remove(ns);
}

/* An exited container that still holds dynamic addresses: netd stopped
 * between recording a start's new ones and running it.  They go back as
 * at a stop. */
static void release_dynamic(nd_container *c) {
        nd_store_txn_builder *t = NULL;
        (void) nd_store_txn_new(&t);
        if (nd_ct_release_dynamic(c->manager, c, t) == 0) {
                nd_store_txn_free(t);
                return;
        }
        (void) nd_store_txn_put_json_new(t, nd_store_txn_keyf(t, ND_KEY_CONTAINERS "%s", c->id),
                                         nd_container_to_json(c));
        if (nd_ct_persist(c, t, NULL, NULL) < 0)
                log_ct(LOG_ERR, c, "recording the addresses given back failed");
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
                if (nd_cts_add(m, c) < 0) {
                        nd_container_free(c);
                        continue;
                }
                /* its veths live until it is removed, running or not */
                for (size_t k = 0; k < c->n_eps; k++) {
                        const nd_network *net = nd_ct_net_by_id(m, c->eps[k].net_id);
                        int q = nd_fw_port_set(m->fw, c->eps[k].host_ifname, c->eps[k].mac, &c->eps[k].addr4,
                                               &c->eps[k].addr6, net && !nd_network_icc(net));
                        if (q < 0)
                                log_ct(LOG_ERR, c, "guarding the endpoint's port failed", "if=%s err=%d",
                                       c->eps[k].host_ifname, q);
                }
                if (c->status != ND_CT_RUNNING)
                        (void) adopt_monitor(m, c);
                if (c->status == ND_CT_RUNNING) {
                        if (monitor_alive(m, c) && nd_ct_watch_monitor(c) == 0) {
                                running++;
                                int k = nd_ct_sandbox_repair(m, c);
                                if (k < 0)
                                        log_ct(LOG_ERR, c, "repairing the sandbox failed", "err=%d", k);
                                nd_diag dd = {0};
                                if (nd_resolver_attach(m, c, &dd) < 0)
                                        log_ct(LOG_ERR, c, "no DNS for the container", "reason=\"%s\"", dd.msg);
                                continue;
                        }
                        /* it exited while we were away */
                        nd_ct_exited(c);
                } else if (c->status == ND_CT_EXITED)
                        release_dynamic(c);
        }
        if (r == 0) {
                nd_rt_monitors_stop_stray(m->state_dir, holds_running, m);
                nd_rt_orphans_remove(m->state_dir, holds_bundle, orphan_netns_remove, m);
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
        r = nd_store_list(m->store, ND_KEY_CONTAINERS, on_containers_loaded, op);
        if (r < 0)
                free(op);
        return r;
}

void nd_manager_containers_free(nd_manager *m) {
        /* Containers keep running: only the daemon's view goes away. */
        for (size_t i = 0; i < m->n_cts; i++) {
                nd_container *c = m->cts[i];
                nd_ct_stop_watchers(c);
                nd_ct_forget_waiters(c);
                nd_dns_sandbox_close(c->dns_sb);
                nd_container_free(c);
        }
        free(m->cts);
        m->cts = NULL;
        m->n_cts = 0;
        nd_ct_going_free_all(m);
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

