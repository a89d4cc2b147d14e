/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The strict-tracking keys (app/dpct/config_tracker.c): "tcp", "checksum",
 * "zones": defaults, every key, one case per fault with the exact JSON path,
 * round trip through to_json, zone lookup, and what reaches the shard.
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
	return dpct_config_parse(c, text, strlen(text), errbuf, sizeof(errbuf));
}

static int
bad(const char *text, const char *msg)
{
	struct dpct_config c;
	int rc = parse(&c, text);

	if (rc != -EINVAL) {
		printf("# %s: rc %d, want -EINVAL\n", text, rc);
		return 1;
	}
	if (strcmp(errbuf, msg) != 0) {
		printf("# %s:\n#   got  \"%s\"\n#   want \"%s\"\n", text, errbuf, msg);
		return 1;
	}
	return 0;
}

static int
test_defaults_are_linux(void)
{
	struct dpct_config c;
	struct ct_conf sc;

	T_EQ(parse(&c, "{}"), 0);
	T_EQ(c.tracker.tcp_be_liberal, false);
	T_EQ(c.tcp_loose, true);
	T_EQ(c.tracker.tcp_max_retrans, 3);
	T_EQ(c.tracker.checksum, DPCT_CSUM_VERIFY);
	T_EQ(c.tracker.n_zone_rules, 0);
	dpct_config_shard(&c, 0, 1, &sc);
	T_EQ(sc.tcp_be_liberal, false);
	T_EQ(sc.tcp_max_retrans, 3);
	return 0;
}

static const char every_key[] =
	"{\"tcp\": {\"be_liberal\": true, \"loose\": false, \"max_retrans\": 7},"
	" \"checksum\": \"off\","
	" \"zones\": [{\"port\": 0, \"vlan\": 100, \"zone\": 1},"
	"            {\"port\": 0, \"vlan\": 200, \"zone\": 2},"
	"            {\"vlan\": \"untagged\", \"zone\": 3},"
	"            {\"port\": 1, \"zone\": 4}]}";

static int
test_every_key(void)
{
	struct dpct_config c;
	struct ct_conf sc;

	T_EQ(parse(&c, every_key), 0);
	T_EQ(c.tracker.tcp_be_liberal, true);
	T_EQ(c.tcp_loose, false);
	T_EQ(c.tracker.tcp_max_retrans, 7);
	T_EQ(c.tracker.checksum, DPCT_CSUM_OFF);
	T_EQ(c.tracker.n_zone_rules, 4);
	dpct_config_shard(&c, 0, 2, &sc);
	T_EQ(sc.tcp_be_liberal, true);
	T_EQ(sc.tcp_loose, false);
	T_EQ(sc.tcp_max_retrans, 7);
	/* "table.tcp_loose" stays readable; "tcp.loose" wins when both are given. */
	T_EQ(parse(&c, "{\"table\": {\"tcp_loose\": false}}"), 0);
	T_EQ(c.tcp_loose, false);
	T_EQ(parse(&c, "{\"table\": {\"tcp_loose\": false}, \"tcp\": {\"loose\": true}}"), 0);
	T_EQ(c.tcp_loose, true);
	return 0;
}

static int
test_zone_lookup(void)
{
	struct dpct_config c;

	T_EQ(parse(&c, "{\"table\": {\"zone\": 9}, \"zones\": [{\"port\": 0, \"vlan\": 100, "
		       "\"zone\": 1}, {\"port\": 0, \"vlan\": 200, \"zone\": 2}, "
		       "{\"vlan\": \"untagged\", \"zone\": 3}, {\"port\": 1, \"zone\": 4}]}"), 0);
	T_EQ(dpct_zone_lookup(&c.tracker, c.zone, 0, 100), 1);
	T_EQ(dpct_zone_lookup(&c.tracker, c.zone, 0, 200), 2);
	/* First match wins: untagged on port 1 is rule 3, not rule 4. */
	T_EQ(dpct_zone_lookup(&c.tracker, c.zone, 1, CT_VLAN_NONE), 3);
	T_EQ(dpct_zone_lookup(&c.tracker, c.zone, 1, 100), 4);
	/* No match: table.zone. */
	T_EQ(dpct_zone_lookup(&c.tracker, c.zone, 0, 300), 9);
	T_EQ(dpct_zone_lookup(&c.tracker, c.zone, 2, 100), 9);
	return 0;
}

static int
test_errors_name_the_path(void)
{
	T_EQ(bad("{\"tcp\": {\"liberal\": true}}", "unknown key at $.tcp.liberal"), 0);
	T_EQ(bad("{\"tcp\": []}", "$.tcp: expected object, got array"), 0);
	T_EQ(bad("{\"tcp\": {\"be_liberal\": 1}}", "$.tcp.be_liberal: expected boolean, got integer"),
	     0);
	T_EQ(bad("{\"tcp\": {\"loose\": \"yes\"}}", "$.tcp.loose: expected boolean, got string"), 0);
	T_EQ(bad("{\"tcp\": {\"max_retrans\": 16}}", "$.tcp.max_retrans: 16 is out of range 0..15"),
	     0);
	T_EQ(bad("{\"checksum\": true}", "$.checksum: expected string, got boolean"), 0);
	T_EQ(bad("{\"checksum\": \"hw\"}", "$.checksum: \"hw\" is neither \"verify\" nor \"off\""),
	     0);
	T_EQ(bad("{\"zones\": {}}", "$.zones: expected array, got object"), 0);
	T_EQ(bad("{\"zones\": [{\"vlan\": 5}]}",
		 "$.zones[0].zone: missing (the zone this rule assigns)"), 0);
	T_EQ(bad("{\"zones\": [{\"zone\": 1}, {\"zone\": 70000}]}",
		 "$.zones[1].zone: 70000 is out of range 0..65535"), 0);
	T_EQ(bad("{\"zones\": [{\"zone\": 1, \"vlan\": 4096}]}",
		 "$.zones[0].vlan: 4096 is out of range 0..4095"), 0);
	T_EQ(bad("{\"zones\": [{\"zone\": 1, \"vlan\": \"none\"}]}",
		 "$.zones[0].vlan: \"none\" is neither an id 0..4095 nor \"untagged\""), 0);
	T_EQ(bad("{\"zones\": [{\"zone\": 1, \"port\": -1}]}",
		 "$.zones[0].port: -1 is out of range 0..1023"), 0);
	T_EQ(bad("{\"zones\": [{\"zone\": 1, \"iface\": \"eth0\"}]}",
		 "unknown key at $.zones[0].iface"), 0);
	T_EQ(bad("{\"zones\": [7]}", "$.zones[0]: expected object, got integer"), 0);
	return 0;
}

static int
test_too_many_rules(void)
{
	char doc[8192];
	size_t o;
	unsigned i;

	o = (size_t)snprintf(doc, sizeof(doc), "{\"zones\": [");
	for (i = 0; i < DPCT_MAX_ZONE_RULES + 1; i++)
		o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s{\"vlan\": %u, \"zone\": %u}",
				      i ? "," : "", i, i);
	snprintf(doc + o, sizeof(doc) - o, "]}");
	T_EQ(bad(doc, "$.zones: 65 rules, at most 64"), 0);
	return 0;
}

static int
test_round_trip(void)
{
	struct dpct_config a, b;
	char *text;

	T_EQ(parse(&a, every_key), 0);
	text = dpct_config_to_json(&a);
	T_ASSERT(text != NULL);
	dpct_config_defaults(&b);
	if (dpct_config_parse(&b, text, strlen(text), errbuf, sizeof(errbuf)) != 0) {
		printf("# %s\n# %s\n", errbuf, text);
		free(text);
		return 1;
	}
	free(text);
	T_MEMEQ(&a.tracker, &b.tracker, sizeof(a.tracker));
	T_EQ(a.tcp_loose, b.tcp_loose);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_defaults_are_linux),
	T_CASE(test_every_key),
	T_CASE(test_zone_lookup),
	T_CASE(test_errors_name_the_path),
	T_CASE(test_too_many_rules),
	T_CASE(test_round_trip),
};

T_MAIN(cases)
