/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `policy` section parser on arbitrary bytes (the value of "policy").
 * A refusal carries a message naming a JSON path and leaves the rule set
 * empty; an accepted set passes pol_rule_check() rule by rule, and each
 * rule printed back (dpct_policy_rule_json(), as /dpct/rules shows it)
 * parses to the same rule.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_ruleset rs, again;
	char err[256];
	json_error_t je;
	json_t *v, *wrap, *rules;
	uint32_t i;
	int rc;

	v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (v == NULL)
		return 0;
	err[0] = '\0';
	rc = dpct_policy_parse(v, &rs, err, sizeof(err));
	json_decref(v);
	if (rc != 0) {
		if (rc != -EINVAL && rc != -ENOMEM)
			abort();
		if (rc == -EINVAL && strncmp(err, "$.policy", 8) != 0)
			abort();
		if (rs.n_rules != 0 || rs.rules != NULL)
			abort();
		return 0;
	}
	wrap = json_object();
	rules = json_array();
	for (i = 0; i < rs.n_rules; i++) {
		if (pol_rule_check(&rs.rules[i], err, sizeof(err)) != 0)
			abort();
		json_array_append_new(rules, dpct_policy_rule_json(&rs.rules[i]));
	}
	json_object_set_new(wrap, "rules", rules);
	json_object_set_new(wrap, "default", json_string(pol_action_name(rs.default_action)));
	if (dpct_policy_parse(wrap, &again, err, sizeof(err)) != 0) {
		fprintf(stderr, "round trip refused: %s\n", err);
		abort();
	}
	if (again.n_rules != rs.n_rules || again.default_action != rs.default_action ||
	    (rs.n_rules != 0 &&
	     memcmp(again.rules, rs.rules, sizeof(rs.rules[0]) * rs.n_rules) != 0))
		abort();
	json_decref(wrap);
	pol_ruleset_clear(&rs);
	pol_ruleset_clear(&again);
	return 0;
}
