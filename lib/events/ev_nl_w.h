/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_NL_W_H
#define DPCT_EV_NL_W_H

/*
 * The netlink attribute writers of lib/events' encoders, shared by ev_nl.c
 * (conntrack messages) and ev_nl_exp.c (expectation messages); private to
 * lib/events. They write straight into a datagram buffer; a write that does
 * not fit sets `overflow` and every later write is a no-op, so an encoder
 * checks once at the end.
 */

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>

#include "ct.h"

/* The kernel's tuple orientation for ICMP echo: the reply tuple carries the
 * echo reply type (nf_conntrack_proto_icmp.c invmap). */
#define ICMP_ECHO_REQ    8
#define ICMP_ECHO_REPLY  0
#define ICMPV6_ECHO_REQ  128
#define ICMPV6_ECHO_REPLY 129

/*
 * ICMP query keys (ct.h): the request's tuple has sport = id and
 * dport = request type | code << 8; the reply tuple is its reverse. Linux's
 * invmap gives the reply type. A key whose low byte is no request type (a
 * record built with sport = dport = id) is taken as an echo, code 0.
 */
static inline uint8_t
icmp_reply_type(bool v6, uint8_t req)
{
	if (v6)
		return req == 139 ? 140 : ICMPV6_ECHO_REPLY;
	return req == 8 ? ICMP_ECHO_REPLY : (uint8_t)(req + 1);
}

static inline uint16_t
icmp_norm_key(bool v6, uint16_t key)
{
	uint8_t t = (uint8_t)key;

	if (v6 ? (t == 128 || t == 139) : (t == 8 || t == 13 || t == 15 || t == 17))
		return key;
	return v6 ? ICMPV6_ECHO_REQ : ICMP_ECHO_REQ;
}

struct nl_w {
	uint8_t *base;   /* datagram start: alignment reference */
	size_t pos;
	size_t cap;
	bool overflow;
};

static inline void *
w_reserve(struct nl_w *w, size_t len)
{
	size_t alen = NLA_ALIGN(len);
	void *p;

	if (w->overflow || w->pos + alen > w->cap) {
		w->overflow = true;
		return NULL;
	}
	p = w->base + w->pos;
	/* Padding bytes are zero, as in nla_reserve(). */
	if (alen > len)
		memset((uint8_t *)p + len, 0, alen - len);
	w->pos += alen;
	return p;
}

static inline void
w_put(struct nl_w *w, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = w_reserve(w, NLA_HDRLEN + len);

	if (a == NULL)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len != 0)
		memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
}

static inline void
w_u8(struct nl_w *w, uint16_t type, uint8_t v)
{
	w_put(w, type, &v, 1);
}

static inline void
w_be16(struct nl_w *w, uint16_t type, uint16_t host)
{
	uint16_t v = htobe16(host);

	w_put(w, type, &v, 2);
}

static inline void
w_be32(struct nl_w *w, uint16_t type, uint32_t host)
{
	uint32_t v = htobe32(host);

	w_put(w, type, &v, 4);
}

/* nla_put_be64(skb, type, v, padattr): with padding, a zero-length pad
 * attribute first when the payload would not be 8-byte aligned. */
static inline void
w_be64(struct nl_w *w, uint16_t type, uint64_t host, uint16_t padattr, bool pad)
{
	uint64_t v = htobe64(host);

	if (pad && ((uintptr_t)(w->pos + NLA_HDRLEN) & 7) != 0)
		w_put(w, padattr, NULL, 0);
	w_put(w, type, &v, 8);
}

static inline size_t
w_nest_start(struct nl_w *w, uint16_t type)
{
	size_t at = w->pos;
	struct nlattr *a = w_reserve(w, NLA_HDRLEN);

	if (a != NULL) {
		a->nla_type = (uint16_t)(type | NLA_F_NESTED);
		a->nla_len = NLA_HDRLEN;
	}
	return at;
}

static inline void
w_nest_end(struct nl_w *w, size_t at)
{
	struct nlattr *a;

	if (w->overflow)
		return;
	a = (struct nlattr *)(w->base + at);
	a->nla_len = (uint16_t)(w->pos - at);
}

static inline void
w_tuple(struct nl_w *w, uint16_t type, const struct ct_tuple *t, bool reply)
{
	size_t tup, nest;
	uint8_t itype;

	tup = w_nest_start(w, type);
	nest = w_nest_start(w, CTA_TUPLE_IP);
	if (t->family == 4) {
		w_put(w, CTA_IP_V4_SRC, t->src, 4);
		w_put(w, CTA_IP_V4_DST, t->dst, 4);
	} else {
		w_put(w, CTA_IP_V6_SRC, t->src, 16);
		w_put(w, CTA_IP_V6_DST, t->dst, 16);
	}
	w_nest_end(w, nest);

	nest = w_nest_start(w, CTA_TUPLE_PROTO);
	w_u8(w, CTA_PROTO_NUM, t->proto);
	switch (t->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_GRE:
		/*
		 * GRE's keys travel as ports (Linux's GRE tracker uses
		 * nf_ct_port_tuple_to_nlattr()). DCCP has none: Linux 6.16+
		 * tracks it generically, with only CTA_PROTO_NUM.
		 */
		w_be16(w, CTA_PROTO_SRC_PORT, t->sport);
		w_be16(w, CTA_PROTO_DST_PORT, t->dport);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		bool v6 = t->proto == IPPROTO_ICMPV6;
		uint16_t id = reply ? t->dport : t->sport;
		uint16_t key = icmp_norm_key(v6, reply ? t->sport : t->dport);

		itype = reply ? icmp_reply_type(v6, (uint8_t)key) : (uint8_t)key;
		w_be16(w, v6 ? CTA_PROTO_ICMPV6_ID : CTA_PROTO_ICMP_ID, id);
		w_u8(w, v6 ? CTA_PROTO_ICMPV6_TYPE : CTA_PROTO_ICMP_TYPE, itype);
		w_u8(w, v6 ? CTA_PROTO_ICMPV6_CODE : CTA_PROTO_ICMP_CODE, (uint8_t)(key >> 8));
		break;
	}
	default:
		/* The generic tracker has no tuple attributes beyond the number. */
		break;
	}
	w_nest_end(w, nest);
	w_nest_end(w, tup);
}

#endif /* DPCT_EV_NL_W_H */
