/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tel.h"

uint64_t
tel_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
tel_init(struct tel *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (strlen(path) >= sizeof(t->path))
		return -ENAMETOOLONG;
	snprintf(t->path, sizeof(t->path), "%s", path);
	return 0;
}

static void
tel_disconnect(struct tel *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	free(t->rx);
	t->rx = NULL;
	t->cap = 0;
}

void
tel_close(struct tel *t)
{
	tel_disconnect(t);
}

static int
fail(struct tel *t, int rc, const char *fmt, const char *a, const char *b)
{
	snprintf(t->err, sizeof(t->err), fmt, a, b);
	if (rc != -ENOENT && rc != -EINVAL)
		tel_disconnect(t);
	return rc;
}

/*
 * One packet into buf (cap bytes) before the deadline. Returns its length,
 * or -ETIMEDOUT, -ECONNRESET (closed), -EMSGSIZE (longer than cap) or -errno.
 */
static ssize_t
recv_packet(int fd, char *buf, size_t cap, uint64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint64_t now;
	ssize_t n;
	int rc;

	for (;;) {
		now = tel_now_ms();
		if (now >= deadline_ms)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)(deadline_ms - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		return n;
	}
}

static int
tel_connect(struct tel *t, uint64_t deadline_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char greet[4096];
	json_error_t jerr;
	json_t *root, *mol;
	json_int_t max;
	ssize_t n;

	t->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (t->fd < 0)
		return fail(t, -errno, "socket: %s%s", strerror(errno), "");
	memcpy(sa.sun_path, t->path, strlen(t->path) + 1);
	if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		return fail(t, -e, "%s: %s (is dpct running with this file prefix?)", t->path,
			    strerror(e));
	}
	n = recv_packet(t->fd, greet, sizeof(greet) - 1, deadline_ms);
	if (n < 0)
		return fail(t, (int)n, "%s: no greeting: %s", t->path, strerror((int)-n));
	greet[n] = '\0';
	root = json_loadb(greet, (size_t)n, 0, &jerr);
	mol = json_object_get(root, "max_output_len");
	if (root == NULL || !json_is_integer(mol)) {
		json_decref(root);
		return fail(t, -EPROTO, "%s: the greeting is not DPDK telemetry v2 JSON (%s)",
			    t->path, root == NULL ? jerr.text : "no max_output_len");
	}
	max = json_integer_value(mol);
	json_decref(root);
	if (max < (json_int_t)TEL_REPLY_MIN)
		max = TEL_REPLY_MIN;
	if (max > (json_int_t)TEL_REPLY_MAX)
		max = TEL_REPLY_MAX;
	/* One byte more than a reply may have: a packet that fills it is too long. */
	t->cap = (size_t)max + 1;
	t->rx = malloc(t->cap);
	if (t->rx == NULL)
		return fail(t, -ENOMEM, "%s: %s", t->path, strerror(ENOMEM));
	t->connects++;
	return 0;
}

int
tel_cmd(struct tel *t, const char *cmd, uint64_t deadline_ms, json_t **value)
{
	char key[64];
	json_error_t jerr;
	json_t *root, *v, *msg;
	ssize_t n;
	int rc;

	*value = NULL;
	if (t->fd < 0) {
		rc = tel_connect(t, deadline_ms);
		if (rc < 0)
			return rc;
	}
	if (send(t->fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0) {
		int e = errno;

		return fail(t, e == EPIPE ? -ECONNRESET : -e, "%s: send: %s", cmd, strerror(e));
	}
	n = recv_packet(t->fd, t->rx, t->cap, deadline_ms);
	if (n == -EMSGSIZE || n == (ssize_t)t->cap) {
		char lim[32];

		snprintf(lim, sizeof(lim), "%zu", t->cap - 1);
		return fail(t, -EMSGSIZE, "%s: reply longer than %s bytes", cmd, lim);
	}
	if (n == -ETIMEDOUT)
		return fail(t, (int)n, "%s: %s", cmd, "no reply within the scrape's timeout");
	if (n == -ECONNRESET)
		return fail(t, (int)n, "%s: %s", cmd, "dpct closed the connection");
	if (n < 0)
		return fail(t, (int)n, "%s: %s", cmd, strerror((int)-n));
	root = json_loadb(t->rx, (size_t)n, 0, &jerr);
	if (root == NULL)
		return fail(t, -EPROTO, "%s: reply is not JSON: %s", cmd, jerr.text);
	snprintf(key, sizeof(key), "%.*s", (int)strcspn(cmd, ","), cmd);
	v = json_object_get(root, key);
	if (!json_is_object(root) || v == NULL) {
		json_decref(root);
		return fail(t, -EPROTO, "%s: reply does not answer %s", cmd, key);
	}
	if (json_is_null(v)) {
		json_decref(root);
		return fail(t, -ENOENT, "%s: %s", cmd, "no value (unknown command or refused)");
	}
	msg = json_object_get(v, "errmsg");
	if (json_is_string(msg)) {
		/* dpct's messages begin with the command already. */
		if (strncmp(json_string_value(msg), key, strlen(key)) == 0)
			snprintf(t->err, sizeof(t->err), "%s", json_string_value(msg));
		else
			snprintf(t->err, sizeof(t->err), "%s: %s", cmd, json_string_value(msg));
		json_decref(root);
		return -EINVAL;
	}
	json_incref(v);
	json_decref(root);
	*value = v;
	return 0;
}
