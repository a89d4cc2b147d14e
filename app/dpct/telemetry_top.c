/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Who fills the table (docs/limits.md): every worker publishes a copy of
 * its shard's top sketch every DPCT_TOP_PUBLISH_TICKS of its loop ticks
 * (seqlock, one writer, no lock on the worker); the control side copies
 * them, merges them (ct_top_merge()) and answers /dpct/top and the final
 * statistics' "top". Limit counters per rule are in the shards' counters.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <rte_malloc.h>
#include <rte_telemetry.h>

#include "dpct.h"
#include "dpct_top.h"
#include "tel_args.h"

/* The worker loop ticks every millisecond: a fresh copy every 100 ms. */
#define DPCT_TOP_PUBLISH_TICKS 100
#define DPCT_TOP_MAX_N 64

struct top_pub {
	atomic_uint seq;            /* odd while the owner writes */
	unsigned ticks;             /* owner only: ticks since the last copy */
	bool ready;                 /* a copy was published */
	struct ct_top t;
} __rte_cache_aligned;

static struct top_pub *pubs;
static unsigned n_pubs;

int
dpct_top_init(struct dpct_app *a)
{
	if (!a->cfg.limits.top)
		return 0;
	pubs = rte_zmalloc("dpct_top", sizeof(*pubs) * a->n_workers, RTE_CACHE_LINE_SIZE);
	if (pubs == NULL)
		return -ENOMEM;
	n_pubs = a->n_workers;
	return 0;
}

void
dpct_top_publish(struct dpct_worker *w, bool now)
{
	struct top_pub *p;
	unsigned s;

	if (pubs == NULL || w->index >= n_pubs)
		return;
	p = &pubs[w->index];
	if (!now && ++p->ticks < DPCT_TOP_PUBLISH_TICKS)
		return;
	p->ticks = 0;
	s = atomic_load_explicit(&p->seq, memory_order_relaxed);
	atomic_store_explicit(&p->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	if (ct_shard_top_publish(w->shard, &p->t) == 0)
		p->ready = true;
	atomic_store_explicit(&p->seq, s + 2, memory_order_release);
}

/* A consistent copy of worker i's sketch. @return 0, -EAGAIN (none yet). */
static int
top_read(unsigned i, struct ct_top *out)
{
	const struct top_pub *p = &pubs[i];
	unsigned s1, s2, tries;

	for (tries = 0; tries < 1000; tries++) {
		s1 = atomic_load_explicit(&p->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		memcpy(out, &p->t, sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&p->seq, memory_order_relaxed);
		if (s1 == s2)
			return p->ready ? 0 : -EAGAIN;
	}
	return -EAGAIN;
}

int
dpct_top_collect(unsigned dim, int zone, struct ct_top_item *out, unsigned max,
		 uint64_t *total)
{
	struct ct_top *copies;
	const struct ct_top **ptr;
	struct ct_top_item *all;
	unsigned i, n = 0, m;
	int rc = 0;

	*total = 0;
	if (pubs == NULL)
		return -ENOENT;
	copies = malloc(sizeof(*copies) * n_pubs);
	ptr = malloc(sizeof(*ptr) * n_pubs);
	all = malloc(sizeof(*all) * n_pubs * CT_TOP_CAND);
	if (copies == NULL || ptr == NULL || all == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n_pubs; i++) {
		if (top_read(i, &copies[n]) != 0)
			continue;
		*total += copies[n].total;
		ptr[n] = &copies[n];
		n++;
	}
	m = n == 0 ? 0 : ct_top_merge(ptr, n, dim, zone, all, n_pubs * CT_TOP_CAND);
	if (m > max)
		m = max;
	memcpy(out, all, sizeof(*out) * m);
	rc = (int)m;
out:
	free(copies);
	free(ptr);
	free(all);
	return rc;
}

const char *
dpct_top_addr(const struct ct_top_key *k, char *buf, size_t len)
{
	if (inet_ntop(k->family == 6 ? AF_INET6 : AF_INET, k->addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

/* The bound of ct_limit.h: e / CT_TOP_WIDTH of the entries counted, rounded up. */
uint64_t
dpct_top_bound(uint64_t total)
{
	return (total * 2719 + 1000ull * CT_TOP_WIDTH - 1) / (1000ull * CT_TOP_WIDTH);
}

/* /dpct/top,<src|dst>[,<zone|any>[,<n>]] */
static int
cmd_top(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ct_top_item it[DPCT_TOP_MAX_N];
	char buf[64], *f[3], key[16], a[INET6_ADDRSTRLEN];
	unsigned dim = CT_TOP_SRC, n = 10;
	uint64_t v, total;
	int zone = -1, nf, m, i;

	nf = dpct_tel_split(params, buf, sizeof(buf), f, 3);
	if (nf < 0)
		return dpct_tel_error(d, "%s: at most 3 parameters: src|dst,zone|any,n", cmd);
	if (nf >= 1 && f[0][0] != '\0') {
		if (strcmp(f[0], "dst") == 0)
			dim = CT_TOP_DST;
		else if (strcmp(f[0], "src") != 0)
			return dpct_tel_error(d, "%s: \"%s\" is not src or dst", cmd, f[0]);
	}
	if (nf >= 2 && f[1][0] != '\0' && strcmp(f[1], "any") != 0) {
		if (dpct_tel_parse_uint(f[1], UINT16_MAX, &v) != 0)
			return dpct_tel_error(d, "%s: zone \"%s\" is not 0..65535 or any", cmd,
					      f[1]);
		zone = (int)v;
	}
	if (nf >= 3 && f[2][0] != '\0') {
		if (dpct_tel_parse_uint(f[2], DPCT_TOP_MAX_N, &v) != 0 || v == 0)
			return dpct_tel_error(d, "%s: n \"%s\" is not 1..%u", cmd, f[2],
					      DPCT_TOP_MAX_N);
		n = (unsigned)v;
	}
	m = dpct_top_collect(dim, zone, it, n, &total);
	if (m == -ENOENT)
		return dpct_tel_error(d, "%s: the top sketch is off (limits.top false)", cmd);
	if (m < 0)
		return dpct_tel_error(d, "%s: %s", cmd, strerror(-m));
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "by", dim == CT_TOP_SRC ? "src" : "dst");
	if (zone >= 0)
		rte_tel_data_add_dict_u64(d, "zone", (uint64_t)zone);
	else
		rte_tel_data_add_dict_string(d, "zone", "any");
	rte_tel_data_add_dict_u64(d, "entries_counted", total);
	rte_tel_data_add_dict_u64(d, "error_bound", dpct_top_bound(total));
	rte_tel_data_add_dict_u64(d, "n", (uint64_t)m);
	for (i = 0; i < m; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();

		if (e == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "addr", dpct_top_addr(&it[i].key, a, sizeof(a)));
		rte_tel_data_add_dict_u64(e, "zone", it[i].key.zone);
		rte_tel_data_add_dict_u64(e, "entries", it[i].est);
		snprintf(key, sizeof(key), "%d", i + 1);
		rte_tel_data_add_dict_container(d, key, e, 0);
	}
	return 0;
}

int
dpct_telemetry_top_init(struct dpct_app *a)
{
	(void)a;
	return rte_telemetry_register_cmd("/dpct/top", cmd_top,
					  "Heaviest sources or destinations by live entries: "
					  "params [src|dst][,<zone>|any][,<n>].");
}

/* "top" of --stats-json: the ten heaviest sources and destinations. */
void
dpct_top_stats_json(json_t *root)
{
	struct ct_top_item it[10];
	static const char *const names[] = {"src", "dst"};
	char a[INET6_ADDRSTRLEN];
	json_t *top;
	uint64_t total = 0;
	unsigned dim;
	int m, i;

	if (pubs == NULL)
		return;
	top = json_object();
	for (dim = 0; dim < CT_TOP_DIMS; dim++) {
		json_t *arr = json_array();

		m = dpct_top_collect(dim, -1, it, 10, &total);
		for (i = 0; i < m; i++) {
			json_t *o = json_object();

			json_object_set_new(o, "addr",
					    json_string(dpct_top_addr(&it[i].key, a, sizeof(a))));
			json_object_set_new(o, "zone", json_integer(it[i].key.zone));
			json_object_set_new(o, "entries", json_integer(it[i].est));
			json_array_append_new(arr, o);
		}
		json_object_set_new(top, names[dim], arr);
	}
	json_object_set_new(top, "entries_counted", json_integer((json_int_t)total));
	json_object_set_new(top, "error_bound", json_integer((json_int_t)dpct_top_bound(total)));
	json_object_set_new(root, "top", top);
}
