/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A refused connection reads its refusal. Closing an AF_UNIX socket with
 * datagrams still queued on it makes the peer's next recv() fail with
 * ECONNRESET before the peer can read what was sent to it; a client that
 * sends its subscribe request before dpct accepts the connection (as
 * dpct-events does) would then see a reset instead of the reason. Here the
 * peer's request is queued before the connection is handed to the control
 * core, for a uid that is not allowed and for one over its connection cap.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "dpct_test.h"
#include "ev.h"

#define NOBODY 65534

/* A connected pair whose peer end has already sent `n` subscribe requests. */
static int
pair_with_requests(int *peer, unsigned n)
{
	struct {
		struct nlmsghdr h;
		struct ev_subscribe s;
	} req;
	int sp[2];
	unsigned i;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sp) < 0)
		return -1;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = EV_MSG_SUBSCRIBE;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.h.nlmsg_seq = 1;
	req.s.version = EV_PROTO_VERSION;
	req.s.mask = EV_MASK_ALL;
	for (i = 0; i < n; i++)
		if (send(sp[1], &req, sizeof(req), 0) != (ssize_t)sizeof(req))
			return -1;
	*peer = sp[1];
	return sp[0];
}

/* What the peer reads first: the error code of an NLMSG_ERROR, or 1 + errno
 * of a failed recv() as a positive number, or 0 for the end of stream. */
static int
first_answer(int peer)
{
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} ans;
	ssize_t n = recv(peer, &ans, sizeof(ans), MSG_DONTWAIT);

	if (n < 0)
		return 1 + errno;
	if (n == 0)
		return 0;
	if ((size_t)n < sizeof(ans) || ans.h.nlmsg_type != NLMSG_ERROR)
		return 1 + EPROTO;
	return ans.e.error;
}

static int
test_refused_reads_its_reason(void)
{
	struct ev_ctl_conf conf;
	struct ev_ctl *ctl;
	int fd, peer, slot;
	char err[128];

	ev_ctl_conf_init(&conf);
	conf.no_socket = true;
	conf.max_conns_per_uid = 1;
	conf.n_allowed_uids = 1;
	conf.allowed_uids[0] = 1000;
	ctl = ev_ctl_create(&conf, NULL, 0, err, sizeof(err));
	T_ASSERT(ctl != NULL);

	/* Not allowed at all: -EPERM, readable although its request waits. */
	fd = pair_with_requests(&peer, 3);
	T_ASSERT(fd >= 0);
	T_EQ(ev_ctl_attach_peer(ctl, fd, NOBODY, NOBODY, 42), -EPERM);
	T_EQ(first_answer(peer), -EPERM);
	T_EQ(first_answer(peer), 0);
	close(peer);

	/* Over the uid's cap: -EUSERS, likewise. */
	fd = pair_with_requests(&peer, 0);
	T_ASSERT(fd >= 0);
	slot = ev_ctl_attach_peer(ctl, fd, 1000, 1000, 43);
	T_ASSERT(slot >= 0);
	{
		int peer2, fd2 = pair_with_requests(&peer2, 1);

		T_ASSERT(fd2 >= 0);
		T_EQ(ev_ctl_attach_peer(ctl, fd2, 1000, 1000, 44), -EUSERS);
		T_EQ(first_answer(peer2), -EUSERS);
		close(peer2);
	}
	close(peer);
	ev_ctl_free(ctl);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_refused_reads_its_reason),
};

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return t_run(cases, sizeof(cases) / sizeof(cases[0]));
}
