/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/helper's expectation table: matching with the source port open,
 * Linux's limits (max_expected with the oldest evicted, the table's
 * maximum, clashes), expiry in age order, a master's removal, the
 * LIVE -> DYING -> free life, and the index against a plain model under a
 * long random sequence.
 */

#include <errno.h>

#include "dpct_test.h"
#include "hlp_exp.h"

#define SEC 1000000000ull
#define MASTERS 64

static struct hlp_master masters[MASTERS];

static struct hlp_master *
master_of(void *arg, uint32_t slot, uint32_t id)
{
	(void)arg;
	(void)id;
	return slot < MASTERS ? &masters[slot] : NULL;
}

/* An expected passive-mode data connection 10.0.0.1 -> 10.0.0.2:port in zone z. */
static struct hlp_expect
exp_of(uint16_t port, uint16_t zone)
{
	struct hlp_expect e;

	memset(&e, 0, sizeof(e));
	e.tuple.src[0] = 10;
	e.tuple.src[3] = 1;
	e.tuple.dst[0] = 10;
	e.tuple.dst[3] = 2;
	e.tuple.dport = port;
	e.tuple.proto = 6;
	e.tuple.family = 4;
	e.tuple.zone = zone;
	e.cmd = HLP_FTP_PASV;
	return e;
}

/* The data connection's first packet, from source port `sport`. */
static struct ct_tuple
pkt_of(uint16_t port, uint16_t zone, uint16_t sport)
{
	struct ct_tuple t = exp_of(port, zone).tuple;

	t.sport = sport;
	return t;
}

static void
reset_masters(void)
{
	unsigned i;

	for (i = 0; i < MASTERS; i++)
		hlp_master_init(&masters[i]);
}

static int
test_match_life(void)
{
	const struct hlp_exp_class cls[] = { { 300, 1 } };
	struct hlp_exp_table *t = hlp_exp_table_create(16, cls, 1);
	struct hlp_expect e = exp_of(1025, 3);
	struct ct_tuple p;
	struct hlp_exp_stats st;
	uint32_t idx, id;

	T_ASSERT(t != NULL);
	reset_masters();
	idx = hlp_exp_add(t, &e, 0, 5, 55, &masters[5], 0, NULL, NULL);
	T_NE(idx, HLP_EXP_NIL);
	id = hlp_exp_get(t, idx)->id;
	T_NE(id, 0);
	T_EQ(hlp_exp_get(t, idx)->state, HLP_EXP_LIVE);
	T_EQ(masters[5].count, 1);
	/* Another zone, source address or destination port is not it. */
	p = pkt_of(1025, 4, 40001);
	T_EQ(hlp_exp_match(t, &p, SEC, master_of, NULL), HLP_EXP_NIL);
	p = pkt_of(1026, 3, 40001);
	T_EQ(hlp_exp_match(t, &p, SEC, master_of, NULL), HLP_EXP_NIL);
	p = pkt_of(1025, 3, 40001);
	p.src[3] = 9;
	T_EQ(hlp_exp_match(t, &p, SEC, master_of, NULL), HLP_EXP_NIL);
	/* Any source port is. */
	p = pkt_of(1025, 3, 40001);
	T_EQ(hlp_exp_match(t, &p, SEC, master_of, NULL), idx);
	T_EQ(hlp_exp_get(t, idx)->state, HLP_EXP_DYING);
	T_EQ(hlp_exp_get(t, idx)->end, HLP_EXP_END_CONFIRMED);
	T_EQ(hlp_exp_get(t, idx)->id, id);
	T_EQ(hlp_exp_get(t, idx)->master_id, 55);
	T_EQ(masters[5].count, 0);
	T_EQ(masters[5].head, HLP_EXP_NIL);
	/* Confirmed once: a second connection is not related. */
	T_EQ(hlp_exp_match(t, &p, SEC, master_of, NULL), HLP_EXP_NIL);
	hlp_exp_stats(t, &st);
	T_EQ(st.confirmed, 1);
	T_EQ(st.live, 0);
	T_EQ(st.dying, 1);
	T_EQ(hlp_exp_free(t, idx), 0);
	T_EQ(hlp_exp_free(t, idx), -ENOENT);
	T_EQ(hlp_exp_remove(t, idx, &masters[5]), -ENOENT);
	hlp_exp_stats(t, &st);
	T_EQ(st.dying, 0);
	hlp_exp_table_free(t);
	return 0;
}

static int
test_limits(void)
{
	const struct hlp_exp_class cls[] = { { 300, 1 }, { 300, 3 } };
	struct hlp_exp_table *t = hlp_exp_table_create(4, cls, 2);
	struct hlp_expect e1 = exp_of(2000, 0), e2 = exp_of(2001, 0), e3 = exp_of(2002, 0);
	struct hlp_exp_stats st;
	uint32_t a, b, c, ev, rep;

	T_ASSERT(t != NULL);
	reset_masters();
	/* max_expected 1: the master's second evicts its first. */
	a = hlp_exp_add(t, &e1, 0, 1, 11, &masters[1], 0, &ev, &rep);
	T_NE(a, HLP_EXP_NIL);
	T_EQ(ev, HLP_EXP_NIL);
	b = hlp_exp_add(t, &e2, 0, 1, 11, &masters[1], 0, &ev, &rep);
	T_NE(b, HLP_EXP_NIL);
	T_EQ(ev, a);
	T_EQ(rep, HLP_EXP_NIL);
	T_EQ(hlp_exp_get(t, a)->state, HLP_EXP_DYING);
	T_EQ(hlp_exp_get(t, a)->end, HLP_EXP_END_EVICTED);
	T_EQ(masters[1].count, 1);
	T_EQ(masters[1].head, b);
	/* The same tuple from the same master replaces; from another master it is refused. */
	c = hlp_exp_add(t, &e2, 0, 1, 11, &masters[1], 0, &ev, &rep);
	T_NE(c, HLP_EXP_NIL);
	T_EQ(rep, b);
	T_EQ(ev, HLP_EXP_NIL);
	errno = 0;
	T_EQ(hlp_exp_add(t, &e2, 0, 2, 22, &masters[2], 0, &ev, &rep), HLP_EXP_NIL);
	T_EQ(errno, EALREADY);
	T_EQ(masters[2].count, 0);
	/* Four slots: a and b dying, c live; one more fits, then the table is full. */
	T_NE(hlp_exp_add(t, &e3, 1, 2, 22, &masters[2], 0, NULL, NULL), HLP_EXP_NIL);
	errno = 0;
	T_EQ(hlp_exp_add(t, &e1, 1, 3, 33, &masters[3], 0, NULL, NULL), HLP_EXP_NIL);
	T_EQ(errno, ENOSPC);
	T_EQ(masters[3].count, 0);
	/* A delivered DESTROY frees a slot. */
	T_EQ(hlp_exp_free(t, a), 0);
	T_NE(hlp_exp_add(t, &e1, 1, 3, 33, &masters[3], 0, NULL, NULL), HLP_EXP_NIL);
	hlp_exp_stats(t, &st);
	T_EQ(st.evicted, 1);
	T_EQ(st.replaced, 1);
	T_EQ(st.refused_full, 1);
	T_EQ(st.live, 3);
	T_EQ(st.dying, 1);
	/* Bad class. */
	errno = 0;
	T_EQ(hlp_exp_add(t, &e1, 2, 3, 33, &masters[3], 0, NULL, NULL), HLP_EXP_NIL);
	T_EQ(errno, EINVAL);
	hlp_exp_table_free(t);
	return 0;
}

static int
test_expiry_and_masters(void)
{
	const struct hlp_exp_class cls[] = { { 10, 3 }, { 300, 3 } };
	struct hlp_exp_table *t = hlp_exp_table_create(32, cls, 2);
	uint32_t idx[6], out[8];
	struct ct_tuple p;
	unsigned i, n;

	T_ASSERT(t != NULL);
	reset_masters();
	for (i = 0; i < 6; i++) {
		struct hlp_expect e = exp_of((uint16_t)(3000 + i), 0);

		/* Class 0 (10 s) for even ones, added one second apart. */
		idx[i] = hlp_exp_add(t, &e, i & 1, i / 3, i / 3, &masters[i / 3], i * SEC, NULL,
				     NULL);
		T_NE(idx[i], HLP_EXP_NIL);
	}
	/* Nothing before 10 s; at 12 s the class-0 ones added at 0 and 2 s, oldest first. */
	T_EQ(hlp_exp_expire(t, 9 * SEC, master_of, NULL, out, 8), 0);
	n = hlp_exp_expire(t, 12 * SEC, master_of, NULL, out, 8);
	T_EQ(n, 2);
	T_EQ(out[0], idx[0]);
	T_EQ(out[1], idx[2]);
	T_EQ(hlp_exp_get(t, idx[0])->end, HLP_EXP_END_EXPIRED);
	T_EQ(masters[0].count, 1);
	/* A match after the timeout is no match; expiry ends it and reports it. */
	p = pkt_of(3004, 0, 1);
	T_EQ(hlp_exp_match(t, &p, 14 * SEC, master_of, NULL), HLP_EXP_NIL);
	T_EQ(hlp_exp_get(t, idx[4])->state, HLP_EXP_LIVE);
	n = hlp_exp_expire(t, 14 * SEC, master_of, NULL, out, 8);
	T_EQ(n, 1);
	T_EQ(out[0], idx[4]);
	T_EQ(hlp_exp_get(t, idx[4])->end, HLP_EXP_END_EXPIRED);
	/* The bound on one call. */
	T_EQ(hlp_exp_expire(t, 1000 * SEC, master_of, NULL, out, 1), 1);
	/* A master that ends takes its live expectations with it (3004 expired already). */
	n = hlp_exp_remove_master(t, &masters[1], out, 8);
	T_EQ(n, 2);
	T_EQ(out[0], idx[3]);
	T_EQ(out[1], idx[5]);
	T_EQ(hlp_exp_get(t, out[0])->end, HLP_EXP_END_REMOVED);
	T_EQ(masters[1].count, 0);
	T_EQ(masters[1].head, HLP_EXP_NIL);
	hlp_exp_table_free(t);
	return 0;
}

static int
test_bad_create(void)
{
	const struct hlp_exp_class ok[] = { { 300, 1 } }, zero_t[] = { { 0, 1 } },
				   zero_m[] = { { 300, 0 } }, long_t[] = { { 86401, 1 } };

	errno = 0;
	T_ASSERT(hlp_exp_table_create(0, ok, 1) == NULL && errno == EINVAL);
	T_ASSERT(hlp_exp_table_create((1u << 20) + 1, ok, 1) == NULL);
	T_ASSERT(hlp_exp_table_create(8, ok, 0) == NULL);
	T_ASSERT(hlp_exp_table_create(8, ok, HLP_EXP_CLASSES + 1) == NULL);
	T_ASSERT(hlp_exp_table_create(8, zero_t, 1) == NULL);
	T_ASSERT(hlp_exp_table_create(8, zero_m, 1) == NULL);
	T_ASSERT(hlp_exp_table_create(8, long_t, 1) == NULL);
	return 0;
}

/* Random adds, matches, removals and frees against a plain model of who is live. */
static int
test_random_model(void)
{
	enum { MAX = 200, PORTS = 400, OPS = 60000 };
	const struct hlp_exp_class cls[] = { { 300, 4 } };
	struct hlp_exp_table *t = hlp_exp_table_create(MAX, cls, 1);
	static uint32_t live_of_port[PORTS];
	uint32_t dying[MAX], n_dying = 0, seed = 12345, op;
	struct hlp_exp_stats st;
	unsigned i, live = 0;

	T_ASSERT(t != NULL);
	reset_masters();
	for (i = 0; i < PORTS; i++)
		live_of_port[i] = HLP_EXP_NIL;
	for (op = 0; op < OPS; op++) {
		uint16_t port;
		unsigned m, kind;

		seed = seed * 1103515245u + 12345u;
		port = (uint16_t)((seed >> 8) % PORTS);
		m = (seed >> 20) % MASTERS;
		kind = (seed >> 28) & 3;
		if (kind <= 1) {
			struct hlp_expect e = exp_of(port, 0);
			uint32_t ev, rep, idx;

			idx = hlp_exp_add(t, &e, 0, m, m, &masters[m], 0, &ev, &rep);
			if (ev != HLP_EXP_NIL) {
				live_of_port[hlp_exp_get(t, ev)->tuple.dport] = HLP_EXP_NIL;
				dying[n_dying++] = ev;
				live--;
			}
			if (rep != HLP_EXP_NIL) {
				live_of_port[port] = HLP_EXP_NIL;
				dying[n_dying++] = rep;
				live--;
			}
			if (idx != HLP_EXP_NIL) {
				T_EQ(live_of_port[port], HLP_EXP_NIL);
				live_of_port[port] = idx;
				live++;
			} else {
				T_ASSERT(errno == ENOSPC || errno == EALREADY);
				if (errno == EALREADY)
					T_NE(live_of_port[port], HLP_EXP_NIL);
			}
		} else if (kind == 2) {
			struct ct_tuple p = pkt_of(port, 0, (uint16_t)seed);
			uint32_t idx = hlp_exp_match(t, &p, 1, master_of, NULL);

			T_EQ(idx, live_of_port[port]);
			if (idx != HLP_EXP_NIL) {
				live_of_port[port] = HLP_EXP_NIL;
				dying[n_dying++] = idx;
				live--;
			}
		} else if (n_dying > 0) {
			uint32_t k = (seed >> 4) % n_dying;

			T_EQ(hlp_exp_free(t, dying[k]), 0);
			dying[k] = dying[--n_dying];
		}
		hlp_exp_stats(t, &st);
		T_EQ(st.live, live);
		T_EQ(st.dying, n_dying);
	}
	/* Every master's count is its list's length, and the lists hold the live ones. */
	for (i = 0; i < MASTERS; i++) {
		unsigned len = 0;
		uint32_t x;

		for (x = masters[i].head; x != HLP_EXP_NIL; x = hlp_exp_get(t, x)->mnext) {
			T_EQ(hlp_exp_get(t, x)->state, HLP_EXP_LIVE);
			T_EQ(hlp_exp_get(t, x)->master_slot, i);
			len++;
		}
		T_EQ(len, masters[i].count);
	}
	printf("# %u ops: %u live, %u dying at the end\n", OPS, live, n_dying);
	hlp_exp_table_free(t);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_match_life),
	T_CASE(test_limits),
	T_CASE(test_expiry_and_masters),
	T_CASE(test_bad_create),
	T_CASE(test_random_model),
};

T_MAIN(cases)
