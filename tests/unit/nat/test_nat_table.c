/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/nat tables: every refusal of nat_table_build() with its message, a
 * valid table's accessors, and nat_table_adopt(): unchanged pools share
 * their state (live bindings stay held, are released into the same
 * bitmaps, counters go on), and a reload that would orphan live bindings
 * is refused with -EBUSY; the pools a reload drops or changes close to new
 * bindings while it is checked (nat_table_close_unadopted()), and reopen.
 */

#include <errno.h>

#include "dpct_test.h"
#include "nat_test_util.h"

#define POOL_LO ip4(198, 51, 100, 0)
#define POOL_HI ip4(198, 51, 100, 15)

struct setup {
	struct nat_pool pools[4];
	struct nat_rule rules[4];
	unsigned n_pools, n_rules, n_workers;
};

/* One pool "public" (198.51.100.0/28, 1024-65535), one snat rule "out" from 10/8, 4 workers. */
static void
base(struct setup *s)
{
	memset(s, 0, sizeof(*s));
	s->pools[0] = tf_pool("public", POOL_LO, POOL_HI, 1024, 65535);
	s->rules[0] = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	s->n_pools = 1;
	s->n_rules = 1;
	s->n_workers = 4;
}

static void m_no_name(struct setup *s) { s->pools[0].name[0] = '\0'; }
static void m_addr_order(struct setup *s) { s->pools[0].addr_lo = POOL_HI; s->pools[0].addr_hi = POOL_LO; }
static void m_too_many_addrs(struct setup *s) { s->pools[0].addr_lo = ip4(100, 64, 0, 0); s->pools[0].addr_hi = ip4(100, 64, 16, 0); }
static void m_port0(struct setup *s) { s->pools[0].port_lo = 0; }
static void m_port_order(struct setup *s) { s->pools[0].port_lo = 90; s->pools[0].port_hi = 80; }
static void m_workers5(struct setup *s) { s->n_workers = 5; }
static void m_workers0(struct setup *s) { s->n_workers = 0; }
static void m_workers65(struct setup *s) { s->n_workers = 65; }
static void m_mode(struct setup *s) { s->pools[0].mode = 7; }
static void
m_block_divide(struct setup *s)
{
	s->pools[0].mode = NAT_MODE_BLOCK;
	s->pools[0].block_size = 512;   /* 16128 ports a worker: 31.5 blocks */
	s->pools[0].blocks_per_addr_max = 1;
}
static void
m_block_size0(struct setup *s)
{
	m_block_divide(s);
	s->pools[0].block_size = 0;
}
static void
m_block_per_addr(struct setup *s)
{
	m_block_divide(s);
	s->pools[0].block_size = 64;
	s->pools[0].blocks_per_addr_max = 17;
}
static void
m_block_count(struct setup *s)
{
	m_block_divide(s);
	s->pools[0].addr_hi = POOL_LO + 31;
	s->pools[0].block_size = 1;
	s->n_workers = 1;
}
static void
m_dup_name(struct setup *s)
{
	s->pools[1] = tf_pool("public", ip4(203, 0, 113, 1), ip4(203, 0, 113, 1), 1024, 65535);
	s->n_pools = 2;
}
static void
m_pool_overlap(struct setup *s)
{
	s->pools[1] = tf_pool("other", ip4(198, 51, 100, 15), ip4(198, 51, 100, 20), 1024, 65535);
	s->n_pools = 2;
}
static void m_no_pool(struct setup *s) { s->rules[0].pool = 3; }
static void m_kind(struct setup *s) { s->rules[0].kind = 9; }
static void m_plen(struct setup *s) { s->rules[0].src_len = 33; }
static void m_host_bits(struct setup *s) { s->rules[0].src = ip4(10, 0, 0, 1); }
static void m_dport_order(struct setup *s) { s->rules[0].dport_lo = 100; s->rules[0].dport_hi = 99; }
static void m_src_covers(struct setup *s) { s->rules[0].src = ip4(198, 51, 0, 0); s->rules[0].src_len = 16; }
static void
m_unnamed(struct setup *s)
{
	s->rules[1] = tf_snat("", ip4(10, 0, 0, 0), 8, 0);
	s->rules[1].pool = 2;
	s->n_rules = 2;
}
static void
m_dnat_len(struct setup *s)
{
	s->rules[1] = tf_dnat("web", 6, ip4(198, 51, 100, 32), 80, 80, ip4(10, 0, 0, 5), 8080);
	s->rules[1].dst_len = 24;
	s->rules[1].dst = ip4(198, 51, 100, 0);
	s->n_rules = 2;
}
static void
m_dnat_proto(struct setup *s)
{
	s->rules[1] = tf_dnat("web", 1, ip4(198, 51, 100, 32), 80, 80, ip4(10, 0, 0, 5), 8080);
	s->n_rules = 2;
}
static void
m_dnat_past(struct setup *s)
{
	s->rules[1] = tf_dnat("web", 6, ip4(198, 51, 100, 32), 80, 90, ip4(10, 0, 0, 5), 65530);
	s->n_rules = 2;
}
static void
m_dnat_public_twice(struct setup *s)
{
	s->rules[1] = tf_dnat("web", 6, ip4(198, 51, 100, 32), 80, 90, ip4(10, 0, 0, 5), 8080);
	s->rules[2] = tf_dnat("web2", 6, ip4(198, 51, 100, 32), 90, 90, ip4(10, 0, 0, 6), 80);
	s->n_rules = 3;
}
static void
m_dnat_inside_twice(struct setup *s)
{
	s->rules[1] = tf_dnat("web", 6, ip4(198, 51, 100, 32), 80, 80, ip4(10, 0, 0, 5), 8080);
	s->rules[2] = tf_dnat("web2", 6, ip4(198, 51, 100, 33), 8000, 8100, ip4(10, 0, 0, 5), 8000);
	s->n_rules = 3;
}
static void
m_dnat_to_pool(struct setup *s)
{
	s->rules[1] = tf_dnat("loop", 17, ip4(198, 51, 100, 32), 53, 53, POOL_LO + 3, 53);
	s->n_rules = 2;
}

struct build_case {
	const char *name;
	void (*mutate)(struct setup *s);
	const char *msg;   /* the whole message, or NULL: it builds */
};

static const struct build_case build_cases[] = {
	{ "pool without a name", m_no_name, "pool 0: needs a name of 1..31 characters" },
	{ "addresses backwards", m_addr_order,
	  "pool \"public\": address range 198.51.100.15-198.51.100.0 is empty (first > last)" },
	{ "more than a /20", m_too_many_addrs,
	  "pool \"public\": 4097 addresses, at most 4096 (a /20)" },
	{ "port 0", m_port0, "pool \"public\": port range 0-65535 needs 1 <= lo <= hi <= 65535" },
	{ "ports backwards", m_port_order,
	  "pool \"public\": port range 90-80 needs 1 <= lo <= hi <= 65535" },
	{ "ports do not divide", m_workers5,
	  "pool \"public\": port range 1024-65535 (64512 ports) does not divide among 5 workers" },
	{ "no workers", m_workers0, "0 workers: NAT needs 1..64" },
	{ "too many workers", m_workers65, "65 workers: NAT needs 1..64" },
	{ "unknown mode", m_mode, "pool \"public\": unknown mode 7" },
	{ "block size does not divide", m_block_divide,
	  "pool \"public\": block_size 512 does not divide a worker's 16128 ports "
	  "(port range 1024-65535 among 4 workers)" },
	{ "block size 0", m_block_size0, "pool \"public\": block_size 0 needs 1..32768" },
	{ "blocks per address", m_block_per_addr,
	  "pool \"public\": blocks_per_address 17 needs 1..16" },
	{ "too many blocks", m_block_count,
	  "pool \"public\": 2064384 blocks of 1 ports, at most 1048576: use a larger block_size" },
	{ "pool name twice", m_dup_name, "pool \"public\": the name is used twice" },
	{ "pools overlap", m_pool_overlap, "pool \"other\": shares addresses with pool \"public\"" },
	{ "snat without pool", m_no_pool, "rule \"out\": snat names no pool (index 3 of 1)" },
	{ "unknown action", m_kind, "rule \"out\": unknown action 9" },
	{ "prefix too long", m_plen, "rule \"out\": prefix length 33 is past 32" },
	{ "host bits", m_host_bits, "rule \"out\": source prefix has host bits set" },
	{ "dport backwards", m_dport_order, "rule \"out\": destination ports 100-99 need lo <= hi" },
	{ "source covers the pool", m_src_covers,
	  "rule \"out\": source 198.51.0.0/16 covers an address of pool \"public\" "
	  "(a translated packet would match again)" },
	{ "unnamed rule by index", m_unnamed, "rule 1: snat names no pool (index 2 of 1)" },
	{ "dnat to a prefix", m_dnat_len,
	  "rule \"web\": dnat needs a single public address (dst /32), not /24" },
	{ "dnat icmp", m_dnat_proto, "rule \"web\": dnat needs protocol tcp, udp or udplite, not 1" },
	{ "dnat past 65535", m_dnat_past,
	  "rule \"web\": ports 80-90 mapped to 65530 end past 65535 (at 65540)" },
	{ "dnat public twice", m_dnat_public_twice,
	  "rule \"web2\": tcp 198.51.100.32 ports 90-90 overlap those of rule \"web\"" },
	{ "dnat inside twice", m_dnat_inside_twice,
	  "rule \"web2\": inside tcp 10.0.0.5 ports 8000-8100 overlap those of rule \"web\" "
	  "(replies could not be told apart)" },
	{ "dnat into the pool", m_dnat_to_pool,
	  "rule \"loop\": inside address 198.51.100.3 is an address of pool \"public\" "
	  "(a translated packet would match again)" },
	{ "base builds", NULL, NULL },
};

static int
test_build_refusals(void)
{
	size_t i;

	for (i = 0; i < sizeof(build_cases) / sizeof(build_cases[0]); i++) {
		const struct build_case *c = &build_cases[i];
		struct setup s;
		struct nat_table *t;
		char err[256] = "untouched";

		base(&s);
		if (c->mutate != NULL)
			c->mutate(&s);
		t = nat_table_build(s.pools, s.n_pools, s.rules, s.n_rules, s.n_workers, err,
				    sizeof(err));
		if (c->msg == NULL) {
			if (t == NULL)
				T_FAIL_("%s: refused: %s", c->name, err);
			nat_table_free(t);
			continue;
		}
		if (t != NULL) {
			nat_table_free(t);
			T_FAIL_("%s: built", c->name);
		}
		if (strcmp(err, c->msg) != 0)
			T_FAIL_("%s:\n#   got  %s\n#   want %s", c->name, err, c->msg);
	}
	return 0;
}

static int
test_build_limits(void)
{
	static struct nat_pool pools[NAT_MAX_POOLS + 1];
	static struct nat_rule rules[NAT_MAX_RULES + 1];
	struct nat_table *t;
	char err[256];
	unsigned i;

	for (i = 0; i <= NAT_MAX_POOLS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%u", i);
		pools[i] = tf_pool(name, ip4(100, 64, i, 0), ip4(100, 64, i, 0), 1024, 1087);
	}
	for (i = 0; i <= NAT_MAX_RULES; i++)
		nat_rule_init(&rules[i]);
	t = nat_table_build(pools, NAT_MAX_POOLS + 1, rules, 1, 1, err, sizeof(err));
	T_ASSERT(t == NULL);
	T_STREQ(err, "65 pools, at most 64");
	t = nat_table_build(pools, 1, rules, NAT_MAX_RULES + 1, 1, err, sizeof(err));
	T_ASSERT(t == NULL);
	T_STREQ(err, "1025 rules, at most 1024");
	/* At the limits it builds: 64 pools, 1024 rules, 64 workers. */
	t = nat_table_build(pools, NAT_MAX_POOLS, rules, NAT_MAX_RULES, NAT_MAX_WORKERS, err,
			    sizeof(err));
	if (t == NULL)
		T_FAIL_("refused: %s", err);
	T_EQ(nat_table_pools(t, NULL), NAT_MAX_POOLS);
	nat_table_free(t);
	return 0;
}

static int
test_accessors(void)
{
	struct setup s;
	struct nat_table *t;
	const struct nat_pool *p;
	const struct nat_rule *r;
	char err[256];

	base(&s);
	s.rules[1] = tf_dnat("web", 6, ip4(203, 0, 113, 20), 80, 80, ip4(10, 0, 0, 5), 8080);
	s.rules[2] = tf_dnat("web-udp", 17, ip4(203, 0, 113, 20), 80, 80, ip4(10, 0, 0, 5), 8080);
	s.n_rules = 3;
	t = nat_table_build(s.pools, s.n_pools, s.rules, s.n_rules, s.n_workers, err, sizeof(err));
	if (t == NULL)
		T_FAIL_("refused: %s", err);
	T_EQ(nat_table_pools(t, &p), 1);
	T_EQ(nat_table_rules(t, &r), 3);
	T_MEMEQ(p, s.pools, sizeof(*p));
	T_MEMEQ(r, s.rules, 3 * sizeof(*r));
	T_ASSERT(!nat_table_empty(t));
	nat_table_free(t);
	t = nat_table_build(s.pools, 1, NULL, 0, 4, err, sizeof(err));
	T_ASSERT(t != NULL);
	T_ASSERT(nat_table_empty(t));
	nat_table_free(t);
	T_ASSERT(nat_table_empty(NULL));
	nat_table_free(NULL);
	return 0;
}

/* A TCP SYN from 10.0.0.1:port to 192.0.2.1:80, parsed. */
static struct ct_pkt
syn(uint16_t sport)
{
	struct tf f;

	tf_tcp(&f, ip4(10, 0, 0, 1), ip4(192, 0, 2, 1), sport, 80, false);
	return tf_parse(&f);
}

static struct nat_table *
build(const struct setup *s)
{
	char err[256];
	struct nat_table *t = nat_table_build(s->pools, s->n_pools, s->rules, s->n_rules,
					      s->n_workers, err, sizeof(err));

	if (t == NULL)
		printf("# build: %s\n", err);
	return t;
}

static int
test_adopt_shares_state(void)
{
	struct setup s;
	struct nat_table *old, *nt;
	struct ct_tuple r1, r2;
	struct ct_pkt p = syn(40000);
	struct nat_stats st;
	uint16_t status = 0;
	char err[256];

	base(&s);
	/* The worker slice holding 40000 keeps the source port: use that worker. */
	old = build(&s);
	T_ASSERT(old != NULL);
	T_EQ(nat_bind(old, 2, &p, 0, NULL, NULL, &r1, &status), 1);
	T_EQ(r1.dport, 40000);
	/* A second pool and a changed rule: the pool "public" is unchanged. */
	s.pools[1] = tf_pool("more", ip4(203, 0, 113, 0), ip4(203, 0, 113, 3), 1024, 65535);
	s.n_pools = 2;
	s.rules[0].src_len = 16;
	nt = build(&s);
	T_ASSERT(nt != NULL);
	T_EQ(nat_table_adopt(nt, old, err, sizeof(err)), 0);
	nat_table_free(old);
	/* The binding is still held under the new table: the same flow gets another port. */
	status = 0;
	T_EQ(nat_bind(nt, 2, &p, 0, NULL, NULL, &r2, &status), 1);
	T_NE(r2.dport, 40000);
	nat_worker_stats(nt, 2, &st);
	T_EQ(st.ports_in_use, 2);
	T_EQ(st.bound, 2);   /* the counters went on */
	nat_release(nt, 2, &r1, status);
	nat_release(nt, 2, &r2, status);
	nat_worker_stats(nt, 2, &st);
	T_EQ(st.ports_in_use, 0);
	T_EQ(st.released, 2);
	T_EQ(st.release_orphan, 0);
	nat_table_free(nt);
	return 0;
}

struct adopt_case {
	const char *name;
	void (*mutate)(struct setup *s);
	const char *msg;   /* NULL: adopted */
};

static void a_remove(struct setup *s) { s->n_pools = 0; s->n_rules = 0; }
static void a_ports(struct setup *s) { s->pools[0].port_lo = 2048; }
static void a_rename(struct setup *s) { strcpy(s->pools[0].name, "public2"); }
static void a_workers(struct setup *s) { s->n_workers = 2; }
static void
a_block(struct setup *s)
{
	s->pools[0].mode = NAT_MODE_BLOCK;
	s->pools[0].block_size = 64;
	s->pools[0].blocks_per_addr_max = 1;
}
static void a_rules_only(struct setup *s) { s->rules[0].src = ip4(172, 16, 0, 0); s->rules[0].src_len = 12; }

static const struct adopt_case adopt_cases[] = {
	{ "pool removed", a_remove,
	  "pool \"public\" holds 1 live bindings and is missing from the new configuration" },
	{ "pool renamed", a_rename,
	  "pool \"public\" holds 1 live bindings and is missing from the new configuration" },
	{ "ports changed", a_ports,
	  "pool \"public\" holds 1 live bindings and the new configuration changes it "
	  "(addresses, ports, mode or blocks)" },
	{ "mode changed", a_block,
	  "pool \"public\" holds 1 live bindings and the new configuration changes it "
	  "(addresses, ports, mode or blocks)" },
	{ "workers changed", a_workers,
	  "pool \"public\" holds 1 live bindings: the worker count cannot change from 4 to 2 "
	  "under them" },
	{ "rules changed only", a_rules_only, NULL },
};

static int
test_adopt_refusals(void)
{
	size_t i;

	for (i = 0; i < sizeof(adopt_cases) / sizeof(adopt_cases[0]); i++) {
		const struct adopt_case *c = &adopt_cases[i];
		struct setup s;
		struct nat_table *old, *nt;
		struct ct_tuple r;
		struct ct_pkt p = syn(5000);
		uint16_t status = 0;
		char err[256];
		int rc;

		base(&s);
		old = build(&s);
		T_ASSERT(old != NULL);
		T_EQ(nat_bind(old, 0, &p, 0, NULL, NULL, &r, &status), 1);
		c->mutate(&s);
		nt = build(&s);
		T_ASSERT(nt != NULL);
		rc = nat_table_adopt(nt, old, err, sizeof(err));
		if (c->msg == NULL) {
			if (rc != 0)
				T_FAIL_("%s: refused: %s", c->name, err);
		} else {
			if (rc != -EBUSY)
				T_FAIL_("%s: rc %d", c->name, rc);
			if (strcmp(err, c->msg) != 0)
				T_FAIL_("%s:\n#   got  %s\n#   want %s", c->name, err, c->msg);
		}
		nat_table_free(nt);
		/* Once released, the same change is accepted. */
		nat_release(old, 0, &r, status);
		nt = build(&s);
		T_ASSERT(nt != NULL);
		if (nat_table_adopt(nt, old, err, sizeof(err)) != 0)
			T_FAIL_("%s after release: %s", c->name, err);
		nat_table_free(old);
		nat_table_free(nt);
	}
	return 0;
}

/* Counters never go backwards over a reload, not even when the pool that counted them goes. */
static int
test_adopt_counters_go_on(void)
{
	struct setup s;
	struct nat_table *old, *nt;
	struct ct_pkt p = syn(5000);
	struct nat_stats st;
	struct ct_tuple r;
	uint16_t status = 0;
	char err[256];

	base(&s);
	old = build(&s);
	T_ASSERT(old != NULL);
	T_EQ(nat_bind(old, 0, &p, 0, NULL, NULL, &r, &status), 1);
	nat_release(old, 0, &r, status);
	s.pools[0] = tf_pool("other", ip4(203, 0, 113, 0), ip4(203, 0, 113, 3), 1024, 65535);
	nt = build(&s);
	T_ASSERT(nt != NULL);
	T_EQ(nat_table_adopt(nt, old, err, sizeof(err)), 0);
	nat_table_free(old);
	nat_worker_stats(nt, 0, &st);
	T_EQ(st.bound, 1);
	T_EQ(st.released, 1);
	T_EQ(st.ports_in_use, 0);
	/* The new pool's state is its own: the port is free there. */
	T_EQ(nat_bind(nt, 0, &p, 0, NULL, NULL, &r, &status), 1);
	T_EQ(r.dport, 5000);
	T_EQ(tf_r32(r.dst) >> 8, ip4(203, 0, 113, 0) >> 8);
	nat_table_free(nt);
	return 0;
}

/*
 * A reload that drops "public" and changes nothing else: closing leaves the
 * kept pool open and closes "public" (its rule's connections refused,
 * counted in `closed`, its releases go on); reopening binds again.
 */
static int
test_close_unadopted(void)
{
	struct setup s;
	struct nat_table *old, *nt;
	struct ct_pkt p = syn(5000), q = syn(5001), k;
	struct nat_stats st;
	struct ct_tuple r, r2;
	uint16_t status = 0;
	char err[256];

	base(&s);
	s.pools[1] = tf_pool("kept", ip4(203, 0, 113, 0), ip4(203, 0, 113, 3), 1024, 65535);
	s.rules[1] = tf_snat("kept", ip4(172, 16, 0, 0), 12, 1);
	s.n_pools = 2;
	s.n_rules = 2;
	old = build(&s);
	T_ASSERT(old != NULL);
	T_EQ(nat_bind(old, 0, &p, 0, NULL, NULL, &r, &status), 1);
	/* The new configuration: "kept" alone. */
	s.pools[0] = s.pools[1];
	s.rules[0] = tf_snat("kept", ip4(172, 16, 0, 0), 12, 0);
	s.n_pools = 1;
	s.n_rules = 1;
	nt = build(&s);
	T_ASSERT(nt != NULL);
	T_EQ(nat_table_close_unadopted(nt, old, true), 1);
	/* Closed: a new connection of "public" is refused; "kept" binds on. */
	T_EQ(nat_bind(old, 0, &q, 0, NULL, NULL, &r2, &status), NAT_ERR_CLOSED);
	k = p;
	k.tuple.src[0] = 172, k.tuple.src[1] = 16;
	k.hash = ct_tuple_hash(&k.tuple);
	status = 0;
	T_EQ(nat_bind(old, 0, &k, 0, NULL, NULL, &r2, &status), 1);
	nat_release(old, 0, &r2, status);
	nat_worker_stats(old, 0, &st);
	T_EQ(st.closed, 1);
	T_EQ(st.exhausted, 0);
	/* The live binding still refuses the reload; once released, it passes. */
	T_EQ(nat_table_adopt(nt, old, err, sizeof(err)), -EBUSY);
	nat_release(old, 0, &r, NAT_S_SRC_NAT | NAT_S_SRC_NAT_DONE | NAT_S_DST_NAT_DONE);
	T_EQ(nat_table_adopt(nt, old, err, sizeof(err)), 0);
	/* A refused reload reopens: "public" binds again. */
	T_EQ(nat_table_close_unadopted(nt, old, false), 1);
	status = 0;
	T_EQ(nat_bind(old, 0, &q, 0, NULL, NULL, &r2, &status), 1);
	/* The same table, or none: nothing to close. */
	T_EQ(nat_table_close_unadopted(old, old, true), 0);
	T_EQ(nat_table_close_unadopted(nt, NULL, true), 0);
	nat_table_free(nt);
	nat_table_free(old);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_close_unadopted),
	T_CASE(test_build_refusals),
	T_CASE(test_build_limits),
	T_CASE(test_accessors),
	T_CASE(test_adopt_shares_state),
	T_CASE(test_adopt_refusals),
	T_CASE(test_adopt_counters_go_on),
};

T_MAIN(cases)
