/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "limits" section (app/dpct/config_limits.c): good documents parse to
 * the rules lib/conntrack gets, each worker gets its share of every max,
 * every bad input gives its exact message with the JSON path, the section
 * round-trips through /dpct/config's JSON, and a reload that changes it is
 * refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dpct_config.h"
#include "dpct_test.h"

static char errbuf[512];

static int
parse(struct dpct_config *c, const char *text)
{
	dpct_config_defaults(c);
	errbuf[0] = '\0';
	return dpct_config_parse(c, text, strlen(text), errbuf, sizeof(errbuf));
}

static const char example[] =
	"{\"limits\": {\"keys\": 5000, \"rules\": ["
	" {\"name\": \"per_host\", \"source\": \"0.0.0.0/0\", \"max\": 1000},"
	" {\"source\": \"2001:db8::/32\", \"group_prefix\": 64, \"zone\": 3, \"max\": 7},"
	" {\"name\": \"tenant_5\", \"zone\": 5, \"max\": 200001}]}}";

static int
test_good(void)
{
	static struct dpct_config c;
	const struct ct_limit_rule *r;
	uint8_t v6[16];

	/* Defaults: no rules, the sketch on. */
	T_EQ(parse(&c, "{}"), 0);
	T_EQ(c.limits.n_rules, 0);
	T_EQ(c.limits.top, true);
	T_EQ(parse(&c, example), 0);
	T_EQ(c.limits.n_rules, 3);
	T_EQ(c.limits.keys, 5000);
	T_STREQ(c.limits.rules[0].name, "per_host");
	r = &c.limits.rules[0].r;
	T_EQ(r->family, 4);
	T_EQ(r->prefix_len, 0);
	T_EQ(r->group_len, 32);
	T_EQ(r->any_zone, 1);
	T_EQ(r->max, 1000);
	T_STREQ(c.limits.rules[1].name, "rule1");
	r = &c.limits.rules[1].r;
	inet_pton(AF_INET6, "2001:db8::", v6);
	T_EQ(r->family, 6);
	T_MEMEQ(r->addr, v6, 16);
	T_EQ(r->prefix_len, 32);
	T_EQ(r->group_len, 64);
	T_EQ(r->any_zone, 0);
	T_EQ(r->zone, 3);
	r = &c.limits.rules[2].r;
	T_EQ(r->family, 0);
	T_EQ(r->zone, 5);
	T_EQ(r->max, 200001);
	T_EQ(parse(&c, "{\"limits\": {\"top\": false}}"), 0);
	T_EQ(c.limits.top, false);
	return 0;
}

/* Each worker's share: the remainder to the first ones, never below 1. */
static int
test_shares(void)
{
	static struct dpct_config c;
	struct ct_conf cc;
	uint32_t sum[3] = {0, 0, 0};
	unsigned w, i;

	T_EQ(parse(&c, example), 0);
	for (w = 0; w < 4; w++) {
		dpct_config_shard(&c, w, 4, &cc);
		T_EQ(cc.n_limits, 3);
		T_EQ(cc.limit_keys, 5000);
		T_EQ(cc.top, true);
		for (i = 0; i < 3; i++)
			sum[i] += cc.limits[i].max;
		if (w == 0)
			T_EQ(cc.limits[2].max, 50001);
		if (w == 3)
			T_EQ(cc.limits[2].max, 50000);
	}
	T_EQ(sum[0], 1000);
	T_EQ(sum[1], 7);   /* 2, 2, 2, 1 */
	T_EQ(sum[2], 200001);
	return 0;
}

/* Every fault and its message. */
static int
test_bad(void)
{
	static const struct {
		const char *doc;
		const char *msg;
	} rows[] = {
		{"{\"limits\": [1]}", "$.limits: expected object, got array"},
		{"{\"limits\": {\"rule\": []}}", "unknown key at $.limits.rule"},
		{"{\"limits\": {\"rules\": {}}}", "$.limits.rules: expected array, got object"},
		{"{\"limits\": {\"top\": 1}}", "$.limits.top: expected boolean, got integer"},
		{"{\"limits\": {\"keys\": -1}}", "$.limits.keys"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/8\"}]}}",
		 "$.limits.rules[0]: missing \"max\" (live entries, 1..268435456)"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/8\", \"max\": 0}]}}",
		 "$.limits.rules[0].max: 0 would refuse every connection; the least is 1"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/8\", \"max\": -5}]}}",
		 "$.limits.rules[0].max"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/8\", \"max\": \"9\"}]}}",
		 "$.limits.rules[0].max: expected integer"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/8\", \"max\": 16777216}]}}",
		 "$.limits.rules[0].max: 16777216 is over 16777215, the most a source rule counts"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.1/8\", \"max\": 1}]}}",
		 "$.limits.rules[0].source: \"10.0.0.1/8\" has host bits set beyond /8"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/33\", \"max\": 1}]}}",
		 "$.limits.rules[0].source: \"10.0.0.0/33\" has a prefix length outside 0..32"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/\", \"max\": 1}]}}",
		 "has a prefix length outside 0..32"},
		{"{\"limits\": {\"rules\": [{\"source\": \"2001:db8::/129\", \"max\": 1}]}}",
		 "has a prefix length outside 0..128"},
		{"{\"limits\": {\"rules\": [{\"source\": \"host.example\", \"max\": 1}]}}",
		 "$.limits.rules[0].source: \"host.example\" is not an address prefix"},
		{"{\"limits\": {\"rules\": [{\"source\": 10, \"max\": 1}]}}",
		 "$.limits.rules[0].source: expected string, got integer"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/16\", \"group_prefix\": 8,"
		 " \"max\": 1}]}}",
		 "$.limits.rules[0].group_prefix: 8 is shorter than the source's /16"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/16\", \"group_prefix\": 33,"
		 " \"max\": 1}]}}",
		 "$.limits.rules[0].group_prefix"},
		{"{\"limits\": {\"rules\": [{\"max\": 1}]}}",
		 "$.limits.rules[0]: a rule needs \"source\" (a per-source limit) or \"zone\""},
		{"{\"limits\": {\"rules\": [{\"zone\": 70000, \"max\": 1}]}}",
		 "$.limits.rules[0].zone"},
		{"{\"limits\": {\"rules\": [{\"zone\": 2, \"group_prefix\": 24, \"max\": 1}]}}",
		 "$.limits.rules[0].group_prefix: needs \"source\""},
		{"{\"limits\": {\"rules\": [{\"zone\": 2, \"max\": 1, \"limit\": 3}]}}",
		 "unknown key at $.limits.rules[0].limit"},
		{"{\"limits\": {\"rules\": [{\"zone\": 2, \"max\": 1},"
		 " {\"zone\": 2, \"max\": 5}]}}",
		 "$.limits.rules[1]: duplicates rules[0] (same source, group and zone)"},
		{"{\"limits\": {\"rules\": [{\"source\": \"10.0.0.0/8\", \"max\": 1},"
		 " {\"source\": \"10.0.0.0/8\", \"max\": 5, \"name\": \"b\"}]}}",
		 "$.limits.rules[1]: duplicates rules[0]"},
		{"{\"limits\": {\"rules\": [{\"name\": \"a\", \"zone\": 1, \"max\": 1},"
		 " {\"name\": \"a\", \"zone\": 2, \"max\": 5}]}}",
		 "$.limits.rules[1].name: \"a\" is already the name of rules[0]"},
		{"{\"limits\": {\"rules\": [{\"name\": \"a b\", \"zone\": 1, \"max\": 1}]}}",
		 "$.limits.rules[0].name: \"a b\" is not a name"},
		{"{\"limits\": {\"rules\": [{\"zone\": 1, \"max\": 1}, {\"zone\": 2, \"max\": 1},"
		 "{\"zone\": 3, \"max\": 1}, {\"zone\": 4, \"max\": 1},"
		 "{\"zone\": 5, \"max\": 1}, {\"zone\": 6, \"max\": 1},"
		 "{\"zone\": 7, \"max\": 1}, {\"zone\": 8, \"max\": 1},"
		 "{\"zone\": 9, \"max\": 1}, {\"zone\": 10, \"max\": 1},"
		 "{\"zone\": 11, \"max\": 1}, {\"zone\": 12, \"max\": 1},"
		 "{\"zone\": 13, \"max\": 1}, {\"zone\": 14, \"max\": 1},"
		 "{\"zone\": 15, \"max\": 1}, {\"zone\": 16, \"max\": 1},"
		 "{\"zone\": 17, \"max\": 1}"
		 "]}}",
		 "$.limits.rules: 17 rules, at most 16 are supported"},
	};
	static struct dpct_config c;
	unsigned i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (parse(&c, rows[i].doc) != -EINVAL)
			T_FAIL_("row %u accepted: %s", i, rows[i].doc);
		if (strstr(errbuf, rows[i].msg) == NULL)
			T_FAIL_("row %u: \"%s\" lacks \"%s\"", i, errbuf, rows[i].msg);
	}
	return 0;
}

/* /dpct/config's JSON parses back to the same section. */
static int
test_round_trip(void)
{
	static struct dpct_config a, b;
	char *text;

	T_EQ(parse(&a, example), 0);
	text = dpct_config_to_json(&a);
	T_ASSERT(text != NULL);
	T_ASSERT(strstr(text, "\"group_prefix\": 64") != NULL ||
		 strstr(text, "\"group_prefix\":64") != NULL);
	T_EQ(parse(&b, text), 0);
	free(text);
	T_EQ(memcmp(&a.limits, &b.limits, sizeof(a.limits)), 0);
	return 0;
}

/* A reload takes the same section and refuses a changed one. */
static int
test_reload(void)
{
	static struct dpct_config a, b;
	char err[256];

	T_EQ(parse(&a, example), 0);
	T_EQ(parse(&b, example), 0);
	T_EQ(dpct_config_limits_reload(&a, &b, err, sizeof(err)), 0);
	b.limits.rules[0].r.max = 999;
	T_EQ(dpct_config_limits_reload(&a, &b, err, sizeof(err)), -EINVAL);
	T_ASSERT(strstr(err, "restart dpct") != NULL);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_good),
	T_CASE(test_shares),
	T_CASE(test_bad),
	T_CASE(test_round_trip),
	T_CASE(test_reload),
};

T_MAIN(cases)
