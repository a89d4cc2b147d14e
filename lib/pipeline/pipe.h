/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_PIPE_H
#define DPCT_PIPE_H

/**
 * @file
 * lib/pipeline: a worker's per-packet path, one implementation for the
 * appliance's workers and for dpct-bench, so the benchmark measures
 * exactly the code the appliance runs.
 *
 * Two stages, split where packets may change workers:
 *  - pipe_parse_burst(), where a packet is received: its conntrack zone
 *    (port and outer VLAN: the zone is part of the key, so it comes before
 *    the hash) and its parse. That is all choosing the owning worker needs,
 *    and the result travels with the mbuf to the owner: a packet is parsed
 *    once however often it is handed over or parked.
 *  - pipe_track_burst(), on the owner: the policy's notrack rules, the
 *    configuration's notrack rules, checksum verification (the port's RX
 *    offload result where it gave one, software otherwise; a packet taken
 *    out of tracking is not summed, as Linux's raw-table NOTRACK runs before
 *    conntrack's checksum check), tracking (ct_process_burst()), and the
 *    policy's verdicts (pol_apply_burst()), then the rewrite of every
 *    packet of a translated flow that passed (nat_rewrite(): a packet it
 *    cannot rewrite is dropped and counted in pipe_nat.rewrite_failed).
 *    The policy judges packets as they arrived, before translation.
 *    With helpers (pipe_conf.hlp), between tracking and the policy: a
 *    packet of a connection created from an expectation is RELATED until
 *    the connection is established, and the payload of a helped connection
 *    goes to its helper, which may drop it (a cut-short or malformed
 *    command, as Linux's FTP helper).
 *
 * Neither allocates, locks or uses atomics beyond what the libraries they
 * call document (the event kinds' acquire load, the policy generation).
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"
#include "nat.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;
struct pol_handle;
struct pol_gen;
struct ev_chan;
struct hlp_track;

/** The conntrack zone of a packet received on `port` with outer VLAN
 * `vlan` (CT_VLAN_NONE when untagged). */
typedef uint16_t (*pipe_zone_fn)(const void *arg, uint16_t port, uint16_t vlan);

/**
 * A worker's translation state (docs/nat.md): the table it binds with,
 * swapped by its owner between bursts (a reload), and the port preference
 * for replies the NIC's RSS steers to this worker.
 */
struct pipe_nat {
	const struct nat_table *table; /**< NULL or empty: nothing is translated */
	unsigned worker;               /**< this worker's slice of every pool */
	nat_rss_pref_fn pref;          /**< NULL: no preference */
	void *pref_arg;
	uint64_t rewrite_failed;       /**< packets nat_rewrite() refused (dropped) */
};

/**
 * The ct_shard_set_nat() hook that binds and releases through `n`'s
 * current table: install it on the worker's shard (created with conf.nat).
 */
void pipe_nat_hook(struct pipe_nat *n, struct ct_nat_hook *out);

/** A worker's pipeline; set up once, read only on the packet path. */
struct pipe_conf {
	struct ct_shard *shard;      /**< the worker's shard (pipe_track_burst()) */
	struct pol_handle *pol;      /**< the policy, NULL for none */
	unsigned worker;             /**< this worker's index in the policy */
	struct ev_chan *chan;        /**< the worker's events channel, NULL for none */
	bool csum_verify;            /**< verify checksums before tracking */
	uint16_t zone;               /**< every packet's zone when zone_of is NULL */
	pipe_zone_fn zone_of;        /**< per-port/VLAN zones, NULL for none */
	const void *zone_arg;
	const uint8_t *port_index;   /**< port id -> the policy's input port index
				       *   (RTE_MAX_ETHPORTS entries); NULL: the port id */
	struct pipe_nat *nat;        /**< translation, NULL for none (the shard needs conf.nat) */
	struct hlp_track *hlp;       /**< the shard's helpers (hlp_track.h), NULL for none */
};

/** Optional accounting of pipe_track_burst(), for benchmarks. */
struct pipe_stats {
	uint64_t pol_cycles;         /**< TSC cycles in pol_apply_burst() */
	uint64_t pol_pkts;           /**< packets it judged */
};

/** Packets per call, at most. */
#define PIPE_MAX_BURST 512

/**
 * Stage one: zone and parse of `n` mbufs into `out[i]`.
 * Thread safety: any thread; reads `c` only.
 */
void pipe_parse_burst(const struct pipe_conf *c, struct rte_mbuf *const *m, uint16_t n,
		      struct ct_pkt *out);

/**
 * Stage two, on the shard's owner: judge and track `n` packets parsed by
 * pipe_parse_burst(); verdict[i] is CT_V_PASS or CT_V_DROP. `now` is the
 * time of every packet, unless `pkt_now` gives one per packet (replay: each
 * packet at its own capture time, so the outcome does not depend on how
 * packets were grouped into bursts). `st` may be NULL.
 * Before the first packet it reads the record kinds the channel's
 * listeners want (ev_worker_kinds()), so a subscription made before the
 * packets reached this worker is served.
 * The policy generation used is held until the caller's next
 * pol_quiescent() report.
 * Thread safety: the shard's owner only; n <= PIPE_MAX_BURST.
 */
void pipe_track_burst(const struct pipe_conf *c, struct rte_mbuf *const *m, struct ct_pkt *pk,
		      uint16_t n, uint64_t now, const uint64_t *pkt_now, uint8_t *verdict,
		      struct pipe_stats *st);

/**
 * The helper step of pipe_track_burst() (pipe_conf.hlp set): for packets
 * that passed tracking, the RELATED state (info[i].state) and the payload
 * of helped connections; a packet its helper refuses gets CT_V_DROP.
 * Thread safety: the shard's owner only.
 */
void pipe_helper_burst(const struct pipe_conf *c, struct rte_mbuf *const *m,
		       const struct ct_pkt *pk, uint16_t n, uint64_t now, const uint64_t *pkt_now,
		       uint8_t *verdict, struct ct_pkt_info *info);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_PIPE_H */
