/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SCTP tracker: Linux's state machine (nf_conntrack_proto_sctp.c,
 * sctp_conntracks[][][], sctp_new(), nf_conntrack_sctp_packet()) with its
 * verification tag checks (RFC 9260 section 8.5), chunk by chunk in the
 * order the chunks came. The parser walks the chunks once and leaves what
 * this file needs in the struct ct_pkt (ct.h, ct_private.h: CT_SCTP_*);
 * the CRC32c is checked with the other checksums (ct_csum.c).
 *
 * Entry fields: tcp_state is the enum ct_sctp_state, sctp_vtag[] the tag
 * each direction must carry (host order), tcp_flags the bits below.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct_private.h"

/* Tracker bits of ct_entry.tcp_flags (Linux ct->proto.sctp.init[], flags, last_dir). */
#define SCTP_F_INIT_ORIG  0x01  /* an INIT came from the original side */
#define SCTP_F_INIT_REPLY 0x02  /* an INIT came from the reply side */
#define SCTP_F_HB_FAILED  0x04  /* a HEARTBEAT failed the tag check (association restart?) */
#define SCTP_F_HB_DIR     0x08  /* ... in the reply direction */

#define sNO CT_SCTP_NONE
#define sCL CT_SCTP_CLOSED
#define sCW CT_SCTP_COOKIE_WAIT
#define sCE CT_SCTP_COOKIE_ECHOED
#define sES CT_SCTP_ESTABLISHED
#define sSS CT_SCTP_SHUTDOWN_SENT
#define sSR CT_SCTP_SHUTDOWN_RECD
#define sSA CT_SCTP_SHUTDOWN_ACK_SENT
#define sHS CT_SCTP_HEARTBEAT_SENT
#define sIV CT_SCTP_IV

/*
 * [direction][chunk][old state] -> new state, equal to Linux 6.x's table.
 * Chunks that are not rows here (DATA, SACK, ...) never change the state.
 */
const uint8_t ct_sctp_table[2][CT_SCTP_C_MAX][CT_SCTP_MAX] = {
	[CT_DIR_ORIG] = {
		/*                                 sNO  sCL  sCW  sCE  sES  sSS  sSR  sSA  sHS */
		/* INIT opens (CLOSED until answered); a new one after a shutdown restarts. */
		[CT_SCTP_C_INIT] =              { sCL, sCL, sCW, sCE, sES, sCL, sCL, sSA, sCW },
		/* INIT_ACK from the original side: only after a HEARTBEAT-created entry closes. */
		[CT_SCTP_C_INIT_ACK] =          { sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL },
		/* ABORT closes anything. */
		[CT_SCTP_C_ABORT] =             { sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		/* SHUTDOWN from the original side: SHUTDOWN_SENT once established. */
		[CT_SCTP_C_SHUTDOWN] =          { sCL, sCL, sCW, sCE, sSS, sSS, sSR, sSA, sCL },
		/* SHUTDOWN_ACK answers the other side's SHUTDOWN. */
		[CT_SCTP_C_SHUTDOWN_ACK] =      { sSA, sCL, sCW, sCE, sES, sSA, sSA, sSA, sSA },
		/* ERROR: no change (a stale cookie cannot come from this side). */
		[CT_SCTP_C_ERROR] =             { sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL },
		/* COOKIE_ECHO after the INIT_ACK. */
		[CT_SCTP_C_COOKIE_ECHO] =       { sCL, sCL, sCE, sCE, sES, sSS, sSR, sSA, sCL },
		/* COOKIE_ACK from the original side (a collision): establishes. */
		[CT_SCTP_C_COOKIE_ACK] =        { sCL, sCL, sCW, sES, sES, sSS, sSR, sSA, sCL },
		/* SHUTDOWN_COMPLETE ends the shutdown. */
		[CT_SCTP_C_SHUTDOWN_COMPLETE] = { sCL, sCL, sCW, sCE, sES, sSS, sSR, sCL, sCL },
		/* HEARTBEAT on a new flow: a path of an association seen elsewhere. */
		[CT_SCTP_C_HEARTBEAT] =         { sHS, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS },
		[CT_SCTP_C_HEARTBEAT_ACK] =     { sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS },
	},
	[CT_DIR_REPLY] = {
		/*                                 sNO  sCL  sCW  sCE  sES  sSS  sSR  sSA  sHS */
		[CT_SCTP_C_INIT] =              { sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sIV },
		/* INIT_ACK answers the INIT: COOKIE_WAIT. */
		[CT_SCTP_C_INIT_ACK] =          { sIV, sCW, sCW, sCE, sES, sSS, sSR, sSA, sIV },
		[CT_SCTP_C_ABORT] =             { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sIV },
		/* SHUTDOWN from the reply side: SHUTDOWN_RECD once established. */
		[CT_SCTP_C_SHUTDOWN] =          { sIV, sCL, sCW, sCE, sSR, sSS, sSR, sSA, sIV },
		[CT_SCTP_C_SHUTDOWN_ACK] =      { sIV, sCL, sCW, sCE, sES, sSA, sSA, sSA, sIV },
		/* ERROR in COOKIE_ECHOED (a stale cookie) closes. */
		[CT_SCTP_C_ERROR] =             { sIV, sCL, sCW, sCL, sES, sSS, sSR, sSA, sIV },
		[CT_SCTP_C_COOKIE_ECHO] =       { sIV, sCL, sCE, sCE, sES, sSS, sSR, sSA, sIV },
		/* COOKIE_ACK answers the COOKIE_ECHO: ESTABLISHED. */
		[CT_SCTP_C_COOKIE_ACK] =        { sIV, sCL, sCW, sES, sES, sSS, sSR, sSA, sIV },
		[CT_SCTP_C_SHUTDOWN_COMPLETE] = { sIV, sCL, sCW, sCE, sES, sSS, sSR, sCL, sIV },
		[CT_SCTP_C_HEARTBEAT] =         { sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS },
		/* The answer to a HEARTBEAT-created entry's heartbeat: ESTABLISHED. */
		[CT_SCTP_C_HEARTBEAT_ACK] =     { sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sES },
	},
};

uint8_t
ct_sctp_timeout_class(uint8_t state)
{
	switch (state) {
	case CT_SCTP_COOKIE_WAIT:
		return CT_TO_SCTP_COOKIE_WAIT;
	case CT_SCTP_COOKIE_ECHOED:
		return CT_TO_SCTP_COOKIE_ECHOED;
	case CT_SCTP_ESTABLISHED:
		return CT_TO_SCTP_ESTABLISHED;
	case CT_SCTP_SHUTDOWN_SENT:
		return CT_TO_SCTP_SHUTDOWN_SENT;
	case CT_SCTP_SHUTDOWN_RECD:
		return CT_TO_SCTP_SHUTDOWN_RECD;
	case CT_SCTP_SHUTDOWN_ACK_SENT:
		return CT_TO_SCTP_SHUTDOWN_ACK_SENT;
	case CT_SCTP_HEARTBEAT_SENT:
		return CT_TO_SCTP_HEARTBEAT_SENT;
	default:
		/* CLOSED, and NONE, whose timeout Linux sets to CLOSED's. */
		return CT_TO_SCTP_CLOSED;
	}
}

/* The verdict of sctp_track(), before the shard's. */
enum sctp_res {
	SCTP_ACCEPT,
	SCTP_IGNORE,   /* accepted, no refresh, not counted (Linux `ignore`) */
	SCTP_INVALID,
};

/* The chunks a first packet creates the entry with (Linux sctp_new()). */
static int
sctp_new_tags(struct ct_entry *e, const struct ct_pkt *p)
{
	uint32_t seq = p->tcp_sack;
	unsigned i;

	/* A chunk that leaves NONE as NONE (DATA, SACK, ...): not a new association. */
	if (p->tcp_opts & CT_SCTP_O_OTHER)
		return -1;
	for (i = 0; i < CT_SCTP_SEQ_MAX; i++, seq >>= CT_SCTP_SEQ_BITS) {
		unsigned row = seq & CT_SCTP_SEQ_ROW;

		if (row == 0)
			break;
		row--;
		if (ct_sctp_table[CT_DIR_ORIG][row][CT_SCTP_NONE] == sIV)
			return -1;
		if (row == CT_SCTP_C_INIT) {
			/* Section 8.5.1 (A): an INIT carries tag 0. */
			if (p->tcp_seq != 0)
				return -1;
			e->sctp_vtag[CT_DIR_REPLY] = p->tcp_ack;
		} else if (row == CT_SCTP_C_HEARTBEAT) {
			e->sctp_vtag[CT_DIR_ORIG] = p->tcp_seq;
		} else {
			/* Out of the blue: its answer (SHUTDOWN_COMPLETE, ABORT) has this tag. */
			e->sctp_vtag[CT_DIR_REPLY] = p->tcp_seq;
		}
	}
	return 0;
}

/*
 * A HEARTBEAT (ack: HEARTBEAT_ACK) whose tag is checked against the one
 * on record, learnt when there is none. @return 1 continue with the chunk,
 * 0 skip it (a failed HEARTBEAT, remembered), -1 invalid.
 */
static int
sctp_heartbeat(struct ct_entry *e, const struct ct_pkt *p, enum ct_dir dir, bool ack,
	       bool ignore)
{
	uint8_t hb_dir = dir == CT_DIR_REPLY ? SCTP_F_HB_DIR : 0;

	if (e->sctp_vtag[dir] == 0) {
		e->sctp_vtag[dir] = p->tcp_seq;
		return 1;
	}
	if (p->tcp_seq == e->sctp_vtag[dir]) {
		e->tcp_flags &= (uint8_t)~SCTP_F_HB_FAILED;
		return 1;
	}
	if ((p->tcp_opts & CT_SCTP_O_DATA) || ignore)
		return -1;
	if (!ack) {
		/* Maybe a restarted association: let it through, and its answer set the tags. */
		e->tcp_flags = (uint8_t)((e->tcp_flags & ~SCTP_F_HB_DIR) | SCTP_F_HB_FAILED |
					 hb_dir);
		return 0;
	}
	if (!(e->tcp_flags & SCTP_F_HB_FAILED) || (e->tcp_flags & SCTP_F_HB_DIR) == hb_dir)
		return -1;
	e->tcp_flags &= (uint8_t)~SCTP_F_HB_FAILED;
	e->sctp_vtag[dir] = p->tcp_seq;
	e->sctp_vtag[!dir] = 0;
	return 1;
}

/* An ABORT or SHUTDOWN_COMPLETE's tag: its own side's, or with the T bit the peer's. */
static bool
sctp_tag_t_ok(const struct ct_entry *e, const struct ct_pkt *p, enum ct_dir dir, bool t)
{
	return p->tcp_seq == e->sctp_vtag[t ? !dir : dir];
}

/* An INIT or INIT_ACK's initiate tag, noted for the other direction. @return 0 or -1. */
static int
sctp_init_tags(struct ct_entry *e, const struct ct_pkt *p, enum ct_dir dir, unsigned row)
{
	uint8_t mine = dir == CT_DIR_ORIG ? SCTP_F_INIT_ORIG : SCTP_F_INIT_REPLY;
	uint8_t peer = dir == CT_DIR_ORIG ? SCTP_F_INIT_REPLY : SCTP_F_INIT_ORIG;
	uint32_t tag = e->sctp_vtag[!dir];

	if (row == CT_SCTP_C_INIT) {
		if ((e->tcp_flags & mine) && (e->tcp_flags & peer))
			e->tcp_flags &= (uint8_t)~peer;
		e->tcp_flags |= mine;
	} else {
		if (!(e->tcp_flags & peer) && tag != 0 && tag != p->tcp_ack)
			return -1;
		/* INITs crossed (a collision): the answer must carry the tag known. */
		if ((e->tcp_flags & mine) && (e->tcp_flags & peer) && tag != p->tcp_ack)
			return -1;
	}
	e->sctp_vtag[!dir] = p->tcp_ack;
	return 0;
}

/* Linux nf_conntrack_sctp_packet() from the basic checks on; `is_new`: the first packet. */
static enum sctp_res
sctp_track(struct ct_entry *e, const struct ct_pkt *p, enum ct_dir dir, bool is_new)
{
	uint8_t map = p->tcp_flags;
	uint32_t seq = p->tcp_sack;
	bool ignore = false;
	unsigned i;

	if (p->tcp_opts & (CT_SCTP_O_BAD | CT_SCTP_O_MANY))
		return SCTP_INVALID;
	if (is_new) {
		/* Out of the blue with these chunks: discard (section 8.4). */
		if (map & (CT_SCTP_M_ABORT | CT_SCTP_M_SHUT_COMP | CT_SCTP_M_COOKIE_ACK))
			return SCTP_INVALID;
		if (sctp_new_tags(e, p) != 0)
			return SCTP_INVALID;
	}
	/* Section 8.5: the tag must be the direction's, unless a chunk has rules of its own. */
	if (!(map & (CT_SCTP_M_INIT | CT_SCTP_M_SHUT_COMP | CT_SCTP_M_COOKIE_ECHO |
		     CT_SCTP_M_ABORT | CT_SCTP_M_SHUT_ACK | CT_SCTP_M_HEARTBEAT |
		     CT_SCTP_M_HB_ACK)) &&
	    p->tcp_seq != e->sctp_vtag[dir])
		return SCTP_INVALID;

	for (i = 0; i < CT_SCTP_SEQ_MAX; i++, seq >>= CT_SCTP_SEQ_BITS) {
		unsigned row = seq & CT_SCTP_SEQ_ROW;
		bool t = (seq & CT_SCTP_SEQ_T) != 0;
		uint8_t old = e->tcp_state, st;
		int hb;

		if (row == 0)
			break;
		row--;
		switch (row) {
		case CT_SCTP_C_INIT:
			if (p->tcp_seq != 0)  /* 8.5.1 (A) */
				return SCTP_INVALID;
			break;
		case CT_SCTP_C_ABORT:             /* 8.5.1 (B) */
		case CT_SCTP_C_SHUTDOWN_COMPLETE: /* 8.5.1 (C) */
			if (!sctp_tag_t_ok(e, p, dir, t))
				return SCTP_INVALID;
			break;
		case CT_SCTP_C_COOKIE_ECHO:       /* 8.5.1 (D): the tag of the INIT_ACK */
			if (p->tcp_seq != e->sctp_vtag[dir])
				return SCTP_INVALID;
			break;
		case CT_SCTP_C_COOKIE_ACK:
			e->tcp_flags &= (uint8_t)~(SCTP_F_INIT_ORIG | SCTP_F_INIT_REPLY);
			break;
		case CT_SCTP_C_HEARTBEAT:
		case CT_SCTP_C_HEARTBEAT_ACK:
			hb = sctp_heartbeat(e, p, dir, row == CT_SCTP_C_HEARTBEAT_ACK, ignore);
			if (hb < 0)
				return SCTP_INVALID;
			if (hb == 0) {
				ignore = true;
				continue;
			}
			break;
		default:
			break;
		}
		st = ct_sctp_table[dir][row][old];
		if (st == sIV)
			return SCTP_INVALID;
		if (row == CT_SCTP_C_INIT || row == CT_SCTP_C_INIT_ACK) {
			if (sctp_init_tags(e, p, dir, row) != 0)
				return SCTP_INVALID;
			/* A retransmitted INIT must not keep a reused entry alive. */
			if (row == CT_SCTP_C_INIT && st == sCL && old == sCL && !is_new)
				ignore = true;
		}
		e->tcp_state = st;
		if (old != st) {
			e->pending |= CT_EVI_PROTOINFO;
			if (st == sES && !(e->status & CT_S_ASSURED)) {
				e->status |= CT_S_ASSURED;
				e->pending |= CT_EVI_ASSURED;
			}
		}
	}
	return ignore ? SCTP_IGNORE : SCTP_ACCEPT;
}

static int
sctp_new_conn(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	      uint8_t *to_class)
{
	(void)conf;
	e->tcp_state = CT_SCTP_NONE;
	e->tcp_flags = 0;
	e->sctp_vtag[0] = e->sctp_vtag[1] = 0;
	if (sctp_track(e, p, CT_DIR_ORIG, true) == SCTP_INVALID)
		return CT_INV_STATE;
	*to_class = ct_sctp_timeout_class(e->tcp_state);
	return 0;
}

static enum ct_l4_verdict
sctp_packet(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	    enum ct_dir dir, uint64_t now_ns, uint8_t *to_class)
{
	(void)conf;
	(void)now_ns;
	switch (sctp_track(e, p, dir, false)) {
	case SCTP_INVALID:
		return CT_L4_INVALID;
	case SCTP_IGNORE:
		return CT_L4_IGNORE;
	default:
		*to_class = ct_sctp_timeout_class(e->tcp_state);
		return CT_L4_ACCEPT;
	}
}

const struct ct_l4_proto ct_l4_sctp = {
	.name = "sctp",
	.new_conn = sctp_new_conn,
	.packet = sctp_packet,
};
