/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_PRIVATE_H
#define DPCT_CT_PRIVATE_H

/*
 * Internals of lib/conntrack shared between the shard (ct_shard_priv.h
 * and its files) and the L4 trackers (ct_tcp.c, ct_udp.c, ct_icmp.c,
 * ct_sctp.c, ct_gre.c, ct_other.c). Not installed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ct.h"

/*
 * `c ? a : b` for a `c` no predictor can guess (it follows the packet's
 * direction, or which bucket holds a flow), without a jump: GCC 12 turns a
 * plain `?:` into one in the packet loop, even with
 * __builtin_expect_with_probability(c, 1, 0.5). A cmov on x86-64, else a
 * mask.
 */
static inline uint32_t
ct_select(bool c, uint32_t a, uint32_t b)
{
#if defined(__x86_64__)
	__asm__("testb %1, %1\n\tcmovnel %2, %0" : "+r"(b) : "q"(c), "rm"(a) : "cc");
	return b;
#else
	return b ^ ((a ^ b) & -(uint32_t)c);
#endif
}

/*
 * ct_select() where `jumpless` (a constant at each call site) asks for it,
 * else a plain `?:`: the established fast path takes the selects, the full
 * tracker, whose branches on the flags and the state predict no better,
 * keeps its fewer instructions.
 */
static inline uint32_t
ct_select_if(bool jumpless, bool c, uint32_t a, uint32_t b)
{
	return jumpless ? ct_select(c, a, b) : (c ? a : b);
}

#define CT_NIL UINT32_MAX

/*
 * Time inside a shard is kept in ticks of 2^20 ns (~1.05 ms) relative to the
 * shard's epoch, in 32 bits (wraps after ~52 days; every comparison is
 * wrap-safe through ct_tick_before()). Timeouts are limited to 2^30 ticks.
 */
#define CT_TICK_SHIFT 20
#define CT_TICK_NS (UINT64_C(1) << CT_TICK_SHIFT)

static inline int
ct_tick_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Compact event bits kept in an entry (8 bits); ct_ev_to_linux() widens. */
#define CT_EVI_NEW       0x01
#define CT_EVI_RELATED   0x02
#define CT_EVI_DESTROY   0x04
#define CT_EVI_REPLY     0x08
#define CT_EVI_ASSURED   0x10
#define CT_EVI_PROTOINFO 0x20
#define CT_EVI_MARK      0x40
#define CT_EVI_LABEL     0x80

static inline uint16_t
ct_ev_to_linux(uint8_t b)
{
	return (uint16_t)((b & 0x3f) | ((b & CT_EVI_MARK) ? CT_EV_MARK : 0) |
			  ((b & CT_EVI_LABEL) ? CT_EV_LABEL : 0));
}

static inline uint8_t
ct_ev_from_linux(uint16_t b)
{
	return (uint8_t)((b & 0x3f) | ((b & CT_EV_MARK) ? CT_EVI_MARK : 0) |
			 ((b & CT_EV_LABEL) ? CT_EVI_LABEL : 0));
}

/* Where a direction's packet count starts in its ct_entry.pkts_w word. */
#define CT_PKTS_SHIFT 16

/* Entry flags (ct_entry.eflags), owned by the shard. */
#define CT_EF_USED      0x01  /* slot holds an entry (live or dying) */
#define CT_EF_IN_WHEEL  0x02  /* linked in the timer wheel */
#define CT_EF_AWAIT     0x04  /* dying, destroy record out, waiting for a result */
#define CT_EF_RESENT    0x08  /* destroy has been re-armed at least once */
/* A DESTROY reaches each listener exactly once: a dying entry whose
 * DESTROY was refused by some listeners keeps the mask of their slots
 * (ct_result targets) until it is resent. A dying entry is out of the
 * index and no packet reaches it, so it has no use for tw_last_end (TCP
 * state no record reads): with this flag it holds the 32-bit mask
 * (ct_dying_targets_set() in ct_stage.h); what the DESTROY carries
 * (tcp_flags' close-init bits among it) is left as it was. */
#define CT_EF_TARGETS   0x80

/* TCP tracker flags (ct_entry.tcp_flags), owned by ct_tcp.c. */
#define CT_TF_CLOSE_INIT_ORIG  0x01  /* orig side sent the first FIN */
#define CT_TF_CLOSE_INIT_REPLY 0x02  /* reply side sent the first FIN */
#define CT_TF_LAST_DIR_REPLY   0x04  /* direction of the last packet (Linux last_dir) */
/* Bits 3..5: the class of the last packet (enum ct_tcp_pkt_class, Linux last_index). */
#define CT_TF_LAST_SHIFT       3
#define CT_TF_LAST_MASK        0x38

/*
 * Flow export (lib/events/ev_ipfix.h): the facts a flow record
 * needs that the entry does not otherwise keep, valid while the entry is
 * dying too: `l4` and `port` in the cold group, the ICMP code in the
 * (unused) TCP window block of ICMP entries; the end reason sits in eflags
 * bits 4..6 (CT_EF_END_*). The active-timeout deadlines are not stored:
 * they are start + k * active timeout (k >= 1), see act_next() in ct_wheel.c.
 */
#define CT_EF_END_SHIFT 4
#define CT_EF_END_MASK  0x70  /* enum ct_end_reason (flow export) */

/*
 * One tracked connection: 128 bytes on two cache lines (the pool is 64-byte
 * aligned), plus 32 cold bytes in a parallel array (struct ct_entry_cold,
 * same index). With the index (8-slot buckets of 64 bytes at <= 80 % load,
 * ~10 bytes an entry), the early-drop headroom (1/64) and the timer wheel
 * (4 bytes a slot, max_entries / 2 slots between 4096 and 65536),
 * ct_shard_bytes_per_entry() reports 175 at 64K entries, 174 at 256K and
 * 173 at 1M (tests/unit/shard test_high_load_cuckoo and
 * test_bytes_per_entry_budget print and check them): the budget is <= 168
 * bytes an entry with TCP window state, and this layout is over it. Linux's
 * TCP state that its decisions read is all here, 32 bytes in the entry and
 * 16 in the cold part; without the timer wheel's 8 bytes of links in the
 * cold part (tnext, tprev) an entry would be 167 bytes at 64K.
 *
 * Layout: a packet of an existing flow touches the two lines of its
 * entry, and a TCP packet also the 16 bytes of its cold TCP state (highest
 * acks, and the last segment's ack, window and length: struct ct_tw_cold).
 * The first line is what every
 * packet reads (the lookup compares the key; the tracker reads and writes
 * the state, the timer refresh the expiry, the policy check the decision,
 * flow export the TCP flags); the second holds the accounting (written per
 * packet, read by events only) and the TCP window state (read and written
 * by every TCP packet). The rest of the cold part (start time, timer wheel
 * links) is touched at create, destroy, by the wheel and for records. Live-only and
 * dying-only fields share room: a dying entry keeps its stop time over
 * tw_end[] (which no dying entry reads: its DESTROY carries only tw_seen's
 * wscale and flags), an ICMP entry its code, a UDP entry a copy of its
 * start time (the 2-second stream rule) and an SCTP entry its verification
 * tags in the window block they never use.
 * Keep the static_asserts true.
 *
 * Everything is owned by the shard's worker. Counters and start/stop times
 * are reported in event records; `stop_ns` is set once, at destroy.
 */
/*
 * A translated entry's reply tuple, kept as what it changes in the reverse
 * of the entry's key (8 bytes, where a whole tuple takes 40): the pool
 * address and port for source NAT (the reply's destination), the inside
 * address and port for destination NAT (its source). IPv4 only, as lib/nat:
 * the entry keeps it in its key's spare bytes (struct ct_entry: natx).
 */
#define CT_NATX_SRC 1
#define CT_NATX_DST 2
struct ct_nat_x {
	uint8_t addr[4];
	uint16_t port;
	uint8_t kind;            /* CT_NATX_SRC or CT_NATX_DST */
	uint8_t pad;
};
_Static_assert(sizeof(struct ct_nat_x) == 8 && _Alignof(struct ct_nat_x) <= 8,
	       "a translation is 8 bytes");
struct ct_entry {
	/* --- Line 1: read by every packet of the flow --- */
	/*
	 * Immutable for the entry's life: the original-direction tuple, and
	 * in the 12 bytes of each address an IPv4 key never uses (the first
	 * 4 are the address, the rest 0 in every tuple the parser makes) a
	 * translated entry's translation, its checksum changes and its two
	 * index nodes' hashes.
	 * Whoever reads the key of an IPv4 entry as a tuple takes it with
	 * ct_entry_key(); lookups compare an IPv4 key's first 4 address bytes
	 * only (ct_index.h). The translation is read only while the status
	 * has CT_S_NAT_MASK bits.
	 */
	union {
		struct ct_tuple key;
		struct {
			uint8_t nat_rh_before_[4]; /* key.src[0..4) */
			/* CT_S_NAT_MASK entries: the hash its reply tuple's
			 * node was inserted under (key.src[4..8)) */
			uint32_t nat_rh;
			/* CT_S_NAT_MASK entries: each direction's checksum changes
			 * (IPv4 header, then TCP/UDP; ct_nat_csum_deltas()), by
			 * enum ct_dir, in key.src[8..16) */
			uint16_t natd[4];
			uint8_t nat_kh_before_[4]; /* key.dst[0..4) */
			/* CT_S_NAT_MASK entries: the hash its key's node was
			 * inserted under, without the translation (key.dst[4..8)) */
			uint32_t nat_kh;
			struct ct_nat_x natx;     /* CT_S_NAT_MASK entries (IPv4), key.dst[8..16) */
		};
	};
	uint32_t id;             /* CTA_ID; 0 never used */
	uint32_t expiry;         /* expiry tick */
	/*
	 * Policy: the connection's verdict and the rule generation
	 * it came from (struct ct_decision packed: ct_dec_get()/ct_dec_set()),
	 * meaningful while the entry is live.
	 */
	uint32_t dec_gen;
	uint16_t dec_rv;         /* CT_DEC_* : verdict bit | rule (0x7fff = 0xffff) */
	/* State */
	uint16_t status;         /* CT_S_* */
	uint8_t pending;         /* CT_EVI_* set by the current packet/operation */
	uint8_t missed;          /* CT_EVI_* not yet delivered */
	uint8_t tcp_state;       /* enum ct_tcp_state */
	uint8_t tcp_flags;       /* CT_TF_* */
	uint8_t eflags;          /* CT_EF_* */
	uint8_t to_class;        /* timeout slot: the class applied and its policy (ct_tpol_rt.h) */
	/* Flow export, live and dying */
	uint8_t x_l4;            /* TCP: OR of the flags seen; ICMP: type of the first packet */
	uint8_t x_port;          /* ingress port of the first packet */
	/*
	 * --- Line 2: accounting, written by every packet, read by events only.
	 * A direction's packets are bits 16..63 of pkts_w[] (ct_entry_pkts(),
	 * counted modulo 2^48: 219 days of one flow at 14.88 Mpps); the low 16
	 * bits are the TCP window tracker's (ct_tcp_window.h: Linux last_win in
	 * the original direction's word, the last segment's sequence length in
	 * the reply's). Bytes are counted in full.
	 */
	uint64_t pkts_w[2];
	uint64_t bytes[2];
	/*
	 * --- TCP window tracking, owned by ct_tcp_window.c: Linux's
	 * struct ip_ct_tcp_state per direction (td_end, td_maxend, td_maxwin;
	 * td_scale and flags packed in tw_seen, MAXACK_SET in tw_retrans,
	 * td_maxack in the cold part), the last packet's end (its seq, ack and
	 * window in the cold part), an ignored SYN's options and the
	 * retransmission count.
	 * Live TCP entries only, except tw_seen (read for a DESTROY's
	 * protoinfo); see the unions for what the other entries keep here.
	 */
	union {
		uint32_t tw_end[2];  /* live TCP entries */
		uint64_t stop_ns;    /* dying entries: the destroy time */
	};
	union {
		uint32_t tw_maxend[2];   /* TCP entries */
		uint64_t udp_start_ns;   /* UDP entries: start_ns, for the stream rule */
	};
	union {
		uint32_t tw_maxwin[2];   /* TCP entries */
		uint32_t sctp_vtag[2];   /* SCTP entries: verification tag per direction */
	};
	uint32_t tw_last_end;    /* Linux last_end; dying entries: the resend mask (CT_EF_TARGETS) */
	uint8_t tw_seen[2];      /* td_scale (low nibble) | CT_TW_S_* */
	union {
		uint8_t tw_last_opt; /* TCP entries: an ignored SYN's options (CT_TW_L_*) */
		uint8_t x_code;      /* ICMP entries (flow export): code of the first packet */
	};
	union {
		uint8_t tw_retrans;  /* live TCP entries: count (low nibble) | CT_TW_R_* */
		uint8_t dy_refused;  /* dying entries: times their DESTROY was refused
				      * (saturating; widens the grace window, ct_stage.c) */
	};
};
_Static_assert(sizeof(struct ct_entry) == 128, "ct_entry must stay two cache lines");
_Static_assert(offsetof(struct ct_entry, key) == 0, "key first: lookups touch one line");
_Static_assert(offsetof(struct ct_entry, nat_rh) == offsetof(struct ct_tuple, src) + 4 &&
		       offsetof(struct ct_entry, nat_kh) == offsetof(struct ct_tuple, dst) + 4,
	       "a translated entry's node hashes are its key's address bytes 4..7");
_Static_assert(offsetof(struct ct_entry, natd) == offsetof(struct ct_tuple, src) + 8 &&
		       offsetof(struct ct_entry, natd) + sizeof(((struct ct_entry *)0)->natd) ==
			       offsetof(struct ct_tuple, dst),
	       "a translation's checksum changes are the key's source address bytes 8..15");
_Static_assert(offsetof(struct ct_entry, natx) == offsetof(struct ct_tuple, dst) + 8 &&
		       offsetof(struct ct_entry, natx) + sizeof(struct ct_nat_x) ==
			       offsetof(struct ct_tuple, sport),
	       "a translation is the key's destination address bytes 8..15");

/*
 * The key of entry `e` as a tuple: an IPv4 key without what its spare
 * address bytes hold (a translation and its checksum changes).
 */
static inline void
ct_entry_key(const struct ct_entry *e, struct ct_tuple *out)
{
	*out = e->key;
	if (out->family == 4) {
		memset(out->src + 4, 0, sizeof(out->src) - 4);
		memset(out->dst + 4, 0, sizeof(out->dst) - 4);
	}
}

/*
 * The key of entry `e` for a reader of its addresses: the key itself, or a
 * translated entry's copy in `buf` without the translation (an entry's
 * translation bytes are 0 while its status has no CT_S_NAT_MASK bit).
 */
static inline const struct ct_tuple *
ct_entry_key_ref(const struct ct_entry *e, struct ct_tuple *buf)
{
	if (__builtin_expect(!(e->status & CT_S_NAT_MASK), 1))
		return &e->key;
	ct_entry_key(e, buf);
	return buf;
}
_Static_assert(offsetof(struct ct_entry, pkts_w) == 64,
	       "hot fields (key, id, expiry, decision, state) fill the first 64 bytes");
_Static_assert(offsetof(struct ct_entry, tw_end) - offsetof(struct ct_entry, pkts_w) == 32,
	       "accounting block: packets and bytes per direction");
_Static_assert(offsetof(struct ct_entry, stop_ns) + sizeof(uint64_t) <=
		       offsetof(struct ct_entry, udp_start_ns) &&
	       offsetof(struct ct_entry, udp_start_ns) + sizeof(uint64_t) <=
		       offsetof(struct ct_entry, tw_seen) &&
	       offsetof(struct ct_entry, stop_ns) + sizeof(uint64_t) <=
		       offsetof(struct ct_entry, x_code),
	       "a dying entry's stop time spares the UDP start, tw_seen and the ICMP code");

_Static_assert(offsetof(struct ct_entry, stop_ns) + sizeof(uint64_t) <=
		       offsetof(struct ct_entry, sctp_vtag),
	       "a dying SCTP entry keeps its verification tags");

/* Packets counted in direction `d` (modulo 2^48). */
static inline uint64_t
ct_entry_pkts(const struct ct_entry *e, unsigned d)
{
	return e->pkts_w[d] >> CT_PKTS_SHIFT;
}

/* Set the count of direction `d`, keeping the word's low 16 bits. */
static inline void
ct_entry_pkts_set(struct ct_entry *e, unsigned d, uint64_t n)
{
	e->pkts_w[d] = n << CT_PKTS_SHIFT | (e->pkts_w[d] & ((UINT64_C(1) << CT_PKTS_SHIFT) - 1));
}

/*
 * The TCP window state that does not fit the entry's two lines, owned by
 * ct_tcp_window.c: Linux's td_maxack per direction (the highest ack that
 * side sent; meaningful once its CT_TW_R_MAXACK bit in tw_retrans is set)
 * and the rest of the last packet that the retransmission rule compares
 * (Linux last_ack, last_win, and last_seq as its distance below
 * tw_last_end: a segment's sequence length, SYN and FIN included, is at
 * most 65,517). Read and written by every TCP packet with ACK, the
 * established fast path included (the shard prefetches it with the entry;
 * 16 bytes at a 16-byte offset of a 32-byte cold part: one cache line).
 */
struct ct_tw_cold {
	uint32_t maxack[2];
	uint32_t last_ack;       /* Linux last_ack */
};
_Static_assert(sizeof(struct ct_tw_cold) == 12, "cold TCP state: 12 bytes");

/* A 64-bit field at a 4-byte boundary: the cold part packs to 28 bytes. */
typedef uint64_t ct_u64_a4 __attribute__((aligned(4)));

/* The cold part of an entry: the shard's parallel array, same index as the pool. */
struct ct_entry_cold {
	ct_u64_a4 start_ns;      /* creation time */
	uint32_t tnext;          /* timer wheel links (pool indices, CT_NIL); tnext also */
	uint32_t tprev;          /* links the free list */
	struct ct_tw_cold tw;    /* TCP entries */
};
_Static_assert(sizeof(struct ct_entry_cold) == 28 && _Alignof(struct ct_entry_cold) == 4,
	       "cold part: 28 bytes (its TCP state crosses a cache line in one entry of 8)");

/*
 * The policy decision as the entry keeps it: gen in full, verdict (one
 * bit) and rule (15 bits, 0..0x7ffe, and 0xffff stored as 0x7fff) in
 * dec_rv; ct_decision.flags is not kept (reads back 0).
 */
#define CT_DEC_VERDICT  0x8000u
#define CT_DEC_RULE     0x7fffu
#define CT_DEC_RULE_MAX 0x7ffeu

static inline void
ct_dec_get(const struct ct_entry *e, struct ct_decision *d)
{
	unsigned r = e->dec_rv & CT_DEC_RULE;

	d->gen = e->dec_gen;
	d->rule = (uint16_t)(r == CT_DEC_RULE ? 0xffffu : r);
	d->verdict = (e->dec_rv & CT_DEC_VERDICT) ? CT_V_DROP : CT_V_PASS;
	d->flags = 0;
}

/* Whether ct_dec_set() keeps `d` exactly (but for flags). */
static inline int
ct_dec_fits(const struct ct_decision *d)
{
	return (d->rule <= CT_DEC_RULE_MAX || d->rule == 0xffffu) &&
	       (d->verdict == CT_V_PASS || d->verdict == CT_V_DROP);
}

static inline void
ct_dec_set(struct ct_entry *e, const struct ct_decision *d)
{
	e->dec_gen = d->gen;
	e->dec_rv = (uint16_t)((d->rule == 0xffffu ? CT_DEC_RULE : (d->rule & CT_DEC_RULE)) |
			       (d->verdict == CT_V_DROP ? CT_DEC_VERDICT : 0));
}

/* Flow export accessors (x_l4, x_code, x_port; the end reason in eflags). */
static inline uint8_t
ct_x_l4(const struct ct_entry *e)
{
	return e->x_l4;
}

static inline uint8_t
ct_x_code(const struct ct_entry *e)
{
	return (e->key.proto == 1 || e->key.proto == 58) ? e->x_code : 0;
}

static inline uint8_t
ct_x_port(const struct ct_entry *e)
{
	return e->x_port;
}

static inline uint8_t
ct_x_end(const struct ct_entry *e)
{
	return (uint8_t)((e->eflags & CT_EF_END_MASK) >> CT_EF_END_SHIFT);
}

/* What a tracker tells the shard to do with a packet of an existing entry. */
enum ct_l4_verdict {
	CT_L4_ACCEPT = 0,   /* state updated; refresh timeout with *to_class */
	CT_L4_INVALID,      /* out of state: count invalid (CT_INV_STATE), policy, no refresh */
	CT_L4_IGNORE,       /* pass, count `ignore`, no state change, no refresh */
	CT_L4_REOPEN,       /* kill this entry (destroy) and treat the packet as a new connection */
	CT_L4_KILL,         /* accept the packet, then destroy the entry (a RST before any reply) */
	CT_L4_INVALID_WINDOW, /* as INVALID, counted as CT_INV_TCP_WINDOW */
	/*
	 * As INVALID_WINDOW, and a remaining timeout of 120 s or more that is
	 * longer than timeouts.tcp_unack drops to it (Linux nf_tcp_handle_invalid():
	 * an out-of-window FIN or RST answering one from the other side).
	 */
	CT_L4_INVALID_SHORTEN,
};

/*
 * An L4 tracker. One per protocol file, exported as the only symbol of
 * that file; ct_l4_get() picks by protocol number with ct_l4_other as the
 * default.
 */
struct ct_l4_proto {
	const char *name;
	/*
	 * First packet of a would-be entry (direction ORIG). Initialise the
	 * tracker's part of `e` (tcp_state, tcp_flags) and pick the timeout
	 * class. Return 0 to create, or a ct_invalid_reason (e.g. CT_INV_STATE:
	 * a TCP SYN/ACK or, without loose pickup, a bare ACK; an ICMP echo reply).
	 */
	int (*new_conn)(const struct ct_conf *conf, struct ct_entry *e, const struct ct_pkt *p,
			uint8_t *to_class);
	/*
	 * A packet of an existing entry. `dir` is the packet's direction. May
	 * update tcp_state/tcp_flags/status (ASSURED) and OR CT_EVI_* bits into
	 * e->pending (PROTOINFO on state change, ASSURED when set). SEEN_REPLY
	 * and REPLY are set by the shard after an accepted reply packet.
	 * `now_ns` and e->start_ns allow UDP's 2 s stream rule.
	 */
	enum ct_l4_verdict (*packet)(const struct ct_conf *conf, struct ct_entry *e,
				     const struct ct_pkt *p, enum ct_dir dir, uint64_t now_ns,
				     uint8_t *to_class);
};

/*
 * TCP's hooks in ct_l4_tcp are NULL: its tracker also keeps state in the
 * entry's cold part (struct ct_tw_cold), so it is called by these, with the
 * same contracts as new_conn() and packet() and `x` the entry's cold TCP
 * state (ct_tcp.c). A new entry's `x` need not be initialised.
 */
int ct_tcp_new(const struct ct_conf *conf, struct ct_entry *e, struct ct_tw_cold *x,
	       const struct ct_pkt *p, uint8_t *to_class);
enum ct_l4_verdict ct_tcp_packet(const struct ct_conf *conf, struct ct_entry *e,
				 struct ct_tw_cold *x, const struct ct_pkt *p, enum ct_dir dir,
				 uint64_t now_ns, uint8_t *to_class);

extern const struct ct_l4_proto ct_l4_tcp;
extern const struct ct_l4_proto ct_l4_udp;
extern const struct ct_l4_proto ct_l4_icmp;   /* ICMP and ICMPv6 */
extern const struct ct_l4_proto ct_l4_sctp;
extern const struct ct_l4_proto ct_l4_gre;
extern const struct ct_l4_proto ct_l4_other;  /* DCCP too: Linux 6.16 removed its tracker */

static inline const struct ct_l4_proto *
ct_l4_get(uint8_t proto)
{
	switch (proto) {
	case 6:
		return &ct_l4_tcp;
	case 17:
	case 136: /* UDP-Lite is tracked as UDP, as Linux does */
		return &ct_l4_udp;
	case 1:
	case 58:
		return &ct_l4_icmp;
	case 132:
		return &ct_l4_sctp;
	case 47:
		return &ct_l4_gre;
	default:
		return &ct_l4_other;
	}
}

/*
 * SCTP: what the parser's chunk walk leaves in a struct ct_pkt (see ct.h).
 * The state-changing chunks in the order they came, up to CT_SCTP_SEQ_MAX,
 * are 5-bit slots of tcp_sack from the low bits: the chunk's row in
 * ct_sctp_table (enum ct_sctp_chunk) + 1 (0 ends the list) and its T bit.
 */
enum ct_sctp_chunk {
	CT_SCTP_C_INIT = 0,
	CT_SCTP_C_INIT_ACK,
	CT_SCTP_C_ABORT,
	CT_SCTP_C_SHUTDOWN,
	CT_SCTP_C_SHUTDOWN_ACK,
	CT_SCTP_C_ERROR,
	CT_SCTP_C_COOKIE_ECHO,
	CT_SCTP_C_COOKIE_ACK,
	CT_SCTP_C_SHUTDOWN_COMPLETE,
	CT_SCTP_C_HEARTBEAT,
	CT_SCTP_C_HEARTBEAT_ACK,
	CT_SCTP_C_MAX,
};
#define CT_SCTP_SEQ_MAX   6
#define CT_SCTP_SEQ_BITS  5
#define CT_SCTP_SEQ_ROW   0x0f   /* row + 1 */
#define CT_SCTP_SEQ_T     0x10   /* the chunk's T flag (ABORT, SHUTDOWN_COMPLETE) */
/* tcp_flags: which chunk types occur (Linux's chunk map, the types it tests). */
#define CT_SCTP_M_INIT        0x01
#define CT_SCTP_M_SHUT_COMP   0x02
#define CT_SCTP_M_COOKIE_ECHO 0x04
#define CT_SCTP_M_ABORT       0x08
#define CT_SCTP_M_SHUT_ACK    0x10
#define CT_SCTP_M_HEARTBEAT   0x20
#define CT_SCTP_M_HB_ACK      0x40
#define CT_SCTP_M_COOKIE_ACK  0x80
/* tcp_opts */
#define CT_SCTP_O_DATA  0x01  /* a DATA chunk */
#define CT_SCTP_O_OTHER 0x02  /* a chunk that changes no state (DATA, SACK, ...) */
#define CT_SCTP_O_BAD   0x04  /* Linux's basic checks fail, or an INIT(-ACK) is cut short */
#define CT_SCTP_O_MANY  0x08  /* more than CT_SCTP_SEQ_MAX state-changing chunks */

/*
 * The SCTP state table, exported for the table-driven unit test:
 * ct_sctp_table[dir][chunk row][old state] -> new state, CT_SCTP_IV invalid.
 */
#define CT_SCTP_IV 0xfe
extern const uint8_t ct_sctp_table[2][CT_SCTP_C_MAX][CT_SCTP_MAX];
/* Timeout class for an SCTP state. */
uint8_t ct_sctp_timeout_class(uint8_t state);

/*
 * The TCP state table, exported for the table-driven unit test:
 * ct_tcp_table[dir][packet class][old state] -> new state, with
 * CT_TCP_IV (invalid) and CT_TCP_IG (ignore) as in Linux.
 */
enum ct_tcp_pkt_class {
	CT_TCP_PC_SYN = 0,
	CT_TCP_PC_SYNACK,
	CT_TCP_PC_FIN,
	CT_TCP_PC_ACK,
	CT_TCP_PC_RST,
	CT_TCP_PC_NONE,
	CT_TCP_PC_MAX,
};
#define CT_TCP_IV 0xfe
#define CT_TCP_IG 0xff
extern const uint8_t ct_tcp_table[2][CT_TCP_PC_MAX][CT_TCP_MAX];
/* Packet class of a TCP flags byte (Linux get_conntrack_index()). */
unsigned ct_tcp_pkt_class(uint8_t tcp_flags);
/* TCP header flag bits (ct_pkt.tcp_flags). */
#define CT_TCP_TH_FIN 0x01
#define CT_TCP_TH_SYN 0x02
#define CT_TCP_TH_RST 0x04
#define CT_TCP_TH_PSH 0x08
#define CT_TCP_TH_ACK 0x10
#define CT_TCP_TH_URG 0x20
#define CT_TCP_TH_ECE 0x40
#define CT_TCP_TH_CWR 0x80

/* Whether a flag combination is invalid (Linux tcp_valid_flags[]); inline: every packet asks. */
static inline int
ct_tcp_flags_invalid(uint8_t tcp_flags)
{
	/* PSH, ECE and CWR never matter; the rest must be one of Linux's valid sets. */
	switch (tcp_flags & (uint8_t)~(CT_TCP_TH_PSH | CT_TCP_TH_ECE | CT_TCP_TH_CWR)) {
	case CT_TCP_TH_SYN:
	case CT_TCP_TH_SYN | CT_TCP_TH_URG:
	case CT_TCP_TH_SYN | CT_TCP_TH_ACK:
	case CT_TCP_TH_RST:
	case CT_TCP_TH_RST | CT_TCP_TH_ACK:
	case CT_TCP_TH_FIN | CT_TCP_TH_ACK:
	case CT_TCP_TH_FIN | CT_TCP_TH_ACK | CT_TCP_TH_URG:
	case CT_TCP_TH_ACK:
	case CT_TCP_TH_ACK | CT_TCP_TH_URG:
		return 0;
	default:
		return 1;
	}
}
/*
 * ct_csum.c's sum of `nblk` 32-byte blocks at p (any alignment), as a plain
 * 64-bit sum of their 32-bit little-endian words: congruent modulo 2^16 - 1
 * to the ones' complement sum of the 16-bit words. The AVX2 one only where
 * __builtin_cpu_supports("avx2"). Here for the tests of both.
 */
uint64_t ct_sum_blocks_sse2(const uint8_t *p, size_t nblk);
uint64_t ct_sum_blocks_avx2(const uint8_t *p, size_t nblk);

/* Timeout class for a TCP state. */
uint8_t ct_tcp_timeout_class(uint8_t state);

/*
 * The index's two candidate buckets of a flow hash (ct_pkt.hash) among `nb`:
 * the first from the hash's high bits, the second from a remix. Here so that
 * tests can aim at buckets under a known key.
 */
static inline void
ct_index_buckets(uint32_t nb, uint32_t h, uint32_t *b1, uint32_t *b2)
{
	uint32_t m = h;

	m ^= m >> 16;
	m *= 0x7feb352du;
	m ^= m >> 15;
	m *= 0x846ca68bu;
	m ^= m >> 16;
	*b1 = (uint32_t)(((uint64_t)h * nb) >> 32);
	*b2 = (uint32_t)(((uint64_t)m * nb) >> 32);
}

/* Big-endian value of 8 address bytes: byte-wise comparison, in registers. */
static inline uint64_t
ct_ld_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

/*
 * The direction-independent ordering used by ct_tuple_hash(): true when
 * the tuple's source sorts after its destination (addresses, then ports),
 * i.e. when the hash reads it reversed.
 */
static inline int
ct_tuple_swapped(const struct ct_tuple *t)
{
	uint64_t s = ct_ld_be64(t->src), d = ct_ld_be64(t->dst);

	if (s != d)
		return s > d;
	s = ct_ld_be64(t->src + 8);
	d = ct_ld_be64(t->dst + 8);
	if (s != d)
		return s > d;
	return t->sport > t->dport;
}

/*
 * ct_parse() without its fast path for plain IPv4 TCP/UDP frames (for
 * tests: both must give the same struct ct_pkt for every input).
 */
int ct_parse_full(const uint8_t *data, uint32_t len, uint16_t zone, struct ct_pkt *out);

/*
 * The last 8 bytes of a ct_tuple (sport, dport, proto, family, zone) read
 * as one word, with the two ports exchanged: the reverse tuple's.
 */
static inline uint64_t
ct_tuple_tail_swapped(uint64_t tail)
{
	uint32_t ports = (uint32_t)tail;

	return (tail & ~UINT64_C(0xffffffff)) | (uint32_t)(ports >> 16 | ports << 16);
}

/* ct_tuple_swapped(), out of line (for tests). */
int ct_tuple_canonical_swapped(const struct ct_tuple *t);

#endif /* DPCT_CT_PRIVATE_H */
