/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rewriting a packet's addresses, ports and ICMP identifiers, with the
 * checksums updated incrementally (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')):
 * every 16-bit word written adds ~old + new to the sum of each checksum
 * that covers it (the TCP/UDP pseudo-header covers the addresses).
 *
 * Every bound is checked before the first byte is written, so a refused
 * packet is left as it was.
 */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "nat_private.h"

#define P_DCCP 33

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Write `v` at `f`, adding the change to the sums given (NULL: none). */
static inline void
put16(uint8_t *f, uint16_t v, uint32_t *s1, uint32_t *s2)
{
	uint16_t old = rd16(f);

	if (old == v)
		return;
	if (s1 != NULL)
		*s1 += (uint16_t)~old + (uint32_t)v;
	if (s2 != NULL)
		*s2 += (uint16_t)~old + (uint32_t)v;
	wr16(f, v);
}

static inline void
put32(uint8_t *f, uint32_t v, uint32_t *s1, uint32_t *s2)
{
	put16(f, (uint16_t)(v >> 16), s1, s2);
	put16(f + 2, (uint16_t)v, s1, s2);
}

/* The checksum at `f` after changes summing to `sum`; a UDP zero stays zero. */
static inline void
csum_fix(uint8_t *f, uint32_t sum, bool udp, uint32_t *outer)
{
	uint16_t old = rd16(f), nw;
	uint32_t x;

	if (sum == 0 || (udp && old == 0))
		return;
	x = (uint16_t)~old + sum;
	x = (x & 0xffff) + (x >> 16);
	x = (x & 0xffff) + (x >> 16);
	nw = (uint16_t)~x;
	if (udp && nw == 0)
		nw = 0xffff;
	put16(f, nw, outer, NULL);
}

/* ICMP query types: 1 request, 2 response (its identifier is the tuple's dport), 0 neither. */
static int
icmp_query(uint8_t type)
{
	switch (type) {
	case 8: case 13: case 15: case 17:
		return 1;
	case 0: case 14: case 16: case 18:
		return 2;
	default:
		return 0;
	}
}

static bool
ports_changed(const struct ct_tuple *a, const struct ct_tuple *b)
{
	return a->sport != b->sport || a->dport != b->dport;
}

/*
 * What a transport header at `l4` (`avail` bytes there) lets us rewrite:
 * the offset of its checksum (-1: none kept), whether it is UDP's (0 =
 * none), whether it has a pseudo-header, the offset of the identifier of
 * an ICMP query and which tuple port that is. @return 0 or -errno.
 */
struct l4_plan {
	int csum_off;
	bool udp_zero_ok;
	bool pseudo;
	int id_off;         /* ICMP query: 4, else -1 */
	bool id_is_dport;   /* ICMP response */
	bool ports;         /* TCP/UDP/UDP-Lite ports at 0 and 2 */
};

static int
l4_plan(uint8_t proto, const uint8_t *l4, uint32_t avail, bool quoted, bool addr_change,
	bool port_change, struct l4_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->csum_off = -1;
	pl->id_off = -1;
	switch (proto) {
	case P_TCP:
		if (avail < (quoted ? 8u : 18u))
			return -EINVAL;
		pl->ports = true;
		pl->pseudo = true;
		/* A quote of fewer than the 20 header bytes keeps its checksum, as Linux. */
		if (!quoted || avail >= 20)
			pl->csum_off = 16;
		return 0;
	case P_UDP:
	case P_UDPLITE:
		if (avail < 8)
			return -EINVAL;
		pl->ports = true;
		pl->pseudo = true;
		pl->csum_off = 6;
		pl->udp_zero_ok = proto == P_UDP;
		return 0;
	case P_ICMP: {
		int kind;

		if (avail < 8)
			return -EINVAL;
		pl->csum_off = 2;
		kind = icmp_query(l4[0]);
		if (kind == 0)
			return port_change ? -EPROTONOSUPPORT : 0;
		pl->id_off = 4;
		pl->id_is_dport = kind == 2;
		return 0;
	}
	case P_DCCP:
		/* Its checksum covers a pseudo-header we do not update. */
		if (addr_change && !quoted)
			return -EPROTONOSUPPORT;
		return port_change ? -EPROTONOSUPPORT : 0;
	default:
		return port_change ? -EPROTONOSUPPORT : 0;
	}
}

/*
 * Apply a plan: addresses already summed into `pseudo`; ports or the ICMP
 * identifier from `to`, then the L4 checksum. Changes are added to `outer`
 * (the checksum of a quoting ICMP message), or not summed (NULL).
 */
static void
l4_apply(uint8_t *l4, const struct l4_plan *pl, const struct ct_tuple *from,
	 const struct ct_tuple *to, uint32_t pseudo, uint32_t *outer)
{
	uint32_t sum = pl->pseudo ? pseudo : 0;

	if (pl->ports) {
		put16(l4, to->sport, &sum, outer);
		put16(l4 + 2, to->dport, &sum, outer);
	} else if (pl->id_off >= 0 && ports_changed(from, to)) {
		put16(l4 + pl->id_off, pl->id_is_dport ? to->dport : to->sport, &sum, outer);
	}
	if (pl->csum_off >= 0)
		csum_fix(l4 + pl->csum_off, sum, pl->udp_zero_ok, outer);
}

/* The IPv4 header at `ip` (`avail` bytes from it): its length, or 0 when unusable. */
static uint32_t
ipv4_hlen(const uint8_t *ip, uint32_t avail)
{
	uint32_t ihl;

	if (avail < 20 || (ip[0] >> 4) != 4)
		return 0;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	return ihl >= 20 && ihl <= avail ? ihl : 0;
}

/* Addresses of the header at `ip` to those of `to`: IP checksum and pseudo-header sums. */
static void
addrs_apply(uint8_t *ip, const struct ct_tuple *to, uint32_t *pseudo, uint32_t *outer)
{
	uint32_t isum = 0;

	put32(ip + 12, nat_rd32(to->src), &isum, pseudo);
	put32(ip + 16, nat_rd32(to->dst), &isum, pseudo);
	if (outer != NULL)
		*outer += isum;
	csum_fix(ip + 10, isum, false, outer);
}

static int
rewrite_error(uint8_t *frame, uint32_t len, const struct ct_pkt *p, const struct ct_tuple *to)
{
	uint8_t *ip = frame + p->l3_off, *icmp, *q;
	uint32_t ihl, qihl, tot, end, qoff, pseudo = 0, isum = 0, osum = 0;
	bool src_changed, dst_changed;
	struct l4_plan pl;
	int rc;

	ihl = ipv4_hlen(ip, len - p->l3_off);
	if (ihl == 0)
		return -EINVAL;
	tot = rd16(ip + 2);
	end = p->l3_off + tot < len ? p->l3_off + tot : len;
	if (p->l4_off < p->l3_off + ihl || p->l4_off > end || end - p->l4_off < 8 + 20)
		return -EINVAL;
	icmp = frame + p->l4_off;
	qoff = p->l4_off + 8;
	q = frame + qoff;
	qihl = ipv4_hlen(q, end - qoff);
	if (qihl == 0)
		return -EINVAL;
	src_changed = memcmp(p->tuple.src, to->src, 4) != 0;
	dst_changed = memcmp(p->tuple.dst, to->dst, 4) != 0;
	/* A redirect about a translated flow is dropped, as Linux does. */
	if (icmp[0] == 5 && (src_changed || dst_changed || ports_changed(&p->tuple, to)))
		return -EPROTONOSUPPORT;
	rc = l4_plan(p->tuple.proto, q + qihl, end - qoff - qihl, true, src_changed || dst_changed,
		     ports_changed(&p->tuple, to), &pl);
	if (rc != 0)
		return rc;
	/* The quoted header: its addresses (and IP checksum), then its transport part. */
	addrs_apply(q, to, &pseudo, &osum);
	l4_apply(q + qihl, &pl, &p->tuple, to, pseudo, &osum);
	csum_fix(icmp + 2, osum, false, NULL);
	/*
	 * The outer header, as Linux: the error goes to the quoted packet's
	 * sender as it is now known, and seems to come from its receiver as
	 * now known, on the side whose quoted address changed.
	 */
	if (src_changed)
		put32(ip + 16, nat_rd32(to->src), &isum, NULL);
	if (dst_changed)
		put32(ip + 12, nat_rd32(to->dst), &isum, NULL);
	csum_fix(ip + 10, isum, false, NULL);
	return 0;
}

void
nat_rewrite_deltas(const struct ct_pkt *p, const struct ct_tuple *to, uint16_t d[2])
{
	ct_nat_csum_deltas(&p->tuple, to, d);
}

int
nat_rewrite(uint8_t *frame, uint32_t len, const struct ct_pkt *p, const struct ct_tuple *to)
{
	uint32_t ihl, pseudo = 0, end;
	struct l4_plan pl;
	uint8_t *ip;
	int rc;

	if (frame == NULL || p == NULL || to == NULL || p->tuple.family != 4 || p->l3_off == 0 ||
	    p->l3_off >= len)
		return -EINVAL;
	if (nat_rewrite_fast(frame, len, p, to))
		return 0;
	if (p->cls == CT_PKT_ICMP_ERROR)
		return rewrite_error(frame, len, p, to);
	ip = frame + p->l3_off;
	ihl = ipv4_hlen(ip, len - p->l3_off);
	if (ihl == 0)
		return -EINVAL;
	if (p->cls == CT_PKT_FRAGMENT) {
		addrs_apply(ip, to, NULL, NULL);
		return 0;
	}
	if (p->cls != CT_PKT_TRACK || p->l4_off < p->l3_off + ihl || p->l4_off > len)
		return -EINVAL;
	end = p->l3_off + rd16(ip + 2);
	if (end > len || end < p->l4_off)
		return -EINVAL;
	rc = l4_plan(p->tuple.proto, frame + p->l4_off, end - p->l4_off, false,
		     memcmp(p->tuple.src, to->src, 4) != 0 || memcmp(p->tuple.dst, to->dst, 4) != 0,
		     ports_changed(&p->tuple, to), &pl);
	if (rc != 0)
		return rc;
	addrs_apply(ip, to, &pseudo, NULL);
	l4_apply(frame + p->l4_off, &pl, &p->tuple, to, pseudo, NULL);
	return 0;
}
