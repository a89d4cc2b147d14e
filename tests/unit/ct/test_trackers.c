/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * UDP, ICMP/ICMPv6 and generic trackers through their ops, plus the names and
 * defaults of ct_conf.c.
 */

#include <stdint.h>
#include <string.h>

#include "ct_private.h"
#include "dpct_test.h"

#define SEC UINT64_C(1000000000)

static void
mkpkt(struct ct_pkt *p, uint8_t proto, uint8_t family, uint8_t icmp_type)
{
	memset(p, 0, sizeof(*p));
	p->tuple.proto = proto;
	p->tuple.family = family;
	p->tuple.src[0] = 1;
	p->tuple.dst[0] = 2;
	p->icmp_type = icmp_type;
	p->cls = CT_PKT_TRACK;
}

static int
test_l4_get(void)
{
	T_ASSERT(ct_l4_get(6) == &ct_l4_tcp);
	T_ASSERT(ct_l4_get(17) == &ct_l4_udp);
	T_ASSERT(ct_l4_get(1) == &ct_l4_icmp);
	T_ASSERT(ct_l4_get(58) == &ct_l4_icmp);
	T_ASSERT(ct_l4_get(47) == &ct_l4_gre);
	T_ASSERT(ct_l4_get(132) == &ct_l4_sctp);
	T_ASSERT(ct_l4_get(33) == &ct_l4_other);
	T_ASSERT(ct_l4_get(50) == &ct_l4_other);
	return 0;
}

static int
test_udp_stream_rule(void)
{
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_pkt p;
	uint8_t cls = 0xee;
	const uint64_t t0 = 1000 * SEC;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	mkpkt(&p, 17, 4, 0);
	T_EQ(ct_l4_udp.new_conn(&conf, &e, &p, &cls), 0);
	T_EQ(cls, CT_TO_UDP_UNREPLIED);
	e.udp_start_ns = t0; /* the shard sets it at create (ct_private.h) */

	/* No reply yet: unreplied however long it lasts. */
	T_EQ(ct_l4_udp.packet(&conf, &e, &p, CT_DIR_ORIG, t0 + 10 * SEC, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_UDP_UNREPLIED);
	/* The first reply itself: SEEN_REPLY is set by the shard after it. */
	T_EQ(ct_l4_udp.packet(&conf, &e, &p, CT_DIR_REPLY, t0 + 10 * SEC, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_UDP_UNREPLIED);
	T_EQ(e.status & CT_S_ASSURED, 0);
	T_EQ(e.pending, 0);
	return 0;
}

static int
test_udp_two_second_boundary(void)
{
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_pkt p;
	uint8_t cls = 0xee;
	const uint64_t t0 = 5 * SEC;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	mkpkt(&p, 17, 6, 0);
	T_EQ(ct_l4_udp.new_conn(&conf, &e, &p, &cls), 0);
	e.udp_start_ns = t0; /* the shard sets it at create (ct_private.h) */
	e.status = CT_S_SEEN_REPLY;

	T_EQ(ct_l4_udp.packet(&conf, &e, &p, CT_DIR_ORIG, t0 + 1 * SEC, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_UDP_UNREPLIED);
	/* Exactly 2 s is not "after" 2 s (Linux time_after). */
	T_EQ(ct_l4_udp.packet(&conf, &e, &p, CT_DIR_ORIG, t0 + 2 * SEC, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_UDP_UNREPLIED);
	T_EQ(e.status & CT_S_ASSURED, 0);
	T_EQ(e.pending, 0);
	T_EQ(ct_l4_udp.packet(&conf, &e, &p, CT_DIR_REPLY, t0 + 2 * SEC + 1, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_UDP_REPLIED);
	T_ASSERT(e.status & CT_S_ASSURED);
	T_EQ(e.pending, CT_EVI_ASSURED);
	/* Once only. */
	e.pending = 0;
	T_EQ(ct_l4_udp.packet(&conf, &e, &p, CT_DIR_ORIG, t0 + 3 * SEC, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_UDP_REPLIED);
	T_EQ(e.pending, 0);
	return 0;
}

static int
test_icmp_echo(void)
{
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_pkt req, rep;
	uint8_t cls = 0xee;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	mkpkt(&req, 1, 4, 8);
	mkpkt(&rep, 1, 4, 0);
	T_EQ(ct_l4_icmp.new_conn(&conf, &e, &rep, &cls), CT_INV_STATE);
	T_EQ(ct_l4_icmp.new_conn(&conf, &e, &req, &cls), 0);
	T_EQ(cls, CT_TO_ICMP);
	cls = 0xee;
	T_EQ(ct_l4_icmp.packet(&conf, &e, &rep, CT_DIR_REPLY, 0, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_ICMP);
	T_EQ(ct_l4_icmp.packet(&conf, &e, &req, CT_DIR_ORIG, 0, &cls), CT_L4_ACCEPT);
	T_EQ(ct_l4_icmp.packet(&conf, &e, &req, CT_DIR_REPLY, 0, &cls), CT_L4_INVALID);
	T_EQ(ct_l4_icmp.packet(&conf, &e, &rep, CT_DIR_ORIG, 0, &cls), CT_L4_INVALID);
	/* Linux never assures ICMP. */
	T_EQ(e.status & CT_S_ASSURED, 0);
	T_EQ(e.pending, 0);
	/* Other query types Linux tracks: timestamp, information, address mask. */
	mkpkt(&req, 1, 4, 13);
	T_EQ(ct_l4_icmp.new_conn(&conf, &e, &req, &cls), 0);
	mkpkt(&rep, 1, 4, 14);
	T_EQ(ct_l4_icmp.packet(&conf, &e, &rep, CT_DIR_REPLY, 0, &cls), CT_L4_ACCEPT);
	mkpkt(&req, 1, 4, 17);
	T_EQ(ct_l4_icmp.new_conn(&conf, &e, &req, &cls), 0);
	mkpkt(&req, 1, 4, 3);
	T_EQ(ct_l4_icmp.new_conn(&conf, &e, &req, &cls), CT_INV_STATE);
	return 0;
}

static int
test_icmpv6_echo(void)
{
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_pkt req, rep;
	uint8_t cls = 0xee;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	mkpkt(&req, 58, 6, 128);
	mkpkt(&rep, 58, 6, 129);
	T_EQ(ct_l4_icmp.new_conn(&conf, &e, &rep, &cls), CT_INV_STATE);
	/* An ICMPv4 type number means nothing in ICMPv6. */
	mkpkt(&req, 58, 6, 8);
	T_EQ(ct_l4_icmp.new_conn(&conf, &e, &req, &cls), CT_INV_STATE);
	mkpkt(&req, 58, 6, 128);
	T_EQ(ct_l4_icmp.new_conn(&conf, &e, &req, &cls), 0);
	T_EQ(cls, CT_TO_ICMPV6);
	T_EQ(ct_l4_icmp.packet(&conf, &e, &rep, CT_DIR_REPLY, 0, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_ICMPV6);
	T_EQ(ct_l4_icmp.packet(&conf, &e, &rep, CT_DIR_ORIG, 0, &cls), CT_L4_INVALID);
	return 0;
}

static int
test_generic(void)
{
	struct ct_conf conf;
	struct ct_entry e;
	struct ct_pkt p;
	uint8_t cls = 0xee;

	ct_conf_init(&conf);
	memset(&e, 0, sizeof(e));
	mkpkt(&p, 50, 4, 0);
	T_EQ(ct_l4_other.new_conn(&conf, &e, &p, &cls), 0);
	T_EQ(cls, CT_TO_GENERIC);
	cls = 0xee;
	T_EQ(ct_l4_other.packet(&conf, &e, &p, CT_DIR_REPLY, 0, &cls), CT_L4_ACCEPT);
	T_EQ(cls, CT_TO_GENERIC);
	T_EQ(e.status, 0);
	T_EQ(e.pending, 0);
	return 0;
}

static int
test_conf_defaults(void)
{
	struct ct_conf c;
	unsigned i;

	memset(&c, 0xa5, sizeof(c));
	ct_conf_init(&c);
	T_EQ(c.max_entries, 262144);
	T_ASSERT(c.tcp_loose);
	T_ASSERT(c.early_drop);
	T_ASSERT(c.events_enabled);
	T_EQ(c.fill_alarm_high_pct, 90);
	T_EQ(c.fill_alarm_low_pct, 80);
	T_EQ(c.destroy_grace_ms, 15000);
	T_EQ(c.ev_stage_size, 1024);
	T_EQ(c.invalid_policy, CT_INVALID_DROP);
	T_EQ(c.n_notrack, 0);
	for (i = 0; i < CT_TO_MAX; i++)
		T_EQ(c.timeout_s[i], ct_timeout_default_s(i));
	T_EQ(c.timeout_s[CT_TO_UDP_UNREPLIED], 30);
	T_EQ(c.timeout_s[CT_TO_UDP_REPLIED], 120);
	T_EQ(c.timeout_s[CT_TO_GENERIC], 600);
	T_EQ(c.timeout_s[CT_TO_TCP_UNACK], 300);
	return 0;
}

static int
test_names(void)
{
	static const char *const states[] = { "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED",
					      "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT",
					      "CLOSE", "SYN_SENT2" };
	unsigned i, j;

	for (i = 0; i < CT_TCP_MAX; i++)
		T_STREQ(ct_tcp_state_name(i), states[i]);
	T_STREQ(ct_tcp_state_name(CT_TCP_MAX), "UNKNOWN");
	T_STREQ(ct_timeout_name(CT_TO_TCP_ESTABLISHED), "tcp_established");
	T_STREQ(ct_timeout_name(CT_TO_TCP_UNACK), "tcp_unacknowledged");
	T_STREQ(ct_timeout_name(CT_TO_GENERIC), "generic");
	T_STREQ(ct_timeout_name(CT_TO_MAX), "unknown");
	T_EQ(ct_timeout_default_s(CT_TO_MAX), 0);
	T_STREQ(ct_invalid_reason_name(CT_INV_TRUNC_L3), "trunc_l3");
	T_STREQ(ct_invalid_reason_name(CT_INV_TCP_FLAGS), "tcp_flags");
	T_STREQ(ct_invalid_reason_name(CT_INV_STATE), "state");
	T_STREQ(ct_invalid_reason_name(CT_INV_MAX), "unknown");
	/* Reason names are distinct: they become counter names. */
	for (i = 0; i < CT_INV_MAX; i++) {
		T_ASSERT(ct_invalid_reason_name(i) != NULL);
		for (j = 0; j < i; j++)
			T_ASSERT(strcmp(ct_invalid_reason_name(i), ct_invalid_reason_name(j)) != 0);
	}
	for (i = 0; i < CT_TO_MAX; i++)
		for (j = 0; j < i; j++)
			T_ASSERT(strcmp(ct_timeout_name(i), ct_timeout_name(j)) != 0);
	T_STREQ(ct_proto_name(6), "tcp");
	T_STREQ(ct_proto_name(17), "udp");
	T_STREQ(ct_proto_name(1), "icmp");
	T_STREQ(ct_proto_name(58), "icmpv6");
	T_STREQ(ct_proto_name(47), "unknown");
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_l4_get),
	T_CASE(test_udp_stream_rule),
	T_CASE(test_udp_two_second_boundary),
	T_CASE(test_icmp_echo),
	T_CASE(test_icmpv6_echo),
	T_CASE(test_generic),
	T_CASE(test_conf_defaults),
	T_CASE(test_names),
};

T_MAIN(cases)
