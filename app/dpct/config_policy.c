/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `policy` section: {"default": "accept"|"drop", "rules": [rule...]}.
 * A rule is an object with "action" and any of: "name", "state" (a name
 * or a list), "in_port", "zone", "family" (4|6), "proto" (name or number),
 * "src"/"dst" (address or prefix), "sport"/"dport" (number, "lo-hi", or a
 * list of those), "icmp_type". Every fault names its JSON path; the keys
 * of both objects are rows of the schema table (config_keys.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_policy.h"
#include "config_schema.h"
#include "config_util.h"
#include "dpct_config.h"

#define RULE_PATH_LEN 48   /* "$.policy.rules[16383]" */
#define KEY_PATH_LEN 80
#define ELEM_PATH_LEN 112

static const struct {
	const char *name;
	uint8_t proto;
} pol_protos[] = {
	{"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"esp", 50}, {"ah", 51},
	{"icmpv6", 58}, {"sctp", 132}, {"udplite", 136}, {"dccp", 33},
};

static int
get_int(json_t *v, const char *path, long min, long max, long *out, char *err, size_t errlen)
{
	json_int_t n;

	if (!json_is_integer(v))
		return dpct_cfg_fail(err, errlen, "%s: expected integer, got %s", path, dpct_json_type(v));
	n = json_integer_value(v);
	if (n < min || n > max)
		return dpct_cfg_fail(err, errlen, "%s: %" JSON_INTEGER_FORMAT " is out of range %ld..%ld",
			     path, n, min, max);
	*out = (long)n;
	return 0;
}

static int
parse_states(json_t *v, const char *path, struct pol_rule *r, char *err, size_t errlen)
{
	char p[ELEM_PATH_LEN];
	size_t i, n = json_is_array(v) ? json_array_size(v) : 1;
	int st;

	if (!json_is_array(v) && !json_is_string(v))
		return dpct_cfg_fail(err, errlen, "%s: expected state name or array, got %s", path,
			     dpct_json_type(v));
	if (json_is_array(v) && n == 0)
		return dpct_cfg_fail(err, errlen, "%s: empty state list", path);
	for (i = 0; i < n; i++) {
		json_t *e = json_is_array(v) ? json_array_get(v, i) : v;

		if (json_is_array(v))
			snprintf(p, sizeof(p), "%s[%zu]", path, i);
		else
			snprintf(p, sizeof(p), "%s", path);
		if (!json_is_string(e))
			return dpct_cfg_fail(err, errlen, "%s: expected string, got %s", p, dpct_json_type(e));
		st = pol_state_parse(json_string_value(e));
		if (st < 0)
			return dpct_cfg_fail(err, errlen,
				     "%s: unknown state \"%.32s\" (new, established, related, "
				     "invalid, untracked)", p, json_string_value(e));
		r->states |= (uint8_t)(1u << st);
	}
	return 0;
}

static int
parse_prefix(json_t *v, const char *path, uint8_t *addr, uint8_t *plen, uint8_t *family,
	     char *err, size_t errlen)
{
	struct dpct_prefix pf;
	const char *s;
	int rc;

	if (!json_is_string(v))
		return dpct_cfg_fail(err, errlen, "%s: expected address prefix string, got %s", path,
			     dpct_json_type(v));
	s = json_string_value(v);
	rc = dpct_cfg_prefix(s, addr, &pf);
	if (rc == -EINVAL)
		return dpct_cfg_fail(err, errlen, "%s: \"%.64s\" is not an address prefix", path, s);
	if (rc == -ERANGE)
		return dpct_cfg_fail(err, errlen, "%s: \"%s\" has a prefix length outside 0..%u",
				     path, s, pf.max);
	if (pf.host_bits)
		return dpct_cfg_fail(err, errlen, "%s: \"%s\" has host bits set beyond /%u",
				     path, s, pf.len);
	if (*family != 0 && *family != pf.family)
		return dpct_cfg_fail(err, errlen, "%s: IPv%u prefix in an IPv%u rule", path,
				     pf.family, *family);
	*family = pf.family;
	*plen = (uint8_t)pf.len;
	return 0;
}

static int
parse_port1(json_t *e, const char *p, struct pol_range *out, char *err, size_t errlen)
{
	long lo, hi;
	char *end;
	int rc;

	if (json_is_integer(e)) {
		rc = get_int(e, p, 0, 65535, &lo, err, errlen);
		if (rc != 0)
			return rc;
		out->lo = out->hi = (uint16_t)lo;
		return 0;
	}
	if (!json_is_string(e))
		return dpct_cfg_fail(err, errlen, "%s: expected port number or \"lo-hi\", got %s", p,
			     dpct_json_type(e));
	errno = 0;
	lo = strtol(json_string_value(e), &end, 10);
	if (end == json_string_value(e) || *end != '-' || errno != 0)
		return dpct_cfg_fail(err, errlen, "%s: \"%.32s\" is not a port range \"lo-hi\"", p,
			     json_string_value(e));
	{
		const char *h = end + 1;

		hi = strtol(h, &end, 10);
		if (end == h || *end != '\0' || errno != 0 || *h < '0' || *h > '9')
			return dpct_cfg_fail(err, errlen, "%s: \"%.32s\" is not a port range \"lo-hi\"",
				     p, json_string_value(e));
	}
	if (lo < 0 || hi > 65535 || lo > hi)
		return dpct_cfg_fail(err, errlen, "%s: \"%.32s\" needs 0 <= lo <= hi <= 65535", p,
			     json_string_value(e));
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

static int
parse_ports(json_t *v, const char *path, struct pol_range *out, uint8_t *n, char *err,
	    size_t errlen)
{
	char p[ELEM_PATH_LEN];
	size_t i;
	int rc;

	if (!json_is_array(v)) {
		*n = 1;
		return parse_port1(v, path, &out[0], err, errlen);
	}
	if (json_array_size(v) == 0 || json_array_size(v) > POL_MAX_PORT_RANGES)
		return dpct_cfg_fail(err, errlen, "%s: a port list holds 1..%u entries", path,
			     POL_MAX_PORT_RANGES);
	for (i = 0; i < json_array_size(v); i++) {
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		rc = parse_port1(json_array_get(v, i), p, &out[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	*n = (uint8_t)json_array_size(v);
	return 0;
}

static int
parse_rule(json_t *o, unsigned idx, struct pol_rule *r, char *err, size_t errlen)
{
	char p[RULE_PATH_LEN], q[KEY_PATH_LEN], msg[160];
	json_t *v;
	long n;
	int rc;

	snprintf(p, sizeof(p), "$.policy.rules[%u]", idx);
	pol_rule_init(r);
	rc = dpct_cfg_check_keys("policy.rules[]", o, p, err, errlen);
	if (rc != 0)
		return rc;
	v = json_object_get(o, "action");
	if (v == NULL)
		return dpct_cfg_fail(err, errlen, "%s: missing \"action\" (accept, drop or notrack)", p);
	if (!json_is_string(v) || pol_action_parse(json_string_value(v)) < 0)
		return dpct_cfg_fail(err, errlen, "%s.action: expected \"accept\", \"drop\" or \"notrack\"",
			     p);
	r->action = (uint8_t)pol_action_parse(json_string_value(v));
	if ((v = json_object_get(o, "name")) != NULL) {
		if (!json_is_string(v) || strlen(json_string_value(v)) >= POL_NAME_LEN)
			return dpct_cfg_fail(err, errlen, "%s.name: expected a string of at most %u bytes",
				     p, POL_NAME_LEN - 1);
		snprintf(r->name, sizeof(r->name), "%s", json_string_value(v));
	}
	if ((v = json_object_get(o, "state")) != NULL) {
		snprintf(q, sizeof(q), "%s.state", p);
		if ((rc = parse_states(v, q, r, err, errlen)) != 0)
			return rc;
	}
	if ((v = json_object_get(o, "in_port")) != NULL) {
		snprintf(q, sizeof(q), "%s.in_port", p);
		if ((rc = get_int(v, q, 0, 65535, &n, err, errlen)) != 0)
			return rc;
		r->in_port = (int32_t)n;
	}
	if ((v = json_object_get(o, "zone")) != NULL) {
		snprintf(q, sizeof(q), "%s.zone", p);
		if ((rc = get_int(v, q, 0, 65535, &n, err, errlen)) != 0)
			return rc;
		r->zone = (int32_t)n;
	}
	if ((v = json_object_get(o, "family")) != NULL) {
		snprintf(q, sizeof(q), "%s.family", p);
		if ((rc = get_int(v, q, 4, 6, &n, err, errlen)) != 0)
			return rc;
		if (n == 5)
			return dpct_cfg_fail(err, errlen, "%s: IP version must be 4 or 6", q);
		r->family = (uint8_t)n;
	}
	if ((v = json_object_get(o, "proto")) != NULL) {
		snprintf(q, sizeof(q), "%s.proto", p);
		if (json_is_string(v)) {
			unsigned i;

			for (i = 0; i < sizeof(pol_protos) / sizeof(pol_protos[0]); i++)
				if (strcmp(pol_protos[i].name, json_string_value(v)) == 0)
					break;
			if (i == sizeof(pol_protos) / sizeof(pol_protos[0]))
				return dpct_cfg_fail(err, errlen, "%s: unknown protocol \"%.32s\"", q,
					     json_string_value(v));
			r->proto = pol_protos[i].proto;
		} else {
			if ((rc = get_int(v, q, 0, 255, &n, err, errlen)) != 0)
				return rc;
			r->proto = (int16_t)n;
		}
	}
	if ((v = json_object_get(o, "src")) != NULL) {
		snprintf(q, sizeof(q), "%s.src", p);
		rc = parse_prefix(v, q, r->src, &r->src_len, &r->family, err, errlen);
		if (rc != 0)
			return rc;
	}
	if ((v = json_object_get(o, "dst")) != NULL) {
		snprintf(q, sizeof(q), "%s.dst", p);
		rc = parse_prefix(v, q, r->dst, &r->dst_len, &r->family, err, errlen);
		if (rc != 0)
			return rc;
	}
	if ((v = json_object_get(o, "sport")) != NULL) {
		snprintf(q, sizeof(q), "%s.sport", p);
		if ((rc = parse_ports(v, q, r->sport, &r->n_sport, err, errlen)) != 0)
			return rc;
	}
	if ((v = json_object_get(o, "dport")) != NULL) {
		snprintf(q, sizeof(q), "%s.dport", p);
		if ((rc = parse_ports(v, q, r->dport, &r->n_dport, err, errlen)) != 0)
			return rc;
	}
	if ((v = json_object_get(o, "icmp_type")) != NULL) {
		snprintf(q, sizeof(q), "%s.icmp_type", p);
		if ((rc = get_int(v, q, 0, 255, &n, err, errlen)) != 0)
			return rc;
		r->icmp_type = (int16_t)n;
	}
	/* ICMP implies the IP version when the rule does not say. */
	if (r->family == 0 && r->proto == 1)
		r->family = 4;
	if (r->family == 0 && r->proto == 58)
		r->family = 6;
	if (pol_rule_check(r, msg, sizeof(msg)) != 0)
		return dpct_cfg_fail(err, errlen, "%s: %s", p, msg);
	return 0;
}

int
dpct_policy_parse(json_t *pol, struct pol_ruleset *rs, char *err, size_t errlen)
{
	struct pol_ruleset tmp;
	struct pol_rule one;
	uint64_t expanded = 0;
	json_t *v, *rules;
	size_t i, n;
	int rc, d;

	if (rs != NULL)
		pol_ruleset_init(rs);
	rc = dpct_cfg_check_keys("policy", pol, "$.policy", err, errlen);
	if (rc != 0)
		return rc;
	pol_ruleset_init(&tmp);
	if ((v = json_object_get(pol, "default")) != NULL) {
		d = json_is_string(v) ? pol_action_parse(json_string_value(v)) : -EINVAL;
		if (d != POL_ACCEPT && d != POL_DROP)
			return dpct_cfg_fail(err, errlen, "$.policy.default: expected \"accept\" or \"drop\"");
		tmp.default_action = (uint8_t)d;
	}
	rules = json_object_get(pol, "rules");
	if (rules == NULL)
		goto done;
	if (!json_is_array(rules))
		return dpct_cfg_fail(err, errlen, "$.policy.rules: expected array, got %s",
			     dpct_json_type(rules));
	n = json_array_size(rules);
	if (n > POL_MAX_RULES)
		return dpct_cfg_fail(err, errlen, "$.policy.rules: %zu rules, at most %u", n,
			     POL_MAX_RULES);
	if (rs != NULL && n > 0) {
		tmp.rules = calloc(n, sizeof(*tmp.rules));
		if (tmp.rules == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct pol_rule *r = rs != NULL ? &tmp.rules[i] : &one;

		rc = parse_rule(json_array_get(rules, i), (unsigned)i, r, err, errlen);
		if (rc != 0) {
			pol_ruleset_clear(&tmp);
			return rc;
		}
		expanded += pol_rule_expansion(r);
	}
	if (expanded > POL_MAX_EXPANDED) {
		pol_ruleset_clear(&tmp);
		return dpct_cfg_fail(err, errlen,
			     "$.policy.rules: %llu classifier rules after expanding state and port "
			     "lists, at most %u", (unsigned long long)expanded, POL_MAX_EXPANDED);
	}
	tmp.n_rules = (uint32_t)n;
done:
	if (rs != NULL)
		*rs = tmp;
	return 0;
}

int
dpct_policy_load(const char *path, struct pol_ruleset *rs, bool *present, char *err,
		 size_t errlen)
{
	struct dpct_config c;

	dpct_config_defaults(&c);
	return dpct_config_load_full(&c, path, rs, present, err, errlen);
}

static json_t *
ports_json(const struct pol_range *r, unsigned n)
{
	json_t *a = json_array();
	char buf[16];
	unsigned i;

	for (i = 0; i < n; i++) {
		if (r[i].lo == r[i].hi) {
			json_array_append_new(a, json_integer(r[i].lo));
		} else {
			snprintf(buf, sizeof(buf), "%u-%u", r[i].lo, r[i].hi);
			json_array_append_new(a, json_string(buf));
		}
	}
	return a;
}

static json_t *
prefix_json(const uint8_t *a, unsigned len, unsigned family)
{
	char buf[INET6_ADDRSTRLEN + 8], addr[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, addr, sizeof(addr));
	snprintf(buf, sizeof(buf), "%s/%u", addr, len);
	return json_string(buf);
}

json_t *
dpct_policy_rule_json(const struct pol_rule *r)
{
	json_t *o = json_object(), *st;
	unsigned i;

	if (o == NULL)
		return NULL;
	if (r->name[0] != '\0')
		json_object_set_new(o, "name", json_string(r->name));
	if (r->states != 0) {
		st = json_array();
		for (i = 0; i < CT_STATE_MAX; i++)
			if (r->states & (1u << i))
				json_array_append_new(st, json_string(pol_state_name(i)));
		json_object_set_new(o, "state", st);
	}
	if (r->in_port >= 0)
		json_object_set_new(o, "in_port", json_integer(r->in_port));
	if (r->zone >= 0)
		json_object_set_new(o, "zone", json_integer(r->zone));
	if (r->family != 0)
		json_object_set_new(o, "family", json_integer(r->family));
	if (r->proto >= 0)
		json_object_set_new(o, "proto", json_integer(r->proto));
	if (r->src_len != 0)
		json_object_set_new(o, "src", prefix_json(r->src, r->src_len, r->family));
	if (r->dst_len != 0)
		json_object_set_new(o, "dst", prefix_json(r->dst, r->dst_len, r->family));
	if (r->n_sport != 0)
		json_object_set_new(o, "sport", ports_json(r->sport, r->n_sport));
	if (r->n_dport != 0)
		json_object_set_new(o, "dport", ports_json(r->dport, r->n_dport));
	if (r->icmp_type >= 0)
		json_object_set_new(o, "icmp_type", json_integer(r->icmp_type));
	json_object_set_new(o, "action", json_string(pol_action_name(r->action)));
	return o;
}
