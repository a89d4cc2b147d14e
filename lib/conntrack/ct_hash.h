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
 * The order of ct_tuple_swapped() (address, then port) is chosen without a
 * branch; word 0 holds both addresses, the first in that order low.
 */
static inline uint64_t
ct_hash_v4(uint32_t s4, uint32_t d4, uint64_t tail)
{
	const struct ct_hash_key *k = &ct_hkey;
	uint64_t sk = (uint64_t)__builtin_bswap32(s4) << 16 | (uint16_t)tail;
	uint64_t dk = (uint64_t)__builtin_bswap32(d4) << 16 | (uint16_t)(tail >> 16);
	uint64_t swapped = ct_tuple_tail_swapped(tail);
	uint64_t addrs = s4 | (uint64_t)d4 << 32, raddrs = d4 | (uint64_t)s4 << 32;
	ct_u128 p, q;
	uint64_t hi, lo;

	if (sk > dk) {
		addrs = raddrs;
		tail = swapped;
	}
	/*
	 * The top half of (b + a_0 * addrs + a_4 * tail) mod 2^128, written out:
	 * the high products, the low products' high halves, and the two carries
	 * of the low halves' sum (the compiler's 128-bit adds cost more).
	 */
	p = (ct_u128)k->a_lo[0] * addrs;
	q = (ct_u128)k->a_lo[4] * tail;
	hi = k->b_hi + k->a_hi[0] * addrs + k->a_hi[4] * tail + (uint64_t)(p >> 64) +
	     (uint64_t)(q >> 64);
	hi += __builtin_add_overflow(k->b_lo, (uint64_t)p, &lo);
	hi += __builtin_add_overflow(lo, (uint64_t)q, &lo);
	return ct_hash_fmix64(hi);
}

#endif /* DPCT_CT_HASH_H */
