/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netctl's container commands other than run/create, exec and rootfs:
 * ps, start, stop, rm, inspect, logs, port and network connect/disconnect,
 * and the container lookup and log following that run and exec share.
 * logs reads the log file on this host directly, as root; everything else
 * goes through the daemon's API.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "json-util.h"
#include "macro.h"

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
}

json_t *ctl_container_get(const char *ref, long *status) {
        char path[512];
        json_t *reply = NULL;
        if (!segment_ok(ref)) {
                *status = 404;
                return json_pack("{s:s}", "message", "invalid container reference");
        }
        snprintf(path, sizeof(path), "/v1/containers/%s", ref);
        *status = call("GET", path, NULL, &reply);
        return reply;
}

const char *ctl_container_status(json_t *c) {
        const char *s = json_string_value(json_object_get(json_object_get(c, "State"), "Status"));
        return s ? s : "?";
}

/* Copy new bytes of @fd to stdout; returns bytes copied. */
static size_t pump(int fd) {
        char buf[65536];
        size_t total = 0;
        ssize_t k;
        while ((k = read(fd, buf, sizeof(buf))) > 0) {
                fwrite(buf, 1, (size_t) k, stdout);
                total += (size_t) k;
        }
        fflush(stdout);
        return total;
}

int ctl_log_follow(const char *id, const char *log_path, bool follow) {
        _cleanup_close_ int fd = -1;
        for (int i = 0; i < 100 && fd < 0; i++) {
                fd = open(log_path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 && (!follow || errno != ENOENT))
                        break;
                if (fd < 0)
                        sleep_ms(20);
        }
        if (fd < 0) {
                if (!follow)
                        return -1;
                fprintf(stderr, "netctl: cannot open log %s: %s\n", log_path, strerror(errno));
                return -1;
        }
        pump(fd);
        if (!follow)
                return -1;
        for (;;) {
                long st;
                _cleanup_json_ json_t *c = ctl_container_get(id, &st);
                if (st != 200) {
                        pump(fd);
                        return -1;
                }
                if (strcmp(ctl_container_status(c), "running") != 0) {
                        pump(fd);
                        return (int) json_integer_value(json_object_get(json_object_get(c, "State"), "ExitCode"));
                }
                if (pump(fd) == 0)
                        sleep_ms(50);
        }
}

/* ---- ps -------------------------------------------------------------------------- */

static const char ps_usage[] =
        "Usage: netctl ps [-a] [-q] [--format table|json]\n"
        "\n"
        "List running containers (-a: all).\n";

int ctl_ps(int argc, char **argv) {
        static const struct option opts[] = {
                { "all", no_argument, NULL, 'a' }, { "quiet", no_argument, NULL, 'q' },
                { "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, {},
        };
        bool all = false, quiet = false;
        const char *format = "table";
        _cleanup_json_ json_t *reply = NULL;
        json_t *c;
        size_t i;
        int o;

        while ((o = getopt_long(argc, argv, "+aqh", opts, NULL)) >= 0)
                switch (o) {
                case 'a': all = true; break;
                case 'q': quiet = true; break;
                case 'f': format = optarg; break;
                case 'h': fputs(ps_usage, stdout); return 0;
                default: fputs(ps_usage, stderr); return 2;
                }
        if (optind != argc || (strcmp(format, "table") && strcmp(format, "json"))) {
                fputs(ps_usage, stderr);
                return 2;
        }
        long st = call("GET", all ? "/v1/containers?all=1" : "/v1/containers", NULL, &reply);
        if (st != 200)
                return fail(st, reply, NULL);
        if (strcmp(format, "json") == 0) {
                print_json(reply);
                return 0;
        }
        if (!quiet)
                printf("%-12s  %-20s  %-12s  %-24s  %s\n", "CONTAINER ID", "NAME", "STATUS", "COMMAND", "NETWORKS");
        json_array_foreach(reply, i, c) {
                const char *id = json_string_value(json_object_get(c, "Id"));
                if (quiet) {
                        printf("%.12s\n", id);
                        continue;
                }
                char cmd[25] = "", status[32], nets[256] = "";
                size_t k;
                json_t *a;
                json_array_foreach(json_object_get(json_object_get(c, "Config"), "Cmd"), k, a) {
                        size_t u = strlen(cmd);
                        snprintf(cmd + u, sizeof(cmd) - u, "%s%s", k ? " " : "", json_string_value(a));
                }
                json_t *state = json_object_get(c, "State");
                if (strcmp(ctl_container_status(c), "exited") == 0)
                        snprintf(status, sizeof(status), "exited (%d)",
                                 (int) json_integer_value(json_object_get(state, "ExitCode")));
                else if (json_string_value(json_object_get(json_object_get(state, "Health"), "Status")))
                        /* a task under a health check, as docker ps shows it */
                        snprintf(status, sizeof(status), "%s (%s)", ctl_container_status(c),
                                 json_string_value(json_object_get(json_object_get(state, "Health"), "Status")));
                else
                        snprintf(status, sizeof(status), "%s", ctl_container_status(c));
                json_array_foreach(json_object_get(c, "Endpoints"), k, a) {
                        size_t u = strlen(nets);
                        snprintf(nets + u, sizeof(nets) - u, "%s%s:%s", k ? "," : "",
                                 json_string_value(json_object_get(a, "NetworkName")),
                                 json_string_value(json_object_get(a, "IPAddress")));
                }
                if (!*nets)
                        snprintf(nets, sizeof(nets), "%s",
                                 json_string_value(json_object_get(json_object_get(c, "Config"), "NetworkMode")));
                printf("%-12.12s  %-20s  %-12s  %-24s  %s\n", id, json_string_value(json_object_get(c, "Name")), status,
                       cmd, nets);
        }
        return 0;
}

static const char start_usage[] =
        "Usage: netctl start CONTAINER...\n"
        "\n"
        "Start created or stopped containers (in the background).\n";

int ctl_start(int argc, char **argv) {
        int usage_rc = ctl_usage(argc, argv, start_usage, 2);
        if (usage_rc >= 0)
                return usage_rc;
        return ctl_each(argv + 1, argc - 1, "POST", "/v1/containers/", "/start", "container");
}

/* ---- stop / rm / inspect ------------------------------------------------------------ */

static const char stop_usage[] =
        "Usage: netctl stop [-t SECONDS] CONTAINER...\n"
        "\n"
        "Stop containers: SIGTERM, then SIGKILL after SECONDS (default 10).\n";

int ctl_stop(int argc, char **argv) {
        static const struct option opts[] = {
                { "time", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' }, {},
        };
        const char *t = "10";
        int o;
        while ((o = getopt_long(argc, argv, "+t:h", opts, NULL)) >= 0)
                switch (o) {
                case 't': t = optarg; break;
                case 'h': fputs(stop_usage, stdout); return 0;
                default: fputs(stop_usage, stderr); return 2;
                }
        if (optind >= argc || strspn(t, "0123456789.") != strlen(t)) {
                fputs(stop_usage, stderr);
                return 2;
        }
        char suffix[64];
        snprintf(suffix, sizeof(suffix), "/stop?t=%s", t);
        return ctl_each(argv + optind, argc - optind, "POST", "/v1/containers/", suffix, "container");
}

static const char rm_usage[] =
        "Usage: netctl rm [-f] [--wait] CONTAINER...\n"
        "\n"
        "Remove containers, their network endpoints, addresses and files.\n"
        "netd answers once a container is gone from its view and the removal is\n"
        "recorded; its interfaces, namespace, cgroups and files go right after,\n"
        "and until then its name and addresses stay held (a run that asks for\n"
        "one waits).  Several containers are removed side by side; one that netd\n"
        "finds busy (a namespace's owner while a container sharing it with\n"
        "--network container:NAME still runs) is tried again after the others.\n"
        "-f, --force: kill a running container first.\n"
        "    --wait:  answer only once the interfaces, namespace and files are\n"
        "             gone too.\n";

/* Requests in flight at once: netd removes them side by side (kills,
 * store writes and link deletes batch); it takes 32 connections from
 * one client. */
#define RM_PARALLEL 16
#define RM_PENDING (-2L)

struct rm_job {
        const char *ref;
        int wave;       /* 1: tried again after the others */
        long status;    /* HTTP status, 0: not a reference, -1: no reply, RM_PENDING */
        json_t *reply;
};

struct rm_run {
        struct rm_job *jobs;
        int n, next, printed, wave, rc;
        const char *suffix;
        bool no_daemon; /* the rest would fail alike */
        pthread_mutex_t lock;
};

/* Print the results of the jobs done, in the order given, as far as the
 * first one still pending.  Under the lock. */
static void rm_print_done(struct rm_run *run) {
        for (; run->printed < run->n && run->jobs[run->printed].status != RM_PENDING; run->printed++) {
                struct rm_job *j = &run->jobs[run->printed];
                if (j->status >= 200 && j->status < 300)
                        printf("%s\n", j->ref);
                else if (j->status == 0) {
                        fprintf(stderr, "netctl: no such container: '%s'\n", j->ref);
                        run->rc = 1;
                } else
                        run->rc = fail(j->status, j->reply, NULL);
                fflush(stdout);
        }
}

static void *rm_worker(void *arg) {
        struct rm_run *run = arg;
        for (;;) {
                pthread_mutex_lock(&run->lock);
                while (run->next < run->n && run->jobs[run->next].wave != run->wave)
                        run->next++;
                if (run->next >= run->n || run->no_daemon) {
                        pthread_mutex_unlock(&run->lock);
                        return NULL;
                }
                struct rm_job *j = &run->jobs[run->next++];
                pthread_mutex_unlock(&run->lock);

                char path[512];
                json_t *reply = NULL;
                long st = 0;
                if (segment_ok(j->ref)) {
                        snprintf(path, sizeof(path), "/v1/containers/%s%s", j->ref, run->suffix);
                        st = call("DELETE", path, NULL, &reply);
                }
                pthread_mutex_lock(&run->lock);
                if (st == 409 && run->wave == 0 && run->n > 1) {
                        /* busy: netd refuses a namespace's owner while a
                         * container sharing it (--network container:NAME)
                         * runs, and that one may be among the others */
                        j->wave = 1;
                        json_decref(reply);
                } else {
                        j->status = st;
                        j->reply = reply;
                        run->no_daemon |= st < 0;
                        rm_print_done(run);
                }
                pthread_mutex_unlock(&run->lock);
        }
}

/* Every reference with up to RM_PARALLEL requests at a time; a 409 once
 * more after all the others were answered.  Output in the order given. */
static int rm_all(char **refs, int n, const char *suffix) {
        _cleanup_free_ struct rm_job *jobs = calloc((size_t) n, sizeof(*jobs));
        struct rm_run run = { .n = n, .suffix = suffix };
        pthread_t threads[RM_PARALLEL];

        if (!jobs) {
                fprintf(stderr, "netctl: out of memory\n");
                return 1;
        }
        for (int i = 0; i < n; i++)
                jobs[i] = (struct rm_job) { .ref = refs[i], .status = RM_PENDING };
        run.jobs = jobs;
        pthread_mutex_init(&run.lock, NULL);
        for (run.wave = 0; run.wave < 2 && !run.no_daemon; run.wave++) {
                int k = 0;
                run.next = 0;
                /* the calling thread is a worker too: one request needs no
                 * thread, and a thread that cannot start leaves fewer */
                for (; k < RM_PARALLEL - 1 && k < n - 1; k++)
                        if (pthread_create(&threads[k], NULL, rm_worker, &run) != 0)
                                break;
                rm_worker(&run);
                while (k > 0)
                        pthread_join(threads[--k], NULL);
        }
        pthread_mutex_destroy(&run.lock);
        for (int i = 0; i < n; i++)
                json_decref(jobs[i].reply);
        return run.no_daemon ? 1 : run.rc;
}

int ctl_rm(int argc, char **argv) {
        static const struct option opts[] = {
                { "force", no_argument, NULL, 'f' }, { "wait", no_argument, NULL, 'w' },
                { "help", no_argument, NULL, 'h' }, {},
        };
        bool force = false, wait = false;
        int o;
        while ((o = getopt_long(argc, argv, "+fh", opts, NULL)) >= 0)
                switch (o) {
                case 'f': force = true; break;
                case 'w': wait = true; break;
                case 'h': fputs(rm_usage, stdout); return 0;
                default: fputs(rm_usage, stderr); return 2;
                }
        if (optind >= argc) {
                fputs(rm_usage, stderr);
                return 2;
        }
        const char *suffix = force && wait ? "?force=1&wait=1" : force ? "?force=1" : wait ? "?wait=1" : "";
        return rm_all(argv + optind, argc - optind, suffix);
}

static const char inspect_usage[] =
        "Usage: netctl inspect CONTAINER...\n"
        "\n"
        "Show containers as a JSON array.\n";

int ctl_inspect(int argc, char **argv) {
        _cleanup_json_ json_t *out = json_array();
        int rc = 0;
        int usage_rc = ctl_usage(argc, argv, inspect_usage, 2);
        if (usage_rc >= 0)
                return usage_rc;
        for (int i = 1; i < argc; i++) {
                long st;
                json_t *c = ctl_container_get(argv[i], &st);
                if (st == 200)
                        json_array_append(out, c);
                else
                        rc = fail(st, c, NULL);
                json_decref(c);
                if (st < 0)
                        return 1;
        }
        print_json(out);
        return rc;
}

/* ---- logs ---------------------------------------------------------------------------- */

static const char logs_usage[] =
        "Usage: netctl logs [-f] CONTAINER\n"
        "\n"
        "Print a container's output (stdout and stderr); -f follows it while the\n"
        "container runs.  Reads the log file on this host (root).\n";

int ctl_logs(int argc, char **argv) {
        static const struct option opts[] = {
                { "follow", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, {},
        };
        bool follow = false;
        int o;
        while ((o = getopt_long(argc, argv, "+fh", opts, NULL)) >= 0)
                switch (o) {
                case 'f': follow = true; break;
                case 'h': fputs(logs_usage, stdout); return 0;
                default: fputs(logs_usage, stderr); return 2;
                }
        if (optind + 1 != argc) {
                fputs(logs_usage, stderr);
                return 2;
        }
        long st;
        _cleanup_json_ json_t *c = ctl_container_get(argv[optind], &st);
        if (st != 200)
                return fail(st, c, NULL);
        char id[80];
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(c, "Id")));
        ctl_log_follow(id, json_string_value(json_object_get(c, "LogPath")), follow);
        return 0;
}

/* ---- network connect / disconnect --------------------------------------------------- */

static const char connect_usage[] =
        "Usage: netctl network connect [--ip IP] [--ip6 IP] [--alias NAME]... [--gw-priority N] NETWORK CONTAINER\n"
        "\n"
        "Attach a running container to a network (a new ethN interface).  With a\n"
        "--gw-priority higher than that of the network holding the default route,\n"
        "the default route moves to this one.\n";

int ctl_network_connect(int argc, char **argv) {
        static const struct option opts[] = {
                { "ip", required_argument, NULL, '4' }, { "ip6", required_argument, NULL, '6' },
                { "alias", required_argument, NULL, 'a' }, { "gw-priority", required_argument, NULL, 'G' },
                { "help", no_argument, NULL, 'h' }, {},
        };
        long long prio;
        _cleanup_json_ json_t *req = json_object(), *aliases = json_array(), *reply = NULL;
        char path[512];
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0)
                switch (o) {
                case '4': json_object_set_new(req, "IPv4Address", json_string(optarg)); break;
                case '6': json_object_set_new(req, "IPv6Address", json_string(optarg)); break;
                case 'a': json_array_append_new(aliases, json_string(optarg)); break;
                case 'G':
                        if (ctl_gw_priority_parse(optarg, &prio) < 0)
                                return 2;
                        json_object_set_new(req, "GwPriority", json_integer(prio));
                        break;
                case 'h': fputs(connect_usage, stdout); return 0;
                default: fputs(connect_usage, stderr); return 2;
                }
        if (optind + 2 != argc || !segment_ok(argv[optind])) {
                fputs(connect_usage, stderr);
                return 2;
        }
        json_object_set(req, "Aliases", aliases);
        json_object_set_new(req, "Container", json_string(argv[optind + 1]));
        snprintf(path, sizeof(path), "/v1/networks/%s/connect", argv[optind]);
        long st = call("POST", path, req, &reply);
        return st == 204 ? 0 : fail(st, reply, NULL);
}

static const char disconnect_usage[] =
        "Usage: netctl network disconnect NETWORK CONTAINER\n"
        "\n"
        "Detach a container from a network; its other interfaces are untouched.\n";

int ctl_network_disconnect(int argc, char **argv) {
        _cleanup_json_ json_t *reply = NULL;
        char path[512];
        if (wants_help(argc, argv)) {
                fputs(disconnect_usage, stdout);
                return 0;
        }
        if (argc != 3 || !segment_ok(argv[1])) {
                fputs(disconnect_usage, stderr);
                return 2;
        }
        snprintf(path, sizeof(path), "/v1/networks/%s/disconnect", argv[1]);
        _cleanup_json_ json_t *req = json_pack("{s:s}", "Container", argv[2]);
        long st = call("POST", path, req, &reply);
        return st == 204 ? 0 : fail(st, reply, NULL);
}

/* ---- port ------------------------------------------------------------------ */

static const char port_usage[] =
        "Usage: netctl port CONTAINER [PORT[/PROTO]]\n"
        "\n"
        "List a running container's published ports (CTRPORT/PROTO -> HOSTIP:HOSTPORT),\n"
        "or the host side of one of them.  A port published on every address shows\n"
        "0.0.0.0, and [::] too when the container has an IPv6 address.\n";

int ctl_port(int argc, char **argv) {
        _cleanup_json_ json_t *reply = NULL;
        char path[256];
        unsigned want = 0;
        char want_proto[8] = "";
        json_t *b;
        size_t i;
        int shown = 0;

        if (wants_help(argc, argv)) {
                fputs(port_usage, stdout);
                return 0;
        }
        if (argc < 2 || argc > 3) {
                fputs(port_usage, stderr);
                return 2;
        }
        if (argc == 3 && sscanf(argv[2], "%u/%7s", &want, want_proto) < 1) {
                fprintf(stderr, "netctl: invalid port '%s'\n", argv[2]);
                return 2;
        }
        if (!segment_ok(argv[1])) {
                fprintf(stderr, "netctl: invalid container name '%s'\n", argv[1]);
                return 2;
        }
        snprintf(path, sizeof(path), "/v1/containers/%s", argv[1]);
        long st = call("GET", path, NULL, &reply);
        if (st != 200)
                return fail(st, reply, argv[1]);
        bool has6 = false;
        json_array_foreach(json_object_get(reply, "Endpoints"), i, b) {
                const char *a6 = json_string_value(json_object_get(b, "GlobalIPv6Address"));
                has6 |= a6 && *a6;
        }
        json_array_foreach(json_object_get(reply, "PortBindings"), i, b) {
                const char *proto = json_string_value(json_object_get(b, "Proto"));
                const char *ip = json_string_value(json_object_get(b, "HostIp"));
                json_int_t cp = json_integer_value(json_object_get(b, "ContainerPort"));
                json_int_t hp = json_integer_value(json_object_get(b, "HostPort"));
                if (want && (cp != want || (*want_proto && strcmp(want_proto, proto) != 0)))
                        continue;
                /* no host address: 0.0.0.0, and [::] too where the
                 * container has IPv6 to DNAT to (docs/docker.md) */
                for (int k = 0; k < (ip && *ip ? 1 : has6 ? 2 : 1); k++) {
                        const char *a = ip && *ip ? ip : k == 0 ? "0.0.0.0" : "::";
                        bool v6 = strchr(a, ':');
                        if (want)
                                printf("%s%s%s:%lld\n", v6 ? "[" : "", a, v6 ? "]" : "", (long long) hp);
                        else
                                printf("%lld/%s -> %s%s%s:%lld\n", (long long) cp, proto, v6 ? "[" : "", a,
                                       v6 ? "]" : "", (long long) hp);
                }
                shown++;
        }
        if (want && !shown) {
                fprintf(stderr, "netctl: no public port '%s' published for %s\n", argv[2], argv[1]);
                return 1;
        }
        return 0;
}
