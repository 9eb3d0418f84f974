/* SPDX-License-Identifier: Apache-2.0 */
/* netctl events: follow GET /v1/events (docs/observability.md, "Events"). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "grow.h"
#include "json-util.h"
#include "macro.h"
#include "uclient.h"

#define LINE_MAX_BYTES (1024 * 1024)
#define URL_MAX 4096

static const char events_usage[] =
        "Usage: netctl events [OPTIONS]\n"
        "\n"
        "Follow what netd does: containers, networks, endpoints, services, nodes\n"
        "and firewall repairs, one event per line, as they happen.\n"
        "\n"
        "Options:\n"
        "      --since TIME        first replay the events since TIME (of the last 1024\n"
        "                          netd keeps): unix seconds, RFC 3339 or a duration (10m)\n"
        "      --until TIME        stop at TIME (in the past: print the history and exit)\n"
        "  -f, --filter KEY=VALUE  only events that match: type, event, network, container,\n"
        "                          service, node; repeatable (one key: any value matches;\n"
        "                          several keys: all must)\n"
        "      --format FORMAT     'json': one JSON object per line, as the API sends them\n"
        "  -h, --help              this help\n";

struct evout {
        bool json;
        char *line;
        size_t len, cap;
        bool error;
};

/* "2024-05-01T10:00:00.123456789+02:00", as docker events prints it */
static void print_time(int64_t ns) {
        time_t t = (time_t) (ns / 1000000000);
        struct tm tm;
        char a[32], z[8];
        localtime_r(&t, &tm);
        strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%S", &tm);
        strftime(z, sizeof(z), "%z", &tm);
        printf("%s.%09lld%.3s:%.2s", a, (long long) (ns % 1000000000), z, z + 3);
}

static void print_human(json_t *ev) {
        json_t *actor = json_object_get(ev, "actor"), *attrs = json_object_get(actor, "attributes"), *v;
        const char *k;
        int n = 0;
        print_time(json_integer_value(json_object_get(ev, "timeNano")));
        printf(" %s %s %s (", json_string_value(json_object_get(ev, "type")) ?: "?",
               json_string_value(json_object_get(ev, "action")) ?: "?",
               json_string_value(json_object_get(actor, "id")) ?: "");
        /* jansson keeps insertion order; sort for a stable line */
        const char *keys[64];
        size_t nk = 0;
        json_object_foreach(attrs, k, v)
                if (nk < ELEMENTSOF(keys) && json_is_string(v))
                        keys[nk++] = k;
        for (size_t i = 1; i < nk; i++)
                for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
                        const char *t = keys[j];
                        keys[j] = keys[j - 1];
                        keys[j - 1] = t;
                }
        for (size_t i = 0; i < nk; i++)
                printf("%s%s=%s", n++ ? ", " : "", keys[i], json_string_value(json_object_get(attrs, keys[i])));
        if (json_is_string(json_object_get(ev, "node")))
                printf("%snode=%s", n ? ", " : "", json_string_value(json_object_get(ev, "node")));
        printf(")\n");
}

static void one_line(struct evout *o, const char *p, size_t len) {
        json_error_t err;
        _cleanup_json_ json_t *ev = json_loadb(p, len, 0, &err);
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (!ev || !type) {
                fprintf(stderr, "netctl: events: malformed event from netd: %s\n", ev ? "no type" : err.text);
                o->error = true;
                return;
        }
        if (strcmp(type, "error") == 0) {
                json_t *m = json_object_get(json_object_get(json_object_get(ev, "actor"), "attributes"), "message");
                fprintf(stderr, "netctl: events: %s\n", json_string_value(m) ?: "netd ended the stream");
                o->error = true;
                return;
        }
        if (o->json)
                printf("%.*s\n", (int) len, p);
        else
                print_human(ev);
}

static int on_data(void *userdata, const char *p, size_t len) {
        struct evout *o = userdata;
        for (size_t i = 0; i < len;) {
                const char *nl = memchr(p + i, '\n', len - i);
                size_t k = nl ? (size_t) (nl - (p + i)) : len - i;
                if (o->len + k > LINE_MAX_BYTES) {
                        fprintf(stderr, "netctl: events: an event longer than %d bytes\n", LINE_MAX_BYTES);
                        return -EFBIG;
                }
                if (ND_GROW(o->line, o->len, o->cap, k + 1) < 0)
                        return -ENOMEM;
                memcpy(o->line + o->len, p + i, k);
                o->len += k;
                i += k;
                if (nl) {
                        i++;
                        if (o->len)
                                one_line(o, o->line, o->len);
                        o->len = 0;
                }
        }
        fflush(stdout);
        return 0;
}

/* Appends "&KEY=VALUE", the value percent-encoded (RFC 3986). */
static int url_add(char *url, size_t size, const char *key, const char *value) {
        size_t n = strlen(url);
        int k = snprintf(url + n, size - n, "%c%s=", strchr(url, '?') ? '&' : '?', key);
        if (k < 0 || (size_t) k >= size - n)
                return -E2BIG;
        n += (size_t) k;
        for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
                if (n + 4 >= size)
                        return -E2BIG;
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~", *p))
                        url[n++] = (char) *p;
                else
                        n += (size_t) sprintf(url + n, "%%%02X", *p);
        }
        url[n] = 0;
        return 0;
}

static int follow(const char *url, struct evout *o) {
        nd_diag d = {};
        nd_uclient_response resp;
        _cleanup_close_ int fd = nd_uclient_connect(socket_path, 30 * 1000, &d);
        if (fd < 0) {
                fprintf(stderr, "netctl: %s\n", d.msg);
                return 1;
        }
        int r = nd_uclient_stream(fd, "GET", url, 30 * 1000, ND_UCLIENT_BODY_MAX, on_data, o, &resp, &d);
        if (r < 0) {
                free(o->line);
                if (r != -ECANCELED && d.msg[0])
                        fprintf(stderr, "netctl: events: %s\n", d.msg);
                return 1;
        }
        if (o->len)
                one_line(o, o->line, o->len);
        free(o->line);
        if (resp.status != 200) {
                _cleanup_json_ json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
                long status = resp.status;
                nd_uclient_response_done(&resp);
                return fail(status, j, "events");
        }
        nd_uclient_response_done(&resp);
        return o->error ? 1 : 0;
}

int ctl_events(int argc, char **argv) {
        static const struct option opts[] = {
                { "since", required_argument, NULL, 's' }, { "until", required_argument, NULL, 'u' },
                { "filter", required_argument, NULL, 'f' }, { "format", required_argument, NULL, 'F' },
                { "help", no_argument, NULL, 'h' },         {},
        };
        char url[URL_MAX] = "/v1/events";
        struct evout o = {0};
        int c;

        while ((c = getopt_long(argc, argv, "+f:h", opts, NULL)) >= 0)
                switch (c) {
                case 's':
                case 'u':
                        if (url_add(url, sizeof(url), c == 's' ? "since" : "until", optarg) < 0)
                                goto too_long;
                        break;
                case 'f': {
                        const char *eq = strchr(optarg, '=');
                        if (!eq || eq == optarg || !eq[1]) {
                                fprintf(stderr, "netctl: --filter '%s': want KEY=VALUE\n", optarg);
                                return 2;
                        }
                        char key[32];
                        snprintf(key, sizeof(key), "%.*s", (int) (eq - optarg), optarg);
                        if (url_add(url, sizeof(url), key, eq + 1) < 0)
                                goto too_long;
                        break;
                }
                case 'F':
                        if (strcmp(optarg, "json") != 0) {
                                fprintf(stderr, "netctl: --format '%s': only 'json' is known\n", optarg);
                                return 2;
                        }
                        o.json = true;
                        break;
                case 'h': fputs(events_usage, stdout); return 0;
                default: fputs(events_usage, stderr); return 2;
                }
        if (optind != argc) {
                fprintf(stderr, "netctl: events takes no arguments\n%s", events_usage);
                return 2;
        }
        return follow(url, &o);
too_long:
        fprintf(stderr, "netctl: events: the filters are too long\n");
        return 2;
}

