/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control operations on a shard: flush, delete and iterate, iteration
 * while entries expire, and the policy decision packed into an entry.
 */
#include <errno.h>

#include "shard_test_util.h"

static int
count_cb(const struct ct_event_rec *r, void *arg)
{
	(void)r;
	(*(unsigned *)arg)++;
	return 0;
}

static int
test_flush_delete_iterate(void)
{
	struct ct_shard *s = mkshard(1024, 1, NULL);
	struct ct_event_rec r[256];
	unsigned i, n, total = 0, destroys = 0, live = 0, with_dying = 0;
	uint32_t cursor = 0;
	struct ct_pkt p, q;

	for (i = 0; i < 100; i++)
		one(s, mk(17, 0x0100000a, 0x010200c0, (uint16_t)(1000 + i), 53, 0), T0);
	while ((n = drain(s, r, 256, T0)) > 0)
		;
	p = mk(17, 0x0100000a, 0x010200c0, 1005, 53, 0);
	q = rev(p, 0);
	T_EQ(ct_shard_delete(s, &q.tuple, T0), 0);
	T_EQ(ct_shard_delete(s, &p.tuple, T0), -ENOENT);
	n = drain(s, r, 256, T0);
	T_EQ(n, 1);
	T_ASSERT(r[0].events & CT_EV_DESTROY);
	/* Iterate sees 99 live entries, 100 with the dying one. */
	ct_shard_iterate(s, &cursor, 1000, false, T0, count_cb, &live);
	T_EQ(live, 99);
	T_EQ(cursor, UINT32_MAX);
	cursor = 0;
	ct_shard_iterate(s, &cursor, 1000, true, T0, count_cb, &with_dying);
	T_EQ(with_dying, 100);
	ct_shard_free(s);

	/* Flush: bounded by budget and staging room; every entry gets a DESTROY. */
	s = mkshard(1024, 1, NULL);
	for (i = 0; i < 100; i++)
		one(s, mk(17, 0x0100000a, 0x010200c0, (uint16_t)(1000 + i), 53, 0), T0);
	drain(s, r, 256, T0);
	drain(s, r, 256, T0);
	T_EQ(ct_shard_flush(s, T0, 10), 10);
	while (ct_shard_live(s) > 0 || total == 0) {
		total += ct_shard_flush(s, T0, 0);
		n = drain(s, r, 256, T0);
		for (i = 0; i < n && i < 256; i++)
			destroys += (r[i].events & CT_EV_DESTROY) != 0;
		ack_destroys(s, r, n < 256 ? n : 256, T0);
	}
	n = drain(s, r, 256, T0);
	T_EQ(total + 10, 100);
	T_ASSERT(ct_shard_empty(s) || destroys + 10 == 100);
	ct_shard_free(s);
	return 0;
}

static int
test_iterate_while_expiring(void)
{
	struct ct_shard *s = mkshard(1024, 1, NULL);
	struct ct_event_rec r[256];
	unsigned i, seen = 0, seen_dying = 0;
	uint32_t cursor = 0;

	for (i = 0; i < 200; i++)
		one(s, mk(17, 0x0100000a, 0x010200c0, (uint16_t)(1000 + i), 53, 0),
		    T0 + (i < 100 ? 0 : 20 * SEC));
	drain(s, r, 256, T0);
	ct_shard_iterate(s, &cursor, 50, false, T0 + 20 * SEC, count_cb, &seen);
	T_EQ(seen, 50);
	/* The first 100 time out (30 s) half way through the listing. */
	ct_shard_expire(s, T0 + 31 * SEC, 1u << 20);
	while (cursor != UINT32_MAX)
		ct_shard_iterate(s, &cursor, 50, false, T0 + 31 * SEC, count_cb, &seen);
	T_EQ(seen, 150);
	cursor = 0;
	while (cursor != UINT32_MAX)
		ct_shard_iterate(s, &cursor, 7, true, T0 + 31 * SEC, count_cb, &seen_dying);
	T_EQ(seen_dying, 200);
	ct_shard_free(s);
	return 0;
}

/* The entry keeps a decision packed in 6 bytes: gen, verdict and the rule. */
static int
test_decision_packed(void)
{
	struct ct_shard *s = mkshard(64, 0, NULL);
	struct ct_pkt p = mk(17, 0x0a000001, 0x010200c0, 1000, 53, 0);
	struct ct_pkt_info info;
	struct ct_decision d = {.gen = 0xfffffffeu, .rule = 0xffff, .verdict = CT_V_DROP}, cur;
	uint8_t v;

	T_ASSERT(s != NULL);
	ct_process_burst_info(s, &p, 1, T0, &v, &info);
	T_ASSERT(info.slot != UINT32_MAX);
	/* The default rule (0xffff) and a full 32-bit generation read back as stored. */
	T_EQ(ct_shard_decide(s, info.slot, info.id, &d, &cur), 1);
	T_UEQ(cur.gen, 0xfffffffeu);
	T_EQ(cur.rule, 0xffff);
	T_EQ(cur.verdict, CT_V_DROP);
	ct_process_burst_info(s, &p, 1, T0 + 1000, &v, &info);
	T_UEQ(info.dec.gen, 0xfffffffeu);
	T_EQ(info.dec.rule, 0xffff);
	T_EQ(info.dec.verdict, CT_V_DROP);
	/* The largest rule index kept, with a pass verdict. */
	d.gen = 7;
	d.rule = 0x7ffe;
	d.verdict = CT_V_PASS;
	T_EQ(ct_shard_decide(s, info.slot, info.id, &d, &cur), 1);
	ct_process_burst_info(s, &p, 1, T0 + 2000, &v, &info);
	T_UEQ(info.dec.gen, 7);
	T_EQ(info.dec.rule, 0x7ffe);
	T_EQ(info.dec.verdict, CT_V_PASS);
	/* What the entry cannot keep is refused, not truncated. */
	d.gen = 8;
	d.rule = 0x7fff;
	T_EQ(ct_shard_decide(s, info.slot, info.id, &d, &cur), -EINVAL);
	d.rule = 1;
	d.verdict = 2;
	T_EQ(ct_shard_decide(s, info.slot, info.id, &d, &cur), -EINVAL);
	ct_process_burst_info(s, &p, 1, T0 + 3000, &v, &info);
	T_UEQ(info.dec.gen, 7);
	ct_shard_free(s);
	return 0;
}

static const struct t_case cases[] = {
	T_CASE(test_flush_delete_iterate),
	T_CASE(test_iterate_while_expiring),
	T_CASE(test_decision_packed),
};

T_MAIN(cases)
