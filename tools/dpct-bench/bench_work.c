/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-bench's workloads: the established and churn loops, each burst
 * through the app's worker pipeline (run_burst()), and the event records
 * played back as the control core would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/*
 * Records go to the "ring" (all accepted) raw, as ev_worker_sync() pushes
 * them; the control core's part, building each (ct_event_rec_cook(), as
 * ev_chan_pull_records() does) and answering, follows, timed apart as
 * --ring times it (ctl_cycles: not the worker's work); the worker applies
 * the destroys' acknowledgements.
 */
static void
sync_events(struct bench *b)
{
	struct ct_result res[64];
	struct ct_event_rec *r;
	unsigned n, i, k = 0;
	uint64_t t0;

	r = ct_shard_ev_peek_raw(b->s, &n);
	if (n == 0)
		return;
	ct_shard_ev_commit(b->s, n, b->now);
	/* As the control core answers: every DESTROY delivered, in batches. */
	t0 = rte_rdtsc();
	for (i = 0; i < n; i++) {
		ct_event_rec_cook(&r[i]);
		if (!(r[i].events & CT_EV_DESTROY))
			continue;
		memset(&res[k], 0, sizeof(res[k]));
		res[k].slot = r[i].slot;
		res[k].id = r[i].id;
		res[k].events = r[i].events;
		res[k].kind = CT_RES_DESTROY_ACK;
		if (++k == sizeof(res) / sizeof(res[0])) {
			b->ctl_cycles += rte_rdtsc() - t0;
			ct_shard_apply_results(b->s, res, k, b->now);
			k = 0;
			t0 = rte_rdtsc();
		}
	}
	b->ctl_cycles += rte_rdtsc() - t0;
	ct_shard_apply_results(b->s, res, k, b->now);
}

/*
 * --ring: the worker's part as in the app (ev_worker_sync(): push the
 * staged records, commit, apply the results), then the control core's:
 * take every record (ev_chan_pull_records() builds each) and ack the
 * destroys, which the worker applies at its next ev_worker_sync().
 */
static void
ring_sync(struct bench *b)
{
	struct ct_event_rec r[64];
	struct ct_result res[64];
	unsigned n, i, k;
	uint64_t t0;

	ev_worker_sync(b->chan, b->s, b->now);
	t0 = rte_rdtsc();
	while ((n = ev_chan_pull_records(b->chan, r, 64)) != 0) {
		for (i = 0, k = 0; i < n; i++) {
			if (!(r[i].events & CT_EV_DESTROY))
				continue;
			memset(&res[k], 0, sizeof(res[k]));
			res[k].slot = r[i].slot;
			res[k].id = r[i].id;
			res[k].events = r[i].events;
			res[k].kind = CT_RES_DESTROY_ACK;
			k++;
		}
		if (ev_chan_push_results(b->chan, res, k) != k)
			b->ring_lost += k;
	}
	b->ctl_cycles += rte_rdtsc() - t0;
}

static void
events_sync(struct bench *b)
{
	if (b->chan != NULL)
		ring_sync(b);
	else
		sync_events(b);
}

/*
 * --nat: the pool address and port each new flow of the last burst left
 * with, for its replies: the far side's part, done by the simulated NIC
 * (timed with it) before it makes the next burst.
 */
static void
nat_learn(struct bench *b)
{
	unsigned i, n = b->learn_n;

	b->learn_n = 0;
	if (!b->nat)
		return;
	for (i = 0; i < n; i++) {
		const uint8_t *p = b->frames[i];
		uint32_t key = b->fkey[i] >> 1;

		if ((b->fkey[i] & 1) || !(p[47] & TH_SYN) || b->verdict[i] != CT_V_PASS)
			continue;
		memcpy(b->nat_to[key].addr, p + 26, 4);
		b->nat_to[key].port = (uint16_t)(p[34] << 8 | p[35]);
	}
}

/* The simulated NIC's checksums, then the worker's part of one burst. */
static void
run_burst(struct bench *b, unsigned n)
{
	unsigned i;

	if (b->csum != 0) {
		uint64_t t0 = rte_rdtsc();

		for (i = 0; i < n; i++)
			frame_csum(b->frames[i]);
		b->nic_cycles += rte_rdtsc() - t0;
	}
	/* As a worker: quiescent once per loop, one generation per burst. */
	if (b->pol != NULL)
		pol_quiescent(b->pol, 0);
	pipe_parse_burst(&b->pipe, b->mptr, (uint16_t)n, b->pkts);
	pipe_track_burst(&b->pipe, b->mptr, b->pkts, (uint16_t)n, b->now, NULL, b->verdict,
			 b->timing ? &b->pst : NULL);
	for (i = 0; i < n; i++)
		b->drops += b->verdict[i] != CT_V_PASS;
	b->learn_n = n;
	events_sync(b);
}

/* --no-thp: the shard on plain 4 KiB pages (the C heap without ct_mem.c's THP advice). */
static void *
heap_zalloc(void *arg, size_t size, size_t align)
{
	void *p;

	(void)arg;
	size = (size + align - 1) & ~(align - 1);
	p = aligned_alloc(align, size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

static void
heap_free(void *arg, void *p)
{
	(void)arg;
	free(p);
}

/*
 * --nat: one rule, every client (10.0.0.0/8) to a pool of 64 addresses
 * (198.18.0.0/26) with ports 1024-65535: 4.1 M ports, so the port choice
 * never runs short at the bench's sizes.
 */
static int
make_nat(struct bench *b, uint32_t keys)
{
	struct nat_pool pool;
	struct nat_rule rule;
	struct ct_nat_hook h;
	char err[256];

	memset(&pool, 0, sizeof(pool));
	snprintf(pool.name, sizeof(pool.name), "bench");
	pool.addr_lo = 0xc6120000u;
	pool.addr_hi = 0xc612003fu;
	pool.port_lo = 1024;
	pool.port_hi = 65535;
	pool.mode = NAT_MODE_NAPT;
	nat_rule_init(&rule);
	snprintf(rule.name, sizeof(rule.name), "clients");
	rule.kind = NAT_SNAT;
	rule.src = 0x0a000000u;
	rule.src_len = 8;
	rule.pool = 0;
	b->nat_t = nat_table_build(&pool, 1, &rule, 1, 1, err, sizeof(err));
	b->nat_to = calloc(keys, sizeof(*b->nat_to));
	if (b->nat_t == NULL || b->nat_to == NULL) {
		fprintf(stderr, "dpct-bench: nat: %s\n", b->nat_t == NULL ? err : "out of memory");
		return -1;
	}
	b->natp.table = b->nat_t;
	b->natp.worker = 0;
	pipe_nat_hook(&b->natp, &h);
	if (ct_shard_set_nat(b->s, &h) != 0) {
		fprintf(stderr, "dpct-bench: nat: shard refused the hook\n");
		return -1;
	}
	b->pipe.nat = &b->natp;
	return 0;
}

void
free_shard(struct bench *b)
{
	ev_chan_free(b->chan);
	ct_shard_free(b->s);
	nat_table_free(b->nat_t);
	free(b->nat_to);
}

int
make_shard(struct bench *b, uint32_t max, uint32_t keys)
{
	struct ct_conf c;
	char err[256];

	ct_conf_init(&c);
	c.max_entries = max;
	c.shard_count = 1;
	c.fill_alarm_high_pct = 0;
	c.ev_stage_size = 4096;
	c.timeout_s[CT_TO_TCP_TIME_WAIT] = 1;
	c.seed = 1;
	c.nat = b->nat != 0;
	if (b->limit != 0) {
		c.n_limits = 1;
		memset(&c.limits[0], 0, sizeof(c.limits[0]));
		c.limits[0].family = 4;
		c.limits[0].group_len = (uint8_t)(b->limit_group >= 0 ? b->limit_group : 32);
		c.limits[0].any_zone = 1;
		c.limits[0].max = b->limit;
		c.top = !b->no_top;
		c.top_seed = 1;
	}
	if (b->top_only) {
		c.top = 1;
		c.top_seed = 1;
	}
	if (b->tpol) {
		c.tpol.n_policies = 1;
		snprintf(c.tpol.pol[0].name, sizeof(c.tpol.pol[0].name), "bench");
		c.tpol.pol[0].timeout_s[CT_TO_TCP_ESTABLISHED] = c.timeout_s[CT_TO_TCP_ESTABLISHED];
		c.tpol.pol[0].timeout_s[CT_TO_UDP_REPLIED] = c.timeout_s[CT_TO_UDP_REPLIED];
		c.tpol.n_rules = 1;
		c.tpol.rule[0].policy = 1;
	}
	if (b->no_thp) {
		c.mem.zalloc = heap_zalloc;
		c.mem.free = heap_free;
	}
	b->s = ct_shard_create(&c, err, sizeof(err));
	if (b->s == NULL) {
		fprintf(stderr, "dpct-bench: %s\n", err);
		return -1;
	}
	ct_shard_set_event_kinds(b->s, b->ev_kinds);
	if (b->ring) {
		/* The app's default sizes (events.ring_size, events.result_ring_size). */
		b->chan = ev_chan_create(4096, 4096, err, sizeof(err));
		if (b->chan == NULL) {
			fprintf(stderr, "dpct-bench: --ring: %s\n", err);
			return -1;
		}
		/* What the control core would publish for these listeners. */
		ev_chan_set_kinds(b->chan, b->ev_kinds);
	}
	/* A worker's pipeline as the app sets it up: zone 0, no zone rules, no
	 * events channel (sync_events() or ring_sync() plays the control core). */
	b->pipe = (struct pipe_conf){
		.shard = b->s,
		.pol = b->pol,
		.csum_verify = b->csum == 2,
	};
	return b->nat ? make_nat(b, keys) : 0;
}

/* Open every flow with a handshake. */
static void
establish(struct bench *b)
{
	static const uint8_t fl[3] = { TH_SYN, TH_SYN | TH_ACK, TH_ACK };
	uint32_t f = 0;
	unsigned k, n;

	for (k = 0; k < 3; k++) {
		for (f = 0; f < b->flows;) {
			nat_learn(b);
			for (n = 0; n < b->burst && f < b->flows; n++, f++)
				bench_frame(b, n, f, f, k == 1, fl[k], 0, 0);
			b->now += 1000;
			run_burst(b, n);
		}
	}
}

/* One established packet: its flow and direction, and where its seq and ack stand. */
struct bench_seg {
	uint32_t fd;     /* flow << 1 | reply */
	uint32_t sent;   /* payload bytes its direction sent before it */
	uint32_t rcvd;   /* and the other direction */
};

double
bench_established(struct bench *b, uint64_t *cycles)
{
	struct bench_nat_to *nto = NULL;
	struct bench_seg *seg;
	uint32_t *sent;
	uint8_t *step;
	uint64_t i, x = 0x243f6a8885a308d3ull, t0;
	unsigned n;

	/*
	 * The traffic is planned before the clock starts: the per-flow byte
	 * counts would otherwise add a random access to a flows-sized array per
	 * packet, a NIC does not keep them, and they would push the tracker's
	 * lines out of the cache.
	 */
	seg = malloc(sizeof(*seg) * (size_t)b->packets);
	sent = malloc(sizeof(*sent) * (size_t)b->flows * 2);
	step = b->bulk ? calloc(b->flows, 1) : NULL;
	if (seg == NULL || sent == NULL || (b->bulk && step == NULL)) {
		free(seg);
		free(sent);
		free(step);
		return -1;
	}
	/* The payload that rode the SYN and the SYN/ACK (the client's ACK resent its own). */
	for (i = 0; i < (uint64_t)b->flows * 2; i++)
		sent[i] = FRAME_PAYLOAD;
	for (i = 0; i < b->packets; i++) {
		uint32_t o;

		if (b->bulk) {
			/* A flow's segments go data, data, ACK of both (a delayed ACK). */
			uint32_t f = (uint32_t)(rng_next(&x) % b->flows);

			o = f << 1 | (step[f] == 2);
			step[f] = (uint8_t)(step[f] == 2 ? 0 : step[f] + 1);
		} else {
			o = (uint32_t)(rng_next(&x) % ((uint64_t)b->flows * 2));
		}
		seg[i].fd = o;
		seg[i].sent = sent[o];
		seg[i].rcvd = sent[o ^ 1];
		if (!(b->bulk && (o & 1)))
			sent[o] += FRAME_PAYLOAD;
	}
	free(sent);
	free(step);
	establish(b);
	/*
	 * --nat: each reply's pool address and port, planned too: looked up
	 * per packet in the flows-sized tables establish() learned, they were
	 * two random reads a reply that no NIC makes, pushing the tracker's
	 * lines out of the cache of the translated run alone.
	 */
	if (b->nat) {
		nto = calloc((size_t)b->packets, sizeof(*nto));
		if (nto == NULL) {
			free(seg);
			return -1;
		}
		for (i = 0; i < b->packets; i++)
			if (seg[i].fd & 1)
				nto[i] = b->nat_to[seg[i].fd >> 1];
	}
	b->timing = 1;
	t0 = rte_rdtsc();
	b->win_t0 = t0;
	b->nic_cycles = 0;
	b->ctl_cycles = 0;
	for (i = 0; i < b->packets;) {
		uint64_t n0 = rte_rdtsc();

		nat_learn(b);
		for (n = 0; n < b->burst && i < b->packets; n++, i++) {
			bench_frame_to(b, n, seg[i].fd >> 1, seg[i].fd >> 1, seg[i].fd & 1, TH_ACK,
				       seg[i].sent, seg[i].rcvd, nto != NULL ? &nto[i] : NULL);
			/* IP total length: 40 for a bare ACK, the template's 50 for data. */
			if (b->bulk)
				b->frames[n][17] = (seg[i].fd & 1) ? 40 : 20 + 20 + FRAME_PAYLOAD;
		}
		b->nic_cycles += rte_rdtsc() - n0;
		b->now += 2000;
		run_burst(b, n);
		if ((i & 0x3fff) < b->burst)
			ct_shard_expire(b->s, b->now, 256);
		window_tick(b, n);
	}
	*cycles = rte_rdtsc() - t0;
	free(seg);
	free(nto);
	return 0;
}

/*
 * Churn: `flows` connections open at once; each slot runs SYN, SYN/ACK,
 * ACK, data, data, FIN/ACK, FIN/ACK, ACK and then starts a new connection
 * with a fresh tuple. TIME_WAIT is 1 s on a clock advancing 1 µs per
 * packet, so closed entries expire, their destroys are acked and slots
 * recycle: a steady state of creates and destroys.
 */
double
bench_churn(struct bench *b, uint64_t *cycles, uint64_t *conns)
{
	static const struct {
		int reply;
		uint8_t flags;
	} script[8] = {
		{ 0, TH_SYN }, { 1, TH_SYN | TH_ACK }, { 0, TH_ACK }, { 0, TH_ACK },
		{ 1, TH_ACK }, { 0, TH_FIN | TH_ACK }, { 1, TH_FIN | TH_ACK }, { 0, TH_ACK },
	};
	uint32_t *flow, next_flow = 0, slot = 0;
	uint8_t *step;
	uint64_t i, t0, done = 0, x = 0x13198a2e03707344ull;
	unsigned n;

	flow = malloc(sizeof(*flow) * b->flows);
	step = malloc(b->flows);
	if (flow == NULL || step == NULL)
		return -1;
	for (i = 0; i < b->flows; i++) {
		flow[i] = next_flow++;
		step[i] = 0;
	}
	b->timing = 1;
	t0 = rte_rdtsc();
	b->win_t0 = t0;
	b->nic_cycles = 0;
	b->ctl_cycles = 0;
	for (i = 0; i < b->packets;) {
		uint64_t n0 = rte_rdtsc();

		nat_learn(b);
		for (n = 0; n < b->burst && i < b->packets; n++, i++) {
			uint8_t st;

			if (b->stagger)
				slot = (uint32_t)(rng_next(&x) % b->flows);
			st = step[slot];
			bench_frame(b, n, slot, flow[slot], script[st].reply, script[st].flags, 0,
				    0);
			if (++st == 8) {
				st = 0;
				flow[slot] = next_flow++;
				done++;
			}
			step[slot] = st;
			if (!b->stagger && ++slot == b->flows)
				slot = 0;
		}
		b->nic_cycles += rte_rdtsc() - n0;
		/* One round over all slots takes 1 s of packet clock. */
		b->now += (UINT64_C(1000000000) / b->flows + 1) * n;
		run_burst(b, n);
		ct_shard_expire(b->s, b->now, 4096);
		events_sync(b);
		window_tick(b, n);
	}
	*cycles = rte_rdtsc() - t0;
	*conns = done;
	free(flow);
	free(step);
	return 0;
}
