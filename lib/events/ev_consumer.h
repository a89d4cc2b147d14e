/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_CONSUMER_H
#define DPCT_EV_CONSUMER_H

/**
 * @file
 * Record consumers of the control core (docs/architecture.md, "Record consumers").
 *
 * Socket listeners get ctnetlink datagrams; other consumers of the same
 * event records (the IPFIX exporter) sit beside them behind this interface
 * and get the records themselves. A consumer never reaches into a shard.
 *
 * Contract, for every control step (ev_ctl_step()):
 *  - deliver() is called with the records drained from the channels that
 *    are addressed to this consumer (a resent DESTROY is addressed only to
 *    the consumers that refused it before), in channel order;
 *  - it writes one outcome per record into `refused`: 0 delivered (or
 *    deliberately not wanted), 1 refused (no room now). For a consumer
 *    registered as reliable a refusal is a nack, exactly like a full
 *    listener socket: the bits come back as missed, a DESTROY is re-armed
 *    and resent later;
 *  - poll() runs once per step, delivered records or not, for timers
 *    (template refresh, reconnect with backoff) and flushing;
 *  - deliver() and poll() never block.
 * Thread safety: the control core only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ev_consumer_ops {
	const char *kind;   /**< "ipfix", ... for stats and /dpct/listeners */
	/**
	 * EV_MASK_* of the records it reads; 0 = every record. DESTROY and
	 * interim flow records (no event bits) reach it whatever this says;
	 * with neither NEW nor UPDATE here, the workers build no state-change
	 * record for it (ct_shard_set_event_kinds()), only the DESTROYs.
	 */
	uint32_t mask;
	/**
	 * Take `n` records. Fill refused[i] (0 or 1) for each.
	 * @return 0, or -errno when the consumer failed as a whole (then every
	 *         record counts as refused).
	 */
	int (*deliver)(void *self, const struct ct_event_rec *recs, unsigned n, uint64_t now,
		       uint8_t *refused);
	/** Timers and flushing; `now` in ns on the control core's clock. */
	void (*poll)(void *self, uint64_t now);
	/** True while the consumer can currently accept nothing (e.g. TCP down).
	 * Informational (stats, /dpct/listeners): deliver() is still called and
	 * must itself refuse what it cannot take, so that it counts refusals. */
	bool (*blocked)(const void *self);
	/**
	 * Optional: called once per chunk after every listener and consumer had
	 * it, with the whole chunk (in channel order, whatever `mask` and the
	 * records' targets say) and, per record, the reliable slots that
	 * refused it (0: every reliable listener took it; a DESTROY's slot is
	 * then freed). A DESTROY refused by some waits on the dying list and
	 * comes back with CT_REC_F_RESEND and `targets` set to them. For a
	 * consumer that must know when an end was delivered (state sync).
	 * Expectation records (CT_REC_F_EXP) are left out of `recs`, as of
	 * deliver(): no consumer ever sees one.
	 */
	void (*chunk_done)(void *self, const struct ct_event_rec *recs, unsigned n,
			   const uint32_t *fail_mask);
	/**
	 * Optional: called once per chunk before any listener or consumer has
	 * it, with the chunk's connection records (as chunk_done() gets them).
	 * For a consumer whose copy must never lag behind what the listeners
	 * heard: state sync sends a connection's NEW and updates here, so that
	 * no listener knows of a connection the peer was not sent (the peer
	 * then reports its end should this box die).
	 */
	void (*chunk_begin)(void *self, const struct ct_event_rec *recs, unsigned n);
};

struct ev_ctl;

/**
 * Attach a consumer to the control core. A reliable consumer's refusals
 * are nacks (its slot takes part in the per-listener resend mask like a
 * reliable socket listener's); an unreliable one's are counted as lost.
 * The consumer stays attached until ev_ctl_free(); `self` is not freed.
 * @return 0; -EINVAL ops or deliver NULL; -EUSERS no free listener slot.
 */
int ev_ctl_add_consumer(struct ev_ctl *ctl, const struct ev_consumer_ops *ops, void *self,
			bool reliable);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_EV_CONSUMER_H */
