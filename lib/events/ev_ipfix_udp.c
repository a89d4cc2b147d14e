/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exporter's UDP transport: one datagram per message, from an
 * unconnected non-blocking socket, and its pacing.
 *
 * Without pacing a message is sent when it is closed. With pacing (a
 * max_rate_pps or max_rate_bps on the collector) it is sent when both token
 * buckets allow it: one token of the message bucket and its length in the
 * byte bucket. Until then it waits, whole, in the ring (buffer_bytes),
 * oldest first, each message after a 2-byte count of its data records. The
 * control core's poll() and deliver() send what the buckets allow; nothing
 * waits inside a call. A full ring drops its oldest messages to take the
 * new one: a collector that falls behind gets the newest flows, and the
 * dropped sequence numbers show it the gap. A socket that refuses a
 * datagram for want of buffer (EAGAIN, ENOBUFS) leaves it queued for the
 * next call.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <syslog.h>

#include "ev_ipfix_priv.h"

#define NS_PER_S     UINT64_C(1000000000)
#define BUCKET_RATE_MAX  UINT64_C(1000000000000)
#define BUCKET_DEPTH_MAX UINT64_C(1000000000)
#define LEVEL_FLOOR  (-INT64_C(1000000000000000000))
#define QHDR 2 /* the record count before each queued message */
#define ERR_LOG_NS (10 * 1000 * NS_PER_MS)

/* ------------------------------------------------------------------------ */
/* Token bucket                                                              */

int
ev_ipfix_bucket_init(struct ev_ipfix_bucket *b, uint64_t rate, uint64_t depth, uint64_t now)
{
	if (rate > BUCKET_RATE_MAX || depth > BUCKET_DEPTH_MAX)
		return -EINVAL;
	b->rate = rate;
	b->depth = depth == 0 ? 1 : depth;
	b->level = (int64_t)(b->depth * NS_PER_S);
	b->last = now;
	return 0;
}

/* The level is in billionths of a token and the rate in tokens per second,
 * so a nanosecond adds exactly `rate` to the level. */
static void
bucket_refill(struct ev_ipfix_bucket *b, uint64_t now)
{
	int64_t full = (int64_t)(b->depth * NS_PER_S);
	uint64_t dt, room;

	if (now <= b->last)
		return;
	dt = now - b->last;
	b->last = now;
	if (b->level >= full)
		return;
	room = (uint64_t)(full - b->level);
	/* dt <= room / rate keeps dt * rate <= room: no overflow. */
	if (dt > room / b->rate)
		b->level = full;
	else
		b->level += (int64_t)(dt * b->rate);
}

static inline uint64_t
bucket_need(const struct ev_ipfix_bucket *b, uint64_t cost)
{
	return (cost > b->depth ? b->depth : cost) * NS_PER_S;
}

bool
ev_ipfix_bucket_ready(struct ev_ipfix_bucket *b, uint64_t cost, uint64_t now)
{
	if (b->rate == 0)
		return true;
	bucket_refill(b, now);
	return b->level >= (int64_t)bucket_need(b, cost);
}

void
ev_ipfix_bucket_take(struct ev_ipfix_bucket *b, uint64_t cost)
{
	if (b->rate == 0)
		return;
	if (cost > BUCKET_DEPTH_MAX)
		cost = BUCKET_DEPTH_MAX;
	b->level -= (int64_t)(cost * NS_PER_S);
	if (b->level < LEVEL_FLOOR)
		b->level = LEVEL_FLOOR;
}

uint64_t
ev_ipfix_bucket_wait_ns(struct ev_ipfix_bucket *b, uint64_t cost, uint64_t now)
{
	uint64_t need;

	if (ev_ipfix_bucket_ready(b, cost, now))
		return 0;
	need = (uint64_t)((int64_t)bucket_need(b, cost) - b->level);
	return (need + b->rate - 1) / b->rate;
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                   */

/* One datagram: 0 sent; -EAGAIN the socket has no room now (ENOBUFS too);
 * another -errno, or -EMSGSIZE for a short write, for a datagram lost. */
static int
udp_sendv(struct ev_ipfix *x, struct iovec *iov, unsigned iovcnt, size_t len)
{
	struct msghdr mh = {
		.msg_name = &x->addr,
		.msg_namelen = x->alen,
		.msg_iov = iov,
		.msg_iovlen = iovcnt,
	};
	ssize_t n;

	do {
		n = sendmsg(x->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		x->st.bytes += len;
		return 0;
	}
	if (n >= 0)
		return -EMSGSIZE;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return -EAGAIN;
	return -errno;
}

static void
udp_lost(struct ev_ipfix *x, int err, unsigned records, uint64_t mono)
{
	x->st.send_errors++;
	x->st.records_lost += records;
	/* ENETUNREACH, EHOSTUNREACH (no route), ENOBUFS/EAGAIN (queue full). */
	if (mono - x->last_err_log >= ERR_LOG_NS || x->last_err_log == 0) {
		x->last_err_log = mono;
		ipfix_log(x, LOG_WARNING, "send failed (%s); %llu records lost so far\n",
			  err == -EMSGSIZE ? "short write" : strerror(-err),
			  (unsigned long long)x->st.records_lost);
	}
}

static void
udp_send(struct ev_ipfix *x, const uint8_t *buf, size_t len, unsigned records, uint64_t mono)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	int rc = udp_sendv(x, &iov, 1, len);

	if (rc < 0)
		udp_lost(x, rc == -EAGAIN ? -ENOBUFS : rc, records, mono);
}

/* Both buckets allow a message of `len` bytes now. */
static bool
pace_ready(struct ev_ipfix *x, size_t len, uint64_t mono)
{
	return ev_ipfix_bucket_ready(&x->pps, 1, mono) &&
	       ev_ipfix_bucket_ready(&x->bps, len, mono);
}

static void
pace_take(struct ev_ipfix *x, size_t len)
{
	ev_ipfix_bucket_take(&x->pps, 1);
	ev_ipfix_bucket_take(&x->bps, len);
}

int
ipfix_udp_open(struct ev_ipfix *x, uint64_t mono, char *err, size_t errlen)
{
	const struct ev_ipfix_collector *c = &x->coll;
	uint64_t depth, bytes_rate = c->max_rate_bps / 8, msgs_max;

	x->fd = socket(x->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Not connected: an unreachable collector is a send error to log and
	 * count, never a failure to start. */
	if (x->fd < 0 || (x->conf.sndbuf != 0 &&
			  setsockopt(x->fd, SOL_SOCKET, SO_SNDBUF, &x->conf.sndbuf,
				     sizeof(x->conf.sndbuf)) < 0)) {
		int e = errno;

		snprintf(err, errlen, "udp socket to %s:%u: %s", c->host, c->port, strerror(e));
		return -e;
	}
	x->paced = c->max_rate_pps != 0 || c->max_rate_bps != 0;
	if (!x->paced)
		return 0;
	/* A burst: EV_IPFIX_PACE_BURST_MS of the rate, at most
	 * EV_IPFIX_PACE_BURST_BYTES, at least one message. */
	msgs_max = EV_IPFIX_PACE_BURST_BYTES / x->msg_max;
	depth = (uint64_t)c->max_rate_pps * EV_IPFIX_PACE_BURST_MS / 1000;
	if (depth > msgs_max)
		depth = msgs_max;
	ev_ipfix_bucket_init(&x->pps, c->max_rate_pps, depth, mono);
	depth = bytes_rate * EV_IPFIX_PACE_BURST_MS / 1000;
	if (depth > EV_IPFIX_PACE_BURST_BYTES)
		depth = EV_IPFIX_PACE_BURST_BYTES;
	if (depth < x->msg_max)
		depth = x->msg_max;
	ev_ipfix_bucket_init(&x->bps, bytes_rate, depth, mono);
	return 0;
}

void
ipfix_udp_templates(struct ev_ipfix *x, uint64_t mono)
{
	uint8_t buf[EV_IPFIX_HDR_LEN + EV_IPFIX_TEMPLATES_MAX];
	size_t n = ipfix_template_message(x, buf, sizeof(buf));

	if (n == 0)
		return;
	/* Never queued nor dropped; charged to the rate all the same. */
	udp_send(x, buf, n, 0, mono);
	if (x->paced) {
		ev_ipfix_bucket_ready(&x->pps, 1, mono);
		ev_ipfix_bucket_ready(&x->bps, n, mono);
		pace_take(x, n);
	}
	x->st.templates_sent++;
	x->next_templates = mono + (uint64_t)x->conf.template_refresh_s * 1000 * NS_PER_MS;
}

/* ------------------------------------------------------------------------ */
/* The queue of paced messages                                               */

static inline size_t
queued_len(const struct ev_ipfix *x)
{
	return ring_get16(x, x->r_tail + QHDR + 2);
}

/* Remove the oldest message; its record count. */
static unsigned
queue_pop(struct ev_ipfix *x)
{
	unsigned records = ring_get16(x, x->r_tail);

	x->r_tail += QHDR + queued_len(x);
	x->st.records_queued -= records;
	return records;
}

void
ipfix_udp_message(struct ev_ipfix *x, const uint8_t *msg, size_t len, unsigned records,
		  uint64_t mono)
{
	uint8_t hdr[QHDR] = { (uint8_t)(records >> 8), (uint8_t)records };
	uint64_t dropped = 0;

	if (!x->paced) {
		udp_send(x, msg, len, records, mono);
		return;
	}
	/* Nothing waits and the rate allows it: straight out. */
	if (x->r_head == x->r_tail && pace_ready(x, len, mono)) {
		struct iovec iov = { .iov_base = (void *)(uintptr_t)msg, .iov_len = len };
		int rc = udp_sendv(x, &iov, 1, len);

		if (rc == 0) {
			pace_take(x, len);
			return;
		}
		if (rc != -EAGAIN) {
			udp_lost(x, rc, records, mono);
			return;
		}
	}
	/* The oldest make room (cap >= 64 KiB holds any one message). */
	while (ring_free(x) < QHDR + len)
		dropped += queue_pop(x);
	if (dropped != 0) {
		x->st.records_lost += dropped;
		x->st.queue_dropped += dropped;
		if (mono - x->last_err_log >= ERR_LOG_NS || x->last_err_log == 0) {
			x->last_err_log = mono;
			ipfix_log(x, LOG_WARNING, "pacing queue full (%zu bytes): oldest records "
				  "dropped, %llu so far; the collector is slower than the flows "
				  "end, or max_rate is too low\n", x->cap,
				  (unsigned long long)x->st.queue_dropped);
		}
	}
	ring_put(x, hdr, QHDR);
	ring_put(x, msg, len);
	x->st.records_queued += records;
	x->st.messages_delayed++;
	if (x->r_head - x->r_tail > x->st.queue_peak_bytes)
		x->st.queue_peak_bytes = x->r_head - x->r_tail;
}

void
ipfix_udp_pump(struct ev_ipfix *x, uint64_t mono)
{
	while (x->r_tail != x->r_head) {
		size_t len = queued_len(x), at = (size_t)((x->r_tail + QHDR) % x->cap);
		size_t first = x->cap - at < len ? x->cap - at : len;
		struct iovec iov[2] = {
			{ .iov_base = x->ring + at, .iov_len = first },
			{ .iov_base = x->ring, .iov_len = len - first },
		};
		unsigned records;
		int rc;

		if (!pace_ready(x, len, mono))
			return;
		rc = udp_sendv(x, iov, first < len ? 2 : 1, len);
		if (rc == -EAGAIN)
			return;
		records = queue_pop(x);
		if (rc == 0)
			pace_take(x, len);
		else
			udp_lost(x, rc, records, mono);
	}
}

uint64_t
ipfix_udp_discard(struct ev_ipfix *x)
{
	uint64_t n = 0;

	while (x->r_tail != x->r_head)
		n += queue_pop(x);
	x->st.records_lost += n;
	x->st.lost_at_exit += n;
	if (n != 0)
		ipfix_log(x, LOG_WARNING, "%llu records still waiting for the pacing at exit: "
			  "lost\n", (unsigned long long)n);
	return n;
}
