/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "notrack" section of the JSON configuration: rules whose packets
 * bypass the table (proto, port, address prefix, family), parsed strictly
 * with the JSON path of every fault, and written back for /dpct/config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_keys.h"
#include "config_util.h"
#include "dpct_config.h"

/* Where the error text goes. */
struct nt_ctx {
	char *err;
	size_t errlen;
};

#define nt_fail(x, ...) dpct_cfg_fail((x)->err, (x)->errlen, __VA_ARGS__)

/* obj.key when present, within [min, max]. */
static int
nt_u32(struct nt_ctx *x, json_t *obj, const char *key, const char *path, uint32_t min,
       uint32_t max, uint32_t *out)
{
	json_t *v = json_object_get(obj, key);
	char p[96];
	uint64_t n = 0;
	int rc;

	if (v == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	rc = dpct_cfg_uint(x->err, x->errlen, v, p, min, max, &n);
	if (rc == 0)
		*out = (uint32_t)n;
	return rc;
}

/* json_object_set_new() with ENOMEM folded into one flag. */
static void
nt_set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static const struct {
	const char *name;
	uint8_t proto;
} nt_protos[] = {
	{"any", 0}, {"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"icmpv6", 58},
	{"sctp", 132}, {"udplite", 136},
};

static const char *
nt_proto_name(uint8_t proto)
{
	unsigned i;

	for (i = 0; i < sizeof(nt_protos) / sizeof(nt_protos[0]); i++)
		if (nt_protos[i].proto == proto)
			return nt_protos[i].name;
	return NULL;
}

static int
nt_prefix(struct nt_ctx *x, const char *path, const char *s, struct ct_notrack_rule *r)
{
	struct dpct_prefix pf;
	unsigned i;
	int rc;

	rc = dpct_cfg_prefix(s, r->addr, &pf);
	if (rc == -EINVAL)
		return nt_fail(x, "%s: \"%.64s\" is not an address prefix", path, s);
	if (rc == -ERANGE)
		return nt_fail(x, "%s: \"%s\" has a prefix length outside 0..%u", path, s, pf.max);
	r->family = pf.family;
	r->prefix_len = (uint8_t)pf.len;
	/*
	 * Clear the host bits: "10.1.2.3/16" matches as 10.1.0.0/16, and the
	 * stored rule prints back the same way (to_json round trip).
	 */
	for (i = 0; i < sizeof(r->addr); i++) {
		unsigned bits = i * 8;

		if (bits >= pf.len)
			r->addr[i] = 0;
		else if (pf.len - bits < 8)
			r->addr[i] &= (uint8_t)(0xff00u >> (pf.len - bits));
	}
	return 0;
}

static int
nt_rule(struct nt_ctx *x, json_t *o, unsigned idx, struct ct_notrack_rule *r)
{
	char p[48], q[64];
	uint32_t port = 0, fam = 0;
	json_t *v;
	int rc;

	snprintf(p, sizeof(p), "$.notrack[%u]", idx);
	memset(r, 0, sizeof(*r));
	if ((rc = dpct_cfg_check_keys("notrack[]", o, p, x->err, x->errlen)) != 0)
		return rc;
	v = json_object_get(o, "proto");
	if (v != NULL) {
		snprintf(q, sizeof(q), "%s.proto", p);
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			unsigned i;

			for (i = 0; i < sizeof(nt_protos) / sizeof(nt_protos[0]); i++)
				if (strcmp(nt_protos[i].name, s) == 0)
					break;
			if (i == sizeof(nt_protos) / sizeof(nt_protos[0]))
				return nt_fail(x, "%s: unknown protocol \"%s\"", q, s);
			r->proto = nt_protos[i].proto;
		} else if (json_is_integer(v)) {
			uint64_t n;

			if ((rc = dpct_cfg_uint(x->err, x->errlen, v, q, 0, 255, &n)) != 0)
				return rc;
			r->proto = (uint8_t)n;
		} else {
			return nt_fail(x, "%s: expected string or integer, got %s", q,
					dpct_json_type(v));
		}
	}
	if ((rc = nt_u32(x, o, "port", p, 0, UINT16_MAX, &port)) != 0)
		return rc;
	r->port = (uint16_t)port;
	if (port != 0 && r->proto != 6 && r->proto != 17 && r->proto != 132 &&
	    r->proto != 136)
		return nt_fail(x, "%s.port: a port needs proto tcp, udp, sctp or udplite", p);
	v = json_object_get(o, "prefix");
	if (v != NULL) {
		snprintf(q, sizeof(q), "%s.prefix", p);
		if (!json_is_string(v))
			return nt_fail(x, "%s: expected string, got %s", q, dpct_json_type(v));
		if ((rc = nt_prefix(x, q, json_string_value(v), r)) != 0)
			return rc;
	}
	v = json_object_get(o, "family");
	if (v != NULL) {
		snprintf(q, sizeof(q), "%s.family", p);
		if ((rc = nt_u32(x, o, "family", p, 4, 6, &fam)) != 0)
			return rc;
		if (fam == 5)
			return nt_fail(x, "%s: 5 is not one of 4, 6", q);
		if (r->family != 0 && r->family != fam)
			return nt_fail(x, "%s: %u contradicts the prefix's family", q, fam);
		r->family = (uint8_t)fam;
	}
	/* A rule without any field would exempt every packet from tracking. */
	if (r->proto == 0 && r->port == 0 && r->family == 0)
		return nt_fail(x, "%s: a rule needs proto, port, prefix or family", p);
	return 0;
}

int
dpct_cfg_notrack_parse(struct cfg_parse *p, const struct cfg_key *k, json_t *a,
		       const char *path, struct dpct_config *c)
{
	struct nt_ctx ctx = {p->err, p->errlen}, *x = &ctx;
	size_t i;
	int rc;

	(void)k;
	(void)path;
	if (!json_is_array(a))
		return nt_fail(x, "$.notrack: expected array, got %s", dpct_json_type(a));
	if (json_array_size(a) > CT_MAX_NOTRACK)
		return nt_fail(x, "$.notrack: %zu rules, at most %u are supported",
				json_array_size(a), CT_MAX_NOTRACK);
	for (i = 0; i < json_array_size(a); i++) {
		rc = nt_rule(x, json_array_get(a, i), (unsigned)i, &c->notrack[i]);
		if (rc != 0)
			return rc;
	}
	c->n_notrack = (uint16_t)json_array_size(a);
	return 0;
}

static json_t *
nt_rule_json(const struct ct_notrack_rule *r, bool *ok)
{
	json_t *o = json_object();
	char addr[INET6_ADDRSTRLEN], pfx[INET6_ADDRSTRLEN + 8];
	const char *name = nt_proto_name(r->proto);

	if (r->proto != 0)
		nt_set(o, "proto", name != NULL ? json_string(name) : json_integer(r->proto), ok);
	if (r->port != 0)
		nt_set(o, "port", json_integer(r->port), ok);
	if (r->prefix_len != 0 && (r->family == 4 || r->family == 6)) {
		inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, addr, sizeof(addr));
		snprintf(pfx, sizeof(pfx), "%s/%u", addr, r->prefix_len);
		nt_set(o, "prefix", json_string(pfx), ok);
	}
	if (r->family != 0)
		nt_set(o, "family", json_integer(r->family), ok);
	return o;
}

int
dpct_cfg_notrack_emit(const struct cfg_key *k, const struct dpct_config *c, json_t **out)
{
	json_t *a = json_array();
	bool ok = a != NULL;
	unsigned i;

	for (i = 0; ok && i < c->n_notrack && i < CT_MAX_NOTRACK; i++)
		if (json_array_append_new(a, nt_rule_json(&c->notrack[i], &ok)) != 0)
			ok = false;
	(void)k;
	if (!ok) {
		json_decref(a);
		a = NULL;
	}
	*out = a;
	return a != NULL ? 0 : -ENOMEM;
}
