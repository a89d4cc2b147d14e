/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Expectation records (CT_REC_F_EXP) through a channel and the control core,
 * with sinks as listeners: they reach only the listeners subscribed to the
 * expectation groups, as expectation messages; never connection listeners
 * or record consumers; a reliable listener's refusal comes back as
 * CT_RES_EXP_NACK / CT_RES_EXP_DESTROY_NACK, a delivered DESTROY as
 * CT_RES_EXP_DESTROY_ACK, and the exp_* counters say so. An expectation
 * dump (IPCTNL_MSG_EXP_GET + NLM_F_DUMP) over a socketpair, from a pager.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_consumer.h"
#include "ev_nl.h"
#include "ev_nl_exp.h"

struct sink {
	int rc;               /* what to answer */
	unsigned ct_msgs;     /* conntrack messages taken */
	unsigned exp_new, exp_destroy;
	uint32_t last_id;
	unsigned bad;         /* messages neither parser read */
};

static int
sink_fn(void *arg, const struct iovec *iov, unsigned iovcnt, size_t bytes)
{
	struct sink *s = arg;
	unsigned i;

	(void)bytes;
	if (s->rc != 0)
		return s->rc;
	for (i = 0; i < iovcnt; i++) {
		struct ev_nl_exp e;
		struct ev_nl_ct c;
		size_t used;

		if (ev_nl_exp_parse(iov[i].iov_base, iov[i].iov_len, &e, &used) == 0) {
			if (e.kind == EV_MASK_EXP_NEW)
				s->exp_new++;
			else
				s->exp_destroy++;
			s->last_id = e.id;
		} else if (ev_nl_parse(iov[i].iov_base, iov[i].iov_len, &c, &used) == 0) {
			s->ct_msgs++;
		} else {
			s->bad++;
		}
	}
	return 0;
}

static struct ct_event_rec
exp_rec(uint32_t slot, uint16_t events)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.flags = CT_REC_F_EXP;
	r.orig.family = 4;
	r.orig.proto = 6;
	r.orig.src[0] = 10;
	r.orig.dst[0] = 10;
	r.orig.dst[3] = 1;
	r.orig.dport = (uint16_t)(50000 + slot);
	r.reply.family = 4;
	r.reply.proto = 6;
	r.reply.src[0] = 10;
	r.reply.src[3] = 1;
	r.reply.dst[0] = 10;
	r.reply.sport = 40000;
	r.reply.dport = 21;
	r.slot = slot;
	r.id = 500 + slot;
	r.events = events;
	r.timeout_s = 300;
	r.exp_helper = CT_EXP_HELPER_FTP;
	return r;
}

static struct ct_event_rec
ct_rec(uint32_t slot, uint16_t events)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = 4;
	r.orig.proto = 17;
	r.orig.src[0] = 10;
	r.orig.dst[0] = 10;
	r.orig.sport = (uint16_t)(1000 + slot);
	r.orig.dport = 53;
	r.slot = slot;
	r.id = 100 + slot;
	r.events = events;
	r.status = CT_S_CONFIRMED;
	return r;
}

static struct ev_ctl *
mk_ctl(struct ev_chan **c)
{
	struct ev_ctl_conf conf;
	char err[128];

	*c = ev_chan_create(1024, 1024, err, sizeof(err));
	if (*c == NULL)
		return NULL;
	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.max_listeners = 6;
	return ev_ctl_create(&conf, c, 1, err, sizeof(err));
}

/*
 * Step until the channel is drained; the results it gave back, less the
 * CT_RES_EXP_NEW_ACKs (counted in *new_acks when not NULL: a NEW every
 * reliable listener took, which its DESTROY waits for).
 */
static unsigned
run_acks(struct ev_ctl *ctl, struct ev_chan *c, struct ct_result *res, unsigned max,
	 unsigned *new_acks)
{
	struct ct_result all[16];
	unsigned k, n, i, m = 0, a = 0;

	for (k = 0; k < 8 && ev_chan_records_pending(c) > 0; k++)
		ev_ctl_step(ctl, 1, 256);
	n = ev_chan_pull_results(c, all, max < 16 ? max : 16);
	for (i = 0; i < n; i++) {
		if (all[i].kind == CT_RES_EXP_NEW_ACK)
			a++;
		else
			res[m++] = all[i];
	}
	if (new_acks != NULL)
		*new_acks = a;
	return m;
}

static unsigned
run(struct ev_ctl *ctl, struct ev_chan *c, struct ct_result *res, unsigned max)
{
	return run_acks(ctl, c, res, max, NULL);
}

static int
test_subscribe_masks(void)
{
	struct ev_subscribe sub;
	uint32_t p[3] = { EV_PROTO_VERSION, 0, EV_MASK_EXP };

	T_EQ(ev_nl_parse_subscribe(p, sizeof(p), &sub), 0);
	T_UEQ(sub.mask, EV_MASK_EXP);
	p[2] = EV_MASK_EXP_NEW | EV_MASK_NEW;
	T_EQ(ev_nl_parse_subscribe(p, sizeof(p), &sub), 0);
	/* NFNLGRP_NFTABLES (bit 6) and beyond are not ours. */
	p[2] = 0x40;
	T_EQ(ev_nl_parse_subscribe(p, sizeof(p), &sub), -EINVAL);
	/* Mask 0 is connections only: expectations are asked for. */
	p[2] = 0;
	T_EQ(ev_nl_parse_subscribe(p, sizeof(p), &sub), 0);
	T_UEQ(sub.mask & EV_MASK_EXP, 0);
	return 0;
}

static int
test_routing(void)
{
	struct sink conn = { 0 }, exp = { 0 }, expnew = { 0 };
	struct ct_event_rec in[4];
	struct ct_result res[8];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c);
	unsigned n, acks;

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 1, 0, EV_MASK_ALL, sink_fn, &conn), 0);
	T_UEQ(ev_chan_kinds(c) & EV_MASK_EXP, 0);
	T_EQ(ev_ctl_add_sink(ctl, 2, EV_SUB_F_RELIABLE, EV_MASK_EXP, sink_fn, &exp), 0);
	T_EQ(ev_ctl_add_sink(ctl, 3, 0, EV_MASK_EXP_NEW, sink_fn, &expnew), 0);
	/* The workers learn that expectations are wanted. */
	T_UEQ(ev_chan_kinds(c) & EV_MASK_EXP, EV_MASK_EXP);

	in[0] = ct_rec(1, CT_EV_NEW);
	in[1] = exp_rec(2, CT_EXP_EV_NEW);
	in[2] = exp_rec(2, CT_EXP_EV_DESTROY);
	in[3] = ct_rec(1, CT_EV_DESTROY);
	T_UEQ(ev_chan_push_records(c, in, 4), 4);
	n = run_acks(ctl, c, res, 8, &acks);
	/* The expectation's NEW, taken by every listener of it, is acked. */
	T_UEQ(acks, 1);

	T_UEQ(conn.ct_msgs, 2);
	T_UEQ(conn.exp_new + conn.exp_destroy, 0);
	T_UEQ(exp.ct_msgs, 0);
	T_UEQ(exp.exp_new, 1);
	T_UEQ(exp.exp_destroy, 1);
	T_UEQ(exp.last_id, 502);
	T_UEQ(expnew.exp_new, 1);
	T_UEQ(expnew.exp_destroy, 0);
	T_UEQ(conn.bad + exp.bad + expnew.bad, 0);

	/* The connection's destroy ack, and the expectation's. */
	T_UEQ(n, 2);
	T_UEQ(res[0].kind, CT_RES_EXP_DESTROY_ACK);
	T_UEQ(res[0].slot, 2);
	T_UEQ(res[0].id, 502);
	T_UEQ(res[1].kind, CT_RES_DESTROY_ACK);
	T_UEQ(res[1].slot, 1);

	ev_ctl_get_stats(ctl, &st);
	T_UEQ(st.exp_sent, 2);
	T_UEQ(st.exp_destroy_acked, 1);
	T_UEQ(st.exp_failed, 0);
	T_UEQ(st.events_sent, 2);
	T_UEQ(st.destroy_acked, 1);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

static int
test_refusing_listener(void)
{
	struct sink rel = { .rc = -EAGAIN }, unrel = { .rc = -EAGAIN };
	struct ct_event_rec in[2];
	struct ct_result res[8];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c);
	unsigned n;

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 1, EV_SUB_F_RELIABLE, EV_MASK_EXP, sink_fn, &rel), 0);
	T_EQ(ev_ctl_add_sink(ctl, 2, 0, EV_MASK_EXP, sink_fn, &unrel), 0);

	in[0] = exp_rec(4, CT_EXP_EV_NEW);
	in[1] = exp_rec(5, CT_EXP_EV_DESTROY);
	T_UEQ(ev_chan_push_records(c, in, 2), 2);
	n = run(ctl, c, res, 8);
	T_UEQ(n, 2);
	T_UEQ(res[0].kind, CT_RES_EXP_NACK);
	T_UEQ(res[0].slot, 4);
	T_UEQ(res[0].id, 504);
	T_UEQ(res[0].events, CT_EXP_EV_NEW);
	T_UEQ(res[1].kind, CT_RES_EXP_DESTROY_NACK);
	T_UEQ(res[1].slot, 5);
	/* Only the reliable listener's slot (0) is waited for. */
	T_UEQ(res[1].targets, 1u << 0);
	ev_ctl_get_stats(ctl, &st);
	T_UEQ(st.exp_failed, 2);
	T_UEQ(st.exp_sent, 0);
	T_UEQ(st.events_failed, 0);

	/* The worker resends the DESTROY to the slot that refused; the
	 * listener has room now: acked, counted as a resend. */
	rel.rc = 0;
	unrel.rc = 0;
	in[0] = exp_rec(5, CT_EXP_EV_DESTROY);
	in[0].flags |= CT_REC_F_RESEND;
	in[0].targets = 1u << 0;
	in[1] = exp_rec(4, CT_EXP_EV_NEW);
	in[1].flags |= CT_REC_F_RETRY;
	T_UEQ(ev_chan_push_records(c, in, 2), 2);
	n = run(ctl, c, res, 8);
	T_UEQ(n, 1);
	T_UEQ(res[0].kind, CT_RES_EXP_DESTROY_ACK);
	T_UEQ(res[0].slot, 5);
	T_UEQ(rel.exp_destroy, 1);
	T_UEQ(rel.exp_new, 1);
	/* The resend was for the reliable slot only. */
	T_UEQ(unrel.exp_destroy, 0);
	T_UEQ(unrel.exp_new, 1);
	ev_ctl_get_stats(ctl, &st);
	T_UEQ(st.exp_resent, 1);
	T_UEQ(st.exp_retried, 1);
	T_UEQ(st.exp_destroy_acked, 1);
	T_UEQ(st.destroy_resent, 0);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

struct cons {
	unsigned delivered, done, exp_seen, begun;
	const struct sink *conn;   /* a connection listener: what it had at chunk_begin() */
	unsigned conn_at_begin;
	int begun_before_deliver;  /* 1: chunk_begin() came before deliver(); -1: after */
};

static int
cons_deliver(void *self, const struct ct_event_rec *recs, unsigned n, uint64_t now,
	     uint8_t *refused)
{
	struct cons *k = self;
	unsigned i;

	(void)now;
	if (k->begun_before_deliver == 0)
		k->begun_before_deliver = k->begun != 0 ? 1 : -1;
	for (i = 0; i < n; i++) {
		k->delivered++;
		if (recs[i].flags & CT_REC_F_EXP)
			k->exp_seen++;
		refused[i] = 0;
	}
	return 0;
}

static void
cons_chunk_done(void *self, const struct ct_event_rec *recs, unsigned n, const uint32_t *fail)
{
	struct cons *k = self;
	unsigned i;

	(void)fail;
	for (i = 0; i < n; i++) {
		k->done++;
		if (recs[i].flags & CT_REC_F_EXP)
			k->exp_seen++;
	}
}

static void
cons_chunk_begin(void *self, const struct ct_event_rec *recs, unsigned n)
{
	struct cons *k = self;
	unsigned i;

	if (k->conn != NULL)
		k->conn_at_begin = k->conn->ct_msgs;
	for (i = 0; i < n; i++) {
		k->begun++;
		if (recs[i].flags & CT_REC_F_EXP)
			k->exp_seen++;
	}
}

static void
cons_poll(void *self, uint64_t now)
{
	(void)self;
	(void)now;
}

static int
test_consumers_never_see_expectations(void)
{
	static const struct ev_consumer_ops ops = {
		.kind = "test", .mask = 0, .deliver = cons_deliver, .poll = cons_poll,
		.chunk_done = cons_chunk_done, .chunk_begin = cons_chunk_begin,
	};
	struct sink exp = { 0 }, conn = { 0 };
	struct cons k = { .conn = &conn };
	struct ct_event_rec in[3];
	struct ct_result res[8];
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c);

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_consumer(ctl, &ops, &k, true), 0);
	T_EQ(ev_ctl_add_sink(ctl, 2, 0, EV_MASK_EXP, sink_fn, &exp), 0);
	T_EQ(ev_ctl_add_sink(ctl, 3, 0, EV_MASK_ALL & ~EV_MASK_EXP, sink_fn, &conn), 0);
	in[0] = exp_rec(1, CT_EXP_EV_NEW);
	in[1] = ct_rec(2, CT_EV_NEW);
	in[2] = exp_rec(1, CT_EXP_EV_DESTROY);
	T_UEQ(ev_chan_push_records(c, in, 3), 3);
	run(ctl, c, res, 8);
	T_UEQ(k.exp_seen, 0);
	T_UEQ(k.delivered, 1);
	T_UEQ(k.done, 1);
	/* chunk_begin(): the connection record, before any listener or consumer had it. */
	T_UEQ(k.begun, 1);
	T_UEQ(k.conn_at_begin, 0);
	T_EQ(k.begun_before_deliver, 1);
	T_UEQ(conn.ct_msgs, 1);
	T_UEQ(exp.exp_new + exp.exp_destroy, 2);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

/* With no listener for expectations, a DESTROY is still acked: nobody is
 * there to miss it, and its slot must not wait forever. */
static int
test_nobody_listening(void)
{
	struct sink conn = { 0 };
	struct ct_event_rec in[2];
	struct ct_result res[8];
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c);
	unsigned n;

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 1, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &conn), 0);
	in[0] = exp_rec(7, CT_EXP_EV_NEW);
	in[1] = exp_rec(7, CT_EXP_EV_DESTROY);
	T_UEQ(ev_chan_push_records(c, in, 2), 2);
	n = run(ctl, c, res, 8);
	T_UEQ(n, 1);
	T_UEQ(res[0].kind, CT_RES_EXP_DESTROY_ACK);
	T_UEQ(conn.ct_msgs + conn.exp_new + conn.exp_destroy, 0);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

/* The expectation pager: `total` expectations, 40 a page, one connection
 * record slipped in (it must be skipped, not answered as an expectation). */
struct xpager {
	unsigned total, pos, begins, ends;
};

static void
xp_begin(void *arg)
{
	struct xpager *p = arg;

	p->pos = 0;
	p->begins++;
}

static unsigned
xp_next(void *arg, struct ct_event_rec *out, unsigned max, bool *done)
{
	struct xpager *p = arg;
	unsigned n = 0;

	while (n < max && n < 40 && p->pos < p->total) {
		out[n] = exp_rec(p->pos, 0);
		out[n].orig.family = (p->pos & 1) ? 6 : 4;
		out[n].reply.family = out[n].orig.family;
		n++;
		p->pos++;
	}
	if (n < max && p->pos == 3)
		out[n++] = ct_rec(9, 0);
	*done = p->pos >= p->total;
	return n;
}

static void
xp_end(void *arg)
{
	((struct xpager *)arg)->ends++;
}

static const struct ev_dump_ops xp_ops = { xp_begin, xp_next, xp_end };

struct dump_req {
	struct nlmsghdr h;
	uint8_t g[4];
};

/* Run the dump on connection `sv`: the ids seen (bitmap) and the count. */
static int
read_dump(struct ev_ctl *ctl, int fd, uint32_t seq, uint8_t *seen, unsigned max, unsigned *got,
	  unsigned *v6)
{
	uint8_t buf[65536] __attribute__((aligned(8)));
	unsigned steps;
	bool done = false;

	for (steps = 0; steps < 2000 && !done; steps++) {
		ssize_t n;

		ev_ctl_step(ctl, 0, 64);
		while (!done && (n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			size_t off = 0;

			while (off < (size_t)n) {
				struct nlmsghdr h;
				struct ev_nl_exp e;
				size_t used = 0;

				memcpy(&h, buf + off, sizeof(h));
				if (h.nlmsg_type == NLMSG_DONE) {
					T_UEQ(h.nlmsg_seq, seq);
					done = true;
					break;
				}
				T_UEQ(h.nlmsg_type,
				      (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_NEW);
				T_EQ(ev_nl_exp_parse(buf + off, (size_t)n - off, &e, &used), 0);
				T_UEQ(h.nlmsg_seq, seq);
				T_UEQ(h.nlmsg_flags, NLM_F_MULTI);
				T_STREQ(e.helper, "ftp");
				T_ASSERT(e.id >= 500 && e.id < 500 + max);
				seen[e.id - 500]++;
				if (e.family == 6)
					(*v6)++;
				(*got)++;
				off += used;
			}
		}
	}
	T_ASSERT(done);
	return 0;
}

static int
test_exp_dump(void)
{
	struct xpager xp = { .total = 300 };
	struct dump_req d = {
		{ sizeof(d), (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET,
		  NLM_F_REQUEST | NLM_F_DUMP, 41, 0 }, { AF_UNSPEC, 0, 0, 0 } };
	static uint8_t seen[300];
	struct ev_ctl_stats st;
	unsigned got = 0, v6 = 0, i;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c);
	int sv[2], slot;

	T_ASSERT(ctl != NULL);
	T_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	slot = ev_ctl_attach_peer(ctl, sv[0], 0, 0, 1);
	T_ASSERT(slot >= 0);
	/* No pager: refused. A single GET (no NLM_F_DUMP): refused. */
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)slot, &d, sizeof(d)), -EOPNOTSUPP);
	ev_ctl_set_exp_dump(ctl, &xp_ops, &xp);
	d.h.nlmsg_flags = NLM_F_REQUEST;
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)slot, &d, sizeof(d)), -EOPNOTSUPP);
	d.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	/* The connection dump has no pager: the expectation one is separate. */
	d.h.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)slot, &d, sizeof(d)), -EOPNOTSUPP);
	d.h.nlmsg_type = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_GET;
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)slot, &d, sizeof(d)), 0);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)slot, &d, sizeof(d)), -EBUSY);
	/* Drain the two error answers first. */
	{
		uint8_t b[256];

		for (i = 0; i < 4; i++)
			T_ASSERT(recv(sv[1], b, sizeof(b), MSG_DONTWAIT) > 0);
	}
	T_EQ(read_dump(ctl, sv[1], 41, seen, 300, &got, &v6), 0);
	T_UEQ(got, 300);
	T_UEQ(v6, 150);
	for (i = 0; i < 300; i++)
		T_UEQ(seen[i], 1);
	T_UEQ(xp.begins, 1);
	T_UEQ(xp.ends, 1);

	/* Only IPv6, as `conntrack -L expect -f ipv6` asks. */
	memset(seen, 0, sizeof(seen));
	got = v6 = 0;
	d.g[0] = AF_INET6;
	d.h.nlmsg_seq = 42;
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)slot, &d, sizeof(d)), 0);
	T_EQ(read_dump(ctl, sv[1], 42, seen, 300, &got, &v6), 0);
	T_UEQ(got, 150);
	T_UEQ(v6, 150);
	ev_ctl_get_stats(ctl, &st);
	T_UEQ(st.dumps, 2);
	T_UEQ(st.dump_entries, 450);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	close(sv[1]);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_subscribe_masks),
	T_CASE(test_routing),
	T_CASE(test_refusing_listener),
	T_CASE(test_consumers_never_see_expectations),
	T_CASE(test_nobody_listening),
	T_CASE(test_exp_dump),
};

T_MAIN(cases)
