/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Raw staged records: the shard stages each record raw
 * (ct_shard_ev_peek_raw()) and ct_event_rec_cook() builds it where it is
 * read. A cooked record must be, byte for byte, the record
 * ct_fill_record() builds from the entry at that moment with the same
 * event bits, flags, sequence number and targets; through an event channel
 * (ev_chan_pull_records()) it must come out the same as from
 * ct_shard_ev_peek(); a record that is not raw is left alone.
 */
#include <errno.h>
#include <string.h>

#include "ct_stage.h"
#include "ct_tcp_window.h"
#include "ev.h"
#include "shard_test_util.h"

/* The staged record, cooked, against ct_fill_record() of entry idx now. */
static int
check_one(struct ct_shard *s, uint32_t idx, uint64_t now)
{
	uint32_t now_tick = ct_shard_now(s, &now);
	struct ct_event_rec raw, ref;
	struct ct_event_rec *st;
	unsigned n;

	st = ct_shard_ev_peek_raw(s, &n);
	T_EQ(n, 1);
	raw = st[0];
	T_ASSERT(ct_event_rec_raw(&raw));
	T_EQ(raw.slot, idx);
	T_EQ(raw.id, s->pool[idx].id);
	ct_event_rec_cook(&raw);
	T_ASSERT(!ct_event_rec_raw(&raw));
	ct_fill_record(s, idx, now_tick, &ref);
	ref.events = raw.events;
	ref.flags = raw.flags;
	ref.seq = raw.seq;
	ref.targets = raw.targets;
	T_EQ(memcmp(&raw, &ref, sizeof(raw)), 0);
	/* ct_shard_ev_peek() cooks in place: the same record. */
	st = ct_shard_ev_peek(s, &n);
	T_EQ(n, 1);
	T_EQ(memcmp(&st[0], &raw, sizeof(raw)), 0);
	ct_shard_ev_commit(s, n, now);
	return 0;
}

/* Every TCP flag state of both directions: the record's protoinfo is the tracker's. */
static int
test_raw_tcp_flags(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt syn = mk(6, 0x0100000a, 0x010200c0, 40000, 80, TH_SYN);
	struct ct_event_rec r[4];
	uint64_t now = T0;
	uint32_t idx;
	unsigned seen, tf, rt, k;

	T_ASSERT(s != NULL);
	one(s, syn, now);
	T_EQ(drain(s, r, 4, now), 1);
	idx = r[0].slot;
	for (seen = 0; seen < 256; seen++) {
		for (tf = 0; tf < 4; tf++) {
			for (rt = 0; rt < 4; rt++) {
				struct ct_entry *e = &s->pool[idx];
				struct ct_event_rec c;
				unsigned d;

				e->tw_seen[0] = (uint8_t)seen;
				e->tw_seen[1] = (uint8_t)(255 - seen);
				e->tcp_flags = (uint8_t)((e->tcp_flags & ~3u) | tf);
				e->tw_retrans = (uint8_t)((e->tw_retrans & 0x3f) | rt << 6);
				now += 1000;
				ct_stage_bits(s, idx, ct_shard_now(s, &now), CT_EVI_PROTOINFO);
				c = ct_shard_ev_peek_raw(s, &k)[0];
				ct_event_rec_cook(&c);
				for (d = 0; d < 2; d++) {
					T_EQ(c.tcp_dflags[d], ct_tw_linux_flags(e, (enum ct_dir)d));
					T_EQ(c.tcp_wscale[d], ct_tw_wscale(e, (enum ct_dir)d));
				}
				if (check_one(s, idx, now) != 0)
					return -1;
			}
		}
	}
	ct_shard_free(s);
	return 0;
}

/* A connection's life, a UDP flow, an ICMP echo, a delete and an expiry. */
static int
test_raw_life(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt syn = mk(6, 0x0100000a, 0x010200c0, 40001, 443, TH_SYN);
	struct ct_pkt udp = mk(17, 0x0200000a, 0x010200c0, 5353, 53, 0);
	struct ct_pkt icmp = mk(1, 0x0300000a, 0x010200c0, 7, 0, 0);
	const struct ct_pkt seq[] = {
		syn, rev(syn, TH_SYN | TH_ACK), syn, udp, rev(udp, 0), icmp, rev(icmp, 0),
	};
	struct ct_event_rec r[4];
	uint64_t now = T0;
	unsigned i, n;

	T_ASSERT(s != NULL);
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct ct_pkt p = seq[i];
		struct ct_event_rec *st;

		if (i == 2)
			p.tcp_flags = TH_ACK; /* the handshake's last ACK */
		now += 1000000;
		one(s, p, now);
		st = ct_shard_ev_peek_raw(s, &n);
		if (n == 0)
			continue;
		T_EQ(n, 1);
		if (check_one(s, st[0].slot, now) != 0)
			return -1;
	}
	/* A delete: the DESTROY of a dying entry, its time left and stop time. */
	now += 1000000;
	T_EQ(ct_shard_delete(s, &syn.tuple, now), 0);
	if (check_one(s, ct_shard_ev_peek_raw(s, &n)[0].slot, now) != 0)
		return -1;
	/* The UDP flow times out: a DESTROY from the wheel. */
	now += 3600 * SEC;
	ct_shard_expire(s, now, 64);
	T_ASSERT(drain(s, r, 4, now) >= 1);
	T_ASSERT(r[0].events & CT_EV_DESTROY);
	T_ASSERT(!ct_event_rec_raw(&r[0]));
	ct_shard_free(s);
	return 0;
}

/* Raw records through a channel come out built, as ct_shard_ev_peek() builds them. */
static int
test_raw_through_chan(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt syn = mk(6, 0x0100000a, 0x010200c0, 40002, 22, TH_SYN);
	struct ct_event_rec want[4], got[4], other;
	struct ct_event_rec *st;
	char err[128];
	struct ev_chan *c = ev_chan_create(64, 64, err, sizeof(err));
	unsigned n, i;

	T_ASSERT(s != NULL && c != NULL);
	one(s, syn, T0);
	one(s, rev(syn, TH_SYN | TH_ACK), T0 + 1000);
	st = ct_shard_ev_peek_raw(s, &n);
	T_EQ(n, 2);
	T_ASSERT(ct_event_rec_raw(&st[0]) && ct_event_rec_raw(&st[1]));
	T_EQ(ev_chan_push_records(c, st, n), n);
	st = ct_shard_ev_peek(s, &n);
	for (i = 0; i < n; i++)
		want[i] = st[i];
	ct_shard_ev_commit(s, n, T0 + 1000);
	T_EQ(ev_chan_pull_records(c, got, 4), 2);
	T_EQ(memcmp(got, want, 2 * sizeof(got[0])), 0);
	T_ASSERT(got[0].events & CT_EV_NEW);
	T_EQ(got[0].orig.sport, 40002);
	T_EQ(got[0].reply.dport, 40002);
	/* A record that is not raw (pad3 zero) goes through as it is. */
	memset(&other, 0xa5, sizeof(other));
	memset(other.pad3, 0, sizeof(other.pad3));
	T_ASSERT(!ct_event_rec_raw(&other));
	got[0] = other;
	ct_event_rec_cook(&got[0]);
	T_EQ(memcmp(&got[0], &other, sizeof(other)), 0);
	ev_chan_free(c);
	ct_shard_free(s);
	return 0;
}

/* Pushes that wrap around the ring's end, and one the ring cannot take whole. */
static int
test_raw_chan_wrap(void)
{
	struct ct_shard *s = mkshard(256, 1, NULL);
	struct ct_event_rec want[8], got[16];
	struct ct_event_rec *st;
	char err[128];
	struct ev_chan *c = ev_chan_create(7, 16, err, sizeof(err));
	uint64_t now = T0;
	unsigned round, n, i, pushed;
	uint16_t port = 1000;

	T_ASSERT(s != NULL && c != NULL);
	for (round = 0; round < 12; round++) {
		unsigned k = round == 11 ? 8 : 3;

		for (i = 0; i < k; i++)
			one(s, mk(6, 0x0100000a, 0x010200c0, port++, 80, TH_SYN), now += 1000);
		st = ct_shard_ev_peek_raw(s, &n);
		T_EQ(n, k);
		pushed = ev_chan_push_records(c, st, n);
		/* The last round: 8 records, room for 7 (a prefix goes in). */
		T_EQ(pushed, round == 11 ? 7u : k);
		st = ct_shard_ev_peek(s, &n);
		for (i = 0; i < n; i++)
			want[i] = st[i];
		ct_shard_ev_commit(s, pushed, now);
		T_EQ(ev_chan_pull_records(c, got, 16), pushed);
		T_EQ(memcmp(got, want, pushed * sizeof(got[0])), 0);
	}
	ev_chan_free(c);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_raw_tcp_flags),
	T_CASE(test_raw_life),
	T_CASE(test_raw_through_chan),
	T_CASE(test_raw_chan_wrap),
};

T_MAIN(cases)
