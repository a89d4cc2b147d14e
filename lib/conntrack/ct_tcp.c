/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP tracker: Linux's state machine (net/netfilter/nf_conntrack_proto_tcp.c,
 * tcp_conntracks[][][], get_conntrack_index(), tcp_valid_flags[], tcp_new() and
 * the special cases of nf_conntrack_tcp_packet()), reproduced transition for
 * transition so that the same flag sequences give the same states, events and
 * timeouts as the kernel.
 *
 * Window tracking (Linux tcp_in_window()) is in ct_tcp_window.c: a packet
 * changes state only when it is inside the window; this file keeps the state
 * table and the special cases of tcp_packet() around it (re-open, ignored
 * packets and re-synchronisation, challenge ACKs, the RST sequence checks in
 * CLOSE, nf_tcp_handle_invalid() and the retransmission / unacknowledged-data
 * / zero-window timeouts).
 */

#include <stdint.h>

#include "ct_private.h"
#include "ct_tcp_fast.h"

/*
 * Tracker-private bits of ct_entry.tcp_flags beyond those in ct_private.h
 * (Linux IP_CT_EXP_CHALLENGE_ACK and IP_CT_TCP_SIMULTANEOUS_OPEN).
 */
#define CT_TF_CHALLENGE_ACK 0x40  /* an ignored SYN came in LAST_ACK: expect a challenge ACK */
#define CT_TF_SIMOPEN       0x80  /* simultaneous open seen (SYN_SENT2 entered) */
_Static_assert(((CT_TF_CLOSE_INIT_ORIG | CT_TF_CLOSE_INIT_REPLY | CT_TF_LAST_DIR_REPLY |
		 CT_TF_LAST_MASK) &
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
	if (tcp_flags & CT_TCP_TH_RST)
		return CT_TCP_PC_RST;
	if (tcp_flags & CT_TCP_TH_SYN)
		return (tcp_flags & CT_TCP_TH_ACK) ? CT_TCP_PC_SYNACK : CT_TCP_PC_SYN;
	if (tcp_flags & CT_TCP_TH_FIN)
		return CT_TCP_PC_FIN;
	if (tcp_flags & CT_TCP_TH_ACK)
		return CT_TCP_PC_ACK;
	return CT_TCP_PC_NONE;
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

static inline uint8_t
tcp_timeout(const struct ct_conf *conf, const struct ct_entry *e, unsigned pc, uint8_t st)
{
	return ct_tcp_timeout(conf, e, pc, ct_tcp_timeout_class(st), false);
}

int
ct_tcp_new(const struct ct_conf *conf, struct ct_entry *e, struct ct_tw_cold *x,
	   const struct ct_pkt *p, uint8_t *to_class)
{
	unsigned pc = ct_tcp_pkt_class(p->tcp_flags);
	uint8_t st = ct_tcp_table[CT_DIR_ORIG][pc][CT_TCP_NONE];

	if (st >= CT_TCP_MAX)
		return CT_INV_STATE;
	e->tcp_flags = 0;
	/* Mid-stream pickup (only a bare ACK gets here): nf_conntrack_tcp_loose. */
	if (st != CT_TCP_SYN_SENT && !conf->tcp_loose)
		return CT_INV_STATE;
	/* Linux runs the first packet through tcp_new(), then tcp_packet(). */
	ct_tw_new(e, x, p, st == CT_TCP_SYN_SENT);
	if (ct_tw_in_window(conf, e, x, p, CT_DIR_ORIG, pc, CT_TCP_NONE) != CT_TW_ACCEPT)
		return CT_INV_TCP_WINDOW;
	e->tcp_state = st;
	ct_tcp_set_last(e, pc, CT_DIR_ORIG);
	*to_class = tcp_timeout(conf, e, pc, st);
	/* A picked-up ESTABLISHED without a reply must not get the 5-day timeout. */
	if (st == CT_TCP_ESTABLISHED)
		*to_class = tcp_cap_unack(conf, *to_class);
	return 0;
}

static bool
tcp_established_assured(const struct ct_entry *e)
{
	return e->tcp_state == CT_TCP_ESTABLISHED && (e->status & CT_S_ASSURED);
}

static bool
tcp_closing(uint8_t state)
{
	/* Linux tcp_can_early_drop(): the tuple may have been reused already. */
	return state == CT_TCP_FIN_WAIT || state == CT_TCP_LAST_ACK || state == CT_TCP_TIME_WAIT ||
	       state == CT_TCP_CLOSE || state == CT_TCP_CLOSE_WAIT;
}

/*
 * A RST that the table moves to CLOSE (Linux's TCP_CONNTRACK_CLOSE case).
 * @return 1: skip the window check; 0: check the window; -1: invalid RST.
 * May set *st back to the old state (an inexact RST keeps ESTABLISHED so a
 * challenge ACK can follow).
 */
static int
tcp_rst_check(const struct ct_entry *e, const struct ct_tw_cold *x, const struct ct_pkt *p,
	      enum ct_dir dir, uint8_t old, uint8_t *st)
{
	unsigned last = ct_tcp_last_class(e);

	if (tcp_closing(old))
		return 1;
	/* The peer's highest ack, unless a SYN let through since may have outdated it. */
	if (ct_tw_maxack_set(e, (enum ct_dir)!dir) && last != CT_TCP_PC_SYN) {
		uint32_t seq = p->tcp_seq, maxack = x->maxack[!dir];

		/* SEQ 0 outside ESTABLISHED answers a SYN let through above. */
		if (seq == 0 && !tcp_established_assured(e))
			return 0;
		if (ct_tw_before(seq, maxack))
			return -1;
		if (!tcp_established_assured(e) || seq == maxack)
			return 0;
		/* The RST ends a train of segments: P 1:20, then R 20:20. */
		if (last == CT_TCP_PC_ACK && tcp_last_dir(e) == dir && seq == e->tw_last_end)
			return 0;
		*st = old;
	}
	if ((((e->status & CT_S_SEEN_REPLY) && last == CT_TCP_PC_SYN) ||
	     (!(e->status & CT_S_ASSURED) && last == CT_TCP_PC_ACK)) &&
	    p->tcp_ack == e->tw_last_end)
		return 1; /* RST to a SYN or ACK let through as ignored: no window check */
	/* The RST that answers a challenge ACK let through in SYN_SENT (Linux last_ack). */
	if (old == CT_TCP_SYN_SENT && last == CT_TCP_PC_ACK && tcp_last_dir(e) == CT_DIR_REPLY &&
	    p->tcp_seq == x->last_ack)
		return 1;
	return 0;
}

/*
 * Linux nf_tcp_handle_invalid() for a segment of class `pc` from `dir` that
 * the window check found invalid: on an assured connection, a FIN or RST
 * that answers an out-of-window FIN or RST from the other side asks the
 * shard to shorten the timeout; any other FIN or RST is remembered as the
 * last packet.
 */
static enum ct_l4_verdict
tcp_handle_invalid(struct ct_entry *e, unsigned pc, enum ct_dir dir)
{
	unsigned last = ct_tcp_last_class(e);

	if (!(e->status & CT_S_ASSURED) || (pc != CT_TCP_PC_FIN && pc != CT_TCP_PC_RST))
		return CT_L4_INVALID_WINDOW;
	if (tcp_last_dir(e) != dir && (last == CT_TCP_PC_FIN || last == CT_TCP_PC_RST))
		return CT_L4_INVALID_SHORTEN;
	ct_tcp_set_last(e, pc, dir);
	return CT_L4_INVALID_WINDOW;
}

enum ct_l4_verdict
ct_tcp_packet(const struct ct_conf *conf, struct ct_entry *e, struct ct_tw_cold *x,
	      const struct ct_pkt *p, enum ct_dir dir, uint64_t now_ns, uint8_t *to_class)
{
	unsigned pc = ct_tcp_pkt_class(p->tcp_flags);
	uint8_t old = e->tcp_state;
	uint8_t st;
	int skip_window = 0;

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
		    (tcp_last_dir(e) == dir && ct_tcp_last_class(e) == CT_TCP_PC_RST))
			return CT_L4_REOPEN;
		/* fallthrough */
	case CT_TCP_IG:
		/*
		 * A SYN/ACK that acknowledges a SYN we ignored in the other
		 * direction: the peers are in sync and we are not. Take the
		 * ignored SYN as the start.
		 */
		if (pc == CT_TCP_PC_SYNACK && ct_tcp_last_class(e) == CT_TCP_PC_SYN &&
		    tcp_last_dir(e) != dir && p->tcp_ack == e->tw_last_end) {
			old = CT_TCP_SYN_SENT;
			st = CT_TCP_SYN_RECV;
			ct_tw_resync(e, dir);
			e->tcp_flags &= (uint8_t)~CT_TF_CHALLENGE_ACK;
			break;
		}
		ct_tw_note_ignored(e, p, dir, pc);
		ct_tcp_set_last(e, pc, dir);
		if (pc == CT_TCP_PC_SYN && dir == CT_DIR_ORIG) {
			/*
			 * Linux starts its last_flags over for such a SYN, which
			 * forgets a simultaneous open. RFC 5961: a SYN in LAST_ACK
			 * draws a challenge ACK, which must not close.
			 */
			e->tcp_flags &= (uint8_t)~(CT_TF_CHALLENGE_ACK | CT_TF_SIMOPEN);
			if (old == CT_TCP_LAST_ACK)
				e->tcp_flags |= CT_TF_CHALLENGE_ACK;
		}
		/* A possible challenge ACK answering the SYN (Linux last_ack). */
		if (old == CT_TCP_SYN_SENT && pc == CT_TCP_PC_ACK && dir == CT_DIR_REPLY)
			x->last_ack = p->tcp_ack;
		return CT_L4_IGNORE;
	case CT_TCP_IV:
		return CT_L4_INVALID;
	case CT_TCP_TIME_WAIT:
		if (old == CT_TCP_LAST_ACK && pc == CT_TCP_PC_ACK && tcp_last_dir(e) != dir &&
		    ct_tcp_last_class(e) == CT_TCP_PC_SYN && (e->tcp_flags & CT_TF_CHALLENGE_ACK)) {
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
	case CT_TCP_CLOSE:
		if (pc != CT_TCP_PC_RST)
			break;
		skip_window = tcp_rst_check(e, x, p, dir, old, &st);
		if (skip_window < 0)
			return CT_L4_INVALID_WINDOW;
		break;
	default:
		break;
	}

	if (!skip_window) {
		enum ct_tw_result w = ct_tw_in_window(conf, e, x, p, dir, pc, old);

		if (w == CT_TW_INVALID)
			return tcp_handle_invalid(e, pc, dir);
		if (w != CT_TW_ACCEPT)
			return ct_tcp_window_refusal(w);
	}

	/* In window from here on. */
	ct_tcp_set_last(e, pc, dir);
	e->tcp_state = st;
	if (old != st && st == CT_TCP_FIN_WAIT)
		e->tcp_flags |= dir == CT_DIR_ORIG ? CT_TF_CLOSE_INIT_ORIG :
						     CT_TF_CLOSE_INIT_REPLY;
	*to_class = tcp_timeout(conf, e, pc, st);
	if (old != st)
		e->pending |= CT_EVI_PROTOINFO;

	if (!(e->status & CT_S_SEEN_REPLY)) {
		/* The only answer so far is a RST: no connection, drop the entry now. */
		if (pc == CT_TCP_PC_RST)
			return CT_L4_KILL;
		/* A retransmitted SYN neither renews the timeout nor counts (Linux). */
		if (pc == CT_TCP_PC_SYN && old == CT_TCP_SYN_SENT)
			return CT_L4_IGNORE;
		if (st == CT_TCP_ESTABLISHED)
			*to_class = tcp_cap_unack(conf, *to_class);
	} else if (!(e->status & CT_S_ASSURED) &&
		   (old == CT_TCP_SYN_RECV || old == CT_TCP_ESTABLISHED) &&
		   st == CT_TCP_ESTABLISHED) {
		e->status |= CT_S_ASSURED;
		e->pending |= CT_EVI_ASSURED;
	}
	return CT_L4_ACCEPT;
}

/* The hooks are ct_tcp_new() and ct_tcp_packet(), which take the entry's cold part too. */
const struct ct_l4_proto ct_l4_tcp = {
	.name = "tcp",
};
