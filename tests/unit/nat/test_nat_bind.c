/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/nat binding (NAPT) and ownership: rule order and matching, the
 * reply tuple of snat, dnat and ICMP echo flows (equal to what ct_parse()
 * gives for the reply packet), status bits, source-port keeping, paired
 * pooling, exhaustion and release, no port held twice, disjoint worker
 * slices, the RSS preference, and nat_owner() for replies, ICMP errors,
 * dnat replies and block-mode subscribers.
 */

#include <errno.h>

#include "dpct_test.h"
#include "nat_test_util.h"

#define POOL ip4(198, 51, 100, 1)
#define SERVER ip4(192, 0, 2, 1)
#define CLIENT ip4(10, 0, 0, 1)
#define DONE (NAT_S_SRC_NAT_DONE | NAT_S_DST_NAT_DONE)

static struct nat_table *
build(const struct nat_pool *pools, unsigned np, const struct nat_rule *rules, unsigned nr,
      unsigned nw)
{
	char err[256];
	struct nat_table *t = nat_table_build(pools, np, rules, nr, nw, err, sizeof(err));

	if (t == NULL)
		printf("# build: %s\n", err);
	return t;
}

static struct ct_pkt
tcp_pkt(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
	struct tf f;

	tf_tcp(&f, src, dst, sp, dp, false);
	return tf_parse(&f);
}

static struct ct_pkt
udp_pkt(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
	struct tf f;

	tf_udp(&f, proto, src, dst, sp, dp, true, "data");
	return tf_parse(&f);
}

static int
test_snat_reply_tuple(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL, 1024, 65535);
	struct nat_rule rule = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	struct nat_table *t = build(&pool, 1, &rule, 1, 1);
	struct ct_pkt p = tcp_pkt(CLIENT, SERVER, 40000, 80), rp;
	struct ct_tuple r, want;
	uint16_t status = 0;
	struct tf f;

	T_ASSERT(t != NULL);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 1);
	T_EQ(status, NAT_S_SRC_NAT | DONE);
	/* The source port is kept; the reply comes from the server to the pool address. */
	want = tf_tuple(6, SERVER, POOL, 80, 40000);
	T_MEMEQ(&r, &want, sizeof(r));
	/* Exactly what the parser makes of the reply packet. */
	tf_tcp(&f, SERVER, POOL, 80, 40000, false);
	rp = tf_parse(&f);
	T_MEMEQ(&r, &rp.tuple, sizeof(r));
	nat_table_free(t);
	return 0;
}

static int
test_icmp_echo_reply_tuple(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL, 1024, 65535);
	struct nat_rule rule = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	struct nat_table *t = build(&pool, 1, &rule, 1, 1);
	struct ct_tuple r1, r2;
	struct ct_pkt p, rp;
	uint16_t status = 0;
	struct tf f;

	T_ASSERT(t != NULL);
	tf_echo(&f, 8, CLIENT, SERVER, 4321);
	p = tf_parse(&f);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r1, &status), 1);
	T_EQ(status, NAT_S_SRC_NAT | DONE);
	tf_echo(&f, 0, SERVER, POOL, r1.dport);
	rp = tf_parse(&f);
	T_EQ(rp.cls, CT_PKT_TRACK);
	T_MEMEQ(&r1, &rp.tuple, sizeof(r1));
	T_EQ(r1.dport, 4321);   /* the identifier is kept when free */
	/* Another client with the same identifier gets another one. */
	tf_echo(&f, 8, CLIENT + 1, SERVER, 4321);
	p = tf_parse(&f);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r2, &status), 1);
	T_NE(r2.dport, 4321);
	/* A timestamp request is ICMP but not echo: refused. */
	memset(&p, 0, sizeof(p));
	tf_echo(&f, 13, CLIENT, SERVER, 1);
	p = tf_parse(&f);
	T_EQ(p.cls, CT_PKT_TRACK);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r2, &status), NAT_ERR_PROTO);
	nat_table_free(t);
	return 0;
}

static int
test_dnat(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL, 1024, 65535);
	struct nat_rule rules[3] = {
		tf_dnat("web", 6, ip4(198, 51, 100, 20), 80, 80, ip4(10, 0, 0, 5), 8080),
		tf_dnat("range", 17, ip4(198, 51, 100, 20), 8000, 8010, ip4(10, 0, 0, 6), 9000),
		tf_dnat("same", 6, ip4(198, 51, 100, 21), 22, 22, ip4(198, 51, 100, 21), 22),
	};
	struct nat_table *t;
	struct ct_pkt p, rp;
	struct ct_tuple r, want;
	struct nat_stats st;
	uint16_t status = 0;
	struct tf f;

	/* "same" maps an address to itself: allowed (not a pool address). */
	t = build(&pool, 1, rules, 3, 2);
	T_ASSERT(t != NULL);
	p = tcp_pkt(ip4(203, 0, 113, 9), ip4(198, 51, 100, 20), 5555, 80);
	T_EQ(nat_bind(t, 1, &p, 0, NULL, NULL, &r, &status), 1);
	T_EQ(status, NAT_S_DST_NAT | DONE);
	want = tf_tuple(6, ip4(10, 0, 0, 5), ip4(203, 0, 113, 9), 8080, 5555);
	T_MEMEQ(&r, &want, sizeof(r));
	tf_tcp(&f, ip4(10, 0, 0, 5), ip4(203, 0, 113, 9), 8080, 5555, false);
	rp = tf_parse(&f);
	T_MEMEQ(&r, &rp.tuple, sizeof(r));
	/* A port range maps one to one. */
	status = 0;
	p = udp_pkt(17, ip4(203, 0, 113, 9), ip4(198, 51, 100, 20), 5555, 8005);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 1);
	T_EQ(r.sport, 9005);
	/* Not the rule's protocol: no rule matches, nothing changes. */
	status = 0;
	p = udp_pkt(17, ip4(203, 0, 113, 9), ip4(198, 51, 100, 20), 5555, 80);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 0);
	T_EQ(status, DONE);
	/* To the same address and port: not translated. */
	status = 0;
	p = tcp_pkt(ip4(203, 0, 113, 9), ip4(198, 51, 100, 21), 5555, 22);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 0);
	T_EQ(status, DONE);
	ct_tuple_reverse(&want, &p.tuple);
	T_MEMEQ(&r, &want, sizeof(r));
	nat_worker_stats(t, 1, &st);
	T_EQ(st.bound, 1);
	nat_release(t, 1, &r, NAT_S_DST_NAT | DONE);
	nat_worker_stats(t, 1, &st);
	T_EQ(st.released, 1);
	nat_table_free(t);
	return 0;
}

static int
test_rule_order_and_match(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL, 1024, 65535);
	struct nat_rule rules[4];
	struct nat_table *t;
	struct ct_tuple r, want;
	struct ct_pkt p;
	struct nat_stats st;
	uint16_t status;

	nat_rule_init(&rules[0]);
	rules[0].kind = NAT_EXCLUDE;
	rules[0].src = ip4(10, 0, 0, 0);
	rules[0].src_len = 8;
	rules[0].dst = ip4(10, 0, 0, 0);
	rules[0].dst_len = 8;
	rules[1] = tf_snat("port-zone", ip4(10, 1, 0, 0), 16, 0);
	rules[1].in_port = 3;
	rules[1].zone = 7;
	rules[2] = tf_snat("udp-dns", ip4(10, 2, 0, 0), 16, 0);
	rules[2].proto = 17;
	rules[2].dport_lo = 53;
	rules[2].dport_hi = 53;
	rules[3] = tf_snat("rest", ip4(10, 3, 0, 0), 16, 0);
	t = build(&pool, 1, rules, 4, 1);
	T_ASSERT(t != NULL);

	/* Inside to inside: excluded by the first rule. */
	status = 0;
	p = tcp_pkt(ip4(10, 3, 0, 1), ip4(10, 9, 9, 9), 1000, 80);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 0);
	T_EQ(status, DONE);
	ct_tuple_reverse(&want, &p.tuple);
	T_MEMEQ(&r, &want, sizeof(r));
	nat_worker_stats(t, 0, &st);
	T_EQ(st.excluded, 1);
	/* in_port and zone must both match. */
	p = tcp_pkt(ip4(10, 1, 0, 1), SERVER, 1000, 80);
	status = 0;
	T_EQ(nat_bind(t, 0, &p, 3, NULL, NULL, &r, &status), 0);   /* zone 0 */
	p.tuple.zone = 7;
	T_EQ(nat_bind(t, 0, &p, 2, NULL, NULL, &r, &status), 0);   /* port 2 */
	T_EQ(nat_bind(t, 0, &p, 3, NULL, NULL, &r, &status), 1);
	T_EQ(r.zone, 7);
	/* Protocol and destination port. */
	status = 0;
	p = udp_pkt(17, ip4(10, 2, 0, 1), SERVER, 1000, 54);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 0);
	p = tcp_pkt(ip4(10, 2, 0, 1), SERVER, 1000, 53);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 0);
	p = udp_pkt(17, ip4(10, 2, 0, 1), SERVER, 1000, 53);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 1);
	/* Not covered by any rule: 0 with the _DONE bits. */
	status = 0;
	p = tcp_pkt(ip4(172, 16, 0, 1), SERVER, 1000, 80);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 0);
	T_EQ(status, DONE);
	/* IPv6 is not translated and NAT is not in play for it: no bits. */
	status = 0;
	p = tcp_pkt(ip4(10, 3, 0, 1), SERVER, 1000, 80);
	p.tuple.family = 6;
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 0);
	T_EQ(status, 0);
	/* Other protocols under a snat rule are refused and counted. */
	p = tcp_pkt(ip4(10, 3, 0, 1), SERVER, 1000, 80);
	p.tuple.proto = 47;
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), NAT_ERR_PROTO);
	nat_worker_stats(t, 0, &st);
	T_EQ(st.proto_refused, 1);
	nat_table_free(t);

	/* An empty table translates nothing and sets nothing. */
	t = build(&pool, 1, NULL, 0, 1);
	T_ASSERT(t != NULL);
	status = 0;
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 0);
	T_EQ(status, 0);
	nat_table_free(t);
	return 0;
}

static int
test_exhaustion_and_release(void)
{
	struct nat_pool pool = tf_pool("tiny", POOL, POOL, 2000, 2003);
	struct nat_rule rule = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	struct nat_table *t = build(&pool, 1, &rule, 1, 1);
	struct ct_tuple r[5];
	struct nat_pool_usage u;
	uint16_t status = 0, seen = 0;
	struct nat_stats st;
	struct ct_pkt p;
	unsigned i;

	T_ASSERT(t != NULL);
	for (i = 0; i < 4; i++) {
		p = tcp_pkt(CLIENT, SERVER, (uint16_t)(30000 + i), 80);
		T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r[i], &status), 1);
		T_ASSERT(r[i].dport >= 2000 && r[i].dport <= 2003);
		T_EQ(seen & (1u << (r[i].dport - 2000)), 0);
		seen |= (uint16_t)(1u << (r[i].dport - 2000));
	}
	p = tcp_pkt(CLIENT, SERVER, 30004, 80);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r[4], &status), NAT_ERR_EXHAUSTED);
	nat_worker_stats(t, 0, &st);
	T_EQ(st.exhausted, 1);
	T_EQ(st.ports_in_use, 4);
	T_EQ(st.ports_total, 4 * 3);
	T_EQ(st.fill_pct, 100);   /* TCP is full, whatever UDP and ICMP hold */
	T_EQ(nat_pool_usage(t, 0, &u), 0);
	T_EQ(u.ports_total, 4);
	T_EQ(u.ports_used[0], 4);
	T_EQ(u.ports_used[1] + u.ports_used[2], 0);
	T_EQ(u.fill_pct, 100);
	T_EQ(u.blocks_total, 0);
	T_EQ(nat_pool_usage(t, 1, &u), -EINVAL);
	/* UDP has its own ports. */
	p = udp_pkt(17, CLIENT, SERVER, 30004, 53);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r[4], &status), 1);
	nat_release(t, 0, &r[4], status);
	/* Give one back: the next connection gets exactly that port. */
	nat_release(t, 0, &r[2], status);
	p = tcp_pkt(CLIENT, SERVER, 30005, 80);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r[4], &status), 1);
	T_EQ(r[4].dport, r[2].dport);
	nat_release(t, 0, &r[4], status);
	nat_worker_stats(t, 0, &st);
	T_EQ(st.release_orphan, 0);
	T_EQ(st.ports_in_use, 3);
	/* A second release of a port no longer held is an orphan, not a double free. */
	nat_release(t, 0, &r[4], status);
	r[4] = tf_tuple(6, SERVER, ip4(1, 2, 3, 4), 80, 2000);
	nat_release(t, 0, &r[4], status);
	nat_worker_stats(t, 0, &st);
	T_EQ(st.release_orphan, 2);
	T_EQ(st.ports_in_use, 3);
	nat_table_free(t);
	return 0;
}

/*
 * The prefetch hints change nothing, whatever they are given: before any
 * bind (no pool to guess), after one (the pool guessed), for IPv6, for a
 * worker or an address outside the table, a port outside the worker's
 * slice; the binds and releases after them as without. (Under the
 * sanitizer build, no read outside the maps either.)
 */
static int
test_prefetch_hints_change_nothing(void)
{
	struct nat_pool pool = tf_pool("tiny", POOL, POOL, 2000, 2003);
	struct nat_rule rule = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	struct nat_table *t = build(&pool, 1, &rule, 1, 2);
	struct ct_pkt p = tcp_pkt(CLIENT, SERVER, 2001, 80), p6 = p;
	struct nat_stats a, b;
	struct ct_tuple r;
	uint16_t status = 0;
	uint8_t addr[4] = { 198, 51, 100, 1 }, other[4] = { 1, 2, 3, 4 };
	unsigned w;

	T_ASSERT(t != NULL);
	p6.tuple.family = 6;
	nat_worker_stats(t, 0, &a);
	for (w = 0; w < 3; w++) {
		nat_bind_prefetch(t, w, &p);
		nat_bind_prefetch(t, w, &p6);
		nat_release_prefetch(t, w, addr, 2001, 6);
		nat_release_prefetch(t, w, other, 2001, 6);
		nat_release_prefetch(t, w, addr, 65535, 6);
		nat_release_prefetch(t, w, addr, 2001, 47);
	}
	nat_bind_prefetch(NULL, 0, &p);
	nat_release_prefetch(NULL, 0, addr, 2001, 6);
	nat_worker_stats(t, 0, &b);
	T_MEMEQ(&a, &b, sizeof(a));
	/* Worker 0's slice is 2000-2001: the source port kept. */
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 1);
	T_EQ(r.dport, 2001);
	nat_worker_stats(t, 0, &a);
	for (w = 0; w < 3; w++) {
		nat_bind_prefetch(t, w, &p);
		nat_release_prefetch(t, w, addr, r.dport, 6);
	}
	nat_worker_stats(t, 0, &b);
	T_MEMEQ(&a, &b, sizeof(a));
	nat_release(t, 0, &r, status);
	nat_worker_stats(t, 0, &b);
	T_EQ(b.ports_in_use, 0);
	T_EQ(b.release_orphan, 0);
	nat_table_free(t);
	return 0;
}

/* Four workers, 64 ports each: every port of a slice once, then full. */
static int
test_slices_disjoint(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL, 1024, 1279);
	struct nat_rule rule = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	struct nat_table *t = build(&pool, 1, &rule, 1, 4);
	static struct ct_tuple r[4][64];
	struct ct_tuple extra;
	struct nat_pool_usage u;
	uint8_t held[256];
	uint16_t status = 0;
	unsigned w, i;
	struct ct_pkt p;
	unsigned owner;
	struct nat_stats st;

	T_ASSERT(t != NULL);
	memset(held, 0, sizeof(held));
	for (w = 0; w < 4; w++) {
		for (i = 0; i < 64; i++) {
			p = tcp_pkt(ip4(10, 0, w, i), SERVER, (uint16_t)(1024 + i * 3), 80);
			T_EQ(nat_bind(t, w, &p, 0, NULL, NULL, &r[w][i], &status), 1);
			T_ASSERT(r[w][i].dport >= 1024 + w * 64 && r[w][i].dport < 1024 + (w + 1) * 64);
			T_EQ(held[r[w][i].dport - 1024], 0);
			held[r[w][i].dport - 1024] = 1;
		}
		p = tcp_pkt(ip4(10, 0, w, 99), SERVER, 7777, 80);
		T_EQ(nat_bind(t, w, &p, 0, NULL, NULL, &extra, &status), NAT_ERR_EXHAUSTED);
		/* The pool's fill is its fullest worker slice's. */
		T_EQ(nat_pool_usage(t, 0, &u), 0);
		T_EQ(u.ports_used[0], 64 * (w + 1));
		T_EQ(u.ports_total, 256);
		T_EQ(u.fill_pct, 100);
	}
	/* The owner of a reply to a pool port is the worker whose slice holds it. */
	for (i = 0; i < 256; i++) {
		struct tf f;

		tf_tcp(&f, SERVER, POOL, 80, (uint16_t)(1024 + i), false);
		p = tf_parse(&f);
		T_EQ(nat_owner(t, &p, 4, &owner), 1);
		T_EQ(owner, i / 64);
	}
	T_EQ(nat_owner(t, &p, 3, &owner), 0);   /* another worker count: no opinion */
	/* Half of worker 0's slice given back: it is the fullest no more. */
	for (i = 0; i < 32; i++)
		nat_release(t, 0, &r[0][i], status);
	nat_worker_stats(t, 0, &st);
	T_EQ(st.fill_pct, 50);
	nat_worker_stats(t, 1, &st);
	T_EQ(st.fill_pct, 100);
	T_EQ(nat_pool_usage(t, 0, &u), 0);
	T_EQ(u.fill_pct, 100);
	for (w = 1; w < 4; w++)
		for (i = 0; i < 48; i++)
			nat_release(t, w, &r[w][i], status);
	T_EQ(nat_pool_usage(t, 0, &u), 0);
	T_EQ(u.fill_pct, 50);
	T_EQ(u.ports_used[0], 32 + 3 * 16);
	for (w = 0; w < 4; w++)
		for (i = w == 0 ? 0 : 48; i < 64; i++)
			if (w > 0 || i >= 32)
				nat_release(t, w, &r[w][i], status);
	T_EQ(nat_pool_usage(t, 0, &u), 0);
	T_EQ(u.fill_pct, 0);
	for (w = 0; w < 4; w++) {
		nat_worker_stats(t, w, &st);
		T_EQ(st.fill_pct, 0);
		T_EQ(st.ports_in_use, 0);
		T_EQ(st.release_orphan, 0);
		T_EQ(st.bound, 64);
		T_EQ(st.released, 64);
	}
	nat_table_free(t);
	return 0;
}

static int
test_paired_pooling(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL + 3, 2000, 2001);
	struct nat_rule rule = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	struct nat_table *t = build(&pool, 1, &rule, 1, 1);
	struct ct_tuple r;
	uint16_t status = 0;
	uint8_t addrs = 0;
	uint32_t first = 0;
	struct ct_pkt p;
	unsigned i;

	T_ASSERT(t != NULL);
	/* 2 ports x 4 addresses: the paired address first, then the others, then none. */
	for (i = 0; i < 8; i++) {
		uint32_t a;

		p = tcp_pkt(CLIENT, SERVER, (uint16_t)(5000 + i), 80);
		T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 1);
		a = tf_r32(r.dst);
		if (i == 0)
			first = a;
		if (i < 2)
			T_EQ(a, first);
		addrs |= (uint8_t)(1u << (a - POOL));
	}
	T_EQ(addrs, 0x0f);
	p = tcp_pkt(CLIENT, SERVER, 5008, 80);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), NAT_ERR_EXHAUSTED);
	nat_table_free(t);

	/* Inside addresses spread over the pool addresses, each always on its own. */
	pool.port_hi = 65535;
	t = build(&pool, 1, &rule, 1, 1);
	T_ASSERT(t != NULL);
	addrs = 0;
	for (i = 0; i < 64; i++) {
		uint32_t a;

		p = tcp_pkt(ip4(10, 1, 0, i), SERVER, 5000, 80);
		T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 1);
		a = tf_r32(r.dst);
		addrs |= (uint8_t)(1u << (a - POOL));
		p = tcp_pkt(ip4(10, 1, 0, i), SERVER, 5001, 443);
		T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 1);
		T_EQ(tf_r32(r.dst), a);
	}
	T_EQ(addrs, 0x0f);
	nat_table_free(t);
	return 0;
}

struct pref_arg {
	unsigned calls;
	unsigned mod;   /* accept ports with port % 7 == mod; 7: none */
};

static bool
pref_fn(void *arg, const struct ct_tuple *reply)
{
	struct pref_arg *a = arg;

	a->calls++;
	return reply->dst[0] == 198 && reply->sport == 80 && reply->dport % 7 == a->mod;
}

static int
test_rss_pref(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL, 1024, 65535);
	struct nat_rule rule = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	struct nat_table *t = build(&pool, 1, &rule, 1, 4);
	struct pref_arg a = { 0, 3 };
	struct nat_stats st;
	struct ct_tuple r;
	uint16_t status = 0;
	struct ct_pkt p;
	unsigned i;

	T_ASSERT(t != NULL);
	/* Source port 2000 lies in worker 0's slice, not worker 1's: worker 1 picks. */
	for (i = 0; i < 32; i++) {
		p = tcp_pkt(ip4(10, 0, 0, i), SERVER, 2000, 80);
		T_EQ(nat_bind(t, 1, &p, 0, pref_fn, &a, &r, &status), 1);
		T_EQ(r.dport % 7, 3);
	}
	nat_worker_stats(t, 1, &st);
	T_EQ(st.rss_hits, 32);
	/* A preference nothing meets: at most 64 tries, then a free port anyway. */
	a.mod = 7;
	a.calls = 0;
	p = tcp_pkt(ip4(10, 0, 1, 1), SERVER, 2000, 80);
	T_EQ(nat_bind(t, 1, &p, 0, pref_fn, &a, &r, &status), 1);
	T_EQ(a.calls, 64);
	nat_worker_stats(t, 1, &st);
	T_EQ(st.rss_hits, 32);
	/* A free source port in the slice is kept when its reply is steered home
	 * (2000 % 7 == 5) ... */
	a.mod = 5;
	a.calls = 0;
	p = tcp_pkt(ip4(10, 0, 1, 2), SERVER, 2000, 80);
	T_EQ(nat_bind(t, 0, &p, 0, pref_fn, &a, &r, &status), 1);
	T_EQ(r.dport, 2000);
	T_EQ(a.calls, 1);
	/* ... and not when it is not: a port the preference accepts instead. */
	a.mod = 3;
	p = tcp_pkt(ip4(10, 0, 1, 3), SERVER, 2001, 80);
	T_EQ(nat_bind(t, 0, &p, 0, pref_fn, &a, &r, &status), 1);
	T_NE(r.dport, 2001);
	T_EQ(r.dport % 7, 3);
	/* Without a preference it is kept as Linux keeps it. */
	p = tcp_pkt(ip4(10, 0, 1, 4), SERVER, 2002, 80);
	T_EQ(nat_bind(t, 0, &p, 0, NULL, NULL, &r, &status), 1);
	T_EQ(r.dport, 2002);
	nat_table_free(t);
	return 0;
}

static int
test_owner_errors_and_echo(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL, 1024, 65535);
	struct nat_rule rule = tf_snat("out", ip4(10, 0, 0, 0), 8, 0);
	struct nat_table *t = build(&pool, 1, &rule, 1, 4);
	struct ct_tuple r;
	uint16_t status = 0;
	struct tf f, q;
	struct ct_pkt p;
	unsigned w, owner;

	T_ASSERT(t != NULL);
	for (w = 0; w < 4; w++) {
		/* A UDP flow bound by worker w; an ICMP error about its translated packet. */
		p = udp_pkt(17, CLIENT, SERVER, 999, 53);
		T_EQ(nat_bind(t, w, &p, 0, NULL, NULL, &r, &status), 1);
		tf_udp(&q, 17, POOL, SERVER, r.dport, 53, true, "query");
		tf_error(&f, ip4(192, 0, 2, 254), POOL, &q, 0);
		p = tf_parse(&f);
		T_EQ(p.cls, CT_PKT_ICMP_ERROR);
		T_EQ(nat_owner(t, &p, 4, &owner), 1);
		T_EQ(owner, w);
		/* An echo request bound by worker w: its reply and an error quoting it. */
		tf_echo(&q, 8, CLIENT, SERVER, 77);
		p = tf_parse(&q);
		T_EQ(nat_bind(t, w, &p, 0, NULL, NULL, &r, &status), 1);
		tf_echo(&f, 0, SERVER, POOL, r.dport);
		p = tf_parse(&f);
		T_EQ(nat_owner(t, &p, 4, &owner), 1);
		T_EQ(owner, w);
		tf_echo(&q, 8, POOL, SERVER, r.dport);
		tf_error(&f, ip4(192, 0, 2, 254), POOL, &q, 0);
		p = tf_parse(&f);
		T_EQ(p.cls, CT_PKT_ICMP_ERROR);
		T_EQ(nat_owner(t, &p, 4, &owner), 1);
		T_EQ(owner, w);
	}
	/* Not to the pool: no opinion. */
	p = tcp_pkt(SERVER, ip4(203, 0, 113, 1), 80, 2000);
	T_EQ(nat_owner(t, &p, 4, &owner), 0);
	p = tcp_pkt(CLIENT, SERVER, 2000, 80);
	T_EQ(nat_owner(t, &p, 4, &owner), 0);
	nat_table_free(t);
	return 0;
}

struct orig_owner {
	struct ct_tuple want;   /* the original tuple the owner function must be given */
	unsigned calls, bad;
};

static unsigned
orig_owner_fn(void *arg, const struct ct_tuple *orig)
{
	struct orig_owner *o = arg;

	o->calls++;
	o->bad += memcmp(orig, &o->want, sizeof(*orig)) != 0;
	return orig->sport % 8;
}

static int
test_owner_ex(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL, 1024, 65535);
	struct nat_rule rule = tf_dnat("web", 17, ip4(198, 51, 100, 20), 53, 60,
				       ip4(10, 0, 0, 5), 5353);
	struct nat_table *t = build(&pool, 1, &rule, 1, 8);
	struct orig_owner o = { .calls = 0 };
	struct ct_pkt p, rp;
	unsigned i, owner;

	T_ASSERT(t != NULL);
	for (i = 0; i < 16; i++) {
		uint16_t cport = (uint16_t)(40000 + i);

		/* The exact bytes of the original tuple as the parser gives them. */
		p = udp_pkt(17, ip4(203, 0, 113, 9), ip4(198, 51, 100, 20), cport, 57);
		o.want = p.tuple;
		rp = udp_pkt(17, ip4(10, 0, 0, 5), ip4(203, 0, 113, 9), 5357, cport);
		T_EQ(nat_owner_ex(t, &rp, 8, orig_owner_fn, &o, &owner), 1);
		T_EQ(owner, cport % 8);
	}
	T_EQ(o.calls, 16);
	T_EQ(o.bad, 0);
	/* A snat reply does not ask: its owner is the slice's. */
	p = udp_pkt(17, SERVER, POOL, 53, 1024);
	T_EQ(nat_owner_ex(t, &p, 8, orig_owner_fn, &o, &owner), 1);
	T_EQ(owner, 0);
	T_EQ(o.calls, 16);
	nat_table_free(t);
	return 0;
}

static int
test_owner_dnat(void)
{
	struct nat_pool pool = tf_pool("public", POOL, POOL, 1024, 65535);
	struct nat_rule rule = tf_dnat("web", 6, ip4(198, 51, 100, 20), 8000, 8099,
				       ip4(10, 0, 0, 5), 9000);
	struct nat_table *t = build(&pool, 1, &rule, 1, 8);
	unsigned i, owner, seen = 0;
	struct ct_pkt p, rp;
	struct tf f, q;

	T_ASSERT(t != NULL);
	for (i = 0; i < 200; i++) {
		uint16_t cport = (uint16_t)(20000 + i * 13), dport = (uint16_t)(8000 + i % 100);
		unsigned want;

		p = tcp_pkt(ip4(203, 0, 113, 9), ip4(198, 51, 100, 20), cport, dport);
		want = ct_hash_owner(p.owner_hash, 8);
		/* The reply from the inside address and port. */
		rp = tcp_pkt(ip4(10, 0, 0, 5), ip4(203, 0, 113, 9), (uint16_t)(dport + 1000), cport);
		T_EQ(nat_owner(t, &rp, 8, &owner), 1);
		T_EQ(owner, want);
		/* An ICMP error about the translated packet, sent back to the client. */
		tf_tcp(&q, ip4(203, 0, 113, 9), ip4(10, 0, 0, 5), cport, (uint16_t)(dport + 1000),
		       false);
		tf_error(&f, ip4(10, 0, 0, 254), ip4(203, 0, 113, 9), &q, 28);
		rp = tf_parse(&f);
		T_EQ(rp.cls, CT_PKT_ICMP_ERROR);
		T_EQ(nat_owner(t, &rp, 8, &owner), 1);
		T_EQ(owner, want);
		seen |= 1u << want;
	}
	T_ASSERT(seen == 0xff);
	/* Outside the mapped range, or another protocol: no opinion. */
	rp = tcp_pkt(ip4(10, 0, 0, 5), ip4(203, 0, 113, 9), 8999, 1000);
	T_EQ(nat_owner(t, &rp, 8, &owner), 0);
	rp = tcp_pkt(ip4(10, 0, 0, 5), ip4(203, 0, 113, 9), 9100, 1000);
	T_EQ(nat_owner(t, &rp, 8, &owner), 0);
	rp = udp_pkt(17, ip4(10, 0, 0, 5), ip4(203, 0, 113, 9), 9000, 1000);
	T_EQ(nat_owner(t, &rp, 8, &owner), 0);
	nat_table_free(t);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_snat_reply_tuple),
	T_CASE(test_icmp_echo_reply_tuple),
	T_CASE(test_dnat),
	T_CASE(test_rule_order_and_match),
	T_CASE(test_exhaustion_and_release),
	T_CASE(test_prefetch_hints_change_nothing),
	T_CASE(test_slices_disjoint),
	T_CASE(test_paired_pooling),
	T_CASE(test_rss_pref),
	T_CASE(test_owner_errors_and_echo),
	T_CASE(test_owner_dnat),
	T_CASE(test_owner_ex),
};

T_MAIN(cases)
