/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ctnetlink expectation codec (ev_nl_exp.h). The encoder writes into the
 * control core's datagram buffer with the writers ev_nl.c uses; the parser
 * is built on libnl's nla_parse() with policies.
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

#include "ev.h"
#include "ev_nl.h"
#include "ev_nl_exp.h"
#include "ev_nl_w.h"

static const char *const helper_names[] = {
	[CT_EXP_HELPER_FTP] = "ftp",
	[CT_EXP_HELPER_TFTP] = "tftp",
};

const char *
ev_nl_exp_helper_name(unsigned helper)
{
	if (helper >= sizeof(helper_names) / sizeof(helper_names[0]))
		return NULL;
	return helper_names[helper];
}

bool
ev_nl_exp_encodable(const struct ct_event_rec *r, bool dump)
{
	if (!(r->flags & CT_REC_F_EXP))
		return false;
	if (r->orig.family != 4 && r->orig.family != 6)
		return false;
	return dump || (r->events & (CT_EXP_EV_NEW | CT_EXP_EV_DESTROY)) != 0;
}

unsigned
ev_nl_exp_kind(const struct ct_event_rec *r)
{
	return (r->events & CT_EXP_EV_DESTROY) ? EV_MASK_EXP_DESTROY : EV_MASK_EXP_NEW;
}

/* ctnetlink_exp_dump_mask(): the mask as a tuple of the expected tuple's family. */
static void
exp_mask(const struct ct_tuple *t, struct ct_tuple *m)
{
	static const uint8_t zero[16];
	size_t alen = t->family == 4 ? 4 : 16;

	memset(m, 0, sizeof(*m));
	m->family = t->family;
	m->proto = t->proto;
	if (memcmp(t->src, zero, alen) != 0)
		memset(m->src, 0xff, alen);
	memset(m->dst, 0xff, alen);
	m->sport = t->sport != 0 ? 0xffff : 0;
	m->dport = 0xffff;
}

int
ev_nl_exp_encode(const struct ct_event_rec *r, unsigned flags, uint8_t *dgram, size_t off,
		 size_t cap)
{
	struct nl_w w = { .base = dgram, .pos = off, .cap = cap, .overflow = false };
	bool dump = (flags & EV_NL_F_DUMP) != 0;
	struct ct_tuple mask, master;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	const char *helper;
	bool destroy;

	if (!ev_nl_exp_encodable(r, dump))
		return -EINVAL;
	if ((off & 3) != 0 || off > cap)
		return -EINVAL;
	destroy = !dump && ev_nl_exp_kind(r) == EV_MASK_EXP_DESTROY;

	nlh = w_reserve(&w, NLMSG_HDRLEN);
	if (nlh == NULL)
		return -ENOSPC;
	nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_CTNETLINK_EXP << 8) |
				     (destroy ? IPCTNL_MSG_EXP_DELETE : IPCTNL_MSG_EXP_NEW));
	nlh->nlmsg_flags = dump ? NLM_F_MULTI : destroy ? 0 : (NLM_F_CREATE | NLM_F_EXCL);
	nlh->nlmsg_seq = 0;
	nlh->nlmsg_pid = 0;
	nfg = w_reserve(&w, sizeof(*nfg));
	if (nfg == NULL)
		return -ENOSPC;
	nfg->nfgen_family = r->orig.family == 4 ? AF_INET : AF_INET6;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;

	exp_mask(&r->orig, &mask);
	/* A master tuple of another family (unset) would be unreadable. */
	master = r->reply;
	if (master.family != r->orig.family)
		master.family = r->orig.family;
	w_tuple(&w, CTA_EXPECT_TUPLE, &r->orig, false);
	w_tuple(&w, CTA_EXPECT_MASK, &mask, false);
	w_tuple(&w, CTA_EXPECT_MASTER, &master, false);
	if (r->orig.zone != 0)
		w_be16(&w, CTA_EXPECT_ZONE, r->orig.zone);
	w_be32(&w, CTA_EXPECT_TIMEOUT, r->timeout_s);
	w_be32(&w, CTA_EXPECT_ID, r->id);
	w_be32(&w, CTA_EXPECT_FLAGS, r->status);
	w_be32(&w, CTA_EXPECT_CLASS, r->exp_class);
	helper = ev_nl_exp_helper_name(r->exp_helper);
	if (helper != NULL)
		w_put(&w, CTA_EXPECT_HELP_NAME, helper, (uint16_t)(strlen(helper) + 1));

	if (w.overflow)
		return -ENOSPC;
	nlh->nlmsg_len = (uint32_t)(w.pos - off);
	return (int)(w.pos - off);
}

/* ------------------------------------------------------------------------ */
/* Parser                                                                    */

static struct nla_policy exp_policy[CTA_EXPECT_MAX + 1] = {
	[CTA_EXPECT_MASTER] = { .type = NLA_NESTED },
	[CTA_EXPECT_TUPLE] = { .type = NLA_NESTED },
	[CTA_EXPECT_MASK] = { .type = NLA_NESTED },
	[CTA_EXPECT_TIMEOUT] = { .type = NLA_U32 },
	[CTA_EXPECT_ID] = { .type = NLA_U32 },
	[CTA_EXPECT_HELP_NAME] = { .type = NLA_STRING },
	[CTA_EXPECT_ZONE] = { .type = NLA_U16 },
	[CTA_EXPECT_FLAGS] = { .type = NLA_U32 },
	[CTA_EXPECT_CLASS] = { .type = NLA_U32 },
};

static struct nla_policy etuple_policy[CTA_TUPLE_MAX + 1] = {
	[CTA_TUPLE_IP] = { .type = NLA_NESTED },
	[CTA_TUPLE_PROTO] = { .type = NLA_NESTED },
};

static struct nla_policy eip_policy[CTA_IP_MAX + 1] = {
	[CTA_IP_V4_SRC] = { .type = NLA_U32 },
	[CTA_IP_V4_DST] = { .type = NLA_U32 },
	[CTA_IP_V6_SRC] = { .minlen = 16 },
	[CTA_IP_V6_DST] = { .minlen = 16 },
};

static struct nla_policy eproto_policy[CTA_PROTO_MAX + 1] = {
	[CTA_PROTO_NUM] = { .type = NLA_U8 },
	[CTA_PROTO_SRC_PORT] = { .type = NLA_U16 },
	[CTA_PROTO_DST_PORT] = { .type = NLA_U16 },
};

static uint32_t
be32_at(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, nla_data(a), 4);
	return be32toh(v);
}

static uint16_t
be16_at(const struct nlattr *a)
{
	uint16_t v;

	memcpy(&v, nla_data(a), 2);
	return be16toh(v);
}

/* A nested tuple: addresses of `family` (both required), protocol number
 * (required), ports when present. */
static int
parse_etuple(const struct nlattr *nest, uint8_t family, struct ct_tuple *t)
{
	struct nlattr *tb[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];
	int s = family == 4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
	int d = family == 4 ? CTA_IP_V4_DST : CTA_IP_V6_DST;
	size_t alen = family == 4 ? 4 : 16;

	memset(t, 0, sizeof(*t));
	if (nest == NULL ||
	    nla_parse_nested(tb, CTA_TUPLE_MAX, (struct nlattr *)nest, etuple_policy) < 0)
		return -EINVAL;
	if (tb[CTA_TUPLE_IP] == NULL || tb[CTA_TUPLE_PROTO] == NULL)
		return -EINVAL;
	if (nla_parse_nested(ip, CTA_IP_MAX, tb[CTA_TUPLE_IP], eip_policy) < 0 ||
	    nla_parse_nested(pr, CTA_PROTO_MAX, tb[CTA_TUPLE_PROTO], eproto_policy) < 0)
		return -EINVAL;
	if (ip[s] == NULL || ip[d] == NULL || pr[CTA_PROTO_NUM] == NULL)
		return -EINVAL;
	t->family = family;
	memcpy(t->src, nla_data(ip[s]), alen);
	memcpy(t->dst, nla_data(ip[d]), alen);
	t->proto = nla_get_u8(pr[CTA_PROTO_NUM]);
	if (pr[CTA_PROTO_SRC_PORT] != NULL)
		t->sport = be16_at(pr[CTA_PROTO_SRC_PORT]);
	if (pr[CTA_PROTO_DST_PORT] != NULL)
		t->dport = be16_at(pr[CTA_PROTO_DST_PORT]);
	return 0;
}

static int
parse_exp_attrs(struct nlattr **tb, struct ev_nl_exp *out)
{
	if (parse_etuple(tb[CTA_EXPECT_TUPLE], out->family, &out->tuple) < 0 ||
	    parse_etuple(tb[CTA_EXPECT_MASTER], out->family, &out->master) < 0)
		return -EINVAL;
	if (tb[CTA_EXPECT_MASK] != NULL) {
		if (parse_etuple(tb[CTA_EXPECT_MASK], out->family, &out->mask) < 0)
			return -EINVAL;
		out->present |= EV_NL_EXP_HAS_MASK;
	}
	if (tb[CTA_EXPECT_ZONE] != NULL) {
		out->tuple.zone = be16_at(tb[CTA_EXPECT_ZONE]);
		out->master.zone = out->tuple.zone;
		out->present |= EV_NL_EXP_HAS_ZONE;
	}
	if (tb[CTA_EXPECT_TIMEOUT] != NULL) {
		out->timeout_s = be32_at(tb[CTA_EXPECT_TIMEOUT]);
		out->present |= EV_NL_EXP_HAS_TIMEOUT;
	}
	if (tb[CTA_EXPECT_ID] != NULL) {
		out->id = be32_at(tb[CTA_EXPECT_ID]);
		out->present |= EV_NL_EXP_HAS_ID;
	}
	if (tb[CTA_EXPECT_FLAGS] != NULL) {
		out->flags = be32_at(tb[CTA_EXPECT_FLAGS]);
		out->present |= EV_NL_EXP_HAS_FLAGS;
	}
	if (tb[CTA_EXPECT_CLASS] != NULL) {
		out->class_ = be32_at(tb[CTA_EXPECT_CLASS]);
		out->present |= EV_NL_EXP_HAS_CLASS;
	}
	if (tb[CTA_EXPECT_HELP_NAME] != NULL) {
		size_t n = (size_t)nla_len(tb[CTA_EXPECT_HELP_NAME]);

		if (n >= sizeof(out->helper))
			n = sizeof(out->helper) - 1;
		memcpy(out->helper, nla_data(tb[CTA_EXPECT_HELP_NAME]), n);
		out->helper[n] = '\0';
		out->present |= EV_NL_EXP_HAS_HELPER;
	}
	return 0;
}

int
ev_nl_exp_parse(const void *buf, size_t len, struct ev_nl_exp *out, size_t *consumed)
{
	uint8_t copy[4096] __attribute__((aligned(8)));
	struct nlattr *tb[CTA_EXPECT_MAX + 1];
	size_t mlen, alen, hlen;
	struct nlmsghdr hdr;
	struct nfgenmsg nfg;
	uint8_t subsys, msg;

	*consumed = 0;
	memset(out, 0, sizeof(*out));
	if (len < NLMSG_HDRLEN)
		return -EINVAL;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.nlmsg_len < NLMSG_HDRLEN || hdr.nlmsg_len > len)
		return -EINVAL;
	mlen = hdr.nlmsg_len;
	alen = NLMSG_ALIGN(mlen);
	*consumed = alen < len ? alen : len;

	subsys = (uint8_t)(hdr.nlmsg_type >> 8);
	msg = (uint8_t)(hdr.nlmsg_type & 0xff);
	if (subsys != NFNL_SUBSYS_CTNETLINK_EXP ||
	    (msg != IPCTNL_MSG_EXP_NEW && msg != IPCTNL_MSG_EXP_DELETE))
		return -ENOMSG;
	hlen = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfg));
	if (mlen < hlen || mlen > sizeof(copy))
		return -EINVAL;
	memcpy(&nfg, (const uint8_t *)buf + NLMSG_HDRLEN, sizeof(nfg));
	if (nfg.nfgen_family == AF_INET)
		out->family = 4;
	else if (nfg.nfgen_family == AF_INET6)
		out->family = 6;
	else
		return -EINVAL;
	out->nl_flags = hdr.nlmsg_flags;
	out->kind = msg == IPCTNL_MSG_EXP_DELETE ? EV_MASK_EXP_DESTROY : EV_MASK_EXP_NEW;
	/* nla_parse() reads attribute headers in place: parse an aligned copy. */
	memcpy(copy, buf, mlen);
	if (nla_parse(tb, CTA_EXPECT_MAX, (struct nlattr *)(copy + hlen), (int)(mlen - hlen),
		      exp_policy) < 0)
		return -EINVAL;
	return parse_exp_attrs(tb, out);
}
