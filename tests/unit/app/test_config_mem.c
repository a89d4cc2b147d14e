/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * app/dpct/config_mem.c: the memory a configuration needs, against what the
 * app's own derivations allocate for it: every worker's shard
 * (dpct_config_shard() + ct_shard_create()) and event channel
 * (ev_chan_create_mem()), through a counting allocator; and the index a
 * translating configuration gets holds a full table of translated flows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_mem.h"
#include "dpct_config.h"
#include "dpct_test.h"
#include "ev.h"
#include "unit/shard/shard_test_util.h"

struct counting {
	uint64_t bytes;
	unsigned live;
};

static void *
c_zalloc(void *arg, size_t size, size_t align)
{
	struct counting *c = arg;
	void *p = aligned_alloc(align, (size + align - 1) & ~(align - 1));

	if (p == NULL)
		return NULL;
	memset(p, 0, size);
	c->bytes += size;
	c->live++;
	return p;
}

static void
c_free(void *arg, void *p)
{
	struct counting *c = arg;

	c->live--;
	free(p);
}

/* Allocate what the app would for `c` over `workers`; the bytes asked for. */
static int
allocate(const struct dpct_config *c, unsigned workers, uint64_t *table, uint64_t *rings)
{
	struct counting ct = { 0 }, cr = { 0 };
	struct ct_shard *s[8];
	struct ev_chan *ch[8];
	struct ct_conf cc;
	char err[128];
	unsigned i;

	for (i = 0; i < workers; i++) {
		struct ct_mem m = { c_zalloc, c_free, &cr };

		dpct_config_shard(c, i, workers, &cc);
		cc.mem.zalloc = c_zalloc;
		cc.mem.free = c_free;
		cc.mem.arg = &ct;
		s[i] = ct_shard_create(&cc, err, sizeof(err));
		T_ASSERT(s[i] != NULL);
		ch[i] = c->events_enabled ? ev_chan_create_mem(c->event_ring_size,
							       c->result_ring_size, &m, err,
							       sizeof(err)) : NULL;
		T_ASSERT(!c->events_enabled || ch[i] != NULL);
	}
	*table = ct.bytes;
	*rings = cr.bytes;
	for (i = 0; i < workers; i++) {
		ct_shard_free(s[i]);
		ev_chan_free(ch[i]);
	}
	T_EQ(ct.live, 0);
	T_EQ(cr.live, 0);
	return 0;
}

static int
check(const char *doc, unsigned workers)
{
	struct dpct_mem_need n;
	struct dpct_config c;
	uint64_t table = 0, rings = 0, tab_need;
	char err[256];

	dpct_config_defaults(&c);
	T_EQ(dpct_config_parse(&c, doc, strlen(doc), err, sizeof(err)), 0);
	T_EQ(dpct_config_mem(&c, workers, &n), 0);
	if (allocate(&c, workers, &table, &rings) != 0)
		return 1;
	/* Exact but for the structs' own sizes, which the need bounds from above. */
	tab_need = n.entries + n.index + n.wheel + n.stage + n.shards;
	if (table > tab_need || tab_need - table > 2048 * workers ||
	    rings > n.event_rings || n.event_rings - rings > 1024 * workers) {
		printf("# %s over %u: table %llu need %llu, rings %llu need %llu\n", doc, workers,
		       (unsigned long long)table, (unsigned long long)tab_need,
		       (unsigned long long)rings, (unsigned long long)n.event_rings);
		return 1;
	}
	T_UEQ(n.total, tab_need + n.event_rings + n.handoff_rings);
	return 0;
}

static int
test_matches_allocation(void)
{
	static const char *const docs[] = {
		"{}",
		"{\"table\": {\"max_entries\": 6500, \"early_drop\": false}}",
		"{\"table\": {\"max_entries\": 100000, \"load_factor\": 0.5}, \"events\": "
		"{\"ring_size\": 1024, \"result_ring_size\": 64, \"stage_size\": 77}}",
		"{\"table\": {\"max_entries\": 3}, \"events\": {\"enabled\": false}}",
	};
	unsigned i, w;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		for (w = 1; w <= 3; w++)
			if (check(docs[i], w) != 0)
				return 1;
	return 0;
}

/* The documented maximum: ~170 B an entry, ~43 GiB, computed without allocating. */
static int
test_documented_maximum(void)
{
	const char *doc = "{\"table\": {\"max_entries\": 268435456}, \"workers\": {\"count\": 4}}";
	struct dpct_mem_need n;
	struct dpct_config c;
	char err[256], h[32];

	dpct_config_defaults(&c);
	T_EQ(dpct_config_parse(&c, doc, strlen(doc), err, sizeof(err)), 0);
	T_EQ(dpct_config_mem(&c, 4, &n), 0);
	T_UEQ(n.slots, 268435456ull + 4 * (67108864 / 64 + 16));
	T_UEQ(n.entries, n.slots * 156);
	T_ASSERT(n.total > 160ull * 268435456 && n.total < 180ull * 268435456);
	/* Each of 4 workers: a handoff and a tx ring of 1024 pointers to each of the 3 others. */
	T_ASSERT(n.handoff_rings >= 24ull * 1024 * 8 && n.handoff_rings < 24ull * (1024 * 8 + 512));
	T_STREQ(dpct_mem_human(n.entries, h, sizeof(h)), "39.6 GiB");
	T_STREQ(dpct_mem_human(1023, h, sizeof(h)), "1023 B");
	T_STREQ(dpct_mem_human(1536, h, sizeof(h)), "1.5 KiB");
	return 0;
}

static char *
slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;

	if (dpct_config_read_file(path, 1u << 20, &buf, &len, NULL, 0) != 0)
		return NULL;
	return buf;
}

/* docs/deployment.md's figures are what dpct computes and logs for them. */
static int
test_docs_agree(void)
{
	char line[300], want[160], h[32];
	const char *const docs[] = {DPCT_SRC_DIR "/docs/deployment.md",
				    DPCT_SRC_DIR "/docs/configuration.md"};
	struct dpct_mem_need n;
	struct dpct_config c;
	char err[256], *text;
	unsigned i;

	dpct_config_defaults(&c);
	T_EQ(dpct_config_load(&c, DPCT_SRC_DIR "/config/10gbe-2port.json", err, sizeof(err)), 0);
	T_EQ(dpct_config_mem(&c, c.workers, &n), 0);
	snprintf(line, sizeof(line), "table memory: %s",
		 dpct_mem_describe(&n, c.max_entries, c.workers, want, sizeof(want)));
	text = slurp(docs[0]);
	T_ASSERT(text != NULL);
	if (strstr(text, line) == NULL) {
		printf("# deployment.md lacks \"%s\"\n", line);
		free(text);
		return 1;
	}
	free(text);
	/* The refusal quoted for the documented maximum over 4 workers. */
	c.max_entries = 268435456;
	T_EQ(dpct_config_mem(&c, 4, &n), 0);
	snprintf(line, sizeof(line), "max_entries 268435456 over 4 workers needs %s of table",
		 dpct_mem_human(n.total, h, sizeof(h)));
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		text = slurp(docs[i]);
		T_ASSERT(text != NULL);
		if (strstr(text, line) == NULL) {
			printf("# %s lacks \"%s\"\n", docs[i], line);
			free(text);
			return 1;
		}
		free(text);
	}
	return 0;
}

/* A binder that translates every flow's source to 198.51.100.1, a port each. */
static int
bind_all(void *arg, const struct ct_pkt *p, struct ct_tuple *reply, uint16_t *status)
{
	uint32_t *next = arg, pool = 0x016433c6u;

	ct_tuple_reverse(reply, &p->tuple);
	memcpy(reply->dst, &pool, 4);
	reply->dport = (uint16_t)(1024 + (*next)++);
	*status = CT_S_SRC_NAT | CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE;
	return 1;
}

/*
 * A full table of translated flows: two index keys an entry. A share that
 * is not a power of two (6500 at 0.8: 8125 slots, 1024 buckets) once got
 * an index for one key an entry (10240 slots for 13000 keys).
 */
static int
test_nat_full_table(void)
{
	static const char doc[] =
		"{\"table\": {\"max_entries\": 6500, \"early_drop\": false},"
		" \"nat\": {\"pools\": [{\"name\": \"p\", \"addresses\": \"198.51.100.1\","
		" \"ports\": \"1024-65535\"}], \"rules\": [{\"name\": \"r\", \"action\": \"snat\","
		" \"src\": \"10.0.0.0/8\", \"pool\": \"p\"}]}}";
	uint32_t next = 0, i;
	struct ct_nat_hook h = { bind_all, NULL, &next };
	struct dpct_config c;
	struct ct_stats st;
	struct ct_shard *s;
	struct ct_conf cc;
	char err[256];

	dpct_config_defaults(&c);
	T_EQ(dpct_config_parse(&c, doc, strlen(doc), err, sizeof(err)), 0);
	dpct_config_shard(&c, 0, 1, &cc);
	T_ASSERT(cc.nat);
	s = ct_shard_create(&cc, err, sizeof(err));
	T_ASSERT(s != NULL);
	T_EQ(ct_shard_set_nat(s, &h), 0);
	for (i = 0; i < 6500; i++) {
		struct ct_pkt p = mk(17, 0x0000000au | (i + 1) << 8, 0x010200c0u, 4000, 53, 0);
		struct ct_tuple to;
		uint8_t v = 0xff;

		ct_process_burst_nat(s, &p, 1, T0 + i, &v, NULL, &to, NULL);
		if (v != CT_V_PASS)
			break;
	}
	ct_shard_stats(s, &st);
	T_UEQ(i, 6500);
	T_UEQ(ct_shard_live(s), 6500);
	T_UEQ(st.insert_failed, 0);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_matches_allocation),
	T_CASE(test_documented_maximum),
	T_CASE(test_docs_agree),
	T_CASE(test_nat_full_table),
};

T_MAIN(cases)
