/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_EVENT_H
#define DPCT_CT_EVENT_H

/**
 * @file
 * lib/conntrack's event records and delivery results: what a shard stages
 * for its owner to move to the event ring, and what comes back. Included
 * by ct.h (its tuples and constants come first); not for direct use.
 */

#ifndef DPCT_CT_H
#error "include ct.h, not ct_event.h"
#endif

/* ------------------------------------------------------------------------ */
/* Event records                                                             */

/**
 * A snapshot of an entry, written to the event ring. Fixed size; no
 * pointers, so it can be copied between cores and replayed.
 */
struct ct_event_rec {
	struct ct_tuple orig;     /**< original-direction tuple (reply = reverse) */
	uint64_t pkts[2];         /**< per direction */
	uint64_t bytes[2];
	uint64_t start_ns;        /**< creation time */
	uint64_t stop_ns;         /**< destroy time, 0 unless DESTROY */
	uint32_t id;              /**< CTA_ID, unique among live entries across shards */
	uint32_t slot;            /**< entry index in the owning shard's pool */
	uint32_t timeout_s;       /**< remaining timeout, seconds (CTA_TIMEOUT) */
	uint16_t status;          /**< CT_S_* */
	uint16_t events;          /**< CT_EV_* bits being reported (pending | missed) */
	uint16_t shard;           /**< owning shard */
	uint8_t tcp_state;        /**< TCP: enum ct_tcp_state; SCTP: enum ct_sctp_state; else 0 */
	uint8_t flags;            /**< CT_REC_F_* */
	uint32_t mark;            /**< CTA_MARK (0 = none) */
	uint32_t seq;             /**< per-shard record sequence number (wraps) */
	uint32_t targets;         /**< listener slots a resent DESTROY is for (0 = everyone) */
	uint8_t tcp_wscale[2];    /**< TCP window scale per direction (CTA_PROTOINFO_TCP_WSCALE_*) */
	uint8_t tcp_dflags[2];    /**< Linux IP_CT_TCP_FLAG_* per direction (CTA_PROTOINFO_TCP_FLAGS_*) */
	/* Flow export (lib/events/ev_ipfix.h) */
	uint8_t l4_seen;          /**< TCP: OR of the flags seen, both directions; ICMP: type */
	uint8_t icmp_code;        /**< ICMP/ICMPv6: code of the first packet */
	uint8_t in_port;          /**< ingress port of the flow's first packet */
	uint8_t end_reason;       /**< DESTROY: why the flow ended (CT_END_*); 0 otherwise */
	/* --- Line 3: translation (docs/nat.md) --- */
	struct ct_tuple reply;    /**< reply tuple as a reply arrives: the reverse of `orig`
				   *   unless the flow is translated (CT_S_SRC_NAT/DST_NAT) */
	uint16_t block_lo;        /**< CT_REC_F_NAT_BLOCK: first port of the block */
	uint16_t block_hi;        /**< ... and its last */
	uint8_t nat_event;        /**< CT_REC_F_NAT_BLOCK: CT_NAT_BLOCK_ALLOC or _RELEASE */
	uint8_t exp_class;        /**< CT_REC_F_EXP: the expectation's class (CTA_EXPECT_CLASS) */
	uint8_t exp_helper;       /**< CT_REC_F_EXP: enum ct_exp_helper (CTA_EXPECT_HELP_NAME) */
	uint8_t pad3a;
	uint32_t sctp_vtag[2];    /**< SCTP: verification tag per direction, host order
				   *   (CTA_PROTOINFO_SCTP_VTAG_ORIGINAL/_REPLY); 0 otherwise */
	uint32_t master_id;       /**< CT_REC_F_EXP: the master connection's CTA_ID */
	uint8_t pad3[4];
};
_Static_assert(sizeof(struct ct_event_rec) == 192, "event record is three cache lines");

/**
 * Whether `r` is a shard's raw record (ct_shard_ev_peek_raw()): the entry
 * as it was when staged, not yet the fields above. Any other record
 * (pad3 zero) is not raw.
 */
bool ct_event_rec_raw(const struct ct_event_rec *r);

/**
 * Build raw record `r` in place into the record the shard would have
 * filled when it staged it (every field as documented above); a record
 * that is not raw is left as it is. A pure function of the 192 bytes: any
 * thread may call it, on a copy that no other thread writes.
 */
void ct_event_rec_cook(struct ct_event_rec *r);

#define CT_REC_F_RESEND 0x01  /**< a destroy sent again after a grace timer */
#define CT_REC_F_RETRY  0x02  /**< carries bits that were missed before */
/**
 * An interim flow record (flow export, active timeout): a snapshot of a live
 * entry whose age passed another ct_conf.active_timeout_s. It carries no
 * event bits (events == 0): Linux sends nothing on an accounting interval,
 * so the ctnetlink encoder skips it and socket listeners never see it; only
 * record consumers (ev_consumer.h) act on it. Never nacked or resent: a
 * lost interim only delays counts, which the next record of the flow carries.
 */
#define CT_REC_F_INTERIM 0x04
/**
 * A port block of a block-mode pool was allocated to or released by an
 * inside address (docs/nat.md): not a connection. `orig.src` is the inside
 * address, `reply.dst` the pool address, block_lo..block_hi the ports,
 * `nat_event` which of the two, start_ns the time. No event bits, so the
 * ctnetlink encoder skips it; record consumers (IPFIX) export it.
 */
#define CT_REC_F_NAT_BLOCK 0x08
/*
 * An expectation record (CT_REC_F_EXP) travels on the same rings as a
 * connection's: `orig` is the expected tuple (sport 0: any source port),
 * `reply` the master's original tuple, `id` the expectation's id, `slot`
 * its index in the master worker's expectation table, `shard` the master's
 * shard, `master_id` the master's CTA_ID, `timeout_s` the time left,
 * `status` its CTA_EXPECT_FLAGS, `events` CT_EXP_EV_* (Linux's IPEXP_*
 * bits), `seq`/`targets`/CT_REC_F_RESEND as for a connection. Results for
 * it use the CT_RES_EXP_* kinds with its slot and id.
 */
#define CT_REC_F_EXP 0x10
#define CT_EXP_EV_NEW     0x1  /**< 1 << IPEXP_NEW */
#define CT_EXP_EV_DESTROY 0x2  /**< 1 << IPEXP_DESTROY */

enum ct_exp_helper {
	CT_EXP_HELPER_NONE = 0,
	CT_EXP_HELPER_FTP = 1,    /**< "ftp" */
	CT_EXP_HELPER_TFTP = 2,   /**< "tftp" */
};

#define CT_NAT_BLOCK_ALLOC   1
#define CT_NAT_BLOCK_RELEASE 2

/** Why a flow ended: the IPFIX flowEndReason values (RFC 5102, IE 136). */
enum ct_end_reason {
	CT_END_NONE = 0,
	CT_END_IDLE = 1,          /**< idle timeout */
	CT_END_ACTIVE = 2,        /**< active timeout (interim records only) */
	CT_END_EOF = 3,           /**< end of flow detected: TCP FIN/RST close */
	CT_END_FORCED = 4,        /**< flush, delete, shutdown */
	CT_END_RESOURCES = 5,     /**< lack of resources: early drop */
};

/** Delivery results, control core -> owning worker. */
enum ct_result_kind {
	CT_RES_NACK = 1,          /**< non-destroy bits not delivered: OR into missed */
	CT_RES_DESTROY_ACK = 2,   /**< destroy delivered: free the entry */
	CT_RES_DESTROY_NACK = 3,  /**< destroy not delivered: re-arm grace timer */
	CT_RES_EXP_NACK = 4,      /**< expectation NEW not delivered: remember it */
	CT_RES_EXP_DESTROY_ACK = 5,  /**< expectation DESTROY delivered: free its slot */
	CT_RES_EXP_DESTROY_NACK = 6, /**< expectation DESTROY not delivered: resend later */
	CT_RES_EXP_NEW_ACK = 7,   /**< expectation NEW delivered to every reliable listener:
				   *   its DESTROY may follow */
};

struct ct_result {
	uint32_t slot;
	uint32_t id;
	uint16_t events;
	uint8_t kind;             /**< enum ct_result_kind */
	uint8_t pad;
	uint32_t targets;         /**< DESTROY_NACK: listener slots that refused (0 = all) */
};
_Static_assert(sizeof(struct ct_result) == 16, "result is 16 bytes");

#endif /* DPCT_CT_EVENT_H */
