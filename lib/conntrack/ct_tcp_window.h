/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_TCP_WINDOW_H
#define DPCT_CT_TCP_WINDOW_H

/*
 * TCP window tracking, the behaviour of Linux's tcp_in_window() and the
 * sequence-number parts of tcp_packet() (nf_conntrack_proto_tcp.c), kept
 * apart from the state table in ct_tcp.c as Linux keeps them. State lives in
 * the tw_* fields of struct ct_entry and, for the highest acks, in the
 * entry's cold part (struct ct_tw_cold). Private to lib/conntrack.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct_private.h"

/* tw_seen[dir]: td_scale in the low nibble, then these (Linux IP_CT_TCP_FLAG_*). */
#define CT_TW_S_SCALE_MASK 0x0f
#define CT_TW_S_WSCALE     0x10  /* sent the window scale option */
#define CT_TW_S_SACKOK     0x20  /* sent SACK-permitted */
#define CT_TW_S_LIBERAL    0x40  /* no window checks for this sender */
#define CT_TW_S_UNACK      0x80  /* sent data the peer has not acknowledged */

/* tw_retrans: the count in the low nibble (saturates at 15), then these. */
#define CT_TW_R_COUNT      0x0f
#define CT_TW_R_LAST_WIN0  0x10  /* ct_tw_last_win() == 0 (read by the timeout) */
#define CT_TW_R_MAXACK0    0x40  /* IP_CT_TCP_FLAG_MAXACK_SET of the original direction */
#define CT_TW_R_MAXACK1    0x80  /* ... and of the reply direction */
#define CT_TW_R_MAXACK(d)  ((uint8_t)(CT_TW_R_MAXACK0 << (d)))

/*
 * tw_last_opt, written when a SYN from the original direction is ignored:
 * that SYN's options, which a SYN/ACK answering it restores (Linux
 * last_wscale and last_flags). The low nibble is its window scale, or
 * CT_TW_L_NOWSCALE without the option.
 */
#define CT_TW_L_WSCALE     0x0f
#define CT_TW_L_NOWSCALE   0x0f
#define CT_TW_L_SACKOK     0x10

/* Linux's IP_CT_TCP_FLAG_* bit values, for CTA_PROTOINFO_TCP_FLAGS_*. */
#define CT_TW_LINUX_WINDOW_SCALE 0x01
#define CT_TW_LINUX_SACK_PERM    0x02
#define CT_TW_LINUX_CLOSE_INIT   0x04
#define CT_TW_LINUX_BE_LIBERAL   0x08
#define CT_TW_LINUX_UNACK        0x10
#define CT_TW_LINUX_MAXACK_SET   0x20

enum ct_tw_result {
	CT_TW_ACCEPT = 0,  /* in window: the state machine goes on */
	CT_TW_IGNORE,      /* pass without a state change or refresh (Linux NFCT_TCP_IGNORE) */
	CT_TW_INVALID,     /* out of window (Linux NFCT_TCP_INVALID) */
};

/* seq + payload + SYN + FIN (Linux segment_seq_plus_len()). */
static inline uint32_t
ct_tw_seg_end(const struct ct_pkt *p)
{
	return p->tcp_seq + p->payload_len + ((p->tcp_flags & 0x02) ? 1 : 0) +
	       ((p->tcp_flags & 0x01) ? 1 : 0);
}

/* Sequence-space comparisons (Linux before()/after()). */
static inline bool
ct_tw_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool
ct_tw_after(uint32_t a, uint32_t b)
{
	return (int32_t)(b - a) < 0;
}

/*
 * Initialise the window state of a new entry from its first packet (Linux
 * tcp_new()): a SYN gives the original direction's end, window and options;
 * a mid-stream pickup (`syn` false) is tracked liberally in both directions.
 */
void ct_tw_new(struct ct_entry *e, struct ct_tw_cold *x, const struct ct_pkt *p, bool syn);

/*
 * The window check of one packet of class `pc` (enum ct_tcp_pkt_class) in
 * direction `dir`, with the connection in TCP state `state` before it
 * (Linux tcp_in_window()). Updates the window state when it accepts, and in
 * the cases where Linux updates it for an ignored packet.
 */
enum ct_tw_result ct_tw_in_window(const struct ct_conf *conf, struct ct_entry *e,
				  struct ct_tw_cold *x, const struct ct_pkt *p, enum ct_dir dir,
				  unsigned pc, uint8_t state);

/*
 * Annotate a packet of class `pc` from `dir` that the state table ignored
 * (Linux last_seq/last_end/last_win, and for a SYN from the original
 * direction last_wscale/last_flags). Linux's last_ack stays.
 */
void ct_tw_note_ignored(struct ct_entry *e, const struct ct_pkt *p, enum ct_dir dir,
			unsigned pc);

/*
 * A SYN/ACK from `dir` that acknowledges a SYN ignored from the other
 * direction: take that SYN (its end, window, window scale and options) as
 * the other direction's start and forget this direction's state (Linux
 * re-synchronisation in tcp_packet()).
 */
void ct_tw_resync(struct ct_entry *e, enum ct_dir dir);

/* Whether `d` has sent an accepted segment with ACK (Linux IP_CT_TCP_FLAG_MAXACK_SET). */
static inline bool
ct_tw_maxack_set(const struct ct_entry *e, enum ct_dir d)
{
	return (e->tw_retrans & CT_TW_R_MAXACK(d)) != 0;
}

/* Linux's flags byte and window scale of direction `d`, for events. */
static inline uint8_t
ct_tw_linux_flags(const struct ct_entry *e, enum ct_dir d)
{
	/*
	 * tw_seen's four flag bits (high nibble: WSCALE, SACKOK, LIBERAL, UNACK)
	 * are Linux's bits 0, 1, 3 and 4: the low pair stays, the high pair
	 * moves up one past CLOSE_INIT.
	 */
	_Static_assert(CT_TW_S_WSCALE == 0x10 && CT_TW_S_SACKOK == 0x20 && CT_TW_S_LIBERAL == 0x40 &&
			       CT_TW_S_UNACK == 0x80 && CT_TW_LINUX_WINDOW_SCALE == 0x01 &&
			       CT_TW_LINUX_SACK_PERM == 0x02 && CT_TW_LINUX_BE_LIBERAL == 0x08 &&
			       CT_TW_LINUX_UNACK == 0x10,
		       "tw_seen's flag nibble maps onto Linux's flags byte");
	unsigned hi = (unsigned)e->tw_seen[d] >> 4;
	uint8_t f = (uint8_t)((hi & 0x3) | (hi & 0xc) << 1);

	if (e->tcp_flags & (d == CT_DIR_ORIG ? CT_TF_CLOSE_INIT_ORIG : CT_TF_CLOSE_INIT_REPLY))
		f |= CT_TW_LINUX_CLOSE_INIT;
	if (ct_tw_maxack_set(e, d))
		f |= CT_TW_LINUX_MAXACK_SET;
	return f;
}

static inline uint8_t
ct_tw_wscale(const struct ct_entry *e, enum ct_dir d)
{
	return e->tw_seen[d] & CT_TW_S_SCALE_MASK;
}

static inline bool
ct_tw_unacked(const struct ct_entry *e)
{
	return ((e->tw_seen[0] | e->tw_seen[1]) & CT_TW_S_UNACK) != 0;
}

static inline bool
ct_tw_last_win0(const struct ct_entry *e)
{
	return (e->tw_retrans & CT_TW_R_LAST_WIN0) != 0;
}

static inline unsigned
ct_tw_retrans(const struct ct_entry *e)
{
	return e->tw_retrans & CT_TW_R_COUNT;
}

/* Linux MAXACKWINCONST: the smallest window an ack may lag behind. */
#define CT_TW_MAXACKWIN_MIN 66000u

/* Linux last_win: the raw window field of the last segment remembered. */
static inline uint16_t
ct_tw_last_win(const struct ct_entry *e)
{
	return (uint16_t)e->pkts_w[CT_DIR_ORIG];
}

/* Linux last_end - last_seq: the last segment's sequence length. */
static inline uint16_t
ct_tw_last_len(const struct ct_entry *e)
{
	return (uint16_t)e->pkts_w[CT_DIR_REPLY];
}

/*
 * Remember a segment as Linux's last_seq, last_end and last_win (`end`:
 * its end, `len`: its sequence length, `win`: its raw window field). The
 * low halves of the packet counts' words are written as whole words: the
 * count's next 64-bit add then reads them from the store buffer.
 */
static inline void
ct_tw_set_last_seg(struct ct_entry *e, uint32_t end, uint32_t len, uint16_t win)
{
	e->tw_last_end = end;
	e->pkts_w[CT_DIR_ORIG] = (e->pkts_w[CT_DIR_ORIG] & ~UINT64_C(0xffff)) | win;
	e->pkts_w[CT_DIR_REPLY] = (e->pkts_w[CT_DIR_REPLY] & ~UINT64_C(0xffff)) | (uint16_t)len;
	e->tw_retrans = (uint8_t)((e->tw_retrans & (uint8_t)~CT_TW_R_LAST_WIN0) |
				  (win == 0 ? CT_TW_R_LAST_WIN0 : 0));
}

/* Linux's nf_tcp_log_invalid(): a liberal sender or tracker accepts instead. */
static inline enum ct_tw_result
ct_tw_fail(const struct ct_conf *conf, const struct ct_entry *e, unsigned s,
	   enum ct_tw_result r)
{
	if (conf->tcp_be_liberal || (e->tw_seen[s] & CT_TW_S_LIBERAL))
		return CT_TW_ACCEPT;
	return r;
}

/*
 * Checks I-IV and the update of tcp_in_window() for a segment whose
 * direction is already initialised, with seq/ack/sack/end/win as the
 * special cases before them left them (`syn`: the segment carries SYN, so
 * its window is not scaled; `ackf`: it carries ACK, so the sender's highest
 * ack counts as set). ct_tw_in_window() ends here, and so does the
 * established-ACK fast path of ct_tcp_fast.h (`fast`): one implementation of
 * the window rule for both.
 */
static inline __attribute__((always_inline)) enum ct_tw_result
ct_tw_check(const struct ct_conf *conf, struct ct_entry *e, struct ct_tw_cold *x,
	    const struct ct_pkt *p, enum ct_dir dir, unsigned pc, uint32_t seq, uint32_t ack,
	    uint32_t sack, uint32_t end, uint32_t win, bool syn, bool ackf, bool fast)
{
	const unsigned s = dir, r = !dir;
	uint32_t maxackwin, swin, maxack;
	bool in_recv, c;

	maxackwin = e->tw_maxwin[s] > CT_TW_MAXACKWIN_MIN ? e->tw_maxwin[s] : CT_TW_MAXACKWIN_MIN;
	/* I: the sequence start within the receiver's window. */
	if (!ct_tw_before(seq, e->tw_maxend[s] + 1)) {
		uint32_t overshot = end - e->tw_maxend[s] + 1;
		bool ack_ok = ct_tw_after(sack, e->tw_end[r] - maxackwin - 1);

		in_recv = e->tw_maxwin[r] != 0 &&
			  ct_tw_after(end, e->tw_end[s] - e->tw_maxwin[r] - 1);
		if (in_recv && ack_ok && overshot <= e->tw_maxwin[r] &&
		    ct_tw_before(sack, e->tw_end[r] + 1)) {
			/* Sent beyond the window: ignore, but expect its ack. */
			e->tw_end[s] = end;
			e->tw_seen[s] |= CT_TW_S_UNACK;
			return CT_TW_IGNORE;
		}
		return ct_tw_fail(conf, e, s, CT_TW_INVALID);
	}
	/* III: no ack of data not seen yet. */
	if (!ct_tw_before(sack, e->tw_end[r] + 1))
		return ct_tw_fail(conf, e, s, CT_TW_INVALID);
	/* II: the end above what the receiver already acknowledged. */
	in_recv = e->tw_maxwin[r] == 0 || ct_tw_after(end, e->tw_end[s] - e->tw_maxwin[r] - 1);
	if (!in_recv)
		return ct_tw_fail(conf, e, s, CT_TW_IGNORE);
	/* IV: the ack not too far behind. */
	if (!ct_tw_after(sack, e->tw_end[r] - maxackwin - 1))
		return ct_tw_fail(conf, e, s, CT_TW_IGNORE);

	/*
	 * In window: update the sender, then the receiver. In the fast path each
	 * update is a select, not a branch: on a link, data one way and bare
	 * ACKs the other, whether a segment moves an edge follows its
	 * direction, which is a coin toss from one packet to the next.
	 */
	if (!syn)
		win <<= ct_tw_wscale(e, (enum ct_dir)s);
	swin = win + (sack - ack);
	e->tw_maxwin[s] = ct_select_if(fast, e->tw_maxwin[s] < swin, swin, e->tw_maxwin[s]);
	c = ct_tw_after(end, e->tw_end[s]);
	e->tw_end[s] = ct_select_if(fast, c, end, e->tw_end[s]);
	e->tw_seen[s] |= (uint8_t)(c ? CT_TW_S_UNACK : 0);
	c = (e->tw_maxwin[r] != 0) & ct_tw_after(end, e->tw_maxend[s]);
	e->tw_maxwin[r] += ct_select_if(fast, c, end - e->tw_maxend[s], 0);
	c = ct_tw_after(sack + win, e->tw_maxend[r] - 1);
	e->tw_maxend[r] = ct_select_if(fast, c, sack + win + (win == 0), e->tw_maxend[r]);
	e->tw_seen[r] &= (uint8_t)~(ack == e->tw_end[r] ? CT_TW_S_UNACK : 0);

	/*
	 * Retransmissions (Linux): an ACK-class segment from the side that sent
	 * the last one, with its seq, ack, end and raw window. The sequence
	 * length of an ACK-class segment is its payload (below 65,536: the IP
	 * length field bounds it), so equal ends and lengths are equal seqs.
	 */
	if (pc == CT_TCP_PC_ACK) {
		bool last_dir_same = ((e->tcp_flags & CT_TF_LAST_DIR_REPLY) != 0) ==
				     (dir == CT_DIR_REPLY);

		/* One test of all the terms (`&`, not `&&`): it is false but for a retransmission. */
		if (last_dir_same & (e->tw_last_end == end) &
		    (ct_tw_last_len(e) == (uint16_t)(end - seq)) & (x->last_ack == ack) &
		    (ct_tw_last_win(e) == p->tcp_win)) {
			if ((e->tw_retrans & CT_TW_R_COUNT) != CT_TW_R_COUNT)
				e->tw_retrans++;
		} else {
			x->last_ack = ack;
			e->tw_retrans &= (uint8_t)~CT_TW_R_COUNT;
			ct_tw_set_last_seg(e, end, end - seq, p->tcp_win);
		}
	}
	/*
	 * The sender's highest ack (Linux td_maxack): the first one, then any
	 * later one. Last, so that the pointer to the cold part is live only
	 * here (in the fast path, registers are short).
	 */
	if (ackf) {
		uint8_t bit = CT_TW_R_MAXACK(s);

		maxack = x->maxack[s];
		x->maxack[s] = ct_select_if(fast, !(e->tw_retrans & bit) | ct_tw_after(ack, maxack),
					    ack, maxack);
		e->tw_retrans |= bit;
	}
	return CT_TW_ACCEPT;
}

#endif /* DPCT_CT_TCP_WINDOW_H */
