/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Limits and the top sketch (ct_limit.h): the counting table against a
 * table of rules and connections, deletion under collisions, the sketch's
 * estimates and merge, and both inside a shard (refusals counted per rule,
 * counts given back when entries end, the sketch's publication).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ct_import.h"
#include "shard_test_util.h"

/* A rule from text: "10.0.0.0/8" (source) or NULL (zone rule). */
static struct ct_limit_rule
rule(const char *pfx, unsigned group, int zone, uint32_t max)
{
	struct ct_limit_rule r;
	char buf[64], *slash;

	memset(&r, 0, sizeof(r));
	r.max = max;
	r.any_zone = zone < 0;
	r.zone = zone < 0 ? 0 : (uint16_t)zone;
	if (pfx == NULL)
		return r;
	snprintf(buf, sizeof(buf), "%s", pfx);
	slash = strchr(buf, '/');
	*slash = '\0';
	r.prefix_len = (uint8_t)atoi(slash + 1);
	r.group_len = (uint8_t)group;
	if (inet_pton(AF_INET, buf, r.addr) == 1)
		r.family = 4;
	else if (inet_pton(AF_INET6, buf, r.addr) == 1)
		r.family = 6;
	return r;
}

static struct ct_tuple
tup(const char *src, uint16_t zone, uint16_t sport)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	if (inet_pton(AF_INET, src, t.src) == 1) {
		t.family = 4;
		inet_pton(AF_INET, "192.0.2.1", t.dst);
	} else {
		t.family = 6;
		inet_pton(AF_INET6, src, t.src);
		inet_pton(AF_INET6, "2001:db8::1", t.dst);
	}
	t.proto = 6;
	t.sport = sport;
	t.dport = 80;
	t.zone = zone;
	return t;
}

/*
 * Each row: connections from `src` in `zone`, `n` of them, then what the
 * next one gets. The rules: each address of 10/8 at most 3 (any zone);
 * each /24 of 172.16/12 at most 5; each /64 of 2001:db8::/32 at most 2;
 * zone 7 at most 4 in all; 198.51.100.0/24 in zone 9 only, at most 1.
 */
static int
test_admit_table(void)
{
	static const struct {
		const char *src;
		uint16_t zone;
		unsigned n;
		enum ct_limit_verdict next;
		unsigned rule;
	} rows[] = {
		{"10.1.1.1", 0, 3, CT_LIM_OVER, 0},
		{"10.1.1.2", 0, 2, CT_LIM_COUNTED, 0},       /* another address: own count */
		{"10.1.1.1", 3, 0, CT_LIM_OVER, 0},          /* any zone: counted together */
		{"172.16.5.1", 0, 3, CT_LIM_COUNTED, 0},
		{"172.16.5.200", 0, 0, CT_LIM_COUNTED, 0},   /* same /24: 5 now */
		{"172.16.5.9", 0, 0, CT_LIM_OVER, 1},
		{"172.16.6.9", 0, 0, CT_LIM_COUNTED, 1},     /* next /24 */
		{"2001:db8:0:1::5", 0, 1, CT_LIM_COUNTED, 2},
		{"2001:db8:0:1::6", 0, 0, CT_LIM_OVER, 2},   /* same /64 at 2 */
		{"2001:db9::1", 0, 0, CT_LIM_NONE, 0},       /* no rule */
		{"192.0.2.50", 7, 4, CT_LIM_OVER, 3},        /* zone rule */
		{"10.9.9.9", 7, 0, CT_LIM_OVER, 3},          /* zone full before the source rule */
		{"198.51.100.4", 9, 1, CT_LIM_OVER, 4},
		{"198.51.100.4", 8, 0, CT_LIM_NONE, 0},      /* the rule is zone 9's */
	};
	struct ct_limit_rule rs[5] = {
		rule("10.0.0.0/8", 32, -1, 3),
		rule("172.16.0.0/12", 24, -1, 5),
		rule("2001:db8::/32", 64, -1, 2),
		rule(NULL, 0, 7, 4),
		rule("198.51.100.0/24", 32, 9, 1),
	};
	struct ct_limits *l;
	uint16_t port = 1;
	unsigned i, k, r;
	char err[128];

	l = ct_limits_create(rs, 5, 1024, 7, NULL, err, sizeof(err));
	T_ASSERT(l != NULL);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ct_tuple t;

		for (k = 0; k < rows[i].n; k++) {
			t = tup(rows[i].src, rows[i].zone, port++);
			T_EQ(ct_limits_admit(l, &t, NULL, &r), CT_LIM_COUNTED);
		}
		t = tup(rows[i].src, rows[i].zone, port++);
		r = 99;
		if (ct_limits_admit(l, &t, NULL, &r) != rows[i].next)
			T_FAIL_("row %u (%s zone %u): verdict differs", i, rows[i].src,
				rows[i].zone);
		if (rows[i].next == CT_LIM_OVER)
			T_EQ(r, rows[i].rule);
	}
	/* Giving one back makes room for exactly one. */
	{
		struct ct_tuple t = tup("10.1.1.1", 0, 1);

		T_EQ(ct_limits_count(l, 0, &t), 3);
		ct_limits_release(l, &t, NULL);
		T_EQ(ct_limits_count(l, 0, &t), 2);
		T_EQ(ct_limits_admit(l, &t, NULL, &r), CT_LIM_COUNTED);
		T_EQ(ct_limits_admit(l, &t, NULL, &r), CT_LIM_OVER);
	}
	ct_limits_free(l, NULL);
	return 0;
}

/*
 * Rules apply in rule order whatever their kind: with a zone rule before a
 * source rule and both at their max, the refusal names the zone rule; a
 * later source rule of the other family does not apply.
 */
static int
test_rule_order(void)
{
	struct ct_limit_rule rs[3] = {
		rule(NULL, 0, 5, 2),
		rule("10.0.0.0/8", 32, -1, 2),
		rule("2001:db8::/32", 128, -1, 1),
	};
	struct ct_tuple t = tup("10.0.0.1", 5, 1);
	struct ct_tuple u = tup("10.0.0.1", 6, 1);
	struct ct_tuple v = tup("2001:db8::1", 6, 1);
	struct ct_lim_hint h;
	struct ct_limits *l;
	unsigned r = 99;

	l = ct_limits_create(rs, 3, 64, 3, NULL, NULL, 0);
	T_ASSERT(l != NULL);
	ct_limits_prefetch(l, &t, &h);
	T_EQ(h.n, 2);
	T_EQ(h.rule[0], 0);
	T_EQ(h.rule[1], 1);
	T_EQ(ct_limits_admit(l, &t, NULL, &r), CT_LIM_COUNTED);
	T_EQ(ct_limits_admit(l, &t, &h, &r), CT_LIM_COUNTED);
	T_EQ(ct_limits_admit(l, &t, NULL, &r), CT_LIM_OVER);
	T_EQ(r, 0);
	T_EQ(ct_limits_count(l, 0, &t), 2);
	T_EQ(ct_limits_count(l, 1, &t), 2);
	/* Zone 6 has no zone rule: the source rule alone, at its max. */
	T_EQ(ct_limits_admit(l, &u, NULL, &r), CT_LIM_OVER);
	T_EQ(r, 1);
	ct_limits_prefetch(l, &v, &h);
	T_EQ(h.n, 1);
	T_EQ(h.rule[0], 2);
	T_EQ(ct_limits_admit(l, &v, NULL, &r), CT_LIM_COUNTED);
	T_EQ(ct_limits_admit(l, &v, NULL, &r), CT_LIM_OVER);
	T_EQ(r, 2);
	ct_limits_release(l, &t, NULL);
	T_EQ(ct_limits_count(l, 0, &t), 1);
	T_EQ(ct_limits_count(l, 1, &t), 1);
	ct_limits_free(l, NULL);
	return 0;
}

/*
 * A hint worked out by ct_limits_prefetch() decides exactly as none: two
 * tables with the same rules and seed take the same random admissions and
 * releases, one with hints and one without, and agree on every verdict,
 * refused rule and count.
 */
static int
test_hint_same(void)
{
	struct ct_limit_rule rs[3] = {
		rule("10.0.0.0/8", 32, -1, 3),
		rule("2001:db8::/32", 64, -1, 2),
		rule(NULL, 0, 7, 20),
	};
	struct ct_limits *a, *b;
	struct ct_tuple live[64];
	unsigned n_live = 0, i, k;
	uint64_t x = 12345;
	char err[128], src[64];

	a = ct_limits_create(rs, 3, 256, 9, NULL, err, sizeof(err));
	b = ct_limits_create(rs, 3, 256, 9, NULL, err, sizeof(err));
	T_ASSERT(a != NULL && b != NULL);
	for (i = 0; i < 20000; i++) {
		struct ct_lim_hint h;
		struct ct_tuple t;
		unsigned ra = 99, rb = 99;
		enum ct_limit_verdict va, vb;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if (n_live != 0 && ((x >> 60) < 7 || n_live == 64)) {
			k = (unsigned)(x >> 33) % n_live;
			t = live[k];
			live[k] = live[--n_live];
			ct_limits_prefetch(a, &t, &h);
			ct_limits_release(a, &t, &h);
			ct_limits_release(b, &t, NULL);
			for (k = 0; k < 3; k++)
				T_EQ(ct_limits_count(a, k, &t), ct_limits_count(b, k, &t));
			continue;
		}
		if ((x >> 40) & 1)
			snprintf(src, sizeof(src), "10.0.0.%u", (unsigned)(x >> 41) % 6);
		else
			snprintf(src, sizeof(src), "2001:db8:0:%x::1", (unsigned)(x >> 41) % 6);
		t = tup(src, (x >> 50) & 1 ? 7 : 0, (uint16_t)(x >> 20));
		ct_limits_prefetch(a, &t, &h);
		va = ct_limits_admit(a, &t, &h, &ra);
		vb = ct_limits_admit(b, &t, NULL, &rb);
		T_EQ(va, vb);
		if (va == CT_LIM_OVER)
			T_EQ(ra, rb);
		if (va == CT_LIM_COUNTED)
			live[n_live++] = t;
		for (k = 0; k < 3; k++)
			T_EQ(ct_limits_count(a, k, &t), ct_limits_count(b, k, &t));
	}
	T_EQ(ct_limits_keys_used(a), ct_limits_keys_used(b));
	ct_limits_free(a, NULL);
	ct_limits_free(b, NULL);
	return 0;
}

/* Refused at creation, each with its message. */
static int
test_bad_rules(void)
{
	static const struct {
		struct ct_limit_rule r;
		const char *msg;
	} rows[] = {
		{{.family = 4, .prefix_len = 8, .group_len = 32, .max = 0}, "max must be >= 1"},
		{{.family = 5, .max = 1}, "family 5 is not 4 or 6"},
		{{.family = 4, .prefix_len = 33, .group_len = 33, .max = 1}, "need prefix 33"},
		{{.family = 4, .prefix_len = 24, .group_len = 16, .max = 1}, "need prefix 24"},
		{{.addr = {10, 0, 0, 1}, .family = 4, .prefix_len = 8, .group_len = 32, .max = 1},
		 "bits beyond /8"},
		{{.family = 4, .prefix_len = 8, .group_len = 32, .max = CT_LIMIT_SRC_MAX + 1},
		 "over 16777215"},
	};
	unsigned i;
	char err[128];

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		err[0] = '\0';
		T_ASSERT(ct_limits_create(&rows[i].r, 1, 16, 1, NULL, err, sizeof(err)) == NULL);
		if (strstr(err, rows[i].msg) == NULL)
			T_FAIL_("row %u: \"%s\" lacks \"%s\"", i, err, rows[i].msg);
	}
	T_ASSERT(ct_limits_create(&rows[0].r, 0, 16, 1, NULL, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "0 limit rules") != NULL);
	return 0;
}

/*
 * The widest counts: a source count goes up to CT_LIMIT_SRC_MAX, its 24
 * bits, and no further (its tag untouched: released, it goes back to 0
 * and its slot empties); a zone rule's count, kept apart, past 2^24.
 */
static int
test_count_width(void)
{
	struct ct_limit_rule r[2] = {
		rule("10.0.0.0/8", 32, -1, CT_LIMIT_SRC_MAX),
		rule(NULL, 0, 7, CT_LIMIT_SRC_MAX + 2),
	};
	struct ct_limits *l = ct_limits_create(r, 2, 16, 5, NULL, NULL, 0);
	struct ct_tuple a = tup("10.1.2.3", 0, 1), b = tup("10.1.2.4", 0, 1);
	struct ct_tuple z = tup("192.0.2.9", 7, 1);
	unsigned rule_at = 99;
	uint32_t i;

	T_ASSERT(l != NULL);
	for (i = 0; i < CT_LIMIT_SRC_MAX; i++)
		if (ct_limits_admit(l, &a, NULL, NULL) != CT_LIM_COUNTED)
			T_FAIL_("admission %u of a source not counted", i);
	T_EQ(ct_limits_count(l, 0, &a), CT_LIMIT_SRC_MAX);
	T_EQ(ct_limits_admit(l, &a, NULL, &rule_at), CT_LIM_OVER);
	T_EQ(rule_at, 0);
	T_EQ(ct_limits_count(l, 0, &b), 0);
	T_EQ(ct_limits_admit(l, &b, NULL, NULL), CT_LIM_COUNTED);
	T_EQ(ct_limits_count(l, 0, &b), 1);
	for (i = 0; i < CT_LIMIT_SRC_MAX; i++)
		ct_limits_release(l, &a, NULL);
	T_EQ(ct_limits_count(l, 0, &a), 0);
	T_EQ(ct_limits_keys_used(l), 1);
	for (i = 0; i < CT_LIMIT_SRC_MAX + 2; i++)
		if (ct_limits_admit(l, &z, NULL, NULL) != CT_LIM_COUNTED)
			T_FAIL_("admission %u of a zone not counted", i);
	T_EQ(ct_limits_count(l, 1, &z), CT_LIMIT_SRC_MAX + 2);
	T_EQ(ct_limits_admit(l, &z, NULL, &rule_at), CT_LIM_OVER);
	T_EQ(rule_at, 1);
	/* A zone count holds no slot. */
	T_EQ(ct_limits_keys_used(l), 1);
	ct_limits_free(l, NULL);
	return 0;
}

/*
 * Many keys in a small table, released in another order: every count stays
 * right through backward-shift deletion, and the table ends empty. A full
 * table admits without counting.
 */
static int
test_delete_and_room(void)
{
	struct ct_limit_rule r = rule("10.0.0.0/8", 32, -1, 2);
	struct ct_limits *l = ct_limits_create(&r, 1, 64, 3, NULL, NULL, 0);
	struct ct_tuple t;
	char a[32];
	unsigned i, k;

	T_ASSERT(l != NULL);
	for (i = 0; i < 64; i++) {
		snprintf(a, sizeof(a), "10.0.%u.%u", i / 7, i * 13 % 251);
		for (k = 0; k < 2; k++) {
			t = tup(a, 0, (uint16_t)k);
			T_EQ(ct_limits_admit(l, &t, NULL, NULL), CT_LIM_COUNTED);
		}
	}
	T_EQ(ct_limits_keys_used(l), 64);
	t = tup("10.200.0.1", 0, 1);
	T_EQ(ct_limits_admit(l, &t, NULL, NULL), CT_LIM_NOROOM);
	for (i = 0; i < 64; i += 2) {
		snprintf(a, sizeof(a), "10.0.%u.%u", i / 7, i * 13 % 251);
		t = tup(a, 0, 0);
		ct_limits_release(l, &t, NULL);
		ct_limits_release(l, &t, NULL);
	}
	T_EQ(ct_limits_keys_used(l), 32);
	for (i = 0; i < 64; i++) {
		snprintf(a, sizeof(a), "10.0.%u.%u", i / 7, i * 13 % 251);
		t = tup(a, 0, 0);
		T_EQ(ct_limits_count(l, 0, &t), i % 2 ? 2 : 0);
	}
	for (i = 1; i < 64; i += 2) {
		snprintf(a, sizeof(a), "10.0.%u.%u", i / 7, i * 13 % 251);
		t = tup(a, 0, 0);
		ct_limits_release(l, &t, NULL);
		ct_limits_release(l, &t, NULL);
	}
	T_EQ(ct_limits_keys_used(l), 0);
	ct_limits_free(l, NULL);
	return 0;
}

/*
 * The sketch: a heavy source among many light ones is the first
 * candidate, its estimate within Count-Min's bound, never below the
 * truth; removing the entries takes it out after a refresh.
 */
static int
test_sketch_heavy(void)
{
	static struct ct_top t;
	const struct ct_top *one[1] = {&t};
	struct ct_top_item it[CT_TOP_CAND];
	struct ct_tuple heavy = tup("203.0.113.7", 2, 0), x;
	char a[32];
	unsigned i, n;

	ct_top_init(&t, 99);
	for (i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		x = tup(a, 2, 1);
		ct_top_add(&t, &x);
		if (i % 5 == 0) {
			heavy.sport = (uint16_t)i;
			ct_top_add(&t, &heavy);
		}
	}
	n = ct_top_merge(one, 1, CT_TOP_SRC, -1, it, CT_TOP_CAND);
	T_ASSERT(n >= 1);
	T_MEMEQ(it[0].key.addr, heavy.src, 16);
	T_EQ(it[0].key.zone, 2);
	T_ASSERT(it[0].est >= 1000);
	/* e / 2048 of 6000 entries: at most 8 over. */
	T_ASSERT(it[0].est <= 1000 + 8);
	/* Every entry has the same destination: it leads that dimension with all. */
	n = ct_top_merge(one, 1, CT_TOP_DST, -1, it, CT_TOP_CAND);
	T_ASSERT(n >= 1);
	T_EQ(it[0].est, 6000);
	/* Another zone filters everything out. */
	T_EQ(ct_top_merge(one, 1, CT_TOP_SRC, 3, it, CT_TOP_CAND), 0);
	for (i = 0; i < 5000; i += 5) {
		heavy.sport = (uint16_t)i;
		ct_top_sub(&t, &heavy);
	}
	ct_top_refresh(&t);
	n = ct_top_merge(one, 1, CT_TOP_SRC, -1, it, CT_TOP_CAND);
	for (i = 0; i < n; i++)
		T_ASSERT(memcmp(it[i].key.addr, heavy.src, 16) != 0 || it[i].est <= 8);
	T_EQ(t.total, 5000);
	return 0;
}

/* Sketches add up: a source spread over 4 shards is estimated from all of them. */
static int
test_sketch_merge(void)
{
	static struct ct_top t[4];
	const struct ct_top *p[4] = {&t[0], &t[1], &t[2], &t[3]};
	struct ct_top_item it[4 * CT_TOP_CAND];
	struct ct_tuple h = tup("2001:db8::99", 0, 0), x;
	char a[48];
	unsigned i, n;

	for (i = 0; i < 4; i++)
		ct_top_init(&t[i], 5);
	for (i = 0; i < 4000; i++) {
		snprintf(a, sizeof(a), "2001:db8:1::%x", i);
		x = tup(a, 0, 1);
		ct_top_add(&t[i % 4], &x);
		h.sport = (uint16_t)i;
		if (i % 2 == 0)
			ct_top_add(&t[i % 4], &h);
	}
	for (i = 0; i < 4; i++)
		ct_top_refresh(&t[i]);
	n = ct_top_merge(p, 4, CT_TOP_SRC, 0, it, 4 * CT_TOP_CAND);
	T_ASSERT(n >= 1);
	T_MEMEQ(it[0].key.addr, h.src, 16);
	T_ASSERT(it[0].est >= 2000 && it[0].est <= 2000 + 8);
	/* Sketches under different keys do not merge. */
	t[3].seed = 6;
	T_EQ(ct_top_merge(p, 4, CT_TOP_SRC, 0, it, 4 * CT_TOP_CAND), 0);
	return 0;
}

static void
tw_limits(struct ct_conf *c)
{
	c->early_drop = false;
	c->fill_alarm_high_pct = 0;
	c->n_limits = 2;
	c->limits[0] = rule("10.0.0.0/8", 32, -1, 4);
	c->limits[1] = rule(NULL, 0, 5, 2);
	c->top = true;
	c->top_seed = 11;
}

/*
 * In a shard: the fifth connection of a source is dropped and counted
 * against rule 0, the zone rule against rule 1; once entries expire the
 * source may connect again; the published sketch names the source.
 */
static int
test_shard_limits(void)
{
	struct ct_shard *s = mkshard(64, 0, tw_limits);
	static struct ct_top pub;
	const struct ct_top *one_top[1] = {&pub};
	struct ct_top_item it[CT_TOP_CAND];
	struct ct_stats st;
	struct ct_pkt p;
	unsigned i;

	T_ASSERT(s != NULL);
	for (i = 0; i < 4; i++)
		T_EQ(one(s, mk(17, 0x0101000a, 0x010200c0, (uint16_t)(1000 + i), 53, 0), T0),
		     CT_V_PASS);
	T_EQ(one(s, mk(17, 0x0101000a, 0x010200c0, 2000, 53, 0), T0), CT_V_DROP);
	/* An existing flow of the source still passes; another source is free. */
	T_EQ(one(s, mk(17, 0x0101000a, 0x010200c0, 1001, 53, 0), T0), CT_V_PASS);
	T_EQ(one(s, mk(17, 0x0201000a, 0x010200c0, 1000, 53, 0), T0), CT_V_PASS);
	for (i = 0; i < 3; i++) {
		p = mk(17, 0x010000c6 + (i << 24), 0x010200c0, 7, 53, 0);
		p.tuple.zone = 5;
		p.hash = ct_tuple_hash(&p.tuple);
		T_EQ(one(s, p, T0), i < 2 ? CT_V_PASS : CT_V_DROP);
	}
	ct_shard_stats(s, &st);
	T_EQ(st.limit_drop, 2);
	T_EQ(st.limit_drop_by_rule[0], 1);
	T_EQ(st.limit_drop_by_rule[1], 1);
	T_EQ(st.drop, 2);
	T_EQ(st.count, 7);
	p = mk(17, 0x0101000a, 0x010200c0, 1000, 53, 0);
	T_EQ(ct_shard_limit_count(s, 0, &p.tuple), 4);
	T_EQ(ct_shard_top_publish(s, &pub), 0);
	T_EQ(ct_top_merge(one_top, 1, CT_TOP_SRC, 0, it, CT_TOP_CAND) >= 1, 1);
	T_MEMEQ(it[0].key.addr, p.tuple.src, 4);
	T_EQ(it[0].est, 4);
	/* UDP unreplied: 30 s. After it every count is back to 0. */
	ct_shard_expire(s, T0 + 40 * SEC, 1000);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 0);
	T_EQ(ct_shard_limit_count(s, 0, &p.tuple), 0);
	T_EQ(one(s, mk(17, 0x0101000a, 0x010200c0, 3000, 53, 0), T0 + 41 * SEC), CT_V_PASS);
	T_EQ(ct_shard_top_publish(s, &pub), 0);
	T_EQ(pub.total, 1);
	ct_shard_free(s);
	/* Without a sketch there is nothing to publish. */
	s = mkshard(64, 0, tw_no_early);
	T_EQ(ct_shard_top_publish(s, &pub), -ENOENT);
	ct_shard_free(s);
	return 0;
}

/* Whether the DESTROY record of `slot` among `r` is from source `src` (4 bytes). */
static int
recs_src_is(const struct ct_event_rec *r, unsigned n, uint32_t slot, const uint8_t *src)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if ((r[i].events & CT_EV_DESTROY) && r[i].slot == slot)
			return memcmp(r[i].orig.src, src, 4) == 0;
	return 0;
}

/*
 * With events on, counts come back when the DESTROY is acknowledged:
 * ct_shard_apply_results() on a batch (the counts read ahead) gives back
 * exactly what each entry took, and a stale result in the batch gives
 * back nothing.
 */
static int
test_batch_results(void)
{
	struct ct_shard *s = mkshard(256, 1, tw_limits);
	static struct ct_event_rec recs[512];
	struct ct_result res[64];
	struct ct_stats st;
	struct ct_pkt p;
	unsigned n, i, k = 0, stale = 0;

	T_ASSERT(s != NULL);
	for (i = 0; i < 40; i++)
		T_EQ(one(s, mk(17, 0x0001000a + ((i % 10) << 24), 0x010200c0,
			       (uint16_t)(1000 + i), 53, 0), T0), CT_V_PASS);
	p = mk(17, 0x0001000a, 0x010200c0, 1000, 53, 0);
	T_EQ(ct_shard_limit_count(s, 0, &p.tuple), 4);
	(void)drain(s, recs, 512, T0);
	T_EQ(ct_shard_flush(s, T0, 0), 40);
	n = drain(s, recs, 512, T0);
	for (i = 0; i < n && k < 64; i++) {
		if (!(recs[i].events & CT_EV_DESTROY))
			continue;
		res[k] = (struct ct_result){ .slot = recs[i].slot, .id = recs[i].id,
					     .events = recs[i].events,
					     .kind = CT_RES_DESTROY_ACK };
		/* Every fifth one stale: another id. */
		if (k % 5 == 4) {
			res[k].id ^= 0x40000000u;
			stale++;
		}
		k++;
	}
	T_EQ(k, 40);
	T_EQ(ct_shard_apply_results(s, res, k, T0), 40 - stale);
	ct_shard_stats(s, &st);
	T_EQ(st.dying, stale);
	/* Each source held 4; a stale result kept its entry and its count. */
	for (i = 0; i < 10; i++) {
		unsigned held = 0, j;

		p = mk(17, 0x0001000a + (i << 24), 0x010200c0, 1000, 53, 0);
		for (j = 0; j < k; j++)
			if (j % 5 == 4 && recs_src_is(recs, n, res[j].slot, p.tuple.src))
				held++;
		T_EQ(ct_shard_limit_count(s, 0, &p.tuple), held);
	}
	ct_shard_free(s);
	return 0;
}

/*
 * Entries a failover peer hands over are counted while their source is
 * under its limit and kept without a count beyond it (never refused);
 * ending them gives back exactly what they took.
 */
static int
test_import_counts(void)
{
	struct ct_shard *s = mkshard(64, 0, tw_limits);
	struct ct_event_rec r;
	struct ct_stats st;
	struct ct_pkt p;
	unsigned i;

	T_ASSERT(s != NULL);
	for (i = 0; i < 6; i++) {
		memset(&r, 0, sizeof(r));
		p = mk(17, 0x0101000a, 0x010200c0, (uint16_t)(4000 + i), 53, 0);
		r.orig = p.tuple;
		ct_tuple_reverse(&r.reply, &p.tuple);
		r.status = CT_S_CONFIRMED | CT_S_SEEN_REPLY;
		T_EQ(ct_shard_import(s, &r, T0), 0);
	}
	ct_shard_stats(s, &st);
	T_EQ(st.count, 6);
	T_EQ(st.limit_drop, 0);
	T_EQ(ct_shard_limit_count(s, 0, &p.tuple), 4);
	/* The source is at its limit: a new connection of its own is refused. */
	T_EQ(one(s, mk(17, 0x0101000a, 0x010200c0, 5000, 53, 0), T0), CT_V_DROP);
	/* The two kept without a count give back nothing when they end. */
	for (i = 4; i < 6; i++) {
		p = mk(17, 0x0101000a, 0x010200c0, (uint16_t)(4000 + i), 53, 0);
		T_EQ(ct_shard_delete(s, &p.tuple, T0), 0);
		T_EQ(ct_shard_limit_count(s, 0, &p.tuple), 4);
	}
	p = mk(17, 0x0101000a, 0x010200c0, 4000, 53, 0);
	T_EQ(ct_shard_delete(s, &p.tuple, T0), 0);
	T_EQ(ct_shard_limit_count(s, 0, &p.tuple), 3);
	ct_shard_expire(s, T0 + 3600 * SEC, 1000);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 0);
	T_EQ(ct_shard_limit_count(s, 0, &p.tuple), 0);
	T_EQ(one(s, mk(17, 0x0101000a, 0x010200c0, 5000, 53, 0), T0 + 3601 * SEC), CT_V_PASS);
	ct_shard_free(s);
	return 0;
}

static void
tw_one_key(struct ct_conf *c)
{
	tw_limits(c);
	c->n_limits = 1;
	c->limit_keys = 1;
}

/*
 * A connection admitted without a count (the counting table full) gives
 * back nothing when it ends, even once its source holds a count again.
 */
static int
test_uncounted_release(void)
{
	struct ct_shard *s = mkshard(64, 0, tw_one_key);
	struct ct_pkt a = mk(17, 0x0101000a, 0x010200c0, 1000, 53, 0);
	struct ct_pkt b1 = mk(17, 0x0201000a, 0x010200c0, 1000, 53, 0);
	struct ct_pkt b2 = mk(17, 0x0201000a, 0x010200c0, 1001, 53, 0);
	struct ct_stats st;

	T_ASSERT(s != NULL);
	T_EQ(one(s, a, T0), CT_V_PASS);
	T_EQ(one(s, b1, T0), CT_V_PASS);
	ct_shard_stats(s, &st);
	T_EQ(st.limit_uncounted, 1);
	T_EQ(ct_shard_limit_count(s, 0, &b1.tuple), 0);
	T_EQ(ct_shard_delete(s, &a.tuple, T0), 0);
	T_EQ(one(s, b2, T0), CT_V_PASS);
	T_EQ(ct_shard_limit_count(s, 0, &b2.tuple), 1);
	T_EQ(ct_shard_delete(s, &b1.tuple, T0), 0);
	T_EQ(ct_shard_limit_count(s, 0, &b2.tuple), 1);
	T_EQ(ct_shard_delete(s, &b2.tuple, T0), 0);
	T_EQ(ct_shard_limit_count(s, 0, &b2.tuple), 0);
	/* The table has its key back: a new source is counted. */
	T_EQ(one(s, a, T0), CT_V_PASS);
	T_EQ(ct_shard_limit_count(s, 0, &a.tuple), 1);
	ct_shard_stats(s, &st);
	T_EQ(st.limit_uncounted, 1);
	ct_shard_free(s);
	return 0;
}

/* Counting with hashes worked out ahead (ct_top_hashes()) gives the same sketch. */
static int
test_sketch_hashed(void)
{
	static struct ct_top a, b;
	struct ct_tuple t;
	struct ct_top_cols c;
	unsigned i;

	ct_top_init(&a, 5);
	ct_top_init(&b, 5);
	for (i = 0; i < 3000; i++) {
		char src[64];

		snprintf(src, sizeof(src), i % 3 ? "10.%u.%u.9" : "2001:db8:%x::%x", i % 7,
			 i % 211);
		t = tup(src, (uint16_t)(i % 4), (uint16_t)i);
		ct_top_add(&a, &t);
		ct_top_hashes(&b, &t, &c);
		ct_top_add_hashed(&b, &t, &c);
		if (i % 5 == 0) {
			ct_top_sub(&a, &t);
			ct_top_hashes(&b, &t, &c);
			ct_top_sub_hashed(&b, &c);
		}
	}
	T_EQ(memcmp(&a, &b, sizeof(a)), 0);
	T_EQ(a.total, 2400);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_uncounted_release),
	T_CASE(test_sketch_hashed),
	T_CASE(test_admit_table),
	T_CASE(test_rule_order),
	T_CASE(test_hint_same),
	T_CASE(test_bad_rules),
	T_CASE(test_count_width),
	T_CASE(test_delete_and_room),
	T_CASE(test_sketch_heavy),
	T_CASE(test_sketch_merge),
	T_CASE(test_shard_limits),
	T_CASE(test_import_counts),
	T_CASE(test_batch_results),
};

T_MAIN(cases)
