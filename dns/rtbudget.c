/* SPDX-License-Identifier: Apache-2.0 */
#include "rtbudget.h"

void nd_rtb_init(nd_rtb *b, double now, double cpu) {
        *b = (nd_rtb) { .t0 = now, .cpu0 = cpu, .quiet_since = -1, .light = true, .calm_since = -1,
                        .contended = true };
}

bool nd_rtb_rt(const nd_rtb *b) {
        return b->light && b->contended;
}

static nd_rtb_action change(bool was, bool is) {
        return was == is ? ND_RTB_KEEP : is ? ND_RTB_PROMOTE : ND_RTB_DEMOTE;
}

/* One more span, from @start to @now, of a run that must last @need
 * (started at *@since, < 0: not yet): whether it has, and then the run
 * ends. */
static bool held(double *since, double start, double now, double need) {
        if (*since < 0)
                *since = start;
        if (now - *since < need)
                return false;
        *since = -1;
        return true;
}

bool nd_rtb_due(const nd_rtb *b, double now) {
        return now - b->t0 >= ND_RTB_SPAN;
}

nd_rtb_action nd_rtb_check(nd_rtb *b, double now, double cpu) {
        bool was = nd_rtb_rt(b);
        double wall = now - b->t0, start = b->t0;
        double share = wall > 0 ? (cpu - b->cpu0) / wall : 0;
        b->t0 = now;
        b->cpu0 = cpu;
        if (b->light) {
                if (share > ND_RTB_HIGH) {
                        b->light = false;
                        b->quiet_since = -1;
                        if (was)
                                b->demotions++;
                }
        } else if (share > ND_RTB_LOW) {
                b->quiet_since = -1;
        } else if (held(&b->quiet_since, start, now, ND_RTB_QUIET)) {
                b->light = true;
        }
        return change(was, nd_rtb_rt(b));
}

nd_rtb_action nd_rtb_pressure(nd_rtb *b, double now, double total) {
        bool was = nd_rtb_rt(b);
        if (!b->have_pressure) {
                b->have_pressure = true;
                b->pt0 = now;
                b->p0 = total;
                return ND_RTB_KEEP;
        }
        double wall = now - b->pt0, start = b->pt0;
        if (wall < ND_RTB_PSI_SPAN)
                return ND_RTB_KEEP;
        double share = (total - b->p0) / wall;
        b->pt0 = now;
        b->p0 = total;
        if (share >= ND_RTB_BUSY) {
                b->contended = true;
                b->calm_since = -1;
        } else if (b->contended && held(&b->calm_since, start, now, ND_RTB_CALM)) {
                b->contended = false;
        }
        return change(was, nd_rtb_rt(b));
}
