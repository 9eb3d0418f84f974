/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file rtbudget.h
 * When the DNS thread may run at real-time priority: while it is light.
 *
 * At normal priority an answer waits whenever both cores are busy with
 * container starts, the kernel's namespace and link work and its
 * workers: the scheduler lets the running task finish its slice before a
 * woken thread runs, a few milliseconds at a time.  At real-time priority
 * the DNS thread runs as soon as the kernel lets anything run.  But a
 * real-time thread that a container keeps busy (a query flood) would take
 * a core from every normal task, so the thread is real-time only while it
 * uses little CPU: over ND_RTB_HIGH of a CPU during a span of at least
 * ND_RTB_SPAN it drops to normal priority at once, and it comes back only
 * after at least ND_RTB_QUIET seconds below ND_RTB_LOW.  A flood therefore
 * gets at most one span at real-time priority, then runs as it would
 * without any of this, for as long as it lasts.
 *
 * Pure: fed the thread's CPU time and the monotonic time, in seconds; the
 * caller changes the priority when told to (dns/server.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define ND_RTB_SPAN 0.010  /* s: the shortest span measured */
#define ND_RTB_HIGH 0.25   /* share of a CPU that ends real-time priority */
#define ND_RTB_LOW 0.05    /* ... below which it may come back */
#define ND_RTB_QUIET 1.0   /* s below ND_RTB_LOW before it comes back */

typedef enum { ND_RTB_KEEP, ND_RTB_PROMOTE, ND_RTB_DEMOTE } nd_rtb_action;

typedef struct nd_rtb {
        double t0, cpu0;     /* the current span's start */
        double quiet_since;  /* demoted: start of the light spans so far; < 0: none */
        bool rt;             /* real-time now */
        uint64_t demotions;
} nd_rtb;

/* Start at @now with the thread's CPU time @cpu, real-time or not. */
void nd_rtb_init(nd_rtb *b, double now, double cpu, bool rt);
/* Whether the current span is long enough to be judged (cheap: call it
 * with the loop's cached time before reading the CPU time). */
bool nd_rtb_due(const nd_rtb *b, double now);
/* Judge the span that ends at @now (CPU time @cpu) and start the next. */
nd_rtb_action nd_rtb_check(nd_rtb *b, double now, double cpu);
