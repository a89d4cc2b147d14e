/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet parsing for the conntrack shards: Ethernet, up to two VLAN tags,
 * IPv4/IPv6 (extension headers walked), TCP/UDP/ICMP/ICMPv6, into the
 * struct ct_pkt the shard consumes. Every read is bounds-checked against the
 * bytes that are actually there; length fields are checked against each
 * other as Linux's conntrack does before it tracks a packet.
 *
 * Decisions where the wire allows several readings (mostly as Linux):
 * - VLAN: 0x8100, 0x88a8 or 0x9100 as the outer tag, 0x8100 or 0x88a8 as the
 *   inner one. A third tag is not parsed: the frame is CT_PKT_NOT_IP (it
 *   passes untracked, like any other Ethernet type dpct does not route).
 * - IPv4: the IP total length, not the frame length, ends the packet, so
 *   Ethernet padding is ignored. Non-first fragments are CT_PKT_FRAGMENT. A
 *   first fragment is tracked by its L4 header when that header is complete
 *   inside the fragment (the UDP length field then describes the whole
 *   datagram and is only checked for >= 8); otherwise it is CT_INV_IP_FRAG.
 * - IPv6: at most CT_PARSE_MAX_EXTHDR extension headers (hop-by-hop,
 *   routing, fragment, destination options, AH, mobility, HIP, shim6); a
 *   longer or truncated chain is CT_INV_IPV6_EXTHDR. ESP and "no next
 *   header" end the walk; the packet is tracked by the generic tracker with
 *   that protocol number and ports 0. Fragment headers as for IPv4.
 * - ICMP: the query/response pairs Linux can track (echo, timestamp,
 *   information, address mask; ICMPv6 echo and node information) are keyed as
 *   Linux keys them, by identifier, request type and code: the request has
 *   sport = id and dport = type | code << 8, the response the reverse.
 *   Errors (v4 types 3, 4, 5, 11, 12; v6 every type below 128, as Linux)
 *   carry the quoted packet's tuple, as that packet was sent, with class
 *   CT_PKT_ICMP_ERROR. Other types cannot be
 *   tracked (Linux cannot invert their tuple and marks them INVALID): they
 *   are CT_INV_ICMP, except ICMPv6 MLD and neighbour discovery (130-136, 143),
 *   which Linux leaves untracked and dpct classifies CT_PKT_NOT_IP.
 * - UDP-Lite is tracked as UDP (its length field is the checksum coverage);
 *   SCTP with its ports, its chunks summarised for the tracker; GREv1
 *   (PPTP) with its call ID as the destination key.
 * - DCCP, like everything else, with ports 0: Linux 6.16 removed its DCCP
 *   tracker, and the generic tracker's tuple has no ports.
 * - Everything else carried by IP is tracked with ports 0.
 * - ct_pkt.len, what the counters add, is the IP datagram (total length, or
 *   payload length + 40): Linux's acct counts skb->len after IP trimmed it.
 *
 * This file: the fast path and the entry points; ct_parse_full.c: the rest.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#ifdef __SSE4_2__
#include <nmmintrin.h>
#endif

#include "ct_hash.h"
#include "ct_parse_private.h"
#include "ct_private.h"

/* Copied over a ct_pkt to clear it: plain moves, where memset became `rep stos`. */
static const struct ct_pkt ct_pkt_zero;

/*
 * The frames that make up nearly all traffic: untagged Ethernet, IPv4
 * without options or fragmentation, TCP or UDP, every length field
 * consistent. Read straight through, with ct_parse_frame()'s checks in the
 * same order; any other frame (or any check that would fail) returns false
 * with `out` untouched, and ct_parse_frame() classifies it. The result is
 * byte for byte ct_parse_frame()'s (tests/unit/ct test_parse_fast_equals_full,
 * and fuzz_parse on every input).
 */
static inline bool
parse_fast(const uint8_t *d, uint32_t cap, uint32_t wire_len, uint16_t zone, struct ct_pkt *out)
{
	const uint8_t *ip = d + ETH_HLEN, *l4 = ip + 20;
	uint32_t tot, l4len, doff, ulen, s4, d4, ports;
	uint64_t tail, h;

	if (cap < ETH_HLEN + 20 + 8 || rd16(d + 12) != ETH_P_IPV4 || ip[0] != 0x45 ||
	    (rd16(ip + 6) & 0x3fff) != 0)
		return false;
	tot = rd16(ip + 2);
	if (tot < 20 || tot > wire_len - ETH_HLEN)
		return false;
	l4len = tot - 20;
	switch (ip[9]) {
	case P_TCP:
		if (l4len < 20 || cap < ETH_HLEN + 20 + 20)
			return false;
		doff = (uint32_t)(l4[12] >> 4) * 4;
		if (doff < 20 || doff > l4len || ct_tcp_flags_invalid(l4[13]))
			return false;
		*out = ct_pkt_zero;
		out->tcp_flags = l4[13];
		out->tcp_seq = rd32(l4 + 4);
		out->tcp_ack = rd32(l4 + 8);
		out->tcp_win = rd16(l4 + 14);
		out->payload_len = (uint16_t)(l4len - doff);
		if (doff == 20) {
			out->tcp_sack = out->tcp_ack;
		} else {
			const struct pctx c = { .d = d, .cap = cap };

			ct_parse_tcp_options(&c, ETH_HLEN + 20 + 20, doff - 20, out);
		}
		break;
	case P_UDP:
		ulen = rd16(l4 + 4);
		if (l4len < 8 || ulen < 8 || ulen > l4len)
			return false;
		*out = ct_pkt_zero;
		out->payload_len = (uint16_t)(ulen - 8);
		break;
	default:
		return false;
	}
	memcpy(&s4, ip + 12, 4);
	memcpy(&d4, ip + 16, 4);
	/*
	 * sport, dport, proto, family, zone: one store, and the hash's word in a
	 * register. The two ports are one load, each byte-swapped in its half.
	 */
	memcpy(&ports, l4, 4);
	ports = (ports & 0x00ff00ffu) << 8 | (ports >> 8 & 0x00ff00ffu);
	tail = ports | (uint64_t)ip[9] << 32 | UINT64_C(4) << 40 | (uint64_t)zone << 48;
	memcpy(out->tuple.src, &s4, 4);
	memcpy(out->tuple.dst, &d4, 4);
	memcpy(&out->tuple.sport, &tail, sizeof(tail));
	h = ct_hash_v4(s4, d4, tail);
	out->hash = (uint32_t)h;
	out->owner_hash = (uint32_t)(h >> 32);
	out->len = tot;
	out->l3_off = ETH_HLEN;
	out->l4_off = ETH_HLEN + 20;
	out->cls = CT_PKT_TRACK;
	out->plain = 1;
	return true;
}

static void
finish(struct ct_pkt *out)
{
	if (out->cls == CT_PKT_TRACK || out->cls == CT_PKT_ICMP_ERROR) {
		uint64_t h = ct_tuple_hash64(&out->tuple);

		out->hash = (uint32_t)h;
		out->owner_hash = (uint32_t)(h >> 32);
	}
}

/* Everything parse_fast() does not take, out of line so the fast path saves few registers. */
static __attribute__((noinline)) int
parse_slow(const uint8_t *data, uint32_t cap, uint32_t wire_len, uint16_t zone,
	   struct ct_pkt *out)
{
	ct_parse_frame(data, cap, wire_len, zone, out);
	finish(out);
	/* The fast path's shape, which it marks (a first fragment, say, takes this way). */
	out->plain = out->cls == CT_PKT_TRACK && out->tuple.family == 4 && out->l3_off == ETH_HLEN &&
		     out->l4_off == ETH_HLEN + 20 &&
		     ((out->tuple.proto == P_TCP && cap >= ETH_HLEN + 20 + 20) ||
		      (out->tuple.proto == P_UDP && cap >= ETH_HLEN + 20 + 8));
	return out->cls;
}

/* The fast path, else the full parser: `cap` bytes readable, `wire_len` the packet's. */
static inline __attribute__((always_inline)) int
parse_one(const uint8_t *data, uint32_t cap, uint32_t wire_len, uint16_t zone, struct ct_pkt *out)
{
	if (!parse_fast(data, cap, wire_len, zone, out))
		return parse_slow(data, cap, wire_len, zone, out);
	return CT_PKT_TRACK;
}

/* Headers are read from the first segment; lengths are checked against the whole packet. */
static inline __attribute__((always_inline)) int
parse_mbuf_one(const struct rte_mbuf *m, uint16_t zone, struct ct_pkt *out)
{
	parse_one(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m),
		  rte_pktmbuf_pkt_len(m), zone, out);
	out->in_port = m->port;
	return out->cls;
}

int
ct_parse(const uint8_t *data, uint32_t len, uint16_t zone, struct ct_pkt *out)
{
	return parse_one(data, len, len, zone, out);
}

void
ct_parse_burst(const uint8_t *const *data, const uint32_t *len, unsigned n, uint16_t zone,
	       struct ct_pkt *out)
{
	unsigned i;

	for (i = 0; i < n; i++)
		parse_one(data[i], len[i], len[i], zone, &out[i]);
}

void
ct_parse_mbuf_burst(struct rte_mbuf *const *m, unsigned n, uint16_t zone, struct ct_pkt *out)
{
	unsigned i;

	for (i = 0; i < n; i++)
		parse_mbuf_one(m[i], zone, &out[i]);
}

int
ct_parse_full(const uint8_t *data, uint32_t len, uint16_t zone, struct ct_pkt *out)
{
	return parse_slow(data, len, len, zone, out);
}

int
ct_parse_mbuf(const struct rte_mbuf *m, uint16_t zone, struct ct_pkt *out)
{
	return parse_mbuf_one(m, zone, out);
}

int
ct_pkt_outer_tuple(const struct ct_pkt *p, const uint8_t *frame, struct ct_tuple *out)
{
	const uint8_t *ip;

	if ((p->cls != CT_PKT_TRACK && p->cls != CT_PKT_ICMP_ERROR) || p->l3_off == 0 ||
	    frame == NULL)
		return -EINVAL;
	if (p->cls == CT_PKT_TRACK) {
		*out = p->tuple;
		return 0;
	}
	/* The parser read this header from the same bytes: it is all there. */
	ip = frame + p->l3_off;
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)(ip[0] >> 4);
	out->zone = p->tuple.zone;
	if (out->family == 4) {
		out->proto = P_ICMP;
		memcpy(out->src, ip + 12, 4);
		memcpy(out->dst, ip + 16, 4);
	} else if (out->family == 6) {
		out->proto = P_ICMPV6;
		memcpy(out->src, ip + 8, 16);
		memcpy(out->dst, ip + 24, 16);
	} else {
		return -EINVAL;
	}
	return 0;
}

void
ct_tuple_reverse(struct ct_tuple *out, const struct ct_tuple *in)
{
	struct ct_tuple t;

	/* Via a copy, so that out == in works. */
	t = *in;
	memcpy(out->src, t.dst, sizeof(out->src));
	memcpy(out->dst, t.src, sizeof(out->dst));
	out->sport = t.dport;
	out->dport = t.sport;
	out->proto = t.proto;
	out->family = t.family;
	out->zone = t.zone;
}

uint16_t
ct_frame_vlan(const uint8_t *data, uint32_t len)
{
	uint16_t et;

	if (len < ETH_HLEN + 4)
		return CT_VLAN_NONE;
	et = rd16(data + 12);
	if (et != ETH_P_8021Q && et != ETH_P_8021AD && et != ETH_P_QINQ_OLD)
		return CT_VLAN_NONE;
	return rd16(data + ETH_HLEN) & 0x0fff;
}
