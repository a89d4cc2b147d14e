/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the ctnetlink parser (a datagram of messages, aligned and
 * misaligned) and the subscribe payload parser (the request path of the
 * events socket has its own target, fuzz_req.c). Anything the parser accepts must survive a re-encode/re-parse
 * with the same identity (tuple, id, status).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "ev_nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_roundtrip(const struct ev_nl_ct *ct)
{
	static uint8_t buf[EV_NL_MSG_MAX] __attribute__((aligned(8)));
	struct ct_event_rec r;
	struct ev_nl_ct back;
	size_t used;
	int len;

	memset(&r, 0, sizeof(r));
	r.orig = ct->orig;
	/* A reply tuple of the same family and protocol travels as it is
	 * (a translated flow's); otherwise the encoder reverses orig. */
	if ((ct->present & EV_NL_HAS_REPLY) && ct->reply.family == ct->orig.family &&
	    ct->reply.proto == ct->orig.proto)
		r.reply = ct->reply;
	r.id = ct->id;
	r.status = (uint16_t)ct->status;
	r.events = ct->kind == EV_MASK_DESTROY ? CT_EV_DESTROY :
		   ct->kind == EV_MASK_NEW ? CT_EV_NEW : CT_EV_PROTOINFO;
	r.tcp_state = ct->tcp_state;
	len = ev_nl_encode(&r, EV_NL_F_DEFAULT, buf, 0, sizeof(buf));
	if (len <= 0)
		abort();
	if (ev_nl_parse(buf, (size_t)len, &back, &used) != 0 || used != (size_t)len)
		abort();
	/*
	 * ICMP tuples: sport = id, dport = request type | code << 8 (ct.h); a
	 * key that is no query type is encoded as an echo request, code 0.
	 */
	if (back.orig.proto == 1 || back.orig.proto == 58) {
		uint8_t t = (uint8_t)r.orig.dport;
		int v6 = back.orig.proto == 58;

		if (!(v6 ? (t == 128 || t == 139) : (t == 8 || t == 13 || t == 15 || t == 17)))
			r.orig.dport = v6 ? 128 : 8;
	}
	/* Ports travel for TCP, UDP, UDP-Lite, SCTP and GRE (its keys); DCCP has none. */
	else if (back.orig.proto != 6 && back.orig.proto != 17 && back.orig.proto != 136 &&
		 back.orig.proto != 132 && back.orig.proto != 47)
		r.orig.sport = r.orig.dport = 0;
	if (memcmp(&back.orig, &r.orig, sizeof(r.orig)) != 0 || back.id != r.id ||
	    back.status != r.status || back.kind != ct->kind)
		abort();
	/* The reply tuple's addresses come back as they went (ports are
	 * normalised like orig's, ICMP keys by the protocol's rules). */
	if (!(back.present & EV_NL_HAS_REPLY))
		abort();
	if (r.reply.family == r.orig.family && r.reply.proto == r.orig.proto &&
	    (memcmp(back.reply.src, r.reply.src, sizeof(r.reply.src)) != 0 ||
	     memcmp(back.reply.dst, r.reply.dst, sizeof(r.reply.dst)) != 0))
		abort();
	if (r.reply.family == r.orig.family && r.reply.proto == r.orig.proto &&
	    (back.orig.proto == 6 || back.orig.proto == 17) &&
	    (back.reply.sport != r.reply.sport || back.reply.dport != r.reply.dport))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t shifted[65536 + 1];
	struct ev_subscribe sub;
	size_t off = 0;

	while (off < size) {
		struct ev_nl_ct ct;
		size_t used = 0;

		if (ev_nl_parse(data + off, size - off, &ct, &used) == 0)
			check_roundtrip(&ct);
		if (used == 0 || used > size - off)
			break;
		off += used;
	}
	/* The same bytes at an odd address. */
	if (size <= sizeof(shifted) - 1) {
		struct ev_nl_ct ct;
		size_t used;

		memcpy(shifted + 1, data, size);
		(void)ev_nl_parse(shifted + 1, size, &ct, &used);
	}
	(void)ev_nl_parse_subscribe(data, size, &sub);
	return 0;
}
