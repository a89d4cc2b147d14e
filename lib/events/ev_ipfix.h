/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_IPFIX_H
#define DPCT_EV_IPFIX_H

/**
 * @file
 * IPFIX flow export (RFC 7011, biflows RFC 5103) as a record consumer of the
 * control core (ev_consumer.h). docs/export.md is the user's manual.
 *
 * One exporter talks to one collector, over UDP or TCP (RFC 7011 §10.4):
 *  - it exports a biflow record for every DESTROY (the flow's end, with
 *    flowEndReason from the record) and for every interim record of the
 *    active timeout (CT_REC_F_INTERIM, flowEndReason 2); a translated IPv4
 *    flow's record carries its post-NAT fields and natEvent (RFC 8158) in
 *    a template of its own, and a port block allocated or released by a
 *    block-mode NAT pool (CT_REC_F_NAT_BLOCK) is one record of the
 *    port-block template (struct ev_ipfix_flow);
 *  - a port-block record has no event bits, so it is never nacked: over
 *    TCP it is not refused while the connection is down but waits in the
 *    ring with what is not acknowledged, refused only when the ring is full;
 *  - counts are deltas since the flow's previous record *to this
 *    collector*: the exporter keeps, for flows that had an interim record,
 *    the totals it last exported (a small open-addressing table, only for
 *    such long flows). A record that is refused or not sent leaves that base
 *    unchanged, so the deltas a collector receives always sum to the flow's
 *    totals, whatever another collector lost;
 *  - over UDP templates go out at start and every template_refresh_s; the
 *    message sequence number counts data records, so a collector sees loss;
 *  - over UDP the messages can be paced (max_rate_pps, max_rate_bps of the
 *    collector): a message goes out when two token buckets (messages and
 *    bytes) allow it, and waits in a bounded queue (the ring of
 *    buffer_bytes) until then. When the queue is full the oldest waiting
 *    messages are dropped to make room, and their records counted as lost
 *    (records_lost, queue_dropped); their sequence numbers were given, so
 *    the collector sees the gap too. Templates are never queued or dropped:
 *    they go out when due and are charged to the buckets;
 *  - over TCP the templates open every connection. Messages go through a
 *    byte ring that keeps everything the peer's TCP has not acknowledged
 *    (SIOCOUTQ): when the connection breaks, the messages not acknowledged
 *    are sent again on the next one (a collector may see a message twice
 *    then, never a hole). A record that does not fit in the ring is refused
 *    (a nack when the exporter is attached as reliable), as is everything
 *    while the connection is down; reconnects back off exponentially from
 *    reconnect_min_ms to reconnect_max_ms.
 *
 * Nothing here blocks. Thread safety: one thread (the control core) per
 * exporter; different exporters are independent.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct.h"
#include "ev_consumer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Encoder (ev_ipfix_enc.c): pure functions, no I/O                         */

#define EV_IPFIX_VERSION      10
#define EV_IPFIX_HDR_LEN      16
#define EV_IPFIX_SET_HDR_LEN  4
#define EV_IPFIX_TID_V4       256   /**< template of IPv4 biflows */
#define EV_IPFIX_TID_V6       257   /**< template of IPv6 biflows */
#define EV_IPFIX_TID_NAT4     258   /**< IPv4 biflows that were translated (NAT44) */
#define EV_IPFIX_TID_NAT_BLOCK 259  /**< port blocks allocated and released (RFC 8158) */
#define EV_IPFIX_PEN_REVERSE  29305 /**< RFC 5103 reverse information elements */
/** Upper bound of ev_ipfix_template_set()'s output, in bytes. */
#define EV_IPFIX_TEMPLATES_MAX 512

/** natEvent values (IANA "natEvent", RFC 8158) dpct exports. */
#define EV_IPFIX_NAT44_CREATE     4   /**< NAT44 session create: interim records */
#define EV_IPFIX_NAT44_DELETE     5   /**< NAT44 session delete: the flow's end */
#define EV_IPFIX_NAT_BLOCK_ALLOC  16  /**< port block allocation */
#define EV_IPFIX_NAT_BLOCK_FREE   17  /**< port block de-allocation */

/**
 * One data record, as encoded and as decoded: a biflow, or a port block
 * (nat_event EV_IPFIX_NAT_BLOCK_ALLOC/FREE: only family, src (inside
 * address), post_src (pool address), the block fields, event_ms and vrf
 * are meaningful).
 *
 * Which template a record uses (ev_ipfix_flow_template()): a port block,
 * EV_IPFIX_TID_NAT_BLOCK; an IPv4 biflow with a nat_event,
 * EV_IPFIX_TID_NAT4 (the biflow fields, then postNATSourceIPv4Address,
 * postNATDestinationIPv4Address, postNAPTSourceTransportPort,
 * postNAPTDestinationTransportPort, natEvent, observationTimeMilliseconds
 * (event_ms: the flow's end, or now for an interim record)); any other biflow,
 * EV_IPFIX_TID_V4 or EV_IPFIX_TID_V6 (no NAT fields).
 */
struct ev_ipfix_flow {
	uint8_t family;          /**< 4 or 6 */
	uint8_t proto;           /**< protocolIdentifier */
	uint8_t end_reason;      /**< flowEndReason (CT_END_*) */
	uint8_t pad;
	uint8_t src[16];         /**< source{IPv4,IPv6}Address (IPv4 in the first 4 bytes) */
	uint8_t dst[16];
	uint16_t sport, dport;   /**< 0 for ICMP (the type/code is in icmp) */
	uint16_t icmp;           /**< icmpTypeCode{IPv4,IPv6}: type << 8 | code */
	uint16_t tcp_flags;      /**< tcpControlBits: OR of the flags seen (1 byte on the wire) */
	uint64_t octets[2];      /**< octetDeltaCount, reverseOctetDeltaCount */
	uint64_t packets[2];     /**< packetDeltaCount, reversePacketDeltaCount */
	uint64_t start_ms;       /**< flowStartMilliseconds */
	uint64_t end_ms;         /**< flowEndMilliseconds */
	uint32_t ingress;        /**< ingressInterface (dpct port id) */
	uint32_t vrf;            /**< ingressVRFID: the conntrack zone */
	uint64_t flow_id;        /**< flowId: dpct's connection id (CTA_ID) */
	/* Translation (NAT44 biflows and port blocks) */
	uint8_t nat_event;       /**< natEvent (EV_IPFIX_NAT44_*, EV_IPFIX_NAT_BLOCK_*); 0 none */
	uint8_t post_src[4];     /**< postNATSourceIPv4Address (the orig direction's) */
	uint8_t post_dst[4];     /**< postNATDestinationIPv4Address */
	uint16_t post_sport;     /**< postNAPTSourceTransportPort (0 for ICMP) */
	uint16_t post_dport;     /**< postNAPTDestinationTransportPort (0 for ICMP) */
	uint16_t block_start;    /**< portRangeStart */
	uint16_t block_end;      /**< portRangeEnd */
	uint16_t block_step;     /**< portRangeStepSize (1) */
	uint16_t block_ports;    /**< portRangeNumPorts */
	uint64_t event_ms;       /**< observationTimeMilliseconds: when the NAT event happened */
};

/**
 * The flow record of an event record, with counts as deltas from `base`
 * (pkts[0], pkts[1], bytes[0], bytes[1]; NULL = zero). flowEndMilliseconds
 * is stop_ns for a DESTROY and `now_ns` for an interim record.
 *
 * A translated IPv4 flow (status CT_S_SRC_NAT or CT_S_DST_NAT) also gets
 * its post-NAT fields: the orig direction as it leaves, i.e. the reverse of
 * the record's `reply` (SNAT: post source = reply.dst, post source port =
 * reply.dport; DNAT: post destination = reply.src, post destination port =
 * reply.sport; the untranslated side equal to orig's), nat_event
 * EV_IPFIX_NAT44_DELETE for a DESTROY, EV_IPFIX_NAT44_CREATE for an interim
 * record, and event_ms = end_ms. A port-block record (CT_REC_F_NAT_BLOCK) becomes a port block:
 * src = orig.src, post_src = reply.dst, block_lo..block_hi, step 1,
 * event_ms = start_ns / 1e6, vrf = orig.zone, nat_event from `nat_event`.
 * @return 0; -EINVAL not IPv4/IPv6, or a port block that is not IPv4, has
 *         block_lo > block_hi or an unknown nat_event.
 */
int ev_ipfix_flow_from_rec(const struct ct_event_rec *r, const uint64_t base[4], uint64_t now_ns,
			   struct ev_ipfix_flow *out);

/** Bytes of one untranslated biflow record of `family` (4 or 6); 0 for another family. */
size_t ev_ipfix_record_len(unsigned family);

/** Whether `f` is a port block (nat_event EV_IPFIX_NAT_BLOCK_ALLOC or _FREE). */
static inline bool
ev_ipfix_flow_is_block(const struct ev_ipfix_flow *f)
{
	return f->nat_event == EV_IPFIX_NAT_BLOCK_ALLOC || f->nat_event == EV_IPFIX_NAT_BLOCK_FREE;
}

/** Template id of `family`'s untranslated biflows. */
static inline uint16_t
ev_ipfix_template_id(unsigned family)
{
	return family == 6 ? EV_IPFIX_TID_V6 : EV_IPFIX_TID_V4;
}

/** Template id of record `f` (see struct ev_ipfix_flow). */
static inline uint16_t
ev_ipfix_flow_template(const struct ev_ipfix_flow *f)
{
	if (ev_ipfix_flow_is_block(f))
		return EV_IPFIX_TID_NAT_BLOCK;
	if (f->nat_event != 0 && f->family == 4)
		return EV_IPFIX_TID_NAT4;
	return ev_ipfix_template_id(f->family);
}

/** Bytes of record `f` in its template; 0 for a family other than 4 or 6
 * (or a port block that is not IPv4). */
size_t ev_ipfix_flow_len(const struct ev_ipfix_flow *f);

/**
 * Write the template set (all four templates) at `buf`.
 * @return bytes written (at most EV_IPFIX_TEMPLATES_MAX), or 0 when `cap`
 *         is too small.
 */
size_t ev_ipfix_template_set(uint8_t *buf, size_t cap);

/**
 * Write one data record (ev_ipfix_flow_len(f) bytes) at `buf`, in the
 * layout of ev_ipfix_flow_template(f).
 * @return bytes written, or 0 when `cap` is too small or the family is bad.
 */
size_t ev_ipfix_encode_record(const struct ev_ipfix_flow *f, uint8_t *buf, size_t cap);

/** Write a set header (id, length including the header). */
void ev_ipfix_set_header(uint8_t *buf, uint16_t set_id, uint16_t len);

/** Write a message header (RFC 7011 §3.1). */
void ev_ipfix_msg_header(uint8_t *buf, uint16_t len, uint32_t export_time_s, uint32_t seq,
			 uint32_t domain);

/* ------------------------------------------------------------------------ */
/* The exporter (ev_ipfix.c)                                                 */

enum ev_ipfix_transport {
	EV_IPFIX_UDP = 0,
	EV_IPFIX_TCP = 1,
};

#define EV_IPFIX_MAX_COLLECTORS 8

/* Pacing limits of a UDP collector (docs/export.md, "Pacing"). */
#define EV_IPFIX_RATE_PPS_DEFAULT 2000u          /**< what configurations default to */
#define EV_IPFIX_RATE_PPS_MAX     10000000u
#define EV_IPFIX_RATE_BPS_MIN     UINT64_C(100000)
#define EV_IPFIX_RATE_BPS_MAX     UINT64_C(100000000000)
#define EV_IPFIX_PACE_BURST_MS    10u    /**< a bucket holds this much of its rate ... */
#define EV_IPFIX_PACE_BURST_BYTES 65536u /**< ... but no more bytes than this, ... */
					 /**< ... and at least one message */

struct ev_ipfix_collector {
	char host[64];           /**< numeric IPv4 or IPv6 address */
	uint16_t port;           /**< 1..65535 (IPFIX: 4739) */
	uint8_t transport;       /**< enum ev_ipfix_transport */
	bool reliable;           /**< TCP only: a refusal is a nack (default true) */
	/** UDP only: messages per second, 0 = no limit (..EV_IPFIX_RATE_PPS_MAX) */
	uint32_t max_rate_pps;
	/** UDP only: bits of IPFIX messages (UDP payload) per second, 0 = no
	 * limit, else EV_IPFIX_RATE_BPS_MIN..EV_IPFIX_RATE_BPS_MAX. With both
	 * rates 0 a message is sent as soon as it is closed (no pacing). */
	uint64_t max_rate_bps;
};

struct ev_ipfix_conf {
	uint32_t domain;             /**< observationDomainId (default 1) */
	uint32_t active_timeout_s;   /**< interim records (default 60; 0 = off) — for the shards */
	uint32_t template_refresh_s; /**< UDP template resend period (default 60) */
	uint32_t mtu;                /**< UDP: largest message (default 1400, 512..65000) */
	uint32_t tcp_message_bytes;  /**< TCP: largest message (default 16384, 512..65535) */
	uint32_t buffer_bytes;       /**< the ring (default 4 MiB, 64 KiB..1 GiB): TCP, what is
					  not acknowledged; UDP, the pacing queue */
	uint32_t sndbuf;             /**< socket send buffer (default 0: the kernel's) */
	uint32_t flush_ms;           /**< longest a record waits in a partial message (default 100) */
	uint32_t reconnect_min_ms;   /**< TCP backoff start (default 100) */
	uint32_t reconnect_max_ms;   /**< TCP backoff cap (default 10000) */
	/** Operator messages (connects, failures); syslog levels. NULL: none. */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	/** The transport clock (flush, templates, reconnects, pacing), in
	 * monotonic ns. NULL: CLOCK_MONOTONIC. Tests set their own. */
	uint64_t (*clock)(void *arg);
	void *clock_arg;
};

/** Fill the defaults above. */
void ev_ipfix_conf_init(struct ev_ipfix_conf *c);

/**
 * Check a collector's fields (address parses, port, transport, rates: a
 * TCP collector has none, each within its range).
 * @return 0 or -EINVAL with `err` filled.
 */
int ev_ipfix_collector_check(const struct ev_ipfix_collector *c, char *err, size_t errlen);

struct ev_ipfix;

/**
 * Create an exporter for one collector. UDP: datagrams go out with
 * sendto() (an unreachable collector shows as send errors). TCP: the connection
 * is made by ev_ipfix_poll() (the consumer's poll), non-blocking, with
 * backoff; a collector that is down is logged and retried, never fatal.
 * @return NULL with `err` filled (bad address or configuration, no memory,
 *         no socket).
 */
struct ev_ipfix *ev_ipfix_create(const struct ev_ipfix_conf *conf,
				 const struct ev_ipfix_collector *coll, char *err, size_t errlen);

/** Close the socket and free everything. NULL is a no-op. */
void ev_ipfix_free(struct ev_ipfix *x);

/** The ops to attach with ev_ctl_add_consumer(ctl, &ev_ipfix_ops, x, reliable). */
extern const struct ev_consumer_ops ev_ipfix_ops;

/** Whether `x` should be attached as reliable (TCP and coll.reliable). */
bool ev_ipfix_reliable(const struct ev_ipfix *x);

/**
 * Close the message under construction and write out what is buffered as
 * far as the socket (and, over UDP, the pacing) allows, without waiting.
 * Returns the bytes still to go: TCP, those the peer has not acknowledged;
 * UDP, those waiting in the pacing queue (0 without pacing). Call it again
 * later (it is also what poll() does) until it returns 0.
 */
size_t ev_ipfix_flush(struct ev_ipfix *x, uint64_t now);

/**
 * Give up on what still waits in the UDP pacing queue (at exit, after
 * flushing for as long as one would wait): its records are counted as lost
 * (records_lost and lost_at_exit). TCP: nothing (what the peer has not
 * acknowledged is ev_ipfix_flush()'s count).
 * @return the records dropped.
 */
uint64_t ev_ipfix_discard(struct ev_ipfix *x);

struct ev_ipfix_stats {
	uint64_t records_sent;       /**< data records exported: given a sequence number
					  (those lost after that are in records_lost too) */
	uint64_t records_refused;    /**< refused: ring full or TCP down (nacks when reliable) */
	uint64_t records_lost;       /**< UDP: refused by the socket, dropped from the
					  full pacing queue or left in it at exit */
	uint64_t interim_records;    /**< of records_sent: active timeout */
	uint64_t final_records;      /**< of records_sent: flow ends */
	uint64_t nat_records;        /**< of records_sent: translated flows (template 258) */
	uint64_t nat_block_records;  /**< of records_sent: port blocks (template 259) */
	uint64_t interim_empty;      /**< interim records with nothing new, not exported */
	uint64_t messages;           /**< messages completed */
	uint64_t bytes;              /**< bytes handed to the socket */
	uint64_t templates_sent;     /**< template sets sent */
	uint64_t reconnects;         /**< TCP connections made after the first */
	uint64_t connect_failures;
	uint64_t resent_bytes;       /**< TCP: unacknowledged bytes sent again after a reconnect */
	uint64_t send_errors;
	uint64_t tracked_flows;      /**< flows with an interim base kept now (gauge) */
	uint64_t queue_dropped;      /**< of records_lost: dropped, oldest first, from the
					  full pacing queue */
	uint64_t lost_at_exit;       /**< of records_lost: still queued at ev_ipfix_discard() */
	uint64_t messages_delayed;   /**< messages that waited in the queue for the rate */
	uint64_t records_queued;     /**< records waiting in the pacing queue (gauge) */
	uint64_t queue_bytes;        /**< bytes waiting in the pacing queue (gauge) */
	uint64_t queue_peak_bytes;   /**< the most bytes that ever waited in it */
	bool connected;              /**< UDP: always true */
	uint32_t seq;                /**< next message sequence number */
};

void ev_ipfix_get_stats(const struct ev_ipfix *x, struct ev_ipfix_stats *out);

/** The collector this exporter sends to. */
const struct ev_ipfix_collector *ev_ipfix_collector(const struct ev_ipfix *x);

/* ------------------------------------------------------------------------ */
/* Token bucket of the UDP pacing (ev_ipfix_udp.c): pure, time a parameter   */

/**
 * Tokens flow in at `rate` per second up to `depth`; a message takes its
 * cost (1 for the message bucket, its length for the byte bucket). The level
 * is kept in billionths of a token, so any rate is exact to the ns.
 */
struct ev_ipfix_bucket {
	uint64_t rate;     /**< tokens per second; 0 = no limit (always ready) */
	uint64_t depth;    /**< the most tokens it holds: the burst (>= 1) */
	int64_t level;     /**< tokens * 1e9; negative while in debt */
	uint64_t last;     /**< ns of the last refill */
};

/**
 * Start full at `now`. `depth` 0 counts as 1.
 * @return 0; -EINVAL rate or depth too large for the level's range
 *         (rate > 1e12 per second, depth > 1e9).
 */
int ev_ipfix_bucket_init(struct ev_ipfix_bucket *b, uint64_t rate, uint64_t depth, uint64_t now);

/**
 * Refill up to `now` (a `now` before the last refill adds nothing) and tell
 * whether `cost` tokens are there. A cost above the depth is ready when the
 * bucket is full (it then leaves a debt), so nothing waits for ever.
 * Always true with rate 0.
 */
bool ev_ipfix_bucket_ready(struct ev_ipfix_bucket *b, uint64_t cost, uint64_t now);

/** Take `cost` tokens, into debt if need be (templates must go out). */
void ev_ipfix_bucket_take(struct ev_ipfix_bucket *b, uint64_t cost);

/** Nanoseconds from `now` (after a refill) until `cost` is ready; 0 when it is. */
uint64_t ev_ipfix_bucket_wait_ns(struct ev_ipfix_bucket *b, uint64_t cost, uint64_t now);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_EV_IPFIX_H */
