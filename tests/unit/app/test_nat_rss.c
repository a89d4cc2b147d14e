/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RSS-aware port choice: with the app's symmetric key and redirection
 * table (rss.c), lib/nat picks ports whose translated reply the NIC steers
 * to the binding worker, so replies need no handoff; the pool port's slice
 * names the same worker (nat_owner()). Without the preference about
 * 1/workers of the replies would land home.
 */

#include <string.h>

#include "dpct_test.h"
#include "nat.h"
#include "rss.h"

#define WORKERS 4
#define FLOWS 2000

struct pref_arg {
	const struct dpct_rss *r;
	unsigned worker;
};

static bool
pref(void *arg, const struct ct_tuple *reply)
{
	const struct pref_arg *a = arg;

	return dpct_rss_owner_tuple(a->r, reply) == a->worker;
}

static struct nat_table *
table(void)
{
	struct nat_pool pool;
	struct nat_rule rule;
	char err[256];
	struct nat_table *t;

	memset(&pool, 0, sizeof(pool));
	strcpy(pool.name, "public");
	pool.addr_lo = 0xc6336401u; /* 198.51.100.1 */
	pool.addr_hi = 0xc6336404u;
	pool.port_lo = 1024;
	pool.port_hi = 65535;
	nat_rule_init(&rule);
	rule.kind = NAT_SNAT;
	rule.src = 0x0a000000u;
	rule.src_len = 8;
	rule.pool = 0;
	t = nat_table_build(&pool, 1, &rule, 1, WORKERS, err, sizeof(err));
	if (t == NULL)
		printf("# %s\n", err);
	return t;
}

/* Flow i: 10.0.x.y:40000 -> 192.0.2.(i % 200):443 (the same source port: it cannot be kept). */
static struct ct_pkt
flow(unsigned i, uint8_t proto)
{
	struct ct_pkt p;

	memset(&p, 0, sizeof(p));
	p.cls = CT_PKT_TRACK;
	p.tuple.family = 4;
	p.tuple.proto = proto;
	p.tuple.src[0] = 10;
	p.tuple.src[2] = (uint8_t)(i >> 8);
	p.tuple.src[3] = (uint8_t)i;
	p.tuple.dst[0] = 192;
	p.tuple.dst[2] = 2;
	p.tuple.dst[3] = (uint8_t)(i % 200);
	p.tuple.sport = 40000;
	p.tuple.dport = 443;
	p.hash = ct_tuple_hash(&p.tuple);
	p.owner_hash = (uint32_t)(ct_tuple_hash64(&p.tuple) >> 32);
	return p;
}

static int
count_home(struct nat_table *t, const struct dpct_rss *r, bool with_pref, unsigned *home,
	   unsigned *slice_home)
{
	unsigned i, w;

	*home = *slice_home = 0;
	for (i = 0; i < FLOWS; i++) {
		struct ct_pkt p = flow(i, i & 1 ? 17 : 6), rp;
		struct ct_tuple reply;
		struct pref_arg a;
		uint16_t st = 0;
		unsigned owner;

		w = i % WORKERS;
		a.r = r;
		a.worker = w;
		T_EQ(nat_bind(t, w, &p, 0, with_pref ? pref : NULL, &a, &reply, &st), 1);
		T_ASSERT(st & NAT_S_SRC_NAT);
		*home += dpct_rss_owner_tuple(r, &reply) == w;
		/* The reply, as it arrives, belongs to the binding worker by its port. */
		memset(&rp, 0, sizeof(rp));
		rp.cls = CT_PKT_TRACK;
		rp.tuple = reply;
		T_EQ(nat_owner(t, &rp, WORKERS, &owner), 1);
		*slice_home += owner == w;
	}
	return 0;
}

static int
test_replies_steered_home(void)
{
	struct nat_table *with = table(), *without = table();
	struct dpct_rss r;
	unsigned home, slice_home, home0, slice0;
	struct nat_stats st;

	T_ASSERT(with != NULL && without != NULL);
	memset(&r, 0, sizeof(r));
	T_EQ(dpct_rss_init(&r, 512, WORKERS), 0);
	T_ASSERT(r.on);
	T_EQ(count_home(with, &r, true, &home, &slice_home), 0);
	T_EQ(count_home(without, &r, false, &home0, &slice0), 0);
	printf("# replies steered to the binding worker: %u of %u with the preference, "
	       "%u without\n", home, FLOWS, home0);
	T_EQ(slice_home, FLOWS);
	T_EQ(slice0, FLOWS);
	/* With 64 tries at 1/4 each, a miss is (3/4)^64: never in 2000 flows. */
	T_EQ(home, FLOWS);
	/* Without it about a quarter land home; far from all. */
	T_ASSERT(home0 < FLOWS * 2 / 5);
	nat_worker_stats(with, 1, &st);
	T_EQ(st.rss_hits, FLOWS / WORKERS);
	nat_table_free(with);
	nat_table_free(without);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_replies_steered_home),
};

T_MAIN(cases)
