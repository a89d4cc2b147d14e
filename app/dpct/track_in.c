/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's packet path is lib/pipeline's (pipe.h); this sets it up
 * from the configuration: zones from (port, outer VLAN) when there are
 * zone rules, checksum verification unless "checksum" is "off", the
 * policy, and the port id -> port index map the policy's rules use.
 */

#include "dpct.h"

static uint16_t
zone_of(const void *arg, uint16_t port, uint16_t vlan)
{
	const struct dpct_tracker_config *t = arg;

	return dpct_zone_lookup(t, dpct.cfg.zone, port, vlan);
}

void
dpct_track_setup(struct dpct_worker *w)
{
	const struct dpct_tracker_config *t = &dpct.cfg.tracker;

	w->pipe = (struct pipe_conf){
		.shard = w->shard,
		.pol = dpct.pol,
		.worker = w->index,
		.chan = w->chan,
		.csum_verify = t->checksum == DPCT_CSUM_VERIFY,
		.zone = dpct.cfg.zone,
		.zone_of = t->n_zone_rules != 0 ? zone_of : NULL,
		.zone_arg = t,
		.port_index = dpct.idx_of,
		.hlp = w->hlp,
	};
}
