/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_PARSE_PRIVATE_H
#define DPCT_CT_PARSE_PRIVATE_H

/*
 * What the packet parser's two halves share: ct_parse.c (the fast path for
 * plain IPv4 TCP/UDP, the burst and mbuf entry points) and ct_parse_full.c
 * (every other frame). Not a public header.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ_OLD 0x9100

#define P_HOPOPTS 0
#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_ROUTING 43
#define P_GRE 47
#define P_FRAGMENT 44
#define P_ESP 50
#define P_AH 51
#define P_ICMPV6 58
#define P_NONE 59
#define P_DSTOPTS 60
#define P_MOBILITY 135
#define P_HIP 139
#define P_SHIM6 140
#define P_SCTP 132
#define P_UDPLITE 136



/** Most IPv6 extension headers walked before a chain is declared malformed. */
#define CT_PARSE_MAX_EXTHDR 8

/*
 * The region being parsed: `d` holds `cap` readable bytes. Logical lengths
 * (IP total length) may exceed `cap` only for multi-segment mbufs, where
 * the headers must sit in the first segment.
 */
struct pctx {
	const uint8_t *d;
	uint32_t cap;
};

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline bool
have(const struct pctx *c, uint32_t off, uint32_t n)
{
	return off <= c->cap && n <= c->cap - off;
}

/*
 * TCP options as Linux's tcp_options() and tcp_sack() read them: NOP and EOL,
 * then kind/length pairs; a length below 2 or beyond the area ends the walk
 * ("silly" and partial options). Window scale (length 3) is capped at 14;
 * SACK blocks (length 2 + 8n) give the highest right edge after the ack.
 */
static inline void
ct_parse_tcp_options(const struct pctx *c, uint32_t off, uint32_t len, struct ct_pkt *out)
{
	const uint8_t *o;
	uint32_t i = 0;

	out->tcp_sack = out->tcp_ack;
	if (len == 0 || !have(c, off, len))
		return;
	out->tcp_opts |= CT_PKT_OPT_PRESENT;
	o = c->d + off;
	/* NOP, NOP, timestamp: nearly every segment of a Linux or BSD peer (Linux's fast path too). */
	if (len == 12 && rd32(o) == 0x0101080au)
		return;
	while (i < len) {
		uint8_t kind = o[i], sz;

		if (kind == 0)
			return;
		if (kind == 1) {
			i++;
			continue;
		}
		if (len - i < 2)
			return;
		sz = o[i + 1];
		if (sz < 2 || sz > len - i)
			return;
		if (kind == 4 && sz == 2) {
			out->tcp_opts |= CT_PKT_OPT_SACKOK;
		} else if (kind == 3 && sz == 3) {
			out->tcp_opts |= CT_PKT_OPT_WSCALE;
			out->tcp_wscale = o[i + 2] > 14 ? 14 : o[i + 2];
		} else if (kind == 5 && sz >= 10 && (sz - 2) % 8 == 0) {
			uint32_t b;

			for (b = i + 2; b < i + sz; b += 8) {
				uint32_t edge = rd32(o + b + 4);

				if ((int32_t)(edge - out->tcp_sack) > 0)
					out->tcp_sack = edge;
			}
		}
		i += sz;
	}
}

/*
 * The full parser: any frame, `cap` bytes readable at `data`, `wire_len`
 * the packet's length. Fills `out` except its hashes. @return out->cls.
 */
int ct_parse_frame(const uint8_t *data, uint32_t cap, uint32_t wire_len, uint16_t zone,
		   struct ct_pkt *out);

#endif /* DPCT_CT_PARSE_PRIVATE_H */
