/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-gen flow setup: which kind each flow is (the workloads' weighted
 * mixes), its addresses, ports and sizes, and the framing and output helpers
 * every kind's step function uses.
 */
#include <errno.h>
#include <string.h>

#include "gen_private.h"

struct kind_weight {
	enum gen_kind kind;
	uint32_t weight;
};

static const struct kind_weight w_short_tcp[] = {
	{ GEN_K_TCP, 1 },
};

static const struct kind_weight w_bulk_tcp[] = {
	{ GEN_K_TCP_BULK, 1 },
};

static const struct kind_weight w_udp[] = {
	{ GEN_K_UDP_DNS, 50 },
	{ GEN_K_UDP_RR, 20 },
	{ GEN_K_UDP_ONEWAY, 30 },
};

static const struct kind_weight w_icmp[] = {
	{ GEN_K_ICMP_ECHO, 60 },
	{ GEN_K_ICMP_UNREACH, 30 },
	{ GEN_K_ICMP_HOST, 10 },
};

static const struct kind_weight w_mix[] = {
	{ GEN_K_TCP, 50 },
	{ GEN_K_UDP_DNS, 12 },
	{ GEN_K_UDP_RR, 5 },
	{ GEN_K_UDP_ONEWAY, 8 },
	{ GEN_K_ICMP_ECHO, 10 },
	{ GEN_K_ICMP_UNREACH, 5 },
	{ GEN_K_ICMP_HOST, 3 },
	{ GEN_K_GRE, 4 },
	{ GEN_K_ESP, 3 },
};

/*
 * What window tracking and checksum verification decide: out-of-window and
 * bad-checksum packets among good flows. IPv6 has no ICMP query pairs but echo.
 */
static const struct kind_weight w_sctp[] = {
	{ GEN_K_SCTP, 50 },
	{ GEN_K_SCTP_ABORT, 25 },
	{ GEN_K_SCTP_BADTAG, 25 },
};

static const struct kind_weight w_dccp[] = {
	{ GEN_K_DCCP, 70 },
	{ GEN_K_DCCP_BADSEQ, 30 },
};

static const struct kind_weight w_gre[] = {
	{ GEN_K_GRE, 50 },
	{ GEN_K_GRE_ONEWAY, 30 },
	{ GEN_K_GRE_PPTP, 20 },
};

static const struct kind_weight w_ftp[] = {
	{ GEN_K_FTP_PASV, 50 },
	{ GEN_K_FTP_PORT, 50 },
};

static const struct kind_weight w_tftp[] = {
	{ GEN_K_TFTP, 1 },
};

static const struct kind_weight w_strict[] = {
	{ GEN_K_TCP, 10 },
	{ GEN_K_TCP_OOW_RST, 10 },
	{ GEN_K_TCP_OOW_DATA, 10 },
	{ GEN_K_TCP_WSCALE, 5 },
	{ GEN_K_CSUM_TCP, 8 },
	{ GEN_K_CSUM_UDP, 8 },
	{ GEN_K_CSUM_ICMP, 8 },
	{ GEN_K_UDP_SHORTLEN, 8 },
	{ GEN_K_ICMP_TSTAMP, 6 },
	{ GEN_K_ICMP_INFO, 6 },
	{ GEN_K_ICMP_MASK, 6 },
};

static const struct kind_weight w_strict_v6[] = {
	{ GEN_K_TCP, 10 },
	{ GEN_K_TCP_OOW_RST, 10 },
	{ GEN_K_TCP_OOW_DATA, 10 },
	{ GEN_K_TCP_WSCALE, 5 },
	{ GEN_K_CSUM_TCP, 8 },
	{ GEN_K_CSUM_UDP, 8 },
	{ GEN_K_CSUM_ICMP, 8 },
	{ GEN_K_UDP_SHORTLEN, 8 },
};

/* The good traffic that malformed packets are interleaved with. */
static const struct kind_weight w_malformed_good[] = {
	{ GEN_K_TCP, 60 },
	{ GEN_K_UDP_DNS, 20 },
	{ GEN_K_ICMP_ECHO, 20 },
};

static const enum gen_kind bad_v4[] = {
	GEN_K_BAD_TRUNC_ETH, GEN_K_BAD_TRUNC_IP, GEN_K_BAD_IHL, GEN_K_BAD_TOTAL_LEN,
	GEN_K_BAD_TRUNC_TCP, GEN_K_BAD_TRUNC_UDP, GEN_K_BAD_TRUNC_ICMP, GEN_K_BAD_TCP_DOFF,
	GEN_K_BAD_SYN_FIN, GEN_K_BAD_UDP_LEN, GEN_K_BAD_ICMP_QUOTE, GEN_K_BAD_TRUNC_V6_EXT,
};

/* IPv6 has no IHL; everything else has an IPv6 form. */
static const enum gen_kind bad_v6[] = {
	GEN_K_BAD_TRUNC_ETH, GEN_K_BAD_TRUNC_IP, GEN_K_BAD_TOTAL_LEN,
	GEN_K_BAD_TRUNC_TCP, GEN_K_BAD_TRUNC_UDP, GEN_K_BAD_TRUNC_ICMP, GEN_K_BAD_TCP_DOFF,
	GEN_K_BAD_SYN_FIN, GEN_K_BAD_UDP_LEN, GEN_K_BAD_ICMP_QUOTE, GEN_K_BAD_TRUNC_V6_EXT,
};

static enum gen_kind
pick_kind(struct gen *g, const struct kind_weight *w, size_t n)
{
	uint32_t total = 0, r;
	size_t i;

	for (i = 0; i < n; i++)
		total += w[i].weight;
	r = gen_rand_below(&g->rng, total);
	for (i = 0; i < n; i++) {
		if (r < w[i].weight)
			return w[i].kind;
		r -= w[i].weight;
	}
	return w[n - 1].kind;
}

enum gen_kind
gen_choose_kind(struct gen *g, uint64_t index)
{
	switch (g->p->workload) {
	case GEN_W_SHORT_TCP:
		return pick_kind(g, w_short_tcp, GEN_N_ELEM(w_short_tcp));
	case GEN_W_UDP:
		return pick_kind(g, w_udp, GEN_N_ELEM(w_udp));
	case GEN_W_BULK_TCP:
		return pick_kind(g, w_bulk_tcp, GEN_N_ELEM(w_bulk_tcp));
	case GEN_W_ICMP:
		return pick_kind(g, w_icmp, GEN_N_ELEM(w_icmp));
	case GEN_W_MIX:
		return pick_kind(g, w_mix, GEN_N_ELEM(w_mix));
	case GEN_W_SCTP:
		return pick_kind(g, w_sctp, GEN_N_ELEM(w_sctp));
	case GEN_W_DCCP:
		return pick_kind(g, w_dccp, GEN_N_ELEM(w_dccp));
	case GEN_W_GRE:
		return pick_kind(g, w_gre, GEN_N_ELEM(w_gre));
	case GEN_W_FTP:
		return pick_kind(g, w_ftp, GEN_N_ELEM(w_ftp));
	case GEN_W_TFTP:
		return pick_kind(g, w_tftp, GEN_N_ELEM(w_tftp));
	case GEN_W_STRICT:
		if (g->p->v6)
			return pick_kind(g, w_strict_v6, GEN_N_ELEM(w_strict_v6));
		return pick_kind(g, w_strict, GEN_N_ELEM(w_strict));
	case GEN_W_MALFORMED:
	default:
		/* Every other flow is one bad packet, cycling through all shapes so
		 * that each appears once per cycle.
		 */
		if ((index & 1) == 0)
			return pick_kind(g, w_malformed_good, GEN_N_ELEM(w_malformed_good));
		if (g->p->v6)
			return bad_v6[(g->bad_base + index / 2) % GEN_N_ELEM(bad_v6)];
		return bad_v4[(g->bad_base + index / 2) % GEN_N_ELEM(bad_v4)];
	}
}

/*
 * Addresses: 4000 clients (10.1.1.1-10.1.16.250 or fd00:0:0:1::1-...), each
 * using successive source ports, and 32 servers in the documentation range
 * (192.0.2.10-41 or 2001:db8::10-2f). Tuples are unique for the first 256M
 * flows, so no flow reuses a tuple that is still in TIME_WAIT somewhere.
 */
#define N_CLIENTS 4000
#define N_SERVERS 32

static void
flow_addresses(struct gen *g, struct gen_flow *f, uint64_t index)
{
	uint32_t host = (uint32_t)(index % N_CLIENTS);
	uint32_t round = (uint32_t)(index / N_CLIENTS);
	uint32_t srv = (uint32_t)(index % N_SERVERS);

	memset(f->cli, 0, sizeof(f->cli));
	memset(f->srv, 0, sizeof(f->srv));
	if (f->v6) {
		f->cli[0] = 0xfd;
		f->cli[7] = 0x01;
		gen_put16(f->cli + 14, (uint16_t)(host + 1));
		f->srv[0] = 0x20;
		f->srv[1] = 0x01;
		f->srv[2] = 0x0d;
		f->srv[3] = 0xb8;
		f->srv[15] = (uint8_t)(0x10 + srv);
	} else {
		f->cli[0] = 10;
		f->cli[1] = 1;
		f->cli[2] = (uint8_t)(1 + host / 250);
		f->cli[3] = (uint8_t)(1 + host % 250);
		f->srv[0] = 192;
		f->srv[1] = 0;
		f->srv[2] = 2;
		f->srv[3] = (uint8_t)(10 + srv);
	}
	/* 7919 is coprime with 64000, so ports of one client never repeat. */
	f->sport = (uint16_t)(1024 + (round * 7919u + g->sport_base) % 64000u);
}

void
gen_flow_init(struct gen *g, struct gen_flow *f, enum gen_kind kind, uint64_t index)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->index = (uint32_t)index;
	f->v6 = (uint8_t)(g->p->v6 || kind == GEN_K_BAD_TRUNC_V6_EXT);
	flow_addresses(g, f, index);
	f->ip_id[0] = (uint16_t)gen_rand(&g->rng);
	f->ip_id[1] = (uint16_t)gen_rand(&g->rng);
	f->seq[0] = (uint32_t)gen_rand(&g->rng);
	f->seq[1] = (uint32_t)gen_rand(&g->rng);
	f->wake_us = g->out.now_us;

	switch (kind) {
	case GEN_K_TCP:
	case GEN_K_TCP_OOW_RST:
	case GEN_K_TCP_OOW_DATA:
	case GEN_K_TCP_WSCALE:
	case GEN_K_CSUM_TCP:
	case GEN_K_TCP_BULK:
		f->dport = gen_rand_below(&g->rng, 2) ? 443 : 80;
		f->len_a = 60 + gen_rand_below(&g->rng, 340);
		f->len_b = 200 + gen_rand_below(&g->rng, 1200);
		f->rst = kind == GEN_K_TCP && gen_rand_below(&g->rng, 8) == 0;
		break;
	case GEN_K_CSUM_UDP:
	case GEN_K_UDP_SHORTLEN:
		f->dport = 53;
		f->len_a = (uint16_t)gen_rand(&g->rng); /* DNS id */
		break;
	case GEN_K_CSUM_ICMP:
		f->dport = 0;
		f->len_a = 1 + gen_rand_below(&g->rng, 2);
		break;
	case GEN_K_ICMP_TSTAMP:
	case GEN_K_ICMP_INFO:
	case GEN_K_ICMP_MASK:
		f->dport = 0;
		break;
	case GEN_K_FTP_PASV:
	case GEN_K_FTP_PORT:
		/* Data ports: the client's next port, a server port from 30000 up. */
		f->dport = 21;
		f->seq2[0] = (uint32_t)gen_rand(&g->rng);
		f->seq2[1] = (uint32_t)gen_rand(&g->rng);
		f->port2[0] = (uint16_t)(f->sport == 65535 ? 1024 : f->sport + 1);
		f->port2[1] = (uint16_t)(30000 + f->index % 30000);
		if (kind == GEN_K_FTP_PORT)
			f->port2[1] = f->port2[0];
		break;
	case GEN_K_TFTP:
		f->dport = 69;
		f->port2[1] = (uint16_t)(30000 + f->index % 30000);
		break;
	case GEN_K_UDP_DNS:
		f->dport = 53;
		f->len_a = (uint16_t)gen_rand(&g->rng); /* DNS id */
		break;
	case GEN_K_UDP_RR:
		f->dport = 123;
		f->len_a = GEN_RR_EXCHANGES;
		break;
	case GEN_K_UDP_ONEWAY:
		f->dport = 514;
		f->len_a = 1 + gen_rand_below(&g->rng, 4);
		f->len_b = 40 + gen_rand_below(&g->rng, 160);
		break;
	case GEN_K_ICMP_ECHO:
		f->dport = 0;
		f->len_a = 1 + gen_rand_below(&g->rng, 3);
		break;
	case GEN_K_ICMP_UNREACH:
		f->dport = (uint16_t)(33434 + index % 30);
		break;
	case GEN_K_ICMP_HOST:
		f->dport = 22;
		break;
	case GEN_K_GRE:
	case GEN_K_GRE_ONEWAY:
	case GEN_K_GRE_PPTP:
	case GEN_K_ESP:
		f->len_a = 2 + gen_rand_below(&g->rng, 2);
		break;
	case GEN_K_SCTP:
	case GEN_K_SCTP_ABORT:
	case GEN_K_SCTP_BADTAG:
		/* Verification tags are never 0 (RFC 9260); len_b picks the ABORT's T bit. */
		f->dport = gen_rand_below(&g->rng, 2) ? 36412 : 2905;
		f->seq[0] |= 1;
		f->seq[1] |= 1;
		f->len_a = 20 + gen_rand_below(&g->rng, 200);
		f->len_b = gen_rand_below(&g->rng, 2);
		break;
	case GEN_K_DCCP:
	case GEN_K_DCCP_BADSEQ:
		f->dport = 5004;
		f->len_a = 20 + gen_rand_below(&g->rng, 200);
		break;
	default:
		/* The malformed shapes reuse a TCP SYN, a UDP datagram or an ICMP echo. */
		f->dport = 80;
		break;
	}
}

static const uint8_t *
src_of(const struct gen_flow *f, int dir)
{
	return dir ? f->srv : f->cli;
}

static const uint8_t *
dst_of(const struct gen_flow *f, int dir)
{
	return dir ? f->cli : f->srv;
}

size_t
gen_flow_frame(uint8_t *buf, struct gen_flow *f, int dir, uint8_t proto, uint8_t *l4,
	       size_t l4len)
{
	return gen_frame_ip(buf, f->v6, src_of(f, dir), dst_of(f, dir), proto,
			    f->ip_id[dir]++, dir, l4, l4len);
}

size_t
gen_frame_ip_end(const uint8_t *frame, int v6)
{
	const uint8_t *ip = frame + GEN_ETH_LEN;

	if (v6)
		return GEN_ETH_LEN + GEN_IP6_LEN + ((size_t)ip[4] << 8 | ip[5]);
	return GEN_ETH_LEN + ((size_t)ip[2] << 8 | ip[3]);
}

int
gen_emit(struct gen *g, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (g->mangle != 0 && g->mangle_at + 2 <= len) {
		uint8_t *c = g->frame + g->mangle_at;

		if (g->mangle == GEN_MANGLE_CSUM) {
			c[0] ^= 0x5a;
			if (c[0] == 0 && c[1] == 0)
				c[1] = 1;
		} else {
			gen_put16(c, (uint16_t)(((c[0] << 8) | c[1]) - 4));
		}
	}
	g->mangle = 0;
	return gen_out_frame(&g->out, g->frame, len);
}

/* Mangle the next frame of f at L4 offset `off` (see gen_emit()). */
static void
mangle_next(struct gen *g, const struct gen_flow *f, int how, unsigned off)
{
	g->mangle = how;
	g->mangle_at = GEN_ETH_LEN + (f->v6 ? GEN_IP6_LEN : GEN_IP4_LEN) + off;
}

/*
 * A first packet that Linux (nf_conntrack_checksum=1) calls INVALID, then
 * the flow as usual (its step 0 again): TCP, UDP or ICMP with a bad
 * checksum, or a UDP datagram whose length is 4 below the IP payload.
 */
int
gen_step_bad_first(struct gen *g, struct gen_flow *f, gen_step_fn normal, int how, unsigned off)
{
	uint32_t s = f->step;
	int rc;

	if (s == 0)
		mangle_next(g, f, how, off);
	else
		f->step = s - 1;
	rc = normal(g, f);
	f->step = s;
	if (s == 0) {
		/* Its sequence number is used again by the good packet. */
		if (f->kind == GEN_K_CSUM_TCP)
			f->seq[0]--;
		return rc < 0 ? rc : 1;
	}
	return rc;
}
