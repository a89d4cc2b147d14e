/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets through a shard: entry creation (with early drop when the table
 * is full), the notrack rules, the per-packet tracker step and the
 * prefetch pipeline of ct_process_burst(). The established path (index
 * lookup, timer refresh, the test for an event to stage) is inlined here
 * from ct_index.h, ct_wheel.h and ct_stage.h; what it calls out of line is
 * rare (entry creation and end, a relink, a record).
 */

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include <netinet/in.h>

#include <rte_prefetch.h>

#include "ct_index.h"
#include "ct_process_nat.h"
#include "ct_stage.h"
#include "ct_tcp_fast.h"
#include "ct_wheel.h"

/* No slot for a new entry: count the drop, warn at most once a second. */
static void
table_full(struct ct_shard *s, uint64_t now)
{
	s->st.drop++;
	if (s->full_warned && now - s->last_full_warn_ns < CT_NS_PER_S)
		return;
	s->full_warned = 1;
	s->last_full_warn_ns = now;
	s->st.table_full_warn++;
	ct_shard_log(s, LOG_WARNING, "table full, dropping packet (%llu entries, %llu dying, %llu)",
		  s->st.count, s->st.dying, s->conf.max_entries);
}
/* ------------------------------------------------------------------------ */
/* Entry creation                                                            */

/* Linux early_drop: evict a not-yet-assured entry from the flow's buckets. */
static int
early_drop(struct ct_shard *s, uint32_t h, uint32_t now_tick, uint64_t now)
{
	uint32_t b[2];
	unsigned i, k;

	ct_index_cands(s, h, &b[0], &b[1]);
	for (i = 0; i < 2; i++) {
		const struct ct_bucket *bk = &s->buckets[b[i]];

		for (k = 0; k < CT_BUCKET_SLOTS; k++) {
			uint32_t v = bk->idx[k] & ~CT_IDX_NAT;

			if (bk->sig[k] == 0 || (s->pool[v].status & CT_S_ASSURED))
				continue;
			ct_entry_set_end(&s->pool[v], CT_END_RESOURCES);
			ct_entry_destroy(s, v, now_tick, now);
			s->st.early_drop++;
			return 0;
		}
	}
	return -ENOENT;
}

static uint32_t
next_id(struct ct_shard *s)
{
	uint32_t id;

	do {
		id = s->id_next * s->conf.shard_count + s->conf.shard_index + 1;
		s->id_next++;
	} while (id == 0);
	return id;
}

static uint8_t
verdict_invalid(struct ct_shard *s, unsigned reason)
{
	s->st.invalid++;
	if (reason < CT_INV_MAX)
		s->st.invalid_by_reason[reason]++;
	return s->conf.invalid_policy == CT_INVALID_PASS ? CT_V_PASS : CT_V_DROP;
}

/*
 * An out-of-window FIN or RST answering one from the other side (the TCP
 * tracker's CT_L4_INVALID_SHORTEN): as Linux's nf_tcp_handle_invalid(), a
 * remaining timeout of at least 120 s that is longer than tcp_unack drops to
 * tcp_unack, so that an entry out of sync with its endpoints does not stay
 * ESTABLISHED for days.
 */
static void
tcp_invalid_shorten(struct ct_shard *s, uint32_t idx, uint32_t now_tick)
{
	const uint32_t floor = (uint32_t)((120 * CT_NS_PER_S) >> CT_TICK_SHIFT);
	struct ct_entry *e = &s->pool[idx];
	uint32_t left = e->expiry - now_tick;

	if (left < floor || left <= s->to_ticks[CT_TO_TCP_UNACK])
		return;
	ct_wheel_refresh(s, idx, now_tick, CT_TO_TCP_UNACK);
}

static uint8_t
entry_make(struct ct_shard *s, const struct ct_pkt *p, uint32_t now_tick, uint64_t now,
	   struct ct_nat_pre *pre)
{
	const struct ct_l4_proto *l4 = ct_l4_get(p->tuple.proto);
	struct ct_entry *e;
	uint32_t idx, used, next_free, rh = 0;
	uint8_t cls = CT_TO_GENERIC;
	unsigned pol;
	int reason;

	used = s->st.count + s->st.dying;
	/*
	 * Free slots first: once dying entries have used up the headroom, an
	 * early drop would evict a live entry and the new one would still
	 * find no slot. Headroom beyond max_entries is only for the entry
	 * that replaces an early drop.
	 */
	if (s->n_free == 0 ||
	    (used >= s->conf.max_entries &&
	     (!s->conf.early_drop || early_drop(s, p->hash, now_tick, now) != 0))) {
		table_full(s, now);
		return CT_V_DROP;
	}
	idx = s->free_head;
	e = &s->pool[idx];
	next_free = s->cold[idx].tnext; /* still on the free list until inserted */
	*e = ct_entry_zero;
	e->key = p->tuple;
	pol = ct_tpol_pick(&s->tp, &s->conf, &p->tuple);
	reason = l4 == &ct_l4_tcp ?
			 ct_tcp_new(s->tp.conf[pol], e, &s->cold[idx].tw, p, &cls) :
			 l4->new_conn(s->tp.conf[pol], e, p, &cls);
	if (reason != 0)
		return verdict_invalid(s, (unsigned)reason);
	if (s->nat.bind != NULL && nat_bind(s, idx, p, &rh, pre) != 0)
		return CT_V_DROP;
	if (ct_index_insert(s, idx, p->hash) != 0) {
		nat_unbind(s, idx, true);
		s->st.insert_failed++;
		s->st.drop++;
		return CT_V_DROP;
	}
	if ((e->status & CT_S_NAT_MASK) &&
	    nat_insert(s, idx, rh) != 0) {
		ct_index_remove(s, idx);
		nat_unbind(s, idx, true);
		s->st.insert_failed++;
		s->st.drop++;
		return CT_V_DROP;
	}
	s->free_head = next_free;
	s->n_free--;
	s->cold[idx].tnext = CT_NIL;
	s->cold[idx].tprev = CT_NIL;
	s->cold[idx].start_ns = now;
	if (l4 == &ct_l4_udp)
		e->udp_start_ns = now;
	e->eflags = CT_EF_USED;
	e->id = next_id(s);
	e->status |= CT_S_CONFIRMED;
	if (s->hlp.created != NULL)
		e->status |= s->hlp.created(s->hlp.arg, idx, e->id, p, now) & CT_S_EXPECTED;
	e->pending = CT_EVI_NEW;
	e->pkts_w[0] += UINT64_C(1) << CT_PKTS_SHIFT; /* the tracker may have set its low bits */
	e->bytes[0] = p->len;
	e->to_class = ct_tpol_slot(&s->tp, pol, cls);
	e->expiry = now_tick + s->to_ticks[e->to_class];
	e->x_port = (uint8_t)p->in_port;
	if (p->tuple.proto == IPPROTO_TCP) {
		e->x_l4 = p->tcp_flags;
	} else if (p->tuple.proto == IPPROTO_ICMP || p->tuple.proto == IPPROTO_ICMPV6) {
		e->x_l4 = p->icmp_type;
		e->x_code = p->icmp_code;
	}
	ct_wheel_link(s, idx);
	s->st.count++;
	s->st.insert++;
	s->last_created = idx;
	ct_shard_fill_check(s);
	ct_stage_update(s, idx, now_tick);
	return CT_V_PASS;
}

/* A new entry, within the limits (ct_limit_shard.c) when there are any. */
static uint8_t
entry_create(struct ct_shard *s, const struct ct_pkt *p, uint32_t now_tick, uint64_t now,
	     const struct ct_lim_hint *lh, struct ct_nat_pre *pre)
{
	enum ct_limit_verdict lv;
	uint64_t insert;
	uint8_t v;

	if (s->limits == NULL && s->top == NULL)
		return entry_make(s, p, now_tick, now, pre);
	lv = ct_shard_limit_admit(s, &p->tuple, lh);
	if (lv == CT_LIM_OVER)
		return CT_V_DROP;
	insert = s->st.insert;
	v = entry_make(s, p, now_tick, now, pre);
	if (s->st.insert != insert)
		ct_shard_limit_created(s, s->last_created, lv, lh);
	else
		ct_shard_limit_abort(s, &p->tuple, lv, lh);
	return v;
}

/* ------------------------------------------------------------------------ */
/* Packets                                                                   */

/* Whether a notrack rule matches the tuple (its address against either end). */
static int
notrack_match(const struct ct_conf *c, const struct ct_tuple *t)
{
	unsigned i;

	for (i = 0; i < c->n_notrack; i++) {
		const struct ct_notrack_rule *r = &c->notrack[i];

		if (r->proto != 0 && r->proto != t->proto)
			continue;
		if (r->family != 0 && r->family != t->family)
			continue;
		if (r->port != 0 && r->port != t->sport && r->port != t->dport)
			continue;
		if (r->prefix_len != 0) {
			unsigned full = r->prefix_len / 8, rem = r->prefix_len % 8;
			uint8_t mask = (uint8_t)(0xff << (8 - rem));
			int src_ok = memcmp(r->addr, t->src, full) == 0 &&
				     (rem == 0 || ((r->addr[full] ^ t->src[full]) & mask) == 0);
			int dst_ok = memcmp(r->addr, t->dst, full) == 0 &&
				     (rem == 0 || ((r->addr[full] ^ t->dst[full]) & mask) == 0);

			if (!src_ok && !dst_ok)
				continue;
		}
		return 1;
	}
	return 0;
}

/* A new entry for `p` (policy info: state NEW, no decision yet). Out of
 * line, as the compiler chose before timeout policies grew entry_create():
 * inlined into the burst loop it costs packets of existing entries 3
 * instructions each. */
static __attribute__((noinline)) uint8_t
create_info(struct ct_shard *s, const struct ct_pkt *p, uint32_t now_tick, uint64_t now,
	    struct ct_pkt_info *pi, const struct ct_lim_hint *lh, struct ct_nat_burst *nb,
	    unsigned j, unsigned k)
{
	struct ct_nat_pre *pre = nb != NULL && nb->bind ? nat_ahead_take(&nb->ahead, k) : NULL;
	uint64_t insert = s->st.insert;
	uint8_t v = entry_create(s, p, now_tick, now, lh, pre);

	/* A binding taken ahead that the entry did not take (refused, no entry). */
	if (pre != NULL)
		nat_pre_put(s, pre);

	if (s->st.insert != insert) {
		pi->slot = s->last_created;
		pi->id = s->pool[s->last_created].id;
		if (nb != NULL && v == CT_V_PASS)
			nat_out(&s->pool[s->last_created], CT_DIR_ORIG, p, pi, nb, j);
	} else if (v == CT_V_PASS) {
		pi->state = CT_STATE_INVALID; /* refused by the tracker, passed by policy */
	}
	return v;
}

unsigned
ct_shard_notrack_burst(const struct ct_shard *s, struct ct_pkt *pkts,
		       const uint8_t *const *frames, unsigned n)
{
	unsigned i, marked = 0;
	struct ct_tuple outer;

	if (s->conf.n_notrack == 0)
		return 0;
	for (i = 0; i < n; i++) {
		const struct ct_tuple *t = &pkts[i].tuple;

		if (pkts[i].cls == CT_PKT_ICMP_ERROR) {
			/* The error's own header, as the raw table sees it. */
			if (frames == NULL || ct_pkt_outer_tuple(&pkts[i], frames[i], &outer) != 0)
				continue;
			t = &outer;
		} else if (pkts[i].cls != CT_PKT_TRACK) {
			continue;
		}
		if (notrack_match(&s->conf, t)) {
			pkts[i].cls = CT_PKT_NOTRACK;
			marked++;
		}
	}
	return marked;
}

/* The entry an ICMP error relates to: with translation, by the reverse of the quoted packet. */
static inline uint32_t
related_lookup(const struct ct_shard *s, const struct ct_pkt *p, const struct ct_probe *q,
	       enum ct_dir *dir)
{
	struct ct_tuple rev;

	if (!s->conf.nat)
		return ct_probe_lookup(s, q, &p->tuple, dir);
	ct_tuple_reverse(&rev, &p->tuple);
	return ct_probe_lookup(s, q, &rev, dir);
}

/*
 * The tracker for an entry with a timeout policy (its to_class a slot >=
 * CT_TO_MAX, ct_tpol_rt.h): the tracker sees its policy's timeouts and
 * *slot comes back as the slot of the class it chose. Out of line and
 * cold: the burst loop compiles as it did without policies (784 against
 * 783 instructions a packet, dpct-bench established 64K under callgrind;
 * 795 when this was inline or merely noinline), and an entry with a
 * policy pays about 50 instructions a packet more.
 */
static __attribute__((noinline, cold)) enum ct_l4_verdict
track_tpol(struct ct_shard *s, uint32_t idx, struct ct_entry *e, const struct ct_pkt *p,
	   enum ct_dir dir, uint64_t now, uint8_t *slot)
{
	unsigned pol = s->tp.slot_pol[*slot];
	const struct ct_conf *c = s->tp.conf[pol];
	enum ct_l4_verdict v;
	uint8_t cls = s->tp.slot_cls[*slot];
	int fast;

	if (e->key.proto == IPPROTO_TCP) {
		struct ct_tw_cold *x = &s->cold[idx].tw;

		fast = ct_tcp_fast(c, e, x, p, dir, &cls);
		v = fast >= 0 ? (enum ct_l4_verdict)fast :
				ct_tcp_packet(c, e, x, p, dir, now, &cls);
	} else {
		v = ct_l4_get(e->key.proto)->packet(c, e, p, dir, now, &cls);
	}
	*slot = ct_tpol_slot(&s->tp, pol, cls);
	return v;
}

static inline __attribute__((always_inline)) uint8_t
process_one(struct ct_shard *s, const struct ct_pkt *p, const struct ct_probe *q,
	    uint32_t now_tick, uint64_t now, struct ct_pkt_info *pi, const int want_info,
	    struct ct_nat_burst *nb, unsigned j, unsigned k)
{
	enum ct_dir dir = CT_DIR_ORIG;
	enum ct_l4_verdict v;
	struct ct_entry *e;
	uint32_t idx;
	uint8_t cls;
	int fast;

	if (want_info) {
		pi->slot = CT_NIL;
		pi->id = 0;
		pi->dec.gen = 0;
		pi->state = CT_STATE_NEW;
		pi->dir = CT_DIR_ORIG;
		pi->nat = 0;
	}
	if (nb != NULL)
		nb->to[j].family = 0; /* nothing to rewrite, until nat_out() says otherwise */
	switch (p->cls) {
	case CT_PKT_TRACK:
		break;
	case CT_PKT_ICMP_ERROR:
		idx = related_lookup(s, p, q, &dir);
		if (idx != CT_NIL) {
			s->st.related++;
			pi->state = CT_STATE_RELATED;
			pi->slot = idx;
			pi->id = s->pool[idx].id;
			pi->dir = (uint8_t)dir;
			ct_dec_get(&s->pool[idx], &pi->dec);
			if (nb != NULL && (s->pool[idx].status & CT_S_NAT_MASK)) {
				pi->nat = 1;
				nat_target(&s->pool[idx], dir, true, &nb->to[j]);
				nb->n_to++;
			}
			return CT_V_PASS;
		}
		pi->state = CT_STATE_INVALID;
		return verdict_invalid(s, CT_INV_STATE);
	case CT_PKT_INVALID:
		pi->state = CT_STATE_INVALID;
		return verdict_invalid(s, p->invalid_reason);
	case CT_PKT_NOTRACK:
		pi->state = CT_STATE_UNTRACKED;
		s->st.notrack++;
		return CT_V_PASS;
	default:
		pi->state = CT_STATE_UNTRACKED;
		s->st.untracked++;
		return CT_V_PASS;
	}
	if (s->conf.n_notrack != 0 && notrack_match(&s->conf, &p->tuple)) {
		pi->state = CT_STATE_UNTRACKED;
		s->st.notrack++;
		return CT_V_PASS;
	}

	idx = ct_probe_lookup(s, q, &p->tuple, &dir);
	if (idx == CT_NIL)
		return create_info(s, p, now_tick, now, pi, &q->lim, nb, j, k);
	e = &s->pool[idx];
	if (!ct_tick_before(now_tick, e->expiry)) {
		/* Timed out before the wheel reaped it: the timeout wins. */
		s->st.expired++;
		ct_entry_destroy(s, idx, now_tick, now);
		return create_info(s, p, now_tick, now, pi, &q->lim, nb, j, k);
	}
	s->st.found++;
	/* As Linux: established once a reply was seen, or for a reply itself. */
	if (want_info) {
		pi->state = (dir == CT_DIR_REPLY || (e->status & CT_S_SEEN_REPLY)) ?
			    CT_STATE_ESTABLISHED : CT_STATE_NEW;
		pi->slot = idx;
		pi->id = e->id;
		pi->dir = (uint8_t)dir;
		ct_dec_get(e, &pi->dec);
	}
	cls = e->to_class;
	if (__builtin_expect(cls >= CT_TO_MAX, 0)) {
		/* An entry with a timeout policy: `cls` comes back as a slot. */
		v = track_tpol(s, idx, e, p, dir, now, &cls);
		goto tracked;
	}
	/* Every TCP segment goes through the window check (Linux tcp_in_window()),
	 * the established-ACK fast path (ct_tcp_fast.h) included. */
	if (e->key.proto == IPPROTO_TCP) {
		struct ct_tw_cold *x = &s->cold[idx].tw;

		fast = ct_tcp_fast(&s->conf, e, x, p, dir, &cls);
		v = fast >= 0 ? (enum ct_l4_verdict)fast :
				ct_tcp_packet(&s->conf, e, x, p, dir, now, &cls);
	} else {
		v = ct_l4_get(e->key.proto)->packet(&s->conf, e, p, dir, now, &cls);
	}
tracked:
	/* What passes is translated, before a verdict that ends the entry does. */
	if (nb != NULL && (v == CT_L4_ACCEPT || v == CT_L4_KILL || v == CT_L4_IGNORE))
		nat_out(e, dir, p, pi, nb, j);
	switch (v) {
	case CT_L4_ACCEPT:
	case CT_L4_KILL:
		e->pkts_w[dir] += UINT64_C(1) << CT_PKTS_SHIFT;
		e->bytes[dir] += p->len;
		if (e->key.proto == IPPROTO_TCP)
			e->x_l4 |= p->tcp_flags;
		/*
		 * A KILL is destroyed before the reply is marked seen: DESTROY says
		 * UNREPLIED. The flag is tested first: it is settled once a flow has
		 * a reply, the packet's direction is not.
		 */
		if (!(e->status & CT_S_SEEN_REPLY) && dir == CT_DIR_REPLY && v != CT_L4_KILL) {
			e->status |= CT_S_SEEN_REPLY;
			e->pending |= CT_EVI_REPLY;
		}
		if (v == CT_L4_KILL) {
			ct_entry_set_end(e, CT_END_EOF);
			ct_entry_destroy(s, idx, now_tick, now);
			pi->slot = CT_NIL;
			return CT_V_PASS;
		}
		ct_wheel_refresh(s, idx, now_tick, cls);
		break;
	case CT_L4_IGNORE:
		/* Linux accepts ignored packets: a reply still counts as seen. */
		s->st.ignore++;
		if (!(e->status & CT_S_SEEN_REPLY) && dir == CT_DIR_REPLY) {
			e->status |= CT_S_SEEN_REPLY;
			e->pending |= CT_EVI_REPLY;
		}
		break;
	case CT_L4_INVALID:
		ct_stage_update(s, idx, now_tick);
		/* Judged as invalid, not by its connection's verdict. */
		pi->state = CT_STATE_INVALID;
		pi->slot = CT_NIL;
		pi->dec.gen = 0;
		return verdict_invalid(s, CT_INV_STATE);
	case CT_L4_INVALID_SHORTEN:
		tcp_invalid_shorten(s, idx, now_tick);
		/* fallthrough */
	case CT_L4_INVALID_WINDOW:
		ct_stage_update(s, idx, now_tick);
		return verdict_invalid(s, CT_INV_TCP_WINDOW);
	case CT_L4_REOPEN:
		ct_entry_set_end(e, CT_END_EOF);
		ct_entry_destroy(s, idx, now_tick, now);
		pi->state = CT_STATE_NEW;
		pi->slot = CT_NIL;
		pi->dec.gen = 0;
		return create_info(s, p, now_tick, now, pi, &q->lim, nb, j, k);
	}
	ct_stage_update(s, idx, now_tick);
	return CT_V_PASS;
}

/* Packets between an entry's prefetch and its use (a bucket's: twice that). */
#define CT_PF_DIST 8

/* A packet that is looked up (tracked, or an ICMP error quoting a flow). */
static inline int
needs_lookup(const struct ct_pkt *p)
{
	return p->cls == CT_PKT_TRACK || p->cls == CT_PKT_ICMP_ERROR;
}

/*
 * Whether a packet's second bucket is fetched with its first: for a
 * packet likely to find no entry (a TCP SYN alone; any other protocol,
 * which has no such sign), whose miss must read both where its first
 * bucket counts a spill, when spills are common. An insert fills a
 * flow's first bucket before its second, so a packet of a known TCP
 * connection nearly always finds it in the first (94 % of established
 * lookups at 80 % load, 64K and 1M flows alike): one bucket
 * line a packet instead of two (and a translated flow's index, twice the
 * lines, loses half of what it adds).
 */
static inline bool
second_bucket_early(const struct ct_shard *s, const struct ct_pkt *p)
{
	return (p->tuple.proto != IPPROTO_TCP ||
		(p->tcp_flags & (CT_TCP_TH_SYN | CT_TCP_TH_ACK)) == CT_TCP_TH_SYN) &&
	       ct_index_spills_common(s);
}

/*
 * The first candidate bucket, and the second where second_bucket_early();
 * with translation (`nb`), for a TCP SYN alone (likely to open a
 * connection; a UDP datagram may be any of its flow's), what its bind will
 * read, which nat_prebind() asks for at the entry prefetch.
 */
static inline void
prefetch_bucket(const struct ct_shard *s, const struct ct_pkt *p, struct ct_probe *q,
		const struct ct_nat_burst *nb)
{
	if (!needs_lookup(p))
		return;
	ct_probe_init(s, p->hash, q);
	rte_prefetch0(&s->buckets[q->b1]);
	if (second_bucket_early(s, p))
		rte_prefetch0(&s->buckets[q->b2]);
	if (nb != NULL && (p->tcp_flags & (CT_TCP_TH_SYN | CT_TCP_TH_ACK | CT_TCP_TH_FIN |
					   CT_TCP_TH_RST)) == CT_TCP_TH_SYN &&
	    p->tuple.proto == IPPROTO_TCP && p->cls == CT_PKT_TRACK && nb->bind_prefetch != NULL)
		nb->bind_prefetch(s->nat.arg, p);
}

/*
 * A SYN, FIN or RST moves its connection's state: its timer is relinked and
 * a record built, both of which read the entry's cold part.
 */
static inline bool
moves_state(const struct ct_pkt *p)
{
	return (p->tcp_flags & (CT_TCP_TH_SYN | CT_TCP_TH_FIN | CT_TCP_TH_RST)) != 0;
}

/* Read the buckets; prefetch the entry whose signature matches. */
static inline void
prefetch_entry(const struct ct_shard *s, const struct ct_pkt *p, struct ct_probe *q,
	       struct ct_nat_burst *nb, unsigned k)
{
	const struct ct_bucket *bk;
	const char *e;
	unsigned m, m1, m2;

	if (!needs_lookup(p))
		return;
	/*
	 * The first bucket, then the second where the first has no hit and
	 * counts a spill (an insert fills the first first). A second bucket
	 * that was not fetched ahead is read here, in the prefetch stage,
	 * where the wait overlaps the packets around it; deferring it to the
	 * packet's processing (prefetching it now) measured 8 % (64K flows)
	 * to 17 % (1M) slower.
	 */
	m1 = ct_bucket_match(&s->buckets[q->b1], q->sig);
	bk = &s->buckets[q->b1];
	m = m1;
	if (m1 == 0 && bk->spill != 0) {
		m2 = ct_bucket_match(&s->buckets[q->b2], q->sig);
		bk = &s->buckets[q->b2];
		m = m2;
	}
	if (m == 0) {
		/* Most likely a new connection: the counts its limits and sketch will write. */
		if (__builtin_expect(s->limits != NULL || s->top != NULL, 0))
			ct_shard_limit_prefetch(s, &p->tuple, &q->lim);
		/* And its translation, with the buckets its reply tuple goes in. */
		if (nb != NULL && nb->bind)
			nat_prebind(s, p, &nb->ahead, k);
		return;
	}
	q->cand = bk->idx[__builtin_ctz(m) >> 1];
	e = (const char *)&s->pool[q->cand & ~CT_IDX_NAT];
	/* Both lines of the entry. */
	rte_prefetch0(e);
	rte_prefetch0(e + 64);
	/*
	 * And the cold part: its links for a packet that moves state, its TCP
	 * state for every TCP packet (a 28-byte cold part may start in one line
	 * and keep it in the next, and one TCP state in 8 spans two lines).
	 */
	if (moves_state(p))
		rte_prefetch0(&s->cold[q->cand & ~CT_IDX_NAT]);
	if (p->tuple.proto == IPPROTO_TCP) {
		const char *x = (const char *)&s->cold[q->cand & ~CT_IDX_NAT].tw;

		rte_prefetch0(x);
		rte_prefetch0(x + sizeof(struct ct_tw_cold) - 1);
	}
}

/*
 * For a packet that moves its connection's state (prefetch_entry()
 * prefetched its cold part): the cold parts of its neighbours in the timer
 * wheel, which the relink writes. Where packets of many connections
 * interleave, those are as far apart as the entries.
 */
static inline void
prefetch_links(const struct ct_shard *s, const struct ct_pkt *p, const struct ct_probe *q)
{
	const struct ct_entry_cold *c;

	/* A packet that is not looked up has no probe (prefetch_bucket() left it unset). */
	if (!needs_lookup(p) || q->cand == CT_NIL || !moves_state(p))
		return;
	c = &s->cold[q->cand & ~CT_IDX_NAT];
	if (!(c->tprev & CT_HEAD_FLAG))
		rte_prefetch0(&s->cold[c->tprev]);
	if (c->tnext != CT_NIL)
		rte_prefetch0(&s->cold[c->tnext]);
}

/* Packets handled by one pass of the pipeline (the probes live on the stack). */
#define CT_CHUNK 64
_Static_assert(CT_CHUNK <= CT_NAT_AHEAD, "a chunk's binds ahead must fit struct ct_nat_ahead");


/* Inlined into both entry points, so that the one without policy info drops its stores. */
static inline __attribute__((always_inline)) uint16_t
process_burst(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n, uint64_t now,
	      uint8_t *verdict, struct ct_pkt_info *info, unsigned info_step, struct ct_tuple *to,
	      struct rte_mbuf *const *mb)
{
	uint32_t now_tick = ct_shard_now(s, &now);
	struct ct_probe q[CT_CHUNK];
	struct ct_nat_burst nat;
	/* Translation on the translating entry point only; binds ahead only with a hook. */
	struct ct_nat_burst *nb = to != NULL ? &nat : NULL;
	unsigned base, m, i;

	if (nb != NULL) {
		nat.to = to;
		nat.mb = mb;
		nat.bind = s->nat.bind != NULL;
		nat.bind_prefetch = nat.bind ? s->nat.bind_prefetch : NULL;
		nat.n_to = 0;
	}

	/*
	 * A software pipeline over each chunk: packet i + 2 * CT_PF_DIST gets
	 * its probe (buckets and signature, computed once) and its buckets
	 * prefetched, packet i + CT_PF_DIST its buckets read and its entry
	 * prefetched, packet i is processed; so the misses of later packets
	 * overlap the work on earlier ones instead of all waiting up front. In
	 * order, so a flow created early in the burst is found later. With
	 * translation, a packet that found no entry is bound at its entry
	 * prefetch (nat_prebind()); what its entry does not take is given
	 * back when the entry is made, that of a packet which makes none at
	 * the end of the chunk.
	 */
	for (base = 0; base < n; base += m) {
		const struct ct_pkt *pk = pkts + base;

		m = n - base < CT_CHUNK ? n - base : CT_CHUNK;
		if (nb != NULL)
			nat.ahead.taken = 0;
		for (i = 0; i < m && i < 2 * CT_PF_DIST; i++)
			prefetch_bucket(s, &pk[i], &q[i], nb);
		for (i = 0; i < m && i < CT_PF_DIST; i++)
			prefetch_entry(s, &pk[i], &q[i], nb, i);
		for (i = 0; i < m; i++) {
			if (i + 2 * CT_PF_DIST < m)
				prefetch_bucket(s, &pk[i + 2 * CT_PF_DIST], &q[i + 2 * CT_PF_DIST],
						nb);
			if (i + CT_PF_DIST < m)
				prefetch_entry(s, &pk[i + CT_PF_DIST], &q[i + CT_PF_DIST], nb,
					       i + CT_PF_DIST);
			if (i + CT_PF_DIST / 2 < m)
				prefetch_links(s, &pk[i + CT_PF_DIST / 2], &q[i + CT_PF_DIST / 2]);
			verdict[base + i] = process_one(s, &pk[i], &q[i], now_tick, now,
							&info[(base + i) * info_step],
							info_step != 0, nb, base + i, i);
		}
		if (nb != NULL && nat.ahead.taken != 0)
			nat_ahead_drop(s, &nat.ahead);
	}
	return nb != NULL ? nat.n_to : n;
}

uint16_t
ct_process_burst(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n, uint64_t now,
		 uint8_t *verdict)
{
	struct ct_pkt_info scratch;

	return process_burst(s, pkts, n, now, verdict, &scratch, 0, NULL, NULL);
}

uint16_t
ct_process_burst_info(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n, uint64_t now,
		      uint8_t *verdict, struct ct_pkt_info *info)
{
	return process_burst(s, pkts, n, now, verdict, info, 1, NULL, NULL);
}

uint16_t
ct_process_burst_nat(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n, uint64_t now,
		     uint8_t *verdict, struct ct_pkt_info *info, struct ct_tuple *to,
		     struct rte_mbuf *const *m)
{
	struct ct_pkt_info scratch;

	/* Without policy info, which packets are left to rewrite is in to[i].family. */
	if (info == NULL)
		return process_burst(s, pkts, n, now, verdict, &scratch, 0, to, m);
	return process_burst(s, pkts, n, now, verdict, info, 1, to, m);
}
