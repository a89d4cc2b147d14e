/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard's dying set: a DESTROY refused, re-sent after the grace time
 * and acknowledged; the grace back-off and its range; the facts a DESTROY
 * carries; a resend counted once; and a re-arm during an expiry run.
 */

#include "shard_test_util.h"

static int
test_destroy_nack_grace_and_ack(void)
{
	uint64_t first[16];
	unsigned run;

	for (run = 0; run < 2; run++) {
		struct ct_shard *s = mkshard(16, 1, NULL);
		struct ct_event_rec r[32];
		struct ct_stats st;
		unsigned i, n, fired = 0;
		uint64_t now = T0 + SEC;

		for (i = 0; i < 16; i++)
			one(s, mk(17, 0x0100000a, 0x010200c0, (uint16_t)(100 + i), 53, 0), T0);
		drain(s, r, 32, T0);
		ct_shard_flush(s, now, 0);
		n = drain(s, r, 32, now);
		T_EQ(n, 16);
		/* Every destroy nacked: re-armed within [now, now + 1000 ms). */
		for (i = 0; i < 16; i++) {
			struct ct_result res = { .slot = r[i].slot, .id = r[i].id,
						 .events = r[i].events,
						 .kind = CT_RES_DESTROY_NACK };

			T_EQ(ct_shard_apply_result(s, &res, now), 0);
		}
		ct_shard_stats(s, &st);
		T_EQ(st.dying, 16);
		T_EQ(st.count, 0);
		/* Dying entries count against the limit. */
		T_EQ(one(s, mk(17, 0x0200000a, 0x010200c0, 1, 53, 0), now), CT_V_DROP);
		/* Step through the grace window a tick at a time. */
		for (i = 0; fired < 16 && i < 2000; i++) {
			uint64_t t = now + (uint64_t)i * CT_TICK_NS;
			unsigned k;

			ct_shard_expire(s, t, 1u << 20);
			n = drain(s, r, 32, t);
			for (k = 0; k < n; k++) {
				T_ASSERT(r[k].flags & CT_REC_F_RESEND);
				T_ASSERT(t - now < SEC + CT_TICK_NS);
				if (run == 0)
					first[fired] = t;
				else
					T_UEQ(first[fired], t);
				fired++;
			}
			ack_destroys(s, r, n, t);
		}
		T_EQ(fired, 16);
		ct_shard_stats(s, &st);
		T_EQ(st.destroy_resent, 16);
		T_EQ(st.destroy_acked, 16);
		T_ASSERT(ct_shard_empty(s));
		ct_shard_free(s);
	}
	return 0;
}

static void
grace_5s(struct ct_conf *c)
{
	c->destroy_grace_ms = 5000;
}

/*
 * Backoff: each refusal of an entry's DESTROY doubles its grace window, up to
 * CT_GRACE_BACKOFF_MAX doublings and CT_GRACE_BACKOFF_CAP_MS, and a grace
 * longer than the cap stays as it is. 64 entries are refused six times in a
 * row; every resend of round k falls inside the expected window of its
 * refusal, and some in the upper half of it (the window really is that wide;
 * 64 draws all below the half would be a 2^-64 chance, and the seed is
 * fixed). Then each is acked and the shard is empty.
 */
static int
grace_backoff_case(unsigned grace_ms)
{
	enum { N = 64, ROUNDS = 6 };
	struct ct_shard *s = mkshard(N, 1, grace_ms == 5000 ? grace_5s : NULL);
	const uint64_t grace = (uint64_t)grace_ms * 1000000u;
	const uint64_t cap = (uint64_t)CT_GRACE_BACKOFF_CAP_MS * 1000000u;
	struct ct_event_rec r[N], d[N];
	struct ct_stats st;
	uint64_t now = T0 + SEC;
	unsigned i, n, k;

	T_ASSERT(s != NULL);
	for (i = 0; i < N; i++)
		one(s, mk(17, 0x0100000a, 0x010200c0, (uint16_t)(100 + i), 53, 0), T0);
	drain(s, r, N, T0);
	ct_shard_flush(s, now, 0);
	n = drain(s, d, N, now);
	T_EQ(n, N);
	for (k = 0; k < ROUNDS; k++) {
		uint64_t win = grace << (k < CT_GRACE_BACKOFF_MAX ? k : CT_GRACE_BACKOFF_MAX);
		uint64_t t, longest = 0;
		unsigned fired = 0;

		if (win > cap)
			win = grace > cap ? grace : cap;
		for (i = 0; i < N; i++) {
			struct ct_result res = { .slot = d[i].slot, .id = d[i].id,
						 .events = d[i].events,
						 .kind = CT_RES_DESTROY_NACK };

			T_EQ(ct_shard_apply_result(s, &res, now), 0);
		}
		for (t = now; fired < N && t <= now + win + 2 * CT_TICK_NS; t += CT_TICK_NS) {
			ct_shard_expire(s, t, 1u << 20);
			n = drain(s, r, N, t);
			for (i = 0; i < n; i++) {
				T_ASSERT(r[i].events & CT_EV_DESTROY);
				T_ASSERT(r[i].flags & CT_REC_F_RESEND);
				T_ASSERT(fired < N);
				d[fired++] = r[i];
				if (t - now > longest)
					longest = t - now;
			}
		}
		T_EQ(fired, N);
		T_ASSERT(longest < win + CT_TICK_NS);
		T_ASSERT(longest >= win / 2);
		/* A short grace widens from the second round on. */
		T_ASSERT(k == 0 || grace >= cap || longest > grace);
		now = t;
	}
	ack_destroys(s, d, N, now);
	ct_shard_stats(s, &st);
	T_EQ(st.destroy_resent, N * ROUNDS);
	T_EQ(st.destroy_acked, N);
	T_ASSERT(ct_shard_empty(s));
	ct_shard_free(s);
	return 0;
}

/*
 * A DESTROY resent to the listeners that refused it (a mask of up to 32
 * slots) carries what the first one did: the TCP state, flags (which side
 * closed first) and window scales, the counters.
 */
static int
test_resend_keeps_protoinfo(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt c = mk(6, 0x0100000a, 0x010200c0, 40000, 80, TH_SYN);
	struct ct_pkt sv = rev(c, TH_SYN | TH_ACK);
	struct ct_event_rec r[8], d;
	uint64_t now = T0, t;
	unsigned n = 0;

	T_ASSERT(s != NULL);
	T_EQ(one(s, c, now), CT_V_PASS);
	T_EQ(one(s, sv, now + 1000), CT_V_PASS);
	c.tcp_flags = TH_ACK;
	T_EQ(one(s, c, now + 2000), CT_V_PASS);
	c.tcp_flags = TH_FIN | TH_ACK;
	T_EQ(one(s, c, now + 3000), CT_V_PASS);
	drain(s, r, 8, now + 3000);
	now += SEC;
	T_EQ(ct_shard_flush(s, now, 0), 1);
	T_EQ(drain(s, &d, 1, now), 1);
	T_ASSERT(d.events & CT_EV_DESTROY);
	/* The client closed first: IP_CT_TCP_FLAG_CLOSE_INIT (0x04) on its side. */
	T_ASSERT(d.tcp_dflags[0] & 0x04);
	T_ASSERT(!(d.tcp_dflags[1] & 0x04));
	{
		/* Refused by listeners in slots 0 and 16..31. */
		struct ct_result res = { .slot = d.slot, .id = d.id, .events = d.events,
					 .kind = CT_RES_DESTROY_NACK, .targets = 0xffff0001u };

		T_EQ(ct_shard_apply_result(s, &res, now), 0);
	}
	for (t = now; n == 0 && t < now + 20 * SEC; t += 10 * CT_TICK_NS) {
		ct_shard_expire(s, t, 1u << 20);
		n = drain(s, r, 8, t);
	}
	T_EQ(n, 1);
	T_ASSERT(r[0].flags & CT_REC_F_RESEND);
	T_EQ(r[0].targets, 0xffff0001u);
	T_EQ(r[0].events, d.events);
	T_EQ(r[0].tcp_state, d.tcp_state);
	T_EQ(r[0].tcp_dflags[0], d.tcp_dflags[0]);
	T_EQ(r[0].tcp_dflags[1], d.tcp_dflags[1]);
	T_EQ(r[0].tcp_wscale[0], d.tcp_wscale[0]);
	T_EQ(r[0].tcp_wscale[1], d.tcp_wscale[1]);
	T_EQ(r[0].pkts[0], d.pkts[0]);
	T_EQ(r[0].bytes[1], d.bytes[1]);
	T_MEMEQ(&r[0].orig, &d.orig, sizeof(d.orig));
	ack_destroys(s, r, n, t);
	T_ASSERT(ct_shard_empty(s));
	ct_shard_free(s);
	return 0;
}

static int
test_destroy_grace_backoff(void)
{
	/* 1 s: 1, 2, 4, 4, 4, 4 s. 5 s: 5 s each time. */
	return grace_backoff_case(1000) || grace_backoff_case(5000);
}

static void
grace_too_long(struct ct_conf *c)
{
	c->destroy_grace_ms = CT_GRACE_MAX_MS + 1;
}

static void
grace_longest(struct ct_conf *c)
{
	c->destroy_grace_ms = CT_GRACE_MAX_MS;
}

/* The library refuses a grace the app's config would (one hour at most). */
static int
test_grace_range(void)
{
	struct ct_shard *s = mkshard(16, 1, grace_longest);

	T_ASSERT(s != NULL);
	ct_shard_free(s);
	T_ASSERT(mkshard(16, 1, grace_too_long) == NULL);
	return 0;
}

/*
 * A dying entry keeps its stop time over the TCP window block, which an
 * ICMP entry uses for its code: the DESTROY (and a resent one) carries both.
 */
static int
test_dying_facts(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt p = mk(1, 0x0a000001, 0x010200c0, 77, 0, 0);
	struct ct_event_rec r[8];
	unsigned n, i, destroys = 0;

	T_ASSERT(s != NULL);
	p.icmp_type = 8;
	p.icmp_code = 3;
	p.in_port = 5;
	T_EQ(one(s, p, T0), CT_V_PASS);
	T_EQ(drain(s, r, 8, T0), 1);
	T_EQ(ct_shard_flush(s, T0 + SEC, 0), 1);
	{
		struct ct_event_rec *st = ct_shard_ev_peek(s, &n);

		T_EQ(n, 1);
		r[0] = st[0];
		/* Nobody takes it: the grace timer resends it from the dying entry. */
		ct_shard_ev_commit(s, 0, T0 + SEC);
	}
	T_ASSERT(r[0].events & CT_EV_DESTROY);
	T_UEQ(r[0].stop_ns, T0 + SEC);
	T_EQ(r[0].icmp_code, 3);
	T_EQ(r[0].l4_seen, 8);
	T_EQ(r[0].in_port, 5);
	for (i = 2; i < 20 && destroys == 0; i++) {
		ct_shard_expire(s, T0 + i * SEC, 1u << 20);
		n = drain(s, r, 8, T0 + i * SEC);
		if (n > 0 && (r[0].events & CT_EV_DESTROY)) {
			destroys++;
			T_UEQ(r[0].stop_ns, T0 + SEC);
			T_EQ(r[0].icmp_code, 3);
			T_EQ(r[0].l4_seen, 8);
			T_EQ(r[0].in_port, 5);
		}
	}
	T_EQ(destroys, 1);
	ct_shard_free(s);
	return 0;
}

/* A re-sent DESTROY the ring refused is counted in destroy_resent once,
 * when the channel takes it, as the control core counts it. */
static int
test_destroy_resent_counted_once(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt p = mk(17, 0x0100000a, 0x010200c0, 4000, 53, 0);
	struct ct_event_rec r[4];
	struct ct_stats st;
	uint64_t t = T0;
	unsigned n = 0, tries, refused = 0, taken = 0;

	T_ASSERT(s != NULL);
	one(s, p, T0);
	T_EQ(drain(s, r, 4, T0), 1); /* NEW */
	T_EQ(ct_shard_flush(s, T0, 0), 1u);
	T_EQ(drain(s, r, 4, T0), 1); /* DESTROY, first send */
	{
		struct ct_result res = { .slot = r[0].slot, .id = r[0].id, .events = r[0].events,
					 .kind = CT_RES_DESTROY_NACK };

		T_EQ(ct_shard_apply_result(s, &res, T0), 0);
	}
	/* The grace timer fires: the ring refuses the resend twice, then takes it. */
	for (tries = 0; taken == 0 && tries < 4000; tries++) {
		t += CT_TICK_NS;
		ct_shard_expire(s, t, 1u << 20);
		ct_shard_ev_peek(s, &n);
		if (n == 0)
			continue;
		if (refused < 2) {
			ct_shard_ev_commit(s, 0, t);
			refused++;
			continue;
		}
		T_EQ(drain(s, r, 4, t), 1);
		T_ASSERT(r[0].flags & CT_REC_F_RESEND);
		taken++;
	}
	T_EQ(refused, 2);
	T_EQ(taken, 1);
	ct_shard_stats(s, &st);
	T_EQ(st.ring_full, 2);
	T_EQ(st.destroy_resent, 1);
	ack_destroys(s, r, 1, t);
	T_ASSERT(ct_shard_empty(s));
	ct_shard_free(s);
	return 0;
}

static void
tw_stage1(struct ct_conf *c)
{
	c->ev_stage_size = 1;
	c->destroy_grace_ms = 1;
}

/* A destroy re-armed while the wheel runs its slot fires at the next tick,
 * not a full turn (68 s) later. */
static int
test_rearm_during_expiry(void)
{
	struct ct_shard *s = mkshard(16, 1, tw_stage1);
	struct ct_event_rec r[4];
	uint64_t t;
	unsigned i, n, got = 0;

	for (i = 0; i < 4; i++) {
		one(s, mk(17, 0x0100000a, 0x010200c0, (uint16_t)(100 + i), 53, 0), T0);
		n = drain(s, r, 4, T0);
	}
	t = T0 + 31 * SEC;
	for (i = 0; i < 50 && got < 4; i++, t += CT_TICK_NS) {
		ct_shard_expire(s, t, 1u << 20);
		n = drain(s, r, 4, t);
		got += n;
		ack_destroys(s, r, n, t);
	}
	T_EQ(got, 4);
	T_ASSERT(ct_shard_empty(s));
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_destroy_nack_grace_and_ack),
	T_CASE(test_destroy_grace_backoff),
	T_CASE(test_grace_range),
	T_CASE(test_dying_facts),
	T_CASE(test_destroy_resent_counted_once),
	T_CASE(test_rearm_during_expiry),
	T_CASE(test_resend_keeps_protoinfo),
};

T_MAIN(cases)
