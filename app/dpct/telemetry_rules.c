/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry for the policy: /dpct/rules lists the current generation's
 * rules with their packet and connection counters (paged: a reply is at
 * most 16 KiB), /dpct/reload re-reads the config file and installs its
 * rules (or says why not, and the old rules stay).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_telemetry.h>

#include "config_policy.h"
#include "dpct.h"

#define RULES_DEFAULT 32
#define RULES_MAX 40

static int
parse_page(const char *params, unsigned long *start, unsigned long *max)
{
	char *end;

	*start = 0;
	*max = RULES_DEFAULT;
	if (params == NULL || *params == '\0')
		return 0;
	*start = strtoul(params, &end, 10);
	if (end == params)
		return -EINVAL;
	if (*end == ',') {
		const char *m = end + 1;

		*max = strtoul(m, &end, 10);
		if (end == m || *max == 0)
			return -EINVAL;
	}
	if (*end != '\0')
		return -EINVAL;
	if (*max > RULES_MAX)
		*max = RULES_MAX;
	return 0;
}

static int
cmd_rules(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct pol_rule_stats *st = NULL;
	unsigned long start, max, i;
	struct pol_ruleset rs;
	struct pol_totals t;
	uint32_t gen;
	char key[16];

	(void)cmd;
	if (dpct.pol == NULL || parse_page(params, &start, &max) != 0)
		return -EINVAL;
	if (pol_report(dpct.pol, &gen, &rs, &st, &t) != 0)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "generation", gen);
	rte_tel_data_add_dict_u64(d, "n_rules", rs.n_rules);
	rte_tel_data_add_dict_string(d, "default", pol_action_name(rs.default_action));
	rte_tel_data_add_dict_u64(d, "default_pkts", st[rs.n_rules].pkts);
	rte_tel_data_add_dict_u64(d, "default_conns", st[rs.n_rules].conns);
	rte_tel_data_add_dict_u64(d, "accepted", t.accepted);
	rte_tel_data_add_dict_u64(d, "dropped", t.dropped);
	rte_tel_data_add_dict_u64(d, "notracked", t.notracked);
	rte_tel_data_add_dict_u64(d, "classified", t.classified);
	rte_tel_data_add_dict_u64(d, "reloads", t.reloads);
	rte_tel_data_add_dict_u64(d, "reload_failed", t.reload_failed);
	for (i = start; i < rs.n_rules && i < start + max; i++) {
		struct rte_tel_data *e = rte_tel_data_alloc();
		json_t *j = dpct_policy_rule_json(&rs.rules[i]);
		char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

		json_decref(j);
		if (e == NULL || text == NULL) {
			rte_tel_data_free(e);
			free(text);
			break;
		}
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_u64(e, "index", i);
		rte_tel_data_add_dict_string(e, "action", pol_action_name(rs.rules[i].action));
		if (rs.rules[i].name[0] != '\0')
			rte_tel_data_add_dict_string(e, "name", rs.rules[i].name);
		/* Strings are limited to RTE_TEL_MAX_STRING_LEN; long rules are cut. */
		rte_tel_data_add_dict_string(e, "rule", text);
		rte_tel_data_add_dict_u64(e, "pkts", st[i].pkts);
		rte_tel_data_add_dict_u64(e, "conns", st[i].conns);
		snprintf(key, sizeof(key), "r%lu", i);
		rte_tel_data_add_dict_container(d, key, e, 0);
		free(text);
	}
	rte_tel_data_add_dict_u64(d, "next", i < rs.n_rules ? i : 0);
	free(st);
	pol_ruleset_clear(&rs);
	return 0;
}

static int
cmd_reload(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char err[RTE_TEL_MAX_STRING_LEN];
	int rc;

	(void)cmd;
	(void)params;
	if (atomic_load_explicit(&dpct.quit, memory_order_relaxed))
		return -ESHUTDOWN;
	err[0] = '\0';
	rc = dpct_policy_reload(&dpct, err, sizeof(err));
	rte_tel_data_start_dict(d);
	if (rc < 0) {
		rte_tel_data_add_dict_int(d, "ok", 0);
		rte_tel_data_add_dict_int(d, "errno", -rc);
		rte_tel_data_add_dict_string(d, "error", err);
	} else {
		rte_tel_data_add_dict_int(d, "ok", 1);
		rte_tel_data_add_dict_u64(d, "generation", (uint64_t)rc);
	}
	return 0;
}

int
dpct_telemetry_rules_init(struct dpct_app *a)
{
	int rc = 0;

	(void)a;
	rc |= rte_telemetry_register_cmd("/dpct/rules", cmd_rules,
					 "Policy rules and counters: params <start>[,<max>].");
	rc |= rte_telemetry_register_cmd("/dpct/reload", cmd_reload,
					 "Re-read the config file and install its policy rules.");
	return rc == 0 ? 0 : -EINVAL;
}
