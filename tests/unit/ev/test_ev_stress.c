/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stress test of the original reliable-delivery work, in one process:
 * a real shard, a real channel and the real control core, with dpct-events
 * as the listener (a subprocess connected to the control core's AF_UNIX
 * socket, asking for a 2048-byte buffer: AF_UNIX queues what dpct sends on
 * dpct's side, so dpct-events' --rcvbuf becomes that connection's room). 100,000 small connections (UDP request + reply)
 * go through the shard, then the whole table is flushed. With a reliable
 * listener every flow that got a NEW gets a DESTROY and nothing is left in
 * the table or on the dying list; deliveries visibly failed and were resent.
 * With an unreliable listener, destroys are lost: the mechanism is what
 * saves them.
 *
 * argv[1]: the dpct-events binary. DPCT_STRESS_FLOWS overrides 100000,
 * DPCT_STRESS_GRACE_MS the destroy grace (200 ms here, to finish quickly;
 * docs/PERFORMANCE.md has the drain times at 1000 and 15000 ms).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpct_test.h"
#include "ev.h"

static const char *tool;
static unsigned n_flows = 100000;
static unsigned grace_ms = 200;

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct ct_pkt
udp_pkt(uint32_t i, int reply)
{
	struct ct_pkt p;
	uint8_t c[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
	uint8_t sv[4] = { 192, 0, 2, 1 };

	memset(&p, 0, sizeof(p));
	p.tuple.family = 4;
	p.tuple.proto = 17;
	memcpy(reply ? p.tuple.dst : p.tuple.src, c, 4);
	memcpy(reply ? p.tuple.src : p.tuple.dst, sv, 4);
	p.tuple.sport = reply ? 53 : (uint16_t)(1024 + (i & 0x3fff));
	p.tuple.dport = reply ? (uint16_t)(1024 + (i & 0x3fff)) : 53;
	p.cls = CT_PKT_TRACK;
	p.len = 60;
	p.hash = ct_tuple_hash(&p.tuple);
	return p;
}

struct summary {
	long events, new_, update, destroy, flows_new, flows_destroyed, duplicate_destroy,
		destroy_without_new, recv_errors;
};

static int
read_summary(const char *path, struct summary *s)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
#define GET(key, field) do { \
	const char *k = strstr(buf, "\"" key "\":"); \
	if (k == NULL) \
		return -1; \
	s->field = strtol(k + strlen(key) + 3, NULL, 10); \
} while (0)
	GET("events", events);
	GET("new", new_);
	GET("update", update);
	GET("destroy", destroy);
	GET("flows_new", flows_new);
	GET("flows_destroyed", flows_destroyed);
	GET("duplicate_destroy", duplicate_destroy);
	GET("destroy_without_new", destroy_without_new);
	GET("recv_errors", recv_errors);
#undef GET
	return 0;
}

static void
pump(struct ct_shard *s, struct ev_chan *c, struct ev_ctl *ctl, uint64_t now)
{
	ev_worker_sync(c, s, now);
	ev_ctl_step(ctl, now, 4096);
	ev_worker_sync(c, s, now);
}

static int
run(int reliable, struct summary *sum, struct ct_stats *st, struct ev_ctl_stats *es,
    double *drain_s)
{
	struct ct_conf cc;
	struct ev_ctl_conf ec;
	struct ct_shard *s;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	char err[256], sock_dir[64], sock[100], sum_path[64];
	uint64_t t_end, t0;
	unsigned i, rel = 0;
	int status;
	pid_t pid;
	struct ct_pkt burst[32];
	uint8_t v[32];

	ct_conf_init(&cc);
	cc.max_entries = n_flows + n_flows / 4;
	cc.destroy_grace_ms = grace_ms;
	cc.seed = 7;
	cc.shard_count = 1;
	cc.fill_alarm_high_pct = 0;
	s = ct_shard_create(&cc, err, sizeof(err));
	T_ASSERT(s != NULL);
	c = ev_chan_create(4096, 4096, err, sizeof(err));
	T_ASSERT(c != NULL);
	ev_ctl_conf_init(&ec);
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/dpct_stress_XXXXXX");
	T_ASSERT(mkdtemp(sock_dir) != NULL);
	snprintf(sock, sizeof(sock), "%.60s/events.sock", sock_dir);
	snprintf(ec.socket_path, sizeof(ec.socket_path), "%s", sock);
	ec.allowed_uids[0] = (uint32_t)getuid();
	ec.n_allowed_uids = 1;
	ctl = ev_ctl_create(&ec, &c, 1, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);

	snprintf(sum_path, sizeof(sum_path), "/tmp/dpct-stress-%d-%d.json", (int)getpid(),
		 reliable);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)tool, "--socket", sock, "--rcvbuf", "2048",
				 "--format", "json", "--summary", sum_path, "--idle-exit-ms",
				 "3000", "--max-seconds", "480", reliable ? "--reliable" : NULL,
				 NULL };

		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(120);
		execv(argv[0], argv);
		_exit(127);
	}
	T_ASSERT(pid > 0);
	/* Wait for the subscription (bounded). */
	for (i = 0; i < 2000 && ev_ctl_listener_count(ctl, &rel) == 0; i++) {
		ev_ctl_step(ctl, mono_ns(), 64);
		usleep(5000);
	}
	T_EQ(ev_ctl_listener_count(ctl, &rel), 1);
	T_EQ(rel, (unsigned)reliable);

	/* 100k connections: request then reply, 16 flows per burst. */
	for (i = 0; i < n_flows; i += 16) {
		unsigned k, n = 0;

		for (k = 0; k < 16 && i + k < n_flows; k++) {
			burst[n++] = udp_pkt(i + k, 0);
			burst[n++] = udp_pkt(i + k, 1);
		}
		ct_process_burst(s, burst, (uint16_t)n, mono_ns(), v);
		pump(s, c, ctl, mono_ns());
	}
	/* conntrack -F, bounded by staging room each round. */
	t0 = mono_ns();
	t_end = t0 + UINT64_C(400) * 1000000000;
	while (ct_shard_live(s) > 0 && mono_ns() < t_end) {
		ct_shard_flush(s, mono_ns(), 512);
		pump(s, c, ctl, mono_ns());
	}
	/* Drain: grace timers fire and destroys are resent until delivered. */
	while (!(ct_shard_empty(s) && ev_ctl_idle(ctl)) && mono_ns() < t_end) {
		uint64_t now = mono_ns();

		ct_shard_expire(s, now, 1u << 16);
		pump(s, c, ctl, now);
		if (reliable == 0 && ct_shard_empty(s))
			break;
	}
	*drain_s = (double)(mono_ns() - t0) / 1e9;
	/* Let the listener go idle and write its summary, stepping meanwhile. */
	for (i = 0; i < 4000; i++) {
		ev_ctl_step(ctl, mono_ns(), 256);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(5000);
	}
	if (i == 4000) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		T_FAIL_("%s", "dpct-events did not exit");
	}
	T_ASSERT(WIFEXITED(status));
	ct_shard_stats(s, st);
	ev_ctl_get_stats(ctl, es);
	T_EQ(read_summary(sum_path, sum), 0);
	unlink(sum_path);
	ev_ctl_free(ctl);
	rmdir(sock_dir);
	ev_chan_free(c);
	ct_shard_free(s);
	return 0;
}

static int
test_reliable_2048(void)
{
	struct summary sum;
	struct ct_stats st;
	struct ev_ctl_stats es;
	double drain;

	if (run(1, &sum, &st, &es, &drain) != 0)
		return 1;
	printf("# reliable: %u flows; listener new=%ld update=%ld destroy=%ld flows_new=%ld "
	       "flows_destroyed=%ld dup_destroy=%ld destroy_without_new=%ld; "
	       "events_failed=%llu destroy_resent=%llu ring_full=%llu; flush+drain %.2f s\n",
	       n_flows, sum.new_, sum.update, sum.destroy, sum.flows_new, sum.flows_destroyed,
	       sum.duplicate_destroy, sum.destroy_without_new,
	       (unsigned long long)es.events_failed, (unsigned long long)st.destroy_resent,
	       (unsigned long long)st.ring_full, drain);
	/* Every flow that got a NEW got a DESTROY. */
	T_EQ(sum.flows_destroyed - sum.destroy_without_new, sum.flows_new);
	printf("# insert=%llu listeners_gone=%llu drop=%llu recv_errors=%ld destroy_acked=%llu\n",
	       (unsigned long long)st.insert, (unsigned long long)es.listeners_gone,
	       (unsigned long long)st.drop, sum.recv_errors,
	       (unsigned long long)st.destroy_acked);
	/* Table and dying set empty: nothing undelivered. */
	T_EQ(st.count, 0);
	T_EQ(st.dying, 0);
	T_UEQ(st.insert, n_flows);
	/* Every flow was destroyed at the listener (no destroy lost). */
	T_EQ(sum.flows_destroyed, n_flows);
	/* The mechanism was exercised: deliveries failed and were resent. */
	T_ASSERT(es.events_failed > 0);
	T_ASSERT(st.destroy_resent > 0);
	return 0;
}

static int
test_unreliable_loses(void)
{
	struct summary sum;
	struct ct_stats st;
	struct ev_ctl_stats es;
	double drain;

	if (run(0, &sum, &st, &es, &drain) != 0)
		return 1;
	printf("# unreliable: %u flows; listener destroy=%ld flows_destroyed=%ld; "
	       "listener_dropped=%llu events_failed=%llu\n",
	       n_flows, sum.destroy, sum.flows_destroyed,
	       (unsigned long long)es.listener_dropped, (unsigned long long)es.events_failed);
	/* Without reliable delivery the 2048-byte buffer loses destroys. */
	T_ASSERT(sum.flows_destroyed < (long)n_flows);
	T_ASSERT(es.listener_dropped > 0);
	T_EQ(es.events_failed, 0);
	/* ... and dpct forgot them at once: nothing waits on the dying list. */
	T_EQ(st.dying, 0);
	T_EQ(st.destroy_resent, 0);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_reliable_2048),
	T_CASE(test_unreliable_loses),
};

int
main(int argc, char **argv)
{
	const char *n = getenv("DPCT_STRESS_FLOWS");

	if (argc < 2) {
		fprintf(stderr, "usage: %s DPCT_EVENTS_BINARY\n", argv[0]);
		return 2;
	}
	tool = argv[1];
	if (n != NULL)
		n_flows = (unsigned)strtoul(n, NULL, 10);
	n = getenv("DPCT_STRESS_GRACE_MS");
	if (n != NULL)
		grace_ms = (unsigned)strtoul(n, NULL, 10);
	signal(SIGPIPE, SIG_IGN);
	return t_run(cases, sizeof(cases) / sizeof(cases[0]));
}
