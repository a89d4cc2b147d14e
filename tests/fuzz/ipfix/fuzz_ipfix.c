/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX encoder round trip (issue 11): the input is cut into event records
 * (128 bytes each: any counters, times, tuples, bits) and interim bases;
 * every record is turned into a flow record, encoded into one message with
 * our templates and decoded by our own decoder, which must give back every
 * field. The raw input also goes to the decoder, which must never read
 * outside it or accept a malformed message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ev_ipfix.h"
#include "ev_ipfix_dec.h"

#define MAX_RECS 64

struct out {
	struct ev_ipfix_flow f[MAX_RECS];
	unsigned n;
};

static void
collect(void *arg, const struct ev_ipfix_flow *f, uint16_t tid)
{
	struct out *o = arg;

	if (tid != ev_ipfix_template_id(f->family))
		abort();
	if (o->n < MAX_RECS)
		o->f[o->n++] = *f;
}

static void
same(const struct ev_ipfix_flow *a, const struct ev_ipfix_flow *b)
{
	size_t alen = a->family == 4 ? 4 : 16;

	if (a->family != b->family || a->proto != b->proto || a->end_reason != b->end_reason ||
	    memcmp(a->src, b->src, alen) != 0 || memcmp(a->dst, b->dst, alen) != 0 ||
	    a->sport != b->sport || a->dport != b->dport || a->icmp != b->icmp ||
	    a->tcp_flags != b->tcp_flags || memcmp(a->octets, b->octets, sizeof(a->octets)) ||
	    memcmp(a->packets, b->packets, sizeof(a->packets)) || a->start_ms != b->start_ms ||
	    a->end_ms != b->end_ms || a->ingress != b->ingress || a->vrf != b->vrf ||
	    a->flow_id != b->flow_id)
		abort();
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
	for (i = 0; (size_t)(i + 1) * 160 <= size && nrec < MAX_RECS; i++) {
		const uint8_t *p = data + (size_t)i * 160;
		struct ct_event_rec r;
		uint64_t base[4];
		size_t rlen;
		uint16_t tid;

		memcpy(&r, p, sizeof(r));
		memcpy(base, p + 128, sizeof(base));
		r.orig.family = (p[0] & 1) ? 6 : 4;
		if (ev_ipfix_flow_from_rec(&r, (p[1] & 1) ? base : NULL, r.seq, &want[nrec]) < 0)
			abort();
		tid = ev_ipfix_template_id(want[nrec].family);
		rlen = ev_ipfix_record_len(want[nrec].family);
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
