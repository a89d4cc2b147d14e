/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_HASH_H
#define DPCT_CT_HASH_H

/*
 * The keyed flow hash's key and its IPv4 form, inline for the parser's
 * fast path (ct_parse.c). ct_hash.c says what the function is and why; it
 * owns the key. Not installed.
 */

#include <stddef.h>
#include <stdint.h>

#include "ct_private.h"

/* ct_hash_v4()'s tail word: the tuple's last 8 bytes, read little-endian. */
_Static_assert(offsetof(struct ct_tuple, sport) == 32 && offsetof(struct ct_tuple, dport) == 34 &&
		       offsetof(struct ct_tuple, proto) == 36 &&
		       offsetof(struct ct_tuple, family) == 37 &&
		       offsetof(struct ct_tuple, zone) == 38,
	       "ct_tuple tail layout");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the tail word is little-endian");

#define CT_HASH_WORDS 5

struct ct_hash_key {
	uint64_t a_lo[CT_HASH_WORDS];
	uint64_t a_hi[CT_HASH_WORDS];
	uint64_t b_lo;
	uint64_t b_hi;
};

/* Written at load and at start-up only (ct_hash_set_seed()), read by every core. */
extern struct ct_hash_key ct_hkey;

typedef unsigned __int128 ct_u128;

/* a_i * x mod 2^128 for a 128-bit a_i: one full and one low multiply. */
static inline ct_u128
ct_hash_term(const struct ct_hash_key *k, unsigned i, uint64_t x)
{
	return (ct_u128)k->a_lo[i] * x + ((ct_u128)(k->a_hi[i] * x) << 64);
}

/*
 * A bijection, so full-width collisions stay exactly those of the universal
 * part. It removes the linear structure multiply-shift leaves in its output:
 * tuples that differ only in the source port form an arithmetic progression
 * there, and for some keys the shard's bucket bits of such a run cluster
 * into a few buckets.
 */
static inline uint64_t
ct_hash_fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/*
 * The hash of an IPv4 tuple: `s4`, `d4` the addresses as they lie in
 * memory (network order), `tail` the tuple's last 8 bytes as one
 * little-endian word (sport, dport in host order, proto, family, zone).
 * Each end is one 48-bit number, its address as loaded and its port above
 * it; the two are ordered as a minimum and a maximum, which GCC computes
 * with cmov: which end sent the packet is a coin toss from one packet to
 * the next, and a branch on it was mispredicted half the time. w0 holds
 * the lower end and the higher end's low 16 bits, w4 the rest of the
 * higher end and proto, family, zone: 128 bits that tell the unordered
 * tuple exactly.
 */
static inline uint64_t
ct_hash_v4(uint32_t s4, uint32_t d4, uint64_t tail)
{
	const struct ct_hash_key *k = &ct_hkey;
	uint64_t sk = s4 | (tail & 0xffff) << 32, dk = d4 | (tail & 0xffff0000) << 16;
	uint64_t lo_end = sk < dk ? sk : dk, hi_end = sk < dk ? dk : sk;
	uint64_t w0 = lo_end | hi_end << 48, w4 = hi_end >> 16 | (tail & ~UINT64_C(0xffffffff));
	ct_u128 p, q;
	uint64_t hi, lo;

	/*
	 * The top half of (b + a_0 * w0 + a_4 * w4) mod 2^128, written out:
	 * the high products, the low products' high halves, and the two carries
	 * of the low halves' sum (the compiler's 128-bit adds cost more).
	 */
	p = (ct_u128)k->a_lo[0] * w0;
	q = (ct_u128)k->a_lo[4] * w4;
	hi = k->b_hi + k->a_hi[0] * w0 + k->a_hi[4] * w4 + (uint64_t)(p >> 64) +
	     (uint64_t)(q >> 64);
	hi += __builtin_add_overflow(k->b_lo, (uint64_t)p, &lo);
	hi += __builtin_add_overflow(lo, (uint64_t)q, &lo);
	return ct_hash_fmix64(hi);
}

#endif /* DPCT_CT_HASH_H */
