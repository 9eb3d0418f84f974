/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-cluster-sim: simulated netd hosts for bench/cluster-scale.sh.
 * Each simulated host does in etcd what a netd does when it joins and
 * runs containers on an overlay network: a lease, its live and member
 * records, address blocks, and one endpoint record per container on its
 * lease.  No kernel objects.  Talks to etcd's JSON gateway with libcurl
 * (blocking: this is a load generator, not the daemon).
 *
 *   bench-cluster-sim URL NETID FIRST COUNT EPS BASE_BLOCK   # hosts FIRST..FIRST+COUNT-1
 *   bench-cluster-sim URL revoke HOST                        # end host HOST's lease
 *
 * Host i: node id sim%028x(i), name sim-i, VTEP 10.98.(i/250).(i%250+1),
 * blocks /26 number BASE_BLOCK + i*ceil(EPS/64)... of 10.80.0.0/16.
 * Prints "done NS" (CLOCK_REALTIME of the last write's reply).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define G "/netd/v1/global/"
#define TXN_OPS 100

static const char *url;

struct buf {
        char *p;
        size_t n;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *u) {
        struct buf *b = u;
        size_t n = size * nmemb;
        char *q = realloc(b->p, b->n + n + 1);
        if (!q)
                return 0;
        memcpy(q + b->n, p, n);
        b->p = q;
        b->n += n;
        b->p[b->n] = 0;
        return n;
}

static char *b64(const char *s) {
        static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(s), k = 0;
        char *o = malloc(4 * (n / 3 + 1) + 1);
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) (uint8_t) s[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t) (uint8_t) s[i + 1] << 8;
                if (i + 2 < n)
                        v |= (uint8_t) s[i + 2];
                o[k++] = t[v >> 18 & 63];
                o[k++] = t[v >> 12 & 63];
                o[k++] = i + 1 < n ? t[v >> 6 & 63] : '=';
                o[k++] = i + 2 < n ? t[v & 63] : '=';
        }
        o[k] = 0;
        return o;
}

/* POST @body to @path; the reply, parsed, or exit. */
static json_t *post(CURL *c, const char *path, json_t *body) {
        char u[512];
        struct buf b = {0};
        char *s = json_dumps(body, JSON_COMPACT);
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        snprintf(u, sizeof(u), "%s%s", url, path);
        curl_easy_setopt(c, CURLOPT_URL, u);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, s);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
        CURLcode r = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(h);
        free(s);
        json_t *j = b.p ? json_loads(b.p, 0, NULL) : NULL;
        if (r != CURLE_OK || code != 200 || !j) {
                fprintf(stderr, "bench-cluster-sim: %s: %s %ld %s\n", path, curl_easy_strerror(r), code, b.p ? b.p : "");
                exit(1);
        }
        free(b.p);
        return j;
}

static json_t *put_op(const char *key, const char *value, const char *lease) {
        char *k = b64(key), *v = b64(value);
        json_t *p = json_pack("{s:s, s:s}", "key", k, "value", v);
        if (lease)
                json_object_set_new(p, "lease", json_string(lease));
        free(k);
        free(v);
        return json_pack("{s:o}", "request_put", p);
}

static void txn(CURL *c, json_t *ops) {
        json_t *body = json_pack("{s:[], s:o}", "compare", "success", ops);
        json_decref(post(c, "/v3/kv/txn", body));
        json_decref(body);
}

static void node_id(int i, char *buf) {
        snprintf(buf, 33, "5151%028x", i);
}

static int64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void host(CURL *c, const char *netid, int i, int eps, int base_block) {
        char id[33], key[300], val[512], lease[32], vtep[32], name[32];
        node_id(i, id);
        snprintf(vtep, sizeof(vtep), "10.98.%d.%d", i / 250, i % 250 + 1);
        snprintf(name, sizeof(name), "sim-%d", i);
        json_t *g = post(c, "/v3/lease/grant", json_pack("{s:i}", "TTL", 60));
        snprintf(lease, sizeof(lease), "%s", json_string_value(json_object_get(g, "ID")));
        json_decref(g);

        json_t *ops = json_array();
        snprintf(key, sizeof(key), G "live/%s", id);
        snprintf(val, sizeof(val), "{\"Id\":\"%s\",\"Name\":\"%s\",\"Addr\":\"%s\"}", id, name, vtep);
        json_array_append_new(ops, put_op(key, val, lease));
        snprintf(key, sizeof(key), G "nodes/%s", id);
        json_array_append_new(ops, put_op(key, val, NULL));
        int per = (eps + 63) / 64;
        for (int b = 0; b < per; b++) {
                int n = base_block + i * per + b;
                snprintf(key, sizeof(key), G "blocks/%s/10.80.%d.%d-26", netid, n / 4, (n % 4) * 64);
                snprintf(val, sizeof(val), "{\"Node\":\"%s\",\"Name\":\"%s\"}", id, name);
                json_array_append_new(ops, put_op(key, val, NULL));
        }
        txn(c, ops);
        ops = json_array();
        for (int e = 0; e < eps; e++) {
                int n = base_block + i * per + e / 64, host = e % 64;
                char ct[65], ip[32];
                snprintf(ct, sizeof(ct), "%032x%032x", i, e);
                snprintf(ip, sizeof(ip), "10.80.%d.%d", n / 4, (n % 4) * 64 + host);
                snprintf(key, sizeof(key), G "endpoints/%s/%s/%s", id, netid, ct);
                snprintf(val, sizeof(val),
                         "{\"Node\":\"%s\",\"Vtep\":\"%s\",\"Mac\":\"02:5a:%02x:%02x:%02x:%02x\",\"IPv4\":\"%s\","
                         "\"Name\":\"s%d-%d\",\"Hostname\":\"s%d-%d\",\"Aliases\":[]}",
                         id, vtep, i >> 8 & 255, i & 255, e >> 8 & 255, e & 255, ip, i, e, i, e);
                json_array_append_new(ops, put_op(key, val, lease));
                if (json_array_size(ops) == TXN_OPS || e + 1 == eps) {
                        txn(c, ops);
                        ops = json_array();
                }
        }
        json_decref(ops);
}

int main(int argc, char **argv) {
        if (argc < 4) {
                fprintf(stderr, "usage: bench-cluster-sim URL NETID FIRST COUNT EPS BASE_BLOCK | URL revoke HOST\n");
                return 2;
        }
        url = argv[1];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        CURL *c = curl_easy_init();
        if (strcmp(argv[2], "revoke") == 0) {
                /* the lease of live/ID: read it, then revoke */
                char id[33], key[128];
                node_id(atoi(argv[3]), id);
                snprintf(key, sizeof(key), G "live/%s", id);
                char *k = b64(key);
                json_t *r = post(c, "/v3/kv/range", json_pack("{s:s}", "key", k));
                free(k);
                const char *lease = json_string_value(json_object_get(json_array_get(json_object_get(r, "kvs"), 0), "lease"));
                if (!lease) {
                        fprintf(stderr, "bench-cluster-sim: no live record for host %s\n", argv[3]);
                        return 1;
                }
                json_decref(post(c, "/v3/lease/revoke", json_pack("{s:s}", "ID", lease)));
                json_decref(r);
                printf("done %lld\n", (long long) now_ns());
                return 0;
        }
        if (argc != 7)
                return 2;
        int first = atoi(argv[3]), count = atoi(argv[4]), eps = atoi(argv[5]), base = atoi(argv[6]);
        for (int i = first; i < first + count; i++)
                host(c, argv[2], i, eps, base);
        printf("done %lld\n", (long long) now_ns());
        curl_easy_cleanup(c);
        return 0;
}
