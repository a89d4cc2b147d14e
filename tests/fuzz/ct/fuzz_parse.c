/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the conntrack parser, and (FUZZ_CT_SHARD) parsing and shard
 * processing together.
 *
 * The whole input is first parsed as one frame. It is then read as a
 * sequence of records, each
 *     u8 ctl | u16 len (little endian) | len bytes of frame
 * where ctl bits 0-3 advance the clock by 2^(ctl & 15) ms, bit 4 puts the
 * frame in zone 1, bit 5 ends the burst after this frame and bits 6-7 say
 * how many of the staged event records the "ring" accepts (all, none, half,
 * one). Parsed frames go through a small shard (64 entries, 16 staging
 * slots, so table-full, early drop and staging overflow all happen); staged
 * destroy records are acknowledged or refused, entries expire as the clock
 * jumps, and the shard is flushed and freed at the end.
 *
 * The same records also drive the L4 trackers directly through a tiny
 * table (16 entries, linear search, the shard's SEEN_REPLY rule), so the
 * trackers are fuzzed with parser output whether or not the shard is built in.
 *
 * Invariants checked: the fast parse equals the full one and the burst
 * parse the single one; the parser never reports offsets outside the frame,
 * classes and reasons are in range and consistent, the hash is the tuple's;
 * trackers return known verdicts, valid timeout classes and TCP states, and
 * raise ASSURED at most once per entry; every packet gets a shard verdict and
 * the shard's live + dying count stays within its size.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ct_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BURST 32

static void
check_pkt(const struct ct_pkt *p, uint32_t len)
{
	if (p->cls > CT_PKT_INVALID || p->invalid_reason >= CT_INV_MAX)
		abort();
	if ((p->cls == CT_PKT_INVALID) != (p->invalid_reason != CT_INV_NONE))
		abort();
	/* Counted bytes: the IP datagram, never more than the frame. */
	if (p->len > len || p->l3_off > len || p->l4_off > len)
		abort();
	if (p->cls == CT_PKT_TRACK || p->cls == CT_PKT_ICMP_ERROR) {
		struct ct_tuple r;

		if (p->tuple.family != 4 && p->tuple.family != 6)
			abort();
		if (p->l4_off + (uint32_t)p->payload_len > len)
			abort();
		if (p->hash != ct_tuple_hash(&p->tuple))
			abort();
		ct_tuple_reverse(&r, &p->tuple);
		if (ct_tuple_hash(&r) != p->hash)
			abort();
	}
}

/* ------------------------------------------------------------------------ */
/* Trackers through a tiny table                                            */

#define MINI_N 16

struct mini {
	struct ct_entry e[MINI_N];
	struct ct_tw_cold x[MINI_N];  /* the TCP tracker's cold part of each entry */
	uint8_t used[MINI_N];
	uint8_t assured_events[MINI_N];
	unsigned next_victim;
};

static int
mini_find(struct mini *m, const struct ct_tuple *t, enum ct_dir *dir)
{
	struct ct_tuple r;
	unsigned i;

	ct_tuple_reverse(&r, t);
	for (i = 0; i < MINI_N; i++) {
		if (!m->used[i])
			continue;
		if (memcmp(&m->e[i].key, t, sizeof(*t)) == 0) {
			*dir = CT_DIR_ORIG;
			return (int)i;
		}
		if (memcmp(&m->e[i].key, &r, sizeof(r)) == 0) {
			*dir = CT_DIR_REPLY;
			return (int)i;
		}
	}
	return -1;
}

static void
mini_new(struct mini *m, const struct ct_conf *conf, const struct ct_pkt *p, uint64_t now)
{
	unsigned i = m->next_victim++ % MINI_N;
	uint8_t cls = 0xee;
	int rc;

	memset(&m->e[i], 0, sizeof(m->e[i]));
	m->e[i].key = p->tuple;
	/* As the shard: a UDP entry keeps its start time for the stream rule. */
	if (ct_l4_get(p->tuple.proto) == &ct_l4_udp)
		m->e[i].udp_start_ns = now;
	if (ct_l4_get(p->tuple.proto) == &ct_l4_tcp)
		rc = ct_tcp_new(conf, &m->e[i], &m->x[i], p, &cls);
	else
		rc = ct_l4_get(p->tuple.proto)->new_conn(conf, &m->e[i], p, &cls);
	if (rc < 0 || rc >= CT_INV_MAX)
		abort();
	if (rc != 0) {
		m->used[i] = 0;
		return;
	}
	if (cls >= CT_TO_MAX || m->e[i].tcp_state >= CT_TCP_MAX)
		abort();
	m->e[i].status = CT_S_CONFIRMED;
	m->used[i] = 1;
	m->assured_events[i] = 0;
}

static void
mini_packet(struct mini *m, const struct ct_conf *conf, const struct ct_pkt *p, uint64_t now)
{
	enum ct_dir dir = CT_DIR_ORIG;
	enum ct_l4_verdict v;
	struct ct_entry *e;
	uint8_t cls = 0xee;
	int i;

	if (p->cls != CT_PKT_TRACK)
		return;
	i = mini_find(m, &p->tuple, &dir);
	if (i < 0) {
		mini_new(m, conf, p, now);
		return;
	}
	e = &m->e[i];
	e->pending = 0;
	if (ct_l4_get(p->tuple.proto) == &ct_l4_tcp)
		v = ct_tcp_packet(conf, e, &m->x[i], p, dir, now, &cls);
	else
		v = ct_l4_get(p->tuple.proto)->packet(conf, e, p, dir, now, &cls);
	if (e->tcp_state >= CT_TCP_MAX)
		abort();
	if (e->pending & CT_EVI_ASSURED) {
		if (!(e->status & CT_S_ASSURED) || m->assured_events[i]++ != 0)
			abort();
	}
	switch (v) {
	case CT_L4_ACCEPT:
	case CT_L4_KILL:
		if (cls >= CT_TO_MAX)
			abort();
		if (dir == CT_DIR_REPLY)
			e->status |= CT_S_SEEN_REPLY;
		if (v == CT_L4_KILL)
			m->used[i] = 0;
		break;
	case CT_L4_IGNORE:
	case CT_L4_INVALID:
	case CT_L4_INVALID_WINDOW:
	case CT_L4_INVALID_SHORTEN:
		break;
	case CT_L4_REOPEN:
		m->used[i] = 0;
		mini_new(m, conf, p, now);
		break;
	default:
		abort();
	}
}

#ifdef FUZZ_CT_SHARD
struct fz {
	struct ct_shard *s;
	uint64_t now;
	struct ct_pkt burst[BURST];
	uint16_t n;
};

/* Move staged records to a pretend ring that takes `mode`-many, then answer destroys. */
static void
drain(struct fz *z, unsigned mode)
{
	struct ct_event_rec *recs;
	struct ct_result res[64];
	unsigned n, acc, i, nres = 0;

	recs = ct_shard_ev_peek(z->s, &n);
	if (n > 0 && recs == NULL)
		abort();
	switch (mode) {
	case 0:
		acc = n;
		break;
	case 1:
		acc = 0;
		break;
	case 2:
		acc = n / 2;
		break;
	default:
		acc = n > 0 ? 1 : 0;
		break;
	}
	for (i = 0; i < acc && nres < 64; i++) {
		if (!(recs[i].events & CT_EV_DESTROY))
			continue;
		memset(&res[nres], 0, sizeof(res[nres]));
		res[nres].slot = recs[i].slot;
		res[nres].id = recs[i].id;
		res[nres].events = recs[i].events;
		/* Every other destroy "fails" delivery and must be re-armed. */
		res[nres].kind = (i & 1) ? CT_RES_DESTROY_NACK : CT_RES_DESTROY_ACK;
		nres++;
	}
	ct_shard_ev_commit(z->s, acc, z->now);
	for (i = 0; i < nres; i++)
		ct_shard_apply_result(z->s, &res[i], z->now);
}

static void
run_burst(struct fz *z, unsigned mode)
{
	uint8_t verdict[BURST];
	struct ct_stats st;
	uint16_t i;

	if (z->n == 0)
		return;
	memset(verdict, 0xff, sizeof(verdict));
	if (ct_process_burst(z->s, z->burst, z->n, z->now, verdict) != z->n)
		abort();
	for (i = 0; i < z->n; i++)
		if (verdict[i] != CT_V_PASS && verdict[i] != CT_V_DROP)
			abort();
	z->n = 0;
	drain(z, mode);
	ct_shard_expire(z->s, z->now, 64);
	drain(z, mode);
	ct_shard_stats(z->s, &st);
	/* Over the limit only by the early-drop headroom (ct.h, struct ct_conf). */
	if (st.count + st.dying > st.max_entries + CT_EARLY_DROP_HEADROOM(st.max_entries))
		abort();
}

#endif /* FUZZ_CT_SHARD */

static void
fuzz_records(const uint8_t *data, size_t size)
{
	struct ct_conf conf;
	struct mini *m;
	uint64_t now = UINT64_C(1000000000);
	size_t off = 0;
#ifdef FUZZ_CT_SHARD
	struct fz z;
	char err[128];
	unsigned mode = 0, rounds;
#endif

	ct_conf_init(&conf);
	conf.max_entries = 64;
	conf.ev_stage_size = 16;
	conf.destroy_grace_ms = 50;
	conf.seed = size;
	conf.invalid_policy = (size & 1) ? CT_INVALID_PASS : CT_INVALID_DROP;
	conf.tcp_loose = (size & 2) == 0;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return;
#ifdef FUZZ_CT_SHARD
	memset(&z, 0, sizeof(z));
	z.now = now;
	z.s = ct_shard_create(&conf, err, sizeof(err));
	if (z.s == NULL)
		abort();
#endif
	while (size - off >= 3) {
		uint8_t ctl = data[off];
		uint32_t len = (uint32_t)data[off + 1] | (uint32_t)data[off + 2] << 8;
		struct ct_pkt pkt, *p = &pkt;

		off += 3;
		if (len > size - off)
			len = (uint32_t)(size - off);
		now += (UINT64_C(1000000) << (ctl & 15));
#ifdef FUZZ_CT_SHARD
		p = &z.burst[z.n];
		z.now = now;
		mode = ctl >> 6;
#endif
		ct_parse(data + off, len, (ctl & 0x10) ? 1 : 0, p);
		/* Checksums verified on odd clock steps: both paths reach the trackers. */
		if (ctl & 1)
			ct_pkt_csum_verify(data + off, len, p, CT_CSUM_IP | CT_CSUM_L4);
		check_pkt(p, len);
		off += len;
		mini_packet(m, &conf, p, now);
#ifdef FUZZ_CT_SHARD
		z.n++;
		if (z.n == BURST || (ctl & 0x20))
			run_burst(&z, mode);
#endif
	}
	free(m);
#ifdef FUZZ_CT_SHARD
	run_burst(&z, mode);
	/* Let everything time out, then flush what is left; bounded. */
	z.now += UINT64_C(600) * 1000000000 * 24 * 10;
	for (rounds = 0; rounds < 64; rounds++) {
		ct_shard_expire(z.s, z.now, 1024);
		drain(&z, 0);
		if (ct_shard_flush(z.s, z.now, 0) == 0 && ct_shard_empty(z.s))
			break;
		drain(&z, 0);
		z.now += UINT64_C(1000000000);
	}
	ct_shard_free(z.s);
#endif
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_pkt p;

	if (size > UINT16_MAX * 2)
		return 0;
	ct_parse(data, (uint32_t)size, 0, &p);
	{
		/* The fast path for plain IPv4 TCP/UDP must agree with the full parser. */
		struct ct_pkt full;

		memset(&full, 0, sizeof(full));
		ct_parse_full(data, (uint32_t)size, 0, &full);
		if (memcmp(&p, &full, sizeof(p)) != 0)
			abort();
	}
	{
		/* And the burst parser with it, the frame twice in one burst. */
		const uint8_t *d2[2] = { data, data };
		const uint32_t l2[2] = { (uint32_t)size, (uint32_t)size };
		struct ct_pkt two[2];

		memset(two, 0x5a, sizeof(two));
		ct_parse_burst(d2, l2, 2, 0, two);
		if (memcmp(&two[0], &p, sizeof(p)) != 0 || memcmp(&two[1], &p, sizeof(p)) != 0)
			abort();
	}
	check_pkt(&p, (uint32_t)size);
	{
		/* The header the notrack rules read an ICMP error by: inside the
		 * frame (the sanitizers see any read past it), ICMP, no ports. */
		struct ct_tuple o;
		int rc = ct_pkt_outer_tuple(&p, data, &o);

		if ((rc == 0) != (p.cls == CT_PKT_TRACK || p.cls == CT_PKT_ICMP_ERROR))
			abort();
		if (rc == 0 && p.cls == CT_PKT_ICMP_ERROR &&
		    (o.proto != (o.family == 4 ? 1 : 58) || o.sport != 0 || o.dport != 0 ||
		     o.family != p.tuple.family))
			abort();
	}
	ct_pkt_csum_verify(data, (uint32_t)size, &p, CT_CSUM_IP | CT_CSUM_L4);
	check_pkt(&p, (uint32_t)size);
	fuzz_records(data, size);
	return 0;
}
