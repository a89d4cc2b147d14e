/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard's timer wheel: linking and unlinking entries, and the expiry
 * run that visits the slots up to now, ends what timed out, re-sends the
 * DESTROY of dying entries whose grace passed and stages the interim
 * records of flow export.
 */

#include <rte_prefetch.h>

#include "ct_index.h"
#include "ct_stage.h"
#include "ct_wheel.h"

/*
 * Flow export: the active-timeout deadlines of a live entry are its start
 * tick + k * act_ticks, k >= 1 (not stored). The first of them at or after
 * tick `from` (within 2^31 ticks of the shard's latest time). Computed on
 * 64-bit ticks, so that a flow older than the 32-bit tick's half range
 * keeps its deadlines.
 */
static inline uint32_t
act_next(const struct ct_shard *s, uint32_t idx, uint32_t from)
{
	uint64_t start = s->cold[idx].start_ns;
	int64_t now = (int64_t)((s->last_ns - s->epoch_ns) >> CT_TICK_SHIFT);
	int64_t f = now + (int32_t)(from - (uint32_t)now);
	int64_t first = (start > s->epoch_ns ?
			 (int64_t)((start - s->epoch_ns) >> CT_TICK_SHIFT) : 0) +
			s->act_ticks;
	int64_t k;

	if (f <= first)
		return (uint32_t)first;
	k = (f - first + s->act_ticks - 1) / s->act_ticks;
	return (uint32_t)(first + k * s->act_ticks);
}

/*
 * Link an entry at its expiry or, for a live entry with an active timeout,
 * at its first interim deadline at or after `from` (the wheel_next of the
 * caller, or later once that deadline's record is out), whichever is first.
 */
void
ct_wheel_link_from(struct ct_shard *s, uint32_t idx, uint32_t from)
{
	struct ct_entry *e = &s->pool[idx];
	struct ct_entry_cold *c = &s->cold[idx];
	uint32_t slot, due = e->expiry;

	if (s->act_ticks != 0 && !(e->status & CT_S_DYING)) {
		uint32_t a = act_next(s, idx, from);

		if (ct_tick_before(a, due))
			due = a;
	}
	/* A deadline the wheel has already passed goes into the next slot it visits. */
	if (ct_tick_before(due, s->wheel_next))
		slot = s->wheel_next & s->wheel_mask;
	else
		slot = due & s->wheel_mask;
	c->tnext = s->wheel[slot];
	c->tprev = CT_HEAD_FLAG | slot;
	if (c->tnext != CT_NIL)
		s->cold[c->tnext].tprev = idx;
	s->wheel[slot] = idx;
	e->eflags |= CT_EF_IN_WHEEL;
}

void
ct_wheel_unlink(struct ct_shard *s, uint32_t idx)
{
	struct ct_entry *e = &s->pool[idx];
	struct ct_entry_cold *c = &s->cold[idx];

	if (!(e->eflags & CT_EF_IN_WHEEL))
		return;
	if (c->tprev & CT_HEAD_FLAG)
		s->wheel[c->tprev & s->wheel_mask] = c->tnext;
	else
		s->cold[c->tprev].tnext = c->tnext;
	if (c->tnext != CT_NIL)
		s->cold[c->tnext].tprev = c->tprev;
	c->tnext = c->tprev = CT_NIL;
	e->eflags &= (uint8_t)~CT_EF_IN_WHEEL;
}

/* ------------------------------------------------------------------------ */
/* Expiry                                                                    */

/*
 * Live entries a slot's walk ends, each with its index removal prepared
 * (hashes worked out, buckets prefetched) as the walk reaches it, and
 * ended some entries later, when its buckets have arrived: the removal
 * no longer waits for two (a translated entry: four) bucket lines. A
 * batch holds at most CT_EXP_NODES index nodes, a translated entry's two
 * counting twice: more misses in flight than the core tracks stall the
 * walk (batches of 16 translated entries cost churn 1M --nat's expiry
 * about 1.4 times what batches of 8 did).
 */
#define CT_EXP_BATCH 16
#define CT_EXP_NODES 16

struct exp_batch {
	unsigned n;
	unsigned nodes;
	uint32_t idx[CT_EXP_BATCH];
	struct ct_index_rm rm[CT_EXP_BATCH];
};

static void
exp_flush(struct ct_shard *s, struct exp_batch *b, uint32_t now_tick, uint64_t now)
{
	unsigned i;

	for (i = 0; i < b->n; i++) {
		s->st.expired++;
		ct_entry_destroy_prepared(s, b->idx[i], now_tick, now, &b->rm[i]);
	}
	b->n = 0;
	b->nodes = 0;
}

static inline void
exp_add(struct ct_shard *s, struct exp_batch *b, uint32_t idx, uint32_t now_tick, uint64_t now)
{
	unsigned nodes = (s->pool[idx].status & CT_S_NAT_MASK) ? 2 : 1;

	if (b->n == CT_EXP_BATCH || b->nodes + nodes > CT_EXP_NODES)
		exp_flush(s, b, now_tick, now);
	ct_index_remove_prepare(s, idx, &b->rm[b->n]);
	b->idx[b->n++] = idx;
	b->nodes += nodes;
}

/*
 * Visit the slot of tick `t` (wheel_next is t + 1 by now). A live entry
 * that survives is due for an interim record when its first active-timeout
 * deadline at or after t has passed (exactly t when the wheel is in step;
 * when it lags, at most one record for all the deadlines up to now_tick).
 * Survivors go on the `later` list (through tnext), for ct_shard_expire()
 * to link once the call's visits are done: every one of them is due after
 * now_tick, and none is visited twice in a call, so no deadline is
 * reported twice.
 */
static unsigned
wheel_run_slot(struct ct_shard *s, uint32_t t, uint32_t now_tick, uint64_t now,
	       uint32_t *later)
{
	uint32_t slot = t & s->wheel_mask;
	uint32_t idx = s->wheel[slot], next;
	struct exp_batch b;
	unsigned visited = 0;

	b.n = 0;
	b.nodes = 0;
	/* Detach the slot; survivors are linked back as we go. */
	s->wheel[slot] = CT_NIL;
	if (idx != CT_NIL)
		s->cold[idx].tprev = CT_NIL;
	for (; idx != CT_NIL; idx = next) {
		struct ct_entry *e = &s->pool[idx];
		struct ct_entry_cold *c = &s->cold[idx];

		next = c->tnext;
		/* The walk is a pointer chase: start the next entry's misses now. */
		if (next != CT_NIL) {
			rte_prefetch0(&s->cold[next]);
			rte_prefetch0(&s->pool[next]);
		}
		e->eflags &= (uint8_t)~CT_EF_IN_WHEEL;
		c->tnext = c->tprev = CT_NIL;
		visited++;
		if (ct_tick_before(now_tick, e->expiry)) {
			if (s->act_ticks != 0 && !(e->status & CT_S_DYING) &&
			    !ct_tick_before(now_tick, act_next(s, idx, t)))
				ct_stage_interim(s, idx, now_tick);
			c->tnext = *later;
			*later = idx;
			continue;
		}
		if (e->status & CT_S_DYING)
			ct_stage_destroy(s, idx, now_tick, now, 1);
		else
			exp_add(s, &b, idx, now_tick, now);
	}
	exp_flush(s, &b, now_tick, now);
	return visited;
}

unsigned
ct_shard_expire(struct ct_shard *s, uint64_t now, unsigned budget)
{
	uint32_t now_tick = ct_shard_now(s, &now), later = CT_NIL, idx;
	unsigned visited = 0, slots = 0;

	while (!ct_tick_before(now_tick, s->wheel_next) && visited < budget) {
		/* Visiting a slot with now_tick expires everything due in it, so
		 * after one full turn of the wheel the rest is already done. */
		uint32_t t = s->wheel_next++;

		/* wheel_next moves first: what the slot re-arms for tick t itself
		 * must land in the next slot visited, not a full turn later. */
		visited += wheel_run_slot(s, t, now_tick, now, &later);
		if (++slots == s->wheel_size) {
			s->wheel_next = now_tick + 1;
			break;
		}
	}
	/* The survivors: at their expiry or their first deadline after now_tick. */
	for (idx = later; idx != CT_NIL; idx = later) {
		later = s->cold[idx].tnext;
		ct_wheel_link_from(s, idx, now_tick + 1);
	}
	return visited;
}
