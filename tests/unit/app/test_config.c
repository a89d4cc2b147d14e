/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * app/dpct/dpct_config.c: defaults, every key, one case per fault class with
 * the exact JSON path in the message, round trip through to_json, shard split.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpct_config.h"
#include "dpct_test.h"

static char errbuf[512];

static int
parse(struct dpct_config *c, const char *text)
{
	dpct_config_defaults(c);
	return dpct_config_parse(c, text, strlen(text), errbuf, sizeof(errbuf));
}

/* A bad document must fail with -EINVAL and exactly this message. */
static int
bad(const char *text, const char *msg)
{
	struct dpct_config c, before;
	int rc;

	dpct_config_defaults(&c);
	before = c;
	rc = dpct_config_parse(&c, text, strlen(text), errbuf, sizeof(errbuf));
	if (rc != -EINVAL) {
		printf("# %s: rc %d, want -EINVAL\n", text, rc);
		return 1;
	}
	if (strcmp(errbuf, msg) != 0) {
		printf("# %s:\n#   got  \"%s\"\n#   want \"%s\"\n", text, errbuf, msg);
		return 1;
	}
	/* A failed parse leaves the configuration as it was. */
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
	unsigned i;

	T_EQ(parse(&c, "{}"), 0);
	T_UEQ(c.max_entries, 262144);
	T_ASSERT(c.load_factor > 0.79 && c.load_factor < 0.81);
	T_ASSERT(c.early_drop && c.tcp_loose);
	T_EQ(c.zone, 0);
	for (i = 0; i < CT_TO_MAX; i++)
		T_UEQ(c.timeout_s[i], ct_timeout_default_s(i));
	T_UEQ(c.timeout_s[CT_TO_TCP_ESTABLISHED], 432000);
	T_EQ(c.invalid_policy, CT_INVALID_DROP);
	T_EQ(c.fill_alarm_high_pct, 90);
	T_EQ(c.fill_alarm_low_pct, 80);
	T_EQ(c.n_notrack, 0);
	T_ASSERT(c.events_enabled && c.events_reliable);
	T_UEQ(c.destroy_grace_ms, 15000);
	T_UEQ(c.event_ring_size, 4096);
	T_UEQ(c.result_ring_size, 4096);
	T_UEQ(c.stage_size, 1024);
	T_STREQ(c.socket_path, EV_DEFAULT_SOCKET);
	T_ASSERT(c.socket_gid == -1);
	T_EQ(c.n_reliable_uids, 1);
	T_EQ(c.n_allowed_gids, 0);
	T_UEQ(c.reliable_stall_ms, 30000);
	T_UEQ(c.max_dying_pct, 10);
	T_EQ(c.n_allowed_uids, 1);
	T_EQ(c.allowed_uids[0], 0);
	T_EQ(c.max_listeners, 8);
	T_EQ(c.max_conns_per_uid, 2);
	T_EQ(c.reserved_slots, 4);
	T_EQ(c.subscribe_timeout_ms, 1000);
	T_UEQ(c.batch_bytes, 16384);
	T_EQ(c.workers, 0);
	T_EQ(c.burst, 32);
	T_EQ(c.rxd, 1024);
	T_EQ(c.txd, 1024);
	T_EQ(c.mbufs, 0);
	T_EQ(c.handoff_ring_size, 1024);
	T_UEQ(c.seed, 0);
	return 0;
}

static const char every_key[] =
	"{\"table\": {\"max_entries\": 1000, \"load_factor\": 0.5, \"early_drop\": false,\n"
	"  \"tcp_loose\": false, \"zone\": 7},\n"
	" \"timeouts\": {\"tcp_syn_sent\": 1, \"tcp_syn_recv\": 2, \"tcp_established\": 3,\n"
	"  \"tcp_fin_wait\": 4, \"tcp_close_wait\": 5, \"tcp_last_ack\": 6, \"tcp_time_wait\": 7,\n"
	"  \"tcp_close\": 8, \"tcp_syn_sent2\": 9, \"tcp_retrans\": 10,\n"
	"  \"tcp_unacknowledged\": 11, \"udp_unreplied\": 12, \"udp_replied\": 13, \"icmp\": 14,\n"
	"  \"icmpv6\": 15, \"generic\": 16, \"sctp_closed\": 17, \"sctp_cookie_wait\": 18,\n"
	"  \"sctp_cookie_echoed\": 19, \"sctp_established\": 20, \"sctp_shutdown_sent\": 21,\n"
	"  \"sctp_shutdown_recd\": 22, \"sctp_shutdown_ack_sent\": 23,\n"
	"  \"sctp_heartbeat_sent\": 24, \"gre_unreplied\": 25, \"gre_stream\": 26},\n"
	" \"invalid\": {\"policy\": \"pass\"},\n"
	" \"fill_alarm\": {\"high_pct\": 70, \"low_pct\": 60},\n"
	" \"notrack\": [{\"proto\": \"udp\", \"port\": 53},\n"
	"   {\"prefix\": \"10.1.0.0/16\"}, {\"proto\": 47},\n"
	"   {\"proto\": \"tcp\", \"port\": 179, \"prefix\": \"2001:db8::/32\"},\n"
	"   {\"family\": 6}],\n"
	" \"events\": {\"enabled\": false, \"reliable\": false, \"destroy_grace_ms\": 500,\n"
	"  \"ring_size\": 256, \"result_ring_size\": 512, \"stage_size\": 100,\n"
	"  \"socket\": \"/run/dpct-test/ev.sock\", \"socket_group\": 4242,\n"
	"  \"allowed_gids\": [100], \"reliable_uids\": [0, 1000],\n"
	"  \"reliable_stall_ms\": 1234, \"max_dying_pct\": 0,\n"
	"  \"allowed_uids\": [0, 1000, 4294967294],\n"
	"  \"max_listeners\": 3, \"batch_bytes\": 8192, \"max_conns_per_uid\": 5,\n"
	"  \"reserved_slots\": 3, \"subscribe_timeout_ms\": 250},\n"
	" \"workers\": {\"count\": 4, \"burst\": 64, \"rxd\": 512, \"txd\": 2048,\n"
	"  \"mbufs\": 65536, \"handoff_ring_size\": 2048},\n"
	" \"seed\": 9223372036854775807}\n";

static int
test_every_key(void)
{
	struct dpct_config c;
	unsigned i;

	T_EQ(parse(&c, every_key), 0);
	T_UEQ(c.max_entries, 1000);
	T_ASSERT(c.load_factor == 0.5);
	T_ASSERT(!c.early_drop && !c.tcp_loose);
	T_EQ(c.zone, 7);
	for (i = 0; i < CT_TO_MAX; i++)
		T_UEQ(c.timeout_s[i], i + 1);
	T_EQ(c.invalid_policy, CT_INVALID_PASS);
	T_EQ(c.fill_alarm_high_pct, 70);
	T_EQ(c.fill_alarm_low_pct, 60);
	T_EQ(c.n_notrack, 5);
	T_EQ(c.notrack[0].proto, 17);
	T_EQ(c.notrack[0].port, 53);
	T_EQ(c.notrack[0].prefix_len, 0);
	T_EQ(c.notrack[1].proto, 0);
	T_EQ(c.notrack[1].family, 4);
	T_EQ(c.notrack[1].prefix_len, 16);
	T_EQ(c.notrack[1].addr[0], 10);
	T_EQ(c.notrack[1].addr[1], 1);
	T_EQ(c.notrack[2].proto, 47);
	T_EQ(c.notrack[3].proto, 6);
	T_EQ(c.notrack[3].port, 179);
	T_EQ(c.notrack[3].family, 6);
	T_EQ(c.notrack[3].prefix_len, 32);
	T_EQ(c.notrack[3].addr[0], 0x20);
	T_EQ(c.notrack[3].addr[3], 0xb8);
	T_EQ(c.notrack[4].family, 6);
	T_EQ(c.notrack[4].prefix_len, 0);
	T_ASSERT(!c.events_enabled && !c.events_reliable);
	T_UEQ(c.destroy_grace_ms, 500);
	T_UEQ(c.event_ring_size, 256);
	T_UEQ(c.result_ring_size, 512);
	T_UEQ(c.stage_size, 100);
	T_STREQ(c.socket_path, "/run/dpct-test/ev.sock");
	T_ASSERT(c.socket_gid == 4242);
	T_EQ(c.n_allowed_gids, 1);
	T_UEQ(c.allowed_gids[0], 100);
	T_EQ(c.n_reliable_uids, 2);
	T_UEQ(c.reliable_stall_ms, 1234);
	T_UEQ(c.max_dying_pct, 0);
	T_EQ(c.n_allowed_uids, 3);
	T_UEQ(c.allowed_uids[1], 1000);
	T_UEQ(c.allowed_uids[2], 4294967294u);
	T_EQ(c.max_listeners, 3);
	T_EQ(c.max_conns_per_uid, 5);
	T_EQ(c.reserved_slots, 3);
	T_EQ(c.subscribe_timeout_ms, 250);
	T_UEQ(c.batch_bytes, 8192);
	T_EQ(c.workers, 4);
	T_EQ(c.burst, 64);
	T_EQ(c.rxd, 512);
	T_EQ(c.txd, 2048);
	T_EQ(c.mbufs, 65536);
	T_EQ(c.handoff_ring_size, 2048);
	T_UEQ(c.seed, 9223372036854775807ull);
	/* Host bits are cleared; /0 keeps only the family. */
	T_EQ(parse(&c, "{\"notrack\": [{\"prefix\": \"10.1.2.3/12\"}, "
		       "{\"prefix\": \"10.1.0.0/0\"}]}"), 0);
	T_EQ(c.notrack[0].addr[0], 10);
	T_EQ(c.notrack[0].addr[1], 0);
	T_EQ(c.notrack[0].addr[2], 0);
	T_EQ(c.notrack[0].prefix_len, 12);
	T_EQ(c.notrack[1].addr[0], 0);
	T_EQ(c.notrack[1].family, 4);
	T_EQ(c.notrack[1].prefix_len, 0);
	return 0;
}

static int
test_unknown_key(void)
{
	T_EQ(bad("{\"events\": {\"foo\": 1}}", "unknown key at $.events.foo"), 0);
	T_EQ(bad("{\"tabel\": {}}", "unknown key at $.tabel"), 0);
	T_EQ(bad("{\"timeouts\": {\"tcp_establised\": 5}}",
		 "unknown key at $.timeouts.tcp_establised"), 0);
	T_EQ(bad("{\"notrack\": [{\"proto\": \"udp\", \"ports\": 53}]}",
		 "unknown key at $.notrack[0].ports"), 0);
	return 0;
}

static int
test_wrong_type(void)
{
	T_EQ(bad("{\"table\": {\"max_entries\": \"1000\"}}",
		 "$.table.max_entries: expected integer, got string"), 0);
	T_EQ(bad("{\"table\": {\"max_entries\": 1000.5}}",
		 "$.table.max_entries: expected integer, got number"), 0);
	T_EQ(bad("{\"table\": {\"early_drop\": 1}}",
		 "$.table.early_drop: expected boolean, got integer"), 0);
	T_EQ(bad("{\"events\": []}", "$.events: expected object, got array"), 0);
	T_EQ(bad("[]", "$: expected object, got array"), 0);
	T_EQ(bad("{\"notrack\": {}}", "$.notrack: expected array, got object"), 0);
	T_EQ(bad("{\"invalid\": {\"policy\": null}}",
		 "$.invalid.policy: expected string, got null"), 0);
	T_EQ(bad("{\"table\": {\"load_factor\": \"x\"}}",
		 "$.table.load_factor: expected number, got string"), 0);
	return 0;
}

static int
test_out_of_range(void)
{
	T_EQ(bad("{\"events\": {\"destroy_grace_ms\": 0}}",
		 "$.events.destroy_grace_ms: 0 is out of range 1..3600000"), 0);
	T_EQ(bad("{\"events\": {\"destroy_grace_ms\": 3600001}}",
		 "$.events.destroy_grace_ms: 3600001 is out of range 1..3600000"), 0);
	/* Beyond uint32_t: refused, never truncated to 0. */
	T_EQ(bad("{\"table\": {\"max_entries\": 4294967296}}",
		 "$.table.max_entries: 4294967296 is out of range 1..268435456"), 0);
	T_EQ(bad("{\"table\": {\"zone\": 65536}}",
		 "$.table.zone: 65536 is out of range 0..65535"), 0);
	T_EQ(bad("{\"table\": {\"zone\": -1}}", "$.table.zone: -1 is out of range 0..65535"), 0);
	T_EQ(bad("{\"table\": {\"load_factor\": 1}}",
		 "$.table.load_factor: 1 is out of range 0.25..0.95"), 0);
	T_EQ(bad("{\"workers\": {\"count\": 65}}", "$.workers.count: 65 is out of range 0..64"),
	     0);
	T_EQ(bad("{\"workers\": {\"mbufs\": 10}}",
		 "$.workers.mbufs: 10 is out of range 1024..16777216 (or 0 to derive)"), 0);
	T_EQ(bad("{\"events\": {\"allowed_uids\": [0, 4294967295]}}",
		 "$.events.allowed_uids[1]: 4294967295 is out of range 0..4294967294"), 0);
	/* Issue 8: the events socket and its policy. */
	T_EQ(bad("{\"events\": {\"netlink_port_id\": 5}}",
		 "$.events.netlink_port_id: removed: events are served on the AF_UNIX socket "
		 "$.events.socket (default /run/dpct/events.sock) instead of NETLINK_USERSOCK"), 0);
	T_EQ(bad("{\"events\": {\"socket\": \"run/x.sock\"}}",
		 "$.events.socket: \"run/x.sock\" is not an absolute file path of at most 107 "
		 "bytes"), 0);
	T_EQ(bad("{\"events\": {\"socket\": 5}}",
		 "$.events.socket: expected string, got integer"), 0);
	T_EQ(bad("{\"events\": {\"socket_group\": \"no-such-group-dpct\"}}",
		 "$.events.socket_group: no group named \"no-such-group-dpct\""), 0);
	T_EQ(bad("{\"events\": {\"reliable_uids\": [\"root\"]}}",
		 "$.events.reliable_uids[0]: expected integer, got string"), 0);
	T_EQ(bad("{\"events\": {\"allowed_gids\": 5}}",
		 "$.events.allowed_gids: expected array, got integer"), 0);
	T_EQ(bad("{\"events\": {\"max_dying_pct\": 101}}",
		 "$.events.max_dying_pct: 101 is out of range 0..100"), 0);
	T_EQ(bad("{\"events\": {\"reliable_stall_ms\": 0}}",
		 "$.events.reliable_stall_ms: 0 is out of range 1..86400000"), 0);
	T_EQ(bad("{\"events\": {\"max_listeners\": 33}}",
		 "$.events.max_listeners: 33 is out of range 1..32"), 0);
	T_EQ(bad("{\"events\": {\"batch_bytes\": 65537}}",
		 "$.events.batch_bytes: 65537 is out of range 4096..65536"), 0);
	T_EQ(bad("{\"events\": {\"max_listeners\": 4, \"reserved_slots\": 5}}",
		 "$.events.reserved_slots: 5 is out of range 0..4"), 0);
	T_EQ(bad("{\"events\": {\"max_conns_per_uid\": 0}}",
		 "$.events.max_conns_per_uid: 0 is out of range 1..32"), 0);
	T_EQ(bad("{\"events\": {\"subscribe_timeout_ms\": 99}}",
		 "$.events.subscribe_timeout_ms: 99 is out of range 100..60000"), 0);
	T_EQ(bad("{\"seed\": -5}", "$.seed: -5 is out of range 0..9223372036854775807"), 0);
	T_EQ(bad("{\"invalid\": {\"policy\": \"reject\"}}",
		 "$.invalid.policy: \"reject\" is not one of \"drop\", \"pass\""), 0);
	T_EQ(bad("{\"timeouts\": {\"icmp\": 0}}", "$.timeouts.icmp: 0 is out of range 1..1125899"),
	     0);
	/* One second more than the shards' timer holds: refused here, not at start. */
	T_EQ(bad("{\"timeouts\": {\"tcp_established\": 1125900}}",
		 "$.timeouts.tcp_established: 1125900 is out of range 1..1125899"), 0);
	return 0;
}

static int
test_inconsistent(void)
{
	char doc[8192];
	size_t off;
	unsigned i;

	T_EQ(bad("{\"fill_alarm\": {\"high_pct\": 70, \"low_pct\": 70}}",
		 "$.fill_alarm.low_pct: 70 must be below high_pct 70"), 0);
	T_EQ(bad("{\"fill_alarm\": {\"high_pct\": 50}}",
		 "$.fill_alarm.low_pct: 80 must be below high_pct 50"), 0);
	T_EQ(bad("{\"table\": {\"max_entries\": 3}, \"workers\": {\"count\": 4}}",
		 "$.table.max_entries: 3 is fewer than the 4 workers"), 0);
	T_EQ(bad("{\"events\": {\"ring_size\": 1000}}",
		 "$.events.ring_size: 1000 is not a power of two"), 0);
	T_EQ(bad("{\"events\": {\"result_ring_size\": 3000}}",
		 "$.events.result_ring_size: 3000 is not a power of two"), 0);
	T_EQ(bad("{\"workers\": {\"handoff_ring_size\": 100}}",
		 "$.workers.handoff_ring_size: 100 is not a power of two"), 0);
	T_EQ(bad("{\"notrack\": [{\"prefix\": \"10.0.0.0/33\"}]}",
		 "$.notrack[0].prefix: \"10.0.0.0/33\" has a prefix length outside 0..32"), 0);
	T_EQ(bad("{\"notrack\": [{\"proto\": 6}, {\"prefix\": \"10.0.0.300/8\"}]}",
		 "$.notrack[1].prefix: \"10.0.0.300/8\" is not an address prefix"), 0);
	T_EQ(bad("{\"notrack\": [{}]}",
		 "$.notrack[0]: a rule needs proto, port, prefix or family"), 0);
	T_EQ(bad("{\"notrack\": [{\"proto\": \"icmp\", \"port\": 5}]}",
		 "$.notrack[0].port: a port needs proto tcp, udp, sctp or udplite"), 0);
	T_EQ(bad("{\"notrack\": [{\"prefix\": \"::1/128\", \"family\": 4}]}",
		 "$.notrack[0].family: 4 contradicts the prefix's family"), 0);
	/* One rule more than the table holds. */
	off = (size_t)snprintf(doc, sizeof(doc), "{\"notrack\": [");
	for (i = 0; i <= CT_MAX_NOTRACK; i++)
		off += (size_t)snprintf(doc + off, sizeof(doc) - off, "%s{\"port\": %u, "
					"\"proto\": \"udp\"}", i ? "," : "", i + 1);
	snprintf(doc + off, sizeof(doc) - off, "]}");
	T_EQ(bad(doc, "$.notrack: 65 rules, at most 64 are supported"), 0);
	return 0;
}

static int
test_syntax(void)
{
	struct dpct_config c;

	T_EQ(parse(&c, "{\n  \"table\": {\n    \"max_entries\" 5}}"), -EINVAL);
	T_ASSERT(strncmp(errbuf, "line 3, column ", 15) == 0);
	T_ASSERT(strchr(errbuf + 15, ':') != NULL);
	T_EQ(parse(&c, ""), -EINVAL);
	T_ASSERT(strncmp(errbuf, "line ", 5) == 0);
	T_EQ(parse(&c, "{\"seed\": 1, \"seed\": 2}"), -EINVAL);
	T_ASSERT(strstr(errbuf, "duplicate") != NULL);
	T_EQ(parse(&c, "{\"seed\": 99999999999999999999}"), -EINVAL);
	T_ASSERT(strncmp(errbuf, "line 1, column ", 15) == 0);
	return 0;
}

static int
test_round_trip(void)
{
	const char *docs[] = {"{}", every_key};
	struct dpct_config a, b;
	unsigned i;
	char *text;

	for (i = 0; i < 2; i++) {
		T_EQ(parse(&a, docs[i]), 0);
		text = dpct_config_to_json(&a);
		T_ASSERT(text != NULL);
		/* Parse over different defaults: every field must come from the text. */
		memset(&b, 0x5a, sizeof(b));
		dpct_config_defaults(&b);
		b.max_entries = 77;
		b.seed = 12345;
		if (dpct_config_parse(&b, text, strlen(text), errbuf, sizeof(errbuf)) != 0) {
			printf("# %s\n# %s\n", errbuf, text);
			free(text);
			return 1;
		}
		free(text);
		T_MEMEQ(&a, &b, sizeof(a));
	}
	return 0;
}

static int
test_shard_split(void)
{
	struct dpct_config c;
	struct ct_conf s;
	uint64_t total = 0;
	unsigned i;

	T_EQ(parse(&c, "{\"table\": {\"max_entries\": 10, \"load_factor\": 0.5},"
		       "\"seed\": 100, \"events\": {\"destroy_grace_ms\": 700, \"stage_size\": 33}}"),
	     0);
	for (i = 0; i < 4; i++) {
		dpct_config_shard(&c, i, 4, &s);
		/* 10 = 3 + 3 + 2 + 2: the remainder goes to the first shards. */
		T_UEQ(s.max_entries, i < 2 ? 3 : 2);
		total += s.max_entries;
		T_EQ(s.shard_index, i);
		T_EQ(s.shard_count, 4);
		T_ASSERT(s.buckets >= 1 && (s.buckets & (s.buckets - 1)) == 0);
		T_ASSERT((double)s.buckets * CT_BUCKET_SLOTS * 0.5 >= s.max_entries);
		T_UEQ(s.destroy_grace_ms, 700);
		T_UEQ(s.ev_stage_size, 33);
		T_NE(s.seed, 0);
		if (i > 0) {
			struct ct_conf p;

			dpct_config_shard(&c, i - 1, 4, &p);
			T_NE(p.seed, s.seed);
		}
	}
	T_UEQ(total, 10);
	/* A big table: buckets keep the load at or below load_factor. */
	T_EQ(parse(&c, "{\"table\": {\"max_entries\": 2000000, \"load_factor\": 0.8}}"), 0);
	dpct_config_shard(&c, 0, 4, &s);
	T_UEQ(s.max_entries, 500000);
	T_ASSERT((double)s.max_entries / ((double)s.buckets * CT_BUCKET_SLOTS) <= 0.8);
	T_ASSERT((double)s.max_entries / ((double)s.buckets * CT_BUCKET_SLOTS) > 0.4);
	T_UEQ(s.seed, 0);
	return 0;
}

/*
 * Each shard's index: the smallest power of two of 10-slot buckets that
 * holds its keys at load_factor (a share that is a power of two is not
 * rounded past it), two keys an entry when the configuration translates.
 */
static int
test_shard_index(void)
{
	static const struct {
		uint32_t max_entries;
		unsigned workers;
		double lf;
		int nat;
		uint32_t buckets;
	} cases[] = {
		{ 65536, 1, 0.8, 0, 8192 },      /* 81920 slots exactly */
		{ 65537, 1, 0.8, 0, 16384 },
		{ 65536, 1, 0.8, 1, 16384 },     /* 131072 keys */
		{ 2097152, 4, 0.8, 0, 65536 },   /* 524288 a shard */
		{ 2097152, 4, 0.8, 1, 131072 },
		{ 1000000, 1, 0.8, 0, 131072 },
		{ 1000000, 1, 0.8, 1, 262144 },  /* 2.5M slots: 1.31M would not hold */
		{ 1000, 1, 0.5, 0, 256 },
		{ 10, 4, 0.25, 0, 2 },           /* 3 entries: 12 slots */
	};
	static const char nat[] =
		",\"nat\": {\"pools\": [{\"name\": \"p\", \"addresses\": \"198.51.100.0/24\","
		" \"ports\": \"1024-65535\"}], \"rules\": [{\"name\": \"r\", \"action\": \"snat\","
		" \"src\": \"10.0.0.0/8\", \"pool\": \"p\"}]}";
	struct dpct_config c;
	struct ct_conf s;
	char doc[1024];
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(doc, sizeof(doc),
			 "{\"table\": {\"max_entries\": %u, \"load_factor\": %g},"
			 " \"workers\": {\"count\": %u}%s}",
			 cases[i].max_entries, cases[i].lf, cases[i].workers, cases[i].nat ? nat : "");
		T_EQ(parse(&c, doc), 0);
		T_EQ(dpct_nat_configured(&c), cases[i].nat != 0);
		dpct_config_shard(&c, 0, cases[i].workers, &s);
		T_EQ(s.nat, cases[i].nat != 0);
		T_UEQ(s.buckets, cases[i].buckets);
		/* The keys fit at load_factor, and half the buckets would not hold them. */
		T_ASSERT((double)s.max_entries * (s.nat ? 2 : 1) <=
			 (double)s.buckets * CT_BUCKET_SLOTS * cases[i].lf + 1e-6);
		T_ASSERT(s.buckets == 2 || (double)s.max_entries * (s.nat ? 2 : 1) >
					   (double)s.buckets / 2 * CT_BUCKET_SLOTS * cases[i].lf);
	}
	return 0;
}

static int
test_events_conf(void)
{
	struct dpct_config c;
	struct ev_ctl_conf e;

	T_EQ(parse(&c, every_key), 0);
	dpct_config_events(&c, &e);
	T_STREQ(e.socket_path, "/run/dpct-test/ev.sock");
	T_ASSERT(e.socket_gid == 4242);
	T_EQ(e.n_reliable_uids, 2);
	T_UEQ(e.reliable_uids[1], 1000);
	T_EQ(e.n_allowed_gids, 1);
	T_UEQ(e.reliable_stall_ms, 1234);
	T_UEQ(e.max_dying_pct, 0);
	T_EQ(e.n_allowed_uids, 3);
	T_UEQ(e.allowed_uids[1], 1000);
	T_EQ(e.max_listeners, 3);
	T_ASSERT(!e.reliable);
	T_EQ(e.max_batch_bytes, 8192);
	T_EQ(e.max_conns_per_uid, 5);
	T_EQ(e.reserved_slots, 3);
	T_UEQ(e.subscribe_timeout_ms, 250);
	T_ASSERT(!e.no_socket);
	return 0;
}

static int
test_load(void)
{
	char path[] = "/tmp/dpct_cfg_XXXXXX";
	struct dpct_config c;
	const char *doc = "{\"events\": {\"destroy_grace_ms\": 1234}}";
	int fd, rc;

	dpct_config_defaults(&c);
	rc = dpct_config_load(&c, "/nonexistent/dpct.json", errbuf, sizeof(errbuf));
	T_EQ(rc, -ENOENT);
	T_ASSERT(strstr(errbuf, "/nonexistent/dpct.json") != NULL);
	fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	T_EQ(write(fd, doc, strlen(doc)), (long long)strlen(doc));
	close(fd);
	rc = dpct_config_load(&c, path, errbuf, sizeof(errbuf));
	T_EQ(rc, 0);
	T_UEQ(c.destroy_grace_ms, 1234);
	fd = open(path, O_WRONLY | O_TRUNC);
	T_ASSERT(fd >= 0);
	T_EQ(write(fd, "{\"x\": 1}", 8), 8);
	close(fd);
	rc = dpct_config_load(&c, path, errbuf, sizeof(errbuf));
	unlink(path);
	T_EQ(rc, -EINVAL);
	T_ASSERT(strstr(errbuf, path) != NULL && strstr(errbuf, "unknown key at $.x") != NULL);
	return 0;
}

/* The shipped configurations must load as they are. */
static int
test_shipped_configs(void)
{
	static const char *const files[] = {"default.json", "10gbe-2port.json",
					    "examples/udp-gateway.json",
					    "examples/no-events.json"};
	struct dpct_config c;
	char path[512];
	unsigned i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", DPCT_CONFIG_DIR, files[i]);
		dpct_config_defaults(&c);
		if (dpct_config_load(&c, path, errbuf, sizeof(errbuf)) != 0) {
			printf("# %s\n", errbuf);
			return 1;
		}
	}
	/* The demo: short grace and a small table (docs/configuration.md). */
	snprintf(path, sizeof(path), "%s/default.json", DPCT_CONFIG_DIR);
	dpct_config_defaults(&c);
	T_EQ(dpct_config_load(&c, path, errbuf, sizeof(errbuf)), 0);
	T_UEQ(c.destroy_grace_ms, 1000);
	T_UEQ(c.max_entries, 65536);
	snprintf(path, sizeof(path), "%s/10gbe-2port.json", DPCT_CONFIG_DIR);
	dpct_config_defaults(&c);
	T_EQ(dpct_config_load(&c, path, errbuf, sizeof(errbuf)), 0);
	T_EQ(c.workers, 4);
	T_UEQ(c.max_entries, 2097152);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_defaults),
	T_CASE(test_every_key),
	T_CASE(test_unknown_key),
	T_CASE(test_wrong_type),
	T_CASE(test_out_of_range),
	T_CASE(test_inconsistent),
	T_CASE(test_syntax),
	T_CASE(test_round_trip),
	T_CASE(test_shard_split),
	T_CASE(test_shard_index),
	T_CASE(test_events_conf),
	T_CASE(test_load),
	T_CASE(test_shipped_configs),
};

T_MAIN(cases)
