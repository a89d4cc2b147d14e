/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard's timer wheel: expiry at the exact tick, deadlines longer than
 * a turn of the wheel and jumps in time, and an earlier deadline (a TCP
 * state change) met on time.
 */
#include <errno.h>

#include "shard_test_util.h"

static int
test_expiry_exact(void)
{
	struct ct_shard *s = mkshard(1024, 1, NULL);
	struct ct_pkt u = mk(17, 0x0100000a, 0x010200c0, 5000, 53, 0);
	struct ct_event_rec r[8];
	struct ct_stats st;
	uint32_t first_id;
	/* 30 s in ticks of 2^20 ns, rounded up, is where the entry ends. */
	uint64_t ticks = (30 * SEC + CT_TICK_NS - 1) >> CT_TICK_SHIFT;
	uint64_t end = T0 + (ticks << CT_TICK_SHIFT);

	one(s, u, T0);
	drain(s, r, 8, T0);
	first_id = r[0].id;
	one(s, u, T0); /* same tick: refresh keeps the deadline */
	drain(s, r, 8, T0);
	one(s, u, end - CT_TICK_NS); /* a tick before the (refreshed) end: found */
	ct_shard_stats(s, &st);
	T_EQ(st.insert, 1);
	/* The refresh above moved the end by one tick less than 30 s. */
	end = end - CT_TICK_NS + (ticks << CT_TICK_SHIFT);
	one(s, u, end);
	ct_shard_stats(s, &st);
	T_EQ(st.insert, 2);
	T_EQ(st.expired, 1);
	T_EQ(drain(s, r, 8, end), 2);
	T_ASSERT(r[0].events & CT_EV_DESTROY);
	T_EQ(r[0].id, first_id);
	T_EQ(r[1].events, CT_EV_NEW);
	T_NE(r[1].id, first_id);
	ct_shard_free(s);
	return 0;
}

static int
test_wheel_long_and_jumps(void)
{
	struct ct_shard *s = mkshard(4096, 0, NULL);
	struct ct_stats st;
	unsigned i;

	for (i = 0; i < 1000; i++) {
		struct ct_pkt p = mk(50, 0x0100000a + (i << 24), 0x010200c0 + (i >> 8), 0, 0, 0);

		one(s, p, T0 + i * 1000000);
	}
	/* ESP: the generic timeout, 600 s, far beyond the wheel's 68 s turn. */
	for (i = 1; i < 600; i += 7)
		ct_shard_expire(s, T0 + (uint64_t)i * SEC, 1u << 20);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 1000);
	ct_shard_expire(s, T0 + 602 * SEC, 1u << 20);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 0);
	T_EQ(st.expired, 1000);
	T_ASSERT(ct_shard_empty(s));
	/* A jump of days: one turn of the wheel, no work beyond it. */
	one(s, mk(50, 1, 2, 0, 0, 0), T0 + 700 * SEC);
	ct_shard_expire(s, T0 + 700 * SEC + 86400 * 3 * SEC, 1u << 20);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 0);
	ct_shard_free(s);
	return 0;
}

/* Client 10.0.0.1:40000 -> 192.0.2.1:80, with the seq/ack a window tracker accepts. */
static struct ct_pkt
seg(int reply, uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct ct_pkt p = mk(6, 0x0100000a, 0x010200c0, 40000, 80, flags);

	if (reply)
		p = rev(p, flags);
	p.tcp_seq = seq;
	p.tcp_ack = ack;
	p.tcp_sack = ack;
	p.tcp_win = 65535;
	return p;
}

static void
fin_wait_2s(struct ct_conf *c)
{
	c->timeout_s[CT_TO_TCP_FIN_WAIT] = 2;
}

/*
 * A deadline that moves earlier (ESTABLISHED, 5 days, then a FIN: FIN_WAIT)
 * still ends the entry on time: 120 s away, more than a turn of the wheel
 * (4096 slots, 4.3 s), the entry is left at its old slot and relinked when
 * the wheel meets it; 2 s away, less than a turn, it is relinked at once.
 */
static int
test_earlier_deadline_on_time(void)
{
	static const unsigned fin_wait[2] = { 120, 2 };
	unsigned k, t;

	for (k = 0; k < 2; k++) {
		struct ct_shard *s = mkshard(1024, 0, k == 0 ? NULL : fin_wait_2s);
		uint64_t fin_at = T0 + SEC, end = fin_at + (uint64_t)fin_wait[k] * SEC;
		struct ct_stats st;

		T_ASSERT(s != NULL);
		T_EQ(one(s, seg(0, TH_SYN, 100, 0), T0), CT_V_PASS);
		T_EQ(one(s, seg(1, TH_SYN | TH_ACK, 500, 101), T0 + 1000), CT_V_PASS);
		T_EQ(one(s, seg(0, TH_ACK, 101, 501), T0 + 2000), CT_V_PASS);
		T_EQ(one(s, seg(0, TH_FIN | TH_ACK, 101, 501), fin_at), CT_V_PASS);
		/* Every 250 ms up to a tick before the end: still there. */
		for (t = 1; fin_at + t * (SEC / 4) < end - CT_TICK_NS; t++)
			ct_shard_expire(s, fin_at + t * (SEC / 4), 1u << 20);
		ct_shard_stats(s, &st);
		T_EQ(st.count, 1);
		T_EQ(st.expired, 0);
		/* Within a tick and a visit after it: gone (not 5 days later). */
		ct_shard_expire(s, end + 2 * CT_TICK_NS, 1u << 20);
		ct_shard_stats(s, &st);
		T_EQ(st.count, 0);
		T_EQ(st.expired, 1);
		ct_shard_free(s);
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_expiry_exact),
	T_CASE(test_wheel_long_and_jumps),
	T_CASE(test_earlier_deadline_on_time),
};

T_MAIN(cases)
