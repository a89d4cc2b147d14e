/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_INDEX_H
#define DPCT_CT_INDEX_H

/*
 * The shard's flow index: 64-byte buckets of 10 signatures and 10 pool
 * indices, two candidate buckets per flow, cuckoo displacement on insert.
 * A node sits in its first candidate bucket unless that was full; each
 * bucket counts the nodes whose first it is that sit in their second
 * (`spill`, exact: every insert, move and removal keeps it), so a lookup
 * that misses in a first bucket whose count is 0 reads no second. The
 * shard keeps their sum (n_spilled): how often a miss must read two.
 * The lookup is static inline here, for the packet loop; insert and remove
 * are in ct_index.c.
 */

#include <string.h>

#include <emmintrin.h>

#include "ct_shard_priv.h"

/* A flow's signature in its buckets: the low 16 bits of its hash, never 0 (a free slot). */
static inline uint16_t
ct_index_sig(uint32_t h)
{
	uint16_t sig = (uint16_t)h;

	return sig != 0 ? sig : 1;
}

/* The flow's two candidate buckets. */
static inline void
ct_index_cands(const struct ct_shard *s, uint32_t h, uint32_t *b1, uint32_t *b2)
{
	ct_index_buckets(s->nb, h, b1, b2);
}

/*
 * Whether misses often read two buckets: more than one first bucket in 8
 * has a node spilled to its second, as near the 80 % design load. Below
 * that, a packet that will likely miss has only its first bucket fetched
 * ahead, and reads the second (a wait) where that counts a spill.
 */
static inline bool
ct_index_spills_common(const struct ct_shard *s)
{
	return (uint64_t)s->n_spilled * 8 > s->nb;
}

/* The mask of every slot of a bucket, two bits a slot as ct_bucket_match() gives them. */
#define CT_BUCKET_MASK (((1u << (2 * CT_BUCKET_SLOTS)) - 1u) & 0x55555u)

/*
 * The slots whose signature is `sig`, two mask bits a slot (slot k at bit
 * 2k). The ten signatures are compared as two overlapping 8-lane vectors,
 * slots 0-7 and 2-9.
 */
static inline unsigned
ct_bucket_match(const struct ct_bucket *b, uint16_t sig)
{
	const __m128i s = _mm_set1_epi16((short)sig);
	__m128i lo = _mm_load_si128((const __m128i *)(const void *)b->sig);
	__m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(b->sig + 2));
	unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(lo, s)) |
		     (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(hi, s)) << 4;

	return m & CT_BUCKET_MASK;
}

/*
 * Whether entry key `k` is tuple `t` (bit 0), its reverse (bit 1), both (a
 * tuple that is its own reverse: ct_key_dir() takes it as the original) or
 * neither (0), without branching on the direction: both comparisons are
 * made at once. An IPv4 tuple's address bytes 4..15 are not compared: 0 in
 * every tuple the parser makes, they hold a translated entry's translation
 * and node hashes in its key (struct ct_entry: nat_rh ... natx).
 */
static inline unsigned
ct_key_match(const struct ct_tuple *k, const struct ct_tuple *t)
{
	const __m128i k0 = _mm_loadu_si128((const __m128i *)(const void *)k->src);
	const __m128i k1 = _mm_loadu_si128((const __m128i *)(const void *)k->dst);
	const __m128i t0 = _mm_loadu_si128((const __m128i *)(const void *)t->src);
	const __m128i t1 = _mm_loadu_si128((const __m128i *)(const void *)t->dst);
	uint64_t kw, tw, tr;
	unsigned o, r, ign;

	/* sport, dport, proto, family, zone: the reverse swaps the two ports. */
	memcpy(&kw, &k->sport, sizeof(kw));
	memcpy(&tw, &t->sport, sizeof(tw));
	tr = ct_tuple_tail_swapped(tw);
	o = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(k0, t0),
						      _mm_cmpeq_epi8(k1, t1)));
	r = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(k0, t1),
						      _mm_cmpeq_epi8(k1, t0)));
	/* The family is the tail's byte 5; equal tails have t's equal to k's. */
	ign = (tw >> 40 & 0xff) == 4 ? 0xfff0u : 0;
	/* Differences ORed, not `&&` and `?:`: GCC branched on them, on the packet's direction. */
	o = (((o | ign) ^ 0xffffu) | (kw ^ tw)) == 0;
	r = (((r | ign) ^ 0xffffu) | (kw ^ tr)) == 0;
	return o | r << 1;
}

/* The packet's direction for a ct_key_match() hit: both bits (its own reverse) is the original. */
static inline enum ct_dir
ct_key_dir(unsigned hit)
{
	return (enum ct_dir)(~hit & 1u);
}

/*
 * The hits an entry's key may give: both directions for an untranslated
 * flow, the original direction only for a translated one (its replies
 * come by the reply tuple's node).
 */
static inline unsigned
ct_key_hitmask(const struct ct_entry *e)
{
	return 3u >> ((e->status & CT_S_NAT_MASK) != 0);
}

/*
 * Whether `t` is the reply tuple of translated entry `e` (translation `x`),
 * compared piece by piece without building it: the side the translation
 * kept is the key's other end, the one it changed `x`, and the ports,
 * protocol, family and zone the key's tail reversed with one port `x`'s.
 * As ct_key_match(), an IPv4 tuple's address bytes 4..15 are not compared
 * (the tail's family is the key's: 4). One test of the differences ORed.
 */
static inline bool
ct_nat_match(const struct ct_entry *e, const struct ct_nat_x *x, const struct ct_tuple *t)
{
	const bool src = x->kind == CT_NATX_SRC;
	uint32_t ts, td, ks, kd, xa;
	uint64_t kt, tt, rt, pm;

	memcpy(&ts, t->src, 4);
	memcpy(&td, t->dst, 4);
	memcpy(&ks, e->key.src, 4);
	memcpy(&kd, e->key.dst, 4);
	memcpy(&xa, x->addr, 4);
	memcpy(&kt, &e->key.sport, sizeof(kt));
	memcpy(&tt, &t->sport, sizeof(tt));
	rt = ct_tuple_tail_swapped(kt);
	/* The tail's low 32 bits are sport, then dport (little-endian memory order). */
	pm = src ? UINT64_C(0xffff0000) : UINT64_C(0xffff);
	rt = (rt & ~pm) | (uint64_t)x->port << (src ? 16 : 0);
	return ((tt ^ rt) | ((src ? ts : td) ^ (src ? kd : ks)) | ((src ? td : ts) ^ xa)) == 0;
}

/*
 * Whether index node `v` (an entry, or CT_IDX_NAT | entry: its reply
 * tuple) is tuple `t`, and in which direction. A reply-tuple node of a
 * slot that is no longer translated (recycled since the node was read)
 * never matches.
 */
static inline int
ct_node_match(const struct ct_shard *s, uint32_t v, const struct ct_tuple *t, enum ct_dir *dir)
{
	const struct ct_entry *e = &s->pool[v & ~CT_IDX_NAT];
	unsigned hit;

	if (__builtin_expect((v & CT_IDX_NAT) != 0, 0)) {
		if (!(e->status & CT_S_NAT_MASK) || !ct_nat_match(e, &e->natx, t))
			return 0;
		*dir = CT_DIR_REPLY;
		return 1;
	}
	hit = ct_key_match(&e->key, t) & ct_key_hitmask(e);
	if (hit == 0)
		return 0;
	*dir = ct_key_dir(hit);
	return 1;
}

static inline uint32_t
ct_bucket_find(const struct ct_shard *s, const struct ct_bucket *b, uint16_t sig,
	    const struct ct_tuple *t, enum ct_dir *dir)
{
	unsigned m = ct_bucket_match(b, sig);

	while (m != 0) {
		unsigned k = (unsigned)__builtin_ctz(m) >> 1;
		uint32_t v = b->idx[k];

		m &= m - 1;
		if (ct_node_match(s, v, t, dir))
			return v & ~CT_IDX_NAT;
	}
	return CT_NIL;
}

/* Where a flow can be: its two candidate buckets and its signature, computed once a packet. */
struct ct_probe {
	uint32_t b1;
	uint32_t b2;
	uint16_t sig;
	uint32_t cand;   /* the node prefetched for it (first signature match), or CT_NIL */
	struct ct_lim_hint lim; /* limits: set when the lookup found no signature */
};

static inline void
ct_probe_init(const struct ct_shard *s, uint32_t h, struct ct_probe *q)
{
	ct_index_cands(s, h, &q->b1, &q->b2);
	q->sig = ct_index_sig(h);
	q->cand = CT_NIL;
	q->lim.n = CT_LIM_HINT_UNSET;
}

/*
 * The flow's entry. The one prefetched for the packet is almost always it:
 * one key compare. It is still in the index (packets in between may have
 * destroyed or recycled it) when it is used and not dying; otherwise, or
 * on a signature collision, the buckets are searched.
 */
static inline uint32_t
ct_probe_lookup(const struct ct_shard *s, const struct ct_probe *q, const struct ct_tuple *t,
	     enum ct_dir *dir)
{
	uint32_t idx;

	if (q->cand != CT_NIL) {
		const struct ct_entry *c = &s->pool[q->cand & ~CT_IDX_NAT];

		if (ct_node_match(s, q->cand, t, dir) && (c->eflags & CT_EF_USED) &&
		    !(c->status & CT_S_DYING))
			return q->cand & ~CT_IDX_NAT;
	}
	idx = ct_bucket_find(s, &s->buckets[q->b1], q->sig, t, dir);
	/* Not in its first bucket: in its second only if some node spilled there. */
	if (idx == CT_NIL && s->buckets[q->b1].spill != 0 && q->b2 != q->b1)
		idx = ct_bucket_find(s, &s->buckets[q->b2], q->sig, t, dir);
	return idx;
}

static inline uint32_t
ct_index_lookup(const struct ct_shard *s, const struct ct_tuple *t, uint32_t h, enum ct_dir *dir)
{
	struct ct_probe q;

	ct_probe_init(s, h, &q);
	return ct_probe_lookup(s, &q, t, dir);
}

/*
 * Put node `idx` (an entry whose key is set, or CT_IDX_NAT | entry whose
 * nat_x[] is set; `h` the hash of its reply tuple) into one of its buckets,
 * moving up to two residents to their other bucket when both are full.
 * Returns 0, or -ENOSPC when no slot could be made.
 */
int ct_index_insert(struct ct_shard *s, uint32_t idx, uint32_t h);

/* Take entry `idx` out of its bucket, and its reply-tuple node when it is
 * translated (no-op for what is not in the index). */
void ct_index_remove(struct ct_shard *s, uint32_t idx);

/* What ct_index_remove() of entry `idx` will write: its nodes' hashes
 * (h[1] for a translated entry's reply node), their buckets prefetched. */
struct ct_index_rm {
	uint32_t h[2];
};
void ct_index_remove_prepare(const struct ct_shard *s, uint32_t idx, struct ct_index_rm *rm);

/* ct_index_remove() with the hashes ct_index_remove_prepare() took, the entry unchanged since. */
void ct_index_remove_prepared(struct ct_shard *s, uint32_t idx, const struct ct_index_rm *rm);

/*
 * The index checked whole, for tests: nodes outside their candidate
 * buckets and buckets whose spill count is not the number of nodes that
 * spilled from them, and a shard total (n_spilled) not their sum.
 * Returns that number (0: consistent), or -ENOMEM.
 * Reads every bucket and allocates: not for the packet path.
 */
int ct_index_check(const struct ct_shard *s);

#endif /* DPCT_CT_INDEX_H */
