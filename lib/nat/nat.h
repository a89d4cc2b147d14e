/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_NAT_H
#define DPCT_NAT_H

/**
 * @file
 * lib/nat: IPv4 source and destination translation for the worker cores.
 *
 * Three parts, none of which needs a running EAL:
 *  - the rule table (struct nat_table): pools and ordered rules, checked
 *    as a whole when built (nat_table_build()) and immutable afterwards;
 *  - the per-worker binding state (pool slices): each worker owns a
 *    disjoint slice of every pool's port range on every pool address, so
 *    choosing a port takes no lock and no atomic. The state of a pool
 *    lives in a struct nat_pool_state that a new table built from an
 *    unchanged pool takes over from the old one (nat_table_adopt()), so a
 *    reload keeps every live mapping;
 *  - packet rewriting (nat_rewrite()): addresses, TCP/UDP ports and ICMP
 *    echo identifiers with incremental checksum updates (RFC 1624), and
 *    ICMP errors whose quoted header belongs to a translated flow.
 *
 * Model (one translation per flow): the rules are tried in order on the
 * first packet of a connection (its original tuple, its input port and
 * zone); the first that matches decides: `snat` binds the source to a pool
 * address and port, `dnat` the destination to a fixed inside address and
 * port, `exclude` leaves the flow untranslated. A flow no rule matches is
 * not translated. The binding is the entry's reply tuple, as Linux's
 * nf_nat: replies are found by it and translated back.
 *
 * Ports: per connection (NAPT) or per subscriber block (port-block mode,
 * RFC 7422: an inside address gets `block_size` ports of one pool address
 * on its first connection, and gives them back when its last connection
 * using them has ended and its DESTROY has been delivered). A public
 * (address, port, protocol) is held by one connection at a time, until the
 * owner of the binding releases it (nat_release()), which the tracker does
 * when the entry is freed: after its DESTROY was delivered, not before.
 * TCP, UDP (UDP-Lite) and ICMP echo are translated; other protocols that a
 * `snat` rule matches are refused (NAT_ERR_PROTO), a `dnat` rule names its
 * protocol.
 *
 * Thread safety: a table is read-only once built and may be read by any
 * number of threads; the slice of worker `w` of each pool state is written
 * only by worker `w` (nat_bind(), nat_release(), nat_block_events_done(),
 * nat_set_now()); nat_worker_stats() and nat_pool_usage() read it from
 * any thread.
 * Nothing here allocates after nat_table_build()/nat_table_adopt().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ct.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Rules and pools, as the configuration gives them                          */

#define NAT_NAME_MAX 32
#define NAT_MAX_POOLS 64
#define NAT_MAX_RULES 1024
/** Addresses in one pool, at most (a /20). */
#define NAT_MAX_POOL_ADDRS 4096
/** Workers a pool's ports can be divided among, at most. */
#define NAT_MAX_WORKERS 64
/** Blocks of a block-mode pool (addresses x ports / block_size), at most. */
#define NAT_MAX_POOL_BLOCKS (1u << 20)

enum nat_kind {
	NAT_SNAT = 1,      /**< source translation to a pool */
	NAT_DNAT = 2,      /**< destination translation (port forwarding) */
	NAT_EXCLUDE = 3,   /**< matched traffic is not translated */
};

enum nat_mode {
	NAT_MODE_NAPT = 0,   /**< a port per connection */
	NAT_MODE_BLOCK = 1,  /**< a block of ports per inside address (RFC 7422) */
};

/** A pool of public IPv4 addresses and the port range used on each. */
struct nat_pool {
	char name[NAT_NAME_MAX];
	uint32_t addr_lo;        /**< first address, host byte order */
	uint32_t addr_hi;        /**< last address (inclusive), >= addr_lo */
	uint16_t port_lo;        /**< first port (>= 1) */
	uint16_t port_hi;        /**< last port (inclusive) */
	uint8_t mode;            /**< enum nat_mode */
	uint8_t blocks_per_addr_max; /**< block mode: blocks one inside address may hold (>= 1) */
	uint16_t block_size;     /**< block mode: ports a block (divides each worker's slice) */
};

/** Any input port / any zone in a rule's match. */
#define NAT_ANY_PORT 0xffffu
#define NAT_ANY_ZONE (-1)

/** A rule: a match on the connection's first packet and what to do. */
struct nat_rule {
	char name[NAT_NAME_MAX];
	uint8_t kind;            /**< enum nat_kind */
	uint8_t proto;           /**< 0 = any (snat, exclude); dnat: 6, 17 or 136 */
	uint8_t src_len;         /**< source prefix length, 0 = any */
	uint8_t dst_len;         /**< destination prefix length, 0 = any */
	uint32_t src;            /**< source prefix, host byte order */
	uint32_t dst;            /**< destination prefix (dnat: the public address, /32) */
	uint16_t in_port;        /**< input port, NAT_ANY_PORT = any */
	int32_t zone;            /**< conntrack zone, NAT_ANY_ZONE = any */
	uint16_t dport_lo;       /**< destination ports matched (0..65535 = any); */
	uint16_t dport_hi;       /**< dnat: the public port range */
	/* Action */
	uint16_t pool;           /**< snat: index into the table's pools */
	uint32_t to_addr;        /**< dnat: inside address, host byte order */
	uint16_t to_port;        /**< dnat: inside port for dport_lo (the range maps
				  *   one to one: dport_lo + k -> to_port + k) */
};

/** Defaults: any port, zone, protocol, address and destination port. */
void nat_rule_init(struct nat_rule *r);

/* ------------------------------------------------------------------------ */
/* Tables                                                                    */

struct nat_table;

/**
 * Check and build a table for `n_workers` workers. Copies `pools` and
 * `rules`; allocates the pool states (per worker port bitmaps and, in block
 * mode, the block tables) from the C heap: a pool's bitmaps take
 * addresses x ports x 3 protocol classes / 8 bytes (24 KiB for one address
 * with ports 1024-65535, 95 MiB for a /20), block mode 90 to 120 bytes a
 * block more. Refused, with a message in
 * `err` that names the pool or rule (by name, else by index):
 *  - a pool without a name (empty or not NUL-terminated), two pools with
 *    one name;
 *  - a pool with addr_lo > addr_hi, more than NAT_MAX_POOL_ADDRS addresses,
 *    port_lo 0 or > port_hi, an unknown mode;
 *  - a port range whose size does not divide among the workers (each worker
 *    gets the same number of ports), or in block mode a worker's share that
 *    block_size does not divide;
 *  - block mode: block_size outside 1..32768, blocks_per_addr_max outside
 *    1..16, more than NAT_MAX_POOL_BLOCKS blocks;
 *  - two pools that share an address;
 *  - a rule with an unknown kind, a prefix longer than 32 or with host bits
 *    set, dport_lo > dport_hi;
 *  - a snat rule naming no pool, a pool no rule uses is allowed;
 *  - a dnat rule without a single public address (dst_len 32), with a port
 *    range past 65535 once mapped, with protocol other than TCP, UDP or
 *    UDP-Lite; two dnat rules for the same public address, protocol and
 *    port; two dnat rules whose inside address, protocol and ports overlap
 *    (replies could not be told apart);
 *  - a snat rule whose source prefix (src_len > 0; "any" is allowed) or a
 *    dnat rule whose inside address covers a pool address (a translated
 *    packet would match again);
 *  - 0 or more than NAT_MAX_WORKERS workers, more than NAT_MAX_POOLS pools
 *    or NAT_MAX_RULES rules.
 * Messages read `pool "public": port range 1024-65535 (64512 ports) does
 * not divide among 5 workers`, `rule "web-in": ...` (`rule 3: ...` for a
 * rule without a name): the caller prefixes its own path.
 * @return the table or NULL with `err` filled (also on -ENOMEM).
 */
struct nat_table *nat_table_build(const struct nat_pool *pools, unsigned n_pools,
				  const struct nat_rule *rules, unsigned n_rules,
				  unsigned n_workers, char *err, size_t errlen);

/**
 * Let `new` take over the live bindings of `old` before it is installed:
 * every pool of `new` equal to a pool of `old` (same name, addresses,
 * ports, mode, block size and blocks per address) shares that pool's
 * state, so bindings made under `old` stay valid and are released into the
 * same bitmaps; the per-worker counters carry over too. Refused (-EBUSY,
 * message in `err`, e.g. `pool "public" holds 12 live bindings and is
 * missing from the new configuration`) when a pool of `old` that holds
 * live bindings (ports held, or blocks whose release event is not yet
 * consumed) is missing from `new` or changed in it, or when the worker
 * count changes while any pool holds one: the reload would orphan live
 * mappings. The caller then frees `new` and keeps `old`. With another
 * worker count and nothing live, `new` keeps its own, empty states and
 * counters. On a refusal neither table was changed.
 * Call from the control plane, one thread (the sharing is counted without
 * atomics); workers may go on using `old` meanwhile. The counts read are
 * the workers' own: a binding a worker still on `old` makes after they
 * were read, in a pool the reload then drops or changes, would be held by
 * nobody (and its port could be given again by the changed pool). The
 * caller closes those pools first (nat_table_close_unadopted()) and waits
 * until no worker can still be inside a bind that found one open.
 * @return 0 or -EBUSY.
 */
int nat_table_adopt(struct nat_table *new, const struct nat_table *old, char *err,
		    size_t errlen);

/**
 * Close (`close` true) or reopen the pools of `old` that `new` would not
 * take over (nat_table_adopt(): no equal pool in `new`, or another worker
 * count). A closed pool makes no new binding: nat_bind() refuses the
 * connection (NAT_ERR_CLOSED, counted in `closed`); releases go on. A
 * reload closes them, waits for a grace period of the workers, checks
 * (nat_table_adopt()) and installs, or reopens them when it is refused.
 * @return the number of pools closed or reopened.
 * Thread safety: control plane, serialised with nat_table_adopt(); the
 * flag is stored with release order and read by the workers.
 */
unsigned nat_table_close_unadopted(const struct nat_table *new, const struct nat_table *old,
				   bool close);

/**
 * Free a table; pool states shared with another table live on in it. NULL
 * is a no-op. Control plane, once no worker uses `t` any more.
 */
void nat_table_free(struct nat_table *t);

/** Whether the table has no rule (nothing is ever translated). */
bool nat_table_empty(const struct nat_table *t);

/** The table's pools and rules (read-only). */
unsigned nat_table_pools(const struct nat_table *t, const struct nat_pool **pools);
unsigned nat_table_rules(const struct nat_table *t, const struct nat_rule **rules);

/* ------------------------------------------------------------------------ */
/* Ownership                                                                 */

/**
 * The worker that owns a packet's connection when the translation decides
 * it, for the RX stage (before any lookup):
 *  - a packet to a pool address, to a port in the pool's range (the reply
 *    of a snat flow), or an ICMP error quoting a packet from one: the
 *    worker whose slice holds the port;
 *  - a packet from a dnat rule's inside address and port (the reply of a
 *    dnat flow), or an ICMP error quoting one: the owner of the flow's
 *    original tuple, ct_hash_owner() of the keyed hash of the tuple with
 *    the public address and port put back;
 *  - the first packet direction of a block-mode snat rule's sources: by
 *    the inside address alone, so one subscriber's connections share a
 *    worker and its block.
 * ICMP errors are judged by the reverse of the quoted tuple (the way the
 * error travels). A table built for another worker count than `n_workers`
 * gives no opinion.
 * @return 1 with *owner set, or 0 (the caller's usual choice applies).
 * Thread safety: reads `t` only.
 */
int nat_owner(const struct nat_table *t, const struct ct_pkt *p, unsigned n_workers,
	      unsigned *owner);

/** How the caller assigns a flow's original tuple to a worker (e.g. by the NIC's RSS). */
typedef unsigned (*nat_tuple_owner_fn)(void *arg, const struct ct_tuple *orig);

/**
 * nat_owner() for a caller whose flows are not owned by the keyed hash:
 * the reply of a dnat flow goes to `tuple_owner(arg, orig)` of its
 * original tuple (NULL: ct_hash_owner() as nat_owner()).
 */
int nat_owner_ex(const struct nat_table *t, const struct ct_pkt *p, unsigned n_workers,
		 nat_tuple_owner_fn tuple_owner, void *arg, unsigned *owner);

/* ------------------------------------------------------------------------ */
/* Binding                                                                   */

/** IPS_* status bits of Linux, set in the entry of a translated flow. */
#define NAT_S_SRC_NAT      (1u << 4)
#define NAT_S_DST_NAT      (1u << 5)
#define NAT_S_SRC_NAT_DONE (1u << 7)
#define NAT_S_DST_NAT_DONE (1u << 8)
/** nat_release(): the binding was given back unused, no packet left with it. */
#define NAT_S_UNUSED       (1u << 15)

/** nat_bind() outcomes other than 0/1. */
#define NAT_ERR_EXHAUSTED (-28)  /**< -ENOSPC: no free port in the worker's slice */
#define NAT_ERR_PROTO     (-93)  /**< -EPROTONOSUPPORT: a snat rule matched another protocol */
#define NAT_ERR_CLOSED    (-11)  /**< -EAGAIN: the rule's pool is being dropped by a reload */

/**
 * A preference the caller may give nat_bind() for the port it picks: true
 * when a reply to `reply` (the reply tuple as it would arrive) is steered
 * by the NIC's RSS to this worker. NULL: no preference.
 */
typedef bool (*nat_rss_pref_fn)(void *arg, const struct ct_tuple *reply);

/** Counters of one worker's bindings (nat_worker_stats()). */
struct nat_stats {
	uint64_t bound;           /**< connections translated */
	uint64_t released;        /**< bindings given back */
	uint64_t exhausted;       /**< connections refused: pool full (dropped) */
	uint64_t closed;          /**< connections refused: a reload was dropping their pool */
	uint64_t proto_refused;   /**< connections refused: protocol not translatable */
	uint64_t excluded;        /**< connections an exclude rule left alone */
	uint64_t rss_hits;        /**< ports picked so that replies need no handoff */
	uint64_t blocks_alloc;    /**< port blocks allocated (block mode) */
	uint64_t blocks_freed;    /**< port blocks released */
	uint64_t release_orphan;  /**< releases for a binding no pool knows (bug or race) */
	uint32_t ports_in_use;    /**< gauge: public (address, port, class) held */
	uint32_t ports_total;     /**< gauge: of those, in the worker's slices: addresses x
				   *   ports x 3 protocol classes (TCP; UDP and UDP-Lite;
				   *   ICMP echo), summed over the pools */
	uint32_t fill_pct;        /**< gauge: the fullest of the worker's slices, by protocol
				   *   class (or by blocks in block mode), 0..100: at 100 the
				   *   worker refuses that class's connections on that pool.
				   *   The measure for a fill alarm (ports_in_use/ports_total
				   *   averages over classes and pools) */
};

/**
 * Bind a new connection, worker `w`'s side. `p` is its first packet
 * (CT_PKT_TRACK, original direction), `in_port` its input port. On a match
 * fills `*reply` with the translated reply tuple (as a reply packet
 * arrives: src = the remote end, dst = the pool address and port for snat;
 * src = the inside address and port for dnat) and ORs the NAT_S_* bits
 * into `*status` (SRC_NAT|SRC_NAT_DONE, or DST_NAT|DST_NAT_DONE; the _DONE
 * bits of the other kind too, as Linux sets both once the flow passed both
 * hooks). When nothing changes (no rule, exclude, a dnat to the same
 * address and port) `*reply` is the reverse of the original tuple and only
 * the _DONE bits are set. An empty table, an IPv6 flow or a packet that is
 * not CT_PKT_TRACK: 0, the reverse tuple, no bits (NAT is not in play).
 * Port choice (snat): the original source port when it is free in the
 * worker's slice and `pref` (if given) accepts it; otherwise the first
 * free port from a point given by the
 * flow's hash, preferring ports `pref` accepts (at most 64 tries); the
 * address is the pool address picked by a hash of the inside address
 * (paired pooling, RFC 4787), then the others in order. Block mode: the
 * source port when it is free in one of the inside address's blocks, else
 * a port of its blocks from the hash; a new block (on the address of its
 * first, else the paired one, else the next with a free block) when they
 * are full, up to blocks_per_addr_max. ICMP: echo requests only, the
 * identifier is the port; a dnat rule only matches its own protocol. A rule
 * with a destination port range other than 0-65535 only matches TCP, UDP,
 * UDP-Lite, SCTP and DCCP.
 * @return 1 translated, 0 not translated, NAT_ERR_EXHAUSTED or
 *         NAT_ERR_PROTO (drop the connection; counted). On an error
 *         `*reply` is the reverse tuple and `*status` is unchanged.
 * Thread safety: worker `w` only.
 */
int nat_bind(const struct nat_table *t, unsigned w, const struct ct_pkt *p, uint16_t in_port,
	     nat_rss_pref_fn pref, void *pref_arg, struct ct_tuple *reply, uint16_t *status);

/**
 * Prefetch the port map words nat_bind() of packet `p` by worker `w` will
 * most likely read first: those of a NAPT bind in the pool of the
 * worker's last one (the original port's on the address paired with the
 * source, and the one at the flow's hash). A guess, made without the rule
 * walk: nothing is read but the maps' addresses, nothing changes. Before
 * any NAPT bind, or when that pool is in block mode now: nothing.
 * Thread safety: worker `w` only.
 */
void nat_bind_prefetch(const struct nat_table *t, unsigned w, const struct ct_pkt *p);

/**
 * Prefetch the port map word nat_release() by worker `w` of a source
 * translation to `addr` (4 wire bytes), `port`, protocol `proto` reads;
 * nothing changes. An address in no pool: nothing.
 * Thread safety: worker `w` only.
 */
void nat_release_prefetch(const struct nat_table *t, unsigned w, const uint8_t *addr,
			  uint16_t port, uint8_t proto);

/**
 * Give back the public address and port of a binding made by worker `w`
 * (its reply tuple and status as nat_bind() gave them; a status without
 * NAT_S_SRC_NAT or NAT_S_DST_NAT is a no-op). A binding whose pool is in no
 * table any more, or whose port is not held, is counted in
 * release_orphan. In block mode the release of a block's last binding
 * releases the block (a block event); when every binding it ever had was
 * given back unused (NAT_S_UNUSED) and its allocation event is still
 * queued, both are dropped instead: the log never shows a holder that
 * sent nothing.
 * Thread safety: worker `w` only.
 */
void nat_release(const struct nat_table *t, unsigned w, const struct ct_tuple *reply,
		 uint16_t status);

/** Worker `w`'s counters, summed over the table's pools. Any thread (a snapshot). */
void nat_worker_stats(const struct nat_table *t, unsigned w, struct nat_stats *out);

/** How full one pool is, over all workers (nat_pool_usage()). */
struct nat_pool_usage {
	uint64_t ports_total;     /**< addresses x ports; each protocol class has as many */
	uint64_t ports_used[3];   /**< held, by class: TCP; UDP and UDP-Lite; ICMP echo */
	uint32_t blocks_total;    /**< block mode: blocks (0 in NAPT mode) */
	uint32_t blocks_used;     /**< block mode: held, or released and awaiting their event */
	uint32_t fill_pct;        /**< the fullest worker slice, by class or by blocks, 0..100:
				   *   a worker refuses new connections when its slice is full,
				   *   whatever the others hold (the pool's fill alarm) */
};

/**
 * How full pool `pool` of the table is. Any thread (a snapshot of the
 * workers' gauges, each possibly a burst behind).
 * @return 0, or -EINVAL when the table has no such pool.
 */
int nat_pool_usage(const struct nat_table *t, unsigned pool, struct nat_pool_usage *out);

/* ------------------------------------------------------------------------ */
/* Port blocks (block mode)                                                  */

/** A block allocated to or released by an inside address. */
struct nat_block_ev {
	uint32_t inside;         /**< inside address, host byte order */
	uint32_t outside;        /**< pool address */
	uint16_t port_lo;        /**< first port of the block */
	uint16_t port_hi;        /**< last port */
	uint8_t released;        /**< 0 allocated, 1 released */
	uint8_t pool;            /**< pool index in the table */
	uint16_t pad;
	uint64_t time_ns;        /**< when (the `now` of nat_bind()/nat_release()) */
};

/**
 * The block events of worker `w` not yet taken, oldest first, at most
 * `max`: copied to `out`, not yet consumed. A released block is not given
 * to another address until its release event was consumed with
 * nat_block_events_done(): a log that keeps every consumed event never
 * shows two inside addresses on one block. The worker must consume them:
 * blocks awaiting it are neither reusable nor removable by a reload
 * (they count as live bindings). The events are queued per pool (at most
 * one alloc and one release pending per block) and given pool by pool in
 * table order; call nat_block_events_done() on the same table with no
 * nat_bind()/nat_release() in between.
 * Thread safety: worker `w` only.
 * @return the number copied.
 */
unsigned nat_block_events(const struct nat_table *t, unsigned w, struct nat_block_ev *out,
			  unsigned max);

/**
 * The first `n` events nat_block_events() gave have been handed on (e.g. to
 * the event ring). Thread safety: worker `w` only.
 */
void nat_block_events_done(const struct nat_table *t, unsigned w, unsigned n);

/** The time block events carry: set by worker `w` before a burst. */
void nat_set_now(const struct nat_table *t, unsigned w, uint64_t now_ns);

/* ------------------------------------------------------------------------ */
/* Rewriting                                                                 */

/**
 * Rewrite the packet at `frame` (`len` bytes, parsed by ct_parse() into
 * `p`) so that its tuple becomes `to`: the IPv4 source and destination
 * addresses, the TCP/UDP/UDP-Lite ports or the ICMP echo identifier (the
 * tuple's sport of a request, dport of a reply), with the IPv4 header
 * checksum and the L4 checksum updated incrementally (RFC 1624). A UDP
 * checksum of 0 stays 0. Fields equal in `p->tuple` and `to` are not
 * written.
 * For an ICMP error (p->cls CT_PKT_ICMP_ERROR: `p->tuple` is the quoted
 * packet's tuple as sent), `to` is what the quoted tuple becomes: the
 * quoted IPv4 header (addresses, checksum), its ports or echo identifier
 * and its transport checksum (UDP unless 0, UDP-Lite, ICMP; TCP only when
 * its whole 20-byte header is quoted, as Linux) are rewritten. The outer
 * header follows as in Linux's nf_nat_icmp_reply_translation(): when the
 * quoted source changes, the outer destination becomes the new quoted
 * source (the error reaches the real sender); when the quoted destination
 * changes, the outer source becomes the new quoted destination (an error
 * from inside a dnat seems to come from the public address). The ICMP
 * checksum and both IPv4 header checksums are kept right.
 * An ICMP redirect that would be rewritten is refused (-EPROTONOSUPPORT:
 * drop it, as Linux does for a translated flow).
 * A non-first fragment (CT_PKT_FRAGMENT) has its addresses rewritten only
 * (the ports of `to` are ignored). DCCP, whose checksum covers the
 * addresses, is refused when they change (-EPROTONOSUPPORT).
 * @return 0; -EINVAL when `p` is not IPv4 or `frame` is shorter than the
 *         headers `p` describes; -EPROTONOSUPPORT for a protocol whose
 *         ports cannot be rewritten when `to` changes them. The frame is
 *         left unchanged on error.
 * Thread safety: pure function on the frame.
 */
int nat_rewrite(uint8_t *frame, uint32_t len, const struct ct_pkt *p, const struct ct_tuple *to);

/* ct_nat_csum_deltas() of packet `p` to `to`, out of line: a target that carries none. */
void nat_rewrite_deltas(const struct ct_pkt *p, const struct ct_tuple *to, uint16_t d[2]);

/*
 * The rewrite of a TCP (`coff` 16) or UDP (`coff` 6) packet's headers at
 * `ip` (20 bytes, no options) and `l4` to `to`, each checksum updated with
 * its change `d` (nat_rewrite_fast()). A UDP
 * checksum of 0 (none) stays 0; one that comes to 0 is written 0xffff.
 */
static inline void
nat_rewrite_hdrs(uint8_t *ip, uint8_t *l4, uint32_t coff, const struct ct_tuple *to,
		 const uint16_t d[2])
{
	uint32_t nw;
	uint16_t hc;

	/* The port pair as on the wire: big-endian source port, then destination port. */
	nw = (uint32_t)to->sport << 16 | to->dport;
	if (__BYTE_ORDER__ != __ORDER_BIG_ENDIAN__)
		nw = __builtin_bswap32(nw);
	memcpy(ip + 12, to->src, 4);
	memcpy(ip + 16, to->dst, 4);
	memcpy(l4, &nw, 4);
	memcpy(&hc, ip + 10, 2);
	hc = ct_nat_csum_update16(hc, d[0]);
	memcpy(ip + 10, &hc, 2);
	memcpy(&hc, l4 + coff, 2);
	if (coff == 6 && hc == 0)
		return;
	hc = ct_nat_csum_update16(hc, d[1]);
	if (coff == 6 && hc == 0)
		hc = 0xffff;
	memcpy(l4 + coff, &hc, 2);
}

/**
 * nat_rewrite()'s common case inline, for the packet loop: a tracked TCP
 * or UDP packet right after a 20-byte IPv4 header, its L4 checksum field
 * within the `len` bytes of the frame (the rest of the datagram may follow
 * in further segments: only headers change). Addresses and the port pair
 * are written as 32-bit words and each checksum updated once with the
 * changes' sum: the one the target carries (CT_NAT_CSUM_SET, from the
 * flow's bind: ct_process_burst_nat()), else worked out here from the
 * packet's tuple (ct_nat_csum_deltas()). A UDP checksum of 0 stays 0, one
 * that comes to 0 is written 0xffff. The same result as nat_rewrite()'s
 * general path on such a packet.
 * @return true done; false: not such a packet, nothing written (call
 *         nat_rewrite()).
 * Thread safety: pure function on the frame.
 */
static inline bool
nat_rewrite_fast(uint8_t *frame, uint32_t len, const struct ct_pkt *p, const struct ct_tuple *to)
{
	uint8_t *ip = frame + p->l3_off, *l4 = frame + p->l4_off;
	uint32_t coff;
	uint16_t d[2];

	if (p->tuple.proto == 6)
		coff = 16;
	else if (p->tuple.proto == 17)
		coff = 6;
	else
		return false;
	/* A 0x45 first byte is IPv4 without options: the tuple's family follows. The
	 * datagram (IPv4 total length) must hold the checksum field too. */
	if (p->cls != CT_PKT_TRACK || p->l4_off != p->l3_off + 20u ||
	    (uint32_t)p->l4_off + coff + 2 > len || ip[0] != 0x45 ||
	    ((uint32_t)ip[2] << 8 | ip[3]) < 20 + coff + 2)
		return false;
	if (__builtin_expect(to->src[8] == CT_NAT_CSUM_SET, 1))
		memcpy(d, to->src + 4, sizeof(d));
	else
		nat_rewrite_deltas(p, to, d);
	nat_rewrite_hdrs(ip, l4, coff, to, d);
	return true;
}

#ifdef __cplusplus
}
#endif

#endif /* DPCT_NAT_H */
