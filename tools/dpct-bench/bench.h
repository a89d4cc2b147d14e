/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_BENCH_H
#define DPCT_BENCH_H

/*
 * dpct-bench's state and its simulated NIC (frames written in place), shared
 * by the workloads (bench_work.c) and the driver (dpct_bench.c).
 */

#include <stdint.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "ct.h"
#include "ev.h"
#include "pipe.h"
#include "pol.h"

#define FRAME_LEN 64
#define FRAME_PAYLOAD 10 /* TCP payload bytes of the template (IP total length 50) */
#define MAX_BURST 256
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* --nat: where a reply goes (the pool address and port its flow left with). */
struct bench_nat_to {
	uint8_t addr[4];
	uint16_t port;
	uint16_t pad;
};

struct bench {
	const char *workload;
	uint32_t flows;
	uint64_t packets;
	unsigned burst;
	int json;
	int csum;                /* 0: none written; 1: written, not checked; 2: verified */
	int bulk;                /* --traffic bulk: the reply direction sends bare ACKs */
	int stagger;             /* --stagger (churn): a random slot for every packet */
	struct ct_shard *s;
	uint8_t frames[MAX_BURST][FRAME_LEN];
	/* The frames as received mbufs (no mempool: the pipeline reads the
	 * data pointer, lengths, port and RX offload flags only). */
	struct rte_mbuf mbufs[MAX_BURST];
	struct rte_mbuf *mptr[MAX_BURST];
	struct pipe_conf pipe;     /* the app's worker pipeline (lib/pipeline) */
	struct pipe_stats pst;
	struct ct_pkt pkts[MAX_BURST];
	uint8_t verdict[MAX_BURST];
	uint64_t now;
	uint64_t drops;
	/* Policy (--rules) */
	int rules;                 /* -1: no policy */
	struct pol_handle *pol;
	int timing;
	int no_thp;                /* --no-thp */
	unsigned ev_kinds;         /* --events: CT_EVK_* */
	/* --ring: records go through an event channel as in the app: the
	 * worker's ev_worker_sync() pushes them and applies the results, the
	 * "control core" (ring_control()) takes them and acks the destroys. */
	int ring;
	struct ev_chan *chan;
	uint64_t ring_lost;         /* acks the result ring refused (0 expected) */
	/* The quietest window of WINDOW packets: on a shared machine the
	 * median of whole runs includes other jobs' time slices. */
	double best_cpp;
	double rte_best;
	uint64_t win_t0, win_pkts, win_nic0;
	/* Cycles spent playing the NIC (writing frames, checksums) inside the
	 * timed loop: measured per burst and taken out of cycles_per_pkt. */
	uint64_t nic_cycles;
	/* --ring: the control core's part (taking and building the records,
	 * answering the destroys), timed and taken out likewise. */
	uint64_t ctl_cycles;
	uint64_t win_ctl0;
	/* --tpol: every connection gets a timeout policy (a rule matching all,
	 * the global values), so its entry takes the policy path. */
	int tpol;
	/* --nat: every flow's source translated to a pool (NAPT). The reply
	 * frames go to the pool address and port the flow was given, which
	 * the "NIC" learns from the first packet as it leaves the pipeline. */
	int nat;
	/* --limits N: a per-source limit of N live entries (each flow has its
	 * own source, so nothing is refused: the cost of counting), with the
	 * top sketch unless --no-top, as dpct's limits section. */
	uint32_t limit;
	int no_top;
	int top_only;               /* --top: the sketch, no limit rule */
	int limit_group;            /* --limit-group: the rule's group_len, -1 = 32 */
	struct nat_table *nat_t;
	struct pipe_nat natp;
	unsigned learn_n;          /* --nat: packets of the last burst nat_learn() has not read */
	struct bench_nat_to *nat_to; /* per key (established: flow; churn: slot): one line */
	uint32_t fkey[MAX_BURST];  /* per frame of the burst: key << 1 | reply */
};

#define WINDOW 262144

static inline void
window_tick(struct bench *b, unsigned n)
{
	uint64_t t;

	b->win_pkts += n;
	if (b->win_pkts < WINDOW)
		return;
	t = rte_rdtsc();
	if (b->win_t0 != 0) {
		double c = (double)(t - b->win_t0 - (b->nic_cycles - b->win_nic0) -
				    (b->ctl_cycles - b->win_ctl0)) /
			   (double)b->win_pkts;

		if (b->best_cpp == 0 || c < b->best_cpp)
			b->best_cpp = c;
	}
	b->win_t0 = t;
	b->win_nic0 = b->nic_cycles;
	b->win_ctl0 = b->ctl_cycles;
	b->win_pkts = 0;
}

/* Flow f: client 10.x.y.z:port -> server 192.0.2.(f % 64):80. */
static inline void
frame_init(uint8_t *p)
{
	static const uint8_t tmpl[54] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
		0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 6, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0xff, 0xff, 0, 0, 0, 0,
	};

	memset(p, 0, FRAME_LEN);
	memcpy(p, tmpl, sizeof(tmpl));
}

/* Per-flow initial sequence numbers (client, server), as a stack would pick them. */
static inline uint32_t
isn(uint32_t f, int reply)
{
	uint32_t h = (f + 1) * 0x9e3779b1u ^ (reply ? 0x5bd1e995u : 0x1b873593u);

	return h ^ (h >> 15);
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
sum16(const uint8_t *p, unsigned n, uint32_t s)
{
	unsigned i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	return s;
}

static inline uint16_t
fold16(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Valid IPv4 header and TCP checksums (the TCP bytes: header and 10 or no zeros). */
static inline void
frame_csum(uint8_t *p)
{
	unsigned tl = ((unsigned)p[16] << 8 | p[17]) - 20;
	uint16_t c;

	p[24] = p[25] = 0;
	c = fold16(sum16(p + 14, 20, 0));
	p[24] = (uint8_t)(c >> 8);
	p[25] = (uint8_t)c;
	p[50] = p[51] = 0;
	c = fold16(sum16(p + 34, tl, sum16(p + 26, 8, 6 + tl)));
	p[50] = (uint8_t)(c >> 8);
	p[51] = (uint8_t)c;
}

/*
 * A segment of flow `f`: `sent` payload bytes of its sender and `rcvd` of
 * its peer came before it (its seq and ack).
 */
static inline void
frame_set_at(uint8_t *p, uint32_t f, int reply, uint8_t flags, uint32_t sent, uint32_t rcvd)
{
	uint32_t seq = isn(f, reply) + ((flags & TH_SYN) ? 0 : 1) + sent;
	uint32_t ack = (flags & TH_ACK) ? isn(f, !reply) + 1 + rcvd : 0;

	uint8_t cli[4] = { 10, (uint8_t)(f >> 16), (uint8_t)(f >> 8), (uint8_t)f };
	uint8_t srv[4] = { 192, 0, 2, (uint8_t)(f & 63) };
	uint16_t cport = (uint16_t)(1024 + ((f >> 24) & 0xff));

	memcpy(p + 26, reply ? srv : cli, 4);
	memcpy(p + 30, reply ? cli : srv, 4);
	p[34] = (uint8_t)((reply ? 80 : cport) >> 8);
	p[35] = (uint8_t)(reply ? 80 : cport);
	p[36] = (uint8_t)((reply ? cport : 80) >> 8);
	p[37] = (uint8_t)(reply ? cport : 80);
	put32(p + 38, seq);
	put32(p + 42, ack);
	p[47] = flags;
}

static inline void
frame_set(uint8_t *p, uint32_t f, int reply, uint8_t flags)
{
	frame_set_at(p, f, reply, flags, 0, 0);
}

/*
 * Frame n of the burst for flow f (frame_set_at()); with --nat a reply
 * goes to the translated client: `to` when the traffic was planned with
 * it, else the pool address and port learned for `key`.
 */
static inline void
bench_frame_to(struct bench *b, unsigned n, uint32_t key, uint32_t f, int reply, uint8_t flags,
	       uint32_t sent, uint32_t rcvd, const struct bench_nat_to *to)
{
	uint8_t *p = b->frames[n];

	frame_set_at(p, f, reply, flags, sent, rcvd);
	if (!b->nat)
		return;
	b->fkey[n] = key << 1 | (uint32_t)reply;
	if (reply) {
		if (to == NULL)
			to = &b->nat_to[key];
		memcpy(p + 30, to->addr, 4);
		p[36] = (uint8_t)(to->port >> 8);
		p[37] = (uint8_t)to->port;
	}
}

static inline void
bench_frame(struct bench *b, unsigned n, uint32_t key, uint32_t f, int reply, uint8_t flags,
	    uint32_t sent, uint32_t rcvd)
{
	bench_frame_to(b, n, key, f, reply, flags, sent, rcvd, NULL);
}

static inline uint64_t
rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* bench_work.c */
/** The shard for `max` entries and the worker pipeline over it, with --nat a
 * translation table and `keys` mappings: 0 or -1 (printed). */
int make_shard(struct bench *b, uint32_t max, uint32_t keys);
/** Free what make_shard() made. */
void free_shard(struct bench *b);
/** The established workload: `cycles` in the timed loop; 0, or non-zero when out of memory. */
double bench_established(struct bench *b, uint64_t *cycles);
/** The churn workload: `cycles` and the connections made; 0, or non-zero when out of memory. */
double bench_churn(struct bench *b, uint64_t *cycles, uint64_t *conns);

#endif /* DPCT_BENCH_H */
