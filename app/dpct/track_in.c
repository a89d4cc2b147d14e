/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the worker does to a received packet before the shard sees it
 * (issue 9): pick its conntrack zone from the port and outer VLAN (the zone
 * is part of the key, so it must be known before the hash), parse it, and
 * verify its checksums unless "checksum" is "off": results the port reported
 * in the RX offload flags are used, UNKNOWN is verified in software.
 *
 * A packet verified in software is marked GOOD in its offload flags, as
 * Linux marks an skb CHECKSUM_UNNECESSARY once it has checked it: the owner
 * a packet is handed to, and a parked packet's second dispatch, parse it
 * again but do not sum it again. (Only passing packets are marked; one that
 * failed is INVALID and never handed over.)
 */

#include <rte_mbuf.h>

#include "dpct.h"

void
dpct_track_parse(struct rte_mbuf *m, struct ct_pkt *out)
{
	const struct dpct_tracker_config *t = &dpct.cfg.tracker;
	uint16_t zone = dpct.cfg.zone;

	if (t->n_zone_rules != 0) {
		uint16_t vlan;

		if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED)
			vlan = m->vlan_tci & 0x0fff;
		else
			vlan = ct_frame_vlan(rte_pktmbuf_mtod(m, const uint8_t *),
					     rte_pktmbuf_data_len(m));
		zone = dpct_zone_lookup(t, zone, m->port, vlan);
	}
	ct_parse_mbuf(m, zone, out);
	if (t->checksum != DPCT_CSUM_VERIFY ||
	    (out->cls != CT_PKT_TRACK && out->cls != CT_PKT_ICMP_ERROR))
		return;
	if (ct_pkt_csum_mbuf(m, out) == 0) {
		m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	}
}
