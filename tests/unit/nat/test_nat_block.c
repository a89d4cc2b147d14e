/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/nat port-block mode: an inside address gets a block on its first
 * connection (one alloc event), its later connections (any protocol) take
 * ports from its blocks, a further block when they are full (up to
 * blocks_per_addr_max), the block is released with its last binding (one
 * release event) and not given to anyone else before that event was
 * consumed; ownership by inside address; a reload with blocks still held
 * or release events pending is refused.
 */

#include <errno.h>

#include "dpct_test.h"
#include "nat_test_util.h"

#define POOL ip4(203, 0, 113, 1)
#define SERVER ip4(192, 0, 2, 1)

/* 1 address, ports 1024-2047 over 2 workers: 512 a worker, 4 blocks of 128 each. */
static struct nat_table *
build_block(unsigned workers, uint16_t block_size)
{
	struct nat_pool pool = tf_pool("cgnat", POOL, POOL, 1024, 2047);
	struct nat_rule rule = tf_snat("cgn", ip4(10, 0, 0, 0), 8, 0);
	char err[256];
	struct nat_table *t;

	pool.mode = NAT_MODE_BLOCK;
	pool.block_size = block_size;
	pool.blocks_per_addr_max = 2;
	t = nat_table_build(&pool, 1, &rule, 1, workers, err, sizeof(err));
	if (t == NULL)
		printf("# build: %s\n", err);
	return t;
}

static int
bind_tcp(struct nat_table *t, unsigned w, uint32_t inside, uint16_t sport, struct ct_tuple *r)
{
	uint16_t status = 0;
	struct ct_pkt p;
	struct tf f;
	int rc;

	tf_tcp(&f, inside, SERVER, sport, 80, false);
	p = tf_parse(&f);
	rc = nat_bind(t, w, &p, 0, NULL, NULL, r, &status);
	if (rc == 1 && status != (NAT_S_SRC_NAT | NAT_S_SRC_NAT_DONE | NAT_S_DST_NAT_DONE))
		return -1000;
	return rc;
}

static void
release(struct nat_table *t, unsigned w, const struct ct_tuple *r)
{
	nat_release(t, w, r, NAT_S_SRC_NAT | NAT_S_SRC_NAT_DONE | NAT_S_DST_NAT_DONE);
}

/* Hand on every pending block event of worker w. */
static void
drain(struct nat_table *t, unsigned w)
{
	struct nat_block_ev ev[16];
	unsigned n;

	while ((n = nat_block_events(t, w, ev, 16)) > 0)
		nat_block_events_done(t, w, n);
}

static int
check_ev(const struct nat_block_ev *ev, uint32_t inside, uint16_t port_in, bool released,
	 uint64_t when)
{
	T_EQ(ev->inside, inside);
	T_EQ(ev->outside, POOL);
	T_EQ((ev->port_lo - 1024) % 128, 0);
	T_EQ(ev->port_hi, ev->port_lo + 127);
	T_ASSERT(port_in >= ev->port_lo && port_in <= ev->port_hi);
	T_EQ(ev->released, released);
	T_EQ(ev->pool, 0);
	T_EQ(ev->time_ns, when);
	return 0;
}

static int
test_block_life(void)
{
	struct nat_table *t = build_block(2, 128);
	static struct ct_tuple a1[128], a2[128];
	struct ct_tuple u, b, c, d, x;
	uint32_t A = ip4(10, 0, 0, 1), B = ip4(10, 0, 0, 2), C = ip4(10, 0, 0, 3);
	uint32_t D = ip4(10, 0, 0, 4);
	struct nat_block_ev ev[8];
	struct nat_pool_usage use;
	struct nat_stats st;
	uint16_t block1_lo;
	uint16_t status = 0;
	struct ct_pkt p;
	struct tf f;
	unsigned i;

	T_ASSERT(t != NULL);
	nat_set_now(t, 0, 1000);
	T_EQ(bind_tcp(t, 0, A, 40000, &a1[0]), 1);
	T_ASSERT(a1[0].dport >= 1024 && a1[0].dport < 1536);
	T_EQ(nat_block_events(t, 0, ev, 8), 1);
	if (check_ev(&ev[0], A, a1[0].dport, false, 1000))
		return 1;
	block1_lo = ev[0].port_lo;
	/* Not consumed yet: given again. */
	T_EQ(nat_block_events(t, 0, ev, 8), 1);
	T_EQ(nat_block_events(t, 1, ev, 8), 0);
	/* UDP from the same address: same block, no event. */
	tf_udp(&f, 17, A, SERVER, 5353, 53, true, "q");
	p = tf_parse(&f);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &u, &status), 1);
	T_ASSERT(u.dport >= block1_lo && u.dport <= block1_lo + 127);
	T_EQ(nat_block_events(t, 0, ev, 8), 1);
	nat_block_events_done(t, 0, 1);
	T_EQ(nat_block_events(t, 0, ev, 8), 0);
	/* The block's 128 TCP ports, then a second block, then the limit of 2. */
	for (i = 1; i < 128; i++) {
		T_EQ(bind_tcp(t, 0, A, (uint16_t)(40000 + i), &a1[i]), 1);
		T_ASSERT(a1[i].dport >= block1_lo && a1[i].dport <= block1_lo + 127);
	}
	nat_set_now(t, 0, 2000);
	for (i = 0; i < 128; i++) {
		T_EQ(bind_tcp(t, 0, A, (uint16_t)(50000 + i), &a2[i]), 1);
		T_ASSERT(a2[i].dport < block1_lo || a2[i].dport > block1_lo + 127);
		T_ASSERT(a2[i].dport >= 1024 && a2[i].dport < 1536);
	}
	T_EQ(nat_block_events(t, 0, ev, 8), 1);
	if (check_ev(&ev[0], A, a2[0].dport, false, 2000))
		return 1;
	T_EQ(bind_tcp(t, 0, A, 60000, &x), NAT_ERR_EXHAUSTED);
	/* Another address: a block of its own. */
	T_EQ(bind_tcp(t, 0, B, 40000, &b), 1);
	T_EQ(nat_block_events(t, 0, ev, 8), 2);
	if (check_ev(&ev[1], B, b.dport, false, 2000))
		return 1;
	T_ASSERT(b.dport < block1_lo || b.dport > block1_lo + 127);
	T_ASSERT(b.dport < ev[0].port_lo || b.dport > ev[0].port_hi);
	/* Only the first of two consumed: the second stays. */
	nat_block_events_done(t, 0, 1);
	T_EQ(nat_block_events(t, 0, ev, 8), 1);
	T_EQ(ev[0].inside, B);
	nat_block_events_done(t, 0, 1);

	/* The first block is released with its last binding, the UDP one. */
	nat_set_now(t, 0, 3000);
	for (i = 0; i < 128; i++)
		release(t, 0, &a1[i]);
	T_EQ(nat_block_events(t, 0, ev, 8), 0);
	release(t, 0, &u);
	T_EQ(nat_block_events(t, 0, ev, 8), 1);
	if (check_ev(&ev[0], A, block1_lo, true, 3000))
		return 1;
	T_EQ(ev[0].port_lo, block1_lo);
	/* The last free block goes to C; D finds none: the released one waits for its event. */
	T_EQ(bind_tcp(t, 0, C, 40000, &c), 1);
	T_ASSERT(c.dport < block1_lo || c.dport > block1_lo + 127);
	T_EQ(bind_tcp(t, 0, D, 40000, &d), NAT_ERR_EXHAUSTED);
	T_EQ(nat_block_events(t, 0, ev, 8), 2);   /* A's release, C's alloc */
	nat_block_events_done(t, 0, 2);
	T_EQ(bind_tcp(t, 0, D, 40000, &d), 1);
	T_ASSERT(d.dport >= block1_lo && d.dport <= block1_lo + 127);
	T_EQ(nat_pool_usage(t, 0, &use), 0);
	T_EQ(use.blocks_total, 8);
	T_EQ(use.blocks_used, 4);
	T_EQ(use.fill_pct, 100);
	T_EQ(use.ports_used[0], 128 + 3);
	nat_worker_stats(t, 0, &st);
	T_EQ(st.fill_pct, 100);   /* its 4 blocks are taken */
	nat_worker_stats(t, 1, &st);
	T_EQ(st.fill_pct, 0);
	nat_worker_stats(t, 0, &st);
	T_EQ(st.blocks_alloc, 5);
	T_EQ(st.blocks_freed, 1);
	T_EQ(st.exhausted, 2);
	T_EQ(st.ports_in_use, 128 + 3);
	nat_table_free(t);
	return 0;
}

static int
test_block_owner(void)
{
	struct nat_table *t = build_block(4, 64);
	unsigned i, k, owner, first = 0, seen = 0;
	struct ct_tuple r;
	struct ct_pkt p;
	struct tf f;

	T_ASSERT(t != NULL);
	for (i = 0; i < 64; i++) {
		uint32_t inside = ip4(10, 1, 2, i);

		for (k = 0; k < 8; k++) {
			tf_tcp(&f, inside, ip4(192, 0, 2, k), (uint16_t)(1000 + k * 77),
			       (uint16_t)(80 + k), false);
			p = tf_parse(&f);
			T_EQ(nat_owner(t, &p, 4, &owner), 1);
			if (k == 0)
				first = owner;
			T_EQ(owner, first);
		}
		seen |= 1u << first;
		/* The owner binds from its slice; the reply goes back to it. */
		T_EQ(bind_tcp(t, first, inside, 5000, &r), 1);
		tf_tcp(&f, SERVER, POOL, 80, r.dport, false);
		p = tf_parse(&f);
		T_EQ(nat_owner(t, &p, 4, &owner), 1);
		T_EQ(owner, first);
		release(t, first, &r);
		drain(t, first);
	}
	T_EQ(seen, 0x0f);
	/* Not a block rule's source: no opinion. */
	tf_tcp(&f, ip4(172, 16, 0, 1), SERVER, 1000, 80, false);
	p = tf_parse(&f);
	T_EQ(nat_owner(t, &p, 4, &owner), 0);
	nat_table_free(t);
	return 0;
}

static int
test_block_adopt(void)
{
	struct nat_table *old = build_block(2, 128), *nt;
	struct nat_block_ev ev[4];
	struct ct_tuple r;
	char err[256];

	T_ASSERT(old != NULL);
	T_EQ(bind_tcp(old, 1, ip4(10, 0, 0, 9), 3000, &r), 1);
	nt = build_block(2, 64);
	T_ASSERT(nt != NULL);
	T_EQ(nat_table_adopt(nt, old, err, sizeof(err)), -EBUSY);
	nat_table_free(nt);
	/* Released, but the release event is not consumed: still live. */
	release(old, 1, &r);
	nt = build_block(2, 64);
	T_ASSERT(nt != NULL);
	T_EQ(nat_table_adopt(nt, old, err, sizeof(err)), -EBUSY);
	T_STREQ(err, "pool \"cgnat\" holds 1 live bindings and the new configuration changes it "
		"(addresses, ports, mode or blocks)");
	nat_table_free(nt);
	T_EQ(nat_block_events(old, 1, ev, 4), 2);
	T_EQ(ev[0].released, 0);
	T_EQ(ev[1].released, 1);
	nat_block_events_done(old, 1, 2);
	nt = build_block(2, 64);
	T_ASSERT(nt != NULL);
	T_EQ(nat_table_adopt(nt, old, err, sizeof(err)), 0);
	nat_table_free(old);
	T_EQ(bind_tcp(nt, 1, ip4(10, 0, 0, 9), 3000, &r), 1);
	T_EQ(nat_block_events(nt, 1, ev, 4), 1);
	T_EQ(ev[0].port_hi - ev[0].port_lo, 63);
	nat_table_free(nt);
	return 0;
}

/* An unchanged block pool keeps its subscribers, blocks and events over a reload. */
static int
test_block_adopt_equal(void)
{
	struct nat_table *old = build_block(2, 128), *nt;
	struct nat_block_ev ev[4];
	struct ct_tuple r1, r2;
	char err[256];

	T_ASSERT(old != NULL);
	nat_set_now(old, 0, 7);
	T_EQ(bind_tcp(old, 0, ip4(10, 0, 0, 9), 3000, &r1), 1);
	nt = build_block(2, 128);
	T_ASSERT(nt != NULL);
	T_EQ(nat_table_adopt(nt, old, err, sizeof(err)), 0);
	nat_table_free(old);
	/* The alloc event made under the old table is still to be taken. */
	T_EQ(nat_block_events(nt, 0, ev, 4), 1);
	T_EQ(ev[0].time_ns, 7);
	nat_block_events_done(nt, 0, 1);
	/* The subscriber's next connection uses its block: no new event. */
	T_EQ(bind_tcp(nt, 0, ip4(10, 0, 0, 9), 3001, &r2), 1);
	T_ASSERT(r2.dport >= ev[0].port_lo && r2.dport <= ev[0].port_hi);
	T_EQ(nat_block_events(nt, 0, ev, 4), 0);
	release(nt, 0, &r1);
	release(nt, 0, &r2);
	T_EQ(nat_block_events(nt, 0, ev, 4), 1);
	T_EQ(ev[0].released, 1);
	nat_table_free(nt);
	return 0;
}

/* First match decides the owner too: rules before and after the block rule. */
static int
test_block_owner_rule_order(void)
{
	struct nat_pool pools[2] = {
		tf_pool("cgnat", POOL, POOL, 1024, 2047),
		tf_pool("napt", ip4(203, 0, 113, 8), ip4(203, 0, 113, 8), 1024, 2047),
	};
	struct nat_rule rules[4];
	struct nat_table *t;
	unsigned owner;
	char err[256];
	struct ct_pkt p;
	struct tf f;

	pools[0].mode = NAT_MODE_BLOCK;
	pools[0].block_size = 64;
	pools[0].blocks_per_addr_max = 1;
	nat_rule_init(&rules[0]);
	rules[0].src = ip4(10, 0, 9, 0);   /* exclude 10.0.9.0/24 first */
	rules[0].src_len = 24;
	rules[1] = tf_snat("cgn", ip4(10, 0, 0, 0), 16, 0);
	rules[2] = tf_snat("rest", ip4(10, 0, 0, 0), 8, 1);
	rules[3] = tf_snat("more", ip4(172, 16, 0, 0), 12, 1);
	t = nat_table_build(pools, 2, rules, 4, 4, err, sizeof(err));
	if (t == NULL)
		T_FAIL_("build: %s", err);
	tf_tcp(&f, ip4(10, 0, 1, 1), SERVER, 1000, 80, false);
	p = tf_parse(&f);
	T_EQ(nat_owner(t, &p, 4, &owner), 1);
	tf_tcp(&f, ip4(10, 0, 9, 1), SERVER, 1000, 80, false);   /* excluded first */
	p = tf_parse(&f);
	T_EQ(nat_owner(t, &p, 4, &owner), 0);
	tf_tcp(&f, ip4(10, 1, 0, 1), SERVER, 1000, 80, false);   /* a napt rule */
	p = tf_parse(&f);
	T_EQ(nat_owner(t, &p, 4, &owner), 0);
	tf_tcp(&f, ip4(172, 16, 0, 1), SERVER, 1000, 80, false);
	p = tf_parse(&f);
	T_EQ(nat_owner(t, &p, 4, &owner), 0);
	nat_table_free(t);
	return 0;
}

/* A binding given back as its connection was being made: never used. */
static void
give_back(struct nat_table *t, unsigned w, const struct ct_tuple *r)
{
	nat_release(t, w, r, NAT_S_SRC_NAT | NAT_S_SRC_NAT_DONE | NAT_S_DST_NAT_DONE |
				     NAT_S_UNUSED);
}

/*
 * A block whose every binding was given back unused while its allocation
 * event was still queued is neither allocated nor released in the log, and
 * free again at once; one whose allocation left, or that carried a
 * connection, is released as before. Events of other blocks keep their
 * order around the one taken out.
 */
static int
test_block_unused(void)
{
	struct nat_table *t = build_block(2, 128);
	uint32_t A = ip4(10, 0, 0, 1), B = ip4(10, 0, 0, 2), C = ip4(10, 0, 0, 3);
	uint32_t D = ip4(10, 0, 0, 4), E = ip4(10, 0, 0, 5);
	struct ct_tuple a, a2, b, c, d, e, x[4];
	struct nat_block_ev ev[8];
	struct nat_pool_usage use;
	struct nat_stats st;
	unsigned i;

	T_ASSERT(t != NULL);
	nat_set_now(t, 0, 1000);
	/* B, A, C allocate; A's only binding is given back: B's and C's allocations remain, in order. */
	T_EQ(bind_tcp(t, 0, B, 40000, &b), 1);
	T_EQ(bind_tcp(t, 0, A, 40000, &a), 1);
	T_EQ(bind_tcp(t, 0, C, 40000, &c), 1);
	T_EQ(nat_block_events(t, 0, ev, 8), 3);
	give_back(t, 0, &a);
	T_EQ(nat_block_events(t, 0, ev, 8), 2);
	T_EQ(ev[0].inside, B);
	T_EQ(ev[1].inside, C);
	T_EQ(ev[0].released, false);
	T_EQ(ev[1].released, false);
	T_EQ(nat_pool_usage(t, 0, &use), 0);
	T_EQ(use.blocks_used, 2);
	/* Free at once: D and E get the two blocks left on worker 0, no release waited for. */
	T_EQ(bind_tcp(t, 0, D, 40000, &d), 1);
	T_EQ(bind_tcp(t, 0, E, 40000, &e), 1);
	T_EQ(nat_block_events(t, 0, ev, 8), 4);
	drain(t, 0);
	/* Its allocation handed on: a give-back releases it as before. */
	give_back(t, 0, &d);
	T_EQ(nat_block_events(t, 0, ev, 8), 1);
	T_EQ(ev[0].inside, D);
	T_EQ(ev[0].released, true);
	drain(t, 0);
	/* Used, then the block's other binding given back, allocation still queued: released. */
	release(t, 0, &b);
	release(t, 0, &c);
	release(t, 0, &e);
	drain(t, 0);
	T_EQ(bind_tcp(t, 0, A, 40001, &a), 1);
	T_EQ(bind_tcp(t, 0, A, 40002, &a2), 1);
	release(t, 0, &a);
	give_back(t, 0, &a2);
	T_EQ(nat_block_events(t, 0, ev, 8), 2);
	T_EQ(ev[0].released, false);
	T_EQ(ev[1].released, true);
	T_EQ(ev[1].inside, A);
	drain(t, 0);
	/* Two give-backs of one fresh block: the last takes its allocation out. */
	for (i = 0; i < 2; i++)
		T_EQ(bind_tcp(t, 0, B, (uint16_t)(41000 + i), &x[i]), 1);
	give_back(t, 0, &x[0]);
	T_EQ(nat_block_events(t, 0, ev, 8), 1);
	give_back(t, 0, &x[1]);
	T_EQ(nat_block_events(t, 0, ev, 8), 0);
	T_EQ(nat_pool_usage(t, 0, &use), 0);
	T_EQ(use.blocks_used, 0);
	nat_worker_stats(t, 0, &st);
	T_EQ(st.blocks_alloc, st.blocks_freed);
	T_EQ(st.ports_in_use, 0);
	T_EQ(st.release_orphan, 0);
	nat_table_free(t);
	return 0;
}

struct pref7 {
	unsigned mod;   /* accept reply ports with port % 7 == mod */
	unsigned calls;
};

static bool
pref7_fn(void *arg, const struct ct_tuple *reply)
{
	struct pref7 *a = arg;

	a->calls++;
	return reply->dport % 7 == a->mod;
}

/*
 * With an RSS preference, a free source port inside the subscriber's block
 * is kept only when the NIC steers its reply home (as NAPT keeps it);
 * otherwise a port of the block the preference accepts is taken.
 */
static int
test_block_rss_pref(void)
{
	struct nat_table *t = build_block(2, 128);
	uint32_t A = ip4(10, 0, 0, 1);
	struct pref7 a = { 0, 0 };
	struct nat_block_ev ev[4];
	struct ct_tuple r0, r;
	struct nat_stats st;
	uint16_t lo, keep, status;
	struct ct_pkt p;
	struct tf f;

	T_ASSERT(t != NULL);
	T_EQ(bind_tcp(t, 0, A, 40000, &r0), 1);
	T_EQ(nat_block_events(t, 0, ev, 4), 1);
	lo = ev[0].port_lo;
	keep = (uint16_t)(lo + 5);
	/* Not steered home (keep % 7 != mod): another port of the block, one it accepts. */
	a.mod = (keep + 1) % 7;
	tf_tcp(&f, A, SERVER, keep, 80, false);
	p = tf_parse(&f);
	status = 0;
	T_EQ(nat_bind(t, 0, &p, 0, pref7_fn, &a, &r, &status), 1);
	T_NE(r.dport, keep);
	T_ASSERT(r.dport >= lo && r.dport <= lo + 127);
	T_EQ(r.dport % 7, a.mod);
	/* Steered home: kept, after one question. */
	a.mod = keep % 7;
	a.calls = 0;
	tf_tcp(&f, A, SERVER, keep, 81, false);
	p = tf_parse(&f);
	status = 0;
	T_EQ(nat_bind(t, 0, &p, 0, pref7_fn, &a, &r, &status), 1);
	T_EQ(r.dport, keep);
	T_EQ(a.calls, 1);
	nat_worker_stats(t, 0, &st);
	T_EQ(st.rss_hits, 2);
	nat_table_free(t);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_block_rss_pref),
	T_CASE(test_block_life),
	T_CASE(test_block_unused),
	T_CASE(test_block_owner),
	T_CASE(test_block_owner_rule_order),
	T_CASE(test_block_adopt),
	T_CASE(test_block_adopt_equal),
};

T_MAIN(cases)
