/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_EV_IPFIX_PRIV_H
#define DPCT_EV_IPFIX_PRIV_H

/*
 * The exporter's state, shared by its three files: ev_ipfix.c (the
 * consumer, messages, interim bases, life cycle), ev_ipfix_tcp.c (the TCP
 * transport and its ring of unacknowledged messages) and ev_ipfix_udp.c
 * (the UDP transport, its queue of paced messages and the token buckets).
 * Not a public header.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "ev_ipfix.h"

#define NS_PER_MS UINT64_C(1000000)

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
	/* The templates that open a connection */
	uint8_t pre[EV_IPFIX_HDR_LEN + EV_IPFIX_TEMPLATES_MAX];
	size_t pre_len, pre_off;
	uint64_t conn_written;   /* bytes written on this connection (pre included) */
	uint64_t conn_base;      /* ring position of the connection's first ring byte */

	/*
	 * The ring: absolute positions, index = pos % cap. TCP: the messages
	 * the peer has not acknowledged, as a byte stream. UDP with pacing:
	 * the messages waiting for their turn, each after a 2-byte count of
	 * its data records (r_sent is unused).
	 */
	uint8_t *ring;
	size_t cap;
	uint64_t r_tail;         /* TCP: first byte not acknowledged; UDP: oldest message */
	uint64_t r_sent;         /* TCP: next byte to write */
	uint64_t r_head;         /* end of the closed messages */

	/* UDP pacing: off when neither rate is set */
	bool paced;
	struct ev_ipfix_bucket pps, bps;   /* messages; bytes (the rate in bits / 8) */

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

static inline size_t
ring_free(const struct ev_ipfix *x)
{
	return x->cap - (size_t)(x->r_head - x->r_tail);
}

static inline void
ring_put(struct ev_ipfix *x, const uint8_t *src, size_t len)
{
	size_t at = (size_t)(x->r_head % x->cap), first = x->cap - at;

	if (first > len)
		first = len;
	memcpy(x->ring + at, src, first);
	memcpy(x->ring, src + first, len - first);
	x->r_head += len;
}

static inline uint16_t
ring_get16(const struct ev_ipfix *x, uint64_t pos)
{
	return (uint16_t)(x->ring[pos % x->cap] << 8 | x->ring[(pos + 1) % x->cap]);
}

/* ev_ipfix.c */
void ipfix_log(struct ev_ipfix *x, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t ipfix_template_message(struct ev_ipfix *x, uint8_t *buf, size_t cap);

/* ev_ipfix_tcp.c */
void ipfix_tcp_poll(struct ev_ipfix *x, uint64_t mono);
void ipfix_tcp_write(struct ev_ipfix *x, uint64_t mono);

/* ev_ipfix_udp.c */
int ipfix_udp_open(struct ev_ipfix *x, uint64_t mono, char *err, size_t errlen);
void ipfix_udp_templates(struct ev_ipfix *x, uint64_t mono);
void ipfix_udp_message(struct ev_ipfix *x, const uint8_t *msg, size_t len, unsigned records,
		       uint64_t mono);
void ipfix_udp_pump(struct ev_ipfix *x, uint64_t mono);
uint64_t ipfix_udp_discard(struct ev_ipfix *x);

#endif /* DPCT_EV_IPFIX_PRIV_H */
