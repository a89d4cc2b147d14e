/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Workers: each owns one shard and one event channel. Packets whose flow
 * belongs to another shard are handed to its owner through an SP/SC ring;
 * a worker without a TX queue of its own on a port hands passed packets to
 * the queue's owner the same way. No locks on the packet path.
 */

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>

#include "dpct.h"
#include "dpct_top.h"
#include "mem.h"
#include "pipe_frag.h"

#define EXPIRE_BUDGET 1024
#define FLUSH_BUDGET 1024
#define TX_RETRIES 64

static uint64_t
tsc_to_ns(uint64_t tsc)
{
	uint64_t hz = dpct.tsc_hz;

	return tsc / hz * 1000000000ull + tsc % hz * 1000000000ull / hz;
}

/* Replay: the run's clock, the latest capture time any worker received
 * (each publishes its own: no shared read-modify-write on the packet path). */
static uint64_t
run_clock(void)
{
	uint64_t mx = 0;
	unsigned i;

	for (i = 0; i < dpct.n_workers && dpct.workers != NULL; i++)
		mx = RTE_MAX(mx, (uint64_t)atomic_load_explicit(&dpct.workers[i].pkt_clock,
								memory_order_relaxed));
	return mx;
}

uint64_t
dpct_now(void)
{
	uint64_t eof;

	/* Live: wall-clock (epoch) ns, so CTA_TIMESTAMP says when. */
	if (!dpct.pkt_time)
		return tsc_to_ns(rte_rdtsc()) + dpct.epoch_offset_ns;
	/* Replay: the packet clock; after the input ends it runs on wall time so
	 * timers (grace re-arm, short timeouts) still fire. */
	eof = atomic_load_explicit(&dpct.eof_tsc, memory_order_acquire);
	if (eof == 0)
		return run_clock();
	return run_clock() + tsc_to_ns(rte_rdtsc() - eof);
}

/*
 * A worker's clock. Replay: the latest capture time among the packets this
 * shard has seen, so timers fire at the same point of each flow's packet
 * stream whatever the worker count; frozen at the end of the input while
 * the flush runs, then running on wall time (grace timers, short
 * timeouts).
 */
static uint64_t
worker_now(const struct dpct_worker *w)
{
	if (!dpct.pkt_time || atomic_load_explicit(&dpct.eof_tsc, memory_order_acquire) != 0)
		return dpct_now();
	if (atomic_load_explicit(&dpct.stop_rx, memory_order_acquire))
		return RTE_MAX(w->last_pkt_ns, run_clock());
	return w->last_pkt_ns;
}

void
dpct_worker_publish(struct dpct_worker *w)
{
	unsigned s = atomic_load_explicit(&w->snap.seq, memory_order_relaxed);

	atomic_store_explicit(&w->snap.seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	ct_shard_stats(w->shard, &w->snap.st);
	if (w->nat.table != NULL)
		nat_worker_stats(w->nat.table, w->index, &w->snap.nat);
	w->snap.nat_rewrite_failed = w->nat.rewrite_failed;
	w->snap.nat_block_ring_full = w->nat_block_ring_full;
	if (w->frag != NULL)
		pipe_frag_stats(w->frag, &w->snap.frag);
	if (w->hlp != NULL)
		hlp_track_stats(w->hlp, &w->snap.hlp);
	atomic_store_explicit(&w->snap.seq, s + 2, memory_order_release);
}

void
dpct_snapshot_read(struct dpct_worker *w, struct ct_stats *out)
{
	unsigned s1, s2, tries;

	for (tries = 0; tries < 100000; tries++) {
		s1 = atomic_load_explicit(&w->snap.seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		memcpy(out, &w->snap.st, sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&w->snap.seq, memory_order_relaxed);
		if (s1 == s2)
			return;
	}
	/* A writer this busy is still consistent enough for a gauge. */
	memcpy(out, &w->snap.st, sizeof(*out));
}

static void
shard_log(void *arg, int level, const char *msg)
{
	struct dpct_worker *w = arg;
	uint32_t lvl = level <= LOG_ERR ? RTE_LOG_ERR :
		level == LOG_WARNING ? RTE_LOG_WARNING : RTE_LOG_INFO;

	rte_log(lvl, dpct_logtype, "dpct: shard %u: %s\n", w->index, msg);
}

int
dpct_workers_init(struct dpct_app *a)
{
	char err[256], name[RTE_RING_NAMESIZE];
	unsigned i, j, lcore, nw = a->n_workers;
	struct ev_chan *chans[DPCT_MAX_WORKERS];
	int rc;

	/* The flow-hash key, before anything is hashed: random, or from `seed`. */
	rc = ct_hash_set_seed(a->cfg.seed);
	if (rc != 0) {
		DPCT_LOG(ERR, "flow hash key: no random bytes: %s\n", strerror(-rc));
		return rc;
	}
	a->workers = rte_zmalloc("dpct_workers", sizeof(*a->workers) * nw, RTE_CACHE_LINE_SIZE);
	if (a->workers == NULL)
		return -ENOMEM;
	lcore = rte_get_next_lcore(-1, 1, 0);
	for (i = 0; i < nw; i++, lcore = rte_get_next_lcore(lcore, 1, 0)) {
		struct dpct_worker *w = &a->workers[i];
		struct ct_conf cc;

		w->index = i;
		w->lcore = lcore;
		dpct_config_shard(&a->cfg, i, nw, &cc);
		/* Hugepages on the worker's own socket. */
		dpct_mem_socket(&cc.mem, (int)rte_lcore_to_socket_id(lcore));
		/*
		 * The fragment table first: it can only live in EAL memory, which
		 * a large table may otherwise use up (the shard falls back to the
		 * C heap, rte_ip_frag_table_create() does not).
		 */
		if (a->cfg.frag_enabled) {
			struct pipe_frag_conf fc = {
				.max_datagrams = a->cfg.frag_max_datagrams,
				.timeout_ns = (uint64_t)a->cfg.frag_timeout_ms * 1000000,
				.csum_verify = a->cfg.tracker.checksum == DPCT_CSUM_VERIFY,
				.socket = (int)rte_lcore_to_socket_id(lcore),
			};

			snprintf(name, sizeof(name), "%u", i);
			w->frag = pipe_frag_create(&fc, name, err, sizeof(err));
			if (w->frag == NULL) {
				DPCT_LOG(ERR, "worker %u: %s\n", i, err);
				return -ENOMEM;
			}
		}
		w->shard = ct_shard_create(&cc, err, sizeof(err));
		if (w->shard == NULL) {
			DPCT_LOG(ERR, "shard %u: %s\n", i, err);
			return -ENOMEM;
		}
		ct_shard_set_log(w->shard, shard_log, w);
		if (dpct_helpers_create(w) != 0)
			return -ENOMEM;
		if (a->cfg.events_enabled) {
			w->chan = ev_chan_create_mem(a->cfg.event_ring_size,
						     a->cfg.result_ring_size, &cc.mem, err,
						     sizeof(err));
			if (w->chan == NULL) {
				DPCT_LOG(ERR, "event channel %u: %s\n", i, err);
				return -ENOMEM;
			}
			chans[i] = w->chan;
		}
		for (j = 0; j < a->n_ports; j++) {
			const struct dpct_port *p = &a->ports[j];

			/* Queue q to worker q: single-queue ports (vdevs) all land on
			 * worker 0, which reads them in port order; a replay of
			 * several captures stays deterministic that way. */
			if (i < p->nb_rxq) {
				w->rx_port[w->n_rx] = p->id;
				w->rx_queue[w->n_rx] = (uint16_t)i;
				w->n_rx++;
			}
			w->tx_queue[j] = i < p->nb_txq ? (int)i : -1;
		}
		for (j = 0; j < nw && nw > 1; j++) {
			if (j == i)
				continue;
			snprintf(name, sizeof(name), "dpct_h%u_%u", i, j);
			w->handoff[j] = rte_ring_create_elem(name, sizeof(struct dpct_handoff),
							     a->cfg.handoff_ring_size,
							     rte_lcore_to_socket_id(lcore),
							     RING_F_SP_ENQ | RING_F_SC_DEQ);
			snprintf(name, sizeof(name), "dpct_t%u_%u", i, j);
			w->txr[j] = rte_ring_create(name, a->cfg.handoff_ring_size,
						    rte_lcore_to_socket_id(lcore),
						    RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (w->handoff[j] == NULL || w->txr[j] == NULL) {
				DPCT_LOG(ERR, "ring %s: %s\n", name, rte_strerror(rte_errno));
				return -ENOMEM;
			}
		}
		dpct_worker_publish(w);
	}
	if (a->cfg.events_enabled) {
		struct ev_ctl_conf ec;

		dpct_config_events(&a->cfg, &ec);
		a->ctl = ev_ctl_create(&ec, chans, nw, err, sizeof(err));
		if (a->ctl == NULL) {
			DPCT_LOG(ERR, "events: %s\n", err);
			return -EIO;
		}
	}
	DPCT_LOG(INFO, "%u workers, fwd %s, %s clock\n", nw, a->fwd->name,
		 a->pkt_time ? "packet (replay)" : "TSC");
	return 0;
}

static void
free_ring(struct rte_ring *r)
{
	struct rte_mbuf *m[64];
	unsigned n, guard;

	if (r == NULL)
		return;
	for (guard = 0; guard < 1u << 20; guard++) {
		n = rte_ring_dequeue_burst(r, (void **)m, 64, NULL);
		if (n == 0)
			break;
		rte_pktmbuf_free_bulk(m, n);
	}
	rte_ring_free(r);
}

void
dpct_workers_free(struct dpct_app *a)
{
	unsigned i, j;

	if (a->ctl != NULL)
		ev_ctl_free(a->ctl);
	a->ctl = NULL;
	if (a->workers == NULL)
		return;
	for (i = 0; i < a->n_workers; i++) {
		struct dpct_worker *w = &a->workers[i];

		for (j = 0; j < a->n_workers; j++) {
			free_ring(w->handoff[j]);
			free_ring(w->txr[j]);
		}
		if (w->n_park > 0)
			rte_pktmbuf_free_bulk(w->park, w->n_park);
		pipe_frag_free(w->frag);
		ev_chan_free(w->chan);
		dpct_helpers_free(w);
		ct_shard_free(w->shard);
	}
	rte_free(a->workers);
	a->workers = NULL;
}

/* Transmit on a queue this worker owns; what the queue refuses is dropped. */
void
dpct_tx_own(struct dpct_worker *w, uint16_t port_idx, uint16_t queue, struct rte_mbuf **m,
	    uint16_t n)
{
	uint16_t sent = 0, tries;

	for (tries = 0; sent < n && tries < TX_RETRIES; tries++)
		sent += rte_eth_tx_burst(dpct.ports[port_idx].id, queue, m + sent, n - sent);
	DPCT_CNT_ADD(w->pc[port_idx].tx, sent);
	if (sent < n) {
		DPCT_CNT_ADD(w->pc[port_idx].tx_dropped, n - sent);
		rte_pktmbuf_free_bulk(m + sent, n - sent);
	}
	DPCT_CNT_PUBLISH(w->done_total, n);
}

/* net_pcap in 22.11 stores the capture time in microseconds. */
static inline uint64_t
capture_ns(const struct rte_mbuf *m)
{
	if (!(m->ol_flags & dpct.ts_flag))
		return 0;
	return *RTE_MBUF_DYNFIELD(m, dpct.ts_offset, uint64_t *) * 1000;
}

/* Replay: this worker's part of the run's clock (see run_clock()). */
static inline void
take_time(struct dpct_worker *w, struct rte_mbuf **m, uint16_t n)
{
	uint64_t mx = atomic_load_explicit(&w->pkt_clock, memory_order_relaxed), cur = mx;
	uint16_t i;

	for (i = 0; i < n; i++)
		mx = RTE_MAX(mx, capture_ns(m[i]));
	if (mx > cur)
		atomic_store_explicit(&w->pkt_clock, mx, memory_order_relaxed);
}

/* Passed packets, kept in runs of one input port, in order. */
struct pass_list {
	struct rte_mbuf *m[DPCT_MAX_BURST];
	uint16_t n;
};

static inline void
pass_add(struct dpct_worker *w, struct pass_list *p, struct rte_mbuf *m)
{
	if (p->n > 0 && (p->m[p->n - 1]->port != m->port || p->n == RTE_DIM(p->m))) {
		dpct.fwd->fwd(w, p->m[0]->port, p->m, p->n);
		p->n = 0;
	}
	p->m[p->n++] = m;
}

/*
 * A reassembled datagram's verdict applies to its fragments as received:
 * they leave (or are dropped) instead of the datagram. They were counted
 * done when the table took them, so they count as received again here.
 */
static unsigned
datagram_out(struct dpct_worker *w, struct pass_list *p, struct rte_mbuf *dg, bool pass)
{
	struct rte_mbuf *o[RTE_LIBRTE_IP_FRAG_MAX_FRAG + 1];
	unsigned k = pipe_frag_release(dg, o, RTE_DIM(o)), j;

	DPCT_CNT_PUBLISH(w->rx_total, k);
	if (!pass) {
		for (j = 0; j < k; j++)
			DPCT_CNT_ADD(w->pc[dpct.idx_of[o[j]->port]].dropped, 1);
		rte_pktmbuf_free_bulk(o, k);
		return k;
	}
	for (j = 0; j < k; j++)
		pass_add(w, p, o[j]);
	return 0;
}

/* Track a burst that belongs to this shard and forward or drop each packet. */
static void
process(struct dpct_worker *w, struct rte_mbuf **m, struct ct_pkt *pk, uint16_t n, uint64_t now)
{
	uint8_t verdict[DPCT_MAX_BURST];
	struct pass_list pass;
	uint16_t i;
	unsigned nd = 0;

	if (n == 0)
		return;
	if (dpct.pkt_time && atomic_load_explicit(&dpct.eof_tsc, memory_order_relaxed) == 0) {
		/* Each packet at its own capture time: the result does not depend
		 * on how packets were grouped into bursts or handed between
		 * workers. */
		uint64_t pkt_now[DPCT_MAX_BURST];

		for (i = 0; i < n; i++) {
			w->last_pkt_ns = RTE_MAX(w->last_pkt_ns, capture_ns(m[i]));
			pkt_now[i] = RTE_MAX(w->last_pkt_ns, now);
		}
		pipe_track_burst(&w->pipe, m, pk, n, now, pkt_now, verdict, NULL);
	} else {
		pipe_track_burst(&w->pipe, m, pk, n, now, NULL, verdict, NULL);
	}
	pass.n = 0;
	for (i = 0; i < n; i++) {
		if (pipe_frag_is_datagram(m[i])) {
			nd += datagram_out(w, &pass, m[i], verdict[i] == CT_V_PASS);
		} else if (verdict[i] == CT_V_PASS) {
			pass_add(w, &pass, m[i]);
		} else {
			DPCT_CNT_ADD(w->pc[dpct.idx_of[m[i]->port]].dropped, 1);
			rte_pktmbuf_free(m[i]);
			nd++;
		}
	}
	if (nd > 0)
		DPCT_CNT_PUBLISH(w->done_total, nd);
	if (pass.n > 0)
		dpct.fwd->fwd(w, pass.m[0]->port, pass.m, pass.n);
}

/* Packets idx[0..n) of the burst to worker `o`, each with its parse; what
 * the ring refuses waits, parse and all, in the park. */
static void
hand_over(struct dpct_worker *w, unsigned o, struct rte_mbuf *const *m, const struct ct_pkt *pk,
	  const uint16_t *idx, unsigned n)
{
	struct dpct_handoff h[DPCT_MAX_BURST / 8];
	unsigned i, sent;

	for (i = 0; i < n; i++) {
		h[i].m = m[idx[i]];
		h[i].pk = pk[idx[i]];
	}
	sent = rte_ring_enqueue_burst_elem(w->handoff[o], h, sizeof(h[0]), n, NULL);
	ct_shard_count_handoff(w->shard, sent);
	for (; sent < n; sent++) {
		w->park[w->n_park] = h[sent].m;
		w->park_pk[w->n_park++] = h[sent].pk;
	}
}

/* The worker that tracks a parsed packet (not a fragment). */
static inline unsigned
flow_owner(struct dpct_worker *w, const struct rte_mbuf *m, const struct ct_pkt *pk)
{
	unsigned o = w->index;

	if (dpct.n_workers > 1 && (pk->cls == CT_PKT_TRACK || pk->cls == CT_PKT_ICMP_ERROR)) {
		o = w->pipe.nat != NULL ? dpct_nat_owner(w, pk, UINT_MAX) : UINT_MAX;
		if (o == UINT_MAX)
			o = dpct_rss_owner(&dpct.rss, m, pk);
	}
	return o;
}

/*
 * A fragment whose datagram this worker reassembles goes into the table
 * (counted done: it waits there). When it completes the datagram, *m and
 * *pk become the datagram and its parse, stamped with this fragment's
 * capture time (the datagram exists from its last fragment on, as in
 * Linux), and the return is true.
 */
static bool
take_fragment(struct dpct_worker *w, struct rte_mbuf **m, struct ct_pkt *pk, uint64_t now)
{
	struct rte_mbuf *f = *m, *dg;
	uint64_t ts = 0, t = now;
	bool stamped = dpct.ts_offset >= 0 && (f->ol_flags & dpct.ts_flag);
	struct ct_pkt dpk;

	if (stamped) {
		ts = *RTE_MBUF_DYNFIELD(f, dpct.ts_offset, uint64_t *);
		if (dpct.pkt_time)
			t = RTE_MAX(t, ts * 1000);
	}
	DPCT_CNT_PUBLISH(w->done_total, 1);
	if (pipe_frag_add(w->frag, f, pk, t, &dg, &dpk) == 0)
		return false;
	if (stamped) {
		*RTE_MBUF_DYNFIELD(dg, dpct.ts_offset, uint64_t *) = ts;
		dg->ol_flags |= dpct.ts_flag;
	}
	*m = dg;
	*pk = dpk;
	return true;
}

/*
 * Split a parsed burst by owning shard: own packets tracked here, the rest
 * into the owners' rings with their parse. What a full ring refuses is
 * parked, and RX pauses until it is gone, so no packet is lost and a flow
 * keeps its order. Fragments are reassembled where they arrive when their
 * port has one RX queue (every fragment comes here, and the datagram then
 * travels to its flow's owner in order with the flow's other packets);
 * from a port with several queues they go first to the worker that
 * reassembles their datagram (by addresses, protocol and IP id: the later
 * fragments have no ports), which passes the datagram on to the flow's owner.
 */
static void
dispatch(struct dpct_worker *w, struct rte_mbuf **m, struct ct_pkt *pk, uint16_t n, uint64_t now)
{
	uint16_t other[DPCT_MAX_WORKERS][DPCT_MAX_BURST / 8];
	uint16_t own_idx[DPCT_MAX_BURST], n_other[DPCT_MAX_WORKERS];
	struct rte_mbuf *own[DPCT_MAX_BURST];
	unsigned nw = dpct.n_workers, i, no = 0, o;

	memset(n_other, 0, sizeof(n_other[0]) * nw);
	for (i = 0; i < n; i++) {
		if (w->frag != NULL && pipe_frag_is_fragment(m[i], &pk[i])) {
			o = nw > 1 && (dpct.ports[dpct.idx_of[m[i]->port]].nb_rxq > 1 ||
				       dpct.cfg.frag_meet == DPCT_FRAG_MEET_HASH) ?
			    ct_hash_owner(pipe_frag_hash(m[i], &pk[i]), nw) : w->index;
			if (o == w->index && !take_fragment(w, &m[i], &pk[i], now))
				continue;
			if (o == w->index)
				o = flow_owner(w, m[i], &pk[i]);
		} else {
			o = flow_owner(w, m[i], &pk[i]);
		}
		if (o == w->index) {
			own_idx[no++] = (uint16_t)i;
			continue;
		}
		if (n_other[o] == RTE_DIM(other[o])) {
			/* Burst bigger than a slot: send this destination's part now. */
			hand_over(w, o, m, pk, other[o], n_other[o]);
			n_other[o] = 0;
		}
		other[o][n_other[o]++] = (uint16_t)i;
	}
	for (o = 0; o < nw; o++)
		if (n_other[o] != 0)
			hand_over(w, o, m, pk, other[o], n_other[o]);
	/* Own packets and their parse results, in order at the front, once the
	 * others' have been copied out (own_idx[i] >= i: a forward copy). */
	for (i = 0; i < no; i++) {
		own[i] = m[own_idx[i]];
		pk[i] = pk[own_idx[i]];
	}
	process(w, own, pk, (uint16_t)no, now);
}

/*
 * Handed-over packets: fragments were sent here to be reassembled; a
 * datagram they complete goes on to its flow's owner. Keeps the rest
 * (ours to track) in order at the front; returns their count.
 */
static unsigned
inbound_fragments(struct dpct_worker *w, struct rte_mbuf **m, struct ct_pkt *pk, unsigned n,
		  uint64_t now)
{
	unsigned i, k = 0, o;
	uint16_t one = 0;

	for (i = 0; i < n; i++) {
		if (pipe_frag_is_fragment(m[i], &pk[i])) {
			if (!take_fragment(w, &m[i], &pk[i], now))
				continue;
			o = flow_owner(w, m[i], &pk[i]);
			if (o != w->index) {
				if (w->n_park < RTE_DIM(w->park))
					hand_over(w, o, &m[i], &pk[i], &one, 1);
				else /* nowhere to wait: lost like a full RX ring's packet */
					DPCT_CNT_PUBLISH(w->done_total,
							 datagram_out(w, NULL, m[i], false));
				continue;
			}
		}
		m[k] = m[i];
		pk[k++] = pk[i];
	}
	return k;
}

/* Received packets: parsed here, once, then dispatched. */
static void
receive(struct dpct_worker *w, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	struct ct_pkt pk[DPCT_MAX_BURST];
	uint16_t i;

	for (i = 0; i + 1 < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
	pipe_parse_burst(&w->pipe, m, n, pk);
	dispatch(w, m, pk, n, now);
}

static void
retry_parked(struct dpct_worker *w, uint64_t now)
{
	struct rte_mbuf *m[DPCT_MAX_BURST];
	struct ct_pkt pk[DPCT_MAX_BURST];
	uint16_t n = w->n_park;

	if (n == 0)
		return;
	memcpy(m, w->park, sizeof(m[0]) * n);
	memcpy(pk, w->park_pk, sizeof(pk[0]) * n);
	w->n_park = 0;
	dispatch(w, m, pk, n, now);
}

/* Packets other workers handed over: ours to track, or ours to transmit. */
static void
drain_inbound(struct dpct_worker *w, uint64_t now)
{
	struct dpct_handoff h[DPCT_MAX_BURST];
	struct rte_mbuf *m[DPCT_MAX_BURST];
	struct ct_pkt pk[DPCT_MAX_BURST];
	unsigned from, n, i, burst = dpct.cfg.burst;

	for (from = 0; from < dpct.n_workers; from++) {
		struct dpct_worker *f = &dpct.workers[from];

		if (from == w->index)
			continue;
		n = rte_ring_dequeue_burst_elem(f->handoff[w->index], h, sizeof(h[0]), burst, NULL);
		if (n > 0) {
			for (i = 0; i < n; i++) {
				m[i] = h[i].m;
				pk[i] = h[i].pk;
			}
			if (dpct.pkt_time)
				take_time(w, m, (uint16_t)n);
			if (w->frag != NULL)
				n = inbound_fragments(w, m, pk, n, now);
			process(w, m, pk, (uint16_t)n, now);
			/* Handed-over packets were counted done by nobody yet. */
		}
		n = rte_ring_dequeue_burst(f->txr[w->index], (void **)m, burst, NULL);
		for (i = 0; i < n;) {
			uint16_t port = m[i]->port, j = (uint16_t)i;
			uint16_t idx = dpct.idx_of[port];

			while (j < n && m[j]->port == port)
				j++;
			dpct_tx_own(w, idx, (uint16_t)w->tx_queue[idx], m + i, (uint16_t)(j - i));
			i = j;
		}
	}
}

static int
mbox_collect(const struct ct_event_rec *r, void *arg)
{
	struct dpct_mbox *mb = arg;

	if (mb->n >= DPCT_MBOX_MAX)
		return -1;
	mb->recs[mb->n++] = *r;
	return 0;
}

void
dpct_mbox_service(struct dpct_worker *w, uint64_t now)
{
	struct dpct_mbox *mb = &w->mbox;
	unsigned removed, guard, posted = 1;

	/* Take the request; a caller may withdraw it only until then. */
	if (atomic_load_explicit(&mb->state, memory_order_relaxed) != 1 ||
	    !atomic_compare_exchange_strong_explicit(&mb->state, &posted, 3, memory_order_acquire,
						     memory_order_relaxed))
		return;
	mb->rc = 0;
	mb->n = 0;
	switch (mb->op) {
	case DPCT_MB_LIST:
	case DPCT_MB_DYING:
		ct_shard_iterate(w->shard, &mb->cursor, RTE_MIN(mb->max, (unsigned)DPCT_MBOX_MAX),
				 mb->op == DPCT_MB_DYING, now, mbox_collect, mb);
		break;
	case DPCT_MB_FLUSH:
		removed = 0;
		for (guard = 0; guard < 1024 && ct_shard_live(w->shard) > 0; guard++) {
			removed += ct_shard_flush(w->shard, now, FLUSH_BUDGET);
			if (w->chan != NULL)
				ev_worker_sync(w->chan, w->shard, now);
		}
		mb->n = removed;
		mb->rc = (int)RTE_MIN(ct_shard_live(w->shard), (uint32_t)INT32_MAX);
		break;
	case DPCT_MB_DELETE:
		mb->rc = ct_shard_delete(w->shard, &mb->tuple, now);
		break;
	default:
		mb->rc = -EINVAL;
		break;
	}
	dpct_worker_publish(w);
	atomic_store_explicit(&mb->state, 2, memory_order_release);
}

int
dpct_worker_main(void *arg)
{
	struct dpct_worker *w = arg;
	struct rte_mbuf *m[DPCT_MAX_BURST];
	uint64_t tsc, next_tick = 0, tick = dpct.tsc_hz / 1000, now, last_expire = UINT64_MAX;
	unsigned burst = dpct.cfg.burst, i;
	bool ticked;
	uint16_t n;

	if (burst > DPCT_MAX_BURST)
		burst = DPCT_MAX_BURST;
	dpct_track_setup(w);
	dpct_nat_worker_setup(w);
	if (dpct.pol != NULL)
		pol_worker_online(dpct.pol, w->index);
	dpct_nat_online(w->index);   /* NAT table grace periods (nat_app.c) */
	while (!atomic_load_explicit(&dpct.quit, memory_order_relaxed)) {
		/* Policy: no generation pointer is held across this point. */
		if (dpct.pol != NULL)
			pol_quiescent(dpct.pol, w->index);
		dpct_nat_quiescent(w->index);   /* no NAT table pointer held here */
		now = worker_now(w);
		/* Translation: the installed table, held until the next quiescent report. */
		dpct_nat_worker_refresh(w, now);
		retry_parked(w, now);
		if (w->n_park == 0 && atomic_load_explicit(&dpct.go, memory_order_acquire) &&
		    !atomic_load_explicit(&dpct.stop_rx, memory_order_relaxed)) {
			for (i = 0; i < w->n_rx; i++) {
				n = rte_eth_rx_burst(w->rx_port[i], w->rx_queue[i], m, burst);
				if (n == 0)
					continue;
				DPCT_CNT_ADD(w->pc[dpct.idx_of[w->rx_port[i]]].rx, n);
				DPCT_CNT_PUBLISH(w->rx_total, n);
				if (dpct.pkt_time) {
					/* The burst's own capture time, before it is tracked. */
					take_time(w, m, n);
				}
				receive(w, m, n, now);
			}
		}
		if (w->hlp != NULL)
			dpct_helpers_poll(w, now);
		drain_inbound(w, now);
		/* On the packet clock timers are due whenever it moves, however
		 * fast the replay runs: expire then, and completely. */
		if (dpct.pkt_time) {
			unsigned visited = 0;

			dpct_helpers_expire(w, now);
			for (i = 0; i < 64; i++) {
				visited = ct_shard_expire(w->shard, now, EXPIRE_BUDGET);
				if (visited < EXPIRE_BUDGET)
					break;
			}
			/* Nothing left due at this time (a full staging buffer
			 * stops expiry early; it goes on next iteration). */
			last_expire = visited == 0 ? now : UINT64_MAX;
		}
		tsc = rte_rdtsc();
		ticked = tsc >= next_tick;
		if (ticked) {
			next_tick = tsc + tick;
			if (!dpct.pkt_time) {
				ct_shard_expire(w->shard, now, EXPIRE_BUDGET);
				dpct_helpers_expire(w, now);
			}
			if (w->frag != NULL)
				pipe_frag_expire(w->frag, now);
			/* Replay: flush only once the timers due by the end of the
			 * input have fired, so expired vs. flushed does not depend on
			 * timing. */
			if (atomic_load_explicit(&dpct.flush, memory_order_acquire) &&
			    !atomic_load_explicit(&w->flush_done, memory_order_relaxed) &&
			    (!dpct.pkt_time || last_expire == worker_now(w))) {
				ct_shard_flush(w->shard, now, FLUSH_BUDGET);
				if (ct_shard_live(w->shard) == 0)
					atomic_store_explicit(&w->flush_done, true,
							      memory_order_release);
			}
			dpct_worker_publish(w);
			dpct_top_publish(w, false);
		}
		if (w->chan != NULL)
			ev_worker_sync(w->chan, w->shard, now);
		dpct_nat_worker_loop(w, now, ticked);
		dpct_mbox_service(w, now);
		dpct_dump_service(w, now);
		dpct_ha_service(w, now);
	}
	if (dpct.pol != NULL)
		pol_worker_offline(dpct.pol, w->index);
	dpct_nat_offline(w->index);
	dpct_worker_publish(w);
	return 0;
}
