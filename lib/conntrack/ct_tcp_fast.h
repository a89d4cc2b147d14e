/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_TCP_FAST_H
#define DPCT_CT_TCP_FAST_H

/*
 * The TCP tracker's rules for the packet that dominates every link: an ACK
 * (no SYN, FIN or RST) of an assured ESTABLISHED connection whose sending
 * direction's window is initialised. The shard inlines ct_tcp_fast() into
 * its packet loop; everything else goes through ct_tcp_packet()
 * (ct_tcp.c). Both use the same inline pieces: the window rule
 * (ct_tw_check()), the timeout choice and the "last packet" bookkeeping, so
 * the fast path gives exactly the verdict, state and timeout of the full one
 * (tests/unit/ct test_tcp_fast_equals_full checks it packet by packet).
 * Private to lib/conntrack.
 */

#include "ct_tcp_window.h"

/*
 * The timeout class after an in-window packet of class `pc` that leaves
 * the connection in a state whose own class is `cls` (Linux tcp_packet()):
 * the retransmission timeout once the same segment was sent max_retrans
 * times, CLOSE after a RST, "unacknowledged" while data is in flight, the
 * retransmission timeout again after a zero window, else `cls`. `fast`:
 * called from the established fast path, which takes the last two as
 * selects (ct_select_if()).
 */
static inline uint8_t
ct_tcp_timeout(const struct ct_conf *conf, const struct ct_entry *e, unsigned pc, uint8_t cls,
	       bool fast)
{
	uint32_t t = conf->timeout_s[cls];
	bool over_retrans = t > conf->timeout_s[CT_TO_TCP_RETRANS];

	if (ct_tw_retrans(e) >= conf->tcp_max_retrans && over_retrans)
		return CT_TO_TCP_RETRANS;
	if (pc == CT_TCP_PC_RST)
		return CT_TO_TCP_CLOSE;
	/*
	 * Data in flight comes and goes with every segment of a transfer:
	 * selects, not branches (the later one, "unacknowledged", wins).
	 */
	cls = (uint8_t)ct_select_if(fast, ct_tw_last_win0(e) & over_retrans, CT_TO_TCP_RETRANS,
				     cls);
	return (uint8_t)ct_select_if(fast, ct_tw_unacked(e) & (t > conf->timeout_s[CT_TO_TCP_UNACK]),
				      CT_TO_TCP_UNACK, cls);
}

/* Remember the class and direction of an accepted or ignored packet (Linux last_index/dir). */
static inline void
ct_tcp_set_last(struct ct_entry *e, unsigned pc, enum ct_dir dir)
{
	uint8_t f = e->tcp_flags & (uint8_t)~(CT_TF_LAST_DIR_REPLY | CT_TF_LAST_MASK);

	_Static_assert(CT_TCP_PC_MAX <= (CT_TF_LAST_MASK >> CT_TF_LAST_SHIFT) + 1,
		       "a packet class fits the last-class bits");
	if (dir == CT_DIR_REPLY)
		f |= CT_TF_LAST_DIR_REPLY;
	e->tcp_flags = (uint8_t)(f | pc << CT_TF_LAST_SHIFT);
}

/* The class of the last accepted or ignored packet (Linux last_index). */
static inline unsigned
ct_tcp_last_class(const struct ct_entry *e)
{
	return (e->tcp_flags & CT_TF_LAST_MASK) >> CT_TF_LAST_SHIFT;
}

/* The tracker's verdict on a segment the window rule did not accept. */
static inline enum ct_l4_verdict
ct_tcp_window_refusal(enum ct_tw_result w)
{
	return w == CT_TW_IGNORE ? CT_L4_IGNORE : CT_L4_INVALID_WINDOW;
}

/*
 * ct_tcp_packet() for an ACK of an assured ESTABLISHED entry: the state
 * table keeps ESTABLISHED, no event is due, the window rule decides. `x`
 * is the entry's cold TCP state (its highest acks), as for ct_tcp_packet().
 * @return an enum ct_l4_verdict (ACCEPT with *to_class, IGNORE or
 *   INVALID_WINDOW), or -1 when the packet is not of that kind (nothing
 *   was changed: the caller runs the full tracker).
 */
static inline __attribute__((always_inline)) int
ct_tcp_fast(const struct ct_conf *conf, struct ct_entry *e, struct ct_tw_cold *x,
	    const struct ct_pkt *p, enum ct_dir dir, uint8_t *to_class)
{
	const uint16_t both = CT_S_SEEN_REPLY | CT_S_ASSURED;
	enum ct_tw_result w;
	uint32_t sack;

	if (e->tcp_state != CT_TCP_ESTABLISHED ||
	    (p->tcp_flags & (CT_TCP_TH_FIN | CT_TCP_TH_SYN | CT_TCP_TH_RST | CT_TCP_TH_ACK)) !=
		    CT_TCP_TH_ACK ||
	    (e->status & both) != both || e->tw_maxwin[dir] == 0)
		return -1;
	sack = (e->tw_seen[!dir] & CT_TW_S_SACKOK) ? p->tcp_sack : p->tcp_ack;
	w = ct_tw_check(conf, e, x, p, dir, CT_TCP_PC_ACK, p->tcp_seq, p->tcp_ack, sack,
			p->tcp_seq + p->payload_len, p->tcp_win, false, true, true);
	if (w != CT_TW_ACCEPT)
		return ct_tcp_window_refusal(w);
	ct_tcp_set_last(e, CT_TCP_PC_ACK, dir);
	*to_class = ct_tcp_timeout(conf, e, CT_TCP_PC_ACK, CT_TO_TCP_ESTABLISHED, true);
	return CT_L4_ACCEPT;
}

#endif /* DPCT_CT_TCP_FAST_H */
