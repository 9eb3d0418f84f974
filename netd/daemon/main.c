/* SPDX-License-Identifier: Apache-2.0 */
/* netd: the per-host container networking daemon. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "firewall.h"
#include "prefix.h"
#include "log.h"
#include "daemon.h"

#define MAX_POOLS 64

static void usage(FILE *f) {
        fprintf(f,
                "Usage: netd [OPTIONS]\n"
                "\n"
                "The netd container networking daemon.\n"
                "\n"
                "Options:\n"
                "  --state-dir DIR              persistent state (default /var/lib/netd)\n"
                "  --run-dir DIR                runtime files: pid file, socket (default /run/netd)\n"
                "  --socket PATH                API socket (default RUN_DIR/netd.sock, mode 0660)\n"
                "  --store URL                  'local' (default): embedded store in STATE_DIR;\n"
                "                               'etcd://HOST:PORT[,HOST:PORT...]': share overlay networks,\n"
                "                               address blocks and endpoints with other hosts through etcd\n"
                "                               (host-private state stays in STATE_DIR)\n"
                "  --etcd-cacert FILE           CA of the etcd servers (TLS)\n"
                "  --etcd-cert FILE             client certificate for etcd (TLS)\n"
                "  --etcd-key FILE              its key\n"
                "  --etcd-user USER             etcd authentication: user name (with --etcd-password-file)\n"
                "  --etcd-password-file FILE    the user's password (first line of FILE)\n"
                "  --etcd-insecure              accept plain http to etcd (no TLS): needed without the TLS\n"
                "                               flags; netd warns at every start\n"
                "  --advertise-addr IP|IFACE    this host's address for peers (tunnel endpoint); needed with etcd\n"
                "  --node-name NAME             this host's name in the cluster (default: the host name)\n"
                "  --node-ttl SECONDS           lease of the node record: a dead host's endpoints vanish from its\n"
                "                               peers this long after it stopped renewing (default 10)\n"
                "  --node-grace SECONDS         a node down this long loses its address blocks and records\n"
                "                               (default 3600)\n"
                "  --show-node-id               print this host's node id (made if missing) and exit\n"
                "  --vxlan-port PORT            UDP port of VXLAN tunnels (default 4789)\n"
                "  --metrics-addr HOST:PORT     serve Prometheus metrics (GET /metrics) on TCP too (default off;\n"
                "                               /metrics is always on the API socket)\n"
                "  --docker-api-socket PATH     also serve Docker's network API (docker -H unix://PATH network ...)\n"
                "  --docker-plugin-socket PATH  serve Docker's network and IPAM plugin protocol\n"
                "                               (dockerd looks for /run/docker/plugins/netd.sock)\n"
                "  --docker-host PATH|none      dockerd's API socket, asked for the names of its containers\n"
                "                               on netd networks (default /run/docker.sock)\n"
                "  --default-address-pool SPEC  pool for automatic subnets, 'base=CIDR,size=N';\n"
                "                               repeatable; replaces the defaults\n"
                "  --monitor PATH               the netd-monitor binary (default: next to netd)\n"
                "  --default-rootfs DIR         root filesystem for containers (default STATE_DIR/rootfs/default)\n"
                "  --published-port-range LO-HI host ports for '-p CTRPORT' (default 49153-60999)\n"
                "  --firewall on|off            program nftables (default on): port publishing, masquerade,\n"
                "                               isolation; off leaves nftables and forwarding alone\n"
                "  --sock-lb on|off             balance containers' connections to service VIPs at the\n"
                "                               socket (cgroup BPF; default on where the kernel has it);\n"
                "                               off: through nftables' DNAT only\n"
                "  --dns IP                     upstream DNS server for containers (repeatable, at most 4);\n"
                "                               default: the nameservers of --resolv-conf\n"
                "  --resolv-conf PATH           where upstream servers are read (default /etc/resolv.conf;\n"
                "                               re-read when it changes)\n"
                "  --dns-ttl SECONDS            TTL of container names (default 60; per network: -o dns.ttl=N)\n"
                "  --dns-forward-max N          queries forwarded upstream at once, in total (default 1024);\n"
                "                               beyond it containers get SERVFAIL\n"
                "  --dns-forward-max-per-sandbox N  the same per container (default 128)\n"
                "  --dns-server on|off          the embedded DNS at 127.0.0.11 in sandboxes (default on)\n"
                "  --dns-realtime on|off        answer at real-time priority while the host is contended\n"
                "                               and the DNS uses under a quarter of a CPU (default on;\n"
                "                               docs/dns.md)\n"
                "  --host-dns IPV4[:PORT]       also answer NAME.NETWORK for the host at this address\n"
                "                               (e.g. 127.0.0.153:53; default off; docs/dns.md)\n"
                "  --exit-when-idle SECONDS     exit after SECONDS with no container, no sandbox whose namespace\n"
                "                               exists and no request open,\n"
                "                               or at once when STATE_DIR is removed (netd started on demand\n"
                "                               by netd-netavark; default: never)\n"
                "  --cleanup                    delete netd's nftables table (inet netd) and exit\n"
                "  --max-body BYTES             largest accepted API request body (default 1048576)\n"
                "  --log-level LEVEL            debug, info (default), warning, error\n"
                "  --log-target TARGET          stderr (default) or syslog\n"
                "  --version                    print the version and exit\n"
                "  -h, --help                   this help\n");
}

/* --FLAG on|off: *off set for "off" */
static int parse_off(const char *flag, const char *v, bool *off) {
        if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
                fprintf(stderr, "netd: --%s: want on or off\n", flag);
                return -EINVAL;
        }
        *off = strcmp(v, "off") == 0;
        return 0;
}

static int mkdir_p(const char *path, mode_t mode) {
        char buf[PATH_MAX];
        if (strlen(path) >= sizeof(buf))
                return -ENAMETOOLONG;
        strcpy(buf, path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* Hold an exclusive lock on RUN_DIR/netd.pid for the life of the process;
 * a second daemon on the same run dir is refused with the holder's pid. */
static int take_pid_lock(const char *run_dir, char *path, size_t size) {
        char buf[32];
        int fd;

        snprintf(path, size, "%s/netd.pid", run_dir);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int err = errno;
                ssize_t k = read(fd, buf, sizeof(buf) - 1);
                buf[k > 0 ? k : 0] = 0;
                buf[strcspn(buf, "\n")] = 0;
                close(fd);
                if (err == EWOULDBLOCK) {
                        fprintf(stderr, "netd: another netd (pid %s) is already running with run dir %s\n",
                                *buf ? buf : "?", run_dir);
                        return -EBUSY;
                }
                return -err;
        }
        snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, strlen(buf), 0) < 0) {
                int err = errno;
                close(fd);
                return -err;
        }
        return fd;
}

int main(int argc, char **argv) {
        enum { OPT_STATE = 256, OPT_RUN, OPT_SOCKET, OPT_STORE, OPT_POOL, OPT_LOGLEVEL, OPT_LOGTARGET,
               OPT_VERSION, OPT_MAXBODY, OPT_MONITOR, OPT_ROOTFS,
               OPT_PORTRANGE, OPT_FIREWALL, OPT_SOCKLB, OPT_CLEANUP, OPT_DNS, OPT_RESOLV, OPT_DNSTTL, OPT_DNSSERVER, OPT_HOSTDNS,
               OPT_DNSRT,
               OPT_CACERT, OPT_CERT, OPT_KEY, OPT_ADVERTISE, OPT_NODE, OPT_NODETTL, OPT_VXLANPORT, OPT_DOCKER, OPT_PLUGIN, OPT_DOCKERHOST,
               OPT_NODEGRACE, OPT_INSECURE, OPT_ETCDUSER, OPT_ETCDPASS, OPT_SHOWID, OPT_FWDMAX, OPT_FWDMAXSB, OPT_METRICS,
               OPT_IDLE };
        static const struct option opts[] = {
                { "state-dir", required_argument, NULL, OPT_STATE },
                { "run-dir", required_argument, NULL, OPT_RUN },
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "store", required_argument, NULL, OPT_STORE },
                { "default-address-pool", required_argument, NULL, OPT_POOL },
                { "max-body", required_argument, NULL, OPT_MAXBODY },
                { "monitor", required_argument, NULL, OPT_MONITOR },
                { "default-rootfs", required_argument, NULL, OPT_ROOTFS },
                { "published-port-range", required_argument, NULL, OPT_PORTRANGE },
                { "firewall", required_argument, NULL, OPT_FIREWALL },
                { "sock-lb", required_argument, NULL, OPT_SOCKLB },
                { "cleanup", no_argument, NULL, OPT_CLEANUP },
                { "exit-when-idle", required_argument, NULL, OPT_IDLE },
                { "dns", required_argument, NULL, OPT_DNS },
                { "resolv-conf", required_argument, NULL, OPT_RESOLV },
                { "dns-ttl", required_argument, NULL, OPT_DNSTTL },
                { "dns-forward-max", required_argument, NULL, OPT_FWDMAX },
                { "metrics-addr", required_argument, NULL, OPT_METRICS },
                { "dns-forward-max-per-sandbox", required_argument, NULL, OPT_FWDMAXSB },
                { "dns-server", required_argument, NULL, OPT_DNSSERVER },
                { "dns-realtime", required_argument, NULL, OPT_DNSRT },
                { "host-dns", required_argument, NULL, OPT_HOSTDNS },
                { "docker-api-socket", required_argument, NULL, OPT_DOCKER },
                { "docker-plugin-socket", required_argument, NULL, OPT_PLUGIN },
                { "docker-host", required_argument, NULL, OPT_DOCKERHOST },
                { "etcd-cacert", required_argument, NULL, OPT_CACERT },
                { "etcd-cert", required_argument, NULL, OPT_CERT },
                { "etcd-key", required_argument, NULL, OPT_KEY },
                { "advertise-addr", required_argument, NULL, OPT_ADVERTISE },
                { "node-name", required_argument, NULL, OPT_NODE },
                { "node-ttl", required_argument, NULL, OPT_NODETTL },
                { "node-grace", required_argument, NULL, OPT_NODEGRACE },
                { "etcd-insecure", no_argument, NULL, OPT_INSECURE },
                { "etcd-user", required_argument, NULL, OPT_ETCDUSER },
                { "etcd-password-file", required_argument, NULL, OPT_ETCDPASS },
                { "show-node-id", no_argument, NULL, OPT_SHOWID },
                { "vxlan-port", required_argument, NULL, OPT_VXLANPORT },
                { "log-level", required_argument, NULL, OPT_LOGLEVEL },
                { "log-target", required_argument, NULL, OPT_LOGTARGET },
                { "version", no_argument, NULL, OPT_VERSION },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        nd_manager_config cfg = { .state_dir = "/var/lib/netd", .run_dir = "/run/netd", .store_url = "local" };
        const char *pools[MAX_POOLS + 1] = {0};
        char socket_path[PATH_MAX], pid_path[PATH_MAX];
        size_t n_pools = 0;
        nd_daemon *dm = NULL;
        int c, r, pid_fd;
        bool cleanup = false;
        const char *dns[5] = {0};
        size_t n_dns = 0;
        const char *tls[5] = {0}; /* cacert, cert, key, user, password-file */
        bool insecure = false, show_id = false;
        char store_url[4096];

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case OPT_STATE: cfg.state_dir = optarg; break;
                case OPT_RUN: cfg.run_dir = optarg; break;
                case OPT_SOCKET: cfg.socket_path = optarg; break;
                case OPT_STORE: cfg.store_url = optarg; break;
                case OPT_MONITOR: cfg.monitor_path = optarg; break;
                case OPT_ROOTFS: cfg.default_rootfs = optarg; break;
                case OPT_POOL:
                        if (n_pools == MAX_POOLS) {
                                fprintf(stderr, "netd: at most %d --default-address-pool\n", MAX_POOLS);
                                return 2;
                        }
                        pools[n_pools++] = optarg;
                        break;
                case OPT_MAXBODY: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || v < 1024 || v > 64ul * 1024 * 1024) {
                                fprintf(stderr, "netd: --max-body: want 1024..67108864 bytes\n");
                                return 2;
                        }
                        cfg.max_body = v;
                        break;
                }
                case OPT_PORTRANGE: {
                        unsigned lo, hi;
                        char tail;
                        if (sscanf(optarg, "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1 || hi > 65535 || lo > hi) {
                                fprintf(stderr, "netd: --published-port-range: want LO-HI within 1-65535\n");
                                return 2;
                        }
                        cfg.port_lo = (uint16_t) lo;
                        cfg.port_hi = (uint16_t) hi;
                        break;
                }
                case OPT_FIREWALL:
                        if (parse_off("firewall", optarg, &cfg.no_firewall) < 0)
                                return 2;
                        break;
                case OPT_SOCKLB:
                        if (parse_off("sock-lb", optarg, &cfg.no_sock_lb) < 0)
                                return 2;
                        break;
                case OPT_CLEANUP:
                        cleanup = true;
                        break;
                case OPT_DNS: {
                        nd_addr a;
                        if (n_dns == 4 || nd_addr_parse(optarg, &a) < 0) {
                                fprintf(stderr, "netd: --dns: want at most 4 IP addresses, got '%s'\n", optarg);
                                return 2;
                        }
                        dns[n_dns++] = optarg;
                        cfg.dns_servers = dns;
                        break;
                }
                case OPT_RESOLV:
                        cfg.resolv_conf = optarg;
                        break;
                case OPT_DNSTTL: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || !*optarg || v > 86400) {
                                fprintf(stderr, "netd: --dns-ttl: want 0..86400 seconds\n");
                                return 2;
                        }
                        cfg.dns_ttl = v ? (unsigned) v : 0;
                        break;
                }
                case OPT_FWDMAX:
                case OPT_FWDMAXSB: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || !*optarg || v < 1 || v > 65536) {
                                fprintf(stderr, "netd: --%s: want 1..65536 queries\n",
                                        c == OPT_FWDMAX ? "dns-forward-max" : "dns-forward-max-per-sandbox");
                                return 2;
                        }
                        if (c == OPT_FWDMAX)
                                cfg.dns_forward_max = (unsigned) v;
                        else
                                cfg.dns_forward_max_sandbox = (unsigned) v;
                        break;
                }
                case OPT_METRICS: cfg.metrics_addr = optarg; break;
                case OPT_IDLE: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || !*optarg || v < 1 || v > 86400) {
                                fprintf(stderr, "netd: --exit-when-idle: want 1..86400 seconds\n");
                                return 2;
                        }
                        cfg.exit_when_idle = (unsigned) v;
                        break;
                }
                case OPT_DOCKER: cfg.docker_socket = optarg; break;
                case OPT_PLUGIN: cfg.plugin_socket = optarg; break;
                case OPT_DOCKERHOST: cfg.docker_host = optarg; break;
                case OPT_CACERT: tls[0] = optarg; break;
                case OPT_CERT: tls[1] = optarg; break;
                case OPT_KEY: tls[2] = optarg; break;
                case OPT_ADVERTISE: cfg.advertise = optarg; break;
                case OPT_NODE: cfg.node_name = optarg; break;
                case OPT_INSECURE: insecure = true; break;
                case OPT_ETCDUSER: tls[3] = optarg; break;
                case OPT_ETCDPASS: tls[4] = optarg; break;
                case OPT_SHOWID: show_id = true; break;
                case OPT_NODEGRACE: {
                        char *end;
                        double v = strtod(optarg, &end);
                        if (*end || !*optarg || !(v >= 1 && v <= 30 * 86400)) {
                                fprintf(stderr, "netd: --node-grace: want 1..2592000 seconds\n");
                                return 2;
                        }
                        cfg.node_grace = v;
                        break;
                }
                case OPT_NODETTL:
                case OPT_VXLANPORT: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        bool ttl = c == OPT_NODETTL;
                        if (*end || !*optarg || v < (ttl ? 2 : 1) || v > (ttl ? 3600 : 65535)) {
                                fprintf(stderr, "netd: --%s: want %s\n", ttl ? "node-ttl" : "vxlan-port",
                                        ttl ? "2..3600 seconds" : "a UDP port");
                                return 2;
                        }
                        if (ttl)
                                cfg.node_ttl = (unsigned) v;
                        else
                                cfg.vxlan_port = (uint16_t) v;
                        break;
                }
                case OPT_HOSTDNS: {
                        nd_addr a;
                        uint16_t port;
                        if (nd_manager_host_dns_parse(optarg, &a, &port) < 0) {
                                fprintf(stderr, "netd: --host-dns: want IPV4[:PORT], got '%s'\n", optarg);
                                return 2;
                        }
                        cfg.host_dns = optarg;
                        break;
                }
                case OPT_DNSSERVER:
                        if (parse_off("dns-server", optarg, &cfg.no_dns) < 0)
                                return 2;
                        break;
                case OPT_DNSRT:
                        if (parse_off("dns-realtime", optarg, &cfg.no_dns_realtime) < 0)
                                return 2;
                        break;
                case OPT_LOGLEVEL:
                        r = nd_log_level_from_string(optarg);
                        if (r < 0) {
                                fprintf(stderr, "netd: --log-level: unknown level '%s' (debug, info, warning, error)\n",
                                        optarg);
                                return 2;
                        }
                        nd_log_max_level = r;
                        break;
                case OPT_LOGTARGET:
                        if (strcmp(optarg, "syslog") == 0)
                                nd_log_set_target_syslog(1);
                        else if (strcmp(optarg, "stderr") != 0) {
                                fprintf(stderr, "netd: --log-target: want stderr or syslog\n");
                                return 2;
                        }
                        break;
                case OPT_VERSION:
                        printf("netd %s\n", ND_VERSION);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "netd: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return 2;
        }
        if (cleanup) {
                r = nd_fw_cleanup();
                if (r < 0) {
                        fprintf(stderr, "netd: deleting the nftables table inet netd failed: %s\n", strerror(-r));
                        return 1;
                }
                printf("deleted the nftables tables inet netd and bridge netd (if they existed)\n");
                return 0;
        }
        if (n_pools)
                cfg.pools = pools;
        if (show_id) {
                char id[ND_NODE_ID_LEN + 1];
                if ((r = mkdir_p(cfg.state_dir, 0700)) < 0 || (r = nd_node_id_load(cfg.state_dir, true, id)) < 0) {
                        fprintf(stderr, "netd: %s/node-id: %s\n", cfg.state_dir, strerror(-r));
                        return 1;
                }
                printf("%s\n", id);
                return 0;
        }
        if (tls[0] || tls[1] || tls[2] || tls[3] || tls[4]) {
                static const char *const names[] = { "cacert", "cert", "key", "user", "password-file" };
                if (strncmp(cfg.store_url, "etcd", 4) != 0) {
                        fprintf(stderr, "netd: --etcd-cacert/--etcd-cert/--etcd-key/--etcd-user need --store etcd://...\n");
                        return 2;
                }
                if (!tls[3] != !tls[4]) {
                        fprintf(stderr, "netd: --etcd-user and --etcd-password-file go together\n");
                        return 2;
                }
                size_t k = (size_t) snprintf(store_url, sizeof(store_url), "%s", cfg.store_url);
                for (int i = 0; i < 5; i++)
                        if (tls[i] && k < sizeof(store_url))
                                k += (size_t) snprintf(store_url + k, sizeof(store_url) - k, "%c%s=%s",
                                                       strchr(store_url, '?') ? '&' : '?', names[i], tls[i]);
                if (k >= sizeof(store_url)) {
                        fprintf(stderr, "netd: --store and TLS paths too long\n");
                        return 2;
                }
                cfg.store_url = store_url;
        }
        if (strncmp(cfg.store_url, "etcd://", 7) == 0 && !tls[0] && !tls[1] && !tls[2] && !insecure) {
                fprintf(stderr, "netd: --store %s is plain http: anyone on the path can read and rewrite the "
                                "cluster's records. Give --etcd-cacert (and --etcd-cert/--etcd-key) for https, or "
                                "--etcd-insecure to accept plain http\n", cfg.store_url);
                return 2;
        }
        if (strncmp(cfg.store_url, "etcd", 4) == 0 && !cfg.advertise) {
                fprintf(stderr, "netd: --store %s needs --advertise-addr IP|INTERFACE (the address peers reach "
                                "this host at)\n", cfg.store_url);
                return 2;
        }
        if (!cfg.socket_path) {
                snprintf(socket_path, sizeof(socket_path), "%s/netd.sock", cfg.run_dir);
                cfg.socket_path = socket_path;
        }

        signal(SIGPIPE, SIG_IGN);
        /* Every container costs descriptors (DNS sockets, pidfds, its
         * namespace): take all the hard limit allows, as systemd's
         * services and dockerd do.  The unit files in examples/ raise the
         * hard limit itself with LimitNOFILE. */
        struct rlimit nofile;
        if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
                nofile.rlim_cur = nofile.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &nofile);
        }
        if ((r = mkdir_p(cfg.run_dir, 0755)) < 0 || (r = mkdir_p(cfg.state_dir, 0700)) < 0) {
                fprintf(stderr, "netd: cannot create directories %s, %s: %s\n", cfg.run_dir, cfg.state_dir,
                        strerror(-r));
                return 1;
        }
        /* the sockets' directories: dockerd's plugin directory may not
         * exist yet when netd starts first */
        const char *extra[] = { cfg.plugin_socket, cfg.docker_socket };
        for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
                char dir[PATH_MAX], *slash;
                if (!extra[i] || strlen(extra[i]) >= sizeof(dir))
                        continue;
                strcpy(dir, extra[i]);
                slash = strrchr(dir, '/');
                if (!slash || slash == dir)
                        continue;
                *slash = 0;
                if ((r = mkdir_p(dir, 0755)) < 0) {
                        fprintf(stderr, "netd: cannot create %s: %s\n", dir, strerror(-r));
                        return 1;
                }
        }
        pid_fd = take_pid_lock(cfg.run_dir, pid_path, sizeof(pid_path));
        if (pid_fd < 0) {
                if (pid_fd != -EBUSY)
                        fprintf(stderr, "netd: cannot lock %s: %s\n", pid_path, strerror(-pid_fd));
                return 1;
        }
        r = nd_daemon_new(&cfg, &dm);
        if (r < 0) {
                nd_log_errno(LOG_ERR, r, "cannot initialise");
                return 1;
        }
        nd_log(LOG_INFO, "starting", "version=%s pid=%ld state_dir=%s run_dir=%s", ND_VERSION, (long) getpid(),
               cfg.state_dir, cfg.run_dir);
        if (insecure && strncmp(cfg.store_url, "etcd://", 7) == 0 && !strchr(cfg.store_url, '?'))
                nd_log(LOG_WARNING, "etcd over plain http (--etcd-insecure): anyone on the path can read and rewrite "
                       "the cluster's records; use https with client certificates in production", "store=%s",
                       cfg.store_url);
        r = nd_daemon_run(dm);
        nd_daemon_free(dm);
        unlink(pid_path);
        close(pid_fd);
        return r < 0 ? 1 : 0;
}
