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

/* rec_build() stores every field: a new one must be added there too. */
_Static_assert(offsetof(struct ct_event_rec, pad3) + sizeof(((struct ct_event_rec *)0)->pad3) ==
		       sizeof(struct ct_event_rec),
	       "ct_event_rec ends with pad3, no tail padding");
_Static_assert(offsetof(struct ct_event_rec, bytes) == offsetof(struct ct_event_rec, pkts) + 16 &&
		       offsetof(struct ct_entry, bytes) == offsetof(struct ct_entry, pkts_w) + 16,
	       "packets and bytes: one 32-byte block in the entry and in the record");
_Static_assert(offsetof(struct ct_event_rec, nat_event) ==
			       offsetof(struct ct_event_rec, block_lo) + 4 &&
		       offsetof(struct ct_event_rec, pad3a) ==
			       offsetof(struct ct_event_rec, block_lo) + 7,
	       "block_lo .. pad3a: one 8-byte word");

/*
 * Linux's TCP flags byte of one direction (ct_tw_linux_flags(), which
 * test_shard_raw checks this against): the high nibble of tw_seen
 * through a table, CLOSE_INIT from tcp_flags, MAXACK_SET from tw_retrans.
 */
static const uint8_t tw_seen_linux[16] = {
#define TW_HI(h) (uint8_t)(((h) & 0x3) | ((h) & 0xc) << 1)
	TW_HI(0), TW_HI(1), TW_HI(2), TW_HI(3), TW_HI(4), TW_HI(5), TW_HI(6), TW_HI(7),
	TW_HI(8), TW_HI(9), TW_HI(10), TW_HI(11), TW_HI(12), TW_HI(13), TW_HI(14), TW_HI(15),
#undef TW_HI
};
_Static_assert(CT_TF_CLOSE_INIT_ORIG == 0x01 && CT_TF_CLOSE_INIT_REPLY == 0x02 &&
		       CT_TW_LINUX_CLOSE_INIT == 0x04 && CT_TW_R_MAXACK0 == 0x40 &&
		       CT_TW_R_MAXACK1 == 0x80 && CT_TW_LINUX_MAXACK_SET == 0x20,
	       "the shifts in tw_flags() follow these bits");

static inline uint8_t
tw_flags(const struct ct_entry *e, unsigned d)
{
	return (uint8_t)(tw_seen_linux[e->tw_seen[d] >> 4] |
			 ((e->tcp_flags >> d) & 1) << 2 |
			 ((e->tw_retrans >> (6 + d)) & 1) << 5);
}

/*
 * The record of entry `e` (slot `idx`) with its event bits, flags and sequence number: every field stored once,
 * no memset (a 128-byte memset became `rep stos`), the per-protocol parts
 * chosen by one switch.
 */
static inline void
rec_build(const struct ct_entry *e, uint64_t start_ns, uint32_t idx, uint16_t shard, uint32_t now_tick, struct ct_event_rec *r, uint16_t events,
	  uint8_t flags, uint32_t seq)
{
	bool dying = (e->status & CT_S_DYING) != 0;
	uint32_t left = 0;
	uint64_t zero8 = 0;

	ct_entry_key(e, &r->orig);
	r->pkts[0] = ct_entry_pkts(e, 0);
	r->pkts[1] = ct_entry_pkts(e, 1);
	memcpy(r->bytes, e->bytes, sizeof(r->bytes));
	r->start_ns = start_ns;
	r->stop_ns = dying ? e->stop_ns : 0; /* over tw_end[] */
	r->id = e->id;
	r->slot = idx;
	/*
	 * A DESTROY carries the time that was left, as the kernel's does after a
	 * flush, delete or kill (0, not sent, when the entry timed out). Once a
	 * grace timer is armed, expiry is that timer's, not the entry's.
	 */
	if ((!dying || !(e->eflags & CT_EF_RESENT)) && ct_tick_before(now_tick, e->expiry))
		left = (uint32_t)(((uint64_t)(e->expiry - now_tick) << CT_TICK_SHIFT) /
				  CT_NS_PER_S);
	r->timeout_s = left;
	r->status = e->status;
	r->events = events;
	r->shard = shard;
	r->flags = flags;
	r->mark = 0;
	r->seq = seq;
	r->targets = 0;
	r->l4_seen = ct_x_l4(e);
	r->in_port = ct_x_port(e);
	r->end_reason = dying ? ct_x_end(e) : 0;
	memcpy(&r->block_lo, &zero8, sizeof(zero8)); /* block_lo .. pad3a */
	r->master_id = 0;
	memset(r->pad3, 0, sizeof(r->pad3));
	r->tcp_state = 0;
	r->icmp_code = 0;
	r->tcp_wscale[0] = r->tcp_wscale[1] = 0;
	r->tcp_dflags[0] = r->tcp_dflags[1] = 0;
	r->sctp_vtag[0] = r->sctp_vtag[1] = 0;
	switch (e->key.proto) {
	case IPPROTO_TCP:
		/* TCP window tracking: CTA_PROTOINFO_TCP_WSCALE_* and FLAGS_*. */
		r->tcp_state = e->tcp_state;
		r->tcp_wscale[0] = ct_tw_wscale(e, CT_DIR_ORIG);
		r->tcp_wscale[1] = ct_tw_wscale(e, CT_DIR_REPLY);
		r->tcp_dflags[0] = tw_flags(e, CT_DIR_ORIG);
		r->tcp_dflags[1] = tw_flags(e, CT_DIR_REPLY);
		break;
	case IPPROTO_SCTP:
		r->tcp_state = e->tcp_state;
		r->sctp_vtag[0] = e->sctp_vtag[0];
		r->sctp_vtag[1] = e->sctp_vtag[1];
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		r->icmp_code = ct_x_code(e);
		break;
	default:
		break;
	}
	if (e->status & CT_S_NAT_MASK)
		ct_nat_reply_build(e, &e->natx, &r->reply);
	else
		ct_tuple_rev(&r->reply, &r->orig);
}

void
ct_fill_record(struct ct_shard *s, uint32_t idx, uint32_t now_tick, struct ct_event_rec *r)
{
	rec_build(&s->pool[idx], s->cold[idx].start_ns, idx, s->conf.shard_index, now_tick, r, 0,
		  0, 0);
}

/*
 * A staged record is raw: the entry's two lines as they were (a
 * translation in its key), what else
 * rec_build() reads, and in their own places the fields that the shard's
 * commit and the results path read (id, slot, events, shard, flags, seq,
 * targets). Copying 128 bytes is about a third of the instructions of
 * building the record; ct_event_rec_cook() builds it where it is read (the
 * control core, ev_chan_pull_records()), and ct_shard_ev_peek() for the
 * shard's other readers.
 */
#define RAW_LINE1   0u     /* entry bytes 0..63 */
#define RAW_START   64u    /* uint64_t start_ns */
#define RAW_TICK    72u    /* uint32_t now_tick */
#define RAW_LINE2   120u   /* entry bytes 64..127 */
#define RAW_MAGIC   UINT32_C(0x57415243) /* in pad3; a built record has 0 there */

_Static_assert(RAW_TICK + sizeof(uint32_t) <= offsetof(struct ct_event_rec, id) &&
		       offsetof(struct ct_event_rec, id) < offsetof(struct ct_event_rec, slot) &&
		       offsetof(struct ct_event_rec, targets) + sizeof(uint32_t) <= RAW_LINE2 &&
		       RAW_LINE2 + 64 <= offsetof(struct ct_event_rec, pad3) &&
		       offsetof(struct ct_event_rec, id) >= 88 &&
		       offsetof(struct ct_event_rec, events) >
			       offsetof(struct ct_event_rec, slot) &&
		       offsetof(struct ct_event_rec, flags) < offsetof(struct ct_event_rec, seq),
	       "a raw record keeps the header fields where a built record has them");
_Static_assert(sizeof(struct ct_entry) == 128, "a raw record holds the entry's two lines");

static inline void
raw_fill(struct ct_shard *s, uint32_t idx, uint32_t now_tick, struct ct_event_rec *r,
	 uint16_t events, uint8_t flags, uint32_t seq, uint32_t targets)
{
	const struct ct_entry *e = &s->pool[idx];
	uint8_t *b = (uint8_t *)r;
	uint32_t magic = RAW_MAGIC;

	memcpy(b + RAW_LINE1, e, 64);
	memcpy(b + RAW_LINE2, (const uint8_t *)e + 64, 64);
	memcpy(b + RAW_START, &s->cold[idx].start_ns, sizeof(uint64_t));
	memcpy(b + RAW_TICK, &now_tick, sizeof(now_tick));
	r->id = e->id;
	r->slot = idx;
	r->events = events;
	r->shard = s->conf.shard_index;
	r->flags = flags;
	r->seq = seq;
	r->targets = targets;
	memcpy(r->pad3, &magic, sizeof(magic));
}

bool
ct_event_rec_raw(const struct ct_event_rec *r)
{
	uint32_t magic;

	memcpy(&magic, r->pad3, sizeof(magic));
	return magic == RAW_MAGIC;
}

void
ct_event_rec_cook(struct ct_event_rec *r)
{
	const uint8_t *b = (const uint8_t *)r;
	struct ct_entry e;
	uint64_t start_ns;
	uint32_t now_tick, targets;

	if (!ct_event_rec_raw(r))
		return;
	memcpy(&e, b + RAW_LINE1, 64);
	memcpy((uint8_t *)&e + 64, b + RAW_LINE2, 64);
	memcpy(&start_ns, b + RAW_START, sizeof(start_ns));
	memcpy(&now_tick, b + RAW_TICK, sizeof(now_tick));
	targets = r->targets;
	rec_build(&e, start_ns, r->slot, r->shard, now_tick, r, r->events, r->flags, r->seq);
	r->targets = targets;
}

__attribute__((noinline)) bool
ct_stage_turn(struct ct_shard *s)
{
	if (s->stage_next_cap == 0)
		return false;
	s->stage_done = s->stage_n;
	s->stage = s->stage_next;
	s->stage_cap = s->stage_next_cap;
	s->stage_next = NULL;
	s->stage_next_cap = 0;
	s->stage_n = 0;
	return true;
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
	if (!ct_stage_room(s)) {
		s->st.ring_full++;
		return;
	}
	r = &s->stage[s->stage_n++];
	raw_fill(s, idx, now_tick, r, 0, CT_REC_F_INTERIM, (uint32_t)s->seq++, 0);
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

static void stage_bits_full(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint8_t bits);

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
	/* A tail call: with no call of its own, the function saves few registers. */
	if (__builtin_expect(s->stage_n == s->stage_cap, 0)) {
		stage_bits_full(s, idx, now_tick, bits);
		return;
	}
	r = &s->stage[s->stage_n++];
	/* MARK and LABEL are the only bits that move (ct_ev_to_linux()). */
	raw_fill(s, idx, now_tick, r,
		 __builtin_expect(bits & (CT_EVI_MARK | CT_EVI_LABEL), 0) ? ct_ev_to_linux(bits) :
									      bits,
		 e->missed ? CT_REC_F_RETRY : 0, (uint32_t)s->seq++, 0);
	e->pending = e->missed = 0;
}

/* ct_stage_bits() with its staging area full: the lent area's second part, or missed. */
static __attribute__((noinline)) void
stage_bits_full(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint8_t bits)
{
	struct ct_entry *e = &s->pool[idx];

	if (ct_stage_turn(s)) {
		ct_stage_bits(s, idx, now_tick, bits);
		return;
	}
	e->missed = bits;
	e->pending = 0;
	s->st.ring_full++;
}

void
nat_unbind(struct ct_shard *s, uint32_t idx, bool unused)
{
	struct ct_entry *e = &s->pool[idx];

	if ((e->status & CT_S_NAT_MASK) && s->nat.release != NULL) {
		struct ct_tuple r;

		ct_nat_reply_build(e, &e->natx, &r);
		s->nat.release(s->nat.arg, &r,
			       (uint16_t)(e->status | (unused ? CT_NAT_REL_UNUSED : 0)));
	}
	e->status &= (uint16_t)~CT_S_NAT_MASK;
	memset(&e->natx, 0, sizeof(e->natx));
	memset(e->natd, 0, sizeof(e->natd));
	e->nat_rh = e->nat_kh = 0;
}

void
ct_entry_free_hint(struct ct_shard *s, uint32_t idx, const struct ct_lim_hint *h)
{
	struct ct_entry *e = &s->pool[idx];

	nat_unbind(s, idx, false);
	if (s->limits != NULL || s->top != NULL)
		ct_shard_limit_freed(s, idx, h);
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
	return e->tw_last_end;
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
	uint32_t targets;

	if (!(s->ev_kinds & CT_EVK_DESTROY)) {
		/* Nobody listens for it: as with events disabled. */
		s->st.events_unwanted++;
		ct_entry_free(s, idx);
		return;
	}
	if (!ct_stage_room(s)) {
		s->st.ring_full++;
		ct_grace_rearm(s, idx, now);
		return;
	}
	ct_wheel_unlink(s, idx);
	targets = dying_targets(e);
	r = &s->stage[s->stage_n++];
	raw_fill(s, idx, now_tick, r,
		 ct_ev_to_linux((uint8_t)((targets ? 0 : e->pending | e->missed) | CT_EVI_DESTROY)),
		 resend ? CT_REC_F_RESEND : 0, (uint32_t)s->seq++, targets);
	/* Counted as taken; ct_shard_ev_commit() takes back one the ring refused. */
	s->st.destroy_resent += resend != 0;
	ct_dying_targets_set(e, 0);
	e->pending = e->missed = 0;
	e->eflags |= CT_EF_AWAIT;
}

/* End a live entry: out of the index at once, then the dying path. */
static inline void
entry_destroy(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now,
	      const struct ct_index_rm *rm)
{
	struct ct_entry *e = &s->pool[idx];

	if (s->hlp.ended != NULL)
		s->hlp.ended(s->hlp.arg, idx, e->id, now);
	if (rm != NULL)
		ct_index_remove_prepared(s, idx, rm);
	else
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

void
ct_entry_destroy(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now)
{
	entry_destroy(s, idx, now_tick, now, NULL);
}

void
ct_entry_destroy_prepared(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now,
			  const struct ct_index_rm *rm)
{
	entry_destroy(s, idx, now_tick, now, rm);
}
