/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pacing of the UDP exporter (docs/export.md, "Pacing"), on a clock of the
 * test's own: the token bucket (a table of steps: rates, bursts, costs
 * above the depth, debt, a clock that goes back, idle times that would
 * overflow) and the exporter's queue (a table of cases: no pacing, the
 * message bucket, the byte bucket, a full queue that drops its oldest
 * messages, what is left at exit, templates that are never queued), each
 * case checked message by message against a collector socket on loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dpct_test.h"
#include "ev_ipfix.h"
#include "ev_ipfix_dec.h"

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1767225600) * SEC)

/* ------------------------------------------------------------------------ */
/* The token bucket                                                          */

struct bstep {
	uint64_t at_ns;     /* since the start */
	uint64_t cost;
	int ready;          /* expected ev_ipfix_bucket_ready() */
	int take;           /* then take (ev_ipfix_bucket_take(), even when not ready) */
	uint64_t wait_ns;   /* expected ev_ipfix_bucket_wait_ns(), UINT64_MAX: not checked */
};

#define NOW UINT64_MAX
#define BSTEPS 8

struct bcase {
	const char *name;
	uint64_t rate, depth;
	struct bstep s[BSTEPS];
	unsigned n;
};

static const struct bcase bcases[] = {
	{ "starts full, then the rate", 1000, 3, {
		{ 0, 1, 1, 1, 0 }, { 0, 1, 1, 1, 0 }, { 0, 1, 1, 1, 0 },
		{ 0, 1, 0, 0, 1 * MS },                 /* empty: 1 ms a token */
		{ 999999, 1, 0, 0, 1 },                 /* 1 ns short */
		{ 1 * MS, 1, 1, 1, 0 },
		{ 100 * MS, 5, 1, 1, 0 },               /* a cost above the depth: when full */
		{ 100 * MS, 1, 0, 0, 3 * MS },          /* ... leaves a debt of 2 */
	}, 8 },
	{ "idle refills only to the depth", 1000, 2, {
		{ 0, 2, 1, 1, 0 }, { 3600 * SEC, 1, 1, 1, 0 }, { 3600 * SEC, 1, 1, 1, 0 },
		{ 3600 * SEC, 1, 0, 0, 1 * MS },
	}, 4 },
	{ "rate 0 is no limit", 0, 1, {
		{ 0, 1000000, 1, 1, 0 }, { 0, 1000000, 1, 1, 0 }, { 0, 1, 1, 1, 0 },
	}, 3 },
	{ "a clock that goes back adds nothing", 10, 1, {
		{ 10 * SEC, 1, 1, 1, 0 }, { 5 * SEC, 1, 0, 0, 100 * MS },
		{ 10 * SEC + 50 * MS, 1, 0, 0, 50 * MS }, { 10 * SEC + 100 * MS, 1, 1, 1, 0 },
	}, 4 },
	{ "a rate that is not a divisor of 1e9", 3, 1, {
		{ 0, 1, 1, 1, 0 }, { 0, 1, 0, 0, 333333334 }, { 333333333, 1, 0, 0, 1 },
		{ 333333334, 1, 1, 1, 0 },
	}, 4 },
	{ "bytes: 14000/s, 1400 deep", 14000, 1400, {
		{ 0, 200, 1, 1, 0 }, { 0, 1300, 0, 0, 7142858 }, { 0, 1200, 1, 1, 0 },
		{ 100 * MS, 1400, 1, 1, 0 }, { 100 * MS, 1, 0, 0, 71429 },
	}, 5 },
	{ "the largest rate over a century idle", UINT64_C(1000000000000), 1000000000, {
		{ 0, 1000000000, 1, 1, 0 }, { 100ull * 365 * 86400 * SEC, 1000000000, 1, 1, 0 },
		{ 100ull * 365 * 86400 * SEC, 1, 0, 0, 1 },
	}, 3 },
	{ "debt is bounded", 1, 1, {
		{ 0, UINT64_MAX, 1, 1, NOW }, { 0, UINT64_MAX, 0, 1, NOW },
		{ 0, UINT64_MAX, 0, 1, NOW }, { 0, 1, 0, 0, NOW },
	}, 4 },
};

static int
bucket_case(const struct bcase *c)
{
	struct ev_ipfix_bucket b;
	unsigned i;

	T_EQ(ev_ipfix_bucket_init(&b, c->rate, c->depth, T0), 0);
	for (i = 0; i < c->n; i++) {
		const struct bstep *s = &c->s[i];
		uint64_t now = T0 + s->at_ns;
		struct ev_ipfix_bucket copy = b;
		bool ready = ev_ipfix_bucket_ready(&b, s->cost, now);

		if ((int)ready != s->ready || (s->wait_ns != NOW &&
					       ev_ipfix_bucket_wait_ns(&copy, s->cost, now) !=
					       s->wait_ns)) {
			printf("# %s, step %u: ready %d (want %d), wait %llu ns (want %llu)\n",
			       c->name, i, ready, s->ready,
			       (unsigned long long)ev_ipfix_bucket_wait_ns(&copy, s->cost, now),
			       (unsigned long long)s->wait_ns);
			return 1;
		}
		if (s->take)
			ev_ipfix_bucket_take(&b, s->cost);
		T_ASSERT(b.level <= (int64_t)(b.depth * SEC));
	}
	return 0;
}

static int
test_bucket_table(void)
{
	struct ev_ipfix_bucket b;
	unsigned i;
	int bad = 0;

	for (i = 0; i < sizeof(bcases) / sizeof(bcases[0]); i++)
		bad |= bucket_case(&bcases[i]);
	T_EQ(bad, 0);
	T_EQ(ev_ipfix_bucket_init(&b, UINT64_C(1000000000001), 1, 0), -EINVAL);
	T_EQ(ev_ipfix_bucket_init(&b, 1, UINT64_C(1000000001), 0), -EINVAL);
	T_EQ(ev_ipfix_bucket_init(&b, 1, 0, 0), 0);
	T_UEQ(b.depth, 1);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The exporter's queue                                                      */

static uint64_t clock_ns;

static uint64_t
test_clock(void *arg)
{
	(void)arg;
	return clock_ns;
}

#define PER_MSG 17 /* IPv4 records (81 bytes) in a 1400-byte message */
#define MSG_LEN (EV_IPFIX_HDR_LEN + EV_IPFIX_SET_HDR_LEN + PER_MSG * 81)
#define QSTEPS 8

struct qstep {
	uint64_t advance_ms;  /* then poll */
	unsigned received;    /* data messages the collector has by then */
};

struct qcase {
	const char *name;
	uint32_t pps;
	uint64_t bps;
	uint32_t buffer;
	unsigned messages;    /* full messages delivered in one call at the start */
	unsigned direct;      /* of them sent at once */
	struct qstep s[QSTEPS];
	unsigned n;
	unsigned dropped;     /* messages dropped from the full queue, the oldest */
	bool discard;         /* ev_ipfix_discard() after the steps */
	unsigned at_exit;     /* messages it drops then */
	bool refresh;         /* templates are due after the steps */
};

/* The queue of 64 KiB holds 46 of these messages (1397 bytes and 2 of count). */
static const struct qcase qcases[] = {
	{ "no pacing: all at once", 0, 0, 65536, 40, 40,
	  { { 0, 40 } }, 1, 0, false, 0, false },
	{ "1000 messages/s: a burst of 10 (one to the templates), then 1 a ms",
	  1000, 0, 1 << 20, 30, 9,
	  { { 0, 9 }, { 10, 19 }, { 5, 24 }, { 100, 30 } }, 4, 0, false, 0, false },
	{ "112 kbit/s: one message a 100 ms, the burst is one message",
	  0, 112000, 1 << 20, 10, 0,
	  { { 0, 0 }, { 100, 1 }, { 100, 2 }, { 1000, 3 }, { 50, 3 }, { 50, 4 } }, 6,
	  0, false, 0, false },
	{ "both limits: the stricter one holds", 1000, 112000, 1 << 20, 10, 0,
	  { { 0, 0 }, { 100, 1 }, { 10, 1 }, { 90, 2 } }, 4, 0, false, 0, false },
	{ "full queue: the oldest are dropped", 10, 0, 65536, 100, 0,
	  { { 100, 1 }, { 100, 2 }, { 100, 3 }, { 100, 4 } }, 4, 54, false, 0, false },
	{ "left at exit: counted lost", 10, 0, 65536, 60, 0,
	  { { 100, 1 }, { 100, 2 } }, 2, 14, true, 44, false },
	{ "templates go out past a full queue", 10, 0, 65536, 100, 0,
	  { { 100, 1 } }, 1, 54, true, 45, true },
};

struct rx {
	unsigned data_msgs, template_msgs;
	uint32_t seq[256];
};

/* Read what the collector socket holds (loopback delivers within sendmsg). */
static int
drain_rx(int fd, struct ev_ipfix_dec *d, struct rx *rx)
{
	uint8_t buf[70000];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct ev_ipfix_msg_info mi;

		if (ev_ipfix_decode(d, buf, (size_t)n, NULL, NULL, &mi) != (int)n)
			return -1;
		if (mi.template_sets > 0)
			rx->template_msgs++;
		if (mi.records > 0) {
			if (mi.records != PER_MSG || rx->data_msgs >= 256)
				return -1;
			rx->seq[rx->data_msgs++] = mi.seq;
		}
	}
	return 0;
}

static struct ct_event_rec
rec4(uint32_t id)
{
	struct ct_event_rec r;
	uint32_t a = htonl(0x0a000000u + id), b = htonl(0xc0000201u);

	memset(&r, 0, sizeof(r));
	r.orig.family = 4;
	r.orig.proto = 17;
	memcpy(r.orig.src, &a, 4);
	memcpy(r.orig.dst, &b, 4);
	r.orig.sport = (uint16_t)id;
	r.orig.dport = 53;
	r.pkts[0] = 1;
	r.bytes[0] = 80;
	r.start_ns = T0;
	r.stop_ns = T0 + SEC;
	r.id = id;
	r.slot = id;
	r.events = CT_EV_DESTROY;
	r.end_reason = CT_END_EOF;
	return r;
}

static int
queue_case(const struct qcase *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	static struct ct_event_rec recs[256 * PER_MSG];
	static uint8_t refused[256 * PER_MSG];
	static struct ev_ipfix_dec d;
	struct ev_ipfix_collector k;
	struct ev_ipfix_conf conf;
	struct ev_ipfix_stats st;
	struct ev_ipfix *x;
	struct rx rx;
	unsigned i, n = c->messages * PER_MSG, templates;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;
	char err[160];

	T_ASSERT(fd >= 0);
	/* Root may pass net.core.rmem_max (a fresh host's is 208 KiB). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	T_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	T_ASSERT(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	ev_ipfix_conf_init(&conf);
	conf.flush_ms = 0;
	conf.mtu = 1400;
	conf.buffer_bytes = c->buffer;
	conf.template_refresh_s = 60;
	conf.sndbuf = 4 << 20;
	conf.clock = test_clock;
	memset(&k, 0, sizeof(k));
	strcpy(k.host, "127.0.0.1");
	k.port = ntohs(a.sin_port);
	k.transport = EV_IPFIX_UDP;
	k.max_rate_pps = c->pps;
	k.max_rate_bps = c->bps;
	clock_ns = 1000 * SEC;
	x = ev_ipfix_create(&conf, &k, err, sizeof(err));
	if (x == NULL) {
		printf("# %s: %s\n", c->name, err);
		return 1;
	}
	memset(&d, 0, sizeof(d));
	memset(&rx, 0, sizeof(rx));
	for (i = 0; i < n; i++)
		recs[i] = rec4(i + 1);
	T_EQ(ev_ipfix_ops.deliver(x, recs, n, T0, refused), 0);
	for (i = 0; i < n; i++)
		T_EQ(refused[i], 0);
	T_EQ(drain_rx(fd, &d, &rx), 0);
	if (rx.data_msgs != c->direct) {
		printf("# %s: %u messages at once, want %u\n", c->name, rx.data_msgs, c->direct);
		return 1;
	}
	T_EQ(rx.template_msgs, 1);
	for (i = 0; i < c->n; i++) {
		clock_ns += c->s[i].advance_ms * MS;
		ev_ipfix_ops.poll(x, T0);
		T_EQ(drain_rx(fd, &d, &rx), 0);
		if (rx.data_msgs != c->s[i].received) {
			printf("# %s, step %u: %u messages, want %u\n", c->name, i, rx.data_msgs,
			       c->s[i].received);
			return 1;
		}
	}
	/* The oldest were dropped: after those sent at once, the k-th message
	 * received is the (k + dropped)-th closed. */
	for (i = 0; i < rx.data_msgs; i++)
		T_UEQ(rx.seq[i], (i < c->direct ? i : i + c->dropped) * PER_MSG);
	templates = rx.template_msgs;
	if (c->refresh) {
		clock_ns += 60 * SEC;
		ev_ipfix_ops.poll(x, T0);
		T_EQ(drain_rx(fd, &d, &rx), 0);
		T_EQ(rx.template_msgs, templates + 1);
	}
	ev_ipfix_get_stats(x, &st);
	T_UEQ(st.templates_sent, rx.template_msgs);
	T_UEQ(st.queue_dropped, (uint64_t)c->dropped * PER_MSG);
	T_UEQ(st.messages_delayed, c->messages - c->direct);
	if (c->discard) {
		T_UEQ(ev_ipfix_discard(x), (uint64_t)c->at_exit * PER_MSG);
		ev_ipfix_get_stats(x, &st);
		T_UEQ(st.lost_at_exit, (uint64_t)c->at_exit * PER_MSG);
		T_UEQ(st.records_queued, 0);
		T_UEQ(st.queue_bytes, 0);
		T_UEQ(ev_ipfix_flush(x, T0), 0);
	}
	T_UEQ(st.records_lost, st.queue_dropped + st.lost_at_exit);
	T_UEQ(st.records_sent, n);
	/* Every record is accounted for: received, lost or still queued. */
	T_UEQ((uint64_t)rx.data_msgs * PER_MSG + st.records_lost + st.records_queued, n);
	T_UEQ(st.queue_bytes, (uint64_t)st.records_queued / PER_MSG * (MSG_LEN + 2));
	T_ASSERT(st.queue_peak_bytes <= c->buffer);
	ev_ipfix_free(x);
	close(fd);
	return 0;
}

static int
test_queue_table(void)
{
	unsigned i;
	int bad = 0;

	T_EQ(ev_ipfix_record_len(4), 81);
	T_ASSERT(MSG_LEN <= 1400 && MSG_LEN + 81 > 1400);
	for (i = 0; i < sizeof(qcases) / sizeof(qcases[0]); i++) {
		int rc = queue_case(&qcases[i]);

		if (rc != 0)
			printf("# case \"%s\" failed\n", qcases[i].name);
		bad |= rc;
	}
	T_EQ(bad, 0);
	return 0;
}

/* A TCP collector takes no rate; rates out of range are refused. */
static int
test_rate_checks(void)
{
	static const struct {
		uint8_t transport;
		uint32_t pps;
		uint64_t bps;
		int rc;
		const char *msg;
	} t[] = {
		{ EV_IPFIX_UDP, 0, 0, 0, "" },
		{ EV_IPFIX_UDP, EV_IPFIX_RATE_PPS_MAX, EV_IPFIX_RATE_BPS_MAX, 0, "" },
		{ EV_IPFIX_UDP, EV_IPFIX_RATE_PPS_MAX + 1, 0, -EINVAL, "max_rate_pps" },
		{ EV_IPFIX_UDP, 0, EV_IPFIX_RATE_BPS_MIN - 1, -EINVAL, "max_rate_bps" },
		{ EV_IPFIX_UDP, 0, EV_IPFIX_RATE_BPS_MAX + 1, -EINVAL, "max_rate_bps" },
		{ EV_IPFIX_TCP, 0, 0, 0, "" },
		{ EV_IPFIX_TCP, 1000, 0, -EINVAL, "not paced" },
		{ EV_IPFIX_TCP, 0, 1000000, -EINVAL, "not paced" },
	};
	struct ev_ipfix_collector k;
	char err[200];
	unsigned i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&k, 0, sizeof(k));
		strcpy(k.host, "127.0.0.1");
		k.port = 4739;
		k.transport = t[i].transport;
		k.max_rate_pps = t[i].pps;
		k.max_rate_bps = t[i].bps;
		err[0] = '\0';
		if (ev_ipfix_collector_check(&k, err, sizeof(err)) != t[i].rc ||
		    strstr(err, t[i].msg) == NULL) {
			printf("# row %u: \"%s\"\n", i, err);
			return 1;
		}
	}
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_bucket_table),
	T_CASE(test_queue_table),
	T_CASE(test_rate_checks),
};

T_MAIN(cases)
