/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_POL_H
#define DPCT_POL_H

/**
 * @file
 * lib/policy: the stateful rule set of dpct, compiled with
 * DPDK's librte_acl and swapped in with a quiescent-state handover
 * (librte_rcu).
 *
 * Model. A rule set is an ordered list of rules and a default action. A
 * packet takes the action of the first rule that matches it (nftables'
 * order), or the default. A rule matches on connection state (a set of
 * enum ct_state), input port, zone, IP version, protocol, source and
 * destination prefixes, source and destination port ranges (lists of
 * ranges) and ICMP type. Actions: accept, drop, notrack.
 *
 * Verdicts belong to connections. The first packet of a connection is
 * classified; its verdict is stored in the conntrack entry with the rule
 * generation (ct_shard_decide()); every later packet of that connection
 * only compares the generation. After a reload, an entry whose decision
 * is from an older generation is classified again on its next packet,
 * with that packet's state (usually established). ICMP errors RELATED to a
 * connection take the connection's verdict; if that is from an older
 * generation the error itself is classified (state related). A connection
 * created from a helper's expectation is classified (state related) and
 * its verdict stored like any other connection's.
 *
 * Notrack rules run before tracking (nftables' raw table): they may not
 * match on state; a packet they match bypasses the table (CT_PKT_NOTRACK)
 * and is accepted.
 *
 * Threads. pol_ruleset_* and pol_rule_* need no EAL and no locks.
 * pol_handle_* need a running EAL (rte_acl and rte_rcu allocate from EAL
 * memory). Exactly one generation is current; workers read it with
 * pol_current() between two pol_quiescent() reports and never across one.
 * pol_install() (control thread or telemetry thread; serialised inside)
 * builds the new generation, publishes it, waits until every online
 * worker has reported quiescence, then frees the old one. The packet path
 * (pol_apply_burst()) takes no lock, uses no atomic read-modify-write and
 * allocates nothing; per-rule counters are per worker, summed on read.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Rule actions. */
enum pol_action {
	POL_ACCEPT = 0,
	POL_DROP = 1,
	POL_NOTRACK = 2,
	POL_ACTION_MAX,
};

#define POL_MAX_RULES 16384       /**< rules in a set (rule index fits 14 bits) */
#define POL_MAX_PORT_RANGES 16    /**< ranges in one sport/dport list */
#define POL_MAX_EXPANDED 262144   /**< ACL rules after expanding state and port lists */
#define POL_RULE_DEFAULT 0xffff   /**< rule index of the default action */
#define POL_NAME_LEN 32

struct pol_range {
	uint16_t lo;
	uint16_t hi;
};

/** One rule. A zero rule (pol_rule_init) matches everything and accepts. */
struct pol_rule {
	uint8_t states;           /**< bit (1 << enum ct_state) per state; 0 = any */
	uint8_t family;           /**< 0 any, 4, 6 */
	int16_t proto;            /**< IPPROTO_*, -1 any */
	int16_t icmp_type;        /**< -1 any; needs proto icmp (1) or icmpv6 (58) */
	int32_t in_port;          /**< port index (0..), -1 any */
	int32_t zone;             /**< -1 any */
	uint8_t src[16];          /**< IPv4 in the first 4 bytes */
	uint8_t dst[16];
	uint8_t src_len;          /**< prefix length; 0 = any */
	uint8_t dst_len;
	uint8_t n_sport;          /**< 0 = any */
	uint8_t n_dport;
	struct pol_range sport[POL_MAX_PORT_RANGES];
	struct pol_range dport[POL_MAX_PORT_RANGES];
	uint8_t action;           /**< enum pol_action */
	char name[POL_NAME_LEN];  /**< optional label for counters ("" = none) */
};

/** An ordered rule set with its default. */
struct pol_ruleset {
	uint8_t default_action;   /**< POL_ACCEPT or POL_DROP */
	uint32_t n_rules;
	struct pol_rule *rules;   /**< malloc'd, owned */
};

/** A packet as the rules see it. */
struct pol_pkt {
	const struct ct_pkt *pkt; /**< parsed packet (tuple: for ICMP errors the quoted flow) */
	uint8_t state;            /**< enum ct_state */
	uint16_t in_port;         /**< input port index */
};

/** Names: "accept", "new", ... NULL for out-of-range values. */
const char *pol_action_name(unsigned a);
const char *pol_state_name(unsigned st);
/** Parse a name; -EINVAL if unknown. */
int pol_action_parse(const char *s);
int pol_state_parse(const char *s);

/** A rule that matches everything and accepts. */
void pol_rule_init(struct pol_rule *r);

/**
 * Check a rule's consistency (family vs prefixes, ICMP type vs protocol,
 * ports vs protocol, ranges, notrack without state).
 * @return 0, or -EINVAL with a message (without a JSON path) in `err`.
 */
int pol_rule_check(const struct pol_rule *r, char *err, size_t errlen);

/** Whether rule `r` matches `p` (the reference semantics; slow, for tests). */
bool pol_rule_match(const struct pol_rule *r, const struct pol_pkt *p);

/** The reference first-match: rule index or POL_RULE_DEFAULT. */
unsigned pol_ruleset_match(const struct pol_ruleset *rs, const struct pol_pkt *p);

/** Number of ACL rules `r` expands to (state set x sport list x dport list). */
uint32_t pol_rule_expansion(const struct pol_rule *r);

/** Initialise an empty set (default accept). */
void pol_ruleset_init(struct pol_ruleset *rs);
/** Free the rules; the set is empty afterwards. */
void pol_ruleset_clear(struct pol_ruleset *rs);
/** Deep copy. 0 or -ENOMEM. */
int pol_ruleset_copy(struct pol_ruleset *dst, const struct pol_ruleset *src);
/** Whether the set has notrack rules. */
bool pol_ruleset_has_notrack(const struct pol_ruleset *rs);

/* ------------------------------------------------------------------------ */
/* Generations and the handover (EAL needed)                                 */

struct pol_handle;
struct pol_gen;

/** Counters of one rule (or the default), summed over workers. */
struct pol_rule_stats {
	uint64_t pkts;            /**< packets judged by this rule */
	uint64_t conns;           /**< connections whose verdict this rule decided */
};

/** Totals over every generation, current and retired. */
struct pol_totals {
	uint64_t accepted;        /**< packets accepted by policy (rules + default) */
	uint64_t dropped;         /**< packets dropped by policy */
	uint64_t notracked;       /**< packets a notrack rule took out of tracking */
	uint64_t classified;      /**< packets that went through rte_acl_classify */
	uint64_t reloads;         /**< generations installed after the first */
	uint64_t reload_failed;   /**< pol_install() refusals */
};

/**
 * Create the handle for `n_workers` workers (ids 0..n-1) and install `rs`
 * as generation 1.
 * @return the handle, or NULL with `err` filled.
 */
struct pol_handle *pol_handle_create(const struct pol_ruleset *rs, unsigned n_workers,
				     char *err, size_t errlen);

/** Free the handle and its current generation. Workers must be offline. */
void pol_handle_free(struct pol_handle *h);

/**
 * Compile `rs` and make it current: build on the calling thread, publish,
 * wait (at most `wait_ms`) for every online worker's quiescent state, free
 * the old generation (or, if the wait timed out, keep it for the next
 * call). On any error nothing changes.
 * @return the new generation number (>= 1), or -EINVAL (rs invalid),
 *         -ENOMEM, -ENOSPC (too many expanded rules), -EIO (rte_acl build).
 * Thread safety: serialised with other pol_install() calls.
 */
int pol_install(struct pol_handle *h, const struct pol_ruleset *rs, unsigned wait_ms,
		char *err, size_t errlen);

/** Count a reload refused before pol_install() (e.g. the file did not parse). */
void pol_note_refused(struct pol_handle *h);

/** Worker `wid` starts / stops taking part (rte_rcu_qsbr online/offline). */
void pol_worker_online(struct pol_handle *h, unsigned wid);
void pol_worker_offline(struct pol_handle *h, unsigned wid);
/** Worker `wid` holds no generation pointer now (once per poll loop). */
void pol_quiescent(struct pol_handle *h, unsigned wid);

/** The current generation (valid until the caller's next pol_quiescent()). */
const struct pol_gen *pol_current(struct pol_handle *h);

/** Generation number of `g`. */
uint32_t pol_gen_number(const struct pol_gen *g);

/**
 * Judge a burst tracked by ct_process_burst_info(): packets whose entry
 * holds a decision of generation `g` take it (no classification); the
 * others are classified together with one rte_acl_classify() call and
 * their entries get the new decision (ct_shard_decide()). Only packets
 * with verdict CT_V_PASS are judged; non-IP frames are left alone. A drop
 * turns verdict[i] into CT_V_DROP. Counts per rule for worker `wid`.
 * Thread safety: worker `wid` only, between its quiescent reports.
 */
void pol_apply_burst(const struct pol_gen *g, unsigned wid, struct ct_shard *s,
		     const struct ct_pkt *pkts, const uint16_t *in_port, uint16_t n,
		     uint8_t *verdict, const struct ct_pkt_info *info);

/**
 * Notrack stage: classify the burst's IP packets against the notrack
 * rules (only if there are any) and mark the matches CT_PKT_NOTRACK, before
 * ct_process_burst_info(). Counts per rule for worker `wid`.
 * An ICMP error is classified by its own header (ct_pkt_outer_tuple(): the
 * addresses it was sent with, protocol ICMP/ICMPv6 and its type), as
 * nftables' raw table sees it, which needs `frames` (each packet's first
 * segment as parsed); with `frames` NULL, ICMP errors are left alone.
 * @return number of packets marked.
 */
unsigned pol_notrack_burst(const struct pol_gen *g, unsigned wid, struct ct_pkt *pkts,
			   const uint8_t *const *frames, const uint16_t *in_port, uint16_t n);

/** Whether `g` has notrack rules (so pol_notrack_burst() is worth calling). */
bool pol_gen_has_notrack(const struct pol_gen *g);

/**
 * Classify one packet with `g`'s compiled contexts (tests, tools): the
 * filter rule index or POL_RULE_DEFAULT; with `notrack`, the notrack rule
 * index or POL_RULE_DEFAULT for no match. Counts nothing.
 */
unsigned pol_classify_one(const struct pol_gen *g, const struct pol_pkt *p, bool notrack);

/** Whether `g` accepts everything (no rules, default accept): callers may skip it. */
bool pol_gen_trivial(const struct pol_gen *g);

/**
 * Snapshot the current generation for reporting: its number, rules
 * (copied into `rs`, caller clears it) and counters (`stats` gets
 * n_rules + 1 entries, the default last; malloc'd, caller frees), and the
 * totals over all generations.
 * @return 0 or -ENOMEM. Thread safety: any thread.
 */
int pol_report(struct pol_handle *h, uint32_t *gen, struct pol_ruleset *rs,
	       struct pol_rule_stats **stats, struct pol_totals *totals);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_POL_H */
