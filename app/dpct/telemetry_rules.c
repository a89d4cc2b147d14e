/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry for the policy: /dpct/rules lists the current generation's
 * rules with their packet and connection counters (paged: a reply is at
 * most 16 KiB), /dpct/reload re-reads the config file and installs its
 * rules (or says why not, and the old rules stay).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_telemetry.h>

#include "config_policy.h"
#include "dpct.h"
#include "tel_args.h"

#define RULES_DEFAULT 32
#define RULES_MAX 40

/* "[<start>[,<max>]]": decimal, max 1..RULES_MAX. */
static int
parse_page(const char *cmd, const char *params, uint64_t *start, uint64_t *max,
	   struct rte_tel_data *d)
{
	char buf[64], *f[2];
	int n;

	*start = 0;
	*max = RULES_DEFAULT;
	if (!dpct_tel_has_params(params))
		return 0;
	n = dpct_tel_split(params, buf, sizeof(buf), f, 2);
	if (n < 0)
		return dpct_tel_error(d, "%s: parameters are <start>[,<max>]", cmd), -EINVAL;
	if (dpct_tel_parse_uint(f[0], UINT32_MAX, start) < 0)
		return dpct_tel_error(d, "%s: bad start '%s'", cmd, f[0]), -EINVAL;
	if (n == 2 && (dpct_tel_parse_uint(f[1], RULES_MAX, max) < 0 || *max == 0))
		return dpct_tel_error(d, "%s: max must be 1..%u", cmd, RULES_MAX), -EINVAL;
	return 0;
}

static int
cmd_rules(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct pol_rule_stats *st = NULL;
	uint64_t start, max, i;
	struct pol_ruleset rs;
	struct pol_totals t;
	uint32_t gen;
	char key[16];

	if (parse_page(cmd, params, &start, &max, d) != 0)
		return 0; /* the error is the reply */
	if (dpct.pol == NULL)
		return dpct_tel_error(d, "%s: no policy loaded", cmd);
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
		snprintf(key, sizeof(key), "r%" PRIu64, i);
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

	DPCT_TEL_NO_PARAMS(cmd, params, d);
	if (atomic_load_explicit(&dpct.quit, memory_order_relaxed))
		return -ESHUTDOWN;
	err[0] = '\0';
	rc = dpct_policy_reload(&dpct, "/dpct/reload", err, sizeof(err));
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
