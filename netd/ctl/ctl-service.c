/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netctl service create, ls, inspect and rm: flags into the daemon's
 * service request (POST /v1/services, docs/api.md "Services"), and its
 * service objects into a table or JSON.  The daemon validates every value;
 * here only what the flags themselves need (numbers, KEY=VALUE).
 */
#include <errno.h>
#include <getopt.h>
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
        "Usage: netctl service create --name NAME --network NET [OPTIONS]\n"
        "\n"
        "Create a service: a name and a virtual IP on each of its networks, in\n"
        "front of the containers started with 'netctl run --service NAME' (its\n"
        "tasks).  Its DNS names are NAME and tasks.NAME.  Prints its id.\n"
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

static int service_create(int argc, char **argv) {
        static const struct option opts[] = {
                { "name", required_argument, NULL, 'n' },          { "network", required_argument, NULL, 'N' },
                { "endpoint-mode", required_argument, NULL, 'E' }, { "publish", required_argument, NULL, 'p' },
                { "health-cmd", required_argument, NULL, 'c' },    { "health-interval", required_argument, NULL, 'i' },
                { "health-timeout", required_argument, NULL, 't' }, { "health-retries", required_argument, NULL, 'r' },
                { "label", required_argument, NULL, 'l' },         { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_json_ json_t *nets = json_array(), *ports = json_array(), *labels = json_object(),
                              *health = json_object(), *req = NULL, *reply = NULL;
        const char *name = NULL, *mode = NULL, *cmd = NULL;
        int c;

        if (!nets || !ports || !labels || !health)
                return 1;
        while ((c = getopt_long(argc, argv, "+p:h", opts, NULL)) >= 0)
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
                case 'h': fputs(create_usage, stdout); return 0;
                default: fputs(create_usage, stderr); return 2;
                }
        if (optind != argc) {
                fprintf(stderr, "netctl: service create takes no arguments ('%s'); the name is --name\n%s",
                        argv[optind], create_usage);
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

        if (wants_help(argc, argv)) {
                fputs(inspect_usage, stdout);
                return 0;
        }
        if (argc < 2) {
                fputs(inspect_usage, stderr);
                return 2;
        }
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
        "names and published ports.  Their tasks are containers and stay.\n";

static int service_rm(int argc, char **argv) {
        if (wants_help(argc, argv)) {
                fputs(rm_usage, stdout);
                return 0;
        }
        if (argc < 2) {
                fputs(rm_usage, stderr);
                return 2;
        }
        return ctl_each(argv + 1, argc - 1, "DELETE", "/v1/services/", NULL, "service");
}

/* ---- netctl service ---------------------------------------------------------------- */

static const char service_usage[] =
        "Usage: netctl service COMMAND\n"
        "\n"
        "Manage services: a name and a virtual IP per network in front of\n"
        "containers (tasks), with DNS names NAME and tasks.NAME, published ports\n"
        "and health checks.  A container becomes a task with\n"
        "'netctl run --service NAME'.\n"
        "\n"
        "Commands:\n"
        "  create    create a service\n"
        "  ls        list services\n"
        "  inspect   show services in detail\n"
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
