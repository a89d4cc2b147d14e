/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Timeout policies (lib/conntrack/ct_tpol.h), table-driven: names from the
 * timeout table, rule lookup, the fallback to the global timeouts, the
 * checks, and the shard: the timeout an entry reports (CTA_TIMEOUT) under
 * its policy through state changes, the retransmission / unacknowledged
 * caps compared with the policy's values (Linux), and entries of other
 * zones and protocols untouched.
 */
#include <errno.h>

#include "ct_import.h"
#include "shard_test_util.h"

/* ------------------------------------------------------------------ */
/* Names */

static int
test_class_names(void)
{
	static const struct {
		const char *proto, *state;
		int want;
	} t[] = {
		{"tcp", "established", CT_TO_TCP_ESTABLISHED},
		{"tcp", "syn_sent2", CT_TO_TCP_SYN_SENT2},
		{"tcp", "unacknowledged", CT_TO_TCP_UNACK},
		{"tcp", "close", CT_TO_TCP_CLOSE},
		{"udp", "unreplied", CT_TO_UDP_UNREPLIED},
		{"udp", "replied", CT_TO_UDP_REPLIED},
		{"icmp", "timeout", CT_TO_ICMP},
		{"icmpv6", "timeout", CT_TO_ICMPV6},
		{"generic", "timeout", CT_TO_GENERIC},
		{"tcp", "estab", -ESRCH},
		{"tcp", "", -ESRCH},
		{"tcp", "timeout", -ESRCH},
		{"icmp", "echo", -ESRCH},
		{"tcp_established", "", -ENOENT},
		{"tc", "established", -ENOENT},
		{"", "timeout", -ENOENT},
		{"sctp", "established", CT_TO_SCTP_ESTABLISHED},
		{"gre", "stream", CT_TO_GRE_STREAM},
		{"sctp", "estab", -ESRCH},
		{"dccp", "open", -ENOENT},
	};
	const char *st;
	char p[32];
	unsigned i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got = ct_tpol_class_find(t[i].proto, t[i].state);

		if (got != t[i].want) {
			printf("# %s/%s: %d, want %d\n", t[i].proto, t[i].state, got, t[i].want);
			return 1;
		}
	}
	/* Every class splits and finds itself again. */
	for (i = 0; i < CT_TO_MAX; i++) {
		T_EQ(ct_tpol_class_split(i, p, sizeof(p), &st), 0);
		T_EQ(ct_tpol_class_find(p, st), (int)i);
	}
	T_EQ(ct_tpol_class_split(CT_TO_MAX, p, sizeof(p), &st), -EINVAL);
	T_EQ(ct_tpol_class_split(CT_TO_TCP_CLOSE, p, 3, &st), -ENOSPC);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Rule lookup and fallback */

static void
set_pol(struct ct_tpol_conf *tc, unsigned k, const char *name)
{
	snprintf(tc->pol[k].name, sizeof(tc->pol[k].name), "%s", name);
	if (tc->n_policies < k + 1)
		tc->n_policies = (uint8_t)(k + 1);
}

static void
add_rule(struct ct_tpol_conf *tc, uint8_t match, uint16_t zone, uint8_t proto, uint16_t port,
	 uint8_t policy)
{
	struct ct_tpol_rule *r = &tc->rule[tc->n_rules++];

	r->match = match;
	r->zone = zone;
	r->proto = proto;
	r->port = port;
	r->policy = policy;
}

static int
test_select(void)
{
	static const struct {
		uint16_t zone;
		uint8_t proto;
		uint16_t sport, dport;
		unsigned want;
	} t[] = {
		{5, 6, 1000, 80, 1},     /* zone 5: the first rule, whatever else */
		{5, 17, 1000, 53, 1},
		{0, 17, 1000, 53, 2},    /* udp to 53 */
		{0, 17, 53, 1000, 0},    /* the port is the original destination only */
		{0, 6, 1000, 53, 3},     /* tcp: the third rule, not the udp one */
		{7, 6, 1000, 22, 3},
		{0, 1, 0, 0, 0},         /* no rule for icmp outside zone 5 */
		{0, 47, 0, 0, 0},
	};
	struct ct_tpol_conf tc;
	struct ct_tuple tu;
	unsigned i;

	memset(&tc, 0, sizeof(tc));
	set_pol(&tc, 0, "a");
	set_pol(&tc, 1, "b");
	set_pol(&tc, 2, "c");
	add_rule(&tc, CT_TPOL_M_ZONE, 5, 0, 0, 1);
	add_rule(&tc, CT_TPOL_M_PROTO | CT_TPOL_M_PORT, 0, 17, 53, 2);
	add_rule(&tc, CT_TPOL_M_PROTO, 0, 6, 0, 3);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&tu, 0, sizeof(tu));
		tu.zone = t[i].zone;
		tu.proto = t[i].proto;
		tu.sport = t[i].sport;
		tu.dport = t[i].dport;
		if (ct_tpol_select(&tc, &tu) != t[i].want) {
			printf("# case %u: policy %u, want %u\n", i, ct_tpol_select(&tc, &tu),
			       t[i].want);
			return 1;
		}
	}
	/* A rule without fields matches everything. */
	add_rule(&tc, 0, 0, 0, 0, 2);
	memset(&tu, 0, sizeof(tu));
	tu.proto = 47;
	T_EQ(ct_tpol_select(&tc, &tu), 2);
	T_EQ(ct_tpol_find(&tc, "b"), 2);
	T_EQ(ct_tpol_find(&tc, "d"), 0);
	return 0;
}

static int
test_fallback(void)
{
	static const struct {
		unsigned pol, cls;
		uint32_t want;
	} t[] = {
		{0, CT_TO_TCP_ESTABLISHED, 432000},  /* no policy: the global value */
		{1, CT_TO_TCP_ESTABLISHED, 120},     /* the policy's */
		{1, CT_TO_TCP_CLOSE, 10},
		{1, CT_TO_TCP_SYN_SENT, 77},         /* not in the policy: the global (changed) */
		{1, CT_TO_UDP_REPLIED, 120},
		{2, CT_TO_UDP_REPLIED, 5},
		{2, CT_TO_TCP_ESTABLISHED, 432000},
		{3, CT_TO_TCP_ESTABLISHED, 0},       /* no such policy */
		{1, CT_TO_MAX, 0},                   /* no such class */
	};
	struct ct_conf c;
	unsigned i;

	ct_conf_init(&c);
	c.timeout_s[CT_TO_TCP_SYN_SENT] = 77;
	set_pol(&c.tpol, 0, "tcp");
	c.tpol.pol[0].timeout_s[CT_TO_TCP_ESTABLISHED] = 120;
	c.tpol.pol[0].timeout_s[CT_TO_TCP_CLOSE] = 10;
	set_pol(&c.tpol, 1, "udp");
	c.tpol.pol[1].timeout_s[CT_TO_UDP_REPLIED] = 5;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t got = ct_tpol_timeout_s(&c, t[i].pol, t[i].cls);

		if (got != t[i].want) {
			printf("# case %u: %u s, want %u\n", i, got, t[i].want);
			return 1;
		}
	}
	/* Slots: 16 global, 11 for the tcp policy, 2 for the udp one. */
	T_EQ(ct_tpol_slots(&c.tpol), CT_TO_MAX + 11 + 2);
	return 0;
}

static int
test_check(void)
{
	static const struct {
		const char *what, *msg;
	} t[] = {
		{"no name", "timeout policy 1: the name must be 1..31 bytes"},
		{"twice", "timeout policy \"a\" is defined twice"},
		{"over max", "timeout policy \"a\": tcp_close = 1001 s is over 1000 s"},
		{"bad policy", "timeout policy rule 0: policy 2 of 1"},
		{"port alone", "timeout policy rule 0: a port needs a protocol with ports "
			       "(tcp, udp, udplite, sctp, dccp)"},
		{"port icmp", "timeout policy rule 0: a port needs a protocol with ports "
			      "(tcp, udp, udplite, sctp, dccp)"},
		{"too many", "16 timeout policies, at most 15"},
	};
	struct ct_tpol_conf tc;
	char err[160];
	unsigned i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&tc, 0, sizeof(tc));
		set_pol(&tc, 0, i == 0 ? "" : "a");
		tc.pol[0].timeout_s[CT_TO_TCP_CLOSE] = i == 2 ? 1001 : 5;
		if (i == 1)
			set_pol(&tc, 1, "a");
		if (i == 3)
			add_rule(&tc, 0, 0, 0, 0, 2);
		if (i == 4)
			add_rule(&tc, CT_TPOL_M_PORT, 0, 0, 80, 1);
		if (i == 5)
			add_rule(&tc, CT_TPOL_M_PORT | CT_TPOL_M_PROTO, 0, 1, 80, 1);
		if (i == 6)
			tc.n_policies = CT_TPOL_MAX + 1;
		err[0] = '\0';
		if (ct_tpol_check(&tc, 1000, err, sizeof(err)) != -EINVAL ||
		    strcmp(err, t[i].msg) != 0) {
			printf("# %s: \"%s\", want \"%s\"\n", t[i].what, err, t[i].msg);
			return 1;
		}
	}
	memset(&tc, 0, sizeof(tc));
	set_pol(&tc, 0, "a");
	tc.pol[0].timeout_s[CT_TO_TCP_CLOSE] = 1000;
	add_rule(&tc, CT_TPOL_M_PORT | CT_TPOL_M_PROTO, 0, 6, 80, 1);
	T_EQ(ct_tpol_check(&tc, 1000, err, sizeof(err)), 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The shard */

/*
 * Zone 5 gets "short": tcp established 120, close 3, unacknowledged 200;
 * udp replied 30.
 */
static void
tw_short(struct ct_conf *c)
{
	tw_no_early(c);
	set_pol(&c->tpol, 0, "short");
	c->tpol.pol[0].timeout_s[CT_TO_TCP_ESTABLISHED] = 120;
	c->tpol.pol[0].timeout_s[CT_TO_TCP_CLOSE] = 3;
	c->tpol.pol[0].timeout_s[CT_TO_TCP_UNACK] = 200;
	c->tpol.pol[0].timeout_s[CT_TO_UDP_REPLIED] = 30;
	add_rule(&c->tpol, CT_TPOL_M_ZONE, 5, 0, 0, 1);
}

static struct ct_pkt
zseg(uint16_t zone, int reply, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t len)
{
	struct ct_pkt p = mk(6, 0x0100000a, 0x010200c0, 40000, 80, flags);

	p.tuple.zone = zone;
	if (reply)
		p = rev(p, flags);
	p.tcp_seq = seq;
	p.tcp_ack = ack;
	p.tcp_sack = ack;
	p.tcp_win = 65535;
	p.payload_len = len;
	p.len = 40u + len;
	p.hash = ct_tuple_hash(&p.tuple);
	return p;
}

static uint32_t
left_s(struct ct_shard *s, const struct ct_pkt *p, uint64_t now)
{
	struct ct_event_rec r;

	if (ct_shard_lookup(s, &p->tuple, now, &r) != 0)
		return 0;
	return r.timeout_s;
}

/* The TCP steps and the timeout each leaves, in zone 5 and in zone 0. */
static int
test_shard_tcp(void)
{
	static const struct {
		const char *what;
		int reply;
		uint8_t flags;
		uint32_t seq, ack;
		uint16_t len;
		uint32_t z5, z0;
	} t[] = {
		{"syn", 0, TH_SYN, 100, 0, 0, 120, 120},                   /* syn_sent: global */
		{"syn-ack", 1, TH_SYN | TH_ACK, 500, 101, 0, 60, 60},      /* syn_recv: global */
		{"ack", 0, TH_ACK, 101, 501, 0, 120, 432000},              /* established */
		/* data in flight: the unacknowledged cap only where it is lower */
		{"data", 0, TH_ACK, 101, 501, 100, 120, 300},
		{"acked", 1, TH_ACK, 501, 201, 0, 120, 432000},
		{"rst", 0, TH_RST | TH_ACK, 201, 501, 0, 3, 10},           /* close */
	};
	struct ct_shard *s = mkshard(1024, 0, tw_short);
	unsigned i, z;

	T_ASSERT(s != NULL);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (z = 0; z < 2; z++) {
			uint16_t zone = z == 0 ? 5 : 0;
			struct ct_pkt p = zseg(zone, t[i].reply, t[i].flags, t[i].seq, t[i].ack,
					       t[i].len);
			uint64_t now = T0 + i * SEC;
			uint32_t want = z == 0 ? t[i].z5 : t[i].z0, got;

			T_EQ(one(s, p, now), CT_V_PASS);
			got = left_s(s, &p, now);
			if (got != want) {
				printf("# %s, zone %u: %u s left, want %u\n", t[i].what, zone, got,
				       want);
				return 1;
			}
		}
	}
	ct_shard_free(s);
	return 0;
}

/* "short" with a retransmission timeout of 40 s. */
static void
tw_short_retrans(struct ct_conf *c)
{
	tw_short(c);
	c->tpol.pol[0].timeout_s[CT_TO_TCP_RETRANS] = 40;
}

/*
 * The same segment sent 5 times (tcp.max_retrans 3): the retransmission cap
 * compares the entry's own timeouts, as Linux compares its timeout
 * object's: the policy's 40 s in zone 5 (120 > 40), the global 300 s in
 * zone 0 (432000 > 300).
 */
static int
test_shard_retrans(void)
{
	struct ct_shard *s = mkshard(1024, 0, tw_short_retrans);
	static const uint16_t zone[2] = { 5, 0 };
	static const uint32_t want[2] = { 40, 300 };
	struct ct_pkt p;
	unsigned i, z;

	T_ASSERT(s != NULL);
	for (z = 0; z < 2; z++) {
		one(s, zseg(zone[z], 0, TH_SYN, 100, 0, 0), T0);
		one(s, zseg(zone[z], 1, TH_SYN | TH_ACK, 500, 101, 0), T0);
		one(s, zseg(zone[z], 0, TH_ACK, 101, 501, 0), T0);
		p = zseg(zone[z], 0, TH_ACK, 101, 501, 100);
		for (i = 0; i < 5; i++)
			one(s, p, T0 + i * 1000);
		T_EQ(left_s(s, &p, T0 + 5000), want[z]);
	}
	ct_shard_free(s);
	return 0;
}

/* UDP: the policy's replied, the global unreplied; icmp in zone 5 untouched. */
static int
test_shard_udp_icmp(void)
{
	struct ct_shard *s = mkshard(1024, 0, tw_short);
	struct ct_pkt u = mk(17, 0x0100000a, 0x010200c0, 5000, 53, 0);
	struct ct_pkt i = mk(1, 0x0100000a, 0x010200c0, 7, 0, 0);
	struct ct_pkt u0;

	T_ASSERT(s != NULL);
	u.tuple.zone = 5;
	u.hash = ct_tuple_hash(&u.tuple);
	u0 = mk(17, 0x0100000a, 0x010200c0, 5000, 53, 0);
	i.tuple.zone = 5;
	i.hash = ct_tuple_hash(&i.tuple);
	one(s, u, T0);
	one(s, u0, T0);
	T_EQ(left_s(s, &u, T0), 30);   /* unreplied: not in the policy */
	one(s, rev(u, 0), T0 + SEC);
	one(s, rev(u0, 0), T0 + SEC);
	T_EQ(left_s(s, &u, T0 + SEC), 30); /* a reply within 2 s: still unreplied's */
	/* After 2 s with a reply: replied, the policy's 30 s against the global 120 s. */
	one(s, u, T0 + 3 * SEC);
	one(s, u0, T0 + 3 * SEC);
	T_EQ(left_s(s, &u, T0 + 3 * SEC), 30);
	T_EQ(left_s(s, &u0, T0 + 3 * SEC), 120);
	one(s, i, T0);
	T_EQ(left_s(s, &i, T0), 30);   /* icmp in zone 5: the policy names no icmp */
	/* It expires at its policy's timeout. */
	ct_shard_expire(s, T0 + 32 * SEC, 1u << 20);
	T_EQ(left_s(s, &u, T0 + 32 * SEC), 1);
	ct_shard_expire(s, T0 + 34 * SEC, 1u << 20);
	T_EQ(left_s(s, &u, T0 + 34 * SEC), 0);
	T_EQ(left_s(s, &u0, T0 + 34 * SEC), 89);
	ct_shard_free(s);
	return 0;
}

/*
 * HA import: an ESTABLISHED UDP-replied and TCP record in zone 5 take the
 * policy's timeouts (capped there, or in full for timeout_s 0), zone 0 the
 * global ones; the policy stays with the entry for its next packets.
 */
static int
test_shard_import(void)
{
	static const struct {
		uint16_t zone;
		uint8_t proto;
		uint32_t timeout_s, want;
	} t[] = {
		{5, 6, 0, 120},          /* established: the policy's, in full */
		{5, 6, 100000, 120},     /* capped at the policy's */
		/* less left than that: kept (rounded down to ticks, so 1 s less shows) */
		{5, 6, 60, 59},
		{0, 6, 100000, 99999},   /* zone 0: the global 432000 caps nothing here */
		{5, 17, 0, 30},          /* udp replied: the policy's */
		{0, 17, 0, 120},
	};
	struct ct_shard *s = mkshard(1024, 0, tw_short);
	unsigned i;

	T_ASSERT(s != NULL);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ct_pkt p = mk(t[i].proto, 0x0100000a, 0x010200c0, (uint16_t)(1000 + i), 80,
				     0);
		struct ct_event_rec r;

		memset(&r, 0, sizeof(r));
		p.tuple.zone = t[i].zone;
		r.orig = p.tuple;
		r.status = CT_S_SEEN_REPLY | CT_S_ASSURED;
		r.tcp_state = t[i].proto == 6 ? CT_TCP_ESTABLISHED : 0;
		r.timeout_s = t[i].timeout_s;
		T_EQ(ct_shard_import(s, &r, T0), 0);
		if (left_s(s, &p, T0) != t[i].want) {
			printf("# case %u: %u s left, want %u\n", i, left_s(s, &p, T0), t[i].want);
			return 1;
		}
	}
	ct_shard_free(s);
	return 0;
}

static void
tw_huge(struct ct_conf *c)
{
	tw_short(c);
	c->tpol.pol[0].timeout_s[CT_TO_TCP_ESTABLISHED] = 4000000; /* over 2^30 ticks */
}

static void
tw_bad_rule(struct ct_conf *c)
{
	tw_short(c);
	c->tpol.rule[0].policy = 2;
}

static int
test_shard_refuses(void)
{
	struct ct_conf c;
	char err[160];

	T_ASSERT(mkshard(1024, 0, tw_huge) == NULL);
	T_ASSERT(mkshard(1024, 0, tw_bad_rule) == NULL);
	ct_conf_init(&c);
	c.max_entries = 64;
	tw_huge(&c);
	T_ASSERT(ct_shard_create(&c, err, sizeof(err)) == NULL);
	T_STREQ(err, "timeout policy \"short\": tcp_established = 4000000 s out of range");
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_class_names),
	T_CASE(test_select),
	T_CASE(test_fallback),
	T_CASE(test_check),
	T_CASE(test_shard_tcp),
	T_CASE(test_shard_retrans),
	T_CASE(test_shard_udp_icmp),
	T_CASE(test_shard_import),
	T_CASE(test_shard_refuses),
};

T_MAIN(cases)
