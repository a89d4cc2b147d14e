/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "nat" section (app/dpct/config_nat.c): good documents parse to the
 * pools and rules lib/nat gets, field by field; every bad input gives its
 * exact message with the JSON path; the port ranges are checked against
 * the worker count at load (workers.count) and at start
 * (dpct_nat_build()); the section round-trips through /dpct/config's JSON;
 * the shipped example loads and builds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_nat.h"
#include "dpct_config.h"
#include "dpct_test.h"

static char errbuf[512];

/* Host-order IPv4 address of a dotted quad. */
static uint32_t
ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		abort();
	return ntohl(a.s_addr);
}

static int
parse(struct dpct_config *c, const char *text)
{
	dpct_config_defaults(c);
	return dpct_config_parse(c, text, strlen(text), errbuf, sizeof(errbuf));
}

/* ------------------------------------------------------------------------ */
/* Good documents                                                            */

static const char spec_example[] =
	"{\"nat\": {"
	" \"pools\": ["
	"  {\"name\": \"public\", \"addresses\": \"198.51.100.0/28\", \"ports\": \"1024-65535\"},"
	"  {\"name\": \"cgnat\", \"addresses\": \"203.0.113.1-203.0.113.4\","
	"   \"ports\": \"1024-65535\", \"mode\": \"block\", \"block_size\": 512,"
	"   \"blocks_per_address\": 2}],"
	" \"rules\": ["
	"  {\"name\": \"no-nat-internal\", \"action\": \"exclude\", \"src\": \"10.0.0.0/8\","
	"   \"dst\": \"10.0.0.0/8\"},"
	"  {\"name\": \"web-in\", \"action\": \"dnat\", \"proto\": \"tcp\","
	"   \"dst\": \"198.51.100.20\", \"dport\": 80, \"to\": \"10.0.0.5\", \"to_port\": 8080},"
	"  {\"name\": \"lan-out\", \"action\": \"snat\", \"in_port\": 0, \"src\": \"10.0.0.0/8\","
	"   \"pool\": \"public\"}]}}";

static int
test_spec_example(void)
{
	static struct dpct_config c;
	const struct nat_pool *p;
	const struct nat_rule *r;

	T_EQ(parse(&c, spec_example), 0);
	T_UEQ(c.nat.n_pools, 2);
	T_UEQ(c.nat.n_rules, 3);
	p = &c.nat.pools[0];
	T_STREQ(p->name, "public");
	T_UEQ(p->addr_lo, ip("198.51.100.0"));
	T_UEQ(p->addr_hi, ip("198.51.100.15"));
	T_UEQ(p->port_lo, 1024);
	T_UEQ(p->port_hi, 65535);
	T_UEQ(p->mode, NAT_MODE_NAPT);
	T_UEQ(p->block_size, 0);
	T_UEQ(p->blocks_per_addr_max, 0);
	p = &c.nat.pools[1];
	T_STREQ(p->name, "cgnat");
	T_UEQ(p->addr_lo, ip("203.0.113.1"));
	T_UEQ(p->addr_hi, ip("203.0.113.4"));
	T_UEQ(p->mode, NAT_MODE_BLOCK);
	T_UEQ(p->block_size, 512);
	T_UEQ(p->blocks_per_addr_max, 2);

	r = &c.nat.rules[0];
	T_STREQ(r->name, "no-nat-internal");
	T_UEQ(r->kind, NAT_EXCLUDE);
	T_UEQ(r->src, ip("10.0.0.0"));
	T_UEQ(r->src_len, 8);
	T_UEQ(r->dst, ip("10.0.0.0"));
	T_UEQ(r->dst_len, 8);
	T_UEQ(r->proto, 0);
	T_UEQ(r->in_port, NAT_ANY_PORT);
	T_EQ(r->zone, NAT_ANY_ZONE);
	T_UEQ(r->dport_lo, 0);
	T_UEQ(r->dport_hi, 65535);
	r = &c.nat.rules[1];
	T_UEQ(r->kind, NAT_DNAT);
	T_UEQ(r->proto, 6);
	T_UEQ(r->dst, ip("198.51.100.20"));
	T_UEQ(r->dst_len, 32);
	T_UEQ(r->dport_lo, 80);
	T_UEQ(r->dport_hi, 80);
	T_UEQ(r->to_addr, ip("10.0.0.5"));
	T_UEQ(r->to_port, 8080);
	T_UEQ(r->src_len, 0);
	r = &c.nat.rules[2];
	T_UEQ(r->kind, NAT_SNAT);
	T_UEQ(r->in_port, 0);
	T_UEQ(r->pool, 0);
	T_UEQ(r->src_len, 8);
	return 0;
}

/* One document, one rule or pool, and the fields that differ from the defaults. */
struct good_case {
	const char *doc;
	struct nat_pool pool;      /* pools[0] as expected (name "p") */
	struct nat_rule rule;      /* rules[0] as expected; kind 0: no rule */
};

#define P0 "{\"name\": \"p\", \"addresses\": \"192.0.2.1\"}"
#define NAT(pools, rules) "{\"nat\": {\"pools\": [" pools "], \"rules\": [" rules "]}}"
#define ANY_IN .in_port = NAT_ANY_PORT
#define ANY_ZONE .zone = NAT_ANY_ZONE
#define ANY_DPORT .dport_hi = 65535
#define ANY ANY_IN, ANY_ZONE, ANY_DPORT
#define NO_RULE {.kind = 0}
#define POOL1 .name = "p", .addr_lo = 0xc0000201, .addr_hi = 0xc0000201, .port_lo = 1024, \
	.port_hi = 65535

static const struct good_case good[] = {
	/* pool forms */
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\"}", ""), {POOL1}, NO_RULE},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.0/30\", \"ports\": 5000}", ""),
	 {.name = "p", .addr_lo = 0xc0000200, .addr_hi = 0xc0000203, .port_lo = 5000,
	  .port_hi = 5000}, NO_RULE},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1/32\", \"ports\": \"1-65535\"}", ""),
	 {.name = "p", .addr_lo = 0xc0000201, .addr_hi = 0xc0000201, .port_lo = 1,
	  .port_hi = 65535}, NO_RULE},
	{NAT("{\"name\": \"A.b_c-9\", \"addresses\": \"192.0.2.7-192.0.2.9\", \"mode\": \"napt\"}",
	     ""),
	 {.name = "A.b_c-9", .addr_lo = 0xc0000207, .addr_hi = 0xc0000209, .port_lo = 1024,
	  .port_hi = 65535}, NO_RULE},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"mode\": \"block\"}", ""),
	 {POOL1, .mode = NAT_MODE_BLOCK, .block_size = 512, .blocks_per_addr_max = 1}, NO_RULE},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"mode\": \"block\","
	     " \"block_size\": 64, \"blocks_per_address\": 16, \"ports\": \"1024-2047\"}", ""),
	 {.name = "p", .addr_lo = 0xc0000201, .addr_hi = 0xc0000201, .port_lo = 1024,
	  .port_hi = 2047, .mode = NAT_MODE_BLOCK, .block_size = 64, .blocks_per_addr_max = 16},
	 NO_RULE},
	{NAT("{\"name\": \"p\", \"addresses\": \"10.16.0.0/20\"}", ""),
	 {.name = "p", .addr_lo = 0x0a100000, .addr_hi = 0x0a100fff, .port_lo = 1024,
	  .port_hi = 65535}, NO_RULE},
	/* rules: matches and actions */
	{NAT(P0, "{\"action\": \"snat\", \"pool\": \"p\"}"), {POOL1},
	 {ANY, .kind = NAT_SNAT}},
	{NAT(P0, "{\"action\": \"snat\", \"pool\": \"p\", \"proto\": \"icmp\", \"zone\": 7,"
	     " \"in_port\": 63, \"src\": \"10.1.0.0/16\", \"dst\": \"0.0.0.0/0\", \"name\": \"x\"}"),
	 {POOL1}, {ANY_DPORT, .name = "x", .kind = NAT_SNAT, .proto = 1, .zone = 7,
		   .in_port = 63, .src = 0x0a010000, .src_len = 16}},
	{NAT(P0, "{\"action\": \"snat\", \"pool\": \"p\", \"proto\": \"udplite\","
	     " \"dport\": \"53-54\"}"),
	 {POOL1}, {ANY_IN, ANY_ZONE, .kind = NAT_SNAT, .proto = 136, .dport_lo = 53,
		   .dport_hi = 54}},
	{NAT(P0, "{\"action\": \"snat\", \"pool\": \"p\", \"proto\": 17, \"dport\": 0}"),
	 {POOL1}, {ANY_IN, ANY_ZONE, .kind = NAT_SNAT, .proto = 17, .dport_lo = 0,
		   .dport_hi = 0}},
	{NAT(P0, "{\"action\": \"exclude\", \"proto\": 47, \"dst\": \"192.0.2.128/25\"}"),
	 {POOL1}, {ANY, .kind = NAT_EXCLUDE, .proto = 47, .dst = 0xc0000280, .dst_len = 25}},
	{NAT(P0, "{\"action\": \"dnat\", \"proto\": \"udp\", \"dst\": \"198.51.100.1/32\","
	     " \"to\": \"10.0.0.9\"}"),
	 {POOL1}, {ANY, .kind = NAT_DNAT, .proto = 17, .dst = 0xc6336401, .dst_len = 32,
		   .to_addr = 0x0a000009, .to_port = 0}},
	{NAT(P0, "{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\","
	     " \"dport\": \"8000-8009\", \"to\": \"10.0.0.9\"}"),
	 {POOL1}, {ANY_IN, ANY_ZONE, .kind = NAT_DNAT, .proto = 6, .dst = 0xc6336401,
		   .dst_len = 32, .dport_lo = 8000, .dport_hi = 8009, .to_addr = 0x0a000009,
		   .to_port = 8000}},
	{NAT(P0, "{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\","
	     " \"dport\": \"8000-8009\", \"to\": \"10.0.0.9\", \"to_port\": 65526}"),
	 {POOL1}, {ANY_IN, ANY_ZONE, .kind = NAT_DNAT, .proto = 6, .dst = 0xc6336401,
		   .dst_len = 32, .dport_lo = 8000, .dport_hi = 8009, .to_addr = 0x0a000009,
		   .to_port = 65526}},
};

static int
test_good_documents(void)
{
	static struct dpct_config c;
	struct nat_rule want;
	struct nat_pool wp;
	unsigned i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse(&c, good[i].doc) != 0) {
			printf("# case %u: %s\n#   %s\n", i, good[i].doc, errbuf);
			return 1;
		}
		T_UEQ(c.nat.n_pools, 1);
		memset(&wp, 0, sizeof(wp));
		wp = good[i].pool;
		if (memcmp(&c.nat.pools[0], &wp, sizeof(wp)) != 0) {
			const struct nat_pool *g = &c.nat.pools[0];

			printf("# case %u pool: got %s %08x-%08x %u-%u mode %u bs %u bpa %u\n", i,
			       g->name, g->addr_lo, g->addr_hi, g->port_lo, g->port_hi, g->mode,
			       g->block_size, g->blocks_per_addr_max);
			return 1;
		}
		if (good[i].rule.kind == 0) {
			T_UEQ(c.nat.n_rules, 0);
			continue;
		}
		T_UEQ(c.nat.n_rules, 1);
		memset(&want, 0, sizeof(want));
		want = good[i].rule;
		if (memcmp(&c.nat.rules[0], &want, sizeof(want)) != 0) {
			const struct nat_rule *g = &c.nat.rules[0];

			printf("# case %u rule: got kind %u proto %u src %08x/%u dst %08x/%u "
			       "in_port %u zone %d dport %u-%u pool %u to %08x:%u\n", i, g->kind,
			       g->proto, g->src, g->src_len, g->dst, g->dst_len, g->in_port,
			       g->zone, g->dport_lo, g->dport_hi, g->pool, g->to_addr, g->to_port);
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Bad documents: the exact message of each                                  */

struct bad_case {
	const char *doc;
	const char *msg;
};

#define R(rule) NAT(P0, rule)

static const struct bad_case bad[] = {
	/* the section */
	{"{\"nat\": []}", "$.nat: expected object, got array"},
	{"{\"nat\": {\"pool\": []}}", "unknown key at $.nat.pool"},
	{"{\"nat\": {\"pools\": {}}}", "$.nat.pools: expected array, got object"},
	{"{\"nat\": {\"rules\": \"x\"}}", "$.nat.rules: expected array, got string"},
	/* pools */
	{NAT("1", ""), "$.nat.pools[0]: expected object, got integer"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"colour\": 1}", ""),
	 "unknown key at $.nat.pools[0].colour"},
	{NAT("{\"addresses\": \"192.0.2.1\"}", ""), "$.nat.pools[0]: missing \"name\""},
	{NAT("{\"name\": 5, \"addresses\": \"192.0.2.1\"}", ""),
	 "$.nat.pools[0].name: expected string, got integer"},
	{NAT("{\"name\": \"\", \"addresses\": \"192.0.2.1\"}", ""),
	 "$.nat.pools[0].name: \"\" is not a name (1..31 of A-Z a-z 0-9 _ . -)"},
	{NAT("{\"name\": \"a b\", \"addresses\": \"192.0.2.1\"}", ""),
	 "$.nat.pools[0].name: \"a b\" is not a name (1..31 of A-Z a-z 0-9 _ . -)"},
	{NAT("{\"name\": \"abcdefghijklmnopqrstuvwxyz012345\", \"addresses\": \"192.0.2.1\"}",
	     ""),
	 "$.nat.pools[0].name: \"abcdefghijklmnopqrstuvwxyz012345\" is not a name "
	 "(1..31 of A-Z a-z 0-9 _ . -)"},
	{NAT(P0 ", {\"name\": \"p\", \"addresses\": \"192.0.2.2\"}", ""),
	 "$.nat.pools[1].name: \"p\" is already the name of pools[0]"},
	{NAT("{\"name\": \"p\"}", ""), "$.nat.pools[0]: missing \"addresses\""},
	{NAT("{\"name\": \"p\", \"addresses\": [\"192.0.2.1\"]}", ""),
	 "$.nat.pools[0].addresses: expected string, got array"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2\"}", ""),
	 "$.nat.pools[0].addresses: \"192.0.2\" is not an IPv4 address, prefix or range"},
	{NAT("{\"name\": \"p\", \"addresses\": \"2001:db8::1\"}", ""),
	 "$.nat.pools[0].addresses: \"2001:db8::1\" is not an IPv4 address, prefix or range"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1-192.0.2\"}", ""),
	 "$.nat.pools[0].addresses: \"192.0.2.1-192.0.2\" is not an IPv4 address, prefix or "
	 "range"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.9-192.0.2.1\"}", ""),
	 "$.nat.pools[0].addresses: \"192.0.2.9-192.0.2.1\" is an empty range (first above "
	 "last)"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1/24\"}", ""),
	 "$.nat.pools[0].addresses: \"192.0.2.1/24\" has host bits set beyond /24"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.0/33\"}", ""),
	 "$.nat.pools[0].addresses: \"192.0.2.0/33\" has a prefix length outside 0..32"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.0/\"}", ""),
	 "$.nat.pools[0].addresses: \"192.0.2.0/\" has a prefix length outside 0..32"},
	{NAT("{\"name\": \"p\", \"addresses\": \"10.0.0.0/19\"}", ""),
	 "$.nat.pools[0].addresses: \"10.0.0.0/19\" has 8192 addresses, at most 4096 are "
	 "supported"},
	{NAT("{\"name\": \"p\", \"addresses\": \"10.0.0.0-10.0.16.0\"}", ""),
	 "$.nat.pools[0].addresses: \"10.0.0.0-10.0.16.0\" has 4097 addresses, at most 4096 "
	 "are supported"},
	{NAT("{\"name\": \"p\", \"addresses\": \"0.0.0.0/0\"}", ""),
	 "$.nat.pools[0].addresses: \"0.0.0.0/0\" has 4294967296 addresses, at most 4096 are "
	 "supported"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"ports\": \"90-80\"}", ""),
	 "$.nat.pools[0].ports: \"90-80\" needs 1 <= lo <= hi <= 65535"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"ports\": \"0-80\"}", ""),
	 "$.nat.pools[0].ports: \"0-80\" needs 1 <= lo <= hi <= 65535"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"ports\": \"1-65536\"}", ""),
	 "$.nat.pools[0].ports: \"1-65536\" needs 1 <= lo <= hi <= 65535"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"ports\": 0}", ""),
	 "$.nat.pools[0].ports: 0 is out of range 1..65535"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"ports\": \"1024\"}", ""),
	 "$.nat.pools[0].ports: \"1024\" is not a port range \"lo-hi\""},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"ports\": \"1-2x\"}", ""),
	 "$.nat.pools[0].ports: \"1-2x\" is not a port range \"lo-hi\""},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"ports\": \" 1-2\"}", ""),
	 "$.nat.pools[0].ports: \" 1-2\" is not a port range \"lo-hi\""},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"ports\": true}", ""),
	 "$.nat.pools[0].ports: expected integer or string \"lo-hi\", got boolean"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"mode\": \"pba\"}", ""),
	 "$.nat.pools[0].mode: \"pba\" is not one of \"napt\", \"block\""},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"block_size\": 64}", ""),
	 "$.nat.pools[0].block_size: only a pool of mode \"block\" has blocks"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"blocks_per_address\": 2}", ""),
	 "$.nat.pools[0].blocks_per_address: only a pool of mode \"block\" has blocks"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"mode\": \"block\","
	     " \"block_size\": 0}", ""),
	 "$.nat.pools[0].block_size: 0 is out of range 1..32768"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"mode\": \"block\","
	     " \"blocks_per_address\": 17}", ""),
	 "$.nat.pools[0].blocks_per_address: 17 is out of range 1..16"},
	{NAT("{\"name\": \"p\", \"addresses\": \"192.0.2.1\", \"mode\": \"block\","
	     " \"ports\": \"1000-1099\"}", ""),
	 "$.nat.pools[0].block_size: 512 is more than the 100 ports of 1000-1099"},
	/* rules */
	{R("[]"), "$.nat.rules[0]: expected object, got array"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"sport\": 1}"),
	 "unknown key at $.nat.rules[0].sport"},
	{R("{\"pool\": \"p\"}"), "$.nat.rules[0]: missing \"action\" (snat, dnat or exclude)"},
	{R("{\"action\": \"masquerade\"}"),
	 "$.nat.rules[0].action: \"masquerade\" is not one of \"snat\", \"dnat\", \"exclude\""},
	{R("{\"action\": null}"), "$.nat.rules[0].action: expected string, got null"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"name\": \"a/b\"}"),
	 "$.nat.rules[0].name: \"a/b\" is not a name (1..31 of A-Z a-z 0-9 _ . -)"},
	{R("{\"action\": \"snat\"}"), "$.nat.rules[0]: a snat rule needs \"pool\""},
	{R("{\"action\": \"snat\", \"pool\": \"pubic\"}"),
	 "$.nat.rules[0].pool: no pool named \"pubic\""},
	{R("{\"action\": \"snat\", \"pool\": 0}"),
	 "$.nat.rules[0].pool: expected string, got integer"},
	{R("{\"action\": \"exclude\", \"pool\": \"p\"}"),
	 "$.nat.rules[0].pool: only a snat rule takes \"pool\""},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"to\": \"10.0.0.1\"}"),
	 "$.nat.rules[0].to: only a dnat rule takes \"to\""},
	{R("{\"action\": \"exclude\", \"to_port\": 80}"),
	 "$.nat.rules[0].to_port: only a dnat rule takes \"to_port\""},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"in_port\": 64}"),
	 "$.nat.rules[0].in_port: 64 is out of range 0..63"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"zone\": 65536}"),
	 "$.nat.rules[0].zone: 65536 is out of range 0..65535"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"zone\": -1}"),
	 "$.nat.rules[0].zone: -1 is out of range 0..65535"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"proto\": \"sctp\"}"),
	 "$.nat.rules[0].proto: unknown protocol \"sctp\" (tcp, udp, udplite, icmp or a "
	 "number)"},
	{R("{\"action\": \"exclude\", \"proto\": 0}"),
	 "$.nat.rules[0].proto: 0 is out of range 1..255"},
	{R("{\"action\": \"exclude\", \"proto\": 1.5}"),
	 "$.nat.rules[0].proto: expected string or integer, got number"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"proto\": 47}"),
	 "$.nat.rules[0].proto: snat translates tcp, udp, udplite and icmp only"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"src\": \"10.0.0.1/8\"}"),
	 "$.nat.rules[0].src: \"10.0.0.1/8\" has host bits set beyond /8"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"src\": \"10.0.0.0/-1\"}"),
	 "$.nat.rules[0].src: \"10.0.0.0/-1\" has a prefix length outside 0..32"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"src\": \"fd00::/8\"}"),
	 "$.nat.rules[0].src: \"fd00::/8\" is not an IPv4 prefix (NAT is IPv4 only)"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"dst\": \"any\"}"),
	 "$.nat.rules[0].dst: \"any\" is not an IPv4 prefix"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"dst\": 10}"),
	 "$.nat.rules[0].dst: expected string, got integer"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"dport\": 80}"),
	 "$.nat.rules[0].dport: a port needs proto tcp, udp or udplite"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"proto\": \"icmp\", \"dport\": 80}"),
	 "$.nat.rules[0].dport: a port needs proto tcp, udp or udplite"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"proto\": \"tcp\", \"dport\": 65536}"),
	 "$.nat.rules[0].dport: 65536 is out of range 0..65535"},
	{R("{\"action\": \"snat\", \"pool\": \"p\", \"proto\": \"tcp\", \"dport\": \"90-80\"}"),
	 "$.nat.rules[0].dport: \"90-80\" needs 0 <= lo <= hi <= 65535"},
	{R("{\"action\": \"dnat\", \"dst\": \"198.51.100.1\", \"to\": \"10.0.0.1\"}"),
	 "$.nat.rules[0]: a dnat rule needs \"proto\" tcp, udp or udplite"},
	{R("{\"action\": \"dnat\", \"proto\": \"icmp\", \"dst\": \"198.51.100.1\","
	   " \"to\": \"10.0.0.1\"}"),
	 "$.nat.rules[0].proto: a dnat rule needs tcp, udp or udplite"},
	{R("{\"action\": \"dnat\", \"proto\": \"tcp\", \"to\": \"10.0.0.1\"}"),
	 "$.nat.rules[0]: a dnat rule needs \"dst\" (the public address)"},
	{R("{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.0/24\","
	   " \"to\": \"10.0.0.1\"}"),
	 "$.nat.rules[0].dst: a dnat rule needs one public address (/32)"},
	{R("{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\"}"),
	 "$.nat.rules[0]: a dnat rule needs \"to\" (the inside address)"},
	{R("{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\","
	   " \"to\": \"10.0.0.0/24\"}"),
	 "$.nat.rules[0].to: \"10.0.0.0/24\" is not an IPv4 address"},
	{R("{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\","
	   " \"to\": \"10.0.0.1\", \"to_port\": 80}"),
	 "$.nat.rules[0].to_port: needs \"dport\" (the public ports it maps)"},
	{R("{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\", \"dport\": 80,"
	   " \"to\": \"10.0.0.1\", \"to_port\": 0}"),
	 "$.nat.rules[0].to_port: 0 is out of range 1..65535"},
	{R("{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\","
	   " \"dport\": \"80-90\", \"to\": \"10.0.0.1\", \"to_port\": 65530}"),
	 "$.nat.rules[0].to_port: dport 80-90 mapped to 65530.. ends past 65535"},
	/* checks between pools and rules: lib/nat's nat_table_build(), under $.nat */
	{NAT("{\"name\": \"a\", \"addresses\": \"192.0.2.0/30\"},"
	     "{\"name\": \"b\", \"addresses\": \"192.0.2.3-192.0.2.9\"}", ""),
	 "$.nat.pools[1]: shares addresses with pool \"a\""},
	{NAT("{\"name\": \"a\", \"addresses\": \"10.0.0.1\"}",
	     "{\"name\": \"lan\", \"action\": \"snat\", \"src\": \"10.0.0.0/8\", \"pool\": \"a\"}"),
	 "$.nat.rules[0]: source 10.0.0.0/8 covers an address of pool \"a\" (a translated "
	 "packet would match again)"},
	{R("{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\", \"dport\": 80,"
	   " \"to\": \"10.0.0.1\"},"
	   "{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\", \"dport\": \"70-80\","
	   " \"to\": \"10.0.0.2\"}"),
	 "$.nat.rules[1]: tcp 198.51.100.1 ports 70-80 overlap those of rule 0"},
	{R("{\"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\", \"dport\": 80,"
	   " \"to\": \"192.0.2.1\"}"),
	 "$.nat.rules[0]: inside address 192.0.2.1 is an address of pool \"p\" (a translated "
	 "packet would match again)"},
	{R("{\"action\": \"dnat\", \"proto\": \"udp\", \"dst\": \"198.51.100.1\", \"dport\": 53,"
	   " \"to\": \"10.0.0.1\"},"
	   "{\"name\": \"dns2\", \"action\": \"dnat\", \"proto\": \"udp\", \"dst\": \"198.51.100.2\","
	   " \"dport\": 53, \"to\": \"10.0.0.1\"}"),
	 "$.nat.rules[1]: inside udp 10.0.0.1 ports 53-53 overlap those of rule 0 "
	 "(replies could not be told apart)"},
	{NAT("{\"name\": \"a\", \"addresses\": \"10.0.0.0/20\", \"mode\": \"block\","
	     " \"block_size\": 1}", ""),
	 "$.nat.pools[0]: 264241152 blocks of 1 ports, at most 1048576: use a larger "
	 "block_size"},
	/* a rule name two rules share: no path, lib/nat's label */
	{R("{\"name\": \"fw\", \"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\","
	   " \"dport\": 80, \"to\": \"10.0.0.1\"},"
	   "{\"name\": \"fw\", \"action\": \"dnat\", \"proto\": \"tcp\", \"dst\": \"198.51.100.1\","
	   " \"dport\": 80, \"to\": \"10.0.0.2\"}"),
	 "$.nat: rule \"fw\": tcp 198.51.100.1 ports 80-80 overlap those of rule \"fw\""},
};

static int
test_bad_documents(void)
{
	static struct dpct_config c, before;
	unsigned i, failed = 0;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Over a config that has a nat section: a refusal leaves it as it was. */
		T_EQ(parse(&c, spec_example), 0);
		before = c;
		rc = dpct_config_parse(&c, bad[i].doc, strlen(bad[i].doc), errbuf,
				       sizeof(errbuf));
		if (rc != -EINVAL || strcmp(errbuf, bad[i].msg) != 0) {
			printf("# case %u: %s\n#   rc %d\n#   got  \"%s\"\n#   want \"%s\"\n", i,
			       bad[i].doc, rc, errbuf, bad[i].msg);
			failed++;
			continue;
		}
		T_MEMEQ(&c, &before, sizeof(c));
	}
	T_EQ(failed, 0);
	printf("# %zu bad documents\n", sizeof(bad) / sizeof(bad[0]));
	return 0;
}

/* More pools or rules than lib/nat takes. */
static int
test_too_many(void)
{
	static struct dpct_config c;
	size_t cap = 64 * 1100 + 64, n = 0;
	char *doc = malloc(cap);
	unsigned i;

	T_ASSERT(doc != NULL);
	n += (size_t)snprintf(doc + n, cap - n, "{\"nat\": {\"pools\": [");
	for (i = 0; i <= NAT_MAX_POOLS; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s{\"name\": \"p%u\", \"addresses\": "
				      "\"10.0.%u.%u\"}", i ? ", " : "", i, i / 256, i % 256);
	n += (size_t)snprintf(doc + n, cap - n, "]}}");
	if (parse(&c, doc) != -EINVAL ||
	    strcmp(errbuf, "$.nat.pools: 65 pools, at most 64 are supported") != 0) {
		printf("# %s\n", errbuf);
		free(doc);
		return 1;
	}
	n = 0;
	n += (size_t)snprintf(doc + n, cap - n, "{\"nat\": {\"rules\": [");
	for (i = 0; i <= NAT_MAX_RULES; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s{\"action\": \"exclude\"}",
				      i ? ", " : "");
	n += (size_t)snprintf(doc + n, cap - n, "]}}");
	T_ASSERT(n < cap);
	i = (unsigned)parse(&c, doc);
	free(doc);
	T_EQ((int)i, -EINVAL);
	T_STREQ(errbuf, "$.nat.rules: 1025 rules, at most 1024 are supported");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Ports among workers                                                       */

static const char five_ways[] =
	"{\"workers\": {\"count\": %u}, \"nat\": {\"pools\": ["
	"{\"name\": \"a\", \"addresses\": \"192.0.2.1\", \"ports\": \"1024-65535\"},"
	"{\"name\": \"b\", \"addresses\": \"192.0.2.2\", \"ports\": \"1024-3583\","
	" \"mode\": \"block\", \"block_size\": 256}]}}";

static int
test_workers_division(void)
{
	static struct dpct_config c;
	struct nat_table *t = NULL;
	char doc[512];

	/* 64512 ports: 1, 2, 3, 4, 6, 8 workers divide them; 5 and 7 do not. */
	snprintf(doc, sizeof(doc), five_ways, 5u);
	T_EQ(parse(&c, doc), -EINVAL);
	T_STREQ(errbuf, "$.nat.pools[0]: port range 1024-65535 (64512 ports) does not divide "
		"among 5 workers");
	/* 2560 ports over 4 workers: 640 each, not a whole number of 256-port blocks. */
	snprintf(doc, sizeof(doc), five_ways, 4u);
	T_EQ(parse(&c, doc), -EINVAL);
	T_STREQ(errbuf, "$.nat.pools[1]: a worker's 640 ports (1024-3583 over 4 workers) do "
		"not divide into blocks of 256");
	snprintf(doc, sizeof(doc), five_ways, 2u);
	T_EQ(parse(&c, doc), 0);
	/* workers.count 0: checked at start against the resolved count. */
	snprintf(doc, sizeof(doc), five_ways, 0u);
	T_EQ(parse(&c, doc), 0);
	T_EQ(dpct_nat_build(&c, 5, &t, errbuf, sizeof(errbuf)), -EINVAL);
	T_ASSERT(t == NULL);
	T_STREQ(errbuf, "$.nat.pools[0]: port range 1024-65535 (64512 ports) does not divide "
		"among 5 workers");
	T_EQ(dpct_nat_build(&c, 0, &t, errbuf, sizeof(errbuf)), -EINVAL);
	T_STREQ(errbuf, "$.nat: 0 workers, NAT supports 1..64");
	T_EQ(dpct_nat_build(&c, 65, &t, errbuf, sizeof(errbuf)), -EINVAL);
	T_EQ(dpct_nat_build(&c, 2, &t, errbuf, sizeof(errbuf)), 0);
	T_ASSERT(t != NULL);
	nat_table_free(t);
	return 0;
}

/* No section, or an empty one: an empty table, nothing translated. */
static int
test_no_nat(void)
{
	static struct dpct_config c;
	struct nat_table *t = NULL;
	char *text;

	T_EQ(parse(&c, "{}"), 0);
	T_UEQ(c.nat.n_pools, 0);
	T_UEQ(c.nat.n_rules, 0);
	T_EQ(dpct_nat_build(&c, 3, &t, errbuf, sizeof(errbuf)), 0);
	T_ASSERT(t != NULL);
	T_ASSERT(nat_table_empty(t));
	nat_table_free(t);
	/* Left out of /dpct/config when empty. */
	text = dpct_config_to_json(&c);
	T_ASSERT(text != NULL);
	T_ASSERT(strstr(text, "\"nat\"") == NULL);
	free(text);
	T_EQ(parse(&c, "{\"nat\": {}}"), 0);
	T_UEQ(c.nat.n_pools + c.nat.n_rules, 0);
	return 0;
}

/* What the parse gives, dumped and parsed again, is the same bytes. */
static int
test_round_trip(void)
{
	static struct dpct_config a, b;
	char *text;
	unsigned i;

	for (i = 0; i <= sizeof(good) / sizeof(good[0]); i++) {
		const char *doc = i < sizeof(good) / sizeof(good[0]) ? good[i].doc : spec_example;

		T_EQ(parse(&a, doc), 0);
		text = dpct_config_to_json(&a);
		T_ASSERT(text != NULL);
		T_ASSERT(strstr(text, "\"nat\"") != NULL);
		dpct_config_defaults(&b);
		if (dpct_config_parse(&b, text, strlen(text), errbuf, sizeof(errbuf)) != 0) {
			printf("# %s\n# %s\n", errbuf, text);
			free(text);
			return 1;
		}
		free(text);
		T_MEMEQ(&a.nat, &b.nat, sizeof(a.nat));
	}
	return 0;
}

/* The shipped example: SNAT for the LAN, a CGNAT block pool, a forward, an exclusion. */
static int
test_example(void)
{
	static struct dpct_config c;
	struct nat_table *t;
	unsigned w, kinds = 0, i;

	dpct_config_defaults(&c);
	if (dpct_config_load(&c, DPCT_CONFIG_DIR "/examples/nat-gateway.json", errbuf,
			     sizeof(errbuf)) != 0) {
		printf("# %s\n", errbuf);
		return 1;
	}
	T_ASSERT(c.nat.n_pools >= 2);
	for (i = 0; i < c.nat.n_pools; i++)
		kinds |= c.nat.pools[i].mode == NAT_MODE_BLOCK ? 8u : 0u;
	for (i = 0; i < c.nat.n_rules; i++)
		kinds |= 1u << (c.nat.rules[i].kind - 1);
	T_UEQ(kinds, 15);
	for (w = 1; w <= 4; w *= 2) {
		T_EQ(dpct_nat_build(&c, w, &t, errbuf, sizeof(errbuf)), 0);
		T_ASSERT(!nat_table_empty(t));
		nat_table_free(t);
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_spec_example),
	T_CASE(test_good_documents),
	T_CASE(test_bad_documents),
	T_CASE(test_too_many),
	T_CASE(test_workers_division),
	T_CASE(test_no_nat),
	T_CASE(test_round_trip),
	T_CASE(test_example),
};

T_MAIN(cases)
