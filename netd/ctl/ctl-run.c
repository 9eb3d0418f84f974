/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netctl run and create: their flags parsed into the daemon's container
 * request (POST /v1/containers), then, for a foreground run, the
 * container's output followed until it exits.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "json-util.h"
#include "macro.h"
#include "seccomp-profile.h"

/* -m/--memory: a byte count with an optional k, m or g suffix (1024-based). */
int ctl_bytes_parse(const char *s, long long *ret) {
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
        "      --service NAME         make it a task of service NAME (see 'netctl service'):\n"
        "                             behind its virtual IPs and in tasks.NAME; not with\n"
        "                             --network none, host or container:NAME\n"
        "      --add-host NAME:IP     a line in /etc/hosts (repeatable); IP may be\n"
        "                             host-gateway, the gateway of the first network\n"
        "  -p, --publish SPEC         publish a container port on the host (repeatable):\n"
        "                             [HOSTIP:][HOSTPORT[-END]:]CTRPORT[-END][/tcp|udp|sctp];\n"
        "                             no HOSTPORT: a free one (see 'netctl port'); an IPv6\n"
        "                             HOSTIP in brackets, as [::1]:8080:80\n"
        "  -P, --publish-all          publish every --expose port on a free host port\n"
        "      --expose PORT[-END][/PROTO]  a port the container serves (repeatable; published\n"
        "                             only with -P)\n"
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

int ctl_run(int argc, char **argv) {
        static const struct option opts[] = {
                { "detach", no_argument, NULL, 'd' },        { "name", required_argument, NULL, 'n' },
                { "hostname", required_argument, NULL, 'H' }, { "network", required_argument, NULL, 'N' },
                { "net", required_argument, NULL, 'N' },      { "ip", required_argument, NULL, '4' },
                { "ip6", required_argument, NULL, '6' },      { "mac-address", required_argument, NULL, 'M' },
                { "network-alias", required_argument, NULL, 'a' }, { "env", required_argument, NULL, 'e' },
                { "rootfs", required_argument, NULL, 'r' },   { "memory", required_argument, NULL, 'm' },
                { "pids-limit", required_argument, NULL, 'T' }, { "rm", no_argument, NULL, 'R' },
                { "publish", required_argument, NULL, 'p' }, { "publish-all", no_argument, NULL, 'P' },
                { "expose", required_argument, NULL, 'E' },
                { "dns", required_argument, NULL, 'D' },      { "dns-search", required_argument, NULL, 'S' },
                { "dns-option", required_argument, NULL, 'O' }, { "link", required_argument, NULL, 'L' },
                { "cap-add", required_argument, NULL, 'c' },  { "cap-drop", required_argument, NULL, 'C' },
                { "privileged", no_argument, NULL, 'X' },     { "security-opt", required_argument, NULL, 's' },
                { "read-only", no_argument, NULL, 'W' },
                { "gw-priority", required_argument, NULL, 'G' }, { "add-host", required_argument, NULL, 'A' },
                { "service", required_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },           {},
        };
        const char *nets[CTL_MAX_LIST], *name = NULL, *hostname = NULL, *ip4 = NULL, *ip6 = NULL, *mac = NULL,
                   *rootfs = NULL, *mode = NULL, *gw_prio = NULL, *service = NULL;
        size_t n_nets = 0;
        bool detach = false, auto_rm = false, privileged = false, read_only = false, publish_all = false;
        long long memory = 0, pids = 0;
        _cleanup_json_ json_t *cap_add = json_array(), *cap_drop = json_array(), *sec_opts = json_array();
        _cleanup_json_ json_t *env = json_array(), *aliases = json_array(), *ports = json_array(), *dns = json_array(),
                              *dns_search = json_array(), *dns_opts = json_array(), *links = json_array(),
                              *extra_hosts = json_array(), *exposed = json_array(), *reply = NULL,
                              *req = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "+dn:e:m:p:Ph", opts, NULL)) >= 0)
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
                        } else if (n_nets == CTL_MAX_LIST) {
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
                        if (ctl_bytes_parse(optarg, &memory) < 0) {
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
                case 'V': service = optarg; break;
                case 'P': publish_all = true; break;
                case 'E': json_array_append_new(exposed, json_string(optarg)); break;
                case 'T': {
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
        if (mode && service) {
                fprintf(stderr, "netctl: --service cannot be combined with --network %s\n", mode);
                return 2;
        }
        if ((ip4 || ip6 || mac || gw_prio || json_array_size(aliases)) && !n_nets) {
                fprintf(stderr, "netctl: --ip, --ip6, --mac-address, --network-alias and --gw-priority need a "
                        "--network\n");
                return 2;
        }
        long long prio = 0;
        if (gw_prio && ctl_gw_priority_parse(gw_prio, &prio) < 0)
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
        if (service)
                json_object_set_new(req, "Service", json_string(service));
        if (json_array_size(ports))
                json_object_set(req, "Ports", ports);
        if (json_array_size(exposed))
                json_object_set(req, "ExposedPorts", exposed);
        if (publish_all)
                json_object_set_new(req, "PublishAllPorts", json_true());
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
        _cleanup_json_ json_t *ct = ctl_container_get(id_copy, &st);
        if (st != 200)
                return fail(st, ct, NULL);
        int code = ctl_log_follow(id_copy, json_string_value(json_object_get(ct, "LogPath")), true);
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
