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
 * Invariants checked: the parser never reports offsets outside the frame,
 * classes and reasons are in range and consistent, the hash is the tuple's,
 * every packet gets a verdict, and the shard's live + dying count stays
 * within its size.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BURST 32

static void
check_pkt(const struct ct_pkt *p, uint32_t len)
{
	if (p->cls > CT_PKT_INVALID || p->invalid_reason >= CT_INV_MAX)
		abort();
	if ((p->cls == CT_PKT_INVALID) != (p->invalid_reason != CT_INV_NONE))
		abort();
	if (p->len != len || p->l3_off > len || p->l4_off > len)
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
	if (st.count + st.dying > st.max_entries)
		abort();
}

static void
fuzz_shard(const uint8_t *data, size_t size)
{
	struct ct_conf conf;
	struct fz z;
	char err[128];
	size_t off = 0;
	unsigned mode = 0, rounds;

	ct_conf_init(&conf);
	conf.max_entries = 64;
	conf.ev_stage_size = 16;
	conf.destroy_grace_ms = 50;
	conf.seed = size;
	conf.invalid_policy = (size & 1) ? CT_INVALID_PASS : CT_INVALID_DROP;
	conf.tcp_loose = (size & 2) == 0;
	memset(&z, 0, sizeof(z));
	z.now = UINT64_C(1000000000);
	z.s = ct_shard_create(&conf, err, sizeof(err));
	if (z.s == NULL)
		abort();
	while (size - off >= 3) {
		uint8_t ctl = data[off];
		uint32_t len = (uint32_t)data[off + 1] | (uint32_t)data[off + 2] << 8;
		struct ct_pkt *p = &z.burst[z.n];

		off += 3;
		if (len > size - off)
			len = (uint32_t)(size - off);
		z.now += (UINT64_C(1000000) << (ctl & 15));
		mode = ctl >> 6;
		ct_parse(data + off, len, (ctl & 0x10) ? 1 : 0, p);
		check_pkt(p, len);
		off += len;
		z.n++;
		if (z.n == BURST || (ctl & 0x20))
			run_burst(&z, mode);
	}
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
}
#endif /* FUZZ_CT_SHARD */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_pkt p;

	if (size > UINT16_MAX * 2)
		return 0;
	ct_parse(data, (uint32_t)size, 0, &p);
	check_pkt(&p, (uint32_t)size);
#ifdef FUZZ_CT_SHARD
	fuzz_shard(data, size);
#endif
	return 0;
}
