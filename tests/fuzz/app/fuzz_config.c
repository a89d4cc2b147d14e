/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON configuration parser on arbitrary bytes. Besides not crashing,
 * every outcome is checked: a refusal carries a message and leaves the
 * configuration untouched; an accepted document round-trips through
 * dpct_config_to_json() and its shards add up to max_entries. Parsing with
 * the policy rules (dpct_config_parse_full(), what a reload does) gives the
 * same verdict and configuration, and leaves no rules behind a refusal.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpct_config.h"
#include "pol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dpct_config c, before, again, full;
	struct pol_ruleset rs;
	bool has_policy;
	struct ct_conf s;
	char err[256];
	uint64_t total = 0;
	unsigned i, n;
	char *text;
	int rc, rc2;

	dpct_config_defaults(&c);
	before = c;
	rc = dpct_config_parse(&c, (const char *)data, size, err, sizeof(err));
	dpct_config_defaults(&full);
	rc2 = dpct_config_parse_full(&full, (const char *)data, size, &rs, &has_policy, err,
				     sizeof(err));
	if (rc2 != rc && rc != -ENOMEM && rc2 != -ENOMEM)
		abort();
	if (rc2 != 0 && (rs.n_rules != 0 || rs.rules != NULL || has_policy))
		abort();
	if (rc == 0 && rc2 == 0 && memcmp(&c, &full, sizeof(c)) != 0)
		abort();
	pol_ruleset_clear(&rs);
	if (rc != 0) {
		if (rc != -EINVAL && rc != -ENOMEM)
			abort();
		if (rc == -EINVAL && err[0] == '\0')
			abort();
		if (memcmp(&c, &before, sizeof(c)) != 0)
			abort();
		return 0;
	}
	text = dpct_config_to_json(&c);
	if (text == NULL)
		return 0;
	dpct_config_defaults(&again);
	if (dpct_config_parse(&again, text, strlen(text), err, sizeof(err)) != 0) {
		fprintf(stderr, "round trip refused: %s\n%s\n", err, text);
		abort();
	}
	free(text);
	if (memcmp(&c, &again, sizeof(c)) != 0)
		abort();
	n = c.workers != 0 ? c.workers : 3;
	for (i = 0; i < n; i++) {
		dpct_config_shard(&c, i, n, &s);
		if (s.max_entries == 0 || s.buckets == 0 || s.shard_index != i)
			abort();
		total += s.max_entries;
	}
	if (c.max_entries >= n && total != c.max_entries)
		abort();
	return 0;
}
