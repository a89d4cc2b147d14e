/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ctnetlink codec. The encoder writes straight into the control core's
 * datagram buffer: building an nl_msg per event would cost an allocation
 * and a copy per message at a million events a second, and the bytes are
 * the same. The parser is built on libnl's nla_parse() with policies, so
 * every attribute length is checked before it is read.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "ev.h"
#include "ev_nl.h"
#include "ev_nl_w.h"

/* The dpct ports of an ICMP tuple from its id, type and code (either orientation). */
static void
icmp_tuple_ports(struct ct_tuple *t, uint16_t id, uint8_t type, uint8_t code)
{
	bool v6 = t->proto == IPPROTO_ICMPV6;
	uint8_t req;

	if (v6)
		req = type == 129 ? 128 : type == 140 ? 139 : type;
	else
		req = type == 0 ? 8 : (type == 14 || type == 16 || type == 18) ? (uint8_t)(type - 1)
									     : type;
	if (req == type) {
		t->sport = id;
		t->dport = (uint16_t)(req | (uint16_t)code << 8);
	} else {
		t->sport = (uint16_t)(req | (uint16_t)code << 8);
		t->dport = id;
	}
}

/* ------------------------------------------------------------------------ */
/* Encoder                                                                   */

static void
w_counters(struct nl_w *w, uint16_t type, uint64_t pkts, uint64_t bytes, bool pad)
{
	size_t nest = w_nest_start(w, type);

	w_be64(w, CTA_COUNTERS_PACKETS, pkts, CTA_COUNTERS_PAD, pad);
	w_be64(w, CTA_COUNTERS_BYTES, bytes, CTA_COUNTERS_PAD, pad);
	w_nest_end(w, nest);
}

static void
w_protoinfo_tcp(struct nl_w *w, const struct ct_event_rec *r, bool destroy)
{
	/* struct nf_ct_tcp_flags {flags, mask}: the window tracker's flags, mask 0. */
	const uint8_t fo[2] = { r->tcp_dflags[0], 0 }, fr[2] = { r->tcp_dflags[1], 0 };
	size_t pi, tcp;

	pi = w_nest_start(w, CTA_PROTOINFO);
	tcp = w_nest_start(w, CTA_PROTOINFO_TCP);
	w_u8(w, CTA_PROTOINFO_TCP_STATE, r->tcp_state);
	if (!destroy) {
		w_u8(w, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, r->tcp_wscale[0]);
		w_u8(w, CTA_PROTOINFO_TCP_WSCALE_REPLY, r->tcp_wscale[1]);
		w_put(w, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, fo, sizeof(fo));
		w_put(w, CTA_PROTOINFO_TCP_FLAGS_REPLY, fr, sizeof(fr));
	}
	w_nest_end(w, tcp);
	w_nest_end(w, pi);
}

/* Linux sctp_to_nlattr(): the state; the tags except on a DESTROY. */
static void
w_protoinfo_sctp(struct nl_w *w, const struct ct_event_rec *r, bool destroy)
{
	size_t pi, sctp;

	pi = w_nest_start(w, CTA_PROTOINFO);
	sctp = w_nest_start(w, CTA_PROTOINFO_SCTP);
	w_u8(w, CTA_PROTOINFO_SCTP_STATE, r->tcp_state);
	if (!destroy) {
		w_be32(w, CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, r->sctp_vtag[0]);
		w_be32(w, CTA_PROTOINFO_SCTP_VTAG_REPLY, r->sctp_vtag[1]);
	}
	w_nest_end(w, sctp);
	w_nest_end(w, pi);
}

/* The protocol's CTA_PROTOINFO, for those that have one (TCP, SCTP). */
static void
w_protoinfo(struct nl_w *w, const struct ct_event_rec *r, bool destroy)
{
	if (r->orig.proto == IPPROTO_TCP)
		w_protoinfo_tcp(w, r, destroy);
	else if (r->orig.proto == IPPROTO_SCTP)
		w_protoinfo_sctp(w, r, destroy);
}

static void
tuple_reverse(struct ct_tuple *out, const struct ct_tuple *in)
{
	*out = *in;
	memcpy(out->src, in->dst, sizeof(out->src));
	memcpy(out->dst, in->src, sizeof(out->dst));
	out->sport = in->dport;
	out->dport = in->sport;
}

unsigned
ev_nl_rec_kind(const struct ct_event_rec *r)
{
	if (r->events & CT_EV_DESTROY)
		return EV_MASK_DESTROY;
	if (r->events & (CT_EV_NEW | CT_EV_RELATED))
		return EV_MASK_NEW;
	return EV_MASK_UPDATE;
}

bool
ev_nl_rec_encodable(const struct ct_event_rec *r, bool dump)
{
	/* A port block (CT_REC_F_NAT_BLOCK) is no connection: never a message;
	 * an expectation (CT_REC_F_EXP) is ev_nl_exp_encode()'s. */
	if (r->flags & (CT_REC_F_NAT_BLOCK | CT_REC_F_EXP))
		return false;
	return (r->orig.family == 4 || r->orig.family == 6) && (r->events != 0 || dump);
}

void
ev_nl_rec_reply(const struct ct_event_rec *r, struct ct_tuple *out)
{
	if (r->reply.family == r->orig.family && r->reply.proto == r->orig.proto)
		*out = r->reply;
	else
		tuple_reverse(out, &r->orig);
}

int
ev_nl_encode(const struct ct_event_rec *r, unsigned flags, uint8_t *dgram, size_t off,
	     size_t cap)
{
	struct nl_w w = { .base = dgram, .pos = off, .cap = cap, .overflow = false };
	struct ct_tuple reply;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	unsigned kind;
	bool pad = (flags & EV_NL_F_PAD64) != 0;
	bool dump = (flags & EV_NL_F_DUMP) != 0;
	bool destroy;

	if (!ev_nl_rec_encodable(r, dump))
		return -EINVAL;
	if ((off & 3) != 0 || off > cap)
		return -EINVAL;
	kind = dump ? EV_MASK_UPDATE : ev_nl_rec_kind(r);
	destroy = kind == EV_MASK_DESTROY;

	nlh = w_reserve(&w, NLMSG_HDRLEN);
	if (nlh == NULL)
		return -ENOSPC;
	nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_CTNETLINK << 8) |
				     (destroy ? IPCTNL_MSG_CT_DELETE : IPCTNL_MSG_CT_NEW));
	nlh->nlmsg_flags = dump ? NLM_F_MULTI :
			   kind == EV_MASK_NEW ? (NLM_F_CREATE | NLM_F_EXCL) : 0;
	nlh->nlmsg_seq = 0;
	nlh->nlmsg_pid = 0;
	nfg = w_reserve(&w, sizeof(*nfg));
	if (nfg == NULL)
		return -ENOSPC;
	nfg->nfgen_family = r->orig.family == 4 ? AF_INET : AF_INET6;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;

	ev_nl_rec_reply(r, &reply);
	w_tuple(&w, CTA_TUPLE_ORIG, &r->orig, false);
	w_tuple(&w, CTA_TUPLE_REPLY, &reply, true);
	if (r->orig.zone != 0)
		w_be16(&w, CTA_ZONE, r->orig.zone);
	/* The kernel writes its id raw; dpct's id is a number, so it goes out
	 * in network order and listeners print the id dpct logs. */
	w_be32(&w, CTA_ID, r->id);
	w_be32(&w, CTA_STATUS, r->status);

	if (dump) {
		/* ctnetlink_fill_info(): everything the entry has. */
		w_be32(&w, CTA_TIMEOUT, r->timeout_s);
		if (flags & EV_NL_F_ACCT) {
			w_counters(&w, CTA_COUNTERS_ORIG, r->pkts[0], r->bytes[0], pad);
			w_counters(&w, CTA_COUNTERS_REPLY, r->pkts[1], r->bytes[1], pad);
		}
		if (flags & EV_NL_F_TSTAMP) {
			size_t nest = w_nest_start(&w, CTA_TIMESTAMP);

			w_be64(&w, CTA_TIMESTAMP_START, r->start_ns, CTA_TIMESTAMP_PAD, pad);
			w_nest_end(&w, nest);
		}
		w_protoinfo(&w, r, false);
	} else if (destroy) {
		if (r->timeout_s != 0)
			w_be32(&w, CTA_TIMEOUT, r->timeout_s);
		if (flags & EV_NL_F_ACCT) {
			w_counters(&w, CTA_COUNTERS_ORIG, r->pkts[0], r->bytes[0], pad);
			w_counters(&w, CTA_COUNTERS_REPLY, r->pkts[1], r->bytes[1], pad);
		}
		if (flags & EV_NL_F_TSTAMP) {
			size_t nest = w_nest_start(&w, CTA_TIMESTAMP);

			w_be64(&w, CTA_TIMESTAMP_START, r->start_ns, CTA_TIMESTAMP_PAD, pad);
			if (r->stop_ns != 0)
				w_be64(&w, CTA_TIMESTAMP_STOP, r->stop_ns, CTA_TIMESTAMP_PAD,
				       pad);
			w_nest_end(&w, nest);
		}
		w_protoinfo(&w, r, true);
	} else {
		w_be32(&w, CTA_TIMEOUT, r->timeout_s);
		/* Linux caches IPCT_PROTOINFO with the state change of the first
		 * packet (TCP NONE -> SYN_SENT, SCTP NONE -> CLOSED, ...): a
		 * NEW always carries the state. */
		if (r->events & (CT_EV_NEW | CT_EV_RELATED | CT_EV_PROTOINFO))
			w_protoinfo(&w, r, false);
	}
	if (r->mark != 0 || (r->events & CT_EV_MARK))
		w_be32(&w, CTA_MARK, r->mark);

	if (w.overflow)
		return -ENOSPC;
	nlh->nlmsg_len = (uint32_t)(w.pos - off);
	return (int)(w.pos - off);
}

const char *
ev_nl_tcp_state_name(unsigned state)
{
	/* libnetfilter_conntrack's names, so dpct-events matches conntrack -E. */
	static const char *const names[CT_TCP_MAX] = {
		"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
		"LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
	};

	return state < CT_TCP_MAX ? names[state] : "UNKNOWN";
}

const char *
ev_nl_state_name(uint8_t proto, unsigned state)
{
	if (proto == IPPROTO_SCTP)
		return ct_sctp_state_name(state);
	return ev_nl_tcp_state_name(state);
}

/* ------------------------------------------------------------------------ */
/* Parser                                                                    */

static struct nla_policy ct_policy[CTA_MAX + 1] = {
	[CTA_TUPLE_ORIG] = { .type = NLA_NESTED },
	[CTA_TUPLE_REPLY] = { .type = NLA_NESTED },
	[CTA_STATUS] = { .type = NLA_U32 },
	[CTA_PROTOINFO] = { .type = NLA_NESTED },
	[CTA_TIMEOUT] = { .type = NLA_U32 },
	[CTA_MARK] = { .type = NLA_U32 },
	[CTA_COUNTERS_ORIG] = { .type = NLA_NESTED },
	[CTA_COUNTERS_REPLY] = { .type = NLA_NESTED },
	[CTA_ID] = { .type = NLA_U32 },
	[CTA_ZONE] = { .type = NLA_U16 },
	[CTA_TIMESTAMP] = { .type = NLA_NESTED },
};

static struct nla_policy tuple_policy[CTA_TUPLE_MAX + 1] = {
	[CTA_TUPLE_IP] = { .type = NLA_NESTED },
	[CTA_TUPLE_PROTO] = { .type = NLA_NESTED },
	[CTA_TUPLE_ZONE] = { .type = NLA_U16 },
};

static struct nla_policy ip_policy[CTA_IP_MAX + 1] = {
	[CTA_IP_V4_SRC] = { .type = NLA_U32 },
	[CTA_IP_V4_DST] = { .type = NLA_U32 },
	[CTA_IP_V6_SRC] = { .minlen = 16 },
	[CTA_IP_V6_DST] = { .minlen = 16 },
};

static struct nla_policy proto_policy[CTA_PROTO_MAX + 1] = {
	[CTA_PROTO_NUM] = { .type = NLA_U8 },
	[CTA_PROTO_SRC_PORT] = { .type = NLA_U16 },
	[CTA_PROTO_DST_PORT] = { .type = NLA_U16 },
	[CTA_PROTO_ICMP_ID] = { .type = NLA_U16 },
	[CTA_PROTO_ICMP_TYPE] = { .type = NLA_U8 },
	[CTA_PROTO_ICMP_CODE] = { .type = NLA_U8 },
	[CTA_PROTO_ICMPV6_ID] = { .type = NLA_U16 },
	[CTA_PROTO_ICMPV6_TYPE] = { .type = NLA_U8 },
	[CTA_PROTO_ICMPV6_CODE] = { .type = NLA_U8 },
};

static struct nla_policy protoinfo_policy[CTA_PROTOINFO_MAX + 1] = {
	[CTA_PROTOINFO_TCP] = { .type = NLA_NESTED },
	[CTA_PROTOINFO_SCTP] = { .type = NLA_NESTED },
};

static struct nla_policy sctp_policy[CTA_PROTOINFO_SCTP_MAX + 1] = {
	[CTA_PROTOINFO_SCTP_STATE] = { .type = NLA_U8 },
	[CTA_PROTOINFO_SCTP_VTAG_ORIGINAL] = { .type = NLA_U32 },
	[CTA_PROTOINFO_SCTP_VTAG_REPLY] = { .type = NLA_U32 },
};

static struct nla_policy tcp_policy[CTA_PROTOINFO_TCP_MAX + 1] = {
	[CTA_PROTOINFO_TCP_STATE] = { .type = NLA_U8 },
};

static struct nla_policy counters_policy[CTA_COUNTERS_MAX + 1] = {
	[CTA_COUNTERS_PACKETS] = { .type = NLA_U64 },
	[CTA_COUNTERS_BYTES] = { .type = NLA_U64 },
	[CTA_COUNTERS32_PACKETS] = { .type = NLA_U32 },
	[CTA_COUNTERS32_BYTES] = { .type = NLA_U32 },
};

static struct nla_policy tstamp_policy[CTA_TIMESTAMP_MAX + 1] = {
	[CTA_TIMESTAMP_START] = { .type = NLA_U64 },
	[CTA_TIMESTAMP_STOP] = { .type = NLA_U64 },
};

/* Attribute payloads are only 4-byte aligned (and a fuzzer's buffer not
 * even that): read through memcpy. */
static uint16_t
get_be16(const struct nlattr *a)
{
	uint16_t v;

	memcpy(&v, nla_data(a), sizeof(v));
	return be16toh(v);
}

static uint32_t
get_be32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, nla_data(a), sizeof(v));
	return be32toh(v);
}

static uint64_t
get_be64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, nla_data(a), sizeof(v));
	return be64toh(v);
}

static int
parse_nested(struct nlattr **tb, int max, const struct nlattr *nest,
	     struct nla_policy *policy)
{
	return nla_parse(tb, max, (struct nlattr *)nla_data(nest), nla_len(nest), policy) < 0 ?
		-EINVAL : 0;
}

static int
parse_tuple(const struct nlattr *nest, uint8_t family, struct ct_tuple *t, uint8_t *itype,
	    uint8_t *icode)
{
	struct nlattr *tb[CTA_TUPLE_MAX + 1];
	struct nlattr *ip[CTA_IP_MAX + 1];
	struct nlattr *pr[CTA_PROTO_MAX + 1];
	size_t alen = family == 4 ? 4 : 16;

	memset(t, 0, sizeof(*t));
	t->family = family;
	if (parse_nested(tb, CTA_TUPLE_MAX, nest, tuple_policy) < 0)
		return -EINVAL;
	if (tb[CTA_TUPLE_IP] == NULL || tb[CTA_TUPLE_PROTO] == NULL)
		return -EINVAL;
	if (parse_nested(ip, CTA_IP_MAX, tb[CTA_TUPLE_IP], ip_policy) < 0)
		return -EINVAL;
	if (family == 4) {
		if (ip[CTA_IP_V4_SRC] == NULL || ip[CTA_IP_V4_DST] == NULL)
			return -EINVAL;
		memcpy(t->src, nla_data(ip[CTA_IP_V4_SRC]), alen);
		memcpy(t->dst, nla_data(ip[CTA_IP_V4_DST]), alen);
	} else {
		if (ip[CTA_IP_V6_SRC] == NULL || ip[CTA_IP_V6_DST] == NULL)
			return -EINVAL;
		memcpy(t->src, nla_data(ip[CTA_IP_V6_SRC]), alen);
		memcpy(t->dst, nla_data(ip[CTA_IP_V6_DST]), alen);
	}
	if (parse_nested(pr, CTA_PROTO_MAX, tb[CTA_TUPLE_PROTO], proto_policy) < 0)
		return -EINVAL;
	if (pr[CTA_PROTO_NUM] == NULL)
		return -EINVAL;
	t->proto = nla_get_u8(pr[CTA_PROTO_NUM]);
	if (pr[CTA_PROTO_SRC_PORT] != NULL)
		t->sport = get_be16(pr[CTA_PROTO_SRC_PORT]);
	if (pr[CTA_PROTO_DST_PORT] != NULL)
		t->dport = get_be16(pr[CTA_PROTO_DST_PORT]);
	if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6) {
		int id = t->proto == IPPROTO_ICMP ? CTA_PROTO_ICMP_ID : CTA_PROTO_ICMPV6_ID;
		int ty = t->proto == IPPROTO_ICMP ? CTA_PROTO_ICMP_TYPE : CTA_PROTO_ICMPV6_TYPE;
		int co = t->proto == IPPROTO_ICMP ? CTA_PROTO_ICMP_CODE : CTA_PROTO_ICMPV6_CODE;

		if (pr[ty] != NULL)
			*itype = nla_get_u8(pr[ty]);
		if (pr[co] != NULL)
			*icode = nla_get_u8(pr[co]);
		if (pr[id] != NULL)
			icmp_tuple_ports(t, get_be16(pr[id]), pr[ty] != NULL ? *itype :
				(t->proto == IPPROTO_ICMP ? ICMP_ECHO_REQ : ICMPV6_ECHO_REQ),
				pr[co] != NULL ? *icode : 0);
	}
	if (tb[CTA_TUPLE_ZONE] != NULL)
		t->zone = get_be16(tb[CTA_TUPLE_ZONE]);
	return 0;
}

static int
parse_counters(const struct nlattr *nest, uint64_t *pkts, uint64_t *bytes)
{
	struct nlattr *tb[CTA_COUNTERS_MAX + 1];

	if (parse_nested(tb, CTA_COUNTERS_MAX, nest, counters_policy) < 0)
		return -EINVAL;
	if (tb[CTA_COUNTERS_PACKETS] != NULL)
		*pkts = get_be64(tb[CTA_COUNTERS_PACKETS]);
	else if (tb[CTA_COUNTERS32_PACKETS] != NULL)
		*pkts = get_be32(tb[CTA_COUNTERS32_PACKETS]);
	else
		return -EINVAL;
	if (tb[CTA_COUNTERS_BYTES] != NULL)
		*bytes = get_be64(tb[CTA_COUNTERS_BYTES]);
	else if (tb[CTA_COUNTERS32_BYTES] != NULL)
		*bytes = get_be32(tb[CTA_COUNTERS32_BYTES]);
	else
		return -EINVAL;
	return 0;
}

static int
parse_attrs(struct nlattr **tb, struct ev_nl_ct *out)
{
	if (tb[CTA_TUPLE_ORIG] == NULL)
		return -EINVAL;
	if (parse_tuple(tb[CTA_TUPLE_ORIG], out->family, &out->orig, &out->icmp_type[0],
			&out->icmp_code[0]) < 0)
		return -EINVAL;
	if (tb[CTA_TUPLE_REPLY] != NULL) {
		if (parse_tuple(tb[CTA_TUPLE_REPLY], out->family, &out->reply,
				&out->icmp_type[1], &out->icmp_code[1]) < 0)
			return -EINVAL;
		out->present |= EV_NL_HAS_REPLY;
	}
	if (tb[CTA_ZONE] != NULL) {
		out->orig.zone = get_be16(tb[CTA_ZONE]);
		out->reply.zone = out->orig.zone;
		out->present |= EV_NL_HAS_ZONE;
	}
	if (tb[CTA_ID] != NULL) {
		out->id = get_be32(tb[CTA_ID]);
		out->present |= EV_NL_HAS_ID;
	}
	if (tb[CTA_STATUS] != NULL) {
		out->status = get_be32(tb[CTA_STATUS]);
		out->present |= EV_NL_HAS_STATUS;
	}
	if (tb[CTA_TIMEOUT] != NULL) {
		out->timeout_s = get_be32(tb[CTA_TIMEOUT]);
		out->present |= EV_NL_HAS_TIMEOUT;
	}
	if (tb[CTA_MARK] != NULL) {
		out->mark = get_be32(tb[CTA_MARK]);
		out->present |= EV_NL_HAS_MARK;
	}
	if (tb[CTA_PROTOINFO] != NULL) {
		struct nlattr *pi[CTA_PROTOINFO_MAX + 1];
		struct nlattr *tcp[CTA_PROTOINFO_TCP_MAX + 1];

		if (parse_nested(pi, CTA_PROTOINFO_MAX, tb[CTA_PROTOINFO], protoinfo_policy) < 0)
			return -EINVAL;
		if (pi[CTA_PROTOINFO_TCP] != NULL) {
			if (parse_nested(tcp, CTA_PROTOINFO_TCP_MAX, pi[CTA_PROTOINFO_TCP],
					 tcp_policy) < 0)
				return -EINVAL;
			if (tcp[CTA_PROTOINFO_TCP_STATE] != NULL) {
				out->tcp_state = nla_get_u8(tcp[CTA_PROTOINFO_TCP_STATE]);
				out->present |= EV_NL_HAS_TCP_STATE;
			}
		}
		if (pi[CTA_PROTOINFO_SCTP] != NULL) {
			struct nlattr *sc[CTA_PROTOINFO_SCTP_MAX + 1];

			if (parse_nested(sc, CTA_PROTOINFO_SCTP_MAX, pi[CTA_PROTOINFO_SCTP],
					 sctp_policy) < 0)
				return -EINVAL;
			if (sc[CTA_PROTOINFO_SCTP_STATE] != NULL) {
				out->tcp_state = nla_get_u8(sc[CTA_PROTOINFO_SCTP_STATE]);
				out->present |= EV_NL_HAS_TCP_STATE;
			}
			if (sc[CTA_PROTOINFO_SCTP_VTAG_ORIGINAL] != NULL &&
			    sc[CTA_PROTOINFO_SCTP_VTAG_REPLY] != NULL) {
				out->sctp_vtag[0] = get_be32(sc[CTA_PROTOINFO_SCTP_VTAG_ORIGINAL]);
				out->sctp_vtag[1] = get_be32(sc[CTA_PROTOINFO_SCTP_VTAG_REPLY]);
				out->present |= EV_NL_HAS_SCTP_VTAG;
			}
		}
	}
	if (tb[CTA_COUNTERS_ORIG] != NULL && tb[CTA_COUNTERS_REPLY] != NULL) {
		if (parse_counters(tb[CTA_COUNTERS_ORIG], &out->pkts[0], &out->bytes[0]) < 0 ||
		    parse_counters(tb[CTA_COUNTERS_REPLY], &out->pkts[1], &out->bytes[1]) < 0)
			return -EINVAL;
		out->present |= EV_NL_HAS_COUNTERS;
	}
	if (tb[CTA_TIMESTAMP] != NULL) {
		struct nlattr *ts[CTA_TIMESTAMP_MAX + 1];

		if (parse_nested(ts, CTA_TIMESTAMP_MAX, tb[CTA_TIMESTAMP], tstamp_policy) < 0)
			return -EINVAL;
		if (ts[CTA_TIMESTAMP_START] != NULL) {
			out->start_ns = get_be64(ts[CTA_TIMESTAMP_START]);
			out->present |= EV_NL_HAS_START;
		}
		if (ts[CTA_TIMESTAMP_STOP] != NULL) {
			out->stop_ns = get_be64(ts[CTA_TIMESTAMP_STOP]);
			out->present |= EV_NL_HAS_STOP;
		}
	}
	return 0;
}

int
ev_nl_parse(const void *buf, size_t len, struct ev_nl_ct *out, size_t *consumed)
{
	struct nlattr *tb[CTA_MAX + 1];
	struct nlmsghdr hdr;
	struct nfgenmsg nfg;
	const uint8_t *p = buf;
	uint8_t subsys, msg;
	size_t mlen, alen;

	*consumed = 0;
	memset(out, 0, sizeof(*out));
	if (len < NLMSG_HDRLEN)
		return -EINVAL;
	memcpy(&hdr, p, sizeof(hdr));
	if (hdr.nlmsg_len < NLMSG_HDRLEN || hdr.nlmsg_len > len)
		return -EINVAL;
	mlen = hdr.nlmsg_len;
	alen = NLMSG_ALIGN(mlen);
	*consumed = alen < len ? alen : len;

	subsys = (uint8_t)(hdr.nlmsg_type >> 8);
	msg = (uint8_t)(hdr.nlmsg_type & 0xff);
	if (subsys != NFNL_SUBSYS_CTNETLINK ||
	    (msg != IPCTNL_MSG_CT_NEW && msg != IPCTNL_MSG_CT_DELETE))
		return -ENOMSG;
	if (mlen < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfg)))
		return -EINVAL;
	memcpy(&nfg, p + NLMSG_HDRLEN, sizeof(nfg));
	if (nfg.nfgen_family == AF_INET)
		out->family = 4;
	else if (nfg.nfgen_family == AF_INET6)
		out->family = 6;
	else
		return -EINVAL;
	out->nl_flags = hdr.nlmsg_flags;
	if (msg == IPCTNL_MSG_CT_DELETE)
		out->kind = EV_MASK_DESTROY;
	else if ((hdr.nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) != 0)
		out->kind = EV_MASK_NEW;
	else
		out->kind = EV_MASK_UPDATE;

	/*
	 * nla_parse() walks attributes in place; they must be 4-byte aligned
	 * for its header reads, so copy a misaligned message first.
	 */
	if (((uintptr_t)p & 3) != 0) {
		uint8_t copy[4096] __attribute__((aligned(8)));

		if (mlen > sizeof(copy))
			return -EINVAL;
		memcpy(copy, p, mlen);
		if (nla_parse(tb, CTA_MAX, (struct nlattr *)(copy + NLMSG_HDRLEN +
							     NLMSG_ALIGN(sizeof(nfg))),
			      (int)(mlen - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(nfg))),
			      ct_policy) < 0)
			return -EINVAL;
		return parse_attrs(tb, out);
	}
	if (nla_parse(tb, CTA_MAX, (struct nlattr *)(p + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfg))),
		      (int)(mlen - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(nfg))), ct_policy) < 0)
		return -EINVAL;
	return parse_attrs(tb, out);
}

int
ev_nl_parse_subscribe(const void *payload, size_t len, struct ev_subscribe *out)
{
	struct ev_subscribe s;

	if (payload == NULL || len < EV_SUBSCRIBE_MIN_LEN)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	memcpy(&s, payload, len < sizeof(s) ? len : sizeof(s));
	if (s.version != EV_PROTO_VERSION)
		return -EINVAL;
	if ((s.flags & ~(uint32_t)EV_SUB_F_RELIABLE) != 0)
		return -EINVAL;
	if ((s.mask & ~(uint32_t)EV_MASK_ANY) != 0)
		return -EINVAL;
	if (s.mask == 0)
		s.mask = EV_MASK_ALL;
	*out = s;
	return 0;
}
