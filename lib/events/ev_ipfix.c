/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IPFIX exporter: one collector, UDP or TCP, as a record consumer of the
 * control core (ev_consumer.h). See ev_ipfix.h for the contract.
 *
 * Records are encoded into the message under construction (`msg`). A
 * message is closed when the next record does not fit, or when its first
 * record has waited flush_ms. UDP sends each closed message as a datagram.
 * TCP appends it to a byte ring and writes the ring to the socket; bytes
 * stay in the ring until the peer's TCP has acknowledged them (the send
 * queue's SIOCOUTQ tells how many are still unacknowledged), so after a
 * broken connection the unacknowledged messages go out again, whole, after
 * the templates of the new connection.
 *
 * Transport timers (flush, template refresh, reconnect backoff) run on
 * CLOCK_MONOTONIC; `now` of the control core (the packet clock in replay)
 * only dates interim records.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "ev.h"
#include "ev_ipfix.h"

#define NS_PER_MS UINT64_C(1000000)
#define MAP_MIN 1024u
#define MAP_MAX (1u << 26)

enum tcp_state {
	ST_DOWN = 0,
	ST_CONNECTING,
	ST_UP,
};

/* An interim base: the totals last exported for one flow. */
struct base_slot {
	uint64_t key;            /* shard << 32 | slot */
	uint32_t id;             /* CTA_ID */
	uint8_t used;            /* 0 empty, 1 used, 2 deleted */
	uint64_t base[4];        /* pkts[0], pkts[1], bytes[0], bytes[1] */
};

struct ev_ipfix {
	struct ev_ipfix_conf conf;
	struct ev_ipfix_collector coll;
	struct sockaddr_storage addr;
	socklen_t alen;
	int fd;
	bool tcp;
	bool reliable;

	/* TCP connection */
	enum tcp_state state;
	uint64_t next_try;       /* monotonic ns */
	uint32_t backoff_ms;
	bool ever_up;
	uint8_t pre[EV_IPFIX_HDR_LEN + 256]; /* the templates that open a connection */
	size_t pre_len, pre_off;
	uint64_t conn_written;   /* bytes written on this connection (pre included) */
	uint64_t conn_base;      /* ring position of the connection's first ring byte */

	/* TCP ring: absolute positions, index = pos % cap */
	uint8_t *ring;
	size_t cap;
	uint64_t r_tail;         /* first byte not yet acknowledged (a message start) */
	uint64_t r_sent;         /* next byte to write */
	uint64_t r_head;         /* end of the closed messages */

	/* The message under construction */
	uint8_t *msg;
	size_t msg_max;
	size_t msg_len;          /* 0: none open */
	size_t set_off;          /* offset of the open data set, 0 = none */
	uint16_t set_id;
	unsigned msg_records;
	uint64_t msg_since;      /* monotonic ns of its first record */

	uint32_t seq;            /* data records sent (modulo 2^32) */
	uint64_t next_templates; /* UDP: monotonic ns */
	uint64_t last_err_log;

	/* Interim bases */
	struct base_slot *map;
	uint32_t map_cap;        /* power of two */
	uint32_t map_used;       /* used + deleted */
	uint32_t map_live;

	struct ev_ipfix_stats st;
};

void
ev_ipfix_conf_init(struct ev_ipfix_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->domain = 1;
	c->active_timeout_s = 60;
	c->template_refresh_s = 60;
	c->mtu = 1400;
	c->tcp_message_bytes = 16384;
	c->buffer_bytes = 4u << 20;
	c->sndbuf = 0;
	c->flush_ms = 100;
	c->reconnect_min_ms = 100;
	c->reconnect_max_ms = 10000;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
xlog(struct ev_ipfix *x, int level, const char *fmt, ...)
{
	char msg[256];
	int n;
	va_list ap;

	if (x->conf.log == NULL)
		return;
	n = snprintf(msg, sizeof(msg), "ipfix %s %s:%u: ", x->tcp ? "tcp" : "udp",
		     x->coll.host, x->coll.port);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	x->conf.log(x->conf.log_arg, level, msg);
}

static int
parse_addr(const struct ev_ipfix_collector *c, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, c->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(c->port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, c->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(c->port);
		*len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

int
ev_ipfix_collector_check(const struct ev_ipfix_collector *c, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (memchr(c->host, '\0', sizeof(c->host)) == NULL || parse_addr(c, &ss, &len) < 0) {
		snprintf(err, errlen, "\"%.64s\" is not an IPv4 or IPv6 address", c->host);
		return -EINVAL;
	}
	if (c->port == 0) {
		snprintf(err, errlen, "port 0 is out of range 1..65535");
		return -EINVAL;
	}
	if (c->transport != EV_IPFIX_UDP && c->transport != EV_IPFIX_TCP) {
		snprintf(err, errlen, "transport %u is neither udp nor tcp", c->transport);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Interim bases                                                             */

static inline uint32_t
map_hash(uint64_t key, uint32_t id)
{
	uint64_t z = key * UINT64_C(0x9e3779b97f4a7c15) ^ id;

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z ^= z >> 27;
	return (uint32_t)z;
}

static struct base_slot *
map_find(struct ev_ipfix *x, uint64_t key, uint32_t id)
{
	uint32_t mask = x->map_cap - 1, i, n;

	if (x->map == NULL)
		return NULL;
	for (i = map_hash(key, id) & mask, n = 0; n < x->map_cap; i = (i + 1) & mask, n++) {
		struct base_slot *b = &x->map[i];

		if (b->used == 0)
			return NULL;
		if (b->used == 1 && b->key == key && b->id == id)
			return b;
	}
	return NULL;
}

static int
map_resize(struct ev_ipfix *x, uint32_t cap)
{
	struct base_slot *old = x->map, *nm = calloc(cap, sizeof(*nm));
	uint32_t ocap = x->map_cap, i;

	if (nm == NULL)
		return -ENOMEM;
	x->map = nm;
	x->map_cap = cap;
	x->map_used = 0;
	x->map_live = 0;
	for (i = 0; old != NULL && i < ocap; i++) {
		uint32_t j;

		if (old[i].used != 1)
			continue;
		for (j = map_hash(old[i].key, old[i].id) & (cap - 1); nm[j].used != 0;
		     j = (j + 1) & (cap - 1))
			;
		nm[j] = old[i];
		x->map_used++;
		x->map_live++;
	}
	free(old);
	return 0;
}

/* Insert or update; -ENOMEM when the table cannot grow. */
static int
map_put(struct ev_ipfix *x, uint64_t key, uint32_t id, const uint64_t base[4])
{
	struct base_slot *b = map_find(x, key, id);
	uint32_t i, mask;

	if (b != NULL) {
		memcpy(b->base, base, sizeof(b->base));
		return 0;
	}
	if (x->map == NULL || (uint64_t)(x->map_used + 1) * 10 > (uint64_t)x->map_cap * 6) {
		uint32_t cap = x->map_cap ? x->map_cap : MAP_MIN;

		/* Grow when it is the live entries that fill it, else only sweep. */
		if (x->map != NULL && (uint64_t)(x->map_live + 1) * 10 > (uint64_t)cap * 3)
			cap *= 2;
		if (cap > MAP_MAX || map_resize(x, cap) < 0)
			return -ENOMEM;
	}
	mask = x->map_cap - 1;
	for (i = map_hash(key, id) & mask; x->map[i].used == 1; i = (i + 1) & mask)
		;
	if (x->map[i].used == 0)
		x->map_used++;
	x->map[i].used = 1;
	x->map[i].key = key;
	x->map[i].id = id;
	memcpy(x->map[i].base, base, sizeof(x->map[i].base));
	x->map_live++;
	return 0;
}

static void
map_del(struct ev_ipfix *x, struct base_slot *b)
{
	b->used = 2;
	x->map_live--;
}

/* ------------------------------------------------------------------------ */
/* Ring (TCP)                                                                */

static inline size_t
ring_free(const struct ev_ipfix *x)
{
	return x->cap - (size_t)(x->r_head - x->r_tail);
}

static void
ring_put(struct ev_ipfix *x, const uint8_t *src, size_t len)
{
	size_t at = (size_t)(x->r_head % x->cap), first = x->cap - at;

	if (first > len)
		first = len;
	memcpy(x->ring + at, src, first);
	memcpy(x->ring, src + first, len - first);
	x->r_head += len;
}

static uint16_t
ring_get16(const struct ev_ipfix *x, uint64_t pos)
{
	return (uint16_t)(x->ring[pos % x->cap] << 8 | x->ring[(pos + 1) % x->cap]);
}

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

/* ------------------------------------------------------------------------ */
/* Transport                                                                 */

static void
tcp_down(struct ev_ipfix *x, int err, uint64_t mono)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	if (x->state == ST_UP)
		xlog(x, LOG_WARNING, "connection lost (%s); %llu bytes to send again\n",
		     strerror(err), (unsigned long long)(x->r_head - x->r_tail));
	else
		xlog(x, LOG_WARNING, "connect failed (%s); retry in %u ms\n", strerror(err),
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

static size_t
template_message(struct ev_ipfix *x, uint8_t *buf, size_t cap)
{
	size_t n = ev_ipfix_template_set(buf + EV_IPFIX_HDR_LEN, cap - EV_IPFIX_HDR_LEN);

	if (n == 0)
		return 0;
	ev_ipfix_msg_header(buf, (uint16_t)(n + EV_IPFIX_HDR_LEN), (uint32_t)time(NULL), x->seq,
			    x->conf.domain);
	return n + EV_IPFIX_HDR_LEN;
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
	x->pre_len = template_message(x, x->pre, sizeof(x->pre));
	x->pre_off = 0;
	x->conn_written = 0;
	x->conn_base = x->r_tail;
	x->r_sent = x->r_tail;
	x->st.resent_bytes += x->r_head - x->r_tail;
	x->st.templates_sent++;
	xlog(x, LOG_NOTICE, "connected%s\n", x->r_head != x->r_tail ? ", sending again what was "
				 "not acknowledged" : "");
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
static void
tcp_write(struct ev_ipfix *x, uint64_t mono)
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

static void
udp_send(struct ev_ipfix *x, const uint8_t *buf, size_t len, unsigned records, uint64_t mono)
{
	ssize_t n;

	do {
		n = sendto(x->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)&x->addr, x->alen);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		x->st.bytes += len;
		return;
	}
	x->st.send_errors++;
	x->st.records_lost += records;
	/* ENETUNREACH, EHOSTUNREACH (no route), ENOBUFS/EAGAIN (queue full). */
	if (mono - x->last_err_log >= 10 * 1000 * NS_PER_MS || x->last_err_log == 0) {
		x->last_err_log = mono;
		xlog(x, LOG_WARNING, "send failed (%s); %llu records lost so far\n",
		     n < 0 ? strerror(errno) : "short write",
		     (unsigned long long)x->st.records_lost);
	}
}

static void
udp_templates(struct ev_ipfix *x, uint64_t mono)
{
	uint8_t buf[EV_IPFIX_HDR_LEN + 256];
	size_t n = template_message(x, buf, sizeof(buf));

	if (n == 0)
		return;
	udp_send(x, buf, n, 0, mono);
	x->st.templates_sent++;
	x->next_templates = mono + (uint64_t)x->conf.template_refresh_s * 1000 * NS_PER_MS;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */

static void
msg_close(struct ev_ipfix *x, uint64_t mono)
{
	if (x->msg_len == 0)
		return;
	if (x->set_off != 0)
		ev_ipfix_set_header(x->msg + x->set_off, x->set_id,
				    (uint16_t)(x->msg_len - x->set_off));
	ev_ipfix_msg_header(x->msg, (uint16_t)x->msg_len, (uint32_t)time(NULL), x->seq,
			    x->conf.domain);
	x->seq += x->msg_records;
	x->st.seq = x->seq;
	x->st.messages++;
	if (x->tcp)
		ring_put(x, x->msg, x->msg_len);
	else
		udp_send(x, x->msg, x->msg_len, x->msg_records, mono);
	x->msg_len = 0;
	x->set_off = 0;
	x->msg_records = 0;
}

/* Room for one more record of `rlen` bytes with template `tid`: 0 or -ENOBUFS. */
static int
msg_reserve(struct ev_ipfix *x, uint16_t tid, size_t rlen, uint64_t mono)
{
	size_t need = rlen + (x->set_id == tid && x->set_off != 0 ? 0 : EV_IPFIX_SET_HDR_LEN);

	if (x->msg_len != 0 && x->msg_len + need > x->msg_max) {
		msg_close(x, mono);
		need = rlen + EV_IPFIX_SET_HDR_LEN;
	}
	if (x->msg_len == 0)
		need += EV_IPFIX_HDR_LEN;
	if (x->tcp && ring_free(x) < x->msg_len + need) {
		/* Make room: what the kernel takes and the peer acknowledged. */
		tcp_write(x, mono);
		if (ring_free(x) < x->msg_len + need)
			return -ENOBUFS;
	}
	if (x->msg_len == 0) {
		x->msg_len = EV_IPFIX_HDR_LEN;
		x->msg_since = mono;
	}
	if (x->set_off == 0 || x->set_id != tid) {
		if (x->set_off != 0)
			ev_ipfix_set_header(x->msg + x->set_off, x->set_id,
					    (uint16_t)(x->msg_len - x->set_off));
		x->set_off = x->msg_len;
		x->set_id = tid;
		x->msg_len += EV_IPFIX_SET_HDR_LEN;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The consumer                                                              */

static int
x_deliver(void *self, const struct ct_event_rec *recs, unsigned n, uint64_t now,
	  uint8_t *refused)
{
	struct ev_ipfix *x = self;
	uint64_t mono = mono_ns();
	bool full = false;
	unsigned i;

	if (!x->tcp && mono >= x->next_templates)
		udp_templates(x, mono);
	for (i = 0; i < n; i++) {
		const struct ct_event_rec *r = &recs[i];
		bool destroy = (r->events & CT_EV_DESTROY) != 0;
		bool interim = !destroy && (r->flags & CT_REC_F_INTERIM);
		uint64_t key = (uint64_t)r->shard << 32 | r->slot;
		uint64_t tot[4] = { r->pkts[0], r->pkts[1], r->bytes[0], r->bytes[1] };
		struct base_slot *b;
		struct ev_ipfix_flow f;
		size_t rlen = ev_ipfix_record_len(r->orig.family);

		refused[i] = 0;
		if ((!destroy && !interim) || rlen == 0)
			continue;
		/* Down, or out of room earlier in this call: the rest waits too (in
		 * order, and without a system call per record). */
		if (x->tcp && (x->state != ST_UP || full)) {
			refused[i] = 1;
			x->st.records_refused++;
			continue;
		}
		b = map_find(x, key, r->id);
		ev_ipfix_flow_from_rec(r, b != NULL ? b->base : NULL, now, &f);
		if (interim && f.packets[0] == 0 && f.packets[1] == 0) {
			x->st.interim_empty++;
			continue;
		}
		/* A flow's first interim needs a base slot; without one, skip the
		 * interim: the final record then carries the whole flow. */
		if (interim && b == NULL && map_put(x, key, r->id, tot) < 0) {
			x->st.interim_empty++;
			continue;
		}
		if (msg_reserve(x, ev_ipfix_template_id(f.family), rlen, mono) < 0) {
			/* Undo a base just created for this record. */
			if (interim && b == NULL && (b = map_find(x, key, r->id)) != NULL)
				map_del(x, b);
			full = true;
			refused[i] = 1;
			x->st.records_refused++;
			continue;
		}
		ev_ipfix_encode_record(&f, x->msg + x->msg_len, x->msg_max - x->msg_len);
		x->msg_len += rlen;
		x->msg_records++;
		x->st.records_sent++;
		if (interim) {
			x->st.interim_records++;
			if (b != NULL)
				memcpy(b->base, tot, sizeof(tot));
		} else {
			x->st.final_records++;
			if (b != NULL)
				map_del(x, b);
		}
	}
	x->st.tracked_flows = x->map_live;
	if (x->conf.flush_ms == 0)
		msg_close(x, mono);
	if (x->tcp)
		tcp_write(x, mono);
	return 0;
}

static void
x_poll(void *self, uint64_t now)
{
	struct ev_ipfix *x = self;
	uint64_t mono = mono_ns();

	(void)now;
	if (x->tcp) {
		if (x->state == ST_DOWN && mono >= x->next_try)
			tcp_connect(x, mono);
		else if (x->state == ST_CONNECTING)
			tcp_check_connect(x, mono);
		if (x->state == ST_UP)
			tcp_check_peer(x, mono);
	} else if (mono >= x->next_templates) {
		udp_templates(x, mono);
	}
	if (x->msg_len != 0 && mono - x->msg_since >= (uint64_t)x->conf.flush_ms * NS_PER_MS)
		msg_close(x, mono);
	if (x->tcp)
		tcp_write(x, mono);
}

static bool
x_blocked(const void *self)
{
	const struct ev_ipfix *x = self;

	return x->tcp && x->state != ST_UP;
}

const struct ev_consumer_ops ev_ipfix_ops = {
	.kind = "ipfix",
	.mask = EV_MASK_DESTROY, /* and the interim records */
	.deliver = x_deliver,
	.poll = x_poll,
	.blocked = x_blocked,
};

size_t
ev_ipfix_flush(struct ev_ipfix *x, uint64_t now)
{
	uint64_t mono = mono_ns();

	(void)now;
	msg_close(x, mono);
	if (!x->tcp)
		return 0;
	x_poll(x, now);
	tcp_write(x, mono);
	return (size_t)(x->r_head - x->r_tail);
}

bool
ev_ipfix_reliable(const struct ev_ipfix *x)
{
	return x->reliable;
}

void
ev_ipfix_get_stats(const struct ev_ipfix *x, struct ev_ipfix_stats *out)
{
	*out = x->st;
	out->tracked_flows = x->map_live;
	out->connected = !x->tcp || x->state == ST_UP;
	out->seq = x->seq;
}

const struct ev_ipfix_collector *
ev_ipfix_collector(const struct ev_ipfix *x)
{
	return &x->coll;
}

struct ev_ipfix *
ev_ipfix_create(const struct ev_ipfix_conf *conf, const struct ev_ipfix_collector *coll,
		char *err, size_t errlen)
{
	char dummy[8];
	struct ev_ipfix *x;

	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (conf == NULL || coll == NULL) {
		snprintf(err, errlen, "no configuration");
		return NULL;
	}
	if (ev_ipfix_collector_check(coll, err, errlen) < 0)
		return NULL;
	if (conf->mtu < 512 || conf->mtu > 65000 || conf->tcp_message_bytes < 512 ||
	    conf->tcp_message_bytes > 65535) {
		snprintf(err, errlen, "message size out of range (mtu 512..65000, tcp 512..65535)");
		return NULL;
	}
	if (conf->buffer_bytes < (64u << 10) || conf->buffer_bytes > (1u << 30) ||
	    conf->buffer_bytes < 2 * conf->tcp_message_bytes) {
		snprintf(err, errlen, "buffer_bytes %u out of range 65536..1073741824",
			 conf->buffer_bytes);
		return NULL;
	}
	if (conf->reconnect_min_ms == 0 || conf->reconnect_max_ms < conf->reconnect_min_ms ||
	    conf->template_refresh_s == 0) {
		snprintf(err, errlen, "need 0 < reconnect_min_ms <= reconnect_max_ms and "
			 "template_refresh_s > 0");
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->conf = *conf;
	x->coll = *coll;
	x->fd = -1;
	x->tcp = coll->transport == EV_IPFIX_TCP;
	x->reliable = x->tcp && coll->reliable;
	x->backoff_ms = conf->reconnect_min_ms;
	parse_addr(coll, &x->addr, &x->alen);
	x->msg_max = x->tcp ? conf->tcp_message_bytes : conf->mtu;
	x->msg = malloc(x->msg_max);
	if (x->msg == NULL)
		goto nomem;
	if (x->tcp) {
		x->cap = conf->buffer_bytes;
		x->ring = malloc(x->cap);
		if (x->ring == NULL)
			goto nomem;
		/* Connected by the first poll. */
		x->state = ST_DOWN;
		x->next_try = 0;
	} else {
		x->fd = socket(x->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		/* Not connected: an unreachable collector is a send error to log
		 * and count, never a failure to start. */
		if (x->fd < 0 || (conf->sndbuf != 0 &&
				  setsockopt(x->fd, SOL_SOCKET, SO_SNDBUF, &conf->sndbuf,
					     sizeof(conf->sndbuf)) < 0)) {
			snprintf(err, errlen, "udp socket to %s:%u: %s", coll->host, coll->port,
				 strerror(errno));
			ev_ipfix_free(x);
			return NULL;
		}
		x->st.connected = true;
		x->next_templates = 0;
	}
	return x;
nomem:
	snprintf(err, errlen, "out of memory");
	ev_ipfix_free(x);
	return NULL;
}

void
ev_ipfix_free(struct ev_ipfix *x)
{
	if (x == NULL)
		return;
	if (x->fd >= 0)
		close(x->fd);
	free(x->ring);
	free(x->msg);
	free(x->map);
	free(x);
}
