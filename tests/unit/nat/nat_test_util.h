/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_NAT_TEST_UTIL_H
#define DPCT_NAT_TEST_UTIL_H

/*
 * Frames for the lib/nat tests: Ethernet + IPv4 (+ one VLAN tag on
 * request) + TCP/UDP/UDP-Lite/ICMP with every checksum computed from
 * scratch, ICMP errors quoting such a frame's IP packet, and a checker that
 * recomputes every checksum of a frame, the quoted ones included.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ct.h"
#include "nat.h"

#define TF_MAX 512

struct tf {
	uint8_t b[TF_MAX];
	uint32_t len;
	uint32_t l3;     /* offset of the IPv4 header */
};

static inline uint32_t
ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static inline void
tf_w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t
tf_r16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
tf_w32(uint8_t *p, uint32_t v)
{
	tf_w16(p, (uint16_t)(v >> 16));
	tf_w16(p + 2, (uint16_t)v);
}

static inline uint32_t
tf_r32(const uint8_t *p)
{
	return (uint32_t)tf_r16(p) << 16 | tf_r16(p + 2);
}

/* Ones' complement sum of `n` bytes from `p`, added to `sum`. */
static inline uint32_t
tf_sum(const uint8_t *p, uint32_t n, uint32_t sum)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += tf_r16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static inline uint16_t
tf_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The L4 checksum over the pseudo-header of `ip` (length `plen`, the IP
 * payload) and `n` bytes at `l4` (the UDP-Lite coverage, else plen).
 */
static inline uint16_t
tf_l4_csum(const uint8_t *ip, const uint8_t *l4, uint32_t n, uint8_t proto, uint32_t plen)
{
	uint32_t s = tf_sum(ip + 12, 8, 0);

	s += proto;
	s += plen;
	return tf_fold(tf_sum(l4, n, s));
}

/*
 * An IPv4 packet at `p`: header (20 bytes, checksum set), then `l4len`
 * bytes of `l4`, whose checksum is set per protocol (`csum`: false leaves a
 * UDP checksum 0). Returns the packet's length.
 */
static inline uint32_t
tf_put_ipv4(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, const uint8_t *l4,
	    uint32_t l4len, bool csum, uint16_t frag)
{
	uint8_t *q = p + 20;

	memset(p, 0, 20);
	p[0] = 0x45;
	tf_w16(p + 2, (uint16_t)(20 + l4len));
	tf_w16(p + 4, 0x1234);
	tf_w16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	tf_w32(p + 12, src);
	tf_w32(p + 16, dst);
	tf_w16(p + 10, tf_fold(tf_sum(p, 20, 0)));
	memcpy(q, l4, l4len);
	if ((frag & 0x1fff) != 0 || (frag & 0x2000) != 0)
		return 20 + l4len;
	switch (proto) {
	case 6:
		tf_w16(q + 16, 0);
		tf_w16(q + 16, tf_l4_csum(p, q, l4len, 6, l4len));
		break;
	case 17:
		tf_w16(q + 6, 0);
		if (csum) {
			uint16_t c = tf_l4_csum(p, q, l4len, 17, l4len);

			tf_w16(q + 6, c == 0 ? 0xffff : c);
		}
		break;
	case 136:
		/* UDP-Lite, coverage = the length field (8: the header only). */
		tf_w16(q + 6, 0);
		tf_w16(q + 6, tf_l4_csum(p, q, tf_r16(q + 4) == 0 ? l4len : tf_r16(q + 4), 136,
					  l4len));
		break;
	case 1:
		tf_w16(q + 2, 0);
		tf_w16(q + 2, tf_fold(tf_sum(q, l4len, 0)));
		break;
	default:
		break;
	}
	return 20 + l4len;
}

/* Ethernet header (+ a VLAN tag when `vlan`), leaving f->l3 at the IP header. */
static inline void
tf_eth(struct tf *f, bool vlan)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	memset(f, 0, sizeof(*f));
	memcpy(f->b, macs, 12);
	if (vlan) {
		tf_w16(f->b + 12, 0x8100);
		tf_w16(f->b + 14, 100);
		tf_w16(f->b + 16, 0x0800);
		f->l3 = 18;
	} else {
		tf_w16(f->b + 12, 0x0800);
		f->l3 = 14;
	}
}

static inline void
tf_tcp(struct tf *f, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, bool vlan)
{
	uint8_t l4[28];

	memset(l4, 0, sizeof(l4));
	tf_w16(l4, sp);
	tf_w16(l4 + 2, dp);
	tf_w32(l4 + 4, 0x01020304);
	l4[12] = 5 << 4;
	l4[13] = 0x02;   /* SYN */
	tf_w16(l4 + 14, 29200);
	memcpy(l4 + 20, "payload!", 8);
	tf_eth(f, vlan);
	f->len = f->l3 + tf_put_ipv4(f->b + f->l3, 6, src, dst, l4, sizeof(l4), true, 0);
}

/* UDP (proto 17) or UDP-Lite (136, coverage 8). */
static inline void
tf_udp(struct tf *f, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
       bool csum, const char *payload)
{
	uint8_t l4[64];
	uint32_t n = (uint32_t)strlen(payload);

	memset(l4, 0, sizeof(l4));
	tf_w16(l4, sp);
	tf_w16(l4 + 2, dp);
	tf_w16(l4 + 4, (uint16_t)(proto == 136 ? 8 : 8 + n));
	memcpy(l4 + 8, payload, n);
	tf_eth(f, false);
	f->len = f->l3 + tf_put_ipv4(f->b + f->l3, proto, src, dst, l4, 8 + n, csum, 0);
}

/* ICMP echo request (type 8) or reply (type 0). */
static inline void
tf_echo(struct tf *f, uint8_t type, uint32_t src, uint32_t dst, uint16_t id)
{
	uint8_t l4[16];

	memset(l4, 0, sizeof(l4));
	l4[0] = type;
	tf_w16(l4 + 4, id);
	tf_w16(l4 + 6, 7);
	memcpy(l4 + 8, "pingping", 8);
	tf_eth(f, false);
	f->len = f->l3 + tf_put_ipv4(f->b + f->l3, 1, src, dst, l4, sizeof(l4), true, 0);
}

/*
 * An ICMP error (type 3 code 3) from `src` to `dst` quoting the IP packet
 * of `q`, its first `quote` bytes (0: all of it).
 */
static inline void
tf_error(struct tf *f, uint32_t src, uint32_t dst, const struct tf *q, uint32_t quote)
{
	uint8_t l4[TF_MAX];
	uint32_t n = q->len - q->l3;

	if (quote != 0 && quote < n)
		n = quote;
	memset(l4, 0, 8);
	l4[0] = 3;
	l4[1] = 3;
	memcpy(l4 + 8, q->b + q->l3, n);
	tf_eth(f, false);
	f->len = f->l3 + tf_put_ipv4(f->b + f->l3, 1, src, dst, l4, 8 + n, true, 0);
}

/*
 * Every checksum of the IPv4 packet at `ip`, `n` bytes: the header, the
 * L4 checksum (a UDP 0 passes; a first fragment's L4 is not checked), and
 * for an ICMP error the quoted packet's when its header and (for L4) its
 * whole datagram are there. TCP/UDP quotes of the whole datagram only.
 * @return 0 when all are right, else a number saying which failed.
 */
static inline int
tf_check_ip(const uint8_t *ip, uint32_t n, bool quoted)
{
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4, tot = tf_r16(ip + 2), l4len;
	const uint8_t *l4 = ip + ihl;

	if (tf_fold(tf_sum(ip, ihl, 0)) != 0)
		return 1;
	if (tf_r16(ip + 6) & 0x3fff)
		return 0;
	if (tot > n)
		return quoted ? 0 : 2;
	l4len = tot - ihl;
	switch (ip[9]) {
	case 6:
		return tf_l4_csum(ip, l4, l4len, 6, l4len) == 0 ? 0 : 3;
	case 17:
		if (tf_r16(l4 + 6) == 0)
			return 0;
		return tf_l4_csum(ip, l4, l4len, 17, l4len) == 0 ? 0 : 4;
	case 136: {
		uint32_t cov = tf_r16(l4 + 4) == 0 ? l4len : tf_r16(l4 + 4);

		return tf_l4_csum(ip, l4, cov, 136, l4len) == 0 ? 0 : 5;
	}
	case 1:
		if (tf_fold(tf_sum(l4, l4len, 0)) != 0)
			return 6;
		if (!quoted && (l4[0] == 3 || l4[0] == 11) && l4len >= 28) {
			int rc = tf_check_ip(l4 + 8, l4len - 8, true);

			return rc == 0 ? 0 : 10 + rc;
		}
		return 0;
	default:
		return 0;
	}
}

static inline int
tf_check(const struct tf *f)
{
	return tf_check_ip(f->b + f->l3, f->len - f->l3, false);
}

static inline void
tf_mark(uint8_t *mask, uint32_t len, uint32_t off, uint32_t n)
{
	for (; n > 0 && off < len; n--, off++)
		mask[off] = 1;
}

/* The bytes of a transport header at `l4` that a rewrite may change. */
static inline void
tf_mark_l4(uint8_t *mask, uint32_t len, uint32_t l4, uint8_t proto)
{
	switch (proto) {
	case 6:
		tf_mark(mask, len, l4, 4);
		tf_mark(mask, len, l4 + 16, 2);
		break;
	case 17:
	case 136:
		tf_mark(mask, len, l4, 4);
		tf_mark(mask, len, l4 + 6, 2);
		break;
	case 1:
		tf_mark(mask, len, l4 + 2, 4);
		break;
	default:
		break;
	}
}

/*
 * Whether nat_rewrite() of `p` changed only what it may: addresses and the
 * IPv4 checksum, ports or the ICMP identifier and the L4 checksum, and for
 * an ICMP error the ICMP checksum and the quoted header's fields.
 * @return -1, or the offset of the first byte changed that may not be.
 */
static inline long
tf_changed_only_allowed(const uint8_t *before, const uint8_t *after, uint32_t len,
			const struct ct_pkt *p)
{
	static uint8_t mask[65536];
	uint32_t i;

	memset(mask, 0, len);
	tf_mark(mask, len, p->l3_off + 10, 10);
	if (p->cls == CT_PKT_TRACK) {
		tf_mark_l4(mask, len, p->l4_off, p->tuple.proto);
	} else if (p->cls == CT_PKT_ICMP_ERROR && (uint32_t)p->l4_off + 8 < len) {
		uint32_t q = p->l4_off + 8u;

		tf_mark(mask, len, p->l4_off + 2u, 2);
		tf_mark(mask, len, q + 10, 10);
		tf_mark_l4(mask, len, q + (uint32_t)(before[q] & 0x0f) * 4, p->tuple.proto);
	}
	for (i = 0; i < len; i++)
		if (before[i] != after[i] && !mask[i])
			return (long)i;
	return -1;
}

/* A tuple from its parts (addresses host order). */
static inline struct ct_tuple
tf_tuple(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	tf_w32(t.src, src);
	tf_w32(t.dst, dst);
	t.sport = sp;
	t.dport = dp;
	t.proto = proto;
	t.family = 4;
	return t;
}

static inline struct ct_pkt
tf_parse(const struct tf *f)
{
	struct ct_pkt p;

	ct_parse(f->b, f->len, 0, &p);
	return p;
}

/* A pool: name, addresses lo..hi, ports, NAPT. */
static inline struct nat_pool
tf_pool(const char *name, uint32_t lo, uint32_t hi, uint16_t plo, uint16_t phi)
{
	struct nat_pool p;

	memset(&p, 0, sizeof(p));
	strncpy(p.name, name, sizeof(p.name) - 1);
	p.addr_lo = lo;
	p.addr_hi = hi;
	p.port_lo = plo;
	p.port_hi = phi;
	p.mode = NAT_MODE_NAPT;
	return p;
}

static inline struct nat_rule
tf_snat(const char *name, uint32_t src, uint8_t len, uint16_t pool)
{
	struct nat_rule r;

	nat_rule_init(&r);
	strncpy(r.name, name, sizeof(r.name) - 1);
	r.kind = NAT_SNAT;
	r.src = src;
	r.src_len = len;
	r.pool = pool;
	return r;
}

static inline struct nat_rule
tf_dnat(const char *name, uint8_t proto, uint32_t dst, uint16_t dlo, uint16_t dhi,
	uint32_t to, uint16_t to_port)
{
	struct nat_rule r;

	nat_rule_init(&r);
	strncpy(r.name, name, sizeof(r.name) - 1);
	r.kind = NAT_DNAT;
	r.proto = proto;
	r.dst = dst;
	r.dst_len = 32;
	r.dport_lo = dlo;
	r.dport_hi = dhi;
	r.to_addr = to;
	r.to_port = to_port;
	return r;
}

#endif /* DPCT_NAT_TEST_UTIL_H */
