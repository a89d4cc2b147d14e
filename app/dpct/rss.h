/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_RSS_H
#define DPCT_RSS_H

/**
 * @file
 * Flow ownership from the NIC.
 *
 * On ports with RSS, dpct programs a symmetric Toeplitz hash (the 0x6d5a
 * key pattern, at the NIC's own key size, 40 or 52 bytes) and its own
 * redirection table, so both directions of a flow reach the RX queue of
 * one worker, and that worker owns the flow's shard. The owner of a packet
 * is derived from mbuf->hash.rss through the same table, so a packet is
 * handed to another core only when the NIC could not place it: fragments,
 * IPv6 with extension headers, stacked VLANs, ICMP errors (the flow is the
 * quoted one), packets without a NIC hash, and packets from ports without
 * RSS (vdevs). For those dpct computes the same Toeplitz hash in software
 * (rte_softrss) over the tuple, so every packet of a flow has one owner
 * whatever port or path it came by.
 *
 * Without any RSS port (vdevs only, one worker) ownership is the keyed
 * flow hash (ct_pkt.owner_hash), which nobody outside can aim at.
 *
 * The table only decides ownership; the bucket inside the owner's shard
 * always comes from the keyed hash, so a set of tuples aimed at one worker
 * through the public Toeplitz key does not also fall into one bucket.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "ct.h"

#define DPCT_RSS_KEY_MAX 52          /**< i40e/ice; most NICs use 40 */
#define DPCT_RSS_RETA_MAX 2048       /**< ice's PF table */
#define DPCT_RSS_MAX_PORTS RTE_MAX_ETHPORTS

/** RSS hash types dpct asks for (the NIC's support is masked in). */
#define DPCT_RSS_HF (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP)

struct dpct_rss {
	bool on;                         /**< ownership follows RSS (else the keyed hash) */
	unsigned n_workers;
	uint32_t mask;                   /**< table entries that decide ownership - 1 */
	uint8_t key[DPCT_RSS_KEY_MAX];   /**< the symmetric key (any length is a prefix) */
	uint8_t owner_of[DPCT_RSS_RETA_MAX];
	bool port_rss[DPCT_RSS_MAX_PORTS]; /**< by port id: the NIC hashes with our key and table */
};

/** Fill `key` with `len` bytes of the symmetric pattern 0x6d5a. */
void dpct_rss_key_fill(uint8_t *key, unsigned len);

/**
 * Prepare the RSS part of a port's configuration for `nrx` queues:
 * symmetric key of the NIC's size (40 or 52 bytes), hash types.
 * @param key  storage for the key (DPCT_RSS_KEY_MAX bytes), kept until configure.
 * @return 0 configured; -ENOTSUP (no RSS, one queue, or a key size other
 *         than 40/52: then the port is not used for ownership).
 */
int dpct_rss_port_conf(const struct rte_eth_dev_info *info, unsigned nrx,
		       struct rte_eth_rss_conf *rc, uint8_t *key);

/**
 * Set up ownership for `n_workers` workers with a table of `reta_min`
 * entries (a power of two: the smallest RETA among the RSS ports; 0 =
 * no RSS port: keyed-hash ownership). Entry i belongs to worker
 * i % n_workers.
 * @return 0; -EINVAL for a size that is not a power of two or too big.
 */
int dpct_rss_init(struct dpct_rss *r, unsigned reta_min, unsigned n_workers);

/**
 * The RETA of a port with `reta_size` entries (a multiple of reta_min):
 * entry i -> queue owner_of[i & mask] (queue q is polled by worker q).
 */
void dpct_rss_reta_fill(const struct dpct_rss *r, struct rte_eth_rss_reta_entry64 *conf,
			unsigned reta_size);

/** The Toeplitz hash the NIC computes for a packet of `t` with `key` (TCP/UDP:
 * addresses and ports; other protocols: addresses). */
uint32_t dpct_rss_hash_tuple(const uint8_t *key, const struct ct_tuple *t);

/** Owner of a tuple by RSS, computed in software. */
unsigned dpct_rss_owner_tuple(const struct dpct_rss *r, const struct ct_tuple *t);

/** Owner of a NIC hash value. */
static inline unsigned
dpct_rss_owner_hash(const struct dpct_rss *r, uint32_t rss)
{
	return r->owner_of[rss & r->mask];
}

/**
 * Whether the NIC's hash of this packet is the hash of its tracked tuple:
 * a tracked packet (not an ICMP error) with a NIC hash, from an RSS port,
 * at most one VLAN tag, not a fragment, no IPv6 extension headers.
 */
static inline bool
dpct_rss_nic_placed(const struct dpct_rss *r, const struct rte_mbuf *m, const struct ct_pkt *p)
{
	const uint8_t *ip;

	if (p->cls != CT_PKT_TRACK || !(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) ||
	    m->port >= DPCT_RSS_MAX_PORTS || !r->port_rss[m->port] || p->l3_off > 18)
		return false;
	if (p->tuple.family == 6)
		return p->l4_off == p->l3_off + 40;
	/* IPv4: MF or a fragment offset means the NIC hashed addresses only. */
	ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, p->l3_off);
	return ((ip[6] & 0x3f) | ip[7]) == 0;
}

/**
 * Owner of a parsed tracked packet (CT_PKT_TRACK or CT_PKT_ICMP_ERROR) among
 * the workers: from the NIC's hash where it placed the packet, else in
 * software; the keyed hash when no port has RSS.
 */
static inline unsigned
dpct_rss_owner(const struct dpct_rss *r, const struct rte_mbuf *m, const struct ct_pkt *p)
{
	if (!r->on)
		return ct_hash_owner(p->owner_hash, r->n_workers);
	if (dpct_rss_nic_placed(r, m, p))
		return dpct_rss_owner_hash(r, m->hash.rss);
	return dpct_rss_owner_tuple(r, &p->tuple);
}

/** Owner of a tuple (control-plane requests, e.g. delete). */
static inline unsigned
dpct_rss_owner_of(const struct dpct_rss *r, const struct ct_tuple *t)
{
	if (!r->on)
		return ct_hash_owner((uint32_t)(ct_tuple_hash64(t) >> 32), r->n_workers);
	return dpct_rss_owner_tuple(r, t);
}

struct dpct_app;

/**
 * After every port is configured: choose the ownership mode, program the
 * RETA of every RSS port (or read it back where it cannot be written) and
 * log what each port does. 0 or -errno.
 */
int dpct_rss_ports_init(struct dpct_app *a);

#endif /* DPCT_RSS_H */
