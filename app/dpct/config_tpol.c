/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "timeout_policies" section: named policies of per-state timeouts and
 * the ordered rules that give a new connection one of them
 * (lib/conntrack/ct_tpol.h), parsed strictly and written back for
 * /dpct/config:
 *
 *   "timeout_policies": {
 *     "policies": {"short": {"tcp": {"established": 120, "close": 10},
 *                            "udp": {"replied": 30}}},
 *     "rules": [{"zone": 5, "policy": "short"},
 *               {"proto": "tcp", "port": 22, "policy": "short"}]
 *   }
 *
 * Protocols and states are the timeout classes of ct.h's CT_TIMEOUT_TABLE
 * ("tcp_established" is tcp's "established"), so a protocol whose tracker
 * adds classes there is accepted here without a change.
 */

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config_keys.h"
#include "config_util.h"
#include "dpct_config.h"

/* The longest timeout a shard holds: under 2^30 ticks of 2^20 ns (ct_shard_create()). */
#define TP_MAX_S CFG_TIMEOUT_MAX_S

static const struct {
	const char *name;
	uint8_t proto;
} tp_protos[] = {
	{"tcp", IPPROTO_TCP}, {"udp", IPPROTO_UDP}, {"icmp", IPPROTO_ICMP},
	{"icmpv6", IPPROTO_ICMPV6}, {"sctp", IPPROTO_SCTP}, {"dccp", IPPROTO_DCCP},
	{"udplite", IPPROTO_UDPLITE}, {"gre", IPPROTO_GRE},
};
#define TP_N_PROTOS (sizeof(tp_protos) / sizeof(tp_protos[0]))

/* "tcp, udp, icmp, icmpv6, generic": the protocols of the timeout table. */
static void
tp_proto_list(char *buf, size_t len)
{
	char p[32], last[32] = "";
	size_t n = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < CT_TO_MAX; i++) {
		if (ct_tpol_class_split(i, p, sizeof(p), NULL) != 0 || strcmp(p, last) == 0)
			continue;
		snprintf(last, sizeof(last), "%s", p);
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? ", " : "", p);
		if (n >= len)
			return;
	}
}

/* "syn_sent, syn_recv, ...": the states of protocol `proto`. */
static void
tp_state_list(const char *proto, char *buf, size_t len)
{
	const char *st;
	char p[32];
	size_t n = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < CT_TO_MAX; i++) {
		if (ct_tpol_class_split(i, p, sizeof(p), &st) != 0 || strcmp(p, proto) != 0)
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? ", " : "", st);
		if (n >= len)
			return;
	}
}

static bool
tp_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= CT_TPOL_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

/* One policy's object: {"tcp": {"established": 120}, ...}. */
static int
tp_policy(char *err, size_t errlen, const char *path, const char *name, json_t *o,
	  struct ct_tpol *pol)
{
	char pp[160], sp[224], list[512];
	const char *proto, *state;
	json_t *states, *v;
	unsigned given = 0;
	uint64_t n;
	int cls, rc;

	if (!tp_name_ok(name))
		return dpct_cfg_fail(err, errlen, "%s: policy name \"%s\": 1..%u characters of "
				     "A-Z a-z 0-9 _ - .", path, name, CT_TPOL_NAME_MAX - 1);
	snprintf(pp, sizeof(pp), "%s.%s", path, name);
	if (!json_is_object(o))
		return dpct_cfg_fail(err, errlen, "%s: expected object, got %s", pp,
				     dpct_json_type(o));
	snprintf(pol->name, sizeof(pol->name), "%s", name);
	json_object_foreach(o, proto, states) {
		if (ct_tpol_class_find(proto, "") == -ENOENT) {
			tp_proto_list(list, sizeof(list));
			return dpct_cfg_fail(err, errlen, "%s: unknown protocol \"%s\" (protocols: "
					     "%s)", pp, proto, list);
		}
		snprintf(sp, sizeof(sp), "%s.%s", pp, proto);
		if (!json_is_object(states))
			return dpct_cfg_fail(err, errlen, "%s: expected object of state: seconds, "
					     "got %s", sp, dpct_json_type(states));
		json_object_foreach(states, state, v) {
			char vp[288];

			cls = ct_tpol_class_find(proto, state);
			if (cls < 0) {
				tp_state_list(proto, list, sizeof(list));
				return dpct_cfg_fail(err, errlen, "%s: unknown state \"%s\" of %s "
						     "(states: %s)", sp, state, proto, list);
			}
			snprintf(vp, sizeof(vp), "%s.%s", sp, state);
			rc = dpct_cfg_uint(err, errlen, v, vp, 1, TP_MAX_S, &n);
			if (rc != 0)
				return rc;
			pol->timeout_s[cls] = (uint32_t)n;
			given++;
		}
	}
	if (given == 0)
		return dpct_cfg_fail(err, errlen, "%s: the policy gives no timeout (name a "
				     "protocol and at least one of its states)", pp);
	return 0;
}

static int
tp_rule(char *err, size_t errlen, const struct ct_tpol_conf *tc, json_t *o, unsigned i,
	struct ct_tpol_rule *r)
{
	char path[64], q[80], list[CT_TPOL_MAX * (CT_TPOL_NAME_MAX + 2) + 1];
	json_t *v;
	uint64_t n;
	unsigned k;
	int rc;

	snprintf(path, sizeof(path), "$.timeout_policies.rules[%u]", i);
	if ((rc = dpct_cfg_check_keys("timeout_policies.rules[]", o, path, err, errlen)) != 0)
		return rc;
	v = json_object_get(o, "policy");
	if (v == NULL)
		return dpct_cfg_fail(err, errlen, "%s.policy: missing (the policy this rule "
				     "gives)", path);
	if (!json_is_string(v))
		return dpct_cfg_fail(err, errlen, "%s.policy: expected string, got %s", path,
				     dpct_json_type(v));
	r->policy = (uint8_t)ct_tpol_find(tc, json_string_value(v));
	if (r->policy == 0) {
		size_t m = 0;

		list[0] = '\0';
		for (k = 0; k < tc->n_policies; k++)
			m += (size_t)snprintf(list + m, sizeof(list) - m, "%s%s", k ? ", " : "",
					      tc->pol[k].name);
		return dpct_cfg_fail(err, errlen, "%s.policy: no policy named \"%s\" (defined: "
				     "%s)", path, json_string_value(v),
				     tc->n_policies ? list : "none");
	}
	if ((v = json_object_get(o, "zone")) != NULL) {
		snprintf(q, sizeof(q), "%s.zone", path);
		if ((rc = dpct_cfg_uint(err, errlen, v, q, 0, UINT16_MAX, &n)) != 0)
			return rc;
		r->zone = (uint16_t)n;
		r->match |= CT_TPOL_M_ZONE;
	}
	if ((v = json_object_get(o, "proto")) != NULL) {
		snprintf(q, sizeof(q), "%s.proto", path);
		if (json_is_string(v)) {
			for (k = 0; k < TP_N_PROTOS; k++)
				if (strcmp(tp_protos[k].name, json_string_value(v)) == 0)
					break;
			if (k == TP_N_PROTOS)
				return dpct_cfg_fail(err, errlen, "%s: unknown protocol \"%s\" "
						     "(tcp, udp, icmp, icmpv6, sctp, dccp, "
						     "udplite, gre or a number 0..255)", q,
						     json_string_value(v));
			r->proto = tp_protos[k].proto;
		} else {
			if ((rc = dpct_cfg_uint(err, errlen, v, q, 0, 255, &n)) != 0)
				return rc;
			r->proto = (uint8_t)n;
		}
		r->match |= CT_TPOL_M_PROTO;
	}
	if ((v = json_object_get(o, "port")) != NULL) {
		snprintf(q, sizeof(q), "%s.port", path);
		if ((rc = dpct_cfg_uint(err, errlen, v, q, 1, UINT16_MAX, &n)) != 0)
			return rc;
		r->port = (uint16_t)n;
		r->match |= CT_TPOL_M_PORT;
		if (!(r->match & CT_TPOL_M_PROTO) ||
		    (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP &&
		     r->proto != IPPROTO_SCTP && r->proto != IPPROTO_DCCP &&
		     r->proto != IPPROTO_UDPLITE))
			return dpct_cfg_fail(err, errlen, "%s: a port needs proto tcp, udp, sctp, "
					     "dccp or udplite", q);
	}
	return 0;
}

int
dpct_cfg_tpol_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *v, const char *path,
		    struct dpct_config *c)
{
	struct ct_tpol_conf *tc = &c->tpol;
	json_t *pols, *rules, *o;
	const char *name;
	char pp[96];
	size_t i;
	int rc;

	(void)k;
	memset(tc, 0, sizeof(*tc));
	if ((rc = dpct_cfg_check_keys("timeout_policies", v, path, p->err, p->errlen)) != 0)
		return rc;
	snprintf(pp, sizeof(pp), "%s.policies", path);
	pols = json_object_get(v, "policies");
	if (pols != NULL && !json_is_object(pols))
		return dpct_cfg_fail(p->err, p->errlen, "%s: expected object of name: policy, "
				     "got %s", pp, dpct_json_type(pols));
	if (pols != NULL && json_object_size(pols) > CT_TPOL_MAX)
		return dpct_cfg_fail(p->err, p->errlen, "%s: %zu policies, at most %u", pp,
				     json_object_size(pols), CT_TPOL_MAX);
	json_object_foreach(pols, name, o) {
		rc = tp_policy(p->err, p->errlen, pp, name, o, &tc->pol[tc->n_policies]);
		if (rc != 0)
			return rc;
		tc->n_policies++;
	}
	rules = json_object_get(v, "rules");
	if (rules != NULL && !json_is_array(rules))
		return dpct_cfg_fail(p->err, p->errlen, "%s.rules: expected array, got %s", path,
				     dpct_json_type(rules));
	if (json_array_size(rules) > CT_TPOL_MAX_RULES)
		return dpct_cfg_fail(p->err, p->errlen, "%s.rules: %zu rules, at most %u", path,
				     json_array_size(rules), CT_TPOL_MAX_RULES);
	json_array_foreach(rules, i, o) {
		rc = tp_rule(p->err, p->errlen, tc, o, (unsigned)i, &tc->rule[i]);
		if (rc != 0)
			return rc;
		tc->n_rules++;
	}
	return ct_tpol_check(tc, TP_MAX_S, p->err, p->errlen);
}

static bool
tp_set(json_t *o, const char *key, json_t *v)
{
	return o != NULL && v != NULL && json_object_set_new(o, key, v) == 0;
}

static json_t *
tp_policy_json(const struct ct_tpol *pol)
{
	json_t *o = json_object(), *ps = NULL;
	char proto[32] = "", cur[32];
	const char *st;
	bool ok = o != NULL;
	unsigned i;

	for (i = 0; ok && i < CT_TO_MAX; i++) {
		if (pol->timeout_s[i] == 0 || ct_tpol_class_split(i, cur, sizeof(cur), &st) != 0)
			continue;
		if (strcmp(cur, proto) != 0) {
			snprintf(proto, sizeof(proto), "%s", cur);
			ps = json_object();
			ok = tp_set(o, proto, ps);
		}
		ok = ok && tp_set(ps, st, json_integer(pol->timeout_s[i]));
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
dpct_cfg_tpol_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out)
{
	const struct ct_tpol_conf *tc = &c->tpol;
	json_t *o = json_object(), *pols = json_object(), *rules = json_array();
	bool ok = o != NULL && pols != NULL && rules != NULL;
	unsigned i, j;

	(void)k;
	for (i = 0; ok && i < tc->n_policies; i++)
		ok = tp_set(pols, tc->pol[i].name, tp_policy_json(&tc->pol[i]));
	for (i = 0; ok && i < tc->n_rules; i++) {
		const struct ct_tpol_rule *r = &tc->rule[i];
		json_t *ro = json_object();

		if (ok && (r->match & CT_TPOL_M_ZONE))
			ok = tp_set(ro, "zone", json_integer(r->zone));
		if (ok && (r->match & CT_TPOL_M_PROTO)) {
			for (j = 0; j < TP_N_PROTOS && tp_protos[j].proto != r->proto; j++)
				;
			ok = tp_set(ro, "proto", j < TP_N_PROTOS ? json_string(tp_protos[j].name) :
								   json_integer(r->proto));
		}
		if (ok && (r->match & CT_TPOL_M_PORT))
			ok = tp_set(ro, "port", json_integer(r->port));
		ok = ok && tp_set(ro, "policy", json_string(tc->pol[r->policy - 1].name));
		if (ok)
			ok = json_array_append_new(rules, ro) == 0;
		else
			json_decref(ro);
	}
	ok = ok && json_object_set(o, "policies", pols) == 0 &&
	     json_object_set(o, "rules", rules) == 0;
	json_decref(pols);
	json_decref(rules);
	if (!ok) {
		json_decref(o);
		o = NULL;
	}
	*out = o;
	return o != NULL ? 0 : -ENOMEM;
}
