/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control core (main lcore): event delivery (ev_ctl_step), periodic
 * statistics, replay end detection, flush and drain, and the statistics
 * printed and written at exit.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>

#include "dpct.h"
#include "dpct_export.h"
#include "dpct_top.h"
#include "ha.h"

#define CTL_BUDGET 4096
#define NO_PROGRESS_S 3

void
dpct_port_totals(struct dpct_app *a, unsigned port, struct dpct_port_counters *out)
{
	unsigned i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < a->n_workers; i++) {
		const struct dpct_port_counters *c = &a->workers[i].pc[port];

		out->rx += DPCT_CNT_GET(c->rx);
		out->tx += DPCT_CNT_GET(c->tx);
		out->tx_dropped += DPCT_CNT_GET(c->tx_dropped);
		out->dropped += DPCT_CNT_GET(c->dropped);
	}
}

static void
totals(struct dpct_app *a, struct ct_stats *st)
{
	struct ct_stats one;
	unsigned i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < a->n_workers; i++) {
		dpct_snapshot_read(&a->workers[i], &one);
		ct_stats_add(st, &one);
	}
}

void
dpct_print_stats(struct dpct_app *a, bool final)
{
	struct dpct_port_counters pc, sum;
	struct ct_stats st;
	unsigned i;

	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < a->n_ports; i++) {
		dpct_port_totals(a, i, &pc);
		printf("\n  ---------------------- Forward statistics for port %-2u "
		       "----------------------\n"
		       "  RX-packets: %-14" PRIu64 " RX-dropped: %-14" PRIu64
		       " RX-total: %-" PRIu64 "\n"
		       "  TX-packets: %-14" PRIu64 " TX-dropped: %-14" PRIu64
		       " TX-total: %-" PRIu64 "\n",
		       a->ports[i].id, pc.rx, pc.dropped, pc.rx, pc.tx, pc.tx_dropped,
		       pc.tx + pc.tx_dropped);
		sum.rx += pc.rx;
		sum.tx += pc.tx;
		sum.dropped += pc.dropped;
		sum.tx_dropped += pc.tx_dropped;
	}
	printf("\n  +++++++++++++++ Accumulated forward statistics for all ports"
	       "+++++++++++++++\n"
	       "  RX-packets: %-14" PRIu64 " RX-dropped: %-14" PRIu64 " RX-total: %-" PRIu64 "\n"
	       "  TX-packets: %-14" PRIu64 " TX-dropped: %-14" PRIu64 " TX-total: %-" PRIu64 "\n",
	       sum.rx, sum.dropped, sum.rx, sum.tx, sum.tx_dropped, sum.tx + sum.tx_dropped);
	totals(a, &st);
	printf("  conntrack: count %u dying %u max %u found %" PRIu64 " invalid %" PRIu64
	       " insert %" PRIu64 " insert_failed %" PRIu64 " drop %" PRIu64
	       " early_drop %" PRIu64 " expired %" PRIu64 " handoff %" PRIu64 "\n",
	       st.count, st.dying, st.max_entries, st.found, st.invalid, st.insert,
	       st.insert_failed, st.drop, st.early_drop, st.expired, st.handoff);
	if (a->ctl != NULL) {
		struct ev_ctl_stats es;

		ev_ctl_get_stats(a->ctl, &es);
		printf("  events: sent %" PRIu64 " failed %" PRIu64 " destroy_resent %" PRIu64
		       " destroy_acked %" PRIu64 " listener_dropped %" PRIu64 " listeners %u"
		       " demoted %" PRIu64 "\n",
		       es.events_sent, es.events_failed, es.destroy_resent, es.destroy_acked,
		       es.listener_dropped, ev_ctl_listener_count(a->ctl, NULL),
		       es.listener_demoted);
	}
	dpct_export_print(a);
	if (final)
		printf("  ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++"
		       "++++++++++++++\n");
	fflush(stdout);
}

static void
set_u64(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *
stats_obj(const struct ct_stats *st)
{
	json_t *o = json_object();

#define CT_X_JSON(f) json_object_set_new(o, #f, json_integer((json_int_t)st->f));
	CT_STATS_TABLE(CT_X_JSON)
#undef CT_X_JSON
	json_object_set_new(o, "count", json_integer(st->count));
	json_object_set_new(o, "dying", json_integer(st->dying));
	json_object_set_new(o, "max_entries", json_integer(st->max_entries));
	{
		/* Why packets were invalid (checksums, window, lengths ...). */
		json_t *r = json_object();
		unsigned k;

		for (k = 1; k < CT_INV_MAX; k++)
			json_object_set_new(r, ct_invalid_reason_name(k),
					    json_integer((json_int_t)st->invalid_by_reason[k]));
		json_object_set_new(o, "invalid_by_reason", r);
	}
	if (dpct.cfg.limits.n_rules != 0) {
		/* New connections each limit rule refused, by the rule's name. */
		json_t *r = json_object();
		unsigned k;

		for (k = 0; k < dpct.cfg.limits.n_rules && k < CT_MAX_LIMITS; k++)
			json_object_set_new(r, dpct.cfg.limits.rules[k].name,
					    json_integer((json_int_t)st->limit_drop_by_rule[k]));
		json_object_set_new(o, "limit_drop_by_rule", r);
	}
	return o;
}

/* Per-uid refusals, as /dpct/refusals: an array of {uid, counters...}
 * (uid -1 for the bucket of every further uid). */
static json_t *
refusals_json(struct dpct_app *a)
{
	struct ev_refusal r[EV_REFUSAL_UIDS + 1];
	json_t *arr = json_array();
	unsigned n = 0, i;

	if (a->ctl != NULL)
		n = ev_ctl_refusals(a->ctl, r, RTE_DIM(r));
	for (i = 0; i < n && arr != NULL; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "uid", json_integer(r[i].uid == EV_REFUSAL_OTHER ?
							   -1 : (json_int_t)r[i].uid));
#define REFUSAL_JSON(name) set_u64(o, #name, r[i].name);
		EV_REFUSAL_COUNTERS(REFUSAL_JSON)
#undef REFUSAL_JSON
		json_array_append_new(arr, o);
	}
	return arr;
}

/* Reassembly counters summed over the workers (a gauge: read without the seqlock). */
static json_t *
frag_json(struct dpct_app *a)
{
	struct pipe_frag_stats t = {0};
	json_t *o = json_object();
	unsigned i;

	for (i = 0; i < a->n_workers; i++) {
		const struct pipe_frag_stats *f = &a->workers[i].snap.frag;

		t.fragments += f->fragments;
		t.datagrams += f->datagrams;
		t.dropped += f->dropped;
		t.no_mbuf += f->no_mbuf;
		t.bad_csum += f->bad_csum;
		t.waiting += f->waiting;
	}
	set_u64(o, "fragments", t.fragments);
	set_u64(o, "datagrams", t.datagrams);
	set_u64(o, "dropped", t.dropped);
	set_u64(o, "no_mbuf", t.no_mbuf);
	set_u64(o, "bad_csum", t.bad_csum);
	set_u64(o, "waiting", t.waiting);
	return o;
}

json_t *
dpct_stats_json(struct dpct_app *a)
{
	json_t *root = json_object(), *shards = json_array(), *ports = json_array();
	json_t *tot, *lst = json_array();
	struct dpct_port_counters pc, sum;
	struct ct_stats st, one;
	unsigned i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < a->n_workers; i++) {
		json_t *so;

		dpct_snapshot_read(&a->workers[i], &one);
		ct_stats_add(&st, &one);
		so = stats_obj(&one);
		json_object_set_new(so, "shard", json_integer(i));
		json_object_set_new(so, "lcore", json_integer(a->workers[i].lcore));
		json_array_append_new(shards, so);
	}
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < a->n_ports; i++) {
		json_t *po = json_object();

		dpct_port_totals(a, i, &pc);
		json_object_set_new(po, "port", json_integer(a->ports[i].id));
		json_object_set_new(po, "name", json_string(a->ports[i].name));
		json_object_set_new(po, "rx", json_integer((json_int_t)pc.rx));
		json_object_set_new(po, "tx", json_integer((json_int_t)pc.tx));
		json_object_set_new(po, "tx_dropped", json_integer((json_int_t)pc.tx_dropped));
		json_object_set_new(po, "dropped",
				    json_integer((json_int_t)(pc.dropped + pc.tx_dropped)));
		json_array_append_new(ports, po);
		sum.rx += pc.rx;
		sum.tx += pc.tx;
		sum.dropped += pc.dropped;
		sum.tx_dropped += pc.tx_dropped;
	}
	tot = stats_obj(&st);
	json_object_set_new(tot, "undelivered_destroy", json_integer(st.dying));
	json_object_set_new(tot, "rx", json_integer((json_int_t)sum.rx));
	json_object_set_new(tot, "tx", json_integer((json_int_t)sum.tx));
	json_object_set_new(tot, "tx_dropped", json_integer((json_int_t)sum.tx_dropped));
	set_u64(tot, "dropped", sum.dropped + sum.tx_dropped);
	if (a->ctl != NULL) {
		struct ev_listener_info li[64];
		struct ev_ctl_stats es;
		unsigned n;

		ev_ctl_get_stats(a->ctl, &es);
		/* The control core's totals are authoritative for these three. */
		set_u64(tot, "events_retried", es.events_retried);
		set_u64(tot, "destroy_resent", es.destroy_resent);
		set_u64(tot, "destroy_acked", es.destroy_acked);
		set_u64(tot, "listeners_gone", es.listeners_gone);
		json_object_set_new(tot, "subscribe_refused",
				    json_integer((json_int_t)es.subscribe_refused));
		json_object_set_new(tot, "datagrams", json_integer((json_int_t)es.datagrams));
		json_object_set_new(tot, "encoded", json_integer((json_int_t)es.encoded));
		set_u64(tot, "result_backlog", es.result_backlog);
		set_u64(tot, "listener_demoted", es.listener_demoted);
		set_u64(tot, "requests_refused", es.requests_refused);
		set_u64(tot, "peers_cut", es.peers_cut);
		set_u64(tot, "peers_evicted", es.peers_evicted);
		set_u64(tot, "dumps", es.dumps);
		set_u64(tot, "dump_entries", es.dump_entries);
		set_u64(tot, "resend_targeted", es.resend_targeted);
		set_u64(tot, "exp_sent", es.exp_sent);
		set_u64(tot, "exp_failed", es.exp_failed);
		set_u64(tot, "exp_retried", es.exp_retried);
		set_u64(tot, "exp_resent", es.exp_resent);
		set_u64(tot, "exp_destroy_acked", es.exp_destroy_acked);
		n = ev_ctl_listeners(a->ctl, li, RTE_DIM(li));
		for (i = 0; i < n; i++) {
			json_t *l = json_object();

			json_object_set_new(l, "port_id", json_integer(li[i].port_id));
			json_object_set_new(l, "uid", json_integer(li[i].uid));
			json_object_set_new(l, "pid", json_integer(li[i].pid));
			json_object_set_new(l, "mask", json_integer(li[i].mask));
			json_object_set_new(l, "reliable", json_boolean(li[i].reliable));
			json_object_set_new(l, "sent", json_integer((json_int_t)li[i].sent));
			json_object_set_new(l, "failed", json_integer((json_int_t)li[i].failed));
			json_object_set_new(l, "slot", json_integer(li[i].slot));
			json_object_set_new(l, "kind", json_string(li[i].kind));
			json_object_set_new(l, "state", json_string(ev_listener_state_name(li[i].state)));
			json_object_set_new(l, "gid", json_integer(li[i].gid));
			json_object_set_new(l, "seq", json_integer(li[i].seq));
			set_u64(l, "dropped", li[i].dropped);
			set_u64(l, "dumped", li[i].dumped);
			json_array_append_new(lst, l);
		}
	}
	json_object_set_new(root, "totals", tot);
	json_object_set_new(root, "shards", shards);
	json_object_set_new(root, "ports", ports);
	json_object_set_new(root, "listeners", lst);
	json_object_set_new(root, "refusals", refusals_json(a));
	dpct_policy_stats_json(a, root);
	dpct_nat_stats_json(a, root);
	dpct_top_stats_json(root);
	json_object_set_new(root, "export", dpct_export_json(a));
	json_object_set_new(root, "fragments", frag_json(a));
	if (a->cfg.helpers.n_rules != 0)
		json_object_set_new(root, "helpers", dpct_helpers_json(a));
	if (a->ha != NULL)
		json_object_set_new(root, "ha", dpct_ha_json(a));
	return root;
}

int
dpct_write_stats_json(struct dpct_app *a, const char *path)
{
	json_t *root = dpct_stats_json(a);
	int rc;

	if (root == NULL)
		return -ENOMEM;
	rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	return rc == 0 ? 0 : -EIO;
}

static uint64_t
sum_rx(struct dpct_app *a, uint64_t *done)
{
	uint64_t rx = 0, d = 0;
	unsigned i;

	for (i = 0; i < a->n_workers; i++) {
		rx += atomic_load_explicit(&a->workers[i].rx_total, memory_order_acquire);
		d += atomic_load_explicit(&a->workers[i].done_total, memory_order_acquire);
	}
	*done = d;
	return rx;
}

/* Every port with a known record count has delivered it all. */
static bool
inputs_exhausted(struct dpct_app *a, bool *any_known)
{
	struct dpct_port_counters pc;
	unsigned i;

	*any_known = false;
	for (i = 0; i < a->n_ports; i++) {
		if (a->ports[i].pcap_records < 0)
			return false;
		*any_known = true;
		dpct_port_totals(a, i, &pc);
		if (pc.rx < (uint64_t)a->ports[i].pcap_records)
			return false;
	}
	return true;
}

static bool
drained(struct dpct_app *a, bool need_flush, uint32_t *dying)
{
	struct ct_stats st;
	unsigned i;
	bool ok = true;

	*dying = 0;
	for (i = 0; i < a->n_workers; i++) {
		struct dpct_worker *w = &a->workers[i];

		dpct_snapshot_read(w, &st);
		*dying += st.dying;
		/* Expectations whose DESTROY a listener has not taken yet. */
		if (w->hlp != NULL)
			*dying += w->snap.hlp.exp.dying;
		if (need_flush && !atomic_load_explicit(&w->flush_done, memory_order_acquire))
			ok = false;
		if (w->chan != NULL && (ev_chan_records_pending(w->chan) != 0 ||
					ev_chan_results_pending(w->chan) != 0))
			ok = false;
	}
	if (a->ctl != NULL && !ev_ctl_idle(a->ctl))
		ok = false;
	return ok && *dying == 0;
}

static bool
flushed(struct dpct_app *a)
{
	unsigned i;

	for (i = 0; i < a->n_workers; i++)
		if (!atomic_load_explicit(&a->workers[i].flush_done, memory_order_acquire))
			return false;
	return true;
}

static void
ctl_step(struct dpct_app *a)
{
	static uint64_t next_gauge;
	uint64_t tsc;

	if (a->ctl == NULL)
		return;
	/* The stall policy's view of the table, every 10 ms. */
	tsc = rte_rdtsc();
	if (tsc >= next_gauge) {
		struct ct_stats st;

		next_gauge = tsc + a->tsc_hz / 100;
		totals(a, &st);
		ev_ctl_set_table(a->ctl, st.dying, st.max_entries);
	}
	ev_ctl_step(a->ctl, dpct_now(), CTL_BUDGET);
}

static void
ev_log(void *arg, int level, const char *msg)
{
	(void)arg;
	rte_log(level <= 3 ? RTE_LOG_ERR : level == 4 ? RTE_LOG_WARNING : RTE_LOG_INFO,
		dpct_logtype, "dpct: %s", msg);
}

static int control_loop(struct dpct_app *a, uint64_t t0, uint64_t hz);

/* Subscribed socket listeners: what --wait-listeners waits for (exporters
 * attached at start-up do not count, nor connections that have not
 * subscribed yet: the workers build a listener's kinds from its subscribe
 * on, so RX must not start before it). */
static unsigned
socket_listeners(struct dpct_app *a)
{
	struct ev_listener_info li[64];
	unsigned n = ev_ctl_listeners(a->ctl, li, RTE_DIM(li)), i, k = 0;

	for (i = 0; i < n; i++)
		k += li[i].kind != NULL && strcmp(li[i].kind, "socket") == 0 &&
		     li[i].state != EV_LS_PENDING;
	return k;
}

int
dpct_control_run(struct dpct_app *a)
{
	uint64_t hz = a->tsc_hz, t0 = rte_rdtsc();
	int rc;

	if (a->ctl != NULL) {
		ev_ctl_set_log(a->ctl, ev_log, NULL);
		if (dpct_dump_init(a) < 0)
			DPCT_LOG(WARNING, "events: no memory for dumps; dump requests refused\n");
	}
	rc = control_loop(a, t0, hz);
	dpct_dump_free(a);
	return rc;
}

static int
control_loop(struct dpct_app *a, uint64_t t0, uint64_t hz)
{
	uint64_t next_stats, last_rx = 0, last_move;
	uint64_t drain_until = 0, settle_until = 0, done, rx, tsc;
	bool draining = false, any_known;
	uint32_t dying = 0;

	if (dpct_export_start(a) < 0 || dpct_ha_start(a) < 0)
		return DPCT_EXIT_RUNTIME;
	if (a->opts.wait_listeners > 0 && a->ctl != NULL) {
		while (socket_listeners(a) < a->opts.wait_listeners &&
		       rte_rdtsc() - t0 < 30 * hz && !atomic_load(&a->sig)) {
			ctl_step(a);
			usleep(1000);
		}
		if (socket_listeners(a) < a->opts.wait_listeners)
			DPCT_LOG(WARNING, "only %u of %u listeners after 30 s, starting anyway\n",
				 socket_listeners(a), a->opts.wait_listeners);
	}
	atomic_store_explicit(&a->go, true, memory_order_release);
	next_stats = rte_rdtsc() + (uint64_t)a->opts.stats_period_s * hz;
	last_move = rte_rdtsc();

	for (;;) {
		ctl_step(a);
		tsc = rte_rdtsc();
		if (a->opts.stats_period_s > 0 && tsc >= next_stats) {
			next_stats = tsc + (uint64_t)a->opts.stats_period_s * hz;
			dpct_print_stats(a, false);
		}
		rx = sum_rx(a, &done);
		if (rx != last_rx) {
			last_rx = rx;
			last_move = tsc;
		}
		if (!draining && atomic_load(&a->sig)) {
			DPCT_LOG(INFO, "signal: stopping RX, %sdraining (max %u ms)\n",
				 a->opts.flush_on_exit ? "flushing, " : "", a->opts.drain_timeout_ms);
			atomic_store(&a->stop_rx, true);
			/* Every NEW a consumer saw gets its DESTROY across a
			 * planned restart. */
			if (a->opts.flush_on_exit)
				atomic_store(&a->flush, true);
			draining = true;
			drain_until = tsc + (uint64_t)a->opts.drain_timeout_ms * hz / 1000;
			settle_until = tsc + hz / 20;
		}
		if (!draining && a->opts.replay && rx == done) {
			bool eof = inputs_exhausted(a, &any_known);

			/* The safety net: input that stopped moving (or had no known length). */
			if (!eof && tsc - last_move > NO_PROGRESS_S * hz) {
				if (any_known)
					DPCT_LOG(WARNING, "input stalled; stopping\n");
				eof = true;
			}
			if (eof) {
				DPCT_LOG(INFO, "input exhausted after %" PRIu64 " packets%s\n", rx,
					 a->opts.flush_on_eof ? ", flushing" : "");
				atomic_store(&a->stop_rx, true);
				/* The clock stays at the last capture time while the
				 * table is flushed, then runs on. */
				if (a->opts.flush_on_eof)
					atomic_store(&a->flush, true);
				else
					atomic_store_explicit(&a->eof_tsc, tsc ? tsc : 1,
							      memory_order_release);
				draining = true;
				drain_until = tsc + (uint64_t)a->opts.drain_timeout_ms * hz / 1000;
				/* Let every worker publish a snapshot taken after EOF. */
				settle_until = tsc + hz / 20;
			}
		}
		if (draining && atomic_load(&a->flush) && atomic_load(&a->eof_tsc) == 0 &&
		    flushed(a))
			atomic_store_explicit(&a->eof_tsc, tsc ? tsc : 1, memory_order_release);
		if (draining && tsc >= settle_until) {
			rx = sum_rx(a, &done);
			bool want_flush = atomic_load(&a->flush);

			if (rx == done && drained(a, want_flush, &dying))
				return DPCT_EXIT_OK;
			if (tsc >= drain_until) {
				DPCT_LOG(WARNING, "drain timeout: %u destroy events undelivered%s\n",
					 dying, want_flush && !flushed(a) ? ", flush incomplete" : "");
				/* Live mode as replay mode: lost DESTROYs are exit 3. */
				if (dying > 0 || (want_flush && !flushed(a)))
					return DPCT_EXIT_UNDELIVERED;
				return DPCT_EXIT_OK;
			}
		}
		if (a->ctl == NULL || ev_ctl_idle(a->ctl))
			usleep(draining ? 1000 : 200);
	}
}
