/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The generic tracker for protocols without one of their own (Linux
 * nf_conntrack_proto_generic.c): any packet creates or refreshes the entry
 * with the generic timeout; no states, never ASSURED.
 */

#include <stdint.h>

#include "ct_private.h"

static int
other_new_conn(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	       uint8_t *to_class)
{
	(void)conf;
	(void)p;
	e->tcp_state = 0;
	e->tcp_flags = 0;
	*to_class = CT_TO_GENERIC;
	return 0;
}

static enum ct_l4_verdict
other_packet(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	     enum ct_dir dir, uint64_t now_ns, uint8_t *to_class)
{
	(void)conf;
	(void)e;
	(void)p;
	(void)dir;
	(void)now_ns;
	*to_class = CT_TO_GENERIC;
	return CT_L4_ACCEPT;
}

const struct ct_l4_proto ct_l4_other = {
	.name = "generic",
	.new_conn = other_new_conn,
	.packet = other_packet,
};
