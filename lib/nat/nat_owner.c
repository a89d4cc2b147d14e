/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ownership: which worker a packet's connection belongs to when the
 * translation decides it, for the RX stage. An ICMP error is looked at as
 * a packet travelling back to the sender of the packet it quotes, that is
 * by the reverse of the quoted tuple.
 */

#include <string.h>

#include "nat_private.h"

/* A reply to a snat flow: to a pool address and a port of the pool's range. */
static int
pool_reply_owner(const struct nat_table *t, const struct ct_tuple *tu, bool echo_reply,
		 unsigned *owner)
{
	const struct nat_pool_state *ps;
	int pi, cls = nat_class_of(tu->proto);

	if (cls < 0 || (cls == NAT_C_ICMP && !echo_reply))
		return 0;
	pi = nat_pool_find(t, nat_rd32(tu->dst));
	if (pi < 0)
		return 0;
	ps = t->ps[pi];
	if (tu->dport < ps->cfg.port_lo || tu->dport > ps->cfg.port_hi)
		return 0;
	*owner = (unsigned)(tu->dport - ps->cfg.port_lo) / ps->slice;
	return 1;
}

/* A reply to a dnat flow: from a rule's inside address and port. */
static int
dnat_reply_owner(const struct nat_table *t, const struct ct_tuple *tu, unsigned n_workers,
		 nat_tuple_owner_fn tuple_owner, void *arg, unsigned *owner)
{
	uint32_t src = nat_rd32(tu->src);
	unsigned lo = 0, hi = t->n_dnat, i;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (t->dnat_ix[mid].addr < src)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < t->n_dnat && t->dnat_ix[i].addr == src; i++) {
		const struct nat_rule *r = &t->rules[t->dnat_ix[i].rule];
		struct ct_tuple o;

		if (r->proto != tu->proto || tu->sport < r->to_port ||
		    tu->sport - r->to_port > r->dport_hi - r->dport_lo ||
		    (r->zone != NAT_ANY_ZONE && (uint32_t)r->zone != tu->zone))
			continue;
		/* The original tuple, the public address and port put back. */
		memset(&o, 0, sizeof(o));
		memcpy(o.src, tu->dst, 4);
		nat_wr32(o.dst, r->dst);
		o.sport = tu->dport;
		o.dport = (uint16_t)(r->dport_lo + (tu->sport - r->to_port));
		o.proto = tu->proto;
		o.family = 4;
		o.zone = tu->zone;
		*owner = tuple_owner != NULL ?
				 tuple_owner(arg, &o) :
				 ct_hash_owner((uint32_t)(ct_tuple_hash64(&o) >> 32), n_workers);
		return 1;
	}
	return 0;
}

/* The first direction of a block-mode snat rule's sources: by the inside address. */
static int
block_owner(const struct nat_table *t, const struct ct_tuple *tu, uint16_t in_port,
	    bool any_port, unsigned n_workers, unsigned *owner)
{
	unsigned i;

	/* First match; a match past the last block-mode rule cannot name a block pool. */
	for (i = 0; i < t->block_rules_end; i++) {
		const struct nat_rule *r = &t->rules[i];

		if (any_port && r->in_port != NAT_ANY_PORT) {
			struct nat_rule any = *r;

			any.in_port = NAT_ANY_PORT;
			if (!nat_rule_match(&any, tu, in_port))
				continue;
		} else if (!nat_rule_match(r, tu, in_port)) {
			continue;
		}
		if (r->kind != NAT_SNAT || t->pools[r->pool].mode != NAT_MODE_BLOCK)
			return 0;
		*owner = ct_hash_owner(nat_mix32(nat_rd32(tu->src)), n_workers);
		return 1;
	}
	return 0;
}

int
nat_owner(const struct nat_table *t, const struct ct_pkt *p, unsigned n_workers,
	  unsigned *owner)
{
	return nat_owner_ex(t, p, n_workers, NULL, NULL, owner);
}

int
nat_owner_ex(const struct nat_table *t, const struct ct_pkt *p, unsigned n_workers,
	     nat_tuple_owner_fn tuple_owner, void *arg, unsigned *owner)
{
	struct ct_tuple rev;
	const struct ct_tuple *tu;
	bool err, echo_reply;

	if (t == NULL || t->n_rules == 0 || n_workers != t->n_workers)
		return 0;
	if (p->cls == CT_PKT_TRACK) {
		tu = &p->tuple;
		err = false;
		echo_reply = p->icmp_type == 0;
	} else if (p->cls == CT_PKT_ICMP_ERROR) {
		ct_tuple_reverse(&rev, &p->tuple);
		tu = &rev;
		err = true;
		/* The quote is an echo request: its reverse is keyed as the reply. */
		echo_reply = (tu->sport & 0xff) == 8;
	} else {
		return 0;
	}
	if (tu->family != 4)
		return 0;
	if (pool_reply_owner(t, tu, echo_reply, owner))
		return 1;
	if (t->n_dnat > 0 && dnat_reply_owner(t, tu, n_workers, tuple_owner, arg, owner))
		return 1;
	if (t->has_block_rule)
		return block_owner(t, tu, p->in_port, err, n_workers, owner);
	return 0;
}
