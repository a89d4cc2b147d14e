/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_PROCESS_NAT_H
#define DPCT_CT_PROCESS_NAT_H

/*
 * The translation side of ct_process.c's packet path (ct_nat_hook.h):
 * binding a new entry and putting its reply tuple's node into the index,
 * the bind taken ahead in the prefetch stage, and each packet's rewrite
 * target. Static inline, for ct_process.c only.
 */

#include <stdbool.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "ct_hash.h"
#include "ct_index.h"
#include "ct_stage.h"

/*
 * The hook's answer for a packet, taken in the prefetch stage
 * (nat_prebind()) so that the reply tuple's buckets, which the bind
 * probes and writes, are in cache when the entry is made. `held`: an
 * answer no entry has used yet (nat_bind() takes it).
 */
struct ct_nat_pre {
	struct ct_tuple reply;
	uint32_t rh;     /* the reply tuple's hash, when translated */
	int rc;          /* the hook's return */
	uint16_t status; /* the CT_S_*NAT* bits it gave */
	uint8_t held;
};

/* Packets in a chunk of ct_process.c's pipeline, at most (a bit of `taken` each). */
#define CT_NAT_AHEAD 64

/* The answers taken ahead for a chunk of packets: bit k of `taken`, pre[k] was set. */
struct ct_nat_ahead {
	uint64_t taken;
	struct ct_nat_pre pre[CT_NAT_AHEAD];
};

/* ct_tuple_hash() of a reply tuple, inline for the IPv4 ones translation makes. */
static inline uint32_t
nat_reply_hash(const struct ct_tuple *r)
{
	uint64_t tail;

	if (r->family != 4)
		return ct_tuple_hash(r);
	memcpy(&tail, &r->sport, sizeof(tail));
	return (uint32_t)ct_hash_v4(ct_nat_wire32(r->src), ct_nat_wire32(r->dst), tail);
}

/*
 * The translation of reply tuple `r` of an entry with key `key`, as the
 * shard keeps it (struct ct_nat_x): IPv4, one side changed, the rest the
 * reverse of the key. -1 for any other shape.
 */
static int
nat_compress(const struct ct_tuple *key, const struct ct_tuple *r, struct ct_nat_x *x)
{
	uint64_t kt, rt, rest[2];
	uint32_t tail4[2];
	bool src_same, dst_same;

	if (key->family != 4 || r->family != 4)
		return -1;
	/* Nothing past an IPv4 address's 4 bytes on either side. */
	memcpy(&rest[0], r->src + 4, 8);
	memcpy(&rest[1], r->dst + 4, 8);
	memcpy(&tail4[0], r->src + 12, 4);
	memcpy(&tail4[1], r->dst + 12, 4);
	if ((rest[0] | rest[1] | tail4[0] | tail4[1]) != 0)
		return -1;
	/* Protocol, family and zone as the key's (the tail's high 32 bits). */
	memcpy(&kt, &key->sport, sizeof(kt));
	memcpy(&rt, &r->sport, sizeof(rt));
	if ((kt ^ rt) >> 32 != 0)
		return -1;
	/* Which end of the key's reverse the reply keeps. */
	src_same = ct_nat_wire32(r->src) == ct_nat_wire32(key->dst) && r->sport == key->dport;
	dst_same = ct_nat_wire32(r->dst) == ct_nat_wire32(key->src) && r->dport == key->sport;
	if (src_same == dst_same)
		return -1;
	memcpy(x->addr, src_same ? r->dst : r->src, sizeof(x->addr));
	x->port = src_same ? r->dport : r->sport;
	x->kind = src_same ? CT_NATX_SRC : CT_NATX_DST;
	x->pad = 0;
	return 0;
}

/*
 * The checksum changes of translated entry `e`'s packets (struct ct_entry:
 * natd), reply tuple `r`: an original packet becomes the reverse of `r`, a
 * reply the reverse of the key (its spare bytes are not read). A reply's
 * rewrite undoes an original packet's, so its changes are their ones'
 * complement negation (modulo 0xffff the port words sum the same either
 * way round): worked out in full only where a sum folds to 0 or 0xffff.
 */
static inline void
nat_deltas(struct ct_entry *e, const struct ct_tuple *r)
{
	const uint32_t ks = ct_nat_wire32(e->key.src), kd = ct_nat_wire32(e->key.dst);
	const uint32_t rs = ct_nat_wire32(r->src), rd = ct_nat_wire32(r->dst);
	uint16_t *o = &e->natd[2 * CT_DIR_ORIG], *b = &e->natd[2 * CT_DIR_REPLY];

	ct_nat_csum_words(ks, kd, ct_nat_wire_ports(e->key.sport, e->key.dport), rd, rs,
			  ct_nat_wire_ports(r->dport, r->sport), o);
	if (__builtin_expect(o[0] - 1u < 0xfffeu && o[1] - 1u < 0xfffeu, 1)) {
		b[0] = (uint16_t)~o[0];
		b[1] = (uint16_t)~o[1];
		return;
	}
	ct_nat_csum_words(rs, rd, ct_nat_wire_ports(r->sport, r->dport), kd, ks,
			  ct_nat_wire_ports(e->key.dport, e->key.sport), b);
}

/*
 * Ask the translation hook for the new entry `idx` (its key set, status
 * still 0): the translation into its key (natx), the NAT bits into its
 * status, the reply tuple's hash into *rh (for nat_insert()); the hook's
 * answer taken ahead in `pre` when it holds one (the hook is then not
 * asked again). A refusal,
 * a reply tuple of a shape the shard cannot keep, or one some entry
 * already answers to, drops the connection. Returns 0 or -1 (dropped,
 * counted).
 */
static int
nat_bind(struct ct_shard *s, uint32_t idx, const struct ct_pkt *p, uint32_t *rh,
	 struct ct_nat_pre *pre)
{
	struct ct_entry *e = &s->pool[idx];
	const struct ct_tuple *rp;
	struct ct_tuple r;
	uint16_t st = 0;
	enum ct_dir d;
	int rc;

	if (pre != NULL && pre->held) {
		/* Taken ahead (nat_prebind()): the entry owns it from here. */
		pre->held = 0;
		rp = &pre->reply;
		st = pre->status;
		rc = pre->rc;
	} else {
		rc = s->nat.bind(s->nat.arg, p, &r, &st);
		rp = &r;
		pre = NULL;
	}
	if (rc < 0) {
		s->st.nat_refused++;
		s->st.drop++;
		return -1;
	}
	e->status = (uint16_t)(st & (CT_S_NAT_MASK | CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE));
	if (rc == 0 || !(e->status & CT_S_NAT_MASK)) {
		e->status &= (uint16_t)~CT_S_NAT_MASK;
		return 0;
	}
	if (nat_compress(&e->key, rp, &e->natx) != 0) {
		if (s->nat.release != NULL)
			s->nat.release(s->nat.arg, rp,
				       (uint16_t)(e->status | CT_NAT_REL_UNUSED));
		e->status &= (uint16_t)~CT_S_NAT_MASK;
		s->st.nat_refused++;
		s->st.drop++;
		return -1;
	}
	*rh = pre != NULL ? pre->rh : nat_reply_hash(rp);
	if (ct_index_lookup(s, rp, *rh, &d) != CT_NIL) {
		nat_unbind(s, idx, true);
		s->st.nat_refused++;
		s->st.drop++;
		return -1;
	}
	nat_deltas(e, rp);
	/* Both nodes' hashes, for their removal (ct_index.c: node_hash()). */
	e->nat_rh = *rh;
	e->nat_kh = p->hash;
	return 0;
}

/* The reply tuple's node of translated entry `idx` (its hash `rh`) into the index. */
static int
nat_insert(struct ct_shard *s, uint32_t idx, uint32_t rh)
{
	return ct_index_insert(s, idx | CT_IDX_NAT, rh);
}

/*
 * Whether a packet that found no entry gets its bind ahead: a packet that
 * the trackers will most likely take as the first of a connection (a TCP
 * SYN alone, any UDP datagram), so that a binding is seldom given back.
 * Others are bound when their entry is made, as before.
 */
static inline bool
nat_pre_wanted(const struct ct_pkt *p)
{
	if (p->cls != CT_PKT_TRACK)
		return false;
	if (p->tuple.proto == IPPROTO_TCP)
		return (p->tcp_flags & (CT_TCP_TH_SYN | CT_TCP_TH_ACK | CT_TCP_TH_FIN |
					CT_TCP_TH_RST)) == CT_TCP_TH_SYN;
	return p->tuple.proto == IPPROTO_UDP;
}

/*
 * The prefetch stage's bind for packet `p`, whose buckets hold no
 * signature of it: ask the hook now and, for a translation, prefetch the
 * buckets of its reply tuple (the second where spills are common). The port it took stays reserved until the
 * packet makes its entry (which takes it, or it is given back right
 * there) or, for a packet that makes none, until the end of its chunk
 * (nat_ahead_drop()).
 */
static __attribute__((noinline)) void
nat_prebind(const struct ct_shard *s, const struct ct_pkt *p, struct ct_nat_ahead *na,
	    unsigned k)
{
	struct ct_nat_pre *pre = &na->pre[k];
	uint32_t b1, b2;

	if (!nat_pre_wanted(p))
		return;
	na->taken |= UINT64_C(1) << k;
	pre->status = 0;
	pre->rc = s->nat.bind(s->nat.arg, p, &pre->reply, &pre->status);
	pre->held = 1;
	if (pre->rc <= 0 || !(pre->status & CT_S_NAT_MASK))
		return;
	pre->rh = nat_reply_hash(&pre->reply);
	ct_index_cands(s, pre->rh, &b1, &b2);
	rte_prefetch0(&s->buckets[b1]);
	/* The second, which the bind reads where the first counts a spill. */
	if (ct_index_spills_common(s))
		rte_prefetch0(&s->buckets[b2]);
}

/*
 * Packet k's answer taken ahead, now its packet is about to make an entry;
 * NULL when it has none. Its bit is cleared: the caller gives back what
 * the entry does not take (nat_pre_put()).
 */
static inline struct ct_nat_pre *
nat_ahead_take(struct ct_nat_ahead *na, unsigned k)
{
	if (na == NULL || !(na->taken >> k & 1))
		return NULL;
	na->taken &= ~(UINT64_C(1) << k);
	return &na->pre[k];
}

/* Give back an answer taken ahead that no entry took (nat_bind() clears `held`). */
static inline void
nat_pre_put(struct ct_shard *s, struct ct_nat_pre *pre)
{
	if (!pre->held)
		return;
	pre->held = 0;
	if (pre->rc > 0 && (pre->status & CT_S_NAT_MASK) && s->nat.release != NULL)
		s->nat.release(s->nat.arg, &pre->reply,
			       (uint16_t)(pre->status | CT_NAT_REL_UNUSED));
}

/*
 * After a chunk: give back the answers taken ahead for packets that made
 * no entry (a repeated SYN of a flow the chunk created, one that found
 * its entry after all).
 */
static __attribute__((noinline)) void
nat_ahead_drop(struct ct_shard *s, struct ct_nat_ahead *na)
{
	uint64_t m = na->taken;

	while (m != 0) {
		nat_pre_put(s, &na->pre[__builtin_ctzll(m)]);
		m &= m - 1;
	}
	na->taken = 0;
}

/*
 * A translating burst (ct_process_burst_nat()): each packet's rewrite
 * target and mbuf, the hook's bind prefetch, and with a hook the binds
 * taken ahead.
 */
struct ct_nat_burst {
	struct ct_tuple *to;
	struct rte_mbuf *const *mb; /* NULL: targets only, nothing rewritten in place */
	void (*bind_prefetch)(void *arg, const struct ct_pkt *p);
	bool bind;                  /* the shard has a hook: binds ahead */
	uint16_t n_to;              /* packets given a target */
	struct ct_nat_ahead ahead;
};

/*
 * What a packet of translated entry `e` travelling in `dir` is rewritten
 * to (ct_process_burst_nat()); for an ICMP error, what its quoted packet is.
 * A translated entry is IPv4: a packet's target is written as nat_rewrite()
 * reads it, the first 4 bytes of each address and the tail (ports, proto,
 * family, zone); the error's quoted tuple whole.
 */
static inline void
nat_target(const struct ct_entry *e, enum ct_dir dir, bool icmp_error, struct ct_tuple *to)
{
	const struct ct_nat_x *x = &e->natx;
	uint64_t tail;

	if (icmp_error) {
		if (dir == CT_DIR_ORIG)
			ct_nat_reply_build(e, x, to);
		else
			ct_entry_key(e, to);
		return;
	}
	memcpy(&tail, &e->key.sport, sizeof(tail));
	/* The checksum changes the bind worked out for this direction. */
	memcpy(to->src + 4, &e->natd[2 * dir], 2 * sizeof(e->natd[0]));
	to->src[8] = CT_NAT_CSUM_SET;
	if (dir == CT_DIR_REPLY) {
		/* The reverse of the original tuple. */
		memcpy(to->src, e->key.dst, 4);
		memcpy(to->dst, e->key.src, 4);
		tail = ct_tuple_tail_swapped(tail);
		memcpy(&to->sport, &tail, sizeof(tail));
		return;
	}
	/* The reverse of the reply tuple: the key with the translated side replaced. */
	memcpy(&to->sport, &tail, sizeof(tail));
	if (x->kind == CT_NATX_SRC) {
		memcpy(to->src, x->addr, 4);
		memcpy(to->dst, e->key.dst, 4);
		to->sport = x->port;
	} else {
		memcpy(to->src, e->key.src, 4);
		memcpy(to->dst, x->addr, 4);
		to->dport = x->port;
	}
}

/*
 * The in-place rewrite of plain packet `p` (struct ct_pkt: plain:
 * untagged IPv4 without options at byte 14, its TCP or UDP header whole
 * in `m`'s first segment) of translated entry `e`, travelling in `dir`:
 * one end changes. A source translation gives an original packet the
 * translation's address and port as its source and a reply the key's
 * source as its destination; a destination translation the other way
 * round. Each checksum is updated with the change the bind worked out for
 * the direction (e->natd); a UDP checksum of 0 (none) stays 0, one that
 * comes to 0 is written 0xffff.
 */
static inline void
nat_rewrite_in(const struct ct_entry *e, enum ct_dir dir, const struct ct_pkt *p,
	       struct rte_mbuf *m)
{
	uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *) + 14, *l4 = ip + 20;
	const struct ct_nat_x *x = &e->natx;
	const uint8_t *addr;
	unsigned end; /* 0: the packet's source, 1: its destination */
	uint16_t port, hc;

	if (dir == CT_DIR_ORIG) {
		addr = x->addr;
		port = x->port;
		end = x->kind != CT_NATX_SRC;
	} else if (x->kind == CT_NATX_SRC) {
		addr = e->key.src;
		port = e->key.sport;
		end = 1;
	} else {
		addr = e->key.dst;
		port = e->key.dport;
		end = 0;
	}
	port = (uint16_t)(port >> 8 | port << 8); /* as on the wire */
	memcpy(ip + 12 + 4 * end, addr, 4);
	memcpy(l4 + 2 * end, &port, 2);
	memcpy(&hc, ip + 10, 2);
	hc = ct_nat_csum_update16(hc, e->natd[2 * dir]);
	memcpy(ip + 10, &hc, 2);
	if (p->tuple.proto == IPPROTO_TCP) {
		memcpy(&hc, l4 + 16, 2);
		hc = ct_nat_csum_update16(hc, e->natd[2 * dir + 1]);
		memcpy(l4 + 16, &hc, 2);
		return;
	}
	memcpy(&hc, l4 + 6, 2);
	if (hc == 0)
		return;
	hc = ct_nat_csum_update16(hc, e->natd[2 * dir + 1]);
	memcpy(l4 + 6, hc == 0 ? &(uint16_t){ 0xffff } : &hc, 2);
}

/*
 * Packet `j` of burst `nb`, plain packet `p` of entry `e` in `dir` that the
 * tracker passed: for a translated entry, rewritten in place from the entry
 * (nat_rewrite_in()) when it is plain and its mbuf is given, else given
 * its target. Before anything can end the entry.
 */
static inline void
nat_out(const struct ct_entry *e, enum ct_dir dir, const struct ct_pkt *p,
	struct ct_pkt_info *pi, struct ct_nat_burst *nb, unsigned j)
{
	if (!(e->status & CT_S_NAT_MASK))
		return;
	pi->nat = 1;
	if (nb->mb != NULL && p->plain) {
		nat_rewrite_in(e, dir, p, nb->mb[j]);
		return;
	}
	nat_target(e, dir, false, &nb->to[j]);
	nb->n_to++;
}

#endif /* DPCT_CT_PROCESS_NAT_H */
