/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_HLP_H
#define DPCT_HLP_H

/**
 * @file
 * lib/helper: the application-layer parsers that make expectations (FTP,
 * TFTP), as Linux's nf_conntrack_ftp and nf_conntrack_tftp decide them.
 *
 * A helper reads one packet of its connection (the master) and says
 * whether a related connection is to be expected, and which: the
 * expected connection's original tuple, its source port left open (0).
 * It never allocates and keeps its per-connection state in a small struct
 * the caller stores beside the entry (FTP: struct hlp_ftp_state, 20 bytes;
 * TFTP: none).
 *
 * FTP follows Linux exactly:
 *  - packets are read only once the connection has seen traffic both
 *    ways (a packet in the original direction before any reply is not);
 *  - only a segment that starts right after a line end of its direction
 *    is read: the helper remembers the sequence numbers that follow the
 *    last two segments ending in '\n' per direction. A command split over
 *    segments is not read (as Linux), and nothing is reassembled;
 *  - commands: PORT and EPRT from the original direction, the 227 (PASV)
 *    and 229 (EPSV) replies from the reply direction, matched at the start
 *    of the segment without regard to case;
 *  - a segment that starts like a command but is cut short, or whose
 *    numbers do not parse, is dropped (HLP_DROP), as Linux drops it;
 *  - the address of PORT, EPRT and 227 must be the sender's own: any
 *    other makes no expectation (Linux's default, `loose` off);
 *  - the expected connection comes from the command sender's peer to the
 *    announced port: PORT/EPRT (active mode) from the server to the
 *    client's port, 227/229 (passive mode) from the client to the server's.
 *
 * TFTP: a read or write request (opcode 1 or 2) in either direction
 * expects a UDP connection from the server (any port) to the client's
 * port, as Linux's nf_conntrack_tftp.
 *
 * Thread safety: pure functions on the caller's state.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ct.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a helper concluded from one packet. */
enum hlp_verdict {
	HLP_PASS = 0,   /**< nothing to expect */
	HLP_EXPECT,     /**< `out` holds the expected connection */
	HLP_DROP,       /**< a cut-short or malformed command at a line start: drop, as Linux */
};

/** The command an expectation came from. */
enum hlp_cmd {
	HLP_CMD_NONE = 0,
	HLP_FTP_PORT,
	HLP_FTP_PASV,   /**< a 227 reply */
	HLP_FTP_EPRT,
	HLP_FTP_EPSV,   /**< a 229 reply */
	HLP_TFTP_RRQ,
	HLP_TFTP_WRQ,
	HLP_CMD_MAX,
};

/** Why a command made no expectation (for counters). */
enum hlp_why {
	HLP_WHY_NONE = 0,
	HLP_WHY_NOT_ESTABLISHED,  /**< original direction before any reply */
	HLP_WHY_NOT_LINE_START,   /**< the segment does not follow a line end */
	HLP_WHY_NO_COMMAND,       /**< no command at the segment's start */
	HLP_WHY_PARTIAL,          /**< a command cut short or malformed (HLP_DROP) */
	HLP_WHY_OTHER_ADDRESS,    /**< the announced address is not the sender's */
	HLP_WHY_MAX,
};

/** The expected connection. */
struct hlp_expect {
	struct ct_tuple tuple;    /**< its original tuple; sport 0: any source port */
	uint8_t cmd;              /**< enum hlp_cmd */
};

/** Linux's remembered line ends: at most this many per direction. */
#define HLP_FTP_NL_SEQS 2

/** An FTP control connection's parsing state; zeroed when the entry is created. */
struct hlp_ftp_state {
	uint32_t nl_seq[2][HLP_FTP_NL_SEQS];  /**< per direction: sequence numbers after a '\n' */
	uint8_t nl_num[2];                     /**< how many of nl_seq[dir] are set */
	uint8_t pickup[2];                     /**< read the next segment of dir whatever its
						*   sequence (an entry taken over mid-stream) */
};

/** One TCP segment of an FTP control connection, as the helper needs it. */
struct hlp_seg {
	enum ct_dir dir;          /**< its direction */
	bool seen_reply;          /**< the connection has seen a reply (before this packet) */
	uint32_t seq;             /**< its sequence number (host order) */
	const uint8_t *data;      /**< its payload */
	uint32_t len;             /**< payload bytes */
};

/**
 * Read one segment of an FTP control connection whose tuples are `orig`
 * and `reply` (the reply tuple as the tracker keeps it).
 * @param why  where not NULL, why no expectation was made (HLP_WHY_*).
 * @return HLP_EXPECT (`out` set), HLP_PASS or HLP_DROP. The state is
 *         updated in every case but HLP_DROP, as Linux's.
 */
enum hlp_verdict hlp_ftp_segment(struct hlp_ftp_state *st, const struct ct_tuple *orig,
				 const struct ct_tuple *reply, const struct hlp_seg *seg,
				 struct hlp_expect *out, enum hlp_why *why);

/**
 * Read one UDP datagram (its payload: `data`, `len` bytes) of a TFTP
 * connection whose tuples are `orig` and `reply`.
 * @return HLP_EXPECT (`out` set) for a read or write request, else HLP_PASS.
 */
enum hlp_verdict hlp_tftp_datagram(const struct ct_tuple *orig, const struct ct_tuple *reply,
				   const uint8_t *data, uint32_t len, struct hlp_expect *out);

/** The name of a command ("PORT", "227", ...), "?" when out of range. */
const char *hlp_cmd_name(unsigned cmd);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_HLP_H */
