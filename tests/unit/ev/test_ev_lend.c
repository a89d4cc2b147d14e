/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A shard staging straight into event-ring slots lent by its channel
 * (ev_chan_lend(), ev_chan_settle(), ct_shard_ev_lend()): the records
 * that reach the control core are those the shard's own buffer gives,
 * byte for byte and in order, also across the ring's wrap; a full lent
 * area loses nothing (missed bits, retried); a ring with less room than
 * the staging buffer lends nothing, and so do syncs that move fewer than
 * 4 records on average; another producer's records queue after the lent
 * ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dpct_test.h"
#include "ev.h"

#define NOW0 UINT64_C(1000000000)

static struct ct_pkt
udp_pkt(unsigned i, bool reply)
{
	struct ct_pkt p;

	memset(&p, 0, sizeof(p));
	p.tuple.family = 4;
	p.tuple.proto = 17;
	p.tuple.src[0] = 10;
	p.tuple.src[2] = (uint8_t)(i >> 8);
	p.tuple.src[3] = (uint8_t)i;
	p.tuple.dst[0] = 192;
	p.tuple.sport = 4000;
	p.tuple.dport = 53;
	if (reply) {
		struct ct_tuple t = p.tuple;

		ct_tuple_reverse(&p.tuple, &t);
	}
	p.cls = CT_PKT_TRACK;
	p.len = 60;
	p.hash = ct_tuple_hash(&p.tuple);
	return p;
}

static struct ct_shard *
mk_shard(unsigned stage)
{
	struct ct_conf cc;
	char err[128];

	ct_conf_init(&cc);
	cc.max_entries = 4096;
	cc.shard_count = 1;
	cc.seed = 7;
	cc.fill_alarm_high_pct = 0;
	cc.ev_stage_size = stage;
	return ct_shard_create(&cc, err, sizeof(err));
}

static void
track(struct ct_shard *s, unsigned i, bool reply, uint64_t now)
{
	struct ct_pkt p = udp_pkt(i, reply);
	uint8_t v;

	ct_process_burst(s, &p, 1, now, &v);
}

/* Round `r` of the traffic: new flows, replies to some, a flush at the end. */
static void
round_traffic(struct ct_shard *s, unsigned r, uint64_t now)
{
	unsigned i;

	for (i = 0; i < 5; i++)
		track(s, r * 5 + i, false, now);
	if (r > 0) {
		track(s, r * 5 - 3, true, now);
		track(s, r * 5 - 1, true, now);
	}
}

/* Every record the control core can take now, appended at `out[*n]`. */
static void
pull_all(struct ev_chan *c, struct ct_event_rec *out, unsigned *n, unsigned max)
{
	unsigned got;

	while (*n < max && (got = ev_chan_pull_records(c, out + *n, max - *n)) != 0)
		*n += got;
}

static uint64_t
ring_full(struct ct_shard *s)
{
	struct ct_stats st;

	ct_shard_stats(s, &st);
	return st.ring_full;
}

#define MAXR 2048

static struct ct_event_rec got_a[MAXR], got_b[MAXR];

/*
 * Shard A stages into ring slots (ev_worker_sync() lends them), twin B into
 * its own buffer (peek, commit): the same records, in the same order. 7
 * records a round against a 127-record ring and a 40-record staging area:
 * reservations wrap, and records are staged across the wrap.
 */
static int
test_same_records(void)
{
	struct ct_shard *a = mk_shard(40), *b = mk_shard(40);
	char err[128];
	struct ev_chan *c = ev_chan_create(100, 256, err, sizeof(err));
	unsigned na = 0, nb = 0, r, i, n;
	uint64_t now = NOW0;

	T_ASSERT(a != NULL && b != NULL && c != NULL);
	for (r = 0; r < 80; r++) {
		struct ct_event_rec *recs;

		now += 1000;
		round_traffic(a, r, now);
		round_traffic(b, r, now);
		if (r >= 10) {
			/* Staged in the lent slots: not in A's buffer, not yet in the ring. */
			(void)ct_shard_ev_peek_raw(a, &n);
			T_EQ(n, 0);
			T_EQ(ev_chan_records_pending(c), 0);
		}
		ev_worker_sync(c, a, now);
		pull_all(c, got_a, &na, MAXR);
		recs = ct_shard_ev_peek(b, &n);
		T_ASSERT(nb + n <= MAXR);
		memcpy(got_b + nb, recs, n * sizeof(*recs));
		nb += n;
		ct_shard_ev_commit(b, n, now);
	}
	/* Every flow ends: DESTROYs, at most a staging area's worth a round. */
	for (i = 0; i < 100 && (ct_shard_live(a) > 0 || ct_shard_live(b) > 0); i++) {
		struct ct_event_rec *recs;

		now += 1000;
		ct_shard_flush(a, now, 30);
		ct_shard_flush(b, now, 30);
		ev_worker_sync(c, a, now);
		pull_all(c, got_a, &na, MAXR);
		recs = ct_shard_ev_peek(b, &n);
		T_ASSERT(nb + n <= MAXR);
		memcpy(got_b + nb, recs, n * sizeof(*recs));
		nb += n;
		ct_shard_ev_commit(b, n, now);
	}
	T_EQ(ct_shard_live(a), 0);
	T_EQ(na, nb);
	T_ASSERT(na > 3 * 127); /* the ring wrapped, more than once */
	for (i = 0; i < na; i++) {
		T_ASSERT(!ct_event_rec_raw(&got_a[i]));
		if (memcmp(&got_a[i], &got_b[i], sizeof(got_a[i])) != 0)
			T_FAIL_("record %u differs (seq %u against %u)", i, got_a[i].seq,
				got_b[i].seq);
	}
	T_EQ(ring_full(a), 0);
	T_EQ(ring_full(b), 0);
	ev_chan_free(c);
	ct_shard_free(a);
	ct_shard_free(b);
	return 0;
}

/*
 * A full lent area: what did not fit becomes missed bits, counted as
 * ring_full, and goes out with the flow's next packet. Every flow's NEW
 * reaches the ring exactly once.
 */
static int
test_full_area_loses_nothing(void)
{
	struct ct_shard *s = mk_shard(8);
	char err[128];
	struct ev_chan *c = ev_chan_create(64, 64, err, sizeof(err));
	unsigned seen[20] = { 0 }, n = 0, i, retried = 0;
	uint64_t now = NOW0;

	T_ASSERT(s != NULL && c != NULL);
	T_EQ(ev_chan_lend(c, s), 8);
	T_EQ(ct_shard_ev_room(s), 8);
	for (i = 0; i < 20; i++)
		track(s, i, false, now);
	T_EQ(ring_full(s), 12);
	ev_worker_sync(c, s, now);
	pull_all(c, got_a, &n, MAXR);
	T_EQ(n, 8);
	for (i = 0; i < 20; i++) {
		now += 1000;
		track(s, i, false, now);
		ev_worker_sync(c, s, now);
	}
	pull_all(c, got_a, &n, MAXR);
	T_EQ(n, 20);
	for (i = 0; i < n; i++) {
		T_ASSERT(got_a[i].events & CT_EV_NEW);
		T_ASSERT(got_a[i].orig.src[3] < 20);
		seen[got_a[i].orig.src[3]]++;
		retried += (got_a[i].flags & CT_REC_F_RETRY) != 0;
	}
	for (i = 0; i < 20; i++)
		T_EQ(seen[i], 1);
	T_EQ(retried, 12);
	T_EQ(ring_full(s), 12);
	ev_chan_free(c);
	ct_shard_free(s);
	return 0;
}

/* A ring with less room than the staging buffer lends nothing: the copy. */
static int
test_short_ring_copies(void)
{
	struct ct_shard *s = mk_shard(64), *t = mk_shard(8);
	char err[128];
	struct ev_chan *c = ev_chan_create(16, 16, err, sizeof(err));
	struct ev_chan *d = ev_chan_create(100, 16, err, sizeof(err));
	unsigned n = 0, i;

	T_ASSERT(s != NULL && t != NULL && c != NULL && d != NULL);
	T_EQ(ev_chan_lend(c, s), 0);
	ev_worker_sync(c, s, NOW0);
	for (i = 0; i < 10; i++)
		track(s, i, false, NOW0);
	(void)ct_shard_ev_peek_raw(s, &n);
	T_EQ(n, 10);
	T_EQ(ev_worker_sync(c, s, NOW0), 10);
	n = 0;
	pull_all(c, got_a, &n, MAXR);
	T_EQ(n, 10);
	/* One loan at a time. */
	T_EQ(ev_chan_lend(d, t), 8);
	T_EQ(ev_chan_lend(d, t), 0);
	T_EQ(ev_chan_settle(d), 0);
	T_EQ(ev_chan_settle(d), 0);
	ev_chan_free(c);
	ev_chan_free(d);
	ct_shard_free(s);
	ct_shard_free(t);
	return 0;
}

/* Another producer on the worker (NAT port blocks): after the lent records. */
static int
test_push_after_lent(void)
{
	struct ct_shard *s = mk_shard(16);
	char err[128];
	struct ev_chan *c = ev_chan_create(64, 64, err, sizeof(err));
	struct ct_event_rec x;
	unsigned n = 0, m, i;

	T_ASSERT(s != NULL && c != NULL);
	T_EQ(ev_chan_lend(c, s), 16);
	for (i = 0; i < 3; i++)
		track(s, i, false, NOW0);
	T_EQ(ev_chan_records_pending(c), 0);
	memset(&x, 0, sizeof(x));
	x.flags = CT_REC_F_NAT_BLOCK;
	x.seq = 999;
	T_EQ(ev_chan_push_records(c, &x, 1), 1);
	T_EQ(ev_chan_records_pending(c), 4);
	pull_all(c, got_a, &n, MAXR);
	T_EQ(n, 4);
	for (i = 0; i < 3; i++) {
		T_ASSERT(got_a[i].events & CT_EV_NEW);
		T_EQ(got_a[i].orig.src[3], i);
	}
	T_EQ(got_a[3].seq, 999);
	T_EQ(got_a[3].flags, CT_REC_F_NAT_BLOCK);
	/* The loan ended: the shard's own buffer until the next sync. */
	for (i = 3; i < 5; i++)
		track(s, i, false, NOW0);
	(void)ct_shard_ev_peek_raw(s, &n);
	T_EQ(n, 2);
	T_EQ(ev_worker_sync(c, s, NOW0), 2);
	n = 0;
	pull_all(c, got_a, &n, MAXR);
	T_EQ(n, 2);
	T_EQ(got_a[0].orig.src[3], 3);
	T_EQ(got_a[1].orig.src[3], 4);
	/*
	 * Syncs moving 1 record each lend nothing (the shard's own buffer
	 * has the next one); after syncs of 8 each, slots are lent.
	 */
	m = 0;
	for (i = 10; i < 40; i++) {
		track(s, i, false, NOW0);
		T_EQ(ev_worker_sync(c, s, NOW0), 1);
		pull_all(c, got_a, &m, MAXR);
	}
	track(s, 40, false, NOW0);
	(void)ct_shard_ev_peek_raw(s, &n);
	T_EQ(n, 1);
	for (i = 41; i < 201; i++) {
		track(s, i, false, NOW0);
		if (i % 8 == 0) {
			T_ASSERT(ev_worker_sync(c, s, NOW0) > 0);
			pull_all(c, got_a, &m, MAXR);
		}
	}
	track(s, 201, false, NOW0);
	(void)ct_shard_ev_peek_raw(s, &n);
	T_EQ(n, 0);
	T_EQ(ev_worker_sync(c, s, NOW0), 1);
	pull_all(c, got_a, &m, MAXR);
	T_EQ(m, 192);
	T_EQ(ring_full(s), 0);
	n = m;
	for (i = 0; i < n; i++)
		T_EQ(got_a[i].orig.src[3], (uint8_t)(10 + i));
	ev_chan_free(c);
	ct_shard_free(s);
	return 0;
}

/* ct_shard_ev_lend() and ct_shard_ev_reclaim() on their own. */
static int
test_lend_api(void)
{
	struct ct_shard *s = mk_shard(8);
	struct ct_event_rec area[4];
	unsigned n, i;

	T_ASSERT(s != NULL);
	T_EQ(ct_shard_ev_lend(s, NULL, 4, NULL, 0), -EINVAL);
	T_EQ(ct_shard_ev_lend(s, area, 0, NULL, 0), -EINVAL);
	T_EQ(ct_shard_ev_lend(s, area, 2, NULL, 2), -EINVAL);
	T_EQ(ct_shard_ev_reclaim(s), 0);
	track(s, 0, false, NOW0);
	T_EQ(ct_shard_ev_lend(s, area, 2, area + 2, 2), -EBUSY);
	ct_shard_ev_commit(s, 1, NOW0);
	T_EQ(ct_shard_ev_lend(s, area, 2, area + 2, 2), 0);
	T_EQ(ct_shard_ev_lend(s, area, 2, area + 2, 2), -EBUSY);
	T_EQ(ct_shard_ev_room(s), 4);
	for (i = 1; i <= 5; i++)
		track(s, i, false, NOW0);
	T_EQ(ring_full(s), 1);
	T_EQ(ct_shard_ev_room(s), 0);
	(void)ct_shard_ev_peek(s, &n);
	T_EQ(n, 0);
	ct_shard_ev_commit(s, 0, NOW0); /* nothing: the area is the lender's */
	T_EQ(ct_shard_ev_reclaim(s), 4);
	T_EQ(ct_shard_ev_reclaim(s), 0);
	T_EQ(ct_shard_ev_room(s), 8);
	for (i = 0; i < 4; i++) {
		T_ASSERT(ct_event_rec_raw(&area[i]));
		ct_event_rec_cook(&area[i]);
		T_ASSERT(area[i].events & CT_EV_NEW);
		T_EQ(area[i].orig.src[3], i + 1);
	}
	/* Flow 5 did not fit: its NEW waits as missed bits, in the own buffer now. */
	track(s, 5, false, NOW0 + 1000);
	(void)ct_shard_ev_peek(s, &n);
	T_EQ(n, 1);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_same_records),
	T_CASE(test_full_area_loses_nothing),
	T_CASE(test_short_ring_copies),
	T_CASE(test_push_after_lent),
	T_CASE(test_lend_api),
};

T_MAIN(cases)
