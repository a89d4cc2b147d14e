/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's half of reliable delivery. Kept apart from ev_chan.c so that
 * programs using only the channels and the control core (listeners, tests)
 * do not pull in the shard.
 */
#include "ev.h"

_Static_assert(EV_MASK_NEW == CT_EVK_NEW && EV_MASK_UPDATE == CT_EVK_UPDATE &&
		       EV_MASK_DESTROY == CT_EVK_DESTROY,
	       "listener masks and shard record kinds share their bits");

#define EV_SYNC_RESULTS 64
#define EV_SYNC_ROUNDS 16

void
ev_worker_kinds(struct ev_chan *c, struct ct_shard *s)
{
	ct_shard_set_event_kinds(s, ev_chan_kinds(c));
}

unsigned
ev_worker_sync(struct ev_chan *c, struct ct_shard *s, uint64_t now)
{
	struct ct_result res[EV_SYNC_RESULTS];
	struct ct_event_rec *recs;
	unsigned n = 0, pushed = 0, got, applied = 0, rounds = 0;
	unsigned sent, failed, dropped;

	ev_worker_kinds(c, s);
	/* Staged straight into the ring since the last call (ev_chan_lend()). */
	pushed = ev_chan_settle(c);
	/* Raw: the control core builds each record (ev_chan_pull_records()). */
	recs = ct_shard_ev_peek_raw(s, &n);
	if (n != 0) {
		/* Staged in the shard's buffer, with nothing lent: copied. What
		 * does not fit becomes missed bits or a re-armed destroy. */
		unsigned took = ev_chan_push_records(c, recs, n);

		ct_shard_ev_commit(s, took, now);
		pushed += took;
	}

	do {
		got = ev_chan_pull_results(c, res, EV_SYNC_RESULTS);
		(void)ct_shard_apply_results(s, res, got, now);
		applied += got;
		/* Bounded: what is left waits in the ring for the next call. */
	} while (got == EV_SYNC_RESULTS && ++rounds < EV_SYNC_ROUNDS);

	if (ev_chan_take_counts(c, &sent, &failed, &dropped))
		ct_shard_count_events(s, sent, failed, dropped);
	/* The next records go straight into the ring, if it has the room and
	 * records come fast enough for it to pay. */
	(void)ev_chan_lend_auto(c, s, pushed);
	return pushed + applied;
}
