/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The expectation codec (lib/events/ev_nl_exp.c): every kind of message dpct
 * sends (NEW, DESTROY, dump answer; IPv4 and IPv6; FTP over TCP and TFTP
 * over UDP; a zone; an open and a fixed source port) is encoded, read back
 * field by field by our parser and by libnetfilter_conntrack's
 * nfexp_nlmsg_parse(), the library conntrack -E expect uses, and printed
 * with nfexp_snprintf(), which dpct-events' printer (ev_exp_text.c) must
 * match character for character. The attribute order is Linux's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_nl.h"
#include "ev_nl_exp.h"
#include "ev_exp_text.h"

static uint8_t buf[4096] __attribute__((aligned(8)));

static void
v4(uint8_t *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	memset(a, 0, 16);
	a[0] = x;
	a[1] = y;
	a[2] = z;
	a[3] = w;
}

static void
v6(uint8_t *a, uint8_t last)
{
	memset(a, 0, 16);
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[15] = last;
}

/* An FTP data expectation: client 10.0.0.1:40000 -> server 10.0.0.2:21 is
 * the master; the server connects from any port to the client's 50000. */
static void
rec_ftp4(struct ct_event_rec *r, uint16_t events)
{
	memset(r, 0, sizeof(*r));
	r->flags = CT_REC_F_EXP;
	r->events = events;
	r->orig.family = 4;
	r->orig.proto = IPPROTO_TCP;
	v4(r->orig.src, 10, 0, 0, 2);
	v4(r->orig.dst, 10, 0, 0, 1);
	r->orig.sport = 0;
	r->orig.dport = 50000;
	r->reply.family = 4;
	r->reply.proto = IPPROTO_TCP;
	v4(r->reply.src, 10, 0, 0, 1);
	v4(r->reply.dst, 10, 0, 0, 2);
	r->reply.sport = 40000;
	r->reply.dport = 21;
	r->id = 0x01020304;
	r->master_id = 77;
	r->timeout_s = 300;
	r->status = 0;
	r->exp_class = 0;
	r->exp_helper = CT_EXP_HELPER_FTP;
}

static void
rec_tftp6(struct ct_event_rec *r, uint16_t events)
{
	memset(r, 0, sizeof(*r));
	r->flags = CT_REC_F_EXP;
	r->events = events;
	r->orig.family = 6;
	r->orig.proto = IPPROTO_UDP;
	v6(r->orig.src, 2);
	v6(r->orig.dst, 1);
	r->orig.sport = 0;
	r->orig.dport = 33333;
	r->orig.zone = 7;
	r->reply.family = 6;
	r->reply.proto = IPPROTO_UDP;
	v6(r->reply.src, 1);
	v6(r->reply.dst, 2);
	r->reply.sport = 33333;
	r->reply.dport = 69;
	r->reply.zone = 7;
	r->id = 9;
	r->timeout_s = 5;
	r->status = 0x2; /* NF_CT_EXPECT_INACTIVE */
	r->exp_class = 1;
	r->exp_helper = CT_EXP_HELPER_TFTP;
}

static int
tuple_eq(const struct ct_tuple *a, const struct ct_tuple *b)
{
	size_t alen = a->family == 4 ? 4 : 16;

	return a->family == b->family && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport && memcmp(a->src, b->src, alen) == 0 &&
	       memcmp(a->dst, b->dst, alen) == 0;
}

/* The conntrack object nfexp hands back for a tuple matches ours. */
static int
nfct_tuple_eq(const struct nf_conntrack *ct, const struct ct_tuple *t)
{
	unsigned fam = t->family == 4 ? AF_INET : AF_INET6;

	if (nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) != fam)
		T_FAIL_("l3 %u", nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO));
	if (nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != t->proto)
		T_FAIL_("l4 %u", nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO));
	if (t->family == 4) {
		T_MEMEQ(nfct_get_attr(ct, ATTR_ORIG_IPV4_SRC), t->src, 4);
		T_MEMEQ(nfct_get_attr(ct, ATTR_ORIG_IPV4_DST), t->dst, 4);
	} else {
		T_MEMEQ(nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), t->src, 16);
		T_MEMEQ(nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), t->dst, 16);
	}
	T_UEQ(ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)), t->sport);
	T_UEQ(ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)), t->dport);
	return 0;
}

/* Encode `r` with `flags`, then read it back both ways. */
static int
roundtrip(const struct ct_event_rec *r, unsigned flags, char *line, size_t linelen)
{
	struct nf_expect *exp;
	struct ev_nl_exp p;
	struct ct_tuple m;
	struct nlmsghdr h;
	bool dump = (flags & EV_NL_F_DUMP) != 0;
	bool destroy = !dump && (r->events & CT_EXP_EV_DESTROY);
	size_t used;
	int len, type;

	memset(buf, 0xa5, sizeof(buf));
	len = ev_nl_exp_encode(r, flags, buf, 0, sizeof(buf));
	T_ASSERT(len > 0);
	T_EQ(len & 3, 0);
	memcpy(&h, buf, sizeof(h));
	T_UEQ(h.nlmsg_len, (unsigned)len);
	T_UEQ(h.nlmsg_type >> 8, NFNL_SUBSYS_CTNETLINK_EXP);
	T_UEQ(h.nlmsg_type & 0xff, destroy ? IPCTNL_MSG_EXP_DELETE : IPCTNL_MSG_EXP_NEW);
	T_UEQ(h.nlmsg_flags, dump ? NLM_F_MULTI : destroy ? 0 : (NLM_F_CREATE | NLM_F_EXCL));
	T_UEQ(buf[NLMSG_HDRLEN], r->orig.family == 4 ? AF_INET : AF_INET6);

	/* Linux's attribute order: tuple, mask, master, (zone), timeout, id,
	 * flags, class, helper. */
	{
		static const uint16_t want4[] = { CTA_EXPECT_TUPLE, CTA_EXPECT_MASK,
			CTA_EXPECT_MASTER, CTA_EXPECT_TIMEOUT, CTA_EXPECT_ID, CTA_EXPECT_FLAGS,
			CTA_EXPECT_CLASS, CTA_EXPECT_HELP_NAME };
		static const uint16_t wantz[] = { CTA_EXPECT_TUPLE, CTA_EXPECT_MASK,
			CTA_EXPECT_MASTER, CTA_EXPECT_ZONE, CTA_EXPECT_TIMEOUT, CTA_EXPECT_ID,
			CTA_EXPECT_FLAGS, CTA_EXPECT_CLASS, CTA_EXPECT_HELP_NAME };
		const uint16_t *want = r->orig.zone != 0 ? wantz : want4;
		/* No CTA_EXPECT_HELP_NAME (the last) without a helper. */
		unsigned nwant = (r->orig.zone != 0 ? 9 : 8) -
				 (r->exp_helper == CT_EXP_HELPER_NONE ? 1 : 0), k = 0;
		size_t pos = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));

		while (pos + NLA_HDRLEN <= (size_t)len) {
			struct nlattr a;

			memcpy(&a, buf + pos, sizeof(a));
			T_ASSERT(k < nwant);
			T_UEQ(a.nla_type & NLA_TYPE_MASK, want[k]);
			k++;
			pos += NLA_ALIGN(a.nla_len);
		}
		T_UEQ(k, nwant);
	}

	/* Ours. */
	T_EQ(ev_nl_exp_parse(buf, (size_t)len, &p, &used), 0);
	T_UEQ(used, (unsigned)len);
	/* The library prints no header for a dump line (NFCT_T_UNKNOWN, as
	 * conntrack -L expect); see below. */
	T_UEQ(p.kind, destroy ? EV_MASK_EXP_DESTROY : EV_MASK_EXP_NEW);
	T_ASSERT(tuple_eq(&p.tuple, &r->orig));
	T_ASSERT(tuple_eq(&p.master, &r->reply));
	T_UEQ(p.tuple.zone, r->orig.zone);
	T_UEQ(p.id, r->id);
	T_UEQ(p.timeout_s, r->timeout_s);
	T_UEQ(p.flags, r->status);
	T_UEQ(p.class_, r->exp_class);
	if (r->exp_helper == CT_EXP_HELPER_NONE)
		T_STREQ(p.helper, "");
	else
		T_STREQ(p.helper, ev_nl_exp_helper_name(r->exp_helper));
	T_ASSERT(p.present & EV_NL_EXP_HAS_MASK);
	T_UEQ(p.mask.sport, r->orig.sport != 0 ? 0xffff : 0);
	T_UEQ(p.mask.dport, 0xffff);
	memset(&m, 0xff, sizeof(m));
	T_MEMEQ(p.mask.dst, m.dst, r->orig.family == 4 ? 4 : 16);
	T_MEMEQ(p.mask.src, m.src, r->orig.family == 4 ? 4 : 16);
	/* Not a conntrack message. */
	{
		struct ev_nl_ct c;

		T_EQ(ev_nl_parse(buf, (size_t)len, &c, &used), -ENOMSG);
	}

	/* libnetfilter_conntrack's. */
	exp = nfexp_new();
	T_ASSERT(exp != NULL);
	T_EQ(nfexp_nlmsg_parse((struct nlmsghdr *)buf, exp), 0);
	if (nfct_tuple_eq(nfexp_get_attr(exp, ATTR_EXP_EXPECTED), &r->orig) != 0 ||
	    nfct_tuple_eq(nfexp_get_attr(exp, ATTR_EXP_MASTER), &r->reply) != 0) {
		nfexp_destroy(exp);
		T_FAIL_("%s", "tuples");
	}
	{
		const struct nf_conntrack *mk = nfexp_get_attr(exp, ATTR_EXP_MASK);

		T_ASSERT(mk != NULL);
		T_UEQ(ntohs(nfct_get_attr_u16(mk, ATTR_ORIG_PORT_SRC)), r->orig.sport ? 0xffff : 0);
		T_UEQ(ntohs(nfct_get_attr_u16(mk, ATTR_ORIG_PORT_DST)), 0xffff);
	}
	T_UEQ(nfexp_get_attr_u32(exp, ATTR_EXP_TIMEOUT), r->timeout_s);
	T_UEQ(nfexp_get_attr_u32(exp, ATTR_EXP_FLAGS), r->status);
	T_UEQ(nfexp_get_attr_u32(exp, ATTR_EXP_CLASS), r->exp_class);
	if (r->exp_helper != CT_EXP_HELPER_NONE)
		T_STREQ((const char *)nfexp_get_attr(exp, ATTR_EXP_HELPER_NAME),
			ev_nl_exp_helper_name(r->exp_helper));
	else
		T_ASSERT(!nfexp_attr_is_set(exp, ATTR_EXP_HELPER_NAME));
	if (r->orig.zone != 0)
		T_UEQ(nfexp_get_attr_u16(exp, ATTR_EXP_ZONE), r->orig.zone);
	else
		T_ASSERT(!nfexp_attr_is_set(exp, ATTR_EXP_ZONE));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	type = nfexp_parse_expect(NFCT_T_ALL, (struct nlmsghdr *)buf, exp);
#pragma GCC diagnostic pop
	/* A dump answer carries no NLM_F_CREATE: the library calls it an update. */
	T_EQ(type, destroy ? NFCT_T_DESTROY : dump ? NFCT_T_UPDATE : NFCT_T_NEW);
	T_ASSERT(nfexp_snprintf(line, (unsigned)linelen, exp,
				dump ? (unsigned)NFCT_T_UNKNOWN : (unsigned)type, NFCT_O_DEFAULT,
				0) > 0);
	printf("# %s\n", line);
	nfexp_destroy(exp);
	{
		char ours[512];

		T_ASSERT(ev_exp_text_format(ours, sizeof(ours), &p, !dump) > 0);
		T_STREQ(ours, line);
	}
	return 0;
}

static int
test_ftp4_new_destroy_dump(void)
{
	struct ct_event_rec r;
	char line[512];

	rec_ftp4(&r, CT_EXP_EV_NEW);
	T_EQ(roundtrip(&r, 0, line, sizeof(line)), 0);
	T_ASSERT(strstr(line, "[NEW]") != NULL);
	T_ASSERT(strstr(line, "dport=50000") != NULL);
	T_ASSERT(strstr(line, "helper=ftp") != NULL);
	rec_ftp4(&r, CT_EXP_EV_DESTROY);
	T_EQ(roundtrip(&r, 0, line, sizeof(line)), 0);
	T_ASSERT(strstr(line, "[DESTROY]") != NULL);
	/* Both bits (created and gone in one record): DESTROY wins. */
	rec_ftp4(&r, CT_EXP_EV_NEW | CT_EXP_EV_DESTROY);
	T_EQ(roundtrip(&r, 0, line, sizeof(line)), 0);
	rec_ftp4(&r, 0);
	T_EQ(roundtrip(&r, EV_NL_F_DUMP, line, sizeof(line)), 0);
	/* A fixed source port is masked 0xffff. */
	rec_ftp4(&r, CT_EXP_EV_NEW);
	r.orig.sport = 20;
	T_EQ(roundtrip(&r, 0, line, sizeof(line)), 0);
	/* Every flag, no helper name, a class. */
	rec_ftp4(&r, CT_EXP_EV_DESTROY);
	r.status = 0x7;
	r.exp_class = 3;
	r.exp_helper = CT_EXP_HELPER_NONE;
	T_EQ(roundtrip(&r, 0, line, sizeof(line)), 0);
	T_ASSERT(strstr(line, "PERMANENT,INACTIVE,USERSPACE class=3") != NULL);
	return 0;
}

static int
test_tftp6_zone(void)
{
	struct ct_event_rec r;
	char line[512];

	rec_tftp6(&r, CT_EXP_EV_NEW);
	T_EQ(roundtrip(&r, 0, line, sizeof(line)), 0);
	T_ASSERT(strstr(line, "helper=tftp") != NULL);
	rec_tftp6(&r, CT_EXP_EV_DESTROY);
	T_EQ(roundtrip(&r, 0, line, sizeof(line)), 0);
	rec_tftp6(&r, 0);
	T_EQ(roundtrip(&r, EV_NL_F_DUMP, line, sizeof(line)), 0);
	return 0;
}

static int
test_refusals(void)
{
	struct ct_event_rec r;
	struct ev_nl_exp p;
	size_t used, master_end;
	int len, rc;

	/* An expectation is never a conntrack message. */
	rec_ftp4(&r, CT_EXP_EV_NEW);
	T_ASSERT(!ev_nl_rec_encodable(&r, false));
	T_ASSERT(!ev_nl_rec_encodable(&r, true));
	T_EQ(ev_nl_encode(&r, 0, buf, 0, sizeof(buf)), -EINVAL);
	/* No event and not a dump, another family, not an expectation. */
	rec_ftp4(&r, 0);
	T_EQ(ev_nl_exp_encode(&r, 0, buf, 0, sizeof(buf)), -EINVAL);
	rec_ftp4(&r, CT_EXP_EV_NEW);
	r.orig.family = 5;
	T_EQ(ev_nl_exp_encode(&r, 0, buf, 0, sizeof(buf)), -EINVAL);
	rec_ftp4(&r, CT_EXP_EV_NEW);
	r.flags = 0;
	T_EQ(ev_nl_exp_encode(&r, 0, buf, 0, sizeof(buf)), -EINVAL);
	/* Misaligned offset, no room. */
	rec_ftp4(&r, CT_EXP_EV_NEW);
	T_EQ(ev_nl_exp_encode(&r, 0, buf, 2, sizeof(buf)), -EINVAL);
	T_EQ(ev_nl_exp_encode(&r, 0, buf, 0, 40), -ENOSPC);
	/*
	 * Every truncation of a valid message is read safely; one that ends
	 * before CTA_EXPECT_MASTER (the third attribute) is complete is refused.
	 */
	len = ev_nl_exp_encode(&r, 0, buf, 0, sizeof(buf));
	T_ASSERT(len > 0);
	{
		size_t pos = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
		struct nlattr a;
		unsigned k;

		for (k = 0; k < 3; k++) {
			memcpy(&a, buf + pos, sizeof(a));
			pos += NLA_ALIGN(a.nla_len);
		}
		master_end = pos;
	}
	for (size_t cut = 0; cut < (size_t)len; cut++) {
		uint8_t copy[512];
		struct nlmsghdr h;

		memcpy(copy, buf, (size_t)len);
		memcpy(&h, copy, sizeof(h));
		h.nlmsg_len = (uint32_t)cut;
		memcpy(copy, &h, sizeof(h));
		rc = ev_nl_exp_parse(copy, cut, &p, &used);
		if (cut < master_end)
			T_ASSERT(rc < 0);
		else if (rc == 0)
			T_ASSERT(tuple_eq(&p.tuple, &r.orig) && tuple_eq(&p.master, &r.reply));
	}
	/* A conntrack message is another type. */
	{
		struct ct_event_rec c;

		memset(&c, 0, sizeof(c));
		c.orig.family = 4;
		c.orig.proto = IPPROTO_UDP;
		c.events = CT_EV_NEW;
		len = ev_nl_encode(&c, 0, buf, 0, sizeof(buf));
		T_ASSERT(len > 0);
		T_EQ(ev_nl_exp_parse(buf, (size_t)len, &p, &used), -ENOMSG);
	}
	T_ASSERT(ev_nl_exp_helper_name(CT_EXP_HELPER_NONE) == NULL);
	T_ASSERT(ev_nl_exp_helper_name(200) == NULL);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_ftp4_new_destroy_dump),
	T_CASE(test_tftp6_zone),
	T_CASE(test_refusals),
};

T_MAIN(cases)
