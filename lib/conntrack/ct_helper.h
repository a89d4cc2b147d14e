/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_HELPER_H
#define DPCT_CT_HELPER_H

/**
 * @file
 * The shard's side of connection helpers (lib/helper): a hook the shard
 * calls where an entry begins and ends and where a result or a staged
 * record about an expectation comes back, and what a helper may ask of
 * the shard (an entry's tuples, room for an expectation record).
 *
 * lib/conntrack knows nothing of helpers beyond this: with no hook
 * installed a shard behaves, and costs, as it did before helpers existed.
 *
 * Thread safety: every function here is for the shard's owner only; the
 * hook runs on the owner, inside ct_process_burst*(), ct_shard_flush(),
 * ct_shard_delete(), ct_shard_expire(), ct_shard_apply_result() and
 * ct_shard_ev_commit().
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The hook. Every member may be NULL.
 *
 * `created` runs once for each new entry, after its tracker accepted the
 * first packet and before the entry's NEW record is built: `slot` and `id`
 * are the entry's, `p` its first packet. It returns status bits to add to
 * the entry: CT_S_EXPECTED for a connection an expectation announced
 * (Linux's IPS_EXPECTED), else 0; no other bit is taken.
 *
 * `ended` runs when a live entry ends (timeout, TCP close, flush, delete,
 * early drop), before it becomes dying.
 *
 * `exp_result` receives the delivery results of kinds CT_RES_EXP_* that
 * ct_shard_apply_result() is given; its return value is
 * ct_shard_apply_result()'s.
 *
 * `exp_unsent` receives each CT_REC_F_EXP record that
 * ct_shard_ev_commit() finds the ring did not take.
 */
struct ct_helper_hook {
	uint16_t (*created)(void *arg, uint32_t slot, uint32_t id, const struct ct_pkt *p,
			    uint64_t now);
	void (*ended)(void *arg, uint32_t slot, uint32_t id, uint64_t now);
	int (*exp_result)(void *arg, const struct ct_result *r, uint64_t now);
	void (*exp_unsent)(void *arg, const struct ct_event_rec *r, uint64_t now);
	void *arg;
};

/**
 * Install the helper hook before the first packet, or with the shard
 * empty; remove it (NULL `h`) at any time.
 * @return 0; -EBUSY when the shard has live or dying entries.
 */
int ct_shard_set_helper(struct ct_shard *s, const struct ct_helper_hook *h);

/** Pool slots of the shard (max_entries and early-drop headroom): the size of
 * an array indexed by entry slot. */
uint32_t ct_shard_slots(const struct ct_shard *s);

/** The shard's index among the workers (ct_conf.shard_index). */
uint16_t ct_shard_index(const struct ct_shard *s);

/**
 * The original tuple and the reply tuple (as a reply arrives: translated
 * for a translated flow) of live entry (slot, id).
 * @return 0; -ESTALE when the slot holds another entry or a dying one;
 *         -EINVAL bad slot.
 */
int ct_shard_entry_tuples(const struct ct_shard *s, uint32_t slot, uint32_t id,
			  struct ct_tuple *orig, struct ct_tuple *reply);

/**
 * A staging record for an expectation, zeroed but for `flags`
 * (CT_REC_F_EXP), `shard` and `seq`, which the caller fills; it leaves
 * with the shard's other records (ct_shard_ev_peek()).
 * @return the record; NULL when events are off or the staging buffer is
 *         full (counted in `ring_full`): the caller remembers what it did not
 *         stage.
 */
struct ct_event_rec *ct_shard_stage_exp(struct ct_shard *s);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_CT_HELPER_H */
