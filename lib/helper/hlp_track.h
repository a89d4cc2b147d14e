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
 * listener refused is staged again on the master's next packet, or before
 * its DESTROY; a refused DESTROY at a random point of a window of
 * `grace_ns` that doubles with each refusal (as a connection's). With
 * expectation events off (hlp_track_set_events(), the app's workers follow
 * whether a listener subscribes to expectation events) nothing is staged
 * and an ended expectation is freed at once.
 *
 * Cost: nothing at all on a shard without helpers (no hook is installed).
 * With helpers, a packet that would create an entry costs one probe of the
 * expectation table; a packet of an established connection without a
 * helper costs one compare in hlp_track_payload()'s caller.
 *
 * Workers: every worker holds every expectation. With peers
 * (hlp_track_set_peers()), the master's worker sends a copy of each
 * expectation it adds to every other worker (HLP_MSG_ADD) and its end
 * (HLP_MSG_DEL); a worker whose new connection matches a copy creates it
 * RELATED, drops the copy and tells the master's worker
 * (HLP_MSG_CONFIRMED), which ends the expectation as confirmed. Copies
 * make no events; only the master's worker stages them. The caller
 * carries the messages (single-producer single-consumer rings) and hands
 * each arriving one to hlp_track_receive(). Two connections matching one
 * expectation on two workers within a message's latency are both RELATED
 * (Linux takes only the first).
 *
 * Thread safety: one struct hlp_track per shard, used by its owner only.
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

/** Messages between the workers' helpers. */
enum hlp_msg_type {
	HLP_MSG_ADD = 1,          /**< the sender added an expectation: keep a copy */
	HLP_MSG_DEL,              /**< the sender's expectation ended: drop the copy */
	HLP_MSG_CONFIRMED,        /**< a copy of the receiver's expectation was matched */
};

/** One message (64 bytes). */
struct hlp_msg {
	struct ct_tuple tuple;    /**< the expected tuple */
	uint32_t idx;             /**< the expectation's index in its master worker's table */
	uint32_t id;              /**< its id there */
	uint32_t master_id;       /**< its master's CTA_ID */
	uint32_t pad;
	uint16_t origin;          /**< the master's worker */
	uint8_t type;             /**< enum hlp_msg_type */
	uint8_t cls;              /**< helper class */
	uint8_t pad2[4];
};
_Static_assert(sizeof(struct hlp_msg) == 64, "a message is one cache line");

/** Where hlp_track sends: to worker `to`, or to every other worker when `to` is
 * HLP_TO_ALL. Returns how many it could not send (counted in `msg_lost`). */
#define HLP_TO_ALL 0xffffu
typedef unsigned (*hlp_send_fn)(void *arg, unsigned to, const struct hlp_msg *m);

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
	uint64_t copies;           /**< copies of other workers' expectations kept */
	uint64_t related_copy;     /**< connections created RELATED from a copy */
	uint64_t msg_lost;         /**< messages to other workers that found no room */
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
 * Workers: this is worker `self`; `send` carries messages to the others.
 * Allocates the table of copies (as large as the own table).
 * @return 0, -ENOMEM.
 */
int hlp_track_set_peers(struct hlp_track *h, unsigned self, hlp_send_fn send, void *arg);

/** A message from another worker (hlp_track_set_peers()). */
void hlp_track_receive(struct hlp_track *h, const struct hlp_msg *m, uint64_t now);

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

/**
 * A page of this worker's live expectations for a dump (`conntrack -L
 * expect`): from slot `*cursor` (0 to begin), each as a CT_REC_F_EXP record
 * (events 0, as ct_event.h describes it) passed to `fn`, until `max` were
 * passed or `fn` returns non-zero. Copies of other workers' expectations
 * are not listed (their master's worker lists them). `*cursor` moves on;
 * UINT32_MAX when the table is done.
 * @return the records passed.
 */
unsigned hlp_track_dump(struct hlp_track *h, uint32_t *cursor, unsigned max, uint64_t now,
			int (*fn)(const struct ct_event_rec *r, void *arg), void *arg);

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
