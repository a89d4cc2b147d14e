/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_HLP_TRACK_H
#define DPCT_HLP_TRACK_H

/**
 * @file
 * Helpers on a worker's shard: which new connections get a helper (rules,
 * as nftables assigns `ct helper` objects), their parsing state in a side
 * array by entry slot, the worker's expectation table (hlp_exp.h), the
 * connections created from it (RELATED: CT_S_EXPECTED and the master's id)
 * and the expectation records staged with the shard's other records.
 *
 * Life of an expectation: hlp_track_payload() reads a packet of a helped
 * connection (the master) after the tracker accepted it; a command that
 * announces a connection adds an expectation (EXP NEW is staged). It ends
 * when a new connection matches it (the shard's `created` hook: that entry
 * is created RELATED), when its timeout runs out (hlp_track_expire()),
 * when its master announces more than `max_expected`, or when its master
 * ends; then EXP DESTROY is staged and the expectation stays DYING, its
 * slot and id kept, until CT_RES_EXP_DESTROY_ACK. A NEW the ring or a
 * listener refused is staged again on the master's next packet; a refused
 * DESTROY `grace_ns` later. With expectation events off
 * (hlp_track_set_events()) nothing is staged and an ended expectation is
 * freed at once.
 *
 * Cost: nothing at all on a shard without helpers (no hook is installed).
 * With helpers, a packet that would create an entry costs one probe of the
 * expectation table; a packet of an established connection without a
 * helper costs one compare in hlp_track_payload()'s caller.
 *
 * Thread safety: one struct hlp_track per shard, used by its owner only.
 * Every worker holds only its own expectations: a connection an
 * expectation announces must reach the master's worker to be RELATED.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"
#include "hlp.h"
#include "hlp_exp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Helpers (enum ct_exp_helper numbering; their class in the table is helper - 1). */
#define HLP_HELPERS 2

/** Helper rules at most. */
#define HLP_MAX_RULES 64

/**
 * A rule: a new connection whose first packet goes to `port` (its
 * original destination port) over the helper's protocol (ftp: TCP, tftp:
 * UDP) gets helper `helper`, where the zone and family also match.
 */
struct hlp_rule {
	uint8_t helper;          /**< CT_EXP_HELPER_FTP or CT_EXP_HELPER_TFTP */
	uint8_t family;          /**< 4, 6, or 0 for both */
	uint16_t port;           /**< 1..65535 */
	uint16_t zone;           /**< when any_zone is 0 */
	uint8_t any_zone;        /**< 1: every zone */
	uint8_t pad;
};

/** The helper configuration of a shard. */
struct hlp_conf {
	uint32_t max_expectations;                 /**< table size, live and dying (1..1,048,576) */
	struct hlp_exp_class cls[HLP_HELPERS];     /**< [helper - 1]: max_expected, timeout_s */
	uint64_t grace_ns;                         /**< a refused EXP DESTROY is resent after */
	unsigned n_rules;                          /**< 1..HLP_MAX_RULES */
	struct hlp_rule rules[HLP_MAX_RULES];
};

/** Counters of one shard's helpers. */
struct hlp_track_stats {
	struct hlp_exp_stats exp;  /**< the expectation table's */
	uint64_t helped;           /**< connections given a helper by a rule */
	uint64_t related;          /**< connections created from an expectation */
	uint64_t cmds;             /**< commands that announced a connection */
	uint64_t dropped;          /**< packets dropped for a cut-short or malformed command */
	uint64_t refused;          /**< announced connections not expected (table full, clash) */
	uint64_t not_sent;         /**< expectation records that found no staging room */
	uint64_t resent;           /**< expectation DESTROYs staged again */
};

struct hlp_track;

/**
 * The helpers of shard `s`, with `c` (copied). Installs the shard's hook
 * (ct_shard_set_helper()): the shard must be empty.
 * @return the helpers, or NULL with `err` set (bad configuration, no
 *         memory, a shard with entries).
 */
struct hlp_track *hlp_track_create(const struct hlp_conf *c, struct ct_shard *s, char *err,
				   size_t errlen);

/** Uninstall the hook and free (NULL: nothing). */
void hlp_track_free(struct hlp_track *h);

/**
 * Whether expectation records are staged (someone listens to expectation
 * events). Default: false, and every ended expectation is freed at once.
 */
void hlp_track_set_events(struct hlp_track *h, bool on);

/**
 * Whether entry (slot, id) has a helper: the caller then passes its
 * packets' payload to hlp_track_payload().
 */
static inline bool hlp_track_helped(const struct hlp_track *h, uint32_t slot, uint32_t id);

/**
 * Whether entry (slot, id) was created from an expectation (RELATED).
 */
static inline bool hlp_track_expected(const struct hlp_track *h, uint32_t slot, uint32_t id);

/**
 * Whether packet `p` may carry a command a helper reads: a TCP or UDP
 * payload to or from a port some rule names. The caller tracks the
 * packets after it only once its helper has read it.
 */
bool hlp_track_may_carry(const struct hlp_track *h, const struct ct_pkt *p);

/**
 * One packet of helped entry (slot, id) that its tracker accepted: `p` its
 * parse, `dir` its direction, `seen_reply` whether the connection had a
 * reply before it, `data`/`len` its L4 payload.
 * @return HLP_DROP when the packet must be dropped (a cut-short or
 *         malformed command, as Linux), else HLP_PASS or HLP_EXPECT.
 */
enum hlp_verdict hlp_track_payload(struct hlp_track *h, uint32_t slot, uint32_t id,
				   const struct ct_pkt *p, enum ct_dir dir, bool seen_reply,
				   const uint8_t *data, uint32_t len, uint64_t now);

/**
 * End expectations whose timeout ran out and resend refused DESTROYs that
 * are due, up to `budget` of each. Call it as often as ct_shard_expire().
 * @return how many expectations it ended.
 */
unsigned hlp_track_expire(struct hlp_track *h, uint64_t now, unsigned budget);

void hlp_track_stats(const struct hlp_track *h, struct hlp_track_stats *out);

/** The expectation table (for dumps). */
struct hlp_exp_table *hlp_track_table(struct hlp_track *h);

/* ------------------------------------------------------------------------ */

/** Per entry slot (private: read by the inline tests above). */
struct hlp_slot {
	struct hlp_ftp_state ftp;  /**< FTP parsing state */
	struct hlp_master m;       /**< its live expectations */
	uint32_t id;               /**< the entry this slot's state is for (0: none) */
	uint32_t master_id;        /**< RELATED: the master's id */
	uint8_t helper;            /**< CT_EXP_HELPER_*, 0: none */
	uint8_t expected;          /**< created from an expectation */
	uint8_t pad[2];
};

/** The first members of struct hlp_track (private). */
struct hlp_track_head {
	struct hlp_slot *slots;
	uint32_t n_slots;
};

static inline bool
hlp_track_helped(const struct hlp_track *h, uint32_t slot, uint32_t id)
{
	const struct hlp_track_head *t = (const struct hlp_track_head *)h;

	return slot < t->n_slots && t->slots[slot].id == id && t->slots[slot].helper != 0;
}

static inline bool
hlp_track_expected(const struct hlp_track *h, uint32_t slot, uint32_t id)
{
	const struct hlp_track_head *t = (const struct hlp_track_head *)h;

	return slot < t->n_slots && t->slots[slot].id == id && t->slots[slot].expected != 0;
}

#ifdef __cplusplus
}
#endif

#endif /* DPCT_HLP_TRACK_H */
