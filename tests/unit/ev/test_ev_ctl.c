/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Channels and the control core with a fake transport (sinks): the delivery
 * results for every listener outcome, batching, masks, the result backlog
 * and the subscribe protocol. Records are built by hand; no shard needed.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/uio.h>

#include <linux/netlink.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_nl.h"

struct sink {
	int rc;             /* what to answer */
	int fail_from;      /* answer -EAGAIN from this datagram on (-1: never) */
	unsigned datagrams;
	unsigned msgs;
	unsigned kinds[8];
	unsigned max_per_dgram;
	size_t max_bytes;
};

static int
sink_fn(void *arg, const struct iovec *iov, unsigned iovcnt, size_t bytes)
{
	struct sink *s = arg;
	size_t total = 0;
	unsigned i;

	s->datagrams++;
	if (s->fail_from >= 0 && s->datagrams > (unsigned)s->fail_from)
		return -EAGAIN;
	if (s->rc != 0)
		return s->rc;
	for (i = 0; i < iovcnt; i++) {
		struct ev_nl_ct ct;
		size_t used;

		if (ev_nl_parse(iov[i].iov_base, iov[i].iov_len, &ct, &used) != 0)
			return -EINVAL;
		s->kinds[ct.kind]++;
		total += iov[i].iov_len;
	}
	if (total != bytes)
		return -EINVAL;
	s->msgs += iovcnt;
	if (iovcnt > s->max_per_dgram)
		s->max_per_dgram = iovcnt;
	if (bytes > s->max_bytes)
		s->max_bytes = bytes;
	return 0;
}

static struct ct_event_rec
rec(uint32_t slot, uint16_t events)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = 4;
	r.orig.proto = 17;
	r.orig.src[0] = 10;
	r.orig.dst[0] = 10;
	r.orig.dst[3] = 1;
	r.orig.sport = (uint16_t)(1000 + slot);
	r.orig.dport = 53;
	r.slot = slot;
	r.id = 100 + slot;
	r.events = events;
	r.status = CT_S_CONFIRMED;
	return r;
}

static struct ev_ctl *
mk_ctl(struct ev_chan **c, unsigned res_size)
{
	struct ev_ctl_conf conf;
	char err[128];

	*c = ev_chan_create(1024, res_size, err, sizeof(err));
	if (*c == NULL)
		return NULL;
	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.max_listeners = 3;
	return ev_ctl_create(&conf, c, 1, err, sizeof(err));
}

static void
fin(struct ev_ctl *ctl, struct ev_chan *c)
{
	ev_ctl_free(ctl);
	ev_chan_free(c);
}

static int
test_chan_rings(void)
{
	struct ct_event_rec in[10], out[10];
	struct ct_result r[3] = { { .slot = 1 }, { .slot = 2 }, { .slot = 3 } }, ro[3];
	struct ev_chan *c;
	char err[64];
	unsigned i;

	T_ASSERT(ev_chan_create(0, 4, err, sizeof(err)) == NULL);
	c = ev_chan_create(8, 2, err, sizeof(err));
	T_ASSERT(c != NULL);
	for (i = 0; i < 10; i++)
		in[i] = rec(i, CT_EV_NEW);
	/* At least the asked-for capacity; a full ring takes a prefix. */
	T_EQ(ev_chan_push_records(c, in, 8), 8);
	T_ASSERT(ev_chan_push_records(c, in + 8, 2) <= 2);
	T_ASSERT(ev_chan_records_pending(c) >= 8);
	T_EQ(ev_chan_pull_records(c, out, 3), 3);
	T_EQ(out[0].slot, 0);
	T_EQ(out[2].slot, 2);
	T_MEMEQ(&out[1], &in[1], sizeof(out[1]));
	T_EQ(ev_chan_push_results(c, r, 3) >= 2, 1);
	T_EQ(ev_chan_pull_results(c, ro, 3) >= 2, 1);
	T_EQ(ro[1].slot, 2);
	ev_chan_free(c);
	return 0;
}

static unsigned
pull_results(struct ev_chan *c, struct ct_result *out, unsigned max)
{
	return ev_chan_pull_results(c, out, max);
}

static int
test_no_listener(void)
{
	struct ct_event_rec r[2] = { rec(1, CT_EV_NEW), rec(2, CT_EV_DESTROY) };
	struct ct_result res[4];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 64);

	T_ASSERT(ctl != NULL);
	T_EQ(ev_chan_push_records(c, r, 2), 2);
	T_EQ(ev_ctl_step(ctl, 0, 64), 2);
	/* Nobody listens: a destroy is delivered as soon as it is sent. */
	T_EQ(pull_results(c, res, 4), 1);
	T_EQ(res[0].kind, CT_RES_DESTROY_ACK);
	T_EQ(res[0].slot, 2);
	T_EQ(res[0].id, 102);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.events_sent, 0);
	T_EQ(st.destroy_acked, 1);
	T_ASSERT(ev_ctl_idle(ctl));
	fin(ctl, c);
	return 0;
}

static int
test_reliable_refuses(void)
{
	struct ct_event_rec r[3] = { rec(1, CT_EV_NEW), rec(2, CT_EV_DESTROY),
				     rec(3, CT_EV_ASSURED | CT_EV_REPLY) };
	struct sink rel = { .rc = -EAGAIN, .fail_from = -1 }, unrel = { .fail_from = -1 };
	struct ev_listener_info li[4];
	struct ct_result res[8];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 64);
	unsigned reliable;

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 11, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &rel), 0);
	T_EQ(ev_ctl_add_sink(ctl, 12, 0, EV_MASK_ALL, sink_fn, &unrel), 0);
	T_EQ(ev_ctl_listener_count(ctl, &reliable), 2);
	T_EQ(reliable, 1);
	r[0].flags = CT_REC_F_RETRY;
	r[1].flags = CT_REC_F_RESEND;
	T_EQ(ev_chan_push_records(c, r, 3), 3);
	T_EQ(ev_ctl_step(ctl, 0, 64), 3);
	T_EQ(pull_results(c, res, 8), 3);
	T_EQ(res[0].kind, CT_RES_NACK);
	T_EQ(res[0].events, CT_EV_NEW);
	T_EQ(res[1].kind, CT_RES_DESTROY_NACK);
	T_EQ(res[1].slot, 2);
	T_EQ(res[2].kind, CT_RES_NACK);
	T_EQ(res[2].events, CT_EV_ASSURED | CT_EV_REPLY);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.events_failed, 3);
	T_EQ(st.events_sent, 3);      /* the unreliable one took them */
	T_EQ(st.events_retried, 1);
	T_EQ(st.destroy_resent, 1);
	T_EQ(unrel.msgs, 3);
	T_EQ(ev_ctl_listeners(ctl, li, 4), 2);
	T_EQ(li[0].port_id, 11);
	T_EQ(li[0].failed, 3);
	T_EQ(li[0].sent, 0);
	T_EQ(li[1].sent, 3);
	fin(ctl, c);
	return 0;
}

static int
test_unreliable_loses(void)
{
	struct ct_event_rec r[2] = { rec(1, CT_EV_NEW), rec(2, CT_EV_DESTROY) };
	struct sink s = { .rc = -ENOBUFS, .fail_from = -1 };
	struct ct_result res[4];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 64);

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 11, 0, EV_MASK_ALL, sink_fn, &s), 0);
	T_EQ(ev_chan_push_records(c, r, 2), 2);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(pull_results(c, res, 4), 1);
	T_EQ(res[0].kind, CT_RES_DESTROY_ACK);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.listener_dropped, 2);
	T_EQ(st.events_failed, 0);
	fin(ctl, c);
	return 0;
}

static int
test_gone_listener_removed(void)
{
	struct ct_event_rec r = rec(1, CT_EV_DESTROY);
	struct sink s = { .rc = -ECONNREFUSED, .fail_from = -1 };
	struct ct_result res[4];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 64);

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 11, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &s), 0);
	T_EQ(ev_chan_push_records(c, &r, 1), 1);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 0);
	T_EQ(pull_results(c, res, 4), 1);
	T_EQ(res[0].kind, CT_RES_DESTROY_ACK);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.listeners_gone, 1);
	fin(ctl, c);
	return 0;
}

static int
test_mask(void)
{
	struct ct_event_rec r[3] = { rec(1, CT_EV_NEW), rec(2, CT_EV_PROTOINFO),
				     rec(3, CT_EV_DESTROY) };
	struct sink d = { .fail_from = -1 }, nw = { .rc = -EAGAIN, .fail_from = -1 };
	struct ct_result res[4];
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 64);

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 11, EV_SUB_F_RELIABLE, EV_MASK_DESTROY, sink_fn, &d), 0);
	/* A full reliable listener that only wants NEW fails only the NEW. */
	T_EQ(ev_ctl_add_sink(ctl, 12, EV_SUB_F_RELIABLE, EV_MASK_NEW, sink_fn, &nw), 0);
	T_EQ(ev_ctl_add_sink(ctl, 13, 0, 0x8, sink_fn, &d), -EINVAL);
	T_EQ(ev_chan_push_records(c, r, 3), 3);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(d.msgs, 1);
	T_EQ(d.kinds[EV_MASK_DESTROY], 1);
	T_EQ(pull_results(c, res, 4), 2);
	T_EQ(res[0].kind, CT_RES_NACK);
	T_EQ(res[0].slot, 1);
	T_EQ(res[1].kind, CT_RES_DESTROY_ACK);
	fin(ctl, c);
	return 0;
}

static int
test_batching(void)
{
	struct ct_event_rec r[200];
	struct sink s = { .fail_from = -1 }, f = { .fail_from = 1 };
	struct ct_result res[256];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 512);
	unsigned i, n, nacks = 0, first_nack = 0;

	T_ASSERT(ctl != NULL);
	for (i = 0; i < 200; i++)
		r[i] = rec(i, CT_EV_NEW);
	T_EQ(ev_ctl_add_sink(ctl, 11, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &s), 0);
	T_EQ(ev_ctl_add_sink(ctl, 12, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &f), 0);
	T_EQ(ev_chan_push_records(c, r, 200), 200);
	T_EQ(ev_ctl_step(ctl, 0, 1000), 200);
	/* A backlog goes out in few datagrams of at most max_batch_bytes. */
	T_EQ(s.msgs, 200);
	T_ASSERT(s.datagrams < 200 / 10);
	T_ASSERT(s.max_bytes <= 16384);
	T_ASSERT(s.max_per_dgram > 10);
	/* The second sink took its first datagram and refused the second: the
	 * records of the first are fine, every later one failed. */
	n = pull_results(c, res, 256);
	for (i = 0; i < n; i++) {
		T_EQ(res[i].kind, CT_RES_NACK);
		if (nacks++ == 0)
			first_nack = res[i].slot;
	}
	T_EQ(f.msgs, first_nack);
	T_EQ(nacks, 200 - f.msgs);
	T_EQ(f.datagrams, 2);   /* no syscall storm on a full socket */
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.events_failed, nacks);
	fin(ctl, c);
	return 0;
}

static int
test_result_backlog(void)
{
	struct ct_event_rec r[40];
	struct ct_result res[64];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 4);
	unsigned i, got = 0, rounds, seen[40] = { 0 };

	T_ASSERT(ctl != NULL);
	for (i = 0; i < 40; i++)
		r[i] = rec(i, CT_EV_DESTROY);
	T_EQ(ev_chan_push_records(c, r, 20), 20);
	T_EQ(ev_ctl_step(ctl, 0, 64), 20);
	ev_ctl_get_stats(ctl, &st);
	T_ASSERT(st.result_backlog >= 20 - 8);  /* ring of 4 holds at most 7 */
	T_ASSERT(!ev_ctl_idle(ctl));
	/* While results wait, the channel's new records are left alone. */
	T_EQ(ev_chan_push_records(c, r + 20, 20), 20);
	T_EQ(ev_ctl_step(ctl, 0, 64), 0);
	T_EQ(ev_chan_records_pending(c), 20);
	for (rounds = 0; rounds < 100 && got < 40; rounds++) {
		unsigned n = pull_results(c, res, 64);

		for (i = 0; i < n; i++) {
			T_EQ(res[i].kind, CT_RES_DESTROY_ACK);
			seen[res[i].slot]++;
		}
		got += n;
		ev_ctl_step(ctl, 0, 64);
	}
	T_EQ(got, 40);
	for (i = 0; i < 40; i++)
		T_EQ(seen[i], 1);
	T_ASSERT(ev_ctl_idle(ctl));
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.result_backlog, 0);
	fin(ctl, c);
	return 0;
}

static size_t
mk_req(uint8_t *buf, uint16_t type, uint32_t version, uint32_t flags, uint32_t mask)
{
	struct nlmsghdr h = { .nlmsg_len = NLMSG_HDRLEN + sizeof(struct ev_subscribe),
			      .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK };
	struct ev_subscribe s = { version, flags, mask };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + NLMSG_HDRLEN, &s, sizeof(s));
	return h.nlmsg_len;
}

static int
test_subscribe_protocol(void)
{
	struct ev_ctl_conf conf;
	struct ev_listener_info li[8];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	uint8_t buf[256];
	char err[128];
	size_t n;

	c = ev_chan_create(16, 16, err, sizeof(err));
	T_ASSERT(c != NULL);
	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.max_listeners = 2;
	conf.allowed_uids[0] = 1000;
	conf.n_allowed_uids = 1;
	ctl = ev_ctl_create(&conf, &c, 1, err, sizeof(err));
	T_ASSERT(ctl != NULL);

	n = mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, EV_SUB_F_RELIABLE, EV_MASK_DESTROY);
	T_EQ(ev_ctl_handle_request(ctl, 5000, 65534, 1, buf, n), -EPERM);
	T_EQ(ev_ctl_handle_request(ctl, 5000, 1000, 1, buf, n), 0);
	T_EQ(ev_ctl_handle_request(ctl, 5001, 0, 2, buf, n), 0);
	/* The same port again is an update, not a new listener. */
	n = mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, 0, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, 5000, 1000, 1, buf, n), 0);
	T_EQ(ev_ctl_handle_request(ctl, 5002, 0, 3, buf, n), -EUSERS);
	T_EQ(ev_ctl_listeners(ctl, li, 8), 2);
	T_EQ(li[0].port_id, 5000);
	T_EQ(li[0].uid, 1000);
	T_EQ(li[0].reliable, false);
	T_EQ(li[0].mask, EV_MASK_ALL);
	T_EQ(li[1].reliable, true);
	/* Bad payloads */
	n = mk_req(buf, EV_MSG_SUBSCRIBE, 9, 0, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, 5003, 0, 3, buf, n), -EINVAL);
	n = mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, 0, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, 5003, 0, 3, buf, n - 4), -EINVAL);
	T_EQ(ev_ctl_handle_request(ctl, 0, 0, 3, buf, n), -EINVAL);
	n = mk_req(buf, 0x55, EV_PROTO_VERSION, 0, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, 5003, 0, 3, buf, n), -EOPNOTSUPP);
	/* Unsubscribe: only the owner or root */
	n = mk_req(buf, EV_MSG_UNSUBSCRIBE, EV_PROTO_VERSION, 0, 0);
	T_EQ(ev_ctl_handle_request(ctl, 5000, 1001, 1, buf, n), -EPERM);
	T_EQ(ev_ctl_handle_request(ctl, 5000, 1000, 1, buf, n), 0);
	T_EQ(ev_ctl_handle_request(ctl, 5000, 1000, 1, buf, n), -ENOENT);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 1);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.subscribe_refused, 2);
	fin(ctl, c);
	return 0;
}

static int
test_create_errors(void)
{
	struct ev_ctl_conf conf;
	struct ev_chan *c = NULL;
	char err[128] = "";

	ev_ctl_conf_init(&conf);
	T_EQ(conf.port_id, EV_DEFAULT_PORT_ID);
	T_EQ(conf.max_listeners, 8);
	T_EQ(conf.reliable, true);
	conf.no_socket = true;
	conf.max_listeners = 0;
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "max_listeners") != NULL);
	conf.max_listeners = 8;
	conf.max_batch_bytes = 10;
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	conf.max_batch_bytes = 16384;
	T_ASSERT(ev_ctl_create(&conf, &c, 1, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "NULL") != NULL);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_chan_rings),
	T_CASE(test_no_listener),
	T_CASE(test_reliable_refuses),
	T_CASE(test_unreliable_loses),
	T_CASE(test_gone_listener_removed),
	T_CASE(test_mask),
	T_CASE(test_batching),
	T_CASE(test_result_backlog),
	T_CASE(test_subscribe_protocol),
	T_CASE(test_create_errors),
};

T_MAIN(cases)
