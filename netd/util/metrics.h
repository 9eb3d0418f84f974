/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file metrics.h
 * Histograms and the Prometheus text exposition format (version 0.0.4).
 *
 * Modules own their counters and histograms and write them on demand
 * into an nd_expo (a growing text buffer) for GET /metrics; nothing here
 * is global and nothing allocates on the hot path (nd_hist_observe is a
 * few compares and adds).  Names follow Prometheus' conventions: base
 * units (seconds, bytes), _total for counters, labels of bounded
 * cardinality only (network and node names yes, container ids no).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ND_HIST_MAX_BUCKETS 16

typedef struct nd_hist {
        const double *bounds;     /* upper bounds, ascending; borrowed (static) */
        size_t n;                 /* at most ND_HIST_MAX_BUCKETS */
        uint64_t counts[ND_HIST_MAX_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
        uint64_t count;
        double sum;
} nd_hist;

/* Buckets for latencies in seconds: 100 us .. 10 s. */
extern const double nd_hist_latency_bounds[];
extern const size_t nd_hist_latency_n;

void nd_hist_init(nd_hist *h, const double *bounds, size_t n);
void nd_hist_observe(nd_hist *h, double v);

typedef struct nd_expo {
        char *p;
        size_t n, cap;
        bool oom;
} nd_expo;

/* The HELP and TYPE lines of a family ("counter", "gauge", "histogram"). */
void nd_expo_family(nd_expo *e, const char *name, const char *type, const char *help);
/* One sample; @labels is NULL or label pairs already formatted with
 * nd_expo_labels ("a=\"x\",b=\"y\""). */
void nd_expo_sample(nd_expo *e, const char *name, const char *labels, double v);
/* The _bucket, _sum and _count samples of @h. */
void nd_expo_hist(nd_expo *e, const char *name, const char *labels, const nd_hist *h);
/* Formats @n label pairs (key, value, key, value...) into @buf, escaping
 * values as the format requires (backslash, quote, newline). */
const char *nd_expo_labels(char *buf, size_t size, size_t n, ...);
/* The text (NUL-terminated), ownership to the caller; NULL when out of
 * memory.  Resets @e. */
char *nd_expo_take(nd_expo *e, size_t *ret_len);
