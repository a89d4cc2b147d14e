/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Translated entries in a shard: the reply tuple a hook binds is a second
 * key of the entry (replies found by it, the reverse of the original no
 * longer), the records carry it, the packets get their rewrite targets,
 * and the binding is given back only when the entry is freed, after its
 * DESTROY was delivered.
 */

#include <errno.h>

#include "ct_index.h"
#include "shard_test_util.h"

#define CLIENT 0x0200000au  /* 10.0.0.2 */
#define SERVER 0x010200c0u  /* 192.0.2.1 */
#define POOL   0x016433c6u  /* 198.51.100.1 */

/* A test binder: source translation to POOL, ports from 20000 up, a log of releases. */
struct binder {
	uint16_t next_port;
	int refuse;
	unsigned bound, released, bad_release;
	unsigned released_unused; /* given back as the entry was being made */
	uint16_t last_released;
};

static int
bind_snat(void *arg, const struct ct_pkt *p, struct ct_tuple *reply, uint16_t *status)
{
	struct binder *b = arg;
	uint32_t pool = POOL;

	if (b->refuse)
		return -ENOSPC;
	if (p->tuple.dport == 53 || memcmp(p->tuple.src, &(uint32_t){ SERVER }, 4) == 0) {
		/* "exclude": no translation */
		ct_tuple_reverse(reply, &p->tuple);
		*status = CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE;
		return 0;
	}
	ct_tuple_reverse(reply, &p->tuple);
	memcpy(reply->dst, &pool, 4);
	reply->dport = b->next_port++;
	*status = CT_S_SRC_NAT | CT_S_SRC_NAT_DONE | CT_S_DST_NAT_DONE;
	b->bound++;
	return 1;
}

static void
release_snat(void *arg, const struct ct_tuple *reply, uint16_t status)
{
	struct binder *b = arg;

	if (!(status & CT_S_SRC_NAT))
		b->bad_release++;
	b->released++;
	b->released_unused += (status & CT_NAT_REL_UNUSED) != 0;
	b->last_released = reply->dport;
}

static void
tw_nat(struct ct_conf *c)
{
	c->nat = true;
}

static struct ct_shard *
nat_shard(struct binder *b, int events)
{
	struct ct_shard *s = mkshard(1024, events, tw_nat);
	struct ct_nat_hook h = { bind_snat, release_snat, b };

	if (s == NULL || ct_shard_set_nat(s, &h) != 0)
		return NULL;
	return s;
}

/* The translated reply of `p`: from SERVER to POOL:port. */
static struct ct_pkt
xrev(struct ct_pkt p, uint16_t port, uint8_t flags)
{
	struct ct_pkt r = rev(p, flags);
	uint32_t pool = POOL;

	memcpy(r.tuple.dst, &pool, 4);
	r.tuple.dport = port;
	r.hash = ct_tuple_hash(&r.tuple);
	return r;
}

/*
 * Whether rewrite target `to` of a packet of tuple `from` is `want`, with
 * the checksum changes of that rewrite (CT_NAT_CSUM_SET) in its source
 * address bytes 4..8, as ct_nat_csum_deltas() works them out.
 */
static int
target_is(const struct ct_tuple *to, const struct ct_tuple *from, const struct ct_tuple *want)
{
	struct ct_tuple t = *to;
	uint16_t d[2];

	T_EQ(t.src[8], CT_NAT_CSUM_SET);
	ct_nat_csum_deltas(from, want, d);
	T_MEMEQ(t.src + 4, d, sizeof(d));
	memset(t.src + 4, 0, sizeof(t.src) - 4);
	T_MEMEQ(&t, want, sizeof(t));
	return 0;
}

static uint8_t
one_nat(struct ct_shard *s, struct ct_pkt p, uint64_t now, struct ct_pkt_info *pi,
	struct ct_tuple *to)
{
	uint8_t v = 0xff;

	memset(to, 0, sizeof(*to));
	ct_process_burst_nat(s, &p, 1, now, &v, pi, to, NULL);
	return v;
}

static int
test_reply_by_translated_tuple(void)
{
	struct binder b = { .next_port = 20000 };
	struct ct_shard *s = nat_shard(&b, 1);
	struct ct_pkt syn = mk(6, CLIENT, SERVER, 40000, 80, TH_SYN), back;
	struct ct_pkt_info pi;
	struct ct_tuple to, want;
	struct ct_event_rec r[8];
	uint32_t pool = POOL;
	unsigned n;

	T_ASSERT(s != NULL);
	T_EQ(one_nat(s, syn, T0, &pi, &to), CT_V_PASS);
	T_EQ(pi.nat, 1);
	T_EQ(pi.dir, CT_DIR_ORIG);
	/* The first packet leaves from POOL:20000. */
	want = syn.tuple;
	memcpy(want.src, &pool, 4);
	want.sport = 20000;
	T_EQ(target_is(&to, &syn.tuple, &want), 0);
	n = drain(s, r, 8, T0);
	T_EQ(n, 1);
	T_ASSERT(r[0].status & CT_S_SRC_NAT);
	T_ASSERT(r[0].status & CT_S_SRC_NAT_DONE);
	T_EQ(r[0].reply.dport, 20000);
	T_MEMEQ(r[0].reply.dst, &pool, 4);

	/* The untranslated reverse is not this flow: it would be a new one. */
	T_EQ(one_nat(s, rev(syn, TH_SYN | TH_ACK), T0 + 1, &pi, &to), CT_V_DROP);
	T_EQ(pi.nat, 0);
	/* The translated reply is, in the reply direction, rewritten back to the client. */
	T_EQ(one_nat(s, xrev(syn, 20000, TH_SYN | TH_ACK), T0 + 2, &pi, &to), CT_V_PASS);
	T_EQ(pi.dir, CT_DIR_REPLY);
	T_EQ(pi.nat, 1);
	T_EQ(pi.state, CT_STATE_ESTABLISHED);
	ct_tuple_reverse(&want, &syn.tuple);
	back = xrev(syn, 20000, TH_SYN | TH_ACK);
	T_EQ(target_is(&to, &back.tuple, &want), 0);
	T_EQ(ct_shard_live(s), 1);
	ct_shard_free(s);
	return 0;
}

/*
 * The checksum changes each direction's targets carry are those worked out
 * from the packet and its target, whatever the sums come to: a reply's are
 * an original packet's negated, except where those fold to 0xffff (a
 * translation that leaves a checksum as it was: a client address with the
 * pool address's two halves swapped, the same port), worked out in full.
 */
static int
test_carried_deltas_both_ways(void)
{
	static const struct {
		uint32_t client; /* as the tuple holds it */
		uint16_t sport, port;
	} cases[] = {
		{ CLIENT, 40000, 20000 },
		{ 0x33c60164u, 30000, 30000 }, /* 100.1.198.51: no change to either sum */
		{ 0x33c60164u, 30001, 30002 }, /* no change to the IPv4 header's */
		{ 0x01000000u, 1, 65535 },
		{ 0xfeffffffu, 65535, 1024 },
		{ 0x0200000au, 20001, 20001 }, /* the port kept, the address changed */
	};
	struct binder b = { .next_port = 0 };
	struct ct_shard *s = nat_shard(&b, 0);
	struct ct_pkt_info pi;
	struct ct_tuple to, want;
	uint32_t pool = POOL;
	unsigned i;

	T_ASSERT(s != NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_pkt first = mk(17, cases[i].client, SERVER, cases[i].sport, 5000, 0);
		struct ct_pkt back = xrev(first, cases[i].port, 0);

		b.next_port = cases[i].port;
		T_EQ(one_nat(s, first, T0, &pi, &to), CT_V_PASS);
		T_EQ(pi.nat, 1);
		want = first.tuple;
		memcpy(want.src, &pool, 4);
		want.sport = cases[i].port;
		T_EQ(target_is(&to, &first.tuple, &want), 0);
		T_EQ(one_nat(s, back, T0 + 1, &pi, &to), CT_V_PASS);
		T_EQ(pi.dir, CT_DIR_REPLY);
		ct_tuple_reverse(&want, &first.tuple);
		T_EQ(target_is(&to, &back.tuple, &want), 0);
	}
	ct_shard_free(s);
	return 0;
}

static int
test_icmp_error_finds_translated(void)
{
	struct binder b = { .next_port = 30000 };
	struct ct_shard *s = nat_shard(&b, 0);
	struct ct_pkt udp = mk(17, CLIENT, SERVER, 5000, 7777, 0), err;
	struct ct_pkt_info pi;
	struct ct_tuple to;
	uint32_t pool = POOL;

	T_ASSERT(s != NULL);
	T_EQ(one_nat(s, udp, T0, &pi, &to), CT_V_PASS);
	/* A port unreachable from SERVER to POOL quoting POOL:30000 -> SERVER:7777. */
	err = udp;
	memcpy(err.tuple.src, &pool, 4);
	err.tuple.sport = 30000;
	err.cls = CT_PKT_ICMP_ERROR;
	err.hash = ct_tuple_hash(&err.tuple);
	T_EQ(one_nat(s, err, T0 + 1, &pi, &to), CT_V_PASS);
	T_EQ(pi.state, CT_STATE_RELATED);
	T_EQ(pi.dir, CT_DIR_REPLY);
	T_EQ(pi.nat, 1);
	/* Its quoted packet becomes the client's own. */
	T_MEMEQ(&to, &udp.tuple, sizeof(to));
	ct_shard_free(s);
	return 0;
}

static int
test_port_held_until_destroy_delivered(void)
{
	struct binder b = { .next_port = 40000 };
	struct ct_shard *s = nat_shard(&b, 1);
	struct ct_pkt udp = mk(17, CLIENT, SERVER, 5000, 9, 0);
	struct ct_event_rec r[8];
	struct ct_pkt_info pi;
	struct ct_tuple to;
	unsigned n;

	T_ASSERT(s != NULL);
	T_EQ(one_nat(s, udp, T0, &pi, &to), CT_V_PASS);
	drain(s, r, 8, T0);
	T_EQ(ct_shard_flush(s, T0 + 1, 0), 1);
	/* The DESTROY is out but not delivered: the binding is held. */
	n = drain(s, r, 8, T0 + 1);
	T_EQ(n, 1);
	T_ASSERT(r[0].events & CT_EV_DESTROY);
	T_EQ(r[0].reply.dport, 40000);
	T_EQ(b.released, 0);
	/* Refused: still held after the grace re-send. */
	{
		struct ct_result res = { .slot = r[0].slot, .id = r[0].id,
					 .events = r[0].events, .kind = CT_RES_DESTROY_NACK };

		T_EQ(ct_shard_apply_result(s, &res, T0 + 2), 0);
	}
	T_EQ(b.released, 0);
	ct_shard_expire(s, T0 + 10 * SEC, 1000);
	n = drain(s, r, 8, T0 + 10 * SEC);
	T_EQ(n, 1);
	T_EQ(b.released, 0);
	ack_destroys(s, r, n, T0 + 10 * SEC);
	T_EQ(b.released, 1);
	T_EQ(b.released_unused, 0);
	T_EQ(b.last_released, 40000);
	T_ASSERT(ct_shard_empty(s));
	ct_shard_free(s);
	return 0;
}

/*
 * A translated entry keeps its translation in its key's spare address
 * bytes: records and reply tuples carry whole, clean tuples, and the slot,
 * once freed, serves an untranslated flow (both directions by its key).
 */
static int
test_translation_in_key(void)
{
	struct binder b = { .next_port = 30000 };
	struct ct_shard *s = nat_shard(&b, 1);
	struct ct_pkt syn = mk(6, CLIENT, SERVER, 41000, 443, TH_SYN);
	struct ct_pkt dns = mk(17, CLIENT, SERVER, 5353, 53, 0);
	struct ct_tuple to, want;
	struct ct_event_rec r[8];
	struct ct_pkt_info pi;
	uint32_t pool = POOL, slot;
	unsigned n;

	T_ASSERT(s != NULL);
	T_EQ(one_nat(s, syn, T0, &pi, &to), CT_V_PASS);
	n = drain(s, r, 8, T0);
	T_EQ(n, 1);
	slot = r[0].slot;
	T_MEMEQ(&r[0].orig, &syn.tuple, sizeof(syn.tuple));
	ct_tuple_reverse(&want, &syn.tuple);
	memcpy(want.dst, &pool, 4);
	want.dport = 30000;
	T_MEMEQ(&r[0].reply, &want, sizeof(want));
	T_EQ(ct_shard_flush(s, T0 + 1, 0), 1);
	n = drain(s, r, 8, T0 + 1);
	T_EQ(n, 1);
	T_MEMEQ(&r[0].orig, &syn.tuple, sizeof(syn.tuple));
	T_MEMEQ(&r[0].reply, &want, sizeof(want));
	ack_destroys(s, r, n, T0 + 1);
	T_EQ(b.released, 1);
	T_ASSERT(ct_shard_empty(s));
	/* The same slot, untranslated: its reply is the reverse of its key. */
	T_EQ(one_nat(s, dns, T0 + 2, &pi, &to), CT_V_PASS);
	T_EQ(pi.nat, 0);
	n = drain(s, r, 8, T0 + 2);
	T_EQ(n, 1);
	T_EQ(r[0].slot, slot);
	T_MEMEQ(&r[0].orig, &dns.tuple, sizeof(dns.tuple));
	ct_tuple_reverse(&want, &dns.tuple);
	T_MEMEQ(&r[0].reply, &want, sizeof(want));
	T_EQ(one_nat(s, rev(dns, 0), T0 + 3, &pi, &to), CT_V_PASS);
	T_EQ(pi.dir, CT_DIR_REPLY);
	T_EQ(ct_shard_live(s), 1);
	ct_shard_free(s);
	return 0;
}

static int
test_untranslated_and_refused(void)
{
	struct binder b = { .next_port = 50000 };
	struct ct_shard *s = nat_shard(&b, 0);
	struct ct_pkt dns = mk(17, CLIENT, SERVER, 5353, 53, 0);
	struct ct_pkt_info pi;
	struct ct_tuple to;
	struct ct_stats st;

	T_ASSERT(s != NULL);
	/* Not translated: both directions by the one key, no rewrite. */
	T_EQ(one_nat(s, dns, T0, &pi, &to), CT_V_PASS);
	T_EQ(pi.nat, 0);
	T_EQ(one_nat(s, rev(dns, 0), T0 + 1, &pi, &to), CT_V_PASS);
	T_EQ(pi.dir, CT_DIR_REPLY);
	T_EQ(pi.nat, 0);
	T_EQ(ct_shard_live(s), 1);
	/* A refusal drops the connection and creates nothing. */
	b.refuse = 1;
	T_EQ(one_nat(s, mk(6, CLIENT, SERVER, 1, 2, TH_SYN), T0 + 2, &pi, &to), CT_V_DROP);
	ct_shard_stats(s, &st);
	T_EQ(st.nat_refused, 1);
	T_EQ(ct_shard_live(s), 1);
	ct_shard_free(s);
	return 0;
}

static int
test_reply_tuple_collision_refused(void)
{
	struct binder b = { .next_port = 82 };
	struct ct_shard *s = nat_shard(&b, 0);
	struct ct_pkt_info pi;
	struct ct_tuple to;
	struct ct_stats st;
	/* An untranslated flow (the binder leaves SERVER's own alone) SERVER:54 -> POOL:82. */
	struct ct_pkt plain = mk(17, SERVER, POOL, 54, 82, 0);
	/* CLIENT:7000 -> SERVER:54 bound to POOL:82 would answer to that flow's tuple. */
	struct ct_pkt c = mk(17, CLIENT, SERVER, 7000, 54, 0);

	T_ASSERT(s != NULL);
	T_EQ(one_nat(s, plain, T0, &pi, &to), CT_V_PASS);
	T_EQ(pi.nat, 0);
	T_EQ(one_nat(s, c, T0 + 1, &pi, &to), CT_V_DROP);
	ct_shard_stats(s, &st);
	T_EQ(st.nat_refused, 1);
	T_EQ(b.released, 1);
	T_EQ(b.released_unused, 1);   /* no packet left with it */
	T_EQ(b.last_released, 82);
	/* The next port is free of collisions. */
	T_EQ(one_nat(s, c, T0 + 2, &pi, &to), CT_V_PASS);
	T_EQ(pi.nat, 1);
	T_EQ(to.sport, 83);
	T_EQ(ct_shard_live(s), 2);
	ct_shard_free(s);
	return 0;
}

static int
test_set_nat_rules(void)
{
	struct binder b = { 0 };
	struct ct_nat_hook h = { bind_snat, release_snat, &b };
	struct ct_shard *plain = mkshard(64, 0, NULL), *s = mkshard(64, 0, tw_nat);
	struct ct_shard_mem m0, m1;
	struct ct_conf c;

	T_ASSERT(plain != NULL && s != NULL);
	T_EQ(ct_shard_set_nat(plain, &h), -ENOTSUP);
	T_EQ(ct_shard_set_nat(s, &h), 0);
	T_EQ(one(s, mk(17, CLIENT, SERVER, 1, 2, 0), T0), CT_V_PASS);
	T_EQ(ct_shard_set_nat(s, NULL), -EBUSY);
	/* The doubled index is accounted for; translations live in the entries. */
	ct_conf_init(&c);
	c.max_entries = 65536;
	T_EQ(ct_shard_mem_size(&c, &m0), 0);
	c.nat = true;
	T_EQ(ct_shard_mem_size(&c, &m1), 0);
	T_EQ(m1.index, 2 * m0.index);
	T_EQ(m1.entries, m0.entries);
	ct_shard_free(plain);
	ct_shard_free(s);
	return 0;
}

static void
tw_nat_small(struct ct_conf *c)
{
	c->nat = true;
	c->early_drop = false;
	c->fill_alarm_high_pct = 0;
}

/*
 * A burst of new connections is bound ahead, in the prefetch stage: every
 * entry keeps the binding its first packet got, and a binding no entry
 * took (a second SYN of a flow the burst just created, a SYN the full
 * table drops) is given back by the end of the burst, so no port stays held.
 */
static int
test_bind_ahead_in_burst(void)
{
	enum { PAIRS = 24, SINGLE = 16, P = 2 * PAIRS + SINGLE, MAX = 32 };
	struct binder b = { .next_port = 21000 };
	struct ct_nat_hook h = { bind_snat, release_snat, &b };
	struct ct_shard *s = mkshard(MAX, 1, tw_nat_small);
	struct ct_pkt pk[P];
	struct ct_pkt_info pi[P];
	struct ct_tuple to[P];
	uint8_t v[P];
	struct ct_event_rec r[64];
	unsigned i, n, made = 0;

	T_ASSERT(s != NULL);
	T_EQ(ct_shard_set_nat(s, &h), 0);
	/* PAIRS flows, each SYN twice in a row, then SINGLE more: 40 flows to a table of 32. */
	for (i = 0; i < P; i++)
		pk[i] = mk(6, CLIENT, SERVER,
			   (uint16_t)(1000 + (i < 2 * PAIRS ? i / 2 : i - PAIRS)), 80, TH_SYN);
	memset(to, 0, sizeof(to));
	n = ct_process_burst_nat(s, pk, P, T0, v, pi, to, NULL);
	/* The count of packets left a target: every one that passed translated. */
	for (i = 0; i < P; i++)
		n -= to[i].family == 4;
	T_EQ(n, 0);
	for (i = 0; i < P; i++) {
		if (v[i] != CT_V_PASS) {
			T_EQ(pi[i].nat, 0);
			T_ASSERT(i >= 2 * PAIRS + (MAX - PAIRS));
			continue;
		}
		T_EQ(pi[i].nat, 1);
		/* A repeated SYN goes out with its entry's port, not the one taken ahead for it. */
		if (i < 2 * PAIRS && i % 2 == 1)
			T_EQ(to[i].sport, to[i - 1].sport);
		else
			made++;
	}
	T_EQ(made, MAX);
	T_EQ(ct_shard_live(s), MAX);
	/* Each entry holds one port; every other binding was given back, unused. */
	T_EQ(b.bound - b.released, MAX);
	T_EQ(b.released_unused, b.released);
	T_ASSERT(b.released > 0);
	n = drain(s, r, 64, T0);
	T_EQ(n, MAX);
	for (i = 0; i < n; i++)
		T_EQ(r[i].reply.dport, to[i < PAIRS ? 2 * i : PAIRS + i].sport);
	/* And once the entries are gone, nothing is held. */
	T_EQ(ct_shard_flush(s, T0 + 1, 0), MAX);
	n = drain(s, r, 64, T0 + 1);
	ack_destroys(s, r, n, T0 + 1);
	T_EQ(b.bound, b.released);
	T_EQ(b.released_unused, b.bound - MAX);
	T_EQ(b.bad_release, 0);
	T_ASSERT(ct_shard_empty(s));
	ct_shard_free(s);
	return 0;
}

/* A TCP segment's sequence fields, as a window tracker reads them. */
static struct ct_pkt
sq(struct ct_pkt p, uint32_t seq, uint32_t ack)
{
	p.tcp_seq = seq;
	p.tcp_ack = ack;
	p.tcp_sack = ack;
	p.tcp_win = 65535;
	return p;
}

/*
 * A packet of a translated flow that its tracker refuses gets no rewrite
 * target (the target is taken before the tracker runs, then undone): a
 * segment far out of the window, with and without policy info. The
 * flow's next valid packet is translated again.
 */
static int
test_refused_packet_not_rewritten(void)
{
	struct binder b = { .next_port = 20000 };
	struct ct_shard *s = nat_shard(&b, 0);
	struct ct_pkt syn = mk(6, CLIENT, SERVER, 40100, 80, TH_SYN), far;
	struct ct_pkt_info pi;
	struct ct_stats st;
	struct ct_tuple to;
	uint8_t v;

	T_ASSERT(s != NULL);
	T_EQ(one_nat(s, sq(syn, 100, 0), T0, &pi, &to), CT_V_PASS);
	T_EQ(pi.nat, 1);
	T_EQ(one_nat(s, sq(xrev(syn, 20000, TH_SYN | TH_ACK), 500, 101), T0 + 1, &pi, &to),
	     CT_V_PASS);
	T_EQ(pi.nat, 1);
	T_EQ(one_nat(s, sq(mk(6, CLIENT, SERVER, 40100, 80, TH_ACK), 101, 501), T0 + 2, &pi, &to),
	     CT_V_PASS);
	T_EQ(to.family, 4);
	one_nat(s, sq(mk(6, CLIENT, SERVER, 40100, 80, TH_ACK), 90000000, 501), T0 + 3, &pi, &to);
	ct_shard_stats(s, &st);
	T_EQ(st.invalid_by_reason[CT_INV_TCP_WINDOW], 1);
	T_EQ(pi.nat, 0);
	T_EQ(to.family, 0);
	memset(&to, 0xff, sizeof(to));
	v = 0xff;
	far = sq(xrev(syn, 20000, TH_ACK), 80000000, 101);
	ct_process_burst_nat(s, &far, 1, T0 + 4, &v, NULL, &to, NULL);
	ct_shard_stats(s, &st);
	T_EQ(st.invalid_by_reason[CT_INV_TCP_WINDOW], 2);
	T_EQ(to.family, 0);
	T_EQ(one_nat(s, sq(xrev(syn, 20000, TH_ACK), 501, 101), T0 + 5, &pi, &to), CT_V_PASS);
	T_EQ(pi.nat, 1);
	T_EQ(pi.dir, CT_DIR_REPLY);
	T_EQ(to.family, 4);
	ct_shard_free(s);
	return 0;
}

/*
 * With two nodes an entry, a full table of translated flows loads the
 * index to its design load: the spill counts stay exact through the
 * inserts, a deletion of every other flow and the flush, and every flow
 * is found by its original tuple and its translated reply.
 */
static int
test_spill_counts_translated(void)
{
	enum { N = 1000 };
	struct binder b = { .next_port = 20000 };
	struct ct_shard *s = nat_shard(&b, 0);
	struct ct_pkt_info pi;
	struct ct_tuple to;
	static struct ct_pkt p[N];
	unsigned i, found = 0;

	T_ASSERT(s != NULL);
	for (i = 0; i < N; i++) {
		p[i] = mk(6, CLIENT + (i << 24), SERVER, (uint16_t)(1024 + i), 443, TH_SYN);
		T_EQ(one_nat(s, p[i], T0, &pi, &to), CT_V_PASS);
	}
	T_EQ(b.bound, N);
	T_EQ(ct_index_check(s), 0);
	for (i = 0; i < s->nb; i++)
		found += s->buckets[i].spill;
	printf("# %u nodes of %u in their second bucket\n", found, 2 * N);
	T_ASSERT(found > 0);
	for (i = 0, found = 0; i < N; i++) {
		enum ct_dir d;
		struct ct_pkt r = xrev(p[i], (uint16_t)(20000 + i), TH_SYN | TH_ACK);

		found += ct_index_lookup(s, &p[i].tuple, p[i].hash, &d) != CT_NIL &&
			 ct_index_lookup(s, &r.tuple, r.hash, &d) != CT_NIL && d == CT_DIR_REPLY;
	}
	T_EQ(found, N);
	for (i = 0; i < N; i += 2)
		T_EQ(ct_shard_delete(s, &p[i].tuple, T0 + 1000), 0);
	T_EQ(b.released, N / 2);
	T_EQ(ct_index_check(s), 0);
	for (i = 1, found = 0; i < N; i += 2) {
		struct ct_pkt r = xrev(p[i], (uint16_t)(20000 + i), TH_SYN | TH_ACK);

		found += one_nat(s, r, T0 + 2000, &pi, &to) == CT_V_PASS && pi.dir == CT_DIR_REPLY;
	}
	T_EQ(found, N / 2);
	while (ct_shard_live(s) > 0)
		ct_shard_flush(s, T0 + 3000, 0);
	T_EQ(ct_index_check(s), 0);
	T_EQ(b.released, N);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_reply_by_translated_tuple),
	T_CASE(test_icmp_error_finds_translated),
	T_CASE(test_port_held_until_destroy_delivered),
	T_CASE(test_translation_in_key),
	T_CASE(test_untranslated_and_refused),
	T_CASE(test_reply_tuple_collision_refused),
	T_CASE(test_set_nat_rules),
	T_CASE(test_carried_deltas_both_ways),
	T_CASE(test_bind_ahead_in_burst),
	T_CASE(test_refused_packet_not_rewritten),
	T_CASE(test_spill_counts_translated),
};

T_MAIN(cases)
