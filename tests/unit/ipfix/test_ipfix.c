/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX export (issue 11): the encoder against our decoder, the exporter
 * over real UDP and TCP sockets on loopback (templates first, sequence
 * numbers, refusal while down or full, exactly-once after the collector
 * resumes, resend after a broken connection), interim deltas that sum to
 * the totals, the control core's consumer registry (a reliable consumer's
 * refusal is a nack) and the shard side (active timeout on the wheel, end
 * reasons, interim records invisible to ctnetlink).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ct_private.h"
#include "dpct_test.h"
#include "ev.h"
#include "ev_consumer.h"
#include "ev_ipfix.h"
#include "ev_ipfix_dec.h"
#include "ev_nl.h"

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1767225600) * SEC)

static struct ct_event_rec
mkrec(unsigned family, uint8_t proto, uint32_t id, bool destroy)
{
	struct ct_event_rec r;
	unsigned i;

	memset(&r, 0, sizeof(r));
	r.orig.family = (uint8_t)family;
	r.orig.proto = proto;
	for (i = 0; i < (family == 4 ? 4u : 16u); i++) {
		r.orig.src[i] = (uint8_t)(10 + i + id);
		r.orig.dst[i] = (uint8_t)(200 - i);
	}
	r.orig.sport = (uint16_t)(1000 + id);
	r.orig.dport = 443;
	r.orig.zone = 7;
	r.pkts[0] = 10 + id;
	r.pkts[1] = 5 + id;
	r.bytes[0] = 1000 + id;
	r.bytes[1] = 700 + id;
	r.start_ns = T0 + id * SEC;
	r.stop_ns = destroy ? T0 + (id + 30) * SEC + 123456789 : 0;
	r.id = id;
	r.slot = id;
	r.shard = 0;
	r.events = destroy ? CT_EV_DESTROY : 0;
	r.flags = destroy ? 0 : CT_REC_F_INTERIM;
	r.l4_seen = proto == 6 ? 0x1b : proto == 1 ? 8 : 0;
	r.in_port = 1;
	r.end_reason = destroy ? CT_END_EOF : 0;
	return r;
}

/* Decoded flows collected by the tests. */
struct got {
	struct ev_ipfix_flow f[4096];
	unsigned n;
	unsigned messages, template_msgs;
	uint32_t next_seq;
	bool seq_ok;
};

static void
collect(void *arg, const struct ev_ipfix_flow *f, uint16_t tid)
{
	struct got *g = arg;

	(void)tid;
	if (g->n < 4096)
		g->f[g->n++] = *f;
}

static int
decode_all(struct ev_ipfix_dec *d, struct got *g, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		struct ev_ipfix_msg_info mi;
		int rc = ev_ipfix_decode(d, buf + off, len - off, collect, g, &mi);

		if (rc <= 0)
			return -1;
		if (mi.records > 0) {
			if (g->messages > 0 && mi.seq != g->next_seq)
				g->seq_ok = false;
			g->next_seq = mi.seq + mi.records;
			g->messages++;
		}
		if (mi.template_sets > 0)
			g->template_msgs++;
		off += (size_t)rc;
	}
	return 0;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */

static int
test_roundtrip(void)
{
	uint8_t buf[4096];
	struct ev_ipfix_dec d;
	struct got g;
	struct ev_ipfix_flow f[3];
	struct ct_event_rec r[3] = { mkrec(4, 6, 1, true), mkrec(6, 17, 2, true),
				     mkrec(4, 1, 3, true) };
	size_t off = EV_IPFIX_HDR_LEN, set, n;
	unsigned i;

	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	n = ev_ipfix_template_set(buf + off, sizeof(buf) - off);
	T_ASSERT(n > 0);
	off += n;
	for (i = 0; i < 3; i++) {
		T_EQ(ev_ipfix_flow_from_rec(&r[i], NULL, 0, &f[i]), 0);
		set = off;
		off += EV_IPFIX_SET_HDR_LEN;
		n = ev_ipfix_encode_record(&f[i], buf + off, sizeof(buf) - off);
		T_EQ(n, ev_ipfix_record_len(r[i].orig.family));
		off += n;
		ev_ipfix_set_header(buf + set, ev_ipfix_template_id(f[i].family),
				    (uint16_t)(off - set));
	}
	ev_ipfix_msg_header(buf, (uint16_t)off, 1, 77, 9);
	T_EQ(ev_ipfix_decode(&d, buf, off, collect, &g, NULL), (int)off);
	T_EQ(g.n, 3);
	for (i = 0; i < 3; i++)
		T_MEMEQ(&g.f[i], &f[i], sizeof(f[i]));
	/* The TCP record: flags, ports, reason, ms times, zone as VRF, id. */
	T_EQ(g.f[0].tcp_flags, 0x1b);
	T_EQ(g.f[0].sport, 1001);
	T_EQ(g.f[0].end_reason, CT_END_EOF);
	T_UEQ(g.f[0].start_ms, (T0 + SEC) / 1000000);
	T_UEQ(g.f[0].end_ms, (T0 + 31 * SEC + 123456789) / 1000000);
	T_EQ(g.f[0].vrf, 7);
	T_EQ(g.f[0].flow_id, 1);
	T_EQ(g.f[0].packets[1], 6);
	/* ICMP: type/code, no ports. */
	T_EQ(g.f[2].icmp, 8 << 8);
	T_EQ(g.f[2].sport, 0);
	/* Truncations and a wrong version are errors, never overreads. */
	for (n = 0; n < off; n++)
		T_ASSERT(ev_ipfix_decode(&d, buf, n, NULL, NULL, NULL) < 0);
	buf[1] = 9;
	T_ASSERT(ev_ipfix_decode(&d, buf, off, NULL, NULL, NULL) < 0);
	/* Not IP: no record. */
	r[0].orig.family = 0;
	T_EQ(ev_ipfix_flow_from_rec(&r[0], NULL, 0, &f[0]), -EINVAL);
	return 0;
}

/* A UDP collector socket on an ephemeral loopback port. */
static int
udp_collector(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void
conf_for(struct ev_ipfix_conf *c, struct ev_ipfix_collector *k, uint16_t port, unsigned tr)
{
	ev_ipfix_conf_init(c);
	c->domain = 42;
	c->flush_ms = 0;
	memset(k, 0, sizeof(*k));
	strcpy(k->host, "127.0.0.1");
	k->port = port;
	k->transport = (uint8_t)tr;
	k->reliable = true;
}

static int
test_udp(void)
{
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf c;
	struct ev_ipfix_stats st;
	struct ev_ipfix_dec d;
	struct ev_ipfix *x;
	static struct got g;
	struct ct_event_rec r[100];
	uint8_t refused[100], buf[70000];
	uint16_t port;
	int fd = udp_collector(&port), tries;
	unsigned i;
	char err[128];

	T_ASSERT(fd >= 0);
	conf_for(&c, &k, port, EV_IPFIX_UDP);
	x = ev_ipfix_create(&c, &k, err, sizeof(err));
	T_ASSERT(x != NULL);
	T_ASSERT(!ev_ipfix_reliable(x));
	for (i = 0; i < 100; i++)
		r[i] = mkrec(i % 3 ? 4 : 6, 6, i + 1, true);
	T_EQ(ev_ipfix_ops.deliver(x, r, 100, T0, refused), 0);
	for (i = 0; i < 100; i++)
		T_EQ(refused[i], 0);
	ev_ipfix_flush(x, T0);
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	g.seq_ok = true;
	for (tries = 0; tries < 200 && g.n < 100; tries++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			usleep(5000);
			continue;
		}
		/* Each datagram is one message within the MTU; the first has the templates. */
		T_ASSERT(n <= 1400);
		T_EQ(decode_all(&d, &g, buf, (size_t)n), 0);
	}
	T_EQ(g.n, 100);
	T_ASSERT(g.seq_ok);
	T_ASSERT(g.template_msgs >= 1);
	ev_ipfix_get_stats(x, &st);
	T_UEQ(st.records_sent, 100);
	T_UEQ(st.final_records, 100);
	T_UEQ(st.seq, 100);
	T_ASSERT(st.templates_sent >= 1);
	T_ASSERT(st.connected);
	ev_ipfix_free(x);
	close(fd);
	return 0;
}

static int
tcp_listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* Poll the exporter until it is connected (bounded). */
static int
wait_up(struct ev_ipfix *x)
{
	uint64_t t = mono_ms();

	while (ev_ipfix_ops.blocked(x) && mono_ms() - t < 3000) {
		ev_ipfix_ops.poll(x, T0);
		usleep(1000);
	}
	return ev_ipfix_ops.blocked(x) ? -1 : 0;
}

/* Read a TCP stream into `s` until `want` records decoded or time runs out. */
struct stream {
	uint8_t buf[1 << 22];
	size_t len;
};

static int
read_stream(int fd, struct stream *s, struct ev_ipfix *x, struct ev_ipfix_dec *d, struct got *g,
	    unsigned want)
{
	uint64_t t = mono_ms();

	while (g->n < want && mono_ms() - t < 5000) {
		ssize_t n = recv(fd, s->buf + s->len, sizeof(s->buf) - s->len, MSG_DONTWAIT);
		size_t off = 0;

		if (x != NULL)
			ev_ipfix_ops.poll(x, T0);
		if (n <= 0) {
			usleep(1000);
			continue;
		}
		s->len += (size_t)n;
		/* Decode whole messages; keep a partial one. */
		while (s->len - off >= 4) {
			size_t ml = (size_t)(s->buf[off + 2] << 8 | s->buf[off + 3]);

			if (ml < 16 || s->len - off < ml)
				break;
			if (decode_all(d, g, s->buf + off, ml) < 0)
				return -1;
			off += ml;
		}
		memmove(s->buf, s->buf + off, s->len - off);
		s->len -= off;
	}
	return 0;
}

static int
test_tcp_down_then_up(void)
{
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf c;
	struct ev_ipfix_stats st;
	struct ev_ipfix *x;
	struct ct_event_rec r = mkrec(4, 6, 1, true);
	uint8_t refused = 0;
	uint16_t port;
	int lfd = tcp_listener(&port);
	char err[128];

	T_ASSERT(lfd >= 0);
	close(lfd); /* nobody listens: connection refused */
	conf_for(&c, &k, port, EV_IPFIX_TCP);
	c.reconnect_min_ms = 1;
	c.reconnect_max_ms = 4;
	x = ev_ipfix_create(&c, &k, err, sizeof(err));
	T_ASSERT(x != NULL);
	T_ASSERT(ev_ipfix_reliable(x));
	ev_ipfix_ops.poll(x, T0);
	usleep(10000);
	ev_ipfix_ops.poll(x, T0);
	T_ASSERT(ev_ipfix_ops.blocked(x));
	ev_ipfix_ops.deliver(x, &r, 1, T0, &refused);
	T_EQ(refused, 1);
	ev_ipfix_get_stats(x, &st);
	T_UEQ(st.records_refused, 1);
	T_ASSERT(st.connect_failures >= 1);
	T_ASSERT(!st.connected);
	ev_ipfix_free(x);
	return 0;
}

static int
test_tcp_slow_collector(void)
{
	static struct stream s;
	static struct got g;
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf c;
	struct ev_ipfix_stats st;
	struct ev_ipfix_dec d;
	struct ev_ipfix *x;
	static struct ct_event_rec r[3000];
	static uint8_t refused[3000], seen[3001];
	uint16_t port;
	int lfd = tcp_listener(&port), cfd, small = 4096;
	unsigned i, pending = 3000, rounds, sent = 0;
	char err[128];

	T_ASSERT(lfd >= 0);
	conf_for(&c, &k, port, EV_IPFIX_TCP);
	c.buffer_bytes = 65536;
	c.tcp_message_bytes = 4096;
	c.sndbuf = 4096;
	x = ev_ipfix_create(&c, &k, err, sizeof(err));
	T_ASSERT(x != NULL);
	ev_ipfix_ops.poll(x, T0);
	cfd = accept(lfd, NULL, NULL);
	T_ASSERT(cfd >= 0);
	setsockopt(cfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	T_EQ(wait_up(x), 0);
	for (i = 0; i < 3000; i++)
		r[i] = mkrec(4, 6, i + 1, true);
	/* The collector does not read: the ring fills and records are refused. */
	for (rounds = 0; rounds < 50 && pending == 3000; rounds++) {
		ev_ipfix_ops.deliver(x, r, 3000, T0, refused);
		pending = 0;
		for (i = 0; i < 3000; i++)
			pending += refused[i];
	}
	T_ASSERT(pending > 0);
	ev_ipfix_get_stats(x, &st);
	T_ASSERT(st.records_refused > 0);
	/* Redeliver refused records (as the shard's nack and resend would)
	 * while the collector reads again; every flow must arrive exactly once. */
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	g.seq_ok = true;
	for (rounds = 0; rounds < 2000 && pending > 0; rounds++) {
		struct ct_event_rec again[3000];
		unsigned m = 0;

		for (i = 0; i < 3000; i++)
			if (refused[i])
				again[m++] = r[i];
		read_stream(cfd, &s, x, &d, &g, g.n + 1);
		ev_ipfix_ops.deliver(x, again, m, T0, refused);
		for (i = 0, pending = 0; i < m; i++) {
			pending += refused[i];
			r[i] = again[i];
		}
		memset(refused + m, 0, 3000 - m);
		sent += m - pending;
	}
	T_EQ(pending, 0);
	ev_ipfix_flush(x, T0);
	T_EQ(read_stream(cfd, &s, x, &d, &g, 3000), 0);
	T_EQ(g.n, 3000);
	for (i = 0; i < g.n; i++) {
		T_ASSERT(g.f[i].flow_id >= 1 && g.f[i].flow_id <= 3000);
		T_EQ(seen[g.f[i].flow_id], 0);
		seen[g.f[i].flow_id] = 1;
	}
	T_ASSERT(g.seq_ok);
	T_EQ(ev_ipfix_flush(x, T0), 0);
	(void)sent;
	ev_ipfix_free(x);
	close(cfd);
	close(lfd);
	return 0;
}

static int
test_tcp_reconnect_resend(void)
{
	static struct stream s;
	static struct got g;
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf c;
	struct ev_ipfix_stats st;
	struct ev_ipfix_dec d;
	struct ev_ipfix *x;
	struct ct_event_rec r[50];
	uint8_t refused[50];
	static uint8_t seen[51];
	uint16_t port;
	int lfd = tcp_listener(&port), cfd, zero = 0;
	unsigned i, dups = 0;
	uint64_t t;
	char err[128];

	T_ASSERT(lfd >= 0);
	conf_for(&c, &k, port, EV_IPFIX_TCP);
	c.reconnect_min_ms = 1;
	c.reconnect_max_ms = 10;
	x = ev_ipfix_create(&c, &k, err, sizeof(err));
	T_ASSERT(x != NULL);
	ev_ipfix_ops.poll(x, T0);
	cfd = accept(lfd, NULL, NULL);
	T_ASSERT(cfd >= 0);
	T_EQ(wait_up(x), 0);
	for (i = 0; i < 50; i++)
		r[i] = mkrec(4, 17, i + 1, true);
	/* Close the first connection with a reset before reading anything:
	 * whatever the peer had not acknowledged is sent again. */
	setsockopt(cfd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof(zero));
	close(cfd);
	ev_ipfix_ops.deliver(x, r, 50, T0, refused);
	t = mono_ms();
	while (mono_ms() - t < 3000) {
		ev_ipfix_ops.poll(x, T0);
		ev_ipfix_get_stats(x, &st);
		if (st.reconnects > 0 || st.connect_failures > 0 || !st.connected)
			break;
		usleep(1000);
	}
	cfd = -1;
	t = mono_ms();
	while (cfd < 0 && mono_ms() - t < 3000) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		ev_ipfix_ops.poll(x, T0);
		if (poll(&p, 1, 1) > 0)
			cfd = accept(lfd, NULL, NULL);
	}
	T_ASSERT(cfd >= 0);
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	g.seq_ok = true;
	/* Records refused while down are offered again (the shard's resend). */
	for (i = 0; i < 50; i++)
		if (refused[i]) {
			uint8_t rf = 1;
			unsigned tries;

			for (tries = 0; tries < 1000 && rf; tries++) {
				ev_ipfix_ops.poll(x, T0);
				ev_ipfix_ops.deliver(x, &r[i], 1, T0, &rf);
			}
			T_EQ(rf, 0);
		}
	ev_ipfix_flush(x, T0);
	T_EQ(read_stream(cfd, &s, x, &d, &g, 50), 0);
	for (i = 0; i < g.n; i++) {
		T_ASSERT(g.f[i].flow_id >= 1 && g.f[i].flow_id <= 50);
		dups += seen[g.f[i].flow_id];
		seen[g.f[i].flow_id] = 1;
	}
	for (i = 1; i <= 50; i++)
		T_EQ(seen[i], 1);
	T_EQ(dups, 0);
	T_ASSERT(g.template_msgs >= 1);
	ev_ipfix_get_stats(x, &st);
	T_ASSERT(st.reconnects >= 1);
	ev_ipfix_free(x);
	close(cfd);
	close(lfd);
	return 0;
}

static int
test_interim_deltas(void)
{
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf c;
	struct ev_ipfix_stats st;
	struct ev_ipfix_dec d;
	struct ev_ipfix *x;
	static struct got g;
	struct ct_event_rec r;
	uint8_t refused, buf[2048];
	uint64_t sum[4] = {0, 0, 0, 0};
	uint16_t port;
	int fd = udp_collector(&port), tries;
	unsigned i;
	char err[128];

	T_ASSERT(fd >= 0);
	conf_for(&c, &k, port, EV_IPFIX_UDP);
	x = ev_ipfix_create(&c, &k, err, sizeof(err));
	T_ASSERT(x != NULL);
	r = mkrec(4, 6, 5, false);
	for (i = 1; i <= 4; i++) {
		r.pkts[0] = 10 * i;
		r.pkts[1] = 3 * i;
		r.bytes[0] = 1000 * i;
		r.bytes[1] = 300 * i;
		ev_ipfix_ops.deliver(x, &r, 1, T0 + i * 60 * SEC, &refused);
		T_EQ(refused, 0);
	}
	/* Nothing new since the last interim: not exported. */
	ev_ipfix_ops.deliver(x, &r, 1, T0 + 300 * SEC, &refused);
	r = mkrec(4, 6, 5, true);
	r.pkts[0] = 47;
	r.pkts[1] = 13;
	r.bytes[0] = 4711;
	r.bytes[1] = 1234;
	ev_ipfix_ops.deliver(x, &r, 1, T0 + 400 * SEC, &refused);
	ev_ipfix_flush(x, T0);
	ev_ipfix_get_stats(x, &st);
	T_UEQ(st.interim_records, 4);
	T_UEQ(st.interim_empty, 1);
	T_UEQ(st.final_records, 1);
	T_UEQ(st.tracked_flows, 0);
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	g.seq_ok = true;
	for (tries = 0; tries < 200 && g.n < 5; tries++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			usleep(5000);
			continue;
		}
		T_EQ(decode_all(&d, &g, buf, (size_t)n), 0);
	}
	T_EQ(g.n, 5);
	for (i = 0; i < 5; i++) {
		sum[0] += g.f[i].packets[0];
		sum[1] += g.f[i].packets[1];
		sum[2] += g.f[i].octets[0];
		sum[3] += g.f[i].octets[1];
		T_EQ(g.f[i].end_reason, i < 4 ? CT_END_ACTIVE : CT_END_EOF);
	}
	T_UEQ(sum[0], 47);
	T_UEQ(sum[1], 13);
	T_UEQ(sum[2], 4711);
	T_UEQ(sum[3], 1234);
	ev_ipfix_free(x);
	close(fd);
	return 0;
}

/* An IPv6 collector. */
static int
test_udp_v6(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t al = sizeof(a);
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf c;
	struct ev_ipfix_dec d;
	struct ev_ipfix *x;
	static struct got g;
	struct ct_event_rec r = mkrec(6, 58, 9, true);
	uint8_t refused, buf[2048];
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), tries;
	char err[128];

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		printf("# no IPv6 loopback here: skipped\n");
		if (fd >= 0)
			close(fd);
		return 0;
	}
	conf_for(&c, &k, ntohs(a.sin6_port), EV_IPFIX_UDP);
	strcpy(k.host, "::1");
	x = ev_ipfix_create(&c, &k, err, sizeof(err));
	T_ASSERT(x != NULL);
	r.l4_seen = 128;
	ev_ipfix_ops.deliver(x, &r, 1, T0, &refused);
	ev_ipfix_flush(x, T0);
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	for (tries = 0; tries < 200 && g.n < 1; tries++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			usleep(5000);
			continue;
		}
		T_EQ(decode_all(&d, &g, buf, (size_t)n), 0);
	}
	T_EQ(g.n, 1);
	T_EQ(g.f[0].family, 6);
	T_EQ(g.f[0].proto, 58);
	T_EQ(g.f[0].icmp, 128 << 8);
	T_MEMEQ(g.f[0].src, r.orig.src, 16);
	ev_ipfix_free(x);
	close(fd);
	return 0;
}

static int
test_collector_check(void)
{
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf c;
	char err[128];

	conf_for(&c, &k, 4739, EV_IPFIX_UDP);
	T_EQ(ev_ipfix_collector_check(&k, err, sizeof(err)), 0);
	strcpy(k.host, "::1");
	T_EQ(ev_ipfix_collector_check(&k, err, sizeof(err)), 0);
	strcpy(k.host, "collector.example");
	T_EQ(ev_ipfix_collector_check(&k, err, sizeof(err)), -EINVAL);
	T_ASSERT(strstr(err, "collector.example") != NULL);
	strcpy(k.host, "127.0.0.1");
	k.port = 0;
	T_EQ(ev_ipfix_collector_check(&k, err, sizeof(err)), -EINVAL);
	k.port = 1;
	k.transport = 7;
	T_EQ(ev_ipfix_collector_check(&k, err, sizeof(err)), -EINVAL);
	k.transport = EV_IPFIX_UDP;
	c.buffer_bytes = 10;
	T_ASSERT(ev_ipfix_create(&c, &k, err, sizeof(err)) == NULL);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The control core's consumer registry                                      */

struct fake {
	unsigned got, refuse_destroys, polls;
};

static int
fake_deliver(void *self, const struct ct_event_rec *recs, unsigned n, uint64_t now,
	     uint8_t *refused)
{
	struct fake *f = self;
	unsigned i;

	(void)now;
	for (i = 0; i < n; i++) {
		f->got++;
		refused[i] = f->refuse_destroys && (recs[i].events & CT_EV_DESTROY);
	}
	return 0;
}

static void
fake_poll(void *self, uint64_t now)
{
	(void)now;
	((struct fake *)self)->polls++;
}

static const struct ev_consumer_ops fake_ops = {
	.kind = "fake", .deliver = fake_deliver, .poll = fake_poll, .blocked = NULL,
};

static int
test_ctl_consumer(void)
{
	struct ev_ctl_conf cc;
	struct ev_chan *ch;
	struct ev_ctl *ctl;
	struct ev_ctl_stats es;
	struct ct_result res[8];
	struct ct_event_rec r[3] = { mkrec(4, 6, 1, true), mkrec(4, 6, 2, false),
				     mkrec(4, 6, 3, true) };
	struct fake rel = { 0, 1, 0 }, unrel = { 0, 1, 0 };
	char err[128];
	unsigned n, i, nacks = 0;

	ch = ev_chan_create(64, 64, err, sizeof(err));
	T_ASSERT(ch != NULL);
	ev_ctl_conf_init(&cc);
	cc.no_socket = true;
	ctl = ev_ctl_create(&cc, &ch, 1, err, sizeof(err));
	T_ASSERT(ctl != NULL);
	T_EQ(ev_ctl_add_consumer(ctl, NULL, NULL, true), -EINVAL);
	T_EQ(ev_ctl_add_consumer(ctl, &fake_ops, &rel, true), 0);
	T_EQ(ev_ctl_add_consumer(ctl, &fake_ops, &unrel, false), 0);
	T_EQ(ev_chan_push_records(ch, r, 3), 3);
	T_EQ(ev_ctl_step(ctl, T0, 0), 3);
	T_EQ(rel.got, 3);
	T_EQ(unrel.got, 3);
	T_ASSERT(rel.polls >= 1);
	n = ev_chan_pull_results(ch, res, 8);
	/* Both destroys are nacks (the reliable consumer refused them); the
	 * interim record is no event and gets no result. */
	T_EQ(n, 2);
	for (i = 0; i < n; i++)
		nacks += res[i].kind == CT_RES_DESTROY_NACK;
	T_EQ(nacks, 2);
	ev_ctl_get_stats(ctl, &es);
	T_UEQ(es.events_failed, 2);
	T_UEQ(es.listener_dropped, 2);
	/* Accepted: acked. */
	rel.refuse_destroys = 0;
	T_EQ(ev_chan_push_records(ch, r, 1), 1);
	ev_ctl_step(ctl, T0, 0);
	T_EQ(ev_chan_pull_results(ch, res, 8), 1);
	T_EQ(res[0].kind, CT_RES_DESTROY_ACK);
	for (i = 2; i < 8; i++)
		T_EQ(ev_ctl_add_consumer(ctl, &fake_ops, &unrel, false), 0);
	T_EQ(ev_ctl_add_consumer(ctl, &fake_ops, &unrel, false), -EUSERS);
	ev_ctl_free(ctl);
	ev_chan_free(ch);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The shard side                                                            */

static struct ct_pkt
mkpkt(uint8_t proto, uint16_t sport, uint8_t flags, bool reply)
{
	struct ct_pkt p;
	uint32_t a = htonl(0x0a000001), b = htonl(0x0a000002);

	memset(&p, 0, sizeof(p));
	p.tuple.family = 4;
	p.tuple.proto = proto;
	memcpy(p.tuple.src, reply ? &b : &a, 4);
	memcpy(p.tuple.dst, reply ? &a : &b, 4);
	p.tuple.sport = reply ? 80 : sport;
	p.tuple.dport = reply ? sport : 80;
	p.cls = CT_PKT_TRACK;
	p.tcp_flags = flags;
	p.len = 100;
	p.in_port = 3;
	p.hash = ct_tuple_hash(&p.tuple);
	return p;
}

static struct ct_shard *
shard_with(uint32_t active_s, uint32_t max)
{
	struct ct_conf c;
	char err[128];

	ct_conf_init(&c);
	c.max_entries = max;
	c.active_timeout_s = active_s;
	c.seed = 1;
	c.timeout_s[CT_TO_UDP_UNREPLIED] = 30;
	c.timeout_s[CT_TO_UDP_REPLIED] = 120;
	return ct_shard_create(&c, err, sizeof(err));
}

/* Take the staged records (all accepted); count interim ones, keep the
 * last destroy and ack it. */
static unsigned
drain(struct ct_shard *s, uint64_t now, unsigned *interim, struct ct_event_rec *destroy,
      uint64_t sum[4], unsigned *destroys)
{
	struct ct_result res[64];
	unsigned n, i, nres = 0;
	struct ct_event_rec *r = ct_shard_ev_peek(s, &n);
	uint8_t msg[EV_NL_MSG_MAX];

	for (i = 0; i < n; i++) {
		if (r[i].flags & CT_REC_F_INTERIM) {
			(*interim)++;
			/* Interim records are invisible to ctnetlink listeners. */
			if (r[i].events != 0 ||
			    ev_nl_encode(&r[i], EV_NL_F_DEFAULT, msg, 0, sizeof(msg)) > 0)
				return UINT32_MAX;
			if (sum != NULL) {
				sum[0] = r[i].pkts[0];
				sum[1] = r[i].pkts[1];
			}
		}
		if ((r[i].events & CT_EV_DESTROY) && nres < 64) {
			res[nres].slot = r[i].slot;
			res[nres].id = r[i].id;
			res[nres].events = r[i].events;
			res[nres].kind = CT_RES_DESTROY_ACK;
			res[nres].pad = 0;
			res[nres].targets = 0;
			nres++;
			*destroy = r[i];
			if (destroys != NULL)
				(*destroys)++;
		}
	}
	ct_shard_ev_commit(s, n, now);
	for (i = 0; i < nres; i++)
		ct_shard_apply_result(s, &res[i], now);
	return n;
}

static int
test_shard_active_timeout(void)
{
	struct ct_shard *s = shard_with(60, 1024);
	struct ct_event_rec d;
	unsigned interim = 0, k, destroys = 0;
	uint64_t now = T0, last[4] = {0, 0, 0, 0};

	T_ASSERT(s != NULL);
	memset(&d, 0, sizeof(d));
	/* A UDP flow of 5 minutes, one packet each way every second. */
	for (k = 0; k < 300; k++) {
		struct ct_pkt p[2] = { mkpkt(17, 5000, 0, false), mkpkt(17, 5000, 0, true) };
		uint8_t v[2];

		now = T0 + (uint64_t)k * SEC;
		ct_process_burst(s, p, 2, now, v);
		ct_shard_expire(s, now, 100000);
		T_ASSERT(drain(s, now, &interim, &d, last, &destroys) != UINT32_MAX);
	}
	/* 60, 120, 180, 240 s (the 300 s one falls after the last packet). */
	T_EQ(interim, 4);
	/* Due on the wheel's ~1 ms ticks: within a packet of 240 s. */
	T_ASSERT(last[0] >= 240 && last[0] <= 242);
	T_EQ(destroys, 0);
	/* Idle timeout ends it (UDP replied, 120 s): reason idle, port 3. */
	for (k = 0; k < 200 && destroys == 0; k++) {
		now += SEC;
		ct_shard_expire(s, now, 100000);
		drain(s, now, &interim, &d, NULL, &destroys);
	}
	T_EQ(destroys, 1);
	T_EQ(d.end_reason, CT_END_IDLE);
	T_EQ(d.in_port, 3);
	T_UEQ(d.pkts[0], 300);
	T_ASSERT(d.stop_ns >= T0 + 299 * SEC);
	ct_shard_free(s);
	return 0;
}

/*
 * The interim deadlines are start + k * active timeout, not stored in the
 * entry: a wheel that lags by more than a turn (a 1024-entry shard has a
 * 4096-slot wheel, ~4.3 s) still reports each passed deadline once, and
 * one record for several deadlines passed within one lag.
 */
static int
lagging_interims(unsigned step_s, unsigned *per_call_max, uint64_t *last_pkts)
{
	struct ct_shard *s = shard_with(60, 1024);
	struct ct_event_rec d;
	unsigned interim = 0, k, destroys = 0;
	uint64_t now = T0, last[4] = {0, 0, 0, 0};

	if (s == NULL)
		return -1;
	memset(&d, 0, sizeof(d));
	*per_call_max = 0;
	for (k = 0; k < 300; k++) {
		struct ct_pkt p[2] = { mkpkt(17, 5001, 0, false), mkpkt(17, 5001, 0, true) };
		uint8_t v[2];

		now = T0 + (uint64_t)k * SEC;
		ct_process_burst(s, p, 2, now, v);
		if (k % step_s == 0) {
			unsigned before = interim;

			ct_shard_expire(s, now, 100000);
			if (drain(s, now, &interim, &d, last, &destroys) == UINT32_MAX)
				interim = 1000;
			if (interim - before > *per_call_max)
				*per_call_max = interim - before;
		}
	}
	*last_pkts = last[0];
	ct_shard_free(s);
	return destroys == 0 ? (int)interim : -1;
}

static int
test_shard_active_timeout_lagging(void)
{
	unsigned per_call;
	uint64_t last;

	/* Every 10 s: 60, 120, 180, 240 s reported at 70, 130, 190, 250 s. */
	T_EQ(lagging_interims(10, &per_call, &last), 4);
	T_EQ(per_call, 1);
	T_UEQ(last, 251);
	/* Every 90 s: 60 at 90, 120 at 180, 240 at 270 (180 s fell just after 180). */
	T_EQ(lagging_interims(90, &per_call, &last), 3);
	T_EQ(per_call, 1);
	T_UEQ(last, 271);
	return 0;
}

/*
 * A flow older than the 32-bit tick's half range (2^31 ticks of ~1.05 ms,
 * ~26 days) keeps its interim records: the deadlines are computed on
 * 64-bit ticks from its start.
 */
static int
test_shard_active_timeout_old_flow(void)
{
	struct ct_shard *s = shard_with(60, 1024);
	struct ct_event_rec d;
	unsigned interim = 0, k, destroys = 0, late_calls = 0, late_interims = 0;
	uint64_t now = T0, last[4] = {0, 0, 0, 0};
	const unsigned days = 30, step = 100, calls = days * 86400 / step;

	T_ASSERT(s != NULL);
	memset(&d, 0, sizeof(d));
	for (k = 0; k < calls; k++) {
		struct ct_pkt p[2] = { mkpkt(17, 5002, 0, false), mkpkt(17, 5002, 0, true) };
		unsigned before = interim;
		uint8_t v[2];

		now = T0 + (uint64_t)k * step * SEC;
		ct_process_burst(s, p, 2, now, v);
		if (k == 0) {
			/* A reply after 2 s: the replied timeout (120 s) from now on. */
			now += 3 * SEC;
			ct_process_burst(s, p, 2, now, v);
		}
		ct_shard_expire(s, now, 100000);
		T_ASSERT(drain(s, now, &interim, &d, last, &destroys) != UINT32_MAX);
		/* Every 100 s window after the first minute holds a deadline. */
		if (k * step >= 27u * 86400) {
			late_calls++;
			late_interims += interim - before;
		}
	}
	T_EQ(destroys, 0);
	T_ASSERT(late_calls > 0);
	T_EQ(late_interims, late_calls);
	T_UEQ(last[0], calls + 1);
	ct_shard_free(s);
	return 0;
}

static int
test_shard_end_reasons(void)
{
	struct ct_shard *s = shard_with(0, 1024);
	struct ct_event_rec d;
	struct ct_pkt p;
	struct ct_tuple t;
	unsigned interim = 0, destroys = 0;
	uint8_t v;
	uint64_t now = T0;

	T_ASSERT(s != NULL);
	/* TCP: SYN, SYN/ACK, ACK, RST: end of flow detected, flags ORed. */
	p = mkpkt(6, 6000, 0x02, false);
	p.tcp_seq = 100;
	p.tcp_win = 65535;
	ct_process_burst(s, &p, 1, now, &v);
	p = mkpkt(6, 6000, 0x12, true);
	p.tcp_seq = 500;
	p.tcp_ack = 101;
	p.tcp_win = 65535;
	ct_process_burst(s, &p, 1, now + 1000, &v);
	p = mkpkt(6, 6000, 0x18, false);
	p.tcp_seq = 101;
	p.tcp_ack = 501;
	p.tcp_win = 65535;
	ct_process_burst(s, &p, 1, now + 2000, &v);
	/* The RST at exactly the expected sequence number (Linux ignores others). */
	p = mkpkt(6, 6000, 0x04, true);
	p.tcp_seq = 501;
	p.tcp_win = 65535;
	ct_process_burst(s, &p, 1, now + 3000, &v);
	ct_shard_expire(s, now + 20 * SEC, 100000);
	drain(s, now + 20 * SEC, &interim, &d, NULL, &destroys);
	T_EQ(destroys, 1);
	T_EQ(d.end_reason, CT_END_EOF);
	T_EQ(d.l4_seen, 0x02 | 0x12 | 0x18 | 0x04);
	T_EQ(d.tcp_state, CT_TCP_CLOSE);
	T_EQ(interim, 0);
	/* Delete: forced end. */
	p = mkpkt(17, 7000, 0, false);
	ct_process_burst(s, &p, 1, now, &v);
	drain(s, now, &interim, &d, NULL, NULL);
	t = p.tuple;
	T_EQ(ct_shard_delete(s, &t, now + SEC), 0);
	destroys = 0;
	drain(s, now + SEC, &interim, &d, NULL, &destroys);
	T_EQ(destroys, 1);
	T_EQ(d.end_reason, CT_END_FORCED);
	/* Flush: forced end too; ICMP keeps type and code. */
	p = mkpkt(1, 9, 0, false);
	p.icmp_type = 8;
	p.icmp_code = 0;
	ct_process_burst(s, &p, 1, now, &v);
	drain(s, now, &interim, &d, NULL, NULL);
	T_EQ(ct_shard_flush(s, now + 30 * SEC, 0), 1);
	destroys = 0;
	drain(s, now + 30 * SEC, &interim, &d, NULL, &destroys);
	T_EQ(destroys, 1);
	T_EQ(d.end_reason, CT_END_FORCED);
	T_EQ(d.l4_seen, 8);
	T_EQ(d.orig.proto, 1);
	T_UEQ(d.stop_ns, now + 30 * SEC);
	ct_shard_free(s);
	return 0;
}

static int
test_shard_early_drop(void)
{
	struct ct_shard *s = shard_with(0, 1);
	struct ct_event_rec d;
	struct ct_pkt p;
	unsigned interim = 0, destroys = 0, i;
	uint8_t v;

	T_ASSERT(s != NULL);
	/* A table of one: the second flow evicts the first (lack of resources). */
	for (i = 0; i < 64 && destroys == 0; i++) {
		p = mkpkt(17, (uint16_t)(100 + i * 7919), 0, false);
		ct_process_burst(s, &p, 1, T0 + i, &v);
		drain(s, T0 + i, &interim, &d, NULL, &destroys);
	}
	T_EQ(destroys, 1);
	T_EQ(d.end_reason, CT_END_RESOURCES);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_roundtrip),
	T_CASE(test_udp),
	T_CASE(test_udp_v6),
	T_CASE(test_tcp_down_then_up),
	T_CASE(test_tcp_slow_collector),
	T_CASE(test_tcp_reconnect_resend),
	T_CASE(test_interim_deltas),
	T_CASE(test_collector_check),
	T_CASE(test_ctl_consumer),
	T_CASE(test_shard_active_timeout),
	T_CASE(test_shard_active_timeout_lagging),
	T_CASE(test_shard_active_timeout_old_flow),
	T_CASE(test_shard_end_reasons),
	T_CASE(test_shard_early_drop),
};

T_MAIN(cases)
