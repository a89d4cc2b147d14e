/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Channels and the control core with a fake transport (sinks): the delivery
 * results for every listener outcome, batching, masks, the result backlog
 * the subscribe protocol, exactly-once resends (also through a real shard),
 * the stall policy, sequence gaps, record consumers and dumps.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_consumer.h"
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
	T_EQ(ev_ctl_add_sink(ctl, 13, 0, 0x40, sink_fn, &d), -EINVAL);
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
	int a, b;

	c = ev_chan_create(16, 16, err, sizeof(err));
	T_ASSERT(c != NULL);
	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.max_listeners = 2;
	conf.allowed_uids[0] = 1000;
	conf.n_allowed_uids = 1;
	conf.allowed_gids[0] = 2000;
	conf.n_allowed_gids = 1;
	ctl = ev_ctl_create(&conf, &c, 1, err, sizeof(err));
	T_ASSERT(ctl != NULL);

	/* Credentials are checked when the peer connects (SO_PEERCRED). */
	T_EQ(ev_ctl_attach_peer(ctl, -1, 65534, 65534, 1), -EPERM);
	a = ev_ctl_attach_peer(ctl, -1, 1000, 1000, 1);
	T_ASSERT(a >= 0);
	/* Not subscribed yet: not a listener. */
	T_EQ(ev_ctl_listener_count(ctl, NULL), 0);
	n = mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, EV_SUB_F_RELIABLE, EV_MASK_DESTROY);
	/* uid 1000 may subscribe, but not reliably (reliable_uids = [0]). */
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n), -EACCES);
	n = mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, 0, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n), 0);
	/* An allowed gid, as root's reliable listener. */
	b = ev_ctl_attach_peer(ctl, -1, 0, 2000, 2);
	T_ASSERT(b >= 0);
	n = mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, EV_SUB_F_RELIABLE, EV_MASK_DESTROY);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)b, buf, n), 0);
	/* The listener cap. */
	T_EQ(ev_ctl_attach_peer(ctl, -1, 0, 0, 3), -EUSERS);
	T_EQ(ev_ctl_listeners(ctl, li, 8), 2);
	T_EQ(li[0].uid, 1000);
	T_EQ(li[0].reliable, false);
	T_EQ(li[0].mask, EV_MASK_ALL);
	T_EQ(li[0].state, EV_LS_UNRELIABLE);
	T_STREQ(li[0].kind, "socket");
	T_EQ(li[1].reliable, true);
	T_EQ(li[1].gid, 2000);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 2);
	/* Bad payloads */
	n = mk_req(buf, EV_MSG_SUBSCRIBE, 9, 0, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n), -EINVAL);
	n = mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, 0, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n - 8), -EINVAL);
	n = mk_req(buf, 0x55, EV_PROTO_VERSION, 0, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n), -EOPNOTSUPP);
	T_EQ(ev_ctl_handle_request(ctl, 7, buf, n), -ENOENT);
	/* No pager installed: a dump is refused, not ignored. */
	{
		struct {
			struct nlmsghdr h;
			uint8_t g[4];
		} d = { { sizeof(d), (1 << 8) | 1, NLM_F_REQUEST | NLM_F_DUMP, 5, 0 }, { 0 } };

		T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, &d, sizeof(d)), -EOPNOTSUPP);
	}
	/* Unsubscribe ends the connection. */
	n = mk_req(buf, EV_MSG_UNSUBSCRIBE, EV_PROTO_VERSION, 0, 0);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n), 0);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n), -ENOENT);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 1);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.subscribe_refused, 3);
	T_ASSERT(st.requests_refused >= 5);
	fin(ctl, c);
	return 0;
}

/* A peer whose requests keep being refused is cut off. */
static int
test_bad_peer_cut(void)
{
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 16);
	uint8_t buf[64];
	size_t n;
	int a, i;

	T_ASSERT(ctl != NULL);
	a = ev_ctl_attach_peer(ctl, -1, 0, 0, 1);
	T_ASSERT(a >= 0);
	n = mk_req(buf, 0x55, EV_PROTO_VERSION, 0, 0);
	for (i = 0; i < 7; i++)
		T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n), -EOPNOTSUPP);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n), -EOPNOTSUPP);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)a, buf, n), -ENOENT);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.peers_cut, 1);
	fin(ctl, c);
	return 0;
}

/* A DESTROY that one reliable listener refused is resent to it alone. */
static int
test_targeted_resend(void)
{
	struct sink ok = { .fail_from = -1 }, slow = { .rc = -EAGAIN, .fail_from = -1 };
	struct ct_event_rec r = rec(4, CT_EV_DESTROY);
	struct ct_result res[4];
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 64);

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 1, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &ok), 0);
	T_EQ(ev_ctl_add_sink(ctl, 2, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &slow), 0);
	T_EQ(ev_chan_push_records(c, &r, 1), 1);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(pull_results(c, res, 4), 1);
	T_EQ(res[0].kind, CT_RES_DESTROY_NACK);
	T_EQ(res[0].targets, 1u << 1);
	T_EQ(ok.kinds[EV_MASK_DESTROY], 1);
	/* The resend, as the worker makes it: only slot 1 gets it. */
	r.targets = res[0].targets;
	r.flags = CT_REC_F_RESEND;
	slow.rc = 0;
	T_EQ(ev_chan_push_records(c, &r, 1), 1);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(pull_results(c, res, 4), 1);
	T_EQ(res[0].kind, CT_RES_DESTROY_ACK);
	T_EQ(ok.kinds[EV_MASK_DESTROY], 1);
	T_EQ(slow.kinds[EV_MASK_DESTROY], 1);
	fin(ctl, c);
	return 0;
}

/* The whole loop through a real shard: two reliable listeners, one slow;
 * each gets every DESTROY exactly once. */
/* The first packet of UDP flow i: 10.0.(i >> 8).(i & 255):4000 -> 192.0.0.0:53. */
static struct ct_pkt
udp_pkt(unsigned i)
{
	struct ct_pkt p;

	memset(&p, 0, sizeof(p));
	p.tuple.family = 4;
	p.tuple.proto = 17;
	p.tuple.src[0] = 10;
	p.tuple.src[2] = (uint8_t)(i >> 8);
	p.tuple.src[3] = (uint8_t)i;
	p.tuple.dst[0] = 192;
	p.tuple.sport = 4000;
	p.tuple.dport = 53;
	p.cls = CT_PKT_TRACK;
	p.len = 60;
	p.hash = ct_tuple_hash(&p.tuple);
	return p;
}

static int
test_exactly_once_shard(void)
{
	struct sink ok = { .fail_from = -1 }, slow = { .fail_from = -1 };
	struct ct_conf cc;
	struct ct_shard *s;
	struct ct_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 1024);
	char err[128];
	uint64_t now = 1000000000ull;
	unsigned i, k;

	T_ASSERT(ctl != NULL);
	ct_conf_init(&cc);
	cc.max_entries = 1024;
	cc.destroy_grace_ms = 10;
	cc.shard_count = 1;
	cc.fill_alarm_high_pct = 0;
	s = ct_shard_create(&cc, err, sizeof(err));
	T_ASSERT(s != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 1, EV_SUB_F_RELIABLE, EV_MASK_DESTROY, sink_fn, &ok), 0);
	T_EQ(ev_ctl_add_sink(ctl, 2, EV_SUB_F_RELIABLE, EV_MASK_DESTROY, sink_fn, &slow), 0);
	for (i = 0; i < 500; i++) {
		struct ct_pkt p = udp_pkt(i);
		uint8_t v;

		ct_process_burst(s, &p, 1, now, &v);
	}
	ev_worker_sync(c, s, now);
	ev_ctl_step(ctl, now, 4096);
	/* The slow one takes every third datagram only. */
	slow.fail_from = 0;
	while (ct_shard_live(s) > 0)
		ct_shard_flush(s, now, 128), ev_worker_sync(c, s, now), ev_ctl_step(ctl, now, 4096);
	for (k = 0; k < 2000 && !ct_shard_empty(s); k++) {
		now += 2000000;
		slow.fail_from = (k % 3 == 0) ? -1 : 0;
		ct_shard_expire(s, now, 4096);
		ev_worker_sync(c, s, now);
		ev_ctl_step(ctl, now, 4096);
		ev_worker_sync(c, s, now);
	}
	T_ASSERT(ct_shard_empty(s));
	ct_shard_stats(s, &st);
	T_ASSERT(st.destroy_resent > 0);
	T_EQ(ok.kinds[EV_MASK_DESTROY], 500);
	T_EQ(slow.kinds[EV_MASK_DESTROY], 500);
	ct_shard_free(s);
	fin(ctl, c);
	return 0;
}

static int
nop_deliver(void *self, const struct ct_event_rec *recs, unsigned n, uint64_t now,
	    uint8_t *refused)
{
	unsigned *count = self;

	(void)recs;
	(void)now;
	memset(refused, 0, n);
	*count += n;
	return 0;
}

/*
 * Sinks and consumers decide the record kinds the shard builds: a
 * DESTROY-only listener and an exporter that reads DESTROY make the shard
 * build only DESTROYs (each connection still ends with one), a NEW
 * listener adds NEWs, a consumer without a mask takes everything.
 */
static int
test_kinds_from_listeners(void)
{
	static const struct ev_consumer_ops destroy_only = { .kind = "d", .mask = EV_MASK_DESTROY,
							     .deliver = nop_deliver };
	static const struct ev_consumer_ops every = { .kind = "e", .deliver = nop_deliver };
	struct sink d = { .fail_from = -1 }, nw = { .fail_from = -1 };
	unsigned consumed = 0, i;
	struct ct_conf cc;
	struct ct_shard *s;
	struct ct_stats st;
	struct ev_ctl_conf conf;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	char err[128];
	uint64_t now = 1000000000ull;

	c = ev_chan_create(1024, 1024, err, sizeof(err));
	T_ASSERT(c != NULL);
	/* A channel alone (no control core) asks for everything, expectations too. */
	T_EQ(ev_chan_kinds(c), EV_MASK_ANY);
	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.max_listeners = 4;
	ctl = ev_ctl_create(&conf, &c, 1, err, sizeof(err));
	T_ASSERT(ctl != NULL);
	T_EQ(ev_chan_kinds(c), 0);
	T_EQ(ev_ctl_add_consumer(ctl, &destroy_only, &consumed, true), 0);
	T_EQ(ev_chan_kinds(c), EV_MASK_DESTROY);
	T_EQ(ev_ctl_add_sink(ctl, 1, EV_SUB_F_RELIABLE, EV_MASK_DESTROY, sink_fn, &d), 0);
	T_EQ(ev_chan_kinds(c), EV_MASK_DESTROY);

	ct_conf_init(&cc);
	cc.max_entries = 256;
	cc.shard_count = 1;
	cc.fill_alarm_high_pct = 0;
	s = ct_shard_create(&cc, err, sizeof(err));
	T_ASSERT(s != NULL);
	for (i = 0; i < 200; i++) {
		struct ct_pkt p = udp_pkt(i);
		uint8_t v;

		if (i == 100) {
			T_EQ(ev_ctl_add_sink(ctl, 2, 0, EV_MASK_NEW, sink_fn, &nw), 0);
			T_EQ(ev_chan_kinds(c), EV_MASK_NEW | EV_MASK_DESTROY);
			ev_worker_kinds(c, s);
		}
		if (i == 0)
			ev_worker_sync(c, s, now); /* takes the kinds before the first packet */
		ct_process_burst(s, &p, 1, now, &v);
		ev_worker_sync(c, s, now);
		ev_ctl_step(ctl, now, 4096);
	}
	ct_shard_stats(s, &st);
	T_EQ(st.events_unwanted, 100);
	T_EQ(nw.kinds[EV_MASK_NEW], 100);
	T_EQ(d.kinds[EV_MASK_NEW], 0);
	T_EQ(consumed, 0);
	while (ct_shard_live(s) > 0)
		ct_shard_flush(s, now, 64), ev_worker_sync(c, s, now), ev_ctl_step(ctl, now, 4096);
	for (i = 0; i < 100 && !ct_shard_empty(s); i++) {
		ev_worker_sync(c, s, now);
		ev_ctl_step(ctl, now, 4096);
	}
	T_ASSERT(ct_shard_empty(s));
	T_EQ(d.kinds[EV_MASK_DESTROY], 200);
	T_EQ(consumed, 200);
	/* A consumer with no mask wants every kind. */
	T_EQ(ev_ctl_add_consumer(ctl, &every, &consumed, false), 0);
	T_EQ(ev_chan_kinds(c), EV_MASK_ALL);
	ct_shard_free(s);
	fin(ctl, c);
	return 0;
}

/* A reliable listener that refuses everything is demoted after the stall
 * time, logged by name; its DESTROYs are then lost, not kept. */
static void
log_fn(void *arg, int level, const char *msg)
{
	char *buf = arg;

	(void)level;
	snprintf(buf, 256, "%s", msg);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
test_stall_demotes(void)
{
	struct sink stuck = { .rc = -EAGAIN, .fail_from = -1 };
	struct ct_event_rec r = rec(5, CT_EV_DESTROY);
	struct ev_listener_info li[2];
	struct ev_ctl_conf conf;
	struct ct_result res[4];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	char err[128], logged[256] = "";
	uint64_t t0;
	unsigned i;

	c = ev_chan_create(64, 64, err, sizeof(err));
	T_ASSERT(c != NULL);
	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.reliable_stall_ms = 50;
	ctl = ev_ctl_create(&conf, &c, 1, err, sizeof(err));
	T_ASSERT(ctl != NULL);
	ev_ctl_set_log(ctl, log_fn, logged);
	T_EQ(ev_ctl_add_sink(ctl, 9, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &stuck), 0);
	T_EQ(ev_chan_push_records(c, &r, 1), 1);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(pull_results(c, res, 4), 1);
	T_EQ(res[0].kind, CT_RES_DESTROY_NACK);
	t0 = mono_ms();
	for (i = 0; i < 1000 && ev_ctl_listeners(ctl, li, 2) == 1 &&
		    li[0].state == EV_LS_RELIABLE; i++) {
		usleep(2000);
		ev_ctl_step(ctl, 0, 64);
	}
	T_EQ(li[0].state, EV_LS_DEMOTED);
	T_EQ(li[0].reliable, false);
	/* Not before the stall time. */
	T_ASSERT(mono_ms() - t0 >= 45);
	T_ASSERT(strstr(logged, "demoted") != NULL);
	T_ASSERT(strstr(logged, "uid 0") != NULL);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.listener_demoted, 1);
	/* Now it loses the destroy, and the entry is freed. */
	T_EQ(ev_chan_push_records(c, &r, 1), 1);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(pull_results(c, res, 4), 1);
	T_EQ(res[0].kind, CT_RES_DESTROY_ACK);
	fin(ctl, c);
	return 0;
}

/* Refusals while the dying set is over its share demote sooner. */
static int
test_dying_share_demotes(void)
{
	struct sink stuck = { .rc = -EAGAIN, .fail_from = -1 };
	struct ct_event_rec r = rec(5, CT_EV_DESTROY);
	struct ev_listener_info li[2];
	struct ev_ctl_conf conf;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	char err[128];
	unsigned i;

	c = ev_chan_create(64, 64, err, sizeof(err));
	T_ASSERT(c != NULL);
	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.reliable_stall_ms = 600000;
	conf.max_dying_pct = 10;
	ctl = ev_ctl_create(&conf, &c, 1, err, sizeof(err));
	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 9, EV_SUB_F_RELIABLE, EV_MASK_ALL, sink_fn, &stuck), 0);
	T_EQ(ev_chan_push_records(c, &r, 1), 1);
	ev_ctl_set_table(ctl, 5, 100);
	ev_ctl_step(ctl, 0, 64);
	usleep(20000);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(ev_ctl_listeners(ctl, li, 2), 1);
	T_EQ(li[0].state, EV_LS_RELIABLE);
	ev_ctl_set_table(ctl, 11, 100);
	for (i = 0; i < 200 && li[0].state == EV_LS_RELIABLE; i++) {
		usleep(10000);
		ev_ctl_step(ctl, 0, 64);
		ev_ctl_listeners(ctl, li, 2);
	}
	T_EQ(li[0].state, EV_LS_DEMOTED);
	fin(ctl, c);
	return 0;
}

/* nlmsg_seq counts up per listener; what an unreliable listener loses is a
 * gap, and the gaps add up to its `dropped`. */
struct seqsink {
	unsigned calls;
	uint32_t last;
	uint64_t gaps;
	unsigned got;
};

static int
seq_fn(void *arg, const struct iovec *iov, unsigned iovcnt, size_t bytes)
{
	struct seqsink *s = arg;
	unsigned i;

	(void)bytes;
	if (++s->calls % 3 == 0)
		return -EAGAIN;
	for (i = 0; i < iovcnt; i++) {
		const struct nlmsghdr *h = iov[i].iov_base;

		if (h->nlmsg_seq != s->last + 1)
			s->gaps += h->nlmsg_seq - s->last - 1;
		s->last = h->nlmsg_seq;
		s->got++;
	}
	return 0;
}

static int
test_seq_gaps(void)
{
	struct seqsink ss = { 0 };
	struct ev_listener_info li[2];
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 1024);
	unsigned i, k;

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_sink(ctl, 3, 0, EV_MASK_ALL, seq_fn, &ss), 0);
	for (k = 0; k < 30; k++) {
		struct ct_event_rec r[40];

		for (i = 0; i < 40; i++)
			r[i] = rec(k * 40 + i, CT_EV_NEW);
		T_EQ(ev_chan_push_records(c, r, 40), 40);
		ev_ctl_step(ctl, 0, 16);
		ev_ctl_step(ctl, 0, 16);
		ev_ctl_step(ctl, 0, 16);
	}
	/* The last messages may have been lost after the last one received. */
	T_EQ(ev_ctl_listeners(ctl, li, 2), 1);
	T_ASSERT(li[0].dropped > 0);
	T_EQ(li[0].seq, 1200);
	T_EQ(ss.got + li[0].dropped, 1200);
	T_EQ(ss.gaps + (li[0].seq - ss.last), li[0].dropped);
	fin(ctl, c);
	return 0;
}

/* A record consumer (ev_consumer.h) beside a socket listener. */
struct fake_consumer {
	unsigned delivered, polls, refuse_left;
	bool down;
};

static int
fc_deliver(void *self, const struct ct_event_rec *recs, unsigned n, uint64_t now,
	   uint8_t *refused)
{
	struct fake_consumer *f = self;
	unsigned i;

	(void)recs;
	(void)now;
	/* deliver() is called even while blocked(): it refuses what it cannot take. */
	for (i = 0; i < n; i++) {
		if (f->down) {
			refused[i] = 1;
		} else if (f->refuse_left > 0) {
			f->refuse_left--;
			refused[i] = 1;
		} else {
			f->delivered++;
		}
	}
	return 0;
}

static void
fc_poll(void *self, uint64_t now)
{
	(void)now;
	((struct fake_consumer *)self)->polls++;
}

static bool
fc_blocked(const void *self)
{
	return ((const struct fake_consumer *)self)->down;
}

static const struct ev_consumer_ops fc_ops = {
	.kind = "fake",
	.deliver = fc_deliver,
	.poll = fc_poll,
	.blocked = fc_blocked,
};

static int
test_consumer(void)
{
	struct fake_consumer f = { .refuse_left = 1 };
	struct sink ok = { .fail_from = -1 };
	struct ct_event_rec r[2] = { rec(1, CT_EV_NEW), rec(2, CT_EV_DESTROY) };
	struct ev_listener_info li[4];
	struct ev_consumer_ops bad = { .kind = "bad" };
	struct ct_result res[4];
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 64);
	unsigned rel, n;

	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_consumer(ctl, &bad, NULL, true), -EINVAL);
	T_EQ(ev_ctl_add_sink(ctl, 1, 0, EV_MASK_ALL, sink_fn, &ok), 0);
	T_EQ(ev_ctl_add_consumer(ctl, &fc_ops, &f, true), 0);
	T_EQ(ev_ctl_listener_count(ctl, &rel), 2);
	T_EQ(rel, 1);
	/* It refuses the NEW: a nack, as a full reliable socket's. */
	T_EQ(ev_chan_push_records(c, r, 2), 2);
	ev_ctl_step(ctl, 0, 64);
	n = pull_results(c, res, 4);
	T_EQ(n, 2);
	T_EQ(res[0].kind, CT_RES_NACK);
	T_EQ(res[1].kind, CT_RES_DESTROY_ACK);
	T_EQ(f.delivered, 1);
	T_ASSERT(f.polls >= 1);
	/* Blocked: every record refused, the destroy nacked with its slot. */
	f.down = true;
	T_EQ(ev_chan_push_records(c, r + 1, 1), 1);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(pull_results(c, res, 4), 1);
	T_EQ(res[0].kind, CT_RES_DESTROY_NACK);
	T_EQ(res[0].targets, 1u << 1);
	T_EQ(ev_ctl_listeners(ctl, li, 4), 2);
	T_STREQ(li[1].kind, "fake");
	T_EQ(li[1].failed, 2);
	T_EQ(li[1].sent, 1);
	/* Slots are shared with sockets and sinks: the cap holds. */
	T_EQ(ev_ctl_add_consumer(ctl, &fc_ops, &f, false), 0);
	T_EQ(ev_ctl_add_consumer(ctl, &fc_ops, &f, false), -EUSERS);
	fin(ctl, c);
	return 0;
}

/* A dump over a real connection (socketpair): every entry the pager has,
 * NLM_F_MULTI with the request's seq, then NLMSG_DONE. */
struct pager {
	unsigned total, pos, begins, ends;
	bool slow;
};

static void
pg_begin(void *arg)
{
	struct pager *p = arg;

	p->pos = 0;
	p->begins++;
}

static unsigned
pg_next(void *arg, struct ct_event_rec *out, unsigned max, bool *done)
{
	struct pager *p = arg;
	unsigned n = 0;

	*done = false;
	/* Slow: every other call has nothing ready yet. */
	if (p->slow && (p->pos & 1)) {
		p->pos &= ~1u;
		return 0;
	}
	while (n < max && n < 100 && p->pos / 2 < p->total) {
		out[n] = rec(p->pos / 2, 0);
		out[n].id = 5000 + p->pos / 2;
		n++;
		p->pos += 2;
	}
	if (p->pos / 2 >= p->total)
		*done = true;
	else if (p->slow)
		p->pos |= 1;
	return n;
}

static void
pg_end(void *arg)
{
	((struct pager *)arg)->ends++;
}

static const struct ev_dump_ops pg_ops = { pg_begin, pg_next, pg_end };

static int
test_dump(void)
{
	struct pager pg = { .total = 1000, .slow = true };
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 64);
	static uint8_t seen[1000];
	uint8_t buf[65536] __attribute__((aligned(8)));
	struct {
		struct nlmsghdr h;
		uint8_t g[4];
	} d = { { sizeof(d), (1 << 8) | 1, NLM_F_REQUEST | NLM_F_DUMP, 77, 0 }, { 0 } };
	unsigned got = 0, steps, dups = 0;
	bool done = false;
	int sv[2], slot;

	T_ASSERT(ctl != NULL);
	T_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ev_ctl_set_dump(ctl, &pg_ops, &pg);
	slot = ev_ctl_attach_peer(ctl, sv[0], 0, 0, 1);
	T_ASSERT(slot >= 0);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)slot, &d, sizeof(d)), 0);
	/* A second dump while one is queued is refused. */
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)slot, &d, sizeof(d)), -EBUSY);
	for (steps = 0; steps < 10000 && !done; steps++) {
		ssize_t n;

		ev_ctl_step(ctl, 0, 64);
		while (!done && (n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			size_t off = 0;

			while (off < (size_t)n) {
				struct nlmsghdr h;
				struct ev_nl_ct ct;
				size_t used = 0;

				memcpy(&h, buf + off, sizeof(h));
				if (h.nlmsg_type == NLMSG_DONE) {
					T_EQ(h.nlmsg_seq, 77);
					done = true;
					break;
				}
				if (h.nlmsg_type == NLMSG_ERROR) {
					/* the -EBUSY answer */
					off += NLMSG_ALIGN(h.nlmsg_len);
					continue;
				}
				T_EQ(ev_nl_parse(buf + off, (size_t)n - off, &ct, &used), 0);
				T_EQ(h.nlmsg_seq, 77);
				T_ASSERT(h.nlmsg_flags & NLM_F_MULTI);
				T_ASSERT(ct.present & EV_NL_HAS_COUNTERS);
				T_ASSERT(ct.id >= 5000 && ct.id < 6000);
				dups += seen[ct.id - 5000]++;
				got++;
				off += used;
			}
		}
	}
	T_ASSERT(done);
	T_EQ(got, 1000);
	T_EQ(dups, 0);
	T_EQ(pg.begins, 1);
	T_EQ(pg.ends, 1);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.dumps, 1);
	T_EQ(st.dump_entries, 1000);
	close(sv[1]);
	/* The peer's close ends the connection at the next step. */
	ev_ctl_step(ctl, 0, 64);
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
	T_STREQ(conf.socket_path, EV_DEFAULT_SOCKET);
	T_EQ(conf.max_listeners, 8);
	T_EQ(conf.reliable, true);
	T_EQ(conf.reliable_stall_ms, 30000);
	T_EQ(conf.max_dying_pct, 10);
	conf.no_socket = true;
	conf.max_listeners = 0;
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "max_listeners") != NULL);
	conf.max_listeners = EV_MAX_LISTENERS + 1;
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	conf.max_listeners = 8;
	conf.max_batch_bytes = 10;
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	conf.max_batch_bytes = 16384;
	T_ASSERT(ev_ctl_create(&conf, &c, 1, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "NULL") != NULL);
	/* A socket path in a directory others can write is refused. */
	conf.no_socket = false;
	snprintf(conf.socket_path, sizeof(conf.socket_path), "/tmp/dpct-ev-%d.sock",
		 (int)getpid());
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "not writable by group or others") != NULL);
	snprintf(conf.socket_path, sizeof(conf.socket_path), "relative.sock");
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "absolute") != NULL);
	return 0;
}

/* Read every queued datagram from `fd`: -1 if a message is out of sequence. */
static int
read_in_seq(int fd, uint32_t *last_seq, unsigned *got)
{
	static uint8_t buf[65536];
	ssize_t rd;

	while ((rd = read(fd, buf, sizeof(buf))) > 0) {
		size_t off = 0;

		while (off + NLMSG_HDRLEN <= (size_t)rd) {
			const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + off);

			if (h->nlmsg_seq != *last_seq + 1 || h->nlmsg_len < NLMSG_HDRLEN)
				return -1;
			*last_seq = h->nlmsg_seq;
			(*got)++;
			off += NLMSG_ALIGN(h->nlmsg_len);
		}
	}
	return 0;
}

/*
 * A socket listener that stays full: once a chunk met its full socket, each
 * later chunk tries it with one message (one encoding, one send) and
 * refuses the rest unencoded (NACK, addressed to it); when it has read its
 * queue, the resends reach it, in sequence.
 */
static int
test_full_socket_skipped(void)
{
	enum { N = 600 };
	static struct ct_event_rec r[N];
	static struct ct_result res[N];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(&c, 2048);
	uint8_t buf[65536];
	uint32_t last_seq = 0;
	uint64_t dg, enc;
	unsigned i, got = 0, nacked = 0, acked = 0, n;
	int sv[2], sz = 8192, slot;

	T_ASSERT(ctl != NULL);
	T_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	slot = ev_ctl_attach_peer(ctl, sv[0], 0, 0, 1);
	T_ASSERT(slot >= 0);
	n = (unsigned)mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, EV_SUB_F_RELIABLE,
			     EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)slot, buf, n), 0);
	while (read(sv[1], buf, sizeof(buf)) > 0)
		; /* the subscription's ack */
	/* After the subscription, which sizes the buffer as configured: room
	 * for about one 16 KB datagram. */
	T_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);

	/* First chunk: some datagrams fit, then the socket is full. */
	for (i = 0; i < N; i++)
		r[i] = rec(i, CT_EV_DESTROY);
	T_EQ(ev_chan_push_records(c, r, 256), 256);
	ev_ctl_step(ctl, 0, 256);
	n = pull_results(c, res, N);
	T_EQ(n, 256);
	for (i = 0; i < n; i++) {
		nacked += res[i].kind == CT_RES_DESTROY_NACK;
		acked += res[i].kind == CT_RES_DESTROY_ACK;
	}
	if (acked == 0 || nacked == 0)
		fprintf(stderr, "# first chunk: %u acked, %u refused\n", acked, nacked);
	T_ASSERT(acked > 0 && nacked > 0);
	ev_ctl_get_stats(ctl, &st);
	dg = st.datagrams;
	enc = st.encoded;
	/* What followed the refused datagram was refused unencoded. */
	T_ASSERT(enc < 256);

	/* Still full: two more chunks, one probe each, the rest refused unencoded. */
	T_EQ(ev_chan_push_records(c, r + 256, 344), 344);
	ev_ctl_step(ctl, 0, 1024);
	T_EQ(pull_results(c, res, N), 344);
	for (i = 0; i < 344; i++) {
		T_EQ(res[i].kind, CT_RES_DESTROY_NACK);
		T_EQ(res[i].targets, 1u << slot);
		T_EQ(res[i].slot, 256 + i);
	}
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.datagrams, dg + 2);
	T_EQ(st.encoded, enc + 2);
	T_EQ(st.events_sent, acked);

	/* The listener reads what it got; the refused ones come again and reach it. */
	T_EQ(read_in_seq(sv[1], &last_seq, &got), 0);
	T_EQ(got, acked);
	for (i = 0; i < N; i++) {
		r[i].targets = 1u << slot;
		r[i].flags = CT_REC_F_RESEND;
	}
	/* Resend everything not acked yet (the first chunk's nacks and all of the rest). */
	n = 0;
	for (i = acked; i < N; i++)
		r[n++] = r[i];
	for (i = 0; i < n; i += 64) {
		unsigned k = n - i < 64 ? n - i : 64, j;

		T_EQ(ev_chan_push_records(c, r + i, k), k);
		ev_ctl_step(ctl, 0, 64);
		T_EQ(pull_results(c, res, N), k);
		for (j = 0; j < k; j++)
			T_EQ(res[j].kind, CT_RES_DESTROY_ACK);
		T_EQ(read_in_seq(sv[1], &last_seq, &got), 0);
	}
	T_EQ(got, N);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.events_sent, N);
	close(sv[1]);
	fin(ctl, c);
	return 0;
}

static uint64_t
refused_of(const struct ev_ctl *ctl, uint32_t uid, size_t field)
{
	struct ev_refusal r[EV_REFUSAL_UIDS + 1];
	unsigned n = ev_ctl_refusals(ctl, r, EV_REFUSAL_UIDS + 1), i;

	for (i = 0; i < n; i++)
		if (r[i].uid == uid)
			return *(const uint64_t *)((const uint8_t *)&r[i] + field);
	return 0;
}

/* Slots nobody can hoard: the per-uid cap, the reserved slots, and uid 0
 * taking the slot of an idle connection when every slot is held. */
static int
test_slot_policy(void)
{
	struct ev_ctl_conf conf;
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	uint8_t buf[256];
	int s[8], r0, r1, r2;
	char err[128];
	size_t n;
	unsigned i;

	c = ev_chan_create(16, 16, err, sizeof(err));
	T_ASSERT(c != NULL);
	ev_ctl_conf_init(&conf);
	T_EQ(conf.max_conns_per_uid, 2);
	T_EQ(conf.subscribe_timeout_ms, 1000);
	conf.no_socket = true;
	conf.max_listeners = 6;
	conf.allowed_uids[0] = 1000;
	conf.allowed_uids[1] = 1001;
	conf.n_allowed_uids = 2;
	conf.reliable_uids[1] = 2000;
	conf.allowed_uids[2] = 2000;
	conf.n_allowed_uids = 3;
	conf.n_reliable_uids = 2;
	ctl = ev_ctl_create(&conf, &c, 1, err, sizeof(err));
	T_ASSERT(ctl != NULL);
	/* Default reserve: half of 6. uid 1000 gets its 2, then the cap. */
	s[0] = ev_ctl_attach_peer(ctl, -1, 1000, 1000, 10);
	s[1] = ev_ctl_attach_peer(ctl, -1, 1000, 1000, 11);
	T_ASSERT(s[0] >= 0 && s[1] >= 0);
	T_EQ(ev_ctl_attach_peer(ctl, -1, 1000, 1000, 12), -EUSERS);
	T_EQ(refused_of(ctl, 1000, offsetof(struct ev_refusal, over_uid_limit)), 1);
	/* uid 1001 takes the last unreserved slot, then meets the reserve. */
	s[2] = ev_ctl_attach_peer(ctl, -1, 1001, 1001, 20);
	T_ASSERT(s[2] >= 0);
	T_EQ(ev_ctl_attach_peer(ctl, -1, 1001, 1001, 21), -EUSERS);
	T_EQ(refused_of(ctl, 1001, offsetof(struct ev_refusal, no_slot)), 1);
	/* A reliable uid and root use the reserve. */
	s[3] = ev_ctl_attach_peer(ctl, -1, 2000, 2000, 30);
	T_ASSERT(s[3] >= 0);
	n = mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, EV_SUB_F_RELIABLE, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)s[3], buf, n), 0);
	r0 = ev_ctl_attach_peer(ctl, -1, 0, 0, 40);
	r1 = ev_ctl_attach_peer(ctl, -1, 0, 0, 41);
	T_ASSERT(r0 >= 0 && r1 >= 0);
	/* Full: root takes the slot of the oldest idle connection (uid 1000's
	 * first), never a subscribed one. */
	n = mk_req(buf, EV_MSG_SUBSCRIBE, EV_PROTO_VERSION, 0, EV_MASK_ALL);
	T_EQ(ev_ctl_handle_request(ctl, (unsigned)s[1], buf, n), 0);
	r2 = ev_ctl_attach_peer(ctl, -1, 0, 0, 42);
	T_EQ(r2, s[0]);
	T_EQ(refused_of(ctl, 1000, offsetof(struct ev_refusal, evicted)), 1);
	/* uid 1001's idle connection goes next; then nothing idle is left. */
	T_EQ(ev_ctl_attach_peer(ctl, -1, 0, 0, 43), s[2]);
	T_EQ(ev_ctl_attach_peer(ctl, -1, 0, 0, 44), -EUSERS);
	/* Root's own idle connections are never taken for root. */
	for (i = 0; i < 3; i++)
		T_EQ(ev_ctl_attach_peer(ctl, -1, 0, 0, 45 + i), -EUSERS);
	T_EQ(refused_of(ctl, 0, offsetof(struct ev_refusal, no_slot)), 4);
	/* Not allowed at all: counted under its own uid. */
	T_EQ(ev_ctl_attach_peer(ctl, -1, 4242, 4242, 50), -EPERM);
	T_EQ(refused_of(ctl, 4242, offsetof(struct ev_refusal, not_allowed)), 1);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.peers_evicted, 2);
	T_EQ(st.subscribe_refused, 7);
	fin(ctl, c);

	/* Explicit reserve: all slots reserved leaves other uids none. */
	c = ev_chan_create(16, 16, err, sizeof(err));
	T_ASSERT(c != NULL);
	conf.max_listeners = 2;
	conf.reserved_slots = 2;
	ctl = ev_ctl_create(&conf, &c, 1, err, sizeof(err));
	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_attach_peer(ctl, -1, 1000, 1000, 1), -EUSERS);
	T_ASSERT(ev_ctl_attach_peer(ctl, -1, 2000, 2000, 2) >= 0);
	fin(ctl, c);
	conf.reserved_slots = 3;
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "reserved_slots") != NULL);
	conf.reserved_slots = EV_RESERVED_HALF;
	conf.max_conns_per_uid = 0;
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "max_conns_per_uid") != NULL);
	conf.max_conns_per_uid = 2;
	conf.max_batch_bytes = EV_DGRAM_MAX + 1;
	T_ASSERT(ev_ctl_create(&conf, &c, 0, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "max_batch_bytes") != NULL);
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
	T_CASE(test_bad_peer_cut),
	T_CASE(test_targeted_resend),
	T_CASE(test_full_socket_skipped),
	T_CASE(test_exactly_once_shard),
	T_CASE(test_kinds_from_listeners),
	T_CASE(test_stall_demotes),
	T_CASE(test_dying_share_demotes),
	T_CASE(test_seq_gaps),
	T_CASE(test_consumer),
	T_CASE(test_dump),
	T_CASE(test_create_errors),
	T_CASE(test_slot_policy),
};

T_MAIN(cases)
