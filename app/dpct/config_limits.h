/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_LIMITS_H
#define DPCT_CONFIG_LIMITS_H

/**
 * @file
 * The "limits" section (docs/limits.md): connection limits per source
 * group and per zone, and the top sketch. Parsed strictly by
 * config_limits.c; each worker enforces its share of every rule's `max`
 * (dpct_config_limits_shard()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ct.h"

#define DPCT_LIMIT_NAME_MAX 32

/** A rule as configured: `r.max` is the whole appliance's. */
struct dpct_limit_rule {
	char name[DPCT_LIMIT_NAME_MAX];   /**< "name", default "ruleN" (N its index) */
	struct ct_limit_rule r;
};

struct dpct_limits_conf {
	bool top;                   /**< "top": keep the top sketch */
	uint32_t keys;              /**< "keys": counts a worker holds (0: its max_entries) */
	uint16_t n_rules;
	struct dpct_limit_rule rules[CT_MAX_LIMITS];
};

struct dpct_config;

/**
 * Worker `index` of `count`'s share of the limits into `out`: each rule's
 * max split as table.max_entries is (the first max % count workers one
 * more; at least 1), the counting table's size, the sketch and its key.
 */
void dpct_config_limits_shard(const struct dpct_config *c, unsigned index, unsigned count,
			      struct ct_conf *out);

/**
 * Whether a reload may take configuration `next` while `cur` runs: limits
 * apply from start only.
 * @return 0, or -EINVAL with a message when the limits section differs.
 */
int dpct_config_limits_reload(const struct dpct_config *cur, const struct dpct_config *next,
			      char *err, size_t errlen);

#endif /* DPCT_CONFIG_LIMITS_H */
