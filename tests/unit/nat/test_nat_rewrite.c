/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nat_rewrite(): frames built here with every checksum right are rewritten
 * to a tuple, then every checksum is recomputed from scratch (the quoted
 * packet's of an ICMP error too, where the quote holds it) and by
 * ct_pkt_csum_verify(), and the frame is parsed again: its tuple must be
 * the target, and for ICMP errors the outer addresses as Linux leaves
 * them. Then non-first fragments, refusals that leave the frame as it was,
 * and random frames and targets.
 */

#include <errno.h>

#include "dpct_test.h"
#include "nat_test_util.h"

#define C ip4(10, 0, 0, 1)
#define S ip4(192, 0, 2, 1)
#define P ip4(198, 51, 100, 1)
#define X ip4(203, 0, 113, 9)
#define I ip4(10, 0, 0, 5)
#define R ip4(192, 0, 2, 254)
#define R2 ip4(10, 0, 0, 254)

static void b_tcp_out(struct tf *f) { tf_tcp(f, C, S, 40000, 80, false); }
static void b_tcp_back(struct tf *f) { tf_tcp(f, S, P, 80, 1234, false); }
static void b_tcp_in(struct tf *f) { tf_tcp(f, X, P, 5555, 80, false); }
static void b_tcp_vlan(struct tf *f) { tf_tcp(f, C, S, 40000, 80, true); }
static void b_udp(struct tf *f) { tf_udp(f, 17, C, S, 5353, 53, true, "query?"); }
static void b_udp0(struct tf *f) { tf_udp(f, 17, C, S, 5353, 53, false, "query?"); }
static void b_udplite(struct tf *f) { tf_udp(f, 136, C, S, 5353, 53, true, "lite"); }
static void b_echo(struct tf *f) { tf_echo(f, 8, C, S, 4321); }
static void b_echo_reply(struct tf *f) { tf_echo(f, 0, S, P, 1111); }
/* IPv4 options (4 bytes: NOP NOP NOP EOL) after the header of a built frame. */
static void
add_ip_options(struct tf *f)
{
	uint8_t *ip = f->b + f->l3;

	memmove(ip + 24, ip + 20, f->len - f->l3 - 20);
	memcpy(ip + 20, "\x01\x01\x01\x00", 4);
	f->len += 4;
	ip[0] = 0x46;
	tf_w16(ip + 2, (uint16_t)(tf_r16(ip + 2) + 4));
	tf_w16(ip + 10, 0);
	tf_w16(ip + 10, tf_fold(tf_sum(ip, 24, 0)));
}
static void b_tcp_ipopts(struct tf *f) { tf_tcp(f, C, S, 40000, 80, false); add_ip_options(f); }
static void b_udp_ipopts(struct tf *f) { b_udp(f); add_ip_options(f); }

static void
b_err_udp(struct tf *f)
{
	struct tf q;

	tf_udp(&q, 17, P, S, 1111, 53, true, "query?");
	tf_error(f, R, P, &q, 0);
}
static void
b_err_udp0(struct tf *f)
{
	struct tf q;

	tf_udp(&q, 17, P, S, 1111, 53, false, "query?");
	tf_error(f, R, P, &q, 0);
}
static void
b_err_tcp(struct tf *f)
{
	struct tf q;

	tf_tcp(&q, P, S, 1111, 80, false);
	tf_error(f, S, P, &q, 0);
}
static void
b_err_tcp8(struct tf *f)
{
	struct tf q;

	tf_tcp(&q, P, S, 1111, 80, false);
	tf_error(f, R, P, &q, 28);
}
static void
b_err_echo(struct tf *f)
{
	struct tf q;

	tf_echo(&q, 8, P, S, 1111);
	tf_error(f, R, P, &q, 0);
}
static void
b_err_dnat(struct tf *f)
{
	struct tf q;

	tf_tcp(&q, X, I, 5555, 8080, false);
	tf_error(f, R2, X, &q, 0);
}
static void
b_err_orig_dir(struct tf *f)
{
	struct tf q;

	/* The client side's router about a reply packet (server to client). */
	tf_tcp(&q, S, C, 80, 40000, false);
	tf_error(f, R2, S, &q, 0);
}

struct rw_case {
	const char *name;
	void (*build)(struct tf *f);
	struct ct_tuple to;
	uint32_t outer_src, outer_dst;   /* after, for ICMP errors */
};

#define T4(pr, s, d, sp, dp) tf_tuple(pr, s, d, sp, dp)

static int
run_case(const struct rw_case *c)
{
	struct ct_pkt p, q;
	uint8_t before[TF_MAX];
	struct tf f;
	int rc;

	c->build(&f);
	if (tf_check(&f) != 0)
		T_FAIL_("%s: frame built wrong (%d)", c->name, tf_check(&f));
	p = tf_parse(&f);
	T_ASSERT(p.cls == CT_PKT_TRACK || p.cls == CT_PKT_ICMP_ERROR);
	memcpy(before, f.b, f.len);
	rc = nat_rewrite(f.b, f.len, &p, &c->to);
	if (rc != 0)
		T_FAIL_("%s: nat_rewrite %d", c->name, rc);
	rc = tf_check(&f);
	if (rc != 0)
		T_FAIL_("%s: checksum %d wrong after the rewrite", c->name, rc);
	if (tf_changed_only_allowed(before, f.b, f.len, &p) >= 0)
		T_FAIL_("%s: byte %ld changed", c->name, tf_changed_only_allowed(before, f.b, f.len, &p));
	q = tf_parse(&f);
	T_EQ(q.cls, p.cls);
	if (memcmp(&q.tuple, &c->to, sizeof(q.tuple)) != 0)
		T_FAIL_("%s: parsed tuple is not the target", c->name);
	if (ct_pkt_csum_verify(f.b, f.len, &q, CT_CSUM_IP | CT_CSUM_L4) != 0)
		T_FAIL_("%s: ct_pkt_csum_verify refuses it", c->name);
	if (p.cls == CT_PKT_ICMP_ERROR) {
		T_UEQ(tf_r32(f.b + f.l3 + 12), c->outer_src);
		T_UEQ(tf_r32(f.b + f.l3 + 16), c->outer_dst);
	}
	/* Rewriting back restores the original bytes exactly (checksums included). */
	p = q;
	q = tf_parse(&f);
	{
		struct ct_pkt orig;
		struct tf o;

		c->build(&o);
		orig = tf_parse(&o);
		T_EQ(nat_rewrite(f.b, f.len, &q, &orig.tuple), 0);
		if (p.cls == CT_PKT_TRACK && memcmp(f.b, before, f.len) != 0)
			T_FAIL_("%s: rewriting back does not give the original frame", c->name);
	}
	return 0;
}

static int
test_rewrite_table(void)
{
	const struct rw_case cases[] = {
		{ "tcp snat", b_tcp_out, T4(6, P, S, 1234, 80), 0, 0 },
		{ "tcp reply back", b_tcp_back, T4(6, S, C, 80, 40000), 0, 0 },
		{ "tcp dnat", b_tcp_in, T4(6, X, I, 5555, 8080), 0, 0 },
		{ "tcp vlan", b_tcp_vlan, T4(6, P, S, 1234, 80), 0, 0 },
		{ "tcp with ip options", b_tcp_ipopts, T4(6, P, S, 1234, 80), 0, 0 },
		{ "udp with ip options", b_udp_ipopts, T4(17, P, S, 1111, 53), 0, 0 },
		{ "udp", b_udp, T4(17, P, S, 1111, 53), 0, 0 },
		{ "udp no checksum", b_udp0, T4(17, P, S, 1111, 53), 0, 0 },
		{ "udplite", b_udplite, T4(136, P, S, 1111, 53), 0, 0 },
		{ "echo request", b_echo, T4(1, P, S, 1111, 8), 0, 0 },
		{ "echo reply", b_echo_reply, T4(1, S, C, 8, 4321), 0, 0 },
		{ "error quoting udp", b_err_udp, T4(17, C, S, 5353, 53), R, C },
		{ "error quoting udp, no checksum", b_err_udp0, T4(17, C, S, 5353, 53), R, C },
		{ "error from the server quoting tcp", b_err_tcp, T4(6, C, S, 40000, 80), S, C },
		{ "error quoting 8 bytes of tcp", b_err_tcp8, T4(6, C, S, 40000, 80), R, C },
		{ "error quoting an echo request", b_err_echo, T4(1, C, S, 4321, 8), R, C },
		/* dnat: the error seems to come from the public address, as in Linux. */
		{ "error about a dnat packet", b_err_dnat, T4(6, X, P, 5555, 80), P, X },
		{ "error about a reply, client side", b_err_orig_dir, T4(6, S, P, 80, 1234), P, S },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (run_case(&cases[i]) != 0)
			return 1;
	return 0;
}

static int
test_udp_zero_stays_zero(void)
{
	struct ct_tuple to = T4(17, P, S, 1111, 53);
	struct ct_pkt p;
	struct tf f;

	tf_udp(&f, 17, C, S, 5353, 53, false, "query?");
	p = tf_parse(&f);
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), 0);
	T_EQ(tf_r16(f.b + f.l3 + 20 + 6), 0);
	b_err_udp0(&f);
	p = tf_parse(&f);
	to = T4(17, C, S, 5353, 53);
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), 0);
	T_EQ(tf_r16(f.b + f.l3 + 28 + 20 + 6), 0);
	return 0;
}

/* A UDP checksum that computes to 0 is sent as 0xffff (0 would mean "none"). */
static int
test_udp_csum_never_becomes_zero(void)
{
	struct ct_tuple to = T4(17, P, S, 0, 53);
	uint32_t sp;
	struct ct_pkt p;
	struct tf f;

	/* The source port for which the checksum from scratch is 0. */
	for (sp = 0; sp <= UINT16_MAX; sp++) {
		tf_udp(&f, 17, P, S, (uint16_t)sp, 53, true, "query?");
		if (tf_r16(f.b + f.l3 + 20 + 6) == 0xffff)
			break;
	}
	T_ASSERT(sp <= UINT16_MAX);
	to.sport = (uint16_t)sp;
	tf_udp(&f, 17, C, S, 5353, 53, true, "query?");
	p = tf_parse(&f);
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), 0);
	T_EQ(tf_r16(f.b + f.l3 + 20 + 6), 0xffff);
	T_EQ(tf_check(&f), 0);
	return 0;
}

static int
test_truncated_quote_keeps_tcp_csum(void)
{
	struct ct_tuple to = T4(6, C, S, 40000, 80);
	struct ct_pkt p;
	uint16_t before;
	struct tf f, q;

	/* 28 bytes of TCP: the header is whole, its checksum is kept right. */
	tf_tcp(&q, P, S, 1111, 80, false);
	tf_error(&f, R, P, &q, 40);
	p = tf_parse(&f);
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), 0);
	T_EQ(tf_check(&f), 0);
	/* 8 bytes: the checksum is not in the quote and is left alone (as Linux). */
	b_err_tcp8(&f);
	before = tf_r16(f.b + f.l3 + 28 + 20 + 16);
	p = tf_parse(&f);
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), 0);
	T_EQ(tf_r16(f.b + f.l3 + 28 + 20 + 16), before);
	return 0;
}

static int
test_fragment(void)
{
	uint8_t l4[24] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct ct_tuple to = T4(17, P, S, 0, 0);
	struct ct_pkt p, q;
	struct tf f;

	tf_eth(&f, false);
	f.len = f.l3 + tf_put_ipv4(f.b + f.l3, 17, C, S, l4, sizeof(l4), true, 185);
	p = tf_parse(&f);
	T_EQ(p.cls, CT_PKT_FRAGMENT);
	/* Ports in the target are ignored: a later fragment has none. */
	to.sport = 9;
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), 0);
	T_EQ(tf_check(&f), 0);
	T_MEMEQ(f.b + f.l3 + 20, l4, sizeof(l4));
	q = tf_parse(&f);
	T_EQ(q.cls, CT_PKT_FRAGMENT);
	T_MEMEQ(q.tuple.src, to.src, 4);
	T_MEMEQ(q.tuple.dst, to.dst, 4);
	return 0;
}

static int
test_refusals_leave_frame(void)
{
	struct ct_tuple to = T4(6, P, S, 1234, 80);
	uint8_t l4[16] = { 0 };
	uint8_t copy[TF_MAX];
	struct ct_pkt p;
	struct tf f;

	/* Shorter than the headers the parse describes. */
	b_tcp_out(&f);
	p = tf_parse(&f);
	memcpy(copy, f.b, f.len);
	T_EQ(nat_rewrite(f.b, f.l3 + 20 + 10, &p, &to), -EINVAL);
	T_EQ(nat_rewrite(f.b, f.l3 + 10, &p, &to), -EINVAL);
	T_MEMEQ(f.b, copy, f.len);
	b_err_udp(&f);
	p = tf_parse(&f);
	memcpy(copy, f.b, f.len);
	to = T4(17, C, S, 5353, 53);
	T_EQ(nat_rewrite(f.b, f.l3 + 8 + 20 + 10, &p, &to), -EINVAL);
	T_MEMEQ(f.b, copy, f.len);
	/* Not IPv4. */
	b_tcp_out(&f);
	p = tf_parse(&f);
	p.tuple.family = 6;
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), -EINVAL);
	/* GRE: addresses may change, ports cannot. */
	tf_eth(&f, false);
	f.len = f.l3 + tf_put_ipv4(f.b + f.l3, 47, C, S, l4, sizeof(l4), true, 0);
	p = tf_parse(&f);
	T_EQ(p.cls, CT_PKT_TRACK);
	memcpy(copy, f.b, f.len);
	to = T4(47, P, S, 1, 0);
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), -EPROTONOSUPPORT);
	T_MEMEQ(f.b, copy, f.len);
	to.sport = 0;
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), 0);
	T_EQ(tf_check(&f), 0);
	T_EQ(tf_r32(f.b + f.l3 + 12), P);
	/* An ICMP redirect about a translated flow: dropped, as Linux does. */
	b_err_udp(&f);
	f.b[f.l3 + 20] = 5;
	f.b[f.l3 + 21] = 1;
	tf_w16(f.b + f.l3 + 22, 0);
	tf_w16(f.b + f.l3 + 22, tf_fold(tf_sum(f.b + f.l3 + 20, f.len - f.l3 - 20, 0)));
	p = tf_parse(&f);
	T_EQ(p.cls, CT_PKT_ICMP_ERROR);
	memcpy(copy, f.b, f.len);
	to = T4(17, C, S, 5353, 53);
	T_EQ(nat_rewrite(f.b, f.len, &p, &to), -EPROTONOSUPPORT);
	T_MEMEQ(f.b, copy, f.len);
	T_EQ(nat_rewrite(f.b, f.len, &p, &p.tuple), 0);
	return 0;
}

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random frames and targets, every checksum checked; ports that make the sums wrap. */
static int
test_random(void)
{
	static const uint16_t edge[] = { 0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff };
	uint64_t s = 0x9e3779b97f4a7c15ull;
	unsigned i;

	for (i = 0; i < 20000; i++) {
		uint32_t a = (uint32_t)rnd(&s), b = (uint32_t)rnd(&s);
		uint16_t sp = (uint16_t)rnd(&s), dp = (uint16_t)rnd(&s);
		unsigned kind = (unsigned)(rnd(&s) % 5);
		uint8_t before[TF_MAX];
		struct ct_tuple to;
		struct ct_pkt p, q;
		struct tf f, o;
		int rc;

		if (i % 4 == 0) {
			sp = edge[rnd(&s) % 6];
			dp = edge[rnd(&s) % 6];
		}
		switch (kind) {
		case 0: tf_tcp(&f, a, b, sp, dp, (i & 1) != 0); break;
		case 1: tf_udp(&f, 17, a, b, sp, dp, (i & 2) != 0, "random data"); break;
		case 2: tf_udp(&f, 136, a, b, sp, dp, true, "x"); break;
		case 3: tf_echo(&f, (i & 1) ? 8 : 0, a, b, sp); break;
		default:
			tf_udp(&o, 17, a, b, sp, dp, (i & 2) != 0, "q");
			tf_error(&f, (uint32_t)rnd(&s), a, &o, 0);
			break;
		}
		p = tf_parse(&f);
		if (p.cls != CT_PKT_TRACK && p.cls != CT_PKT_ICMP_ERROR)
			T_FAIL_("round %u: class %d", i, p.cls);
		to = p.tuple;
		tf_w32(to.src, (uint32_t)rnd(&s));
		tf_w32(to.dst, (uint32_t)rnd(&s));
		if (kind == 3) {
			/* The identifier half of an ICMP key only. */
			if (i & 1)
				to.sport = (uint16_t)rnd(&s);
			else
				to.dport = (uint16_t)rnd(&s);
		} else {
			to.sport = i % 3 == 0 ? edge[rnd(&s) % 6] : (uint16_t)rnd(&s);
			to.dport = (uint16_t)rnd(&s);
		}
		memcpy(before, f.b, f.len);
		T_EQ(nat_rewrite(f.b, f.len, &p, &to), 0);
		rc = tf_check(&f);
		if (rc != 0)
			T_FAIL_("round %u kind %u: checksum %d wrong", i, kind, rc);
		if (tf_changed_only_allowed(before, f.b, f.len, &p) >= 0)
			T_FAIL_("round %u kind %u: a byte changed that may not", i, kind);
		q = tf_parse(&f);
		if (memcmp(&q.tuple, &to, sizeof(to)) != 0)
			T_FAIL_("round %u kind %u: tuple", i, kind);
	}
	return 0;
}

/*
 * The loop's path: a target carrying its checksum changes (CT_NAT_CSUM_SET,
 * as ct_process_burst_nat() gives it) rewrites a frame to the same bytes
 * as nat_rewrite(), through nat_rewrite_fast(); and the TCP/UDP checksum
 * comes out as the field-by-field update of nat_rewrite()'s general path
 * gives it (a frame with IPv4 options takes that path, and options do not
 * enter the L4 sum), 0 and 0xffff included. The parser marks plain
 * (ct_process_burst_nat() rewrites in place) the untagged frames without
 * options, nothing else.
 */
static int
test_carried_deltas(void)
{
	static const uint16_t edge[] = { 0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff };
	uint64_t s = 0x2545f4914f6cdd1dull;
	unsigned i, fast = 0;

	for (i = 0; i < 20000; i++) {
		uint32_t a = (uint32_t)rnd(&s), b = (uint32_t)rnd(&s);
		uint16_t sp = (uint16_t)rnd(&s), dp = (uint16_t)rnd(&s);
		bool udp = (i & 1) != 0;
		unsigned coff = udp ? 6 : 16;
		struct ct_tuple to, carried;
		struct ct_pkt p, po;
		struct tf f, g, o;
		uint16_t d[2];

		if (i % 4 == 0) {
			sp = edge[rnd(&s) % 6];
			dp = edge[rnd(&s) % 6];
		}
		if (udp)
			tf_udp(&f, 17, a, b, sp, dp, (i & 2) != 0, "random data");
		else
			tf_tcp(&f, a, b, sp, dp, (i & 2) != 0);
		o = f;
		add_ip_options(&o);
		g = f;
		p = tf_parse(&f);
		po = tf_parse(&o);
		to = p.tuple;
		tf_w32(to.src, i % 7 == 0 ? a : (uint32_t)rnd(&s));
		tf_w32(to.dst, i % 5 == 0 ? b : (uint32_t)rnd(&s));
		to.sport = i % 3 == 0 ? edge[rnd(&s) % 6] : (uint16_t)rnd(&s);
		to.dport = i % 11 == 0 ? dp : (uint16_t)rnd(&s);
		carried = to;
		ct_nat_csum_deltas(&p.tuple, &to, d);
		memcpy(carried.src + 4, d, sizeof(d));
		carried.src[8] = CT_NAT_CSUM_SET;
		T_EQ(nat_rewrite(f.b, f.len, &p, &to), 0);
		T_EQ(nat_rewrite(o.b, o.len, &po, &to), 0);
		/* The parser vouches for an untagged frame without options, nothing else. */
		T_EQ(p.plain, udp || (i & 2) == 0);
		T_EQ(po.plain, 0);
		T_ASSERT(nat_rewrite_fast(g.b, g.len, &p, &carried));
		fast++;
		if (memcmp(f.b, g.b, f.len) != 0)
			T_FAIL_("round %u: the carried changes give other bytes", i);
		if (tf_check(&g) != 0)
			T_FAIL_("round %u: checksum wrong", i);
		if (memcmp(f.b + p.l4_off + coff, o.b + po.l4_off + coff, 2) != 0)
			T_FAIL_("round %u: L4 checksum %02x%02x, the general path %02x%02x", i,
				f.b[p.l4_off + coff], f.b[p.l4_off + coff + 1],
				o.b[po.l4_off + coff], o.b[po.l4_off + coff + 1]);
	}
	T_EQ(fast, 20000);
	return 0;
}

/*
 * A datagram whose payload lies past the bytes given (a multi-segment
 * mbuf's first segment holds the headers): its headers are rewritten as
 * in the whole frame, checksums included (they change incrementally).
 * Headers cut short are refused, the frame untouched.
 */
static int
test_headers_only_segment(void)
{
	const struct ct_tuple tcp_to = T4(6, P, S, 1234, 80), udp_to = T4(17, P, S, 4444, 53);
	uint8_t copy[TF_MAX];
	unsigned k;

	for (k = 0; k < 4; k++) {
		const bool udp = (k & 1) != 0;
		const struct ct_tuple *to = udp ? &udp_to : &tcp_to;
		struct ct_tuple carried = *to;
		struct tf whole, first;
		struct ct_pkt p;
		uint32_t hdrs;
		uint16_t d[2];

		if (udp)
			b_udp(&whole);
		else
			b_tcp_out(&whole);
		p = tf_parse(&whole);
		T_EQ(p.cls, CT_PKT_TRACK);
		first = whole;
		hdrs = p.l4_off + (udp ? 8u : 20u);
		T_ASSERT(hdrs < whole.len);
		if (k >= 2) {
			ct_nat_csum_deltas(&p.tuple, to, d);
			memcpy(carried.src + 4, d, sizeof(d));
			carried.src[8] = CT_NAT_CSUM_SET;
		}
		T_EQ(nat_rewrite(whole.b, whole.len, &p, to), 0);
		T_EQ(tf_check(&whole), 0);
		T_EQ(nat_rewrite(first.b, hdrs, &p, &carried), 0);
		T_MEMEQ(first.b, whole.b, hdrs);
		/* One byte short of the L4 checksum field: refused, nothing written. */
		first = whole;
		memcpy(copy, first.b, first.len);
		T_ASSERT(!nat_rewrite_fast(first.b, p.l4_off + (udp ? 7u : 17u), &p, &carried));
		T_MEMEQ(first.b, copy, first.len);
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_rewrite_table),
	T_CASE(test_udp_zero_stays_zero),
	T_CASE(test_udp_csum_never_becomes_zero),
	T_CASE(test_truncated_quote_keeps_tcp_csum),
	T_CASE(test_fragment),
	T_CASE(test_refusals_leave_frame),
	T_CASE(test_random),
	T_CASE(test_carried_deltas),
	T_CASE(test_headers_only_segment),
};

T_MAIN(cases)
