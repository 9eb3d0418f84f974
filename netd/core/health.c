/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Health checks of a service's local tasks (docs/services.md): the
 * service's command runs inside the task every interval, as
 * `netctl exec TASK /bin/sh -c CMD` does it (the task's namespaces,
 * cgroups and confinement), so a check is exactly what an operator's
 * exec would see.  The check is a child process of netd watched through
 * a pidfd on the loop; past its timeout its process group is killed and
 * the check counts as failed.  After `retries` consecutive failures the
 * task is unhealthy and leaves its service's backends and names; one
 * success brings it back.  The first check runs at once, so a task that
 * is ready early becomes a backend early.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"
#include "grow.h"
#include "log.h"
#include "macro.h"
#include "manager-internal.h"
#include "replicas-internal.h"
#include "rt-spawn.h"
#include "service.h"

extern char **environ;

struct nd_health {
        nd_manager *m;
        char ctid[ND_ID_LEN + 1];
        char name[ND_NAME_MAX + 1];
        char *cmd;
        double interval, timeout;
        unsigned retries;
        /* the check in flight */
        pid_t pid;
        int pidfd;
        ev_io io;
        ev_timer tick, deadline;
        bool timed_out;
        int64_t started_us;
        /* results */
        unsigned streak;        /* consecutive failures */
        int last_exit;          /* -1: none yet; 124: timed out */
        int64_t last_end_us;
        unsigned long checks, failures;
        nd_task_health health;
};

static void check_start(struct nd_health *h);

static void set_health(struct nd_health *h, nd_task_health health) {
        if (h->health == health)
                return;
        nd_log(health == ND_TASK_UNHEALTHY ? LOG_WARNING : LOG_INFO, "task health changed", "ct=%s from=%s to=%s",
               h->name, nd_task_health_to_string(h->health), nd_task_health_to_string(health));
        h->health = health;
        char action[64];
        snprintf(action, sizeof(action), "health_status: %s", nd_task_health_to_string(health));
        nd_manager_event(h->m, "container", action, h->ctid, h->name, json_pack("{s:s}", "name", h->name));
        nd_services_task_health_set(h->m, h->ctid, health);
        nd_services_flush(h->m);
        /* a rolling update waits for its new tasks to be healthy */
        nd_replicas_kick(h->m);
        /* remote hosts learn it from the task's endpoint records */
        nd_container *c;
        if (nd_manager_container_find(h->m, h->ctid, &c) == 0)
                nd_cluster_publish(h->m->cluster, c);
}

static void check_done(struct nd_health *h, int status) {
        bool ok = !h->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;

        ev_io_stop(h->m->loop, &h->io);
        ev_timer_stop(h->m->loop, &h->deadline);
        close(h->pidfd);
        h->pidfd = -1;
        h->pid = 0;
        h->checks++;
        h->last_end_us = now_us();
        h->last_exit = h->timed_out ? 124 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (ok) {
                h->streak = 0;
                set_health(h, ND_TASK_HEALTHY);
                return;
        }
        h->failures++;
        h->streak++;
        nd_log(LOG_DEBUG, "health check failed", "ct=%s exit=%d streak=%u", h->name, h->last_exit, h->streak);
        if (h->streak >= h->retries)
                set_health(h, ND_TASK_UNHEALTHY);
}

static void on_exit_io(struct ev_loop *loop, ev_io *w, int revents) {
        struct nd_health *h = container_of(w, struct nd_health, io);
        int status = 0;
        pid_t r = waitpid(h->pid, &status, WNOHANG);
        if (r == 0)
                return;
        if (r < 0)
                status = 127 << 8;
        check_done(h, status);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents) {
        struct nd_health *h = container_of(w, struct nd_health, deadline);
        /* the whole group: netctl and what it started in the task */
        h->timed_out = true;
        (void) kill(-h->pid, SIGKILL);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents) {
        struct nd_health *h = container_of(w, struct nd_health, tick);
        if (h->pid == 0)
                check_start(h);
}

static const char *netctl_path(void) {
        static char path[PATH_MAX + 16];
        if (!path[0]) {
                char exe[PATH_MAX];
                ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
                exe[k > 0 ? k : 0] = 0;
                char *slash = strrchr(exe, '/');
                if (slash)
                        *slash = 0;
                snprintf(path, sizeof(path), "%s/netctl", exe);
                if (access(path, X_OK) < 0)
                        snprintf(path, sizeof(path), "netctl");
        }
        return path;
}

static const int reset_signals[] = { SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2 };

static void check_start(struct nd_health *h) {
        nd_manager *m = h->m;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, dfl;
        char env_sock[PATH_MAX + 16];
        char *argv[] = { (char *) "netctl", (char *) "exec", h->ctid, (char *) "/bin/sh", (char *) "-c", h->cmd, NULL };
        char *envp[] = { env_sock, (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        int r;

        snprintf(env_sock, sizeof(env_sock), "NETD_SOCKET=%s", m->socket_path ? m->socket_path : "");
        sigemptyset(&none);
        sigemptyset(&dfl);
        /* what netd ignores or handles goes back to the default */
        for (size_t i = 0; i < ELEMENTSOF(reset_signals); i++)
                sigaddset(&dfl, reset_signals[i]);
        if (posix_spawn_file_actions_init(&fa) != 0)
                return;
        if (posix_spawnattr_init(&attr) != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return;
        }
        if ((r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0)) == 0 &&
            (r = posix_spawn_file_actions_adddup2(&fa, 0, 1)) == 0 &&
            (r = posix_spawn_file_actions_adddup2(&fa, 0, 2)) == 0 &&
            (r = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
            (r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                       POSIX_SPAWN_SETSIGDEF)) == 0 &&
            (r = posix_spawnattr_setpgroup(&attr, 0)) == 0 && (r = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
            (r = posix_spawnattr_setsigdefault(&attr, &dfl)) == 0)
                r = posix_spawn(&h->pid, netctl_path(), &fa, &attr, argv, envp);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                nd_log_errno(LOG_WARNING, -r, "starting a health check failed", "ct=%s", h->name);
                h->pid = 0;
                check_done(h, 127 << 8);
                return;
        }
        h->pidfd = nd_rt_pidfd_open(h->pid);
        if (h->pidfd < 0) {
                int status = 0;
                (void) waitpid(h->pid, &status, 0);
                h->pidfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                check_done(h, status);
                return;
        }
        h->timed_out = false;
        h->started_us = now_us();
        ev_io_init(&h->io, on_exit_io, h->pidfd, EV_READ);
        ev_io_start(m->loop, &h->io);
        ev_timer_init(&h->deadline, on_deadline, h->timeout, 0);
        ev_timer_start(m->loop, &h->deadline);
}

static struct nd_health *find(nd_manager *m, const char *ctid, size_t *ret_i) {
        for (size_t i = 0; i < m->n_checks; i++)
                if (strcmp(m->checks[i]->ctid, ctid) == 0) {
                        if (ret_i)
                                *ret_i = i;
                        return m->checks[i];
                }
        return NULL;
}

int nd_health_watch(nd_manager *m, const char *ctid, const char *name, const nd_svc_health *hc) {
        struct nd_health *h = find(m, ctid, NULL);

        if (h)
                return 0;
        if (ND_GROW(m->checks, m->n_checks, m->cap_checks, 1) < 0)
                return -ENOMEM;
        h = calloc(1, sizeof(*h));
        if (!h || !(h->cmd = strdup(hc->cmd))) {
                free(h);
                return -ENOMEM;
        }
        h->m = m;
        snprintf(h->ctid, sizeof(h->ctid), "%s", ctid);
        snprintf(h->name, sizeof(h->name), "%s", name);
        h->interval = hc->interval;
        h->timeout = hc->timeout;
        h->retries = hc->retries ? hc->retries : 1;
        h->pidfd = -1;
        h->last_exit = -1;
        h->health = ND_TASK_STARTING;
        m->checks[m->n_checks++] = h;
        ev_timer_init(&h->tick, on_tick, 0, h->interval);
        ev_timer_start(m->loop, &h->tick);
        return 0;
}

static void health_free(nd_manager *m, struct nd_health *h) {
        ev_timer_stop(m->loop, &h->tick);
        if (h->pid > 0) {
                ev_io_stop(m->loop, &h->io);
                ev_timer_stop(m->loop, &h->deadline);
                (void) kill(-h->pid, SIGKILL);
                (void) waitpid(h->pid, NULL, 0);
        }
        if (h->pidfd >= 0)
                close(h->pidfd);
        free(h->cmd);
        free(h);
}

void nd_health_unwatch(nd_manager *m, const char *ctid) {
        size_t i;
        struct nd_health *h = find(m, ctid, &i);
        if (!h)
                return;
        memmove(m->checks + i, m->checks + i + 1, (m->n_checks - i - 1) * sizeof(*m->checks));
        m->n_checks--;
        health_free(m, h);
}

void nd_health_free_all(nd_manager *m) {
        for (size_t i = 0; i < m->n_checks; i++)
                health_free(m, m->checks[i]);
        free(m->checks);
        m->checks = NULL;
        m->n_checks = m->cap_checks = 0;
}

json_t *nd_health_status(nd_manager *m, const char *ctid) {
        struct nd_health *h = find(m, ctid, NULL);
        if (!h)
                return NULL;
        return json_pack("{s:s, s:I, s:I, s:I, s:i}", "Status", nd_task_health_to_string(h->health), "FailingStreak",
                         (json_int_t) h->streak, "Checks", (json_int_t) h->checks, "Failures",
                         (json_int_t) h->failures, "LastExitCode", h->last_exit);
}
