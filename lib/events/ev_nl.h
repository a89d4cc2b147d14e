/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_NL_H
#define DPCT_EV_NL_H

/**
 * @file
 * The ctnetlink codec of lib/events, shared by the control core (encoder)
 * and listeners such as dpct-events (parser).
 *
 * The encoder writes exactly what Linux's ctnetlink_conntrack_event()
 * writes for the same connection (net/netfilter/nf_conntrack_netlink.c):
 *
 *   nlmsghdr  type (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW
 *             (flags NLM_F_CREATE|NLM_F_EXCL for NEW/RELATED, 0 for updates)
 *             or IPCTNL_MSG_CT_DELETE (destroy), seq 0, pid 0
 *   nfgenmsg  AF_INET/AF_INET6, NFNETLINK_V0, res_id 0
 *   CTA_TUPLE_ORIG, CTA_TUPLE_REPLY   nested {CTA_TUPLE_IP {V4|V6 SRC, DST},
 *             CTA_TUPLE_PROTO {NUM, SRC_PORT/DST_PORT | ICMP(V6)_ID/TYPE/CODE}};
 *             the reply tuple is the record's `reply` (ev_nl_rec_reply()): for
 *             a translated flow the translated one, as in Linux
 *   CTA_ZONE  (be16, zone != 0; dpct zones apply to both directions, so
 *             like the kernel no CTA_TUPLE_ZONE is emitted)
 *   CTA_ID, CTA_STATUS (the record's status as it is: Linux's bit numbers,
 *             IPS_SRC_NAT 1<<4, IPS_DST_NAT 1<<5, IPS_SRC_NAT_DONE 1<<7,
 *             IPS_DST_NAT_DONE 1<<8 included)
 *   destroy:  CTA_TIMEOUT if non-zero, CTA_COUNTERS_ORIG/REPLY (EV_NL_F_ACCT),
 *             CTA_TIMESTAMP {START, STOP if non-zero} (EV_NL_F_TSTAMP),
 *             CTA_PROTOINFO {CTA_PROTOINFO_TCP {STATE}} for TCP
 *   others:   CTA_TIMEOUT, CTA_PROTOINFO {TCP {STATE, WSCALE_ORIGINAL,
 *             WSCALE_REPLY, FLAGS_ORIGINAL, FLAGS_REPLY}} for TCP when the
 *             record carries NEW or PROTOINFO (dpct does no window tracking:
 *             the wscale and flags attributes are 0)
 *   CTA_MARK  if the mark is non-zero or the record carries CT_EV_MARK.
 *
 * 64-bit attributes: the kernel aligns them with a CTA_*_PAD attribute only
 * on architectures without efficient unaligned access; x86-64 and arm64
 * kernels never pad. EV_NL_F_PAD64 selects the padded layout.
 *
 * Everything here is a pure function of its arguments: thread safe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct.h"
#include "ev.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Encoder options. */
#define EV_NL_F_ACCT    0x1  /**< counters on destroy (nf_conntrack_acct=1) */
#define EV_NL_F_TSTAMP  0x2  /**< timestamps on destroy (nf_conntrack_timestamp=1) */
#define EV_NL_F_PAD64   0x4  /**< align 64-bit payloads with CTA_*_PAD attributes */
/** A dump answer (IPCTNL_MSG_CT_GET + NLM_F_DUMP), as ctnetlink_fill_info():
 * IPCTNL_MSG_CT_NEW with NLM_F_MULTI, timeout, counters (EV_NL_F_ACCT),
 * start timestamp (EV_NL_F_TSTAMP), TCP protoinfo; the record's events are
 * not looked at. The caller sets nlmsg_seq to the request's. */
#define EV_NL_F_DUMP    0x8
#define EV_NL_F_DEFAULT (EV_NL_F_ACCT | EV_NL_F_TSTAMP)

/** Upper bound of one encoded message, in bytes (IPv6, every attribute, padding). */
#define EV_NL_MSG_MAX 512

/** Kind of an event as listeners subscribe to it: EV_MASK_NEW/UPDATE/DESTROY. */
unsigned ev_nl_rec_kind(const struct ct_event_rec *r);

/** Whether ev_nl_encode() takes record `r`: IPv4 or IPv6, with event bits
 * unless a dump entry, and never a port-block record (CT_REC_F_NAT_BLOCK),
 * which is no connection, nor an expectation (CT_REC_F_EXP: ev_nl_exp.h). */
bool ev_nl_rec_encodable(const struct ct_event_rec *r, bool dump);

/**
 * The reply tuple CTA_TUPLE_REPLY carries: the record's `reply` (the
 * translated one for a translated flow). A record whose `reply` is unset
 * (family or protocol other than orig's, e.g. one built by hand with only
 * `orig`) gets the reverse of `orig`, which is what an untranslated flow's is.
 */
void ev_nl_rec_reply(const struct ct_event_rec *r, struct ct_tuple *out);

/**
 * Encode one record as a ctnetlink event message at dgram + off.
 *
 * @param dgram  the datagram buffer (alignment of 64-bit attributes with
 *               EV_NL_F_PAD64 is relative to its start, as in an skb).
 * @param off    where the message starts (a multiple of 4).
 * @param cap    size of `dgram`.
 * @return the message length (a multiple of 4), -ENOSPC when it does not
 *         fit, -EINVAL for a record that ev_nl_rec_encodable() refuses (not
 *         IPv4/IPv6, no event, a port block).
 */
int ev_nl_encode(const struct ct_event_rec *r, unsigned flags, uint8_t *dgram, size_t off,
		 size_t cap);

/** TCP state name as conntrack(8) prints it ("SYN_SENT", ...); "UNKNOWN" if out of range. */
const char *ev_nl_tcp_state_name(unsigned state);
/** The state name of a protocol with states (TCP, SCTP: "COOKIE_WAIT", ...) as conntrack(8). */
const char *ev_nl_state_name(uint8_t proto, unsigned state);

/** Which optional attributes a parsed message carried. */
#define EV_NL_HAS_ID        0x0001
#define EV_NL_HAS_STATUS    0x0002
#define EV_NL_HAS_TIMEOUT   0x0004
#define EV_NL_HAS_TCP_STATE 0x0008
#define EV_NL_HAS_COUNTERS  0x0010  /**< both directions */
#define EV_NL_HAS_START     0x0020
#define EV_NL_HAS_STOP      0x0040
#define EV_NL_HAS_MARK      0x0080
#define EV_NL_HAS_ZONE      0x0100
#define EV_NL_HAS_REPLY     0x0200  /**< CTA_TUPLE_REPLY present and valid */
#define EV_NL_HAS_SCTP_VTAG 0x0400  /**< both CTA_PROTOINFO_SCTP_VTAG_* */

/** A decoded ctnetlink conntrack message. */
struct ev_nl_ct {
	uint8_t kind;             /**< EV_MASK_NEW / EV_MASK_UPDATE / EV_MASK_DESTROY */
	uint8_t family;           /**< 4 or 6 */
	uint8_t tcp_state;        /**< TCP or SCTP state (EV_NL_HAS_TCP_STATE) */
	uint8_t icmp_type[2];     /**< per direction, ICMP/ICMPv6 only */
	uint8_t icmp_code[2];
	uint16_t nl_flags;
	uint32_t present;         /**< EV_NL_HAS_* */
	struct ct_tuple orig;     /**< ports host order; ICMP: both ports = id */
	struct ct_tuple reply;
	uint32_t id;
	uint32_t status;
	uint32_t timeout_s;
	uint32_t mark;
	uint64_t pkts[2];
	uint64_t bytes[2];
	uint64_t start_ns;
	uint64_t stop_ns;
	uint32_t sctp_vtag[2];    /**< SCTP verification tags, original and reply, host order */
};

/**
 * Parse the first netlink message of buf[0..len).
 *
 * Never reads outside the buffer; any byte sequence is safe.
 *
 * @param consumed  out: bytes to skip to the next message (aligned), > 0
 *                  whenever the return value is not -EINVAL for a broken header.
 * @return 0 a ctnetlink conntrack event was decoded into `out`;
 *         -ENOMSG a well-formed netlink message of another type (consumed set);
 *         -EINVAL a malformed message (consumed set if the header was sane,
 *         else 0: stop walking the datagram).
 */
int ev_nl_parse(const void *buf, size_t len, struct ev_nl_ct *out, size_t *consumed);

/**
 * Parse a subscribe request payload (EV_MSG_SUBSCRIBE): 12 bytes (version
 * 1) or more (bufsize; bytes past struct ev_subscribe are ignored).
 * @return 0 valid (mask 0 is normalised to EV_MASK_ALL), -EINVAL otherwise.
 */
int ev_nl_parse_subscribe(const void *payload, size_t len, struct ev_subscribe *out);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_EV_NL_H */
