/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `nat` section parser (app/dpct/config_nat.c) on arbitrary bytes: the
 * input is the value of "nat", parsed as part of a document whose worker
 * count comes from the input's length (0, 1, 2 or 4). A refusal carries a
 * message naming a path under $.nat and leaves the configuration as it
 * was; an accepted section has every snat rule on an existing pool, builds
 * a table with lib/nat for the worker count (or for 3 workers is either
 * built or refused with a $.nat message), and round-trips through the JSON
 * of /dpct/config to the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_nat.h"
#include "dpct_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Configs are 80 KiB each: static, not on the stack. */
static struct dpct_config c, before, again;

static void
check_build(unsigned workers, bool must)
{
	const struct nat_pool *pools;
	const struct nat_rule *rules;
	struct nat_table *t = NULL;
	char err[512];
	int rc;

	err[0] = '\0';
	rc = dpct_nat_build(&c, workers, &t, err, sizeof(err));
	if (rc == -ENOMEM)
		return;
	if (rc != 0) {
		if (must || rc != -EINVAL || t != NULL || strncmp(err, "$.nat", 5) != 0) {
			fprintf(stderr, "build for %u workers: %d %s\n", workers, rc, err);
			abort();
		}
		return;
	}
	if (t == NULL || nat_table_pools(t, &pools) != c.nat.n_pools ||
	    nat_table_rules(t, &rules) != c.nat.n_rules ||
	    nat_table_empty(t) != (c.nat.n_rules == 0))
		abort();
	nat_table_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned worker_counts[] = {0, 1, 2, 4};
	unsigned workers = worker_counts[size % 4], i;
	json_t *v, *doc;
	json_error_t je;
	char err[512], *text, *back;
	int rc;

	v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (v == NULL)
		return 0;
	doc = json_pack("{s:{s:i}, s:o}", "workers", "count", (json_int_t)workers, "nat", v);
	text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text == NULL)
		return 0;
	dpct_config_defaults(&c);
	before = c;
	err[0] = '\0';
	rc = dpct_config_parse(&c, text, strlen(text), err, sizeof(err));
	free(text);
	if (rc != 0) {
		if (rc != -EINVAL && rc != -ENOMEM)
			abort();
		if (rc == -EINVAL && strncmp(err, "$.nat", 5) != 0 &&
		    strncmp(err, "unknown key at $.nat", 20) != 0) {
			fprintf(stderr, "message without the path: %s\n", err);
			abort();
		}
		if (memcmp(&c, &before, sizeof(c)) != 0)
			abort();
		return 0;
	}
	if (c.nat.n_pools > NAT_MAX_POOLS || c.nat.n_rules > NAT_MAX_RULES)
		abort();
	for (i = 0; i < c.nat.n_rules; i++)
		if (c.nat.rules[i].kind == NAT_SNAT && c.nat.rules[i].pool >= c.nat.n_pools)
			abort();
	/* The worker count the parse checked builds; another may be refused. */
	check_build(workers != 0 ? workers : 1, true);
	check_build(3, false);
	back = dpct_config_to_json(&c);
	if (back == NULL)
		return 0;
	dpct_config_defaults(&again);
	if (dpct_config_parse(&again, back, strlen(back), err, sizeof(err)) != 0) {
		fprintf(stderr, "round trip refused: %s\n%s\n", err, back);
		abort();
	}
	free(back);
	if (memcmp(&c.nat, &again.nat, sizeof(c.nat)) != 0)
		abort();
	return 0;
}
