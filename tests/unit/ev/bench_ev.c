/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark: events per second from the control core to one socket
 * listener (an AF_UNIX SOCK_SEQPACKET connection, as from events.socket) that keeps up (DESIGN §7: >= 1M/s). The main thread plays the
 * worker (pushes records, takes results) and the control core
 * (ev_ctl_step); a second thread is the listener, reading with a large
 * buffer and parsing every message. The producer keeps at most WINDOW
 * events in flight (sent, not yet parsed by the listener) so the listener
 * keeps up: a refused datagram is a measurement error, and is reported.
 * ctl_busy_events_per_s is the control core's own capacity: events divided
 * by the time spent inside ev_ctl_step(). Prints one JSON object.
 *
 *   bench_ev [EVENTS] [reliable 0|1]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "ev.h"
#include "ev_nl.h"

#define WINDOW 100000

static atomic_ulong received;
static atomic_int stop;

struct listener {
	int fd;
	uint64_t msgs;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *
listen_thread(void *arg)
{
	static uint8_t buf[1 << 18] __attribute__((aligned(8)));
	struct listener *l = arg;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 20000 };

	setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!atomic_load(&stop)) {
		ssize_t n = recv(l->fd, buf, sizeof(buf), 0);
		size_t off = 0;

		if (n <= 0)
			continue;
		while (off < (size_t)n) {
			struct ev_nl_ct ct;
			size_t used;

			if (ev_nl_parse(buf + off, (size_t)n - off, &ct, &used) == 0)
				l->msgs++;
			if (used == 0)
				break;
			off += used;
		}
		atomic_store(&received, l->msgs);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	unsigned long total = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
	int reliable = argc > 2 ? atoi(argv[2]) : 1;
	int sv[2], slot;
	struct ct_event_rec recs[256];
	struct ct_result res[1024];
	struct ev_ctl_conf conf;
	struct ev_ctl_stats st;
	struct listener l = { 0 };
	struct ev_chan *c;
	struct ev_ctl *ctl;
	pthread_t th;
	char err[256];
	uint64_t t0, t1, t2, deadline, busy = 0;
	unsigned long pushed = 0;
	unsigned i;
	struct {
		struct nlmsghdr h;
		struct ev_subscribe s;
	} req;

	c = ev_chan_create(8192, 8192, err, sizeof(err));
	ev_ctl_conf_init(&conf);
	/* The connection a listener would get from accept(); no socket file. */
	conf.no_socket = true;
	ctl = c != NULL ? ev_ctl_create(&conf, &c, 1, err, sizeof(err)) : NULL;
	if (ctl == NULL) {
		fprintf(stderr, "bench_ev: %s\n", err);
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		perror("socketpair");
		return 1;
	}
	l.fd = sv[1];
	slot = ev_ctl_attach_peer(ctl, sv[0], 0, 0, (uint32_t)getpid());
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = EV_MSG_SUBSCRIBE;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	req.s.version = EV_PROTO_VERSION;
	req.s.flags = reliable ? EV_SUB_F_RELIABLE : 0;
	req.s.mask = EV_MASK_ALL;
	req.s.bufsize = 64u << 20;
	if (slot < 0 || ev_ctl_handle_request(ctl, (unsigned)slot, &req, sizeof(req)) != 0 ||
	    ev_ctl_listener_count(ctl, NULL) != 1) {
		fprintf(stderr, "bench_ev: subscribe failed\n");
		return 1;
	}
	pthread_create(&th, NULL, listen_thread, &l);

	/* A realistic mix: short TCP flows, NEW / UPDATE / DESTROY, IPv4. */
	for (i = 0; i < 256; i++) {
		struct ct_event_rec *r = &recs[i];

		memset(r, 0, sizeof(*r));
		r->orig.family = 4;
		r->orig.proto = 6;
		r->orig.src[0] = 10;
		r->orig.src[3] = (uint8_t)i;
		r->orig.dst[0] = 192;
		r->orig.dst[3] = 1;
		r->orig.sport = (uint16_t)(10000 + i);
		r->orig.dport = 80;
		r->id = i + 1;
		r->slot = i;
		r->events = i % 3 == 0 ? CT_EV_NEW : i % 3 == 1 ? CT_EV_PROTOINFO : CT_EV_DESTROY;
		r->status = CT_S_CONFIRMED | CT_S_SEEN_REPLY;
		r->tcp_state = CT_TCP_ESTABLISHED;
		r->timeout_s = 120;
		r->pkts[0] = 5;
		r->bytes[0] = 400;
	}
	t0 = now_ns();
	while (pushed < total || !ev_ctl_idle(ctl)) {
		unsigned want = total - pushed < 256 ? (unsigned)(total - pushed) : 256;
		uint64_t s0;

		ev_ctl_get_stats(ctl, &st);
		if (st.events_sent - atomic_load(&received) > WINDOW) {
			sched_yield();
			continue;
		}
		if (want > 0)
			pushed += ev_chan_push_records(c, recs, want);
		s0 = now_ns();
		ev_ctl_step(ctl, 0, 1024);
		busy += now_ns() - s0;
		while (ev_chan_pull_results(c, res, 1024) == 1024)
			;
	}
	t1 = now_ns();
	ev_ctl_get_stats(ctl, &st);
	deadline = t1 + 5000000000ull;
	while (atomic_load(&received) < st.events_sent && now_ns() < deadline)
		usleep(100);
	t2 = now_ns();
	atomic_store(&stop, 1);
	pthread_join(th, NULL);

	printf("{\"events\":%lu,\"reliable\":%d,\"sent\":%" PRIu64 ",\"failed\":%" PRIu64
	       ",\"received\":%" PRIu64 ",\"datagrams\":%" PRIu64 ",\"seconds\":%.3f"
	       ",\"ctl_busy_seconds\":%.3f,\"ctl_busy_events_per_s\":%.0f"
	       ",\"delivered_events_per_s\":%.0f}\n",
	       total, reliable, st.events_sent, st.events_failed, l.msgs, st.datagrams,
	       (double)(t2 - t0) / 1e9, (double)busy / 1e9, (double)total / ((double)busy / 1e9),
	       (double)l.msgs / ((double)(t2 - t0) / 1e9));
	close(l.fd);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}
