/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control operations on a shard, run by its worker between bursts: policy
 * decisions, taking the staged records and the results of their delivery,
 * flush, delete, lookup and iteration.
 */

#include <errno.h>

#include <rte_prefetch.h>

#include "ct_index.h"
#include "ct_stage.h"

int
ct_shard_decide(struct ct_shard *s, uint32_t slot, uint32_t id, const struct ct_decision *d,
		struct ct_decision *out)
{
	struct ct_entry *e;

	if (slot >= s->cap || !ct_dec_fits(d))
		return -EINVAL;
	e = &s->pool[slot];
	if (!(e->eflags & CT_EF_USED) || e->id != id || (e->status & CT_S_DYING))
		return -ESTALE;
	if (e->dec_gen == d->gen) {
		ct_dec_get(e, out);
		return 0;
	}
	ct_dec_set(e, d);
	ct_dec_get(e, out);
	return 1;
}
/* ------------------------------------------------------------------------ */
/* Staged records and delivery results                                       */

struct ct_event_rec *
ct_shard_ev_peek_raw(struct ct_shard *s, unsigned *n)
{
	*n = s->stage_lent ? 0 : s->stage_n;
	return s->stage_own;
}

struct ct_event_rec *
ct_shard_ev_peek(struct ct_shard *s, unsigned *n)
{
	uint32_t i;

	ct_shard_ev_peek_raw(s, n);
	for (i = 0; i < *n; i++)
		ct_event_rec_cook(&s->stage_own[i]);
	return s->stage_own;
}

unsigned
ct_shard_ev_room(const struct ct_shard *s)
{
	return s->stage_cap - s->stage_n + s->stage_next_cap;
}

int
ct_shard_ev_lend(struct ct_shard *s, struct ct_event_rec *a, unsigned na,
		 struct ct_event_rec *b, unsigned nb)
{
	if (s->stage_lent || s->stage_n != 0)
		return -EBUSY;
	if (a == NULL || na == 0 || (nb != 0 && b == NULL) || na > UINT32_MAX - nb)
		return -EINVAL;
	s->stage = a;
	s->stage_cap = na;
	s->stage_next = nb != 0 ? b : NULL;
	s->stage_next_cap = nb;
	s->stage_done = 0;
	s->stage_lent = true;
	return 0;
}

unsigned
ct_shard_ev_reclaim(struct ct_shard *s)
{
	unsigned n;

	if (!s->stage_lent)
		return 0;
	n = s->stage_done + s->stage_n;
	s->stage = s->stage_own;
	s->stage_cap = s->conf.ev_stage_size;
	s->stage_n = 0;
	s->stage_next = NULL;
	s->stage_next_cap = 0;
	s->stage_done = 0;
	s->stage_lent = false;
	return n;
}

void
ct_shard_ev_commit(struct ct_shard *s, unsigned accepted, uint64_t now)
{
	uint32_t i;

	if (s->stage_lent)
		return;
	ct_shard_now(s, &now);
	if (accepted > s->stage_n)
		accepted = s->stage_n;
	/* A resend counts when the channel takes it, as the control core
	 * counts it: staging counted it (ct_stage_destroy()), and one the ring
	 * refused is taken back here, re-armed and counted later. */
	for (i = accepted; i < s->stage_n; i++) {
		const struct ct_event_rec *r = &s->stage[i];
		struct ct_entry *e;

		s->st.ring_full++;
		if (r->flags & CT_REC_F_EXP) {
			if (s->hlp.exp_unsent != NULL)
				s->hlp.exp_unsent(s->hlp.arg, r, now);
			continue;
		}
		s->st.destroy_resent -= (r->flags & CT_REC_F_RESEND) != 0;
		if (r->slot >= s->cap)
			continue;
		e = &s->pool[r->slot];
		if (!(e->eflags & CT_EF_USED) || e->id != r->id)
			continue;
		if (r->events & CT_EV_DESTROY) {
			/* Nobody got it: it stays addressed to whom it was. */
			ct_dying_targets_set(e, r->targets);
			ct_grace_rearm(s, r->slot, now);
		} else if (!(e->status & CT_S_DYING))
			e->missed |= ct_ev_from_linux(r->events);
	}
	s->stage_n = 0;
}

static int
apply_one(struct ct_shard *s, const struct ct_result *r, uint64_t now,
	  const struct ct_lim_hint *h)
{
	struct ct_entry *e;

	/* Expectations' kinds (and unknown ones, which the hook refuses). */
	if (__builtin_expect(r->kind >= CT_RES_EXP_NACK, 0))
		return s->hlp.exp_result != NULL ? s->hlp.exp_result(s->hlp.arg, r, now) :
						   -EINVAL;
	if (r->slot >= s->cap)
		return -EINVAL;
	e = &s->pool[r->slot];
	if (!(e->eflags & CT_EF_USED) || e->id != r->id)
		return -ESTALE;
	ct_shard_now(s, &now);
	switch (r->kind) {
	case CT_RES_NACK:
		if (!(e->status & CT_S_DYING))
			e->missed |= ct_ev_from_linux(r->events);
		return 0;
	case CT_RES_DESTROY_ACK:
		if (!(e->status & CT_S_DYING) || !(e->eflags & CT_EF_AWAIT))
			return -ESTALE;
		s->st.destroy_acked++;
		ct_entry_free_hint(s, r->slot, h);
		return 0;
	case CT_RES_DESTROY_NACK:
		if (!(e->status & CT_S_DYING) || !(e->eflags & CT_EF_AWAIT))
			return -ESTALE;
		/* Resend only to the listeners that refused it. */
		ct_dying_targets_set(e, r->targets);
		ct_grace_rearm(s, r->slot, now);
		return 0;
	default:
		return -EINVAL;
	}
}

int
ct_shard_apply_result(struct ct_shard *s, const struct ct_result *r, uint64_t now)
{
	return apply_one(s, r, now, NULL);
}

/*
 * Results this far ahead have their entry's first line (the key) and cold
 * part prefetched; half as far, a DESTROY_ACK has the limit counts and top
 * sketch counters its release writes prefetched and their keys worked out,
 * and the port map word the release of its translation writes. Applying
 * results only frees or re-arms entries, so a key read ahead is still the
 * entry's key when its result is applied (a stale result is refused
 * whatever its hint).
 */
#define CT_RES_PF 8

static inline void
result_prefetch_entry(const struct ct_shard *s, const struct ct_result *r)
{
	if (r->slot < s->cap) {
		rte_prefetch0(&s->pool[r->slot]);
		rte_prefetch0(&s->cold[r->slot]);
		if (__builtin_expect(s->lim_unc_n != 0, 0))
			rte_prefetch0(&s->lim_unc[r->slot / 64]);
	}
}

static inline void
result_prefetch_counts(const struct ct_shard *s, const struct ct_result *r,
		       struct ct_lim_hint *h)
{
	const struct ct_entry *e;
	struct ct_tuple k;

	h->n = CT_LIM_HINT_UNSET;
	if ((s->limits == NULL && s->top == NULL && s->nat.release_prefetch == NULL) ||
	    r->kind != CT_RES_DESTROY_ACK || r->slot >= s->cap)
		return;
	e = &s->pool[r->slot];
	if (!(e->eflags & CT_EF_USED) || e->id != r->id)
		return;
	ct_nat_release_prefetch(s, e);
	if (s->limits != NULL || s->top != NULL)
		ct_shard_limit_prefetch(s, ct_entry_key_ref(e, &k), h);
}

unsigned
ct_shard_apply_results(struct ct_shard *s, const struct ct_result *r, unsigned n, uint64_t now)
{
	struct ct_lim_hint h[CT_RES_PF / 2];
	unsigned i, done = 0;

	for (i = 0; i < n && i < CT_RES_PF; i++)
		result_prefetch_entry(s, &r[i]);
	for (i = 0; i < n && i < CT_RES_PF / 2; i++)
		result_prefetch_counts(s, &r[i], &h[i]);
	for (i = 0; i < n; i++) {
		if (i + CT_RES_PF < n)
			result_prefetch_entry(s, &r[i + CT_RES_PF]);
		if (apply_one(s, &r[i], now, &h[i % (CT_RES_PF / 2)]) == 0)
			done++;
		/* The hint slot just used serves the result CT_RES_PF / 2 ahead. */
		if (i + CT_RES_PF / 2 < n)
			result_prefetch_counts(s, &r[i + CT_RES_PF / 2],
					       &h[(i + CT_RES_PF / 2) % (CT_RES_PF / 2)]);
	}
	return done;
}

/* ------------------------------------------------------------------------ */
/* Control-plane operations                                                  */

unsigned
ct_shard_flush(struct ct_shard *s, uint64_t now, unsigned budget)
{
	uint32_t now_tick = ct_shard_now(s, &now);
	unsigned done = 0;
	uint32_t scanned = 0;

	if (budget == 0)
		budget = UINT32_MAX;
	while (done < budget && s->st.count > 0 && scanned < s->cap) {
		struct ct_entry *e;

		if (s->conf.events_enabled && ct_stage_full(s))
			break;
		if (s->flush_cursor >= s->cap)
			s->flush_cursor = 0;
		e = &s->pool[s->flush_cursor];
		if ((e->eflags & CT_EF_USED) && !(e->status & CT_S_DYING)) {
			s->st.deleted++;
			ct_entry_set_end(e, ct_entry_forced_end(e));
			ct_entry_destroy(s, s->flush_cursor, now_tick, now);
			done++;
		}
		s->flush_cursor++;
		scanned++;
	}
	return done;
}

int
ct_shard_delete(struct ct_shard *s, const struct ct_tuple *t, uint64_t now)
{
	uint32_t now_tick = ct_shard_now(s, &now);
	enum ct_dir dir;
	uint32_t idx = ct_index_lookup(s, t, ct_tuple_hash(t), &dir);

	if (idx == CT_NIL)
		return -ENOENT;
	if (s->conf.events_enabled && ct_stage_full(s))
		return -ENOSPC;
	s->st.deleted++;
	ct_entry_set_end(&s->pool[idx], ct_entry_forced_end(&s->pool[idx]));
	ct_entry_destroy(s, idx, now_tick, now);
	return 0;
}

int
ct_shard_lookup(struct ct_shard *s, const struct ct_tuple *t, uint64_t now,
		struct ct_event_rec *out)
{
	uint32_t now_tick = ct_shard_now(s, &now);
	enum ct_dir dir;
	uint32_t idx = ct_index_lookup(s, t, ct_tuple_hash(t), &dir);

	if (idx == CT_NIL || !ct_tick_before(now_tick, s->pool[idx].expiry))
		return -ENOENT;
	ct_fill_record(s, idx, now_tick, out);
	return 0;
}

unsigned
ct_shard_iterate(struct ct_shard *s, uint32_t *cursor, unsigned max, bool dying, uint64_t now,
		 int (*cb)(const struct ct_event_rec *r, void *arg), void *arg)
{
	uint32_t now_tick = ct_shard_now(s, &now);
	struct ct_event_rec r;
	unsigned calls = 0;
	uint32_t i = *cursor;

	for (; i < s->cap && calls < max; i++) {
		const struct ct_entry *e = &s->pool[i];

		if (!(e->eflags & CT_EF_USED))
			continue;
		if ((e->status & CT_S_DYING) && !dying)
			continue;
		ct_fill_record(s, i, now_tick, &r);
		calls++;
		if (cb(&r, arg) != 0) {
			i++;
			break;
		}
	}
	*cursor = i >= s->cap ? UINT32_MAX : i;
	return calls;
}
