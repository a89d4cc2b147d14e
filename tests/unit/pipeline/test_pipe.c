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
#include "nat.h"
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

/*
 * Frame `f` cleared to an untagged Ethernet frame of an IPv4 header
 * src -> dst (host order), protocol `proto`, `l4len` bytes after it, its
 * checksum correct, and its mbuf over it; returns the IPv4 header.
 */
static uint8_t *
ip4_frame(struct frame *f, uint8_t proto, uint32_t src, uint32_t dst, unsigned l4len)
{
	uint8_t *e = f->b + RTE_PKTMBUF_HEADROOM, *ip = e + 14;
	unsigned i;

	memset(f, 0, sizeof(*f));
	e[0] = e[6] = 2;
	put16(e + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	ip[8] = 64;
	ip[9] = proto;
	for (i = 0; i < 4; i++) {
		ip[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		ip[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	put16(ip + 10, (uint16_t)~sum16(ip, 20, 0));
	f->m.buf_addr = f->b;
	f->m.buf_len = sizeof(f->b);
	f->m.data_off = RTE_PKTMBUF_HEADROOM;
	f->m.data_len = (uint16_t)(14 + 20 + l4len);
	f->m.pkt_len = f->m.data_len;
	f->m.nb_segs = 1;
	return ip;
}

/* A UDP/IPv4 frame src:sp -> dst:dp (addresses host order), untagged, its UDP checksum
 * correct or 0 (`no_csum`), its payload `plen` bytes. */
static struct rte_mbuf *
udp4_frame(struct frame *f, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, int no_csum,
	   unsigned plen)
{
	uint8_t *ip = ip4_frame(f, 17, src, dst, 8 + plen), *u = ip + 20;
	uint32_t s;
	unsigned i;

	put16(u, sp);
	put16(u + 2, dp);
	put16(u + 4, (uint16_t)(8 + plen));
	for (i = 0; i < plen; i++)
		u[8 + i] = (uint8_t)(i * 37 + sp);
	s = (uint16_t)~sum16(u, 8 + plen, sum16(ip + 12, 8, 0) + 17 + 8 + plen);
	put16(u + 6, no_csum ? 0 : (uint16_t)(s == 0 ? 0xffff : s));
	return &f->m;
}

/* A TCP/IPv4 frame src:sp -> dst:dp (addresses host order), untagged, flags `flags`,
 * its checksums correct, its payload `plen` bytes. */
static struct rte_mbuf *
tcp4_frame(struct frame *f, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, uint8_t flags,
	   uint32_t seq, uint32_t ack, unsigned plen)
{
	uint8_t *ip = ip4_frame(f, 6, src, dst, 20 + plen), *t = ip + 20;
	unsigned i;

	for (i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	put16(t, sp);
	put16(t + 2, dp);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	for (i = 0; i < plen; i++)
		t[20 + i] = (uint8_t)(i * 29 + dp);
	put16(t + 16, (uint16_t)~sum16(t, 20 + plen, sum16(ip + 12, 8, 0) + 6 + 20 + plen));
	return &f->m;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Both checksums of a UDP/IPv4 frame hold (a UDP checksum of 0 is none). */
static int
udp4_sums_ok(const struct rte_mbuf *m)
{
	const uint8_t *ip = rte_pktmbuf_mtod(m, const uint8_t *) + 14, *u = ip + 20;
	unsigned ulen = (unsigned)(u[4] << 8 | u[5]);

	if (sum16(ip, 20, 0) != 0xffff)
		return 0;
	if (u[6] == 0 && u[7] == 0)
		return 1;
	return sum16(u, ulen, sum16(ip + 12, 8, 0) + 17 + ulen) == 0xffff;
}

#define CLIENT_NET 0x0a000000u /* 10.0.0.0/8 */
#define SERVER 0xc0000201u     /* 192.0.2.1 */
#define POOL 0xc6336401u       /* 198.51.100.1 */
#define INSIDE 0xc0a8010au     /* 192.168.1.10 */

/* The source translation of CLIENT_NET to the pool. */
static void
snat_rule(struct nat_rule *r)
{
	nat_rule_init(r);
	snprintf(r->name, sizeof(r->name), "out");
	r->kind = NAT_SNAT;
	r->src = CLIENT_NET;
	r->src_len = 8;
}

/*
 * A translating shard of 64 entries for one worker, its hook `pn`'s, with
 * `rules` over the pool POOL:20000-20099 (*t: the table, for
 * nat_table_free()). NULL when any part is refused.
 */
static struct ct_shard *
nat_shard(const struct nat_rule *rules, unsigned n_rules, struct nat_table **t,
	  struct pipe_nat *pn)
{
	struct nat_pool pool;
	struct ct_nat_hook h;
	struct ct_conf cc;
	struct ct_shard *s;
	char err[128];

	memset(&pool, 0, sizeof(pool));
	snprintf(pool.name, sizeof(pool.name), "p");
	pool.addr_lo = pool.addr_hi = POOL;
	pool.port_lo = 20000;
	pool.port_hi = 20099;
	pool.mode = NAT_MODE_NAPT;
	*t = nat_table_build(&pool, 1, rules, n_rules, 1, err, sizeof(err));
	if (*t == NULL)
		return NULL;
	ct_conf_init(&cc);
	cc.max_entries = 64;
	cc.shard_count = 1;
	cc.seed = 1;
	cc.nat = true;
	s = ct_shard_create(&cc, err, sizeof(err));
	memset(pn, 0, sizeof(*pn));
	pn->table = *t;
	pipe_nat_hook(pn, &h);
	if (s == NULL || ct_shard_set_nat(s, &h) != 0) {
		ct_shard_free(s);
		nat_table_free(*t);
		return NULL;
	}
	return s;
}

/*
 * Translation in the track stage: the packets of translated flows come out
 * rewritten (source to the pool in the original direction, destination back
 * to the client in the reply direction, with the checksum changes the bind
 * worked out for each), both checksums correct, a UDP checksum of 0 left 0,
 * and byte for byte what nat_rewrite() makes of the same frame and
 * translation from its own sums.
 */
static int
test_nat_rewritten(void)
{
	enum { N = 8 };
	static struct frame f[N], ref[N];
	struct rte_mbuf *m[N];
	struct ct_pkt pk[N];
	struct nat_rule rule;
	struct pipe_nat pn;
	struct ct_shard *s;
	struct nat_table *t;
	uint16_t port[N];
	uint8_t v[N];
	unsigned i, dir;

	snat_rule(&rule);
	s = nat_shard(&rule, 1, &t, &pn);
	T_ASSERT(s != NULL);
	{
		struct pipe_conf c = { .shard = s, .nat = &pn };

		for (dir = 0; dir < 2; dir++) {
			for (i = 0; i < N; i++) {
				/* Client i's datagram, then the server's answer to its pool port;
				 * every third without a UDP checksum. */
				if (dir == 0)
					m[i] = udp4_frame(&f[i], CLIENT_NET + 1 + i, SERVER,
							  (uint16_t)(1000 + i), 53, i % 3 == 2, 4 + i);
				else
					m[i] = udp4_frame(&f[i], SERVER, POOL, 53, port[i], i % 3 == 2,
							  4 + i);
				ref[i] = f[i];
				ref[i].m.buf_addr = ref[i].b;
			}
			pipe_parse_burst(&c, m, N, pk);
			pipe_track_burst(&c, m, pk, N, T0 + dir, NULL, v, NULL);
			for (i = 0; i < N; i++) {
				const uint8_t *ip = rte_pktmbuf_mtod(m[i], const uint8_t *) + 14;
				struct rte_mbuf *rm = &ref[i].m;
				struct ct_tuple to = pk[i].tuple;

				T_EQ(v[i], CT_V_PASS);
				T_ASSERT(udp4_sums_ok(m[i]));
				if (i % 3 == 2)
					T_EQ(ip[26] | ip[27], 0);
				if (dir == 0) {
					T_EQ(rd32(ip + 12), POOL);
					T_EQ(rd32(ip + 16), SERVER);
					port[i] = (uint16_t)(ip[20] << 8 | ip[21]);
					T_ASSERT(port[i] >= 20000 && port[i] <= 20099);
					wr32(to.src, POOL);
					to.sport = port[i];
				} else {
					T_EQ(rd32(ip + 12), SERVER);
					T_EQ(rd32(ip + 16), CLIENT_NET + 1 + i);
					T_EQ(ip[22] << 8 | ip[23], 1000 + i);
					wr32(to.dst, CLIENT_NET + 1 + i);
					to.dport = (uint16_t)(1000 + i);
				}
				/* nat_rewrite() of the untouched copy, its sums its own. */
				T_EQ(nat_rewrite(rte_pktmbuf_mtod(rm, uint8_t *), rm->data_len, &pk[i],
						 &to), 0);
				T_MEMEQ(rte_pktmbuf_mtod(rm, const uint8_t *),
					rte_pktmbuf_mtod(m[i], const uint8_t *), m[i]->data_len);
			}
		}
		T_EQ(pn.rewrite_failed, 0);
	}
	ct_shard_free(s);
	nat_table_free(t);
	return 0;
}

/* Both checksums of a TCP/IPv4 frame hold. */
static int
tcp4_sums_ok(const struct rte_mbuf *m)
{
	const uint8_t *ip = rte_pktmbuf_mtod(m, const uint8_t *) + 14;
	unsigned tlen = (unsigned)(ip[2] << 8 | ip[3]) - 20;

	return sum16(ip, 20, 0) == 0xffff &&
	       sum16(ip + 20, tlen, sum16(ip + 12, 8, 0) + 6 + tlen) == 0xffff;
}

/*
 * TCP handshakes through both kinds of rule, rewritten in the track stage
 * (the frames are plain: ct_process_burst_nat() rewrites them in place):
 * source translation of a client's connection to the pool, destination
 * translation of a connection to the public address's port to the inside
 * server; each packet, both directions, byte for byte what nat_rewrite()
 * makes of it and its translation, both checksums correct.
 */
static int
test_nat_tcp_in_place(void)
{
	enum { N = 6 };
	static const struct {
		uint8_t reply, flags;
	} hs[3] = { { 0, 0x02 }, { 1, 0x12 }, { 0, 0x10 } };
	static struct frame f, ref;
	struct nat_rule rule[2];
	struct pipe_nat pn;
	struct ct_shard *s;
	struct nat_table *t;
	uint16_t port[N];
	unsigned i, k;

	nat_rule_init(&rule[0]);
	snprintf(rule[0].name, sizeof(rule[0].name), "web-in");
	rule[0].kind = NAT_DNAT;
	rule[0].proto = 6;
	rule[0].dst = POOL;
	rule[0].dst_len = 32;
	rule[0].dport_lo = rule[0].dport_hi = 80;
	rule[0].to_addr = INSIDE;
	rule[0].to_port = 8080;
	snat_rule(&rule[1]);
	s = nat_shard(rule, 2, &t, &pn);
	T_ASSERT(s != NULL);
	{
		struct pipe_conf c = { .shard = s, .nat = &pn };

		for (k = 0; k < 3; k++) {
			for (i = 0; i < N; i++) {
				/* Even i: client 10.0.0.<i+1> out to SERVER:443 (snat); odd i:
				 * SERVER-side host SERVER+i to POOL:80 (dnat to INSIDE:8080). */
				const bool dn = (i & 1) != 0, r = hs[k].reply != 0;
				const uint32_t cl = dn ? SERVER + i : CLIENT_NET + 1 + i;
				const uint16_t cp = (uint16_t)(40000 + i);
				const uint32_t seq = r ? 5000 : 1000 + (k == 2);
				const uint32_t ack = k == 0 ? 0 : r ? 1001 : 5001;
				struct rte_mbuf *m, *rm = &ref.m;
				struct ct_tuple to;
				struct ct_pkt pk;
				const uint8_t *ip;
				uint8_t v;

				if (!r)
					m = tcp4_frame(&f, cl, dn ? POOL : SERVER, cp, dn ? 80 : 443,
						       hs[k].flags, seq, ack, 0);
				else if (dn)
					m = tcp4_frame(&f, INSIDE, cl, 8080, cp, hs[k].flags, seq,
						       ack, 0);
				else
					m = tcp4_frame(&f, SERVER, POOL, 443, port[i], hs[k].flags,
						       seq, ack, 0);
				ref = f;
				ref.m.buf_addr = ref.b;
				pipe_parse_burst(&c, &m, 1, &pk);
				T_EQ(pk.plain, 1);
				pipe_track_burst(&c, &m, &pk, 1, T0 + k, NULL, &v, NULL);
				T_EQ(v, CT_V_PASS);
				T_ASSERT(tcp4_sums_ok(m));
				ip = rte_pktmbuf_mtod(m, const uint8_t *) + 14;
				to = pk.tuple;
				if (!dn && !r) {
					T_EQ(rd32(ip + 12), POOL);
					port[i] = (uint16_t)(ip[20] << 8 | ip[21]);
					T_ASSERT(port[i] >= 20000 && port[i] <= 20099);
					wr32(to.src, POOL);
					to.sport = port[i];
				} else if (!dn) {
					T_EQ(rd32(ip + 16), cl);
					T_EQ(ip[22] << 8 | ip[23], cp);
					wr32(to.dst, cl);
					to.dport = cp;
				} else if (!r) {
					T_EQ(rd32(ip + 16), INSIDE);
					T_EQ(ip[22] << 8 | ip[23], 8080);
					wr32(to.dst, INSIDE);
					to.dport = 8080;
				} else {
					T_EQ(rd32(ip + 12), POOL);
					T_EQ(ip[20] << 8 | ip[21], 80);
					wr32(to.src, POOL);
					to.sport = 80;
				}
				T_EQ(nat_rewrite(rte_pktmbuf_mtod(rm, uint8_t *), rm->data_len, &pk,
						 &to), 0);
				T_MEMEQ(rte_pktmbuf_mtod(rm, const uint8_t *),
					rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
			}
		}
		T_EQ(pn.rewrite_failed, 0);
	}
	T_EQ(ct_shard_live(s), N);
	ct_shard_free(s);
	nat_table_free(t);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_parse_zones),
	T_CASE(test_track_table),
	T_CASE(test_packet_times),
	T_CASE(test_nat_rewritten),
	T_CASE(test_nat_tcp_in_place),
};

int
main(void)
{
	return t_run(cases, sizeof(cases) / sizeof(cases[0]));
}
