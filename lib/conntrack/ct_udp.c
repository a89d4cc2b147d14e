/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The UDP tracker (Linux udp_packet()): UNREPLIED until a reply was seen;
 * after that, traffic that continues beyond 2 s from creation is a stream:
 * the longer "replied" timeout and, once, ASSURED.
 */

#include <stdint.h>

#include "ct_private.h"

#define UDP_STREAM_NS (UINT64_C(2) * 1000000000)

static int
udp_new_conn(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	     uint8_t *to_class)
{
	(void)conf;
	(void)p;
	e->tcp_state = 0;
	e->tcp_flags = 0;
	*to_class = CT_TO_UDP_UNREPLIED;
	return 0;
}

static enum ct_l4_verdict
udp_packet(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	   enum ct_dir dir, uint64_t now_ns, uint8_t *to_class)
{
	(void)conf;
	(void)p;
	(void)dir;
	/* Linux: time_after(jiffies, creation + 2 s), strictly after. */
	if ((e->status & CT_S_SEEN_REPLY) && now_ns > e->udp_start_ns + UDP_STREAM_NS) {
		*to_class = CT_TO_UDP_REPLIED;
		if (!(e->status & CT_S_ASSURED)) {
			e->status |= CT_S_ASSURED;
			e->pending |= CT_EVI_ASSURED;
		}
	} else {
		*to_class = CT_TO_UDP_UNREPLIED;
	}
	return CT_L4_ACCEPT;
}

const struct ct_l4_proto ct_l4_udp = {
	.name = "udp",
	.new_conn = udp_new_conn,
	.packet = udp_packet,
};
