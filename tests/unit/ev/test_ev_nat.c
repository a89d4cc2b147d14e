/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Translated flows in ctnetlink: the reply tuple of a message is the
 * record's (translated) reply tuple and CTA_STATUS carries the NAT bits with
 * Linux's numbers, judged by our parser, by libnetfilter_conntrack (what
 * conntrack -E prints) and by dpct-events' text printer. Port-block records
 * are never ctnetlink messages, in events or dumps, and never count as
 * events sent; record consumers still get them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_consumer.h"
#include "ev_nl.h"
#include "ev_text.h"

/* The bits as Linux numbers them (enum ip_conntrack_status). */
_Static_assert(CT_S_SRC_NAT == IPS_SRC_NAT, "IPS_SRC_NAT");
_Static_assert(CT_S_DST_NAT == IPS_DST_NAT, "IPS_DST_NAT");
_Static_assert(CT_S_SRC_NAT_DONE == IPS_SRC_NAT_DONE, "IPS_SRC_NAT_DONE");
_Static_assert(CT_S_DST_NAT_DONE == IPS_DST_NAT_DONE, "IPS_DST_NAT_DONE");

static uint8_t buf[8192] __attribute__((aligned(8)));

static void
addr4(uint8_t *a, const char *s)
{
	memset(a, 0, 16);
	inet_pton(AF_INET, s, a);
}

static void
tuple4(struct ct_tuple *t, uint8_t proto, const char *src, uint16_t sport, const char *dst,
       uint16_t dport)
{
	memset(t, 0, sizeof(*t));
	t->family = 4;
	t->proto = proto;
	addr4(t->src, src);
	addr4(t->dst, dst);
	t->sport = sport;
	t->dport = dport;
}

/* 10.0.0.2:40000 -> 192.0.2.1:80 leaves as 198.51.100.1:1024. */
static struct ct_event_rec
snat_rec(uint8_t proto, uint16_t events)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	tuple4(&r.orig, proto, "10.0.0.2", 40000, "192.0.2.1", 80);
	tuple4(&r.reply, proto, "192.0.2.1", 80, "198.51.100.1", 1024);
	r.status = CT_S_CONFIRMED | CT_S_SRC_NAT | CT_S_SRC_NAT_DONE;
	r.events = events;
	r.id = 4242;
	r.timeout_s = 120;
	r.tcp_state = CT_TCP_SYN_SENT;
	r.start_ns = 1700000000000000000ull;
	if (events & CT_EV_DESTROY) {
		r.status |= CT_S_SEEN_REPLY | CT_S_ASSURED | CT_S_DYING;
		r.stop_ns = r.start_ns + 3000000000ull;
		r.timeout_s = 0;
		r.pkts[0] = 3;
		r.pkts[1] = 2;
		r.bytes[0] = 180;
		r.bytes[1] = 120;
	}
	return r;
}

/* 203.0.113.9:5000 -> 198.51.100.20:80 forwarded to 10.0.0.5:8080. */
static struct ct_event_rec
dnat_rec(uint16_t events)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	tuple4(&r.orig, IPPROTO_UDP, "203.0.113.9", 5000, "198.51.100.20", 80);
	tuple4(&r.reply, IPPROTO_UDP, "10.0.0.5", 8080, "203.0.113.9", 5000);
	r.status = CT_S_CONFIRMED | CT_S_DST_NAT | CT_S_DST_NAT_DONE;
	r.events = events;
	r.id = 77;
	r.timeout_s = 30;
	return r;
}

static int
own_parse(const struct ct_event_rec *r, unsigned flags, struct ev_nl_ct *ct)
{
	size_t used;
	int len = ev_nl_encode(r, flags, buf, 0, sizeof(buf));

	T_ASSERT(len > 0);
	T_EQ(ev_nl_parse(buf, (size_t)len, ct, &used), 0);
	T_EQ(used, (size_t)len);
	T_ASSERT(ct->present & EV_NL_HAS_REPLY);
	T_ASSERT(ct->present & EV_NL_HAS_STATUS);
	return 0;
}

/* Our parser: both tuples as the record has them, the status bits untouched. */
static int
test_own_parser(void)
{
	static const uint16_t kinds[] = { CT_EV_NEW, CT_EV_ASSURED | CT_EV_REPLY, CT_EV_DESTROY };
	struct ev_nl_ct ct;
	unsigned k;

	for (k = 0; k < 3; k++) {
		struct ct_event_rec r = snat_rec(IPPROTO_TCP, kinds[k]);
		struct ct_event_rec d = dnat_rec(kinds[k]);

		T_EQ(own_parse(&r, EV_NL_F_DEFAULT, &ct), 0);
		T_MEMEQ(&ct.orig, &r.orig, sizeof(ct.orig));
		T_MEMEQ(&ct.reply, &r.reply, sizeof(ct.reply));
		T_UEQ(ct.status, r.status);
		T_ASSERT(ct.status & IPS_SRC_NAT);
		T_ASSERT(ct.status & IPS_SRC_NAT_DONE);
		T_ASSERT(!(ct.status & (IPS_DST_NAT | IPS_DST_NAT_DONE)));
		T_EQ(own_parse(&d, EV_NL_F_DEFAULT, &ct), 0);
		T_MEMEQ(&ct.reply, &d.reply, sizeof(ct.reply));
		T_UEQ(ct.status, d.status);
		T_ASSERT((ct.status & (IPS_DST_NAT | IPS_DST_NAT_DONE)) ==
			 (IPS_DST_NAT | IPS_DST_NAT_DONE));
	}
	/* A dump answer carries the translated reply tuple too. */
	{
		struct ct_event_rec r = snat_rec(IPPROTO_UDP, 0);

		T_EQ(own_parse(&r, EV_NL_F_DEFAULT | EV_NL_F_DUMP, &ct), 0);
		T_MEMEQ(&ct.reply, &r.reply, sizeof(ct.reply));
		T_UEQ(ct.status, r.status);
	}
	/* An untranslated record whose reply was never set: the reverse of orig. */
	{
		struct ct_event_rec r = snat_rec(IPPROTO_UDP, CT_EV_NEW);

		memset(&r.reply, 0, sizeof(r.reply));
		r.status = CT_S_CONFIRMED;
		T_EQ(own_parse(&r, EV_NL_F_DEFAULT, &ct), 0);
		T_MEMEQ(ct.reply.src, r.orig.dst, 16);
		T_MEMEQ(ct.reply.dst, r.orig.src, 16);
		T_EQ(ct.reply.sport, 80);
		T_EQ(ct.reply.dport, 40000);
	}
	return 0;
}

/* ICMP echo through SNAT: the identifier is translated too (reply dport). */
static int
test_icmp_id(void)
{
	struct ct_event_rec r;
	struct ev_nl_ct ct;
	char out[1024];

	memset(&r, 0, sizeof(r));
	tuple4(&r.orig, IPPROTO_ICMP, "10.0.0.2", 0x1234, "192.0.2.1", 8);
	tuple4(&r.reply, IPPROTO_ICMP, "192.0.2.1", 8, "198.51.100.1", 2000);
	r.status = CT_S_CONFIRMED | CT_S_SRC_NAT | CT_S_SRC_NAT_DONE;
	r.events = CT_EV_NEW;
	r.id = 5;
	r.timeout_s = 30;
	T_EQ(own_parse(&r, EV_NL_F_DEFAULT, &ct), 0);
	T_EQ(ct.icmp_type[0], 8);
	T_EQ(ct.icmp_type[1], 0);
	T_EQ(ct.orig.sport, 0x1234);
	T_EQ(ct.reply.dport, 2000);
	T_ASSERT(ev_text_format(out, sizeof(out), &ct, 0, 0) > 0);
	if (strstr(out, "src=10.0.0.2 dst=192.0.2.1 type=8 code=0 id=4660 ") == NULL ||
	    strstr(out, "src=192.0.2.1 dst=198.51.100.1 type=0 code=0 id=2000") == NULL) {
		printf("# dpct-events: %s\n", out);
		return 1;
	}
	return 0;
}

/* libnetfilter_conntrack reads the translated reply tuple and the bits, and
 * prints both tuples as conntrack -E does; dpct-events prints the same. */
static int
test_nfct(void)
{
	/* Original tuple, then (after [UNREPLIED] for a NEW) the reply tuple. */
	static const char *const want[2][2] = {
		{ "src=10.0.0.2 dst=192.0.2.1 sport=40000 dport=80 ",
		  "src=192.0.2.1 dst=198.51.100.1 sport=80 dport=1024" },
		{ "src=203.0.113.9 dst=198.51.100.20 sport=5000 dport=80 ",
		  "src=10.0.0.5 dst=203.0.113.9 sport=8080 dport=5000" },
	};
	struct ct_event_rec recs[2] = { snat_rec(IPPROTO_TCP, CT_EV_NEW), dnat_rec(CT_EV_NEW) };
	unsigned i;

	for (i = 0; i < 2; i++) {
		const struct ct_event_rec *r = &recs[i];
		struct nf_conntrack *ct = nfct_new();
		struct ev_nl_ct mine;
		char out[1024], own[1024];
		size_t used;
		int len, type;

		T_ASSERT(ct != NULL);
		len = ev_nl_encode(r, EV_NL_F_DEFAULT, buf, 0, sizeof(buf));
		T_ASSERT(len > 0);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		type = nfct_parse_conntrack(NFCT_T_ALL, (struct nlmsghdr *)buf, ct);
#pragma GCC diagnostic pop
		T_EQ(type, NFCT_T_NEW);
		T_UEQ(nfct_get_attr_u32(ct, ATTR_STATUS), r->status);
		T_MEMEQ(nfct_get_attr(ct, ATTR_REPL_IPV4_SRC), r->reply.src, 4);
		T_MEMEQ(nfct_get_attr(ct, ATTR_REPL_IPV4_DST), r->reply.dst, 4);
		T_EQ(ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)), r->reply.sport);
		T_EQ(ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST)), r->reply.dport);
		T_MEMEQ(nfct_get_attr(ct, ATTR_ORIG_IPV4_SRC), r->orig.src, 4);
		T_EQ(ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)), r->orig.sport);
		nfct_snprintf(out, sizeof(out), ct, (unsigned)type, NFCT_O_DEFAULT, 0);
		nfct_destroy(ct);
		if (strstr(out, want[i][0]) == NULL || strstr(out, want[i][1]) == NULL ||
		    strstr(out, want[i][0]) > strstr(out, want[i][1])) {
			printf("# nfct_snprintf: %s\n", out);
			return 1;
		}
		T_EQ(ev_nl_parse(buf, (size_t)len, &mine, &used), 0);
		T_ASSERT(ev_text_format(own, sizeof(own), &mine, 0, 0) > 0);
		/* conntrack -E and dpct-events print the same line. */
		if (strcmp(own, out) != 0) {
			printf("# dpct-events: %s\n# conntrack:   %s\n", own, out);
			return 1;
		}
	}
	return 0;
}

static struct ct_event_rec
block_rec(uint8_t event)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	tuple4(&r.orig, 0, "10.1.2.3", 0, "0.0.0.0", 0);
	tuple4(&r.reply, 0, "0.0.0.0", 0, "203.0.113.1", 0);
	r.flags = CT_REC_F_NAT_BLOCK;
	r.block_lo = 1536;
	r.block_hi = 2047;
	r.nat_event = event;
	r.start_ns = 1700000000000000000ull;
	return r;
}

/* A port block is no connection: no message, whatever else the record says. */
static int
test_block_not_encoded(void)
{
	struct ct_event_rec r = block_rec(CT_NAT_BLOCK_ALLOC);

	T_ASSERT(!ev_nl_rec_encodable(&r, false));
	T_ASSERT(!ev_nl_rec_encodable(&r, true));
	T_EQ(ev_nl_encode(&r, EV_NL_F_DEFAULT, buf, 0, sizeof(buf)), -EINVAL);
	T_EQ(ev_nl_encode(&r, EV_NL_F_DEFAULT | EV_NL_F_DUMP, buf, 0, sizeof(buf)), -EINVAL);
	/* Even one that carried event bits by mistake. */
	r.events = CT_EV_NEW;
	T_ASSERT(!ev_nl_rec_encodable(&r, false));
	T_EQ(ev_nl_encode(&r, EV_NL_F_DEFAULT, buf, 0, sizeof(buf)), -EINVAL);
	return 0;
}

/* Through a control core: a socket listener never sees a port block, a
 * record consumer does, and events_sent counts only the connection. */
struct sink {
	unsigned msgs;
};

static int
sink_fn(void *arg, const struct iovec *iov, unsigned iovcnt, size_t bytes)
{
	struct sink *s = arg;

	(void)iov;
	(void)bytes;
	s->msgs += iovcnt;
	return 0;
}

struct cons {
	unsigned recs, blocks;
};

static int
cons_deliver(void *self, const struct ct_event_rec *recs, unsigned n, uint64_t now,
	     uint8_t *refused)
{
	struct cons *c = self;
	unsigned i;

	(void)now;
	for (i = 0; i < n; i++) {
		refused[i] = 0;
		c->recs++;
		if (recs[i].flags & CT_REC_F_NAT_BLOCK)
			c->blocks++;
	}
	return 0;
}

static void
cons_poll(void *self, uint64_t now)
{
	(void)self;
	(void)now;
}

static bool
cons_blocked(const void *self)
{
	(void)self;
	return false;
}

static const struct ev_consumer_ops cons_ops = {
	.kind = "test", .mask = EV_MASK_DESTROY, .deliver = cons_deliver, .poll = cons_poll,
	.blocked = cons_blocked,
};

static int
test_block_through_ctl(void)
{
	struct ct_event_rec r[3] = { block_rec(CT_NAT_BLOCK_ALLOC), snat_rec(IPPROTO_TCP,
		CT_EV_DESTROY), block_rec(CT_NAT_BLOCK_RELEASE) };
	struct ev_ctl_conf conf;
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	struct sink s = { 0 };
	struct cons k = { 0, 0 };
	char err[128];

	c = ev_chan_create(64, 64, err, sizeof(err));
	T_ASSERT(c != NULL);
	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.max_listeners = 3;
	ctl = ev_ctl_create(&conf, &c, 1, err, sizeof(err));
	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 11, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &s), 0);
	T_EQ(ev_ctl_add_consumer(ctl, &cons_ops, &k, true), 0);
	T_EQ(ev_chan_push_records(c, r, 3), 3);
	T_EQ(ev_ctl_step(ctl, 0, 64), 3);
	T_EQ(s.msgs, 1);
	T_EQ(k.recs, 3);
	T_EQ(k.blocks, 2);
	ev_ctl_get_stats(ctl, &st);
	T_UEQ(st.events_sent, 1);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_own_parser),
	T_CASE(test_icmp_id),
	T_CASE(test_nfct),
	T_CASE(test_block_not_encoded),
	T_CASE(test_block_through_ctl),
};

T_MAIN(cases)
