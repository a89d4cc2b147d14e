/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX flow export in the appliance (docs/export.md): one exporter per
 * configured collector, attached to the control core as a record consumer
 * (reliable for TCP collectors unless configured otherwise), drained at
 * exit (a paced UDP collector's queue too, within the drain timeout), with
 * per-collector statistics for --stats-json and telemetry.
 *
 * The exporters belong to the main lcore. Telemetry threads read their
 * counters (a torn read only misreports a counter) under `lock`, which
 * only guards their lifetime against dpct_export_stop().
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>

#include "dpct.h"
#include "dpct_export.h"

struct dpct_export {
	pthread_mutex_t lock;
	unsigned n;
	bool stopped;
	struct ev_ipfix *x[EV_IPFIX_MAX_COLLECTORS];
	struct ev_ipfix_collector coll[EV_IPFIX_MAX_COLLECTORS];
	bool reliable[EV_IPFIX_MAX_COLLECTORS];
	struct ev_ipfix_stats final[EV_IPFIX_MAX_COLLECTORS];
	uint64_t unacked_at_exit[EV_IPFIX_MAX_COLLECTORS];
};

static void
export_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= LOG_ERR)
		DPCT_LOG(ERR, "%s", msg);
	else if (level == LOG_WARNING)
		DPCT_LOG(WARNING, "%s", msg);
	else
		DPCT_LOG(NOTICE, "%s", msg);
}

static const char *
pace_text(const struct ev_ipfix_collector *k, char *buf, size_t len)
{
	if (k->transport == EV_IPFIX_TCP)
		snprintf(buf, len, "not paced (tcp)");
	else if (k->max_rate_pps == 0 && k->max_rate_bps == 0)
		snprintf(buf, len, "not paced");
	else if (k->max_rate_bps == 0)
		snprintf(buf, len, "paced at %u messages/s", k->max_rate_pps);
	else if (k->max_rate_pps == 0)
		snprintf(buf, len, "paced at %" PRIu64 " bit/s", k->max_rate_bps);
	else
		snprintf(buf, len, "paced at %u messages/s and %" PRIu64 " bit/s",
			 k->max_rate_pps, k->max_rate_bps);
	return buf;
}

int
dpct_export_start(struct dpct_app *a)
{
	const struct dpct_export_conf *ec = &a->cfg.export;
	struct dpct_export *e;
	struct ev_ipfix_conf c;
	unsigned i;
	char err[256], pace[96];
	int rc;

	if (!dpct_config_export_on(ec))
		return 0;
	if (a->ctl == NULL) {
		DPCT_LOG(ERR, "flow export needs the events control core (events.enabled)\n");
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	c = ec->ipfix;
	c.log = export_log;
	c.log_arg = NULL;
	for (i = 0; i < ec->n_collectors; i++) {
		struct ev_ipfix *x = ev_ipfix_create(&c, &ec->collectors[i], err, sizeof(err));

		if (x == NULL) {
			DPCT_LOG(ERR, "export.ipfix.collectors[%u]: %s\n", i, err);
			goto fail;
		}
		e->x[e->n] = x;
		e->coll[e->n] = ec->collectors[i];
		e->reliable[e->n] = ev_ipfix_reliable(x);
		e->n++;
		rc = ev_ctl_add_consumer(a->ctl, &ev_ipfix_ops, x, ev_ipfix_reliable(x));
		if (rc < 0) {
			DPCT_LOG(ERR, "export.ipfix.collectors[%u]: cannot attach: %s\n", i,
				 strerror(-rc));
			goto fail;
		}
		DPCT_LOG(INFO, "ipfix export to %s:%u over %s%s, observation domain %u, "
			 "active timeout %u s, %s\n", ec->collectors[i].host,
			 ec->collectors[i].port,
			 ec->collectors[i].transport == EV_IPFIX_TCP ? "tcp" : "udp",
			 e->reliable[e->n - 1] ? " (reliable)" : "", c.domain,
			 c.active_timeout_s, pace_text(&ec->collectors[i], pace, sizeof(pace)));
	}
	a->exp = e;
	return 0;
fail:
	/* Nothing has run yet: the control core never stepped the consumers. */
	for (i = 0; i < e->n; i++)
		ev_ipfix_free(e->x[i]);
	free(e);
	return -EINVAL;
}

void
dpct_export_stop(struct dpct_app *a, unsigned timeout_ms)
{
	struct dpct_export *e = a->exp;
	uint64_t hz = rte_get_tsc_hz(), until = rte_rdtsc() + (uint64_t)timeout_ms * hz / 1000;
	unsigned i;
	size_t left;

	if (e == NULL)
		return;
	/* What a TCP collector has not acknowledged yet, and what a paced UDP
	 * collector has not been sent yet, is still ours to lose. */
	do {
		left = 0;
		for (i = 0; i < e->n; i++)
			left += ev_ipfix_flush(e->x[i], dpct_now());
		if (left != 0)
			usleep(1000);
	} while (left != 0 && rte_rdtsc() < until);
	pthread_mutex_lock(&e->lock);
	for (i = 0; i < e->n; i++) {
		uint64_t lost;

		e->unacked_at_exit[i] = ev_ipfix_flush(e->x[i], dpct_now());
		if (e->coll[i].transport == EV_IPFIX_TCP) {
			if (e->unacked_at_exit[i] != 0)
				DPCT_LOG(WARNING, "ipfix %s:%u: %" PRIu64 " bytes of flow records "
					 "not acknowledged by the collector at exit\n",
					 e->coll[i].host, e->coll[i].port, e->unacked_at_exit[i]);
		} else if ((lost = ev_ipfix_discard(e->x[i])) != 0) {
			DPCT_LOG(WARNING, "ipfix %s:%u: %" PRIu64 " flow records still waiting "
				 "for the pacing after %u ms: lost (raise max_rate_pps or "
				 "--drain-timeout-ms)\n", e->coll[i].host, e->coll[i].port, lost,
				 timeout_ms);
			e->unacked_at_exit[i] = 0;
		}
		ev_ipfix_get_stats(e->x[i], &e->final[i]);
		ev_ipfix_free(e->x[i]);
		e->x[i] = NULL;
	}
	e->stopped = true;
	pthread_mutex_unlock(&e->lock);
}

unsigned
dpct_export_count(const struct dpct_app *a)
{
	return a->exp != NULL ? a->exp->n : 0;
}

int
dpct_export_info(struct dpct_app *a, unsigned i, struct dpct_export_info *out)
{
	struct dpct_export *e = a->exp;

	if (e == NULL || i >= e->n)
		return -ENOENT;
	pthread_mutex_lock(&e->lock);
	out->coll = e->coll[i];
	out->reliable = e->reliable[i];
	if (e->stopped)
		out->st = e->final[i];
	else
		ev_ipfix_get_stats(e->x[i], &out->st);
	out->unacked_at_exit = e->unacked_at_exit[i];
	pthread_mutex_unlock(&e->lock);
	return 0;
}

void
dpct_export_print(struct dpct_app *a)
{
	struct dpct_export_info in;
	unsigned i;

	for (i = 0; dpct_export_info(a, i, &in) == 0; i++)
		printf("  ipfix %s %s:%u: sent %" PRIu64 " (final %" PRIu64 " interim %" PRIu64
		       ") refused %" PRIu64 " lost %" PRIu64 " (queue full %" PRIu64
		       ", at exit %" PRIu64 ") queued %" PRIu64 " templates %" PRIu64
		       " reconnects %" PRIu64 " %s\n",
		       in.coll.transport == EV_IPFIX_TCP ? "tcp" : "udp", in.coll.host,
		       in.coll.port, in.st.records_sent, in.st.final_records,
		       in.st.interim_records, in.st.records_refused, in.st.records_lost,
		       in.st.queue_dropped, in.st.lost_at_exit, in.st.records_queued,
		       in.st.templates_sent, in.st.reconnects,
		       in.st.connected ? "connected" : "down");
}

json_t *
dpct_export_json(struct dpct_app *a)
{
	json_t *arr = json_array();
	struct dpct_export_info in;
	unsigned i;

	for (i = 0; arr != NULL && dpct_export_info(a, i, &in) == 0; i++) {
		json_t *o = json_object();

		if (o == NULL)
			break;
		json_object_set_new(o, "host", json_string(in.coll.host));
		json_object_set_new(o, "port", json_integer(in.coll.port));
		json_object_set_new(o, "transport",
				    json_string(in.coll.transport == EV_IPFIX_TCP ? "tcp" : "udp"));
		json_object_set_new(o, "reliable", json_boolean(in.reliable));
		json_object_set_new(o, "connected", json_boolean(in.st.connected));
		json_object_set_new(o, "max_rate_pps", json_integer(in.coll.max_rate_pps));
		json_object_set_new(o, "max_rate_bps",
				    json_integer((json_int_t)in.coll.max_rate_bps));
#define EXP_J(f) json_object_set_new(o, #f, json_integer((json_int_t)in.st.f));
		DPCT_EXPORT_STATS(EXP_J)
#undef EXP_J
		json_object_set_new(o, "unacked_at_exit",
				    json_integer((json_int_t)in.unacked_at_exit));
		json_array_append_new(arr, o);
	}
	return arr;
}
