/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The GRE tracker (Linux nf_conntrack_proto_gre.c without the PPTP
 * helper): the unreplied timeout until a reply was seen; from the next
 * packet after it, the stream timeout and, once, ASSURED. The keys are the
 * parser's (ct_parse_full.c): 0 for GREv0, as Linux keys it when no keymap
 * exists, and the call ID for PPTP's enhanced GRE (version 1).
 */

#include <stdint.h>

#include "ct_private.h"

static int
gre_new_conn(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	     uint8_t *to_class)
{
	(void)conf;
	(void)p;
	e->tcp_state = 0;
	e->tcp_flags = 0;
	*to_class = CT_TO_GRE_UNREPLIED;
	return 0;
}

static enum ct_l4_verdict
gre_packet(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	   enum ct_dir dir, uint64_t now_ns, uint8_t *to_class)
{
	(void)conf;
	(void)p;
	(void)dir;
	(void)now_ns;
	/* SEEN_REPLY is set by the shard after this call, as Linux sets it after packet(). */
	if (!(e->status & CT_S_SEEN_REPLY)) {
		*to_class = CT_TO_GRE_UNREPLIED;
		return CT_L4_ACCEPT;
	}
	*to_class = CT_TO_GRE_STREAM;
	if (!(e->status & CT_S_ASSURED)) {
		e->status |= CT_S_ASSURED;
		e->pending |= CT_EVI_ASSURED;
	}
	return CT_L4_ACCEPT;
}

const struct ct_l4_proto ct_l4_gre = {
	.name = "gre",
	.new_conn = gre_new_conn,
	.packet = gre_packet,
};
