/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The counting table's layout, shared by ct_limit.c (admission and
 * release on the packet path) and ct_limit_conf.c (creating the table
 * from checked rules). Private to lib/conntrack.
 */
#ifndef CT_LIMIT_PRIV_H
#define CT_LIMIT_PRIV_H

#include <stdint.h>

#include "ct_limit.h"

/*
 * A source rule's count in one word: the key's tag over a 24-bit count.
 * The tag is the top 40 bits of a 64-bit keyed hash of (rule, masked
 * source, zone), bit 24 of the word set so that no tag is 0 (0 marks an
 * empty slot); its top 32 bits place the key (home_of()), so a slot's
 * home is read from the word itself. Two keys share a count only if their
 * tags are equal: about 2^-39 a pair under a key the sources cannot know.
 * A count never passes its rule's max, which rule_check() holds to
 * LIM_CNT_MAX. 8 bytes a count, 8 a line: at a million sources the
 * table is half what 16-byte slots took, and more of it stays in cache.
 */
struct lim_slot {
	uint64_t w;
};
_Static_assert(sizeof(struct lim_slot) == 8, "a count is 8 bytes");

#define LIM_CNT_BITS 24
#define LIM_CNT_MASK ((UINT64_C(1) << LIM_CNT_BITS) - 1)
#define LIM_CNT_MAX  ((uint32_t)LIM_CNT_MASK)
_Static_assert(LIM_CNT_MAX == CT_LIMIT_SRC_MAX, "the public bound is the count's width");
#define LIM_TAG_BIT  (UINT64_C(1) << LIM_CNT_BITS)

/* A rule's prefix and group as masks over the address's two words. */
struct lim_mask {
	uint64_t addr[2];        /* the prefix, host bits zero */
	uint64_t pm[2];          /* prefix_len bits set */
	uint64_t gm[2];          /* group_len bits set */
};

struct ct_limits {
	struct ct_limit_rule rules[CT_MAX_LIMITS];
	struct lim_mask m[CT_MAX_LIMITS];
	uint8_t src_rule[2][CT_MAX_LIMITS]; /* the source rules of IPv4, of IPv6, in order */
	uint8_t n_src[2];
	uint8_t zone_rule[CT_MAX_LIMITS];   /* the zone rules, in order */
	uint8_t n_zone;
	unsigned n;
	uint32_t n_slots;        /* keys * 3 / 2: at most two thirds full */
	uint32_t used;
	uint32_t max_used;       /* keys: the most counts held at once */
	uint64_t seed;
	struct lim_slot *slot;
	uint32_t zcount[CT_MAX_LIMITS]; /* a zone rule's count: one key, no slot */
};

#endif /* CT_LIMIT_PRIV_H */
