/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The composition root: makes the loop and the core, starts the core, and
 * when its state is loaded opens the front ends' sockets (the /v1 API,
 * Docker's Engine API and plugin protocol, the metrics listener); drains
 * them on SIGTERM/SIGINT.  Nothing includes it but main.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <ev.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "daemon-internal.h"
#include "docker-plugin.h"
#include "http.h"
#include "log.h"
#include "manager.h"
#include "store.h"

static int listen_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return nd_log_errno(LOG_ERR, -ENAMETOOLONG, "socket path too long", "path=%s", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return nd_log_errno(LOG_ERR, errno, "cannot create the API socket");
        /* Safe: we hold the run dir's pid lock, so a leftover socket belongs
         * to a dead instance. */
        (void) unlink(path);
        mode_t old = umask(0117);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return nd_log_errno(LOG_ERR, errno, "cannot bind the API socket", "path=%s", path);
        if (chmod(path, 0660) < 0)
                return nd_log_errno(LOG_ERR, errno, "cannot chmod the API socket", "path=%s", path);
        if (listen(fd, 128) < 0)
                return nd_log_errno(LOG_ERR, errno, "cannot listen on the API socket", "path=%s", path);
        return TAKE_FD(fd);
}

/* HOST:PORT or [V6]:PORT, a TCP listening socket (non-blocking). */
static int listen_tcp(const char *spec) {
        char host[128];
        const char *colon = strrchr(spec, ':');
        nd_addr a;
        if (!colon || (size_t) (colon - spec) >= sizeof(host))
                return nd_log_errno(LOG_ERR, -EINVAL, "--metrics-addr: want HOST:PORT", "value=%s", spec);
        memcpy(host, spec, (size_t) (colon - spec));
        host[colon - spec] = 0;
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                memmove(host, host + 1, strlen(host));
                host[strlen(host) - 1] = 0;
        }
        char *end;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (*end || !colon[1] || port == 0 || port > 65535 || nd_addr_parse(host, &a) < 0)
                return nd_log_errno(LOG_ERR, -EINVAL, "--metrics-addr: want HOST:PORT with an IP address", "value=%s", spec);
        union {
                struct sockaddr sa;
                struct sockaddr_in in4;
                struct sockaddr_in6 in6;
        } u = {0};
        socklen_t sl;
        if (a.family == AF_INET) {
                u.in4 = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
                memcpy(&u.in4.sin_addr, a.b, 4);
                sl = sizeof(u.in4);
        } else {
                u.in6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t) port) };
                memcpy(&u.in6.sin6_addr, a.b, 16);
                sl = sizeof(u.in6);
        }
        _cleanup_close_ int fd = socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0)
                return nd_log_errno(LOG_ERR, errno, "cannot create the metrics socket");
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, &u.sa, sl) < 0 || listen(fd, 64) < 0)
                return nd_log_errno(LOG_ERR, errno, "cannot listen on --metrics-addr", "addr=%s", spec);
        return TAKE_FD(fd);
}

static void start_failed(nd_daemon *d, int r) {
        d->start_r = r;
        ev_break(d->loop, EVBREAK_ALL);
}

static json_t *server_status(void *userdata) {
        nd_daemon *d = userdata;
        json_t *j = nd_http_server_status(d->http);
        struct rlimit rl;
        if (j && getrlimit(RLIMIT_NOFILE, &rl) == 0)
                json_object_set_new(j, "FileLimit", json_integer((json_int_t) rl.rlim_cur));
        return j;
}

static void start_api(nd_daemon *d) {
        nd_http_config hc = { .max_body = d->max_body, .max_connections = 256, .idle_timeout_sec = 60 };
        int fd = listen_socket(d->socket_path), r;
        if (fd < 0)
                return start_failed(d, fd);
        r = nd_http_server_new(d->loop, fd, &hc, nd_api_handle, &d->api, &d->http);
        if (r < 0) {
                close(fd);
                return start_failed(d, nd_log_errno(LOG_ERR, r, "cannot start the API server"));
        }
        if (d->docker_socket) {
                fd = listen_socket(d->docker_socket);
                if (fd < 0)
                        return start_failed(d, fd);
                r = nd_http_server_new(d->loop, fd, &hc, nd_docker_api_handle, d->m, &d->docker_http);
                if (r < 0) {
                        close(fd);
                        return start_failed(d, nd_log_errno(LOG_ERR, r, "cannot start the Docker API server"));
                }
                nd_log(LOG_INFO, "Docker network API listening", "socket=%s", d->docker_socket);
        }
        if (d->plugin_socket) {
                fd = listen_socket(d->plugin_socket);
                if (fd < 0)
                        return start_failed(d, fd);
                r = nd_http_server_new(d->loop, fd, &hc, nd_docker_plugin_handle, d->m, &d->plugin_http);
                if (r < 0) {
                        close(fd);
                        return start_failed(d, nd_log_errno(LOG_ERR, r, "cannot start the Docker plugin server"));
                }
                nd_log(LOG_INFO, "Docker network and IPAM plugin listening", "socket=%s", d->plugin_socket);
        }
        if (d->metrics_addr) {
                fd = listen_tcp(d->metrics_addr);
                if (fd < 0)
                        return start_failed(d, fd);
                nd_http_config mc = { .max_body = 4096, .max_connections = 64, .idle_timeout_sec = 60 };
                r = nd_http_server_new(d->loop, fd, &mc, nd_api_metrics_handle, &d->api, &d->metrics_http);
                if (r < 0) {
                        close(fd);
                        return start_failed(d, nd_log_errno(LOG_ERR, r, "cannot start the metrics server"));
                }
                nd_log(LOG_INFO, "metrics listening", "addr=%s", d->metrics_addr);
        }
        d->started = true;
        nd_manager_ready(d->m);
        nd_network **nets;
        size_t n_nets = nd_manager_networks(d->m, &nets);
        nd_log(LOG_INFO, "netd ready", "version=%s socket=%s store=%s networks=%zu", ND_VERSION, d->socket_path,
               nd_store_backend(nd_manager_store(d->m)), n_nets);
}

static void on_core_ready(void *userdata, int r) {
        nd_daemon *d = userdata;
        if (r < 0)
                return start_failed(d, r);
        start_api(d);
}

static void on_drain(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_daemon *d = container_of(w, nd_daemon, drain);
        /* Requests waiting on the store finish first; a stuck one does
         * not hold shutdown for more than a few seconds. */
        unsigned pending = (d->http ? nd_http_server_pending(d->http) : 0) +
                           (d->docker_http ? nd_http_server_pending(d->docker_http) : 0);
        if (pending == 0 || ev_now(loop) - d->drain_start > 3.)
                ev_break(loop, EVBREAK_ALL);
}

static void shut_down(nd_daemon *d) {
        struct ev_loop *loop = d->loop;
        ev_signal_stop(loop, &d->sig_term);
        ev_signal_stop(loop, &d->sig_int);
        ev_timer_stop(loop, &d->idle);
        if (d->http)
                nd_http_server_quiesce(d->http);
        if (d->docker_http)
                nd_http_server_quiesce(d->docker_http);
        d->drain_start = ev_now(loop);
        ev_timer_start(loop, &d->drain);
}

/* --exit-when-idle: a netd started on demand (by netd-netavark,
 * docs/podman.md) has no service manager to stop it.  It goes once
 * nothing is wired (no container, no sandbox whose namespace exists) and
 * no request is open for the whole period, or at once when its state dir
 * is removed or replaced: a test harness that deletes that dir leaves
 * nothing for it to serve. */
static void on_idle_check(struct ev_loop *loop, ev_timer *w, int revents) {
        nd_daemon *d = container_of(w, nd_daemon, idle);
        nd_sbx **sbx;
        nd_container **ctr;
        struct stat st;

        if ((stat(d->state_dir, &st) < 0 && errno == ENOENT) ||
            (d->state_ino && (st.st_ino != d->state_ino || st.st_dev != d->state_dev))) {
                nd_log(LOG_INFO, "state dir removed, exiting", "dir=%s", d->state_dir);
                return shut_down(d);
        }
        if (!d->started)
                return;
        bool busy = nd_manager_containers(d->m, &ctr) > 0 || (d->http && nd_http_server_pending(d->http) > 0);
        /* a sandbox whose namespace is gone (its runtime died without a
         * teardown, a harness killed it) waits for nobody */
        size_t n = nd_manager_sandboxes(d->m, &sbx);
        for (size_t i = 0; i < n && !busy; i++)
                busy = stat(nd_sandbox_netns(sbx[i]), &st) == 0;
        if (busy) {
                d->idle_since = 0;
                return;
        }
        if (d->idle_since == 0)
                d->idle_since = ev_now(loop);
        else if (ev_now(loop) - d->idle_since >= d->exit_when_idle) {
                nd_log(LOG_INFO, "idle, exiting", "seconds=%u", d->exit_when_idle);
                shut_down(d);
        }
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents) {
        nd_daemon *d = ev_userdata(loop);
        nd_log(LOG_INFO, "shutting down", "signal=%d", w->signum);
        shut_down(d);
}

int nd_daemon_new(const nd_manager_config *cfg, nd_daemon **ret) {
        nd_daemon *d = calloc(1, sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        d->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
        d->socket_path = strdup(cfg->socket_path);
        d->max_body = cfg->max_body ? cfg->max_body : 1024 * 1024;
        d->exit_when_idle = cfg->exit_when_idle;
        d->state_dir = strdup(cfg->state_dir);
        if (!d->loop || !d->socket_path || !d->state_dir || (cfg->docker_socket && !(d->docker_socket = strdup(cfg->docker_socket))) ||
            (cfg->plugin_socket && !(d->plugin_socket = strdup(cfg->plugin_socket))) ||
            (cfg->metrics_addr && !(d->metrics_addr = strdup(cfg->metrics_addr)))) {
                nd_daemon_free(d);
                return -ENOMEM;
        }
        ev_set_userdata(d->loop, d);
        r = nd_manager_new(cfg, d->loop, &d->m);
        if (r < 0) {
                nd_daemon_free(d);
                return r;
        }
        d->api = (nd_api_hooks) { .m = d->m, .metrics = nd_daemon_metrics, .server_status = server_status,
                                  .loop_status = nd_daemon_loop_status, .userdata = d };
        *ret = d;
        return 0;
}

nd_daemon *nd_daemon_free(nd_daemon *d) {
        if (!d)
                return NULL;
        /* the front ends first: they reference the core's objects */
        d->http = nd_http_server_free(d->http);
        d->docker_http = nd_http_server_free(d->docker_http);
        d->plugin_http = nd_http_server_free(d->plugin_http);
        d->metrics_http = nd_http_server_free(d->metrics_http);
        nd_daemon_metrics_stop(d);
        d->m = nd_manager_free(d->m);
        if (d->loop) {
                ev_signal_stop(d->loop, &d->sig_term);
                ev_signal_stop(d->loop, &d->sig_int);
                ev_timer_stop(d->loop, &d->drain);
                ev_timer_stop(d->loop, &d->idle);
                ev_loop_destroy(d->loop);
        }
        free(d->socket_path);
        free(d->docker_socket);
        free(d->plugin_socket);
        free(d->metrics_addr);
        free(d->state_dir);
        free(d);
        return NULL;
}

/* The kernel grows a process's fd table by doubling, and once a second
 * thread exists (the link reaper) every doubling waits for an RCU grace
 * period, on the loop, in whatever call opened the descriptor.  Size it
 * once now, while netd has one thread: up to 4096 descriptors (or the
 * limit). */
static void fd_table_reserve(void) {
        struct rlimit rl;
        int want = 4095, fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= (rlim_t) want)
                want = rl.rlim_cur > 1 ? (int) rl.rlim_cur - 1 : 0;
        int high = want > fd ? fcntl(fd, F_DUPFD_CLOEXEC, want) : -1;
        if (high >= 0)
                close(high);
        close(fd);
}

int nd_daemon_run(nd_daemon *d) {
        int r;

        fd_table_reserve();

        ev_signal_init(&d->sig_term, on_signal, SIGTERM);
        ev_signal_init(&d->sig_int, on_signal, SIGINT);
        ev_signal_start(d->loop, &d->sig_term);
        ev_signal_start(d->loop, &d->sig_int);
        ev_timer_init(&d->drain, on_drain, 0.01, 0.01);
        if (d->exit_when_idle > 0) {
                /* a check a quarter of the period (at most a second, for
                 * the state dir): it exits within 1.25× */
                double every = d->exit_when_idle / 4. < 1. ? d->exit_when_idle / 4. : 1.;
                struct stat st;
                if (stat(d->state_dir, &st) == 0) {
                        d->state_ino = st.st_ino;
                        d->state_dev = st.st_dev;
                }
                ev_timer_init(&d->idle, on_idle_check, every, every);
                ev_timer_start(d->loop, &d->idle);
        }
        r = nd_daemon_metrics_start(d);
        if (r < 0)
                return r;
        r = nd_manager_start(d->m, on_core_ready, d);
        if (r < 0)
                return r;
        ev_run(d->loop, 0);
        if (d->start_r < 0)
                return d->start_r;
        if (d->http && !d->started)
                return -EIO;
        (void) unlink(d->socket_path);
        if (d->docker_socket)
                (void) unlink(d->docker_socket);
        if (d->plugin_socket)
                (void) unlink(d->plugin_socket);
        nd_log(LOG_INFO, "stopped");
        return 0;
}
