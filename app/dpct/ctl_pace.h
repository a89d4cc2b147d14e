/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CTL_PACE_H
#define DPCT_CTL_PACE_H

/**
 * @file
 * The control core's pacing (ctl_pace.c): how long the control loop sleeps
 * after a step. Private to app/dpct; control core only.
 */

#include <stdbool.h>
#include <stdint.h>

struct dpct_app;

/** What the last call saw (zero-initialise before the first call). */
struct dpct_ctl_pace {
	uint64_t sent;
	uint64_t acked;
	uint64_t failed;
	unsigned backoff_us;
};

/**
 * Microseconds to sleep after a control step: 0 when it delivered events
 * and more are pending; a growing back-off (20 us doubling to 1 ms) when
 * listeners refused everything offered since the last call; 200 us idle
 * (1000 us while draining), as the loop always slept.
 */
unsigned dpct_ctl_pace(struct dpct_app *a, struct dpct_ctl_pace *p, bool draining);

#endif /* DPCT_CTL_PACE_H */
