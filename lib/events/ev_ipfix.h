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
 *    active timeout (CT_REC_F_INTERIM, flowEndReason 2);
 *  - counts are deltas since the flow's previous record *to this
 *    collector*: the exporter keeps, for flows that had an interim record,
 *    the totals it last exported (a small open-addressing table, only for
 *    such long flows). A record that is refused or not sent leaves that base
 *    unchanged, so the deltas a collector receives always sum to the flow's
 *    totals, whatever another collector lost;
 *  - over UDP templates go out at start and every template_refresh_s; the
 *    message sequence number counts data records, so a collector sees loss;
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
/* Encoder and decoder (ev_ipfix_enc.c): pure functions, no I/O              */

#define EV_IPFIX_VERSION      10
#define EV_IPFIX_HDR_LEN      16
#define EV_IPFIX_SET_HDR_LEN  4
#define EV_IPFIX_TID_V4       256   /**< template of IPv4 biflows */
#define EV_IPFIX_TID_V6       257   /**< template of IPv6 biflows */
#define EV_IPFIX_PEN_REVERSE  29305 /**< RFC 5103 reverse information elements */

/** One biflow record, as encoded and as decoded. */
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
};

/**
 * The flow record of an event record, with counts as deltas from `base`
 * (pkts[0], pkts[1], bytes[0], bytes[1]; NULL = zero). flowEndMilliseconds
 * is stop_ns for a DESTROY and `now_ns` for an interim record.
 * @return 0; -EINVAL not IPv4/IPv6.
 */
int ev_ipfix_flow_from_rec(const struct ct_event_rec *r, const uint64_t base[4], uint64_t now_ns,
			   struct ev_ipfix_flow *out);

/** Bytes of one data record of `family` (4 or 6); 0 for another family. */
size_t ev_ipfix_record_len(unsigned family);

/** Template id of `family`'s records. */
static inline uint16_t
ev_ipfix_template_id(unsigned family)
{
	return family == 6 ? EV_IPFIX_TID_V6 : EV_IPFIX_TID_V4;
}

/**
 * Write the template set (both templates) at `buf`.
 * @return bytes written, or 0 when `cap` is too small.
 */
size_t ev_ipfix_template_set(uint8_t *buf, size_t cap);

/**
 * Write one data record (ev_ipfix_record_len(f->family) bytes) at `buf`.
 * @return bytes written, or 0 when `cap` is too small or the family is bad.
 */
size_t ev_ipfix_encode_record(const struct ev_ipfix_flow *f, uint8_t *buf, size_t cap);

/** Write a set header (id, length including the header). */
void ev_ipfix_set_header(uint8_t *buf, uint16_t set_id, uint16_t len);

/** Write a message header (RFC 7011 §3.1). */
void ev_ipfix_msg_header(uint8_t *buf, uint16_t len, uint32_t export_time_s, uint32_t seq,
			 uint32_t domain);

/* Our own decoder, for tests and the fuzzer: it learns templates from the
 * messages it reads (any template, not only ours) and decodes data records
 * of templates it knows; IEs it does not know are skipped by length. */
#define EV_IPFIX_DEC_MAX_TEMPLATES 16
#define EV_IPFIX_DEC_MAX_FIELDS    64

struct ev_ipfix_dec_field {
	uint16_t id;             /**< IE number, enterprise bit cleared */
	uint16_t len;            /**< 65535 = variable length */
	uint32_t pen;            /**< enterprise number, 0 = IANA */
};

struct ev_ipfix_dec {
	struct {
		uint16_t id;         /**< 0 = unused */
		uint16_t n;
		uint32_t domain;
		struct ev_ipfix_dec_field f[EV_IPFIX_DEC_MAX_FIELDS];
	} t[EV_IPFIX_DEC_MAX_TEMPLATES];
	uint64_t messages, templates, records, unknown_set, errors;
};

/** Message header fields, as decoded. */
struct ev_ipfix_msg_info {
	uint16_t len;
	uint32_t export_time;
	uint32_t seq;
	uint32_t domain;
	unsigned records;        /**< data records in this message */
	unsigned template_sets;
};

/**
 * Decode one message of `len` bytes (exactly one; `len` >= its length field
 * is an error only when shorter). `cb` (may be NULL) gets each data record
 * of a known template, mapped onto struct ev_ipfix_flow.
 * @return the message length consumed (> 0), or -EINVAL (malformed: bad
 *         version, lengths, set or template), -ENOENT never (unknown
 *         templates are counted and skipped).
 */
int ev_ipfix_decode(struct ev_ipfix_dec *d, const uint8_t *msg, size_t len,
		    void (*cb)(void *arg, const struct ev_ipfix_flow *f, uint16_t tid),
		    void *arg, struct ev_ipfix_msg_info *info);

/* ------------------------------------------------------------------------ */
/* The exporter (ev_ipfix.c)                                                 */

enum ev_ipfix_transport {
	EV_IPFIX_UDP = 0,
	EV_IPFIX_TCP = 1,
};

#define EV_IPFIX_MAX_COLLECTORS 8

struct ev_ipfix_collector {
	char host[64];           /**< numeric IPv4 or IPv6 address */
	uint16_t port;           /**< 1..65535 (IPFIX: 4739) */
	uint8_t transport;       /**< enum ev_ipfix_transport */
	bool reliable;           /**< TCP only: a refusal is a nack (default true) */
};

struct ev_ipfix_conf {
	uint32_t domain;             /**< observationDomainId (default 1) */
	uint32_t active_timeout_s;   /**< interim records (default 60; 0 = off) — for the shards */
	uint32_t template_refresh_s; /**< UDP template resend period (default 60) */
	uint32_t mtu;                /**< UDP: largest message (default 1400, 512..65000) */
	uint32_t tcp_message_bytes;  /**< TCP: largest message (default 16384, 512..65535) */
	uint32_t buffer_bytes;       /**< TCP: the ring (default 4 MiB, 64 KiB..1 GiB) */
	uint32_t sndbuf;             /**< socket send buffer (default 0: the kernel's) */
	uint32_t flush_ms;           /**< longest a record waits in a partial message (default 100) */
	uint32_t reconnect_min_ms;   /**< TCP backoff start (default 100) */
	uint32_t reconnect_max_ms;   /**< TCP backoff cap (default 10000) */
	/** Operator messages (connects, failures); syslog levels. NULL: none. */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
};

/** Fill the defaults above. */
void ev_ipfix_conf_init(struct ev_ipfix_conf *c);

/**
 * Check a collector's fields (address parses, port, transport).
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
 * Write out what is buffered as far as the socket takes it, without
 * waiting. Returns the bytes not yet acknowledged by the peer (TCP; 0 = all
 * acknowledged; always 0 over UDP).
 */
size_t ev_ipfix_flush(struct ev_ipfix *x, uint64_t now);

struct ev_ipfix_stats {
	uint64_t records_sent;       /**< data records handed to the socket */
	uint64_t records_refused;    /**< refused: ring full or TCP down (nacks when reliable) */
	uint64_t records_lost;       /**< UDP: in datagrams the socket refused */
	uint64_t interim_records;    /**< of records_sent: active timeout */
	uint64_t final_records;      /**< of records_sent: flow ends */
	uint64_t interim_empty;      /**< interim records with nothing new, not exported */
	uint64_t messages;           /**< messages completed */
	uint64_t bytes;              /**< bytes handed to the socket */
	uint64_t templates_sent;     /**< template sets sent */
	uint64_t reconnects;         /**< TCP connections made after the first */
	uint64_t connect_failures;
	uint64_t resent_bytes;       /**< TCP: unacknowledged bytes sent again after a reconnect */
	uint64_t send_errors;
	uint64_t tracked_flows;      /**< flows with an interim base kept now (gauge) */
	bool connected;              /**< UDP: always true */
	uint32_t seq;                /**< next message sequence number */
};

void ev_ipfix_get_stats(const struct ev_ipfix *x, struct ev_ipfix_stats *out);

/** The collector this exporter sends to. */
const struct ev_ipfix_collector *ev_ipfix_collector(const struct ev_ipfix *x);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_EV_IPFIX_H */
