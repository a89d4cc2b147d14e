/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control core over its real AF_UNIX SOCK_SEQPACKET socket (issue 8):
 * the socket file (mode, group, directory checks), a stale socket replaced
 * and a live one refused, subscribe and acks, consecutive nlmsg_seq, a
 * reliable listener with a tiny buffer beside an unreliable one, a listener
 * that closes or is SIGKILLed (unsubscribed at once), and credentials: an
 * unprivileged peer (uid nobody) refused, unless its gid is allowed; its
 * reliable request refused. Every socket lives in a fresh temp directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_nl.h"

#define NOBODY 65534

static char dir[64];
static char path[100];

static void
fresh_path(void)
{
	snprintf(dir, sizeof(dir), "/tmp/dpct_evt_XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	/* nobody must be able to reach the socket (the file mode decides). */
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/run/events.sock", dir);
}

static void
cleanup(void)
{
	char sub[96];

	unlink(path);
	snprintf(sub, sizeof(sub), "%s/run", dir);
	rmdir(sub);
	rmdir(dir);
}

static int
peer_connect(const char *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", p);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static int
send_sub(int fd, uint32_t flags, uint32_t mask, uint32_t bufsize)
{
	struct {
		struct nlmsghdr h;
		struct ev_subscribe s;
	} req;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = EV_MSG_SUBSCRIBE;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.h.nlmsg_seq = 77;
	req.s.version = EV_PROTO_VERSION;
	req.s.flags = flags;
	req.s.mask = mask;
	req.s.bufsize = bufsize;
	return send(fd, &req, sizeof(req), MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Wait for an NLMSG_ERROR (stepping `ctl` if given); its error, or 1 on timeout. */
static int
wait_ack(int fd, struct ev_ctl *ctl)
{
	uint8_t buf[8192] __attribute__((aligned(8)));
	int tries;

	for (tries = 0; tries < 300; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct nlmsghdr h;
		struct nlmsgerr e;
		ssize_t n;

		if (ctl != NULL)
			ev_ctl_step(ctl, 0, 64);
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			return 2;
		if (n < (ssize_t)(NLMSG_HDRLEN + sizeof(e)))
			continue;
		memcpy(&h, buf, sizeof(h));
		if (h.nlmsg_type != NLMSG_ERROR)
			continue;
		memcpy(&e, buf + NLMSG_HDRLEN, sizeof(e));
		return e.error;
	}
	return 1;
}

/* Count ctnetlink messages waiting on fd; check their seq runs on. */
static unsigned
drain(int fd, unsigned *kinds, uint32_t *last_seq, unsigned *gaps)
{
	static uint8_t buf[1 << 17] __attribute__((aligned(8)));
	unsigned msgs = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		size_t off = 0;

		while (off < (size_t)n) {
			struct ev_nl_ct ct;
			struct nlmsghdr h;
			size_t used;

			memcpy(&h, buf + off, sizeof(h));
			if (ev_nl_parse(buf + off, (size_t)n - off, &ct, &used) == 0) {
				msgs++;
				if (kinds != NULL)
					kinds[ct.kind]++;
				if (last_seq != NULL) {
					if (h.nlmsg_seq != *last_seq + 1)
						(*gaps) += h.nlmsg_seq - *last_seq - 1;
					*last_seq = h.nlmsg_seq;
				}
			}
			if (used == 0)
				break;
			off += used;
		}
	}
	return msgs;
}

static struct ct_event_rec
rec(uint32_t slot, uint16_t events)
{
	struct ct_event_rec r;

	memset(&r, 0, sizeof(r));
	r.orig.family = 6;
	r.orig.proto = 6;
	r.orig.src[0] = 0x20;
	r.orig.dst[0] = 0x20;
	r.orig.dst[15] = 1;
	r.orig.sport = (uint16_t)slot;
	r.orig.dport = 443;
	r.slot = slot;
	r.id = slot + 1;
	r.events = events;
	r.tcp_state = CT_TCP_ESTABLISHED;
	r.pkts[0] = 3;
	return r;
}

static struct ev_ctl *
mk_ctl(struct ev_chan **c, int64_t gid, uint32_t allowed_gid, char *err, size_t errlen)
{
	struct ev_ctl_conf conf;

	*c = ev_chan_create(4096, 4096, err, errlen);
	if (*c == NULL)
		return NULL;
	ev_ctl_conf_init(&conf);
	snprintf(conf.socket_path, sizeof(conf.socket_path), "%s", path);
	conf.socket_gid = gid;
	if (allowed_gid != 0) {
		conf.allowed_gids[0] = allowed_gid;
		conf.n_allowed_gids = 1;
	}
	return ev_ctl_create(&conf, c, 1, err, errlen);
}

static int
test_socket_file(void)
{
	struct ev_chan *c, *c2;
	struct ev_ctl *ctl, *ctl2;
	struct stat st;
	char err[256];
	int fd;

	fresh_path();
	ctl = mk_ctl(&c, NOBODY, 0, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);
	T_EQ(lstat(path, &st), 0);
	T_ASSERT(S_ISSOCK(st.st_mode));
	T_EQ(st.st_mode & 0777, 0660);
	T_EQ(st.st_uid, 0);
	T_EQ(st.st_gid, NOBODY);
	/* A live socket: a second instance refuses to start. */
	ctl2 = mk_ctl(&c2, -1, 0, err, sizeof(err));
	T_ASSERT(ctl2 == NULL);
	T_ASSERT(strstr(err, "served by a running process") != NULL);
	ev_chan_free(c2);
	fd = peer_connect(path);
	T_ASSERT(fd >= 0);
	close(fd);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	/* Freed: the file is gone. A stale socket (bound, nobody listening)
	 * is replaced. */
	T_EQ(lstat(path, &st), -1);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		T_EQ(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
		close(s);
	}
	ctl = mk_ctl(&c, -1, 0, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("stale socket not replaced: %s", err);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	/* A regular file in the way is not removed. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	T_ASSERT(fd >= 0);
	close(fd);
	ctl = mk_ctl(&c, -1, 0, err, sizeof(err));
	T_ASSERT(ctl == NULL);
	T_ASSERT(strstr(err, "not a socket") != NULL);
	ev_chan_free(c);
	/* A directory others may write is refused. */
	unlink(path);
	{
		char sub[96];

		snprintf(sub, sizeof(sub), "%s/run", dir);
		chmod(sub, 0777);
		ctl = mk_ctl(&c, -1, 0, err, sizeof(err));
		T_ASSERT(ctl == NULL);
		T_ASSERT(strstr(err, "not writable by group or others") != NULL);
		ev_chan_free(c);
		chmod(sub, 0755);
	}
	cleanup();
	return 0;
}

static int
test_subscribe_and_deliver(void)
{
	struct ev_listener_info li[4];
	struct ct_event_rec r[64];
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	unsigned kinds[8] = { 0 }, i, got = 0, gaps = 0, rel;
	uint32_t last = 0;
	char err[256];
	int fd;

	fresh_path();
	ctl = mk_ctl(&c, -1, 0, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);
	fd = peer_connect(path);
	T_ASSERT(fd >= 0);
	T_EQ(send_sub(fd, EV_SUB_F_RELIABLE, EV_MASK_ALL, 0), 0);
	T_EQ(wait_ack(fd, ctl), 0);
	T_EQ(ev_ctl_listener_count(ctl, &rel), 1);
	T_EQ(rel, 1);
	T_EQ(ev_ctl_listeners(ctl, li, 4), 1);
	T_EQ(li[0].uid, 0);
	T_EQ(li[0].pid, (uint32_t)getpid());
	T_STREQ(ev_listener_state_name(li[0].state), "reliable");
	for (i = 0; i < 64; i++)
		r[i] = rec(i, i % 2 ? CT_EV_DESTROY : CT_EV_NEW);
	T_EQ(ev_chan_push_records(c, r, 64), 64);
	for (i = 0; i < 20 && got < 64; i++) {
		ev_ctl_step(ctl, 0, 64);
		usleep(1000);
		got += drain(fd, kinds, &last, &gaps);
	}
	T_EQ(got, 64);
	T_EQ(kinds[EV_MASK_NEW], 32);
	T_EQ(kinds[EV_MASK_DESTROY], 32);
	T_EQ(last, 64);
	T_EQ(gaps, 0);
	/* Closing the connection unsubscribes at once. */
	close(fd);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 0);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.listeners_gone, 1);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	cleanup();
	return 0;
}

/*
 * The workers build the state-change records some subscribed listener
 * wants: the channel's kinds follow subscribe, re-subscribe and close.
 */
static int
test_kinds_follow_subscriptions(void)
{
	struct ev_chan *c;
	struct ev_ctl *ctl;
	char err[256];
	int a, b;

	fresh_path();
	ctl = mk_ctl(&c, -1, 0, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);
	T_EQ(ev_chan_kinds(c), 0);
	a = peer_connect(path);
	b = peer_connect(path);
	T_ASSERT(a >= 0 && b >= 0);
	ev_ctl_step(ctl, 0, 64);
	/* Connected, not subscribed: nothing wanted yet. */
	T_EQ(ev_chan_kinds(c), 0);
	T_EQ(send_sub(a, EV_SUB_F_RELIABLE, EV_MASK_DESTROY, 0), 0);
	T_EQ(wait_ack(a, ctl), 0);
	T_EQ(ev_chan_kinds(c), EV_MASK_DESTROY);
	T_EQ(send_sub(b, 0, EV_MASK_NEW | EV_MASK_DESTROY, 0), 0);
	T_EQ(wait_ack(b, ctl), 0);
	T_EQ(ev_chan_kinds(c), EV_MASK_NEW | EV_MASK_DESTROY);
	/* A re-subscribe changes the mask in place. */
	T_EQ(send_sub(a, EV_SUB_F_RELIABLE, EV_MASK_UPDATE, 0), 0);
	T_EQ(wait_ack(a, ctl), 0);
	T_EQ(ev_chan_kinds(c), EV_MASK_ALL);
	close(b);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(ev_chan_kinds(c), EV_MASK_UPDATE);
	close(a);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 0);
	T_EQ(ev_chan_kinds(c), 0);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	cleanup();
	return 0;
}

/* A reliable listener whose buffer is tiny beside an unreliable one with a
 * big buffer: nacks for the first, none for the second; the unreliable
 * listener's losses are gaps equal to its `dropped`. */
static int
test_tiny_buffer(void)
{
	struct ev_listener_info li[4];
	struct ct_event_rec r[256];
	struct ct_result res[512];
	struct ev_chan *c;
	struct ev_ctl *ctl;
	unsigned i, nacks = 0, got_u = 0, gaps_u = 0, gaps_r = 0;
	uint32_t last_u = 0, last_r = 0;
	char err[256];
	int fr, fu;

	fresh_path();
	ctl = mk_ctl(&c, -1, 0, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);
	fr = peer_connect(path);
	fu = peer_connect(path);
	T_ASSERT(fr >= 0 && fu >= 0);
	T_EQ(send_sub(fr, EV_SUB_F_RELIABLE, EV_MASK_ALL, 2048), 0);
	T_EQ(wait_ack(fr, ctl), 0);
	T_EQ(send_sub(fu, 0, EV_MASK_ALL, 2048), 0);
	T_EQ(wait_ack(fu, ctl), 0);
	for (i = 0; i < 256; i++)
		r[i] = rec(i, CT_EV_NEW);
	T_EQ(ev_chan_push_records(c, r, 256), 256);
	ev_ctl_step(ctl, 0, 256);
	i = ev_chan_pull_results(c, res, 512);
	for (unsigned k = 0; k < i; k++)
		nacks += res[k].kind == CT_RES_NACK;
	T_ASSERT(nacks > 0);
	drain(fr, NULL, &last_r, &gaps_r);
	got_u = drain(fu, NULL, &last_u, &gaps_u);
	T_ASSERT(got_u < 256);
	T_EQ(ev_ctl_listeners(ctl, li, 4), 2);
	/* The reliable one has no gap (its refusals are nacks, not losses). */
	T_EQ(gaps_r, 0);
	T_EQ(li[0].dropped, 0);
	T_EQ(li[1].dropped, 256 - got_u);
	T_EQ(gaps_u + (li[1].seq - last_u), li[1].dropped);
	close(fr);
	close(fu);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	cleanup();
	return 0;
}

/* A listener SIGKILLed: its subscription ends at the next step, and a new
 * connection does not inherit anything. */
static int
test_killed_listener(void)
{
	struct ev_listener_info li[4];
	struct ev_chan *c;
	struct ev_ctl *ctl;
	char err[256];
	int status, i, pfd[2];
	pid_t pid;

	fresh_path();
	ctl = mk_ctl(&c, -1, 0, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);
	T_EQ(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		int fd = peer_connect(path);
		char b = 1;

		if (fd < 0 || send_sub(fd, EV_SUB_F_RELIABLE, EV_MASK_ALL, 0) < 0)
			_exit(1);
		if (write(pfd[1], &b, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	T_ASSERT(pid > 0);
	{
		char b;

		T_EQ(read(pfd[0], &b, 1), 1);
	}
	for (i = 0; i < 200 && ev_ctl_listener_count(ctl, NULL) == 0; i++) {
		ev_ctl_step(ctl, 0, 64);
		usleep(2000);
	}
	T_EQ(ev_ctl_listener_count(ctl, NULL), 1);
	T_EQ(ev_ctl_listeners(ctl, li, 4), 1);
	T_EQ(li[0].pid, (uint32_t)pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 0);
	T_EQ(ev_ctl_listeners(ctl, li, 4), 0);
	close(pfd[0]);
	close(pfd[1]);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	cleanup();
	return 0;
}

/* Run `fn` as uid/gid nobody in a child; its exit status. */
static int
as_nobody(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(100);
		_exit(fn());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* 0: connect refused with EACCES (the file mode). */
static int
nobody_connect(void)
{
	int fd = peer_connect(path);

	return fd == -EACCES ? 0 : 1;
}

/* 0: subscription refused with EPERM (SO_PEERCRED). */
static int
nobody_subscribe_refused(void)
{
	int fd = peer_connect(path);

	if (fd < 0)
		return 10;
	(void)send_sub(fd, 0, EV_MASK_ALL, 0);
	return wait_ack(fd, NULL) == -EPERM ? 0 : 11;
}

/* 0: subscribed (ack 0) unreliably, but reliable refused with EACCES. */
static int
nobody_subscribe_ok(void)
{
	int fd = peer_connect(path);

	if (fd < 0)
		return 20;
	(void)send_sub(fd, EV_SUB_F_RELIABLE, EV_MASK_ALL, 0);
	if (wait_ack(fd, NULL) != -EACCES)
		return 21;
	(void)send_sub(fd, 0, EV_MASK_ALL, 0);
	return wait_ack(fd, NULL) == 0 ? 0 : 22;
}

static int
step_while_child(struct ev_ctl *ctl, int (*fn)(void))
{
	int status, i;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(100);
		_exit(fn());
	}
	for (i = 0; i < 1000; i++) {
		ev_ctl_step(ctl, 0, 64);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(2000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -2;
}

static int
test_credentials(void)
{
	struct ev_ctl_stats st;
	struct ev_chan *c;
	struct ev_ctl *ctl;
	char err[256];

	if (getuid() != 0) {
		printf("# not root: credentials test skipped\n");
		return 0;
	}
	/* root:root 0660: nobody cannot even connect. */
	fresh_path();
	ctl = mk_ctl(&c, -1, 0, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);
	T_EQ(as_nobody(nobody_connect), 0);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	/* Group nogroup may connect, but uid/gid are not allowed: EPERM. */
	ctl = mk_ctl(&c, NOBODY, 0, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);
	T_EQ(step_while_child(ctl, nobody_subscribe_refused), 0);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 0);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.subscribe_refused, 1);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	/* Its gid allowed: it subscribes, but not reliably. */
	ctl = mk_ctl(&c, NOBODY, NOBODY, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);
	T_EQ(step_while_child(ctl, nobody_subscribe_ok), 0);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	cleanup();
	return 0;
}

/* Every NLMSG_ERROR the connection gets within `ms` of quiet (stepping ctl);
 * returns how many, their errors in `errs`. */
static unsigned
collect_acks(int fd, struct ev_ctl *ctl, int *errs, unsigned max, int ms)
{
	uint8_t buf[EV_DGRAM_MAX] __attribute__((aligned(8)));
	unsigned n = 0;
	int quiet = 0;

	while (quiet < ms && n < max) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		size_t off = 0;
		ssize_t len;

		ev_ctl_step(ctl, 0, 64);
		if (poll(&p, 1, 1) <= 0) {
			quiet++;
			continue;
		}
		quiet = 0;
		len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len <= 0)
			break;
		while (off + NLMSG_HDRLEN + sizeof(struct nlmsgerr) <= (size_t)len && n < max) {
			struct nlmsghdr h;
			struct nlmsgerr e;

			memcpy(&h, buf + off, sizeof(h));
			if (h.nlmsg_len < NLMSG_HDRLEN || off + h.nlmsg_len > (size_t)len)
				break;
			if (h.nlmsg_type == NLMSG_ERROR) {
				memcpy(&e, buf + off + NLMSG_HDRLEN, sizeof(e));
				errs[n++] = e.error;
			}
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
	}
	return n;
}

/* A request datagram: `n_sub` subscribe messages (each asking an ack),
 * then `tail` more bytes: with tail_len_field != 0 a header whose
 * nlmsg_len says that, else `tail` raw bytes. */
static size_t
mk_dgram(uint8_t *buf, size_t cap, unsigned n_sub, size_t tail, uint32_t tail_len_field)
{
	size_t off = 0;
	unsigned i;

	for (i = 0; i < n_sub && off + 32 <= cap; i++) {
		struct nlmsghdr h = { .nlmsg_len = NLMSG_HDRLEN + sizeof(struct ev_subscribe),
				      .nlmsg_type = EV_MSG_SUBSCRIBE,
				      .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = i };
		struct ev_subscribe s = { EV_PROTO_VERSION, 0, EV_MASK_ALL, 0 };

		memcpy(buf + off, &h, sizeof(h));
		memcpy(buf + off + NLMSG_HDRLEN, &s, sizeof(s));
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	if (tail > 0 && off + tail <= cap) {
		memset(buf + off, 0, tail);
		if (tail_len_field != 0 && tail >= NLMSG_HDRLEN) {
			struct nlmsghdr h = { .nlmsg_len = tail_len_field, .nlmsg_type = 0x55,
					      .nlmsg_flags = NLM_F_REQUEST };

			memcpy(buf + off, &h, sizeof(h));
		}
		off += tail;
	}
	return off;
}

/* Each request datagram is answered as docs/events.md says: nothing is
 * dropped without an NLMSG_ERROR. */
static int
test_request_rules(void)
{
	static const struct {
		const char *name;
		unsigned n_sub;
		size_t tail;
		uint32_t tail_len;
		unsigned n_acks;
		int last;
	} cases[] = {
		{ "16 messages: all handled", 16, 0, 0, 16, 0 },
		{ "17 messages: the 17th refused", 17, 0, 0, 17, -E2BIG },
		{ "40 messages: one refusal, rest ignored", 40, 0, 0, 17, -E2BIG },
		{ "nlmsg_len below a header", 1, 16, 8, 2, -EINVAL },
		{ "nlmsg_len past the datagram", 1, 16, 200, 2, -EINVAL },
		{ "fewer bytes than a header", 0, 10, 0, 1, -EINVAL },
		{ "trailing bytes under a header are ignored", 2, 7, 0, 2, 0 },
		{ "longer than EV_REQ_MAX", 1, EV_REQ_MAX, 64, 1, -EMSGSIZE },
	};
	static uint8_t buf[2 * EV_REQ_MAX];
	struct ev_chan *c;
	struct ev_ctl *ctl;
	char err[256];
	unsigned i;

	fresh_path();
	ctl = mk_ctl(&c, -1, 0, err, sizeof(err));
	if (ctl == NULL)
		T_FAIL_("ev_ctl_create: %s", err);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int errs[64];
		size_t len = mk_dgram(buf, sizeof(buf), cases[i].n_sub, cases[i].tail,
				      cases[i].tail_len);
		int fd = peer_connect(path);
		unsigned n;

		T_ASSERT(fd >= 0);
		T_EQ(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
		n = collect_acks(fd, ctl, errs, 64, 100);
		if (n != cases[i].n_acks || errs[n - 1] != cases[i].last)
			T_FAIL_("%s: %u acks, last %d (want %u, last %d)", cases[i].name, n,
				n > 0 ? errs[n - 1] : 0, cases[i].n_acks, cases[i].last);
		close(fd);
		ev_ctl_step(ctl, 0, 64);
	}
	ev_ctl_free(ctl);
	ev_chan_free(c);
	cleanup();
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_socket_file),
	T_CASE(test_subscribe_and_deliver),
	T_CASE(test_kinds_follow_subscriptions),
	T_CASE(test_tiny_buffer),
	T_CASE(test_killed_listener),
	T_CASE(test_credentials),
	T_CASE(test_request_rules),
};

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return t_run(cases, sizeof(cases) / sizeof(cases[0]));
}
