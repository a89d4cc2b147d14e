/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP transport of state sync (docs/ha.md), as conntrackd's TCP
 * channel has it: each box listens on bind:port for the peer's stream
 * (what it receives) and connects to peer:port for its own (what it sends),
 * so there is one stream each way. Messages are written back to back
 * (sync_stream_unit()); with HMAC each batch is a frame with its MAC.
 * Owned by the control core, like the rest of ha.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dpct.h"
#include "ha_priv.h"
#include "sync.h"

#define TCP_BACKOFF_MIN_MS 100
#define TCP_BACKOFF_MAX_MS 5000
#define TCP_RX_READS 64        /* reads per control step */
#define TCP_ACCEPTS 4          /* connections accepted per control step */

static enum sync_stream_mode
tcp_mode(const struct dpct_ha *h)
{
	return h->conf.auth == DPCT_HA_AUTH_HMAC ? SYNC_STREAM_FRAMED : SYNC_STREAM_PLAIN;
}

static void
close_client(struct dpct_ha *h, uint64_t now)
{
	struct dpct_ha_tcp *t = &h->tcp;
	long u;

	if (t->cfd >= 0) {
		close(t->cfd);
		t->cfd = -1;
	}
	if (t->c_connected)
		h->st.tcp_disconnects++;
	t->c_connected = false;
	t->next_try_ns = now + (uint64_t)t->backoff_ms * 1000000ull;
	t->backoff_ms =
		t->backoff_ms * 2 > TCP_BACKOFF_MAX_MS ? TCP_BACKOFF_MAX_MS : t->backoff_ms * 2;
	/* The next stream must begin on a unit: drop the rest of one half sent. */
	if (t->sb_start > t->sb_mark) {
		u = sync_stream_unit(t->sb + t->sb_mark, t->sb_end - t->sb_mark, tcp_mode(h));
		if (u > 0) {
			t->sb_start = t->sb_mark + (size_t)u;
			t->sb_mark = t->sb_start;
			h->st.tcp_tx_dropped++;
		}
	}
}

static void
close_server(struct dpct_ha *h)
{
	struct dpct_ha_tcp *t = &h->tcp;

	if (t->sfd >= 0) {
		close(t->sfd);
		t->sfd = -1;
		h->st.tcp_disconnects++;
	}
	/* The peer closed inside a unit: what it held is lost (FTFW resends). */
	if (t->rb_len > 0)
		h->st.tcp_rx_truncated++;
	t->rb_len = 0;
}

static int
addr_of(const char *s, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(s, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (s[0] != '\0' && inet_pton(AF_INET6, s, &a->sin6_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (s[0] != '\0' && inet_pton(AF_INET, s, &a->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a);
	}
	return 0;
}

static int
tcp_sock(const struct dpct_ha *h, int family)
{
	int fd, one = 1, bufsz = 8 << 20;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (h->conf.interface[0] != '\0' &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, h->conf.interface,
		       (socklen_t)strlen(h->conf.interface)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Start a connection to the peer; it completes in a later step. */
static void
try_connect(struct dpct_ha *h, uint64_t now)
{
	struct dpct_ha_tcp *t = &h->tcp;
	struct sockaddr_storage src;
	socklen_t slen;
	int fd;

	if (now < t->next_try_ns)
		return;
	fd = tcp_sock(h, h->peer.ss_family);
	if (fd < 0) {
		h->st.tcp_connect_errors++;
		close_client(h, now);
		return;
	}
	/* From the bind address: the peer accepts its peer's address only. */
	if (h->conf.bind[0] != '\0' && addr_of(h->conf.bind, 0, &src, &slen) == 0 &&
	    bind(fd, (struct sockaddr *)&src, slen) < 0) {
		h->st.tcp_connect_errors++;
		close(fd);
		close_client(h, now);
		return;
	}
	t->cfd = fd;
	if (connect(fd, (const struct sockaddr *)&h->peer, h->peer_len) == 0) {
		t->c_connected = true;
		h->st.tcp_connects++;
		t->backoff_ms = TCP_BACKOFF_MIN_MS;
	} else if (errno != EINPROGRESS) {
		h->st.tcp_connect_errors++;
		close_client(h, now);
	}
}

/* A connection under way is writable: done or failed. */
static void
check_connect(struct dpct_ha *h, uint64_t now)
{
	struct dpct_ha_tcp *t = &h->tcp;
	socklen_t l = sizeof(int);
	int err = 0;

	if (getsockopt(t->cfd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err != 0) {
		h->st.tcp_connect_errors++;
		close_client(h, now);
		return;
	}
	t->c_connected = true;
	h->st.tcp_connects++;
	t->backoff_ms = TCP_BACKOFF_MIN_MS;
}

/* Write what the buffer holds, as much as the stream takes. */
static void
write_out(struct dpct_ha *h, uint64_t now)
{
	struct dpct_ha_tcp *t = &h->tcp;
	enum sync_stream_mode mode = tcp_mode(h);

	while (t->c_connected && t->sb_end > t->sb_start) {
		ssize_t n = send(t->cfd, t->sb + t->sb_start, t->sb_end - t->sb_start,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			h->st.tx_errors++;
			close_client(h, now);
			break;
		}
		t->sb_start += (size_t)n;
		h->st.tx_bytes += (uint64_t)n;
		/* Keep sb_mark on the unit that holds sb_start. */
		while (t->sb_mark < t->sb_start) {
			long u = sync_stream_unit(t->sb + t->sb_mark, t->sb_end - t->sb_mark,
						  mode);

			if (u <= 0 || t->sb_mark + (size_t)u > t->sb_start)
				break;
			t->sb_mark += (size_t)u;
		}
	}
	if (t->sb_start == t->sb_end)
		t->sb_start = t->sb_end = t->sb_mark = 0;
}

/* The peer's end of our stream: it sends nothing on it, so readable means closed
 * (or, from another implementation, bytes that are dropped). */
static void
check_client(struct dpct_ha *h, uint64_t now)
{
	uint8_t b[256];
	ssize_t n;

	n = recv(h->tcp.cfd, b, sizeof(b), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		close_client(h, now);
}

void
dpct_ha_tcp_send(struct dpct_ha *h, const uint8_t *msgs, size_t len)
{
	struct dpct_ha_tcp *t = &h->tcp;
	bool framed = tcp_mode(h) == SYNC_STREAM_FRAMED;
	size_t need = len + (framed ? SYNC_FRAME_HDR + SYNC_MAC_LEN : 0);
	uint8_t *p;

	if (t->sb_cap - t->sb_end < need && t->sb_start > 0) {
		memmove(t->sb, t->sb + t->sb_start, t->sb_end - t->sb_start);
		t->sb_end -= t->sb_start;
		t->sb_mark -= t->sb_start;
		t->sb_start = 0;
	}
	if (t->sb_cap - t->sb_end < need) {
		/* Left to FTFW: the peer NACKs the gap, the store resends. */
		h->st.tcp_tx_dropped++;
		return;
	}
	p = t->sb + t->sb_end;
	if (framed) {
		p[0] = (uint8_t)(len >> 8);
		p[1] = (uint8_t)len;
		memcpy(p + SYNC_FRAME_HDR, msgs, len);
		sync_hmac_sha256((const uint8_t *)h->conf.secret, strlen(h->conf.secret), p,
				 SYNC_FRAME_HDR + len, p + SYNC_FRAME_HDR + len);
	} else {
		memcpy(p, msgs, len);
	}
	t->sb_end += need;
	h->st.tx_datagrams++;
	write_out(h, dpct_ha_mono_ns());
}

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static void
accept_peer(struct dpct_ha *h)
{
	struct dpct_ha_tcp *t = &h->tcp;
	unsigned k;

	for (k = 0; k < TCP_ACCEPTS; k++) {
		struct sockaddr_storage src;
		socklen_t slen = sizeof(src);
		int fd = accept4(t->lfd, (struct sockaddr *)&src, &slen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				h->st.rx_errors++;
			return;
		}
		if (!same_addr(&src, &h->peer)) {
			h->st.rx_wrong_peer++;
			close(fd);
			continue;
		}
		/* The peer reconnected (as conntrackd's server does: the new one wins). */
		close_server(h);
		t->sfd = fd;
		h->st.tcp_accepts++;
	}
}

/* Cut what arrived into units and hand each over; false when the stream is bad. */
static bool
take_units(struct dpct_ha *h)
{
	struct dpct_ha_tcp *t = &h->tcp;
	enum sync_stream_mode mode = tcp_mode(h);
	size_t off = 0;

	for (;;) {
		long u = sync_stream_unit(t->rb + off, t->rb_len - off, mode);
		const uint8_t *p = t->rb + off;

		if (u < 0) {
			h->st.tcp_rx_bad_stream++;
			t->rb_len = 0;
			return false;
		}
		if (u == 0)
			break;
		off += (size_t)u;
		h->st.rx_datagrams++;
		if (mode == SYNC_STREAM_FRAMED) {
			int l = sync_auth_verify((const uint8_t *)h->conf.secret,
						 strlen(h->conf.secret), p, (size_t)u);

			if (l < 0) {
				h->st.rx_bad_auth++;
				continue;
			}
			dpct_ha_rx_payload(h, p + SYNC_FRAME_HDR, (size_t)l - SYNC_FRAME_HDR);
		} else {
			dpct_ha_rx_payload(h, p, (size_t)u);
		}
	}
	memmove(t->rb, t->rb + off, t->rb_len - off);
	t->rb_len -= off;
	return true;
}

static void
read_peer(struct dpct_ha *h)
{
	struct dpct_ha_tcp *t = &h->tcp;
	unsigned k;

	for (k = 0; k < TCP_RX_READS && t->sfd >= 0; k++) {
		ssize_t n = recv(t->sfd, t->rb + t->rb_len, SYNC_STREAM_UNIT_MAX - t->rb_len,
				 MSG_DONTWAIT);

		if (n == 0) {
			close_server(h);
			break;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			h->st.rx_errors++;
			close_server(h);
			break;
		}
		h->st.rx_bytes += (uint64_t)n;
		t->rb_len += (size_t)n;
		if (!take_units(h)) {
			close(t->sfd);
			t->sfd = -1;
			h->st.tcp_disconnects++;
		}
	}
}

/* One poll() a control step: the sockets with something to do are handled. */
void
dpct_ha_tcp_step(struct dpct_ha *h)
{
	struct dpct_ha_tcp *t = &h->tcp;
	uint64_t now = dpct_ha_mono_ns();
	struct pollfd p[3] = {
		{ .fd = t->lfd, .events = POLLIN },
		{ .fd = t->sfd, .events = POLLIN },
		{ .fd = t->cfd, .events = t->c_connected ? POLLIN : POLLOUT },
	};

	if (t->cfd < 0)
		try_connect(h, now);
	p[2].fd = t->cfd;
	if (poll(p, 3, 0) < 0)
		return;
	if (p[2].fd >= 0 && p[2].fd == t->cfd && p[2].revents != 0) {
		if (!t->c_connected)
			check_connect(h, now);
		else
			check_client(h, now);
	}
	if (t->sb_end > t->sb_start)
		write_out(h, now);
	if (p[0].revents != 0)
		accept_peer(h);
	if (p[1].revents != 0 || (t->sfd >= 0 && t->sfd != p[1].fd))
		read_peer(h);
}

int
dpct_ha_tcp_open(struct dpct_ha *h)
{
	struct dpct_ha_tcp *t = &h->tcp;
	struct sockaddr_storage local;
	socklen_t llen;
	int fd, rc;

	t->lfd = t->sfd = t->cfd = -1;
	t->backoff_ms = TCP_BACKOFF_MIN_MS;
	t->sb_cap = h->conf.tcp_buffer;
	t->sb = malloc(t->sb_cap);
	t->rb = malloc(SYNC_STREAM_UNIT_MAX);
	if (t->sb == NULL || t->rb == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* Listen on the peer's family: any address of it unless bind is set. */
	rc = addr_of(h->conf.bind[0] != '\0' ? h->conf.bind :
		     (h->peer.ss_family == AF_INET6 ? "::" : "0.0.0.0"),
		     h->conf.port, &local, &llen);
	if (rc < 0)
		goto out;
	fd = tcp_sock(h, h->peer.ss_family);
	if (fd < 0) {
		rc = fd;
		DPCT_LOG(ERR, "ha.interface %s: %s\n", h->conf.interface, strerror(-rc));
		goto out;
	}
	t->lfd = fd;
	if (bind(fd, (struct sockaddr *)&local, llen) < 0 || listen(fd, 4) < 0) {
		rc = -errno;
		DPCT_LOG(ERR, "ha: cannot listen on %s port %u: %s\n",
			 h->conf.bind[0] != '\0' ? h->conf.bind : "any", h->conf.port,
			 strerror(-rc));
		goto out;
	}
	return 0;
out:
	dpct_ha_tcp_close(h);
	return rc;
}

void
dpct_ha_tcp_close(struct dpct_ha *h)
{
	struct dpct_ha_tcp *t = &h->tcp;

	if (t->lfd >= 0)
		close(t->lfd);
	if (t->sfd >= 0)
		close(t->sfd);
	if (t->cfd >= 0)
		close(t->cfd);
	t->lfd = t->sfd = t->cfd = -1;
	t->c_connected = false;
	free(t->sb);
	free(t->rb);
	t->sb = t->rb = NULL;
}

void
dpct_ha_tcp_json(struct dpct_ha *h, json_t *o)
{
	const struct dpct_ha_tcp *t = &h->tcp;

	json_object_set_new(o, "tcp_client_connected", json_boolean(t->c_connected));
	json_object_set_new(o, "tcp_server_connected", json_boolean(t->sfd >= 0));
	json_object_set_new(o, "tcp_tx_buffered",
			    json_integer((json_int_t)(t->sb_end - t->sb_start)));
}
