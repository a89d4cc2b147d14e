/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX encoder round trip (issue 11): the input is cut into event records
 * (sizeof(struct ct_event_rec) bytes each: any counters, times, tuples,
 * status and NAT bits, port blocks) and interim bases; every record is
 * turned into a flow record (a biflow, a translated biflow or a port
 * block), encoded into one message with our templates and decoded by our
 * own decoder, which must give back every field of its template. The raw
 * input also goes to the decoder, which must never read outside it or
 * accept a malformed message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ev_ipfix.h"
#include "ev_ipfix_dec.h"

#define MAX_RECS 64
/* A record, then its interim base. */
#define STRIDE (sizeof(struct ct_event_rec) + 4 * sizeof(uint64_t))

struct out {
	struct ev_ipfix_flow f[MAX_RECS];
	unsigned n;
};

static void
collect(void *arg, const struct ev_ipfix_flow *f, uint16_t tid)
{
	struct out *o = arg;

	if (tid != ev_ipfix_flow_template(f))
		abort();
	if (o->n < MAX_RECS)
		o->f[o->n++] = *f;
}

static void
same_nat(const struct ev_ipfix_flow *a, const struct ev_ipfix_flow *b)
{
	if (a->nat_event != b->nat_event || memcmp(a->post_src, b->post_src, 4) != 0 ||
	    a->event_ms != b->event_ms)
		abort();
}

static void
same(const struct ev_ipfix_flow *a, const struct ev_ipfix_flow *b)
{
	size_t alen = a->family == 4 ? 4 : 16;
	uint16_t tid = ev_ipfix_flow_template(a);

	if (tid != ev_ipfix_flow_template(b) || a->family != b->family)
		abort();
	if (tid == EV_IPFIX_TID_NAT_BLOCK) {
		same_nat(a, b);
		if (memcmp(a->src, b->src, 4) != 0 || a->block_start != b->block_start ||
		    a->block_end != b->block_end || a->block_step != b->block_step ||
		    a->block_ports != b->block_ports || a->vrf != b->vrf)
			abort();
		return;
	}
	if (a->proto != b->proto || a->end_reason != b->end_reason ||
	    memcmp(a->src, b->src, alen) != 0 || memcmp(a->dst, b->dst, alen) != 0 ||
	    a->sport != b->sport || a->dport != b->dport || a->icmp != b->icmp ||
	    a->tcp_flags != b->tcp_flags || memcmp(a->octets, b->octets, sizeof(a->octets)) ||
	    memcmp(a->packets, b->packets, sizeof(a->packets)) || a->start_ms != b->start_ms ||
	    a->end_ms != b->end_ms || a->ingress != b->ingress || a->vrf != b->vrf ||
	    a->flow_id != b->flow_id)
		abort();
	if (tid == EV_IPFIX_TID_NAT4) {
		same_nat(a, b);
		if (memcmp(a->post_dst, b->post_dst, 4) != 0 || a->post_sport != b->post_sport ||
		    a->post_dport != b->post_dport)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[65536];
	struct ev_ipfix_flow want[MAX_RECS];
	struct ev_ipfix_msg_info mi;
	struct ev_ipfix_dec d;
	struct out got;
	size_t off = EV_IPFIX_HDR_LEN, n, set_off = 0;
	uint16_t set_id = 0;
	unsigned nrec = 0, i;
	int rc;

	/* 1. The decoder on raw input. */
	memset(&d, 0, sizeof(d));
	rc = ev_ipfix_decode(&d, data, size, NULL, NULL, &mi);
	if (rc > 0 && (size_t)rc > size)
		abort();

	/* 2. Records from the input, through the encoder and back. */
	memset(&d, 0, sizeof(d));
	n = ev_ipfix_template_set(msg + off, sizeof(msg) - off);
	if (n == 0)
		abort();
	off += n;
	for (i = 0; (size_t)(i + 1) * STRIDE <= size && nrec < MAX_RECS; i++) {
		const uint8_t *p = data + (size_t)i * STRIDE;
		struct ct_event_rec r;
		uint64_t base[4];
		size_t rlen;
		uint16_t tid;

		memcpy(&r, p, sizeof(r));
		memcpy(base, p + sizeof(r), sizeof(base));
		r.orig.family = (p[0] & 1) ? 6 : 4;
		r.reply.family = (p[0] & 2) ? r.orig.family : 0;
		if (ev_ipfix_flow_from_rec(&r, (p[1] & 1) ? base : NULL, r.seq, &want[nrec]) < 0) {
			/* Only a port block that is not one is refused. */
			if (!(r.flags & CT_REC_F_NAT_BLOCK) || (r.orig.family == 4 &&
			    r.block_lo <= r.block_hi && (r.nat_event == CT_NAT_BLOCK_ALLOC ||
							 r.nat_event == CT_NAT_BLOCK_RELEASE)))
				abort();
			continue;
		}
		tid = ev_ipfix_flow_template(&want[nrec]);
		rlen = ev_ipfix_flow_len(&want[nrec]);
		if (set_off == 0 || set_id != tid) {
			if (set_off != 0)
				ev_ipfix_set_header(msg + set_off, set_id, (uint16_t)(off - set_off));
			set_off = off;
			set_id = tid;
			off += EV_IPFIX_SET_HDR_LEN;
		}
		if (ev_ipfix_encode_record(&want[nrec], msg + off, sizeof(msg) - off) != rlen)
			abort();
		off += rlen;
		nrec++;
	}
	if (set_off != 0)
		ev_ipfix_set_header(msg + set_off, set_id, (uint16_t)(off - set_off));
	ev_ipfix_msg_header(msg, (uint16_t)off, 1, 0, 1);
	memset(&got, 0, sizeof(got));
	rc = ev_ipfix_decode(&d, msg, off, collect, &got, &mi);
	if (rc != (int)off || got.n != nrec || mi.records != nrec)
		abort();
	for (i = 0; i < nrec; i++)
		same(&want[i], &got.f[i]);
	/* Every truncation of a valid message is refused. */
	if (off > EV_IPFIX_HDR_LEN && ev_ipfix_decode(&d, msg, off - 1, NULL, NULL, NULL) >= 0)
		abort();
	return 0;
}
