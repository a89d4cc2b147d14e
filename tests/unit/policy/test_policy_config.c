/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `policy` config section: a valid set parses to the expected rules;
 * each kind of bad rule is refused with the JSON path of the fault (table
 * driven), through dpct_config_parse() too, which leaves the config as it
 * was. No EAL.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "config_policy.h"
#include "dpct_config.h"
#include "dpct_test.h"

static int
parse(const char *text, struct pol_ruleset *rs, char *err, size_t errlen)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);
	int rc;

	if (v == NULL) {
		snprintf(err, errlen, "test JSON: %s", je.text);
		return -EBADMSG;
	}
	rc = dpct_policy_parse(v, rs, err, errlen);
	json_decref(v);
	return rc;
}

static int
test_valid(void)
{
	struct pol_ruleset rs;
	char err[256];
	const struct pol_rule *r;

	T_EQ(parse("{\"default\": \"drop\", \"rules\": ["
		   "{\"state\": [\"established\", \"related\"], \"action\": \"accept\"},"
		   "{\"state\": \"invalid\", \"action\": \"drop\"},"
		   "{\"in_port\": 0, \"state\": \"new\", \"action\": \"accept\", \"name\": \"lan\"},"
		   "{\"proto\": \"tcp\", \"dport\": [22, \"440-443\"], \"state\": \"new\","
		   " \"action\": \"accept\"},"
		   "{\"proto\": \"icmp\", \"icmp_type\": 8, \"src\": \"192.0.2.0/24\","
		   " \"action\": \"accept\"},"
		   "{\"proto\": \"udp\", \"dport\": 53, \"action\": \"notrack\"},"
		   "{\"dst\": \"2001:db8::/32\", \"zone\": 2, \"action\": \"drop\"}]}",
		   &rs, err, sizeof(err)), 0);
	T_EQ(rs.n_rules, 7);
	T_EQ(rs.default_action, POL_DROP);
	r = &rs.rules[0];
	T_EQ(r->states, (1u << CT_STATE_ESTABLISHED) | (1u << CT_STATE_RELATED));
	T_EQ(rs.rules[2].in_port, 0);
	T_STREQ(rs.rules[2].name, "lan");
	r = &rs.rules[3];
	T_EQ(r->proto, 6);
	T_EQ(r->n_dport, 2);
	T_EQ(r->dport[1].lo, 440);
	T_EQ(r->dport[1].hi, 443);
	r = &rs.rules[4];
	T_EQ(r->family, 4);
	T_EQ(r->src_len, 24);
	T_EQ(r->icmp_type, 8);
	T_EQ(rs.rules[5].action, POL_NOTRACK);
	T_EQ(rs.rules[6].family, 6);
	T_EQ(rs.rules[6].zone, 2);
	pol_ruleset_clear(&rs);
	return 0;
}

static const struct {
	const char *text;
	const char *path;     /* expected at the start of the message */
	const char *words;    /* and somewhere in it */
} bad[] = {
	{"[]", "$.policy:", "expected object"},
	{"{\"rule\": []}", "$.policy:", "unknown key \"rule\""},
	{"{\"default\": \"notrack\"}", "$.policy.default", "accept"},
	{"{\"rules\": {}}", "$.policy.rules:", "expected array"},
	{"{\"rules\": [7]}", "$.policy.rules[0]:", "expected object"},
	{"{\"rules\": [{}]}", "$.policy.rules[0]:", "missing \"action\""},
	{"{\"rules\": [{\"action\": \"allow\"}]}", "$.policy.rules[0].action", "accept"},
	{"{\"rules\": [{\"action\": \"drop\", \"colour\": 1}]}", "$.policy.rules[0]:",
	 "unknown key \"colour\""},
	{"{\"rules\": [{\"action\": \"drop\"}, {\"state\": \"old\", \"action\": \"drop\"}]}",
	 "$.policy.rules[1].state", "unknown state"},
	{"{\"rules\": [{\"state\": [\"new\", 3], \"action\": \"drop\"}]}",
	 "$.policy.rules[0].state[1]", "expected string"},
	{"{\"rules\": [{\"state\": [], \"action\": \"drop\"}]}", "$.policy.rules[0].state",
	 "empty"},
	{"{\"rules\": [{\"in_port\": -1, \"action\": \"drop\"}]}", "$.policy.rules[0].in_port",
	 "out of range"},
	{"{\"rules\": [{\"zone\": \"a\", \"action\": \"drop\"}]}", "$.policy.rules[0].zone",
	 "expected integer"},
	{"{\"rules\": [{\"family\": 5, \"action\": \"drop\"}]}", "$.policy.rules[0].family",
	 "4 or 6"},
	{"{\"rules\": [{\"proto\": \"tpc\", \"action\": \"drop\"}]}", "$.policy.rules[0].proto",
	 "unknown protocol"},
	{"{\"rules\": [{\"proto\": 256, \"action\": \"drop\"}]}", "$.policy.rules[0].proto",
	 "out of range"},
	{"{\"rules\": [{\"src\": \"10.0.0.300\", \"action\": \"drop\"}]}",
	 "$.policy.rules[0].src", "not an address prefix"},
	{"{\"rules\": [{\"src\": \"10.0.0.1/8\", \"action\": \"drop\"}]}",
	 "$.policy.rules[0].src", "host bits"},
	{"{\"rules\": [{\"src\": \"10.0.0.0/33\", \"action\": \"drop\"}]}",
	 "$.policy.rules[0].src", "prefix length"},
	{"{\"rules\": [{\"src\": \"10.0.0.0/8\", \"dst\": \"::1\", \"action\": \"drop\"}]}",
	 "$.policy.rules[0].dst", "IPv6 prefix in an IPv4 rule"},
	{"{\"rules\": [{\"dport\": 22, \"action\": \"drop\"}]}", "$.policy.rules[0]:",
	 "ports need proto"},
	{"{\"rules\": [{\"proto\": \"tcp\", \"dport\": 70000, \"action\": \"drop\"}]}",
	 "$.policy.rules[0].dport", "out of range"},
	{"{\"rules\": [{\"proto\": \"tcp\", \"dport\": \"90-80\", \"action\": \"drop\"}]}",
	 "$.policy.rules[0].dport", "lo <= hi"},
	{"{\"rules\": [{\"proto\": \"tcp\", \"sport\": [1, \"x\"], \"action\": \"drop\"}]}",
	 "$.policy.rules[0].sport[1]", "port range"},
	{"{\"rules\": [{\"proto\": \"tcp\", \"dport\": [], \"action\": \"drop\"}]}",
	 "$.policy.rules[0].dport", "1..16"},
	{"{\"rules\": [{\"proto\": \"tcp\", \"icmp_type\": 3, \"action\": \"drop\"}]}",
	 "$.policy.rules[0]:", "icmp_type needs proto icmp"},
	{"{\"rules\": [{\"proto\": \"icmp\", \"icmp_type\": 300, \"action\": \"drop\"}]}",
	 "$.policy.rules[0].icmp_type", "out of range"},
	{"{\"rules\": [{\"state\": \"new\", \"action\": \"notrack\"}]}", "$.policy.rules[0]:",
	 "cannot match state"},
	{"{\"rules\": [{\"name\": \"a-name-that-is-much-too-long-for-it\", \"action\": \"drop\"}]}",
	 "$.policy.rules[0].name", "at most"},
};

static int
test_bad_rules(void)
{
	struct pol_ruleset rs;
	char err[256];
	unsigned i;
	int fails = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i].text, &rs, err, sizeof(err));

		if (rc != -EINVAL || strncmp(err, bad[i].path, strlen(bad[i].path)) != 0 ||
		    strstr(err, bad[i].words) == NULL || rs.n_rules != 0 || rs.rules != NULL) {
			printf("# %s -> %d \"%s\" (want %s ... %s)\n", bad[i].text, rc, err,
			       bad[i].path, bad[i].words);
			fails++;
		}
	}
	return fails != 0;
}

static int
test_through_config(void)
{
	static const char good[] = "{\"policy\": {\"default\": \"drop\", \"rules\": "
				   "[{\"proto\": \"tcp\", \"action\": \"accept\"}]}}";
	static const char badc[] = "{\"table\": {\"max_entries\": 1000}, \"policy\": "
				   "{\"rules\": [{\"proto\": \"tcp\", \"dport\": 1, "
				   "\"sport\": \"5-2\", \"action\": \"accept\"}]}}";
	struct dpct_config c, before;
	char err[256];

	dpct_config_defaults(&c);
	before = c;
	T_EQ(dpct_config_parse(&c, good, strlen(good), err, sizeof(err)), 0);
	T_EQ(dpct_config_parse(&c, badc, strlen(badc), err, sizeof(err)), -EINVAL);
	T_ASSERT(strstr(err, "$.policy.rules[0].sport") != NULL);
	T_MEMEQ(&c, &before, sizeof(c));
	return 0;
}

static int
test_load_file(void)
{
	char path[] = "/tmp/dpct_pol_cfg_XXXXXX", err[256];
	struct pol_ruleset rs;
	bool present = true;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	f = fdopen(fd, "w");
	T_ASSERT(f != NULL);
	fputs("{\"seed\": 1, \"policy\": {\"rules\": [{\"action\": \"drop\", \"proto\": 17}]}}", f);
	fclose(f);
	T_EQ(dpct_policy_load(path, &rs, &present, err, sizeof(err)), 0);
	T_ASSERT(present);
	T_EQ(rs.n_rules, 1);
	T_EQ(rs.rules[0].proto, 17);
	pol_ruleset_clear(&rs);
	/* A fault elsewhere in the file refuses the reload too. */
	f = fopen(path, "w");
	T_ASSERT(f != NULL);
	fputs("{\"seed\": -1, \"policy\": {\"rules\": []}}", f);
	fclose(f);
	T_EQ(dpct_policy_load(path, &rs, &present, err, sizeof(err)), -EINVAL);
	T_ASSERT(strstr(err, "$.seed") != NULL && strstr(err, path) != NULL);
	T_ASSERT(!present);
	f = fopen(path, "w");
	T_ASSERT(f != NULL);
	fputs("{\"seed\": 1}", f);
	fclose(f);
	T_EQ(dpct_policy_load(path, &rs, &present, err, sizeof(err)), 0);
	T_ASSERT(!present);
	unlink(path);
	T_EQ(dpct_policy_load(path, &rs, &present, err, sizeof(err)), -ENOENT);
	return 0;
}

/* The shipped example parses to the rules docs/policy.md describes. */
static int
test_example_file(void)
{
	struct pol_ruleset rs;
	char err[256];
	bool present = false;

	T_EQ(dpct_policy_load(DPCT_CONFIG_DIR "/examples/firewall.json", &rs, &present, err,
			      sizeof(err)), 0);
	T_ASSERT(present);
	T_EQ(rs.n_rules, 6);
	T_EQ(rs.default_action, POL_DROP);
	T_EQ(rs.rules[2].in_port, 0);
	T_EQ(rs.rules[5].action, POL_NOTRACK);
	T_EQ(rs.rules[5].dst_len, 32);
	pol_ruleset_clear(&rs);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_example_file),
	T_CASE(test_valid),
	T_CASE(test_bad_rules),
	T_CASE(test_through_config),
	T_CASE(test_load_file),
};

T_MAIN(cases)
