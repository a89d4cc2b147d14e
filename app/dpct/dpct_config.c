/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The appliance's JSON configuration: defaults, the strict parser and the
 * reverse (to JSON, for telemetry and the round-trip test) all come from
 * the schema table (config_keys.c, config_schema.c); this file loads the
 * document and derives the per-shard and events settings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_policy.h"
#include "config_schema.h"
#include "config_util.h"
#include "dpct_config.h"

void
dpct_config_defaults(struct dpct_config *c)
{
	dpct_cfg_schema_defaults(c);
}

int
dpct_config_parse_full(struct dpct_config *c, const char *text, size_t len,
		       struct pol_ruleset *rs, bool *has_policy, char *err, size_t errlen)
{
	struct pol_ruleset rules;
	struct cfg_parse p = {.err = err, .errlen = errlen};
	struct dpct_config n;
	json_error_t je;
	json_t *root;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (has_policy != NULL)
		*has_policy = false;
	if (rs != NULL)
		pol_ruleset_init(rs);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return -ENOMEM;
		return dpct_cfg_fail(err, errlen, "line %d, column %d: %s", je.line, je.column,
				     je.text);
	}
	/* Parse into copies so a failed parse leaves `c` and `rs` untouched. */
	n = *c;
	pol_ruleset_init(&rules);
	p.rules = rs != NULL ? &rules : NULL;
	rc = dpct_cfg_schema_parse(&p, root, &n);
	json_decref(root);
	if (rc != 0) {
		pol_ruleset_clear(&rules);
		return rc;
	}
	*c = n;
	if (rs != NULL)
		*rs = rules;
	if (has_policy != NULL)
		*has_policy = p.has_policy;
	return 0;
}

int
dpct_config_parse(struct dpct_config *c, const char *text, size_t len, char *err,
		  size_t errlen)
{
	return dpct_config_parse_full(c, text, len, NULL, NULL, err, errlen);
}

char *
dpct_config_to_json(const struct dpct_config *c)
{
	json_t *root = dpct_cfg_schema_json(c);
	char *text = NULL;

	if (root != NULL)
		text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	json_decref(root);
	return text;
}

bool
dpct_nat_configured(const struct dpct_config *c)
{
	return c->nat.n_pools != 0 || c->nat.n_rules != 0;
}

void
dpct_config_shard(const struct dpct_config *c, unsigned index, unsigned count,
		  struct ct_conf *out)
{
	uint64_t keys, slots, buckets = 1;
	double want;
	uint32_t share;
	unsigned i;

	ct_conf_init(out);
	if (count == 0)
		count = 1;
	/* Remainder goes to the first shards so the totals add up exactly. */
	share = c->max_entries / count + (index < c->max_entries % count ? 1 : 0);
	if (share == 0)
		share = 1;
	out->max_entries = share;
	/*
	 * The index is sized for load_factor at a full table: the smallest
	 * power of two of buckets with room for keys / load_factor, where a
	 * translated entry has two keys (its reply tuple's node). keys /
	 * load_factor rounded up, but not for the last bit of a double:
	 * 65536 / 0.8 is 81920 slots, 8192 buckets, not 8193 (16384).
	 */
	out->nat = dpct_nat_configured(c);
	keys = (uint64_t)share * (out->nat ? 2 : 1);
	want = (double)keys / c->load_factor;
	slots = (uint64_t)want;
	if ((double)slots < want - 1e-3)
		slots++;
	while (buckets * CT_BUCKET_SLOTS < slots)
		buckets <<= 1;
	out->buckets = (uint32_t)buckets;
	for (i = 0; i < CT_TO_MAX; i++)
		out->timeout_s[i] = c->timeout_s[i];
	out->tcp_loose = c->tcp_loose;
	out->invalid_policy = c->invalid_policy;
	out->early_drop = c->early_drop;
	out->fill_alarm_high_pct = c->fill_alarm_high_pct;
	out->fill_alarm_low_pct = c->fill_alarm_low_pct;
	out->events_enabled = c->events_enabled;
	out->destroy_grace_ms = c->destroy_grace_ms;
	out->ev_stage_size = c->stage_size;
	/* Distinct per shard; 0 stays 0 ("seed from time" in the shard). */
	out->seed = c->seed == 0 ? 0 : c->seed + (uint64_t)index * 0x9e3779b97f4a7c15ull;
	if (c->seed != 0 && out->seed == 0)
		out->seed = 1;
	out->shard_index = (uint16_t)index;
	out->shard_count = (uint16_t)count;
	out->n_notrack = c->n_notrack;
	memcpy(out->notrack, c->notrack, sizeof(out->notrack));
	dpct_config_limits_shard(c, index, count, out);
	out->active_timeout_s = dpct_config_export_active_s(&c->export);
	out->tpol = c->tpol;
	dpct_config_tracker_shard(c, out);
}

void
dpct_config_events(const struct dpct_config *c, struct ev_ctl_conf *out)
{
	unsigned i;

	ev_ctl_conf_init(out);
	snprintf(out->socket_path, sizeof(out->socket_path), "%s", c->socket_path);
	out->socket_gid = c->socket_gid;
	for (i = 0; i < c->n_allowed_uids && i < EV_MAX_UIDS; i++)
		out->allowed_uids[i] = c->allowed_uids[i];
	out->n_allowed_uids = c->n_allowed_uids;
	for (i = 0; i < c->n_allowed_gids && i < EV_MAX_UIDS; i++)
		out->allowed_gids[i] = c->allowed_gids[i];
	out->n_allowed_gids = c->n_allowed_gids;
	for (i = 0; i < c->n_reliable_uids && i < EV_MAX_UIDS; i++)
		out->reliable_uids[i] = c->reliable_uids[i];
	out->n_reliable_uids = c->n_reliable_uids;
	out->reliable_stall_ms = c->reliable_stall_ms;
	out->max_dying_pct = c->max_dying_pct;
	out->max_listeners = c->max_listeners;
	out->reliable = c->events_reliable;
	out->max_batch_bytes = c->batch_bytes;
	out->max_conns_per_uid = c->max_conns_per_uid;
	out->reserved_slots = c->reserved_slots;
	out->subscribe_timeout_ms = c->subscribe_timeout_ms;
}
