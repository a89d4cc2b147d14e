/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_STAGE_H
#define DPCT_CT_STAGE_H

/*
 * The shard's event records and dying set (ct_stage.c). Records are staged
 * in the shard's buffer for the caller to take with ct_shard_ev_peek() and
 * ct_shard_ev_commit(). The per-packet test for something to report is
 * static inline here.
 */

#include <stdint.h>

#include <netinet/in.h>

#include "ct_shard_priv.h"

/* Move staging to a lent area's second part: false when there is none (ct_stage.c). */
bool ct_stage_turn(struct ct_shard *s);

/*
 * Room for one more record at s->stage[s->stage_n]: in the shard's buffer
 * or, while its owner lends one (ct_shard_ev_lend()), in reserved
 * event-ring slots, where the record is written once and never copied by
 * the worker. False when the buffer, or the lent area, is full.
 */
static inline bool
ct_stage_room(struct ct_shard *s)
{
	return __builtin_expect(s->stage_n < s->stage_cap, 1) || ct_stage_turn(s);
}

/* No room for another record (ct_stage_room() would say false). */
static inline bool
ct_stage_full(const struct ct_shard *s)
{
	return s->stage_n == s->stage_cap && s->stage_next_cap == 0;
}

/* Fill `r` from entry `idx`: every field, no event bits, flags or sequence number. */
void ct_fill_record(struct ct_shard *s, uint32_t idx, uint32_t now_tick, struct ct_event_rec *r);

/* Stage the flow-export interim record of a live entry. */
void ct_stage_interim(struct ct_shard *s, uint32_t idx, uint32_t now_tick);

/* Stage event `bits` of a live entry; with no room, they become missed. */
void ct_stage_bits(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint8_t bits);

/* Stage the DESTROY of a dying entry (`resend`: not its first), or re-arm its grace timer. */
void ct_stage_destroy(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now,
		      int resend);

/* Arm the grace timer of a dying entry whose DESTROY was not taken. */
void ct_grace_rearm(struct ct_shard *s, uint32_t idx, uint64_t now);

/* End a live entry: out of the index, then dying (or freed when events are off). */
void ct_entry_destroy(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now);

/* The same with its index removal prepared ahead (ct_index_remove_prepare()). */
struct ct_index_rm;
void ct_entry_destroy_prepared(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now,
			       const struct ct_index_rm *rm);

/*
 * Return a slot, live or dying, to the free stack. `h`: NULL, or the
 * limits' hint for the entry's key (ct_shard_limit_prefetch()).
 */
void ct_entry_free_hint(struct ct_shard *s, uint32_t idx, const struct ct_lim_hint *h);

static inline void
ct_entry_free(struct ct_shard *s, uint32_t idx)
{
	ct_entry_free_hint(s, idx, NULL);
}
/*
 * Give back entry idx's translation (the hook's release) and clear its NAT
 * bits; `unused`: the entry is being given up as it is made, no packet
 * left with the translation (CT_NAT_REL_UNUSED).
 */
void nat_unbind(struct ct_shard *s, uint32_t idx, bool unused);

/* Flow export: why an entry ends (`why` from the caller, or the timeout's). */
static inline void
ct_entry_set_end(struct ct_entry *e, uint8_t why)
{
	e->eflags = (uint8_t)((e->eflags & ~CT_EF_END_MASK) | (why << CT_EF_END_SHIFT));
}

/* Flow export: a flush or delete of a TCP connection that already closed
 * (TIME_WAIT, CLOSE) reaps a finished flow: its end was the FIN/RST. */
static inline uint8_t
ct_entry_forced_end(const struct ct_entry *e)
{
	if (e->key.proto == IPPROTO_TCP &&
	    (e->tcp_state == CT_TCP_TIME_WAIT || e->tcp_state == CT_TCP_CLOSE))
		return CT_END_EOF;
	return CT_END_FORCED;
}

/* Most packets have nothing to report: that test inline, the staging not. */
static inline void
ct_stage_update(struct ct_shard *s, uint32_t idx, uint32_t now_tick)
{
	const struct ct_entry *e = &s->pool[idx];
	uint8_t bits = e->pending | e->missed;

	if (bits != 0)
		ct_stage_bits(s, idx, now_tick, bits);
}

/* The resend mask of a dying entry (CT_EF_TARGETS): 0 = every listener. */
static inline void
ct_dying_targets_set(struct ct_entry *e, uint32_t m)
{
	if (m == 0) {
		e->eflags &= (uint8_t)~CT_EF_TARGETS;
		return;
	}
	e->tw_last_end = m;
	e->eflags |= CT_EF_TARGETS;
}

#endif /* DPCT_CT_STAGE_H */
