/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checksum verification for the trackers, as Linux does it with
 * nf_conntrack_checksum=1 on PRE_ROUTING (the L4 error() callbacks of
 * nf_conntrack_proto_*.c), plus the IPv4 header checksum that ip_rcv()
 * checks before conntrack ever sees a packet:
 * - TCP, ICMPv6: the Internet checksum with the pseudo-header, always;
 * - UDP: the same, except that a zero checksum means "none" (also over IPv6,
 *   as Linux's conntrack accepts it);
 * - UDP-Lite: over its checksum coverage (0 = all), a zero checksum invalid;
 * - ICMP: the Internet checksum of the whole message, no pseudo-header;
 * - SCTP: CRC32c over the packet (RFC 4960 appendix B);
 * - DCCP: not checked: Linux 6.16 removed its DCCP tracker, and the generic
 *   one checks nothing.
 * The pseudo-header length is the whole L4 length (the IP payload), as the
 * kernel's nf_ip_checksum()/nf_ip6_checksum() compute it: a UDP datagram whose
 * length field is shorter than the IP payload fails here as it does in Linux.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "ct_private.h"

#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_ICMPV6 58
#define P_SCTP 132
#define P_UDPLITE 136

/* Where the bytes are: a flat buffer, or an mbuf chain. */
struct csrc {
	const uint8_t *flat;   /* first (or only) segment */
	uint32_t cap;          /* bytes readable at `flat` */
	const struct rte_mbuf *m;
};

static inline uint32_t
fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Ones' complement addition of two 64-bit words (the carry wraps around). */
static inline uint64_t
add_oc(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

/*
 * Ones' complement sum of n bytes in memory order, 64 bits at a time with
 * the carry wrapped around, into `acc` (unfolded). 2^16 - 1 divides
 * 2^64 - 1, so folding the 64-bit sum gives the sum of the 16-bit words
 * (RFC 1071). The bytes after the last whole word are one zero-padded word
 * (the odd last byte is the first byte of a padded 16-bit word, as the
 * RFC's). Two accumulators keep the two carry chains apart.
 */
static inline uint64_t
ld64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * Long ranges: 32-byte blocks, each 64-bit lane of two accumulators adding
 * the low and the high 32-bit halves of its word, so no carry is lost and
 * none has to be wrapped (a lane takes 2^32 blocks to overflow). Their plain
 * sum is congruent to the sum of the 16-bit words modulo 2^16 - 1, like
 * sum64()'s. The same source twice: AVX2 where the CPU has it (one 32-byte
 * load and four operations a block), else SSE2, the x86-64 baseline (two
 * of each); chosen at each call by __builtin_cpu_supports(), whose answer
 * the compiler's runtime fixed at startup.
 */
typedef uint64_t ct_v4u64 __attribute__((vector_size(32), aligned(8)));

/* Inlined into each of the two below, so each is compiled for its target. */
static inline __attribute__((always_inline)) uint64_t
sum_blocks(const uint8_t *p, size_t nblk)
{
	const ct_v4u64 low = { 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu };
	ct_v4u64 lo = { 0, 0, 0, 0 }, hi = { 0, 0, 0, 0 }, w;

	for (; nblk > 0; nblk--, p += 32) {
		memcpy(&w, p, sizeof(w));
		lo += w & low;
		hi += w >> 32;
	}
	lo += hi;
	return lo[0] + lo[1] + lo[2] + lo[3];
}

uint64_t
ct_sum_blocks_sse2(const uint8_t *p, size_t nblk)
{
	return sum_blocks(p, nblk);
}

__attribute__((target("avx2"))) uint64_t
ct_sum_blocks_avx2(const uint8_t *p, size_t nblk)
{
	return sum_blocks(p, nblk);
}

/* From this length on, the blocks go through the vector sum. */
#define CT_SUM_VEC_MIN 256

static inline uint64_t
sum64(const uint8_t *p, uint32_t n, uint64_t acc)
{
	uint64_t b = 0, t = 0;

	if (n >= CT_SUM_VEC_MIN) {
		size_t nblk = n / 32;

		acc = add_oc(acc, __builtin_cpu_supports("avx2") ? ct_sum_blocks_avx2(p, nblk) :
								    ct_sum_blocks_sse2(p, nblk));
		p += nblk * 32;
		n -= (uint32_t)(nblk * 32);
	}

	for (; n >= 32; p += 32, n -= 32) {
		acc = add_oc(acc, ld64(p));
		b = add_oc(b, ld64(p + 8));
		acc = add_oc(acc, ld64(p + 16));
		b = add_oc(b, ld64(p + 24));
	}
	if (n & 16) {
		acc = add_oc(acc, ld64(p));
		b = add_oc(b, ld64(p + 8));
		p += 16;
	}
	if (n & 8) {
		acc = add_oc(acc, ld64(p));
		p += 8;
	}
	if (n & 7) {
		unsigned at = 0;

		if (n & 4) {
			uint32_t v;

			memcpy(&v, p, 4);
			t = v;
			at = 4;
		}
		if (n & 2) {
			uint16_t h;

			memcpy(&h, p + at, 2);
			t |= (uint64_t)h << (8 * at);
			at += 2;
		}
		if (n & 1)
			t |= (uint64_t)p[at] << (8 * at);
		acc = add_oc(acc, t);
	}
	return add_oc(acc, b);
}

/* A 64-bit ones' complement sum folded to 16 bits. */
static inline uint32_t
fold64(uint64_t a)
{
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffffffffu) + (a >> 32);
	return fold((uint32_t)a);
}

/* Ones' complement sum of n bytes, folded to 16 bits (not complemented). */
static inline uint32_t
ocsum(const uint8_t *p, uint32_t n)
{
	return fold64(sum64(p, n, 0));
}

/*
 * The sum of [off, off + len) of an mbuf chain, segment by segment. A piece
 * that starts at an odd offset of the range has its bytes in the other
 * halves of the 16-bit words: its folded sum is byte-swapped before it is
 * added. (DPDK 22.11's rte_raw_cksum_mbuf() swaps the piece's unfolded
 * 32-bit sum truncated to 16 bits, which loses the carries: a good segment
 * split at an odd length failed here; test_checksum_mbuf_chain_and_offload.)
 * @return -1 if the chain is shorter than the range.
 */
static int
sum_chain(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint32_t *out)
{
	uint64_t acc = 0;
	uint32_t done = 0, segs = 0;

	if (off + (uint64_t)len > rte_pktmbuf_pkt_len(m))
		return -1;
	for (; m != NULL && done < len && segs < RTE_MBUF_MAX_NB_SEGS; m = m->next, segs++) {
		uint32_t dl = rte_pktmbuf_data_len(m), n, v;

		if (off >= dl) {
			off -= dl;
			continue;
		}
		n = dl - off < len - done ? dl - off : len - done;
		v = ocsum(rte_pktmbuf_mtod_offset(m, const uint8_t *, off), n);
		if (done & 1)
			v = ((v & 0xff) << 8) | (v >> 8);
		acc = add_oc(acc, v);
		done += n;
		off = 0;
	}
	if (done != len)
		return -1;
	*out = fold64(acc);
	return 0;
}

/* Ones' complement sum (not complemented, folded to 16 bits) of [off, off+len). */
static int
sum_range(const struct csrc *c, uint32_t off, uint32_t len, uint32_t *out)
{
	if (off <= c->cap && len <= c->cap - off) {
		*out = ocsum(c->flat + off, len);
		return 0;
	}
	if (c->m == NULL)
		return -1;
	return sum_chain(c->m, off, len, out);
}

/*
 * The pseudo-header's sum (unfolded): the addresses straight from the IP
 * header, then the L4 length (32 bits, network order) and the protocol as
 * the 64-bit word {0, 0, len3, len2, len1, len0, 0, proto} in memory order.
 * The sums are of 16-bit words in memory order (byte-swapped numbers on
 * little endian).
 */
static inline uint64_t
pseudo_sum(const uint8_t *ip, uint8_t family, uint8_t proto, uint32_t l4len)
{
	uint8_t tail[8] = { 0, 0, (uint8_t)(l4len >> 24), (uint8_t)(l4len >> 16),
			    (uint8_t)(l4len >> 8), (uint8_t)l4len, 0, proto };
	uint64_t t;

	memcpy(&t, tail, sizeof(t));
	return family == 4 ? sum64(ip + 12, 8, t) : sum64(ip + 8, 32, t);
}

/* CRC32c (the rte_hash_crc instructions) over bytes at any alignment. */
static uint32_t
crc32c_bytes(const uint8_t *p, uint32_t n, uint32_t crc)
{
	uint64_t w;
	uint32_t v;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, sizeof(w));
		crc = rte_hash_crc_8byte(w, crc);
	}
	if (n >= 4) {
		memcpy(&v, p, sizeof(v));
		crc = rte_hash_crc_4byte(v, crc);
		p += 4;
		n -= 4;
	}
	for (; n > 0; p++, n--)
		crc = rte_hash_crc_1byte(*p, crc);
	return crc;
}

/* SCTP CRC32c with the checksum field as zero; stored little-endian. */
static int
sctp_ok(const struct csrc *c, uint32_t off, uint32_t len)
{
	const uint8_t *h;
	uint32_t crc, want;

	if (off > c->cap || len > c->cap - off || len < 12)
		return 1; /* not in one segment: not checked (see ct.h) */
	h = c->flat + off;
	crc = crc32c_bytes(h, 8, 0xffffffffu);
	crc = rte_hash_crc_4byte(0, crc);
	crc = crc32c_bytes(h + 12, len - 12, crc);
	crc = ~crc;
	want = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 |
	       (uint32_t)h[11] << 24;
	return crc == want;
}

static int
l4_ok(const struct csrc *c, const struct ct_pkt *p, uint8_t family)
{
	const uint8_t *ip = c->flat + p->l3_off;
	uint8_t proto;
	uint32_t end = p->l3_off + p->len, l4len, cov, s;
	uint64_t ps;

	if (p->l4_off == 0 || p->l4_off > end)
		return 1;
	proto = family == 4 ? ip[9] : 0;
	if (family == 6) {
		/* The upper-layer protocol after the extension headers. */
		proto = p->cls == CT_PKT_ICMP_ERROR ? P_ICMPV6 : p->tuple.proto;
	} else if (p->cls == CT_PKT_ICMP_ERROR) {
		proto = P_ICMP;
	}
	l4len = end - p->l4_off;
	cov = l4len;
	switch (proto) {
	case P_TCP:
	case P_ICMPV6:
		break;
	case P_UDP:
		if (l4len < 8 || (c->flat[p->l4_off + 6] | c->flat[p->l4_off + 7]) == 0)
			return 1;
		break;
	case P_UDPLITE: {
		uint32_t f;

		if (l4len < 8)
			return 1;
		f = (uint32_t)c->flat[p->l4_off + 4] << 8 | c->flat[p->l4_off + 5];
		if ((c->flat[p->l4_off + 6] | c->flat[p->l4_off + 7]) == 0)
			return 0; /* UDP-Lite mandates a checksum */
		cov = f == 0 ? l4len : f;
		break;
	}
	case P_ICMP:
		if (sum_range(c, p->l4_off, l4len, &s) != 0)
			return 1;
		return s == 0xffff;
	case P_SCTP:
		return sctp_ok(c, p->l4_off, l4len);
	default:
		return 1;
	}
	if (cov > l4len)
		return 0;
	ps = pseudo_sum(ip, family, proto, l4len);
	/* One pass with the pseudo-header when the range is in the first segment. */
	if (p->l4_off <= c->cap && cov <= c->cap - p->l4_off)
		return fold64(sum64(c->flat + p->l4_off, cov, ps)) == 0xffff;
	if (sum_range(c, p->l4_off, cov, &s) != 0)
		return 1;
	return fold64(add_oc(ps, s)) == 0xffff;
}

static int
verify(const struct csrc *c, struct ct_pkt *p, unsigned what)
{
	const uint8_t *ip;
	uint8_t family;

	if (p->cls != CT_PKT_TRACK && p->cls != CT_PKT_ICMP_ERROR)
		return 0;
	if (p->l3_off == 0)
		return 0;
	ip = c->flat + p->l3_off;
	family = (uint8_t)(ip[0] >> 4);
	if (family != 4 && family != 6)
		return 0;
	if ((what & CT_CSUM_IP) && family == 4) {
		uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4, s;

		/* The usual 20-byte header inline, with its length a constant. */
		if (ihl == 20 && p->l3_off <= c->cap && 20 <= c->cap - p->l3_off)
			s = ocsum(ip, 20);
		else if (sum_range(c, p->l3_off, ihl, &s) != 0)
			s = 0xffff; /* not in the first segment: not checked */
		if (s != 0xffff) {
			p->cls = CT_PKT_INVALID;
			p->invalid_reason = CT_INV_IP_CSUM;
			return -EBADMSG;
		}
	}
	if ((what & CT_CSUM_L4) && !l4_ok(c, p, family)) {
		p->cls = CT_PKT_INVALID;
		p->invalid_reason = CT_INV_L4_CSUM;
		return -EBADMSG;
	}
	return 0;
}

int
ct_pkt_csum_verify(const uint8_t *data, uint32_t len, struct ct_pkt *p, unsigned what)
{
	struct csrc c = { .flat = data, .cap = len, .m = NULL };

	return verify(&c, p, what);
}

int
ct_pkt_csum_mbuf(const struct rte_mbuf *m, struct ct_pkt *p)
{
	struct csrc c = {
		.flat = rte_pktmbuf_mtod(m, const uint8_t *),
		.cap = rte_pktmbuf_data_len(m),
		.m = m,
	};
	uint64_t ipf = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	uint64_t l4f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	unsigned what = 0;

	if (p->cls != CT_PKT_TRACK && p->cls != CT_PKT_ICMP_ERROR)
		return 0;
	if (ipf == RTE_MBUF_F_RX_IP_CKSUM_BAD && p->tuple.family == 4) {
		p->cls = CT_PKT_INVALID;
		p->invalid_reason = CT_INV_IP_CSUM;
		return -EBADMSG;
	}
	if (ipf == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN)
		what |= CT_CSUM_IP;
	/*
	 * NICs report L4 results for TCP and UDP; an ICMP error's outer
	 * checksum, ICMP and SCTP are verified here unless reported GOOD.
	 */
	if (l4f == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
		p->cls = CT_PKT_INVALID;
		p->invalid_reason = CT_INV_L4_CSUM;
		return -EBADMSG;
	}
	if (l4f == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN)
		what |= CT_CSUM_L4;
	if (what == 0)
		return 0;
	return verify(&c, p, what);
}
