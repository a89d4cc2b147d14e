/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_PIPE_FRAG_H
#define DPCT_PIPE_FRAG_H

/**
 * @file
 * IP reassembly before tracking, as Linux's nf_defrag_ipv4/ipv6 does before
 * conntrack: the tracker and the checksum check see the whole datagram and
 * count its bytes, while the fragments as received are what leaves.
 *
 * A worker's struct pipe_frag holds an rte_ip_frag table (a bounded number
 * of datagrams in reassembly, each for at most a timeout) and a pool of
 * mbufs created at start. A fragment taken by pipe_frag_add() is copied
 * into that pool and the copy goes to rte_ip_frag; the received mbuf (the
 * "original") waits, unchanged, referenced from its copy. When the last
 * fragment arrives, the copies form one chain, the *datagram*: a packet
 * like any other for pipe_track_burst() (parsed whole, the L4 checksum
 * summed over the chain, counted with the reassembled length), marked so
 * that pipe_frag_is_datagram() tells it apart. After its verdict the
 * caller takes the originals back with pipe_frag_release() (which frees
 * the copies) and forwards or drops them; with translation,
 * pipe_track_burst() has rewritten every original (pipe_frag_rewrite()).
 * Fragments that never make a datagram (timeout, overlap, more than
 * RTE_LIBRTE_IP_FRAG_MAX_FRAG fragments, table full) are freed, originals
 * included, and counted.
 *
 * Which fragments are reassembled: IPv4 fragments (MF set or an offset),
 * and IPv6 fragments whose fragment header follows the fixed header
 * directly (rte_ip_frag handles no other layout), atomic fragments
 * included. Other IPv6 fragments are left as ct_parse() classified them.
 *
 * Nothing here allocates on the packet path except mbufs from the pool
 * made by pipe_frag_create(); no locks. A struct pipe_frag belongs to one
 * thread; a datagram and its originals may move to another thread with
 * the mbuf (the handoff rings).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "ct.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pipe_frag;

/** Settings of one worker's reassembly. */
struct pipe_frag_conf {
	uint32_t max_datagrams;  /**< datagrams in reassembly at once, 1..65536 */
	uint64_t timeout_ns;     /**< a datagram not complete this long after its first
				   *   fragment is dropped (Linux ipfrag_time: 30 s) */
	bool csum_verify;        /**< drop IPv4 fragments with a bad header checksum (as
				   *   ip_rcv() does before reassembly) */
	int socket;              /**< NUMA socket of the table and pool */
};

/** Counters of one worker's reassembly (monotonic). */
struct pipe_frag_stats {
	uint64_t fragments;      /**< fragments taken */
	uint64_t datagrams;      /**< datagrams reassembled */
	uint64_t dropped;        /**< fragments freed without making a datagram: timeout,
				   *   overlap, too many, table full */
	uint64_t no_mbuf;        /**< fragments dropped: the copy pool was empty */
	uint64_t bad_csum;       /**< IPv4 fragments dropped for their header checksum */
	uint64_t waiting;        /**< fragments waiting in the table now */
};

/**
 * A worker's reassembly state: the table and a pool of
 * max_datagrams × RTE_LIBRTE_IP_FRAG_MAX_FRAG + 64 mbufs for the copies.
 * `name` makes the pool's name unique (e.g. the worker index).
 * @return the state, or NULL with a message in `err` (bad settings, no
 *         memory). Needs EAL.
 */
struct pipe_frag *pipe_frag_create(const struct pipe_frag_conf *c, const char *name, char *err,
				   size_t errlen);

/** Free everything, waiting fragments (copies and originals) included. NULL is a no-op. */
void pipe_frag_free(struct pipe_frag *f);

/** The ol_flags bit that marks a reassembled datagram (0 before the first pipe_frag_create()). */
extern uint64_t pipe_frag_flag;

/** Whether `m` is a datagram pipe_frag_add() returned. */
static inline bool
pipe_frag_is_datagram(const struct rte_mbuf *m)
{
	return (m->ol_flags & pipe_frag_flag) != 0 && pipe_frag_flag != 0;
}

/** pipe_frag_is_fragment() for the packets its inline part leaves open. */
bool pipe_frag_check(const struct rte_mbuf *m, const struct ct_pkt *pk);

/**
 * Whether the packet (parsed by pipe_parse_burst()) is a fragment this
 * module reassembles: IPv4 with MF or an offset, IPv6 with a fragment
 * header right after the fixed header. A datagram is not a fragment.
 * Inline for tracked packets (an IPv4 packet's flags word, which the parse
 * just read; IPv6 without extension headers from the parse alone); the
 * rest in pipe_frag_check().
 * Thread safety: pure function.
 */
static inline bool
pipe_frag_is_fragment(const struct rte_mbuf *m, const struct ct_pkt *pk)
{
	if (pk->cls == CT_PKT_TRACK) {
		if (pk->tuple.family == 4) {
			const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, pk->l3_off);

			if (((ip[6] & 0x3f) | ip[7]) == 0)
				return false;
		} else if (pk->l4_off == pk->l3_off + 40) {
			return false;
		}
	}
	return pipe_frag_check(m, pk);
}

/**
 * The hash that places a fragment's datagram (addresses, protocol and IP
 * identification, keyed by the flow hash's key): every fragment of a
 * datagram has the same, whichever arrives first. Only for packets
 * pipe_frag_is_fragment() accepts.
 */
uint32_t pipe_frag_hash(const struct rte_mbuf *m, const struct ct_pkt *pk);

/**
 * Take fragment `m` (pipe_frag_is_fragment() of `m` and its parse `pk`)
 * received at time `now` (ns). The caller gives up `m`: it waits in the
 * table, or is freed when the fragment is dropped (see the counters).
 * @return 1 when `m` completed a datagram: *dg is the datagram (a chain,
 *         see the file comment) and *dpk its parse in `pk`'s zone (as
 *         ct_parse() of the whole datagram; in_port the port of the first
 *         fragment); 0 when nothing is complete yet or the fragment was
 *         dropped.
 * Thread safety: the owning thread only.
 */
int pipe_frag_add(struct pipe_frag *f, struct rte_mbuf *m, const struct ct_pkt *pk,
		  uint64_t now, struct rte_mbuf **dg, struct ct_pkt *dpk);

/**
 * The originals of datagram `dg`, in offset order, into out[0..max);
 * frees the datagram's copies. An original that does not fit into `out`
 * is freed and not counted in the result.
 * @return the number of originals stored.
 * Thread safety: whoever holds `dg`.
 */
unsigned pipe_frag_release(struct rte_mbuf *dg, struct rte_mbuf **out, unsigned max);

/**
 * Translate datagram `dg` (parsed into `pk`) to `to`: nat_rewrite() on
 * every original, addresses (and IPv4 header checksum) in each, ports or
 * ICMP identifier in the first with its L4 checksum updated incrementally
 * (exact: the checksum covers the whole datagram, and only the changed
 * fields change it).
 * @return 0; -EINVAL or -EPROTONOSUPPORT from nat_rewrite() for the first
 *         original it refused (originals before it are rewritten): the
 *         caller drops the datagram.
 */
int pipe_frag_rewrite(struct rte_mbuf *dg, const struct ct_tuple *to);

/**
 * Free the datagrams whose timeout passed at `now`, originals included.
 * Thread safety: the owning thread only.
 */
void pipe_frag_expire(struct pipe_frag *f, uint64_t now);

/** The counters. */
void pipe_frag_stats(const struct pipe_frag *f, struct pipe_frag_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* DPCT_PIPE_FRAG_H */
