/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_TPOL_H
#define DPCT_CT_TPOL_H

/**
 * @file
 * Timeout policies: named sets of per-state timeouts, as nftables'
 * `ct timeout` objects and OVS's CT_Timeout_Policy, chosen for a new
 * connection by an ordered list of rules (zone, protocol, destination
 * port). Included by ct.h, which defines what this file uses
 * (CT_TIMEOUT_TABLE, struct ct_tuple): include ct.h, not this file.
 *
 * A policy's states are the timeout classes of CT_TIMEOUT_TABLE: a class
 * named "P_S" is state S of protocol P ("tcp_established" is tcp's
 * "established"), a class without '_' is the only state of its protocol,
 * named "timeout" ("icmp", "generic"). A tracker that adds classes to that
 * table adds its protocol and states here with no other change.
 *
 * A state a policy leaves out (value 0) takes the shard's global timeout
 * (ct_conf.timeout_s). The policy is chosen once, when the entry is
 * created (or imported), by the first rule that matches its original
 * tuple; the entry keeps it for life: every later timeout of the entry,
 * including the tracker's choice between a state's timeout and the
 * retransmission / unacknowledged-data caps, reads that policy's values.
 *
 * The entry keeps its policy in the byte that held its timeout class:
 * that byte is a *timeout slot*, a (policy, class) pair. Slots 0 ..
 * CT_TO_MAX - 1 are the classes under the global timeouts; each policy
 * adds one slot per class of each protocol it names (CT_TSLOT_MAX in all).
 * An entry of a protocol its policy does not name uses the global slots.
 *
 * Thread safety: everything here is a pure function of its arguments.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Named policies a configuration may hold. */
#define CT_TPOL_MAX 15
/** Rules choosing them. */
#define CT_TPOL_MAX_RULES 64
/** A policy's name, NUL included. */
#define CT_TPOL_NAME_MAX 32
/** Timeout slots: the global classes plus the policies' (see above). */
#define CT_TSLOT_MAX 256
/** The name of the one state of a protocol with a single timeout class. */
#define CT_TPOL_STATE_ONLY "timeout"

/** One named policy. */
struct ct_tpol {
	char name[CT_TPOL_NAME_MAX];
	uint32_t timeout_s[CT_TO_MAX];  /**< seconds per class; 0 = the global timeout */
};

/** Which fields of a rule must match (all that are set). */
#define CT_TPOL_M_ZONE  0x1u
#define CT_TPOL_M_PROTO 0x2u
#define CT_TPOL_M_PORT  0x4u

/** A rule: a new connection whose original tuple matches gets `policy`. */
struct ct_tpol_rule {
	uint16_t zone;    /**< ct_tuple.zone (CT_TPOL_M_ZONE) */
	uint16_t port;    /**< original destination port (CT_TPOL_M_PORT; a proto with ports) */
	uint8_t proto;    /**< IPPROTO_* (CT_TPOL_M_PROTO) */
	uint8_t match;    /**< CT_TPOL_M_*; 0 matches every connection */
	uint8_t policy;   /**< 1..n_policies: pol[policy - 1] */
	uint8_t pad;
};

/** The policies and rules of a shard (ct_conf.tpol). All zero: none. */
struct ct_tpol_conf {
	uint8_t n_policies;
	uint8_t n_rules;
	struct ct_tpol pol[CT_TPOL_MAX];
	struct ct_tpol_rule rule[CT_TPOL_MAX_RULES];  /**< first match wins */
};

struct ct_conf;

/**
 * The timeout class of state `state` of protocol `proto` (names as in the
 * file comment: "tcp", "established"; "icmp", "timeout").
 * @return the class (0..CT_TO_MAX - 1), -ENOENT when no class belongs to
 *         `proto`, -ESRCH when `proto` has no state `state`.
 */
int ct_tpol_class_find(const char *proto, const char *state);

/**
 * The protocol part of class `cls`'s name into `buf` ("tcp"), and its state
 * part into *state ("established", or CT_TPOL_STATE_ONLY).
 * @return 0, -EINVAL (cls out of range), -ENOSPC (buf too small).
 */
int ct_tpol_class_split(unsigned cls, char *buf, size_t len, const char **state);

/**
 * Timeout slots `tc` needs: CT_TO_MAX plus, per policy, the classes of each
 * protocol it gives a value for.
 */
unsigned ct_tpol_slots(const struct ct_tpol_conf *tc);

/**
 * Check `tc`: counts within CT_TPOL_MAX and CT_TPOL_MAX_RULES, names
 * non-empty, NUL-terminated and distinct, values at most `max_s` seconds
 * (0 = the global one), rules naming an existing policy, a port only with
 * a protocol that has ports, slots within CT_TSLOT_MAX.
 * @return 0 or -EINVAL with a message in `err` (may be NULL).
 */
int ct_tpol_check(const struct ct_tpol_conf *tc, uint32_t max_s, char *err, size_t errlen);

/**
 * The policy of a new connection whose original tuple is `t`: the first
 * matching rule's (1..n_policies), or 0 (the global timeouts).
 */
unsigned ct_tpol_select(const struct ct_tpol_conf *tc, const struct ct_tuple *t);

/**
 * Seconds of class `cls` under policy `pol` of c->tpol (0: the global
 * timeouts): the policy's value, or c->timeout_s[cls] where it has none.
 * @return the seconds, or 0 when `cls` or `pol` is out of range.
 */
uint32_t ct_tpol_timeout_s(const struct ct_conf *c, unsigned pol, unsigned cls);

/** Index (1..n) of the policy named `name`, or 0. */
unsigned ct_tpol_find(const struct ct_tpol_conf *tc, const char *name);

#endif /* DPCT_CT_TPOL_H */
