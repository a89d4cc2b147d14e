/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP window tracking with the behaviour of Linux's tcp_in_window()
 * (net/netfilter/nf_conntrack_proto_tcp.c, kernel 6.x), written for dpct's
 * entry layout. For each direction the sender's highest sequence end
 * (td_end), the highest end the receiver's window allows (td_maxend), the
 * largest window seen (td_maxwin) and the window scale are kept; a segment is
 * in window when
 *   I.   its sequence start is at most td_maxend of the sender,
 *   II.  its end is above td_end - td_maxwin of the receiver (else it is an
 *        old retransmission: ignored, not invalid),
 *   III. its (SACK-extended) ack is at most td_end of the receiver, and
 *   IV.  that ack is above td_end - max(td_maxwin, 66000) of the receiver
 *        (else an overly delayed ack: ignored).
 * I and III failing make the packet INVALID (unless the sender or the whole
 * tracker is liberal); a segment that only overshoots the window by at most
 * the receiver's window is ignored but its end remembered, as Linux works
 * around stacks that send beyond the window.
 *
 * Memory is 32 bytes in the entry and 16 in its cold part (ct_private.h):
 * everything of Linux's struct ip_ct_tcp that its decisions read, exactly
 * (last_seq as its distance below last_end, a sequence length).
 */

#include <string.h>

#include "ct_tcp_window.h"

/* Options of a SYN for direction d (Linux tcp_options()). */
static void
tw_options(struct ct_entry *e, unsigned d, const struct ct_pkt *p)
{
	uint8_t f;

	/* Without an option area Linux leaves the direction as it was. */
	if (!(p->tcp_opts & CT_PKT_OPT_PRESENT))
		return;
	f = e->tw_seen[d] & CT_TW_S_LIBERAL;
	/* Linux keeps only BE_LIBERAL of the direction's flags: MAXACK_SET goes too. */
	e->tw_retrans &= (uint8_t)~CT_TW_R_MAXACK(d);
	if (p->tcp_opts & CT_PKT_OPT_SACKOK)
		f |= CT_TW_S_SACKOK;
	if (p->tcp_opts & CT_PKT_OPT_WSCALE)
		f |= (uint8_t)(CT_TW_S_WSCALE | (p->tcp_wscale & CT_TW_S_SCALE_MASK));
	e->tw_seen[d] = f;
}

/* A SYN or SYN/ACK starts direction d (Linux tcp_init_sender()). */
static void
tw_init_sender(struct ct_entry *e, unsigned d, const struct ct_pkt *p, uint32_t end,
	       uint32_t win)
{
	e->tw_end[d] = end;
	e->tw_maxend[d] = end;
	e->tw_maxwin[d] = win == 0 ? 1 : win;
	tw_options(e, d, p);
	/* RFC 7323: scaling only when both sides sent the option. */
	if (!((e->tw_seen[d] & CT_TW_S_WSCALE) && (e->tw_seen[!d] & CT_TW_S_WSCALE))) {
		e->tw_seen[d] &= (uint8_t)~CT_TW_S_SCALE_MASK;
		e->tw_seen[!d] &= (uint8_t)~CT_TW_S_SCALE_MASK;
	}
}

void
ct_tw_new(struct ct_entry *e, struct ct_tw_cold *x, const struct ct_pkt *p, bool syn)
{
	uint32_t end = ct_tw_seg_end(p);
	uint32_t win = p->tcp_win == 0 ? 1 : p->tcp_win;

	memset(e->tw_end, 0, sizeof(e->tw_end));
	memset(e->tw_maxend, 0, sizeof(e->tw_maxend));
	memset(e->tw_maxwin, 0, sizeof(e->tw_maxwin));
	e->tw_seen[0] = 0;
	e->tw_seen[1] = 0;
	e->tw_last_end = 0;
	e->tw_last_opt = 0;
	memset(x, 0, sizeof(*x));
	/* Linux starts from zeroes: last_seq, last_ack, last_end and last_win 0. */
	e->tw_retrans = CT_TW_R_LAST_WIN0;
	e->tw_end[0] = end;
	e->tw_maxwin[0] = win;
	if (syn) {
		e->tw_maxend[0] = end;
		tw_options(e, 0, p);
		return;
	}
	/* Mid-stream: history lost, window scale unknown: liberal both ways (as Linux). */
	e->tw_maxend[0] = end + win;
	e->tw_seen[0] = CT_TW_S_SACKOK | CT_TW_S_LIBERAL;
	e->tw_seen[1] = CT_TW_S_SACKOK | CT_TW_S_LIBERAL;
}

enum ct_tw_result
ct_tw_in_window(const struct ct_conf *conf, struct ct_entry *e, struct ct_tw_cold *x,
		const struct ct_pkt *p, enum ct_dir dir, unsigned pc, uint8_t state)
{
	const unsigned s = dir, r = !dir;
	const bool syn = (p->tcp_flags & CT_TCP_TH_SYN) != 0;
	const bool ackf = (p->tcp_flags & CT_TCP_TH_ACK) != 0;
	const bool rst = (p->tcp_flags & CT_TCP_TH_RST) != 0;
	uint32_t seq = p->tcp_seq, ack = p->tcp_ack, sack = p->tcp_ack;
	uint32_t end = ct_tw_seg_end(p), win = p->tcp_win, swin;

	if (e->tw_seen[r] & CT_TW_S_SACKOK)
		sack = p->tcp_sack;

	if (e->tw_maxwin[s] == 0) {
		if (syn) {
			/* SYN/ACK answering the SYN, or the reply's SYN of a simultaneous open. */
			tw_init_sender(e, s, p, end, win);
			if (!ackf)
				return CT_TW_ACCEPT;
		} else {
			/* First packet of this direction in mid-stream. */
			e->tw_end[s] = end;
			swin = win << ct_tw_wscale(e, (enum ct_dir)s);
			e->tw_maxwin[s] = swin == 0 ? 1 : swin;
			e->tw_maxend[s] = end + e->tw_maxwin[s];
			if (e->tw_maxwin[r] == 0) {
				/* Nothing from the other side yet: let its ack pass III and IV. */
				e->tw_end[r] = sack;
				e->tw_maxend[r] = sack;
			} else if (sack == e->tw_end[r] + 1) {
				/* Most likely the answer to a keep-alive. */
				e->tw_end[r]++;
			}
		}
	} else if (syn && ct_tw_after(end, e->tw_end[s]) &&
		   (state == CT_TCP_SYN_SENT || state == CT_TCP_SYN_RECV)) {
		/* RFC 793: a reinitialised peer uses higher sequence numbers: start over. */
		tw_init_sender(e, s, p, end, win);
		if (dir == CT_DIR_REPLY && !ackf)
			return CT_TW_ACCEPT;
	}

	if (!ackf) {
		/* No ACK: as if it acknowledged everything. */
		ack = e->tw_end[r];
		sack = ack;
	} else if (rst && ack == 0) {
		/* Stacks that send RST|ACK with a zero ack. */
		ack = e->tw_end[r];
		sack = ack;
	}
	if (rst && seq == 0 && state == CT_TCP_SYN_SENT) {
		/* The RST that answers a SYN. */
		seq = e->tw_end[s];
		end = seq;
	}

	return ct_tw_check(conf, e, x, p, dir, pc, seq, ack, sack, end, win, syn, ackf, false);
}

void
ct_tw_note_ignored(struct ct_entry *e, const struct ct_pkt *p, enum ct_dir dir, unsigned pc)
{
	uint32_t end = ct_tw_seg_end(p);

	ct_tw_set_last_seg(e, end, end - p->tcp_seq, p->tcp_win);
	if (pc != CT_TCP_PC_SYN || dir != CT_DIR_ORIG)
		return;
	/* The SYN's options, for a SYN/ACK that may answer it (Linux last_wscale/last_flags). */
	e->tw_last_opt = CT_TW_L_NOWSCALE;
	if (p->tcp_opts & CT_PKT_OPT_PRESENT) {
		if (p->tcp_opts & CT_PKT_OPT_WSCALE)
			e->tw_last_opt = p->tcp_wscale & CT_TW_L_WSCALE;
		if (p->tcp_opts & CT_PKT_OPT_SACKOK)
			e->tw_last_opt |= CT_TW_L_SACKOK;
	}
}

void
ct_tw_resync(struct ct_entry *e, enum ct_dir dir)
{
	const unsigned ld = !dir;
	uint8_t opt = e->tw_last_opt;

	/* The ignored SYN: its end, window (Linux last_win), window scale and options. */
	e->tw_end[ld] = e->tw_last_end;
	e->tw_maxend[ld] = e->tw_last_end;
	e->tw_maxwin[ld] = ct_tw_last_win(e) == 0 ? 1 : ct_tw_last_win(e);
	e->tw_seen[ld] = 0;
	if ((opt & CT_TW_L_WSCALE) != CT_TW_L_NOWSCALE)
		e->tw_seen[ld] = (uint8_t)(CT_TW_S_WSCALE | (opt & CT_TW_L_WSCALE));
	if (opt & CT_TW_L_SACKOK)
		e->tw_seen[ld] |= CT_TW_S_SACKOK;
	/* The answering side starts over, keeping only its liberal flag (Linux). */
	e->tw_end[dir] = 0;
	e->tw_maxend[dir] = 0;
	e->tw_maxwin[dir] = 0;
	e->tw_seen[dir] &= CT_TW_S_LIBERAL;
	e->tw_retrans &= (uint8_t)~(CT_TW_R_MAXACK0 | CT_TW_R_MAXACK1);
}
