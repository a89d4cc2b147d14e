/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The AF_UNIX transport on its own, through struct ev_transport_ops: this
 * program links ev_unix.c without the rest of lib/events, so it also shows
 * that the transport calls nothing of the control core. Covered: the
 * socket file, a live socket refused and a stale one replaced, accepted
 * connections with their credentials (at most EV_TRANSPORT_ACCEPT_MAX per
 * poll), READY with the watch tag, datagrams in and out (a long one
 * reported at its full length), a full connection, hang-ups both ways, and
 * the transport without a socket. Every socket lives in a fresh temp
 * directory.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "dpct_test.h"
#include "ev_unix.h"

static char dir[64];
static char path[100];

static const struct ev_transport_ops *ops = &ev_unix_ops;

static void
fresh_path(void)
{
	snprintf(dir, sizeof(dir), "/tmp/dpct_evu_XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
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
client(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Open the transport at `path` and accept one client: the connection. */
static int
open_and_accept(struct ev_unix **u, int *cl)
{
	struct ev_conn_event ev[16];
	char err[256] = "";

	*u = ev_unix_open(path, -1, err, sizeof(err));
	if (*u == NULL) {
		fprintf(stderr, "# %s\n", err);
		return -1;
	}
	*cl = client();
	if (*cl < 0 || ops->poll(*u, ev, 16) != 1 || ev[0].what != EV_CONN_OPENED)
		return -1;
	return ev[0].conn;
}

static int
test_socket_file_and_credentials(void)
{
	struct ev_conn_event ev[16];
	struct ev_unix *u;
	struct stat st;
	char err[256] = "";
	int cl;

	fresh_path();
	u = ev_unix_open(path, -1, err, sizeof(err));
	T_ASSERT(u != NULL);
	T_ASSERT(ops->fd(u) >= 0);
	T_EQ(lstat(path, &st), 0);
	T_ASSERT(S_ISSOCK(st.st_mode));
	T_EQ(st.st_mode & 0777, 0660);
	T_EQ(ops->poll(u, ev, 16), 0u);
	cl = client();
	T_ASSERT(cl >= 0);
	T_EQ(ops->poll(u, ev, 16), 1u);
	T_EQ(ev[0].what, EV_CONN_OPENED);
	T_EQ(ev[0].cred_err, 0);
	T_ASSERT(ev[0].conn >= 0);
	T_UEQ(ev[0].uid, getuid());
	T_UEQ(ev[0].gid, getgid());
	T_UEQ(ev[0].pid, (unsigned)getpid());
	ops->close(u, ev[0].conn);
	close(cl);
	ops->free(u);
	T_NE(lstat(path, &st), 0);
	cleanup();
	return 0;
}

static int
test_live_refused_stale_replaced(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ev_unix *u, *u2;
	char err[256] = "";
	int fd;

	T_ASSERT(ev_unix_open("relative.sock", -1, err, sizeof(err)) == NULL);
	T_ASSERT(strstr(err, "must be an absolute path") != NULL);
	fresh_path();
	u = ev_unix_open(path, -1, err, sizeof(err));
	T_ASSERT(u != NULL);
	err[0] = '\0';
	u2 = ev_unix_open(path, -1, err, sizeof(err));
	T_ASSERT(u2 == NULL);
	T_ASSERT(strstr(err, "served by a running process") != NULL);
	ops->free(u);
	/* A socket file nobody listens on: what a killed dpct leaves. */
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	T_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	u = ev_unix_open(path, -1, err, sizeof(err));
	T_ASSERT(u != NULL);
	ops->free(u);
	cleanup();
	return 0;
}

static int
test_accept_at_most_eight_per_poll(void)
{
	struct ev_conn_event ev[64];
	int cl[EV_TRANSPORT_ACCEPT_MAX + 2];
	struct ev_unix *u;
	char err[256] = "";
	unsigned i, n;

	fresh_path();
	u = ev_unix_open(path, -1, err, sizeof(err));
	T_ASSERT(u != NULL);
	for (i = 0; i < EV_TRANSPORT_ACCEPT_MAX + 2; i++) {
		cl[i] = client();
		T_ASSERT(cl[i] >= 0);
	}
	/* No room for what one listening event may accept: nothing taken. */
	T_EQ(ops->poll(u, ev, EV_TRANSPORT_ACCEPT_MAX), 0u);
	n = ops->poll(u, ev, 64);
	T_EQ(n, EV_TRANSPORT_ACCEPT_MAX);
	for (i = 0; i < n; i++) {
		T_EQ(ev[i].what, EV_CONN_OPENED);
		ops->close(u, ev[i].conn);
	}
	n = ops->poll(u, ev, 64);
	T_EQ(n, 2u);
	for (i = 0; i < n; i++)
		ops->close(u, ev[i].conn);
	for (i = 0; i < EV_TRANSPORT_ACCEPT_MAX + 2; i++)
		close(cl[i]);
	ops->free(u);
	cleanup();
	return 0;
}

static int
test_datagrams(void)
{
	static uint8_t big[5000], buf[4096];
	static char abc[] = "abc", defg[] = "defg";
	struct iovec iov[2] = { { abc, 3 }, { defg, 4 } };
	struct ev_conn_event ev[16];
	struct ev_unix *u;
	int conn, cl;
	ssize_t n;

	fresh_path();
	conn = open_and_accept(&u, &cl);
	T_ASSERT(conn >= 0);
	T_EQ(ops->watch(u, conn, 7), 0);
	T_EQ(ops->poll(u, ev, 16), 0u);
	T_EQ(send(cl, "hello", 5, 0), 5);
	T_EQ(ops->poll(u, ev, 16), 1u);
	T_EQ(ev[0].what, EV_CONN_READY);
	T_UEQ(ev[0].tag, 7u);
	T_ASSERT(ev[0].readable);
	T_ASSERT(!ev[0].hangup);
	T_EQ(ops->recv(u, conn, buf, sizeof(buf)), 5);
	T_MEMEQ(buf, "hello", 5);
	T_EQ(ops->recv(u, conn, buf, sizeof(buf)), -EAGAIN);
	/* Longer than the buffer: its full length, so the caller can refuse it. */
	memset(big, 0x5a, sizeof(big));
	T_EQ(send(cl, big, sizeof(big), 0), (ssize_t)sizeof(big));
	T_EQ(ops->recv(u, conn, buf, sizeof(buf)), (ssize_t)sizeof(big));
	T_EQ(buf[sizeof(buf) - 1], 0x5a);
	/* One datagram gathered from the iovecs. */
	T_EQ(ops->send(u, conn, iov, 2), 0);
	n = recv(cl, buf, sizeof(buf), MSG_DONTWAIT);
	T_EQ(n, 7);
	T_MEMEQ(buf, "abcdefg", 7);
	T_ASSERT(ops->set_sndbuf(u, conn, 8192) >= 8192);
	ops->close(u, conn);
	close(cl);
	ops->free(u);
	cleanup();
	return 0;
}

static int
test_full_connection(void)
{
	static uint8_t msg[1000];
	struct iovec iov = { msg, sizeof(msg) };
	struct ev_unix *u;
	int conn, cl, rc = 0;
	unsigned i;

	fresh_path();
	conn = open_and_accept(&u, &cl);
	T_ASSERT(conn >= 0);
	T_ASSERT(ops->set_sndbuf(u, conn, 4096) > 0);
	/* The client reads nothing: the connection fills up. */
	for (i = 0; i < 10000 && rc == 0; i++)
		rc = ops->send(u, conn, &iov, 1);
	T_EQ(rc, -EAGAIN);
	ops->close(u, conn);
	close(cl);
	ops->free(u);
	cleanup();
	return 0;
}

static int
test_hangups(void)
{
	static char x[] = "x";
	struct iovec iov = { x, 1 };
	struct ev_conn_event ev[16];
	struct ev_unix *u;
	uint8_t buf[64];
	int conn, cl;

	fresh_path();
	conn = open_and_accept(&u, &cl);
	T_ASSERT(conn >= 0);
	T_EQ(ops->watch(u, conn, 3), 0);
	/* The peer goes: READY with hangup, end of stream, sends fail. */
	close(cl);
	T_EQ(ops->poll(u, ev, 16), 1u);
	T_UEQ(ev[0].tag, 3u);
	T_ASSERT(ev[0].hangup);
	T_EQ(ops->recv(u, conn, buf, sizeof(buf)), 0);
	T_EQ(ops->send(u, conn, &iov, 1), -EPIPE);
	ops->close(u, conn);
	/* The transport closes: the peer sees the end of stream. */
	conn = -1;
	cl = client();
	T_ASSERT(cl >= 0);
	T_EQ(ops->poll(u, ev, 16), 1u);
	conn = ev[0].conn;
	T_EQ(ops->watch(u, conn, 4), 0);
	ops->close(u, conn);
	T_EQ(recv(cl, buf, sizeof(buf), MSG_DONTWAIT), 0);
	T_EQ(ops->poll(u, ev, 16), 0u);
	close(cl);
	ops->free(u);
	cleanup();
	return 0;
}

static int
test_without_socket(void)
{
	static char ping[] = "ping";
	struct iovec iov = { ping, 4 };
	struct ev_conn_event ev[16];
	struct ev_unix *u;
	uint8_t buf[16];
	char err[64] = "";
	int sp[2];

	u = ev_unix_open(NULL, -1, err, sizeof(err));
	T_ASSERT(u != NULL);
	T_EQ(ops->fd(u), -1);
	T_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sp), 0);
	T_EQ(ops->watch(u, sp[0], 1), 0);
	T_EQ(send(sp[1], "pong", 4, 0), 4);
	T_EQ(ops->poll(u, ev, 16), 0u);
	T_EQ(ops->recv(u, sp[0], buf, sizeof(buf)), 4);
	T_EQ(ops->send(u, sp[0], &iov, 1), 0);
	T_EQ(recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT), 4);
	T_MEMEQ(buf, "ping", 4);
	ops->close(u, sp[0]);
	close(sp[1]);
	ops->free(u);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_socket_file_and_credentials),
	T_CASE(test_live_refused_stale_replaced),
	T_CASE(test_accept_at_most_eight_per_poll),
	T_CASE(test_datagrams),
	T_CASE(test_full_connection),
	T_CASE(test_hangups),
	T_CASE(test_without_socket),
};

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return t_run(cases, sizeof(cases) / sizeof(cases[0]));
}
