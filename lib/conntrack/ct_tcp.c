/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP tracker: Linux's state machine (net/netfilter/nf_conntrack_proto_tcp.c,
 * tcp_conntracks[][][], get_conntrack_index(), tcp_valid_flags[], tcp_new() and
 * the special cases of nf_conntrack_tcp_packet()), reproduced transition for
 * transition so that the same flag sequences give the same states, events and
 * timeouts as the kernel.
 *
 * Not implemented (yet): window tracking (tcp_in_window()). Linux only lets a
 * packet change state when it is inside the receiver's window; we accept every
 * packet the table accepts. Everything that in Linux depends on sequence
 * numbers is therefore absent or approximated, each at its place below:
 * the retransmission and unacknowledged-data timeouts (CT_TO_TCP_RETRANS,
 * CT_TO_TCP_UNACK for in-flight data), the RST sequence checks in CLOSE, and
 * the ack number check of the SYN/ACK re-synchronisation. ct_pkt carries
 * tcp_seq, tcp_ack and tcp_win so that window tracking can be added here
 * without touching the parser.
 */

#include <stdint.h>

#include "ct_private.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

/*
 * Tracker-private bits of ct_entry.tcp_flags beyond those in ct_private.h
 * (Linux IP_CT_EXP_CHALLENGE_ACK and IP_CT_TCP_SIMULTANEOUS_OPEN).
 */
#define CT_TF_CHALLENGE_ACK 0x40  /* an ignored SYN came in LAST_ACK: expect a challenge ACK */
#define CT_TF_SIMOPEN       0x80  /* simultaneous open seen (SYN_SENT2 entered) */
_Static_assert(((CT_TF_CLOSE_INIT_ORIG | CT_TF_CLOSE_INIT_REPLY | CT_TF_LAST_DIR_REPLY |
		 CT_TF_LAST_RST | CT_TF_LAST_SYN | CT_TF_PICKED_UP) &
		(CT_TF_CHALLENGE_ACK | CT_TF_SIMOPEN)) == 0, "tcp_flags bits overlap");

#define sNO CT_TCP_NONE
#define sSS CT_TCP_SYN_SENT
#define sSR CT_TCP_SYN_RECV
#define sES CT_TCP_ESTABLISHED
#define sFW CT_TCP_FIN_WAIT
#define sCW CT_TCP_CLOSE_WAIT
#define sLA CT_TCP_LAST_ACK
#define sTW CT_TCP_TIME_WAIT
#define sCL CT_TCP_CLOSE
#define sS2 CT_TCP_SYN_SENT2
#define sIV CT_TCP_IV
#define sIG CT_TCP_IG

/*
 * [direction][packet class][old state] -> new state. Values equal Linux's
 * table (kernel 5.x/6.x). IG: the packet may belong to a connection we are
 * out of sync with; let it pass without a state change. IV: out of state.
 */
const uint8_t ct_tcp_table[2][CT_TCP_PC_MAX][CT_TCP_MAX] = {
	[CT_DIR_ORIG] = {
		/*               sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2 */
		/*
		 * SYN: opens (NONE), is retransmitted (SYN_SENT, SYN_SENT2), or
		 * reopens a closed connection (TIME_WAIT, CLOSE, RFC 1122). In
		 * any other state the peers will answer with a RST: ignore.
		 */
		[CT_TCP_PC_SYN] =    { sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2 },
		/*
		 * SYN/ACK from the client: only answers the server's SYN in a
		 * simultaneous open (SYN_SENT2), or retransmits that answer
		 * (SYN_RECV).
		 */
		[CT_TCP_PC_SYNACK] = { sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR },
		/*
		 * FIN: starts the close once the handshake got a SYN/ACK, goes to
		 * LAST_ACK when the other side already closed; retransmitted FINs
		 * keep LAST_ACK, TIME_WAIT and CLOSE.
		 */
		[CT_TCP_PC_FIN] =    { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
		/*
		 * ACK: picks up a connection (NONE, loose), completes the
		 * handshake (SYN_RECV), answers a FIN (CLOSE_WAIT) or the last FIN
		 * (TIME_WAIT). Invalid before any SYN/ACK was seen.
		 */
		[CT_TCP_PC_ACK] =    { sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV },
		/* RST: closes anything that exists. */
		[CT_TCP_PC_RST] =    { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		/* No SYN, FIN, ACK or RST: never valid. */
		[CT_TCP_PC_NONE] =   { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	},
	[CT_DIR_REPLY] = {
		/*               sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2 */
		/*
		 * SYN from the server: simultaneous open (SYN_SENT, SYN_SENT2),
		 * or a reopen from TIME_WAIT with the roles switched. Invalid
		 * otherwise.
		 */
		[CT_TCP_PC_SYN] =    { sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2 },
		/*
		 * SYN/ACK: the standard (SYN_SENT) or simultaneous (SYN_SENT2)
		 * open; later ones are retransmissions or answers to ignored
		 * SYNs: ignore.
		 */
		[CT_TCP_PC_SYNACK] = { sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR },
		/* FIN: as in the original direction. */
		[CT_TCP_PC_FIN] =    { sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV },
		/*
		 * ACK: after a bare SYN it may be a half-open connection
		 * (ignore); in SYN_RECV it may answer a resent SYN; otherwise as
		 * in the original direction.
		 */
		[CT_TCP_PC_ACK] =    { sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG },
		/* RST: closes anything that exists. */
		[CT_TCP_PC_RST] =    { sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL },
		/* No SYN, FIN, ACK or RST: never valid. */
		[CT_TCP_PC_NONE] =   { sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV },
	},
};

unsigned
ct_tcp_pkt_class(uint8_t tcp_flags)
{
	/* Precedence as in Linux: RST, then SYN (with or without ACK), FIN, ACK. */
	if (tcp_flags & TH_RST)
		return CT_TCP_PC_RST;
	if (tcp_flags & TH_SYN)
		return (tcp_flags & TH_ACK) ? CT_TCP_PC_SYNACK : CT_TCP_PC_SYN;
	if (tcp_flags & TH_FIN)
		return CT_TCP_PC_FIN;
	if (tcp_flags & TH_ACK)
		return CT_TCP_PC_ACK;
	return CT_TCP_PC_NONE;
}

int
ct_tcp_flags_invalid(uint8_t tcp_flags)
{
	/* PSH, ECE and CWR never matter; the rest must be one of Linux's valid sets. */
	switch (tcp_flags & (uint8_t)~(TH_PSH | TH_ECE | TH_CWR)) {
	case TH_SYN:
	case TH_SYN | TH_URG:
	case TH_SYN | TH_ACK:
	case TH_RST:
	case TH_RST | TH_ACK:
	case TH_FIN | TH_ACK:
	case TH_FIN | TH_ACK | TH_URG:
	case TH_ACK:
	case TH_ACK | TH_URG:
		return 0;
	default:
		return 1;
	}
}

uint8_t
ct_tcp_timeout_class(uint8_t state)
{
	switch (state) {
	case CT_TCP_SYN_SENT:
		return CT_TO_TCP_SYN_SENT;
	case CT_TCP_SYN_RECV:
		return CT_TO_TCP_SYN_RECV;
	case CT_TCP_ESTABLISHED:
		return CT_TO_TCP_ESTABLISHED;
	case CT_TCP_FIN_WAIT:
		return CT_TO_TCP_FIN_WAIT;
	case CT_TCP_CLOSE_WAIT:
		return CT_TO_TCP_CLOSE_WAIT;
	case CT_TCP_LAST_ACK:
		return CT_TO_TCP_LAST_ACK;
	case CT_TCP_TIME_WAIT:
		return CT_TO_TCP_TIME_WAIT;
	case CT_TCP_SYN_SENT2:
		return CT_TO_TCP_SYN_SENT2;
	default:
		/* CLOSE, and NONE, which no live entry stays in: the shortest. */
		return CT_TO_TCP_CLOSE;
	}
}

/* Remember the class and direction of an accepted or ignored packet (Linux last_index/dir). */
static void
tcp_set_last(struct ct_entry *e, unsigned pc, enum ct_dir dir)
{
	e->tcp_flags &= (uint8_t)~(CT_TF_LAST_DIR_REPLY | CT_TF_LAST_RST | CT_TF_LAST_SYN);
	if (dir == CT_DIR_REPLY)
		e->tcp_flags |= CT_TF_LAST_DIR_REPLY;
	if (pc == CT_TCP_PC_RST)
		e->tcp_flags |= CT_TF_LAST_RST;
	else if (pc == CT_TCP_PC_SYN)
		e->tcp_flags |= CT_TF_LAST_SYN;
}

static enum ct_dir
tcp_last_dir(const struct ct_entry *e)
{
	return (e->tcp_flags & CT_TF_LAST_DIR_REPLY) ? CT_DIR_REPLY : CT_DIR_ORIG;
}

/* Linux replaces a timeout longer than the "unacknowledged" one by it in some cases. */
static uint8_t
tcp_cap_unack(const struct ct_conf *conf, uint8_t cls)
{
	if (conf->timeout_s[cls] > conf->timeout_s[CT_TO_TCP_UNACK])
		return CT_TO_TCP_UNACK;
	return cls;
}

static int
tcp_new_conn(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	     uint8_t *to_class)
{
	unsigned pc = ct_tcp_pkt_class(p->tcp_flags);
	uint8_t st = ct_tcp_table[CT_DIR_ORIG][pc][CT_TCP_NONE];

	if (st >= CT_TCP_MAX)
		return CT_INV_STATE;
	e->tcp_flags = 0;
	if (st != CT_TCP_SYN_SENT) {
		/* Mid-stream pickup (only a bare ACK gets here): nf_conntrack_tcp_loose. */
		if (!conf->tcp_loose)
			return CT_INV_STATE;
		e->tcp_flags |= CT_TF_PICKED_UP;
	}
	e->tcp_state = st;
	tcp_set_last(e, pc, CT_DIR_ORIG);
	*to_class = ct_tcp_timeout_class(st);
	/* A picked-up ESTABLISHED without a reply must not get the 5-day timeout. */
	if (st == CT_TCP_ESTABLISHED)
		*to_class = tcp_cap_unack(conf, *to_class);
	return 0;
}

static enum ct_l4_verdict
tcp_packet(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
	   enum ct_dir dir, uint64_t now_ns, uint8_t *to_class)
{
	unsigned pc = ct_tcp_pkt_class(p->tcp_flags);
	uint8_t old = e->tcp_state;
	uint8_t st;
	uint8_t cls;

	(void)now_ns;
	if (old >= CT_TCP_MAX)
		return CT_L4_INVALID;
	st = ct_tcp_table[dir][pc][old];

	switch (st) {
	case CT_TCP_SYN_SENT:
		if (old < CT_TCP_TIME_WAIT)
			break;
		/*
		 * A SYN on a closed connection. If a close was initiated, or this
		 * side aborted it with a RST, the peers start over: the old entry
		 * goes and the SYN creates a new one. Otherwise fall through and
		 * ignore it, as Linux does.
		 */
		if ((e->tcp_flags & (CT_TF_CLOSE_INIT_ORIG | CT_TF_CLOSE_INIT_REPLY)) ||
		    (tcp_last_dir(e) == dir && (e->tcp_flags & CT_TF_LAST_RST)))
			return CT_L4_REOPEN;
		/* fallthrough */
	case CT_TCP_IG:
		/*
		 * A SYN/ACK that answers a SYN we ignored in the other direction:
		 * the peers are in sync and we are not. Linux also requires the
		 * ack number to equal the ignored SYN's end; without window
		 * tracking we do not keep that sequence number.
		 */
		if (pc == CT_TCP_PC_SYNACK && (e->tcp_flags & CT_TF_LAST_SYN) &&
		    tcp_last_dir(e) != dir) {
			old = CT_TCP_SYN_SENT;
			st = CT_TCP_SYN_RECV;
			e->tcp_flags &= (uint8_t)~CT_TF_CHALLENGE_ACK;
			break;
		}
		tcp_set_last(e, pc, dir);
		e->tcp_flags &= (uint8_t)~CT_TF_CHALLENGE_ACK;
		/* RFC 5961: a SYN in LAST_ACK draws a challenge ACK, which must not close. */
		if (pc == CT_TCP_PC_SYN && dir == CT_DIR_ORIG && old == CT_TCP_LAST_ACK)
			e->tcp_flags |= CT_TF_CHALLENGE_ACK;
		return CT_L4_IGNORE;
	case CT_TCP_IV:
		return CT_L4_INVALID;
	case CT_TCP_TIME_WAIT:
		if (old == CT_TCP_LAST_ACK && pc == CT_TCP_PC_ACK && tcp_last_dir(e) != dir &&
		    (e->tcp_flags & CT_TF_LAST_SYN) && (e->tcp_flags & CT_TF_CHALLENGE_ACK)) {
			e->tcp_flags &= (uint8_t)~CT_TF_CHALLENGE_ACK;
			return CT_L4_IGNORE;
		}
		break;
	case CT_TCP_SYN_SENT2:
		/* The table alone cannot finish a simultaneous open; remember it. */
		e->tcp_flags |= CT_TF_SIMOPEN;
		break;
	case CT_TCP_SYN_RECV:
		if (dir == CT_DIR_REPLY && pc == CT_TCP_PC_ACK && (e->tcp_flags & CT_TF_SIMOPEN))
			st = CT_TCP_ESTABLISHED;
		break;
	default:
		/* CLOSE: Linux's RST sequence checks need window tracking. */
		break;
	}

	tcp_set_last(e, pc, dir);
	e->tcp_state = st;
	if (old != st && st == CT_TCP_FIN_WAIT)
		e->tcp_flags |= dir == CT_DIR_ORIG ? CT_TF_CLOSE_INIT_ORIG :
						     CT_TF_CLOSE_INIT_REPLY;

	cls = pc == CT_TCP_PC_RST ? CT_TO_TCP_CLOSE : ct_tcp_timeout_class(st);
	if (old != st)
		e->pending |= CT_EVI_PROTOINFO;

	if (!(e->status & CT_S_SEEN_REPLY)) {
		/* The only answer so far is a RST: no connection, drop the entry now. */
		if (pc == CT_TCP_PC_RST) {
			*to_class = cls;
			return CT_L4_KILL;
		}
		if (st == CT_TCP_ESTABLISHED)
			cls = tcp_cap_unack(conf, cls);
	} else if (!(e->status & CT_S_ASSURED) &&
		   (old == CT_TCP_SYN_RECV || old == CT_TCP_ESTABLISHED) &&
		   st == CT_TCP_ESTABLISHED) {
		e->status |= CT_S_ASSURED;
		e->pending |= CT_EVI_ASSURED;
	}
	*to_class = cls;
	return CT_L4_ACCEPT;
}

const struct ct_l4_proto ct_l4_tcp = {
	.name = "tcp",
	.new_conn = tcp_new_conn,
	.packet = tcp_packet,
};
