/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run, create and start: a request parsed into a spec (model/
 * container-spec.h), checked against the tables, recorded, then the
 * sandbox, the bundle and the monitor (runtime/), whose report on its
 * pipe says whether the container runs.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "container-internal.h"
#include "link-reaper.h"
#include "ns-visit.h"
#include "replicas-internal.h"
#include "rt-spawn.h"
#include "services-internal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- the monitor -------------------------------------------------------------------- */

static void on_exit_persisted(nd_container *c, int r, void *userdata) {
        c->exit_persisting = false;
        nd_ct_notify_waiters(c, 0, NULL);
}

/* A removal (rm -f of the running container) waits among @c's waiters. */
static bool removal_waits(const nd_container *c) {
        for (const nd_ct_waiter *w = c->waiters; w; w = w->next)
                if (w->then_remove)
                        return true;
        return false;
}

/* The monitor is gone: read what it recorded. */
void nd_ct_exited(nd_container *c) {
        nd_manager *m = c->manager;
        char bundle[PATH_MAX];
        int64_t finished_s;

        nd_ct_stop_watchers(c);
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
        nd_ct_bundle_path(m, c->id, bundle, sizeof(bundle));
        c->status = ND_CT_EXITED;
        c->finished_us = now_us();
        if (nd_rt_bundle_status_read(bundle, &c->exit_code, &finished_s) == 0)
                c->finished_us = finished_s * 1000000;
        else {
                c->exit_code = 255;
                snprintf(c->error, sizeof(c->error), "monitor exited without a status");
        }
        log_ct(LOG_INFO, c, "container exited", "exit_code=%d", c->exit_code);
        char code[16];
        snprintf(code, sizeof(code), "%d", c->exit_code);
        nd_ct_event(c, "die", json_pack("{s:s}", "exitCode", code));
        c->pid = 0;
        nd_ports_release(m, c);
        nd_resolver_detach(m, c);
        if (c->auto_remove && !c->removing) {
                c->removing = true;
                int r = nd_ct_teardown_and_forget(c, false, NULL, NULL);
                if (r < 0)
                        log_ct(LOG_ERR, c, "auto-remove failed", "err=%d", r);
                return;
        }
        if (c->removing && removal_waits(c) && !c->persisting) {
                /* rm -f killed it: the removal's one transaction records
                 * it gone, and its pairs go with the sandbox, so no stop
                 * record is written first and no answer waits for the
                 * pairs' grace period (as --rm, above).  Not while a
                 * record of it is in flight (a connect's): the stop
                 * record then queues behind it, and the removal after. */
                bool task = c->managed;
                nd_ct_notify_waiters(c, 0, NULL); /* @c may be gone */
                if (task)
                        nd_replicas_kick(m);
                return;
        }
        c->exit_persisting = true;
        if (nd_ct_persist(c, nd_ct_txn_stopped(c), on_exit_persisted, NULL) < 0) {
                c->exit_persisting = false;
                nd_ct_notify_waiters(c, 0, NULL);
        }
        /* a task of a replicated service: restarted per its policy */
        if (c->managed)
                nd_replicas_kick(m);
}

static void on_monitor(struct ev_loop *loop, ev_io *w, int revents) {
        nd_ct_exited(container_of(w, nd_container, monitor_io));
}

int nd_ct_watch_monitor(nd_container *c) {
        c->monitor_fd = nd_rt_pidfd_open(c->monitor_pid);
        if (c->monitor_fd < 0)
                return -errno;
        ev_io_init(&c->monitor_io, on_monitor, c->monitor_fd, EV_READ);
        ev_io_start(c->manager->loop, &c->monitor_io);
        /* a pidfd for the container's init, for signals without pid reuse
         * races; gone already if it exited meanwhile */
        if (c->pid > 0 && c->pid_fd < 0)
                c->pid_fd = nd_rt_pidfd_open(c->pid);
        return 0;
}

struct run_op {
        nd_container *c;
        nd_manager_ct_fn cb;
        void *userdata;
        int r;
        bool start;
        bool existing;       /* a start of a created or stopped container */
        nd_diag d;
        size_t report_len;
        char report[1024];   /* the monitor's report, while it starts */
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

        k = read(c->report_fd, op->report + op->report_len, sizeof(op->report) - 1 - op->report_len);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (k > 0 && op->report_len + (size_t) k < sizeof(op->report) - 1) {
                op->report_len += (size_t) k;
                return;
        }
        /* EOF (or error, or an oversized report): the monitor is done
         * talking */
        ev_io_stop(loop, w);
        close(c->report_fd);
        c->report_fd = -1;
        op->report[op->report_len] = 0;
        json_t *j = json_loads(op->report, 0, NULL);
        json_t *pid = json_object_get(j, "Pid"), *err = json_object_get(j, "Error");
        if (json_is_integer(pid) && json_integer_value(pid) > 0) {
                c->pid = (pid_t) json_integer_value(pid);
                c->status = ND_CT_RUNNING;
                c->started_us = now_us();
                log_ct(LOG_INFO, c, "container started", "pid=%d monitor=%d", c->pid, c->monitor_pid);
                nd_ct_event(c, "start", NULL);
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
        if (nd_ct_watch_monitor(c) < 0 && c->status == ND_CT_RUNNING) {
                /* the monitor died between its report and now */
                nd_ct_exited(c);
        }
        /* a start that failed gives back what a stop does */
        if (nd_ct_persist(c, c->status == ND_CT_RUNNING ? nd_ct_txn_new(c) : nd_ct_txn_stopped(c), on_run_answered,
                          op) < 0)
                on_run_answered(c, -ENOMEM, op);
}

/* The monitor is spawned on the namespace worker, which is back in
 * netd's namespace between visits: posix_spawn suspends the calling
 * thread until the child has exec'd, 1-10 ms on a busy machine, which the
 * loop (and every DNS answer) used to wait for at each start.  The
 * container is busy (wiring) meanwhile, as while it reports. */
struct spawn_work {
        struct run_op *op;
        const char *monitor_path;
        char bundle[PATH_MAX];
        pid_t pid;
        int fd;
};

static void spawn_failed(nd_container *c, struct run_op *op, int r);

static int spawn_work_run(void *arg) {
        struct spawn_work *w = arg;
        return nd_rt_monitor_spawn(w->monitor_path, w->bundle, &w->pid, &w->fd);
}

static void on_spawned(void *userdata, int r) {
        struct spawn_work *w = userdata;
        struct run_op *op = w->op;
        nd_container *c = op->c;
        nd_manager *m = c->manager;

        c->wiring = false;
        if (r == -ECANCELED) {
                /* netd is stopping: answer nobody; a monitor that did
                 * start is adopted by the next netd (runtime/adopt.c) */
                if (w->fd >= 0)
                        close(w->fd);
                free(w);
                free(op);
                return;
        }
        if (r < 0) {
                free(w);
                spawn_failed(c, op, r);
                return;
        }
        c->monitor_pid = w->pid;
        c->report_fd = w->fd;
        free(w);
        op->report_len = 0;
        ev_io_init(&c->report_io, on_report, c->report_fd, EV_READ);
        c->report_io.data = op;
        ev_io_start(m->loop, &c->report_io);
}

/* -errno: nothing submitted; else on_spawned goes on (maybe before this
 * returns, without a worker). */
static int spawn_monitor(nd_manager *m, nd_container *c, struct run_op *op) {
        struct spawn_work *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->op = op;
        w->monitor_path = m->monitor_path;
        w->fd = -1;
        nd_ct_bundle_path(m, c->id, w->bundle, sizeof(w->bundle));
        /* before the container runs anything: its first connect() to a
         * VIP is balanced at the socket already */
        nd_svc_socklb_container(m, c->id);
        c->wiring = true;
        int r = nd_reaper_run(m->worker, spawn_work_run, w, on_spawned, w);
        if (r < 0) {
                c->wiring = false;
                free(w);
        }
        return r;
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

static int run_visit(nd_manager *m, nd_container *c, struct run_op *op);
static void run_wired(nd_container *c, struct run_op *op, int r);
static void start_undo(nd_container *c);

static void on_run_recorded(nd_container *c, int r, void *userdata) {
        struct run_op *op = userdata;
        nd_manager *m = c->manager;

        if (r < 0) {
                /* nothing is in the store: forget it entirely */
                op->r = r == -ECANCELED ? -EEXIST : r;
                nd_diag_set(&op->d, op->r, r == -ECANCELED ? "container name '%s' is already in use"
                                                             : "recording container '%s' failed", c->name);
                for (size_t i = 0; i < c->n_eps; i++)
                        nd_ct_release_endpoint(m, &c->eps[i]);
                run_fail(c, op);
                nd_cts_drop(m, c);
                return;
        }
        if (run_visit(m, c, op) == 0)
                return; /* on_run_visited goes on */
        run_wired(c, op, nd_ct_sandbox_create(m, c));
}

static void on_run_visited(void *userdata, nd_visit *v) {
        struct run_op *op = userdata;
        nd_container *c = op->c;
        c->wiring = false;
        if (v->r == -ECANCELED) {
                /* netd is stopping: answer nobody */
                nd_visit_free(v);
                free(op);
                return;
        }
        int r = v->r < 0 ? v->r : v->lo_r;
        /* its resolver's listeners (none: nd_resolver_attach opens them) */
        if (r == 0 && v->dns)
                c->dns_sb = nd_visit_dns_take(v);
        nd_visit_free(v);
        run_wired(c, op, r);
}

/* Its namespace made and wired, lo up and (a run that starts it) its
 * resolver's listeners and redirect: one visit, off the loop
 * (ns-visit.h).  -errno: not submitted, the caller does it here. */
static int run_visit(nd_manager *m, nd_container *c, struct run_op *op) {
        char ns[PATH_MAX];
        if (c->mode != ND_NET_MODE_BRIDGE && c->mode != ND_NET_MODE_NONE)
                return -EOPNOTSUPP;
        nd_container_netns_path(m->run_dir, c->id, ns, sizeof(ns));
        nd_visit *v = nd_visit_new(m, ns, c->n_eps);
        if (!v)
                return -ENOMEM;
        int gw = nd_ct_gateway_endpoint(m, c);
        for (size_t i = 0; i < c->n_eps; i++) {
                nd_network *n = nd_ct_net_by_id(m, c->eps[i].net_id);
                if (!n || nd_visit_ep_set(v, i, n, &c->eps[i], (int) i == gw, false) < 0) {
                        nd_visit_free(v);
                        return -ENOMEM;
                }
        }
        v->create = true;
        v->lo_up = true;
        v->dns = op->start && m->dns && c->mode == ND_NET_MODE_BRIDGE && c->n_eps > 0;
        v->kind = ND_EP_CONTAINER;
        c->wiring = true;
        nd_visit_submit(v, on_run_visited, op);
        return 0;
}

/* A run that failed before its process started (@op->d says why):
 * nothing of it stays. */
static void run_failed(nd_container *c, struct run_op *op, int r) {
        nd_manager *m = c->manager;

        /* nothing of a run that failed before its process started stays:
         * not the record, its addresses, its sandbox or its ports (a
         * record left behind held its addresses until `rm`) */
        op->r = r;
        log_ct(LOG_WARNING, c, "container run failed, removing what it reserved", "error=\"%s\"", op->d.msg);
        if (nd_ct_teardown_and_forget(c, false, on_run_forgotten, op) < 0) {
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

/* The monitor could not be spawned (on_spawned). */
static void spawn_failed(nd_container *c, struct run_op *op, int r) {
        nd_diag_set(&op->d, r, "container '%s': starting its monitor failed: %s", c->name, strerror(-r));
        if (!op->existing) {
                run_failed(c, op, r);
                return;
        }
        nd_ports_release(c->manager, c);
        nd_resolver_detach(c->manager, c);
        start_undo(c);
        op->cb(op->userdata, r, NULL, &op->d);
        free(op);
}

/* The rest of a run once its sandbox is wired (@r 0) or not. */
static void run_wired(nd_container *c, struct run_op *op, int r) {
        nd_manager *m = c->manager;

        if (r < 0) {
                nd_diag_set(&op->d, r, "container '%s': setting up its network failed: %s", c->name, strerror(-r));
                goto fail;
        }
        nd_ct_event(c, "create", NULL);
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
        r = nd_ct_write_bundle(m, c);
        if (r < 0) {
                nd_diag_set(&op->d, r, "container '%s': writing its bundle failed: %s", c->name, strerror(-r));
                goto fail;
        }
        r = spawn_monitor(m, c, op);
        if (r < 0)
                goto spawn;
        return;
spawn:
        nd_diag_set(&op->d, r, "container '%s': starting its monitor failed: %s", c->name, strerror(-r));
fail:
        run_failed(c, op, r);
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

static int links_resolve(nd_manager *m, const nd_container_spec *s, nd_container *c, nd_diag *d) {
        if (s->n_links == 0)
                return 0;
        json_t *out = json_array();
        if (!out)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        for (size_t i = 0; i < s->n_links; i++) {
                const nd_link_req *l = &s->links[i];
                char ip[ND_ADDR_STRLEN] = "";
                nd_container *t;
                if (nd_manager_container_find(m, l->name, &t) < 0) {
                        json_decref(out);
                        return nd_diag_set(d, -ENOENT, "linked container '%.64s' not found", l->name);
                }
                for (size_t k = 0; k < t->n_eps && !*ip; k++)
                        if (nd_container_endpoint(c, t->eps[k].net_id) && t->eps[k].addr4.family)
                                nd_addr_fmt(&t->eps[k].addr4, ip);
                if (t->status != ND_CT_RUNNING || !*ip) {
                        json_decref(out);
                        return nd_diag_set(d, -EINVAL, "cannot link to '%s': it must be running on a network "
                                           "this container joins", t->name);
                }
                json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "Name", t->name, "Alias", l->alias, "IP", ip));
                link_env(c, l->alias, ip, t);
        }
        c->links = json_array_size(out) ? out : NULL;
        if (!c->links)
                json_decref(out);
        return 0;
}

/* --network container:NAME names a running container; one that itself
 * shares another's namespace stands for that one, and one on the host's
 * makes this one a host container. */
static int mode_resolve(nd_manager *m, const nd_container_spec *s, nd_container *c, nd_diag *d) {
        nd_container *t;

        c->mode = s->mode;
        if (s->mode != ND_NET_MODE_CONTAINER)
                return 0;
        if (nd_manager_container_find(m, s->mode_target, &t) < 0)
                return nd_diag_set(d, -ENOENT, "container '%.64s' (of --network %.80s) not found", s->mode_target,
                                   s->mode_name);
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
        strcpy(c->mode_target, t->id);
        return 0;
}

/* Docker's rule: in container: mode the namespace's owner has the say. */
static int owner_conflicts(const nd_container_spec *s, nd_diag *d) {
        const bool given[] = { s->hostname && *s->hostname, s->dns, s->dns_search, s->dns_options, s->extra_hosts,
                               s->n_links > 0 };
        static const char *const what[] = { "hostname", "dns", "dns-search", "dns-option",
                                            "custom host-to-IP mapping", "links" };
        for (size_t k = 0; k < ELEMENTSOF(what); k++)
                if (given[k])
                        return nd_diag_set(d, -EINVAL, "conflicting options: %s and the network mode "
                                           "(container:) cannot be combined", what[k]);
        return 0;
}

/* Env: the defaults, then the request's, a later entry for a key
 * replacing an earlier one. */
static int env_build(const nd_container_spec *s, nd_container *c) {
        char hn_env[ND_NAME_MAX + 16];
        size_t i;
        json_t *v;

        c->env = json_array();
        if (!c->env)
                return -ENOMEM;
        snprintf(hn_env, sizeof(hn_env), "HOSTNAME=%s", c->hostname);
        json_array_append_new(c->env, json_string(DEFAULT_PATH));
        json_array_append_new(c->env, json_string(hn_env));
        json_array_foreach(s->env, i, v) {
                const char *e = json_string_value(v);
                size_t klen = (size_t) (strchr(e, '=') - e) + 1, k;
                json_t *o;
                json_array_foreach(c->env, k, o)
                        if (strncmp(json_string_value(o), e, klen) == 0) {
                                json_array_remove(c->env, k);
                                break;
                        }
                json_array_append_new(c->env, json_string(e));
        }
        return 0;
}

static int run_once(nd_manager *m, const json_t *req, bool start, bool managed, nd_manager_ct_fn cb, void *userdata,
                    nd_diag *d) {
        _cleanup_(nd_container_freep) nd_container *c = nd_container_new();
        _cleanup_(nd_container_spec_done) nd_container_spec s = {0};
        struct stat st;
        size_t i;
        json_t *v;
        int r;

        if (!c)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (m->n_cts >= ND_MAX_CONTAINERS)
                return nd_diag_set(d, -ENOSPC, "too many containers (limit %d)", ND_MAX_CONTAINERS);
        r = nd_container_spec_parse(req, &s, d);
        if (r < 0)
                return r;
        c->auto_remove = s.auto_remove;
        c->sec = s.sec;
        memset(&s.sec, 0, sizeof(s.sec));
        c->memory = s.memory;
        c->pids_limit = s.pids_limit;
        c->managed = managed;
        /* its host-side interface names come from the id: none that a
         * container in the table or still going holds (1 in 2^32 each) */
        for (int tries = 0;; tries++) {
                r = nd_id_new(c->id);
                if (r < 0)
                        return nd_diag_set(d, r, "cannot generate an id");
                if (!nd_ct_ifnames_taken(m, c->id))
                        break;
                if (tries == 8)
                        return nd_diag_set(d, -EEXIST, "cannot generate an id whose interface names are free");
        }
        if (s.name && *s.name)
                strcpy(c->name, s.name);
        else
                snprintf(c->name, sizeof(c->name), "ct-%.10s", c->id);
        for (size_t k = 0; k < m->n_cts; k++)
                if (strcmp(m->cts[k]->name, c->name) == 0)
                        return nd_diag_set(d, -EEXIST, "container name '%s' is already in use by %.12s", c->name,
                                           m->cts[k]->id);
        r = mode_resolve(m, &s, c, d);
        if (r < 0)
                return r;
        if (c->mode == ND_NET_MODE_CONTAINER) {
                if ((r = owner_conflicts(&s, d)) < 0)
                        return r;
                strcpy(c->hostname, nd_ct_net_owner(m, c)->hostname);
        } else if (s.hostname && *s.hostname)
                strcpy(c->hostname, s.hostname);
        else
                snprintf(c->hostname, sizeof(c->hostname), "%.12s", c->id);

        c->args = json_deep_copy(s.args);
        if (!c->args || env_build(&s, c) < 0)
                return nd_diag_set(d, -ENOMEM, "out of memory");

        if (nd_container_set_rootfs(c, s.rootfs && *s.rootfs ? s.rootfs : m->default_rootfs) < 0)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (c->rootfs[0] != '/')
                return nd_diag_set(d, -EINVAL, "rootfs '%s' must be an absolute path", c->rootfs);
        if (stat(c->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
                return nd_diag_set(d, -ENOENT, "root filesystem '%s' does not exist%s", c->rootfs,
                                   s.rootfs && *s.rootfs ? "" : "; create the default one with 'netctl rootfs init'");
        r = check_command(c->rootfs, json_string_value(json_array_get(c->args, 0)), c->env, d);
        if (r < 0)
                return r;

        for (i = 0; i < s.n_nets; i++) {
                const char *ref = s.nets[i].network;
                nd_network *n;
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
                if (nd_container_endpoint_room(c) < 0) {
                        r = nd_diag_set(d, -ENOMEM, "out of memory");
                        goto unwind;
                }
                r = nd_ct_endpoint_prepare(m, c, n, &s.nets[i], &c->eps[c->n_eps], d);
                if (r < 0)
                        goto unwind;
                c->n_eps++;
        }
        if (c->mode == ND_NET_MODE_BRIDGE && c->n_eps == 0)
                c->mode = ND_NET_MODE_NONE; /* no network named: loopback only */
        nd_ct_gateway_mark(c, nd_ct_gateway_endpoint(m, c));
        c->dns = json_incref(s.dns);
        c->dns_search = json_incref(s.dns_search);
        c->dns_options = json_incref(s.dns_options);
        r = links_resolve(m, &s, c, d);
        if (r < 0)
                goto unwind;
        /* host-gateway needs the endpoints: checked now, resolved whenever
         * the hosts file is written */
        json_array_foreach(s.extra_hosts, i, v) {
                char name[ND_NAME_MAX + 1], ip[ND_ADDR_STRLEN];
                if ((r = nd_ct_extra_host_resolve(c, json_string_value(v), name, ip, d)) < 0)
                        goto unwind;
        }
        c->extra_hosts = json_incref(s.extra_hosts);
        c->exposed = json_incref(s.exposed);
        c->publish_all = s.publish_all;
        if (s.service)
                snprintf(c->service, sizeof(c->service), "%s", s.service);
        c->ports = TAKE_PTR(s.ports);
        c->n_ports = s.n_ports;
        s.n_ports = 0;
        if (c->n_ports && c->mode != ND_NET_MODE_BRIDGE) {
                r = nd_diag_set(d, -EINVAL, "ports can only be published from a container on a network "
                                "(network mode is %s)", c->mode == ND_NET_MODE_HOST ? "host, where the "
                                "container uses the host's ports directly" : c->mode == ND_NET_MODE_NONE ?
                                "none" : "container:");
                goto unwind;
        }
        if (c->service[0]) {
                const char *ids[ND_MAX_ENDPOINTS];
                char what[ND_NAME_MAX + 16];
                for (i = 0; i < c->n_eps; i++)
                        ids[i] = c->eps[i].net_id;
                snprintf(what, sizeof(what), "container '%s'", c->name);
                r = nd_services_task_check(m, c->service, ids, c->n_eps, what, d);
                if (r < 0)
                        goto unwind;
        }

        c->created_us = now_us();
        c->status = ND_CT_CREATED;

        /* one transaction: record, name, addresses */
        struct run_op *op = calloc(1, sizeof(*op));
        if (!op || (r = nd_cts_add(m, c)) < 0) {
                free(op);
                r = nd_diag_set(d, -ENOMEM, "out of memory");
                goto unwind;
        }
        *op = (struct run_op) { .c = c, .cb = cb, .userdata = userdata, .start = start };
        nd_store_txn_builder *t = nd_ct_txn_new(c);
        const char *name_key = nd_store_txn_keyf(t, ND_KEY_CONTAINER_NAMES "%s", c->name);
        (void) nd_store_txn_cmp_absent(t, name_key);
        (void) nd_store_txn_put(t, name_key, c->id);
        for (size_t k = 0; k < c->n_eps; k++)
                (void) nd_ct_endpoint_ipam_ops(c, nd_ct_net_by_id(m, c->eps[k].net_id), &c->eps[k], true, t);
        r = nd_ct_persist(c, t, on_run_recorded, op);
        if (r < 0) {
                free(op);
                m->n_cts--;
                r = nd_diag_set(d, r, "store: %s", strerror(-r));
                goto unwind;
        }
        TAKE_PTR(c);
        return 0;
unwind:
        for (size_t k = 0; k < c->n_eps; k++)
                nd_ct_release_endpoint(m, &c->eps[k]);
        return r;
}

int nd_ct_run_once(nd_manager *m, const json_t *req, bool start, nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        return run_once(m, req, start, false, cb, userdata, d);
}

/* The flag is set here, not by the request: no API body can make a
 * container that `rm` refuses. */
int nd_ct_task_run(nd_manager *m, const json_t *req, nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        return run_once(m, req, true, true, cb, userdata, d);
}

/* The sandbox, the ports, the bundle and the monitor of a start whose
 * addresses are held (and recorded); -errno with @d filled: nothing runs. */
static int start_now(nd_manager *m, nd_container *c, nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        char bundle[PATH_MAX];
        struct run_op *op;
        int r;

        /* the sandbox may be incomplete (a crash while wiring it, an
         * operator's `ip link del`, a stop that gave back the addresses
         * of its endpoints): make it match the record first */
        r = nd_ct_sandbox_repair(m, c);
        if (r < 0)
                return nd_diag_set(d, r, "container '%s': setting up its network failed: %s", c->name, strerror(-r));
        r = nd_ct_write_bundle(m, c);
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
        nd_ct_bundle_path(m, c->id, bundle, sizeof(bundle));
        nd_rt_bundle_status_clear(bundle);
        op = calloc(1, sizeof(*op));
        if (!op) {
                nd_ports_release(m, c);
                nd_resolver_detach(m, c);
                return nd_diag_set(d, -ENOMEM, "out of memory");
        }
        *op = (struct run_op) { .c = c, .cb = cb, .userdata = userdata, .start = true, .existing = true };
        c->error[0] = 0;
        c->exit_code = 0;
        /* a monitor that fails to spawn from here on is answered by
         * spawn_failed */
        r = spawn_monitor(m, c, op);
        if (r < 0) {
                free(op);
                nd_ports_release(m, c);
                nd_resolver_detach(m, c);
                return nd_diag_set(d, r, "container '%s': starting its monitor failed: %s", c->name, strerror(-r));
        }
        return 0;
}

struct start_op {
        nd_manager_ct_fn cb;
        void *userdata;
};

/* A start that failed after its new addresses were recorded: they go
 * back (and their records) as at a stop. */
static void start_undo(nd_container *c) {
        if (nd_ct_persist(c, nd_ct_txn_stopped(c), NULL, NULL) < 0)
                log_ct(LOG_ERR, c, "recording the failed start failed");
}

static void on_start_recorded(nd_container *c, int r, void *userdata) {
        struct start_op *op = userdata;
        nd_diag d = {0};

        if (r < 0)
                nd_diag_set(&d, r, "recording the addresses of container '%s' failed: %s", c->name, strerror(-r));
        else
                r = start_now(c->manager, c, op->cb, op->userdata, &d);
        if (r < 0) {
                start_undo(c);
                op->cb(op->userdata, r, NULL, &d);
        }
        free(op);
}

int nd_manager_container_start(nd_manager *m, nd_container *c, nd_manager_ct_fn cb, void *userdata, nd_diag *d) {
        int r;

        if (c->status == ND_CT_RUNNING)
                return nd_diag_set(d, -EALREADY, "container '%s' is already running", c->name);
        if (c->removing || c->persisting || c->wiring || c->report_fd >= 0)
                return nd_diag_set(d, -EBUSY, "container '%s' is busy", c->name);
        /* the pairs of its stop still going, by name: a start now would
         * make the same names */
        if (c->releasing)
                return nd_diag_set(d, -EBUSY, "container '%s' is still stopping; try again", c->name);
        if (c->mode == ND_NET_MODE_CONTAINER) {
                nd_container *t;
                if (nd_manager_container_find(m, c->mode_target, &t) < 0 || t->status != ND_CT_RUNNING)
                        return nd_diag_set(d, -EBUSY, "the container whose network '%s' shares is not running",
                                           c->name);
        }
        /* the dynamic addresses its stop gave back: new ones, recorded
         * before any interface carries them (a netd stopped meanwhile
         * gives them back when it reads the record again,
         * container-load.c) */
        r = nd_ct_reserve_dynamic(m, c, d);
        if (r < 0)
                return r;
        if (r == 0)
                return start_now(m, c, cb, userdata, d);
        struct start_op *op = calloc(1, sizeof(*op));
        nd_store_txn_builder *t = nd_ct_txn_new(c);
        for (size_t k = 0; k < c->n_eps; k++)
                (void) nd_ct_endpoint_ipam_ops(c, nd_ct_net_by_id(m, c->eps[k].net_id), &c->eps[k], true, t);
        if (op)
                *op = (struct start_op) { .cb = cb, .userdata = userdata };
        r = op ? nd_ct_persist(c, t, on_start_recorded, op) : (nd_store_txn_free(t), -ENOMEM);
        if (r < 0) {
                free(op);
                /* nothing was recorded: they only go back */
                nd_ct_txn_stopped_drop(c, nd_ct_txn_stopped(c));
                return nd_diag_set(d, r, "recording the addresses of container '%s' failed: %s", c->name,
                                   strerror(-r));
        }
        return 0;
}
