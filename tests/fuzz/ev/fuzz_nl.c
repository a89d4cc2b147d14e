/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the ctnetlink parser (a datagram of messages, aligned and
 * misaligned), the expectation parser (ev_nl_exp.h) and the subscribe
 * payload parser (the request path of the events socket has its own target,
 * fuzz_req.c). Anything a parser accepts must survive a re-encode/re-parse
 * with the same identity (tuple, id, status; for an expectation its
 * tuple, master, id, timeout, flags, class and helper).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "ev_nl.h"
#include "ev_nl_exp.h"

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

static void
check_exp_roundtrip(const struct ev_nl_exp *e)
{
	static uint8_t buf[EV_NL_MSG_MAX] __attribute__((aligned(8)));
	struct ct_event_rec r;
	struct ev_nl_exp back;
	size_t used;
	int len;

	memset(&r, 0, sizeof(r));
	r.flags = CT_REC_F_EXP;
	r.orig = e->tuple;
	r.reply = e->master;
	r.id = e->id;
	r.timeout_s = e->timeout_s;
	r.status = (uint16_t)e->flags;
	r.exp_class = (uint8_t)e->class_;
	r.exp_helper = strcmp(e->helper, "ftp") == 0 ? CT_EXP_HELPER_FTP :
		       strcmp(e->helper, "tftp") == 0 ? CT_EXP_HELPER_TFTP : CT_EXP_HELPER_NONE;
	r.events = e->kind == EV_MASK_EXP_DESTROY ? CT_EXP_EV_DESTROY : CT_EXP_EV_NEW;
	len = ev_nl_exp_encode(&r, 0, buf, 0, sizeof(buf));
	if (len <= 0)
		abort();
	if (ev_nl_exp_parse(buf, (size_t)len, &back, &used) != 0 || used != (size_t)len)
		abort();
	/* Ports travel for the protocols that have them (the tuple writer's rule). */
	if (r.orig.proto != 6 && r.orig.proto != 17 && r.orig.proto != 136 &&
	    r.orig.proto != 132 && r.orig.proto != 47 && r.orig.proto != 1 && r.orig.proto != 58)
		r.orig.sport = r.orig.dport = 0;
	if (back.kind != e->kind || back.id != r.id || back.timeout_s != r.timeout_s ||
	    back.flags != r.status || back.class_ != r.exp_class || back.family != e->family ||
	    memcmp(back.tuple.src, r.orig.src, sizeof(r.orig.src)) != 0 ||
	    memcmp(back.tuple.dst, r.orig.dst, sizeof(r.orig.dst)) != 0 ||
	    memcmp(back.master.src, r.reply.src, sizeof(r.reply.src)) != 0 ||
	    back.tuple.proto != r.orig.proto || back.master.proto != r.reply.proto)
		abort();
	if ((r.orig.proto == 6 || r.orig.proto == 17) &&
	    (back.tuple.sport != r.orig.sport || back.tuple.dport != r.orig.dport))
		abort();
	if (r.exp_helper != CT_EXP_HELPER_NONE && strcmp(back.helper, e->helper) != 0)
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

		struct ev_nl_exp e;
		size_t xused = 0;
		int rc = ev_nl_parse(data + off, size - off, &ct, &used);

		if (rc == 0)
			check_roundtrip(&ct);
		else if (rc == -ENOMSG &&
			 ev_nl_exp_parse(data + off, size - off, &e, &xused) == 0)
			check_exp_roundtrip(&e);
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
