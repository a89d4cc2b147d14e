/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets the shard does not track as a flow of their own: NOTRACK rules
 * (per packet, per burst, ICMP errors by their own header), ICMP errors
 * RELATED to a flow, and invalid packets that never create an entry.
 */
#include <string.h>

#include "shard_test_util.h"

static void
tw_notrack(struct ct_conf *c)
{
	c->n_notrack = 1;
	c->notrack[0].proto = 17;
	c->notrack[0].port = 53;
	c->notrack[0].family = 4;
	c->notrack[0].addr[0] = 192;
	c->notrack[0].addr[1] = 0;
	c->notrack[0].addr[2] = 2;
	c->notrack[0].prefix_len = 24;
}

static int
test_notrack(void)
{
	struct ct_shard *s = mkshard(64, 1, tw_notrack);
	struct ct_stats st;
	unsigned n;

	T_EQ(one(s, mk(17, 0x0100000a, 0x010200c0, 5000, 53, 0), T0), CT_V_PASS);
	T_EQ(one(s, mk(17, 0x0100000a, 0x010300c0, 5000, 53, 0), T0), CT_V_PASS);
	ct_shard_stats(s, &st);
	T_EQ(st.notrack, 1);
	T_EQ(st.count, 1);
	ct_shard_ev_peek(s, &n);
	T_EQ(n, 1);
	ct_shard_free(s);
	return 0;
}

/* The same rules ahead of tracking: only matching CT_PKT_TRACK packets are marked. */
static int
test_notrack_burst(void)
{
	struct ct_shard *s = mkshard(64, 1, tw_notrack), *plain = mkshard(64, 1, NULL);
	struct ct_pkt p[5];
	uint8_t v[5];
	struct ct_stats st;

	p[0] = mk(17, 0x0100000a, 0x010200c0, 5000, 53, 0);  /* to 192.0.2.1:53: matches */
	p[1] = rev(p[0], 0);                                /* its reply: matches (src) */
	p[2] = mk(17, 0x0100000a, 0x010300c0, 5000, 53, 0);  /* 192.0.3.1: no */
	p[3] = mk(6, 0x0100000a, 0x010200c0, 5000, 53, TH_SYN); /* TCP: no */
	p[4] = p[0];
	p[4].cls = CT_PKT_ICMP_ERROR;                        /* no frame to read: left alone */
	T_EQ(ct_shard_notrack_burst(plain, p, NULL, 5), 0);
	T_EQ(ct_shard_notrack_burst(s, p, NULL, 5), 2);
	T_EQ(p[0].cls, CT_PKT_NOTRACK);
	T_EQ(p[1].cls, CT_PKT_NOTRACK);
	T_EQ(p[2].cls, CT_PKT_TRACK);
	T_EQ(p[3].cls, CT_PKT_TRACK);
	T_EQ(p[4].cls, CT_PKT_ICMP_ERROR);
	/* Marked again: nothing more to mark. */
	T_EQ(ct_shard_notrack_burst(s, p, NULL, 5), 0);
	ct_process_burst(s, p, 4, T0, v);
	ct_shard_stats(s, &st);
	T_EQ(st.notrack, 2);
	T_EQ(st.count, 2);
	ct_shard_free(s);
	ct_shard_free(plain);
	return 0;
}

/*
 * An ICMP error (destination unreachable) from `router` to `host`, quoting
 * the UDP datagram host:5000 -> `server`:53 it answers; IPv4 or IPv6.
 * Returns the frame length. Checksums are not needed by the parser.
 */
static unsigned
icmp_error_frame(uint8_t *f, int v6, const uint8_t *router, const uint8_t *host,
		 const uint8_t *server)
{
	unsigned ipl = v6 ? 40 : 20, q = 14 + ipl + 8, l4 = 14 + ipl, tot;

	memset(f, 0, 200);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	/* The quoted datagram: IP header (host -> server), then 8 bytes of UDP. */
	if (v6) {
		f[q] = 0x60;
		f[q + 5] = 8;
		f[q + 6] = 17;
		f[q + 7] = 64;
		memcpy(f + q + 8, host, 16);
		memcpy(f + q + 24, server, 16);
	} else {
		f[q] = 0x45;
		f[q + 3] = 28;
		f[q + 8] = 64;
		f[q + 9] = 17;
		memcpy(f + q + 12, host, 4);
		memcpy(f + q + 16, server, 4);
	}
	f[q + ipl + 0] = 0x13;
	f[q + ipl + 1] = 0x88; /* 5000 */
	f[q + ipl + 3] = 53;
	f[q + ipl + 5] = 8;
	tot = ipl + 8 + ipl + 8;
	/* The error itself: router -> host. */
	if (v6) {
		f[14] = 0x60;
		f[18] = (uint8_t)((tot - 40) >> 8);
		f[19] = (uint8_t)(tot - 40);
		f[20] = 58;
		f[21] = 64;
		memcpy(f + 22, router, 16);
		memcpy(f + 38, host, 16);
		f[l4] = 1; /* destination unreachable */
		f[l4 + 1] = 4;
	} else {
		f[14] = 0x45;
		f[16] = (uint8_t)(tot >> 8);
		f[17] = (uint8_t)tot;
		f[22] = 64;
		f[23] = 1;
		memcpy(f + 26, router, 4);
		memcpy(f + 30, host, 4);
		f[l4] = 3; /* destination unreachable */
		f[l4 + 1] = 3;
	}
	return 14 + tot;
}

/*
 * Notrack rules see an ICMP error as Linux's raw table does, by its own
 * header (ICMP from the router to the host), not by the flow it quotes.
 */
static int
test_notrack_icmp_error(void)
{
	static const uint8_t r4[4] = { 198, 51, 100, 1 }, h4[4] = { 10, 0, 0, 1 },
			     s4[4] = { 192, 0, 2, 1 };
	static const uint8_t r6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, [15] = 1 },
			     h6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x01, [15] = 1 },
			     s6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x02, [15] = 1 };
	static const struct {
		const char *what;
		struct ct_notrack_rule rule;
		bool v4, v6;
	} tab[] = {
		{ "family 4", { .family = 4 }, true, false },
		{ "family 6", { .family = 6 }, false, true },
		{ "proto icmp", { .proto = 1 }, true, false },
		{ "proto icmpv6", { .proto = 58 }, false, true },
		{ "proto udp (the quoted flow's)", { .proto = 17 }, false, false },
		{ "udp port 53", { .proto = 17, .port = 53 }, false, false },
		{ "the router's /24", { .family = 4, .addr = { 198, 51, 100 }, .prefix_len = 24 },
		  true, false },
		{ "the host's /32", { .family = 4, .addr = { 10, 0, 0, 1 }, .prefix_len = 32 },
		  true, false },
		{ "the quoted server's /24 (not in the error's header)",
		  { .family = 4, .addr = { 192, 0, 2 }, .prefix_len = 24 }, false, false },
		{ "the router's /40", { .family = 6, .addr = { 0x20, 0x01, 0x0d, 0xb8, 0xff },
					.prefix_len = 40 }, false, true },
		{ "the quoted server's /40", { .family = 6, .addr = { 0x20, 0x01, 0x0d, 0xb8, 0x02 },
					       .prefix_len = 40 }, false, false },
	};
	uint8_t f4[200], f6[200];
	unsigned n4 = icmp_error_frame(f4, 0, r4, h4, s4), n6 = icmp_error_frame(f6, 1, r6, h6, s6);
	const uint8_t *frames[2] = { f4, f6 };
	struct ct_tuple o;
	struct ct_pkt p[2];
	unsigned i;

	T_EQ(ct_parse(f4, n4, 0, &p[0]), CT_PKT_ICMP_ERROR);
	T_EQ(ct_parse(f6, n6, 0, &p[1]), CT_PKT_ICMP_ERROR);
	/* The tuple is the quoted flow's; the outer tuple the error's own. */
	T_EQ(p[0].tuple.proto, 17);
	T_EQ(ct_pkt_outer_tuple(&p[0], f4, &o), 0);
	T_EQ(o.proto, 1);
	T_EQ(memcmp(o.src, r4, 4), 0);
	T_EQ(memcmp(o.dst, h4, 4), 0);
	T_EQ(o.sport | o.dport, 0);
	T_EQ(ct_pkt_outer_tuple(&p[1], f6, &o), 0);
	T_EQ(o.proto, 58);
	T_EQ(o.family, 6);
	T_EQ(memcmp(o.src, r6, 16), 0);
	T_EQ(memcmp(o.dst, h6, 16), 0);
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		struct ct_conf c;
		struct ct_shard *s;
		struct ct_pkt q[2] = { p[0], p[1] };
		char err[128];

		ct_conf_init(&c);
		c.max_entries = 64;
		c.shard_count = 1;
		c.n_notrack = 1;
		c.notrack[0] = tab[i].rule;
		s = ct_shard_create(&c, err, sizeof(err));
		T_ASSERT(s != NULL);
		T_EQ(ct_shard_notrack_burst(s, q, NULL, 2), 0);
		T_EQ(ct_shard_notrack_burst(s, q, frames, 2), (unsigned)tab[i].v4 + tab[i].v6);
		if ((q[0].cls == CT_PKT_NOTRACK) != tab[i].v4 ||
		    (q[1].cls == CT_PKT_NOTRACK) != tab[i].v6)
			T_FAIL_("%s: v4 %d v6 %d", tab[i].what, q[0].cls, q[1].cls);
		ct_shard_free(s);
	}
	return 0;
}

static int
test_icmp_error_related(void)
{
	struct ct_shard *s = mkshard(64, 0, NULL);
	struct ct_pkt u = mk(17, 0x0100000a, 0x010200c0, 5000, 53, 0);
	struct ct_pkt err = u, other = mk(17, 0x0100000a, 0x010200c0, 5001, 53, 0);
	struct ct_stats st;

	one(s, u, T0);
	err.cls = CT_PKT_ICMP_ERROR;
	T_EQ(one(s, err, T0), CT_V_PASS);
	other.cls = CT_PKT_ICMP_ERROR;
	T_EQ(one(s, other, T0), CT_V_DROP);
	ct_shard_stats(s, &st);
	T_EQ(st.related, 1);
	T_EQ(st.invalid, 1);
	T_EQ(st.count, 1);
	ct_shard_free(s);
	return 0;
}

static int
test_invalid_never_creates(void)
{
	struct ct_shard *s = mkshard(64, 1, NULL);
	struct ct_pkt synack = mk(6, 0x0100000a, 0x010200c0, 40000, 80, TH_SYN | TH_ACK);
	struct ct_pkt bad = synack;
	struct ct_stats st;

	T_EQ(one(s, synack, T0), CT_V_DROP);
	bad.cls = CT_PKT_INVALID;
	bad.invalid_reason = CT_INV_TCP_DOFF;
	T_EQ(one(s, bad, T0), CT_V_DROP);
	ct_shard_stats(s, &st);
	T_EQ(st.count, 0);
	T_EQ(st.invalid, 2);
	T_EQ(st.invalid_by_reason[CT_INV_TCP_DOFF], 1);
	T_EQ(st.invalid_by_reason[CT_INV_STATE], 1);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_notrack),
	T_CASE(test_notrack_burst),
	T_CASE(test_icmp_error_related),
	T_CASE(test_notrack_icmp_error),
	T_CASE(test_invalid_never_creates),
};

T_MAIN(cases)
