/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard's timer wheel: expiry at the exact tick, deadlines longer than
 * a turn of the wheel and jumps in time, an earlier deadline (a TCP
 * state change) met on time, also for many entries and twice in one burst.
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

/* SYN_SENT 4 s, SYN_RECV 2 s, CLOSE 1 s: each step nearer, within a turn (4.3 s). */
static void
short_handshake(struct ct_conf *c)
{
	c->timeout_s[CT_TO_TCP_SYN_SENT] = 4;
	c->timeout_s[CT_TO_TCP_SYN_RECV] = 2;
	c->timeout_s[CT_TO_TCP_CLOSE] = 1;
}

/* Segment of connection `k`: 10.0.0.1:(20000 + k) -> 192.0.2.1:80. */
static struct ct_pkt
seg_k(unsigned k, int reply, uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct ct_pkt p = mk(6, 0x0100000a, 0x010200c0, (uint16_t)(20000 + k), 80, flags);

	if (reply)
		p = rev(p, flags);
	p.tcp_seq = seq;
	p.tcp_ack = ack;
	p.tcp_sack = ack;
	p.tcp_win = 65535;
	return p;
}

/*
 * Many earlier deadlines in one burst: 200 connections get their SYN/ACK
 * (SYN_SENT 4 s to SYN_RECV 2 s: each relinked nearer), the last also a
 * RST (CLOSE, 1 s: relinked again) and a SYN that reopens it (destroyed;
 * with events off its slot is reused in the same burst, with events on it
 * is left dying). Every SYN_RECV entry ends at 2 s, the reopened one at
 * 4 s, and no dying entry is put back in the wheel (no DESTROY is re-sent
 * before a result).
 */
static int
test_relinks_in_one_burst(void)
{
	enum { N = 200 };
	static struct ct_pkt b[N + 2];
	static uint8_t v[N + 2];
	static struct ct_event_rec r[4 * N];
	int events;

	for (events = 0; events < 2; events++) {
		struct ct_shard *s = mkshard(1024, events, short_handshake);
		uint64_t t1 = T0 + SEC / 1000, end_recv = t1 + 2 * SEC, end_new = t1 + 4 * SEC;
		unsigned k, n = 0, resent = 0, destroys = 0, i;
		struct ct_stats st;

		T_ASSERT(s != NULL);
		for (k = 0; k < N; k++)
			T_EQ(one(s, seg_k(k, 0, TH_SYN, 100, 0), T0), CT_V_PASS);
		for (k = 0; k < N; k++)
			b[k] = seg_k(k, 1, TH_SYN | TH_ACK, 500, 101);
		b[N] = seg_k(N - 1, 0, TH_RST | TH_ACK, 101, 501);
		b[N + 1] = seg_k(N - 1, 0, TH_SYN, 7000, 0);
		T_EQ(ct_process_burst(s, b, N + 2, t1, v), N + 2);
		for (k = 0; k < N + 2; k++)
			T_EQ(v[k], CT_V_PASS);
		ct_shard_stats(s, &st);
		T_EQ(st.insert, N + 1);
		T_EQ(st.count, N);
		if (events) {
			n = drain(s, r, 4 * N, t1);
			T_ASSERT(n <= 4 * N);
		}
		/* Up to two ticks before 2 s: all there. */
		ct_shard_expire(s, end_recv - 2 * CT_TICK_NS, 1u << 20);
		ct_shard_stats(s, &st);
		T_EQ(st.count, N);
		T_EQ(st.expired, 0);
		/* Two ticks after: the 199 SYN_RECV entries are gone, on time. */
		ct_shard_expire(s, end_recv + 2 * CT_TICK_NS, 1u << 20);
		ct_shard_stats(s, &st);
		T_EQ(st.count, 1);
		T_EQ(st.expired, N - 1);
		if (events)
			n += drain(s, r + n, 4 * N - n, end_recv + 2 * CT_TICK_NS);
		ct_shard_expire(s, end_new - 2 * CT_TICK_NS, 1u << 20);
		ct_shard_stats(s, &st);
		T_EQ(st.count, 1);
		ct_shard_expire(s, end_new + 2 * CT_TICK_NS, 1u << 20);
		ct_shard_stats(s, &st);
		T_EQ(st.count, 0);
		T_EQ(st.expired, N);
		if (events) {
			n += drain(s, r + n, 4 * N - n, end_new + 2 * CT_TICK_NS);
			for (i = 0; i < n; i++) {
				destroys += (r[i].events & CT_EV_DESTROY) != 0;
				resent += (r[i].flags & CT_REC_F_RESEND) != 0;
			}
			/* The reopened connection's first entry, 199 SYN_RECV, the new one. */
			T_EQ(destroys, N + 1);
			T_EQ(resent, 0);
		}
		ct_shard_free(s);
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_expiry_exact),
	T_CASE(test_wheel_long_and_jumps),
	T_CASE(test_earlier_deadline_on_time),
	T_CASE(test_relinks_in_one_burst),
};

T_MAIN(cases)
