/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-gen workloads: flow kinds as small step machines, mixed by weight and
 * interleaved round-robin over a fixed number of open flows (--concurrency).
 *
 * A flow may ask to wait (UDP exchanges spread over seconds); round-robin
 * skips waiting flows, and when every open flow waits the capture clock
 * jumps to the earliest wake-up. Nothing depends on the host: the same
 * parameters give the same packets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* UDP exchanges 1.5 s apart: the third one comes 3 s after creation, past
 * the 2 s after which Linux (and dpct) consider a UDP flow a stream (ASSURED).
 */
#define RR_EXCHANGES 3
#define RR_GAP_US 1500000

#define MANGLE_CSUM 1     /* a 16-bit checksum made wrong (never 0) */
#define MANGLE_SHORTEN 2  /* a 16-bit length 4 smaller */

struct gen {
	struct gen_out out;
	struct gen_rng rng;
	const struct gen_params *p;
	uint16_t sport_base;
	uint32_t bad_base;
	/* The next emitted frame is mangled at this offset (0: not): MANGLE_*. */
	uint32_t mangle_at;
	int mangle;
	uint8_t frame[GEN_FRAME_MAX + GEN_FRAME_MIN];
	uint8_t l4[GEN_FRAME_MAX];
	uint8_t tmp[GEN_FRAME_MAX + GEN_FRAME_MIN];
};

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

/* What a strict tracker decides (issue 9); IPv6 has no ICMP query pairs but echo. */
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

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

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

static enum gen_kind
choose_kind(struct gen *g, uint64_t index)
{
	switch (g->p->workload) {
	case GEN_W_SHORT_TCP:
		return pick_kind(g, w_short_tcp, N_ELEM(w_short_tcp));
	case GEN_W_UDP:
		return pick_kind(g, w_udp, N_ELEM(w_udp));
	case GEN_W_BULK_TCP:
		return pick_kind(g, w_bulk_tcp, N_ELEM(w_bulk_tcp));
	case GEN_W_ICMP:
		return pick_kind(g, w_icmp, N_ELEM(w_icmp));
	case GEN_W_MIX:
		return pick_kind(g, w_mix, N_ELEM(w_mix));
	case GEN_W_STRICT:
		if (g->p->v6)
			return pick_kind(g, w_strict_v6, N_ELEM(w_strict_v6));
		return pick_kind(g, w_strict, N_ELEM(w_strict));
	case GEN_W_MALFORMED:
	default:
		/* Every other flow is one bad packet, cycling through all shapes so
		 * that each appears once per cycle.
		 */
		if ((index & 1) == 0)
			return pick_kind(g, w_malformed_good, N_ELEM(w_malformed_good));
		if (g->p->v6)
			return bad_v6[(g->bad_base + index / 2) % N_ELEM(bad_v6)];
		return bad_v4[(g->bad_base + index / 2) % N_ELEM(bad_v4)];
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
		put16(f->cli + 14, (uint16_t)(host + 1));
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

static void
flow_init(struct gen *g, struct gen_flow *f, enum gen_kind kind, uint64_t index)
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
	case GEN_K_UDP_DNS:
		f->dport = 53;
		f->len_a = (uint16_t)gen_rand(&g->rng); /* DNS id */
		break;
	case GEN_K_UDP_RR:
		f->dport = 123;
		f->len_a = RR_EXCHANGES;
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
	case GEN_K_ESP:
		f->len_a = 2 + gen_rand_below(&g->rng, 2);
		break;
	default:
		/* The malformed shapes reuse a TCP SYN, a UDP datagram or an ICMP echo. */
		f->dport = 80;
		break;
	}
}

/* Build the TCP header (+ MSS option on SYNs) and payload into l4; returns its length. */
static size_t
tcp_build(uint8_t *l4, const struct gen_flow *f, int dir, uint8_t flags, uint32_t paylen)
{
	int ws = f->kind == GEN_K_TCP_WSCALE;
	size_t hlen = (flags & TCP_SYN) ? (ws ? 32 : 24) : 20;
	uint32_t i;

	memset(l4, 0, hlen);
	put16(l4, dir ? f->dport : f->sport);
	put16(l4 + 2, dir ? f->sport : f->dport);
	put32(l4 + 4, f->seq[dir]);
	put32(l4 + 8, (flags & TCP_ACK) ? f->seq[!dir] : 0);
	l4[12] = (uint8_t)((hlen / 4) << 4);
	l4[13] = flags;
	put16(l4 + 14, dir ? 65160 : 64240);
	if (flags & TCP_SYN) {
		l4[20] = 2; /* MSS */
		l4[21] = 4;
		put16(l4 + 22, f->v6 ? 1440 : 1460);
		if (ws) {
			/* NOP, window scale 7, SACK permitted, NOP NOP */
			l4[24] = 1;
			l4[25] = 3;
			l4[26] = 3;
			l4[27] = 7;
			l4[28] = 4;
			l4[29] = 2;
			l4[30] = 1;
			l4[31] = 1;
		}
	} else if (ws) {
		/* Scaled windows: the server's 100 << 7 = 12800 bytes, below 64K raw. */
		put16(l4 + 14, dir ? 100 : 502);
	}
	/* Text-like payload: an HTTP-ish first line, then filler. */
	for (i = 0; i < paylen; i++)
		l4[hlen + i] = (uint8_t)('a' + (i + f->index) % 26);
	if (paylen >= 16)
		memcpy(l4 + hlen, dir ? "HTTP/1.1 200 OK\n" : "GET / HTTP/1.1\n\n", 16);
	return hlen + paylen;
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

/* Frame an L4 segment of flow f in direction dir into buf; returns the frame length. */
static size_t
flow_frame(struct gen *g, uint8_t *buf, struct gen_flow *f, int dir, uint8_t proto,
	   uint8_t *l4, size_t l4len)
{
	(void)g;
	return gen_frame_ip(buf, f->v6, src_of(f, dir), dst_of(f, dir), proto,
			    f->ip_id[dir]++, dir, l4, l4len);
}

static int
emit(struct gen *g, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (g->mangle != 0 && g->mangle_at + 2 <= len) {
		uint8_t *c = g->frame + g->mangle_at;

		if (g->mangle == MANGLE_CSUM) {
			c[0] ^= 0x5a;
			if (c[0] == 0 && c[1] == 0)
				c[1] = 1;
		} else {
			put16(c, (uint16_t)(((c[0] << 8) | c[1]) - 4));
		}
	}
	g->mangle = 0;
	return gen_out_frame(&g->out, g->frame, len);
}

static int
tcp_send(struct gen *g, struct gen_flow *f, int dir, uint8_t flags, uint32_t paylen)
{
	size_t l4len = tcp_build(g->l4, f, dir, flags, paylen);

	f->seq[dir] += paylen + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
	return emit(g, flow_frame(g, g->frame, f, dir, 6, g->l4, l4len));
}

static uint8_t
proto_icmp(const struct gen_flow *f)
{
	return f->v6 ? 58 : 1;
}

/*
 * Step functions: emit the flow's next packet; return 1 when the flow has
 * more to send, 0 when it is finished, <0 on error.
 */
static int
step_tcp(struct gen *g, struct gen_flow *f)
{
	static const struct {
		int dir;
		uint8_t flags;
	} script[] = {
		{ 0, TCP_SYN },
		{ 1, TCP_SYN | TCP_ACK },
		{ 0, TCP_ACK },
		{ 0, TCP_PSH | TCP_ACK }, /* request */
		{ 1, TCP_PSH | TCP_ACK }, /* response */
		{ 0, TCP_FIN | TCP_ACK },
		{ 1, TCP_ACK },
		{ 1, TCP_FIN | TCP_ACK },
		{ 0, TCP_ACK },
	};
	uint32_t s = f->step;
	uint32_t paylen = s == 3 ? f->len_a : s == 4 ? f->len_b : 0;
	int rc;

	if (f->rst && s == 5) {
		/* Client aborts after the response: RST carries the next sequence number. */
		rc = tcp_send(g, f, 0, TCP_RST | TCP_ACK, 0);
		return rc < 0 ? rc : 0;
	}
	rc = tcp_send(g, f, script[s].dir, script[s].flags, paylen);
	if (rc < 0)
		return rc;
	return s + 1 < N_ELEM(script);
}


/* Mangle the next frame of f at L4 offset `off` (see emit()). */
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
static int
step_bad_first(struct gen *g, struct gen_flow *f, int (*normal)(struct gen *, struct gen_flow *),
	       int how, unsigned off)
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

/*
 * TCP with a blind RST (from the server side, sequence 2^30 away) or a data
 * segment 0x30000000 beyond the window after the exchange, then a FIN close:
 * Linux calls both INVALID, neither counts, and the connection goes on.
 */
static int
step_tcp_oow(struct gen *g, struct gen_flow *f)
{
	size_t l4len;
	int rc;

	if (f->step == 5) {
		uint32_t keep = f->seq[f->kind == GEN_K_TCP_OOW_RST ? 1 : 0];

		if (f->kind == GEN_K_TCP_OOW_RST) {
			f->seq[1] += 0x40000000u;
			l4len = tcp_build(g->l4, f, 1, TCP_RST, 0);
			f->seq[1] = keep;
			rc = emit(g, flow_frame(g, g->frame, f, 1, 6, g->l4, l4len));
		} else {
			f->seq[0] += 0x30000000u;
			l4len = tcp_build(g->l4, f, 0, TCP_PSH | TCP_ACK, 100);
			f->seq[0] = keep;
			rc = emit(g, flow_frame(g, g->frame, f, 0, 6, g->l4, l4len));
		}
		return rc < 0 ? rc : 1;
	}
	if (f->step > 5)
		f->step--;
	rc = step_tcp(g, f);
	if (f->step >= 5)
		f->step++;
	return rc;
}

/*
 * A TCP flow of step_tcp's script with other steps in the middle: its steps
 * before `head`, then `mid` steps of `middle` (given the step's index among
 * them), then its close (its steps 5..8).
 */
static int
step_tcp_around(struct gen *g, struct gen_flow *f, uint32_t head, uint32_t mid,
		int (*middle)(struct gen *, struct gen_flow *, uint32_t))
{
	uint32_t s = f->step;
	int rc;

	if (s < head)
		return step_tcp(g, f) < 0 ? -EINVAL : 1;
	if (s < head + mid) {
		rc = middle(g, f, s - head);
		return rc < 0 ? rc : 1;
	}
	f->step = s - (head + mid) + 5;
	rc = step_tcp(g, f);
	f->step = s;
	return rc;
}

/*
 * Window scale 7 both ways; 14 rounds of 4 x 1400 bytes, each acked with a
 * window of 100 << 7: 78400 bytes, beyond the SYN/ACK's unscaled 65160.
 */
#define WS_ROUNDS 14

static int
wscale_round(struct gen *g, struct gen_flow *f, uint32_t k)
{
	return k % 5 < 4 ? tcp_send(g, f, 0, TCP_PSH | TCP_ACK, 1400) : tcp_send(g, f, 1, TCP_ACK, 0);
}

static int
step_tcp_wscale(struct gen *g, struct gen_flow *f)
{
	return step_tcp_around(g, f, 3, WS_ROUNDS * 5, wscale_round);
}

/*
 * Bulk TCP: step_tcp's handshake and request, then BULK_SEGS data segments
 * of BULK_LEN bytes from the server, the client acking every second one,
 * then step_tcp's FIN close. Most packets are established data and ACKs,
 * as on a link that carries long flows.
 */
#define BULK_SEGS 64
#define BULK_LEN 1000

static int
bulk_step(struct gen *g, struct gen_flow *f, uint32_t k)
{
	return k % 3 < 2 ? tcp_send(g, f, 1, k % 3 == 1 ? TCP_PSH | TCP_ACK : TCP_ACK, BULK_LEN) :
			   tcp_send(g, f, 0, TCP_ACK, 0);
}

static int
step_tcp_bulk(struct gen *g, struct gen_flow *f)
{
	return step_tcp_around(g, f, 4, BULK_SEGS / 2 * 3, bulk_step);
}

static size_t
icmp_query_build(uint8_t *l4, const struct gen_flow *f, int dir)
{
	uint8_t req = f->kind == GEN_K_ICMP_TSTAMP ? 13 : f->kind == GEN_K_ICMP_INFO ? 15 : 17;
	size_t len = f->kind == GEN_K_ICMP_TSTAMP ? 20 : f->kind == GEN_K_ICMP_INFO ? 8 : 12;

	memset(l4, 0, len);
	l4[0] = (uint8_t)(req + dir);
	put16(l4 + 4, f->sport);
	put16(l4 + 6, 1);
	if (f->kind == GEN_K_ICMP_TSTAMP)
		put32(l4 + 8, 3600000u + f->index);
	else if (f->kind == GEN_K_ICMP_MASK && dir)
		put32(l4 + 8, 0xffffff00u);
	return len;
}

static int
step_icmp_query(struct gen *g, struct gen_flow *f)
{
	int dir = (int)f->step;
	size_t l4len = icmp_query_build(g->l4, f, dir);

	if (emit(g, flow_frame(g, g->frame, f, dir, 1, g->l4, l4len)) < 0)
		return -EINVAL;
	return dir == 0;
}

static void
dns_name(uint8_t *p, size_t *len, uint32_t index)
{
	/* h<index>.example.com in DNS label form */
	char label[16];
	int n = snprintf(label, sizeof(label), "h%u", index);
	size_t o = 0;

	p[o++] = (uint8_t)n;
	memcpy(p + o, label, (size_t)n);
	o += (size_t)n;
	p[o++] = 7;
	memcpy(p + o, "example", 7);
	o += 7;
	p[o++] = 3;
	memcpy(p + o, "com", 3);
	o += 3;
	p[o++] = 0;
	*len = o;
}

static size_t
udp_header(uint8_t *l4, const struct gen_flow *f, int dir, size_t paylen)
{
	put16(l4, dir ? f->dport : f->sport);
	put16(l4 + 2, dir ? f->sport : f->dport);
	put16(l4 + 4, (uint16_t)(8 + paylen));
	put16(l4 + 6, 0);
	return 8 + paylen;
}

static int
step_dns(struct gen *g, struct gen_flow *f)
{
	uint8_t *d = g->l4 + 8;
	size_t nlen, o;
	int dir = (int)f->step;

	put16(d, (uint16_t)f->len_a);
	put16(d + 2, dir ? 0x8180 : 0x0100); /* response+RD+RA+NOERROR : query+RD */
	put16(d + 4, 1);
	put16(d + 6, dir ? 1 : 0);
	put16(d + 8, 0);
	put16(d + 10, 0);
	dns_name(d + 12, &nlen, f->index);
	o = 12 + nlen;
	put16(d + o, f->v6 ? 28 : 1); /* AAAA or A */
	put16(d + o + 2, 1);          /* IN */
	o += 4;
	if (dir) {
		put16(d + o, 0xc00c); /* name: pointer to the question */
		put16(d + o + 2, f->v6 ? 28 : 1);
		put16(d + o + 4, 1);
		put32(d + o + 6, 300);
		put16(d + o + 10, f->v6 ? 16 : 4);
		memcpy(d + o + 12, f->srv, f->v6 ? 16 : 4);
		o += 12 + (f->v6 ? 16 : 4);
	}
	udp_header(g->l4, f, dir, o);
	if (emit(g, flow_frame(g, g->frame, f, dir, 17, g->l4, 8 + o)) < 0)
		return -EINVAL;
	return dir == 0;
}

static int
step_udp_rr(struct gen *g, struct gen_flow *f)
{
	int dir = (int)(f->step & 1);
	uint8_t *d = g->l4 + 8;

	/* 48-byte NTP-like packet: mode 3 (client) or 4 (server) */
	memset(d, 0, 48);
	d[0] = (uint8_t)(0x20 | (dir ? 4 : 3));
	put32(d + 40, f->step);
	udp_header(g->l4, f, dir, 48);
	if (emit(g, flow_frame(g, g->frame, f, dir, 17, g->l4, 56)) < 0)
		return -EINVAL;
	if (dir == 1)
		f->wake_us = g->out.now_us + RR_GAP_US;
	return f->step + 1 < 2 * f->len_a;
}

static int
step_udp_oneway(struct gen *g, struct gen_flow *f)
{
	uint32_t i;
	int n;

	n = snprintf((char *)g->l4 + 8, 64, "<134>dpct-gen flow %u message %u ", f->index,
		     f->step);
	for (i = (uint32_t)n; i < f->len_b; i++)
		g->l4[8 + i] = (uint8_t)('A' + i % 26);
	udp_header(g->l4, f, 0, f->len_b);
	if (emit(g, flow_frame(g, g->frame, f, 0, 17, g->l4, 8 + f->len_b)) < 0)
		return -EINVAL;
	return f->step + 1 < f->len_a;
}

static size_t
icmp_echo_build(uint8_t *l4, const struct gen_flow *f, int dir, uint16_t seq)
{
	uint32_t i;

	if (f->v6)
		l4[0] = dir ? 129 : 128;
	else
		l4[0] = dir ? 0 : 8;
	l4[1] = 0;
	put16(l4 + 2, 0);
	put16(l4 + 4, f->sport);
	put16(l4 + 6, seq);
	for (i = 0; i < 56; i++)
		l4[8 + i] = (uint8_t)(0x10 + i);
	return 64;
}

static int
step_icmp_echo(struct gen *g, struct gen_flow *f)
{
	int dir = (int)(f->step & 1);
	size_t l4len = icmp_echo_build(g->l4, f, dir, (uint16_t)(1 + f->step / 2));

	if (emit(g, flow_frame(g, g->frame, f, dir, proto_icmp(f), g->l4, l4len)) < 0)
		return -EINVAL;
	return f->step + 1 < 2 * f->len_a;
}

/*
 * ICMP errors quote the offending IP packet. The packet is rebuilt from the
 * flow (same IP id, same bytes) instead of being kept around per flow.
 */
static size_t
icmp_error_build(struct gen *g, const struct gen_flow *f, uint8_t type, uint8_t code,
		 const uint8_t *quoted_frame, size_t quoted_len)
{
	size_t iplen = quoted_len - GEN_ETH_LEN;
	/* RFC 1812 / RFC 4443: as much as fits in a minimum MTU datagram. */
	size_t max = f->v6 ? 1232 : 548;

	if (iplen > max)
		iplen = max;
	g->l4[0] = type;
	g->l4[1] = code;
	put16(g->l4 + 2, 0);
	put32(g->l4 + 4, 0);
	memcpy(g->l4 + 8, quoted_frame + GEN_ETH_LEN, iplen);
	return 8 + iplen;
}

/* Length of the IP packet in a built frame, without Ethernet padding. */
static size_t
frame_ip_end(const uint8_t *frame, int v6)
{
	const uint8_t *ip = frame + GEN_ETH_LEN;

	if (v6)
		return GEN_ETH_LEN + GEN_IP6_LEN + ((size_t)ip[4] << 8 | ip[5]);
	return GEN_ETH_LEN + ((size_t)ip[2] << 8 | ip[3]);
}

static size_t
unreach_udp_build(uint8_t *l4, const struct gen_flow *f)
{
	uint32_t i;

	for (i = 0; i < 32; i++)
		l4[8 + i] = (uint8_t)(0x40 + i);
	return udp_header(l4, f, 0, 32);
}

static int
step_icmp_unreach(struct gen *g, struct gen_flow *f)
{
	size_t l4len, qlen;
	uint16_t id;

	if (f->step == 0) {
		l4len = unreach_udp_build(g->l4, f);
		if (emit(g, flow_frame(g, g->frame, f, 0, 17, g->l4, l4len)) < 0)
			return -EINVAL;
		return 1;
	}
	/* Rebuild the datagram as it was sent (IP id of the previous packet). */
	l4len = unreach_udp_build(g->l4, f);
	id = (uint16_t)(f->ip_id[0] - 1);
	qlen = gen_frame_ip(g->tmp, f->v6, f->cli, f->srv, 17, id, 0, g->l4, l4len);
	if (qlen == 0)
		return -EINVAL;
	qlen = frame_ip_end(g->tmp, f->v6);
	l4len = f->v6 ? icmp_error_build(g, f, 1, 4, g->tmp, qlen) :
			icmp_error_build(g, f, 3, 3, g->tmp, qlen);
	if (emit(g, flow_frame(g, g->frame, f, 1, proto_icmp(f), g->l4, l4len)) < 0)
		return -EINVAL;
	return 0;
}

static int
step_icmp_host(struct gen *g, struct gen_flow *f)
{
	static const uint8_t router4[4] = { 198, 51, 100, 1 };
	static const uint8_t router6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0,
					     0, 0, 0, 0, 0, 0, 0, 1 };
	size_t l4len, qlen, len;
	uint16_t id;

	if (f->step == 0)
		return tcp_send(g, f, 0, TCP_SYN, 0) < 0 ? -EINVAL : 1;
	/* The SYN as sent: its sequence number is one before the current one. */
	f->seq[0]--;
	l4len = tcp_build(g->l4, f, 0, TCP_SYN, 0);
	f->seq[0]++;
	id = (uint16_t)(f->ip_id[0] - 1);
	if (gen_frame_ip(g->tmp, f->v6, f->cli, f->srv, 6, id, 0, g->l4, l4len) == 0)
		return -EINVAL;
	qlen = frame_ip_end(g->tmp, f->v6);
	l4len = f->v6 ? icmp_error_build(g, f, 1, 3, g->tmp, qlen) :
			icmp_error_build(g, f, 3, 1, g->tmp, qlen);
	len = gen_frame_ip(g->frame, f->v6, f->v6 ? router6 : router4, f->cli, proto_icmp(f),
			   f->ip_id[1]++, 1, g->l4, l4len);
	return emit(g, len) < 0 ? -EINVAL : 0;
}

static int
step_gre(struct gen *g, struct gen_flow *f)
{
	static const uint8_t in_a[4] = { 172, 16, 0, 1 };
	static const uint8_t in_b[4] = { 172, 16, 0, 2 };
	int dir = (int)(f->step & 1);
	uint8_t echo[64];
	size_t elen, ilen, end;

	/* Inner packet: an IPv4 ping between the tunnel endpoints' inside addresses. */
	elen = icmp_echo_build(echo, &(struct gen_flow){ .sport = (uint16_t)f->index },
			       dir, (uint16_t)(1 + f->step / 2));
	if (gen_frame_ip(g->tmp, 0, dir ? in_b : in_a, dir ? in_a : in_b, 1,
			 (uint16_t)f->step, dir, echo, elen) == 0)
		return -EINVAL;
	end = frame_ip_end(g->tmp, 0);
	ilen = end - GEN_ETH_LEN;
	put16(g->l4, 0);      /* no checksum, key or sequence; version 0 */
	put16(g->l4 + 2, 0x0800);
	memcpy(g->l4 + 4, g->tmp + GEN_ETH_LEN, ilen);
	if (emit(g, flow_frame(g, g->frame, f, dir, 47, g->l4, 4 + ilen)) < 0)
		return -EINVAL;
	return f->step + 1 < 2 * f->len_a;
}

static int
step_esp(struct gen *g, struct gen_flow *f)
{
	int dir = (int)(f->step & 1);
	uint32_t i;

	put32(g->l4, dir ? (0x80000000u | f->index) : (0x1000u + f->index)); /* SPI */
	put32(g->l4 + 4, 1 + f->step / 2);                                   /* sequence */
	for (i = 0; i < 64; i++)
		g->l4[8 + i] = (uint8_t)gen_rand(&g->rng); /* ciphertext looks random */
	if (emit(g, flow_frame(g, g->frame, f, dir, 50, g->l4, 72)) < 0)
		return -EINVAL;
	return f->step + 1 < 2 * f->len_a;
}

/* A good TCP SYN frame of flow f in g->frame; returns its length. */
static size_t
syn_frame(struct gen *g, struct gen_flow *f, uint8_t flags)
{
	size_t l4len = tcp_build(g->l4, f, 0, flags, 0);

	return flow_frame(g, g->frame, f, 0, 6, g->l4, l4len);
}

static int
step_bad(struct gen *g, struct gen_flow *f)
{
	uint8_t *ip = g->frame + GEN_ETH_LEN;
	size_t len = 0, l4len, iph = f->v6 ? GEN_IP6_LEN : GEN_IP4_LEN;
	uint16_t v;

	switch (f->kind) {
	case GEN_K_BAD_TRUNC_ETH:
		syn_frame(g, f, TCP_SYN);
		len = 10;
		break;
	case GEN_K_BAD_TRUNC_IP:
		syn_frame(g, f, TCP_SYN);
		len = GEN_ETH_LEN + iph / 2 + 2;
		break;
	case GEN_K_BAD_IHL:
		len = syn_frame(g, f, TCP_SYN);
		ip[0] = 0x44; /* IHL 4: shorter than the fixed header */
		gen_frame_ip4_csum(g->frame);
		break;
	case GEN_K_BAD_TOTAL_LEN:
		len = syn_frame(g, f, TCP_SYN);
		/* Claims 100 bytes more than the frame holds. */
		if (f->v6) {
			v = (uint16_t)((ip[4] << 8 | ip[5]) + 100);
			put16(ip + 4, v);
		} else {
			v = (uint16_t)((ip[2] << 8 | ip[3]) + 100);
			put16(ip + 2, v);
			gen_frame_ip4_csum(g->frame);
		}
		break;
	case GEN_K_BAD_TRUNC_TCP:
		tcp_build(g->l4, f, 0, TCP_SYN, 0);
		len = flow_frame(g, g->frame, f, 0, 6, g->l4, 12);
		break;
	case GEN_K_BAD_TRUNC_UDP:
		unreach_udp_build(g->l4, f);
		len = flow_frame(g, g->frame, f, 0, 17, g->l4, 6);
		break;
	case GEN_K_BAD_TRUNC_ICMP:
		icmp_echo_build(g->l4, f, 0, 1);
		len = flow_frame(g, g->frame, f, 0, proto_icmp(f), g->l4, 6);
		break;
	case GEN_K_BAD_TCP_DOFF:
		l4len = tcp_build(g->l4, f, 0, TCP_SYN, 0);
		g->l4[12] = 3 << 4; /* data offset 3 words: inside the fixed header */
		len = flow_frame(g, g->frame, f, 0, 6, g->l4, l4len);
		break;
	case GEN_K_BAD_SYN_FIN:
		len = syn_frame(g, f, TCP_SYN | TCP_FIN);
		break;
	case GEN_K_BAD_UDP_LEN:
		l4len = unreach_udp_build(g->l4, f);
		/* The length field is only written now, so the checksum still covers it. */
		put16(g->l4 + 4, (uint16_t)(l4len + 20));
		len = flow_frame(g, g->frame, f, 0, 17, g->l4, l4len);
		break;
	case GEN_K_BAD_ICMP_QUOTE:
		/* Port unreachable quoting only 10 bytes: not even an IP header. */
		syn_frame(g, f, TCP_SYN);
		memcpy(g->tmp, g->frame, GEN_ETH_LEN + 10);
		l4len = f->v6 ? icmp_error_build(g, f, 1, 4, g->tmp, GEN_ETH_LEN + 10) :
				icmp_error_build(g, f, 3, 3, g->tmp, GEN_ETH_LEN + 10);
		len = flow_frame(g, g->frame, f, 1, proto_icmp(f), g->l4, l4len);
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
		len = flow_frame(g, g->frame, f, 0, 0, g->l4, 16);
		break;
	default:
		return -EINVAL;
	}
	return emit(g, len) < 0 ? -EINVAL : 0;
}

static int
flow_step(struct gen *g, struct gen_flow *f)
{
	int rc;

	switch (f->kind) {
	case GEN_K_TCP:
		rc = step_tcp(g, f);
		break;
	case GEN_K_UDP_DNS:
		rc = step_dns(g, f);
		break;
	case GEN_K_UDP_RR:
		rc = step_udp_rr(g, f);
		break;
	case GEN_K_UDP_ONEWAY:
		rc = step_udp_oneway(g, f);
		break;
	case GEN_K_ICMP_ECHO:
		rc = step_icmp_echo(g, f);
		break;
	case GEN_K_ICMP_UNREACH:
		rc = step_icmp_unreach(g, f);
		break;
	case GEN_K_ICMP_HOST:
		rc = step_icmp_host(g, f);
		break;
	case GEN_K_GRE:
		rc = step_gre(g, f);
		break;
	case GEN_K_ESP:
		rc = step_esp(g, f);
		break;
	case GEN_K_TCP_OOW_RST:
	case GEN_K_TCP_OOW_DATA:
		rc = step_tcp_oow(g, f);
		break;
	case GEN_K_TCP_WSCALE:
		rc = step_tcp_wscale(g, f);
		break;
	case GEN_K_TCP_BULK:
		rc = step_tcp_bulk(g, f);
		break;
	case GEN_K_CSUM_TCP:
		rc = step_bad_first(g, f, step_tcp, MANGLE_CSUM, 16);
		break;
	case GEN_K_CSUM_UDP:
		rc = step_bad_first(g, f, step_dns, MANGLE_CSUM, 6);
		break;
	case GEN_K_CSUM_ICMP:
		rc = step_bad_first(g, f, step_icmp_echo, MANGLE_CSUM, 2);
		break;
	case GEN_K_UDP_SHORTLEN:
		rc = step_bad_first(g, f, step_dns, MANGLE_SHORTEN, 4);
		break;
	case GEN_K_ICMP_TSTAMP:
	case GEN_K_ICMP_INFO:
	case GEN_K_ICMP_MASK:
		rc = step_icmp_query(g, f);
		break;
	default:
		rc = step_bad(g, f);
		break;
	}
	f->step++;
	return rc;
}

/*
 * The scheduler: open flows take turns in a FIFO (round-robin); a flow that
 * must wait goes to a min-heap on (wake time, order of arrival) and rejoins
 * the FIFO's tail when the clock reaches its wake time. Both hold slot
 * numbers, so every step costs O(log C) whatever the concurrency.
 */
struct sched {
	uint32_t *fifo;       /* ring of slot numbers */
	uint32_t head, len, cap;
	uint32_t *heap;       /* slot numbers ordered by (wake_us, wseq) */
	uint64_t *wseq;       /* per slot: arrival order in the heap (tie break) */
	uint32_t hlen;
	uint64_t next_wseq;
};

static void
fifo_push(struct sched *q, uint32_t slot)
{
	q->fifo[(q->head + q->len) % q->cap] = slot;
	q->len++;
}

static uint32_t
fifo_pop(struct sched *q)
{
	uint32_t slot = q->fifo[q->head];

	q->head = (q->head + 1) % q->cap;
	q->len--;
	return slot;
}

static int
heap_less(const struct sched *q, const struct gen_flow *slots, uint32_t a, uint32_t b)
{
	if (slots[a].wake_us != slots[b].wake_us)
		return slots[a].wake_us < slots[b].wake_us;
	return q->wseq[a] < q->wseq[b];
}

static void
heap_push(struct sched *q, const struct gen_flow *slots, uint32_t slot)
{
	uint32_t i = q->hlen++, parent;

	q->wseq[slot] = q->next_wseq++;
	q->heap[i] = slot;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!heap_less(q, slots, q->heap[i], q->heap[parent]))
			break;
		slot = q->heap[i];
		q->heap[i] = q->heap[parent];
		q->heap[parent] = slot;
		i = parent;
	}
}

static uint32_t
heap_pop(struct sched *q, const struct gen_flow *slots)
{
	uint32_t top = q->heap[0], i = 0, l, r, m, t;

	q->heap[0] = q->heap[--q->hlen];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < q->hlen && heap_less(q, slots, q->heap[l], q->heap[m]))
			m = l;
		if (r < q->hlen && heap_less(q, slots, q->heap[r], q->heap[m]))
			m = r;
		if (m == i)
			break;
		t = q->heap[i];
		q->heap[i] = q->heap[m];
		q->heap[m] = t;
		i = m;
	}
	return top;
}

int
gen_run(const struct gen_params *p, pcap_dumper_t *dumper, struct gen_result *res)
{
	struct gen *g;
	struct gen_flow *slots = NULL;
	struct sched q;
	uint32_t *free_slots = NULL;
	uint64_t started = 0;
	uint32_t c = p->concurrency, n_free, i, s;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	memset(&q, 0, sizeof(q));
	g = calloc(1, sizeof(*g));
	slots = calloc(c, sizeof(*slots));
	free_slots = calloc(c, sizeof(*free_slots));
	q.fifo = calloc(c, sizeof(*q.fifo));
	q.heap = calloc(c, sizeof(*q.heap));
	q.wseq = calloc(c, sizeof(*q.wseq));
	if (g == NULL || slots == NULL || free_slots == NULL || q.fifo == NULL ||
	    q.heap == NULL || q.wseq == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	q.cap = c;
	g->p = p;
	g->out.dumper = dumper;
	g->out.now_us = GEN_EPOCH_US;
	g->out.n_vlan = p->n_vlan_dup;
	g->out.vlan[0] = p->vlan_dup[0];
	g->out.vlan[1] = p->vlan_dup[1];
	gen_rng_seed(&g->rng, p->seed);
	g->sport_base = (uint16_t)gen_rand_below(&g->rng, 64000);
	g->bad_base = gen_rand_below(&g->rng, 64);

	/* Free slots are taken lowest first, so the first C flows go out in order. */
	for (i = 0; i < c; i++)
		free_slots[i] = c - 1 - i;
	n_free = c;

	for (;;) {
		while (n_free > 0 && started < p->flows) {
			s = free_slots[--n_free];
			flow_init(g, &slots[s], choose_kind(g, started), started);
			res->kind_count[slots[s].kind]++;
			started++;
			fifo_push(&q, s);
		}
		/* Flows whose wait is over rejoin the round at its end. */
		while (q.hlen > 0 && slots[q.heap[0]].wake_us <= g->out.now_us)
			fifo_push(&q, heap_pop(&q, slots));
		if (q.len == 0) {
			if (q.hlen == 0)
				break;
			/* Everyone waits: jump the clock to the earliest wake-up. */
			g->out.now_us = slots[q.heap[0]].wake_us;
			continue;
		}
		s = fifo_pop(&q);
		rc = flow_step(g, &slots[s]);
		if (rc < 0)
			goto out;
		if (rc == 0)
			free_slots[n_free++] = s;
		else if (slots[s].wake_us > g->out.now_us)
			heap_push(&q, slots, s);
		else
			fifo_push(&q, s);
		rc = 0;
	}
	res->flows = started;
	res->packets = g->out.packets;
	res->bytes = g->out.bytes;
out:
	free(q.wseq);
	free(q.heap);
	free(q.fifo);
	free(free_slots);
	free(slots);
	free(g);
	return rc;
}
