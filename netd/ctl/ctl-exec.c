/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netctl exec: a command run inside a running container, on this host
 * directly (as root, the way nsenter does): the container's cgroups and
 * namespaces entered, its environment passed, and its hardening
 * (capabilities, no_new_privs, seccomp) applied through runtime/sandbox.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "json-util.h"
#include "macro.h"
#include "caps.h"
#include "sandbox.h"
#include "seccomp-profile.h"

static const char exec_usage[] =
        "Usage: netctl exec [-i] [-e KEY=VALUE]... CONTAINER CMD [ARG...]\n"
        "\n"
        "Run a command inside a running container (its namespaces and cgroups),\n"
        "with its environment.  -i keeps stdin attached.  Exits with the\n"
        "command's exit code.\n";

static void join_cgroups(const char *id) {
        static const char *const files[] = { "/sys/fs/cgroup/netd/%s/cgroup.procs",
                                             "/sys/fs/cgroup/memory/netd/%s/cgroup.procs",
                                             "/sys/fs/cgroup/pids/netd/%s/cgroup.procs",
                                             "/sys/fs/cgroup/devices/netd/%s/cgroup.procs",
                                             "/sys/fs/cgroup/unified/netd/%s/cgroup.procs" };
        char path[PATH_MAX], pid[32];
        snprintf(pid, sizeof(pid), "%d", getpid());
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof(path), files[i], id);
                int fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        ssize_t k = write(fd, pid, strlen(pid));
                        (void) k;
                        close(fd);
                }
        }
}

/* What exec starts in a container gets the container's own limits, as
 * the monitor applies them at start (runtime/sandbox.h): its capability
 * set, no_new_privs and seccomp filter, in the monitor's order.  Docker's
 * exec does the same.  A record without them (an older netd's) is left
 * as it was.  0, or -1 with a message. */
static int confine(const json_t *c) {
        const json_t *hc = json_object_get(c, "HostConfig"), *names = json_object_get(hc, "Capabilities"), *v;
        char err[256] = "";
        uint64_t caps = 0;
        size_t i;
        nd_sc_profile *p = NULL;
        int r = 0;

        if (!json_is_array(names) || json_is_true(json_object_get(hc, "Privileged")))
                return 0;
        json_array_foreach(names, i, v) {
                char norm[ND_CAP_NAME_MAX];
                int k = nd_cap_normalize(json_string_value(v), norm, NULL);
                if (k < 0 || k >= 64) {
                        fprintf(stderr, "netctl: the container lists an unknown capability '%s'\n",
                                json_string_value(v) ? json_string_value(v) : "");
                        return -1;
                }
                caps |= 1ull << k;
        }
        bool nnp = json_is_true(json_object_get(hc, "NoNewPrivileges"));
        const char *mode = json_string_value(json_object_get(hc, "Seccomp"));
        if (mode && strcmp(mode, "custom") == 0) {
                json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
                        const char *o = json_string_value(v);
                        if (o && strncmp(o, "seccomp=", 8) == 0 && nd_sc_profile_parse(o + 8, strlen(o + 8), &p, NULL) < 0) {
                                fprintf(stderr, "netctl: the container's seccomp profile does not parse\n");
                                return -1;
                        }
                }
        } else if (!mode || strcmp(mode, "unconfined") != 0)
                (void) nd_sc_profile_default(&p);
        if (p && !nnp)
                r = nd_sandbox_seccomp_load(p, caps, false, err, sizeof(err));
        if (r == 0)
                r = nd_sandbox_caps_apply(caps, err, sizeof(err));
        if (r == 0 && nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                r = -errno;
                snprintf(err, sizeof(err), "no_new_privs: %s", strerror(errno));
        }
        if (r == 0 && p && nnp)
                r = nd_sandbox_seccomp_load(p, caps, true, err, sizeof(err));
        nd_sc_profile_free(p);
        if (r < 0)
                fprintf(stderr, "netctl: confining the command as the container: %s\n", err);
        return r < 0 ? -1 : 0;
}

int ctl_exec(int argc, char **argv) {
        static const struct option opts[] = {
                { "interactive", no_argument, NULL, 'i' }, { "env", required_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' }, {},
        };
        static const char *const nss[] = { "ipc", "uts", "net", "pid", "mnt" };
        static const int types[] = { CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWNS };
        const char *extra[CTL_MAX_LIST];
        size_t n_extra = 0;
        bool interactive = false;
        int o, fds[5];

        while ((o = getopt_long(argc, argv, "+ie:h", opts, NULL)) >= 0)
                switch (o) {
                case 'i': interactive = true; break;
                case 'e':
                        if (n_extra < CTL_MAX_LIST && strchr(optarg, '='))
                                extra[n_extra++] = optarg;
                        break;
                case 'h': fputs(exec_usage, stdout); return 0;
                default: fputs(exec_usage, stderr); return 2;
                }
        if (optind + 2 > argc) {
                fputs(exec_usage, stderr);
                return 2;
        }
        long st;
        _cleanup_json_ json_t *c = ctl_container_get(argv[optind], &st);
        if (st != 200)
                return fail(st, c, NULL);
        if (strcmp(ctl_container_status(c), "running") != 0) {
                fprintf(stderr, "netctl: container '%s' is not running\n", argv[optind]);
                return 1;
        }
        pid_t pid = (pid_t) json_integer_value(json_object_get(json_object_get(c, "State"), "Pid"));
        const char *id = json_string_value(json_object_get(c, "Id"));
        /* open every namespace before entering any: /proc of the host is
         * not visible any more once we are in the container's mount ns */
        for (size_t i = 0; i < ELEMENTSOF(nss); i++) {
                char p[64];
                snprintf(p, sizeof(p), "/proc/%d/ns/%s", pid, nss[i]);
                fds[i] = open(p, O_RDONLY | O_CLOEXEC);
                if (fds[i] < 0) {
                        fprintf(stderr, "netctl: cannot open %s: %s\n", p, strerror(errno));
                        return 1;
                }
        }
        json_t *env = json_object_get(json_object_get(c, "Config"), "Env"), *e;
        size_t n_env = json_array_size(env), i;
        char **envp = calloc(n_env + n_extra + 1, sizeof(char *));
        json_array_foreach(env, i, e)
                envp[i] = (char *) json_string_value(e);
        for (size_t k = 0; k < n_extra; k++)
                envp[n_env + k] = (char *) extra[k];
        /* netctl itself never changes namespaces (its exit path -- and
         * LeakSanitizer's -- still sees the host's /proc): a child enters
         * them and forks once more, since a pid namespace applies to the
         * children of whoever entered it. */
        pid_t child = fork();
        if (child < 0) {
                perror("netctl: fork");
                return 1;
        }
        if (child == 0) {
                join_cgroups(id);
                for (size_t k = 0; k < ELEMENTSOF(nss); k++)
                        if (setns(fds[k], types[k]) < 0) {
                                fprintf(stderr, "netctl: entering the %s namespace: %s\n", nss[k], strerror(errno));
                                _exit(126);
                        }
                pid_t inner = fork();
                if (inner < 0)
                        _exit(126);
                if (inner == 0) {
                        if (chdir("/") < 0)
                                _exit(126);
                        if (!interactive) {
                                int nul = open("/dev/null", O_RDONLY);
                                if (nul >= 0)
                                        dup2(nul, 0);
                        }
                        /* PATH for the lookup comes from the container's env */
                        for (char **p = envp; *p; p++)
                                if (strncmp(*p, "PATH=", 5) == 0)
                                        setenv("PATH", *p + 5, 1);
                        if (confine(c) < 0)
                                _exit(126);
                        execvpe(argv[optind + 1], argv + optind + 1, envp);
                        fprintf(stderr, "netctl: exec '%s' in the container: %s\n", argv[optind + 1], strerror(errno));
                        _exit(errno == ENOENT ? 127 : 126);
                }
                int ist;
                signal(SIGINT, SIG_IGN);
                while (waitpid(inner, &ist, 0) < 0 && errno == EINTR)
                        ;
                _exit(WIFEXITED(ist) ? WEXITSTATUS(ist) : 128 + WTERMSIG(ist));
        }
        for (size_t k = 0; k < ELEMENTSOF(nss); k++)
                close(fds[k]);
        int status;
        signal(SIGINT, SIG_IGN);
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        free(envp);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
