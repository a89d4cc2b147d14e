/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port-block mode (RFC 7422): each inside address holds blocks of
 * block_size ports of one worker's slice, and its connections take their
 * ports from them. A block is allocated on the address's first connection
 * that finds no free port in its blocks, released when its last binding
 * is given back, and given to another address only after the event that
 * says it was released has been consumed (nat_block_events_done()), so a
 * log of the events never shows two holders at once.
 *
 * Per worker and pool: the blocks (holder, bindings held, state), a busy
 * bit per block, the subscribers (open addressing, linear probing,
 * deletion by backward shift: at most as many as there are blocks, in
 * twice as many slots) and the event queue (one alloc and one release
 * pending per block at most, so 2 x blocks never overflows).
 */

#include <string.h>

#include "nat_private.h"

static inline uint32_t
sub_home(const struct nat_pw *pw, uint32_t inside)
{
	return nat_mix32(inside ^ 0x9e3779b9u) & pw->sub_mask;
}

/* The subscriber slot of `inside`, or NULL. */
static struct nat_sub *
sub_find(const struct nat_pw *pw, uint32_t inside)
{
	uint32_t i = sub_home(pw, inside);

	for (;;) {
		struct nat_sub *s = &pw->sub[i];

		if (s->head == NAT_NIL)
			return NULL;
		if (s->inside == inside)
			return s;
		i = (i + 1) & pw->sub_mask;
	}
}

/* A slot for `inside` (not present): there is always one, the table is at most half full. */
static struct nat_sub *
sub_insert(struct nat_pw *pw, uint32_t inside)
{
	uint32_t i = sub_home(pw, inside);

	while (pw->sub[i].head != NAT_NIL)
		i = (i + 1) & pw->sub_mask;
	pw->sub[i].inside = inside;
	pw->sub[i].nblk = 0;
	return &pw->sub[i];
}

static void
sub_delete(struct nat_pw *pw, struct nat_sub *s)
{
	uint32_t i = (uint32_t)(s - pw->sub), j = i;

	for (;;) {
		uint32_t k;

		j = (j + 1) & pw->sub_mask;
		if (pw->sub[j].head == NAT_NIL)
			break;
		k = sub_home(pw, pw->sub[j].inside);
		/* The entry at j stays when its home lies cyclically in (i, j]. */
		if (i < j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		pw->sub[i] = pw->sub[j];
		i = j;
	}
	pw->sub[i].head = NAT_NIL;
	pw->sub[i].nblk = 0;
}

static void
ev_push(const struct nat_table *t, const struct nat_pool_state *ps, struct nat_pw *pw,
	unsigned w, uint32_t b, uint32_t inside, bool released)
{
	uint32_t a = b / ps->bpa, off = (b % ps->bpa) * ps->cfg.block_size;
	uint32_t port_lo = ps->cfg.port_lo + w * ps->slice + off, q;
	struct nat_block_ev *ev;

	/* Cannot be full: one alloc and one release per block at most. */
	if (pw->ev_count == pw->ev_cap)
		return;
	q = pw->ev_head + pw->ev_count;
	if (q >= pw->ev_cap)
		q -= pw->ev_cap;
	ev = &pw->ev[q];
	memset(ev, 0, sizeof(*ev));
	ev->inside = inside;
	ev->outside = ps->cfg.addr_lo + a;
	ev->port_lo = (uint16_t)port_lo;
	ev->port_hi = (uint16_t)(port_lo + ps->cfg.block_size - 1);
	ev->released = released;
	ev->time_ns = t->cnt->w[w].now_ns;
	pw->ev_blk[q] = b;
	pw->ev_count++;
}

/* Take a port of block b for class `cls`: `sport` when free in it, else from the hash. */
static bool
block_take(const struct nat_pool_state *ps, struct nat_pw *pw, unsigned w, uint32_t b, int cls,
	   const struct ct_tuple *rev, uint32_t hash, nat_rss_pref_fn pref, void *pref_arg,
	   uint32_t *addr, uint16_t *port, bool *rss_hit)
{
	uint32_t a = b / ps->bpa, bs = ps->cfg.block_size, lo = (b % ps->bpa) * bs;
	uint32_t port0 = ps->cfg.port_lo + w * ps->slice + lo;
	uint64_t *map = nat_slice_map(ps, pw, a, cls);
	uint16_t sport = rev->dport;
	uint32_t i;

	*rss_hit = false;
	/* The source port kept only where the NIC steers its reply home, as in NAPT. */
	if (sport >= port0 && sport - port0 < bs && !nat_bit(map, lo + sport - port0) &&
	    nat_keep_ok(rev, ps->cfg.addr_lo + a, sport, pref, pref_arg, rss_hit)) {
		i = sport - port0;
	} else {
		i = nat_pick_port(map, lo, bs, (uint32_t)(((uint64_t)hash * bs) >> 32), port0, rev,
				  ps->cfg.addr_lo + a, pref, pref_arg, rss_hit);
		if (i == bs)
			return false;
	}
	nat_bit_set(map, lo + i);
	pw->blk[b].used++;
	pw->in_use++;
	pw->in_use_cls[cls]++;
	*addr = ps->cfg.addr_lo + a;
	*port = (uint16_t)(port0 + i);
	return true;
}

int
nat_block_bind(const struct nat_table *t, unsigned pool, unsigned w, uint32_t inside, int cls,
	       const struct ct_tuple *rev, uint32_t hash, nat_rss_pref_fn pref, void *pref_arg,
	       uint32_t *addr, uint16_t *port, bool *rss_hit)
{
	const struct nat_pool_state *ps = t->ps[pool];
	struct nat_pw *pw = &ps->w[w];
	struct nat_sub *s = sub_find(pw, inside);
	uint32_t b, start;

	if (s != NULL) {
		for (b = s->head; b != NAT_NIL; b = pw->blk[b].next)
			if (block_take(ps, pw, w, b, cls, rev, hash, pref, pref_arg, addr, port,
				       rss_hit))
				return 0;
		if (s->nblk >= ps->cfg.blocks_per_addr_max)
			return NAT_ERR_EXHAUSTED;
		/* Its next block on the address of its first, when one is free there. */
		start = s->head / ps->bpa * ps->bpa;
	} else {
		start = (uint32_t)(((uint64_t)nat_mix32(inside) * ps->n_addrs) >> 32) * ps->bpa;
	}
	b = nat_bit_next_clear(pw->blk_map, 0, ps->n_blocks, start);
	if (b == ps->n_blocks)
		return NAT_ERR_EXHAUSTED;
	if (s == NULL)
		s = sub_insert(pw, inside);
	nat_bit_set(pw->blk_map, b);
	pw->blocks_used++;
	pw->blk[b].inside = inside;
	pw->blk[b].used = 0;
	pw->blk[b].had_use = 0;
	pw->blk[b].state = NAT_BLK_USED;
	pw->blk[b].next = s->head;
	s->head = b;
	s->nblk++;
	t->cnt->w[w].s.blocks_alloc++;
	ev_push(t, ps, pw, w, b, inside, false);
	/* A fresh block has every port free. */
	block_take(ps, pw, w, b, cls, rev, hash, pref, pref_arg, addr, port, rss_hit);
	return 0;
}

/*
 * Take block b's allocation event out of the queue when it is still there
 * (not yet handed on by nat_block_events_done()): false when it has left.
 * The events after it move up one place.
 */
static bool
alloc_unqueue(struct nat_pw *pw, uint32_t b)
{
	uint32_t k, q = pw->ev_head, at = UINT32_MAX;

	for (k = 0; k < pw->ev_count; k++) {
		if (pw->ev_blk[q] == b && !pw->ev[q].released)
			at = k;
		q = q + 1 == pw->ev_cap ? 0 : q + 1;
	}
	if (at == UINT32_MAX)
		return false;
	for (k = at; k + 1 < pw->ev_count; k++) {
		uint32_t d = pw->ev_head + k, n;

		d = d >= pw->ev_cap ? d - pw->ev_cap : d;
		n = d + 1 == pw->ev_cap ? 0 : d + 1;
		pw->ev[d] = pw->ev[n];
		pw->ev_blk[d] = pw->ev_blk[n];
	}
	pw->ev_count--;
	return true;
}

void
nat_block_release(const struct nat_table *t, unsigned pool, unsigned w, uint32_t a, uint32_t i,
		  bool unused)
{
	const struct nat_pool_state *ps = t->ps[pool];
	struct nat_pw *pw = &ps->w[w];
	uint32_t b = a * ps->bpa + i / ps->cfg.block_size, *link;
	struct nat_blk *blk = &pw->blk[b];
	struct nat_sub *s;

	if (blk->state != NAT_BLK_USED || blk->used == 0)
		return;
	if (!unused)
		blk->had_use = 1;
	if (--blk->used > 0)
		return;
	s = sub_find(pw, blk->inside);
	if (s != NULL) {
		for (link = &s->head; *link != NAT_NIL; link = &pw->blk[*link].next) {
			if (*link == b) {
				*link = blk->next;
				s->nblk--;
				break;
			}
		}
		if (s->head == NAT_NIL)
			sub_delete(pw, s);
	}
	blk->next = NAT_NIL;
	pw->blocks_used--;
	t->cnt->w[w].s.blocks_freed++;
	/*
	 * Every binding it had was given back as its connection was being made
	 * (a full table, a refusal) and its allocation has not left: neither
	 * event is told, the block is free again at once. Otherwise its release
	 * is told, and it waits for that event to be handed on.
	 */
	if (!blk->had_use && alloc_unqueue(pw, b)) {
		blk->state = NAT_BLK_FREE;
		blk->inside = 0;
		nat_bit_clear(pw->blk_map, b);
		return;
	}
	blk->state = NAT_BLK_RELEASING;
	pw->blocks_releasing++;
	ev_push(t, ps, pw, w, b, blk->inside, true);
}

unsigned
nat_block_events(const struct nat_table *t, unsigned w, struct nat_block_ev *out, unsigned max)
{
	unsigned i, n = 0;

	if (t == NULL || w >= t->n_workers)
		return 0;
	for (i = 0; i < t->n_pools && n < max; i++) {
		const struct nat_pw *pw = &t->ps[i]->w[w];
		uint32_t k, q = pw->ev_head;

		if (t->pools[i].mode != NAT_MODE_BLOCK)
			continue;
		for (k = 0; k < pw->ev_count && n < max; k++) {
			out[n] = pw->ev[q];
			out[n].pool = (uint8_t)i;
			n++;
			q = q + 1 == pw->ev_cap ? 0 : q + 1;
		}
	}
	return n;
}

void
nat_block_events_done(const struct nat_table *t, unsigned w, unsigned n)
{
	unsigned i;

	if (t == NULL || w >= t->n_workers)
		return;
	for (i = 0; i < t->n_pools && n > 0; i++) {
		struct nat_pw *pw = &t->ps[i]->w[w];

		if (t->pools[i].mode != NAT_MODE_BLOCK)
			continue;
		while (pw->ev_count > 0 && n > 0) {
			uint32_t q = pw->ev_head, b = pw->ev_blk[q];

			if (pw->ev[q].released && pw->blk[b].state == NAT_BLK_RELEASING) {
				pw->blk[b].state = NAT_BLK_FREE;
				pw->blk[b].inside = 0;
				nat_bit_clear(pw->blk_map, b);
				pw->blocks_releasing--;
			}
			pw->ev_head = q + 1 == pw->ev_cap ? 0 : q + 1;
			pw->ev_count--;
			n--;
		}
	}
}

void
nat_set_now(const struct nat_table *t, unsigned w, uint64_t now_ns)
{
	if (t != NULL && w < t->n_workers)
		t->cnt->w[w].now_ns = now_ns;
}
