/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "helpers" section (app/dpct/config_helpers.c): defaults (Linux's
 * expectation policies), a good document's rules, every bad input's exact
 * message with its JSON path, the round trip through /dpct/config's JSON
 * and the reload check.
 */
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
	"{\"helpers\": {\"max_expectations\": 100, \"tftp\": {\"timeout\": 60},"
	" \"rules\": [{\"helper\": \"ftp\", \"port\": 21},"
	" {\"helper\": \"ftp\", \"port\": 2121, \"zone\": 3, \"family\": 6},"
	" {\"helper\": \"tftp\", \"port\": 69, \"family\": 4}]}}";

static int
test_good(void)
{
	static struct dpct_config c;

	T_EQ(parse(&c, "{}"), 0);
	T_EQ(c.helpers.n_rules, 0);
	T_EQ(c.helpers.max_expectations, 4096);
	T_EQ(c.helpers.pol[DPCT_HELPER_FTP].max_expected, 1);
	T_EQ(c.helpers.pol[DPCT_HELPER_FTP].timeout_s, 300);
	T_EQ(c.helpers.pol[DPCT_HELPER_TFTP].max_expected, 1);
	T_EQ(c.helpers.pol[DPCT_HELPER_TFTP].timeout_s, 300);
	T_EQ(parse(&c, example), 0);
	T_EQ(c.helpers.max_expectations, 100);
	T_EQ(c.helpers.pol[DPCT_HELPER_TFTP].timeout_s, 60);
	T_EQ(c.helpers.pol[DPCT_HELPER_FTP].timeout_s, 300);
	T_EQ(c.helpers.n_rules, 3);
	T_EQ(c.helpers.rules[0].helper, DPCT_HELPER_FTP);
	T_EQ(c.helpers.rules[0].port, 21);
	T_EQ(c.helpers.rules[0].any_zone, true);
	T_EQ(c.helpers.rules[0].family, 0);
	T_EQ(c.helpers.rules[1].any_zone, false);
	T_EQ(c.helpers.rules[1].zone, 3);
	T_EQ(c.helpers.rules[1].family, 6);
	T_EQ(c.helpers.rules[2].helper, DPCT_HELPER_TFTP);
	return 0;
}

static const struct {
	const char *doc;
	const char *msg;
} bad[] = {
	{"{\"helpers\": []}", "$.helpers: expected object, got array"},
	{"{\"helpers\": {\"loose\": true}}", "unknown key at $.helpers.loose"},
	{"{\"helpers\": {\"max_expectations\": 0}}", "$.helpers.max_expectations"},
	{"{\"helpers\": {\"ftp\": {\"max_expected\": 256}}}", "$.helpers.ftp.max_expected"},
	{"{\"helpers\": {\"tftp\": {\"timeout\": 0}}}", "$.helpers.tftp.timeout"},
	{"{\"helpers\": {\"ftp\": {\"loose\": 1}}}", "unknown key at $.helpers.ftp.loose"},
	{"{\"helpers\": {\"rules\": {}}}", "$.helpers.rules: expected array, got object"},
	{"{\"helpers\": {\"rules\": [{\"port\": 21}]}}",
	 "$.helpers.rules[0]: missing \"helper\" (\"ftp\" or \"tftp\")"},
	{"{\"helpers\": {\"rules\": [{\"helper\": \"sip\", \"port\": 5060}]}}",
	 "$.helpers.rules[0].helper: unknown helper \"sip\" (ftp or tftp)"},
	{"{\"helpers\": {\"rules\": [{\"helper\": 1, \"port\": 21}]}}",
	 "$.helpers.rules[0].helper: expected string, got integer"},
	{"{\"helpers\": {\"rules\": [{\"helper\": \"tftp\"}]}}",
	 "$.helpers.rules[0]: missing \"port\" (the server's port, e.g. 69)"},
	{"{\"helpers\": {\"rules\": [{\"helper\": \"ftp\", \"port\": 0}]}}",
	 "$.helpers.rules[0].port"},
	{"{\"helpers\": {\"rules\": [{\"helper\": \"ftp\", \"port\": 21, \"family\": 5}]}}",
	 "$.helpers.rules[0].family: 5 is not one of 4, 6"},
	{"{\"helpers\": {\"rules\": [{\"helper\": \"ftp\", \"port\": 21, \"proto\": \"tcp\"}]}}",
	 "unknown key at $.helpers.rules[0].proto"},
	{"{\"helpers\": {\"rules\": [{\"helper\": \"ftp\", \"port\": 21},"
	 " {\"helper\": \"ftp\", \"port\": 21, \"zone\": 2}]}}",
	 "$.helpers.rules[1]: never applies: rules[0] matches the same connections first"},
};

static int
test_bad(void)
{
	static struct dpct_config c;
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(&c, bad[i].doc) != -EINVAL || strstr(errbuf, bad[i].msg) == NULL) {
			printf("# %s\n#   gave \"%s\", wanted \"%s\"\n", bad[i].doc, errbuf,
			       bad[i].msg);
			return 1;
		}
	}
	/* The same port for the other helper, or a narrower rule first, is fine. */
	T_EQ(parse(&c, "{\"helpers\": {\"rules\": [{\"helper\": \"ftp\", \"port\": 21, "
		       "\"zone\": 2}, {\"helper\": \"ftp\", \"port\": 21}, "
		       "{\"helper\": \"tftp\", \"port\": 21}]}}"), 0);
	return 0;
}

static int
test_round_trip_and_reload(void)
{
	static struct dpct_config a, b;
	char *text;

	T_EQ(parse(&a, example), 0);
	text = dpct_config_to_json(&a);
	T_ASSERT(text != NULL);
	dpct_config_defaults(&b);
	T_EQ(dpct_config_parse(&b, text, strlen(text), errbuf, sizeof(errbuf)), 0);
	free(text);
	T_MEMEQ(&a.helpers, &b.helpers, sizeof(a.helpers));
	T_EQ(dpct_config_helpers_reload(&a, &b, errbuf, sizeof(errbuf)), 0);
	b.helpers.rules[0].port = 2100;
	T_EQ(dpct_config_helpers_reload(&a, &b, errbuf, sizeof(errbuf)), -EINVAL);
	T_ASSERT(strstr(errbuf, "$.helpers: the helpers section changed") != NULL);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_good),
	T_CASE(test_bad),
	T_CASE(test_round_trip_and_reload),
};

T_MAIN(cases)
