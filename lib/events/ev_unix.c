/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The events transport: an AF_UNIX SOCK_SEQPACKET socket (docs/events.md).
 *
 * The socket file is created in a directory only dpct can write, mode
 * 0660 with an optional group, so the file system decides who may connect
 * at all; SO_PEERCRED then decides who may subscribe. The connection is the
 * subscription: a peer that closes (or dies) is unsubscribed at once, and
 * nobody else can receive on its connection or send on dpct's behalf.
 *
 * The request path: each connection's first message is EV_MSG_SUBSCRIBE
 * or a dump request; requests are budgeted by message per step, and a peer
 * whose requests keep being refused is cut off.
 *
 * Slots nobody can hoard: a uid other than 0 holds at most
 * max_conns_per_uid connections, reserved_slots are kept for uid 0 and
 * reliable_uids, a connection that does not subscribe or dump within
 * subscribe_timeout_ms is closed, and when every slot is taken uid 0 takes
 * the slot of the oldest connection that has not subscribed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

#include "ev.h"
#include "ev_ctl_private.h"
#include "ev_nl.h"

#define EP_LISTEN UINT32_MAX

static int
fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun_path, path, strlen(path) + 1);
	return 0;
}

/* The directory must exist (we create it) and be ours alone. */
static int
check_dir(const char *path, char *err, size_t errlen)
{
	char dir[EV_SOCKET_PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		snprintf(err, errlen, "events.socket %s: must be an absolute path", path);
		return -EINVAL;
	}
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "events.socket directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "events.socket directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "events.socket directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	/* Anyone else who can write it could squat or replace the socket. */
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "events.socket directory %s must be owned by uid %u and "
			 "not writable by group or others (owner %u, mode %04o)", dir,
			 (unsigned)geteuid(), (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* A socket already at `path`: refuse a live one, remove a stale one. */
static int
clear_stale(const char *path, const struct sockaddr_un *a, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "events.socket %s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	rc = connect(fd, (const struct sockaddr *)a, sizeof(*a));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(fd);
		snprintf(err, errlen, "events.socket %s is served by a running process "
			 "(another dpct?); refusing to start", path);
		return -EADDRINUSE;
	}
	close(fd);
	/* ECONNREFUSED: nobody listens; a dead dpct left it behind. */
	if (unlink(path) < 0) {
		snprintf(err, errlen, "events.socket %s: cannot remove stale socket: %s", path,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int
ev_unix_open(struct ev_ctl *ctl, char *err, size_t errlen)
{
	const char *path = ctl->conf.socket_path;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EP_LISTEN };
	struct sockaddr_un a;
	mode_t old;
	int rc;

	if (path[0] != '/') {
		snprintf(err, errlen, "events.socket %s: must be an absolute path", path);
		return -EINVAL;
	}
	if (fill_addr(&a, path) < 0) {
		snprintf(err, errlen, "events.socket %s: longer than %zu bytes", path,
			 sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	rc = check_dir(path, err, errlen);
	if (rc == 0)
		rc = clear_stale(path, &a, err, errlen);
	if (rc < 0)
		return rc;
	ctl->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	/* Born 0660: there is no moment at which others may connect. */
	old = umask(0117);
	rc = bind(ctl->lfd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0) {
		rc = -errno;
		snprintf(err, errlen, "events.socket %s: bind: %s", path, strerror(errno));
		return rc;
	}
	ctl->bound = true;
	if (ctl->conf.socket_gid >= 0 && chown(path, (uid_t)-1, (gid_t)ctl->conf.socket_gid) < 0) {
		rc = -errno;
		snprintf(err, errlen, "events.socket %s: chown to group %lld: %s", path,
			 (long long)ctl->conf.socket_gid, strerror(errno));
		return rc;
	}
	if (chmod(path, 0660) < 0 || listen(ctl->lfd, 64) < 0) {
		rc = -errno;
		snprintf(err, errlen, "events.socket %s: %s", path, strerror(errno));
		return rc;
	}
	ctl->ep = epoll_create1(EPOLL_CLOEXEC);
	if (ctl->ep < 0 || epoll_ctl(ctl->ep, EPOLL_CTL_ADD, ctl->lfd, &ev) < 0) {
		rc = -errno;
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return rc;
	}
	return 0;
}

void
ev_unix_close(struct ev_ctl *ctl)
{
	if (ctl->lfd >= 0)
		close(ctl->lfd);
	if (ctl->ep >= 0)
		close(ctl->ep);
	if (ctl->bound)
		unlink(ctl->conf.socket_path);
	ctl->lfd = ctl->ep = -1;
	ctl->bound = false;
}

void
ev_unix_forget(struct ev_ctl *ctl, struct ev_listener *l)
{
	if (ctl->ep >= 0)
		(void)epoll_ctl(ctl->ep, EPOLL_CTL_DEL, l->fd, NULL);
	close(l->fd);
	l->fd = -1;
}

int
ev_unix_send(struct ev_listener *l, const struct iovec *iov, unsigned iovcnt)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = iovcnt };
	ssize_t rc;

	if (l->fd < 0)
		return 0;
	do {
		rc = sendmsg(l->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

void
ev_unix_ack(struct ev_ctl *ctl, struct ev_listener *l, const struct nlmsghdr *req, int error)
{
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} ack;
	struct iovec iov = { .iov_base = &ack, .iov_len = sizeof(ack) };

	(void)ctl;
	memset(&ack, 0, sizeof(ack));
	ack.h.nlmsg_len = sizeof(ack);
	ack.h.nlmsg_type = NLMSG_ERROR;
	/* Only the request header is echoed back (NETLINK_CAP_ACK style). */
	ack.h.nlmsg_flags = error != 0 ? NLM_F_CAPPED : 0;
	ack.h.nlmsg_seq = req->nlmsg_seq;
	ack.h.nlmsg_pid = 0;
	ack.e.error = error;
	ack.e.msg = *req;
	/* A peer too busy to take its ack times out and retries. */
	(void)ev_unix_send(l, &iov, 1);
}

/* ------------------------------------------------------------------------ */
/* Credentials and the request path                                          */

static bool
in_list(const uint32_t *list, unsigned n, uint32_t v)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

static bool
peer_allowed(const struct ev_ctl *ctl, uint32_t uid, uint32_t gid)
{
	return uid == 0 || in_list(ctl->conf.allowed_uids, ctl->conf.n_allowed_uids, uid) ||
	       in_list(ctl->conf.allowed_gids, ctl->conf.n_allowed_gids, gid);
}

static void
set_bufsize(struct ev_ctl *ctl, struct ev_listener *l, uint32_t want)
{
	int v, got = 0;
	socklen_t sl = sizeof(got);
	unsigned b;

	if (want == 0)
		want = ctl->conf.sndbuf;
	if (want < EV_CTL_BUF_MIN / 2)
		want = EV_CTL_BUF_MIN / 2;
	if (want > EV_CTL_BUF_MAX)
		want = EV_CTL_BUF_MAX;
	v = (int)want;
	if (l->fd >= 0) {
		/* The kernel doubles it, as for any socket buffer; AF_UNIX
		 * charges what is queued to the sender, so this is the room
		 * the listener has. */
		if (setsockopt(l->fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
			(void)setsockopt(l->fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
		if (getsockopt(l->fd, SOL_SOCKET, SO_SNDBUF, &got, &sl) < 0)
			got = v * 2;
	} else {
		got = v * 2;
	}
	/* A datagram must fit the buffer (len <= sndbuf - 32); half of it
	 * leaves room for the next one. */
	b = (unsigned)got / 2;
	if (b > ctl->conf.max_batch_bytes)
		b = ctl->conf.max_batch_bytes;
	if (b < EV_NL_MSG_MAX)
		b = EV_NL_MSG_MAX;
	l->batch = b;
}

static int
do_subscribe(struct ev_ctl *ctl, struct ev_listener *l, const struct nlmsghdr *h)
{
	const void *payload = (const uint8_t *)h + NLMSG_HDRLEN;
	size_t plen = h->nlmsg_len - NLMSG_HDRLEN;
	struct ev_subscribe sub;
	bool rel;

	if (ev_nl_parse_subscribe(payload, plen, &sub) < 0)
		return -EINVAL;
	rel = (sub.flags & EV_SUB_F_RELIABLE) != 0;
	if (rel && !in_list(ctl->conf.reliable_uids, ctl->conf.n_reliable_uids, l->uid)) {
		ctl->st.subscribe_refused++;
		return -EACCES;
	}
	l->mask = sub.mask;
	l->want_reliable = rel;
	/* A re-subscribe may change the mask, never undo a demotion. */
	if (l->state != EV_LS_DEMOTED)
		l->state = rel ? EV_LS_RELIABLE : EV_LS_UNRELIABLE;
	set_bufsize(ctl, l, sub.bufsize);
	/* Before the answer: the workers build what it asked for from then on. */
	ev_ctl_publish_kinds(ctl);
	return 0;
}

static int
handle_one(struct ev_ctl *ctl, struct ev_listener *l, const struct nlmsghdr *h, bool *close_it)
{
	switch (h->nlmsg_type) {
	case EV_MSG_SUBSCRIBE:
		return do_subscribe(ctl, l, h);
	case EV_MSG_UNSUBSCRIBE:
		/* The connection is the subscription: this ends it. */
		*close_it = true;
		return 0;
	case (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET:
		if ((h->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
			return -EOPNOTSUPP;
		return ev_ctl_dump_request(ctl, l, h);
	default:
		return -EOPNOTSUPP;
	}
}

static void
refused_request(struct ev_ctl *ctl, struct ev_listener *l)
{
	ctl->st.requests_refused++;
	l->bad++;
}

static int
handle_datagram(struct ev_ctl *ctl, struct ev_listener *l, const void *buf, size_t len,
		unsigned *budget)
{
	const uint8_t *p = buf;
	int last = -EINVAL;
	unsigned k = 0;
	bool close_it = false;

	while (len >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		uint8_t msg[NLMSG_HDRLEN + 64] __attribute__((aligned(8)));
		size_t alen;

		memcpy(&h, p, sizeof(h));
		if (k == EV_REQ_PER_DGRAM || h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len) {
			/* Answered, and the rest of the datagram is not read:
			 * past a bad length there is no next header to trust. */
			last = k == EV_REQ_PER_DGRAM ? -E2BIG : -EINVAL;
			ev_unix_ack(ctl, l, &h, last);
			refused_request(ctl, l);
			k++;
			break;
		}
		/* Requests are tiny: work on an aligned copy, cut to what we read. */
		memset(msg, 0, sizeof(msg));
		memcpy(msg, p, h.nlmsg_len < sizeof(msg) ? h.nlmsg_len : sizeof(msg));
		((struct nlmsghdr *)msg)->nlmsg_len =
			h.nlmsg_len < sizeof(msg) ? h.nlmsg_len : (uint32_t)sizeof(msg);
		k++;
		if (*budget > 0)
			(*budget)--;
		if (h.nlmsg_type == NLMSG_NOOP) {
			last = 0;
		} else {
			last = handle_one(ctl, l, (const struct nlmsghdr *)msg, &close_it);
			if (last != 0 || (h.nlmsg_flags & NLM_F_ACK))
				ev_unix_ack(ctl, l, &h, last);
			if (last != 0)
				refused_request(ctl, l);
			else
				l->bad = 0;
		}
		alen = NLMSG_ALIGN(h.nlmsg_len);
		if (alen >= len || close_it)
			break;
		p += alen;
		len -= alen;
	}
	if (k == 0) {
		/* Fewer bytes than a header: nothing to echo but what came. */
		struct nlmsghdr h = { .nlmsg_len = (uint32_t)len };

		memcpy(&h, buf, len < sizeof(h) ? len : sizeof(h));
		ev_unix_ack(ctl, l, &h, -EINVAL);
		refused_request(ctl, l);
	}
	if (close_it)
		l->closing = true;
	if (l->bad >= EV_CTL_BAD_MAX && !l->closing) {
		ctl->st.peers_cut++;
		ev_ctl_note_refusal(ctl, l->uid, l->pid, offsetof(struct ev_refusal, cut),
				    "connection closed after repeated refused requests");
		l->closing = true;
	}
	return last;
}

int
ev_ctl_handle_request(struct ev_ctl *ctl, unsigned slot, const void *buf, size_t len)
{
	unsigned budget = EV_REQ_PER_DGRAM;
	struct ev_listener *l;
	int rc;

	if (slot >= ctl->n_slots || !ctl->ls[slot].used || ctl->ls[slot].type != EV_LT_SOCKET)
		return -ENOENT;
	l = &ctl->ls[slot];
	if (l->closing)
		return -ENOENT;
	rc = handle_datagram(ctl, l, buf, len, &budget);
	if (l->closing)
		ev_ctl_listener_close(ctl, l, false);
	return rc;
}

/* Refuse a connection with a reason the peer can read, then close it. */
static void
refuse_fd(int fd, int error)
{
	struct nlmsghdr req = { .nlmsg_len = NLMSG_HDRLEN };
	struct ev_listener tmp = { .fd = fd };

	ev_unix_ack(NULL, &tmp, &req, error);
	close(fd);
}

/* A connection that has not subscribed and is not dumping: it holds a slot
 * and gets nothing for it yet. */
static bool
conn_idle(const struct ev_ctl *ctl, const struct ev_listener *l)
{
	return l->used && l->type == EV_LT_SOCKET && l->state == EV_LS_PENDING &&
	       !l->dump_wanted && ctl->dump_slot != (int)l->slot;
}

/*
 * May a connection of `uid` take a slot now? 0, or -EUSERS with the counter
 * it is refused under. With no slot free, uid 0 is given the slot of the
 * oldest idle connection of another uid.
 */
static int
admit(struct ev_ctl *ctl, uint32_t uid, size_t *why)
{
	bool privileged = uid == 0 ||
			  in_list(ctl->conf.reliable_uids, ctl->conf.n_reliable_uids, uid);
	struct ev_listener *oldest = NULL;
	unsigned i, held = 0, free_slots = 0;

	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (!l->used) {
			free_slots++;
			continue;
		}
		if (l->type != EV_LT_SOCKET)
			continue;
		held += l->uid == uid;
		if (l->uid != 0 && conn_idle(ctl, l) &&
		    (oldest == NULL || l->connected_ns < oldest->connected_ns))
			oldest = l;
	}
	if (uid != 0 && held >= ctl->conf.max_conns_per_uid) {
		*why = offsetof(struct ev_refusal, over_uid_limit);
		return -EUSERS;
	}
	if (!privileged && free_slots <= ctl->conf.reserved_slots) {
		*why = offsetof(struct ev_refusal, no_slot);
		return -EUSERS;
	}
	if (free_slots > 0)
		return 0;
	if (uid != 0 || oldest == NULL) {
		*why = offsetof(struct ev_refusal, no_slot);
		return -EUSERS;
	}
	ctl->st.peers_evicted++;
	ev_ctl_note_refusal(ctl, oldest->uid, oldest->pid, offsetof(struct ev_refusal, evicted),
			    "unsubscribed connection closed to make room for uid 0");
	ev_ctl_listener_close(ctl, oldest, false);
	return 0;
}

static const char *
refusal_text(size_t why)
{
	if (why == offsetof(struct ev_refusal, over_uid_limit))
		return "connection refused: the uid holds events.max_conns_per_uid connections";
	if (why == offsetof(struct ev_refusal, not_allowed))
		return "connection refused: uid and gid not allowed (events.allowed_uids/gids)";
	return "connection refused: no free listener slot for this uid "
	       "(events.max_listeners, events.reserved_slots)";
}

int
ev_ctl_attach_peer(struct ev_ctl *ctl, int fd, uint32_t uid, uint32_t gid, uint32_t pid)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	size_t why = offsetof(struct ev_refusal, not_allowed);
	struct ev_listener *l = NULL;
	int rc = -EPERM;

	if (peer_allowed(ctl, uid, gid)) {
		rc = admit(ctl, uid, &why);
		if (rc == 0)
			l = ev_ctl_slot_alloc(ctl);
		if (rc == 0 && l == NULL)
			rc = -EUSERS;
	}
	if (rc != 0) {
		ctl->st.subscribe_refused++;
		ev_ctl_note_refusal(ctl, uid, pid, why, refusal_text(why));
		if (fd >= 0)
			refuse_fd(fd, rc);
		return rc;
	}
	l->type = EV_LT_SOCKET;
	l->state = EV_LS_PENDING;
	l->fd = fd;
	l->uid = uid;
	l->gid = gid;
	l->pid = pid;
	l->mask = 0;
	if (fd >= 0 && ctl->ep >= 0) {
		ev.data.u32 = l->slot;
		if (epoll_ctl(ctl->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			l->fd = -1;
			l->used = false;
			return -errno;
		}
	}
	set_bufsize(ctl, l, 0);
	return (int)l->slot;
}

static void
accept_some(struct ev_ctl *ctl)
{
	unsigned i;

	for (i = 0; i < EV_CTL_ACCEPT_MAX; i++) {
		struct ucred cr;
		socklen_t sl = sizeof(cr);
		int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) < 0) {
			/* No credentials, no authority. */
			ctl->st.subscribe_refused++;
			refuse_fd(fd, -EPERM);
			continue;
		}
		(void)ev_ctl_attach_peer(ctl, fd, (uint32_t)cr.uid, (uint32_t)cr.gid,
					 (uint32_t)cr.pid);
	}
}

/* Read one connection's requests: false when it is gone. */
static bool
read_peer(struct ev_ctl *ctl, struct ev_listener *l, unsigned *budget)
{
	uint8_t buf[EV_REQ_MAX] __attribute__((aligned(8)));

	while (*budget > 0 && !l->closing) {
		ssize_t n = recv(l->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		if (n == 0)
			return false;
		if ((size_t)n > sizeof(buf)) {
			/* Requests are small: refuse the datagram whole, naming
			 * its first header. */
			ev_unix_ack(ctl, l, (const struct nlmsghdr *)buf, -EMSGSIZE);
			refused_request(ctl, l);
			(*budget)--;
			continue;
		}
		handle_datagram(ctl, l, buf, (size_t)n, budget);
	}
	return true;
}

void
ev_unix_poll(struct ev_ctl *ctl, uint64_t mono)
{
	struct epoll_event evs[EV_MAX_LISTENERS + 1];
	unsigned budget = EV_CTL_REQ_BUDGET, i;
	int n, k;

	n = epoll_wait(ctl->ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 0);
	for (k = 0; k < n; k++) {
		uint32_t s = evs[k].data.u32;
		struct ev_listener *l;

		if (s == EP_LISTEN) {
			accept_some(ctl);
			continue;
		}
		if (s >= ctl->n_slots || !ctl->ls[s].used || ctl->ls[s].fd < 0)
			continue;
		l = &ctl->ls[s];
		if ((evs[k].events & EPOLLIN) && !read_peer(ctl, l, &budget)) {
			ev_ctl_listener_close(ctl, l, true);
			continue;
		}
		if (evs[k].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) {
			/* Requests it sent before going were read above. */
			ev_ctl_listener_close(ctl, l, true);
			continue;
		}
		if (l->closing)
			ev_ctl_listener_close(ctl, l, false);
	}
	/* A connection that neither subscribes nor dumps holds a slot. */
	for (i = 0; i < ctl->n_slots; i++) {
		struct ev_listener *l = &ctl->ls[i];

		if (conn_idle(ctl, l) && mono > l->connected_ns &&
		    mono - l->connected_ns > (uint64_t)ctl->conf.subscribe_timeout_ms * 1000000u) {
			ctl->st.peers_cut++;
			ev_ctl_note_refusal(ctl, l->uid, l->pid, offsetof(struct ev_refusal, timed_out),
					    "connection closed: no subscribe or dump within "
					    "events.subscribe_timeout_ms");
			ev_ctl_listener_close(ctl, l, false);
		}
	}
}
