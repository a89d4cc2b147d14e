/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX encoding (RFC 7011) of dpct's biflow records (RFC 5103), with the
 * post-NAT fields of translated flows and the port blocks of block-mode
 * pools (RFC 8158). Pure functions. The decoder the tests and the fuzzer use is ev_ipfix_dec.c,
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

/* The biflow templates in record order; the address IEs differ by family. */
#define BIFLOW(SRC, DST, ALEN, ICMP) \
	{SRC, ALEN, 0}, {DST, ALEN, 0}, {IE_SRC_PORT, 2, 0}, {IE_DST_PORT, 2, 0}, \
	{IE_PROTO, 1, 0}, {ICMP, 2, 0}, {IE_TCP_FLAGS, 1, 0}, \
	{IE_OCTET_DELTA, 8, 0}, {IE_PACKET_DELTA, 8, 0}, \
	{IE_OCTET_DELTA, 8, EV_IPFIX_PEN_REVERSE}, {IE_PACKET_DELTA, 8, EV_IPFIX_PEN_REVERSE}, \
	{IE_START_MS, 8, 0}, {IE_END_MS, 8, 0}, {IE_END_REASON, 1, 0}, \
	{IE_INGRESS_IF, 4, 0}, {IE_INGRESS_VRF, 4, 0}, {IE_FLOW_ID, 8, 0}
#define N_FIELDS 17
#define N_NAT_FIELDS (N_FIELDS + 6)
#define N_BLOCK_FIELDS 9

static const struct tfield tmpl_v4[] = { BIFLOW(IE_SRC_V4, IE_DST_V4, 4, IE_ICMP_V4) };
static const struct tfield tmpl_v6[] = { BIFLOW(IE_SRC_V6, IE_DST_V6, 16, IE_ICMP_V6) };
/* A translated IPv4 biflow: the IPv4 biflow, then where its orig direction went. */
static const struct tfield tmpl_nat4[] = {
	BIFLOW(IE_SRC_V4, IE_DST_V4, 4, IE_ICMP_V4),
	{IE_POST_NAT_SRC_V4, 4, 0}, {IE_POST_NAT_DST_V4, 4, 0},
	{IE_POST_NAPT_SRC_PORT, 2, 0}, {IE_POST_NAPT_DST_PORT, 2, 0}, {IE_NAT_EVENT, 1, 0},
	{IE_OBS_TIME_MS, 8, 0},
};
/* A port block (RFC 8158, NAT44 port block allocation / de-allocation). */
static const struct tfield tmpl_block[] = {
	{IE_OBS_TIME_MS, 8, 0}, {IE_NAT_EVENT, 1, 0}, {IE_SRC_V4, 4, 0},
	{IE_POST_NAT_SRC_V4, 4, 0}, {IE_PORT_RANGE_START, 2, 0}, {IE_PORT_RANGE_END, 2, 0},
	{IE_PORT_RANGE_STEP, 2, 0}, {IE_PORT_RANGE_PORTS, 2, 0}, {IE_INGRESS_VRF, 4, 0},
};
_Static_assert(sizeof(tmpl_v4) / sizeof(tmpl_v4[0]) == N_FIELDS, "v4 template");
_Static_assert(sizeof(tmpl_nat4) / sizeof(tmpl_nat4[0]) == N_NAT_FIELDS, "nat4 template");
_Static_assert(sizeof(tmpl_block) / sizeof(tmpl_block[0]) == N_BLOCK_FIELDS, "block template");

#define REC_LEN_V4 81
#define REC_LEN_V6 105
#define REC_LEN_NAT4 (REC_LEN_V4 + 21)
#define REC_LEN_BLOCK 29

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

size_t
ev_ipfix_flow_len(const struct ev_ipfix_flow *f)
{
	switch (ev_ipfix_flow_template(f)) {
	case EV_IPFIX_TID_NAT_BLOCK:
		return f->family == 4 ? REC_LEN_BLOCK : 0;
	case EV_IPFIX_TID_NAT4:
		return REC_LEN_NAT4;
	default:
		return ev_ipfix_record_len(f->family);
	}
}

/* A port block: who got it (inside address), from which pool address, which ports. */
static int
block_from_rec(const struct ct_event_rec *r, struct ev_ipfix_flow *f)
{
	if (r->orig.family != 4 || r->block_lo > r->block_hi ||
	    (r->nat_event != CT_NAT_BLOCK_ALLOC && r->nat_event != CT_NAT_BLOCK_RELEASE))
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->family = 4;
	f->nat_event = r->nat_event == CT_NAT_BLOCK_ALLOC ? EV_IPFIX_NAT_BLOCK_ALLOC :
							    EV_IPFIX_NAT_BLOCK_FREE;
	memcpy(f->src, r->orig.src, 4);
	memcpy(f->post_src, r->reply.dst, 4);
	f->block_start = r->block_lo;
	f->block_end = r->block_hi;
	f->block_step = 1;
	f->block_ports = (uint16_t)(r->block_hi - r->block_lo + 1u);
	f->event_ms = r->start_ns / 1000000u;
	f->vrf = r->orig.zone;
	return 0;
}

/* Where the orig direction went: the reverse of the reply tuple as it arrives. */
static void
nat_from_rec(const struct ct_event_rec *r, bool icmp, struct ev_ipfix_flow *f)
{
	memcpy(f->post_src, r->reply.dst, 4);
	memcpy(f->post_dst, r->reply.src, 4);
	if (!icmp) {
		f->post_sport = r->reply.dport;
		f->post_dport = r->reply.sport;
	}
	f->nat_event = (r->events & CT_EV_DESTROY) ? EV_IPFIX_NAT44_DELETE : EV_IPFIX_NAT44_CREATE;
	f->event_ms = f->end_ms;
}

int
ev_ipfix_flow_from_rec(const struct ct_event_rec *r, const uint64_t base[4], uint64_t now_ns,
		       struct ev_ipfix_flow *f)
{
	const struct ct_tuple *t = &r->orig;
	bool icmp = t->proto == 1 || t->proto == 58;

	if (r->flags & CT_REC_F_NAT_BLOCK)
		return block_from_rec(r, f);
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
	/* IPv6 is never translated; a reply tuple of another family is no translation. */
	if ((r->status & CT_S_NAT_MASK) && t->family == 4 && r->reply.family == 4)
		nat_from_rec(r, icmp, f);
	return 0;
}

static size_t
template_record(uint8_t *p, uint16_t tid, const struct tfield *t, unsigned n)
{
	size_t off = 4;
	unsigned i;

	put16(p, tid);
	put16(p + 2, (uint16_t)n);
	for (i = 0; i < n; i++) {
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

/* The set header, the three biflow templates (2 enterprise numbers each) and the block one. */
#define TEMPLATE_SET_LEN (EV_IPFIX_SET_HDR_LEN + 3 * (4 + 2 * 4) + \
			  (2 * N_FIELDS + N_NAT_FIELDS + N_BLOCK_FIELDS) * 4 + 4)
_Static_assert(TEMPLATE_SET_LEN <= EV_IPFIX_TEMPLATES_MAX, "EV_IPFIX_TEMPLATES_MAX too small");

size_t
ev_ipfix_template_set(uint8_t *buf, size_t cap)
{
	size_t off;

	if (cap < TEMPLATE_SET_LEN)
		return 0;
	off = EV_IPFIX_SET_HDR_LEN;
	off += template_record(buf + off, EV_IPFIX_TID_V4, tmpl_v4, N_FIELDS);
	off += template_record(buf + off, EV_IPFIX_TID_V6, tmpl_v6, N_FIELDS);
	off += template_record(buf + off, EV_IPFIX_TID_NAT4, tmpl_nat4, N_NAT_FIELDS);
	off += template_record(buf + off, EV_IPFIX_TID_NAT_BLOCK, tmpl_block, N_BLOCK_FIELDS);
	ev_ipfix_set_header(buf, SET_TEMPLATE, (uint16_t)off);
	return off;
}

static size_t
encode_block(const struct ev_ipfix_flow *f, uint8_t *p)
{
	put64(p, f->event_ms);
	p[8] = f->nat_event;
	memcpy(p + 9, f->src, 4);
	memcpy(p + 13, f->post_src, 4);
	put16(p + 17, f->block_start);
	put16(p + 19, f->block_end);
	put16(p + 21, f->block_step);
	put16(p + 23, f->block_ports);
	put32(p + 25, f->vrf);
	return REC_LEN_BLOCK;
}

size_t
ev_ipfix_encode_record(const struct ev_ipfix_flow *f, uint8_t *p, size_t cap)
{
	size_t alen = f->family == 4 ? 4 : 16, len = ev_ipfix_flow_len(f), o;
	uint16_t tid = ev_ipfix_flow_template(f);

	if (len == 0 || cap < len)
		return 0;
	if (tid == EV_IPFIX_TID_NAT_BLOCK)
		return encode_block(f, p);
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
	if (tid == EV_IPFIX_TID_NAT4) {
		memcpy(p + o + 73, f->post_src, 4);
		memcpy(p + o + 77, f->post_dst, 4);
		put16(p + o + 81, f->post_sport);
		put16(p + o + 83, f->post_dport);
		p[o + 85] = f->nat_event;
		put64(p + o + 86, f->event_ms);
	}
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
