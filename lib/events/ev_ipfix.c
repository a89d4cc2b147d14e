/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IPFIX exporter: one collector, UDP or TCP, as a record consumer of the
 * control core (ev_consumer.h). See ev_ipfix.h for the contract.
 *
 * Records are encoded into the message under construction (`msg`). A
 * message is closed when the next record does not fit, or when its first
 * record has waited flush_ms, and handed to its transport: UDP
 * (ev_ipfix_udp.c) sends it as a datagram, at once or when the pacing
 * allows; TCP (ev_ipfix_tcp.c) appends it to the ring of what the peer has
 * not acknowledged.
 *
 * Transport timers (flush, template refresh, reconnect backoff, pacing) run
 * on CLOCK_MONOTONIC (or the configured test clock); `now` of the control
 * core (the packet clock in replay) only dates interim records.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "ev_ipfix_priv.h"

#define MAP_MIN 1024u
#define MAP_MAX (1u << 26)

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
mono_ns(const struct ev_ipfix *x)
{
	struct timespec ts;

	if (x->conf.clock != NULL)
		return x->conf.clock(x->conf.clock_arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
ipfix_log(struct ev_ipfix *x, int level, const char *fmt, ...)
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
	if (c->transport == EV_IPFIX_TCP && (c->max_rate_pps != 0 || c->max_rate_bps != 0)) {
		snprintf(err, errlen, "a tcp collector is not paced (its receive window is the "
			 "flow control): max_rate_pps and max_rate_bps are for udp");
		return -EINVAL;
	}
	if (c->max_rate_pps > EV_IPFIX_RATE_PPS_MAX) {
		snprintf(err, errlen, "max_rate_pps %u is out of range 0..%u", c->max_rate_pps,
			 EV_IPFIX_RATE_PPS_MAX);
		return -EINVAL;
	}
	if (c->max_rate_bps != 0 && (c->max_rate_bps < EV_IPFIX_RATE_BPS_MIN ||
				     c->max_rate_bps > EV_IPFIX_RATE_BPS_MAX)) {
		snprintf(err, errlen, "max_rate_bps %llu is out of range 0 or %llu..%llu",
			 (unsigned long long)c->max_rate_bps,
			 (unsigned long long)EV_IPFIX_RATE_BPS_MIN,
			 (unsigned long long)EV_IPFIX_RATE_BPS_MAX);
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
/* Messages                                                                  */

/* The templates in a message of their own: 0 when `cap` is too small. */
size_t
ipfix_template_message(struct ev_ipfix *x, uint8_t *buf, size_t cap)
{
	size_t n = ev_ipfix_template_set(buf + EV_IPFIX_HDR_LEN, cap - EV_IPFIX_HDR_LEN);

	if (n == 0)
		return 0;
	ev_ipfix_msg_header(buf, (uint16_t)(n + EV_IPFIX_HDR_LEN), (uint32_t)time(NULL), x->seq,
			    x->conf.domain);
	return n + EV_IPFIX_HDR_LEN;
}


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
		ipfix_udp_message(x, x->msg, x->msg_len, x->msg_records, mono);
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
		ipfix_tcp_write(x, mono);
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
	uint64_t mono = mono_ns(x);
	bool full = false;
	unsigned i;

	if (!x->tcp && mono >= x->next_templates)
		ipfix_udp_templates(x, mono);
	for (i = 0; i < n; i++) {
		const struct ct_event_rec *r = &recs[i];
		bool block = (r->flags & CT_REC_F_NAT_BLOCK) != 0;
		bool destroy = !block && (r->events & CT_EV_DESTROY) != 0;
		bool interim = !block && !destroy && (r->flags & CT_REC_F_INTERIM);
		uint64_t key = (uint64_t)r->shard << 32 | r->slot;
		uint64_t tot[4] = { r->pkts[0], r->pkts[1], r->bytes[0], r->bytes[1] };
		struct base_slot *b = NULL;
		struct ev_ipfix_flow f;
		size_t rlen;

		refused[i] = 0;
		if ((!destroy && !interim && !block) || ev_ipfix_record_len(r->orig.family) == 0)
			continue;
		/* Down, or out of room earlier in this call: the rest waits too (in
		 * order, and without a system call per record). A port block is
		 * never sent again by anyone (it has no event bits to nack), so it
		 * waits in the ring while the connection is down, refused only when
		 * the ring is full. */
		if (x->tcp && ((x->state != ST_UP && !block) || full)) {
			refused[i] = 1;
			x->st.records_refused++;
			continue;
		}
		if (!block)
			b = map_find(x, key, r->id);
		if (ev_ipfix_flow_from_rec(r, b != NULL ? b->base : NULL, now, &f) < 0 ||
		    (rlen = ev_ipfix_flow_len(&f)) == 0)
			continue;
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
		if (msg_reserve(x, ev_ipfix_flow_template(&f), rlen, mono) < 0) {
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
		if (block) {
			x->st.nat_block_records++;
			continue;
		}
		if (f.nat_event != 0)
			x->st.nat_records++;
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
		ipfix_tcp_write(x, mono);
	else
		ipfix_udp_pump(x, mono);
	return 0;
}

static void
x_poll(void *self, uint64_t now)
{
	struct ev_ipfix *x = self;
	uint64_t mono = mono_ns(x);

	(void)now;
	if (x->tcp)
		ipfix_tcp_poll(x, mono);
	else if (mono >= x->next_templates)
		ipfix_udp_templates(x, mono);
	if (x->msg_len != 0 && mono - x->msg_since >= (uint64_t)x->conf.flush_ms * NS_PER_MS)
		msg_close(x, mono);
	if (x->tcp)
		ipfix_tcp_write(x, mono);
	else
		ipfix_udp_pump(x, mono);
}

static bool
x_blocked(const void *self)
{
	const struct ev_ipfix *x = self;

	return x->tcp && x->state != ST_UP;
}

const struct ev_consumer_ops ev_ipfix_ops = {
	.kind = "ipfix",
	.mask = EV_MASK_DESTROY, /* and the interim and port-block records */
	.deliver = x_deliver,
	.poll = x_poll,
	.blocked = x_blocked,
};

size_t
ev_ipfix_flush(struct ev_ipfix *x, uint64_t now)
{
	uint64_t mono = mono_ns(x);

	msg_close(x, mono);
	x_poll(x, now);
	return (size_t)(x->r_head - x->r_tail);
}

uint64_t
ev_ipfix_discard(struct ev_ipfix *x)
{
	return x->tcp ? 0 : ipfix_udp_discard(x);
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
	out->queue_bytes = x->tcp ? 0 : x->r_head - x->r_tail;
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
		/* Connected by the first poll. */
		x->state = ST_DOWN;
		x->next_try = 0;
	} else {
		if (ipfix_udp_open(x, mono_ns(x), err, errlen) < 0) {
			ev_ipfix_free(x);
			return NULL;
		}
		x->st.connected = true;
		x->next_templates = 0;
	}
	/* TCP: what the peer has not acknowledged; UDP: what waits for the pacing. */
	if (x->tcp || x->paced) {
		x->cap = conf->buffer_bytes;
		x->ring = malloc(x->cap);
		if (x->ring == NULL)
			goto nomem;
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
