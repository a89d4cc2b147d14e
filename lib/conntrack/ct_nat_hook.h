/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CT_NAT_HOOK_H
#define DPCT_CT_NAT_HOOK_H

/**
 * @file
 * A shard's side of translation: the hook lib/nat installs and the burst
 * entry point that also gives each packet's rewrite target. Included by
 * ct.h (its packets, shard and per-packet info come first); not for
 * direct use.
 */

#ifndef DPCT_CT_H
#error "include ct.h, not ct_nat_hook.h"
#endif

/**
 * Translation (docs/nat.md). With conf.nat, a shard keeps for each entry
 * the reply tuple a hook chose when the entry was created, and finds the
 * entry by it as Linux finds a conntrack by its reply tuplehash.
 *
 * `bind` is called for the first packet of every would-be entry (after the
 * L4 tracker accepted it): it returns 1 with `*reply` (the translated
 * reply tuple, as a reply arrives) and the CT_S_*NAT* bits in `*status`,
 * 0 for no translation (`*status` may still carry the _DONE bits), or a
 * negative errno to refuse the connection (counted in `nat_refused` and
 * `drop`, no entry). A reply tuple another entry already uses is refused
 * the same way (after `release`). `release` gives back a binding when the
 * entry is freed: after its DESTROY was delivered, so the public address
 * and port are never held twice while a log lacks the first holder's end;
 * and when a binding is given back as its entry is being made (refused,
 * table full, a bind taken ahead that no entry took), with
 * CT_NAT_REL_UNUSED in `status`: no packet ever left with it.
 * For translated entries only: the original tuple matches packets in the
 * original direction, the reply tuple packets in the reply direction, and
 * an ICMP error is matched by the reverse of the packet it quotes.
 */
/** In `release`'s status: the binding was given back unused (no CT_S_* bit). */
#define CT_NAT_REL_UNUSED (1u << 15)

/**
 * A rewrite target (ct_process_burst_nat()'s `to`) of a TCP or UDP packet
 * of a translated flow carries in its source address bytes 4..7 the
 * checksum changes of that rewrite (ct_nat_csum_deltas()'s out[0], out[1],
 * in memory order) and CT_NAT_CSUM_SET in byte 8: worked out once, when
 * the flow was bound, for each direction. Every other target has 0 there.
 */
#define CT_NAT_CSUM_SET 1

/*
 * RFC 1624 eqn. 3: checksum `hc` after changes summing to `d` (folded to
 * 16 bits, 0 only for no change: ct_nat_csum_deltas()). ~hc + d is at
 * most 0x1fffe: one fold.
 */
static inline uint16_t
ct_nat_csum_update16(uint16_t hc, uint16_t d)
{
	uint32_t x = (uint32_t)(uint16_t)~hc + d;

	x = (x & 0xffff) + (x >> 16);
	return (uint16_t)~x;
}

/* An IPv4 address's 4 wire bytes as a host-order 32-bit load reads them. */
static inline uint32_t
ct_nat_wire32(const uint8_t *a)
{
	uint32_t v;

	__builtin_memcpy(&v, a, sizeof(v));
	return v;
}

/* A port pair's 4 wire bytes (big-endian source, then destination) the same way. */
static inline uint32_t
ct_nat_wire_ports(uint16_t sport, uint16_t dport)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t)__builtin_bswap16(sport) | (uint32_t)__builtin_bswap16(dport) << 16;
#else
	return (uint32_t)sport << 16 | dport;
#endif
}

/* A ones' complement sum folded to 16 bits: 0 only for 0. */
static inline uint16_t
ct_nat_fold(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/*
 * ct_nat_csum_deltas() of the words as ct_nat_wire32() and
 * ct_nat_wire_ports() give them: old source, destination and ports, then
 * the new ones.
 */
static inline void
ct_nat_csum_words(uint32_t os, uint32_t od, uint32_t op, uint32_t ns, uint32_t nd, uint32_t np,
		  uint16_t out[2])
{
	uint64_t ip = (uint64_t)(uint32_t)~os + ns + (uint32_t)~od + nd;

	out[0] = ct_nat_fold(ip);
	out[1] = ct_nat_fold(ip + (uint32_t)~op + np);
}

/**
 * The checksum changes of rewriting an IPv4 packet of tuple `from` to
 * tuple `to` (addresses and, for TCP and UDP, ports): out[0] the IPv4
 * header checksum's, out[1] the TCP or UDP checksum's (pseudo-header
 * addresses and the ports). Each is the ones' complement sum of ~old +
 * new over the 32-bit words as a host-order load reads the wire bytes
 * (RFC 1624 eqn. 3), folded to 16 bits: 0 only when that sum is 0. A
 * checksum `hc`, loaded the same way, becomes ~(~hc + out[i]) with the
 * carry added back in: the same bytes as summing the changes at the
 * packet (RFC 1071: the sum does not depend on the word size or order).
 * Thread safety: pure function. Inline: the bind works out two a flow.
 */
static inline void
ct_nat_csum_deltas(const struct ct_tuple *from, const struct ct_tuple *to, uint16_t out[2])
{
	ct_nat_csum_words(ct_nat_wire32(from->src), ct_nat_wire32(from->dst),
			  ct_nat_wire_ports(from->sport, from->dport), ct_nat_wire32(to->src),
			  ct_nat_wire32(to->dst), ct_nat_wire_ports(to->sport, to->dport), out);
}

struct ct_nat_hook {
	int (*bind)(void *arg, const struct ct_pkt *p, struct ct_tuple *reply, uint16_t *status);
	void (*release)(void *arg, const struct ct_tuple *reply, uint16_t status);
	void *arg;
	/*
	 * Optional (NULL: none), hints only, nothing changes: start the cache
	 * misses of a `bind` of packet `p`, some packets before it may be
	 * asked (a packet that most likely opens a connection); and of a
	 * `release` of a source translation whose public end is `addr`
	 * (4 wire bytes) and `port` (host order) for protocol `proto`, before
	 * its entry is freed. The port maps a translating allocator reads
	 * are too large to stay in cache and are read at random.
	 */
	void (*bind_prefetch)(void *arg, const struct ct_pkt *p);
	void (*release_prefetch)(void *arg, const uint8_t *addr, uint16_t port, uint8_t proto);
};

/**
 * Install the translation hook (NULL `h`: none). Before the first packet,
 * or with the shard empty.
 * @return 0; -ENOTSUP without conf.nat; -EBUSY when the shard has entries.
 * Thread safety: owner only.
 */
int ct_shard_set_nat(struct ct_shard *s, const struct ct_nat_hook *h);

/**
 * ct_process_burst_info() that also gives, for each packet of a translated
 * flow that passed (info[i].nat set, and to[i].family 4; to[i].family is 0
 * for every other packet), the tuple the packet must be rewritten to in
 * `to[i]` (nat_rewrite() in lib/nat), of which only what nat_rewrite()
 * reads is written (the first 4 bytes of each address, ports, proto,
 * family, zone). `info` may be NULL when no policy info is wanted. A packet in the
 * original direction becomes the reverse of the reply tuple, one in the
 * reply direction the reverse of the original tuple; the packet an ICMP
 * error quotes becomes the reply tuple (error in the original direction)
 * or the original tuple (reply direction). Taken when the packet is
 * tracked, so valid even when the packet ended its entry. Packets of
 * invalid state are not translated (as Linux: they have no conntrack).
 *
 * `m` (NULL: none) are the packets' mbufs: a plain packet (struct ct_pkt:
 * plain, as ct_parse_mbuf() marks it in m[i]'s first segment) of a
 * translated flow that passes is rewritten here, in place, while its
 * entry is in cache: the one end its translation changes (an original
 * packet's source and a reply's destination for a source translation,
 * the other way round for a destination one), each checksum updated with
 * the change worked out at the bind. It is left with info[i].nat set and
 * to[i].family 0 (nothing left to rewrite). The bytes are those
 * nat_rewrite() (lib/nat) writes to the target it would have had.
 * @return the number of packets left with a target (to[i].family 4): 0
 *         when nothing is left to rewrite.
 * Thread safety: owner only.
 */
uint16_t ct_process_burst_nat(struct ct_shard *s, const struct ct_pkt *pkts, uint16_t n,
			      uint64_t now, uint8_t *verdict, struct ct_pkt_info *info,
			      struct ct_tuple *to, struct rte_mbuf *const *m);

#endif /* DPCT_CT_NAT_HOOK_H */
