/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netd-netavark: Podman's network backend interface (netavark's command
 * line, JSON in and out, as netavark 1.4 has it) answered by the running
 * netd.  Podman runs it as "netavark" from containers.conf's
 * helper_binaries_dir (docs/podman.md):
 *
 *   netd-netavark [-f FILE] [--config DIR] [--rootless BOOL]
 *                 [--aardvark-binary PATH] COMMAND
 *     setup NETNS | teardown NETNS   network options on stdin (or -f FILE)
 *     update NETWORK --network-dns-servers IP[,IP...]
 *     create                          a network definition, completed
 *     version | firewalld-reload | firewall-reload
 *
 * setup: per Podman network (netavark-proto.h) the netd network is looked
 * up, else created from Podman's definition; then POST /v1/sandboxes.  A
 * failure undoes what this run attached.  Output: {NETWORK: status block}.
 * teardown: DELETE /v1/sandboxes/CID/IFNAME (an unknown one is success:
 * teardown is idempotent), then DELETE /v1/networks/NET?label=ND_NV_LABEL:
 * netd removes a network the front end created once nothing uses it (409
 * while addresses are in use, or for a network without the label).
 * update: the network's DNS servers, for the sandboxes on it that took
 * them.  --rootless and --aardvark-binary are accepted and ignored:
 * netd's own resolver answers in the namespace.  --config DIR is where a
 * netd started on demand keeps its state (ondemand.h).
 *
 * Errors are {"error": "..."} on stdout and exit status 1, as netavark's.
 * The daemon is found as netctl finds it: $NETD_SOCKET, else
 * /run/netd/netd.sock; with --config DIR, the netd of DIR first, and one
 * is started for the namespace when none answers (ondemand.h).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "grow.h"
#include "json-util.h"
#include "macro.h"
#include "netavark-proto.h"
#include "ondemand.h"
#include "uclient.h"

#define DEFAULT_SOCKET "/run/netd/netd.sock"
/* the netavark interface this front end speaks */
#define NETAVARK_VERSION "1.4.0"
/* long enough for an attach that waits on the store and the kernel */
#define CALL_TIMEOUT_MS (30 * 1000)
#define INPUT_MAX (4u * 1024 * 1024)

static char sock[PATH_MAX];

static int fail(const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        json_t *j = json_pack("{s:s}", "error", msg);
        json_dumpf(j, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(j);
        return 1;
}

static void print_json(json_t *j, size_t flags) {
        json_dumpf(j, stdout, flags);
        fputc('\n', stdout);
}

/* HTTP to netd: the status (-1 unreachable, reason in @d) and the reply. */
static long call(const char *method, const char *path, const json_t *body, json_t **ret, nd_diag *d) {
        return nd_uclient_call(sock, method, path, body, CALL_TIMEOUT_MS, ret, d);
}

static const char *reply_msg(const json_t *r) {
        const char *m = json_string_value(json_object_get(r, "message"));
        return m ? m : "no message";
}

/* @path into a NUL-terminated buffer; stdin when NULL. */
static int read_input(const char *path, char **ret, size_t *ret_len, nd_diag *d) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        FILE *f = path ? fopen(path, "re") : stdin;
        if (!f)
                return nd_diag_set(d, -errno, "IO error: %s (os error %d)", strerror(errno), errno);
        for (;;) {
                if (ND_GROW(buf, len, cap, 4096) < 0)
                        break;
                size_t k = fread(buf + len, 1, cap - len - 1, f);
                len += k;
                if (k == 0 || len > INPUT_MAX)
                        break;
        }
        if (path)
                fclose(f);
        if (!buf)
                return nd_diag_set(d, -ENOMEM, "out of memory");
        if (len > INPUT_MAX)
                return nd_diag_set(d, -EFBIG, "input larger than %u bytes", INPUT_MAX);
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* ---- setup ---- */

/* The netd network @n attaches to: found, or created from Podman's
 * definition.  0, or -1 with the reason in @err. */
static int network_ensure(nd_nv_net *n, char *err, size_t size) {
        char path[160];
        nd_diag d = {};
        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_json_ json_t *r = NULL;
                snprintf(path, sizeof(path), "/v1/networks/%s", n->netd_name);
                long st = call("GET", path, NULL, &r, &d);
                if (st < 0)
                        return snprintf(err, size, "netd is not reachable: %s", d.msg), -1;
                if (st == 200) {
                        if (!nd_nv_network_is_ours(r))
                                nd_nv_net_forget_static_ips(n);
                        return 0;
                }
                if (st != 404)
                        return snprintf(err, size, "netd network %s: %s", n->netd_name, reply_msg(r)), -1;
                if (n->operator_net)
                        return snprintf(err, size, "network %s: netd network %s (option %s) not found", n->name,
                                        n->netd_name, ND_NV_OPTION), -1;
                json_decref(r);
                st = call("POST", "/v1/networks", n->create, &r, &d);
                if (st < 0)
                        return snprintf(err, size, "netd is not reachable: %s", d.msg), -1;
                if (st == 201)
                        return 0;
                /* 409 on the name: another setup made it meanwhile */
                if (st != 409 || !strstr(reply_msg(r), "already exists"))
                        return snprintf(err, size, "create network %s in netd: %s", n->name, reply_msg(r)), -1;
        }
        return snprintf(err, size, "network %s: netd network %s keeps changing", n->name, n->netd_name), -1;
}

static int network_attach(nd_nv_net *n, json_t **ret, char *err, size_t size) {
        nd_diag d = {};
        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_json_ json_t *r = NULL;
                if (network_ensure(n, err, size) < 0)
                        return -1;
                long st = call("POST", "/v1/sandboxes", n->attach, &r, &d);
                if (st < 0)
                        return snprintf(err, size, "netd is not reachable: %s", d.msg), -1;
                if (st == 201) {
                        *ret = TAKE_PTR(r);
                        return 0;
                }
                /* the last teardown on it removed the network in between */
                if (st == 404 && !n->operator_net && strstr(reply_msg(r), "network"))
                        continue;
                return snprintf(err, size, "network %s: %s", n->name, reply_msg(r)), -1;
        }
        return snprintf(err, size, "network %s: netd network %s keeps vanishing", n->name, n->netd_name), -1;
}

/* A network the front end made goes with its last attachment: one
 * request, which netd refuses (409) while the network is in use or when
 * it lacks the front end's label (made by someone else). */
static void network_release(const nd_nv_net *n) {
        _cleanup_json_ json_t *r = NULL;
        char path[192];
        nd_diag d = {};
        if (n->operator_net)
                return;
        snprintf(path, sizeof(path), "/v1/networks/%s?label=" ND_NV_LABEL, n->netd_name);
        (void) call("DELETE", path, NULL, &r, &d);
}

static int detach(const nd_nv_net *n, char *err, size_t size) {
        _cleanup_json_ json_t *r = NULL;
        nd_diag d = {};
        long st = call("DELETE", n->path, NULL, &r, &d);
        if (st < 0)
                return snprintf(err, size, "netd is not reachable: %s", d.msg), -1;
        if (st != 204 && st != 404)
                return snprintf(err, size, "network %s: %s", n->name, reply_msg(r)), -1;
        network_release(n);
        return 0;
}

/* What this run attached before @n, detached again. */
static void undo(nd_nv_call *c, size_t n) {
        char e[256];
        while (n-- > 0)
                (void) detach(&c->nets[n], e, sizeof(e));
}

static int cmd_setup(nd_nv_call *c) {
        _cleanup_json_ json_t *out = json_object();
        char err[768];
        if (!out)
                return fail("out of memory");
        for (size_t i = 0; i < c->n_nets; i++) {
                _cleanup_json_ json_t *sbx = NULL;
                if (network_attach(&c->nets[i], &sbx, err, sizeof(err)) < 0) {
                        undo(c, i);
                        return fail("%s", err);
                }
                json_t *block = nd_nv_status_block(&c->nets[i], sbx);
                if (!block) {
                        undo(c, i + 1);
                        return fail("network %s: netd's reply lacks the interface", c->nets[i].name);
                }
                json_object_set_new(out, c->nets[i].name, block);
        }
        print_json(out, JSON_COMPACT);
        return 0;
}

static int cmd_teardown(nd_nv_call *c) {
        char err[1024] = "", one[512];
        size_t off = 0;
        for (size_t i = 0; i < c->n_nets; i++)
                if (detach(&c->nets[i], one, sizeof(one)) < 0 && off < sizeof(err))
                        off += snprintf(err + off, sizeof(err) - off, "%s%s", off ? "\n" : "", one);
        return off ? fail("%s", err) : 0;
}

/* ---- the rest ---- */

/* __DATE__ __TIME__ ("Dec  1 2026" "07:10:27") as RFC 3339 */
static void build_time(char buf[static 32]) {
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        const char *m = strstr(months, (char[4]) { __DATE__[0], __DATE__[1], __DATE__[2], 0 });
        snprintf(buf, 32, "%.4s-%02d-%02d %s", &__DATE__[7], m ? (int) (m - months) / 3 + 1 : 1, atoi(&__DATE__[4]),
                 __TIME__);
}

static int cmd_version(void) {
        char bt[32];
        build_time(bt);
        _cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "version", NETAVARK_VERSION, "commit",
                                             "0000000000000000000000000000000000000000", "build_time", bt,
                                             "target", "netd", "netd", ND_VERSION);
        print_json(j, JSON_INDENT(2));
        return 0;
}

static int cmd_create(const char *file) {
        _cleanup_free_ char *in = NULL;
        _cleanup_json_ json_t *out = NULL;
        size_t len;
        nd_diag d = {};
        if (read_input(file, &in, &len, &d) < 0)
                return fail("failed to load network options: %s", d.msg);
        if (nd_nv_network_complete(in, len, &out, &d) < 0)
                return fail("%s", d.msg);
        if (!json_object_get(out, "created")) {
                char ts[64];
                time_t now = time(NULL);
                strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
                json_object_set_new(out, "created", json_string(ts));
        }
        print_json(out, JSON_COMPACT);
        return 0;
}

/* "A,B", one flag per server, or the flag's values as separate words,
 * as netavark's clap accepts them; an empty value clears them. */
static int update_servers(json_t *servers, const char *v) {
        _cleanup_free_ char *copy = strdup(v);
        char *save = NULL;
        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
                if (json_array_append_new(servers, json_string(t)) < 0)
                        return -ENOMEM;
        return 0;
}

/* The network's DNS servers for the sandboxes on it that took the
 * network's (not their container's own): PUT /v1/networks/NET/dns-servers.
 * A network netd does not have has nothing on it to update. */
static int cmd_update(const char *config, int argc, char **argv) {
        _cleanup_json_ json_t *servers = json_array(), *body = NULL, *r = NULL;
        const char *net = NULL;
        bool flag = false, in_flag = false;
        for (int i = 0; i < argc; i++) {
                const char *v = NULL;
                if (strcmp(argv[i], "--network-dns-servers") == 0) {
                        flag = in_flag = true;
                        if (i + 1 < argc && argv[i + 1][0] != '-')
                                v = argv[++i];
                } else if (strncmp(argv[i], "--network-dns-servers=", 22) == 0) {
                        flag = true;
                        in_flag = false;
                        v = argv[i] + 22;
                } else if (argv[i][0] == '-')
                        return fail("update: unknown argument '%s'", argv[i]);
                else if (!net && !in_flag)
                        net = argv[i];
                else if (in_flag)
                        v = argv[i];
                else
                        return fail("update: unexpected argument '%s'", argv[i]);
                if (v && update_servers(servers, v) < 0)
                        return fail("out of memory");
        }
        if (!net || !*net || !flag)
                return fail("update: usage: update NETWORK --network-dns-servers IP[,IP...]");
        if (strlen(net) > 128 || strpbrk(net, "/?#% "))
                return fail("update: invalid network name '%s'", net);
        nd_diag d = {};
        int q = nd_nv_netd_socket(config, DEFAULT_SOCKET, false, sock, sizeof(sock), &d);
        if (q < 0)
                return fail("unable to modify network dns servers: %s", d.msg);
        if (q > 0)
                return 0; /* no netd of --config's: no sandbox to update */
        char path[192];
        snprintf(path, sizeof(path), "/v1/networks/%s/dns-servers", net);
        body = json_pack("{s:O}", "DnsServers", servers);
        long st = call("PUT", path, body, &r, &d);
        if (st < 0)
                return fail("unable to modify network dns servers: netd is not reachable: %s", d.msg);
        if (st == 404 && strstr(reply_msg(r), "network"))
                return 0;
        if (st != 200)
                return fail("unable to modify network dns servers: %s", reply_msg(r));
        return 0;
}

static void usage(void) {
        printf("usage: netd-netavark [-f FILE] [--config DIR] [--rootless BOOL] [--aardvark-binary PATH] COMMAND\n"
               "  setup NETNS       attach the namespace to its networks (options on stdin or -f FILE)\n"
               "  teardown NETNS    detach it (idempotent)\n"
               "  update NETWORK --network-dns-servers IP[,IP...]\n"
               "  create            complete a network definition (stdin or -f FILE)\n"
               "  version           netavark-style version JSON\n"
               "  firewalld-reload  nothing to re-apply: netd keeps its own nftables table\n"
               "netd is found at $NETD_SOCKET, else " DEFAULT_SOCKET "\n");
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "file", required_argument, NULL, 'f' },        { "config", required_argument, NULL, 'c' },
                { "rootless", required_argument, NULL, 'r' },    { "aardvark-binary", required_argument, NULL, 'a' },
                { "firewall-driver", required_argument, NULL, 'F' }, { "plugin-directory", required_argument, NULL, 'P' },
                { "version", no_argument, NULL, 'V' },           { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *file = NULL, *config = NULL;
        int o;

        while ((o = getopt_long(argc, argv, "+f:c:r:a:Vh", opts, NULL)) != -1)
                switch (o) {
                case 'f':
                        file = optarg;
                        break;
                case 'r':
                        if (strcmp(optarg, "true") && strcmp(optarg, "false"))
                                return fail("invalid value '%s' for '--rootless <ROOTLESS>'", optarg);
                        break;
                case 'c':
                        config = optarg;
                        break;
                case 'a': case 'F': case 'P':
                        break;
                case 'V':
                        printf("netavark " NETAVARK_VERSION " (netd-netavark " ND_VERSION ")\n");
                        return 0;
                case 'h':
                        usage();
                        return 0;
                default:
                        return fail("invalid arguments (see netd-netavark --help)");
                }
        if (optind >= argc)
                return usage(), 2;
        const char *cmd = argv[optind];
        int rest = argc - optind - 1;
        char **args = argv + optind + 1;

        if (strcmp(cmd, "version") == 0)
                return cmd_version();
        if (strcmp(cmd, "firewalld-reload") == 0 || strcmp(cmd, "firewall-reload") == 0)
                return 0;
        if (strcmp(cmd, "create") == 0)
                return cmd_create(file);
        if (strcmp(cmd, "update") == 0)
                return cmd_update(config, rest, args);
        bool setup = strcmp(cmd, "setup") == 0;
        if (!setup && strcmp(cmd, "teardown") != 0)
                return fail("unknown command '%s' (see netd-netavark --help)", cmd);
        if (rest != 1 || !*args[0])
                return fail("%s: exactly one network namespace path required", cmd);
        const char *netns = args[0];
        struct stat st;
        if (setup && stat(netns, &st) < 0)
                return fail("invalid namespace path: IO error: %s (os error %d)", strerror(errno), errno);

        _cleanup_free_ char *in = NULL;
        size_t len;
        nd_diag d = {};
        if (read_input(file, &in, &len, &d) < 0)
                return fail("failed to load network options: %s", d.msg);
        nd_nv_call c;
        int r = nd_nv_parse(in, len, netns, &c, &d);
        if (r < 0) {
                nd_nv_call_done(&c);
                return fail("failed to load network options: %s", d.msg);
        }
        r = nd_nv_netd_socket(config, DEFAULT_SOCKET, setup, sock, sizeof(sock), &d);
        if (r != 0) {
                nd_nv_call_done(&c);
                /* 1: a teardown with no netd of --config's ever started */
                return r > 0 ? 0 : fail("%s", d.msg);
        }
        r = setup ? cmd_setup(&c) : cmd_teardown(&c);
        nd_nv_call_done(&c);
        return r;
}
