/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_WHEEL_H
#define DPCT_CT_WHEEL_H

/*
 * The shard's timer wheel: one slot a tick (2^20 ns), max_entries / 4
 * slots, a power of two between 2^12 and 2^16 (a shard of 64K entries has
 * 16K slots, ~17 s a turn; from 256K on, 64K slots, ~69 s). Each slot is a
 * doubly linked list through the entries' cold part; a deadline beyond one
 * turn is revisited once a turn. The refresh of the per-packet path is
 * static inline here; linking, unlinking and the expiry run are in
 * ct_wheel.c.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct_shard_priv.h"

#define CT_HEAD_FLAG 0x80000000u   /* tprev of a list head: flag | slot */

/*
 * Link an entry at its expiry or, for a live entry with an active timeout,
 * at its first interim deadline at or after tick `from`, whichever is first.
 */
void ct_wheel_link_from(struct ct_shard *s, uint32_t idx, uint32_t from);

/* Unlink an entry (no-op when it is not in the wheel). */
void ct_wheel_unlink(struct ct_shard *s, uint32_t idx);

/* Link an entry from the next tick the wheel visits. */
static inline void
ct_wheel_link(struct ct_shard *s, uint32_t idx)
{
	ct_wheel_link_from(s, idx, s->wheel_next);
}

/*
 * Apply a timeout class. A later deadline is lazy: the wheel meets the entry
 * at its old slot first and links it again then. So is an earlier one that
 * is a full turn of the wheel or more away: every slot comes round within a
 * turn, before that deadline (an established flow that has data in flight,
 * 300 s, and then none, 5 days, moves no links). Only a deadline nearer
 * than that relinks now.
 */
static inline void
ct_wheel_refresh(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint8_t cls)
{
	struct ct_entry *e = &s->pool[idx];
	uint32_t exp = now_tick + s->to_ticks[cls];
	/* `|`, not `||`: the first term flips with the class (data in flight or not). */
	bool lazy = !ct_tick_before(exp, e->expiry) |
		    ((int32_t)(exp - s->wheel_next) >= (int32_t)s->wheel_size);

	e->to_class = cls;
	e->expiry = exp;
	if (lazy)
		return;
	ct_wheel_unlink(s, idx);
	ct_wheel_link(s, idx);
}

#endif /* DPCT_CT_WHEEL_H */
