/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config keys of strict tracking: "tcp", "checksum", "zones".
 * Strict like the rest of the configuration: unknown keys, wrong types and
 * out-of-range values are errors naming the JSON path.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_util.h"
#include "config_tracker.h"
#include "dpct_config.h"

#define ZONE_PORT_MAX 1023u

static int
tc_keys(json_t *o, const char *path, const char *const *keys, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	unsigned i;

	if (!json_is_object(o))
		return dpct_cfg_fail(err, errlen, "%s: expected object, got %s", path, dpct_json_type(o));
	json_object_foreach(o, key, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], key) == 0)
				break;
		if (keys[i] == NULL)
			return dpct_cfg_fail(err, errlen, "unknown key at %s.%s", path, key);
	}
	return 0;
}

static int
tc_uint(json_t *v, const char *path, json_int_t max, uint32_t *out, char *err, size_t errlen)
{
	json_int_t n;

	if (!json_is_integer(v))
		return dpct_cfg_fail(err, errlen, "%s: expected integer, got %s", path, dpct_json_type(v));
	n = json_integer_value(v);
	if (n < 0 || n > max)
		return dpct_cfg_fail(err, errlen, "%s: %" JSON_INTEGER_FORMAT " is out of range 0..%"
			       JSON_INTEGER_FORMAT, path, n, max);
	*out = (uint32_t)n;
	return 0;
}

static int
tc_bool(json_t *o, const char *key, const char *path, bool *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return dpct_cfg_fail(err, errlen, "%s.%s: expected boolean, got %s", path, key,
			       dpct_json_type(v));
	*out = json_is_true(v);
	return 0;
}

static int
tc_tcp(json_t *o, struct dpct_config *c, char *err, size_t errlen)
{
	static const char *const keys[] = {"be_liberal", "loose", "max_retrans", NULL};
	json_t *v;
	uint32_t n;
	int rc;

	if ((rc = tc_keys(o, "$.tcp", keys, err, errlen)) != 0)
		return rc;
	if ((rc = tc_bool(o, "be_liberal", "$.tcp", &c->tracker.tcp_be_liberal, err, errlen)) != 0)
		return rc;
	if ((rc = tc_bool(o, "loose", "$.tcp", &c->tcp_loose, err, errlen)) != 0)
		return rc;
	v = json_object_get(o, "max_retrans");
	if (v != NULL) {
		if ((rc = tc_uint(v, "$.tcp.max_retrans", 15, &n, err, errlen)) != 0)
			return rc;
		c->tracker.tcp_max_retrans = (uint8_t)n;
	}
	return 0;
}

static int
tc_zone_rule(json_t *o, unsigned i, struct dpct_zone_rule *r, char *err, size_t errlen)
{
	static const char *const keys[] = {"port", "vlan", "zone", NULL};
	char path[48];
	json_t *v;
	uint32_t n;
	int rc;

	snprintf(path, sizeof(path), "$.zones[%u]", i);
	if ((rc = tc_keys(o, path, keys, err, errlen)) != 0)
		return rc;
	r->port = DPCT_ZONE_ANY;
	r->vlan = DPCT_ZONE_ANY;
	v = json_object_get(o, "zone");
	if (v == NULL)
		return dpct_cfg_fail(err, errlen, "%s.zone: missing (the zone this rule assigns)", path);
	snprintf(path, sizeof(path), "$.zones[%u].zone", i);
	if ((rc = tc_uint(v, path, UINT16_MAX, &n, err, errlen)) != 0)
		return rc;
	r->zone = (uint16_t)n;
	v = json_object_get(o, "port");
	if (v != NULL) {
		snprintf(path, sizeof(path), "$.zones[%u].port", i);
		if ((rc = tc_uint(v, path, ZONE_PORT_MAX, &r->port, err, errlen)) != 0)
			return rc;
	}
	v = json_object_get(o, "vlan");
	if (v != NULL) {
		snprintf(path, sizeof(path), "$.zones[%u].vlan", i);
		if (json_is_string(v)) {
			if (strcmp(json_string_value(v), "untagged") != 0)
				return dpct_cfg_fail(err, errlen, "%s: \"%s\" is neither an id 0..4095 "
					       "nor \"untagged\"", path, json_string_value(v));
			r->vlan = CT_VLAN_NONE;
		} else if ((rc = tc_uint(v, path, 4095, &r->vlan, err, errlen)) != 0) {
			return rc;
		}
	}
	return 0;
}

static int
tc_zones(json_t *a, struct dpct_config *c, char *err, size_t errlen)
{
	size_t i;
	json_t *v;
	int rc;

	if (!json_is_array(a))
		return dpct_cfg_fail(err, errlen, "$.zones: expected array, got %s", dpct_json_type(a));
	if (json_array_size(a) > DPCT_MAX_ZONE_RULES)
		return dpct_cfg_fail(err, errlen, "$.zones: %zu rules, at most %u", json_array_size(a),
			       DPCT_MAX_ZONE_RULES);
	json_array_foreach(a, i, v) {
		rc = tc_zone_rule(v, (unsigned)i, &c->tracker.zone_rules[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	c->tracker.n_zone_rules = (uint16_t)json_array_size(a);
	return 0;
}

void
dpct_config_tracker_defaults(struct dpct_tracker_config *t)
{
	memset(t, 0, sizeof(*t));
	t->tcp_be_liberal = false;
	t->tcp_max_retrans = 3;
	t->checksum = DPCT_CSUM_VERIFY;
}

int
dpct_config_tracker_parse(json_t *root, struct dpct_config *c, char *err, size_t errlen)
{
	json_t *v;
	int rc;

	v = json_object_get(root, "tcp");
	if (v != NULL && (rc = tc_tcp(v, c, err, errlen)) != 0)
		return rc;
	v = json_object_get(root, "checksum");
	if (v != NULL) {
		const char *s = json_string_value(v);

		if (!json_is_string(v))
			return dpct_cfg_fail(err, errlen, "$.checksum: expected string, got %s",
				       dpct_json_type(v));
		if (strcmp(s, "verify") == 0)
			c->tracker.checksum = DPCT_CSUM_VERIFY;
		else if (strcmp(s, "off") == 0)
			c->tracker.checksum = DPCT_CSUM_OFF;
		else
			return dpct_cfg_fail(err, errlen, "$.checksum: \"%s\" is neither \"verify\" "
				       "nor \"off\"", s);
	}
	v = json_object_get(root, "zones");
	if (v != NULL && (rc = tc_zones(v, c, err, errlen)) != 0)
		return rc;
	return 0;
}

static bool
tc_set(json_t *o, const char *key, json_t *v)
{
	return o != NULL && v != NULL && json_object_set_new(o, key, v) == 0;
}

bool
dpct_config_tracker_to_json(json_t *root, const struct dpct_config *c)
{
	const struct dpct_tracker_config *t = &c->tracker;
	json_t *o = json_object(), *a;
	bool ok = true;
	unsigned i;

	ok = ok && tc_set(o, "be_liberal", json_boolean(t->tcp_be_liberal));
	ok = ok && tc_set(o, "loose", json_boolean(c->tcp_loose));
	ok = ok && tc_set(o, "max_retrans", json_integer(t->tcp_max_retrans));
	ok = ok && tc_set(root, "tcp", o);
	ok = ok && tc_set(root, "checksum",
			  json_string(t->checksum == DPCT_CSUM_OFF ? "off" : "verify"));
	a = json_array();
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
		ok = ok && a != NULL && json_array_append_new(a, z) == 0;
	}
	ok = ok && tc_set(root, "zones", a);
	return ok;
}

void
dpct_config_tracker_shard(const struct dpct_config *c, struct ct_conf *out)
{
	out->tcp_be_liberal = c->tracker.tcp_be_liberal;
	out->tcp_max_retrans = c->tracker.tcp_max_retrans;
}
