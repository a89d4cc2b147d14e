/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_NL_EXP_H
#define DPCT_EV_NL_EXP_H

/**
 * @file
 * The ctnetlink expectation codec of lib/events (subsystem
 * NFNL_SUBSYS_CTNETLINK_EXP), shared by the control core (encoder) and
 * listeners such as dpct-events and dpct-ctl (parser).
 *
 * An expectation record (struct ct_event_rec with CT_REC_F_EXP, see
 * ct_event.h) is written as Linux's ctnetlink_expect_event() and
 * ctnetlink_exp_dump_expect() write it (net/netfilter/nf_conntrack_netlink.c):
 *
 *   nlmsghdr  type (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_NEW with
 *             NLM_F_CREATE|NLM_F_EXCL (CT_EXP_EV_NEW), or IPCTNL_MSG_EXP_DELETE
 *             with flags 0 (CT_EXP_EV_DESTROY wins when both bits are set);
 *             a dump answer is IPCTNL_MSG_EXP_NEW with NLM_F_MULTI
 *   nfgenmsg  the expected tuple's family, NFNETLINK_V0, res_id 0
 *   CTA_EXPECT_TUPLE   nested tuple: the record's `orig` (source port 0 for
 *                      "any source port")
 *   CTA_EXPECT_MASK    nested tuple: addresses all ones (a source address of
 *                      all zeros, "any source", gets a zero mask), the protocol number,
 *                      source port 0xffff when `orig.sport` is set and 0
 *                      when it is 0 (an open source port), destination 0xffff
 *   CTA_EXPECT_MASTER  nested tuple: the record's `reply` (the master's
 *                      original direction)
 *   CTA_EXPECT_ZONE    be16, only when the master's zone (`orig.zone`) != 0
 *   CTA_EXPECT_TIMEOUT be32 seconds left; CTA_EXPECT_ID be32 (network order,
 *                      as dpct's CTA_ID); CTA_EXPECT_FLAGS be32 (`status`);
 *                      CTA_EXPECT_CLASS be32 (`exp_class`)
 *   CTA_EXPECT_HELP_NAME  "ftp" / "tftp" (`exp_helper`; none for
 *                      CT_EXP_HELPER_NONE)
 *
 * Pure functions of their arguments: thread safe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct.h"
#include "ev.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The helper's name as CTA_EXPECT_HELP_NAME carries it; NULL for none or unknown. */
const char *ev_nl_exp_helper_name(unsigned helper);

/** Whether a record is an expectation the encoder takes: CT_REC_F_EXP, IPv4
 * or IPv6, with CT_EXP_EV_NEW or CT_EXP_EV_DESTROY unless `dump`. */
bool ev_nl_exp_encodable(const struct ct_event_rec *r, bool dump);

/** The subscription bit an expectation record is delivered under:
 * EV_MASK_EXP_DESTROY when it carries CT_EXP_EV_DESTROY, else EV_MASK_EXP_NEW. */
unsigned ev_nl_exp_kind(const struct ct_event_rec *r);

/**
 * Encode one expectation record at dgram + off (as ev_nl_encode()).
 * @param flags  EV_NL_F_DUMP for a dump answer (the caller sets nlmsg_seq);
 *               other EV_NL_F_* bits are ignored.
 * @return the message length (a multiple of 4); -ENOSPC when it does not
 *         fit; -EINVAL for a record ev_nl_exp_encodable() refuses or an
 *         `off` that is not a multiple of 4 or past `cap`.
 */
int ev_nl_exp_encode(const struct ct_event_rec *r, unsigned flags, uint8_t *dgram, size_t off,
		     size_t cap);

/** Which optional attributes a parsed expectation message carried. */
#define EV_NL_EXP_HAS_MASK    0x01
#define EV_NL_EXP_HAS_TIMEOUT 0x02
#define EV_NL_EXP_HAS_ID      0x04
#define EV_NL_EXP_HAS_FLAGS   0x08
#define EV_NL_EXP_HAS_CLASS   0x10
#define EV_NL_EXP_HAS_HELPER  0x20
#define EV_NL_EXP_HAS_ZONE    0x40

/** A decoded ctnetlink expectation message. */
struct ev_nl_exp {
	uint8_t kind;             /**< EV_MASK_EXP_NEW or EV_MASK_EXP_DESTROY */
	uint8_t family;           /**< 4 or 6 */
	uint16_t nl_flags;
	uint32_t present;         /**< EV_NL_EXP_HAS_* */
	struct ct_tuple tuple;    /**< expected tuple, ports host order; zone = CTA_EXPECT_ZONE */
	struct ct_tuple mask;     /**< its mask (address bytes and ports as sent) */
	struct ct_tuple master;   /**< the master's original tuple */
	uint32_t timeout_s;
	uint32_t id;
	uint32_t flags;
	uint32_t class_;
	char helper[16];          /**< NUL-terminated, "" when absent */
};

/**
 * Parse the first netlink message of buf[0..len) as an expectation message.
 * Never reads outside the buffer; any byte sequence is safe.
 * @param consumed  out: bytes to skip to the next message (as ev_nl_parse()).
 * @return 0 decoded; -ENOMSG a well-formed message of another type;
 *         -EINVAL malformed (a missing or bad CTA_EXPECT_TUPLE or
 *         CTA_EXPECT_MASTER, a tuple of another family than nfgenmsg's).
 */
int ev_nl_exp_parse(const void *buf, size_t len, struct ev_nl_exp *out, size_t *consumed);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_EV_NL_EXP_H */
