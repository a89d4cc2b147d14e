/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-events' text printer (tools/dpct-events/ev_text.c) against
 * libnetfilter_conntrack's nfct_snprintf(), which conntrack -E uses: a mix of
 * event messages (every kind, both families, every TCP state, UDP, UDP-Lite,
 * the ICMP query types, ICMPv6, GRE, ESP, SCTP, DCCP, an unknown protocol,
 * zones, marks, counters, timestamps with sub-second parts, unreplied and
 * assured) is encoded by lib/events, then rendered both ways, with the flags
 * of `-o id,extended` and of `-o ktimestamp`: every line must be equal.
 */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netlink.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_nl.h"
#include "ev_text.h"

static uint8_t buf[4096] __attribute__((aligned(8)));

static unsigned n_msgs, n_lines;

static int
compare(const struct ct_event_rec *r)
{
	static const struct {
		unsigned ours, nfct;
	} fl[] = {
		{ EV_TEXT_LAYER3 | EV_TEXT_ID, NFCT_OF_SHOW_LAYER3 | NFCT_OF_ID },
		{ EV_TEXT_ID, NFCT_OF_ID },
		{ EV_TEXT_LAYER3 | EV_TEXT_KTIMESTAMP, NFCT_OF_SHOW_LAYER3 | NFCT_OF_TIMESTAMP },
	};
	char ours[1024], theirs[1024];
	struct nf_conntrack *ct;
	struct ev_nl_ct p;
	size_t used;
	unsigned i;
	int len, type;

	len = ev_nl_encode(r, 0, buf, 0, sizeof(buf));
	if (len <= 0)
		T_FAIL_("encode: %d", len);
	T_EQ(ev_nl_parse(buf, (size_t)len, &p, &used), 0);
	ct = nfct_new();
	T_ASSERT(ct != NULL);
	/* The deprecated call also judges NEW/UPDATE/DESTROY, as conntrack -E does. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	type = nfct_parse_conntrack(NFCT_T_ALL, (struct nlmsghdr *)buf, ct);
#pragma GCC diagnostic pop
	T_ASSERT(type > 0);
	n_msgs++;
	for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		/* The library takes time(NULL) for a delta without a stop time; so do we. */
		time_t now = time(NULL);

		nfct_snprintf(theirs, sizeof(theirs), ct, (unsigned)type, NFCT_O_DEFAULT, fl[i].nfct);
		ev_text_format(ours, sizeof(ours), &p, fl[i].ours, now);
		n_lines++;
		if (strcmp(ours, theirs) != 0) {
			printf("# nfct: %s\n# ours: %s\n", theirs, ours);
			nfct_destroy(ct);
			T_FAIL_("message %u, flags %u differ", n_msgs, i);
		}
	}
	nfct_destroy(ct);
	return 0;
}

static void
addrs(struct ct_event_rec *r, int family, unsigned k)
{
	if (family == 4) {
		uint8_t s[4] = { 10, 1, (uint8_t)(k >> 8), (uint8_t)k }, d[4] = { 192, 0, 2, 7 };

		memcpy(r->orig.src, s, 4);
		memcpy(r->orig.dst, d, 4);
	} else {
		inet_pton(AF_INET6, "fd00::1:2", r->orig.src);
		inet_pton(AF_INET6, "2001:db8::7", r->orig.dst);
		r->orig.src[15] = (uint8_t)k;
	}
}

/* One flow's NEW, UPDATE and DESTROY with the given details. */
static int
flow(int family, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t tcp_state,
     uint16_t zone, uint32_t mark, bool replied, unsigned k)
{
	static const uint16_t ev[3] = { CT_EV_NEW, CT_EV_PROTOINFO | CT_EV_ASSURED | CT_EV_REPLY,
					CT_EV_DESTROY };
	unsigned i;

	for (i = 0; i < 3; i++) {
		struct ct_event_rec r;

		memset(&r, 0, sizeof(r));
		r.orig.family = (uint8_t)family;
		r.orig.proto = proto;
		r.orig.sport = sport;
		r.orig.dport = dport;
		r.orig.zone = zone;
		addrs(&r, family, k);
		r.id = 1000 + k;
		r.mark = mark;
		r.events = ev[i];
		r.status = CT_S_CONFIRMED;
		if (replied && i > 0)
			r.status |= CT_S_SEEN_REPLY | CT_S_ASSURED;
		r.tcp_state = i == 0 ? CT_TCP_SYN_SENT : tcp_state;
		r.tcp_wscale[0] = 7;
		r.tcp_wscale[1] = 9;
		r.tcp_dflags[0] = 0x23;
		r.tcp_dflags[1] = 0x03;
		r.timeout_s = i == 2 ? (k % 3 == 0 ? 0 : 17 + k) : 120 + k;
		/* Sub-second parts on both ends: delta-time of whole seconds, as the library. */
		r.start_ns = 1767225600ull * 1000000000ull + 900000000ull + k * 1000000007ull;
		if (i == 2) {
			r.status |= CT_S_DYING;
			r.stop_ns = r.start_ns + 1200000000ull + (k % 5) * 333333333ull;
		}
		r.pkts[0] = 3 + k;
		r.pkts[1] = replied ? 2 + k : 0;
		r.bytes[0] = 180 + 40ull * k;
		r.bytes[1] = replied ? 120 + 1500ull * k : 0;
		if (compare(&r) != 0)
			return 1;
	}
	return 0;
}

static int
test_mixed_messages_equal_nfct_snprintf(void)
{
	static const uint16_t icmp4[][2] = { { 8, 0 }, { 13, 0 }, { 15, 0 }, { 17, 0 }, { 8, 3 } };
	static const uint16_t icmp6[][2] = { { 128, 0 }, { 139, 1 } };
	unsigned k = 0, st, i;
	int fam;

	for (fam = 4; fam <= 6; fam += 2) {
		for (st = CT_TCP_SYN_SENT; st < CT_TCP_MAX; st++, k++)
			T_EQ(flow(fam, IPPROTO_TCP, (uint16_t)(40000 + k), 443, (uint8_t)st, 0, 0,
				  st != CT_TCP_SYN_SENT, k), 0);
		T_EQ(flow(fam, IPPROTO_UDP, 5353, 53, 0, 0, 0, true, k++), 0);
		T_EQ(flow(fam, IPPROTO_UDP, 5353, 514, 0, 0, 0, false, k++), 0);
		T_EQ(flow(fam, IPPROTO_UDPLITE, 7000, 7001, 0, 0, 0, true, k++), 0);
		T_EQ(flow(fam, IPPROTO_SCTP, 3868, 3868, 0, 0, 0, true, k++), 0);
		/* SCTP with each state: CTA_PROTOINFO_SCTP as libnetfilter_conntrack prints it. */
		for (st = CT_SCTP_CLOSED; st < CT_SCTP_MAX; st++, k++)
			T_EQ(flow(fam, IPPROTO_SCTP, (uint16_t)(5000 + k), 36412, (uint8_t)st, 0, 0,
				  st != CT_SCTP_CLOSED, k), 0);
		T_EQ(flow(fam, IPPROTO_DCCP, 5004, 5005, 0, 0, 0, true, k++), 0);
		T_EQ(flow(fam, IPPROTO_GRE, 0, 0, 0, 0, 0, true, k++), 0);
		T_EQ(flow(fam, IPPROTO_GRE, 0, 0x1234, 0, 0, 0, false, k++), 0); /* PPTP call ID */
		T_EQ(flow(fam, 50, 0, 0, 0, 0, 0, true, k++), 0);    /* ESP */
		T_EQ(flow(fam, 200, 0, 0, 0, 0, 0, false, k++), 0);  /* unknown */
		/* Zones and marks. */
		T_EQ(flow(fam, IPPROTO_TCP, 40999, 80, CT_TCP_ESTABLISHED, 5, 0, true, k++), 0);
		T_EQ(flow(fam, IPPROTO_UDP, 41000, 53, 0, 65535, 0xdeadbeef, true, k++), 0);
	}
	for (i = 0; i < sizeof(icmp4) / sizeof(icmp4[0]); i++, k++)
		T_EQ(flow(4, IPPROTO_ICMP, 0x1234, (uint16_t)(icmp4[i][0] | icmp4[i][1] << 8), 0, 0,
			  0, i != 2, k), 0);
	for (i = 0; i < sizeof(icmp6) / sizeof(icmp6[0]); i++, k++)
		T_EQ(flow(6, IPPROTO_ICMPV6, 0x4321, (uint16_t)(icmp6[i][0] | icmp6[i][1] << 8), 0, 0,
			  0, true, k), 0);
	printf("# %u messages, %u lines equal\n", n_msgs, n_lines);
	T_ASSERT(n_msgs >= 100);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_mixed_messages_equal_nfct_snprintf),
};

T_MAIN(cases)
