/* SPDX-License-Identifier: Apache-2.0 */
#include "rtbudget.h"

void nd_rtb_init(nd_rtb *b, double now, double cpu, bool rt) {
        *b = (nd_rtb) { .t0 = now, .cpu0 = cpu, .quiet_since = -1, .rt = rt };
}

bool nd_rtb_due(const nd_rtb *b, double now) {
        return now - b->t0 >= ND_RTB_SPAN;
}

nd_rtb_action nd_rtb_check(nd_rtb *b, double now, double cpu) {
        double wall = now - b->t0, start = b->t0;
        double share = wall > 0 ? (cpu - b->cpu0) / wall : 0;
        b->t0 = now;
        b->cpu0 = cpu;
        if (b->rt) {
                if (share <= ND_RTB_HIGH)
                        return ND_RTB_KEEP;
                b->rt = false;
                b->demotions++;
                b->quiet_since = -1;
                return ND_RTB_DEMOTE;
        }
        if (share > ND_RTB_LOW) {
                b->quiet_since = -1;
                return ND_RTB_KEEP;
        }
        if (b->quiet_since < 0)
                b->quiet_since = start;
        if (now - b->quiet_since < ND_RTB_QUIET)
                return ND_RTB_KEEP;
        b->rt = true;
        b->quiet_since = -1;
        return ND_RTB_PROMOTE;
}
