/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-attach: time to attach a sandbox to a bridge network, N times.
 *
 *  netd: POST /v1/containers?start=0 over one kept-alive connection, which
 *        creates the namespace, the veth pair, addresses, routes, the bundle
 *        and the store record (fdatasync'd) -- everything but the process.
 *  CNI:  the same work as an engine does it with the reference plugins:
 *        create and bind-mount a namespace in process, then exec the
 *        `bridge` plugin (which execs `host-local`) with the CNI
 *        environment and config.
 *
 * Run inside a throwaway host namespace (bench/attach.sh does).  Prints
 * median and p95 for both, their ratio, and the cost of the last attaches
 * against the first ones.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p) {
        double *s = malloc((size_t) n * sizeof(*s));
        memcpy(s, v, (size_t) n * sizeof(*s));
        qsort(s, (size_t) n, sizeof(*s), cmp_double);
        double r = s[(int) (p * (n - 1) + 0.5)];
        free(s);
        return r;
}

/* Median of v[from..to): robust to the odd slow request on a busy host. */
static double median_of(const double *v, int from, int to) {
        return pct(v + from, to - from, 0.5);
}

struct body {
        char buf[4096];
        size_t n;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud) {
        struct body *b = ud;
        size_t k = size * nmemb;
        if (b->n + k < sizeof(b->buf)) {
                memcpy(b->buf + b->n, p, k);
                b->n += k;
                b->buf[b->n] = 0;
        }
        return k;
}

static long request(CURL *c, const char *method, const char *url, const char *payload, struct body *b) {
        long code = 0;
        b->n = 0;
        b->buf[0] = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
        if (!payload)
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L), curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (curl_easy_perform(c) != CURLE_OK)
                return -1;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        return code;
}

static int run_cni(const char *cni_dir, const char *cmd, const char *id, const char *netns, const char *conf) {
        int in[2];
        if (pipe(in) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                char plugin[PATH_MAX], e_cmd[64], e_id[128], e_ns[PATH_MAX + 16], e_path[PATH_MAX + 16];
                dup2(in[0], 0);
                close(in[1]);
                int nul = open("/dev/null", O_WRONLY);
                dup2(nul, 1);
                snprintf(plugin, sizeof(plugin), "%s/bridge", cni_dir);
                snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", cmd);
                snprintf(e_id, sizeof(e_id), "CNI_CONTAINERID=%s", id);
                snprintf(e_ns, sizeof(e_ns), "CNI_NETNS=%s", netns);
                snprintf(e_path, sizeof(e_path), "CNI_PATH=%s", cni_dir);
                char *envp[] = { e_cmd, e_id, e_ns, "CNI_IFNAME=eth0", e_path, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
                char *argv[] = { plugin, NULL };
                execve(plugin, argv, envp);
                _exit(127);
        }
        close(in[0]);
        ssize_t k = write(in[1], conf, strlen(conf));
        (void) k;
        close(in[1]);
        int status;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv) {
        const char *sock = NULL, *cni_dir = "/usr/lib/cni", *net = "bench", *work = NULL, *out = NULL;
        int n = 200;
        for (int i = 1; i + 1 < argc; i += 2) {
                if (!strcmp(argv[i], "--socket"))
                        sock = argv[i + 1];
                else if (!strcmp(argv[i], "--cni-dir"))
                        cni_dir = argv[i + 1];
                else if (!strcmp(argv[i], "--network"))
                        net = argv[i + 1];
                else if (!strcmp(argv[i], "--count"))
                        n = atoi(argv[i + 1]);
                else if (!strcmp(argv[i], "--work"))
                        work = argv[i + 1];
                else if (!strcmp(argv[i], "--out"))
                        out = argv[i + 1];
        }
        if (!sock || !work || n < 20) {
                fprintf(stderr, "usage: bench-attach --socket PATH --work DIR [--network NAME] [--count N>=20] [--cni-dir DIR]\n");
                return 2;
        }
        double *t_netd = calloc((size_t) n, sizeof(double)), *t_cni = calloc((size_t) n, sizeof(double));
        char (*ids)[65] = calloc((size_t) n, 65);
        struct body b;
        char url[256], payload[512];

        /* ---- netd ---- */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        snprintf(payload, sizeof(payload), "{\"Cmd\":[\"sleep\",\"1000\"],\"Networks\":[{\"Network\":\"%s\"}]}", net);
        for (int i = 0; i < n; i++) {
                double t0 = now();
                long code = request(c, "POST", "http://netd/v1/containers?start=0", payload, &b);
                t_netd[i] = now() - t0;
                json_t *j = json_loads(b.buf, 0, NULL);
                if (code != 201 || !json_is_string(json_object_get(j, "Id"))) {
                        fprintf(stderr, "bench-attach: netd create %d failed: HTTP %ld %s\n", i, code, b.buf);
                        return 1;
                }
                snprintf(ids[i], 65, "%s", json_string_value(json_object_get(j, "Id")));
                json_decref(j);
        }
        for (int i = 0; i < n; i++) {
                snprintf(url, sizeof(url), "http://netd/v1/containers/%s?force=1", ids[i]);
                if (request(c, "DELETE", url, NULL, &b) != 204)
                        fprintf(stderr, "bench-attach: removing %s failed: %s\n", ids[i], b.buf);
        }
        curl_easy_cleanup(c);

        /* ---- CNI bridge + host-local ---- */
        char conf[1024], nsdir[PATH_MAX], ns[PATH_MAX + 32], ipam_dir[PATH_MAX];
        snprintf(nsdir, sizeof(nsdir), "%s/cni-netns", work);
        snprintf(ipam_dir, sizeof(ipam_dir), "%s/cni-ipam", work);
        mkdir(nsdir, 0755);
        snprintf(conf, sizeof(conf),
                 "{\"cniVersion\":\"0.4.0\",\"name\":\"bench-cni\",\"type\":\"bridge\",\"bridge\":\"cnibench0\","
                 "\"isGateway\":true,\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.201.0.0/16\","
                 "\"dataDir\":\"%s\"}}", ipam_dir);
        for (int i = 0; i < n; i++) {
                char id[32];
                snprintf(id, sizeof(id), "bench%d", i);
                snprintf(ns, sizeof(ns), "%s/%s", nsdir, id);
                double t0 = now();
                int r = nd_netns_create(ns);
                int rc = r < 0 ? -1 : run_cni(cni_dir, "ADD", id, ns, conf);
                t_cni[i] = now() - t0;
                if (r < 0 || rc != 0) {
                        fprintf(stderr, "bench-attach: CNI ADD %d failed (netns %d, plugin exit %d)\n", i, r, rc);
                        return 1;
                }
        }
        for (int i = 0; i < n; i++) {
                char id[32];
                snprintf(id, sizeof(id), "bench%d", i);
                snprintf(ns, sizeof(ns), "%s/%s", nsdir, id);
                run_cni(cni_dir, "DEL", id, ns, conf);
                nd_netns_remove(ns);
        }

        double nm = pct(t_netd, n, 0.5), n95 = pct(t_netd, n, 0.95), cm = pct(t_cni, n, 0.5), c95 = pct(t_cni, n, 0.95);
        double first = median_of(t_netd, 0, 20), last = median_of(t_netd, n - 20, n);
        printf("attach x%d  netd: median %.2f ms  p95 %.2f ms\n", n, nm * 1e3, n95 * 1e3);
        printf("attach x%d  CNI bridge+host-local: median %.2f ms  p95 %.2f ms\n", n, cm * 1e3, c95 * 1e3);
        printf("ratio CNI/netd (median): %.2fx\n", cm / nm);
        printf("netd attaches %d-%d vs 1-20 (median): %.2f ms vs %.2f ms = %+.0f%% %s\n", n - 19, n, last * 1e3,
               first * 1e3, (last / first - 1) * 100, last <= first * 1.2 ? "(within 20%)" : "(OVER 20%)");
        printf("CNI attaches %d-%d vs 1-20 (median): %.2f ms vs %.2f ms = %+.0f%% (reference)\n", n - 19, n,
               median_of(t_cni, n - 20, n) * 1e3, median_of(t_cni, 0, 20) * 1e3,
               (median_of(t_cni, n - 20, n) / median_of(t_cni, 0, 20) - 1) * 100);
        if (out) {
                /* per-attach totals, for attach.sh's breakdown */
                FILE *f = fopen(out, "w");
                for (int i = 0; f && i < n; i++)
                        fprintf(f, "%.3f\n", t_netd[i] * 1e3);
                if (f)
                        fclose(f);
        }
        free(t_netd);
        free(t_cni);
        free(ids);
        return 0;
}
