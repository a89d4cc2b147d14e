/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_H
#define DPCT_CT_H

/**
 * @file
 * lib/conntrack: per-core connection tracking shards with Linux semantics.
 *
 * A shard is one worker's private table: a preallocated entry pool, a
 * bucketed-signature lookup index, a timer wheel, the L4 trackers and the
 * event-bit bookkeeping of reliable event delivery (docs/architecture.md,
 * "The event path and reliable delivery"). A shard has
 * exactly one writer (the worker lcore that owns it); no function here takes
 * a lock or uses an atomic, and none of them is multi-thread safe on the same
 * shard. Different shards may be used concurrently from different threads.
 *
 * Time is always a parameter (`now`, nanoseconds, any epoch, expected to be
 * non-decreasing; a smaller value than before is treated as the previous
 * one). Nothing here needs a running EAL: shards are created from the
 * caller's allocator (struct ct_mem) or plain heap memory.
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

#include "ct_limit.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;

#include "ct_linux.h"

/* ------------------------------------------------------------------------ */
/* Tuples and parsed packets                                                */

/**
 * A flow tuple. IPv4 addresses sit in the first 4 bytes of src/dst, the
 * rest zero. Ports are in host byte order; for ICMP/ICMPv6 queries the
 * request's sender has sport = identifier and dport = request type | code << 8
 * (the response the reverse, so reversing a tuple gives the reply's), which
 * keys them as Linux's {id, type, code}; for protocols without ports both are 0.
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
	CT_PKT_NOTRACK,       /**< set by the caller (a policy notrack rule): bypass the table. */
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
	/* Strict tracking: checksums and TCP windows */
	CT_INV_IP_CSUM,         /**< IPv4 header checksum wrong */
	CT_INV_L4_CSUM,         /**< TCP/UDP/UDP-Lite/ICMP/ICMPv6/SCTP checksum wrong */
	CT_INV_TCP_WINDOW,      /**< TCP segment outside the window (Linux tcp_in_window()) */
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
	uint32_t len;            /**< bytes counted for accounting: the IP datagram (IPv4 total
				  *   length, IPv6 payload length + 40), as Linux's acct; the
				  *   frame length for non-IP */
	uint8_t cls;             /**< enum ct_pkt_class */
	uint8_t invalid_reason;  /**< enum ct_invalid_reason when cls == CT_PKT_INVALID */
	uint8_t tcp_flags;       /**< TCP flags byte (FIN=0x01 ... CWR=0x80) */
	uint8_t icmp_type;       /**< ICMP/ICMPv6 type when proto is ICMP/ICMPv6 */
	uint8_t icmp_code;
	uint8_t l3_off;          /**< offset of the IP header */
	uint16_t l4_off;         /**< offset of the L4 header (0 if none) */
	uint32_t tcp_seq;        /**< host order, for window tracking */
	uint32_t tcp_ack;
	uint16_t tcp_win;        /**< unscaled window field */
	uint16_t payload_len;    /**< L4 payload bytes */
	uint16_t in_port;        /**< ingress port (ct_parse_mbuf: mbuf->port; ct_parse: 0) */
	/* Choice of the owning shard */
	uint32_t owner_hash;     /**< direction-independent, keyed, independent of `hash`:
				  *   picks the owning shard when the NIC's RSS does not */
	/* TCP options for window tracking, parsed as Linux's tcp_options()/tcp_sack() */
	uint32_t tcp_sack;       /**< highest SACK right edge after tcp_ack, else tcp_ack */
	uint8_t tcp_opts;        /**< CT_PKT_OPT_* */
	uint8_t tcp_wscale;      /**< window scale option value, capped at 14 */
	uint8_t plain;           /**< 1: tracked, untagged Ethernet, IPv4 without options at
				  *   byte 14 (l4_off 34), its TCP or UDP header whole in the
				  *   bytes parsed (an mbuf's first segment): the parser's
				  *   common shape, which nat_rewrite_plain() takes unchecked */
};
/*
 * An SCTP packet reuses the TCP fields for what its tracker reads (Linux
 * nf_conntrack_sctp_packet() walks the chunks; the parser walks them once):
 * tcp_seq the common header's verification tag, tcp_ack the initiate tag of
 * an INIT or INIT_ACK chunk, tcp_sack the state-changing chunks in order
 * (ct_private.h: CT_SCTP_SEQ_*), tcp_flags which of them occur
 * (CT_SCTP_M_*) and tcp_opts the rest of what the walk found (CT_SCTP_O_*).
 */

#define CT_PKT_OPT_PRESENT 0x01  /**< the TCP header has an option area */
#define CT_PKT_OPT_WSCALE  0x02  /**< window scale option seen */
#define CT_PKT_OPT_SACKOK  0x04  /**< SACK-permitted option seen */

/**
 * Parse a packet from `data`/`len` (starting at the Ethernet header).
 * Never reads outside [data, data+len). Always fills `out` (cls tells the
 * outcome).
 *
 * Classification (details in ct_parse.c): up to two VLAN tags are parsed, a
 * third makes the frame CT_PKT_NOT_IP; the IP length field (not the frame
 * length) ends the packet; non-first fragments are CT_PKT_FRAGMENT, first
 * fragments are tracked when their L4 header is complete (else
 * CT_INV_IP_FRAG; an SCTP first fragment always); at most 8 IPv6
 * extension headers; ESP, DCCP (as Linux 6.16 and later) and IPv6 "no next
 * header" are tracked generically with ports 0; GREv0 with keys 0 and GREv1
 * (PPTP) with the call ID as dport (not PPP: CT_INV_STATE); SCTP and
 * UDP-Lite with their ports; ICMP queries Linux tracks (echo, timestamp,
 * info, address mask; v6 echo, node info) are keyed by identifier, request
 * type and code (see struct ct_tuple); ICMP errors give the quoted flow's tuple
 * (CT_PKT_ICMP_ERROR); ICMPv6 MLD/ND (130-136, 143) are CT_PKT_NOT_IP
 * (untracked, as in Linux); other ICMP types are CT_INV_ICMP.
 *
 * Checksums are not looked at here: see ct_pkt_csum_verify(). `len` in the
 * result is what accounting adds: the IP datagram's length.
 *
 * @param zone  conntrack zone to put in the tuple (0 by default).
 * @return out->cls.
 * Thread safety: pure function.
 */
int ct_parse(const uint8_t *data, uint32_t len, uint16_t zone, struct ct_pkt *out);

/** Parse the first segment of an mbuf (multi-segment packets: first segment only). */
int ct_parse_mbuf(const struct rte_mbuf *m, uint16_t zone, struct ct_pkt *out);

/**
 * ct_parse() of `n` frames, `data[i]`/`len[i]` into `out[i]`, all in zone
 * `zone`: the same results, without a call per packet.
 */
void ct_parse_burst(const uint8_t *const *data, const uint32_t *len, unsigned n, uint16_t zone,
		    struct ct_pkt *out);

/** ct_parse_mbuf() of `n` mbufs into `out[i]`, all in zone `zone`. */
void ct_parse_mbuf_burst(struct rte_mbuf *const *m, unsigned n, uint16_t zone,
			 struct ct_pkt *out);

/**
 * Checksum verification, as Linux with nf_conntrack_checksum=1 on
 * PRE_ROUTING. Applies to packets of class CT_PKT_TRACK or CT_PKT_ICMP_ERROR
 * produced by ct_parse() from the same bytes. `what` selects the checks done
 * in software (CT_CSUM_IP: the IPv4 header; CT_CSUM_L4: TCP, UDP (0 means
 * none), UDP-Lite (its coverage), ICMP, ICMPv6 and SCTP (CRC32c), each as
 * Linux's conntrack checks them; DCCP is not checked, as in Linux 6.16+).
 * A wrong checksum makes `p` CT_PKT_INVALID with CT_INV_IP_CSUM or
 * CT_INV_L4_CSUM.
 *
 * @return 0 (good or nothing to check) or -EBADMSG (p is now invalid).
 * Thread safety: pure function on `p`.
 */
#define CT_CSUM_IP 0x1
#define CT_CSUM_L4 0x2
int ct_pkt_csum_verify(const uint8_t *data, uint32_t len, struct ct_pkt *p, unsigned what);

/**
 * The same for an mbuf parsed with ct_parse_mbuf(): the RX offload flags
 * decide where the port reports a result (RTE_MBUF_F_RX_IP_CKSUM_*,
 * RTE_MBUF_F_RX_L4_CKSUM_*: GOOD and NONE pass, BAD is invalid); UNKNOWN is
 * verified in software. Multi-segment packets are summed across segments
 * (SCTP's CRC32c only over the first segment's bytes when it holds the whole
 * packet; otherwise it is not checked).
 * @return 0 or -EBADMSG.
 */
int ct_pkt_csum_mbuf(const struct rte_mbuf *m, struct ct_pkt *p);

/**
 * The outer VLAN id (0-4095) of an Ethernet frame (0x8100, 0x88a8 or 0x9100
 * tag), or CT_VLAN_NONE when untagged: what the app's zone rules match on.
 */
#define CT_VLAN_NONE 0xffff
uint16_t ct_frame_vlan(const uint8_t *data, uint32_t len);

/**
 * The keyed flow hash (ct_hash.c): direction-independent,
 * ct_tuple_hash64(t) == ct_tuple_hash64(reverse(t)), and strongly universal
 * over the process's secret key (vector multiply-shift), so tuples cannot be
 * chosen to collide without the key. The low 32 bits are ct_pkt.hash (the
 * shard's buckets and signatures), the high 32 bits ct_pkt.owner_hash (the
 * owning shard when software picks it).
 * Thread safety: pure function of the tuple and the process key.
 */
uint64_t ct_tuple_hash64(const struct ct_tuple *t);

/** The low half of ct_tuple_hash64(): ct_pkt.hash (the high half is ct_pkt.owner_hash). */
uint32_t ct_tuple_hash(const struct ct_tuple *t);

/**
 * Set the process-wide hash key. Every process starts with a random key
 * from getrandom(2); a non-zero `seed` replaces it with one derived from
 * the seed (repeatable tests and replays), 0 draws a new random key.
 * Call at start-up only, before any shard is created or packet parsed:
 * entries hashed under another key are not found again.
 * @return 0; -errno when no random key could be drawn (seed 0).
 * Thread safety: not thread safe; nothing may hash concurrently.
 */
int ct_hash_set_seed(uint64_t seed);

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
const char *ct_sctp_state_name(unsigned state);     /* "COOKIE_WAIT", ... as conntrack -E */
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
	X(GENERIC,         "generic",         600) \
	X(SCTP_CLOSED,     "sctp_closed",      10) \
	X(SCTP_COOKIE_WAIT, "sctp_cookie_wait", 3) \
	X(SCTP_COOKIE_ECHOED, "sctp_cookie_echoed", 3) \
	X(SCTP_ESTABLISHED, "sctp_established", 210) \
	X(SCTP_SHUTDOWN_SENT, "sctp_shutdown_sent", 3) \
	X(SCTP_SHUTDOWN_RECD, "sctp_shutdown_recd", 3) \
	X(SCTP_SHUTDOWN_ACK_SENT, "sctp_shutdown_ack_sent", 3) \
	X(SCTP_HEARTBEAT_SENT, "sctp_heartbeat_sent", 30) \
	X(GRE_UNREPLIED,   "gre_unreplied",    30) \
	X(GRE_STREAM,      "gre_stream",      180)

enum ct_timeout_class {
#define CT_X_ENUM(id, name, secs) CT_TO_##id,
	CT_TIMEOUT_TABLE(CT_X_ENUM)
#undef CT_X_ENUM
	CT_TO_MAX,
};

/** Name ("tcp_established") and Linux default (seconds) of a timeout class. */
const char *ct_timeout_name(unsigned cls);
uint32_t ct_timeout_default_s(unsigned cls);

#include "ct_tpol.h"

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

/**
 * Where a library's tables come from: the caller's allocator,
 * e.g. rte_zmalloc_socket() on the worker's NUMA socket, so lib/conntrack
 * and lib/events stay EAL-free. All-zero (`zalloc` NULL) means the C heap.
 */
struct ct_mem {
	/** Zeroed block of `size` bytes aligned to `align` (a power of two), or NULL. */
	void *(*zalloc)(void *arg, size_t size, size_t align);
	/** Give back a block from zalloc (never called with NULL). */
	void (*free)(void *arg, void *p);
	void *arg;
};

/** Allocate through `m` (NULL or zalloc NULL: aligned_alloc + memset). */
void *ct_mem_zalloc(const struct ct_mem *m, size_t size, size_t align);
/** Free what ct_mem_zalloc() gave; NULL is a no-op. */
void ct_mem_free(const struct ct_mem *m, void *p);

/** Slots in an index bucket (one 64-byte line: 10 signatures and 10 entry indices). */
#define CT_BUCKET_SLOTS 10

/** Shard configuration. ct_conf_init() fills Linux defaults. */
struct ct_conf {
	uint32_t max_entries;        /**< this shard's share: active + dying entries */
	uint32_t buckets;            /**< index buckets (CT_BUCKET_SLOTS each); 0 = derive from max_entries */
	uint32_t timeout_s[CT_TO_MAX];
	bool tcp_loose;              /**< pick up mid-stream TCP (nf_conntrack_tcp_loose=1) */
	bool tcp_be_liberal;         /**< accept out-of-window TCP (nf_conntrack_tcp_be_liberal) */
	uint8_t tcp_max_retrans;     /**< retransmissions before tcp_retrans applies (Linux: 3) */
	uint8_t invalid_policy;      /**< enum ct_invalid_policy */
	bool early_drop;             /**< evict a non-assured entry when full */
	uint8_t fill_alarm_high_pct; /**< log when count crosses this (0 = off) */
	uint8_t fill_alarm_low_pct;  /**< ... and again when it falls below this */
	bool events_enabled;         /**< produce event records at all */
	uint32_t destroy_grace_ms;   /**< re-arm window for undelivered destroys,
				      *   0..CT_GRACE_MAX_MS; doubles with each refusal of an
				      *   entry's DESTROY, up to CT_GRACE_BACKOFF_MAX times and
				      *   CT_GRACE_BACKOFF_CAP_MS */
	uint32_t ev_stage_size;      /**< staging buffer capacity (records) */
	uint64_t seed;               /**< PRNG seed for grace re-arm and hash salt */
	uint16_t shard_index;        /**< this shard's number, for ids */
	uint16_t shard_count;        /**< total shards, for ids */
	uint16_t n_notrack;
	struct ct_notrack_rule notrack[CT_MAX_NOTRACK];
	uint32_t active_timeout_s;   /**< flow export: interim record after this long (0 = off) */
	uint16_t n_limits;           /**< limit rules in `limits` (0 = none; ct_limit.h) */
	struct ct_limit_rule limits[CT_MAX_LIMITS];
	uint32_t limit_keys;         /**< counts the limits table holds (0: max_entries) */
	bool top;                    /**< keep the top sketch (ct_shard_top_publish()) */
	uint64_t top_seed;           /**< the sketch's hash key: the same in every shard */
	struct ct_tpol_conf tpol;    /**< timeout policies (ct_tpol.h); zero = none */
	bool nat;                    /**< translate (ct_shard_set_nat()): the index sized
				      *   for two keys an entry (each entry keeps its
				      *   translation in its own lines) */
	/* Memory */
	struct ct_mem mem;           /**< the shard's allocator; zero = C heap */
};

/** What ct_shard_create() takes from its allocator, by part (ct_shard_mem_size()). */
struct ct_shard_mem {
	uint64_t entries;            /**< hot and cold entry arrays: `slots` x 144 B */
	uint64_t index;              /**< `buckets` x 64 B */
	uint64_t wheel;              /**< `wheel_slots` x 4 B */
	uint64_t stage;              /**< ev_stage_size event records */
	uint64_t limits;             /**< ct_limit.h: counts, a bit a slot, the sketch */
	uint64_t shard;              /**< the shard's own struct (an upper bound) */
	uint64_t total;              /**< the sum of the above */
	uint64_t slots, buckets, wheel_slots; /**< entries (max_entries + headroom), buckets */
};
/**
 * The bytes ct_shard_create(`conf`) asks conf->mem for, computed without
 * allocating, so a caller can refuse a table that cannot fit. Sizes as
 * requested (the C heap rounds blocks of 2 MiB and more up to 2 MiB).
 * @return 0, or -EINVAL where ct_shard_create() would refuse the sizes
 *         (max_entries 0 or over 2^30, too many buckets); `out` is filled
 *         either way. Thread safety: a pure function.
 */
int ct_shard_mem_size(const struct ct_conf *conf, struct ct_shard_mem *out);

/** The longest destroy grace a shard takes (one hour). */
#define CT_GRACE_MAX_MS 3600000u
/** How often the grace window of one dying entry doubles: after the
 * CT_GRACE_BACKOFF_MAX-th refusal its DESTROY is re-sent within
 * 2^CT_GRACE_BACKOFF_MAX x destroy_grace_ms, but the doubling stops at
 * CT_GRACE_BACKOFF_CAP_MS (a longer grace is never shortened: at the default
 * 15 s the window stays 15 s; at 500 ms it goes 0.5, 1, 2, 4 s). */
#define CT_GRACE_BACKOFF_MAX 3
#define CT_GRACE_BACKOFF_CAP_MS 4000u

/** Fill `c` with defaults: Linux timeouts, 262144 entries, loose TCP on,
 * window tracking strict (be_liberal off, max_retrans 3), early drop on,
 * alarm 90/80 %, events on, grace 15000 ms, stage 1024. */
void ct_conf_init(struct ct_conf *c);

#include "ct_event.h"

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */

/** Counters, named as `conntrack -S` plus dpct's own. X(field). */
#define CT_STATS_TABLE(X) \
	X(found) X(invalid) X(ignore) X(insert) X(insert_failed) X(drop) \
	X(early_drop) X(error) X(search_restart) X(expired) X(deleted) \
	X(untracked) X(notrack) X(related) X(handoff) \
	X(events_sent) X(events_failed) X(events_retried) X(destroy_resent) \
	X(ring_full) X(listener_dropped) X(destroy_acked) \
	X(fill_alarm) X(table_full_warn) X(events_unwanted) X(nat_refused) \
	X(limit_drop) X(limit_uncounted)

struct ct_stats {
#define CT_X_FIELD(f) uint64_t f;
	CT_STATS_TABLE(CT_X_FIELD)
#undef CT_X_FIELD
	uint64_t invalid_by_reason[CT_INV_MAX];
	/** New connections refused by each limit rule (ct_conf.limits order); the
	 *  sum is limit_drop, and each is also counted in drop. */
	uint64_t limit_drop_by_rule[CT_MAX_LIMITS];
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
 * Create a shard. Its tables come from conf->mem (e.g. hugepages on the
 * worker's NUMA socket), or from the C heap when conf->mem is all zero:
 * no EAL needed either way. ct_shard_free() gives them back to the same
 * allocator.
 *
 * @param err  buffer for a message on failure (may be NULL).
 * @return the shard, or NULL with `err` filled (bad config, out of memory).
 */
struct ct_shard *ct_shard_create(const struct ct_conf *conf, char *err, size_t errlen);

/** Free a shard and everything in it. NULL is a no-op. */
void ct_shard_free(struct ct_shard *s);

/** Configuration the shard runs with (read-only). */
const struct ct_conf *ct_shard_conf(const struct ct_shard *s);

/**
 * The configuration's NOTRACK rules (ct_conf.notrack) applied ahead of
 * tracking, as Linux's raw table runs before conntrack: every CT_PKT_TRACK
 * packet of `pkts` that a rule matches becomes CT_PKT_NOTRACK (counted as
 * `notrack` when processed, and never checksum-verified by a caller that
 * verifies after this). ct_process_burst() applies the same rules itself;
 * this is for callers that must know earlier.
 *
 * An ICMP error (CT_PKT_ICMP_ERROR) is matched as the raw table sees it:
 * by its own header (ct_pkt_outer_tuple(): protocol ICMP or ICMPv6, the
 * addresses it was sent with, no ports), not by the flow it quotes, whose
 * lookup a notrack rule precedes in Linux. That needs the frame: frames[i]
 * is the start of packet i's first segment as parsed (ct_parse_mbuf: the
 * mbuf's data); with `frames` NULL, ICMP errors are left alone, and so
 * does ct_process_burst().
 *
 * @return the number of packets marked.
 * Thread safety: reads the shard's immutable configuration only.
 */
unsigned ct_shard_notrack_burst(const struct ct_shard *s, struct ct_pkt *pkts,
				const uint8_t *const *frames, unsigned n);

/**
 * The tuple of the packet's own IP header, for rules that match a packet as
 * sent: for an ICMP error (whose `tuple` is the quoted flow's) the error's
 * addresses, protocol ICMP/ICMPv6 and no ports; for any other IP packet its
 * `tuple`. `frame` is what the packet was parsed from (its first segment).
 * @return 0, or -EINVAL when `p` is not an IP packet the parser classified.
 * Thread safety: pure function.
 */
int ct_pkt_outer_tuple(const struct ct_pkt *p, const uint8_t *frame, struct ct_tuple *out);

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

/* Policy hooks ------------------------------------------------------------ */

/** Connection state of a packet, as nftables' `ct state` sees it. */
enum ct_state {
	CT_STATE_NEW = 0,       /**< first packet, or orig direction before any reply */
	CT_STATE_ESTABLISHED,   /**< reply seen, or a reply-direction packet */
	CT_STATE_RELATED,       /**< ICMP error quoting a tracked flow; with helpers (lib/pipeline),
				 *   a connection an expectation announced, until established */
	CT_STATE_INVALID,       /**< invalid, passed by the invalid policy */
	CT_STATE_UNTRACKED,     /**< non-IP, later fragment, notrack */
	CT_STATE_MAX,
};

/**
 * A policy decision stored in a live entry. lib/conntrack only stores it;
 * gen 0 means "never decided". 8 bytes here; the entry keeps 6 of them
 * (gen, verdict and a rule index of 0..0x7ffe or 0xffff), so `flags`
 * reads back 0.
 */
struct ct_decision {
	uint32_t gen;             /**< rule generation the verdict came from (0 = none) */
	uint16_t rule;            /**< rule index within that generation */
	uint8_t verdict;          /**< enum ct_verdict */
	uint8_t flags;            /**< not kept by the entry: 0 when read back */
};

/** What ct_process_burst_info() reports per packet. */
struct ct_pkt_info {
	uint32_t slot;            /**< entry index, UINT32_MAX when there is none */
	uint32_t id;              /**< the entry's id, for ct_shard_decide() */
	struct ct_decision dec;   /**< the entry's decision when the packet was tracked */
	uint8_t state;            /**< enum ct_state */
	uint8_t dir;              /**< enum ct_dir of the packet (of an ICMP error: the
				   *   direction the error travels in) */
	uint8_t nat;              /**< 1 when the packet must be rewritten to
				   *   ct_process_burst_nat()'s `to[i]` */
	uint8_t pad;
};

/**
 * ct_process_burst() that also reports, per packet, its connection state,
 * its entry (for ICMP errors the related entry) and that entry's stored
 * decision. `info` entries are valid only where verdict is CT_V_PASS
 * (and state is meaningful for CT_V_DROP too). Thread safety: owner only.
 */
uint16_t ct_process_burst_info(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n,
			       uint64_t now, uint8_t *verdict, struct ct_pkt_info *info);

#include "ct_nat_hook.h"

/**
 * Store a decision in the live entry (slot, id). If the entry already holds a
 * decision of the same generation (an earlier packet of the burst decided
 * it), that one is kept. `out` gets the decision in force.
 *
 * @return 1 stored, 0 kept the existing one, -ESTALE entry gone or dying,
 *         -EINVAL bad slot, or a rule above 0x7ffe (other than 0xffff) or a
 *         verdict other than CT_V_PASS/CT_V_DROP, which the entry cannot
 *         keep. Thread safety: owner only.
 */
int ct_shard_decide(struct ct_shard *s, uint32_t slot, uint32_t id, const struct ct_decision *d,
		    struct ct_decision *out);

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
 * The records staged since the last commit, each complete (built with
 * ct_event_rec_cook() if it was not yet).
 * @param n  out: number of records.
 */
struct ct_event_rec *ct_shard_ev_peek(struct ct_shard *s, unsigned *n);

/**
 * The records staged since the last commit as the shard wrote them: raw
 * (ct_event_rec_raw()) until ct_event_rec_cook() builds them. Of a raw
 * record only `id`, `slot`, `events`, `shard`, `flags`, `seq` and `targets`
 * may be read. For a worker that moves them to a ring whose reader cooks
 * them (ev_chan_pull_records()), so that building each record costs the
 * control core, not the worker.
 * @param n  out: number of records.
 */
struct ct_event_rec *ct_shard_ev_peek_raw(struct ct_shard *s, unsigned *n);

/**
 * Report that the first `accepted` staged records reached the event ring.
 * The others failed: their non-destroy bits are ORed into `missed` (retried
 * on the flow's next packet), their destroys are re-armed at
 * now + random() % window, the window being the grace doubled once for each
 * earlier refusal of that entry (at most CT_GRACE_BACKOFF_MAX times, and not
 * beyond CT_GRACE_BACKOFF_CAP_MS unless the grace itself is longer); a
 * CT_RES_DESTROY_NACK re-arms the same way. The staging buffer is emptied. `ring_full` counts
 * the failures.
 */
void ct_shard_ev_commit(struct ct_shard *s, unsigned accepted, uint64_t now);

/** Room left in the staging buffer (or the lent area). Producers stop (or
 * fall back to `missed`) when it is 0. */
unsigned ct_shard_ev_room(const struct ct_shard *s);

/**
 * Lend the shard a staging area: records are staged into `a` (`na`
 * records), then `b` (`nb`, may be 0), in that order, instead of its own
 * buffer, until ct_shard_ev_reclaim(); when both are full, staging fails
 * as with a full buffer (missed bits, re-armed destroys). For an owner
 * that reserved event-ring slots (ev_worker_sync()): each record is then
 * written once, in the ring. While lent, ct_shard_ev_peek() and
 * ct_shard_ev_peek_raw() return no record and ct_shard_ev_commit() does
 * nothing. The area must stay valid until reclaimed.
 * @return 0; -EBUSY if records are staged or an area is lent already;
 *         -EINVAL for no first area, or a `b` of NULL with `nb` > 0.
 */
int ct_shard_ev_lend(struct ct_shard *s, struct ct_event_rec *a, unsigned na,
		     struct ct_event_rec *b, unsigned nb);

/**
 * End a loan (ct_shard_ev_lend()): staging goes back to the shard's own
 * buffer. Every record staged in the area counts as taken, as
 * ct_shard_ev_commit() of all of them would.
 * @return the number of records staged in the area, the first `na` in
 *         `a`, the rest in `b`; 0 when nothing is lent.
 */
unsigned ct_shard_ev_reclaim(struct ct_shard *s);

/**
 * Apply a delivery result from the control core. Results whose id no
 * longer matches the slot's entry are stale and ignored. CT_RES_EXP_* kinds
 * go to the helper hook (ct_helper.h), -EINVAL without one.
 * @return 0 applied; -ESTALE stale; -EINVAL bad slot or kind.
 */
int ct_shard_apply_result(struct ct_shard *s, const struct ct_result *r, uint64_t now);

/**
 * Apply `n` results in order, as ct_shard_apply_result() each, with the
 * entries they free and, with limits, the counts they release prefetched
 * a few results ahead.
 *
 * @return the results applied (not stale, not bad).
 */
unsigned ct_shard_apply_results(struct ct_shard *s, const struct ct_result *r, unsigned n,
				uint64_t now);

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

/*
 * Which records the shard builds (bits of `kinds`): CT_EVK_NEW for records
 * carrying NEW or RELATED, CT_EVK_UPDATE for the other state changes
 * (reply seen, assured, TCP state, mark), CT_EVK_DESTROY for DESTROYs. The
 * owner of the shard sets them from what its listeners subscribe to, as
 * ctnetlink builds no message for a group nobody listens to:
 * - the bits of a state change of a kind nobody wants are dropped where the
 *   record would have been built, not remembered as missed;
 * - an entry that ends while nobody wants DESTROY is freed at once, as
 *   with events disabled (a dying entry whose DESTROY is re-sent then too);
 * each counted in `events_unwanted`. Flow-export interim records are
 * always built while events are enabled. Default: every kind.
 * For the owner of the shard only; takes effect from the next record.
 */
#define CT_EVK_NEW     0x1u
#define CT_EVK_UPDATE  0x2u
#define CT_EVK_DESTROY 0x4u
#define CT_EVK_ALL     (CT_EVK_NEW | CT_EVK_UPDATE | CT_EVK_DESTROY)
void ct_shard_set_event_kinds(struct ct_shard *s, unsigned kinds);

/**
 * Kinds as listeners name them (`dpct-events --events`): a comma list of
 * "new", "update" and "destroy", at least one, nothing else.
 * @return 0 and *kinds (CT_EVK_*), or -EINVAL.
 * Thread safety: pure function.
 */
int ct_event_kinds_parse(const char *s, unsigned *kinds);

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
