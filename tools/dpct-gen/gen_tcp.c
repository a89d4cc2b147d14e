/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-gen TCP flows: the normal connection (handshake, request, response,
 * FIN or RST close) and the variants built on its script: out-of-window RST
 * or data, window scaling with SACK, and bulk server data.
 */
#include <errno.h>
#include <string.h>

#include "gen_private.h"

size_t
gen_tcp_build(uint8_t *l4, const struct gen_flow *f, int dir, uint8_t flags, uint32_t paylen)
{
	int ws = f->kind == GEN_K_TCP_WSCALE;
	size_t hlen = (flags & GEN_TCP_SYN) ? (ws ? 32 : 24) : 20;
	uint32_t i;

	memset(l4, 0, hlen);
	gen_put16(l4, dir ? f->dport : f->sport);
	gen_put16(l4 + 2, dir ? f->sport : f->dport);
	gen_put32(l4 + 4, f->seq[dir]);
	gen_put32(l4 + 8, (flags & GEN_TCP_ACK) ? f->seq[!dir] : 0);
	l4[12] = (uint8_t)((hlen / 4) << 4);
	l4[13] = flags;
	gen_put16(l4 + 14, dir ? 65160 : 64240);
	if (flags & GEN_TCP_SYN) {
		l4[20] = 2; /* MSS */
		l4[21] = 4;
		gen_put16(l4 + 22, f->v6 ? 1440 : 1460);
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
		gen_put16(l4 + 14, dir ? 100 : 502);
	}
	/* Text-like payload: an HTTP-ish first line, then filler. */
	for (i = 0; i < paylen; i++)
		l4[hlen + i] = (uint8_t)('a' + (i + f->index) % 26);
	if (paylen >= 16)
		memcpy(l4 + hlen, dir ? "HTTP/1.1 200 OK\n" : "GET / HTTP/1.1\n\n", 16);
	return hlen + paylen;
}

int
gen_tcp_send(struct gen *g, struct gen_flow *f, int dir, uint8_t flags, uint32_t paylen)
{
	size_t l4len = gen_tcp_build(g->l4, f, dir, flags, paylen);

	f->seq[dir] += paylen + ((flags & GEN_TCP_SYN) ? 1 : 0) + ((flags & GEN_TCP_FIN) ? 1 : 0);
	return gen_emit(g, gen_flow_frame(g->frame, f, dir, 6, g->l4, l4len));
}

/* The normal connection: handshake, request, response, FIN close (or RST after the response). */
int
gen_step_tcp(struct gen *g, struct gen_flow *f)
{
	static const struct {
		int dir;
		uint8_t flags;
	} script[] = {
		{ 0, GEN_TCP_SYN },
		{ 1, GEN_TCP_SYN | GEN_TCP_ACK },
		{ 0, GEN_TCP_ACK },
		{ 0, GEN_TCP_PSH | GEN_TCP_ACK }, /* request */
		{ 1, GEN_TCP_PSH | GEN_TCP_ACK }, /* response */
		{ 0, GEN_TCP_FIN | GEN_TCP_ACK },
		{ 1, GEN_TCP_ACK },
		{ 1, GEN_TCP_FIN | GEN_TCP_ACK },
		{ 0, GEN_TCP_ACK },
	};
	uint32_t s = f->step;
	uint32_t paylen = s == 3 ? f->len_a : s == 4 ? f->len_b : 0;
	int rc;

	if (f->rst && s == 5) {
		/* Client aborts after the response: RST carries the next sequence number. */
		rc = gen_tcp_send(g, f, 0, GEN_TCP_RST | GEN_TCP_ACK, 0);
		return rc < 0 ? rc : 0;
	}
	rc = gen_tcp_send(g, f, script[s].dir, script[s].flags, paylen);
	if (rc < 0)
		return rc;
	return s + 1 < GEN_N_ELEM(script);
}

/*
 * TCP with a blind RST (from the server side, sequence 2^30 away) or a data
 * segment 0x30000000 beyond the window after the exchange, then a FIN close:
 * Linux calls both INVALID, neither counts, and the connection goes on.
 */
int
gen_step_tcp_oow(struct gen *g, struct gen_flow *f)
{
	size_t l4len;
	int rc;

	if (f->step == 5) {
		uint32_t keep = f->seq[f->kind == GEN_K_TCP_OOW_RST ? 1 : 0];

		if (f->kind == GEN_K_TCP_OOW_RST) {
			f->seq[1] += 0x40000000u;
			l4len = gen_tcp_build(g->l4, f, 1, GEN_TCP_RST, 0);
			f->seq[1] = keep;
			rc = gen_emit(g, gen_flow_frame(g->frame, f, 1, 6, g->l4, l4len));
		} else {
			f->seq[0] += 0x30000000u;
			l4len = gen_tcp_build(g->l4, f, 0, GEN_TCP_PSH | GEN_TCP_ACK, 100);
			f->seq[0] = keep;
			rc = gen_emit(g, gen_flow_frame(g->frame, f, 0, 6, g->l4, l4len));
		}
		return rc < 0 ? rc : 1;
	}
	if (f->step > 5)
		f->step--;
	rc = gen_step_tcp(g, f);
	if (f->step >= 5)
		f->step++;
	return rc;
}

/*
 * A TCP flow of gen_step_tcp()'s script with other steps in the middle: its
 * steps before `head`, then `mid` steps of `middle` (given the step's index among
 * them), then its close (its steps 5..8).
 */
static int
step_tcp_around(struct gen *g, struct gen_flow *f, uint32_t head, uint32_t mid,
		int (*middle)(struct gen *, struct gen_flow *, uint32_t))
{
	uint32_t s = f->step;
	int rc;

	if (s < head)
		return gen_step_tcp(g, f) < 0 ? -EINVAL : 1;
	if (s < head + mid) {
		rc = middle(g, f, s - head);
		return rc < 0 ? rc : 1;
	}
	f->step = s - (head + mid) + 5;
	rc = gen_step_tcp(g, f);
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
	if (k % 5 < 4)
		return gen_tcp_send(g, f, 0, GEN_TCP_PSH | GEN_TCP_ACK, 1400);
	return gen_tcp_send(g, f, 1, GEN_TCP_ACK, 0);
}

int
gen_step_tcp_wscale(struct gen *g, struct gen_flow *f)
{
	return step_tcp_around(g, f, 3, WS_ROUNDS * 5, wscale_round);
}

/*
 * Bulk TCP: gen_step_tcp()'s handshake and request, then BULK_SEGS data
 * segments of BULK_LEN bytes from the server, the client acking every second
 * one, then gen_step_tcp()'s FIN close. Most packets are established data and ACKs,
 * as on a link that carries long flows.
 */
#define BULK_SEGS 64
#define BULK_LEN 1000

static int
bulk_step(struct gen *g, struct gen_flow *f, uint32_t k)
{
	if (k % 3 < 2)
		return gen_tcp_send(g, f, 1, k % 3 == 1 ? GEN_TCP_PSH | GEN_TCP_ACK : GEN_TCP_ACK,
				    BULK_LEN);
	return gen_tcp_send(g, f, 0, GEN_TCP_ACK, 0);
}

int
gen_step_tcp_bulk(struct gen *g, struct gen_flow *f)
{
	return step_tcp_around(g, f, 4, BULK_SEGS / 2 * 3, bulk_step);
}
