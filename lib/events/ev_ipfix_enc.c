/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX encoding (RFC 7011) of dpct's biflow records (RFC 5103). Pure
 * functions. The decoder the tests and the fuzzer use is ev_ipfix_dec.c,
 * outside the library the app links.
 */
#include <errno.h>
#include <string.h>

#include "ev_ipfix.h"
#include "ev_ipfix_ie.h"

struct tfield {
	uint16_t id;
	uint16_t len;
	uint32_t pen;
};

/* Both templates in record order; the address IEs differ by family. */
#define TEMPLATE(SRC, DST, ALEN, ICMP) { \
	{SRC, ALEN, 0}, {DST, ALEN, 0}, {IE_SRC_PORT, 2, 0}, {IE_DST_PORT, 2, 0}, \
	{IE_PROTO, 1, 0}, {ICMP, 2, 0}, {IE_TCP_FLAGS, 1, 0}, \
	{IE_OCTET_DELTA, 8, 0}, {IE_PACKET_DELTA, 8, 0}, \
	{IE_OCTET_DELTA, 8, EV_IPFIX_PEN_REVERSE}, {IE_PACKET_DELTA, 8, EV_IPFIX_PEN_REVERSE}, \
	{IE_START_MS, 8, 0}, {IE_END_MS, 8, 0}, {IE_END_REASON, 1, 0}, \
	{IE_INGRESS_IF, 4, 0}, {IE_INGRESS_VRF, 4, 0}, {IE_FLOW_ID, 8, 0}, \
}
#define N_FIELDS 17

static const struct tfield tmpl_v4[N_FIELDS] = TEMPLATE(IE_SRC_V4, IE_DST_V4, 4, IE_ICMP_V4);
static const struct tfield tmpl_v6[N_FIELDS] = TEMPLATE(IE_SRC_V6, IE_DST_V6, 16, IE_ICMP_V6);

#define REC_LEN_V4 81
#define REC_LEN_V6 105

static inline void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

size_t
ev_ipfix_record_len(unsigned family)
{
	return family == 4 ? REC_LEN_V4 : family == 6 ? REC_LEN_V6 : 0;
}

int
ev_ipfix_flow_from_rec(const struct ct_event_rec *r, const uint64_t base[4], uint64_t now_ns,
		       struct ev_ipfix_flow *f)
{
	const struct ct_tuple *t = &r->orig;
	bool icmp = t->proto == 1 || t->proto == 58;

	if (t->family != 4 && t->family != 6)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->family = t->family;
	f->proto = t->proto;
	memcpy(f->src, t->src, 16);
	memcpy(f->dst, t->dst, 16);
	if (icmp) {
		f->icmp = (uint16_t)(r->l4_seen << 8 | r->icmp_code);
	} else {
		f->sport = t->sport;
		f->dport = t->dport;
	}
	if (t->proto == 6)
		f->tcp_flags = r->l4_seen;
	f->packets[0] = r->pkts[0] - (base ? base[0] : 0);
	f->packets[1] = r->pkts[1] - (base ? base[1] : 0);
	f->octets[0] = r->bytes[0] - (base ? base[2] : 0);
	f->octets[1] = r->bytes[1] - (base ? base[3] : 0);
	f->start_ms = r->start_ns / 1000000u;
	if (r->events & CT_EV_DESTROY) {
		f->end_ms = r->stop_ns / 1000000u;
		f->end_reason = r->end_reason;
	} else {
		f->end_ms = now_ns / 1000000u;
		f->end_reason = CT_END_ACTIVE;
	}
	if (f->end_ms < f->start_ms)
		f->end_ms = f->start_ms;
	f->ingress = r->in_port;
	f->vrf = t->zone;
	f->flow_id = r->id;
	return 0;
}

static size_t
template_record(uint8_t *p, uint16_t tid, const struct tfield *t)
{
	size_t off = 4;
	unsigned i;

	put16(p, tid);
	put16(p + 2, N_FIELDS);
	for (i = 0; i < N_FIELDS; i++) {
		put16(p + off, (uint16_t)(t[i].id | (t[i].pen ? 0x8000 : 0)));
		put16(p + off + 2, t[i].len);
		off += 4;
		if (t[i].pen) {
			put32(p + off, t[i].pen);
			off += 4;
		}
	}
	return off;
}

size_t
ev_ipfix_template_set(uint8_t *buf, size_t cap)
{
	/* 2 x (4 + 17 * 4 + 2 enterprise numbers * 4) + the set header */
	size_t need = EV_IPFIX_SET_HDR_LEN + 2 * (4 + N_FIELDS * 4 + 2 * 4), off;

	if (cap < need)
		return 0;
	off = EV_IPFIX_SET_HDR_LEN;
	off += template_record(buf + off, EV_IPFIX_TID_V4, tmpl_v4);
	off += template_record(buf + off, EV_IPFIX_TID_V6, tmpl_v6);
	ev_ipfix_set_header(buf, SET_TEMPLATE, (uint16_t)off);
	return off;
}

size_t
ev_ipfix_encode_record(const struct ev_ipfix_flow *f, uint8_t *p, size_t cap)
{
	size_t alen = f->family == 4 ? 4 : 16, len = ev_ipfix_record_len(f->family), o;

	if (len == 0 || cap < len)
		return 0;
	memcpy(p, f->src, alen);
	memcpy(p + alen, f->dst, alen);
	o = 2 * alen;
	put16(p + o, f->sport);
	put16(p + o + 2, f->dport);
	p[o + 4] = f->proto;
	put16(p + o + 5, f->icmp);
	/* tcpControlBits in reduced-size encoding (RFC 7011 §6.2): dpct keeps
	 * the 8 classic flags, and collectors that read only one byte (pmacct)
	 * get them right. */
	p[o + 7] = (uint8_t)f->tcp_flags;
	put64(p + o + 8, f->octets[0]);
	put64(p + o + 16, f->packets[0]);
	put64(p + o + 24, f->octets[1]);
	put64(p + o + 32, f->packets[1]);
	put64(p + o + 40, f->start_ms);
	put64(p + o + 48, f->end_ms);
	p[o + 56] = f->end_reason;
	put32(p + o + 57, f->ingress);
	put32(p + o + 61, f->vrf);
	put64(p + o + 65, f->flow_id);
	return len;
}

void
ev_ipfix_set_header(uint8_t *buf, uint16_t set_id, uint16_t len)
{
	put16(buf, set_id);
	put16(buf + 2, len);
}

void
ev_ipfix_msg_header(uint8_t *buf, uint16_t len, uint32_t export_time_s, uint32_t seq,
		    uint32_t domain)
{
	put16(buf, EV_IPFIX_VERSION);
	put16(buf + 2, len);
	put32(buf + 4, export_time_s);
	put32(buf + 8, seq);
	put32(buf + 12, domain);
}
