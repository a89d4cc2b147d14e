/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The external cache of the peer's connections (ha_priv.h), role changes,
 * resync requests and the promotion's commit: the control core hands each
 * entry to its owning worker through the worker's promotion mailbox, a page
 * at a time, without waiting (the answers are picked up on later steps).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>

#include "ct_import.h"
#include "dpct.h"
#include "ha_priv.h"
#include "rss.h"

static uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
dpct_ha_cache_init(struct dpct_ha *h)
{
	h->cache = sync_cache_create(h->app->cfg.max_entries);
	return h->cache != NULL ? 0 : -errno;
}

void
dpct_ha_cache_free(struct dpct_ha *h)
{
	sync_cache_free(h->cache);
	h->cache = NULL;
}

void
dpct_ha_cache_apply(struct dpct_ha *h, const struct sync_msg *m)
{
	/* A primary's own tables are the truth: it keeps no copy of the peer's. */
	if (h->role == DPCT_HA_PRIMARY)
		return;
	sync_cache_apply(h->cache, m, dpct_ha_mono_ns());
}

_Static_assert(DPCT_HA_MAX_WORKERS >= DPCT_MAX_WORKERS, "a commit list per worker");

/* ------------------------------------------------------------------------ */
/* Promotion: the external cache into the shards, each entry on its owner.   */

static int
dump_collect(const struct ct_event_rec *r, void *arg)
{
	struct dpct_ha_mbox *mb = arg;

	if (mb->n >= DPCT_HA_MBOX_MAX)
		return -1;
	mb->recs[mb->n++] = *r;
	return 0;
}

void
dpct_ha_service(struct dpct_worker *w, uint64_t now)
{
	struct dpct_ha_mbox *mb = &w->ha_mbox;
	unsigned i;

	if (atomic_load_explicit(&mb->state, memory_order_acquire) != 1)
		return;
	if (mb->op == DPCT_HA_OP_DUMP) {
		mb->n = 0;
		ct_shard_iterate(w->shard, &mb->cursor, DPCT_HA_MBOX_MAX, false, now, dump_collect,
				 mb);
		atomic_store_explicit(&mb->state, 2, memory_order_release);
		return;
	}
	mb->imported = mb->exists = mb->failed = 0;
	for (i = 0; i < mb->n; i++) {
		int rc = ct_shard_import(w->shard, &mb->recs[i], now);

		if (rc == 0)
			mb->imported++;
		else if (rc == -EEXIST)
			mb->exists++;
		else
			mb->failed++;
	}
	dpct_worker_publish(w);
	atomic_store_explicit(&mb->state, 2, memory_order_release);
}

struct promo_walk {
	struct dpct_ha *h;
	uint64_t now;
	unsigned count[DPCT_HA_MAX_WORKERS];  /* first pass: entries per owner */
	bool counting;
};

static int
promo_add(const struct sync_cache_ent *x, void *arg)
{
	struct promo_walk *pw = arg;
	struct dpct_ha *h = pw->h;
	const struct sync_entry *e = &x->e;
	uint64_t age_s = (pw->now - x->updated_ns) / 1000000000ull;
	struct ct_event_rec r;
	unsigned w;

	if (pw->counting) {
		pw->count[dpct_rss_owner_of(&h->app->rss, &e->orig)]++;
		return 0;
	}
	memset(&r, 0, sizeof(r));
	r.orig = e->orig;
	r.reply = e->reply;
	r.pkts[0] = e->pkts[0];
	r.pkts[1] = e->pkts[1];
	r.bytes[0] = e->bytes[0];
	r.bytes[1] = e->bytes[1];
	r.status = (uint16_t)e->status;
	r.tcp_state = e->tcp_state;
	r.tcp_wscale[0] = e->wscale[0];
	r.tcp_wscale[1] = e->wscale[1];
	r.tcp_dflags[0] = e->dflags[0];
	r.tcp_dflags[1] = e->dflags[1];
	r.sctp_vtag[0] = e->sctp_vtag[0];
	r.sctp_vtag[1] = e->sctp_vtag[1];
	r.mark = e->mark;
	r.timeout_s = e->timeout_s != 0 ? (uint32_t)(e->timeout_s - age_s) : 0;
	if (e->events & CT_EV_DESTROY) {
		/* It ended on the peer, whose listeners had not all taken its
		 * DESTROY: it ends here at once and is reported from here. */
		h->commit_dying++;
		r.timeout_s = 1;
	} else if (e->timeout_s != 0 && age_s >= e->timeout_s) {
		/* It timed out while no box tracked it: committed all the same, to
		 * expire at once, so that its end is still reported. */
		h->commit_expired++;
		r.timeout_s = 1;
	}
	w = dpct_rss_owner_of(&h->app->rss, &r.orig);
	h->todo[w][h->n_todo[w]++] = r;
	return 0;
}

/* Lists the cache per owner and empties it. @return false when nothing is to be done. */
static bool
promote_begin(struct dpct_ha *h)
{
	struct dpct_app *a = h->app;
	uint32_t n = sync_cache_count(h->cache);
	struct promo_walk pw = { .h = h, .now = dpct_ha_mono_ns(), .counting = true };
	unsigned i;

	if (h->todo[0] != NULL)
		return true;    /* a commit still running (primary, backup, primary again) */
	/* Two walks: how many per owner, then the lists of exactly that size. */
	sync_cache_walk(h->cache, promo_add, &pw);
	pw.counting = false;
	for (i = 0; i < a->n_workers && i < DPCT_HA_MAX_WORKERS; i++) {
		h->todo[i] = malloc(sizeof(struct ct_event_rec) * (pw.count[i] ? pw.count[i] : 1));
		h->n_todo[i] = 0;
		h->pos[i] = 0;
		if (h->todo[i] == NULL) {
			DPCT_LOG(ERR, "ha: no memory to commit %u entries\n", n);
			while (i-- > 0) {
				free(h->todo[i]);
				h->todo[i] = NULL;
			}
			h->commit_failed += n;
			return false;
		}
	}
	h->promote_start_ns = pw.now;
	sync_cache_walk(h->cache, promo_add, &pw);
	sync_cache_clear(h->cache);
	return true;
}

void
dpct_ha_promote_step(struct dpct_ha *h)
{
	struct dpct_app *a = h->app;
	bool busy = false;
	unsigned i;

	if (!h->promoting || h->todo[0] == NULL)
		return;
	for (i = 0; i < a->n_workers && i < DPCT_HA_MAX_WORKERS; i++) {
		struct dpct_ha_mbox *mb = &a->workers[i].ha_mbox;
		unsigned st = atomic_load_explicit(&mb->state, memory_order_acquire), k;

		if (st == 2) {
			h->committed += mb->imported;
			h->commit_exists += mb->exists;
			h->commit_failed += mb->failed;
			atomic_store_explicit(&mb->state, 0, memory_order_relaxed);
			st = 0;
		}
		if (st == 0 && h->pos[i] < h->n_todo[i]) {
			k = RTE_MIN(h->n_todo[i] - h->pos[i], (unsigned)DPCT_HA_MBOX_MAX);
			memcpy(mb->recs, &h->todo[i][h->pos[i]], k * sizeof(mb->recs[0]));
			mb->op = DPCT_HA_OP_IMPORT;
			mb->n = k;
			h->pos[i] += k;
			atomic_store_explicit(&mb->state, 1, memory_order_release);
			st = 1;
		}
		busy |= st != 0;
	}
	if (busy)
		return;
	for (i = 0; i < a->n_workers && i < DPCT_HA_MAX_WORKERS; i++) {
		free(h->todo[i]);
		h->todo[i] = NULL;
	}
	__atomic_store_n(&h->promoting, false, __ATOMIC_RELEASE);
	h->promote_ms = (dpct_ha_mono_ns() - h->promote_start_ns) / 1000000ull;
	DPCT_LOG(NOTICE, "ha: committed %" PRIu64 " entries from the peer in %" PRIu64 " ms (%"
		 PRIu64 " already tracked, %" PRIu64 " timed out meanwhile, %" PRIu64
		 " refused, %" PRIu64 " ended there with their DESTROY undelivered)\n",
		 h->committed, h->promote_ms, h->commit_exists, h->commit_expired,
		 h->commit_failed, h->commit_dying);
}

void
dpct_ha_role_changed(struct dpct_ha *h)
{
	h->last_role_ns = wall_ns();
	DPCT_LOG(NOTICE, "ha: now %s (external cache: %u entries)\n",
		 h->role == DPCT_HA_PRIMARY ? "primary" : "backup", sync_cache_count(h->cache));
	if (h->role == DPCT_HA_PRIMARY) {
		if (!promote_begin(h))
			__atomic_store_n(&h->promoting, false, __ATOMIC_RELEASE);
	} else {
		/* A demoted box starts a fresh copy of its new primary's table. */
		sync_cache_clear(h->cache);
	}
}

/* ------------------------------------------------------------------------ */
/* Resync: every live entry to the peer, a page per worker at a time, paced
 * by the resend store (a page goes out only while half of it is free).     */

void
dpct_ha_resync(struct dpct_ha *h)
{
	if (h->resyncing)
		return;
	h->resyncing = true;
	h->rs_worker = 0;
	h->rs_posted = false;
	h->rs_sent = 0;
	h->rs_skipped = 0;
	h->app->workers[0].ha_mbox.cursor = 0;
	DPCT_LOG(NOTICE, "ha: full resync to %s\n", h->conf.peer);
}

void
dpct_ha_resync_step(struct dpct_ha *h)
{
	struct dpct_app *a = h->app;
	struct dpct_ha_mbox *mb;
	unsigned i;

	/* The promotion uses the same mailboxes: one at a time. */
	if (!h->resyncing || h->promoting)
		return;
	if (h->rs_worker >= a->n_workers) {
		h->resyncing = false;
		h->last_resync_ns = wall_ns();
		DPCT_LOG(NOTICE, "ha: resync to %s done, %" PRIu64 " connections\n", h->conf.peer,
			 h->rs_sent);
		return;
	}
	mb = &a->workers[h->rs_worker].ha_mbox;
	if (!h->rs_posted) {
		if (sync_ftfw_pending(h->ftfw) + DPCT_HA_MBOX_MAX > h->conf.resend_queue / 2)
			return;
		mb->op = DPCT_HA_OP_DUMP;
		h->rs_posted = true;
		h->rs_post_seq = sync_ftfw_next_seq(h->ftfw);
		atomic_store_explicit(&mb->state, 1, memory_order_release);
		return;
	}
	if (atomic_load_explicit(&mb->state, memory_order_acquire) != 2)
		return;
	for (i = 0; i < mb->n; i++) {
		struct ct_event_rec r = mb->recs[i];

		/* A DEL or UPD sent since the page was asked for is newer than the
		 * snapshot (a NEW after its DEL would leave an ended connection). */
		if (sync_ftfw_sent_since(h->ftfw, sync_flow_key(&r.orig), h->rs_post_seq)) {
			h->rs_skipped++;
			continue;
		}
		/* The peer may hold none of it: each one as a NEW. */
		r.events = CT_EV_NEW;
		if (dpct_ha_send_rec(h, &r) == 0)
			h->rs_sent++;
	}
	h->rs_posted = false;
	if (mb->cursor == UINT32_MAX && ++h->rs_worker < a->n_workers)
		a->workers[h->rs_worker].ha_mbox.cursor = 0;
	atomic_store_explicit(&mb->state, 0, memory_order_relaxed);
}

void
dpct_ha_cache_json(struct dpct_ha *h, json_t *o)
{
	const struct sync_cache_stats *cs = sync_cache_stats(h->cache);
	json_object_set_new(o, "cache_entries", json_integer(sync_cache_count(h->cache)));
	json_object_set_new(o, "cache_inserted", json_integer((json_int_t)cs->inserted));
	json_object_set_new(o, "cache_updated", json_integer((json_int_t)cs->updated));
	json_object_set_new(o, "cache_deleted", json_integer((json_int_t)cs->deleted));
	json_object_set_new(o, "cache_del_unknown", json_integer((json_int_t)cs->del_unknown));
	json_object_set_new(o, "cache_del_stale", json_integer((json_int_t)cs->del_stale));
	json_object_set_new(o, "commit_dying", json_integer((json_int_t)h->commit_dying));
	json_object_set_new(o, "cache_full", json_integer((json_int_t)cs->full));
	json_object_set_new(o, "committed", json_integer((json_int_t)h->committed));
	json_object_set_new(o, "commit_failed", json_integer((json_int_t)h->commit_failed));
	json_object_set_new(o, "commit_expired", json_integer((json_int_t)h->commit_expired));
	json_object_set_new(o, "commit_exists", json_integer((json_int_t)h->commit_exists));
	json_object_set_new(o, "commit_ms", json_integer((json_int_t)h->promote_ms));
	json_object_set_new(o, "committing", json_boolean(h->promoting));
	json_object_set_new(o, "last_resync_ns", json_integer((json_int_t)h->last_resync_ns));
	json_object_set_new(o, "resync_sent", json_integer((json_int_t)h->rs_sent));
	json_object_set_new(o, "resync_skipped", json_integer((json_int_t)h->rs_skipped));
	json_object_set_new(o, "resyncing", json_boolean(h->resyncing));
	json_object_set_new(o, "last_role_change_ns", json_integer((json_int_t)h->last_role_ns));
}
