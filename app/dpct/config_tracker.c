/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Strict tracking: the "zones" rules (port and VLAN to conntrack zone),
 * parsed strictly and written back for /dpct/config, and the shard
 * settings of "tcp". The scalar keys ("tcp.*", "checksum") are rows of the
 * schema table (config_keys.c).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_keys.h"
#include "config_tracker.h"
#include "config_util.h"
#include "dpct_config.h"

#define ZONE_PORT_MAX 1023u

/* o.key at `path`, when present, within 0..max. */
static int
tc_uint(char *err, size_t errlen, json_t *o, const char *key, const char *path, uint64_t max,
	uint32_t *out)
{
	json_t *v = json_object_get(o, key);
	char p[64];
	uint64_t n;
	int rc;

	if (v == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	rc = dpct_cfg_uint(err, errlen, v, p, 0, max, &n);
	if (rc == 0)
		*out = (uint32_t)n;
	return rc;
}

static int
tc_zone_rule(json_t *o, unsigned i, struct dpct_zone_rule *r, char *err, size_t errlen)
{
	char path[48], q[64];
	uint32_t n = 0;
	json_t *v;
	int rc;

	snprintf(path, sizeof(path), "$.zones[%u]", i);
	if ((rc = dpct_cfg_check_keys("zones[]", o, path, err, errlen)) != 0)
		return rc;
	r->port = DPCT_ZONE_ANY;
	r->vlan = DPCT_ZONE_ANY;
	if (json_object_get(o, "zone") == NULL)
		return dpct_cfg_fail(err, errlen, "%s.zone: missing (the zone this rule assigns)",
				     path);
	if ((rc = tc_uint(err, errlen, o, "zone", path, UINT16_MAX, &n)) != 0)
		return rc;
	r->zone = (uint16_t)n;
	if ((rc = tc_uint(err, errlen, o, "port", path, ZONE_PORT_MAX, &r->port)) != 0)
		return rc;
	v = json_object_get(o, "vlan");
	if (v != NULL && json_is_string(v)) {
		snprintf(q, sizeof(q), "%s.vlan", path);
		if (strcmp(json_string_value(v), "untagged") != 0)
			return dpct_cfg_fail(err, errlen, "%s: \"%s\" is neither an id 0..4095 "
					     "nor \"untagged\"", q, json_string_value(v));
		r->vlan = CT_VLAN_NONE;
	} else if ((rc = tc_uint(err, errlen, o, "vlan", path, 4095, &r->vlan)) != 0) {
		return rc;
	}
	return 0;
}

int
dpct_cfg_zones_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *a,
		     const char *path, struct dpct_config *c)
{
	size_t i;
	json_t *v;
	int rc;

	(void)k;
	if (!json_is_array(a))
		return dpct_cfg_fail(p->err, p->errlen, "%s: expected array, got %s", path,
				     dpct_json_type(a));
	if (json_array_size(a) > DPCT_MAX_ZONE_RULES)
		return dpct_cfg_fail(p->err, p->errlen, "%s: %zu rules, at most %u", path,
				     json_array_size(a), DPCT_MAX_ZONE_RULES);
	json_array_foreach(a, i, v) {
		rc = tc_zone_rule(v, (unsigned)i, &c->tracker.zone_rules[i], p->err, p->errlen);
		if (rc != 0)
			return rc;
	}
	c->tracker.n_zone_rules = (uint16_t)json_array_size(a);
	return 0;
}

static bool
tc_set(json_t *o, const char *key, json_t *v)
{
	return o != NULL && v != NULL && json_object_set_new(o, key, v) == 0;
}

int
dpct_cfg_zones_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out)
{
	const struct dpct_tracker_config *t = &c->tracker;
	json_t *a = json_array();
	bool ok = a != NULL;
	unsigned i;

	(void)k;
	for (i = 0; ok && i < t->n_zone_rules; i++) {
		const struct dpct_zone_rule *r = &t->zone_rules[i];
		json_t *z = json_object();

		ok = tc_set(z, "zone", json_integer(r->zone));
		if (ok && r->port != DPCT_ZONE_ANY)
			ok = tc_set(z, "port", json_integer(r->port));
		if (ok && r->vlan == CT_VLAN_NONE)
			ok = tc_set(z, "vlan", json_string("untagged"));
		else if (ok && r->vlan != DPCT_ZONE_ANY)
			ok = tc_set(z, "vlan", json_integer(r->vlan));
		ok = ok && json_array_append_new(a, z) == 0;
	}
	if (!ok) {
		json_decref(a);
		a = NULL;
	}
	*out = a;
	return a != NULL ? 0 : -ENOMEM;
}

void
dpct_config_tracker_shard(const struct dpct_config *c, struct ct_conf *out)
{
	out->tcp_be_liberal = c->tracker.tcp_be_liberal;
	out->tcp_max_retrans = c->tracker.tcp_max_retrans;
}
