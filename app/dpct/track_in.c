/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the worker does to a received packet before the shard sees it
 * (issue 9), in two steps:
 *
 * - dpct_track_parse_burst(), where the packet is received: pick its
 *   conntrack zone from the port and outer VLAN (the zone is part of the
 *   key, so it must be known before the hash) and parse it (a burst at a
 *   time when there are no zone rules: ct_parse_mbuf_burst()). That is all
 *   the choice of the owning worker needs.
 * - dpct_track_verify(), on the owner, just before tracking and after the
 *   policy's notrack stage: the configuration's notrack rules, then, unless
 *   "checksum" is "off", the checksums of the packets still to be tracked.
 *   Results the port reported in the RX offload flags are used, UNKNOWN is
 *   verified in software. A packet a notrack rule took out of tracking is
 *   not summed: Linux's raw-table NOTRACK runs before conntrack's checksum
 *   check, so such a packet passes untracked whatever its checksum.
 *
 * Each packet is summed once, on its owner, however often it is parsed
 * (handed over, or parked and dispatched again).
 */

#include <rte_mbuf.h>

#include "dpct.h"

void
dpct_track_parse_burst(struct rte_mbuf *const *m, uint16_t n, struct ct_pkt *out)
{
	const struct dpct_tracker_config *t = &dpct.cfg.tracker;
	uint16_t i;

	if (t->n_zone_rules == 0) {
		ct_parse_mbuf_burst(m, n, dpct.cfg.zone, out);
		return;
	}
	for (i = 0; i < n; i++) {
		uint16_t vlan;

		if (m[i]->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED)
			vlan = m[i]->vlan_tci & 0x0fff;
		else
			vlan = ct_frame_vlan(rte_pktmbuf_mtod(m[i], const uint8_t *),
					     rte_pktmbuf_data_len(m[i]));
		ct_parse_mbuf(m[i], dpct_zone_lookup(t, dpct.cfg.zone, m[i]->port, vlan), &out[i]);
	}
}

void
dpct_track_frames(struct rte_mbuf *const *m, uint16_t n, const uint8_t **frames)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		frames[i] = rte_pktmbuf_mtod(m[i], const uint8_t *);
}

void
dpct_track_verify(struct ct_shard *s, struct rte_mbuf *const *m, struct ct_pkt *pk, uint16_t n)
{
	uint16_t i;

	if (ct_shard_conf(s)->n_notrack != 0) {
		const uint8_t *frames[DPCT_MAX_BURST];

		dpct_track_frames(m, n, frames);
		ct_shard_notrack_burst(s, pk, frames, n);
	}
	if (dpct.cfg.tracker.checksum != DPCT_CSUM_VERIFY)
		return;
	for (i = 0; i < n; i++)
		if (pk[i].cls == CT_PKT_TRACK || pk[i].cls == CT_PKT_ICMP_ERROR)
			ct_pkt_csum_mbuf(m[i], &pk[i]);
}
