/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_CONFIG_POLICY_H
#define DPCT_CONFIG_POLICY_H

/**
 * @file
 * The `policy` section of the JSON configuration (docs/policy.md): parsed
 * into lib/policy's rule model. Strict like the rest of the config: unknown
 * keys, wrong types and out-of-range values are errors naming the JSON path
 * ("$.policy.rules[3].dport[1]"). No EAL needed.
 */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "pol.h"

/**
 * Parse the value of "policy" into `rs` (NULL: validate only).
 * @return 0, -EINVAL with `err` naming the path, or -ENOMEM. On error `rs`
 *         is left empty.
 */
int dpct_policy_parse(json_t *policy, struct pol_ruleset *rs, char *err, size_t errlen);

/**
 * Read a config file once, validate all of it and parse its policy section
 * into `rs` from the same parse (dpct_config_load_full() over the defaults).
 * `present` says whether there was one. On error `rs` is empty.
 * @return 0, or an errno of dpct_config_load_full() with `err` naming the file.
 */
int dpct_policy_load(const char *path, struct pol_ruleset *rs, bool *present, char *err,
		     size_t errlen);

/** One rule as JSON, in the form the parser reads (for /dpct/rules). */
json_t *dpct_policy_rule_json(const struct pol_rule *r);

#endif /* DPCT_CONFIG_POLICY_H */
