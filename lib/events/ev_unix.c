/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The events transport: an AF_UNIX SOCK_SEQPACKET socket (docs/events.md).
 *
 * The socket file is created in a directory only dpct can write, mode
 * 0660 with an optional group, so the file system decides who may connect
 * at all; each accepted connection carries its peer's SO_PEERCRED, with
 * which the control core decides who may subscribe. Nobody else can
 * receive on a connection or send on dpct's behalf.
 *
 * This file moves datagrams only: the control core calls it through
 * ev_unix_ops and learns about connections from what poll() and recv()
 * return.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "ev.h"
#include "ev_unix.h"

#define EP_LISTEN UINT64_MAX
#define EV_UNIX_POLL_MAX 64   /* epoll events taken per poll() */

struct ev_unix {
	char path[EV_SOCKET_PATH_MAX];
	int lfd;             /* the listening socket, -1 for none */
	int ep;              /* epoll over lfd and the watched connections, -1 for none */
	bool bound;          /* we created path: unlink it on free */
};


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

static void
unix_free(void *self)
{
	struct ev_unix *u = self;

	if (u == NULL)
		return;
	if (u->lfd >= 0)
		close(u->lfd);
	if (u->ep >= 0)
		close(u->ep);
	if (u->bound)
		unlink(u->path);
	free(u);
}

static int
listen_at(struct ev_unix *u, const char *path, int64_t gid, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EP_LISTEN };
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
	snprintf(u->path, sizeof(u->path), "%s", path);
	u->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (u->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	/* Born 0660: there is no moment at which others may connect. */
	old = umask(0117);
	rc = bind(u->lfd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0) {
		rc = -errno;
		snprintf(err, errlen, "events.socket %s: bind: %s", path, strerror(errno));
		return rc;
	}
	u->bound = true;
	if (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) < 0) {
		rc = -errno;
		snprintf(err, errlen, "events.socket %s: chown to group %lld: %s", path,
			 (long long)gid, strerror(errno));
		return rc;
	}
	if (chmod(path, 0660) < 0 || listen(u->lfd, 64) < 0) {
		rc = -errno;
		snprintf(err, errlen, "events.socket %s: %s", path, strerror(errno));
		return rc;
	}
	u->ep = epoll_create1(EPOLL_CLOEXEC);
	if (u->ep < 0 || epoll_ctl(u->ep, EPOLL_CTL_ADD, u->lfd, &ev) < 0) {
		rc = -errno;
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return rc;
	}
	return 0;
}

struct ev_unix *
ev_unix_open(const char *path, int64_t gid, char *err, size_t errlen)
{
	struct ev_unix *u = calloc(1, sizeof(*u));

	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->lfd = -1;
	u->ep = -1;
	if (path != NULL && listen_at(u, path, gid, err, errlen) < 0) {
		unix_free(u);
		return NULL;
	}
	return u;
}

static int
unix_fd(const void *self)
{
	return ((const struct ev_unix *)self)->ep;
}

static int
unix_watch(void *self, int conn, uint32_t tag)
{
	struct ev_unix *u = self;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = tag };

	if (u->ep < 0)
		return 0;
	return epoll_ctl(u->ep, EPOLL_CTL_ADD, conn, &ev) < 0 ? -errno : 0;
}

static void
unix_close(void *self, int conn)
{
	struct ev_unix *u = self;

	if (conn < 0)
		return;
	if (u->ep >= 0)
		(void)epoll_ctl(u->ep, EPOLL_CTL_DEL, conn, NULL);
	close(conn);
}

static int
unix_send(void *self, int conn, const struct iovec *iov, unsigned iovcnt)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = iovcnt };
	ssize_t rc;

	(void)self;
	do {
		rc = sendmsg(conn, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

static ssize_t
unix_recv(void *self, int conn, void *buf, size_t cap)
{
	ssize_t n;

	(void)self;
	do {
		/* MSG_TRUNC: the datagram's full length, even past `cap`. */
		n = recv(conn, buf, cap, MSG_DONTWAIT | MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static int
unix_set_sndbuf(void *self, int conn, unsigned bytes)
{
	int v = (int)bytes, got = 0;
	socklen_t sl = sizeof(got);

	(void)self;
	/* The kernel doubles it, as for any socket buffer; AF_UNIX charges
	 * what is queued to the sender, so this is the room the peer has.
	 * SO_SNDBUFFORCE (CAP_NET_ADMIN) passes wmem_max. */
	if (setsockopt(conn, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(conn, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	if (getsockopt(conn, SOL_SOCKET, SO_SNDBUF, &got, &sl) < 0)
		return -errno;
	return got;
}

/* Accept up to `max` connections into `out`: how many. */
static unsigned
accept_some(struct ev_unix *u, struct ev_conn_event *out, unsigned max)
{
	unsigned n = 0;

	while (n < max) {
		struct ev_conn_event *e = &out[n];
		struct ucred cr;
		socklen_t sl = sizeof(cr);
		int fd = accept4(u->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			break;
		memset(e, 0, sizeof(*e));
		e->what = EV_CONN_OPENED;
		e->conn = fd;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) < 0) {
			e->cred_err = -errno;
		} else {
			e->uid = (uint32_t)cr.uid;
			e->gid = (uint32_t)cr.gid;
			e->pid = (uint32_t)cr.pid;
		}
		n++;
	}
	return n;
}

static unsigned
unix_poll(void *self, struct ev_conn_event *out, unsigned max)
{
	struct ev_unix *u = self;
	struct epoll_event evs[EV_UNIX_POLL_MAX];
	unsigned want, n = 0;
	int got, k;

	if (u->ep < 0 || max <= EV_TRANSPORT_ACCEPT_MAX)
		return 0;
	/* Room for the connections one listening event may accept. */
	want = max - EV_TRANSPORT_ACCEPT_MAX;
	if (want > EV_UNIX_POLL_MAX)
		want = EV_UNIX_POLL_MAX;
	got = epoll_wait(u->ep, evs, (int)want, 0);
	for (k = 0; k < got; k++) {
		struct ev_conn_event *e = &out[n];

		if (evs[k].data.u64 == EP_LISTEN) {
			n += accept_some(u, e, EV_TRANSPORT_ACCEPT_MAX);
			continue;
		}
		memset(e, 0, sizeof(*e));
		e->what = EV_CONN_READY;
		e->tag = (uint32_t)evs[k].data.u64;
		e->conn = -1;
		e->readable = (evs[k].events & EPOLLIN) != 0;
		e->hangup = (evs[k].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) != 0;
		n++;
	}
	return n;
}

const struct ev_transport_ops ev_unix_ops = {
	.name = "unix",
	.fd = unix_fd,
	.poll = unix_poll,
	.watch = unix_watch,
	.recv = unix_recv,
	.send = unix_send,
	.set_sndbuf = unix_set_sndbuf,
	.close = unix_close,
	.free = unix_free,
};
