/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The full packet parser (ct_parse_frame()): every frame the fast path in
 * ct_parse.c does not take. What it accepts and how it reads ambiguous
 * frames is described at the top of ct_parse.c.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ct_parse_private.h"
#include "ct_private.h"

/* Copied over a ct_pkt to clear it: plain moves, where memset became `rep stos`. */
static const struct ct_pkt ct_pkt_zero;

static int
set_invalid(struct ct_pkt *out, enum ct_invalid_reason r)
{
	out->cls = CT_PKT_INVALID;
	out->invalid_reason = (uint8_t)r;
	return CT_PKT_INVALID;
}

/* ICMP query types with an identifier: 1 request, 2 response, 0 neither. */
static int
icmp4_query(uint8_t type)
{
	switch (type) {
	case 8: case 13: case 15: case 17:
		return 1;
	case 0: case 14: case 16: case 18:
		return 2;
	default:
		return 0;
	}
}

/*
 * The request type a query or response belongs to (Linux's invmap), which
 * keys the flow together with the identifier and the code, as Linux's ICMP
 * tuple {id, type, code} does.
 */
static uint8_t
icmp_req_type(bool v6, uint8_t type)
{
	if (v6)
		return type == 129 ? 128 : type == 140 ? 139 : type;
	return type == 0 ? 8 : (type == 14 || type == 16 || type == 18) ? (uint8_t)(type - 1) : type;
}

/*
 * ICMP query ports: the sender of the request is the source, so a request has
 * sport = id, dport = key; a response, travelling the other way, the reverse.
 * key = request type | code << 8.
 */
static void
icmp_ports(struct ct_tuple *t, bool v6, int kind, const uint8_t *icmp)
{
	uint16_t id = rd16(icmp + 4);
	uint16_t key = (uint16_t)(icmp_req_type(v6, icmp[0]) | (uint16_t)icmp[1] << 8);

	t->sport = kind == 1 ? id : key;
	t->dport = kind == 1 ? key : id;
}

static bool
icmp4_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static int
icmp6_query(uint8_t type)
{
	switch (type) {
	case 128: case 139:
		return 1;
	case 129: case 140:
		return 2;
	default:
		return 0;
	}
}

/* MLD and neighbour discovery: Linux's noct_valid_new[], left untracked. */
static bool
icmp6_untracked(uint8_t type)
{
	return (type >= 130 && type <= 136) || type == 143;
}

/*
 * Walk IPv6 extension headers from `*off` with next header `*nh` up to `end`.
 * On return *nh is the upper-layer protocol and *off its offset.
 * @return 0, CT_PKT_FRAGMENT (non-first fragment), or -reason.
 */
static int
ipv6_walk(const struct pctx *c, uint32_t *off, uint32_t end, uint8_t *nh, bool *first_frag)
{
	uint32_t o = *off;
	uint8_t n = *nh;
	unsigned count = 0;

	for (;;) {
		uint32_t hl;

		switch (n) {
		case P_HOPOPTS:
		case P_ROUTING:
		case P_DSTOPTS:
		case P_MOBILITY:
		case P_HIP:
		case P_SHIM6:
		case P_AH:
		case P_FRAGMENT:
			break;
		default:
			*off = o;
			*nh = n;
			return 0;
		}
		/* Every extension header is at least 8 bytes. */
		if (++count > CT_PARSE_MAX_EXTHDR || o + 8 > end || !have(c, o, 8))
			return -CT_INV_IPV6_EXTHDR;
		if (n == P_FRAGMENT) {
			uint16_t fo = rd16(c->d + o + 2);

			if (fo & 0xfff8)
				return CT_PKT_FRAGMENT;
			if (fo & 1)
				*first_frag = true;
			hl = 8;
		} else if (n == P_AH) {
			hl = ((uint32_t)c->d[o + 1] + 2) * 4;
		} else {
			hl = ((uint32_t)c->d[o + 1] + 1) * 8;
		}
		if (hl > end - o)
			return -CT_INV_IPV6_EXTHDR;
		n = c->d[o];
		o += hl;
	}
}

/*
 * Ports of a quoted packet's transport header (the first 8 bytes are all an
 * ICMP error is obliged to quote). @return 0 or -CT_INV_ICMP.
 */
static int
quoted_ports(const struct pctx *c, uint32_t off, uint32_t end, struct ct_tuple *t)
{
	const uint8_t *p;
	int kind;

	t->sport = 0;
	t->dport = 0;
	switch (t->proto) {
	case P_TCP:
	case P_UDP:
	case P_UDPLITE:
	case P_SCTP:
	case P_ICMP:
	case P_ICMPV6:
		break;
	case P_GRE:
		/* Keyed as the GRE tracker keys it (parse_l4()): PPTP's call ID, else 0. */
		if (off + 8 > end || !have(c, off, 8) || (c->d[off + 1] & 0x07) != 1)
			return 0;
		if (rd16(c->d + off + 2) != 0x880b)
			return -CT_INV_ICMP;
		t->dport = rd16(c->d + off + 6);
		return 0;
	default:
		return 0;
	}
	if (off + 8 > end || !have(c, off, 8))
		return -CT_INV_ICMP;
	p = c->d + off;
	if (t->proto != P_ICMP && t->proto != P_ICMPV6) {
		t->sport = rd16(p);
		t->dport = rd16(p + 2);
		return 0;
	}
	/* A quoted ICMP message must be a query: errors about errors are not sent. */
	kind = t->proto == P_ICMP ? icmp4_query(p[0]) : icmp6_query(p[0]);
	if (kind == 0)
		return -CT_INV_ICMP;
	icmp_ports(t, t->proto == P_ICMPV6, kind, p);
	return 0;
}

/* The IPv4 packet quoted by an ICMP error, at `off`. @return 0 or -reason. */
static int
quoted_ipv4(const struct pctx *c, uint32_t off, uint32_t end, struct ct_tuple *t)
{
	const uint8_t *ip;
	uint32_t ihl;

	if (off + 20 > end || !have(c, off, 20))
		return -CT_INV_ICMP;
	ip = c->d + off;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20 || off + ihl > end || !have(c, off, ihl))
		return -CT_INV_ICMP;
	/* Only a first fragment (or a whole packet) has the ports. */
	if (rd16(ip + 6) & 0x1fff)
		return -CT_INV_ICMP;
	memcpy(t->src, ip + 12, 4);
	memcpy(t->dst, ip + 16, 4);
	t->proto = ip[9];
	return quoted_ports(c, off + ihl, end, t);
}

static int
quoted_ipv6(const struct pctx *c, uint32_t off, uint32_t end, struct ct_tuple *t)
{
	const uint8_t *ip;
	uint8_t nh;
	bool ff = false;
	int rc;

	if (off + 40 > end || !have(c, off, 40))
		return -CT_INV_ICMP;
	ip = c->d + off;
	if ((ip[0] >> 4) != 6)
		return -CT_INV_ICMP;
	memcpy(t->src, ip + 8, 16);
	memcpy(t->dst, ip + 24, 16);
	nh = ip[6];
	off += 40;
	/* The quote is usually cut short: walk to what is there, not to the payload length. */
	rc = ipv6_walk(c, &off, end, &nh, &ff);
	if (rc != 0)
		return -CT_INV_ICMP;
	t->proto = nh;
	return quoted_ports(c, off, end, t);
}

/* SCTP chunk types (RFC 9260) that the tracker looks at. */
#define SCTP_DATA              0
#define SCTP_INIT              1
#define SCTP_INIT_ACK          2
#define SCTP_HEARTBEAT         4
#define SCTP_HEARTBEAT_ACK     5
#define SCTP_ABORT             6
#define SCTP_SHUTDOWN          7
#define SCTP_SHUTDOWN_ACK      8
#define SCTP_ERROR             9
#define SCTP_COOKIE_ECHO       10
#define SCTP_COOKIE_ACK        11
#define SCTP_SHUTDOWN_COMPLETE 14

/* A chunk type's row in ct_sctp_table, or CT_SCTP_C_MAX for one that changes no state. */
static unsigned
sctp_chunk_row(uint8_t type)
{
	switch (type) {
	case SCTP_INIT: return CT_SCTP_C_INIT;
	case SCTP_INIT_ACK: return CT_SCTP_C_INIT_ACK;
	case SCTP_ABORT: return CT_SCTP_C_ABORT;
	case SCTP_SHUTDOWN: return CT_SCTP_C_SHUTDOWN;
	case SCTP_SHUTDOWN_ACK: return CT_SCTP_C_SHUTDOWN_ACK;
	case SCTP_ERROR: return CT_SCTP_C_ERROR;
	case SCTP_COOKIE_ECHO: return CT_SCTP_C_COOKIE_ECHO;
	case SCTP_COOKIE_ACK: return CT_SCTP_C_COOKIE_ACK;
	case SCTP_SHUTDOWN_COMPLETE: return CT_SCTP_C_SHUTDOWN_COMPLETE;
	case SCTP_HEARTBEAT: return CT_SCTP_C_HEARTBEAT;
	case SCTP_HEARTBEAT_ACK: return CT_SCTP_C_HEARTBEAT_ACK;
	default: return CT_SCTP_C_MAX;
	}
}

static uint8_t
sctp_chunk_map(unsigned row)
{
	switch (row) {
	case CT_SCTP_C_INIT: return CT_SCTP_M_INIT;
	case CT_SCTP_C_SHUTDOWN_COMPLETE: return CT_SCTP_M_SHUT_COMP;
	case CT_SCTP_C_COOKIE_ECHO: return CT_SCTP_M_COOKIE_ECHO;
	case CT_SCTP_C_ABORT: return CT_SCTP_M_ABORT;
	case CT_SCTP_C_SHUTDOWN_ACK: return CT_SCTP_M_SHUT_ACK;
	case CT_SCTP_C_HEARTBEAT: return CT_SCTP_M_HEARTBEAT;
	case CT_SCTP_C_HEARTBEAT_ACK: return CT_SCTP_M_HB_ACK;
	case CT_SCTP_C_COOKIE_ACK: return CT_SCTP_M_COOKIE_ACK;
	default: return 0;
	}
}

/*
 * The chunks of the SCTP packet whose common header is at `off` (end: the
 * IP payload's end), walked as Linux's for_each_sctp_chunk() and checked as
 * its do_basic_checks(): a zero length, COOKIE_ECHO or COOKIE_ACK not first,
 * INIT, INIT_ACK or SHUTDOWN_COMPLETE not alone, or no chunk at all set
 * CT_SCTP_O_BAD. The summary goes into out (ct.h, ct_private.h: CT_SCTP_*).
 */
static void
parse_sctp_chunks(const struct pctx *c, uint32_t off, uint32_t end, struct ct_pkt *out)
{
	uint32_t o, count = 0, seq = 0, nseq = 0;
	bool alone = false;

	out->tcp_seq = rd32(c->d + off + 4);
	for (o = off + 12; o < end && end - o >= 4 && have(c, o, 4); count++) {
		const uint8_t *ch = c->d + o;
		uint16_t len = rd16(ch + 2);
		unsigned row = sctp_chunk_row(ch[0]);

		if (ch[0] == SCTP_INIT || ch[0] == SCTP_INIT_ACK || ch[0] == SCTP_SHUTDOWN_COMPLETE)
			alone = true;
		if (((ch[0] == SCTP_COOKIE_ACK || ch[0] == SCTP_COOKIE_ECHO || alone) &&
		     count != 0) || len == 0) {
			out->tcp_opts |= CT_SCTP_O_BAD;
			return;
		}
		if (row == CT_SCTP_C_MAX) {
			out->tcp_opts |= CT_SCTP_O_OTHER;
			if (ch[0] == SCTP_DATA)
				out->tcp_opts |= CT_SCTP_O_DATA;
		} else if (nseq == CT_SCTP_SEQ_MAX) {
			out->tcp_opts |= CT_SCTP_O_MANY;
		} else {
			if (row == CT_SCTP_C_INIT || row == CT_SCTP_C_INIT_ACK) {
				/* Linux reads the whole 16-byte INIT header, within the packet. */
				if (end - o < 4 + 16 || !have(c, o + 4, 16)) {
					out->tcp_opts |= CT_SCTP_O_BAD;
					return;
				}
				out->tcp_ack = rd32(ch + 4);
			}
			seq |= (uint32_t)((row + 1) | ((ch[1] & 0x01) ? CT_SCTP_SEQ_T : 0))
			       << (nseq * CT_SCTP_SEQ_BITS);
			nseq++;
			out->tcp_flags |= sctp_chunk_map(row);
		}
		if (end - o < (((uint32_t)len + 3) & ~3u))
			break;
		o += ((uint32_t)len + 3) & ~3u;
	}
	if (count == 0)
		out->tcp_opts |= CT_SCTP_O_BAD;
	out->tcp_sack = seq;
}

/*
 * The transport header at `off`..`end` (end = end of the IP payload).
 * `frag`: a first fragment, whose L4 payload continues in later fragments.
 */
static int
parse_l4(const struct pctx *c, uint32_t off, uint32_t end, bool frag, struct ct_pkt *out)
{
	struct ct_tuple *t = &out->tuple;
	uint32_t l4len = end - off;
	enum ct_invalid_reason trunc = frag ? CT_INV_IP_FRAG : CT_INV_TRUNC_L4;
	const uint8_t *p;
	int rc;

	out->l4_off = (uint16_t)off;
	switch (t->proto) {
	case P_TCP: {
		uint32_t doff;

		if (l4len < 20 || !have(c, off, 20))
			return set_invalid(out, trunc);
		p = c->d + off;
		doff = (uint32_t)(p[12] >> 4) * 4;
		if (doff < 20)
			return set_invalid(out, CT_INV_TCP_DOFF);
		if (doff > l4len)
			return set_invalid(out, frag ? CT_INV_IP_FRAG : CT_INV_TCP_DOFF);
		out->tcp_flags = p[13];
		if (ct_tcp_flags_invalid(p[13]))
			return set_invalid(out, CT_INV_TCP_FLAGS);
		t->sport = rd16(p);
		t->dport = rd16(p + 2);
		out->tcp_seq = rd32(p + 4);
		out->tcp_ack = rd32(p + 8);
		out->tcp_win = rd16(p + 14);
		out->payload_len = (uint16_t)(l4len - doff);
		ct_parse_tcp_options(c, off + 20, doff - 20, out);
		break;
	}
	case P_UDP:
	case P_UDPLITE: {
		uint32_t ulen;

		if (l4len < 8 || !have(c, off, 8))
			return set_invalid(out, trunc);
		p = c->d + off;
		ulen = rd16(p + 4);
		if (t->proto == P_UDPLITE) {
			/* UDP-Lite: the field is the checksum coverage, 0 = everything. */
			if (ulen == 0)
				ulen = l4len;
			else if (ulen < 8 || (!frag && ulen > l4len))
				return set_invalid(out, CT_INV_UDP_LEN);
			ulen = l4len;
		} else if (ulen < 8 || (!frag && ulen > l4len)) {
			/*
			 * In a first fragment the length covers the whole datagram.
			 * Shorter than the IP payload is what Linux lets through
			 * (udp_error()); the checksum, over the IP payload, catches it.
			 */
			return set_invalid(out, CT_INV_UDP_LEN);
		}
		t->sport = rd16(p);
		t->dport = rd16(p + 2);
		out->payload_len = (uint16_t)((frag ? l4len : ulen) - 8);
		break;
	}
	case P_SCTP: {
		/* The common header is 12 bytes. */
		if (l4len < 12 || !have(c, off, 12))
			return set_invalid(out, trunc);
		p = c->d + off;
		/* The tracker needs every chunk: a first fragment has not got them. */
		if (frag)
			return set_invalid(out, CT_INV_IP_FRAG);
		parse_sctp_chunks(c, off, end, out);
		t->sport = rd16(p);
		t->dport = rd16(p + 2);
		out->payload_len = (uint16_t)(l4len - 12);
		break;
	}
	case P_ICMP:
	case P_ICMPV6: {
		bool v6 = t->proto == P_ICMPV6;
		uint8_t type;

		if (l4len < 8 || !have(c, off, 8))
			return set_invalid(out, trunc);
		p = c->d + off;
		type = p[0];
		out->icmp_type = type;
		out->icmp_code = p[1];
		out->payload_len = (uint16_t)(l4len - 8);
		rc = v6 ? icmp6_query(type) : icmp4_query(type);
		if (rc != 0) {
			icmp_ports(t, v6, rc, p);
			break;
		}
		if (v6 ? type < 128 : icmp4_error(type)) {
			struct ct_tuple q;

			memset(&q, 0, sizeof(q));
			q.family = t->family;
			q.zone = t->zone;
			if (v6)
				rc = quoted_ipv6(c, off + 8, end, &q);
			else
				rc = quoted_ipv4(c, off + 8, end, &q);
			if (rc < 0)
				return set_invalid(out, frag ? CT_INV_IP_FRAG :
							       (enum ct_invalid_reason)-rc);
			*t = q;
			out->cls = CT_PKT_ICMP_ERROR;
			return CT_PKT_ICMP_ERROR;
		}
		if (v6 && icmp6_untracked(type)) {
			out->cls = CT_PKT_NOT_IP;
			return CT_PKT_NOT_IP;
		}
		return set_invalid(out, CT_INV_ICMP);
	}
	case P_GRE:
		/*
		 * Linux gre_pkt_to_tuple() without a PPTP keymap: GREv0 (or a
		 * header cut short) has keys 0; enhanced GRE (version 1) keys its
		 * destination by the call ID and must carry PPP.
		 */
		out->payload_len = (uint16_t)l4len;
		if (l4len < 4 || !have(c, off, 4) || (c->d[off + 1] & 0x07) != 1)
			break;
		if (l4len < 8 || !have(c, off, 8))
			break;
		p = c->d + off;
		if (rd16(p + 2) != 0x880b)
			return set_invalid(out, CT_INV_STATE);
		t->dport = rd16(p + 6);
		break;
	default:
		/* Generic: ports 0; the payload is everything after the IP headers. */
		out->payload_len = (uint16_t)l4len;
		break;
	}
	out->cls = CT_PKT_TRACK;
	return CT_PKT_TRACK;
}

static int
parse_ipv4(const struct pctx *c, uint32_t off, uint32_t wire_len, struct ct_pkt *out)
{
	const uint8_t *ip;
	uint32_t ihl, tot, end;
	uint16_t frag;
	bool first = false;

	if (!have(c, off, 20))
		return set_invalid(out, CT_INV_TRUNC_L3);
	ip = c->d + off;
	if ((ip[0] >> 4) != 4)
		return set_invalid(out, CT_INV_IP_VERSION);
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20 || !have(c, off, ihl))
		return set_invalid(out, CT_INV_IP_HDRLEN);
	tot = rd16(ip + 2);
	if (tot < ihl || tot > wire_len - off)
		return set_invalid(out, CT_INV_IP_TOTLEN);
	out->len = tot;
	out->tuple.family = 4;
	out->tuple.proto = ip[9];
	memcpy(out->tuple.src, ip + 12, 4);
	memcpy(out->tuple.dst, ip + 16, 4);
	frag = rd16(ip + 6);
	if (frag & 0x1fff) {
		out->cls = CT_PKT_FRAGMENT;
		return CT_PKT_FRAGMENT;
	}
	if (frag & 0x2000)
		first = true;
	end = off + tot;
	return parse_l4(c, off + ihl, end, first, out);
}

static int
parse_ipv6(const struct pctx *c, uint32_t off, uint32_t wire_len, struct ct_pkt *out)
{
	const uint8_t *ip;
	uint32_t end, l4;
	uint8_t nh;
	bool first = false;
	int rc;

	if (!have(c, off, 40))
		return set_invalid(out, CT_INV_TRUNC_L3);
	ip = c->d + off;
	if ((ip[0] >> 4) != 6)
		return set_invalid(out, CT_INV_IP_VERSION);
	if (rd16(ip + 4) > wire_len - off - 40)
		return set_invalid(out, CT_INV_IP_TOTLEN);
	end = off + 40 + rd16(ip + 4);
	out->len = 40 + (uint32_t)rd16(ip + 4);
	out->tuple.family = 6;
	memcpy(out->tuple.src, ip + 8, 16);
	memcpy(out->tuple.dst, ip + 24, 16);
	nh = ip[6];
	l4 = off + 40;
	rc = ipv6_walk(c, &l4, end, &nh, &first);
	out->tuple.proto = nh;
	if (rc == CT_PKT_FRAGMENT) {
		out->cls = CT_PKT_FRAGMENT;
		return CT_PKT_FRAGMENT;
	}
	if (rc < 0)
		return set_invalid(out, (enum ct_invalid_reason)-rc);
	if (l4 > UINT16_MAX)
		return set_invalid(out, CT_INV_IPV6_EXTHDR);
	/* ESP and "no next header": nothing more to read; generic tracking, ports 0. */
	return parse_l4(c, l4, end, first, out);
}

int
ct_parse_frame(const uint8_t *data, uint32_t cap, uint32_t wire_len, uint16_t zone,
	    struct ct_pkt *out)
{
	struct pctx c = { .d = data, .cap = cap };
	uint32_t off = ETH_HLEN;
	uint16_t et;
	unsigned tags = 0;

	*out = ct_pkt_zero;
	out->len = wire_len;
	out->tuple.zone = zone;
	if (!have(&c, 0, ETH_HLEN))
		return set_invalid(out, CT_INV_TRUNC_L2);
	et = rd16(data + 12);
	while (et == ETH_P_8021Q || et == ETH_P_8021AD || (et == ETH_P_QINQ_OLD && tags == 0)) {
		if (tags == 2) {
			/* A third tag: not parsed, see the header comment. */
			out->cls = CT_PKT_NOT_IP;
			return CT_PKT_NOT_IP;
		}
		if (!have(&c, off, 4))
			return set_invalid(out, CT_INV_TRUNC_L2);
		et = rd16(data + off + 2);
		off += 4;
		tags++;
	}
	out->l3_off = (uint8_t)off;
	switch (et) {
	case ETH_P_IPV4:
		return parse_ipv4(&c, off, wire_len, out);
	case ETH_P_IPV6:
		return parse_ipv6(&c, off, wire_len, out);
	default:
		out->l3_off = 0;
		out->cls = CT_PKT_NOT_IP;
		return CT_PKT_NOT_IP;
	}
}
