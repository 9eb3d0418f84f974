/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netctl's container commands: run, ps, stop, rm, logs, exec, inspect,
 * rootfs init, network connect/disconnect.  logs and exec work on the local
 * host directly (the log file, the container's namespaces), as root, the
 * way nsenter does; everything else goes through the daemon's API.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "json-util.h"
#include "macro.h"
#include "runtime/caps.h"
#include "runtime/sandbox.h"
#include "runtime/seccomp-profile.h"

#define MAX_LIST 16

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
}

static int parse_bytes(const char *s, long long *ret) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || v < 0)
                return -EINVAL;
        switch (*end) {
        case 0: case 'b': case 'B': break;
        case 'k': case 'K': v *= 1024; end++; break;
        case 'm': case 'M': v *= 1024 * 1024; end++; break;
        case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
        default: return -EINVAL;
        }
        if (*end && strcmp(end, "b") && strcmp(end, "B"))
                return -EINVAL;
        *ret = (long long) v;
        return 0;
}

static json_t *get_container(const char *ref, long *status) {
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

static const char *ct_status(json_t *c) {
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

/* Print the log; with @follow until the container is no longer running.
 * Returns the container's exit code when it ended, -1 otherwise. */
static int follow_log(const char *id, const char *log_path, bool follow) {
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
                _cleanup_json_ json_t *c = get_container(id, &st);
                if (st != 200) {
                        pump(fd);
                        return -1;
                }
                if (strcmp(ct_status(c), "running") != 0) {
                        pump(fd);
                        return (int) json_integer_value(json_object_get(json_object_get(c, "State"), "ExitCode"));
                }
                if (pump(fd) == 0)
                        sleep_ms(50);
        }
}

/* ---- run ------------------------------------------------------------------ */

static const char run_usage[] =
        "Usage: netctl run [OPTIONS] CMD [ARG...]\n"
        "\n"
        "Create and start a container from a root filesystem directory.\n"
        "\n"
        "Options:\n"
        "  -d, --detach               run in the background, print the id\n"
        "      --name NAME            container name (default: generated)\n"
        "      --hostname NAME        hostname (default: the short id)\n"
        "      --network NET          a network to attach (repeatable), or none, host,\n"
        "                             container:NAME (default: none, loopback only)\n"
        "      --ip IP                static IPv4 address on the first network\n"
        "      --ip6 IP               static IPv6 address on the first network\n"
        "      --mac-address MAC      MAC address on the first network\n"
        "      --network-alias NAME   extra DNS name on the first network (repeatable)\n"
        "      --gw-priority N        default-route priority of the first network (default 0;\n"
        "                             the highest carries the default route)\n"
        "      --add-host NAME:IP     a line in /etc/hosts (repeatable); IP may be\n"
        "                             host-gateway, the gateway of the first network\n"
        "  -p, --publish SPEC         publish a container port on the host (repeatable):\n"
        "                             [HOSTIP:][HOSTPORT[-END]:]CTRPORT[-END][/tcp|udp|sctp];\n"
        "                             no HOSTPORT: a free one (see 'netctl port'); an IPv6\n"
        "                             HOSTIP in brackets, as [::1]:8080:80\n"
        "      --dns IP               the container's upstream DNS server (repeatable)\n"
        "      --link NAME[:ALIAS]    legacy link: ALIAS in /etc/hosts and ALIAS_PORT_* variables\n"
        "      --dns-search DOMAIN    search domain in its resolv.conf (repeatable)\n"
        "      --dns-option OPT       option in its resolv.conf (repeatable)\n"
        "  -e, --env KEY=VALUE        environment variable (repeatable)\n"
        "      --rootfs DIR           root filesystem (default: the daemon's, see 'netctl rootfs init')\n"
        "  -m, --memory BYTES         memory limit (suffixes k, m, g)\n"
        "      --pids-limit N         maximum number of processes\n"
        "      --rm                   remove the container when it exits\n"
        "      --cap-add CAP          add a capability to Docker's default set (repeatable;\n"
        "                             NET_ADMIN or CAP_NET_ADMIN; ALL)\n"
        "      --cap-drop CAP         drop a capability (repeatable; ALL)\n"
        "      --privileged           every capability and device, no seccomp filter, no\n"
        "                             masked /proc paths, writable /sys\n"
        "      --security-opt OPT     seccomp=unconfined, seccomp=PROFILE.json (Docker's\n"
        "                             format, read here and sent to the daemon),\n"
        "                             no-new-privileges=false (default: true)\n"
        "      --read-only            read-only root filesystem (/dev, /proc, /dev/shm\n"
        "                             and /etc/hosts etc. stay as they are)\n"
        "  -h, --help                 this help\n"
        "\n"
        "Without -d, netctl prints the container's output until it exits and\n"
        "exits with its exit code.\n"
        "\n"
        "'netctl create' takes the same options: it builds the container and its\n"
        "network (namespace, interfaces, addresses, routes) without starting it,\n"
        "and prints its id; 'netctl start' starts it.\n";

/* --security-opt: like Docker's CLI, a seccomp profile named by a path is
 * read here (the daemon may not see the client's files) and sent as its
 * content; the daemon validates every option. */
static int security_opt(const char *opt, json_t *opts) {
        const char *path = NULL;
        if (strncmp(opt, "seccomp=", 8) == 0 || strncmp(opt, "seccomp:", 8) == 0)
                path = opt + 8;
        if (!path || strcmp(path, "unconfined") == 0 || path[0] == '{') {
                json_array_append_new(opts, json_string(opt));
                return 0;
        }
        _cleanup_free_ char *buf = malloc(ND_SC_PROFILE_MAX_BYTES + 1);
        FILE *f = fopen(path, "re");
        if (!f || !buf) {
                fprintf(stderr, "netctl: --security-opt seccomp: cannot read the profile '%s': %s\n", path,
                        strerror(errno));
                if (f)
                        fclose(f);
                return -1;
        }
        size_t n = fread(buf, 1, ND_SC_PROFILE_MAX_BYTES + 1, f);
        bool bad = ferror(f);
        int err = errno;
        fclose(f);
        if (bad || n > ND_SC_PROFILE_MAX_BYTES) {
                fprintf(stderr, "netctl: --security-opt seccomp: cannot read the profile '%s': %s\n", path,
                        bad ? strerror(err) : "larger than 256 KiB");
                return -1;
        }
        buf[n] = 0;
        if (strlen(buf) != n) {
                fprintf(stderr, "netctl: --security-opt seccomp: the profile '%s' is not text\n", path);
                return -1;
        }
        _cleanup_free_ char *o = NULL;
        if (asprintf(&o, "seccomp=%s", buf) < 0)
                return -1;
        json_array_append_new(opts, json_string(o));
        return 0;
}

static int parse_gw_priority(const char *s, long long *ret) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (!*s || *end || errno || v < -1000000000LL || v > 1000000000LL) {
                fprintf(stderr, "netctl: invalid --gw-priority '%s': want an integer\n", s);
                return -1;
        }
        *ret = v;
        return 0;
}

int ctl_run(int argc, char **argv) {
        static const struct option opts[] = {
                { "detach", no_argument, NULL, 'd' },        { "name", required_argument, NULL, 'n' },
                { "hostname", required_argument, NULL, 'H' }, { "network", required_argument, NULL, 'N' },
                { "net", required_argument, NULL, 'N' },      { "ip", required_argument, NULL, '4' },
                { "ip6", required_argument, NULL, '6' },      { "mac-address", required_argument, NULL, 'M' },
                { "network-alias", required_argument, NULL, 'a' }, { "env", required_argument, NULL, 'e' },
                { "rootfs", required_argument, NULL, 'r' },   { "memory", required_argument, NULL, 'm' },
                { "pids-limit", required_argument, NULL, 'P' }, { "rm", no_argument, NULL, 'R' },
                { "publish", required_argument, NULL, 'p' },
                { "dns", required_argument, NULL, 'D' },      { "dns-search", required_argument, NULL, 'S' },
                { "dns-option", required_argument, NULL, 'O' }, { "link", required_argument, NULL, 'L' },
                { "cap-add", required_argument, NULL, 'c' },  { "cap-drop", required_argument, NULL, 'C' },
                { "privileged", no_argument, NULL, 'X' },     { "security-opt", required_argument, NULL, 's' },
                { "read-only", no_argument, NULL, 'W' },
                { "gw-priority", required_argument, NULL, 'G' }, { "add-host", required_argument, NULL, 'A' },
                { "help", no_argument, NULL, 'h' },           {},
        };
        const char *nets[MAX_LIST], *name = NULL, *hostname = NULL, *ip4 = NULL, *ip6 = NULL, *mac = NULL,
                   *rootfs = NULL, *mode = NULL, *gw_prio = NULL;
        size_t n_nets = 0;
        bool detach = false, auto_rm = false, privileged = false, read_only = false;
        long long memory = 0, pids = 0;
        _cleanup_json_ json_t *cap_add = json_array(), *cap_drop = json_array(), *sec_opts = json_array();
        _cleanup_json_ json_t *env = json_array(), *aliases = json_array(), *ports = json_array(), *dns = json_array(),
                              *dns_search = json_array(), *dns_opts = json_array(), *links = json_array(),
                              *extra_hosts = json_array(), *reply = NULL,
                              *req = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "+dn:e:m:p:h", opts, NULL)) >= 0)
                switch (c) {
                case 'd': detach = true; break;
                case 'n': name = optarg; break;
                case 'H': hostname = optarg; break;
                case 'N':
                        if (!strcmp(optarg, "none") || !strcmp(optarg, "host") || !strncmp(optarg, "container:", 10) ||
                            !strcmp(optarg, "bridge")) {
                                if (!strcmp(optarg, "bridge")) {
                                        nets[n_nets++] = optarg; /* a network called bridge */
                                        break;
                                }
                                mode = optarg;
                        } else if (n_nets == MAX_LIST) {
                                fprintf(stderr, "netctl: too many --network\n");
                                return 2;
                        } else
                                nets[n_nets++] = optarg;
                        break;
                case '4': ip4 = optarg; break;
                case '6': ip6 = optarg; break;
                case 'M': mac = optarg; break;
                case 'a': json_array_append_new(aliases, json_string(optarg)); break;
                case 'e':
                        if (!strchr(optarg, '=')) {
                                /* docker's -e KEY passes the caller's value */
                                const char *v = getenv(optarg);
                                if (!v)
                                        break;
                                char *kv;
                                if (asprintf(&kv, "%s=%s", optarg, v) < 0)
                                        return 1;
                                json_array_append_new(env, json_string(kv));
                                free(kv);
                        } else
                                json_array_append_new(env, json_string(optarg));
                        break;
                case 'r': rootfs = optarg; break;
                case 'm':
                        if (parse_bytes(optarg, &memory) < 0) {
                                fprintf(stderr, "netctl: invalid --memory '%s'\n", optarg);
                                return 2;
                        }
                        break;
                case 'p': json_array_append_new(ports, json_string(optarg)); break;
                case 'D': json_array_append_new(dns, json_string(optarg)); break;
                case 'S': json_array_append_new(dns_search, json_string(optarg)); break;
                case 'O': json_array_append_new(dns_opts, json_string(optarg)); break;
                case 'L': json_array_append_new(links, json_string(optarg)); break;
                case 'A': json_array_append_new(extra_hosts, json_string(optarg)); break;
                case 'G': gw_prio = optarg; break;
                case 'P': {
                        char *end;
                        pids = strtoll(optarg, &end, 10);
                        if (*end || pids < 0) {
                                fprintf(stderr, "netctl: invalid --pids-limit '%s'\n", optarg);
                                return 2;
                        }
                        break;
                }
                case 'R': auto_rm = true; break;
                case 'c': json_array_append_new(cap_add, json_string(optarg)); break;
                case 'C': json_array_append_new(cap_drop, json_string(optarg)); break;
                case 'X': privileged = true; break;
                case 'W': read_only = true; break;
                case 's':
                        if (security_opt(optarg, sec_opts) < 0)
                                return 1;
                        break;
                case 'h': fputs(run_usage, stdout); return 0;
                default: fputs(run_usage, stderr); return 2;
                }
        if (optind >= argc) {
                fprintf(stderr, "netctl: %s needs a command\n%s", argv[0], run_usage);
                return 2;
        }
        if (mode && n_nets) {
                fprintf(stderr, "netctl: --network %s cannot be combined with named networks\n", mode);
                return 2;
        }
        if ((ip4 || ip6 || mac || gw_prio || json_array_size(aliases)) && !n_nets) {
                fprintf(stderr, "netctl: --ip, --ip6, --mac-address, --network-alias and --gw-priority need a "
                        "--network\n");
                return 2;
        }
        long long prio = 0;
        if (gw_prio && parse_gw_priority(gw_prio, &prio) < 0)
                return 2;
        json_t *cmd = json_array(), *jn = json_array();
        for (int i = optind; i < argc; i++)
                json_array_append_new(cmd, json_string(argv[i]));
        for (size_t i = 0; i < n_nets; i++) {
                json_t *e = json_pack("{s:s}", "Network", nets[i]);
                if (i == 0) {
                        if (ip4)
                                json_object_set_new(e, "IPv4Address", json_string(ip4));
                        if (ip6)
                                json_object_set_new(e, "IPv6Address", json_string(ip6));
                        if (mac)
                                json_object_set_new(e, "MacAddress", json_string(mac));
                        json_object_set(e, "Aliases", aliases);
                        if (gw_prio)
                                json_object_set_new(e, "GwPriority", json_integer(prio));
                }
                json_array_append_new(jn, e);
        }
        /* A foreground run removes the container itself after reading its
         * exit code; only a detached one leaves that to the daemon. */
        req = json_pack("{s:o, s:O, s:o, s:I, s:I, s:b}", "Cmd", cmd, "Env", env, "Networks", jn, "Memory",
                        (json_int_t) memory, "PidsLimit", (json_int_t) pids, "AutoRemove", auto_rm && detach);
        if (name)
                json_object_set_new(req, "Name", json_string(name));
        if (hostname)
                json_object_set_new(req, "Hostname", json_string(hostname));
        if (rootfs) {
                char abs[PATH_MAX];
                json_object_set_new(req, "Rootfs", json_string(realpath(rootfs, abs) ? abs : rootfs));
        }
        if (mode)
                json_object_set_new(req, "NetworkMode", json_string(mode));
        if (json_array_size(ports))
                json_object_set(req, "Ports", ports);
        if (json_array_size(dns))
                json_object_set(req, "Dns", dns);
        if (json_array_size(dns_search))
                json_object_set(req, "DnsSearch", dns_search);
        if (json_array_size(dns_opts))
                json_object_set(req, "DnsOptions", dns_opts);
        if (json_array_size(links))
                json_object_set(req, "Links", links);
        if (json_array_size(extra_hosts))
                json_object_set(req, "ExtraHosts", extra_hosts);
        if (json_array_size(cap_add))
                json_object_set(req, "CapAdd", cap_add);
        if (json_array_size(cap_drop))
                json_object_set(req, "CapDrop", cap_drop);
        if (json_array_size(sec_opts))
                json_object_set(req, "SecurityOpt", sec_opts);
        if (privileged)
                json_object_set_new(req, "Privileged", json_true());
        if (read_only)
                json_object_set_new(req, "ReadonlyRootfs", json_true());
        bool create_only = strcmp(argv[0], "create") == 0;
        long st = call("POST", create_only ? "/v1/containers?start=0" : "/v1/containers", req, &reply);
        if (st != 201)
                return fail(st, reply, NULL);
        const char *id = json_string_value(json_object_get(reply, "Id"));
        if (detach || create_only) {
                printf("%s\n", id);
                return 0;
        }
        char id_copy[80];
        snprintf(id_copy, sizeof(id_copy), "%s", id);
        _cleanup_json_ json_t *ct = get_container(id_copy, &st);
        if (st != 200)
                return fail(st, ct, NULL);
        int code = follow_log(id_copy, json_string_value(json_object_get(ct, "LogPath")), true);
        if (auto_rm) {
                char path[256];
                json_t *r2 = NULL;
                snprintf(path, sizeof(path), "/v1/containers/%s?force=1", id_copy);
                st = call("DELETE", path, NULL, &r2);
                if (st != 204)
                        fail(st, r2, "removing the container");
                json_decref(r2);
        }
        return code < 0 ? 125 : code;
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
                if (strcmp(ct_status(c), "exited") == 0)
                        snprintf(status, sizeof(status), "exited (%d)",
                                 (int) json_integer_value(json_object_get(state, "ExitCode")));
                else
                        snprintf(status, sizeof(status), "%s", ct_status(c));
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
        if (wants_help(argc, argv)) {
                fputs(start_usage, stdout);
                return 0;
        }
        if (argc < 2) {
                fputs(start_usage, stderr);
                return 2;
        }
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
        "Usage: netctl rm [-f] CONTAINER...\n"
        "\n"
        "Remove containers, their network endpoints, addresses and files.\n"
        "-f, --force: kill a running container first.\n";

int ctl_rm(int argc, char **argv) {
        static const struct option opts[] = {
                { "force", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, {},
        };
        bool force = false;
        int o;
        while ((o = getopt_long(argc, argv, "+fh", opts, NULL)) >= 0)
                switch (o) {
                case 'f': force = true; break;
                case 'h': fputs(rm_usage, stdout); return 0;
                default: fputs(rm_usage, stderr); return 2;
                }
        if (optind >= argc) {
                fputs(rm_usage, stderr);
                return 2;
        }
        return ctl_each(argv + optind, argc - optind, "DELETE", "/v1/containers/", force ? "?force=1" : NULL,
                        "container");
}

static const char inspect_usage[] =
        "Usage: netctl inspect CONTAINER...\n"
        "\n"
        "Show containers as a JSON array.\n";

int ctl_inspect(int argc, char **argv) {
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
                long st;
                json_t *c = get_container(argv[i], &st);
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
        _cleanup_json_ json_t *c = get_container(argv[optind], &st);
        if (st != 200)
                return fail(st, c, NULL);
        char id[80];
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(c, "Id")));
        follow_log(id, json_string_value(json_object_get(c, "LogPath")), follow);
        return 0;
}

/* ---- exec ---------------------------------------------------------------------------- */

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
                                             "/sys/fs/cgroup/devices/netd/%s/cgroup.procs" };
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
        const char *extra[MAX_LIST];
        size_t n_extra = 0;
        bool interactive = false;
        int o, fds[5];

        while ((o = getopt_long(argc, argv, "+ie:h", opts, NULL)) >= 0)
                switch (o) {
                case 'i': interactive = true; break;
                case 'e':
                        if (n_extra < MAX_LIST && strchr(optarg, '='))
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
        _cleanup_json_ json_t *c = get_container(argv[optind], &st);
        if (st != 200)
                return fail(st, c, NULL);
        if (strcmp(ct_status(c), "running") != 0) {
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
                        if (parse_gw_priority(optarg, &prio) < 0)
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

/* ---- rootfs init ---------------------------------------------------------------------- */

static const char rootfs_usage[] =
        "Usage: netctl rootfs init [DIR]\n"
        "\n"
        "Build a root filesystem from Debian's busybox-static: /bin/busybox and a\n"
        "link for every applet, /etc/passwd and /etc/group.  DIR defaults to the\n"
        "daemon's default rootfs (netctl asks the daemon where it is).\n";

/* A static binary has no PT_INTERP program header. */
static int is_static_elf(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        Elf64_Ehdr eh;
        if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
            eh.e_ident[EI_CLASS] != ELFCLASS64)
                return 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                if (pread(fd, &ph, sizeof(ph), (off_t) (eh.e_phoff + i * eh.e_phentsize)) != sizeof(ph))
                        return 0;
                if (ph.p_type == PT_INTERP)
                        return 0;
        }
        return 1;
}

static int mkdirs(const char *path) {
        char buf[PATH_MAX];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int copy_file(const char *from, const char *to, mode_t mode) {
        _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
        char tmp[PATH_MAX + 8], buf[65536];
        snprintf(tmp, sizeof(tmp), "%s.tmp", to);
        _cleanup_close_ int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ssize_t k;
        if (in < 0 || out < 0)
                return -errno;
        while ((k = read(in, buf, sizeof(buf))) > 0)
                if (write(out, buf, (size_t) k) != k)
                        return -EIO;
        if (k < 0 || fchmod(out, mode) < 0)
                return -errno;
        return rename(tmp, to) < 0 ? -errno : 0;
}

static int write_small(const char *dir, const char *name, const char *text) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        FILE *f = fopen(p, "we");
        if (!f)
                return -errno;
        fputs(text, f);
        return fclose(f) == 0 ? 0 : -errno;
}

int ctl_rootfs(int argc, char **argv) {
        static const char *const dirs[] = { "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev",
                                            "tmp", "root", "var/www", "run", "home" };
        char dir[PATH_MAX], p[PATH_MAX + 64];
        const char *busybox = "/bin/busybox";
        int r;

        if (argc < 2 || wants_help(argc, argv)) {
                fputs(rootfs_usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        if (strcmp(argv[1], "init") != 0 || argc > 3) {
                fputs(rootfs_usage, stderr);
                return 2;
        }
        if (argc == 3)
                snprintf(dir, sizeof(dir), "%s", argv[2]);
        else {
                _cleanup_json_ json_t *info = NULL;
                long st = call("GET", "/v1/info", NULL, &info);
                if (st != 200)
                        return fail(st, info, "asking the daemon for its default rootfs");
                snprintf(dir, sizeof(dir), "%s", json_string_value(json_object_get(info, "DefaultRootfs")));
        }
        if (access(busybox, X_OK) < 0 || !is_static_elf(busybox)) {
                fprintf(stderr, "netctl: %s is missing or not statically linked; install Debian's busybox-static "
                        "(apt-get install busybox-static)\n", busybox);
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, dirs[i]);
                if ((r = mkdirs(p)) < 0) {
                        fprintf(stderr, "netctl: mkdir %s: %s\n", p, strerror(-r));
                        return 1;
                }
        }
        snprintf(p, sizeof(p), "%s/tmp", dir);
        chmod(p, 01777);
        snprintf(p, sizeof(p), "%s/bin/busybox", dir);
        if ((r = copy_file(busybox, p, 0755)) < 0) {
                fprintf(stderr, "netctl: copying busybox: %s\n", strerror(-r));
                return 1;
        }
        /* one link per applet, at the path busybox itself reports */
        FILE *list = popen("/bin/busybox --list-full", "r");
        char line[256];
        unsigned n = 0;
        while (list && fgets(line, sizeof(line), list)) {
                line[strcspn(line, "\n")] = 0;
                if (!*line || strstr(line, "..") || strcmp(line, "bin/busybox") == 0)
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, line);
                char *slash = strrchr(p, '/');
                *slash = 0;
                mkdirs(p);
                *slash = '/';
                unlink(p);
                if (symlink("/bin/busybox", p) == 0)
                        n++;
        }
        if (!list || pclose(list) != 0 || n == 0) {
                fprintf(stderr, "netctl: listing busybox applets failed\n");
                return 1;
        }
        if (write_small(dir, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n") < 0 ||
            write_small(dir, "etc/group", "root:x:0:\nnogroup:x:65534:\n") < 0 ||
            write_small(dir, "var/www/index.html", "hello from netd\n") < 0) {
                fprintf(stderr, "netctl: writing /etc files: %s\n", strerror(errno));
                return 1;
        }
        printf("%s: busybox with %u applets\n", dir, n);
        return 0;
}

/* ---- port ------------------------------------------------------------------ */

static const char port_usage[] =
        "Usage: netctl port CONTAINER [PORT[/PROTO]]\n"
        "\n"
        "List a running container's published ports (CTRPORT/PROTO -> HOSTIP:HOSTPORT),\n"
        "or the host side of one of them.\n";

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
        json_array_foreach(json_object_get(reply, "PortBindings"), i, b) {
                const char *proto = json_string_value(json_object_get(b, "Proto"));
                const char *ip = json_string_value(json_object_get(b, "HostIp"));
                json_int_t cp = json_integer_value(json_object_get(b, "ContainerPort"));
                json_int_t hp = json_integer_value(json_object_get(b, "HostPort"));
                if (want && (cp != want || (*want_proto && strcmp(want_proto, proto) != 0)))
                        continue;
                bool v6 = ip && strchr(ip, ':');
                if (want)
                        printf("%s%s%s:%lld\n", v6 ? "[" : "", ip && *ip ? ip : "0.0.0.0", v6 ? "]" : "",
                               (long long) hp);
                else
                        printf("%lld/%s -> %s%s%s:%lld\n", (long long) cp, proto, v6 ? "[" : "",
                               ip && *ip ? ip : "0.0.0.0", v6 ? "]" : "", (long long) hp);
                shown++;
        }
        if (want && !shown) {
                fprintf(stderr, "netctl: no public port '%s' published for %s\n", argv[2], argv[1]);
                return 1;
        }
        return 0;
}
