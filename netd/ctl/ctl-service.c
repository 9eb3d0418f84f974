/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netctl service create, ls, inspect, ps, scale, update, rollback, logs
 * and rm: flags into the daemon's service requests (POST /v1/services and
 * its actions, docs/api.md "Services"), and its service and task objects
 * into tables or JSON.  The daemon validates every value; here only what
 * the flags themselves need (numbers, KEY=VALUE, durations).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <time.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-table.h"
#include "ctl.h"
#include "json-util.h"
#include "macro.h"

/* ---- create ------------------------------------------------------------------------ */

static const char create_usage[] =
        "Usage: netctl service create --name NAME --network NET [OPTIONS] [CMD [ARG...]]\n"
        "\n"
        "Create a service: a name and a virtual IP on each of its networks, in\n"
        "front of its tasks.  Its DNS names are NAME and tasks.NAME.  With a\n"
        "command, netd runs the tasks itself: containers NAME.1 ... NAME.N\n"
        "(global mode: NAME.HOST), restarted when they exit and replaced a few\n"
        "at a time when the service is updated.  Without one, the tasks are the\n"
        "containers started with 'netctl run --service NAME'.  Prints its id.\n"
        "\n"
        "Options:\n"
        "      --name NAME             service name, a DNS label (required)\n"
        "      --network NET           a network of the service (repeatable, 1 to 16)\n"
        "      --endpoint-mode MODE    vip (default: NAME is a virtual IP balanced over\n"
        "                              the tasks) or dnsrr (NAME lists the tasks' addresses)\n"
        "  -p, --publish SPEC          publish a port (repeatable):\n"
        "                              [mode=ingress|host,]PUBLISHED:TARGET[/tcp|udp];\n"
        "                              ingress (default): on every host, to any task;\n"
        "                              host: on the hosts running a task, to that task\n"
        "      --health-cmd CMD        health check, run with sh -c in each task\n"
        "      --health-interval TIME  between checks (default 30s)\n"
        "      --health-timeout TIME   for one check (default 30s)\n"
        "      --health-retries N      failures in a row before unhealthy (default 3)\n"
        "      --label KEY=VALUE       label (repeatable)\n"
        "  -h, --help                  this help\n"
        "With a command (tasks run by netd):\n"
        "      --replicas N            number of tasks (default 1)\n"
        "      --mode MODE             replicated (default) or global (one task per host)\n"
        "      --rootfs DIR            root filesystem of the tasks (default: the daemon's)\n"
        "  -e, --env KEY=VALUE         environment variable (repeatable)\n"
        "  -m, --memory BYTES          memory limit per task (suffixes k, m, g)\n"
        "      --pids-limit N          maximum number of processes per task\n"
        "      --restart-condition C   any (default), on-failure or none\n"
        "      --update-parallelism N  tasks replaced at a time by an update (default 1)\n"
        "      --update-delay TIME     between the batches of an update (default 0)\n"
        "      --stop-grace-period TIME  from SIGTERM to SIGKILL when a task stops (default 10s)\n"
        "\n"
        "TIME is seconds (2, 0.5) or a number with a unit: 500ms, 30s, 2m, 1h.\n";

/* A --health-* duration in seconds: a number with ms, s, m, h or no unit
 * (seconds).  The daemon checks the range. */
static int seconds_parse(const char *s, double *ret) {
        static const struct { const char *unit; double mul; } units[] = {
                { "", 1 }, { "s", 1 }, { "ms", 0.001 }, { "m", 60 }, { "h", 3600 },
        };
        char *end;
        double v;

        if (!*s || !((*s >= '0' && *s <= '9') || *s == '.'))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || !isfinite(v))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(end, units[i].unit) == 0) {
                        *ret = v * units[i].mul;
                        return 0;
                }
        return -EINVAL;
}

static int label_add(json_t *labels, const char *kv) {
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
                fprintf(stderr, "netctl: --label '%s': want KEY=VALUE\n", kv);
                return -EINVAL;
        }
        _cleanup_free_ char *k = strndup(kv, (size_t) (eq - kv));
        if (!k || json_object_set_new(labels, k, json_string(eq + 1)) < 0)
                return -ENOMEM;
        return 0;
}

/* -e KEY=VALUE, or -e KEY for the caller's value (as docker run). */
static int env_add(json_t *env, const char *opt, const char *kv) {
        if (!strchr(kv, '=')) {
                const char *v = getenv(kv);
                char *e = NULL;
                if (!*kv || !v) {
                        fprintf(stderr, "netctl: %s '%s': want KEY=VALUE\n", opt, kv);
                        return -EINVAL;
                }
                if (asprintf(&e, "%s=%s", kv, v) < 0)
                        return -ENOMEM;
                json_array_append_new(env, json_string(e));
                free(e);
                return 0;
        }
        json_array_append_new(env, json_string(kv));
        return 0;
}

/* An integer flag; the daemon checks the range (its message names it). */
static int int_flag(const char *opt, const char *s, long long *ret) {
        char *end;
        errno = 0;
        *ret = strtoll(s, &end, 10);
        if (!*s || *end || errno) {
                fprintf(stderr, "netctl: invalid %s '%s': want an integer\n", opt, s);
                return -EINVAL;
        }
        return 0;
}

static int time_flag(const char *opt, const char *s, double *ret) {
        if (seconds_parse(s, ret) < 0) {
                fprintf(stderr, "netctl: invalid %s '%s': want seconds, or a number with a unit (500ms, 30s, 2m, "
                        "1h)\n", opt, s);
                return -EINVAL;
        }
        return 0;
}

/* The flags of the task template and its policies, shared by create and
 * update: fill @tpl (the Task object or the update body), @policy (the
 * request), @update ("Update").  1: taken, 0: not one of them, <0: bad. */
static int task_flag(int c, json_t *tpl, json_t *policy, json_t *update, const char *env_key) {
        long long n;
        double t;
        char abs[PATH_MAX];

        switch (c) {
        case 'R':
                if (int_flag("--replicas", optarg, &n) < 0)
                        return -EINVAL;
                json_object_set_new(policy, "Replicas", json_integer(n));
                return 1;
        case 'f':
                json_object_set_new(tpl, "Rootfs", json_string(realpath(optarg, abs) ? abs : optarg));
                return 1;
        case 'e':
                return env_add(json_object_get(tpl, env_key), strcmp(env_key, "EnvAdd") == 0 ? "--env-add" : "--env",
                               optarg) < 0 ? -EINVAL : 1;
        case 'm':
                if (ctl_bytes_parse(optarg, &n) < 0) {
                        fprintf(stderr, "netctl: invalid --memory '%s'\n", optarg);
                        return -EINVAL;
                }
                json_object_set_new(tpl, "Memory", json_integer(n));
                return 1;
        case 'P':
                if (int_flag("--pids-limit", optarg, &n) < 0)
                        return -EINVAL;
                json_object_set_new(tpl, "PidsLimit", json_integer(n));
                return 1;
        case 'G':
                if (time_flag("--stop-grace-period", optarg, &t) < 0)
                        return -EINVAL;
                json_object_set_new(tpl, "StopGracePeriod", json_real(t));
                return 1;
        case 'C':
                json_object_set_new(policy, "RestartCondition", json_string(optarg));
                return 1;
        case 'U':
                if (int_flag("--update-parallelism", optarg, &n) < 0)
                        return -EINVAL;
                json_object_set_new(update, "Parallelism", json_integer(n));
                return 1;
        case 'D':
                if (time_flag("--update-delay", optarg, &t) < 0)
                        return -EINVAL;
                json_object_set_new(update, "Delay", json_real(t));
                return 1;
        default:
                return 0;
        }
}

#define TASK_OPTIONS                                                                                              \
        { "replicas", required_argument, NULL, 'R' }, { "rootfs", required_argument, NULL, 'f' },                 \
        { "memory", required_argument, NULL, 'm' }, { "pids-limit", required_argument, NULL, 'P' },               \
        { "stop-grace-period", required_argument, NULL, 'G' },                                                     \
        { "restart-condition", required_argument, NULL, 'C' },                                                     \
        { "update-parallelism", required_argument, NULL, 'U' }, { "update-delay", required_argument, NULL, 'D' }

static int service_create(int argc, char **argv) {
        static const struct option opts[] = {
                { "name", required_argument, NULL, 'n' },          { "network", required_argument, NULL, 'N' },
                { "endpoint-mode", required_argument, NULL, 'E' }, { "publish", required_argument, NULL, 'p' },
                { "health-cmd", required_argument, NULL, 'c' },    { "health-interval", required_argument, NULL, 'i' },
                { "health-timeout", required_argument, NULL, 't' }, { "health-retries", required_argument, NULL, 'r' },
                { "label", required_argument, NULL, 'l' },         { "help", no_argument, NULL, 'h' },
                { "mode", required_argument, NULL, 'M' },          { "env", required_argument, NULL, 'e' },
                TASK_OPTIONS,
                {},
        };
        _cleanup_json_ json_t *nets = json_array(), *ports = json_array(), *labels = json_object(),
                              *health = json_object(), *req = NULL, *reply = NULL,
                              *tpl = json_pack("{s:[]}", "Env"), *policy = json_object(), *update = json_object();
        const char *name = NULL, *mode = NULL, *cmd = NULL, *sched = NULL;
        int c, k;

        if (!nets || !ports || !labels || !health || !tpl || !policy || !update)
                return 1;
        while ((c = getopt_long(argc, argv, "+p:e:m:h", opts, NULL)) >= 0) {
                if ((k = task_flag(c, tpl, policy, update, "Env")) != 0) {
                        if (k < 0)
                                return 2;
                        continue;
                }
                switch (c) {
                case 'n': name = optarg; break;
                case 'N':
                        if (json_array_size(nets) == CTL_MAX_LIST) {
                                fprintf(stderr, "netctl: too many --network (at most %d)\n", CTL_MAX_LIST);
                                return 2;
                        }
                        json_array_append_new(nets, json_string(optarg));
                        break;
                case 'E': mode = optarg; break;
                case 'p': json_array_append_new(ports, json_string(optarg)); break;
                case 'c': cmd = optarg; break;
                case 'i':
                case 't': {
                        const char *key = c == 'i' ? "Interval" : "Timeout";
                        double v;
                        if (seconds_parse(optarg, &v) < 0) {
                                fprintf(stderr, "netctl: invalid --health-%s '%s': want seconds, or a number with "
                                        "a unit (500ms, 30s, 2m, 1h)\n", c == 'i' ? "interval" : "timeout", optarg);
                                return 2;
                        }
                        json_object_set_new(health, key, json_real(v));
                        break;
                }
                case 'r': {
                        char *end;
                        errno = 0;
                        long long v = strtoll(optarg, &end, 10);
                        if (!*optarg || *end || errno) {
                                fprintf(stderr, "netctl: invalid --health-retries '%s': want an integer\n", optarg);
                                return 2;
                        }
                        json_object_set_new(health, "Retries", json_integer(v));
                        break;
                }
                case 'l':
                        if (label_add(labels, optarg) < 0)
                                return 2;
                        break;
                case 'M': sched = optarg; break;
                case 'h': fputs(create_usage, stdout); return 0;
                default: fputs(create_usage, stderr); return 2;
                }
        }
        if (optind == argc && (sched || json_object_size(policy) || json_object_size(update) ||
                               json_object_size(tpl) > 1 || json_array_size(json_object_get(tpl, "Env")))) {
                fprintf(stderr, "netctl: --replicas, --mode, --rootfs, --env, --memory, --pids-limit, "
                        "--stop-grace-period, --restart-condition and --update-* need a command (CMD [ARG...] after "
                        "the options): without one the service runs no tasks of its own\n");
                return 2;
        }
        if (!name || json_array_size(nets) == 0) {
                fprintf(stderr, "netctl: service create needs --name and at least one --network\n%s", create_usage);
                return 2;
        }
        if (!cmd && json_object_size(health)) {
                fprintf(stderr, "netctl: --health-interval, --health-timeout and --health-retries need --health-cmd\n");
                return 2;
        }
        req = json_pack("{s:s, s:O, s:O, s:O}", "Name", name, "Networks", nets, "Ports", ports, "Labels", labels);
        if (!req)
                return 1;
        if (mode)
                json_object_set_new(req, "EndpointMode", json_string(mode));
        if (cmd) {
                json_object_set_new(health, "Test", json_string(cmd));
                json_object_set(req, "HealthCheck", health);
        }
        if (optind < argc) {
                json_t *args = json_array();
                for (int i = optind; args && i < argc; i++)
                        json_array_append_new(args, json_string(argv[i]));
                if (!args || json_object_set_new(tpl, "Args", args) < 0 || json_object_set(req, "Task", tpl) < 0 ||
                    json_object_update(req, policy) < 0)
                        return 1;
                if (sched)
                        json_object_set_new(req, "Mode", json_string(sched));
                if (json_object_size(update))
                        json_object_set(req, "Update", update);
        }
        long st = call("POST", "/v1/services", req, &reply);
        if (st != 201)
                return fail(st, reply, NULL);
        const char *id = json_string_value(json_object_get(reply, "Id"));
        if (!id)
                return fail(st, NULL, NULL);
        printf("%s\n", id);
        return 0;
}

/* ---- ls / inspect / rm ------------------------------------------------------------- */

static const char ls_usage[] =
        "Usage: netctl service ls [--format table|json] [-q]\n"
        "\n"
        "List services: name, short id, endpoint mode, networks, virtual IPs,\n"
        "published ports (*:8080->80/tcp through the routing mesh, host:53->53/udp\n"
        "on the hosts of the tasks) and tasks (READY/TOTAL: ready is healthy, or\n"
        "running without a health check).  -q: only ids.\n";

static int service_ls(int argc, char **argv) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },         {},
        };
        _cleanup_json_ json_t *reply = NULL;
        _cleanup_free_ char *table = NULL;
        const char *format = "table";
        bool quiet = false;
        int o;

        while ((o = getopt_long(argc, argv, "+qh", opts, NULL)) >= 0)
                switch (o) {
                case 'f': format = optarg; break;
                case 'q': quiet = true; break;
                case 'h': fputs(ls_usage, stdout); return 0;
                default: fputs(ls_usage, stderr); return 2;
                }
        if (optind != argc || (strcmp(format, "table") && strcmp(format, "json"))) {
                fputs(ls_usage, stderr);
                return 2;
        }
        long st = call("GET", "/v1/services", NULL, &reply);
        if (st != 200 || !json_is_array(reply))
                return fail(st, reply, NULL);
        if (strcmp(format, "json") == 0) {
                print_json(reply);
                return 0;
        }
        if (quiet) {
                size_t i;
                json_t *s;
                json_array_foreach(reply, i, s) {
                        const char *id = json_string_value(json_object_get(s, "Id"));
                        if (id)
                                printf("%s\n", id);
                }
                return 0;
        }
        if (nd_table_services(reply, &table) < 0) {
                fprintf(stderr, "netctl: out of memory\n");
                return 1;
        }
        fputs(table, stdout);
        return 0;
}

static const char inspect_usage[] =
        "Usage: netctl service inspect SERVICE...\n"
        "\n"
        "Show services (by name, id or unique id prefix) as a JSON array: the\n"
        "record, its VirtualIPs and its Tasks with their health.\n";

static int service_inspect(int argc, char **argv) {
        _cleanup_json_ json_t *out = json_array();
        int rc = 0;

        int usage_rc = ctl_usage(argc, argv, inspect_usage, 2);
        if (usage_rc >= 0)
                return usage_rc;
        for (int i = 1; i < argc; i++) {
                _cleanup_json_ json_t *reply = NULL;
                char path[512];
                if (!segment_ok(argv[i])) {
                        fprintf(stderr, "netctl: no such service: '%s'\n", argv[i]);
                        rc = 1;
                        continue;
                }
                snprintf(path, sizeof(path), "/v1/services/%s", argv[i]);
                long st = call("GET", path, NULL, &reply);
                if (st == 200)
                        json_array_append(out, reply);
                else {
                        rc = fail(st, reply, NULL);
                        if (st < 0)
                                return 1; /* no daemon: the rest would fail alike */
                }
        }
        print_json(out);
        return rc;
}

static const char rm_usage[] =
        "Usage: netctl service rm SERVICE...\n"
        "\n"
        "Remove services (by name, id or unique id prefix): their virtual IPs,\n"
        "names and published ports.  The tasks netd runs for a service (one\n"
        "created with a command) are removed first; containers started with\n"
        "'netctl run --service' are not netd's to remove and stay.\n";

static int service_rm(int argc, char **argv) {
        int usage_rc = ctl_usage(argc, argv, rm_usage, 2);
        if (usage_rc >= 0)
                return usage_rc;
        return ctl_each(argv + 1, argc - 1, "DELETE", "/v1/services/", NULL, "service");
}

/* ---- ps / scale / update / rollback / logs ------------------------------------------ */

static const char ps_usage[] =
        "Usage: netctl service ps [--format table|json] SERVICE\n"
        "\n"
        "List the tasks netd runs for a service: name (NAME.SLOT), container,\n"
        "host, desired state, current state (with its health, and the wait of a\n"
        "restart's backoff), since when, and the error of a task that exited or\n"
        "could not start.\n";

/* GET /v1/services/REF/tasks; 0 with the array in *@ret, else the exit
 * code after printing why. */
static int tasks_get(const char *ref, json_t **ret) {
        char path[512];
        long st;

        if (!segment_ok(ref)) {
                fprintf(stderr, "netctl: no such service: '%s'\n", ref);
                return 1;
        }
        snprintf(path, sizeof(path), "/v1/services/%s/tasks", ref);
        st = call("GET", path, NULL, ret);
        if (st != 200 || !json_is_array(*ret))
                return fail(st, *ret, NULL);
        return 0;
}

static int service_ps(int argc, char **argv) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, {},
        };
        _cleanup_json_ json_t *reply = NULL;
        _cleanup_free_ char *table = NULL;
        const char *format = "table";
        int o, rc;

        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0)
                switch (o) {
                case 'f': format = optarg; break;
                case 'h': fputs(ps_usage, stdout); return 0;
                default: fputs(ps_usage, stderr); return 2;
                }
        if (optind + 1 != argc || (strcmp(format, "table") && strcmp(format, "json"))) {
                fputs(ps_usage, stderr);
                return 2;
        }
        if ((rc = tasks_get(argv[optind], &reply)) != 0)
                return rc;
        if (strcmp(format, "json") == 0) {
                print_json(reply);
                return 0;
        }
        if (nd_table_service_tasks(reply, (long long) time(NULL), &table) < 0) {
                fprintf(stderr, "netctl: out of memory\n");
                return 1;
        }
        fputs(table, stdout);
        return 0;
}

static const char scale_usage[] =
        "Usage: netctl service scale SERVICE=REPLICAS...\n"
        "\n"
        "Set the number of tasks of replicated services.  Tasks are added as\n"
        "NAME.N+1 ...; scaling down stops the highest slots first; the other\n"
        "tasks are not touched.\n";

static int service_scale(int argc, char **argv) {
        int rc = 0;

        int usage_rc = ctl_usage(argc, argv, scale_usage, 2);
        if (usage_rc >= 0)
                return usage_rc;
        for (int i = 1; i < argc; i++) {
                const char *eq = strchr(argv[i], '=');
                long long n;
                char *end, ref[256], path[512];
                if (!eq || eq == argv[i] || (size_t) (eq - argv[i]) >= sizeof(ref)) {
                        fprintf(stderr, "netctl: '%s': want SERVICE=REPLICAS\n%s", argv[i], scale_usage);
                        return 2;
                }
                errno = 0;
                n = strtoll(eq + 1, &end, 10);
                if (!eq[1] || *end || errno) {
                        fprintf(stderr, "netctl: '%s': REPLICAS must be an integer\n", argv[i]);
                        return 2;
                }
                snprintf(ref, sizeof(ref), "%.*s", (int) (eq - argv[i]), argv[i]);
                if (!segment_ok(ref)) {
                        fprintf(stderr, "netctl: no such service: '%s'\n", ref);
                        rc = 1;
                        continue;
                }
                _cleanup_json_ json_t *req = json_pack("{s:I}", "Replicas", (json_int_t) n), *reply = NULL;
                snprintf(path, sizeof(path), "/v1/services/%s/scale", ref);
                long st = call("POST", path, req, &reply);
                if (st != 200) {
                        rc = fail(st, reply, ref);
                        if (st < 0)
                                return 1;
                        continue;
                }
                printf("%s scaled to %lld\n", ref, n);
        }
        return rc;
}

static const char update_usage[] =
        "Usage: netctl service update [OPTIONS] SERVICE\n"
        "\n"
        "Change the tasks of a service netd runs.  A change of the template\n"
        "(environment, rootfs, limits) replaces the tasks --update-parallelism\n"
        "at a time: each leaves the virtual IP, stops, and its new task starts;\n"
        "the next batch waits until the new tasks run (and, with a health\n"
        "command, are healthy) and for --update-delay.  The previous template\n"
        "and replica count are kept for 'netctl service rollback'.\n"
        "\n"
        "Options:\n"
        "      --replicas N            number of tasks\n"
        "      --env-add KEY=VALUE     set an environment variable (repeatable)\n"
        "      --env-rm KEY            remove an environment variable (repeatable)\n"
        "      --rootfs DIR            root filesystem of the tasks\n"
        "  -m, --memory BYTES          memory limit per task (suffixes k, m, g)\n"
        "      --pids-limit N          maximum number of processes per task\n"
        "      --stop-grace-period TIME  from SIGTERM to SIGKILL when a task stops\n"
        "      --restart-condition C   any, on-failure or none\n"
        "      --update-parallelism N  tasks replaced at a time\n"
        "      --update-delay TIME     between batches\n";

static int service_update(int argc, char **argv) {
        static const struct option opts[] = {
                { "env-add", required_argument, NULL, 'e' }, { "env-rm", required_argument, NULL, 'x' },
                TASK_OPTIONS, { "help", no_argument, NULL, 'h' }, {},
        };
        _cleanup_json_ json_t *req = json_pack("{s:[], s:[]}", "EnvAdd", "EnvRm"), *update = json_object(),
                              *reply = NULL;
        char path[512];
        int c, k;

        if (!req || !update)
                return 1;
        while ((c = getopt_long(argc, argv, "+m:h", opts, NULL)) >= 0) {
                if ((k = task_flag(c, req, req, update, "EnvAdd")) != 0) {
                        if (k < 0)
                                return 2;
                        continue;
                }
                switch (c) {
                case 'x':
                        json_array_append_new(json_object_get(req, "EnvRm"), json_string(optarg));
                        break;
                case 'h': fputs(update_usage, stdout); return 0;
                default: fputs(update_usage, stderr); return 2;
                }
        }
        if (optind + 1 != argc) {
                fputs(update_usage, stderr);
                return 2;
        }
        if (!segment_ok(argv[optind])) {
                fprintf(stderr, "netctl: no such service: '%s'\n", argv[optind]);
                return 1;
        }
        if (json_array_size(json_object_get(req, "EnvAdd")) == 0)
                json_object_del(req, "EnvAdd");
        if (json_array_size(json_object_get(req, "EnvRm")) == 0)
                json_object_del(req, "EnvRm");
        if (json_object_size(update))
                json_object_set(req, "Update", update);
        snprintf(path, sizeof(path), "/v1/services/%s/update", argv[optind]);
        long st = call("POST", path, req, &reply);
        if (st != 200)
                return fail(st, reply, NULL);
        printf("%s\n", argv[optind]);
        return 0;
}

static const char rollback_usage[] =
        "Usage: netctl service rollback SERVICE\n"
        "\n"
        "Go back to the task template and replica count before the last update\n"
        "(rolling, as an update does).  A second rollback undoes the first.\n";

static int service_rollback(int argc, char **argv) {
        if (wants_help(argc, argv)) {
                fputs(rollback_usage, stdout);
                return 0;
        }
        if (argc != 2) {
                fputs(rollback_usage, stderr);
                return 2;
        }
        return ctl_each(argv + 1, 1, "POST", "/v1/services/", "/rollback", "service");
}

static const char logs_usage[] =
        "Usage: netctl service logs SERVICE\n"
        "\n"
        "Print the output of the service's tasks on this host, each line\n"
        "prefixed with its task's name (NAME.SLOT | ...).  Reads the log files\n"
        "on this host (root).\n";

/* @path's lines, each after "@name | ". */
static void log_print(const char *name, const char *path) {
        FILE *f = path ? fopen(path, "re") : NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (!f)
                return;
        while ((n = getline(&line, &cap, f)) > 0)
                printf("%s | %s%s", name, line, line[n - 1] == '\n' ? "" : "\n");
        fclose(f);
}

static int service_logs(int argc, char **argv) {
        _cleanup_json_ json_t *tasks = NULL;
        json_t *t;
        size_t i;
        int rc;

        if (wants_help(argc, argv)) {
                fputs(logs_usage, stdout);
                return 0;
        }
        if (argc != 2) {
                fputs(logs_usage, stderr);
                return 2;
        }
        if ((rc = tasks_get(argv[1], &tasks)) != 0)
                return rc;
        json_array_foreach(tasks, i, t) {
                const char *ct = json_string_value(json_object_get(t, "Container")),
                           *name = json_string_value(json_object_get(t, "Name"));
                long st;
                if (!ct || !*ct || !name)
                        continue;
                _cleanup_json_ json_t *c = ctl_container_get(ct, &st);
                if (st == 200)
                        log_print(name, json_string_value(json_object_get(c, "LogPath")));
        }
        fflush(stdout);
        return 0;
}

/* ---- netctl service ---------------------------------------------------------------- */

static const char service_usage[] =
        "Usage: netctl service COMMAND\n"
        "\n"
        "Manage services: a name and a virtual IP per network in front of\n"
        "containers (tasks), with DNS names NAME and tasks.NAME, published ports\n"
        "and health checks.  netd runs the tasks of a service created with a\n"
        "command; otherwise a container becomes a task with\n"
        "'netctl run --service NAME'.\n"
        "\n"
        "Commands:\n"
        "  create    create a service\n"
        "  ls        list services\n"
        "  inspect   show services in detail\n"
        "  ps        list the tasks netd runs for a service\n"
        "  scale     set the number of tasks\n"
        "  update    change the tasks (rolling)\n"
        "  rollback  go back to the tasks before the last update\n"
        "  logs      print the tasks' output\n"
        "  rm        remove services\n"
        "\n"
        "Run 'netctl service COMMAND --help' for a command's options.\n";

int ctl_service(int argc, char **argv) {
        static const struct {
                const char *name, *alias;
                int (*fn)(int, char **);
        } cmds[] = {
                { "create", NULL, service_create },   { "ls", "list", service_ls },
                { "inspect", NULL, service_inspect }, { "rm", "remove", service_rm },
                { "ps", NULL, service_ps },           { "scale", NULL, service_scale },
                { "update", NULL, service_update },   { "rollback", NULL, service_rollback },
                { "logs", NULL, service_logs },
        };
        if (argc < 2) {
                fputs(service_usage, stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                fputs(service_usage, stdout);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(cmds); i++)
                if (strcmp(argv[1], cmds[i].name) == 0 || (cmds[i].alias && strcmp(argv[1], cmds[i].alias) == 0)) {
                        optind = 1;
                        return cmds[i].fn(argc - 1, argv + 1);
                }
        fprintf(stderr, "netctl: unknown service command '%s'\n%s", argv[1], service_usage);
        return 2;
}
