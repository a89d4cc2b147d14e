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
	for (i = 0; i < CHUNK; i++) {
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

int
main(int argc, char **argv)
{
	uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	static const char *const modes[] = { "events", "events+udp", "events+udp-9000",
					     "events+tcp" };
	struct result base, r;
	unsigned m;

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
