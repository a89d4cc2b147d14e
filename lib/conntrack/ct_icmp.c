/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ICMP and ICMPv6 tracker for query/response messages (Linux
 * nf_conntrack_proto_icmp.c / icmpv6.c): a request creates the entry, the
 * matching response travels in the reply direction. ICMP errors never reach
 * a tracker: the parser classifies them (CT_PKT_ICMP_ERROR) and the shard
 * relates them to the flow they quote. Linux never marks ICMP ASSURED.
 *
 * Linux keeps the ICMP type in the tuple and maps a request type to its
 * response type (its invmap[]). dpct's tuple has only the identifier, so the
 * tracker checks the type against the direction instead: a request must
 * come from the original side, a response from the reply side.
 */

#include <stdint.h>

#include "ct_private.h"

#define PROTO_ICMP 1

/* 1: request (creates), 2: response. Types Linux can invert; others never get here. */
static int
icmp_kind(const struct ct_pkt *p)
{
	if (p->tuple.proto == PROTO_ICMP) {
		switch (p->icmp_type) {
		case 8:  /* echo */
		case 13: /* timestamp */
		case 15: /* information request */
		case 17: /* address mask request */
			return 1;
		case 0:
		case 14:
		case 16:
		case 18:
			return 2;
		default:
			return 0;
		}
	}
	switch (p->icmp_type) {
	case 128: /* echo request */
	case 139: /* node information query */
		return 1;
	case 129:
	case 140:
		return 2;
	default:
		return 0;
	}
}

static int
icmp_new_conn(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	      uint8_t *to_class)
{
	(void)conf;
	if (icmp_kind(p) != 1)
		return CT_INV_STATE;
	e->tcp_state = 0;
	e->tcp_flags = 0;
	*to_class = p->tuple.proto == PROTO_ICMP ? CT_TO_ICMP : CT_TO_ICMPV6;
	return 0;
}

static enum ct_l4_verdict
icmp_packet(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	    enum ct_dir dir, uint64_t now_ns, uint8_t *to_class)
{
	int kind = icmp_kind(p);

	(void)conf;
	(void)e;
	(void)now_ns;
	if (!((kind == 1 && dir == CT_DIR_ORIG) || (kind == 2 && dir == CT_DIR_REPLY)))
		return CT_L4_INVALID;
	*to_class = p->tuple.proto == PROTO_ICMP ? CT_TO_ICMP : CT_TO_ICMPV6;
	return CT_L4_ACCEPT;
}

const struct ct_l4_proto ct_l4_icmp = {
	.name = "icmp",
	.new_conn = icmp_new_conn,
	.packet = icmp_packet,
};
