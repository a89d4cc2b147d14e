/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_LIMIT_H
#define DPCT_CT_LIMIT_H

/**
 * @file
 * Connection limits and the "who fills the table" sketch of one shard.
 *
 * Limits (nftables `ct count`, Linux's per-zone limits): a rule caps the
 * live entries of a source group (every source address in a prefix,
 * grouped by `group_len` bits, in one zone or all of them) or of a whole
 * zone. struct ct_limits counts live entries per (rule, masked source,
 * zone) in a fixed open-addressing table sized at creation: admitting a
 * connection increments the counts of the rules it matches, releasing it
 * decrements them; nothing is allocated afterwards.
 *
 * The top sketch (struct ct_top) is a Count-Min sketch of live entries
 * by source and by destination address (with zone), plus a handful of
 * candidate keys per dimension: the keys whose estimate last rose above
 * the smallest candidate's. Count-Min sketches add up, so the control core
 * merges copies of every shard's sketch into a table-wide estimate.
 * For a reported key with true count n among N live entries counted,
 * n <= estimate <= n + (e / CT_TOP_WIDTH) * N with probability at least
 * 1 - e^-CT_TOP_ROWS (0.13 % of N, 98 %).
 *
 * Both are single-writer structures without locks or atomics: only the
 * shard's owner calls the functions that change them. The control core
 * reads a copy (ct_top_copy()) that the owner publishes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ct_tuple;
struct ct_mem;

/** At most this many limit rules. */
#define CT_MAX_LIMITS 16

/** A source rule's max is at most this (its count is 24 bits); a zone rule's is any uint32. */
#define CT_LIMIT_SRC_MAX 16777215u

/**
 * A limit rule. family 4 or 6: a source rule, matching connections whose
 * original source lies in addr/prefix_len (and, unless any_zone, whose zone
 * is `zone`); sources that agree in their first group_len bits share one
 * count (group_len = 32 or 128: each address counts alone). family 0: a
 * zone rule, every connection of zone `zone` in one count. `max` is the
 * number of live entries a count may reach in this shard: 1..CT_LIMIT_SRC_MAX
 * for a source rule.
 */
struct ct_limit_rule {
	uint8_t addr[16];      /**< source prefix, host bits zero */
	uint8_t family;        /**< 4, 6, or 0 for a zone rule */
	uint8_t prefix_len;    /**< 0..32 / 0..128 */
	uint8_t group_len;     /**< prefix_len..32 / prefix_len..128 */
	uint8_t any_zone;      /**< source rule: 1 = every zone, counted together */
	uint16_t zone;         /**< the zone (zone rule; source rule without any_zone) */
	uint16_t pad;
	uint32_t max;          /**< live entries a count may reach, >= 1 */
};

/** What ct_limits_admit() decided. */
enum ct_limit_verdict {
	CT_LIM_NONE = 0,   /**< no rule matches: nothing counted */
	CT_LIM_COUNTED,    /**< under every matching rule's limit: counted */
	CT_LIM_OVER,       /**< a matching rule's count is at its max: refuse (*rule says which) */
	CT_LIM_NOROOM,     /**< the counting table is full: admitted, not counted */
};

struct ct_limits;

/**
 * A counting table for `n` rules with room for `keys` source counts (keys
 * * 3 / 2 slots of 8 bytes: at most two thirds full), each keyed by a
 * 40-bit tag of a keyed hash of its rule, source group and zone (two
 * groups share a count only when their tags are equal, about 2^-39 a
 * pair); a zone rule's count is its own, exact, and takes no slot.
 * For every connection, the first source rule (in order) that matches it
 * and the first zone rule of its zone apply.
 * @param seed  keys the table's hash.
 * @param err   message on failure (may be NULL).
 * @return the table, or NULL (bad rule, n or keys out of range, no memory).
 * Thread safety: the table belongs to one thread.
 */
struct ct_limits *ct_limits_create(const struct ct_limit_rule *rules, unsigned n, uint32_t keys,
				   uint64_t seed, const struct ct_mem *mem, char *err,
				   size_t errlen);

/** Free a table from ct_limits_create() with the same allocator. NULL is a no-op. */
void ct_limits_free(struct ct_limits *l, const struct ct_mem *mem);

/**
 * The top sketch's counters an entry of a tuple counts in: col[dim][row]
 * (dim CT_TOP_SRC or CT_TOP_DST, row < CT_TOP_ROWS), from ct_top_hashes().
 */
struct ct_top_cols {
	uint16_t col[2][4];
};

/**
 * The rules that apply to a tuple and the keys of its counts, worked out
 * once by ct_limits_prefetch() and handed to ct_limits_admit() or
 * ct_limits_release() for the same tuple and table. `n` is
 * CT_LIM_HINT_UNSET until then. `top` is for a shard's caller: the top
 * sketch's counters of the same tuple (ct_top_hashes()), which these
 * functions neither read nor write.
 */
struct ct_lim_hint {
	uint64_t fp[2];
	struct ct_top_cols top;
	uint8_t rule[2];
	uint8_t n;
};
#define CT_LIM_HINT_UNSET 0xff

/**
 * Admit a new connection with original tuple `t`: on CT_LIM_COUNTED every
 * matching rule's count went up by one; on CT_LIM_OVER (`*rule` = the rule
 * at its max), CT_LIM_NONE and CT_LIM_NOROOM nothing changed.
 * @param h  NULL, or a hint for `t` (unset: worked out here).
 */
enum ct_limit_verdict ct_limits_admit(struct ct_limits *l, const struct ct_tuple *t,
				      const struct ct_lim_hint *h, unsigned *rule);

/**
 * Prefetch the counts ct_limits_admit() or ct_limits_release() would read
 * for `t`, some packets or results before it is processed, and leave what
 * it worked out in `*h` (may be NULL).
 */
void ct_limits_prefetch(const struct ct_limits *l, const struct ct_tuple *t,
			struct ct_lim_hint *h);

/**
 * Release a connection that ct_limits_admit() counted (CT_LIM_COUNTED), with
 * the same tuple: the counts it took go down by one.
 * @param h  NULL, or a hint for `t` (unset: worked out here).
 */
void ct_limits_release(struct ct_limits *l, const struct ct_tuple *t,
		       const struct ct_lim_hint *h);

/** The live count of rule `rule` for the group `t` falls in (0 when none). */
uint32_t ct_limits_count(const struct ct_limits *l, unsigned rule, const struct ct_tuple *t);

/** Counts in use (distinct rule, group and zone keys). */
uint32_t ct_limits_keys_used(const struct ct_limits *l);

/* ------------------------------------------------------------------------ */
/* Top sketch                                                                */

#define CT_TOP_ROWS  4      /**< Count-Min rows: failure probability e^-4 */
#define CT_TOP_WIDTH 2048   /**< counters a row: error e / 2048 of the live entries */
#define CT_TOP_CAND  16     /**< candidate keys a shard keeps per dimension */

/** Dimensions of the sketch. */
enum ct_top_dim {
	CT_TOP_SRC = 0,   /**< original source address */
	CT_TOP_DST = 1,   /**< original destination address */
	CT_TOP_DIMS,
};

/** A key of the sketch: an address (IPv4 in the first 4 bytes) in a zone. */
struct ct_top_key {
	uint8_t addr[16];
	uint16_t zone;
	uint8_t family;          /**< 4 or 6; 0 marks an empty candidate */
	uint8_t pad;
};

/** A key with its estimated live entries. */
struct ct_top_item {
	struct ct_top_key key;
	uint32_t est;
};

struct ct_top_part {
	uint32_t cnt[CT_TOP_ROWS][CT_TOP_WIDTH];
	struct ct_top_item cand[CT_TOP_CAND];
	uint32_t cand_fp[CT_TOP_CAND];  /* the candidates' hashes' high halves */
	uint32_t cand_min;       /* the smallest candidate's estimate */
	uint32_t min_i;          /* its slot */
};

/** One shard's sketch (about 64 KiB). Plain data: copy it with ct_top_copy(). */
struct ct_top {
	struct ct_top_part part[CT_TOP_DIMS];
	uint64_t seed;           /**< the hash key: the same in every shard that is merged */
	uint64_t total;          /**< entries counted now */
};

/** Clear `t` and set its hash key (equal keys for sketches that will be merged). */
void ct_top_init(struct ct_top *t, uint64_t seed);

/** Count a new entry with original tuple `tu` (by source and destination). */
void ct_top_add(struct ct_top *t, const struct ct_tuple *tu);

/** Uncount an entry that ct_top_add() counted, with the same tuple. */
void ct_top_sub(struct ct_top *t, const struct ct_tuple *tu);

_Static_assert(CT_TOP_DIMS == 2 && CT_TOP_ROWS == 4 && CT_TOP_WIDTH <= 65536,
	       "struct ct_top_cols holds a column a row and dimension");

/**
 * The counters `tu`'s entry counts in, both dimensions and every row
 * (under `t`'s key), into `*c`, and a prefetch of each, for
 * ct_top_add_hashed() or ct_top_sub_hashed() of the same tuple some
 * packets or results later.
 */
void ct_top_hashes(const struct ct_top *t, const struct ct_tuple *tu, struct ct_top_cols *c);

/** ct_top_add() with `tu`'s counters from ct_top_hashes() (the same result). */
void ct_top_add_hashed(struct ct_top *t, const struct ct_tuple *tu, const struct ct_top_cols *c);

/** ct_top_sub() with the counters from ct_top_hashes() (the same result). */
void ct_top_sub_hashed(struct ct_top *t, const struct ct_top_cols *c);

/**
 * ct_limits_prefetch() of `l` and ct_top_hashes() of `t` for tuple `tu` in
 * one call, both results in `*h`. Either table may be NULL: no limits
 * leave h->n 0, no sketch leaves h->top unset.
 */
void ct_limits_top_prefetch(const struct ct_limits *l, const struct ct_top *t,
			    const struct ct_tuple *tu, struct ct_lim_hint *h);

/**
 * The end of an entry with original tuple `tu`: ct_limits_release() of
 * `l` (pass NULL when the entry holds no counts) and ct_top_sub() of `t`
 * (NULL: no sketch), in one call. `h`: NULL, unset (worked out here), or
 * ct_limits_top_prefetch()'s hint of `tu` for the same `l` and `t`.
 */
void ct_limits_top_release(struct ct_limits *l, struct ct_top *t, const struct ct_tuple *tu,
			   const struct ct_lim_hint *h);

/**
 * Re-estimate the candidates from the counters (entries end without
 * touching them): empty the ones at 0 and recompute the smallest.
 */
void ct_top_refresh(struct ct_top *t);

/** Copy `src` to `dst` (after ct_top_refresh() the copy's candidates are current). */
void ct_top_copy(struct ct_top *dst, const struct ct_top *src);

/** A key's estimate in `t` (its counters' minimum). */
uint32_t ct_top_estimate(const struct ct_top *t, unsigned dim, const struct ct_top_key *k);

/**
 * The heaviest keys of dimension `dim` over `n` sketches with one hash
 * key: the union of their candidates, each estimated from the sum of the
 * sketches (Count-Min's bound over the total), in zone `zone` only when
 * zone >= 0, largest first (ties by zone and address). `out` holds `cap`
 * items; n * CT_TOP_CAND is enough for every candidate. Allocates nothing.
 * @return the number written to `out`; 0 when the sketches' keys differ.
 * Thread safety: reads the sketches only.
 */
unsigned ct_top_merge(const struct ct_top *const *t, unsigned n, unsigned dim, int zone,
		      struct ct_top_item *out, unsigned cap);

/** The key of dimension `dim` for tuple `tu`. */
void ct_top_key_of(const struct ct_tuple *tu, unsigned dim, struct ct_top_key *k);

/* ------------------------------------------------------------------------ */
/* A shard's limits and sketch (ct_conf.limits, ct_conf.top)                 */

struct ct_shard;

/**
 * Publish the shard's top sketch: re-estimate its candidates and copy it
 * into `dst` (about 64 KiB), which another thread may then read.
 * @return 0, or -ENOENT when the shard keeps no sketch (ct_conf.top false).
 * Thread safety: the shard's owner only; `dst` must not be read meanwhile.
 */
int ct_shard_top_publish(struct ct_shard *s, struct ct_top *dst);

/**
 * The live count of limit rule `rule` for the group of tuple `t`'s source
 * and zone (0 when none, or no limits).
 * Thread safety: the shard's owner only.
 */
uint32_t ct_shard_limit_count(const struct ct_shard *s, unsigned rule,
			      const struct ct_tuple *t);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_CT_LIMIT_H */
