/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exporter's TCP transport (RFC 7011 §10.4): a non-blocking connection
 * made and remade with exponential backoff, the templates that open each
 * connection, and the ring of closed messages. Bytes stay in the ring until
 * the peer's TCP has acknowledged them (the send queue's SIOCOUTQ tells how
 * many are still unacknowledged), so after a broken connection the
 * unacknowledged messages go out again, whole, after the templates of the
 * new connection. TCP is never paced: the collector's receive window is
 * its flow control.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "ev_ipfix_priv.h"

/* Drop the messages the peer's TCP has acknowledged. */
static void
ring_trim(struct ev_ipfix *x)
{
	uint64_t written_ring, acked;
	int outq = 0;

	if (x->state != ST_UP || ioctl(x->fd, SIOCOUTQ, &outq) < 0 || outq < 0)
		return;
	if ((uint64_t)outq > x->conn_written)
		return;
	acked = x->conn_written - (uint64_t)outq;
	if (acked <= x->pre_len)
		return;
	written_ring = acked - x->pre_len;
	while (x->r_tail < x->r_sent) {
		uint16_t mlen = ring_get16(x, x->r_tail + 2);

		if (mlen < EV_IPFIX_HDR_LEN || x->r_tail + mlen > x->conn_base + written_ring)
			break;
		x->r_tail += mlen;
	}
}

static void
tcp_down(struct ev_ipfix *x, int err, uint64_t mono)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	if (x->state == ST_UP)
		ipfix_log(x, LOG_WARNING, "connection lost (%s); %llu bytes to send again\n",
			  strerror(err), (unsigned long long)(x->r_head - x->r_tail));
	else
		ipfix_log(x, LOG_WARNING, "connect failed (%s); retry in %u ms\n", strerror(err),
		     x->backoff_ms);
	if (x->state != ST_UP)
		x->st.connect_failures++;
	x->state = ST_DOWN;
	x->st.connected = false;
	x->next_try = mono + (uint64_t)x->backoff_ms * NS_PER_MS;
	x->backoff_ms = x->backoff_ms * 2 > x->conf.reconnect_max_ms ? x->conf.reconnect_max_ms :
								       x->backoff_ms * 2;
	/* Everything not acknowledged goes out again, from a message start. */
	x->r_sent = x->r_tail;
}

static void
tcp_up(struct ev_ipfix *x)
{
	int one = 1;

	(void)setsockopt(x->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (x->ever_up)
		x->st.reconnects++;
	x->ever_up = true;
	x->state = ST_UP;
	x->st.connected = true;
	x->backoff_ms = x->conf.reconnect_min_ms;
	x->pre_len = ipfix_template_message(x, x->pre, sizeof(x->pre));
	x->pre_off = 0;
	x->conn_written = 0;
	x->conn_base = x->r_tail;
	x->r_sent = x->r_tail;
	x->st.resent_bytes += x->r_head - x->r_tail;
	x->st.templates_sent++;
	ipfix_log(x, LOG_NOTICE, "connected%s\n",
		  x->r_head != x->r_tail ? ", sending again what was not acknowledged" : "");
}

static void
tcp_connect(struct ev_ipfix *x, uint64_t mono)
{
	int rc;

	x->fd = socket(x->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		tcp_down(x, errno, mono);
		return;
	}
	if (x->conf.sndbuf != 0)
		(void)setsockopt(x->fd, SOL_SOCKET, SO_SNDBUF, &x->conf.sndbuf,
				 sizeof(x->conf.sndbuf));
	rc = connect(x->fd, (struct sockaddr *)&x->addr, x->alen);
	if (rc == 0) {
		tcp_up(x);
	} else if (errno == EINPROGRESS) {
		x->state = ST_CONNECTING;
	} else {
		tcp_down(x, errno, mono);
	}
}

static void
tcp_check_connect(struct ev_ipfix *x, uint64_t mono)
{
	struct pollfd p = { .fd = x->fd, .events = POLLOUT };
	int err = 0;
	socklen_t el = sizeof(err);

	if (poll(&p, 1, 0) <= 0)
		return;
	if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err != 0)
		tcp_down(x, err, mono);
	else
		tcp_up(x);
}

/* Write what the socket takes: the templates of this connection, then the ring. */
void
ipfix_tcp_write(struct ev_ipfix *x, uint64_t mono)
{
	ssize_t n;

	if (x->state != ST_UP)
		return;
	while (x->pre_off < x->pre_len) {
		n = send(x->fd, x->pre + x->pre_off, x->pre_len - x->pre_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				x->st.send_errors++;
				tcp_down(x, errno, mono);
			}
			return;
		}
		x->pre_off += (size_t)n;
		x->conn_written += (uint64_t)n;
		x->st.bytes += (uint64_t)n;
	}
	while (x->r_sent < x->r_head) {
		size_t at = (size_t)(x->r_sent % x->cap), len = (size_t)(x->r_head - x->r_sent);

		if (len > x->cap - at)
			len = x->cap - at;
		n = send(x->fd, x->ring + at, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				x->st.send_errors++;
				tcp_down(x, errno, mono);
			}
			break;
		}
		x->r_sent += (uint64_t)n;
		x->conn_written += (uint64_t)n;
		x->st.bytes += (uint64_t)n;
	}
	ring_trim(x);
}

/* A peer that closed its end (or reset it) is noticed even while idle. */
static void
tcp_check_peer(struct ev_ipfix *x, uint64_t mono)
{
	uint8_t b[512];
	ssize_t n;
	unsigned i;

	for (i = 0; i < 4; i++) {
		n = recv(x->fd, b, sizeof(b), MSG_DONTWAIT);
		if (n > 0)
			continue; /* collectors send nothing; discard */
		if (n == 0) {
			tcp_down(x, ECONNRESET, mono);
			return;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			tcp_down(x, errno, mono);
		return;
	}
}

/* Connect when due, notice a connect that finished or a peer that went away. */
void
ipfix_tcp_poll(struct ev_ipfix *x, uint64_t mono)
{
	if (x->state == ST_DOWN && mono >= x->next_try)
		tcp_connect(x, mono);
	else if (x->state == ST_CONNECTING)
		tcp_check_connect(x, mono);
	if (x->state == ST_UP)
		tcp_check_peer(x, mono);
}
