/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers on the workers (lib/helper/hlp_track.h): each worker's shard
 * gets its helpers from the "helpers" section when that has rules, the
 * worker loop expires their expectations, and with several workers a ring
 * from each worker to each other carries the copies of expectations.
 */

#include <inttypes.h>

#include <jansson.h>
#include <rte_ring_elem.h>

#include "dpct.h"
#include "ev.h"
#include "hlp_track.h"

/* Messages a worker's helpers may have in flight to one other worker. */
#define HLP_RING_SIZE 1024
#define HLP_POLL_MAX 32

/* hlp_send_fn: into the rings of the other workers (this one is `arg`). */
static unsigned
send_msg(void *arg, unsigned to, const struct hlp_msg *m)
{
	const struct dpct_worker *w = arg;
	struct hlp_msg copy = *m;   /* rte_ring takes a non-const pointer */
	unsigned j, lost = 0;

	for (j = 0; j < dpct.n_workers; j++) {
		struct rte_ring *r = dpct.workers[j].hlp_in[w->index];

		if (j == w->index || (to != HLP_TO_ALL && to != j))
			continue;
		if (r == NULL || rte_ring_sp_enqueue_elem(r, &copy, sizeof(copy)) != 0)
			lost++;
	}
	return lost;
}

/* Rings from every other worker to `w`, and `w`'s helpers told of them. */
static int
peers_create(struct dpct_worker *w)
{
	char name[RTE_RING_NAMESIZE];
	unsigned k;

	for (k = 0; k < dpct.n_workers; k++) {
		if (k == w->index)
			continue;
		snprintf(name, sizeof(name), "hlp_%u_%u", k, w->index);
		w->hlp_in[k] = rte_ring_create_elem(name, sizeof(struct hlp_msg), HLP_RING_SIZE,
						    (int)rte_lcore_to_socket_id(w->lcore),
						    RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->hlp_in[k] == NULL) {
			DPCT_LOG(ERR, "worker %u: helpers: no ring from worker %u: %s\n", w->index,
				 k, rte_strerror(rte_errno));
			return -ENOMEM;
		}
	}
	if (hlp_track_set_peers(w->hlp, w->index, send_msg, w) != 0) {
		DPCT_LOG(ERR, "worker %u: helpers: no memory for copies\n", w->index);
		return -ENOMEM;
	}
	return 0;
}

void
dpct_helpers_poll(struct dpct_worker *w, uint64_t now)
{
	struct hlp_msg m[HLP_POLL_MAX];
	unsigned k, n, i;

	/* Expectation records only while a listener subscribes to expectation events. */
	hlp_track_set_events(w->hlp, w->chan != NULL && (ev_chan_kinds(w->chan) & EV_MASK_EXP) != 0);
	for (k = 0; k < dpct.n_workers; k++) {
		if (w->hlp_in[k] == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst_elem(w->hlp_in[k], m, sizeof(m[0]), HLP_POLL_MAX,
						   NULL);
		for (i = 0; i < n; i++)
			hlp_track_receive(w->hlp, &m[i], now);
	}
}

int
dpct_helpers_create(struct dpct_worker *w)
{
	const struct dpct_helpers_conf *hc = &dpct.cfg.helpers;
	struct hlp_conf c;
	char err[160];
	unsigned i, h;

	if (hc->n_rules == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	c.max_expectations = hc->max_expectations;
	for (h = 1; h < DPCT_HELPER_MAX && h <= HLP_HELPERS; h++) {
		c.cls[h - 1].max_expected = (uint8_t)hc->pol[h].max_expected;
		c.cls[h - 1].timeout_s = hc->pol[h].timeout_s;
	}
	c.grace_ns = (uint64_t)dpct.cfg.destroy_grace_ms * 1000000u;
	c.n_rules = hc->n_rules;
	for (i = 0; i < hc->n_rules && i < HLP_MAX_RULES; i++)
		c.rules[i] = (struct hlp_rule){
			.helper = hc->rules[i].helper,
			.family = hc->rules[i].family,
			.port = hc->rules[i].port,
			.zone = hc->rules[i].zone,
			.any_zone = hc->rules[i].any_zone,
		};
	w->hlp = hlp_track_create(&c, w->shard, err, sizeof(err));
	if (w->hlp == NULL) {
		DPCT_LOG(ERR, "worker %u: helpers: %s\n", w->index, err);
		return -ENOMEM;
	}
	if (dpct.n_workers > 1)
		return peers_create(w);
	return 0;
}

void
dpct_helpers_expire(struct dpct_worker *w, uint64_t now)
{
	if (w->hlp != NULL)
		hlp_track_expire(w->hlp, now, 64);
}

void
dpct_helpers_free(struct dpct_worker *w)
{
	unsigned k;

	hlp_track_free(w->hlp);
	w->hlp = NULL;
	for (k = 0; k < DPCT_MAX_WORKERS; k++) {
		rte_ring_free(w->hlp_in[k]);
		w->hlp_in[k] = NULL;
	}
}

static void
put(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

json_t *
dpct_helpers_json(struct dpct_app *a)
{
	struct hlp_track_stats t;
	json_t *o = json_object(), *e = json_object();
	unsigned i;

	memset(&t, 0, sizeof(t));
	/* Gauges and counters read without the seqlock, as the fragments'. */
	for (i = 0; i < a->n_workers; i++) {
		const struct hlp_track_stats *s = &a->workers[i].snap.hlp;

		t.helped += s->helped;
		t.related += s->related;
		t.related_copy += s->related_copy;
		t.cmds += s->cmds;
		t.dropped += s->dropped;
		t.refused += s->refused;
		t.not_sent += s->not_sent;
		t.resent += s->resent;
		t.copies += s->copies;
		t.msg_lost += s->msg_lost;
		t.exp.added += s->exp.added;
		t.exp.confirmed += s->exp.confirmed;
		t.exp.expired += s->exp.expired;
		t.exp.evicted += s->exp.evicted;
		t.exp.removed += s->exp.removed;
		t.exp.refused_full += s->exp.refused_full;
		t.exp.replaced += s->exp.replaced;
		t.exp.live += s->exp.live;
		t.exp.dying += s->exp.dying;
	}
	put(o, "helped", t.helped);
	put(o, "related", t.related);
	put(o, "related_copy", t.related_copy);
	put(o, "commands", t.cmds);
	put(o, "dropped", t.dropped);
	put(o, "refused", t.refused);
	put(o, "not_sent", t.not_sent);
	put(o, "resent", t.resent);
	put(o, "copies", t.copies);
	put(o, "messages_lost", t.msg_lost);
	put(e, "added", t.exp.added);
	put(e, "confirmed", t.exp.confirmed);
	put(e, "expired", t.exp.expired);
	put(e, "evicted", t.exp.evicted);
	put(e, "removed", t.exp.removed);
	put(e, "refused_full", t.exp.refused_full);
	put(e, "replaced", t.exp.replaced);
	put(e, "live", t.exp.live);
	put(e, "dying", t.exp.dying);
	json_object_set_new(o, "expectations", e);
	return o;
}
