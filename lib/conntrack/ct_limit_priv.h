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
 * A count, keyed by a 64-bit keyed hash of (rule, masked source, zone):
 * two keys share a slot only if their hashes collide, about 2^-64 a pair
 * under a key the sources cannot know. 0 marks an empty slot.
 */
struct lim_slot {
	uint64_t fp;
	uint32_t count;
	uint32_t pad;
};
_Static_assert(sizeof(struct lim_slot) == 16, "a count is 16 bytes");

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
};

#endif /* CT_LIMIT_PRIV_H */
