/* SPDX-License-Identifier: Apache-2.0 */
/* The placement ranking (placement.h). */
#include <errno.h>
#include <string.h>

#include "placement.h"

int nd_place_cmp(const nd_place_host *a, const nd_place_host *b) {
        if (a->can_run != b->can_run)
                return a->can_run ? -1 : 1;
        if (a->svc_tasks != b->svc_tasks)
                return a->svc_tasks < b->svc_tasks ? -1 : 1;
        if (a->total_tasks != b->total_tasks)
                return a->total_tasks < b->total_tasks ? -1 : 1;
        return strcmp(a->id ? a->id : "", b->id ? b->id : "");
}

int nd_place_best(const nd_place_host *hosts, size_t n) {
        size_t best = 0;

        if (n == 0)
                return -ENOENT;
        for (size_t i = 1; i < n; i++)
                if (nd_place_cmp(&hosts[i], &hosts[best]) < 0)
                        best = i;
        return (int) best;
}
