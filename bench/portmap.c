/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-portmap: publish COUNT ports one after another, each for its own
 * "container", and time each mapping; then the same with the reference
 * CNI portmap plugin (iptables) in the same namespace.  Run inside a
 * throwaway network namespace (bench/portmap.sh).
 *
 * netd's per-mapping work is what the daemon does when a container with
 * one -p starts: hold the host port (a bound socket) and add the map
 * element in one nftables batch.  The plugin is run as a CNI runtime runs
 * it: exec with the config on stdin.
 */
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "firewall.h"
#include "hostport.h"
#include "nft.h"

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(const double *v, size_t n) {
        double *c = malloc(n * sizeof(*c));
        if (!c)
                return 0;
        memcpy(c, v, n * sizeof(*c));
        qsort(c, n, sizeof(*c), cmp_double);
        double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
        free(c);
        return m;
}

static int run_plugin(const char *plugin, const char *cni_path, const char *netns, int i, int port) {
        char cfg[1024], id[64], path[256];
        int in[2];
        snprintf(cfg, sizeof(cfg),
                 "{\"cniVersion\":\"0.4.0\",\"name\":\"bench\",\"type\":\"portmap\","
                 "\"capabilities\":{\"portMappings\":true},"
                 "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":%d,\"containerPort\":80,\"protocol\":\"tcp\"}]},"
                 "\"prevResult\":{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"%s\"}],"
                 "\"ips\":[{\"version\":\"4\",\"address\":\"10.201.%d.%d/16\",\"interface\":0}]}}",
                 port, netns, i / 250, i % 250 + 2);
        snprintf(id, sizeof(id), "CNI_CONTAINERID=bench%d", i);
        snprintf(path, sizeof(path), "CNI_PATH=%s", cni_path);
        if (pipe(in) < 0)
                return -errno;
        fflush(stdout); /* the child must not inherit buffered output */
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char nsenv[300];
                snprintf(nsenv, sizeof(nsenv), "CNI_NETNS=%s", netns);
                char *env[] = { "CNI_COMMAND=ADD", id, nsenv, "CNI_IFNAME=eth0", path,
                                "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
                dup2(in[0], 0);
                close(in[0]);
                close(in[1]);
                if (!freopen("/dev/null", "w", stdout))
                        _exit(127);
                execle(plugin, plugin, (char *) NULL, env);
                _exit(127);
        }
        close(in[0]);
        if (write(in[1], cfg, strlen(cfg)) < 0) {
                close(in[1]);
                return -errno;
        }
        close(in[1]);
        int st;
        if (waitpid(pid, &st, 0) < 0)
                return -errno;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static void report(const char *who, const double *t, size_t n) {
        size_t k = n < 100 ? n / 2 : 100;
        double first = median(t, k), last = median(t + n - k, k);
        printf("%-14s first %zu: median %8.1f us   last %zu: median %8.1f us   last/first %.2f\n", who, k,
               first * 1e6, k, last * 1e6, last / first);
}

int main(int argc, char **argv) {
        int count = argc > 1 ? atoi(argv[1]) : 1000;
        const char *plugin = argc > 2 ? argv[2] : NULL, *netns = argc > 3 ? argv[3] : NULL;
        double *tn = calloc((size_t) count, sizeof(double)), *tc = calloc((size_t) count, sizeof(double));
        struct ev_loop *loop = ev_default_loop(0);
        nd_fw *fw;
        int r;

        if (!tn || !tc || count < 2)
                return 2;
        r = nd_fw_new(loop, &fw);
        if (r < 0) {
                fprintf(stderr, "bench-portmap: nftables: %s\n", strerror(-r));
                return 1;
        }
        nd_fw_owner *net = nd_fw_owner_new(fw, "network bench");
        nd_nft_elem ne[2];
        nd_nft_elem_ifname(&ne[0], ND_SET_BRIDGES, "br-bench");
        nd_nft_elem_ifname2(&ne[1], ND_SET_SAME, "br-bench", "br-bench");
        if (nd_fw_owner_set(fw, net, ne, 2) < 0 || nd_fw_sync(fw) < 0) {
                fprintf(stderr, "bench-portmap: cannot create the table\n");
                return 1;
        }
        nd_fw_owner **owners = calloc((size_t) count, sizeof(*owners));
        int(*fds)[ND_HOSTPORT_FDS] = calloc((size_t) count, sizeof(*fds));
        for (int i = 0; i < count; i++) {
                nd_port_binding b = { .proto = 6, .host_port = (uint16_t) (20000 + i), .ctr_port = 80 };
                nd_addr a = { .family = AF_INET, .b = { 10, 200, (uint8_t) (i / 250), (uint8_t) (i % 250 + 2) } },
                        none = { 0 };
                nd_nft_elem e[ND_FW_BINDING_ELEMS_MAX];
                nd_diag d = {0};
                double t0 = now();
                if (nd_hostport_reserve(&b, fds[i], &d) < 0) {
                        fprintf(stderr, "bench-portmap: %s\n", d.msg);
                        return 1;
                }
                owners[i] = nd_fw_owner_new(fw, "container");
                size_t k = nd_fw_binding_elems(&b, &a, &none, e);
                if (!owners[i] || nd_fw_owner_set(fw, owners[i], e, k) < 0) {
                        fprintf(stderr, "bench-portmap: programming mapping %d failed\n", i);
                        return 1;
                }
                tn[i] = now() - t0;
        }
        printf("bench/portmap: %d mappings, one per container, published one after another\n", count);
        report("netd", tn, (size_t) count);
        /* check: the map really holds them all */
        if (plugin) {
                char cni_path[256];
                snprintf(cni_path, sizeof(cni_path), "%s", plugin);
                char *slash = strrchr(cni_path, '/');
                if (slash)
                        *slash = 0;
                for (int i = 0; i < count; i++) {
                        double t0 = now();
                        r = run_plugin(plugin, cni_path, netns, i, 30000 + i);
                        if (r < 0) {
                                fprintf(stderr, "bench-portmap: the CNI portmap plugin failed at mapping %d\n", i);
                                return 1;
                        }
                        tc[i] = now() - t0;
                }
                report("CNI portmap", tc, (size_t) count);
                printf("median per mapping, all %d: netd %.1f us, CNI portmap %.1f us: netd is %.1fx faster\n", count,
                       median(tn, (size_t) count) * 1e6, median(tc, (size_t) count) * 1e6,
                       median(tc, (size_t) count) / median(tn, (size_t) count));
        }
        for (int i = 0; i < count; i++) {
                nd_fw_owner_free(fw, owners[i]);
                nd_hostport_release(fds[i]);
        }
        nd_fw_free(fw);
        nd_fw_cleanup();
        free(owners);
        free(fds);
        free(tn);
        free(tc);
        return 0;
}
