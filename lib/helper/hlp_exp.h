/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_HLP_EXP_H
#define DPCT_HLP_EXP_H

/**
 * @file
 * A worker's expectation table: the connections its helpers announced,
 * with Linux's limits (a table-wide maximum, `max_expected` per master
 * with the oldest evicted, a timeout per helper), and a life that outlasts
 * the match so that an expectation's DESTROY can be delivered reliably:
 *
 *   (add) -> LIVE --(matched, expired, evicted, removed)--> DYING --(free)--> gone
 *
 * A LIVE expectation is found by the original tuple of a new connection:
 * its source address, destination address and port, protocol, family and
 * zone; its source port is open. A DYING one is found by nothing and keeps
 * its slot (and id) until the caller frees it, once its DESTROY is
 * delivered or given up: the table never reuses a slot before that.
 *
 * Masters: the caller keeps a struct hlp_master beside each master entry
 * (8 bytes); the table links that master's live expectations through it,
 * oldest first.
 *
 * Cost: add, match and unlink are O(1) expected (open addressing, linear
 * probing over a power-of-two array at most half full, sized at create);
 * expiry takes the oldest of each helper class in order (one timeout per
 * class, so its list is sorted). Nothing allocates after
 * hlp_exp_table_create().
 *
 * Thread safety: a table belongs to one worker; nothing here is shared.
 */

#include <stdint.h>

#include "hlp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HLP_EXP_NIL UINT32_MAX

/** Helper classes: each has its own timeout and per-master limit. */
#define HLP_EXP_CLASSES 4

/** An expectation's state. */
enum hlp_exp_state {
	HLP_EXP_FREE = 0,
	HLP_EXP_LIVE,
	HLP_EXP_DYING,
};

/** Why an expectation left the LIVE state. */
enum hlp_exp_end {
	HLP_EXP_END_NONE = 0,
	HLP_EXP_END_CONFIRMED,   /**< its connection came (hlp_exp_match()) */
	HLP_EXP_END_EXPIRED,     /**< its timeout ran out */
	HLP_EXP_END_EVICTED,     /**< its master announced more than max_expected */
	HLP_EXP_END_REMOVED,     /**< its master ended, or the caller removed it */
};

/** One expectation. */
struct hlp_exp {
	struct ct_tuple tuple;   /**< sport 0: any */
	uint64_t expires_ns;     /**< when LIVE: when it expires */
	uint32_t id;             /**< CTA_EXPECT_ID, never 0 */
	uint32_t master_slot;    /**< the master entry (the caller's index) */
	uint32_t master_id;      /**< and its id, against reuse of the slot */
	uint32_t mnext;          /**< next (newer) live expectation of the same master */
	uint32_t cprev, cnext;   /**< neighbours in its class's age order */
	uint8_t state;           /**< enum hlp_exp_state */
	uint8_t cls;             /**< helper class */
	uint8_t cmd;             /**< enum hlp_cmd that made it */
	uint8_t end;             /**< enum hlp_exp_end once DYING */
	uint8_t pending;         /**< event bits for the caller (not interpreted here) */
	uint8_t missed;          /**< the same, for the caller's missed-event cache */
};

/** The live expectations of one master, kept by the caller beside its entry. */
struct hlp_master {
	uint32_t head;           /**< oldest live expectation, HLP_EXP_NIL for none */
	uint8_t count;           /**< live expectations */
	uint8_t pad[3];
};

/** A class's policy (Linux's nf_conntrack_expect_policy). */
struct hlp_exp_class {
	uint32_t timeout_s;      /**< 1 .. 86400 */
	uint8_t max_expected;    /**< 1 .. 255 per master */
};

struct hlp_exp_table;

/** Counters. */
struct hlp_exp_stats {
	uint64_t added;
	uint64_t confirmed;
	uint64_t expired;
	uint64_t evicted;
	uint64_t removed;
	uint64_t refused_full;   /**< hlp_exp_add() with the table at its maximum */
	uint64_t replaced;       /**< an add whose tuple was already expected (old one ended) */
	uint32_t live;
	uint32_t dying;
};

/**
 * A table for at most `max` expectations, live and dying together
 * (1 .. 1,048,576), and `n_classes` helper classes.
 * @return the table, or NULL with errno EINVAL (bad arguments) or ENOMEM.
 */
struct hlp_exp_table *hlp_exp_table_create(uint32_t max, const struct hlp_exp_class *classes,
					   unsigned n_classes);

void hlp_exp_table_free(struct hlp_exp_table *t);

/** hlp_master for a new entry: no expectations. */
static inline void
hlp_master_init(struct hlp_master *m)
{
	m->head = HLP_EXP_NIL;
	m->count = 0;
}

/**
 * Add an expectation of class `cls` for master (slot, id, state `m`).
 * Where the master already has max_expected live ones, its oldest is
 * ended first (HLP_EXP_END_EVICTED; its index in *evicted). Where the
 * same tuple is already expected by this master and class, that one is
 * ended (HLP_EXP_END_REMOVED, its index in *replaced) and this one takes
 * its place, as Linux replaces a clashing expectation of the same master.
 * Both may be NULL.
 * @return the new expectation's index; HLP_EXP_NIL with errno ENOSPC
 *         (no free slot: not added, though an eviction or replacement
 *         made first stands, as in Linux), EALREADY (the same tuple is
 *         expected by another master or class: nothing changed) or EINVAL
 *         (bad class, NULL master).
 */
uint32_t hlp_exp_add(struct hlp_exp_table *t, const struct hlp_expect *e, unsigned cls,
		     uint32_t master_slot, uint32_t master_id, struct hlp_master *m,
		     uint64_t now_ns, uint32_t *evicted, uint32_t *replaced);

/**
 * The live expectation a new connection with original tuple `tuple`
 * fulfils, made DYING (HLP_EXP_END_CONFIRMED); HLP_EXP_NIL for none. An
 * expired one is not matched and stays for hlp_exp_expire(), which ends
 * it and reports its index. The caller unlinks
 * nothing itself, but must pass the master's state: `master_of(slot, id)`
 * gives it (NULL when the master is gone).
 */
uint32_t hlp_exp_match(struct hlp_exp_table *t, const struct ct_tuple *tuple, uint64_t now_ns,
		       struct hlp_master *(*master_of)(void *arg, uint32_t slot, uint32_t id),
		       void *arg);

/**
 * End up to `max` expectations whose timeout has run out by `now_ns`
 * (HLP_EXP_END_EXPIRED), writing their indexes to out[].
 * @return how many.
 */
unsigned hlp_exp_expire(struct hlp_exp_table *t, uint64_t now_ns,
			struct hlp_master *(*master_of)(void *arg, uint32_t slot, uint32_t id),
			void *arg, uint32_t *out, unsigned max);

/**
 * End every live expectation of master `m` (HLP_EXP_END_REMOVED), as
 * Linux when a master is destroyed; their indexes to out[] (up to max).
 * @return how many were ended (all of them, even past max).
 */
unsigned hlp_exp_remove_master(struct hlp_exp_table *t, struct hlp_master *m, uint32_t *out,
			       unsigned max);

/** End live expectation `idx` (HLP_EXP_END_REMOVED). @return 0, -ENOENT when not live. */
int hlp_exp_remove(struct hlp_exp_table *t, uint32_t idx, struct hlp_master *m);

/** Free dying expectation `idx` (its DESTROY delivered). @return 0, -ENOENT when not dying. */
int hlp_exp_free(struct hlp_exp_table *t, uint32_t idx);

/** The live expectation keyed like `tuple` (its source port ignored), HLP_EXP_NIL for
 * none; expired or not, nothing changes. */
uint32_t hlp_exp_find(const struct hlp_exp_table *t, const struct ct_tuple *tuple);

/** Expectation `idx`, NULL when out of range. */
struct hlp_exp *hlp_exp_get(struct hlp_exp_table *t, uint32_t idx);

void hlp_exp_stats(const struct hlp_exp_table *t, struct hlp_exp_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_HLP_EXP_H */
