/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX encoding (RFC 7011) of dpct's biflow records (RFC 5103), and our own
 * template-driven decoder for the tests and the fuzzer. Pure functions.
 */
#include <errno.h>
#include <string.h>

#include "ev_ipfix.h"

/* Information elements (IANA "IPFIX Information Elements"). */
#define IE_OCTET_DELTA      1
#define IE_PACKET_DELTA     2
#define IE_PROTO            4
#define IE_TCP_FLAGS        6
#define IE_SRC_PORT         7
#define IE_SRC_V4           8
#define IE_INGRESS_IF       10
#define IE_DST_PORT         11
#define IE_DST_V4           12
#define IE_SRC_V6           27
#define IE_DST_V6           28
#define IE_ICMP_V4          32
#define IE_END_REASON       136
#define IE_ICMP_V6          139
#define IE_FLOW_ID          148
#define IE_START_MS         152
#define IE_END_MS           153
#define IE_INGRESS_VRF      234

#define SET_TEMPLATE 2
#define SET_OPTIONS  3

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

static inline uint64_t
getn(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
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

/* ------------------------------------------------------------------------ */
/* Decoder                                                                   */

static int
dec_find(const struct ev_ipfix_dec *d, uint32_t domain, uint16_t id)
{
	unsigned i;

	for (i = 0; i < EV_IPFIX_DEC_MAX_TEMPLATES; i++)
		if (d->t[i].id == id && d->t[i].domain == domain)
			return (int)i;
	return -1;
}

static int
dec_template_set(struct ev_ipfix_dec *d, uint32_t domain, const uint8_t *p, size_t len)
{
	size_t off = 0;

	/* Records until what is left cannot hold a template header (padding). */
	while (len - off >= 4) {
		uint16_t tid = (uint16_t)getn(p + off, 2), n = (uint16_t)getn(p + off + 2, 2);
		struct ev_ipfix_dec_field f[EV_IPFIX_DEC_MAX_FIELDS];
		unsigned i;
		int slot;

		off += 4;
		if (tid == 0 && n == 0)
			break; /* padding */
		if (tid < 256)
			return -EINVAL;
		if (n == 0) {
			/* Withdrawal (RFC 7011 §8.1). */
			slot = dec_find(d, domain, tid);
			if (slot >= 0)
				d->t[slot].id = 0;
			continue;
		}
		if (n > EV_IPFIX_DEC_MAX_FIELDS)
			return -EINVAL;
		for (i = 0; i < n; i++) {
			uint16_t id;

			if (len - off < 4)
				return -EINVAL;
			id = (uint16_t)getn(p + off, 2);
			f[i].len = (uint16_t)getn(p + off + 2, 2);
			f[i].pen = 0;
			off += 4;
			if (id & 0x8000) {
				if (len - off < 4)
					return -EINVAL;
				f[i].pen = (uint32_t)getn(p + off, 4);
				off += 4;
			}
			f[i].id = id & 0x7fff;
			if (f[i].len == 0)
				return -EINVAL;
		}
		slot = dec_find(d, domain, tid);
		if (slot < 0)
			slot = dec_find(d, 0, 0);
		if (slot < 0)
			return -ENOSPC;
		d->t[slot].id = tid;
		d->t[slot].domain = domain;
		d->t[slot].n = n;
		memcpy(d->t[slot].f, f, n * sizeof(f[0]));
		d->templates++;
	}
	return 0;
}

/* Map one field onto the flow; unknown IEs are skipped. */
static void
dec_field(struct ev_ipfix_flow *fl, const struct ev_ipfix_dec_field *f, const uint8_t *v)
{
	bool rev = f->pen == EV_IPFIX_PEN_REVERSE;
	unsigned n = f->len;
	uint64_t u = n <= 8 ? getn(v, n) : 0;

	if (f->pen != 0 && !rev)
		return;
	if (rev) {
		if (f->id == IE_OCTET_DELTA && n <= 8)
			fl->octets[1] = u;
		else if (f->id == IE_PACKET_DELTA && n <= 8)
			fl->packets[1] = u;
		return;
	}
	switch (f->id) {
	case IE_SRC_V4:
		if (n == 4) {
			memcpy(fl->src, v, 4);
			fl->family = 4;
		}
		break;
	case IE_DST_V4:
		if (n == 4)
			memcpy(fl->dst, v, 4);
		break;
	case IE_SRC_V6:
		if (n == 16) {
			memcpy(fl->src, v, 16);
			fl->family = 6;
		}
		break;
	case IE_DST_V6:
		if (n == 16)
			memcpy(fl->dst, v, 16);
		break;
	case IE_SRC_PORT: fl->sport = (uint16_t)u; break;
	case IE_DST_PORT: fl->dport = (uint16_t)u; break;
	case IE_PROTO: fl->proto = (uint8_t)u; break;
	case IE_ICMP_V4:
	case IE_ICMP_V6: fl->icmp = (uint16_t)u; break;
	case IE_TCP_FLAGS: fl->tcp_flags = (uint16_t)u; break;
	case IE_OCTET_DELTA: fl->octets[0] = u; break;
	case IE_PACKET_DELTA: fl->packets[0] = u; break;
	case IE_START_MS: fl->start_ms = u; break;
	case IE_END_MS: fl->end_ms = u; break;
	case IE_END_REASON: fl->end_reason = (uint8_t)u; break;
	case IE_INGRESS_IF: fl->ingress = (uint32_t)u; break;
	case IE_INGRESS_VRF: fl->vrf = (uint32_t)u; break;
	case IE_FLOW_ID: fl->flow_id = u; break;
	default: break;
	}
}

static int
dec_data_set(struct ev_ipfix_dec *d, uint32_t domain, uint16_t tid, const uint8_t *p,
	     size_t len, void (*cb)(void *, const struct ev_ipfix_flow *, uint16_t), void *arg,
	     unsigned *records)
{
	int slot = dec_find(d, domain, tid);
	size_t off = 0, min = 0;
	unsigned i;

	if (slot < 0) {
		d->unknown_set++;
		return 0;
	}
	for (i = 0; i < d->t[slot].n; i++)
		min += d->t[slot].f[i].len == 65535 ? 1 : d->t[slot].f[i].len;
	while (len - off >= min && min > 0) {
		struct ev_ipfix_flow fl;

		memset(&fl, 0, sizeof(fl));
		for (i = 0; i < d->t[slot].n; i++) {
			const struct ev_ipfix_dec_field *f = &d->t[slot].f[i];
			size_t flen = f->len;

			if (flen == 65535) {
				/* Variable length (RFC 7011 §7): 1 byte, or 255 + 2 bytes. */
				if (len - off < 1)
					return -EINVAL;
				flen = p[off++];
				if (flen == 255) {
					if (len - off < 2)
						return -EINVAL;
					flen = getn(p + off, 2);
					off += 2;
				}
				if (len - off < flen)
					return -EINVAL;
				off += flen;
				continue;
			}
			if (len - off < flen)
				return -EINVAL;
			dec_field(&fl, f, p + off);
			off += flen;
		}
		d->records++;
		(*records)++;
		if (cb != NULL)
			cb(arg, &fl, tid);
	}
	return 0;
}

int
ev_ipfix_decode(struct ev_ipfix_dec *d, const uint8_t *msg, size_t len,
		void (*cb)(void *arg, const struct ev_ipfix_flow *f, uint16_t tid), void *arg,
		struct ev_ipfix_msg_info *info)
{
	struct ev_ipfix_msg_info mi;
	size_t off = EV_IPFIX_HDR_LEN;
	int rc = 0;

	memset(&mi, 0, sizeof(mi));
	if (len < EV_IPFIX_HDR_LEN || getn(msg, 2) != EV_IPFIX_VERSION)
		goto bad;
	mi.len = (uint16_t)getn(msg + 2, 2);
	mi.export_time = (uint32_t)getn(msg + 4, 4);
	mi.seq = (uint32_t)getn(msg + 8, 4);
	mi.domain = (uint32_t)getn(msg + 12, 4);
	if (mi.len < EV_IPFIX_HDR_LEN || mi.len > len)
		goto bad;
	while (off < mi.len) {
		uint16_t sid, slen;

		if (mi.len - off < EV_IPFIX_SET_HDR_LEN)
			goto bad;
		sid = (uint16_t)getn(msg + off, 2);
		slen = (uint16_t)getn(msg + off + 2, 2);
		if (slen < EV_IPFIX_SET_HDR_LEN || slen > mi.len - off)
			goto bad;
		if (sid == SET_TEMPLATE) {
			rc = dec_template_set(d, mi.domain, msg + off + 4, slen - 4u);
			mi.template_sets++;
		} else if (sid == SET_OPTIONS) {
			rc = 0; /* options templates are not needed here */
		} else if (sid >= 256) {
			rc = dec_data_set(d, mi.domain, sid, msg + off + 4, slen - 4u, cb, arg,
					  &mi.records);
		} else {
			rc = -EINVAL;
		}
		if (rc < 0)
			goto bad;
		off += slen;
	}
	d->messages++;
	if (info != NULL)
		*info = mi;
	return mi.len;
bad:
	d->errors++;
	if (info != NULL)
		*info = mi;
	return -EINVAL;
}
