/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netctl: the command-line client, and its network, ipam, node and version
 * commands (the others are in the files ctl.h lists).  Apart from logs,
 * exec and rootfs init, which work on this host directly, it only talks to
 * the daemon's API over its unix socket (HTTP/1.1, uclient.h), so what it
 * does there, a script can do with curl too.  Exit codes: 0 ok, 1 error
 * (message on stderr), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl-format.h"
#include "ctl.h"
#include "diag.h"
#include "json-util.h"
#include "macro.h"
#include "prefix.h"

#define DEFAULT_SOCKET "/run/netd/netd.sock"

/* ---- network create --------------------------------------------------------- */

static const char create_usage[] =
        "Usage: netctl network create [OPTIONS] NAME\n"
        "\n"
        "Create a network.\n"
        "\n"
        "Options:\n"
        "  -d, --driver DRIVER     driver (default bridge)\n"
        "      --subnet CIDR       subnet; repeatable (one IPv4 is picked from the pools if none)\n"
        "      --gateway IP        gateway of the subnet that contains it; repeatable\n"
        "      --ip-range CIDR     allocate dynamic addresses from this part of its subnet; repeatable\n"
        "      --aux-address NAME=IP  never hand out IP (of the subnet containing it); repeatable\n"
        "      --internal          no external connectivity\n"
        "      --ipv6              enable IPv6 (needs an IPv6 --subnet)\n"
        "      --ipv4=false        no IPv4: an IPv6-only network (with --ipv6 --subnet IPV6-CIDR)\n"
        "      --ipam-driver none  no addresses at all: interfaces without addresses or routes\n"
        "  -o, --opt KEY=VALUE     driver option (mtu=N, metric=N, bridge.name=NAME); repeatable\n"
        "      --label KEY=VALUE   label; repeatable\n"
        "  -h, --help              this help\n";

static int add_kv(json_t *obj, const char *kv, const char *what) {
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
                fprintf(stderr, "netctl: %s '%s': want KEY=VALUE\n", what, kv);
                return -EINVAL;
        }
        char *k = strndup(kv, (size_t) (eq - kv));
        int r = k ? json_object_set_new(obj, k, json_string(eq + 1)) : -1;
        free(k);
        return r < 0 ? -ENOMEM : 0;
}

/* --aux-address NAME=IP goes to the --subnet containing IP, as docker
 * does; the daemon checks the rest. */
static int aux_place(json_t *cfg, const char *const *subnets, size_t ns, const char *v) {
        const char *eq = strchr(v, '=');
        nd_prefix sp;
        nd_addr a;

        if (!eq || eq == v || nd_addr_parse(eq + 1, &a) < 0) {
                fprintf(stderr, "netctl: invalid --aux-address '%s': want NAME=IP\n", v);
                return -EINVAL;
        }
        for (size_t i = 0; i < ns; i++) {
                json_t *e = json_array_get(cfg, i), *aux;
                if (nd_prefix_parse(subnets[i], 0, &sp, NULL) < 0 || !nd_prefix_contains(&sp, &a))
                        continue;
                aux = json_object_get(e, "AuxiliaryAddresses");
                if (!aux) {
                        aux = json_object();
                        json_object_set_new(e, "AuxiliaryAddresses", aux);
                }
                _cleanup_free_ char *name = strndup(v, (size_t) (eq - v));
                if (!name || json_object_get(aux, name)) {
                        fprintf(stderr, "netctl: --aux-address name '%s' given twice\n", name ? name : v);
                        return -EINVAL;
                }
                return json_object_set_new(aux, name, json_string(eq + 1)) < 0 ? -ENOMEM : 0;
        }
        fprintf(stderr, "netctl: --aux-address '%s' is in no --subnet given\n", v);
        return -EINVAL;
}

static int network_create(int argc, char **argv) {
        static const struct option opts[] = {
                { "driver", required_argument, NULL, 'd' }, { "subnet", required_argument, NULL, 's' },
                { "gateway", required_argument, NULL, 'g' }, { "ip-range", required_argument, NULL, 'r' },
                { "internal", no_argument, NULL, 'i' },     { "ipv6", no_argument, NULL, '6' },
                { "opt", required_argument, NULL, 'o' },    { "label", required_argument, NULL, 'l' },
                { "aux-address", required_argument, NULL, 'a' },
                { "ipv4", optional_argument, NULL, '4' },   { "ipam-driver", required_argument, NULL, 'D' },
                { "help", no_argument, NULL, 'h' },         {},
        };
        const char *subnets[CTL_MAX_LIST], *gateways[CTL_MAX_LIST], *ranges[CTL_MAX_LIST], *auxs[CTL_MAX_LIST],
                *driver = NULL, *ipam_driver = "default";
        size_t ns = 0, ng = 0, nr = 0, na = 0;
        bool internal = false, ipv6 = false, ipv4 = true;
        _cleanup_json_ json_t *options = json_object(), *labels = json_object(), *reply = NULL, *req = NULL;
        json_t *cfg;
        int c;

        while ((c = getopt_long(argc, argv, "+d:o:h", opts, NULL)) >= 0)
                switch (c) {
                case 'd': driver = optarg; break;
                case 's':
                case 'g':
                case 'r': {
                        const char **list = c == 's' ? subnets : c == 'g' ? gateways : ranges;
                        size_t *n = c == 's' ? &ns : c == 'g' ? &ng : &nr;
                        if (*n == CTL_MAX_LIST) {
                                fprintf(stderr, "netctl: too many --%s\n", opts[c == 's' ? 1 : c == 'g' ? 2 : 3].name);
                                return 2;
                        }
                        list[(*n)++] = optarg;
                        break;
                }
                case 'a':
                        if (na == CTL_MAX_LIST) {
                                fprintf(stderr, "netctl: too many --aux-address\n");
                                return 2;
                        }
                        auxs[na++] = optarg;
                        break;
                case 'i': internal = true; break;
                case '6': ipv6 = true; break;
                case '4':
                        if (optarg && strcmp(optarg, "true") != 0 && strcmp(optarg, "false") != 0) {
                                fprintf(stderr, "netctl: --ipv4='%s': want true or false\n", optarg);
                                return 2;
                        }
                        ipv4 = !optarg || strcmp(optarg, "true") == 0;
                        break;
                case 'D': ipam_driver = optarg; break;
                case 'o':
                        if (add_kv(options, optarg, "--opt") < 0)
                                return 2;
                        break;
                case 'l':
                        if (add_kv(labels, optarg, "--label") < 0)
                                return 2;
                        break;
                case 'h': fputs(create_usage, stdout); return 0;
                default: fputs(create_usage, stderr); return 2;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "netctl: network create needs exactly one NAME\n%s", create_usage);
                return 2;
        }

        /* Pair gateways and ranges with the subnet containing them, as
         * docker does; the daemon validates the rest. */
        cfg = json_array();
        for (size_t i = 0; i < ns; i++) {
                json_t *e = json_pack("{s:s}", "Subnet", subnets[i]);
                json_array_append_new(cfg, e);
        }
        for (size_t k = 0; k < ng + nr; k++) {
                bool gw = k < ng;
                const char *v = gw ? gateways[k] : ranges[k - ng];
                nd_prefix p, sp;
                nd_addr a;
                bool placed = false;
                if (gw ? nd_addr_parse(v, &a) < 0 : nd_prefix_parse(v, 0, &p, NULL) < 0) {
                        fprintf(stderr, "netctl: invalid --%s '%s'\n", gw ? "gateway" : "ip-range", v);
                        json_decref(cfg);
                        return 1;
                }
                for (size_t i = 0; i < ns && !placed; i++) {
                        json_t *e = json_array_get(cfg, i);
                        const char *key = gw ? "Gateway" : "IPRange";
                        if (nd_prefix_parse(subnets[i], 0, &sp, NULL) < 0 || json_object_get(e, key))
                                continue;
                        if (gw ? nd_prefix_contains(&sp, &a) : nd_prefix_overlap(&sp, &p)) {
                                json_object_set_new(e, key, json_string(v));
                                placed = true;
                        }
                }
                if (!placed) {
                        fprintf(stderr, "netctl: --%s '%s' is in no --subnet given (or its subnet has one already)\n",
                                gw ? "gateway" : "ip-range", v);
                        json_decref(cfg);
                        return 1;
                }
        }
        for (size_t k = 0; k < na; k++)
                if (aux_place(cfg, subnets, ns, auxs[k]) < 0) {
                        json_decref(cfg);
                        return 1;
                }
        req = json_pack("{s:s, s:b, s:b, s:b, s:{s:s, s:o}, s:O, s:O}", "Name", argv[optind], "Internal", internal,
                        "EnableIPv4", ipv4, "EnableIPv6", ipv6, "IPAM", "Driver", ipam_driver, "Config", cfg,
                        "Options", options, "Labels", labels);
        if (driver)
                json_object_set_new(req, "Driver", json_string(driver));
        long st = call("POST", "/v1/networks", req, &reply);
        if (st != 201)
                return fail(st, reply, NULL);
        printf("%s\n", json_string_value(json_object_get(reply, "Id")));
        return 0;
}

/* ---- network ls / inspect / rm ------------------------------------------- */

static const char ls_usage[] =
        "Usage: netctl network ls [OPTIONS]\n"
        "\n"
        "List networks.\n"
        "\n"
        "Options:\n"
        "      --format FORMAT   table (default) or json\n"
        "  -q, --quiet           only ids\n"
        "      --no-trunc        full ids\n"
        "  -h, --help            this help\n";

static int network_ls(int argc, char **argv) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' },
                { "no-trunc", no_argument, NULL, 'n' },     { "help", no_argument, NULL, 'h' }, {},
        };
        const char *format = "table";
        bool quiet = false, notrunc = false;
        _cleanup_json_ json_t *reply = NULL;
        json_t *n;
        size_t i;
        int c;

        while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) >= 0)
                switch (c) {
                case 'f': format = optarg; break;
                case 'q': quiet = true; break;
                case 'n': notrunc = true; break;
                case 'h': fputs(ls_usage, stdout); return 0;
                default: fputs(ls_usage, stderr); return 2;
                }
        if (optind != argc || (strcmp(format, "table") && strcmp(format, "json"))) {
                fputs(ls_usage, stderr);
                return 2;
        }
        long st = call("GET", "/v1/networks", NULL, &reply);
        if (st != 200 || !json_is_array(reply))
                return fail(st, reply, NULL);
        if (strcmp(format, "json") == 0) {
                print_json(reply);
                return 0;
        }
        if (!quiet)
                printf("%-*s  %-20s  %-8s  %-6s  %s\n", notrunc ? 64 : 12, "NETWORK ID", "NAME", "DRIVER", "SCOPE",
                       "SUBNETS");
        json_array_foreach(reply, i, n) {
                const char *id = json_string_value(json_object_get(n, "Id"));
                if (!id)
                        continue;
                if (quiet) {
                        printf("%.*s\n", notrunc ? 64 : 12, id);
                        continue;
                }
                char subnets[256] = "";
                size_t k;
                json_t *e;
                json_array_foreach(json_object_get(json_object_get(n, "IPAM"), "Config"), k, e) {
                        const char *s = json_string_value(json_object_get(e, "Subnet"));
                        size_t used = strlen(subnets);
                        snprintf(subnets + used, sizeof(subnets) - used, "%s%s", k ? "," : "", s ? s : "");
                }
                printf("%-*.*s  %-20s  %-8s  %-6s  %s\n", notrunc ? 64 : 12, notrunc ? 64 : 12, id,
                       json_string_value(json_object_get(n, "Name")),
                       json_string_value(json_object_get(n, "Driver")),
                       json_string_value(json_object_get(n, "Scope")), subnets);
        }
        return 0;
}

static const char inspect_usage[] =
        "Usage: netctl network inspect [-f|--format TEMPLATE] NETWORK...\n"
        "\n"
        "Show networks (by name, id or unique id prefix) as a JSON array, or each\n"
        "through TEMPLATE, one line per network.  TEMPLATE takes what scripts use\n"
        "of Go's templates: text, {{.Field}}, {{.A.B}}, {{json .}}, {{json .Field}}\n"
        "and {{range .Field}}...{{end}}; anything else is refused (exit 2).\n";

static int network_inspect(int argc, char **argv) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, {},
        };
        _cleanup_json_ json_t *out = json_array();
        const char *format = NULL;
        nd_fmt *tmpl = NULL;
        char err[256];
        int rc = 0, o;

        while ((o = getopt_long(argc, argv, "+f:h", opts, NULL)) >= 0)
                switch (o) {
                case 'f': format = optarg; break;
                case 'h': fputs(inspect_usage, stdout); return 0;
                default: fputs(inspect_usage, stderr); return 2;
                }
        if (optind >= argc) {
                fputs(inspect_usage, stderr);
                return 2;
        }
        if (format && nd_fmt_parse(format, &tmpl, err, sizeof(err)) < 0) {
                fprintf(stderr, "netctl: %s\n", err);
                return 2;
        }
        for (int i = optind; i < argc; i++) {
                char path[512];
                json_t *reply = NULL;
                if (!segment_ok(argv[i])) {
                        fprintf(stderr, "netctl: no such network: '%s'\n", argv[i]);
                        rc = 1;
                        continue;
                }
                snprintf(path, sizeof(path), "/v1/networks/%s", argv[i]);
                long st = call("GET", path, NULL, &reply);
                if (st == 200)
                        json_array_append(out, reply);
                else
                        rc = fail(st, reply, NULL);
                json_decref(reply);
                if (st < 0) {
                        nd_fmt_free(tmpl);
                        return 1;
                }
        }
        if (!tmpl) {
                print_json(out);
                return rc;
        }
        /* every network rendered before anything is printed */
        _cleanup_free_ char *all = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&all, &size);
        size_t i;
        json_t *n;
        json_array_foreach(out, i, n) {
                _cleanup_free_ char *s = NULL;
                if (!f || nd_fmt_render(tmpl, n, &s, err, sizeof(err)) < 0) {
                        if (f)
                                fclose(f);
                        fprintf(stderr, "netctl: %s\n", f ? err : "out of memory");
                        nd_fmt_free(tmpl);
                        return 2;
                }
                fprintf(f, "%s\n", s);
        }
        nd_fmt_free(tmpl);
        if (!f || fclose(f) != 0) {
                fprintf(stderr, "netctl: out of memory\n");
                return 1;
        }
        fputs(all, stdout);
        return rc;
}

static const char rm_usage[] =
        "Usage: netctl network rm NETWORK...\n"
        "\n"
        "Remove networks (by name, id or unique id prefix).  A network with\n"
        "addresses in use is refused.\n";

static int network_rm(int argc, char **argv) {
        int usage_rc = ctl_usage(argc, argv, rm_usage, 2);
        if (usage_rc >= 0)
                return usage_rc;
        return ctl_each(argv + 1, argc - 1, "DELETE", "/v1/networks/", NULL, "network");
}

/* ---- ipam ------------------------------------------------------------------ */

static const char ipam_usage[] =
        "Usage: netctl ipam COMMAND\n"
        "\n"
        "Address allocations of a network (what endpoints and IPAM plugins use).\n"
        "\n"
        "Commands:\n"
        "  alloc [--ip IP] [--ipv6] [--owner TEXT] NETWORK   allocate an address, print it\n"
        "  release NETWORK IP                                 release an address\n"
        "  ls NETWORK                                         list allocated addresses\n";

static int ipam_cmd(int argc, char **argv) {
        static const struct option opts[] = {
                { "ip", required_argument, NULL, 'i' }, { "ipv6", no_argument, NULL, '6' },
                { "owner", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' }, {},
        };
        _cleanup_json_ json_t *reply = NULL;
        char path[512];
        long st;

        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                fputs(ipam_usage, argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        if (strcmp(argv[1], "alloc") == 0) {
                const char *ip = NULL, *owner = NULL;
                bool v6 = false;
                int c;
                argc--, argv++;
                optind = 1;
                while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0)
                        switch (c) {
                        case 'i': ip = optarg; break;
                        case '6': v6 = true; break;
                        case 'o': owner = optarg; break;
                        case 'h': fputs(ipam_usage, stdout); return 0;
                        default: fputs(ipam_usage, stderr); return 2;
                        }
                if (optind + 1 != argc || !segment_ok(argv[optind])) {
                        fputs(ipam_usage, stderr);
                        return 2;
                }
                _cleanup_json_ json_t *req = json_pack("{s:s}", "Family", v6 ? "ipv6" : "ipv4");
                if (ip)
                        json_object_set_new(req, "Address", json_string(ip));
                if (owner)
                        json_object_set_new(req, "Owner", json_string(owner));
                snprintf(path, sizeof(path), "/v1/networks/%s/addresses", argv[optind]);
                st = call("POST", path, req, &reply);
                if (st != 201)
                        return fail(st, reply, NULL);
                printf("%s\n", json_string_value(json_object_get(reply, "Address")));
                return 0;
        }
        if (strcmp(argv[1], "release") == 0) {
                if (wants_help(argc - 1, argv + 1)) {
                        fputs(ipam_usage, stdout);
                        return 0;
                }
                if (argc != 4 || !segment_ok(argv[2]) || !segment_ok(argv[3])) {
                        fputs(ipam_usage, stderr);
                        return 2;
                }
                snprintf(path, sizeof(path), "/v1/networks/%s/addresses/%s", argv[2], argv[3]);
                st = call("DELETE", path, NULL, &reply);
                return st == 204 ? 0 : fail(st, reply, NULL);
        }
        if (strcmp(argv[1], "ls") == 0) {
                size_t i;
                json_t *e;
                if (wants_help(argc - 1, argv + 1)) {
                        fputs(ipam_usage, stdout);
                        return 0;
                }
                if (argc != 3 || !segment_ok(argv[2])) {
                        fputs(ipam_usage, stderr);
                        return 2;
                }
                snprintf(path, sizeof(path), "/v1/networks/%s/addresses", argv[2]);
                st = call("GET", path, NULL, &reply);
                if (st != 200)
                        return fail(st, reply, NULL);
                printf("%-40s  %s\n", "ADDRESS", "OWNER");
                json_array_foreach(reply, i, e)
                        printf("%-40s  %s\n", json_string_value(json_object_get(e, "Address")),
                               json_string_value(json_object_get(e, "Owner")));
                return 0;
        }
        fprintf(stderr, "netctl: unknown ipam command '%s'\n%s", argv[1], ipam_usage);
        return 2;
}

/* ---- top level ------------------------------------------------------------- */

static const char network_usage[] =
        "Usage: netctl network COMMAND\n"
        "\n"
        "Manage networks.\n"
        "\n"
        "Commands:\n"
        "  create    create a network\n"
        "  ls        list networks\n"
        "  inspect   show networks in detail\n"
        "  rm        remove networks\n"
        "  connect   attach a running container to a network\n"
        "  disconnect  detach a container from a network\n"
        "\n"
        "Run 'netctl network COMMAND --help' for a command's options.\n";

static int network_cmd(int argc, char **argv) {
        static const struct {
                const char *name, *alias;
                int (*fn)(int, char **);
        } cmds[] = {
                { "create", NULL, network_create }, { "ls", "list", network_ls },
                { "inspect", NULL, network_inspect }, { "rm", "remove", network_rm },
                { "connect", NULL, ctl_network_connect }, { "disconnect", NULL, ctl_network_disconnect },
        };
        if (argc < 2) {
                fputs(network_usage, stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                fputs(network_usage, stdout);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(cmds); i++)
                if (strcmp(argv[1], cmds[i].name) == 0 || (cmds[i].alias && strcmp(argv[1], cmds[i].alias) == 0)) {
                        optind = 1;
                        return cmds[i].fn(argc - 1, argv + 1);
                }
        fprintf(stderr, "netctl: unknown network command '%s'\n%s", argv[1], network_usage);
        return 2;
}

static const char version_usage[] = "Usage: netctl version\n\nShow the client's and the daemon's versions.\n";

static int version_cmd(int argc, char **argv) {
        _cleanup_json_ json_t *reply = NULL;
        if (wants_help(argc, argv)) {
                fputs(version_usage, stdout);
                return 0;
        }
        printf("Client: netctl %s\n", ND_VERSION);
        long st = call("GET", "/v1/version", NULL, &reply);
        if (st != 200)
                return fail(st, reply, NULL);
        printf("Server: netd %s (api %s, store %s, kernel %s)\n", json_string_value(json_object_get(reply, "Version")),
               json_string_value(json_object_get(reply, "ApiVersion")),
               json_string_value(json_object_get(reply, "Store")),
               json_string_value(json_object_get(reply, "KernelVersion")));
        return 0;
}

static const char node_usage[] =
        "Usage: netctl node ls [--format json]\n"
        "       netctl node rm NODE...\n"
        "\n"
        "The hosts of the cluster (netd --store etcd://...).\n"
        "  ls   id, name, advertise address, state (live, down, reclaiming), endpoints and address blocks\n"
        "  rm   remove nodes that are down (by id, unique id prefix or unique name): their address\n"
        "       blocks and records; refused while a node is live\n";

static int node_cmp(const void *a, const void *b) {
        const json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
        int c = strcmp(json_string_value(json_object_get(x, "Name")) ?: "", json_string_value(json_object_get(y, "Name")) ?: "");
        return c ? c : strcmp(json_string_value(json_object_get(x, "Id")) ?: "", json_string_value(json_object_get(y, "Id")) ?: "");
}

static int node_rm(int argc, char **argv) {
        int rc = 0;
        if (argc < 3) {
                fputs(node_usage, stderr);
                return 2;
        }
        for (int i = 2; i < argc; i++) {
                _cleanup_json_ json_t *reply = NULL;
                char path[256];
                if (strlen(argv[i]) > 128 || strchr(argv[i], '/')) {
                        fprintf(stderr, "netctl: invalid node '%s'\n", argv[i]);
                        rc = 1;
                        continue;
                }
                snprintf(path, sizeof(path), "/v1/nodes/%s", argv[i]);
                long st = call("DELETE", path, NULL, &reply);
                if (st != 204 && st != 200)
                        rc = fail(st, reply, NULL);
                else
                        printf("%s\n", argv[i]);
        }
        return rc;
}

static int node_cmd(int argc, char **argv) {
        _cleanup_json_ json_t *reply = NULL;
        bool json = false;
        size_t i, n_nodes;
        if (wants_help(argc, argv) || (argc >= 2 && wants_help(argc - 1, argv + 1))) {
                fputs(node_usage, stdout);
                return 0;
        }
        if (argc >= 2 && (strcmp(argv[1], "rm") == 0 || strcmp(argv[1], "remove") == 0))
                return node_rm(argc, argv);
        if (argc < 2 || (strcmp(argv[1], "ls") != 0 && strcmp(argv[1], "list") != 0)) {
                fputs(node_usage, stderr);
                return 2;
        }
        if (argc == 4 && strcmp(argv[2], "--format") == 0 && strcmp(argv[3], "json") == 0)
                json = true;
        else if (argc != 2) {
                fputs(node_usage, stderr);
                return 2;
        }
        long st = call("GET", "/v1/nodes", NULL, &reply);
        if (st != 200 || !json_is_array(reply))
                return fail(st, reply, NULL);
        n_nodes = json_array_size(reply);
        json_t **v = calloc(n_nodes ? n_nodes : 1, sizeof(*v));
        if (!v)
                return 1;
        for (i = 0; i < n_nodes; i++)
                v[i] = json_array_get(reply, i);
        qsort(v, n_nodes, sizeof(*v), node_cmp);
        if (json) {
                json_t *sorted = json_array();
                for (i = 0; i < n_nodes; i++)
                        json_array_append(sorted, v[i]);
                print_json(sorted);
                json_decref(sorted);
                free(v);
                return 0;
        }
        printf("%-12s  %-20s  %-16s  %-10s  %-9s  %-6s  %s\n", "ID", "NAME", "ADDRESS", "STATE", "ENDPOINTS", "BLOCKS",
               "");
        for (i = 0; i < n_nodes; i++) {
                const json_t *n = v[i];
                char state[32];
                snprintf(state, sizeof(state), "%s", json_string_value(json_object_get(n, "State")) ?: "?");
                printf("%-12.12s  %-20s  %-16s  %-10s  %-9lld  %-6lld  %s\n", json_string_value(json_object_get(n, "Id")) ?: "",
                       json_string_value(json_object_get(n, "Name")) ?: "", json_string_value(json_object_get(n, "Addr")) ?: "",
                       state, (long long) json_integer_value(json_object_get(n, "Endpoints")),
                       (long long) json_integer_value(json_object_get(n, "Blocks")),
                       json_is_true(json_object_get(n, "Self")) ? "(this host)" : "");
        }
        free(v);
        return 0;
}

static const char main_usage[] =
        "Usage: netctl [--socket PATH] COMMAND [ARGS...]\n"
        "\n"
        "Command-line client of the netd container networking daemon.\n"
        "\n"
        "Options:\n"
        "  --socket PATH   daemon socket (default: $NETD_SOCKET, else " DEFAULT_SOCKET ")\n"
        "  --version       print the client version\n"
        "  -h, --help      this help\n"
        "\n"
        "Commands:\n"
        "  network   create, list, inspect, remove, connect and disconnect networks\n"
        "  run       create and start a container\n"
        "  create    create a container and wire its network, without starting it\n"
        "  start     start created or stopped containers\n"
        "  ps        list containers\n"
        "  stop      stop containers\n"
        "  rm        remove containers\n"
        "  logs      print a container's output\n"
        "  exec      run a command in a running container\n"
        "  inspect   show containers in detail\n"
        "  port      list a container's published ports\n"
        "  rootfs    build the default root filesystem (rootfs init)\n"
        "  ipam      allocate and release addresses of a network\n"
        "  service   create, list, inspect and remove services (a virtual IP per\n"
        "            network in front of containers, DNS names, published ports)\n"
        "  node      the hosts of the cluster (node ls, node rm)\n"
        "  topology  hosts, networks, endpoints and services as a Graphviz graph (or JSON)\n"
        "  events    follow what netd does (containers, networks, endpoints, services,\n"
        "            nodes, firewall repairs), as they happen\n"
        "  version   client and daemon versions\n"
        "\n"
        "Run 'netctl COMMAND --help' for more on a command.\n";

int main(int argc, char **argv) {
        int i = 1, r;

        socket_path = getenv("NETD_SOCKET");
        if (!socket_path || !*socket_path)
                socket_path = DEFAULT_SOCKET;
        for (; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
                        socket_path = argv[++i];
                else if (strncmp(argv[i], "--socket=", 9) == 0)
                        socket_path = argv[i] + 9;
                else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        fputs(main_usage, stdout);
                        return 0;
                } else if (strcmp(argv[i], "--version") == 0) {
                        printf("netctl %s\n", ND_VERSION);
                        return 0;
                } else {
                        fprintf(stderr, "netctl: unknown option '%s'\n%s", argv[i], main_usage);
                        return 2;
                }
        }
        if (i == argc) {
                fputs(main_usage, stderr);
                return 2;
        }
        if (strcmp(argv[i], "network") == 0)
                r = network_cmd(argc - i, argv + i);
        else if (strcmp(argv[i], "ipam") == 0)
                r = ipam_cmd(argc - i, argv + i);
        else if (strcmp(argv[i], "version") == 0)
                r = version_cmd(argc - i, argv + i);
        else if (strcmp(argv[i], "node") == 0)
                r = node_cmd(argc - i, argv + i);
        else {
                static const struct {
                        const char *name;
                        int (*fn)(int, char **);
                } cmds[] = {
                        { "run", ctl_run },   { "create", ctl_run }, { "start", ctl_start },
                        { "ps", ctl_ps },     { "stop", ctl_stop },
                        { "rm", ctl_rm },     { "logs", ctl_logs }, { "exec", ctl_exec },
                        { "inspect", ctl_inspect }, { "rootfs", ctl_rootfs },
                        { "port", ctl_port }, { "service", ctl_service },
                        { "topology", ctl_topology },
                        { "events", ctl_events },
                };
                r = -1;
                for (size_t k = 0; k < ELEMENTSOF(cmds); k++)
                        if (strcmp(argv[i], cmds[k].name) == 0) {
                                optind = 1;
                                r = cmds[k].fn(argc - i, argv + i);
                        }
                if (r < 0) {
                        fprintf(stderr, "netctl: unknown command '%s'\n%s", argv[i], main_usage);
                        r = 2;
                }
        }
        return r;
}
