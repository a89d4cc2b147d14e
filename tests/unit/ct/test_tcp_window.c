/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP window tracking (ct_tcp_window.c) against the rules of Linux's
 * tcp_in_window(), table-driven: each scenario is a list of segments with
 * sequence, ack, window, length and options, and for each the verdict, the
 * TCP state and (where it matters) the timeout class Linux would give. The
 * shard's part around the tracker (SEEN_REPLY after an accepted reply,
 * packet counts) is simulated here, as in test_tcp.c.
 *
 * Connection used by most scenarios: client ISN 1000, server ISN 5000,
 * both offering window scale 7 and SACK; windows 502 and 509 (<< 7).
 *
 * kernel_tcp_window.py reads this table (the s_* arrays, HANDSHAKE and the
 * SC() list: keep their one-segment-per-brace layout) and plays it through
 * the kernel's conntrack: every expectation here is what Linux does.
 */

#include <stdint.h>
#include <string.h>

#include "ct_private.h"
#include "ct_tcp_window.h"
#include "dpct_test.h"

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };
#define O CT_DIR_ORIG
#define R CT_DIR_REPLY

/* Options: window scale 7 and SACK-permitted, or none. */
#define OPT_WS_SACK 1
#define OPT_NONE 0
#define OPT_WS_ONLY 2
#define NOCLS 0xff        /* timeout class not checked */
#define V_NEW 100         /* first packet: expect new_conn() == 0 */
#define V_NEWFAIL 101     /* first packet: expect new_conn() to refuse */

struct seg {
	uint8_t dir;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win, len;
	uint8_t opt;
	uint32_t sack;        /* SACK right edge (0: none) */
	int verdict;          /* enum ct_l4_verdict, V_NEW or V_NEWFAIL */
	uint8_t state;
	uint8_t cls;
};

struct scenario {
	const char *name;
	bool liberal;         /* conf.tcp_be_liberal */
	bool loose;
	const struct seg *segs;
	unsigned n;
};

#define HANDSHAKE \
	{ O, SYN, 1000, 0, 64240, 0, OPT_WS_SACK, 0, V_NEW, CT_TCP_SYN_SENT, CT_TO_TCP_SYN_SENT }, \
	{ R, SYN | ACK, 5000, 1001, 65160, 0, OPT_WS_SACK, 0, CT_L4_ACCEPT, CT_TCP_SYN_RECV, \
	  CT_TO_TCP_SYN_RECV }, \
	{ O, ACK, 1001, 5001, 502, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, \
	  CT_TO_TCP_ESTABLISHED }

static const struct seg s_in_window_data[] = {
	HANDSHAKE,
	/* Data in flight: the "unacknowledged" timeout, until the peer acks it. */
	{ O, ACK | PSH, 1001, 5001, 502, 1000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ R, ACK, 5001, 2001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
	{ R, ACK | PSH, 5001, 2001, 509, 500, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK, 2001, 5501, 502, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
	/* The normal close: every FIN and ACK in window. */
	{ O, FIN | ACK, 2001, 5501, 502, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_FIN_WAIT, NOCLS },
	{ R, FIN | ACK, 5501, 2002, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_LAST_ACK, NOCLS },
	{ O, ACK, 2002, 5502, 502, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_TIME_WAIT,
	  CT_TO_TCP_TIME_WAIT },
};

static const struct seg s_out_of_window_data[] = {
	HANDSHAKE,
	/* Rule I: starts beyond what the receiver's window allows. */
	{ O, ACK | PSH, 300000, 5001, 502, 100, OPT_NONE, 0, CT_L4_INVALID_WINDOW,
	  CT_TCP_ESTABLISHED, NOCLS },
	/* Rule III: acknowledges data the server never sent. */
	{ O, ACK, 1001, 5001 + 100, 502, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW,
	  CT_TCP_ESTABLISHED, NOCLS },
	/* Rule II: an old retransmission far below the window: ignored, not invalid. */
	{ O, ACK | PSH, 1001u - 70000u, 5001, 502, 10, OPT_NONE, 0, CT_L4_IGNORE,
	  CT_TCP_ESTABLISHED, NOCLS },
	/* Just beyond the server's window (SYN/ACK: 65160, unscaled) by less than a
	 * window: ignored, its end remembered. */
	{ O, ACK | PSH, 1001 + 65160 + 1, 5001, 502, 100, OPT_NONE, 0, CT_L4_IGNORE,
	  CT_TCP_ESTABLISHED, NOCLS },
	/* ... so that the server may now ack it. */
	{ R, ACK, 5001, 1001 + 65160 + 101, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT,
	  CT_TCP_ESTABLISHED, NOCLS },
	/* Data right after it passes; what lies a window below is now old (rule II). */
	{ O, ACK | PSH, 66262, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_IGNORE, CT_TCP_ESTABLISHED,
	  NOCLS },
};

static const struct seg s_rst_in_window[] = {
	HANDSHAKE,
	{ O, ACK | PSH, 1001, 5001, 502, 1000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	{ R, ACK, 5001, 2001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	/* The RST at exactly what the server acknowledged closes. */
	{ O, RST, 2001, 0, 0, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_CLOSE, CT_TO_TCP_CLOSE },
};

static const struct seg s_rst_out_of_window[] = {
	HANDSHAKE,
	{ O, ACK | PSH, 1001, 5001, 502, 1000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	{ R, ACK, 5001, 2001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	/* A blind RST far outside the window: INVALID, the connection lives on. */
	{ O, RST, 90000000, 0, 0, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW, CT_TCP_ESTABLISHED,
	  NOCLS },
	/* One from the other side too: the timeout drops to tcp_unack (nf_tcp_handle_invalid). */
	{ R, RST | ACK, 77777777, 2001, 0, 0, OPT_NONE, 0, CT_L4_INVALID_SHORTEN,
	  CT_TCP_ESTABLISHED, CT_TO_TCP_UNACK },
	/* Below what the peer acknowledged: an invalid RST (Linux "invalid rst"). */
	{ O, RST, 1500, 0, 0, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW, CT_TCP_ESTABLISHED, NOCLS },
	/* In window but not exact: accepted, state kept for a challenge ACK. */
	{ O, RST, 3000, 0, 0, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, CT_TO_TCP_CLOSE },
	/* Traffic continues. */
	{ R, ACK | PSH, 5001, 2001, 509, 10, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	/* The RST ending a train of segments (seq = the last segment's end) closes. */
	{ R, RST | ACK, 5011, 2001, 0, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_CLOSE, NOCLS },
};

static const struct seg s_rst_at_maxack[] = {
	HANDSHAKE,
	{ O, ACK | PSH, 1001, 5001, 502, 1000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	/* The server acknowledges half of it: data still in flight. */
	{ R, ACK, 5001, 1501, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	/* A RST exactly at the server's highest ack (td_maxack) closes. */
	{ O, RST, 1501, 0, 0, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_CLOSE, CT_TO_TCP_CLOSE },
};

static const struct seg s_rst_below_maxack[] = {
	HANDSHAKE,
	{ O, ACK | PSH, 1001, 5001, 502, 1000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ R, ACK, 5001, 1501, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	/* In the window but below the server's highest ack: "invalid rst". */
	{ O, RST, 1400, 0, 0, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW, CT_TCP_ESTABLISHED, NOCLS },
	/* Above it, not at it: accepted, the state kept for a challenge ACK. */
	{ O, RST | ACK, 1700, 5001, 0, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_CLOSE },
	/* The challenge ACK repeats the highest ack; the RST at it closes. */
	{ R, ACK, 5001, 1501, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, RST, 1501, 0, 0, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_CLOSE, CT_TO_TCP_CLOSE },
};

static const struct seg s_challenge_rst_syn_sent[] = {
	{ O, SYN, 1000, 0, 64240, 0, OPT_WS_SACK, 0, V_NEW, CT_TCP_SYN_SENT, NOCLS },
	/* The server still holds an older connection: its challenge ACK is ignored ... */
	{ R, ACK, 5000, 77777, 65160, 0, OPT_NONE, 0, CT_L4_IGNORE, CT_TCP_SYN_SENT, NOCLS },
	/* ... a RST at another sequence is out of window ... */
	{ O, RST, 77778, 0, 0, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW, CT_TCP_SYN_SENT, NOCLS },
	/* ... the client's RST at the challenge ACK's ack (Linux last_ack) closes. */
	{ O, RST, 77777, 0, 0, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_CLOSE, CT_TO_TCP_CLOSE },
};

static const struct seg s_rst_answers_syn[] = {
	{ O, SYN, 1000, 0, 64240, 0, OPT_WS_SACK, 0, V_NEW, CT_TCP_SYN_SENT, NOCLS },
	/* RST|ACK with seq 0 answering the SYN: the entry goes (UNREPLIED). */
	{ R, RST | ACK, 0, 1001, 0, 0, OPT_NONE, 0, CT_L4_KILL, CT_TCP_CLOSE, NOCLS },
};

static const struct seg s_rst_answers_syn_bad_ack[] = {
	{ O, SYN, 1000, 0, 64240, 0, OPT_WS_SACK, 0, V_NEW, CT_TCP_SYN_SENT, NOCLS },
	/* A RST whose ack is not the SYN's end: out of window. */
	{ R, RST | ACK, 0, 123456, 0, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW, CT_TCP_SYN_SENT,
	  NOCLS },
};

static const struct seg s_window_scale[] = {
	HANDSHAKE,
	/* The server opens its window to 1000 << 7 = 128000 bytes. */
	{ R, ACK, 5001, 1001, 1000, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	{ O, ACK | PSH, 1001, 5001, 502, 60000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	/* Beyond the unscaled window, within the scaled one. */
	{ O, ACK | PSH, 61001, 5001, 502, 60000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
};

static const struct seg s_no_window_scale[] = {
	{ O, SYN, 1000, 0, 64240, 0, OPT_WS_SACK, 0, V_NEW, CT_TCP_SYN_SENT, NOCLS },
	/* The server does not scale: neither side does (RFC 7323). */
	{ R, SYN | ACK, 5000, 1001, 65160, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_SYN_RECV, NOCLS },
	{ O, ACK, 1001, 5001, 502, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	{ R, ACK, 5001, 1001, 1000, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	{ O, ACK | PSH, 1001, 5001, 502, 60000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	/* The same second segment as with scaling is now far beyond a 1000-byte window. */
	{ O, ACK | PSH, 161001, 5001, 502, 60000, OPT_NONE, 0, CT_L4_INVALID_WINDOW,
	  CT_TCP_ESTABLISHED, NOCLS },
};

static const struct seg s_sack[] = {
	HANDSHAKE,
	{ O, ACK | PSH, 1001, 5001, 502, 1000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	/* A SACK block within what was sent: fine. */
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 2001, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	/* A SACK block beyond anything sent: rule III on the SACK edge. */
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 2500, CT_L4_INVALID_WINDOW, CT_TCP_ESTABLISHED,
	  NOCLS },
};

static const struct seg s_sack_not_permitted[] = {
	/* The client never offered SACK: SACK blocks to it are not looked at. */
	{ O, SYN, 1000, 0, 64240, 0, OPT_WS_ONLY, 0, V_NEW, CT_TCP_SYN_SENT, NOCLS },
	{ R, SYN | ACK, 5000, 1001, 65160, 0, OPT_WS_SACK, 0, CT_L4_ACCEPT, CT_TCP_SYN_RECV, NOCLS },
	{ O, ACK, 1001, 5001, 502, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	{ O, ACK | PSH, 1001, 5001, 502, 1000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 2500, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
};

static const struct seg s_retrans[] = {
	HANDSHAKE,
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
	/* The same segment again and again: after tcp_max_retrans (3) the retrans timeout. */
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_RETRANS },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_RETRANS },
	/* A different segment (the ack moved) starts counting again. */
	{ R, ACK, 5001, 1101, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
	{ O, ACK | PSH, 1101, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
};

/*
 * Segments that differ from the last one only where an 8-bit digest of
 * (seq, ack, window) cannot tell (each pair collides under the fingerprint
 * dpct used before): Linux compares the fields, so none is a
 * retransmission and the count starts again.
 */
static const struct seg s_retrans_other_window[] = {
	HANDSHAKE,
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
	/* The same segment three times: the 2nd retransmission. */
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	/* Only the window differs (533, not 502): a new segment, not the 3rd retransmission. */
	{ O, ACK | PSH, 1001, 5001, 533, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 533, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
};

static const struct seg s_retrans_other_ack[] = {
	HANDSHAKE,
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
	/* The same segment three times: the 2nd retransmission. */
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	/* Only the ack differs (an older one, 4889): a new segment. */
	{ O, ACK | PSH, 1001, 4889, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
};

static const struct seg s_retrans_other_seq[] = {
	HANDSHAKE,
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
	/* The same segment three times: the 2nd retransmission. */
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	/* The same end (1101) from another seq (1006), and window 503: a new segment. */
	{ O, ACK | PSH, 1006, 5001, 503, 95, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	/* The first segment again is new too; three more of it are the 3rd retransmission. */
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	{ O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_RETRANS },
};

static const struct seg s_zero_window[] = {
	HANDSHAKE,
	/* A zero window: the retransmission timeout instead of ESTABLISHED's 5 days. */
	{ R, ACK, 5001, 1001, 0, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_RETRANS },
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
};

static const struct seg s_loose_pickup[] = {
	/*
	 * Mid-stream: picked up, tracked liberally in both directions. The ack
	 * fails rule III and liberal accepts without updating, so Linux's
	 * last_win is still 0: the retransmission timeout.
	 */
	{ O, ACK | PSH, 777000, 99000, 502, 100, OPT_NONE, 0, V_NEW, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_RETRANS },
	{ R, ACK, 99000, 777100, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	/* Out of window, yet liberal: accepted. */
	{ O, ACK | PSH, 9777000, 99000, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
};

static const struct seg s_no_pickup[] = {
	{ O, ACK | PSH, 777000, 99000, 502, 100, OPT_NONE, 0, V_NEWFAIL, CT_TCP_NONE, NOCLS },
};

static const struct seg s_resync[] = {
	HANDSHAKE,
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	/* The client restarted: a SYN with a new ISN is ignored ... */
	{ O, SYN, 700000, 0, 64240, 0, OPT_NONE, 0, CT_L4_IGNORE, CT_TCP_ESTABLISHED, NOCLS },
	/* ... a SYN/ACK for something else too ... */
	{ R, SYN | ACK, 9000, 123, 65160, 0, OPT_NONE, 0, CT_L4_IGNORE, CT_TCP_ESTABLISHED, NOCLS },
	{ O, SYN, 700000, 0, 64240, 0, OPT_NONE, 0, CT_L4_IGNORE, CT_TCP_ESTABLISHED, NOCLS },
	/* ... but the server's answer to it re-synchronises on the new connection. */
	{ R, SYN | ACK, 9000, 700001, 65160, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_SYN_RECV,
	  CT_TO_TCP_SYN_RECV },
	{ O, ACK, 700001, 9001, 64240, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	{ O, ACK | PSH, 700001, 9001, 64240, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	{ R, ACK, 9001, 700101, 65160, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
};

static const struct seg s_resync_wscale[] = {
	HANDSHAKE,
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	/* The client restarted, offering window scale 7 and SACK: its SYN is ignored ... */
	{ O, SYN, 700000, 0, 64240, 0, OPT_WS_SACK, 0, CT_L4_IGNORE, CT_TCP_ESTABLISHED, NOCLS },
	/* ... the server's SYN/ACK takes the SYN's end, window scale and options. */
	{ R, SYN | ACK, 9000, 700001, 65160, 0, OPT_WS_SACK, 0, CT_L4_ACCEPT, CT_TCP_SYN_RECV,
	  CT_TO_TCP_SYN_RECV },
	{ O, ACK, 700001, 9001, 502, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
	/* The client's window is 502 << 7: the server may send 11000 bytes past its ack. */
	{ R, ACK | PSH, 20001, 700001, 509, 1000, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_UNACK },
	/* The client is tracked strictly, not liberally: far out of window is invalid. */
	{ O, ACK | PSH, 90000000, 21001, 502, 100, OPT_NONE, 0, CT_L4_INVALID_WINDOW,
	  CT_TCP_ESTABLISHED, NOCLS },
};

static const struct seg s_resync_syn_window[] = {
	HANDSHAKE,
	{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	{ O, SYN, 700000, 0, 64240, 0, OPT_WS_SACK, 0, CT_L4_IGNORE, CT_TCP_ESTABLISHED, NOCLS },
	{ R, SYN | ACK, 9000, 700001, 65160, 0, OPT_WS_SACK, 0, CT_L4_ACCEPT, CT_TCP_SYN_RECV,
	  CT_TO_TCP_SYN_RECV },
	/*
	 * The client's window is the ignored SYN's (64240): a server segment
	 * that ends below the SYN/ACK's end but within that window is in
	 * window (rule II) ...
	 */
	{ R, ACK | PSH, 8000, 700001, 509, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_SYN_RECV,
	  CT_TO_TCP_SYN_RECV },
	/* ... one that ends more than that window below it is an old retransmission. */
	{ R, ACK | PSH, 9001u - 64440u, 700001, 509, 100, OPT_NONE, 0, CT_L4_IGNORE,
	  CT_TCP_SYN_RECV, NOCLS },
};

static const struct seg s_fin_invalid_shortens[] = {
	HANDSHAKE,
	/* A FIN far out of window on an assured connection: invalid, remembered ... */
	{ O, FIN | ACK, 90000000, 5001, 502, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW,
	  CT_TCP_ESTABLISHED, NOCLS },
	/* ... again from the same side: nothing more ... */
	{ O, FIN | ACK, 90000000, 5001, 502, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW,
	  CT_TCP_ESTABLISHED, NOCLS },
	/* ... the other side's FIN, out of window too: the 5 days drop to tcp_unack. */
	{ R, FIN | ACK, 80000000, 1001, 509, 0, OPT_NONE, 0, CT_L4_INVALID_SHORTEN,
	  CT_TCP_ESTABLISHED, CT_TO_TCP_UNACK },
	/* An in-window segment refreshes as before. */
	{ O, ACK, 1001, 5001, 502, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  CT_TO_TCP_ESTABLISHED },
};

static const struct seg s_fin_out_of_window[] = {
	HANDSHAKE,
	/* A FIN far beyond the window does not start the close. */
	{ O, FIN | ACK, 400000, 5001, 502, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW,
	  CT_TCP_ESTABLISHED, NOCLS },
	{ O, FIN | ACK, 1001, 5001, 502, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_FIN_WAIT, NOCLS },
	/* Nor does an ack of what the client never sent complete it. */
	{ R, ACK, 5001, 9999, 509, 0, OPT_NONE, 0, CT_L4_INVALID_WINDOW, CT_TCP_FIN_WAIT, NOCLS },
	{ R, ACK, 5001, 1002, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_CLOSE_WAIT, NOCLS },
};

static const struct seg s_be_liberal[] = {
	HANDSHAKE,
	/* nf_conntrack_tcp_be_liberal=1: what would be out of window passes. */
	{ O, ACK | PSH, 300000, 5001, 502, 100, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED,
	  NOCLS },
	{ O, RST, 90000000, 0, 0, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
};

#define SC(n, lib, loose) { #n, lib, loose, n, sizeof(n) / sizeof(n[0]) }
static const struct scenario scenarios[] = {
	SC(s_in_window_data, false, true),
	SC(s_out_of_window_data, false, true),
	SC(s_rst_in_window, false, true),
	SC(s_rst_out_of_window, false, true),
	SC(s_rst_at_maxack, false, true),
	SC(s_rst_below_maxack, false, true),
	SC(s_challenge_rst_syn_sent, false, true),
	SC(s_rst_answers_syn, false, true),
	SC(s_rst_answers_syn_bad_ack, false, true),
	SC(s_window_scale, false, true),
	SC(s_no_window_scale, false, true),
	SC(s_sack, false, true),
	SC(s_sack_not_permitted, false, true),
	SC(s_retrans, false, true),
	SC(s_retrans_other_window, false, true),
	SC(s_retrans_other_ack, false, true),
	SC(s_retrans_other_seq, false, true),
	SC(s_zero_window, false, true),
	SC(s_loose_pickup, false, true),
	SC(s_no_pickup, false, false),
	SC(s_resync, false, true),
	SC(s_resync_wscale, false, true),
	SC(s_resync_syn_window, false, true),
	SC(s_fin_invalid_shortens, false, true),
	SC(s_fin_out_of_window, false, true),
	SC(s_be_liberal, true, true),
};

static void
mkpkt(struct ct_pkt *p, const struct seg *g)
{
	memset(p, 0, sizeof(*p));
	p->cls = CT_PKT_TRACK;
	p->tuple.family = 4;
	p->tuple.proto = 6;
	p->tuple.src[0] = 10;
	p->tuple.dst[0] = 10;
	p->tuple.dst[3] = 2;
	p->tuple.sport = 40000;
	p->tuple.dport = 80;
	p->tcp_flags = g->flags;
	p->tcp_seq = g->seq;
	p->tcp_ack = g->ack;
	p->tcp_sack = g->sack != 0 ? g->sack : g->ack;
	p->tcp_win = g->win;
	p->payload_len = g->len;
	if (g->opt != OPT_NONE) {
		p->tcp_opts = CT_PKT_OPT_PRESENT | CT_PKT_OPT_WSCALE;
		p->tcp_wscale = 7;
		if (g->opt == OPT_WS_SACK)
			p->tcp_opts |= CT_PKT_OPT_SACKOK;
	}
}

static int
run_scenario(const struct scenario *sc)
{
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_tw_cold x;
	uint8_t cls = 0;
	unsigned i;

	ct_conf_init(&conf);
	conf.tcp_be_liberal = sc->liberal;
	conf.tcp_loose = sc->loose;
	/* Distinct values so each class is told apart. */
	conf.timeout_s[CT_TO_TCP_RETRANS] = 200;
	conf.timeout_s[CT_TO_TCP_UNACK] = 300;
	memset(&e, 0, sizeof(e));
	for (i = 0; i < sc->n; i++) {
		const struct seg *g = &sc->segs[i];
		struct ct_pkt p;
		int v;

		mkpkt(&p, g);
		if (i == 0) {
			e.key = p.tuple;
			v = ct_tcp_new(&conf, &e, &x, &p, &cls) == 0 ? V_NEW : V_NEWFAIL;
			e.status = CT_S_CONFIRMED;
			ct_entry_pkts_set(&e, 0, 1);
			if (v == V_NEWFAIL) {
				if (g->verdict != V_NEWFAIL)
					T_FAIL_("%s: first packet refused", sc->name);
				return 0;
			}
		} else {
			uint8_t c = 0xee;

			e.pending = 0;
			v = ct_tcp_packet(&conf, &e, &x, &p, (enum ct_dir)g->dir, 0, &c);
			if (v == CT_L4_ACCEPT || v == CT_L4_KILL) {
				e.pkts_w[g->dir] += UINT64_C(1) << CT_PKTS_SHIFT;
				cls = c;
				if (g->dir == R && v == CT_L4_ACCEPT)
					e.status |= CT_S_SEEN_REPLY;
			} else if (v == CT_L4_IGNORE && g->dir == R) {
				e.status |= CT_S_SEEN_REPLY;
			} else if (v == CT_L4_INVALID_SHORTEN &&
				   conf.timeout_s[cls] >= 120 &&
				   conf.timeout_s[cls] > conf.timeout_s[CT_TO_TCP_UNACK]) {
				/* What the shard does (no time passes in this table). */
				cls = CT_TO_TCP_UNACK;
			}
		}
		if (v != g->verdict)
			T_FAIL_("%s step %u: verdict %d, want %d", sc->name, i, v, g->verdict);
		if (e.tcp_state != g->state)
			T_FAIL_("%s step %u: state %s, want %s", sc->name, i,
				ct_tcp_state_name(e.tcp_state), ct_tcp_state_name(g->state));
		if (g->cls != NOCLS && cls != g->cls)
			T_FAIL_("%s step %u: timeout %s, want %s", sc->name, i, ct_timeout_name(cls),
				ct_timeout_name(g->cls));
	}
	return 0;
}

static int
test_window_table(void)
{
	unsigned i;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (run_scenario(&scenarios[i]) != 0)
			return 1;
	return 0;
}

/* The state after the handshake: ends, windows, scales and Linux's flags. */
static int
test_handshake_state_and_flags(void)
{
	static const struct seg hs[] = { HANDSHAKE };
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_tw_cold x;
	struct ct_pkt p;
	uint8_t cls;
	unsigned i;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	mkpkt(&p, &hs[0]);
	e.key = p.tuple;
	T_EQ(ct_tcp_new(&conf, &e, &x, &p, &cls), 0);
	e.status = CT_S_CONFIRMED;
	ct_entry_pkts_set(&e, 0, 1);
	for (i = 1; i < 3; i++) {
		mkpkt(&p, &hs[i]);
		T_EQ(ct_tcp_packet(&conf, &e, &x, &p, (enum ct_dir)hs[i].dir, 0, &cls), CT_L4_ACCEPT);
		e.pkts_w[hs[i].dir] += UINT64_C(1) << CT_PKTS_SHIFT;
		if (hs[i].dir == R)
			e.status |= CT_S_SEEN_REPLY;
	}
	T_EQ(e.tw_end[O], 1001);
	T_EQ(e.tw_end[R], 5001);
	T_EQ(ct_tw_wscale(&e, O), 7);
	T_EQ(ct_tw_wscale(&e, R), 7);
	/* The client's ACK opened the server's view: 5001 + (502 << 7). */
	T_EQ(e.tw_maxend[R], 5001 + (502 << 7));
	T_EQ(e.tw_maxend[O], 1001 + 65160);
	T_EQ(ct_tw_linux_flags(&e, O), CT_TW_LINUX_WINDOW_SCALE | CT_TW_LINUX_SACK_PERM |
				       CT_TW_LINUX_MAXACK_SET);
	T_EQ(ct_tw_linux_flags(&e, R), CT_TW_LINUX_WINDOW_SCALE | CT_TW_LINUX_SACK_PERM |
				       CT_TW_LINUX_MAXACK_SET);
	/* A picked-up connection is liberal both ways. */
	{
		static const struct seg pk = { O, ACK, 10, 20, 100, 0, OPT_NONE, 0, V_NEW,
					       CT_TCP_ESTABLISHED, NOCLS };

		memset(&e, 0, sizeof(e));
		mkpkt(&p, &pk);
		T_EQ(ct_tcp_new(&conf, &e, &x, &p, &cls), 0);
		T_ASSERT(ct_tw_linux_flags(&e, O) & CT_TW_LINUX_BE_LIBERAL);
		T_ASSERT(ct_tw_linux_flags(&e, R) & CT_TW_LINUX_BE_LIBERAL);
	}
	return 0;
}

/*
 * The flags byte of CTA_PROTOINFO_TCP_FLAGS_*, for every tw_seen byte, both
 * directions, with and without CLOSE_INIT and with the peer's UNACK and
 * the MAXACK_SET bits of tw_retrans: bit by bit as Linux defines it.
 */
static int
test_linux_flags_every_combination(void)
{
	unsigned seen, peer, tf, pk, d, n = 0;

	for (seen = 0; seen < 256; seen++)
		for (peer = 0; peer < 2; peer++)
			for (tf = 0; tf < 4; tf++)
				for (pk = 0; pk < 4; pk++)
					for (d = 0; d < 2; d++) {
						struct ct_entry e;
						uint8_t want = 0;

						memset(&e, 0, sizeof(e));
						e.tw_seen[d] = (uint8_t)seen;
						e.tw_seen[!d] = peer ? CT_TW_S_UNACK : 0;
						e.tcp_flags = (uint8_t)((tf & 1 ? CT_TF_CLOSE_INIT_ORIG : 0) |
									(tf & 2 ? CT_TF_CLOSE_INIT_REPLY : 0));
						e.tw_retrans = (uint8_t)((pk & 1 ? CT_TW_R_MAXACK0 : 0) |
									 (pk & 2 ? CT_TW_R_MAXACK1 : 0));
						if (seen & CT_TW_S_WSCALE)
							want |= CT_TW_LINUX_WINDOW_SCALE;
						if (seen & CT_TW_S_SACKOK)
							want |= CT_TW_LINUX_SACK_PERM;
						if (tf & (d == O ? 1 : 2))
							want |= CT_TW_LINUX_CLOSE_INIT;
						if (seen & CT_TW_S_LIBERAL)
							want |= CT_TW_LINUX_BE_LIBERAL;
						if (seen & CT_TW_S_UNACK)
							want |= CT_TW_LINUX_UNACK;
						if (pk & (d == O ? 1u : 2u))
							want |= CT_TW_LINUX_MAXACK_SET;
						if (ct_tw_linux_flags(&e, (enum ct_dir)d) != want)
							T_FAIL_("seen %#x peer %u tf %u maxack %u dir %u: %#x, want %#x",
								seen, peer, tf, pk, d,
								ct_tw_linux_flags(&e, (enum ct_dir)d), want);
						n++;
					}
	T_EQ(n, 256 * 2 * 4 * 4 * 2);
	return 0;
}

/* Sequence arithmetic wraps: a connection across 2^32 is tracked like any other. */
static int
test_sequence_wrap(void)
{
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_tw_cold x;
	struct ct_pkt p;
	uint8_t cls;
	const struct seg g[] = {
		{ O, SYN, 0xfffffff0u, 0, 64240, 0, OPT_NONE, 0, V_NEW, CT_TCP_SYN_SENT, NOCLS },
		{ R, SYN | ACK, 5000, 0xfffffff1u, 65160, 0, OPT_NONE, 0, CT_L4_ACCEPT,
		  CT_TCP_SYN_RECV, NOCLS },
		{ O, ACK, 0xfffffff1u, 5001, 60000, 0, OPT_NONE, 0, CT_L4_ACCEPT,
		  CT_TCP_ESTABLISHED, NOCLS },
		{ O, ACK | PSH, 0xfffffff1u, 5001, 60000, 1000, OPT_NONE, 0, CT_L4_ACCEPT,
		  CT_TCP_ESTABLISHED, NOCLS },
		{ R, ACK, 5001, 0xfffffff1u + 1000, 60000, 0, OPT_NONE, 0, CT_L4_ACCEPT,
		  CT_TCP_ESTABLISHED, NOCLS },
	};
	unsigned i;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	mkpkt(&p, &g[0]);
	T_EQ(ct_tcp_new(&conf, &e, &x, &p, &cls), 0);
	ct_entry_pkts_set(&e, 0, 1);
	for (i = 1; i < sizeof(g) / sizeof(g[0]); i++) {
		mkpkt(&p, &g[i]);
		T_EQ(ct_tcp_packet(&conf, &e, &x, &p, (enum ct_dir)g[i].dir, 0, &cls), g[i].verdict);
		e.pkts_w[g[i].dir] += UINT64_C(1) << CT_PKTS_SHIFT;
		if (g[i].dir == R)
			e.status |= CT_S_SEEN_REPLY;
	}
	T_EQ(e.tw_end[O], 0xfffffff1u + 1000);
	T_EQ(e.tcp_state, CT_TCP_ESTABLISHED);
	return 0;
}

/* Play `g` on (e, x) as the shard would; returns the tracker's verdict. */
static int
play(const struct ct_conf *conf, struct ct_entry *e, struct ct_tw_cold *x, const struct seg *g)
{
	struct ct_pkt p;
	uint8_t cls = 0;
	int v;

	mkpkt(&p, g);
	v = ct_tcp_packet(conf, e, x, &p, (enum ct_dir)g->dir, 0, &cls);
	if (v == CT_L4_ACCEPT) {
		e->pkts_w[g->dir] += UINT64_C(1) << CT_PKTS_SHIFT;
		if (g->dir == R)
			e->status |= CT_S_SEEN_REPLY;
	}
	return v;
}

/*
 * Linux's retransmission rule field by field: a segment equal to the last
 * ACK-class one in direction, seq, ack, end and raw window counts; one that
 * differs in any one of them (the same end from another seq included)
 * starts over and is remembered exactly (last_ack, last_win, the length).
 */
static int
test_retrans_each_field(void)
{
	static const struct seg hs[] = {
		HANDSHAKE,
		{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
	};
	static const struct seg base = { O, ACK | PSH, 1001, 5001, 502, 100, OPT_NONE, 0,
					 CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS };
	static const struct seg other[] = {
		{ O, ACK | PSH, 1002, 5001, 502, 99, OPT_NONE, 0, 0, 0, 0 },  /* seq (same end) */
		{ O, ACK | PSH, 1001, 5000, 502, 100, OPT_NONE, 0, 0, 0, 0 }, /* ack */
		{ O, ACK | PSH, 1001, 5001, 502, 99, OPT_NONE, 0, 0, 0, 0 },  /* end */
		{ O, ACK | PSH, 1001, 5001, 503, 100, OPT_NONE, 0, 0, 0, 0 }, /* window */
		{ O, ACK | PSH, 1001, 5001, 0, 100, OPT_NONE, 0, 0, 0, 0 },   /* window 0 */
	};
	static const struct seg reply = { R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, 0, 0, 0 };
	struct ct_conf conf;
	unsigned i, k;

	ct_conf_init(&conf);
	for (i = 0; i <= sizeof(other) / sizeof(other[0]); i++) {
		struct ct_entry e;
		struct ct_tw_cold x;
		struct ct_pkt p;
		uint8_t cls;

		memset(&e, 0, sizeof(e));
		mkpkt(&p, &hs[0]);
		e.key = p.tuple;
		T_EQ(ct_tcp_new(&conf, &e, &x, &p, &cls), 0);
		e.status = CT_S_CONFIRMED;
		ct_entry_pkts_set(&e, 0, 1);
		for (k = 1; k < sizeof(hs) / sizeof(hs[0]); k++)
			T_EQ(play(&conf, &e, &x, &hs[k]), CT_L4_ACCEPT);
		for (k = 0; k < 3; k++) {
			T_EQ(play(&conf, &e, &x, &base), CT_L4_ACCEPT);
			T_EQ(ct_tw_retrans(&e), k);
		}
		if (i == sizeof(other) / sizeof(other[0])) {
			/* Another direction in between: the same segment is new again. */
			T_EQ(play(&conf, &e, &x, &reply), CT_L4_ACCEPT);
			T_EQ(play(&conf, &e, &x, &base), CT_L4_ACCEPT);
			T_EQ(ct_tw_retrans(&e), 0);
			continue;
		}
		T_EQ(play(&conf, &e, &x, &other[i]), CT_L4_ACCEPT);
		T_EQ(ct_tw_retrans(&e), 0);
		T_EQ(x.last_ack, other[i].ack);
		T_EQ(ct_tw_last_win(&e), other[i].win);
		T_EQ(ct_tw_last_len(&e), other[i].len);
		T_EQ(e.tw_last_end, other[i].seq + other[i].len);
		T_EQ(ct_tw_last_win0(&e), other[i].win == 0);
		T_EQ(play(&conf, &e, &x, &other[i]), CT_L4_ACCEPT);
		T_EQ(ct_tw_retrans(&e), 1);
	}
	return 0;
}

/* The resync restores the ignored SYN's window as the client's maximum window (Linux last_win). */
static int
test_resync_restores_syn_window(void)
{
	static const struct seg g[] = {
		HANDSHAKE,
		{ R, ACK, 5001, 1001, 509, 0, OPT_NONE, 0, CT_L4_ACCEPT, CT_TCP_ESTABLISHED, NOCLS },
		{ O, SYN, 700000, 0, 12345, 0, OPT_WS_SACK, 0, CT_L4_IGNORE, CT_TCP_ESTABLISHED,
		  NOCLS },
		{ R, SYN | ACK, 9000, 700001, 65160, 0, OPT_WS_SACK, 0, CT_L4_ACCEPT, CT_TCP_SYN_RECV,
		  NOCLS },
	};
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_tw_cold x;
	struct ct_pkt p;
	uint8_t cls;
	unsigned k;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	mkpkt(&p, &g[0]);
	e.key = p.tuple;
	T_EQ(ct_tcp_new(&conf, &e, &x, &p, &cls), 0);
	e.status = CT_S_CONFIRMED;
	ct_entry_pkts_set(&e, 0, 1);
	for (k = 1; k < sizeof(g) / sizeof(g[0]); k++)
		T_EQ(play(&conf, &e, &x, &g[k]), g[k].verdict);
	T_EQ(e.tw_maxwin[O], 12345);
	T_EQ(e.tw_end[O], 700001);
	T_EQ(ct_tw_wscale(&e, O), 7);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_window_table),
	T_CASE(test_retrans_each_field),
	T_CASE(test_resync_restores_syn_window),
	T_CASE(test_handshake_state_and_flags),
	T_CASE(test_sequence_wrap),
	T_CASE(test_linux_flags_every_combination),
};

T_MAIN(cases)
