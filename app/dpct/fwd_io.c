/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding engine "io" (testpmd style): passed packets leave through the
 * paired port.
 */

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "dpct.h"

/* io engine: out of the paired port, through the queue owner if need be. */
static void
fwd_io(struct dpct_worker *w, uint16_t in_port, struct rte_mbuf **m, uint16_t n)
{
	uint16_t out = dpct.ports[dpct.idx_of[in_port]].peer;
	int q = w->tx_queue[out];
	unsigned owner, sent = 0, tries;
	struct rte_ring *r;

	if (q >= 0) {
		dpct_tx_own(w, out, (uint16_t)q, m, n);
		return;
	}
	owner = w->index % dpct.ports[out].nb_txq;
	r = w->txr[owner];
	for (unsigned i = 0; i < n; i++)
		m[i]->port = dpct.ports[out].id;
	for (tries = 0; sent < n && tries < 1000; tries++) {
		sent += rte_ring_enqueue_burst(r, (void **)m + sent, n - sent, NULL);
		if (sent < n)
			rte_delay_us(1);
	}
	if (sent < n) {
		DPCT_CNT_ADD(w->pc[out].tx_dropped, n - sent);
		rte_pktmbuf_free_bulk(m + sent, n - sent);
		DPCT_CNT_PUBLISH(w->done_total, n - sent);
	}
	/* The owner counts the ones it transmits. */
}

const struct dpct_fwd_engine dpct_fwd_io = { .name = "io", .fwd = fwd_io };
