/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A template-driven IPFIX decoder (RFC 7011) for the tests and the fuzzer:
 * it learns templates from the messages it reads (any template, not only
 * dpct's) and decodes the data records of templates it knows; IEs it does
 * not know are skipped by length. Built into its own library
 * (dpct_ipfix_dec), which the app does not link.
 */
#include <errno.h>
#include <string.h>

#include "ev_ipfix.h"
#include "ev_ipfix_dec.h"
#include "ev_ipfix_ie.h"

/* A big-endian unsigned integer of `n` bytes (n <= 8). */
static inline uint64_t
getn(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

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
	case IE_POST_NAT_SRC_V4:
		if (n == 4)
			memcpy(fl->post_src, v, 4);
		break;
	case IE_POST_NAT_DST_V4:
		if (n == 4)
			memcpy(fl->post_dst, v, 4);
		break;
	case IE_POST_NAPT_SRC_PORT: fl->post_sport = (uint16_t)u; break;
	case IE_POST_NAPT_DST_PORT: fl->post_dport = (uint16_t)u; break;
	case IE_NAT_EVENT: fl->nat_event = (uint8_t)u; break;
	case IE_OBS_TIME_MS: fl->event_ms = u; break;
	case IE_PORT_RANGE_START: fl->block_start = (uint16_t)u; break;
	case IE_PORT_RANGE_END: fl->block_end = (uint16_t)u; break;
	case IE_PORT_RANGE_STEP: fl->block_step = (uint16_t)u; break;
	case IE_PORT_RANGE_PORTS: fl->block_ports = (uint16_t)u; break;
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
