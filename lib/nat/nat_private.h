/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_NAT_PRIVATE_H
#define DPCT_NAT_PRIVATE_H

/*
 * What the files of lib/nat share: the table, the pool states and their
 * per-worker slices. Not a public header.
 *
 * A pool state belongs to every table that adopted it (refcnt, changed by
 * the control plane only). Its per-worker part (struct nat_pw) is written
 * by that worker only; other threads read its gauges for statistics and
 * nat_table_adopt()'s live count.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "nat.h"

#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_UDPLITE 136

/* Protocol classes: a public (address, port) is unique within one. */
enum nat_class {
	NAT_C_TCP = 0,
	NAT_C_UDP = 1,   /* UDP and UDP-Lite */
	NAT_C_ICMP = 2,  /* echo identifiers */
	NAT_CLASSES = 3,
};

/* Block states. */
#define NAT_BLK_FREE 0
#define NAT_BLK_USED 1
#define NAT_BLK_RELEASING 2   /* its release event is not yet consumed */

#define NAT_NIL UINT32_MAX

/* A port block of one worker's slice (block mode). */
struct nat_blk {
	uint32_t inside;     /* holder, host order (NAT_BLK_USED) */
	uint32_t next;       /* the holder's next block, NAT_NIL at the end */
	uint16_t used;       /* bindings in the block, all classes */
	uint8_t state;       /* NAT_BLK_* */
	uint8_t had_use;     /* a binding of it was released used (not NAT_S_UNUSED) */
};

/* A subscriber (inside address) of one worker's slice: open addressing. */
struct nat_sub {
	uint32_t inside;
	uint32_t head;       /* first block, NAT_NIL when the slot is empty */
	uint16_t nblk;       /* blocks held */
	uint16_t pad;
};

/* One worker's slice of a pool. Written by that worker only. */
struct nat_pw {
	uint64_t *map;       /* busy bits: [address][class][slice port] */
	uint32_t in_use;     /* bindings held (gauge) */
	uint32_t in_use_cls[NAT_CLASSES]; /* the same by protocol class */
	uint32_t blocks_used; /* blocks held by an inside address */
	uint32_t blocks_releasing; /* released blocks whose release event is not consumed */
	/* Block mode */
	struct nat_blk *blk;      /* [address * bpa + block] */
	uint64_t *blk_map;        /* busy bit per block (used or releasing) */
	struct nat_sub *sub;      /* sub_mask + 1 slots */
	uint32_t sub_mask;
	uint32_t ev_head;         /* oldest pending event */
	uint32_t ev_count;        /* pending events */
	uint32_t ev_cap;          /* 2 x blocks: one alloc and one release per block */
	struct nat_block_ev *ev;
	uint32_t *ev_blk;         /* the block of each event */
} __attribute__((aligned(64)));

/* A pool's binding state, shared by the tables that adopted it. */
struct nat_pool_state {
	struct nat_pool cfg;      /* the pool it was built for */
	unsigned refcnt;          /* tables using it (control plane only) */
	unsigned n_workers;
	uint32_t n_addrs;
	uint32_t slice;           /* ports per worker and address */
	uint32_t words;           /* bitmap words per (address, class) */
	uint32_t bpa;             /* block mode: blocks per address in a slice */
	uint32_t n_blocks;        /* block mode: blocks in a slice (n_addrs * bpa) */
	uint8_t closed;           /* no new bindings (nat_table_close_unadopted()) */
	struct nat_pw *w;         /* [n_workers] */
};

/* Counters of one worker that do not belong to a pool. */
struct nat_wcnt {
	struct nat_stats s;       /* gauges unused here */
	uint64_t now_ns;          /* nat_set_now() */
	uint32_t bind_hint;       /* 1 + the pool of the worker's last NAPT bind, 0 none
				   * (nat_bind_prefetch(): a guess, checked against the table) */
} __attribute__((aligned(64)));

/* The table's per-worker counters, shared with the table that adopts them. */
struct nat_counters {
	unsigned refcnt;          /* control plane only */
	unsigned n_workers;
	struct nat_wcnt *w;       /* [n_workers] */
};

/* Pools by address (sorted by lo), for replies and releases. */
struct nat_pool_ix {
	uint32_t lo;
	uint32_t hi;
	uint32_t pool;
};

/* dnat rules by inside address (sorted by addr), for reply ownership. */
struct nat_dnat_ix {
	uint32_t addr;
	uint32_t rule;
};

struct nat_table {
	unsigned n_pools;
	unsigned n_rules;
	unsigned n_workers;
	bool has_block_rule;      /* a snat rule names a block-mode pool */
	unsigned block_rules_end; /* rules after the last such rule never decide by block */
	struct nat_pool *pools;
	struct nat_rule *rules;
	struct nat_pool_state **ps;   /* [n_pools] */
	struct nat_counters *cnt;
	struct nat_pool_ix *by_addr;  /* [n_pools] */
	struct nat_dnat_ix *dnat_ix;
	unsigned n_dnat;
};

static inline uint32_t
nat_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
nat_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The mask of a prefix length 0..32 (0 for 0): the low half of a 64-bit shift, no branch. */
static inline uint32_t
nat_prefix_mask(unsigned len)
{
	return (uint32_t)(UINT64_MAX << (32 - len));
}

/* The protocol class of a protocol number, or -1 when it has none. */
static inline int
nat_class_of(uint8_t proto)
{
	switch (proto) {
	case P_TCP:
		return NAT_C_TCP;
	case P_UDP:
	case P_UDPLITE:
		return NAT_C_UDP;
	case P_ICMP:
		return NAT_C_ICMP;
	default:
		return -1;
	}
}

/* A 32-bit mixer (murmur3's finaliser) for the inside address. */
static inline uint32_t
nat_mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Index of the pool holding `addr` (host order), or -1. */
static inline int
nat_pool_find(const struct nat_table *t, uint32_t addr)
{
	unsigned lo = 0, hi = t->n_pools;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (addr < t->by_addr[mid].lo)
			hi = mid;
		else if (addr > t->by_addr[mid].hi)
			lo = mid + 1;
		else
			return (int)t->by_addr[mid].pool;
	}
	return -1;
}

/* Bit `i` of a bitmap. */
static inline bool
nat_bit(const uint64_t *m, uint32_t i)
{
	return (m[i / 64] >> (i % 64)) & 1;
}

static inline void
nat_bit_set(uint64_t *m, uint32_t i)
{
	m[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline void
nat_bit_clear(uint64_t *m, uint32_t i)
{
	m[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* The first clear bit in [i, end), or end. */
static inline uint32_t
nat_scan_clear(const uint64_t *m, uint32_t i, uint32_t end)
{
	while (i < end) {
		uint64_t word = ~m[i / 64] >> (i % 64);

		if (word != 0) {
			uint32_t j = i + (uint32_t)__builtin_ctzll(word);

			return j < end ? j : end;
		}
		i = (i / 64 + 1) * 64;
	}
	return end;
}

/*
 * The first clear bit of bits [lo, lo + n) at or after lo + `from`,
 * wrapping around to lo; `from` < n. @return its index relative to lo, or
 * n when every bit is set. Inline: a bind's port choice.
 */
static inline uint32_t
nat_bit_next_clear(const uint64_t *m, uint32_t lo, uint32_t n, uint32_t from)
{
	uint32_t i = lo + from, r;

	r = nat_scan_clear(m, i, lo + n);
	if (r != lo + n)
		return r - lo;
	r = nat_scan_clear(m, lo, i);
	return r != i ? r - lo : n;
}

/* Bitmap of address index `a`, class `cls` in a worker's slice. */
static inline uint64_t *
nat_slice_map(const struct nat_pool_state *ps, const struct nat_pw *pw, uint32_t a, int cls)
{
	return pw->map + ((size_t)a * NAT_CLASSES + (size_t)cls) * ps->words;
}

/* The reply tuple `rev` with public address `addr` (host order) and port `port`. */
static inline void
nat_reply_with(struct ct_tuple *r, const struct ct_tuple *rev, uint32_t addr, uint16_t port)
{
	*r = *rev;
	nat_wr32(r->dst, addr);
	r->dport = port;
}

/*
 * Whether a connection may keep its original source port `port` on pool
 * address `addr` (`rev` its reverse tuple): always without an RSS
 * preference, else only when the NIC steers the reply home (*rss_hit).
 */
bool nat_keep_ok(const struct ct_tuple *rev, uint32_t addr, uint16_t port,
		 nat_rss_pref_fn pref, void *pref_arg, bool *rss_hit);

/*
 * A free port among bits [lo, lo + n) of `map`, bit lo + i being port
 * port0 + i: from `start`, the first free one `pref` accepts within 64
 * tries, else the first free one (*rss_hit false; without `pref` that is
 * nat_bit_next_clear()). @return i, or n when none is free.
 */
uint32_t nat_pick_port(const uint64_t *map, uint32_t lo, uint32_t n, uint32_t start,
		       uint32_t port0, const struct ct_tuple *rev, uint32_t addr,
		       nat_rss_pref_fn pref, void *pref_arg, bool *rss_hit);

/* Protocols whose tuples carry ports: TCP, UDP, UDP-Lite, SCTP, DCCP. */
static inline bool
nat_has_ports(uint8_t proto)
{
	return proto == P_TCP || proto == P_UDP || proto == P_UDPLITE || proto == 132 ||
	       proto == 33;
}

/* nat_rule_match() inline, for the rule walk of every bind. */
static inline bool
nat_rule_match_inline(const struct nat_rule *r, const struct ct_tuple *t, uint16_t in_port)
{
	uint32_t s = nat_rd32(t->src), d = nat_rd32(t->dst);

	if (r->in_port != NAT_ANY_PORT && r->in_port != in_port)
		return false;
	if (r->zone != NAT_ANY_ZONE && (uint32_t)r->zone != t->zone)
		return false;
	if (r->proto != 0 && r->proto != t->proto)
		return false;
	if (((s ^ r->src) & nat_prefix_mask(r->src_len)) != 0 ||
	    ((d ^ r->dst) & nat_prefix_mask(r->dst_len)) != 0)
		return false;
	if (r->dport_lo == 0 && r->dport_hi == UINT16_MAX)
		return true;
	/* A port range matches protocols with ports only (an ICMP key is no port). */
	return nat_has_ports(t->proto) && t->dport >= r->dport_lo && t->dport <= r->dport_hi;
}

/* Whether a rule matches a connection's first packet. */
bool nat_rule_match(const struct nat_rule *r, const struct ct_tuple *t, uint16_t in_port);

/* nat_rules_first() inline, for the bind. */
static inline int
nat_rules_first_inline(const struct nat_table *t, const struct ct_tuple *tu, uint16_t in_port)
{
	unsigned i;

	for (i = 0; i < t->n_rules; i++)
		if (nat_rule_match_inline(&t->rules[i], tu, in_port))
			return (int)i;
	return -1;
}

/* The first rule matching, or -1. */
int nat_rules_first(const struct nat_table *t, const struct ct_tuple *tu, uint16_t in_port);

/* Live bindings of a pool state over all workers: bindings held, blocks awaiting release. */
uint64_t nat_pool_live(const struct nat_pool_state *ps);

/*
 * Block mode (nat_block.c): a port for inside address `inside` of class
 * `cls`, worker `w`, written to *addr and *port; `sport` kept when it is in
 * one of its blocks and free. @return 0 or NAT_ERR_EXHAUSTED.
 */
int nat_block_bind(const struct nat_table *t, unsigned pool, unsigned w, uint32_t inside,
		   int cls, const struct ct_tuple *rev, uint32_t hash, nat_rss_pref_fn pref,
		   void *pref_arg, uint32_t *addr, uint16_t *port, bool *rss_hit);

/*
 * Block mode: the binding at (address index `a`, slice port index `i`) was
 * given back; `unused`: no packet ever left with it (NAT_S_UNUSED).
 */
void nat_block_release(const struct nat_table *t, unsigned pool, unsigned w, uint32_t a,
		       uint32_t i, bool unused);

#endif /* DPCT_NAT_PRIVATE_H */
