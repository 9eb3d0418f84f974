/* SPDX-License-Identifier: Apache-2.0 */
/*
 * \file rtbudget.h
 * When the DNS thread runs at real-time priority: while the host's tasks
 * wait for a CPU, and the thread itself is light.
 *
 * At normal priority an answer waits whenever the cores are busy with
 * container starts, the kernel's namespace and link work and its
 * workers: the scheduler lets the running task finish its slice before a
 * woken thread runs, a few milliseconds at a time.  At real-time priority
 * the DNS thread runs as soon as the kernel lets anything run.  On a host
 * with a core to spare, though, a normal thread is woken where its client
 * just went to sleep, while a real-time one is woken on its own core (an
 * interrupt to it, costly where that core is a virtual one that halted):
 * real-time priority then makes answers slower.  So the thread is
 * real-time only while the host is contended: the kernel's CPU pressure
 * (/proc/pressure/cpu, "some": time in which a runnable task waited for a
 * CPU) over ND_RTB_BUSY during a span of at least ND_RTB_PSI_SPAN makes
 * it so; ND_RTB_CALM seconds under that end it.  Without pressure
 * information the host counts as contended.
 *
 * A real-time thread that a container keeps busy (a query flood) would
 * take a core from every normal task, so the thread is real-time only
 * while it uses little CPU too: over ND_RTB_HIGH of a CPU during a span of
 * at least ND_RTB_SPAN it drops to normal priority at once, and it is
 * light again only after ND_RTB_QUIET seconds below ND_RTB_LOW.  A flood
 * therefore gets at most one span at real-time priority, then runs as it
 * would without any of this, for as long as it lasts.
 *
 * Pure: fed the thread's CPU time, the pressure total and the monotonic
 * time, in seconds; the caller changes the priority when told to
 * (dns/server.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define ND_RTB_SPAN 0.050      /* s: the shortest span of the thread's CPU use judged */
#define ND_RTB_HIGH 0.25       /* share of a CPU that ends real-time priority */
#define ND_RTB_LOW 0.05        /* ... below which the thread is light again */
#define ND_RTB_QUIET 1.0       /* s below ND_RTB_LOW before it is */
#define ND_RTB_PSI_SPAN 0.100  /* s: the shortest span of pressure judged */
#define ND_RTB_BUSY 0.02       /* share of the time some task waited: contended */
#define ND_RTB_CALM 2.0        /* s under ND_RTB_BUSY before the host is calm */

typedef enum { ND_RTB_KEEP, ND_RTB_PROMOTE, ND_RTB_DEMOTE } nd_rtb_action;

typedef struct nd_rtb {
        double t0, cpu0;       /* the current span of CPU use: start */
        double quiet_since;    /* heavy: start of the light spans so far; < 0: none */
        bool light;            /* within the CPU budget */
        double pt0, p0;        /* the current span of pressure: start, total then */
        bool have_pressure;    /* a first reading came */
        double calm_since;     /* contended: start of the calm spans so far; < 0: none */
        bool contended;
        uint64_t demotions;    /* drops for the CPU budget */
} nd_rtb;

/* Start at @now with the thread's CPU time @cpu: light, and contended
 * until pressure readings say otherwise. */
void nd_rtb_init(nd_rtb *b, double now, double cpu);
/* Real-time now: light and contended. */
bool nd_rtb_rt(const nd_rtb *b);
/* Whether the current span of CPU use is long enough to be judged
 * (cheap: call it before reading the CPU time). */
bool nd_rtb_due(const nd_rtb *b, double now);
/* Judge the span of CPU use that ends at @now (CPU time @cpu). */
nd_rtb_action nd_rtb_check(nd_rtb *b, double now, double cpu);
/* A pressure reading at @now: @total, seconds in which some task waited
 * for a CPU since boot.  The first one starts the count. */
nd_rtb_action nd_rtb_pressure(nd_rtb *b, double now, double total);
