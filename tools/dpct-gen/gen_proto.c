/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-gen flows of SCTP (associations, with their verification tags and
 * CRC32c) and DCCP (connections with 48-bit sequence numbers).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "gen_private.h"

/* ---- SCTP ------------------------------------------------------------------------------ */

enum {
	SC_DATA = 0, SC_INIT = 1, SC_INIT_ACK = 2, SC_SACK = 3, SC_HEARTBEAT = 4,
	SC_HEARTBEAT_ACK = 5, SC_ABORT = 6, SC_SHUTDOWN = 7, SC_SHUTDOWN_ACK = 8,
	SC_COOKIE_ECHO = 10, SC_COOKIE_ACK = 11, SC_SHUTDOWN_COMPLETE = 14,
};

/* CRC32c (Castagnoli, reflected), bit by bit: captures are small. */
static uint32_t
crc32c(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int b;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* One chunk at l4 + off: type, flags, value of vlen bytes (padded). Returns the new offset. */
static size_t
sctp_chunk(uint8_t *l4, size_t off, uint8_t type, uint8_t flags, const uint8_t *v, size_t vlen)
{
	l4[off] = type;
	l4[off + 1] = flags;
	gen_put16(l4 + off + 2, (uint16_t)(4 + vlen));
	if (vlen != 0)
		memcpy(l4 + off + 4, v, vlen);
	off += 4 + vlen;
	while (off & 3)
		l4[off++] = 0;
	return off;
}

/* The client's tag (carried by packets to the client) is seq[0], the server's seq[1]. */
static uint32_t
sctp_tag_to(const struct gen_flow *f, int dir)
{
	return dir ? f->seq[0] : f->seq[1];
}

/*
 * Emit one SCTP packet of flow f from `dir` with the chunk `type` (and its
 * natural contents), verification tag `vtag`.
 */
static int
sctp_send(struct gen *g, struct gen_flow *f, int dir, uint8_t type, uint8_t flags,
	  uint32_t vtag)
{
	uint8_t *l4 = g->l4, v[256];
	size_t off = 12, n = 0;
	uint32_t crc;

	gen_put16(l4, dir ? f->dport : f->sport);
	gen_put16(l4 + 2, dir ? f->sport : f->dport);
	gen_put32(l4 + 4, vtag);
	gen_put32(l4 + 8, 0);
	memset(v, 0, 32);
	switch (type) {
	case SC_INIT:
	case SC_INIT_ACK:
		gen_put32(v, f->seq[dir]);                  /* initiate tag */
		gen_put32(v + 4, 65536);                    /* a_rwnd */
		gen_put16(v + 8, 10);                       /* outbound streams */
		gen_put16(v + 10, 10);                      /* inbound streams */
		gen_put32(v + 12, f->seq[dir] ^ 0x1234);    /* initial TSN */
		n = 16;
		if (type == SC_INIT_ACK) {
			gen_put16(v + 16, 7);               /* state cookie parameter */
			gen_put16(v + 18, 12);
			gen_put32(v + 20, f->index);
			gen_put32(v + 24, f->seq[0]);
			n = 28;
		}
		break;
	case SC_COOKIE_ECHO:
		gen_put32(v, f->index);
		gen_put32(v + 4, f->seq[0]);
		n = 8;
		break;
	case SC_DATA:
		gen_put32(v, f->seq[dir] ^ 0x1234);         /* TSN */
		gen_put32(v + 12, 46);                      /* PPID */
		memset(v + 16, 'd', f->len_a);              /* user data (len_a < 240) */
		n = 16 + f->len_a;
		break;
	case SC_SACK:
		gen_put32(v, f->seq[!dir] ^ 0x1234);        /* cumulative TSN ack */
		gen_put32(v + 4, 65536);
		n = 12;
		break;
	case SC_HEARTBEAT:
	case SC_HEARTBEAT_ACK:
		gen_put16(v, 1);                            /* heartbeat info */
		gen_put16(v + 2, 12);
		gen_put32(v + 4, f->index);
		gen_put32(v + 8, 0x48425400u);
		n = 12;
		break;
	case SC_SHUTDOWN:
		gen_put32(v, f->seq[!dir] ^ 0x1234);
		n = 4;
		break;
	default:
		break;
	}
	off = sctp_chunk(l4, off, type, flags, v, n);
	crc = crc32c(l4, off);
	l4[8] = (uint8_t)crc;
	l4[9] = (uint8_t)(crc >> 8);
	l4[10] = (uint8_t)(crc >> 16);
	l4[11] = (uint8_t)(crc >> 24);
	if (gen_emit(g, gen_flow_frame(g->frame, f, dir, 132, l4, off)) < 0)
		return -EINVAL;
	return 0;
}

/* The four-way handshake, steps 0..3 from `s0`. */
static int
sctp_handshake(struct gen *g, struct gen_flow *f, uint32_t s)
{
	switch (s) {
	case 0:
		return sctp_send(g, f, GEN_DIR_ORIG, SC_INIT, 0, 0);
	case 1:
		return sctp_send(g, f, GEN_DIR_REPLY, SC_INIT_ACK, 0, sctp_tag_to(f, 1));
	case 2:
		return sctp_send(g, f, GEN_DIR_ORIG, SC_COOKIE_ECHO, 0, sctp_tag_to(f, 0));
	default:
		return sctp_send(g, f, GEN_DIR_REPLY, SC_COOKIE_ACK, 0, sctp_tag_to(f, 1));
	}
}

/* The SHUTDOWN sequence, steps 0..2, started by `by` (len_b picks the side). */
static int
sctp_shutdown(struct gen *g, struct gen_flow *f, uint32_t s)
{
	int by = (int)f->len_b;
	int d = s == 1 ? !by : by;

	switch (s) {
	case 0:
		return sctp_send(g, f, d, SC_SHUTDOWN, 0, sctp_tag_to(f, d));
	case 1:
		return sctp_send(g, f, d, SC_SHUTDOWN_ACK, 0, sctp_tag_to(f, d));
	default:
		return sctp_send(g, f, d, SC_SHUTDOWN_COMPLETE, 0, sctp_tag_to(f, d));
	}
}

int
gen_step_sctp(struct gen *g, struct gen_flow *f)
{
	uint32_t s = f->step;
	uint8_t t = f->len_b ? 0x01 : 0;
	int rc;

	switch (f->kind) {
	case GEN_K_SCTP:
		/* Handshake, DATA, SACK, HEARTBEAT, HEARTBEAT_ACK, SHUTDOWN sequence. */
		if (s < 4)
			rc = sctp_handshake(g, f, s);
		else if (s == 4)
			rc = sctp_send(g, f, GEN_DIR_ORIG, SC_DATA, 0x03, sctp_tag_to(f, 0));
		else if (s == 5)
			rc = sctp_send(g, f, GEN_DIR_REPLY, SC_SACK, 0, sctp_tag_to(f, 1));
		else if (s == 6)
			rc = sctp_send(g, f, GEN_DIR_ORIG, SC_HEARTBEAT, 0, sctp_tag_to(f, 0));
		else if (s == 7)
			rc = sctp_send(g, f, GEN_DIR_REPLY, SC_HEARTBEAT_ACK, 0, sctp_tag_to(f, 1));
		else
			rc = sctp_shutdown(g, f, s - 8);
		return rc < 0 ? rc : s < 10;
	case GEN_K_SCTP_ABORT:
		/* INIT retransmitted, the handshake, DATA, the server's ABORT (T bit: len_b). */
		if (s == 0)
			rc = sctp_send(g, f, GEN_DIR_ORIG, SC_INIT, 0, 0);
		else if (s < 5)
			rc = sctp_handshake(g, f, s - 1);
		else if (s == 5)
			rc = sctp_send(g, f, GEN_DIR_ORIG, SC_DATA, 0x03, sctp_tag_to(f, 0));
		else
			rc = sctp_send(g, f, GEN_DIR_REPLY, SC_ABORT, t,
				       t ? sctp_tag_to(f, 0) : sctp_tag_to(f, 1));
		return rc < 0 ? rc : s < 6;
	default:
		/* Handshake; DATA and ABORT with wrong tags; good DATA, SACK; SHUTDOWN sequence. */
		if (s < 4)
			rc = sctp_handshake(g, f, s);
		else if (s == 4)
			rc = sctp_send(g, f, GEN_DIR_ORIG, SC_DATA, 0x03,
				       sctp_tag_to(f, 0) ^ 0x5a5a);
		else if (s == 5)
			rc = sctp_send(g, f, GEN_DIR_REPLY, SC_ABORT, t,
				       (t ? sctp_tag_to(f, 0) : sctp_tag_to(f, 1)) ^ 0xa5a5);
		else if (s == 6)
			rc = sctp_send(g, f, GEN_DIR_ORIG, SC_DATA, 0x03, sctp_tag_to(f, 0));
		else if (s == 7)
			rc = sctp_send(g, f, GEN_DIR_REPLY, SC_SACK, 0, sctp_tag_to(f, 1));
		else
			rc = sctp_shutdown(g, f, s - 8);
		return rc < 0 ? rc : s < 10;
	}
}

/* ---- DCCP ------------------------------------------------------------------------------ */

enum {
	DC_REQUEST = 0, DC_RESPONSE = 1, DC_DATA = 2, DC_ACK = 3, DC_DATAACK = 4,
	DC_CLOSE = 6, DC_RESET = 7,
};

static void
put48(uint8_t *p, uint64_t v)
{
	gen_put16(p, (uint16_t)(v >> 32));
	gen_put32(p + 2, (uint32_t)v);
}

/*
 * Emit one DCCP packet (extended 48-bit sequence numbers) of type `type`
 * from `dir`, its sequence number seq[dir] (then advanced) plus `skew`.
 */
static int
dccp_send(struct gen *g, struct gen_flow *f, int dir, uint8_t type, uint64_t skew)
{
	uint8_t *l4 = g->l4;
	size_t hl = 16, pay = 0;
	bool has_ack = type != DC_REQUEST && type != DC_DATA;

	memset(l4, 0, 40);
	gen_put16(l4, dir ? f->dport : f->sport);
	gen_put16(l4 + 2, dir ? f->sport : f->dport);
	l4[8] = (uint8_t)(type << 1 | 1);             /* X: 48-bit sequence numbers */
	put48(l4 + 10, (uint64_t)f->seq[dir] + skew);
	f->seq[dir]++;
	if (has_ack) {
		put48(l4 + 18, (uint64_t)f->seq[!dir] - 1);
		hl = 24;
	}
	if (type == DC_REQUEST || type == DC_RESPONSE) {
		gen_put32(l4 + hl, 0x52545020u);      /* service code "RTP " */
		hl += 4;
	} else if (type == DC_RESET) {
		l4[hl] = 1;                           /* reset code: closed */
		hl += 4;
	}
	l4[4] = (uint8_t)(hl / 4);
	if (type == DC_DATA || type == DC_DATAACK) {
		pay = f->len_a;
		memset(l4 + hl, 'v', pay);
	}
	if (gen_emit(g, gen_flow_frame(g->frame, f, dir, 33, l4, hl + pay)) < 0)
		return -EINVAL;
	return 0;
}

int
gen_step_dccp(struct gen *g, struct gen_flow *f)
{
	static const struct {
		uint8_t dir, type;
	} seq[] = {
		{ GEN_DIR_ORIG, DC_REQUEST }, { GEN_DIR_REPLY, DC_RESPONSE },
		{ GEN_DIR_ORIG, DC_ACK }, { GEN_DIR_ORIG, DC_DATA },
		{ GEN_DIR_REPLY, DC_DATAACK }, { GEN_DIR_ORIG, DC_CLOSE },
		{ GEN_DIR_REPLY, DC_RESET },
	};
	uint32_t s = f->step;
	/* The bad sequence: the server's DATAACK 2^40 beyond its window. */
	uint64_t skew = (f->kind == GEN_K_DCCP_BADSEQ && s == 4) ? (UINT64_C(1) << 40) : 0;

	if (dccp_send(g, f, seq[s].dir, seq[s].type, skew) < 0)
		return -EINVAL;
	return s + 1 < GEN_N_ELEM(seq);
}
