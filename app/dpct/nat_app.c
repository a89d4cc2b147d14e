/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The app's NAT table: built at start for the resolved worker count,
 * replaced on reload (policy.c) by a table that took over the live
 * bindings of the installed one (nat_table_adopt()), and freed only once
 * every worker has passed a quiescent state after the swap. The workers
 * report those states (dpct_nat_quiescent(), once per poll loop) on an
 * rte_rcu_qsbr of our own, as they do for the policy's.
 *
 * Installs are serialised by the reload lock (policy.c); the worker side
 * only loads a pointer and writes its own quiescent counter.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "config_nat.h"
#include "dpct.h"

/* A grace period longer than this means a stuck worker: keep the old table alive. */
#define NAT_WAIT_MS 5000

static struct {
	struct rte_rcu_qsbr *qs;   /* the workers' quiescent states, NULL before init */
	unsigned n_workers;
	struct nat_table *deferred; /* replaced, but a worker had not moved on yet */
} nq;

/* Wait for a grace period, bounded. true when every online worker moved on. */
static bool
nat_grace_wait(unsigned wait_ms)
{
	uint64_t token, end;

	if (nq.qs == NULL)
		return true;
	token = rte_rcu_qsbr_start(nq.qs);
	end = rte_get_timer_cycles() + rte_get_timer_hz() * wait_ms / 1000;
	while (rte_rcu_qsbr_check(nq.qs, token, false) == 0) {
		if (rte_get_timer_cycles() > end)
			return false;
		usleep(50);
	}
	return true;
}

int
dpct_nat_init(struct dpct_app *a, char *err, size_t errlen)
{
	struct nat_table *t;
	size_t sz;
	unsigned i;
	int rc;

	rc = dpct_nat_build(&a->cfg, a->n_workers, &t, err, errlen);
	if (rc != 0)
		return rc;
	sz = rte_rcu_qsbr_get_memsize(a->n_workers);
	nq.qs = rte_zmalloc("dpct_nat_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (nq.qs == NULL || rte_rcu_qsbr_init(nq.qs, a->n_workers) != 0) {
		rte_free(nq.qs);
		nq.qs = NULL;
		nat_table_free(t);
		snprintf(err, errlen, "nat: no memory for the workers' quiescent states");
		return -ENOMEM;
	}
	for (i = 0; i < a->n_workers; i++)
		rte_rcu_qsbr_thread_register(nq.qs, i);
	nq.n_workers = a->n_workers;
	atomic_store_explicit(&a->nat, t, memory_order_release);
	if (!nat_table_empty(t))
		DPCT_LOG(INFO, "nat: %u pools, %u rules over %u workers\n", a->cfg.nat.n_pools,
			 a->cfg.nat.n_rules, a->n_workers);
	return 0;
}

void
dpct_nat_free(struct dpct_app *a)
{
	nat_table_free(atomic_exchange(&a->nat, NULL));
	nat_table_free(nq.deferred);
	nq.deferred = NULL;
	rte_free(nq.qs);
	nq.qs = NULL;
}

int
dpct_nat_prepare(struct dpct_app *a, const struct dpct_config *newc, struct nat_table **out,
		 char *err, size_t errlen)
{
	struct nat_table *t, *old;
	char msg[256];
	int rc;

	*out = NULL;
	/* A table left over from a timed-out wait goes first. */
	if (nq.deferred != NULL && nat_grace_wait(NAT_WAIT_MS)) {
		nat_table_free(nq.deferred);
		nq.deferred = NULL;
	}
	if (nq.deferred != NULL) {
		snprintf(err, errlen, "$.nat: a worker still uses the NAT table before the "
			 "current one; try again");
		return -EBUSY;
	}
	/* The shards make room for translation at start only when NAT is on. */
	if (!dpct_nat_configured(&a->cfg) && dpct_nat_configured(newc)) {
		snprintf(err, errlen, "$.nat: dpct started without NAT (no pools, no rules); "
			 "adding them needs a restart");
		return -EINVAL;
	}
	rc = dpct_nat_build(newc, a->n_workers, &t, err, errlen);
	if (rc != 0)
		return rc;
	old = atomic_load_explicit(&a->nat, memory_order_acquire);
	if (old != NULL) {
		/*
		 * The pools the new table drops or changes bind nothing from here;
		 * once every worker has passed a quiescent state none is still in a
		 * bind that found one open, so the live counts the check reads can
		 * only fall until the swap: no binding is left to a pool that goes.
		 */
		if (nat_table_close_unadopted(t, old, true) != 0 && !nat_grace_wait(NAT_WAIT_MS)) {
			nat_table_close_unadopted(t, old, false);
			nat_table_free(t);
			snprintf(err, errlen, "$.nat: a worker did not pass a quiescent state "
				 "within %d ms; try again", NAT_WAIT_MS);
			return -EBUSY;
		}
		msg[0] = '\0';
		rc = nat_table_adopt(t, old, msg, sizeof(msg));
		if (rc != 0) {
			nat_table_close_unadopted(t, old, false);
			nat_table_free(t);
			snprintf(err, errlen, "$.nat: %s", msg[0] != '\0' ? msg :
				 "the new table cannot take over the live bindings");
			return rc;
		}
	}
	*out = t;
	return 0;
}

void
dpct_nat_abort(struct dpct_app *a, struct nat_table *t)
{
	if (t == NULL)
		return;
	/* The pools dpct_nat_prepare() closed bind again. */
	nat_table_close_unadopted(t, atomic_load_explicit(&a->nat, memory_order_acquire), false);
	nat_table_free(t);
}

void
dpct_nat_install(struct dpct_app *a, struct nat_table *t)
{
	struct nat_table *old = atomic_exchange_explicit(&a->nat, t, memory_order_acq_rel);

	if (nat_grace_wait(NAT_WAIT_MS))
		nat_table_free(old);
	else
		nq.deferred = old;
}

int
dpct_nat_reload(struct dpct_app *a, const struct dpct_config *newc, char *err, size_t errlen)
{
	struct nat_table *t;
	int rc;

	rc = dpct_nat_prepare(a, newc, &t, err, errlen);
	if (rc == 0)
		dpct_nat_install(a, t);
	return rc;
}

const struct nat_table *
dpct_nat_current(const struct dpct_app *a)
{
	return atomic_load_explicit(&a->nat, memory_order_acquire);
}

void
dpct_nat_online(unsigned wid)
{
	if (nq.qs != NULL && wid < nq.n_workers)
		rte_rcu_qsbr_thread_online(nq.qs, wid);
}

void
dpct_nat_offline(unsigned wid)
{
	if (nq.qs != NULL && wid < nq.n_workers)
		rte_rcu_qsbr_thread_offline(nq.qs, wid);
}

void
dpct_nat_quiescent(unsigned wid)
{
	if (nq.qs != NULL && wid < nq.n_workers)
		rte_rcu_qsbr_quiescent(nq.qs, wid);
}
