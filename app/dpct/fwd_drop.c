/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding engine "drop" (rxonly, testpmd style): passed packets are
 * counted as dropped and freed.
 */

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "dpct.h"

static void
fwd_drop(struct dpct_worker *w, uint16_t in_port, struct rte_mbuf **m, uint16_t n)
{
	DPCT_CNT_ADD(w->pc[dpct.idx_of[in_port]].dropped, n);
	rte_pktmbuf_free_bulk(m, n);
	DPCT_CNT_PUBLISH(w->done_total, n);
}

const struct dpct_fwd_engine dpct_fwd_drop = { .name = "drop", .fwd = fwd_drop };
