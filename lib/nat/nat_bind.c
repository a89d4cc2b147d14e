/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Binding: the rule that decides a new connection, the public port of a
 * snat flow (NAPT: a port per connection from the worker's slice), the
 * fixed mapping of a dnat flow, giving ports back, and the counters.
 */

#include <errno.h>
#include <string.h>

#include <rte_prefetch.h>

#include "nat_private.h"

bool
nat_rule_match(const struct nat_rule *r, const struct ct_tuple *t, uint16_t in_port)
{
	return nat_rule_match_inline(r, t, in_port);
}

int
nat_rules_first(const struct nat_table *t, const struct ct_tuple *tu, uint16_t in_port)
{
	return nat_rules_first_inline(t, tu, in_port);
}

uint32_t
nat_pick_port(const uint64_t *map, uint32_t lo, uint32_t n, uint32_t start, uint32_t port0,
	      const struct ct_tuple *rev, uint32_t addr, nat_rss_pref_fn pref, void *pref_arg,
	      bool *rss_hit)
{
	uint32_t first = nat_bit_next_clear(map, lo, n, start), i = first;
	struct ct_tuple cand;
	unsigned tries;

	*rss_hit = false;
	if (first == n || pref == NULL)
		return first;
	for (tries = 0; tries < 64; tries++) {
		nat_reply_with(&cand, rev, addr, (uint16_t)(port0 + i));
		if (pref(pref_arg, &cand)) {
			*rss_hit = true;
			return i;
		}
		i = nat_bit_next_clear(map, lo, n, i + 1 == n ? 0 : i + 1);
		if (i == first)
			break;
	}
	return first;
}

/* Whether the original source port may be kept: always without an RSS
 * preference, else only when the NIC steers its reply home. */
bool
nat_keep_ok(const struct ct_tuple *rev, uint32_t addr, uint16_t port, nat_rss_pref_fn pref,
	void *pref_arg, bool *rss_hit)
{
	struct ct_tuple cand;

	if (pref == NULL)
		return true;
	nat_reply_with(&cand, rev, addr, port);
	*rss_hit = pref(pref_arg, &cand);
	return *rss_hit;
}

/* Where NAPT looks first: worker w's slice base port, the address paired
 * with `inside` and the port index a flow of hash `hash` starts from. */
static inline void
napt_first(const struct nat_pool_state *ps, unsigned w, uint32_t inside, uint32_t hash,
	   uint32_t *base, uint32_t *a0, uint32_t *start)
{
	*base = ps->cfg.port_lo + w * ps->slice;
	*a0 = (uint32_t)(((uint64_t)nat_mix32(inside) * ps->n_addrs) >> 32);
	*start = (uint32_t)(((uint64_t)hash * ps->slice) >> 32);
}

/* NAPT: a port of worker w's slice on the paired address, then the others. */
static int
napt_bind(const struct nat_pool_state *ps, unsigned w, uint32_t inside, int cls,
	  const struct ct_tuple *orig, const struct ct_tuple *rev, uint32_t hash,
	  nat_rss_pref_fn pref, void *pref_arg, uint32_t *addr, uint16_t *port, bool *rss_hit)
{
	struct nat_pw *pw = &ps->w[w];
	uint32_t base, a0, start, k;

	napt_first(ps, w, inside, hash, &base, &a0, &start);

	for (k = 0; k < ps->n_addrs; k++) {
		uint32_t a = a0 + k < ps->n_addrs ? a0 + k : a0 + k - ps->n_addrs;
		uint64_t *map = nat_slice_map(ps, pw, a, cls);
		uint32_t i;

		*rss_hit = false;
		if (orig->sport >= base && orig->sport - base < ps->slice &&
		    !nat_bit(map, orig->sport - base) &&
		    nat_keep_ok(rev, ps->cfg.addr_lo + a, orig->sport, pref, pref_arg, rss_hit)) {
			i = orig->sport - base;
		} else {
			/* Without a preference, the first free port from `start`. */
			i = pref == NULL ? nat_bit_next_clear(map, 0, ps->slice, start) :
					   nat_pick_port(map, 0, ps->slice, start, base, rev,
							 ps->cfg.addr_lo + a, pref, pref_arg,
							 rss_hit);
			if (i == ps->slice)
				continue;
		}
		nat_bit_set(map, i);
		pw->in_use++;
		pw->in_use_cls[cls]++;
		*addr = ps->cfg.addr_lo + a;
		*port = (uint16_t)(base + i);
		return 0;
	}
	return NAT_ERR_EXHAUSTED;
}

int
nat_bind(const struct nat_table *t, unsigned w, const struct ct_pkt *p, uint16_t in_port,
	 nat_rss_pref_fn pref, void *pref_arg, struct ct_tuple *reply, uint16_t *status)
{
	const struct ct_tuple *o = &p->tuple;
	/* The reverse tuple, which the port choice reads; changed only at the end. */
	const struct ct_tuple *rev = reply;
	struct nat_wcnt *c;
	const struct nat_rule *r;
	uint32_t addr = 0;
	uint16_t port = 0;
	bool rss_hit = false;
	int ri, cls, rc;

	ct_tuple_reverse(reply, o);
	if (t == NULL || t->n_rules == 0 || w >= t->n_workers || o->family != 4 ||
	    p->cls != CT_PKT_TRACK)
		return 0;
	c = &t->cnt->w[w];
	ri = nat_rules_first_inline(t, o, in_port);
	if (ri < 0 || t->rules[ri].kind == NAT_EXCLUDE) {
		c->s.excluded += ri >= 0;
		*status |= NAT_S_SRC_NAT_DONE | NAT_S_DST_NAT_DONE;
		return 0;
	}
	r = &t->rules[ri];
	if (r->kind == NAT_DNAT) {
		uint16_t to_port = (uint16_t)(r->to_port + (o->dport - r->dport_lo));

		*status |= NAT_S_SRC_NAT_DONE | NAT_S_DST_NAT_DONE;
		if (r->to_addr == nat_rd32(o->dst) && to_port == o->dport)
			return 0;
		nat_wr32(reply->src, r->to_addr);
		reply->sport = to_port;
		*status |= NAT_S_DST_NAT;
		c->s.bound++;
		return 1;
	}
	/* snat: TCP, UDP, UDP-Lite and ICMP echo requests. */
	cls = nat_class_of(o->proto);
	if (cls < 0 || (cls == NAT_C_ICMP && p->icmp_type != 8)) {
		c->s.proto_refused++;
		return NAT_ERR_PROTO;
	}
	/* A reload is dropping or changing the pool: nothing new in it. */
	if (__builtin_expect(__atomic_load_n(&t->ps[r->pool]->closed, __ATOMIC_RELAXED), 0)) {
		c->s.closed++;
		return NAT_ERR_CLOSED;
	}
	if (t->pools[r->pool].mode == NAT_MODE_BLOCK)
		rc = nat_block_bind(t, r->pool, w, nat_rd32(o->src), cls, rev, p->hash, pref,
				    pref_arg, &addr, &port, &rss_hit);
	else
		rc = napt_bind(t->ps[r->pool], w, nat_rd32(o->src), cls, o, rev, p->hash, pref,
			       pref_arg, &addr, &port, &rss_hit);
	c->bind_hint = r->pool + 1u;
	if (rc != 0) {
		c->s.exhausted++;
		return rc;
	}
	nat_wr32(reply->dst, addr);
	reply->dport = port;
	*status |= NAT_S_SRC_NAT | NAT_S_SRC_NAT_DONE | NAT_S_DST_NAT_DONE;
	c->s.bound++;
	c->s.rss_hits += rss_hit;
	return 1;
}

void
nat_bind_prefetch(const struct nat_table *t, unsigned w, const struct ct_pkt *p)
{
	const struct ct_tuple *o = &p->tuple;
	const struct nat_pool_state *ps;
	const uint64_t *map;
	uint32_t base, a0, start, pool;
	int cls;

	if (t == NULL || w >= t->n_workers || o->family != 4)
		return;
	pool = t->cnt->w[w].bind_hint - 1;
	cls = nat_class_of(o->proto);
	if (pool >= t->n_pools || cls < 0 || t->pools[pool].mode != NAT_MODE_NAPT)
		return;
	ps = t->ps[pool];
	napt_first(ps, w, nat_rd32(o->src), p->hash, &base, &a0, &start);
	map = nat_slice_map(ps, &ps->w[w], a0, cls);
	if (o->sport >= base && o->sport - base < ps->slice)
		rte_prefetch0(&map[(o->sport - base) / 64]);
	rte_prefetch0(&map[start / 64]);
}

void
nat_release_prefetch(const struct nat_table *t, unsigned w, const uint8_t *addr,
		     uint16_t port, uint8_t proto)
{
	const struct nat_pool_state *ps;
	uint32_t a = nat_rd32(addr), base;
	int pi, cls;

	if (t == NULL || w >= t->n_workers)
		return;
	pi = nat_pool_find(t, a);
	cls = nat_class_of(proto);
	if (pi < 0 || cls < 0)
		return;
	ps = t->ps[pi];
	base = ps->cfg.port_lo + w * ps->slice;
	if (port >= base && port - base < ps->slice)
		rte_prefetch0(&nat_slice_map(ps, &ps->w[w], a - ps->cfg.addr_lo,
					     cls)[(port - base) / 64]);
}

void
nat_release(const struct nat_table *t, unsigned w, const struct ct_tuple *reply,
	    uint16_t status)
{
	const struct nat_pool_state *ps;
	struct nat_wcnt *c;
	uint32_t addr, base, a, i;
	uint64_t *map;
	int pi, cls;

	if (t == NULL || w >= t->n_workers || (status & (NAT_S_SRC_NAT | NAT_S_DST_NAT)) == 0)
		return;
	c = &t->cnt->w[w];
	if (!(status & NAT_S_SRC_NAT)) {
		c->s.released++;
		return;
	}
	addr = nat_rd32(reply->dst);
	pi = nat_pool_find(t, addr);
	cls = nat_class_of(reply->proto);
	if (pi < 0 || cls < 0 || reply->family != 4) {
		c->s.release_orphan++;
		return;
	}
	ps = t->ps[pi];
	base = ps->cfg.port_lo + w * ps->slice;
	a = addr - ps->cfg.addr_lo;
	if (reply->dport < base || reply->dport - base >= ps->slice) {
		c->s.release_orphan++;
		return;
	}
	i = reply->dport - base;
	map = nat_slice_map(ps, &ps->w[w], a, cls);
	if (!nat_bit(map, i)) {
		c->s.release_orphan++;
		return;
	}
	nat_bit_clear(map, i);
	ps->w[w].in_use--;
	ps->w[w].in_use_cls[cls]--;
	c->s.released++;
	if (ps->cfg.mode == NAT_MODE_BLOCK)
		nat_block_release(t, (unsigned)pi, w, a, i, (status & NAT_S_UNUSED) != 0);
}

/* How full worker w's slice of a pool is: its fullest class, or its blocks, in percent. */
static uint32_t
slice_fill(const struct nat_pool_state *ps, unsigned w)
{
	const volatile struct nat_pw *pw = &ps->w[w];
	uint64_t per = (uint64_t)ps->n_addrs * ps->slice, fill = 0;
	unsigned c;

	for (c = 0; c < NAT_CLASSES; c++)
		if (pw->in_use_cls[c] * UINT64_C(100) / per > fill)
			fill = pw->in_use_cls[c] * UINT64_C(100) / per;
	if (ps->n_blocks > 0 &&
	    (pw->blocks_used + pw->blocks_releasing) * UINT64_C(100) / ps->n_blocks > fill)
		fill = (pw->blocks_used + pw->blocks_releasing) * UINT64_C(100) / ps->n_blocks;
	return (uint32_t)fill;
}

void
nat_worker_stats(const struct nat_table *t, unsigned w, struct nat_stats *out)
{
	unsigned i;

	memset(out, 0, sizeof(*out));
	if (t == NULL || w >= t->n_workers)
		return;
	*out = t->cnt->w[w].s;
	out->ports_in_use = 0;
	out->ports_total = 0;
	out->fill_pct = 0;
	for (i = 0; i < t->n_pools; i++) {
		const struct nat_pool_state *ps = t->ps[i];
		uint64_t total = (uint64_t)out->ports_total + ps->n_addrs * ps->slice * NAT_CLASSES;
		uint32_t fill = slice_fill(ps, w);

		out->ports_in_use += ((const volatile struct nat_pw *)&ps->w[w])->in_use;
		out->ports_total = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
		if (fill > out->fill_pct)
			out->fill_pct = fill;
	}
}

int
nat_pool_usage(const struct nat_table *t, unsigned pool, struct nat_pool_usage *out)
{
	const struct nat_pool_state *ps;
	unsigned w, c;

	memset(out, 0, sizeof(*out));
	if (t == NULL || pool >= t->n_pools)
		return -EINVAL;
	ps = t->ps[pool];
	out->ports_total = (uint64_t)ps->n_addrs * ps->slice * ps->n_workers;
	out->blocks_total = ps->n_blocks * ps->n_workers;
	for (w = 0; w < ps->n_workers; w++) {
		const volatile struct nat_pw *pw = &ps->w[w];
		uint32_t fill = slice_fill(ps, w);

		for (c = 0; c < NAT_CLASSES; c++)
			out->ports_used[c] += pw->in_use_cls[c];
		out->blocks_used += pw->blocks_used + pw->blocks_releasing;
		if (fill > out->fill_pct)
			out->fill_pct = fill;
	}
	return 0;
}
