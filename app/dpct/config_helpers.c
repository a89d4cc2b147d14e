/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "helpers" section of the JSON configuration (config_helpers.h):
 * parsed strictly with the JSON path of every fault, and written back for
 * /dpct/config.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "config_keys.h"
#include "config_util.h"
#include "dpct_config.h"

#define hx_fail(p, ...) dpct_cfg_fail((p)->err, (p)->errlen, __VA_ARGS__)

/* Linux's nf_conntrack_ftp and nf_conntrack_tftp: one expectation, 5 minutes. */
#define HELPER_MAX_EXPECTED 1
#define HELPER_TIMEOUT_S 300
#define HELPER_MAX_EXPECTATIONS 4096
#define HELPER_TIMEOUT_MAX_S 86400

static const char *const helper_names[DPCT_HELPER_MAX] = {
	[DPCT_HELPER_FTP] = "ftp",
	[DPCT_HELPER_TFTP] = "tftp",
};

const char *
dpct_helper_name(unsigned h)
{
	return h > 0 && h < DPCT_HELPER_MAX ? helper_names[h] : NULL;
}

void
dpct_cfg_helpers_init(const struct cfg_key *k, struct dpct_config *c)
{
	unsigned h;

	(void)k;
	memset(&c->helpers, 0, sizeof(c->helpers));
	c->helpers.max_expectations = HELPER_MAX_EXPECTATIONS;
	for (h = 1; h < DPCT_HELPER_MAX; h++) {
		c->helpers.pol[h].max_expected = HELPER_MAX_EXPECTED;
		c->helpers.pol[h].timeout_s = HELPER_TIMEOUT_S;
	}
}

static int
hx_uint(struct cfg_parse *p, json_t *o, const char *key, const char *path, uint64_t min,
	uint64_t max, uint32_t *out)
{
	json_t *v = json_object_get(o, key);
	char q[96];
	uint64_t n;
	int rc;

	if (v == NULL)
		return 0;
	snprintf(q, sizeof(q), "%s.%s", path, key);
	rc = dpct_cfg_uint(p->err, p->errlen, v, q, min, max, &n);
	if (rc == 0)
		*out = (uint32_t)n;
	return rc;
}

static int
hx_policy(struct cfg_parse *p, json_t *o, unsigned h, struct dpct_helper_policy *pol)
{
	char path[48];
	int rc;

	snprintf(path, sizeof(path), "$.helpers.%s", helper_names[h]);
	if ((rc = dpct_cfg_check_keys("helpers.ftp", o, path, p->err, p->errlen)) != 0)
		return rc;
	if ((rc = hx_uint(p, o, "max_expected", path, 1, 255, &pol->max_expected)) != 0)
		return rc;
	return hx_uint(p, o, "timeout", path, 1, HELPER_TIMEOUT_MAX_S, &pol->timeout_s);
}

static int
hx_rule(struct cfg_parse *p, json_t *o, unsigned idx, struct dpct_helper_rule *r)
{
	char path[48];
	uint32_t port = 0, zone = 0, fam = 0;
	const char *name;
	json_t *v;
	unsigned h;
	int rc;

	snprintf(path, sizeof(path), "$.helpers.rules[%u]", idx);
	memset(r, 0, sizeof(*r));
	if ((rc = dpct_cfg_check_keys("helpers.rules[]", o, path, p->err, p->errlen)) != 0)
		return rc;
	v = json_object_get(o, "helper");
	if (v == NULL)
		return hx_fail(p, "%s: missing \"helper\" (\"ftp\" or \"tftp\")", path);
	if (!json_is_string(v))
		return hx_fail(p, "%s.helper: expected string, got %s", path, dpct_json_type(v));
	name = json_string_value(v);
	for (h = 1; h < DPCT_HELPER_MAX; h++)
		if (strcmp(name, helper_names[h]) == 0)
			break;
	if (h == DPCT_HELPER_MAX)
		return hx_fail(p, "%s.helper: unknown helper \"%.32s\" (ftp or tftp)", path, name);
	r->helper = (uint8_t)h;
	if (json_object_get(o, "port") == NULL)
		return hx_fail(p, "%s: missing \"port\" (the server's port, e.g. %u)", path,
			       h == DPCT_HELPER_FTP ? 21u : 69u);
	if ((rc = hx_uint(p, o, "port", path, 1, UINT16_MAX, &port)) != 0)
		return rc;
	r->port = (uint16_t)port;
	r->any_zone = json_object_get(o, "zone") == NULL;
	if ((rc = hx_uint(p, o, "zone", path, 0, UINT16_MAX, &zone)) != 0)
		return rc;
	r->zone = (uint16_t)zone;
	if ((rc = hx_uint(p, o, "family", path, 4, 6, &fam)) != 0)
		return rc;
	if (fam == 5)
		return hx_fail(p, "%s.family: 5 is not one of 4, 6", path);
	r->family = (uint8_t)fam;
	return 0;
}

int
dpct_cfg_helpers_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
		       const char *path, struct dpct_config *c)
{
	struct dpct_helpers_conf *hc = &c->helpers;
	json_t *e, *a;
	unsigned h;
	size_t i, j;
	int rc;

	(void)k;
	(void)path;
	dpct_cfg_helpers_init(NULL, c);
	if ((rc = dpct_cfg_check_keys("helpers", v, "$.helpers", p->err, p->errlen)) != 0)
		return rc;
	if ((rc = hx_uint(p, v, "max_expectations", "$.helpers", 1, 1u << 20,
			  &hc->max_expectations)) != 0)
		return rc;
	for (h = 1; h < DPCT_HELPER_MAX; h++)
		if ((e = json_object_get(v, helper_names[h])) != NULL &&
		    (rc = hx_policy(p, e, h, &hc->pol[h])) != 0)
			return rc;
	a = json_object_get(v, "rules");
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return hx_fail(p, "$.helpers.rules: expected array, got %s", dpct_json_type(a));
	if (json_array_size(a) > DPCT_HELPER_RULES)
		return hx_fail(p, "$.helpers.rules: %zu rules, at most %u are supported",
			       json_array_size(a), DPCT_HELPER_RULES);
	for (i = 0; i < json_array_size(a); i++) {
		struct dpct_helper_rule *r = &hc->rules[i];

		if ((rc = hx_rule(p, json_array_get(a, i), (unsigned)i, r)) != 0)
			return rc;
		/* Two helpers for the same connections: the second could never apply. */
		for (j = 0; j < i; j++) {
			const struct dpct_helper_rule *q = &hc->rules[j];

			if (q->port == r->port && q->helper == r->helper &&
			    (q->family == 0 || q->family == r->family) &&
			    (q->any_zone || (!r->any_zone && q->zone == r->zone)))
				return hx_fail(p, "$.helpers.rules[%zu]: never applies: rules[%zu] "
					       "matches the same connections first", i, j);
		}
	}
	hc->n_rules = (uint16_t)json_array_size(a);
	return 0;
}

static void
hx_set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

int
dpct_cfg_helpers_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out)
{
	const struct dpct_helpers_conf *hc = &c->helpers;
	json_t *o = json_object(), *a = json_array();
	bool ok = o != NULL && a != NULL;
	unsigned h, i;

	(void)k;
	hx_set(o, "max_expectations", json_integer(hc->max_expectations), &ok);
	for (h = 1; h < DPCT_HELPER_MAX; h++) {
		json_t *p = json_object();

		hx_set(p, "max_expected", json_integer(hc->pol[h].max_expected), &ok);
		hx_set(p, "timeout", json_integer(hc->pol[h].timeout_s), &ok);
		hx_set(o, helper_names[h], p, &ok);
	}
	for (i = 0; ok && i < hc->n_rules && i < DPCT_HELPER_RULES; i++) {
		const struct dpct_helper_rule *r = &hc->rules[i];
		json_t *ro = json_object();

		hx_set(ro, "helper", json_string(helper_names[r->helper]), &ok);
		hx_set(ro, "port", json_integer(r->port), &ok);
		if (!r->any_zone)
			hx_set(ro, "zone", json_integer(r->zone), &ok);
		if (r->family != 0)
			hx_set(ro, "family", json_integer(r->family), &ok);
		if (!ok || json_array_append_new(a, ro) != 0)
			ok = false;
	}
	if (ok && json_object_set(o, "rules", a) != 0)
		ok = false;
	json_decref(a);
	if (!ok) {
		json_decref(o);
		o = NULL;
	}
	*out = o;
	return o != NULL ? 0 : -ENOMEM;
}

int
dpct_config_helpers_reload(const struct dpct_config *cur, const struct dpct_config *next,
			   char *err, size_t errlen)
{
	if (memcmp(&cur->helpers, &next->helpers, sizeof(cur->helpers)) == 0)
		return 0;
	return dpct_cfg_fail(err, errlen, "$.helpers: the helpers section changed; helpers are "
			     "set at start only: restart dpct to apply them");
}
