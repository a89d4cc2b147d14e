/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a configuration costs in memory, computed from the same derivations
 * the app allocates with (dpct_config_shard(), ct_shard_mem_size(), the
 * event channel's and rte_ring_create()'s ring sizes), so a table that
 * cannot fit is refused in a moment instead of after minutes of paging.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ring_core.h>

#include "config_mem.h"
#include "dpct_config.h"

/* An ev_chan's own struct: two ring pointers and two cache-aligned counter blocks. */
#define EV_CHAN_STRUCT_MAX 1024u

/* rte_ring_get_memsize_elem(): the header and `count` elements, cache-line aligned. */
static uint64_t
ring_bytes(uint64_t esize, uint64_t count)
{
	return RTE_ALIGN_CEIL(sizeof(struct rte_ring) + count * esize, RTE_CACHE_LINE_SIZE);
}

/* ev_chan_create_mem(): N + 1 slots rounded up to a power of two (N usable). */
static uint64_t
chan_ring_bytes(uint64_t esize, uint32_t n)
{
	uint32_t count = rte_align32pow2(n + 1 < 2 ? 2 : n + 1);

	return ring_bytes(esize, count);
}

int
dpct_config_mem(const struct dpct_config *c, unsigned workers, struct dpct_mem_need *out)
{
	struct ct_shard_mem m;
	struct ct_conf cc;
	unsigned i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (workers == 0)
		workers = 1;
	for (i = 0; i < workers; i++) {
		dpct_config_shard(c, i, workers, &cc);
		if (ct_shard_mem_size(&cc, &m) != 0)
			rc = -EINVAL;
		out->entries += m.entries;
		out->index += m.index;
		out->wheel += m.wheel;
		out->stage += m.stage;
		out->shards += m.shard + m.limits; /* with the limits' counts and top sketch */
		out->slots += m.slots;
		if (c->events_enabled)
			out->event_rings += EV_CHAN_STRUCT_MAX +
					    chan_ring_bytes(sizeof(struct ct_event_rec),
							    c->event_ring_size) +
					    chan_ring_bytes(sizeof(struct ct_result),
							    c->result_ring_size);
	}
	/* handoff[j] and txr[j] of every worker to every other, sized as configured. */
	out->handoff_rings = (uint64_t)workers * (workers - 1) * 2 *
			     ring_bytes(sizeof(void *), c->handoff_ring_size);
	out->total = out->entries + out->index + out->wheel + out->stage + out->shards +
		     out->event_rings + out->handoff_rings;
	return rc;
}

const char *
dpct_mem_human(uint64_t bytes, char *buf, unsigned len)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	unsigned u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < RTE_DIM(unit)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

const char *
dpct_mem_describe(const struct dpct_mem_need *n, uint32_t max_entries, unsigned workers,
		  char *buf, unsigned len)
{
	char b[6][32];

	snprintf(buf, len, "%s for %u entries over %u worker%s (entries %s, index %s, "
		 "timer wheels %s, event rings %s, handoff rings %s)",
		 dpct_mem_human(n->total, b[0], sizeof(b[0])), max_entries, workers,
		 workers == 1 ? "" : "s", dpct_mem_human(n->entries, b[1], sizeof(b[1])),
		 dpct_mem_human(n->index, b[2], sizeof(b[2])),
		 dpct_mem_human(n->wheel, b[3], sizeof(b[3])),
		 dpct_mem_human(n->event_rings + n->stage, b[4], sizeof(b[4])),
		 dpct_mem_human(n->handoff_rings, b[5], sizeof(b[5])));
	return buf;
}
