/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-gen flows of GRE and ESP (the generic tracker's) and the malformed
 * single packets: truncated or inconsistent headers at every layer.
 */
#include <errno.h>
#include <string.h>

#include "gen_private.h"

/*
 * Enhanced GRE (version 1, PPTP) of a PPP frame: the key field holds the
 * payload length and the receiving side's call ID, one per direction.
 */
static int
gre_pptp(struct gen *g, struct gen_flow *f, int dir)
{
	static const uint8_t ppp[12] = { 0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08,
					 0x12, 0x34, 0x56, 0x78 }; /* LCP echo request */

	g->l4[0] = 0x30;          /* key and sequence number present */
	g->l4[1] = 0x01;          /* version 1 */
	gen_put16(g->l4 + 2, 0x880b);
	gen_put16(g->l4 + 4, sizeof(ppp));
	gen_put16(g->l4 + 6, (uint16_t)((dir ? 0x2000u : 0x1000u) + (f->index & 0xfff)));
	gen_put32(g->l4 + 8, 1 + f->step / 2);
	memcpy(g->l4 + 12, ppp, sizeof(ppp));
	if (gen_emit(g, gen_flow_frame(g->frame, f, dir, 47, g->l4, 12 + sizeof(ppp))) < 0)
		return -EINVAL;
	return f->step + 1 < 2 * f->len_a;
}

/*
 * len_a GRE packets each way (GEN_K_GRE_ONEWAY: client to server only),
 * carrying an IPv4 ping between inside addresses; GEN_K_GRE_PPTP: PPTP's
 * enhanced GRE.
 */
int
gen_step_gre(struct gen *g, struct gen_flow *f)
{
	static const uint8_t in_a[4] = { 172, 16, 0, 1 };
	static const uint8_t in_b[4] = { 172, 16, 0, 2 };
	int dir = f->kind == GEN_K_GRE_ONEWAY ? 0 : (int)(f->step & 1);
	uint8_t echo[64];
	size_t elen, ilen, end;

	if (f->kind == GEN_K_GRE_PPTP)
		return gre_pptp(g, f, dir);

	/* Inner packet: an IPv4 ping between the tunnel endpoints' inside addresses. */
	elen = gen_icmp_echo_build(echo, &(struct gen_flow){ .sport = (uint16_t)f->index },
				   dir, (uint16_t)(1 + f->step / 2));
	if (gen_frame_ip(g->tmp, 0, dir ? in_b : in_a, dir ? in_a : in_b, 1,
			 (uint16_t)f->step, dir, echo, elen) == 0)
		return -EINVAL;
	end = gen_frame_ip_end(g->tmp, 0);
	ilen = end - GEN_ETH_LEN;
	gen_put16(g->l4, 0);      /* no checksum, key or sequence; version 0 */
	gen_put16(g->l4 + 2, 0x0800);
	memcpy(g->l4 + 4, g->tmp + GEN_ETH_LEN, ilen);
	if (gen_emit(g, gen_flow_frame(g->frame, f, dir, 47, g->l4, 4 + ilen)) < 0)
		return -EINVAL;
	if (f->kind == GEN_K_GRE_ONEWAY)
		return f->step + 1 < f->len_a;
	return f->step + 1 < 2 * f->len_a;
}

/* len_a ESP packets each way, one SPI per direction, random ciphertext. */
int
gen_step_esp(struct gen *g, struct gen_flow *f)
{
	int dir = (int)(f->step & 1);
	uint32_t i;

	gen_put32(g->l4, dir ? (0x80000000u | f->index) : (0x1000u + f->index)); /* SPI */
	gen_put32(g->l4 + 4, 1 + f->step / 2);                                   /* sequence */
	for (i = 0; i < 64; i++)
		g->l4[8 + i] = (uint8_t)gen_rand(&g->rng); /* ciphertext looks random */
	if (gen_emit(g, gen_flow_frame(g->frame, f, dir, 50, g->l4, 72)) < 0)
		return -EINVAL;
	return f->step + 1 < 2 * f->len_a;
}

/* A good TCP SYN frame of flow f in g->frame; returns its length. */
static size_t
syn_frame(struct gen *g, struct gen_flow *f, uint8_t flags)
{
	size_t l4len = gen_tcp_build(g->l4, f, 0, flags, 0);

	return gen_flow_frame(g->frame, f, 0, 6, g->l4, l4len);
}

int
gen_step_bad(struct gen *g, struct gen_flow *f)
{
	uint8_t *ip = g->frame + GEN_ETH_LEN;
	size_t len = 0, l4len, iph = f->v6 ? GEN_IP6_LEN : GEN_IP4_LEN;
	uint16_t v;

	switch (f->kind) {
	case GEN_K_BAD_TRUNC_ETH:
		syn_frame(g, f, GEN_TCP_SYN);
		len = 10;
		break;
	case GEN_K_BAD_TRUNC_IP:
		syn_frame(g, f, GEN_TCP_SYN);
		len = GEN_ETH_LEN + iph / 2 + 2;
		break;
	case GEN_K_BAD_IHL:
		len = syn_frame(g, f, GEN_TCP_SYN);
		ip[0] = 0x44; /* IHL 4: shorter than the fixed header */
		gen_frame_ip4_csum(g->frame);
		break;
	case GEN_K_BAD_TOTAL_LEN:
		len = syn_frame(g, f, GEN_TCP_SYN);
		/* Claims 100 bytes more than the frame holds. */
		if (f->v6) {
			v = (uint16_t)((ip[4] << 8 | ip[5]) + 100);
			gen_put16(ip + 4, v);
		} else {
			v = (uint16_t)((ip[2] << 8 | ip[3]) + 100);
			gen_put16(ip + 2, v);
			gen_frame_ip4_csum(g->frame);
		}
		break;
	case GEN_K_BAD_TRUNC_TCP:
		gen_tcp_build(g->l4, f, 0, GEN_TCP_SYN, 0);
		len = gen_flow_frame(g->frame, f, 0, 6, g->l4, 12);
		break;
	case GEN_K_BAD_TRUNC_UDP:
		gen_unreach_udp_build(g->l4, f);
		len = gen_flow_frame(g->frame, f, 0, 17, g->l4, 6);
		break;
	case GEN_K_BAD_TRUNC_ICMP:
		gen_icmp_echo_build(g->l4, f, 0, 1);
		len = gen_flow_frame(g->frame, f, 0, gen_proto_icmp(f), g->l4, 6);
		break;
	case GEN_K_BAD_TCP_DOFF:
		l4len = gen_tcp_build(g->l4, f, 0, GEN_TCP_SYN, 0);
		g->l4[12] = 3 << 4; /* data offset 3 words: inside the fixed header */
		len = gen_flow_frame(g->frame, f, 0, 6, g->l4, l4len);
		break;
	case GEN_K_BAD_SYN_FIN:
		len = syn_frame(g, f, GEN_TCP_SYN | GEN_TCP_FIN);
		break;
	case GEN_K_BAD_UDP_LEN:
		l4len = gen_unreach_udp_build(g->l4, f);
		/* The length field is only written now, so the checksum still covers it. */
		gen_put16(g->l4 + 4, (uint16_t)(l4len + 20));
		len = gen_flow_frame(g->frame, f, 0, 17, g->l4, l4len);
		break;
	case GEN_K_BAD_ICMP_QUOTE:
		/* Port unreachable quoting only 10 bytes: not even an IP header. */
		syn_frame(g, f, GEN_TCP_SYN);
		memcpy(g->tmp, g->frame, GEN_ETH_LEN + 10);
		l4len = f->v6 ? gen_icmp_error_build(g, f, 1, 4, g->tmp, GEN_ETH_LEN + 10) :
				gen_icmp_error_build(g, f, 3, 3, g->tmp, GEN_ETH_LEN + 10);
		len = gen_flow_frame(g->frame, f, 1, gen_proto_icmp(f), g->l4, l4len);
		break;
	case GEN_K_BAD_TRUNC_V6_EXT:
		/* Hop-by-hop (8 bytes, PadN) then a routing header that claims
		 * 24 bytes but only 8 are there: the chain ends inside a header.
		 */
		memset(g->l4, 0, 16);
		g->l4[0] = 43; /* next: routing */
		g->l4[1] = 0;
		g->l4[2] = 1;  /* PadN */
		g->l4[3] = 4;
		g->l4[8] = 6;  /* next: TCP */
		g->l4[9] = 2;  /* (2 + 1) * 8 = 24 bytes */
		len = gen_flow_frame(g->frame, f, 0, 0, g->l4, 16);
		break;
	default:
		return -EINVAL;
	}
	return gen_emit(g, len) < 0 ? -EINVAL : 0;
}
