/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_TCP_WINDOW_H
#define DPCT_CT_TCP_WINDOW_H

/*
 * TCP window tracking, the behaviour of Linux's tcp_in_window() and the
 * sequence-number parts of tcp_packet() (nf_conntrack_proto_tcp.c), kept
 * apart from the state table in ct_tcp.c as Linux keeps them. State lives in
 * the tw_* fields of struct ct_entry. Private to lib/conntrack.
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
#define CT_TW_R_LAST_WIN0  0x10  /* Linux last_win == 0 */
#define CT_TW_R_NOFP       0x20  /* tw_last_fp does not describe the last packet */

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
void ct_tw_new(struct ct_entry *e, const struct ct_pkt *p, bool syn);

/*
 * The window check of one packet of class `pc` (enum ct_tcp_pkt_class) in
 * direction `dir`, with the connection in TCP state `state` before it
 * (Linux tcp_in_window()). Updates the window state when it accepts, and in
 * the cases where Linux updates it for an ignored packet.
 */
enum ct_tw_result ct_tw_in_window(const struct ct_conf *conf, struct ct_entry *e,
				  const struct ct_pkt *p, enum ct_dir dir, unsigned pc,
				  uint8_t state);

/* Annotate a packet the state table ignored (Linux last_seq/last_end/last_win). */
void ct_tw_note_ignored(struct ct_entry *e, const struct ct_pkt *p);

/*
 * A SYN/ACK from `dir` that acknowledges a SYN ignored from the other
 * direction: take that SYN as the other direction's start and forget this
 * direction's state (Linux re-synchronisation in tcp_packet()).
 */
void ct_tw_resync(struct ct_entry *e, enum ct_dir dir, const struct ct_pkt *p);

/*
 * The highest ack sent by `d` (Linux seen[d].td_maxack) when it is known:
 * @return true and *maxack, or false when it cannot be told (see
 * docs/differences.md); *set tells whether `d` has sent an ack at all.
 */
bool ct_tw_maxack(const struct ct_entry *e, enum ct_dir d, uint32_t *maxack, bool *set);

/* Linux's flags byte and window scale of direction `d`, for events. */
uint8_t ct_tw_linux_flags(const struct ct_entry *e, enum ct_dir d);

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

#endif /* DPCT_CT_TCP_WINDOW_H */
