/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The workers' side of translation (docs/nat.md): each shard binds through
 * lib/nat with the installed table (config_nat.h), refreshed once a poll
 * loop; replies to pool ports are steered to the worker whose slice holds
 * the port (dpct_nat_owner()); ports are picked, on RSS ports, so that the
 * NIC steers replies to the binding worker; port-block events go to the
 * worker's event ring as records; exhaustion and pool fill are logged,
 * rate-limited.
 */

#include <inttypes.h>
#include <syslog.h>

#include <rte_cycles.h>

#include "config_nat.h"
#include "dpct.h"
#include "ev.h"

/* Block events moved to the ring per loop, at most. */
#define NAT_BLOCK_BATCH 32
/* Exhaustion and fill warnings: at most one per worker this often. */
#define NAT_WARN_INTERVAL_NS (UINT64_C(10) * 1000000000u)

/* The NIC steers a reply to `reply` to this worker. */
static bool
rss_pref(void *arg, const struct ct_tuple *reply)
{
	const struct dpct_worker *w = arg;

	return dpct_rss_owner_tuple(&dpct.rss, reply) == w->index;
}

void
dpct_nat_worker_setup(struct dpct_worker *w)
{
	struct ct_nat_hook h;

	if (!dpct_nat_configured(&dpct.cfg))
		return;
	memset(&w->nat, 0, sizeof(w->nat));
	w->nat.worker = w->index;
	if (dpct.rss.on) {
		w->nat.pref = rss_pref;
		w->nat.pref_arg = w;
	}
	pipe_nat_hook(&w->nat, &h);
	if (ct_shard_set_nat(w->shard, &h) != 0) {
		DPCT_LOG(ERR, "worker %u: shard without room for translation\n", w->index);
		return;
	}
	w->pipe.nat = &w->nat;
}

/* Exhaustion (connections dropped) and the fill of the worker's slices, logged. */
static void
nat_warn(struct dpct_worker *w, const struct nat_table *t, uint64_t now)
{
	struct nat_stats st;
	unsigned pct;

	if (now - w->nat_warn_ns < NAT_WARN_INTERVAL_NS && w->nat_warn_ns != 0)
		return;
	nat_worker_stats(t, w->index, &st);
	if (st.exhausted != w->nat_exhausted_logged) {
		DPCT_LOG(WARNING,
			 "nat: worker %u: pool exhausted, %" PRIu64 " connections dropped "
			 "(%" PRIu64 " since the last warning); %u of %u ports in use\n",
			 w->index, st.exhausted, st.exhausted - w->nat_exhausted_logged,
			 st.ports_in_use, st.ports_total);
		w->nat_exhausted_logged = st.exhausted;
		w->nat_warn_ns = now;
	}
	if (st.ports_total == 0)
		return;
	/* The fullest slice: a TCP-only load fills its class, not the average of three. */
	pct = st.fill_pct;
	if (!w->nat_alarm && dpct.cfg.fill_alarm_high_pct != 0 &&
	    pct >= dpct.cfg.fill_alarm_high_pct) {
		w->nat_alarm = true;
		w->nat_warn_ns = now;
		DPCT_LOG(WARNING, "nat: worker %u: a pool's ports %u%% in use (%u of %u over "
			 "all pools and protocols)\n", w->index, pct, st.ports_in_use,
			 st.ports_total);
	} else if (w->nat_alarm && pct < dpct.cfg.fill_alarm_low_pct) {
		w->nat_alarm = false;
		w->nat_warn_ns = now;
		DPCT_LOG(NOTICE, "nat: worker %u: pool ports back to %u%% in use\n", w->index,
			 pct);
	}
}

/* A port-block event as a record (CT_REC_F_NAT_BLOCK). */
static void
block_record(const struct dpct_worker *w, const struct nat_block_ev *b, struct ct_event_rec *r)
{
	uint32_t in = rte_cpu_to_be_32(b->inside), out = rte_cpu_to_be_32(b->outside);

	memset(r, 0, sizeof(*r));
	r->orig.family = 4;
	r->reply.family = 4;
	memcpy(r->orig.src, &in, 4);
	memcpy(r->reply.dst, &out, 4);
	r->block_lo = b->port_lo;
	r->block_hi = b->port_hi;
	r->nat_event = b->released ? CT_NAT_BLOCK_RELEASE : CT_NAT_BLOCK_ALLOC;
	r->start_ns = b->time_ns;
	r->stop_ns = b->released ? b->time_ns : 0;
	r->flags = CT_REC_F_NAT_BLOCK;
	r->shard = (uint16_t)w->index;
}

/*
 * Port-block events onto the event ring, oldest first; what the ring
 * refuses stays queued in lib/nat (and the block stays unusable) until a
 * later loop moves it. Without events they are consumed at once.
 */
static void
block_sync(struct dpct_worker *w, const struct nat_table *t)
{
	struct nat_block_ev ev[NAT_BLOCK_BATCH];
	struct ct_event_rec rec[NAT_BLOCK_BATCH];
	unsigned n = nat_block_events(t, w->index, ev, NAT_BLOCK_BATCH), i, pushed;

	if (n == 0)
		return;
	if (w->chan == NULL) {
		nat_block_events_done(t, w->index, n);
		return;
	}
	for (i = 0; i < n; i++)
		block_record(w, &ev[i], &rec[i]);
	pushed = ev_chan_push_records(w->chan, rec, n);
	nat_block_events_done(t, w->index, pushed);
	w->nat_block_ring_full += n - pushed;
}

void
dpct_nat_worker_refresh(struct dpct_worker *w, uint64_t now)
{
	if (w->pipe.nat == NULL)
		return;
	w->nat.table = dpct_nat_current(&dpct);
	if (w->nat.table != NULL)
		nat_set_now(w->nat.table, w->index, now);
}

void
dpct_nat_worker_loop(struct dpct_worker *w, uint64_t now, bool tick)
{
	const struct nat_table *t = w->nat.table;

	if (w->pipe.nat == NULL || t == NULL)
		return;
	block_sync(w, t);
	if (tick)
		nat_warn(w, t, now);
}

/* The owner of an original tuple when RSS decides: the NIC's, computed in software. */
static unsigned
rss_tuple_owner(void *arg, const struct ct_tuple *orig)
{
	return dpct_rss_owner_tuple(arg, orig);
}

unsigned
dpct_nat_owner(const struct dpct_worker *w, const struct ct_pkt *p, unsigned fallback)
{
	unsigned o;

	if (w->nat.table == NULL ||
	    nat_owner_ex(w->nat.table, p, dpct.n_workers, dpct.rss.on ? rss_tuple_owner : NULL,
			 &dpct.rss, &o) == 0)
		return fallback;
	return o;
}
