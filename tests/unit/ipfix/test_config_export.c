/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "export" configuration section (app/dpct/config_export.c): defaults,
 * every key, each fault class with its JSON path, the round trip through
 * dpct_config_to_json() and what the shards get (the active timeout only
 * when export is on).
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
	struct dpct_config c, before;

	dpct_config_defaults(&c);
	before = c;
	if (dpct_config_parse(&c, text, strlen(text), errbuf, sizeof(errbuf)) != -EINVAL) {
		printf("# %s: accepted\n", text);
		return 1;
	}
	if (strstr(errbuf, msg) == NULL) {
		printf("# %s:\n#   got  \"%s\"\n#   want \"%s\"\n", text, errbuf, msg);
		return 1;
	}
	if (memcmp(&c, &before, sizeof(c)) != 0) {
		printf("# %s: config modified by a failed parse\n", text);
		return 1;
	}
	return 0;
}

static int
test_defaults(void)
{
	struct dpct_config c;
	struct ct_conf sc;

	T_EQ(parse(&c, "{}"), 0);
	T_ASSERT(!dpct_config_export_on(&c.export));
	T_EQ(c.export.ipfix.domain, 1);
	T_EQ(c.export.ipfix.active_timeout_s, 60);
	T_EQ(c.export.ipfix.mtu, 1400);
	dpct_config_shard(&c, 0, 1, &sc);
	T_EQ(sc.active_timeout_s, 0);
	return 0;
}

static int
test_keys(void)
{
	struct dpct_config c;
	struct ct_conf sc;

	T_EQ(parse(&c, "{\"export\": {\"ipfix\": {\"observation_domain_id\": 77, "
		   "\"active_timeout_s\": 30, \"template_refresh_s\": 5, \"mtu\": 9000, "
		   "\"tcp_message_bytes\": 8192, \"buffer_bytes\": 1048576, \"sndbuf\": 65536, "
		   "\"flush_ms\": 0, \"reconnect_min_ms\": 10, \"reconnect_max_ms\": 20, "
		   "\"collectors\": [{\"host\": \"192.0.2.1\"}, {\"host\": \"2001:db8::1\", "
		   "\"port\": 9995, \"transport\": \"tcp\", \"reliable\": false}, "
		   "{\"host\": \"192.0.2.1\", \"transport\": \"tcp\"}]}}}"), 0);
	T_ASSERT(dpct_config_export_on(&c.export));
	T_EQ(c.export.n_collectors, 3);
	T_EQ(c.export.collectors[0].port, 4739);
	T_EQ(c.export.collectors[0].transport, EV_IPFIX_UDP);
	T_ASSERT(!c.export.collectors[0].reliable);
	T_EQ(c.export.collectors[1].transport, EV_IPFIX_TCP);
	T_ASSERT(!c.export.collectors[1].reliable);
	T_ASSERT(c.export.collectors[2].reliable);
	T_EQ(c.export.ipfix.domain, 77);
	T_EQ(c.export.ipfix.flush_ms, 0);
	dpct_config_shard(&c, 0, 2, &sc);
	T_EQ(sc.active_timeout_s, 30);
	T_EQ(parse(&c, "{\"export\": {\"ipfix\": {\"enabled\": false, "
		   "\"collectors\": [{\"host\": \"127.0.0.1\"}]}}}"), 0);
	T_ASSERT(!dpct_config_export_on(&c.export));
	dpct_config_shard(&c, 0, 1, &sc);
	T_EQ(sc.active_timeout_s, 0);
	return 0;
}

static int
test_faults(void)
{
	T_EQ(bad("{\"export\": 1}", "$.export: expected object, got integer"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"x\": 1}}}", "unknown key at $.export.ipfix.x"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": {}}}}",
		 "$.export.ipfix.collectors: expected array, got object"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": [{}]}}}",
		 "$.export.ipfix.collectors[0]: a collector needs \"host\""), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": [{\"host\": \"1.2.3\"}]}}}",
		 "$.export.ipfix.collectors[0].host: \"1.2.3\" is not an IPv4 or IPv6 address"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": [{\"host\": 5}]}}}",
		 "$.export.ipfix.collectors[0].host: expected string, got integer"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": [{\"host\": \"::1\", \"port\": 65536}]}}}",
		 "$.export.ipfix.collectors[0].port: 65536 is out of range 1..65535"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": [{\"host\": \"::1\", "
		 "\"transport\": \"quic\"}]}}}", "$.export.ipfix.collectors[0].transport"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": [{\"host\": \"::1\", "
		 "\"reliable\": true}]}}}", "only a tcp collector can be reliable"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"active_timeout_s\": -1}}}",
		 "$.export.ipfix.active_timeout_s: -1 is out of range"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"enabled\": 1}}}",
		 "$.export.ipfix.enabled: expected boolean, got integer"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"tcp_message_bytes\": 65535, \"buffer_bytes\": 65536}}}",
		 "$.export.ipfix.buffer_bytes: 65536 must hold two tcp messages"), 0);
	T_EQ(bad("{\"events\": {\"enabled\": false}, \"export\": {\"ipfix\": {\"collectors\": "
		 "[{\"host\": \"::1\"}]}}}", "$.export.ipfix: flow export needs events.enabled"), 0);
	return 0;
}

/* Pacing: the section's rates reach every UDP collector without its own;
 * a TCP collector is never paced. */
static int
test_rates(void)
{
	struct dpct_config c;

	T_EQ(parse(&c, "{\"export\": {\"ipfix\": {\"collectors\": [{\"host\": \"10.0.0.1\"}, "
		   "{\"host\": \"10.0.0.2\", \"transport\": \"tcp\"}]}}}"), 0);
	T_EQ(c.export.max_rate_pps, EV_IPFIX_RATE_PPS_DEFAULT);
	T_EQ(EV_IPFIX_RATE_PPS_DEFAULT, 2000);
	T_UEQ(c.export.max_rate_bps, 0);
	T_EQ(c.export.collectors[0].max_rate_pps, 2000);
	T_UEQ(c.export.collectors[0].max_rate_bps, 0);
	T_EQ(c.export.collectors[1].max_rate_pps, 0);
	T_UEQ(c.export.collectors[1].max_rate_bps, 0);
	T_EQ(parse(&c, "{\"export\": {\"ipfix\": {\"max_rate_pps\": 500, "
		   "\"max_rate_bps\": 100000000000, \"collectors\": [{\"host\": \"10.0.0.1\"}, "
		   "{\"host\": \"10.0.0.2\", \"max_rate_pps\": 0, \"max_rate_bps\": 0}, "
		   "{\"host\": \"10.0.0.3\", \"max_rate_bps\": 100000}, "
		   "{\"host\": \"10.0.0.4\", \"transport\": \"tcp\", \"max_rate_pps\": 0}]}}}"), 0);
	T_EQ(c.export.collectors[0].max_rate_pps, 500);
	T_UEQ(c.export.collectors[0].max_rate_bps, UINT64_C(100000000000));
	T_EQ(c.export.collectors[1].max_rate_pps, 0);
	T_UEQ(c.export.collectors[1].max_rate_bps, 0);
	T_EQ(c.export.collectors[2].max_rate_pps, 500);
	T_UEQ(c.export.collectors[2].max_rate_bps, 100000);
	T_EQ(c.export.collectors[3].max_rate_pps, 0);
	T_UEQ(c.export.collectors[3].max_rate_bps, 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": [{\"host\": \"::1\", "
		 "\"transport\": \"tcp\", \"max_rate_pps\": 100}]}}}",
		 "$.export.ipfix.collectors[0].max_rate_pps: a tcp collector is not paced"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": [{\"host\": \"::1\", "
		 "\"transport\": \"tcp\", \"max_rate_bps\": 1000000}]}}}",
		 "$.export.ipfix.collectors[0].max_rate_bps: a tcp collector is not paced"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"max_rate_pps\": 10000001}}}",
		 "$.export.ipfix.max_rate_pps: 10000001 is out of range 0..10000000"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"max_rate_pps\": -1}}}",
		 "$.export.ipfix.max_rate_pps: -1 is out of range"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"max_rate_bps\": 99999}}}",
		 "$.export.ipfix.max_rate_bps: 99999 is below 100000 (0 is no limit)"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"max_rate_bps\": 100000000001}}}",
		 "$.export.ipfix.max_rate_bps: 100000000001 is out of range 0..100000000000"), 0);
	T_EQ(bad("{\"export\": {\"ipfix\": {\"collectors\": [{\"host\": \"::1\", "
		 "\"max_rate_bps\": \"1G\"}]}}}",
		 "$.export.ipfix.collectors[0].max_rate_bps: expected integer, got string"), 0);
	return 0;
}

static int
test_round_trip(void)
{
	struct dpct_config a, b;
	char *text;

	T_EQ(parse(&a, "{\"export\": {\"ipfix\": {\"observation_domain_id\": 9, "
		   "\"max_rate_pps\": 700, "
		   "\"collectors\": [{\"host\": \"10.0.0.1\", \"port\": 2055}, "
		   "{\"host\": \"fe80::1\", \"transport\": \"tcp\"}, "
		   "{\"host\": \"10.0.0.2\", \"max_rate_bps\": 5000000}]}}}"), 0);
	text = dpct_config_to_json(&a);
	T_ASSERT(text != NULL);
	T_EQ(parse(&b, text), 0);
	free(text);
	T_MEMEQ(&a.export, &b.export, sizeof(a.export));
	return 0;
}

/* The shipped example loads and turns export on. */
static int
test_example(void)
{
	struct dpct_config c;

	dpct_config_defaults(&c);
	if (dpct_config_load(&c, DPCT_CONFIG_DIR "/examples/ipfix-export.json", errbuf,
			     sizeof(errbuf)) != 0) {
		printf("# %s\n", errbuf);
		return 1;
	}
	T_ASSERT(dpct_config_export_on(&c.export));
	T_EQ(c.export.n_collectors, 2);
	T_EQ(c.export.ipfix.domain, 101);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_example),
	T_CASE(test_defaults),
	T_CASE(test_keys),
	T_CASE(test_faults),
	T_CASE(test_rates),
	T_CASE(test_round_trip),
};

T_MAIN(cases)
