/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpct-events as a subprocess against a real control core: it retries until
 * dpct's port exists, prints conntrack -E lines / JSON lines, counts flows
 * in --summary, and with a 2048-byte reliable buffer still gets every
 * destroy because refused ones are re-sent (this test plays the worker:
 * it re-queues nacked records like the shard's grace timer would).
 *
 *   test_ev_tool PATH/TO/dpct-events
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_nl.h"

#include <linux/netlink.h>

#ifndef EV_DGRAM_MAX
#define EV_DGRAM_MAX 65536u  /* lib/events/ev.h once it has it */
#endif

static const char *tool;

static char sock_dir[64];

/* A socket path of its own per test, in a directory made for this run. */
static const char *
port(unsigned k)
{
	static char paths[8][100];

	if (sock_dir[0] == '\0') {
		snprintf(sock_dir, sizeof(sock_dir), "/tmp/dpct_evtool_XXXXXX");
		if (mkdtemp(sock_dir) == NULL)
			abort();
	}
	snprintf(paths[k & 7], sizeof(paths[0]), "%s/ev%u.sock", sock_dir, k);
	return paths[k & 7];
}

static pid_t
spawn2(char *const argv[], const char *out_path, const char *err_path)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();

	if (pid == 0) {
		if (out_path != NULL && freopen(out_path, "w", stdout) == NULL)
			_exit(120);
		if (err_path != NULL && freopen(err_path, "w", stderr) == NULL)
			_exit(121);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static pid_t
spawn(char *const argv[], const char *out_path)
{
	return spawn2(argv, out_path, NULL);
}

/* Wait for the child while stepping the control core; returns its exit code. */
static int
reap(pid_t pid, struct ev_ctl *ctl, int timeout_ms)
{
	int status, i;

	for (i = 0; i < timeout_ms / 5; i++) {
		if (ctl != NULL)
			ev_ctl_step(ctl, 0, 256);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static struct ct_event_rec
rec(uint32_t i, uint16_t events)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = 4;
	r.orig.proto = 6;
	r.orig.src[0] = 10;
	r.orig.src[2] = (uint8_t)(i >> 8);
	r.orig.src[3] = (uint8_t)i;
	r.orig.dst[0] = 10;
	r.orig.dst[3] = 254;
	r.orig.sport = (uint16_t)(20000 + i);
	r.orig.dport = 80;
	r.slot = i;
	r.id = 5000 + i;
	r.events = events;
	r.status = CT_S_CONFIRMED;
	r.tcp_state = CT_TCP_SYN_SENT;
	r.timeout_s = 120;
	if (events & CT_EV_DESTROY) {
		r.status |= CT_S_SEEN_REPLY | CT_S_ASSURED;
		r.tcp_state = CT_TCP_TIME_WAIT;
		r.timeout_s = 0;
		r.pkts[0] = 4;
		r.bytes[0] = 300;
		r.pkts[1] = 3;
		r.bytes[1] = 200;
		r.start_ns = 1000000000ull;
		r.stop_ns = 3500000000ull;
	}
	return r;
}

static int
read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (int)n;
}

static long
json_num(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p == NULL ? -1 : strtol(p + strlen(pat), NULL, 10);
}

static struct ev_ctl *
mk_ctl(const char *sock, struct ev_chan **c)
{
	struct ev_ctl_conf conf;
	char err[256];

	*c = ev_chan_create(8192, 8192, err, sizeof(err));
	ev_ctl_conf_init(&conf);
	snprintf(conf.socket_path, sizeof(conf.socket_path), "%.99s", sock);
	return *c == NULL ? NULL : ev_ctl_create(&conf, c, 1, err, sizeof(err));
}

static bool
wait_listener(struct ev_ctl *ctl)
{
	int i;

	for (i = 0; i < 1000 && ev_ctl_listener_count(ctl, NULL) == 0; i++) {
		ev_ctl_step(ctl, 0, 16);
		usleep(5000);
	}
	return ev_ctl_listener_count(ctl, NULL) == 1;
}

/* Text format: exactly the conntrack -E -o id,extended layout (nfct_snprintf). */
static int
test_text_lines(void)
{
	char pstr[100], out[] = "/tmp/dpct-ev-text-XXXXXX", buf[4096];
	struct ct_event_rec r[2] = { rec(1, CT_EV_NEW), rec(1, CT_EV_DESTROY) };
	struct ev_chan *c;
	struct ev_ctl *ctl;
	pid_t pid;
	int fd = mkstemp(out);

	T_ASSERT(fd >= 0);
	close(fd);
	snprintf(pstr, sizeof(pstr), "%.90s", port(0));
	{
		char *argv[] = { (char *)tool, "--socket", pstr, "--idle-exit-ms", "300",
				 "--max-seconds", "10", NULL };

		pid = spawn(argv, out);
	}
	/* dpct starts after its listener: the tool must keep retrying. */
	usleep(150000);
	ctl = mk_ctl(port(0), &c);
	T_ASSERT(ctl != NULL);
	T_ASSERT(wait_listener(ctl));
	T_EQ(ev_chan_push_records(c, r, 2), 2);
	T_EQ(reap(pid, ctl, 10000), 0);
	T_ASSERT(read_file(out, buf, sizeof(buf)) > 0);
	unlink(out);
	T_STREQ(buf,
		"    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.254 sport=20001 "
		"dport=80 [UNREPLIED] src=10.0.0.254 dst=10.0.0.1 sport=80 dport=20001 id=5001\n"
		"[DESTROY] ipv4     2 tcp      6 TIME_WAIT src=10.0.0.1 dst=10.0.0.254 sport=20001 dport=80 "
		"packets=4 bytes=300 src=10.0.0.254 dst=10.0.0.1 sport=80 dport=20001 packets=3 "
		"bytes=200 [ASSURED] delta-time=2 id=5001\n");
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

/* Reliable, 2048-byte buffer, 3000 flows; nacked records are re-queued. */
static int
test_reliable_summary(void)
{
	enum { FLOWS = 3000 };
	char pstr[100], sum[] = "/tmp/dpct-ev-sum-XXXXXX", out[] = "/tmp/dpct-ev-json-XXXXXX";
	char buf[1024];
	static struct ct_event_rec pending[2 * FLOWS + 8];
	static char big[8 << 20];
	struct ct_result res[1024];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	unsigned npend = 0, i, k, rounds, lines = 0, new_nacks = 0, acked = 0;
	pid_t pid;
	int fd1 = mkstemp(sum), fd2 = mkstemp(out), rc;

	T_ASSERT(fd1 >= 0 && fd2 >= 0);
	close(fd1);
	close(fd2);
	ctl = mk_ctl(port(1), &c);
	T_ASSERT(ctl != NULL);
	snprintf(pstr, sizeof(pstr), "%.90s", port(1));
	{
		/*
		 * The listener leaves after 3 s without an event. (A CI run once
		 * saw 1,756 of 3,001 destroys: not the idle time, as first
		 * thought, but the loop below stopping once nothing was left to
		 * push, with nacked destroys still to come back; it now runs until
		 * every destroy is acked.)
		 */
		char *argv[] = { (char *)tool, "--socket", pstr, "--reliable", "--rcvbuf", "2048",
				 "--format", "json", "--summary", sum, "--idle-exit-ms", "3000",
				 "--max-seconds", "30", NULL };

		pid = spawn(argv, out);
	}
	T_ASSERT(wait_listener(ctl));
	for (i = 0; i < FLOWS; i++) {
		pending[npend++] = rec(i, CT_EV_NEW);
		pending[npend++] = rec(i, CT_EV_DESTROY);
	}
	/* One destroy twice (a listener must tolerate it) and one without NEW. */
	pending[npend++] = rec(7, CT_EV_DESTROY);
	pending[npend++] = rec(FLOWS + 1, CT_EV_DESTROY);
	/*
	 * Until every DESTROY is acked, not merely pushed: a record still in
	 * flight when `pending` empties can come back nacked, and must be
	 * re-queued (on a loaded machine many are; the listener then idled
	 * out with hundreds of destroys never re-sent).
	 */
	for (rounds = 0; (npend > 0 || acked < FLOWS + 2) && rounds < 200000; rounds++) {
		unsigned pushed = ev_chan_push_records(c, pending, npend);
		unsigned n;

		memmove(pending, pending + pushed, (npend - pushed) * sizeof(pending[0]));
		npend -= pushed;
		ev_ctl_step(ctl, 0, 256);
		n = ev_chan_pull_results(c, res, 1024);
		for (k = 0; k < n; k++) {
			uint32_t idx = res[k].slot;
			struct ct_event_rec r;

			if (res[k].kind == CT_RES_DESTROY_ACK) {
				acked++;
				continue;
			}
			/* A failed NEW would ride on the flow's next record: here
			 * that is its destroy, so the listener sees a destroy
			 * without NEW. A failed destroy is re-sent (grace timer). */
			if (res[k].kind == CT_RES_NACK) {
				new_nacks++;
				continue;
			}
			r = rec(idx, res[k].events);
			r.flags = CT_REC_F_RESEND;
			pending[npend++] = r;
		}
		usleep(100);
	}
	T_EQ(npend, 0);
	T_EQ(acked, FLOWS + 2);
	while (!ev_ctl_idle(ctl))
		ev_ctl_step(ctl, 0, 256);
	rc = reap(pid, ctl, 20000);
	T_EQ(rc, 0);
	ev_ctl_get_stats(ctl, &st);
	T_ASSERT(st.events_failed > 0);
	T_ASSERT(st.destroy_resent > 0);
	T_ASSERT(read_file(sum, buf, sizeof(buf)) > 0);
	/* Every destroy arrived exactly once (plus the planted duplicate). */
	T_EQ(json_num(buf, "flows_destroyed"), FLOWS + 1);
	T_EQ(json_num(buf, "destroy"), FLOWS + 2);
	T_EQ(json_num(buf, "duplicate_destroy"), 1);
	T_EQ(json_num(buf, "flows_new"), FLOWS - new_nacks);
	T_EQ(json_num(buf, "new"), FLOWS - new_nacks);
	T_EQ(json_num(buf, "destroy_without_new"), 1 + new_nacks);
	T_EQ(json_num(buf, "recv_errors"), 0);
	T_EQ(json_num(buf, "events"), 2 * FLOWS + 2 - new_nacks);
	T_ASSERT(read_file(out, big, sizeof(big)) > 0);
	for (i = 0; big[i] != '\0'; i++)
		lines += big[i] == '\n';
	T_EQ(lines, 2 * FLOWS + 2 - new_nacks);
	T_ASSERT(strstr(big, "{\"type\":\"destroy\",\"family\":4,\"proto\":\"tcp\"") != NULL);
	unlink(sum);
	unlink(out);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

static int
test_no_dpct(void)
{
	char *argv[] = { (char *)tool, "--socket", (char *)port(5), "--max-seconds", "1",
			 "--format", "none", NULL };
	char *bad[] = { (char *)tool, "--format", "xml", NULL };
	char *old[] = { (char *)tool, "--port-id", "1146110804", NULL };
	char *follow[] = { (char *)tool, "--follow", NULL };
	pid_t pid;

	/* Nobody at the socket: gives up after --max-seconds with status 2. */
	pid = spawn(argv, "/dev/null");
	T_EQ(reap(pid, NULL, 5000), 2);
	pid = spawn(bad, "/dev/null");
	T_EQ(reap(pid, NULL, 5000), 1);
	/* The netlink option is gone, with a pointer to its replacement. */
	pid = spawn(old, "/dev/null");
	T_EQ(reap(pid, NULL, 5000), 1);
	pid = spawn(follow, "/dev/null");
	T_EQ(reap(pid, NULL, 5000), 1);
	return 0;
}

struct pager {
	unsigned pos, total;
};

static void
pg_begin(void *arg)
{
	((struct pager *)arg)->pos = 0;
}

static unsigned
pg_next(void *arg, struct ct_event_rec *out, unsigned max, bool *done)
{
	struct pager *p = arg;
	unsigned n = 0;

	while (n < max && n < 50 && p->pos < p->total) {
		out[n] = rec(p->pos, 0);
		out[n].id = 7000 + p->pos;
		out[n].status |= CT_S_ASSURED | CT_S_SEEN_REPLY;
		out[n].timeout_s = 100;
		n++;
		p->pos++;
	}
	*done = p->pos >= p->total;
	return n;
}

static const struct ev_dump_ops pg_ops = { pg_begin, pg_next, NULL };

/* --dump: the table in conntrack -L format, then exit 0. */
static int
test_dump(void)
{
	char out[] = "/tmp/dpct-ev-dump-XXXXXX";
	static char buf[1 << 16];
	struct pager pg = { .total = 120 };
	struct ev_chan *c;
	struct ev_ctl *ctl;
	char *argv[] = { (char *)tool, "--socket", (char *)port(3), "--dump", "--max-seconds",
			 "20", NULL };
	unsigned lines = 0, i;
	int rc = -1, fd;
	pid_t pid;
	FILE *f;

	fd = mkstemp(out);
	T_ASSERT(fd >= 0);
	close(fd);
	ctl = mk_ctl(port(3), &c);
	T_ASSERT(ctl != NULL);
	ev_ctl_set_dump(ctl, &pg_ops, &pg);
	pid = spawn(argv, out);
	for (i = 0; i < 4000; i++) {
		int status;

		ev_ctl_step(ctl, 0, 64);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			break;
		}
		usleep(2000);
	}
	if (rc == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	T_EQ(rc, 0);
	f = fopen(out, "r");
	T_ASSERT(f != NULL);
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *dt = strstr(buf, "delta-time=");

		lines++;
		/* The age of a live entry depends on the clock: leave it out. */
		if (dt != NULL) {
			char *end = strchr(dt, ' ');

			if (end != NULL)
				memmove(dt, end + 1, strlen(end + 1) + 1);
		}
		/* As conntrack -L -o extended,id: no event header. */
		if (lines == 1)
			T_STREQ(buf, "ipv4     2 tcp      6 100 SYN_SENT src=10.0.0.0 dst=10.0.0.254 "
				"sport=20000 dport=80 packets=0 bytes=0 src=10.0.0.254 "
				"dst=10.0.0.0 sport=80 dport=20000 packets=0 bytes=0 [ASSURED] "
				"id=7000\n");
	}
	fclose(f);
	T_EQ(lines, 120);
	unlink(out);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

/*
 * dpct goes away while the listener is subscribed: dpct-events says so on
 * stderr and exits 3 (not 0, as if it had ended normally), and still
 * writes its summary.
 */
static int
test_dpct_gone(void)
{
	char pstr[100], sum[] = "/tmp/dpct-ev-gone-XXXXXX", err[] = "/tmp/dpct-ev-gerr-XXXXXX";
	char buf[1024];
	struct ct_event_rec r = rec(3, CT_EV_NEW);
	struct ev_chan *c;
	struct ev_ctl *ctl;
	int fd1 = mkstemp(sum), fd2 = mkstemp(err), i, status, rc = -1;
	pid_t pid;

	T_ASSERT(fd1 >= 0 && fd2 >= 0);
	close(fd1);
	close(fd2);
	ctl = mk_ctl(port(6), &c);
	T_ASSERT(ctl != NULL);
	snprintf(pstr, sizeof(pstr), "%.90s", port(6));
	{
		char *argv[] = { (char *)tool, "--socket", pstr, "--format", "none", "--summary",
				 sum, "--max-seconds", "20", NULL };

		pid = spawn2(argv, "/dev/null", err);
	}
	T_ASSERT(wait_listener(ctl));
	T_EQ(ev_chan_push_records(c, &r, 1), 1);
	while (!ev_ctl_idle(ctl))
		ev_ctl_step(ctl, 0, 256);
	/* Give the listener time to read the event, then dpct stops. */
	usleep(200000);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	for (i = 0; i < 2000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		usleep(5000);
	}
	if (rc == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	T_EQ(rc, 3);
	T_ASSERT(read_file(err, buf, sizeof(buf)) > 0);
	T_ASSERT(strstr(buf, "dpct-events: dpct closed the connection (") != NULL);
	T_ASSERT(read_file(sum, buf, sizeof(buf)) > 0);
	T_EQ(json_num(buf, "events"), 1);
	unlink(sum);
	unlink(err);
	return 0;
}

/* A stand-in for dpct: listens on `path`, accepts one connection (bounded). */
static int
fake_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
fake_accept(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int big = 1 << 20;
	int fd;

	if (poll(&p, 1, 10000) != 1)
		return -1;
	fd = accept(lfd, NULL, NULL);
	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	return fd;
}

/*
 * A datagram longer than the listener's EV_DGRAM_MAX buffer (dpct must not
 * send one; this stand-in does): dpct-events receives with MSG_TRUNC, reports
 * the cut on stderr, counts it as `truncated`, and the messages of the cut
 * tail appear in `lost` (the gap before the next event's number).
 */
static int
test_truncated(void)
{
	enum { DGRAM = 80000 };
	static uint8_t d[DGRAM + 4096] __attribute__((aligned(8)));
	char sum[] = "/tmp/dpct-ev-trunc-XXXXXX", err[] = "/tmp/dpct-ev-terr-XXXXXX";
	char sbuf[1024], pstr[100];
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} ack;
	struct nlmsghdr req;
	struct pollfd pf;
	size_t off = 0;
	uint32_t seq = 0, whole = 0;
	int fd1 = mkstemp(sum), fd2 = mkstemp(err), lfd, cfd, rc;
	pid_t pid;

	T_ASSERT(fd1 >= 0 && fd2 >= 0);
	close(fd1);
	close(fd2);
	snprintf(pstr, sizeof(pstr), "%.90s", port(7));
	lfd = fake_listen(pstr);
	T_ASSERT(lfd >= 0);
	{
		char *argv[] = { (char *)tool, "--socket", pstr, "--format", "none", "--summary",
				 sum, "--max-seconds", "20", NULL };

		pid = spawn2(argv, "/dev/null", err);
	}
	cfd = fake_accept(lfd);
	T_ASSERT(cfd >= 0);
	pf.fd = cfd;
	pf.events = POLLIN;
	T_EQ(poll(&pf, 1, 10000), 1);
	T_ASSERT(recv(cfd, &req, sizeof(req), MSG_TRUNC) >= (ssize_t)sizeof(req));
	memset(&ack, 0, sizeof(ack));
	ack.h.nlmsg_len = sizeof(ack);
	ack.h.nlmsg_type = NLMSG_ERROR;
	ack.h.nlmsg_seq = req.nlmsg_seq;
	ack.e.msg = req;
	T_EQ(send(cfd, &ack, sizeof(ack), 0), (ssize_t)sizeof(ack));
	/* One datagram of events numbered 1.. up to DGRAM bytes. */
	while (off < DGRAM) {
		struct ct_event_rec r = rec(seq, CT_EV_NEW);
		int len = ev_nl_encode(&r, 0, d, off, sizeof(d));
		struct nlmsghdr *h = (struct nlmsghdr *)(d + off);

		T_ASSERT(len > 0);
		h->nlmsg_seq = ++seq;
		off += (size_t)len;
		if (off <= EV_DGRAM_MAX)
			whole++;
	}
	T_EQ(send(cfd, d, off, 0), (ssize_t)off);
	/* Then one more event, whose number shows the cut tail's gap. */
	{
		struct ct_event_rec r = rec(seq, CT_EV_NEW);
		int len = ev_nl_encode(&r, 0, d, 0, sizeof(d));

		T_ASSERT(len > 0);
		((struct nlmsghdr *)d)->nlmsg_seq = ++seq;
		T_EQ(send(cfd, d, (size_t)len, 0), len);
	}
	usleep(300000);
	close(cfd);
	close(lfd);
	unlink(pstr);
	rc = reap(pid, NULL, 10000);
	/* dpct (here: its stand-in) went away while subscribed. */
	T_EQ(rc, 3);
	T_ASSERT(read_file(err, sbuf, sizeof(sbuf)) > 0);
	T_ASSERT(strstr(sbuf, "did not fit in 65536 bytes") != NULL);
	T_ASSERT(read_file(sum, sbuf, sizeof(sbuf)) > 0);
	T_EQ(json_num(sbuf, "truncated"), 1);
	T_EQ(json_num(sbuf, "events"), whole + 1);
	T_EQ(json_num(sbuf, "lost"), seq - 1 - whole);
	T_EQ(json_num(sbuf, "last_seq"), seq);
	T_EQ(json_num(sbuf, "recv_errors"), 0);
	unlink(sum);
	unlink(err);
	return 0;
}

static struct ct_event_rec
xrec(uint32_t i, uint16_t events)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.flags = CT_REC_F_EXP;
	r.orig.family = 4;
	r.orig.proto = 6;
	r.orig.src[0] = 10;
	r.orig.src[3] = 2;
	r.orig.dst[0] = 10;
	r.orig.dst[3] = 1;
	r.orig.dport = (uint16_t)(50000 + i);
	r.reply.family = 4;
	r.reply.proto = 6;
	r.reply.src[0] = 10;
	r.reply.src[3] = 1;
	r.reply.dst[0] = 10;
	r.reply.dst[3] = 2;
	r.reply.sport = 40000;
	r.reply.dport = 21;
	r.slot = i;
	r.id = 900 + i;
	r.events = events;
	r.timeout_s = 300;
	r.exp_helper = CT_EXP_HELPER_FTP;
	return r;
}

static unsigned xpos;

static void
xp_begin(void *arg)
{
	(void)arg;
	xpos = 0;
}

static unsigned
xp_next(void *arg, struct ct_event_rec *out, unsigned max, bool *done)
{
	unsigned n = 0;

	(void)arg;
	while (n < max && xpos < 3)
		out[n++] = xrec(xpos++, 0);
	*done = xpos == 3;
	return n;
}

static const struct ev_dump_ops xp_ops = { xp_begin, xp_next, NULL };

/*
 * --expect: the expectation groups only (a connection record in between is
 * not shown), lines as conntrack -E expect prints them; --expect --dump as
 * conntrack -L expect.
 */
static int
test_expect(void)
{
	char pstr[100], out[] = "/tmp/dpct-ev-exp-XXXXXX", buf[4096];
	struct ct_event_rec r[3] = { xrec(1, CT_EXP_EV_NEW), rec(1, CT_EV_NEW),
				     xrec(1, CT_EXP_EV_DESTROY) };
	struct ev_chan *c;
	struct ev_ctl *ctl;
	pid_t pid;
	int fd = mkstemp(out);

	T_ASSERT(fd >= 0);
	close(fd);
	snprintf(pstr, sizeof(pstr), "%.90s", port(2));
	ctl = mk_ctl(port(2), &c);
	T_ASSERT(ctl != NULL);
	{
		char *argv[] = { (char *)tool, "--socket", pstr, "--expect", "--idle-exit-ms",
				 "300", "--max-seconds", "10", NULL };

		pid = spawn(argv, out);
	}
	T_ASSERT(wait_listener(ctl));
	T_EQ(ev_chan_push_records(c, r, 3), 3);
	T_EQ(reap(pid, ctl, 10000), 0);
	T_ASSERT(read_file(out, buf, sizeof(buf)) > 0);
	T_STREQ(buf,
		"    [NEW] 300 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50001 "
		"mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
		"master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp\n"
		"[DESTROY] 300 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50001 "
		"mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
		"master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp\n");

	ev_ctl_set_exp_dump(ctl, &xp_ops, NULL);
	{
		char *argv[] = { (char *)tool, "--socket", pstr, "--expect", "--dump",
				 "--max-seconds", "10", NULL };

		pid = spawn(argv, out);
	}
	T_EQ(reap(pid, ctl, 10000), 0);
	T_ASSERT(read_file(out, buf, sizeof(buf)) > 0);
	T_STREQ(buf,
		"300 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50000 "
		"mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
		"master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp\n"
		"300 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50001 "
		"mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
		"master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp\n"
		"300 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=50002 "
		"mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 "
		"master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp\n");

	/* dpct-ctl list expect: the same lines (it runs dpct-events beside it). */
	{
		char ctl_path[512], err_path[] = "/tmp/dpct-ev-exp-err-XXXXXX";
		const char *slash = strrchr(tool, '/');
		int efd = mkstemp(err_path);

		T_ASSERT(efd >= 0);
		close(efd);
		T_ASSERT(slash != NULL);
		snprintf(ctl_path, sizeof(ctl_path), "%.*s/../dpct-ctl/dpct-ctl",
			 (int)(slash - tool), tool);
		if (access(ctl_path, X_OK) == 0) {
			char *argv[] = { ctl_path, "list", "expect", "--socket", pstr, NULL };
			char want[4096];

			T_ASSERT(read_file(out, want, sizeof(want)) > 0);
			pid = spawn2(argv, out, err_path);
			T_EQ(reap(pid, ctl, 20000), 0);
			T_ASSERT(read_file(out, buf, sizeof(buf)) > 0);
			T_STREQ(buf, want);
			T_ASSERT(read_file(err_path, buf, sizeof(buf)) > 0);
			T_ASSERT(strstr(buf, "3 expectations have been shown.") != NULL);
		} else {
			printf("# %s not built: dpct-ctl list expect not checked\n", ctl_path);
		}
		unlink(err_path);
	}
	unlink(out);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_text_lines),
	T_CASE(test_reliable_summary),
	T_CASE(test_no_dpct),
	T_CASE(test_dump),
	T_CASE(test_dpct_gone),
	T_CASE(test_truncated),
	T_CASE(test_expect),
};

int
main(int argc, char **argv)
{
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: test_ev_tool PATH/TO/dpct-events\n");
		return 2;
	}
	tool = argv[1];
	rc = t_run(cases, sizeof(cases) / sizeof(cases[0]));
	if (sock_dir[0] != '\0')
		rmdir(sock_dir);
	return rc;
}
