/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard's event records and dying set: records built from entries,
 * NEW/UPDATE bits staged (or kept as missed when the staging buffer is
 * full), and the end of an entry: out of the index, DESTROY staged, the
 * entry kept dying until a listener takes the record or its grace timer
 * re-sends it.
 */

#include <string.h>

#include <netinet/in.h>

#include "ct_index.h"
#include "ct_stage.h"
#include "ct_tcp_window.h"
#include "ct_wheel.h"

static inline uint64_t
prng_next(struct ct_shard *s)
{
	/* splitmix64: deterministic for a given seed. */
	uint64_t z = (s->prng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* ct_fill_record() stores every field: a new one must be added there too. */
_Static_assert(offsetof(struct ct_event_rec, pad3) + sizeof(((struct ct_event_rec *)0)->pad3) ==
		       sizeof(struct ct_event_rec),
	       "ct_event_rec ends with pad3, no tail padding");

void
ct_fill_record(struct ct_shard *s, uint32_t idx, uint32_t now_tick, struct ct_event_rec *r)
{
	const struct ct_entry *e = &s->pool[idx];
	uint32_t left = 0;

	/* Every field stored once, no memset: a 128-byte memset became
	 * `rep stos`, the dearest part of staging a record. */
	r->orig = e->key;
	r->pkts[0] = e->pkts[0];
	r->pkts[1] = e->pkts[1];
	r->bytes[0] = e->bytes[0];
	r->bytes[1] = e->bytes[1];
	r->start_ns = s->cold[idx].start_ns;
	r->stop_ns = (e->status & CT_S_DYING) ? e->stop_ns : 0; /* over tw_end[] */
	r->id = e->id;
	r->slot = idx;
	/*
	 * A DESTROY carries the time that was left, as the kernel's does after a
	 * flush, delete or kill (0, not sent, when the entry timed out). Once a
	 * grace timer is armed, expiry is that timer's, not the entry's.
	 */
	if ((!(e->status & CT_S_DYING) || !(e->eflags & CT_EF_RESENT)) &&
	    ct_tick_before(now_tick, e->expiry))
		left = (uint32_t)(((uint64_t)(e->expiry - now_tick) << CT_TICK_SHIFT) /
				  CT_NS_PER_S);
	r->timeout_s = left;
	r->status = e->status;
	if (e->key.proto == IPPROTO_TCP) {
		/* TCP window tracking: CTA_PROTOINFO_TCP_WSCALE_* and FLAGS_*. */
		r->tcp_wscale[0] = ct_tw_wscale(e, CT_DIR_ORIG);
		r->tcp_wscale[1] = ct_tw_wscale(e, CT_DIR_REPLY);
		r->tcp_dflags[0] = ct_tw_linux_flags(e, CT_DIR_ORIG);
		r->tcp_dflags[1] = ct_tw_linux_flags(e, CT_DIR_REPLY);
	} else {
		r->tcp_wscale[0] = r->tcp_wscale[1] = 0;
		r->tcp_dflags[0] = r->tcp_dflags[1] = 0;
	}
	r->events = 0;
	r->shard = s->conf.shard_index;
	r->tcp_state = (e->key.proto == IPPROTO_TCP || e->key.proto == IPPROTO_SCTP) ?
		       e->tcp_state : 0;
	r->flags = 0;
	r->mark = 0;
	r->seq = 0;
	r->targets = 0;
	r->l4_seen = ct_x_l4(e);
	r->icmp_code = ct_x_code(e);
	r->in_port = ct_x_port(e);
	r->end_reason = (e->status & CT_S_DYING) ? ct_x_end(e) : 0;
	ct_reply_tuple(s, idx, &r->reply);
	r->block_lo = r->block_hi = 0;
	r->nat_event = 0;
	r->exp_class = 0;
	r->exp_helper = CT_EXP_HELPER_NONE;
	r->pad3a = 0;
	if (e->key.proto == IPPROTO_SCTP) {
		r->sctp_vtag[0] = e->sctp_vtag[0];
		r->sctp_vtag[1] = e->sctp_vtag[1];
	} else {
		r->sctp_vtag[0] = r->sctp_vtag[1] = 0;
	}
	r->master_id = 0;
	memset(r->pad3, 0, sizeof(r->pad3));
}

/*
 * Flow export: the interim record of a live entry whose active timeout
 * passed (driven by the wheel, see ct_wheel_link_from()). No event bits:
 * socket listeners never see it. With no room it is lost, and counted as
 * ring_full: the flow's next record carries its counts.
 */
void
ct_stage_interim(struct ct_shard *s, uint32_t idx, uint32_t now_tick)
{
	struct ct_event_rec *r;

	if (!s->conf.events_enabled)
		return;
	if (s->stage_n == s->stage_cap) {
		s->st.ring_full++;
		return;
	}
	r = &s->stage[s->stage_n++];
	ct_fill_record(s, idx, now_tick, r);
	r->events = 0;
	r->flags = CT_REC_F_INTERIM;
	r->seq = s->seq++;
}

/* Flow export: an entry that ends without a reason of its own. */
static inline void
end_default(struct ct_entry *e)
{
	bool closing = e->key.proto == IPPROTO_TCP && e->tcp_state >= CT_TCP_FIN_WAIT &&
		       e->tcp_state <= CT_TCP_CLOSE;

	if (ct_x_end(e) == CT_END_NONE)
		ct_entry_set_end(e, closing ? CT_END_EOF : CT_END_IDLE);
}

/* Stage pending|missed of a live entry; on no room the bits become missed. */
void
ct_stage_bits(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint8_t bits)
{
	struct ct_entry *e = &s->pool[idx];
	struct ct_event_rec *r;

	/* One test on the common path (events on, every kind wanted). */
	if (s->ev_filter) {
		unsigned kind = (bits & (CT_EVI_NEW | CT_EVI_RELATED)) ? CT_EVK_NEW : CT_EVK_UPDATE;

		if (!s->conf.events_enabled) {
			e->pending = e->missed = 0;
			return;
		}
		if (!(s->ev_kinds & kind)) {
			/* No listener for this kind: no record, nothing to retry. */
			e->pending = e->missed = 0;
			s->st.events_unwanted++;
			return;
		}
	}
	if (s->stage_n == s->stage_cap) {
		e->missed = bits;
		e->pending = 0;
		s->st.ring_full++;
		return;
	}
	r = &s->stage[s->stage_n++];
	ct_fill_record(s, idx, now_tick, r);
	r->events = ct_ev_to_linux(bits);
	r->flags = e->missed ? CT_REC_F_RETRY : 0;
	r->seq = s->seq++;
	e->pending = e->missed = 0;
}

void
nat_unbind(struct ct_shard *s, uint32_t idx)
{
	struct ct_entry *e = &s->pool[idx];

	if ((e->status & CT_S_NAT_MASK) && s->nat.release != NULL) {
		struct ct_tuple r;

		ct_nat_reply_build(e, &s->nat_x[idx], &r);
		s->nat.release(s->nat.arg, &r, e->status);
	}
	e->status &= (uint16_t)~CT_S_NAT_MASK;
}

void
ct_entry_free(struct ct_shard *s, uint32_t idx)
{
	struct ct_entry *e = &s->pool[idx];

	nat_unbind(s, idx);
	if (s->limits != NULL || s->top != NULL)
		ct_shard_limit_freed(s, idx);
	ct_wheel_unlink(s, idx);
	if (e->status & CT_S_DYING)
		s->st.dying--;
	*e = ct_entry_zero;
	s->cold[idx].start_ns = 0;
	s->cold[idx].tprev = CT_NIL;
	s->cold[idx].tnext = s->free_head;
	s->free_head = idx;
	s->n_free++;
	ct_shard_fill_check(s);
}

/* The resend mask of a dying entry, set by ct_dying_targets_set(). */
static inline uint32_t
dying_targets(const struct ct_entry *e)
{
	if (!(e->eflags & CT_EF_TARGETS))
		return 0;
	return (uint32_t)e->pending | (uint32_t)e->missed << 8 | (uint32_t)e->tcp_flags << 16 |
	       (uint32_t)e->to_class << 24;
}

/*
 * A refused DESTROY is sent again at a uniform random point of a window that
 * starts at `destroy_grace_ms` and doubles with each refusal of that entry,
 * up to CT_GRACE_BACKOFF_MAX doublings but not past CT_GRACE_BACKOFF_CAP_MS
 * (a longer grace is never shortened). A lagging listener then costs each
 * dying entry a few resends, not one per half grace: with one fixed window
 * a 500 ms grace re-sent every destroy ~10 times in 9 s of lag, and the
 * worker spent a third of its time on them (docs/PERFORMANCE.md). The cap
 * bounds how long a deliverable DESTROY waits once the listener has caught
 * up, and so a drain at shutdown.
 */
void
ct_grace_rearm(struct ct_shard *s, uint32_t idx, uint64_t now)
{
	struct ct_entry *e = &s->pool[idx];
	unsigned k = e->dy_refused < CT_GRACE_BACKOFF_MAX ? e->dy_refused : CT_GRACE_BACKOFF_MAX;
	uint64_t win = s->grace_ns << k;
	uint64_t delay;

	if (win > s->grace_cap_ns)
		win = s->grace_cap_ns;
	delay = win ? prng_next(s) % win : 0;
	if (e->dy_refused != UINT8_MAX)
		e->dy_refused++;
	e->eflags &= (uint8_t)~CT_EF_AWAIT;
	e->eflags |= CT_EF_RESENT;
	e->expiry = ct_ns_to_tick(s, now + delay);
	ct_wheel_unlink(s, idx);
	ct_wheel_link(s, idx);
}

/* Stage the DESTROY of a dying entry, or re-arm its grace timer. */
void
ct_stage_destroy(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now, int resend)
{
	struct ct_entry *e = &s->pool[idx];
	struct ct_event_rec *r;

	if (!(s->ev_kinds & CT_EVK_DESTROY)) {
		/* Nobody listens for it: as with events disabled. */
		s->st.events_unwanted++;
		ct_entry_free(s, idx);
		return;
	}
	if (s->stage_n == s->stage_cap) {
		s->st.ring_full++;
		ct_grace_rearm(s, idx, now);
		return;
	}
	ct_wheel_unlink(s, idx);
	r = &s->stage[s->stage_n++];
	ct_fill_record(s, idx, now_tick, r);
	r->targets = dying_targets(e);
	r->events = ct_ev_to_linux((uint8_t)((r->targets ? 0 : e->pending | e->missed) |
					     CT_EVI_DESTROY));
	r->flags = resend ? CT_REC_F_RESEND : 0;
	r->seq = s->seq++;
	ct_dying_targets_set(e, 0);
	e->pending = e->missed = 0;
	e->eflags |= CT_EF_AWAIT;
}

/* End a live entry: out of the index at once, then the dying path. */
void
ct_entry_destroy(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now)
{
	struct ct_entry *e = &s->pool[idx];

	if (s->hlp.ended != NULL)
		s->hlp.ended(s->hlp.arg, idx, e->id, now);
	ct_index_remove(s, idx);
	ct_wheel_unlink(s, idx);
	end_default(e);
	e->status |= CT_S_DYING;
	e->stop_ns = now;
	e->dy_refused = 0;
	s->st.count--;
	if (!s->conf.events_enabled) {
		s->st.dying++;
		ct_entry_free(s, idx);
		return;
	}
	s->st.dying++;
	ct_stage_destroy(s, idx, now_tick, now, 0);
}
