/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers on the worker's path (pipe.h): after tracking, the packets of
 * connections created from an expectation are RELATED, and the payload of
 * helped connections goes to their helper.
 */

#include <netinet/in.h>

#include <rte_mbuf.h>

#include "hlp_track.h"
#include "pipe.h"

/* The L4 payload of `p` in the first segment of `m`; NULL when absent or not contiguous. */
static const uint8_t *
payload_of(const struct rte_mbuf *m, const struct ct_pkt *p, uint32_t *len)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t dlen = rte_pktmbuf_data_len(m), off;

	if (p->l4_off == 0 || p->payload_len == 0)
		return NULL;
	if (p->tuple.proto == IPPROTO_TCP) {
		if ((uint32_t)p->l4_off + 13 > dlen)
			return NULL;
		off = p->l4_off + (uint32_t)(f[p->l4_off + 12] >> 4) * 4;
	} else if (p->tuple.proto == IPPROTO_UDP) {
		off = p->l4_off + 8u;
	} else {
		return NULL;
	}
	if (off + p->payload_len > dlen)
		return NULL;
	*len = p->payload_len;
	return f + off;
}

void
pipe_helper_burst(const struct pipe_conf *c, struct rte_mbuf *const *m, const struct ct_pkt *pk,
		  uint16_t n, uint64_t now, const uint64_t *pkt_now, uint8_t *verdict,
		  struct ct_pkt_info *info)
{
	struct hlp_track *h = c->hlp;
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct ct_pkt_info *pi = &info[i];
		const uint8_t *data;
		uint32_t len = 0;
		bool seen_reply;

		if (verdict[i] != CT_V_PASS || pi->slot == UINT32_MAX || pk[i].cls != CT_PKT_TRACK)
			continue;
		/* As Linux: a connection an expectation announced is RELATED until
		 * it is established. */
		if (pi->state == CT_STATE_NEW && hlp_track_expected(h, pi->slot, pi->id))
			pi->state = CT_STATE_RELATED;
		if (!hlp_track_helped(h, pi->slot, pi->id))
			continue;
		/* The state was taken before tracking: established means a reply
		 * had been seen, or the packet is one. */
		seen_reply = pi->state == CT_STATE_ESTABLISHED;
		data = payload_of(m[i], &pk[i], &len);
		if (hlp_track_payload(h, pi->slot, pi->id, &pk[i], (enum ct_dir)pi->dir, seen_reply,
				      data, data != NULL ? len : 0,
				      pkt_now != NULL ? pkt_now[i] : now) == HLP_DROP)
			verdict[i] = CT_V_DROP;
	}
}
