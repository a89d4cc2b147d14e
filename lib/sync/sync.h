/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_SYNC_H
#define DPCT_SYNC_H

/**
 * @file
 * State synchronisation between failover peers in conntrackd's wire format
 * (conntrack-tools, protocol version 1), docs/ha.md.
 *
 * A message is an 8-byte header (version and type in the first byte, the
 * version in the high nibble; flags; total length; sequence number, both
 * big-endian) followed by TLV attributes (16-bit length including the 4-byte
 * attribute header, 16-bit type, value padded to 4 bytes). ACK, NACK and
 * RESYNC control messages carry a `from`/`to` sequence range instead.
 *
 * dpct-only facts (conntrack id, zone, missed event bits, TCP flags, the
 * exact reply tuple, counters) travel in an extension message of type
 * SYNC_T_DPCT_EXT that directly follows its data message in the same
 * datagram with the *same* sequence number. conntrackd rejects a data
 * message holding any attribute it does not know, so they cannot go in the
 * data message itself; a message repeating a sequence number it has just
 * seen is dropped by conntrackd's FTFW as a delayed duplicate (counted in
 * "Packets before"), so a conntrackd peer parses the data message and
 * skips the extension. The encoder can leave the extension out.
 *
 * This library needs no EAL and does no I/O: encoding, strict decoding,
 * the FTFW reliability state (sync_ftfw.c) and the external cache
 * (sync_cache.c). Thread safety: none; one owner per object.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SYNC_PROTO_VERSION 1
#define SYNC_HDR_LEN 8        /**< data and ALIVE messages */
#define SYNC_ACK_LEN 16       /**< ACK, NACK, RESYNC: header + from + to */
#define SYNC_MSG_MAX 400      /**< room for one data message and its extension */
#define SYNC_MAC_LEN 32       /**< HMAC-SHA256 trailer (sync_hmac.c) */

/** Message types (the low nibble of the first byte). */
enum sync_type {
	SYNC_T_CT_NEW = 0,
	SYNC_T_CT_UPD = 1,
	SYNC_T_CT_DEL = 2,
	SYNC_T_EXP_NEW = 3,   /**< expectations: parsed as known, ignored */
	SYNC_T_EXP_UPD = 4,
	SYNC_T_EXP_DEL = 5,
	SYNC_T_CTL = 10,
	SYNC_T_DPCT_EXT = 15, /**< dpct extension of the preceding data message */
};

/** Header flags. */
#define SYNC_F_RESYNC     0x02
#define SYNC_F_NACK       0x04
#define SYNC_F_ACK        0x08
#define SYNC_F_ALIVE      0x10
#define SYNC_F_HELLO      0x20
#define SYNC_F_HELLO_BACK 0x40

/** conntrackd's attribute numbers (NTA_*) that dpct writes or reads. */
enum sync_nta {
	SYNC_NTA_IPV4 = 0,        /**< {src, dst}, 8 bytes, network order */
	SYNC_NTA_IPV6 = 1,        /**< {src, dst}, 32 bytes */
	SYNC_NTA_L4PROTO = 2,     /**< u8 */
	SYNC_NTA_PORT = 3,        /**< {sport, dport}, 4 bytes, network order */
	SYNC_NTA_TCP_STATE = 4,   /**< u8, Linux TCP_CONNTRACK_* (= enum ct_tcp_state) */
	SYNC_NTA_STATUS = 5,      /**< u32, Linux IPS_* (= CT_S_*) */
	SYNC_NTA_TIMEOUT = 6,     /**< u32 seconds */
	SYNC_NTA_MARK = 7,        /**< u32 */
	SYNC_NTA_SNAT_IPV4 = 12,  /**< reply destination of a source-NATed flow, bytes reversed */
	SYNC_NTA_DNAT_IPV4 = 13,  /**< reply source of a destination-NATed flow, bytes reversed */
	SYNC_NTA_SPAT_PORT = 14,  /**< u16 little-endian: reply destination port (SNAT) */
	SYNC_NTA_DPAT_PORT = 15,  /**< u16 little-endian: reply source port (DNAT) */
	SYNC_NTA_SCTP_STATE = 17, /**< u8, Linux SCTP_CONNTRACK_* */
	SYNC_NTA_SCTP_VTAG_ORIG = 18, /**< u32, network order: the original side's tag */
	SYNC_NTA_SCTP_VTAG_REPL = 19, /**< u32, network order: the reply side's tag */
	SYNC_NTA_ICMP_TYPE = 22,  /**< u8 */
	SYNC_NTA_ICMP_CODE = 23,  /**< u8 */
	SYNC_NTA_ICMP_ID = 24,    /**< u16 little-endian (as conntrackd on x86 writes it) */
	SYNC_NTA_WSCALE_ORIG = 25,/**< u8 */
	SYNC_NTA_WSCALE_REPL = 26,/**< u8 */
	SYNC_NTA_SNAT_IPV6 = 29,  /**< 16 bytes */
	SYNC_NTA_DNAT_IPV6 = 30,  /**< 16 bytes */
	SYNC_NTA_MAX = 32,        /**< conntrackd 1.4.x rejects a message with a type >= this */
};

/** Attributes of the dpct extension message (their own numbering). */
enum sync_xta {
	SYNC_XTA_ID = 1,          /**< u32 conntrack id on the sender */
	SYNC_XTA_ZONE = 2,        /**< u16 */
	SYNC_XTA_EVENTS = 3,      /**< u16: CT_EV_* bits the record reported (pending | missed) */
	SYNC_XTA_TCP_FLAGS = 4,   /**< u8[2]: Linux IP_CT_TCP_FLAG_* per direction */
	SYNC_XTA_REPLY = 5,       /**< reply tuple: src, dst (4 or 16 bytes each), sport, dport */
	SYNC_XTA_COUNTERS = 6,    /**< u64[4]: packets orig, reply, bytes orig, reply */
	SYNC_XTA_REC_FLAGS = 7,   /**< u8: CT_REC_F_* of the record */
	SYNC_XTA_KEYS = 8,        /**< u16[2]: the original tuple's sport, dport where
				   *   conntrackd's format has no ports (GRE's keys) */
};

/** A connection as a data message describes it (and its extension, if any). */
struct sync_entry {
	struct ct_tuple orig;
	struct ct_tuple reply;    /**< orig reversed, with the NAT attributes applied */
	uint64_t pkts[2];
	uint64_t bytes[2];
	uint32_t status;
	uint32_t timeout_s;
	uint32_t mark;
	uint32_t id;              /**< extension only; 0 otherwise */
	uint16_t events;          /**< extension only */
	uint32_t sctp_vtag[2];    /**< SCTP: the verification tags, orig and reply */
	uint8_t tcp_state;        /**< TCP's state, or SCTP's (SYNC_NTA_SCTP_STATE) */
	uint8_t wscale[2];
	uint8_t dflags[2];
	uint8_t rec_flags;
	bool has_timeout;
	bool has_ext;             /**< the dpct extension was present */
};

/** One message of a datagram, decoded (host order). */
struct sync_msg {
	uint8_t version;
	uint8_t type;             /**< enum sync_type */
	uint8_t flags;            /**< SYNC_F_* */
	uint16_t len;
	uint32_t seq;
	uint32_t from;            /**< ACK/NACK/RESYNC only */
	uint32_t to;
	bool data;                /**< a conntrack NEW/UPD/DEL with `e` filled */
	struct sync_entry e;
};

/** Why messages were refused, as conntrackd counts them. */
struct sync_rx_errors {
	uint64_t bad_version;
	uint64_t bad_header;      /**< control message with an impossible range or flags */
	uint64_t bad_size;        /**< length field < header or beyond the datagram */
	uint64_t bad_payload;     /**< attribute malformed, wrong size, tuple incomplete */
	uint64_t bad_type;
	uint64_t truncated;       /**< datagram ends inside a header */
	uint64_t orphan_ext;      /**< extension without its data message */
};

/**
 * Encode an event record as a data message, plus its extension when `ext`.
 * The type is DEL for a DESTROY, NEW when the record reports CT_EV_NEW,
 * UPD otherwise. The reply tuple gives the NAT attributes when the record is
 * translated.
 * @return the bytes written; -EINVAL bad record (family, proto, an
 *         expectation record: CT_REC_F_EXP); -ENOSPC `cap` too small
 *         (SYNC_MSG_MAX always suffices).
 */
int sync_encode_rec(const struct ct_event_rec *r, uint32_t seq, uint8_t flags, bool ext,
		    uint8_t *buf, size_t cap);

/**
 * Encode an event record as a data message of the given type (SYNC_T_CT_NEW,
 * _UPD or _DEL) whatever its event bits say; the extension still carries
 * those bits. State sync sends an ended connection whose DESTROY a
 * reliable listener refused as an UPD with CT_EV_DESTROY in its extension:
 * the peer keeps it until the DEL that follows delivery (docs/ha.md).
 * @return the bytes written; -EINVAL bad record or type; -ENOSPC.
 */
int sync_encode_rec_as(const struct ct_event_rec *r, uint8_t type, uint32_t seq, uint8_t flags,
		       bool ext, uint8_t *buf, size_t cap);

/**
 * Encode a control message: ACK/NACK/RESYNC (with from/to, SYNC_ACK_LEN
 * bytes) or ALIVE (SYNC_HDR_LEN bytes). HELLO flags may be ORed in.
 * @return the bytes written; -EINVAL no control flag; -ENOSPC.
 */
int sync_encode_ctl(uint8_t flags, uint32_t seq, uint32_t from, uint32_t to, uint8_t *buf,
		    size_t cap);

/** Called once per well-formed message; a data message with its extension merged. */
typedef void (*sync_msg_cb)(void *arg, const struct sync_msg *m);

/**
 * Split a datagram into messages and decode each. Never reads outside
 * [buf, buf + len). A message that fails a check is counted in `err` and
 * skipped (the rest of the datagram is given up when its length field
 * cannot be trusted). Unknown attributes below SYNC_NTA_MAX are skipped;
 * a data message needs its addresses and protocol (and ports for TCP, UDP,
 * SCTP, DCCP, UDP-Lite).
 * @return the number of messages handed to `cb`.
 */
unsigned sync_parse(const uint8_t *buf, size_t len, sync_msg_cb cb, void *arg,
		    struct sync_rx_errors *err);

/** Serial-number order (RFC 1982 style) of two sequence numbers. */
static inline bool
sync_seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}


/* ------------------------------------------------------------------------ */
/* Streams (sync_stream.c)                                                   */

/**
 * On a stream (the TCP transport) messages follow each other with no
 * other framing, as conntrackd writes them: each one's length field says
 * where the next begins. With HMAC authentication the unit is a frame
 * instead: a 16-bit big-endian payload length, the payload (whole
 * messages, as a datagram would hold them) and the 32-byte HMAC-SHA256 of
 * the length field and the payload (sync_auth_verify() over the frame).
 */
enum sync_stream_mode {
	SYNC_STREAM_PLAIN = 0,    /**< conntrackd's: one message per unit */
	SYNC_STREAM_FRAMED = 1,   /**< length, payload, HMAC */
};

#define SYNC_FRAME_HDR 2
/** Longest message accepted on a plain stream (conntrackd's are far shorter). */
#define SYNC_STREAM_MSG_MAX 4096
/** Longest unit of either mode: a receive buffer this large always progresses. */
#define SYNC_STREAM_UNIT_MAX (SYNC_FRAME_HDR + 65535 + SYNC_MAC_LEN)

/**
 * The length of the unit at the head of buf[0..len), bytes received so
 * far on a stream. Never reads past `len`.
 * @return the unit's length (<= len) when it is complete; 0 when more bytes
 *         are needed; -EBADMSG when the head cannot begin a unit (plain: a
 *         version other than 1, a length below the header, below an ACK's
 *         16 bytes for an ACK/NACK/RESYNC, or above SYNC_STREAM_MSG_MAX;
 *         framed: a payload shorter than a header). The stream cannot be
 *         resynchronised after that: the caller closes it.
 */
long sync_stream_unit(const uint8_t *buf, size_t len, enum sync_stream_mode mode);

/* ------------------------------------------------------------------------ */
/* FTFW reliability (sync_ftfw.c)                                            */

/**
 * One side of an FTFW link: the sequence numbers it sends, a bounded
 * resend store of its data messages until the peer ACKs them, and what it
 * has received from the peer (gaps are NACKed, every `window` messages are
 * ACKed). Behaves as conntrackd's FTFW: a resent message gets a new
 * sequence number; HELLO is set on what it sends until the peer answers
 * HELLO_BACK; a HELLO from the peer restarts its sequence tracking.
 */
struct sync_ftfw;

struct sync_ftfw_stats {
	uint64_t sent;            /**< data messages stamped (control messages not counted) */
	uint64_t resent;          /**< data messages sent again after a NACK or the handshake */
	uint64_t acked;           /**< data messages released by an ACK */
	uint64_t overwritten;     /**< un-ACKed messages pushed out of a full store */
	uint64_t superseded;      /**< NACKed messages not resent: a later one for the
				   *   same connection was sent (resending would undo it) */
	uint64_t unrecoverable;   /**< NACKed messages whose slot a later message took:
				   *   content unknown (-> resync). One ACKed or
				   *   already resent under a later number is not */
	uint64_t received;        /**< messages accepted in order */
	uint64_t gaps;            /**< messages missed (sum of NACKed ranges) */
	uint64_t nacks_sent;
	uint64_t acks_sent;
	uint64_t before;          /**< duplicates, replays and late messages dropped */
	uint64_t hellos;          /**< peer (re)starts seen */
};

/** A control message the caller must send (encode with sync_encode_ctl()). */
struct sync_ctl {
	uint8_t flags;            /**< SYNC_F_ACK, _NACK or _ALIVE */
	uint32_t from;
	uint32_t to;
};

/** What to do with a received message. */
enum sync_rx_verdict {
	SYNC_RX_ACCEPT = 0,       /**< in order (or after a gap): apply it */
	SYNC_RX_DROP = 1,         /**< duplicate or late: ignore it */
};

/**
 * @param slots   resend store size in messages (>= 1)
 * @param window  ACK every this many messages received (>= 1)
 * @param first_seq  first sequence number sent (conntrackd starts at time())
 * @return the state, or NULL (errno EINVAL or ENOMEM).
 */
struct sync_ftfw *sync_ftfw_create(unsigned slots, unsigned window, uint32_t first_seq);
void sync_ftfw_free(struct sync_ftfw *f);

/** Flags to OR into the next message sent (HELLO, HELLO_BACK); consumes HELLO_BACK. */
uint8_t sync_ftfw_tx_flags(struct sync_ftfw *f);

/** Take the next sequence number. */
uint32_t sync_ftfw_tx_seq(struct sync_ftfw *f);

/**
 * Keep a stamped message (a data message with its extension, or a control
 * message) for resending. A full store pushes out its oldest message
 * (counted as overwritten). `key` names the connection (sync_flow_key()),
 * 0 for control messages: a NACKed message is not resent when a later one
 * for the same key was (it would undo the later one).
 * @return 0; -EINVAL len 0 or > SYNC_MSG_MAX.
 */
int sync_ftfw_tx_keep(struct sync_ftfw *f, const uint8_t *msg, uint16_t len, uint64_t key);

/**
 * Whether a message for `key` was first sent at or after sequence number
 * `seq` and is still in the store (pending or ACKed). A table snapshot taken
 * after `seq` was current is older than such a message: a resync skips it.
 */
bool sync_ftfw_sent_since(const struct sync_ftfw *f, uint64_t key, uint32_t seq);

/** The sequence number the next message will get. */
uint32_t sync_ftfw_next_seq(const struct sync_ftfw *f);

/** A non-zero key for the connection with original tuple `t`. */
uint64_t sync_flow_key(const struct ct_tuple *t);

/** The peer ACKed [from, to]: release them. */
void sync_ftfw_on_ack(struct sync_ftfw *f, uint32_t from, uint32_t to);

typedef void (*sync_emit_cb)(void *arg, const uint8_t *msg, uint16_t len);

/**
 * The peer NACKed [from, to]: every message of the range still stored is
 * restamped with a new sequence number, kept again and handed to `emit`.
 * @return the number resent; -ENOENT when part of the range is no longer
 *         stored (the caller owes the peer a full resync).
 */
int sync_ftfw_on_nack(struct sync_ftfw *f, uint32_t from, uint32_t to, sync_emit_cb emit,
		      void *arg);

/**
 * Sequence tracking of a received message (data or control). Fills `out`
 * with up to two control messages to send (an ACK of what came before a
 * gap and the NACK of the gap, or the ACK of a full window); *n_out says
 * how many.
 */
enum sync_rx_verdict sync_ftfw_rx(struct sync_ftfw *f, const struct sync_msg *m,
				  struct sync_ctl out[2], unsigned *n_out);

/**
 * The keepalive timer (conntrackd: every second, and after each send):
 * an ACK of what was received since the last ACK, or else an ALIVE.
 */
void sync_ftfw_tick(struct sync_ftfw *f, struct sync_ctl *out);

/**
 * Resend every stored message, oldest first, with new sequence numbers (so
 * their order is kept).
 * @return the number resent.
 */
int sync_ftfw_resend_pending(struct sync_ftfw *f, sync_emit_cb emit, void *arg);

/**
 * True once, right after the peer first answered HELLO_BACK. Until then the
 * peer accepted our messages without checking their sequence (conntrackd's
 * FTFW is unreliable while helloing) and may have ACKed some it never got:
 * the caller resends what is stored (sync_ftfw_resend_pending()) before it
 * applies that message's ACK.
 */
bool sync_ftfw_handshake_done(struct sync_ftfw *f);

/** True once the peer answered our HELLO. */
bool sync_ftfw_peer_known(const struct sync_ftfw *f);

/** Data messages stored and not yet ACKed (control messages are kept too, uncounted). */
unsigned sync_ftfw_pending(const struct sync_ftfw *f);

const struct sync_ftfw_stats *sync_ftfw_stats(const struct sync_ftfw *f);

/* ------------------------------------------------------------------------ */
/* Authentication (sync_hmac.c)                                              */

/** HMAC-SHA256 of msg[0..len) under key[0..klen). */
void sync_hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *msg, size_t len,
		      uint8_t out[SYNC_MAC_LEN]);

/**
 * Append the HMAC-SHA256 of buf[0..len) to the datagram.
 * @return the new length; -ENOSPC when `cap` has no room for the 32 bytes.
 */
int sync_auth_sign(const uint8_t *key, size_t klen, uint8_t *buf, size_t len, size_t cap);

/**
 * Check a datagram's trailer (constant-time comparison).
 * @return the length without the trailer; -EBADMSG too short or wrong MAC.
 */
int sync_auth_verify(const uint8_t *key, size_t klen, const uint8_t *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* External cache (sync_cache.c)                                             */

/**
 * The peer's connections, keyed by original tuple (zone included: 0 from a
 * conntrackd peer), as its NEW/UPD/DEL messages describe them: what a
 * promotion commits into the tables. A fixed pool; no allocation after
 * sync_cache_create().
 */
struct sync_cache;

struct sync_cache_ent {
	struct sync_entry e;
	uint64_t updated_ns;      /**< when the last message for it arrived (caller's clock) */
};

struct sync_cache_stats {
	uint64_t inserted;
	uint64_t updated;
	uint64_t deleted;
	uint64_t del_unknown;     /**< DEL of an entry not held */
	uint64_t del_stale;       /**< DEL naming an earlier connection of a tuple held
				   *   (ids differ in the extensions): ignored */
	uint64_t full;            /**< NEW/UPD refused: pool exhausted */
};

/** @return the cache, or NULL (errno EINVAL: max 0 or > 2^26; ENOMEM). */
struct sync_cache *sync_cache_create(uint32_t max);
void sync_cache_free(struct sync_cache *c);

/**
 * Apply a data message: NEW and UPD insert or replace (an UPD without a
 * timeout keeps the one held), DEL removes. When both the DEL and the held
 * entry came with the extension and their conntrack ids differ, the DEL is
 * for an earlier connection of the tuple and is ignored.
 * @return 0; -EINVAL not a data message; -ENOSPC full; -ENOENT DEL of an
 *         entry not held; -ESTALE DEL of an earlier connection.
 */
int sync_cache_apply(struct sync_cache *c, const struct sync_msg *m, uint64_t now_ns);

/** The entry for `orig` (address bytes past the family's length ignored), or NULL. */
const struct sync_cache_ent *sync_cache_find(const struct sync_cache *c,
					     const struct ct_tuple *orig);

uint32_t sync_cache_count(const struct sync_cache *c);

/** Return non-zero to stop the walk. */
typedef int (*sync_cache_fn)(const struct sync_cache_ent *x, void *arg);

/** Visit every entry (do not apply messages meanwhile). @return entries visited. */
unsigned sync_cache_walk(const struct sync_cache *c, sync_cache_fn fn, void *arg);

/** Drop every entry. */
void sync_cache_clear(struct sync_cache *c);

const struct sync_cache_stats *sync_cache_stats(const struct sync_cache *c);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_SYNC_H */
