/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flow ownership from RSS (app/dpct/rss.c), no EAL: for the key and RETA
 * dpct programs (40- and 52-byte keys, several table sizes and worker
 * counts), the Toeplitz hash a NIC computes over each packet's headers
 * (rte_softrss over the wire fields) sends both directions of every flow to
 * one worker, IPv4 and IPv6, TCP and UDP; dpct's own owner functions (from
 * mbuf->hash.rss, and in software for ICMP errors and fragments) agree.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_thash.h>

#include "dpct_test.h"
#include "rss.h"

#define FLOWS 4000

static uint64_t rng = 0x1234567;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

struct flow {
	int v6;
	uint8_t proto;
	uint8_t a[16], b[16];
	uint16_t pa, pb;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IP + TCP/UDP from `src` to `dst`; returns the frame length. */
static unsigned
build(uint8_t *f, const struct flow *fl, int reverse, int frag_first)
{
	const uint8_t *s = reverse ? fl->b : fl->a, *d = reverse ? fl->a : fl->b;
	uint16_t sp = reverse ? fl->pb : fl->pa, dp = reverse ? fl->pa : fl->pb;
	unsigned l3 = 14, l4, l4len = fl->proto == 6 ? 20 : 8, len;

	memset(f, 0, 128);
	memset(f, 0x02, 12);
	if (fl->v6) {
		put16(f + 12, 0x86dd);
		f[l3] = 0x60;
		put16(f + l3 + 4, (uint16_t)l4len);
		f[l3 + 6] = fl->proto;
		f[l3 + 7] = 64;
		memcpy(f + l3 + 8, s, 16);
		memcpy(f + l3 + 24, d, 16);
		l4 = l3 + 40;
	} else {
		put16(f + 12, 0x0800);
		f[l3] = 0x45;
		put16(f + l3 + 2, (uint16_t)(20 + l4len));
		if (frag_first)
			f[l3 + 6] = 0x20;      /* MF, offset 0: a first fragment */
		f[l3 + 8] = 64;
		f[l3 + 9] = fl->proto;
		memcpy(f + l3 + 12, s, 4);
		memcpy(f + l3 + 16, d, 4);
		l4 = l3 + 20;
	}
	put16(f + l4, sp);
	put16(f + l4 + 2, dp);
	if (fl->proto == 6) {
		f[l4 + 12] = 0x50;
		f[l4 + 13] = 0x10;     /* ACK */
	} else {
		put16(f + l4 + 4, 8);
	}
	len = l4 + l4len;
	return len < 60 ? 60 : len;
}

/* An ICMP error from a router quoting the flow's packet a->b. */
static unsigned
build_icmp_error(uint8_t *f, const struct flow *fl)
{
	uint8_t inner[128];
	unsigned n = build(inner, fl, 0, 0) - 14;
	unsigned l3 = 14;
	static const uint8_t router[4] = { 192, 0, 2, 254 };

	memset(f, 0, 256);
	memset(f, 0x02, 12);
	put16(f + 12, 0x0800);
	f[l3] = 0x45;
	put16(f + l3 + 2, (uint16_t)(20 + 8 + n));
	f[l3 + 8] = 64;
	f[l3 + 9] = 1;
	memcpy(f + l3 + 12, router, 4);
	memcpy(f + l3 + 16, fl->a, 4);
	f[l3 + 20] = 3;     /* destination unreachable */
	f[l3 + 21] = 3;
	memcpy(f + l3 + 28, inner + 14, n);
	return 14 + 20 + 8 + n;
}

/* What the NIC computes: Toeplitz over the wire fields, in CPU order. */
static uint32_t
nic_hash(const uint8_t *f, const struct flow *fl, const uint8_t *key)
{
	union rte_thash_tuple in;
	unsigned i, l4;

	memset(&in, 0, sizeof(in));
	if (fl->v6) {
		for (i = 0; i < 4; i++) {
			uint32_t s, d;

			memcpy(&s, f + 14 + 8 + 4 * i, 4);
			memcpy(&d, f + 14 + 24 + 4 * i, 4);
			s = rte_be_to_cpu_32(s);
			d = rte_be_to_cpu_32(d);
			memcpy(in.v6.src_addr + 4 * i, &s, 4);
			memcpy(in.v6.dst_addr + 4 * i, &d, 4);
		}
		l4 = 14 + 40;
		in.v6.sport = (uint16_t)(f[l4] << 8 | f[l4 + 1]);
		in.v6.dport = (uint16_t)(f[l4 + 2] << 8 | f[l4 + 3]);
		return rte_softrss((uint32_t *)&in.v6, RTE_THASH_V6_L4_LEN, key);
	}
	memcpy(&in.v4.src_addr, f + 14 + 12, 4);
	memcpy(&in.v4.dst_addr, f + 14 + 16, 4);
	in.v4.src_addr = rte_be_to_cpu_32(in.v4.src_addr);
	in.v4.dst_addr = rte_be_to_cpu_32(in.v4.dst_addr);
	l4 = 14 + 20;
	in.v4.sport = (uint16_t)(f[l4] << 8 | f[l4 + 1]);
	in.v4.dport = (uint16_t)(f[l4 + 2] << 8 | f[l4 + 3]);
	return rte_softrss((uint32_t *)&in.v4, RTE_THASH_V4_L4_LEN, key);
}

static unsigned
reta_queue(const struct rte_eth_rss_reta_entry64 *reta, unsigned size, uint32_t h)
{
	unsigned i = h & (size - 1);

	return reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
}

static void
rand_flow(struct flow *fl)
{
	unsigned i;

	memset(fl, 0, sizeof(*fl));
	fl->v6 = rnd() & 1;
	fl->proto = (rnd() & 1) ? 6 : 17;
	for (i = 0; i < (fl->v6 ? 16u : 4u); i++) {
		fl->a[i] = (uint8_t)rnd();
		fl->b[i] = (uint8_t)rnd();
	}
	fl->pa = (uint16_t)(1024 + rnd() % 64000);
	fl->pb = (rnd() & 3) ? (uint16_t)(rnd() % 1024) : (uint16_t)rnd();
}

/* A fake received mbuf: the frame, the port and the NIC's hash. */
static void
fake_mbuf(struct rte_mbuf *m, uint8_t *frame, uint16_t port, uint32_t rss)
{
	memset(m, 0, sizeof(*m));
	m->buf_addr = frame;
	m->data_off = 0;
	m->port = port;
	m->ol_flags = RTE_MBUF_F_RX_RSS_HASH;
	m->hash.rss = rss;
}

static int
check_config(unsigned key_size, unsigned reta_size, unsigned workers)
{
	static struct dpct_rss r;
	struct rte_eth_dev_info info;
	struct rte_eth_rss_conf rc;
	struct rte_eth_rss_reta_entry64 reta[DPCT_RSS_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	uint8_t key[DPCT_RSS_KEY_MAX];
	unsigned per_worker[64], i;

	memset(&info, 0, sizeof(info));
	info.hash_key_size = (uint8_t)key_size;
	info.reta_size = (uint16_t)reta_size;
	info.flow_type_rss_offloads = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
	T_EQ(dpct_rss_port_conf(&info, workers, &rc, key), 0);
	T_EQ(rc.rss_key_len, key_size);
	T_ASSERT(rc.rss_key == key);
	memset(&r, 0, sizeof(r));
	T_EQ(dpct_rss_init(&r, reta_size, workers), 0);
	r.port_rss[0] = true;
	memset(reta, 0, sizeof(reta));
	dpct_rss_reta_fill(&r, reta, reta_size);
	memset(per_worker, 0, sizeof(per_worker));
	for (i = 0; i < FLOWS; i++) {
		uint8_t fa[256], fb[256], fe[256], ff[128];
		struct ct_pkt pa, pb, pe, pf;
		struct rte_mbuf ma, mb, me, mf;
		struct flow fl;
		uint32_t ha, hb;
		unsigned qa, qb, la, lb;

		rand_flow(&fl);
		la = build(fa, &fl, 0, 0);
		lb = build(fb, &fl, 1, 0);
		ha = nic_hash(fa, &fl, rc.rss_key);
		hb = nic_hash(fb, &fl, rc.rss_key);
		qa = reta_queue(reta, reta_size, ha);
		qb = reta_queue(reta, reta_size, hb);
		if (qa != qb || ha != hb)
			T_FAIL_("key %u reta %u workers %u flow %u (v%d proto %u): "
				"hash %08x/%08x queue %u/%u", key_size, reta_size, workers, i,
				fl.v6 ? 6 : 4, fl.proto, ha, hb, qa, qb);
		T_ASSERT(qa < workers);
		per_worker[qa]++;
		/* dpct's view: the owner of the NIC hash, and of the tuple in software. */
		T_EQ(ct_parse(fa, la, 0, &pa), CT_PKT_TRACK);
		T_EQ(ct_parse(fb, lb, 0, &pb), CT_PKT_TRACK);
		fake_mbuf(&ma, fa, 0, ha);
		fake_mbuf(&mb, fb, 0, hb);
		T_ASSERT(dpct_rss_nic_placed(&r, &ma, &pa));
		T_EQ(dpct_rss_owner(&r, &ma, &pa), qa);
		T_EQ(dpct_rss_owner(&r, &mb, &pb), qa);
		T_EQ(dpct_rss_owner_tuple(&r, &pa.tuple), qa);
		T_EQ(dpct_rss_owner_tuple(&r, &pb.tuple), qa);
		T_EQ(dpct_rss_owner_of(&r, &pb.tuple), qa);
		/* From a port without RSS (a vdev): the same owner, in software. */
		fake_mbuf(&mb, fb, 1, 0);
		mb.ol_flags = 0;
		T_ASSERT(!dpct_rss_nic_placed(&r, &mb, &pb));
		T_EQ(dpct_rss_owner(&r, &mb, &pb), qa);
		if (!fl.v6) {
			unsigned le = build_icmp_error(fe, &fl), lf = build(ff, &fl, 1, 1);
			/* The NIC hashes an ICMP error by its outer addresses and a first
			 * fragment by its addresses only: give it a wrong hash to be sure
			 * dpct does not use it. */
			T_EQ(ct_parse(fe, le, 0, &pe), CT_PKT_ICMP_ERROR);
			fake_mbuf(&me, fe, 0, ~ha);
			T_ASSERT(!dpct_rss_nic_placed(&r, &me, &pe));
			T_EQ(dpct_rss_owner(&r, &me, &pe), qa);
			T_EQ(ct_parse(ff, lf, 0, &pf), CT_PKT_TRACK);
			fake_mbuf(&mf, ff, 0, ~ha);
			T_ASSERT(!dpct_rss_nic_placed(&r, &mf, &pf));
			T_EQ(dpct_rss_owner(&r, &mf, &pf), qa);
		}
	}
	/* Every worker gets a fair part (the 0x6d5a key keeps enough entropy). */
	for (i = 0; i < workers; i++)
		if (per_worker[i] < FLOWS / workers / 2)
			T_FAIL_("key %u reta %u: worker %u got %u of %u flows", key_size, reta_size,
				i, per_worker[i], FLOWS);
	return 0;
}

static int
test_both_directions_one_worker_40(void)
{
	static const unsigned reta[] = { 128, 512 }, nw[] = { 2, 3, 4, 8 };
	unsigned i, j;

	for (i = 0; i < RTE_DIM(reta); i++)
		for (j = 0; j < RTE_DIM(nw); j++)
			if (check_config(40, reta[i], nw[j]) != 0)
				return -1;
	return 0;
}

static int
test_both_directions_one_worker_52(void)
{
	static const unsigned reta[] = { 64, 512, 2048 }, nw[] = { 2, 5, 16 };
	unsigned i, j;

	for (i = 0; i < RTE_DIM(reta); i++)
		for (j = 0; j < RTE_DIM(nw); j++)
			if (check_config(52, reta[i], nw[j]) != 0)
				return -1;
	return 0;
}

/* A port whose RETA is larger than another's: ownership still agrees. */
static int
test_mixed_reta_sizes(void)
{
	static struct dpct_rss r;
	struct rte_eth_rss_reta_entry64 big[512 / RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_rss_reta_entry64 small[128 / RTE_ETH_RETA_GROUP_SIZE];
	unsigned i;

	T_EQ(dpct_rss_init(&r, 128, 3), 0);
	dpct_rss_reta_fill(&r, big, 512);
	dpct_rss_reta_fill(&r, small, 128);
	for (i = 0; i < 100000; i++) {
		uint32_t h = rnd();

		T_EQ(reta_queue(big, 512, h), reta_queue(small, 128, h));
		T_EQ(reta_queue(big, 512, h), dpct_rss_owner_hash(&r, h));
	}
	return 0;
}

static int
test_port_conf_refusals(void)
{
	struct rte_eth_dev_info info;
	struct rte_eth_rss_conf rc;
	uint8_t key[DPCT_RSS_KEY_MAX];
	static struct dpct_rss r;

	memset(&info, 0, sizeof(info));
	info.hash_key_size = 40;
	info.flow_type_rss_offloads = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
	T_EQ(dpct_rss_port_conf(&info, 1, &rc, key), -ENOTSUP);      /* one queue */
	info.hash_key_size = 64;
	T_EQ(dpct_rss_port_conf(&info, 4, &rc, key), -ENOTSUP);      /* key size */
	T_ASSERT(rc.rss_key == NULL);
	info.hash_key_size = 52;
	info.flow_type_rss_offloads = RTE_ETH_RSS_IP;                 /* no L4 hashing */
	T_EQ(dpct_rss_port_conf(&info, 4, &rc, key), -ENOTSUP);
	T_EQ(dpct_rss_init(&r, 96, 2), -EINVAL);
	T_EQ(dpct_rss_init(&r, 0, 4), 0);
	T_ASSERT(!r.on);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_both_directions_one_worker_40),
	T_CASE(test_both_directions_one_worker_52),
	T_CASE(test_mixed_reta_sizes),
	T_CASE(test_port_conf_refusals),
};

T_MAIN(cases)
