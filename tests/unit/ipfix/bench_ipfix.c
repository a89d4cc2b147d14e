/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Export throughput (issue 11, docs/PERFORMANCE.md): DESTROY records pushed
 * through a channel into the control core (ev_ctl_step), which hands them
 * to one event listener that keeps up (an in-memory sink, so what is
 * measured is the control core) and, in the export runs, to the IPFIX
 * exporter sending to a collector on loopback (a thread of this program
 * reading its socket as fast as it can). Same records, same run:
 *   events      : the listener alone (the baseline of the events channel)
 *   events+udp  : plus IPFIX over UDP (default 1400-byte messages)
 *   events+udp-9000 : the same with 8960-byte messages (jumbo frames)
 *   events+tcp  : plus IPFIX over TCP (reliable; refusals are nacks)
 * For each: records/s through the control core, records the collector
 * received, and the cost to the events channel (ns per record over the
 * baseline). Usage: bench_ipfix [records] ; prints one JSON object a run.
 *
 * bench_ipfix --pace [runs] [seconds]: what UDP pacing costs the control
 * core. Records are offered at 1 M/s (100 every 100 us, as the workers'
 * rings would hand them over) and the time spent in ev_ctl_step() (the
 * consumers' deliver and poll included; not the idle waits between
 * chunks) is counted per record, for each mode in turn within each run:
 * as cycles of this thread on the CPU (its CPU time, kernel included,
 * times the TSC rate: a VM has no cycle counter, and preemption by a
 * neighbour must not count) and as TSC cycles of wall time.
 *   events          : the listener alone
 *   udp-unpaced     : plus IPFIX over UDP, max_rate 0 (each message sent when closed)
 *   udp-paced-1M    : plus IPFIX over UDP paced at 1,000,000 messages/s: every message
 *                     goes through both buckets, which never hold one back (1 M
 *                     records/s is 59,000 messages/s; a lower rate would also hold
 *                     messages back whenever a busy host preempts this thread, since
 *                     a bucket keeps only 10 ms of tokens)
 *   udp-paced-2000  : paced at the default 2000 messages/s: the queue overflows and
 *                     drops its oldest messages
 * One JSON line per mode: the median over the runs, and every run. A last
 * line times the pacing decision alone (both buckets' ready and take, per
 * message, TSC cycles), which the end-to-end numbers cannot resolve on a
 * shared host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "ev.h"
#include "ev_consumer.h"
#include "ev_ipfix.h"

#define CHUNK 256

struct collector {
	int lfd, fd;
	bool tcp;
	atomic_bool stop;
	atomic_uint_fast64_t bytes;
	uint16_t port;
	pthread_t th;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *
collector_main(void *arg)
{
	struct collector *c = arg;
	uint8_t *buf = malloc(1 << 20);

	if (buf == NULL)
		return NULL;
	if (c->tcp) {
		c->fd = accept(c->lfd, NULL, NULL);
		if (c->fd < 0) {
			free(buf);
			return NULL;
		}
	}
	while (!atomic_load(&c->stop)) {
		ssize_t n = recv(c->fd, buf, 1 << 20, MSG_DONTWAIT);

		if (n > 0)
			atomic_fetch_add(&c->bytes, (uint64_t)n);
		else if (n == 0 && c->tcp)
			break;
		else
			usleep(50);
	}
	free(buf);
	return NULL;
}

static int
collector_start(struct collector *c, bool tcp)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int big = 64 << 20, fd;

	memset(c, 0, sizeof(*c));
	c->tcp = tcp;
	fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0 || (tcp && listen(fd, 1) < 0))
		return -1;
	c->port = ntohs(a.sin_port);
	if (tcp)
		c->lfd = fd;
	else
		c->fd = fd;
	return pthread_create(&c->th, NULL, collector_main, c);
}

static void
collector_stop(struct collector *c)
{
	atomic_store(&c->stop, true);
	pthread_join(c->th, NULL);
	close(c->fd);
	if (c->tcp)
		close(c->lfd);
}

static int
sink(void *arg, const struct iovec *iov, unsigned iovcnt, size_t bytes)
{
	(void)iov;
	(void)iovcnt;
	*(uint64_t *)arg += bytes;
	return 0;
}

struct result {
	double rate, ns_per_rec;
	uint64_t handled, nacks;
	struct ev_ipfix_stats st;
	uint64_t collector_bytes;
};

/* DESTROY records of `n` TCP flows (ids are set by the caller). */
static void
fill_recs(struct ct_event_rec *recs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct ct_event_rec *r = &recs[i];
		uint32_t a = htonl(0x0a000000u + i), b = htonl(0xc0000201u);

		memset(r, 0, sizeof(*r));
		r->orig.family = 4;
		r->orig.proto = 6;
		memcpy(r->orig.src, &a, 4);
		memcpy(r->orig.dst, &b, 4);
		r->orig.sport = (uint16_t)(1024 + i);
		r->orig.dport = 443;
		r->pkts[0] = 10;
		r->pkts[1] = 8;
		r->bytes[0] = 1500;
		r->bytes[1] = 9000;
		r->start_ns = UINT64_C(1767225600) * 1000000000u;
		r->stop_ns = r->start_ns + 2000000000u;
		r->status = CT_S_ASSURED | CT_S_SEEN_REPLY | CT_S_CONFIRMED | CT_S_DYING;
		r->events = CT_EV_DESTROY;
		r->tcp_state = 7;
		r->l4_seen = 0x1b;
		r->end_reason = CT_END_EOF;
		r->slot = i;
	}
}

static int
run(const char *mode, uint64_t total, struct result *res)
{
	struct ev_ctl_conf cc;
	struct ev_chan *ch;
	struct ev_ctl *ctl;
	struct ev_ipfix *x = NULL;
	struct collector col;
	static struct ct_event_rec recs[CHUNK];
	struct ct_result out[CHUNK * 2];
	uint64_t sink_bytes = 0, done = 0, t0, t1, id = 1;
	bool udp = strncmp(mode, "events+udp", 10) == 0, tcp = strcmp(mode, "events+tcp") == 0;
	char err[128];
	unsigned i;

	memset(res, 0, sizeof(*res));
	ch = ev_chan_create(4096, 8192, err, sizeof(err));
	ev_ctl_conf_init(&cc);
	cc.no_socket = true;
	ctl = ch ? ev_ctl_create(&cc, &ch, 1, err, sizeof(err)) : NULL;
	if (ctl == NULL || ev_ctl_add_sink(ctl, 1, 0, EV_MASK_ALL, sink, &sink_bytes) < 0) {
		fprintf(stderr, "bench_ipfix: %s\n", err);
		return -1;
	}
	if (udp || tcp) {
		struct ev_ipfix_collector k;
		struct ev_ipfix_conf c;
		uint64_t t;

		if (collector_start(&col, tcp) < 0)
			return -1;
		ev_ipfix_conf_init(&c);
		c.sndbuf = 8 << 20;
		c.buffer_bytes = 32 << 20;
		/* The default 1400, or a jumbo-frame-sized message. */
		c.mtu = strcmp(mode, "events+udp-9000") == 0 ? 8960 : 1400;
		c.tcp_message_bytes = 65535;
		memset(&k, 0, sizeof(k));
		strcpy(k.host, "127.0.0.1");
		k.port = col.port;
		k.transport = tcp ? EV_IPFIX_TCP : EV_IPFIX_UDP;
		k.reliable = tcp;
		x = ev_ipfix_create(&c, &k, err, sizeof(err));
		if (x == NULL || ev_ctl_add_consumer(ctl, &ev_ipfix_ops, x, tcp) < 0) {
			fprintf(stderr, "bench_ipfix: %s\n", err);
			return -1;
		}
		for (t = now_ns(); ev_ipfix_ops.blocked(x) && now_ns() - t < 2000000000u;)
			ev_ctl_step(ctl, 0, 0);
	}
	fill_recs(recs, CHUNK);
	t0 = now_ns();
	while (done < total) {
		unsigned pushed, got;

		for (i = 0; i < CHUNK; i++)
			recs[i].id = (uint32_t)id++;
		pushed = ev_chan_push_records(ch, recs, CHUNK);
		done += ev_ctl_step(ctl, 0, CHUNK * 4);
		while ((got = ev_chan_pull_results(ch, out, CHUNK * 2)) > 0)
			for (i = 0; i < got; i++)
				res->nacks += out[i].kind == CT_RES_DESTROY_NACK;
		(void)pushed;
	}
	t1 = now_ns();
	res->handled = done;
	res->rate = (double)done * 1e9 / (double)(t1 - t0);
	res->ns_per_rec = (double)(t1 - t0) / (double)done;
	if (x != NULL) {
		uint64_t t = now_ns();

		while (ev_ipfix_flush(x, 0) != 0 && now_ns() - t < 3000000000u)
			usleep(1000);
		usleep(200000);
		ev_ipfix_get_stats(x, &res->st);
		res->collector_bytes = atomic_load(&col.bytes);
		collector_stop(&col);
		ev_ipfix_free(x);
	}
	ev_ctl_free(ctl);
	ev_chan_free(ch);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The cost of pacing                                                        */

#define PACE_CHUNK 100            /* records a chunk */
#define PACE_PERIOD_NS 100000u   /* a chunk every 100 us: 1 M records/s */
#define PACE_MODES 4
#define PACE_RUNS_MAX 15

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return now_ns();
#endif
}

static const char *const pace_modes[PACE_MODES] = { "events", "udp-unpaced", "udp-paced-1M",
						    "udp-paced-2000" };
static const uint32_t pace_pps[PACE_MODES] = { 0, 0, 1000000, 2000 };

struct pace_res {
	double cyc_per_rec, wall_cyc_per_rec, offered_per_s;
	uint64_t records;
	struct ev_ipfix_stats st;
};

/* TSC cycles per ns (1.0 where there is no TSC). */
static double
tsc_per_ns(void)
{
	uint64_t t0 = now_ns(), c0 = cycles();

	usleep(200000);
	return (double)(cycles() - c0) / (double)(now_ns() - t0);
}

static int
pace_run(unsigned mode, double seconds, double ghz, struct ct_event_rec *recs,
	 struct pace_res *res)
{
	struct ev_ctl_conf cc;
	struct ev_chan *ch;
	struct ev_ctl *ctl;
	struct ev_ipfix *x = NULL;
	struct collector col;
	struct ct_result out[PACE_CHUNK * 4];
	uint64_t sink_bytes = 0, done = 0, pushed = 0, total, spent = 0, wall = 0, id = 1, t0, next;
	char err[128];
	unsigned i;

	memset(res, 0, sizeof(*res));
	total = (uint64_t)(seconds * 1e9 / PACE_PERIOD_NS) * PACE_CHUNK;
	ch = ev_chan_create(8192, 16384, err, sizeof(err));
	ev_ctl_conf_init(&cc);
	cc.no_socket = true;
	ctl = ch ? ev_ctl_create(&cc, &ch, 1, err, sizeof(err)) : NULL;
	if (ctl == NULL || ev_ctl_add_sink(ctl, 1, 0, EV_MASK_ALL, sink, &sink_bytes) < 0) {
		fprintf(stderr, "bench_ipfix: %s\n", err);
		return -1;
	}
	if (mode > 0) {
		struct ev_ipfix_collector k;
		struct ev_ipfix_conf c;

		if (collector_start(&col, false) < 0)
			return -1;
		ev_ipfix_conf_init(&c);
		c.sndbuf = 8 << 20;
		memset(&k, 0, sizeof(k));
		strcpy(k.host, "127.0.0.1");
		k.port = col.port;
		k.transport = EV_IPFIX_UDP;
		k.max_rate_pps = pace_pps[mode];
		x = ev_ipfix_create(&c, &k, err, sizeof(err));
		if (x == NULL || ev_ctl_add_consumer(ctl, &ev_ipfix_ops, x, false) < 0) {
			fprintf(stderr, "bench_ipfix: %s\n", err);
			return -1;
		}
	}
	t0 = now_ns();
	next = t0;
	while (done < total) {
		uint64_t c0, n0, got;

		if (pushed < total && now_ns() >= next) {
			for (i = 0; i < PACE_CHUNK; i++)
				recs[i].id = (uint32_t)id++;
			pushed += ev_chan_push_records(ch, recs, PACE_CHUNK);
			next += PACE_PERIOD_NS;
		}
		n0 = cpu_ns();
		c0 = cycles();
		done += ev_ctl_step(ctl, 0, PACE_CHUNK * 4);
		wall += cycles() - c0;
		spent += cpu_ns() - n0;
		while ((got = ev_chan_pull_results(ch, out, PACE_CHUNK * 4)) > 0)
			;
		/* The control loop waits while idle: not the control core's work. */
		while (ev_ctl_idle(ctl) && done < total && now_ns() < next)
			;
		if (now_ns() - t0 > (uint64_t)(seconds * 4e9))
			break;
	}
	res->records = done;
	res->cyc_per_rec = done ? (double)spent * ghz / (double)done : 0;
	res->wall_cyc_per_rec = done ? (double)wall / (double)done : 0;
	res->offered_per_s = (double)done * 1e9 / (double)(now_ns() - t0);
	if (x != NULL) {
		ev_ipfix_get_stats(x, &res->st);
		collector_stop(&col);
		ev_ipfix_free(x);
	}
	ev_ctl_free(ctl);
	ev_chan_free(ch);
	return done == total ? 0 : -1;
}

/* The pacer's work per message, alone: refill and check both buckets, take. */
static double
pace_decision_cycles(void)
{
	struct ev_ipfix_bucket pps, bps;
	uint64_t now = 1, c0, n = 20000000, i, ok = 0;

	ev_ipfix_bucket_init(&pps, 10000000, 46, now);
	ev_ipfix_bucket_init(&bps, UINT64_C(12500000000), 65536, now);
	c0 = cycles();
	for (i = 0; i < n; i++) {
		now += 1000;
		if (ev_ipfix_bucket_ready(&pps, 1, now) && ev_ipfix_bucket_ready(&bps, 1397, now)) {
			ev_ipfix_bucket_take(&pps, 1);
			ev_ipfix_bucket_take(&bps, 1397);
			ok++;
		}
	}
	return ok == n ? (double)(cycles() - c0) / (double)n : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
pace_cost(unsigned runs, double seconds, struct ct_event_rec *recs)
{
	static struct pace_res res[PACE_MODES][PACE_RUNS_MAX];
	double med[PACE_MODES], wmed, v[PACE_RUNS_MAX], ghz = tsc_per_ns();
	unsigned m, r;

	if (runs == 0 || runs > PACE_RUNS_MAX)
		runs = 5;
	/* Modes take turns within each run, so that a noisy neighbour hits all. */
	for (r = 0; r < runs; r++)
		for (m = 0; m < PACE_MODES; m++)
			if (pace_run(m, seconds, ghz, recs, &res[m][r]) < 0) {
				fprintf(stderr, "bench_ipfix: %s run %u fell behind\n",
					pace_modes[m], r);
				return 1;
			}
	for (m = 0; m < PACE_MODES; m++) {
		for (r = 0; r < runs; r++)
			v[r] = res[m][r].cyc_per_rec;
		qsort(v, runs, sizeof(v[0]), cmp_double);
		med[m] = runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
		for (r = 0; r < runs; r++)
			v[r] = res[m][r].wall_cyc_per_rec;
		qsort(v, runs, sizeof(v[0]), cmp_double);
		wmed = runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
		printf("{\"mode\":\"%s\",\"max_rate_pps\":%u,\"runs\":%u,\"tsc_ghz\":%.2f,"
		       "\"handled_records_per_s\":%.0f,\"cycles_per_record_median\":%.1f,"
		       "\"over_unpaced\":%.1f,\"wall_cycles_per_record_median\":%.1f,"
		       "\"cycles_per_record\":[", pace_modes[m], pace_pps[m], runs, ghz,
		       res[m][0].offered_per_s, med[m], m >= 2 ? med[m] - med[1] : 0.0, wmed);
		for (r = 0; r < runs; r++)
			printf("%s%.1f", r ? "," : "", res[m][r].cyc_per_rec);
		printf("],\"sent\":%llu,\"lost\":%llu,\"queue_dropped\":%llu,"
		       "\"messages_delayed\":%llu}\n",
		       (unsigned long long)res[m][runs - 1].st.records_sent,
		       (unsigned long long)res[m][runs - 1].st.records_lost,
		       (unsigned long long)res[m][runs - 1].st.queue_dropped,
		       (unsigned long long)res[m][runs - 1].st.messages_delayed);
		fflush(stdout);
	}
	for (r = 0; r < runs; r++)
		v[r] = pace_decision_cycles();
	qsort(v, runs, sizeof(v[0]), cmp_double);
	printf("{\"mode\":\"pace-decision\",\"runs\":%u,\"tsc_cycles_per_message_median\":%.1f,"
	       "\"per_record_at_17_a_message\":%.2f}\n", runs, v[runs / 2], v[runs / 2] / 17);
	return 0;
}

int
main(int argc, char **argv)
{
	uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	static const char *const modes[] = { "events", "events+udp", "events+udp-9000",
					     "events+tcp" };
	struct result base, r;
	unsigned m;

	if (argc > 1 && strcmp(argv[1], "--pace") == 0) {
		static struct ct_event_rec precs[PACE_CHUNK];

		fill_recs(precs, PACE_CHUNK);
		return pace_cost(argc > 2 ? (unsigned)atoi(argv[2]) : 5,
				 argc > 3 ? atof(argv[3]) : 1.0, precs);
	}
	if (total < CHUNK)
		total = CHUNK;
	for (m = 0; m < 4; m++) {
		if (run(modes[m], total, m == 0 ? &base : &r) < 0)
			return 1;
		if (m == 0) {
			r = base;
		}
		/* Records the collector got: message bytes less headers, per record. */
		printf("{\"mode\":\"%s\",\"records\":%llu,\"records_per_s\":%.0f,"
		       "\"ns_per_record\":%.1f,\"events_cost_ns_per_record\":%.1f,"
		       "\"exported\":%llu,\"refused\":%llu,\"lost\":%llu,\"messages\":%llu,"
		       "\"bytes_sent\":%llu,\"collector_bytes\":%llu,\"nacks\":%llu}\n",
		       modes[m], (unsigned long long)r.handled, r.rate, r.ns_per_rec,
		       r.ns_per_rec - base.ns_per_rec, (unsigned long long)r.st.records_sent,
		       (unsigned long long)r.st.records_refused,
		       (unsigned long long)r.st.records_lost, (unsigned long long)r.st.messages,
		       (unsigned long long)r.st.bytes, (unsigned long long)r.collector_bytes,
		       (unsigned long long)r.nacks);
		fflush(stdout);
	}
	return 0;
}
