/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The external cache of the peer's connections (ha_priv.h), role changes
 * and resync requests, on the control core.
 */
#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "dpct.h"
#include "ha_priv.h"

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

void
dpct_ha_role_changed(struct dpct_ha *h)
{
	h->last_role_ns = wall_ns();
	DPCT_LOG(NOTICE, "ha: now %s (external cache: %u entries)\n",
		 h->role == DPCT_HA_PRIMARY ? "primary" : "backup", sync_cache_count(h->cache));
	if (h->role == DPCT_HA_BACKUP) {
		/* A demoted box starts a fresh copy of its new primary's table. */
		sync_cache_clear(h->cache);
	}
}

void
dpct_ha_resync(struct dpct_ha *h)
{
	h->last_resync_ns = wall_ns();
	DPCT_LOG(WARNING, "ha: %s asked for a full resync (or NACKed messages no longer "
		 "kept); its cache fills from the next events of each connection\n", h->conf.peer);
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
	json_object_set_new(o, "cache_full", json_integer((json_int_t)cs->full));
	json_object_set_new(o, "committed", json_integer((json_int_t)h->committed));
	json_object_set_new(o, "commit_failed", json_integer((json_int_t)h->commit_failed));
	json_object_set_new(o, "commit_expired", json_integer((json_int_t)h->commit_expired));
	json_object_set_new(o, "last_resync_ns", json_integer((json_int_t)h->last_resync_ns));
	json_object_set_new(o, "last_role_change_ns", json_integer((json_int_t)h->last_role_ns));
}
