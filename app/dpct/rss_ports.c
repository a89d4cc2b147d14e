/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ownership from the NIC, the ethdev side: program every RSS port's RETA
 * and choose the ownership mode (see rss.h).
 */

#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>

#include "dpct.h"
#include "rss.h"

/* Program the port's RETA; where it cannot be written, accept it if it already matches. */
static int
reta_program(const struct dpct_rss *r, uint16_t port, unsigned reta_size)
{
	struct rte_eth_rss_reta_entry64 want[DPCT_RSS_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_rss_reta_entry64 got[DPCT_RSS_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	unsigned i;
	int rc;

	memset(want, 0, sizeof(want));
	dpct_rss_reta_fill(r, want, reta_size);
	rc = rte_eth_dev_rss_reta_update(port, want, (uint16_t)reta_size);
	if (rc == 0)
		return 0;
	memset(got, 0, sizeof(got));
	for (i = 0; i < reta_size / RTE_ETH_RETA_GROUP_SIZE; i++)
		got[i].mask = UINT64_MAX;
	if (rte_eth_dev_rss_reta_query(port, got, (uint16_t)reta_size) != 0)
		return rc;
	for (i = 0; i < reta_size; i++)
		if (got[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] !=
		    want[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE])
			return rc;
	return 0;
}

int
dpct_rss_ports_init(struct dpct_app *a)
{
	struct dpct_rss *r = &a->rss;
	unsigned i, reta_min = 0, nw = a->n_workers;
	uint16_t reta_size[DPCT_MAX_PORTS];
	int rc;

	for (i = 0; i < a->n_ports; i++) {
		const struct dpct_port *p = &a->ports[i];
		struct rte_eth_dev_info info;

		reta_size[i] = 0;
		if (p->id >= DPCT_RSS_MAX_PORTS || !r->port_rss[p->id])
			continue;
		/* Queue q is polled by worker q: the table can name every worker only
		 * when the port has a queue for each. */
		if (p->nb_rxq != nw || rte_eth_dev_info_get(p->id, &info) != 0 ||
		    info.reta_size < RTE_ETH_RETA_GROUP_SIZE ||
		    info.reta_size > DPCT_RSS_RETA_MAX ||
		    (info.reta_size & (info.reta_size - 1)) != 0) {
			r->port_rss[p->id] = false;
			continue;
		}
		reta_size[i] = info.reta_size;
		if (reta_min == 0 || info.reta_size < reta_min)
			reta_min = info.reta_size;
	}
	if (nw < 2)
		reta_min = 0;
	rc = dpct_rss_init(r, reta_min, nw);
	if (rc != 0)
		return rc;
	for (i = 0; i < a->n_ports && r->on; i++) {
		const struct dpct_port *p = &a->ports[i];

		if (reta_size[i] == 0)
			continue;
		rc = reta_program(r, p->id, reta_size[i]);
		if (rc != 0) {
			DPCT_LOG(WARNING, "port %u: RETA of %u not programmable (%s): its "
				 "packets are placed by software\n", p->id, reta_size[i],
				 rte_strerror(-rc));
			r->port_rss[p->id] = false;
		}
	}
	r->on = false;
	for (i = 0; i < a->n_ports && nw > 1; i++)
		if (a->ports[i].id < DPCT_RSS_MAX_PORTS && r->port_rss[a->ports[i].id])
			r->on = true;
	for (i = 0; i < a->n_ports; i++) {
		const struct dpct_port *p = &a->ports[i];
		bool own = p->id < DPCT_RSS_MAX_PORTS && r->port_rss[p->id] && r->on;

		DPCT_LOG(INFO, "port %u: %s\n", p->id,
			 own ? "flows placed by symmetric RSS + dpct RETA" :
			 r->on ? "no usable RSS: flows placed by software Toeplitz (handoff)" :
			 nw > 1 ? "no usable RSS: flows placed by the keyed hash (handoff)" :
				  "one worker");
	}
	return 0;
}
