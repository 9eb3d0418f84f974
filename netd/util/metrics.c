/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "metrics.h"

const double nd_hist_latency_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 10 };
const size_t nd_hist_latency_n = sizeof(nd_hist_latency_bounds) / sizeof(nd_hist_latency_bounds[0]);

void nd_hist_init(nd_hist *h, const double *bounds, size_t n) {
        *h = (nd_hist) { .bounds = bounds, .n = n > ND_HIST_MAX_BUCKETS ? ND_HIST_MAX_BUCKETS : n };
}

void nd_hist_observe(nd_hist *h, double v) {
        size_t i = 0;
        if (!h->bounds)
                return;
        while (i < h->n && v > h->bounds[i])
                i++;
        h->counts[i]++;
        h->count++;
        h->sum += v;
}

static void put(nd_expo *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(nd_expo *e, const char *fmt, ...) {
        va_list ap;
        for (;;) {
                size_t room = e->cap - e->n;
                va_start(ap, fmt);
                int k = e->p ? vsnprintf(e->p + e->n, room, fmt, ap) : -1;
                va_end(ap);
                if (k >= 0 && (size_t) k < room) {
                        e->n += (size_t) k;
                        return;
                }
                /* room for what vsnprintf() asked for; without that
                 * (no buffer yet, or an error) at least double */
                if (ND_GROW(e->p, e->n, e->cap, k >= 0 ? (size_t) k + 1 : room + 1) < 0) {
                        e->oom = true;
                        return;
                }
        }
}

static void put_value(nd_expo *e, double v) {
        if (isinf(v))
                put(e, v > 0 ? "+Inf" : "-Inf");
        else if (v == (double) (int64_t) v && fabs(v) < 1e15)
                put(e, "%lld", (long long) v);
        else
                put(e, "%.9g", v);
}

void nd_expo_family(nd_expo *e, const char *name, const char *type, const char *help) {
        put(e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void nd_expo_sample(nd_expo *e, const char *name, const char *labels, double v) {
        if (labels && *labels)
                put(e, "%s{%s} ", name, labels);
        else
                put(e, "%s ", name);
        put_value(e, v);
        put(e, "\n");
}

void nd_expo_hist(nd_expo *e, const char *name, const char *labels, const nd_hist *h) {
        uint64_t cum = 0;
        bool l = labels && *labels;
        for (size_t i = 0; i <= h->n; i++) {
                cum += h->counts[i];
                put(e, "%s_bucket{%s%sle=\"", name, l ? labels : "", l ? "," : "");
                put_value(e, i < h->n ? h->bounds[i] : INFINITY);
                put(e, "\"} %llu\n", (unsigned long long) cum);
        }
        put(e, "%s_sum%s%s%s ", name, l ? "{" : "", l ? labels : "", l ? "}" : "");
        put_value(e, h->sum);
        put(e, "\n%s_count%s%s%s %llu\n", name, l ? "{" : "", l ? labels : "", l ? "}" : "",
            (unsigned long long) h->count);
}

const char *nd_expo_labels(char *buf, size_t size, size_t n, ...) {
        va_list ap;
        size_t k = 0;
        if (!size)
                return "";
        buf[0] = 0;
        va_start(ap, n);
        for (size_t i = 0; i < n && k + 1 < size; i++) {
                const char *key = va_arg(ap, const char *), *v = va_arg(ap, const char *);
                k += (size_t) snprintf(buf + k, size - k, "%s%s=\"", i ? "," : "", key);
                for (; v && *v && k + 3 < size; v++) {
                        if (*v == '\\' || *v == '"')
                                buf[k++] = '\\', buf[k++] = *v;
                        else if (*v == '\n')
                                buf[k++] = '\\', buf[k++] = 'n';
                        else
                                buf[k++] = *v;
                }
                if (k + 1 < size)
                        buf[k++] = '"';
                buf[k < size ? k : size - 1] = 0;
        }
        va_end(ap);
        return buf;
}

char *nd_expo_take(nd_expo *e, size_t *ret_len) {
        char *p = e->oom ? NULL : e->p;
        if (e->oom)
                free(e->p);
        if (ret_len)
                *ret_len = p ? e->n : 0;
        *e = (nd_expo) {0};
        return p;
}
