/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard's NEW/UPDATE event bookkeeping: missed bits retried and stale
 * results refused, a full TCP life cycle with every set of wanted event
 * kinds, the kinds parser, records nobody wants neither staged nor kept
 * as missed, and entries freed at once with events off.
 */
#include <errno.h>
#include <string.h>

#include "shard_test_util.h"

static int
test_missed_retry_and_stale(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt syn = mk(6, 0x0100000a, 0x010200c0, 40000, 80, TH_SYN);
	struct ct_event_rec r[8];
	struct ct_result res;
	struct ct_stats st;
	unsigned n;

	/* The ring takes nothing: NEW goes to missed. */
	one(s, syn, T0);
	ct_shard_ev_peek(s, &n);
	T_EQ(n, 1);
	ct_shard_ev_commit(s, 0, T0);
	ct_shard_stats(s, &st);
	T_EQ(st.ring_full, 1);
	/* The reply: NEW (still NEW) + REPLY + PROTOINFO in one retried record. */
	one(s, rev(syn, TH_SYN | TH_ACK), T0 + 1000);
	T_EQ(drain(s, r, 8, T0), 1);
	T_ASSERT(r[0].events & CT_EV_NEW);
	T_ASSERT(r[0].events & CT_EV_REPLY);
	T_ASSERT(r[0].flags & CT_REC_F_RETRY);
	/* A nack from the control core: bits come back on the next packet. */
	memset(&res, 0, sizeof(res));
	res.slot = r[0].slot;
	res.id = r[0].id;
	res.events = r[0].events;
	res.kind = CT_RES_NACK;
	T_EQ(ct_shard_apply_result(s, &res, T0), 0);
	/* A stale one (wrong id) is ignored. */
	res.id ^= 0x5555;
	T_EQ(ct_shard_apply_result(s, &res, T0), -ESTALE);
	res.slot = 1u << 30;
	T_EQ(ct_shard_apply_result(s, &res, T0), -EINVAL);
	/* An unchanged packet (SYN/ACK retransmit is IGNORE) still carries the missed bits. */
	one(s, rev(syn, TH_SYN | TH_ACK), T0 + 2000);
	T_EQ(drain(s, r, 8, T0), 1);
	T_ASSERT(r[0].events & CT_EV_NEW);
	T_ASSERT(r[0].flags & CT_REC_F_RETRY);
	/* Delivered: the next unchanged packet stages nothing. */
	one(s, rev(syn, TH_SYN | TH_ACK), T0 + 3000);
	T_EQ(drain(s, r, 8, T0), 0);
	ct_shard_free(s);
	return 0;
}

static int
test_events_disabled_free_at_once(void)
{
	struct ct_shard *s = mkshard(4, 0, tw_no_early);
	unsigned i, n;

	for (i = 0; i < 4; i++)
		one(s, mk(17, 0x0100000a, 0x010200c0, (uint16_t)(100 + i), 53, 0), T0);
	ct_shard_flush(s, T0, 0);
	T_ASSERT(ct_shard_empty(s));
	ct_shard_ev_peek(s, &n);
	T_EQ(n, 0);
	for (i = 0; i < 4; i++)
		T_EQ(one(s, mk(17, 0x0200000a, 0x010200c0, (uint16_t)(100 + i), 53, 0), T0),
		     CT_V_PASS);
	ct_shard_free(s);
	return 0;
}

/* One connection's life, SYN to TIME_WAIT's end (120 s), with kinds `k`:
 * counts of NEW, UPDATE and DESTROY records, their bits, events_unwanted. */
struct kinds_run {
	unsigned news, updates, destroys;
	uint64_t unwanted;
	uint16_t bits;            /* every record's events, ORed */
	uint8_t destroy_state;
	uint64_t destroy_stop_ns;
};

static int
lifecycle_with_kinds(unsigned k, struct kinds_run *out)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt c = mk(6, 0x0100000a, 0x010200c0, 40000, 80, TH_SYN);
	struct ct_pkt sv = rev(c, TH_SYN | TH_ACK);
	const uint8_t cf[] = { TH_SYN, 0, TH_ACK, TH_ACK, 0, TH_FIN | TH_ACK, 0, TH_ACK };
	const uint8_t sf[] = { 0, TH_SYN | TH_ACK, 0, 0, TH_ACK | TH_FIN, 0, TH_ACK, 0 };
	struct ct_event_rec r[8];
	struct ct_stats st;
	uint64_t t = T0;
	unsigned n, i, j;

	memset(out, 0, sizeof(*out));
	ct_shard_set_event_kinds(s, k);
	for (i = 0; i <= sizeof(cf); i++) {
		if (i == sizeof(cf)) {
			t += 121 * SEC; /* TIME_WAIT's 120 s */
			ct_shard_expire(s, t, 1u << 20);
		} else if (cf[i]) {
			c.tcp_flags = cf[i];
			T_EQ(one(s, c, t), CT_V_PASS);
		} else {
			sv.tcp_flags = sf[i];
			T_EQ(one(s, sv, t), CT_V_PASS);
		}
		t += 1000;
		n = drain(s, r, 8, t);
		for (j = 0; j < n; j++) {
			out->bits |= r[j].events;
			if (r[j].events & CT_EV_DESTROY) {
				out->destroys++;
				out->destroy_state = r[j].tcp_state;
				out->destroy_stop_ns = r[j].stop_ns;
			} else if (r[j].events & CT_EV_NEW) {
				out->news++;
			} else {
				out->updates++;
			}
		}
		ack_destroys(s, r, n, t);
	}
	ct_shard_stats(s, &st);
	out->unwanted = st.events_unwanted;
	T_ASSERT(ct_shard_empty(s));
	ct_shard_free(s);
	return 0;
}

/* A connection's life, SYN to the end of TIME_WAIT, in records. */
static int
test_full_tcp_lifecycle(void)
{
	struct kinds_run run;

	T_EQ(lifecycle_with_kinds(CT_EVK_ALL, &run), 0);
	T_ASSERT(run.bits & CT_EV_NEW);
	T_ASSERT(run.bits & CT_EV_REPLY);
	T_ASSERT(run.bits & CT_EV_ASSURED);
	T_ASSERT(run.bits & CT_EV_PROTOINFO);
	T_EQ(run.news, 1);
	T_ASSERT(run.updates >= 3);
	T_EQ(run.destroys, 1);
	T_EQ(run.destroy_state, CT_TCP_TIME_WAIT);
	T_ASSERT(run.destroy_stop_ns != 0);
	return 0;
}

/* Only the kinds someone listens to are built, in every combination; an
 * entry nobody wants the DESTROY of is freed when it ends. */
static int
test_event_kinds(void)
{
	const unsigned N = CT_EVK_NEW, U = CT_EVK_UPDATE, D = CT_EVK_DESTROY;
	static const unsigned extra[] = { 0, 0x100u }; /* unknown bits ignored */
	struct kinds_run all, got;
	unsigned k, x;

	T_EQ(lifecycle_with_kinds(CT_EVK_ALL, &all), 0);
	T_EQ(all.news, 1);
	T_ASSERT(all.updates >= 3);
	T_EQ(all.destroys, 1);
	T_EQ(all.unwanted, 0);
	for (x = 0; x < 2; x++) {
		for (k = 0; k <= CT_EVK_ALL; k++) {
			T_EQ(lifecycle_with_kinds(k | extra[x], &got), 0);
			T_EQ(got.news, (k & N) ? all.news : 0);
			T_EQ(got.updates, (k & U) ? all.updates : 0);
			T_EQ(got.destroys, (k & D) ? 1u : 0u);
			if (k & D)
				T_EQ(got.destroy_state, CT_TCP_TIME_WAIT);
			T_EQ(got.unwanted, (uint64_t)(all.news - got.news + all.updates - got.updates +
						      all.destroys - got.destroys));
		}
	}
	return 0;
}

/* Missed bits of a kind nobody wants any more are dropped, not retried. */
static int
test_event_kinds_drop_missed(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt syn = mk(6, 0x0100000a, 0x010200c0, 40000, 80, TH_SYN);
	struct ct_pkt sa = rev(syn, TH_SYN | TH_ACK);
	struct ct_event_rec r[4];
	struct ct_stats st;
	unsigned n;

	one(s, syn, T0);
	ct_shard_ev_peek(s, &n);
	T_EQ(n, 1);
	ct_shard_ev_commit(s, 0, T0); /* the ring took nothing: NEW is missed */
	ct_shard_set_event_kinds(s, 0);
	one(s, syn, T0 + 1000); /* a retransmitted SYN: would retry the NEW */
	T_EQ(drain(s, r, 4, T0 + 1000), 0);
	ct_shard_set_event_kinds(s, CT_EVK_ALL);
	one(s, sa, T0 + 2000);
	n = drain(s, r, 4, T0 + 2000);
	T_EQ(n, 1);
	/* An UPDATE for the reply, with no NEW bit and no retry flag. */
	T_EQ(r[0].events & CT_EV_NEW, 0);
	T_ASSERT(r[0].events & CT_EV_REPLY);
	T_EQ(r[0].flags & CT_REC_F_RETRY, 0);
	ct_shard_stats(s, &st);
	T_EQ(st.events_unwanted, 1);
	ct_shard_free(s);
	return 0;
}

/* A DESTROY waiting for its re-send when the last DESTROY listener goes:
 * the entry is freed at the re-send, not sent to nobody. */
static int
test_event_kinds_dying_freed(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt p = mk(17, 0x0100000a, 0x010200c0, 4000, 53, 0);
	struct ct_event_rec r[4];
	struct ct_stats st;
	unsigned n;

	ct_shard_set_event_kinds(s, CT_EVK_DESTROY);
	one(s, p, T0);
	T_EQ(drain(s, r, 4, T0), 0); /* no NEW built */
	T_EQ(ct_shard_flush(s, T0, 0), 1u);
	ct_shard_ev_peek(s, &n);
	T_EQ(n, 1);
	ct_shard_ev_commit(s, 0, T0); /* the ring took nothing: re-armed */
	ct_shard_stats(s, &st);
	T_EQ(st.dying, 1);
	ct_shard_set_event_kinds(s, 0);
	ct_shard_expire(s, T0 + 10 * SEC, 1u << 20); /* past any grace (1 s, backed off) */
	T_EQ(drain(s, r, 4, T0 + 10 * SEC), 0);
	T_ASSERT(ct_shard_empty(s));
	ct_shard_stats(s, &st);
	T_EQ(st.dying, 0);
	T_EQ(st.events_unwanted, 2); /* the NEW, then the re-sent DESTROY */
	ct_shard_free(s);
	return 0;
}

/* The kinds as listeners name them: a comma list, nothing else. */
static int
test_event_kinds_parse(void)
{
	static const struct {
		const char *s;
		int rc;
		unsigned kinds;
	} tab[] = {
		{ "new", 0, CT_EVK_NEW },
		{ "update", 0, CT_EVK_UPDATE },
		{ "destroy", 0, CT_EVK_DESTROY },
		{ "new,destroy", 0, CT_EVK_NEW | CT_EVK_DESTROY },
		{ "destroy,new,update", 0, CT_EVK_ALL },
		{ "new,new", 0, CT_EVK_NEW },
		{ "", -EINVAL, 0 },
		{ ",", -EINVAL, 0 },
		{ "all", -EINVAL, 0 },
		{ "New", -EINVAL, 0 },
		{ "new,bogus", -EINVAL, 0 },
		{ "new destroy", -EINVAL, 0 },
		/* 64 characters of good names: longer than any list needs */
		{ "new,update,destroy,new,update,destroy,new,update,destroy,new,new", -EINVAL, 0 },
	};
	unsigned i, k;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		k = 0xdead;
		T_EQ(ct_event_kinds_parse(tab[i].s, &k), tab[i].rc);
		T_EQ(k, tab[i].rc == 0 ? tab[i].kinds : 0xdeadu);
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_missed_retry_and_stale),
	T_CASE(test_events_disabled_free_at_once),
	T_CASE(test_full_tcp_lifecycle),
	T_CASE(test_event_kinds),
	T_CASE(test_event_kinds_drop_missed),
	T_CASE(test_event_kinds_dying_freed),
	T_CASE(test_event_kinds_parse),
};

T_MAIN(cases)
