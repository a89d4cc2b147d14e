/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ctnetlink codec against three judges: our own parser (round trip),
 * libnetfilter_conntrack (what conntrack(8) and conntrackd use) and libnl-nf.
 * Plus one message checked byte for byte against the layout the kernel's
 * ctnetlink_conntrack_event() produces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netlink/addr.h>
#include <netlink/netfilter/ct.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_nl.h"

static uint8_t buf[65536] __attribute__((aligned(8)));

static struct ct_event_rec
mk_rec(int family, uint8_t proto, unsigned kind)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = (uint8_t)family;
	r.orig.proto = proto;
	if (family == 4) {
		uint8_t s[4] = { 10, 0, 0, 1 }, d[4] = { 10, 0, 0, 2 };

		memcpy(r.orig.src, s, 4);
		memcpy(r.orig.dst, d, 4);
	} else {
		inet_pton(AF_INET6, "2001:db8::1", r.orig.src);
		inet_pton(AF_INET6, "2001:db8::2", r.orig.dst);
	}
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		r.orig.sport = 1234;
		r.orig.dport = 80;
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		/* An echo request's key (ct.h): id, type | code << 8. */
		r.orig.sport = 0x4242;
		r.orig.dport = proto == IPPROTO_ICMP ? 8 : 128;
	}
	if (proto == IPPROTO_SCTP) {
		r.orig.sport = 5000;
		r.orig.dport = 36412;
		r.sctp_vtag[0] = 0x01020304;
		r.sctp_vtag[1] = 0xa0b0c0d0;
	}
	r.id = 0xdeadbeef;
	r.slot = 7;
	r.status = CT_S_CONFIRMED;
	r.tcp_state = CT_TCP_SYN_SENT;
	r.timeout_s = 120;
	r.start_ns = 1700000000123456789ull;
	if (kind == EV_MASK_NEW) {
		r.events = CT_EV_NEW;
	} else if (kind == EV_MASK_UPDATE) {
		r.events = CT_EV_PROTOINFO | CT_EV_ASSURED | CT_EV_REPLY;
		r.status |= CT_S_SEEN_REPLY | CT_S_ASSURED;
		r.tcp_state = CT_TCP_ESTABLISHED;
		r.timeout_s = 432000;
	} else {
		r.events = CT_EV_DESTROY;
		r.status |= CT_S_SEEN_REPLY | CT_S_ASSURED | CT_S_DYING;
		r.tcp_state = CT_TCP_TIME_WAIT;
		r.timeout_s = 0;
		r.stop_ns = r.start_ns + 5000000000ull;
	}
	r.pkts[0] = 5;
	r.pkts[1] = 4;
	r.bytes[0] = 0x100000001ull; /* above 32 bits: the 64-bit path matters */
	r.bytes[1] = 777;
	return r;
}

static int
check_own(const struct ct_event_rec *r, unsigned flags, const uint8_t *msg, size_t len)
{
	struct ev_nl_ct ct;
	size_t used;
	unsigned kind = ev_nl_rec_kind(r);
	bool destroy = kind == EV_MASK_DESTROY;

	T_EQ(ev_nl_parse(msg, len, &ct, &used), 0);
	T_EQ(used, len);
	T_EQ(ct.kind, kind);
	T_EQ(ct.family, r->orig.family);
	T_MEMEQ(&ct.orig, &r->orig, sizeof(ct.orig));
	T_ASSERT(ct.present & EV_NL_HAS_REPLY);
	T_MEMEQ(ct.reply.src, r->orig.dst, 16);
	T_MEMEQ(ct.reply.dst, r->orig.src, 16);
	T_EQ(ct.reply.sport, r->orig.dport);
	T_EQ(ct.reply.dport, r->orig.sport);
	T_EQ(ct.id, r->id);
	T_EQ(ct.status, r->status);
	if (r->orig.proto == IPPROTO_TCP || r->orig.proto == IPPROTO_SCTP) {
		T_ASSERT(ct.present & EV_NL_HAS_TCP_STATE);
		T_EQ(ct.tcp_state, r->tcp_state);
		/* SCTP: the verification tags, except on a DESTROY (as Linux). */
		if (r->orig.proto == IPPROTO_SCTP && kind != EV_MASK_DESTROY) {
			T_ASSERT(ct.present & EV_NL_HAS_SCTP_VTAG);
			T_EQ(ct.sctp_vtag[0], r->sctp_vtag[0]);
			T_EQ(ct.sctp_vtag[1], r->sctp_vtag[1]);
		} else {
			T_ASSERT(!(ct.present & EV_NL_HAS_SCTP_VTAG));
		}
	} else {
		T_ASSERT(!(ct.present & EV_NL_HAS_TCP_STATE));
	}
	if (r->orig.proto == IPPROTO_ICMP) {
		T_EQ(ct.icmp_type[0], 8);
		T_EQ(ct.icmp_type[1], 0);
	}
	if (r->orig.proto == IPPROTO_ICMPV6) {
		T_EQ(ct.icmp_type[0], 128);
		T_EQ(ct.icmp_type[1], 129);
	}
	if (destroy) {
		T_EQ(!!(ct.present & EV_NL_HAS_TIMEOUT), r->timeout_s != 0);
		T_EQ(!!(ct.present & EV_NL_HAS_COUNTERS), !!(flags & EV_NL_F_ACCT));
		T_EQ(!!(ct.present & EV_NL_HAS_START), !!(flags & EV_NL_F_TSTAMP));
		T_EQ(!!(ct.present & EV_NL_HAS_STOP), !!(flags & EV_NL_F_TSTAMP));
		if (flags & EV_NL_F_ACCT) {
			T_UEQ(ct.pkts[0], r->pkts[0]);
			T_UEQ(ct.pkts[1], r->pkts[1]);
			T_UEQ(ct.bytes[0], r->bytes[0]);
			T_UEQ(ct.bytes[1], r->bytes[1]);
		}
		if (flags & EV_NL_F_TSTAMP) {
			T_UEQ(ct.start_ns, r->start_ns);
			T_UEQ(ct.stop_ns, r->stop_ns);
		}
	} else {
		/* Like the kernel: no accounting in NEW/UPDATE events. */
		T_ASSERT(ct.present & EV_NL_HAS_TIMEOUT);
		T_EQ(ct.timeout_s, r->timeout_s);
		T_ASSERT(!(ct.present & (EV_NL_HAS_COUNTERS | EV_NL_HAS_START)));
	}
	T_EQ(!!(ct.present & EV_NL_HAS_ZONE), r->orig.zone != 0);
	T_EQ(!!(ct.present & EV_NL_HAS_MARK), r->mark != 0);
	T_EQ(ct.mark, r->mark);
	return 0;
}

static int
check_nfct(const struct ct_event_rec *r, unsigned flags, uint8_t *msg)
{
	static const int types[] = { [EV_MASK_NEW] = NFCT_T_NEW, [EV_MASK_UPDATE] = NFCT_T_UPDATE,
				     [EV_MASK_DESTROY] = NFCT_T_DESTROY };
	struct nf_conntrack *ct = nfct_new();
	unsigned kind = ev_nl_rec_kind(r);
	char out[1024], want[192], a[64], b[64];
	int type, rc = 1;

	T_ASSERT(ct != NULL);
	/* The deprecated call is the one that also judges the event type
	 * (NEW/UPDATE/DESTROY) from the header, as conntrack -E does. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	type = nfct_parse_conntrack(NFCT_T_ALL, (struct nlmsghdr *)msg, ct);
#pragma GCC diagnostic pop
	if (type != types[kind]) {
		printf("# nfct type %d, want %d\n", type, types[kind]);
		goto out;
	}
	if (nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) != (r->orig.family == 4 ? AF_INET : AF_INET6) ||
	    nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != r->orig.proto ||
	    nfct_get_attr_u8(ct, ATTR_REPL_L4PROTO) != r->orig.proto ||
	    nfct_get_attr_u32(ct, ATTR_ID) != r->id ||
	    nfct_get_attr_u32(ct, ATTR_STATUS) != r->status) {
		printf("# nfct l3/l4/id/status mismatch\n");
		goto out;
	}
	if (r->orig.family == 4 &&
	    (memcmp(nfct_get_attr(ct, ATTR_ORIG_IPV4_SRC), r->orig.src, 4) != 0 ||
	     memcmp(nfct_get_attr(ct, ATTR_REPL_IPV4_SRC), r->orig.dst, 4) != 0)) {
		printf("# nfct ipv4 mismatch\n");
		goto out;
	}
	if (r->orig.family == 6 &&
	    (memcmp(nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), r->orig.src, 16) != 0 ||
	     memcmp(nfct_get_attr(ct, ATTR_REPL_IPV6_SRC), r->orig.dst, 16) != 0)) {
		printf("# nfct ipv6 mismatch\n");
		goto out;
	}
	if ((r->orig.proto == IPPROTO_TCP || r->orig.proto == IPPROTO_UDP) &&
	    (ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)) != r->orig.sport ||
	     ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)) != r->orig.dport ||
	     ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)) != r->orig.dport)) {
		printf("# nfct ports mismatch\n");
		goto out;
	}
	if ((r->orig.proto == IPPROTO_ICMP || r->orig.proto == IPPROTO_ICMPV6) &&
	    (ntohs(nfct_get_attr_u16(ct, ATTR_ICMP_ID)) != r->orig.sport ||
	     nfct_get_attr_u8(ct, ATTR_ICMP_TYPE) != (r->orig.proto == IPPROTO_ICMP ? 8 : 128))) {
		printf("# nfct icmp mismatch\n");
		goto out;
	}
	if (r->orig.proto == IPPROTO_TCP &&
	    nfct_get_attr_u8(ct, ATTR_TCP_STATE) != r->tcp_state) {
		printf("# nfct tcp state mismatch\n");
		goto out;
	}
	/* CTA_PROTOINFO_SCTP as Linux sends it: the tags except on a DESTROY. */
	if (r->orig.proto == IPPROTO_SCTP &&
	    (!nfct_attr_is_set(ct, ATTR_SCTP_STATE) ||
	     nfct_get_attr_u8(ct, ATTR_SCTP_STATE) != r->tcp_state ||
	     nfct_attr_is_set(ct, ATTR_SCTP_VTAG_ORIG) != (kind != EV_MASK_DESTROY) ||
	     (kind != EV_MASK_DESTROY &&
	      (nfct_get_attr_u32(ct, ATTR_SCTP_VTAG_ORIG) != r->sctp_vtag[0] ||
	       nfct_get_attr_u32(ct, ATTR_SCTP_VTAG_REPL) != r->sctp_vtag[1])))) {
		printf("# nfct sctp protoinfo mismatch: state %u vtags %#x %#x\n",
		       nfct_get_attr_u8(ct, ATTR_SCTP_STATE),
		       nfct_get_attr_u32(ct, ATTR_SCTP_VTAG_ORIG),
		       nfct_get_attr_u32(ct, ATTR_SCTP_VTAG_REPL));
		goto out;
	}
	if (kind == EV_MASK_DESTROY && (flags & EV_NL_F_ACCT) &&
	    (nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS) != r->pkts[0] ||
	     nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES) != r->bytes[0] ||
	     nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS) != r->pkts[1] ||
	     nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES) != r->bytes[1])) {
		printf("# nfct counters mismatch\n");
		goto out;
	}
	if (kind == EV_MASK_DESTROY && (flags & EV_NL_F_TSTAMP) &&
	    (nfct_get_attr_u64(ct, ATTR_TIMESTAMP_START) != r->start_ns ||
	     nfct_get_attr_u64(ct, ATTR_TIMESTAMP_STOP) != r->stop_ns)) {
		printf("# nfct timestamp mismatch\n");
		goto out;
	}
	if (kind != EV_MASK_DESTROY && nfct_get_attr_u32(ct, ATTR_TIMEOUT) != r->timeout_s) {
		printf("# nfct timeout mismatch\n");
		goto out;
	}
	if (r->orig.zone != 0 && nfct_get_attr_u16(ct, ATTR_ZONE) != r->orig.zone) {
		printf("# nfct zone mismatch\n");
		goto out;
	}
	if (r->mark != 0 && nfct_get_attr_u32(ct, ATTR_MARK) != r->mark) {
		printf("# nfct mark mismatch\n");
		goto out;
	}

	/* The text conntrack -E would print carries what we put in. */
	nfct_snprintf(out, sizeof(out), ct, (unsigned)type, NFCT_O_DEFAULT, NFCT_OF_ID);
	inet_ntop(r->orig.family == 4 ? AF_INET : AF_INET6, r->orig.src, a, sizeof(a));
	inet_ntop(r->orig.family == 4 ? AF_INET : AF_INET6, r->orig.dst, b, sizeof(b));
	snprintf(want, sizeof(want), "src=%s dst=%s", a, b);
	if (strstr(out, want) == NULL)
		goto bad_text;
	snprintf(want, sizeof(want), "src=%s dst=%s", b, a);
	if (strstr(out, want) == NULL)
		goto bad_text;
	snprintf(want, sizeof(want), "id=%u", r->id);
	if (strstr(out, want) == NULL)
		goto bad_text;
	if (strstr(out, kind == EV_MASK_NEW ? "[NEW]" : kind == EV_MASK_UPDATE ? "[UPDATE]" :
		   "[DESTROY]") == NULL)
		goto bad_text;
	if (r->orig.proto == IPPROTO_TCP || r->orig.proto == IPPROTO_UDP) {
		snprintf(want, sizeof(want), "sport=%u dport=%u", r->orig.sport, r->orig.dport);
		if (strstr(out, want) == NULL)
			goto bad_text;
	}
	if (r->orig.proto == IPPROTO_TCP &&
	    strstr(out, ev_nl_tcp_state_name(r->tcp_state)) == NULL)
		goto bad_text;
	if (r->orig.proto == IPPROTO_SCTP) {
		snprintf(want, sizeof(want), "%s src=", ct_sctp_state_name(r->tcp_state));
		if (strstr(out, want) == NULL)
			goto bad_text;
		snprintf(want, sizeof(want), "sport=%u dport=%u", r->orig.sport, r->orig.dport);
		if (strstr(out, want) == NULL)
			goto bad_text;
	}
	if ((r->status & CT_S_ASSURED) && strstr(out, "[ASSURED]") == NULL)
		goto bad_text;
	if (kind == EV_MASK_DESTROY && (flags & EV_NL_F_ACCT)) {
		snprintf(want, sizeof(want), "packets=%" PRIu64 " bytes=%" PRIu64, r->pkts[0],
			 r->bytes[0]);
		if (strstr(out, want) == NULL)
			goto bad_text;
	}
	rc = 0;
	goto out;
bad_text:
	printf("# nfct_snprintf: %s (missing \"%s\")\n", out, want);
out:
	nfct_destroy(ct);
	return rc;
}

static int
addr_eq(struct nl_addr *a, const uint8_t *want, int family)
{
	return a != NULL && nl_addr_get_len(a) == (family == 4 ? 4u : 16u) &&
	       memcmp(nl_addr_get_binary_addr(a), want, family == 4 ? 4 : 16) == 0;
}

static int
check_libnl(const struct ct_event_rec *r, unsigned flags, uint8_t *msg)
{
	struct nfnl_ct *ct = NULL;
	unsigned kind = ev_nl_rec_kind(r);
	int fam = r->orig.family;
	int rc = 1;

	if (nfnlmsg_ct_parse((struct nlmsghdr *)msg, &ct) < 0 || ct == NULL) {
		printf("# nfnlmsg_ct_parse failed\n");
		return 1;
	}
	if (nfnl_ct_get_family(ct) != (fam == 4 ? AF_INET : AF_INET6) ||
	    nfnl_ct_get_proto(ct) != r->orig.proto || nfnl_ct_get_id(ct) != r->id ||
	    nfnl_ct_get_status(ct) != r->status) {
		printf("# libnl-nf family/proto/id/status mismatch\n");
		goto out;
	}
	if (!addr_eq(nfnl_ct_get_src(ct, 0), r->orig.src, fam) ||
	    !addr_eq(nfnl_ct_get_dst(ct, 0), r->orig.dst, fam) ||
	    !addr_eq(nfnl_ct_get_src(ct, 1), r->orig.dst, fam) ||
	    !addr_eq(nfnl_ct_get_dst(ct, 1), r->orig.src, fam)) {
		printf("# libnl-nf address mismatch\n");
		goto out;
	}
	if ((r->orig.proto == IPPROTO_TCP || r->orig.proto == IPPROTO_UDP) &&
	    (nfnl_ct_get_src_port(ct, 0) != r->orig.sport ||
	     nfnl_ct_get_dst_port(ct, 0) != r->orig.dport ||
	     nfnl_ct_get_src_port(ct, 1) != r->orig.dport)) {
		printf("# libnl-nf port mismatch\n");
		goto out;
	}
	if (r->orig.proto == IPPROTO_ICMP &&
	    (nfnl_ct_get_icmp_id(ct, 0) != r->orig.sport || nfnl_ct_get_icmp_type(ct, 0) != 8 ||
	     nfnl_ct_get_icmp_type(ct, 1) != 0)) {
		printf("# libnl-nf icmp mismatch\n");
		goto out;
	}
	if (r->orig.proto == IPPROTO_TCP && nfnl_ct_get_tcp_state(ct) != r->tcp_state) {
		printf("# libnl-nf tcp state mismatch\n");
		goto out;
	}
	if (kind == EV_MASK_DESTROY && (flags & EV_NL_F_ACCT) &&
	    (nfnl_ct_get_packets(ct, 0) != r->pkts[0] || nfnl_ct_get_bytes(ct, 0) != r->bytes[0] ||
	     nfnl_ct_get_packets(ct, 1) != r->pkts[1] || nfnl_ct_get_bytes(ct, 1) != r->bytes[1])) {
		printf("# libnl-nf counters mismatch\n");
		goto out;
	}
	if (kind == EV_MASK_DESTROY && (flags & EV_NL_F_TSTAMP)) {
		const struct nfnl_ct_timestamp *ts = nfnl_ct_get_timestamp(ct);

		if (!nfnl_ct_test_timestamp(ct) || ts == NULL || ts->start != r->start_ns ||
		    ts->stop != r->stop_ns) {
			printf("# libnl-nf timestamp mismatch\n");
			goto out;
		}
	}
	if (kind != EV_MASK_DESTROY && nfnl_ct_get_timeout(ct) != r->timeout_s) {
		printf("# libnl-nf timeout mismatch\n");
		goto out;
	}
	if (r->mark != 0 && nfnl_ct_get_mark(ct) != r->mark) {
		printf("# libnl-nf mark mismatch\n");
		goto out;
	}
	rc = 0;
out:
	nfnl_ct_put(ct);
	return rc;
}

static const unsigned flag_sets[] = { EV_NL_F_DEFAULT, 0, EV_NL_F_ACCT,
				      EV_NL_F_DEFAULT | EV_NL_F_PAD64 };

static int
run_shape(int family, uint8_t proto, unsigned kind, uint16_t zone, uint32_t mark)
{
	unsigned f;

	for (f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
		struct ct_event_rec r = mk_rec(family, proto, kind);
		int len;

		r.orig.zone = zone;
		r.mark = mark;
		memset(buf, 0xa5, 1024);
		len = ev_nl_encode(&r, flag_sets[f], buf, 0, sizeof(buf));
		T_ASSERT(len > 0 && len <= EV_NL_MSG_MAX && (len & 3) == 0);
		if (check_own(&r, flag_sets[f], buf, (size_t)len) != 0 ||
		    check_nfct(&r, flag_sets[f], buf) != 0 ||
		    check_libnl(&r, flag_sets[f], buf) != 0) {
			printf("# shape: v%d proto %u kind %u zone %u mark %u flags %#x\n", family,
			       proto, kind, zone, mark, flag_sets[f]);
			return 1;
		}
	}
	return 0;
}

static int
test_every_shape(void)
{
	static const uint8_t protos4[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, 47 };
	static const uint8_t protos6[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6, 132 };
	static const unsigned kinds[] = { EV_MASK_NEW, EV_MASK_UPDATE, EV_MASK_DESTROY };
	unsigned p, k;

	for (k = 0; k < 3; k++) {
		for (p = 0; p < 4; p++) {
			T_EQ(run_shape(4, protos4[p], kinds[k], 0, 0), 0);
			T_EQ(run_shape(6, protos6[p], kinds[k], 0, 0), 0);
		}
		T_EQ(run_shape(4, IPPROTO_TCP, kinds[k], 7, 0x55), 0);
		T_EQ(run_shape(6, IPPROTO_UDP, kinds[k], 65535, 1), 0);
	}
	return 0;
}

/* The exact bytes Linux emits for a UDP NEW event (x86-64: no padding). */
static int
test_bytes_udp_new(void)
{
	static const uint8_t want[] = {
		/* nlmsghdr: len 148, type 0x0100 (CTNETLINK, CT_NEW), CREATE|EXCL */
		148, 0, 0, 0, 0x00, 0x01, 0x00, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,
		/* nfgenmsg: AF_INET, V0, res_id 0 */
		2, 0, 0, 0,
		/* CTA_TUPLE_ORIG (nested), 52 bytes */
		52, 0, 0x01, 0x80,
		20, 0, 0x01, 0x80,             /* CTA_TUPLE_IP */
		8, 0, 1, 0, 10, 0, 0, 1,       /* CTA_IP_V4_SRC */
		8, 0, 2, 0, 10, 0, 0, 2,       /* CTA_IP_V4_DST */
		28, 0, 0x02, 0x80,             /* CTA_TUPLE_PROTO */
		5, 0, 1, 0, 17, 0, 0, 0,       /* CTA_PROTO_NUM */
		6, 0, 2, 0, 0x04, 0xd2, 0, 0,  /* CTA_PROTO_SRC_PORT 1234 */
		6, 0, 3, 0, 0x00, 0x50, 0, 0,  /* CTA_PROTO_DST_PORT 80 */
		/* CTA_TUPLE_REPLY */
		52, 0, 0x02, 0x80,
		20, 0, 0x01, 0x80,
		8, 0, 1, 0, 10, 0, 0, 2,
		8, 0, 2, 0, 10, 0, 0, 1,
		28, 0, 0x02, 0x80,
		5, 0, 1, 0, 17, 0, 0, 0,
		6, 0, 2, 0, 0x00, 0x50, 0, 0,
		6, 0, 3, 0, 0x04, 0xd2, 0, 0,
		/* CTA_ID, CTA_STATUS (CONFIRMED), CTA_TIMEOUT 30 */
		8, 0, 12, 0, 0xde, 0xad, 0xbe, 0xef,
		8, 0, 3, 0, 0, 0, 0, 8,
		8, 0, 7, 0, 0, 0, 0, 30,
	};
	struct ct_event_rec r = mk_rec(4, IPPROTO_UDP, EV_MASK_NEW);
	int len;

	r.timeout_s = 30;
	len = ev_nl_encode(&r, EV_NL_F_DEFAULT, buf, 0, sizeof(buf));
	T_EQ(len, sizeof(want));
	T_MEMEQ(buf, want, sizeof(want));
	return 0;
}

/* Destroy with counters: 64-bit attributes, unpadded and padded. */
static int
test_bytes_counters_pad(void)
{
	struct ct_event_rec r = mk_rec(4, IPPROTO_UDP, EV_MASK_DESTROY);
	int plain, padded;
	size_t off;

	plain = ev_nl_encode(&r, EV_NL_F_ACCT, buf, 0, sizeof(buf));
	/* header 20 + tuples 104 + id 8 + status 8 = 140: CTA_COUNTERS_ORIG here */
	T_EQ(buf[140 + 2], CTA_COUNTERS_ORIG);
	T_EQ(buf[141 + 2], 0x80);
	T_EQ(buf[140], 28);                   /* 4 + 2 x 12, no pad */
	T_EQ(buf[144 + 2], CTA_COUNTERS_PACKETS);
	T_EQ(buf[144], 12);
	T_EQ(plain, 140 + 28 + 28);
	padded = ev_nl_encode(&r, EV_NL_F_ACCT | EV_NL_F_PAD64, buf, 0, sizeof(buf));
	T_ASSERT(padded > plain);
	/* Every 64-bit payload is 8-byte aligned in the padded form. */
	for (off = 144; off < (size_t)padded;) {
		uint16_t alen, type;

		memcpy(&alen, buf + off, 2);
		memcpy(&type, buf + off + 2, 2);
		if (type == CTA_COUNTERS_PACKETS || type == CTA_COUNTERS_BYTES)
			T_EQ((off + 4) & 7, 0);
		if (type == CTA_COUNTERS_REPLY)
			alen = 4; /* step into the nest */
		T_ASSERT(alen >= 4);
		off += NLA_ALIGN(alen);
	}
	return 0;
}

static int
test_batch_walk(void)
{
	struct ct_event_rec recs[40];
	struct ev_nl_ct ct;
	size_t pos = 0, used;
	unsigned i, n = 0;

	for (i = 0; i < 40; i++) {
		int len;

		recs[i] = mk_rec(i % 2 ? 6 : 4, i % 3 ? IPPROTO_TCP : IPPROTO_UDP, 1u << (i % 3));
		recs[i].id = 1000 + i;
		len = ev_nl_encode(&recs[i], EV_NL_F_DEFAULT, buf, pos, sizeof(buf));
		T_ASSERT(len > 0);
		pos += (size_t)len;
	}
	for (used = 0; used < pos;) {
		size_t c;

		T_EQ(ev_nl_parse(buf + used, pos - used, &ct, &c), 0);
		T_EQ(ct.id, 1000 + n);
		n++;
		used += c;
	}
	T_EQ(n, 40);
	/* A buffer too small is refused, not overrun. */
	T_EQ(ev_nl_encode(&recs[0], EV_NL_F_DEFAULT, buf, 0, 64), -ENOSPC);
	recs[0].events = 0;
	T_EQ(ev_nl_encode(&recs[0], EV_NL_F_DEFAULT, buf, 0, sizeof(buf)), -EINVAL);
	return 0;
}

static int
test_parse_rejects(void)
{
	struct ct_event_rec r = mk_rec(4, IPPROTO_TCP, EV_MASK_NEW);
	struct ev_nl_ct ct;
	struct nlmsghdr h;
	size_t used;
	int len = ev_nl_encode(&r, EV_NL_F_DEFAULT, buf, 0, sizeof(buf));
	int cut;

	/* Every truncation either fails cleanly or (cut at an attribute
	 * boundary inside the length field) still parses a valid prefix. */
	for (cut = 0; cut < len; cut++)
		T_NE(ev_nl_parse(buf, (size_t)cut, &ct, &used), 0);
	/* nlmsg_len beyond the buffer */
	memcpy(&h, buf, sizeof(h));
	h.nlmsg_len = (uint32_t)len + 4;
	memcpy(buf, &h, sizeof(h));
	T_EQ(ev_nl_parse(buf, (size_t)len, &ct, &used), -EINVAL);
	/* Another netlink message type is skipped, not an error */
	h.nlmsg_len = (uint32_t)len;
	h.nlmsg_type = NLMSG_NOOP;
	memcpy(buf, &h, sizeof(h));
	T_EQ(ev_nl_parse(buf, (size_t)len, &ct, &used), -ENOMSG);
	T_EQ(used, (size_t)len);
	/* Unknown family */
	h.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	memcpy(buf, &h, sizeof(h));
	buf[NLMSG_HDRLEN] = 99;
	T_EQ(ev_nl_parse(buf, (size_t)len, &ct, &used), -EINVAL);
	return 0;
}

static int
test_subscribe_parse(void)
{
	struct ev_subscribe s = { EV_PROTO_VERSION, EV_SUB_F_RELIABLE, 0 }, o;

	T_EQ(ev_nl_parse_subscribe(&s, sizeof(s), &o), 0);
	T_EQ(o.mask, EV_MASK_ALL);
	T_EQ(o.flags, EV_SUB_F_RELIABLE);
	T_EQ(ev_nl_parse_subscribe(&s, EV_SUBSCRIBE_MIN_LEN - 1, &o), -EINVAL);
	/* The version 1 payload (no bufsize) stays valid. */
	T_EQ(ev_nl_parse_subscribe(&s, EV_SUBSCRIBE_MIN_LEN, &o), 0);
	T_EQ(o.bufsize, 0);
	s.version = 2;
	T_EQ(ev_nl_parse_subscribe(&s, sizeof(s), &o), -EINVAL);
	s.version = EV_PROTO_VERSION;
	/* Bits past the expectation groups (NFNLGRP_NFTABLES on) are no group of ours. */
	s.mask = 0x40;
	T_EQ(ev_nl_parse_subscribe(&s, sizeof(s), &o), -EINVAL);
	s.mask = EV_MASK_DESTROY;
	s.flags = 0x10;
	T_EQ(ev_nl_parse_subscribe(&s, sizeof(s), &o), -EINVAL);
	return 0;
}

/* Dump answers (issue 8): libnetfilter_conntrack parses them like the
 * kernel's ctnetlink_fill_info() output: an entry (NFCT_T_UPDATE, as for a
 * dump from the kernel), with counters, timeout and TCP state. */
static int
test_dump_messages(void)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	unsigned p, fam;

	for (fam = 4; fam <= 6; fam += 2) {
		for (p = 0; p < 3; p++) {
			uint8_t proto = fam == 6 && protos[p] == IPPROTO_ICMP ? IPPROTO_ICMPV6 :
										protos[p];
			struct ct_event_rec r = mk_rec((int)fam, proto, EV_MASK_UPDATE);
			struct nf_conntrack *ct = nfct_new();
			struct nlmsghdr h;
			struct ev_nl_ct mine;
			size_t used;
			int len, type;

			r.events = 0;
			r.pkts[0] = 11;
			r.bytes[0] = 1100;
			r.pkts[1] = 7;
			r.bytes[1] = 700;
			r.tcp_state = CT_TCP_ESTABLISHED;
			T_ASSERT(ct != NULL);
			len = ev_nl_encode(&r, EV_NL_F_DEFAULT | EV_NL_F_DUMP, buf, 0, sizeof(buf));
			T_ASSERT(len > 0);
			memcpy(&h, buf, sizeof(h));
			T_EQ(h.nlmsg_flags, NLM_F_MULTI);
			T_EQ(h.nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
			type = nfct_parse_conntrack(NFCT_T_ALL, (struct nlmsghdr *)buf, ct);
#pragma GCC diagnostic pop
			T_EQ(type, NFCT_T_UPDATE);
			T_UEQ(nfct_get_attr_u32(ct, ATTR_ID), r.id);
			T_UEQ(nfct_get_attr_u32(ct, ATTR_TIMEOUT), r.timeout_s);
			T_UEQ(nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS), 11);
			T_UEQ(nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES), 700);
			if (proto == IPPROTO_TCP)
				T_EQ(nfct_get_attr_u8(ct, ATTR_TCP_STATE), CT_TCP_ESTABLISHED);
			nfct_destroy(ct);
			/* ... and so does the listener's own parser, and libnl. */
			T_EQ(ev_nl_parse(buf, (size_t)len, &mine, &used), 0);
			T_EQ(mine.kind, EV_MASK_UPDATE);
			T_ASSERT(mine.present & EV_NL_HAS_COUNTERS);
			T_EQ(mine.pkts[1], 7);
			r.events = CT_EV_PROTOINFO;
			T_EQ(check_libnl(&r, EV_NL_F_DEFAULT | EV_NL_F_DUMP, buf), 0);
		}
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_dump_messages),
	T_CASE(test_every_shape),
	T_CASE(test_bytes_udp_new),
	T_CASE(test_bytes_counters_pad),
	T_CASE(test_batch_walk),
	T_CASE(test_parse_rejects),
	T_CASE(test_subscribe_parse),
};

T_MAIN(cases)
