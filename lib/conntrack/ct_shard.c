/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard: one worker's table. Entry pool (two cache lines an entry, and
 * a parallel cold array of start times and wheel links) with a free stack,
 * an index of 64-byte buckets (8 signatures + 8 pool indices, two candidate
 * buckets per flow, one level of cuckoo displacement), a one-tick timer
 * wheel with lazy refresh, the event staging buffer and the dying set of
 * DESIGN §4.
 *
 * Single writer: nothing here locks or uses atomics.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <emmintrin.h>

#include <rte_prefetch.h>

#include "ct_private.h"
#include "ct_tcp_fast.h"

#define CT_BUCKET_SLOTS 8
/*
 * Timer wheel slots: max_entries / 2, a power of two between these bounds
 * (a shard of 64K entries has 32K slots, ~34 s a turn; from 128K on, 64K
 * slots, ~69 s). Deadlines beyond one turn are revisited once a turn.
 */
#define CT_WHEEL_MIN_BITS 12
#define CT_WHEEL_MAX_BITS 16
#define CT_HEAD_FLAG 0x80000000u   /* tprev of a list head: flag | slot */
#define CT_MAX_TIMEOUT_TICKS (1u << 30)
#define CT_NS_PER_S UINT64_C(1000000000)

struct ct_bucket {
	uint16_t sig[CT_BUCKET_SLOTS];
	uint32_t idx[CT_BUCKET_SLOTS];
	uint8_t pad[16];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct ct_bucket) == 64, "a bucket is one cache line");

struct ct_shard {
	struct ct_conf conf;
	/* Pool */
	struct ct_entry *pool;
	struct ct_entry_cold *cold;  /* start time and wheel links, same index as pool */
	uint32_t cap;              /* max_entries + early-drop headroom */
	uint32_t free_head;        /* free slots, linked through cold[].tnext */
	uint32_t n_free;
	/* Index */
	struct ct_bucket *buckets;
	uint32_t nb;
	/* Time and timers */
	uint64_t epoch_ns;
	uint64_t last_ns;
	int epoch_set;
	uint32_t wheel_next;       /* next tick the wheel has to process */
	uint32_t *wheel;
	uint32_t wheel_size;       /* slots, a power of two */
	uint32_t wheel_mask;       /* wheel_size - 1 */
	uint32_t to_ticks[CT_TO_MAX];
	uint32_t act_ticks;        /* flow export: active timeout, 0 = off */
	uint64_t grace_ns;
	uint64_t grace_cap_ns;   /* the widest re-send window: max(grace, backoff cap) */
	/* Events */
	struct ct_event_rec *stage;
	uint32_t stage_n;
	uint32_t stage_cap;
	uint64_t seq;
	unsigned ev_kinds;         /* CT_EVK_*: the records someone wants */
	bool ev_filter;            /* events off, or NEW or UPDATE not wanted */
	uint64_t prng;
	uint32_t id_next;
	/* Operator warnings */
	ct_log_fn log_fn;
	void *log_arg;
	uint64_t last_full_warn_ns;
	int full_warned;
	int alarm_on;
	/* Control-plane cursors */
	uint32_t flush_cursor;
	uint32_t last_created;     /* policy info: slot of the latest entry_create() */
	struct ct_stats st;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

/* Copied over entries to clear them: 128-byte moves, where memset became `rep stos`. */
static const struct ct_entry ct_entry_zero;

static inline uint64_t
prng_next(struct ct_shard *s)
{
	/* splitmix64: deterministic for a given seed. */
	uint64_t z = (s->prng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint16_t
hash_sig(uint32_t h)
{
	uint16_t sig = (uint16_t)h;

	return sig != 0 ? sig : 1;
}

static inline void
hash_buckets(const struct ct_shard *s, uint32_t h, uint32_t *b1, uint32_t *b2)
{
	ct_index_buckets(s->nb, h, b1, b2);
}

static inline uint32_t
ns_to_tick(const struct ct_shard *s, uint64_t ns)
{
	if (ns < s->epoch_ns)
		return 0;
	return (uint32_t)((ns - s->epoch_ns) >> CT_TICK_SHIFT);
}

/* Clamp `now` to be non-decreasing and return its tick. */
static inline uint32_t
shard_now(struct ct_shard *s, uint64_t *now)
{
	if (!s->epoch_set) {
		s->epoch_set = 1;
		s->epoch_ns = *now;
		s->last_ns = *now;
		s->wheel_next = 0;
	}
	if (*now < s->last_ns)
		*now = s->last_ns;
	else
		s->last_ns = *now;
	return ns_to_tick(s, *now);
}

static void
shard_log(struct ct_shard *s, int level, const char *fmt, unsigned long long a,
	  unsigned long long b, unsigned long long c)
{
	char msg[192];

	if (s->log_fn == NULL)
		return;
	snprintf(msg, sizeof(msg), fmt, a, b, c);
	s->log_fn(s->log_arg, level, msg);
}

/* ------------------------------------------------------------------------ */
/* Timer wheel                                                               */

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
static void
wheel_link_from(struct ct_shard *s, uint32_t idx, uint32_t from)
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

static inline void
wheel_link(struct ct_shard *s, uint32_t idx)
{
	wheel_link_from(s, idx, s->wheel_next);
}

static void
wheel_unlink(struct ct_shard *s, uint32_t idx)
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

/*
 * Apply a timeout class. A later deadline is lazy: the wheel meets the entry
 * at its old slot first and links it again then. So is an earlier one that
 * is a full turn of the wheel or more away: every slot comes round within a
 * turn, before that deadline (an established flow that has data in flight,
 * 300 s, and then none, 5 days, moves no links). Only a deadline nearer
 * than that relinks now.
 */
static inline void
entry_refresh(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint8_t cls)
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
	wheel_unlink(s, idx);
	wheel_link(s, idx);
}

/* ------------------------------------------------------------------------ */
/* Index                                                                     */

static inline unsigned
bucket_match(const struct ct_bucket *b, uint16_t sig)
{
	__m128i v = _mm_load_si128((const __m128i *)(const void *)b->sig);
	__m128i m = _mm_cmpeq_epi16(v, _mm_set1_epi16((short)sig));

	/* Two mask bits per 16-bit lane: keep the even ones. */
	return (unsigned)_mm_movemask_epi8(m) & 0x5555u;
}

/*
 * Whether entry key `k` is tuple `t` (bit 0), its reverse (bit 1), both (a
 * tuple that is its own reverse: key_dir() takes it as the original) or
 * neither (0), without branching on the direction: both comparisons are
 * made at once.
 */
static inline unsigned
key_match(const struct ct_tuple *k, const struct ct_tuple *t)
{
	const __m128i k0 = _mm_loadu_si128((const __m128i *)(const void *)k->src);
	const __m128i k1 = _mm_loadu_si128((const __m128i *)(const void *)k->dst);
	const __m128i t0 = _mm_loadu_si128((const __m128i *)(const void *)t->src);
	const __m128i t1 = _mm_loadu_si128((const __m128i *)(const void *)t->dst);
	uint64_t kw, tw, tr;
	unsigned o, r;

	/* sport, dport, proto, family, zone: the reverse swaps the two ports. */
	memcpy(&kw, &k->sport, sizeof(kw));
	memcpy(&tw, &t->sport, sizeof(tw));
	tr = ct_tuple_tail_swapped(tw);
	o = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(k0, t0),
						      _mm_cmpeq_epi8(k1, t1)));
	r = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(k0, t1),
						      _mm_cmpeq_epi8(k1, t0)));
	/* Differences ORed, not `&&` and `?:`: GCC branched on them, on the packet's direction. */
	o = ((o ^ 0xffffu) | (kw ^ tw)) == 0;
	r = ((r ^ 0xffffu) | (kw ^ tr)) == 0;
	return o | r << 1;
}

/* The packet's direction for a key_match() hit: both bits set (its own reverse) is the original. */
static inline enum ct_dir
key_dir(unsigned hit)
{
	return (enum ct_dir)(~hit & 1u);
}

static inline uint32_t
bucket_find(const struct ct_shard *s, const struct ct_bucket *b, uint16_t sig,
	    const struct ct_tuple *t, enum ct_dir *dir)
{
	unsigned m = bucket_match(b, sig);

	while (m != 0) {
		unsigned k = (unsigned)__builtin_ctz(m) >> 1;
		uint32_t idx = b->idx[k];
		unsigned hit = key_match(&s->pool[idx].key, t);

		m &= m - 1;
		if (hit != 0) {
			*dir = key_dir(hit);
			return idx;
		}
	}
	return CT_NIL;
}

/* Where a flow can be: its two candidate buckets and its signature, computed once a packet. */
struct ct_probe {
	uint32_t b1;
	uint32_t b2;
	uint16_t sig;
	uint32_t cand;   /* the entry prefetched for it (first signature match), or CT_NIL */
};

static inline void
probe_init(const struct ct_shard *s, uint32_t h, struct ct_probe *q)
{
	hash_buckets(s, h, &q->b1, &q->b2);
	q->sig = hash_sig(h);
	q->cand = CT_NIL;
}

/*
 * The flow's entry. The one prefetched for the packet is almost always it:
 * one key compare. It is still in the index (packets in between may have
 * destroyed or recycled it) when it is used and not dying; otherwise, or
 * on a signature collision, the buckets are searched.
 */
static inline uint32_t
probe_lookup(const struct ct_shard *s, const struct ct_probe *q, const struct ct_tuple *t,
	     enum ct_dir *dir)
{
	uint32_t idx;

	if (q->cand != CT_NIL) {
		const struct ct_entry *c = &s->pool[q->cand];
		unsigned hit = key_match(&c->key, t);

		if (hit != 0 && (c->eflags & CT_EF_USED) && !(c->status & CT_S_DYING)) {
			*dir = key_dir(hit);
			return q->cand;
		}
	}
	idx = bucket_find(s, &s->buckets[q->b1], q->sig, t, dir);
	if (idx == CT_NIL && q->b2 != q->b1)
		idx = bucket_find(s, &s->buckets[q->b2], q->sig, t, dir);
	return idx;
}

static inline uint32_t
index_lookup(const struct ct_shard *s, const struct ct_tuple *t, uint32_t h, enum ct_dir *dir)
{
	struct ct_probe q;

	probe_init(s, h, &q);
	return probe_lookup(s, &q, t, dir);
}

/* Into the first free slot (signature 0), found with one compare, not a loop of branches. */
static inline int
bucket_put(struct ct_bucket *b, uint16_t sig, uint32_t idx)
{
	unsigned m = bucket_match(b, 0), k;

	if (m == 0)
		return -ENOSPC;
	k = (unsigned)__builtin_ctz(m) >> 1;
	b->sig[k] = sig;
	b->idx[k] = idx;
	return 0;
}

/* The used slots of `b` that hold entry `idx`, two mask bits a slot as bucket_match(). */
static inline unsigned
bucket_slots_of(const struct ct_bucket *b, uint32_t idx)
{
	const __m128i v = _mm_set1_epi32((int)idx);
	const __m128i lo = _mm_load_si128((const __m128i *)(const void *)b->idx);
	const __m128i hi = _mm_load_si128((const __m128i *)(const void *)(b->idx + 4));
	unsigned m = (unsigned)_mm_movemask_epi8(
		_mm_packs_epi32(_mm_cmpeq_epi32(lo, v), _mm_cmpeq_epi32(hi, v)));

	return m & ~bucket_match(b, 0) & 0x5555u;
}

/* The other candidate bucket of the entry in slot k of bucket b. */
static inline uint32_t
alt_bucket(const struct ct_shard *s, uint32_t b, const struct ct_bucket *bk, unsigned k)
{
	uint32_t v1, v2;

	hash_buckets(s, ct_tuple_hash(&s->pool[bk->idx[k]].key), &v1, &v2);
	return v1 == b ? v2 : v1;
}

/*
 * Second cuckoo level, only when both buckets and every first-level move
 * are full (rare below 80 % load, but a random keyed hash does reach it at
 * 1M entries): move a resident of an alternative bucket to its own
 * alternative, then the first resident into the freed slot.
 */
static int
index_insert_deep(struct ct_shard *s, const uint32_t cand[2], uint16_t sig, uint32_t idx)
{
	unsigned i, k, j;

	for (i = 0; i < 2; i++) {
		struct ct_bucket *b = &s->buckets[cand[i]];

		for (k = 0; k < CT_BUCKET_SLOTS; k++) {
			uint32_t alt = alt_bucket(s, cand[i], b, k);
			struct ct_bucket *ab = &s->buckets[alt];

			if (alt == cand[0] || alt == cand[1])
				continue;
			for (j = 0; j < CT_BUCKET_SLOTS; j++) {
				uint32_t alt2 = alt_bucket(s, alt, ab, j);

				if (alt2 == alt || alt2 == cand[i])
					continue;
				if (bucket_put(&s->buckets[alt2], ab->sig[j], ab->idx[j]) != 0)
					continue;
				ab->sig[j] = b->sig[k];
				ab->idx[j] = b->idx[k];
				b->sig[k] = sig;
				b->idx[k] = idx;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

static int
index_insert(struct ct_shard *s, uint32_t idx, uint32_t h)
{
	uint32_t b1, b2, cand[2], i;
	uint16_t sig = hash_sig(h);
	unsigned k;

	hash_buckets(s, h, &b1, &b2);
	if (bucket_put(&s->buckets[b1], sig, idx) == 0 ||
	    bucket_put(&s->buckets[b2], sig, idx) == 0)
		return 0;
	/* Both full: move one resident to its other bucket (one cuckoo level). */
	cand[0] = b1;
	cand[1] = b2;
	for (i = 0; i < 2; i++) {
		struct ct_bucket *b = &s->buckets[cand[i]];

		for (k = 0; k < CT_BUCKET_SLOTS; k++) {
			uint32_t vh = ct_tuple_hash(&s->pool[b->idx[k]].key);
			uint32_t v1, v2, alt;

			hash_buckets(s, vh, &v1, &v2);
			alt = v1 == cand[i] ? v2 : v1;
			if (alt == cand[i])
				continue;
			if (bucket_put(&s->buckets[alt], b->sig[k], b->idx[k]) == 0) {
				b->sig[k] = sig;
				b->idx[k] = idx;
				return 0;
			}
		}
	}
	return index_insert_deep(s, cand, sig, idx);
}

static void
index_remove(struct ct_shard *s, uint32_t idx)
{
	uint32_t h = ct_tuple_hash(&s->pool[idx].key);
	uint32_t b[2];
	unsigned i, k;

	hash_buckets(s, h, &b[0], &b[1]);
	for (i = 0; i < 2; i++) {
		struct ct_bucket *bk = &s->buckets[b[i]];
		unsigned m = bucket_slots_of(bk, idx);

		if (m != 0) {
			k = (unsigned)__builtin_ctz(m) >> 1;
			bk->sig[k] = 0;
			bk->idx[k] = CT_NIL;
			return;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Fill alarm and table-full warning                                         */

static void
fill_check(struct ct_shard *s)
{
	uint64_t used = (uint64_t)s->st.count + s->st.dying;
	uint64_t max = s->conf.max_entries;

	if (s->conf.fill_alarm_high_pct == 0)
		return;
	if (!s->alarm_on && used * 100 >= (uint64_t)s->conf.fill_alarm_high_pct * max) {
		s->alarm_on = 1;
		s->st.fill_alarm++;
		shard_log(s, LOG_WARNING,
			  "conntrack table %llu%% full (%llu of %llu entries incl. dying)",
			  used * 100 / max, used, max);
	} else if (s->alarm_on && used * 100 < (uint64_t)s->conf.fill_alarm_low_pct * max) {
		s->alarm_on = 0;
		shard_log(s, LOG_NOTICE,
			  "conntrack table back to %llu%% (%llu of %llu entries incl. dying)",
			  used * 100 / max, used, max);
	}
}

static void
table_full(struct ct_shard *s, uint64_t now)
{
	s->st.drop++;
	if (s->full_warned && now - s->last_full_warn_ns < CT_NS_PER_S)
		return;
	s->full_warned = 1;
	s->last_full_warn_ns = now;
	s->st.table_full_warn++;
	shard_log(s, LOG_WARNING, "table full, dropping packet (%llu entries, %llu dying, %llu)",
		  s->st.count, s->st.dying, s->conf.max_entries);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */

/* fill_record() stores every field: a new one must be added there too. */
_Static_assert(offsetof(struct ct_event_rec, end_reason) + 1 == sizeof(struct ct_event_rec),
	       "ct_event_rec ends with end_reason, no tail padding");

static void
fill_record(struct ct_shard *s, uint32_t idx, uint32_t now_tick, struct ct_event_rec *r)
{
	const struct ct_entry *e = &s->pool[idx];
	uint32_t left = 0;

	/* Every field stored once, no memset: a 128-byte memset became
	 * `rep stos`, the dearest part of staging a record (perf, issue 10). */
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
		left = (uint32_t)(((uint64_t)(e->expiry - now_tick) << CT_TICK_SHIFT) / CT_NS_PER_S);
	r->timeout_s = left;
	r->status = e->status;
	if (e->key.proto == 6) {
		/* TCP window tracking (issue 9): CTA_PROTOINFO_TCP_WSCALE_* and FLAGS_*. */
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
	r->tcp_state = e->key.proto == 6 ? e->tcp_state : 0;
	r->flags = 0;
	r->mark = 0;
	r->seq = 0;
	r->targets = 0;
	r->l4_seen = ct_x_l4(e);
	r->icmp_code = ct_x_code(e);
	r->in_port = ct_x_port(e);
	r->end_reason = (e->status & CT_S_DYING) ? ct_x_end(e) : 0;
}

/*
 * Flow export: the interim record of a live entry whose active timeout
 * passed (driven by the wheel, see wheel_link()). No event bits: socket
 * listeners never see it. With no room it is lost, and counted as
 * ring_full: the flow's next record carries its counts.
 */
static void
stage_interim(struct ct_shard *s, uint32_t idx, uint32_t now_tick)
{
	struct ct_event_rec *r;

	if (!s->conf.events_enabled)
		return;
	if (s->stage_n == s->stage_cap) {
		s->st.ring_full++;
		return;
	}
	r = &s->stage[s->stage_n++];
	fill_record(s, idx, now_tick, r);
	r->events = 0;
	r->flags = CT_REC_F_INTERIM;
	r->seq = s->seq++;
}

/* Flow export: why an entry ends (`why` from the caller, or the timeout's). */
static inline void
set_end(struct ct_entry *e, uint8_t why)
{
	e->eflags = (uint8_t)((e->eflags & ~CT_EF_END_MASK) | (why << CT_EF_END_SHIFT));
}

/* Flow export: a flush or delete of a TCP connection that already closed
 * (TIME_WAIT, CLOSE) reaps a finished flow: its end was the FIN/RST. */
static inline uint8_t
forced_end(const struct ct_entry *e)
{
	if (e->key.proto == 6 && (e->tcp_state == CT_TCP_TIME_WAIT || e->tcp_state == CT_TCP_CLOSE))
		return CT_END_EOF;
	return CT_END_FORCED;
}

/* Flow export: an entry that ends without a reason of its own. */
static inline void
end_default(struct ct_entry *e)
{
	if (ct_x_end(e) == CT_END_NONE)
		set_end(e, e->key.proto == 6 && e->tcp_state >= CT_TCP_FIN_WAIT &&
			   e->tcp_state <= CT_TCP_CLOSE ? CT_END_EOF : CT_END_IDLE);
}

/* Stage pending|missed of a live entry; on no room the bits become missed. */
static void
stage_bits(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint8_t bits)
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
	fill_record(s, idx, now_tick, r);
	r->events = ct_ev_to_linux(bits);
	r->flags = e->missed ? CT_REC_F_RETRY : 0;
	r->seq = s->seq++;
	e->pending = e->missed = 0;
}

/* Most packets have nothing to report: that test inline, the staging not. */
static inline void
stage_update(struct ct_shard *s, uint32_t idx, uint32_t now_tick)
{
	const struct ct_entry *e = &s->pool[idx];
	uint8_t bits = e->pending | e->missed;

	if (bits != 0)
		stage_bits(s, idx, now_tick, bits);
}

static void
entry_free(struct ct_shard *s, uint32_t idx)
{
	struct ct_entry *e = &s->pool[idx];

	wheel_unlink(s, idx);
	if (e->status & CT_S_DYING)
		s->st.dying--;
	*e = ct_entry_zero;
	s->cold[idx].start_ns = 0;
	s->cold[idx].tprev = CT_NIL;
	s->cold[idx].tnext = s->free_head;
	s->free_head = idx;
	s->n_free++;
	fill_check(s);
}

/* The resend mask of a dying entry (CT_EF_TARGETS): 0 = every listener. */
static inline void
dying_targets_set(struct ct_entry *e, uint32_t m)
{
	if (m == 0) {
		e->eflags &= (uint8_t)~CT_EF_TARGETS;
		return;
	}
	e->pending = (uint8_t)m;
	e->missed = (uint8_t)(m >> 8);
	e->tcp_flags = (uint8_t)(m >> 16);
	e->to_class = (uint8_t)(m >> 24);
	e->eflags |= CT_EF_TARGETS;
}

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
static void
grace_rearm(struct ct_shard *s, uint32_t idx, uint64_t now)
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
	e->expiry = ns_to_tick(s, now + delay);
	wheel_unlink(s, idx);
	wheel_link(s, idx);
}

/* Stage the DESTROY of a dying entry, or re-arm its grace timer. */
static void
stage_destroy(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now, int resend)
{
	struct ct_entry *e = &s->pool[idx];
	struct ct_event_rec *r;

	if (!(s->ev_kinds & CT_EVK_DESTROY)) {
		/* Nobody listens for it: as with events disabled. */
		s->st.events_unwanted++;
		entry_free(s, idx);
		return;
	}
	if (s->stage_n == s->stage_cap) {
		s->st.ring_full++;
		grace_rearm(s, idx, now);
		return;
	}
	wheel_unlink(s, idx);
	r = &s->stage[s->stage_n++];
	fill_record(s, idx, now_tick, r);
	r->targets = dying_targets(e);
	r->events = ct_ev_to_linux((uint8_t)((r->targets ? 0 : e->pending | e->missed) |
					     CT_EVI_DESTROY));
	r->flags = resend ? CT_REC_F_RESEND : 0;
	r->seq = s->seq++;
	dying_targets_set(e, 0);
	e->pending = e->missed = 0;
	e->eflags |= CT_EF_AWAIT;
}

/* End a live entry: out of the index at once, then the dying path. */
static void
entry_destroy(struct ct_shard *s, uint32_t idx, uint32_t now_tick, uint64_t now)
{
	struct ct_entry *e = &s->pool[idx];

	index_remove(s, idx);
	wheel_unlink(s, idx);
	end_default(e);
	e->status |= CT_S_DYING;
	e->stop_ns = now;
	e->dy_refused = 0;
	s->st.count--;
	if (!s->conf.events_enabled) {
		s->st.dying++;
		entry_free(s, idx);
		return;
	}
	s->st.dying++;
	stage_destroy(s, idx, now_tick, now, 0);
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */

/* Linux early_drop: evict a not-yet-assured entry from the flow's buckets. */
static int
early_drop(struct ct_shard *s, uint32_t h, uint32_t now_tick, uint64_t now)
{
	uint32_t b[2];
	unsigned i, k;

	hash_buckets(s, h, &b[0], &b[1]);
	for (i = 0; i < 2; i++) {
		const struct ct_bucket *bk = &s->buckets[b[i]];

		for (k = 0; k < CT_BUCKET_SLOTS; k++) {
			uint32_t v = bk->idx[k];

			if (bk->sig[k] == 0 || (s->pool[v].status & CT_S_ASSURED))
				continue;
			set_end(&s->pool[v], CT_END_RESOURCES);
			entry_destroy(s, v, now_tick, now);
			s->st.early_drop++;
			return 0;
		}
	}
	return -ENOENT;
}

static uint32_t
next_id(struct ct_shard *s)
{
	uint32_t id;

	do {
		id = s->id_next * s->conf.shard_count + s->conf.shard_index + 1;
		s->id_next++;
	} while (id == 0);
	return id;
}

static uint8_t
verdict_invalid(struct ct_shard *s, unsigned reason)
{
	s->st.invalid++;
	if (reason < CT_INV_MAX)
		s->st.invalid_by_reason[reason]++;
	return s->conf.invalid_policy == CT_INVALID_PASS ? CT_V_PASS : CT_V_DROP;
}

static uint8_t
entry_create(struct ct_shard *s, const struct ct_pkt *p, uint32_t now_tick, uint64_t now)
{
	const struct ct_l4_proto *l4 = ct_l4_get(p->tuple.proto);
	struct ct_entry *e;
	uint32_t idx, used, next_free;
	uint8_t cls = CT_TO_GENERIC;
	int reason;

	used = s->st.count + s->st.dying;
	/*
	 * Free slots first: once dying entries have used up the headroom, an
	 * early drop would evict a live entry and the new one would still
	 * find no slot. Headroom beyond max_entries is only for the entry
	 * that replaces an early drop.
	 */
	if (s->n_free == 0 ||
	    (used >= s->conf.max_entries &&
	     (!s->conf.early_drop || early_drop(s, p->hash, now_tick, now) != 0))) {
		table_full(s, now);
		return CT_V_DROP;
	}
	idx = s->free_head;
	e = &s->pool[idx];
	next_free = s->cold[idx].tnext; /* still on the free list until inserted */
	*e = ct_entry_zero;
	e->key = p->tuple;
	reason = l4->new_conn(&s->conf, e, p, &cls);
	if (reason != 0)
		return verdict_invalid(s, (unsigned)reason);
	if (index_insert(s, idx, p->hash) != 0) {
		s->st.insert_failed++;
		s->st.drop++;
		return CT_V_DROP;
	}
	s->free_head = next_free;
	s->n_free--;
	s->cold[idx].tnext = CT_NIL;
	s->cold[idx].tprev = CT_NIL;
	s->cold[idx].start_ns = now;
	if (l4 == &ct_l4_udp)
		e->udp_start_ns = now;
	e->eflags = CT_EF_USED;
	e->id = next_id(s);
	e->status = CT_S_CONFIRMED;
	e->pending = CT_EVI_NEW;
	e->pkts[0] = 1;
	e->bytes[0] = p->len;
	e->to_class = cls;
	e->expiry = now_tick + s->to_ticks[cls];
	e->x_port = (uint8_t)p->in_port;
	if (p->tuple.proto == 6) {
		e->x_l4 = p->tcp_flags;
	} else if (p->tuple.proto == 1 || p->tuple.proto == 58) {
		e->x_l4 = p->icmp_type;
		e->x_code = p->icmp_code;
	}
	wheel_link(s, idx);
	s->st.count++;
	s->st.insert++;
	s->last_created = idx;
	fill_check(s);
	stage_update(s, idx, now_tick);
	return CT_V_PASS;
}

/* ------------------------------------------------------------------------ */
/* Packets                                                                   */

static int
notrack_match(const struct ct_conf *c, const struct ct_tuple *t)
{
	unsigned i;

	for (i = 0; i < c->n_notrack; i++) {
		const struct ct_notrack_rule *r = &c->notrack[i];

		if (r->proto != 0 && r->proto != t->proto)
			continue;
		if (r->family != 0 && r->family != t->family)
			continue;
		if (r->port != 0 && r->port != t->sport && r->port != t->dport)
			continue;
		if (r->prefix_len != 0) {
			unsigned full = r->prefix_len / 8, rem = r->prefix_len % 8;
			uint8_t mask = (uint8_t)(0xff << (8 - rem));
			int src_ok = memcmp(r->addr, t->src, full) == 0 &&
				     (rem == 0 || ((r->addr[full] ^ t->src[full]) & mask) == 0);
			int dst_ok = memcmp(r->addr, t->dst, full) == 0 &&
				     (rem == 0 || ((r->addr[full] ^ t->dst[full]) & mask) == 0);

			if (!src_ok && !dst_ok)
				continue;
		}
		return 1;
	}
	return 0;
}

/* A new entry for `p` (policy info: state NEW, no decision yet). */
static uint8_t
create_info(struct ct_shard *s, const struct ct_pkt *p, uint32_t now_tick, uint64_t now,
	    struct ct_pkt_info *pi)
{
	uint64_t insert = s->st.insert;
	uint8_t v = entry_create(s, p, now_tick, now);

	if (s->st.insert != insert) {
		pi->slot = s->last_created;
		pi->id = s->pool[s->last_created].id;
	} else if (v == CT_V_PASS) {
		pi->state = CT_STATE_INVALID; /* refused by the tracker, passed by policy */
	}
	return v;
}

unsigned
ct_shard_notrack_burst(const struct ct_shard *s, struct ct_pkt *pkts,
		       const uint8_t *const *frames, unsigned n)
{
	unsigned i, marked = 0;
	struct ct_tuple outer;

	if (s->conf.n_notrack == 0)
		return 0;
	for (i = 0; i < n; i++) {
		const struct ct_tuple *t = &pkts[i].tuple;

		if (pkts[i].cls == CT_PKT_ICMP_ERROR) {
			/* The error's own header, as the raw table sees it. */
			if (frames == NULL || ct_pkt_outer_tuple(&pkts[i], frames[i], &outer) != 0)
				continue;
			t = &outer;
		} else if (pkts[i].cls != CT_PKT_TRACK) {
			continue;
		}
		if (notrack_match(&s->conf, t)) {
			pkts[i].cls = CT_PKT_NOTRACK;
			marked++;
		}
	}
	return marked;
}

static inline __attribute__((always_inline)) uint8_t
process_one(struct ct_shard *s, const struct ct_pkt *p, const struct ct_probe *q,
	    uint32_t now_tick, uint64_t now, struct ct_pkt_info *pi, const int want_info)
{
	enum ct_dir dir = CT_DIR_ORIG;
	enum ct_l4_verdict v;
	struct ct_entry *e;
	uint32_t idx;
	uint8_t cls;
	int fast;

	if (want_info) {
		pi->slot = CT_NIL;
		pi->id = 0;
		pi->dec.gen = 0;
		pi->state = CT_STATE_NEW;
	}
	switch (p->cls) {
	case CT_PKT_TRACK:
		break;
	case CT_PKT_ICMP_ERROR:
		idx = probe_lookup(s, q, &p->tuple, &dir);
		if (idx != CT_NIL) {
			s->st.related++;
			pi->state = CT_STATE_RELATED;
			pi->slot = idx;
			pi->id = s->pool[idx].id;
			ct_dec_get(&s->pool[idx], &pi->dec);
			return CT_V_PASS;
		}
		pi->state = CT_STATE_INVALID;
		return verdict_invalid(s, CT_INV_STATE);
	case CT_PKT_INVALID:
		pi->state = CT_STATE_INVALID;
		return verdict_invalid(s, p->invalid_reason);
	case CT_PKT_NOTRACK:
		pi->state = CT_STATE_UNTRACKED;
		s->st.notrack++;
		return CT_V_PASS;
	default:
		pi->state = CT_STATE_UNTRACKED;
		s->st.untracked++;
		return CT_V_PASS;
	}
	if (s->conf.n_notrack != 0 && notrack_match(&s->conf, &p->tuple)) {
		pi->state = CT_STATE_UNTRACKED;
		s->st.notrack++;
		return CT_V_PASS;
	}

	idx = probe_lookup(s, q, &p->tuple, &dir);
	if (idx == CT_NIL)
		return create_info(s, p, now_tick, now, pi);
	e = &s->pool[idx];
	if (!ct_tick_before(now_tick, e->expiry)) {
		/* Timed out before the wheel reaped it: the timeout wins. */
		s->st.expired++;
		entry_destroy(s, idx, now_tick, now);
		return create_info(s, p, now_tick, now, pi);
	}
	s->st.found++;
	/* As Linux: established once a reply was seen, or for a reply itself. */
	if (want_info) {
		pi->state = (dir == CT_DIR_REPLY || (e->status & CT_S_SEEN_REPLY)) ?
			    CT_STATE_ESTABLISHED : CT_STATE_NEW;
		pi->slot = idx;
		pi->id = e->id;
		ct_dec_get(e, &pi->dec);
	}
	cls = e->to_class;
	/* Every TCP segment goes through the window check (Linux tcp_in_window()),
	 * the established-ACK fast path (ct_tcp_fast.h) included. */
	fast = e->key.proto == 6 ? ct_tcp_fast(&s->conf, e, p, dir, &cls) : -1;
	v = fast >= 0 ? (enum ct_l4_verdict)fast :
			ct_l4_get(e->key.proto)->packet(&s->conf, e, p, dir, now, &cls);
	switch (v) {
	case CT_L4_ACCEPT:
	case CT_L4_KILL:
		e->pkts[dir]++;
		e->bytes[dir] += p->len;
		if (e->key.proto == 6)
			e->x_l4 |= p->tcp_flags;
		/*
		 * A KILL is destroyed before the reply is marked seen: DESTROY says
		 * UNREPLIED. The flag is tested first: it is settled once a flow has
		 * a reply, the packet's direction is not.
		 */
		if (!(e->status & CT_S_SEEN_REPLY) && dir == CT_DIR_REPLY && v != CT_L4_KILL) {
			e->status |= CT_S_SEEN_REPLY;
			e->pending |= CT_EVI_REPLY;
		}
		if (v == CT_L4_KILL) {
			set_end(e, CT_END_EOF);
			entry_destroy(s, idx, now_tick, now);
			pi->slot = CT_NIL;
			return CT_V_PASS;
		}
		entry_refresh(s, idx, now_tick, cls);
		break;
	case CT_L4_IGNORE:
		/* Linux accepts ignored packets: a reply still counts as seen. */
		s->st.ignore++;
		if (!(e->status & CT_S_SEEN_REPLY) && dir == CT_DIR_REPLY) {
			e->status |= CT_S_SEEN_REPLY;
			e->pending |= CT_EVI_REPLY;
		}
		break;
	case CT_L4_INVALID:
		stage_update(s, idx, now_tick);
		/* Judged as invalid, not by its connection's verdict. */
		pi->state = CT_STATE_INVALID;
		pi->slot = CT_NIL;
		pi->dec.gen = 0;
		return verdict_invalid(s, CT_INV_STATE);
	case CT_L4_INVALID_WINDOW:
		stage_update(s, idx, now_tick);
		return verdict_invalid(s, CT_INV_TCP_WINDOW);
	case CT_L4_REOPEN:
		set_end(e, CT_END_EOF);
		entry_destroy(s, idx, now_tick, now);
		pi->state = CT_STATE_NEW;
		pi->slot = CT_NIL;
		pi->dec.gen = 0;
		return create_info(s, p, now_tick, now, pi);
	}
	stage_update(s, idx, now_tick);
	return CT_V_PASS;
}

/* Packets between an entry's prefetch and its use (a bucket's: twice that). */
#define CT_PF_DIST 8

/* A packet that is looked up (tracked, or an ICMP error quoting a flow). */
static inline int
needs_lookup(const struct ct_pkt *p)
{
	return p->cls == CT_PKT_TRACK || p->cls == CT_PKT_ICMP_ERROR;
}

/* Both candidate buckets (at 80 % load a good part of the entries sit in the second). */
static inline void
prefetch_bucket(const struct ct_shard *s, const struct ct_pkt *p, struct ct_probe *q)
{
	if (!needs_lookup(p))
		return;
	probe_init(s, p->hash, q);
	rte_prefetch0(&s->buckets[q->b1]);
	rte_prefetch0(&s->buckets[q->b2]);
}

/*
 * A SYN, FIN or RST moves its connection's state: its timer is relinked and
 * a record built, both of which read the entry's cold part.
 */
static inline bool
moves_state(const struct ct_pkt *p)
{
	return (p->tcp_flags & (CT_TCP_TH_SYN | CT_TCP_TH_FIN | CT_TCP_TH_RST)) != 0;
}

/* Read the buckets; prefetch the entry whose signature matches. */
static inline void
prefetch_entry(const struct ct_shard *s, const struct ct_pkt *p, struct ct_probe *q)
{
	const struct ct_bucket *bk;
	const char *e;
	unsigned m, m1, m2;

	if (!needs_lookup(p))
		return;
	/*
	 * Both buckets are matched and the first with a hit chosen by a select:
	 * at 80 % load which of them holds the flow is close to random.
	 */
	m1 = bucket_match(&s->buckets[q->b1], q->sig);
	m2 = bucket_match(&s->buckets[q->b2], q->sig);
	bk = &s->buckets[ct_select(m1 != 0, q->b1, q->b2)];
	m = ct_select(m1 != 0, m1, m2);
	if (m == 0)
		return;
	q->cand = bk->idx[__builtin_ctz(m) >> 1];
	e = (const char *)&s->pool[q->cand];
	/* Both lines of the entry. */
	rte_prefetch0(e);
	rte_prefetch0(e + 64);
	if (moves_state(p))
		rte_prefetch0(&s->cold[q->cand]); /* and the cold part */
}

/*
 * For a packet that moves its connection's state (prefetch_entry()
 * prefetched its cold part): the cold parts of its neighbours in the timer
 * wheel, which the relink writes. Where packets of many connections
 * interleave, those are as far apart as the entries.
 */
static inline void
prefetch_links(const struct ct_shard *s, const struct ct_pkt *p, const struct ct_probe *q)
{
	const struct ct_entry_cold *c;

	/* A packet that is not looked up has no probe (prefetch_bucket() left it unset). */
	if (!needs_lookup(p) || q->cand == CT_NIL || !moves_state(p))
		return;
	c = &s->cold[q->cand];
	if (!(c->tprev & CT_HEAD_FLAG))
		rte_prefetch0(&s->cold[c->tprev]);
	if (c->tnext != CT_NIL)
		rte_prefetch0(&s->cold[c->tnext]);
}

/* Packets handled by one pass of the pipeline (the probes live on the stack). */
#define CT_CHUNK 64

/* Inlined into both entry points, so that the one without policy info drops its stores. */
static inline __attribute__((always_inline)) uint16_t
process_burst(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n, uint64_t now,
	      uint8_t *verdict, struct ct_pkt_info *info, unsigned info_step)
{
	uint32_t now_tick = shard_now(s, &now);
	struct ct_probe q[CT_CHUNK];
	unsigned base, m, i;

	/*
	 * A software pipeline over each chunk: packet i + 2 * CT_PF_DIST gets
	 * its probe (buckets and signature, computed once) and its buckets
	 * prefetched, packet i + CT_PF_DIST its buckets read and its entry
	 * prefetched, packet i is processed; so the misses of later packets
	 * overlap the work on earlier ones instead of all waiting up front. In
	 * order, so a flow created early in the burst is found later.
	 */
	for (base = 0; base < n; base += m) {
		const struct ct_pkt *pk = pkts + base;

		m = n - base < CT_CHUNK ? n - base : CT_CHUNK;
		for (i = 0; i < m && i < 2 * CT_PF_DIST; i++)
			prefetch_bucket(s, &pk[i], &q[i]);
		for (i = 0; i < m && i < CT_PF_DIST; i++)
			prefetch_entry(s, &pk[i], &q[i]);
		for (i = 0; i < m; i++) {
			if (i + 2 * CT_PF_DIST < m)
				prefetch_bucket(s, &pk[i + 2 * CT_PF_DIST], &q[i + 2 * CT_PF_DIST]);
			if (i + CT_PF_DIST < m)
				prefetch_entry(s, &pk[i + CT_PF_DIST], &q[i + CT_PF_DIST]);
			if (i + CT_PF_DIST / 2 < m)
				prefetch_links(s, &pk[i + CT_PF_DIST / 2], &q[i + CT_PF_DIST / 2]);
			verdict[base + i] = process_one(s, &pk[i], &q[i], now_tick, now,
							&info[(base + i) * info_step],
							info_step != 0);
		}
	}
	return n;
}

uint16_t
ct_process_burst(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n, uint64_t now,
		 uint8_t *verdict)
{
	struct ct_pkt_info scratch;

	return process_burst(s, pkts, n, now, verdict, &scratch, 0);
}

uint16_t
ct_process_burst_info(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n, uint64_t now,
		      uint8_t *verdict, struct ct_pkt_info *info)
{
	return process_burst(s, pkts, n, now, verdict, info, 1);
}

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
/* Timers                                                                    */

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
	unsigned visited = 0;

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
				stage_interim(s, idx, now_tick);
			c->tnext = *later;
			*later = idx;
			continue;
		}
		if (e->status & CT_S_DYING) {
			stage_destroy(s, idx, now_tick, now, 1);
		} else {
			s->st.expired++;
			entry_destroy(s, idx, now_tick, now);
		}
	}
	return visited;
}

unsigned
ct_shard_expire(struct ct_shard *s, uint64_t now, unsigned budget)
{
	uint32_t now_tick = shard_now(s, &now), later = CT_NIL, idx;
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
		wheel_link_from(s, idx, now_tick + 1);
	}
	return visited;
}

/* ------------------------------------------------------------------------ */
/* Event staging and results                                                 */

struct ct_event_rec *
ct_shard_ev_peek(struct ct_shard *s, unsigned *n)
{
	*n = s->stage_n;
	return s->stage;
}

unsigned
ct_shard_ev_room(const struct ct_shard *s)
{
	return s->stage_cap - s->stage_n;
}

void
ct_shard_ev_commit(struct ct_shard *s, unsigned accepted, uint64_t now)
{
	uint32_t i;

	shard_now(s, &now);
	if (accepted > s->stage_n)
		accepted = s->stage_n;
	/* A resend counts when the channel takes it, as the control core
	 * counts it: one the ring refused is re-armed and counted later. */
	for (i = 0; i < accepted; i++)
		s->st.destroy_resent += (s->stage[i].flags & CT_REC_F_RESEND) != 0;
	for (i = accepted; i < s->stage_n; i++) {
		const struct ct_event_rec *r = &s->stage[i];
		struct ct_entry *e;

		s->st.ring_full++;
		if (r->slot >= s->cap)
			continue;
		e = &s->pool[r->slot];
		if (!(e->eflags & CT_EF_USED) || e->id != r->id)
			continue;
		if (r->events & CT_EV_DESTROY) {
			/* Nobody got it: it stays addressed to whom it was. */
			dying_targets_set(e, r->targets);
			grace_rearm(s, r->slot, now);
		} else if (!(e->status & CT_S_DYING))
			e->missed |= ct_ev_from_linux(r->events);
	}
	s->stage_n = 0;
}

int
ct_shard_apply_result(struct ct_shard *s, const struct ct_result *r, uint64_t now)
{
	struct ct_entry *e;

	if (r->slot >= s->cap)
		return -EINVAL;
	e = &s->pool[r->slot];
	if (!(e->eflags & CT_EF_USED) || e->id != r->id)
		return -ESTALE;
	shard_now(s, &now);
	switch (r->kind) {
	case CT_RES_NACK:
		if (!(e->status & CT_S_DYING))
			e->missed |= ct_ev_from_linux(r->events);
		return 0;
	case CT_RES_DESTROY_ACK:
		if (!(e->status & CT_S_DYING) || !(e->eflags & CT_EF_AWAIT))
			return -ESTALE;
		s->st.destroy_acked++;
		entry_free(s, r->slot);
		return 0;
	case CT_RES_DESTROY_NACK:
		if (!(e->status & CT_S_DYING) || !(e->eflags & CT_EF_AWAIT))
			return -ESTALE;
		/* Resend only to the listeners that refused it. */
		dying_targets_set(e, r->targets);
		grace_rearm(s, r->slot, now);
		return 0;
	default:
		return -EINVAL;
	}
}

/* ------------------------------------------------------------------------ */
/* Control-plane operations                                                  */

unsigned
ct_shard_flush(struct ct_shard *s, uint64_t now, unsigned budget)
{
	uint32_t now_tick = shard_now(s, &now);
	unsigned done = 0;
	uint32_t scanned = 0;

	if (budget == 0)
		budget = UINT32_MAX;
	while (done < budget && s->st.count > 0 && scanned < s->cap) {
		struct ct_entry *e;

		if (s->conf.events_enabled && s->stage_n == s->stage_cap)
			break;
		if (s->flush_cursor >= s->cap)
			s->flush_cursor = 0;
		e = &s->pool[s->flush_cursor];
		if ((e->eflags & CT_EF_USED) && !(e->status & CT_S_DYING)) {
			s->st.deleted++;
			set_end(e, forced_end(e));
			entry_destroy(s, s->flush_cursor, now_tick, now);
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
	uint32_t now_tick = shard_now(s, &now);
	enum ct_dir dir;
	uint32_t idx = index_lookup(s, t, ct_tuple_hash(t), &dir);

	if (idx == CT_NIL)
		return -ENOENT;
	if (s->conf.events_enabled && s->stage_n == s->stage_cap)
		return -ENOSPC;
	s->st.deleted++;
	set_end(&s->pool[idx], forced_end(&s->pool[idx]));
	entry_destroy(s, idx, now_tick, now);
	return 0;
}

int
ct_shard_lookup(struct ct_shard *s, const struct ct_tuple *t, uint64_t now,
		struct ct_event_rec *out)
{
	uint32_t now_tick = shard_now(s, &now);
	enum ct_dir dir;
	uint32_t idx = index_lookup(s, t, ct_tuple_hash(t), &dir);

	if (idx == CT_NIL || !ct_tick_before(now_tick, s->pool[idx].expiry))
		return -ENOENT;
	fill_record(s, idx, now_tick, out);
	return 0;
}

unsigned
ct_shard_iterate(struct ct_shard *s, uint32_t *cursor, unsigned max, bool dying, uint64_t now,
		 int (*cb)(const struct ct_event_rec *r, void *arg), void *arg)
{
	uint32_t now_tick = shard_now(s, &now);
	struct ct_event_rec r;
	unsigned calls = 0;
	uint32_t i = *cursor;

	for (; i < s->cap && calls < max; i++) {
		const struct ct_entry *e = &s->pool[i];

		if (!(e->eflags & CT_EF_USED))
			continue;
		if ((e->status & CT_S_DYING) && !dying)
			continue;
		fill_record(s, i, now_tick, &r);
		calls++;
		if (cb(&r, arg) != 0) {
			i++;
			break;
		}
	}
	*cursor = i >= s->cap ? UINT32_MAX : i;
	return calls;
}

/* ------------------------------------------------------------------------ */
/* Statistics and life cycle                                                 */

void
ct_shard_stats(const struct ct_shard *s, struct ct_stats *out)
{
	*out = s->st;
	out->max_entries = s->conf.max_entries;
}

void
ct_stats_add(struct ct_stats *a, const struct ct_stats *b)
{
	unsigned i;

#define CT_X_ADD(f) a->f += b->f;
	CT_STATS_TABLE(CT_X_ADD)
#undef CT_X_ADD
	for (i = 0; i < CT_INV_MAX; i++)
		a->invalid_by_reason[i] += b->invalid_by_reason[i];
	a->count += b->count;
	a->dying += b->dying;
	a->max_entries += b->max_entries;
}

void
ct_shard_count_handoff(struct ct_shard *s, unsigned n)
{
	s->st.handoff += n;
}

void
ct_shard_count_events(struct ct_shard *s, unsigned sent, unsigned failed,
		      unsigned listener_dropped)
{
	s->st.events_sent += sent;
	s->st.events_failed += failed;
	s->st.listener_dropped += listener_dropped;
}

size_t
ct_shard_bytes_per_entry(const struct ct_shard *s)
{
	size_t total = (size_t)s->cap * (sizeof(struct ct_entry) + sizeof(struct ct_entry_cold)) +
		       (size_t)s->nb * sizeof(struct ct_bucket) +
		       (size_t)s->wheel_size * sizeof(uint32_t);

	return (total + s->conf.max_entries - 1) / s->conf.max_entries;
}

void
ct_shard_set_event_kinds(struct ct_shard *s, unsigned kinds)
{
	s->ev_kinds = kinds & CT_EVK_ALL;
	s->ev_filter = !s->conf.events_enabled ||
		       (s->ev_kinds & (CT_EVK_NEW | CT_EVK_UPDATE)) != (CT_EVK_NEW | CT_EVK_UPDATE);
}

uint32_t
ct_shard_live(const struct ct_shard *s)
{
	return s->st.count;
}

bool
ct_shard_empty(const struct ct_shard *s)
{
	return s->st.count == 0 && s->st.dying == 0;
}

const struct ct_conf *
ct_shard_conf(const struct ct_shard *s)
{
	return &s->conf;
}

void
ct_shard_set_log(struct ct_shard *s, ct_log_fn fn, void *arg)
{
	s->log_fn = fn;
	s->log_arg = arg;
}

struct ct_shard *
ct_shard_create(const struct ct_conf *conf, char *err, size_t errlen)
{
	struct ct_shard *s;
	uint32_t i;
	uint64_t nb;

#define FAIL(...) do { if (err != NULL) snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)
	s = ct_mem_zalloc(&conf->mem, sizeof(*s), 64);
	if (s == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->conf = *conf;
	ct_shard_set_event_kinds(s, CT_EVK_ALL);
	if (conf->max_entries == 0 || conf->max_entries > (1u << 30))
		FAIL("max_entries %u out of range 1..%u", conf->max_entries, 1u << 30);
	if (conf->shard_count == 0 || conf->shard_index >= conf->shard_count)
		FAIL("shard %u of %u", conf->shard_index, conf->shard_count);
	if (conf->ev_stage_size == 0)
		FAIL("ev_stage_size must be > 0");
	if (conf->n_notrack > CT_MAX_NOTRACK)
		FAIL("%u notrack rules, at most %u", conf->n_notrack, CT_MAX_NOTRACK);
	if (conf->fill_alarm_high_pct > 100 ||
	    (conf->fill_alarm_high_pct != 0 && conf->fill_alarm_low_pct >= conf->fill_alarm_high_pct))
		FAIL("fill alarm %u/%u%%: need low < high <= 100", conf->fill_alarm_low_pct,
		     conf->fill_alarm_high_pct);
	for (i = 0; i < CT_TO_MAX; i++) {
		uint64_t t = ((uint64_t)conf->timeout_s[i] * CT_NS_PER_S + CT_TICK_NS - 1) >>
			     CT_TICK_SHIFT;

		if (conf->timeout_s[i] == 0 || t >= CT_MAX_TIMEOUT_TICKS)
			FAIL("timeout %s = %u s out of range", ct_timeout_name(i), conf->timeout_s[i]);
		s->to_ticks[i] = (uint32_t)t;
	}
	if (conf->destroy_grace_ms > CT_GRACE_MAX_MS)
		FAIL("destroy grace %u ms out of range 0..%u", conf->destroy_grace_ms,
		     CT_GRACE_MAX_MS);
	s->grace_ns = (uint64_t)conf->destroy_grace_ms * 1000000u;
	s->grace_cap_ns = (uint64_t)CT_GRACE_BACKOFF_CAP_MS * 1000000u;
	if (s->grace_cap_ns < s->grace_ns)
		s->grace_cap_ns = s->grace_ns;
	if (conf->active_timeout_s != 0) {
		uint64_t t = ((uint64_t)conf->active_timeout_s * CT_NS_PER_S + CT_TICK_NS - 1) >>
			     CT_TICK_SHIFT;

		if (t >= CT_MAX_TIMEOUT_TICKS)
			FAIL("active timeout %u s out of range", conf->active_timeout_s);
		s->act_ticks = (uint32_t)t;
	}
	/* Early drop needs a little room over the limit for the replacing entry
	 * while the victim waits on the dying list. */
	s->cap = conf->max_entries + (conf->early_drop ? CT_EARLY_DROP_HEADROOM(conf->max_entries) : 0);
	nb = conf->buckets ? conf->buckets :
			     ((uint64_t)conf->max_entries * 10 + 63) / 64; /* 80 % load */
	if (nb < 2)
		nb = 2;
	if (nb > UINT32_MAX / 2)
		FAIL("too many buckets");
	s->nb = (uint32_t)nb;
	s->pool = ct_mem_zalloc(&conf->mem, (size_t)s->cap * sizeof(struct ct_entry), 64);
	s->cold = ct_mem_zalloc(&conf->mem, (size_t)s->cap * sizeof(struct ct_entry_cold), 64);
	s->buckets = ct_mem_zalloc(&conf->mem, (size_t)s->nb * sizeof(struct ct_bucket), 64);
	/* The largest power of two of at most max_entries / 2 slots (2 bytes an
	 * entry, whatever the size), within [2^MIN, 2^MAX]. */
	for (i = CT_WHEEL_MIN_BITS;
	     i < CT_WHEEL_MAX_BITS && (2ull << (i + 1)) <= conf->max_entries; i++)
		;
	s->wheel_size = 1u << i;
	s->wheel_mask = s->wheel_size - 1;
	s->wheel = ct_mem_zalloc(&conf->mem, (size_t)s->wheel_size * sizeof(uint32_t), 64);
	s->stage_cap = conf->ev_stage_size;
	s->stage = ct_mem_zalloc(&conf->mem, (size_t)s->stage_cap * sizeof(struct ct_event_rec),
				 64);
	if (s->pool == NULL || s->cold == NULL || s->buckets == NULL || s->wheel == NULL ||
	    s->stage == NULL)
		FAIL("out of memory for %u entries", s->cap);
	/* Pop order 0, 1, 2...: neighbours in time are neighbours in memory. */
	for (i = 0; i < s->cap; i++) {
		s->cold[i].tprev = CT_NIL;
		s->cold[i].tnext = i + 1 < s->cap ? i + 1 : CT_NIL;
	}
	s->free_head = 0;
	s->n_free = s->cap;
	for (i = 0; i < s->wheel_size; i++)
		s->wheel[i] = CT_NIL;
	s->prng = conf->seed ^ (UINT64_C(0x5851f42d4c957f2d) * (conf->shard_index + 1));
	s->st.max_entries = conf->max_entries;
	return s;
#undef FAIL
fail:
	ct_shard_free(s);
	return NULL;
}

void
ct_shard_free(struct ct_shard *s)
{
	struct ct_mem mem;

	if (s == NULL)
		return;
	mem = s->conf.mem;
	ct_mem_free(&mem, s->pool);
	ct_mem_free(&mem, s->cold);
	ct_mem_free(&mem, s->buckets);
	ct_mem_free(&mem, s->wheel);
	ct_mem_free(&mem, s->stage);
	ct_mem_free(&mem, s);
}
