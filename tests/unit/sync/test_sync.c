/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/sync: the conntrackd wire format (layout of each attribute as
 * conntrackd's parser checks it), round trips of records through the
 * encoder and the decoder, every kind of malformed input counted in its
 * own counter, and the FTFW state (gaps, NACK, resend with a new sequence
 * number, ACK windows, HELLO).
 */
#include <errno.h>
#include <netinet/in.h>

#include "dpct_test.h"
#include "sync.h"

static void
v4(uint8_t *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	a[0] = x, a[1] = y, a[2] = z, a[3] = w;
}

/* An IPv4 connection src:sport -> dst:dport of `proto`, its reply the reverse, confirmed, NEW. */
static struct ct_event_rec
rec4(uint8_t proto, const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport,
     uint32_t timeout_s)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = 4;
	r.orig.proto = proto;
	memcpy(r.orig.src, src, 4);
	memcpy(r.orig.dst, dst, 4);
	r.orig.sport = sport;
	r.orig.dport = dport;
	r.reply = r.orig;
	memcpy(r.reply.src, dst, 4);
	memcpy(r.reply.dst, src, 4);
	r.reply.sport = dport;
	r.reply.dport = sport;
	r.status = CT_S_CONFIRMED;
	r.timeout_s = timeout_s;
	r.events = CT_EV_NEW;
	return r;
}

static struct ct_event_rec
rec_tcp4(void)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = 4;
	r.orig.proto = IPPROTO_TCP;
	v4(r.orig.src, 10, 0, 0, 1);
	v4(r.orig.dst, 10, 0, 0, 2);
	r.orig.sport = 40000;
	r.orig.dport = 80;
	r.orig.zone = 7;
	r.reply = r.orig;
	v4(r.reply.src, 10, 0, 0, 2);
	v4(r.reply.dst, 10, 0, 0, 1);
	r.reply.sport = 80;
	r.reply.dport = 40000;
	r.status = CT_S_CONFIRMED | CT_S_SEEN_REPLY | CT_S_ASSURED;
	r.tcp_state = CT_TCP_ESTABLISHED;
	r.timeout_s = 431999;
	r.events = CT_EV_NEW;
	r.id = 0xabcdef01;
	r.mark = 0x55;
	r.tcp_wscale[0] = 7;
	r.tcp_wscale[1] = 9;
	r.tcp_dflags[0] = 0x23;
	r.tcp_dflags[1] = 0x21;
	r.pkts[0] = 3, r.pkts[1] = 2, r.bytes[0] = 180, r.bytes[1] = 1500;
	return r;
}

static struct ct_event_rec
rec_udp6_dnat(void)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = 6;
	r.orig.proto = IPPROTO_UDP;
	r.orig.src[0] = 0x20, r.orig.src[15] = 1;
	r.orig.dst[0] = 0x20, r.orig.dst[15] = 2;
	r.orig.sport = 5353;
	r.orig.dport = 53;
	r.reply = r.orig;
	memcpy(r.reply.dst, r.orig.src, 16);
	memset(r.reply.src, 0, 16);
	r.reply.src[0] = 0xfd, r.reply.src[15] = 9;
	r.reply.sport = 5300;
	r.reply.dport = 5353;
	r.status = CT_S_CONFIRMED | CT_S_DST_NAT | CT_S_DST_NAT_DONE;
	r.timeout_s = 30;
	r.events = 0;
	return r;
}

static struct ct_event_rec
rec_snat4_destroy(void)
{
	struct ct_event_rec r = rec_tcp4();

	r.status |= CT_S_SRC_NAT | CT_S_SRC_NAT_DONE;
	v4(r.reply.dst, 192, 0, 2, 33);
	r.reply.dport = 61000;
	r.events = CT_EV_DESTROY;
	r.tcp_state = CT_TCP_TIME_WAIT;
	return r;
}

static struct ct_event_rec
rec_icmp4(void)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = 4;
	r.orig.proto = IPPROTO_ICMP;
	v4(r.orig.src, 1, 2, 3, 4);
	v4(r.orig.dst, 5, 6, 7, 8);
	r.orig.sport = 0x1234;    /* id */
	r.orig.dport = 8;         /* echo request, code 0 */
	r.reply = r.orig;
	memcpy(r.reply.src, r.orig.dst, 4);
	memcpy(r.reply.dst, r.orig.src, 4);
	r.reply.sport = 8;
	r.reply.dport = 0x1234;
	r.status = CT_S_CONFIRMED;
	r.timeout_s = 30;
	r.events = CT_EV_NEW;
	return r;
}

/* An SCTP association: its state and both verification tags travel. */
static struct ct_event_rec
rec_sctp4(void)
{
	static const uint8_t a[4] = { 10, 0, 0, 7 }, b[4] = { 10, 0, 0, 8 };
	struct ct_event_rec r = rec4(IPPROTO_SCTP, a, b, 36412, 38412, 210);

	r.status |= CT_S_SEEN_REPLY | CT_S_ASSURED;
	r.tcp_state = 4;            /* SCTP_CONNTRACK_ESTABLISHED */
	r.sctp_vtag[0] = 0xa1b2c3d4;
	r.sctp_vtag[1] = 0x01020304;
	return r;
}

/* A PPTP GRE flow: its call IDs are the tuple's keys (in sport, dport). */
static struct ct_event_rec
rec_gre4(void)
{
	static const uint8_t a[4] = { 10, 0, 0, 9 }, b[4] = { 10, 0, 0, 10 };
	struct ct_event_rec r = rec4(IPPROTO_GRE, a, b, 0, 0x4001, 30);

	r.status |= CT_S_SEEN_REPLY;
	return r;
}

struct got {
	struct sync_msg m[8];
	unsigned n;
};

static void
collect(void *arg, const struct sync_msg *m)
{
	struct got *g = arg;

	if (g->n < 8)
		g->m[g->n++] = *m;
}

static int
same_tuple(const struct ct_tuple *a, const struct ct_tuple *b)
{
	size_t alen = a->family == 4 ? 4 : 16;

	return a->family == b->family && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport && a->zone == b->zone && memcmp(a->src, b->src, alen) == 0 &&
	       memcmp(a->dst, b->dst, alen) == 0;
}

/* Each record through the encoder and the decoder, with and without the extension. */
static int
test_round_trip(void)
{
	struct ct_event_rec recs[] = { rec_tcp4(), rec_udp6_dnat(), rec_snat4_destroy(),
				       rec_icmp4(), rec_sctp4(), rec_gre4() };
	const uint8_t types[] = { SYNC_T_CT_NEW, SYNC_T_CT_UPD, SYNC_T_CT_DEL, SYNC_T_CT_NEW,
				  SYNC_T_CT_NEW, SYNC_T_CT_NEW };
	size_t i;
	int ext;

	for (ext = 0; ext <= 1; ext++) {
		for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
			struct ct_event_rec *r = &recs[i];
			struct sync_rx_errors err = { 0 };
			uint8_t buf[SYNC_MSG_MAX];
			struct got g = { .n = 0 };
			const struct sync_entry *e;
			int len;

			len = sync_encode_rec(r, 1000 + (uint32_t)i, SYNC_F_HELLO, ext, buf,
					      sizeof(buf));
			T_ASSERT(len > 0);
			T_EQ(sync_parse(buf, (size_t)len, collect, &g, &err), 1);
			T_EQ(err.bad_payload + err.bad_size + err.orphan_ext, 0);
			T_EQ(g.m[0].type, types[i]);
			T_EQ(g.m[0].seq, 1000 + i);
			T_EQ(g.m[0].flags, SYNC_F_HELLO);
			T_ASSERT(g.m[0].data);
			e = &g.m[0].e;
			T_EQ(e->has_ext, ext);
			T_EQ(e->status, r->status);
			if (r->orig.proto == IPPROTO_TCP) {
				T_EQ(e->tcp_state, r->tcp_state);
				T_EQ(e->wscale[0], r->tcp_wscale[0]);
				T_EQ(e->wscale[1], r->tcp_wscale[1]);
			}
			if (r->orig.proto == IPPROTO_SCTP) {
				T_EQ(e->tcp_state, r->tcp_state);
				T_UEQ(e->sctp_vtag[0], r->sctp_vtag[0]);
				T_UEQ(e->sctp_vtag[1], r->sctp_vtag[1]);
			} else {
				T_EQ(e->sctp_vtag[0], 0);
				T_EQ(e->sctp_vtag[1], 0);
			}
			T_EQ(e->mark, r->mark);
			if (types[i] != SYNC_T_CT_DEL) {
				T_ASSERT(e->has_timeout);
				T_EQ(e->timeout_s, r->timeout_s);
			}
			if (ext) {
				T_ASSERT(same_tuple(&e->orig, &r->orig));
				T_ASSERT(same_tuple(&e->reply, &r->reply));
				T_EQ(e->id, r->id);
				T_EQ(e->events, r->events);
				T_EQ(e->dflags[0], r->tcp_dflags[0]);
				T_UEQ(e->bytes[1], r->bytes[1]);
				T_UEQ(e->pkts[0], r->pkts[0]);
			} else {
				/* conntrackd carries no zone, nor GRE's keys: everything but them. */
				struct ct_tuple o = r->orig, rp = r->reply;

				o.zone = rp.zone = 0;
				if (o.proto == IPPROTO_GRE)
					o.sport = o.dport = rp.sport = rp.dport = 0;
				T_ASSERT(same_tuple(&e->orig, &o));
				T_ASSERT(same_tuple(&e->reply, &rp));
				T_EQ(e->id, 0);
			}
		}
	}
	return 0;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The layout conntrackd's msg2ct() checks: every attribute's exact length. */
static int
test_wire_layout(void)
{
	static const struct { uint16_t type, len; } want[] = {
		{ SYNC_NTA_IPV4, 12 }, { SYNC_NTA_STATUS, 8 }, { SYNC_NTA_L4PROTO, 5 },
		{ SYNC_NTA_PORT, 8 }, { SYNC_NTA_TCP_STATE, 5 }, { SYNC_NTA_WSCALE_ORIG, 5 },
		{ SYNC_NTA_WSCALE_REPL, 5 }, { SYNC_NTA_TIMEOUT, 8 }, { SYNC_NTA_MARK, 8 },
		{ SYNC_NTA_SNAT_IPV4, 8 }, { SYNC_NTA_SPAT_PORT, 6 },
	};
	struct ct_event_rec r = rec_snat4_destroy();
	uint8_t buf[SYNC_MSG_MAX];
	size_t off = SYNC_HDR_LEN, i;
	int len;

	r.events = CT_EV_NEW;
	len = sync_encode_rec(&r, 0x01020304, 0, false, buf, sizeof(buf));
	T_ASSERT(len > 0);
	T_EQ(buf[0], 0x10 | SYNC_T_CT_NEW);   /* version 1 in the high nibble */
	T_EQ(rd16(buf + 2), len);
	T_EQ(buf[4], 1);
	T_EQ(buf[7], 4);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		T_ASSERT(off + 4 <= (size_t)len);
		T_EQ(rd16(buf + off + 2), want[i].type);
		T_EQ(rd16(buf + off), want[i].len);
		off += (want[i].len + 3u) & ~3u;
	}
	T_EQ(off, len);
	/* Ports in network order, the SNAT address and port byte-reversed as conntrackd on
	 * x86 sends them. */
	T_EQ(rd16(buf + 8 + 12 + 8 + 8 + 4), 40000);
	T_EQ(buf[len - 4], 61000 & 0xff);
	T_EQ(buf[len - 3], 61000 >> 8);
	T_EQ(buf[len - 8 - 4 + 0], 33);
	T_EQ(buf[len - 8 - 4 + 3], 192);
	/* Control messages. */
	T_EQ(sync_encode_ctl(SYNC_F_NACK, 9, 3, 5, buf, sizeof(buf)), SYNC_ACK_LEN);
	T_EQ(buf[0], 0x10 | SYNC_T_CTL);
	T_EQ(buf[1], SYNC_F_NACK);
	T_EQ(buf[11], 3);
	T_EQ(buf[15], 5);
	T_EQ(sync_encode_ctl(SYNC_F_ALIVE, 9, 0, 0, buf, sizeof(buf)), SYNC_HDR_LEN);
	T_EQ(sync_encode_ctl(0, 9, 0, 0, buf, sizeof(buf)), -EINVAL);
	T_EQ(sync_encode_ctl(SYNC_F_ACK, 9, 0, 0, buf, 15), -ENOSPC);
	T_EQ(sync_encode_rec(&r, 1, 0, true, buf, 40), -ENOSPC);
	/* An expectation record is no connection: never a sync message. */
	r.flags |= CT_REC_F_EXP;
	T_EQ(sync_encode_rec(&r, 1, 0, true, buf, sizeof(buf)), -EINVAL);
	T_EQ(sync_encode_rec_as(&r, SYNC_T_CT_UPD, 1, 0, false, buf, sizeof(buf)), -EINVAL);
	r.flags &= (uint8_t)~CT_REC_F_EXP;
	T_ASSERT(sync_encode_rec(&r, 1, 0, true, buf, sizeof(buf)) > 0);
	r.orig.family = 5;
	T_EQ(sync_encode_rec(&r, 1, 0, true, buf, sizeof(buf)), -EINVAL);
	/*
	 * SCTP as conntrackd's build_l4proto_sctp() writes it after the ports:
	 * the state (u8), then the tags as ct_build_u32() puts them, htonl()
	 * of libnetfilter_conntrack's host-order value: network order.
	 */
	{
		static const struct { uint16_t type, len; } sctp[] = {
			{ SYNC_NTA_IPV4, 12 }, { SYNC_NTA_STATUS, 8 }, { SYNC_NTA_L4PROTO, 5 },
			{ SYNC_NTA_PORT, 8 }, { SYNC_NTA_SCTP_STATE, 5 },
			{ SYNC_NTA_SCTP_VTAG_ORIG, 8 }, { SYNC_NTA_SCTP_VTAG_REPL, 8 },
			{ SYNC_NTA_TIMEOUT, 8 },
		};
		struct ct_event_rec s = rec_sctp4();
		size_t at[8];

		len = sync_encode_rec(&s, 7, 0, false, buf, sizeof(buf));
		T_ASSERT(len > 0);
		off = SYNC_HDR_LEN;
		for (i = 0; i < sizeof(sctp) / sizeof(sctp[0]); i++) {
			T_ASSERT(off + 4 <= (size_t)len);
			T_EQ(rd16(buf + off + 2), sctp[i].type);
			T_EQ(rd16(buf + off), sctp[i].len);
			at[i] = off + 4;
			off += (sctp[i].len + 3u) & ~3u;
		}
		T_EQ(off, len);
		T_EQ(buf[at[4]], 4);
		T_EQ(buf[at[5]], 0xa1);
		T_EQ(buf[at[5] + 3], 0xd4);
		T_EQ(buf[at[6]], 0x01);
		T_EQ(buf[at[6] + 3], 0x04);
	}
	return 0;
}

enum which { W_TRUNC, W_SIZE, W_VERSION, W_PAYLOAD, W_TYPE, W_HEADER, W_ORPHAN, W_NONE };

static uint64_t
counter(const struct sync_rx_errors *e, enum which w)
{
	switch (w) {
	case W_TRUNC: return e->truncated;
	case W_SIZE: return e->bad_size;
	case W_VERSION: return e->bad_version;
	case W_PAYLOAD: return e->bad_payload;
	case W_TYPE: return e->bad_type;
	case W_HEADER: return e->bad_header;
	case W_ORPHAN: return e->orphan_ext;
	default: return 0;
	}
}

/* A good message, then one mutation per case; the counter it must land in. */
static int
test_malformed(void)
{
	static const struct {
		const char *name;
		enum which w;
		unsigned msgs;    /* messages still handed over */
	} cases[] = {
		{ "short datagram", W_TRUNC, 0 },
		{ "length below header", W_SIZE, 0 },
		{ "length past datagram", W_SIZE, 0 },
		{ "version 0", W_VERSION, 0 },
		{ "attribute length 2", W_PAYLOAD, 1 },
		{ "attribute past message", W_PAYLOAD, 1 },
		{ "unknown attribute 40", W_PAYLOAD, 1 },
		{ "status 3 bytes", W_PAYLOAD, 1 },
		{ "no ports", W_PAYLOAD, 1 },
		{ "type 12", W_TYPE, 0 },
		{ "ack to before from", W_HEADER, 0 },
		{ "ctl without flag", W_HEADER, 0 },
		{ "extension alone", W_ORPHAN, 0 },
		{ "data with ACK flag", W_HEADER, 0 },
	};
	struct ct_event_rec r = rec_tcp4();
	uint8_t good[SYNC_MSG_MAX], buf[SYNC_MSG_MAX];
	int glen, dlen;
	size_t i;

	glen = sync_encode_rec(&r, 77, 0, true, good, sizeof(good));
	T_ASSERT(glen > 0);
	dlen = rd16(good + 2);    /* the data message without the extension */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sync_rx_errors err = { 0 };
		struct got g = { .n = 0 };
		size_t len = (size_t)dlen;
		unsigned n;

		memcpy(buf, good, (size_t)glen);
		switch (i) {
		case 0: len = 5; break;
		case 1: buf[2] = 0, buf[3] = 4; break;
		case 2: buf[2] = 0x7f; break;
		case 3: buf[0] &= 0x0f; break;
		case 4: buf[8] = 0, buf[9] = 2; break;
		case 5: buf[8] = 0x0f; break;
		case 6: buf[10] = 0, buf[11] = 40; break;
		case 7: buf[20] = 0, buf[21] = 7; break;   /* STATUS at 20 */
		case 8: buf[39] = 27; break;                /* PORT -> a helper name */
		case 9: buf[0] = 0x1c; break;
		case 10:
			len = (size_t)sync_encode_ctl(SYNC_F_ACK, 1, 10, 5, buf, sizeof(buf));
			break;
		case 11: buf[0] = 0x10 | SYNC_T_CTL, buf[1] = 0, len = SYNC_HDR_LEN;
			buf[2] = 0, buf[3] = 8; break;
		case 12:
			memmove(buf, good + dlen, (size_t)(glen - dlen));
			len = (size_t)(glen - dlen);
			break;
		case 13: buf[1] = SYNC_F_ACK; break;
		}
		n = sync_parse(buf, len, collect, &g, &err);
		if (n != cases[i].msgs || counter(&err, cases[i].w) != 1) {
			printf("# case \"%s\": %u messages, counter %" PRIu64 "\n", cases[i].name,
			       n, counter(&err, cases[i].w));
			return 1;
		}
		if (n == 1)
			T_ASSERT(!g.m[0].data);   /* sequenced, not applied */
	}
	return 0;
}

/* Several messages in one datagram; a bad extension leaves its data message usable. */
static int
test_datagram(void)
{
	struct ct_event_rec a = rec_tcp4(), b = rec_icmp4();
	struct sync_rx_errors err = { 0 };
	struct got g = { .n = 0 };
	uint8_t buf[3 * SYNC_MSG_MAX];
	int l1, l2, l3;

	l1 = sync_encode_rec(&a, 5, 0, true, buf, SYNC_MSG_MAX);
	l2 = sync_encode_ctl(SYNC_F_ACK, 6, 1, 4, buf + l1, SYNC_MSG_MAX);
	l3 = sync_encode_rec(&b, 7, 0, true, buf + l1 + l2, SYNC_MSG_MAX);
	T_ASSERT(l1 > 0 && l2 > 0 && l3 > 0);
	T_EQ(sync_parse(buf, (size_t)(l1 + l2 + l3), collect, &g, &err), 3);
	T_ASSERT(g.m[0].data && g.m[0].e.has_ext);
	T_EQ(g.m[1].type, SYNC_T_CTL);
	T_EQ(g.m[1].from, 1);
	T_EQ(g.m[1].to, 4);
	T_EQ(g.m[2].e.orig.proto, IPPROTO_ICMP);
	T_EQ(g.m[2].e.orig.sport, 0x1234);
	/* Break the first extension's ID attribute: data kept, extension dropped. */
	g.n = 0;
	buf[rd16(buf + 2) + 8 + 1] = 9;
	T_EQ(sync_parse(buf, (size_t)l1, collect, &g, &err), 1);
	T_EQ(err.bad_payload, 1);
	T_ASSERT(g.m[0].data && !g.m[0].e.has_ext);
	return 0;
}

static struct sync_msg
msg(uint32_t seq, uint8_t flags)
{
	struct sync_msg m;

	memset(&m, 0, sizeof(m));
	m.version = 1;
	m.type = SYNC_T_CT_UPD;
	m.seq = seq;
	m.flags = flags;
	return m;
}

/* Receiver: table of arrivals with the verdict and control messages each gives. */
static int
test_ftfw_rx(void)
{
	static const struct {
		uint32_t seq;
		uint8_t flags;
		uint8_t verdict;
		unsigned n_ctl;
		uint8_t c0;
		uint32_t from0, to0;
		uint8_t c1;
		uint32_t from1, to1;
	} steps[] = {
		{ 100, SYNC_F_HELLO, SYNC_RX_ACCEPT, 0, 0, 0, 0, 0, 0, 0 },
		{ 101, 0, SYNC_RX_ACCEPT, 0, 0, 0, 0, 0, 0, 0 },
		{ 102, 0, SYNC_RX_ACCEPT, 1, SYNC_F_ACK, 100, 102, 0, 0, 0 },   /* window 3 */
		{ 103, 0, SYNC_RX_ACCEPT, 0, 0, 0, 0, 0, 0, 0 },
		{ 107, 0, SYNC_RX_ACCEPT, 2, SYNC_F_ACK, 103, 103, SYNC_F_NACK, 104, 106 },
		{ 105, 0, SYNC_RX_DROP, 0, 0, 0, 0, 0, 0, 0 },                   /* late */
		{ 107, 0, SYNC_RX_DROP, 0, 0, 0, 0, 0, 0, 0 },                   /* replay */
		{ 108, 0, SYNC_RX_ACCEPT, 0, 0, 0, 0, 0, 0, 0 },
		{ 5, SYNC_F_HELLO, SYNC_RX_ACCEPT, 0, 0, 0, 0, 0, 0, 0 },        /* peer restart */
		{ 6, 0, SYNC_RX_ACCEPT, 1, SYNC_F_ACK, 5, 6, 0, 0, 0 },
	};
	struct sync_ftfw *f = sync_ftfw_create(8, 3, 1);
	struct sync_ctl c[2], t;
	size_t i;

	T_ASSERT(f != NULL);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct sync_msg m = msg(steps[i].seq, steps[i].flags);
		unsigned n;

		T_EQ(sync_ftfw_rx(f, &m, c, &n), steps[i].verdict);
		T_EQ(n, steps[i].n_ctl);
		if (n >= 1) {
			T_EQ(c[0].flags, steps[i].c0);
			T_EQ(c[0].from, steps[i].from0);
			T_EQ(c[0].to, steps[i].to0);
		}
		if (n == 2) {
			T_EQ(c[1].flags, steps[i].c1);
			T_EQ(c[1].from, steps[i].from1);
			T_EQ(c[1].to, steps[i].to1);
		}
	}
	T_UEQ(sync_ftfw_stats(f)->gaps, 3);
	T_UEQ(sync_ftfw_stats(f)->before, 2);
	T_UEQ(sync_ftfw_stats(f)->hellos, 2);
	/* HELLO_BACK owed once. */
	T_EQ(sync_ftfw_tx_flags(f), SYNC_F_HELLO | SYNC_F_HELLO_BACK);
	T_EQ(sync_ftfw_tx_flags(f), SYNC_F_HELLO);
	sync_ftfw_tick(f, &t);
	T_EQ(t.flags, SYNC_F_ALIVE);
	{
		struct sync_msg m = msg(7, SYNC_F_HELLO_BACK);
		unsigned n;

		sync_ftfw_rx(f, &m, c, &n);
	}
	T_ASSERT(sync_ftfw_peer_known(f));
	T_EQ(sync_ftfw_tx_flags(f), 0);
	sync_ftfw_tick(f, &t);
	T_EQ(t.flags, SYNC_F_ACK);
	T_EQ(t.from, 7);
	T_EQ(t.to, 7);
	sync_ftfw_free(f);
	return 0;
}

struct sent {
	uint32_t seq[16];
	unsigned n;
};

static void
on_emit(void *arg, const uint8_t *m, uint16_t len)
{
	struct sent *s = arg;
	uint16_t first = rd16(m + 2);

	(void)len;
	if (first < len)    /* the extension shares the sequence number */
		if (memcmp(m + 4, m + first + 4, 4) != 0)
			abort();
	s->seq[s->n++] = (uint32_t)m[4] << 24 | (uint32_t)m[5] << 16 | (uint32_t)m[6] << 8 | m[7];
}

/* Sender: store, ACK, NACK with new sequence numbers, an overflowing store. */
static int
test_ftfw_tx(void)
{
	struct sync_ftfw *f = sync_ftfw_create(4, 10, 50);
	struct ct_event_rec r = rec_tcp4();
	struct sent s = { .n = 0 };
	uint8_t buf[SYNC_MSG_MAX];
	unsigned i;

	T_ASSERT(f != NULL);
	T_ASSERT(sync_ftfw_create(0, 1, 0) == NULL);
	for (i = 0; i < 4; i++) {
		int len;

		r.orig.sport = (uint16_t)(1000 + i);
		len = sync_encode_rec(&r, sync_ftfw_tx_seq(f), 0, true, buf, sizeof(buf));
		T_ASSERT(len > 0);
		T_EQ(sync_ftfw_tx_keep(f, buf, (uint16_t)len, sync_flow_key(&r.orig)), 0);
	}
	T_EQ(sync_ftfw_pending(f), 4);
	sync_ftfw_on_ack(f, 50, 51);
	T_EQ(sync_ftfw_pending(f), 2);
	/* 52, 53 stored: resent as 54, 55. */
	T_EQ(sync_ftfw_on_nack(f, 52, 53, on_emit, &s), 2);
	T_EQ(s.n, 2);
	T_EQ(s.seq[0], 54);
	T_EQ(s.seq[1], 55);
	T_EQ(sync_ftfw_pending(f), 2);
	/* 52 went out again as 54: a NACK of it again (overlapping the first,
	 * its resend lost too) resends nothing and loses nothing. */
	T_EQ(sync_ftfw_on_nack(f, 52, 52, on_emit, &s), 0);
	T_EQ(sync_ftfw_on_nack(f, 52, 53, on_emit, &s), 0);
	T_EQ(s.n, 2);
	T_UEQ(sync_ftfw_stats(f)->unrecoverable, 0);
	/* 52..55: the stale half skipped, 54 and 55 resent as 56 and 57. */
	T_EQ(sync_ftfw_on_nack(f, 52, 55, on_emit, &s), 2);
	T_EQ(s.seq[2], 56);
	T_EQ(s.seq[3], 57);
	T_UEQ(sync_ftfw_stats(f)->unrecoverable, 0);
	/* Fill past the store: 58..61 push out 56 and 57 (pending). */
	for (i = 0; i < 4; i++) {
		int len;

		r.orig.sport = (uint16_t)(2000 + i);
		len = sync_encode_rec(&r, sync_ftfw_tx_seq(f), 0, false, buf, sizeof(buf));
		T_EQ(sync_ftfw_tx_keep(f, buf, (uint16_t)len, sync_flow_key(&r.orig)), 0);
	}
	T_UEQ(sync_ftfw_stats(f)->overwritten, 2);
	T_EQ(sync_ftfw_pending(f), 4);
	/* 54 and 55's slots now hold 58 and 59: what they carried is unknown. */
	T_EQ(sync_ftfw_on_nack(f, 54, 55, on_emit, &s), -ENOENT);
	T_UEQ(sync_ftfw_stats(f)->unrecoverable, 1);
	/* A huge ACK range releases what lies in it, once around the store. */
	sync_ftfw_on_ack(f, 0, 0x7fffffff);
	T_EQ(sync_ftfw_pending(f), 0);
	T_UEQ(sync_ftfw_stats(f)->resent, 4);
	T_EQ(sync_ftfw_tx_keep(f, buf, 3, 0), -EINVAL);
	sync_ftfw_free(f);
	return 0;
}

/*
 * A lost NEW is not resent once the connection's DEL went out after it
 * (the peer would keep a connection that ended); a lost message of another
 * connection is. After the handshake everything kept is resent, in order.
 */
static int
test_ftfw_superseded(void)
{
	struct sync_ftfw *f = sync_ftfw_create(16, 10, 100);
	struct ct_event_rec a = rec_tcp4(), b = rec_tcp4();
	struct sent s = { .n = 0 };
	uint8_t buf[SYNC_MSG_MAX];
	int len;

	T_ASSERT(f != NULL);
	b.orig.sport = 40001;
	len = sync_encode_rec(&a, sync_ftfw_tx_seq(f), 0, true, buf, sizeof(buf));    /* 100 */
	sync_ftfw_tx_keep(f, buf, (uint16_t)len, sync_flow_key(&a.orig));
	len = sync_encode_rec(&b, sync_ftfw_tx_seq(f), 0, true, buf, sizeof(buf));    /* 101 */
	sync_ftfw_tx_keep(f, buf, (uint16_t)len, sync_flow_key(&b.orig));
	a.events = CT_EV_DESTROY;
	len = sync_encode_rec(&a, sync_ftfw_tx_seq(f), 0, true, buf, sizeof(buf));    /* 102 */
	sync_ftfw_tx_keep(f, buf, (uint16_t)len, sync_flow_key(&a.orig));
	sync_ftfw_on_ack(f, 102, 102);
	/* A resync snapshot asked for at 101 is older than a's DEL (102), not b's NEW. */
	T_ASSERT(sync_ftfw_sent_since(f, sync_flow_key(&a.orig), 101));
	T_ASSERT(!sync_ftfw_sent_since(f, sync_flow_key(&b.orig), 102));
	T_EQ(sync_ftfw_next_seq(f), 103);
	T_EQ(sync_ftfw_on_nack(f, 100, 101, on_emit, &s), 1);
	T_EQ(s.n, 1);
	T_EQ(s.seq[0], 103);    /* b's NEW, again */
	T_UEQ(sync_ftfw_stats(f)->superseded, 1);
	/* Everything kept (103), resent as 104. */
	T_EQ(sync_ftfw_resend_pending(f, on_emit, &s), 1);
	T_EQ(s.seq[1], 104);
	T_EQ(sync_ftfw_pending(f), 1);
	{
		struct sync_msg m;
		struct sync_ctl c[2];
		unsigned n;

		memset(&m, 0, sizeof(m));
		m.type = SYNC_T_CTL;
		m.flags = SYNC_F_ACK | SYNC_F_HELLO_BACK;
		m.seq = 9;
		sync_ftfw_rx(f, &m, c, &n);
		T_ASSERT(sync_ftfw_handshake_done(f));
		T_ASSERT(!sync_ftfw_handshake_done(f));   /* once */
	}
	sync_ftfw_free(f);
	return 0;
}

/* RFC 4231 test cases 2 and 6 (a key longer than a block); sign and verify. */
static int
test_hmac(void)
{
	static const uint8_t want2[32] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
		0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
		0x64, 0xec, 0x38, 0x43 };
	static const uint8_t want6[32] = {
		0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f, 0x0d, 0x8a, 0x26, 0xaa, 0xcb, 0xf5,
		0xb7, 0x7f, 0x8e, 0x0b, 0xc6, 0x21, 0x37, 0x28, 0xc5, 0x14, 0x05, 0x46, 0x04, 0x0f,
		0x0e, 0xe3, 0x7f, 0x54 };
	const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key6[131], mac[32], buf[128];
	const uint8_t *key = (const uint8_t *)"0123456789abcdef";
	int len;

	sync_hmac_sha256((const uint8_t *)"Jefe", 4,
			 (const uint8_t *)"what do ya want for nothing?", 28, mac);
	T_MEMEQ(mac, want2, 32);
	memset(key6, 0xaa, sizeof(key6));
	sync_hmac_sha256(key6, sizeof(key6), (const uint8_t *)d6, strlen(d6), mac);
	T_MEMEQ(mac, want6, 32);
	len = sync_encode_ctl(SYNC_F_ALIVE, 1, 0, 0, buf, sizeof(buf));
	len = sync_auth_sign(key, 16, buf, (size_t)len, sizeof(buf));
	T_EQ(len, SYNC_HDR_LEN + SYNC_MAC_LEN);
	T_EQ(sync_auth_verify(key, 16, buf, (size_t)len), SYNC_HDR_LEN);
	T_EQ(sync_auth_verify(key, 15, buf, (size_t)len), -EBADMSG);    /* wrong key */
	buf[3] ^= 1;
	T_EQ(sync_auth_verify(key, 16, buf, (size_t)len), -EBADMSG);    /* altered */
	T_EQ(sync_auth_verify(key, 16, buf, 20), -EBADMSG);              /* too short */
	T_EQ(sync_auth_sign(key, 16, buf, 100, 120), -ENOSPC);
	return 0;
}

/* The stream splitter: boundaries from the length field, partial units
 * waiting, impossible heads refused. */
static int
test_stream(void)
{
	struct ct_event_rec r = rec_tcp4();
	uint8_t buf[2 * SYNC_MSG_MAX + SYNC_ACK_LEN], fr[64];
	int a, b, c;

	r.events = CT_EV_NEW;
	a = sync_encode_rec(&r, 7, 0, true, buf, sizeof(buf));
	T_ASSERT(a > SYNC_HDR_LEN);
	b = sync_encode_ctl(SYNC_F_ACK, 8, 1, 2, buf + a, sizeof(buf) - (size_t)a);
	T_EQ(b, SYNC_ACK_LEN);
	c = sync_encode_ctl(SYNC_F_ALIVE, 9, 0, 0, buf + a + b, sizeof(buf) - (size_t)(a + b));
	T_EQ(c, SYNC_HDR_LEN);
	/* The data message's length field covers it alone: the extension is a unit too. */
	{
		long u0 = sync_stream_unit(buf, (size_t)(a + b + c), SYNC_STREAM_PLAIN);
		long u1;

		T_ASSERT(u0 > SYNC_HDR_LEN && u0 < a);
		u1 = sync_stream_unit(buf + u0, (size_t)(a + b + c) - (size_t)u0,
				      SYNC_STREAM_PLAIN);
		T_EQ(u0 + u1, a);
		T_EQ(sync_stream_unit(buf, (size_t)u0 - 1, SYNC_STREAM_PLAIN), 0);
	}
	T_EQ(sync_stream_unit(buf + a, (size_t)(b + c), SYNC_STREAM_PLAIN), SYNC_ACK_LEN);
	T_EQ(sync_stream_unit(buf + a, SYNC_ACK_LEN - 1, SYNC_STREAM_PLAIN), 0);
	T_EQ(sync_stream_unit(buf + a + b, (size_t)c, SYNC_STREAM_PLAIN), SYNC_HDR_LEN);
	T_EQ(sync_stream_unit(buf, 7, SYNC_STREAM_PLAIN), 0);
	T_EQ(sync_stream_unit(buf, 0, SYNC_STREAM_PLAIN), 0);
	/* An ACK claiming 8 bytes, a length below the header, above the cap, version 2 */
	memcpy(fr, buf + a, SYNC_ACK_LEN);
	fr[2] = 0, fr[3] = 8;
	T_EQ(sync_stream_unit(fr, SYNC_ACK_LEN, SYNC_STREAM_PLAIN), -EBADMSG);
	fr[3] = 4;
	fr[1] = SYNC_F_ALIVE;
	T_EQ(sync_stream_unit(fr, SYNC_ACK_LEN, SYNC_STREAM_PLAIN), -EBADMSG);
	fr[2] = 0xff, fr[3] = 0xff;
	T_EQ(sync_stream_unit(fr, SYNC_ACK_LEN, SYNC_STREAM_PLAIN), -EBADMSG);
	fr[2] = 0, fr[3] = 8, fr[0] = 0x2a;
	T_EQ(sync_stream_unit(fr, SYNC_ACK_LEN, SYNC_STREAM_PLAIN), -EBADMSG);
	/* Frames: length, payload, MAC; a payload below a header is refused */
	memset(fr, 0, sizeof(fr));
	fr[1] = SYNC_HDR_LEN;
	T_EQ(sync_stream_unit(fr, 1, SYNC_STREAM_FRAMED), 0);
	T_EQ(sync_stream_unit(fr, SYNC_FRAME_HDR + SYNC_HDR_LEN + SYNC_MAC_LEN - 1,
			      SYNC_STREAM_FRAMED), 0);
	T_EQ(sync_stream_unit(fr, sizeof(fr), SYNC_STREAM_FRAMED),
	     SYNC_FRAME_HDR + SYNC_HDR_LEN + SYNC_MAC_LEN);
	fr[1] = SYNC_HDR_LEN - 1;
	T_EQ(sync_stream_unit(fr, sizeof(fr), SYNC_STREAM_FRAMED), -EBADMSG);
	fr[0] = 0xff, fr[1] = 0xff;
	T_EQ(sync_stream_unit(fr, sizeof(fr), SYNC_STREAM_FRAMED), 0);
	return 0;
}

/* An ended connection whose DESTROY is not delivered yet: an UPD carrying
 * CT_EV_DESTROY that the cache keeps; the DEL that follows delivery drops
 * it; a DEL naming an earlier connection of the tuple is ignored. */
static int
apply_rec(struct sync_cache *c, const struct ct_event_rec *r, int type)
{
	uint8_t buf[SYNC_MSG_MAX];
	struct sync_rx_errors err = { 0 };
	struct got g = { .n = 0 };
	int len = type < 0 ? sync_encode_rec(r, 1, 0, true, buf, sizeof(buf))
			   : sync_encode_rec_as(r, (uint8_t)type, 1, 0, true, buf, sizeof(buf));

	if (len < 0 || sync_parse(buf, (size_t)len, collect, &g, &err) != 1)
		return -1000;
	return sync_cache_apply(c, &g.m[0], 0);
}

static int
test_dying(void)
{
	struct sync_cache *c = sync_cache_create(16);
	struct ct_event_rec r = rec_tcp4();
	const struct sync_cache_ent *x;

	T_ASSERT(c != NULL);
	r.id = 5;
	T_EQ(apply_rec(c, &r, -1), 0);
	r.events = CT_EV_DESTROY;
	T_EQ(apply_rec(c, &r, SYNC_T_CT_UPD), 0);
	x = sync_cache_find(c, &r.orig);
	T_ASSERT(x != NULL);
	T_EQ(x->e.events & CT_EV_DESTROY, CT_EV_DESTROY);
	T_EQ(x->e.id, 5);
	T_EQ(apply_rec(c, &r, -1), 0);                  /* the DEL after delivery */
	T_ASSERT(sync_cache_find(c, &r.orig) == NULL);
	T_EQ(sync_encode_rec_as(&r, SYNC_T_CTL, 1, 0, true, (uint8_t[SYNC_MSG_MAX]){ 0 },
				SYNC_MSG_MAX), -EINVAL);
	/* The tuple again, a new connection (id 6), then the old one's DEL */
	r.events = CT_EV_NEW;
	T_EQ(apply_rec(c, &r, -1), 0);
	r.id = 6;
	T_EQ(apply_rec(c, &r, -1), 0);
	r.id = 5;
	r.events = CT_EV_DESTROY;
	T_EQ(apply_rec(c, &r, -1), -ESTALE);
	x = sync_cache_find(c, &r.orig);
	T_ASSERT(x != NULL);
	T_EQ(x->e.id, 6);
	T_EQ(sync_cache_stats(c)->del_stale, 1);
	r.id = 6;
	T_EQ(apply_rec(c, &r, -1), 0);
	T_EQ(sync_cache_count(c), 0);
	sync_cache_free(c);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_hmac),
	T_CASE(test_round_trip),
	T_CASE(test_wire_layout),
	T_CASE(test_malformed),
	T_CASE(test_datagram),
	T_CASE(test_ftfw_rx),
	T_CASE(test_ftfw_tx),
	T_CASE(test_ftfw_superseded),
	T_CASE(test_stream),
	T_CASE(test_dying),
};

T_MAIN(cases)
