/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control core's pacing (issue 10, full pipeline). With two CPUs the
 * control lcore, the event listeners and the worker share the machine: a
 * control loop that spins while a reliable listener's socket is full only
 * encodes records, has them refused and returns nacks, and takes the CPU
 * the listener needs to empty that socket. So after a step that delivered
 * nothing although records were refused, the loop sleeps, longer each time
 * (DPCT_PACE_MIN_US doubling up to DPCT_PACE_MAX_US), and it does not sleep
 * at all after a step that delivered. Idle (nothing pending) sleeps as
 * before. Records wait in the workers' event rings meanwhile; what a full
 * ring cannot take becomes missed bits or a re-armed destroy, as without
 * pacing: nothing is lost that a spinning loop would have delivered.
 */

#include <stdbool.h>
#include <stdint.h>

#include "dpct.h"
#include "ctl_pace.h"

#define DPCT_PACE_MIN_US 20
#define DPCT_PACE_MAX_US 1000
#define DPCT_PACE_IDLE_US 200
#define DPCT_PACE_DRAIN_US 1000

unsigned
dpct_ctl_pace(struct dpct_app *a, struct dpct_ctl_pace *p, bool draining)
{
	struct ev_ctl_stats es;
	bool delivered, refused;

	if (a->ctl == NULL)
		return draining ? DPCT_PACE_DRAIN_US : DPCT_PACE_IDLE_US;
	ev_ctl_get_stats(a->ctl, &es);
	delivered = es.events_sent != p->sent || es.destroy_acked != p->acked;
	refused = es.events_failed != p->failed;
	p->sent = es.events_sent;
	p->acked = es.destroy_acked;
	p->failed = es.events_failed;
	if (refused && !delivered) {
		/* Every listener that was offered something refused it. */
		p->backoff_us = p->backoff_us == 0 ? DPCT_PACE_MIN_US :
				RTE_MIN(2 * p->backoff_us, (unsigned)DPCT_PACE_MAX_US);
		return p->backoff_us;
	}
	p->backoff_us = 0;
	if (ev_ctl_idle(a->ctl))
		return draining ? DPCT_PACE_DRAIN_US : DPCT_PACE_IDLE_US;
	return 0;
}
