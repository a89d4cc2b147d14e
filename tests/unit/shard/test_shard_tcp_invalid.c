/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard's part of Linux's nf_tcp_handle_invalid(): when the TCP tracker
 * says an out-of-window FIN or RST answered one from the other side
 * (CT_L4_INVALID_SHORTEN), a remaining timeout of at least 120 s that is
 * longer than tcp_unack drops to tcp_unack; a shorter one stays. The
 * tracker's decision itself is in tests/unit/ct/test_tcp_window.c
 * (s_fin_invalid_shortens, s_rst_out_of_window), against the kernel.
 */
#include "shard_test_util.h"

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

static unsigned g_established_s, g_unack_s;

static void
timeouts(struct ct_conf *c)
{
	c->timeout_s[CT_TO_TCP_ESTABLISHED] = g_established_s;
	c->timeout_s[CT_TO_TCP_UNACK] = g_unack_s;
}

/*
 * An assured connection, then out-of-window FINs from both sides at T0 + 2 s:
 * @return 1 when the entry is still there at T0 + 2 s + `alive_s`, and gone
 * a second after T0 + 2 s + `gone_s` (the deadline it must have); else 0.
 */
static int
shortened(unsigned established_s, unsigned unack_s, unsigned alive_s, unsigned gone_s)
{
	const uint64_t t = T0 + 2 * SEC;
	struct ct_shard *s;
	struct ct_stats st;
	int ok;

	g_established_s = established_s;
	g_unack_s = unack_s;
	s = mkshard(1024, 0, timeouts);
	if (s == NULL)
		return 0;
	one(s, seg(0, TH_SYN, 100, 0), T0);
	one(s, seg(1, TH_SYN | TH_ACK, 500, 101), T0 + 1000);
	one(s, seg(0, TH_ACK, 101, 501), t - 1000);
	one(s, seg(0, TH_FIN | TH_ACK, 90000000, 501), t - 500);
	one(s, seg(1, TH_FIN | TH_ACK, 80000000, 101), t);
	ct_shard_stats(s, &st);
	ok = st.invalid_by_reason[CT_INV_TCP_WINDOW] == 2;
	ct_shard_expire(s, t + (uint64_t)alive_s * SEC, 1u << 20);
	ct_shard_stats(s, &st);
	ok = ok && st.count == 1;
	ct_shard_expire(s, t + (uint64_t)(gone_s + 1) * SEC, 1u << 20);
	ct_shard_stats(s, &st);
	ok = ok && st.count == 0 && st.expired == 1;
	ct_shard_free(s);
	return ok;
}

static int
test_invalid_fins_shorten(void)
{
	/* 5 days left, tcp_unack 300 s: 300 s from the second FIN. */
	T_ASSERT(shortened(432000, 300, 299, 300));
	/* 200 s left, tcp_unack 150 s: 150 s. */
	T_ASSERT(shortened(200, 150, 149, 150));
	return 0;
}

static int
test_short_timeouts_stay(void)
{
	/* 110 s left (below Linux's 120 s floor), tcp_unack 60 s: kept. */
	T_ASSERT(shortened(110, 60, 108, 110));
	/* 200 s left, tcp_unack 300 s, longer: kept. */
	T_ASSERT(shortened(200, 300, 198, 200));
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_invalid_fins_shorten),
	T_CASE(test_short_timeouts_stay),
};

T_MAIN(cases)
