/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Strict tracking through parser and shard (issue 9): checksums of each
 * protocol verified as Linux does, L3 byte counters, zones in the key,
 * [UNREPLIED] kept after a RST in SYN_SENT, ICMP query types keyed apart,
 * SCTP/DCCP ports and UDP-Lite as UDP. Frames are built here with checksums
 * from a straightforward reference sum (independent of ct_csum.c).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>

#include "ct_private.h"
#include "dpct_test.h"

struct frame {
	uint8_t b[2048];
	uint32_t n;
};

static const uint8_t A4[4] = { 10, 0, 0, 1 }, B4[4] = { 10, 0, 0, 2 };

static uint32_t
ref_sum(const uint8_t *p, uint32_t n, uint32_t s)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* SCTP CRC32c, bit by bit (reflected polynomial 0x82f63b78). */
static uint32_t
ref_crc32c(const uint8_t *p, uint32_t n)
{
	uint32_t c = 0xffffffffu, i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

/*
 * Ethernet (+ optional VLAN tag) + IPv4 + an L4 header of `l4len` bytes
 * (already written by the caller at frame offset returned by l4_at()), with
 * correct checksums; `vlan` < 0 for untagged.
 */
static uint32_t
l4_at(int vlan)
{
	return 14 + (vlan >= 0 ? 4 : 0) + 20;
}

static void
finish4(struct frame *f, int vlan, uint8_t proto, const uint8_t *src, const uint8_t *dst,
	uint32_t l4len)
{
	uint32_t l3 = 14 + (vlan >= 0 ? 4 : 0), l4 = l3 + 20, ph, s;
	uint8_t *ip = f->b + l3, *t = f->b + l4;

	memset(f->b, 0, 12);
	f->b[0] = 2;
	f->b[6] = 2;
	f->b[11] = 1;
	if (vlan >= 0) {
		put16(f->b + 12, 0x8100);
		put16(f->b + 14, (uint16_t)vlan);
		put16(f->b + 16, 0x0800);
	} else {
		put16(f->b + 12, 0x0800);
	}
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, (uint16_t)~ref_sum(ip, 20, 0));
	f->n = l4 + l4len;
	/* The L4 checksum, where the protocol has one (field zeroed first). */
	ph = ref_sum(ip + 12, 8, 0) + proto + l4len;
	switch (proto) {
	case 6:
		put16(t + 16, 0);
		put16(t + 16, (uint16_t)~ref_sum(t, l4len, ph));
		break;
	case 17:
		put16(t + 6, 0);
		s = (uint16_t)~ref_sum(t, l4len, ph);
		put16(t + 6, (uint16_t)(s == 0 ? 0xffff : s));
		break;
	case 1:
		put16(t + 2, 0);
		put16(t + 2, (uint16_t)~ref_sum(t, l4len, 0));
		break;
	case 132: {
		uint32_t c;

		memset(t + 8, 0, 4);
		c = ref_crc32c(t, l4len);
		t[8] = (uint8_t)c;
		t[9] = (uint8_t)(c >> 8);
		t[10] = (uint8_t)(c >> 16);
		t[11] = (uint8_t)(c >> 24);
		break;
	}
	default:
		break;
	}
}

static void
tcp4(struct frame *f, int vlan, const uint8_t *src, const uint8_t *dst, uint16_t sp,
     uint16_t dp, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t paylen)
{
	uint8_t *t = f->b + l4_at(vlan);

	memset(t, 0, 20u + paylen);
	put16(t, sp);
	put16(t + 2, dp);
	t[4] = (uint8_t)(seq >> 24);
	t[5] = (uint8_t)(seq >> 16);
	t[6] = (uint8_t)(seq >> 8);
	t[7] = (uint8_t)seq;
	t[8] = (uint8_t)(ack >> 24);
	t[9] = (uint8_t)(ack >> 16);
	t[10] = (uint8_t)(ack >> 8);
	t[11] = (uint8_t)ack;
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	finish4(f, vlan, 6, src, dst, 20u + paylen);
}

static void
udp4(struct frame *f, const uint8_t *src, const uint8_t *dst, uint16_t sp, uint16_t dp,
     uint16_t paylen)
{
	uint8_t *t = f->b + l4_at(-1);

	memset(t, 0, 8u + paylen);
	put16(t, sp);
	put16(t + 2, dp);
	put16(t + 4, (uint16_t)(8 + paylen));
	finish4(f, -1, 17, src, dst, 8u + paylen);
}

static void
icmp4(struct frame *f, const uint8_t *src, const uint8_t *dst, uint8_t type, uint16_t id)
{
	uint8_t *t = f->b + l4_at(-1);

	memset(t, 0, 20);
	t[0] = type;
	put16(t + 4, id);
	finish4(f, -1, 1, src, dst, 20);
}

static int
parse_verify(const struct frame *f, struct ct_pkt *p)
{
	ct_parse(f->b, f->n, 0, p);
	ct_pkt_csum_verify(f->b, f->n, p, CT_CSUM_IP | CT_CSUM_L4);
	return p->cls;
}

static int
test_checksums_each_protocol(void)
{
	struct frame f;
	struct ct_pkt p;
	uint8_t *t;

	/* TCP good, then one payload bit flipped. */
	tcp4(&f, -1, A4, B4, 1000, 80, 0x02, 1, 0, 10);
	T_EQ(parse_verify(&f, &p), CT_PKT_TRACK);
	f.b[f.n - 1] ^= 1;
	T_EQ(parse_verify(&f, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_L4_CSUM);
	/* IPv4 header checksum wrong. */
	tcp4(&f, -1, A4, B4, 1000, 80, 0x02, 1, 0, 0);
	f.b[14 + 10] ^= 0x40;
	T_EQ(parse_verify(&f, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_IP_CSUM);
	/* ... not looked at when only L4 is asked for (a NIC said GOOD). */
	ct_parse(f.b, f.n, 0, &p);
	T_EQ(ct_pkt_csum_verify(f.b, f.n, &p, CT_CSUM_L4), 0);
	/* UDP good, bad, and zero = no checksum (accepted as Linux does). */
	udp4(&f, A4, B4, 5000, 53, 7);
	T_EQ(parse_verify(&f, &p), CT_PKT_TRACK);
	t = f.b + l4_at(-1);
	t[6] ^= 0x11;
	T_EQ(parse_verify(&f, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_L4_CSUM);
	t[6] = 0;
	t[7] = 0;
	T_EQ(parse_verify(&f, &p), CT_PKT_TRACK);
	/* UDP length shorter than the IP payload: the checksum over the payload fails. */
	udp4(&f, A4, B4, 5000, 53, 8);
	t = f.b + l4_at(-1);
	put16(t + 4, 12);
	T_EQ(parse_verify(&f, &p), CT_PKT_INVALID);
	/* UDP length beyond the IP payload: a length error before any checksum. */
	udp4(&f, A4, B4, 5000, 53, 8);
	put16(f.b + l4_at(-1) + 4, 40);
	T_EQ(parse_verify(&f, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_UDP_LEN);
	/* ICMP (no pseudo-header). */
	icmp4(&f, A4, B4, 8, 77);
	T_EQ(parse_verify(&f, &p), CT_PKT_TRACK);
	f.b[f.n - 3] ^= 0xff;
	T_EQ(parse_verify(&f, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_L4_CSUM);
	/* SCTP: ports in the tuple, CRC32c checked. */
	t = f.b + l4_at(-1);
	memset(t, 0, 28);
	put16(t, 3868);
	put16(t + 2, 3869);
	t[12] = 1; /* INIT chunk */
	put16(t + 14, 16);
	finish4(&f, -1, 132, A4, B4, 28);
	T_EQ(parse_verify(&f, &p), CT_PKT_TRACK);
	T_EQ(p.tuple.sport, 3868);
	T_EQ(p.tuple.dport, 3869);
	t[20] ^= 1;
	T_EQ(parse_verify(&f, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_L4_CSUM);
	return 0;
}

/* Every TCP payload length up to 1460 with random bytes: good, then one bit flipped. */
static int
test_checksum_every_length(void)
{
	uint64_t x = 0x2545f4914f6cdd1dull;
	struct frame f;
	struct ct_pkt p;
	unsigned len, i;

	for (len = 0; len <= 1990; len++) {
		uint8_t *t = f.b + l4_at(-1);

		tcp4(&f, -1, A4, B4, 40000, 443, 0x10, 7, 9, (uint16_t)len);
		for (i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			t[20 + i] = (uint8_t)x;
		}
		finish4(&f, -1, 6, A4, B4, 20 + len);
		if (parse_verify(&f, &p) != CT_PKT_TRACK)
			T_FAIL_("payload %u: a good checksum refused", len);
		/* In the payload, or (no payload) in the sequence/ack numbers. */
		t[len > 0 ? 20 + x % len : 4 + x % 8] ^= (uint8_t)(1u << (x >> 8) % 8);
		if (parse_verify(&f, &p) != CT_PKT_INVALID || p.invalid_reason != CT_INV_L4_CSUM)
			T_FAIL_("payload %u: a flipped bit not found", len);
	}
	return 0;
}

/*
 * The vector block sums of long ranges, both of them (AVX2 only where the
 * CPU has it), against a plain sum of 32-bit little-endian words: every
 * block count up to 70 at every offset in a 32-byte window, on random bytes
 * and on all-ones (the most carries).
 */
static int
test_sum_blocks_vector(void)
{
	static uint8_t buf[70 * 32 + 64];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned pass, off, nblk, i;
	bool avx2 = __builtin_cpu_supports("avx2");

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = pass ? 0xff : (uint8_t)x;
		}
		for (off = 0; off < 32; off++) {
			for (nblk = 0; nblk <= 70; nblk++) {
				uint64_t want = 0;

				for (i = 0; i < nblk * 8; i++) {
					uint32_t w;

					memcpy(&w, buf + off + 4 * i, 4);
					want += w;
				}
				if (ct_sum_blocks_sse2(buf + off, nblk) != want)
					T_FAIL_("sse2: %u blocks at +%u, pass %u", nblk, off, pass);
				if (avx2 && ct_sum_blocks_avx2(buf + off, nblk) != want)
					T_FAIL_("avx2: %u blocks at +%u, pass %u", nblk, off, pass);
			}
		}
	}
	printf("# avx2 %s\n", avx2 ? "checked" : "not on this CPU");
	return 0;
}

/*
 * The IPv4 header checksum over every header length (IHL 5..15, options of
 * NOPs ending in EOL), untagged and VLAN-tagged (the header at two
 * alignments): a good header is accepted, one bit flipped anywhere in it
 * (options included) is CT_INV_IP_CSUM, and the L4 checksum still holds.
 */
static int
test_ip_header_checksum_every_ihl(void)
{
	unsigned ihl, bit;
	int vlan;

	for (vlan = -1; vlan <= 7; vlan += 8)
		for (ihl = 5; ihl <= 15; ihl++) {
			struct frame base, f;
			struct ct_pkt p;
			uint32_t l3 = 14 + (vlan >= 0 ? 4 : 0), opt = (ihl - 5) * 4, n;
			uint8_t *ip;

			tcp4(&base, vlan, A4, B4, 1000, 80, 0x10, 1, 2, 13);
			/* The same frame with `opt` bytes of options after the header. */
			memcpy(f.b, base.b, l3 + 20);
			memset(f.b + l3 + 20, 1, opt);
			if (opt != 0)
				f.b[l3 + 20 + opt - 1] = 0;
			memcpy(f.b + l3 + 20 + opt, base.b + l3 + 20, base.n - l3 - 20);
			f.n = base.n + opt;
			ip = f.b + l3;
			ip[0] = (uint8_t)(0x40 | ihl);
			put16(ip + 2, (uint16_t)(f.n - l3));
			put16(ip + 10, 0);
			put16(ip + 10, (uint16_t)~ref_sum(ip, ihl * 4, 0));
			if (parse_verify(&f, &p) != CT_PKT_TRACK)
				T_FAIL_("vlan %d ihl %u: a good header refused (%u)", vlan, ihl,
					p.invalid_reason);
			for (bit = 0; bit < ihl * 32; bit += 7) {
				n = bit / 8;
				/* Not version/IHL, length, fragment field or protocol:
				 * they change what the parser makes of the packet. */
				if (n == 0 || n == 2 || n == 3 || n == 6 || n == 7 || n == 9)
					continue;
				ip[n] ^= (uint8_t)(1u << bit % 8);
				if (parse_verify(&f, &p) != CT_PKT_INVALID ||
				    p.invalid_reason != CT_INV_IP_CSUM)
					T_FAIL_("vlan %d ihl %u: bit %u flipped, not found", vlan, ihl,
						bit);
				ip[n] ^= (uint8_t)(1u << bit % 8);
			}
		}
	return 0;
}

/* `f` in two chained mbufs, the first `k` bytes in the first. */
static void
chain2(struct rte_mbuf m[2], uint8_t buf[2][RTE_PKTMBUF_HEADROOM + 2048], const struct frame *f,
       uint32_t k, uint64_t ol_flags)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].buf_addr = buf[i];
		m[i].buf_len = RTE_PKTMBUF_HEADROOM + 2048;
		m[i].data_off = RTE_PKTMBUF_HEADROOM;
		m[i].nb_segs = 1;
	}
	memcpy(buf[0] + RTE_PKTMBUF_HEADROOM, f->b, k);
	memcpy(buf[1] + RTE_PKTMBUF_HEADROOM, f->b + k, f->n - k);
	m[0].data_len = (uint16_t)k;
	m[1].data_len = (uint16_t)(f->n - k);
	m[0].pkt_len = f->n;
	m[1].pkt_len = f->n - k;
	m[0].nb_segs = 2;
	m[0].next = &m[1];
	m[0].ol_flags = ol_flags;
}

static int
mbuf_verify(struct rte_mbuf *m, struct ct_pkt *p)
{
	ct_parse_mbuf(m, 0, p);
	ct_pkt_csum_mbuf(m, p);
	return p->cls;
}

/*
 * ct_pkt_csum_mbuf(): the TCP checksum over a payload split between two
 * segments at every point after the headers (the chain walk), for payloads
 * of 0..300 bytes; and the NIC's verdicts in ol_flags: GOOD skips the sum,
 * BAD is invalid at once, UNKNOWN (a vdev) sums in software.
 */
static int
test_checksum_mbuf_chain_and_offload(void)
{
	static uint8_t buf[2][RTE_PKTMBUF_HEADROOM + 2048];
	const uint32_t hdr = 14 + 20 + 20;
	struct rte_mbuf m[2];
	struct frame f;
	struct ct_pkt p;
	unsigned len, k, split = 0;

	for (len = 0; len <= 300; len += 13) {
		tcp4(&f, -1, A4, B4, 40000, 443, 0x10, 7, 9, (uint16_t)len);
		for (k = 0; k < len; k++)
			f.b[hdr + k] = (uint8_t)(k * 37 + len);
		finish4(&f, -1, 6, A4, B4, 20 + len);
		for (k = hdr; k <= f.n; k++) {
			chain2(m, buf, &f, k, 0);
			if (mbuf_verify(m, &p) != CT_PKT_TRACK)
				T_FAIL_("payload %u split at %u: a good checksum refused", len, k);
			if (len == 0)
				continue;
			/* The last payload byte, in the second segment when k < n. */
			buf[1][RTE_PKTMBUF_HEADROOM + f.n - k - 1] ^= 0x10;
			if (k == f.n)
				buf[0][RTE_PKTMBUF_HEADROOM + f.n - 1] ^= 0x10;
			if (mbuf_verify(m, &p) != CT_PKT_INVALID || p.invalid_reason != CT_INV_L4_CSUM)
				T_FAIL_("payload %u split at %u: a flipped bit not found", len, k);
			split += k < f.n;
		}
	}
	T_ASSERT(split > 1000);
	/* The NIC's verdicts. A wrong L4 sum that the NIC calls GOOD passes. */
	tcp4(&f, -1, A4, B4, 40000, 443, 0x10, 7, 9, 20);
	f.b[f.n - 1] ^= 1;
	chain2(m, buf, &f, f.n, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	T_EQ(mbuf_verify(m, &p), CT_PKT_TRACK);
	chain2(m, buf, &f, f.n, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
	T_EQ(mbuf_verify(m, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_L4_CSUM);
	f.b[f.n - 1] ^= 1;
	chain2(m, buf, &f, f.n, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD);
	T_EQ(mbuf_verify(m, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_L4_CSUM);
	chain2(m, buf, &f, f.n, RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	T_EQ(mbuf_verify(m, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_IP_CSUM);
	/* A wrong IPv4 header sum the NIC did not look at is found here. */
	f.b[14 + 8] ^= 1;
	chain2(m, buf, &f, f.n, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	T_EQ(mbuf_verify(m, &p), CT_PKT_INVALID);
	T_EQ(p.invalid_reason, CT_INV_IP_CSUM);
	return 0;
}

static struct ct_shard *
mkshard(void)
{
	struct ct_conf c;
	char err[128];

	ct_conf_init(&c);
	c.max_entries = 1024;
	c.seed = 7;
	return ct_shard_create(&c, err, sizeof(err));
}

static void
feed(struct ct_shard *s, const struct frame *f, uint16_t zone, uint64_t now, uint8_t *verdict)
{
	struct ct_pkt p;

	ct_parse(f->b, f->n, zone, &p);
	ct_pkt_csum_verify(f->b, f->n, &p, CT_CSUM_IP | CT_CSUM_L4);
	ct_process_burst(s, &p, 1, now, verdict);
}

/* The last staged record's events, status and counters; empties the stage. */
static int
last_rec(struct ct_shard *s, struct ct_event_rec *out, uint64_t now)
{
	unsigned n;
	struct ct_event_rec *r = ct_shard_ev_peek(s, &n);

	if (n == 0)
		return -1;
	*out = r[n - 1];
	ct_shard_ev_commit(s, n, now);
	return (int)n;
}

static int
test_zones_and_l3_bytes(void)
{
	struct ct_shard *s = mkshard();
	struct ct_event_rec r;
	struct ct_stats st;
	struct frame f;
	uint8_t v;

	T_ASSERT(s != NULL);
	/* The same 5-tuple on VLAN 10 (zone 1) and VLAN 20 (zone 2): two entries. */
	tcp4(&f, 10, A4, B4, 40000, 443, 0x02, 100, 0, 0);
	T_EQ(ct_frame_vlan(f.b, f.n), 10);
	feed(s, &f, 1, 1000, &v);
	T_EQ(v, CT_V_PASS);
	tcp4(&f, 20, A4, B4, 40000, 443, 0x02, 100, 0, 0);
	T_EQ(ct_frame_vlan(f.b, f.n), 20);
	feed(s, &f, 2, 2000, &v);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 2);
	T_EQ(last_rec(s, &r, 2000), 2);
	T_EQ(r.orig.zone, 2);
	/* Bytes are the IP datagram (40), not the tagged frame (58). */
	T_EQ(r.bytes[0], 40);
	tcp4(&f, -1, A4, B4, 40000, 443, 0x02, 100, 0, 0);
	T_EQ(ct_frame_vlan(f.b, f.n), CT_VLAN_NONE);
	ct_shard_free(s);
	return 0;
}

static int
test_rst_in_syn_sent_keeps_unreplied(void)
{
	struct ct_shard *s = mkshard();
	struct ct_event_rec r;
	struct frame f;
	uint8_t v;

	T_ASSERT(s != NULL);
	tcp4(&f, -1, A4, B4, 40000, 23, 0x02, 1000, 0, 0);
	feed(s, &f, 0, 1000, &v);
	T_EQ(last_rec(s, &r, 1000), 1);
	/* The server refuses: RST|ACK acking the SYN. */
	tcp4(&f, -1, B4, A4, 23, 40000, 0x14, 0, 1001, 0);
	feed(s, &f, 0, 2000, &v);
	T_EQ(v, CT_V_PASS);
	T_ASSERT(last_rec(s, &r, 2000) >= 1);
	T_ASSERT(r.events & CT_EV_DESTROY);
	T_EQ(r.status & CT_S_SEEN_REPLY, 0);
	T_EQ(r.pkts[1], 1);
	T_EQ(r.bytes[1], 40);
	ct_shard_free(s);
	return 0;
}

static int
test_out_of_window_rst_is_invalid(void)
{
	struct ct_shard *s = mkshard();
	struct ct_stats st;
	struct frame f;
	uint8_t v;

	T_ASSERT(s != NULL);
	tcp4(&f, -1, A4, B4, 40001, 80, 0x02, 1000, 0, 0);
	feed(s, &f, 0, 1000, &v);
	tcp4(&f, -1, B4, A4, 80, 40001, 0x12, 5000, 1001, 0);
	feed(s, &f, 0, 2000, &v);
	tcp4(&f, -1, A4, B4, 40001, 80, 0x10, 1001, 5001, 0);
	feed(s, &f, 0, 3000, &v);
	/* A blind RST with a guessed tuple: INVALID, counted, the entry lives. */
	tcp4(&f, -1, B4, A4, 80, 40001, 0x04, 3000000000u, 0, 0);
	feed(s, &f, 0, 4000, &v);
	T_EQ(v, CT_V_DROP);
	ct_shard_stats(s, &st);
	T_EQ(st.invalid_by_reason[CT_INV_TCP_WINDOW], 1);
	T_EQ(st.count, 1);
	ct_shard_free(s);
	return 0;
}

static int
test_icmp_query_types_apart(void)
{
	struct ct_shard *s = mkshard();
	struct ct_stats st;
	struct frame f;
	uint8_t v;

	T_ASSERT(s != NULL);
	/* Echo and timestamp requests with the same id: two flows, as in Linux. */
	icmp4(&f, A4, B4, 8, 5);
	feed(s, &f, 0, 1000, &v);
	icmp4(&f, A4, B4, 13, 5);
	feed(s, &f, 0, 1000, &v);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 2);
	/* A timestamp reply answers the timestamp flow; an echo reply the echo flow. */
	icmp4(&f, B4, A4, 14, 5);
	feed(s, &f, 0, 2000, &v);
	icmp4(&f, B4, A4, 0, 5);
	feed(s, &f, 0, 2000, &v);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 2);
	T_EQ(st.found, 2);
	/* An address-mask reply with no request: invalid, no entry. */
	icmp4(&f, B4, A4, 18, 5);
	feed(s, &f, 0, 3000, &v);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 2);
	T_EQ(st.invalid_by_reason[CT_INV_STATE], 1);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_checksums_each_protocol),
	T_CASE(test_checksum_every_length),
	T_CASE(test_ip_header_checksum_every_ihl),
	T_CASE(test_sum_blocks_vector),
	T_CASE(test_checksum_mbuf_chain_and_offload),
	T_CASE(test_zones_and_l3_bytes),
	T_CASE(test_rst_in_syn_sent_keeps_unreplied),
	T_CASE(test_out_of_window_rst_is_invalid),
	T_CASE(test_icmp_query_types_apart),
};

T_MAIN(cases)
