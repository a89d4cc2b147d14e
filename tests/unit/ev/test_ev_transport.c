/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control core over real NETLINK_USERSOCK sockets: subscribe and acks,
 * a reliable listener with a tiny buffer beside an unreliable one, a
 * listener that goes away, credentials and the listener cap. Port ids are
 * derived from the pid so parallel test runs do not collide.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "dpct_test.h"
#include "ev.h"
#include "ev_nl.h"

static uint32_t
ctl_port(unsigned k)
{
	/* From the first caller's pid: forked children must agree. */
	static uint32_t base;

	if (base == 0)
		base = 0x45560000u + ((uint32_t)getpid() & 0xfff) * 16;
	return base + k;
}

static int
listener_open(int rcvbuf)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);

	if (fd < 0)
		return -1;
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_req(int fd, uint32_t to_port, uint16_t type, uint32_t flags, uint32_t mask)
{
	struct {
		struct nlmsghdr h;
		struct ev_subscribe s;
	} req;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = to_port };

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.h.nlmsg_seq = 77;
	req.s.version = EV_PROTO_VERSION;
	req.s.flags = flags;
	req.s.mask = mask;
	return sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
}

/* Wait for the ack (stepping `ctl` if given); returns its error, or 1 on timeout. */
static int
wait_ack(int fd, struct ev_ctl *ctl)
{
	uint8_t buf[8192] __attribute__((aligned(8)));
	int tries;

	for (tries = 0; tries < 200; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct nlmsghdr h;
		struct nlmsgerr e;
		ssize_t n;

		if (ctl != NULL)
			ev_ctl_step(ctl, 0, 64);
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < (ssize_t)(NLMSG_HDRLEN + sizeof(e)))
			continue;
		memcpy(&h, buf, sizeof(h));
		if (h.nlmsg_type != NLMSG_ERROR)
			continue;
		memcpy(&e, buf + NLMSG_HDRLEN, sizeof(e));
		if (e.msg.nlmsg_seq == 77)
			return e.error;
	}
	return 1;
}

/* Count ctnetlink messages waiting on fd, by kind. */
static unsigned
drain(int fd, unsigned *kinds)
{
	static uint8_t buf[1 << 17] __attribute__((aligned(8)));
	unsigned msgs = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		size_t off = 0;

		while (off < (size_t)n) {
			struct ev_nl_ct ct;
			size_t used;

			if (ev_nl_parse(buf + off, (size_t)n - off, &ct, &used) == 0) {
				msgs++;
				if (kinds != NULL)
					kinds[ct.kind]++;
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
mk_ctl(unsigned k, struct ev_chan **c, unsigned max_listeners, uint32_t allowed_uid)
{
	struct ev_ctl_conf conf;
	char err[256];
	struct ev_ctl *ctl;

	*c = ev_chan_create(4096, 4096, err, sizeof(err));
	if (*c == NULL)
		return NULL;
	ev_ctl_conf_init(&conf);
	conf.port_id = ctl_port(k);
	conf.max_listeners = max_listeners;
	if (allowed_uid != 0) {
		conf.allowed_uids[0] = allowed_uid;
		conf.n_allowed_uids = 1;
	}
	ctl = ev_ctl_create(&conf, c, 1, err, sizeof(err));
	if (ctl == NULL)
		printf("# ev_ctl_create: %s\n", err);
	return ctl;
}

static int
test_two_listeners(void)
{
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(0, &c, 8, 0);
	struct ev_listener_info li[4];
	struct ct_event_rec r[256];
	struct ct_result res[4096];
	struct ev_ctl_stats st;
	unsigned kinds_small[8] = { 0 }, kinds_big[8] = { 0 };
	unsigned i, round, nres = 0, nacks = 0, dnacks = 0, dacks = 0, got_small, got_big;
	int small, big;

	T_ASSERT(ctl != NULL);
	T_ASSERT(ev_ctl_fd(ctl) >= 0);
	small = listener_open(2048);
	big = listener_open(8 << 20);
	T_ASSERT(small >= 0 && big >= 0);
	T_EQ(send_req(small, ctl_port(0), EV_MSG_SUBSCRIBE, EV_SUB_F_RELIABLE, EV_MASK_ALL), 0);
	T_EQ(wait_ack(small, ctl), 0);
	T_EQ(send_req(big, ctl_port(0), EV_MSG_SUBSCRIBE, 0, EV_MASK_ALL), 0);
	T_EQ(wait_ack(big, ctl), 0);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 2);

	/* 8 rounds of 128 NEW + 128 DESTROY, nobody reading in between. */
	for (round = 0; round < 8; round++) {
		for (i = 0; i < 256; i++)
			r[i] = rec(round * 256 + i, i % 2 ? CT_EV_DESTROY : CT_EV_NEW);
		T_EQ(ev_chan_push_records(c, r, 256), 256);
		while (ev_ctl_step(ctl, 0, 512) > 0)
			;
		nres += ev_chan_pull_results(c, res + nres, 4096 - nres);
	}
	for (i = 0; i < nres; i++) {
		nacks += res[i].kind == CT_RES_NACK;
		dnacks += res[i].kind == CT_RES_DESTROY_NACK;
		dacks += res[i].kind == CT_RES_DESTROY_ACK;
	}
	got_small = drain(small, kinds_small);
	got_big = drain(big, kinds_big);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(ev_ctl_listeners(ctl, li, 4), 2);
	/* The tiny reliable buffer refused most; each refusal is a nack. */
	T_ASSERT(nacks > 0 && dnacks > 0);
	T_EQ(dacks + dnacks, 1024);
	T_EQ(st.events_failed, nacks + dnacks);
	T_EQ(li[0].failed, nacks + dnacks);
	T_EQ(li[0].sent + li[0].failed, 2048);
	/* What it did get is exactly what was counted as sent to it, and the
	 * destroys it got are exactly the acked ones. */
	T_EQ(got_small, li[0].sent);
	T_EQ(kinds_small[EV_MASK_DESTROY], dacks);
	T_ASSERT(got_small > 0);
	/* The big unreliable listener got everything. */
	T_EQ(got_big, 2048);
	T_EQ(kinds_big[EV_MASK_NEW], 1024);
	T_EQ(li[1].sent, 2048);
	T_EQ(st.listener_dropped, 0);
	T_EQ(st.events_sent, 2048);
	close(small);
	close(big);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

static int
test_listener_killed(void)
{
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(1, &c, 8, 0);
	struct ct_event_rec r[64];
	struct ct_result res[128];
	struct ev_ctl_stats st;
	unsigned i, n, acks = 0;
	int fd;

	T_ASSERT(ctl != NULL);
	fd = listener_open(1 << 20);
	T_ASSERT(fd >= 0);
	T_EQ(send_req(fd, ctl_port(1), EV_MSG_SUBSCRIBE, EV_SUB_F_RELIABLE, EV_MASK_ALL), 0);
	T_EQ(wait_ack(fd, ctl), 0);
	for (i = 0; i < 64; i++)
		r[i] = rec(i, CT_EV_DESTROY);
	T_EQ(ev_chan_push_records(c, r, 32), 32);
	ev_ctl_step(ctl, 0, 64);
	T_EQ(drain(fd, NULL), 32);
	/* The listener dies mid-stream. */
	close(fd);
	T_EQ(ev_chan_push_records(c, r + 32, 32), 32);
	ev_ctl_step(ctl, 0, 64);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.listeners_gone, 1);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 0);
	/* Nobody is left to miss them: every destroy is acked, none hangs. */
	n = ev_chan_pull_results(c, res, 128);
	for (i = 0; i < n; i++)
		acks += res[i].kind == CT_RES_DESTROY_ACK;
	T_EQ(acks, 64);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

static int
test_unauthorised_uid(void)
{
	struct ev_chan *c;
	struct ev_ctl *ctl;
	pid_t pid;
	int status = 0, fd, i;

	if (geteuid() != 0) {
		printf("# SKIP not root: cannot run a listener under another uid\n");
		return 0;
	}
	ctl = mk_ctl(2, &c, 8, 4242);
	T_ASSERT(ctl != NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		int rc;

		if (setuid(65534) != 0)
			_exit(100);
		fd = listener_open(0);
		if (fd < 0)
			_exit(101);
		if (send_req(fd, ctl_port(2), EV_MSG_SUBSCRIBE, EV_SUB_F_RELIABLE, EV_MASK_ALL))
			_exit(102);
		rc = wait_ack(fd, NULL);
		_exit(rc == -EPERM ? 0 : rc == 0 ? 103 : 104);
	}
	for (i = 0; i < 400; i++) {
		ev_ctl_step(ctl, 0, 64);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(5000);
	}
	T_ASSERT(WIFEXITED(status));
	T_EQ(WEXITSTATUS(status), 0);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 0);
	/* root is always allowed */
	fd = listener_open(0);
	T_EQ(send_req(fd, ctl_port(2), EV_MSG_SUBSCRIBE, 0, EV_MASK_ALL), 0);
	T_EQ(wait_ack(fd, ctl), 0);
	T_EQ(ev_ctl_listener_count(ctl, NULL), 1);
	close(fd);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

static int
test_listener_cap(void)
{
	struct ev_chan *c;
	struct ev_ctl *ctl = mk_ctl(3, &c, 2, 0);
	struct ev_ctl_stats st;
	int fd[3], i;

	T_ASSERT(ctl != NULL);
	for (i = 0; i < 3; i++) {
		fd[i] = listener_open(0);
		T_ASSERT(fd[i] >= 0);
		T_EQ(send_req(fd[i], ctl_port(3), EV_MSG_SUBSCRIBE, 0, EV_MASK_ALL), 0);
		T_EQ(wait_ack(fd[i], ctl), i < 2 ? 0 : -EUSERS);
	}
	T_EQ(ev_ctl_listener_count(ctl, NULL), 2);
	/* Unsubscribing makes room. */
	T_EQ(send_req(fd[0], ctl_port(3), EV_MSG_UNSUBSCRIBE, 0, 0), 0);
	T_EQ(wait_ack(fd[0], ctl), 0);
	T_EQ(send_req(fd[2], ctl_port(3), EV_MSG_SUBSCRIBE, 0, EV_MASK_ALL), 0);
	T_EQ(wait_ack(fd[2], ctl), 0);
	ev_ctl_get_stats(ctl, &st);
	T_EQ(st.subscribe_refused, 1);
	for (i = 0; i < 3; i++)
		close(fd[i]);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	return 0;
}

static int
test_port_in_use(void)
{
	struct ev_chan *c, *c2;
	struct ev_ctl *ctl = mk_ctl(4, &c, 2, 0), *ctl2;
	struct ev_ctl_conf conf;
	char err[256] = "";

	T_ASSERT(ctl != NULL);
	c2 = ev_chan_create(16, 16, err, sizeof(err));
	ev_ctl_conf_init(&conf);
	conf.port_id = ctl_port(4);
	ctl2 = ev_ctl_create(&conf, &c2, 1, err, sizeof(err));
	T_ASSERT(ctl2 == NULL);
	T_ASSERT(strstr(err, "in use") != NULL);
	ev_ctl_free(ctl);
	ev_chan_free(c);
	ev_chan_free(c2);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_two_listeners),
	T_CASE(test_listener_killed),
	T_CASE(test_unauthorised_uid),
	T_CASE(test_listener_cap),
	T_CASE(test_port_in_use),
};

T_MAIN(cases)
