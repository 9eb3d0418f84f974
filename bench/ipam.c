/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/ipam: allocate and release every address of a /16 and print
 * allocations per second, next to a reference allocator run in the same
 * process on the same work: a first-fit byte-per-address scan, the simple
 * design a bitmap allocator has to beat.  Also a /64 (sparse set) for
 * IPv6.  Prints ratios; timings vary by machine, ratios much less.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "prefix.h"
#include "subnet.h"

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* netd: alloc all, release all, alloc all again (after wrap-around). */
static double run_netd(const char *cidr, unsigned count, unsigned *ret_done) {
        nd_prefix p;
        nd_subnet *s;
        nd_addr *a = malloc(count * sizeof(*a));
        unsigned done = 0;
        nd_prefix_parse(cidr, 0, &p, NULL);
        nd_subnet_new(&p, NULL, &s);
        double t0 = now();
        for (int round = 0; round < 2; round++) {
                for (unsigned i = 0; i < count; i++)
                        if (nd_subnet_alloc(s, &a[i]) == 0)
                                done++;
                for (unsigned i = 0; i < count; i++)
                        nd_subnet_release(s, &a[i]);
        }
        double t = now() - t0;
        nd_subnet_free(s);
        free(a);
        *ret_done = done;
        return t;
}

/* Reference: one byte per address, first-fit scan from the start. */
static double run_reference(unsigned size, unsigned count, unsigned *ret_done) {
        unsigned char *used = calloc(size, 1);
        unsigned *a = malloc(count * sizeof(*a)), done = 0;
        double t0 = now();
        for (int round = 0; round < 2; round++) {
                for (unsigned i = 0; i < count; i++)
                        for (unsigned k = 1; k < size - 1; k++)
                                if (!used[k]) {
                                        used[k] = 1;
                                        a[i] = k;
                                        done++;
                                        break;
                                }
                for (unsigned i = 0; i < count; i++)
                        used[a[i]] = 0;
        }
        double t = now() - t0;
        free(used);
        free(a);
        *ret_done = done;
        return t;
}

int main(void) {
        unsigned n4 = 65534, n6 = 65534, d_netd, d_ref, d6;
        double t_netd = run_netd("10.0.0.0/16", n4, &d_netd);
        double t_ref = run_reference(65536, n4, &d_ref);
        double t6 = run_netd("fd00::/64", n6, &d6);

        if (d_netd != 2 * n4 || d_ref != 2 * n4 || d6 != 2 * n6) {
                fprintf(stderr, "bench/ipam: allocators disagree: netd %u reference %u v6 %u (want %u)\n", d_netd,
                        d_ref, d6, 2 * n4);
                return 1;
        }
        printf("ipam /16: netd     %10.0f allocs/s (%u allocs + releases in %.3f s)\n", d_netd / t_netd, d_netd,
               t_netd);
        printf("ipam /16: first-fit reference %10.0f allocs/s (%.3f s)\n", d_ref / t_ref, t_ref);
        printf("ipam /64: netd     %10.0f allocs/s (%u in %.3f s, sparse set)\n", d6 / t6, d6, t6);
        printf("ratio netd/reference (/16): %.1fx\n", t_ref / t_netd);
        return 0;
}
