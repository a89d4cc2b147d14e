/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/pipeline without EAL: mbuf headers over frames built here. The
 * parse stage's zones; the track stage's order of notrack rules and
 * checksum verification (the port's offload verdict, else software) and
 * its per-packet times. The policy stage needs EAL (rte_acl) and is
 * covered by the integration tests, which run the app.
 */
#include <string.h>

#include <rte_mbuf.h>

#include "dpct_test.h"
#include "pipe.h"

#define T0 (UINT64_C(1767225600) * 1000000000)
#define SEC UINT64_C(1000000000)

struct frame {
	uint8_t b[RTE_PKTMBUF_HEADROOM + 128];
	struct rte_mbuf m;
};

static uint32_t
sum16(const uint8_t *p, uint32_t n, uint32_t s)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A UDP/IPv4 frame 10.0.0.<a>:<sp> -> 10.0.0.<b>:<dp>, VLAN `vlan` (< 0:
 * untagged), correct checksums unless `bad_l4`; as an mbuf on `port`. */
static struct rte_mbuf *
udp_frame(struct frame *f, uint8_t a, uint8_t b, uint16_t sp, uint16_t dp, int vlan,
	  int bad_l4, uint16_t port, uint64_t ol_flags)
{
	uint8_t *e = f->b + RTE_PKTMBUF_HEADROOM, *ip, *u;
	uint32_t l3 = 14 + (vlan >= 0 ? 4 : 0), s;

	memset(f, 0, sizeof(*f));
	e[0] = e[6] = 2;
	if (vlan >= 0) {
		put16(e + 12, 0x8100);
		put16(e + 14, (uint16_t)vlan);
		put16(e + 16, 0x0800);
	} else {
		put16(e + 12, 0x0800);
	}
	ip = e + l3;
	u = ip + 20;
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + 4);
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = ip[16] = 10;
	ip[15] = a;
	ip[19] = b;
	put16(ip + 10, (uint16_t)~sum16(ip, 20, 0));
	put16(u, sp);
	put16(u + 2, dp);
	put16(u + 4, 8 + 4);
	memcpy(u + 8, "ping", 4);
	s = (uint16_t)~sum16(u, 12, sum16(ip + 12, 8, 0) + 17 + 12);
	put16(u + 6, (uint16_t)((s == 0 ? 0xffff : s) ^ (bad_l4 ? 0x0101 : 0)));
	f->m.buf_addr = f->b;
	f->m.buf_len = sizeof(f->b);
	f->m.data_off = RTE_PKTMBUF_HEADROOM;
	f->m.data_len = (uint16_t)(l3 + 20 + 12);
	f->m.pkt_len = f->m.data_len;
	f->m.nb_segs = 1;
	f->m.port = port;
	f->m.ol_flags = ol_flags;
	return &f->m;
}

static struct ct_shard *
mkshard(uint16_t notrack_port)
{
	struct ct_conf c;
	char err[128];

	ct_conf_init(&c);
	c.max_entries = 64;
	c.shard_count = 1;
	c.seed = 1;
	c.timeout_s[CT_TO_UDP_UNREPLIED] = 30;
	if (notrack_port != 0) {
		c.n_notrack = 1;
		c.notrack[0].proto = 17;
		c.notrack[0].port = notrack_port;
	}
	return ct_shard_create(&c, err, sizeof(err));
}

static uint16_t
zone_by_vlan(const void *arg, uint16_t port, uint16_t vlan)
{
	const uint16_t *base = arg;

	return vlan == CT_VLAN_NONE ? *base : (uint16_t)(*base + port * 1000 + vlan);
}

/* Zones from the port and the outer VLAN, or one zone for all. */
static int
test_parse_zones(void)
{
	static struct frame f[3];
	struct rte_mbuf *m[3];
	struct ct_pkt pk[3];
	uint16_t base = 7;
	struct pipe_conf c = { .zone = 5 };

	m[0] = udp_frame(&f[0], 1, 2, 1000, 53, -1, 0, 0, 0);
	m[1] = udp_frame(&f[1], 1, 2, 1000, 53, 10, 0, 1, 0);
	m[2] = udp_frame(&f[2], 1, 2, 1000, 53, 20, 0, 2, 0);
	/* The NIC stripped the tag: the mbuf's vlan_tci is the VLAN. */
	m[2]->ol_flags = RTE_MBUF_F_RX_VLAN_STRIPPED;
	m[2]->vlan_tci = 30;
	pipe_parse_burst(&c, m, 3, pk);
	T_EQ(pk[0].cls, CT_PKT_TRACK);
	T_EQ(pk[0].tuple.zone, 5);
	T_EQ(pk[1].tuple.zone, 5);
	c.zone_of = zone_by_vlan;
	c.zone_arg = &base;
	pipe_parse_burst(&c, m, 3, pk);
	T_EQ(pk[0].tuple.zone, 7);
	T_EQ(pk[1].tuple.zone, 1017);
	T_EQ(pk[2].tuple.zone, 2037);
	T_EQ(pk[1].in_port, 1);
	return 0;
}

/*
 * The track stage, one packet per case: notrack rules before checksums, the
 * port's offload verdict before software, verification only when asked.
 */
static int
test_track_table(void)
{
	static const struct {
		const char *name;
		int bad_l4;
		bool verify;
		uint64_t ol;
		uint16_t notrack_port;
		uint64_t want_invalid, want_insert, want_notrack;
	} cases[] = {
		{ "good, verified", 0, true, 0, 0, 0, 1, 0 },
		{ "bad, verified in software", 1, true, 0, 0, 1, 0, 0 },
		{ "bad, not verified", 1, false, 0, 0, 0, 1, 0 },
		{ "bad, the port said good", 1, true,
		  RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, 0, 0, 1, 0 },
		{ "good, the port said bad", 0, true,
		  RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD, 0, 1, 0, 0 },
		{ "bad, notrack first: untracked, not summed", 1, true, 0, 53, 0, 0, 1 },
	};
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct frame f;
		struct ct_shard *s = mkshard(cases[i].notrack_port);
		struct pipe_conf c = { .shard = s, .csum_verify = cases[i].verify };
		struct rte_mbuf *m = udp_frame(&f, 1, 2, 1000, 53, -1, cases[i].bad_l4, 0,
					       cases[i].ol);
		struct ct_stats st;
		struct ct_pkt pk;
		uint8_t v = 0xff;

		T_ASSERT(s != NULL);
		pipe_parse_burst(&c, &m, 1, &pk);
		pipe_track_burst(&c, &m, &pk, 1, T0, NULL, &v, NULL);
		ct_shard_stats(s, &st);
		if (st.invalid != cases[i].want_invalid || st.insert != cases[i].want_insert ||
		    st.notrack != cases[i].want_notrack || v == 0xff)
			T_FAIL_("%s: invalid %" PRIu64 " insert %" PRIu64 " notrack %" PRIu64
				" verdict %u", cases[i].name, st.invalid, st.insert, st.notrack, v);
		ct_shard_free(s);
	}
	return 0;
}

/* pkt_now: each packet at its own time. A reply 60 s after the request (past
 * the 30 s unreplied timeout once the timers run) finds no entry; the same
 * two packets at one time are one connection. */
static int
test_packet_times(void)
{
	static struct frame f[2];
	struct rte_mbuf *m[2];
	struct ct_pkt pk[2];
	uint64_t times[2] = { T0, T0 + 60 * SEC };
	struct ct_stats st;
	uint8_t v[2];
	unsigned round;

	for (round = 0; round < 2; round++) {
		struct ct_shard *s = mkshard(0);
		struct pipe_conf c = { .shard = s };

		T_ASSERT(s != NULL);
		m[0] = udp_frame(&f[0], 1, 2, 1000, 53, -1, 0, 0, 0);
		m[1] = udp_frame(&f[1], 2, 1, 53, 1000, -1, 0, 0, 0);
		pipe_parse_burst(&c, m, 1, pk);
		pipe_track_burst(&c, m, pk, 1, T0, round ? times : NULL, v, NULL);
		ct_shard_expire(s, round ? times[1] : T0, 1u << 20);
		pipe_parse_burst(&c, m + 1, 1, pk + 1);
		pipe_track_burst(&c, m + 1, pk + 1, 1, T0, round ? times + 1 : NULL, v + 1, NULL);
		ct_shard_stats(s, &st);
		T_EQ(st.insert, round ? 2 : 1);
		ct_shard_free(s);
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_parse_zones),
	T_CASE(test_track_table),
	T_CASE(test_packet_times),
};

int
main(void)
{
	return t_run(cases, sizeof(cases) / sizeof(cases[0]));
}
