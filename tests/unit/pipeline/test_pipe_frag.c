/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/pipeline reassembly (pipe_frag.c), table-driven, with EAL (mempools,
 * rte_ip_frag): a UDP datagram over IPv4 or IPv6 cut into fragments sent
 * in a given order. Each case says whether a datagram comes out, its
 * parse (class, counted length) and what is left waiting or dropped; the
 * originals come back unchanged and in offset order, and every mbuf goes
 * back to its pool.
 */
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "pipe_frag.h"

#define PAYLOAD 64 /* UDP payload: 72 L4 bytes */

struct piece {
	uint16_t off, len; /* into the L4 bytes */
	bool mf;
};

struct fcase {
	const char *name;
	int fam;
	struct piece p[6];
	unsigned n;
	bool bad_hdr_csum;  /* IPv4: the first piece's header checksum wrong */
	bool complete;      /* a datagram comes out of the last piece */
	uint32_t len;       /* its ct_pkt.len */
	uint64_t waiting;   /* fragments left waiting before expiry */
	uint64_t dropped;   /* fragments dropped (bad checksum and expiry included) */
};

static const struct fcase cases[] = {
	{"v4 in order", 4, {{0, 24, true}, {24, 24, true}, {48, 24, false}}, 3,
	 false, true, 20 + 72, 0, 0},
	{"v4 last first", 4, {{48, 24, false}, {0, 24, true}, {24, 24, true}}, 3,
	 false, true, 20 + 72, 0, 0},
	{"v4 tiny (8 bytes)", 4, {{0, 8, true}, {8, 8, true}, {16, 56, false}}, 3,
	 false, true, 20 + 72, 0, 0},
	{"v4 missing middle", 4, {{0, 24, true}, {48, 24, false}}, 2,
	 false, false, 0, 2, 2},
	{"v4 overlap", 4, {{0, 32, true}, {24, 24, true}, {48, 24, false}}, 3,
	 false, false, 0, 0, 3},
	{"v4 bad header checksum", 4, {{0, 24, true}, {24, 48, false}}, 2,
	 true, false, 0, 1, 2},
	{"v6 in order", 6, {{0, 32, true}, {32, 40, false}}, 2,
	 false, true, 40 + 72, 0, 0},
	{"v6 last first", 6, {{32, 40, false}, {0, 32, true}}, 2,
	 false, true, 40 + 72, 0, 0},
	{"v6 atomic", 6, {{0, 72, false}}, 1,
	 false, true, 40 + 72, 0, 0},
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

/* The L4 bytes: UDP 10.0.0.1/fd00::1:4000 -> .2/::2:53 with its checksum. */
static void
udp_bytes(int fam, uint8_t *u)
{
	uint32_t s, i;

	put16(u, 4000);
	put16(u + 2, 53);
	put16(u + 4, 8 + PAYLOAD);
	put16(u + 6, 0);
	for (i = 0; i < PAYLOAD; i++)
		u[8 + i] = (uint8_t)i;
	if (fam == 4)
		s = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 8 + PAYLOAD;
	else
		s = 0xfd00 + 1 + 0xfd00 + 2 + 17 + 8 + PAYLOAD;
	s = (uint16_t)~sum16(u, 8 + PAYLOAD, s);
	put16(u + 6, (uint16_t)(s == 0 ? 0xffff : s));
}

static struct rte_mbuf *
fragment(struct rte_mempool *mp, int fam, const uint8_t *l4, const struct piece *p, bool bad,
	 uint16_t id)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint32_t hl = fam == 4 ? 20 : 48, n = 14 + hl + p->len;
	uint8_t *e = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)n), *ip = e + 14;

	memset(e, 0, n);
	e[0] = e[6] = 2;
	if (fam == 4) {
		put16(e + 12, 0x0800);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + p->len));
		put16(ip + 4, id);
		put16(ip + 6, (uint16_t)((p->mf ? 0x2000 : 0) | p->off / 8));
		ip[8] = 64;
		ip[9] = 17;
		ip[12] = ip[16] = 10;
		ip[15] = 1;
		ip[19] = 2;
		put16(ip + 10, (uint16_t)(~sum16(ip, 20, 0) ^ (bad ? 0x0100 : 0)));
	} else {
		put16(e + 12, 0x86dd);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(8 + p->len));
		ip[6] = 44;
		ip[7] = 64;
		ip[8] = ip[24] = 0xfd;
		ip[23] = 1;
		ip[39] = 2;
		ip[40] = 17;
		put16(ip + 42, (uint16_t)(p->off | (p->mf ? 1 : 0)));
		put16(ip + 46, id);
	}
	memcpy(ip + hl, l4 + p->off, p->len);
	return m;
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "--no-pci", "-m", "64", "--no-shconf",
		       "--log-level", "*:error", "--file-prefix", "test_pipe_frag"};
	struct pipe_frag_conf fc = { .max_datagrams = 16, .timeout_ns = 1000000000,
				     .csum_verify = true, .socket = 0 };
	struct rte_mempool *mp;
	struct pipe_frag *f;
	char err[256];
	unsigned c, i, failed = 0;
	uint8_t l4[8 + PAYLOAD];

	(void)argc;
	printf("1..%zu\n", RTE_DIM(cases) + 1);
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		printf("Bail out! EAL init failed\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create("test_rx", 256, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	f = pipe_frag_create(&fc, "test", err, sizeof(err));
	if (mp == NULL || f == NULL) {
		printf("not ok 1 - pool and reassembly state: %s\n", err);
		return 1;
	}
	printf("ok 1 - pool and reassembly state\n");
	for (c = 0; c < RTE_DIM(cases); c++) {
		const struct fcase *k = &cases[c];
		struct rte_mbuf *sent[6], *dg = NULL, *orig[9];
		struct pipe_frag_stats st0, st;
		struct ct_pkt pk, dpk;
		uint64_t now = (c + 1) * UINT64_C(10000000000);
		int got = 0, done = -1;
		bool ok = true;
		unsigned n = 0;

		udp_bytes(k->fam, l4);
		pipe_frag_stats(f, &st0);
		for (i = 0; i < k->n; i++) {
			sent[i] = fragment(mp, k->fam, l4, &k->p[i], k->bad_hdr_csum && i == 0,
					   (uint16_t)(0x100 + c));
			ct_parse_mbuf(sent[i], 0, &pk);
			ok = ok && pipe_frag_is_fragment(sent[i], &pk);
			if (pipe_frag_add(f, sent[i], &pk, now, &dg, &dpk) == 1) {
				got++;
				done = (int)i;
			}
		}
		pipe_frag_stats(f, &st);
		if (k->complete) {
			ok = ok && got == 1 && done == (int)k->n - 1 && pipe_frag_is_datagram(dg) &&
			     !pipe_frag_is_fragment(dg, &dpk) && dpk.cls == CT_PKT_TRACK &&
			     dpk.len == k->len && dpk.tuple.sport == 4000 &&
			     dpk.tuple.dport == 53 &&
			     ct_pkt_csum_mbuf(dg, &dpk) == 0;
			n = pipe_frag_release(dg, orig, RTE_DIM(orig));
			/* The originals, unchanged, in offset order. */
			ok = ok && n == k->n;
			for (i = 0; ok && i + 1 < n; i++) {
				struct ct_pkt a, b;

				ct_parse_mbuf(orig[i], 0, &a);
				ct_parse_mbuf(orig[i + 1], 0, &b);
				ok = a.cls != CT_PKT_FRAGMENT || b.cls == CT_PKT_FRAGMENT;
			}
			rte_pktmbuf_free_bulk(orig, n);
		} else {
			ok = ok && got == 0;
		}
		ok = ok && st.waiting - st0.waiting == k->waiting &&
		     st.datagrams - st0.datagrams == (k->complete ? 1u : 0u);
		/* Expiry frees what waits, originals included. */
		pipe_frag_expire(f, now + 2 * fc.timeout_ns);
		pipe_frag_stats(f, &st);
		ok = ok && st.waiting == 0 &&
		     st.dropped + st.bad_csum - st0.dropped - st0.bad_csum == k->dropped;
		ok = ok && rte_mempool_avail_count(mp) == 256;
		printf("%s %u - %s: datagram %d (want %d), waiting and dropped as expected, "
		       "mbufs back\n", ok ? "ok" : "not ok", c + 2, k->name, got, k->complete);
		failed += !ok;
	}
	pipe_frag_free(f);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return failed ? 1 : 0;
}
