/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Translation counters (docs/nat.md): /dpct/nat, and "nat" in the final
 * statistics, from what each worker publishes with its shard's counters.
 */
#include <errno.h>
#include <stdio.h>

#include <jansson.h>
#include <rte_telemetry.h>

#include "dpct.h"
#include "tel_args.h"

/* struct nat_stats, field by field. */
#define NAT_STATS_FIELDS(X) \
	X(bound) X(released) X(exhausted) X(closed) X(proto_refused) X(excluded) X(rss_hits) \
	X(blocks_alloc) X(blocks_freed) X(release_orphan) X(ports_in_use) X(ports_total)

void
dpct_nat_snapshot_read(struct dpct_worker *w, struct nat_stats *st, uint64_t *rewrite_failed,
		       uint64_t *block_ring_full)
{
	unsigned s1, s2, tries;

	for (tries = 0; tries < 100000; tries++) {
		s1 = atomic_load_explicit(&w->snap.seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		*st = w->snap.nat;
		*rewrite_failed = w->snap.nat_rewrite_failed;
		*block_ring_full = w->snap.nat_block_ring_full;
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&w->snap.seq, memory_order_relaxed);
		if (s1 == s2)
			return;
	}
	*st = w->snap.nat;
	*rewrite_failed = w->snap.nat_rewrite_failed;
	*block_ring_full = w->snap.nat_block_ring_full;
}

/* Every worker's counters and their sum; the totals' drop counts come from the shards. */
struct nat_all {
	struct nat_stats w[DPCT_MAX_WORKERS];
	uint64_t rewrite_failed[DPCT_MAX_WORKERS];
	uint64_t block_ring_full[DPCT_MAX_WORKERS];
	uint64_t refused[DPCT_MAX_WORKERS];   /* the shard's nat_refused */
	struct nat_stats sum;
	uint64_t rewrite_failed_sum, block_ring_full_sum, refused_sum;
};

static void
nat_collect(struct dpct_app *a, struct nat_all *n)
{
	unsigned i;

	memset(n, 0, sizeof(*n));
	for (i = 0; i < a->n_workers && i < DPCT_MAX_WORKERS; i++) {
		struct ct_stats cs;

		dpct_nat_snapshot_read(&a->workers[i], &n->w[i], &n->rewrite_failed[i],
				       &n->block_ring_full[i]);
		dpct_snapshot_read(&a->workers[i], &cs);
		n->refused[i] = cs.nat_refused;
#define NAT_SUM(f) n->sum.f += n->w[i].f;
		NAT_STATS_FIELDS(NAT_SUM)
#undef NAT_SUM
		/* A percentage: the fullest worker's. */
		if (n->w[i].fill_pct > n->sum.fill_pct)
			n->sum.fill_pct = n->w[i].fill_pct;
		n->rewrite_failed_sum += n->rewrite_failed[i];
		n->block_ring_full_sum += n->block_ring_full[i];
		n->refused_sum += n->refused[i];
	}
}

static void
tel_nat(struct rte_tel_data *d, const struct nat_stats *st, uint64_t rewrite_failed,
	uint64_t block_ring_full, uint64_t refused)
{
	rte_tel_data_start_dict(d);
#define NAT_T(f) rte_tel_data_add_dict_u64(d, #f, st->f);
	NAT_STATS_FIELDS(NAT_T)
#undef NAT_T
	rte_tel_data_add_dict_u64(d, "fill_pct", st->fill_pct);
	rte_tel_data_add_dict_u64(d, "rewrite_failed", rewrite_failed);
	rte_tel_data_add_dict_u64(d, "block_ring_full", block_ring_full);
	rte_tel_data_add_dict_u64(d, "refused", refused);
}

static int
cmd_nat(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct nat_all *n;
	struct rte_tel_data *e;
	char key[16];
	unsigned i;

	DPCT_TEL_NO_PARAMS(cmd, params, d);
	n = malloc(sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	nat_collect(&dpct, n);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "enabled", dpct_nat_configured(&dpct.cfg));
	e = rte_tel_data_alloc();
	if (e == NULL)
		goto nomem;
	tel_nat(e, &n->sum, n->rewrite_failed_sum, n->block_ring_full_sum, n->refused_sum);
	rte_tel_data_add_dict_container(d, "totals", e, 0);
	for (i = 0; i < dpct.n_workers && i < DPCT_MAX_WORKERS; i++) {
		e = rte_tel_data_alloc();
		if (e == NULL)
			goto nomem;
		tel_nat(e, &n->w[i], n->rewrite_failed[i], n->block_ring_full[i], n->refused[i]);
		snprintf(key, sizeof(key), "worker%u", i);
		rte_tel_data_add_dict_container(d, key, e, 0);
	}
	free(n);
	return 0;
nomem:
	free(n);
	return -ENOMEM;
}

int
dpct_telemetry_nat_init(struct dpct_app *a)
{
	(void)a;
	return rte_telemetry_register_cmd("/dpct/nat", cmd_nat,
					  "Translation: bindings, exhaustion, port blocks.");
}

static json_t *
json_nat(const struct nat_stats *st, uint64_t rewrite_failed, uint64_t block_ring_full,
	 uint64_t refused)
{
	json_t *o = json_object();

#define NAT_J(f) json_object_set_new(o, #f, json_integer((json_int_t)st->f));
	NAT_STATS_FIELDS(NAT_J)
#undef NAT_J
	json_object_set_new(o, "fill_pct", json_integer((json_int_t)st->fill_pct));
	json_object_set_new(o, "rewrite_failed", json_integer((json_int_t)rewrite_failed));
	json_object_set_new(o, "block_ring_full", json_integer((json_int_t)block_ring_full));
	json_object_set_new(o, "refused", json_integer((json_int_t)refused));
	return o;
}

void
dpct_nat_stats_json(struct dpct_app *a, json_t *root)
{
	struct nat_all *n;
	json_t *nat, *workers;
	unsigned i;

	if (!dpct_nat_configured(&a->cfg))
		return;
	n = malloc(sizeof(*n));
	if (n == NULL)
		return;
	nat_collect(a, n);
	nat = json_nat(&n->sum, n->rewrite_failed_sum, n->block_ring_full_sum, n->refused_sum);
	workers = json_array();
	for (i = 0; i < a->n_workers && i < DPCT_MAX_WORKERS; i++)
		json_array_append_new(workers, json_nat(&n->w[i], n->rewrite_failed[i],
							n->block_ring_full[i], n->refused[i]));
	json_object_set_new(nat, "workers", workers);
	json_object_set_new(root, "nat", nat);
	free(n);
}
