/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "limits" section of the JSON configuration: connection limits per
 * source group and per zone, and the top sketch, parsed strictly with the
 * JSON path of every fault, written back for /dpct/config, split among
 * the workers, and compared at reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_keys.h"
#include "config_limits.h"
#include "config_util.h"
#include "dpct_config.h"

struct lx {
	char *err;
	size_t errlen;
};

#define lx_fail(x, ...) dpct_cfg_fail((x)->err, (x)->errlen, __VA_ARGS__)

#define LIMIT_MAX_MAX (1u << 28)

void
dpct_cfg_limits_init(const struct cfg_key *k, struct dpct_config *c)
{
	(void)k;
	memset(&c->limits, 0, sizeof(c->limits));
	c->limits.top = true;
}

/* A name: 1..31 of [A-Za-z0-9_], what a telemetry key may hold. */
static int
lx_name(struct lx *x, const char *path, json_t *v, char *out)
{
	const char *s;
	size_t i, n;

	if (!json_is_string(v))
		return lx_fail(x, "%s.name: expected string, got %s", path, dpct_json_type(v));
	s = json_string_value(v);
	n = strlen(s);
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			break;
	}
	if (n == 0 || n >= DPCT_LIMIT_NAME_MAX || i != n)
		return lx_fail(x, "%s.name: \"%.64s\" is not a name (1..%u of A-Z a-z 0-9 _)",
			       path, s, DPCT_LIMIT_NAME_MAX - 1);
	memcpy(out, s, n + 1);
	return 0;
}

/* "a.b.c.d/len" or "x::/len" (host bits must be zero) into r. */
static int
lx_prefix(struct lx *x, const char *path, json_t *v, struct ct_limit_rule *r)
{
	struct dpct_prefix pf;
	const char *s;
	int rc;

	if (!json_is_string(v))
		return lx_fail(x, "%s.source: expected string, got %s", path, dpct_json_type(v));
	s = json_string_value(v);
	rc = dpct_cfg_prefix(s, r->addr, &pf);
	if (rc == -EINVAL)
		return lx_fail(x, "%s.source: \"%.64s\" is not an address prefix", path, s);
	if (rc == -ERANGE)
		return lx_fail(x, "%s.source: \"%s\" has a prefix length outside 0..%u", path,
			       s, pf.max);
	if (pf.host_bits)
		return lx_fail(x, "%s.source: \"%s\" has host bits set beyond /%u", path, s,
			       pf.len);
	r->family = pf.family;
	r->prefix_len = (uint8_t)pf.len;
	return 0;
}

/* Whether two rules count the same connections the same way. */
static bool
lx_same(const struct ct_limit_rule *a, const struct ct_limit_rule *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == 0)
		return a->zone == b->zone;
	return a->prefix_len == b->prefix_len && a->group_len == b->group_len &&
	       a->any_zone == b->any_zone && (a->any_zone || a->zone == b->zone) &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static int
lx_rule(struct lx *x, json_t *o, unsigned idx, struct dpct_limits_conf *l)
{
	struct dpct_limit_rule *d = &l->rules[idx];
	struct ct_limit_rule *r = &d->r;
	char p[48], q[80];
	uint64_t n;
	json_t *v;
	unsigned i;
	int rc;

	snprintf(p, sizeof(p), "$.limits.rules[%u]", idx);
	memset(d, 0, sizeof(*d));
	if ((rc = dpct_cfg_check_keys("limits.rules[]", o, p, x->err, x->errlen)) != 0)
		return rc;
	snprintf(d->name, sizeof(d->name), "rule%u", idx);
	if ((v = json_object_get(o, "name")) != NULL && (rc = lx_name(x, p, v, d->name)) != 0)
		return rc;
	v = json_object_get(o, "max");
	if (v == NULL)
		return lx_fail(x, "%s: missing \"max\" (live entries, 1..%u)", p, LIMIT_MAX_MAX);
	snprintf(q, sizeof(q), "%s.max", p);
	if (json_is_integer(v) && json_integer_value(v) == 0)
		return lx_fail(x, "%s: 0 would refuse every connection; the least is 1", q);
	if ((rc = dpct_cfg_uint(x->err, x->errlen, v, q, 1, LIMIT_MAX_MAX, &n)) != 0)
		return rc;
	r->max = (uint32_t)n;
	r->any_zone = 1;
	if ((v = json_object_get(o, "zone")) != NULL) {
		snprintf(q, sizeof(q), "%s.zone", p);
		if ((rc = dpct_cfg_uint(x->err, x->errlen, v, q, 0, UINT16_MAX, &n)) != 0)
			return rc;
		r->zone = (uint16_t)n;
		r->any_zone = 0;
	}
	v = json_object_get(o, "source");
	if (v == NULL) {
		if (r->any_zone)
			return lx_fail(x, "%s: a rule needs \"source\" (a per-source limit) or "
				       "\"zone\" (a per-zone limit)", p);
		if (json_object_get(o, "group_prefix") != NULL)
			return lx_fail(x, "%s.group_prefix: needs \"source\"", p);
		r->any_zone = 0;
		r->family = 0;
	} else {
		unsigned full;

		if ((rc = lx_prefix(x, p, v, r)) != 0)
			return rc;
		if (r->max > CT_LIMIT_SRC_MAX)
			return lx_fail(x, "%s.max: %u is over %u, the most a source rule counts; "
				       "a zone rule caps more", p, r->max, CT_LIMIT_SRC_MAX);
		full = r->family == 4 ? 32 : 128;
		r->group_len = (uint8_t)full;
		if ((v = json_object_get(o, "group_prefix")) != NULL) {
			snprintf(q, sizeof(q), "%s.group_prefix", p);
			if ((rc = dpct_cfg_uint(x->err, x->errlen, v, q, 0, full, &n)) != 0)
				return rc;
			if (n < r->prefix_len)
				return lx_fail(x, "%s: %llu is shorter than the source's /%u", q,
					       (unsigned long long)n, r->prefix_len);
			r->group_len = (uint8_t)n;
		}
	}
	for (i = 0; i < idx; i++) {
		if (strcmp(l->rules[i].name, d->name) == 0)
			return lx_fail(x, "%s.name: \"%s\" is already the name of rules[%u]", p,
				       d->name, i);
		if (lx_same(&l->rules[i].r, r))
			return lx_fail(x, "%s: duplicates rules[%u] (same source, group and zone)",
				       p, i);
	}
	return 0;
}

int
dpct_cfg_limits_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v,
		      const char *path, struct dpct_config *c)
{
	struct lx ctx = {p->err, p->errlen}, *x = &ctx;
	struct dpct_limits_conf *l = &c->limits;
	json_t *rules, *e;
	uint64_t n;
	size_t i;
	int rc;

	(void)k;
	(void)path;
	if ((rc = dpct_cfg_check_keys("limits", v, "$.limits", x->err, x->errlen)) != 0)
		return rc;
	dpct_cfg_limits_init(NULL, c);
	if ((e = json_object_get(v, "top")) != NULL) {
		if (!json_is_boolean(e))
			return lx_fail(x, "$.limits.top: expected boolean, got %s",
				       dpct_json_type(e));
		l->top = json_is_true(e);
	}
	if ((e = json_object_get(v, "keys")) != NULL) {
		if ((rc = dpct_cfg_uint(x->err, x->errlen, e, "$.limits.keys", 0,
					CFG_MAX_ENTRIES_MAX, &n)) != 0)
			return rc;
		l->keys = (uint32_t)n;
	}
	rules = json_object_get(v, "rules");
	if (rules == NULL)
		return 0;
	if (!json_is_array(rules))
		return lx_fail(x, "$.limits.rules: expected array, got %s", dpct_json_type(rules));
	if (json_array_size(rules) > CT_MAX_LIMITS)
		return lx_fail(x, "$.limits.rules: %zu rules, at most %u are supported",
			       json_array_size(rules), CT_MAX_LIMITS);
	for (i = 0; i < json_array_size(rules); i++) {
		if ((rc = lx_rule(x, json_array_get(rules, i), (unsigned)i, l)) != 0) {
			memset(l->rules, 0, sizeof(l->rules));
			return rc;
		}
		l->n_rules = (uint16_t)(i + 1);
	}
	return 0;
}

static void
lx_set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static json_t *
lx_rule_json(const struct dpct_limit_rule *d, bool *ok)
{
	const struct ct_limit_rule *r = &d->r;
	char addr[INET6_ADDRSTRLEN], pfx[INET6_ADDRSTRLEN + 8];
	json_t *o = json_object();

	lx_set(o, "name", json_string(d->name), ok);
	if (r->family != 0) {
		inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, addr, sizeof(addr));
		snprintf(pfx, sizeof(pfx), "%s/%u", addr, r->prefix_len);
		lx_set(o, "source", json_string(pfx), ok);
		lx_set(o, "group_prefix", json_integer(r->group_len), ok);
	}
	if (!r->any_zone)
		lx_set(o, "zone", json_integer(r->zone), ok);
	lx_set(o, "max", json_integer(r->max), ok);
	return o;
}

int
dpct_cfg_limits_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out)
{
	const struct dpct_limits_conf *l = &c->limits;
	json_t *o = json_object(), *a = json_array();
	bool ok = o != NULL && a != NULL;
	unsigned i;

	(void)k;
	lx_set(o, "top", json_boolean(l->top), &ok);
	lx_set(o, "keys", json_integer(l->keys), &ok);
	for (i = 0; ok && i < l->n_rules && i < CT_MAX_LIMITS; i++)
		if (json_array_append_new(a, lx_rule_json(&l->rules[i], &ok)) != 0)
			ok = false;
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

void
dpct_config_limits_shard(const struct dpct_config *c, unsigned index, unsigned count,
			 struct ct_conf *out)
{
	const struct dpct_limits_conf *l = &c->limits;
	static const struct ct_tuple key_src = {.family = 4, .proto = 255, .zone = 0xd9c7};
	unsigned i;

	if (count == 0)
		count = 1;
	out->n_limits = l->n_rules;
	for (i = 0; i < l->n_rules && i < CT_MAX_LIMITS; i++) {
		uint32_t max = l->rules[i].r.max;

		out->limits[i] = l->rules[i].r;
		out->limits[i].max = max / count + (index < max % count ? 1 : 0);
		if (out->limits[i].max == 0)
			out->limits[i].max = 1;
	}
	out->limit_keys = l->keys;
	out->top = l->top;
	/*
	 * One key for every shard's sketch, so the control core can add them:
	 * from `seed`, or from the process's secret flow-hash key.
	 */
	out->top_seed = c->seed != 0 ? c->seed * UINT64_C(0x9e3779b97f4a7c15) + 1 :
				       ct_tuple_hash64(&key_src);
}

int
dpct_config_limits_reload(const struct dpct_config *cur, const struct dpct_config *next,
			  char *err, size_t errlen)
{
	if (memcmp(&cur->limits, &next->limits, sizeof(cur->limits)) == 0)
		return 0;
	return dpct_cfg_fail(err, errlen, "$.limits: the limits section changed; limits are "
			     "set at start only: restart dpct to apply them");
}
