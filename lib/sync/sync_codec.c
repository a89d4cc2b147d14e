/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sync codec: event records to conntrackd-format messages and
 * datagrams back to decoded messages (sync.h). Every read is checked
 * against the end of the datagram first.
 */

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "sync.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

struct wr {
	uint8_t *b;
	size_t cap;
	size_t len;
	bool err;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void
attr(struct wr *w, uint16_t type, const void *v, uint16_t vlen)
{
	size_t total = (4u + vlen + 3u) & ~(size_t)3;

	if (w->err || w->len + total > w->cap) {
		w->err = true;
		return;
	}
	put16(w->b + w->len, (uint16_t)(4 + vlen));
	put16(w->b + w->len + 2, type);
	memcpy(w->b + w->len + 4, v, vlen);
	memset(w->b + w->len + 4 + vlen, 0, total - 4 - vlen);
	w->len += total;
}

static void
attr8(struct wr *w, uint16_t type, uint8_t v)
{
	attr(w, type, &v, 1);
}

static void
attr16(struct wr *w, uint16_t type, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	attr(w, type, b, 2);
}

static void
attr32(struct wr *w, uint16_t type, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	attr(w, type, b, 4);
}

/*
 * conntrackd builds NTA_SNAT_IPV4/NTA_DNAT_IPV4 with htonl(), and
 * NTA_ICMP_ID/NTA_SPAT_PORT/NTA_DPAT_PORT with htons(), of values that
 * libnetfilter_conntrack already holds in network order; its parser undoes
 * it: between the x86 hosts it runs on, these bytes travel reversed
 * (little-endian). dpct writes and reads them the same way.
 */
static void
attr16_le(struct wr *w, uint16_t type, uint16_t v)
{
	const uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	attr(w, type, b, 2);
}

static uint16_t
get16_le(const uint8_t *p)
{
	return (uint16_t)(p[1] << 8 | p[0]);
}

static void
attr_nat4(struct wr *w, uint16_t type, const uint8_t *a)
{
	const uint8_t b[4] = { a[3], a[2], a[1], a[0] };

	attr(w, type, b, 4);
}

static bool
has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

static bool
is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

static void
hdr(uint8_t *b, uint8_t type, uint8_t flags, uint16_t len, uint32_t seq)
{
	b[0] = (uint8_t)(SYNC_PROTO_VERSION << 4 | (type & 0x0f));
	b[1] = flags;
	put16(b + 2, len);
	put32(b + 4, seq);
}

static void
encode_nat(struct wr *w, const struct ct_event_rec *r)
{
	const struct ct_tuple *o = &r->orig, *rp = &r->reply;
	size_t alen = o->family == 4 ? 4 : 16;

	if (r->status & CT_S_SRC_NAT) {
		if (alen == 4)
			attr_nat4(w, SYNC_NTA_SNAT_IPV4, rp->dst);
		else
			attr(w, SYNC_NTA_SNAT_IPV6, rp->dst, 16);
		if (has_ports(o->proto) && rp->dport != o->sport)
			attr16_le(w, SYNC_NTA_SPAT_PORT, rp->dport);
	}
	if (r->status & CT_S_DST_NAT) {
		if (alen == 4)
			attr_nat4(w, SYNC_NTA_DNAT_IPV4, rp->src);
		else
			attr(w, SYNC_NTA_DNAT_IPV6, rp->src, 16);
		if (has_ports(o->proto) && rp->sport != o->dport)
			attr16_le(w, SYNC_NTA_DPAT_PORT, rp->sport);
	}
}

static void
encode_ext(struct wr *w, const struct ct_event_rec *r)
{
	const struct ct_tuple *rp = &r->reply;
	size_t alen = r->orig.family == 4 ? 4 : 16;
	uint8_t tup[36], cnt[32];

	attr32(w, SYNC_XTA_ID, r->id);
	attr16(w, SYNC_XTA_ZONE, r->orig.zone);
	attr16(w, SYNC_XTA_EVENTS, r->events);
	attr(w, SYNC_XTA_TCP_FLAGS, r->tcp_dflags, 2);
	memcpy(tup, rp->src, alen);
	memcpy(tup + alen, rp->dst, alen);
	put16(tup + 2 * alen, rp->sport);
	put16(tup + 2 * alen + 2, rp->dport);
	attr(w, SYNC_XTA_REPLY, tup, (uint16_t)(2 * alen + 4));
	put64(cnt, r->pkts[0]);
	put64(cnt + 8, r->pkts[1]);
	put64(cnt + 16, r->bytes[0]);
	put64(cnt + 24, r->bytes[1]);
	attr(w, SYNC_XTA_COUNTERS, cnt, sizeof(cnt));
	attr8(w, SYNC_XTA_REC_FLAGS, r->flags);
	/* GRE's keys: conntrackd's format has no place for them. */
	if (!has_ports(r->orig.proto) && !is_icmp(r->orig.proto) &&
	    (r->orig.sport != 0 || r->orig.dport != 0)) {
		uint8_t keys[4];

		put16(keys, r->orig.sport);
		put16(keys + 2, r->orig.dport);
		attr(w, SYNC_XTA_KEYS, keys, sizeof(keys));
	}
}

int
sync_encode_rec(const struct ct_event_rec *r, uint32_t seq, uint8_t flags, bool ext,
		uint8_t *buf, size_t cap)
{
	uint8_t type;

	if (r == NULL)
		return -EINVAL;
	if (r->events & CT_EV_DESTROY)
		type = SYNC_T_CT_DEL;
	else if (r->events & CT_EV_NEW)
		type = SYNC_T_CT_NEW;
	else
		type = SYNC_T_CT_UPD;
	return sync_encode_rec_as(r, type, seq, flags, ext, buf, cap);
}

int
sync_encode_rec_as(const struct ct_event_rec *r, uint8_t type, uint32_t seq, uint8_t flags,
		   bool ext, uint8_t *buf, size_t cap)
{
	const struct ct_tuple *o;
	struct wr w = { .b = buf, .cap = cap, .len = SYNC_HDR_LEN };
	uint8_t addrs[32], ports[4];
	size_t alen, first;

	if (r == NULL || buf == NULL || type > SYNC_T_CT_DEL)
		return -EINVAL;
	/* An expectation (CT_REC_F_EXP) is no connection: nothing to sync. */
	if (r->flags & CT_REC_F_EXP)
		return -EINVAL;
	o = &r->orig;
	if (o->family != 4 && o->family != 6)
		return -EINVAL;
	if (cap < SYNC_HDR_LEN)
		return -ENOSPC;
	alen = o->family == 4 ? 4 : 16;

	memcpy(addrs, o->src, alen);
	memcpy(addrs + alen, o->dst, alen);
	attr(&w, o->family == 4 ? SYNC_NTA_IPV4 : SYNC_NTA_IPV6, addrs, (uint16_t)(2 * alen));
	attr32(&w, SYNC_NTA_STATUS, r->status);
	attr8(&w, SYNC_NTA_L4PROTO, o->proto);
	if (has_ports(o->proto)) {
		put16(ports, o->sport);
		put16(ports + 2, o->dport);
		attr(&w, SYNC_NTA_PORT, ports, 4);
	}
	if (o->proto == IPPROTO_TCP) {
		attr8(&w, SYNC_NTA_TCP_STATE, r->tcp_state);
		attr8(&w, SYNC_NTA_WSCALE_ORIG, r->tcp_wscale[0]);
		attr8(&w, SYNC_NTA_WSCALE_REPL, r->tcp_wscale[1]);
	} else if (o->proto == IPPROTO_SCTP) {
		/* As conntrackd's build_l4proto_sctp(): the state and both tags. */
		attr8(&w, SYNC_NTA_SCTP_STATE, r->tcp_state);
		attr32(&w, SYNC_NTA_SCTP_VTAG_ORIG, r->sctp_vtag[0]);
		attr32(&w, SYNC_NTA_SCTP_VTAG_REPL, r->sctp_vtag[1]);
	} else if (is_icmp(o->proto)) {
		attr8(&w, SYNC_NTA_ICMP_TYPE, (uint8_t)o->dport);
		attr8(&w, SYNC_NTA_ICMP_CODE, (uint8_t)(o->dport >> 8));
		attr16_le(&w, SYNC_NTA_ICMP_ID, o->sport);
	}
	if (type != SYNC_T_CT_DEL)
		attr32(&w, SYNC_NTA_TIMEOUT, r->timeout_s);
	if (r->mark != 0)
		attr32(&w, SYNC_NTA_MARK, r->mark);
	encode_nat(&w, r);
	if (w.err)
		return -ENOSPC;
	hdr(buf, type, flags, (uint16_t)w.len, seq);
	if (!ext)
		return (int)w.len;

	first = w.len;
	if (first + SYNC_HDR_LEN > cap)
		return -ENOSPC;
	w.len += SYNC_HDR_LEN;
	encode_ext(&w, r);
	if (w.err)
		return -ENOSPC;
	hdr(buf + first, SYNC_T_DPCT_EXT, 0, (uint16_t)(w.len - first), seq);
	return (int)w.len;
}

int
sync_encode_ctl(uint8_t flags, uint32_t seq, uint32_t from, uint32_t to, uint8_t *buf,
		size_t cap)
{
	bool range = flags & (SYNC_F_ACK | SYNC_F_NACK | SYNC_F_RESYNC);
	size_t len = range ? SYNC_ACK_LEN : SYNC_HDR_LEN;

	if (buf == NULL || !(flags & (SYNC_F_ACK | SYNC_F_NACK | SYNC_F_RESYNC | SYNC_F_ALIVE)))
		return -EINVAL;
	if (cap < len)
		return -ENOSPC;
	hdr(buf, SYNC_T_CTL, flags, (uint16_t)len, seq);
	if (range) {
		put32(buf + 8, from);
		put32(buf + 12, to);
	}
	return (int)len;
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                  */

/* Expected value sizes of the standard attributes dpct reads; 0 = any (skipped). */
static const uint8_t nta_size[SYNC_NTA_MAX] = {
	[SYNC_NTA_IPV4] = 8, [SYNC_NTA_IPV6] = 32, [SYNC_NTA_L4PROTO] = 1,
	[SYNC_NTA_PORT] = 4, [SYNC_NTA_TCP_STATE] = 1, [SYNC_NTA_STATUS] = 4,
	[SYNC_NTA_TIMEOUT] = 4, [SYNC_NTA_MARK] = 4, [SYNC_NTA_SNAT_IPV4] = 4,
	[SYNC_NTA_DNAT_IPV4] = 4, [SYNC_NTA_SPAT_PORT] = 2, [SYNC_NTA_DPAT_PORT] = 2,
	[SYNC_NTA_ICMP_TYPE] = 1, [SYNC_NTA_ICMP_CODE] = 1, [SYNC_NTA_ICMP_ID] = 2,
	[SYNC_NTA_WSCALE_ORIG] = 1, [SYNC_NTA_WSCALE_REPL] = 1, [SYNC_NTA_SNAT_IPV6] = 16,
	[SYNC_NTA_DNAT_IPV6] = 16, [SYNC_NTA_SCTP_STATE] = 1, [SYNC_NTA_SCTP_VTAG_ORIG] = 4,
	[SYNC_NTA_SCTP_VTAG_REPL] = 4,
};

/* What was present, to build the reply tuple once every attribute is read. */
struct dec {
	uint32_t seen;            /* bit per NTA */
	uint8_t nat_src[16];      /* SNAT address: reply destination */
	uint8_t nat_dst[16];      /* DNAT address: reply source */
	uint16_t spat, dpat;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id;
	uint8_t sctp_state;
};

static void
nta_value(struct sync_entry *e, struct dec *d, uint16_t type, const uint8_t *v)
{
	switch (type) {
	case SYNC_NTA_IPV4:
		e->orig.family = 4;
		memcpy(e->orig.src, v, 4);
		memcpy(e->orig.dst, v + 4, 4);
		break;
	case SYNC_NTA_IPV6:
		e->orig.family = 6;
		memcpy(e->orig.src, v, 16);
		memcpy(e->orig.dst, v + 16, 16);
		break;
	case SYNC_NTA_L4PROTO: e->orig.proto = v[0]; break;
	case SYNC_NTA_PORT:
		e->orig.sport = get16(v);
		e->orig.dport = get16(v + 2);
		break;
	case SYNC_NTA_TCP_STATE: e->tcp_state = v[0]; break;
	case SYNC_NTA_STATUS: e->status = get32(v); break;
	case SYNC_NTA_TIMEOUT:
		e->timeout_s = get32(v);
		e->has_timeout = true;
		break;
	case SYNC_NTA_MARK: e->mark = get32(v); break;
	case SYNC_NTA_SNAT_IPV4:
		d->nat_src[0] = v[3], d->nat_src[1] = v[2], d->nat_src[2] = v[1];
		d->nat_src[3] = v[0];
		break;
	case SYNC_NTA_DNAT_IPV4:
		d->nat_dst[0] = v[3], d->nat_dst[1] = v[2], d->nat_dst[2] = v[1];
		d->nat_dst[3] = v[0];
		break;
	case SYNC_NTA_SNAT_IPV6: memcpy(d->nat_src, v, 16); break;
	case SYNC_NTA_DNAT_IPV6: memcpy(d->nat_dst, v, 16); break;
	case SYNC_NTA_SPAT_PORT: d->spat = get16_le(v); break;
	case SYNC_NTA_DPAT_PORT: d->dpat = get16_le(v); break;
	case SYNC_NTA_ICMP_TYPE: d->icmp_type = v[0]; break;
	case SYNC_NTA_ICMP_CODE: d->icmp_code = v[0]; break;
	case SYNC_NTA_ICMP_ID: d->icmp_id = get16_le(v); break;
	case SYNC_NTA_WSCALE_ORIG: e->wscale[0] = v[0]; break;
	case SYNC_NTA_WSCALE_REPL: e->wscale[1] = v[0]; break;
	case SYNC_NTA_SCTP_STATE: d->sctp_state = v[0]; break;
	case SYNC_NTA_SCTP_VTAG_ORIG: e->sctp_vtag[0] = get32(v); break;
	case SYNC_NTA_SCTP_VTAG_REPL: e->sctp_vtag[1] = get32(v); break;
	default: break;
	}
}

#define SEEN(d, t) ((d)->seen & (1u << (t)))

static int
ext_value(struct sync_entry *e, uint16_t type, const uint8_t *v, size_t vlen)
{
	size_t alen = e->orig.family == 4 ? 4 : 16;

	switch (type) {
	case SYNC_XTA_ID:
		if (vlen != 4)
			return -EBADMSG;
		e->id = get32(v);
		break;
	case SYNC_XTA_ZONE:
		if (vlen != 2)
			return -EBADMSG;
		e->orig.zone = get16(v);
		break;
	case SYNC_XTA_EVENTS:
		if (vlen != 2)
			return -EBADMSG;
		e->events = get16(v);
		break;
	case SYNC_XTA_TCP_FLAGS:
		if (vlen != 2)
			return -EBADMSG;
		e->dflags[0] = v[0];
		e->dflags[1] = v[1];
		break;
	case SYNC_XTA_REPLY:
		if (vlen != 2 * alen + 4)
			return -EBADMSG;
		memcpy(e->reply.src, v, alen);
		memcpy(e->reply.dst, v + alen, alen);
		e->reply.sport = get16(v + 2 * alen);
		e->reply.dport = get16(v + 2 * alen + 2);
		break;
	case SYNC_XTA_COUNTERS:
		if (vlen != 32)
			return -EBADMSG;
		e->pkts[0] = get64(v);
		e->pkts[1] = get64(v + 8);
		e->bytes[0] = get64(v + 16);
		e->bytes[1] = get64(v + 24);
		break;
	case SYNC_XTA_REC_FLAGS:
		if (vlen != 1)
			return -EBADMSG;
		e->rec_flags = v[0];
		break;
	case SYNC_XTA_KEYS:
		if (vlen != 4)
			return -EBADMSG;
		/* Only where the data message could carry no ports. */
		if (!has_ports(e->orig.proto) && !is_icmp(e->orig.proto)) {
			e->orig.sport = get16(v);
			e->orig.dport = get16(v + 2);
		}
		break;
	default:
		break;    /* a later dpct's attribute: skipped */
	}
	return 0;
}

/* Walk the attributes of [p, end): 0 or -EBADMSG. `ext` picks the numbering. */
static int
walk_attrs(const uint8_t *p, const uint8_t *end, bool ext, struct sync_entry *e, struct dec *d)
{
	while (end - p >= 4) {
		uint16_t alen = get16(p), type = get16(p + 2);
		size_t vlen, step;

		if (alen < 4 || alen > end - p)
			return -EBADMSG;
		vlen = alen - 4u;
		step = (alen + 3u) & ~3u;
		if (ext) {
			if (ext_value(e, type, p + 4, vlen) < 0)
				return -EBADMSG;
		} else {
			if (type >= SYNC_NTA_MAX)
				return -EBADMSG;
			if (nta_size[type] != 0) {
				if (vlen != nta_size[type])
					return -EBADMSG;
				nta_value(e, d, type, p + 4);
				d->seen |= 1u << type;
			}
		}
		if (step > (size_t)(end - p))
			break;    /* last attribute, padding cut: conntrackd accepts it too */
		p += step;
	}
	return 0;
}

/* The tuples from what a data message held: 0, or -EBADMSG when incomplete. */
static int
finish_entry(struct sync_entry *e, const struct dec *d)
{
	struct ct_tuple *o = &e->orig, *r = &e->reply;
	size_t alen;

	if (!SEEN(d, SYNC_NTA_IPV4) == !SEEN(d, SYNC_NTA_IPV6) || !SEEN(d, SYNC_NTA_L4PROTO))
		return -EBADMSG;
	if (has_ports(o->proto) && !SEEN(d, SYNC_NTA_PORT))
		return -EBADMSG;
	if (is_icmp(o->proto)) {
		if (!SEEN(d, SYNC_NTA_ICMP_TYPE) || !SEEN(d, SYNC_NTA_ICMP_ID))
			return -EBADMSG;
		o->sport = d->icmp_id;
		o->dport = (uint16_t)(d->icmp_type | d->icmp_code << 8);
	}
	if (!has_ports(o->proto) && !is_icmp(o->proto))
		o->sport = o->dport = 0;
	if (o->proto != IPPROTO_TCP) {
		/* Protocol-specific attributes of another protocol mean nothing. */
		e->tcp_state = 0;
		e->wscale[0] = e->wscale[1] = 0;
	}
	if (o->proto == IPPROTO_SCTP)
		e->tcp_state = d->sctp_state;
	else
		e->sctp_vtag[0] = e->sctp_vtag[1] = 0;
	alen = o->family == 4 ? 4 : 16;
	memset(r, 0, sizeof(*r));
	memcpy(r->src, o->dst, alen);
	memcpy(r->dst, o->src, alen);
	r->sport = o->dport;
	r->dport = o->sport;
	r->proto = o->proto;
	r->family = o->family;
	if (SEEN(d, SYNC_NTA_SNAT_IPV4) || SEEN(d, SYNC_NTA_SNAT_IPV6))
		memcpy(r->dst, d->nat_src, alen);
	if (SEEN(d, SYNC_NTA_DNAT_IPV4) || SEEN(d, SYNC_NTA_DNAT_IPV6))
		memcpy(r->src, d->nat_dst, alen);
	if (SEEN(d, SYNC_NTA_SPAT_PORT))
		r->dport = d->spat;
	if (SEEN(d, SYNC_NTA_DPAT_PORT))
		r->sport = d->dpat;
	return 0;
}

static int
decode_data(const uint8_t *p, uint16_t mlen, struct sync_msg *m)
{
	struct dec d;

	memset(&d, 0, sizeof(d));
	memset(&m->e, 0, sizeof(m->e));
	if (walk_attrs(p + SYNC_HDR_LEN, p + mlen, false, &m->e, &d) < 0)
		return -EBADMSG;
	if ((m->e.orig.family != 4 && m->e.orig.family != 6) || finish_entry(&m->e, &d) < 0)
		return -EBADMSG;
	return 0;
}

static int
merge_ext(const uint8_t *p, uint16_t mlen, struct sync_msg *m)
{
	struct sync_entry e = m->e;

	if (walk_attrs(p + SYNC_HDR_LEN, p + mlen, true, &e, NULL) < 0)
		return -EBADMSG;
	e.reply.zone = e.orig.zone;
	e.has_ext = true;
	m->e = e;
	return 0;
}

unsigned
sync_parse(const uint8_t *buf, size_t len, sync_msg_cb cb, void *arg,
	   struct sync_rx_errors *err)
{
	struct sync_msg pend;
	bool have = false;
	unsigned n = 0;
	size_t off = 0;

	if (buf == NULL || cb == NULL || err == NULL)
		return 0;
	while (off < len) {
		const uint8_t *p = buf + off;
		size_t remain = len - off;
		struct sync_msg m;
		uint16_t mlen;

		if (remain < SYNC_HDR_LEN) {
			err->truncated++;
			break;
		}
		mlen = get16(p + 2);
		if (mlen < SYNC_HDR_LEN || mlen > remain) {
			err->bad_size++;
			break;
		}
		off += mlen;
		memset(&m, 0, offsetof(struct sync_msg, e));
		m.version = p[0] >> 4;
		m.type = p[0] & 0x0f;
		m.flags = p[1];
		m.len = mlen;
		m.seq = get32(p + 4);
		if (m.version != SYNC_PROTO_VERSION) {
			err->bad_version++;
			continue;
		}
		if (m.type == SYNC_T_DPCT_EXT) {
			if (!have || pend.seq != m.seq) {
				err->orphan_ext++;
				continue;
			}
			if (merge_ext(p, mlen, &pend) < 0)
				err->bad_payload++;
			cb(arg, &pend);
			n++;
			have = false;
			continue;
		}
		if (have) {
			cb(arg, &pend);
			n++;
			have = false;
		}
		if (m.type == SYNC_T_CTL) {
			if (m.flags & (SYNC_F_ACK | SYNC_F_NACK | SYNC_F_RESYNC)) {
				if (mlen < SYNC_ACK_LEN) {
					err->bad_size++;
					continue;
				}
				m.from = get32(p + 8);
				m.to = get32(p + 12);
				if ((m.flags & (SYNC_F_ACK | SYNC_F_NACK)) &&
				    sync_seq_before(m.to, m.from)) {
					err->bad_header++;
					continue;
				}
			} else if (!(m.flags & SYNC_F_ALIVE)) {
				err->bad_header++;
				continue;
			}
			cb(arg, &m);
			n++;
		} else if (m.type <= SYNC_T_EXP_DEL) {
			if (m.flags & ~(SYNC_F_HELLO | SYNC_F_HELLO_BACK)) {
				err->bad_header++;
				continue;
			}
			if (m.type >= SYNC_T_EXP_NEW) {
				/* Expectations: sequenced, not tracked by dpct. */
				cb(arg, &m);
				n++;
				continue;
			}
			if (decode_data(p, mlen, &m) < 0) {
				/* Sequenced all the same, as conntrackd does: no NACK loop. */
				err->bad_payload++;
				cb(arg, &m);
				n++;
				continue;
			}
			m.data = true;
			pend = m;
			have = true;
		} else {
			err->bad_type++;
		}
	}
	if (have) {
		cb(arg, &pend);
		n++;
	}
	return n;
}
