/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_LINUX_H
#define DPCT_CT_LINUX_H

/**
 * @file
 * lib/conntrack's constants with Linux's numbers: the TCP and SCTP states
 * (CTA_PROTOINFO_*_STATE), the status bits (CTA_STATUS) and the event bits
 * (IPCT_*). Included by ct.h; not for direct use.
 */

#ifndef DPCT_CT_H
#error "include ct.h, not ct_linux.h"
#endif

/** TCP states, numbered as Linux enum tcp_conntrack (CTA_PROTOINFO_TCP_STATE). */
enum ct_tcp_state {
	CT_TCP_NONE = 0,
	CT_TCP_SYN_SENT = 1,
	CT_TCP_SYN_RECV = 2,
	CT_TCP_ESTABLISHED = 3,
	CT_TCP_FIN_WAIT = 4,
	CT_TCP_CLOSE_WAIT = 5,
	CT_TCP_LAST_ACK = 6,
	CT_TCP_TIME_WAIT = 7,
	CT_TCP_CLOSE = 8,
	CT_TCP_SYN_SENT2 = 9,
	CT_TCP_MAX = 10,
};

/**
 * SCTP states, numbered as Linux enum sctp_conntrack
 * (CTA_PROTOINFO_SCTP_STATE). Linux 6.x no longer uses HEARTBEAT_ACKED (9).
 */
enum ct_sctp_state {
	CT_SCTP_NONE = 0,
	CT_SCTP_CLOSED = 1,
	CT_SCTP_COOKIE_WAIT = 2,
	CT_SCTP_COOKIE_ECHOED = 3,
	CT_SCTP_ESTABLISHED = 4,
	CT_SCTP_SHUTDOWN_SENT = 5,
	CT_SCTP_SHUTDOWN_RECD = 6,
	CT_SCTP_SHUTDOWN_ACK_SENT = 7,
	CT_SCTP_HEARTBEAT_SENT = 8,
	CT_SCTP_MAX = 9,
};

/** Status bits, with Linux's bit numbers (enum ip_conntrack_status). */
#define CT_S_EXPECTED   (1u << 0)
#define CT_S_SEEN_REPLY (1u << 1)
#define CT_S_ASSURED    (1u << 2)
#define CT_S_CONFIRMED  (1u << 3)
#define CT_S_DYING      (1u << 9)
#define CT_S_SRC_NAT    (1u << 4)
#define CT_S_DST_NAT    (1u << 5)
#define CT_S_SRC_NAT_DONE (1u << 7)
#define CT_S_DST_NAT_DONE (1u << 8)
#define CT_S_NAT_MASK   (CT_S_SRC_NAT | CT_S_DST_NAT)
#define CT_S_UNTRACKED  (1u << 12)

/** Event bits, with Linux's bit numbers (enum ip_conntrack_events). */
#define CT_EV_NEW       (1u << 0)
#define CT_EV_RELATED   (1u << 1)
#define CT_EV_DESTROY   (1u << 2)
#define CT_EV_REPLY     (1u << 3)
#define CT_EV_ASSURED   (1u << 4)
#define CT_EV_PROTOINFO (1u << 5)
#define CT_EV_MARK      (1u << 8)
#define CT_EV_LABEL     (1u << 10)

/** Directions. */
enum ct_dir {
	CT_DIR_ORIG = 0,
	CT_DIR_REPLY = 1,
};

#endif /* DPCT_CT_LINUX_H */
