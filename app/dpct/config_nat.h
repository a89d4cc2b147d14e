/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_NAT_H
#define DPCT_CONFIG_NAT_H

/**
 * @file
 * The `nat` section of the JSON configuration (docs/configuration.md#nat):
 * pools and ordered rules in lib/nat's model (nat.h). Strict like the rest
 * of the config: unknown keys, wrong types, out-of-range values and rules
 * that cannot work are errors naming the JSON path
 * ("$.nat.rules[2].pool: no pool named \"pubic\"").
 *
 * The parse stores the section in struct dpct_nat_conf (plain arrays, no
 * pointer: the configuration stays copyable). Checks between pools and
 * rules (overlaps, ports among workers) are lib/nat's nat_table_build():
 * the parse runs it once with `workers.count` (1 when that is 0), and the
 * app builds its table at start with the resolved worker count
 * (dpct_nat_build()). Parsing needs no EAL.
 *
 * The app's side (nat_app.c, needs EAL): the installed table in
 * struct dpct_app, its reload and the workers' quiescent reports.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat.h"

/** The parsed section; no pools and no rules is NAT off (the default). */
struct dpct_nat_conf {
	uint16_t n_pools;
	uint16_t n_rules;
	struct nat_pool pools[NAT_MAX_POOLS];   /**< in the order of $.nat.pools */
	struct nat_rule rules[NAT_MAX_RULES];   /**< in order; rules[i].pool indexes pools */
};

struct dpct_config;
struct dpct_app;

/**
 * Whether the pools' port ranges divide among `n_workers` workers (each
 * gets the same number of ports of every pool address, and in block mode
 * a whole number of blocks). Messages name the pool
 * ("$.nat.pools[0]: port range 1024-65535 (64512 ports) does not divide
 * among 5 workers").
 * @return 0 or -EINVAL.
 */
int dpct_nat_check_workers(const struct dpct_nat_conf *n, unsigned n_workers, char *err,
			   size_t errlen);

/**
 * Build the table of `c`'s nat section for `n_workers` workers (1..64):
 * dpct_nat_check_workers(), then nat_table_build(), whose refusals are
 * given with the "$.nat: " prefix. A config without rules gives an empty
 * table (nothing is translated), never NULL on success.
 * @return 0 with *out set (the caller frees it with nat_table_free()),
 *         -EINVAL (message in `err`) or -ENOMEM.
 * Thread safety: reentrant.
 */
int dpct_nat_build(const struct dpct_config *c, unsigned n_workers, struct nat_table **out,
		   char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* The app (nat_app.c): needs EAL.                                           */

/**
 * Build the table of a->cfg for a->n_workers, create the workers'
 * quiescent-state variable and install the table as a->nat. Call after the
 * workers are known and before they start.
 * @return 0, -EINVAL (message in `err`, e.g. a port range that does not
 *         divide among the resolved worker count) or -ENOMEM.
 */
int dpct_nat_init(struct dpct_app *a, char *err, size_t errlen);

/** Free the installed table and the quiescent-state variable (workers stopped). */
void dpct_nat_free(struct dpct_app *a);

/**
 * The table a reload would install: built from `newc` for a->n_workers
 * and made to take over the live bindings of the installed one
 * (nat_table_adopt()). Nothing is installed. A run started without NAT
 * (no pools, no rules) cannot turn it on: its shards have no room for
 * translated entries.
 * @return 0 with *out set, -EINVAL (bad section, or NAT added to a run
 *         started without it), -EBUSY (a pool with live
 *         bindings would be removed or changed, or a worker still holds
 *         the table before the installed one) or -ENOMEM; `err` says why.
 * On success the installed table's pools that `*out` drops or changes are
 * closed (nat_table_close_unadopted(): no new binding) until
 * dpct_nat_install() retires them or dpct_nat_abort() reopens them.
 * Thread safety: control plane, serialised with dpct_nat_install().
 */
int dpct_nat_prepare(struct dpct_app *a, const struct dpct_config *newc,
		     struct nat_table **out, char *err, size_t errlen);

/**
 * Make `t` the installed table (a->nat), wait for every online worker to
 * pass a quiescent state, then free the previous table. When the wait
 * times out (a stuck worker) the previous table is kept until the next
 * install instead of being freed under a reader. Never fails.
 * Thread safety: control plane, serialised by the caller (reload lock).
 */
void dpct_nat_install(struct dpct_app *a, struct nat_table *t);

/**
 * A reload refused after dpct_nat_prepare() succeeded (the policy did not
 * compile): reopen the pools prepare closed and free `t` (NULL: nothing).
 * Thread safety: control plane, serialised by the caller (reload lock).
 */
void dpct_nat_abort(struct dpct_app *a, struct nat_table *t);

/**
 * dpct_nat_prepare() then dpct_nat_install(): the nat part of a reload.
 * @return 0 or the errno of dpct_nat_prepare() (nothing changed).
 */
int dpct_nat_reload(struct dpct_app *a, const struct dpct_config *newc, char *err,
		    size_t errlen);

/**
 * The installed table for worker reads, valid until the caller's next
 * dpct_nat_quiescent(). NULL before dpct_nat_init().
 */
const struct nat_table *dpct_nat_current(const struct dpct_app *a);

/** Worker `wid` takes part in / leaves the grace periods of dpct_nat_install(). */
void dpct_nat_online(unsigned wid);
void dpct_nat_offline(unsigned wid);
/** Worker `wid` holds no table pointer now (once per poll loop). */
void dpct_nat_quiescent(unsigned wid);

#endif /* DPCT_CONFIG_NAT_H */
