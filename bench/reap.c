/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-reap PREFIX COUNT MODE: delete the links PREFIX0 .. PREFIX(COUNT-1)
 * through netd's link reaper and print the seconds until every callback
 * ran.  MODE "serial" queues the next delete from the previous one's
 * callback (the worker never holds more than one: the reaper one link at
 * a time); "queued" queues them all at once (the worker batches them).
 * Exits 1 if a delete failed.  Run inside a throwaway network namespace
 * (bench/reap.sh).
 */
#include <errno.h>
#include <ev.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link-reaper.h"
#include "metrics.h"

struct bench {
        nd_reaper *r;
        int *ifindex;
        int count, queued, done, failed;
        bool serial;
};

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_deleted(void *userdata, int r);

static int queue_next(struct bench *b) {
        int i = b->queued++;
        return nd_reaper_delete(b->r, NULL, b->ifindex[i], on_deleted, b);
}

static void on_deleted(void *userdata, int r) {
        struct bench *b = userdata;
        if (r < 0)
                b->failed++;
        b->done++;
        if (b->serial && b->queued < b->count && queue_next(b) < 0)
                b->failed++, b->done = b->count;
}

int main(int argc, char **argv) {
        struct ev_loop *loop = EV_DEFAULT;
        struct bench b = {0};
        char name[IF_NAMESIZE];

        if (argc != 4 || (strcmp(argv[3], "serial") != 0 && strcmp(argv[3], "queued") != 0)) {
                fprintf(stderr, "usage: bench-reap PREFIX COUNT serial|queued\n");
                return 2;
        }
        b.count = atoi(argv[2]);
        b.serial = strcmp(argv[3], "serial") == 0;
        b.ifindex = calloc((size_t) (b.count > 0 ? b.count : 1), sizeof(*b.ifindex));
        if (b.count <= 0 || !b.ifindex)
                return 2;
        for (int i = 0; i < b.count; i++) {
                snprintf(name, sizeof(name), "%s%d", argv[1], i);
                b.ifindex[i] = (int) if_nametoindex(name);
                if (b.ifindex[i] == 0) {
                        fprintf(stderr, "bench-reap: no link '%s'\n", name);
                        return 1;
                }
        }
        int e = nd_reaper_new(loop, &b.r);
        if (e < 0) {
                fprintf(stderr, "bench-reap: reaper: %s\n", strerror(-e));
                return 1;
        }
        double t0 = now();
        for (int i = 0; i < (b.serial ? 1 : b.count); i++)
                if (queue_next(&b) < 0)
                        return 1;
        while (b.done < b.count)
                ev_run(loop, EVRUN_ONCE);
        double t = now() - t0;

        nd_expo x = {0};
        nd_reaper_metrics(b.r, &x);
        char *text = nd_expo_take(&x, NULL);
        unsigned long groups = 0;
        const char *g = text ? strstr(text, "\nnetd_reaper_group_deletes_total ") : NULL;
        if (g)
                groups = strtoul(g + strlen("\nnetd_reaper_group_deletes_total "), NULL, 10);
        printf("%.3f %lu %d\n", t, groups, b.failed);
        free(text);
        b.r = nd_reaper_free(b.r);
        free(b.ifindex);
        return b.failed ? 1 : 0;
}
