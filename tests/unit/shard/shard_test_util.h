/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCT_SHARD_TEST_UTIL_H
#define DPCT_SHARD_TEST_UTIL_H

/*
 * Helpers shared by the shard's unit tests (tests/unit/shard) and the
 * policy test: packets, a shard, one packet through it, staged records
 * taken and DESTROYs acknowledged. Times are in ns from T0.
 */

#include <stdint.h>
#include <string.h>

#include "ct_private.h"
#include "dpct_test.h"

#define SEC UINT64_C(1000000000)
#define T0 (UINT64_C(1767225600) * SEC)

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* An IPv4 packet of a tracked flow (an ICMP one is an echo request). */
static inline struct ct_pkt
mk(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags)
{
	struct ct_pkt p;

	memset(&p, 0, sizeof(p));
	p.tuple.family = 4;
	p.tuple.proto = proto;
	memcpy(p.tuple.src, &src, 4);
	memcpy(p.tuple.dst, &dst, 4);
	p.tuple.sport = sport;
	p.tuple.dport = dport;
	p.cls = CT_PKT_TRACK;
	p.tcp_flags = flags;
	p.len = 64;
	if (proto == 1)
		p.icmp_type = 8;
	p.hash = ct_tuple_hash(&p.tuple);
	return p;
}

/* The reply to `p` (an ICMP echo's is an echo reply). */
static inline struct ct_pkt
rev(struct ct_pkt p, uint8_t flags)
{
	struct ct_pkt r = p;

	ct_tuple_reverse(&r.tuple, &p.tuple);
	r.tcp_flags = flags;
	if (p.tuple.proto == 1)
		r.icmp_type = 0;
	r.hash = ct_tuple_hash(&r.tuple);
	return r;
}

/*
 * A shard of `max` entries, events on or off, 1 s destroy grace, a fixed
 * seed; `tweak` (may be NULL) changes the configuration first. NULL when
 * the configuration is refused.
 */
static inline struct ct_shard *
mkshard(uint32_t max, int events, void (*tweak)(struct ct_conf *))
{
	struct ct_conf c;
	char err[128];

	ct_conf_init(&c);
	c.max_entries = max;
	c.events_enabled = events;
	c.destroy_grace_ms = 1000;
	c.seed = 42;
	c.shard_count = 1;
	if (tweak != NULL)
		tweak(&c);
	return ct_shard_create(&c, err, sizeof(err));
}

/* One packet through the shard; its verdict. */
static inline uint8_t
one(struct ct_shard *s, struct ct_pkt p, uint64_t now)
{
	uint8_t v = 0xff;

	ct_process_burst(s, &p, 1, now, &v);
	return v;
}

/* Accept every staged record; copy them out for inspection. */
static inline unsigned
drain(struct ct_shard *s, struct ct_event_rec *out, unsigned max, uint64_t now)
{
	unsigned n, i;
	struct ct_event_rec *r = ct_shard_ev_peek(s, &n);

	for (i = 0; i < n && i < max; i++)
		out[i] = r[i];
	ct_shard_ev_commit(s, n, now);
	return n;
}

/* Acknowledge every DESTROY among records `r`. */
static inline void
ack_destroys(struct ct_shard *s, const struct ct_event_rec *r, unsigned n, uint64_t now)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct ct_result res = { .slot = r[i].slot, .id = r[i].id, .events = r[i].events };

		if (!(r[i].events & CT_EV_DESTROY))
			continue;
		res.kind = CT_RES_DESTROY_ACK;
		ct_shard_apply_result(s, &res, now);
	}
}

/* No early drop and no fill alarm (a mkshard() tweak). */
static inline void
tw_no_early(struct ct_conf *c)
{
	c->early_drop = false;
	c->fill_alarm_high_pct = 0;
}

#endif /* DPCT_SHARD_TEST_UTIL_H */
