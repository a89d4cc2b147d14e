/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_H
#define DPCT_CT_H

/**
 * @file
 * lib/conntrack: per-core connection tracking shards with Linux semantics.
 *
 * A shard is one worker's private table: a preallocated entry pool, a
 * bucketed-signature lookup index, a timer wheel, the L4 trackers and the
 * event-bit bookkeeping of reliable event delivery (DESIGN §4). A shard has
 * exactly one writer (the worker lcore that owns it); no function here takes
 * a lock or uses an atomic, and none of them is multi-thread safe on the same
 * shard. Different shards may be used concurrently from different threads.
 *
 * Time is always a parameter (`now`, nanoseconds, any epoch, expected to be
 * non-decreasing; a smaller value than before is treated as the previous
 * one). Nothing here needs a running EAL: shards are created from plain
 * heap memory.
 *
 * Events: functions that change entries append event records to the
 * shard's staging buffer (see ct_shard_ev_peek()). The owner moves them to
 * its event ring and reports how many were accepted with
 * ct_shard_ev_commit(); the rest become `missed` bits (or re-armed destroy
 * timers). Delivery results from the control core come back through
 * ct_shard_apply_result().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;

/* ------------------------------------------------------------------------ */
/* Constants shared with Linux                                              */

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

/** Status bits, with Linux's bit numbers (enum ip_conntrack_status). */
#define CT_S_EXPECTED   (1u << 0)
#define CT_S_SEEN_REPLY (1u << 1)
#define CT_S_ASSURED    (1u << 2)
#define CT_S_CONFIRMED  (1u << 3)
#define CT_S_DYING      (1u << 9)
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

/* ------------------------------------------------------------------------ */
/* Tuples and parsed packets                                                */

/**
 * A flow tuple. IPv4 addresses sit in the first 4 bytes of src/dst, the
 * rest zero. Ports are in host byte order; for ICMP/ICMPv6 echo both ports
 * hold the echo identifier; for protocols without ports both are 0.
 * Always fully initialised (padding included) so it can be hashed and
 * compared as bytes.
 */
struct ct_tuple {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;   /**< IPPROTO_* */
	uint8_t family;  /**< 4 or 6 */
	uint16_t zone;
};
_Static_assert(sizeof(struct ct_tuple) == 40, "ct_tuple must be 40 bytes, no padding");

/** What the parser concluded about a packet. */
enum ct_pkt_class {
	CT_PKT_TRACK = 0,     /**< IP with a trackable L4 header: look it up. */
	CT_PKT_ICMP_ERROR,    /**< ICMP/ICMPv6 error: `tuple` is the quoted flow's (as sent). */
	CT_PKT_NOT_IP,        /**< non-IP: passes untracked. */
	CT_PKT_FRAGMENT,      /**< non-first fragment: untracked. */
	CT_PKT_INVALID,       /**< malformed: `invalid_reason` says why. */
};

/** Why a packet is invalid. Stable names in ct_invalid_reason_name(). */
enum ct_invalid_reason {
	CT_INV_NONE = 0,
	CT_INV_TRUNC_L2,        /**< shorter than Ethernet/VLAN headers */
	CT_INV_TRUNC_L3,        /**< IP header truncated */
	CT_INV_IP_VERSION,      /**< version field disagrees with ethertype */
	CT_INV_IP_HDRLEN,       /**< IPv4 IHL < 5 or beyond the packet */
	CT_INV_IP_TOTLEN,       /**< total/payload length inconsistent with the packet */
	CT_INV_IP_FRAG,         /**< impossible fragment (e.g. first fragment too short) */
	CT_INV_IPV6_EXTHDR,     /**< extension-header chain truncated, too long or malformed */
	CT_INV_TRUNC_L4,        /**< L4 header truncated */
	CT_INV_TCP_DOFF,        /**< TCP data offset < 5 or beyond the segment */
	CT_INV_TCP_FLAGS,       /**< impossible TCP flag combination */
	CT_INV_UDP_LEN,         /**< UDP length field inconsistent */
	CT_INV_ICMP,            /**< bad ICMP type/code or quoted packet */
	CT_INV_STATE,           /**< out-of-state for the tracker (e.g. SYN/ACK with no entry) */
	CT_INV_MAX,
};

/**
 * A parsed packet: everything the shard needs, so the packet data itself
 * need not be touched again. Produced by ct_parse(), consumed by
 * ct_process_burst().
 */
struct ct_pkt {
	struct ct_tuple tuple;   /**< as seen on the wire (src = sender) */
	uint32_t hash;           /**< direction-independent hash of the tuple */
	uint32_t len;            /**< bytes counted for accounting (L2 frame length) */
	uint8_t cls;             /**< enum ct_pkt_class */
	uint8_t invalid_reason;  /**< enum ct_invalid_reason when cls == CT_PKT_INVALID */
	uint8_t tcp_flags;       /**< TCP flags byte (FIN=0x01 ... CWR=0x80) */
	uint8_t icmp_type;       /**< ICMP/ICMPv6 type when proto is ICMP/ICMPv6 */
	uint8_t icmp_code;
	uint8_t l3_off;          /**< offset of the IP header */
	uint16_t l4_off;         /**< offset of the L4 header (0 if none) */
	uint32_t tcp_seq;        /**< host order, for future window tracking */
	uint32_t tcp_ack;
	uint16_t tcp_win;
	uint16_t payload_len;    /**< L4 payload bytes */
};

/**
 * Parse a packet from `data`/`len` (starting at the Ethernet header).
 * Never reads outside [data, data+len). Always fills `out` (cls tells the
 * outcome).
 *
 * Classification (details in ct_parse.c): up to two VLAN tags are parsed, a
 * third makes the frame CT_PKT_NOT_IP; the IP length field (not the frame
 * length) ends the packet; non-first fragments are CT_PKT_FRAGMENT, first
 * fragments are tracked when their L4 header is complete (else
 * CT_INV_IP_FRAG); at most 8 IPv6 extension headers; ESP and IPv6
 * "no next header" are tracked generically with ports 0; ICMP queries Linux
 * tracks (echo, timestamp, info, address mask; v6 echo, node info) use the
 * identifier as both ports; ICMP errors give the quoted flow's tuple
 * (CT_PKT_ICMP_ERROR); ICMPv6 MLD/ND (130-136, 143) are CT_PKT_NOT_IP
 * (untracked, as in Linux); other ICMP types are CT_INV_ICMP.
 *
 * @param zone  conntrack zone to put in the tuple (0 by default).
 * @return out->cls.
 * Thread safety: pure function.
 */
int ct_parse(const uint8_t *data, uint32_t len, uint16_t zone, struct ct_pkt *out);

/** Parse the first segment of an mbuf (multi-segment packets: first segment only). */
int ct_parse_mbuf(const struct rte_mbuf *m, uint16_t zone, struct ct_pkt *out);

/** Direction-independent hash: hash(t) == hash(reverse(t)). */
uint32_t ct_tuple_hash(const struct ct_tuple *t);

/** Swap source and destination (addresses and ports). */
void ct_tuple_reverse(struct ct_tuple *out, const struct ct_tuple *in);

/** Owner shard of a flow hash among n shards (n >= 1). */
static inline unsigned
ct_hash_owner(uint32_t hash, unsigned n)
{
	return (unsigned)(((uint64_t)hash * n) >> 32);
}

/** Stable lowercase names for logs, stats and telemetry. */
const char *ct_tcp_state_name(unsigned state);      /* "SYN_SENT", ... as conntrack -E */
const char *ct_invalid_reason_name(unsigned reason); /* "trunc_l3", ... */
const char *ct_proto_name(unsigned proto);           /* "tcp", "udp", "icmp", "icmpv6", "unknown" */

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

/** Timeout classes: X(enum suffix, name, Linux default seconds). */
#define CT_TIMEOUT_TABLE(X) \
	X(TCP_SYN_SENT,    "tcp_syn_sent",    120) \
	X(TCP_SYN_RECV,    "tcp_syn_recv",     60) \
	X(TCP_ESTABLISHED, "tcp_established", 432000) \
	X(TCP_FIN_WAIT,    "tcp_fin_wait",    120) \
	X(TCP_CLOSE_WAIT,  "tcp_close_wait",   60) \
	X(TCP_LAST_ACK,    "tcp_last_ack",     30) \
	X(TCP_TIME_WAIT,   "tcp_time_wait",   120) \
	X(TCP_CLOSE,       "tcp_close",        10) \
	X(TCP_SYN_SENT2,   "tcp_syn_sent2",   120) \
	X(TCP_RETRANS,     "tcp_retrans",     300) \
	X(TCP_UNACK,       "tcp_unacknowledged", 300) \
	X(UDP_UNREPLIED,   "udp_unreplied",    30) \
	X(UDP_REPLIED,     "udp_replied",     120) \
	X(ICMP,            "icmp",             30) \
	X(ICMPV6,          "icmpv6",           30) \
	X(GENERIC,         "generic",         600)

enum ct_timeout_class {
#define CT_X_ENUM(id, name, secs) CT_TO_##id,
	CT_TIMEOUT_TABLE(CT_X_ENUM)
#undef CT_X_ENUM
	CT_TO_MAX,
};

/** Name ("tcp_established") and Linux default (seconds) of a timeout class. */
const char *ct_timeout_name(unsigned cls);
uint32_t ct_timeout_default_s(unsigned cls);

/** Policy for invalid packets. */
enum ct_invalid_policy {
	CT_INVALID_DROP = 0,
	CT_INVALID_PASS = 1,
};

/** A NOTRACK rule: a packet matching every set field bypasses the table. */
struct ct_notrack_rule {
	uint8_t proto;          /**< 0 = any */
	uint8_t family;         /**< 0 = any, 4 or 6 */
	uint16_t port;          /**< 0 = any; matches sport or dport */
	uint8_t addr[16];       /**< prefix, matches src or dst */
	uint8_t prefix_len;     /**< 0 = any address */
};

#define CT_MAX_NOTRACK 64

/**
 * Live + dying entries stay within max_entries, except right after an
 * early drop: the victim waits on the dying list for its DESTROY to be
 * delivered while the entry that replaced it already exists (Linux does the
 * same). The pool holds this many extra slots for that; beyond them a new
 * connection is dropped.
 */
#define CT_EARLY_DROP_HEADROOM(max) ((max) / 64 + 16)

/** Shard configuration. ct_conf_init() fills Linux defaults. */
struct ct_conf {
	uint32_t max_entries;        /**< this shard's share: active + dying entries */
	uint32_t buckets;            /**< index buckets (8 slots each); 0 = derive from max_entries */
	uint32_t timeout_s[CT_TO_MAX];
	bool tcp_loose;              /**< pick up mid-stream TCP (nf_conntrack_tcp_loose=1) */
	uint8_t invalid_policy;      /**< enum ct_invalid_policy */
	bool early_drop;             /**< evict a non-assured entry when full */
	uint8_t fill_alarm_high_pct; /**< log when count crosses this (0 = off) */
	uint8_t fill_alarm_low_pct;  /**< ... and again when it falls below this */
	bool events_enabled;         /**< produce event records at all */
	uint32_t destroy_grace_ms;   /**< DESIGN §4: re-arm window for undelivered destroys */
	uint32_t ev_stage_size;      /**< staging buffer capacity (records) */
	uint64_t seed;               /**< PRNG seed for grace re-arm and hash salt */
	uint16_t shard_index;        /**< this shard's number, for ids */
	uint16_t shard_count;        /**< total shards, for ids */
	uint16_t n_notrack;
	struct ct_notrack_rule notrack[CT_MAX_NOTRACK];
};

/** Fill `c` with defaults: Linux timeouts, 262144 entries, loose TCP on,
 * early drop on, alarm 90/80 %, events on, grace 15000 ms, stage 1024. */
void ct_conf_init(struct ct_conf *c);

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
	uint8_t tcp_state;        /**< enum ct_tcp_state, TCP only */
	uint8_t flags;            /**< CT_REC_F_* */
	uint32_t mark;            /**< CTA_MARK (0 = none) */
	uint64_t seq;             /**< per-shard record sequence number */
	uint32_t targets;         /**< listener slots a resent DESTROY is for (0 = everyone) */
	uint32_t pad;
};
_Static_assert(sizeof(struct ct_event_rec) == 128, "event record is two cache lines");

#define CT_REC_F_RESEND 0x01  /**< a destroy sent again after a grace timer */
#define CT_REC_F_RETRY  0x02  /**< carries bits that were missed before */

/** Delivery results, control core -> owning worker. */
enum ct_result_kind {
	CT_RES_NACK = 1,          /**< non-destroy bits not delivered: OR into missed */
	CT_RES_DESTROY_ACK = 2,   /**< destroy delivered: free the entry */
	CT_RES_DESTROY_NACK = 3,  /**< destroy not delivered: re-arm grace timer */
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

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */

/** Counters, named as `conntrack -S` plus dpct's own. X(field). */
#define CT_STATS_TABLE(X) \
	X(found) X(invalid) X(ignore) X(insert) X(insert_failed) X(drop) \
	X(early_drop) X(error) X(search_restart) X(expired) X(deleted) \
	X(untracked) X(notrack) X(related) X(handoff) \
	X(events_sent) X(events_failed) X(events_retried) X(destroy_resent) \
	X(ring_full) X(listener_dropped) X(destroy_acked) \
	X(fill_alarm) X(table_full_warn)

struct ct_stats {
#define CT_X_FIELD(f) uint64_t f;
	CT_STATS_TABLE(CT_X_FIELD)
#undef CT_X_FIELD
	uint64_t invalid_by_reason[CT_INV_MAX];
	/* Gauges */
	uint32_t count;           /**< live entries (not dying) */
	uint32_t dying;           /**< entries waiting for destroy delivery */
	uint32_t max_entries;
	uint32_t pad;
};

/* ------------------------------------------------------------------------ */
/* Shards                                                                    */

struct ct_shard;

/**
 * Create a shard from heap memory (no EAL needed).
 *
 * @param err  buffer for a message on failure (may be NULL).
 * @return the shard, or NULL with `err` filled (bad config, out of memory).
 */
struct ct_shard *ct_shard_create(const struct ct_conf *conf, char *err, size_t errlen);

/** Free a shard and everything in it. NULL is a no-op. */
void ct_shard_free(struct ct_shard *s);

/** Configuration the shard runs with (read-only). */
const struct ct_conf *ct_shard_conf(const struct ct_shard *s);

/** Packet verdicts written by ct_process_burst(). */
enum ct_verdict {
	CT_V_PASS = 0,      /**< tracked (new, established, related) or untracked: forward */
	CT_V_DROP = 1,      /**< invalid under the drop policy, or table full */
};

/**
 * Track a burst of parsed packets that belong to this shard. Looks up all
 * of them first (prefetching index buckets and entries across the burst),
 * then runs the trackers in order. Creates entries, updates state,
 * counters and timers, and stages event records for every entry whose
 * `pending | missed` bits are non-empty.
 *
 * @param verdict  out: one enum ct_verdict per packet.
 * @return number of packets processed (always n).
 * Thread safety: owner only.
 */
uint16_t ct_process_burst(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n,
			  uint64_t now, uint8_t *verdict);

/**
 * Expire entries whose timeout passed and re-send destroys whose grace
 * timer fired. Work is bounded by `budget` entries visited; call again
 * (e.g. every poll loop iteration) to continue.
 *
 * @return number of entries visited.
 */
unsigned ct_shard_expire(struct ct_shard *s, uint64_t now, unsigned budget);

/* Event staging ----------------------------------------------------------- */

/**
 * The records staged since the last commit.
 * @param n  out: number of records.
 */
struct ct_event_rec *ct_shard_ev_peek(struct ct_shard *s, unsigned *n);

/**
 * Report that the first `accepted` staged records reached the event ring.
 * The others failed: their non-destroy bits are ORed into `missed` (retried
 * on the flow's next packet), their destroys are re-armed at
 * now + random() % grace. The staging buffer is emptied. `ring_full` counts
 * the failures.
 */
void ct_shard_ev_commit(struct ct_shard *s, unsigned accepted, uint64_t now);

/** Room left in the staging buffer. Producers stop (or fall back to
 * `missed`) when it is 0. */
unsigned ct_shard_ev_room(const struct ct_shard *s);

/**
 * Apply a delivery result from the control core. Results whose id no
 * longer matches the slot's entry are stale and ignored.
 *
 * @return 0 applied; -ESTALE stale; -EINVAL bad slot or kind.
 */
int ct_shard_apply_result(struct ct_shard *s, const struct ct_result *r, uint64_t now);

/* Control-plane operations (run by the owner, on request) ----------------- */

/**
 * Destroy every live entry: each goes to the dying set and stages a
 * DESTROY (conntrack -F). Bounded by `budget` entries (0 = no limit) and by
 * staging room: when the staging buffer is full it stops, so move the
 * records out (ev_worker_sync) and call again while ct_shard_live() > 0.
 * @return number of entries destroyed by this call.
 */
unsigned ct_shard_flush(struct ct_shard *s, uint64_t now, unsigned budget);

/**
 * Destroy the entry for `t` (either direction).
 * @return 0 done; -ENOENT no such entry; -ENOSPC staging full, retry later.
 */
int ct_shard_delete(struct ct_shard *s, const struct ct_tuple *t, uint64_t now);

/**
 * Snapshot the live entry for `t` (either direction) into `out`
 * (events = 0).
 * @return 0 found; -ENOENT.
 */
int ct_shard_lookup(struct ct_shard *s, const struct ct_tuple *t, uint64_t now,
		    struct ct_event_rec *out);

/**
 * Iterate entries in pool order from `*cursor` (start at 0), calling `cb`
 * with a snapshot. Live entries always; dying ones too if `dying`.
 * Stops after `max` entries or when `cb` returns non-zero.
 * @return number of callbacks made; `*cursor` is where to resume,
 *         UINT32_MAX when done.
 */
unsigned ct_shard_iterate(struct ct_shard *s, uint32_t *cursor, unsigned max, bool dying,
			  uint64_t now, int (*cb)(const struct ct_event_rec *r, void *arg),
			  void *arg);

/** Copy the shard's counters and gauges. */
void ct_shard_stats(const struct ct_shard *s, struct ct_stats *out);

/** Add `b` into `a` (for totals). */
void ct_stats_add(struct ct_stats *a, const struct ct_stats *b);

/** Count a handed-off packet / a result the ring could not carry etc.
 * For the owner of the shard only. */
void ct_shard_count_handoff(struct ct_shard *s, unsigned n);

/** Record event-delivery counters reported by the control core. */
void ct_shard_count_events(struct ct_shard *s, unsigned sent, unsigned failed,
			   unsigned listener_dropped);

/** Bytes of memory one entry costs, index share included (for docs/bench). */
size_t ct_shard_bytes_per_entry(const struct ct_shard *s);

/** Live (not dying) entries. */
uint32_t ct_shard_live(const struct ct_shard *s);

/** True when the shard has no live and no dying entries. */
bool ct_shard_empty(const struct ct_shard *s);

/**
 * Operator warnings (table full, fill alarm) go through this hook so the
 * library never prints. Default: none. `level` uses syslog numbering.
 */
typedef void (*ct_log_fn)(void *arg, int level, const char *msg);
void ct_shard_set_log(struct ct_shard *s, ct_log_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_CT_H */
