/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard's flow index, the parts off the per-packet path: insert with
 * one or two levels of cuckoo displacement, and remove.
 */

#include <errno.h>
#include <stdlib.h>

#include <rte_prefetch.h>

#include "ct_index.h"

/* Into the first free slot (signature 0), found with one compare, not a loop of branches. */
static inline int
bucket_put(struct ct_bucket *b, uint16_t sig, uint32_t idx)
{
	unsigned m = ct_bucket_match(b, 0), k;

	if (m == 0)
		return -ENOSPC;
	k = (unsigned)__builtin_ctz(m) >> 1;
	b->sig[k] = sig;
	b->idx[k] = idx;
	return 0;
}

/* The used slots of `b` that hold entry `idx`, two mask bits a slot as ct_bucket_match(). */
static inline unsigned
bucket_slots_of(const struct ct_bucket *b, uint32_t idx)
{
	const __m128i v = _mm_set1_epi32((int)idx);
	const __m128i i0 = _mm_loadu_si128((const __m128i *)(const void *)b->idx);
	const __m128i i4 = _mm_loadu_si128((const __m128i *)(const void *)(b->idx + 4));
	const __m128i i6 = _mm_loadu_si128((const __m128i *)(const void *)(b->idx + 6));
	/* Slots 0-7, then 6-9 (two overlapping vectors, as ct_bucket_match()). */
	unsigned m = (unsigned)_mm_movemask_epi8(
			     _mm_packs_epi32(_mm_cmpeq_epi32(i0, v), _mm_cmpeq_epi32(i4, v))) |
		     ((unsigned)_mm_movemask_epi8(_mm_packs_epi32(_mm_cmpeq_epi32(i6, v),
								  _mm_setzero_si128())) &
		      0xffu) << 12;

	return m & ~ct_bucket_match(b, 0) & CT_BUCKET_MASK;
}

/*
 * The hash a node was inserted under: its entry's key, or its reply tuple.
 * A translated entry keeps both (the bind stored them: nat_kh, nat_rh).
 */
static inline uint32_t
node_hash(const struct ct_shard *s, uint32_t v)
{
	const struct ct_entry *e = &s->pool[v & ~CT_IDX_NAT];

	if (v & CT_IDX_NAT)
		return e->nat_rh;
	if (e->status & CT_S_NAT_MASK)
		return e->nat_kh;
	return ct_tuple_hash(&e->key);
}

/* One node more (+1) or fewer (-1) whose first bucket is b1 sits in its second. */
static inline void
spill_add(struct ct_shard *s, uint32_t b1, uint32_t d)
{
	s->buckets[b1].spill += d;
	s->n_spilled += d;
}

/* A node of hash `h` moves from bucket `from` to bucket `to`: its first
 * candidate's spill count follows whether it sits in its second. */
static inline void
spill_move(struct ct_shard *s, uint32_t h, uint32_t from, uint32_t to)
{
	uint32_t b1, b2;

	ct_index_cands(s, h, &b1, &b2);
	if (b1 == b2)
		return;
	if (from == b2)
		spill_add(s, b1, UINT32_MAX);
	if (to == b2)
		spill_add(s, b1, 1);
}

/* The other candidate bucket of the node in slot k of bucket b. */
static inline uint32_t
alt_bucket(const struct ct_shard *s, uint32_t b, const struct ct_bucket *bk, unsigned k)
{
	uint32_t v1, v2;

	ct_index_cands(s, node_hash(s, bk->idx[k]), &v1, &v2);
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
				spill_move(s, node_hash(s, ab->idx[j]), alt, alt2);
				spill_move(s, node_hash(s, b->idx[k]), cand[i], alt);
				ab->sig[j] = b->sig[k];
				ab->idx[j] = b->idx[k];
				b->sig[k] = sig;
				b->idx[k] = idx;
				if (i == 1 && cand[0] != cand[1])
					spill_add(s, cand[0], 1);
				return 0;
			}
		}
	}
	return -ENOSPC;
}

int
ct_index_insert(struct ct_shard *s, uint32_t idx, uint32_t h)
{
	uint32_t b1, b2, cand[2], i;
	uint16_t sig = ct_index_sig(h);
	unsigned k;

	ct_index_cands(s, h, &b1, &b2);
	if (bucket_put(&s->buckets[b1], sig, idx) == 0)
		return 0;
	if (bucket_put(&s->buckets[b2], sig, idx) == 0) {
		if (b2 != b1)
			spill_add(s, b1, 1);
		return 0;
	}
	/* Both full: move one resident to its other bucket (one cuckoo level). */
	cand[0] = b1;
	cand[1] = b2;
	for (i = 0; i < 2; i++) {
		struct ct_bucket *b = &s->buckets[cand[i]];

		for (k = 0; k < CT_BUCKET_SLOTS; k++) {
			uint32_t vh = node_hash(s, b->idx[k]);
			uint32_t v1, v2, alt;

			ct_index_cands(s, vh, &v1, &v2);
			alt = v1 == cand[i] ? v2 : v1;
			if (alt == cand[i])
				continue;
			if (bucket_put(&s->buckets[alt], b->sig[k], b->idx[k]) == 0) {
				/* The resident to its other bucket, the new node into its place. */
				spill_add(s, v1, alt == v2 ? 1 : UINT32_MAX);
				b->sig[k] = sig;
				b->idx[k] = idx;
				if (i == 1 && b1 != b2)
					spill_add(s, b1, 1);
				return 0;
			}
		}
	}
	return index_insert_deep(s, cand, sig, idx);
}

/* Node `v` out of whichever of its candidate buckets b[0], b[1] (first, second) holds it. */
static void
node_remove_from(struct ct_shard *s, uint32_t v, const uint32_t b[2])
{
	unsigned i, k;

	for (i = 0; i < 2; i++) {
		struct ct_bucket *bk = &s->buckets[b[i]];
		unsigned m = bucket_slots_of(bk, v);

		if (m != 0) {
			k = (unsigned)__builtin_ctz(m) >> 1;
			bk->sig[k] = 0;
			bk->idx[k] = CT_NIL;
			if (i == 1 && b[0] != b[1])
				spill_add(s, b[0], UINT32_MAX);
			return;
		}
		/* Not in its first bucket, none spilled from there: not in the index. */
		if (bk->spill == 0)
			return;
	}
}

/*
 * A translated entry has two nodes: the reply tuple's buckets are
 * prefetched before the key's node is removed, so that their misses
 * overlap instead of following one another.
 */
void
ct_index_remove(struct ct_shard *s, uint32_t idx)
{
	uint32_t kb[2], rb[2];

	ct_index_cands(s, node_hash(s, idx), &kb[0], &kb[1]);
	if (!(s->pool[idx].status & CT_S_NAT_MASK)) {
		node_remove_from(s, idx, kb);
		return;
	}
	ct_index_cands(s, node_hash(s, idx | CT_IDX_NAT), &rb[0], &rb[1]);
	rte_prefetch0(&s->buckets[rb[0]]);
	if (ct_index_spills_common(s))
		rte_prefetch0(&s->buckets[rb[1]]);
	node_remove_from(s, idx, kb);
	node_remove_from(s, idx | CT_IDX_NAT, rb);
}

/* A node's first bucket, and its second where spills are common (the removal reads it). */
static inline void
prefetch_cands(const struct ct_shard *s, uint32_t h)
{
	uint32_t b1, b2;

	ct_index_cands(s, h, &b1, &b2);
	rte_prefetch0(&s->buckets[b1]);
	if (ct_index_spills_common(s))
		rte_prefetch0(&s->buckets[b2]);
}

void
ct_index_remove_prepare(const struct ct_shard *s, uint32_t idx, struct ct_index_rm *rm)
{
	rm->h[0] = node_hash(s, idx);
	prefetch_cands(s, rm->h[0]);
	rm->h[1] = 0;
	if (s->pool[idx].status & CT_S_NAT_MASK) {
		rm->h[1] = node_hash(s, idx | CT_IDX_NAT);
		prefetch_cands(s, rm->h[1]);
	}
}

void
ct_index_remove_prepared(struct ct_shard *s, uint32_t idx, const struct ct_index_rm *rm)
{
	uint32_t b[2];

	ct_index_cands(s, rm->h[0], &b[0], &b[1]);
	node_remove_from(s, idx, b);
	if (!(s->pool[idx].status & CT_S_NAT_MASK))
		return;
	ct_index_cands(s, rm->h[1], &b[0], &b[1]);
	node_remove_from(s, idx | CT_IDX_NAT, b);
}

int
ct_index_check(const struct ct_shard *s)
{
	uint32_t *want = calloc(s->nb, sizeof(*want));
	uint32_t b, b1, b2, total = 0;
	unsigned k;
	int bad = 0;

	if (want == NULL)
		return -ENOMEM;
	for (b = 0; b < s->nb; b++)
		for (k = 0; k < CT_BUCKET_SLOTS; k++) {
			if (s->buckets[b].sig[k] == 0)
				continue;
			ct_index_cands(s, node_hash(s, s->buckets[b].idx[k]), &b1, &b2);
			if (b != b1 && b != b2)
				bad++;
			else if (b != b1)
				want[b1]++;
		}
	for (b = 0; b < s->nb; b++) {
		bad += want[b] != s->buckets[b].spill;
		total += want[b];
	}
	bad += total != s->n_spilled;
	free(want);
	return bad;
}
