/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_SHARD_PRIV_H
#define DPCT_CT_SHARD_PRIV_H

/*
 * The shard: one worker's table, and the state its files share. The entry
 * pool (two cache lines an entry, and a parallel cold array of start times
 * and wheel links) with a free stack; the index of 64-byte buckets
 * (ct_index.h, ct_index.c); the one-tick timer wheel with lazy refresh
 * (ct_wheel.h, ct_wheel.c); the event staging buffer and the dying set
 * (ct_stage.h, ct_stage.c); packet processing (ct_process.c); control
 * operations (ct_control.c); life cycle, statistics and operator warnings
 * (ct_shard.c).
 *
 * Single writer: nothing here locks or uses atomics.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ct_helper.h"
#include "ct_private.h"
#include "ct_tpol_rt.h"

/* An index node for an entry's translated reply tuple: pool index | CT_IDX_NAT
 * (pools hold at most 2^30 entries). */
#define CT_IDX_NAT 0x80000000u

#define CT_NS_PER_S UINT64_C(1000000000)
/* The longest timeout a shard takes, in ticks. */
#define CT_MAX_TIMEOUT_TICKS (1u << 30)

struct ct_bucket {
	uint16_t sig[CT_BUCKET_SLOTS];
	uint32_t idx[CT_BUCKET_SLOTS];
	/* Nodes whose first candidate is this bucket that sit in their second: while 0, a
	 * flow whose first bucket this is and is not here is in neither (ct_index.h). */
	uint32_t spill;
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
	uint32_t n_spilled;        /* nodes in their second bucket: the buckets' spill counts summed */
	/* Time and timers */
	uint64_t epoch_ns;
	uint64_t last_ns;
	int epoch_set;
	uint32_t wheel_next;       /* next tick the wheel has to process */
	uint32_t *wheel;
	uint32_t wheel_size;       /* slots, a power of two */
	uint32_t wheel_mask;       /* wheel_size - 1 */
	uint32_t to_ticks[CT_TSLOT_MAX]; /* per timeout slot (ct_tpol_rt.h) */
	struct ct_tpol_rt tp;      /* timeout policies */
	uint32_t act_ticks;        /* flow export: active timeout, 0 = off */
	uint64_t grace_ns;
	uint64_t grace_cap_ns;   /* the widest re-send window: max(grace, backoff cap) */
	/* Events */
	struct ct_event_rec *stage;  /* where records go now: the own buffer or a lent area */
	uint32_t stage_n;
	uint32_t stage_cap;
	struct ct_event_rec *stage_own; /* the shard's buffer, ev_stage_size records */
	struct ct_event_rec *stage_next; /* a lent area's second part (ct_shard_ev_lend()) */
	uint32_t stage_next_cap;   /* its size; 0 once staging moved there, or none */
	uint32_t stage_done;       /* records staged in the lent area's first part, once full */
	bool stage_lent;           /* staging goes to a lent area */
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
	uint32_t last_created;     /* policy info: slot of the latest entry created */
	struct ct_nat_hook nat;    /* translation hook (ct_shard_set_nat()), zero = none */
	struct ct_helper_hook hlp; /* connection helpers (ct_shard_set_helper()), zero = none */
	/* Limits and the top sketch (ct_limit_shard.c), NULL when not configured */
	struct ct_limits *limits;
	uint64_t *lim_unc;         /* one bit a pool slot: rules match its entry, no counts held */
	uint32_t lim_unc_n;        /* bits set in lim_unc */
	struct ct_top *top;
	struct ct_stats st;
};

/* The reverse of `in` into `out` (apart): ct_tuple_reverse() inline. */
static inline void
ct_tuple_rev(struct ct_tuple *out, const struct ct_tuple *in)
{
	uint64_t tail;

	memcpy(out->src, in->dst, sizeof(out->src));
	memcpy(out->dst, in->src, sizeof(out->dst));
	memcpy(&tail, &in->sport, sizeof(tail));
	tail = ct_tuple_tail_swapped(tail);
	memcpy(&out->sport, &tail, sizeof(tail));
}

/*
 * The reply tuple of translated entry `e`, from its key and what the
 * translation changed (`x`): the reverse of the key with the destination
 * (source NAT: the pool address and port) or the source (destination NAT:
 * the inside address and port) replaced.
 */
static inline void
ct_nat_reply_build(const struct ct_entry *e, const struct ct_nat_x *x, struct ct_tuple *out)
{
	const struct ct_nat_x t = *x; /* x may be e's own (e->natx) */

	/* A translated key is IPv4: its reverse's source is the key's
	 * destination, translation and all, kept to its address. */
	ct_tuple_rev(out, &e->key);
	memset(out->src + 4, 0, sizeof(out->src) - 4);
	memset(out->dst + 4, 0, sizeof(out->dst) - 4);
	if (t.kind == CT_NATX_SRC) {
		memcpy(out->dst, t.addr, sizeof(t.addr));
		out->dport = t.port;
	} else {
		memcpy(out->src, t.addr, sizeof(t.addr));
		out->sport = t.port;
	}
}

/*
 * The hook's prefetch (struct ct_nat_hook: release_prefetch) of what
 * giving back entry `e`'s binding will read: a source translation's
 * public address and port.
 */
static inline void
ct_nat_release_prefetch(const struct ct_shard *s, const struct ct_entry *e)
{
	if (s->nat.release_prefetch != NULL && (e->status & CT_S_NAT_MASK) &&
	    e->natx.kind == CT_NATX_SRC)
		s->nat.release_prefetch(s->nat.arg, e->natx.addr, e->natx.port, e->key.proto);
}

/*
 * The reply tuple of entry `idx` as a reply arrives: the translated one
 * for a translated flow, else the reverse of its key.
 */
static inline void
ct_reply_tuple(const struct ct_shard *s, uint32_t idx, struct ct_tuple *out)
{
	const struct ct_entry *e = &s->pool[idx];
	struct ct_tuple k;

	if (e->status & CT_S_NAT_MASK) {
		ct_nat_reply_build(e, &e->natx, out);
		return;
	}
	ct_entry_key(e, &k);
	ct_tuple_rev(out, &k);
}

/* Copied over entries to clear them: 128-byte moves, where memset became `rep stos`. */
static const struct ct_entry ct_entry_zero;

static inline uint32_t
ct_ns_to_tick(const struct ct_shard *s, uint64_t ns)
{
	if (ns < s->epoch_ns)
		return 0;
	return (uint32_t)((ns - s->epoch_ns) >> CT_TICK_SHIFT);
}

/* Clamp `now` to be non-decreasing and return its tick. */
static inline uint32_t
ct_shard_now(struct ct_shard *s, uint64_t *now)
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
	return ct_ns_to_tick(s, *now);
}

/*
 * Log an operator warning through the shard's log hook (none: nothing).
 * `fmt` takes three unsigned long long arguments.
 */
void ct_shard_log(struct ct_shard *s, int level, const char *fmt, unsigned long long a,
		  unsigned long long b, unsigned long long c);

/*
 * Limits and the top sketch around an entry's life (ct_limit_shard.c).
 * ct_shard_limit_admit() before a new entry is made: CT_LIM_OVER means
 * refuse it (counted); then ct_shard_limit_created() once it exists at
 * `idx`, or ct_shard_limit_abort() when it was not made after all.
 * ct_shard_limit_freed() as an entry's slot is freed (its key still set).
 * `h`: NULL, or ct_shard_limit_prefetch()'s hint for the entry's key.
 * ct_shard_limit_created() takes CT_LIM_OVER for an entry made over a
 * limit (an import): it is kept without counts.
 */
static inline enum ct_limit_verdict
ct_shard_limit_admit(struct ct_shard *s, const struct ct_tuple *t, const struct ct_lim_hint *h)
{
	enum ct_limit_verdict v;
	unsigned rule = 0;

	if (s->limits == NULL)
		return CT_LIM_NONE;
	v = ct_limits_admit(s->limits, t, h, &rule);
	if (__builtin_expect(v == CT_LIM_OVER, 0)) {
		s->st.limit_drop++;
		s->st.limit_drop_by_rule[rule]++;
		s->st.drop++;
	}
	return v;
}

/* Mark entry `idx` as holding no counts (verdict CT_LIM_NOROOM or CT_LIM_OVER). */
void ct_shard_limit_uncounted(struct ct_shard *s, uint32_t idx, enum ct_limit_verdict v);

static inline void
ct_shard_limit_created(struct ct_shard *s, uint32_t idx, enum ct_limit_verdict v,
		       const struct ct_lim_hint *h)
{
	if (__builtin_expect(v == CT_LIM_NOROOM || v == CT_LIM_OVER, 0))
		ct_shard_limit_uncounted(s, idx, v);
	struct ct_tuple k;

	if (s->top == NULL)
		return;
	if (h != NULL && h->n != CT_LIM_HINT_UNSET)
		ct_top_add_hashed(s->top, ct_entry_key_ref(&s->pool[idx], &k), &h->top);
	else
		ct_top_add(s->top, ct_entry_key_ref(&s->pool[idx], &k));
}

void ct_shard_limit_abort(struct ct_shard *s, const struct ct_tuple *t, enum ct_limit_verdict v,
			  const struct ct_lim_hint *h);
/*
 * Work out the hint of tuple `t` (its limit rules and counts' keys, its top
 * sketch hashes) into `*h` and prefetch what they point at: some packets
 * before its admission, or some results before its entry is freed.
 */
static inline void
ct_shard_limit_prefetch(const struct ct_shard *s, const struct ct_tuple *t, struct ct_lim_hint *h)
{
	ct_limits_top_prefetch(s->limits, s->top, t, h);
}

void ct_shard_limit_freed(struct ct_shard *s, uint32_t idx, const struct ct_lim_hint *h);
/* Allocate (ct_shard_create()) and free the limits and the sketch. */
int ct_shard_limit_init(struct ct_shard *s, char *err, size_t errlen);
void ct_shard_limit_fini(struct ct_shard *s);
/* Log the shard's heaviest sources (the fill alarm). */
void ct_shard_top_log(struct ct_shard *s);

/* Raise or clear the fill alarm after the number of used entries changed. */
void ct_shard_fill_check(struct ct_shard *s);

#endif /* DPCT_CT_SHARD_PRIV_H */
